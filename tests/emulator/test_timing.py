"""The emulated camera's optional timing (tools/emulator/timing.py).

The model on its own (ticks, seeded draws, the shared Wi-Fi link), then the
device through aioesphomeapi's own client. Bounds are physical: a load on the
machine can only make frames later, so "at least this long" and "at most this
many" hold however busy the machine is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from aioesphomeapi import APIClient, CameraState
import pytest

from tools.emulator import EmulatedDoorbell
from tools.emulator.__main__ import _parser, main, timing_from_args
from tools.emulator.timing import (
    ESP32_CAM,
    ESPHOME_CHUNK,
    INSTANT,
    PROFILES,
    SensorClock,
    Timing,
    WifiLink,
)

# Timed cameras without the random parts, for exact bounds.
STEADY = Timing(capture_fps=10.0, throughput=None)


# --- the model -------------------------------------------------------------------


def test_sensor_ticks() -> None:
    """A request is answered by the next tick of the sensor's clock."""
    clock = SensorClock(Timing(capture_fps=10.0), origin=100.0)
    assert clock.next_tick(100.0) == 100.0
    assert clock.next_tick(100.01) == pytest.approx(100.1)
    assert clock.next_tick(100.1) == pytest.approx(100.1)
    assert clock.next_tick(100.3 + 1e-6) == pytest.approx(100.4)
    # Without a sensor rate, a frame is taken when asked for.
    assert SensorClock(INSTANT, origin=0.0).next_tick(3.21) == 3.21


def test_camera_stall_and_jitter_move_the_capture() -> None:
    """A camera stall skips the ticks it covers; jitter stays within its bound."""
    timing = Timing(capture_fps=10.0, jitter=0.02, stall_probability=1.0, stall=0.5)
    clock = SensorClock(timing, origin=0.0)
    camera = wifi = 0
    for _ in range(200):
        plan = clock.plan()
        tick, ready = clock.capture_time(1.0, plan)
        assert plan.stall is not None
        assert 0.0 <= plan.transfer_jitter <= 0.02
        assert 0.0 <= ready - tick <= 0.02
        if plan.stall == "camera":
            camera += 1
            assert tick == pytest.approx(1.5)
        else:
            wifi += 1
            assert tick == pytest.approx(1.0)
    assert camera > 50
    assert wifi > 50


def test_draws_are_seeded() -> None:
    """The same seed draws the same drops, stalls and jitter; another seed does not."""
    timing = dataclasses.replace(ESP32_CAM, drop_probability=0.2, stall_probability=0.2)

    def run(seed: int) -> list[Any]:
        clock = SensorClock(dataclasses.replace(timing, seed=seed), origin=0.0)
        draws = []
        for index in range(500):
            plan = clock.plan()
            draws.append((plan, clock.capture_time(index / 10, plan)))
        return draws

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    drops = sum(plan.dropped for plan, _ in first)
    assert 50 < drops < 150  # 20 % of 500, seeded: the same number every run


def test_wifi_link_is_shared_airtime() -> None:
    """Bytes queue behind each other on the one radio; a pause holds the queue."""
    link = WifiLink(300_000.0)
    assert link.reserve(30_000, now=0.0) == pytest.approx(0.1)
    # A second client's bytes wait for the first client's.
    assert link.reserve(30_000, now=0.05) == pytest.approx(0.2)
    # An idle link starts at once.
    assert link.reserve(3_000, now=1.0) == pytest.approx(1.01)
    link.pause(0.5, now=2.0)
    assert link.reserve(3_000, now=2.0) == pytest.approx(2.51)
    unlimited = WifiLink(None)
    assert unlimited.reserve(10**9, now=4.0) == 4.0
    unlimited.pause(0.25, now=4.0)
    assert unlimited.reserve(1, now=4.0) == 4.25


@pytest.mark.parametrize(
    "fields",
    [
        {"capture_fps": 0.0},
        {"throughput": -1.0},
        {"chunk_size": 0},
        {"jitter": -0.1},
        {"stall": -1.0},
        {"drop_probability": 1.0},
        {"stall_probability": 1.5},
    ],
    ids=lambda fields: next(iter(fields)),
)
def test_impossible_timing_is_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(fields))):
        Timing(**fields)


def test_profiles() -> None:
    """Instant is the default; the ESP32-CAM profile is the firmware's camera."""
    assert INSTANT.instant
    assert EmulatedDoorbell().timing is INSTANT
    assert not ESP32_CAM.instant
    assert ESP32_CAM.capture_fps == 10.0  # esp32_camera max_framerate in esphome/
    assert 100_000 <= (ESP32_CAM.throughput or 0) <= 1_000_000
    assert ESP32_CAM.chunk_size == ESPHOME_CHUNK == 1390
    assert PROFILES == {"instant": INSTANT, "esp32-cam": ESP32_CAM}


