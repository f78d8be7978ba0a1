"""The pre-roll ring of encoded packets: whole GOPs, bounded, generation-safe."""

from __future__ import annotations

import pytest

from custom_components.peephole.packets import PacketRing
from custom_components.peephole.video import EncodedPacket


def _packet(
    t: float, *, key: bool = False, size: int = 10, gen: int = 0
) -> EncodedPacket:
    return EncodedPacket(
        time=t,
        pts=round(t * 90000),
        keyframe=key,
        data=b"x" * size,
        generation=gen,
        width=2,
        height=2,
    )


def _fill(ring: PacketRing, seconds: float, fps: int = 10) -> None:
    for n in range(int(seconds * fps)):
        ring.add(_packet(n / fps, key=n % fps == 0))


def test_whole_gops_cover_the_pre_roll() -> None:
    ring = PacketRing(duration=2.0, max_bytes=10**6)
    _fill(ring, 5.0)
    packets = list(ring)
    assert packets[0].keyframe
    # The oldest GOP starts at or before latest - duration (4.9 - 2 = 2.9).
    assert packets[0].time == pytest.approx(2.0)
    assert ring.latest is not None
    assert ring.latest.time == pytest.approx(4.9)
    assert len(ring) == len(packets) == 30
    assert ring.nbytes == 300
    # A clip from 3.5 starts at the keyframe of 3.0; one from 0 at the oldest.
    assert ring.since(3.5)[0].time == pytest.approx(3.0)
    assert ring.since(0.0)[0].time == pytest.approx(2.0)
    assert ring.since(4.0)[0].time == pytest.approx(4.0)


def test_byte_cap_drops_the_oldest_gops() -> None:
    ring = PacketRing(duration=60.0, max_bytes=250)
    _fill(ring, 5.0)
    assert ring.nbytes <= 250
    assert next(iter(ring)).keyframe
    # One GOP alone over the cap: nothing can be kept.
    ring.add(_packet(10.0, key=True, size=300))
    assert len(ring) == 0


def test_what_cannot_be_decoded_is_refused() -> None:
    ring = PacketRing(duration=2.0, max_bytes=10**6)
    assert not ring.add(_packet(0.0))  # no keyframe yet
    assert ring.add(_packet(0.1, key=True))
    assert not ring.add(_packet(0.1))  # not after the newest
    assert ring.add(_packet(0.2))
    ring.clear(min_generation=1)
    assert len(ring) == 0
    assert not ring.add(_packet(0.3, key=True, gen=0))  # masked with older zones
    assert ring.add(_packet(0.4, key=True, gen=1))
    assert not ring.add(_packet(0.5, gen=2))  # a new generation needs a keyframe
    assert ring.add(_packet(0.6, key=True, gen=2))
    with pytest.raises(ValueError, match="duration"):
        PacketRing(-1, 10)
    with pytest.raises(ValueError, match="max_bytes"):
        PacketRing(1, 0)
