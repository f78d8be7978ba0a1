"""Where a doorbell's pictures come from, and when the masked feed runs.

The Home Assistant side of :mod:`.pipeline`. A doorbell's source is either the
source camera's **stream** (its ``stream_source()``: RTSP, HLS, MJPEG over HTTP...)
decoded by Peephole at the camera's own frame rate, or its **stills** (one
``camera.async_get_image`` after the other), chosen automatically (a camera that
offers a stream is streamed) unless the owner chose in the options.

The feed runs while someone needs it (recording's pre-roll, a live view, a masked
stream) and nothing stops it: privacy mode stops it at once (the stream's
connection is closed), and so does the source camera becoming unavailable.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from homeassistant.components.camera import async_get_stream_source
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later

from .const import LOGGER, SOURCE_MODE_STILLS, SOURCE_MODE_STREAM
from .packets import PacketRing
from .pipeline import FeedStats, MaskedFeed, SourceMode, redact_url

if TYPE_CHECKING:
    from .doorbell import Peephole, PeepholeConfigEntry

# How long the feed keeps running after the last live view request.
LIVE_LINGER: Final = 30.0
STREAM_SOURCE_TIMEOUT: Final = 10.0
# How often the dropped-frames count is published while the feed runs.
STATS_INTERVAL: Final = 10.0

DEMAND_RECORDING: Final = "recording"
DEMAND_LIVE: Final = "live"
DEMAND_STREAM: Final = "stream"


class DoorbellSource:
    """Runs one doorbell's masked feed when it is needed and allowed."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PeepholeConfigEntry,
        peephole: Peephole,
        *,
        camera_entity_id: str,
        mode: str,
        fps: float,
        ring: PacketRing | None,
    ) -> None:
        """Prepare (nothing runs before someone asks for frames)."""
        self.hass = hass
        self.entry = entry
        self.peephole = peephole
        self.camera_entity_id = camera_entity_id
        self.option = mode
        self.fps = fps
        self.stats = FeedStats()
        self.feed = MaskedFeed(
            hass.loop, f"peephole {entry.entry_id}", self.stats, ring
        )
        self.mode: SourceMode | None = None  # what runs (or ran last)
        self._demand: Counter[str] = Counter()
        self._linger: CALLBACK_TYPE | None = None
        self._wanted = False
        self._task: asyncio.Task[None] | None = None
        self._guess: asyncio.Task[None] | None = None
        self._stats_timer: CALLBACK_TYPE | None = None
        self._dropped_seen = 0
        self._closed = False

    # --- demand ------------------------------------------------------------------

    @callback
    def async_acquire(self, reason: str) -> CALLBACK_TYPE:
        """Need the feed (for ``reason``) until the returned function is called."""
        self._demand[reason] += 1
        self.async_update()
        released = False

        @callback
        def _release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._demand[reason] -= 1
            if self._demand[reason] <= 0:
                del self._demand[reason]
            self.async_update()

        return _release

    @callback
    def async_touch_live(self) -> None:
        """Keep the feed running ``LIVE_LINGER`` s more (a live view asked for a picture)."""
        if self._linger is not None:
            self._linger()
        else:
            self._demand[DEMAND_LIVE] += 1
            self.async_update()

        @callback
        def _expire(_now: object) -> None:
            self._linger = None
            self._demand[DEMAND_LIVE] -= 1
            if self._demand[DEMAND_LIVE] <= 0:
                del self._demand[DEMAND_LIVE]
            self.async_update()

        self._linger = async_call_later(self.hass, LIVE_LINGER, _expire)

    @property
    def demanded(self) -> bool:
        """Whether anyone needs the feed now."""
        return bool(+self._demand)

    # --- running -----------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Find out the mode now (the live view needs it before any feed runs)."""
        self._async_guess_mode()

    @callback
    def _async_guess_mode(self) -> None:
        """Guess the mode in the background, once the source camera is there."""
        if (
            self.mode is not None
            or not self.camera_available
            or (self._guess is not None and not self._guess.done())
        ):
            return

        async def _guess() -> None:
            mode, _ = await self.async_resolve_mode()
            if self.mode is None:
                self.mode = mode
                self.stats.mode = mode

        self._guess = self.entry.async_create_background_task(
            self.hass, _guess(), f"peephole mode {self.entry.entry_id}"
        )

    @property
    def camera_available(self) -> bool:
        """Whether the source camera exists and is available."""
        state = self.hass.states.get(self.camera_entity_id)
        return state is not None and state.state != STATE_UNAVAILABLE

    @property
    def allowed(self) -> bool:
        """Whether the feed may run: not in privacy mode, the camera is there."""
        return (
            not self._closed
            and not self.peephole.privacy_mode
            and self.camera_available
        )

    @callback
    def async_update(self) -> None:
        """Start or stop the feed to match demand, privacy mode and the camera."""
        self._async_guess_mode()
        wanted = self.demanded and self.allowed
        if not wanted and self.feed.running:
            # Privacy mode: no frame may be taken from here on, so the source
            # stops now (its threads end in the background).
            self.feed.stop_now()
        self._wanted = wanted
        if wanted == self.feed.running and not self.feed.stopping:
            return
        if self._task is None or self._task.done():
            self._task = self.entry.async_create_background_task(
                self.hass,
                self._async_reconcile(),
                f"peephole source {self.entry.entry_id}",
            )

    async def _async_reconcile(self) -> None:
        """Bring the feed to the wanted state (one change at a time)."""
        while True:
            if self._wanted and not self.feed.running:
                if self.feed.stopping:
                    await self.feed.async_stop()  # the last run's threads end first
                await self._async_start()
                if not self.feed.running:
                    return
            elif not self._wanted and (self.feed.running or self.feed.stopping):
                await self.feed.async_stop()
                self._stop_stats()
            else:
                return

    async def async_resolve_mode(self) -> tuple[SourceMode, str | None]:
        """Return the mode to run in, and the stream's URL for a stream."""
        if self.option == SOURCE_MODE_STILLS:
            return SourceMode.STILLS, None
        url: str | None = None
        try:
            async with asyncio.timeout(STREAM_SOURCE_TIMEOUT):
                url = await async_get_stream_source(self.hass, self.camera_entity_id)
        except (HomeAssistantError, TimeoutError) as err:
            LOGGER.debug(
                "%s: no stream source from %s: %s",
                self.entry.title,
                self.camera_entity_id,
                err,
            )
        if url:
            return SourceMode.STREAM, url
        if self.option == SOURCE_MODE_STREAM:
            LOGGER.warning(
                "%s: %s offers no stream; using its stills",
                self.entry.title,
                self.camera_entity_id,
            )
        return SourceMode.STILLS, None

    async def _async_start(self) -> None:
        mode, url = await self.async_resolve_mode()
        if not (self.demanded and self.allowed):
            return  # privacy mode came on meanwhile
        self.mode = mode
        if mode is SourceMode.STREAM and url is not None:
            LOGGER.debug("%s: streaming %s", self.entry.title, redact_url(url))
            self.feed.start_stream(url, self.peephole.plane_state)
        else:
            self.feed.start_stills(self._async_still, self.fps)
        self._start_stats()
        self.peephole.async_update_listeners()

    async def _async_still(self) -> tuple[bytes, int] | None:
        """Take one masked still of this source's camera for the stills feed."""
        return await self.peephole.async_feed_frame(self.camera_entity_id)

    def _start_stats(self) -> None:
        if self._stats_timer is None:
            self._stats_timer = _every(self.hass, STATS_INTERVAL, self._publish_stats)

    def _stop_stats(self) -> None:
        if self._stats_timer is not None:
            self._stats_timer()
            self._stats_timer = None
        self._publish_stats()

    @callback
    def _publish_stats(self) -> None:
        dropped = sum(self.stats.dropped.values())
        if dropped != self._dropped_seen:
            self._dropped_seen = dropped
            self.peephole.async_update_listeners()

    @callback
    def async_stop_for_good(self) -> None:
        """Stop taking pictures now and never again (Home Assistant stops)."""
        self._closed = True
        self._wanted = False
        self.feed.stop_now()

    async def async_close(self) -> None:
        """Stop for good (the entry unloads)."""
        self._closed = True
        if self._linger is not None:
            self._linger()
            self._linger = None
        self._demand.clear()
        self._wanted = False
        await self.feed.async_stop()
        self._stop_stats()


def _every(
    hass: HomeAssistant, seconds: float, action: Callable[[], None]
) -> CALLBACK_TYPE:
    """Call ``action`` every ``seconds`` until the returned function is called."""
    cancel: CALLBACK_TYPE | None = None

    @callback
    def _tick(_now: object) -> None:
        nonlocal cancel
        action()
        cancel = async_call_later(hass, seconds, _tick)

    cancel = async_call_later(hass, seconds, _tick)

    @callback
    def _stop() -> None:
        if cancel is not None:
            cancel()

    return _stop
