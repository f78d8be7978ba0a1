"""Clients that guess links: slowed down, and reported the way failed logins are.

Pure Python. A guess is a request for a link that does not exist (an unknown
share, a token that is not the share's, a malformed request). :class:`GuessGuard`
counts them per client and minute: a client that made ``guesses`` of them this
minute is refused before its request is even looked up, whatever it asks for,
until the minute is over. Of its guesses, at most ``reports`` per minute (and at
most ``total_reports`` per minute from every client together) are to be reported
to Home Assistant's failed-login machinery (``ip_ban``), which looks the client's
name up, logs a warning and shows a notification each time.

IPv6 clients count per /64 network (what one subscriber is given); memory is
bounded by ``max_clients`` (the clients seen longest ago are forgotten first).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
import ipaddress
from typing import Final

GUESSES_PER_MINUTE: Final = 30
REPORTS_PER_MINUTE: Final = 5
TOTAL_REPORTS_PER_MINUTE: Final = 60
MAX_CLIENTS: Final = 4096
_IPV6_PREFIX: Final = 64


def client_key(client: str | None) -> str:
    """Return what a client is counted as: its address, or its /64 for IPv6."""
    if not client:
        return ""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, _IPV6_PREFIX), strict=False))
    return str(address)


@dataclass(slots=True)
class _Minute:
    """One client's guesses and reports in one minute."""

    minute: datetime
    guesses: int = 0
    reports: int = 0


class GuessGuard:
    """Per-client guess counts for the current minute (bounded)."""

    def __init__(
        self,
        *,
        guesses: int = GUESSES_PER_MINUTE,
        reports: int = REPORTS_PER_MINUTE,
        total_reports: int = TOTAL_REPORTS_PER_MINUTE,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        """Create a guard with its limits."""
        self._guesses = guesses
        self._reports = reports
        self._total_reports = total_reports
        self._max_clients = max_clients
        self._clients: OrderedDict[str, _Minute] = OrderedDict()
        self._total: _Minute | None = None  # every client's reports

    def __len__(self) -> int:
        """Return the number of clients remembered."""
        return len(self._clients)

    def blocked(self, client: str | None, now: datetime) -> bool:
        """Return True if ``client`` guessed too often this minute (refuse unseen)."""
        current = self._clients.get(client_key(client))
        return (
            current is not None
            and current.minute == _minute(now)
            and current.guesses >= self._guesses
        )

    def guess(self, client: str | None, now: datetime) -> bool:
        """Count a guess of ``client``; return True if it is to be reported."""
        minute = _minute(now)
        key = client_key(client)
        current = self._clients.get(key)
        if current is None or current.minute != minute:
            current = self._clients[key] = _Minute(minute)
        self._clients.move_to_end(key)
        while len(self._clients) > self._max_clients:
            self._clients.popitem(last=False)
        current.guesses += 1
        if self._total is None or self._total.minute != minute:
            self._total = _Minute(minute)
        if (
            current.reports >= self._reports
            or self._total.reports >= self._total_reports
        ):
            return False
        current.reports += 1
        self._total.reports += 1
        return True


def _minute(time: datetime) -> datetime:
    return time.replace(second=0, microsecond=0)
