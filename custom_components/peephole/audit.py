"""The audit log of share accesses: who asked for what, when, and the outcome.

Pure Python. Every access to a share link, allowed or refused, becomes one
:class:`AuditRecord`. The log keeps the newest ``max_records`` (older ones are
dropped first) so that a flood of refused requests cannot fill the disk. Records
never hold a token: at most its short hash prefix.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

MAX_RECORDS: Final = 2000
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


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One access to a share link."""

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


class AuditLog:
    """The newest ``max_records`` audit records, oldest first."""

    def __init__(
        self, records: Iterable[AuditRecord] = (), max_records: int = MAX_RECORDS
    ) -> None:
        """Create the log (keeping only the newest ``max_records``)."""
        self._records: deque[AuditRecord] = deque(records, maxlen=max_records)

    def __len__(self) -> int:
        """Return the number of records."""
        return len(self._records)

    @property
    def records(self) -> list[AuditRecord]:
        """Return the records, oldest first."""
        return list(self._records)

    def append(self, record: AuditRecord) -> None:
        """Add a record (dropping the oldest one when full)."""
        self._records.append(record)

    def remove_last(self, record: AuditRecord) -> None:
        """Take back the newest record if it is ``record`` (its write failed)."""
        if self._records and self._records[-1] is record:
            self._records.pop()

    def for_share(self, share_id: str) -> list[AuditRecord]:
        """Return the records of one share, oldest first."""
        return [r for r in self._records if r.share_id == share_id]

    def to_storage(self) -> list[dict[str, Any]]:
        """Return the records as stored."""
        return [record.as_dict() for record in self._records]

    @classmethod
    def from_storage(cls, stored: Any, max_records: int = MAX_RECORDS) -> AuditLog:
        """Return the log from the store, skipping invalid records."""
        if not isinstance(stored, list):
            return cls(max_records=max_records)
        records = (
            AuditRecord.from_dict(item) for item in stored if isinstance(item, Mapping)
        )
        return cls((r for r in records if r is not None), max_records=max_records)
