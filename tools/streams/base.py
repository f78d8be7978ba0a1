"""What every stream source shares: a live clock, a listener and fault injection.

A source plays its clip as a live camera does: one clock per clip, started with
the server, so every client sees the same frame at the same moment, and a client
that connects late joins the stream where it is (looping over the clip). Frame
``g`` of the live stream (``g`` counts from the server's start) is clip frame
``g % frames``, due at ``start + g / fps``.

Fault injection, for reconnect and privacy tests:

- :meth:`StreamSource.drop_clients` closes every client connection at once (the
  client sees the stream end or break);
- :meth:`StreamSource.refuse_connections` closes the listening socket, so new
  connections are refused (for a while, or until :meth:`accept_connections`);
- :meth:`StreamSource.outage` does both, then accepts again after a delay;
- :meth:`StreamSource.stall` stops sending for a while (connections stay open);
  frames due during a stall are skipped, as a live camera would;
- :attr:`StreamSource.clients` counts open client connections, so a test can
  assert that nobody is connected (privacy mode).
"""

from __future__ import annotations

import asyncio
from collections import Counter
import contextlib
import math
import time
from types import TracebackType
from typing import Self
from urllib.parse import quote

DEFAULT_HOST = "127.0.0.1"


class LiveClock:
    """Maps wall time (monotonic) to the live stream's frame counter."""

    def __init__(self, fps: int, start: float | None = None) -> None:
        """Start the stream's frame 0 now (or at `start`, a time.monotonic())."""
        self.fps = fps
        self.start = time.monotonic() if start is None else start

    def frame_at(self, now: float | None = None) -> int:
        """Return the live frame counter at `now`: the last frame that is due."""
        now = time.monotonic() if now is None else now
        return max(0, math.floor((now - self.start) * self.fps))

    def due(self, frame: int) -> float:
        """When live frame `frame` is due (time.monotonic())."""
        return self.start + frame / self.fps

    def sent(self, number: int, loop: int, now: float) -> float:
        """When the last frame showing clip frame `number` was due by `now`.

        A picture's number says which frame of the `loop`-frame clip it is; the
        clock says which pass of the clip it came from.
        """
        frame = self.frame_at(now)
        return self.due(frame - (frame - number) % loop)


class StreamSource:
    """Base of the RTSP, HLS and MJPEG sources: listener and fault injection."""

    scheme = "tcp"
    default_path = "/"

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """Listen on host:port once started (port 0: a free port)."""
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.auth_failures = 0
        self._listener: asyncio.Server | None = None
        self._reopen: asyncio.TimerHandle | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._unstall: asyncio.TimerHandle | None = None
        self._started = False
        self.connections_total = 0
        self.requests: Counter[str] = Counter()
        self.dropped_connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # --- to implement ------------------------------------------------------------

    async def _listen(self, port: int) -> asyncio.Server:
        """Open the listening socket on `port` (0: any free port)."""
        raise NotImplementedError

    def _transports(self) -> list[asyncio.WriteTransport]:
        """Return the open client connections."""
        raise NotImplementedError

    async def _start(self) -> None:
        """Start whatever the source runs besides its listener."""

    async def _stop(self) -> None:
        """Stop whatever the source runs besides its listener."""

    # --- life cycle ----------------------------------------------------------------

    async def start(self) -> Self:
        """Start serving; afterwards :attr:`port` is the port really used."""
        if self._started:
            raise RuntimeError("already started")
        await self._start()
        try:
            await self._open()
        except BaseException:
            await self._stop()
            raise
        self._started = True
        return self

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if not self._started:
            return
        self._started = False
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._unstall is not None:
            self._unstall.cancel()
            self._unstall = None
        self._flowing.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for transport in self._transports():
            transport.abort()
        await self._stop()
        if listener is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await listener.wait_closed()

    async def __aenter__(self) -> Self:
        """Start."""
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    async def _open(self) -> None:
        listener = await self._listen(self.port)
        sockets = listener.sockets
        if self.port == 0 and sockets:
            self.port = sockets[0].getsockname()[1]
        self._listener = listener

    def url(self, path: str | None = None, *, credentials: bool = True) -> str:
        """Return a URL on this source (with the credentials in it, unless told not to)."""
        userinfo = ""
        if credentials and self.username is not None and self.password is not None:
            userinfo = (
                f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
            )
        return f"{self.scheme}://{userinfo}{self.host}:{self.port}{path or self.default_path}"

    # --- state -----------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether the listening socket is open."""
        return self._listener is not None

    @property
    def clients(self) -> int:
        """Open client connections."""
        return len(self._transports())

    @property
    def stalled(self) -> bool:
        """Whether sending is stalled."""
        return not self._flowing.is_set()

    def _count_connection(self) -> None:
        self.connections_total += 1

    async def wait_for_clients(self, count: int, *, at_least: bool = False) -> None:
        """Wait until :attr:`clients` is `count` (or at least `count`).

        Wrap it in ``asyncio.timeout()``. It polls: aiohttp has no hook for a closed
        connection.
        """
        while not (self.clients >= count if at_least else self.clients == count):  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    async def wait_flowing(self) -> None:
        """Return when sending is not stalled."""
        await self._flowing.wait()

    # --- faults ------------------------------------------------------------------------

    def drop_clients(self) -> int:
        """Close every client connection now (abort: no goodbye); how many."""
        transports = self._transports()
        for transport in transports:
            transport.abort()
        self.dropped_connections += len(transports)
        return len(transports)

    def refuse_connections(self, seconds: float | None = None) -> None:
        """Close the listening socket: new connections are refused.

        Open connections stay. After `seconds` (or :meth:`accept_connections`) the
        same port listens again.
        """
        self._require_started()
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._listener is not None:
            self._listener.close()  # stops listening now; open connections stay
            self._listener = None
        if seconds is not None:
            self._reopen = asyncio.get_running_loop().call_later(
                seconds, self.accept_connections_soon
            )

    def accept_connections_soon(self) -> None:
        """Listen again on the same port, from code that cannot await."""
        self._reopen = None
        task = asyncio.get_running_loop().create_task(self.accept_connections())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def accept_connections(self) -> None:
        """Listen again on the same port."""
        self._require_started()
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._listener is None:
            await self._open()

    def outage(self, seconds: float) -> int:
        """Drop every client and refuse connections for `seconds`; how many dropped."""
        self.refuse_connections(seconds)
        return self.drop_clients()

    def stall(self, seconds: float | None = None) -> None:
        """Send nothing for `seconds` (or until :meth:`resume`); connections stay open."""
        self._require_started()
        if self._unstall is not None:
            self._unstall.cancel()
            self._unstall = None
        self._flowing.clear()
        if seconds is not None:
            self._unstall = asyncio.get_running_loop().call_later(seconds, self.resume)

    def resume(self) -> None:
        """End a stall."""
        if self._unstall is not None:
            self._unstall.cancel()
            self._unstall = None
        self._flowing.set()

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError("the source is not started")


async def sleep_until(when: float) -> None:
    """Sleep until time.monotonic() reaches `when`."""
    delay = when - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
