"""Sharing in Home Assistant: the share registry and the admin-only actions.

One :class:`ShareRegistry` per Home Assistant holds every share and the audit log
in a private Store (``.storage/peephole.shares``, atomic writes). A link access is
decided, audited and written to disk before a byte is served: if the audit cannot
be written, the access is refused. Recipients' rules are read from the entry's
options at every access, so a rule that is narrowed or removed narrows or ends the
shares made under it at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
import inspect
from pathlib import Path
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
import voluptuous as vol

from . import clips as clip_files
from .audit import AuditLog, AuditRecord, Outcome, clip_text
from .clips import write_atomic
from .const import DOMAIN, LOGGER
from .doorbell import PeepholeConfigEntry
from .export import ExportClip, ExportError, apply_retention, write_export
from .recording import RecordingSettings
from .services import ATTR_CONFIG_ENTRY_ID, async_get_entry
from .sharing import (
    CLIP_RESOURCE_SUFFIX,
    CONF_RECIPIENTS,
    MAX_CLIPS_PER_SHARE,
    MAX_EXPIRY,
    MAX_VIEWS,
    NOTIFICATION_MAX_EXPIRY,
    NOTIFICATION_RECIPIENT,
    SHARE_ID_RE,
    ClientOrigin,
    RecipientRule,
    Refusal,
    Share,
    ShareKind,
    SharingError,
    check_access,
    classify_client,
    count_view,
    effective_expiry,
    fingerprint,
    fold,
    mint_token,
    notification_rule,
    plan_share,
    prunable,
    rules_from_options,
    share_state,
    signing_key,
    verify_token,
)
from .zones import zones_to_storage

STORAGE_VERSION: Final = 1
STORAGE_KEY: Final = f"{DOMAIN}.shares"
SHARE_URL_BASE: Final = "/api/peephole/share"
EVENT_SHARE_ACCESSED: Final = "peephole_share_accessed"
# The recipient's page of a share (share_page.py): a resource no file URL can
# name (a path segment is never empty), so its token opens the page only.
PAGE_RESOURCE: Final = ""
# Ended shares stay listed (and explain their audit records) this long.
KEEP_ENDED: Final = timedelta(days=30)

DATA_SHARES: HassKey[ShareRegistry] = HassKey(f"{DOMAIN}_shares")

SERVICE_CREATE_SHARE: Final = "create_share"
SERVICE_REVOKE_SHARE: Final = "revoke_share"
SERVICE_LIST_SHARES: Final = "list_shares"
SERVICE_EXPORT_CLIPS: Final = "export_clips"
SERVICE_SHARE_SNAPSHOT: Final = "share_snapshot"
ATTR_RECIPIENT: Final = "recipient"
ATTR_CLIP_IDS: Final = "clip_ids"
ATTR_SNAPSHOT: Final = "snapshot"
ATTR_EXPIRES_IN: Final = "expires_in"
ATTR_MAX_VIEWS: Final = "max_views"
ATTR_ALLOW_REMOTE: Final = "allow_remote"
ATTR_SHARE_ID: Final = "share_id"

_CLIP_IDS = vol.All(cv.ensure_list, [cv.string], vol.Length(max=MAX_CLIPS_PER_SHARE))

CREATE_SHARE_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_RECIPIENT): cv.string,
        vol.Optional(ATTR_CLIP_IDS): _CLIP_IDS,
        vol.Optional(ATTR_SNAPSHOT, default=False): cv.boolean,
        # Hours; the recipient's rule may allow less (checked by plan_share).
        vol.Optional(ATTR_EXPIRES_IN): vol.All(
            vol.Coerce(float),
            vol.Range(min=0, min_included=False, max=MAX_EXPIRY.days * 24),
        ),
        vol.Optional(ATTR_MAX_VIEWS): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=MAX_VIEWS)
        ),
        vol.Optional(ATTR_ALLOW_REMOTE, default=False): cv.boolean,
    }
)
REVOKE_SHARE_SCHEMA: Final = vol.Schema({vol.Required(ATTR_SHARE_ID): cv.string})
LIST_SHARES_SCHEMA: Final = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})
EXPORT_CLIPS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_CLIP_IDS): vol.All(_CLIP_IDS, vol.Length(min=1)),
        vol.Optional(ATTR_SHARE_ID): cv.string,
    }
)
SHARE_SNAPSHOT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        # Minutes.
        vol.Optional(
            ATTR_EXPIRES_IN, default=NOTIFICATION_MAX_EXPIRY.seconds // 60
        ): vol.All(
            vol.Coerce(float),
            vol.Range(
                min=0, min_included=False, max=NOTIFICATION_MAX_EXPIRY.seconds // 60
            ),
        ),
    }
)


class AuditWriteError(HomeAssistantError):
    """The shares and audit could not be written to disk."""


class _StrictStore(Store[dict[str, Any]]):
    """A Store that reports a failed write (Store itself only logs it)."""

    write_error: Exception | None = None

    async def _async_write_data(self, *args: Any) -> None:
        try:
            await super()._async_write_data(*args)
        except Exception as err:
            self.write_error = err
            raise

    async def async_save_strict(self, data: dict[str, Any]) -> None:
        """Write ``data`` now, or raise AuditWriteError."""
        if self.hass.is_stopping:
            # Store would postpone the write to the final write: not good enough.
            raise AuditWriteError("Home Assistant is stopping")
        self.write_error = None
        await self.async_save(data)
        if self.write_error is not None:
            raise AuditWriteError(str(self.write_error)) from self.write_error


@dataclass(frozen=True, slots=True)
class Grant:
    """What an allowed access serves."""

    path: Path | None  # None: the recipient's page (nothing from disk)
    content_type: str
    share_id: str


def loaded_entry(hass: HomeAssistant, entry_id: str) -> PeepholeConfigEntry | None:
    """Return a loaded Peephole entry, or None."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if (
        entry is None
        or entry.domain != DOMAIN
        or entry.state is not ConfigEntryState.LOADED
    ):
        return None
    return entry


