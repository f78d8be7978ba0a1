"""The demo, as a newcomer sees it: real HA, real frontend, headless Chromium.

Starts `python -m tools.demo` (Home Assistant with its frontend, the emulated doorbell,
Peephole set up through HA's own APIs), then runs demo.mjs with playwright-core against
Debian's Chromium: log in, see the masked camera on the dashboard (not the source),
ring the doorbell, see `ring` on Peephole's doorbell entity, turn privacy mode on and
see the placeholder. Screenshots go to build/screenshots/ (README shows copies).
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import time

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path, socket_enabled: None) -> Iterator[dict[str, str]]:
    """A running demo; its state file's content."""
    process = subprocess.Popen(  # noqa: S603 - our own demo, fixed arguments
        [
            sys.executable,
            "-m",
            "tools.demo",
            "--dir",
            str(tmp_path),
            "--port",
            str(_free_port()),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    state_file = tmp_path / "demo.json"
    try:
        deadline = time.monotonic() + 240
        while not state_file.exists():
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                logs = "".join(
                    p.read_text(errors="replace")[-3000:]
                    for p in tmp_path.glob("*.log")
                )
                pytest.fail(
                    f"the demo exited ({process.returncode}):\n{output}\n{logs}"
                )
            if time.monotonic() > deadline:
                pytest.fail("the demo did not start within 240 s")
            time.sleep(0.5)
        yield {"state": str(state_file), **json.loads(state_file.read_text())}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.timeout(900)  # a whole Home Assistant plus a browser
def test_demo_in_headless_chromium(demo: dict[str, str]) -> None:
    node = shutil.which("node")
    assert node, "Node.js is not installed (scripts/setup installs it)"
    result = subprocess.run(  # noqa: S603 - node and our own script
        [
            node,
            str(REPO / "tests" / "browser" / "demo.mjs"),
            demo["state"],
            str(SCREENSHOTS),
        ],
        cwd=REPO / "tests" / "browser",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(result.stdout)  # noqa: T201 - the browser checks, in the test log
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok - the dashboard shows the masked camera" in result.stdout
    assert "ok - event.front_door_doorbell fired ring" in result.stdout
    assert "ok - the dashboard shows the privacy placeholder" in result.stdout
    for name in ("dashboard.png", "doorbell.png", "privacy-mode.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
