"""The zone editor's pictures, over HTTP, for administrators only.

``GET /api/peephole/zones/<entry_id>/snapshot[?language=xx]`` answers with a fresh
JPEG of the doorbell's source camera, exactly as the camera served it, so that
the admin drawing privacy zones sees what to cover. It is the only place Peephole
itself shows an unmasked frame (DESIGN.md, invariant 1).

``POST /api/peephole/zones/<entry_id>/preview`` with the JSON body
``{"zones": [...], "language": "xx"}`` answers with a fresh frame masked by
Peephole's own masker with the DRAFT zones (validated exactly as the options
flow does; at least one must be turned on). The draft may cover far less than
the saved zones (the street zone turned off, a tiny zone elsewhere), so a
preview is treated like the unmasked snapshot: the same path, the same care.

Why HTTP and not the websocket like the editor's other commands: Home Assistant
logs every websocket message it sends at debug level ("Sending ..."), so a
picture in a websocket response would be written to home-assistant.log by anyone
who turns on debug logging to troubleshoot. An HTTP body is never logged (the
access log has the request line only), and the frame here only exists in local
variables and in the response: no cache, no file, no log, no state. Responses
say ``Cache-Control: no-store`` so that the browser does not keep them either.

Privacy mode is checked before the source camera is asked, again when its frame
arrives (that can take seconds) and once more right before answering: a picture
is never sent once privacy mode is on.

Errors are the editor's translated errors, as JSON ``{"code", "message"}`` (the
same text the websocket commands send), with a matching status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from http import HTTPStatus
from typing import Any, Final

from aiohttp import web
from homeassistant.components.http.decorators import require_admin
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
import voluptuous as vol

from .const import MASK_TIMEOUT
from .masking import REASON_TIMEOUT, FrameMasker, MaskError, read_frame_info
from .websocket import (
    ATTR_LANGUAGE,
    ATTR_ZONES,
    ERR_BAD_REQUEST,
    ERR_ENTRY_NOT_FOUND,
    ERR_ENTRY_NOT_LOADED,
    ERR_FRAME_DROPPED,
    ERR_NOTHING_TO_PREVIEW,
    ERR_PRIVACY_MODE,
    ERR_SOURCE_IMAGE,
    ZONES_FIELD,
    EditorError,
    async_error_message,
    async_source_frame,
    check_may_show,
    get_entry,
    zones_to_preview,
)
from .zones import Zone

SNAPSHOT_URL: Final = "/api/peephole/zones/{entry_id}/snapshot"
PREVIEW_URL: Final = "/api/peephole/zones/{entry_id}/preview"
QUERY_LANGUAGE: Final = "language"
NO_STORE: Final = {"Cache-Control": "no-store"}

STATUS: Final[dict[str, HTTPStatus]] = {
    ERR_ENTRY_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ERR_ENTRY_NOT_LOADED: HTTPStatus.CONFLICT,
    ERR_PRIVACY_MODE: HTTPStatus.CONFLICT,
    # The source camera gave no usable picture: an upstream failure.
    ERR_SOURCE_IMAGE: HTTPStatus.BAD_GATEWAY,
    ERR_FRAME_DROPPED: HTTPStatus.BAD_GATEWAY,
    # The client's request is wrong: no zone turned on, a body that is not the
    # request at all (draft zones the options flow would refuse, too: below).
    ERR_NOTHING_TO_PREVIEW: HTTPStatus.BAD_REQUEST,
    ERR_BAD_REQUEST: HTTPStatus.BAD_REQUEST,
}

# The preview's body, checked like the websocket command's message was (no
# unknown keys); the zones themselves by zones_from_storage (translated errors).
PREVIEW_SCHEMA: Final = vol.Schema({**ZONES_FIELD, vol.Optional(ATTR_LANGUAGE): str})


def snapshot_url(entry_id: str) -> str:
    """Return the relative URL of an entry's snapshot."""
    return SNAPSHOT_URL.format(entry_id=entry_id)


def preview_url(entry_id: str) -> str:
    """Return the relative URL of an entry's preview."""
    return PREVIEW_URL.format(entry_id=entry_id)


async def _async_error_response(
    view: HomeAssistantView, hass: HomeAssistant, language: Any, err: EditorError
) -> web.Response:
    """Answer ``err`` as translated JSON with its status (never cached)."""
    message = await async_error_message(
        hass, language if isinstance(language, str) else None, err
    )
    if err.category == "options":  # a zone error: the options flow's key
        status = HTTPStatus.BAD_REQUEST
    else:
        status = STATUS.get(err.code, HTTPStatus.INTERNAL_SERVER_ERROR)
    return view.json_message(message, status, message_code=err.code, headers=NO_STORE)


