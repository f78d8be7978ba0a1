"""The shipped device files in esphome/: what each one has, and what they share.

Three devices: the AI-Thinker ESP32-CAM doorbell, the same doorbell on a XIAO
ESP32S3 Sense with a speaker, and a door speaker (plain ESP32) for owners who keep
the ESP32-CAM. ``scripts/check_firmware`` runs ESPHome itself on each of them
(``esphome config`` and C++ generation); these tests check the design: shared
packages, the same doorbell on both boards, pins, security.
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

import pytest

from tools import firmware_check as fc

from .conftest import ESPHOME_DIR, device_configs

AI_THINKER = ESPHOME_DIR / "peephole-doorbell.yaml"
S3 = ESPHOME_DIR / "peephole-doorbell-s3.yaml"
DOOR_SPEAKER = ESPHOME_DIR / "peephole-door-speaker.yaml"
DOORBELLS = [AI_THINKER, S3]
SPEAKERS = [S3, DOOR_SPEAKER]

# Pins an ESP32 reads at reset (boot mode, flash voltage, boot log, JTAG):
# nothing of the doorbell's may hang on them, but for what the AI-Thinker board
# itself wires there (the camera clock on GPIO0) and its chime driver on GPIO12,
# which the README explains.
STRAPPING = {
    "esp32": {0, 2, 5, 12, 15},
    "s3": {0, 3, 45, 46},
}
# The AI-Thinker's fixed wiring: GPIO0 (XCLK), GPIO5 (camera D0), GPIO12 (chime,
# held low by its driver's pull-down).
STRAPPING_BY_DESIGN = {AI_THINKER.name: {0, 5, 12}}

ENTITY_DOMAINS = (
    "binary_sensor",
    "sensor",
    "switch",
    "button",
    "light",
    "event",
    "media_player",
)


def merged(path: Path) -> dict[str, Any]:
    """The device file with its packages merged and substitutions resolved."""
    report = fc.Report(path)
    loader = fc.ConfigLoader(report)
    root = loader.load_root(path)
    subs = fc.collect_substitutions(loader, root)
    config: dict[str, Any] = fc.substitute(loader.merge_packages(root), subs)
    assert report.findings == []
    return config


def raw(path: Path) -> dict[str, Any]:
    """The device file as written."""
    data: dict[str, Any] = fc.load_yaml_text(path.read_text(encoding="utf-8"), path)
    return data


def packages(path: Path) -> set[str]:
    """The package files a device file includes."""
    return {Path(item.value).name for item in raw(path)["packages"].values()}


def entities(config: dict[str, Any]) -> set[tuple[str, str]]:
    """(domain, name) of every entity Home Assistant gets, the camera included."""
    found = {
        (domain, str(item["name"]))
        for domain in ENTITY_DOMAINS
        for item in config.get(domain) or []
        if isinstance(item, dict) and "name" in item
    }
    if "esp32_camera" in config:
        found.add(("camera", config["esp32_camera"]["name"]))
    return found


def gpios(value: Any) -> list[int]:
    """Every GPIO number a config fragment names (``GPIOnn`` strings)."""
    if isinstance(value, str):
        match = re.fullmatch(r"GPIO(\d+)", value)
        return [int(match.group(1))] if match else []
    if isinstance(value, dict):
        return [pin for item in value.values() for pin in gpios(item)]
    if isinstance(value, list):
        return [pin for item in value for pin in gpios(item)]
    return []


# --- every device file ----------------------------------------------------------


def test_shipped_configs_exist() -> None:
    assert device_configs() == sorted([AI_THINKER, S3, DOOR_SPEAKER])


@pytest.mark.parametrize("config", device_configs(), ids=lambda path: path.name)
def test_shipped_config_passes(config: Path) -> None:
    report = fc.check_file(config)
    assert report.findings == []
    assert report.warnings == []


@pytest.mark.parametrize("path", device_configs(), ids=lambda path: path.name)
def test_organised_like_official_configs(path: Path) -> None:
    """Substitutions for names and pins, local packages, adoption, a project."""
    data = raw(path)
    assert {"name", "friendly_name"} <= set(data["substitutions"])
    assert all(isinstance(item, fc.Include) for item in data["packages"].values())
    url = data["dashboard_import"]["package_import_url"]
    assert url.startswith("github://")
    assert url.split("@")[0].endswith(f"esphome/{path.name}")
    assert data["esphome"]["min_version"] == "2026.10.0"
    assert data["esphome"]["project"]["name"].startswith("peephole.")
    # Pins are substitutions, never written into the device file's blocks.
    assert not gpios({k: v for k, v in data.items() if k != "substitutions"})


@pytest.mark.parametrize("path", device_configs(), ids=lambda path: path.name)
def test_secure_by_default(path: Path) -> None:
    config = merged(path)
    assert "captive_portal" not in config
    assert "web_server" not in config
    assert "esp32_camera_web_server" not in config
    assert "ap" not in config["wifi"]
    assert isinstance(config["api"]["encryption"]["key"], fc.Secret)
    assert config["api"]["encryption"]["key"].name == "peephole_api_key"
    (ota,) = config["ota"]
    assert "encryption" in ota  # inherits the API key
    assert "password" not in ota


@pytest.mark.parametrize("path", device_configs(), ids=lambda path: path.name)
def test_no_pin_twice_and_no_stray_strapping_pin(path: Path) -> None:
    """Each GPIO has one job; the boot-mode pins carry only what the board fixes."""
    config = merged(path)
    pins = gpios({k: v for k, v in config.items() if k != "substitutions"})
    assert len(pins) == len(set(pins)), sorted(pins)
    variant = fc.esp32_variant(config)
    assert variant in STRAPPING
    stray = set(pins) & STRAPPING[variant] - STRAPPING_BY_DESIGN.get(path.name, set())
    assert not stray


def test_unique_projects_and_every_package_used() -> None:
    """Each board has its own project (no cross-board updates); no dead package."""
    projects = [raw(path)["esphome"]["project"]["name"] for path in device_configs()]
    assert len(set(projects)) == len(projects)
    used = set().union(*(packages(path) for path in device_configs()))
    assert used == {path.name for path in (ESPHOME_DIR / "packages").glob("*.yaml")}


# --- the two doorbells ------------------------------------------------------------


def test_doorbells_share_every_common_package() -> None:
    """Both doorbells are the same packages; only the board's (and a speaker) differ."""
    common = {
        "secure-network.yaml",
        "camera.yaml",
        "doorbell.yaml",
        "diagnostics.yaml",
    }
    assert packages(AI_THINKER) == common | {"ai-thinker-camera.yaml"}
    assert packages(S3) == common | {"xiao-esp32s3-sense-camera.yaml", "speaker.yaml"}
    assert packages(DOOR_SPEAKER) == {
        "secure-network.yaml",
        "speaker.yaml",
        "diagnostics.yaml",
    }


