"""The privacy zone editor, as an owner uses it: real HA, real frontend, Chromium.

Runs zones.mjs against the demo (the fixture in conftest.py): open the
Privacy zones panel, see a fresh snapshot with the demo's Street zone, draw a new
zone with the mouse, preview it, save it, and read back from the live camera that
it is masked there. No picture comes over the websocket (both come over HTTP), and
a picture that arrives late (another doorbell chosen, privacy mode turned on, the
panel closed) is dropped and its object URL revoked. Then, on a phone-sized screen
in the dark theme, place corners by tapping. Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import pytest

from .conftest import SCREENSHOTS, run_browser_script


@pytest.mark.timeout(900)  # a whole Home Assistant plus a browser
def test_zone_editor_in_headless_chromium(demo: dict[str, str]) -> None:
    output = run_browser_script("zones.mjs", demo)
    assert "ok - the editor shows a fresh snapshot" in output
    assert "ok - the preview masks the new zone" in output
    assert "ok - the preview did not come over the websocket either" in output
    assert "ok - the draft zones were posted, not put in the address" in output
    assert "ok - the live camera is masked in the new zone" in output
    assert "ok - a duplicate name is refused" in output
    assert (
        "ok - a preview that comes after another doorbell was chosen is dropped"
        in output
    )
    assert "ok - privacy mode takes the picture off the screen at once" in output
    assert (
        "ok - a snapshot or preview that arrives once privacy mode is on is not shown"
        in output
    )
    assert "ok - a preview that comes after the panel closed is dropped" in output
    assert "ok - every picture the editor made is let go" in output
    assert "ok - no picture ever came over the websocket" in output
    assert "ok - the panel opens on a phone" in output
    assert "ok - three corners were tapped on a phone" in output
    assert "ok - the phone layout has one column" in output
    assert "ok - the dark theme applies" in output
    for name in (
        "zone-editor.png",
        "zone-editor-preview.png",
        "zone-editor-phone-dark.png",
    ):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
