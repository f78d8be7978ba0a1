"""The ESP32-CAM doorbell with a real device's timing: what a clip gets, and what HA's stream gets.

The device is tools.emulator's doorbell with the ``esp32-cam`` timing profile
(a 10 fps sensor that captures only when asked, 300 kB/s of Wi-Fi shared by
every frame, jitter, a bad frame in fifty, a half-second stall in a hundred;
tools/emulator/timing.py), 800x600 JPEGs of about 32 kB, speaking the encrypted
ESPHome native API, in its own process on the other core (``_esp32_device``).
Each picture it sends carries its number, so pictures are counted, never
timestamps. Home Assistant (pinned to one core by the runner) runs its real
``esphome`` integration on it, and Peephole on its camera entity: stills mode
(the ESPHome camera has no ``stream_source()``), polling at its configured 10 fps,
recording (pre-roll 2 s, post-roll 8 s) with a zone over the street.

Each round (two; one in ``--quick``):

1. **Peephole's stills polling**: once the pre-roll is full, the device's bell
   push is pressed (through its control socket: the ring comes through HA's
   esphome event entity, as a real press does); the clip is decoded picture by
   picture. Meanwhile the device's own counters (frames sent) are read.
2. **HA's ESPHome camera stream**: privacy mode stops Peephole's feed, and HA's
   camera component serves its MJPEG stream of the entity
   (``camera.async_get_mjpeg_stream`` -> the ESPHome camera's
   ``handle_async_mjpeg_stream``, which puts the device in stream mode: it
   captures and sends frame after frame, up to its 10 fps, as fast as the Wi-Fi
   takes them) to an HTTP client for 10 s; every JPEG part is read by number.

- ``stills_clip_fps_esp32_realistic``: distinct pictures per second in
  Peephole's clips (picture changes over the clips' timelines).
- ``esp32_device_fps_stills``: what the device delivered meanwhile (its frames
  sent per second, idle refreshes included); ``stills_clip_vs_device_esp32`` is
  the clip's rate over it (1.0: every picture the device sent is in the clip).
- ``esp32_mjpeg_fps``: distinct pictures per second through HA's MJPEG stream;
  ``esp32_device_fps_mjpeg``: the device's own rate meanwhile.
- ``esp32_mjpeg_vs_stills``: the stream's rate over the clip's (above 1: the
  device's stream mode gives more distinct pictures than stills polling).

On the development machine both modes get 4-5 pictures a second (the ratio is
0.94-1.13 from run to run): stream mode gives no more. Why, in the emulator: a
still is the sensor's next frame after the request; in stream mode the next frame
is the first sensor tick after the previous frame has been sent (ESPHome takes no
new frame while one is still being sent), and a 32 kB frame takes 0.11 s at
300 kB/s (jitter comes on top), just over one 100 ms tick, so both modes get a
frame every other tick. The firmware keeps two
frame buffers (esphome/packages/camera.yaml), which the emulator does not model:
a device that captures into one while it sends the other could stream at the
link's rate (about 9 fps here). Before Peephole prefers the ESPHome camera's
stream, that needs measuring on a device, or modelling in tools/emulator/timing.py.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from dataclasses import dataclass
import io
import itertools
import json
import logging
import os
from pathlib import Path
import tempfile
import time
from typing import Any

import aiohttp
from aiohttp import web
from homeassistant.components.camera import async_get_mjpeg_stream
from homeassistant.core import HomeAssistant
import numpy as np
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks import Measurement, measurement
from benchmarks._ha import (
    SavedClips,
    add_doorbell,
    child,
    home_assistant,
    numbers_of,
    other_cores,
    peephole,
    read_clip,
    ring_span,
    until,
)
from tools.emulator.control import send_command
from tools.streams import decode_frame_number

CAMERA = "camera.peephole_doorbell_camera"
BUTTON = "event.peephole_doorbell_doorbell"
STREET = {"name": "Street", "points": [[0, 0.28], [1, 0.28], [1, 0.58], [0, 0.58]]}
FEED_FPS = 10  # Peephole's default frame rate for a stills source


@dataclass
class Rate:
    """Pictures over seconds, summed over rounds."""

    pictures: float = 0.0
    seconds: float = 0.0

    def add(self, pictures: float, seconds: float) -> None:
        """Add one round."""
        self.pictures += pictures
        self.seconds += seconds

    @property
    def fps(self) -> float:
        """Pictures per second."""
        return self.pictures / self.seconds if self.seconds else 0.0


class Device:
    """The device's control socket: presses and counters."""

    def __init__(self, control: Path) -> None:
        """Talk to the device's control socket at ``control``."""
        self.control = control

    async def sent(self) -> tuple[int, float]:
        """Return the frames it has sent, and when (monotonic)."""
        reply = await send_command(self.control, "status")
        if not reply.startswith("ok "):
            raise RuntimeError(f"the device answered {reply!r}")
        status: dict[str, Any] = json.loads(reply[3:])
        return int(status["camera"]["sent"]), time.monotonic()

    async def press(self) -> None:
        """Press the bell push."""
        reply = await send_command(self.control, "press")
        if not reply.startswith("ok"):
            raise RuntimeError(f"the device answered {reply!r}")


