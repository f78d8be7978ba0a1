"""The masked camera through HA's real camera proxy (stills and MJPEG)."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
import io

from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.doorbell import PLACEHOLDER_SIZE

from .conftest import CAMERA, SourceCamera, make_jpeg

PEEPHOLE_CAMERA = "camera.front_door"
PRIVACY = "switch.front_door_privacy_mode"
DROPPED = "sensor.front_door_dropped_frames"


async def test_still_is_served_through_the_proxy(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
) -> None:
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")
    assert response.status == HTTPStatus.OK
    body = await response.read()
    assert Image.open(io.BytesIO(body)).size == (320, 240)
    state = hass.states.get(PEEPHOLE_CAMERA)
    assert state.attributes["privacy_mode"] is False
    assert (
        "supported_features" not in state.attributes
        or not state.attributes["supported_features"]
    )


async def test_size_request_is_passed_to_the_source(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
) -> None:
    client = await hass_client()
    response = await client.get(
        f"/api/camera_proxy/{PEEPHOLE_CAMERA}?width=160&height=120"
    )
    assert response.status == HTTPStatus.OK
    assert (160, 120) in sources.requests


@pytest.mark.parametrize(
    "bad_frame",
    [b"not a jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 10, make_jpeg()[:300]],
    ids=["garbage", "bad-header", "truncated"],
)
async def test_bad_frames_are_dropped_and_counted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
    bad_frame: bytes,
) -> None:
    sources.frame = bad_frame
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")
    assert response.status != HTTPStatus.OK
    body = await response.read()
    assert bad_frame not in body or not bad_frame
    await hass.async_block_till_done()
    assert hass.states.get(DROPPED).state == "1"


async def test_empty_source_frame_is_an_error(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
) -> None:
    sources.frame = b""
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")
    assert response.status != HTTPStatus.OK


async def test_source_without_image_gives_translated_error(
    hass: HomeAssistant, init_integration: MockConfigEntry, sources: SourceCamera
) -> None:
    sources.frame = None
    with pytest.raises(HomeAssistantError) as err:
        await init_integration.runtime_data.async_masked_image()
    assert err.value.translation_key == "source_image_failed"
    assert err.value.translation_placeholders == {"entity_id": CAMERA}


async def test_privacy_mode_serves_the_placeholder(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
) -> None:
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    sources.requests.clear()
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")
    assert response.status == HTTPStatus.OK
    image = Image.open(io.BytesIO(await response.read()))
    assert image.size == PLACEHOLDER_SIZE
    # The source camera is not even asked for a frame.
    assert sources.requests == []


async def test_camera_unavailable_with_source(
    hass: HomeAssistant, init_integration: MockConfigEntry, sources: SourceCamera
) -> None:
    hass.states.async_set(CAMERA, STATE_UNAVAILABLE)
    await hass.async_block_till_done()
    assert hass.states.get(PEEPHOLE_CAMERA).state == STATE_UNAVAILABLE
    # Privacy mode still shows its placeholder.
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    assert hass.states.get(PEEPHOLE_CAMERA).state != STATE_UNAVAILABLE
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    hass.states.async_set(CAMERA, "idle")
    await hass.async_block_till_done()
    assert hass.states.get(PEEPHOLE_CAMERA).state == "idle"


async def _read_parts(response: object, count: int) -> list[bytes]:
    """Read `count` JPEG parts of a multipart MJPEG response."""
    parts: list[bytes] = []
    buffer = b""
    while len(parts) < count:
        chunk = await response.content.read(65536)  # type: ignore[attr-defined]
        if not chunk:
            break
        buffer += chunk
        while (start := buffer.find(b"\xff\xd8")) != -1 and (
            end := buffer.find(b"\xff\xd9", start)
        ) != -1:
            parts.append(buffer[start : end + 2])
            buffer = buffer[end + 2 :]
    return parts


async def test_mjpeg_stream_is_built_from_masked_frames(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SourceCamera,
) -> None:
    hass.config_entries.async_update_entry(
        init_integration, options={"frame_interval": 0.05}
    )
    await hass.async_block_till_done()
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy_stream/{PEEPHOLE_CAMERA}")
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith("multipart/x-mixed-replace")
    async with asyncio.timeout(10):
        first = await _read_parts(response, 2)  # HA sends the first frame twice
        assert len(first) == 2
        # Bad frames in the middle of a stream are dropped; the stream goes on.
        sources.frame = b"garbage"
        while hass.states.get(DROPPED).state == "0":  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        sources.frame = make_jpeg(color=(10, 200, 10))
        after = await _read_parts(response, 1)
    assert len(after) == 1
    assert after[0] != first[0]
    assert Image.open(io.BytesIO(after[0])).getpixel((5, 5))[1] > 150
    response.close()
