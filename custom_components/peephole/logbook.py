"""Describe Peephole's share accesses in the logbook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN
from .share_registry import EVENT_SHARE_ACCESSED


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the peephole_share_accessed event."""

    @callback
    def async_describe_share_accessed(event: Event) -> dict[str, str]:
        data: Mapping[str, Any] = event.data
        entry = (
            hass.config_entries.async_get_entry(data["entry_id"])
            if data.get("entry_id")
            else None
        )
        what = f"shared {data.get('resource', '?')}"
        if entry is not None:
            what += f" of {entry.title}"
        if data.get("recipient"):
            what += f" (for {data['recipient']})"
        client = data.get("client") or "an unknown address"
        if data.get("outcome") == "allowed":
            message = f"{what} was viewed from {client}"
        else:
            message = (
                f"refused a request for {what} from {client} "
                f"({data.get('reason') or 'refused'})"
            )
        return {LOGBOOK_ENTRY_NAME: "Peephole share", LOGBOOK_ENTRY_MESSAGE: message}

    async_describe_event(DOMAIN, EVENT_SHARE_ACCESSED, async_describe_share_accessed)
