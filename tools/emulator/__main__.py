"""Command line: run the emulated doorbell, or send it a command.

    python -m tools.emulator [--port 6053] [--key BASE64] [--name peephole-doorbell]
                             [--control /tmp/emulator.sock] [--timing esp32-cam]
    python -m tools.emulator press --control /tmp/emulator.sock
    python -m tools.emulator motion [on|off|SECONDS] --control /tmp/emulator.sock
    python -m tools.emulator status --control /tmp/emulator.sock
    python -m tools.emulator media --control /tmp/emulator.sock

Without --key the API is plaintext; with it, Noise-encrypted like the firmware
(a key: ``python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"``).
While serving, the same commands can be typed on stdin when it is a terminal.
With ``--config esphome/peephole-doorbell-s3.yaml`` the device has a speaker too
(a media player); ``media`` lists what it was asked to play.

The camera answers at once by default (``--timing instant``); ``--timing
esp32-cam`` gives it an ESP32-CAM's timing (10 fps sensor, 300 kB/s Wi-Fi,
jitter, dropped frames and stalls, all seeded), and each part can be set on its
own (``--capture-fps``, ``--throughput``, ...): see tools/emulator/timing.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
from pathlib import Path
import signal
import sys

from .control import execute, send_command, serve_control
from .device import EmulatedDoorbell
from .entities import DEFAULT_DEVICE_YAML, load_device_config
from .timing import PROFILES, Timing

COMMANDS = ("serve", "press", "motion", "status", "media")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.emulator", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", nargs="?", default="serve", choices=COMMANDS)
    parser.add_argument("argument", nargs="?", help="for motion: on, off or seconds")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=6053)
    parser.add_argument(
        "--key",
        default=os.environ.get("PEEPHOLE_EMULATOR_KEY"),
        help="base64 API encryption key (Noise); default plaintext",
    )
    parser.add_argument(
        "--name", default=None, help="device name (default: the firmware's)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_DEVICE_YAML,
        help="firmware YAML to emulate",
    )
    parser.add_argument(
        "--control", type=Path, default=None, help="UNIX socket for commands"
    )
    parser.add_argument(
        "--idle-fps",
        type=float,
        default=None,
        help="background frame rate (default: the firmware's)",
    )
    parser.add_argument(
        "--max-fps",
        type=float,
        default=None,
        help="streaming frame rate cap (default: the firmware's)",
    )
    timing = parser.add_argument_group(
        "camera timing", "a real device's delays; every option overrides the profile's"
    )
    timing.add_argument(
        "--timing",
        choices=sorted(PROFILES),
        default="instant",
        help="timing profile (default instant: answer every request at once)",
    )
    timing.add_argument(
        "--capture-fps",
        type=float,
        help="the sensor's frame rate: a request gets the next frame it captures",
    )
    timing.add_argument(
        "--throughput",
        type=float,
        metavar="BYTES_PER_S",
        help="Wi-Fi throughput shared by all clients, e.g. 300000",
    )
    timing.add_argument(
        "--chunk-size", type=int, metavar="BYTES", help="bytes per camera chunk"
    )
    timing.add_argument(
        "--jitter-ms", type=float, help="up to this much later per capture and transfer"
    )
    timing.add_argument(
        "--drop", type=float, metavar="PROBABILITY", help="a frame is bad and dropped"
    )
    timing.add_argument(
        "--stall-probability",
        type=float,
        metavar="PROBABILITY",
        help="per frame: the camera or the Wi-Fi pauses",
    )
    timing.add_argument("--stall-ms", type=float, help="how long a stall lasts")
    timing.add_argument("--seed", type=int, help="seed of the random draws")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def timing_from_args(args: argparse.Namespace) -> Timing:
    """Return the profile with the command line's overrides applied."""
    overrides = {
        "capture_fps": args.capture_fps,
        "throughput": args.throughput,
        "chunk_size": args.chunk_size,
        "jitter": None if args.jitter_ms is None else args.jitter_ms / 1000,
        "drop_probability": args.drop,
        "stall_probability": args.stall_probability,
        "stall": None if args.stall_ms is None else args.stall_ms / 1000,
        "seed": args.seed,
    }
    return dataclasses.replace(
        PROFILES[args.timing],
        **{name: value for name, value in overrides.items() if value is not None},
    )


async def _serve(args: argparse.Namespace) -> None:
    device = EmulatedDoorbell(
        host=args.host,
        port=args.port,
        key=args.key,
        name=args.name,
        config=load_device_config(args.config),
        idle_fps=args.idle_fps,
        max_fps=args.max_fps,
        timing=timing_from_args(args),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with device:
        print(
            f"{device.name}: listening on {device.host}:{device.port} ({'noise' if device.psk else 'plaintext'})",
            flush=True,
        )
        control = await serve_control(device, args.control) if args.control else None
        if sys.stdin.isatty():
            loop.add_reader(sys.stdin, lambda: _stdin_command(device))
        try:
            await stop.wait()
        finally:
            if sys.stdin.isatty():
                loop.remove_reader(sys.stdin)
            if control is not None:
                control.close()
                await control.wait_closed()
                with contextlib.suppress(FileNotFoundError):
                    args.control.unlink()


def _stdin_command(device: EmulatedDoorbell) -> None:
    line = sys.stdin.readline()
    if line.strip():
        task = asyncio.get_running_loop().create_task(execute(device, line))
        task.add_done_callback(lambda t: print(t.result(), flush=True))


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        timing_from_args(args)
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        asyncio.run(_serve(args))
        return 0
    if args.control is None:
        print("--control PATH is required to send a command", file=sys.stderr)
        return 2
    line = " ".join([args.command, args.argument or ""]).strip()
    reply = asyncio.run(send_command(args.control, line))
    print(reply)
    return 0 if reply.startswith("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
