"""The automation blueprints, validated by HA's schema and run in its automation engine.

Every test sets up the real Peephole integration (``init_integration``), so the rings
come from the real ``event.front_door_doorbell`` after a press on its source entity,
and the blueprints are loaded from a temporary config dir by HA's blueprint loader
(helpers in ``common.py``, fixtures in ``conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from http import HTTPStatus
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch
from urllib.parse import unquote

from awesomeversion import AwesomeVersion
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.const import STATE_OFF, STATE_ON, __version__ as ha_version
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)
from pytest_homeassistant_custom_component.test_util import mock_real_ip
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole import share_services
from custom_components.peephole.const import (
    EVENT_CLIP_SAVED,
    EVENT_CLIP_STARTED,
)
from custom_components.peephole.services import RECORD_CLIP_SCHEMA
from tests.conftest import MOTION, SourceCamera

from .common import (
    BLUEPRINTS,
    DOORBELL,
    PEEPHOLE_BLUEPRINTS,
    PEEPHOLE_CAMERA,
    PEEPHOLE_MOTION,
    PHONES,
    PRIVACY,
    RAW_URL,
    SOURCE_URL,
    action_ids,
    at,
    entity_ids,
    mock_services,
    press,
    restart_automations,
    settle,
    setup_automations,
    tap,
    until,
    until_sent,
    wait,
)

NAMES = (
    "announce_ring.yaml",
    "notify_ring.yaml",
    "quick_replies.yaml",
    "describe_visitor.yaml",
    "ask_the_house.yaml",
    "record_on_motion.yaml",
    "privacy_by_presence.yaml",
)
# Blueprints that need a newer Home Assistant than the floor (2025.4.0).
MIN_VERSIONS = {"describe_visitor.yaml": "2025.8.0"}  # ai_task with attachments
SATELLITES = ["assist_satellite.hall", "assist_satellite.kitchen"]
SPEAKER = "media_player.living_room"
TTS = "tts.piper"
real_publish = share_services._async_publish  # wrapped by the `shared` fixture
CHIME = "media-source://media_source/local/chime.mp3"


# --- schema ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
async def test_blueprint_is_valid(hass: HomeAssistant, name: str) -> None:
    path = PEEPHOLE_BLUEPRINTS / name
    data = await hass.async_add_executor_job(load_yaml, str(path))
    blueprint = Blueprint(
        data,
        path=str(path),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    meta = blueprint.metadata
    min_version = MIN_VERSIONS.get(name, "2025.4.0")
    assert meta["homeassistant"]["min_version"] == min_version
    # HA's import refuses a blueprint the running release is too old for: the
    # floor release takes every blueprint but those that say they need more.
    if AwesomeVersion(ha_version) >= AwesomeVersion(min_version):
        assert blueprint.validate() is None
    else:
        assert blueprint.validate() == [
            f"Requires at least Home Assistant {min_version}"
        ]
    assert meta["source_url"] == SOURCE_URL.format(name)
    assert meta["name"].startswith("Peephole")
    assert meta["description"]
    for key, spec in blueprint.inputs.items():
        assert spec.get("name"), key
        assert spec.get("description"), key
        assert spec.get("selector"), key


def test_blueprints_folder_holds_exactly_the_documented_blueprints() -> None:
    found = sorted(p.name for p in PEEPHOLE_BLUEPRINTS.iterdir())
    assert found == sorted(NAMES)
    readme = (BLUEPRINTS / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        link = "https://my.home-assistant.io/redirect/blueprint_import/?blueprint_url="
        encoded = [
            line.split(link, 1)[1].split(")", 1)[0]
            for line in readme.splitlines()
            if link in line and name in unquote(line)
        ]
        assert [unquote(url) for url in encoded] == [RAW_URL.format(name)]
        assert "%3A%2F%2F" in encoded[0]  # url-encoded


@pytest.mark.parametrize("name", NAMES)
def test_no_public_image_anywhere(name: str) -> None:
    """No blueprint uses HA's public `www/` folder, `/local/` URLs or camera.snapshot."""
    data = load_yaml(str(PEEPHOLE_BLUEPRINTS / name))
    # The descriptions explain why; the inputs' defaults and the automation must not.
    metadata = data.pop("blueprint")
    defaults = [spec.get("default") for spec in metadata["input"].values()]
    text = str([data, defaults])
    # media-source://media_source/local/... is HA's private, authenticated media.
    assert "/local/" not in text.replace("media_source/local/", "")
    assert "www" not in text
    assert "camera.snapshot" not in text  # writes unmasked files


# --- announce_ring -------------------------------------------------------------------

ANNOUNCE_SERVICES = (
    "assist_satellite.announce",
    "media_player.play_media",
    "tts.speak",
)


@pytest.fixture
def announce_calls(hass: HomeAssistant) -> dict[str, list[ServiceCall]]:
    return mock_services(hass, *ANNOUNCE_SERVICES)


async def test_announce_on_satellites_and_speakers(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(18, 5))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {
            "doorbell": DOORBELL,
            "satellites": SATELLITES,
            "media_players": [SPEAKER],
            "tts_engine": TTS,
            "chime_media": CHIME,
            "message": "{{ door_name }} rang at {{ ring_time }} ({{ doorbell }}).",
        },
    )
    await press(hass, freezer)
    message = f"Front door rang at 18:05 ({DOORBELL})."
    (announce,) = announce_calls["assist_satellite.announce"]
    assert entity_ids(announce) == SATELLITES
    assert {k: v for k, v in announce.data.items() if k != "entity_id"} == {
        "message": message,
        "preannounce": True,
        "preannounce_media_id": CHIME,
    }
    # Speakers: the chime first, the message after the chime's length.
    (chime,) = announce_calls["media_player.play_media"]
    assert entity_ids(chime) == [SPEAKER]
    assert chime.data["media_content_id"] == CHIME
    assert chime.data["media_content_type"] == "music"
    assert announce_calls["tts.speak"] == []
    await wait(hass, freezer, seconds=2.5)
    (speak,) = announce_calls["tts.speak"]
    assert entity_ids(speak) == [TTS]
    assert speak.data["media_player_entity_id"] == [SPEAKER]
    assert speak.data["message"] == message


