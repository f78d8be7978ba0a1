"""Ask the house: Assist sentences answered from Peephole's real entities.

Every question goes through HA's own ``conversation`` component and its default
agent, which matches the blueprint's conversation triggers; the answers come from
the real Peephole entities (doorbell, motion, recording, privacy switch, camera).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)

from custom_components.peephole.const import EVENT_CLIP_SAVED
from tests.conftest import MOTION

from .common import (
    DOORBELL,
    PEEPHOLE_CAMERA,
    PEEPHOLE_MOTION,
    PRIVACY,
    ask,
    at,
    press,
    settle,
    setup_automations,
    until,
)
from .conftest import DoorSpeaker, async_setup_entities

BLUEPRINT = "ask_the_house.yaml"


async def _setup(hass: HomeAssistant, **extra: Any) -> None:
    await setup_automations(hass, BLUEPRINT, {"doorbell": DOORBELL, **extra})


async def test_who_is_at_the_door(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    assist: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(18, 4) + timedelta(seconds=59))
    await _setup(hass)
    assert await ask(hass, "who is at the door") == (
        "Nobody has rung yet. No movement at the door."
    )
    await press(hass, freezer)  # 18:05:00
    assert await ask(hass, "Who's at the front door?") == (
        "Someone rang just now. No movement at the door."
    )
    freezer.tick(timedelta(minutes=2))
    hass.states.async_set(MOTION, STATE_ON, {"device_class": "motion"})
    await settle(hass)
    assert hass.states.get(PEEPHOLE_MOTION).state == STATE_ON
    assert await ask(hass, "is anybody at the door") == (
        "Someone rang 2 minutes ago. There is movement at the door."
    )
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    freezer.tick(timedelta(minutes=10))
    assert await ask(hass, "who is at the door") == (
        "Privacy mode is on at the front door. Nobody has rung in the last 10"
        " minutes. There is movement at the door."
    )


async def test_when_did_someone_last_ring(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    assist: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(18, 4) + timedelta(seconds=59))
    await _setup(hass)
    assert await ask(hass, "when did someone last ring") == (
        "The front door has not rung yet."
    )
    await press(hass, freezer)
    entity = er.async_get(hass).async_get(DOORBELL)
    assert entity is not None
    assert entity.device_id is not None
    dr.async_get(hass).async_update_device(entity.device_id, name_by_user="Side gate")
    for delta, when in (
        (timedelta(minutes=1), "today at 18:05"),
        (timedelta(days=1), "yesterday at 18:05"),
        (timedelta(days=3), "on Monday 2 June at 18:05"),
    ):
        freezer.move_to(at(18, 5) + delta)
        assert await ask(hass, "When did the doorbell last ring?") == (
            f"The side gate last rang {when}."
        )


async def test_keep_the_last_clip_without_one(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    assist: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Recording off: the ring has no clip, and the answer says why."""
    freezer.move_to(at(11, 59) + timedelta(seconds=59))
    await _setup(hass)
    assert await ask(hass, "keep the last doorbell clip") == (
        "The front door has not rung yet."
    )
    await press(hass, freezer)
    assert await ask(hass, "save the last doorbell video") == (
        "The last ring, today at 12:00, has no clip: recording was off, or privacy"
        " mode was on."
    )


async def test_keep_the_last_clip_for_real(
    hass: HomeAssistant,
    recording: MockConfigEntry,
    assist: None,
) -> None:
    """Real recording: "who" says it records; "keep" keeps the ring's clip with the
    real peephole.keep_clip, and says so; a clip deleted since cannot be kept."""
    recorder = recording.runtime_data.recorder
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _setup(hass)
    await press(hass)
    clip_id = hass.states.get(DOORBELL).attributes["clip_id"]
    await until(lambda: recorder.recording)
    assert (await ask(hass, "who is at the door")).endswith("It is being recorded.")
    answer = await ask(hass, "keep the last doorbell clip")
    assert answer.startswith("Kept the clip of the ring today at ")
    assert answer.endswith(": it will not be deleted.")
    await until(lambda: saved)
    await until(lambda: (clip := recorder.store.get(clip_id)) and clip.keep)
    await hass.services.async_call(
        "peephole",
        "delete_clip",
        {"config_entry_id": recording.entry_id, "clip_id": clip_id},
        blocking=True,
    )
    assert (await ask(hass, "keep the last doorbell clip")).startswith(
        "I could not keep the clip of the ring today at "
    )
    await hass.async_block_till_done()


