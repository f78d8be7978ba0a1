"""Fixtures for the panel: a recording entry on HA's real HTTP server, with clips."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from socket import herror
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.peephole.clips import Clip, new_clip_id
from custom_components.peephole.const import (
    CONF_FEED_FPS,
    CONF_MIN_FREE_MB,
    CONF_RECORD,
    CONF_ZONES,
    DOMAIN,
)
from tests.conftest import SourceCamera, make_jpeg

ZONE = {"name": "Street", "points": [[0, 0], [1, 0], [1, 0.25], [0, 0.25]]}
RECIPIENTS: list[dict[str, Any]] = [
    {"name": "neighbour", "max_expiry_hours": 48},
    # Not offered by the share dialog: no clips, or not this doorbell.
    {"name": "postman", "clips": False, "snapshots": True},
    {"name": "elsewhere", "cameras": ["another-doorbell"]},
    {"name": "insurer", "max_expiry_hours": 168, "remote": True, "max_views": 3},
    {"name": "family"},
]
# What a clip file holds here: an MP4's first box, then filler.
MP4 = b"\x00\x00\x00\x20ftypisom" + b"\x00mp4" * 5000
THUMBNAIL = make_jpeg(160, 120)


@pytest.fixture(autouse=True)
def reverse_lookups() -> Generator[list[str]]:
    """Record HA's ip_ban reverse lookups instead of asking DNS (the network edge)."""
    looked_up: list[str] = []

    def _gethostbyaddr(address: str) -> tuple[str, list[str], list[str]]:
        looked_up.append(address)
        raise herror(1, "Unknown host")

    with patch("homeassistant.components.http.ban.gethostbyaddr", _gethostbyaddr):
        yield looked_up


def recipient_id(entry: MockConfigEntry, name: str) -> str:
    """The identity the entry migration gave the recipient called ``name``."""
    return next(
        str(rule["id"]) for rule in entry.options["recipients"] if rule["name"] == name
    )


@pytest.fixture
def config_entry(entry_data: dict[str, Any]) -> MockConfigEntry:
    """A recording entry with a zone and a recipient."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data=entry_data,
        options={
            CONF_RECORD: True,
            CONF_FEED_FPS: 1,
            CONF_MIN_FREE_MB: 0,
            CONF_ZONES: [ZONE],
            "recipients": RECIPIENTS,
        },
        unique_id="front",
    )


@pytest.fixture
async def integration(
    hass: HomeAssistant, sources: SourceCamera, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """HTTP, then the sources, then Peephole."""
    assert await async_setup_component(hass, "http", {"http": {}})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


async def add_clip(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    start: datetime | None = None,
    trigger: str = "ring",
    *,
    thumbnail: bool = True,
) -> Clip:
    """Index a stored clip and its thumbnail (as the recorder does after ffmpeg)."""
    recorder = entry.runtime_data.recorder
    assert recorder is not None
    start = start or dt_util.utcnow()
    clip = Clip(
        id=new_clip_id(start),
        start=start.replace(microsecond=0),
        duration=12.0,
        size=len(MP4),
        trigger=trigger,
        thumbnail=thumbnail,
    )

    def _write() -> None:
        recorder.store.directory.mkdir(parents=True, exist_ok=True)
        recorder.store.clip_path(clip).write_bytes(MP4)
        if thumbnail:
            recorder.store.thumbnail_path(clip).write_bytes(THUMBNAIL)

    await hass.async_add_executor_job(_write)
    await recorder.store.async_add(clip)
    return clip


class Ws:
    """A websocket client that numbers its messages and keeps every answer."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def call(self, type_: str, **data: Any) -> dict[str, Any]:
        await self.ws.send_json_auto_id({"type": type_, **data})
        response: dict[str, Any] = await self.ws.receive_json()
        self.received.append(response)
        return response

    async def result(self, type_: str, **data: Any) -> Any:
        response = await self.call(type_, **data)
        assert response["success"], response
        return response["result"]


@pytest.fixture
async def ws(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, integration: Any
) -> Ws:
    """An administrator's websocket connection."""
    return Ws(await hass_ws_client(hass))
