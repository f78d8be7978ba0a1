"""The zone editor's websocket commands (list and save), against a real core.

No picture travels over the websocket: the unmasked snapshot and the preview are
HTTP views (see test_snapshot_view.py and test_preview_view.py).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.peephole.const import CONF_ZONES, DOMAIN
from custom_components.peephole.masking import pixel_mask
from custom_components.peephole.zones import MAX_ZONES, zones_from_storage
from tests.conftest import SourceCamera
from tests.masking.frames import CANARY_A, CANARY_B, decode_rgb

from .conftest import (
    INVALID,
    PEEPHOLE_CAMERA,
    STREET,
    WINDOW,
    WsClient,
    no_jpeg_in,
    token_of,
)


async def test_list(ws: WsClient, init_integration: MockConfigEntry) -> None:
    response = await ws.call("peephole/zones/list")
    assert response["success"]
    result = response["result"]
    assert result["entries"] == [
        {
            "entry_id": init_integration.entry_id,
            "title": "Front door",
            "state": "loaded",
            "loaded": True,
            "privacy_mode": False,
            "camera_entity_id": PEEPHOLE_CAMERA,
            "zones": [STREET],
        }
    ]
    assert result["limits"] == {
        "min_points": 3,
        "max_points": 32,
        "max_zones": MAX_ZONES,
        "max_name_length": 64,
    }


@pytest.mark.parametrize("command", ["snapshot", "preview"])
async def test_no_picture_command(
    ws: WsClient, init_integration: MockConfigEntry, canary_frame: bytes, command: str
) -> None:
    """No picture travels over the websocket (its messages are logged there).

    Not the unmasked snapshot, and not the preview either: that one is masked only
    by the draft zones, which can be far weaker than the saved ones.
    """
    response = await ws.call(
        f"peephole/zones/{command}",
        entry_id=init_integration.entry_id,
        zones=[{**STREET, "enabled": False}, WINDOW],
    )
    assert not response["success"]
    assert response["error"]["code"] == "unknown_command"
    no_jpeg_in(response, canary_frame)


async def test_save_applies_live(
    hass: HomeAssistant,
    ws: WsClient,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    hass_client: ClientSessionGenerator,
) -> None:
    peephole = init_integration.runtime_data
    response = await ws.call(
        "peephole/zones/save",
        entry_id=init_integration.entry_id,
        zones=[STREET, {**WINDOW, "name": " Window "}],
    )
    assert response["success"], response
    assert response["result"]["zones"] == [STREET, WINDOW]
    await hass.async_block_till_done()
    assert init_integration.options[CONF_ZONES] == [STREET, WINDOW]
    assert init_integration.runtime_data is peephole  # applied without a reload
    assert hass.states.get(PEEPHOLE_CAMERA).attributes["zones"] == {
        "Street": True,
        "Window": True,
    }
    client = await hass_client()
    live = decode_rgb(
        await (await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")).read()
    )
    inside = live[pixel_mask(zones_from_storage([WINDOW]), 640, 480)]
    for canary in (CANARY_A, CANARY_B):
        assert np.abs(inside - np.array(canary)).sum(axis=1).min() > 150
    no_jpeg_in(dict(init_integration.options), canary_frame)


@pytest.mark.parametrize(("zones", "flow_points", "key"), INVALID)
async def test_invalid_zones_get_the_options_flow_errors(
    hass: HomeAssistant,
    ws: WsClient,
    init_integration: MockConfigEntry,
    zones: list[dict[str, Any]],
    flow_points: str | None,
    key: str,
) -> None:
    response = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones=zones
    )
    assert not response["success"]
    assert response["error"]["code"] == key
    message = response["error"]["message"]
    assert "{" not in message  # every placeholder is filled
    assert message != key  # a translated text
    assert init_integration.options[CONF_ZONES] == [STREET]  # nothing saved
    if flow_points is None:
        return
    # The options flow rejects the same zone with the same key and the same text.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_zone"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"name": "A", "points": flow_points, "enabled": True}
    )
    assert key in result["errors"].values()
    hass.config_entries.options.async_abort(result["flow_id"])


async def test_error_texts(ws: WsClient, init_integration: MockConfigEntry) -> None:
    response = await ws.call(
        "peephole/zones/save",
        entry_id=init_integration.entry_id,
        zones=[{"name": "Gate", "points": [[0, 0], [0.5, 0], [0.5, 2]]}],
        language="en",
    )
    assert response["error"] == {
        "code": "point_out_of_range",
        "message": "The point 0.5,2 is outside the image: both coordinates must be "
        "between 0 and 1.",
    }
    response = await ws.call(
        "peephole/zones/save",
        entry_id=init_integration.entry_id,
        zones=[
            {"name": f"Z{i}", "points": STREET["points"]} for i in range(MAX_ZONES + 1)
        ],
    )
    assert response["error"]["message"] == (
        f"A camera can have at most {MAX_ZONES} zones."
    )


async def test_unknown_and_unloaded_entries(
    hass: HomeAssistant, ws: WsClient, init_integration: MockConfigEntry
) -> None:
    response = await ws.call("peephole/zones/save", entry_id="nope", zones=[STREET])
    assert response["error"] == {
        "code": "entry_not_found",
        "message": "No Peephole doorbell has the config entry id nope.",
    }
    await hass.config_entries.async_unload(init_integration.entry_id)
    listed = (await ws.call("peephole/zones/list"))["result"]["entries"][0]
    assert listed["loaded"] is False
    assert listed["camera_entity_id"] is None
    # Zones of an unloaded doorbell can still be saved (applied when it loads).
    response = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones=[WINDOW]
    )
    assert response["success"]
    assert init_integration.options[CONF_ZONES] == [WINDOW]


async def test_privacy_mode_is_listed_and_zones_can_be_saved(
    hass: HomeAssistant,
    ws: WsClient,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
) -> None:
    init_integration.runtime_data.async_set_privacy_mode(True)
    listed = await ws.call("peephole/zones/list")
    assert listed["result"]["entries"][0]["privacy_mode"] is True
    no_jpeg_in(listed, canary_frame)
    # Saving needs no picture.
    response = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones=[WINDOW]
    )
    assert response["success"]
    assert init_integration.options[CONF_ZONES] == [WINDOW]


async def test_save_starts_an_entry_with_broken_zones(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    sources: SourceCamera,
    entry_data: dict[str, Any],
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data=entry_data,
        unique_id="c",
        options={CONF_ZONES: [{"name": "Bad", "points": [[0, 0], [2, 0], [1, 1]]}]},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    ws = WsClient(await hass_ws_client(hass))
    listed = (await ws.call("peephole/zones/list"))["result"]["entries"][0]
    assert listed["state"] == "setup_error"
    assert listed["zones"][0]["name"] == "Bad"
    response = await ws.call(
        "peephole/zones/save", entry_id=entry.entry_id, zones=[STREET]
    )
    assert response["success"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(PEEPHOLE_CAMERA).attributes["zones"] == {"Street": True}


@pytest.mark.parametrize(
    "command",
    [
        {"type": "peephole/zones/list"},
        {"type": "peephole/zones/save", "entry_id": "x", "zones": []},
    ],
)
async def test_non_admins_are_refused(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    command: dict[str, Any],
) -> None:
    if command.get("entry_id"):
        command = {**command, "entry_id": init_integration.entry_id}
    ws = WsClient(await hass_ws_client(hass, hass_read_only_access_token))
    await ws.ws.send_json_auto_id(command)
    response = await ws.ws.receive_json()
    assert not response["success"]
    assert response["error"]["code"] == "unauthorized"
    no_jpeg_in(response, canary_frame)
    assert init_integration.options[CONF_ZONES] == [STREET]


async def test_bad_payloads(ws: WsClient, init_integration: MockConfigEntry) -> None:
    response = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones="0,0; 1,1"
    )
    assert response["error"]["code"] == "invalid_format"
    response = await ws.call("peephole/zones/save", zones=[STREET])
    assert response["error"]["code"] == "invalid_format"


async def test_static_module_needs_no_frontend_to_fail_closed(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Without the frontend, no panel and no static path are registered."""
    client = await hass_client()
    response = await client.get("/peephole_static/peephole-zone-editor.js")
    assert response.status == HTTPStatus.NOT_FOUND
    assert "frontend_panels" not in hass.data or (
        "peephole-zones" not in hass.data["frontend_panels"]
    )


async def test_admins_who_are_not_the_owner_may_edit(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
) -> None:
    assert not hass_admin_user.is_owner
    assert hass_admin_user.is_admin
    ws = WsClient(await hass_ws_client(hass, await token_of(hass, hass_admin_user)))
    listed = await ws.call("peephole/zones/list")
    assert listed["success"], listed
    response = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones=[WINDOW]
    )
    assert response["success"]
    assert init_integration.options[CONF_ZONES] == [WINDOW]
