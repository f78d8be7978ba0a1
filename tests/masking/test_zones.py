"""Zones: parsing, formatting, validation and storage."""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.peephole.zones import (
    MAX_NAME_LENGTH,
    MAX_POINTS,
    MAX_POINTS_TEXT,
    MAX_ZONES,
    Zone,
    ZoneError,
    format_points,
    is_simple_polygon,
    parse_points,
    validate_zone,
    validate_zones,
    zones_from_storage,
    zones_to_storage,
)

TRIANGLE = ((0.1, 0.2), (0.5, 0.2), (0.5, 0.6))


def zone(name: str = "street", points: Any = TRIANGLE, *, enabled: bool = True) -> Zone:
    return Zone(name=name, points=tuple(points), enabled=enabled)


def error_key(call: Any, *args: Any) -> str:
    with pytest.raises(ZoneError) as info:
        call(*args)
    return info.value.key


@pytest.mark.parametrize(
    "text",
    [
        "0.1,0.2; 0.5,0.2; 0.5,0.6",
        "0.1,0.2;0.5,0.2;0.5,0.6;",
        "0.1, 0.2\n0.5, 0.2\n0.5, 0.6\n",
        "0.1 0.2\r\n0.5 0.2\r\n0.5 0.6",
        "0.1,0.2 0.5,0.2 0.5,0.6",
        "(0.1, 0.2) (0.5, 0.2) (0.5, 0.6)",
        "[0.1,0.2]; [0.5,0.2]; [0.5,0.6]",
        "  .1,.2 ; 5e-1,0.2 ; 0.5,0.6  ",
    ],
)
def test_parse_points_accepts_common_forms(text: str) -> None:
    assert parse_points(text) == TRIANGLE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ";;",
        "0.1,0.2; 0.5",
        "0.1,0.2,0.3; 0.5,0.2; 0.5,0.6",
        "a,b; 0.5,0.2; 0.5,0.6",
        "nan,0.2; 0.5,0.2; 0.5,0.6",
        "0.1,inf; 0.5,0.2; 0.5,0.6",
        "0.1 0.2 0.5 0.2 0.5 0.6",
        "0.1,0.2; " * (MAX_POINTS_TEXT // 4),
    ],
)
def test_parse_points_rejects_garbage(text: str) -> None:
    with pytest.raises(ZoneError) as info:
        parse_points(text)
    assert info.value.key == "invalid_points"
    assert len(info.value.placeholders["zone"]) <= 40


def test_parse_points_does_not_check_range_or_count() -> None:
    assert parse_points("-1,2; 3,4; 5,6") == ((-1.0, 2.0), (3.0, 4.0), (5.0, 6.0))
    assert parse_points("0.1, 0.2") == ((0.1, 0.2),)


def test_format_points() -> None:
    assert format_points(TRIANGLE) == "0.1,0.2; 0.5,0.2; 0.5,0.6"
    assert format_points([(0.0, 1.0), (1 / 3, -0.0), (0.00001, 0.1234567)]) == (
        "0,1; 0.333333,0; 0.00001,0.123457"
    )
    assert format_points([]) == ""


def test_format_parse_round_trip() -> None:
    points = ((0.0, 0.0), (1.0, 0.0), (1 / 3, 2 / 3), (0.25, 1.0))
    text = format_points(points)
    flat = [c for p in parse_points(text) for c in p]
    assert flat == pytest.approx([c for p in points for c in p], abs=1e-6)
    assert format_points(parse_points(text)) == text


def test_zone_defaults_and_frozen() -> None:
    z = zone()
    assert z.enabled is True
    with pytest.raises(AttributeError):
        z.name = "other"  # type: ignore[misc]
    assert hash(z) == hash(zone())


def test_valid_zones() -> None:
    validate_zone(zone())
    validate_zone(zone(points=[(0, 0), (1, 0), (1, 1), (0, 1)]))  # the full frame
    validate_zone(zone(name="x" * MAX_NAME_LENGTH))
    validate_zones([zone("a"), zone("b", enabled=False)])
    validate_zones([])


