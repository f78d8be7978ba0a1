"""The demo, as a newcomer sees it: real HA, real frontend, headless Chromium.

Starts `python -m tools.demo` (Home Assistant with its frontend, the emulated doorbell,
Peephole set up through HA's own APIs), then runs demo.mjs with playwright-core against
Debian's Chromium: log in, see the masked camera on the dashboard (not the source),
ring the doorbell, see `ring` on Peephole's doorbell entity, turn privacy mode on and
see the placeholder. Screenshots go to build/screenshots/ (README shows copies).
"""

from __future__ import annotations

import pytest

from .conftest import SCREENSHOTS, run_browser_script


@pytest.mark.timeout(900)  # a whole Home Assistant plus a browser
def test_demo_in_headless_chromium(demo: dict[str, str]) -> None:
    output = run_browser_script("demo.mjs", demo)
    assert "ok - the dashboard shows the masked camera" in output
    assert "ok - event.front_door_doorbell fired ring" in output
    assert "ok - the dashboard shows the privacy placeholder" in output
    for name in ("dashboard.png", "doorbell.png", "privacy-mode.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
