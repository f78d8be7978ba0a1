"""Peephole on a camera that streams: full-rate, masked clips; privacy; stream loss.

A real HA core; a camera entity whose ``stream_source()`` is a real stream served
on 127.0.0.1 (RTSP, HLS, MJPEG over HTTP, from tools.streams) playing a scene whose
every frame differs and carries its number; Peephole records from it with a zone
over the scene's canary. Clips are decoded frame by frame: every picture distinct
and in order, at the source's rate, no canary, the pre-roll without a gap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import replace
import io
import itertools
import time
from typing import Any
from unittest.mock import patch

import av
from homeassistant.components.camera import Camera, CameraEntityFeature
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_capture_events,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole import pipeline
from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_FEED_FPS,
    CONF_LIVE_CAMERA,
    CONF_MAX_CLIP_LENGTH,
    CONF_MIN_FREE_MB,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
    CONF_RING_ENTITY,
    CONF_ZONES,
    DOMAIN,
    EVENT_CLIP_SAVED,
)
from tools.streams import (
    HlsServer,
    MjpegServer,
    RtspServer,
    SceneClip,
    StreamSource,
    canary_rect,
    canary_visible,
    decode_frame_number,
    render_scene,
)

from .conftest import SPEC

CAMERA = "camera.street_cam"
RING = "event.street_cam_button"
DOORBELL = "event.front_door_doorbell"
PRIVACY = "switch.front_door_privacy_mode"


def _canary_zone() -> dict[str, Any]:
    x0, y0, x1, y1 = canary_rect(SPEC.width, SPEC.height)
    w, h = SPEC.width, SPEC.height
    return {
        "name": "Canary",
        "points": [
            [x0 / w, y0 / h],
            [x1 / w, y0 / h],
            [x1 / w, y1 / h],
            [x0 / w, y1 / h],
        ],
    }


class StreamCamera(Camera):
    """A camera whose stream is a URL (as RTSP/ONVIF/generic cameras offer)."""

    _attr_name = "Street cam"
    _attr_unique_id = "street-cam"
    _attr_supported_features = CameraEntityFeature.STREAM

    def __init__(self) -> None:
        """No URL until the test sets one."""
        super().__init__()
        self.url: str | None = None
        self.stills = 0

    async def stream_source(self) -> str | None:
        """Return the stream's URL."""
        return self.url

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """A still (Peephole must not need it: it reads the stream)."""
        self.stills += 1
        return None


@pytest.fixture
def camera() -> StreamCamera:
    """The streaming source camera."""
    return StreamCamera()


@pytest.fixture
def sub_camera() -> StreamCamera:
    """The same camera's sub-stream (a second entity, as Reolink or UniFi offer)."""
    sub = StreamCamera()
    sub._attr_name = "Street cam sub"
    sub._attr_unique_id = "street-cam-sub"
    return sub


@pytest.fixture
async def setup_camera(
    hass: HomeAssistant, camera: StreamCamera, sub_camera: StreamCamera
) -> StreamCamera:
    """Add the camera entities to HA (through a test platform) and a ring source."""

    async def _setup_platform(
        hass: HomeAssistant,
        config: Any,
        async_add_entities: AddEntitiesCallback,
        discovery_info: Any = None,
    ) -> None:
        async_add_entities([camera, sub_camera])

    mock_integration(hass, MockModule("street_cam"))
    mock_platform(
        hass, "street_cam.camera", MockPlatform(async_setup_platform=_setup_platform)
    )
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass, Platform.CAMERA, {Platform.CAMERA: {"platform": "street_cam"}}
    )
    await hass.async_block_till_done()
    hass.states.async_set(RING, "unknown", {"event_types": ["ring"]})
    return camera


