"""The RTSP server, read for real by PyAV, the ffmpeg CLI and a raw RTSP client."""

from __future__ import annotations

import asyncio
import base64
import itertools
from pathlib import Path
import re
import struct
import time

import pytest

from tools.streams import RtspServer, SceneClip, SceneSpec, render_scene
from tools.streams.h264 import NAL_FU_A, depacketize, nal_type
from tools.streams.rtsp import AuthScheme

from .common import (
    RTSP_OPTIONS,
    Progress,
    assert_consecutive,
    assert_keyframes,
    assert_real_time,
    jump,
    read_ffmpeg,
    read_pyav,
)
from .conftest import SPEC


async def test_pyav_reads_every_frame_in_real_time(rtsp: RtspServer) -> None:
    """PyAV: frame numbers one by one, keyframes every GOP, at the source's rate."""
    reading = await asyncio.to_thread(read_pyav, rtsp.url(), 75, options=RTSP_OPTIONS)
    assert reading.ended == "count"
    assert_consecutive(reading, SPEC)
    assert_keyframes(reading, SPEC)
    assert_real_time(reading, SPEC.fps)
    # The server's live clock says when it sent each frame: the paced frames (past
    # the client's probing burst) arrive within a frame interval or so of it.
    clock = rtsp.clock()
    lags = []
    for frame in reading.frames[-30:]:
        assert frame.number is not None
        lags.append(
            frame.arrival - clock.sent(frame.number, SPEC.frames, frame.arrival)
        )
    assert 0 <= sorted(lags)[len(lags) // 2] < 0.2, lags
    # Closing the container tears the session down and closes the connection.
    async with asyncio.timeout(5):
        await rtsp.wait_for_clients(0)
    assert rtsp.requests["PLAY"] == 1
    assert rtsp.requests["TEARDOWN"] == 1
    assert rtsp.playing == 0


async def test_ffmpeg_cli_reads_every_frame_in_real_time(rtsp: RtspServer) -> None:
    """The ffmpeg CLI: the same, with keyframes seen by its showinfo filter."""
    reading, code, stderr = await read_ffmpeg(
        rtsp.url(), 75, SPEC.size, input_args=["-rtsp_transport", "tcp"]
    )
    assert code == 0, stderr
    assert len(reading.frames) == 75
    assert_consecutive(reading, SPEC)
    assert_keyframes(reading, SPEC)
    assert_real_time(reading, SPEC.fps)
    async with asyncio.timeout(5):
        await rtsp.wait_for_clients(0)


async def test_udp_is_refused_and_clients_fall_back_to_tcp(rtsp: RtspServer) -> None:
    """Only interleaved TCP: UDP-only SETUP gets 461; ffmpeg's default falls back."""
    reading = await asyncio.to_thread(
        read_pyav, rtsp.url(), 5, options={"rtsp_transport": "udp"}
    )
    assert reading.frames == []
    assert reading.ended != "count"
    reading, code, stderr = await read_ffmpeg(rtsp.url(), 5, SPEC.size)
    assert code == 0, stderr
    assert_consecutive(reading, SPEC)


@pytest.mark.parametrize("auth", ["digest", "basic"])
async def test_authentication(
    socket_enabled: None, clip: SceneClip, auth: AuthScheme
) -> None:
    """Right credentials play; none or a wrong password get 401 and no picture."""
    async with RtspServer(
        clip,
        username="viewer",
        password="s3cret:/@",  # noqa: S106
        auth=auth,
    ) as server:
        assert "s3cret%3A%2F%40@" in server.url()
        reading = await asyncio.to_thread(
            read_pyav, server.url(), 5, options=RTSP_OPTIONS
        )
        assert reading.ended == "count"
        assert_consecutive(reading, SPEC)
        failures = server.auth_failures

        for url in (
            server.url(credentials=False),
            server.url().replace("s3cret%3A%2F%40", "wrong"),
        ):
            reading = await asyncio.to_thread(read_pyav, url, 5, options=RTSP_OPTIONS)
            assert reading.frames == []
            assert reading.ended == "HTTPUnauthorizedError"
        assert server.auth_failures > failures
        assert server.requests["PLAY"] == 1


async def test_drop_ends_the_stream_for_the_client(rtsp: RtspServer) -> None:
    """drop_clients(): the reading client sees its stream end; nobody stays connected."""
    progress = Progress()
    reader = asyncio.ensure_future(
        asyncio.to_thread(
            read_pyav, rtsp.url(), None, options=RTSP_OPTIONS, progress=progress
        )
    )
    await progress.wait(10)
    assert rtsp.clients == 1
    assert rtsp.playing == 1
    dropped_at = time.monotonic()
    assert rtsp.drop_clients() == 1
    async with asyncio.timeout(10):
        reading = await reader
    assert reading.ended != "count"
    assert reading.ended_at - dropped_at < 3
    assert rtsp.clients == 0
    assert rtsp.dropped_connections == 1
    assert_consecutive(reading, SPEC)


async def test_refused_then_reconnects_on_the_same_port(rtsp: RtspServer) -> None:
    """refuse_connections(): connecting fails; accept_connections(): it works again."""
    port = rtsp.port
    rtsp.refuse_connections()
    assert not rtsp.accepting
    reading = await asyncio.to_thread(read_pyav, rtsp.url(), 5, options=RTSP_OPTIONS)
    assert reading.ended == "ConnectionRefusedError"
    _, code, stderr = await read_ffmpeg(
        rtsp.url(), 5, SPEC.size, input_args=["-rtsp_transport", "tcp"]
    )
    assert code != 0
    assert "Connection refused" in stderr
    assert rtsp.connections_total == 0

    await rtsp.accept_connections()
    assert rtsp.port == port
    reading = await asyncio.to_thread(read_pyav, rtsp.url(), 5, options=RTSP_OPTIONS)
    assert reading.ended == "count"
    assert_consecutive(reading, SPEC)


async def test_outage_and_a_client_that_reconnects(rtsp: RtspServer) -> None:
    """outage(): the stream breaks, reconnects fail for its length, then succeed."""
    progress = Progress()
    first = asyncio.ensure_future(
        asyncio.to_thread(
            read_pyav, rtsp.url(), None, options=RTSP_OPTIONS, progress=progress
        )
    )
    await progress.wait(5)
    started = time.monotonic()
    assert rtsp.outage(1.5) == 1
    async with asyncio.timeout(10):
        reading = await first
    assert reading.ended != "count"

    refused = 0
    while True:
        reading = await asyncio.to_thread(
            read_pyav, rtsp.url(), 3, options=RTSP_OPTIONS
        )
        if reading.ended == "count":
            break
        assert reading.ended == "ConnectionRefusedError"
        refused += 1
        assert time.monotonic() - started < 10, "never reconnected"
        await asyncio.sleep(0.2)
    back = time.monotonic() - started
    assert refused >= 1
    assert 1.4 <= back < 6, back
    assert rtsp.accepting
    assert_consecutive(reading, SPEC)


async def test_stall_pauses_then_resumes_at_a_keyframe(rtsp: RtspServer) -> None:
    """stall(): nothing arrives for its length; the stream goes on at a keyframe."""
    progress = Progress()
    reader = asyncio.ensure_future(
        asyncio.to_thread(
            read_pyav, rtsp.url(), 90, options=RTSP_OPTIONS, progress=progress
        )
    )
    # Past what the client buffered while probing: it now gets frames as they come.
    await progress.wait(45)
    rtsp.stall(1.5)
    assert rtsp.stalled
    async with asyncio.timeout(20):
        reading = await reader
    assert not rtsp.stalled
    assert reading.ended == "count"
    numbers = reading.numbers
    assert None not in numbers, numbers  # no picture broken by the gap
    steps = jump(numbers, SPEC)
    gaps = [i for i, step in enumerate(steps) if step != 1]
    assert len(gaps) == 1, numbers
    after = numbers[gaps[0] + 1]
    assert after is not None
    assert after % SPEC.gop_frames == 0
    assert reading.frames[gaps[0] + 1].keyframe
    assert steps[gaps[0]] >= 1.5 * SPEC.fps - 2
    # The decoder may hold one picture back, so the silence need not sit exactly
    # at the jump: the longest pause between pictures is the stall.
    arrivals = [frame.arrival for frame in reading.frames]
    silence = max(b - a for a, b in itertools.pairwise(arrivals))
    assert silence >= 1.3, silence


async def test_clients_share_one_live_stream_and_paths(
    socket_enabled: None, clip: SceneClip, scene_dir: Path
) -> None:
    """Two clients see the same live frames; a second path serves another clip."""
    sub_spec = SceneSpec(width=320, height=240, fps=10, gop_seconds=1.0, duration=4.0)
    sub = await asyncio.to_thread(render_scene, sub_spec, scene_dir)
    async with RtspServer({"/main": clip, "/sub": sub}) as server:
        assert server.paths == ["/main", "/sub"]
        assert server.url() == f"rtsp://127.0.0.1:{server.port}/main"
        one, two, small = await asyncio.gather(
            asyncio.to_thread(read_pyav, server.url(), 30, options=RTSP_OPTIONS),
            asyncio.to_thread(read_pyav, server.url(), 30, options=RTSP_OPTIONS),
            asyncio.to_thread(read_pyav, server.url("/sub"), 20, options=RTSP_OPTIONS),
        )
        for reading in (one, two):
            assert_consecutive(reading, SPEC)
        assert_consecutive(small, sub_spec)
        assert_keyframes(small, sub_spec)
        # Live: both started at a keyframe near the same moment.
        assert len(set(one.numbers) & set(two.numbers)) >= 15
        assert server.sessions_total == 3
        async with asyncio.timeout(5):
            await server.wait_for_clients(0)


async def test_1080p_main_profile_with_fragmented_nal_units(
    socket_enabled: None, scene_dir: Path
) -> None:
    """A 1920x1080 stream: keyframes far larger than a packet go out as FU-A."""
    spec = SceneSpec(width=1920, height=1080, fps=15, gop_seconds=1.0, duration=2.0)
    clip = await asyncio.to_thread(render_scene, spec, scene_dir)
    async with RtspServer(clip) as server:
        reading = await asyncio.to_thread(
            read_pyav, server.url(), 20, options=RTSP_OPTIONS
        )
        assert reading.ended == "count"
        assert_consecutive(reading, spec)
        assert_keyframes(reading, spec)
        stats = server.session_stats[0]
        assert stats.packets > stats.frames * 2  # fragmented
        assert stats.keyframes >= 1


# --- the protocol, spoken by hand ---------------------------------------------------


class RawClient:
    """A minimal RTSP client over one TCP connection."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.cseq = 0

    async def request(
        self, method: str, url: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        while True:
            first = await self.reader.readexactly(1)
            if first != b"$":
                break
            _, size = struct.unpack("!BH", await self.reader.readexactly(3))
            await self.reader.readexactly(size)
        head = (first + await self.reader.readuntil(b"\r\n\r\n")).decode()
        status_line, *header_lines = head.strip().split("\r\n")
        headers_in = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in header_lines)
        }
        assert headers_in["cseq"] == str(self.cseq)
        length = int(headers_in.get("content-length", 0))
        body = await self.reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), headers_in, body

    async def packet(self) -> tuple[int, bytes]:
        header = await self.reader.readexactly(4)
        assert header[:1] == b"$"
        channel, size = struct.unpack("!BH", header[1:])
        return channel, await self.reader.readexactly(size)


async def test_rtsp_protocol_by_hand(rtsp: RtspServer, clip: SceneClip) -> None:
    """OPTIONS, DESCRIBE, SETUP, PLAY, keep-alive and TEARDOWN, and the RTP itself."""
    reader, writer = await asyncio.open_connection("127.0.0.1", rtsp.port)
    client = RawClient(reader, writer)
    url = rtsp.url()
    try:
        status, headers, _ = await client.request("OPTIONS", url)
        assert status == 200
        assert "DESCRIBE" in headers["public"]
        assert "GET_PARAMETER" in headers["public"]

        status, _, _ = await client.request("DESCRIBE", url.replace("/stream", "/nope"))
        assert status == 404

        status, headers, body = await client.request(
            "DESCRIBE", url, {"Accept": "application/sdp"}
        )
        assert status == 200
        assert headers["content-type"] == "application/sdp"
        assert headers["content-base"] == url + "/"
        sdp = body.decode()
        sps, pps = clip.parameter_sets
        sprop = f"{base64.b64encode(sps).decode()},{base64.b64encode(pps).decode()}"
        assert f"sprop-parameter-sets={sprop}" in sdp
        assert "packetization-mode=1" in sdp
        assert "a=rtpmap:96 H264/90000" in sdp
        assert f"profile-level-id={sps[1:4].hex().upper()}" in sdp
        assert sps[1] == 77  # main profile

        track = url + "/trackID=0"
        status, _, _ = await client.request(
            "SETUP", track, {"Transport": "RTP/AVP;unicast;client_port=5000-5001"}
        )
        assert status == 461
        status, headers, _ = await client.request(
            "SETUP", track, {"Transport": "RTP/AVP/TCP;unicast;interleaved=4-5"}
        )
        assert status == 200
        assert "interleaved=4-5" in headers["transport"]
        ssrc = int(re.search(r"ssrc=([0-9A-F]+)", headers["transport"]).group(1), 16)  # type: ignore[union-attr]
        session = headers["session"].split(";")[0]

        status, _, _ = await client.request("PLAY", url, {"Session": "wrong"})
        assert status == 454
        status, headers, _ = await client.request("PLAY", url, {"Session": session})
        assert status == 200
        seq0 = int(re.search(r"seq=(\d+)", headers["rtp-info"]).group(1))  # type: ignore[union-attr]
        rtptime0 = int(re.search(r"rtptime=(\d+)", headers["rtp-info"]).group(1))  # type: ignore[union-attr]

        # Two seconds of RTP: whole access units, in order, on channel 4.
        units: list[tuple[int, list[bytes]]] = []
        current: list[bytes] = []
        arrivals: list[float] = []
        sequence = seq0
        while len(units) < 2 * SPEC.fps:
            channel, packet = await client.packet()
            assert channel == 4
            version, marker_pt, seq, timestamp, packet_ssrc = struct.unpack_from(
                "!BBHII", packet
            )
            assert version == 0x80
            assert marker_pt & 0x7F == 96
            assert packet_ssrc == ssrc
            assert seq == sequence
            sequence = (sequence + 1) & 0xFFFF
            current.append(packet)
            if marker_pt & 0x80:
                units.append((timestamp, current))
                arrivals.append(time.monotonic())
                current = []
        assert units[0][0] == rtptime0
        steps = {(b[0] - a[0]) & 0xFFFFFFFF for a, b in itertools.pairwise(units)}
        assert steps == {90_000 // SPEC.fps}
        assert 1.7 < arrivals[-1] - arrivals[0] < 2.3  # 29 frame intervals at 15 fps
        # Each access unit depacketizes to exactly one of the clip's.
        by_bytes = {unit.nals: index for index, unit in enumerate(clip.access_units)}
        indices = [by_bytes[tuple(depacketize(packets))] for _, packets in units]
        assert jump(indices, SPEC) == [1] * (len(indices) - 1)
        assert any(
            nal_type(packet[12:]) == NAL_FU_A
            for _, packets in units
            for packet in packets
        )

        status, _, _ = await client.request("GET_PARAMETER", url, {"Session": session})
        assert status == 200
        assert rtsp.requests["GET_PARAMETER"] == 1

        status, _, _ = await client.request("TEARDOWN", url, {"Session": session})
        assert status == 200
        async with asyncio.timeout(5):
            await reader.read()  # to the end: the server closes after TEARDOWN
        async with asyncio.timeout(5):
            await rtsp.wait_for_clients(0)
    finally:
        writer.close()