def entry_key(entry: PeepholeConfigEntry) -> bytes | None:
    """Return the link-signing key of an entry (None before its store is loaded)."""
    data = entry.runtime_data.store.data
    secret = data.get("secret") if data else None
    return signing_key(secret) if isinstance(secret, str) and secret else None


def rule_for(entry: PeepholeConfigEntry, share: Share) -> RecipientRule | None:
    """Return the rule a share is under, as the entry's options say now."""
    if share.builtin:
        if share.recipient != NOTIFICATION_RECIPIENT:
            return None
        return notification_rule(entry.entry_id)
    rules = rules_from_options(entry.options.get(CONF_RECIPIENTS), entry.entry_id)
    return rules.get(fold(share.recipient))


def shares_dir(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the folder of an entry's shared snapshots."""
    return clip_files.clips_root(hass) / entry_id / "shared"


def exports_dir(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the folder of an entry's evidence exports."""
    return clip_files.clips_root(hass) / entry_id / "exports"


def _clip_path(entry: PeepholeConfigEntry, clip_id: str) -> Path | None:
    """Return the stored file of an indexed clip (ClipIndex over the recorder)."""
    recorder = entry.runtime_data.recorder
    if recorder is None or (clip := recorder.store.get(clip_id)) is None:
        return None
    return recorder.store.clip_path(clip)


class ShareRegistry:
    """Every share and the audit of every access (one per Home Assistant)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Initialise (nothing is read before ``async_load``)."""
        self.hass = hass
        self._store = _StrictStore(
            hass, STORAGE_VERSION, STORAGE_KEY, private=True, atomic_writes=True
        )
        self.shares: dict[str, Share] = {}
        self.audit = AuditLog()
        self.lock = asyncio.Lock()
        self._load_lock = asyncio.Lock()
        self._loaded = False

    # --- persistence --------------------------------------------------------------

    async def async_load(self) -> None:
        """Load the shares and audit (once)."""
        async with self._load_lock:
            if self._loaded:
                return
            data = await self._store.async_load() or {}
            shares = (
                Share.from_dict(item)
                for item in data.get("shares", [])
                if isinstance(item, dict)
            )
            self.shares = {share.id: share for share in shares if share is not None}
            self.audit = AuditLog.from_storage(data.get("audit"))
            self._loaded = True

    def _data(self) -> dict[str, Any]:
        return {
            "shares": [share.as_dict() for share in self.shares.values()],
            "audit": self.audit.to_storage(),
        }

    async def async_save(self) -> None:
        """Write shares and audit now (raises AuditWriteError)."""
        await self._store.async_save_strict(self._data())

    # --- queries ----------------------------------------------------------------------

    def state_of(self, share: Share, now: datetime) -> str:
        """Return the state of a share under its rule as it is now."""
        entry = loaded_entry(self.hass, share.entry_id)
        if entry is None:
            return "revoked" if share.revoked else "unavailable"
        return share_state(share, rule_for(entry, share), now)

    def describe(self, share: Share, now: datetime) -> dict[str, Any]:
        """Return a share for list_shares and diagnostics (never a token)."""
        entry = loaded_entry(self.hass, share.entry_id)
        rule = rule_for(entry, share) if entry else None
        data = share.as_dict()
        data["state"] = self.state_of(share, now)
        data["effective_expires"] = (
            effective_expiry(share, rule).isoformat() if rule else None
        )
        data["accesses"] = len(self.audit.for_share(share.id))
        return data

    def active_count(self, entry_id: str) -> int:
        """Return the number of active shares of an entry (for the sensor)."""
        now = dt_util.utcnow()
        return sum(
            1
            for share in self.shares.values()
            if share.entry_id == entry_id and self.state_of(share, now) == "active"
        )

    def diagnostics(self, entry_id: str) -> dict[str, Any]:
        """Return the shares and the newest audit records of an entry."""
        now = dt_util.utcnow()
        return {
            "shares": [
                self.describe(share, now)
                for share in self.shares.values()
                if share.entry_id == entry_id
            ],
            "audit": [
                record.as_dict()
                for record in self.audit.records
                if record.entry_id == entry_id
            ][-100:],
        }

    # --- changes --------------------------------------------------------------------------

    async def async_add(self, share: Share, snapshot: bytes | None) -> None:
        """Persist a new share (and its snapshot file) before any link exists."""
        path = shares_dir(self.hass, share.entry_id) / f"{share.id}.jpg"
        if snapshot is not None:
            await self.hass.async_add_executor_job(_write_private, path, snapshot)
        async with self.lock:
            self.shares[share.id] = share
            try:
                await self.async_save()
            except AuditWriteError:
                del self.shares[share.id]
                await self.hass.async_add_executor_job(path.unlink, True)
                raise
        self._async_notify(share.entry_id)

    async def async_revoke(self, share_id: str) -> Share | None:
        """End a share at once; return it (None if unknown)."""
        async with self.lock:
            share = self.shares.get(share_id)
            if share is None:
                return None
            if share.revoked is None:
                self.shares[share_id] = share = replace(share, revoked=dt_util.utcnow())
                await self.async_save()
        await self._async_remove_snapshot(share)
        self._async_notify(share.entry_id)
        return share

    async def async_prune(self) -> None:
        """Forget long-ended shares; delete ended snapshots and expired exports."""
        now = dt_util.utcnow()
        async with self.lock:
            gone = prunable(self.shares.values(), now, KEEP_ENDED)
            removed = [self.shares.pop(share_id) for share_id in gone]
            if removed:
                await self.async_save()
        ended = removed + [
            share
            for share in self.shares.values()
            if share.kind is ShareKind.SNAPSHOT
            and self.state_of(share, now) != "active"
        ]
        for share in ended:
            await self._async_remove_snapshot(share)
        for entry in self.hass.config_entries.async_entries(DOMAIN):
            settings = RecordingSettings.from_options(dict(entry.options))
            await self.hass.async_add_executor_job(
                apply_retention,
                exports_dir(self.hass, entry.entry_id),
                now,
                settings.retention,
                settings.max_bytes,
            )

    async def _async_remove_snapshot(self, share: Share) -> None:
        if share.kind is ShareKind.SNAPSHOT:
            path = shares_dir(self.hass, share.entry_id) / f"{share.id}.jpg"
            await self.hass.async_add_executor_job(path.unlink, True)

    @callback
    def _async_notify(self, entry_id: str | None) -> None:
        """Let the entry's entities (the active-shares sensor) update."""
        if entry_id and (entry := loaded_entry(self.hass, entry_id)):
            entry.runtime_data.async_update_listeners()

    # --- links ------------------------------------------------------------------------------

    def _base_url(self, share: Share) -> str | None:
        try:
            base: str | None = get_url(
                self.hass,
                allow_internal=True,
                allow_external=share.remote,
                allow_cloud=False,
                prefer_external=share.remote,
            )
        except NoURLAvailableError:
            base = None
        return base

    def _key(self, entry: PeepholeConfigEntry) -> bytes:
        key = entry_key(entry)
        if key is None:  # pragma: no cover - the store loads before the entry is up
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="share_not_saved"
            )
        return key

    def links(self, entry: PeepholeConfigEntry, share: Share) -> list[dict[str, str]]:
        """Mint one link per resource of a share (tokens are never stored)."""
        key = self._key(entry)
        base = self._base_url(share)
        now = dt_util.utcnow()
        links = []
        for resource in share.resources:
            token = mint_token(key, share, resource, now=now)
            path = f"{SHARE_URL_BASE}/{share.id}/{resource}?token={token}"
            links.append(
                {
                    "resource": resource,
                    "path": path,
                    "url": f"{base}{path}" if base else path,
                }
            )
        return links

    def page_link(self, entry: PeepholeConfigEntry, share: Share) -> dict[str, str]:
        """Mint the link of a share's page for the recipient."""
        token = mint_token(self._key(entry), share, PAGE_RESOURCE, now=dt_util.utcnow())
        path = f"{SHARE_URL_BASE}/{share.id}?token={token}"
        base = self._base_url(share)
        return {"path": path, "url": f"{base}{path}" if base else path}

    # --- access -------------------------------------------------------------------------------

    async def async_access(
        self,
        *,
        share_id: str,
        resource: str,
        method: str,
        token: str | None,
        client: str | None,
        cloud: bool,
    ) -> Grant | None:
        """Decide, audit (on disk) and return what to serve; None means refused."""
        await self.async_load()
        origin = classify_client(client, cloud=cloud)
        async with self.lock:
            now = dt_util.utcnow()
            share = (
                self.shares.get(share_id) if SHARE_ID_RE.fullmatch(share_id) else None
            )
            reason, grant = await self._async_decide(
                share, resource, method, token, origin, now
            )
            record = AuditRecord(
                time=now,
                share_id=clip_text(share_id),
                entry_id=share.entry_id if share else None,
                recipient=share.recipient if share else None,
                resource=clip_text(resource),
                method=clip_text(method),
                client=clip_text(client),
                origin=origin.value,
                outcome=Outcome.REFUSED if reason else Outcome.ALLOWED,
                reason=reason.value if reason else "",
                token=fingerprint(token) if token else "",
            )
            self.audit.append(record)
            if share is not None and reason is None and resource != PAGE_RESOURCE:
                self.shares[share.id] = count_view(share)
            try:
                await self.async_save()
            except AuditWriteError as err:
                LOGGER.error(
                    "Refusing access to share %s: the audit could not be written (%s)",
                    record.share_id,
                    err,
                )
                self.audit.remove_last(record)
                if share is not None:
                    self.shares[share.id] = share
                record = replace(
                    record, outcome=Outcome.REFUSED, reason=Refusal.AUDIT_FAILED.value
                )
                grant = None
        LOGGER.debug(
            "Share %s %s from %s (%s%s, token %s)",
            record.share_id,
            record.outcome,
            record.client,
            record.origin,
            f", {record.reason}" if record.reason else "",
            record.token or "-",
        )
        self.hass.bus.async_fire(EVENT_SHARE_ACCESSED, record.as_dict())
        self._async_notify(record.entry_id)
        return grant

    async def _async_decide(  # noqa: PLR0911 - one return per reason
        self,
        share: Share | None,
        resource: str,
        method: str,
        token: str | None,
        origin: ClientOrigin,
        now: datetime,
    ) -> tuple[Refusal | None, Grant | None]:
        """Return why to refuse, or what to serve."""
        if method != "GET":
            return Refusal.METHOD, None
        if token is None:
            return Refusal.QUERY, None
        if share is None:
            return Refusal.UNKNOWN_SHARE, None
        entry = loaded_entry(self.hass, share.entry_id)
        key = entry_key(entry) if entry else None
        if entry is None or key is None:
            return Refusal.NOT_LOADED, None
        if not verify_token(
            token,
            key,
            entry_id=share.entry_id,
            share_id=share.id,
            resource=resource,
            method=method,
        ):
            return Refusal.BAD_TOKEN, None
        refusal = check_access(
            share,
            rule_for(entry, share),
            # The page is open while the share is: as for its first resource.
            resource=share.resources[0] if resource == PAGE_RESOURCE else resource,
            origin=origin,
            now=now,
        )
        if refusal is not None:
            return refusal, None
        if resource == PAGE_RESOURCE:
            return None, Grant(None, "text/html", share.id)
        if share.kind is ShareKind.SNAPSHOT:
            if entry.runtime_data.privacy_mode:
                return Refusal.PRIVACY_MODE, None
            path: Path | None = (
                shares_dir(self.hass, entry.entry_id) / f"{share.id}.jpg"
            )
            content_type = "image/jpeg"
        else:
            path = _clip_path(entry, resource.removesuffix(CLIP_RESOURCE_SUFFIX))
            content_type = "video/mp4"
        if path is None or not await self.hass.async_add_executor_job(_is_file, path):
            return Refusal.MISSING, None
        return None, Grant(path, content_type, share.id)


def _is_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    path.chmod(0o600)


@callback
def async_get_registry(hass: HomeAssistant) -> ShareRegistry:
    """Return the share registry (created on first use, loaded lazily)."""
    if (registry := hass.data.get(DATA_SHARES)) is None:
        registry = hass.data[DATA_SHARES] = ShareRegistry(hass)
    return registry


# --- actions ------------------------------------------------------------------------------


def _validation_error(err: SharingError) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.key,
        translation_placeholders=err.placeholders,
    )


