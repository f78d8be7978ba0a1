"""Build translations/en.json from strings.json, resolving `[%key:...%]` references.

Home Assistant core resolves these references in its own build; a custom integration
ships the resolved file. `python tools/translations.py --check` fails when en.json is
out of date (the test command runs it).
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import sys
from typing import Any

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "peephole"
REFERENCE = re.compile(r"\[%key:component::peephole::([a-z0-9_:]+)%\]")


def _lookup(strings: dict[str, Any], path: str) -> str:
    node: Any = strings
    for part in path.split("::"):
        node = node[part]
    if not isinstance(node, str):
        raise TypeError(f"reference {path} does not name a string")
    return node


def resolve(strings: dict[str, Any], node: Any = None) -> Any:
    """Return ``node`` (default: all of ``strings``) with references replaced."""
    if node is None:
        node = strings
    if isinstance(node, dict):
        return {key: resolve(strings, value) for key, value in node.items()}
    if isinstance(node, str):
        return REFERENCE.sub(lambda m: resolve(strings, _lookup(strings, m[1])), node)
    return node


def build() -> str:
    """Return the text of translations/en.json."""
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    return json.dumps(resolve(strings), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write (or with --check, verify) translations/en.json."""
    target = INTEGRATION / "translations" / "en.json"
    text = build()
    if "--check" in argv:
        if target.read_text(encoding="utf-8") != text:
            print(
                "translations/en.json is out of date: run python tools/translations.py"
            )
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