def test_maximum_point_count() -> None:
    # A convex polygon with MAX_POINTS points on a circle.
    ring = [
        (
            0.5 + 0.4 * math.cos(2 * math.pi * i / MAX_POINTS),
            0.5 + 0.4 * math.sin(2 * math.pi * i / MAX_POINTS),
        )
        for i in range(MAX_POINTS)
    ]
    validate_zone(zone(points=ring))
    ring.append((0.5, 0.5))  # one more (also fine geometrically: a fan)
    with pytest.raises(ZoneError) as info:
        validate_zone(zone(points=ring))
    assert info.value.key == "too_many_points"
    assert info.value.placeholders == {"zone": "street", "max": str(MAX_POINTS)}


@pytest.mark.parametrize(
    ("points", "key"),
    [
        ([], "too_few_points"),
        ([(0.1, 0.1), (0.2, 0.2)], "too_few_points"),
        ([(0.1, 0.1), (1.2, 0.2), (0.3, 0.9)], "point_out_of_range"),
        ([(-0.01, 0.1), (0.2, 0.2), (0.3, 0.9)], "point_out_of_range"),
        ([(0.1, 0.1), (0.2, float("nan")), (0.3, 0.9)], "point_out_of_range"),
        ([(0.1, 0.1), (0.2, float("inf")), (0.3, 0.9)], "point_out_of_range"),
        # bow tie: edges 0-1 and 2-3 cross
        ([(0.1, 0.1), (0.9, 0.9), (0.9, 0.1), (0.1, 0.9)], "self_intersecting"),
        # repeated point
        ([(0.1, 0.1), (0.9, 0.1), (0.9, 0.1), (0.1, 0.9)], "self_intersecting"),
        # all on one line (zero area, edges fold back)
        ([(0.1, 0.1), (0.5, 0.5), (0.9, 0.9)], "self_intersecting"),
        # spike: an edge folds back along the previous one
        ([(0.1, 0.1), (0.9, 0.1), (0.5, 0.1), (0.5, 0.9)], "self_intersecting"),
        # a vertex touching a non-adjacent edge
        (
            [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.5, 0.1), (0.1, 0.9)],
            "self_intersecting",
        ),
        # two loops sharing a point
        (
            [(0.5, 0.5), (0.1, 0.1), (0.1, 0.9), (0.5, 0.5), (0.9, 0.1)],
            "self_intersecting",
        ),
        # an edge running along a non-adjacent edge
        (
            [
                (0.1, 0.1),
                (0.6, 0.1),
                (0.6, 0.5),
                (0.5, 0.5),
                (0.5, 0.1),
                (0.3, 0.1),
                (0.3, 0.5),
            ],
            "self_intersecting",
        ),
    ],
)
def test_invalid_geometry(points: list[tuple[float, float]], key: str) -> None:
    with pytest.raises(ZoneError) as info:
        validate_zone(zone(points=points))
    assert info.value.key == key
    assert info.value.placeholders["zone"] == "street"


def test_error_placeholders() -> None:
    with pytest.raises(ZoneError) as info:
        validate_zone(zone(points=[(0.1, 0.1)]))
    assert info.value.placeholders == {"zone": "street", "min": "3"}
    with pytest.raises(ZoneError) as info:
        validate_zone(zone(points=[(0.1, 0.1), (1.5, 0.25), (0.3, 0.9)]))
    assert info.value.placeholders == {"zone": "street", "point": "1.5,0.25"}
    assert str(info.value) == "point_out_of_range (point=1.5,0.25, zone=street)"
    assert isinstance(info.value, ValueError)
    assert str(ZoneError("invalid_points")) == "invalid_points"


@pytest.mark.parametrize("name", ["", "   ", "x" * (MAX_NAME_LENGTH + 1)])
def test_invalid_name(name: str) -> None:
    with pytest.raises(ZoneError) as info:
        validate_zone(zone(name=name))
    assert info.value.key == "invalid_name"
    assert info.value.placeholders["max"] == str(MAX_NAME_LENGTH)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("gate\x00", "gate\\x00"),
        ("two\nlines", "two\\nlines"),
        ("bell\x07", "bell\\x07"),
        ("del\x7f", "del\\x7f"),
        ("c1\x85", "c1\\x85"),
        ("para\u2029graph", "para\\u2029graph"),
        ("\u202eteerts", "\\u202eteerts"),
        ("iso\u2066late", "iso\\u2066late"),
    ],
)
def test_names_with_control_characters_are_refused(name: str, shown: str) -> None:
    with pytest.raises(ZoneError) as info:
        validate_zone(zone(name=name))
    assert info.value.key == "name_characters"
    # The message shows where the character is, escaped (never the raw control).
    assert info.value.placeholders == {"zone": shown}
    with pytest.raises(ZoneError):
        zones_from_storage([{"name": name, "points": [[0, 0], [1, 0], [1, 1]]}])


