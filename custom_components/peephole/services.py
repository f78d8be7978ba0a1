"""Peephole's actions, registered once in async_setup."""

from __future__ import annotations

from dataclasses import replace

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import voluptuous as vol

from .clips import Clip
from .const import CONF_ZONES, DOMAIN
from .doorbell import PeepholeConfigEntry
from .recording import ClipRecorder
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


SERVICE_RECORD_CLIP = "record_clip"
SERVICE_KEEP_CLIP = "keep_clip"
SERVICE_DELETE_CLIP = "delete_clip"
ATTR_DURATION = "duration"
ATTR_CLIP_ID = "clip_id"
ATTR_KEEP = "keep"

RECORD_CLIP_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_DURATION): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=600)
        ),
    }
)
CLIP_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_CLIP_ID): cv.string,
    }
)
KEEP_CLIP_SCHEMA = CLIP_SCHEMA.extend(
    {vol.Optional(ATTR_KEEP, default=True): cv.boolean}
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


def async_get_recorder(
    hass: HomeAssistant, entry_id: str
) -> tuple[PeepholeConfigEntry, ClipRecorder]:
    """Return a loaded entry and its recorder, or raise a validation error."""
    entry = async_get_entry(hass, entry_id)
    if (recorder := entry.runtime_data.recorder) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="recording_disabled",
            translation_placeholders={"name": entry.title},
        )
    return entry, recorder


def async_get_clip(
    hass: HomeAssistant, entry_id: str, clip_id: str
) -> tuple[ClipRecorder, Clip]:
    """Return the recorder and an indexed clip of an entry, or raise an error."""
    entry, recorder = async_get_recorder(hass, entry_id)
    if (clip := recorder.store.get(clip_id)) is not None:
        return recorder, clip
    # A ring or a record_clip call gave out this id, but the clip was never saved.
    placeholders = {"clip_id": clip_id, "name": entry.title}
    if (disk_full := recorder.not_recorded(clip_id)) is None:
        key = "unknown_clip"
    elif disk_full:
        key = "clip_not_recorded_disk_full"
        placeholders["path"] = str(recorder.store.directory)
    else:
        key = "clip_not_recorded"
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


async def async_keep_clip(
    hass: HomeAssistant, entry_id: str, clip_id: str, keep: bool
) -> None:
    """Keep a clip (retention never removes it), or let retention have it again.

    A clip still being recorded (a notification's Keep button is tapped at
    once) is indexed as kept when it is saved; the flag is on disk before this
    answers, so a crash meanwhile recovers the clip kept. The keep_clip action
    and the panel both come here.
    """
    _, recorder = async_get_recorder(hass, entry_id)
    if recorder.store.get(clip_id) is None and await recorder.async_set_keep_unsaved(
        clip_id, keep
    ):
        return
    recorder, clip = async_get_clip(hass, entry_id, clip_id)
    await recorder.async_set_keep(clip, keep)


async def async_delete_clip(hass: HomeAssistant, entry_id: str, clip_id: str) -> None:
    """Delete one clip now (the delete_clip action and the panel)."""
    recorder, clip = async_get_clip(hass, entry_id, clip_id)
    await recorder.async_delete(clip)


async def _async_record_clip(call: ServiceCall) -> None:
    """Record a clip now (with the pre-roll), or extend the one being recorded."""
    entry, recorder = async_get_recorder(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    if recorder.async_trigger("action", call.data.get(ATTR_DURATION)):
        return
    if entry.runtime_data.privacy_mode:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="privacy_mode_on",
            translation_placeholders={"name": entry.title},
        )
    raise HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="disk_full",
        translation_placeholders={
            "name": entry.title,
            "path": str(recorder.store.directory),
        },
    )


async def _async_keep_clip(call: ServiceCall) -> None:
    """Keep a clip, or let retention have it again."""
    await async_keep_clip(
        call.hass,
        call.data[ATTR_CONFIG_ENTRY_ID],
        call.data[ATTR_CLIP_ID],
        call.data[ATTR_KEEP],
    )


async def _async_delete_clip(call: ServiceCall) -> None:
    """Delete one clip now."""
    await async_delete_clip(
        call.hass, call.data[ATTR_CONFIG_ENTRY_ID], call.data[ATTR_CLIP_ID]
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register Peephole's actions."""
    async_register_admin_service(
        hass, DOMAIN, SERVICE_SET_ZONE, _async_set_zone, schema=SET_ZONE_SCHEMA
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_RECORD_CLIP,
        _async_record_clip,
        schema=RECORD_CLIP_SCHEMA,
    )
    async_register_admin_service(
        hass, DOMAIN, SERVICE_KEEP_CLIP, _async_keep_clip, schema=KEEP_CLIP_SCHEMA
    )
    async_register_admin_service(
        hass, DOMAIN, SERVICE_DELETE_CLIP, _async_delete_clip, schema=CLIP_SCHEMA
    )
