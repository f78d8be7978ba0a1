"""Privacy masking: DCT-domain masker vs Pillow and vs the codec's floor.

For an 800x600 and a 1600x1200 photo-like doorbell frame (generated: a porch
and street scene with texture, edges, lens blur and sensor noise; 4:2:0,
quality 85, about 1.2 and 1.0 bits per pixel) with zones covering about a
third of the frame:

- ``mask_ms_<res>``: milliseconds per frame of ``FrameMasker.mask``.
- ``mask_vs_pillow_<res>``: Pillow decode -> ImageDraw polygons -> encode
  time over masking time (a speed-up; target >= 2).
- ``mask_vs_lossless_transform_<res>``: masking time over a bare lossless
  ``tjTransform`` of the same frame (the codec's floor; target <= 1.25).
- ``max_diff_outside_mask_<res>``: largest decoded pixel difference from the
  source outside the masked blocks and a one-block border (target 0).
- ``mask_coverage_<res>``, ``lossless_ms_<res>``, ``pillow_ms_<res>``,
  ``frame_bpp_<res>``: context.

Every timing is the median of interleaved repetitions (the runner pins the
process to one core).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
import io

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

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
QUALITY = 85  # libjpeg scale; an ESP32-CAM's quality 10-12 is about 80-85
SUBSAMPLING = "4:2:0"
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


def _fbm(
    rng: np.random.Generator, width: int, height: int, cell: float
) -> npt.NDArray[np.float32]:
    """Smooth fractal noise (four octaves from ``cell`` pixels down), ~N(0, 1)."""
    out = np.zeros((height, width), dtype=np.float32)
    amplitude, total = 1.0, 0.0
    for _ in range(4):
        grid = rng.normal(0, 1, (max(2, int(height / cell)), max(2, int(width / cell))))
        coarse = Image.fromarray(grid.astype(np.float32), mode="F")
        out += amplitude * np.asarray(
            coarse.resize((width, height), Image.Resampling.BICUBIC)
        )
        total += amplitude
        amplitude, cell = amplitude * 0.55, cell / 2
    return out / total


def photo_jpeg(width: int, height: int, seed: int = 7) -> bytes:
    """Make a deterministic photo-like doorbell frame of a porch and street.

    Sky with clouds, our wall with siding, a door and a post on the left, the
    neighbour's house and window top right, hedge and lawn (fine texture), a
    parked car, kerb and asphalt at the bottom; vignetting, lens blur and
    mostly-luma sensor noise. At quality 85, 4:2:0 it takes about 1.2 bits
    per pixel at 800x600 (1.0 at 1600x1200): mid-range for a camera frame.
    """
    rng = np.random.default_rng(seed)
    w, h = width, height
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / w, yy / h
    sky = np.stack([150 + 60 * v, 185 + 40 * v, 235 + 10 * v], axis=-1)
    rgb = sky + 60 * np.clip(_fbm(rng, w, h, w / 6), 0, None)[..., None]

    def paint(
        shape: list[tuple[float, float]],
        color: tuple[int, int, int],
        texture: float = 0.0,
        cell: float = 8.0,
    ) -> None:
        """Paint a polygon (points in frame fractions), optionally textured."""
        layer = Image.new("L", (w, h))
        ImageDraw.Draw(layer).polygon([(x * w, y * h) for x, y in shape], fill=255)
        alpha = np.asarray(layer, dtype=np.float32)[..., None] / 255
        fill = np.array(color, dtype=np.float32) + (
            texture * _fbm(rng, w, h, cell)[..., None] if texture else 0
        )
        rgb[:] = rgb * (1 - alpha) + fill * alpha

    def box(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]

    trees = [(0, 0.33), (0.15, 0.27), (0.3, 0.31), (0.5, 0.26), (0.7, 0.3)]
    paint([*trees, (1, 0.27), (1, 0.45), (0, 0.45)], (60, 90, 50), 35, w / 80)
    house = [(0.62, 0.12), (0.8, 0.02), (1, 0.12), (1, 0.5), (0.62, 0.5)]
    paint(house, (190, 170, 150), 8, w / 50)
    roof = [(0.6, 0.13), (0.8, 0), (1, 0.13), (1, 0.1), (0.8, -0.04), (0.6, 0.1)]
    paint(roof, (90, 60, 50), 10, w / 100)
    window = [(0.72, 0.09), (0.95, 0.1), (0.94, 0.28), (0.73, 0.27)]
    paint(window, (70, 90, 110), 25, w / 40)
    paint([(0, 0.45), (1, 0.45), (1, 0.72), (0, 0.78)], (70, 120, 55), 40, w / 120)
    street = [(0, 0.76), (0.55, 0.7), (1, 0.74), (1, 1), (0, 1)]
    paint(street, (105, 105, 108), 14, w / 300)
    kerb = [(0, 0.76), (0.55, 0.7), (1, 0.74), (1, 0.755), (0.55, 0.715), (0, 0.775)]
    paint(kerb, (170, 168, 160), 6, w / 200)
    paint([(0.1, 0.9), (0.3, 0.89), (0.3, 0.905), (0.1, 0.915)], (225, 225, 215))
    paint([(0.55, 0.88), (0.75, 0.875), (0.75, 0.89), (0.55, 0.895)], (225, 225, 215))
    car = [(0.45, 0.72), (0.52, 0.66), (0.68, 0.66), (0.75, 0.72), (0.78, 0.8)]
    paint([*car, (0.42, 0.8)], (150, 30, 35), 6, w / 60)
    paint([(0.5, 0.72), (0.54, 0.675), (0.66, 0.675), (0.7, 0.72)], (40, 50, 60), 15)
    for wheel in (0.49, 0.71):
        paint(box(wheel - 0.035, 0.76, wheel + 0.035, 0.84), (20, 20, 22))
    paint([(0, 0), (0.3, 0), (0.3, 0.8), (0, 0.84)], (205, 200, 185), 6, w / 80)
    siding = np.sin(yy / (0.025 * h) * 2 * np.pi) > 0.85
    rgb[siding & (xx < 0.3 * w) & (yy < 0.8 * h)] -= 28
    paint(box(0.08, 0.25, 0.22, 0.8), (120, 70, 40), 10, w / 40)  # door
    for top in (0.3, 0.55):
        paint(box(0.1, top, 0.2, top + 0.18), (105, 60, 34), 8, w / 40)
    paint(box(0.19, 0.52, 0.2, 0.54), (200, 180, 90))  # handle
    paint(box(0.3, 0, 0.34, 0.9), (235, 235, 230), 5)  # porch post
    rgb *= (1 - 0.25 * ((u - 0.5) ** 2 + (v - 0.5) ** 2))[..., None]  # vignette
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(0.8))  # lens and demosaicing
    noisy = np.asarray(image).astype(np.float32)
    noisy += rng.normal(0, 2.5, (h, w, 1)).astype(np.float32)  # luma noise
    noisy += rng.normal(0, 1.0, (h, w, 3)).astype(np.float32)  # colour noise
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
        buffer, "JPEG", quality=QUALITY, subsampling=SUBSAMPLING
    )
    return buffer.getvalue()


def pillow_mask(jpeg: bytes) -> bytes:
    """Mask the naive way: decode, draw the polygons, encode again.

    Encodes at the source's quality and subsampling with Pillow's defaults
    (no Huffman optimisation), as a straightforward implementation would.
    """
    with Image.open(io.BytesIO(jpeg)) as image:
        image.load()
        width, height = image.size
        draw = ImageDraw.Draw(image)
        for zone in ZONES:
            draw.polygon([(x * width, y * height) for x, y in zone.points], fill=FILL)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=QUALITY, subsampling=SUBSAMPLING)
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
        yield measurement(f"frame_bpp_{res}", len(jpeg) * 8 / (width * height), "bpp")
