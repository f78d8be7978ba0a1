"""Every text the panel, the card and the share dialog show is in strings.json."""

from __future__ import annotations

import json
from pathlib import Path
import re

from custom_components.peephole.share_access import ClientOrigin, Refusal

COMPONENT = Path(__file__).resolve().parents[2] / "custom_components" / "peephole"
UI = json.loads((COMPONENT / "strings.json").read_text(encoding="utf-8"))["ui"]
SCRIPTS = {
    path.name: path.read_text(encoding="utf-8")
    for path in (COMPONENT / "frontend").glob("peephole-*.js")
}


def test_every_literal_key_has_a_text() -> None:
    used = {
        (name, key)
        for name, script in SCRIPTS.items()
        for line in script.splitlines()
        if not line.lstrip().startswith("//")
        for key in re.findall(r"\bt\(\"([a-z_]+)\"", line)
    }
    assert len(used) > 50  # (the pattern finds the panel's and the card's texts)
    assert [(name, key) for name, key in sorted(used) if key not in UI] == []


def test_every_refusal_reason_and_origin_has_a_text() -> None:
    """The audit shows each reason and client origin (keys made at run time)."""
    panel = SCRIPTS["peephole-panel.js"]
    assert "t(`reason_${" in panel
    assert "t(`origin_${" in panel
    assert [r.value for r in Refusal if f"reason_{r.value}" not in UI] == []
    assert [o.value for o in ClientOrigin if f"origin_{o.value}" not in UI] == []
    states = ("active", "revoked", "expired", "used_up", "no_rule", "unavailable")
    assert [s for s in states if f"share_state_{s}" not in UI] == []