async def _async_registry(hass: HomeAssistant) -> ShareRegistry:
    registry = async_get_registry(hass)
    await registry.async_load()
    await registry.async_prune()
    return registry


async def _async_snapshot(entry: PeepholeConfigEntry) -> bytes:
    """Take one masked snapshot (the one masking path); refuse in privacy mode."""
    peephole = entry.runtime_data
    turned_on = peephole.privacy_turned_on
    if not peephole.privacy_mode:
        image = await peephole.async_masked_image()
        # (Privacy mode that came on and went off again meanwhile: the image is
        # the placeholder, not worth sharing.)
        if not peephole.private_since(turned_on):
            return image
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="privacy_mode_on",
        translation_placeholders={"name": entry.title},
    )


def _check_clips(entry: PeepholeConfigEntry, clip_ids: list[str]) -> None:
    if entry.runtime_data.recorder is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="recording_disabled",
            translation_placeholders={"name": entry.title},
        )
    for clip_id in clip_ids:
        if _clip_path(entry, clip_id) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_clip",
                translation_placeholders={"clip_id": clip_id, "name": entry.title},
            )


async def _async_publish(
    registry: ShareRegistry,
    entry: PeepholeConfigEntry,
    share: Share,
    image: bytes | None,
) -> dict[str, Any]:
    try:
        await registry.async_add(share, image)
    except AuditWriteError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="share_not_saved"
        ) from err
    links = registry.links(entry, share)
    page = registry.page_link(entry, share)
    LOGGER.info(
        "%s: shared %s with %s until %s",
        entry.title,
        ", ".join(share.resources),
        share.recipient,
        share.expires.isoformat(),
    )
    return {
        "share_id": share.id,
        "recipient": share.recipient,
        "kind": share.kind.value,
        "expires": share.expires.isoformat(),
        "remote": share.remote,
        "max_views": share.max_views,
        "url": links[0]["url"],
        "links": links,
        # The page the recipient opens: the clips with a player, when the link
        # ends, views left (the raw file links above keep working for scripts).
        "page_url": page["url"],
    }


