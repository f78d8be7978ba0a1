"""The browser test runs the whole demo (its own Home Assistant) in subprocesses.

It needs Chromium and Node.js, which scripts/setup installs on the host, not in the
Python 3.14 chroot: scripts/test runs it in the floor leg (PEEPHOLE_BROWSER_TESTS=1).
"""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import shutil
import subprocess

import pytest

from tests.demo_process import log_tails, running_demo

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"

collect_ignore_glob = (
    [] if os.environ.get("PEEPHOLE_BROWSER_TESTS") == "1" else ["test_*.py"]
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No in-process hass here: the demo runs its own Home Assistant."""


@pytest.fixture
def demo(tmp_path: Path, socket_enabled: None) -> Iterator[dict[str, str]]:
    """A running demo; its state file's content."""
    with running_demo(tmp_path) as running:
        yield {"state": str(tmp_path / "demo.json"), **running.state}


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
    assert result.returncode == 0, (
        f"{result.stdout}{result.stderr}\n{log_tails(Path(demo['state']).parent, 8000)}"
    )
    return result.stdout
