"""Peephole's actions, registered once in async_setup."""

from __future__ import annotations

from dataclasses import replace

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import voluptuous as vol

from .const import CONF_ZONES, DOMAIN
from .doorbell import PeepholeConfigEntry
from .zones import zones_to_storage

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
SERVICE_SET_ZONE = "set_zone"
ATTR_ZONE = "zone"
ATTR_ENABLED = "enabled"

SET_ZONE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_ZONE): cv.string,
        vol.Required(ATTR_ENABLED): cv.boolean,
    }
)


def async_get_entry(hass: HomeAssistant, entry_id: str) -> PeepholeConfigEntry:
    """Return a loaded Peephole entry, or raise a translated validation error."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"name": entry.title},
        )
    return entry


async def _async_set_zone(call: ServiceCall) -> None:
    """Enable or disable one named privacy zone (admin only)."""
    entry = async_get_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    name: str = call.data[ATTR_ZONE]
    zones = entry.runtime_data.zones
    folded = name.strip().casefold()
    if not any(zone.name.strip().casefold() == folded for zone in zones):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_zone",
            translation_placeholders={"zone": name, "name": entry.title},
        )
    updated = [
        replace(zone, enabled=call.data[ATTR_ENABLED])
        if zone.name.strip().casefold() == folded
        else zone
        for zone in zones
    ]
    # The entry's update listener applies the new zones at once (no reload).
    call.hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_ZONES: zones_to_storage(updated)}
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register Peephole's actions."""
    async_register_admin_service(
        hass, DOMAIN, SERVICE_SET_ZONE, _async_set_zone, schema=SET_ZONE_SCHEMA
    )
