"""Quick replies: a tap on a phone says the reply at the door, through real HA parts.

The speakers are real media player entities and the voice a real text-to-speech
entity, both through HA's own ``media_player`` and ``tts`` components (``door``
fixture): a tap runs the real ``tts.speak``, which asks the speakers to play HA's
TTS media source for the reply; resolving that media makes the voice say it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import media_source
from homeassistant.core import Event, HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .common import (
    DOORBELL,
    PRIVACY,
    action_ids,
    at,
    press,
    restart_automations,
    setup_automations,
    tap,
    wait,
)
from .conftest import Door, DoorSpeaker

BLUEPRINT = "quick_replies.yaml"
PIXEL = "notify.mobile_app_pixel_8"
IPHONE = "notify.mobile_app_anna_s_iphone"
REPLIES = ["Leave it at the door", "I'm coming", "No thanks"]


def _inputs(phones: dict[str, str], door: Door, **extra: Any) -> dict[str, Any]:
    return {
        "doorbell": DOORBELL,
        "notify_devices": list(phones.values()),
        "speakers": [door.speaker.entity_id],
        "tts_engine": door.voice.entity_id,
        **extra,
    }


def _spoken(speaker: DoorSpeaker) -> list[str]:
    """The messages a speaker was asked to play (HA's TTS media source ids)."""
    messages = []
    for media_type, media_id, extra in speaker.played:
        assert media_type == "music"
        assert extra.get("announce") is True
        url = urlsplit(media_id)
        assert (url.scheme, url.netloc) == ("media-source", "tts")
        messages.append(parse_qs(url.query)["message"][0])
    return messages


def _buttons(call: ServiceCall) -> dict[str, str]:
    return action_ids(call)


@pytest.fixture
def replies(hass: HomeAssistant) -> list[Event]:
    return async_capture_events(hass, "peephole_quick_reply")


async def _ring(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    notify_calls: dict[str, list[ServiceCall]],
) -> dict[str, str]:
    """Ring; return the Pixel's reply buttons (title -> action id)."""
    sent = len(notify_calls[PIXEL])
    await press(hass, freezer)
    assert len(notify_calls[PIXEL]) == sent + 1
    return _buttons(notify_calls[PIXEL][-1])


async def test_each_reply_is_said_at_the_door(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    replies: list[Event],
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Three buttons per phone, naming the doorbell, the reply and the phone."""
    freezer.move_to(at(18, 5))
    await setup_automations(hass, BLUEPRINT, _inputs(phones, door))
    buttons = await _ring(hass, freezer, notify_calls)
    (iphone,) = notify_calls[IPHONE]
    call = notify_calls[PIXEL][0]
    assert call.data["title"] == "Front door"
    assert call.data["message"] == "Tap a reply to say it at the door."
    push = call.data["data"]
    assert push["tag"] == f"peephole_reply_{DOORBELL}"
    entry = init_integration.entry_id
    pixel, anna = phones["Pixel 8"], phones["Anna's iPhone"]
    assert buttons == {
        text: f"PEEPHOLE_REPLY_{entry}_{index}_{pixel}"
        for index, text in enumerate(REPLIES, start=1)
    }
    assert list(_buttons(iphone).values()) == [
        f"PEEPHOLE_REPLY_{entry}_{index}_{anna}" for index in (1, 2, 3)
    ]
    assert door.speaker.played == []
    for text in REPLIES:
        await tap(hass, buttons[text])
    assert _spoken(door.speaker) == REPLIES
    assert door.porch.played == []  # not chosen
    # Only the phone that tapped is told, each time, with the buttons again.
    told = notify_calls[PIXEL][1:]
    assert [c.data["message"] for c in told] == [
        f'Said at the front door: "{text}".' for text in REPLIES
    ]
    assert all(_buttons(c) == buttons for c in told)
    assert told[0].data["data"]["tag"] == push["tag"]  # replaces the buttons
    assert len(notify_calls[IPHONE]) == 1
    assert [
        (e.data["reply"], e.data["automatic"], e.data["said"]) for e in replies
    ] == [(text, False, True) for text in REPLIES]
    # HA's TTS media source resolves to the voice saying the reply.
    _, media_id, _ = door.speaker.played[1]
    media = await media_source.async_resolve_media(hass, media_id, None)
    client = await hass_client()
    response = await client.get(media.url)
    assert response.status == HTTPStatus.OK
    assert response.content_type.startswith("audio/")
    assert await response.read()  # HA's tts converted the voice's audio
    assert door.voice.said == ["I'm coming"]


async def test_a_reply_works_however_late(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """No run waits for a tap: hours later, after a restart, it is still said."""
    freezer.move_to(at(12))
    await setup_automations(hass, BLUEPRINT, _inputs(phones, door))
    buttons = await _ring(hass, freezer, notify_calls)
    (automation,) = hass.states.async_all("automation")
    assert automation.attributes["current"] == 0
    await wait(hass, freezer, hours=3)
    await restart_automations(hass)
    await tap(hass, buttons["No thanks"])
    assert _spoken(door.speaker) == ["No thanks"]


async def test_privacy_mode_refuses_with_a_message(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    replies: list[Event],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A tap in privacy mode says nothing and tells that phone why; a ring in
    privacy mode gets no reply buttons at all."""
    freezer.move_to(at(12))
    await setup_automations(hass, BLUEPRINT, _inputs(phones, door))
    buttons = await _ring(hass, freezer, notify_calls)
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    await tap(hass, buttons["I'm coming"])
    assert door.speaker.played == []
    told = notify_calls[PIXEL][-1]
    assert told.data["message"] == "Not said at the front door: privacy mode is on."
    assert len(notify_calls[IPHONE]) == 1
    assert replies[-1].data["said"] is False
    await press(hass, freezer)
    assert len(notify_calls[PIXEL]) == 2  # no new buttons
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": PRIVACY}, blocking=True
    )
    await tap(hass, buttons["I'm coming"])
    assert _spoken(door.speaker) == ["I'm coming"]


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        ({"speakers": []}, "no speaker at the door is set in the automation"),
        ({"tts_engine": ""}, "no speaker at the door is set in the automation"),
    ],
)
async def test_no_speaker_refuses_with_a_message(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
    inputs: dict[str, Any],
    reason: str,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(hass, BLUEPRINT, _inputs(phones, door, **inputs))
    buttons = await _ring(hass, freezer, notify_calls)
    await tap(hass, buttons["I'm coming"])
    assert door.speaker.played == door.porch.played == []
    assert notify_calls[PIXEL][-1].data["message"] == (
        f"Not said at the front door: {reason}."
    )


async def test_unavailable_speakers_are_skipped_or_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The doorbell's own speaker offline: the other one speaks; both: refused."""
    freezer.move_to(at(12))
    both = [door.speaker.entity_id, door.porch.entity_id]
    await setup_automations(hass, BLUEPRINT, _inputs(phones, door, speakers=both))
    buttons = await _ring(hass, freezer, notify_calls)
    door.speaker.set_available(False)
    await tap(hass, buttons["I'm coming"])
    assert door.speaker.played == []
    assert _spoken(door.porch) == ["I'm coming"]
    door.porch.set_available(False)
    await tap(hass, buttons["No thanks"])
    assert _spoken(door.porch) == ["I'm coming"]
    assert notify_calls[PIXEL][-1].data["message"] == (
        "Not said at the front door: the speaker at the door is unavailable."
    )


async def test_a_speaker_that_fails_is_reported(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    replies: list[Event],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(hass, BLUEPRINT, _inputs(phones, door))
    buttons = await _ring(hass, freezer, notify_calls)
    door.speaker.fails = True
    await tap(hass, buttons["I'm coming"])
    assert notify_calls[PIXEL][-1].data["message"] == (
        "Not said at the front door: the speaker did not take it."
    )
    assert replies[-1].data["said"] is False


async def test_own_replies_and_foreign_taps(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Owner's texts (an empty one: no button); taps of other doorbells, phones
    that are not in the automation and made-up ids are ignored."""
    freezer.move_to(at(12))
    texts = {"reply_1": "Bitte vor die Tür legen", "reply_2": "", "reply_3": "Nein"}
    await setup_automations(
        hass, BLUEPRINT, _inputs({"Pixel 8": phones["Pixel 8"]}, door, **texts)
    )
    buttons = await _ring(hass, freezer, notify_calls)
    entry, pixel = init_integration.entry_id, phones["Pixel 8"]
    assert buttons == {
        "Bitte vor die Tür legen": f"PEEPHOLE_REPLY_{entry}_1_{pixel}",
        "Nein": f"PEEPHOLE_REPLY_{entry}_3_{pixel}",
    }
    anna = phones["Anna's iPhone"]
    other = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    for foreign in (
        f"PEEPHOLE_REPLY_{entry}_1_{anna}",  # not one of this automation's phones
        f"PEEPHOLE_REPLY_{other}_1_{pixel}",
        f"PEEPHOLE_REPLY_{entry}_4_{pixel}",
        f"PEEPHOLE_REPLY_{entry}_1",
        f"PEEPHOLE_REPLY_{entry}_",
        "URI",
    ):
        await tap(hass, foreign)
    hass.bus.async_fire("mobile_app_notification_action", {"action": 3})
    hass.bus.async_fire("mobile_app_notification_action", {})
    await tap(hass, buttons["Nein"])
    assert _spoken(door.speaker) == ["Nein"]
    # A button of a reply emptied since: told so.
    await tap(hass, f"PEEPHOLE_REPLY_{entry}_2_{pixel}")
    assert _spoken(door.speaker) == ["Nein"]
    assert notify_calls[PIXEL][-1].data["message"] == (
        "Not said at the front door: this reply is no longer set."
    )
    assert notify_calls[IPHONE] == []


async def test_phone_renamed_by_the_user_keeps_its_service(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The notify service is named after the device's own name, not the user's."""
    freezer.move_to(at(12))
    dr.async_get(hass).async_update_device(phones["Pixel 8"], name_by_user="Work")
    await setup_automations(
        hass, BLUEPRINT, _inputs({"Pixel 8": phones["Pixel 8"]}, door)
    )
    buttons = await _ring(hass, freezer, notify_calls)
    await tap(hass, buttons["I'm coming"])
    assert notify_calls[PIXEL][-1].data["message"].startswith("Said at")


# --- the automatic reply --------------------------------------------------------


def _auto(phones: dict[str, str], door: Door, **extra: Any) -> dict[str, Any]:
    return _inputs(phones, door, auto_reply="1", auto_reply_after=30, **extra)


async def test_automatic_reply_after_n_seconds_without_an_answer(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    replies: list[Event],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(12))
    await setup_automations(hass, BLUEPRINT, _auto(phones, door))
    await _ring(hass, freezer, notify_calls)
    assert notify_calls[PIXEL][0].data["message"] == (
        'Tap a reply to say it at the door. Without an answer in 30 s: "Leave it'
        ' at the door".'
    )
    await wait(hass, freezer, seconds=29)
    assert door.speaker.played == []
    await wait(hass, freezer, seconds=2)
    assert _spoken(door.speaker) == ["Leave it at the door"]
    assert [(e.data["automatic"], e.data["said"]) for e in replies] == [(True, True)]
    assert len(notify_calls[PIXEL]) == 1  # nobody tapped: no phone is told
    await wait(hass, freezer, minutes=5)
    assert len(door.speaker.played) == 1


async def test_no_automatic_reply_after_an_answer_or_a_new_ring(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A tap on any phone answers the ring; a new ring starts its own wait."""
    freezer.move_to(at(12))
    await setup_automations(hass, BLUEPRINT, _auto(phones, door))
    await _ring(hass, freezer, notify_calls)
    await wait(hass, freezer, seconds=10)
    await tap(hass, _buttons(notify_calls[IPHONE][0])["No thanks"])
    await wait(hass, freezer, seconds=60)
    assert _spoken(door.speaker) == ["No thanks"]
    # Ring, ring again 20 s later: one automatic reply, 30 s after the second.
    await _ring(hass, freezer, notify_calls)
    await wait(hass, freezer, seconds=20)
    await _ring(hass, freezer, notify_calls)
    await wait(hass, freezer, seconds=20)
    assert _spoken(door.speaker) == ["No thanks"]
    await wait(hass, freezer, seconds=11)
    assert _spoken(door.speaker) == ["No thanks", "Leave it at the door"]
    await wait(hass, freezer, minutes=5)
    assert len(door.speaker.played) == 2


@pytest.mark.parametrize(
    ("hour", "said"),
    [(23, False), (6, False), (7, True), (21, True)],
)
async def test_no_automatic_reply_in_quiet_hours(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    freezer: FrozenDateTimeFactory,
    hour: int,
    said: bool,
) -> None:
    """Quiet hours (22:00-07:00 by default) hold the automatic reply, not a tap."""
    freezer.move_to(at(hour))
    await setup_automations(hass, BLUEPRINT, _auto(phones, door))
    buttons = await _ring(hass, freezer, notify_calls)
    await wait(hass, freezer, seconds=31)
    assert _spoken(door.speaker) == (["Leave it at the door"] if said else [])
    await tap(hass, buttons["I'm coming"])
    assert _spoken(door.speaker)[-1] == "I'm coming"


async def test_automatic_reply_refused_in_privacy_mode(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    door: Door,
    phones: dict[str, str],
    notify_calls: dict[str, list[ServiceCall]],
    replies: list[Event],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Privacy mode turned on while waiting: nothing is said."""
    freezer.move_to(at(12))
    await setup_automations(hass, BLUEPRINT, _auto(phones, door))
    await _ring(hass, freezer, notify_calls)
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    await wait(hass, freezer, seconds=31)
    assert door.speaker.played == []
    assert [(e.data["automatic"], e.data["said"]) for e in replies] == [(True, False)]
