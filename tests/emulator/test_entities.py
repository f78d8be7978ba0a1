"""The emulated entity list is the firmware's, with ESPHome's keys."""

from __future__ import annotations

from pathlib import Path
import re

from tools.emulator.entities import (
    DEFAULT_DEVICE_YAML,
    fnv1_hash,
    key_of,
    load_device_config,
    object_id_of,
)

README = Path(__file__).resolve().parents[2] / "esphome" / "README.md"


def test_fnv1_matches_esphome() -> None:
    """Known values of esphome.helpers.fnv1_hash / fnv1_hash_object_id."""
    assert fnv1_hash("") == 2166136261
    assert key_of("Camera") == 306800208
    assert key_of("Doorbell") == 647453594
    assert key_of("Wi-Fi signal") == 1142002580
    assert object_id_of("Wi-Fi signal") == "wi-fi_signal"
    assert object_id_of("Test chime") == "test_chime"


def test_entities_match_readme_table() -> None:
    """Every entity in esphome/README.md's table is emulated, and nothing else."""
    config = load_device_config(DEFAULT_DEVICE_YAML)
    rows = re.findall(
        r"^\| `(\w+)\.peephole_doorbell_\w+` \| ([^|(]+) \(`([^`]+)`\) \|([^|]*)\|",
        README.read_text(),
        re.M,
    )
    assert rows
    expected = {
        (domain, name.strip(), object_id)
        for domain, name, object_id, notes in rows
        if "S3 board only" not in notes
    }
    actual = {
        (entity.domain, entity.name, entity.object_id) for entity in config.entities
    }
    assert actual == expected


def test_device_settings_from_yaml() -> None:
    """Name, camera rates and encryption come from the firmware YAML."""
    config = load_device_config(DEFAULT_DEVICE_YAML)
    assert config.name == "peephole-doorbell"
    assert config.friendly_name == "Peephole Doorbell"
    assert config.resolution == (800, 600)
    assert config.max_fps == 10.0
    assert config.idle_fps == 1.0
    assert config.api_encrypted
    event = config.entity("doorbell_event")
    assert event.device_class == "doorbell"
    assert event.options["event_types"] == ["ring"]
    assert config.entity("motion").device_class == "motion"
    wifi = config.entity("wifi_signal_db")
    assert wifi.options["unit_of_measurement"] == "dBm"
    assert wifi.entity_category == 2
