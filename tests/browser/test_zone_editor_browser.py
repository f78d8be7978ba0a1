"""The privacy zone editor, as an owner uses it: real HA, real frontend, Chromium.

Runs zones.mjs against the demo (the fixture of test_demo_browser.py): open the
Privacy zones panel, see a fresh snapshot with the demo's Street zone, draw a new
zone with the mouse, preview it, save it, and read back from the live camera that
it is masked there. Screenshots go to build/screenshots/.
"""

from __future__ import annotations

from pathlib import Path
import shutil
import subprocess

import pytest

from tests.browser.test_demo_browser import demo  # noqa: F401 - the running demo

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"


@pytest.mark.timeout(900)  # a whole Home Assistant plus a browser
def test_zone_editor_in_headless_chromium(demo: dict[str, str]) -> None:  # noqa: F811
    node = shutil.which("node")
    assert node, "Node.js is not installed (scripts/setup installs it)"
    result = subprocess.run(  # noqa: S603 - node and our own script
        [
            node,
            str(REPO / "tests" / "browser" / "zones.mjs"),
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
    assert "ok - the editor shows a fresh snapshot" in result.stdout
    assert "ok - the preview masks the new zone" in result.stdout
    assert "ok - the live camera is masked in the new zone" in result.stdout
    assert "ok - a duplicate name is refused" in result.stdout
    assert "ok - three corners were tapped on a phone" in result.stdout
    for name in (
        "zone-editor.png",
        "zone-editor-preview.png",
        "zone-editor-phone-dark.png",
    ):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