async def _async_create_share(call: ServiceCall) -> ServiceResponse:
    """Share named clips, or one masked snapshot, with one named recipient."""
    return await async_create_share(
        call.hass,
        entry_id=call.data[ATTR_CONFIG_ENTRY_ID],
        recipient=call.data[ATTR_RECIPIENT],
        clip_ids=call.data.get(ATTR_CLIP_IDS, []),
        snapshot=call.data[ATTR_SNAPSHOT],
        expires_in=call.data.get(ATTR_EXPIRES_IN),
        max_views=call.data.get(ATTR_MAX_VIEWS),
        remote=call.data[ATTR_ALLOW_REMOTE],
        user_id=call.context.user_id,
    )


async def async_create_share(
    hass: HomeAssistant,
    *,
    entry_id: str,
    recipient: str,
    clip_ids: list[str],
    snapshot: bool,
    expires_in: float | None,
    max_views: int | None,
    remote: bool,
    user_id: str | None,
) -> dict[str, Any]:
    """Create a share (the create_share action and the panel); ``expires_in`` hours."""
    entry = async_get_entry(hass, entry_id)
    registry = await _async_registry(hass)
    if snapshot == bool(clip_ids):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="clips_or_snapshot"
        )
    rules = rules_from_options(entry.options.get(CONF_RECIPIENTS), entry.entry_id)
    try:
        share = plan_share(
            rules.get(fold(recipient)),
            recipient=recipient,
            entry_id=entry.entry_id,
            kind=ShareKind.SNAPSHOT if snapshot else ShareKind.CLIPS,
            clip_ids=clip_ids,
            expires_in=timedelta(hours=expires_in) if expires_in is not None else None,
            max_views=max_views,
            remote=remote,
            now=dt_util.utcnow(),
            created_by=user_id,
        )
    except SharingError as err:
        raise _validation_error(err) from err
    image = None
    if snapshot:
        image = await _async_snapshot(entry)
    else:
        _check_clips(entry, list(share.clip_ids))
    return await _async_publish(registry, entry, share, image)


