"""The benchmarks' instruments: how clips are read into figures, and can fail."""

from __future__ import annotations

import pytest

from benchmarks._esp32_device import NumberedPorchScene
from benchmarks._ha import LoopLag, Picture, kept_fraction, longest_freeze
from benchmarks.esp32 import jpeg_number, split_parts
from benchmarks.masked_stream import Seen, glass_to_glass, playlist_parts
from benchmarks.stream_1080p import HEIGHT, WIDTH, mask_rect
from tools.streams import LiveClock


def _clip(numbers: list[int], fps: float = 10.0) -> list[Picture]:
    return [Picture(index / fps, number) for index, number in enumerate(numbers)]


def test_a_steady_clip_never_freezes() -> None:
    pictures = _clip(list(range(40)))
    assert longest_freeze(pictures, 1.0, 3.0, 10.0) == 0


def test_repeated_and_missing_pictures_freeze() -> None:
    # Picture 12 shown three times: 200 ms frozen.
    repeated = _clip([*range(13), 12, 12, *range(13, 30)])
    assert longest_freeze(repeated, 1.0, 3.0, 10.0) == pytest.approx(0.2)
    # Pictures 15-17 never came (a variable-rate clip holds 14 for 400 ms).
    missing = [p for p in _clip(list(range(30))) if p.number not in (15, 16, 17)]
    assert longest_freeze(missing, 1.0, 3.0, 10.0) == pytest.approx(0.3)
    # Outside the window it does not count.
    assert longest_freeze(missing, 2.0, 3.0, 10.0) == 0


def test_jitter_under_half_a_frame_is_not_a_freeze() -> None:
    times = [0.0, 0.1, 0.24, 0.3, 0.4, 0.5]
    pictures = [Picture(t, n) for n, t in enumerate(times)]
    assert longest_freeze(pictures, 0.0, 0.5, 10.0) == 0
    late = [Picture(t, n) for n, t in enumerate([0.0, 0.1, 0.26, 0.3, 0.4])]
    assert longest_freeze(late, 0.0, 0.5, 10.0) == pytest.approx(0.1)


def test_kept_fraction_counts_distinct_pictures() -> None:
    assert kept_fraction(list(range(10)), 300) == 1.0
    assert kept_fraction([298, 299, 0, 1, 2], 300) == 1.0  # the source loops
    assert kept_fraction([0, 1, 3, 4], 300) == pytest.approx(4 / 5)
    assert kept_fraction([0, 1, 1, 2], 300) == 1.0  # a repeat adds nothing
    # A clip cut short misses what it should have held.
    assert kept_fraction(list(range(10)), 300, expected=20) == pytest.approx(0.5)
    assert kept_fraction([], 300) == 0


def test_loop_lag_percentile() -> None:
    lags = [i / 1000 for i in range(1, 101)]
    assert LoopLag.percentile(lags, 0.99) == pytest.approx(0.099)
    assert LoopLag.percentile(lags, 1.0) == pytest.approx(0.1)


def test_the_emulated_camera_numbers_its_pictures() -> None:
    scene = NumberedPorchScene(800, 600)
    numbers = [jpeg_number(scene.jpeg(index / 10)) for index in range(3)]
    assert numbers == [0, 1, 2]


def test_mjpeg_parts() -> None:
    def part(data: bytes) -> bytes:
        header = f"--frameboundary\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
        return header.encode() + data + b"\r\n"

    whole = part(b"\xff\xd8one") + part(b"\xff\xd8two")
    parts, used = split_parts(whole + part(b"\xff\xd8three")[:-4])
    assert parts == [b"\xff\xd8one", b"\xff\xd8two"]
    assert used == len(whole)


def test_the_anchor_draws_over_the_masked_pixels() -> None:
    x, y, w, h = mask_rect()
    assert 0 <= x < x + w <= WIDTH
    assert 0 <= y < y + h <= HEIGHT
    assert x % 8 == y % 8 == w % 8 == 0


def test_glass_to_glass_finds_the_last_send_of_a_number() -> None:
    clock = LiveClock(15, start=100.0)
    # Live frame 305 shows the clip's picture 5 (a 300-picture loop); seen 0.5 s later.
    late = Seen(5, clock.due(305) + 0.5)
    # Picture 299 (live frame 299) seen just after the clip looped to 0.
    wrapped = Seen(299, clock.due(301) + 0.2)
    delays = glass_to_glass([late, wrapped], clock, 300)
    assert delays == pytest.approx([0.5, 2 / 15 + 0.2])
    with pytest.raises(RuntimeError, match="unreadable"):
        glass_to_glass([late, Seen(None, late.at)], clock, 300)


def test_playlist_parts_reads_ha_ll_hls_parts() -> None:
    playlist = (
        b"#EXTM3U\n#EXT-X-PART-INF:PART-TARGET=1.000\n"
        b'#EXT-X-PART:DURATION=1.000,URI="./segment/7.0.m4s",INDEPENDENT=YES\n'
        b'#EXT-X-PART:DURATION=0.933,URI="./segment/7.1.m4s"\n'
        b"#EXTINF:1.933,\n./segment/7.m4s\n"
        b'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="./segment/8.0.m4s"\n'
    )
    assert playlist_parts(playlist) == [(7, 0, True), (7, 1, False)]
