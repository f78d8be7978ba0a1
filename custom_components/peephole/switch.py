"""The privacy mode switch."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .doorbell import PeepholeConfigEntry
from .entity import PeepholeEntity

PARALLEL_UPDATES = 0

PRIVACY_MODE = SwitchEntityDescription(
    key="privacy_mode", translation_key="privacy_mode"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the privacy mode switch."""
    async_add_entities([PeepholePrivacySwitch(entry.runtime_data, PRIVACY_MODE)])


class PeepholePrivacySwitch(PeepholeEntity, SwitchEntity, RestoreEntity):
    """While on: no live image, no recording, no notification image."""

    async def async_added_to_hass(self) -> None:
        """Restore the last state (privacy mode survives restarts)."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None:
            self.peephole.async_set_privacy_mode(last.state == STATE_ON)

    @property
    def is_on(self) -> bool:
        """Return True while privacy mode is on."""
        return self.peephole.privacy_mode

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn privacy mode on."""
        self.peephole.async_set_privacy_mode(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn privacy mode off."""
        self.peephole.async_set_privacy_mode(False)
