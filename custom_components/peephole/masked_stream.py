"""The masked stream: Home Assistant's own stream machinery, fed only masked video.

The masked camera offers a stream (``CameraEntityFeature.STREAM``). Its
``stream_source()`` is an internal URL served by Home Assistant's own HTTP server
(no socket of Peephole's own): ``GET /api/peephole/stream/<entry>/live.ts`` sends
the doorbell's masked H.264 (the one masked encode that also feeds the pre-roll
and the clips) as an MPEG transport stream. HA's ``stream`` component reads it as
it reads any camera's stream and makes HLS of it (and go2rtc, where HA runs it,
WebRTC), so the frontend, cards and ``camera.play_stream`` work unchanged, and no
unmasked byte takes part.

The URL is only for the HA host: a request must come from the host itself
(loopback, or the address HA serves on), directly (no forwarding header: a
reverse proxy on the host must not relay a visitor to it), with a credential in
HTTP Basic auth (so it never appears in a request line or an access log).
Peephole rotates the credential, and never logs it.

Privacy mode ends every masked stream at once, and the masked camera stops
offering a stream until it is off again (the frontend shows the placeholder).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import hmac
from http import HTTPStatus
import ipaddress
import secrets
import time
from typing import TYPE_CHECKING, Any, Final

from aiohttp import hdrs, web
import av
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import DOMAIN, LOGGER
from .source import DEMAND_STREAM
from .video import TIME_BASE, EncodedPacket, VideoError, add_h264_stream

if TYPE_CHECKING:
    from .doorbell import Peephole, PeepholeConfigEntry

STREAM_URL: Final = "/api/peephole/stream/{entry_id}/live.ts"
STREAM_USER: Final = "peephole"
CONTENT_TYPE: Final = "video/mp2t"
# The previous credential stays good this long after a rotation (HA's stream
# worker gets the new URL at once; a connection it opens meanwhile still works).
ROTATION_GRACE: Final = 60.0
# A reader that falls this far behind (seconds of video queued) is cut off.
MAX_BACKLOG: Final = 10.0
# Waiting this long for the first picture, the stream gives up (HA retries).
FIRST_PICTURE_TIMEOUT: Final = 20.0
# A stream starts at a timestamp of 1 s (some readers dislike pts near 0).
PTS_OFFSET: Final = 90000
_FORWARDING_HEADERS: Final = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


@dataclass(slots=True)
class StreamCredential:
    """The current credential of one doorbell's internal stream URL (rotated)."""

    current: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    previous: str | None = None
    rotated_at: float = 0.0

    def rotate(self) -> None:
        """Make a new credential; the old one stays good for ``ROTATION_GRACE``."""
        self.previous, self.current = self.current, secrets.token_urlsafe(32)
        self.rotated_at = time.monotonic()

    def accepts(self, password: str) -> bool:
        """Whether ``password`` is the credential (or the one just rotated out)."""
        good = hmac.compare_digest(password.encode(), self.current.encode())
        if self.previous is not None and (
            time.monotonic() - self.rotated_at < ROTATION_GRACE
        ):
            good |= hmac.compare_digest(password.encode(), self.previous.encode())
        return good


def internal_url(hass: HomeAssistant, entry_id: str, credential: str) -> str:
    """Return the URL HA's stream machinery reads the masked stream from."""
    http = hass.http
    scheme = "https" if getattr(http, "ssl_certificate", None) else "http"
    host = _serving_host(hass)
    port = getattr(http, "server_port", None) or 8123
    path = STREAM_URL.format(entry_id=entry_id)
    return f"{scheme}://{STREAM_USER}:{credential}@{host}:{port}{path}"


def _serving_host(hass: HomeAssistant) -> str:
    """Return the host address to reach HA's HTTP server on from the host itself."""
    hosts = getattr(hass.http, "server_host", None) or []
    if not hosts or any(h in ("0.0.0.0", "::", "127.0.0.1", "::1") for h in hosts):  # noqa: S104 - "all addresses" means loopback serves too
        return "127.0.0.1"
    host = str(hosts[0])
    return f"[{host}]" if ":" in host else host


def _host_addresses(hass: HomeAssistant) -> set[str]:
    hosts = getattr(hass.http, "server_host", None) or []
    return {str(h) for h in hosts}


def is_host_local(request: web.Request, hass: HomeAssistant) -> bool:
    """Whether a request comes straight from the HA host itself.

    Both the TCP peer and the client address HA's forwarded middleware decided
    must be the host (loopback, or an address HA serves on), and the request
    must carry no forwarding header.
    """
    if any(name in request.headers for name in _FORWARDING_HEADERS):
        return False
    peer = request.transport.get_extra_info("peername") if request.transport else None
    addresses = [peer[0] if isinstance(peer, tuple) and peer else None, request.remote]
    own = _host_addresses(hass)
    for address in addresses:
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not (ip.is_loopback or str(ip) in own):
            return False
    return True