def jpeg_number(jpeg: bytes) -> int | None:
    """Read a JPEG's number (blocking)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return decode_frame_number(np.asarray(image.convert("L")))


def split_parts(buffer: bytes) -> tuple[list[bytes], int]:
    """Return the complete JPEG parts of a multipart buffer, and the bytes they take."""
    parts: list[bytes] = []
    position = 0
    while (header_end := buffer.find(b"\r\n\r\n", position)) != -1:
        headers = buffer[position:header_end].decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in headers
            if line.lower().startswith("content-length:")
        )
        start = header_end + 4
        end = start + length + 2  # the JPEG and its CRLF
        if end > len(buffer):
            break
        parts.append(buffer[start : start + length])
        position = end
    return parts, position


async def _stills_round(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    device: Device,
    pre_roll: float,
    clip: Rate,
    sent: Rate,
) -> None:
    """Ring through the device; add the clip's and the device's rates."""
    await until(lambda: ring_span(entry) >= pre_roll, 60)
    saved = SavedClips(hass)
    before, at = await device.sent()
    await device.press()
    await saved.wait([entry], 120)
    after, until_ = await device.sent()
    sent.add(after - before, until_ - at)
    pictures = await asyncio.to_thread(read_clip, saved.path(entry))
    numbers = numbers_of(pictures)
    changes = [b for a, b in itertools.pairwise(pictures) if a.number != b.number]
    clip.add(len(changes), pictures[-1].time - pictures[0].time)
    if len(set(numbers)) != len(changes) + 1:
        raise RuntimeError("a picture came back later in the clip")


async def _mjpeg_round(
    url: str, device: Device, seconds: float, stream: Rate, sent: Rate
) -> None:
    """Read HA's MJPEG stream for ``seconds``; add its and the device's rates."""
    jpegs: list[bytes] = []
    buffer = b""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        if response.status != 200:
            raise RuntimeError(f"the MJPEG stream answered {response.status}")
        first = b""
        while not first:  # the stream's first picture: the device is streaming
            buffer += await response.content.readany()
            parts, used = split_parts(buffer)
            buffer = buffer[used:]
            first = parts[0] if parts else b""
        before, at = await device.sent()
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            buffer += await response.content.readany()
            parts, used = split_parts(buffer)
            buffer = buffer[used:]
            jpegs += parts
        elapsed = time.monotonic() - start
        after, until_ = await device.sent()
    sent.add(after - before, until_ - at)
    numbers = [await asyncio.to_thread(jpeg_number, jpeg) for jpeg in jpegs]
    if None in numbers:
        raise RuntimeError("a picture of the MJPEG stream has no number")
    stream.add(len(set(numbers)), elapsed)


async def _bench(quick: bool) -> dict[str, Rate]:
    rounds = 1 if quick else 2
    pre_roll, post_roll = (1.0, 3.0) if quick else (2.0, 8.0)
    mjpeg_seconds = 3.0 if quick else 10.0
    rates = {name: Rate() for name in ("clip", "sent_stills", "mjpeg", "sent_mjpeg")}
    key = base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory() as folder:
        control = Path(folder) / "device.sock"
        async with child(
            "benchmarks._esp32_device",
            *("--key", key, "--control", str(control)),
            cores=other_cores(),
        ) as (_, port):
            device = Device(control)
            async with home_assistant() as hass:
                esphome = MockConfigEntry(
                    domain="esphome",
                    data={
                        "host": "127.0.0.1",
                        "port": int(port),
                        "password": "",
                        "noise_psk": key,
                        "device_name": "peephole-doorbell",
                    },
                )
                esphome.add_to_hass(hass)
                await hass.config_entries.async_setup(esphome.entry_id)
                await until(
                    lambda: hass.states.get(CAMERA) and hass.states.get(BUTTON), 30
                )
                entry = await add_doorbell(
                    hass,
                    CAMERA,
                    pre_roll=pre_roll,
                    post_roll=post_roll,
                    fps=FEED_FPS,
                    zones=[STREET],
                    button=BUTTON,
                )
                doorbell = peephole(entry)
                source = doorbell.source
                if source is None:
                    raise RuntimeError("no source")
                app = web.Application()

                async def mjpeg(request: web.Request) -> web.StreamResponse:
                    response = await async_get_mjpeg_stream(hass, request, CAMERA)
                    return response or web.Response(status=500)

                app.router.add_get("/mjpeg", mjpeg)
                runner = web.AppRunner(app)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                url = f"http://127.0.0.1:{runner.addresses[0][1]}/mjpeg"
                try:
                    for _ in range(rounds):
                        doorbell.async_set_privacy_mode(False)
                        await _stills_round(
                            hass,
                            entry,
                            device,
                            pre_roll,
                            rates["clip"],
                            rates["sent_stills"],
                        )
                        if source.mode is None or source.mode.value != "stills":
                            raise RuntimeError(
                                f"Peephole read the camera as {source.mode}"
                            )
                        doorbell.async_set_privacy_mode(True)
                        await until(lambda: not source.feed.running, 10)
                        await _mjpeg_round(
                            url,
                            device,
                            mjpeg_seconds,
                            rates["mjpeg"],
                            rates["sent_mjpeg"],
                        )
                finally:
                    await runner.cleanup()
    return rates


def run(*, quick: bool) -> Iterator[Measurement]:
    """Yield the ESP32-CAM figures."""
    logging.getLogger().setLevel(logging.CRITICAL)
    rates = asyncio.run(_bench(quick))
    clip, mjpeg = rates["clip"].fps, rates["mjpeg"].fps
    yield measurement("stills_clip_fps_esp32_realistic", clip, "fps")
    yield measurement("esp32_device_fps_stills", rates["sent_stills"].fps, "fps")
    yield measurement(
        "stills_clip_vs_device_esp32", clip / rates["sent_stills"].fps, "ratio"
    )
    yield measurement("esp32_mjpeg_fps", mjpeg, "fps")
    yield measurement("esp32_device_fps_mjpeg", rates["sent_mjpeg"].fps, "fps")
    yield measurement("esp32_mjpeg_vs_stills", mjpeg / clip, "x")
