"""Peephole on a camera that streams: full-rate, masked clips; privacy; stream loss.

A real HA core; a camera entity whose ``stream_source()`` is a real stream served
on 127.0.0.1 (RTSP, HLS, MJPEG over HTTP, from tools.streams) playing a scene whose
every frame differs and carries its number; Peephole records from it with a zone
over the scene's canary. Clips are decoded frame by frame: every picture distinct
and in order, at the source's rate, no canary, the pre-roll without a gap.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import io
import itertools
import time
from typing import Any
from unittest.mock import patch

import av
from homeassistant.const import ATTR_ENTITY_ID, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole import pipeline
from custom_components.peephole.const import (
    CONF_LIVE_CAMERA,
    DOMAIN,
    EVENT_CLIP_SAVED,
)
from tools.streams import (
    HlsServer,
    MjpegServer,
    RtspServer,
    SceneClip,
    StreamSource,
    canary_visible,
    decode_frame_number,
    render_scene,
)

from .conftest import SPEC
from .peephole import (
    DOORBELL,
    PRIVACY,
    StreamCamera,
    ring,
    ring_span,
    start_peephole,
    until,
)


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


async def test_a_ring_records_every_picture_of_the_stream_masked(
    hass: HomeAssistant,
    setup_camera: StreamCamera,
    rtsp: RtspServer,
    clip: SceneClip,
) -> None:
    """Clip at the source's rate, every frame distinct, pre-roll without a gap."""
    entry = await start_peephole(hass, setup_camera, rtsp, rtsp.url())
    recorder = entry.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await until(lambda: ring_span(entry) >= 1.0)
    ring_time = time.time()
    ring(hass)
    await hass.async_block_till_done()
    clip_id = hass.states.get(DOORBELL).attributes["clip_id"]
    await until(lambda: saved)
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
    rtsp: RtspServer,
) -> None:
    """Privacy mode: no connection to the camera at all; off again: it reconnects."""
    entry = await start_peephole(hass, setup_camera, rtsp, rtsp.url())
    await until(lambda: rtsp.clients == 1 and ring_span(entry) > 0.5)
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    await until(lambda: rtsp.clients == 0, pipeline.READ_TIMEOUT + 5)
    assert len(entry.runtime_data.recorder.ring) == 0
    assert not entry.runtime_data.source.feed.running
    await asyncio.sleep(1)
    assert rtsp.clients == 0
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    await until(lambda: rtsp.clients == 1 and ring_span(entry) > 0.5)


async def test_stream_loss_ends_the_clip_and_recording_resumes(
    hass: HomeAssistant,
    setup_camera: StreamCamera,
    rtsp: RtspServer,
    clip: SceneClip,
) -> None:
    """The camera drops off mid-clip: the clip ends, plays; the next one records."""
    with patch.object(pipeline, "BACKOFF_FIRST", 0.5):
        entry = await start_peephole(hass, setup_camera, rtsp, rtsp.url())
        recorder = entry.runtime_data.recorder
        saved = async_capture_events(hass, EVENT_CLIP_SAVED)
        await until(lambda: ring_span(entry) >= 1.0)
        await hass.services.async_call(
            DOMAIN,
            "record_clip",
            {"config_entry_id": entry.entry_id, "duration": 30},
            blocking=True,
        )
        await asyncio.sleep(2)
        rtsp.refuse_connections(3)
        rtsp.drop_clients()
        await until(lambda: saved)
        first = recorder.store.get(saved[0].data["clip_id"])
        assert first.duration < 10  # ended at the loss, not after 30 s
        numbers, _, canaries = await hass.async_add_executor_job(
            _decode, recorder.store.clip_path(first)
        )
        _assert_every_picture_distinct(numbers, clip)
        assert canaries == 0
        # The camera is back: the pre-roll refills and a ring records again.
        await until(lambda: ring_span(entry) >= 1.0, 30)
        assert entry.runtime_data.source.stats.reconnects >= 1
        ring(hass)
        await until(lambda: len(saved) == 2)
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
        entry = await start_peephole(hass, setup_camera, server, url)
        recorder = entry.runtime_data.recorder
        saved = async_capture_events(hass, EVENT_CLIP_SAVED)
        await until(lambda: ring_span(entry) >= 1.0, 60)
        ring(hass)
        await until(lambda: saved)
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
    rtsp: RtspServer,
) -> None:
    """The masked camera's stills come from the same masked pictures, live."""
    await start_peephole(hass, setup_camera, rtsp, rtsp.url())
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
        entry = await start_peephole(hass, setup_camera, server, server.url("/main"))
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
        await until(lambda: ring_span(entry) >= 1.0)
        assert (peephole.source.stats.width, peephole.source.stats.height) == (
            SPEC.width,
            SPEC.height,
        )
        assert peephole.live_source.stats.width == 320
        assert sub_camera.stills == setup_camera.stills == 0


async def test_mjpeg_live_view_at_the_streams_rate(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_camera: StreamCamera,
    rtsp: RtspServer,
    clip: SceneClip,
) -> None:
    """The masked camera's MJPEG gives every masked picture of the stream."""
    entry = await start_peephole(hass, setup_camera, rtsp, rtsp.url())
    # Past the stream's start (a new RTSP client gets its first GOP in a burst).
    await until(lambda: ring_span(entry) >= 1.5)
    client = await hass_client()
    response = await client.get("/api/camera_proxy_stream/camera.front_door")
    assert response.status == 200
    data = b""
    started = None
    async with asyncio.timeout(30):
        while data.count(b"\xff\xd9") < 3 * SPEC.fps:
            data += await response.content.readany()
            if started is None and b"\xff\xd9" in data:
                started = time.monotonic()
    seconds = time.monotonic() - started
    response.close()
    jpegs = [
        part[part.index(b"\xff\xd8") :]
        for part in data.split(b"--frameboundary")
        if b"\xff\xd8" in part and b"\xff\xd9" in part
    ]
    numbers = []
    for jpeg in jpegs[1:-1]:  # (HA's MJPEG sends its first picture twice)
        with av.open(io.BytesIO(jpeg[: jpeg.rindex(b"\xff\xd9") + 2])) as container:
            rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
        assert not canary_visible(rgb)
        numbers.append(decode_frame_number(rgb))
    assert None not in numbers
    steps = [(b - a) % clip.spec.frames for a, b in itertools.pairwise(numbers)]
    assert all(step == 1 for step in steps), numbers  # every picture, no repeats
    assert len(jpegs) / seconds >= 0.8 * SPEC.fps


async def test_home_assistant_stopping_saves_the_clip_and_leaves_the_camera(
    hass: HomeAssistant,
    setup_camera: StreamCamera,
    rtsp: RtspServer,
    clip: SceneClip,
) -> None:
    """HA stops (its entries stay loaded): the clip is saved, the stream closed."""
    entry = await start_peephole(hass, setup_camera, rtsp, rtsp.url())
    recorder = entry.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await until(lambda: ring_span(entry) >= 1.0)
    await hass.services.async_call(
        DOMAIN,
        "record_clip",
        {"config_entry_id": entry.entry_id, "duration": 60},
        blocking=True,
    )
    await asyncio.sleep(1)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await until(lambda: saved, 10)
    stored = recorder.store.get(saved[0].data["clip_id"])
    assert not stored.incomplete
    assert stored.duration < 10
    await until(lambda: rtsp.clients == 0, pipeline.READ_TIMEOUT + 5)
    await asyncio.sleep(1)
    assert rtsp.clients == 0  # and it does not come back