def _basic_password(request: web.Request) -> str | None:
    """Return the password of a ``Basic`` Authorization for STREAM_USER, or None."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or len(value) > 512:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not hmac.compare_digest(user.encode(), STREAM_USER.encode()):
        return None
    return password


class TsMuxer:
    """Muxes encoded packets into MPEG-TS bytes (blocking: executor)."""

    def __init__(self) -> None:
        """Prepare (the container opens with the first keyframe)."""
        self._chunks: list[bytes] = []
        self._container: Any = None
        self._stream: Any = None
        self._offset = 0
        self._last_pts: int | None = None

    def write(self, data: bytes) -> int:
        """Take bytes from the muxer (it writes here)."""
        self._chunks.append(bytes(data))
        return len(data)

    def mux(self, packets: list[EncodedPacket]) -> bytes:
        """Return the transport stream bytes of ``packets`` (from a keyframe on)."""
        for packet in packets:
            if self._container is None:
                if not packet.keyframe:
                    continue
                self._open(packet)
            if self._last_pts is not None and packet.pts <= self._last_pts:
                continue
            out = av.Packet(packet.data)
            out.pts = out.dts = packet.pts - self._offset
            out.time_base = TIME_BASE
            out.is_keyframe = packet.keyframe
            out.stream = self._stream
            try:
                self._container.mux(out)
            except av.FFmpegError as err:
                raise VideoError(f"cannot mux the stream: {err}") from err
            self._last_pts = packet.pts
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data

    def _open(self, first: EncodedPacket) -> None:
        # Each picture's PES packet says its length (where it fits in the 16-bit
        # field): a reader (HA's stream worker) then has the picture as soon as
        # its bytes are in, not when the next picture starts, one frame later.
        container = av.open(
            self, "w", format="mpegts", options={"omit_video_pes_length": "0"}
        )
        self._container = container
        self._stream = add_h264_stream(container, first)
        self._offset = first.pts - PTS_OFFSET

    def close(self) -> None:
        """Close the container (nothing more is sent)."""
        if self._container is not None:
            with contextlib.suppress(av.FFmpegError):
                self._container.close()
            self._container = None


def loaded_peephole(hass: HomeAssistant, entry_id: str) -> Peephole | None:
    """Return the Peephole of a loaded entry, or None."""
    entry: PeepholeConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if (
        entry is None
        or entry.domain != DOMAIN
        or entry.state is not ConfigEntryState.LOADED
    ):
        return None
    return entry.runtime_data


class MaskedStreamView(HomeAssistantView):
    """Serve a doorbell's masked stream to HA's stream machinery on the same host."""

    url = STREAM_URL
    name = "api:peephole:stream"
    requires_auth = False  # HTTP Basic, with Peephole's rotating credential

    async def get(self, request: web.Request, entry_id: str) -> web.StreamResponse:
        """Stream the masked video as MPEG-TS until privacy mode, unload or hang-up."""
        hass = request.app[KEY_HASS]
        peephole = loaded_peephole(hass, entry_id)
        if not is_host_local(request, hass) or peephole is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        password = _basic_password(request)
        if password is None or not peephole.stream_credential.accepts(password):
            return web.Response(
                status=HTTPStatus.UNAUTHORIZED,
                headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="peephole"'},
            )
        source = peephole.view_source
        if peephole.privacy_mode or source is None:
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        return await _async_stream(hass, request, peephole, source)


async def _async_stream(
    hass: HomeAssistant, request: web.Request, peephole: Peephole, source: Any
) -> web.StreamResponse:
    """Send packets from the newest keyframe on, as they come."""
    queue: asyncio.Queue[EncodedPacket | None] = asyncio.Queue()
    turned_on = peephole.privacy_turned_on
    feed = source.feed
    release = source.async_acquire(DEMAND_STREAM)
    unsubscribe = feed.subscribe(queue.put_nowait)
    stop_on_change = peephole.async_add_listener(
        lambda: queue.put_nowait(None) if peephole.private_since(turned_on) else None
    )
    peephole.stream_connections += 1
    muxer = TsMuxer()
    response = web.StreamResponse(
        status=HTTPStatus.OK,
        headers={hdrs.CONTENT_TYPE: CONTENT_TYPE, hdrs.CACHE_CONTROL: "no-store"},
    )
    try:
        # A viewer starts at the current GOP (its keyframe is at most a second
        # old); with none buffered, the next picture is made a keyframe.
        start = feed.ring.since(time.time()) if feed.ring is not None else []
        if not start:
            feed.request_keyframe()
        await response.prepare(request)
        pending: list[EncodedPacket] = list(start)
        async with asyncio.timeout(FIRST_PICTURE_TIMEOUT) as first:
            while not pending or not any(p.keyframe for p in pending):
                if (packet := await queue.get()) is None:
                    return response
                pending.append(packet)
            first.reschedule(None)
            while True:
                if pending:
                    await _async_send(hass, response, muxer, pending, feed)
                    pending = []
                if (packet := await queue.get()) is None:
                    break  # privacy mode
                pending.append(packet)
                while not queue.empty():
                    if (more := queue.get_nowait()) is None:
                        return response
                    pending.append(more)
                if pending[-1].time - pending[0].time > MAX_BACKLOG:
                    LOGGER.debug(
                        "%s: a stream reader fell behind", peephole.entry.title
                    )
                    break
    except (TimeoutError, ConnectionResetError, VideoError) as err:
        LOGGER.debug("%s: masked stream ended: %s", peephole.entry.title, err)
    finally:
        peephole.stream_connections -= 1
        stop_on_change()
        unsubscribe()
        release()
        await hass.async_add_executor_job(muxer.close)
    return response


async def _async_send(
    hass: HomeAssistant,
    response: web.StreamResponse,
    muxer: TsMuxer,
    packets: list[EncodedPacket],
    feed: Any,
) -> None:
    """Mux and send packets masked with the current zones (older ones are dropped)."""
    fresh = [p for p in packets if p.generation >= feed.min_generation]
    data = await hass.async_add_executor_job(muxer.mux, fresh)
    if data:
        await response.write(data)


def rotation_due(credential: StreamCredential, period: float) -> bool:
    """Whether the credential is older than ``period`` seconds."""
    return time.monotonic() - credential.rotated_at >= period


type Rotator = Callable[[], None]
