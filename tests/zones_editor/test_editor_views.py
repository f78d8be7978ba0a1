"""What the zone editor's two picture views share: who may ask, and every refusal.

The unmasked snapshot (GET) and the draft-zone preview (POST) are both admin
only, answer JSON translated errors the same way and never send a picture they
should not. Each test runs against both views. Real Home Assistant core (phcc),
real HTTP server, real auth; the source camera is a real camera entity.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import ClientResponse
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.const import CONF_ZONES
from custom_components.peephole.zone_editor_views import preview_url, snapshot_url
from tests.conftest import SourceCamera
from tests.masking.frames import encode, photo

from .conftest import (
    SOURCE_FAILED,
    STREET,
    error_of,
    jpeg_of,
    no_jpeg_in,
    no_jpeg_in_body,
    token_of,
    user_token,
)

VIEWS = pytest.mark.parametrize("view", ["snapshot", "preview"])


async def ask(
    client: Any, view: str, entry_id: str, language: str | None = None
) -> ClientResponse:
    """Ask ``view`` for ``entry_id``'s picture as the panel does."""
    if view == "snapshot":
        params = {"language": language} if language is not None else {}
        return await client.get(snapshot_url(entry_id), params=params)
    body: dict[str, Any] = {"zones": [STREET]}
    if language is not None:
        body["language"] = language
    return await client.post(preview_url(entry_id), json=body)


@VIEWS
async def test_admins_who_are_not_the_owner_get_it(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    view: str,
) -> None:
    assert not hass_admin_user.is_owner
    assert hass_admin_user.is_admin
    client = await hass_client(await token_of(hass, hass_admin_user))
    body = await jpeg_of(await ask(client, view, init_integration.entry_id))
    if view == "snapshot":
        assert body == canary_frame


@pytest.mark.parametrize("entry", ["ours", "unknown"])
@VIEWS
async def test_non_admins_are_refused(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_read_only_access_token: str,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: SourceCamera,
    entry: str,
    view: str,
) -> None:
    """Read-only and ordinary users, and no login at all: refused, nothing fetched.

    Also for an unknown entry: a non-admin does not learn which entries exist.
    """
    entry_id = init_integration.entry_id if entry == "ours" else "nope"
    requests = len(sources.requests)
    clients = [
        await hass_client(hass_read_only_access_token),
        await hass_client(await user_token(hass, GROUP_ID_USER)),
        await hass_client_no_auth(),
    ]
    for client in clients:
        response = await ask(client, view, entry_id)
        assert response.status == HTTPStatus.UNAUTHORIZED
        no_jpeg_in_body(await response.read(), canary_frame)
    assert len(sources.requests) == requests  # the camera was not even asked
    if view == "preview":
        # The snapshot's "GET" is not the preview's, even for an admin.
        response = await (await hass_client()).get(preview_url(entry_id))
        assert response.status == HTTPStatus.METHOD_NOT_ALLOWED
        assert len(sources.requests) == requests
        assert init_integration.options[CONF_ZONES] == [STREET]


@VIEWS
async def test_unknown_and_unloaded_entries_and_privacy_mode(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: SourceCamera,
    view: str,
) -> None:
    client = await hass_client()
    response = await ask(client, view, "nope")
    assert response.status == HTTPStatus.NOT_FOUND
    assert await error_of(response) == {
        "code": "entry_not_found",
        "message": "No Peephole doorbell has the config entry id nope.",
    }
    requests = len(sources.requests)
    init_integration.runtime_data.async_set_privacy_mode(True)
    response = await ask(client, view, init_integration.entry_id)
    assert response.status == HTTPStatus.CONFLICT
    body = await error_of(response)
    assert body["code"] == "zone_editor_privacy_mode"
    assert body["message"].startswith(
        "The Peephole doorbell Front door is in privacy mode, so the zone editor "
        "shows no picture."
    )
    no_jpeg_in(body, canary_frame)
    assert len(sources.requests) == requests  # privacy mode: the camera is not asked
    await hass.config_entries.async_unload(init_integration.entry_id)
    response = await ask(client, view, init_integration.entry_id)
    assert response.status == HTTPStatus.CONFLICT
    assert await error_of(response) == {
        "code": "entry_not_loaded",
        "message": "The Peephole doorbell Front door is not loaded.",
    }


@VIEWS
async def test_source_failures_get_the_translated_errors(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
    view: str,
) -> None:
    client = await hass_client()
    entry_id = init_integration.entry_id
    # A bad frame is dropped, not passed on.
    sources.frame = b"\xff\xd8 not a jpeg"
    response = await ask(client, view, entry_id)
    assert response.status == HTTPStatus.BAD_GATEWAY
    body = await error_of(response)
    assert body["code"] == "frame_dropped"
    assert body["message"].startswith(
        "A frame was dropped because it could not be masked ("
    )
    assert b"not a jpeg" not in await response.read()
    # A frame cut short (no end of image) is dropped too.
    sources.frame = encode(photo(64, 48, seed=1))[:-200]
    response = await ask(client, view, entry_id)
    assert response.status == HTTPStatus.BAD_GATEWAY
    assert (await error_of(response))["code"] == "frame_dropped"
    # The camera has no image.
    sources.frame = None
    response = await ask(client, view, entry_id, language="en")
    assert response.status == HTTPStatus.BAD_GATEWAY
    assert await error_of(response) == {
        "code": "source_image_failed",
        "message": SOURCE_FAILED,
    }
    # Something that is not a language tag falls back to Home Assistant's language.
    response = await ask(client, view, entry_id, language="no such language!")
    assert await error_of(response) == {
        "code": "source_image_failed",
        "message": SOURCE_FAILED,
    }


@VIEWS
async def test_source_camera_gone(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    source_camera: SourceCamera,
    view: str,
) -> None:
    """Home Assistant's own error text (camera not found) is not passed on."""
    await source_camera.async_remove()
    await hass.async_block_till_done()
    client = await hass_client()
    response = await ask(client, view, init_integration.entry_id)
    assert response.status == HTTPStatus.BAD_GATEWAY
    assert await error_of(response) == {
        "code": "source_image_failed",
        "message": SOURCE_FAILED,
    }
