"""Repair issues for problems the user can fix."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir

from .const import (
    CONF_CAMERA_ENTITY,
    CONF_MOTION_ENTITY,
    CONF_RING_ENTITY,
    DOMAIN,
    ISSUE_SOURCE_MISSING,
)

SOURCE_ROLES = (CONF_CAMERA_ENTITY, CONF_RING_ENTITY, CONF_MOTION_ENTITY)


def issue_id(entry: ConfigEntry, role: str) -> str:
    """Return the repair issue id for a missing source of an entry."""
    return f"{ISSUE_SOURCE_MISSING}_{entry.entry_id}_{role}"


@callback
def async_check_sources(
    hass: HomeAssistant, entry: ConfigEntry, removed: str | None = None
) -> None:
    """Raise (or clear) a repair issue for each configured source that is gone.

    A source is gone when it is neither registered nor has a state, or when its
    registry entry was just removed (``removed``).
    """
    registry = er.async_get(hass)
    for role in SOURCE_ROLES:
        entity_id = entry.data.get(role)
        if not entity_id:
            ir.async_delete_issue(hass, DOMAIN, issue_id(entry, role))
            continue
        missing = entity_id == removed or (
            registry.async_get(entity_id) is None and hass.states.get(entity_id) is None
        )
        if missing:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id(entry, role),
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_SOURCE_MISSING,
                translation_placeholders={"entity_id": entity_id, "name": entry.title},
            )
        else:
            ir.async_delete_issue(hass, DOMAIN, issue_id(entry, role))


@callback
def async_clear_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove every issue of an entry (when the entry is removed)."""
    for role in SOURCE_ROLES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(entry, role))
