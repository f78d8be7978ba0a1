"""Privacy zones: named polygons in normalized frame coordinates.

Pure Python, no Home Assistant imports. A zone is a simple (non
self-intersecting) polygon whose points are ``(x, y)`` pairs in ``0..1``,
``(0, 0)`` being the top-left corner of the frame and ``(1, 1)`` the
bottom-right one. Validation failures raise :class:`ZoneError`, whose ``key``
is a translation key and whose ``placeholders`` fill its message.

Error keys and their placeholders:

========================  ===============================================
``invalid_points``        ``zone``: text (or zone name) that did not parse
``too_few_points``        ``zone``, ``min``
``too_many_points``       ``zone``, ``max``
``point_out_of_range``    ``zone``, ``point`` (``"x,y"``)
``self_intersecting``     ``zone``
``invalid_name``          ``zone``, ``max`` (maximum name length)
``name_characters``       ``zone`` (the name, control characters shown escaped)
``duplicate_name``        ``zone``
``too_many_zones``        ``max``
========================  ===============================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import math
import re
from typing import Any, Final
import unicodedata

type Point = tuple[float, float]

MIN_POINTS: Final = 3
MAX_POINTS: Final = 32
# As many zones as a doorbell picture can hold; the bound only keeps a runaway
# automation or API client from storing an unbounded list in the entry.
MAX_ZONES: Final = 64
MAX_NAME_LENGTH: Final = 64
# Characters a name may not hold: control characters (Cc), line and paragraph
# separators, and the bidirectional embeddings, overrides and isolates.
_NAME_FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Zl", "Zp"})
_BIDI_CONTROLS: Final = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
MAX_POINTS_TEXT: Final = 4096

_PAIR_SEPARATORS: Final = re.compile(r"[;\n\r]+")
_XY_SEPARATOR: Final = re.compile(r"\s*,\s*|\s+")
_BRACKETS: Final = str.maketrans("", "", "()[]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """A named privacy zone: a polygon in normalized coordinates."""

    name: str
    points: tuple[Point, ...]
    enabled: bool = True


class ZoneError(ValueError):
    """A zone (or a list of zones) is invalid.

    ``key`` is the translation key, ``placeholders`` the values its message
    refers to (see the module docstring).
    """

    key: str
    placeholders: dict[str, str]

    def __init__(self, key: str, placeholders: Mapping[str, str] | None = None) -> None:
        """Create the error from a translation key and its placeholders."""
        self.key = key
        self.placeholders = dict(placeholders or {})
        detail = ", ".join(f"{k}={v}" for k, v in sorted(self.placeholders.items()))
        super().__init__(f"{key} ({detail})" if detail else key)


def parse_points(text: str) -> tuple[Point, ...]:
    """Parse ``"x,y; x,y; ..."`` into points.

    Pairs are separated by ``;`` or newlines (or by whitespace when the text
    has neither); the two numbers of a pair by a comma or whitespace. Brackets
    are ignored, so ``"(0.1, 0.2) (0.5, 0.2)"`` parses too. Only the syntax is
    checked here: ranges and shape are checked by :func:`validate_zone`.

    Raises ZoneError("invalid_points") when the text cannot be parsed.
    """
    error = ZoneError("invalid_points", {"zone": text[:40]})
    if len(text) > MAX_POINTS_TEXT:
        raise error
    cleaned = text.translate(_BRACKETS).strip()
    chunks = [c.strip() for c in _PAIR_SEPARATORS.split(cleaned) if c.strip()]
    if len(chunks) == 1 and "," in chunks[0]:
        # One line without ';': "x,y x,y x,y" (pairs separated by whitespace).
        compact = re.sub(r"\s*,\s*", ",", chunks[0])
        if " " in compact or "\t" in compact:
            chunks = compact.split()
    if not chunks:
        raise error
    points: list[Point] = []
    for chunk in chunks:
        parts = _XY_SEPARATOR.split(chunk)
        if len(parts) != 2:
            raise error
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise error from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise error
        points.append((x, y))
    return tuple(points)


def _format_number(value: float) -> str:
    """Format a coordinate with at most six decimals and no trailing zeros."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def format_points(points: Sequence[Sequence[float]]) -> str:
    """Format points as ``"x,y; x,y; ..."`` (the inverse of parse_points)."""
    return "; ".join(f"{_format_number(x)},{_format_number(y)}" for x, y in points)


def _orientation(a: Point, b: Point, c: Point) -> float:
    """Twice the signed area of triangle abc (> 0: counter-clockwise)."""
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, p: Point) -> bool:
    """Whether p, known to be collinear with ab, lies on the closed segment ab."""
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[
        1
    ] <= max(a[1], b[1])


