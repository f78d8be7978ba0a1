"""Fixtures: a running emulated doorbell on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, Awaitable, Callable
import contextlib
import os
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import format_mac
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

# The emulator speaks through aioesphomeapi's protobuf classes, installed with HA's
# esphome integration requirements (requirements/floor-ha.txt, newest.txt): a missing
# package is an error, not a skip.
from tools.emulator import EmulatedDoorbell

from .common import wait_until


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


type StartDevice = Callable[..., Awaitable[tuple[MockConfigEntry, EmulatedDoorbell]]]


@pytest.fixture
async def start_esphome_device(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_bluetooth: None,
    mock_async_zeroconf: None,
    api_key: str,
) -> AsyncGenerator[StartDevice]:
    """Start an emulator (``EmulatedDoorbell`` keywords) and set it up in HA's esphome.

    Everything started is stopped after the test.
    """
    async with contextlib.AsyncExitStack() as stack:

        async def start(**kwargs: Any) -> tuple[MockConfigEntry, EmulatedDoorbell]:
            device = await stack.enter_async_context(
                EmulatedDoorbell(port=0, key=api_key, **kwargs)
            )
            assert await async_setup_component(hass, "homeassistant", {})
            entry = MockConfigEntry(
                domain="esphome",
                unique_id=format_mac(device.mac),
                data={
                    "host": "127.0.0.1",
                    "port": device.port,
                    "password": "",
                    "noise_psk": api_key,
                    "device_name": device.name,
                },
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            assert entry.state is ConfigEntryState.LOADED
            registry = er.async_get(hass)

            def ready() -> bool:
                entries = er.async_entries_for_config_entry(registry, entry.entry_id)
                return (
                    bool(device.connections)
                    and len(entries) == len(device.config.entities)
                    and all(hass.states.get(e.entity_id) for e in entries)
                )

            await wait_until(ready, 10)

            async def unload() -> None:
                assert await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_block_till_done()

            stack.push_async_callback(unload)
            return entry, device

        yield start


@pytest.fixture
async def esphome_entry(
    start_esphome_device: StartDevice,
) -> tuple[MockConfigEntry, EmulatedDoorbell]:
    """The emulator (with the firmware's 1 fps idle frames) set up in HA's esphome."""
    return await start_esphome_device()
