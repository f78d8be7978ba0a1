"""The pre-roll: the last seconds of MASKED H.264, whole GOPs, in memory.

Pure Python, no Home Assistant, no codec. The masked encode of a doorbell's
pictures runs all the time recording is on; its packets are kept here, grouped
into GOPs (a keyframe and what follows it), so that a trigger starts a clip from
a keyframe a few seconds back by handing the clip the packets, with no burst of
decoding or encoding that could stall anything.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from .video import EncodedPacket


class PacketRing:
    """Whole GOPs of encoded packets, bounded by duration and by bytes.

    Enough is kept that a clip can start at any moment of the last ``duration``
    seconds from a keyframe at or before it.
    """

    def __init__(self, duration: float, max_bytes: int) -> None:
        """Keep ``duration`` seconds (plus the GOP they start in), at most ``max_bytes``."""
        if duration < 0 or max_bytes <= 0:
            raise ValueError("duration must be >= 0 and max_bytes > 0")
        self.duration = duration
        self.max_bytes = max_bytes
        self._gops: deque[list[EncodedPacket]] = deque()
        self._bytes = 0
        self._count = 0
        # Packets masked with an older generation of zones are refused.
        self.min_generation = 0

    def __len__(self) -> int:
        """Return the number of packets held."""
        return self._count

    def __iter__(self) -> Iterator[EncodedPacket]:
        """Iterate over the packets, oldest first."""
        for gop in self._gops:
            yield from gop

    @property
    def nbytes(self) -> int:
        """Return the bytes of H.264 held."""
        return self._bytes

    @property
    def latest(self) -> EncodedPacket | None:
        """Return the newest packet."""
        return self._gops[-1][-1] if self._gops else None

    def add(self, packet: EncodedPacket) -> bool:
        """Append a packet; False if it was refused (out of order, stale, no keyframe).

        A packet that follows nothing it can be decoded from (no GOP open, an
        older generation) is refused.
        """
        latest = self.latest
        if packet.generation < self.min_generation or (
            latest is not None and packet.pts <= latest.pts
        ):
            return False
        if packet.keyframe:
            self._gops.append([packet])
        elif self._gops and self._gops[-1][0].generation == packet.generation:
            self._gops[-1].append(packet)
        else:
            return False
        self._bytes += len(packet.data)
        self._count += 1
        self._evict(packet.time)
        return True

    def _evict(self, now: float) -> None:
        horizon = now - self.duration
        while len(self._gops) > 1 and (
            self._gops[1][0].time <= horizon or self._bytes > self.max_bytes
        ):
            gone = self._gops.popleft()
            self._bytes -= sum(len(p.data) for p in gone)
            self._count -= len(gone)
        if self._bytes > self.max_bytes:  # one GOP over the cap on its own
            self.clear()

    def since(self, start: float) -> list[EncodedPacket]:
        """Return the packets from the last keyframe at or before ``start`` on.

        With no keyframe that early, from the oldest one held.
        """
        gops = list(self._gops)
        first = 0
        for index, gop in enumerate(gops):
            if gop[0].time <= start:
                first = index
        return [packet for gop in gops[first:] for packet in gop]

    def clear(self, min_generation: int | None = None) -> None:
        """Forget every packet (and, given, refuse those of older generations)."""
        self._gops.clear()
        self._bytes = 0
        self._count = 0
        if min_generation is not None:
            self.min_generation = max(self.min_generation, min_generation)
