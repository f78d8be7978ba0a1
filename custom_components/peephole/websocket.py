"""Admin-only websocket commands of the privacy zone editor panel.

``peephole/zones/list`` lists the doorbells and their zones; ``save`` validates
draft zones exactly as the options flow does and stores them in the entry's
options (the entry's update listener applies them live).

No picture travels over the websocket, masked or not: Home Assistant logs every
websocket message it sends at debug level, so a picture in a websocket response
would land in home-assistant.log whenever someone troubleshoots with debug
logging on. The unmasked snapshot the admin draws on and the preview (masked by
the DRAFT zones only, which may cover far less than the saved ones) come from
the HTTP views of ``zone_editor_views.py`` instead, which share this module's
helpers (entry lookup, draft validation, source frame, translated errors).
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any, Final

from homeassistant.components.camera import async_get_image
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_get_translations
import voluptuous as vol

from .config_flow import ZONE_PLACEHOLDERS
from .const import CONF_CAMERA_ENTITY, CONF_ZONES, DOMAIN, SOURCE_IMAGE_TIMEOUT
from .doorbell import Peephole, PeepholeConfigEntry
from .zones import (
    MAX_NAME_LENGTH,
    MAX_POINTS,
    MAX_ZONES,
    MIN_POINTS,
    Zone,
    ZoneError,
    zones_from_storage,
    zones_to_storage,
)

TYPE_LIST: Final = "peephole/zones/list"
TYPE_SAVE: Final = "peephole/zones/save"

ATTR_ENTRY_ID: Final = "entry_id"
ATTR_ZONES: Final = "zones"
ATTR_LANGUAGE: Final = "language"

# Error codes that are not zone error keys (those come from zones.ZoneError).
ERR_ENTRY_NOT_FOUND: Final = "entry_not_found"
ERR_ENTRY_NOT_LOADED: Final = "entry_not_loaded"
ERR_PRIVACY_MODE: Final = "zone_editor_privacy_mode"
ERR_SOURCE_IMAGE: Final = "source_image_failed"
ERR_FRAME_DROPPED: Final = "frame_dropped"
ERR_NOTHING_TO_PREVIEW: Final = "zone_editor_nothing_to_preview"
ERR_BAD_REQUEST: Final = "zone_editor_bad_request"

_PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")
# A language tag as the frontend sends it (en, en-GB, zh-Hans, sr-Latn, ...).
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")

_ENTRY_SCHEMA: Final[dict[str | vol.Marker, Any]] = {
    vol.Required(ATTR_ENTRY_ID): str,
    vol.Optional(ATTR_LANGUAGE): str,
}
# Zones are checked by zones_from_storage, so that every mistake gets the
# options flow's error key instead of a generic "invalid_format". The bound only
# guards against a runaway client (more than MAX_ZONES gets "too_many_zones").
ZONES_FIELD: Final[dict[str | vol.Marker, Any]] = {
    vol.Required(ATTR_ZONES): vol.All(list, vol.Length(max=MAX_ZONES * 4)),
}
_ZONES_SCHEMA: Final[dict[str | vol.Marker, Any]] = {**_ENTRY_SCHEMA, **ZONES_FIELD}


class EditorError(Exception):
    """A translated error for the editor: ``code`` is the translation key."""

    def __init__(
        self, code: str, category: str, placeholders: Mapping[str, str]
    ) -> None:
        """Name the translation (``category``: "options" or "exceptions")."""
        super().__init__(code)
        self.code = code
        self.category = category
        self.placeholders = dict(placeholders)

    @classmethod
    def from_zone_error(cls, err: ZoneError) -> EditorError:
        """Return the options flow's error for ``err``."""
        return cls(err.key, "options", {**ZONE_PLACEHOLDERS, **err.placeholders})


@callback
def async_setup_websocket(hass: HomeAssistant) -> None:
    """Register the zone editor's websocket commands (once, in async_setup)."""
    async_register_command(hass, ws_list_zones)
    async_register_command(hass, ws_save_zones)


async def async_error_message(
    hass: HomeAssistant, language: str | None, err: EditorError
) -> str:
    """Return the text of ``err``: the same the options flow (or an action) shows.

    ``language`` is the frontend's; anything that is not a language tag falls back
    to Home Assistant's language.
    """
    if not language or not _LANGUAGE.fullmatch(language):
        language = hass.config.language
    translations = await async_get_translations(hass, language, err.category, {DOMAIN})
    if err.category == "options":
        key = f"component.{DOMAIN}.options.error.{err.code}"
    else:
        key = f"component.{DOMAIN}.exceptions.{err.code}.message"
    text = translations.get(key, err.code)
    return _PLACEHOLDER.sub(
        lambda match: err.placeholders.get(match[1], match[0]), text
    )


async def _async_send_error(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg: dict[str, Any],
    err: EditorError,
) -> None:
    """Send ``err`` with the same text the options flow (or an action) shows."""
    message = await async_error_message(hass, msg.get(ATTR_LANGUAGE), err)
    connection.send_error(msg["id"], err.code, message)


