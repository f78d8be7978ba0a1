"""The Doorbell panel, the recipient's page and the card: real HA, real frontend, Chromium.

Runs panel.mjs against the demo (the fixture in conftest.py): a ring's clip appears
on the timeline by itself and plays in place; keep with the keyboard; share it
(the dialog keeps focus, gives the page's link and a QR code, Escape closes it);
open the link in a second browser with no login and watch the clip; revoke it
and see the page refuse; see both openings in the audit; export (a download) and
delete with confirmation; the card on a dashboard (live view, last ring, clips,
privacy switch); the panel and the card on a phone in the dark theme. axe-core
finds nothing serious or critical on any of them, and no picture, clip or zip
comes over the websocket. Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import pytest

from .conftest import SCREENSHOTS, run_browser_script


@pytest.mark.timeout(900)  # a whole Home Assistant plus a browser
def test_panel_share_page_and_card_in_headless_chromium(demo: dict[str, str]) -> None:
    output = run_browser_script("panel.mjs", demo)
    for line in (
        "ok - the ring's clip appeared on the timeline without a reload",
        "ok - Space on the focused Keep button keeps the clip",
        "ok - focus stays in the dialog (Tab does not leave it)",
        "ok - Escape closes the dialog",
        "ok - the link opens without a login",
        "ok - the recipient watches the clip play",
        "ok - the link is revoked from the Shares view",
        "ok - the clip is deleted after the confirmation",
        "ok - no picture, clip or zip came over the websocket",
        "ok - the card shows the masked live view",
        "ok - a thumbnail plays its clip in the card",
        "ok - no errors in the pages ()",
    ):
        assert line in output
    assert output.count("ok - axe-core finds nothing serious or critical") == 9
    for name in (
        "panel-timeline.png",
        "panel-share.png",
        "panel-shares.png",
        "share-page-phone.png",
        "card.png",
        "panel-phone-dark.png",
        "card-phone-dark.png",
    ):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
