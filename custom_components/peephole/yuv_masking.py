"""Burn privacy zones into decoded pictures (YUV 4:2:0 planes), fail closed.

Pure Python plus numpy; no Home Assistant, no codec. A stream source decodes its
camera's video into pictures; :class:`PlaneMasker` masks each one before anything
else sees it.

The masked pixels are exactly those of a JPEG frame of the same size masked by
:class:`~.masking.FrameMasker` with 4:2:0 sampling: in the luma plane every 8x8
block an enabled zone overlaps (by a positive area) is set to mid-grey, in the
two chroma planes every block of 16x16 picture pixels (8x8 chroma samples), so a
zone covers the same pixels whatever the source, rounded outward the same way
(:func:`~.masking.block_mask`).

A decoded picture is masked in a copy (:func:`~.video.masked_picture`): decoders
keep the pictures they hand out as references for the next ones, so painting
into them would damage the video, and the unmasked picture is never passed on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import functools
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from .masking import block_mask
from .zones import Zone, validate_zones

FILL_VALUE: Final = 128  # mid-grey luma, neutral chroma (as a zeroed JPEG block)
LUMA_BLOCK: Final = 8
CHROMA_BLOCK: Final = 16  # picture pixels per 4:2:0 chroma block (8 samples)
MAX_PIXELS: Final = 4096 * 4096


class PictureError(Exception):
    """A picture cannot be masked (wrong shape, too large): drop it."""


class Plane(Protocol):
    """What a plane of a decoded picture offers (PyAV's ``VideoPlane`` does)."""

    @property
    def width(self) -> int:
        """Samples per row."""

    @property
    def height(self) -> int:
        """Rows."""

    @property
    def line_size(self) -> int:
        """Bytes from one row to the next (at least ``width``)."""


type Rect = tuple[int, int, int, int]  # y0, y1, x0, x1 in samples of one plane


@dataclass(frozen=True, slots=True)
class PlanePlan:
    """Where to paint in each plane of one picture size."""

    width: int
    height: int
    luma: tuple[Rect, ...]
    chroma: tuple[Rect, ...]

    @property
    def empty(self) -> bool:
        """Whether nothing is masked at this size."""
        return not self.luma


def _rects(
    grid: npt.NDArray[np.bool_], block: int, width: int, height: int
) -> list[Rect]:
    """Return the runs of masked blocks of each block row as plane rectangles."""
    rects: list[Rect] = []
    for row, cells in enumerate(grid):
        if not cells.any():
            continue
        padded = np.concatenate(([False], cells, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        y0, y1 = row * block, min((row + 1) * block, height)
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            rects.append((y0, y1, int(start) * block, min(int(end) * block, width)))
    return rects


def plan_for(zones: Sequence[Zone], width: int, height: int) -> PlanePlan:
    """Compute the rectangles of the enabled zones for a ``width`` x ``height`` picture."""
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise PictureError(f"cannot mask a {width}x{height} picture")
    enabled = [zone for zone in zones if zone.enabled]
    luma = block_mask(enabled, width, height, LUMA_BLOCK, LUMA_BLOCK)
    chroma = block_mask(enabled, width, height, CHROMA_BLOCK, CHROMA_BLOCK)
    chroma_w, chroma_h = (width + 1) // 2, (height + 1) // 2
    return PlanePlan(
        width,
        height,
        tuple(_rects(luma, LUMA_BLOCK, width, height)),
        tuple(_rects(chroma, LUMA_BLOCK, chroma_w, chroma_h)),
    )


def plane_array(plane: object, rows: int, line_size: int) -> npt.NDArray[np.uint8]:
    """Return a writable ``rows`` x ``line_size`` view of a plane's memory."""
    data: npt.NDArray[np.uint8] = np.frombuffer(plane, dtype=np.uint8)  # type: ignore[call-overload]
    if data.size < rows * line_size or not data.flags.writeable:
        raise PictureError("plane memory is not what its size says")
    return data[: rows * line_size].reshape(rows, line_size)


def paint(planes: Sequence[npt.NDArray[np.uint8]], plan: PlanePlan) -> None:
    """Set the plan's rectangles of the Y, U and V planes to the fill value."""
    y_plane, u_plane, v_plane = planes
    for y0, y1, x0, x1 in plan.luma:
        y_plane[y0:y1, x0:x1] = FILL_VALUE
    for y0, y1, x0, x1 in plan.chroma:
        u_plane[y0:y1, x0:x1] = FILL_VALUE
        v_plane[y0:y1, x0:x1] = FILL_VALUE


class PlaneMasker:
    """Masks the enabled zones of one camera in YUV 4:2:0 pictures.

    Zones are fixed for the life of the instance (build a new one when they
    change); rectangles are cached per picture size. Thread-safe.
    """

    def __init__(self, zones: Sequence[Zone]) -> None:
        """Validate the zones (raises ZoneError)."""
        validate_zones(zones)
        self.zones = tuple(zones)
        self.active = any(zone.enabled for zone in self.zones)
        self.plan = functools.lru_cache(maxsize=4)(self._plan)

    def _plan(self, width: int, height: int) -> PlanePlan:
        return plan_for(self.zones, width, height)

    def mask_planes(
        self, planes: Sequence[npt.NDArray[np.uint8]], width: int, height: int
    ) -> None:
        """Mask three plane arrays (Y, U, V of a ``width`` x ``height`` picture)."""
        if len(planes) != 3:
            raise PictureError(f"{len(planes)} planes, not 3")
        chroma = ((height + 1) // 2, (width + 1) // 2)
        y_plane, u_plane, v_plane = planes
        if (
            y_plane.shape[0] < height
            or y_plane.shape[1] < width
            or any(
                p.shape[0] < chroma[0] or p.shape[1] < chroma[1]
                for p in (u_plane, v_plane)
            )
        ):
            raise PictureError("planes smaller than the picture")
        paint(planes, self.plan(width, height))
