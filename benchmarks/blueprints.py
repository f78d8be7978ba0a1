"""Ring-to-announcement latency through the announce blueprint, in a real HA core.

A Home Assistant core (phcc's ``async_test_home_assistant``: real core, registries,
loader and automation engine; the config dir is a temporary one) runs two
automations side by side:

- ``blueprint``: ``blueprints/automation/peephole/announce_ring.yaml`` loaded by HA's
  blueprint loader, with two satellites, quiet hours that are evaluated (a window
  that does not contain the current time), a 0 s cooldown and no extra conditions;
- ``plain``: the one-step automation a user would write by hand: a state trigger
  on the doorbell event entity and one ``assist_satellite.announce`` action.

Each ring sets its event entity's state to a new ISO timestamp with
``event_type: ring`` (what HA's event entities do); the latency runs from just
before that state write to the moment the ``assist_satellite.announce`` handler
(a registered stand-in service) is called. Rings alternate between the two
automations, and every run ends before the next ring.

The rings are timed in ``ROUNDS`` rounds. The garbage collector is off while a
ring is timed (the heap built by the setup is frozen out of it, and a collection
runs between rings, untimed), so a collection that one ring happens to trigger
does not land in one automation's tail only.

- ``ring_to_announce_ms_p99``: 99th percentile through the blueprint, over every
  round (target <= 10).
- ``ring_to_announce_vs_plain_automation``: the blueprint's p99 over the plain
  automation's p99, computed per round (both from the same interleaved rings) and
  reported as the median over the rounds (target <= 2.0). A p99 ratio from one run
  on a shared machine swings with whatever else runs; the median of rounds does not
  hang on one unlucky stretch.
- ``ring_to_announce_vs_plain_round_spread``: the largest minus the smallest round
  ratio (how noisy this run was; not a target).
- ``ring_to_announce_ms_p50``, ``plain_ring_to_announce_ms_p99``: context.

Quick replies, in a second real HA core with the real Peephole integration (on a
still camera; recording off), HA's real ``tts`` and ``media_player`` components, a
text-to-speech entity and two media player entities (the speakers), and a phone in
the device registry (its ``notify.mobile_app_*`` action is a stand-in):

- ``blueprint``: ``quick_replies.yaml`` with the phone, a speaker and the engine;
- ``plain``: the one-step automation a user would write: an event trigger on one
  ``mobile_app_notification_action`` action id and one ``tts.speak`` to the other
  speaker.

Each tap fires ``mobile_app_notification_action`` with a reply button's action id
(as the Companion app does); the latency runs from just before that event to the
moment HA asks the speaker entity to play (its ``async_play_media`` is called, with
HA's TTS media source for the reply). Taps alternate and each run ends before the
next tap, in rounds, with the garbage collector handled as above.

- ``reply_tap_to_play_ms_p99``: 99th percentile through the blueprint (target
  <= 50).
- ``reply_tap_to_play_vs_plain_automation``: median over rounds of the blueprint's
  p99 over the plain automation's (context: what the blueprint's checks cost).
- ``reply_tap_to_play_ms_p50``, ``plain_reply_tap_to_play_ms_p99``: context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
import gc
import io
import itertools
import logging
from pathlib import Path
import shutil
import statistics
import tempfile
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from homeassistant import loader
from homeassistant.components.camera import Camera
from homeassistant.components.media_player import (
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)
from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from PIL import Image
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_test_home_assistant,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from benchmarks import Measurement, measurement
from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_RECORD,
    CONF_RING_ENTITY,
    DOMAIN,
)

REPO = Path(__file__).resolve().parent.parent
BLUEPRINTS = REPO / "blueprints" / "automation" / "peephole"
SATELLITES = ["assist_satellite.hall", "assist_satellite.kitchen"]
RING_BLUEPRINT = "event.front_door_doorbell"
RING_PLAIN = "event.back_door_doorbell"
ROUNDS = 7
RINGS = 600  # per automation and round
QUICK_ROUNDS = 3
QUICK_RINGS = 30
WARMUP = 20


def _p(values: list[float], percentile: float) -> float:
    """Return the given percentile (nearest rank) of ``values``."""
    ranked = sorted(values)
    index = min(len(ranked) - 1, max(0, round(percentile / 100 * len(ranked)) - 1))
    return ranked[index]


class _Announcements:
    """The stand-in ``assist_satellite.announce``: notes when it is called."""

    def __init__(self) -> None:
        self.waiter: asyncio.Future[tuple[float, dict[str, Any]]] | None = None

    @callback
    def handle(self, call: ServiceCall) -> None:
        """Record the call time and data."""
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((time.perf_counter(), dict(call.data)))


async def _setup(hass: HomeAssistant, config_dir: Path) -> _Announcements:
    """Copy the blueprints, create the ring entities, the service and both automations."""
    target = config_dir / "blueprints" / "automation" / "peephole"
    await hass.async_add_executor_job(shutil.copytree, BLUEPRINTS, target)
    for entity_id in (RING_BLUEPRINT, RING_PLAIN):
        hass.states.async_set(
            entity_id,
            "unknown",
            {"device_class": "doorbell", "event_types": ["ring"]},
        )
    announcements = _Announcements()
    hass.services.async_register("assist_satellite", "announce", announcements.handle)
    now = dt_util.now()
    quiet_start = (now + timedelta(hours=2)).strftime("%H:%M:00")
    quiet_end = (now + timedelta(hours=3)).strftime("%H:%M:00")
    if not await async_setup_component(hass, "homeassistant", {}):
        raise RuntimeError("homeassistant did not set up")
    if not await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "id": "bench_blueprint",
                    "alias": "Bench blueprint",
                    "use_blueprint": {
                        "path": "peephole/announce_ring.yaml",
                        "input": {
                            "doorbell": RING_BLUEPRINT,
                            "satellites": SATELLITES,
                            "quiet_start": quiet_start,
                            "quiet_end": quiet_end,
                            "cooldown": 0,
                        },
                    },
                },
                {
                    "id": "bench_plain",
                    "alias": "Bench plain",
                    "triggers": [{"trigger": "state", "entity_id": RING_PLAIN}],
                    "actions": [
                        {
                            "action": "assist_satellite.announce",
                            "target": {"entity_id": SATELLITES},
                            "data": {"message": "Someone is at the back door."},
                        }
                    ],
                },
            ]
        },
    ):
        raise RuntimeError("automation did not set up")
    await hass.async_block_till_done()
    states = {s.entity_id: s.state for s in hass.states.async_all("automation")}
    if states != {"automation.bench_blueprint": "on", "automation.bench_plain": "on"}:
        raise RuntimeError(f"an automation is invalid: {states}")
    return announcements


async def _ring(
    hass: HomeAssistant, announcements: _Announcements, entity_id: str, seq: int
) -> float:
    """Ring once; return seconds from the state write to the announce call."""
    loop = asyncio.get_running_loop()
    announcements.waiter = loop.create_future()
    stamp = (dt_util.utcnow() + timedelta(microseconds=seq)).isoformat()
    start = time.perf_counter()
    hass.states.async_set(
        entity_id,
        stamp,
        {"device_class": "doorbell", "event_types": ["ring"], "event_type": "ring"},
    )
    called, data = await asyncio.wait_for(announcements.waiter, timeout=5)
    if data.get("entity_id") != SATELLITES:
        raise RuntimeError(f"unexpected announce call: {data}")
    # Let the run finish (cooldown delay, trace) so mode: single takes the next ring.
    await hass.async_block_till_done()
    return called - start


async def _timed_rounds(
    rounds: int,
    count: int,
    names: list[str],
    once: Callable[[str], Awaitable[float]],
) -> list[dict[str, list[float]]]:
    """Time ``once(name)`` for every name, interleaved, in rounds (GC outside)."""
    for _ in range(WARMUP):
        for name in names:
            await once(name)
    gc.collect()
    gc.freeze()
    results = []
    try:
        for _ in range(rounds):
            samples: dict[str, list[float]] = {name: [] for name in names}
            for rep in range(count):
                for name in names if rep % 2 == 0 else names[::-1]:
                    gc.collect()
                    gc.disable()
                    try:
                        elapsed = await once(name)
                    finally:
                        gc.enable()
                    samples[name].append(elapsed)
            results.append(samples)
    finally:
        gc.unfreeze()
    return results


async def _bench(rounds: int, rings: int) -> list[dict[str, list[float]]]:
    """Return each round's samples (seconds) per automation."""
    with tempfile.TemporaryDirectory(prefix="peephole-bench-") as tmp:
        async with async_test_home_assistant(config_dir=tmp) as hass:
            announcements = await _setup(hass, Path(tmp))
            entities = {"blueprint": RING_BLUEPRINT, "plain": RING_PLAIN}
            seq = itertools.count(1)
            results = await _timed_rounds(
                rounds,
                rings,
                list(entities),
                lambda name: _ring(hass, announcements, entities[name], next(seq)),
            )
            await hass.async_stop(force=True)
    return results


