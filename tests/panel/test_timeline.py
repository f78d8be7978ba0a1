"""The timeline's paging, without Home Assistant: order, cursors, days, bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import random
from zoneinfo import ZoneInfo

import pytest

from custom_components.peephole.clips import Clip, new_clip_id
from custom_components.peephole.timeline import (
    MAX_LIMIT,
    TimelineError,
    day_bounds,
    day_counts,
    decode_cursor,
    encode_cursor,
    page,
    parse_day,
    sort_key,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def clip_at(start: datetime, trigger: str = "ring") -> Clip:
    return Clip(
        id=new_clip_id(start), start=start, duration=12.0, size=1000, trigger=trigger
    )


def spread(count: int, days: int, seed: int = 1) -> list[Clip]:
    """``count`` clips at random times over ``days`` days of June 2026 (UTC)."""
    rng = random.Random(seed)
    first = datetime(2026, 6, 1, tzinfo=UTC)
    return [
        clip_at(
            first + timedelta(seconds=rng.randrange(days * 86400)),
            rng.choice(["ring", "motion", "action"]),
        )
        for _ in range(count)
    ]


def test_pages_cover_a_day_once_newest_first() -> None:
    front, back = spread(3000, 7, seed=1), spread(2000, 7, seed=2)
    sources = [("front", front), ("back", back)]
    start, end = day_bounds(date(2026, 6, 3), UTC)
    expected = sorted(
        (
            (sort_key(entry_id, clip), clip.id)
            for entry_id, clips in sources
            for clip in clips
            if start <= clip.start < end
        ),
        reverse=True,
    )
    assert len(expected) > 500
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        result = page(sources, start=start, end=end, cursor=cursor, limit=100)
        pages += 1
        assert len(result.items) <= 100
        seen += [item.clip.id for item in result.items]
        if result.cursor is None:
            break
        cursor = result.cursor
    assert seen == [clip_id for _, clip_id in expected]
    assert pages == -(-len(expected) // 100)


def test_same_second_clips_are_ordered_and_none_is_lost() -> None:
    """Clips that start in the same second (two doorbells) keep a strict order."""
    moment = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
    clips = [clip_at(moment) for _ in range(5)]
    sources = [("b", clips[:2]), ("a", clips[2:])]
    start, end = day_bounds(date(2026, 6, 3), UTC)
    first = page(sources, start=start, end=end, limit=2)
    second = page(sources, start=start, end=end, cursor=first.cursor, limit=2)
    third = page(sources, start=start, end=end, cursor=second.cursor, limit=2)
    ids = [i.clip.id for p in (first, second, third) for i in p.items]
    assert sorted(ids) == sorted(c.id for c in clips)
    assert [i.entry_id for i in first.items] == ["b", "b"]
    assert third.cursor is None


def test_a_deleted_clip_does_not_shift_the_next_page() -> None:
    clips = spread(300, 1)
    sources = [("front", clips)]
    start, end = day_bounds(date(2026, 6, 1), UTC)
    first = page(sources, start=start, end=end, limit=50)
    # The newest clip is deleted before the next page is asked for.
    newest = first.items[0].clip
    rest = [clip for clip in clips if clip is not newest]
    second = page([("front", rest)], start=start, end=end, cursor=first.cursor)
    everything = page([("front", clips)], start=start, end=end, limit=MAX_LIMIT)
    assert [i.clip.id for i in second.items] == [
        i.clip.id for i in everything.items[50:100]
    ]


def test_triggers_filter() -> None:
    clips = spread(400, 1)
    start, end = day_bounds(date(2026, 6, 1), UTC)
    result = page(
        [("front", clips)],
        start=start,
        end=end,
        triggers=frozenset({"ring"}),
        limit=MAX_LIMIT,
    )
    assert result.items
    assert {item.clip.trigger for item in result.items} == {"ring"}
    assert len(result.items) == sum(1 for c in clips if c.trigger == "ring")


def test_a_local_day_follows_daylight_saving_time() -> None:
    """A day is from local midnight to local midnight: 23 hours in March here."""
    start, end = day_bounds(date(2026, 3, 29), AMSTERDAM)
    assert start == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert end - start == timedelta(hours=23)
    late = clip_at(datetime(2026, 3, 28, 23, 30, tzinfo=UTC))  # 00:30 local
    result = page([("front", [late])], start=start, end=end)
    assert [i.clip for i in result.items] == [late]
    assert day_counts([("front", [late])], AMSTERDAM) == {"2026-03-29": 1}
    assert day_counts([("front", [late])], UTC) == {"2026-03-28": 1}


def test_day_counts_newest_first_and_filtered() -> None:
    clips = spread(100, 3)
    counts = day_counts([("front", clips)], UTC)
    assert list(counts) == ["2026-06-03", "2026-06-02", "2026-06-01"]
    assert sum(counts.values()) == 100
    rings = day_counts([("front", clips)], UTC, frozenset({"ring"}))
    assert sum(rings.values()) == sum(1 for c in clips if c.trigger == "ring")


@pytest.mark.parametrize(
    "value", ["2026-6-1", "20260601", "2026-W01-1", "yesterday", "", "2026-02-30"]
)
def test_invalid_days(value: str) -> None:
    with pytest.raises(TimelineError) as err:
        parse_day(value)
    assert err.value.key == "timeline_invalid_day"


def test_cursor_round_trip_and_invalid_cursors() -> None:
    clip = clip_at(datetime(2026, 6, 1, 8, tzinfo=UTC))
    key = sort_key("01HXYZ", clip)
    assert decode_cursor(encode_cursor(key)) == key
    for bad in (
        "",
        "x",
        encode_cursor(key) + "x",
        encode_cursor(key).replace(".", "/"),
        f"{key[0]:016d}.../{clip.id}",
        f"{key[0]:016d}.front.{clip.id}.mp4",
    ):
        with pytest.raises(TimelineError) as err:
            decode_cursor(bad)
        assert err.value.key == "timeline_invalid_cursor"


@pytest.mark.parametrize("limit", [0, MAX_LIMIT + 1])
def test_limit_is_bounded(limit: int) -> None:
    start, end = day_bounds(date(2026, 6, 1), UTC)
    with pytest.raises(ValueError, match="limit"):
        page([], start=start, end=end, limit=limit)
