"""One doorbell's masked feed: a source, the masked encode, and who listens to it.

No Home Assistant imports (asyncio, threads, PyAV). Two kinds of source:

- **stills**: an async function returns masked JPEG frames (the doorbell masks
  them, in the executor, on its one JPEG path); they go to an encoder thread,
  which decodes and encodes them. The live view uses the JPEGs as they are.
- **stream**: a reader thread opens the camera's stream URL with PyAV, decodes
  every picture at the camera's own rate, masks a copy at once
  (:func:`~.video.masked_picture`; the unmasked picture goes no further), and
  encodes it. On a lost stream it reconnects, with back-off.

Either way the masked pictures are encoded to H.264 once, and the packets are
handed to the event loop, where the pre-roll ring, clips and streams take them.
Nothing on the event loop ever waits for a codec: the stills source hands a
frame over without waiting (a full queue drops the frame, counted), and packets
come back through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
import logging
import queue
import threading
import time
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import av

from .masking import MaskError
from .packets import PacketRing
from .video import EncodedPacket, H264Encoder, JpegDecoder, VideoError, masked_picture
from .yuv_masking import PictureError, PlaneMasker

_LOGGER = logging.getLogger(__name__)

# Frames waiting for the stills encoder; beyond, the oldest waiting is dropped.
ENCODER_QUEUE: Final = 32
OPEN_TIMEOUT: Final = 10.0  # seconds to open a stream
READ_TIMEOUT: Final = 5.0  # seconds without data before a stream counts as lost
BACKOFF_FIRST: Final = 1.0
BACKOFF_MAX: Final = 60.0
# A stream's clock that drifts this far from the wall clock is re-anchored.
MAX_CLOCK_DRIFT: Final = 2.0
RATE_WINDOW: Final = 5.0  # seconds over which frame rates are measured
DEFAULT_STREAM_FPS: Final = 15.0

# Reasons a frame is dropped (diagnostics and the dropped-frames sensor).
DROP_DECODE: Final = "decode"
DROP_MASK: Final = "mask"
DROP_ENCODER_BUSY: Final = "encoder_busy"
DROP_ENCODE: Final = "encode"


class SourceMode(StrEnum):
    """Where a doorbell's pictures come from."""

    STILLS = "stills"
    STREAM = "stream"


class FeedState(StrEnum):
    """What the feed is doing."""

    STOPPED = "stopped"
    CONNECTING = "connecting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"


def redact_url(url: str) -> str:
    """Return a stream URL without credentials or query (safe to log)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<invalid url>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(slots=True)
class MaskedPicture:
    """The newest masked picture: a JPEG (stills) or a decoded picture (stream)."""

    time: float
    seq: int
    generation: int
    width: int
    height: int
    jpeg: bytes | None = None
    frame: av.VideoFrame | None = None


@dataclass(slots=True)
class FeedStats:
    """What a feed did, for diagnostics and sensors."""

    mode: SourceMode | None = None
    state: FeedState = FeedState.STOPPED
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    source_fps: float | None = None  # what the source says (stream) or is asked
    frames_in: int = 0
    delivered: int = 0  # pictures encoded
    reconnects: int = 0
    last_error: str | None = None
    dropped: Counter[str] = field(default_factory=Counter)
    _times: deque[float] = field(default_factory=deque)

    def note_delivered(self, at: float) -> None:
        """Count one encoded picture (at monotonic time ``at``)."""
        self.delivered += 1
        self._times.append(at)
        while self._times and self._times[0] < at - RATE_WINDOW:
            self._times.popleft()

    def delivered_fps(self, now: float) -> float:
        """Pictures encoded per second over the last few seconds."""
        recent = [t for t in self._times if t >= now - RATE_WINDOW]
        if len(recent) < 2:
            return 0.0
        span = max(recent[-1] - recent[0], 1e-6)
        return round((len(recent) - 1) / span, 2)

    def as_dict(self) -> dict[str, Any]:
        """Return the stats for diagnostics."""
        return {
            "source_mode": self.mode.value if self.mode else None,
            "state": self.state.value,
            "codec": self.codec,
            "resolution": f"{self.width}x{self.height}" if self.width else None,
            "source_fps": self.source_fps,
            "delivered_fps": self.delivered_fps(time.monotonic()),
            "frames_in": self.frames_in,
            "delivered": self.delivered,
            "reconnects": self.reconnects,
            "dropped_frames": dict(self.dropped),
            "last_error": self.last_error,
        }


type MaskerGetter = Callable[[], tuple[PlaneMasker, int]]
type Output = Callable[[list[EncodedPacket], MaskedPicture | None], None]


class _Hand:
    """Thread-side handle to the loop: every result crosses here, never anything else."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        output: Output,
        lost: Callable[[], None] | None = None,
    ) -> None:
        self.loop = loop
        self.output = output
        self.on_lost = lost
        self.closed = False

    def lost(self) -> None:
        """Tell the loop the source was lost (it will try again)."""
        if self.closed or self.on_lost is None:
            return
        try:
            self.loop.call_soon_threadsafe(self._deliver_lost)
        except RuntimeError:
            self.closed = True

    def _deliver_lost(self) -> None:
        if not self.closed and self.on_lost is not None:
            self.on_lost()

    def send(self, packets: list[EncodedPacket], picture: MaskedPicture | None) -> None:
        if self.closed:
            return
        try:
            self.loop.call_soon_threadsafe(self._deliver, packets, picture)
        except RuntimeError:  # the loop is closed (shutdown)
            self.closed = True

    def _deliver(
        self, packets: list[EncodedPacket], picture: MaskedPicture | None
    ) -> None:
        if not self.closed:
            self.output(packets, picture)