async def _async_editor_picture(
    hass: HomeAssistant,
    entry_id: str,
    make: Callable[[bytes], Awaitable[bytes]],
) -> bytes:
    """Make the editor's picture from a fresh frame of a loaded doorbell's source.

    Privacy mode is checked before the camera is asked, when its frame arrives,
    and once more after ``make`` (the executor's work): the caller answers with
    no await in between. Raises EditorError.
    """
    entry = get_entry(hass, entry_id, loaded=True)
    frame, since = await async_source_frame(hass, entry)
    picture = await make(frame)
    check_may_show(entry, since)
    return picture


async def _async_checked(hass: HomeAssistant, frame: bytes) -> bytes:
    """Return ``frame`` if it is a well-formed JPEG within the masker's bounds.

    Only such a frame is shown. Raises EditorError.
    """
    try:
        await hass.async_add_executor_job(read_frame_info, frame)
    except MaskError as err:
        raise EditorError(
            ERR_FRAME_DROPPED, "exceptions", {"reason": err.reason}
        ) from err
    return frame


def _jpeg_response(jpeg: bytes) -> web.Response:
    """Answer a picture for the editor, not to be kept by the browser."""
    return web.Response(body=jpeg, content_type="image/jpeg", headers=NO_STORE)


class ZoneSnapshotView(HomeAssistantView):
    """Serve a fresh, unmasked frame of a doorbell's source camera to an admin."""

    url = SNAPSHOT_URL
    name = "api:peephole:zones:snapshot"
    requires_auth = True

    @require_admin
    async def get(self, request: web.Request, entry_id: str) -> web.Response:
        """Fetch a fresh source frame and send it; never keep it."""
        hass = request.app[KEY_HASS]
        try:
            frame = await _async_editor_picture(
                hass, entry_id, partial(_async_checked, hass)
            )
        except EditorError as err:
            return await _async_error_response(
                self, hass, request.query.get(QUERY_LANGUAGE), err
            )
        return _jpeg_response(frame)


async def _async_preview_request(request: web.Request) -> dict[str, Any]:
    """Return the preview's JSON body, checked. Raises EditorError."""
    try:
        body = await request.json()
    except ValueError as err:  # not JSON at all
        raise EditorError(ERR_BAD_REQUEST, "exceptions", {}) from err
    try:
        checked: dict[str, Any] = PREVIEW_SCHEMA(body)
    except vol.Invalid as err:
        raise EditorError(ERR_BAD_REQUEST, "exceptions", {}) from err
    return checked


class ZonePreviewView(HomeAssistantView):
    """Serve a fresh frame masked with an admin's draft zones."""

    url = PREVIEW_URL
    name = "api:peephole:zones:preview"
    requires_auth = True

    @require_admin
    async def post(self, request: web.Request, entry_id: str) -> web.Response:
        """Mask a fresh source frame with the draft zones and send it; keep nothing."""
        hass = request.app[KEY_HASS]
        language: Any = request.query.get(QUERY_LANGUAGE)
        try:
            body = await _async_preview_request(request)
            language = body.get(ATTR_LANGUAGE, language)
            # The same order as the options flow: the zones first, then the entry.
            zones = zones_to_preview(body[ATTR_ZONES])
            masked = await _async_editor_picture(
                hass, entry_id, partial(_async_mask, hass, zones)
            )
        except EditorError as err:
            return await _async_error_response(self, hass, language, err)
        return _jpeg_response(masked)


def _mask_frame(zones: tuple[Zone, ...], frame: bytes) -> bytes:
    """Mask ``frame`` with ``zones`` (blocking). Raises MaskError."""
    return FrameMasker(zones).mask(frame)


async def _async_mask(
    hass: HomeAssistant, zones: tuple[Zone, ...], frame: bytes
) -> bytes:
    """Mask ``frame`` with ``zones`` in the executor, as Peephole masks live frames.

    A frame that cannot be masked (in time) is dropped. Raises EditorError.
    """
    try:
        async with asyncio.timeout(MASK_TIMEOUT):  # as the live camera's masking
            return await hass.async_add_executor_job(_mask_frame, zones, frame)
    except MaskError as err:
        raise EditorError(
            ERR_FRAME_DROPPED, "exceptions", {"reason": err.reason}
        ) from err
    except TimeoutError as err:
        raise EditorError(
            ERR_FRAME_DROPPED, "exceptions", {"reason": REASON_TIMEOUT}
        ) from err