async def _async_share_snapshot(call: ServiceCall) -> ServiceResponse:
    """Share one masked snapshot for a notification: local only, 15 minutes at most."""
    hass = call.hass
    entry = async_get_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
    registry = await _async_registry(hass)
    share = plan_share(
        notification_rule(entry.entry_id),
        recipient=NOTIFICATION_RECIPIENT,
        entry_id=entry.entry_id,
        kind=ShareKind.SNAPSHOT,
        expires_in=timedelta(minutes=call.data[ATTR_EXPIRES_IN]),
        now=dt_util.utcnow(),
        builtin=True,
        created_by=call.context.user_id,
    )
    image = await _async_snapshot(entry)
    return await _async_publish(registry, entry, share, image)


async def _async_revoke_share(call: ServiceCall) -> None:
    """End a share at once."""
    registry = await _async_registry(call.hass)
    share_id: str = call.data[ATTR_SHARE_ID]
    if await registry.async_revoke(share_id) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_share",
            translation_placeholders={"share_id": share_id},
        )
    LOGGER.info("Share %s revoked", share_id)


async def _async_list_shares(call: ServiceCall) -> ServiceResponse:
    """List the shares (of one entry, or all), newest first; never a token."""
    registry = await _async_registry(call.hass)
    entry_id = call.data.get(ATTR_CONFIG_ENTRY_ID)
    if entry_id is not None:
        async_get_entry(call.hass, entry_id)
    now = dt_util.utcnow()
    shares = sorted(registry.shares.values(), key=lambda s: s.created, reverse=True)
    return {
        "shares": [
            registry.describe(share, now)
            for share in shares
            if entry_id is None or share.entry_id == entry_id
        ]
    }


