"""The browser test runs the whole demo (its own Home Assistant) in subprocesses.

It needs Chromium and Node.js, which scripts/setup installs on the host, not in the
Python 3.14 chroot: scripts/test runs it in the floor leg (PEEPHOLE_BROWSER_TESTS=1).
"""

from __future__ import annotations

import os

import pytest

collect_ignore_glob = (
    [] if os.environ.get("PEEPHOLE_BROWSER_TESTS") == "1" else ["test_*.py"]
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No in-process hass here: the demo runs its own Home Assistant."""
