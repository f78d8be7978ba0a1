"""A synthetic camera scene whose every frame says which frame it is.

Each frame shows:

- a static textured background (a gradient and a grid, so the encoder has work);
- a bright disc that moves every frame (a bouncing path below the canary);
- a **frame-number barcode**: a band across the bottom of 28 black/white cells,
  ``[white, black, 16 bits of the frame number (MSB first), 8 check bits, black, white]``,
  wide enough to survive H.264 and JPEG; :func:`decode_frame_number` reads it back;
- the frame number and time as text (for people looking at the picture);
- a **canary**: a magenta/white checkerboard in a fixed rectangle
  (:func:`canary_rect`); a privacy zone drawn over it must hide it
  (:func:`canary_visible`).

The pictures are a pure function of the spec and the frame index, rendered with
numpy (and Pillow for the text), then encoded by the ffmpeg CLI: H.264 (libx264,
yuv420p, fixed GOP, no B-frames, parameter sets before every keyframe, as IP
cameras send them), the same in MP4, and MJPEG (concatenated JPEGs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import cached_property
import hashlib
import itertools
import json
import os
from pathlib import Path
import shutil
import subprocess
import tempfile
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from .h264 import AccessUnit, parameter_sets, split_access_units

type RGB = npt.NDArray[np.uint8]
type Profile = Literal["baseline", "main", "high"]

# Bump when the pictures or the encoding change, so cached renders are redone.
RENDER_VERSION = 3

FRAME_BITS = 16
CHECK_BITS = 8
MAX_FRAMES = 1 << FRAME_BITS
# Cells of the barcode band: white, black, data, check, black, white.
BARCODE_CELLS = 2 + FRAME_BITS + CHECK_BITS + 2
_CHECK_KEY = 0xA5
# Decoding needs this much contrast between the band's white and black markers.
_MIN_CONTRAST = 60

CANARY_A = (255, 0, 255)  # magenta
CANARY_B = (255, 255, 255)  # white
# The canary rectangle, as fractions of the frame (x0, y0, x1, y1).
CANARY_BOX = (0.60, 0.06, 0.90, 0.30)
# The moving disc stays in this band of the frame (fractions of the height).
_DISC_BAND = (0.36, 0.84)

MIN_WIDTH, MIN_HEIGHT = 160, 120


@dataclass(frozen=True, kw_only=True)
class SceneSpec:
    """What to render: picture size, frame rate, GOP, length and encoding."""

    width: int = 800
    height: int = 600
    fps: int = 15
    gop_seconds: float = 2.0
    duration: float = 10.0
    profile: Profile = "main"
    crf: int = 23
    jpeg_quality: int = 4  # ffmpeg's -q:v for MJPEG (2 best .. 31 worst)
    # Temporal sensor noise (strength of ffmpeg's noise filter, 0 = none). The clean
    # scene encodes to ~0.4 Mbit/s at 1080p15 (crf 23); 6 gives ~2 and 7 ~4 Mbit/s,
    # what IP cameras send, for benchmarks whose decoding cost should be realistic.
    noise: int = 0

    def __post_init__(self) -> None:
        """Reject specs the scene cannot render or the barcode cannot count."""
        if self.width < MIN_WIDTH or self.height < MIN_HEIGHT:
            raise ValueError(f"size must be at least {MIN_WIDTH}x{MIN_HEIGHT}")
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (yuv420p)")
        if not 1 <= self.fps <= 120:
            raise ValueError("fps must be between 1 and 120")
        if self.gop_frames < 1:
            raise ValueError("gop_seconds must give at least one frame")
        if not 1 <= self.frames <= MAX_FRAMES:
            raise ValueError(f"duration must give 1 to {MAX_FRAMES} frames")
        if self.profile not in ("baseline", "main", "high"):
            raise ValueError("profile must be baseline, main or high")
        if not 0 <= self.noise <= 100:
            raise ValueError("noise must be between 0 and 100")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.width, self.height

    @property
    def frames(self) -> int:
        """Number of frames in the clip."""
        return round(self.duration * self.fps)

    @property
    def gop_frames(self) -> int:
        """Frames from one keyframe to the next."""
        return round(self.gop_seconds * self.fps)

    @property
    def frame_duration(self) -> Fraction:
        """Seconds per frame, exactly."""
        return Fraction(1, self.fps)

    def digest(self) -> str:
        """Return a short name for this spec's render (changes with RENDER_VERSION)."""
        payload = json.dumps(
            {"v": RENDER_VERSION, **asdict(self)}, sort_keys=True
        ).encode()
        return hashlib.sha256(payload).hexdigest()[:16]


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"1920x1080"`` into (1920, 1080)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise ValueError(f"size must look like 1920x1080, not {text!r}")
    return int(width), int(height)


