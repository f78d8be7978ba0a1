"""Video codec work on masked pictures: decode, mask, encode, mux (PyAV, libjpeg-turbo).

No Home Assistant imports. Everything here is blocking and runs in a worker thread
or the executor, never on the event loop. PyAV (the library Home Assistant's
``stream`` component uses) and PyTurboJPEG (the one its ``camera`` component uses)
do the codec work; both release the GIL while they do.

Pictures are YUV 4:2:0 (``yuv420p``) :class:`av.VideoFrame` objects. The only way
a decoded picture leaves this module is :func:`masked_picture`, which masks a copy.
"""

from __future__ import annotations

from collections.abc import Iterable
import contextlib
from dataclasses import dataclass
from fractions import Fraction
import functools
from pathlib import Path
import re
import threading
from typing import Any, Final, cast

import av
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType
import numpy as np
import numpy.typing as npt

from .yuv_masking import PictureError, PlaneMasker, plane_array

TIME_BASE: Final = Fraction(1, 90000)
PIXEL_FORMAT: Final = "yuv420p"
JPEG_PIXEL_FORMAT: Final = "yuvj420p"  # 4:2:0, full range
# One keyframe a second: a clip starts at most a second before its pre-roll
# asks, and a crash loses at most the last second (one fragment per keyframe).
GOP_SECONDS: Final = 1.0
JPEG_QUALITY: Final = 85
# x264's fastest preset, without lookahead or B-frames: a packet for every picture
# at once (no latency added), so one core keeps up with several doorbells.
X264_OPTIONS: Final = {"preset": "ultrafast", "tune": "zerolatency"}
MP4_OPTIONS: Final = {
    # A fragment per keyframe, written as it is complete: a kill at any moment
    # leaves a file that plays up to the last whole second.
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "flush_packets": "1",
}
_START_CODE: Final = re.compile(rb"\x00\x00\x01")
_NAL_SPS: Final = 7
_NAL_PPS: Final = 8