@pytest.mark.parametrize("name", ["Rue de l'Église", "街道", "hedge 🌳"])
def test_printable_names_are_accepted(name: str) -> None:
    validate_zone(zone(name=name))


def test_duplicate_names() -> None:
    with pytest.raises(ZoneError) as info:
        validate_zones([zone("Street"), zone("hedge"), zone(" street ")])
    assert info.value.key == "duplicate_name"
    assert info.value.placeholders == {"zone": " street "}


def test_too_many_zones() -> None:
    zones = [zone(f"z{i}") for i in range(MAX_ZONES)]
    validate_zones(zones)
    with pytest.raises(ZoneError) as info:
        validate_zones([*zones, zone("one more")])
    assert info.value.key == "too_many_zones"
    assert info.value.placeholders == {"max": str(MAX_ZONES)}


def test_validate_zones_checks_each_zone() -> None:
    assert (
        error_key(validate_zones, [zone("a"), zone("b", points=[(0, 0)])])
        == "too_few_points"
    )


def test_is_simple_polygon() -> None:
    assert is_simple_polygon(TRIANGLE)
    assert not is_simple_polygon(((0, 0), (1, 1), (1, 0), (0, 1)))


def test_storage_round_trip() -> None:
    zones = (
        zone("street"),
        zone("neighbour", [(0, 0), (1, 0), (1, 0.25)], enabled=False),
    )
    stored = zones_to_storage(zones)
    assert stored == [
        {
            "name": "street",
            "points": [[0.1, 0.2], [0.5, 0.2], [0.5, 0.6]],
            "enabled": True,
        },
        {"name": "neighbour", "points": [[0, 0], [1, 0], [1, 0.25]], "enabled": False},
    ]
    assert zones_from_storage(stored) == zones
    assert zones_from_storage([]) == ()


def test_storage_accepts_ints_and_defaults_enabled() -> None:
    (z,) = zones_from_storage([{"name": "a", "points": [[0, 0], [1, 0], [1, 1]]}])
    assert z == Zone(name="a", points=((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)))
    assert all(isinstance(c, float) for p in z.points for c in p)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ("not a list", "invalid_points"),
        (None, "invalid_points"),
        (["not a mapping"], "invalid_points"),
        ([{"points": [[0, 0], [1, 0], [1, 1]]}], "invalid_name"),
        ([{"name": 3, "points": [[0, 0], [1, 0], [1, 1]]}], "invalid_name"),
        ([{"name": "a"}], "invalid_points"),
        ([{"name": "a", "points": "0,0;1,0;1,1"}], "invalid_points"),
        ([{"name": "a", "points": [[0, 0], [1, 0], [1]]}], "invalid_points"),
        ([{"name": "a", "points": [[0, 0], [1, 0], "11"]}], "invalid_points"),
        ([{"name": "a", "points": [[0, 0], [1, 0], [1, True]]}], "invalid_points"),
        ([{"name": "a", "points": [[0, 0], [1, 0], [1, "1"]]}], "invalid_points"),
        (
            [{"name": "a", "points": [[0, 0], [1, 0], [1, 1]], "enabled": "yes"}],
            "invalid_points",
        ),
        ([{"name": "a", "points": [[0, 0], [1, 0], [1, 2]]}], "point_out_of_range"),
        (
            [
                {"name": "a", "points": [[0, 0], [1, 0], [1, 1]]},
                {"name": "A", "points": [[0, 0], [1, 0], [1, 1]]},
            ],
            "duplicate_name",
        ),
    ],
)
def test_storage_rejects_malformed(data: Any, key: str) -> None:
    with pytest.raises(ZoneError) as info:
        zones_from_storage(data)
    assert info.value.key == key
