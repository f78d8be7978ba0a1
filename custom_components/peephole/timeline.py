"""The panel's timeline: one day's clips of any doorbells, newest first, in pages.

Pure Python (no Home Assistant). Clips of several doorbells are merged and
ordered by ``(start, entry id, clip id)``, newest first; a page holds at most
``limit`` of them and a *cursor* names the last one, so the next page starts
right after it even when clips are added or deleted meanwhile (nothing is
skipped or shown twice). A page is picked with a bounded heap, so asking for the
first page of one day costs one pass over the index, whatever its size.

Errors raise :class:`TimelineError`, whose ``key`` is a translation key
(``exceptions`` in strings.json): ``timeline_invalid_day`` (``day``),
``timeline_invalid_cursor`` (no placeholder).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
import heapq
import re
from typing import Final

from .clips import Clip, is_clip_id

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
# Entry ids are ULIDs (26 characters) in Home Assistant; anything printable and
# short is accepted, so that a test's or an old entry's id works too.
_ENTRY_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DAY_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURSOR_RE: Final = re.compile(
    r"^(?P<start>\d{16})\.(?P<entry>[A-Za-z0-9_-]{1,64})\.(?P<clip>[0-9T]{15}-[0-9a-f]{8})$"
)

type SortKey = tuple[int, str, str]


class TimelineError(ValueError):
    """A timeline request is invalid (``key`` is a translation key)."""

    def __init__(self, key: str, placeholders: dict[str, str] | None = None) -> None:
        """Create the error from a translation key and its placeholders."""
        super().__init__(key)
        self.key = key
        self.placeholders = placeholders or {}


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One clip of one doorbell."""

    entry_id: str
    clip: Clip


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a day, newest first; ``cursor`` asks for the next one."""

    items: list[TimelineItem]
    cursor: str | None


def parse_day(value: str) -> date:
    """Return the date of ``YYYY-MM-DD``, or raise TimelineError."""
    try:
        if not _DAY_RE.fullmatch(value):  # fromisoformat takes 20260601 too
            raise TimelineError("timeline_invalid_day", {"day": value[:32]})
        return date.fromisoformat(value)
    except ValueError as err:
        raise TimelineError("timeline_invalid_day", {"day": value[:32]}) from err


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return the first instant of ``day`` in ``zone`` and of the next day (UTC).

    A day is not always 24 hours (daylight saving time), so both ends are
    computed from local midnights.
    """
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def sort_key(entry_id: str, clip: Clip) -> SortKey:
    """Return the order of a clip on the timeline (larger is newer)."""
    return (_micros(clip.start), entry_id, clip.id)


def encode_cursor(key: SortKey) -> str:
    """Return the cursor that names a clip's place on the timeline."""
    return f"{key[0]:016d}.{key[1]}.{key[2]}"


def decode_cursor(cursor: str) -> SortKey:
    """Return the place a cursor names, or raise TimelineError."""
    match = _CURSOR_RE.fullmatch(cursor)
    if match is None or not is_clip_id(match["clip"]):
        raise TimelineError("timeline_invalid_cursor")
    return (int(match["start"]), match["entry"], match["clip"])


def page(
    sources: Iterable[tuple[str, Iterable[Clip]]],
    *,
    start: datetime,
    end: datetime,
    triggers: frozenset[str] | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Return the clips from ``start`` (included) to ``end`` (excluded), newest first.

    ``sources`` are ``(entry id, clips)`` pairs; ``triggers`` keeps only clips
    of those triggers; ``cursor`` (from the previous page) starts after that
    clip; at most ``limit`` (1 to MAX_LIMIT) clips are returned.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit out of range: {limit}")
    after = decode_cursor(cursor) if cursor is not None else None
    low, high = _micros(start), _micros(end)
    candidates: list[tuple[SortKey, str, Clip]] = []
    for entry_id, clips in sources:
        if not _ENTRY_ID_RE.fullmatch(entry_id):
            continue
        for clip in clips:
            key = sort_key(entry_id, clip)
            if not low <= key[0] < high:
                continue
            if triggers is not None and clip.trigger not in triggers:
                continue
            if after is not None and key >= after:
                continue
            candidates.append((key, entry_id, clip))
    newest = heapq.nlargest(limit + 1, candidates, key=lambda item: item[0])
    more = len(newest) > limit
    newest = newest[:limit]
    items = [TimelineItem(entry_id, clip) for _, entry_id, clip in newest]
    next_cursor = encode_cursor(newest[-1][0]) if more else None
    return Page(items, next_cursor)


def day_counts(
    sources: Iterable[tuple[str, Iterable[Clip]]],
    zone: tzinfo,
    triggers: frozenset[str] | None = None,
) -> dict[str, int]:
    """Return the number of clips per local day (``YYYY-MM-DD``), newest day first."""
    counts: Counter[str] = Counter()
    for _, clips in sources:
        for clip in clips:
            if triggers is None or clip.trigger in triggers:
                counts[clip.start.astimezone(zone).date().isoformat()] += 1
    return dict(sorted(counts.items(), reverse=True))