async def _async_export_clips(call: ServiceCall) -> ServiceResponse:
    """Write a zip of clips (as stored, masked) with a manifest of SHA-256 hashes."""
    return await async_export_clips(
        call.hass,
        call.data[ATTR_CONFIG_ENTRY_ID],
        call.data[ATTR_CLIP_IDS],
        call.data.get(ATTR_SHARE_ID),
    )


async def async_export_clips(
    hass: HomeAssistant,
    entry_id: str,
    clip_ids: list[str],
    share_id: str | None = None,
) -> dict[str, Any]:
    """Export clips of an entry (the export_clips action and the panel)."""
    entry = async_get_entry(hass, entry_id)
    registry = await _async_registry(hass)
    clip_ids = list(dict.fromkeys(clip_ids))
    _check_clips(entry, clip_ids)
    share_record = None
    if share_id is not None:
        share = registry.shares.get(share_id)
        if share is None or share.entry_id != entry.entry_id:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_share",
                translation_placeholders={"share_id": share_id},
            )
        share_record = registry.describe(share, dt_util.utcnow())
    peephole = entry.runtime_data
    recorder = peephole.recorder
    assert recorder is not None  # noqa: S101 - checked by _check_clips
    export_clips = []
    for clip_id in clip_ids:
        clip = recorder.store.get(clip_id)
        assert clip is not None  # noqa: S101 - checked by _check_clips
        export_clips.append(
            ExportClip(
                clip_id=clip.id,
                path=recorder.store.clip_path(clip),
                start=clip.start.isoformat(),
                duration=clip.duration,
            )
        )
    now = dt_util.utcnow()
    try:
        result = await hass.async_add_executor_job(
            partial(
                write_export,
                exports_dir(hass, entry.entry_id),
                export_clips,
                now=now,
                entry={
                    "entry_id": entry.entry_id,
                    "title": entry.title,
                    "camera": peephole.masked_camera_entity_id,
                },
                masks=zones_to_storage(list(peephole.zones)),
                share=share_record,
            )
        )
    except ExportError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="export_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    LOGGER.info(
        "%s: exported %s clip(s) to %s", entry.title, len(clip_ids), result.path
    )
    return {
        "path": str(result.path),
        "file": result.path.name,
        "sha256": result.sha256,
        "clips": result.manifest["clips"],
    }


