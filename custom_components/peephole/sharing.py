"""Sharing: recipients' rules, share records, signed links.

Pure Python (PyJWT, no Home Assistant imports). The owner names recipients, each
with a :class:`RecipientRule`; a :class:`Share` is made for one recipient within
its rule (:func:`plan_share`). What an access may do is decided in
``share_access``.

Every link is a JWT (HS256, key derived from Peephole's own per-entry secret) that
binds the entry, the share, the one resource and the method; :func:`check_token`
checks all of it with constant-time comparisons and no leeway.

Validation failures raise :class:`SharingError`, whose ``key`` is a translation key
(``exceptions`` in strings.json) and whose ``placeholders`` fill its message:

========================  ===============================================
``invalid_recipient``     ``recipient``, ``max`` (maximum name length)
``reserved_recipient``    ``recipient``
``duplicate_recipient``   ``recipient``
``too_many_recipients``   ``max``
``invalid_rule``          ``recipient``, ``error``
``unknown_recipient``     ``recipient``
``camera_not_allowed``    ``recipient``
``clips_not_allowed``     ``recipient``
``snapshots_not_allowed`` ``recipient``
``expiry_too_long``       ``recipient``, ``max`` (hours)
``remote_not_allowed``    ``recipient``
``too_many_views``        ``recipient``, ``max``
``no_clips``              (none)
``too_many_clips``        ``max``
========================  ===============================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import hashlib
import hmac
import re
import secrets
from typing import Any, Final

import jwt

# --- limits -------------------------------------------------------------------------

MAX_EXPIRY: Final = timedelta(days=7)
DEFAULT_EXPIRY: Final = timedelta(hours=24)
NOTIFICATION_MAX_EXPIRY: Final = timedelta(minutes=15)
MAX_RECIPIENTS: Final = 32
MAX_NAME_LENGTH: Final = 32
MAX_CLIPS_PER_SHARE: Final = 20
MAX_VIEWS: Final = 1000
MAX_TOKEN_LENGTH: Final = 2048

CONF_RECIPIENTS: Final = "recipients"
NOTIFICATION_RECIPIENT: Final = "notification"
SNAPSHOT_RESOURCE: Final = "snapshot.jpg"
CLIP_RESOURCE_SUFFIX: Final = ".mp4"
# The recipient's page of a share (share_page.py): a resource no file URL can name
# (a path segment is never empty), so a page's token opens the page only and a
# file's token never opens the page.
PAGE_RESOURCE: Final = ""

SHARE_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{22}$")
RECIPIENT_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{22}$")
_NAME_RE: Final = re.compile(r"^[^\x00-\x1f\x7f]+$")
_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_QUERY_RE: Final = re.compile(r"^token=([A-Za-z0-9_.-]+)$")

TOKEN_ISSUER: Final = "peephole"  # noqa: S105 - a claim, not a secret
TOKEN_METHOD: Final = "GET"  # noqa: S105 - a claim, not a secret
TOKEN_ALGORITHMS: Final = ["HS256"]
_KEY_CONTEXT: Final = b"peephole share link v1"


class SharingError(ValueError):
    """A rule or a share request is invalid (``key`` is a translation key)."""

    key: str
    placeholders: dict[str, str]

    def __init__(self, key: str, placeholders: Mapping[str, str] | None = None) -> None:
        """Create the error from a translation key and its placeholders."""
        self.key = key
        self.placeholders = dict(placeholders or {})
        detail = ", ".join(f"{k}={v}" for k, v in sorted(self.placeholders.items()))
        super().__init__(f"{key} ({detail})" if detail else key)


class ShareKind(StrEnum):
    """What a share gives access to."""

    CLIPS = "clips"
    SNAPSHOT = "snapshot"


# --- recipients' rules -----------------------------------------------------------------


def fold(name: str) -> str:
    """Return the form recipient names are compared in."""
    return name.strip().casefold()


def new_recipient_id() -> str:
    """Return a new recipient identity (128 random bits; never reused)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientRule:
    """What the owner allows one recipient.

    ``id`` is the recipient's identity: shares are bound to it, not to the name,
    so a renamed recipient keeps its links and a new recipient that happens to
    have an old name gets none of them. A rule without one (None) shares nothing.
    ``cameras`` are the config entry ids whose clips or snapshots may be shared
    with the recipient; ``max_views`` None means no view limit.
    """

    name: str
    id: str | None = None
    cameras: frozenset[str]
    clips: bool = True
    snapshots: bool = False
    max_expiry: timedelta = DEFAULT_EXPIRY
    remote: bool = False
    max_views: int | None = None

    def allows_kind(self, kind: ShareKind) -> bool:
        """Return True if the rule allows shares of this kind."""
        return self.clips if kind is ShareKind.CLIPS else self.snapshots


