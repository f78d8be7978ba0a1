"""Fixtures for sharing: a recording entry with recipients, on HA's real HTTP server."""

from __future__ import annotations

from collections.abc import Generator
from socket import herror
from typing import Any
from unittest.mock import patch

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.peephole.clips import Clip, new_clip_id
from custom_components.peephole.const import (
    CONF_FEED_FPS,
    CONF_MIN_FREE_MB,
    CONF_RECORD,
    CONF_ZONES,
    DOMAIN,
)
from custom_components.peephole.share_registry import DATA_SHARES
from tests.conftest import SourceCamera

ZONE = {"name": "Street", "points": [[0, 0], [1, 0], [1, 0.25], [0, 0.25]]}
RECIPIENTS: list[dict[str, Any]] = [
    {"name": "family", "snapshots": True, "max_expiry_hours": 48},
    {"name": "insurer", "max_expiry_hours": 168, "remote": True, "max_views": 3},
]


@pytest.fixture(autouse=True)
def reverse_lookups() -> Generator[list[str]]:
    """Record HA's ip_ban reverse lookups instead of asking DNS (the network edge)."""
    looked_up: list[str] = []

    def _gethostbyaddr(address: str) -> tuple[str, list[str], list[str]]:
        looked_up.append(address)
        raise herror(1, "Unknown host")

    with patch("homeassistant.components.http.ban.gethostbyaddr", _gethostbyaddr):
        yield looked_up


@pytest.fixture
def http_config() -> dict[str, Any]:
    """The http integration's configuration."""
    return {}


@pytest.fixture
def config_entry(entry_data: dict[str, Any]) -> MockConfigEntry:
    """A recording entry with a zone and two recipients."""
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
async def http(hass: HomeAssistant, http_config: dict[str, Any]) -> None:
    """Set up HA's HTTP server as configured (before the camera needs it)."""
    assert await async_setup_component(hass, "http", {"http": http_config})


@pytest.fixture
async def integration(
    hass: HomeAssistant,
    http: None,
    sources: SourceCamera,
    config_entry: MockConfigEntry,
) -> MockConfigEntry:
    """HTTP (as configured), then the sources, then Peephole."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


async def add_clip(
    hass: HomeAssistant, entry: MockConfigEntry, content: bytes = b"\x00mp4" * 5000
) -> str:
    """Index a stored clip (as the recorder would after ffmpeg)."""
    recorder = entry.runtime_data.recorder
    assert recorder is not None
    now = dt_util.utcnow()
    clip_id = new_clip_id(now)
    path = recorder.store.directory / f"{clip_id}.mp4"

    def _write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    await hass.async_add_executor_job(_write)
    await recorder.store.async_add(
        Clip(id=clip_id, start=now, duration=2.0, size=len(content), trigger="action")
    )
    return clip_id


async def forget_registry(hass: HomeAssistant) -> None:
    """Restart the registry: what is due is written (HA's final write), then read back."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    hass.data.pop(DATA_SHARES)


def rules(entry: MockConfigEntry) -> list[dict[str, Any]]:
    """The entry's recipients' rules as stored (each with its identity)."""
    return [dict(rule) for rule in entry.options["recipients"]]


def rule_of(entry: MockConfigEntry, name: str) -> dict[str, Any]:
    """The stored rule called ``name``."""
    return next(rule for rule in rules(entry) if rule["name"] == name)


async def set_rules(
    hass: HomeAssistant, entry: MockConfigEntry, stored: list[dict[str, Any]]
) -> None:
    """Store new rules (as an automation or another tool would: no options flow)."""
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "recipients": stored}
    )
    await hass.async_block_till_done()


async def change_rule(
    hass: HomeAssistant, entry: MockConfigEntry, name: str, **changes: Any
) -> None:
    """Change the rule called ``name`` (it keeps its identity)."""
    await set_rules(
        hass,
        entry,
        [{**r, **changes} if r["name"] == name else r for r in rules(entry)],
    )


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], **kwargs: Any
) -> Any:
    """Call a Peephole action and return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, **kwargs
    )
