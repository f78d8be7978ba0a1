"""A private description of the visitor: an AI task entity looks at the masked picture.

Home Assistant 2025.8 or newer (``ai_task``): the whole module is skipped on older
releases, where the blueprint's ``min_version`` keeps it from being imported.

Peephole runs on a source camera whose picture has a bright canary inside a privacy
zone; the AI task entity (``Describer``, through HA's own ``ai_task`` component)
keeps every picture it is given, so the tests check it got the masked camera's
picture, without the canary.
"""

from __future__ import annotations

import asyncio
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import Event, HomeAssistant, ServiceCall
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

pytest.importorskip(
    "homeassistant.components.ai_task", reason="ai_task: Home Assistant 2025.8+"
)

from custom_components.peephole.const import CONF_ZONES, DOMAIN
from custom_components.peephole.masking import pixel_mask
from custom_components.peephole.zones import zones_from_storage
from tests.conftest import CAMERA, SourceCamera
from tests.masking.frames import (
    CANARY_A,
    CANARY_B,
    changed_region,
    decode_rgb,
    draw_canary,
    encode,
    photo,
)

from .common import (
    DOORBELL,
    PEEPHOLE_CAMERA,
    PRIVACY,
    ask,
    at,
    mock_services,
    press,
    setup_blueprints,
    until_done,
    wait,
)
from .conftest import async_setup_entities
from .describer import Describer, Picture

STREET = [
    {"name": "Street", "points": [[0, 0], [1, 0], [1, 0.3], [0, 0.3]], "enabled": True}
]
AI = "ai_task.describer"
SATELLITES = ["assist_satellite.hall"]
PIXEL = "notify.mobile_app_pixel_8"
ANSWER = "A courier with a parcel."


@pytest.fixture
def config_entry(entry_data: dict[str, Any]) -> MockConfigEntry:
    """A Peephole with a privacy zone over the street."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data=entry_data,
        options={CONF_ZONES: STREET},
        unique_id=CAMERA,
    )


@pytest.fixture
def canary(sources: SourceCamera) -> bytes:
    """The source camera's picture: a photo with a bright canary on the street."""
    sources.frame = encode(draw_canary(photo(640, 480, seed=5), _zones()))
    return sources.frame


def _zones() -> list[Any]:
    return zones_from_storage(STREET)


@pytest.fixture
async def describer(hass: HomeAssistant, blueprint_config: Any) -> Describer:
    entity = Describer()
    await async_setup_entities(hass, "test_ai", {Platform.AI_TASK: [entity]})
    assert entity.entity_id == AI
    return entity


@pytest.fixture
def described(hass: HomeAssistant) -> list[Event]:
    return async_capture_events(hass, "peephole_visitor_described")


@pytest.fixture
def announced(hass: HomeAssistant) -> list[ServiceCall]:
    return mock_services(hass, "assist_satellite.announce")["assist_satellite.announce"]


DESCRIBE = ("describe_visitor.yaml", {"doorbell": DOORBELL, "ai_task_entity": AI})


def _announce(wait_s: float) -> tuple[str, dict[str, Any]]:
    return (
        "announce_ring.yaml",
        {
            "doorbell": DOORBELL,
            "satellites": SATELLITES,
            "chime": False,
            "description_wait": wait_s,
        },
    )


def _notify(phones: dict[str, str], wait_s: float) -> tuple[str, dict[str, Any]]:
    return (
        "notify_ring.yaml",
        {
            "doorbell": DOORBELL,
            "camera": PEEPHOLE_CAMERA,
            "notify_devices": [phones["Pixel 8"]],
            "snapshot": False,
            "description_wait": wait_s,
        },
    )


def _assert_masked(picture: Picture, source: bytes) -> None:
    """The picture is the masked camera's: no canary in the zone, the rest as is."""
    assert picture.media_content_id == f"media-source://camera/{PEEPHOLE_CAMERA}"
    assert picture.mime_type == "image/jpeg"
    zones = _zones()
    received, original = decode_rgb(picture.data), decode_rgb(source)
    inside = pixel_mask(zones, 640, 480)
    for colour in (CANARY_A, CANARY_B):
        # The canary is in the source's zone (the test could fail) ...
        assert np.abs(original[inside] - np.array(colour)).sum(axis=1).min() < 30
        # ... and not in what the AI got.
        assert np.abs(received[inside] - np.array(colour)).sum(axis=1).min() > 150
    outside = ~changed_region(zones, source)
    assert np.abs(received[outside] - original[outside]).max() == 0