def notification_rule(entry_id: str) -> RecipientRule:
    """Return the built-in rule of notification snapshots (local, 15 min, one camera)."""
    return RecipientRule(
        name=NOTIFICATION_RECIPIENT,
        cameras=frozenset({entry_id}),
        clips=False,
        snapshots=True,
        max_expiry=NOTIFICATION_MAX_EXPIRY,
        remote=False,
    )


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise SharingError("invalid_rule", {"recipient": name, "error": "boolean"})
    return value


def rule_from_storage(data: Mapping[str, Any], owner_entry_id: str) -> RecipientRule:
    """Parse and validate one stored rule (``cameras`` defaults to the owner)."""
    raw_name = data.get("name")
    if (
        not isinstance(raw_name, str)
        or not (name := raw_name.strip())
        or len(name) > MAX_NAME_LENGTH
        or not _NAME_RE.fullmatch(name)
    ):
        raise SharingError(
            "invalid_recipient",
            {"recipient": str(raw_name), "max": str(MAX_NAME_LENGTH)},
        )
    if fold(name) == NOTIFICATION_RECIPIENT:
        raise SharingError("reserved_recipient", {"recipient": name})
    recipient_id = data.get("id")
    if recipient_id is not None and (
        not isinstance(recipient_id, str) or not RECIPIENT_ID_RE.fullmatch(recipient_id)
    ):
        raise SharingError("invalid_rule", {"recipient": name, "error": "id"})
    cameras = data.get("cameras") or [owner_entry_id]
    if not isinstance(cameras, list) or not all(
        isinstance(camera, str) and camera for camera in cameras
    ):
        raise SharingError("invalid_rule", {"recipient": name, "error": "cameras"})
    hours = data.get("max_expiry_hours", DEFAULT_EXPIRY.total_seconds() / 3600)
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise SharingError("invalid_rule", {"recipient": name, "error": "expiry"})
    max_expiry = timedelta(hours=hours)
    if not timedelta(0) < max_expiry <= MAX_EXPIRY:
        raise SharingError(
            "expiry_too_long", {"recipient": name, "max": _hours(MAX_EXPIRY)}
        )
    max_views = data.get("max_views")
    if max_views is not None and (
        isinstance(max_views, bool)
        or not isinstance(max_views, int)
        or not 1 <= max_views <= MAX_VIEWS
    ):
        raise SharingError("too_many_views", {"recipient": name, "max": str(MAX_VIEWS)})
    rule = RecipientRule(
        name=name,
        id=recipient_id,
        cameras=frozenset(cameras),
        clips=_bool(data.get("clips", True), name),
        snapshots=_bool(data.get("snapshots", False), name),
        max_expiry=max_expiry,
        remote=_bool(data.get("remote", False), name),
        max_views=max_views,
    )
    if not rule.clips and not rule.snapshots:
        raise SharingError("invalid_rule", {"recipient": name, "error": "nothing"})
    return rule