class VideoError(Exception):
    """A picture or packet could not be decoded, encoded or written."""


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One encoded (masked) picture: H.264 Annex B, parameter sets in keyframes."""

    time: float  # wall-clock time of the picture (epoch seconds)
    pts: int  # in TIME_BASE, from the encoder's start
    keyframe: bool
    data: bytes
    generation: int  # the masks' generation it was masked with
    width: int
    height: int


# --- pictures ---------------------------------------------------------------------


def _planes(frame: av.VideoFrame) -> list[npt.NDArray[np.uint8]]:
    """Writable arrays over the three planes of a yuv420p picture."""
    return [plane_array(plane, plane.height, plane.line_size) for plane in frame.planes]


def masked_picture(frame: av.VideoFrame, masker: PlaneMasker) -> av.VideoFrame:
    """Return a masked yuv420p copy of a decoded picture (``frame`` is not changed).

    Pictures of another pixel format are converted (a new picture); yuv420p ones
    are copied, since a decoder may still use the one it handed out. Raises
    PictureError when the picture cannot be masked: it must then be dropped.
    """
    width, height = frame.width, frame.height
    if width < 2 or height < 2:
        raise PictureError(f"a {width}x{height} picture")
    # Even sizes only (H.264 4:2:0 needs them): an odd last row or column goes.
    even_w, even_h = width & ~1, height & ~1
    try:
        if frame.format.name != PIXEL_FORMAT or (even_w, even_h) != (width, height):
            copy = frame.reformat(width=even_w, height=even_h, format=PIXEL_FORMAT)
            if copy is frame:  # pragma: no cover - reformat converts or copies
                raise PictureError("conversion did not copy")
        else:
            copy = av.VideoFrame(width, height, PIXEL_FORMAT)
            for source, target in zip(_planes(frame), _planes(copy), strict=True):
                rows = min(source.shape[0], target.shape[0])
                cols = min(source.shape[1], target.shape[1])
                target[:rows, :cols] = source[:rows, :cols]
    except (ValueError, av.FFmpegError) as err:
        raise PictureError(f"cannot convert the picture: {err}") from err
    if masker.active:
        masker.mask_planes(_planes(copy), copy.width, copy.height)
    return copy


def yuv_bytes(frame: av.VideoFrame) -> bytes:
    """Return the planes of a yuv420p picture packed without padding (Y, U, V)."""
    out = bytearray()
    for plane, array in zip(frame.planes, _planes(frame), strict=True):
        out += array[:, : plane.width].tobytes()
    return bytes(out)


@functools.cache
def _turbojpeg() -> Any:
    from turbojpeg import TurboJPEG  # noqa: PLC0415 - loads libturbojpeg

    return TurboJPEG()


_JPEG_LOCK = threading.Lock()


def jpeg_of(frame: av.VideoFrame, quality: int = JPEG_QUALITY) -> bytes:
    """Encode a (masked) yuv420p picture as a 4:2:0 JPEG with libjpeg-turbo."""
    from turbojpeg import TJSAMP_420  # noqa: PLC0415

    # JPEG samples are full range; video's are usually limited (16-235).
    data = yuv_bytes(frame.reformat(format=JPEG_PIXEL_FORMAT))
    with _JPEG_LOCK:  # one TurboJPEG handle; encoding a picture takes a few ms
        jpeg: bytes = _turbojpeg().encode_from_yuv(
            np.frombuffer(data, np.uint8),
            frame.height,
            frame.width,
            quality=quality,
            jpeg_subsample=TJSAMP_420,
        )
    return jpeg


class JpegDecoder:
    """Decodes (masked) JPEG frames into pictures, for the encoder."""

    def __init__(self) -> None:
        """Create the decoder."""
        self._codec = cast("VideoCodecContext", av.CodecContext.create("mjpeg", "r"))

    def decode(self, jpeg: bytes) -> av.VideoFrame:
        """Return the picture of one JPEG (any subsampling), or raise VideoError."""
        try:
            frames = self._codec.decode(av.Packet(jpeg))
        except av.FFmpegError as err:
            raise VideoError(f"cannot decode a frame: {err}") from err
        if not frames:
            raise VideoError("the frame decoded to nothing")
        frame: av.VideoFrame = frames[-1]
        return frame


# --- H.264 --------------------------------------------------------------------------


def parameter_sets(keyframe: bytes) -> bytes:
    """Return the SPS and PPS NAL units of an Annex B keyframe (with start codes)."""
    units = [unit.lstrip(b"\x00") for unit in _START_CODE.split(keyframe)]
    sets = [u for u in units if u and u[0] & 0x1F in (_NAL_SPS, _NAL_PPS)]
    if not any(u[0] & 0x1F == _NAL_SPS for u in sets):
        raise VideoError("a keyframe without parameter sets")
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in sets)


class H264Encoder:
    """libx264 at a fixed picture size; a keyframe every ``GOP_SECONDS``.

    Timestamps come from the pictures' own times (variable frame rate), so a
    clip plays at real speed however unevenly pictures arrive. Not thread-safe:
    one thread encodes.
    """

    def __init__(self, width: int, height: int, fps: float, start: float) -> None:
        """Open the encoder; ``start`` (epoch seconds) is pts 0."""
        self.width, self.height = width, height
        self.start = start
        self._last_pts = -1
        gop = max(round(fps * GOP_SECONDS), 1)
        self._gop_ticks = round(GOP_SECONDS / TIME_BASE)
        self._last_key_pts: int | None = None
        codec = cast("VideoCodecContext", av.CodecContext.create("libx264", "w"))
        codec.width, codec.height = width, height
        codec.pix_fmt = PIXEL_FORMAT
        codec.time_base = TIME_BASE
        codec.framerate = Fraction(max(round(fps), 1), 1)
        codec.options = {
            **X264_OPTIONS,
            "g": str(gop * 4),  # keyframes are forced by time (see encode)
            "keyint_min": "1",
            "sc_threshold": "0",
            "forced-idr": "1",
            # SPS and PPS in every keyframe: a clip or a stream can start at any.
            "x264-params": "repeat-headers=1",
        }
        self._codec = codec

    def encode(
        self,
        frame: av.VideoFrame,
        time: float,
        generation: int,
        *,
        keyframe: bool,
        media_time: float | None = None,
    ) -> list[EncodedPacket]:
        """Encode one masked picture taken at ``time``; return what came out.

        ``media_time`` (epoch seconds, default ``time``) places the picture on
        the video's timeline: a stream's own timestamps keep its pictures' exact
        spacing even when they arrive in a burst. ``keyframe`` forces one (a new
        generation of masks starts clean). A keyframe is also forced once a
        second of timestamps has passed since the last, so GOPs follow time, not
        picture counts.
        """
        if (frame.width, frame.height) != (self.width, self.height):
            frame = frame.reformat(width=self.width, height=self.height)
        at = time if media_time is None else media_time
        pts = max(round((at - self.start) / TIME_BASE), self._last_pts + 1)
        self._last_pts = pts
        if (
            keyframe
            or self._last_key_pts is None
            or pts - self._last_key_pts >= self._gop_ticks
        ):
            frame.pict_type = PictureType.I
            self._last_key_pts = pts
        else:
            frame.pict_type = PictureType.NONE
        frame.pts = pts
        frame.time_base = TIME_BASE
        try:
            packets = self._codec.encode(frame)
        except av.FFmpegError as err:
            raise VideoError(f"x264 failed: {err}") from err
        return [self._packet(packet, time, generation) for packet in packets]

    def _packet(self, packet: av.Packet, time: float, generation: int) -> EncodedPacket:
        return EncodedPacket(
            time=time,
            pts=int(packet.pts if packet.pts is not None else self._last_pts),
            keyframe=bool(packet.is_keyframe),
            data=bytes(packet),
            generation=generation,
            width=self.width,
            height=self.height,
        )


# --- MP4 -----------------------------------------------------------------------------


class Mp4Writer:
    """Writes encoded packets into a fragmented MP4 (blocking: run it in the executor).

    The first packet must be a keyframe; the file's timestamps start at it. Each
    packet is written once the next one is known (its duration is the time to
    it); :meth:`close` writes the last one with the duration of the one before.
    """

    def __init__(self, path: Path) -> None:
        """Prepare (the file is created with the first packet)."""
        self.path = path
        self._container: Any = None
        self._stream: Any = None
        self._first_pts = 0
        self._held: EncodedPacket | None = None
        self._last_duration = 0
        self._last_pts: int | None = None
        self.frames = 0
        self.first_time: float | None = None
        self.last_time: float | None = None
        self._lock = threading.Lock()  # a write and an abandon never overlap
        self._abandoned = False

    def write(self, packets: Iterable[EncodedPacket]) -> None:
        """Mux packets (raises OSError, e.g. ENOSPC, or VideoError)."""
        with self._lock:
            if self._abandoned:
                raise VideoError("the clip was given up")
            self._write_all(packets)

    def _write_all(self, packets: Iterable[EncodedPacket]) -> None:
        for packet in packets:
            held = self._held
            if held is not None and packet.pts <= held.pts:
                continue  # (the same packet twice: pre-roll overlapping live)
            if self._container is None:
                self._open(packet)
            elif held is not None:
                self._write(held, packet.pts - held.pts)
            self._held = packet

    def _write(self, packet: EncodedPacket, duration: int) -> None:
        out = av.Packet(packet.data)
        out.pts = out.dts = packet.pts - self._first_pts
        out.duration = duration
        out.time_base = TIME_BASE
        out.is_keyframe = packet.keyframe
        out.stream = self._stream
        try:
            self._container.mux(out)
        except av.FFmpegError as err:
            raise _os_error(err) from err
        self._last_duration = duration
        self._last_pts = packet.pts
        self.frames += 1
        self.last_time = packet.time

    def _open(self, first: EncodedPacket) -> None:
        if not first.keyframe:
            raise VideoError("a clip must start at a keyframe")
        try:
            container = av.open(str(self.path), "w", format="mp4", options=MP4_OPTIONS)
        except av.FFmpegError as err:
            raise _os_error(err) from err
        stream = container.add_stream("h264", rate=1)
        stream.width, stream.height = first.width, first.height
        stream.pix_fmt = PIXEL_FORMAT
        stream.time_base = TIME_BASE
        stream.codec_context.extradata = parameter_sets(first.data)
        self._container, self._stream = container, stream
        self._first_pts = first.pts
        self.first_time = first.time

    @property
    def duration(self) -> float:
        """Seconds of video written so far (its timeline, to the last picture's end)."""
        if self._last_pts is None:
            return 0.0
        return float(
            (self._last_pts - self._first_pts + self._last_duration) * TIME_BASE
        )

    def close(self) -> None:
        """Write the last packet and fragment, and close the file."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._container is None:
            return
        if self._held is not None:
            held, self._held = self._held, None
            self._write(held, self._last_duration or round(0.1 / TIME_BASE))
        try:
            self._container.close()
        except av.FFmpegError as err:
            raise _os_error(err) from err
        self._container = None

    def abandon(self) -> None:
        """Close without caring for errors (the clip is given up or left as is)."""
        with self._lock:
            self._abandoned = True
            container, self._container = self._container, None
            self._held = None
            if container is not None:
                with contextlib.suppress(av.FFmpegError, OSError):
                    container.close()


def _os_error(err: av.FFmpegError) -> OSError:
    """Return an FFmpeg I/O error as the OSError it is (ENOSPC stays ENOSPC)."""
    errno = getattr(err, "errno", None)
    return OSError(errno if isinstance(errno, int) and errno > 0 else 5, str(err))