async def test_privacy_on_and_off(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    assist: None,
) -> None:
    await _setup(hass)
    assert await ask(hass, "turn on doorbell privacy") == (
        "Privacy mode is on at the front door: no live image and no recording."
    )
    assert hass.states.get(PRIVACY).state == STATE_ON
    assert hass.states.get(PEEPHOLE_CAMERA).attributes["privacy_mode"] is True
    assert await ask(hass, "turn the doorbell privacy mode off") == (
        "Privacy mode is off at the front door."
    )
    assert hass.states.get(PRIVACY).state == STATE_OFF


@pytest.fixture
async def tv(hass: HomeAssistant, blueprint_config: Any) -> DoorSpeaker:
    """A display: a real media player entity (it never gets a stream here)."""
    display = DoorSpeaker("Living room TV")
    await async_setup_entities(hass, "test_display", {Platform.MEDIA_PLAYER: [display]})
    return display


async def test_show_the_door_plays_the_masked_stream(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    assist: None,
    tv: DoorSpeaker,
) -> None:
    """The masked camera streams: the sentence calls camera.play_stream for it.

    In privacy mode the camera offers no stream: there is nothing to show. (The
    stream itself is played for real in tests/streams/test_masked_stream.py.)
    """
    play_stream: list[ServiceCall] = async_mock_service(hass, "camera", "play_stream")
    await _setup(hass, displays=[tv.entity_id])
    features = hass.states.get(PEEPHOLE_CAMERA).attributes["supported_features"]
    assert features & 2  # CameraEntityFeature.STREAM
    assert await ask(hass, "show the door on living room tv") == (
        "Showing the front door on Living room TV."
    )
    (call,) = play_stream
    assert call.data == {"entity_id": [PEEPHOLE_CAMERA], "media_player": tv.entity_id}
    assert await ask(hass, "show me the doorbell on the kitchen screen") == (
        "I do not know a display called kitchen screen."
    )
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    assert not hass.states.get(PEEPHOLE_CAMERA).attributes.get("supported_features")
    assert await ask(hass, "show the door on living room tv") == (
        "Privacy mode is on at the front door: there is nothing to show."
    )
    assert len(play_stream) == 1


async def test_show_the_door_of_a_camera_without_a_stream(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    assist: None,
    tv: DoorSpeaker,
) -> None:
    """A camera state without STREAM (stood in): the answer says it cannot."""
    play_stream = async_mock_service(hass, "camera", "play_stream")
    await _setup(hass)
    state = hass.states.get(PEEPHOLE_CAMERA)
    hass.states.async_set(
        PEEPHOLE_CAMERA, state.state, {**state.attributes, "supported_features": 0}
    )
    assert await ask(hass, "show the front door on the living room tv") == (
        "The front door camera cannot stream yet, so I cannot show it on Living"
        " room TV."
    )
    assert play_stream == []


async def test_not_from_an_ignored_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    assist: None,
) -> None:
    """A satellite outdoors: what is said there does not act on the doorbell."""
    entry = MockConfigEntry(domain="esphome", title="Porch satellite")
    entry.add_to_hass(hass)
    porch = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("esphome", "porch")}
    )
    await _setup(hass, ignore_devices=[porch.id])
    result = await conversation.async_converse(
        hass,
        "turn off doorbell privacy",
        None,
        Context(),
        language="en",
        device_id=porch.id,
    )
    assert result.response.speech["plain"]["speech"] == (
        "I do not answer about the door from here."
    )
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    await conversation.async_converse(
        hass, "turn off doorbell privacy", None, Context(), device_id=porch.id
    )
    assert hass.states.get(PRIVACY).state == STATE_ON
    assert await ask(hass, "turn off doorbell privacy") == (
        "Privacy mode is off at the front door."
    )
