"""FrameMasker: masks burned in, lossless elsewhere, fail closed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import ctypes
import dataclasses
import gc
import io
import itertools
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
import pytest

from custom_components.peephole import masking
from custom_components.peephole.masking import (
    DEFAULT_MAX_BYTES,
    FILL_VALUE,
    FrameMasker,
    MaskError,
    lossless_transform,
    pixel_mask,
    read_frame_info,
)
from custom_components.peephole.zones import Zone, ZoneError

from .fixtures import CANARY_BOX, ODD_SAMPLING_JPEG
from .frames import (
    SUBSAMPLINGS,
    changed_region,
    component_masks,
    decode_rgb,
    decode_ycc,
    draw_canary,
    encode,
    erode,
    photo,
    polygon_pixels,
)

STREET = Zone(name="street", points=((0.0, 0.55), (0.45, 0.5), (0.6, 1.0), (0.0, 1.0)))
WINDOW = Zone(name="window", points=((0.62, 0.08), (0.93, 0.15), (0.81, 0.42)))
TINY = Zone(name="tiny", points=((0.3011, 0.2013), (0.3041, 0.2021), (0.3023, 0.2051)))
EDGE = Zone(name="edge", points=((0.97, 0.3), (1.0, 0.3), (1.0, 0.7), (0.985, 0.5)))
ZONES = (STREET, WINDOW, TINY, EDGE)


def inside_any(
    zones: tuple[Zone, ...], width: int, height: int
) -> npt.NDArray[np.bool_]:
    inside = np.zeros((height, width), dtype=bool)
    for zone in zones:
        if zone.enabled:
            inside |= polygon_pixels(zone, width, height)
    return inside


def check_masked(source: bytes, output: bytes, zones: tuple[Zone, ...]) -> None:
    """The fast-path contract, checked on decoded pixels."""
    info = read_frame_info(output)
    assert info == dataclasses.replace(read_frame_info(source), sof_marker=0xC0)
    width, height = info.width, info.height
    masks = component_masks(zones, source)
    ycc = decode_ycc(output)
    # Every masked block decodes to exactly the fill value: luma everywhere,
    # chroma away from the one-sample reach of the decoder's upsampling.
    assert (ycc[..., 0][masks[0][0]] == FILL_VALUE).all()
    core = np.ones((height, width), dtype=bool)
    for component, (mask, _) in enumerate(masks[1:], start=1):
        inner = erode(mask, 2)
        assert (ycc[..., component][inner] == FILL_VALUE).all()
        core &= inner
    # The canary drawn inside the polygons is gone: solid grey.
    inside = inside_any(zones, width, height)
    assert inside.any()
    rgb = decode_rgb(output)
    assert (rgb[inside & core] == FILL_VALUE).all()
    # Outside the masked blocks (+ one block) the frame is untouched.
    changed = changed_region(zones, source)
    assert (~changed).any()
    assert np.abs(rgb - decode_rgb(source))[~changed].max() == 0


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
@pytest.mark.parametrize("subsampling", SUBSAMPLINGS)
@pytest.mark.parametrize("size", [(800, 600), (801, 601), (333, 187)], ids=str)
def test_canary_never_survives(
    size: tuple[int, int], subsampling: str, progressive: bool
) -> None:
    width, height = size
    image = draw_canary(photo(width, height, seed=width), ZONES)
    source = encode(image, subsampling, progressive=progressive)
    assert read_frame_info(source).progressive is progressive
    # The canary really is in the source.
    inside = inside_any(ZONES, width, height)
    assert decode_rgb(source)[inside].std() > 40
    output = FrameMasker(ZONES).mask(source)
    check_masked(source, output, ZONES)


def test_tiny_polygon_masks_its_block() -> None:
    source = encode(photo(800, 600, seed=3), "4:4:4")
    output = FrameMasker([TINY]).mask(source)
    luma = decode_ycc(output)[..., 0]
    # 0.3011..0.3041 of 800 = 240.9..243.3 -> block column 30; row 15.
    assert (luma[120:128, 240:248] == FILL_VALUE).all()
    assert pixel_mask([TINY], 800, 600).sum() == 64
    check_masked(source, output, (TINY,))


def test_full_frame_zone() -> None:
    full = Zone(name="all", points=((0, 0), (1, 0), (1, 1), (0, 1)))
    source = encode(photo(801, 601), "4:2:0")
    rgb = decode_rgb(FrameMasker([full]).mask(source))
    assert (rgb == FILL_VALUE).all()


def test_disabled_zones_are_not_masked() -> None:
    window_off = dataclasses.replace(WINDOW, enabled=False)
    image = draw_canary(photo(640, 480, seed=5), (STREET, WINDOW))
    source = encode(image, "4:2:0")
    masker = FrameMasker([STREET, window_off])
    assert masker.active
    assert masker.zones == (STREET, window_off)
    output = masker.mask(source)
    check_masked(source, output, (STREET,))
    # The disabled zone's canary is still there, untouched.
    window = polygon_pixels(WINDOW, 640, 480)
    assert np.abs(decode_rgb(output) - decode_rgb(source))[window].max() == 0


def test_no_enabled_zone_validates_and_passes_through() -> None:
    source = encode(photo(320, 240), "4:2:2")
    for zones in ([], [dataclasses.replace(STREET, enabled=False)]):
        masker = FrameMasker(zones)
        assert not masker.active
        assert masker.mask(source) is source
        assert masker.mask(bytearray(source)) == source
        for bad in (b"", b"garbage", source[: len(source) // 2]):
            with pytest.raises(MaskError):
                masker.mask(bad)


def test_metadata_and_thumbnails_are_dropped() -> None:
    exif = Image.Exif()
    exif[0x010E] = "PEEPHOLE-CANARY in the EXIF"  # ImageDescription
    buffer = io.BytesIO()
    Image.fromarray(photo(320, 240)).save(
        buffer, "JPEG", exif=exif.tobytes(), comment=b"PEEPHOLE-CANARY comment"
    )
    source = buffer.getvalue()
    assert source.count(b"PEEPHOLE-CANARY") == 2
    output = FrameMasker([STREET]).mask(source)
    assert b"PEEPHOLE-CANARY" not in output
    assert b"Exif" not in output


def test_input_types_and_determinism() -> None:
    source = encode(photo(320, 240), "4:2:0")
    masker = FrameMasker(ZONES)
    first = masker.mask(source)
    assert masker.mask(bytearray(source)) == first
    assert masker.mask(memoryview(source)) == first
    assert FrameMasker(ZONES).mask(source) == first


def test_block_masks_are_cached_per_geometry() -> None:
    masker = FrameMasker(ZONES)
    small, large = encode(photo(320, 240), "4:2:0"), encode(photo(640, 480), "4:2:0")
    for frame in (small, large, small, large, small):
        masker.mask(frame)
    info = masker._plan.cache_info()
    assert (info.misses, info.hits) == (2, 3)


def test_thread_safety() -> None:
    frames = [
        encode(draw_canary(photo(400, 300, seed=i), ZONES), SUBSAMPLINGS[i % 4])
        for i in range(12)
    ]
    masker = FrameMasker(ZONES)
    expected = [masker.mask(frame) for frame in frames]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(masker.mask, frames * 3))
    assert results == expected * 3


def test_busy_python_threads_do_not_stall_masking() -> None:
    # The filter runs Python once per block row; if each call had to win the
    # GIL back from a busy thread, one frame would take ~5 ms per row.
    source = encode(photo(800, 600), "4:2:0")
    masker = FrameMasker(ZONES)
    masker.mask(source)
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(100))

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            masker.mask(source)
            timings.append(time.perf_counter() - start)
    finally:
        stop.set()
        spinner.join()
    assert sorted(timings)[2] < 0.05  # ~150 block rows: stalls would be ~0.75 s


def test_thread_handles_are_released() -> None:
    source = encode(photo(64, 64), "4:2:0")
    destroyed: list[int] = []
    tj = masking._turbojpeg()
    real_destroy = tj.destroy

    def destroy(handle: int) -> int:
        destroyed.append(handle)
        return int(real_destroy(handle))

    tj.destroy = destroy  # type: ignore[assignment]
    try:
        thread = threading.Thread(target=FrameMasker([STREET]).mask, args=(source,))
        thread.start()
        thread.join()
        gc.collect()
    finally:
        tj.destroy = real_destroy
    assert len(destroyed) == 1


# --------------------------------------------------------------------------
# Fallback: decode, paint, encode
# --------------------------------------------------------------------------


def check_painted(
    output: bytes, zones: tuple[Zone, ...], width: int, height: int
) -> None:
    info = read_frame_info(output)
    assert (info.width, info.height, info.sof_marker) == (width, height, 0xC0)
    painted = pixel_mask(zones, width, height)
    # Fully masked 8x8 luma blocks are flat: exact fill value.
    assert (decode_ycc(output)[..., 0][painted] == FILL_VALUE).all()
    # Deep inside the mask whole 16x16 MCUs are flat grey in every
    # component (the encoder's colour conversion may round chroma by one).
    deep = decode_rgb(output)[erode(painted, 16)]
    assert not deep.size or np.abs(deep - FILL_VALUE).max() <= 2


def test_odd_sampling_falls_back_to_pixels() -> None:
    info = read_frame_info(ODD_SAMPLING_JPEG)
    assert [(c.h_samp, c.v_samp) for c in info.components] == [(2, 1), (1, 2), (1, 1)]
    assert not masking._fast_path_ok(info)
    x0, y0, x1, y1 = CANARY_BOX
    zone = Zone(
        name="box",
        points=(
            (x0 / 64, y0 / 48),
            (x1 / 64, y0 / 48),
            (x1 / 64, y1 / 48),
            (x0 / 64, y1 / 48),
        ),
    )
    assert decode_rgb(ODD_SAMPLING_JPEG)[y0:y1, x0:x1].std() > 40
    output = FrameMasker([zone]).mask(ODD_SAMPLING_JPEG)
    check_painted(output, (zone,), 64, 48)
    assert (decode_ycc(output)[y0:y1, x0:x1, 0] == FILL_VALUE).all()


def test_cmyk_falls_back_to_pixels() -> None:
    image = draw_canary(photo(320, 240, seed=9), (STREET,))
    buffer = io.BytesIO()
    Image.fromarray(image).convert("CMYK").save(buffer, "JPEG", quality=90)
    source = buffer.getvalue()
    assert len(read_frame_info(source).components) == 4
    output = FrameMasker([STREET]).mask(source)
    check_painted(output, (STREET,), 320, 240)


@pytest.mark.parametrize("subsampling", SUBSAMPLINGS)
def test_forced_fallback_masks_every_format(
    subsampling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(masking, "_fast_path_ok", lambda _info: False)
    image = draw_canary(photo(801, 601, seed=2), ZONES)
    source = encode(image, subsampling, progressive=True)
    output = FrameMasker(ZONES).mask(source)
    check_painted(output, ZONES, 801, 601)


def test_fallback_decode_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(masking, "_fast_path_ok", lambda _info: False)
    no_tables = crafted(64, 48)  # a valid header, but no DQT/DHT: undecodable
    with pytest.raises(MaskError) as info:
        FrameMasker([STREET]).mask(no_tables)
    assert info.value.reason == "decode"


def test_fallback_size_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(masking, "_fast_path_ok", lambda _info: False)
    source = encode(photo(320, 240), "4:2:0")
    masker = FrameMasker([STREET])
    plan = masker._plan(320, 240, ((8, 8), (16, 16), (16, 16)), (2, 1, 1))
    wrong = dataclasses.replace(read_frame_info(source), width=321)
    with pytest.raises(MaskError, match="size differs"):
        masker._mask_pixels(source, wrong, plan)


# --------------------------------------------------------------------------
# Fail closed
# --------------------------------------------------------------------------


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def crafted(
    width: int,
    height: int,
    *,
    sof: int = 0xC0,
    precision: int = 8,
    components: tuple[tuple[int, int], ...] = ((1, 0x22), (2, 0x11), (3, 0x11)),
    before: bytes = b"",
    scans: int = 1,
    tail: bytes = b"\x12\x34\x56\x78" * 4 + b"\xff\xd9",
) -> bytes:
    """A JPEG header claiming anything, followed by junk scan data."""
    sof_payload = (
        bytes((precision,))
        + height.to_bytes(2, "big")
        + width.to_bytes(2, "big")
        + bytes((len(components),))
        + b"".join(bytes((cid, sampling, 0)) for cid, sampling in components)
    )
    scan = segment(0xDA, bytes((1, 1, 0, 0, 63, 0)))
    return b"\xff\xd8" + before + segment(sof, sof_payload) + scan * scans + tail


@pytest.fixture
def no_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to decode."""

    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("decoder called")

    monkeypatch.setattr(masking, "_run_transform", boom)
    monkeypatch.setattr(Image, "open", boom)