def test_s3_doorbell_is_the_same_doorbell_plus_a_speaker() -> None:
    """Same device name and entities as the ESP32-CAM doorbell, plus the media player."""
    esp32_cam, s3 = merged(AI_THINKER), merged(S3)
    assert s3["esphome"]["name"] == esp32_cam["esphome"]["name"]
    assert s3["esphome"]["friendly_name"] == esp32_cam["esphome"]["friendly_name"]
    assert entities(s3) == entities(esp32_cam) | {("media_player", "Speaker")}
    assert ("media_player", "Speaker") not in entities(esp32_cam)
    # The same camera tuning and doorbell behaviour, from the same substitutions.
    tuning = (
        "camera_resolution",
        "camera_jpeg_quality",
        "camera_max_framerate",
        "camera_idle_framerate",
        "button_debounce_on",
        "button_debounce_off",
        "chime_pulse",
    )
    for name in tuning:
        assert raw(S3)["substitutions"][name] == raw(AI_THINKER)["substitutions"][name]
    for key in ("binary_sensor", "event", "script", "switch", "button", "sensor"):
        assert _without_pins(s3[key]) == _without_pins(esp32_cam[key]), key


def _without_pins(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_pins(v) for k, v in value.items() if k not in ("pin",)}
    if isinstance(value, list):
        return [_without_pins(item) for item in value]
    return value


@pytest.mark.parametrize("path", DOORBELLS, ids=lambda path: path.name)
def test_doorbell_features(path: Path) -> None:
    config = merged(path)
    # Camera: SVGA, psram, a dedicated i2c bus instead of i2c_pins.
    camera = config["esp32_camera"]
    assert camera["resolution"] == "800x600"
    assert camera["name"] == "Camera"
    assert "i2c_id" in camera
    assert "i2c_pins" not in camera
    assert len(camera["data_pins"]) == 8
    assert "psram" in config
    assert config["i2c"][0]["id"] == camera["i2c_id"]
    # Doorbell: debounced button, event + binary sensor, local chime.
    event = config["event"][0]
    assert event["device_class"] == "doorbell"
    assert event["event_types"] == ["ring"]
    button = next(s for s in config["binary_sensor"] if s["id"] == "doorbell_button")
    filters = {next(iter(item)) for item in button["filters"]}
    assert {"delayed_on", "delayed_off"} <= filters
    actions = str(button["on_press"])
    assert "ring_chime" in actions
    assert "event.trigger" in actions
    assert "homeassistant" not in actions  # rings without Home Assistant
    assert any(s.get("device_class") == "motion" for s in config["binary_sensor"])
    assert "status_led" in config
    assert config["light"][0]["name"] == "Flash"
    platforms = {s["platform"] for s in config["sensor"]} | {
        b["platform"] for b in config["button"]
    }
    assert {"wifi_signal", "uptime", "restart"} <= platforms
    # An update blocks the loop: the chime is silenced first. No modem sleep
    # (mains powered). No motion while the PIR module warms up.
    ota = config["ota"]
    assert len(ota) == 1
    assert "ring_chime" in str(ota[0]["on_begin"])
    assert "chime_relay" in str(ota[0]["on_begin"])
    assert config["wifi"]["power_save_mode"] == "none"
    motion = next(s for s in config["binary_sensor"] if s["id"] == "motion")
    assert "millis() < 60000" in str(motion["filters"][0])


