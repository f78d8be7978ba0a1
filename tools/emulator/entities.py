"""The doorbell's entities, read from the firmware's own ESPHome YAML.

The emulator must show Home Assistant exactly the entities the real firmware
shows: same names, object ids and keys. So the list is not written down here;
it is derived from ``esphome/peephole-doorbell.yaml`` (or another device file,
such as ``peephole-doorbell-s3.yaml`` with its media player) and its local packages,
loaded with ``tools.firmware_check``'s loader (ESPHome tags such as
``!secret``/``!lambda`` become inert markers, ``packages:`` are merged and
``${substitutions}`` resolved). What the YAML does not say (the defaults an
ESPHome platform adds, e.g. ``wifi_signal`` being a dBm signal-strength
sensor) comes from :data:`PLATFORM_DEFAULTS`, copied from ESPHome's component
schemas.

Keys are what ESPHome computes: the 32-bit FNV-1 hash of the object id, and
the object id is the entity name in snake case with everything outside
``[a-z0-9_-]`` replaced by ``_`` (``esphome.helpers.fnv1_hash_object_id``). An
entity named ``None`` takes the device's friendly name (ESPHome sends an empty
name, and Home Assistant names the entity after the device).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import re
from typing import Any

from tools.firmware_check import (
    ConfigLoader,
    Report,
    collect_substitutions,
    substitute,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DEVICE_YAML = REPO_ROOT / "esphome" / "peephole-doorbell.yaml"

FNV1_OFFSET_BASIS = 2166136261
FNV1_PRIME = 16777619

# api.proto EntityCategory
ENTITY_CATEGORIES = {"": 0, "none": 0, "config": 1, "diagnostic": 2}
# api.proto SensorStateClass
STATE_CLASSES = {"": 0, "measurement": 1, "total_increasing": 2, "total": 3}
# api.proto ColorMode: ON_OFF | BRIGHTNESS
COLOR_MODE_BRIGHTNESS = 3
# api.proto MediaPlayerFormatPurpose
FORMAT_PURPOSES = {"media": 0, "announcement": 1}
# ESPHome's media_player::MediaPlayerEntityFeature bits: what every media player
# reports (BASE_MEDIA_PLAYER_FEATURES), and what a second pipeline adds.
MEDIA_PLAYER_PAUSE = 1 << 0
MEDIA_PLAYER_PLAY = 1 << 14
MEDIA_PLAYER_BASE_FEATURES = (
    (1 << 9)  # PLAY_MEDIA
    | (1 << 17)  # BROWSE_MEDIA
    | (1 << 12)  # STOP
    | (1 << 2)  # VOLUME_SET
    | (1 << 3)  # VOLUME_MUTE
    | (1 << 20)  # MEDIA_ANNOUNCE
)

# ESPHome domains that become Home Assistant entities, in the order ESPHome's
# ListEntities sends them (its component registration order does not matter to
# Home Assistant; this order only keeps the output stable).
ENTITY_DOMAINS = (
    "binary_sensor",
    "sensor",
    "switch",
    "button",
    "light",
    "event",
    "camera",
    "media_player",
)

# Defaults added by the ESPHome platform schemas (``sensor_schema(...)``,
# ``button_schema(...)``), keyed by (domain, platform).
PLATFORM_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("sensor", "wifi_signal"): {
        "unit_of_measurement": "dBm",
        "accuracy_decimals": 0,
        "device_class": "signal_strength",
        "state_class": "measurement",
        "entity_category": "diagnostic",
    },
    ("sensor", "uptime"): {
        "unit_of_measurement": "s",
        "icon": "mdi:timer-outline",
        "accuracy_decimals": 0,
        "device_class": "duration",
        "state_class": "total_increasing",
        "entity_category": "diagnostic",
    },
    ("button", "restart"): {
        "icon": "mdi:restart",
        "device_class": "restart",
        "entity_category": "config",
    },
    ("media_player", "speaker"): {
        "volume_initial": "50%",
        "volume_increment": "5%",
    },
}


def fnv1_hash(text: str) -> int:
    """Return ESPHome's FNV-1 32-bit hash (multiply, then XOR) over code points."""
    value = FNV1_OFFSET_BASIS
    for char in text:
        value = (value * FNV1_PRIME) & 0xFFFFFFFF
        value ^= ord(char)
    return value


