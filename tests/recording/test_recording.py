"""Clip recording end to end: real HA, real ffmpeg, a camera that draws its clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import io
import os
from pathlib import Path
import time
from typing import Any
from unittest.mock import patch

from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import numpy as np
import numpy.typing as npt
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.clips import Clip, ProbeError
from custom_components.peephole.const import (
    CONF_MIN_FREE_MB,
    CONF_ZONES,
    DOMAIN,
    EVENT_CLIP_SAVED,
    EVENT_CLIP_STARTED,
)
from tests.conftest import MOTION, RING_EVENT, SourceCamera, is_peephole_code

from .conftest import (
    CLOCK_BOTTOM,
    CLOCK_TOP,
    FPS,
    ZONE,
    assert_masked,
    clock_ticks,
    decode_clip,
    decode_packets,
    failing_writes_after,
    peephole_threads,
    read_clock,
    refused,
    ring_span,
    wait_for,
)

DOORBELL = "event.front_door_doorbell"
RECORDING = "binary_sensor.front_door_recording"
CLIPS = "sensor.front_door_clips"
STORAGE = "sensor.front_door_clip_storage_used"
LAST = "sensor.front_door_last_clip"


def _ring(hass: HomeAssistant) -> None:
    hass.states.async_set(
        RING_EVENT,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"event_type": "ring", "event_types": ["ring"]},
    )


def _fill_disk(path: Path, leave: int) -> None:
    """Fill the file system, then free ``leave`` bytes."""
    with path.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(os.urandom(4096))
        except OSError:
            pass
    size = path.stat().st_size
    os.truncate(path, max(size - leave, 0))


async def _fill_buffer(entry: MockConfigEntry, seconds: float = 1.0) -> None:
    """Wait until the pre-roll ring holds ``seconds`` of pictures."""
    await wait_for(None, lambda: ring_span(entry.runtime_data.recorder) >= seconds)


# A zone over the clock cells at the bottom of ClockCamera's frames.
CLOCK_ZONE = {"name": "Clock", "points": [[0, 0.8], [1, 0.8], [1, 1], [0, 1]]}


async def _turn_zone(
    hass: HomeAssistant, entry: MockConfigEntry, *, enabled: bool
) -> None:
    """Turn the test's zone on or off with peephole.set_zone."""
    await hass.services.async_call(
        DOMAIN,
        "set_zone",
        {"config_entry_id": entry.entry_id, "zone": ZONE["name"], "enabled": enabled},
        blocking=True,
    )
    await hass.async_block_till_done()


def _clock_hidden(frames: npt.NDArray[np.uint8]) -> bool:
    """Whether the clock is masked (one flat fill) in every frame (n, h, w, 3)."""
    return float(frames[:, CLOCK_TOP:CLOCK_BOTTOM].std(axis=(1, 2, 3)).max()) < 6


