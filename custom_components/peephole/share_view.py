"""The view that serves share links: no HA login, a signed token instead.

``GET /api/peephole/share/{share_id}/{resource}?token=<jwt>`` and nothing else:
every other method, query, path, token or client gets the same 404, whatever the
reason (the reason goes to the owner's audit, not to the client). A client that
guesses links is reported to Home Assistant's failed-login machinery, so that
``ip_ban`` bans it as it bans a client that guesses passwords. The client
address is ``request.remote`` as HA's forwarded middleware set it (so
X-Forwarded-For counts only from trusted proxies), and a request relayed by the
cloud never counts as local.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from ipaddress import ip_address
from pathlib import Path
from typing import BinaryIO, Final

from aiohttp import web
from hass_nabucasa import remote as cloud_remote
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.network import is_cloud_connection

from .share_registry import SHARE_URL_BASE, Grant, async_get_registry
from .sharing import token_from_query

process_wrong_login: Callable[[web.Request], Awaitable[None]] | None
try:
    from homeassistant.components.http.ban import process_wrong_login
except ImportError:  # pragma: no cover - every tested HA has it
    process_wrong_login = None

CHUNK: Final = 256 * 1024
# What every refusal looks like: aiohttp's own 404 for a path that does not exist.
REFUSED_BODY: Final = "404: Not Found"
_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def refused() -> web.Response:
    """Return the one response of every refusal."""
    return web.Response(
        status=HTTPStatus.NOT_FOUND,
        text=REFUSED_BODY,
        content_type="text/plain",
        headers=_HEADERS,
    )


def is_cloud_request(hass: HomeAssistant) -> bool:
    """Return True if the current request came through the cloud's remote UI."""
    return is_cloud_connection(hass) or bool(cloud_remote.is_cloud_request.get())


class ShareView(HomeAssistantView):
    """Serve one resource of a share to whoever holds its link."""

    url = SHARE_URL_BASE + "/{share_id}/{resource}"
    name = "api:peephole:share"
    requires_auth = False

    async def get(
        self, request: web.Request, share_id: str, resource: str
    ) -> web.StreamResponse:
        """Serve the resource if the token grants it; refuse otherwise (audited).

        Every other method goes through here too, so that it is refused and audited
        like any other bad request (a token is only ever good for GET).
        """
        hass = request.app[KEY_HASS]
        access = await async_get_registry(hass).async_access(
            share_id=share_id,
            resource=resource,
            method=request.method,
            token=token_from_query(request.rel_url.raw_query_string),
            client=request.remote,
            cloud=is_cloud_request(hass),
        )
        if access.report_guess:
            await async_report_guess(request)
        # (A file URL never names the page: its resource segment is never empty.)
        if access.grant is None or access.grant.path is None:
            return refused()
        return await _async_stream(hass, request, access.grant, access.grant.path)

    post = put = patch = delete = head = get


async def async_report_guess(request: web.Request) -> None:
    """Report a client that guessed a link to HA's failed-login machinery (ip_ban).

    As for a failed login, Home Assistant looks the client's name up, logs a
    warning with the URL and shows a notification, and bans the address after
    ``http: login_attempts_threshold`` of them (when configured). The URL it logs
    is the request's without its query: never a token. The address is the one
    HA's forwarded middleware gave the request (a clone keeps it only when told).
    """
    if process_wrong_login is None:  # pragma: no cover - every tested HA has it
        return
    if (remote := request.remote) is None:
        return
    try:
        ip_address(remote)
    except ValueError:
        return  # not an address to count (a unix socket)
    await process_wrong_login(
        request.clone(rel_url=request.rel_url.with_query(None), remote=remote)
    )


async def _async_stream(
    hass: HomeAssistant, request: web.Request, grant: Grant, path: Path
) -> web.StreamResponse:
    """Send the whole file (no ranges: one request is one counted view)."""

    def _open() -> tuple[BinaryIO, int]:
        file = path.open("rb")
        return file, path.stat().st_size

    try:
        file, size = await hass.async_add_executor_job(_open)
    except OSError:
        return refused()
    try:
        response = web.StreamResponse(
            status=HTTPStatus.OK,
            headers={
                **_HEADERS,
                "Content-Type": grant.content_type,
                "Content-Length": str(size),
                "Content-Disposition": "inline",
                "Accept-Ranges": "none",
            },
        )
        await response.prepare(request)
        while chunk := await hass.async_add_executor_job(file.read, CHUNK):
            await response.write(chunk)
        await response.write_eof()
    finally:
        await hass.async_add_executor_job(file.close)
    return response