def object_id_of(name: str) -> str:
    """Return ESPHome's object id for an entity name (snake case, sanitized)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name.replace(" ", "_").lower())


def key_of(name: str) -> int:
    """Return ESPHome's entity key for an entity name."""
    return fnv1_hash(object_id_of(name))


@dataclass(frozen=True, kw_only=True)
class Entity:
    """One entity as the firmware announces it over the native API."""

    domain: str
    platform: str
    yaml_id: str
    name: str
    object_id: str
    key: int
    icon: str = ""
    device_class: str = ""
    entity_category: int = 0
    disabled_by_default: bool = False
    # Domain specific: event_types, unit_of_measurement, restore_mode, ...
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    """What the emulator needs to know about the firmware."""

    name: str
    friendly_name: str
    board: str
    project_name: str
    project_version: str
    entities: tuple[Entity, ...]
    idle_fps: float
    max_fps: float
    resolution: tuple[int, int]
    api_encrypted: bool

    def entity(self, yaml_id: str) -> Entity:
        """Return the entity with this YAML id."""
        for entity in self.entities:
            if entity.yaml_id == yaml_id:
                return entity
        raise KeyError(yaml_id)

    def by_domain(self, domain: str) -> list[Entity]:
        """Return the entities of one domain."""
        return [entity for entity in self.entities if entity.domain == domain]


def _fps(value: Any, default: float) -> float:
    match = re.match(r"\s*([0-9.]+)", str(value)) if value is not None else None
    return float(match.group(1)) if match else default