def _rgb(jpeg: bytes) -> npt.NDArray[np.uint8]:
    """Decode one JPEG to an (1, h, w, 3) array."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"))[None]


async def test_ring_records_one_masked_clip_with_pre_roll(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    recorder = init_integration.runtime_data.recorder
    started = async_capture_events(hass, EVENT_CLIP_STARTED)
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _fill_buffer(init_integration)
    assert hass.states.get(RECORDING).state == STATE_OFF
    ring_time = time.time()
    _ring(hass)
    await hass.async_block_till_done()
    # The ring names the clip that records it.
    clip_id = hass.states.get(DOORBELL).attributes["clip_id"]
    await wait_for(hass, lambda: started)
    assert started[0].data["clip_id"] == clip_id
    assert hass.states.get(RECORDING).state == STATE_ON
    await asyncio.sleep(0.5)
    _ring(hass)  # extends the clip instead of starting a second one
    await hass.async_block_till_done()
    assert hass.states.get(DOORBELL).attributes["clip_id"] == clip_id
    # Kept while it is still being recorded: indexed as kept when saved.
    await hass.services.async_call(
        DOMAIN,
        "keep_clip",
        {"config_entry_id": init_integration.entry_id, "clip_id": clip_id},
        blocking=True,
    )
    assert recorder.recording
    await wait_for(hass, lambda: saved)
    await hass.async_block_till_done()
    assert len(started) == len(saved) == 1
    data = saved[0].data
    assert data["trigger"] == "ring"
    assert data["entry_id"] == init_integration.entry_id
    assert data["camera_entity_id"] == "camera.front_door"
    assert data["incomplete"] is False
    clip = recorder.store.get(data["clip_id"])
    assert clip is not None
    assert clip.id == clip_id
    assert clip.keep
    # Pre-roll (1 s) + 0.5 s + post-roll (1 s) after the second ring.
    assert 2.2 <= clip.duration <= 3.4
    frames = decode_clip(recorder.store.clip_path(clip))
    assert_masked(frames)
    first = read_clock(frames[0])
    # The first frame is from about one pre-roll before the ring.
    assert abs(first - clock_ticks(ring_time - 1.0)) <= 3
    clocks = [read_clock(frame) for frame in frames]
    assert clocks == sorted(clocks)
    # The thumbnail is the masked frame at the ring.
    assert clip.thumbnail
    thumbnail = recorder.store.thumbnail_path(clip).read_bytes()
    assert thumbnail[:2] == b"\xff\xd8"
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert_masked(np.asarray(image.convert("RGB"))[None])
    assert hass.states.get(RECORDING).state == STATE_OFF
    assert hass.states.get(CLIPS).state == "1"
    assert int(float(hass.states.get(STORAGE).state) * 1e6) > 0
    assert hass.states.get(LAST).state == clip.start.isoformat(timespec="seconds")
    # No unmasked or temporary file anywhere.
    names = sorted(p.name for p in recorder.store.directory.iterdir())
    assert names == [f"{clip.id}.jpg", f"{clip.id}.mp4"]


async def test_motion_and_action_trigger_privacy_records_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry, source_camera: SourceCamera
) -> None:
    recorder = init_integration.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _fill_buffer(init_integration)
    hass.states.async_set(MOTION, STATE_ON)
    await wait_for(hass, lambda: saved)
    assert saved[0].data["trigger"] == "motion"
    await hass.services.async_call(
        "switch",
        "turn_on",
        {ATTR_ENTITY_ID: "switch.front_door_privacy_mode"},
        blocking=True,
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "record_clip",
            {"config_entry_id": init_integration.entry_id},
            blocking=True,
        )
    assert err.value.translation_key == "privacy_mode_on"
    _ring(hass)
    await hass.async_block_till_done()
    ring = hass.states.get(DOORBELL)
    assert ring.attributes["event_type"] == "ring"
    assert "clip_id" not in ring.attributes  # nothing records it
    await asyncio.sleep(0.5)
    assert not recorder.recording
    assert len(recorder.ring) == 0
    # Privacy mode stops the feed: the source camera is not even asked.
    assert not recorder.source.feed.running
    asked = len(source_camera.requests)
    await asyncio.sleep(0.5)
    assert len(source_camera.requests) == asked
    await hass.services.async_call(
        "switch",
        "turn_off",
        {ATTR_ENTITY_ID: "switch.front_door_privacy_mode"},
        blocking=True,
    )
    await _fill_buffer(init_integration, 0.4)
    await hass.services.async_call(
        DOMAIN,
        "record_clip",
        {"config_entry_id": init_integration.entry_id, "duration": 1},
        blocking=True,
    )
    await wait_for(hass, lambda: len(saved) == 2)
    assert saved[1].data["trigger"] == "action"
    assert len(recorder.store.clips) == 2


async def test_max_length_caps_extensions(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Triggers extend a clip up to its maximum length, then start the next clip.

    Every ring's clip (the id the ring carries) holds the ring and its post-roll.
    """
    recorder = init_integration.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _fill_buffer(init_integration)
    rings: list[tuple[float, str]] = []
    for _ in range(6):
        _ring(hass)
        await hass.async_block_till_done()
        rings.append((time.time(), hass.states.get(DOORBELL).attributes["clip_id"]))
        await asyncio.sleep(0.6)
    await wait_for(hass, lambda: len(saved) == len({clip for _, clip in rings}))
    await hass.async_block_till_done()
    # max_clip_length is 4 s (pre-roll 1 s): two clips for 6 rings over 3 s.
    assert len(saved) == 2
    assert all(event.data["duration"] <= 4.3 for event in saved)
    for ring_time, clip_id in rings:
        clip = recorder.store.get(clip_id)
        start = clip.start.timestamp()
        assert start <= ring_time
        # Its post-roll (1 s), give or take two frames of the 5 fps time grid.
        assert start + clip.duration >= ring_time + 1.0 - 0.45


