"""The HTTP view that serves clips and thumbnails to authenticated users.

A request names an entry and a file ``<clip id>.mp4`` or ``<clip id>.jpg``; the id
must be in that entry's index, so nothing from the request ever reaches a path.
The user needs read permission on the doorbell's masked camera.
"""

from __future__ import annotations

from http import HTTPStatus
import re

from aiohttp import web
from homeassistant.auth.permissions.const import POLICY_READ
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.config_entries import ConfigEntryState
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import DOMAIN
from .doorbell import PeepholeConfigEntry

URL_BASE = "/api/peephole/clips"
FILE_RE = re.compile(r"^(?P<clip_id>[0-9T]{15}-[0-9a-f]{8})\.(?P<kind>mp4|jpg)$")


def clip_url(entry_id: str, clip_id: str) -> str:
    """Return the relative URL of a clip's MP4."""
    return f"{URL_BASE}/{entry_id}/{clip_id}.mp4"


def thumbnail_url(entry_id: str, clip_id: str) -> str:
    """Return the relative URL of a clip's thumbnail."""
    return f"{URL_BASE}/{entry_id}/{clip_id}.jpg"


class ClipView(HomeAssistantView):
    """Serve one clip (with Range support) or its masked thumbnail."""

    url = URL_BASE + "/{entry_id}/{filename}"
    name = "api:peephole:clip"
    requires_auth = True

    async def get(
        self, request: web.Request, entry_id: str, filename: str
    ) -> web.StreamResponse:
        """Serve a file of an indexed clip."""
        hass = request.app[KEY_HASS]
        entry: PeepholeConfigEntry | None = hass.config_entries.async_get_entry(
            entry_id
        )
        match = FILE_RE.fullmatch(filename)
        if (
            entry is None
            or entry.domain != DOMAIN
            or entry.state is not ConfigEntryState.LOADED
            or match is None
        ):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        peephole = entry.runtime_data
        camera = peephole.masked_camera_entity_id
        user = request[KEY_HASS_USER]
        if camera is None or not user.permissions.check_entity(camera, POLICY_READ):
            raise Unauthorized(entity_id=camera)
        recorder = peephole.recorder
        clip = recorder.store.get(match["clip_id"]) if recorder else None
        if recorder is None or clip is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        headers = {"Cache-Control": "private, max-age=3600"}
        if match["kind"] == "jpg":
            if not clip.thumbnail:
                return web.Response(status=HTTPStatus.NOT_FOUND)
            headers["Content-Type"] = "image/jpeg"
            return web.FileResponse(
                recorder.store.thumbnail_path(clip), headers=headers
            )
        headers["Content-Type"] = "video/mp4"
        return web.FileResponse(recorder.store.clip_path(clip), headers=headers)
