"""Read stream sources for real (PyAV and the ffmpeg CLI) and check what arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
import itertools
import re
import threading
import time

import av
import numpy as np

from tools.streams import SceneSpec, decode_frame_number
from tools.streams.scene import ffmpeg_binary

OPEN_TIMEOUT = 15.0
READ_TIMEOUT = 5.0
RTSP_OPTIONS = {"rtsp_transport": "tcp"}
FFMPEG_TIMEOUT = 30.0


@dataclass(frozen=True)
class Decoded:
    """One decoded picture: its frame number, whether it was a keyframe, when."""

    number: int | None
    keyframe: bool
    arrival: float  # time.monotonic()


@dataclass
class Reading:
    """What a reader got: pictures, and how it ended."""

    frames: list[Decoded] = field(default_factory=list)
    ended: str = ""  # "count", "eof" or the error's class name
    ended_at: float = 0.0

    @property
    def numbers(self) -> list[int | None]:
        """The frame numbers read back, in order."""
        return [frame.number for frame in self.frames]


def read_pyav(
    url: str,
    count: int | None,
    *,
    options: Mapping[str, str] | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Reading:
    """Decode up to `count` pictures with PyAV (blocking: run it in a thread).

    With `count` None, read until the stream ends or fails. `progress` is called
    with the number of pictures so far after each one.
    """
    reading = Reading()
    try:
        with av.open(
            url,
            format=fmt,
            options=dict(options or {}),
            timeout=(OPEN_TIMEOUT, READ_TIMEOUT),
        ) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                reading.frames.append(
                    Decoded(
                        decode_frame_number(frame.to_ndarray(format="gray")),
                        bool(frame.key_frame),
                        time.monotonic(),
                    )
                )
                if progress is not None:
                    progress(len(reading.frames))
                if count is not None and len(reading.frames) >= count:
                    reading.ended = "count"
                    break
            else:
                reading.ended = "eof"
    except av.FFmpegError as err:
        reading.ended = type(err).__name__
    reading.ended_at = time.monotonic()
    return reading


class Progress:
    """A thread-safe picture counter that async code can wait on."""

    def __init__(self) -> None:
        """Start at zero."""
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self, count: int) -> None:
        """Record the count (called from the reader's thread)."""
        with self._lock:
            self._count = count

    @property
    def count(self) -> int:
        """Pictures so far."""
        with self._lock:
            return self._count

    async def wait(self, count: int, seconds: float = 20.0) -> None:
        """Wait until `count` pictures were read."""
        async with asyncio.timeout(seconds):
            while self.count < count:  # noqa: ASYNC110
                await asyncio.sleep(0.02)


_SHOWINFO = re.compile(r"\bn:\s*(\d+)\b.*\biskey:\s*(\d)")


async def read_ffmpeg(
    url: str,
    count: int,
    size: tuple[int, int],
    *,
    input_args: Sequence[str] = (),
) -> tuple[Reading, int, str]:
    """Decode `count` pictures with the ffmpeg CLI: (reading, exit code, stderr).

    The pictures come as raw grey frames on stdout (arrival times measured here);
    the keyframe flags from the showinfo filter on stderr.
    """
    width, height = size
    process = await asyncio.create_subprocess_exec(
        ffmpeg_binary(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "info",
        *input_args,
        "-i",
        url,
        "-frames:v",
        str(count),
        "-vf",
        "showinfo",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    stderr_task = asyncio.ensure_future(process.stderr.read())
    numbers: list[tuple[int | None, float]] = []
    try:
        async with asyncio.timeout(FFMPEG_TIMEOUT):
            while True:
                try:
                    raw = await process.stdout.readexactly(width * height)
                except asyncio.IncompleteReadError:
                    break
                picture = np.frombuffer(raw, np.uint8).reshape(height, width)
                numbers.append((decode_frame_number(picture), time.monotonic()))
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = (await stderr_task).decode(errors="replace")
    keys = {
        int(match.group(1)): match.group(2) == "1"
        for match in _SHOWINFO.finditer(stderr)
    }
    reading = Reading(
        [
            Decoded(number, keys.get(index, False), arrival)
            for index, (number, arrival) in enumerate(numbers)
        ],
        ended="count" if len(numbers) >= count else "eof",
        ended_at=time.monotonic(),
    )
    assert process.returncode is not None
    return reading, process.returncode, stderr


def assert_consecutive(reading: Reading, spec: SceneSpec) -> None:
    """Every picture readable, each the next frame of the (looping) clip."""
    numbers = reading.numbers
    assert numbers, "no picture"
    assert None not in numbers, f"unreadable frame numbers: {numbers}"
    assert set(jump(numbers, spec)) <= {1}, f"not one by one: {numbers}"


def assert_keyframes(reading: Reading, spec: SceneSpec) -> None:
    """Keyframes exactly on the GOP boundaries (and at least one seen)."""
    for frame in reading.frames:
        assert frame.number is not None
        expected = frame.number % spec.gop_frames == 0
        assert frame.keyframe == expected, (frame, spec.gop_frames)
    assert any(frame.keyframe for frame in reading.frames)


def steady_rate(reading: Reading, window: float = 2.0) -> float:
    """Pictures per second over the last `window` seconds of the reading.

    A client buffers what arrives while it probes the stream and then hands it over
    in a burst; read long enough that the window holds only paced pictures.
    """
    arrivals = [frame.arrival for frame in reading.frames]
    tail = [arrival for arrival in arrivals if arrival >= arrivals[-1] - window]
    span = tail[-1] - tail[0]
    assert span > window / 2, f"too few pictures in the last {window} s: {len(tail)}"
    return (len(tail) - 1) / span


def assert_real_time(
    reading: Reading, fps: float, *, tolerance: float = 0.25, window: float = 2.0
) -> None:
    """The pictures arrived at the source's rate (within `tolerance`)."""
    rate = steady_rate(reading, window)
    assert fps * (1 - tolerance) <= rate <= fps * (1 + tolerance), (
        f"{rate:.2f} pictures/s, source {fps}"
    )


def jump(numbers: Sequence[int | None], spec: SceneSpec) -> list[int]:
    """Frame steps between consecutive pictures (mod the clip); all must be read."""
    known = [number for number in numbers if number is not None]
    assert len(known) == len(numbers), f"unreadable frame numbers: {numbers}"
    return [(b - a) % spec.frames for a, b in itertools.pairwise(known)]
