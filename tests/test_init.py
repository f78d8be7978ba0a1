"""Set-up, unload, reload, the doorbell event, motion, privacy mode, repairs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache,
)

from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_RING_ENTITY,
    CONF_RING_EVENT_TYPES,
    DOMAIN,
)

from .conftest import CAMERA, MOTION, RING_BINARY, RING_EVENT

DOORBELL = "event.front_door_doorbell"
PEEPHOLE_CAMERA = "camera.front_door"
PRIVACY = "switch.front_door_privacy_mode"
MOTION_OUT = "binary_sensor.front_door_motion"


def _press_event(
    hass: HomeAssistant, event_type: str = "ring", types: tuple[str, ...] = ("ring",)
) -> None:
    """Make the source event entity fire, as HA's event entities do (state = timestamp)."""
    hass.states.async_set(
        RING_EVENT,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"event_type": event_type, "event_types": list(types)},
    )


def _rings(hass: HomeAssistant) -> list[State]:
    return [s for s in hass.states.async_all("event") if s.entity_id == DOORBELL]


async def test_setup_creates_device_and_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    assert init_integration.state is ConfigEntryState.LOADED
    devices = dr.async_entries_for_config_entry(
        dr.async_get(hass), init_integration.entry_id
    )
    assert len(devices) == 1
    device = devices[0]
    assert device.identifiers == {(DOMAIN, init_integration.entry_id)}
    assert device.name == "Front door"
    entities = er.async_entries_for_config_entry(
        er.async_get(hass), init_integration.entry_id
    )
    assert sorted(e.entity_id for e in entities) == sorted(
        [
            DOORBELL,
            PEEPHOLE_CAMERA,
            PRIVACY,
            MOTION_OUT,
            "sensor.front_door_dropped_frames",
            "sensor.front_door_active_shares",
        ]
    )
    assert all(e.device_id == device.id for e in entities)
    doorbell = hass.states.get(DOORBELL)
    assert doorbell.attributes["device_class"] == "doorbell"
    assert doorbell.attributes["event_types"] == ["ring"]
    assert hass.states.get(PRIVACY).state == STATE_OFF
    assert hass.states.get(MOTION_OUT).state == STATE_OFF


