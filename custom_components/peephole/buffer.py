"""The pre-roll buffer: the last few seconds of MASKED JPEG frames, in memory.

Pure Python, no Home Assistant. Frames are kept as the JPEG bytes the masker
produced (never decoded pixels), bounded both by duration and by a byte cap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Frame:
    """One masked JPEG frame and the wall-clock time (epoch seconds) it was taken."""

    time: float
    data: bytes


class FrameBuffer:
    """A ring buffer of masked frames bounded by duration and by total bytes."""

    def __init__(self, duration: float, max_bytes: int) -> None:
        """Keep at most ``duration`` seconds and at most ``max_bytes`` of JPEG."""
        if duration < 0 or max_bytes <= 0:
            raise ValueError("duration must be >= 0 and max_bytes > 0")
        self.duration = duration
        self.max_bytes = max_bytes
        self._frames: deque[Frame] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        """Return the number of frames held."""
        return len(self._frames)

    def __iter__(self) -> Iterator[Frame]:
        """Iterate over the frames, oldest first."""
        return iter(self._frames)

    @property
    def nbytes(self) -> int:
        """Return the JPEG bytes held."""
        return self._bytes

    @property
    def latest(self) -> Frame | None:
        """Return the newest frame, if any."""
        return self._frames[-1] if self._frames else None

    def add(self, frame: Frame) -> None:
        """Append a frame (older than the newest one: ignored) and evict what is out."""
        if self._frames and frame.time < self._frames[-1].time:
            return
        if len(frame.data) > self.max_bytes:
            self.clear()
            return
        self._frames.append(frame)
        self._bytes += len(frame.data)
        horizon = frame.time - self.duration
        while self._frames and (
            self._bytes > self.max_bytes or self._frames[0].time < horizon
        ):
            self._bytes -= len(self._frames.popleft().data)

    def since(self, start: float) -> list[Frame]:
        """Return the frames from ``start`` on, with the last one before it (if any).

        The frame just before ``start`` is what was on screen at ``start``.
        """
        frames = list(self._frames)
        first = next(
            (i for i, frame in enumerate(frames) if frame.time >= start), len(frames)
        )
        return frames[max(first - 1, 0) :]

    def clear(self) -> None:
        """Forget every frame."""
        self._frames.clear()
        self._bytes = 0
