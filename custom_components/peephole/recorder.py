"""Checking a clip file with the real ffmpeg: does it play, and for how long.

Pure asyncio, no Home Assistant. Start-up uses it to tell a partial clip left by
a crash that plays (it is indexed) from one that does not.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from .clips import ProbeError


async def async_probe(binary: str, path: Path, limit: float) -> float | None:
    """Decode a whole MP4 with ffmpeg; return its duration, or None if it does not play.

    Raises ProbeError when ffmpeg cannot tell (it does not start, or takes longer
    than ``limit`` seconds): the clip may well play, so nothing may be removed.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            binary,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-f",
            "null",
            "-progress",
            "pipe:1",
            "-nostats",
            "-",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as err:
        raise ProbeError(f"ffmpeg did not start: {err}") from err
    try:
        async with asyncio.timeout(limit):
            out, _ = await process.communicate()
    except TimeoutError as err:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise ProbeError(f"ffmpeg took more than {limit} s") from err
    if process.returncode != 0:
        return None
    progress = dict(
        line.partition("=")[::2] for line in out.decode(errors="replace").splitlines()
    )
    try:
        frames = int(progress.get("frame", "0"))
        micros = int(progress.get("out_time_us", "0"))
    except ValueError:
        return None
    if frames <= 0:
        return None
    return max(micros, 0) / 1_000_000
