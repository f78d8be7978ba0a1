"""A rendered porch scene: what the doorbell camera sees.

The view from the door: the porch floor and the door frame in the foreground,
a front garden path, then the public pavement and street with houses across
it. Pedestrians walk past on the far pavement and a car drives by now and
then, so Peephole's privacy mask (which should cover the street) has moving
things to hide; while a visitor is at the door (after a ring or motion) a
person stands on the porch, which the mask must leave visible.

Everything is simple shapes drawn with Pillow, a pure function of time, and
CPU-cheap: the static background is drawn once per size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import io
import math

from PIL import Image, ImageDraw

# Layout, as fractions of the frame height (y) / width (x).
HORIZON = 0.30  # bottom of the houses across the street
FAR_PAVEMENT = (0.30, 0.36)
STREET = (0.36, 0.50)
NEAR_PAVEMENT = (0.50, 0.56)
PORCH = 0.78  # top of the porch floor

SKY = (150, 190, 230)
PAVEMENT = (170, 170, 165)
ROAD = (70, 70, 75)
GRASS = (90, 150, 70)
PORCH_FLOOR = (150, 110, 80)
FRAME_WOOD = (110, 75, 50)


@dataclass(frozen=True)
class Walker:
    """A pedestrian on the far pavement: speed in frame widths per second."""

    speed: float
    phase: float
    shirt: tuple[int, int, int]
    height: float  # fraction of frame height


WALKERS = (
    Walker(0.06, 0.0, (200, 60, 60), 0.11),
    Walker(-0.045, 0.35, (60, 90, 200), 0.10),
    Walker(0.08, 0.7, (230, 190, 40), 0.12),
)
CAR_PERIOD = 17.0  # seconds between cars
CAR_CROSSING = 4.0  # seconds a car takes to cross


def _background(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), SKY)
    draw = ImageDraw.Draw(image)
    h, w = height, width
    # Houses across the street.
    for index, x0 in enumerate(range(-40, w, 170)):
        top = int(h * (0.10 + 0.04 * (index % 3)))
        colour = ((190, 160, 140), (210, 200, 170), (170, 130, 120))[index % 3]
        draw.rectangle((x0, top, x0 + 150, int(h * HORIZON)), fill=colour)
        draw.polygon(
            [(x0 - 10, top), (x0 + 75, top - int(h * 0.07)), (x0 + 160, top)],
            fill=(120, 60, 50),
        )
        for wx in (x0 + 20, x0 + 95):
            draw.rectangle(
                (wx, top + 15, wx + 35, top + 45), fill=(80, 110, 140), outline="white"
            )
    draw.rectangle(
        (0, int(h * FAR_PAVEMENT[0]), w, int(h * FAR_PAVEMENT[1])), fill=PAVEMENT
    )
    draw.rectangle((0, int(h * STREET[0]), w, int(h * STREET[1])), fill=ROAD)
    mid = int(h * (STREET[0] + STREET[1]) / 2)
    for x0 in range(0, w, 60):
        draw.rectangle((x0, mid - 2, x0 + 30, mid + 2), fill=(230, 230, 230))
    draw.rectangle(
        (0, int(h * NEAR_PAVEMENT[0]), w, int(h * NEAR_PAVEMENT[1])), fill=PAVEMENT
    )
    draw.rectangle((0, int(h * NEAR_PAVEMENT[1]), w, int(h * PORCH)), fill=GRASS)
    # Garden path from the pavement to the porch (in perspective).
    draw.polygon(
        [
            (int(w * 0.46), int(h * NEAR_PAVEMENT[1])),
            (int(w * 0.54), int(h * NEAR_PAVEMENT[1])),
            (int(w * 0.66), int(h * PORCH)),
            (int(w * 0.34), int(h * PORCH)),
        ],
        fill=(185, 175, 160),
    )
    draw.rectangle((0, int(h * PORCH), w, h), fill=PORCH_FLOOR)
    for y in range(int(h * PORCH), h, 18):
        draw.line((0, y, w, y), fill=(130, 95, 70), width=2)
    # Door frame at the edges of the wide-angle view.
    draw.rectangle((0, 0, int(w * 0.06), h), fill=FRAME_WOOD)
    draw.rectangle((int(w * 0.94), 0, w, h), fill=FRAME_WOOD)
    # A plant pot on the porch.
    draw.rectangle(
        (int(w * 0.80), int(h * 0.84), int(w * 0.88), int(h * 0.95)), fill=(160, 80, 50)
    )
    draw.ellipse(
        (int(w * 0.77), int(h * 0.70), int(w * 0.91), int(h * 0.86)), fill=(50, 120, 50)
    )
    return image


def _person(
    draw: ImageDraw.ImageDraw,
    x: float,
    feet: float,
    tall: float,
    shirt: tuple[int, int, int],
    stride: float,
) -> None:
    """Draw a person standing at (x, feet), `tall` pixels high; stride in [-1, 1]."""
    head = tall * 0.08
    body_top = feet - tall + head * 2
    hips = feet - tall * 0.45
    half = tall * 0.11
    leg = tall * 0.12 * stride
    draw.line(
        (x, hips, x - leg, feet), fill=(40, 40, 60), width=max(2, int(tall * 0.06))
    )
    draw.line(
        (x, hips, x + leg, feet), fill=(40, 40, 60), width=max(2, int(tall * 0.06))
    )
    draw.rectangle((x - half, body_top, x + half, hips), fill=shirt)
    draw.ellipse(
        (x - head, feet - tall, x + head, feet - tall + head * 2), fill=(230, 190, 160)
    )


class PorchScene:
    """Renders frames of the porch scene at a fixed size."""

    def __init__(self, width: int = 800, height: int = 600, quality: int = 80) -> None:
        """Draw the static background once."""
        self.width = width
        self.height = height
        self.quality = quality
        self._background = _background(width, height)

    def render(
        self, t: float, *, visitor: bool = False, wall_clock: datetime | None = None
    ) -> Image.Image:
        """Return the frame at time t (seconds)."""
        image = self._background.copy()
        draw = ImageDraw.Draw(image)
        w, h = self.width, self.height
        feet = h * (FAR_PAVEMENT[0] + FAR_PAVEMENT[1]) / 2
        for walker in WALKERS:
            position = (walker.phase + walker.speed * t) % 1.2 - 0.1
            stride = math.sin(t * 6 + walker.phase * 10)
            _person(draw, position * w, feet, walker.height * h, walker.shirt, stride)
        in_cycle = t % CAR_PERIOD
        if in_cycle < CAR_CROSSING:
            x = (in_cycle / CAR_CROSSING) * (w + 260) - 200
            y = h * (STREET[0] + 0.02)
            draw.rectangle((x, y + 15, x + 180, y + 55), fill=(180, 30, 30))
            draw.polygon(
                [
                    (x + 40, y + 15),
                    (x + 60, y - 10),
                    (x + 130, y - 10),
                    (x + 150, y + 15),
                ],
                fill=(160, 25, 25),
            )
            for wx in (x + 35, x + 145):
                draw.ellipse((wx - 14, y + 42, wx + 14, y + 70), fill=(20, 20, 20))
        if visitor:
            sway = math.sin(t * 1.5) * w * 0.005
            _person(draw, w * 0.5 + sway, h * 0.97, h * 0.75, (40, 140, 120), 0.15)
        stamp = (wall_clock or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
        draw.rectangle((8, 8, 8 + 7 * len(stamp) + 8, 26), fill=(0, 0, 0))
        draw.text((12, 10), stamp, fill=(255, 255, 255))
        return image

    def jpeg(self, t: float, *, visitor: bool = False) -> bytes:
        """Return the frame at time t as JPEG bytes (blocking: run in an executor)."""
        out = io.BytesIO()
        self.render(t, visitor=visitor).save(out, format="JPEG", quality=self.quality)
        return out.getvalue()
