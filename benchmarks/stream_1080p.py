"""A 1080p camera stream through Peephole: every picture kept, and what it costs.

The source is the tools.streams scene, 1920x1080 H.264 at 15 fps with sensor
noise (noise 6: about 2 Mbit/s, an IP camera's bitrate; the clean scene is only
0.4 Mbit/s and would make decoding look cheap), a keyframe every 2 s, served
over RTSP by ``_sources`` in its own process on the other core (a camera is
another machine). Every picture carries its number.

In a real Home Assistant core (pinned to one core by the runner), Peephole
records from a camera entity whose ``stream_source()`` is that URL, with a
privacy zone over the scene's canary (pre-roll 1 s, post-roll 10 s):

- ``stream_clip_fps_1080p``: distinct pictures in the clip per second of the
  clip's own timeline (its last picture counted for one source frame).
- ``stream_clip_fps_ratio_1080p``: that over the source's 15 fps (target >= 0.98).
- ``stream_clip_kept_1080p``: distinct pictures, by number, over the source's
  pictures from the clip's first to the end of its post-roll (context: the same
  question without the clip's timestamps).
- ``stream_thread_cpu_ms_per_frame_1080p_in_ha``: CPU time of Peephole's reader
  thread (decode + mask + encode) per picture during the clip, from
  ``/proc/self/task/<tid>/stat`` (10 ms ticks; context).
- ``stream_process_cpu_ms_per_frame_1080p_in_ha``: the whole HA process's CPU
  per picture over the same time: the reader plus the event loop's share
  (packets into the ring and the clip) and the clip's muxing (context).

The cost against an anchor, measured side by side in the same run, interleaved
round by round, each pinned to the same core (the runner's):

- ``stream_cpu_ms_per_frame_1080p``: ``_reader``, Peephole's real
  ``StreamReader`` in a process of its own, reading the same stream: the
  process's CPU time per picture (all threads), after 2 s of warm-up.
- ``ffmpeg_drawbox_cpu_ms_per_frame_1080p``: the ffmpeg CLI reading the same
  stream (RTSP over TCP) -> ``drawbox`` filled over the same pixels (the zone
  rounded out to 16x16 blocks as Peephole's mask is) -> libx264 ``ultrafast``
  ``zerolatency``, a keyframe a second as Peephole makes them, to ``-f null``;
  its CPU time per picture from ``/proc/<pid>/stat`` between two ``-progress``
  reports (after the same warm-up).
- ``stream_vs_ffmpeg_drawbox_1080p``: Peephole over ffmpeg, the median of the
  rounds' ratios (target <= 1.2).
- ``stream_source_mbit_s_1080p``: the source's bitrate (context).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import json
import logging
import os
import sys
import time
from typing import Any

from benchmarks import Measurement, measurement
from benchmarks._ha import (
    REPO,
    SavedClips,
    StreamCamera,
    add_cameras,
    add_doorbell,
    canary_zone,
    child,
    home_assistant,
    kept_fraction,
    median,
    numbers_of,
    other_cores,
    peephole,
    pin,
    process_cpu,
    read_clip,
    ring,
    ring_span,
    this_core,
    thread_cpu,
    thread_named,
    until,
)
from benchmarks._sources import spec_from
from custom_components.peephole.yuv_masking import PlaneMasker
from custom_components.peephole.zones import zones_from_storage
from tools.streams import render_scene
from tools.streams.scene import ffmpeg_binary

SIZE = "1920x1080"
WIDTH, HEIGHT = 1920, 1080
FPS = 15
NOISE = 6
WARM = 30  # pictures before the CPU time is read (the client's start-up burst)


def mask_rect() -> tuple[int, int, int, int]:
    """Return the pixels Peephole's mask paints (x, y, w, h), for drawbox."""
    masker = PlaneMasker(zones_from_storage([canary_zone(WIDTH, HEIGHT)]))
    rects = masker.plan(WIDTH, HEIGHT).luma
    y0 = min(rect[0] for rect in rects)
    y1 = max(rect[1] for rect in rects)
    x0 = min(rect[2] for rect in rects)
    x1 = max(rect[3] for rect in rects)
    return x0, y0, x1 - x0, y1 - y0


