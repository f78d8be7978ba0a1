"""The command line: serve a source in a process of its own, and its typed commands."""

from __future__ import annotations

import asyncio
from pathlib import Path
import signal
import sys

import pytest

from tools.streams import HlsServer, MjpegServer, RtspServer, SceneClip
from tools.streams.__main__ import execute

from .common import assert_consecutive, read_ffmpeg
from .conftest import SPEC

REPO = Path(__file__).resolve().parents[2]


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.streams",
        *args,
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_cli_serves_rtsp_until_terminated(tmp_path: Path) -> None:
    """`python -m tools.streams rtsp --port 0` prints its URLs and serves the scene."""
    process = await _start(
        "rtsp", "--size", "320x240", "--fps", "10", "--gop", "1", "--duration", "3",
        "--port", "0", "--sub", "160x120", "--cache", str(tmp_path),
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            main = (await process.stdout.readline()).decode().strip()
            sub = (await process.stdout.readline()).decode().strip()
        assert main.startswith("rtsp://127.0.0.1:")
        assert main.endswith("/stream")
        assert sub == main.replace("/stream", "/sub")
        reading, code, stderr = await read_ffmpeg(
            main, 12, (320, 240), input_args=["-rtsp_transport", "tcp"]
        )
        assert code == 0, stderr
        assert len(reading.frames) == 12
        assert None not in reading.numbers
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await process.wait() == 0


async def test_cli_render_prints_the_files(tmp_path: Path) -> None:
    """`render` writes the clip's three files and prints their paths."""
    process = await _start(
        "render", "--size", "320x240", "--fps", "10", "--duration", "1",
        "--cache", str(tmp_path),
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err
    paths = [Path(line) for line in out.decode().split()]
    assert [p.suffix for p in paths] == [".h264", ".mp4", ".mjpeg"]
    assert all(p.parent == tmp_path and p.stat().st_size > 0 for p in paths)


async def test_cli_rejects_a_bad_size() -> None:
    """A malformed --size is a usage error with the reason."""
    process = await _start("rtsp", "--size", "big")
    async with asyncio.timeout(30):
        _, err = await process.communicate()
    assert process.returncode == 2
    assert b"1920x1080" in err


async def test_typed_commands(socket_enabled: None, clip: SceneClip) -> None:
    """The commands typed while serving drive the fault injection."""
    async with RtspServer(clip) as rtsp:
        assert execute(rtsp, "") == ""
        assert execute(rtsp, "refuse") == "refusing connections"
        assert not rtsp.accepting
        assert execute(rtsp, "accept") == "accepting connections"
        await asyncio.sleep(0.1)
        assert rtsp.accepting
        assert execute(rtsp, "stall 5") == "stalled"
        assert rtsp.stalled
        assert execute(rtsp, "resume") == "flowing"
        assert not rtsp.stalled
        assert execute(rtsp, "drop") == "dropped 0 connection(s)"
        assert execute(rtsp, "outage 0.2") == "outage: dropped 0 connection(s)"
        assert not rtsp.accepting
        await asyncio.sleep(0.4)
        assert rtsp.accepting
        assert execute(rtsp, "status").startswith("clients=0 accepting=True")
        assert execute(rtsp, "end") == "unknown command: end"
        reading, code, _ = await read_ffmpeg(
            rtsp.url(), 5, SPEC.size, input_args=["-rtsp_transport", "tcp"]
        )
        assert code == 0
        assert_consecutive(reading, SPEC)
    async with HlsServer(clip) as hls:
        assert execute(hls, "end") == "playlist ended"
        assert hls.ended
        assert execute(hls, "live") == "playlist live"
        assert not hls.ended
    async with MjpegServer(clip) as mjpeg:
        assert execute(mjpeg, "stall") == "stalled"
        assert mjpeg.stalled
        assert execute(mjpeg, "nonsense 1") == "unknown command: nonsense 1"


@pytest.mark.parametrize("seconds", ["x"])
async def test_typed_command_with_a_bad_number(
    socket_enabled: None, clip: SceneClip, seconds: str
) -> None:
    """A command whose number does not parse is answered, not raised."""
    async with RtspServer(clip) as rtsp:
        assert (
            execute(rtsp, f"stall {seconds}") == f"not a number of seconds: {seconds}"
        )
        assert not rtsp.stalled