def rule_to_storage(rule: RecipientRule) -> dict[str, Any]:
    """Return a rule as stored in the entry's options."""
    return {
        "id": rule.id,
        "name": rule.name,
        "cameras": sorted(rule.cameras),
        "clips": rule.clips,
        "snapshots": rule.snapshots,
        "max_expiry_hours": rule.max_expiry.total_seconds() / 3600,
        "remote": rule.remote,
        "max_views": rule.max_views,
    }


def validate_rules(stored: Sequence[Mapping[str, Any]], owner: str) -> None:
    """Raise SharingError unless every rule is valid and the names are unique."""
    if len(stored) > MAX_RECIPIENTS:
        raise SharingError("too_many_recipients", {"max": str(MAX_RECIPIENTS)})
    seen: set[str] = set()
    for data in stored:
        rule = rule_from_storage(data, owner)
        if fold(rule.name) in seen:
            raise SharingError("duplicate_recipient", {"recipient": rule.name})
        seen.add(fold(rule.name))


def with_recipient_ids(stored: Any) -> Any:
    """Return stored rules with an identity for each rule that has none.

    For the entry migration: a rule without a valid id gets a new one; every
    other value is returned as it is.
    """
    if not isinstance(stored, list):
        return stored
    return [
        {**data, "id": new_recipient_id()}
        if isinstance(data, Mapping)
        and not (
            isinstance(data.get("id"), str) and RECIPIENT_ID_RE.fullmatch(data["id"])
        )
        else data
        for data in stored
    ]


def rules_from_options(stored: Any, owner_entry_id: str) -> dict[str, RecipientRule]:
    """Return the valid rules of an entry's options, by recipient id (fail closed).

    An invalid rule, or one without an id, is left out (nothing can be shared
    under it); a name or an id given twice is left out entirely, since which of
    the two the owner meant is unknown.
    """
    if not isinstance(stored, list):
        return {}
    parsed: list[RecipientRule] = []
    for data in stored[:MAX_RECIPIENTS]:
        if not isinstance(data, Mapping):
            continue
        try:
            rule = rule_from_storage(data, owner_entry_id)
        except SharingError:
            continue
        if rule.id is not None:
            parsed.append(rule)
    names = Counter(fold(rule.name) for rule in parsed)
    ids = Counter(rule.id for rule in parsed)
    return {
        rule.id: rule
        for rule in parsed
        if rule.id is not None and names[fold(rule.name)] == 1 and ids[rule.id] == 1
    }


def rule_named(rules: Mapping[str, RecipientRule], name: str) -> RecipientRule | None:
    """Return the rule of the recipient called ``name`` (compared folded), or None."""
    return next((r for r in rules.values() if fold(r.name) == fold(name)), None)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}"


# --- shares ----------------------------------------------------------------------------


def new_share_id() -> str:
    """Return a new, unguessable share id (128 bits)."""
    return secrets.token_urlsafe(16)


