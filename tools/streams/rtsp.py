"""A small RTSP/1.0 server (asyncio, pure Python) that plays a scene like an IP camera.

Enough of RFC 2326 / RFC 6184 for PyAV, the ffmpeg CLI and Home Assistant's
``stream`` component: OPTIONS, DESCRIBE (SDP with ``sprop-parameter-sets``), SETUP
with interleaved RTP over the RTSP TCP connection (``RTP/AVP/TCP``; a UDP-only
request gets 461 so clients fall back to TCP), PLAY, PAUSE, GET_PARAMETER /
SET_PARAMETER (keep-alive) and TEARDOWN; optional Basic or Digest authentication.
H.264 goes out in RTP packetization mode 1 (single NAL unit packets and FU-A) with
90 kHz timestamps, paced in real time from the stream's live clock, looping over
the clip. Several paths can serve different clips (a main stream and a sub-stream).

Why not a package: PyPI has no maintained pure-Python RTSP *server*; the RTSP
packages there are clients (aiortsp), one-person 0.x projects, bindings to native
servers, or wrappers around an external relay, and none has the fault injection
the tests need.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
import hashlib
import hmac
import logging
import re
import secrets
import struct
import time
from typing import Literal
from urllib.parse import urlsplit

from .base import DEFAULT_HOST, LiveClock, StreamSource, sleep_until
from .h264 import RTP_CLOCK, RtpPacketizer, profile_level_id, sprop_parameter_sets
from .scene import SceneClip

_LOGGER = logging.getLogger(__name__)

type AuthScheme = Literal["basic", "digest"]

SERVER_NAME = "Peephole test camera"
PUBLIC_METHODS = (
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER, TEARDOWN"
)
TRACK = "trackID=0"
SESSION_TIMEOUT = 60
# A client more than this far behind the live clock skips to the next keyframe.
MAX_LAG = 1.0
_MAX_HEADER = 16 * 1024
_MAX_BODY = 64 * 1024

_STATUS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    501: "Not Implemented",
}


class _BadRequestError(Exception):
    """A request that cannot be parsed: answer 400 and close."""


@dataclass
class Request:
    """One RTSP request."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def cseq(self) -> str:
        """The request's sequence number (echoed in the response)."""
        return self.headers.get("cseq", "0")

    @property
    def path(self) -> str:
        """The URL's path."""
        return urlsplit(self.url).path or "/"


@dataclass
class Response:
    """One RTSP response."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self, cseq: str) -> bytes:
        """Return the response as sent on the wire."""
        lines = [f"RTSP/1.0 {self.status} {_STATUS.get(self.status, 'Error')}"]
        headers = {"CSeq": cseq, "Server": SERVER_NAME, **self.headers}
        if self.body:
            headers["Content-Length"] = str(len(self.body))
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class _Stream:
    """One served path: its clip and its live clock."""

    path: str
    clip: SceneClip
    clock: LiveClock
    rtp_base: int = field(default_factory=lambda: secrets.randbits(32))

    def rtp_time(self, frame: int) -> int:
        """RTP timestamp (90 kHz) of live frame `frame`."""
        return (self.rtp_base + frame * RTP_CLOCK // self.clip.spec.fps) & 0xFFFFFFFF

    def sdp(self, host: str) -> bytes:
        """Return the session description (SDP)."""
        spec = self.clip.spec
        sps, pps = self.clip.parameter_sets
        lines = [
            "v=0",
            f"o=- {secrets.randbits(31)} 1 IN IP4 {host}",
            f"s={SERVER_NAME}",
            f"c=IN IP4 {host}",
            "t=0 0",
            "a=control:*",
            "a=range:npt=now-",
            "m=video 0 RTP/AVP 96",
            "a=rtpmap:96 H264/90000",
            "a=fmtp:96 packetization-mode=1;"
            f"profile-level-id={profile_level_id(sps)};"
            f"sprop-parameter-sets={sprop_parameter_sets(sps, pps)}",
            f"a=framerate:{spec.fps}",
            f"a=x-dimensions:{spec.width},{spec.height}",
            f"a=control:{TRACK}",
        ]
        return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class SessionStats:
    """What one RTSP session sent."""

    frames: int = 0
    keyframes: int = 0
    skipped: int = 0
    packets: int = 0
    first_frame: int | None = None


class _Session:
    """One client's RTSP session: setup state and the RTP sender."""

    def __init__(self, session_id: str, stream: _Stream, channel: int) -> None:
        self.id = session_id
        self.stream = stream
        self.channel = channel
        self.packetizer = RtpPacketizer()
        self.sender: asyncio.Task[None] | None = None
        self.next_frame: int | None = None
        self.stats = SessionStats()


