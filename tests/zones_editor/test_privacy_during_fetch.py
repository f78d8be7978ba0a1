"""Privacy mode coming on while the zone editor's picture is on its way.

Asking the source camera can take seconds (an ESP32-CAM). Privacy mode is checked
before asking it, again when the frame arrives and once more right before the
answer: a frame that arrives once privacy mode is on is dropped, for the unmasked
snapshot and the preview alike, with the same translated error as before asking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from unittest.mock import patch

from aiohttp import ClientResponse
from homeassistant.core import HomeAssistant
from homeassistant.util.async_ import run_callback_threadsafe
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole import zone_editor_views
from custom_components.peephole.zone_editor_views import preview_url, snapshot_url
from tests.conftest import SourceCamera

from .conftest import STREET, HeldSourceCamera, error_of, jpeg_of, no_jpeg_in_body

PRIVACY_TEXT = (
    "The Peephole doorbell Front door is in privacy mode, so the zone editor "
    "shows no picture."
)

type Ask = Callable[[], Awaitable[ClientResponse]]


@pytest.fixture
def source_camera() -> SourceCamera:
    """A source camera the tests can hold while it "takes a picture"."""
    return HeldSourceCamera()


@pytest.fixture(params=["snapshot", "preview"])
async def ask(
    request: pytest.FixtureRequest,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> Ask:
    """Ask for the editor's snapshot, or a preview (of the saved street zone)."""
    client = await hass_client()
    entry_id = init_integration.entry_id
    if request.param == "snapshot":
        return lambda: client.get(snapshot_url(entry_id))
    return lambda: client.post(preview_url(entry_id), json={"zones": [STREET]})


async def _held(
    hass: HomeAssistant, sources: HeldSourceCamera, ask: Ask
) -> asyncio.Task[ClientResponse]:
    """Start a request and wait until it has asked the (held) source camera."""
    sources.release.clear()
    sources.asked.clear()
    requests = len(sources.requests)
    task = hass.async_create_task(ask())
    async with asyncio.timeout(10):
        await sources.asked.wait()
    assert len(sources.requests) == requests + 1
    await asyncio.sleep(0.05)
    assert not task.done()  # waiting for the camera
    return task


async def test_the_frame_comes_when_nothing_changed(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: HeldSourceCamera,
    ask: Ask,
) -> None:
    """The held camera works: released, the picture is sent."""
    task = await _held(hass, sources, ask)
    sources.release.set()
    await jpeg_of(await task)


@pytest.mark.parametrize("off_again", [False, True], ids=["on", "on_and_off_again"])
async def test_privacy_mode_turned_on_while_the_camera_answers(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: HeldSourceCamera,
    ask: Ask,
    off_again: bool,
) -> None:
    """Dropped also when privacy mode is off again: the frame may be from then."""
    task = await _held(hass, sources, ask)
    init_integration.runtime_data.async_set_privacy_mode(True)
    if off_again:
        init_integration.runtime_data.async_set_privacy_mode(False)
    sources.release.set()  # the frame arrives, taken during privacy mode maybe
    response = await task
    await _assert_refused_for_privacy(response, canary_frame)


async def test_privacy_mode_on_and_off_across_a_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: HeldSourceCamera,
    ask: Ask,
) -> None:
    """Privacy mode on, the doorbell reloaded (privacy restored), then off: dropped."""
    task = await _held(hass, sources, ask)
    await _switch_privacy(hass, "turn_on")
    # (No async_block_till_done: it would wait for the held request too.)
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    assert init_integration.runtime_data.privacy_mode  # restored by the new runtime
    await _switch_privacy(hass, "turn_off")
    sources.release.set()
    response = await task
    await _assert_refused_for_privacy(response, canary_frame)


async def _assert_refused_for_privacy(
    response: ClientResponse, canary_frame: bytes
) -> None:
    """The translated privacy-mode refusal, and not one byte of the frame."""
    assert response.status == HTTPStatus.CONFLICT
    body = await error_of(response)
    assert body["code"] == "zone_editor_privacy_mode"
    assert body["message"].startswith(PRIVACY_TEXT)
    no_jpeg_in_body(await response.read(), canary_frame)


async def _switch_privacy(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call(
        "switch",
        service,
        {"entity_id": "switch.front_door_privacy_mode"},
        blocking=True,
    )


async def test_doorbell_unloaded_while_the_camera_answers(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    sources: HeldSourceCamera,
    ask: Ask,
) -> None:
    task = await _held(hass, sources, ask)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    sources.release.set()
    response = await task
    assert response.status == HTTPStatus.CONFLICT
    assert await error_of(response) == {
        "code": "entry_not_loaded",
        "message": "The Peephole doorbell Front door is not loaded.",
    }
    no_jpeg_in_body(await response.read(), canary_frame)


@pytest.mark.parametrize("off_again", [False, True], ids=["on", "on_and_off_again"])
async def test_privacy_mode_turned_on_while_the_frame_is_checked(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    canary_frame: bytes,
    ask: Ask,
    off_again: bool,
) -> None:
    """The last check is right before the answer, after the executor's work."""
    peephole = init_integration.runtime_data
    real_check = zone_editor_views.read_frame_info
    real_mask = zone_editor_views._mask_frame

    def privacy_on() -> None:
        # In the executor: privacy mode comes on (in the event loop) meanwhile,
        # and goes off again.
        run_callback_threadsafe(
            hass.loop, peephole.async_set_privacy_mode, True
        ).result()
        if off_again:
            run_callback_threadsafe(
                hass.loop, peephole.async_set_privacy_mode, False
            ).result()

    def check(frame: bytes) -> Any:
        privacy_on()
        return real_check(frame)

    def mask(zones: Any, frame: bytes) -> bytes:
        privacy_on()
        return real_mask(zones, frame)

    with (
        patch.object(zone_editor_views, "read_frame_info", check),
        patch.object(zone_editor_views, "_mask_frame", mask),
    ):
        response = await ask()
    await _assert_refused_for_privacy(response, canary_frame)
