"""The masked stream through Home Assistant's own stream component: start, latency, CPU.

The source is the tools.streams scene, 800x600 H.264 at 15 fps with sensor noise
(noise 6), a keyframe every 2 s, served over RTSP by ``_sources`` (``--clock``) in its
own process on the other core (a camera is another machine). Every picture
carries its number, and the server's live clock says when it sent each one.

In a real Home Assistant core (pinned to one core by the runner) with its HTTP
server listening on 127.0.0.1 and its ``stream`` component at its defaults
(LL-HLS: parts of 1 s, segments of at least 6 s, cut at keyframes): a camera
entity whose ``stream_source()`` is the RTSP URL (the **plain** camera: HA's own
stream of an unmasked camera, the anchor), and Peephole on it (recording on, as
by default; a privacy zone over the scene's canary), whose **masked** camera's
stream HA reads from Peephole's internal MPEG-TS view. Both are measured in the
same run, side by side:

- ``stream_start_ms`` / ``stream_start_ms_plain``: from asking HA for the stream
  (``camera.async_request_stream``, what the frontend's ``camera/stream`` does) to
  HA's master playlist answering, which it does once the first HLS segment is
  complete (hls.js, the frontend's player, loads it first). Both streams are
  asked for at once; median over the rounds (HA's streams stopped in between).
- ``stream_glass_to_glass_ms`` / ``stream_glass_to_glass_ms_plain``: from the
  moment the RTSP server sent a picture to the moment the same picture (found by
  its number) is in HA's HLS output, median over every picture. An LL-HLS client
  per stream asks HA's playlist for the next part with a blocking reload
  (``_HLS_msn``/``_HLS_part``), as a player does: the answer comes the moment the
  part is there, and every picture in that part counts as there at that moment.
  The parts are fetched and decoded in order (from an independent part on) by a
  second task, so that work never delays the next reload; a picture is credited
  to the part its packet came in (by pts).
- ``masked_stream_feed_latency_ms``: Peephole's share of the masked stream's
  latency (context): from the server sending a picture to Peephole's feed handing
  the masked packet to its subscribers (the MPEG-TS view among them), on the
  event loop; median over the same pictures' packets, decoded afterwards (not
  timed) to read their numbers. The rest of the masked stream's latency is HA's:
  reading that MPEG-TS and cutting it into HLS parts.
- ``masked_stream_vs_plain_latency``: the two medians' ratio (target <= 1.2).
- ``masked_stream_cpu_ms_per_frame_800x600``: what Peephole spends per picture to
  make the masked stream, on one core: its reader thread's CPU time (PyAV decode,
  mask, libx264 encode; ``time.pthread_getcpuclockid``) per picture while both
  streams play, plus the MPEG-TS muxing of the same packets (``TsMuxer``, the
  view's muxer, timed with ``time.thread_time`` on the packets the feed handed
  out meanwhile). ``masked_stream_ts_mux_cpu_ms_per_frame_800x600`` is the muxing
  alone (context). HA's own remuxing of the stream into HLS is not counted: HA
  does it for any camera.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
import contextlib
from dataclasses import dataclass
import io
import logging
import re
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import unused_port
import av
from homeassistant.components.camera import async_request_stream
from homeassistant.components.camera.helper import get_camera_from_entity_id
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from benchmarks import Measurement, measurement
from benchmarks._ha import (
    StreamCamera,
    add_cameras,
    add_doorbell,
    canary_zone,
    child,
    home_assistant,
    median,
    other_cores,
    peephole,
    ring_span,
    thread_named,
    until,
)
from benchmarks._sources import spec_from
from custom_components.peephole.masked_stream import TsMuxer
from custom_components.peephole.video import EncodedPacket
from tools.streams import LiveClock, decode_frame_number

SIZE = "800x600"
WIDTH, HEIGHT = 800, 600
FPS = 15
NOISE = 6
DURATION = 20.0  # the clip loops every 20 s: a picture's number is unambiguous
PLAIN = "camera.street"
_PART = re.compile(
    r'^#EXT-X-PART:[^\n]*URI="(?:\./)?segment/(\d+)\.(\d+)\.m4s"([^\n]*)$', re.M
)


async def _serve_http(hass: HomeAssistant) -> int:
    """HA's HTTP server on 127.0.0.1 and its stream component; return the port."""
    port = unused_port()
    config = {"http": {"server_host": ["127.0.0.1"], "server_port": port}}
    if not await async_setup_component(hass, "http", config):
        raise RuntimeError("http did not set up")
    if not await async_setup_component(hass, "stream", {}):
        raise RuntimeError("stream did not set up")
    await hass.async_block_till_done()
    if getattr(hass.http, "runner", None) is None:
        await hass.http.start()  # (HA has started: http's start listener is past)
    return port


