"""The emulated ESP32-CAM doorbell for the benchmarks: ``python -m benchmarks._esp32_device``.

tools.emulator's doorbell with a real device's timing (the ``esp32-cam``
profile: a 10 fps sensor, 300 kB/s of Wi-Fi, jitter, bad frames, stalls; see
tools/emulator/timing.py), speaking the encrypted ESPHome native API, whose
porch pictures also carry a number: the barcode band of tools.streams, drawn
over the porch floor, counting every picture the camera sends. So a clip, or an
MJPEG stream, says which of the device's pictures it holds, however alike two
pictures look. Apart from the band the pictures (and their JPEG size, about
32 kB at quality 80) are the emulator's own.

Prints the API port once it listens; ``--control`` serves the emulator's control
socket (``press``, ``status`` with the camera's counters). Runs until
terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
from pathlib import Path
import signal
import threading

import numpy as np
from PIL import Image

from tools.emulator import EmulatedDoorbell
from tools.emulator.control import serve_control
from tools.emulator.scene import PorchScene
from tools.emulator.timing import ESP32_CAM
from tools.streams.scene import MAX_FRAMES, barcode_bits, barcode_cells, barcode_rows


class NumberedPorchScene(PorchScene):
    """The porch scene with each picture's number in a barcode band."""

    def __init__(self, width: int, height: int) -> None:
        """Draw the background once; numbers start at 0."""
        super().__init__(width, height)
        self._numbers = itertools.count()
        self._lock = threading.Lock()  # pictures are rendered in the executor

    def jpeg(self, t: float, *, visitor: bool = False) -> bytes:
        """Return the picture at time ``t`` with the next number, as a JPEG."""
        with self._lock:
            number = next(self._numbers) % MAX_FRAMES
        pixels = np.array(self.render(t, visitor=visitor))
        top, bottom = barcode_rows(self.height)
        for (left, right), bit in zip(
            barcode_cells(self.width), barcode_bits(number), strict=True
        ):
            pixels[top:bottom, left:right] = 255 if bit else 0
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="JPEG", quality=self.quality)
        return out.getvalue()


async def _serve(key: str, control: Path) -> None:
    device = EmulatedDoorbell(port=0, key=key, timing=ESP32_CAM)
    device.scene = NumberedPorchScene(device.scene.width, device.scene.height)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with device:
        server = await serve_control(device, control)
        print(device.port, flush=True)
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._esp32_device")
    parser.add_argument("--key", required=True, help="base64 Noise key")
    parser.add_argument("--control", type=Path, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.key, args.control))


if __name__ == "__main__":
    main()
