"""What the Home Assistant benchmarks share (not a benchmark: the runner skips ``_`` modules).

- :func:`home_assistant`: a real HA core (phcc's ``async_test_home_assistant``) in a
  temporary config folder with Peephole linked in as a custom integration;
- camera entities for it: :class:`NumberedCamera` (stills: every request gets the
  next picture of a pool whose pictures carry their number, as tools.streams draws
  it) and :class:`StreamCamera` (its ``stream_source()`` is a URL);
- :func:`add_doorbell`, :func:`ring`: a Peephole entry on a camera, and a press
  of its button (an event entity's state, as HA's event entities write it);
- :func:`read_clip` and the figures computed from a clip's pictures: numbers
  decoded from every picture, so pictures are counted, never timestamps;
- :class:`LoopLag`: how late the event loop wakes a periodic task;
- child processes on the other cores (a camera has its own chip), and the CPU time
  of a thread or a process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
import itertools
import math
import os
from pathlib import Path
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

import av
from homeassistant import loader
from homeassistant.components.camera import Camera, CameraEntityFeature
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import frame
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import numpy as np
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_test_home_assistant,
    mock_integration,
    mock_platform,
)

from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_FEED_FPS,
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
from custom_components.peephole.doorbell import Peephole
from tools.streams import canary_rect, decode_frame_number

REPO = Path(__file__).resolve().parent.parent
CAMERA_PLATFORM = "bench_cam"


# --- Home Assistant ------------------------------------------------------------------


@asynccontextmanager
async def home_assistant() -> AsyncIterator[HomeAssistant]:
    """Run a real HA core with Peephole available; stopped on exit."""
    with tempfile.TemporaryDirectory() as folder:
        config_dir = Path(folder)
        (config_dir / "custom_components").mkdir()
        (config_dir / "custom_components" / DOMAIN).symlink_to(
            REPO / "custom_components" / DOMAIN
        )
        async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
            # What phcc's hass fixture does too: HA reports odd uses through the
            # frame helper (a second core in one process is one); the next core
            # sets its own.
            frame.async_setup(hass)
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            await async_setup_component(hass, "homeassistant", {})
            try:
                yield hass
            finally:
                # HA does not unload config entries when it stops, and Peephole's
                # feeds run in threads of their own: unloading stops them, so
                # they do not go on using the core after this one.
                for entry in hass.config_entries.async_entries():
                    if entry.state is ConfigEntryState.LOADED:
                        await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_stop(force=True)


class NumberedCamera(Camera):
    """A stills camera: each request gets the next picture of a numbered pool.

    Picture ``i`` of the pool shows number ``i`` (tools.streams' barcode), so a
    clip says which requests it holds. ``served`` is every (wall time, number)
    handed out.
    """

    def __init__(self, name: str, pool: Sequence[bytes]) -> None:
        """Serve ``pool`` in a loop as camera ``name``."""
        super().__init__()
        self._attr_name = name
        self._attr_unique_id = f"bench-{name}"
        self._pool = pool
        self.served: list[tuple[float, int]] = []

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return the next picture."""
        number = len(self.served) % len(self._pool)
        self.served.append((time.time(), number))
        return self._pool[number]


class StreamCamera(Camera):
    """A camera that offers a stream (an RTSP URL), as IP camera integrations do."""

    _attr_supported_features = CameraEntityFeature.STREAM

    def __init__(self, name: str, url: str) -> None:
        """Offer ``url`` as the stream of camera ``name``."""
        super().__init__()
        self._attr_name = name
        self._attr_unique_id = f"bench-{name}"
        self.url = url

    async def stream_source(self) -> str | None:
        """Return the stream's URL."""
        return self.url

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """No stills: Peephole reads the stream."""
        return None


async def add_cameras(hass: HomeAssistant, cameras: Sequence[Camera]) -> None:
    """Add camera entities (``camera.<name>``) through a platform; call once per core."""

    async def setup_platform(
        hass: HomeAssistant, config: Any, add: AddEntitiesCallback, info: Any = None
    ) -> None:
        add(list(cameras))

    mock_integration(hass, MockModule(CAMERA_PLATFORM))
    mock_platform(
        hass,
        f"{CAMERA_PLATFORM}.camera",
        MockPlatform(async_setup_platform=setup_platform),
    )
    if not await async_setup_component(
        hass, "camera", {"camera": {"platform": CAMERA_PLATFORM}}
    ):
        raise RuntimeError("the camera component did not set up")
    await hass.async_block_till_done()


def canary_zone(width: int, height: int) -> dict[str, Any]:
    """Return a privacy zone over the scene's canary (as the entry's options hold it)."""
    x0, y0, x1, y1 = canary_rect(width, height)
    corners = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return {
        "name": "Canary",
        "points": [[x / width, y / height] for x, y in corners],
    }


async def add_doorbell(
    hass: HomeAssistant,
    camera: str,
    *,
    pre_roll: float,
    post_roll: float,
    fps: float = 10,
    zones: Sequence[dict[str, Any]] = (),
    button: str | None = None,
    **options: Any,
) -> MockConfigEntry:
    """Set Peephole up on ``camera`` (recording on).

    Without a ``button`` (an event entity), one is made: :func:`ring` presses it.
    """
    if button is None:
        button = f"event.{camera.partition('.')[2]}_button"
        hass.states.async_set(button, "unknown", {"event_types": ["ring"]})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=camera.partition(".")[2],
        data={CONF_CAMERA_ENTITY: camera, CONF_RING_ENTITY: button},
        options={
            CONF_RECORD: True,
            CONF_PRE_ROLL: pre_roll,
            CONF_POST_ROLL: post_roll,
            CONF_MAX_CLIP_LENGTH: 60.0,
            CONF_FEED_FPS: fps,
            CONF_MIN_FREE_MB: 0,
            CONF_ZONES: list(zones),
            **options,
        },
    )
    entry.add_to_hass(hass)
    if not await hass.config_entries.async_setup(entry.entry_id):
        raise RuntimeError(f"Peephole did not set up on {camera}")
    return entry


