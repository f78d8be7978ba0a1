"""The zone editor's websocket commands, against a real Home Assistant core.

The unmasked snapshot is not a websocket command (see test_snapshot_view.py): only
masked pictures (the preview) travel over the websocket.
"""

from __future__ import annotations

import base64
from http import HTTPStatus
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.peephole.const import CONF_ZONES, DOMAIN
from custom_components.peephole.masking import pixel_mask
from custom_components.peephole.zones import MAX_ZONES, zones_from_storage
from tests.conftest import SourceCamera
from tests.masking.frames import CANARY_A, CANARY_B, decode_rgb

from .conftest import PEEPHOLE_CAMERA, STREET, WINDOW, WsClient, no_jpeg_in


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


async def test_no_snapshot_command(
    ws: WsClient, init_integration: MockConfigEntry, canary_frame: bytes
) -> None:
    """The unmasked snapshot never travels over the websocket (it is logged there)."""
    response = await ws.call(
        "peephole/zones/snapshot", entry_id=init_integration.entry_id
    )
    assert not response["success"]
    assert response["error"]["code"] == "unknown_command"
    no_jpeg_in(response, canary_frame)


async def test_preview_masks_like_peephole(
    hass: HomeAssistant,
    ws: WsClient,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    hass_client: ClientSessionGenerator,
) -> None:
    draft = [STREET, {**WINDOW, "name": "  Window "}]
    response = await ws.call(
        "peephole/zones/preview", entry_id=init_integration.entry_id, zones=draft
    )
    assert response["success"], response
    masked = base64.b64decode(response["result"]["image"])
    out = decode_rgb(masked)
    zones = zones_from_storage([STREET, WINDOW])
    inside = out[pixel_mask(zones, 640, 480)]
    for canary in (CANARY_A, CANARY_B):
        assert np.abs(inside - np.array(canary)).sum(axis=1).min() > 150
    # A preview changes nothing: the stored zones and the live camera are as before.
    assert init_integration.options[CONF_ZONES] == [STREET]
    client = await hass_client()
    live = decode_rgb(
        await (await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")).read()
    )
    window = live[int(0.5 * 480) : int(0.7 * 480), int(0.7 * 640) : int(0.85 * 640)]
    assert np.abs(np.diff(window[..., 1], axis=1)).mean() > 30  # canary visible
    # A disabled draft zone is not masked in the preview, as it would not be live.
    response = await ws.call(
        "peephole/zones/preview",
        entry_id=init_integration.entry_id,
        zones=[{**STREET, "enabled": False}, WINDOW],
    )
    out = decode_rgb(base64.b64decode(response["result"]["image"]))
    street = out[: int(0.25 * 480) - 8]
    assert np.abs(np.diff(street[..., 1], axis=1)).max() > 0


@pytest.mark.parametrize("draft", [[], [{**STREET, "enabled": False}]])
async def test_no_preview_without_an_enabled_zone(
    ws: WsClient,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: SourceCamera,
    draft: list[dict[str, Any]],
) -> None:
    """Without a zone turned on the preview would be the unmasked picture: refused."""
    requests = len(sources.requests)
    response = await ws.call(
        "peephole/zones/preview", entry_id=init_integration.entry_id, zones=draft
    )
    assert not response["success"]
    assert response["error"]["code"] == "zone_editor_nothing_to_preview"
    assert response["error"]["message"].startswith("Nothing to preview")
    no_jpeg_in(response, canary_frame)
    assert len(sources.requests) == requests  # the camera was not even asked


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


@pytest.mark.parametrize("command", ["peephole/zones/preview", "peephole/zones/save"])
@pytest.mark.parametrize(("zones", "flow_points", "key"), INVALID)
async def test_invalid_zones_get_the_options_flow_errors(
    hass: HomeAssistant,
    ws: WsClient,
    init_integration: MockConfigEntry,
    command: str,
    zones: list[dict[str, Any]],
    flow_points: str | None,
    key: str,
) -> None:
    response = await ws.call(command, entry_id=init_integration.entry_id, zones=zones)
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
    for command in ("preview", "save"):
        response = await ws.call(
            f"peephole/zones/{command}", entry_id="nope", zones=[STREET]
        )
        assert response["error"]["code"] == "entry_not_found"
        assert "nope" in response["error"]["message"]
    await hass.config_entries.async_unload(init_integration.entry_id)
    response = await ws.call(
        "peephole/zones/preview", entry_id=init_integration.entry_id, zones=[STREET]
    )
    assert response["error"] == {
        "code": "entry_not_loaded",
        "message": "The Peephole doorbell Front door is not loaded.",
    }
    listed = (await ws.call("peephole/zones/list"))["result"]["entries"][0]
    assert listed["loaded"] is False
    assert listed["camera_entity_id"] is None
    # Zones of an unloaded doorbell can still be saved (applied when it loads).
    response = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones=[WINDOW]
    )
    assert response["success"]
    assert init_integration.options[CONF_ZONES] == [WINDOW]


async def test_privacy_mode_refuses_pictures(
    hass: HomeAssistant,
    ws: WsClient,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
) -> None:
    init_integration.runtime_data.async_set_privacy_mode(True)
    listed = (await ws.call("peephole/zones/list"))["result"]["entries"][0]
    assert listed["privacy_mode"] is True
    response = await ws.call(
        "peephole/zones/preview", entry_id=init_integration.entry_id, zones=[STREET]
    )
    assert response["error"]["code"] == "zone_editor_privacy_mode"
    assert "privacy mode" in response["error"]["message"]
    no_jpeg_in(response, canary_frame)
    # Saving needs no picture.
    response = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones=[WINDOW]
    )
    assert response["success"]


async def test_source_failures(
    hass: HomeAssistant,
    ws: WsClient,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
) -> None:
    sources.frame = b"\xff\xd8 not a jpeg"
    response = await ws.call(
        "peephole/zones/preview", entry_id=init_integration.entry_id, zones=[STREET]
    )
    assert response["error"]["code"] == "frame_dropped"
    sources.frame = None  # the camera has no image
    response = await ws.call(
        "peephole/zones/preview", entry_id=init_integration.entry_id, zones=[STREET]
    )
    assert response["error"] == {
        "code": "source_image_failed",
        "message": "Could not get an image from the source camera camera.porch.",
    }


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
        {"type": "peephole/zones/preview", "entry_id": "x", "zones": []},
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
    response = await ws.call("peephole/zones/preview", zones=[STREET])
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
    refresh = await hass.auth.async_create_refresh_token(hass_admin_user, CLIENT_ID)
    token = hass.auth.async_create_access_token(refresh)
    ws = WsClient(await hass_ws_client(hass, token))
    response = await ws.call(
        "peephole/zones/preview", entry_id=init_integration.entry_id, zones=[STREET]
    )
    assert response["success"], response
    response = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones=[WINDOW]
    )
    assert response["success"]
    assert init_integration.options[CONF_ZONES] == [WINDOW]
