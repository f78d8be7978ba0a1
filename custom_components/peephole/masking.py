"""Burn privacy zones into JPEG frames, fail closed, at the codec's speed.

Pure Python plus numpy, Pillow and the system ``libturbojpeg`` (loaded with
ctypes); no Home Assistant imports.

How a frame is masked
---------------------
1. :func:`read_frame_info` walks the JPEG markers up to the first scan in
   pure Python and checks byte size, dimensions, scan count and that the end
   of image marker is present, all *before* anything is decoded, so a
   decompression bomb or a garbage frame costs microseconds.
2. Fast path (baseline or progressive, 8-bit, greyscale or YCbCr with a
   standard subsampling): libjpeg-turbo's lossless ``tjTransform`` re-encodes
   the frame's DCT coefficients and calls our ``customFilter`` once per block
   row of each component, before re-encoding any; the filter notes where
   each row lies and, at a component's last row, zeroes every coefficient of
   its masked blocks (one copy from a zero buffer per run of masked blocks,
   runs merged across rows). An all-zero block decodes to sample value 128 in
   every component, so the mask is a solid mid-grey whatever the quantisation
   tables, and every other block is copied untouched (lossless outside the
   mask). Metadata (EXIF and its thumbnail, comments) is dropped.
3. Fallback (CMYK, odd sampling factors): Pillow decodes, numpy paints the
   masked 8x8 blocks mid-grey, libjpeg-turbo encodes a new JPEG.

Which blocks are masked: in each component, every block whose area overlaps
an enabled zone's polygon (a positive-area overlap) is masked, so the mask
covers every pixel the polygon covers, rounded outward to that component's
block grid (8x8 pixels for luma, 16x16 for 4:2:0 chroma, ...).

Anything unexpected raises :class:`MaskError`; no code path returns bytes
that were not masked (or, with no enabled zone, the validated input). The
filter also checks the plane geometry libjpeg reports against the header,
that rows arrive in order and lie contiguously in memory before it writes,
and counts the blocks it zeroed; any mismatch fails the frame.

Threads: each thread gets its own TurboJPEG instance. The transform runs
with the GIL held (about 1 ms for 800x600, 4 ms for 1600x1200), because the
filter calls back into Python per block row and re-acquiring a contended GIL
for each call would take up to 5 ms apiece.
"""

from __future__ import annotations

import ctypes
from ctypes.util import find_library
from dataclasses import dataclass
import functools
import io
import math
import re
import threading
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from .zones import Zone, validate_zones

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "FILL_VALUE",
    "ComponentInfo",
    "FrameInfo",
    "FrameMasker",
    "MaskError",
    "block_mask",
    "component_block_sizes",
    "pixel_mask",
    "read_frame_info",
]

DEFAULT_MAX_PIXELS: Final = 4096 * 4096  # 16 MP
DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024  # 10 MiB
MAX_SCANS: Final = 100  # progressive JPEGs have about 10; more is a scan bomb
MAX_SEGMENTS: Final = 256  # marker segments before the first scan
FILL_VALUE: Final = 128  # sample value of an all-zero DCT block: mid-grey
FALLBACK_QUALITY: Final = 90

# Reasons carried by MaskError.
REASON_DECODE: Final = "decode"  # not a JPEG, malformed or corrupt data
REASON_TRUNCATED: Final = "truncated"  # the data ends before the image does
REASON_TOO_LARGE: Final = "too_large"  # bytes, pixels or scans over the bounds
REASON_UNSUPPORTED: Final = "unsupported"  # e.g. 12-bit, lossless, hierarchical
REASON_CODEC: Final = "codec"  # libturbojpeg cannot be loaded
REASON_MASK: Final = "mask"  # the mask could not be verified as applied
REASON_TIMEOUT: Final = "timeout"  # masking took longer than the caller waits

_DCTSIZE: Final = 8
_BLOCK_BYTES: Final = 64 * 2  # 64 coefficients of type short (int16)

# JPEG markers (ITU T.81, table B.1).
_SOI: Final = 0xD8
_EOI: Final = 0xD9
_SOS: Final = 0xDA
_TEM: Final = 0x01
_RST0: Final = 0xD0
_RST7: Final = 0xD7
_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Baseline, extended, progressive; Huffman or arithmetic coding.
_SUPPORTED_SOF: Final = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
_PROGRESSIVE_SOF: Final = frozenset({0xC2, 0xCA})
_FILL_BYTES: Final = re.compile(rb"\xff+")
_BAD_MARKERS: Final = frozenset({0x00, _SOI, _EOI})  # never start a segment


