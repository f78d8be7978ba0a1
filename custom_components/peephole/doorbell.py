"""The runtime object of one Peephole entry: sources, privacy mode, masked frames."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
import io
import time
from typing import TYPE_CHECKING, Any

from homeassistant.components.camera import async_get_image
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CAMERA_ENTITY,
    CONF_FRAME_INTERVAL,
    CONF_MOTION_ENTITY,
    CONF_RING_ENTITY,
    CONF_RING_EVENT_TYPES,
    CONF_ZONES,
    DEFAULT_FRAME_INTERVAL,
    DOMAIN,
    LOGGER,
    MASK_TIMEOUT,
    SOURCE_IMAGE_TIMEOUT,
)
from .masked_stream import StreamCredential
from .masking import REASON_TIMEOUT, FrameMasker, MaskError
from .pipeline import SourceMode
from .ring import RingDetector
from .storage import PeepholeStore
from .video import jpeg_of
from .yuv_masking import PlaneMasker
from .zones import Zone, ZoneError, zones_from_storage

if TYPE_CHECKING:
    from .recording import ClipRecorder
    from .source import DoorbellSource

type PeepholeConfigEntry = ConfigEntry[Peephole]

PLACEHOLDER_SIZE = (640, 480)

type _Size = tuple[int | None, int | None]


@dataclass(slots=True)
class _Latest:
    """The newest masked frame, and what it was made with."""

    size: _Size
    generation: int
    at: float  # loop time when it was ready
    data: bytes


@dataclass(slots=True)
class FrameStats:
    """Counts of frames that went through the mask (for the sensor and diagnostics)."""

    masked: int = 0
    dropped: int = 0
    dropped_by_reason: Counter[str] = field(default_factory=Counter)


class Peephole:
    """One doorbell: watches its source entities and serves masked frames."""

    def __init__(self, hass: HomeAssistant, entry: PeepholeConfigEntry) -> None:
        """Initialise from the config entry."""
        self.hass = hass
        self.entry = entry
        self.camera_entity_id: str = entry.data[CONF_CAMERA_ENTITY]
        self.ring_entity_id: str = entry.data[CONF_RING_ENTITY]
        self.motion_entity_id: str | None = entry.data.get(CONF_MOTION_ENTITY)
        # Set by async_setup_entry when recording is enabled.
        self.recorder: ClipRecorder | None = None
        # Set by async_setup_entry: where the pictures come from, and (with a
        # live view camera in the options, e.g. a camera's sub-stream) where the
        # live view's and the masked stream's come from.
        self.source: DoorbellSource | None = None
        self.live_source: DoorbellSource | None = None
        # The masked stream's internal URL credential, and its open readers.
        self.stream_credential = StreamCredential()
        self.stream_connections = 0
        self.zones: tuple[Zone, ...] = ()
        self.masker = FrameMasker(())
        self._generation = 0
        # The stream reader's masks, read from its thread: replaced whole.
        self._plane: tuple[PlaneMasker, int] = (PlaneMasker(()), 0)
        self._latest: _Latest | None = None
        self._fetching: dict[_Size, tuple[int, asyncio.Future[bytes]]] = {}
        self.async_set_zones(entry.options.get(CONF_ZONES, []))
        self._settings = self._settings_of(entry)
        self.stats = FrameStats()
        self.store = PeepholeStore(hass, entry.entry_id)
        self.privacy_mode = False
        # How many times privacy mode came on: a picture fetched across one is
        # dropped even when privacy mode is off again by the time it arrives.
        self.privacy_turned_on = 0
        self._ring = RingDetector(
            domain=self.ring_entity_id.partition(".")[0],
            event_types=tuple(entry.options.get(CONF_RING_EVENT_TYPES, ())),
        )
        self._ring_listeners: list[Callable[[str | None], None]] = []
        self._listeners: list[Callable[[], None]] = []
        self._placeholder: bytes | None = None
        self._last_unavailable_logged = False
        # Frame sharing: requests for the same size share one fetch in flight,
        # and a masked frame younger than ``reuse_for`` seconds is served again
        # instead of asking the source camera (the recorder's feed sets it to its
        # frame period, so the live view rides on the feed). Half the live view's
        # frame interval by default: a viewer never gets its own frame twice.
        # Zones or privacy mode changing bumps the generation: older frames and
        # fetches are never shared after that.
        self.reuse_for: float = (
            entry.options.get(CONF_FRAME_INTERVAL, DEFAULT_FRAME_INTERVAL) / 2
        )

    # --- lifecycle ---------------------------------------------------------------

    @staticmethod
    def _settings_of(entry: PeepholeConfigEntry) -> tuple[object, ...]:
        """Everything of an entry that needs a reload to change.

        Zones are applied live; sharing rules are read at every access.
        """
        options = {
            k: v
            for k, v in entry.options.items()
            if k not in (CONF_ZONES, "recipients")
        }
        return (entry.title, dict(entry.data), options)

    @callback
    def async_apply_entry_update(self) -> bool:
        """Apply a change of the entry's zones live; return False if it needs a reload."""
        if self._settings_of(self.entry) != self._settings:
            return False
        try:
            self.async_set_zones(self.entry.options.get(CONF_ZONES, []))
        except ZoneError:
            return False  # the reload refuses to start with invalid zones
        self.async_update_listeners()
        return True

    @callback
    def async_set_zones(self, stored: list[dict[str, Any]]) -> None:
        """Mask with these zones from now on (raises ZoneError if they are invalid)."""
        zones = zones_from_storage(stored)
        covered = {zone.points for zone in self.zones if zone.enabled}
        stricter = any(zone.enabled and zone.points not in covered for zone in zones)
        self.masker = FrameMasker(zones)
        self.zones = zones
        self._plane = (PlaneMasker(zones), self._generation + (1 if stricter else 0))
        if stricter:
            self._async_forget_frames()
        else:
            # Nothing is masked that was not before (a zone turned off, removed or
            # renamed): frames made before are masked at least as much, so the
            # pre-roll stays; the live view just stops reusing its last frame.
            self._latest = None

    @callback
    def _async_forget_frames(self) -> None:
        """Use no frame made before now (zones or privacy mode changed).

        Neither shared with a viewer, nor in the pre-roll of a clip: a zone drawn
        now covers the clip's first seconds too.
        """
        self._generation += 1
        self._latest = None
        self._plane = (self._plane[0], self._generation)
        for source in (self.source, self.live_source):
            if source is not None:
                source.feed.forget(self._generation)
        if self.recorder is not None:
            self.recorder.async_forget_frames()

    @property
    def frame_generation(self) -> int:
        """Changes whenever frames made before stop being usable."""
        return self._generation

    @property
    def view_source(self) -> DoorbellSource | None:
        """Return the source of the live view and the masked stream."""
        return self.live_source or self.source

    @property
    def dropped_frames(self) -> int:
        """Frames dropped on every path (masking stills, decoding, encoding)."""
        feeds = (self.source, self.live_source)
        return self.stats.dropped + sum(
            sum(feed.stats.dropped.values()) for feed in feeds if feed is not None
        )

    def plane_state(self) -> tuple[PlaneMasker, int]:
        """Return the masks for decoded pictures and their generation (any thread)."""
        return self._plane

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Start watching the source entities; return the function that stops it."""
        ring_state = self.hass.states.get(self.ring_entity_id)
        self._ring.prime(ring_state.state if ring_state else None)
        watched = [self.camera_entity_id, self.ring_entity_id]
        if self.motion_entity_id:
            watched.append(self.motion_entity_id)
        return async_track_state_change_event(
            self.hass, watched, self._async_source_changed
        )

    @callback
    def _async_source_changed(self, event: Event[EventStateChangedData]) -> None:
        """Handle a state change of one of the source entities."""
        entity_id = event.data["entity_id"]
        old, new = event.data["old_state"], event.data["new_state"]
        if entity_id == self.ring_entity_id and self._ring.is_press(
            old.state if old else None,
            new.state if new else None,
            event_type=new.attributes.get("event_type") if new else None,
            source_event_types=new.attributes.get("event_types", ()) if new else (),
            now=dt_util.utcnow(),
        ):
            LOGGER.debug("%s: doorbell pressed (%s)", self.entry.title, entity_id)
            # The clip first, so that the ring carries the id of its clip.
            clip_id = self.recorder.async_trigger("ring") if self.recorder else None
            for ring_listener in list(self._ring_listeners):
                ring_listener(clip_id)
        if entity_id == self.camera_entity_id:
            self._log_camera_availability(new)
        self.async_update_listeners()

    def _log_camera_availability(self, state: State | None) -> None:
        """Log once when the source camera goes away and once when it is back."""
        available = state is not None and state.state != STATE_UNAVAILABLE
        if not available and not self._last_unavailable_logged:
            LOGGER.info("Source camera %s is unavailable", self.camera_entity_id)
            self._last_unavailable_logged = True
        elif available and self._last_unavailable_logged:
            LOGGER.info("Source camera %s is available again", self.camera_entity_id)
            self._last_unavailable_logged = False

    # --- listeners ---------------------------------------------------------------

    @callback
    def async_add_ring_listener(
        self, listener: Callable[[str | None], None]
    ) -> CALLBACK_TYPE:
        """Call ``listener`` once for every doorbell press.

        It gets the id of the clip that records the press (one it started or
        extended), or None when nothing records.
        """
        self._ring_listeners.append(listener)
        return partial(self._ring_listeners.remove, listener)

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` whenever a source, the privacy mode or the stats change."""
        self._listeners.append(listener)
        return partial(self._listeners.remove, listener)

    @callback
    def async_update_listeners(self) -> None:
        """Tell the entities that something changed."""
        for listener in list(self._listeners):
            listener()

    # --- state -------------------------------------------------------------------

    def _source_state(self, entity_id: str | None) -> State | None:
        return self.hass.states.get(entity_id) if entity_id else None

    @property
    def masked_camera_entity_id(self) -> str | None:
        """Return the entity id of this doorbell's masked camera."""
        return er.async_get(self.hass).async_get_entity_id(
            "camera", DOMAIN, f"{self.entry.entry_id}_camera"
        )

    @property
    def camera_available(self) -> bool:
        """Return True when the source camera exists and is available."""
        state = self._source_state(self.camera_entity_id)
        return state is not None and state.state != STATE_UNAVAILABLE

    @property
    def ring_available(self) -> bool:
        """Return True when the ring source exists and is available."""
        state = self._source_state(self.ring_entity_id)
        return state is not None and state.state != STATE_UNAVAILABLE

    @property
    def motion_available(self) -> bool:
        """Return True when the motion source exists and has a state."""
        state = self._source_state(self.motion_entity_id)
        return state is not None and state.state not in (
            STATE_UNAVAILABLE,
            STATE_UNKNOWN,
        )

    @property
    def motion(self) -> bool | None:
        """Return the motion source's state (None when unknown)."""
        if not self.motion_available:
            return None
        state = self._source_state(self.motion_entity_id)
        return state is not None and state.state == STATE_ON

    @callback
    def async_set_privacy_mode(self, enabled: bool) -> None:
        """Turn privacy mode on or off."""
        if enabled != self.privacy_mode:
            self.privacy_mode = enabled
            if enabled:
                self.privacy_turned_on += 1
            self._async_forget_frames()
            LOGGER.debug("%s: privacy mode %s", self.entry.title, enabled)
            self.async_update_listeners()

    def private_since(self, turned_on: int) -> bool:
        """Whether privacy mode is on, or came on since a picture was asked for.

        ``turned_on`` is ``privacy_turned_on`` as it was then; privacy mode may be
        off again, but the picture may have been taken while it was on.
        """
        return self.privacy_mode or self.privacy_turned_on != turned_on

    # --- frames ------------------------------------------------------------------

    async def async_masked_image(
        self,
        width: int | None = None,
        height: int | None = None,
        *,
        fresh: bool = False,
    ) -> bytes:
        """Return a masked JPEG of the source camera, or the privacy placeholder.

        Shares frames (see ``reuse_for``); ``fresh`` asks for a frame fetched
        now (one in flight will do): the recorder's feed uses it.

        Raises HomeAssistantError when no masked frame can be made: the frame is
        dropped and counted, never passed through unmasked.
        """
        if self.privacy_mode:
            return await self.async_placeholder()
        view = self.view_source
        if view is not None and view.mode is SourceMode.STREAM:
            return await self._async_stream_image(view)
        if view is not None and view is not self.source:
            turned_on = self.privacy_turned_on
            data = await self._async_fetch_from(view.camera_entity_id, width, height)
            return await self._async_unless_private(data, turned_on)
        size: _Size = (width, height)
        generation = self._generation
        turned_on = self.privacy_turned_on
        latest = self._latest
        if (
            not fresh
            and latest is not None
            and latest.size == size
            and latest.generation == generation
            and self.hass.loop.time() - latest.at < self.reuse_for
        ):
            return latest.data
        while (fetching := self._fetching.get(size)) is not None and (
            fetching[0] == generation
        ):
            # Another request is fetching this frame: share it. Shielded, so that
            # this request going away does not cancel the other's.
            try:
                data = await asyncio.shield(fetching[1])
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this request was cancelled
                continue  # the one fetching went away: fetch here (or join anew)
            return await self._async_unless_private(data, turned_on)
        # Fetch in this request itself (no task in between: every extra pass of
        # the event loop would add its latency to the live view).
        shared: asyncio.Future[bytes] = self.hass.loop.create_future()
        self._fetching[size] = (generation, shared)
        try:
            data = await self._async_fetch_masked(size, generation)
        except BaseException as err:
            task = asyncio.current_task()
            if isinstance(err, asyncio.CancelledError) or (
                task is not None and task.cancelling()
            ):
                # This request was cancelled (HA's camera turns that into "Unable
                # to get image"): the others fetch again, this one is cancelled.
                shared.cancel()
                raise asyncio.CancelledError from err
            shared.set_exception(err)
            shared.exception()  # retrieved: there may be nobody else waiting
            raise
        else:
            shared.set_result(data)
        finally:
            if self._fetching.get(size, (0, None))[1] is shared:
                del self._fetching[size]
        return await self._async_unless_private(data, turned_on)

    async def _async_stream_image(self, source: DoorbellSource) -> bytes:
        """Return the newest masked picture of a stream as a JPEG.

        The feed keeps running for a while after a live view asks (the next
        request finds a picture at once); a picture younger than ``reuse_for``
        is served again, an older one waits for the next.
        """
        turned_on = self.privacy_turned_on
        source.async_touch_live()
        feed = source.feed
        picture = feed.latest
        if picture is None or time.time() - picture.time >= max(self.reuse_for, 0.1):
            after = picture.seq if picture is not None else -1
            try:
                async with asyncio.timeout(SOURCE_IMAGE_TIMEOUT):
                    picture = await feed.async_next_picture(after)
            except TimeoutError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="source_image_failed",
                    translation_placeholders={"entity_id": source.camera_entity_id},
                ) from err
        if picture.jpeg is None and picture.frame is not None:
            picture.jpeg = await self.hass.async_add_executor_job(
                jpeg_of, picture.frame
            )
        if picture.jpeg is None:  # pragma: no cover - a picture is one or the other
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="frame_dropped",
                translation_placeholders={"reason": "decode"},
            )
        return await self._async_unless_private(picture.jpeg, turned_on)

    async def async_feed_frame(self, camera_entity_id: str) -> tuple[bytes, int] | None:
        """Take one masked still for a feed: ``(JPEG, generation)``, or None.

        From the source camera (shared with the live view), or from the live
        view's own camera. None when it cannot be had (the source failed, the
        frame was dropped, privacy mode or new zones came meanwhile); failures
        are counted.
        """
        generation = self._generation
        turned_on = self.privacy_turned_on
        if self.privacy_mode:
            return None
        try:
            if camera_entity_id == self.camera_entity_id:
                data = await self.async_masked_image(fresh=True)
            else:
                data = await self._async_fetch_from(camera_entity_id)
        except HomeAssistantError:
            return None
        if self.private_since(turned_on) or self._generation != generation:
            return None
        return data, generation

    async def _async_fetch_from(
        self,
        camera_entity_id: str,
        width: int | None = None,
        height: int | None = None,
    ) -> bytes:
        """Fetch one still of a camera and mask it (nothing shared)."""
        try:
            image = await async_get_image(
                self.hass,
                camera_entity_id,
                timeout=SOURCE_IMAGE_TIMEOUT,
                width=width,
                height=height,
            )
        except HomeAssistantError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="source_image_failed",
                translation_placeholders={"entity_id": camera_entity_id},
            ) from err
        return await self.async_mask(image.content)

    async def _async_fetch_masked(self, size: _Size, generation: int) -> bytes:
        """Fetch one source frame and mask it; share it if nothing changed since."""
        data = await self._async_fetch_from(self.camera_entity_id, *size)
        if generation == self._generation and not self.privacy_mode:
            self._latest = _Latest(size, generation, self.hass.loop.time(), data)
        return data

    async def async_mask(self, frame: bytes) -> bytes:
        """Mask one JPEG frame in the executor; count and refuse frames that fail."""
        try:
            async with asyncio.timeout(MASK_TIMEOUT):
                masked = await self.hass.async_add_executor_job(self.masker.mask, frame)
        except (MaskError, TimeoutError) as err:
            reason = err.reason if isinstance(err, MaskError) else REASON_TIMEOUT
            self._count_dropped(reason)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="frame_dropped",
                translation_placeholders={"reason": reason},
            ) from err
        self.stats.masked += 1
        return await self._async_unless_private(masked)

    async def _async_unless_private(
        self, frame: bytes, turned_on: int | None = None
    ) -> bytes:
        """Return ``frame``, or the placeholder if privacy mode came on meanwhile.

        Given ``turned_on`` (``privacy_turned_on`` when the frame was asked for),
        also when it came on and is off again (see ``private_since``).
        """
        if self.privacy_mode if turned_on is None else self.private_since(turned_on):
            return await self.async_placeholder()
        return frame

    def _count_dropped(self, reason: str) -> None:
        self.stats.dropped += 1
        self.stats.dropped_by_reason[reason] += 1
        LOGGER.debug("%s: frame dropped (%s)", self.entry.title, reason)
        self.async_update_listeners()

    async def async_placeholder(self) -> bytes:
        """Return the 'privacy mode' placeholder JPEG (rendered once)."""
        if self._placeholder is None:
            self._placeholder = await self.hass.async_add_executor_job(
                render_placeholder, PLACEHOLDER_SIZE
            )
        return self._placeholder


def render_placeholder(size: tuple[int, int]) -> bytes:
    """Render the privacy-mode placeholder: a dark frame with a closed eye."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 - only when needed

    width, height = size
    image = Image.new("RGB", size, (24, 26, 31))
    draw = ImageDraw.Draw(image)
    cx, cy = width // 2, int(height * 0.42)
    r = min(width, height) // 6
    grey = (200, 200, 200)
    # A closed eye: the lid's arc with three lashes.
    draw.arc((cx - r, cy - r, cx + r, cy + r), start=20, end=160, fill=grey, width=6)
    for dx in (-0.6, 0.0, 0.6):
        x = cx + int(dx * r)
        lash = (x, cy + int(r * 0.8), x + int(dx * r * 0.3), cy + int(r * 1.2))
        draw.line(lash, fill=grey, width=5)
    font = ImageFont.load_default(size=max(12, height // 16))
    draw.text(
        (cx, cy + int(r * 1.8)), "Privacy mode", fill=grey, font=font, anchor="mm"
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()