# --- registration --------------------------------------------------------------------------

_ADMIN_RESPONSES = (
    "supports_response" in inspect.signature(async_register_admin_service).parameters
)


async def _async_admin_only(handler: Any, call: ServiceCall) -> ServiceResponse:
    """Run ``handler`` for administrators only (HA < 2025.x has no admin responses)."""
    if call.context.user_id:
        user = await call.hass.auth.async_get_user(call.context.user_id)
        if user is None:
            raise UnknownUser(context=call.context)
        if not user.is_admin:
            raise Unauthorized(context=call.context)
    result: ServiceResponse = await handler(call)
    return result


@callback
def _async_register(
    hass: HomeAssistant,
    service: str,
    handler: Any,
    schema: vol.Schema,
    supports_response: SupportsResponse,
) -> None:
    if _ADMIN_RESPONSES:
        register: Any = async_register_admin_service
        register(hass, DOMAIN, service, handler, schema, supports_response)
    else:  # pragma: no cover - depends on the HA version
        hass.services.async_register(
            DOMAIN,
            service,
            partial(_async_admin_only, handler),
            schema,
            supports_response,
        )


@callback
def async_setup_share_services(hass: HomeAssistant) -> None:
    """Register the sharing actions (administrators only)."""
    async_get_registry(hass)
    for service, handler, schema, response in (
        (
            SERVICE_CREATE_SHARE,
            _async_create_share,
            CREATE_SHARE_SCHEMA,
            SupportsResponse.ONLY,
        ),
        (
            SERVICE_SHARE_SNAPSHOT,
            _async_share_snapshot,
            SHARE_SNAPSHOT_SCHEMA,
            SupportsResponse.ONLY,
        ),
        (
            SERVICE_REVOKE_SHARE,
            _async_revoke_share,
            REVOKE_SHARE_SCHEMA,
            SupportsResponse.NONE,
        ),
        (
            SERVICE_LIST_SHARES,
            _async_list_shares,
            LIST_SHARES_SCHEMA,
            SupportsResponse.ONLY,
        ),
        (
            SERVICE_EXPORT_CLIPS,
            _async_export_clips,
            EXPORT_CLIPS_SCHEMA,
            SupportsResponse.ONLY,
        ),
    ):
        _async_register(hass, service, handler, schema, response)
