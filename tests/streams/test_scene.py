"""The synthetic scene: frame numbers that survive compression, the canary, the files."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import av
import numpy as np
from PIL import Image
import pytest

from tools.streams import (
    SceneClip,
    SceneSpec,
    canary_rect,
    canary_visible,
    decode_frame_number,
    parse_size,
    render_frame,
    render_scene,
)
from tools.streams.h264 import (
    NAL_FU_A,
    NAL_IDR,
    NAL_PPS,
    NAL_SPS,
    RtpPacketizer,
    depacketize,
    nal_type,
    split_access_units,
)
from tools.streams.scene import MAX_FRAMES, barcode_bits, disc_center, split_jpegs

from .conftest import SPEC


def _jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(out.getvalue())).convert("RGB"))


@pytest.mark.parametrize("number", [0, 1, 2, 127, 128, 4095, 12345, MAX_FRAMES - 1])
def test_frame_number_round_trip(number: int) -> None:
    """Rendered, then JPEG at low quality, then scaled: the number reads back."""
    spec = SceneSpec(width=320, height=240, fps=10, duration=1.0)
    frame = render_frame(spec, number)
    assert decode_frame_number(frame) == number
    luma = np.asarray(Image.fromarray(frame).convert("L"))
    assert decode_frame_number(luma) == number
    assert decode_frame_number(_jpeg_roundtrip(frame, 30)) == number
    half = np.asarray(
        Image.fromarray(frame).resize((160, 120), Image.Resampling.BILINEAR)
    )
    assert decode_frame_number(half) == number


def test_unreadable_pictures_give_none() -> None:
    """A masked band, a flat picture, noise or a corrupted bit: None, not a number."""
    spec = SceneSpec(width=640, height=360)
    frame = render_frame(spec, 1234)
    masked = frame.copy()
    masked[-40:] = 90
    assert decode_frame_number(masked) is None
    assert decode_frame_number(np.full((360, 640, 3), 128, np.uint8)) is None
    noise = np.random.default_rng(1).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    assert decode_frame_number(noise) is None
    # Flip one data cell: the check bits no longer match.
    from tools.streams.scene import barcode_cells, barcode_rows

    top, bottom = barcode_rows(360)
    left, right = barcode_cells(640)[5]
    flipped = frame.copy()
    flipped[top:bottom, left:right] = 255 - flipped[top:bottom, left:right]
    assert decode_frame_number(flipped) is None
    with pytest.raises(ValueError, match="RGB"):
        decode_frame_number(np.zeros((4, 4, 4, 4), np.uint8))


def test_barcode_layout() -> None:
    """Markers at both ends, then 16 data bits and 8 check bits."""
    bits = barcode_bits(0b1010_0000_0000_0001)
    assert len(bits) == 28
    assert bits[:2] == [1, 0]
    assert bits[-2:] == [0, 1]
    assert bits[2:18] == [1, 0, 1, 0] + [0] * 11 + [1]
    with pytest.raises(ValueError, match="out of range"):
        barcode_bits(MAX_FRAMES)


def test_every_frame_differs_and_the_disc_moves() -> None:
    """Consecutive frames differ outside the barcode too (the moving disc)."""
    spec = SceneSpec(width=320, height=240, fps=25, duration=2.0)
    band_top = 240 - 14
    previous = render_frame(spec, 0)
    for index in range(1, spec.frames):
        frame = render_frame(spec, index)
        changed = np.any(frame[:band_top] != previous[:band_top], axis=-1).sum()
        assert changed > 50, index
        assert disc_center(spec, index) != disc_center(spec, index - 1)
        previous = frame
    assert np.array_equal(render_frame(spec, 7), render_frame(spec, 7))


def test_canary_visible_until_covered() -> None:
    """The canary shows in its rectangle (also after JPEG); a flat fill hides it."""
    spec = SceneSpec(width=800, height=600)
    frame = render_frame(spec, 3)
    x0, y0, x1, y1 = canary_rect(800, 600)
    assert (x0, y0, x1, y1) == (480, 36, 720, 180)
    assert canary_visible(frame)
    assert canary_visible(_jpeg_roundtrip(frame, 50))
    covered = frame.copy()
    covered[y0:y1, x0:x1] = (40, 40, 40)
    assert not canary_visible(covered)
    assert not canary_visible(_jpeg_roundtrip(covered, 50))
    with pytest.raises(ValueError, match="RGB"):
        canary_visible(frame[..., 0])


def test_spec_validation_and_sizes() -> None:
    """Bad specs are refused with a reason; sizes parse."""
    assert parse_size("1920x1080") == (1920, 1080)
    for text in ("1920", "x1080", "axb", "1920X"):
        with pytest.raises(ValueError, match="1920x1080"):
            parse_size(text)
    with pytest.raises(ValueError, match="at least"):
        SceneSpec(width=100, height=100)
    with pytest.raises(ValueError, match="even"):
        SceneSpec(width=801, height=600)
    with pytest.raises(ValueError, match="fps"):
        SceneSpec(fps=0)
    with pytest.raises(ValueError, match="gop"):
        SceneSpec(gop_seconds=0.01)
    with pytest.raises(ValueError, match="frames"):
        SceneSpec(fps=30, duration=3000)
    with pytest.raises(ValueError, match="noise"):
        SceneSpec(noise=-1)
    with pytest.raises(ValueError, match="profile"):
        SceneSpec(profile="extended")  # type: ignore[arg-type]
    assert SceneSpec().digest() != SceneSpec(fps=10).digest()
    assert SceneSpec(fps=25, gop_seconds=2, duration=4).gop_frames == 50


def test_rendered_files(clip: SceneClip) -> None:
    """H.264 (Annex B and MP4) and MJPEG: every frame, in order, GOP as asked."""
    assert clip.spec == SPEC
    units = clip.access_units
    assert len(units) == SPEC.frames
    assert clip.keyframe_indices() == list(range(0, SPEC.frames, SPEC.gop_frames))
    for index in clip.keyframe_indices():
        kinds = [nal_type(nal) for nal in units[index].nals]
        # Parameter sets before every keyframe, as cameras send them.
        assert kinds[0] == NAL_SPS
        assert kinds[1] == NAL_PPS
        assert NAL_IDR in kinds
    sps, pps = clip.parameter_sets
    assert sps[1] == 77  # main profile
    assert nal_type(pps) == NAL_PPS

    with av.open(str(clip.mp4_path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == SPEC.size
        frames = list(container.decode(stream))
    assert {b.pts - a.pts for a, b in itertools.pairwise(frames)} == {
        90_000 // SPEC.fps
    }
    assert [decode_frame_number(f.to_ndarray(format="rgb24")) for f in frames] == list(
        range(SPEC.frames)
    )
    assert [i for i, f in enumerate(frames) if f.key_frame] == clip.keyframe_indices()
    assert all(canary_visible(f.to_ndarray(format="rgb24")) for f in frames[::10])

    jpegs = clip.jpegs
    assert len(jpegs) == SPEC.frames
    numbers = [
        decode_frame_number(np.asarray(Image.open(io.BytesIO(j)).convert("RGB")))
        for j in jpegs[:: SPEC.fps]
    ]
    assert numbers == list(range(0, SPEC.frames, SPEC.fps))


@pytest.mark.parametrize(("profile", "idc"), [("baseline", 66), ("high", 100)])
def test_profiles_and_the_render_cache(tmp_path: Path, profile: str, idc: int) -> None:
    """The profile is the one asked for; a second render of a spec reuses the files."""
    spec = SceneSpec(width=320, height=240, fps=10, duration=1.0, profile=profile)  # type: ignore[arg-type]
    clip = render_scene(spec, tmp_path)
    assert clip.parameter_sets[0][1] == idc
    stamp = clip.h264_path.stat().st_mtime_ns
    again = render_scene(spec, tmp_path)
    assert again.h264_path == clip.h264_path
    assert again.h264_path.stat().st_mtime_ns == stamp
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".h264", ".mjpeg", ".mp4"]


def test_access_units_and_rtp_round_trip(clip: SceneClip) -> None:
    """Packetized units depacketize to the same NAL units; big ones as FU-A."""
    packetizer = RtpPacketizer(ssrc=0x1234, sequence=65534, mtu=1000)
    for index in (0, 1, 2, SPEC.gop_frames):
        unit = clip.access_units[index]
        packets = packetizer.packetize(unit, 90_000 + index * 6000)
        assert depacketize(packets) == list(unit.nals)
        markers = [bool(packet[1] & 0x80) for packet in packets]
        assert markers == [False] * (len(packets) - 1) + [True]
        assert all(len(packet) <= 12 + 1000 for packet in packets)
    assert packetizer.sequence == (65534 + packetizer.packets) & 0xFFFF
    keyframe = clip.access_units[0]
    big = [nal for nal in keyframe.nals if len(nal) > 1000]
    assert big, "a keyframe larger than one packet"
    packets = RtpPacketizer(mtu=1000).packetize(keyframe, 0)
    assert any(nal_type(packet[12:]) == NAL_FU_A for packet in packets)
    # Annex B round trip, with 3- and 4-byte start codes and delimiters.
    stream = b"".join(
        b"\x00\x00\x01\x09\xf0" + unit.annexb() for unit in clip.access_units[:5]
    )
    assert [u.nals for u in split_access_units(stream)] == [
        u.nals for u in clip.access_units[:5]
    ]


def test_sensor_noise_raises_the_bitrate(tmp_path: Path, clip: SceneClip) -> None:
    """With noise every picture differs everywhere, and still reads back."""
    spec = SceneSpec(
        width=640, height=360, fps=15, gop_seconds=1.0, duration=2.0, noise=8
    )
    noisy = render_scene(spec, tmp_path)
    clean_rate = clip.h264_path.stat().st_size / SPEC.duration
    assert noisy.h264_path.stat().st_size / spec.duration > 3 * clean_rate
    with av.open(str(noisy.mp4_path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert [decode_frame_number(f) for f in frames] == list(range(spec.frames))
    assert all(canary_visible(f) for f in frames)
    assert render_scene(spec, tmp_path).h264_path.read_bytes() == (
        noisy.h264_path.read_bytes()
    )


def test_split_jpegs() -> None:
    """Concatenated JPEGs split into whole pictures."""
    one = b"\xff\xd8abc\xff\xd9"
    two = b"\xff\xd8\x00\xff\x00\xff\xd9"
    assert split_jpegs(one + two + b"\xff\xd8torn") == [one, two]