def peephole(entry: MockConfigEntry) -> Peephole:
    """Return the entry's runtime object."""
    runtime: Peephole = entry.runtime_data
    return runtime


def ring(hass: HomeAssistant, entry: MockConfigEntry, when: float) -> None:
    """Press the doorbell's button: a ``ring`` on its event entity, now."""
    hass.states.async_set(
        entry.data[CONF_RING_ENTITY],
        dt_util.utc_from_timestamp(when).isoformat(timespec="milliseconds"),
        {"event_type": "ring", "event_types": ["ring"]},
    )


class SavedClips:
    """Collects ``peephole_clip_saved`` events by entry id."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Listen from now on (until the core stops)."""
        self.events: dict[str, Event] = {}
        self._changed = asyncio.Event()
        hass.bus.async_listen(EVENT_CLIP_SAVED, self._saved)

    def _saved(self, event: Event) -> None:
        self.events[event.data["entry_id"]] = event
        self._changed.set()

    async def wait(self, entries: Iterable[MockConfigEntry], seconds: float) -> None:
        """Wait until each entry has saved a clip."""
        wanted = {entry.entry_id for entry in entries}
        async with asyncio.timeout(seconds):
            while not wanted <= set(self.events):
                self._changed.clear()
                await self._changed.wait()

    def path(self, entry: MockConfigEntry) -> Path:
        """Return the file of the entry's saved clip."""
        recorder = peephole(entry).recorder
        if recorder is None:
            raise RuntimeError("recording is off")
        clip = recorder.store.get(self.events[entry.entry_id].data["clip_id"])
        if clip is None:
            raise RuntimeError("the saved clip is not in the index")
        return recorder.store.clip_path(clip)

    def start(self, entry: MockConfigEntry) -> float:
        """Return the wall time of the first picture of the entry's saved clip."""
        return dt_util.parse_datetime(
            self.events[entry.entry_id].data["start"]
        ).timestamp()  # type: ignore[union-attr]


async def until(predicate: Any, seconds: float, step: float = 0.05) -> None:
    """Poll ``predicate`` until it is true; TimeoutError after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polls state, not an event
            await asyncio.sleep(step)


def ring_span(entry: MockConfigEntry) -> float:
    """Return the seconds of pictures in the doorbell's pre-roll ring."""
    source = peephole(entry).source
    ring_ = source.feed.ring if source is not None else None
    packets = list(ring_) if ring_ is not None else []
    return packets[-1].time - packets[0].time if packets else 0.0


# --- clips -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Picture:
    """One picture of a clip: its time on the clip's timeline and its number."""

    time: float
    number: int | None


def read_clip(path: Path) -> list[Picture]:
    """Decode every picture of a clip and read its number (blocking)."""
    pictures = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            plane = frame.planes[0]
            luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
            number = decode_frame_number(luma[: frame.height, : frame.width])
            pictures.append(Picture(float(frame.time or 0.0), number))
    return pictures