# --- an LL-HLS client ----------------------------------------------------------------


class _PartDecoder:
    """Decodes HLS parts in order with one H.264 decoder (blocking: a thread)."""

    def __init__(self, init: bytes) -> None:
        self.init = init
        with av.open(io.BytesIO(init), mode="r", format="mp4") as container:
            context = container.streams.video[0].codec_context
            self.codec: Any = av.CodecContext.create(context.name, "r")
            self.codec.extradata = context.extradata
        self.codec.thread_count = 1  # a picture out for every packet in, at once

    def decode(self, part: bytes) -> tuple[list[int], list[tuple[int, int | None]]]:
        """Decode one part: its packets' pts, and its pictures' (pts, number).

        A picture is known by its pts, so one the decoder held back to a later
        part is still credited to its own.
        """
        packets: list[int] = []
        pictures: list[tuple[int, int | None]] = []
        with av.open(io.BytesIO(self.init + part), mode="r", format="mp4") as container:
            for packet in container.demux(video=0):
                if packet.size == 0 or packet.pts is None:
                    continue
                packets.append(packet.pts)
                pictures += [
                    (frame.pts, decode_frame_number(frame.to_ndarray(format="gray")))
                    for frame in self.codec.decode(packet)
                ]
        return packets, pictures


@dataclass(slots=True)
class Seen:
    """A picture in the HLS output: its number, since when it is there."""

    number: int | None
    at: float  # time.monotonic()


class _LlHlsReader:
    """Follows one LL-HLS stream as a player does; every picture and when it came.

    One task only waits for new parts (blocking playlist reloads, ``_HLS_msn`` /
    ``_HLS_part``: HA answers the moment the part is there), so when a part came
    is never held up by fetching and decoding the one before, which a second
    task does, in order, from the first part with a keyframe on. Parts already
    listed when it starts are skipped (when they came is unknown).
    """

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        """Read the stream in folder ``base`` (its master playlist's URL without the name)."""
        self._session = session
        self._base = base
        self._handled: set[tuple[int, int]] = set()
        self._arrived: asyncio.Queue[tuple[int, int, float] | None] = asyncio.Queue()

    async def _get(self, path: str, **params: int) -> tuple[int, bytes, float]:
        async with self._session.get(f"{self._base}/{path}", params=params) as response:
            body = await response.read()
            return response.status, body, time.monotonic()

    async def read(self, seconds: float) -> list[Seen]:
        """Follow the stream for ``seconds``."""
        _, init, _ = await self._get("init.mp4")
        decoder = await asyncio.to_thread(_PartDecoder, init)
        _, playlist, _ = await self._get("playlist.m3u8")
        self._handled = {(m, p) for m, p, _ in playlist_parts(playlist)}
        if not self._handled:
            raise RuntimeError("the playlist lists no part")
        watcher = asyncio.create_task(self._watch(seconds))
        try:
            return await self._fetch(decoder)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher  # (its error, if it failed)

    async def _watch(self, seconds: float) -> None:
        started = False
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                msn, part = max(self._handled)
                status, playlist, at = await self._get(
                    "playlist.m3u8", _HLS_msn=msn, _HLS_part=part + 1
                )
                if status == 404:  # no new part within HA's part timeout
                    continue
                if status != 200:
                    raise RuntimeError(f"blocking playlist reload: HTTP {status}")
                for m, p, independent in playlist_parts(playlist):
                    if (m, p) not in self._handled:
                        self._handled.add((m, p))
                        started = started or independent
                        if started:
                            self._arrived.put_nowait((m, p, at))
        finally:
            self._arrived.put_nowait(None)

    async def _fetch(self, decoder: _PartDecoder) -> list[Seen]:
        came: dict[int, float] = {}  # a packet's pts: when its part came
        pictures: list[tuple[int, int | None]] = []
        while (item := await self._arrived.get()) is not None:
            m, p, at = item
            status, data, _ = await self._get(f"segment/{m}.{p}.m4s")
            if status != 200:
                raise RuntimeError(f"part {m}.{p}: HTTP {status}")
            packets, decoded = await asyncio.to_thread(decoder.decode, data)
            came |= dict.fromkeys(packets, at)
            pictures += decoded
        return [Seen(number, came[pts]) for pts, number in pictures]


