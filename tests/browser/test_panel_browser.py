"""The Doorbell panel, the recipient's page and the card: real HA, real frontend, Chromium.

Runs panel.mjs against the demo (the fixture in conftest.py): a ring's clip appears
on the timeline by itself (the day's count with it) and plays in place; keep and
un-keep with the keyboard; share it (the dialog keeps focus, gives the page's link
and a QR code, Escape closes it); open the link in a second browser with no login
and watch the clip; revoke it (the tabs by arrow keys) and see the page refuse, a
wrong link get the very same page, and both openings of the page in the link's
audit; the whole audit log with the request for no link counted; export (a
download) and delete with confirmation; the card on a dashboard (live view, last
ring, clips, privacy switch by keyboard) and its visual editor in the dashboard's
own edit dialog; the panel on a desktop and the panel and card on a phone in the
dark theme. axe-core finds nothing serious or critical on any of them, and no
picture, clip or zip comes over the websocket. Screenshots go to build/screenshots/.
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
        "ok - the clip is kept on the server too",
        "ok - Space again un-keeps it, on the server too",
        "ok - focus stays in the dialog (Tab does not leave it)",
        "ok - Escape closes the dialog",
        "ok - the link opens without a login",
        "ok - the page's Content-Security-Policy blocks an injected script",
        "ok - the recipient watches the clip play",
        "ok - the right arrow on the tabs opens the Shares view",
        "ok - the link is revoked from the Shares view",
        "ok - the page refuses (404: This link is not available)",
        "ok - a wrong link gets the same page, byte for byte",
        "ok - and the clip played between them",
        "ok - and the request for no link, counted (wrong token: 1)",
        "ok - Escape cancels the deletion",
        "ok - the clip is deleted after the confirmation",
        "ok - no picture, clip or zip came over the websocket",
        "ok - the card shows the masked live view",
        "ok - a thumbnail plays its clip in the card",
        "ok - Space on the card's privacy switch turns privacy mode on",
        "ok - the visual editor changes the card's preview",
        "ok - no errors in the pages ()",
    ):
        assert line in output
    assert "ok - both openings of the page are in its audit, allowed and refused" in (
        output
    )
    assert "ok - the export is downloaded as a zip" in output
    assert "ok - and saves it in the dashboard" in output
    assert output.count("ok - axe-core finds nothing serious or critical") == 11
    for name in (
        "panel-timeline.png",
        "panel-timeline-dark.png",
        "panel-share.png",
        "panel-shares.png",
        "panel-audit.png",
        "share-page-phone.png",
        "share-page-phone-dark.png",
        "card.png",
        "card-editor.png",
        "panel-phone-dark.png",
        "card-phone-dark.png",
    ):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
