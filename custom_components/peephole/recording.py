"""Clip recording for one entry: the masked feed, triggers, ffmpeg sessions, retention.

The feed asks the Peephole for masked frames (the one masking path) at the
configured rate and keeps them in the pre-roll buffer. A trigger (ring, motion,
the record_clip action) starts a session: the buffered frames and then the live
ones go to ffmpeg until the post-roll is over; a trigger while recording extends
the clip up to its maximum length. Privacy mode buffers and records nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import errno
import shutil
import time
from typing import TYPE_CHECKING, Any

from homeassistant.components.ffmpeg import get_ffmpeg_manager
from homeassistant.const import STATE_ON
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from . import const
from .buffer import Frame, FrameBuffer
from .clips import (
    THUMB_SUFFIX,
    Clip,
    ClipStore,
    ProbeError,
    new_clip_id,
    write_atomic,
)
from .const import (
    BUFFER_MAX_BYTES,
    CONF_FEED_FPS,
    CONF_MAX_CLIP_LENGTH,
    CONF_MAX_STORAGE_MB,
    CONF_MIN_FREE_MB,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
    CONF_RETENTION_DAYS,
    DOMAIN,
    EVENT_CLIP_SAVED,
    EVENT_CLIP_STARTED,
    FFMPEG_TIMEOUT,
    ISSUE_DISK_FULL,
    LOGGER,
    RETENTION_INTERVAL_MINUTES,
)
from .recorder import ClipEncoder, EncoderError, async_probe

if TYPE_CHECKING:
    from .doorbell import Peephole, PeepholeConfigEntry

MB = 1024 * 1024
# How many clips that were given an id but never saved are remembered (so that
# keep_clip can say why there is no such clip, not only that there is none).
NOT_RECORDED_MEMORY = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingSettings:
    """The recording options of an entry, with defaults."""

    enabled: bool
    pre_roll: float
    post_roll: float
    max_length: float
    fps: float
    retention: timedelta
    max_bytes: int
    min_free: int

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RecordingSettings:
        """Read the settings from an entry's options."""

        def get(key: str) -> Any:
            return options.get(key, const.RECORDING_DEFAULTS[key])

        return cls(
            enabled=bool(get(CONF_RECORD)),
            pre_roll=float(get(CONF_PRE_ROLL)),
            post_roll=float(get(CONF_POST_ROLL)),
            max_length=float(get(CONF_MAX_CLIP_LENGTH)),
            fps=float(get(CONF_FEED_FPS)),
            retention=timedelta(days=float(get(CONF_RETENTION_DAYS))),
            max_bytes=int(float(get(CONF_MAX_STORAGE_MB)) * MB),
            min_free=int(float(get(CONF_MIN_FREE_MB)) * MB),
        )


@dataclass(slots=True, kw_only=True)
class Session:
    """One clip being recorded."""

    clip_id: str
    trigger: str
    start: float
    end_at: float
    pending: list[Frame]
    thumbnail: bytes | None
    thumbnail_written: bool = False
    encoder: ClipEncoder | None = None
    error: Exception | None = None
    disk_full: bool = False  # not recorded, or cut short, for lack of space
    saved: bool = False  # indexed (it may be deleted again at once)
    # Not saved, but its partial file is left for start-up to check: its pending
    # record (trigger, keep) stays for that.
    left_for_reconcile: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def async_add(self, frame: Frame) -> None:
        """Send a live frame to ffmpeg (in order, after the buffered ones)."""
        async with self.lock:
            if (
                self.encoder is None
                or self.error is not None
                or frame.time > self.end_at
            ):
                return
            if self.thumbnail is None:
                self.thumbnail = frame.data
            try:
                await self.encoder.async_write(frame)
            except EncoderError as err:
                self.fail(err)

    def fail(self, err: Exception) -> None:
        """Stop this session because of an error."""
        if self.error is None:
            self.error = err
        self.wake.set()


