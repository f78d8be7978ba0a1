"""A restart, a reload or a reconnect never rings; a real press right after one does.

The doorbell's event entity in HA's esphome integration is a RestoreEntity: when it
is added again (Home Assistant starts, the integration reloads) it shows the time of
its last press, which may be seconds old. Here everything is real but the ESP32: the
emulated doorbell, HA's esphome integration (its reconnect logic and its entities'
restore-state data), HA's restore-state machinery and Peephole.
"""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import restore_state
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_MOTION_ENTITY,
    CONF_RING_ENTITY,
    DOMAIN,
)
from tools.emulator import EmulatedDoorbell

from .common import wait_until

SOURCE_CAMERA = "camera.peephole_doorbell_camera"
SOURCE_EVENT = "event.peephole_doorbell_doorbell"
SOURCE_MOTION = "binary_sensor.peephole_doorbell_motion"
SOURCE_BUTTON = "binary_sensor.peephole_doorbell_button"
DOORBELL = "event.front_door_doorbell"
NO_PRESS = (STATE_UNKNOWN, STATE_UNAVAILABLE)


class Rings:
    """Every ring Peephole's doorbell event entity fires.

    A ring sets the entity's state to a new time. Coming back from unavailable
    with the time of its last ring (its own restore, after a reload) is not a
    ring; any time never seen before is, whatever the state before it (the
    blueprints ignore changes from unavailable, but a ring there still records a
    clip and fires the event).
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Listen to the doorbell's state changes."""
        self.times: list[str] = []

        @callback
        def _changed(event: Event[EventStateChangedData]) -> None:
            if event.data["entity_id"] != DOORBELL:
                return
            new = event.data["new_state"]
            if new is None or new.state in NO_PRESS or new.state in self.times:
                return
            self.times.append(new.state)

        hass.bus.async_listen("state_changed", _changed)

    def __len__(self) -> int:
        """Return how many rings there were."""
        return len(self.times)