async def test_announce_defaults_satellites_only(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Default message and chime; no speakers, so no tts.speak and no play_media."""
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {"doorbell": DOORBELL, "satellites": SATELLITES[:1], "chime": False},
    )
    await press(hass, freezer)
    (announce,) = announce_calls["assist_satellite.announce"]
    assert dict(announce.data) == {
        "entity_id": SATELLITES[:1],
        "message": "Someone is at the front door.",
        "preannounce": False,
    }
    assert announce_calls["media_player.play_media"] == []
    assert announce_calls["tts.speak"] == []


async def test_announce_speakers_without_chime_media(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {"doorbell": DOORBELL, "media_players": [SPEAKER], "tts_engine": TTS},
    )
    await press(hass, freezer)
    assert announce_calls["media_player.play_media"] == []
    assert announce_calls["assist_satellite.announce"] == []
    (speak,) = announce_calls["tts.speak"]
    assert speak.data["message"] == "Someone is at the front door."


@pytest.mark.parametrize(
    ("quiet", "hour", "announced"),
    [
        (("22:00:00", "07:00:00"), 23, False),
        (("22:00:00", "07:00:00"), 3, False),
        (("22:00:00", "07:00:00"), 7, True),
        (("22:00:00", "07:00:00"), 21, True),
        (("13:00:00", "15:00:00"), 14, False),
        (("13:00:00", "15:00:00"), 16, True),
        (("00:00:00", "00:00:00"), 3, True),  # start == end: no quiet hours
    ],
)
async def test_announce_quiet_hours(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
    quiet: tuple[str, str],
    hour: int,
    announced: bool,
) -> None:
    freezer.move_to(at(hour))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {
            "doorbell": DOORBELL,
            "satellites": SATELLITES,
            "quiet_start": quiet[0],
            "quiet_end": quiet[1],
        },
    )
    await press(hass, freezer)
    assert len(announce_calls["assist_satellite.announce"]) == int(announced)


async def test_announce_quiet_hours_with_frozen_clock_moving(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Default quiet hours 22:00-07:00: silent at night, announced in the morning."""
    freezer.move_to(at(21, 59))
    await setup_automations(
        hass, "announce_ring.yaml", {"doorbell": DOORBELL, "satellites": SATELLITES}
    )
    freezer.move_to(at(22, 0))
    await press(hass, freezer)
    freezer.move_to(at(6, 59))
    await press(hass, freezer)
    assert announce_calls["assist_satellite.announce"] == []
    freezer.move_to(at(7, 0))
    await press(hass, freezer)
    assert len(announce_calls["assist_satellite.announce"]) == 1


async def test_announce_cooldown(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {"doorbell": DOORBELL, "satellites": SATELLITES, "cooldown": 20},
    )
    announces = announce_calls["assist_satellite.announce"]
    await press(hass, freezer)
    await press(hass, freezer)  # 1 s later: within the cooldown
    await wait(hass, freezer, seconds=10)
    await press(hass, freezer)  # 12 s after the first: still within
    assert len(announces) == 1
    await wait(hass, freezer, seconds=10)  # 22 s: the cooldown is over
    await press(hass, freezer)
    assert len(announces) == 2


async def test_announce_only_when_condition_holds(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    hass.states.async_set("person.alice", "not_home")
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {
            "doorbell": DOORBELL,
            "satellites": SATELLITES,
            "cooldown": 0,
            "extra_conditions": [
                {"condition": "state", "entity_id": "person.alice", "state": "home"}
            ],
        },
    )
    await press(hass, freezer)
    assert announce_calls["assist_satellite.announce"] == []
    hass.states.async_set("person.alice", "home")
    await press(hass, freezer)
    assert len(announce_calls["assist_satellite.announce"]) == 1


async def test_announce_ignores_non_rings(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Unavailable/restored and attribute-only changes and other event types are no ring."""
    freezer.move_to(at(12))
    other = "event.garden_gate"
    hass.states.async_set(other, "unknown", {"event_types": ["ring", "long_press"]})
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {"doorbell": DOORBELL, "satellites": SATELLITES, "cooldown": 0},
        {"doorbell": other, "satellites": SATELLITES, "cooldown": 0},
    )
    announces = announce_calls["assist_satellite.announce"]
    await press(hass, freezer)
    assert len(announces) == 1
    rung = hass.states.get(DOORBELL)
    hass.states.async_set(DOORBELL, "unavailable", rung.attributes)
    await settle(hass)
    hass.states.async_set(DOORBELL, rung.state, rung.attributes)
    hass.states.async_set(DOORBELL, rung.state, {**rung.attributes, "x": 1})
    await settle(hass)
    stamp = dt_util.utcnow().isoformat()
    hass.states.async_set(other, stamp, {"event_type": "long_press"})
    await settle(hass)
    assert len(announces) == 1
    hass.states.async_set(other, stamp + "1", {"event_type": "ring"})
    await settle(hass)
    assert len(announces) == 2


async def test_announce_message_variables_on_satellites_only(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The common (satellites-only) path renders door_name, ring_time and doorbell."""
    freezer.move_to(at(18, 5))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {
            "doorbell": DOORBELL,
            "satellites": SATELLITES,
            "message": "{{ door_name }} rang at {{ ring_time }} ({{ doorbell }}).",
        },
    )
    await press(hass, freezer)
    (announce,) = announce_calls["assist_satellite.announce"]
    assert dict(announce.data) == {
        "entity_id": SATELLITES,
        "message": f"Front door rang at 18:05 ({DOORBELL}).",
        "preannounce": True,
    }


async def test_announce_door_name_follows_a_renamed_device(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """door_name is looked up at each ring: a name given by the user wins."""
    freezer.move_to(at(12))
    await setup_automations(
        hass, "announce_ring.yaml", {"doorbell": DOORBELL, "satellites": SATELLITES}
    )
    entity = er.async_get(hass).async_get(DOORBELL)
    assert entity is not None
    assert entity.device_id is not None
    dr.async_get(hass).async_update_device(entity.device_id, name_by_user="Side Gate")
    await press(hass, freezer)
    (announce,) = announce_calls["assist_satellite.announce"]
    assert announce.data["message"] == "Someone is at the side gate."


@pytest.mark.parametrize(
    ("chime", "expected"),
    [
        (True, {"preannounce": True, "preannounce_media_id": CHIME}),
        (False, {"preannounce": False}),
    ],
)
async def test_announce_satellites_with_chime_media(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
    chime: bool,
    expected: dict[str, Any],
) -> None:
    """Satellites only, with a chime media: their own sound unless the chime is off."""
    freezer.move_to(at(18, 5))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {
            "doorbell": DOORBELL,
            "satellites": SATELLITES,
            "chime": chime,
            "chime_media": CHIME,
            "cooldown": 20,
            "message": "{{ door_name }} at {{ ring_time }}",
        },
    )
    announces = announce_calls["assist_satellite.announce"]
    await press(hass, freezer)
    await press(hass, freezer)  # within the cooldown
    (announce,) = announces
    assert dict(announce.data) == {
        "entity_id": SATELLITES,
        "message": "Front door at 18:05",
        **expected,
    }
    assert announce_calls["media_player.play_media"] == []
    assert announce_calls["tts.speak"] == []
    await wait(hass, freezer, seconds=21)
    await press(hass, freezer)
    assert len(announces) == 2


async def test_announce_cooldown_with_speakers(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The speakers' path has the same cooldown: a repeated press speaks once."""
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {
            "doorbell": DOORBELL,
            "satellites": SATELLITES,
            "media_players": [SPEAKER],
            "tts_engine": TTS,
            "cooldown": 20,
        },
    )
    await press(hass, freezer)
    await press(hass, freezer)
    await wait(hass, freezer, seconds=10)
    await press(hass, freezer)
    assert len(announce_calls["assist_satellite.announce"]) == 1
    assert len(announce_calls["tts.speak"]) == 1
    await wait(hass, freezer, seconds=10)
    await press(hass, freezer)
    assert len(announce_calls["assist_satellite.announce"]) == 2
    assert len(announce_calls["tts.speak"]) == 2


async def test_announce_tts_engine_without_speakers_uses_the_satellites(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A TTS engine but no speakers: the satellites still announce, nothing is spoken."""
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {"doorbell": DOORBELL, "satellites": SATELLITES, "tts_engine": TTS},
    )
    await press(hass, freezer)
    (announce,) = announce_calls["assist_satellite.announce"]
    assert dict(announce.data) == {
        "entity_id": SATELLITES,
        "message": "Someone is at the front door.",
        "preannounce": True,
    }
    assert announce_calls["tts.speak"] == []
    assert announce_calls["media_player.play_media"] == []


@pytest.mark.parametrize(
    "inputs",
    [
        {},  # nothing chosen
        {"tts_engine": TTS},  # a TTS engine but no speakers
        {"media_players": [SPEAKER]},  # speakers but no TTS engine
        {"chime_media": CHIME},  # a chime but nowhere to play it
    ],
)
async def test_announce_nowhere_to_announce(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
    inputs: dict[str, Any],
) -> None:
    """With nowhere to announce the automation is valid but never runs."""
    freezer.move_to(at(12))
    await setup_automations(
        hass, "announce_ring.yaml", {"doorbell": DOORBELL, "cooldown": 0, **inputs}
    )
    await press(hass, freezer)
    assert all(calls == [] for calls in announce_calls.values())
    (automation,) = hass.states.async_all("automation")
    assert automation.attributes["last_triggered"] is None


# --- notify_ring ---------------------------------------------------------------------


def _notify_inputs(phones: dict[str, str], **extra: Any) -> dict[str, Any]:
    """Inputs; no snapshot unless asked (the image tests; its default is on)."""
    return {
        "doorbell": DOORBELL,
        "camera": PEEPHOLE_CAMERA,
        "notify_devices": list(phones.values()),
        "privacy_switch": PRIVACY,
        "snapshot": False,
        **extra,
    }


async def _ring_without_clip(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Ring with recording off: the notification goes at once, without Keep clip."""
    await press(hass, freezer)
    assert "clip_id" not in hass.states.get(DOORBELL).attributes


@pytest.fixture
def shared() -> Generator[list[dict[str, Any]]]:
    """Record what the real ``peephole.share_snapshot`` returns (it still runs)."""
    responses: list[dict[str, Any]] = []

    async def publish(*args: Any) -> dict[str, Any]:
        response = await real_publish(*args)
        responses.append(response)
        return response

    with patch.object(share_services, "_async_publish", side_effect=publish):
        yield responses


# An image for the Companion app: a local Peephole share link, relative (the app
# prepends the URL it uses) or on a local address; never www/, /local/ or a proxy.
LOCAL_SHARE_URL = re.compile(
    r"^(https?://(localhost|127\.[0-9.]+|10\.[0-9.]+|192\.168\.[0-9.]+"
    r"|172\.(1[6-9]|2[0-9]|3[01])\.[0-9.]+)(:[0-9]+)?)?"
    r"/api/peephole/share/[A-Za-z0-9_-]{22}/snapshot\.jpg\?token=[A-Za-z0-9_.-]+$"
)


def _assert_no_public_image(call: ServiceCall) -> None:
    dumped = json.dumps(dict(call.data)).lower()
    for forbidden in ("attachment", "/local/", "www", "/api/camera_proxy"):
        assert forbidden not in dumped


def _assert_no_image(call: ServiceCall) -> None:
    assert "image" not in json.dumps(dict(call.data)).lower()
    _assert_no_public_image(call)


async def test_notify_every_phone_with_a_local_snapshot(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    shared: list[dict[str, Any]],
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Snapshot on by default: the real peephole.share_snapshot's link is the image."""
    freezer.move_to(at(18, 5))
    inputs = _notify_inputs(phones)
    del inputs["snapshot"]  # on by default
    await setup_automations(hass, "notify_ring.yaml", inputs)
    # Keep clip is on by default, but recording is off: nothing records the ring,
    # and nothing delays the notification.
    await press(hass, freezer)
    await until_sent(hass, notify_calls["notify.mobile_app_anna_s_iphone"])
    (response,) = shared  # one share for every phone
    assert response["kind"] == "snapshot"
    assert response["recipient"] == "notification"
    assert response["remote"] is False
    expires = datetime.fromisoformat(response["expires"])
    assert expires - dt_util.utcnow() <= timedelta(minutes=15)
    url = response["url"]
    assert LOCAL_SHARE_URL.match(url), url
    assert url.endswith(response["links"][0]["path"])
    for service in PHONES.values():
        (call,) = notify_calls[f"notify.{service}"]
        assert call.data["title"] == "Front door"
        assert call.data["message"] == "Someone rang the doorbell at 18:05."
        push = call.data["data"]
        assert push["image"] == url  # exactly what the action returned
        assert push["tag"] == f"peephole_{DOORBELL}"
        assert push["clickAction"] == push["url"] == f"entityId:{PEEPHOLE_CAMERA}"
        buttons = push["actions"]
        assert buttons[0] == {
            "action": "URI",
            "title": "Live view",
            "uri": f"entityId:{PEEPHOLE_CAMERA}",
        }
        # No clip, no Keep clip button.
        assert [b["title"] for b in buttons] == ["Live view", "Privacy mode"]
        assert buttons[1]["action"].startswith("PEEPHOLE_PRIVACY_")
        _assert_no_public_image(call)
    # Both phones got the same (per-run) action ids.
    calls = [notify_calls[f"notify.{s}"][0] for s in PHONES.values()]
    assert action_ids(calls[0]) == action_ids(calls[1])
    # The link serves the masked JPEG to a phone on the local network.
    mock_real_ip(hass.http.app)("192.168.1.20")
    client = await hass_client_no_auth()
    response = await client.get(response["links"][0]["path"])
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "image/jpeg"
    assert (await response.read())[:2] == b"\xff\xd8"


async def test_notify_without_snapshot_sends_no_image(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    shared: list[dict[str, Any]],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(
        hass, "notify_ring.yaml", _notify_inputs(phones, snapshot=False)
    )
    await _ring_without_clip(hass, freezer)
    assert shared == []
    for service in PHONES.values():
        (call,) = notify_calls[f"notify.{service}"]
        _assert_no_image(call)


@pytest.mark.parametrize("privacy_switch", [PRIVACY, ""])
async def test_notify_in_privacy_mode_sends_no_image(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    shared: list[dict[str, Any]],
    freezer: FrozenDateTimeFactory,
    privacy_switch: str,
) -> None:
    """No snapshot in privacy mode, and no share either.

    With the privacy switch as an input, the blueprint does not even ask; without
    it, Peephole refuses the snapshot and the notification goes without a picture.
    """
    freezer.move_to(at(12))
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    await setup_automations(
        hass,
        "notify_ring.yaml",
        _notify_inputs(phones, privacy_switch=privacy_switch, snapshot=True),
    )
    await _ring_without_clip(hass, freezer)
    await until_sent(hass, notify_calls["notify.mobile_app_anna_s_iphone"])
    assert shared == []
    assert share_services.async_get_registry(hass).shares == {}
    for service in PHONES.values():
        (call,) = notify_calls[f"notify.{service}"]
        _assert_no_image(call)


async def test_notify_without_image_when_the_snapshot_fails(
    hass: HomeAssistant,
    blueprint_config: Path,
    source_camera: SourceCamera,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    shared: list[dict[str, Any]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The source camera gives no image: the action fails, the notification goes."""
    source_camera.frame = None
    freezer.move_to(at(12))
    await setup_automations(
        hass, "notify_ring.yaml", _notify_inputs(phones, snapshot=True)
    )
    await _ring_without_clip(hass, freezer)
    await until_sent(hass, notify_calls["notify.mobile_app_anna_s_iphone"])
    assert shared == []
    for service in PHONES.values():
        (call,) = notify_calls[f"notify.{service}"]
        assert list(action_ids(call)) == ["Live view", "Privacy mode"]
        _assert_no_image(call)


async def test_notify_privacy_button_turns_privacy_mode_on(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "notify_ring.yaml",
        _notify_inputs(phones, live_view_uri="/dashboard-door/0"),
    )
    await _ring_without_clip(hass, freezer)
    call = notify_calls["notify.mobile_app_pixel_8"][0]
    assert call.data["data"]["actions"][0]["uri"] == "/dashboard-door/0"
    privacy = action_ids(call)["Privacy mode"]
    await tap(hass, "PEEPHOLE_PRIVACY_someone_else")  # another notification's button
    await tap(hass, "URI")
    assert hass.states.get(PRIVACY).state == STATE_OFF
    await wait(hass, freezer, minutes=5)
    await tap(hass, privacy)
    assert hass.states.get(PRIVACY).state == STATE_ON


async def test_notify_in_privacy_mode_has_no_keep_button(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Privacy mode records nothing: no clip, no Keep clip button."""
    freezer.move_to(at(12))
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    await setup_automations(hass, "notify_ring.yaml", _notify_inputs(phones))
    await press(hass, freezer)
    (call,) = notify_calls["notify.mobile_app_pixel_8"]
    assert list(action_ids(call)) == ["Live view", "Privacy mode"]


async def test_notify_buttons_work_however_late(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """No run waits for a button: a tap hours later, after a reload, still acts.

    (An automation made with the old "Buttons work for" input still loads.)
    """
    freezer.move_to(at(12))
    await setup_automations(
        hass, "notify_ring.yaml", _notify_inputs(phones, action_timeout=3)
    )
    await _ring_without_clip(hass, freezer)
    (automation,) = hass.states.async_all("automation")
    assert automation.attributes["current"] == 0  # the ring's run is over
    privacy = action_ids(notify_calls["notify.mobile_app_pixel_8"][0])["Privacy mode"]
    await wait(hass, freezer, minutes=180)
    await restart_automations(hass)
    await tap(hass, privacy)
    assert hass.states.get(PRIVACY).state == STATE_ON


async def test_notify_new_ring_replaces_the_last(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Same tag on the phone: the new notification replaces the last one."""
    freezer.move_to(at(12))
    await setup_automations(hass, "notify_ring.yaml", _notify_inputs(phones))
    await _ring_without_clip(hass, freezer)
    await _ring_without_clip(hass, freezer)
    calls = notify_calls["notify.mobile_app_pixel_8"]
    assert len(calls) == 2
    assert calls[0].data["data"]["tag"] == calls[1].data["data"]["tag"]
    # The doorbell's button, whichever notification shows it.
    (entry,) = hass.config_entries.async_entries("peephole")
    assert {action_ids(call)["Privacy mode"] for call in calls} == {
        f"PEEPHOLE_PRIVACY_{entry.entry_id}"
    }


@pytest.mark.parametrize("saved_before_tap", [False, True])
async def test_notify_keep_clip_end_to_end(
    hass: HomeAssistant,
    blueprint_config: Path,
    recording: MockConfigEntry,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    saved_before_tap: bool,
) -> None:
    """Real recording: the ring records a clip, the button keeps it with the real action.

    Tapped at once (the clip is still being recorded: it is indexed as kept) or
    after the clip is saved.
    """
    recorder = recording.runtime_data.recorder
    started = async_capture_events(hass, EVENT_CLIP_STARTED)
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await setup_automations(
        hass, "notify_ring.yaml", _notify_inputs({"Pixel 8": phones["Pixel 8"]})
    )
    await press(hass)
    calls = notify_calls["notify.mobile_app_pixel_8"]
    await until(lambda: calls, seconds=2)
    clip_id = hass.states.get(DOORBELL).attributes["clip_id"]
    actions = action_ids(calls[0])
    assert list(actions) == ["Live view", "Privacy mode", "Keep clip"]
    await until(lambda: started)
    assert started[0].data["clip_id"] == clip_id
    assert started[0].data["trigger"] == "ring"
    if saved_before_tap:
        await until(lambda: saved)
        assert not recorder.store.get(clip_id).keep
        # Tapped later: after a restart too (no run waits for the button).
        await restart_automations(hass)
    else:
        assert recorder.recording
    await tap(hass, actions["Keep clip"])
    await until(lambda: saved)
    assert saved[0].data["clip_id"] == clip_id
    await until(lambda: (clip := recorder.store.get(clip_id)) and clip.keep)
    assert hass.states.get(PRIVACY).state == STATE_OFF
    (automation,) = hass.states.async_all("automation")
    await until(
        lambda: hass.states.get(automation.entity_id).attributes["current"] == 0
    )  # the run ended after the keep
    await hass.async_block_till_done()


async def test_notify_keep_clip_of_a_ring_during_a_motion_clip(
    hass: HomeAssistant,
    blueprint_config: Path,
    recording: MockConfigEntry,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
) -> None:
    """A ring while motion is being recorded extends that clip; Keep keeps it."""
    recorder = recording.runtime_data.recorder
    started = async_capture_events(hass, EVENT_CLIP_STARTED)
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await setup_automations(
        hass, "notify_ring.yaml", _notify_inputs({"Pixel 8": phones["Pixel 8"]})
    )
    hass.states.async_set(MOTION, STATE_ON, {"device_class": "motion"})
    await until(lambda: started)
    (motion_clip,) = started
    assert motion_clip.data["trigger"] == "motion"
    await press(hass)
    calls = notify_calls["notify.mobile_app_pixel_8"]
    await until(lambda: calls, seconds=2)
    assert (
        hass.states.get(DOORBELL).attributes["clip_id"] == motion_clip.data["clip_id"]
    )
    actions = action_ids(calls[0])
    assert list(actions) == ["Live view", "Privacy mode", "Keep clip"]
    await tap(hass, actions["Keep clip"])
    await until(lambda: saved)
    assert len(started) == 1  # the ring extended the motion clip
    assert saved[0].data["clip_id"] == motion_clip.data["clip_id"]
    await until(
        lambda: (clip := recorder.store.get(motion_clip.data["clip_id"])) and clip.keep
    )
    await hass.async_block_till_done()


async def test_notify_only_when_condition_and_without_buttons(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    hass.states.async_set("input_boolean.notify_me", STATE_OFF)
    await setup_automations(
        hass,
        "notify_ring.yaml",
        _notify_inputs(
            {"Pixel 8": phones["Pixel 8"]},
            privacy_switch="",
            keep_clip=False,
            title="Door",
            message="{{ door_name }} at {{ ring_time }}",
            extra_conditions=[
                {
                    "condition": "state",
                    "entity_id": "input_boolean.notify_me",
                    "state": STATE_ON,
                }
            ],
        ),
    )
    await press(hass, freezer)
    assert notify_calls["notify.mobile_app_pixel_8"] == []
    hass.states.async_set("input_boolean.notify_me", STATE_ON)
    await press(hass, freezer)
    (call,) = notify_calls["notify.mobile_app_pixel_8"]
    assert call.data["title"] == "Door"
    assert call.data["message"] == "Front door at 12:00"
    assert [b["title"] for b in call.data["data"]["actions"]] == ["Live view"]
    assert notify_calls["notify.mobile_app_anna_s_iphone"] == []
    # Nothing to wait for: the run is over.
    (automation,) = hass.states.async_all("automation")
    assert automation.attributes["current"] == 0


async def test_notify_buttons_only_of_this_doorbell(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Taps act past "Only when"; foreign ids, and other doorbells' buttons, do not.

    A doorbell or privacy switch that is not the camera's own Peephole gets no
    button.
    """
    freezer.move_to(at(12))
    hass.states.async_set("input_boolean.notify_me", STATE_ON)
    only_when = {
        "condition": "state",
        "entity_id": "input_boolean.notify_me",
        "state": STATE_ON,
    }
    await setup_automations(
        hass,
        "notify_ring.yaml",
        _notify_inputs(
            {"Pixel 8": phones["Pixel 8"]},
            title="{{ trigger.to_state.name }}",  # a ring's template, not a tap's
            extra_conditions=[only_when],
        ),
    )
    await _ring_without_clip(hass, freezer)
    (call,) = notify_calls["notify.mobile_app_pixel_8"]
    privacy = action_ids(call)["Privacy mode"]
    hass.states.async_set("input_boolean.notify_me", STATE_OFF)
    (entry,) = hass.config_entries.async_entries("peephole")
    entry_id = entry.entry_id
    other = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    for foreign in (1, "True", f"PEEPHOLE_PRIVACY_{other}", f"PEEPHOLE_KEEP_{other}_x"):
        await tap(hass, foreign)
    await tap(hass, f"PEEPHOLE_KEEP_{entry_id}_")  # no clip id at all
    assert hass.states.get(PRIVACY).state == STATE_OFF
    (automation,) = hass.states.async_all("automation")
    assert automation.attributes["current"] == 0
    await tap(hass, privacy)
    assert hass.states.get(PRIVACY).state == STATE_ON


async def test_notify_no_buttons_for_another_peepholes_entities(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A ring of a doorbell that is not the camera's Peephole: no Keep clip."""
    freezer.move_to(at(12))
    other_doorbell = "event.garden_gate_doorbell"
    hass.states.async_set(other_doorbell, "unknown", {"device_class": "doorbell"})
    await setup_automations(
        hass,
        "notify_ring.yaml",
        _notify_inputs(
            {"Pixel 8": phones["Pixel 8"]},
            doorbell=other_doorbell,
            privacy_switch="switch.garden_gate_privacy_mode",
        ),
    )
    freezer.tick(timedelta(seconds=1))
    hass.states.async_set(
        other_doorbell,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"device_class": "doorbell", "event_type": "ring", "clip_id": "x"},
    )
    await settle(hass)
    (call,) = notify_calls["notify.mobile_app_pixel_8"]
    assert list(action_ids(call)) == ["Live view"]


async def test_notify_description_wait_without_a_describer(
    hass: HomeAssistant,
    blueprint_config: Path,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """No "Describe the visitor" (HA before 2025.8, or not set up): a ring waits
    for a description as long as set, never longer; meanwhile a tap acts at once,
    and a ring overtaken by a newer one is not sent."""
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "notify_ring.yaml",
        _notify_inputs({"Pixel 8": phones["Pixel 8"]}, description_wait=4),
    )
    calls = notify_calls["notify.mobile_app_pixel_8"]
    await press(hass, freezer)  # waits until 4 s after it
    await press(hass, freezer)  # a second later: waits until 5 s after the first
    (entry,) = hass.config_entries.async_entries("peephole")
    await tap(hass, f"PEEPHOLE_PRIVACY_{entry.entry_id}")
    assert hass.states.get(PRIVACY).state == STATE_ON
    # (Time moves in steps; timers due up to 0.5 s after a step fire with it.)
    await wait(hass, freezer, seconds=2.4)
    assert calls == []
    await wait(hass, freezer, seconds=0.8)  # the first ring's wait is over
    assert calls == []
    await wait(hass, freezer, seconds=1)  # the second's
    (call,) = calls
    assert call.data["message"] == "Someone rang the doorbell at 12:00."
    # In privacy mode there is no description to wait for.
    await press(hass, freezer)
    assert len(calls) == 2


async def test_announce_description_wait_without_a_describer(
    hass: HomeAssistant,
    blueprint_config: Path,
    announce_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Announced when the wait ends, without a description; at once in privacy
    mode (no description comes then)."""
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "announce_ring.yaml",
        {
            "doorbell": DOORBELL,
            "satellites": SATELLITES,
            "description_wait": 3,
            "cooldown": 0,
        },
    )
    announces = announce_calls["assist_satellite.announce"]
    await press(hass, freezer)
    await wait(hass, freezer, seconds=2.4)
    assert announces == []
    await wait(hass, freezer, seconds=0.7)
    (announce,) = announces
    assert announce.data["message"] == "Someone is at the front door."
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    await press(hass, freezer)
    assert len(announces) == 2


# --- presence (real person and zone integrations) ----------------------------------


@pytest.fixture
async def people(hass: HomeAssistant) -> Callable[[str, str], Any]:
    """Alice and Bob, each a real person tracked by one phone; returns `move(who, where)`."""
    assert await async_setup_component(hass, "zone", {})
    assert await async_setup_component(
        hass,
        "person",
        {
            "person": [
                {
                    "id": who,
                    "name": who.title(),
                    "device_trackers": [f"device_tracker.{who}"],
                }
                for who in ("alice", "bob")
            ]
        },
    )
    await hass.async_block_till_done()

    async def move(who: str, where: str) -> None:
        hass.states.async_set(f"device_tracker.{who}", where, {"source_type": "gps"})
        await settle(hass)
        assert hass.states.get(f"person.{who}").state == where

    await move("alice", "not_home")
    await move("bob", "not_home")
    assert hass.states.get("zone.home").state == "0"
    return move


# --- record_on_motion ----------------------------------------------------------------

SCHEDULE = "schedule.away_hours"


@pytest.fixture
def record_calls(hass: HomeAssistant) -> list[ServiceCall]:
    """Capture peephole.record_clip in the tests of *when* the blueprint records.

    Those tests count calls under a frozen clock, motion after motion. The real
    action needs real recording (real time, ffmpeg), and a call while a clip is
    being recorded only extends it, so real calls could not be counted from the
    clips. test_record_on_motion_records_a_clip runs the real action; the captured
    data is checked against the real action's schema here.
    """
    return async_mock_service(hass, "peephole", "record_clip")


async def _motion(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Motion at the source: Peephole's motion sensor goes on, then off."""
    for state in (STATE_ON, STATE_OFF):
        freezer.tick(timedelta(seconds=1))
        hass.states.async_set(MOTION, state, {"device_class": "motion"})
        await settle(hass)
        assert hass.states.get(PEEPHOLE_MOTION).state == state


async def test_record_on_motion_records_a_clip(
    hass: HomeAssistant,
    blueprint_config: Path,
    recording: MockConfigEntry,
) -> None:
    """The default action is the real peephole.record_clip: Peephole records a clip.

    The motion is a driveway sensor's: Peephole records its own motion sensor by
    itself (then record_clip only extends that clip).
    """
    recorder = recording.runtime_data.recorder
    started = async_capture_events(hass, EVENT_CLIP_STARTED)
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    driveway = "binary_sensor.driveway_motion"
    hass.states.async_set(driveway, STATE_OFF, {"device_class": "motion"})
    await setup_automations(
        hass,
        "record_on_motion.yaml",
        {"motion": driveway, "camera": PEEPHOLE_CAMERA, "min_interval": 0},
    )
    hass.states.async_set(driveway, STATE_ON, {"device_class": "motion"})
    await until(lambda: started)
    (clip_started,) = started
    assert clip_started.data["trigger"] == "action"
    assert clip_started.data["entry_id"] == recording.entry_id
    assert clip_started.data["camera_entity_id"] == PEEPHOLE_CAMERA
    await until(lambda: saved)
    clip = recorder.store.get(clip_started.data["clip_id"])
    assert clip is not None
    assert clip.trigger == "action"
    assert len(started) == 1
    await hass.async_block_till_done()


async def test_record_on_motion_when_nobody_is_home(
    hass: HomeAssistant,
    blueprint_config: Path,
    init_integration: MockConfigEntry,
    people: Callable[[str, str], Any],
    record_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "record_on_motion.yaml",
        {"motion": PEEPHOLE_MOTION, "camera": PEEPHOLE_CAMERA, "min_interval": 0},
    )
    await _motion(hass, freezer)
    (call,) = record_calls
    assert dict(call.data) == {"config_entry_id": init_integration.entry_id}
    RECORD_CLIP_SCHEMA(dict(call.data))  # valid for the real action
    await people("alice", "home")
    await _motion(hass, freezer)
    assert len(record_calls) == 1
    await people("alice", "not_home")
    await _motion(hass, freezer)
    assert len(record_calls) == 2


async def test_record_on_motion_respects_the_schedule(
    hass: HomeAssistant,
    blueprint_config: Path,
    people: Callable[[str, str], Any],
    record_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    hass.states.async_set(SCHEDULE, STATE_OFF)
    await setup_automations(
        hass,
        "record_on_motion.yaml",
        {
            "motion": PEEPHOLE_MOTION,
            "camera": PEEPHOLE_CAMERA,
            "schedule": SCHEDULE,
            "presence": "always",
            "min_interval": 0,
        },
    )
    await _motion(hass, freezer)
    assert record_calls == []
    hass.states.async_set(SCHEDULE, STATE_ON)
    await people("bob", "home")  # presence "always": ignored
    await _motion(hass, freezer)
    assert len(record_calls) == 1


async def test_record_on_motion_someone_home_selected_people_and_interval(
    hass: HomeAssistant,
    blueprint_config: Path,
    people: Callable[[str, str], Any],
    record_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "record_on_motion.yaml",
        {
            "motion": PEEPHOLE_MOTION,
            "camera": PEEPHOLE_CAMERA,
            "presence": "someone_home",
            "people": ["person.bob"],
            "min_interval": 60,
        },
    )
    await people("alice", "home")  # Alice does not count here
    await _motion(hass, freezer)
    assert record_calls == []
    await people("bob", "home")
    await _motion(hass, freezer)
    await _motion(hass, freezer)  # within the 60 s
    assert len(record_calls) == 1
    await wait(hass, freezer, seconds=60)
    await _motion(hass, freezer)
    assert len(record_calls) == 2


async def test_record_on_motion_every_motion_by_default_and_not_in_privacy_mode(
    hass: HomeAssistant,
    blueprint_config: Path,
    init_integration: MockConfigEntry,
    record_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Every motion records (a clip running is extended); privacy mode: no run."""
    freezer.move_to(at(12))
    driveway = "binary_sensor.driveway_motion"

    async def motion() -> None:
        for state in (STATE_ON, STATE_OFF):
            freezer.tick(timedelta(seconds=1))
            hass.states.async_set(driveway, state, {"device_class": "motion"})
            await settle(hass)

    hass.states.async_set(driveway, STATE_OFF, {"device_class": "motion"})
    await setup_automations(
        hass,
        "record_on_motion.yaml",
        {"motion": driveway, "camera": PEEPHOLE_CAMERA, "presence": "always"},
    )
    await motion()
    await motion()  # two seconds later: recorded (extends the clip) too
    assert len(record_calls) == 2
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    assert hass.states.get(PEEPHOLE_CAMERA).attributes["privacy_mode"] is True
    await motion()
    assert len(record_calls) == 2
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": PRIVACY}, blocking=True
    )
    await motion()
    assert len(record_calls) == 3


async def test_record_on_motion_custom_action(
    hass: HomeAssistant,
    blueprint_config: Path,
    people: Callable[[str, str], Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    calls = async_mock_service(hass, "script", "record_door")
    freezer.move_to(at(12))
    await setup_automations(
        hass,
        "record_on_motion.yaml",
        {
            "motion": PEEPHOLE_MOTION,
            "camera": PEEPHOLE_CAMERA,
            "record_action": [
                {"action": "script.record_door", "data": {"camera": "{{ camera }}"}}
            ],
        },
    )
    await _motion(hass, freezer)
    (call,) = calls
    assert call.data == {"camera": PEEPHOLE_CAMERA}


# --- privacy_by_presence -------------------------------------------------------------


async def test_privacy_by_presence_both_directions(
    hass: HomeAssistant,
    blueprint_config: Path,
    people: Callable[[str, str], Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(
        hass, "privacy_by_presence.yaml", {"privacy_switches": [PRIVACY]}
    )
    assert hass.states.get(PRIVACY).state == STATE_OFF
    await people("alice", "home")
    assert hass.states.get(PRIVACY).state == STATE_ON
    await people("bob", "home")
    await people("alice", "not_home")
    assert hass.states.get(PRIVACY).state == STATE_ON  # Bob is still in
    await people("bob", "not_home")
    assert hass.states.get(PRIVACY).state == STATE_OFF
    # A manual override holds until presence changes again.
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    await wait(hass, freezer, minutes=5)
    assert hass.states.get(PRIVACY).state == STATE_ON
    await people("alice", "home")
    await people("alice", "not_home")
    assert hass.states.get(PRIVACY).state == STATE_OFF


async def test_privacy_by_presence_people_schedule_and_delay(
    hass: HomeAssistant,
    blueprint_config: Path,
    people: Callable[[str, str], Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    hass.states.async_set(SCHEDULE, STATE_OFF)
    await setup_automations(
        hass,
        "privacy_by_presence.yaml",
        {
            "privacy_switches": [PRIVACY],
            "people": ["person.alice"],
            "schedule": SCHEDULE,
            "leave_delay": 120,
        },
    )
    await people("bob", "home")  # Bob does not count
    assert hass.states.get(PRIVACY).state == STATE_OFF
    hass.states.async_set(SCHEDULE, STATE_ON)
    await settle(hass)
    assert hass.states.get(PRIVACY).state == STATE_ON
    await people("alice", "home")
    hass.states.async_set(SCHEDULE, STATE_OFF)
    await settle(hass)
    await people("alice", "not_home")
    await wait(hass, freezer, seconds=60)
    assert hass.states.get(PRIVACY).state == STATE_ON  # within the delay
    await people("alice", "home")  # back before the delay ended
    await wait(hass, freezer, seconds=90)
    assert hass.states.get(PRIVACY).state == STATE_ON
    await people("alice", "not_home")
    await wait(hass, freezer, seconds=121)
    assert hass.states.get(PRIVACY).state == STATE_OFF


async def test_privacy_by_presence_at_start(
    hass: HomeAssistant,
    blueprint_config: Path,
    people: Callable[[str, str], Any],
) -> None:
    await people("alice", "home")
    hass.set_state(hass.state.__class__.not_running)
    await setup_automations(
        hass, "privacy_by_presence.yaml", {"privacy_switches": [PRIVACY]}
    )
    assert hass.states.get(PRIVACY).state == STATE_OFF
    await hass.async_start()
    await settle(hass)
    assert hass.states.get(PRIVACY).state == STATE_ON


@pytest.mark.parametrize("comes_home", [False, True])
async def test_privacy_by_presence_at_start_with_nobody_home_yet(
    hass: HomeAssistant,
    blueprint_config: Path,
    people: Callable[[str, str], Any],
    freezer: FrozenDateTimeFactory,
    comes_home: bool,
) -> None:
    """Started with nobody home (maybe not known yet): off only a minute later.

    Privacy mode was on before the restart; someone reported home within that
    minute keeps it on.
    """
    freezer.move_to(at(12))
    await people("alice", "not_home")
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    hass.set_state(hass.state.__class__.not_running)
    await setup_automations(
        hass, "privacy_by_presence.yaml", {"privacy_switches": [PRIVACY]}
    )
    await hass.async_start()
    await settle(hass)
    assert hass.states.get(PRIVACY).state == STATE_ON
    await wait(hass, freezer, seconds=30)
    assert hass.states.get(PRIVACY).state == STATE_ON
    if comes_home:
        await people("alice", "home")
    await wait(hass, freezer, seconds=31)
    assert hass.states.get(PRIVACY).state == (STATE_ON if comes_home else STATE_OFF)
