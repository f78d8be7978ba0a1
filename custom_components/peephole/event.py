"""The doorbell event entity: one `ring` per press, whatever the source."""

from __future__ import annotations

from homeassistant.components.event import (
    EventDeviceClass,
    EventEntity,
    EventEntityDescription,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import EVENT_TYPE_RING
from .doorbell import PeepholeConfigEntry
from .entity import PeepholeEntity

PARALLEL_UPDATES = 0

DOORBELL = EventEntityDescription(
    key="doorbell",
    translation_key="doorbell",
    device_class=EventDeviceClass.DOORBELL,
    event_types=[EVENT_TYPE_RING],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the doorbell event entity."""
    async_add_entities([PeepholeDoorbellEvent(entry.runtime_data, DOORBELL)])


class PeepholeDoorbellEvent(PeepholeEntity, EventEntity):
    """Fires `ring` once for every press of the doorbell."""

    @property
    def available(self) -> bool:
        """Return True while the ring source is available."""
        return self.peephole.ring_available

    async def async_added_to_hass(self) -> None:
        """Subscribe to presses."""
        await super().async_added_to_hass()
        self.async_on_remove(self.peephole.async_add_ring_listener(self._async_ring))

    @callback
    def _async_ring(self, clip_id: str | None) -> None:
        attributes = {"source": self.peephole.ring_entity_id}
        if clip_id is not None:
            attributes["clip_id"] = clip_id  # the clip that records this ring
        self._trigger_event(EVENT_TYPE_RING, attributes)
        self.async_write_ha_state()
