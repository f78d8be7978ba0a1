"""The demo, as a newcomer sees it: real HA, real frontend, headless Chromium.

Starts `python -m tools.demo` (Home Assistant with its frontend, the emulated doorbell,
Peephole set up through HA's own APIs), then runs demo.mjs with playwright-core against
Debian's Chromium: log in, see the masked camera on the dashboard (not the source),
ring the doorbell, see `ring` on Peephole's doorbell entity and its clip play; open
the masked camera's more-info dialog, which plays HLS from HA's stream component
(reading Peephole's masked stream), and check the pictures drawn from its <video>:
the street zone one flat grey, the porch moving; turn privacy mode on while it plays
and see the stream end and the placeholder, there and on the dashboard. Screenshots
go to build/screenshots/ (README shows copies).
"""

from __future__ import annotations

import pytest

from .conftest import SCREENSHOTS, run_browser_script


@pytest.mark.timeout(900)  # a whole Home Assistant plus a browser
def test_demo_in_headless_chromium(demo: dict[str, str]) -> None:
    output = run_browser_script("demo.mjs", demo)
    assert "ok - the dashboard shows the masked camera" in output
    assert "ok - event.front_door_doorbell fired ring" in output
    assert "ok - the more-info dialog plays the masked stream" in output
    assert "ok - over HLS from Home Assistant" in output
    assert "ok - the street zone is one flat grey in every picture" in output
    assert "ok - the rest of the picture moves between pictures" in output
    assert "ok - privacy mode ends the live stream" in output
    assert (
        "ok - Home Assistant offers no stream of the camera in privacy mode" in output
    )
    assert "ok - the dashboard shows the privacy placeholder" in output
    assert "ok - the live stream plays on a phone too" in output
    for name in (
        "dashboard.png",
        "doorbell.png",
        "live-stream.png",
        "privacy-mode.png",
        "live-stream-phone-dark.png",
    ):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
