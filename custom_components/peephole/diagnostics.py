"""Diagnostics for Peephole (secrets redacted)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .doorbell import PeepholeConfigEntry
from .share_registry import async_get_registry

TO_REDACT = {"secret", "token", "signing_key"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PeepholeConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    peephole = entry.runtime_data

    def _source(entity_id: str | None) -> dict[str, Any] | None:
        if entity_id is None:
            return None
        state = hass.states.get(entity_id)
        return {"entity_id": entity_id, "state": state.state if state else None}

    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "sources": {
                "camera": _source(peephole.camera_entity_id),
                "ring": _source(peephole.ring_entity_id),
                "motion": _source(peephole.motion_entity_id),
            },
            "privacy_mode": peephole.privacy_mode,
            "zones": [
                {"name": zone.name, "enabled": zone.enabled, "points": len(zone.points)}
                for zone in peephole.zones
            ],
            "frames": {
                "masked": peephole.stats.masked,
                "dropped": peephole.stats.dropped,
                "dropped_by_reason": dict(peephole.stats.dropped_by_reason),
            },
            # Per source: mode, codec, resolution, source and delivered frame
            # rates, reconnects, frames dropped by reason (never a URL).
            "feeds": {
                name: {"camera": source.camera_entity_id, **source.stats.as_dict()}
                for name, source in (
                    ("camera", peephole.source),
                    ("live_view", peephole.live_source),
                )
                if source is not None
            },
            "storage": peephole.store.as_dict(),
            "sharing": async_get_registry(hass).diagnostics(entry.entry_id),
        },
        TO_REDACT,
    )
