"""The repository itself: what HACS and a packager read besides the code."""

from __future__ import annotations

import json
from pathlib import Path
import tomllib

REPO = Path(__file__).resolve().parents[1]


def test_license_file_matches_the_declared_license() -> None:
    """HACS's validation asks for a LICENSE file; it is the one pyproject names."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert declared["project"]["license"] == {"text": "Apache-2.0"}
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    words = text.split()
    assert words[:5] == ["Apache", "License", "Version", "2.0,", "January"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_hacs_manifest_names_the_tested_floor() -> None:
    """HACS offers Peephole only to Home Assistant releases it was tested on."""
    hacs = json.loads((REPO / "hacs.json").read_text(encoding="utf-8"))
    manifest = json.loads(
        (REPO / "custom_components" / "peephole" / "manifest.json").read_text(
            encoding="utf-8"
        )
    )
    assert hacs["name"] == manifest["name"] == "Peephole"
    floor = (REPO / "requirements" / "floor.txt").read_text(encoding="utf-8")
    assert f"# Floor test environment: Home Assistant {hacs['homeassistant']} " in floor