def get_entry(
    hass: HomeAssistant, entry_id: str, *, loaded: bool
) -> PeepholeConfigEntry:
    """Return the Peephole entry ``entry_id`` (loaded, when asked). Raises EditorError."""
    entry: PeepholeConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise EditorError(ERR_ENTRY_NOT_FOUND, "exceptions", {"entry_id": entry_id})
    if loaded and entry.state is not ConfigEntryState.LOADED:
        raise EditorError(ERR_ENTRY_NOT_LOADED, "exceptions", {"name": entry.title})
    return entry


def draft_zones(raw: list[Any]) -> tuple[Zone, ...]:
    """Validate draft zones like the options flow does (names are stripped).

    Raises EditorError with the zone error key.
    """
    cleaned = [
        {**item, "name": item["name"].strip()}
        if isinstance(item, dict) and isinstance(item.get("name"), str)
        else item
        for item in raw
    ]
    try:
        return zones_from_storage(cleaned)
    except ZoneError as err:
        raise EditorError.from_zone_error(err) from err


type ShowCheck = tuple[Peephole, int]


def check_may_show(
    entry: PeepholeConfigEntry, since: ShowCheck | None = None
) -> ShowCheck:
    """Refuse a picture of ``entry`` unless it is loaded and not in privacy mode.

    Checked before the source camera is asked AND again when its frame is there
    (and right before the answer): fetching takes seconds, and privacy mode may
    come on, or the entry unload, meanwhile. Given ``since`` (what the check
    before asking returned), it also refuses when privacy mode came on in between
    and is already off again (also across a reload of the entry): the frame may
    have been taken while it was on. Raises EditorError.
    """
    if entry.state is not ConfigEntryState.LOADED:
        raise EditorError(ERR_ENTRY_NOT_LOADED, "exceptions", {"name": entry.title})
    # The entry's current runtime object (a reload makes a new one).
    peephole = entry.runtime_data
    if since is None:
        private = peephole.privacy_mode
    elif since[0] is peephole:
        private = peephole.private_since(since[1])
    else:
        # Reloaded since: the new runtime came later, so any turn-on of it did
        # too; and the old one may have seen privacy mode come on before it went.
        private = since[0].private_since(since[1]) or peephole.private_since(0)
    if private:
        raise EditorError(ERR_PRIVACY_MODE, "exceptions", {"name": entry.title})
    return peephole, peephole.privacy_turned_on


async def async_source_frame(
    hass: HomeAssistant, entry: PeepholeConfigEntry
) -> tuple[bytes, ShowCheck]:
    """Return a fresh frame of the entry's source camera (unmasked: never keep it).

    Refused while privacy mode is on, also when it came on while the camera was
    being asked (the frame is then dropped). Returns the frame and the check to
    repeat right before answering. Raises EditorError.
    """
    since = check_may_show(entry)
    camera = entry.data[CONF_CAMERA_ENTITY]
    try:
        image = await async_get_image(hass, camera, timeout=SOURCE_IMAGE_TIMEOUT)
    except HomeAssistantError as err:
        raise EditorError(
            ERR_SOURCE_IMAGE, "exceptions", {"entity_id": camera}
        ) from err
    check_may_show(entry, since)
    return image.content, since


@require_admin
@websocket_command({vol.Required("type"): TYPE_LIST})
@callback
def ws_list_zones(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """List every Peephole doorbell with its stored zones."""
    entries: list[dict[str, Any]] = []
    for entry in hass.config_entries.async_entries(DOMAIN):
        loaded = entry.state is ConfigEntryState.LOADED
        peephole = entry.runtime_data if loaded else None
        entries.append(
            {
                "entry_id": entry.entry_id,
                "title": entry.title,
                "state": entry.state.value,
                "loaded": loaded,
                "privacy_mode": bool(peephole and peephole.privacy_mode),
                "camera_entity_id": peephole.masked_camera_entity_id
                if peephole
                else None,
                "zones": list(entry.options.get(CONF_ZONES, [])),
            }
        )
    connection.send_result(
        msg["id"],
        {
            "entries": entries,
            "limits": {
                "min_points": MIN_POINTS,
                "max_points": MAX_POINTS,
                "max_zones": MAX_ZONES,
                "max_name_length": MAX_NAME_LENGTH,
            },
        },
    )


def zones_to_preview(raw: list[Any]) -> tuple[Zone, ...]:
    """Validate draft zones for a preview; at least one must be enabled.

    Without one the "preview" would be the unmasked picture, and it must not be
    shown as if it were masked. Raises EditorError.
    """
    zones = draft_zones(raw)
    if not any(zone.enabled for zone in zones):
        raise EditorError(ERR_NOTHING_TO_PREVIEW, "exceptions", {})
    return zones


@require_admin
@websocket_command({vol.Required("type"): TYPE_SAVE, **_ZONES_SCHEMA})
@async_response
async def ws_save_zones(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """Validate and store zones in the entry's options (applied live)."""
    try:
        entry = get_entry(hass, msg[ATTR_ENTRY_ID], loaded=False)
        zones = draft_zones(msg[ATTR_ZONES])
    except EditorError as err:
        await _async_send_error(hass, connection, msg, err)
        return
    stored = zones_to_storage(zones)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_ZONES: stored}
    )
    if entry.state is ConfigEntryState.SETUP_ERROR:
        # Invalid stored zones keep an entry from starting; valid ones fix it.
        hass.config_entries.async_schedule_reload(entry.entry_id)
    connection.send_result(msg["id"], {"zones": stored})
