"""Deterministic photographic-like test frames, made at test time."""

from __future__ import annotations

from collections.abc import Sequence
import io

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from custom_components.peephole.masking import (
    component_block_sizes,
    pixel_mask,
    read_frame_info,
)
from custom_components.peephole.zones import Zone

SUBSAMPLINGS = ("4:2:0", "4:2:2", "4:4:4", "gray")
CANARY_A = (255, 255, 255)
CANARY_B = (255, 0, 255)

type RGB = npt.NDArray[np.uint8]


def photo(width: int, height: int, seed: int = 0) -> RGB:
    """A smooth colour gradient with sensor-like noise and a few shapes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = xx / max(width - 1, 1), yy / max(height - 1, 1)
    base = np.stack(
        [
            60 + 150 * u + 20 * np.sin(7 * v),
            40 + 120 * v + 30 * np.cos(5 * u),
            90 + 80 * (1 - u) * v + 25 * np.sin(3 * (u + v)),
        ],
        axis=-1,
    )
    base += rng.normal(0, 6, base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        size = int(rng.integers(8, max(9, min(width, height) // 4)))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x0 + size, y0 + size), fill=color)
        else:
            draw.rectangle((x0, y0, x0 + size, y0 + size // 2), fill=color)
    return np.asarray(image).copy()


def polygon_pixels(zone: Zone, width: int, height: int) -> npt.NDArray[np.bool_]:
    """Pixels whose centre lies inside the zone's polygon (even-odd rule)."""
    xs = np.array([p[0] * width for p in zone.points])
    ys = np.array([p[1] * height for p in zone.points])
    cy, cx = np.mgrid[0:height, 0:width] + 0.5
    inside = np.zeros((height, width), dtype=np.bool_)
    for x0, y0, x1, y1 in zip(xs, ys, np.roll(xs, -1), np.roll(ys, -1), strict=True):
        if y0 == y1:
            continue
        crosses = (cy >= min(y0, y1)) & (cy < max(y0, y1))
        x_at = x0 + (cy - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (cx < x_at)
    return inside


def draw_canary(rgb: RGB, zones: Sequence[Zone]) -> RGB:
    """Fill each zone's polygon with a 4-pixel checkerboard of bright colours."""
    height, width, _ = rgb.shape
    out = rgb.copy()
    yy, xx = np.mgrid[0:height, 0:width]
    checker = ((xx // 4 + yy // 4) % 2).astype(bool)
    for zone in zones:
        inside = polygon_pixels(zone, width, height)
        out[inside & checker] = CANARY_A
        out[inside & ~checker] = CANARY_B
    return out


def encode(
    rgb: RGB,
    subsampling: str = "4:2:0",
    *,
    progressive: bool = False,
    quality: int = 88,
    exif: bytes | None = None,
) -> bytes:
    """Encode with Pillow (libjpeg-turbo) at the given chroma subsampling."""
    buffer = io.BytesIO()
    extra: dict[str, object] = {}
    if exif is not None:
        extra["exif"] = exif
    if subsampling == "gray":
        Image.fromarray(rgb).convert("L").save(
            buffer, "JPEG", quality=quality, progressive=progressive, **extra
        )
    else:
        Image.fromarray(rgb).save(
            buffer,
            "JPEG",
            quality=quality,
            subsampling=subsampling,
            progressive=progressive,
            **extra,
        )
    return buffer.getvalue()


def decode_rgb(jpeg: bytes) -> npt.NDArray[np.int16]:
    """Decode to RGB (int16, so differences do not wrap)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def decode_ycc(jpeg: bytes) -> npt.NDArray[np.int16]:
    """Decode to Y, Cb, Cr without colour conversion ((h, w, 3) or (h, w, 1))."""
    with Image.open(io.BytesIO(jpeg)) as image:
        if image.mode == "L":
            return np.asarray(image).astype(np.int16)[..., None]
        image.draft("YCbCr", image.size)
        assert image.mode == "YCbCr"
        return np.asarray(image).astype(np.int16)


def erode(mask: npt.NDArray[np.bool_], pixels: int) -> npt.NDArray[np.bool_]:
    """Erode a boolean mask by ``pixels`` in each direction (outside = False)."""
    out = mask.copy()
    for _ in range(pixels):
        padded = np.pad(out, 1, constant_values=False)
        out = (
            out
            & padded[:-2, 1:-1]
            & padded[2:, 1:-1]
            & padded[1:-1, :-2]
            & padded[1:-1, 2:]
        )
    return out


def dilate(mask: npt.NDArray[np.bool_], dx: int, dy: int) -> npt.NDArray[np.bool_]:
    """Grow a boolean mask by ``dx`` columns and ``dy`` rows each way."""
    height, width = mask.shape
    padded = np.pad(mask, ((dy, dy), (dx, dx)), constant_values=False)
    out = np.zeros_like(mask)
    for oy in range(2 * dy + 1):
        out |= padded[oy : oy + height, dx : dx + width]
    rows = out
    padded = np.pad(rows, ((0, 0), (dx, dx)), constant_values=False)
    out = np.zeros_like(mask)
    for ox in range(2 * dx + 1):
        out |= padded[:, ox : ox + width]
    return out


def component_masks(
    zones: Sequence[Zone], jpeg: bytes
) -> list[tuple[npt.NDArray[np.bool_], tuple[int, int]]]:
    """Per component of ``jpeg``: its masked pixels and its block size."""
    info = read_frame_info(jpeg)
    return [
        (pixel_mask(zones, info.width, info.height, bw, bh), (bw, bh))
        for bw, bh in component_block_sizes(info)
    ]


def changed_region(zones: Sequence[Zone], jpeg: bytes) -> npt.NDArray[np.bool_]:
    """Masked blocks of every component grown by one block of that component.

    Outside this region the decoded output must equal the decoded source.
    """
    info = read_frame_info(jpeg)
    region = np.zeros((info.height, info.width), dtype=np.bool_)
    for mask, (bw, bh) in component_masks(zones, jpeg):
        region |= dilate(mask, bw, bh)
    return region
