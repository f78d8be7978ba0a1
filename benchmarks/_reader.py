"""Peephole's stream reader on its own: ``python -m benchmarks._reader URL``.

Runs the real ``pipeline.StreamReader`` (PyAV decode -> mask a copy -> libx264)
on a stream, with a privacy zone over the scene's canary, in a process of its
own, so that its CPU time can be set beside the ffmpeg CLI's for the same work.
Counts pictures as the reader hands them over; after ``--warm`` pictures it
reads the process's CPU time (every thread: PyAV's and x264's too), again after
``--frames`` more, and prints one JSON line: ``cpu_ms_per_frame``, ``fps``,
``frames`` and the reader's dropped pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks._ha import canary_zone
from custom_components.peephole.pipeline import FeedStats, MaskedPicture, StreamReader
from custom_components.peephole.video import EncodedPacket
from custom_components.peephole.yuv_masking import PlaneMasker
from custom_components.peephole.zones import zones_from_storage
from tools.streams import parse_size


async def measure(url: str, size: str, warm: int, frames: int) -> dict[str, float]:
    """Read ``url`` until ``warm + frames`` pictures are through; return the figures."""
    width, height = parse_size(size)
    masker = PlaneMasker(zones_from_storage([canary_zone(width, height)]))
    loop = asyncio.get_running_loop()
    stats = FeedStats()
    marks: list[tuple[float, float, int]] = []
    done = asyncio.Event()

    def output(packets: list[EncodedPacket], picture: MaskedPicture | None) -> None:
        if picture is None or done.is_set():
            return
        if picture.seq in (warm, warm + frames):
            marks.append((time.process_time(), time.monotonic(), picture.seq))
            if len(marks) == 2:
                done.set()

    reader = StreamReader(loop, output, stats, url, lambda: (masker, 0), "reader")
    try:
        async with asyncio.timeout(60 + 2 * (warm + frames) / 10):
            await done.wait()
    finally:
        reader.stop()
        await asyncio.to_thread(reader.join, 10)
    (cpu_a, at_a, seq_a), (cpu_b, at_b, seq_b) = marks
    return {
        "cpu_ms_per_frame": (cpu_b - cpu_a) / (seq_b - seq_a) * 1000,
        "fps": (seq_b - seq_a) / (at_b - at_a),
        "frames": seq_b - seq_a,
        "dropped": sum(stats.dropped.values()),
    }


def main() -> None:
    """Measure and print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._reader")
    parser.add_argument("url")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--warm", type=int, default=30)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    result = asyncio.run(measure(args.url, args.size, args.warm, args.frames))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
