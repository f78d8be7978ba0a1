"""The Doorbell panel's sharing commands: recipients, share, list, revoke, audit.

Administrators only, translated errors (``panel_api.panel_command``). They call
what the sharing actions call (``share_services``, ``share_registry``), so a link
made in the panel is the link ``create_share`` makes, bound to the recipient's
identity and within its rule. Tokens are minted for the answer only (never
stored, never listed again).
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .panel_api import panel_command
from .services import async_get_entry
from .share_access import effective_view_limit
from .share_registry import (
    async_get_registry,
    entry_rules,
    loaded_entry,
    rule_for,
)
from .share_services import async_create_share
from .sharing import MAX_CLIPS_PER_SHARE, MAX_EXPIRY, MAX_VIEWS, ShareKind

TYPE_RECIPIENTS: Final = "peephole/shares/recipients"
TYPE_CREATE: Final = "peephole/shares/create"
TYPE_LIST: Final = "peephole/shares/list"
TYPE_REVOKE: Final = "peephole/shares/revoke"
TYPE_AUDIT: Final = "peephole/shares/audit"
MAX_AUDIT_PAGE: Final = 500


@panel_command(TYPE_RECIPIENTS, {vol.Required("entry_id"): str})
async def ws_recipients(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer the recipients who may get links to this doorbell's clips, with their rules.

    A recipient is chosen by identity (``id``): a link belongs to the recipient,
    not to the name, which the owner may change meanwhile.
    """
    entry = async_get_entry(hass, msg["entry_id"])
    connection.send_result(
        msg["id"],
        {
            "recipients": [
                {
                    "id": recipient_id,
                    "name": rule.name,
                    "max_expiry_hours": rule.max_expiry.total_seconds() / 3600,
                    "remote": rule.remote,
                    "max_views": rule.max_views,
                }
                for recipient_id, rule in sorted(
                    entry_rules(entry).items(), key=lambda item: item[1].name.casefold()
                )
                if entry.entry_id in rule.cameras and rule.allows_kind(ShareKind.CLIPS)
            ]
        },
    )


@panel_command(
    TYPE_CREATE,
    {
        vol.Required("entry_id"): str,
        vol.Required("recipient_id"): vol.All(str, vol.Length(max=64)),
        vol.Required("clip_ids"): vol.All(
            [vol.All(str, vol.Length(max=64))],
            vol.Length(min=1, max=MAX_CLIPS_PER_SHARE),
        ),
        vol.Optional("expires_in"): vol.All(
            vol.Coerce(float),
            vol.Range(min=0, min_included=False, max=MAX_EXPIRY.days * 24),
        ),
        vol.Optional("max_views"): vol.All(int, vol.Range(min=1, max=MAX_VIEWS)),
        vol.Optional("allow_remote", default=False): bool,
    },
)
async def ws_create(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Share clips with a recipient (what create_share does), within its rule.

    The answer is create_share's: the recipient's page (``page_url``) and the
    raw file links; the tokens in them are minted for this answer only.
    """
    entry = async_get_entry(hass, msg["entry_id"])
    recipient_id: str = msg["recipient_id"]
    user = connection.user
    share = await async_create_share(
        hass,
        entry,
        entry_rules(entry).get(recipient_id),
        recipient=recipient_id,
        clip_ids=msg["clip_ids"],
        snapshot=False,
        expires_in=msg.get("expires_in"),
        max_views=msg.get("max_views"),
        remote=msg["allow_remote"],
        user_id=user.id if user else None,
    )
    connection.send_result(msg["id"], share)


@panel_command(TYPE_LIST, {vol.Optional("entry_id"): str})
async def ws_list(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer every recipient's link (of one doorbell, or all), newest first.

    Each as list_shares describes it (state under the rule as it is now, the
    effective expiry, accesses, refusals and requests with a forged token), with
    its effective view limit; never a token. Built-in notification snapshots are
    not a recipient's links and are left out (their openings are in the audit).
    """
    registry = async_get_registry(hass)
    await registry.async_load()
    entry_id = msg.get("entry_id")
    if entry_id is not None:
        async_get_entry(hass, entry_id)
    now = dt_util.utcnow()
    shares = []
    for share in sorted(
        registry.shares.values(), key=lambda s: s.created, reverse=True
    ):
        if share.builtin or (entry_id is not None and share.entry_id != entry_id):
            continue
        data = registry.describe(share, now, records=False)
        entry = loaded_entry(hass, share.entry_id)
        rule = rule_for(entry, share) if entry else None
        data["view_limit"] = effective_view_limit(share, rule) if rule else None
        shares.append(data)
    connection.send_result(msg["id"], {"shares": shares})


@panel_command(
    TYPE_REVOKE, {vol.Required("share_id"): vol.All(str, vol.Length(max=64))}
)
async def ws_revoke(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """End a link at once (what revoke_share does)."""
    registry = async_get_registry(hass)
    await registry.async_load()
    share = await registry.async_revoke(msg["share_id"])
    if share is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_share",
            translation_placeholders={"share_id": msg["share_id"]},
        )
    connection.send_result(msg["id"], {"share_id": share.id, "revoked": True})


@panel_command(
    TYPE_AUDIT,
    {
        vol.Optional("share_id"): vol.All(str, vol.Length(max=64)),
        vol.Optional("entry_id"): str,
        vol.Optional("outcome"): vol.In(["allowed", "refused"]),
        vol.Optional("limit", default=100): vol.All(
            int, vol.Range(min=1, max=MAX_AUDIT_PAGE)
        ),
    },
)
async def ws_audit(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer the audit: the newest accesses to real links, and requests for none.

    ``records`` are the per-link records (newest first, filtered by link,
    doorbell or outcome, at most ``limit``); ``unknown_links`` are the requests
    for links that do not exist, counted per client and minute (newest first, at
    most ``limit`` of them, and the count of older ones), for the whole audit
    only: they belong to no link or doorbell.
    """
    registry = async_get_registry(hass)
    await registry.async_load()
    share_id = msg.get("share_id")
    entry_id = msg.get("entry_id")
    outcome = msg.get("outcome")
    limit: int = msg["limit"]
    if entry_id is not None:
        async_get_entry(hass, entry_id)
    if share_id is not None:
        audit = registry.audit.for_share(share_id)
        kept = sorted((*audit.allowed, *audit.refused), key=lambda record: record.time)
    else:
        kept = registry.audit.records
    records = []
    for record in reversed(kept):
        if entry_id is not None and record.entry_id != entry_id:
            continue
        if outcome is not None and record.outcome.value != outcome:
            continue
        records.append(record.as_dict())
        if len(records) >= limit:
            break
    answer: dict[str, Any] = {"records": records}
    if share_id is None and entry_id is None:
        unknown = registry.unknown_links()
        buckets = unknown["by_client_and_minute"]
        answer["unknown_links"] = {
            "by_client_and_minute": buckets[:limit],
            "older_requests": unknown["older_requests"]
            + sum(bucket["count"] for bucket in buckets[limit:]),
        }
    connection.send_result(msg["id"], answer)


@callback
def async_setup_panel_shares(hass: HomeAssistant) -> None:
    """Register the panel's sharing commands (once, in async_setup)."""
    for command in (ws_recipients, ws_create, ws_list, ws_revoke, ws_audit):
        async_register_command(hass, command)