# --- layout -------------------------------------------------------------------------


def barcode_rows(height: int) -> tuple[int, int]:
    """Return the rows (top, bottom exclusive) of the barcode band.

    The band is about 6 % of the picture's height (at least 8 rows) and the cells
    split the whole width evenly, so a scaled picture keeps the layout.
    """
    band = max(8, 2 * round(height * 0.03))
    return height - band, height


def barcode_cells(width: int) -> list[tuple[int, int]]:
    """Return the columns (left, right exclusive) of each barcode cell."""
    edges = [round(i * width / BARCODE_CELLS) for i in range(BARCODE_CELLS + 1)]
    return list(itertools.pairwise(edges))


def canary_rect(width: int, height: int) -> tuple[int, int, int, int]:
    """Return the canary's pixel rectangle (x0, y0, x1, y1 exclusive)."""
    x0, y0, x1, y1 = CANARY_BOX
    return (
        round(x0 * width),
        round(y0 * height),
        round(x1 * width),
        round(y1 * height),
    )


def _check(number: int) -> int:
    return ((number >> 8) ^ number ^ _CHECK_KEY) & 0xFF


def barcode_bits(number: int) -> list[int]:
    """Return the 28 cell values (1 = white) that encode a frame number."""
    if not 0 <= number < MAX_FRAMES:
        raise ValueError(f"frame number out of range: {number}")
    data = [(number >> (FRAME_BITS - 1 - i)) & 1 for i in range(FRAME_BITS)]
    check = _check(number)
    checks = [(check >> (CHECK_BITS - 1 - i)) & 1 for i in range(CHECK_BITS)]
    return [1, 0, *data, *checks, 0, 1]


# --- rendering ----------------------------------------------------------------------


