"""One RTSP camera with its live clock, in its own process: ``python -m benchmarks._clocked_source``.

Serves the tools.streams scene over RTSP at ``/stream`` (as ``_sources`` does, the
same scene: a keyframe every 2 s) and prints one line, ``URL START``, once it
listens: START is when the stream's live frame 0 was due, on ``time.monotonic()``
(CLOCK_MONOTONIC: one clock for every process of the machine). So another process
knows when the server sent each frame: live frame ``g``, which shows clip frame
``g % frames`` (the number burned into it), at ``START + g / fps``. Serves until
terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from benchmarks._sources import spec_from
from tools.streams import RtspServer, render_scene


async def _serve(args: argparse.Namespace) -> None:
    spec = spec_from(args.size, args.fps, args.noise, args.duration)
    clip = await asyncio.to_thread(lambda: render_scene(spec).load())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with RtspServer(clip) as server:
        print(f"{server.url()} {server.clock().start!r}", flush=True)
        await stop.wait()


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._clocked_source")
    parser.add_argument("--size", default="800x600")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--noise", type=int, default=6)
    parser.add_argument("--duration", type=float, default=20.0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