def playlist_parts(playlist: bytes) -> list[tuple[int, int, bool]]:
    """Return the parts a playlist lists: (segment, part, independent)."""
    return [
        (int(m), int(p), "INDEPENDENT=YES" in rest)
        for m, p, rest in _PART.findall(playlist.decode())
    ]


def glass_to_glass(seen: Sequence[Seen], clock: LiveClock, loop: int) -> list[float]:
    """Seconds from the server sending each picture to it being in the HLS output."""
    numbers = [picture.number for picture in seen]
    if not numbers or None in numbers:
        raise RuntimeError(f"unreadable pictures in the HLS output: {numbers}")
    delays = []
    for picture in seen:
        assert picture.number is not None  # noqa: S101 - checked above
        delays.append(picture.at - clock.sent(picture.number, loop, picture.at))
    return delays


# --- the benchmark ---------------------------------------------------------------------


def _masked_camera(hass: HomeAssistant, entry_id: str) -> str:
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry_id):
        if entity.domain == "camera":
            return entity.entity_id
    raise RuntimeError("Peephole made no camera")


async def _start(
    hass: HomeAssistant, session: aiohttp.ClientSession, http: str, entity: str
) -> tuple[float, str]:
    """Ask for the camera's HLS stream; wait for the master playlist: (ms, its URL)."""
    started = time.monotonic()
    url = await async_request_stream(hass, entity, "hls")
    async with session.get(f"{http}{url}") as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{entity}: no HLS ({response.status})")
    return (time.monotonic() - started) * 1000, url


async def _stop(hass: HomeAssistant, entity: str) -> None:
    camera = get_camera_from_entity_id(hass, entity)
    if camera.stream is not None:
        await camera.stream.stop()


def _packet_numbers(packets: Sequence[EncodedPacket]) -> list[int | None]:
    """Decode the masked packets in order; each one's picture number (None before a keyframe)."""
    codec: Any = av.CodecContext.create("h264", "r")
    codec.thread_count = 1  # a picture out for every packet in, at once
    numbers: list[int | None] = []
    started = False
    for packet in packets:
        started = started or packet.keyframe
        frames = codec.decode(av.Packet(packet.data)) if started else []
        numbers.append(
            decode_frame_number(frames[-1].to_ndarray(format="gray"))
            if frames
            else None
        )
    return numbers


def _decodable(seen: Sequence[Seen]) -> list[Seen]:
    """Drop the pictures before the first decodable one."""
    first = next(i for i, picture in enumerate(seen) if picture.number is not None)
    return list(seen[first:])


def _mux_ms(packets: list[EncodedPacket]) -> tuple[float, int]:
    """Mux the packets (from the first keyframe) into MPEG-TS: (CPU ms, pictures)."""
    first = next(i for i, packet in enumerate(packets) if packet.keyframe)
    packets = packets[first:]
    muxer = TsMuxer()
    before = time.thread_time()
    for packet in packets:
        muxer.mux([packet])  # one at a time, as the view sends them
    spent = time.thread_time() - before
    muxer.close()
    return spent * 1000, len(packets)