async def _start(
    hass: HomeAssistant, camera: StreamCamera, source: StreamSource, url: str
) -> MockConfigEntry:
    """Point the camera at ``url`` and set Peephole up on it (recording on)."""
    camera.url = url
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data={CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: RING},
        options={
            CONF_RECORD: True,
            CONF_PRE_ROLL: 1.0,
            CONF_POST_ROLL: 1.5,
            CONF_MAX_CLIP_LENGTH: 20.0,
            CONF_FEED_FPS: 5,  # the stills rate: a stream goes at its own
            CONF_MIN_FREE_MB: 0,
            CONF_ZONES: [_canary_zone()],
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _until(predicate: Any, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polls state, not an event
            await asyncio.sleep(0.05)


def _ring(hass: HomeAssistant) -> None:
    hass.states.async_set(
        RING,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"event_type": "ring", "event_types": ["ring"]},
    )


def _ring_span(entry: MockConfigEntry) -> float:
    packets = list(entry.runtime_data.recorder.ring)
    return packets[-1].time - packets[0].time if packets else 0.0


def _decode(path: Any) -> tuple[list[int | None], list[float], int]:
    """Frame numbers, timestamps and canary sightings of a clip (blocking)."""
    numbers: list[int | None] = []
    times: list[float] = []
    canaries = 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            numbers.append(decode_frame_number(rgb))
            times.append(float(frame.time))
            canaries += canary_visible(rgb)
    return numbers, times, canaries


def _assert_every_picture_distinct(numbers: list[int | None], clip: SceneClip) -> None:
    """Each picture is the next frame of the scene (modulo its loop): none repeated."""
    assert None not in numbers, numbers
    steps = [(b - a) % clip.spec.frames for a, b in itertools.pairwise(numbers)]
    assert all(step == 1 for step in steps), numbers


@pytest.fixture
async def rtsp_source(
    socket_enabled: None, clip: SceneClip
) -> AsyncGenerator[RtspServer]:
    """An RTSP server playing the scene."""
    async with RtspServer(clip) as server:
        yield server


async def test_a_ring_records_every_picture_of_the_stream_masked(
    hass: HomeAssistant,
    setup_camera: StreamCamera,
    rtsp_source: RtspServer,
    clip: SceneClip,
) -> None:
    """Clip at the source's rate, every frame distinct, pre-roll without a gap."""
    entry = await _start(hass, setup_camera, rtsp_source, rtsp_source.url())
    recorder = entry.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _until(lambda: _ring_span(entry) >= 1.0)
    ring_time = time.time()
    _ring(hass)
    await hass.async_block_till_done()
    clip_id = hass.states.get(DOORBELL).attributes["clip_id"]
    await _until(lambda: saved)
    stored = recorder.store.get(clip_id)
    numbers, times, canaries = await hass.async_add_executor_job(
        _decode, recorder.store.clip_path(stored)
    )
    _assert_every_picture_distinct(numbers, clip)
    assert canaries == 0
    # At the source's own rate, whatever the stills rate option says (5).
    fps = (len(times) - 1) / (times[-1] - times[0])
    assert fps == pytest.approx(SPEC.fps, rel=0.05)
    # It holds the pre-roll (1 s, from a keyframe at or before) and the post-roll.
    assert stored.start.timestamp() <= ring_time - 1.0 + 0.05
    assert stored.start.timestamp() + stored.duration >= ring_time + 1.5 - 0.2
    assert stored.duration == pytest.approx(
        times[-1] - times[0] + 1 / SPEC.fps, abs=0.1
    )
    # The source camera was never asked for a still: Peephole reads its stream.
    assert setup_camera.stills == 0
    stats = entry.runtime_data.source.stats.as_dict()
    assert stats["source_mode"] == "stream"
    assert stats["codec"] == "h264"
    assert stats["resolution"] == f"{SPEC.width}x{SPEC.height}"
    assert stats["source_fps"] == SPEC.fps


async def test_privacy_mode_closes_the_stream(
    hass: HomeAssistant,
    setup_camera: StreamCamera,
    rtsp_source: RtspServer,
) -> None:
    """Privacy mode: no connection to the camera at all; off again: it reconnects."""
    entry = await _start(hass, setup_camera, rtsp_source, rtsp_source.url())
    await _until(lambda: rtsp_source.clients == 1 and _ring_span(entry) > 0.5)
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    await _until(lambda: rtsp_source.clients == 0, pipeline.READ_TIMEOUT + 5)
    assert len(entry.runtime_data.recorder.ring) == 0
    assert not entry.runtime_data.source.feed.running
    await asyncio.sleep(1)
    assert rtsp_source.clients == 0
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    await _until(lambda: rtsp_source.clients == 1 and _ring_span(entry) > 0.5)


async def test_stream_loss_ends_the_clip_and_recording_resumes(
    hass: HomeAssistant,
    setup_camera: StreamCamera,
    rtsp_source: RtspServer,
    clip: SceneClip,
) -> None:
    """The camera drops off mid-clip: the clip ends, plays; the next one records."""
    with patch.object(pipeline, "BACKOFF_FIRST", 0.5):
        entry = await _start(hass, setup_camera, rtsp_source, rtsp_source.url())
        recorder = entry.runtime_data.recorder
        saved = async_capture_events(hass, EVENT_CLIP_SAVED)
        await _until(lambda: _ring_span(entry) >= 1.0)
        await hass.services.async_call(
            DOMAIN,
            "record_clip",
            {"config_entry_id": entry.entry_id, "duration": 30},
            blocking=True,
        )
        await asyncio.sleep(2)
        rtsp_source.refuse_connections(3)
        rtsp_source.drop_clients()
        await _until(lambda: saved)
        first = recorder.store.get(saved[0].data["clip_id"])
        assert first.duration < 10  # ended at the loss, not after 30 s
        numbers, _, canaries = await hass.async_add_executor_job(
            _decode, recorder.store.clip_path(first)
        )
        _assert_every_picture_distinct(numbers, clip)
        assert canaries == 0
        # The camera is back: the pre-roll refills and a ring records again.
        await _until(lambda: _ring_span(entry) >= 1.0, 30)
        assert entry.runtime_data.source.stats.reconnects >= 1
        _ring(hass)
        await _until(lambda: len(saved) == 2)
        second = recorder.store.get(saved[1].data["clip_id"])
        numbers, _, canaries = await hass.async_add_executor_job(
            _decode, recorder.store.clip_path(second)
        )
        _assert_every_picture_distinct(numbers, clip)
        assert canaries == 0


@pytest.mark.parametrize("kind", ["hls", "mjpeg"])
async def test_hls_and_mjpeg_sources(
    hass: HomeAssistant,
    socket_enabled: None,
    setup_camera: StreamCamera,
    clip: SceneClip,
    kind: str,
) -> None:
    """Other stream kinds: HLS playlists and MJPEG over HTTP record the same way."""
    server: StreamSource = HlsServer(clip) if kind == "hls" else MjpegServer(clip)
    async with server:
        url = server.playlist_url if isinstance(server, HlsServer) else server.mjpeg_url
        entry = await _start(hass, setup_camera, server, url)
        recorder = entry.runtime_data.recorder
        saved = async_capture_events(hass, EVENT_CLIP_SAVED)
        await _until(lambda: _ring_span(entry) >= 1.0, 60)
        _ring(hass)
        await _until(lambda: saved)
        stored = recorder.store.get(saved[0].data["clip_id"])
        numbers, times, canaries = await hass.async_add_executor_job(
            _decode, recorder.store.clip_path(stored)
        )
        _assert_every_picture_distinct(numbers, clip)
        assert canaries == 0
        assert len(times) >= 2 * SPEC.fps
        codec = "mjpeg" if kind == "mjpeg" else "h264"
        assert entry.runtime_data.source.stats.codec == codec


async def test_live_view_is_the_masked_stream(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_camera: StreamCamera,
    rtsp_source: RtspServer,
) -> None:
    """The masked camera's stills come from the same masked pictures, live."""
    await _start(hass, setup_camera, rtsp_source, rtsp_source.url())
    client = await hass_client()
    seen: list[int | None] = []
    for _ in range(8):
        response = await client.get("/api/camera_proxy/camera.front_door")
        assert response.status == 200
        jpeg = await response.read()
        with av.open(io.BytesIO(jpeg)) as container:
            rgb = next(container.decode(video=0))
        picture = rgb.to_ndarray(format="rgb24")
        assert not canary_visible(picture)
        seen.append(decode_frame_number(picture))
        await asyncio.sleep(0.2)
    assert None not in seen
    assert len(set(seen)) >= 6  # live pictures, not one frozen keyframe
    assert setup_camera.stills == 0
    assert np.all(np.diff([n for n in seen if n is not None]) != 0)


async def test_a_sub_stream_feeds_the_live_view(
    hass: HomeAssistant,
    socket_enabled: None,
    hass_client: ClientSessionGenerator,
    setup_camera: StreamCamera,
    sub_camera: StreamCamera,
    clip: SceneClip,
    scene_dir: Any,
) -> None:
    """With a live view camera (the camera's sub-stream), clips stay full size."""
    sub_clip = render_scene(replace(SPEC, width=320, height=180), scene_dir).load()
    async with RtspServer({"/main": clip, "/sub": sub_clip}) as server:
        sub_camera.url = server.url("/sub")
        setup_camera.url = server.url("/main")
        entry = await _start(hass, setup_camera, server, server.url("/main"))
        hass.config_entries.async_update_entry(
            entry,
            options={**entry.options, CONF_LIVE_CAMERA: "camera.street_cam_sub"},
        )
        await hass.async_block_till_done()
        entry = hass.config_entries.async_get_entry(entry.entry_id)
        client = await hass_client()
        response = await client.get("/api/camera_proxy/camera.front_door")
        assert response.status == 200
        with av.open(io.BytesIO(await response.read())) as container:
            live = next(container.decode(video=0))
        assert (live.width, live.height) == (320, 180)
        assert not canary_visible(live.to_ndarray(format="rgb24"))
        peephole = entry.runtime_data
        await _until(lambda: _ring_span(entry) >= 1.0)
        assert (peephole.source.stats.width, peephole.source.stats.height) == (
            SPEC.width,
            SPEC.height,
        )
        assert peephole.live_source.stats.width == 320
        assert sub_camera.stills == setup_camera.stills == 0
