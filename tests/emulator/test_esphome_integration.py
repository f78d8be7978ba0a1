"""Home Assistant's real `esphome` integration against the emulated doorbell."""

from __future__ import annotations

from homeassistant.components.camera import async_get_image
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tools.emulator import EmulatedDoorbell

from .common import wait_until

EVENT = "event.peephole_doorbell_doorbell"
CAMERA = "camera.peephole_doorbell_camera"
BUTTON = "binary_sensor.peephole_doorbell_button"
MOTION = "binary_sensor.peephole_doorbell_motion"


async def test_entities_ring_and_camera(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    esphome_entry: tuple[MockConfigEntry, EmulatedDoorbell],
) -> None:
    """The firmware's entities appear; a press fires `ring`; the camera serves a JPEG."""
    entry, device = esphome_entry
    entity_ids = {
        e.entity_id
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    }
    assert {
        EVENT,
        CAMERA,
        BUTTON,
        MOTION,
        "switch.peephole_doorbell_chime",
        "button.peephole_doorbell_test_chime",
        "button.peephole_doorbell_restart",
        "light.peephole_doorbell_flash",
        "sensor.peephole_doorbell_wi_fi_signal",
        "sensor.peephole_doorbell_uptime",
    } <= entity_ids

    event = hass.states.get(EVENT)
    assert event is not None
    assert event.attributes["device_class"] == "doorbell"
    assert event.attributes["event_types"] == ["ring"]
    before = event.state
    # The device sends its initial states just after the entities appear.
    await wait_until(lambda: hass.states.get(BUTTON).state != "unknown", 10)
    assert hass.states.get(BUTTON).state == "off"

    await device.press()
    await hass.async_block_till_done()
    await wait_until(lambda: hass.states.get(EVENT).state != before)
    state = hass.states.get(EVENT)
    assert state.attributes["event_type"] == "ring"

    await device.motion(True)
    await wait_until(lambda: hass.states.get(MOTION).state == "on")

    image = await async_get_image(hass, CAMERA)
    assert image.content_type == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8"

    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.peephole_doorbell_chime"},
        blocking=True,
    )
    await wait_until(
        lambda: hass.states.get("switch.peephole_doorbell_chime").state == "off"
    )
    assert device.states[device.config.entity("chime_enabled").key] is False
