"""Fixtures for the blueprint tests: the blueprints in a config dir, phones, recording."""

from __future__ import annotations

from pathlib import Path
import shutil

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.peephole.const import (
    CONF_FEED_FPS,
    CONF_MAX_CLIP_LENGTH,
    CONF_MIN_FREE_MB,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
)

from .common import PEEPHOLE_BLUEPRINTS, PHONES, mock_services, until


@pytest.fixture
async def blueprint_config(
    hass: HomeAssistant, tmp_path: Path, init_integration: MockConfigEntry
) -> Path:
    """Point HA at a temporary config dir holding the project's blueprints.

    phcc's default config dir lives inside site-packages and is shared: never write there.
    """
    hass.config.config_dir = str(tmp_path)
    target = Path(hass.config.path("blueprints", "automation", "peephole"))
    await hass.async_add_executor_job(
        lambda: shutil.copytree(PEEPHOLE_BLUEPRINTS, target)
    )
    return target


@pytest.fixture
async def recording(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> MockConfigEntry:
    """Turn recording on for the entry, as its options flow does (the entry reloads).

    Recording is off in ordinary tests (tests/conftest.py); with this fixture
    ``peephole.record_clip``/``keep_clip`` run for real (real ffmpeg, real time: those
    tests do not freeze the clock).
    """
    hass.config_entries.async_update_entry(
        init_integration,
        options={
            **init_integration.options,
            CONF_RECORD: True,
            CONF_PRE_ROLL: 1.0,
            CONF_POST_ROLL: 1.0,
            CONF_MAX_CLIP_LENGTH: 5.0,
            CONF_FEED_FPS: 5,
            CONF_MIN_FREE_MB: 0,
        },
    )
    await hass.async_block_till_done()
    recorder = init_integration.runtime_data.recorder
    assert recorder is not None
    await until(lambda: len(recorder.buffer) >= 2)  # some pre-roll
    return init_integration


@pytest.fixture
def phones(hass: HomeAssistant) -> dict[str, str]:
    """Two Companion app devices in the device registry: name -> device id."""
    device_ids = {}
    for name in PHONES:
        entry = MockConfigEntry(domain="mobile_app", title=name, data={})
        entry.add_to_hass(hass)
        device = dr.async_get(hass).async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={("mobile_app", name)},
            name=name,
            manufacturer="Test",
        )
        device_ids[name] = device.id
    return device_ids


@pytest.fixture
def notify_calls(hass: HomeAssistant) -> dict[str, list[ServiceCall]]:
    """Capture the phones' notify services."""
    return mock_services(hass, *(f"notify.{service}" for service in PHONES.values()))
