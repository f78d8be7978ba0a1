"""The zone editor's UNMASKED snapshot, over HTTP, for administrators only.

``GET /api/peephole/zones/<entry_id>/snapshot[?language=xx]`` answers with a fresh
JPEG of the doorbell's source camera, exactly as the camera served it, so that
the admin drawing privacy zones sees what to cover. It is the only place Peephole
itself shows an unmasked frame (DESIGN.md, invariant 1).

Why HTTP and not the websocket like the editor's other commands: Home Assistant
logs every websocket message it sends at debug level ("Sending ..."), so a
picture in a websocket response would be written to home-assistant.log by anyone
who turns on debug logging to troubleshoot. An HTTP body is never logged (the
access log has the request line only), and the frame here only exists in local
variables and in the response: no cache, no file, no log, no state. The response
says ``Cache-Control: no-store`` so that the browser does not keep it either.

Errors are the editor's translated errors, as JSON ``{"code", "message"}`` (the
same text the websocket commands send), with a matching status.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

from aiohttp import web
from homeassistant.components.http.decorators import require_admin
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .masking import MaskError, read_frame_info
from .websocket import (
    ERR_ENTRY_NOT_FOUND,
    ERR_ENTRY_NOT_LOADED,
    ERR_FRAME_DROPPED,
    ERR_PRIVACY_MODE,
    ERR_SOURCE_IMAGE,
    EditorError,
    async_error_message,
    async_source_frame,
    get_entry,
)

URL: Final = "/api/peephole/zones/{entry_id}/snapshot"
QUERY_LANGUAGE: Final = "language"
NO_STORE: Final = {"Cache-Control": "no-store"}

STATUS: Final[dict[str, HTTPStatus]] = {
    ERR_ENTRY_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ERR_ENTRY_NOT_LOADED: HTTPStatus.CONFLICT,
    ERR_PRIVACY_MODE: HTTPStatus.CONFLICT,
    # The source camera gave no usable picture: an upstream failure.
    ERR_SOURCE_IMAGE: HTTPStatus.BAD_GATEWAY,
    ERR_FRAME_DROPPED: HTTPStatus.BAD_GATEWAY,
}


def snapshot_url(entry_id: str) -> str:
    """Return the relative URL of an entry's snapshot."""
    return URL.format(entry_id=entry_id)


class ZoneSnapshotView(HomeAssistantView):
    """Serve a fresh, unmasked frame of a doorbell's source camera to an admin."""

    url = URL
    name = "api:peephole:zones:snapshot"
    requires_auth = True

    @require_admin
    async def get(self, request: web.Request, entry_id: str) -> web.Response:
        """Fetch a fresh source frame and send it; never keep it."""
        hass = request.app[KEY_HASS]
        try:
            entry = get_entry(hass, entry_id, loaded=True)
            frame = await async_source_frame(hass, entry)
            try:
                # Only a well-formed JPEG within the masker's bounds is shown.
                await hass.async_add_executor_job(read_frame_info, frame)
            except MaskError as err:
                raise EditorError(
                    ERR_FRAME_DROPPED, "exceptions", {"reason": err.reason}
                ) from err
        except EditorError as err:
            message = await async_error_message(
                hass, request.query.get(QUERY_LANGUAGE), err
            )
            return self.json_message(
                message,
                STATUS.get(err.code, HTTPStatus.INTERNAL_SERVER_ERROR),
                message_code=err.code,
                headers=NO_STORE,
            )
        return web.Response(body=frame, content_type="image/jpeg", headers=NO_STORE)