async def test_a_zone_drawn_as_a_clip_starts_covers_its_pre_roll(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Pre-roll packets not yet written when the zones change are dropped.

    The clip's first write waits (its disk check is slow); a zone is drawn
    meanwhile: the clip starts at the feed's next keyframe, masked with it.
    """
    recorder = init_integration.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _fill_buffer(init_integration)
    may_write = asyncio.Event()
    real_has_room = recorder._async_has_room

    async def slow_has_room() -> bool:
        await may_write.wait()
        return await real_has_room()

    with patch.object(recorder, "_async_has_room", slow_has_room):
        _ring(hass)
        await hass.async_block_till_done()
        assert recorder.session.packets  # the pre-roll, not written yet
        hass.config_entries.async_update_entry(
            init_integration,
            options={**init_integration.options, CONF_ZONES: [ZONE, CLOCK_ZONE]},
        )
        await hass.async_block_till_done()
        may_write.set()
        await wait_for(hass, lambda: saved)
    await hass.async_block_till_done()
    clip = recorder.store.get(saved[0].data["clip_id"])
    frames = decode_clip(recorder.store.clip_path(clip))
    assert len(frames) >= 2
    assert _clock_hidden(frames)
    assert _clock_hidden(_rgb(recorder.store.thumbnail_path(clip).read_bytes()))


async def test_a_failing_write_mid_recording_keeps_a_playable_clip(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    recorder = init_integration.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _fill_buffer(init_integration)
    with failing_writes_after(2.5):
        await hass.services.async_call(
            DOMAIN,
            "record_clip",
            {"config_entry_id": init_integration.entry_id, "duration": 30},
            blocking=True,
        )
        await wait_for(hass, lambda: saved)
    assert saved[0].data["incomplete"] is True
    clip = recorder.store.get(saved[0].data["clip_id"])
    assert clip.incomplete
    assert clip.duration >= 1
    assert_masked(decode_clip(recorder.store.clip_path(clip)))
    assert not list(recorder.store.directory.glob("*.partial.mp4"))
    assert not recorder.recording


async def test_clip_ffmpeg_cannot_check_is_left_for_the_next_start(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A write fails, and the check of what was written times out: nothing goes.

    The partial clip stays (and its thumbnail); the next start indexes it.
    """
    recorder = init_integration.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _fill_buffer(init_integration)

    async def cannot_tell(path: Path) -> float | None:
        raise ProbeError("ffmpeg took more than 30 s")

    with failing_writes_after(2.5), patch.object(recorder, "async_probe", cannot_tell):
        clip_id = recorder.async_trigger("action", 30)
        await wait_for(hass, lambda: clip_id not in recorder._unsaved)
    assert not saved
    assert recorder.store.get(clip_id) is None
    directory = recorder.store.directory
    assert (directory / f"{clip_id}.partial.mp4").is_file()
    assert (directory / f"{clip_id}.jpg").is_file()
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    clip = init_integration.runtime_data.recorder.store.get(clip_id)
    assert clip is not None
    assert clip.incomplete
    assert clip.thumbnail
    assert clip.trigger == "action"  # from its pending record
    assert_masked(decode_clip(recorder.store.clip_path(clip)))


async def test_restart_mid_recording_reconciles(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Unload leaves the clip being written (as a crash would); start-up indexes it."""
    recorder = init_integration.runtime_data.recorder
    directory = recorder.store.directory
    await _fill_buffer(init_integration)
    await hass.services.async_call(
        DOMAIN,
        "record_clip",
        {"config_entry_id": init_integration.entry_id, "duration": 30},
        blocking=True,
    )
    await wait_for(hass, lambda: recorder.session and recorder.session.writer)
    await asyncio.sleep(2.5)
    clip_id = recorder.session.clip_id
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: not peephole_threads())
    assert (directory / f"{clip_id}.partial.mp4").exists()
    # Garbage from a crash: an unplayable partial, a temp file, a lost index entry.
    (directory / "20240101T000000-00000000.partial.mp4").write_bytes(b"\0" * 100)
    (directory / "20240101T000000-00000001.jpg.tmp").write_bytes(b"x")
    (directory / "notes.txt").write_text("not ours")
    ghost = Clip(
        id="20240101T000000-0000000f",
        start=dt_util.utcnow(),
        duration=3,
        size=10,
        trigger="ring",
    )
    await recorder.store.async_add(ghost)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    store = init_integration.runtime_data.recorder.store
    assert list(store.clips) == [clip_id]
    assert store.clips[clip_id].incomplete
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f"{clip_id}.mp4", f"{clip_id}.jpg", "notes.txt"]
    )
    assert_masked(decode_clip(store.clip_path(store.clips[clip_id])))


@pytest.mark.parametrize("recording_options_extra", [{CONF_MIN_FREE_MB: 10**7}])
async def test_no_room_raises_a_repair_issue(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    recording_options_extra: dict[str, Any],
) -> None:
    hass.config_entries.async_update_entry(
        init_integration,
        options={**init_integration.options, **recording_options_extra},
    )
    await hass.async_block_till_done()
    recorder = init_integration.runtime_data.recorder
    _ring(hass)
    await hass.async_block_till_done()
    # The ring gave out a clip id (free space is only known once it is checked).
    clip_id = hass.states.get(DOORBELL).attributes["clip_id"]
    issue_id = f"disk_full_{init_integration.entry_id}"
    await wait_for(hass, lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id))
    await hass.async_block_till_done()
    assert not recorder.recording
    assert not recorder.store.clips
    # A notification's Keep button for that ring says why there is nothing to keep.
    ids = {"config_entry_id": init_integration.entry_id, "clip_id": clip_id}
    for action, extra in (("keep_clip", {"keep": True}), ("delete_clip", {})):
        error = await refused(hass, action, ids | extra)
        assert error.translation_key == "clip_not_recorded_disk_full"
        assert error.translation_placeholders == {
            "clip_id": clip_id,
            "name": init_integration.title,
            "path": str(recorder.store.directory),
        }
    # An id that was never given out is only unknown.
    never = ids | {"clip_id": "20240101T000000-00000000", "keep": True}
    assert (await refused(hass, "keep_clip", never)).translation_key == "unknown_clip"

    # Now that the disk is known to be full, a ring gives no clip id (no Keep
    # button for a clip that cannot start), and record_clip says why.
    assert recorder.disk_full
    first_ring = hass.states.get(DOORBELL).state
    _ring(hass)
    await hass.async_block_till_done()
    assert hass.states.get(DOORBELL).state != first_ring  # it rang
    assert "clip_id" not in hass.states.get(DOORBELL).attributes
    with pytest.raises(HomeAssistantError) as failed:
        await hass.services.async_call(
            DOMAIN,
            "record_clip",
            {"config_entry_id": init_integration.entry_id},
            blocking=True,
        )
    assert failed.value.translation_key == "disk_full"
    assert "not enough free disk space" in str(failed.value)
    assert not recorder.recording
    # Room again (as if the owner freed space: the threshold drops below what is
    # free): that ring's check found nothing yet, the next one finds room, the
    # repair issue goes, and the ring after it records.
    recorder.settings = replace(recorder.settings, min_free=0)
    _ring(hass)
    await wait_for(hass, lambda: not recorder.disk_full)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await _fill_buffer(init_integration)
    _ring(hass)
    await wait_for(hass, lambda: recorder.recording)
    assert hass.states.get(DOORBELL).attributes["clip_id"]


async def test_full_disk_stops_cleanly(
    hass: HomeAssistant, init_integration: MockConfigEntry, clips_dir: Path
) -> None:
    """A real full disk (a 256 kB tmpfs) mid-recording: issue raised, index intact."""
    recorder = init_integration.runtime_data.recorder
    directory = recorder.store.directory
    directory.mkdir(parents=True, exist_ok=True)
    if os.system(f"mount -t tmpfs -o size=256k tmpfs {directory}") != 0:  # noqa: S605, ASYNC221
        pytest.skip("cannot mount a tmpfs here")
    try:
        saved = async_capture_events(hass, EVENT_CLIP_SAVED)
        _fill_disk(directory / "filler", leave=4096)
        await _fill_buffer(init_integration)
        await hass.services.async_call(
            DOMAIN,
            "record_clip",
            {"config_entry_id": init_integration.entry_id, "duration": 4},
            blocking=True,
        )
        issue_id = f"disk_full_{init_integration.entry_id}"
        await wait_for(
            hass, lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id), 30
        )
        await wait_for(hass, lambda: not recorder.recording)
        await hass.async_block_till_done()
        for clip in recorder.store.clips.values():
            assert saved
            assert clip.incomplete
            decode_clip(recorder.store.clip_path(clip))
        assert not list(directory.glob("*.partial.mp4"))
    finally:
        await hass.config_entries.async_unload(init_integration.entry_id)
        await hass.async_block_till_done()
        # (lazily if a file there is still open: the mount must not outlive the test)
        if os.system(f"umount {directory}") != 0:  # noqa: S605, ASYNC221
            os.system(f"umount -l {directory}")  # noqa: S605, ASYNC221


async def test_turning_recording_off_forgets_its_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The recording entities go away with recording (not left unavailable)."""
    from homeassistant.helpers import entity_registry as er

    recording_entities = {
        "binary_sensor.front_door_recording",
        "sensor.front_door_clips",
        "sensor.front_door_clip_storage_used",
        "sensor.front_door_last_clip",
    }
    registry = er.async_get(hass)
    assert all(registry.async_get(e) for e in recording_entities)
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, "record": False}
    )
    await hass.async_block_till_done()
    assert init_integration.runtime_data.recorder is None
    assert not [e for e in recording_entities if registry.async_get(e)]
    assert registry.async_get("sensor.front_door_dropped_frames") is not None


