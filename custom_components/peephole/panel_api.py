"""The Doorbell panel's websocket commands: lists and actions, never a picture.

Every command is for administrators only and answers a refusal with a translated
error (``code`` is the translation key, or ``unauthorized`` for a user who is not
an administrator; ``message`` in the frontend's ``language``). Home Assistant
logs every websocket message at debug level, so no picture, clip or export ever
travels here: the timeline gives *signed paths* of Peephole's authenticated HTTP
views (``views.ClipView`` for thumbnails and clips, ``panel_views`` for exports),
which the browser loads as any ``<img>``/``<video>``/download.

The commands call the same functions as Peephole's actions (``services.py``,
``share_services.py``), so the panel and automations behave alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from functools import wraps
from typing import Any, Final

from homeassistant.components.http.auth import async_sign_path
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_UNAUTHORIZED
from homeassistant.components.websocket_api.decorators import (
    async_response,
    websocket_command,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .clips import Clip
from .const import DOMAIN
from .doorbell import PeepholeConfigEntry
from .panel_views import export_url
from .services import (
    async_delete_clip,
    async_get_clip,
    async_get_entry,
    async_get_recorder,
    async_keep_clip,
)
from .share_registry import async_get_registry
from .share_services import async_export
from .sharing import MAX_CLIPS_PER_SHARE, ShareKind
from .timeline import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    TimelineError,
    day_bounds,
    day_counts,
    page,
    parse_day,
)
from .views import thumbnail_url
from .websocket import ATTR_LANGUAGE, EditorError, async_error_message

TYPE_DOORBELLS: Final = "peephole/panel/doorbells"
TYPE_TIMELINE: Final = "peephole/timeline"
TYPE_DAYS: Final = "peephole/timeline/days"
TYPE_KEEP: Final = "peephole/clips/keep"
TYPE_DELETE: Final = "peephole/clips/delete"
TYPE_EXPORT: Final = "peephole/clips/export"

ERR_ADMIN_REQUIRED: Final = "admin_required"
# How long a signed path of a thumbnail (the timeline) or an export download lasts.
THUMBNAIL_EXPIRY: Final = timedelta(minutes=30)
DOWNLOAD_EXPIRY: Final = timedelta(minutes=5)
MAX_FILTER: Final = 32
MAX_DAYS: Final = 400
OPTIONS_URL: Final = f"/config/integrations/integration/{DOMAIN}"

type Handler = Callable[
    [HomeAssistant, ActiveConnection, dict[str, Any]], Awaitable[None]
]

_ENTRY_IDS: Final = vol.All([str], vol.Length(min=1, max=MAX_FILTER))
_TRIGGERS: Final = vol.All(
    [vol.All(str, vol.Length(max=32))], vol.Length(max=MAX_FILTER)
)
_CLIP_ID: Final = vol.All(str, vol.Length(max=64))


async def _async_send_error(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg: dict[str, Any],
    key: str,
    placeholders: dict[str, str] | None,
    code: str | None = None,
) -> None:
    """Send a translated error: its text in the frontend's language."""
    placeholders = {k: str(v) for k, v in (placeholders or {}).items()}
    message = await async_error_message(
        hass, msg.get(ATTR_LANGUAGE), EditorError(key, "exceptions", placeholders)
    )
    connection.send_error(
        msg["id"],
        code or key,
        message,
        translation_key=key,
        translation_domain=DOMAIN,
        translation_placeholders=placeholders,
    )


def panel_command(
    command: str, schema: dict[str | vol.Marker, Any] | None = None
) -> Callable[[Handler], Any]:
    """Register-ready websocket handler: administrators only, translated errors."""

    def decorate(func: Handler) -> Any:
        @wraps(func)
        async def handle(
            hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
        ) -> None:
            user = connection.user
            if user is None or not user.is_admin:
                await _async_send_error(
                    hass, connection, msg, ERR_ADMIN_REQUIRED, None, ERR_UNAUTHORIZED
                )
                return
            try:
                await func(hass, connection, msg)
            except TimelineError as err:
                await _async_send_error(
                    hass, connection, msg, err.key, err.placeholders
                )
            except HomeAssistantError as err:
                if err.translation_key is None or err.translation_domain != DOMAIN:
                    raise
                await _async_send_error(
                    hass,
                    connection,
                    msg,
                    err.translation_key,
                    err.translation_placeholders,
                )

        return websocket_command(
            {
                vol.Required("type"): command,
                vol.Optional(ATTR_LANGUAGE): vol.All(str, vol.Length(max=35)),
                **(schema or {}),
            }
        )(async_response(handle))

    return decorate


