"""The masked camera through HA's real camera proxy (stills and MJPEG)."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
import io
import threading
from unittest.mock import patch

from homeassistant.components.camera import CameraEntityFeature
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
    # A masked stream is offered (tests/streams/test_masked_stream.py plays it),
    # but not in privacy mode: the frontend then shows the placeholder still.
    assert state.attributes["supported_features"] == CameraEntityFeature.STREAM
    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": "switch.front_door_privacy_mode"},
        blocking=True,
    )
    await hass.async_block_till_done()
    state = hass.states.get(PEEPHOLE_CAMERA)
    assert not state.attributes.get("supported_features")


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


class SlowSourceCamera(SourceCamera):
    """A source camera that takes a while to answer (as an ESP32-CAM does)."""

    def __init__(self) -> None:
        """Start released: every request answers at once until a test holds it."""
        super().__init__()
        self.release = asyncio.Event()
        self.release.set()

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Answer once released."""
        self.requests.append((width, height))
        await self.release.wait()
        return self.frame


@pytest.fixture
def source_camera() -> SourceCamera:
    """A source camera the frame-sharing tests can hold."""
    return SlowSourceCamera()


async def test_concurrent_requests_share_one_source_frame(
    hass: HomeAssistant, init_integration: MockConfigEntry, sources: SlowSourceCamera
) -> None:
    """Viewers asking at the same time get one masked frame from one source request."""
    peephole = init_integration.runtime_data
    peephole.reuse_for = 0  # sharing in flight only
    sources.release.clear()
    tasks = [hass.async_create_task(peephole.async_masked_image()) for _ in range(4)]
    sized = hass.async_create_task(peephole.async_masked_image(160, 120))
    await asyncio.sleep(0.05)
    assert sources.requests == [(None, None), (160, 120)]
    # A viewer that goes away does not take the others' frame with it.
    tasks[1].cancel()
    sources.release.set()
    frames = await asyncio.gather(*tasks[2:], sized)
    assert frames[0] == frames[1]
    assert frames[0][:2] == b"\xff\xd8"
    assert peephole.stats.masked == 2
    assert len(sources.requests) == 2
    assert tasks[1].cancelled()
    assert await tasks[0] == frames[0]


async def test_when_the_request_fetching_goes_away_another_fetches(
    hass: HomeAssistant, init_integration: MockConfigEntry, sources: SlowSourceCamera
) -> None:
    peephole = init_integration.runtime_data
    peephole.reuse_for = 0
    sources.release.clear()
    fetching = hass.async_create_task(peephole.async_masked_image())
    waiting = hass.async_create_task(peephole.async_masked_image())
    await asyncio.sleep(0.05)
    assert len(sources.requests) == 1
    fetching.cancel()
    await asyncio.sleep(0.05)
    assert len(sources.requests) == 2  # the one left asked the camera itself
    sources.release.set()
    assert (await waiting)[:2] == b"\xff\xd8"
    assert fetching.cancelled()
    assert peephole.stats.masked == 1


async def test_a_failed_shared_frame_fails_every_viewer_once(
    hass: HomeAssistant, init_integration: MockConfigEntry, sources: SlowSourceCamera
) -> None:
    """A bad frame is dropped (and counted) once, for every viewer that shared it."""
    peephole = init_integration.runtime_data
    sources.frame = b"\xff\xd8 not a jpeg"
    sources.release.clear()
    tasks = [hass.async_create_task(peephole.async_masked_image()) for _ in range(3)]
    await asyncio.sleep(0.05)
    sources.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, HomeAssistantError) for result in results)
    assert len(sources.requests) == 1
    assert peephole.stats.dropped == 1
    # Nothing failed is kept: the next request asks the camera again.
    sources.frame = make_jpeg()
    assert (await peephole.async_masked_image())[:2] == b"\xff\xd8"
    assert len(sources.requests) == 2


async def test_recent_frame_is_reused_until_zones_or_privacy_change(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sources: SlowSourceCamera,
) -> None:
    peephole = init_integration.runtime_data
    assert peephole.reuse_for == 0.25  # half the default frame interval
    peephole.reuse_for = 60
    client = await hass_client()
    first = await (await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")).read()
    again = await (await client.get(f"/api/camera_proxy/{PEEPHOLE_CAMERA}")).read()
    assert again == first
    assert len(sources.requests) == 1
    # Another size is another frame.
    await peephole.async_masked_image(160, 120)
    assert len(sources.requests) == 2
    # A zone drawn (the options flow and the zone editor apply zones live): the
    # next frame is masked with the zones as they are now.
    hass.config_entries.async_update_entry(
        init_integration,
        options={
            **init_integration.options,
            "zones": [{"name": "Street", "points": [[0, 0], [1, 0], [1, 0.5]]}],
        },
    )
    await hass.async_block_till_done()
    assert peephole.zones
    masked = await peephole.async_masked_image()
    assert len(sources.requests) == 3
    assert masked != first
    # Privacy mode on: the placeholder; off again: a new frame, not the old one.
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    private = await peephole.async_masked_image()
    assert Image.open(io.BytesIO(private)).size == PLACEHOLDER_SIZE
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    await peephole.async_masked_image()
    assert len(sources.requests) == 4
    # A frame is reused only while it is young.
    peephole.reuse_for = 0
    await peephole.async_masked_image()
    assert len(sources.requests) == 5


@pytest.mark.parametrize("off_again", [False, True], ids=["on", "on_and_off_again"])
async def test_privacy_mode_while_waiting_for_a_shared_frame(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sources: SlowSourceCamera,
    off_again: bool,
) -> None:
    """Privacy mode turned on while a frame is on its way: the placeholder, not it.

    Also when privacy mode is off again by the time the frame comes: it may have
    been taken while privacy mode was on. Both the request that fetches and one
    that shares its fetch get the placeholder.
    """
    peephole = init_integration.runtime_data
    sources.release.clear()
    fetching = hass.async_create_task(peephole.async_masked_image())
    await asyncio.sleep(0.05)
    sharing = hass.async_create_task(peephole.async_masked_image())
    await asyncio.sleep(0.05)
    assert len(sources.requests) == 1  # one fetch, shared
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    if off_again:
        await hass.services.async_call(
            "switch", "turn_off", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
        )
    sources.release.set()
    for frame in (await fetching, await sharing):
        assert Image.open(io.BytesIO(frame)).size == PLACEHOLDER_SIZE


async def test_a_frame_masked_too_slowly_is_dropped(
    hass: HomeAssistant, init_integration: MockConfigEntry, sources: SourceCamera
) -> None:
    """Masking has a timeout: a frame that takes too long is dropped and counted."""
    peephole = init_integration.runtime_data
    real = peephole.masker
    release = threading.Event()

    class SlowMasker:
        def mask(self, jpeg: bytes) -> bytes:
            release.wait(5)  # a pathological frame, stuck in the codec
            return real.mask(jpeg)

    peephole.masker = SlowMasker()  # type: ignore[assignment]
    with (
        patch("custom_components.peephole.doorbell.MASK_TIMEOUT", 0.1),
        pytest.raises(HomeAssistantError) as err,
    ):
        await peephole.async_masked_image()
    release.set()
    assert err.value.translation_placeholders == {"reason": "timeout"}
    assert peephole.stats.dropped_by_reason["timeout"] == 1
    await hass.async_block_till_done()
    assert hass.states.get(DROPPED).state == "1"