async def ffmpeg_cpu(url: str, frames: int) -> float:
    """Run the ffmpeg anchor on ``url``; return its CPU ms per picture."""
    x, y, w, h = mask_rect()
    process = await asyncio.create_subprocess_exec(
        ffmpeg_binary(),
        *("-hide_banner", "-nostdin", "-loglevel", "error"),
        *("-rtsp_transport", "tcp", "-i", url),
        *("-vf", f"drawbox=x={x}:y={y}:w={w}:h={h}:color=gray:t=fill"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency"),
        *("-g", str(FPS), "-f", "null", "-"),
        *("-progress", "pipe:1", "-nostats"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    pin(process.pid, this_core())
    marks: list[tuple[float, int]] = []
    try:
        assert process.stdout is not None  # noqa: S101 - a pipe was asked for
        async with asyncio.timeout(60 + 2 * (WARM + frames) / FPS):
            async for raw in process.stdout:
                key, _, value = raw.decode().strip().partition("=")
                if key != "frame":
                    continue
                count = int(value)
                if (not marks and count >= WARM) or (
                    marks and count >= marks[0][1] + frames
                ):
                    marks.append((process_cpu(process.pid), count))
                    if len(marks) == 2:
                        break
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
    (cpu_a, count_a), (cpu_b, count_b) = marks
    return (cpu_b - cpu_a) / (count_b - count_a) * 1000


async def reader_cpu(url: str, frames: int) -> float:
    """Run Peephole's reader on its own on ``url``; return its CPU ms per picture."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "benchmarks._reader", url, "--size", SIZE),
        *("--warm", str(WARM), "--frames", str(frames)),
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    pin(process.pid, this_core())
    out, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError("the stream reader failed")
    result: dict[str, float] = json.loads(out)
    if result["dropped"]:
        raise RuntimeError(f"the stream reader dropped pictures: {result}")
    return result["cpu_ms_per_frame"]


async def _in_home_assistant(url: str, post_roll: float) -> dict[str, float]:
    camera = StreamCamera("Street", url)
    async with home_assistant() as hass:
        await add_cameras(hass, [camera])
        entry = await add_doorbell(
            hass,
            "camera.street",
            pre_roll=1.0,
            post_roll=post_roll,
            zones=[canary_zone(WIDTH, HEIGHT)],
        )
        saved = SavedClips(hass)
        await until(lambda: ring_span(entry) >= 1.0, 60)
        source = peephole(entry).source
        if source is None:
            raise RuntimeError("no source")
        reader = thread_named(f"peephole {entry.entry_id} stream").native_id
        if reader is None:
            raise RuntimeError("the reader thread has no id")
        frames_before = source.stats.frames_in
        thread_before, process_before = thread_cpu(reader), process_cpu(os.getpid())
        rang = time.time()
        ring(hass, entry, rang)
        await saved.wait([entry], 60 + post_roll)
        frames = source.stats.frames_in - frames_before
        thread_ms = (thread_cpu(reader) - thread_before) / frames * 1000
        process_ms = (process_cpu(os.getpid()) - process_before) / frames * 1000
        mode = source.stats.mode
        start = saved.start(entry)
        pictures = await asyncio.to_thread(read_clip, saved.path(entry))
    if mode is None or mode.value != "stream":
        raise RuntimeError(f"Peephole read the camera as {mode}, not its stream")
    numbers = numbers_of(pictures)
    seconds = pictures[-1].time - pictures[0].time + 1 / FPS
    clip_fps = len(set(numbers)) / seconds
    return {
        "clip_fps": clip_fps,
        "kept": kept_fraction(
            numbers,
            spec_from(SIZE, FPS, NOISE, 20.0).frames,
            round((rang + post_roll - start) * FPS),
        ),
        "thread_ms": thread_ms,
        "process_ms": process_ms,
    }


async def _bench(quick: bool) -> dict[str, Any]:
    spec = spec_from(SIZE, FPS, NOISE, 20.0)
    clip = await asyncio.to_thread(render_scene, spec)
    mbit_s = clip.h264_path.stat().st_size * 8 / spec.duration / 1e6
    rounds, frames = (1, 45) if quick else (3, 150)
    async with child(
        "benchmarks._sources",
        *("--size", SIZE, "--fps", str(FPS), "--noise", str(NOISE)),
        cores=other_cores(),
    ) as (_, base):
        url = f"{base}/d0"
        ours: list[float] = []
        anchor: list[float] = []
        for _ in range(rounds):
            anchor.append(await ffmpeg_cpu(url, frames))
            ours.append(await reader_cpu(url, frames))
        in_ha = await _in_home_assistant(url, 3.0 if quick else 10.0)
    return {
        "ours": ours,
        "anchor": anchor,
        "ratios": [a / b for a, b in zip(ours, anchor, strict=True)],
        "mbit_s": mbit_s,
        **in_ha,
    }


def run(*, quick: bool) -> Iterator[Measurement]:
    """Yield the 1080p stream figures."""
    logging.getLogger().setLevel(logging.CRITICAL)
    result = asyncio.run(_bench(quick))
    yield measurement("stream_clip_fps_1080p", result["clip_fps"], "fps")
    yield measurement("stream_clip_fps_ratio_1080p", result["clip_fps"] / FPS, "ratio")
    yield measurement("stream_clip_kept_1080p", result["kept"], "fraction")
    yield measurement("stream_cpu_ms_per_frame_1080p", median(result["ours"]), "ms")
    yield measurement(
        "ffmpeg_drawbox_cpu_ms_per_frame_1080p", median(result["anchor"]), "ms"
    )
    yield measurement("stream_vs_ffmpeg_drawbox_1080p", median(result["ratios"]), "x")
    yield measurement(
        "stream_thread_cpu_ms_per_frame_1080p_in_ha", result["thread_ms"], "ms"
    )
    yield measurement(
        "stream_process_cpu_ms_per_frame_1080p_in_ha", result["process_ms"], "ms"
    )
    yield measurement("stream_source_mbit_s_1080p", result["mbit_s"], "Mbit/s")
