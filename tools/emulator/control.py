"""A tiny local control channel for a running emulator: a UNIX socket.

One command per line, one reply line per command::

    press                 ring the bell (button on, `ring` event, button off)
    motion on|off|SECONDS motion detected (for SECONDS), or cleared
    status                JSON: name, port, encryption, clients, camera timing and counts
    media                 JSON: what the media player was asked to play, oldest first

Replies start with ``ok`` or ``error``. The socket file is created with mode
0600: only its owner can ring the bell.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import dataclasses
import json
import os
from pathlib import Path

from .device import EmulatedDoorbell

COMMAND_TIMEOUT = 10.0


async def execute(device: EmulatedDoorbell, line: str) -> str:
    """Run one command line against the device and return the reply line."""
    words = line.strip().split()
    if not words:
        return "error empty command"
    command, args = words[0].lower(), words[1:]
    handler = _COMMANDS.get(command)
    if handler is None:
        return f"error unknown command {command!r}"
    try:
        return await handler(device, args)
    except KeyError as err:  # a device file without that part (no bell push, ...)
        return f"error this device has no {err.args[0]}"


async def _press(device: EmulatedDoorbell, args: list[str]) -> str:
    await device.press()
    return "ok pressed"


async def _motion(device: EmulatedDoorbell, args: list[str]) -> str:
    value = (args[0] if args else "on").lower()
    if value in ("on", "true", "1"):
        await device.motion(True)
    elif value in ("off", "false", "0"):
        await device.motion(False)
    else:
        try:
            seconds = float(value)
        except ValueError:
            return f"error bad motion argument {value!r}"
        await device.motion(True, duration=seconds)
    return f"ok motion {value}"


async def _status(device: EmulatedDoorbell, args: list[str]) -> str:
    status = {
        "name": device.name,
        "host": device.host,
        "port": device.port,
        "encrypted": device.psk is not None,
        "clients": len(device.connections),
        "frames_sent": device.frames_sent,
        "camera": dataclasses.asdict(device.stats),
        "timing": dataclasses.asdict(device.timing),
        "media_requests": len(device.media_requests),
    }
    return "ok " + json.dumps(status)


async def _media(device: EmulatedDoorbell, args: list[str]) -> str:
    requests = [dataclasses.asdict(request) for request in device.media_requests]
    return "ok " + json.dumps(requests)


_COMMANDS: dict[str, Callable[[EmulatedDoorbell, list[str]], Awaitable[str]]] = {
    "press": _press,
    "motion": _motion,
    "status": _status,
    "media": _media,
}


async def serve_control(device: EmulatedDoorbell, path: Path) -> asyncio.Server:
    """Listen for control commands on a UNIX socket at `path`."""

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while line := await reader.readline():
                reply = await execute(device, line.decode(errors="replace"))
                writer.write(reply.encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    old_umask = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(handle, path=str(path))
    finally:
        os.umask(old_umask)
    return server


async def send_command(path: Path, line: str) -> str:
    """Send one command to a running emulator and return its reply."""
    async with asyncio.timeout(COMMAND_TIMEOUT):
        reader, writer = await asyncio.open_unix_connection(str(path))
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await reader.readline()).decode().strip()
        finally:
            writer.close()
