"""HTTP stream sources on aiohttp: live HLS (written by ffmpeg) and MJPEG.

- :class:`HlsServer`: an ffmpeg process reads the scene's MP4 in real time
  (``-re -stream_loop -1``) and writes a live HLS playlist with MPEG-TS segments
  (one GOP each) into a temporary folder; aiohttp serves them. Faults: drop,
  refuse, outage, stall (the playlist stops advancing), and :meth:`end_stream`
  (the playlist gets ``#EXT-X-ENDLIST``: clients play what is listed, then see the
  end of the stream).
- :class:`MjpegServer`: ``multipart/x-mixed-replace`` JPEGs of the scene paced by
  the live clock (as an IP camera's MJPEG URL), and a still at ``/snapshot.jpg``.

Both answer on 127.0.0.1 by default, optionally behind HTTP Basic authentication.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
from pathlib import Path
import re
import shutil
import tempfile
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from .base import DEFAULT_HOST, LiveClock, StreamSource, sleep_until
from .scene import SceneClip, ffmpeg_binary

_LOGGER = logging.getLogger(__name__)

BOUNDARY = "peepholeframe"
# A client more than this far behind the live clock skips to the live frame.
MAX_LAG = 1.0
_POLL = 0.1
_SEGMENT = re.compile(r"^seg_\d{6}\.ts$")


class HttpSource(StreamSource):
    """An aiohttp application behind the shared listener and fault injection."""

    scheme = "http"

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """Prepare; nothing listens before :meth:`start`."""
        super().__init__(host=host, port=port, username=username, password=password)
        self._runner: web.AppRunner | None = None
        self._closing = False

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _start(self) -> None:
        self._closing = False
        app = web.Application(middlewares=[self._middleware])
        self._routes(app)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=2.0
        )
        await self._runner.setup()

    async def _listen(self, port: int) -> asyncio.Server:
        assert self._runner is not None  # noqa: S101
        server = self._runner.server
        assert server is not None  # noqa: S101
        return await asyncio.get_running_loop().create_server(
            server, self.host, port, reuse_address=True
        )

    def _transports(self) -> list[asyncio.WriteTransport]:
        if self._runner is None or self._runner.server is None:
            return []
        return [
            handler.transport
            for handler in self._runner.server.connections
            if handler.transport is not None
        ]

    async def _stop(self) -> None:
        self._closing = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Handler,
    ) -> web.StreamResponse:
        self.requests[request.path] += 1
        if not self._authorized(request):
            self.auth_failures += 1
            raise web.HTTPUnauthorized(
                headers={"WWW-Authenticate": 'Basic realm="Peephole"'}
            )
        response: web.StreamResponse = await handler(request)
        return response

    def _authorized(self, request: web.Request) -> bool:
        if self.username is None or self.password is None:
            return True
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(decoded, f"{self.username}:{self.password}")

    def _gone(self, request: web.Request) -> bool:
        transport = request.transport
        return self._closing or transport is None or transport.is_closing()


class MjpegServer(HttpSource):
    """Serves the scene as MJPEG over HTTP (``/video.mjpeg``) and stills."""

    MJPEG_PATH = "/video.mjpeg"
    SNAPSHOT_PATH = "/snapshot.jpg"
    default_path = MJPEG_PATH

    def __init__(
        self,
        clip: SceneClip,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """Serve `clip` once started."""
        super().__init__(host=host, port=port, username=username, password=password)
        self.clip = clip
        self.clock = LiveClock(clip.spec.fps)
        self.streams = 0
        self.frames_sent = 0

    @property
    def mjpeg_url(self) -> str:
        """The MJPEG stream's URL."""
        return self.url(self.MJPEG_PATH)

    @property
    def snapshot_url(self) -> str:
        """The still picture's URL."""
        return self.url(self.SNAPSHOT_PATH)

    @property
    def active_streams(self) -> int:
        """MJPEG responses being sent now."""
        return self.streams

    async def _start(self) -> None:
        await asyncio.to_thread(lambda: self.clip.jpegs)
        self.clock = LiveClock(self.clip.spec.fps)
        await super()._start()

    def _routes(self, app: web.Application) -> None:
        app.router.add_get(self.MJPEG_PATH, self._mjpeg)
        app.router.add_get(self.SNAPSHOT_PATH, self._snapshot)

    def _jpeg(self, frame: int) -> bytes:
        pictures = self.clip.jpegs
        return pictures[frame % len(pictures)]

    async def _snapshot(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._jpeg(self.clock.frame_at()),
            content_type="image/jpeg",
            headers={"Cache-Control": "no-store"},
        )

    async def _mjpeg(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        self.streams += 1
        fps = self.clip.spec.fps
        frame = self.clock.frame_at()
        try:
            while not self._gone(request):
                if self.stalled:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(_POLL):
                            await self.wait_flowing()
                    frame = max(frame, self.clock.frame_at())
                    continue
                due = self.clock.due(frame)
                if due - time.monotonic() > _POLL:
                    await asyncio.sleep(_POLL)
                    continue
                await sleep_until(due)
                live = self.clock.frame_at()
                if (live - frame) / fps > MAX_LAG:
                    frame = live
                jpeg = self._jpeg(frame)
                await response.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )
                self.frames_sent += 1
                frame += 1
        except (ConnectionError, RuntimeError):
            pass  # the client went away or was dropped
        finally:
            self.streams -= 1
        return response