# --- quick replies ----------------------------------------------------------------

REPLY_RING_SOURCE = "event.bench_button"
REPLY_DOORBELL = "event.bench_doorbell"
PLAIN_ACTION = "PLAIN_REPLY"
TAPS = 300  # per automation and round
QUICK_TAPS = 20


class _Speaker(MediaPlayerEntity):
    """A speaker: notes when HA asks it to play."""

    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY_MEDIA | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
    )
    _attr_state = MediaPlayerState.IDLE

    def __init__(self, name: str) -> None:
        self._attr_name = name
        self._attr_unique_id = name
        self.waiter: asyncio.Future[tuple[float, str]] | None = None

    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Record the time and the media."""
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((time.perf_counter(), media_id))


class _Voice(TextToSpeechEntity):
    """A text-to-speech engine (never asked for audio here: nothing resolves)."""

    _attr_name = "Bench voice"
    _attr_unique_id = "bench_voice"
    _attr_default_language = "en"
    _attr_supported_languages = ["en"]  # noqa: RUF012 - HA's attribute

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """No audio is needed to ask a speaker to play."""
        return None, None


class _StillCamera(Camera):
    """The doorbell's source camera (Peephole needs one; nothing is recorded)."""

    _attr_name = "Bench"
    _attr_unique_id = "bench-camera"

    def __init__(self) -> None:
        super().__init__()
        out = io.BytesIO()
        Image.new("RGB", (320, 240), (90, 90, 90)).save(out, format="JPEG")
        self.frame = out.getvalue()

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        return self.frame


