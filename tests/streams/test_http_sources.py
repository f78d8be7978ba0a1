"""The MJPEG and HLS sources, read for real by PyAV, the ffmpeg CLI and aiohttp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import io
import itertools
import time

import aiohttp
import numpy as np
from PIL import Image
import pytest

from tools.streams import (
    HlsServer,
    MjpegServer,
    SceneClip,
    canary_visible,
    decode_frame_number,
)

from .common import (
    Progress,
    assert_consecutive,
    assert_keyframes,
    assert_real_time,
    jump,
    read_ffmpeg,
    read_pyav,
)
from .conftest import SPEC


@pytest.fixture
async def mjpeg(socket_enabled: None, clip: SceneClip) -> AsyncGenerator[MjpegServer]:
    """An MJPEG source playing the test scene."""
    async with MjpegServer(clip) as server:
        yield server


@pytest.fixture
async def hls(socket_enabled: None, clip: SceneClip) -> AsyncGenerator[HlsServer]:
    """A live HLS source playing the test scene."""
    async with HlsServer(clip) as server:
        yield server


def _silence(arrivals: list[float]) -> float:
    return max(b - a for a, b in itertools.pairwise(arrivals))


# --- MJPEG ----------------------------------------------------------------------------


async def test_mjpeg_pyav_reads_every_frame_in_real_time(mjpeg: MjpegServer) -> None:
    """PyAV: every frame, one by one, at the source's rate; then nobody connected."""
    reading = await asyncio.to_thread(read_pyav, mjpeg.mjpeg_url, 45)
    assert reading.ended == "count"
    assert_consecutive(reading, SPEC)
    assert_real_time(reading, SPEC.fps)
    assert all(frame.keyframe for frame in reading.frames)
    async with asyncio.timeout(5):
        await mjpeg.wait_for_clients(0)
    async with asyncio.timeout(5):
        while mjpeg.active_streams:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    assert mjpeg.requests[MjpegServer.MJPEG_PATH] == 1


async def test_mjpeg_ffmpeg_cli_reads_every_frame(mjpeg: MjpegServer) -> None:
    """The ffmpeg CLI: the same pictures, one by one, in real time."""
    reading, code, stderr = await read_ffmpeg(mjpeg.mjpeg_url, 45, SPEC.size)
    assert code == 0, stderr
    assert_consecutive(reading, SPEC)
    assert_real_time(reading, SPEC.fps)


async def test_mjpeg_snapshot_is_the_live_frame(mjpeg: MjpegServer) -> None:
    """The still URL answers the live frame, with the canary visible."""
    async with aiohttp.ClientSession() as session:
        await asyncio.sleep(0.5)
        async with session.get(mjpeg.snapshot_url) as response:
            assert response.status == 200
            assert response.content_type == "image/jpeg"
            body = await response.read()
        live = mjpeg.clock.frame_at()
    picture = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    number = decode_frame_number(picture)
    assert number is not None
    assert live - 2 <= number <= live
    assert canary_visible(picture)


async def test_mjpeg_basic_auth(socket_enabled: None, clip: SceneClip) -> None:
    """With credentials the stream plays; without, 401 and no picture."""
    async with MjpegServer(clip, username="viewer", password="pw") as server:  # noqa: S106
        reading = await asyncio.to_thread(read_pyav, server.mjpeg_url, 5)
        assert reading.ended == "count"
        reading = await asyncio.to_thread(read_pyav, server.url(credentials=False), 5)
        assert reading.frames == []
        assert reading.ended == "HTTPUnauthorizedError"
        assert server.auth_failures >= 1


async def test_mjpeg_drop_refuse_and_reconnect(mjpeg: MjpegServer) -> None:
    """drop: the reader's stream ends; refuse: no connection; accept: plays again."""
    progress = Progress()
    reader = asyncio.ensure_future(
        asyncio.to_thread(read_pyav, mjpeg.mjpeg_url, None, progress=progress)
    )
    await progress.wait(10)
    assert mjpeg.clients == 1
    mjpeg.refuse_connections()
    assert mjpeg.clients == 1  # refusing new connections keeps the open ones
    dropped_at = time.monotonic()
    assert mjpeg.drop_clients() == 1
    async with asyncio.timeout(10):
        reading = await reader
    assert reading.ended != "count"
    assert reading.ended_at - dropped_at < 3
    assert_consecutive(reading, SPEC)
    assert mjpeg.clients == 0

    reading = await asyncio.to_thread(read_pyav, mjpeg.mjpeg_url, 5)
    assert reading.ended == "ConnectionRefusedError"
    await mjpeg.accept_connections()
    reading = await asyncio.to_thread(read_pyav, mjpeg.mjpeg_url, 5)
    assert reading.ended == "count"
    assert_consecutive(reading, SPEC)


