"""The source entities Peephole reads from: hiding, renames and removals."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.start import async_at_started

from .const import DOMAIN, LOGGER
from .repairs import SOURCE_ROLES, async_check_sources


@callback
def async_hide_source_camera(hass: HomeAssistant, entity_id: str) -> None:
    """Hide the unmasked source camera from dashboards (Peephole's camera replaces it).

    Hiding is a dashboard convenience, not access control: administrators can still
    open the source camera. Only a camera nobody hid yet is hidden, so that removing
    Peephole later gives back exactly what was there.
    """
    registry = er.async_get(hass)
    if (entry := registry.async_get(entity_id)) is None:
        LOGGER.debug("Source camera %s has no registry entry; not hidden", entity_id)
        return
    if entry.platform == DOMAIN or entry.hidden_by is not None:
        return
    registry.async_update_entity(entity_id, hidden_by=er.RegistryEntryHider.INTEGRATION)


@callback
def async_unhide_source_camera(hass: HomeAssistant, entity_id: str) -> None:
    """Undo `async_hide_source_camera` (one entry per camera, so nothing else uses it)."""
    registry = er.async_get(hass)
    entry = registry.async_get(entity_id)
    if entry is not None and entry.hidden_by is er.RegistryEntryHider.INTEGRATION:
        registry.async_update_entity(entity_id, hidden_by=None)


@callback
def async_track_sources(hass: HomeAssistant, entry: ConfigEntry) -> CALLBACK_TYPE:
    """Follow renames of the source entities and raise repairs when one is removed."""
    unsubs: list[CALLBACK_TYPE] = []

    @callback
    def _registry_updated(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        data = event.data
        if data["action"] == "remove":
            async_check_sources(hass, entry, removed=data["entity_id"])
            return
        if data["action"] == "update" and "old_entity_id" in data:
            old_id = data["old_entity_id"]
            updates = {
                role: data["entity_id"]
                for role in SOURCE_ROLES
                if entry.data.get(role) == old_id
            }
            if updates:
                LOGGER.info("Source %s was renamed to %s", old_id, data["entity_id"])
                # Updating the entry reloads it through the update listener.
                hass.config_entries.async_update_entry(
                    entry, data={**entry.data, **updates}
                )
                return
        async_check_sources(hass, entry)

    @callback
    def _is_ours(data: er.EventEntityRegistryUpdatedData) -> bool:
        watched = {entry.data.get(role) for role in SOURCE_ROLES} - {None}
        return data["entity_id"] in watched or data.get("old_entity_id") in watched

    unsubs.append(
        hass.bus.async_listen(
            er.EVENT_ENTITY_REGISTRY_UPDATED, _registry_updated, event_filter=_is_ours
        )
    )

    @callback
    def _check_when_started(_hass: HomeAssistant) -> None:
        async_check_sources(hass, entry)

    # Sources set up by other integrations may still be loading: check once started.
    unsubs.append(async_at_started(hass, _check_when_started))

    @callback
    def _unsubscribe() -> None:
        for unsub in unsubs:
            unsub()

    return _unsubscribe
