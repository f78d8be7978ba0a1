"""Access decisions on shares: who may open a link now, and what a share's state is.

Pure Python (no Home Assistant imports). A share is bound to its recipient's
identity (:func:`rule_of`) and never exceeds the recipient's rule, which is
evaluated again at every access (:func:`check_access`), so narrowing or removing
a rule narrows or ends the shares made under it at once. What a rule change takes
is stored in the share (:func:`narrow`, the ratchet), so a later, wider rule does
not give it back. Client addresses are classified here too
(:func:`classify_client`): only the local network counts as local.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
import ipaddress
from typing import Final

from .sharing import (
    NOTIFICATION_RECIPIENT,
    PAGE_RESOURCE,
    RecipientRule,
    Share,
    notification_rule,
    rule_named,
)


def effective_expiry(share: Share, rule: RecipientRule) -> datetime:
    """Return when a share ends under its rule as it is now."""
    return min(share.expires, share.created + rule.max_expiry)


def effective_view_limit(share: Share, rule: RecipientRule) -> int | None:
    """Return the view limit of a share under its rule as it is now."""
    limits = [n for n in (share.max_views, rule.max_views) if n is not None]
    return min(limits) if limits else None


class Refusal(StrEnum):
    """Why an access was refused (for the owner's audit, never for the client)."""

    RATE_LIMITED = "rate_limited"
    METHOD = "method"
    QUERY = "query"
    UNKNOWN_SHARE = "unknown_share"
    NOT_LOADED = "not_loaded"
    BAD_TOKEN = "bad_token"  # noqa: S105 - a reason, not a secret
    REVOKED = "revoked"
    EXPIRED = "expired"
    NO_RULE = "no_rule"
    RULE = "rule"
    RESOURCE = "resource"
    NOT_LOCAL = "not_local"
    VIEW_LIMIT = "view_limit"
    PRIVACY_MODE = "privacy_mode"
    MISSING = "missing"
    AUDIT_FAILED = "audit_failed"


class ClientOrigin(StrEnum):
    """Where a request comes from."""

    LOCAL = "local"
    REMOTE = "remote"
    CLOUD = "cloud"


def check_access(  # noqa: PLR0911 - one return per reason
    share: Share,
    rule: RecipientRule | None,
    *,
    resource: str,
    origin: ClientOrigin,
    now: datetime,
) -> Refusal | None:
    """Return why this access must be refused, or None to allow it.

    The rule is the recipient's rule as it is now: a rule that was removed, or
    narrowed below what the share was made with, narrows or ends the share. The
    share's page (``PAGE_RESOURCE``) is open exactly when its files are (a page
    whose views are used up has nothing left to play).
    """
    if share.revoked is not None:
        return Refusal.REVOKED
    if share.ended is not None:
        return ended_refusal(share)
    if now >= share.expires:
        return Refusal.EXPIRED
    if rule is None:
        return Refusal.NO_RULE
    if share.entry_id not in rule.cameras or not rule.allows_kind(share.kind):
        return Refusal.RULE
    if now >= effective_expiry(share, rule):
        return Refusal.EXPIRED
    if resource != PAGE_RESOURCE and resource not in share.resources:
        return Refusal.RESOURCE
    if origin is not ClientOrigin.LOCAL and not (share.remote and rule.remote):
        return Refusal.NOT_LOCAL
    limit = effective_view_limit(share, rule)
    if limit is not None and share.views >= limit:
        return Refusal.VIEW_LIMIT
    return None


def count_view(share: Share) -> Share:
    """Return the share with one more view."""
    return replace(share, views=share.views + 1)


def share_state(share: Share, rule: RecipientRule | None, now: datetime) -> str:
    """Return ``active``, ``revoked``, ``expired``, ``used_up`` or ``no_rule``."""
    if share.revoked is not None:
        return "revoked"
    if share.ended is not None or rule is None or share.entry_id not in rule.cameras:
        return "no_rule"
    if not rule.allows_kind(share.kind):
        return "no_rule"
    if now >= effective_expiry(share, rule):
        return "expired"
    limit = effective_view_limit(share, rule)
    if limit is not None and share.views >= limit:
        return "used_up"
    return "active"


def prunable(shares: Iterable[Share], now: datetime, keep: timedelta) -> list[str]:
    """Return the ids of shares that ended more than ``keep`` ago."""
    return [share.id for share in shares if share.end + keep <= now]


# --- identities and the ratchet --------------------------------------------------------


def rule_of(share: Share, rules: Mapping[str, RecipientRule]) -> RecipientRule | None:
    """Return the rule a share is under now: its recipient's, by identity.

    ``rules`` are the entry's rules by recipient id (``rules_from_options``). A
    built-in notification share is under the built-in rule; a share without a
    recipient id is under none.
    """
    if share.builtin:
        if share.recipient != NOTIFICATION_RECIPIENT:
            return None
        return notification_rule(share.entry_id)
    if share.recipient_id is None:
        return None
    return rules.get(share.recipient_id)


def ended_refusal(share: Share) -> Refusal:
    """Return the refusal of a share a rule change ended."""
    return Refusal.RULE if share.ended_reason == Refusal.RULE else Refusal.NO_RULE


def is_legacy(share: Share) -> bool:
    """Return True for a share stored before recipients had identities, not bound yet."""
    return (
        not share.builtin
        and share.recipient_id is None
        and share.revoked is None
        and share.ended is None
    )


def bind_legacy(
    share: Share, rules: Mapping[str, RecipientRule], now: datetime
) -> Share:
    """Bind a share made before recipients had identities (done once, at set-up).

    It goes to the rule that has its recipient's name now, or ends (``no_rule``)
    if none has. Any other share is returned as it is.
    """
    if not is_legacy(share):
        return share
    rule = rule_named(rules, share.recipient)
    if rule is None:
        return replace(share, ended=now, ended_reason=Refusal.NO_RULE.value)
    return replace(share, recipient_id=rule.id)


def narrow(share: Share, rule: RecipientRule | None, now: datetime) -> Share:
    """Return the share with whatever ``rule`` (its rule now) no longer allows taken.

    The ratchet: a share whose rule is gone, or no longer allows its kind or its
    camera, ends for good; remote access, the expiry and the view limit only ever
    shrink to the rule's. Stored, so that a later, wider rule gives nothing back.
    Built-in and already ended shares are returned as they are; the share takes
    the rule's current name (a renamed recipient is the same recipient).
    """
    if share.builtin or share.revoked is not None or share.ended is not None:
        return share
    if rule is None:
        return replace(share, ended=now, ended_reason=Refusal.NO_RULE.value)
    if share.entry_id not in rule.cameras or not rule.allows_kind(share.kind):
        return replace(share, ended=now, ended_reason=Refusal.RULE.value)
    return replace(
        share,
        recipient=rule.name,
        expires=effective_expiry(share, rule),
        remote=share.remote and rule.remote,
        max_views=effective_view_limit(share, rule),
    )


# --- client addresses -----------------------------------------------------------------

LOCAL_NETWORKS: Final = tuple(
    ipaddress.ip_network(net)
    for net in (
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fd00::/8",
        "169.254.0.0/16",
        "fe80::/10",
    )
)


def classify_client(remote: str | None, *, cloud: bool) -> ClientOrigin:
    """Classify a client address (as HA's forwarded middleware set it).

    Local: loopback, RFC 1918, fd00::/8 and link-local, IPv4-mapped or not. Not
    local: everything else, including CGNAT (100.64.0.0/10), addresses that do not
    parse, and any request relayed by the cloud (which arrives from loopback).
    """
    if cloud:
        return ClientOrigin.CLOUD
    if not remote:
        return ClientOrigin.REMOTE
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return ClientOrigin.REMOTE
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in LOCAL_NETWORKS):
        return ClientOrigin.LOCAL
    return ClientOrigin.REMOTE
