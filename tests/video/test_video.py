"""The codec steps on masked pictures: H.264 encode, MP4 mux, JPEG in and out."""

from __future__ import annotations

import errno
import io
import itertools
import os
from pathlib import Path
import shutil
import subprocess

import av
import numpy as np
from PIL import Image
import pytest

from custom_components.peephole.video import (
    TIME_BASE,
    EncodedPacket,
    H264Encoder,
    JpegDecoder,
    Mp4Writer,
    VideoError,
    jpeg_of,
    masked_picture,
    parameter_sets,
)
from custom_components.peephole.yuv_masking import PlaneMasker
from tests.masking.frames import photo

FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"


def _picture(n: int, width: int = 320, height: int = 240) -> av.VideoFrame:
    rgb = photo(width, height, seed=n % 7)
    rgb[:20, :20] = (n * 37) % 256  # a patch that changes with every picture
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    return masked_picture(frame, PlaneMasker(()))


def _encode(times: list[float], forced: set[int] | None = None) -> list[EncodedPacket]:
    encoder = H264Encoder(320, 240, 10, start=100.0)
    packets: list[EncodedPacket] = []
    for n, taken in enumerate(times):
        keyframe = n in (forced or set())
        packets += encoder.encode(_picture(n), taken, 0, keyframe=keyframe)
    return packets


def test_keyframes_follow_time_not_picture_counts() -> None:
    # Uneven arrivals (a stalling source): 0.05 s steps, then 0.3 s steps.
    times = [100.0 + 0.05 * n for n in range(30)] + [101.5 + 0.3 * n for n in range(10)]
    packets = _encode(times)
    assert len(packets) == len(times)  # one packet per picture, at once
    keys = [p.time for p in packets if p.keyframe]
    assert keys[0] == 100.0
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(keys))
    assert all(b - a <= 1.3 + 1e-9 for a, b in itertools.pairwise(keys))
    assert [p.pts for p in packets] == sorted({p.pts for p in packets})
    assert packets[1].pts == round(0.05 / TIME_BASE)
    # Each keyframe carries its parameter sets: a clip can start at any.
    for packet in packets:
        if packet.keyframe:
            assert parameter_sets(packet.data)


def test_a_keyframe_when_asked_and_equal_times_still_advance() -> None:
    packets = _encode([100.0, 100.1, 100.2, 100.2, 100.3], forced={3})
    assert [p.keyframe for p in packets] == [True, False, False, True, False]
    assert packets[3].pts > packets[2].pts


def test_a_clip_plays_at_the_speed_it_was_taken(tmp_path: Path) -> None:
    times = [100.0, 100.1, 100.25, 100.3, 100.9, 101.0, 101.05, 102.1, 102.2]
    packets = _encode(times)
    path = tmp_path / "clip.mp4"
    writer = Mp4Writer(path)
    writer.write(packets[:4])
    writer.write(packets[2:])  # the same packets twice: written once
    writer.close()
    assert writer.frames == len(times)
    with av.open(str(path)) as container:
        decoded = [float(f.time) for f in container.decode(video=0)]
    assert decoded == pytest.approx([t - 100.0 for t in times], abs=1e-3)
    assert writer.duration == pytest.approx(2.3, abs=1e-3)  # + the last interval
    probe = subprocess.run(  # noqa: S603 - the real ffprobe on our file
        [
            FFPROBE,
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=nokey=1:noprint_wrappers=1",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(probe.stdout) == pytest.approx(2.3, abs=0.02)


def test_a_clip_starts_at_a_keyframe(tmp_path: Path) -> None:
    packets = _encode([100.0, 100.1, 100.2])
    writer = Mp4Writer(tmp_path / "c.mp4")
    with pytest.raises(VideoError, match="keyframe"):
        writer.write(packets[1:])
    assert writer.duration == 0.0
    writer.close()  # nothing opened: nothing to do
    assert not (tmp_path / "c.mp4").exists()


def test_a_given_up_clip_refuses_more(tmp_path: Path) -> None:
    packets = _encode([100.0, 100.1, 100.2])
    writer = Mp4Writer(tmp_path / "c.mp4")
    writer.write(packets[:2])
    writer.abandon()
    writer.abandon()  # twice is harmless
    with pytest.raises(VideoError, match="given up"):
        writer.write(packets[2:])


def test_a_full_disk_is_an_enospc_oserror(tmp_path: Path) -> None:
    """A 64 kB tmpfs fills up: the writer raises OSError(ENOSPC), as the recorder expects."""
    directory = tmp_path / "small"
    directory.mkdir()
    if os.system(f"mount -t tmpfs -o size=64k tmpfs {directory}") != 0:  # noqa: S605
        pytest.skip("cannot mount a tmpfs here")
    try:
        times = [100.0 + n / 10 for n in range(300)]
        encoder = H264Encoder(640, 480, 10, start=100.0)
        writer = Mp4Writer(directory / "c.mp4")
        with pytest.raises(OSError, match="space") as err:  # noqa: PT012 - fills until it fails
            for n, taken in enumerate(times):
                noisy = av.VideoFrame.from_ndarray(
                    np.random.default_rng(n).integers(0, 255, (480, 640, 3), np.uint8),
                    format="rgb24",
                )
                picture = masked_picture(noisy, PlaneMasker(()))
                writer.write(encoder.encode(picture, taken, 0, keyframe=False))
            writer.close()
        assert err.value.errno == errno.ENOSPC
        writer.abandon()
    finally:
        if os.system(f"umount {directory}") != 0:  # noqa: S605
            os.system(f"umount -l {directory}")  # noqa: S605


def test_jpeg_in_and_out_keep_the_colours() -> None:
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:, :32] = (255, 0, 255)
    rgb[:, 32:] = (0, 0, 0)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=95, subsampling=1)
    picture = masked_picture(JpegDecoder().decode(out.getvalue()), PlaneMasker(()))
    with Image.open(io.BytesIO(jpeg_of(picture))) as image:
        back = np.asarray(image.convert("RGB")).astype(int)
    assert np.abs(back[8:56, 4:24] - (255, 0, 255)).max() < 12
    assert back[8:56, 40:60].max() < 12  # black stays black (full range)
    with pytest.raises(VideoError):
        JpegDecoder().decode(b"\xff\xd8 not a jpeg")
    with pytest.raises(VideoError, match="parameter sets"):
        parameter_sets(b"\x00\x00\x00\x01\x65\x88")
