"""The Doorbell panel's HTTP view: an evidence export, downloaded by an administrator.

``GET /api/peephole/exports/<entry_id>/<file>`` serves a zip that
``export_clips`` (or the panel's export) wrote, as an attachment. The file name
must be an export's name (``export-<time>-<hex>.zip``) and the file a regular file
in that entry's exports folder, so nothing from the request reaches a path but a
name checked against a strict pattern. Administrators only (the panel gives the
browser a signed path, since a download cannot send the Authorization header);
everyone else gets a translated error in the browser's language.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Final

from aiohttp import hdrs, web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .export import EXPORT_RE
from .i18n import available_languages, negotiate
from .share_media import exports_dir
from .websocket import EditorError, async_error_message

EXPORT_URL: Final = "/api/peephole/exports/{entry_id}/{filename}"
DATA_LANGUAGES: Final[HassKey[frozenset[str]]] = HassKey(f"{DOMAIN}_languages")
NO_STORE: Final = {"Cache-Control": "no-store"}


def export_url(entry_id: str, filename: str) -> str:
    """Return the relative URL of an export's download."""
    return EXPORT_URL.format(entry_id=entry_id, filename=filename)


async def async_languages(hass: HomeAssistant) -> frozenset[str]:
    """Return the languages Peephole has translations for (read once)."""
    if (languages := hass.data.get(DATA_LANGUAGES)) is None:
        languages = await hass.async_add_executor_job(available_languages)
        hass.data[DATA_LANGUAGES] = languages
    return languages


async def async_request_language(hass: HomeAssistant, request: web.Request) -> str:
    """Return the language of a request's Accept-Language that Peephole has."""
    return negotiate(
        request.headers.get(hdrs.ACCEPT_LANGUAGE), await async_languages(hass)
    )


async def async_json_error(
    view: HomeAssistantView,
    request: web.Request,
    status: HTTPStatus,
    key: str,
    placeholders: dict[str, str] | None = None,
) -> web.Response:
    """Answer a translated error ``{"code", "message"}`` (never cached)."""
    hass = request.app[KEY_HASS]
    language = await async_request_language(hass, request)
    message = await async_error_message(
        hass, language, EditorError(key, "exceptions", placeholders or {})
    )
    return view.json_message(message, status, message_code=key, headers=NO_STORE)


def _export_file(directory: Path, filename: str) -> Path | None:
    """Return the export's path if it is a regular file there (blocking)."""
    path = directory / filename
    if path.is_file() and not path.is_symlink():
        return path
    return None


class ExportDownloadView(HomeAssistantView):
    """Serve an evidence export to an administrator, as a download."""

    url = EXPORT_URL
    name = "api:peephole:export"
    requires_auth = True

    async def get(
        self, request: web.Request, entry_id: str, filename: str
    ) -> web.StreamResponse:
        """Send the zip (or a translated error)."""
        hass = request.app[KEY_HASS]
        if not request[KEY_HASS_USER].is_admin:
            return await async_json_error(
                self, request, HTTPStatus.FORBIDDEN, "admin_required"
            )
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            return await async_json_error(
                self,
                request,
                HTTPStatus.NOT_FOUND,
                "entry_not_found",
                {"entry_id": entry_id[:64]},
            )
        path = None
        if EXPORT_RE.fullmatch(filename):
            path = await hass.async_add_executor_job(
                _export_file, exports_dir(hass, entry_id), filename
            )
        if path is None:
            return await async_json_error(
                self,
                request,
                HTTPStatus.NOT_FOUND,
                "export_not_found",
                {"file": filename[:64]},
            )
        return web.FileResponse(
            path,
            headers={
                **NO_STORE,
                hdrs.CONTENT_TYPE: "application/zip",
                hdrs.CONTENT_DISPOSITION: f'attachment; filename="{filename}"',
                "X-Content-Type-Options": "nosniff",
            },
        )