async def test_live_view_rides_on_the_feed(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    source_camera: SourceCamera,
) -> None:
    """While recording, stills reuse the feed's masked frames: one poller, not two."""
    peephole = init_integration.runtime_data
    assert peephole.reuse_for == pytest.approx(1 / FPS)
    await _fill_buffer(init_integration)
    client = await hass_client()
    before = len(source_camera.requests)
    started = time.monotonic()
    stills = []
    for _ in range(20):
        response = await client.get("/api/camera_proxy/camera.front_door")
        stills.append(await response.read())
        await asyncio.sleep(0.05)
    seconds = time.monotonic() - started
    # The feed asks FPS times a second; 20 stills add (almost) nothing to that.
    assert len(source_camera.requests) - before <= seconds * FPS + 3
    assert len(set(stills)) >= seconds * FPS / 2  # still live, not one frozen frame
    with Image.open(io.BytesIO(stills[-1])) as image:
        assert_masked(np.asarray(image.convert("RGB"))[None])


async def test_a_new_zone_covers_the_pre_roll_too(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Frames masked before a zone was drawn never go into a clip (nor stay buffered)."""
    recorder = init_integration.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _fill_buffer(init_integration)
    hass.config_entries.async_update_entry(
        init_integration,
        options={**init_integration.options, CONF_ZONES: [ZONE, CLOCK_ZONE]},
    )
    await hass.async_block_till_done()
    assert init_integration.runtime_data.recorder is recorder  # applied live

    # Everything buffered from now on was masked with the new zone.
    await _fill_buffer(init_integration, 0.6)
    assert _clock_hidden(decode_packets(list(recorder.ring)))
    _ring(hass)
    await wait_for(hass, lambda: saved)
    await hass.async_block_till_done()
    clip = recorder.store.get(saved[0].data["clip_id"])
    frames = decode_clip(recorder.store.clip_path(clip))
    assert len(frames) >= 0.6 * FPS
    assert _clock_hidden(frames)


async def test_unload_while_recording_leaves_nothing_behind(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """No task, timer, listener or thread is left once the entry is unloaded mid-clip."""
    recorder = init_integration.runtime_data.recorder

    def peephole_tasks() -> list[asyncio.Task[Any]]:
        return [
            task
            for task in asyncio.all_tasks()
            if not task.done() and task.get_name().startswith("peephole")
        ]

    def peephole_timers() -> list[asyncio.TimerHandle]:
        """Timers whose callback (or the action of HA's interval tracker) is ours."""

        def ours(handle: asyncio.TimerHandle) -> bool:
            callback = handle._callback
            owner = getattr(callback, "__self__", None)
            return is_peephole_code(callback) or is_peephole_code(
                getattr(owner, "action", None)
            )

        return [
            handle
            for handle in hass.loop._scheduled
            if not handle.cancelled() and ours(handle)
        ]

    await _fill_buffer(init_integration)
    _ring(hass)
    await wait_for(hass, lambda: recorder.session and recorder.session.writer)
    assert peephole_threads()  # the encoder
    assert peephole_tasks()  # the feed and the clip
    assert peephole_timers()  # the retention interval
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: not peephole_threads())
    await wait_for(hass, lambda: not peephole_tasks())
    assert peephole_timers() == []
    # Nothing listens any more: motion and a ring start no clip.
    started = async_capture_events(hass, EVENT_CLIP_STARTED)
    hass.states.async_set(MOTION, STATE_ON)
    _ring(hass)
    await asyncio.sleep(0.5)
    assert started == []


async def test_turning_a_zone_off_keeps_the_pre_roll(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Less masking needs no new pre-roll: the frames made before are kept."""
    recorder = init_integration.runtime_data.recorder
    await _fill_buffer(init_integration)
    newest = recorder.ring.latest  # (the oldest may age out meanwhile)
    await _turn_zone(hass, init_integration, enabled=False)
    assert not init_integration.runtime_data.zones[0].enabled
    assert newest in list(recorder.ring)
    # Turning it on again masks more: the pre-roll made without it goes.
    await _turn_zone(hass, init_integration, enabled=True)
    assert newest not in list(recorder.ring)