# --- doorbells -------------------------------------------------------------------


def _entities(hass: HomeAssistant, entry_id: str) -> dict[str, str | None]:
    """Return the entity ids of a doorbell's entities the panel and card use."""
    registry = er.async_get(hass)
    wanted = {
        "camera": (Platform.CAMERA, "camera"),
        "doorbell": (Platform.EVENT, "doorbell"),
        "privacy_mode": (Platform.SWITCH, "privacy_mode"),
        "motion": (Platform.BINARY_SENSOR, "motion"),
        "recording": (Platform.BINARY_SENSOR, "recording"),
    }
    return {
        name: registry.async_get_entity_id(platform, DOMAIN, f"{entry_id}_{key}")
        for name, (platform, key) in wanted.items()
    }


def _loaded(entry: PeepholeConfigEntry) -> bool:
    return entry.state is ConfigEntryState.LOADED


@panel_command(TYPE_DOORBELLS)
async def ws_doorbells(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """List every Peephole doorbell with what the panel shows of it."""
    doorbells = []
    for entry in hass.config_entries.async_entries(DOMAIN):
        loaded = _loaded(entry)
        peephole = entry.runtime_data if loaded else None
        doorbells.append(
            {
                "entry_id": entry.entry_id,
                "title": entry.title,
                "state": entry.state.value,
                "loaded": loaded,
                "recording": bool(peephole and peephole.recorder is not None),
                "privacy_mode": bool(peephole and peephole.privacy_mode),
                "entities": _entities(hass, entry.entry_id),
            }
        )
    connection.send_result(
        msg["id"],
        {
            "doorbells": doorbells,
            "today": dt_util.now().date().isoformat(),
            "time_zone": str(dt_util.get_default_time_zone()),
            "options_url": OPTIONS_URL,
            "limits": {"page": MAX_LIMIT, "export": MAX_CLIPS_PER_SHARE},
        },
    )


# --- timeline ----------------------------------------------------------------------


def _sources(
    hass: HomeAssistant, entry_ids: list[str] | None
) -> list[tuple[str, Iterable[Clip]]]:
    """Return ``(entry id, clips)`` of the asked (or every) recording doorbell.

    A doorbell asked for by id must exist, be loaded and record (translated
    errors otherwise); without a filter, doorbells that do not record are left out.
    """
    if entry_ids is not None:
        sources: list[tuple[str, Iterable[Clip]]] = []
        for entry_id in dict.fromkeys(entry_ids):
            entry, recorder = async_get_recorder(hass, entry_id)
            sources.append((entry.entry_id, recorder.store.clips.values()))
        return sources
    return [
        (entry.entry_id, recorder.store.clips.values())
        for entry in hass.config_entries.async_entries(DOMAIN)
        if _loaded(entry) and (recorder := entry.runtime_data.recorder) is not None
    ]


def _clip_shares(hass: HomeAssistant) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Return the links that include each clip: ``(entry id, clip id)`` → shares."""
    registry = async_get_registry(hass)
    now = dt_util.utcnow()
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for share in registry.shares.values():
        if share.kind is not ShareKind.CLIPS:
            continue
        state = registry.state_of(share, now)
        for clip_id in share.clip_ids:
            found.setdefault((share.entry_id, clip_id), []).append(
                {"share_id": share.id, "recipient": share.recipient, "state": state}
            )
    return found


def clip_data(
    hass: HomeAssistant,
    connection: ActiveConnection,
    entry_id: str,
    clip: Clip,
    shares: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return a clip as the panel shows it (its thumbnail as a signed path)."""
    return {
        "entry_id": entry_id,
        "id": clip.id,
        "start": clip.start.isoformat(),
        "duration": clip.duration,
        "size": clip.size,
        "trigger": clip.trigger,
        "keep": clip.keep,
        "incomplete": clip.incomplete,
        "thumbnail": async_sign_path(
            hass,
            thumbnail_url(entry_id, clip.id),
            THUMBNAIL_EXPIRY,
            refresh_token_id=connection.refresh_token_id,
        )
        if clip.thumbnail
        else None,
        "shares": shares,
    }


def _triggers(msg: dict[str, Any]) -> frozenset[str] | None:
    triggers = msg.get("triggers")
    return frozenset(triggers) if triggers else None


async def async_timeline_page(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> dict[str, Any]:
    """Return one page of a day (the command's answer; also what the bench times)."""
    day = parse_day(msg["day"])
    start, end = day_bounds(day, dt_util.get_default_time_zone())
    result = page(
        _sources(hass, msg.get("entry_ids")),
        start=start,
        end=end,
        triggers=_triggers(msg),
        cursor=msg.get("cursor"),
        limit=msg.get("limit", DEFAULT_LIMIT),
    )
    shares = _clip_shares(hass) if result.items else {}
    return {
        "day": day.isoformat(),
        "clips": [
            clip_data(
                hass,
                connection,
                item.entry_id,
                item.clip,
                shares.get((item.entry_id, item.clip.id), []),
            )
            for item in result.items
        ],
        "cursor": result.cursor,
    }


@panel_command(
    TYPE_TIMELINE,
    {
        vol.Required("day"): vol.All(str, vol.Length(max=32)),
        vol.Optional("entry_ids"): _ENTRY_IDS,
        vol.Optional("triggers"): _TRIGGERS,
        vol.Optional("cursor"): vol.All(str, vol.Length(max=128)),
        vol.Optional("limit", default=DEFAULT_LIMIT): vol.All(
            int, vol.Range(min=1, max=MAX_LIMIT)
        ),
    },
)
async def ws_timeline(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer one day's clips, newest first, one page at a time."""
    connection.send_result(msg["id"], await async_timeline_page(hass, connection, msg))


@panel_command(
    TYPE_DAYS,
    {vol.Optional("entry_ids"): _ENTRY_IDS, vol.Optional("triggers"): _TRIGGERS},
)
async def ws_days(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer the days that have clips (newest first) and how many, for the day picker."""
    counts = day_counts(
        _sources(hass, msg.get("entry_ids")),
        dt_util.get_default_time_zone(),
        _triggers(msg),
    )
    connection.send_result(
        msg["id"],
        {
            "days": [
                {"day": day, "count": count}
                for day, count in list(counts.items())[:MAX_DAYS]
            ]
        },
    )


# --- clip actions ----------------------------------------------------------------------

_CLIP_SCHEMA: Final[dict[str | vol.Marker, Any]] = {
    vol.Required("entry_id"): str,
    vol.Required("clip_id"): _CLIP_ID,
}


@panel_command(TYPE_KEEP, {**_CLIP_SCHEMA, vol.Required("keep"): bool})
async def ws_keep(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Keep a clip (or not): what the keep_clip action does."""
    await async_keep_clip(hass, msg["entry_id"], msg["clip_id"], msg["keep"])
    _, clip = async_get_clip(hass, msg["entry_id"], msg["clip_id"])
    connection.send_result(msg["id"], {"id": clip.id, "keep": clip.keep})


@panel_command(TYPE_DELETE, _CLIP_SCHEMA)
async def ws_delete(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Delete a clip now: what the delete_clip action does."""
    await async_delete_clip(hass, msg["entry_id"], msg["clip_id"])
    connection.send_result(msg["id"], {"id": msg["clip_id"], "deleted": True})


@panel_command(
    TYPE_EXPORT,
    {
        vol.Required("entry_id"): str,
        vol.Required("clip_ids"): vol.All(
            [_CLIP_ID], vol.Length(min=1, max=MAX_CLIPS_PER_SHARE)
        ),
        vol.Optional("share_id"): vol.All(str, vol.Length(max=64)),
    },
)
async def ws_export(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Export clips (what export_clips does) and give a signed path to download it.

    The zip itself never comes over the websocket: the answer names it and the
    admin-only download view serves it.
    """
    entry = async_get_entry(hass, msg["entry_id"])
    result = await async_export(hass, entry, msg["clip_ids"], msg.get("share_id"))
    connection.send_result(
        msg["id"],
        {
            "file": result["file"],
            "sha256": result["sha256"],
            "clips": result["clips"],
            "download": async_sign_path(
                hass,
                export_url(entry.entry_id, result["file"]),
                DOWNLOAD_EXPIRY,
                refresh_token_id=connection.refresh_token_id,
            ),
        },
    )


@callback
def async_setup_panel_api(hass: HomeAssistant) -> None:
    """Register the panel's commands (once, in async_setup)."""
    for command in (ws_doorbells, ws_timeline, ws_days, ws_keep, ws_delete, ws_export):
        async_register_command(hass, command)