async def _add_peephole(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data={
            CONF_CAMERA_ENTITY: SOURCE_CAMERA,
            CONF_RING_ENTITY: SOURCE_EVENT,
            CONF_MOTION_ENTITY: SOURCE_MOTION,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _settle(hass: HomeAssistant) -> None:
    """Let every pending state change and listener run."""
    for _ in range(3):
        await hass.async_block_till_done()


async def test_reconnect_never_rings_a_press_after_it_does(
    hass: HomeAssistant,
    esphome_entry: tuple[MockConfigEntry, EmulatedDoorbell],
) -> None:
    """The device drops its connection and HA's esphome reconnects by itself."""
    _, device = esphome_entry
    peephole = await _add_peephole(hass)
    rings = Rings(hass)
    await device.press()
    await wait_until(lambda: len(rings) == 1, 10)
    pressed_at = hass.states.get(SOURCE_EVENT).state

    source_states: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: source_states.append(event.data["new_state"].state)
        if event.data["entity_id"] == SOURCE_EVENT
        else None,
    )
    for connection in list(device.connections):
        connection.close()
    # HA's esphome sees the connection drop, then reconnects by itself: the entity
    # comes back showing the same press.
    await wait_until(lambda: STATE_UNAVAILABLE in source_states, 30)
    await wait_until(lambda: hass.states.get(SOURCE_EVENT).state == pressed_at, 30)
    assert source_states[-2:] == [STATE_UNAVAILABLE, pressed_at]
    await _settle(hass)
    assert len(rings) == 1

    # A real press right after the reconnect rings.
    await device.press()
    await wait_until(lambda: len(rings) == 2, 10)
    await _settle(hass)
    assert len(rings) == 2

    # The device goes away for longer, and Peephole reloads meanwhile (an options
    # change): it never saw the press the entity shows when the device is back.
    pressed_at = hass.states.get(SOURCE_EVENT).state
    await device.stop()
    await wait_until(
        lambda: hass.states.get(SOURCE_EVENT).state == STATE_UNAVAILABLE, 30
    )
    assert await hass.config_entries.async_reload(peephole.entry_id)
    await _settle(hass)
    await device.start()  # on the same port: HA's esphome reconnects by itself
    await wait_until(lambda: hass.states.get(SOURCE_EVENT).state == pressed_at, 60)
    await _settle(hass)
    assert len(rings) == 2
    await device.press()
    await wait_until(lambda: len(rings) == 3, 10)


async def test_restart_within_seconds_of_a_press_never_rings(
    hass: HomeAssistant,
    esphome_entry: tuple[MockConfigEntry, EmulatedDoorbell],
) -> None:
    """Home Assistant restarts seconds after a press, and Peephole loads first.

    As at a real restart: HA's restore-state data is dumped while the doorbell is
    connected (Home Assistant 2026 dumps it as it stops), both integrations stop,
    the dump is read back as at start-up, Peephole starts while the doorbell's
    entity is not there yet, then HA's esphome connects and its event entity
    restores the press of a few seconds ago: no ring. A press after it rings.
    """
    esphome, device = esphome_entry
    peephole = await _add_peephole(hass)
    rings = Rings(hass)
    await device.press()
    await wait_until(lambda: len(rings) == 1, 10)
    pressed_at = hass.states.get(SOURCE_EVENT).state
    restore = restore_state.async_get(hass)
    await restore.async_dump_states()

    assert await hass.config_entries.async_unload(peephole.entry_id)
    assert await hass.config_entries.async_unload(esphome.entry_id)
    await _settle(hass)
    await restore.async_load()
    assert restore.last_states[SOURCE_EVENT].state.state == pressed_at

    assert await hass.config_entries.async_setup(peephole.entry_id)
    await _settle(hass)
    assert peephole.state is ConfigEntryState.LOADED
    assert hass.states.get(SOURCE_EVENT).state == STATE_UNAVAILABLE
    assert await hass.config_entries.async_setup(esphome.entry_id)
    await wait_until(lambda: hass.states.get(SOURCE_EVENT).state == pressed_at, 30)
    await wait_until(lambda: device.connections, 10)
    await _settle(hass)
    assert len(rings) == 1

    await device.press()
    await wait_until(lambda: len(rings) == 2, 10)
    await _settle(hass)
    assert len(rings) == 2


async def test_button_held_through_a_reconnect_is_not_a_press(
    hass: HomeAssistant,
    esphome_entry: tuple[MockConfigEntry, EmulatedDoorbell],
) -> None:
    """A binary_sensor source: a button seen 'on' as the device comes back never rings.

    The firmware's bell push (binary_sensor) is the ring source. The device
    reconnects while the button is held: HA's esphome reports it 'on' straight from
    'unavailable', an edge Peephole did not see. A press after the release rings.
    """
    _, device = esphome_entry
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data={CONF_CAMERA_ENTITY: SOURCE_CAMERA, CONF_RING_ENTITY: SOURCE_BUTTON},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    rings = Rings(hass)
    await device.press()
    await wait_until(lambda: len(rings) == 1, 10)

    button_states: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: button_states.append(event.data["new_state"].state)
        if event.data["entity_id"] == SOURCE_BUTTON
        else None,
    )
    held = asyncio.create_task(device.press(hold=3))
    await wait_until(lambda: hass.states.get(SOURCE_BUTTON).state == STATE_ON, 10)
    await wait_until(lambda: len(rings) == 2, 10)  # that press rings, once
    await device.stop()  # ... and the device drops off while it is held
    await wait_until(
        lambda: hass.states.get(SOURCE_BUTTON).state == STATE_UNAVAILABLE, 30
    )
    await device.start()
    await wait_until(lambda: button_states[-2:] == [STATE_UNAVAILABLE, STATE_ON], 60)
    await _settle(hass)
    assert len(rings) == 2
    await held
    await wait_until(lambda: hass.states.get(SOURCE_BUTTON).state == STATE_OFF, 10)
    await device.press()
    await wait_until(lambda: len(rings) == 3, 10)