class _Encoding:
    """The encode step, shared by both sources (runs in their worker thread)."""

    def __init__(self, stats: FeedStats, fps: float) -> None:
        self.stats = stats
        self.fps = fps
        self.encoder: H264Encoder | None = None
        self.generation: int | None = None
        self.start = time.time()
        self.keyframe_wanted = threading.Event()

    def encode(
        self,
        picture: av.VideoFrame,
        taken: float,
        generation: int,
        media: float | None = None,
    ) -> list[EncodedPacket]:
        if self.encoder is None:
            self.encoder = H264Encoder(
                picture.width, picture.height, self.fps, self.start
            )
        fresh = generation != self.generation or self.keyframe_wanted.is_set()
        self.keyframe_wanted.clear()
        self.generation = generation
        try:
            packets = self.encoder.encode(
                picture, taken, generation, keyframe=fresh, media_time=media
            )
        except VideoError as err:
            self.stats.dropped[DROP_ENCODE] += 1
            self.stats.last_error = str(err)
            return []
        self.stats.note_delivered(time.monotonic())
        return packets


class StillsEncoder:
    """The encoder thread of a stills source: masked JPEGs in, packets out."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        output: Output,
        stats: FeedStats,
        fps: float,
        name: str,
    ) -> None:
        """Start the thread."""
        self._hand = _Hand(loop, output)
        self._stats = stats
        self._queue: queue.Queue[tuple[float, int, bytes] | None] = queue.Queue(
            ENCODER_QUEUE
        )
        self._encoding = _Encoding(stats, fps)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, taken: float, generation: int, jpeg: bytes) -> None:
        """Hand a masked JPEG over without waiting; a full queue drops the oldest."""
        while True:
            try:
                self._queue.put_nowait((taken, generation, jpeg))
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    continue
                self._stats.dropped[DROP_ENCODER_BUSY] += 1
                continue
            return

    def stop(self) -> None:
        """Stop the thread (it finishes the frame it is on)."""
        self._hand.closed = True
        while True:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
                continue
            return

    def join(self, timeout: float) -> None:
        """Wait for the thread to end (blocking: executor)."""
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()

    def request_keyframe(self) -> None:
        """Encode the next picture as a keyframe."""
        self._encoding.keyframe_wanted.set()

    def _run(self) -> None:
        decoder = JpegDecoder()
        while (item := self._queue.get()) is not None:
            taken, generation, jpeg = item
            try:
                picture = decoder.decode(jpeg)
            except VideoError as err:
                self._stats.dropped[DROP_DECODE] += 1
                self._stats.last_error = str(err)
                continue
            try:
                # Already masked; only converted to 4:2:0 (and copied) here.
                picture = masked_picture(picture, _NO_MASK)
            except PictureError as err:
                self._stats.dropped[DROP_DECODE] += 1
                self._stats.last_error = str(err)
                continue
            packets = self._encoding.encode(picture, taken, generation)
            if packets:
                self._hand.send(packets, None)


_NO_MASK: Final = PlaneMasker(())


class StreamReader:
    """The reader thread of a stream source: decode, mask, encode, reconnect."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        output: Output,
        stats: FeedStats,
        url: str,
        masker: MaskerGetter,
        name: str,
        *,
        lost: Callable[[], None] | None = None,
        open_timeout: float = OPEN_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        """Start the thread (it connects at once); ``lost`` runs on the loop."""
        self._hand = _Hand(loop, output, lost)
        self._stats = stats
        self._url = url
        self._masker = masker
        self._timeouts = (open_timeout, read_timeout)
        self._stop = threading.Event()
        self._keyframe = threading.Event()
        self._seq = 0
        self._encoding: _Encoding | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop (it closes the connection within a read timeout)."""
        self._hand.closed = True
        self._stop.set()

    def join(self, timeout: float) -> None:
        """Wait for the thread to end (blocking: executor)."""
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()

    def request_keyframe(self) -> None:
        """Encode the next picture as a keyframe."""
        self._keyframe.set()
        if self._encoding is not None:
            self._encoding.keyframe_wanted.set()

    def _options(self) -> dict[str, str]:
        scheme = urlsplit(self._url).scheme.lower()
        read_us = str(int(self._timeouts[1] * 1_000_000))
        if scheme in ("rtsp", "rtsps"):
            return {"rtsp_flags": "prefer_tcp", "timeout": read_us}
        if scheme in ("http", "https"):
            return {"rw_timeout": read_us}
        return {}

    def _run(self) -> None:
        backoff = BACKOFF_FIRST
        first = True
        while not self._stop.is_set():
            self._stats.state = (
                FeedState.CONNECTING if first else FeedState.RECONNECTING
            )
            if not first:
                self._stats.reconnects += 1
            first = False
            got_frames = self._read_once()
            if self._stop.is_set():
                break
            if got_frames:
                backoff = BACKOFF_FIRST
                self._hand.lost()
            _LOGGER.debug(
                "Stream %s lost; again in %.0f s", redact_url(self._url), backoff
            )
            self._stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
        self._stats.state = FeedState.STOPPED

    def _read_once(self) -> bool:
        """Read the stream until it ends or fails; True if a picture came."""
        got = False
        try:
            container = av.open(
                self._url,
                options=self._options(),
                timeout=self._timeouts,
            )
        except (av.FFmpegError, OSError, ValueError) as err:
            self._stats.last_error = _error_text(err)
            return False
        try:
            if not container.streams.video:
                self._stats.last_error = "no video in the stream"
                return False
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else DEFAULT_STREAM_FPS
            self._stats.mode = SourceMode.STREAM
            self._stats.codec = stream.codec_context.name
            self._stats.source_fps = round(fps, 2)
            if self._encoding is None:
                self._encoding = _Encoding(self._stats, fps)
                if self._keyframe.is_set():
                    self._encoding.keyframe_wanted.set()
            clock = _StreamClock()
            for packet in container.demux(stream):
                if self._stop.is_set():
                    break
                try:
                    frames: list[Any] = list(packet.decode())
                except av.FFmpegError as err:
                    self._stats.dropped[DROP_DECODE] += 1
                    self._stats.last_error = _error_text(err)
                    continue
                for frame in frames:
                    if self._stop.is_set():
                        break
                    if isinstance(frame, av.VideoFrame):
                        self._picture(frame, clock)
                    got = True
                    self._stats.state = FeedState.RUNNING
        except (av.FFmpegError, OSError, ValueError) as err:
            self._stats.last_error = _error_text(err)
        finally:
            container.close()
        return got

    def _picture(self, frame: av.VideoFrame, clock: _StreamClock) -> None:
        """Mask one decoded picture at once, then encode it and hand it over."""
        self._stats.frames_in += 1
        taken, media = clock.time_of(frame.time)
        masker, generation = self._masker()
        try:
            picture = masked_picture(frame, masker)
        except (PictureError, MaskError) as err:
            self._stats.dropped[DROP_MASK] += 1
            self._stats.last_error = str(err)
            return
        del frame  # only the masked copy goes on
        self._stats.width, self._stats.height = picture.width, picture.height
        assert self._encoding is not None  # noqa: S101 - set before reading
        packets = self._encoding.encode(picture, taken, generation, media)
        self._seq += 1
        masked = MaskedPicture(
            time=taken,
            seq=self._seq,
            generation=generation,
            width=picture.width,
            height=picture.height,
            frame=picture,
        )
        self._hand.send(packets, masked)


class _StreamClock:
    """Places a stream's pictures in time: on the video's timeline, and in the day.

    The timeline (``media``) is the stream's own timestamps, anchored when the
    first picture of a connection arrives: exact spacing, so a clip plays at
    real speed even if pictures arrive in a burst (a client buffers while it
    probes a new stream).

    The wall-clock time a picture was taken (``taken``: what the pre-roll and
    triggers compare) cannot be after it arrived, so its offset from the
    stream's time is the smallest ``arrival - stream time`` seen: pictures
    handed over in a burst do not run ahead of the clock. A picture that
    arrives far later than its timestamp says (the stream's clock jumped)
    re-anchors both.
    """

    def __init__(self) -> None:
        self._offset: float | None = None  # wall time of stream time 0
        self._anchor: float | None = None  # media time of stream time 0
        self._last = 0.0
        self._last_media = 0.0

    def time_of(self, stream_time: float | None) -> tuple[float, float]:
        """Return ``(taken, media)`` of a picture with this stream timestamp."""
        now = time.time()
        if stream_time is None:
            taken = media = now
        else:
            delay = now - stream_time
            if self._offset is None or delay - self._offset > MAX_CLOCK_DRIFT:
                self._offset = self._anchor = delay
            else:
                self._offset = min(self._offset, delay)
            taken = stream_time + self._offset
            assert self._anchor is not None  # noqa: S101 - set with the offset
            media = stream_time + self._anchor
        taken = max(taken, self._last + 1e-4)  # strictly increasing
        media = max(media, self._last_media + 1e-4)
        self._last, self._last_media = taken, media
        return taken, media


def _error_text(err: BaseException) -> str:
    """Return an error's text without any URL in it (a URL may hold credentials)."""
    text = str(err)
    return " ".join(
        redact_url(word) if "://" in word else word for word in text.split()
    )


class StillsFeed:
    """The stills source: polls ``fetch`` at ``fps`` for masked JPEGs (on the loop)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[bytes, int] | None]],
        fps: float,
        on_picture: Callable[[MaskedPicture], None],
        encoder: StillsEncoder,
        stats: FeedStats,
    ) -> None:
        """Prepare; ``fetch`` returns ``(masked JPEG, generation)`` or None."""
        self._fetch = fetch
        self._interval = 1 / fps
        self._on_picture = on_picture
        self._encoder = encoder
        self._stats = stats
        self._seq = 0

    async def async_run(self) -> None:
        """Take frames until cancelled."""
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        self._stats.mode = SourceMode.STILLS
        self._stats.codec = "mjpeg"
        self._stats.source_fps = round(1 / self._interval, 2)
        self._stats.state = FeedState.RUNNING
        while True:
            delay = next_tick - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            next_tick = max(next_tick + self._interval, loop.time())
            taken = time.time()
            result = await self._fetch()
            if result is None:
                continue
            jpeg, generation = result
            self._stats.frames_in += 1
            self._seq += 1
            picture = MaskedPicture(
                time=taken,
                seq=self._seq,
                generation=generation,
                width=0,
                height=0,
                jpeg=jpeg,
            )
            self._on_picture(picture)
            self._encoder.submit(taken, generation, jpeg)


class MaskedFeed:
    """A running source, the pre-roll ring and everyone who takes packets.

    Lives on the event loop; the source's threads hand results over to it.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        name: str,
        stats: FeedStats,
        ring: PacketRing | None,
    ) -> None:
        """Prepare a feed (nothing runs before a ``start_*``)."""
        self.loop = loop
        self.name = name
        self.stats = stats
        self.ring = ring
        self.latest: MaskedPicture | None = None
        self.latest_packet: EncodedPacket | None = None
        self._subscribers: list[Callable[[EncodedPacket], None]] = []
        self._lost_listeners: list[Callable[[], None]] = []
        self._picture_event = asyncio.Event()
        self._reader: StreamReader | None = None
        self._encoder: StillsEncoder | None = None
        self._stills_task: asyncio.Task[None] | None = None
        self._stopping: list[StreamReader | StillsEncoder] = []
        self.min_generation = 0

    @property
    def running(self) -> bool:
        """Whether a source is running."""
        return self._reader is not None or self._stills_task is not None

    def start_stream(self, url: str, masker: MaskerGetter) -> None:
        """Read, mask and encode a stream (the reader thread starts at once)."""
        self.stats.mode = SourceMode.STREAM
        self._reader = StreamReader(
            self.loop,
            self._output,
            self.stats,
            url,
            masker,
            f"{self.name} stream",
            lost=self._lost,
        )

    def start_stills(
        self, fetch: Callable[[], Awaitable[tuple[bytes, int] | None]], fps: float
    ) -> asyncio.Task[None]:
        """Poll masked stills and encode them; return the polling task."""
        self.stats.mode = SourceMode.STILLS
        self._encoder = StillsEncoder(
            self.loop, self._output, self.stats, fps, f"{self.name} encoder"
        )
        feed = StillsFeed(fetch, fps, self._picture, self._encoder, self.stats)
        self._stills_task = self.loop.create_task(
            feed.async_run(), name=f"{self.name} stills"
        )
        return self._stills_task

    def stop_now(self) -> None:
        """Stop taking pictures at once: no frame is taken or handed on after this.

        The threads finish in the background (a stream's connection closes
        within ``READ_TIMEOUT``); ``async_stop`` waits for them.
        """
        reader, encoder, task = self._reader, self._encoder, self._stills_task
        self._reader = self._encoder = self._stills_task = None
        if task is not None:
            task.cancel()
        for thread in (reader, encoder):
            if thread is not None:
                thread.stop()
                self._stopping.append(thread)
        self.stats.state = FeedState.STOPPED
        self.latest = None
        self.latest_packet = None
        if self.ring is not None:
            self.ring.clear()

    @property
    def stopping(self) -> bool:
        """Whether threads of a stopped source are still ending."""
        self._stopping = [thread for thread in self._stopping if thread.alive]
        return bool(self._stopping)

    async def async_stop(self) -> None:
        """Stop the source and wait for its threads (joined in the executor)."""
        self.stop_now()
        for thread in list(self._stopping):
            await self.loop.run_in_executor(None, thread.join, READ_TIMEOUT + 1)
        self._stopping = [thread for thread in self._stopping if thread.alive]

    def request_keyframe(self) -> None:
        """Have the next picture encoded as a keyframe (a clip starts with it)."""
        for worker in (self._reader, self._encoder):
            if worker is not None:
                worker.request_keyframe()

    def forget(self, min_generation: int) -> None:
        """Use nothing masked before ``min_generation`` (the zones got stricter)."""
        self.min_generation = max(self.min_generation, min_generation)
        self.latest = None
        self.latest_packet = None
        if self.ring is not None:
            self.ring.clear(min_generation)

    def _lost(self) -> None:
        """Forget what was buffered (the stream was lost: it is not 'just before')."""
        self.latest = None
        self.latest_packet = None
        if self.ring is not None:
            self.ring.clear()
        for listener in list(self._lost_listeners):
            listener()

    def add_lost_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever the stream is lost; return the unsubscribe."""
        self._lost_listeners.append(listener)
        return lambda: self._lost_listeners.remove(listener)

    def subscribe(
        self, callback: Callable[[EncodedPacket], None]
    ) -> Callable[[], None]:
        """Call ``callback`` with every packet from now on; return the unsubscribe."""
        self._subscribers.append(callback)

        def _unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return _unsubscribe

    def _picture(self, picture: MaskedPicture) -> None:
        if picture.generation < self.min_generation:
            return
        self.latest = picture
        self._picture_event.set()
        self._picture_event = asyncio.Event()

    def _output(
        self, packets: list[EncodedPacket], picture: MaskedPicture | None
    ) -> None:
        if picture is not None:
            self._picture(picture)
        for packet in packets:
            if packet.generation < self.min_generation:
                continue
            self.latest_packet = packet
            if self.ring is not None:
                self.ring.add(packet)
            for subscriber in list(self._subscribers):
                subscriber(packet)

    async def async_next_picture(self, after: int) -> MaskedPicture:
        """Return the newest picture if its ``seq`` is past ``after``, or wait for one.

        Callers bound the wait (``asyncio.timeout``).
        """
        while (picture := self.latest) is None or picture.seq <= after:
            await self._picture_event.wait()
        return picture
