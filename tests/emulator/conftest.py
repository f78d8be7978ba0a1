"""Fixtures: a running emulated doorbell on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
import os

import pytest

# The emulator speaks through aioesphomeapi's protobuf classes (installed with
# HA's esphome integration requirements, requirements/ha-extras.txt).
pytest.importorskip("aioesphomeapi")
pytest.importorskip("noise")

from tools.emulator import EmulatedDoorbell


@pytest.fixture
def api_key() -> str:
    """A fresh API encryption key."""
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
async def device(
    socket_enabled: None, api_key: str
) -> AsyncGenerator[EmulatedDoorbell]:
    """An encrypted emulated doorbell on a free port (no idle frames)."""
    async with EmulatedDoorbell(port=0, key=api_key, idle_fps=0) as emulated:
        yield emulated


@pytest.fixture
async def plain_device(socket_enabled: None) -> AsyncGenerator[EmulatedDoorbell]:
    """A plaintext emulated doorbell on a free port (no idle frames)."""
    async with EmulatedDoorbell(port=0, idle_fps=0) as emulated:
        yield emulated