async def _starts(
    hass: HomeAssistant, http: str, cameras: Sequence[str], rounds: int
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Start the cameras' streams together ``rounds`` times: (ms each, HLS URLs).

    Every round but the last stops the streams again; the last leaves them on.
    """
    starts: dict[str, list[float]] = {camera: [] for camera in cameras}
    urls: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:
        for index in range(rounds):
            order = list(cameras) if index % 2 == 0 else list(reversed(cameras))
            results = await asyncio.gather(
                *(_start(hass, session, http, camera) for camera in order)
            )
            for camera, (ms, url) in zip(order, results, strict=True):
                starts[camera].append(ms)
                urls[camera] = url
            if index < rounds - 1:
                for camera in order:
                    await _stop(hass, camera)
                await asyncio.sleep(2)
    return starts, urls


async def _watch(
    entry: Any, bases: Sequence[str], seconds: float
) -> tuple[list[list[Seen]], float, list[tuple[float, EncodedPacket]]]:
    """Read the HLS streams at once; meanwhile Peephole's reader CPU per picture.

    Returns what each stream showed, the reader thread's CPU ms per picture, and
    the packets the masked feed handed out meanwhile, with when it did.
    """
    source = peephole(entry).source
    if source is None:
        raise RuntimeError("no source")
    handed: list[tuple[float, EncodedPacket]] = []
    unsubscribe = source.feed.subscribe(
        lambda packet: handed.append((time.monotonic(), packet))
    )
    reader = thread_named(f"peephole {entry.entry_id} stream")
    if reader.ident is None:
        raise RuntimeError("the reader thread has no id")
    cpu_clock = time.pthread_getcpuclockid(reader.ident)
    frames_before = source.stats.frames_in
    cpu_before = time.clock_gettime(cpu_clock)
    sessions = [aiohttp.ClientSession() for _ in bases]
    try:
        seen = await asyncio.gather(
            *(
                _LlHlsReader(session, base).read(seconds)
                for session, base in zip(sessions, bases, strict=True)
            )
        )
    finally:
        for session in sessions:
            await session.close()
        unsubscribe()
    cpu_ms = (time.clock_gettime(cpu_clock) - cpu_before) * 1000
    frames = source.stats.frames_in - frames_before
    mode = source.stats.mode
    if mode is None or mode.value != "stream":
        raise RuntimeError(f"Peephole read the camera as {mode}, not its stream")
    return list(seen), cpu_ms / frames, handed


async def _bench(quick: bool) -> dict[str, Any]:
    rounds, seconds = (1, 12.0) if quick else (3, 45.0)
    spec = spec_from(SIZE, FPS, NOISE, DURATION)
    async with (
        child(
            "benchmarks._sources",
            *("--size", SIZE, "--fps", str(FPS), "--noise", str(NOISE)),
            *("--duration", str(DURATION), "--clock"),
            cores=other_cores(),
        ) as (_, line),
        home_assistant() as hass,
    ):
        base, start = line.split()
        url = f"{base}/d0"
        clock = LiveClock(FPS, float(start))
        http = f"http://127.0.0.1:{await _serve_http(hass)}"
        try:
            await add_cameras(hass, [StreamCamera("Street", url)])
            entry = await add_doorbell(
                hass,
                PLAIN,
                pre_roll=5.0,
                post_roll=10.0,
                zones=[canary_zone(WIDTH, HEIGHT)],
            )
            cameras = (_masked_camera(hass, entry.entry_id), PLAIN)
            await until(lambda: ring_span(entry) >= 2.0, 60)
            starts, urls = await _starts(hass, http, cameras, rounds)
            bases = [f"{http}{urls[camera].rsplit('/', 1)[0]}" for camera in cameras]
            seen, reader_ms, handed = await _watch(entry, bases, seconds)
            for camera in cameras:
                await _stop(hass, camera)
        finally:
            await hass.http.stop()
    packets = [packet for _, packet in handed]
    mux_ms, muxed = await asyncio.to_thread(_mux_ms, packets)
    numbers = await asyncio.to_thread(_packet_numbers, packets)
    fed = [Seen(number, at) for (at, _), number in zip(handed, numbers, strict=True)]
    masked, plain = (glass_to_glass(s, clock, spec.frames) for s in seen)
    return {
        "start": median(starts[cameras[0]]),
        "start_plain": median(starts[PLAIN]),
        "g2g": median(masked),
        "g2g_plain": median(plain),
        "feed": median(glass_to_glass(_decodable(fed), clock, spec.frames)),
        "reader_ms": reader_ms,
        "mux_ms": mux_ms / muxed,
    }


def run(*, quick: bool) -> Iterator[Measurement]:
    """Yield the masked stream's figures."""
    logging.getLogger().setLevel(logging.CRITICAL)
    result = asyncio.run(_bench(quick))
    yield measurement("stream_start_ms", result["start"], "ms")
    yield measurement("stream_start_ms_plain", result["start_plain"], "ms")
    yield measurement("stream_glass_to_glass_ms", result["g2g"] * 1000, "ms")
    yield measurement(
        "stream_glass_to_glass_ms_plain", result["g2g_plain"] * 1000, "ms"
    )
    yield measurement("masked_stream_feed_latency_ms", result["feed"] * 1000, "ms")
    yield measurement(
        "masked_stream_vs_plain_latency", result["g2g"] / result["g2g_plain"], "ratio"
    )
    yield measurement(
        "masked_stream_cpu_ms_per_frame_800x600",
        result["reader_ms"] + result["mux_ms"],
        "ms",
    )
    yield measurement(
        "masked_stream_ts_mux_cpu_ms_per_frame_800x600", result["mux_ms"], "ms"
    )