class _BenchFlow(ConfigFlow):
    VERSION = 1


def _entry_platform(entities: list[Any]) -> MockPlatform:
    async def setup(
        hass: HomeAssistant, entry: ConfigEntry, add: AddEntitiesCallback
    ) -> None:
        add(entities)

    return MockPlatform(async_setup_entry=setup)


class _Replies:
    """The quick-replies set-up: speakers, the action ids to tap."""

    def __init__(self, blueprint: _Speaker, plain: _Speaker) -> None:
        self.speakers = {"blueprint": blueprint, "plain": plain}
        self.actions = {"blueprint": "", "plain": PLAIN_ACTION}


async def _setup_replies(hass: HomeAssistant, config_dir: Path) -> _Replies:
    """Peephole on a still camera, a phone, the speakers and voice, two automations."""
    target = config_dir / "blueprints" / "automation" / "peephole"
    await hass.async_add_executor_job(shutil.copytree, BLUEPRINTS, target)
    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
    for component in ("homeassistant", "media_source", "media_player", "tts"):
        if not await async_setup_component(hass, component, {}):
            raise RuntimeError(f"{component} did not set up")
    camera = _StillCamera()

    async def setup_camera(
        hass: HomeAssistant, config: Any, add: AddEntitiesCallback, info: Any = None
    ) -> None:
        add([camera])

    mock_integration(hass, MockModule("bench_cam"))
    mock_platform(
        hass, "bench_cam.camera", MockPlatform(async_setup_platform=setup_camera)
    )
    await async_setup_component(hass, "camera", {"camera": {"platform": "bench_cam"}})
    hass.states.async_set(REPLY_RING_SOURCE, "unknown", {"event_types": ["ring"]})
    peephole = MockConfigEntry(
        domain=DOMAIN,
        title="Bench",
        data={CONF_CAMERA_ENTITY: "camera.bench", CONF_RING_ENTITY: REPLY_RING_SOURCE},
        options={CONF_RECORD: False},
    )
    peephole.add_to_hass(hass)
    if not await hass.config_entries.async_setup(peephole.entry_id):
        raise RuntimeError("Peephole did not set up")
    # The speakers and the voice, through a config entry (as integrations do).
    replies = _Replies(_Speaker("Bench speaker"), _Speaker("Plain speaker"))
    entities = {
        Platform.MEDIA_PLAYER: list(replies.speakers.values()),
        Platform.TTS: [_Voice()],
    }

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, list(entities))
        return True

    mock_integration(hass, MockModule("bench_door", async_setup_entry=setup_entry))
    mock_platform(hass, "bench_door.config_flow")
    for platform, added in entities.items():
        mock_platform(hass, f"bench_door.{platform}", _entry_platform(added))
    door = MockConfigEntry(domain="bench_door")
    door.add_to_hass(hass)
    with mock_config_flow("bench_door", _BenchFlow):
        if not await hass.config_entries.async_setup(door.entry_id):
            raise RuntimeError("the speakers did not set up")
    # A phone of the Companion app; its notify action is a stand-in.
    phone_entry = MockConfigEntry(domain="mobile_app", title="Bench phone")
    phone_entry.add_to_hass(hass)
    phone = dr.async_get(hass).async_get_or_create(
        config_entry_id=phone_entry.entry_id,
        identifiers={("mobile_app", "bench")},
        name="Bench phone",
    )
    notifications: list[ServiceCall] = []

    @callback
    def notify(call: ServiceCall) -> None:
        notifications.append(call)

    hass.services.async_register("notify", "mobile_app_bench_phone", notify)
    if not await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "id": "bench_replies",
                    "alias": "Bench replies",
                    "use_blueprint": {
                        "path": "peephole/quick_replies.yaml",
                        "input": {
                            "doorbell": REPLY_DOORBELL,
                            "notify_devices": [phone.id],
                            "speakers": ["media_player.bench_speaker"],
                            "tts_engine": "tts.bench_voice",
                        },
                    },
                },
                {
                    "id": "bench_plain_reply",
                    "alias": "Bench plain reply",
                    "triggers": [
                        {
                            "trigger": "event",
                            "event_type": "mobile_app_notification_action",
                            "event_data": {"action": PLAIN_ACTION},
                        }
                    ],
                    "actions": [
                        {
                            "action": "tts.speak",
                            "target": {"entity_id": "tts.bench_voice"},
                            "data": {
                                "media_player_entity_id": "media_player.plain_speaker",
                                "message": "I'm coming",
                            },
                        }
                    ],
                },
            ]
        },
    ):
        raise RuntimeError("automation did not set up")
    await hass.async_block_till_done()
    states = {s.entity_id: s.state for s in hass.states.async_all("automation")}
    if set(states.values()) != {"on"}:
        raise RuntimeError(f"an automation is invalid: {states}")
    # One ring: the reply buttons; tap the second ("I'm coming").
    hass.states.async_set(
        REPLY_RING_SOURCE,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"event_type": "ring", "event_types": ["ring"]},
    )
    async with asyncio.timeout(5):
        while not notifications:  # noqa: ASYNC110 - a ring crosses several loop passes
            await asyncio.sleep(0.01)
    await hass.async_block_till_done()
    buttons = {
        b["title"]: b["action"] for b in notifications[0].data["data"]["actions"]
    }
    replies.actions["blueprint"] = buttons["I'm coming"]
    return replies


