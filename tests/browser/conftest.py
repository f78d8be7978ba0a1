"""The browser test runs the whole demo (its own Home Assistant) in subprocesses.

It needs Chromium and Node.js, which scripts/setup installs on the host, not in the
Python 3.14 chroot: scripts/test runs it in the floor leg (PEEPHOLE_BROWSER_TESTS=1).
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import time

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"

collect_ignore_glob = (
    [] if os.environ.get("PEEPHOLE_BROWSER_TESTS") == "1" else ["test_*.py"]
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No in-process hass here: the demo runs its own Home Assistant."""


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


def run_browser_script(script: str, demo: dict[str, str]) -> str:
    """Run one playwright-core script against the running demo; return its output.

    The script prints an ``ok - ...`` line per check and exits non-zero on the first
    failed one; its screenshots go to build/screenshots/.
    """
    node = shutil.which("node")
    assert node, "Node.js is not installed (scripts/setup installs it)"
    result = subprocess.run(  # noqa: S603 - node and our own script
        [
            node,
            str(REPO / "tests" / "browser" / script),
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
    return result.stdout
