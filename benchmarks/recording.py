"""Clip recording: pre-roll continuity, clip latency, encoding speed, pre-roll memory.

Peephole encodes a doorbell's masked pictures to H.264 once, in a worker thread
(``pipeline.StillsEncoder`` for a stills source: masked JPEG -> decode -> x264);
the last seconds of packets are the pre-roll (``packets.PacketRing``), and a
trigger hands a clip the ring's packets from a keyframe, then the live ones.

- ``preroll_gap_frames``: pictures missing from a clip around the ring, where the
  pre-roll hands over to the live pictures (target 0). Measured through
  Peephole's real recorder in a real Home Assistant core: a camera entity serves
  a new picture at every request, each carrying its number (tools.streams'
  barcode); Peephole's feed polls it at 25 fps; a ring records a clip, which is
  decoded picture by picture. The count is of DISTINCT pictures: the numbers the
  camera served from 0.2 s before to 0.2 s after the ring that the clip does not
  show. (The old count compared timestamps; ffmpeg filled holes with copies of
  the last frame, so a frozen moment had all its timestamps: issue #14.)
- ``preroll_repeated_pictures``: pictures of that clip that repeat the picture
  before them (context; the encoder is given each picture once, so 0).
- ``clip_ready_ms``: from the end of the post-roll to ``peephole_clip_saved``
  (the last packets muxed, the file closed, renamed, thumbnailed and indexed),
  same run (target <= 1000). A clip ends once a picture from after its end has
  come, so at 25 fps about 40 ms of it is waiting for that picture.
- The feed must really run at 25 fps around the ring (at least 22 pictures served
  per second there), otherwise the gap figure would prove nothing: the run fails.
- ``encode_x_realtime_svga``: seconds of 800x600 10 fps video per second of wall
  time through the real ``StillsEncoder`` thread (masked JPEG decode + libx264
  ultrafast/zerolatency), on one core (the runner's; the event loop that hands
  the frames over shares it) (target >= 10). The JPEGs are the tools.streams
  scene with sensor noise (6: a camera's bitrate), masked over the canary by
  Peephole's JPEG masker beforehand, as the doorbell does before it submits.
  Frames are handed over as fast as the encoder takes them (at most 8 waiting,
  so none is dropped). ``stills_encode_cpu_ms_per_frame_svga``: the encoder
  thread's own CPU time per frame (context).
- ``buffer_overhead_ratio``: memory of a 5 s pre-roll ring (``PacketRing``) of
  800x600 10 fps H.264 over the H.264 bytes it holds (target <= 1.2). The
  packets are those x264 makes of the same noisy scene (about 5 to 50 kB each;
  a keyframe a second); they are copied into fresh objects while tracemalloc
  traces, as they arrive from the encoder thread, and 8 s of them go in, so the
  ring has evicted whole GOPs. What is counted: the bytes objects, the packet
  records, the GOP lists and the deque.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import dataclasses
import itertools
import logging
import time
import tracemalloc

from benchmarks import Measurement, measurement
from benchmarks._ha import (
    NumberedCamera,
    SavedClips,
    add_cameras,
    add_doorbell,
    canary_zone,
    home_assistant,
    numbers_of,
    peephole,
    read_clip,
    ring,
    ring_span,
    thread_cpu,
    thread_named,
    until,
)
from custom_components.peephole.const import BUFFER_MAX_BYTES
from custom_components.peephole.masking import FrameMasker
from custom_components.peephole.packets import PacketRing
from custom_components.peephole.pipeline import FeedStats, MaskedPicture, StillsEncoder
from custom_components.peephole.video import (
    EncodedPacket,
    H264Encoder,
    JpegDecoder,
    masked_picture,
)
from custom_components.peephole.yuv_masking import PlaneMasker
from custom_components.peephole.zones import zones_from_storage
from tools.streams import SceneSpec, render_scene

FEED_FPS = 25
# 200 numbered pictures at 800x600 (the camera serves them in a loop).
COUNTER_SCENE = SceneSpec(width=800, height=600, fps=FEED_FPS, duration=8.0)
# A camera's bitrate: the scene with sensor noise, 10 s at 10 fps.
NOISY_SCENE = SceneSpec(width=800, height=600, fps=10, duration=10.0, noise=6)
AROUND_RING = 0.2  # seconds either side of the ring that are checked


async def _preroll_and_ready() -> tuple[int, int, float]:
    """Record one ring; return (gap, repeated pictures, ready ms)."""
    pool = (await asyncio.to_thread(render_scene, COUNTER_SCENE)).jpegs
    camera = NumberedCamera("Bench", pool)
    async with home_assistant() as hass:
        await add_cameras(hass, [camera])
        entry = await add_doorbell(
            hass, "camera.bench", pre_roll=1.0, post_roll=1.0, fps=FEED_FPS
        )
        recorder = peephole(entry).recorder
        if recorder is None:
            raise RuntimeError("recording is off")
        saved = SavedClips(hass)
        await until(lambda: len(camera.served) >= 50 and ring_span(entry) >= 1.0, 30)
        rang = time.time()
        ring(hass, entry, rang)
        await until(lambda: recorder.session is not None, 10, step=0.001)
        session = recorder.session
        if session is None:  # pragma: no cover - waited for above
            raise RuntimeError("no clip started")
        await saved.wait([entry], 60)
        ready_ms = (
            saved.events[entry.entry_id].time_fired.timestamp() - session.end_at
        ) * 1000
        numbers = numbers_of(await asyncio.to_thread(read_clip, saved.path(entry)))
    around = {
        number for when, number in camera.served if abs(when - rang) <= AROUND_RING
    }
    if len(around) < 22 * 2 * AROUND_RING:
        raise RuntimeError(
            f"the feed ran below 25 fps: {len(around)} pictures in 0.4 s"
        )
    repeated = sum(1 for a, b in itertools.pairwise(numbers) if a == b)
    return len(around - set(numbers)), repeated, ready_ms


def _masked_noisy_jpegs() -> list[bytes]:
    """Return the noisy scene's JPEGs, masked over the canary as the doorbell masks them."""
    clip = render_scene(NOISY_SCENE)
    masker = FrameMasker(zones_from_storage([canary_zone(800, 600)]))
    return [masker.mask(jpeg) for jpeg in clip.jpegs]


