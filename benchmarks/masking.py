"""Privacy masking: DCT-domain masker vs Pillow and vs the codec's floor.

For an 800x600 and a 1600x1200 photographic-like JPEG (generated, 4:2:0,
quality 85) with zones covering about a third of the frame:

- ``mask_ms_<res>``: milliseconds per frame of ``FrameMasker.mask``.
- ``mask_vs_pillow_<res>``: Pillow decode -> ImageDraw polygons -> encode
  time over masking time (a speed-up; target >= 2).
- ``mask_vs_lossless_transform_<res>``: masking time over a bare lossless
  ``tjTransform`` of the same frame (the codec's floor; target <= 1.25).
- ``max_diff_outside_mask_<res>``: largest decoded pixel difference from the
  source outside the masked blocks and a one-block border (target 0).
- ``mask_coverage_<res>``, ``lossless_ms_<res>``, ``pillow_ms_<res>``: context.

Every timing is the median of interleaved repetitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
import io

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from benchmarks import Measurement, interleaved_medians, measurement
from custom_components.peephole.masking import (
    FrameInfo,
    FrameMasker,
    block_mask,
    component_block_sizes,
    lossless_transform,
    pixel_mask,
    read_frame_info,
)
from custom_components.peephole.zones import Zone

RESOLUTIONS = ((800, 600), (1600, 1200))
QUALITY = 85
ZONES = (
    # The public pavement and street along the bottom of the frame.
    Zone(
        name="street",
        points=((0.0, 0.76), (0.55, 0.7), (1.0, 0.74), (1.0, 1.0), (0.0, 1.0)),
    ),
    # The neighbour's window, top right.
    Zone(name="window", points=((0.7, 0.05), (0.97, 0.08), (0.95, 0.3), (0.72, 0.27))),
)
FILL = (128, 128, 128)


def photo_jpeg(width: int, height: int, seed: int = 7) -> bytes:
    """Make a deterministic photographic-like frame: gradient, noise, shapes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xx / (width - 1), yy / (height - 1)
    rgb = np.stack(
        [
            70 + 140 * u + 25 * np.sin(9 * v + 2 * u),
            50 + 110 * v + 35 * np.cos(6 * u),
            100 + 70 * (1 - u) * v + 30 * np.sin(4 * (u + v)),
        ],
        axis=-1,
    )
    rgb += rng.normal(0, 5, rgb.shape).astype(np.float32)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(width // 40, width // 6))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x0 + size, y0 + size * 2 // 3), fill=color)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY, subsampling="4:2:0")
    return buffer.getvalue()


def pillow_mask(jpeg: bytes) -> bytes:
    """Mask the naive way: decode, draw the polygons, encode again."""
    with Image.open(io.BytesIO(jpeg)) as image:
        image.load()
        width, height = image.size
        draw = ImageDraw.Draw(image)
        for zone in ZONES:
            draw.polygon([(x * width, y * height) for x, y in zone.points], fill=FILL)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=QUALITY, subsampling="4:2:0")
    return buffer.getvalue()


def changed_pixels(info: FrameInfo) -> npt.NDArray[np.bool_]:
    """Masked blocks of every component, grown by one block of that component."""
    width, height = info.width, info.height
    region = np.zeros((height, width), dtype=np.bool_)
    for block_w, block_h in component_block_sizes(info):
        grid = block_mask(ZONES, width, height, block_w, block_h)
        padded = np.pad(grid, 1)
        grown = np.zeros_like(grid)
        for dy in range(3):
            for dx in range(3):
                grown |= padded[dy : dy + grid.shape[0], dx : dx + grid.shape[1]]
        pixels = np.repeat(np.repeat(grown, block_h, axis=0), block_w, axis=1)
        region |= pixels[:height, :width]
    return region


def decode(jpeg: bytes) -> npt.NDArray[np.int16]:
    """Decode to RGB with Pillow (int16, so differences do not wrap)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def run(*, quick: bool) -> Iterator[Measurement]:
    """Measure every resolution; see the module docstring."""
    masker = FrameMasker(ZONES)
    for width, height in RESOLUTIONS:
        res = f"{width}x{height}"
        jpeg = photo_jpeg(width, height)
        info = read_frame_info(jpeg)
        masked = masker.mask(jpeg)  # also builds the cached block masks
        outside = ~changed_pixels(info)
        max_diff = int(np.abs(decode(masked) - decode(jpeg))[outside].max())
        coverage = float(pixel_mask(ZONES, width, height).mean())
        repetitions = 3 if quick else (60 if width <= 800 else 30)
        medians = interleaved_medians(
            {
                "mask": partial(masker.mask, jpeg),
                "lossless": partial(lossless_transform, jpeg),
                "pillow": partial(pillow_mask, jpeg),
            },
            repetitions,
            warmup=1 if quick else 3,
        )
        yield measurement(f"mask_ms_{res}", medians["mask"] * 1000, "ms")
        yield measurement(
            f"mask_vs_pillow_{res}", medians["pillow"] / medians["mask"], "x"
        )
        yield measurement(
            f"mask_vs_lossless_transform_{res}",
            medians["mask"] / medians["lossless"],
            "x",
        )
        yield measurement(f"max_diff_outside_mask_{res}", max_diff, "levels")
        yield measurement(f"mask_coverage_{res}", coverage, "fraction")
        yield measurement(f"lossless_ms_{res}", medians["lossless"] * 1000, "ms")
        yield measurement(f"pillow_ms_{res}", medians["pillow"] * 1000, "ms")
