"""Every translated error the code raises has its text, and en.json is up to date."""

from __future__ import annotations

import json
from pathlib import Path
import re

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "peephole"
KEY = re.compile(r'translation_domain=DOMAIN,\s*translation_key=\s*"([a-z0-9_]+)"')


def test_every_exception_key_has_a_message() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    exceptions = strings["exceptions"]
    used: set[str] = set()
    for module in INTEGRATION.glob("*.py"):
        used |= set(KEY.findall(module.read_text(encoding="utf-8")))
    assert len(used) >= 10  # the pattern finds the keys the code raises
    issues = set(strings["issues"])
    missing = sorted(
        key
        for key in used - issues
        if not isinstance(exceptions.get(key), dict) or "message" not in exceptions[key]
    )
    assert not missing, f"exception keys without a message: {missing}"
    malformed = sorted(k for k, v in exceptions.items() if not isinstance(v, dict))
    assert not malformed


def test_translations_file_is_generated() -> None:
    from tools.translations import build

    assert (INTEGRATION / "translations" / "en.json").read_text(
        encoding="utf-8"
    ) == build()
