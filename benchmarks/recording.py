"""Clip recording: pre-roll continuity, clip latency, encoding speed, buffer memory.

- ``preroll_gap_frames``: frames missing from a clip around the ring, where the
  pre-roll buffer hands over to the live frames, at 25 fps (target 0). Measured
  through Peephole's real recorder in a real Home Assistant core: a camera entity
  numbers every frame it serves, Peephole's feed reads it at 25 fps, a ring records
  a clip; the numbers decoded from the clip are compared with those the camera
  served from 0.2 s before to 0.2 s after the ring.
- ``clip_ready_ms``: from the end of the post-roll to the ``peephole_clip_saved``
  event (ffmpeg finished, the file renamed, thumbnailed and indexed), same run
  (target <= 1000). A complete clip is not probed (only a partial one found at
  start-up is); the benchmark decodes it afterwards to check that it plays. The
  first benchmark (a hand-fed encoder) probed it, which took about 100 ms.
- The feed must really run at 25 fps around the ring (at least 22 frames served
  per second there), otherwise the gap figure would prove nothing: the run fails.
- ``encode_x_realtime_svga``: seconds of 800x600 10 fps video encoded per second
  of wall time, JPEG decoding included, on one core (target >= 10).
- ``buffer_overhead_ratio``: peak memory of a 5 s 800x600 10 fps buffer over the
  JPEG bytes it holds (target <= 1.2).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import io
from pathlib import Path
import subprocess
import tempfile
import time
import tracemalloc
from typing import Any

from homeassistant import loader
from homeassistant.components.camera import Camera
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import numpy as np
from PIL import Image
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_test_home_assistant,
    mock_integration,
    mock_platform,
)

from benchmarks import Measurement, measurement
from custom_components.peephole.buffer import Frame, FrameBuffer
from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_FEED_FPS,
    CONF_MAX_CLIP_LENGTH,
    CONF_MIN_FREE_MB,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
    CONF_RING_ENTITY,
    DOMAIN,
    EVENT_CLIP_SAVED,
)
from custom_components.peephole.recorder import ClipEncoder

REPO = Path(__file__).resolve().parent.parent
RING_SOURCE = "event.bench_button"

BINARY = "ffmpeg"


def _jpeg(width: int, height: int, seed: int, index: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack(
        [(xx + index * 3) % 256, (yy + index) % 256, (xx + yy) % 256], axis=-1
    ).astype(np.float64)
    base += rng.normal(0, 8, base.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(
        out, format="JPEG", quality=85
    )
    return out.getvalue()


def _counter_jpeg(index: int) -> bytes:
    """Return a 320x240 frame whose brightness bands encode ``index`` (8 bits)."""
    image = np.zeros((240, 320, 3), np.uint8)
    for bit in range(8):
        if (index >> bit) & 1:
            image[:, bit * 40 : (bit + 1) * 40] = 255
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _decode_counters(path: Path) -> list[int]:
    raw = subprocess.run(  # noqa: S603 - fixed arguments
        [
            BINARY,
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 240, 320)
    return [
        sum(
            1 << bit
            for bit in range(8)
            if frame[:, bit * 40 + 10 : bit * 40 + 30].mean() > 128
        )
        for frame in frames
    ]


async def _preroll_and_ready() -> tuple[int, float]:
    """Record one ring through the real recorder; return (gap, ready ms)."""
    frames = [_counter_jpeg(i) for i in range(256)]
    served: list[tuple[float, int]] = []  # (wall time, number) of every frame

    class CountingCamera(Camera):
        _attr_name = "Bench"
        _attr_unique_id = "bench-camera"

        async def async_camera_image(
            self, width: int | None = None, height: int | None = None
        ) -> bytes | None:
            number = len(served) % 256
            served.append((time.time(), number))
            return frames[number]

    async def setup_platform(
        hass: HomeAssistant,
        config: Any,
        add: AddEntitiesCallback,
        info: Any = None,
    ) -> None:
        add([CountingCamera()])

    with tempfile.TemporaryDirectory() as folder:
        config_dir = Path(folder)
        (config_dir / "custom_components").mkdir()
        (config_dir / "custom_components" / DOMAIN).symlink_to(
            REPO / "custom_components" / DOMAIN
        )
        async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            await async_setup_component(hass, "homeassistant", {})
            mock_integration(hass, MockModule("bench_cam"))
            mock_platform(
                hass,
                "bench_cam.camera",
                MockPlatform(async_setup_platform=setup_platform),
            )
            await async_setup_component(
                hass, "camera", {"camera": {"platform": "bench_cam"}}
            )
            hass.states.async_set(RING_SOURCE, "unknown", {"event_types": ["ring"]})
            entry = MockConfigEntry(
                domain=DOMAIN,
                title="Bench",
                data={
                    CONF_CAMERA_ENTITY: "camera.bench",
                    CONF_RING_ENTITY: RING_SOURCE,
                },
                options={
                    CONF_RECORD: True,
                    CONF_PRE_ROLL: 1.0,
                    CONF_POST_ROLL: 1.0,
                    CONF_MAX_CLIP_LENGTH: 10.0,
                    CONF_FEED_FPS: 25,
                    CONF_MIN_FREE_MB: 0,
                },
            )
            entry.add_to_hass(hass)
            if not await hass.config_entries.async_setup(entry.entry_id):
                raise RuntimeError("Peephole did not set up")
            recorder = entry.runtime_data.recorder
            saved: asyncio.Future[Event] = hass.loop.create_future()
            hass.bus.async_listen_once(EVENT_CLIP_SAVED, saved.set_result)
            async with asyncio.timeout(30):
                while len(served) < 50 or len(recorder.buffer) < 20:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            ring = time.time()
            hass.states.async_set(
                RING_SOURCE,
                dt_util.utc_from_timestamp(ring).isoformat(timespec="milliseconds"),
                {"event_type": "ring", "event_types": ["ring"]},
            )
            async with asyncio.timeout(10):
                while recorder.session is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
            session = recorder.session
            async with asyncio.timeout(60):
                event = await saved
            ready_ms = (event.time_fired.timestamp() - session.end_at) * 1000
            clip = recorder.store.get(event.data["clip_id"])
            counters = set(_decode_counters(recorder.store.clip_path(clip)))
            await hass.async_stop(force=True)
    around = {number for when, number in served if abs(when - ring) <= 0.2}
    if len(around) < 22 * 0.4:
        raise RuntimeError(f"the feed ran below 25 fps: {len(around)} frames in 0.4 s")
    return len(around - counters), ready_ms


async def _encode_speed(directory: Path, seconds: int) -> float:
    fps = 10
    frames = [_jpeg(800, 600, seed=i, index=i) for i in range(10)]
    encoder = ClipEncoder(BINARY, directory / "svga.mp4", fps, 0.0, 60)
    began = time.perf_counter()
    await encoder.async_start()
    for i in range(seconds * fps):
        await encoder.async_write(Frame(i / fps, frames[i % len(frames)]))
    await encoder.async_finish()
    return seconds / (time.perf_counter() - began)


def _buffer_overhead() -> float:
    frames = [_jpeg(800, 600, seed=i, index=i) for i in range(60)]
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    buffer = FrameBuffer(5.0, 64 * 1024 * 1024)
    # The frames arrive as fresh bytes objects, as they do from the masker.
    for i in range(60):
        buffer.add(Frame(i / 10, bytes(bytearray(frames[i]))))
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (current - baseline) / buffer.nbytes


def run(*, quick: bool) -> Iterator[Measurement]:
    """Yield the recording measurements."""
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        gap, ready_ms = asyncio.run(_preroll_and_ready())
        yield measurement("preroll_gap_frames", gap, "frames")
        yield measurement("clip_ready_ms", round(ready_ms, 1), "ms")
        speed = asyncio.run(_encode_speed(directory, 3 if quick else 10))
        yield measurement("encode_x_realtime_svga", round(speed, 2), "x")
    yield measurement("buffer_overhead_ratio", round(_buffer_overhead(), 3), "ratio")