@dataclass
class _Canvas:
    """Per-size drawing state: the static background and the font."""

    width: int
    height: int
    background: RGB = field(init=False)
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont = field(init=False)
    text_rows: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        w, h = self.width, self.height
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u, v = xx / (w - 1), yy / (h - 1)
        base = np.stack(
            [40 + 90 * u, 70 + 60 * v, 110 + 50 * (1 - u) * (1 - v)], axis=-1
        )
        grid = max(16, w // 24)
        lines = ((xx.astype(np.int32) % grid) < 2) | ((yy.astype(np.int32) % grid) < 2)
        base[lines] *= 0.7
        background = base.astype(np.uint8)
        x0, y0, x1, y1 = canary_rect(w, h)
        cell = max(8, w // 100)
        cy, cx = np.mgrid[y0:y1, x0:x1]
        checker = ((cx - x0) // cell + (cy - y0) // cell) % 2 == 0
        background[y0:y1, x0:x1][checker] = CANARY_A
        background[y0:y1, x0:x1][~checker] = CANARY_B
        self.background = background
        size = max(12, h // 24)
        try:
            self.font = ImageFont.load_default(size=size)
        except (TypeError, OSError):  # Pillow without FreeType: the bitmap font
            self.font = ImageFont.load_default()
        band_top, _ = barcode_rows(h)
        self.text_rows = (max(0, band_top - size - 12), band_top)


_CANVASES: dict[tuple[int, int], _Canvas] = {}


def _canvas(width: int, height: int) -> _Canvas:
    key = (width, height)
    if key not in _CANVASES:
        _CANVASES[key] = _Canvas(width, height)
    return _CANVASES[key]


def disc_center(spec: SceneSpec, index: int) -> tuple[float, float]:
    """Where the moving disc is in frame `index` (pixels), bouncing in its band."""
    t = index / spec.fps
    radius = spec.height * 0.06
    span_x = spec.width - 2 * radius
    top, bottom = (f * spec.height for f in _DISC_BAND)
    span_y = bottom - top - 2 * radius
    # Triangle waves: about 3 s across, 2.3 s down, so every frame moves.
    fx = (t / 3.0) % 2
    fy = (t / 2.3) % 2
    x = radius + span_x * (fx if fx <= 1 else 2 - fx)
    y = top + radius + span_y * (fy if fy <= 1 else 2 - fy)
    return x, y


def render_frame(spec: SceneSpec, index: int) -> RGB:
    """Frame `index` of the scene as an RGB array (height, width, 3)."""
    canvas = _canvas(spec.width, spec.height)
    frame = canvas.background.copy()
    w, h = spec.width, spec.height
    # The moving disc (yellow with a dark rim).
    cx, cy = disc_center(spec, index)
    radius = h * 0.06
    y0, y1 = max(0, int(cy - radius) - 1), min(h, int(cy + radius) + 2)
    x0, x1 = max(0, int(cx - radius) - 1), min(w, int(cx + radius) + 2)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    distance = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy)
    patch = frame[y0:y1, x0:x1]
    patch[distance <= radius] = (30, 30, 30)
    patch[distance <= radius * 0.85] = (250, 200, 40)
    # The frame number and time as text, above the barcode.
    top, bottom = canvas.text_rows
    strip = Image.fromarray(frame[top:bottom])
    draw = ImageDraw.Draw(strip)
    draw.rectangle((0, 0, w, bottom - top), fill=(0, 0, 0))
    draw.text(
        (8, 4),
        f"frame {index:05d}  t={index / spec.fps:.2f}s  {w}x{h}@{spec.fps}",
        fill=(255, 255, 255),
        font=canvas.font,
    )
    frame[top:bottom] = np.asarray(strip)
    # The barcode band.
    band_top, band_bottom = barcode_rows(h)
    frame[band_top:band_bottom] = (128, 128, 128)
    for (left, right), bit in zip(
        barcode_cells(w), barcode_bits(index % MAX_FRAMES), strict=True
    ):
        frame[band_top:band_bottom, left:right] = 255 if bit else 0
    return frame


def iter_frames(spec: SceneSpec) -> Iterator[RGB]:
    """Every frame of the clip, in order."""
    for index in range(spec.frames):
        yield render_frame(spec, index)


# --- reading pictures back ----------------------------------------------------------


def _luma(picture: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    if picture.ndim == 2:
        return picture.astype(np.float32)
    if picture.ndim == 3 and picture.shape[2] in (3, 4):
        rgb = picture[..., :3].astype(np.float32)
        return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    raise ValueError(
        f"expected an RGB (h, w, 3) or luma (h, w) array, not {picture.shape}"
    )


def decode_frame_number(picture: npt.NDArray[Any]) -> int | None:
    """Read the frame number from a decoded picture, or None if it cannot be read.

    `picture` holds 0-255 values (any dtype): RGB (height, width, 3), e.g. PyAV's
    ``frame.to_ndarray(format="rgb24")`` or a decoded JPEG, or a luma plane
    (height, width), e.g. ``frame.to_ndarray(format="gray")`` (not a whole yuv420p
    array: slice its first `height` rows). It works after H.264 and JPEG compression
    and after scaling the whole picture; a band whose markers or check bits do not
    match (masked, torn, not this scene) gives None.
    """
    luma = _luma(picture)
    height, width = luma.shape
    if height < MIN_HEIGHT // 2 or width < BARCODE_CELLS * 2:
        return None
    top, bottom = barcode_rows(height)
    inset = max(1, (bottom - top) // 4)
    rows = luma[top + inset : bottom - inset]
    levels = []
    for left, right in barcode_cells(width):
        margin = max(0, (right - left) // 4)
        levels.append(float(rows[:, left + margin : right - margin].mean()))
    white = (levels[0] + levels[-1]) / 2
    black = (levels[1] + levels[-2]) / 2
    if white - black < _MIN_CONTRAST:
        return None
    threshold = (white + black) / 2
    bits = [int(level > threshold) for level in levels]
    if bits[:2] != [1, 0] or bits[-2:] != [0, 1]:
        return None
    number = 0
    for bit in bits[2 : 2 + FRAME_BITS]:
        number = (number << 1) | bit
    check = 0
    for bit in bits[2 + FRAME_BITS : 2 + FRAME_BITS + CHECK_BITS]:
        check = (check << 1) | bit
    return number if check == _check(number) else None


def canary_visible(picture: npt.NDArray[Any], *, min_fraction: float = 0.05) -> bool:
    """Whether the canary's magenta shows in its rectangle (RGB picture).

    After H.264 or JPEG the magenta cells keep a strong magenta hue; a privacy zone
    that covers the rectangle leaves (almost) no such pixel. `min_fraction` is the
    share of the rectangle's pixels that must be near magenta.
    """
    if picture.ndim != 3 or picture.shape[2] < 3:
        raise ValueError("canary_visible needs an RGB picture")
    height, width = picture.shape[:2]
    x0, y0, x1, y1 = canary_rect(width, height)
    box = picture[y0:y1, x0:x1, :3].astype(np.int16)
    distance = np.abs(box - np.array(CANARY_A, dtype=np.int16)).sum(axis=-1)
    return bool((distance < 150).mean() >= min_fraction)


# --- encoding -----------------------------------------------------------------------


def ffmpeg_binary() -> str:
    """Return the path of the ffmpeg CLI on PATH."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise FileNotFoundError("ffmpeg is not installed (apt-get install ffmpeg)")
    return binary


def default_cache_dir() -> Path:
    """Where renders are kept between runs (a folder in the system's temp dir)."""
    return Path(tempfile.gettempdir()) / "peephole-streams"


def _x264_args(spec: SceneSpec) -> list[str]:
    gop = str(spec.gop_frames)
    return [
        "-c:v", "libx264",
        "-profile:v", spec.profile,
        "-preset", "veryfast",
        "-crf", str(spec.crf),
        "-pix_fmt", "yuv420p",
        "-g", gop,
        "-keyint_min", gop,
        "-sc_threshold", "0",
        "-bf", "0",
        "-x264-params", "repeat-headers=1",
    ]  # fmt: skip


def _encode(spec: SceneSpec, h264: Path, mjpeg: Path, ffmpeg: str) -> None:
    """Pipe the rendered frames into one ffmpeg that writes H.264 and MJPEG."""
    if spec.noise:
        # allf=t: new noise every frame (the filter's seed is fixed: deterministic).
        sources = ["[h]", "[j]"]
        filters = [
            "-filter_complex",
            f"[0:v]noise=alls={spec.noise}:allf=t,split=2[h][j]",
        ]
    else:
        sources, filters = ["0:v", "0:v"], []
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{spec.width}x{spec.height}", "-r", str(spec.fps),
        "-i", "-", *filters,
        "-map", sources[0], *_x264_args(spec), "-f", "h264", str(h264),
        "-map", sources[1], "-c:v", "mjpeg", "-q:v", str(spec.jpeg_quality),
        "-pix_fmt", "yuvj420p", "-f", "mjpeg", str(mjpeg),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.PIPE, stderr=errors
        )
        assert process.stdin is not None  # noqa: S101
        try:
            for frame in iter_frames(spec):
                process.stdin.write(frame.tobytes())
            process.stdin.close()
            process.wait(timeout=600)
        except BaseException:
            process.kill()
            process.wait()
            raise
        if process.returncode:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            raise RuntimeError(f"ffmpeg failed: {message}")


def _remux_mp4(spec: SceneSpec, h264: Path, mp4: Path, ffmpeg: str) -> None:
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "h264", "-r", str(spec.fps), "-i", str(h264),
        "-c", "copy", "-video_track_timescale", "90000",
        "-movflags", "+faststart", "-f", "mp4", str(mp4),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=300)  # noqa: S603


def split_jpegs(data: bytes) -> list[bytes]:
    """Split concatenated JPEGs (ffmpeg's ``-f mjpeg``) into pictures."""
    pictures = []
    start = 0
    while True:
        soi = data.find(b"\xff\xd8", start)
        if soi < 0:
            break
        eoi = data.find(b"\xff\xd9", soi + 2)
        if eoi < 0:
            break
        pictures.append(data[soi : eoi + 2])
        start = eoi + 2
    return pictures


@dataclass(frozen=True)
class SceneClip:
    """A rendered scene: its files and its H.264 access units in decode order."""

    spec: SceneSpec
    h264_path: Path
    mp4_path: Path
    mjpeg_path: Path

    @cached_property
    def access_units(self) -> Sequence[AccessUnit]:
        """The clip's access units (one per frame), from the Annex B file."""
        units = split_access_units(self.h264_path.read_bytes())
        if len(units) != self.spec.frames:
            raise ValueError(
                f"{self.h264_path.name}: {len(units)} access units, "
                f"expected {self.spec.frames}"
            )
        return units

    @cached_property
    def parameter_sets(self) -> tuple[bytes, bytes]:
        """The SPS and PPS NAL units (without start codes)."""
        return parameter_sets(self.access_units)

    @cached_property
    def jpegs(self) -> Sequence[bytes]:
        """The clip's frames as JPEG pictures."""
        pictures = split_jpegs(self.mjpeg_path.read_bytes())
        if len(pictures) != self.spec.frames:
            raise ValueError(
                f"{self.mjpeg_path.name}: {len(pictures)} pictures, "
                f"expected {self.spec.frames}"
            )
        return pictures

    def keyframe_indices(self) -> list[int]:
        """Return the indices of the frames that are keyframes (IDR)."""
        return [i for i, unit in enumerate(self.access_units) if unit.keyframe]

    def load(self) -> SceneClip:
        """Read everything into memory now (blocking); returns self."""
        _ = self.access_units, self.parameter_sets, self.jpegs
        return self


def render_scene(
    spec: SceneSpec, directory: Path | None = None, *, ffmpeg: str | None = None
) -> SceneClip:
    """Render and encode the scene, or reuse an earlier render of the same spec.

    Blocking (seconds to tens of seconds for long 1080p clips): call it from a thread
    or before the event loop runs. Files are written under temporary names and
    renamed, so concurrent renders of the same spec are safe.
    """
    directory = directory or default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"scene-{spec.width}x{spec.height}-{spec.fps}fps-{spec.digest()}"
    h264, mp4, mjpeg = (directory / f"{stem}.{ext}" for ext in ("h264", "mp4", "mjpeg"))
    if not (h264.exists() and mp4.exists() and mjpeg.exists()):
        binary = ffmpeg or ffmpeg_binary()
        token = f".tmp{os.getpid()}-{os.urandom(4).hex()}"
        tmp = [path.with_name(path.name + token) for path in (h264, mp4, mjpeg)]
        try:
            _encode(spec, tmp[0], tmp[2], binary)
            _remux_mp4(spec, tmp[0], tmp[1], binary)
            for source, target in zip(tmp, (h264, mp4, mjpeg), strict=True):
                source.replace(target)
        finally:
            for path in tmp:
                path.unlink(missing_ok=True)
    return SceneClip(spec, h264, mp4, mjpeg)


def frame_time(spec: SceneSpec, index: int) -> float:
    """Presentation time of frame `index` in seconds."""
    return index / spec.fps


def expected_keyframe(spec: SceneSpec, index: int) -> bool:
    """Whether frame `index` of the clip is a keyframe (every GOP, from 0)."""
    return index % spec.gop_frames == 0


__all__ = [
    "BARCODE_CELLS",
    "CANARY_A",
    "CANARY_B",
    "CANARY_BOX",
    "MAX_FRAMES",
    "SceneClip",
    "SceneSpec",
    "barcode_bits",
    "barcode_cells",
    "barcode_rows",
    "canary_rect",
    "canary_visible",
    "decode_frame_number",
    "default_cache_dir",
    "disc_center",
    "expected_keyframe",
    "ffmpeg_binary",
    "frame_time",
    "iter_frames",
    "parse_size",
    "render_frame",
    "render_scene",
    "split_jpegs",
]
