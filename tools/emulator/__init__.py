"""An emulated Peephole doorbell that speaks the ESPHome native API (device side).

Run ``python -m tools.emulator --help``; from Python::

    from tools.emulator import EmulatedDoorbell

    async with EmulatedDoorbell(port=0, key=KEY) as device:
        await device.press()
"""

from .device import EmulatedDoorbell

__all__ = ["EmulatedDoorbell"]