async def test_source_camera_hidden_then_unhidden_on_removal(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    registry = er.async_get(hass)
    assert registry.async_get(CAMERA).hidden_by is er.RegistryEntryHider.INTEGRATION
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get(CAMERA).hidden_by is None


async def test_camera_hidden_by_user_stays_hidden(
    hass: HomeAssistant, sources: Any, config_entry: MockConfigEntry
) -> None:
    registry = er.async_get(hass)
    registry.async_update_entity(CAMERA, hidden_by=er.RegistryEntryHider.USER)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.config_entries.async_remove(config_entry.entry_id)
    assert registry.async_get(CAMERA).hidden_by is er.RegistryEntryHider.USER


async def test_unload_and_reload_leave_nothing_behind(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    listeners_before = hass.bus.async_listeners()
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get(DOORBELL).state == STATE_UNAVAILABLE
    listeners_after = hass.bus.async_listeners()
    # Every state-change and registry subscription the entry made is gone.
    assert listeners_after.get("state_changed", 0) < listeners_before.get(
        "state_changed", 0
    )
    assert not init_integration._on_unload
    # A press while unloaded does nothing.
    _press_event(hass)
    await hass.async_block_till_done()
    assert hass.states.get(DOORBELL).state == STATE_UNAVAILABLE

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.bus.async_listeners().get("state_changed", 0) == listeners_before.get(
        "state_changed", 0
    )


async def test_ring_from_event_source_fires_once_per_press(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    assert hass.states.get(DOORBELL).state == "unknown"
    seen: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda e: seen.append(e.data["new_state"].state)
        if e.data["entity_id"] == DOORBELL
        else None,
    )
    for _ in range(3):
        freezer.tick(timedelta(seconds=2))
        _press_event(hass)
        await hass.async_block_till_done()
    assert len(seen) == 3
    state = hass.states.get(DOORBELL)
    assert state.attributes["event_type"] == "ring"
    assert state.attributes["source"] == RING_EVENT
    # Attribute-only changes of the source (same timestamp) do not ring again.
    hass.states.async_set(
        RING_EVENT,
        hass.states.get(RING_EVENT).state,
        {"event_type": "ring", "event_types": ["ring"], "x": 1},
    )
    await hass.async_block_till_done()
    assert len(seen) == 3


async def test_event_source_restored_after_reconnect_does_not_ring(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    seen: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda e: seen.append(e.data["new_state"].state)
        if e.data["entity_id"] == DOORBELL
        else None,
    )
    _press_event(hass)
    await hass.async_block_till_done()
    last = hass.states.get(RING_EVENT).state
    hass.states.async_set(RING_EVENT, STATE_UNAVAILABLE, {"event_types": ["ring"]})
    await hass.async_block_till_done()
    assert hass.states.get(DOORBELL).state == STATE_UNAVAILABLE
    # The device reconnects and its entity restores the old timestamp: no ring.
    hass.states.async_set(
        RING_EVENT, last, {"event_type": "ring", "event_types": ["ring"]}
    )
    # An old event we never saw (restored after a restart) does not ring either.
    freezer.tick(timedelta(minutes=5))
    hass.states.async_set(
        RING_EVENT,
        (dt_util.utcnow() - timedelta(minutes=2)).isoformat(),
        {"event_type": "ring", "event_types": ["ring"]},
    )
    await hass.async_block_till_done()
    # One ring only: the doorbell's state (its last event time) never changed again.
    assert {s for s in seen if s != STATE_UNAVAILABLE} == {seen[0]}


async def test_event_types_filter(
    hass: HomeAssistant,
    sources: Any,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    types = ("ring", "long_press")
    _press_event(hass, "long_press", types)
    await hass.async_block_till_done()
    assert (
        hass.states.get(DOORBELL).state == "unknown"
    )  # a source with `ring`: only ring rings
    freezer.tick(timedelta(seconds=1))
    _press_event(hass, "ring", types)
    await hass.async_block_till_done()
    first = hass.states.get(DOORBELL).state
    assert first != "unknown"

    hass.config_entries.async_update_entry(
        config_entry, options={CONF_RING_EVENT_TYPES: ["long_press"]}
    )
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=1))
    _press_event(hass, "ring", types)
    await hass.async_block_till_done()
    assert hass.states.get(DOORBELL).state == first
    freezer.tick(timedelta(seconds=1))
    _press_event(hass, "long_press", types)
    await hass.async_block_till_done()
    assert hass.states.get(DOORBELL).state != first


async def test_source_without_ring_type_rings_on_any_event(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    _press_event(hass, "single", ("single", "double"))
    await hass.async_block_till_done()
    assert hass.states.get(DOORBELL).attributes["event_type"] == "ring"


@pytest.mark.parametrize(
    "entry_data", [{CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: RING_BINARY}]
)
async def test_ring_from_binary_sensor_source(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    seen: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda e: seen.append(e.data["new_state"].state)
        if e.data["entity_id"] == DOORBELL
        else None,
    )
    for _ in range(2):
        freezer.tick(timedelta(seconds=1))
        hass.states.async_set(RING_BINARY, STATE_ON)
        await hass.async_block_till_done()
        # Held: attribute updates while on are not new presses.
        hass.states.async_set(RING_BINARY, STATE_ON, {"held": True})
        await hass.async_block_till_done()
        hass.states.async_set(RING_BINARY, STATE_OFF)
        await hass.async_block_till_done()
    assert len(seen) == 2
    # Back from unavailable already "on": the edge was not seen, no ring.
    hass.states.async_set(RING_BINARY, STATE_UNAVAILABLE)
    await hass.async_block_till_done()
    hass.states.async_set(RING_BINARY, STATE_ON)
    await hass.async_block_till_done()
    assert len({s for s in seen if s != STATE_UNAVAILABLE}) == 2
    # No motion entity was configured.
    assert hass.states.get(MOTION_OUT) is None


async def test_motion_mirrors_source(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set(MOTION, STATE_ON)
    await hass.async_block_till_done()
    assert hass.states.get(MOTION_OUT).state == STATE_ON
    hass.states.async_set(MOTION, STATE_UNAVAILABLE)
    await hass.async_block_till_done()
    assert hass.states.get(MOTION_OUT).state == STATE_UNAVAILABLE
    hass.states.async_set(MOTION, STATE_OFF)
    await hass.async_block_till_done()
    assert hass.states.get(MOTION_OUT).state == STATE_OFF


async def test_privacy_mode_switch(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    assert hass.states.get(PRIVACY).state == STATE_ON
    assert hass.states.get(PEEPHOLE_CAMERA).attributes["privacy_mode"] is True
    assert init_integration.runtime_data.privacy_mode is True
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    assert hass.states.get(PRIVACY).state == STATE_OFF
    assert init_integration.runtime_data.privacy_mode is False


async def test_privacy_mode_restored_before_camera_serves(
    hass: HomeAssistant, sources: Any, config_entry: MockConfigEntry
) -> None:
    mock_restore_cache(hass, [State(PRIVACY, STATE_ON)])
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(PRIVACY).state == STATE_ON
    assert config_entry.runtime_data.privacy_mode is True


async def test_privacy_mode_survives_a_real_restart(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Turn privacy on, dump restore state as HA does on stop, set up again."""
    from homeassistant.helpers.restore_state import async_get as restore_state

    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    await restore_state(hass).async_dump_states()
    stored = hass_storage["core.restore_state"]["data"]
    assert any(
        item["state"]["entity_id"] == PRIVACY and item["state"]["state"] == STATE_ON
        for item in stored
    )
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    # Forget the in-memory state, then load what was dumped, as a restart would.
    restore_state(hass).last_states = {}
    await restore_state(hass).async_load()
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(PRIVACY).state == STATE_ON


async def test_missing_source_raises_repair_and_clears(
    hass: HomeAssistant, sources: Any
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Gate",
        unique_id="x",
        data={CONF_CAMERA_ENTITY: "camera.gone", CONF_RING_ENTITY: RING_BINARY},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issues = ir.async_get(hass)
    issue = issues.async_get_issue(
        DOMAIN, f"source_missing_{entry.entry_id}_{CONF_CAMERA_ENTITY}"
    )
    assert issue is not None
    assert issue.translation_placeholders == {
        "entity_id": "camera.gone",
        "name": "Gate",
    }
    assert hass.states.get("camera.gate").state == STATE_UNAVAILABLE
    # The camera appears: the issue goes away on the next check (a registry event).
    er.async_get(hass).async_get_or_create(
        "camera", "test_cam", "gone", suggested_object_id="gone"
    )
    await hass.async_block_till_done()
    assert (
        issues.async_get_issue(
            DOMAIN, f"source_missing_{entry.entry_id}_{CONF_CAMERA_ENTITY}"
        )
        is None
    )
    await hass.config_entries.async_remove(entry.entry_id)
    assert not [i for i in issues.issues.values() if i.domain == DOMAIN]


async def test_removed_source_raises_repair(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    er.async_get(hass).async_remove(CAMERA)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"source_missing_{init_integration.entry_id}_{CONF_CAMERA_ENTITY}"
    )
    assert issue is not None
    assert hass.states.get(PEEPHOLE_CAMERA).state == STATE_UNAVAILABLE


async def test_renamed_source_is_followed(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    er.async_get(hass).async_update_entity(CAMERA, new_entity_id="camera.front_porch")
    await hass.async_block_till_done()
    assert init_integration.data[CONF_CAMERA_ENTITY] == "camera.front_porch"
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(PEEPHOLE_CAMERA).state != STATE_UNAVAILABLE
    assert not ir.async_get(hass).issues


async def test_setup_before_start_checks_sources_when_started(
    hass: HomeAssistant, sources: Any
) -> None:
    from homeassistant.core import CoreState

    hass.set_state(CoreState.starting)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Gate",
        unique_id="y",
        data={CONF_CAMERA_ENTITY: "camera.later", CONF_RING_ENTITY: RING_BINARY},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert not ir.async_get(hass).issues  # not yet: the source may still be loading
    hass.states.async_set("camera.later", "idle")
    await hass.async_start()
    await hass.async_block_till_done()
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]


async def test_setup_component_without_entries(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
