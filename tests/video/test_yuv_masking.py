"""Masking decoded pictures: the same pixels as a JPEG frame, in a copy, fail closed."""

from __future__ import annotations

import io

import av
import numpy as np
from PIL import Image
import pytest

from custom_components.peephole.masking import FrameMasker, block_mask, pixel_mask
from custom_components.peephole.video import masked_picture
from custom_components.peephole.yuv_masking import (
    FILL_VALUE,
    PictureError,
    PlaneMasker,
    plan_for,
)
from custom_components.peephole.zones import Zone
from tests.masking.frames import photo

STREET = Zone(name="street", points=((0, 0), (1, 0), (1, 0.3), (0, 0.3)))
DIAGONAL = Zone(name="gate", points=((0.55, 0.4), (0.95, 0.62), (0.6, 0.97)))
OFF = Zone(name="off", points=((0, 0.9), (1, 0.9), (1, 1)), enabled=False)
ZONES = (STREET, DIAGONAL, OFF)


def _picture(width: int, height: int, fmt: str = "yuv420p") -> av.VideoFrame:
    rgb = photo(width, height, seed=width + height)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=fmt)


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    return [
        np.frombuffer(plane, np.uint8)
        .reshape(plane.height, plane.line_size)[:, : plane.width]
        .copy()
        for plane in frame.planes
    ]


@pytest.mark.parametrize(("width", "height"), [(640, 480), (800, 600), (334, 198)])
def test_masked_pixels_are_those_of_the_jpeg_masks(width: int, height: int) -> None:
    """Luma: 8x8 blocks; chroma: 16x16 picture pixels, as a masked 4:2:0 JPEG."""
    masked = masked_picture(_picture(width, height), PlaneMasker(ZONES))
    y, u, v = _planes(masked)
    luma_mask = pixel_mask(ZONES, width, height)
    assert (y[luma_mask] == FILL_VALUE).all()
    chroma = block_mask(ZONES, width, height, 16, 16)
    chroma_mask = np.repeat(np.repeat(chroma, 8, axis=0), 8, axis=1)
    chroma_mask = chroma_mask[: (height + 1) // 2, : (width + 1) // 2]
    assert (u[chroma_mask] == FILL_VALUE).all()
    assert (v[chroma_mask] == FILL_VALUE).all()
    # Outside the masks the picture is untouched.
    y0, u0, _ = _planes(_picture(width, height))
    assert (y[~luma_mask] == y0[~luma_mask]).all()
    assert (u[~chroma_mask] == u0[~chroma_mask]).all()


def test_a_zone_covers_the_same_pixels_in_a_jpeg_and_a_stream() -> None:
    """What the JPEG masker changes is what the picture masker paints grey."""
    width, height = 800, 600
    out = io.BytesIO()
    Image.fromarray(photo(width, height, seed=3)).save(
        out, format="JPEG", quality=90, subsampling=2
    )
    original = out.getvalue()
    masked_jpeg = FrameMasker(ZONES).mask(original)
    with (
        Image.open(io.BytesIO(original)) as a,
        Image.open(io.BytesIO(masked_jpeg)) as b,
    ):
        before, after = np.asarray(a.convert("L")), np.asarray(b.convert("L"))
    changed_by_jpeg = before != after
    expected = pixel_mask(ZONES, width, height)
    assert (after[expected] == FILL_VALUE).all()
    assert not (changed_by_jpeg & ~expected).any()  # lossless outside
    picture = av.VideoFrame.from_ndarray(photo(width, height, seed=3), "rgb24")
    masked = masked_picture(picture.reformat(format="yuv420p"), PlaneMasker(ZONES))
    y = _planes(masked)[0]
    y_before = _planes(picture.reformat(format="yuv420p"))[0]
    changed_by_picture = y != y_before
    assert (y[expected] == FILL_VALUE).all()
    assert not (changed_by_picture & ~expected).any()
    # Where the photo was not already mid-grey, both changed the same pixels.
    assert (
        changed_by_jpeg & (before != FILL_VALUE) & (y_before != FILL_VALUE)
    ).sum() > 0
    assert (
        (changed_by_jpeg != changed_by_picture)
        & (before != FILL_VALUE)
        & (y_before != FILL_VALUE)
    ).sum() == 0


def test_the_decoded_picture_is_not_changed() -> None:
    """Decoders reuse the pictures they hand out: the mask goes on a copy."""
    source = _picture(320, 240)
    before = [p.copy() for p in _planes(source)]
    masked = masked_picture(source, PlaneMasker(ZONES))
    assert masked is not source
    for plane, original in zip(_planes(source), before, strict=True):
        assert (plane == original).all()
    # No zone enabled: still a copy, never the decoder's picture.
    unmasked = masked_picture(source, PlaneMasker((OFF,)))
    assert unmasked is not source
    assert all((a == b).all() for a, b in zip(_planes(unmasked), before, strict=True))


@pytest.mark.parametrize("fmt", ["yuvj422p", "yuvj420p", "nv12", "rgb24", "yuv444p"])
def test_other_pixel_formats_are_converted_then_masked(fmt: str) -> None:
    masked = masked_picture(_picture(320, 240, fmt), PlaneMasker(ZONES))
    assert masked.format.name == "yuv420p"
    rgb = masked.to_ndarray(format="rgb24")
    street = rgb[: int(0.3 * 240) - 8]
    assert street.std() < 2  # one flat grey


def test_odd_sizes_lose_their_last_row_and_column() -> None:
    masked = masked_picture(_picture(321, 241, "yuv444p"), PlaneMasker(ZONES))
    assert (masked.width, masked.height) == (320, 240)


def test_bad_pictures_are_refused() -> None:
    with pytest.raises(PictureError):
        masked_picture(av.VideoFrame(1, 1, "yuv420p"), PlaneMasker(ZONES))
    with pytest.raises(PictureError):
        plan_for(ZONES, 0, 10)
    with pytest.raises(PictureError):
        plan_for(ZONES, 5000, 5000)
    masker = PlaneMasker(ZONES)
    small = np.zeros((10, 10), np.uint8)
    with pytest.raises(PictureError, match="smaller"):
        masker.mask_planes([small, small, small], 64, 48)
    with pytest.raises(PictureError, match="planes"):
        masker.mask_planes([small], 10, 10)


def test_plans_are_cached_per_size() -> None:
    masker = PlaneMasker(ZONES)
    assert masker.plan(640, 480) is masker.plan(640, 480)
    assert masker.plan(640, 480) is not masker.plan(800, 600)
    assert masker.active
    assert not PlaneMasker((OFF,)).active
    assert plan_for((OFF,), 64, 48).empty
