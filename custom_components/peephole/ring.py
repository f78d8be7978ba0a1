"""Turn state changes of a source entity into doorbell presses (HA-free logic)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# States that carry no information about the button.
_UNAVAILABLE = "unavailable"
_NO_DATA = frozenset({_UNAVAILABLE, "unknown", ""})

# An event entity's state is the time of its last event. One that is older than this
# when we see it is a restored state (after a restart or reconnect), not a new press.
MAX_EVENT_AGE = timedelta(seconds=30)

RING = "ring"


@dataclass(slots=True)
class RingDetector:
    """Decide whether a state change of the ring source is a new press.

    * ``binary_sensor`` sources ring on each ``off`` → ``on`` edge. A sensor that comes
      back from ``unavailable`` already ``on`` is not a press: the edge was not seen, and
      a reconnecting device must not ring the house.
    * ``event`` sources ring on each new, recent event timestamp whose ``event_type`` is
      one of ``event_types``. Without a choice, a source that offers a ``ring`` type
      rings on ``ring`` only, any other source on every type. Timestamps already seen
      do not ring, nor does the timestamp an entity shows as it appears or comes back
      from ``unavailable`` (a restart, a reload or a device reconnecting restores its
      last event, however recent): that press was announced, or missed, before.
    """

    domain: str
    event_types: Collection[str] = ()
    _last_event: str | None = field(default=None, init=False)

    def prime(self, state: str | None) -> None:
        """Remember the current state without ringing (at start-up)."""
        if self.domain == "event" and state is not None and state not in _NO_DATA:
            self._last_event = state

    def is_press(  # noqa: PLR0911 - one early exit per rule
        self,
        old_state: str | None,
        new_state: str | None,
        *,
        event_type: str | None = None,
        source_event_types: Collection[str] = (),
        now: datetime,
    ) -> bool:
        """Return True when the change from ``old_state`` to ``new_state`` is a press."""
        if new_state is None or new_state in _NO_DATA:
            return False
        if self.domain == "binary_sensor":
            return old_state == "off" and new_state == "on"
        if self.domain != "event" or new_state == self._last_event:
            return False
        self._last_event = new_state
        if old_state is None or old_state == _UNAVAILABLE:
            # The entity appears (Home Assistant starts, the integration loads) or
            # comes back (the device reconnects) with its restored last event: the
            # press it shows was seen, or missed, before. Only a new event after it
            # rings (a press right after a reconnect still does).
            return False
        try:
            fired = datetime.fromisoformat(new_state)
        except ValueError:
            return False
        if fired.tzinfo is None or abs(now - fired) > MAX_EVENT_AGE:
            return False
        if self.event_types:
            return event_type in self.event_types
        if RING in source_event_types:
            return event_type == RING
        return True