def _segments_intersect(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether the closed segments ab and cd share at least one point."""
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    if ((o1 > 0 > o2) or (o1 < 0 < o2)) and ((o3 > 0 > o4) or (o3 < 0 < o4)):
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


def is_simple_polygon(points: Sequence[Point]) -> bool:
    """Tell whether the closed polygon is simple.

    Simple: no repeated point, no edge that touches or crosses a
    non-adjacent edge, no edge that folds back onto its neighbour, and a
    non-zero area.
    """
    n = len(points)
    if len(set(points)) != n:
        return False
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i, (a, b) in enumerate(edges):
        # Adjacent edge: collinear and pointing back means the two overlap.
        c = edges[(i + 1) % n][1]
        if _orientation(a, b, c) == 0 and (
            (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) < 0
        ):
            return False
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # edges 0 and n-1 are adjacent (they share point 0)
            if _segments_intersect(a, b, *edges[j]):
                return False
    area2 = sum(_orientation((0.0, 0.0), a, b) for a, b in edges)
    return area2 != 0


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character that has no place in a name.

    Control characters (NUL, newlines, escapes...), line and paragraph separators
    and the bidirectional overrides that make a name read differently from what
    it is.
    """
    return any(
        unicodedata.category(ch) in _NAME_FORBIDDEN_CATEGORIES or ch in _BIDI_CONTROLS
        for ch in text
    )


def validate_zone(zone: Zone) -> None:
    """Check one zone: name, point count, coordinate range and shape.

    Raises ZoneError with one of the keys listed in the module docstring.
    """
    name = zone.name
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ZoneError("invalid_name", {"zone": name, "max": str(MAX_NAME_LENGTH)})
    if has_control_characters(name):
        raise ZoneError(
            "name_characters", {"zone": name.encode("unicode_escape").decode()}
        )
    points = zone.points
    if len(points) < MIN_POINTS:
        raise ZoneError("too_few_points", {"zone": name, "min": str(MIN_POINTS)})
    if len(points) > MAX_POINTS:
        raise ZoneError("too_many_points", {"zone": name, "max": str(MAX_POINTS)})
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):  # also rejects NaN
            raise ZoneError(
                "point_out_of_range", {"zone": name, "point": format_points([(x, y)])}
            )
    if not is_simple_polygon(points):
        raise ZoneError("self_intersecting", {"zone": name})


def validate_zones(zones: Sequence[Zone]) -> None:
    """Check every zone, the zone count and that names are unique.

    Names are compared case-insensitively and ignoring surrounding spaces.
    Raises ZoneError.
    """
    if len(zones) > MAX_ZONES:
        raise ZoneError("too_many_zones", {"max": str(MAX_ZONES)})
    seen: set[str] = set()
    for zone in zones:
        validate_zone(zone)
        folded = zone.name.strip().casefold()
        if folded in seen:
            raise ZoneError("duplicate_name", {"zone": zone.name})
        seen.add(folded)


def _coordinate(value: object, name: str) -> float:
    """Return a stored coordinate as float; bools and non-numbers are invalid."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ZoneError("invalid_points", {"zone": name})
    return float(value)


def zones_from_storage(data: Sequence[Mapping[str, Any]]) -> tuple[Zone, ...]:
    """Build validated zones from their stored form (config entry options).

    ``data`` is a list of ``{"name": str, "points": [[x, y], ...],
    "enabled": bool}``; ``enabled`` defaults to true. Raises ZoneError.
    """
    raw_zones: object = data  # stored data is only trusted once checked
    if isinstance(raw_zones, str | bytes) or not isinstance(raw_zones, Sequence):
        raise ZoneError("invalid_points", {"zone": ""})
    zones: list[Zone] = []
    for item in raw_zones:
        if not isinstance(item, Mapping):
            raise ZoneError("invalid_points", {"zone": ""})
        name = item.get("name")
        if not isinstance(name, str):
            raise ZoneError("invalid_name", {"zone": "", "max": str(MAX_NAME_LENGTH)})
        raw_points = item.get("points")
        if isinstance(raw_points, str | bytes) or not isinstance(raw_points, Sequence):
            raise ZoneError("invalid_points", {"zone": name})
        points: list[Point] = []
        for raw in raw_points:
            if (
                isinstance(raw, str | bytes)
                or not isinstance(raw, Sequence)
                or len(raw) != 2
            ):
                raise ZoneError("invalid_points", {"zone": name})
            points.append((_coordinate(raw[0], name), _coordinate(raw[1], name)))
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ZoneError("invalid_points", {"zone": name})
        zones.append(Zone(name=name, points=tuple(points), enabled=enabled))
    result = tuple(zones)
    validate_zones(result)
    return result


def zones_to_storage(zones: Sequence[Zone]) -> list[dict[str, Any]]:
    """Return the JSON-serialisable stored form of zones (see zones_from_storage)."""
    return [
        {
            "name": zone.name,
            "points": [[x, y] for x, y in zone.points],
            "enabled": zone.enabled,
        }
        for zone in zones
    ]