class MaskError(Exception):
    """A frame could not be validated or masked; it must be dropped.

    ``reason`` is one of ``"decode"``, ``"truncated"``, ``"too_large"``,
    ``"unsupported"``, ``"codec"`` and ``"mask"``.
    """

    reason: str

    def __init__(self, reason: str, detail: str = "") -> None:
        """Create the error from a short reason and an optional detail."""
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


# --------------------------------------------------------------------------
# Header parsing (pure Python, bounded work)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComponentInfo:
    """One colour component of a frame: its id and sampling factors."""

    component_id: int
    h_samp: int
    v_samp: int


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """What the header of a JPEG frame says, read without decoding it."""

    width: int
    height: int
    precision: int
    sof_marker: int
    components: tuple[ComponentInfo, ...]

    @property
    def progressive(self) -> bool:
        """Whether the frame is a progressive JPEG."""
        return self.sof_marker in _PROGRESSIVE_SOF


def read_frame_info(
    jpeg: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FrameInfo:
    """Read and bound-check a JPEG header without decoding any pixel.

    Checks: byte size, SOI, well-formed marker segments up to the first
    scan, exactly one supported frame header, dimensions and pixel count,
    number of scans and the presence of an end-of-image marker after the
    first scan (a frame cut short has none). Raises MaskError.
    """
    size = len(jpeg)
    if size > max_bytes:
        raise MaskError(REASON_TOO_LARGE, f"{size} bytes")
    if size < 4 or jpeg[0] != 0xFF or jpeg[1] != _SOI:
        raise MaskError(REASON_DECODE, "not a JPEG")
    pos = 2
    sof: tuple[int, bytes] | None = None
    for _ in range(MAX_SEGMENTS):
        marker, start, end = _next_segment(jpeg, pos)
        if marker in _SOF_MARKERS:
            if sof is not None:
                raise MaskError(REASON_DECODE, "more than one frame header")
            sof = (marker, jpeg[start:end])
        elif marker == _SOS:
            if sof is None:
                raise MaskError(REASON_DECODE, "scan before frame header")
            info = _parse_sof(*sof)
            if info.width * info.height > max_pixels:
                raise MaskError(REASON_TOO_LARGE, f"{info.width}x{info.height}")
            # Scan bombs: each scan of a progressive JPEG costs a pass over
            # the whole image. (Counting is O(n); sequential frames skip it.)
            if info.progressive and jpeg.count(b"\xff\xda", pos) > MAX_SCANS:
                raise MaskError(REASON_TOO_LARGE, "too many scans")
            # Entropy-coded data stuffs every 0xFF byte, so an EOI after the
            # first scan header can only be the real end of the image.
            if jpeg.rfind(b"\xff\xd9", end) < 0:
                raise MaskError(REASON_TRUNCATED, "no end of image")
            return info
        pos = end
    raise MaskError(REASON_DECODE, "too many marker segments")


def _next_segment(jpeg: bytes, pos: int) -> tuple[int, int, int]:
    """Read the marker segment at ``pos``: ``(marker, payload start, end)``.

    Standalone markers (TEM, RSTn) have an empty payload. Raises MaskError.
    """
    size = len(jpeg)
    if pos + 4 <= size and jpeg[pos] == 0xFF and jpeg[pos + 1] != 0xFF:
        pos += 1  # the common case: no fill bytes
    else:
        fill = _FILL_BYTES.match(jpeg, pos)  # a marker: 0xFF (more 0xFF) code
        if fill is None:
            if pos >= size:
                raise MaskError(REASON_TRUNCATED, "header")
            raise MaskError(REASON_DECODE, f"no marker at offset {pos}")
        pos = fill.end()
        if pos >= size:
            raise MaskError(REASON_TRUNCATED, "header")
    marker = jpeg[pos]
    pos += 1
    if marker == _TEM or _RST0 <= marker <= _RST7:
        return marker, pos, pos
    if marker in _BAD_MARKERS:
        raise MaskError(REASON_DECODE, f"unexpected marker 0x{marker:02x}")
    if pos + 2 > size:
        raise MaskError(REASON_TRUNCATED, "header")
    length = jpeg[pos] << 8 | jpeg[pos + 1]
    end = pos + length
    if end > size:
        raise MaskError(REASON_TRUNCATED, "header")
    if length < 2:
        raise MaskError(REASON_DECODE, "bad segment length")
    return marker, pos + 2, end


def _parse_sof(marker: int, payload: bytes) -> FrameInfo:
    """Parse a frame header (SOFn) payload. Raises MaskError."""
    if len(payload) < 6:
        raise MaskError(REASON_DECODE, "short frame header")
    precision = payload[0]
    height = int.from_bytes(payload[1:3], "big")
    width = int.from_bytes(payload[3:5], "big")
    count = payload[5]
    if len(payload) != 6 + 3 * count or count == 0:
        raise MaskError(REASON_DECODE, "bad frame header")
    if marker not in _SUPPORTED_SOF:
        raise MaskError(REASON_UNSUPPORTED, f"frame type 0x{marker:02x}")
    if precision != 8:
        raise MaskError(REASON_UNSUPPORTED, f"{precision}-bit samples")
    if width == 0 or height == 0:
        raise MaskError(REASON_UNSUPPORTED, "zero or deferred (DNL) dimensions")
    components: list[ComponentInfo] = []
    for i in range(count):
        component_id, sampling = payload[6 + 3 * i], payload[7 + 3 * i]
        h_samp, v_samp = sampling >> 4, sampling & 0x0F
        if not (1 <= h_samp <= 4 and 1 <= v_samp <= 4):
            raise MaskError(REASON_DECODE, "bad sampling factors")
        components.append(ComponentInfo(component_id, h_samp, v_samp))
    if count not in {1, 3, 4}:
        raise MaskError(REASON_UNSUPPORTED, f"{count} components")
    return FrameInfo(width, height, precision, marker, tuple(components))


def component_block_sizes(info: FrameInfo) -> tuple[tuple[int, int], ...]:
    """Return the size in pixels of one 8x8 DCT block of each component.

    Sizes are ``(width, height)``, e.g. ``((8, 8), (16, 16), (16, 16))`` for
    4:2:0.

    Raises MaskError("unsupported") for sampling factors whose ratio is not
    an integer (libjpeg cannot decode those either).
    """
    if len(info.components) == 1:
        return ((_DCTSIZE, _DCTSIZE),)  # sampling factors mean nothing here
    h_max = max(c.h_samp for c in info.components)
    v_max = max(c.v_samp for c in info.components)
    sizes: list[tuple[int, int]] = []
    for c in info.components:
        if h_max % c.h_samp or v_max % c.v_samp:
            raise MaskError(REASON_UNSUPPORTED, "fractional sampling factors")
        sizes.append((_DCTSIZE * h_max // c.h_samp, _DCTSIZE * v_max // c.v_samp))
    return tuple(sizes)


def _fast_path_ok(info: FrameInfo) -> bool:
    """Whether tjTransform of libjpeg-turbo 2.1 and 3.x handles the frame.

    Greyscale, or three components with 1x1 chroma and luma sampled 1x1
    (4:4:4), 2x1 (4:2:2), 2x2 (4:2:0), 1x2 (4:4:0) or 4x1 (4:1:1).
    """
    comps = info.components
    if len(comps) == 1:
        return True
    if len(comps) != 3 or any((c.h_samp, c.v_samp) != (1, 1) for c in comps[1:]):
        return False
    return (comps[0].h_samp, comps[0].v_samp) in {
        (1, 1),
        (2, 1),
        (2, 2),
        (1, 2),
        (4, 1),
    }


# --------------------------------------------------------------------------
# Geometry: polygons -> block masks
# --------------------------------------------------------------------------


def _mark_polygon(
    grid: npt.NDArray[np.bool_],
    points: Sequence[tuple[float, float]],
    sx: float,
    sy: float,
) -> None:
    """Set every cell of ``grid`` whose open interior meets the polygon.

    Cell (row r, column c) is the open square (c, c+1) x (r, r+1) once the
    polygon is scaled by (sx, sy) into cell units. A cell meets the polygon
    iff an edge passes through its interior or its centre is inside the
    polygon (then the whole cell is); edges lying on cell boundaries alone
    mark nothing. Exact up to floating-point rounding.
    """
    rows, cols = grid.shape
    xs: npt.NDArray[np.float64] = np.array(
        [p[0] * sx for p in points], dtype=np.float64
    )
    ys: npt.NDArray[np.float64] = np.array(
        [p[1] * sy for p in points], dtype=np.float64
    )

    # 1. Cells whose centre is inside (even-odd rule; the polygon is simple).
    cx = np.arange(cols, dtype=np.float64) + 0.5
    cy = np.arange(rows, dtype=np.float64) + 0.5
    inside = np.zeros((rows, cols), dtype=np.bool_)
    x0s, y0s, x1s, y1s = xs, ys, np.roll(xs, -1), np.roll(ys, -1)
    for x0, y0, x1, y1 in zip(x0s, y0s, x1s, y1s, strict=True):
        if y0 == y1:
            continue
        crosses = (cy >= min(y0, y1)) & (cy < max(y0, y1))
        if not crosses.any():
            continue
        x_at = x0 + (cy[crosses] - y0) * (x1 - x0) / (y1 - y0)
        inside[crosses] ^= cx[None, :] < x_at[:, None]
    grid |= inside

    # 2. Cells whose interior an edge passes through. For each column strip
    # (c, c+1) the edge spans, the rows are those whose open interval meets
    # the edge's closed y-range over the strip: floor(lo) .. ceil(hi) - 1.
    diff = np.zeros((rows + 1, cols), dtype=np.int32)
    for x0, y0, x1, y1 in zip(x0s, y0s, x1s, y1s, strict=True):
        xlo, xhi = min(x0, x1), max(x0, x1)
        c_first, c_last = math.floor(xlo), math.ceil(xhi) - 1
        if x0 == x1:
            c_last = c_first if xlo != c_first else c_first - 1
        c_first, c_last = max(c_first, 0), min(c_last, cols - 1)
        if c_first > c_last:
            continue
        col = np.arange(c_first, c_last + 1)
        ya: npt.NDArray[np.float64]
        yb: npt.NDArray[np.float64]
        if x0 == x1:  # vertical: inside a single column strip
            ya, yb = np.array([y0]), np.array([y1])
        else:
            xa = np.clip(col.astype(np.float64), xlo, xhi)
            xb = np.clip(col + 1.0, xlo, xhi)
            slope = (y1 - y0) / (x1 - x0)
            ya = np.where(xa == x0, y0, np.where(xa == x1, y1, y0 + (xa - x0) * slope))
            yb = np.where(xb == x0, y0, np.where(xb == x1, y1, y0 + (xb - x0) * slope))
        lo, hi = np.minimum(ya, yb), np.maximum(ya, yb)
        r_first = np.clip(np.floor(lo).astype(np.int64), 0, rows)
        r_end = np.clip(np.ceil(hi).astype(np.int64), 0, rows)  # exclusive
        keep = r_end > r_first
        np.add.at(diff, (r_first[keep], col[keep]), 1)
        np.add.at(diff, (r_end[keep], col[keep]), -1)
    grid |= np.cumsum(diff, axis=0)[:rows] > 0


def block_mask(
    zones: Iterable[Zone], width: int, height: int, block_w: int = 8, block_h: int = 8
) -> npt.NDArray[np.bool_]:
    """Which blocks of a ``width`` x ``height`` frame the enabled zones mask.

    Blocks are ``block_w`` x ``block_h`` pixels (the last row and column may
    be cut by the frame edge); the result has shape
    ``(ceil(height / block_h), ceil(width / block_w))``. A block is masked
    when an enabled zone's polygon overlaps it by a positive area.
    """
    rows, cols = -(-height // block_h), -(-width // block_w)
    grid = np.zeros((rows, cols), dtype=np.bool_)
    for zone in zones:
        if zone.enabled:
            _mark_polygon(grid, zone.points, width / block_w, height / block_h)
    return grid


def pixel_mask(
    zones: Iterable[Zone], width: int, height: int, block_w: int = 8, block_h: int = 8
) -> npt.NDArray[np.bool_]:
    """Return the ``(height, width)`` pixels covered by :func:`block_mask`."""
    grid = block_mask(zones, width, height, block_w, block_h)
    full = np.repeat(np.repeat(grid, block_h, axis=0), block_w, axis=1)
    return full[:height, :width]


# --------------------------------------------------------------------------
# libturbojpeg through ctypes: the TurboJPEG 2 API, which 2.x and 3.x export
# --------------------------------------------------------------------------

_TJXOP_NONE: Final = 0  # tjtransform.op: no spatial transform
_TJXOPT_COPYNONE: Final = 64  # tjtransform.options: copy no APPn/COM marker
_TJFLAG_STOPONWARNING: Final = 8192  # a libjpeg warning aborts the call
_TJFLAG_LIMITSCANS: Final = 32768  # refuse progressive JPEGs with > 500 scans
_TJ_FLAGS: Final = _TJFLAG_STOPONWARNING | _TJFLAG_LIMITSCANS
_TJPF_RGB: Final = 0  # pixel format: packed 8-bit R, G, B
_TJSAMP_420: Final = 2

_LIBRARY_NAMES: Final = (
    "libturbojpeg.so.0",
    "libturbojpeg.so",
    "libturbojpeg.0.dylib",
    "libturbojpeg.dylib",
    "/usr/local/opt/jpeg-turbo/lib/libturbojpeg.dylib",
    "/opt/homebrew/opt/jpeg-turbo/lib/libturbojpeg.dylib",
    "turbojpeg.dll",
)


class _TJRegion(ctypes.Structure):
    """``tjregion``: a rectangle, in pixels (coefficients for the filter)."""

    _fields_ = (
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("w", ctypes.c_int),
        ("h", ctypes.c_int),
    )
    x: int
    y: int
    w: int
    h: int


# int customFilter(short *coeffs, tjregion arrayRegion, tjregion planeRegion,
#                  int componentIndex, int transformIndex,
#                  tjtransform *transform);
# libjpeg-turbo 2.1 and 3.x call it once per block row of each component:
# coeffs points at arrayRegion.w / 8 consecutive blocks of 64 shorts (natural
# order, quantised), arrayRegion.y is the row's offset in coefficients and
# planeRegion the component's size. Returning -1 aborts the transform.
_CUSTOM_FILTER = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    _TJRegion,
    _TJRegion,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_void_p,
)


class _TJTransform(ctypes.Structure):
    """``tjtransform``: one lossless transform and its custom filter."""

    _fields_ = (
        ("r", _TJRegion),
        ("op", ctypes.c_int),
        ("options", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("customFilter", _CUSTOM_FILTER),
    )


_c_void_p_p = ctypes.POINTER(ctypes.c_void_p)
_c_ulong_p = ctypes.POINTER(ctypes.c_ulong)


class _TurboJPEG:
    """The few TurboJPEG functions Peephole calls, with their C prototypes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lib = lib = ctypes.CDLL(name)  # kept: the library stays loaded
        # tjhandle tjInitTransform(void); tjhandle tjInitCompress(void);
        self.init_transform = lib.tjInitTransform
        self.init_transform.argtypes = ()
        self.init_transform.restype = ctypes.c_void_p
        self.init_compress = lib.tjInitCompress
        self.init_compress.argtypes = ()
        self.init_compress.restype = ctypes.c_void_p
        # int tjDestroy(tjhandle handle);
        self.destroy = lib.tjDestroy
        self.destroy.argtypes = (ctypes.c_void_p,)
        self.destroy.restype = ctypes.c_int
        # void tjFree(unsigned char *buffer);
        self.free = lib.tjFree
        self.free.argtypes = (ctypes.c_void_p,)
        self.free.restype = None
        # char *tjGetErrorStr2(tjhandle handle);
        self.error_str = lib.tjGetErrorStr2
        self.error_str.argtypes = (ctypes.c_void_p,)
        self.error_str.restype = ctypes.c_char_p
        # int tjTransform(tjhandle handle, const unsigned char *jpegBuf,
        #   unsigned long jpegSize, int n, unsigned char **dstBufs,
        #   unsigned long *dstSizes, tjtransform *transforms, int flags);
        # tjTransform is called with the GIL held (a PyDLL view of the same
        # library): it calls back into Python once per block row, and with
        # the GIL released each callback would have to win it back, which
        # takes up to the 5 ms switch interval whenever another thread runs
        # Python. Holding it costs other threads ~1 ms per 800x600 frame.
        self.transform = ctypes.PyDLL(name).tjTransform
        self.transform.argtypes = (
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_int,
            _c_void_p_p,
            _c_ulong_p,
            ctypes.POINTER(_TJTransform),
            ctypes.c_int,
        )
        self.transform.restype = ctypes.c_int
        # int tjCompress2(tjhandle handle, const unsigned char *srcBuf,
        #   int width, int pitch, int height, int pixelFormat,
        #   unsigned char **jpegBuf, unsigned long *jpegSize,
        #   int jpegSubsamp, int jpegQual, int flags);
        self.compress = lib.tjCompress2
        self.compress.argtypes = (
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            _c_void_p_p,
            _c_ulong_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
        )
        self.compress.restype = ctypes.c_int
        self._local = threading.local()

    def handle(self, kind: str) -> int:
        """Return this thread's TurboJPEG instance of ``kind``.

        ``kind`` is ``"transform"`` or ``"compress"``.

        Instances are not thread-safe, so each thread gets its own, created
        on first use and destroyed when the thread ends.
        """
        holder: _Handle | None = getattr(self._local, kind, None)
        if holder is None:
            init = self.init_transform if kind == "transform" else self.init_compress
            value = init()
            if not value:
                raise MaskError(REASON_CODEC, "cannot create a TurboJPEG instance")
            holder = _Handle(self, value)
            setattr(self._local, kind, holder)
        return holder.value

    def error(self, handle: int) -> str:
        """Return the last error message of a TurboJPEG instance."""
        message: bytes | None = self.error_str(handle)
        return message.decode(errors="replace") if message else "unknown error"

    def take_output(
        self, handle: int, status: int, buffer: ctypes.c_void_p, size: ctypes.c_ulong
    ) -> bytes:
        """Check a call's status, copy the buffer it allocated, free it.

        Raises MaskError("decode") with the codec's message if the call
        failed (a libjpeg warning counts as failure) or produced nothing.
        """
        try:
            if status != 0:
                raise MaskError(REASON_DECODE, self.error(handle))
            if not buffer.value or not size.value:
                raise MaskError(REASON_DECODE, "codec produced no output")
            return ctypes.string_at(buffer.value, size.value)
        finally:
            if buffer.value:
                self.free(buffer)


class _Handle:
    """Owns a TurboJPEG instance and destroys it with the owning thread."""

    def __init__(self, tj: _TurboJPEG, value: int) -> None:
        self.tj = tj
        self.value = value

    def __del__(self) -> None:
        self.tj.destroy(self.value)


_TJ_LOCK = threading.Lock()
_TJ: _TurboJPEG | None = None


def _turbojpeg() -> _TurboJPEG:
    """Load libturbojpeg once. Raises MaskError("codec") when unavailable."""
    global _TJ  # noqa: PLW0603 - a process-wide library handle
    if _TJ is not None:
        return _TJ
    with _TJ_LOCK:
        if _TJ is None:
            _TJ = _TurboJPEG(_load_library())
        return _TJ


def _load_library() -> str:
    """Find libturbojpeg (2.0 or newer); return the name that loads it."""
    for name in _library_names():
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, "tjGetErrorStr2"):  # added in 2.0, kept in 3.x
            return name
    raise MaskError(REASON_CODEC, "libturbojpeg (2.0 or newer) not found")


def _library_names() -> Iterator[str]:
    """Candidate names: the usual ones, then what the system search finds."""
    yield from _LIBRARY_NAMES
    found = find_library("turbojpeg")  # runs ldconfig/gcc: only as a last resort
    if found:
        yield found


def load_codec() -> None:
    """Load libturbojpeg now, so a missing library shows at set-up time.

    Raises MaskError("codec") when it cannot be loaded.
    """
    _turbojpeg()


# --------------------------------------------------------------------------
# The masker
# --------------------------------------------------------------------------

# Zero bytes copied over masked coefficients; runs are cut to this length.
_ZEROS: Final = memoryview(bytes(512 * _BLOCK_BYTES))  # 64 KiB

# (bytes to zero, as many zero bytes) runs over one component's coefficients.
type _Runs = tuple[tuple[slice, memoryview], ...]


@dataclass(frozen=True, slots=True)
class _ComponentPlan:
    """What to zero in the coefficient array of one component."""

    blocks_w: int  # blocks per row, without libjpeg's padding blocks
    blocks_h: int  # block rows, without libjpeg's padding rows
    stride: int  # bytes from one row to the next (padding blocks included)
    array: type[ctypes.Array[ctypes.c_ubyte]]  # the rows, as bytes
    runs: _Runs  # masked blocks, in memory order (merged across full rows)
    blocks: int  # masked blocks


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to zero in the coefficients of one frame geometry."""

    components: tuple[_ComponentPlan, ...]
    heights: tuple[int, ...]  # blocks_h per component (read per block row)
    masked_blocks: int  # over all components
    pixels: npt.NDArray[np.bool_]  # pixels painted by the fallback path


def _runs(blocks: npt.NDArray[np.bool_]) -> _Runs:
    """Byte runs covering the True blocks of a row-major block array."""
    flat = blocks.ravel().view(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flat, [0]))))
    chunk = len(_ZEROS)
    runs: list[tuple[slice, memoryview]] = []
    bounds: list[int] = [int(edge) * _BLOCK_BYTES for edge in edges]
    for start, end in zip(bounds[0::2], bounds[1::2], strict=True):
        for at in range(start, end, chunk):
            stop = min(at + chunk, end)
            runs.append((slice(at, stop), _ZEROS[: stop - at]))
    return tuple(runs)


def _geometry_ok(plan: _ComponentPlan, array: _TJRegion, plane: _TJRegion) -> bool:
    """Whether libjpeg's view of a component is the one planned for."""
    return (
        plane.w == plan.blocks_w * _DCTSIZE
        and plane.h == plan.blocks_h * _DCTSIZE
        and array.x == 0
        and array.w == plane.w
        and array.h == _DCTSIZE
    )


def _zero_blocks(plan: _ComponentPlan, rows: list[int]) -> int:
    """Zero a component's masked blocks once libjpeg has shown all its rows.

    ``rows`` holds the address of every block row, in order. libjpeg-turbo
    keeps each component's coefficients in memory, in one piece, until it
    encodes them after the last filter call, so one write per run of masked
    blocks, merged across rows, does; the row addresses prove that layout
    before anything is written (else this raises). Only masked blocks are
    written, never padding. Returns the blocks zeroed.
    """
    base, stride = rows[0], plan.stride
    if rows != list(range(base, base + plan.blocks_h * stride, stride)):
        raise MaskError(REASON_MASK, "coefficient rows are not contiguous")
    with memoryview(plan.array.from_address(base)) as raw, raw.cast("B") as array:
        for where, zeros in plan.runs:
            array[where] = zeros
    return plan.blocks


class FrameMasker:
    """Masks the enabled zones of one camera in JPEG frames.

    Zones are fixed for the life of the instance (build a new one when they
    change). :meth:`mask` is blocking and thread-safe: call it from an
    executor. Block masks are cached per frame geometry.
    """

    def __init__(
        self,
        zones: Sequence[Zone],
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        """Validate the zones (raises ZoneError) and set the frame bounds."""
        if max_pixels < 1 or max_bytes < 1:
            raise ValueError("max_pixels and max_bytes must be positive")
        validate_zones(zones)
        self._zones = tuple(zones)
        self._enabled = tuple(z for z in self._zones if z.enabled)
        self._max_pixels = max_pixels
        self._max_bytes = max_bytes
        self._plan = functools.lru_cache(maxsize=8)(self._make_plan)

    @property
    def active(self) -> bool:
        """Whether any zone is enabled (otherwise frames pass unchanged)."""
        return bool(self._enabled)

    @property
    def zones(self) -> tuple[Zone, ...]:
        """All zones, enabled or not."""
        return self._zones

    def mask(self, jpeg: bytes | bytearray | memoryview) -> bytes:
        """Return ``jpeg`` with every enabled zone burned in.

        With no enabled zone the frame is only validated and returned as is.
        Raises MaskError for any frame that cannot be validated or masked:
        the caller must drop it.
        """
        if not isinstance(jpeg, bytes):
            jpeg = bytes(jpeg)  # a private copy nobody can change under us
        info = read_frame_info(
            jpeg, max_pixels=self._max_pixels, max_bytes=self._max_bytes
        )
        if not self._enabled:
            return jpeg
        block_sizes = component_block_sizes(info)
        h_samps = tuple(c.h_samp for c in info.components)
        plan = self._plan(info.width, info.height, block_sizes, h_samps)
        if _fast_path_ok(info):
            return self._mask_coefficients(jpeg, plan)
        return self._mask_pixels(jpeg, info, plan)

    def _make_plan(
        self,
        width: int,
        height: int,
        block_sizes: tuple[tuple[int, int], ...],
        h_samps: tuple[int, ...],
    ) -> _Plan:
        """Compute the block masks of one frame geometry.

        ``h_samps`` are the components' horizontal sampling factors: libjpeg
        pads each row of a component's coefficient array to a multiple of
        it (whole MCUs), and the last iMCU row by up to v_samp - 1 <= 3
        block rows. The filter is called on padding rows too; padding is
        never written out, so nothing is zeroed there.
        """
        components: list[_ComponentPlan] = []
        for (block_w, block_h), h_samp in zip(block_sizes, h_samps, strict=True):
            grid = block_mask(self._enabled, width, height, block_w, block_h)
            blocks_h, blocks_w = grid.shape
            padded = np.zeros((blocks_h, -(-blocks_w // h_samp) * h_samp), np.bool_)
            padded[:, :blocks_w] = grid
            components.append(
                _ComponentPlan(
                    blocks_w,
                    blocks_h,
                    padded.shape[1] * _BLOCK_BYTES,
                    ctypes.c_ubyte * (padded.size * _BLOCK_BYTES),
                    _runs(padded),
                    int(grid.sum()),
                )
            )
        return _Plan(
            tuple(components),
            tuple(c.blocks_h for c in components),
            sum(c.blocks for c in components),
            pixel_mask(self._enabled, width, height),
        )

    @staticmethod
    def _mask_coefficients(jpeg: bytes, plan: _Plan) -> bytes:
        """Zero the masked blocks in a lossless transform (the fast path)."""
        components, heights = plan.components, plan.heights
        rows: tuple[list[int], ...] = tuple([] for _ in components)
        masked = [0]  # blocks zeroed, over all components

        def custom_filter(
            coeffs: int,
            array_region: _TJRegion,
            plane_region: _TJRegion,
            component: int,
            _transform_index: int,
            _transform: int | None,
        ) -> int:
            # Called per block row of each component: keep it lean, it is
            # the only Python in the loop. It only records where each row
            # is; the last row of a component zeroes that component. Anything
            # unexpected returns -1, which aborts the transform.
            try:
                seen = rows[component]
                y = array_region.y
                if y != len(seen) << 3:
                    return -1  # rows come in order, each once
                seen.append(coeffs)
                if y == 0 and not _geometry_ok(
                    components[component], array_region, plane_region
                ):
                    return -1  # not the geometry we planned for
                if len(seen) == heights[component]:  # (padding rows follow)
                    masked[0] += _zero_blocks(components[component], seen)
            except Exception:  # noqa: BLE001 - must not unwind through C
                return -1
            return 0

        callback = _CUSTOM_FILTER(custom_filter)
        transform = _TJTransform()
        transform.op = _TJXOP_NONE
        transform.options = _TJXOPT_COPYNONE
        transform.customFilter = callback
        output = _run_transform(_turbojpeg(), jpeg, transform)
        if masked[0] != plan.masked_blocks:
            raise MaskError(
                REASON_MASK, f"masked {masked[0]} of {plan.masked_blocks} blocks"
            )
        return output

    @staticmethod
    def _mask_pixels(jpeg: bytes, info: FrameInfo, plan: _Plan) -> bytes:
        """Decode with Pillow, paint, encode with TurboJPEG (the fallback)."""
        try:
            with Image.open(io.BytesIO(jpeg), formats=("JPEG",)) as image:
                pixels = np.array(image.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise MaskError(REASON_DECODE, str(err)) from err
        if pixels.shape != (info.height, info.width, 3):
            raise MaskError(REASON_DECODE, "size differs from header")
        pixels[plan.pixels] = FILL_VALUE
        return _compress_rgb(_turbojpeg(), pixels)


def _run_transform(tj: _TurboJPEG, jpeg: bytes, transform: _TJTransform) -> bytes:
    """Run tjTransform with one transform. Raises MaskError."""
    handle = tj.handle("transform")
    buffer = ctypes.c_void_p()
    size = ctypes.c_ulong(0)
    status = tj.transform(
        handle,
        jpeg,
        len(jpeg),
        1,
        ctypes.byref(buffer),
        ctypes.byref(size),
        ctypes.byref(transform),
        _TJ_FLAGS,
    )
    # Any warning counts as failure: the frame is corrupt or cut short.
    return tj.take_output(handle, status, buffer, size)


def _compress_rgb(tj: _TurboJPEG, pixels: npt.NDArray[np.uint8]) -> bytes:
    """Encode an (h, w, 3) RGB array as a 4:2:0 JPEG. Raises MaskError."""
    height, width, _ = pixels.shape
    pixels = np.ascontiguousarray(pixels)
    handle = tj.handle("compress")
    buffer = ctypes.c_void_p()
    size = ctypes.c_ulong(0)
    status = tj.compress(
        handle,
        pixels.ctypes.data,
        width,
        width * 3,
        height,
        _TJPF_RGB,
        ctypes.byref(buffer),
        ctypes.byref(size),
        _TJSAMP_420,
        FALLBACK_QUALITY,
        0,
    )
    return tj.take_output(handle, status, buffer, size)


def lossless_transform(jpeg: bytes) -> bytes:
    """Run a bare lossless tjTransform of ``jpeg`` (no filter, no metadata).

    The codec's floor for the masking fast path; used by the benchmark.
    Raises MaskError.
    """
    transform = _TJTransform()
    transform.op = _TJXOP_NONE
    transform.options = _TJXOPT_COPYNONE
    return _run_transform(_turbojpeg(), jpeg, transform)