class ClipRecorder:
    """Records clips of one Peephole entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PeepholeConfigEntry,
        peephole: Peephole,
        settings: RecordingSettings,
    ) -> None:
        """Initialise (nothing runs before ``async_start``)."""
        self.hass = hass
        self.entry = entry
        self.peephole = peephole
        self.settings = settings
        self.store = ClipStore(hass, entry.entry_id)
        self.buffer = FrameBuffer(settings.pre_roll, BUFFER_MAX_BYTES)
        self.session: Session | None = None
        # Every clip from its start until it is indexed (or lost), by id.
        self._unsaved: dict[str, Session] = {}
        # The last clips that were never saved, by id: True if for lack of space.
        self._not_recorded: dict[str, bool] = {}
        self.binary = get_ffmpeg_manager(hass).binary
        self.issue_id = f"{ISSUE_DISK_FULL}_{entry.entry_id}"
        # Set when a clip could not start or went on for lack of space: triggers
        # give no clip id until a check finds room again.
        self.disk_full = False

    @property
    def recording(self) -> bool:
        """Return True while a clip is being recorded."""
        return self.session is not None

    async def async_probe(self, path: Any) -> float | None:
        """Return the duration of a playable MP4, or None."""
        return await async_probe(self.binary, path, FFMPEG_TIMEOUT)

    # --- lifecycle ---------------------------------------------------------------

    async def async_setup(self) -> None:
        """Load the index, reconcile it with the disk, apply retention."""
        await self.store.async_load()
        await self.store.async_reconcile(self.async_probe)
        await self.async_apply_retention()

    @callback
    def async_start(self) -> None:
        """Start the feed and listen for triggers (everything stops on unload)."""
        entry = self.entry
        # The live view and stills share the feed's frames instead of asking the
        # source camera a second time.
        self.peephole.reuse_for = min(self.peephole.reuse_for, 1 / self.settings.fps)
        if motion := self.peephole.motion_entity_id:
            entry.async_on_unload(
                async_track_state_change_event(self.hass, motion, self._async_motion)
            )
        entry.async_on_unload(
            async_track_time_interval(
                self.hass,
                self._async_retention_tick,
                timedelta(minutes=RETENTION_INTERVAL_MINUTES),
            )
        )
        entry.async_on_unload(self._async_stop)
        entry.async_create_background_task(
            self.hass, self._async_feed(), f"peephole feed {entry.entry_id}"
        )

    @callback
    def _async_stop(self) -> None:
        """Kill ffmpeg on unload; start-up reconciles the partial clips."""
        for session in self._unsaved.values():  # also one still finishing
            if session.encoder is not None:
                session.encoder.kill()
        self.session = None
        self.buffer.clear()

    @callback
    def async_forget_frames(self) -> None:
        """Drop every frame not yet in a clip file (the zones changed).

        The pre-roll, the buffered frames a clip that has just started has not
        written yet, and a thumbnail not yet written: a zone drawn now covers
        them too. What ffmpeg already has stays as it was recorded.
        """
        self.buffer.clear()
        for session in self._unsaved.values():
            session.pending.clear()
            if not session.thumbnail_written:
                session.thumbnail = None

    # --- feed --------------------------------------------------------------------

    async def _async_feed(self) -> None:
        """Fetch masked frames at the configured rate into the buffer (and clip)."""
        loop = asyncio.get_running_loop()
        interval = 1 / self.settings.fps
        next_tick = loop.time()
        while True:
            delay = next_tick - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            next_tick = max(next_tick + interval, loop.time())
            if self._paused():
                continue
            taken = time.time()
            generation = self.peephole.frame_generation
            try:
                data = await self.peephole.async_masked_image(fresh=True)
            except HomeAssistantError:
                continue
            if self._paused() or self.peephole.frame_generation != generation:
                continue  # (zones changed meanwhile: maybe masked with the old ones)
            frame = Frame(taken, data)
            self.buffer.add(frame)
            if self.session is not None:
                await self.session.async_add(frame)

    def _paused(self) -> bool:
        """In privacy mode or without a source: buffer nothing, end the clip."""
        if not self.peephole.privacy_mode and self.peephole.camera_available:
            return False
        self.buffer.clear()
        if self.peephole.privacy_mode and (session := self.session) is not None:
            session.end_at = min(session.end_at, time.time())
            session.wake.set()
        return True

    # --- triggers ------------------------------------------------------------------

    @callback
    def _async_motion(self, event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if (
            new is not None
            and new.state == STATE_ON
            and (old is None or old.state != STATE_ON)
        ):
            self.async_trigger("motion")

    @callback
    def async_trigger(self, trigger: str, duration: float | None = None) -> str | None:
        """Start a clip, or extend the one being recorded.

        Returns the id of the clip that records this moment (a new one or the
        one extended), or None when nothing records: privacy mode, or a disk
        known to be full (its free space is checked again now, for the next
        trigger).
        """
        if self.peephole.privacy_mode:
            LOGGER.debug("%s: privacy mode, not recording", self.entry.title)
            return None
        if self.disk_full and self.session is None:
            LOGGER.debug("%s: disk full, not recording", self.entry.title)
            self.entry.async_create_background_task(
                self.hass, self._async_has_room(), "peephole free space check"
            )
            return None
        now = time.time()
        post_roll = self.settings.post_roll if duration is None else duration
        if (session := self.session) is not None:
            limit = session.start + self.settings.max_length
            if (
                now + post_roll <= limit
                or now - self.settings.pre_roll <= session.start
            ):
                session.end_at = min(max(session.end_at, now + post_roll), limit)
                session.wake.set()
                return session.clip_id
            # This clip cannot hold the trigger's post-roll (it is near its maximum
            # length): it ends now, and a new clip, with its own pre-roll from the
            # buffer, records the trigger.
            session.end_at = min(session.end_at, now)
            session.wake.set()
            self.session = None
        start = now - self.settings.pre_roll
        pending = self.buffer.since(start)
        start = max(start, pending[0].time) if pending else now
        latest = self.buffer.latest
        session = Session(
            clip_id=new_clip_id(datetime.fromtimestamp(start, UTC)),
            trigger=trigger,
            start=start,
            end_at=min(now + post_roll, start + self.settings.max_length),
            pending=pending,
            thumbnail=latest.data if latest else None,
        )
        self.session = session
        self._unsaved[session.clip_id] = session
        # Its trigger is on disk before its first frame (see _async_record).
        self.store.begin(session.clip_id, trigger)
        self.entry.async_create_background_task(
            self.hass,
            self._async_record(session),
            f"peephole clip {session.clip_id}",
        )
        self.peephole.async_update_listeners()
        return session.clip_id

    # --- one clip --------------------------------------------------------------------

    def _event_data(self, session: Session, **extra: Any) -> dict[str, Any]:
        return {
            "clip_id": session.clip_id,
            "entry_id": self.entry.entry_id,
            "camera_entity_id": self.peephole.masked_camera_entity_id,
            "start": datetime.fromtimestamp(session.start, UTC).isoformat(),
            "trigger": session.trigger,
            **extra,
        }

    async def _async_record(self, session: Session) -> None:
        """Run one clip from start to index."""
        partial_path = self.store.partial_path(session.clip_id)
        try:
            async with session.lock:
                await self.store.async_save()  # the clip's pending record
                if not await self._async_has_room():
                    session.disk_full = True
                    if self.session is session:
                        self.session = None
                    self.peephole.async_update_listeners()
                    return
                encoder = ClipEncoder(
                    self.binary,
                    partial_path,
                    self.settings.fps,
                    session.start,
                    FFMPEG_TIMEOUT,
                )
                await encoder.async_start()
                session.encoder = encoder
                self.hass.bus.async_fire(EVENT_CLIP_STARTED, self._event_data(session))
                await self._async_write_thumbnail(session)
                for frame in session.pending:
                    await encoder.async_write(frame)
                session.pending = []
            while session.error is None and (delay := session.end_at - time.time()) > 0:
                session.wake.clear()
                try:
                    async with asyncio.timeout(delay):
                        await session.wake.wait()
                except TimeoutError:
                    pass
            async with session.lock:
                if self.session is session:
                    self.session = None
                if session.error is not None:
                    raise session.error
                await encoder.async_finish()
            await self._async_save(session, encoder, incomplete=False)
        except (EncoderError, OSError) as err:
            await self._async_failed(session, err)
        finally:
            await self._async_finished(session)

    async def _async_finished(self, session: Session) -> None:
        """Forget a clip that is indexed, or remember why it is not."""
        if self.session is session:
            self.session = None
        self._unsaved.pop(session.clip_id, None)
        if not session.saved:
            self._not_recorded[session.clip_id] = session.disk_full
            while len(self._not_recorded) > NOT_RECORDED_MEMORY:
                del self._not_recorded[next(iter(self._not_recorded))]
            if not session.left_for_reconcile:
                await self.store.async_forget_pending(session.clip_id)
        self.peephole.async_update_listeners()

    async def _async_write_thumbnail(self, session: Session) -> None:
        """Write the clip's masked thumbnail (at once, so a crash keeps it too)."""
        if session.thumbnail is None or session.thumbnail_written:
            return
        path = self.store.directory / f"{session.clip_id}{THUMB_SUFFIX}"
        try:
            await self.hass.async_add_executor_job(
                write_atomic, path, session.thumbnail
            )
        except OSError as err:
            LOGGER.warning("%s: could not write a thumbnail: %s", self.entry.title, err)
            return
        session.thumbnail_written = True

    async def _async_has_room(self) -> bool:
        """Check the free space (and make the folder); raise a repair issue if full."""
        directory = self.store.directory

        def _free() -> int:
            directory.mkdir(parents=True, exist_ok=True)
            return shutil.disk_usage(directory).free

        try:
            free = await self.hass.async_add_executor_job(_free)
        except OSError as err:
            LOGGER.warning(
                "%s: cannot check the free space of %s: %s",
                self.entry.title,
                directory,
                err,
            )
            free = 0
        if free < self.settings.min_free:
            LOGGER.warning(
                "%s: not recording, only %s MB free in %s",
                self.entry.title,
                free // MB,
                directory,
            )
            self._raise_disk_full()
            return False
        if self.disk_full:
            self.disk_full = False
            ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
            self.peephole.async_update_listeners()
        return True

    def _raise_disk_full(self) -> None:
        self.disk_full = True
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_DISK_FULL,
            translation_placeholders={
                "name": self.entry.title,
                "path": str(self.store.directory),
            },
        )

    async def _async_save(
        self, session: Session, encoder: ClipEncoder, *, incomplete: bool
    ) -> None:
        """Rename the finished clip, write its thumbnail, index it, tell everyone."""
        partial_path = self.store.partial_path(session.clip_id)
        duration = encoder.duration
        if incomplete:
            try:
                probed = await self.async_probe(partial_path)
            except ProbeError as err:
                # It may play: reconciling checks it again at the next start.
                session.left_for_reconcile = True
                LOGGER.warning(
                    "%s: could not check clip %s, left for the next start: %s",
                    self.entry.title,
                    session.clip_id,
                    err,
                )
                return
            if probed is None:
                await self.store.async_discard(session.clip_id)
                LOGGER.warning("%s: clip %s lost", self.entry.title, session.clip_id)
                return
            duration = probed
        clip = Clip(
            id=session.clip_id,
            start=datetime.fromtimestamp(session.start, UTC),
            duration=round(duration, 3),
            size=0,
            trigger=session.trigger,
            incomplete=incomplete,
            thumbnail=session.thumbnail is not None,
        )
        final = self.store.clip_path(clip)

        await self._async_write_thumbnail(session)

        def _finish() -> int:
            partial_path.replace(final)
            return final.stat().st_size

        size = await self.hass.async_add_executor_job(_finish)
        # The keep flag comes from the clip's pending record as it is indexed: a
        # keep_clip call finds either the pending record or the indexed clip.
        clip = replace(clip, size=size, thumbnail=session.thumbnail_written)
        await self.store.async_add(clip)
        session.saved = True
        if not incomplete:
            ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        self.hass.bus.async_fire(
            EVENT_CLIP_SAVED,
            self._event_data(session, duration=clip.duration, incomplete=incomplete),
        )
        LOGGER.debug("%s: clip %s saved", self.entry.title, clip.id)
        await self.async_apply_retention()

    async def _async_failed(self, session: Session, err: Exception) -> None:
        """Stop a failed clip cleanly: keep what plays, raise an issue if disk full."""
        disk_full = (isinstance(err, EncoderError) and err.disk_full) or (
            isinstance(err, OSError) and err.errno == errno.ENOSPC
        )
        LOGGER.error("%s: recording failed: %s", self.entry.title, err)
        if session.encoder is not None:
            session.encoder.kill()
            try:
                await self._async_save(session, session.encoder, incomplete=True)
            except OSError as save_err:
                LOGGER.error("%s: could not keep clip: %s", self.entry.title, save_err)
                disk_full = disk_full or save_err.errno == errno.ENOSPC
        if disk_full:
            session.disk_full = True
            self._raise_disk_full()

    # --- retention and management -------------------------------------------------

    async def _async_retention_tick(self, now: datetime) -> None:
        await self.async_apply_retention()
        if self.disk_full:
            await self._async_has_room()

    async def async_apply_retention(self) -> None:
        """Apply the retention policy now."""
        removed = await self.store.async_apply_retention(
            dt_util.utcnow(), self.settings.retention, self.settings.max_bytes
        )
        if removed:
            self.peephole.async_update_listeners()

    async def async_delete(self, clip: Clip) -> None:
        """Delete one clip now."""
        await self.store.async_delete([clip])
        self.peephole.async_update_listeners()

    async def async_set_keep(self, clip: Clip, keep: bool) -> None:
        """Keep a clip (retention never removes it) or let retention have it."""
        await self.store.async_set_keep(clip, keep)
        self.peephole.async_update_listeners()

    def not_recorded(self, clip_id: str) -> bool | None:
        """Whether a clip given out was never saved: True if for lack of space.

        None for a clip this recorder knows nothing of (or one it saved).
        """
        return self._not_recorded.get(clip_id)

    async def async_set_keep_unsaved(self, clip_id: str, keep: bool) -> bool:
        """Keep (or not) a clip not indexed yet; False if none is being recorded.

        On disk when this returns: a crash before the clip is saved recovers it
        kept (start-up reads the flag from the clip's pending record).
        """
        if clip_id not in self._unsaved:
            return False
        return await self.store.async_keep_pending(clip_id, keep)