async def test_the_ai_gets_the_masked_picture_and_is_announced(
    hass: HomeAssistant,
    canary: bytes,
    describer: Describer,
    described: list[Event],
    announced: list[ServiceCall],
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """One AI task per ring, on the masked camera's picture; the announcement and
    the notification say what it answered."""
    freezer.move_to(at(18, 5))
    await setup_blueprints(hass, DESCRIBE, _announce(5), _notify(phones, 5))
    await press(hass, freezer)
    await until_done(hass, lambda: announced and notify_calls[PIXEL])
    ((instructions, (picture,)),) = describer.tasks
    _assert_masked(picture, canary)
    assert "who is at the front door" in instructions
    (event,) = described
    assert event.data == {
        "entry_id": hass.config_entries.async_entries(DOMAIN)[0].entry_id,
        "doorbell": DOORBELL,
        "ring": hass.states.get(DOORBELL).state,
        "description": ANSWER,
    }
    (announce,) = announced
    assert announce.data["message"] == f"Someone is at the front door. {ANSWER}"
    (notification,) = notify_calls[PIXEL]
    assert notification.data["message"] == (
        f"Someone rang the doorbell at 18:05. {ANSWER}"
    )


async def test_a_slow_ai_does_not_delay_past_the_wait(
    hass: HomeAssistant,
    canary: bytes,
    describer: Describer,
    described: list[Event],
    announced: list[ServiceCall],
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The AI does not answer: the announcement and the notification go when the
    wait ends, without a description; its late answer changes nothing."""
    freezer.move_to(at(12))
    describer.hold = asyncio.Event()
    await setup_blueprints(hass, DESCRIBE, _announce(6), _notify(phones, 4))
    await press(hass, freezer)
    await until_done(hass, lambda: describer.tasks)
    # (Time moves in steps; timers due up to 0.5 s after a step fire with it.)
    await wait(hass, freezer, seconds=3.4)
    assert announced == notify_calls[PIXEL] == []
    await wait(hass, freezer, seconds=0.7)
    assert announced == []
    (notification,) = notify_calls[PIXEL]
    assert notification.data["message"] == "Someone rang the doorbell at 12:00."
    await wait(hass, freezer, seconds=1.3)
    assert announced == []
    await wait(hass, freezer, seconds=0.7)
    (announce,) = announced
    assert announce.data["message"] == "Someone is at the front door."
    describer.hold.set()
    await until_done(hass, lambda: described)
    assert described[0].data["description"] == ANSWER
    await wait(hass, freezer, seconds=60)
    assert len(announced) == len(notify_calls[PIXEL]) == 1


async def test_a_new_ring_cancels_a_description_in_progress(
    hass: HomeAssistant,
    canary: bytes,
    describer: Describer,
    described: list[Event],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    describer.hold = asyncio.Event()
    await setup_blueprints(hass, DESCRIBE)
    await press(hass, freezer)
    await until_done(hass, lambda: describer.tasks)
    await press(hass, freezer)
    await until_done(hass, lambda: len(describer.tasks) == 2)
    assert describer.cancelled == 1
    describer.hold.set()
    await until_done(hass, lambda: described)
    assert [e.data["ring"] for e in described] == [hass.states.get(DOORBELL).state]


@pytest.mark.parametrize("case", ["privacy", "failure"])
async def test_no_description_without_waiting(
    hass: HomeAssistant,
    canary: bytes,
    describer: Describer,
    described: list[Event],
    announced: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    case: str,
) -> None:
    """In privacy mode the AI is not asked; an AI error gives no description.
    Either way an empty description comes at once, so nothing waits."""
    freezer.move_to(at(12))
    if case == "privacy":
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
        )
    else:
        describer.fails = True
    await setup_blueprints(hass, DESCRIBE, _announce(5))
    await press(hass, freezer)
    await until_done(hass, lambda: announced)
    assert described[0].data["description"] == ""
    assert announced[0].data["message"] == "Someone is at the front door."
    assert len(describer.tasks) == (0 if case == "privacy" else 1)


async def test_ask_who_is_at_the_door_with_a_description(
    hass: HomeAssistant,
    canary: bytes,
    describer: Describer,
    assist: None,
    freezer: FrozenDateTimeFactory,
) -> None:
    """ "Who is at the door" asks for a description of the masked picture and
    waits for it at most as long as set; in privacy mode the AI is not asked."""
    freezer.move_to(at(12))
    ask_inputs = {"doorbell": DOORBELL, "description_wait": 5}
    await setup_blueprints(hass, ("ask_the_house.yaml", ask_inputs), DESCRIBE)
    assert await ask(hass, "who is at the door") == (
        f"Nobody has rung yet. No movement at the door. {ANSWER}"
    )
    ((_, (picture,)),) = describer.tasks
    _assert_masked(picture, canary)
    describer.hold = asyncio.Event()
    question = hass.async_create_task(ask(hass, "who is at the door"))
    await until_done(hass, lambda: len(describer.tasks) == 2)
    await wait(hass, freezer, seconds=4.4)
    assert not question.done()
    await wait(hass, freezer, seconds=1)
    assert await question == "Nobody has rung yet. No movement at the door."
    describer.hold.set()
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    assert await ask(hass, "who is at the door") == (
        "Privacy mode is on at the front door. Nobody has rung yet. No movement at"
        " the door."
    )
    assert len(describer.tasks) == 2
