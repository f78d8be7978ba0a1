"""Peephole's private, per-entry storage (signing secret; later shares and audit)."""

from __future__ import annotations

import secrets
from typing import Any, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN

STORAGE_VERSION = 1


class StoredData(TypedDict):
    """What the private store holds."""

    secret: str


class PeepholeStore:
    """A private Store (mode 0600) under `.storage/peephole.<entry_id>`."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Initialise the store."""
        self._store: Store[StoredData] = Store(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}",
            private=True,
            atomic_writes=True,
        )
        self.data: StoredData | None = None

    async def async_load(self) -> StoredData:
        """Load the data, creating Peephole's own signing secret on first use.

        The secret is not HA's (which changes at every restart): links signed with it
        survive restarts and are revoked per link, not all at once.
        """
        data = await self._store.async_load()
        if data is None or not isinstance(data.get("secret"), str):
            data = StoredData(secret=secrets.token_urlsafe(48))
            await self._store.async_save(data)
        self.data = data
        return data

    def as_dict(self) -> dict[str, Any]:
        """Return the data (for diagnostics, which redacts the secret)."""
        return dict(self.data or {})

    async def async_remove(self) -> None:
        """Delete the store (when the entry is removed)."""
        await self._store.async_remove()