def numbers_of(pictures: Sequence[Picture]) -> list[int]:
    """Return the numbers of a clip's pictures (one that cannot be read is an error)."""
    numbers = [picture.number for picture in pictures]
    if not numbers or None in numbers:
        raise RuntimeError(f"unreadable pictures in a clip: {numbers}")
    return [number for number in numbers if number is not None]


def distinct_and_spanned(numbers: Sequence[int], loop: int) -> tuple[int, int]:
    """Return the distinct source pictures of a clip and the source pictures it spans.

    The source counts 0 .. loop-1 and starts again: steps are taken modulo
    ``loop``. A repeated picture adds nothing; a skipped one is missing.
    """
    if not numbers:
        return 0, 0
    steps = [(b - a) % loop for a, b in itertools.pairwise(numbers)]
    return 1 + sum(1 for step in steps if step > 0), sum(steps) + 1


def kept_fraction(numbers: Sequence[int], loop: int, expected: int = 0) -> float:
    """Return the distinct source pictures of a clip over those it should hold.

    What it should hold: the source pictures between its first and last, or
    ``expected`` if that is more (a clip cut short misses the ones after it).
    """
    distinct, spanned = distinct_and_spanned(numbers, loop)
    return distinct / max(spanned, expected, 1)


def longest_freeze(
    pictures: Sequence[Picture], start: float, end: float, fps: float
) -> float:
    """Longest run of repeated pictures between ``start`` and ``end`` (clip seconds).

    A picture stays on screen until the next different one: its span, rounded to
    whole source frames, minus the one frame it should last, is how long the clip
    froze on it (a repeated picture, or a missing one, both freeze it). Rounding
    to frames keeps scheduling jitter of a fraction of a frame out of it, as a
    constant-rate clip would (ffmpeg fills a hole of 1.5 frames or more with a
    copy). Returns seconds.
    """
    changes = [pictures[0]]
    for picture in pictures[1:]:
        if picture.number != changes[-1].number:
            changes.append(picture)
    worst = 0
    for shown, after in itertools.pairwise(changes):
        if after.time <= start or shown.time >= end:
            continue
        frames = round((after.time - shown.time) * fps)
        worst = max(worst, frames - 1)
    return worst / fps


# --- the event loop ---------------------------------------------------------------------


class LoopLag:
    """How late the event loop wakes a task that sleeps ``interval`` at a time."""

    def __init__(self, interval: float = 0.01) -> None:
        """Prepare (nothing runs before :meth:`start`)."""
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling (on the running loop)."""
        self.lags = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, loop.time() - due))

    async def stop(self) -> list[float]:
        """Stop sampling; return the lags (seconds)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        return self.lags

    @staticmethod
    def percentile(lags: Sequence[float], share: float) -> float:
        """Return the ``share`` quantile of the lags (nearest rank), seconds."""
        if not lags:
            return math.nan
        ordered = sorted(lags)
        return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


# --- processes and CPU time ---------------------------------------------------------------


def this_core() -> set[int]:
    """Return the cores this process may run on (the runner pins it to one)."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set()


def other_cores() -> set[int]:
    """Return the cores this process is kept off (all of them on a one-core machine)."""
    every = set(range(os.cpu_count() or 1))
    return (every - this_core()) or every


def pin(pid: int, cores: set[int]) -> None:
    """Pin a process to ``cores`` (where affinity exists)."""
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, cores)


@asynccontextmanager
async def child(
    *args: str, cores: set[int], ready_within: float = 180
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Run ``python -m <args>`` pinned to ``cores``; yield it and its first line.

    The child prints one line when it is ready (a URL, a port). It is terminated
    on exit.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        pin(process.pid, cores)
        assert process.stdout is not None  # noqa: S101 - a pipe was asked for
        async with asyncio.timeout(ready_within):
            line = (await process.stdout.readline()).decode().strip()
        if not line:
            raise RuntimeError(f"{args[0]} ended before it was ready")
        yield process, line
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def thread_cpu(native_id: int) -> float:
    """CPU seconds of one thread of this process, from /proc (10 ms ticks)."""
    path = Path(f"/proc/self/task/{native_id}/stat")
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def thread_named(name: str) -> threading.Thread:
    """Return the running thread of that name."""
    for thread in threading.enumerate():
        if thread.name == name:
            return thread
    raise RuntimeError(f"no thread named {name!r}")


def median(values: Iterable[float]) -> float:
    """Return the median (NaN when there is nothing)."""
    values = list(values)
    return statistics.median(values) if values else math.nan
