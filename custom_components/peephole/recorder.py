"""The ffmpeg pipeline: masked JPEG frames on stdin -> fragmented H.264 MP4.

Pure asyncio, no Home Assistant. ffmpeg only ever sees frames that were already
masked; it writes a fragmented MP4 (a fragment per keyframe, one keyframe per
second), so a kill at any point leaves a file that plays up to its last fragment.
"""

from __future__ import annotations

import asyncio
from asyncio.subprocess import Process
import contextlib
from pathlib import Path

from .buffer import Frame
from .clips import ProbeError

# A gap longer than this (source stalled) is not filled with copies of a frame.
MAX_DUPLICATES = 50
STDERR_LIMIT = 8192
DISK_FULL_MARKERS = ("No space left on device", "ENOSPC")


class EncoderError(Exception):
    """ffmpeg failed; ``disk_full`` tells whether it ran out of space."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        """Initialise the error."""
        super().__init__(message)
        self.disk_full = disk_full


def encoder_command(binary: str, path: Path, fps: float) -> list[str]:
    """Return ffmpeg's command line for one clip."""
    gop = max(round(fps), 1)
    return [
        binary,
        "-hide_banner",
        "-loglevel",
        "error",
        # Start at once: probe no more than the first frame or two.
        "-probesize",
        "32768",
        "-analyzeduration",
        "0",
        "-f",
        "image2pipe",
        "-c:v",
        "mjpeg",
        "-framerate",
        f"{fps:g}",
        "-i",
        "pipe:0",
        "-an",
        "-vf",
        "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-movflags",
        "+frag_keyframe+empty_moov+default_base_moof",
        "-flush_packets",
        "1",
        "-f",
        "mp4",
        "-y",
        str(path),
    ]


class ClipEncoder:
    """One ffmpeg process writing one clip; frames are placed on a fixed time grid.

    Frame ``n`` of the clip shows what was current at ``start + n / fps``: a frame
    arriving late fills the gap with copies of the previous one, two frames in one
    slot keep the first. The clip's first frame is at ``start``.
    """

    def __init__(
        self, binary: str, path: Path, fps: float, start: float, timeout: float
    ) -> None:
        """Prepare (nothing runs before ``async_start``)."""
        self.binary = binary
        self.path = path
        self.fps = fps
        self.start = start
        self.timeout = timeout
        self.frames_written = 0
        self._last: bytes | None = None
        self._process: Process | None = None
        self._stderr = b""
        self._stderr_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """Return ffmpeg's process id while it runs."""
        return self._process.pid if self._process else None

    @property
    def duration(self) -> float:
        """Return the length of what was written so far, in seconds."""
        return self.frames_written / self.fps

    async def async_start(self) -> None:
        """Start ffmpeg."""
        self._process = await asyncio.create_subprocess_exec(
            *encoder_command(self.binary, self.path, self.fps),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._stderr_task = asyncio.create_task(self._read_stderr(self._process))

    async def _read_stderr(self, process: Process) -> None:
        if process.stderr is None:  # pragma: no cover - always a pipe
            return
        while chunk := await process.stderr.read(4096):
            self._stderr = (self._stderr + chunk)[-STDERR_LIMIT:]

    def _error(self, what: str) -> EncoderError:
        text = self._stderr.decode(errors="replace").strip()
        return EncoderError(
            f"{what}: {text or 'no output'}",
            disk_full=any(marker in text for marker in DISK_FULL_MARKERS),
        )

    async def async_write(self, frame: Frame) -> None:
        """Place one frame on the clip's time grid and send it to ffmpeg."""
        slot = round((frame.time - self.start) * self.fps)
        if slot < 0:
            # From before the clip: what is on screen at its start, unless a frame
            # of the clip's first slot comes.
            if self.frames_written == 0:
                self._last = frame.data
            return
        if slot < self.frames_written:
            return
        gap = slot - self.frames_written
        if self._last is None or gap > MAX_DUPLICATES:
            # Nothing to repeat (first frame) or a stall: start here without filling.
            copies = [frame.data]
            if self._last is None:
                copies *= min(gap, MAX_DUPLICATES) + 1
        else:
            copies = [self._last] * gap + [frame.data]
        await self._send(copies)
        self._last = frame.data

    async def _send(self, frames: list[bytes]) -> None:
        process = self._process
        if process is None or process.stdin is None:
            raise EncoderError("ffmpeg is not running")
        try:
            for data in frames:
                process.stdin.write(data)
                self.frames_written += 1
            async with asyncio.timeout(self.timeout):
                await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as err:
            await self._async_wait_stderr()
            raise self._error("ffmpeg stopped") from err
        except TimeoutError as err:
            self.kill()
            raise EncoderError("ffmpeg does not take frames") from err

    async def _async_wait_stderr(self) -> None:
        if self._process is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timeout):
                    await self._process.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._stderr_task

    async def async_finish(self) -> None:
        """Close ffmpeg's input and wait for it to write the last fragment."""
        process = self._process
        if process is None or process.stdin is None:
            raise EncoderError("ffmpeg is not running")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.close()
        try:
            async with asyncio.timeout(self.timeout):
                await process.wait()
        except TimeoutError as err:
            self.kill()
            raise EncoderError("ffmpeg did not finish in time") from err
        await self._async_wait_stderr()
        if process.returncode != 0:
            raise self._error(f"ffmpeg exited with {process.returncode}")

    def kill(self) -> None:
        """Kill ffmpeg at once (what is written so far stays playable)."""
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()


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