def clip_resource(clip_id: str) -> str:
    """Return the resource name of a clip in a share's URL."""
    return f"{clip_id}{CLIP_RESOURCE_SUFFIX}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Share:
    """One share: for one recipient, some resources of one entry, until ``expires``.

    ``recipient_id`` is the identity of the recipient's rule (None for built-in
    shares, and for shares stored before recipients had identities until they are
    bound, see ``share_access.bind_legacy``); ``recipient`` is its name, for people.
    ``ended`` is when a rule change ended the share (``ended_reason`` says how:
    ``no_rule`` or ``rule``); what a rule change takes is never given back.
    """

    id: str
    entry_id: str
    recipient: str
    recipient_id: str | None = None
    kind: ShareKind
    resources: tuple[str, ...]
    created: datetime
    expires: datetime
    remote: bool = False
    max_views: int | None = None
    views: int = 0
    revoked: datetime | None = None
    ended: datetime | None = None
    ended_reason: str | None = None
    builtin: bool = False
    created_by: str | None = None

    @property
    def end(self) -> datetime:
        """Return when the share ended or ends (expired, revoked or ended)."""
        return min(t for t in (self.expires, self.revoked, self.ended) if t)

    @property
    def clip_ids(self) -> tuple[str, ...]:
        """Return the clip ids of a clip share."""
        if self.kind is not ShareKind.CLIPS:
            return ()
        return tuple(r.removesuffix(CLIP_RESOURCE_SUFFIX) for r in self.resources)

    def as_dict(self) -> dict[str, Any]:
        """Return the share as stored (no token: tokens are never stored)."""
        return {
            "id": self.id,
            "entry_id": self.entry_id,
            "recipient": self.recipient,
            "recipient_id": self.recipient_id,
            "kind": self.kind.value,
            "resources": list(self.resources),
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat(),
            "remote": self.remote,
            "max_views": self.max_views,
            "views": self.views,
            "revoked": self.revoked.isoformat() if self.revoked else None,
            "ended": self.ended.isoformat() if self.ended else None,
            "ended_reason": self.ended_reason,
            "builtin": self.builtin,
            "created_by": self.created_by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Share | None:
        """Return a stored share, or None if the record is not valid."""
        try:
            revoked = data.get("revoked")
            ended = data.get("ended")
            max_views = data.get("max_views")
            recipient_id = data.get("recipient_id")
            share = cls(
                id=str(data["id"]),
                entry_id=str(data["entry_id"]),
                recipient=str(data["recipient"]),
                recipient_id=None if recipient_id is None else str(recipient_id),
                kind=ShareKind(data["kind"]),
                resources=tuple(str(r) for r in data["resources"]),
                created=datetime.fromisoformat(data["created"]),
                expires=datetime.fromisoformat(data["expires"]),
                remote=bool(data.get("remote", False)),
                max_views=None if max_views is None else int(max_views),
                views=int(data.get("views", 0)),
                revoked=datetime.fromisoformat(revoked) if revoked else None,
                ended=datetime.fromisoformat(ended) if ended else None,
                ended_reason=data.get("ended_reason") if ended else None,
                builtin=bool(data.get("builtin", False)),
                created_by=data.get("created_by"),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if (
            not SHARE_ID_RE.fullmatch(share.id)
            or (
                share.recipient_id is not None
                and not RECIPIENT_ID_RE.fullmatch(share.recipient_id)
            )
            or share.created.tzinfo is None
            or share.expires.tzinfo is None
            or not share.resources
        ):
            return None
        return share


def plan_share(
    rule: RecipientRule | None,
    *,
    recipient: str,
    entry_id: str,
    kind: ShareKind,
    clip_ids: Sequence[str] = (),
    expires_in: timedelta | None = None,
    max_views: int | None = None,
    remote: bool = False,
    now: datetime,
    builtin: bool = False,
    created_by: str | None = None,
) -> Share:
    """Return a new share for ``recipient`` within its rule, or raise SharingError.

    The share is bound to the rule's identity (a rule without one shares nothing
    but for the built-in notification rule). The expiry defaults to 24 hours or
    the rule's maximum if that is shorter; the view limit defaults to the rule's.
    """
    if rule is None or (rule.id is None and not builtin):
        raise SharingError("unknown_recipient", {"recipient": recipient})
    name = {"recipient": rule.name}
    if entry_id not in rule.cameras:
        raise SharingError("camera_not_allowed", name)
    if not rule.allows_kind(kind):
        key = (
            "clips_not_allowed" if kind is ShareKind.CLIPS else "snapshots_not_allowed"
        )
        raise SharingError(key, name)
    if expires_in is None:
        expires_in = min(DEFAULT_EXPIRY, rule.max_expiry)
    if not timedelta(0) < expires_in <= rule.max_expiry:
        raise SharingError("expiry_too_long", {**name, "max": _hours(rule.max_expiry)})
    if remote and not rule.remote:
        raise SharingError("remote_not_allowed", name)
    if max_views is None:
        max_views = rule.max_views
    elif rule.max_views is not None and max_views > rule.max_views:
        raise SharingError("too_many_views", {**name, "max": str(rule.max_views)})
    if kind is ShareKind.CLIPS:
        unique = list(dict.fromkeys(clip_ids))
        if not unique:
            raise SharingError("no_clips")
        if len(unique) > MAX_CLIPS_PER_SHARE:
            raise SharingError("too_many_clips", {"max": str(MAX_CLIPS_PER_SHARE)})
        resources = tuple(clip_resource(clip_id) for clip_id in unique)
    else:
        resources = (SNAPSHOT_RESOURCE,)
    now = now.astimezone(UTC).replace(microsecond=0)
    return Share(
        id=new_share_id(),
        entry_id=entry_id,
        recipient=rule.name,
        recipient_id=rule.id,
        kind=kind,
        resources=resources,
        created=now,
        expires=now + expires_in,
        remote=remote,
        max_views=max_views,
        builtin=builtin,
        created_by=created_by,
    )


# --- links -----------------------------------------------------------------------------


def signing_key(secret: str) -> bytes:
    """Derive the link-signing key from Peephole's per-entry secret.

    A key of its own (HMAC-SHA256 of a fixed context) keeps links apart from any
    other use of the secret.
    """
    return hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest()


def audience(entry_id: str) -> str:
    """Return the audience of an entry's links."""
    return f"peephole-share:{entry_id}"


def mint_token(key: bytes, share: Share, resource: str, *, now: datetime) -> str:
    """Return a link token for one resource of a share, valid until it expires."""
    payload = {
        "iss": TOKEN_ISSUER,
        "aud": audience(share.entry_id),
        "sub": share.id,
        "res": resource,
        "m": TOKEN_METHOD,
        "iat": int(now.timestamp()),
        "exp": int(share.expires.timestamp()),
    }
    return jwt.encode(payload, key, algorithm="HS256")


class TokenCheck(StrEnum):
    """What a link's token is for one request."""

    VALID = "valid"
    EXPIRED = "expired"  # ours and for this request, but past its expiry
    INVALID = "invalid"  # not ours, or not for this request


def check_token(
    token: str,
    key: bytes,
    *,
    entry_id: str,
    share_id: str,
    resource: str,
    method: str,
    now: datetime,
) -> TokenCheck:
    """Return whether ``token`` is ours and for exactly this request, and unexpired.

    A token we signed for this request that is past its expiry (no leeway) is
    ``EXPIRED``, not ``INVALID``: whoever holds it was given the link.
    """
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN_RE.fullmatch(token):
        return TokenCheck.INVALID
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=TOKEN_ALGORITHMS,
            audience=audience(entry_id),
            issuer=TOKEN_ISSUER,
            leeway=0,
            options={
                "require": ["exp", "iat", "iss", "aud", "sub", "res", "m"],
                "verify_signature": True,
                "verify_exp": False,  # below, once the rest is known to be ours
                "verify_iat": True,
                "verify_aud": True,
                "verify_iss": True,
            },
        )
    except jwt.PyJWTError:
        return TokenCheck.INVALID
    ok = True
    for claim, expected in (("sub", share_id), ("res", resource), ("m", method)):
        value = claims.get(claim)
        if not isinstance(value, str):
            return TokenCheck.INVALID
        ok &= hmac.compare_digest(value.encode(), expected.encode())
    expires = claims["exp"]
    if not ok or isinstance(expires, bool) or not isinstance(expires, int | float):
        return TokenCheck.INVALID
    return TokenCheck.VALID if now.timestamp() < expires else TokenCheck.EXPIRED


def token_from_query(raw_query: str) -> str | None:
    """Return the token of a query string that is exactly ``token=<jwt>``, or None.

    Any other shape (no token, a duplicated or extra parameter, escapes) is refused.
    """
    match = _QUERY_RE.fullmatch(raw_query)
    if match is None or len(match[1]) > MAX_TOKEN_LENGTH:
        return None
    return match[1]


def fingerprint(token: str) -> str:
    """Return a short hash prefix of a token: what logs and the audit may show."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]
