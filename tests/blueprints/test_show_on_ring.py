"""Show the door on screens when someone rings: the masked camera's stream."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .common import (
    DOORBELL,
    PEEPHOLE_CAMERA,
    PRIVACY,
    at,
    entity_ids,
    press,
    settle,
    setup_automations,
)

pytestmark = pytest.mark.usefixtures("blueprint_config")

BLUEPRINT = "show_on_ring.yaml"
TV, KITCHEN = "media_player.living_room_tv", "media_player.kitchen_display"


@pytest.fixture
def shown(hass: HomeAssistant) -> list[ServiceCall]:
    """camera.play_stream, as the screens would get it (the kitchen one fails).

    (HA's real camera.play_stream of the masked camera is played in
    tests/streams/test_masked_stream.py.)
    """
    calls: list[ServiceCall] = []

    async def play_stream(call: ServiceCall) -> None:
        calls.append(call)
        if call.data["media_player"] == KITCHEN:
            raise HomeAssistantError("the kitchen display is off")

    hass.services.async_register("camera", "play_stream", play_stream)
    return calls


def _inputs(**extra: object) -> dict[str, object]:
    return {"doorbell": DOORBELL, "displays": [KITCHEN, TV], **extra}


async def test_a_ring_shows_the_masked_camera_on_every_screen(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    shown: list[ServiceCall],
) -> None:
    freezer.move_to(at(12))
    await setup_automations(hass, BLUEPRINT, _inputs())
    await press(hass, freezer)
    await settle(hass)
    await hass.async_block_till_done()
    # The kitchen display fails first; the TV still gets it.
    displays = sorted(call.data["media_player"] for call in shown)
    assert displays == sorted([TV, KITCHEN])
    for call in shown:
        assert entity_ids(call) == [PEEPHOLE_CAMERA]
        assert call.data["format"] == "hls"


async def test_nothing_in_privacy_mode_or_quiet_hours(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    shown: list[ServiceCall],
) -> None:
    freezer.move_to(at(23))  # quiet hours (22:00 to 07:00 by default)
    await setup_automations(hass, BLUEPRINT, _inputs())
    await press(hass, freezer)
    await hass.async_block_till_done()
    assert shown == []
    freezer.move_to(at(12))
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    await press(hass, freezer)
    await hass.async_block_till_done()
    assert shown == []  # privacy mode: the masked camera has no stream
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": PRIVACY}, blocking=True
    )
    await press(hass, freezer)
    await hass.async_block_till_done()
    assert len(shown) == 2
