"""The zone editor's unmasked snapshot: an admin-only HTTP view, never the websocket.

Real Home Assistant core (phcc), real HTTP server, real auth; the source camera is a
real camera entity serving the test's frame. The last test runs a whole editing
session with debug logging on and finds no picture in the logs.
"""

from __future__ import annotations

import base64
from http import HTTPStatus
import logging
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.peephole.const import CONF_ZONES
from custom_components.peephole.zone_editor_views import preview_url, snapshot_url
from tests.conftest import SourceCamera
from tests.masking.frames import encode, photo

from .conftest import (
    STREET,
    WINDOW,
    WsClient,
    jpeg_of,
    no_jpeg_in,
)


async def test_admin_gets_the_fresh_unmasked_frame_and_nothing_keeps_it(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: SourceCamera,
    hass_storage: dict[str, Any],
) -> None:
    client = await hass_client()
    requests = len(sources.requests)
    response = await client.get(snapshot_url(init_integration.entry_id))
    # The editor sees the source exactly (the canary inside the zone included):
    # unmasked, by design, for an admin drawing zones.
    assert await jpeg_of(response) == canary_frame
    assert len(sources.requests) == requests + 1  # fetched now, not cached
    # A second snapshot fetches a new frame.
    sources.frame = encode(photo(640, 480, seed=9))
    again = await client.get(snapshot_url(init_integration.entry_id))
    assert await again.read() == sources.frame
    assert len(sources.requests) == requests + 2
    await hass.async_block_till_done()
    # Nothing unmasked is kept anywhere: storage, entry, states, Peephole's objects.
    no_jpeg_in(hass_storage, canary_frame)
    no_jpeg_in(dict(init_integration.options), canary_frame)
    no_jpeg_in(dict(init_integration.data), canary_frame)
    no_jpeg_in([s.as_dict() for s in hass.states.async_all()], canary_frame)
    peephole = init_integration.runtime_data
    assert canary_frame not in [
        v for v in vars(peephole).values() if isinstance(v, bytes)
    ]
    assert init_integration.options[CONF_ZONES] == [STREET]


def _traces(frame: bytes) -> list[str]:
    """Traces of ``frame`` as a log could hold them: its base64 (whole and pieces
    from the picture data, where no other JPEG matches it) and escaped raw bytes.
    """
    encoded = base64.b64encode(frame).decode()
    traces = [encoded]
    for fraction in (0.3, 0.5, 0.7, 0.9):
        at = int(len(encoded) * fraction) // 4 * 4
        traces.append(encoded[at : at + 48])
        raw = int(len(frame) * fraction)
        traces.append(repr(frame[raw : raw + 24])[2:-1])
    return traces


# The reviewer's case: the street zone turned off in the draft, a tiny zone
# elsewhere. The preview is then the street almost unmasked.
WEAK_DRAFT = [
    {**STREET, "enabled": False},
    {"name": "Dot", "points": [[0.9, 0.9], [0.95, 0.9], [0.95, 0.95]], "enabled": True},
]


async def test_debug_logs_never_hold_a_picture(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A whole editing session with debug logging on, as when troubleshooting.

    list -> snapshot -> preview -> save: no picture in the logs, neither the
    unmasked snapshot nor the preview (masked only by weak draft zones).
    """
    caplog.set_level(logging.DEBUG)
    for logger in ("homeassistant.components.websocket_api", "aiohttp.access"):
        caplog.set_level(logging.DEBUG, logger=logger)
    # Connected after debug logging was turned on (newer cores read the level when
    # a connection starts, and again on a logging change).
    ws = WsClient(await hass_ws_client(hass))
    entry_id = init_integration.entry_id
    client = await hass_client()

    listed = await ws.call("peephole/zones/list")
    assert listed["success"]
    response = await client.get(snapshot_url(entry_id), params={"language": "en"})
    assert response.status == HTTPStatus.OK
    assert await response.read() == canary_frame  # the admin did get it
    response = await client.post(
        preview_url(entry_id), json={"zones": WEAK_DRAFT, "language": "en"}
    )
    assert response.status == HTTPStatus.OK
    preview = await response.read()
    assert preview[:2] == b"\xff\xd8"  # the admin did get it
    saved = await ws.call("peephole/zones/save", entry_id=entry_id, zones=[WINDOW])
    assert saved["success"], saved
    await hass.async_block_till_done()

    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    # The logging was on and complete: the websocket's replies are there (the
    # saved zones in full), and the pictures' request lines.
    assert "Sending" in logged
    assert '"Window"' in logged or "'Window'" in logged
    assert snapshot_url(entry_id) in logged
    assert preview_url(entry_id) in logged
    # ... but no trace of any picture: not the unmasked source frame, not the
    # preview, not any JPEG at all (base64 or raw bytes).
    for frame in (canary_frame, preview):
        for trace in _traces(frame):
            assert trace not in logged
    assert "/9j/" not in logged  # the base64 of any JPEG's first bytes
    assert "\\xff\\xd8" not in logged
