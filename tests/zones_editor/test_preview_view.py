"""The zone editor's preview: an admin-only HTTP view, never the websocket.

A preview is masked only by the DRAFT zones, which may cover far less than the
saved ones (the street zone turned off, a tiny zone elsewhere): it gets the same
care as the unmasked snapshot. Real Home Assistant core (phcc), real HTTP server,
real auth; the source camera is a real camera entity serving the test's frame.
"""

from __future__ import annotations

from http import HTTPStatus
import json
import time
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole import zone_editor_views
from custom_components.peephole.const import CONF_ZONES
from custom_components.peephole.masking import pixel_mask
from custom_components.peephole.zone_editor_views import preview_url
from custom_components.peephole.zones import MAX_ZONES, zones_from_storage
from tests.conftest import SourceCamera
from tests.masking.frames import CANARY_A, CANARY_B, decode_rgb

from .conftest import (
    INVALID,
    PEEPHOLE_CAMERA,
    STREET,
    WINDOW,
    WsClient,
    error_of,
    jpeg_of,
    no_jpeg_in,
)


async def test_preview_masks_like_peephole_and_changes_nothing(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: SourceCamera,
    hass_storage: dict[str, Any],
) -> None:
    client = await hass_client()
    url = preview_url(init_integration.entry_id)
    requests = len(sources.requests)
    draft = [STREET, {**WINDOW, "name": "  Window "}]
    masked = await jpeg_of(await client.post(url, json={"zones": draft}))
    assert len(sources.requests) == requests + 1  # a fresh frame, fetched now
    # The canary is masked inside both draft zones.
    out = decode_rgb(masked)
    zones = zones_from_storage([STREET, WINDOW])
    inside = out[pixel_mask(zones, 640, 480)]
    for canary in (CANARY_A, CANARY_B):
        assert np.abs(inside - np.array(canary)).sum(axis=1).min() > 150
    # A preview changes nothing: the stored zones and the live camera are as before.
    assert init_integration.options[CONF_ZONES] == [STREET]
    live = decode_rgb(
        await (await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")).read()
    )
    window = live[int(0.5 * 480) : int(0.7 * 480), int(0.7 * 640) : int(0.85 * 640)]
    assert np.abs(np.diff(window[..., 1], axis=1)).mean() > 30  # canary visible
    # A disabled draft zone is not masked in the preview, as it would not be live.
    out = decode_rgb(
        await jpeg_of(
            await client.post(
                url, json={"zones": [{**STREET, "enabled": False}, WINDOW]}
            )
        )
    )
    street = out[: int(0.25 * 480) - 8]
    assert np.abs(np.diff(street[..., 1], axis=1)).max() > 0
    # Nothing is kept anywhere: storage, entry, states, Peephole's objects.
    await hass.async_block_till_done()
    for frame in (canary_frame, masked):
        no_jpeg_in(hass_storage, frame)
        no_jpeg_in(dict(init_integration.options), frame)
        no_jpeg_in([s.as_dict() for s in hass.states.async_all()], frame)
        assert frame not in [
            v
            for v in vars(init_integration.runtime_data).values()
            if isinstance(v, bytes)
        ]


async def test_the_language_comes_with_the_body(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
) -> None:
    client = await hass_client()
    url = preview_url(init_integration.entry_id)
    zones = [{"name": "Gate", "points": [[0, 0], [0.5, 0], [0.5, 2]]}]
    response = await client.post(url, json={"zones": zones, "language": "en"})
    assert response.status == HTTPStatus.BAD_REQUEST
    assert await error_of(response) == {
        "code": "point_out_of_range",
        "message": "The point 0.5,2 is outside the image: both coordinates must be "
        "between 0 and 1.",
    }
    # Something that is not a language tag falls back to Home Assistant's language.
    response = await client.post(
        url, json={"zones": zones, "language": "no such language!"}
    )
    assert (await error_of(response))["message"].startswith("The point 0.5,2 is")
    # The same placeholders as the options flow.
    response = await client.post(
        url,
        json={
            "zones": [
                {"name": f"Z{i}", "points": STREET["points"]}
                for i in range(MAX_ZONES + 1)
            ]
        },
    )
    assert (await error_of(response))["message"] == (
        f"A camera can have at most {MAX_ZONES} zones."
    )


@pytest.mark.parametrize(("zones", "flow_points", "key"), INVALID)
async def test_invalid_zones_get_the_same_errors_as_saving(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    ws: WsClient,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: SourceCamera,
    zones: list[dict[str, Any]],
    flow_points: str | None,
    key: str,
) -> None:
    """The draft is validated exactly as saving (and the options flow) does it."""
    client = await hass_client()
    requests = len(sources.requests)
    response = await client.post(
        preview_url(init_integration.entry_id), json={"zones": zones}
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    body = await error_of(response)
    assert body["code"] == key
    no_jpeg_in(body, canary_frame)
    assert len(sources.requests) == requests  # the camera was not even asked
    saved = await ws.call(
        "peephole/zones/save", entry_id=init_integration.entry_id, zones=zones
    )
    assert saved["error"] == body  # the same key and the same text
    assert init_integration.options[CONF_ZONES] == [STREET]


@pytest.mark.parametrize("draft", [[], [{**STREET, "enabled": False}]])
async def test_no_preview_without_an_enabled_zone(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: SourceCamera,
    draft: list[dict[str, Any]],
) -> None:
    """Without a zone turned on the preview would be the unmasked picture: refused."""
    client = await hass_client()
    requests = len(sources.requests)
    response = await client.post(
        preview_url(init_integration.entry_id), json={"zones": draft}
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    body = await error_of(response)
    assert body["code"] == "zone_editor_nothing_to_preview"
    assert body["message"].startswith("Nothing to preview")
    no_jpeg_in(body, canary_frame)
    assert len(sources.requests) == requests  # the camera was not even asked


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"zones=0,0;1,1", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b'{"zones": "0,0; 1,0; 1,1"}', "application/json"),
        (b'{"zones": [], "language": 5}', "application/json"),
        (b'{"zones": [], "entry_id": "x"}', "application/json"),
        (b'{"language": "en"}', "application/json"),
        (
            json.dumps({"zones": [{}] * (MAX_ZONES * 4 + 1)}).encode(),
            "application/json",
        ),
    ],
)
async def test_bad_requests(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: SourceCamera,
    data: bytes,
    content_type: str,
) -> None:
    client = await hass_client()
    requests = len(sources.requests)
    response = await client.post(
        f"{preview_url(init_integration.entry_id)}?language=en",
        data=data,
        headers={"Content-Type": content_type},
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    body = await error_of(response)
    assert body["code"] == "zone_editor_bad_request"
    assert body["message"].startswith("The zone editor sent a request Peephole")
    assert len(sources.requests) == requests


async def test_masking_that_takes_too_long_drops_the_frame(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
) -> None:
    """Executor work with a timeout (invariant 5): a stuck frame is dropped."""

    def stuck(zones: Any, frame: bytes) -> bytes:
        time.sleep(0.3)
        return frame  # would be the unmasked frame: never sent

    client = await hass_client()
    with (
        patch.object(zone_editor_views, "MASK_TIMEOUT", 0.05),
        patch.object(zone_editor_views, "_mask_frame", stuck),
    ):
        response = await client.post(
            preview_url(init_integration.entry_id), json={"zones": [STREET]}
        )
    assert response.status == HTTPStatus.BAD_GATEWAY
    assert await error_of(response) == {
        "code": "frame_dropped",
        "message": "A frame was dropped because it could not be masked (timeout).",
    }
