"""Shared pieces of the zone editor tests: an entry with a street zone, a canary frame."""

from __future__ import annotations

import base64
import json
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.peephole.const import CONF_ZONES, DOMAIN
from custom_components.peephole.zones import zones_from_storage
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