async def _encode_speed(seconds: float) -> tuple[float, float]:
    """Run the StillsEncoder flat out; return (x real time, thread CPU ms per frame)."""
    jpegs = await asyncio.to_thread(_masked_noisy_jpegs)
    frames = round(seconds * NOISY_SCENE.fps)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    delivered = 0
    room = asyncio.Semaphore(8)

    def output(packets: list[EncodedPacket], picture: MaskedPicture | None) -> None:
        nonlocal delivered
        delivered += 1
        room.release()
        if delivered == frames:
            done.set()

    stats = FeedStats()
    encoder = StillsEncoder(loop, output, stats, NOISY_SCENE.fps, "bench encoder")
    try:
        # Warm up (x264 and the decoder allocate on their first pictures).
        start = time.time()
        for index in range(5):
            await room.acquire()
            encoder.submit(start + index / 10, 0, jpegs[index])
        await until(lambda: delivered == 5, 30, step=0.01)
        delivered = 0
        native_id = thread_named("bench encoder").native_id
        if native_id is None:
            raise RuntimeError("the encoder thread has no id")
        cpu_before = thread_cpu(native_id)
        began = time.perf_counter()
        for index in range(frames):
            await room.acquire()
            encoder.submit(start + (index + 5) / 10, 0, jpegs[index % len(jpegs)])
        async with asyncio.timeout(120):
            await done.wait()
        wall = time.perf_counter() - began
        cpu = thread_cpu(native_id) - cpu_before
    finally:
        encoder.stop()
        await asyncio.to_thread(encoder.join, 5)
    if sum(stats.dropped.values()):
        raise RuntimeError(f"the encoder dropped frames: {dict(stats.dropped)}")
    return frames / NOISY_SCENE.fps / wall, cpu / frames * 1000


def _noisy_packets(seconds: float) -> list[EncodedPacket]:
    """x264's packets of the noisy scene at 10 fps, as the stills encoder makes them."""
    jpegs = _masked_noisy_jpegs()
    decoder = JpegDecoder()
    no_mask = PlaneMasker(())
    encoder = H264Encoder(800, 600, NOISY_SCENE.fps, 0.0)
    packets: list[EncodedPacket] = []
    for index in range(round(seconds * NOISY_SCENE.fps)):
        picture = masked_picture(decoder.decode(jpegs[index % len(jpegs)]), no_mask)
        packets += encoder.encode(picture, index / NOISY_SCENE.fps, 0, keyframe=False)
    return packets


def _buffer_overhead() -> float:
    packets = _noisy_packets(8.0)
    payloads = [bytearray(packet.data) for packet in packets]
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    ring_ = PacketRing(5.0, BUFFER_MAX_BYTES)
    for packet, payload in zip(packets, payloads, strict=True):
        # A fresh packet, as the encoder thread hands one over.
        ring_.add(dataclasses.replace(packet, data=bytes(payload)))
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if len(ring_) < 5 * NOISY_SCENE.fps:
        raise RuntimeError(f"the ring holds {len(ring_)} packets, not 5 s")
    return (current - baseline) / ring_.nbytes


def run(*, quick: bool) -> Iterator[Measurement]:
    """Yield the recording measurements."""
    logging.getLogger().setLevel(logging.CRITICAL)
    gap, repeated, ready_ms = asyncio.run(_preroll_and_ready())
    yield measurement("preroll_gap_frames", gap, "frames")
    yield measurement("preroll_repeated_pictures", repeated, "frames")
    yield measurement("clip_ready_ms", round(ready_ms, 1), "ms")
    speed, cpu_ms = asyncio.run(_encode_speed(3.0 if quick else 20.0))
    yield measurement("encode_x_realtime_svga", round(speed, 2), "x")
    yield measurement("stills_encode_cpu_ms_per_frame_svga", round(cpu_ms, 2), "ms")
    yield measurement("buffer_overhead_ratio", round(_buffer_overhead(), 3), "ratio")
