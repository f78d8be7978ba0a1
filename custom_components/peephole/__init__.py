"""Peephole: a private video doorbell for Home Assistant."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from .clips import ClipStore
from .const import (
    BUFFER_MAX_BYTES,
    CONF_CAMERA_ENTITY,
    CONF_LIVE_CAMERA,
    CONF_SOURCE_MODE,
    DOMAIN,
    ISSUE_DISK_FULL,
    LOGGER,
    SOURCE_MODE_AUTO,
)
from .doorbell import Peephole, PeepholeConfigEntry
from .masked_stream import MaskedStreamView
from .masking import MaskError, load_codec
from .packets import PacketRing
from .panel import async_register_panel
from .panel_api import async_setup_panel_api
from .panel_shares import async_setup_panel_shares
from .recording import ClipRecorder, RecordingSettings
from .repairs import async_clear_issues
from .services import async_setup_services
from .share_page import SharePageView
from .share_registry import async_get_registry
from .share_services import async_setup_share_services
from .share_view import ShareView
from .sharing import CONF_RECIPIENTS, with_recipient_ids
from .source import DoorbellSource
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
    hass.http.register_view(MaskedStreamView())
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: PeepholeConfigEntry) -> bool:
    """Migrate an entry: 1.1 → 1.2 gives every sharing recipient an identity."""
    if entry.version > 1:
        return False  # made by a newer Peephole
    if entry.minor_version < 2:
        options = dict(entry.options)
        if CONF_RECIPIENTS in options:
            options[CONF_RECIPIENTS] = with_recipient_ids(options[CONF_RECIPIENTS])
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
        LOGGER.debug("%s: migrated to version 1.2", entry.title)
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
    secret = (await peephole.store.async_load())["secret"]
    shares = async_get_registry(hass)
    shares.async_set_key(entry.entry_id, secret)
    # Shares made before recipients had identities are bound to them now, and
    # whatever the rules took from a share while Peephole was not running is taken.
    await shares.async_apply_rules(entry, strict=False)
    entry.async_on_unload(
        async_track_time_interval(hass, _async_prune_shares(hass), PRUNE_INTERVAL)
    )
    settings = RecordingSettings.from_options(dict(entry.options))
    mode = entry.options.get(CONF_SOURCE_MODE, SOURCE_MODE_AUTO)
    peephole.source = source = DoorbellSource(
        hass,
        entry,
        peephole,
        camera_entity_id=peephole.camera_entity_id,
        mode=mode,
        fps=settings.fps,
        ring=PacketRing(settings.pre_roll, BUFFER_MAX_BYTES)
        if settings.enabled
        else None,
    )
    entry.async_on_unload(source.async_close)
    live_camera = entry.options.get(CONF_LIVE_CAMERA)
    if live_camera and live_camera != peephole.camera_entity_id:
        peephole.live_source = DoorbellSource(
            hass,
            entry,
            peephole,
            camera_entity_id=live_camera,
            mode=mode,
            fps=settings.fps,
            ring=None,
        )
        entry.async_on_unload(peephole.live_source.async_close)
    if settings.enabled:
        peephole.recorder = ClipRecorder(hass, entry, peephole, settings)
        await peephole.recorder.async_setup()
    entry.runtime_data = peephole
    entry.async_on_unload(peephole.async_start())
    for feed_source in (source, peephole.live_source):
        if feed_source is not None:
            entry.async_on_unload(peephole.async_add_listener(feed_source.async_update))
            feed_source.async_start()
    entry.async_on_unload(
        hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, partial(_async_stopping, peephole)
        )
    )
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


@callback
def _async_stopping(peephole: Peephole, _event: Event) -> None:
    """Home Assistant stops (entries are not unloaded): stop reading cameras.

    The clip being recorded ends now, so it is saved while Home Assistant
    still runs; the feeds' threads end with their connections.
    """
    if peephole.recorder is not None:
        peephole.recorder.async_end_clip()
    for source in (peephole.source, peephole.live_source):
        if source is not None:
            source.async_stop_for_good()


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
    """Narrow the shares to new rules; apply new zones live; reload for the rest."""
    await async_get_registry(hass).async_apply_rules(entry, strict=False)
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
    async_get_registry(hass).async_forget_key(entry.entry_id)
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_DISK_FULL}_{entry.entry_id}")
    await PeepholeStore(hass, entry.entry_id).async_remove()
    await ClipStore(hass, entry.entry_id).async_remove_all()