async def test_mjpeg_stall_skips_to_the_live_frame(mjpeg: MjpegServer) -> None:
    """stall: nothing for its length, then the live frame (frames in between lost)."""
    progress = Progress()
    reader = asyncio.ensure_future(
        asyncio.to_thread(read_pyav, mjpeg.mjpeg_url, 50, progress=progress)
    )
    await progress.wait(10)
    mjpeg.stall(1.5)
    async with asyncio.timeout(20):
        reading = await reader
    steps = jump(reading.numbers, SPEC)
    gaps = [step for step in steps if step != 1]
    assert len(gaps) == 1, reading.numbers
    assert gaps[0] >= 1.5 * SPEC.fps - 2
    assert _silence([frame.arrival for frame in reading.frames]) >= 1.3


# --- HLS ------------------------------------------------------------------------------


async def test_hls_pyav_reads_every_frame_in_real_time(hls: HlsServer) -> None:
    """PyAV: every frame, keyframes every GOP, and on average at the source's rate."""
    reading = await asyncio.to_thread(read_pyav, hls.playlist_url, 110)
    assert reading.ended == "count"
    assert_consecutive(reading, SPEC)
    assert_keyframes(reading, SPEC)
    # HLS arrives a segment (here one GOP, 1 s) at a time: a wide window, wide bounds.
    assert_real_time(reading, SPEC.fps, window=4.0, tolerance=0.35)
    async with asyncio.timeout(5):
        await hls.wait_for_clients(0)
    assert hls.ffmpeg_returncode is None
    assert hls.requests[HlsServer.PLAYLIST_PATH] >= 2  # a live playlist is reloaded


async def test_hls_ffmpeg_cli_reads_every_frame(hls: HlsServer) -> None:
    """The ffmpeg CLI: the same frames and keyframes."""
    reading, code, stderr = await read_ffmpeg(hls.playlist_url, 40, SPEC.size)
    assert code == 0, stderr
    assert_consecutive(reading, SPEC)
    assert_keyframes(reading, SPEC)


async def test_hls_end_of_stream(hls: HlsServer) -> None:
    """end_stream: clients play what is listed, then reach the end."""
    progress = Progress()
    reader = asyncio.ensure_future(
        asyncio.to_thread(read_pyav, hls.playlist_url, None, progress=progress)
    )
    await progress.wait(10)
    hls.end_stream()
    async with asyncio.timeout(20):
        reading = await reader
    assert reading.ended == "eof"
    assert_consecutive(reading, SPEC)
    async with aiohttp.ClientSession() as session:
        async with session.get(hls.playlist_url) as response:
            assert (await response.text()).rstrip().endswith("#EXT-X-ENDLIST")
        hls.resume_stream()
        async with session.get(hls.playlist_url) as response:
            assert "#EXT-X-ENDLIST" not in await response.text()


async def test_hls_stall_delays_without_loss(hls: HlsServer) -> None:
    """stall: the playlist stops advancing; afterwards nothing is missing."""
    progress = Progress()
    reader = asyncio.ensure_future(
        asyncio.to_thread(read_pyav, hls.playlist_url, 90, progress=progress)
    )
    await progress.wait(20)
    hls.stall(3.0)
    async with asyncio.timeout(30):
        reading = await reader
    assert reading.ended == "count"
    assert_consecutive(reading, SPEC)
    assert _silence([frame.arrival for frame in reading.frames]) >= 1.5


async def test_hls_refuse_and_reconnect(hls: HlsServer) -> None:
    """refuse: the playlist cannot be fetched; accept: it plays again."""
    hls.refuse_connections(1.0)
    reading = await asyncio.to_thread(read_pyav, hls.playlist_url, 5)
    assert reading.ended == "ConnectionRefusedError"
    async with asyncio.timeout(5):
        while not hls.accepting:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    reading = await asyncio.to_thread(read_pyav, hls.playlist_url, 5)
    assert reading.ended == "count"
    assert_consecutive(reading, SPEC)