def _resolution(value: Any) -> tuple[int, int]:
    names = {"SVGA": (800, 600), "VGA": (640, 480), "XGA": (1024, 768)}
    text = str(value or "800x600").upper()
    if text in names:
        return names[text]
    match = re.fullmatch(r"(\d+)X(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (800, 600)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _percentage(value: Any) -> float:
    text = str(value).strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def _media_player_options(
    merged: dict[str, Any], speakers: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Return what ESPHome's speaker media player reports: formats, pause, volume.

    ``SpeakerMediaPlayer::get_traits``: one format per pipeline (a pipeline's
    sample rate and channels default to its speaker's), and with a single
    pipeline its format serves the default purpose too; pause needs two pipelines.
    """
    formats: list[dict[str, Any]] = []
    pipelines = {
        purpose: merged[f"{purpose}_pipeline"]
        for purpose in FORMAT_PURPOSES
        if isinstance(merged.get(f"{purpose}_pipeline"), dict)
    }
    for purpose, pipeline in pipelines.items():
        if str(pipeline.get("format", "FLAC")).upper() == "NONE":
            continue
        speaker = speakers.get(str(pipeline.get("speaker")), {})
        media_format = str(pipeline.get("format", "FLAC")).lower()
        channels = 2 if str(speaker.get("channel", "mono")) == "stereo" else 1
        formats.append(
            {
                "format": media_format,
                "sample_rate": int(
                    pipeline.get("sample_rate", speaker.get("sample_rate", 16000))
                ),
                "num_channels": int(pipeline.get("num_channels", channels)),
                "purpose": FORMAT_PURPOSES[purpose],
                "sample_bytes": 0 if media_format == "mp3" else 2,
            }
        )
    if "media" not in pipelines and formats:
        formats.append({**formats[0], "purpose": FORMAT_PURPOSES["media"]})
    supports_pause = len(pipelines) > 1
    features = MEDIA_PLAYER_BASE_FEATURES
    if supports_pause:
        features |= MEDIA_PLAYER_PAUSE | MEDIA_PLAYER_PLAY
    return {
        "supported_formats": formats,
        "supports_pause": supports_pause,
        "feature_flags": features,
        "volume_initial": _percentage(merged["volume_initial"]),
        "volume_increment": _percentage(merged["volume_increment"]),
    }


def _make_entity(
    domain: str,
    conf: dict[str, Any],
    friendly_name: str,
    speakers: dict[str, dict[str, Any]],
) -> Entity | None:
    name = conf.get("name")
    if not isinstance(name, str) or not name or conf.get("internal") is True:
        return None
    platform = str(conf.get("platform", domain))
    merged: dict[str, Any] = {**PLATFORM_DEFAULTS.get((domain, platform), {})}
    merged.update({key: value for key, value in conf.items() if value is not None})
    if name in ("None", "none"):  # named after the device
        name, object_id = "", object_id_of(friendly_name)
    else:
        object_id = object_id_of(name)
    options: dict[str, Any] = {}
    if domain == "event":
        options["event_types"] = [
            str(item) for item in _as_list(merged.get("event_types"))
        ]
    if domain == "sensor":
        options["unit_of_measurement"] = str(merged.get("unit_of_measurement", ""))
        options["accuracy_decimals"] = int(merged.get("accuracy_decimals", 0))
        options["state_class"] = STATE_CLASSES.get(
            str(merged.get("state_class", "")), 0
        )
    if domain in ("switch", "light"):
        options["restore_mode"] = str(merged.get("restore_mode", "ALWAYS_OFF")).upper()
    if domain == "switch":
        options["assumed_state"] = bool(merged.get("assumed_state", False))
    if domain == "media_player":
        options.update(_media_player_options(merged, speakers))
    return Entity(
        domain=domain,
        platform=platform,
        yaml_id=str(merged.get("id", object_id)),
        name=name,
        object_id=object_id,
        key=fnv1_hash(object_id),
        icon=str(merged.get("icon", "")),
        device_class=str(merged.get("device_class", "")),
        entity_category=ENTITY_CATEGORIES.get(
            str(merged.get("entity_category", "")).lower(), 0
        ),
        disabled_by_default=bool(merged.get("disabled_by_default", False)),
        options=options,
    )


def load_device_config(path: Path = DEFAULT_DEVICE_YAML) -> DeviceConfig:
    """Load the firmware configuration and derive the emulated device from it."""
    report = Report(path)
    loader = ConfigLoader(report)
    root = loader.load_root(path)
    if root is None or not report.ok:
        problems = "; ".join(str(finding) for finding in report.findings)
        raise ValueError(f"cannot load {path}: {problems}")
    substitutions = collect_substitutions(loader, root)
    merged = loader.merge_packages(root)
    merged_subs = merged.get("substitutions")
    if isinstance(merged_subs, dict):
        substitutions = {**merged_subs, **substitutions}
    config: dict[str, Any] = substitute(merged, substitutions)

    esphome = config.get("esphome") or {}
    project = esphome.get("project") or {}
    friendly_name = str(esphome.get("friendly_name", ""))
    speakers = {
        str(item["id"]): item
        for item in _as_list(config.get("speaker"))
        if isinstance(item, dict) and "id" in item
    }
    entities: list[Entity] = []
    for domain in ENTITY_DOMAINS:
        if domain == "camera":
            confs = _as_list(config.get("esp32_camera"))
        else:
            confs = _as_list(config.get(domain))
        entities.extend(
            entity
            for conf in confs
            if isinstance(conf, dict)
            and (entity := _make_entity(domain, conf, friendly_name, speakers))
        )
    keys = [entity.key for entity in entities]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{path}: two entities share an object id")

    camera = config.get("esp32_camera") or {}
    api = config.get("api") or {}
    esp32 = config.get("esp32") or {}
    return DeviceConfig(
        name=str(esphome.get("name", "peephole-doorbell")),
        friendly_name=friendly_name,
        board=str(esp32.get("board", "esp32dev")),
        project_name=str(project.get("name", "")),
        project_version=str(project.get("version", "")),
        entities=tuple(entities),
        idle_fps=_fps(camera.get("idle_framerate"), 0.1),
        max_fps=_fps(camera.get("max_framerate"), 10.0),
        resolution=_resolution(camera.get("resolution")),
        api_encrypted=isinstance(api, dict) and "encryption" in api,
    )
