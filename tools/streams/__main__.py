"""Command line: serve the synthetic scene as a camera would, for manual tests and the demo.

    python -m tools.streams rtsp  [--size 1920x1080] [--fps 15] [--port 8554] [--sub 640x360]
    python -m tools.streams hls   [--size 800x600] [--port 8080]
    python -m tools.streams mjpeg [--size 800x600] [--port 8081]
    python -m tools.streams render [--size ...]     (render and print the files' paths)

The first line printed is the stream's URL (``--port 0`` picks a free port). While
serving, these commands can be typed on stdin when it is a terminal: ``drop``,
``refuse [SECONDS]``, ``accept``, ``outage SECONDS``, ``stall [SECONDS]``,
``resume``, ``end`` / ``live`` (HLS: end the playlist / make it live again) and
``status``. SIGINT or SIGTERM stops serving.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
import signal
import sys

from .base import DEFAULT_HOST, StreamSource
from .httpsources import HlsServer, MjpegServer
from .rtsp import RtspServer
from .scene import SceneClip, SceneSpec, parse_size, render_scene

KINDS = ("rtsp", "hls", "mjpeg", "render")


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.streams", description=__doc__.split("\n")[0]
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--size", type=_size, default=(800, 600), help="WxH")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument(
        "--gop", type=float, default=2.0, help="seconds between keyframes"
    )
    parser.add_argument(
        "--duration", type=float, default=20.0, help="clip length in seconds (looped)"
    )
    parser.add_argument(
        "--profile", choices=("baseline", "main", "high"), default="main"
    )
    parser.add_argument(
        "--noise",
        type=int,
        default=0,
        help="sensor noise strength (6-7: a camera's 2-4 Mbit/s at 1080p15)",
    )
    parser.add_argument(
        "--sub", type=_size, default=None, help="RTSP: also serve /sub at this size"
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=None, help="default 8554 / 8080")
    parser.add_argument("--username", default=None)
    parser.add_argument("--password", default=None)
    parser.add_argument(
        "--auth", choices=("basic", "digest"), default="digest", help="RTSP scheme"
    )
    parser.add_argument("--cache", type=Path, default=None, help="render folder")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def _spec(args: argparse.Namespace, size: tuple[int, int]) -> SceneSpec:
    return SceneSpec(
        width=size[0],
        height=size[1],
        fps=args.fps,
        gop_seconds=args.gop,
        duration=args.duration,
        profile=args.profile,
        noise=args.noise,
    )


def _source(
    args: argparse.Namespace, clip: SceneClip, sub: SceneClip | None
) -> tuple[StreamSource, list[str]]:
    credentials = {"username": args.username, "password": args.password}
    if args.kind == "rtsp":
        streams = {"/stream": clip} | ({"/sub": sub} if sub is not None else {})
        rtsp = RtspServer(
            streams,
            host=args.host,
            port=8554 if args.port is None else args.port,
            auth=args.auth,
            **credentials,
        )
        return rtsp, ["/stream", "/sub"] if sub is not None else ["/stream"]
    port = 8080 if args.port is None else args.port
    if args.kind == "hls":
        return HlsServer(clip, host=args.host, port=port, **credentials), [
            HlsServer.PLAYLIST_PATH
        ]
    return MjpegServer(clip, host=args.host, port=port, **credentials), [
        MjpegServer.MJPEG_PATH,
        MjpegServer.SNAPSHOT_PATH,
    ]


def execute(source: StreamSource, line: str) -> str:  # noqa: PLR0911
    """Run one typed command against a running source; the reply to print."""
    words = line.split()
    if not words:
        return ""
    command, seconds = words[0], None
    if len(words) > 1:
        try:
            seconds = float(words[1])
        except ValueError:
            return f"not a number of seconds: {words[1]}"
    match command:
        case "drop":
            return f"dropped {source.drop_clients()} connection(s)"
        case "refuse":
            source.refuse_connections(seconds)
            return "refusing connections"
        case "accept":
            source.accept_connections_soon()
            return "accepting connections"
        case "outage" if seconds is not None:
            return f"outage: dropped {source.outage(seconds)} connection(s)"
        case "stall":
            source.stall(seconds)
            return "stalled"
        case "resume":
            source.resume()
            return "flowing"
        case "end" if isinstance(source, HlsServer):
            source.end_stream()
            return "playlist ended"
        case "live" if isinstance(source, HlsServer):
            source.resume_stream()
            return "playlist live"
        case "status":
            return (
                f"clients={source.clients} accepting={source.accepting} "
                f"stalled={source.stalled} connections_total={source.connections_total}"
            )
    return f"unknown command: {line.strip()}"


async def _serve(args: argparse.Namespace) -> None:
    spec = _spec(args, args.size)
    clip = await asyncio.to_thread(lambda: render_scene(spec, args.cache).load())
    sub = None
    if args.sub is not None:
        sub_spec = _spec(args, args.sub)
        sub = await asyncio.to_thread(lambda: render_scene(sub_spec, args.cache).load())
    source, paths = _source(args, clip, sub)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with source:
        for path in paths:
            print(source.url(path), flush=True)
        interactive = sys.stdin.isatty()
        if interactive:
            loop.add_reader(
                sys.stdin,
                lambda: print(execute(source, sys.stdin.readline()), flush=True),
            )
        try:
            await stop.wait()
        finally:
            if interactive:
                loop.remove_reader(sys.stdin)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.kind == "render":
        clip = render_scene(_spec(args, args.size), args.cache)
        for path in (clip.h264_path, clip.mp4_path, clip.mjpeg_path):
            print(path)
        return 0
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
