"""Diagnostics: useful content, secrets redacted."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.const import CONF_CAMERA_ENTITY

from .conftest import CAMERA


async def test_diagnostics_redacts_the_signing_secret(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, object],
) -> None:
    secret = init_integration.runtime_data.store.data["secret"]
    assert len(secret) >= 48
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    assert secret not in json.dumps(diagnostics)
    assert diagnostics["storage"] == {"secret": "**REDACTED**"}
    assert diagnostics["entry"]["data"][CONF_CAMERA_ENTITY] == CAMERA
    assert diagnostics["sources"]["camera"] == {"entity_id": CAMERA, "state": "idle"}
    assert diagnostics["privacy_mode"] is False
    assert diagnostics["frames"] == {"masked": 0, "dropped": 0, "dropped_by_reason": {}}
    # The feed (nothing asked for frames yet: recording is off here).
    feed = diagnostics["feeds"]["camera"]
    assert feed["camera"] == CAMERA
    assert feed["state"] == "stopped"
    assert feed["dropped_frames"] == {}
    assert set(feed) >= {
        "source_mode",
        "codec",
        "resolution",
        "source_fps",
        "delivered_fps",
        "reconnects",
    }
    assert "live_view" not in diagnostics["feeds"]


async def test_secret_is_private_and_survives_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, object],
) -> None:
    key = f"peephole.{init_integration.entry_id}"
    secret = init_integration.runtime_data.store.data["secret"]
    assert hass_storage[key]["data"] == {"secret": secret}
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.runtime_data.store.data["secret"] == secret
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
