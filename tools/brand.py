"""Render Peephole's brand images into custom_components/peephole/brand/.

Home Assistant 2026.3 and newer serve a custom integration's own brand images
from its ``brand/`` folder (``/api/brands/integration/peephole/icon.png``), so
the frontend never asks the brands CDN for them. The mark: a door viewer (the
peephole) whose lens has a solid privacy band across its lower part, the way
Peephole masks the street.

    .venv/bin/python tools/brand.py          # rewrite the images
    .venv/bin/python tools/brand.py --check  # exit 1 if any image is missing or wrong

Icons are square (256 and 512 px), logos 256 (and 512) px high; all PNG with
a transparent background, light and dark variants.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parent.parent / "custom_components/peephole/brand"
SUPERSAMPLE = 4

# (ring, lens, band, highlight, text) per theme.
LIGHT = ((55, 71, 79), (30, 136, 229), (38, 50, 56), (255, 255, 255), (38, 50, 56))
DARK = (
    (176, 190, 197),
    (66, 165, 245),
    (236, 239, 241),
    (255, 255, 255),
    (236, 239, 241),
)


def _mark(size: int, colors: tuple[tuple[int, int, int], ...]) -> Image.Image:
    """Draw the round door viewer with its privacy band, ``size`` px square."""
    ring, lens, band, highlight, _ = colors
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    pad = big * 0.04
    draw.ellipse((pad, pad, big - pad, big - pad), fill=(*ring, 255))
    inner = big * 0.2
    draw.ellipse((inner, inner, big - inner, big - inner), fill=(*lens, 255))
    # The privacy band: the lower part of the lens, solid.
    lens_mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(lens_mask).ellipse(
        (inner, inner, big - inner, big - inner), fill=255
    )
    band_layer = Image.new("RGBA", (big, big), (*band, 255))
    band_mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(band_mask).rectangle((0, big * 0.6, big, big), fill=255)
    band_mask = Image.composite(band_mask, Image.new("L", (big, big), 0), lens_mask)
    image.paste(band_layer, (0, 0), band_mask)
    # A highlight on the glass.
    spot = big * 0.08
    cx, cy = big * 0.38, big * 0.36
    draw.ellipse((cx - spot, cy - spot, cx + spot, cy + spot), fill=(*highlight, 220))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _logo(height: int, colors: tuple[tuple[int, int, int], ...]) -> Image.Image:
    """Draw the mark and the word "Peephole", ``height`` px high."""
    text_color = colors[4]
    mark = _mark(height, colors)
    font = ImageFont.load_default(size=int(height * 0.55))
    left, top, right, bottom = font.getbbox("Peephole")
    gap = int(height * 0.15)
    width = height + gap + (right - left)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste(mark, (0, 0), mark)
    draw = ImageDraw.Draw(image)
    y = (height - (bottom - top)) // 2 - top
    draw.text((height + gap - left, y), "Peephole", font=font, fill=(*text_color, 255))
    return image


def images() -> dict[str, Image.Image]:
    """Every brand image Peephole ships, by file name."""
    out: dict[str, Image.Image] = {}
    for prefix, colors in (("", LIGHT), ("dark_", DARK)):
        out[f"{prefix}icon.png"] = _mark(256, colors)
        out[f"{prefix}icon@2x.png"] = _mark(512, colors)
        out[f"{prefix}logo.png"] = _logo(256, colors)
        out[f"{prefix}logo@2x.png"] = _logo(512, colors)
    return out


def check(directory: Path = BRAND) -> list[str]:
    """Return what is wrong with the brand images on disk (empty: all good)."""
    problems: list[str] = []
    for name in images():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        with Image.open(path) as image:
            width, height = image.size
            if image.format != "PNG" or image.mode != "RGBA":
                problems.append(f"{name}: not an RGBA PNG")
                continue
            expected = 512 if "@2x" in name else 256
            if "icon" in name and (width, height) != (expected, expected):
                problems.append(f"{name}: {width}x{height}, want {expected} square")
            if "logo" in name and height != expected:
                problems.append(f"{name}: {height} px high, want {expected}")
            if image.getpixel((0, 0))[3] != 0:
                problems.append(f"{name}: background is not transparent")
    return problems


def main() -> int:
    """Write the images, or check them with --check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    if parser.parse_args().check:
        problems = check()
        for problem in problems:
            print(f"brand: {problem}", file=sys.stderr)
        return 1 if problems else 0
    BRAND.mkdir(exist_ok=True)
    for name, image in images().items():
        image.save(BRAND / name, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
