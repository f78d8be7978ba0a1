"""Does a ring freeze the picture? One doorbell, and eight ringing in the same instant.

Issue #14 found that starting a clip stalled the old stills feed while the pre-roll
was pushed into ffmpeg: 0.2-0.25 s with one doorbell, 0.6-1.25 s with four, 5.6 s
with sixteen, right after the press (the visitor's face), and ffmpeg hid it by
repeating the last frame. Now the masked pictures are encoded once, in a worker
thread, and a trigger only hands the pre-roll ring's packets to a clip, so
nothing should wait.

A real Home Assistant core (pinned to one core by the runner) with Peephole
entries, each on its own camera, recording (pre-roll 1 s, post-roll 3 s) with a
privacy zone over the scene's canary. Every picture carries its number
(tools.streams' barcode), so a clip is read picture by picture:

- **stills**: camera entities that hand out a new numbered 800x600 picture at
  every request (``_ha.NumberedCamera``); Peephole polls each at 10 fps.
- **stream**: camera entities whose ``stream_source()`` is an RTSP path of one
  server (``_sources``, in its own process on the other core, as cameras are
  other machines): 800x600 H.264 at 15 fps with sensor noise (noise 6), a
  keyframe every 2 s, every picture different; Peephole reads each path itself.

First one doorbell rings; then seven more are added and all eight ring in the
same instant (their button states are written in one pass of the event loop).

- ``ring_freeze_ms_<stills|stream>_<1|8>``: the longest run of repeated pictures
  in the 2 s after the ring, over the clips of that run. A picture is on screen
  until the next different one; its time there, rounded to whole source frames
  (100 ms stills, 67 ms stream), minus the one frame it should last, is how long
  the clip froze on it. A repeated picture and a missing one both count; jitter
  under half a frame does not (ffmpeg's constant-rate output would not have
  repeated a frame for it either). Target 0.
- ``ring_freeze_ms``: the largest of them (target 0).
- ``ring_freeze_loop_lag_ms_p99_<mode>_8``: the event loop's lag p99 from the
  ring until every clip is saved (a task that sleeps 10 ms at a time; context).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
import logging
import time

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks import Measurement, measurement
from benchmarks._ha import (
    LoopLag,
    NumberedCamera,
    SavedClips,
    StreamCamera,
    add_cameras,
    add_doorbell,
    canary_zone,
    child,
    home_assistant,
    longest_freeze,
    numbers_of,
    other_cores,
    read_clip,
    ring,
    ring_span,
    until,
)
from tools.streams import SceneSpec, render_scene

DOORBELLS = 8
WIDTH, HEIGHT = 800, 600
STILLS_FPS = 10
STREAM_FPS = 15
WINDOW = 2.0  # seconds after the ring that are checked
PRE_ROLL, POST_ROLL = 1.0, 3.0
POOL = SceneSpec(width=WIDTH, height=HEIGHT, fps=STILLS_FPS, duration=25.0)


async def _ring_and_measure(
    hass: HomeAssistant, entries: Sequence[MockConfigEntry], fps: float
) -> tuple[float, float]:
    """Ring every doorbell at once; return (longest freeze s, loop lag p99 s)."""
    saved = SavedClips(hass)
    await until(lambda: all(ring_span(entry) >= PRE_ROLL for entry in entries), 60)
    lag = LoopLag()
    lag.start()
    rang = time.time()
    for entry in entries:  # one pass of the loop: the same instant
        ring(hass, entry, rang)
    await saved.wait(entries, 60)
    lags = await lag.stop()
    worst = 0.0
    for entry in entries:
        pictures = await asyncio.to_thread(read_clip, saved.path(entry))
        numbers_of(pictures)  # every picture readable
        start = rang - saved.start(entry)
        if pictures[-1].time < start + WINDOW:
            raise RuntimeError("the clip ends before the window does")
        worst = max(worst, longest_freeze(pictures, start, start + WINDOW, fps))
    return worst, LoopLag.percentile(lags, 0.99)


async def _stills() -> tuple[float, float, float]:
    pool = (await asyncio.to_thread(render_scene, POOL)).jpegs
    cameras = [NumberedCamera(f"Door {index}", pool) for index in range(DOORBELLS)]
    zone = canary_zone(WIDTH, HEIGHT)
    async with home_assistant() as hass:
        await add_cameras(hass, cameras)

        async def doorbell(index: int) -> MockConfigEntry:
            return await add_doorbell(
                hass,
                f"camera.door_{index}",
                pre_roll=PRE_ROLL,
                post_roll=POST_ROLL,
                fps=STILLS_FPS,
                zones=[zone],
            )

        first = [await doorbell(0)]
        one, _ = await _ring_and_measure(hass, first, STILLS_FPS)
        rest = [await doorbell(index) for index in range(1, DOORBELLS)]
        await asyncio.sleep(PRE_ROLL + POST_ROLL)  # the first clip is long over
        eight, lag = await _ring_and_measure(hass, first + rest, STILLS_FPS)
    return one, eight, lag


async def _stream() -> tuple[float, float, float]:
    async with child(
        "benchmarks._sources",
        *("--size", f"{WIDTH}x{HEIGHT}", "--fps", str(STREAM_FPS), "--noise", "6"),
        *("--paths", str(DOORBELLS)),
        cores=other_cores(),
    ) as (_, base):
        cameras = [
            StreamCamera(f"Door {index}", f"{base}/d{index}")
            for index in range(DOORBELLS)
        ]
        zone = canary_zone(WIDTH, HEIGHT)
        async with home_assistant() as hass:
            await add_cameras(hass, cameras)

            async def doorbell(index: int) -> MockConfigEntry:
                return await add_doorbell(
                    hass,
                    f"camera.door_{index}",
                    pre_roll=PRE_ROLL,
                    post_roll=POST_ROLL,
                    zones=[zone],
                )

            first = [await doorbell(0)]
            one, _ = await _ring_and_measure(hass, first, STREAM_FPS)
            rest = [await doorbell(index) for index in range(1, DOORBELLS)]
            await asyncio.sleep(PRE_ROLL + POST_ROLL)
            eight, lag = await _ring_and_measure(hass, first + rest, STREAM_FPS)
    return one, eight, lag


def run(*, quick: bool) -> Iterator[Measurement]:
    """Yield the freeze figures (quick runs the same: it is short)."""
    logging.getLogger().setLevel(logging.CRITICAL)
    worst = 0.0
    for mode, measure in (("stills", _stills), ("stream", _stream)):
        one, eight, lag = asyncio.run(measure())
        worst = max(worst, one, eight)
        yield measurement(f"ring_freeze_ms_{mode}_1", one * 1000, "ms")
        yield measurement(f"ring_freeze_ms_{mode}_8", eight * 1000, "ms")
        yield measurement(f"ring_freeze_loop_lag_ms_p99_{mode}_8", lag * 1000, "ms")
    yield measurement("ring_freeze_ms", worst * 1000, "ms")
