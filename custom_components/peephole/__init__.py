"""Peephole: a private video doorbell for Home Assistant."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from .clips import ClipStore
from .const import CONF_CAMERA_ENTITY, DOMAIN, ISSUE_DISK_FULL
from .doorbell import Peephole, PeepholeConfigEntry
from .masking import MaskError, load_codec
from .panel import async_register_panel
from .panel_api import async_setup_panel_api
from .panel_shares import async_setup_panel_shares
from .recording import ClipRecorder, RecordingSettings
from .repairs import async_clear_issues
from .services import async_setup_services
from .share_page import SharePageView
from .share_services import async_get_registry, async_setup_share_services
from .share_view import ShareView
from .sources import (
    async_hide_source_camera,
    async_track_sources,
    async_unhide_source_camera,
)
from .storage import PeepholeStore
from .views import ClipView
from .websocket import async_setup_websocket
from .zones import ZoneError

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.CAMERA,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PRUNE_INTERVAL = timedelta(minutes=30)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register Peephole's actions (once, for all entries)."""
    async_setup_services(hass)
    async_setup_websocket(hass)
    async_setup_panel_api(hass)
    async_setup_panel_shares(hass)
    await async_register_panel(hass)
    hass.http.register_view(ClipView())
    async_setup_share_services(hass)
    hass.http.register_view(ShareView())
    hass.http.register_view(SharePageView())
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PeepholeConfigEntry) -> bool:
    """Set up one Peephole doorbell from a config entry."""
    try:
        await hass.async_add_executor_job(load_codec)
    except MaskError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="codec_missing"
        ) from err
    try:
        peephole = Peephole(hass, entry)
    except ZoneError as err:
        # Never serve a frame without the owner's masks: refuse to start instead.
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_zones",
            translation_placeholders={"error": str(err)},
        ) from err
    await peephole.store.async_load()
    shares = async_get_registry(hass)
    await shares.async_load()
    entry.async_on_unload(
        async_track_time_interval(hass, _async_prune_shares(hass), PRUNE_INTERVAL)
    )
    settings = RecordingSettings.from_options(dict(entry.options))
    if settings.enabled:
        peephole.recorder = ClipRecorder(hass, entry, peephole, settings)
        await peephole.recorder.async_setup()
    entry.runtime_data = peephole
    entry.async_on_unload(peephole.async_start())
    if peephole.recorder is not None:
        peephole.recorder.async_start()
    entry.async_on_unload(async_track_sources(hass, entry))
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    async_hide_source_camera(hass, entry.data[CONF_CAMERA_ENTITY])
    # The privacy switch restores its state before the camera can serve a frame.
    await hass.config_entries.async_forward_entry_setups(entry, [Platform.SWITCH])
    await hass.config_entries.async_forward_entry_setups(
        entry, [platform for platform in PLATFORMS if platform is not Platform.SWITCH]
    )
    return True


def _async_prune_shares(
    hass: HomeAssistant,
) -> Callable[[datetime], Coroutine[Any, Any, None]]:
    async def _prune(now: datetime) -> None:
        """Forget ended shares; delete ended snapshots and expired exports."""
        await async_get_registry(hass).async_prune()

    return _prune


async def _async_update_listener(
    hass: HomeAssistant, entry: PeepholeConfigEntry
) -> None:
    """Apply new zones live; reload the entry when anything else changed."""
    if not entry.runtime_data.async_apply_entry_update():
        # Home Assistant's own reload scheduling: a tracked task that start-up and
        # shutdown know about (the websocket save path uses it too).
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: PeepholeConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: PeepholeConfigEntry) -> None:
    """Give the source camera back to the dashboards when the entry is removed."""
    async_unhide_source_camera(hass, entry.data[CONF_CAMERA_ENTITY])
    async_clear_issues(hass, entry)
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_DISK_FULL}_{entry.entry_id}")
    await PeepholeStore(hass, entry.entry_id).async_remove()
    await ClipStore(hass, entry.entry_id).async_remove_all()
