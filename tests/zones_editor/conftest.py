"""Shared pieces of the zone editor tests: an entry with a street zone, a canary frame."""

from __future__ import annotations

import asyncio
import base64
from http import HTTPStatus
import json
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.peephole.const import CONF_ZONES, DOMAIN
from custom_components.peephole.zones import MAX_ZONES, zones_from_storage
from tests.conftest import SourceCamera
from tests.masking.frames import draw_canary, encode, photo

PEEPHOLE_CAMERA = "camera.front_door"
STREET = {
    "name": "Street",
    "points": [[0, 0], [1, 0], [1, 0.25], [0, 0.25]],
    "enabled": True,
}
WINDOW = {
    "name": "Window",
    "points": [[0.6, 0.4], [0.95, 0.45], [0.9, 0.8], [0.6, 0.75]],
    "enabled": True,
}

# Draft zones the editor must refuse, as the options flow does:
# (draft zones, the options flow's input for the same zone or None, error key)
INVALID = [
    ([{"name": "A", "points": [[0, 0], [1, 0]]}], "0,0; 1,0", "too_few_points"),
    (
        [{"name": "A", "points": [[0, 0], [1, 1], [1, 0], [0, 1]]}],
        "0,0; 1,1; 1,0; 0,1",
        "self_intersecting",
    ),
    (
        [{"name": "A", "points": [[0, 0], [1.5, 0], [1, 1]]}],
        "0,0; 1.5,0; 1,1",
        "point_out_of_range",
    ),
    (
        [{"name": "A", "points": [[i / 40, (i % 2) / 2] for i in range(33)]}],
        "; ".join(f"{i / 40},{(i % 2) / 2}" for i in range(33)),
        "too_many_points",
    ),
    ([{"name": " ", "points": STREET["points"]}], None, "invalid_name"),
    ([{"name": "x" * 65, "points": STREET["points"]}], None, "invalid_name"),
    ([{"name": "gate\x00", "points": STREET["points"]}], None, "name_characters"),
    ([{"name": "\u202eteerts", "points": STREET["points"]}], None, "name_characters"),
    ([STREET, {**WINDOW, "name": " street"}], None, "duplicate_name"),
    ([{"name": "A", "points": "0,0; 1,0; 1,1"}], None, "invalid_points"),
    ([{"name": "A", "points": [[0, 0], [1, "x"], [1, 1]]}], None, "invalid_points"),
    ([{"name": 5, "points": STREET["points"]}], None, "invalid_name"),
    ([{**STREET, "enabled": "yes"}], None, "invalid_points"),
    (
        [{"name": f"Z{i}", "points": STREET["points"]} for i in range(MAX_ZONES + 1)],
        None,
        "too_many_zones",
    ),
]


# The translated error when the source camera gives no picture.
SOURCE_FAILED = "Could not get an image from the source camera camera.porch."


@pytest.fixture
def config_entry(entry_data: dict[str, Any]) -> MockConfigEntry:
    """An entry with the street zone."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data=entry_data,
        options={CONF_ZONES: [STREET]},
        unique_id="c",
    )


@pytest.fixture
def canary_frame(sources: SourceCamera) -> bytes:
    """A photo with a canary pattern drawn inside both zones, served by the source."""
    zones = zones_from_storage([STREET, WINDOW])
    frame = encode(draw_canary(photo(640, 480, seed=5), zones))
    sources.frame = frame
    return frame


class HeldSourceCamera(SourceCamera):
    """A source camera that answers only once released (an ESP32-CAM can take seconds).

    Starts released; a test clears ``release`` to hold every request.
    """

    def __init__(self) -> None:
        """Start released."""
        super().__init__()
        self.release = asyncio.Event()
        self.release.set()
        self.asked = asyncio.Event()  # set by every request

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Answer once released."""
        self.requests.append((width, height))
        self.asked.set()
        await self.release.wait()
        return self.frame


class WsClient:
    """A websocket client that numbers its messages."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def call(self, type_: str, **data: Any) -> dict[str, Any]:
        await self.ws.send_json_auto_id({"type": type_, **data})
        response: dict[str, Any] = await self.ws.receive_json()
        return response


@pytest.fixture
async def ws(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: MockConfigEntry,
) -> WsClient:
    """An admin's websocket connection."""
    return WsClient(await hass_ws_client(hass))


def no_jpeg_in(value: object, frame: bytes) -> None:
    """Assert that neither the frame nor its base64 text is anywhere in ``value``."""
    text = json.dumps(value, default=repr)
    encoded = base64.b64encode(frame).decode()
    assert encoded[:64] not in text
    assert "/9j/" not in text  # the base64 of any JPEG's first bytes
    assert "\\xff\\xd8" not in text


def no_jpeg_in_body(body: bytes, frame: bytes) -> None:
    """Assert that an HTTP body holds no picture: not ``frame``, not any JPEG."""
    assert frame not in body
    assert base64.b64encode(frame)[:64] not in body
    assert b"\xff\xd8" not in body
    assert b"/9j/" not in body


async def token_of(hass: HomeAssistant, user: MockUser) -> str:
    """An access token of ``user``."""
    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh)


async def user_token(hass: HomeAssistant, group_id: str) -> str:
    """An access token of a new user in ``group_id`` (not an admin)."""
    group = await hass.auth.async_get_group(group_id)
    user = MockUser(groups=[group]).add_to_hass(hass)
    assert not user.is_admin
    return await token_of(hass, user)


async def jpeg_of(response: Any) -> bytes:
    """The editor's picture: a JPEG answered OK, never kept by a cache."""
    assert response.status == HTTPStatus.OK, await response.text()
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    body: bytes = await response.read()
    assert body[:2] == b"\xff\xd8"
    return body


async def error_of(response: Any) -> dict[str, Any]:
    """The translated error of a refused picture (JSON, never kept by a cache)."""
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = await response.json()
    assert set(body) == {"code", "message"}
    assert "{" not in body["message"]  # every placeholder is filled
    assert body["message"] != body["code"]  # a translated text
    return body
