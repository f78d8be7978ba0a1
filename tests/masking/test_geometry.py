"""Polygons to block masks: outward rounding, exact on the grid, never short."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from custom_components.peephole.masking import block_mask, pixel_mask
from custom_components.peephole.zones import Zone, validate_zone


def rect(x0: float, y0: float, x1: float, y1: float, name: str = "r") -> Zone:
    return Zone(name=name, points=((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


def supersampled(
    zone: Zone, width: int, height: int, factor: int = 8
) -> npt.NDArray[np.bool_]:
    """Pixels that any of factor x factor sample points inside them hits."""
    xs = np.array([p[0] * width * factor for p in zone.points])
    ys = np.array([p[1] * height * factor for p in zone.points])
    sy, sx = np.mgrid[0 : height * factor, 0 : width * factor] + 0.5
    inside = np.zeros(sx.shape, dtype=np.bool_)
    for x0, y0, x1, y1 in zip(xs, ys, np.roll(xs, -1), np.roll(ys, -1), strict=True):
        if y0 == y1:
            continue
        crosses = (sy >= min(y0, y1)) & (sy < max(y0, y1))
        inside ^= crosses & (sx < x0 + (sy - y0) * (x1 - x0) / (y1 - y0))
    return np.asarray(
        inside.reshape(height, factor, width, factor).any(axis=(1, 3)), dtype=np.bool_
    )


def random_star(rng: np.random.Generator, name: str) -> Zone:
    """A random simple (star-shaped) polygon inside the unit square."""
    n = int(rng.integers(3, 13))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    cx, cy = rng.uniform(0.2, 0.8, 2)
    radii = rng.uniform(0.02, 0.35, n)
    points = tuple(
        (
            float(np.clip(cx + r * math.cos(a), 0, 1)),
            float(np.clip(cy + r * math.sin(a), 0, 1)),
        )
        for a, r in zip(angles, radii, strict=True)
    )
    return Zone(name=name, points=points)


def test_rectangle_on_the_grid_is_exact() -> None:
    # 800x600: x 0.25..0.5 -> pixels 200..400 = blocks 25..49; y 0.2..0.6 -> 120..360.
    grid = block_mask([rect(0.25, 0.2, 0.5, 0.6)], 800, 600)
    assert grid.shape == (75, 100)
    expected = np.zeros_like(grid)
    expected[15:45, 25:50] = True
    assert (grid == expected).all()


def test_rectangle_off_the_grid_rounds_outward() -> None:
    # x 201..399, y 121..359 (pixel units) still touch the same blocks.
    zone = rect(201 / 800, 121 / 600, 399 / 800, 359 / 600)
    grid = block_mask([zone], 800, 600)
    expected = np.zeros_like(grid)
    expected[15:45, 25:50] = True
    assert (grid == expected).all()
    # One pixel more on each side reaches the next blocks.
    grid = block_mask([rect(199 / 800, 119 / 600, 401 / 800, 361 / 600)], 800, 600)
    expected[14:46, 24:51] = True
    assert (grid == expected).all()


def test_tiny_polygon_masks_its_block() -> None:
    # A 2x2-pixel triangle inside block (row 10, column 20) of a 640x480 frame.
    x, y = 20 * 8 + 3, 10 * 8 + 3
    zone = Zone(
        name="dot",
        points=((x / 640, y / 480), ((x + 2) / 640, y / 480), (x / 640, (y + 2) / 480)),
    )
    validate_zone(zone)
    grid = block_mask([zone], 640, 480)
    assert grid.sum() == 1
    assert grid[10, 20]
    # With 16x16 chroma blocks it is chroma block (5, 10).
    chroma = block_mask([zone], 640, 480, 16, 16)
    assert chroma.sum() == 1
    assert chroma[5, 10]


def test_sliver_across_a_block_corner() -> None:
    # A thin diagonal sliver: every block it crosses is masked, no more.
    zone = Zone(name="s", points=((0.0, 0.0), (1.0, 1.0), (1.0, 0.999)))
    grid = block_mask([zone], 64, 64)
    assert grid[np.arange(8), np.arange(8)].all()
    assert supersampled(zone, 64, 64).sum() > 0
    assert not (pixel_mask([zone], 64, 64) < supersampled(zone, 64, 64)).any()


def test_full_frame_and_odd_sizes() -> None:
    full = rect(0, 0, 1, 1)
    for width, height, bw, bh in [
        (801, 601, 8, 8),
        (801, 601, 16, 16),
        (17, 9, 16, 8),
        (1, 1, 8, 8),
    ]:
        grid = block_mask([full], width, height, bw, bh)
        assert grid.shape == (math.ceil(height / bh), math.ceil(width / bw))
        assert grid.all()
        assert pixel_mask([full], width, height, bw, bh).shape == (height, width)


def test_polygons_touching_the_border() -> None:
    # Right and bottom strips of an odd-sized frame: the partial last blocks
    # are masked, nothing to their left/top.
    right = rect(800 / 801, 0, 1, 1, "right")
    bottom = rect(0, 600 / 601, 1, 1, "bottom")
    grid = block_mask([right, bottom], 801, 601)
    assert grid.shape == (76, 101)
    assert grid[:, 100].all()
    assert grid[75, :].all()
    assert grid.sum() == 76 + 101 - 1
    left_edge = Zone(name="edge", points=((0, 0), (0, 1), (0.001, 0.5)))
    assert block_mask([left_edge], 801, 601)[:, 0].all()


def test_edges_on_block_boundaries_mark_nothing_outside() -> None:
    # A triangle whose edges lie on grid lines or cross exact grid corners.
    zone = Zone(name="t", points=((0.25, 0.25), (0.75, 0.25), (0.25, 0.75)))
    grid = block_mask([zone], 64, 64)
    # Rows 2..5, columns 2..(7-row): the diagonal passes through corners.
    expected = np.zeros((8, 8), dtype=bool)
    for row in range(2, 6):
        expected[row, 2 : 8 - row] = True
    assert (grid == expected).all()


def test_disabled_zones_are_ignored() -> None:
    zone = Zone(name="off", points=((0, 0), (1, 0), (1, 1)), enabled=False)
    assert not block_mask([zone], 64, 64).any()
    assert not pixel_mask([zone], 64, 64).any()


def test_several_zones_union() -> None:
    a, b = rect(0, 0, 0.25, 0.25, "a"), rect(0.75, 0.75, 1, 1, "b")
    grid = block_mask([a, b], 64, 64)
    assert (grid == (block_mask([a], 64, 64) | block_mask([b], 64, 64))).all()
    assert grid.sum() == 8


@pytest.mark.parametrize("seed", range(40))
def test_random_polygons_cover_every_touched_pixel(seed: int) -> None:
    rng = np.random.default_rng(seed)
    width, height = int(rng.integers(40, 200)), int(rng.integers(40, 200))
    zone = random_star(rng, "z")
    validate_zone(zone)
    touched = supersampled(zone, width, height)
    for bw, bh in [(8, 8), (16, 16), (16, 8), (8, 16), (32, 8)]:
        masked = pixel_mask([zone], width, height, bw, bh)
        # Never short: every pixel the polygon touches is masked.
        assert not (touched & ~masked).any()
        # Never far off: each masked block holds a touched pixel or is
        # crossed by an edge within the polygon's bounding box.
        xs = [p[0] * width for p in zone.points]
        ys = [p[1] * height for p in zone.points]
        grid = block_mask([zone], width, height, bw, bh)
        rows, cols = np.nonzero(grid)
        assert cols.min() >= math.floor(min(xs) / bw)
        assert cols.max() <= math.ceil(max(xs) / bw) - 1
        assert rows.min() >= math.floor(min(ys) / bh)
        assert rows.max() <= math.ceil(max(ys) / bh) - 1
        touched_blocks = np.zeros_like(grid)
        ty, tx = np.nonzero(touched)
        touched_blocks[ty // bh, tx // bw] = True
        # Blocks masked without a touched supersample only come from slivers
        # thinner than the sampling; they must neighbour a touched block.
        extra = grid & ~touched_blocks
        if extra.any():
            near = np.zeros_like(grid)
            padded = np.pad(touched_blocks, 1)
            for dy in range(3):
                for dx in range(3):
                    near |= padded[dy : dy + grid.shape[0], dx : dx + grid.shape[1]]
            assert not (extra & ~near).any()
