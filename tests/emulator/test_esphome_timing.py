"""A realistic emulated ESP32-CAM, measured through HA's real esphome integration.

The instant emulator answers stills as fast as HA asks (hundreds a second), which
hid how few pictures a stills poller gets from a real device. With the ESP32-CAM
profile (tools/emulator/timing.py) HA gets what a device gives: frames bounded by
the sensor's capture rate and by the Wi-Fi throughput. Pictures are counted as
distinct JPEGs, never as timestamps; the bounds are generous below (the machine is
shared) and physical above (a busy machine only makes fewer frames).
"""

from __future__ import annotations

import dataclasses
from http import HTTPStatus
import time

from homeassistant.components.camera import async_get_image
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tools.emulator.timing import ESP32_CAM

from .conftest import StartDevice

CAMERA = "camera.peephole_doorbell_camera"


def _ceiling(
    seconds: float, capture_fps: float, throughput: float, smallest: int
) -> float:
    """The most frames a device can deliver in `seconds` (plus one on its way)."""
    return seconds * min(capture_fps, throughput / smallest) + 1


async def test_stills_polling_gets_the_device_rate(
    hass: HomeAssistant, start_esphome_device: StartDevice
) -> None:
    """camera.async_get_image back to back: a few distinct pictures a second."""
    await start_esphome_device(timing=ESP32_CAM)
    await async_get_image(hass, CAMERA)  # the first picture, after connecting
    pictures: list[bytes] = []
    start = time.monotonic()
    while time.monotonic() - start < 4.0:
        image = await async_get_image(hass, CAMERA)
        assert image.content[:2] == b"\xff\xd8"
        pictures.append(image.content)
    elapsed = time.monotonic() - start
    distinct = len(set(pictures))
    fps = distinct / elapsed
    print(f"stills through HA's esphome camera: {fps:.1f} distinct pictures/s")  # noqa: T201
    assert ESP32_CAM.capture_fps is not None
    assert ESP32_CAM.throughput is not None
    ceiling = _ceiling(
        elapsed,
        ESP32_CAM.capture_fps,
        ESP32_CAM.throughput,
        min(len(picture) for picture in pictures),
    )
    # An instant camera gives hundreds here; a 10 fps sensor behind 300 kB/s of
    # Wi-Fi gives about five (a still waits for the next capture, then its transfer).
    assert distinct <= ceiling
    assert fps >= 1.5


async def test_mjpeg_stream_is_limited_by_the_wifi(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    start_esphome_device: StartDevice,
) -> None:
    """HA's MJPEG stream (stream requests to the device) runs at the link's pace."""
    timing = dataclasses.replace(ESP32_CAM, throughput=100_000.0)
    await start_esphome_device(timing=timing)
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy_stream/{CAMERA}")
    assert response.status == HTTPStatus.OK
    buffer = b""
    pictures: list[bytes] = []
    start = time.monotonic()
    try:
        while time.monotonic() - start < 4.0:
            buffer += await response.content.readany()
            pictures.extend(_parts(buffer))
            buffer = buffer[_consumed(buffer) :]
    finally:
        response.close()
    elapsed = time.monotonic() - start
    assert pictures
    distinct = len(set(pictures))
    print(f"MJPEG through HA at 100 kB/s: {distinct / elapsed:.1f} pictures/s")  # noqa: T201
    assert timing.capture_fps is not None
    smallest = min(len(picture) for picture in pictures)
    assert distinct <= _ceiling(elapsed, timing.capture_fps, 100_000.0, smallest)
    assert distinct >= 3


def _parts(buffer: bytes) -> list[bytes]:
    """Return the complete JPEG parts of a multipart MJPEG buffer."""
    return [part for part, _ in _split(buffer)]


def _consumed(buffer: bytes) -> int:
    """Return how many bytes of the buffer the complete parts take."""
    ends = [end for _, end in _split(buffer)]
    return ends[-1] if ends else 0


def _split(buffer: bytes) -> list[tuple[bytes, int]]:
    """Split ``--frameboundary`` parts with a Content-Length: (jpeg, end offset)."""
    parts = []
    position = 0
    while (header_end := buffer.find(b"\r\n\r\n", position)) != -1:
        headers = buffer[position:header_end].decode("latin-1")
        length = next(
            int(line.split(":", 1)[1])
            for line in headers.split("\r\n")
            if line.lower().startswith("content-length:")
        )
        start = header_end + 4
        end = start + length + 2  # the JPEG and its CRLF
        if end > len(buffer):
            break
        parts.append((buffer[start : start + length], end))
        position = end
    return parts
