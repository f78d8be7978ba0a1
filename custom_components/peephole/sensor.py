"""Sensors of a Peephole doorbell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    DOMAIN as SENSOR_DOMAIN,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfInformation
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType

from .clips import ClipStore
from .doorbell import Peephole, PeepholeConfigEntry
from .entity import PeepholeEntity, async_forget_missing
from .share_registry import async_get_registry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PeepholeSensorDescription(SensorEntityDescription):
    """Describes a Peephole sensor."""

    value_fn: Callable[[Peephole], StateType | datetime]
    exists_fn: Callable[[Peephole], bool] = lambda _: True


def _clips(peephole: Peephole) -> ClipStore:
    assert peephole.recorder is not None  # noqa: S101 - only with a recorder
    return peephole.recorder.store


def _recording(peephole: Peephole) -> bool:
    return peephole.recorder is not None


SENSORS: tuple[PeepholeSensorDescription, ...] = (
    PeepholeSensorDescription(
        key="dropped_frames",
        translation_key="dropped_frames",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda peephole: peephole.dropped_frames,
    ),
    PeepholeSensorDescription(
        key="clip_count",
        translation_key="clip_count",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda peephole: len(_clips(peephole).clips),
        exists_fn=_recording,
    ),
    PeepholeSensorDescription(
        key="storage_used",
        translation_key="storage_used",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.MEGABYTES,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda peephole: _clips(peephole).total_bytes,
        exists_fn=_recording,
    ),
    PeepholeSensorDescription(
        key="active_shares",
        translation_key="active_shares",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda peephole: async_get_registry(peephole.hass).active_count(
            peephole.entry.entry_id
        ),
    ),
    PeepholeSensorDescription(
        key="last_clip",
        translation_key="last_clip",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda peephole: (
            last.start if (last := _clips(peephole).last) else None
        ),
        exists_fn=_recording,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the sensors (and forget the recording ones when recording is off)."""
    peephole = entry.runtime_data
    async_forget_missing(
        hass,
        peephole,
        SENSOR_DOMAIN,
        SENSORS,
        lambda description: description.exists_fn(peephole),  # type: ignore[attr-defined]
    )
    async_add_entities(
        PeepholeSensor(entry.runtime_data, description)
        for description in SENSORS
        if description.exists_fn(entry.runtime_data)
    )


class PeepholeSensor(PeepholeEntity, SensorEntity):
    """A sensor of a Peephole doorbell."""

    entity_description: PeepholeSensorDescription

    @property
    def native_value(self) -> StateType | datetime:
        """Return the state."""
        return self.entity_description.value_fn(self.peephole)