def test_command_line_timing(capsys: pytest.CaptureFixture[str]) -> None:
    """--timing picks a profile; each option overrides one of its parts."""
    args = _parser().parse_args([])
    assert timing_from_args(args) == INSTANT
    args = _parser().parse_args(
        [
            *("--timing", "esp32-cam", "--throughput", "150000", "--jitter-ms", "5"),
            *("--stall-ms", "250", "--seed", "3", "--drop", "0", "--capture-fps", "15"),
        ]
    )
    assert timing_from_args(args) == dataclasses.replace(
        ESP32_CAM,
        throughput=150_000.0,
        jitter=0.005,
        stall=0.25,
        seed=3,
        drop_probability=0.0,
        capture_fps=15.0,
    )
    with pytest.raises(SystemExit) as exc:
        main(["--timing", "esp32-cam", "--stall-probability", "2"])
    assert exc.value.code == 2
    assert "stall_probability must be between 0 and 1" in capsys.readouterr().err


# --- the device, through aioesphomeapi's client ----------------------------------


class _Frames:
    """Camera frames a client receives, and a way to wait for the next one."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self._waiter: asyncio.Future[bytes] | None = None

    def on_state(self, state: Any) -> None:
        if isinstance(state, CameraState):
            self.frames.append(state.data)
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(state.data)

    async def single(self, client: APIClient) -> bytes:
        self._waiter = asyncio.get_running_loop().create_future()
        client.request_single_image()
        async with asyncio.timeout(20):
            return await self._waiter


async def _client(device: EmulatedDoorbell) -> tuple[APIClient, _Frames]:
    client = APIClient("127.0.0.1", device.port, "")
    await client.connect(login=True)
    frames = _Frames()
    client.subscribe_states(frames.on_state)
    return client, frames


async def test_single_request_waits_for_the_next_capture(socket_enabled: None) -> None:
    """Back-to-back stills come one capture interval apart at the fastest."""
    timing = dataclasses.replace(STEADY, capture_fps=4.0)
    async with EmulatedDoorbell(port=0, idle_fps=0, timing=timing) as device:
        client, frames = await _client(device)
        try:
            start = time.monotonic()
            for _ in range(5):
                await frames.single(client)
            elapsed = time.monotonic() - start
        finally:
            await client.disconnect()
    # The first frame is captured at the first tick after the first request, each
    # other one a tick of a 4 fps sensor later: a second at least.
    assert elapsed >= 4 / 4.0
    assert len(set(frames.frames)) == 5
    assert device.stats.captured == device.stats.sent == 5


async def test_stream_is_limited_by_the_link(socket_enabled: None) -> None:
    """A stream sends no faster than the Wi-Fi carries the frames, in MTU chunks."""
    timing = Timing(throughput=150_000.0, chunk_size=ESPHOME_CHUNK)
    async with EmulatedDoorbell(
        port=0, idle_fps=0, max_fps=60, timing=timing
    ) as device:
        chunks = [len(msg.data) for msg in device._frame_messages(bytes(5000))]
        client, frames = await _client(device)
        try:
            start = time.monotonic()
            client.request_image_stream()
            await asyncio.sleep(2.0)
            elapsed = time.monotonic() - start
        finally:
            await client.disconnect()
    assert frames.frames
    smallest = min(len(frame) for frame in frames.frames)
    # One frame can be on its way when the clock starts.
    assert len(frames.frames) <= elapsed * 150_000 / smallest + 1
    assert chunks == [ESPHOME_CHUNK] * 3 + [5000 - 3 * ESPHOME_CHUNK]
    assert all(frame[:2] == b"\xff\xd8" for frame in frames.frames)


async def test_dropped_frames_are_replaced_by_later_ones(socket_enabled: None) -> None:
    """A bad frame is counted, and the request is answered by the next capture."""
    timing = dataclasses.replace(STEADY, drop_probability=0.5, seed=1)
    async with EmulatedDoorbell(port=0, idle_fps=0, timing=timing) as device:
        client, frames = await _client(device)
        try:
            for _ in range(6):
                await frames.single(client)
        finally:
            await client.disconnect()
    assert len(frames.frames) == 6
    assert device.stats.dropped > 0
    assert device.stats.captured == 6


async def test_stalls_delay_frames(socket_enabled: None) -> None:
    """A stall (camera or Wi-Fi, drawn at random) holds a frame back for its length."""
    timing = Timing(
        capture_fps=20.0,
        throughput=10_000_000.0,
        chunk_size=ESPHOME_CHUNK,
        stall_probability=1.0,
        stall=0.4,
    )
    async with EmulatedDoorbell(port=0, idle_fps=0, timing=timing) as device:
        client, frames = await _client(device)
        try:
            start = time.monotonic()
            for _ in range(4):
                await frames.single(client)
            elapsed = time.monotonic() - start
        finally:
            await client.disconnect()
    assert elapsed >= 4 * 0.4 - 0.02
    assert device.stats.camera_stalls + device.stats.wifi_stalls == 4
