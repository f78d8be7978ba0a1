"""Cameras for the benchmarks, in their own process: ``python -m benchmarks._sources``.

Serves the tools.streams scene over RTSP on several paths (``/d0``, ``/d1``...:
one camera each, the same clip, each with its own live clock), so that the
cameras' work (packetizing, sending) runs beside Home Assistant, on another core,
as a camera's own chip would. Prints the server's base URL
(``rtsp://127.0.0.1:PORT``) once it listens, then serves until terminated. With
``--clock`` the line also says when ``/d0``'s live frame 0 was due, on
``time.monotonic()`` (CLOCK_MONOTONIC: one clock for every process of the
machine): ``URL START``. So another process knows when the server sent each
frame: live frame ``g``, which shows clip frame ``g % frames`` (the number burned
into it), at ``START + g / fps``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from tools.streams import RtspServer, SceneSpec, parse_size, render_scene


def spec_from(size: str, fps: int, noise: int, duration: float) -> SceneSpec:
    """Return the scene the benchmarks stream (a keyframe every 2 s, as cameras often send)."""
    width, height = parse_size(size)
    return SceneSpec(
        width=width,
        height=height,
        fps=fps,
        gop_seconds=2.0,
        duration=duration,
        noise=noise,
    )


async def _serve(args: argparse.Namespace) -> None:
    spec = spec_from(args.size, args.fps, args.noise, args.duration)
    clip = await asyncio.to_thread(lambda: render_scene(spec).load())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    paths = {f"/d{index}": clip for index in range(args.paths)}
    async with RtspServer(paths) as server:
        line = f"rtsp://{server.host}:{server.port}"
        if args.clock:
            line += f" {server.clock('/d0').start!r}"
        print(line, flush=True)
        await stop.wait()


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._sources")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--noise", type=int, default=6)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--paths", type=int, default=1)
    parser.add_argument(
        "--clock", action="store_true", help="also print /d0's live clock start"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