async def _tap(hass: HomeAssistant, replies: _Replies, name: str) -> float:
    """Tap once; return seconds from the event to the speaker asked to play."""
    speaker = replies.speakers[name]
    speaker.waiter = asyncio.get_running_loop().create_future()
    start = time.perf_counter()
    hass.bus.async_fire(
        "mobile_app_notification_action", {"action": replies.actions[name]}
    )
    called, media_id = await asyncio.wait_for(speaker.waiter, timeout=5)
    if parse_qs(urlsplit(media_id).query).get("message") != ["I'm coming"]:
        raise RuntimeError(f"unexpected media: {media_id}")
    await hass.async_block_till_done()  # the run ends (event, phone told)
    return called - start


async def _bench_replies(rounds: int, taps: int) -> list[dict[str, list[float]]]:
    """Return each round's tap-to-play samples (seconds) per automation."""
    with tempfile.TemporaryDirectory(prefix="peephole-bench-") as tmp:
        config_dir = Path(tmp)
        (config_dir / "custom_components").mkdir()
        (config_dir / "custom_components" / DOMAIN).symlink_to(
            REPO / "custom_components" / DOMAIN
        )
        async with async_test_home_assistant(config_dir=tmp) as hass:
            replies = await _setup_replies(hass, config_dir)
            results = await _timed_rounds(
                rounds,
                taps,
                ["blueprint", "plain"],
                lambda name: _tap(hass, replies, name),
            )
            await hass.async_stop(force=True)
    return results


def _figures(
    rounds: list[dict[str, list[float]]], prefix: str
) -> Iterator[Measurement]:
    """Yield one benchmark's p99, its ratio to the plain automation, and context."""
    ratios = [
        _p(samples["blueprint"], 99) / _p(samples["plain"], 99) for samples in rounds
    ]
    blueprint_ms = [s * 1000 for samples in rounds for s in samples["blueprint"]]
    plain_ms = [s * 1000 for samples in rounds for s in samples["plain"]]
    yield measurement(f"{prefix}_ms_p99", _p(blueprint_ms, 99), "ms")
    yield measurement(f"{prefix}_vs_plain_automation", statistics.median(ratios), "x")
    yield measurement(f"{prefix}_vs_plain_round_spread", max(ratios) - min(ratios), "x")
    yield measurement(f"{prefix}_ms_p50", statistics.median(blueprint_ms), "ms")
    yield measurement(f"plain_{prefix}_ms_p99", _p(plain_ms, 99), "ms")


def run(*, quick: bool) -> Iterator[Measurement]:
    """Yield the blueprint latency figures."""
    logging.getLogger("homeassistant").setLevel(logging.WARNING)
    logging.getLogger("custom_components").setLevel(logging.WARNING)
    rounds = asyncio.run(
        _bench(QUICK_ROUNDS, QUICK_RINGS) if quick else _bench(ROUNDS, RINGS)
    )
    yield from _figures(rounds, "ring_to_announce")
    taps = asyncio.run(
        _bench_replies(QUICK_ROUNDS, QUICK_TAPS)
        if quick
        else _bench_replies(ROUNDS, TAPS)
    )
    yield from _figures(taps, "reply_tap_to_play")
