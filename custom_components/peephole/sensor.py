"""Sensors of a Peephole doorbell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType

from .doorbell import Peephole, PeepholeConfigEntry
from .entity import PeepholeEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PeepholeSensorDescription(SensorEntityDescription):
    """Describes a Peephole sensor."""

    value_fn: Callable[[Peephole], StateType]


SENSORS: tuple[PeepholeSensorDescription, ...] = (
    PeepholeSensorDescription(
        key="dropped_frames",
        translation_key="dropped_frames",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda peephole: peephole.stats.dropped,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the sensors."""
    async_add_entities(
        PeepholeSensor(entry.runtime_data, description) for description in SENSORS
    )


class PeepholeSensor(PeepholeEntity, SensorEntity):
    """A sensor of a Peephole doorbell."""

    entity_description: PeepholeSensorDescription

    @property
    def native_value(self) -> StateType:
        """Return the state."""
        return self.entity_description.value_fn(self.peephole)
