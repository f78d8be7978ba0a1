"""H.264 Annex B parsing and RTP packetization (RFC 6184, packetization mode 1).

Only what a camera-like RTSP server needs: split an Annex B byte stream into NAL
units and access units (one per frame), find the parameter sets for the SDP, and
cut each access unit into RTP packets: a NAL unit that fits goes alone (single NAL
unit packet), a larger one is split into FU-A fragments. The marker bit is set on
the last packet of each access unit.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
import secrets
import struct

NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
NAL_STAP_A = 24
NAL_FU_A = 28
_VCL = frozenset({NAL_SLICE, 2, 3, 4, NAL_IDR})
# NAL types that, after a picture's slices, start the next access unit.
_AU_STARTERS = frozenset({NAL_AUD, NAL_SEI, NAL_SPS, NAL_PPS, 14, 15, 16, 17, 18})

RTP_CLOCK = 90_000
DEFAULT_MTU = 1400  # RTP payload bytes per packet


def nal_type(nal: bytes) -> int:
    """Return the NAL unit type (low 5 bits of the header byte)."""
    return nal[0] & 0x1F


def split_nal_units(data: bytes) -> list[bytes]:
    """Split an Annex B byte stream at its start codes (3 or 4 bytes)."""
    units: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        end = data.find(b"\x00\x00\x01", begin)
        chunk = data[begin : end if end >= 0 else len(data)]
        chunk = chunk.rstrip(b"\x00")  # trailing zeros / a 4-byte start code's first 0
        if chunk:
            units.append(chunk)
        start = end
    return units


@dataclass(frozen=True)
class AccessUnit:
    """The NAL units of one picture, in decode order (no start codes)."""

    nals: tuple[bytes, ...]

    @property
    def keyframe(self) -> bool:
        """Whether this is an IDR picture."""
        return any(nal_type(nal) == NAL_IDR for nal in self.nals)

    @property
    def size(self) -> int:
        """Total bytes of its NAL units."""
        return sum(len(nal) for nal in self.nals)

    def annexb(self) -> bytes:
        """Return the access unit as an Annex B byte string."""
        return b"".join(b"\x00\x00\x00\x01" + nal for nal in self.nals)


def group_access_units(nals: Iterable[bytes]) -> list[AccessUnit]:
    """Group NAL units into access units (H.264 7.4.1.2.3, single-slice friendly)."""
    units: list[AccessUnit] = []
    current: list[bytes] = []
    has_picture = False
    for nal in nals:
        kind = nal_type(nal)
        first_slice = kind in _VCL and len(nal) > 1 and bool(nal[1] & 0x80)
        if has_picture and (kind in _AU_STARTERS or first_slice):
            units.append(AccessUnit(tuple(current)))
            current, has_picture = [], False
        current.append(nal)
        has_picture = has_picture or kind in _VCL
    if has_picture:
        units.append(AccessUnit(tuple(current)))
    return units


def split_access_units(data: bytes) -> list[AccessUnit]:
    """Split an Annex B byte stream into access units (delimiters dropped)."""
    return [
        AccessUnit(tuple(nal for nal in unit.nals if nal_type(nal) != NAL_AUD))
        for unit in group_access_units(split_nal_units(data))
    ]


def parameter_sets(units: Iterable[AccessUnit]) -> tuple[bytes, bytes]:
    """Return the first SPS and PPS found in the access units."""
    sps = pps = None
    for unit in units:
        for nal in unit.nals:
            if nal_type(nal) == NAL_SPS and sps is None:
                sps = nal
            elif nal_type(nal) == NAL_PPS and pps is None:
                pps = nal
        if sps is not None and pps is not None:
            return sps, pps
    raise ValueError("no SPS/PPS in the stream")


def profile_level_id(sps: bytes) -> str:
    """Return the SDP profile-level-id (profile, constraints, level) in hex."""
    return sps[1:4].hex().upper()


def sprop_parameter_sets(sps: bytes, pps: bytes) -> str:
    """Return the SDP sprop-parameter-sets value: base64 SPS and PPS."""
    return ",".join(base64.b64encode(nal).decode("ascii") for nal in (sps, pps))


class RtpPacketizer:
    """Turns access units into RTP packets for one H.264 stream."""

    def __init__(
        self,
        *,
        payload_type: int = 96,
        ssrc: int | None = None,
        sequence: int | None = None,
        mtu: int = DEFAULT_MTU,
    ) -> None:
        """Start with a random SSRC and sequence number unless given."""
        if mtu < 100:
            raise ValueError("mtu too small")
        self.payload_type = payload_type
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc
        self.sequence = secrets.randbits(16) if sequence is None else sequence
        self.mtu = mtu
        self.packets = 0
        self.octets = 0

    def _header(self, timestamp: int, *, marker: bool) -> bytes:
        header = struct.pack(
            "!BBHII",
            0x80,
            (0x80 if marker else 0) | self.payload_type,
            self.sequence,
            timestamp & 0xFFFFFFFF,
            self.ssrc,
        )
        self.sequence = (self.sequence + 1) & 0xFFFF
        return header

    def _payloads(self, nal: bytes) -> list[bytes]:
        if len(nal) <= self.mtu:
            return [nal]
        indicator = (nal[0] & 0xE0) | NAL_FU_A
        kind = nal[0] & 0x1F
        body = nal[1:]
        step = self.mtu - 2
        chunks = [body[i : i + step] for i in range(0, len(body), step)]
        payloads = []
        for index, chunk in enumerate(chunks):
            fu_header = kind
            if index == 0:
                fu_header |= 0x80
            if index == len(chunks) - 1:
                fu_header |= 0x40
            payloads.append(bytes((indicator, fu_header)) + chunk)
        return payloads

    def packetize(
        self, unit: AccessUnit | Sequence[bytes], timestamp: int
    ) -> list[bytes]:
        """RTP packets for one access unit at an RTP timestamp (90 kHz)."""
        nals = unit.nals if isinstance(unit, AccessUnit) else tuple(unit)
        payloads = [payload for nal in nals for payload in self._payloads(nal)]
        packets = []
        for index, payload in enumerate(payloads):
            marker = index == len(payloads) - 1
            packets.append(self._header(timestamp, marker=marker) + payload)
            self.octets += len(payload)
        self.packets += len(packets)
        return packets


def depacketize(packets: Iterable[bytes]) -> list[bytes]:
    """Rebuild NAL units from RTP H.264 packets (single NAL, STAP-A, FU-A).

    For tests of the packetizer; assumes the packets are in order and complete.
    """
    nals: list[bytes] = []
    fragment: bytearray | None = None
    for packet in packets:
        csrc_count = packet[0] & 0x0F
        payload = packet[12 + 4 * csrc_count :]
        kind = payload[0] & 0x1F
        if kind == NAL_FU_A:
            header = payload[1]
            if header & 0x80:
                fragment = bytearray(((payload[0] & 0xE0) | (header & 0x1F),))
            if fragment is None:
                raise ValueError("FU-A continuation without a start")
            fragment += payload[2:]
            if header & 0x40:
                nals.append(bytes(fragment))
                fragment = None
        elif kind == NAL_STAP_A:
            offset = 1
            while offset + 2 <= len(payload):
                (size,) = struct.unpack_from("!H", payload, offset)
                nals.append(payload[offset + 2 : offset + 2 + size])
                offset += 2 + size
        else:
            nals.append(payload)
    return nals
