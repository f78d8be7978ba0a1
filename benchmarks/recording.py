"""Clip recording: pre-roll continuity, clip latency, encoding speed, buffer memory.

- ``preroll_gap_frames``: frames missing between the pre-roll buffer and the live
  frames of a clip fed at 25 fps (decoded clip clocks vs the expected grid; target 0).
- ``clip_ready_ms``: end of the post-roll (last frame sent) to a finished, playable
  file renamed from its temporary name (target <= 1000).
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

import numpy as np
from PIL import Image

from benchmarks import Measurement, measurement
from custom_components.peephole.buffer import Frame, FrameBuffer
from custom_components.peephole.recorder import ClipEncoder, async_probe

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


async def _preroll_and_ready(directory: Path) -> tuple[int, float]:
    fps = 25
    buffer = FrameBuffer(2.0, 64 * 1024 * 1024)
    frames = [_counter_jpeg(i) for i in range(256)]
    t0 = time.time()
    for i in range(50):  # 2 s of pre-roll, already buffered
        buffer.add(Frame(t0 + i / fps, frames[i]))
    start = t0 + 1.0
    encoder = ClipEncoder(BINARY, directory / "gap.partial.mp4", fps, start, 30)
    await encoder.async_start()
    for frame in buffer.since(start):
        await encoder.async_write(frame)
    for i in range(50, 100):  # 2 s of live frames
        await encoder.async_write(Frame(t0 + i / fps, frames[i]))
    began = time.perf_counter()
    await encoder.async_finish()
    final = directory / "gap.mp4"
    encoder.path.replace(final)
    if await async_probe(BINARY, final, 30) is None:
        raise RuntimeError("the clip does not play")
    ready_ms = (time.perf_counter() - began) * 1000
    counters = _decode_counters(final)
    expected = list(range(counters[0], 100))
    gap = len(set(expected) - set(counters))
    return gap, ready_ms


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
        gap, ready_ms = asyncio.run(_preroll_and_ready(directory))
        yield measurement("preroll_gap_frames", gap, "frames")
        yield measurement("clip_ready_ms", round(ready_ms, 1), "ms")
        speed = asyncio.run(_encode_speed(directory, 3 if quick else 10))
        yield measurement("encode_x_realtime_svga", round(speed, 2), "x")
    yield measurement("buffer_overhead_ratio", round(_buffer_overhead(), 3), "ratio")
