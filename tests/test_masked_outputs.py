"""Invariant 1 end to end: through HA's real camera proxy, nothing inside a zone leaks.

A canary pattern (a bright two-colour checkerboard) is drawn inside every zone of a
photographic frame served by a real source camera entity. Every output of the
Peephole camera (stills at any size, the MJPEG stream) must show no trace of it,
and pixels away from the zones must be exactly the decoded source.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.const import CONF_ZONES, DOMAIN
from custom_components.peephole.zones import zones_from_storage

from .conftest import SourceCamera
from .masking.frames import (
    CANARY_A,
    CANARY_B,
    changed_region,
    decode_rgb,
    draw_canary,
    encode,
    photo,
)

PEEPHOLE_CAMERA = "camera.front_door"
ZONES = [
    {
        "name": "Street",
        "points": [[0, 0], [1, 0], [1, 0.25], [0, 0.25]],
        "enabled": True,
    },
    {
        "name": "Window",
        "points": [[0.62, 0.4], [0.95, 0.45], [0.9, 0.8], [0.6, 0.75]],
        "enabled": True,
    },
]


def _canary_frame(
    width: int = 640, height: int = 480, subsampling: str = "4:2:0"
) -> tuple[bytes, np.ndarray]:
    zones = zones_from_storage(ZONES)
    rgb = draw_canary(photo(width, height, seed=7), zones)
    jpeg = encode(rgb, subsampling)
    return jpeg, decode_rgb(jpeg)


def _assert_no_canary(jpeg: bytes, source_jpeg: bytes, source_rgb: np.ndarray) -> None:
    zones = [z for z in zones_from_storage(ZONES) if z.enabled]
    out = decode_rgb(jpeg)
    assert out.shape == source_rgb.shape
    region = changed_region(zones, source_jpeg)
    # Inside the masked blocks: flat fill, none of the canary colours.
    from custom_components.peephole.masking import pixel_mask

    masked = pixel_mask(zones, out.shape[1], out.shape[0])
    inside = out[masked]
    for canary in (CANARY_A, CANARY_B):
        distance = np.abs(inside - np.array(canary)).sum(axis=1)
        assert distance.min() > 150, "a canary colour survived inside a zone"
    assert inside.std(axis=0).max() < 2.0, "the fill is not solid"
    # Away from the zones: the decoded source, exactly.
    assert np.abs(out[~region] - source_rgb[~region]).max() == 0


@pytest.fixture
def config_entry(entry_data: dict[str, Any]) -> MockConfigEntry:
    """An entry with two zones."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data=entry_data,
        options={CONF_ZONES: ZONES},
        unique_id="c",
    )


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4", "gray"])
async def test_still_through_the_proxy_is_masked(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
    subsampling: str,
) -> None:
    jpeg, rgb = _canary_frame(subsampling=subsampling)
    sources.frame = jpeg
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")
    assert response.status == HTTPStatus.OK
    body = await response.read()
    if subsampling == "gray":
        rgb = decode_rgb(jpeg)
    _assert_no_canary(body, jpeg, rgb)
    assert hass.states.get(PEEPHOLE_CAMERA).attributes["zones"] == {
        "Street": True,
        "Window": True,
    }


async def test_progressive_source_is_masked_too(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
) -> None:
    zones = zones_from_storage(ZONES)
    sources.frame = encode(
        draw_canary(photo(640, 480, seed=3), zones), progressive=True
    )
    client = await hass_client()
    body = await (await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")).read()
    out = decode_rgb(body)
    from custom_components.peephole.masking import pixel_mask

    inside = out[pixel_mask(zones, 640, 480)]
    for canary in (CANARY_A, CANARY_B):
        assert np.abs(inside - np.array(canary)).sum(axis=1).min() > 150


async def test_mjpeg_stream_is_masked(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
) -> None:
    jpeg, rgb = _canary_frame()
    sources.frame = jpeg
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy_stream/{PEEPHOLE_CAMERA}")
    assert response.status == HTTPStatus.OK
    buffer = b""
    async with asyncio.timeout(10):
        while buffer.count(b"\xff\xd9") < 2:
            buffer += await response.content.read(65536)
    response.close()
    for part in buffer.split(b"--frameboundary")[1:3]:
        frame = part[part.index(b"\xff\xd8") : part.rindex(b"\xff\xd9") + 2]
        _assert_no_canary(frame, jpeg, rgb)


async def test_disabling_a_zone_applies_live_and_is_admin_only(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
    hass_read_only_user: MockUser,
) -> None:
    jpeg, _ = _canary_frame()
    sources.frame = jpeg
    peephole = init_integration.runtime_data
    call = {
        "config_entry_id": init_integration.entry_id,
        "zone": "window",
        "enabled": False,
    }
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "set_zone",
            call,
            blocking=True,
            context=_context(hass_read_only_user),
        )
    await hass.services.async_call(DOMAIN, "set_zone", call, blocking=True)
    await hass.async_block_till_done()
    # Applied without a reload: same runtime object, new masker.
    assert init_integration.runtime_data is peephole
    assert hass.states.get(PEEPHOLE_CAMERA).attributes["zones"] == {
        "Street": True,
        "Window": False,
    }
    assert [z["enabled"] for z in init_integration.options[CONF_ZONES]] == [True, False]
    client = await hass_client()
    out = decode_rgb(
        await (await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")).read()
    )
    window = out[int(0.5 * 480) : int(0.7 * 480), int(0.7 * 640) : int(0.85 * 640)]
    # The canary's 1-pixel checkerboard is visible again (as strong luma ripple) ...
    assert np.abs(np.diff(window[..., 1], axis=1)).mean() > 30
    # ... while the street stays a flat fill.
    street = out[: int(0.25 * 480) - 8]
    assert np.abs(np.diff(street[..., 1], axis=1)).max() == 0


async def test_set_zone_errors(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_zone",
            {
                "config_entry_id": init_integration.entry_id,
                "zone": "Garden",
                "enabled": False,
            },
            blocking=True,
        )
    assert err.value.translation_key == "unknown_zone"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_zone",
            {"config_entry_id": "nope", "zone": "Street", "enabled": False},
            blocking=True,
        )
    assert err.value.translation_key == "entry_not_found"
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_zone",
            {
                "config_entry_id": init_integration.entry_id,
                "zone": "Street",
                "enabled": False,
            },
            blocking=True,
        )
    assert err.value.translation_key == "entry_not_loaded"


async def test_invalid_stored_zones_refuse_to_start(
    hass: HomeAssistant, sources: SourceCamera, entry_data: dict[str, Any]
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
    assert hass.states.get(PEEPHOLE_CAMERA) is None


async def test_invalid_zone_update_reloads_and_fails_closed(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        init_integration,
        options={CONF_ZONES: [{"name": "Bad", "points": [[0, 0], [1, 1]]}]},
    )
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.SETUP_ERROR


def _context(user: MockUser) -> Any:
    from homeassistant.core import Context

    return Context(user_id=user.id)


async def test_missing_codec_refuses_to_start(
    hass: HomeAssistant, sources: SourceCamera, config_entry: MockConfigEntry
) -> None:
    from unittest.mock import patch

    from custom_components.peephole.masking import MaskError

    config_entry.add_to_hass(hass)
    with patch(
        "custom_components.peephole.load_codec",
        side_effect=MaskError("codec", "libturbojpeg not found"),
    ):
        assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    assert config_entry.error_reason_translation_key == "codec_missing"
    assert hass.states.get(PEEPHOLE_CAMERA) is None