class HlsServer(HttpSource):
    """Serves the scene as live HLS (``/stream.m3u8``) written by ffmpeg."""

    PLAYLIST_PATH = "/stream.m3u8"
    default_path = PLAYLIST_PATH

    def __init__(
        self,
        clip: SceneClip,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
        list_size: int = 6,
        ffmpeg: str | None = None,
        ready_segments: int = 1,
    ) -> None:
        """Serve `clip` once started; start() waits for `ready_segments` segments."""
        super().__init__(host=host, port=port, username=username, password=password)
        self.clip = clip
        self.list_size = list_size
        self.ffmpeg = ffmpeg
        self.ready_segments = ready_segments
        self.directory: Path | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._frozen_playlist: str | None = None
        self.ended = False

    @property
    def playlist_url(self) -> str:
        """The live playlist's URL."""
        return self.url(self.PLAYLIST_PATH)

    @property
    def ffmpeg_returncode(self) -> int | None:
        """Return ffmpeg's exit code if it has ended (it should not while serving)."""
        return None if self._process is None else self._process.returncode

    async def _start(self) -> None:
        spec = self.clip.spec
        self.directory = Path(tempfile.mkdtemp(prefix="peephole-hls-"))
        self._frozen_playlist = None
        self.ended = False
        command = [
            self.ffmpeg or ffmpeg_binary(),
            "-hide_banner", "-loglevel", "error", "-nostdin",
            "-re", "-stream_loop", "-1", "-i", str(self.clip.mp4_path),
            "-c", "copy", "-f", "hls",
            "-hls_time", f"{spec.gop_seconds:g}",
            "-hls_list_size", str(self.list_size),
            "-hls_flags", "delete_segments+independent_segments+temp_file",
            "-hls_segment_filename", str(self.directory / "seg_%06d.ts"),
            str(self.directory / "stream.m3u8"),
        ]  # fmt: skip
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
        )
        try:
            async with asyncio.timeout(spec.gop_seconds * self.ready_segments + 15):
                await self.wait_segments(self.ready_segments)
            await super()._start()
        except BaseException:
            await self._stop_ffmpeg()
            raise

    async def _stop(self) -> None:
        await super()._stop()
        await self._stop_ffmpeg()

    async def _stop_ffmpeg(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self.directory is not None:
            await asyncio.to_thread(shutil.rmtree, self.directory, True)
            self.directory = None

    async def _read_playlist(self) -> str | None:
        if self.directory is None:
            return None
        path = self.directory / "stream.m3u8"
        try:
            return await asyncio.to_thread(path.read_text)
        except FileNotFoundError:
            return None

    async def wait_segments(self, count: int) -> None:
        """Wait until ffmpeg's playlist lists `count` segments (use asyncio.timeout)."""
        while True:
            if self._process is not None and self._process.returncode is not None:
                raise RuntimeError(f"ffmpeg ended with code {self._process.returncode}")
            playlist = await self._read_playlist()
            if playlist is not None and playlist.count("#EXTINF") >= count:
                return
            await asyncio.sleep(_POLL)

    def stall(self, seconds: float | None = None) -> None:
        """Freeze the playlist the clients see for `seconds` (or until resume())."""
        super().stall(seconds)
        self._frozen_playlist = None  # taken at the next playlist request

    def resume(self) -> None:
        """End a stall: the playlist advances again."""
        super().resume()
        self._frozen_playlist = None

    def end_stream(self) -> None:
        """Serve the playlist with #EXT-X-ENDLIST: clients reach the stream's end."""
        self.ended = True

    def resume_stream(self) -> None:
        """Serve the live playlist again."""
        self.ended = False

    def _routes(self, app: web.Application) -> None:
        app.router.add_get(self.PLAYLIST_PATH, self._playlist)
        app.router.add_get("/{segment}", self._segment)

    async def _playlist(self, request: web.Request) -> web.Response:
        playlist = await self._read_playlist()
        if playlist is None:
            raise web.HTTPNotFound
        if self.stalled:
            if self._frozen_playlist is None:
                self._frozen_playlist = playlist
            playlist = self._frozen_playlist
        if self.ended and "#EXT-X-ENDLIST" not in playlist:
            playlist = playlist.rstrip("\n") + "\n#EXT-X-ENDLIST\n"
        return web.Response(
            text=playlist,
            content_type="application/vnd.apple.mpegurl",
            headers={"Cache-Control": "no-store"},
        )

    async def _segment(self, request: web.Request) -> web.Response:
        name = request.match_info["segment"]
        if not _SEGMENT.match(name) or self.directory is None:
            raise web.HTTPNotFound
        try:
            body = await asyncio.to_thread((self.directory / name).read_bytes)
        except FileNotFoundError:
            raise web.HTTPNotFound from None
        return web.Response(body=body, content_type="video/mp2t")
