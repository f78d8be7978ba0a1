"""Which of Peephole's languages a client gets: Accept-Language against translations/.

Pure Python. The recipient's page and the panel's HTTP errors are written in the
browser's language where Peephole has a translation file for it, and in English
otherwise.
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Final

FALLBACK: Final = "en"
TRANSLATIONS: Final = Path(__file__).parent / "translations"
_TAG: Final = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")
_MAX_HEADER: Final = 512
_MAX_RANGES: Final = 32


def available_languages(folder: Path = TRANSLATIONS) -> frozenset[str]:
    """Return the languages with a translation file (blocking: reads a folder)."""
    return frozenset(path.stem for path in folder.glob("*.json")) | {FALLBACK}


def _ranges(header: str) -> list[tuple[float, int, str]]:
    """Return ``(quality, position, tag)`` of each language range of a header."""
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:_MAX_HEADER].split(",")[:_MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        quality = 1.0
        params = params.strip()
        if params:
            name, _, value = params.partition("=")
            if name.strip().lower() != "q":
                continue
            try:
                quality = float(value)
            except ValueError:
                continue
            if not 0 < quality <= 1:
                continue
        if tag == "*" or _TAG.fullmatch(tag):
            ranges.append((quality, position, tag))
    return ranges


def negotiate(header: str | None, available: frozenset[str]) -> str:
    """Return the best of ``available`` for an Accept-Language header (RFC 4647 lookup).

    ``pt-BR`` matches a ``pt-BR`` file first, then ``pt``; ``*`` and anything
    unknown give English.
    """
    by_lower = {language.lower(): language for language in available}
    for _, _, tag in sorted(_ranges(header or ""), key=lambda r: (-r[0], r[1])):
        parts = tag.lower().split("-")
        while parts:
            if (found := by_lower.get("-".join(parts))) is not None:
                return found
            parts.pop()
    return FALLBACK