class RtspServer(StreamSource):
    """Serves scene clips over RTSP (interleaved TCP) in real time.

    ``RtspServer(clip)`` serves one clip at ``/stream``; pass a mapping of paths to
    clips for several (``{"/main": clip_1080p, "/sub": clip_360p}``).
    """

    scheme = "rtsp"

    def __init__(
        self,
        streams: SceneClip | Mapping[str, SceneClip],
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
        auth: AuthScheme = "digest",
        mtu: int = 1400,
    ) -> None:
        """Prepare to serve; nothing listens before :meth:`start`."""
        super().__init__(host=host, port=port, username=username, password=password)
        if isinstance(streams, SceneClip):
            streams = {"/stream": streams}
        if not streams:
            raise ValueError("no stream to serve")
        for path in streams:
            if not path.startswith("/") or path.endswith("/"):
                raise ValueError(f"paths start with / and do not end with it: {path!r}")
        self.default_path = next(iter(streams))
        if auth not in ("basic", "digest"):
            raise ValueError("auth must be basic or digest")
        self._clips = dict(streams)
        self._streams: dict[str, _Stream] = {}
        self.auth: AuthScheme = auth
        self.realm = "Peephole"
        self._secret = secrets.token_bytes(16)
        self.mtu = mtu
        self._connections: dict[asyncio.StreamWriter, set[_Session]] = {}
        self.sessions_total = 0
        self.frames_sent = 0
        self.session_stats: list[SessionStats] = []

    # --- URLs --------------------------------------------------------------------------

    @property
    def paths(self) -> list[str]:
        """The served paths."""
        return list(self._clips)

    # --- state ---------------------------------------------------------------------------

    @property
    def playing(self) -> int:
        """Sessions that are playing now."""
        return sum(
            1
            for sessions in self._connections.values()
            for session in sessions
            if session.sender is not None and not session.sender.done()
        )

    def live_frame(self, path: str | None = None) -> int:
        """Return the live frame counter of a path's stream now."""
        path = path or next(iter(self._clips))
        return self._streams[path].clock.frame_at()

    def clock(self, path: str | None = None) -> LiveClock:
        """Return a path's live clock: when each frame of its stream is sent."""
        return self._streams[path or next(iter(self._clips))].clock

    # --- StreamSource ------------------------------------------------------------------

    async def _start(self) -> None:
        start = time.monotonic()
        for path, clip in self._clips.items():
            clip.access_units  # noqa: B018  (load before serving)
            clip.parameter_sets  # noqa: B018
            self._streams[path] = _Stream(path, clip, LiveClock(clip.spec.fps, start))

    async def _listen(self, port: int) -> asyncio.Server:
        return await asyncio.start_server(
            self._handle, self.host, port, reuse_address=True, limit=_MAX_HEADER
        )

    def _transports(self) -> list[asyncio.WriteTransport]:
        return [writer.transport for writer in self._connections]

    async def _stop(self) -> None:
        senders = [
            session.sender
            for sessions in self._connections.values()
            for session in sessions
            if session.sender is not None
        ]
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    # --- connections ---------------------------------------------------------------------

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._count_connection()
        sessions: set[_Session] = set()
        self._connections[writer] = sessions
        graceful = False
        try:
            await self._serve(reader, writer, sessions)
            graceful = True
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        except _BadRequestError as err:
            _LOGGER.debug("Bad RTSP request: %s", err)
            writer.write(Response(400).encode("0"))
            graceful = True
        finally:
            for session in sessions:
                if session.sender is not None:
                    session.sender.cancel()
            del self._connections[writer]
            if graceful:
                writer.close()
            else:
                writer.transport.abort()

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        sessions: set[_Session],
    ) -> None:
        while True:
            first = await reader.readexactly(1)
            if first == b"$":  # interleaved data from the client (RTCP reports)
                header = await reader.readexactly(3)
                (size,) = struct.unpack("!xH", header)
                await reader.readexactly(size)
                continue
            request = await self._read_request(first, reader)
            self.requests[request.method] += 1
            response = await self._respond(request, writer, sessions)
            writer.write(response.encode(request.cseq))
            await writer.drain()
            if request.method == "TEARDOWN" and response.status == 200:
                return

    async def _read_request(
        self, first: bytes, reader: asyncio.StreamReader
    ) -> Request:
        head = first + await reader.readuntil(b"\r\n\r\n")
        try:
            lines = head.decode("utf-8").split("\r\n")
            method, url, version = lines[0].split(" ")
        except (UnicodeDecodeError, ValueError) as err:
            raise _BadRequestError("request line") from err
        if not version.startswith("RTSP/1."):
            raise _BadRequestError(f"version {version}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequestError(f"header {line!r}")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if not 0 <= length <= _MAX_BODY:
            raise _BadRequestError("body too large")
        body = await reader.readexactly(length) if length else b""
        return Request(method.upper(), url, headers, body)

    # --- methods ---------------------------------------------------------------------------

    async def _respond(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        if request.method != "OPTIONS" and not self._authorized(request):
            self.auth_failures += 1
            return self._challenge()
        handlers = {
            "OPTIONS": self._options,
            "DESCRIBE": self._describe,
            "SETUP": self._setup,
            "PLAY": self._play,
            "PAUSE": self._pause,
            "GET_PARAMETER": self._parameter,
            "SET_PARAMETER": self._parameter,
            "TEARDOWN": self._teardown,
        }
        handler = handlers.get(request.method, self._not_implemented)
        return handler(request, writer, sessions)

    def _options(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        return Response(200, {"Public": PUBLIC_METHODS})

    def _not_implemented(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        return Response(501, {"Public": PUBLIC_METHODS})

    def _parameter(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        if "session" in request.headers and not self._session(request, sessions):
            return Response(454)
        return Response(200)

    def _teardown(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        session = self._session(request, sessions)
        if session is None:
            return Response(454)
        if session.sender is not None:
            session.sender.cancel()
        sessions.discard(session)
        return Response(200)

    def _stream_for(self, url: str) -> _Stream | None:
        path = urlsplit(url).path.rstrip("/")
        if path.endswith("/" + TRACK):
            path = path[: -len(TRACK) - 1]
        return self._streams.get(path)

    def _describe(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        stream = self._stream_for(request.url)
        if stream is None:
            return Response(404)
        base = request.url.split("?")[0].rstrip("/") + "/"
        return Response(
            200,
            {"Content-Base": base, "Content-Type": "application/sdp"},
            stream.sdp(self.host),
        )

    def _setup(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        stream = self._stream_for(request.url)
        if stream is None:
            return Response(404)
        transport = request.headers.get("transport", "")
        tcp = next(
            (
                option
                for option in transport.split(",")
                if option.strip().upper().startswith("RTP/AVP/TCP")
            ),
            None,
        )
        if tcp is None:
            return Response(461)
        match = re.search(r"interleaved=(\d+)", tcp)
        channel = int(match.group(1)) if match else 0
        if "session" in request.headers:
            existing = self._session(request, sessions)
            if existing is None:
                return Response(454)
            if existing.stream is not stream or existing.sender is not None:
                return Response(459)
            existing.channel = channel
            session = existing
        else:
            session = _Session(secrets.token_hex(8), stream, channel)
            sessions.add(session)
            self.sessions_total += 1
        return Response(
            200,
            {
                "Transport": (
                    f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1};"
                    f"ssrc={session.packetizer.ssrc:08X};mode=play"
                ),
                "Session": f"{session.id};timeout={SESSION_TIMEOUT}",
            },
        )

    def _play(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        session = self._session(request, sessions)
        if session is None:
            return Response(454)
        stream = session.stream
        if session.next_frame is None:
            session.next_frame = stream.clock.frame_at() + 1
        if session.sender is None or session.sender.done():
            session.sender = asyncio.get_running_loop().create_task(
                self._send(session, writer)
            )
        track = request.url.split("?")[0].rstrip("/")
        if not track.endswith(TRACK):
            track += "/" + TRACK
        return Response(
            200,
            {
                "Session": f"{session.id};timeout={SESSION_TIMEOUT}",
                "Range": "npt=now-",
                "RTP-Info": (
                    f"url={track};seq={session.packetizer.sequence};"
                    f"rtptime={stream.rtp_time(session.next_frame)}"
                ),
            },
        )

    def _pause(
        self, request: Request, writer: asyncio.StreamWriter, sessions: set[_Session]
    ) -> Response:
        session = self._session(request, sessions)
        if session is None:
            return Response(454)
        if session.sender is not None:
            session.sender.cancel()
            session.sender = None
        session.next_frame = None  # a live source resumes at the live frame
        return Response(200, {"Session": f"{session.id};timeout={SESSION_TIMEOUT}"})

    @staticmethod
    def _session(request: Request, sessions: set[_Session]) -> _Session | None:
        session_id = request.headers.get("session", "").split(";")[0].strip()
        return next((s for s in sessions if s.id == session_id), None)

    # --- sending -----------------------------------------------------------------------------

    async def _send(self, session: _Session, writer: asyncio.StreamWriter) -> None:
        """Send the live stream's frames on time until cancelled or disconnected."""
        stream = session.stream
        units = stream.clip.access_units
        stats = SessionStats()
        self.session_stats.append(stats)
        session.stats = stats
        frame = session.next_frame if session.next_frame is not None else 0
        fps = stream.clip.spec.fps
        try:
            while True:
                if self.stalled:
                    await self.wait_flowing()
                    frame = self._resync(stream, frame, stats)
                    continue
                await sleep_until(stream.clock.due(frame))
                if not self._flowing.is_set():  # stalled while sleeping
                    continue
                if (stream.clock.frame_at() - frame) / fps > MAX_LAG:
                    frame = self._resync(stream, frame, stats)
                    continue
                unit = units[frame % len(units)]
                packets = session.packetizer.packetize(unit, stream.rtp_time(frame))
                writer.write(
                    b"".join(
                        struct.pack("!cBH", b"$", session.channel, len(packet)) + packet
                        for packet in packets
                    )
                )
                if stats.first_frame is None:
                    stats.first_frame = frame
                stats.frames += 1
                stats.keyframes += unit.keyframe
                stats.packets += len(packets)
                self.frames_sent += 1
                frame += 1
                session.next_frame = frame
                await writer.drain()
        except (ConnectionError, RuntimeError):
            # The client went away (drain on a closed transport raises either).
            writer.transport.abort()

    @staticmethod
    def _resync(stream: _Stream, frame: int, stats: SessionStats) -> int:
        """Skip to the first keyframe at or after the live frame.

        Frames after a gap cannot be decoded without the ones skipped, so a stream
        that stalled or fell behind goes on at a keyframe, as a camera's would.
        """
        units = stream.clip.access_units
        target = max(frame, stream.clock.frame_at())
        while not units[target % len(units)].keyframe:
            target += 1
        stats.skipped += target - frame
        return target

    # --- authentication -------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        if self.username is None or self.password is None:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if self.auth == "basic" and scheme.lower() == "basic":
            expected = base64.b64encode(
                f"{self.username}:{self.password}".encode()
            ).decode()
            return hmac.compare_digest(value.strip(), expected)
        if self.auth == "digest" and scheme.lower() == "digest":
            return self._digest_ok(request, value)
        return False

    def _digest_ok(self, request: Request, value: str) -> bool:
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', value))
        if params.get("username") != self.username or params.get("realm") != self.realm:
            return False
        nonce, uri = params.get("nonce", ""), params.get("uri", "")
        if not self._nonce_ok(nonce):
            return False

        def md5(text: str) -> str:
            return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

        ha1 = md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = md5(f"{request.method}:{uri}")
        if params.get("qop"):
            expected = md5(
                f"{ha1}:{nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}:"
                f"{params['qop']}:{ha2}"
            )
        else:
            expected = md5(f"{ha1}:{nonce}:{ha2}")
        return hmac.compare_digest(params.get("response", ""), expected)

    def _challenge(self) -> Response:
        if self.auth == "basic":
            value = f'Basic realm="{self.realm}"'
        else:
            value = f'Digest realm="{self.realm}", nonce="{self._nonce()}"'
        return Response(401, {"WWW-Authenticate": value})

    def _nonce(self) -> str:
        stamp = f"{int(time.time()):x}"
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{stamp}{mac}"

    def _nonce_ok(self, nonce: str) -> bool:
        stamp, mac = nonce[:-16], nonce[-16:]
        expected = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[
            :16
        ]
        return bool(stamp) and hmac.compare_digest(mac, expected)
