"""Binary sensors of a Peephole doorbell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    DOMAIN as BINARY_SENSOR_DOMAIN,
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .doorbell import Peephole, PeepholeConfigEntry
from .entity import PeepholeEntity, async_forget_missing

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PeepholeBinarySensorDescription(BinarySensorEntityDescription):
    """Describes a Peephole binary sensor."""

    value_fn: Callable[[Peephole], bool | None]
    available_fn: Callable[[Peephole], bool] = lambda _: True
    exists_fn: Callable[[Peephole], bool] = lambda _: True


BINARY_SENSORS: tuple[PeepholeBinarySensorDescription, ...] = (
    PeepholeBinarySensorDescription(
        key="motion",
        device_class=BinarySensorDeviceClass.MOTION,
        value_fn=lambda peephole: peephole.motion,
        available_fn=lambda peephole: peephole.motion_available,
        exists_fn=lambda peephole: peephole.motion_entity_id is not None,
    ),
    PeepholeBinarySensorDescription(
        key="recording",
        translation_key="recording",
        value_fn=lambda peephole: (
            peephole.recorder is not None and peephole.recorder.recording
        ),
        exists_fn=lambda peephole: peephole.recorder is not None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the binary sensors (and forget those that no longer apply)."""
    peephole = entry.runtime_data
    async_forget_missing(
        hass,
        peephole,
        BINARY_SENSOR_DOMAIN,
        BINARY_SENSORS,
        lambda description: description.exists_fn(peephole),  # type: ignore[attr-defined]
    )
    async_add_entities(
        PeepholeBinarySensor(entry.runtime_data, description)
        for description in BINARY_SENSORS
        if description.exists_fn(entry.runtime_data)
    )


class PeepholeBinarySensor(PeepholeEntity, BinarySensorEntity):
    """A binary sensor of a Peephole doorbell."""

    entity_description: PeepholeBinarySensorDescription

    @property
    def available(self) -> bool:
        """Return True when the value is known."""
        return self.entity_description.available_fn(self.peephole)

    @property
    def is_on(self) -> bool | None:
        """Return the state."""
        return self.entity_description.value_fn(self.peephole)
