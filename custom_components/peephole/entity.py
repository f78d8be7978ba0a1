"""Base entity for Peephole."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN
from .doorbell import Peephole


class PeepholeEntity(Entity):
    """An entity of a Peephole doorbell, updated when its runtime object changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, peephole: Peephole, description: EntityDescription) -> None:
        """Initialise the entity."""
        self.peephole = peephole
        self.entity_description = description
        entry = peephole.entry
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Peephole",
            model="Private video doorbell",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow changes of the runtime object."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.peephole.async_add_listener(self.async_write_ha_state)
        )


@callback
def async_forget_missing(
    hass: HomeAssistant,
    peephole: Peephole,
    platform: str,
    descriptions: Iterable[EntityDescription],
    exists: Callable[[EntityDescription], bool],
) -> None:
    """Remove from the registry the entities this entry no longer has.

    For example the motion sensor once its source is unset, or the recording
    entities once recording is turned off.
    """
    registry = er.async_get(hass)
    for description in descriptions:
        if exists(description):
            continue
        unique_id = f"{peephole.entry.entry_id}_{description.key}"
        if entity_id := registry.async_get_entity_id(platform, DOMAIN, unique_id):
            registry.async_remove(entity_id)
