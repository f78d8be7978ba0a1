"""The emulated entity list is the firmware's, with ESPHome's keys."""

from __future__ import annotations

from pathlib import Path
import re

import pytest

from tools.emulator.entities import (
    DEFAULT_DEVICE_YAML,
    fnv1_hash,
    key_of,
    load_device_config,
    object_id_of,
)

ESPHOME = Path(__file__).resolve().parents[2] / "esphome"
README = ESPHOME / "README.md"
S3_YAML = ESPHOME / "peephole-doorbell-s3.yaml"
DOOR_SPEAKER_YAML = ESPHOME / "peephole-door-speaker.yaml"


def test_fnv1_matches_esphome() -> None:
    """Known values of esphome.helpers.fnv1_hash / fnv1_hash_object_id."""
    assert fnv1_hash("") == 2166136261
    assert key_of("Camera") == 306800208
    assert key_of("Doorbell") == 647453594
    assert key_of("Wi-Fi signal") == 1142002580
    assert object_id_of("Wi-Fi signal") == "wi-fi_signal"
    assert object_id_of("Test chime") == "test_chime"


@pytest.mark.parametrize(
    ("path", "s3"),
    [(DEFAULT_DEVICE_YAML, False), (S3_YAML, True)],
    ids=["esp32-cam", "s3"],
)
def test_entities_match_readme_table(path: Path, s3: bool) -> None:
    """Every entity in esphome/README.md's table is emulated, and nothing else."""
    config = load_device_config(path)
    rows = re.findall(
        r"^\| `(\w+)\.peephole_doorbell_\w+` \| ([^|(]+) \(`([^`]+)`\) \|([^|]*)\|",
        README.read_text(),
        re.M,
    )
    assert rows
    expected = {
        (domain, name.strip(), object_id)
        for domain, name, object_id, notes in rows
        if s3 or "S3 board only" not in notes
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


def test_s3_doorbell_speaker() -> None:
    """The S3 doorbell is the same device with a media player, as ESPHome reports it."""
    config = load_device_config(S3_YAML)
    esp32_cam = load_device_config(DEFAULT_DEVICE_YAML)
    assert config.board == "seeed_xiao_esp32s3"
    assert esp32_cam.board == "esp32cam"
    assert (config.name, config.friendly_name) == (
        esp32_cam.name,
        esp32_cam.friendly_name,
    )
    (speaker,) = config.by_domain("media_player")
    assert list(config.entities) == [*esp32_cam.entities, speaker]
    assert (speaker.name, speaker.object_id, speaker.key) == (
        "Speaker",
        "speaker",
        key_of("Speaker"),
    )
    # SpeakerMediaPlayer::get_traits with one (announcement) pipeline: its FLAC
    # format for both purposes, no pause, the base features.
    flac = {
        "format": "flac",
        "sample_rate": 16000,
        "num_channels": 1,
        "sample_bytes": 2,
    }
    assert speaker.options["supported_formats"] == [
        {**flac, "purpose": 1},
        {**flac, "purpose": 0},
    ]
    assert speaker.options["supports_pause"] is False
    assert speaker.options["feature_flags"] == (
        (1 << 9) | (1 << 17) | (1 << 12) | (1 << 2) | (1 << 3) | (1 << 20)
    )
    assert speaker.options["volume_initial"] == 0.6
    assert speaker.options["volume_increment"] == 0.05


def test_door_speaker_is_named_after_the_device() -> None:
    """`name: None`: ESPHome sends no name; the object id is the device's."""
    config = load_device_config(DOOR_SPEAKER_YAML)
    assert config.by_domain("camera") == []
    (speaker,) = config.by_domain("media_player")
    assert speaker.name == ""
    assert speaker.object_id == "peephole_door_speaker"
    assert speaker.key == fnv1_hash("peephole_door_speaker")