@pytest.mark.usefixtures("no_decoder")
def test_huge_dimensions_rejected_before_decoding() -> None:
    masker = FrameMasker(ZONES)
    bomb = crafted(60000, 60000)
    start = time.perf_counter()
    with pytest.raises(MaskError) as info:
        masker.mask(bomb)
    assert time.perf_counter() - start < 0.05
    assert info.value.reason == "too_large"
    # The same with a real frame whose header was edited.
    real = encode(photo(64, 48), "4:2:0")
    sof = real.index(b"\xff\xc0")
    edited = real[: sof + 5] + (60000).to_bytes(2, "big") * 2 + real[sof + 9 :]
    assert read_frame_info(edited, max_pixels=10**10).width == 60000
    with pytest.raises(MaskError, match="60000x60000"):
        masker.mask(edited)
    with pytest.raises(MaskError, match="too_large"):
        FrameMasker([]).mask(edited)


@pytest.mark.usefixtures("no_decoder")
def test_byte_and_pixel_bounds() -> None:
    frame = encode(photo(320, 240), "4:2:0")
    with pytest.raises(MaskError, match="too_large"):
        FrameMasker(ZONES, max_bytes=len(frame) - 1).mask(frame)
    with pytest.raises(MaskError, match="too_large"):
        FrameMasker(ZONES, max_pixels=320 * 240 - 1).mask(frame)
    start = time.perf_counter()
    with pytest.raises(MaskError, match="too_large"):
        read_frame_info(b"\xff\xd8" + b"\xff" * DEFAULT_MAX_BYTES)
    assert time.perf_counter() - start < 0.05


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        FrameMasker(ZONES, max_pixels=0)
    with pytest.raises(ValueError, match="positive"):
        FrameMasker(ZONES, max_bytes=0)
    with pytest.raises(ZoneError):
        FrameMasker([STREET, STREET])