def test_ai_thinker_board() -> None:
    config = merged(AI_THINKER)
    assert config["esp32"]["board"] == "esp32cam"
    assert config["psram"]["mode"] == "quad"
    assert config["esp32_camera"]["external_clock"]["pin"] == "GPIO0"
    assert config["esp32_camera"]["power_down_pin"] == "GPIO32"
    assert config["output"][0]["max_power"] == "50%"  # no heat sink
    assert "i2s_audio" not in config  # the camera holds I2S0 on this chip
    assert "media_player" not in config


def test_s3_board_and_speaker() -> None:
    """XIAO ESP32S3 Sense: octal PSRAM, its camera pins, a MAX98357A media player."""
    config = merged(S3)
    assert config["esp32"]["board"] == "seeed_xiao_esp32s3"
    assert fc.esp32_variant(config) == "s3"
    assert config["esp32"]["framework"]["type"] == "esp-idf"
    assert config["psram"]["mode"] == "octal"
    camera = config["esp32_camera"]
    assert camera["external_clock"]["pin"] == "GPIO10"
    assert camera["data_pins"] == [f"GPIO{n}" for n in (15, 17, 18, 16, 14, 12, 11, 48)]
    assert (camera["vsync_pin"], camera["href_pin"], camera["pixel_clock_pin"]) == (
        "GPIO38",
        "GPIO47",
        "GPIO13",
    )
    assert config["i2c"][0]["sda"] == "GPIO40"
    assert config["i2c"][0]["scl"] == "GPIO39"
    _check_speaker(config, "Speaker", buffer=1_000_000)


def test_door_speaker() -> None:
    """A plain ESP32 with the same speaker package, no camera, no doorbell."""
    config = merged(DOOR_SPEAKER)
    assert config["esp32"]["board"] == "esp32dev"
    assert config["esp32"]["framework"]["type"] == "esp-idf"
    for absent in ("esp32_camera", "psram", "event", "binary_sensor"):
        assert absent not in config
    # Named after the device: media_player.peephole_door_speaker.
    _check_speaker(config, "None", buffer=32_000)
    assert {s["platform"] for s in config["sensor"]} == {"wifi_signal", "uptime"}
    assert config["wifi"]["power_save_mode"] == "none"


def _check_speaker(config: dict[str, Any], name: str, buffer: int) -> None:
    (bus,) = config["i2s_audio"]
    (speaker,) = config["speaker"]
    (player,) = config["media_player"]
    assert speaker["platform"] == "i2s_audio"
    assert speaker["i2s_audio_id"] == bus["id"]
    assert speaker["dac_type"] == "external"
    assert speaker["i2s_dout_pin"].startswith("GPIO")
    assert bus["i2s_bclk_pin"].startswith("GPIO")
    assert bus["i2s_lrclk_pin"].startswith("GPIO")
    assert player["platform"] == "speaker"
    assert player["name"] == name
    assert int(player["buffer_size"]) == buffer
    pipeline = player["announcement_pipeline"]
    assert pipeline["speaker"] == speaker["id"]
    # HA's ffmpeg proxy converts to what the device plays best: one small format.
    assert (pipeline["format"], pipeline["num_channels"], pipeline["sample_rate"]) == (
        "FLAC",
        1,
        speaker["sample_rate"],
    )


# --- secrets -----------------------------------------------------------------------


def test_secrets_example_has_placeholders_only() -> None:
    example = fc.load_yaml_text(
        (ESPHOME_DIR / "secrets.example.yaml").read_text(encoding="utf-8"),
        ESPHOME_DIR / "secrets.example.yaml",
    )
    assert example
    assert all(str(value).startswith("REPLACE_") for value in example.values())
    # Every !secret the configs use is in the example.
    used: set[str] = set()

    def collect(value: object) -> None:
        if isinstance(value, fc.Secret):
            used.add(value.name)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for config in device_configs():
        loader = fc.ConfigLoader(fc.Report(config))
        loader.load_root(config)
        for document in loader.documents:
            collect(document.data)
    assert used
    assert used <= set(example)


def test_real_secrets_file_is_git_ignored() -> None:
    ignored = (ESPHOME_DIR.parent / ".gitignore").read_text(encoding="utf-8")
    assert "esphome/secrets.yaml" in ignored.splitlines()
