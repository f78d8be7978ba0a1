"""Fixtures for clip recording: a source camera that draws its capture time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
import contextlib
import errno
import io
from pathlib import Path
import subprocess
import threading
import time
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.peephole.const import (
    CONF_FEED_FPS,
    CONF_MAX_CLIP_LENGTH,
    CONF_MIN_FREE_MB,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
    CONF_ZONES,
    DOMAIN,
)
from custom_components.peephole.video import Mp4Writer
from tests.conftest import SourceCamera

WIDTH, HEIGHT = 320, 240
FPS = 5
BITS = 16
# The zone covers the top quarter; the canary is drawn there, the clock at the bottom.
ZONE = {"name": "Street", "points": [[0, 0], [1, 0], [1, 0.25], [0, 0.25]]}
ZONE_ROWS = slice(0, int(0.25 * HEIGHT) - 8)
CANARY = (255, 0, 255)
CLOCK_TOP, CLOCK_BOTTOM = 200, 236


def clock_ticks(when: float) -> int:
    """The capture time drawn into a frame, in tenths of a second (16 bits)."""
    return int(when * 10) % (1 << BITS)


def clock_frame(when: float) -> bytes:
    """A frame with a canary in the zone and the capture time as 16 black/white cells."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (90, 120, 90))
    draw = ImageDraw.Draw(image)
    for y in range(0, int(0.25 * HEIGHT), 4):
        for x in range(0, WIDTH, 4):
            color = CANARY if (x + y) // 4 % 2 else (255, 255, 255)
            draw.rectangle((x, y, x + 3, y + 3), fill=color)
    ticks = clock_ticks(when)
    cell = WIDTH // BITS
    for bit in range(BITS):
        white = (ticks >> (BITS - 1 - bit)) & 1
        draw.rectangle(
            (bit * cell, CLOCK_TOP, (bit + 1) * cell - 1, CLOCK_BOTTOM),
            fill=(255, 255, 255) if white else (0, 0, 0),
        )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def read_clock(rgb: npt.NDArray[np.uint8]) -> int:
    """Read the capture time back from a decoded frame."""
    cell = WIDTH // BITS
    ticks = 0
    for bit in range(BITS):
        patch = rgb[
            CLOCK_TOP + 8 : CLOCK_BOTTOM - 8, bit * cell + 5 : (bit + 1) * cell - 5
        ]
        ticks = (ticks << 1) | int(patch.mean() > 128)
    return ticks


def decode_clip(path: Path) -> npt.NDArray[np.uint8]:
    """Decode every frame of a clip with ffmpeg (frames, height, width, 3)."""
    raw = subprocess.run(  # noqa: S603
        [
            "/usr/bin/ffmpeg",
            "-v",
            "error",
            "-nostdin",
            "-i",
            str(path),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)


def assert_masked(frames: npt.NDArray[np.uint8]) -> None:
    """Every frame: nothing of the canary inside the zone, a flat fill."""
    zone = frames[:, ZONE_ROWS].astype(np.int16)
    distance = np.abs(zone - np.array(CANARY)).sum(axis=-1)
    assert distance.min() > 150, "canary colour inside the zone"
    white = np.abs(zone - 255).sum(axis=-1)
    assert white.min() > 150, "canary white inside the zone"
    assert zone.std(axis=(1, 2)).max() < 6, "the zone is not a flat fill"


class ClockCamera(SourceCamera):
    """A source camera whose frames show when they were taken."""

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return a frame drawn now."""
        self.requests.append((width, height))
        return clock_frame(time.time())


@pytest.fixture
def source_camera() -> SourceCamera:
    """The clock camera."""
    return ClockCamera()


@pytest.fixture
def recording_options() -> dict[str, Any]:
    """Short, fast recording options."""
    return {
        CONF_RECORD: True,
        CONF_PRE_ROLL: 1.0,
        CONF_POST_ROLL: 1.0,
        CONF_MAX_CLIP_LENGTH: 4.0,
        CONF_FEED_FPS: FPS,
        CONF_MIN_FREE_MB: 0,
    }


@pytest.fixture
def config_entry(
    entry_data: dict[str, Any], recording_options: dict[str, Any]
) -> MockConfigEntry:
    """An entry that records, with one zone."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data=entry_data,
        options={**recording_options, CONF_ZONES: [ZONE]},
        unique_id="clock",
    )


async def wait_for(
    hass: HomeAssistant, predicate: Callable[[], object], seconds: float = 20
) -> None:
    """Wait (in real time) until ``predicate()`` is true."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polls state, not an event
            await asyncio.sleep(0.05)


async def refused(
    hass: HomeAssistant, action: str, data: dict[str, Any]
) -> ServiceValidationError:
    """Call a Peephole action that must be refused; return its error."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, action, data, blocking=True)
    return err.value


def ring_span(recorder: Any) -> float:
    """Seconds of pictures the recorder's pre-roll ring holds."""
    packets = list(recorder.ring)
    return packets[-1].time - packets[0].time if packets else 0.0


def decode_packets(packets: list[Any]) -> npt.NDArray[np.uint8]:
    """Decode encoded packets (from the first keyframe) to RGB frames (n, h, w, 3)."""
    import av

    codec = av.CodecContext.create("h264", "r")
    frames = [
        frame.to_ndarray(format="rgb24")
        for packet in packets
        for frame in codec.decode(av.Packet(packet.data))
    ]
    assert frames, "no picture decoded"
    return np.stack(frames)


def peephole_threads() -> list[threading.Thread]:
    """The live threads of Peephole's feeds (named after the feed)."""
    return [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith("peephole ") and thread.is_alive()
    ]


@contextlib.contextmanager
def failing_writes_after(seconds: float) -> Iterator[None]:
    """Make every clip write fail (an I/O error) once a clip is ``seconds`` long.

    With 0, every write fails, the first included (nothing is ever written).

    What a failing disk or a yanked USB stick does to the muxer's writes.
    """
    real_write = Mp4Writer._write_all

    def write(writer: Mp4Writer, packets: Any) -> None:
        if seconds <= 0 or (
            writer.first_time is not None and writer.duration >= seconds
        ):
            raise OSError(errno.EIO, "Input/output error")
        real_write(writer, packets)

    with patch.object(Mp4Writer, "_write_all", write):
        yield