REAL = encode(photo(160, 120, seed=4), "4:2:0")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "decode"),
        (b"\x00" * 1000, "decode"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "decode"),
        (b"\xff\xd8", "decode"),
        (b"\xff\xd8\xff", "decode"),  # too short to be anything
        (b"\xff\xd8" + b"\xff" * 5000, "truncated"),
        (b"\xff\xd8\x00\x00garbage", "decode"),
        (b"\xff\xd8\xff\xe0\x00", "truncated"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
        (b"\xff\xd8\xff\xe0\x00\x01JFIF", "decode"),  # length < 2
        (b"\xff\xd8\xff\xd8\x00\x00", "decode"),  # second SOI
        (b"\xff\xd8\xff\xd9", "decode"),  # EOI before any image
        (b"\xff\xd8\xff\x00\x00\x00", "decode"),
        (
            b"\xff\xd8" + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\xff\xd9",
            "decode",
        ),
        (b"\xff\xd8" + segment(0xE1, b"x") * 300, "decode"),  # endless segments
        (crafted(64, 48, scans=1, tail=b"\x00" * 32), "truncated"),  # no EOI
        (
            crafted(
                64, 48, before=segment(0xC0, b"\x08\x00\x10\x00\x10\x01\x01\x11\x00")
            ),
            "decode",
        ),
        (crafted(64, 48, sof=0xC3), "unsupported"),  # lossless
        (crafted(64, 48, sof=0xC5), "unsupported"),  # hierarchical
        (crafted(64, 48, precision=12), "unsupported"),
        (crafted(64, 0), "unsupported"),  # height from a DNL marker
        (crafted(0, 48), "unsupported"),
        (crafted(64, 48, components=((1, 0x11), (2, 0x11))), "unsupported"),
        (crafted(64, 48, components=((1, 0x01),)), "decode"),  # zero sampling
        (crafted(64, 48, components=((1, 0x51),)), "decode"),  # 5x1
        (crafted(64, 48, components=()), "decode"),
        (crafted(64, 48, sof=0xC2, scans=masking.MAX_SCANS + 1), "too_large"),
        (b"\xff\xd8" + segment(0xC0, b"\x08\x00\x10") + segment(0xDA, b""), "decode"),
        (REAL[: len(REAL) // 2], "truncated"),
        (REAL[:-2], "truncated"),
        (REAL[:200], "truncated"),
        (REAL[:3], "decode"),
        (REAL[:4], "truncated"),
    ],
    ids=lambda value: value if isinstance(value, str) else f"{len(value)}B",
)
def test_malformed_frames_fail_closed(data: bytes, reason: str) -> None:
    for masker in (FrameMasker(ZONES), FrameMasker([])):
        with pytest.raises(MaskError) as info:
            masker.mask(data)
        assert info.value.reason == reason


def test_scan_limit_boundary() -> None:
    assert read_frame_info(
        crafted(64, 48, sof=0xC2, scans=masking.MAX_SCANS)
    ).progressive
    # Sequential frames are not counted (libjpeg stops after their scans).
    read_frame_info(crafted(64, 48, scans=masking.MAX_SCANS + 1))


def test_standalone_markers_and_fill_bytes_are_skipped() -> None:
    frame = crafted(64, 48, before=b"\xff\xff\xff\x01\xff\xd0")
    info = read_frame_info(frame)
    assert (info.width, info.height) == (64, 48)
    # Junk scan data passes the header check but not the codec.
    with pytest.raises(MaskError) as error:
        FrameMasker(ZONES).mask(frame)
    assert error.value.reason == "decode"


def test_fractional_sampling_is_unsupported() -> None:
    frame = crafted(64, 48, components=((1, 0x31), (2, 0x21), (3, 0x11)))
    read_frame_info(frame)
    with pytest.raises(MaskError) as info:
        FrameMasker(ZONES).mask(frame)
    assert info.value.reason == "unsupported"


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: f[: len(f) // 2] + b"\xff\xd9",  # cut short, EOI re-appended
        lambda f: f[: len(f) // 2] + b"\xff\xd5" + f[len(f) // 2 :],  # stray RST
        lambda f: f[: len(f) // 2]
        + b"\xff\xc4\x00\x03\x00"
        + f[len(f) // 2 :],  # bad DHT
    ],
)
def test_corrupt_scan_data_fails_closed(damage: Any) -> None:
    frame = encode(photo(320, 240), "4:2:0")
    with pytest.raises(MaskError) as info:
        FrameMasker(ZONES).mask(damage(frame))
    assert info.value.reason == "decode"


def test_every_truncation_fails_closed() -> None:
    frame = encode(photo(96, 64), "4:2:0")
    masker = FrameMasker(ZONES)
    for cut in range(0, len(frame) - 1, 7):
        with pytest.raises(MaskError):
            masker.mask(frame[:cut])


# --------------------------------------------------------------------------
# The custom filter checks its own work
# --------------------------------------------------------------------------


def test_filter_refuses_unexpected_geometry() -> None:
    source = encode(photo(320, 240), "4:2:0")
    masker = FrameMasker([STREET])
    plan = masker._plan(320, 240, ((8, 8), (16, 16), (16, 16)), (2, 1, 1))
    luma = dataclasses.replace(plan.components[0], blocks_w=41)
    wrong = dataclasses.replace(plan, components=(luma, *plan.components[1:]))
    with pytest.raises(MaskError) as info:
        masker._mask_coefficients(source, wrong)
    assert info.value.reason == "decode"
    assert "custom filter" in str(info.value)


def ones(size: int) -> Any:
    """A ctypes buffer of ``size`` bytes set to 1 (``.raw`` has no NUL)."""
    buffer = (ctypes.c_char * size)()
    ctypes.memset(buffer, 1, size)
    return buffer


def test_filter_refuses_rows_out_of_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Drive the filter as libjpeg would, but skip a row: it must refuse it
    # and every row after it, and write nothing.
    masker = FrameMasker([STREET])
    plan = masker._plan(320, 240, ((8, 8),), (1,))
    luma = plan.components[0]
    buffer = ones(luma.blocks_h * luma.stride)
    base = ctypes.addressof(buffer)
    plane = masking._TJRegion(0, 0, luma.blocks_w * 8, luma.blocks_h * 8)
    results: list[int] = []

    def fake_transform(_tj: Any, _jpeg: bytes, transform: Any) -> bytes:
        for row in (0, 1, 3, 4, *range(5, luma.blocks_h)):
            region = masking._TJRegion(0, row * 8, plane.w, 8)
            address = base + row * luma.stride
            results.append(transform.customFilter(address, region, plane, 0, 0, None))
        return b"output"

    monkeypatch.setattr(masking, "_run_transform", fake_transform)
    with pytest.raises(MaskError) as info:
        masker._mask_coefficients(b"", plan)
    assert info.value.reason == "mask"
    assert results[:2] == [0, 0]
    assert set(results[2:]) == {-1}
    assert set(buffer.raw) == {1}
    # The same rows in order are zeroed at the last one.
    monkeypatch.setattr(
        masking,
        "_run_transform",
        lambda _tj, _jpeg, transform: [
            transform.customFilter(
                base + row * luma.stride,
                masking._TJRegion(0, row * 8, plane.w, 8),
                plane,
                0,
                0,
                None,
            )
            for row in range(luma.blocks_h)
        ]
        and b"output",
    )
    assert masker._mask_coefficients(b"", plan) == b"output"
    assert set(buffer.raw) == {0, 1}


def test_filter_errors_abort_the_transform() -> None:
    source = encode(photo(320, 240), "4:2:0")
    masker = FrameMasker([STREET])
    plan = masker._plan(320, 240, ((8, 8), (16, 16), (16, 16)), (2, 1, 1))
    broken = dataclasses.replace(plan, components=plan.components[:1])
    with pytest.raises(MaskError, match="custom filter"):
        masker._mask_coefficients(source, broken)


def test_filter_refuses_rows_that_are_not_contiguous() -> None:
    # libjpeg-turbo keeps each component in one piece; if it ever did not,
    # nothing must be written past a row.
    luma = FrameMasker([STREET])._plan(320, 240, ((8, 8),), (1,)).components[0]
    assert luma.runs
    stride = luma.stride
    assert stride == luma.blocks_w * 128
    buffer = ones(luma.blocks_h * stride)
    base = ctypes.addressof(buffer)
    rows = [base + row * stride for row in range(luma.blocks_h)]
    rows[-1] += 128
    with pytest.raises(MaskError, match="not contiguous"):
        masking._zero_blocks(luma, rows)
    assert set(buffer.raw) == {1}  # untouched
    rows[-1] -= 128
    assert masking._zero_blocks(luma, rows) == luma.blocks
    zeroed = np.frombuffer(buffer.raw, np.uint8).reshape(luma.blocks_h, -1, 128)
    expected = masking.block_mask([STREET], 320, 240)
    assert ((zeroed == 0).all(axis=2) == expected).all()
    assert ((zeroed == 1).all(axis=2) == ~expected).all()


def test_long_runs_are_split() -> None:
    full = Zone(name="all", points=((0, 0), (1, 0), (1, 1), (0, 1)))
    grid = masking.block_mask([full], 2000, 1000)
    runs = masking._runs(grid)
    chunk = len(masking._ZEROS)
    assert all(len(zeros) == where.stop - where.start <= chunk for where, zeros in runs)
    assert runs[0][0].start == 0
    assert runs[-1][0].stop == grid.size * 128
    assert all(a[0].stop == b[0].start for a, b in itertools.pairwise(runs))
    source = encode(photo(2000, 1000), "4:2:0")
    rgb = decode_rgb(FrameMasker([full]).mask(source))
    assert (rgb == FILL_VALUE).all()


def test_unapplied_blocks_are_detected() -> None:
    source = encode(photo(320, 240), "4:2:0")
    masker = FrameMasker([STREET])
    plan = masker._plan(320, 240, ((8, 8), (16, 16), (16, 16)), (2, 1, 1))
    greedy = dataclasses.replace(plan, masked_blocks=plan.masked_blocks + 1)
    with pytest.raises(MaskError) as info:
        masker._mask_coefficients(source, greedy)
    assert info.value.reason == "mask"


# --------------------------------------------------------------------------
# The codec binding
# --------------------------------------------------------------------------


def test_lossless_transform_is_lossless() -> None:
    source = encode(photo(801, 601), "4:2:0", progressive=True)
    output = lossless_transform(source)
    assert read_frame_info(output).sof_marker == 0xC0
    assert np.abs(decode_rgb(output) - decode_rgb(source)).max() == 0


def test_codec_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    masking.load_codec()
    monkeypatch.setattr(masking, "_TJ", None)

    def no_library(name: str) -> Any:
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", no_library)
    monkeypatch.setattr(masking, "find_library", lambda _name: "libturbojpeg-found.so")
    with pytest.raises(MaskError) as info:
        masking.load_codec()
    assert info.value.reason == "codec"
    # A libjpeg-turbo older than 2.0 (no tjGetErrorStr2) is not accepted.
    monkeypatch.setattr(ctypes, "CDLL", lambda _name: object())
    monkeypatch.setattr(masking, "find_library", lambda _name: None)
    with pytest.raises(MaskError, match="codec"):
        FrameMasker([STREET]).mask(encode(photo(64, 64), "4:2:0"))


def test_codec_loads_once_under_contention(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = masking._turbojpeg()
    monkeypatch.setattr(masking, "_TJ", None)
    results: list[object] = []
    with masking._TJ_LOCK:  # another thread is loading it right now
        waiter = threading.Thread(target=lambda: results.append(masking._turbojpeg()))
        waiter.start()
        time.sleep(0.05)
        monkeypatch.setattr(masking, "_TJ", loaded)
    waiter.join()
    assert results == [loaded]


def test_codec_instance_failure() -> None:
    tj = masking._TurboJPEG(masking._turbojpeg().name)
    tj.init_transform = lambda: None  # type: ignore[assignment]
    with pytest.raises(MaskError, match="codec"):
        tj.handle("transform")


def test_codec_output_and_compress_errors() -> None:
    tj = masking._turbojpeg()
    with pytest.raises(MaskError, match="no output"):
        tj.take_output(0, 0, ctypes.c_void_p(), ctypes.c_ulong(0))
    with pytest.raises(MaskError, match="decode"):
        masking._compress_rgb(tj, np.zeros((0, 16, 3), dtype=np.uint8))
    assert tj.error(tj.handle("compress"))
    quiet = masking._TurboJPEG(tj.name)
    quiet.error_str = lambda _handle: None  # type: ignore[assignment]
    assert quiet.error(0) == "unknown error"


def test_mask_error() -> None:
    error = MaskError("truncated", "no end of image")
    assert error.reason == "truncated"
    assert str(error) == "truncated: no end of image"
    assert str(MaskError("decode")) == "decode"
