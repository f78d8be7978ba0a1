"""The share registry: every share and the audit of every access, in a private Store.

One :class:`ShareRegistry` per Home Assistant holds every share and the audit in a
private Store (``.storage/peephole.shares``, atomic writes). It is the one access
path of share links (:meth:`ShareRegistry.async_access`):

* A request for a link that does not exist (an unknown share, a token that is not
  the share's, a malformed request) is counted per client and minute in the
  audit's bounded junk table, and written with the Store's delayed save: junk
  costs neither a file write per request nor unbounded memory. It is a guess: a
  client that keeps guessing is refused before its requests are looked up, and
  reported (a few times a minute) to Home Assistant's failed-login machinery
  (see ``share_guard``).
* A request with a real link's token is decided under the recipient's rule as it
  is now and recorded in that share's audit. An allowed opening is written to
  disk before a byte is served (if it cannot be, the access is refused); a refused
  one is written with the delayed save.
* The recipient's page of a share (``PAGE_RESOURCE``, see ``share_page``) goes the
  same way with a token of its own: an opening is audited like any other, but is
  not a view (the clips it plays are).

Rule changes narrow the stored shares for good (:meth:`ShareRegistry.async_apply_rules`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
import secrets
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .audit import AuditLog, AuditRecord, Outcome, clip_text
from .const import DOMAIN, LOGGER
from .doorbell import PeepholeConfigEntry
from .export import apply_retention
from .recording import RecordingSettings
from .share_access import (
    ClientOrigin,
    Refusal,
    bind_legacy,
    check_access,
    classify_client,
    count_view,
    effective_expiry,
    narrow,
    prunable,
    rule_of,
    share_state,
)
from .share_guard import GuessGuard
from .share_media import (
    clip_path,
    exports_dir,
    is_file,
    snapshot_path,
    write_private,
)
from .sharing import (
    CLIP_RESOURCE_SUFFIX,
    CONF_RECIPIENTS,
    PAGE_RESOURCE,
    SHARE_ID_RE,
    RecipientRule,
    Share,
    ShareKind,
    TokenCheck,
    check_token,
    fingerprint,
    mint_token,
    rules_from_options,
    signing_key,
)

STORAGE_VERSION: Final = 1
# 1.2: the audit is kept per share, and junk per client and minute.
STORAGE_MINOR_VERSION: Final = 2
STORAGE_KEY: Final = f"{DOMAIN}.shares"
SHARE_URL_BASE: Final = "/api/peephole/share"
EVENT_SHARE_ACCESSED: Final = "peephole_share_accessed"
# Ended shares stay listed (and explain their audit records) this long.
KEEP_ENDED: Final = timedelta(days=30)
# Refusals and junk are written at most this often (seconds), not per request.
REFUSAL_SAVE_DELAY: Final = 10.0

DATA_SHARES: HassKey[ShareRegistry] = HassKey(f"{DOMAIN}_shares")


class AuditWriteError(HomeAssistantError):
    """The shares and audit could not be written to disk."""


class _StrictStore(Store[dict[str, Any]]):
    """A Store that reports a failed write (Store itself only logs it).

    A delayed save's data is made on the event loop when the write starts (the
    Store of older Home Assistant releases would make it in a worker thread,
    while the loop changes the shares).
    """

    write_error: Exception | None = None

    async def _async_write_data(self, *args: Any) -> None:
        data = args[-1]
        if "data_func" in data:
            data["data"] = data.pop("data_func")()
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

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: Any
    ) -> dict[str, Any]:
        """Read older data as it is: ``AuditLog.from_storage`` reads the old audit."""
        return dict(old_data) if isinstance(old_data, dict) else {}


@dataclass(frozen=True, slots=True)
class Grant:
    """What an allowed access serves (``path`` None: the share's page, no file)."""

    path: Path | None
    content_type: str
    share_id: str


@dataclass(frozen=True, slots=True)
class Access:
    """The answer to a request.

    ``grant`` is what to serve (None: refuse); ``report_guess`` says to report the
    client to Home Assistant's failed-login machinery (it guessed a link).
    """

    grant: Grant | None = None
    report_guess: bool = False


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


def entry_rules(entry: ConfigEntry) -> dict[str, RecipientRule]:
    """Return an entry's recipients' rules, by recipient id, as its options say now."""
    return rules_from_options(entry.options.get(CONF_RECIPIENTS), entry.entry_id)


def rule_for(entry: ConfigEntry, share: Share) -> RecipientRule | None:
    """Return the rule a share is under, as the entry's options say now."""
    return rule_of(share, entry_rules(entry))


class ShareRegistry:
    """Every share and the audit of every access (one per Home Assistant)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Initialise (nothing is read before ``async_load``)."""
        self.hass = hass
        self._store = _StrictStore(
            hass,
            STORAGE_VERSION,
            STORAGE_KEY,
            private=True,
            atomic_writes=True,
            minor_version=STORAGE_MINOR_VERSION,
        )
        self.shares: dict[str, Share] = {}
        self.audit = AuditLog()
        self.lock = asyncio.Lock()
        self._load_lock = asyncio.Lock()
        self._loaded = False
        # A write failed: what is in memory (narrower) is not on disk yet.
        self._unsaved = False
        # A delayed save is due (refusals and junk wait for it).
        self._save_due = False
        # The link-signing keys of the entries that were set up (by entry id).
        self._keys: dict[str, bytes] = {}
        # Checked against for unknown shares, so that they cost what real ones do.
        self._decoy_key = secrets.token_bytes(32)
        self.guard = GuessGuard()

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
        # Everything is written now: a delayed save that was due is not any more
        # (Store drops it).
        self._save_due = False
        try:
            await self._store.async_save_strict(self._data())
        except AuditWriteError:
            self._unsaved = True
            raise
        self._unsaved = False

    @callback
    def async_save_later(self) -> None:
        """Write shares and audit within REFUSAL_SAVE_DELAY (Store's delayed save).

        However many calls come meanwhile, the first one sets when: a flood of
        requests neither writes more often nor puts the write off. Home
        Assistant's final write catches what is left when it stops.
        """
        if self._save_due:
            return
        self._save_due = True
        self._store.async_delay_save(self._delayed_data, REFUSAL_SAVE_DELAY)

    def _delayed_data(self) -> dict[str, Any]:
        """Return what the delayed save writes (called as it writes)."""
        self._save_due = False
        return self._data()

    @callback
    def async_set_key(self, entry_id: str, secret: str) -> None:
        """Know an entry's link-signing key (from its set-up on; kept over unloads)."""
        self._keys[entry_id] = signing_key(secret)

    @callback
    def async_forget_key(self, entry_id: str) -> None:
        """Forget a removed entry's key: its links can never be checked again."""
        self._keys.pop(entry_id, None)

    # --- queries ----------------------------------------------------------------------

    def state_of(self, share: Share, now: datetime) -> str:
        """Return the state of a share under its rule as it is now."""
        entry = loaded_entry(self.hass, share.entry_id)
        if entry is None:
            return "revoked" if share.revoked else "unavailable"
        return share_state(share, rule_for(entry, share), now)

    def describe(
        self, share: Share, now: datetime, *, records: bool = True
    ) -> dict[str, Any]:
        """Return a share for list_shares and diagnostics (never a token).

        With its audit: the counts of allowed and refused accesses and of requests
        with a token that is not its own (``forged_requests``), and (``records``)
        the newest allowed and refused accesses, newest first.
        """
        entry = loaded_entry(self.hass, share.entry_id)
        rule = rule_for(entry, share) if entry else None
        audit = self.audit.for_share(share.id)
        data = share.as_dict()
        data["state"] = self.state_of(share, now)
        data["effective_expires"] = (
            effective_expiry(share, rule).isoformat() if rule else None
        )
        data["accesses"] = audit.allowed_total
        data["refusals"] = audit.refused_total
        data["forged_requests"] = audit.bad_tokens
        if records:
            data["audit"] = {
                "allowed": [record.as_dict() for record in reversed(audit.allowed)],
                "refused": [record.as_dict() for record in reversed(audit.refused)],
            }
        return data

    def unknown_links(self) -> dict[str, Any]:
        """Return the requests for links that do not exist, by client and minute."""
        return {
            "by_client_and_minute": [bucket.as_dict() for bucket in self.audit.junk],
            "older_requests": self.audit.junk_dropped,
        }

    def active_count(self, entry_id: str) -> int:
        """Return the number of active shares of an entry (for the sensor)."""
        now = dt_util.utcnow()
        return sum(
            1
            for share in self.shares.values()
            if share.entry_id == entry_id and self.state_of(share, now) == "active"
        )

    def diagnostics(self, entry_id: str) -> dict[str, Any]:
        """Return an entry's shares with their audit, and the requests for no link."""
        now = dt_util.utcnow()
        return {
            "shares": [
                self.describe(share, now)
                for share in self.shares.values()
                if share.entry_id == entry_id
            ],
            "unknown_links": self.unknown_links(),
        }

    # --- changes --------------------------------------------------------------------------

    async def async_apply_rules(
        self, entry: ConfigEntry, recipients: Any = None, *, strict: bool = True
    ) -> None:
        """Bind and narrow an entry's shares to its rules, and persist them.

        ``recipients`` are the stored rules about to be saved (the options flow
        calls this before it saves); by default, the entry's own. Shares stored
        before recipients had identities are bound first, to the rules in force
        (see ``bind_legacy``); then whatever the new rules no longer allow is taken
        from every share of the entry, for good (see ``narrow``). Idempotent. A
        failed write raises AuditWriteError (``strict``) or is logged; the shares
        stay narrowed in memory either way and are written with the next change.
        """
        await self.async_load()
        now = dt_util.utcnow()
        current = entry_rules(entry)
        rules = (
            current
            if recipients is None
            else rules_from_options(recipients, entry.entry_id)
        )
        async with self.lock:
            changed = False
            for share in list(self.shares.values()):
                if share.entry_id != entry.entry_id:
                    continue
                bound = bind_legacy(share, current, now)
                updated = narrow(bound, rule_of(bound, rules), now)
                if updated != share:
                    self.shares[share.id] = updated
                    changed = True
            if not changed and not self._unsaved:
                return
            try:
                await self.async_save()
            except AuditWriteError as err:
                if strict:
                    raise
                LOGGER.error(
                    "%s: the shares narrowed by a rule change could not be saved"
                    " (%s); they are narrowed in memory and saved with the next"
                    " change",
                    entry.title,
                    err,
                )
        self._async_notify(entry.entry_id)

    async def async_add(self, share: Share, snapshot: bytes | None) -> None:
        """Persist a new share (and its snapshot file) before any link exists."""
        path = snapshot_path(self.hass, share.entry_id, share.id)
        if snapshot is not None:
            await self.hass.async_add_executor_job(write_private, path, snapshot)
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
        """Forget long-ended shares and their audit; delete ended snapshots, old exports."""
        now = dt_util.utcnow()
        async with self.lock:
            gone = prunable(self.shares.values(), now, KEEP_ENDED)
            removed = [self.shares.pop(share_id) for share_id in gone]
            if removed:
                self.audit.forget(gone)
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
            path = snapshot_path(self.hass, share.entry_id, share.id)
            await self.hass.async_add_executor_job(path.unlink, True)

    @callback
    def _async_notify(self, entry_id: str | None) -> None:
        """Let the entry's entities (the active-shares sensor) update."""
        if entry_id and (entry := loaded_entry(self.hass, entry_id)):
            entry.runtime_data.async_update_listeners()

    # --- links ------------------------------------------------------------------------------

    def _key(self, entry: PeepholeConfigEntry) -> bytes:
        key = self._keys.get(entry.entry_id)
        if key is None:  # pragma: no cover - the key is known once the entry is up
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="share_not_saved"
            )
        return key

    def _base_url(self, share: Share) -> str | None:
        """Return the base URL of a share's links (external only if it is remote)."""
        try:
            return get_url(
                self.hass,
                allow_internal=True,
                allow_external=share.remote,
                allow_cloud=False,
                prefer_external=share.remote,
            )
        except NoURLAvailableError:
            return None

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
        """Mint the link of a share's page for the recipient (never stored)."""
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
    ) -> Access:
        """Decide, audit and return what to serve.

        Every refusal looks the same to the client (the view answers one 404), and
        a request for a link that does not exist costs what any other refusal
        costs. A client that guessed too often this minute is refused before its
        request is looked up at all.
        """
        await self.async_load()
        now = dt_util.utcnow()
        found: tuple[Share, str, TokenCheck] | Refusal = (
            Refusal.RATE_LIMITED
            if self.guard.blocked(client, now)
            else self._identify(share_id, resource, method, token, now)
        )
        if isinstance(found, Refusal):
            self.audit.count_junk(client, found.value, now)
            self.async_save_later()
            LOGGER.debug(
                "Refused a request for no share link from %s (%s)",
                clip_text(client),
                found,
            )
            return Access(report_guess=self.guard.guess(client, now))
        share, token, check = found
        origin = classify_client(client, cloud=cloud)
        async with self.lock:
            # The share as it is now (a view may have been counted meanwhile).
            share = self.shares.get(share.id, share)
            reason, grant = await self._async_decide(
                share, resource, check, origin, now
            )
            record = AuditRecord(
                time=now,
                share_id=share.id,
                entry_id=share.entry_id,
                recipient=share.recipient,
                resource=clip_text(resource),
                method=clip_text(method),
                client=clip_text(client),
                origin=origin.value,
                outcome=Outcome.REFUSED if reason else Outcome.ALLOWED,
                reason=reason.value if reason else "",
                token=fingerprint(token),
            )
            self.audit.record(record)
            if reason is None:
                if resource != PAGE_RESOURCE:  # (opening the page is not a view)
                    self.shares[share.id] = count_view(share)
                try:
                    await self.async_save()
                except AuditWriteError as err:
                    LOGGER.error(
                        "Refusing access to share %s: the audit could not be written"
                        " (%s)",
                        share.id,
                        err,
                    )
                    self.audit.remove_last(record)
                    self.shares[share.id] = share
                    record = replace(
                        record,
                        outcome=Outcome.REFUSED,
                        reason=Refusal.AUDIT_FAILED.value,
                    )
                    self.audit.record(record)
                    self.async_save_later()
                    grant = None
            else:
                self.async_save_later()
        LOGGER.debug(
            "Share %s %s from %s (%s%s, token %s)",
            record.share_id,
            record.outcome,
            record.client,
            record.origin,
            f", {record.reason}" if record.reason else "",
            record.token,
        )
        self.hass.bus.async_fire(EVENT_SHARE_ACCESSED, record.as_dict())
        self._async_notify(record.entry_id)
        return Access(grant)

    def _identify(
        self,
        share_id: str,
        resource: str,
        method: str,
        token: str | None,
        now: datetime,
    ) -> tuple[Share, str, TokenCheck] | Refusal:
        """Return the real link a request is for (share, token, check), or why not.

        Not a real link: a method other than GET, a malformed query, an unknown
        share, a token that is not the share's (counted in the share's audit too).
        The token of an unknown share is checked all the same (against a decoy
        key), so that an unknown share costs what a known one does.
        """
        if method != "GET":
            return Refusal.METHOD
        if token is None:
            return Refusal.QUERY
        share = self.shares.get(share_id) if SHARE_ID_RE.fullmatch(share_id) else None
        key = self._keys.get(share.entry_id) if share is not None else None
        check = check_token(
            token,
            key or self._decoy_key,
            entry_id=share.entry_id if share is not None else "",
            share_id=share_id,
            resource=resource,
            method=method,
            now=now,
        )
        if share is None or key is None:
            return Refusal.UNKNOWN_SHARE
        if check is TokenCheck.INVALID:
            self.audit.count_bad_token(share.id, now)
            return Refusal.BAD_TOKEN
        return share, token, check

    async def _async_decide(
        self,
        share: Share,
        resource: str,
        check: TokenCheck,
        origin: ClientOrigin,
        now: datetime,
    ) -> tuple[Refusal | None, Grant | None]:
        """Return why to refuse a real link's request, or what to serve."""
        entry = loaded_entry(self.hass, share.entry_id)
        if entry is None:
            return Refusal.NOT_LOADED, None
        # (A token expires with its share: the share's own expiry refuses first.)
        refusal = check_access(
            share, rule_for(entry, share), resource=resource, origin=origin, now=now
        ) or (Refusal.EXPIRED if check is TokenCheck.EXPIRED else None)
        if refusal is not None:
            return refusal, None
        if share.kind is ShareKind.SNAPSHOT and entry.runtime_data.privacy_mode:
            return Refusal.PRIVACY_MODE, None
        if resource == PAGE_RESOURCE:  # the page: nothing from disk
            return None, Grant(None, "text/html", share.id)
        path: Path | None
        if share.kind is ShareKind.SNAPSHOT:
            path = snapshot_path(self.hass, entry.entry_id, share.id)
            content_type = "image/jpeg"
        else:
            path = clip_path(entry, resource.removesuffix(CLIP_RESOURCE_SUFFIX))
            content_type = "video/mp4"
        if path is None or not await self.hass.async_add_executor_job(is_file, path):
            return Refusal.MISSING, None
        return None, Grant(path, content_type, share.id)


@callback
def async_get_registry(hass: HomeAssistant) -> ShareRegistry:
    """Return the share registry (created on first use, loaded lazily)."""
    if (registry := hass.data.get(DATA_SHARES)) is None:
        registry = hass.data[DATA_SHARES] = ShareRegistry(hass)
    return registry
