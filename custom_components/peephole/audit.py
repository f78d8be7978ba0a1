"""The audit of share links: who opened which link, when, and who was refused.

Pure Python. Accesses to a real link (one whose token is the share's own) become
:class:`AuditRecord` s kept per share, the allowed ones and the refused ones apart,
each with its own bound: nothing else can push the record of who opened a link out
of the audit, not even a flood of requests for it. Requests for links that do not
exist (an unknown share, a token that is not the share's, a malformed request)
carry no information worth a record each: they are counted per client and minute
(:class:`JunkBucket`) in a bounded table whose oldest minutes go first.
Records never hold a token: at most its short hash prefix.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

# Records kept per share, allowed and refused apart (the newest; counts go on).
MAX_ALLOWED_RECORDS: Final = 200
MAX_REFUSED_RECORDS: Final = 100
# Client-minutes of requests for links that do not exist (the newest).
MAX_JUNK_BUCKETS: Final = 1000
# Client-supplied text is cut to this length before it is stored.
MAX_FIELD_LENGTH: Final = 64


class Outcome(StrEnum):
    """What happened to one request."""

    ALLOWED = "allowed"
    REFUSED = "refused"


def clip_text(value: str | None) -> str:
    """Return ``value`` cut to a storable length, without control characters."""
    text = "".join(ch for ch in (value or "") if ch.isprintable())
    return text[:MAX_FIELD_LENGTH]


def minute_of(time: datetime) -> datetime:
    """Return the minute ``time`` falls in (junk is counted per client and minute)."""
    return time.replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One access to a real share link."""

    time: datetime
    share_id: str
    entry_id: str | None
    recipient: str | None
    resource: str
    method: str
    client: str
    origin: str
    outcome: Outcome
    reason: str
    token: str  # a short hash prefix of the token, never the token

    def as_dict(self) -> dict[str, Any]:
        """Return the record as stored."""
        return {
            "time": self.time.isoformat(),
            "share_id": self.share_id,
            "entry_id": self.entry_id,
            "recipient": self.recipient,
            "resource": self.resource,
            "method": self.method,
            "client": self.client,
            "origin": self.origin,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "token": self.token,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord | None:
        """Return a stored record, or None if it is not valid."""
        try:
            record = cls(
                time=datetime.fromisoformat(data["time"]),
                share_id=str(data["share_id"]),
                entry_id=data.get("entry_id"),
                recipient=data.get("recipient"),
                resource=str(data["resource"]),
                method=str(data["method"]),
                client=str(data["client"]),
                origin=str(data["origin"]),
                outcome=Outcome(data["outcome"]),
                reason=str(data.get("reason", "")),
                token=str(data.get("token", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return record if record.time.tzinfo is not None else None


@dataclass(slots=True)
class ShareAudit:
    """The audit of one share: its newest allowed and refused accesses, and counts.

    ``bad_tokens`` counts requests that named the share with a token that is not
    its own (they are junk, counted per client in the junk table too).
    """

    allowed: deque[AuditRecord] = field(
        default_factory=lambda: deque(maxlen=MAX_ALLOWED_RECORDS)
    )
    refused: deque[AuditRecord] = field(
        default_factory=lambda: deque(maxlen=MAX_REFUSED_RECORDS)
    )
    allowed_total: int = 0
    refused_total: int = 0
    bad_tokens: int = 0
    last_bad_token: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the share's audit as stored (records oldest first)."""
        return {
            "allowed": [record.as_dict() for record in self.allowed],
            "refused": [record.as_dict() for record in self.refused],
            "allowed_total": self.allowed_total,
            "refused_total": self.refused_total,
            "bad_tokens": self.bad_tokens,
            "last_bad_token": (
                self.last_bad_token.isoformat() if self.last_bad_token else None
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShareAudit:
        """Return a stored share audit, skipping what is not valid."""
        audit = cls()
        for key, records in (("allowed", audit.allowed), ("refused", audit.refused)):
            stored = data.get(key)
            records.extend(_records(stored if isinstance(stored, list) else []))
        audit.allowed_total = max(_count(data.get("allowed_total")), len(audit.allowed))
        audit.refused_total = max(_count(data.get("refused_total")), len(audit.refused))
        audit.bad_tokens = _count(data.get("bad_tokens"))
        audit.last_bad_token = _time(data.get("last_bad_token"))
        return audit


@dataclass(slots=True)
class JunkBucket:
    """Requests from one client in one minute for links that do not exist."""

    client: str
    minute: datetime
    count: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the bucket as stored."""
        return {
            "client": self.client,
            "minute": self.minute.isoformat(),
            "count": self.count,
            "reasons": dict(self.reasons),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JunkBucket | None:
        """Return a stored bucket, or None if it is not valid."""
        minute = _time(data.get("minute"))
        reasons = data.get("reasons")
        if minute is None or not isinstance(reasons, Mapping):
            return None
        return cls(
            client=clip_text(str(data.get("client", ""))),
            minute=minute_of(minute),
            count=_count(data.get("count")),
            reasons={clip_text(str(k)): _count(v) for k, v in reasons.items()},
        )


class AuditLog:
    """Per-share audits of real links and the junk table, all bounded."""

    def __init__(self, max_junk_buckets: int = MAX_JUNK_BUCKETS) -> None:
        """Create an empty log."""
        self.shares: dict[str, ShareAudit] = {}
        self._junk: OrderedDict[tuple[str, datetime], JunkBucket] = OrderedDict()
        self._max_junk_buckets = max_junk_buckets
        # Requests counted in buckets dropped to make room.
        self.junk_dropped = 0

    # --- real links -----------------------------------------------------------------

    def record(self, record: AuditRecord) -> None:
        """Add an access to a real link to its share's audit."""
        audit = self.shares.setdefault(record.share_id, ShareAudit())
        if record.outcome is Outcome.ALLOWED:
            audit.allowed.append(record)
            audit.allowed_total += 1
        else:
            audit.refused.append(record)
            audit.refused_total += 1

    def remove_last(self, record: AuditRecord) -> None:
        """Take back the newest record of its share if it is ``record`` (not written).

        Only ever called before anything else is recorded for the share (under the
        registry's lock), so that no older record was pushed out by it.
        """
        audit = self.shares.get(record.share_id)
        if audit is None:
            return
        records = audit.allowed if record.outcome is Outcome.ALLOWED else audit.refused
        if records and records[-1] is record:
            records.pop()
            if record.outcome is Outcome.ALLOWED:
                audit.allowed_total -= 1
            else:
                audit.refused_total -= 1

    def for_share(self, share_id: str) -> ShareAudit:
        """Return the audit of one share (empty if nothing was recorded)."""
        return self.shares.get(share_id) or ShareAudit()

    def count_bad_token(self, share_id: str, time: datetime) -> None:
        """Count a request that named a real share with a token that is not its own."""
        audit = self.shares.setdefault(share_id, ShareAudit())
        audit.bad_tokens += 1
        audit.last_bad_token = time

    def forget(self, share_ids: Iterable[str]) -> None:
        """Drop the audit of shares that are forgotten (pruned)."""
        for share_id in share_ids:
            self.shares.pop(share_id, None)

    @property
    def records(self) -> list[AuditRecord]:
        """Return every kept record of every share, oldest first."""
        every = [
            record
            for audit in self.shares.values()
            for record in (*audit.allowed, *audit.refused)
        ]
        return sorted(every, key=lambda record: record.time)

    # --- links that do not exist ------------------------------------------------------

    def count_junk(self, client: str | None, reason: str, time: datetime) -> JunkBucket:
        """Count a request for a link that does not exist; return its bucket."""
        key = (clip_text(client), minute_of(time))
        bucket = self._junk.get(key)
        if bucket is None:
            bucket = self._junk[key] = JunkBucket(client=key[0], minute=key[1])
            self._trim()
        bucket.count += 1
        bucket.reasons[reason] = bucket.reasons.get(reason, 0) + 1
        return bucket

    def _trim(self) -> None:
        """Drop the oldest buckets beyond the bound (their counts are kept in sum)."""
        while len(self._junk) > self._max_junk_buckets:
            # Buckets are made in time order: the first one is the oldest.
            _, oldest = self._junk.popitem(last=False)
            self.junk_dropped += oldest.count

    @property
    def junk(self) -> list[JunkBucket]:
        """Return the junk buckets, newest minute first."""
        return sorted(self._junk.values(), key=lambda b: b.minute, reverse=True)

    # --- storage ---------------------------------------------------------------------

    def to_storage(self) -> dict[str, Any]:
        """Return the log as stored."""
        return {
            "shares": {
                share_id: audit.as_dict() for share_id, audit in self.shares.items()
            },
            "junk": [bucket.as_dict() for bucket in self._junk.values()],
            "junk_dropped": self.junk_dropped,
        }

    @classmethod
    def from_storage(
        cls, stored: Any, max_junk_buckets: int = MAX_JUNK_BUCKETS
    ) -> AuditLog:
        """Return the log from the store, skipping what is not valid.

        The single list of records of earlier versions is read too: records of a
        real share go to its audit, the others are counted as junk.
        """
        log = cls(max_junk_buckets)
        if isinstance(stored, list):
            for record in _records(stored):
                if record.entry_id is None:
                    log.count_junk(record.client, record.reason, record.time)
                else:
                    log.record(record)
            return log
        if not isinstance(stored, Mapping):
            return log
        shares = stored.get("shares")
        if isinstance(shares, Mapping):
            log.shares = {
                str(share_id): ShareAudit.from_dict(data)
                for share_id, data in shares.items()
                if isinstance(data, Mapping)
            }
        log.junk_dropped = _count(stored.get("junk_dropped"))
        junk = stored.get("junk")
        buckets = (
            JunkBucket.from_dict(item)
            for item in (junk if isinstance(junk, list) else [])
            if isinstance(item, Mapping)
        )
        for bucket in sorted(
            (b for b in buckets if b is not None), key=lambda b: b.minute
        ):
            log._junk[(bucket.client, bucket.minute)] = bucket
            log._trim()
        return log


def _records(stored: list[Any]) -> list[AuditRecord]:
    records = (
        AuditRecord.from_dict(item) for item in stored if isinstance(item, Mapping)
    )
    return [record for record in records if record is not None]


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return int(value)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        time = datetime.fromisoformat(value)
    except ValueError:
        return None
    return time if time.tzinfo is not None else None
