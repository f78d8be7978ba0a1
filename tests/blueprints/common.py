"""Helpers for the blueprint tests: set up automations, ring, tap, let time pass.

Every test sets up the real Peephole integration (``init_integration``), so the rings
come from the real ``event.front_door_doorbell`` after a press on its source entity,
and the blueprints are loaded from a temporary config dir by HA's blueprint loader
(the ``blueprint_config`` fixture).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from tests.conftest import RING_EVENT

BLUEPRINTS = Path(__file__).parent.parent.parent / "blueprints"
PEEPHOLE_BLUEPRINTS = BLUEPRINTS / "automation" / "peephole"
SOURCE_URL = "https://github.com/peephole-doorbell/peephole/blob/main/blueprints/automation/peephole/{}"
RAW_URL = "https://raw.githubusercontent.com/peephole-doorbell/peephole/main/blueprints/automation/peephole/{}"

DOORBELL = "event.front_door_doorbell"
PEEPHOLE_CAMERA = "camera.front_door"
PRIVACY = "switch.front_door_privacy_mode"
PEEPHOLE_MOTION = "binary_sensor.front_door_motion"
# Companion app devices of the `phones` fixture: name -> notify service.
PHONES = {"Pixel 8": "mobile_app_pixel_8", "Anna's iPhone": "mobile_app_anna_s_iphone"}


async def setup_automations(
    hass: HomeAssistant, blueprint: str, *inputs: dict[str, Any]
) -> None:
    """Create one automation per ``inputs`` from a blueprint; check each is valid."""
    await setup_blueprints(hass, *((blueprint, given) for given in inputs))


async def setup_blueprints(
    hass: HomeAssistant, *automations: tuple[str, dict[str, Any]]
) -> None:
    """Create one automation per (blueprint, inputs); check each is valid."""
    config = [
        {
            "id": f"{blueprint}_{index}",
            "alias": f"{blueprint} {index}",
            "use_blueprint": {"path": f"peephole/{blueprint}", "input": given},
        }
        for index, (blueprint, given) in enumerate(automations)
    ]
    assert await async_setup_component(hass, "automation", {"automation": config})
    await hass.async_block_till_done()
    states = hass.states.async_all("automation")
    assert len(states) == len(automations)
    # An automation whose substituted config is invalid is "unavailable".
    assert {state.state for state in states} == {STATE_ON}


async def settle(hass: HomeAssistant) -> None:
    """Let every chain of state changes, triggers and scripts run to its end.

    A ring crosses several loop iterations (source state -> Peephole -> doorbell
    state -> automation trigger -> script steps). block_till_done is no use here: it
    waits for every task, including a run sleeping in its cooldown delay, and
    under the frozen clock that delay only ends when a test moves time.
    """
    for _ in range(50):
        await asyncio.sleep(0)


def at(hour: int, minute: int = 0) -> datetime:
    """Return a UTC instant for a local wall-clock time (HA's time zone)."""
    local = datetime(2025, 6, 2, hour, minute, tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(local)


async def press(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory | None = None
) -> None:
    """Press the doorbell: the source event entity fires; Peephole rings."""
    if freezer is not None:
        freezer.tick(timedelta(seconds=1))
    before = hass.states.get(DOORBELL).state
    hass.states.async_set(
        RING_EVENT,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"event_type": "ring", "event_types": ["ring"]},
    )
    await settle(hass)
    assert hass.states.get(DOORBELL).state != before  # the real doorbell rang


async def wait(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, **delta: float
) -> None:
    """Let time pass (delays, `for`, wait timeouts)."""
    freezer.tick(timedelta(**delta))
    async_fire_time_changed(hass)
    await settle(hass)


def mock_services(hass: HomeAssistant, *services: str) -> dict[str, list[ServiceCall]]:
    """Capture calls of these services (`domain.service`)."""
    return {
        service: async_mock_service(hass, *service.split(".", 1))
        for service in services
    }


async def until(predicate: Callable[[], object], seconds: float = 20) -> None:
    """Wait in real time (recording tests run unfrozen) until ``predicate()``."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polls state, not an event
            await asyncio.sleep(0.02)


def entity_ids(call: ServiceCall) -> list[str]:
    """The entity ids a service call targets, as a list."""
    targets = call.data["entity_id"]
    return [targets] if isinstance(targets, str) else list(targets)


async def until_done(hass: HomeAssistant, predicate: Callable[[], object]) -> None:
    """Wait until ``predicate()``, behind executor jobs (clock frozen or not)."""
    for _ in range(500):
        if predicate():
            return
        await hass.async_add_executor_job(time.sleep, 0.01)
        await settle(hass)
    raise AssertionError("never happened")


async def until_sent(hass: HomeAssistant, calls: list[ServiceCall]) -> None:
    """Wait for a notification behind the snapshot's executor jobs (clock frozen)."""
    await until_done(hass, lambda: calls)


def action_ids(call: ServiceCall) -> dict[str, str]:
    """Button title -> action id of a notification."""
    return {
        button["title"]: button["action"] for button in call.data["data"]["actions"]
    }


async def restart_automations(hass: HomeAssistant) -> None:
    """Stop every automation (and its runs) and start it again, as a restart does."""
    for service in ("turn_off", "turn_on"):
        await hass.services.async_call(
            "automation", service, {"entity_id": "all"}, blocking=True
        )
    await settle(hass)


async def tap(hass: HomeAssistant, action: str) -> None:
    """The Companion app reports a tap on a notification button."""
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await settle(hass)


async def ask(hass: HomeAssistant, text: str) -> str:
    """Ask Assist (the real ``conversation.process`` action); return its answer."""
    result = await hass.services.async_call(
        "conversation",
        "process",
        {"text": text, "language": "en"},
        blocking=True,
        return_response=True,
    )
    assert result is not None
    speech: str = result["response"]["speech"]["plain"]["speech"]  # type: ignore[index,call-overload]
    return speech
