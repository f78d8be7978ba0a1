"""How many 1080p15 doorbells one core records at once, every picture kept.

A real Home Assistant core, pinned to one core by the runner. The cameras are
RTSP paths of one server (``_sources``, in its own process on the other core, as
cameras are other machines): the tools.streams scene, 1920x1080 H.264 at 15 fps
with sensor noise (noise 6, about 2 Mbit/s each), a keyframe every 2 s, every
picture numbered. Each doorbell is a Peephole entry on its own camera entity
(``stream_source()`` is its path) with a privacy zone over the canary,
recording (pre-roll 1 s, post-roll 6 s).

The search goes upward: one doorbell, then one more at each step (those already
there keep running). At each step, once the new doorbell's pre-roll is full and
the others have settled, every doorbell rings in the same instant; then each
clip is decoded and read by number. A step passes when

- every clip keeps at least 0.98 of the source's pictures (distinct pictures,
  by number, over the source's pictures from the clip's first one to the end of
  the post-roll: a clip whose last pictures came too late, or a reader that fell
  so far behind that the camera skipped pictures, both miss some), and
- the event loop's lag p99 stays under 20 ms from the ring until every clip is
  saved (a task that sleeps 10 ms at a time; its lag is how much later than due
  it wakes).

The search stops at the first step that fails (or at 8 doorbells).

- ``doorbells_per_core_1080p15``: doorbells of the last step that passed.
- ``doorbells_1080p15_<n>_kept_min``, ``..._lag_p99_ms``, ``..._cpu_share``:
  every step's worst clip, its loop lag p99 and the HA process's CPU time over
  wall time from the ring until the clips were saved (1.0: the core is full).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import logging
import os
import time

from benchmarks import Measurement, measurement
from benchmarks._ha import (
    LoopLag,
    SavedClips,
    StreamCamera,
    add_cameras,
    add_doorbell,
    canary_zone,
    child,
    home_assistant,
    kept_fraction,
    numbers_of,
    other_cores,
    process_cpu,
    read_clip,
    ring,
    ring_span,
    until,
)
from benchmarks._sources import spec_from

SIZE = "1920x1080"
WIDTH, HEIGHT = 1920, 1080
FPS = 15
NOISE = 6
MAX_DOORBELLS = 8
KEEP = 0.98
MAX_LAG_P99 = 0.020
SETTLE = 3.0  # seconds every doorbell runs before the ring


async def _search(quick: bool) -> tuple[int, list[tuple[int, float, float, float]]]:
    """Return the doorbells that passed and each step's (n, kept, lag p99, CPU share)."""
    post_roll = 3.0 if quick else 6.0
    loop_frames = spec_from(SIZE, FPS, NOISE, 20.0).frames
    steps: list[tuple[int, float, float, float]] = []
    passed = 0
    async with child(
        "benchmarks._sources",
        *("--size", SIZE, "--fps", str(FPS), "--noise", str(NOISE)),
        *("--paths", str(MAX_DOORBELLS)),
        cores=other_cores(),
    ) as (_, base):
        cameras = [
            StreamCamera(f"Door {index}", f"{base}/d{index}")
            for index in range(MAX_DOORBELLS)
        ]
        zone = canary_zone(WIDTH, HEIGHT)
        async with home_assistant() as hass:
            await add_cameras(hass, cameras)
            entries = []
            for count in range(1, MAX_DOORBELLS + 1):
                entries.append(
                    await add_doorbell(
                        hass,
                        f"camera.door_{count - 1}",
                        pre_roll=1.0,
                        post_roll=post_roll,
                        zones=[zone],
                    )
                )
                await until(lambda: all(ring_span(e) >= 1.0 for e in entries), 60)
                await asyncio.sleep(SETTLE)
                saved = SavedClips(hass)
                lag = LoopLag()
                lag.start()
                cpu_before, wall_before = process_cpu(os.getpid()), time.monotonic()
                rang = time.time()
                for entry in entries:
                    ring(hass, entry, rang)
                await saved.wait(entries, 60 + post_roll)
                cpu_share = (process_cpu(os.getpid()) - cpu_before) / (
                    time.monotonic() - wall_before
                )
                p99 = LoopLag.percentile(await lag.stop(), 0.99)
                kept = 1.0
                for entry in entries:
                    pictures = await asyncio.to_thread(read_clip, saved.path(entry))
                    # Up to the end of the post-roll: a clip whose last pictures
                    # came too late to be in it has lost them.
                    expected = round((rang + post_roll - saved.start(entry)) * FPS)
                    numbers = numbers_of(pictures)
                    kept = min(kept, kept_fraction(numbers, loop_frames, expected))
                steps.append((count, kept, p99, cpu_share))
                if kept < KEEP or p99 >= MAX_LAG_P99:
                    break
                passed = count
                if quick:
                    break  # a format check: one step
    return passed, steps


def run(*, quick: bool) -> Iterator[Measurement]:
    """Search upward; yield the result and every step."""
    logging.getLogger().setLevel(logging.CRITICAL)
    passed, steps = asyncio.run(_search(quick))
    yield measurement("doorbells_per_core_1080p15", passed, "doorbells")
    for count, kept, p99, cpu_share in steps:
        yield measurement(f"doorbells_1080p15_{count}_kept_min", kept, "fraction")
        yield measurement(f"doorbells_1080p15_{count}_lag_p99_ms", p99 * 1000, "ms")
        yield measurement(f"doorbells_1080p15_{count}_cpu_share", cpu_share, "ratio")
