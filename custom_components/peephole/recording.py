"""Clip recording for one entry: triggers, clips from the masked feed, retention.

The doorbell's masked feed (:mod:`.source`, :mod:`.pipeline`) encodes its masked
pictures to H.264 once; while recording is on it runs all the time and keeps the
last seconds of packets in the pre-roll ring. A trigger (ring, motion, the
record_clip action) starts a clip: the ring's packets from a keyframe before the
pre-roll, then the live packets, are muxed into a fragmented MP4 (in the
executor: no decoding or encoding, and nothing waits for it) until the post-roll
is over; a trigger while recording extends the clip up to its maximum length.
Privacy mode stops the feed, so it buffers and records nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import errno
import shutil
import time
from typing import TYPE_CHECKING, Any

from homeassistant.components.ffmpeg import get_ffmpeg_manager
from homeassistant.const import STATE_ON
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from . import const
from .clips import (
    THUMB_SUFFIX,
    Clip,
    ClipStore,
    ProbeError,
    new_clip_id,
    write_atomic,
)
from .const import (
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
from .packets import PacketRing
from .pipeline import MaskedPicture
from .recorder import async_probe
from .source import DEMAND_RECORDING
from .video import EncodedPacket, Mp4Writer, VideoError, jpeg_of

if TYPE_CHECKING:
    from .doorbell import Peephole, PeepholeConfigEntry
    from .source import DoorbellSource

MB = 1024 * 1024
# How long after its end a clip waits for the feed's last pictures.
END_GRACE = 1.0
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


class ClipStopped(Exception):  # noqa: N818 - not an error: an unload
    """The recorder stopped (the entry unloads) while a clip was recorded."""


@dataclass(slots=True, kw_only=True)
class Session:
    """One clip being recorded."""

    clip_id: str
    trigger: str
    start: float
    end_at: float
    packets: list[EncodedPacket]  # not written yet
    thumbnail: MaskedPicture | None
    thumbnail_written: bool = False
    writer: Mp4Writer | None = None
    error: Exception | None = None
    disk_full: bool = False  # not recorded, or cut short, for lack of space
    saved: bool = False  # indexed (it may be deleted again at once)
    # Not saved, but its partial file is left for start-up to check: its pending
    # record (trigger, keep) stays for that.
    left_for_reconcile: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    unsubscribe: Callable[[], None] | None = None
    past_end: bool = False  # the feed has handed over a packet from after the end

    @callback
    def add(self, packet: EncodedPacket) -> None:
        """Take a live packet (the feed calls this; it never waits)."""
        if self.error is not None:
            return
        if packet.time <= self.end_at:
            self.packets.append(packet)
        else:
            self.past_end = True
        self.wake.set()

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
        self._release: CALLBACK_TYPE | None = None

    @property
    def source(self) -> DoorbellSource:
        """Return the doorbell's source (set up before the recorder starts)."""
        source = self.peephole.source
        assert source is not None  # noqa: S101 - async_setup_entry sets it first
        return source

    @property
    def ring(self) -> PacketRing:
        """Return the pre-roll ring (the feed of a recording doorbell has one)."""
        ring = self.source.feed.ring
        assert ring is not None  # noqa: S101 - made with the recorder
        return ring

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
        """Keep the feed running and listen for triggers (all stops on unload)."""
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
        entry.async_on_unload(self.peephole.async_add_listener(self._async_changed))
        entry.async_on_unload(self.source.feed.add_lost_listener(self._async_lost))
        self._release = self.source.async_acquire(DEMAND_RECORDING)

    @callback
    def _async_stop(self) -> None:
        """Stop on unload: what is written so far stays for start-up to reconcile."""
        if self._release is not None:
            self._release()
            self._release = None
        for session in self._unsaved.values():  # also one still finishing
            if session.unsubscribe is not None:
                session.unsubscribe()
            session.fail(ClipStopped("Peephole stopped"))
            if session.writer is not None:
                # What is written plays; start-up indexes it with its record.
                session.left_for_reconcile = True
                self.hass.async_add_executor_job(session.writer.abandon)
        self.session = None

    @callback
    def _async_changed(self) -> None:
        """Privacy mode ends the clip being recorded (the feed stops too)."""
        if self.peephole.privacy_mode and (session := self.session) is not None:
            session.end_at = min(session.end_at, time.time())
            session.wake.set()

    @callback
    def async_end_clip(self) -> None:
        """End the clip being recorded now (it is saved with what it has)."""
        if (session := self.session) is not None:
            session.end_at = min(session.end_at, time.time())
            session.past_end = True
            session.wake.set()

    @callback
    def _async_lost(self) -> None:
        """End the clip being recorded with what it has: the stream was lost.

        Recording goes on once the feed is back (its pre-roll refills).
        """
        if (session := self.session) is not None:
            LOGGER.info(
                "%s: stream lost, clip %s ends", self.entry.title, session.clip_id
            )
            self.async_end_clip()

    @callback
    def async_forget_frames(self) -> None:
        """Drop every picture not yet in a clip file (the zones got stricter).

        The feed has already emptied the pre-roll; the packets a clip has not
        written yet and a thumbnail not yet written go too: a zone drawn now
        covers them. What a clip file already holds stays as it was recorded;
        the feed's next picture is a keyframe with the new masks.
        """
        generation = self.peephole.frame_generation
        for session in self._unsaved.values():
            session.packets = [p for p in session.packets if p.generation >= generation]
            if not session.thumbnail_written:
                session.thumbnail = None

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
        feed = self.source.feed
        start = now - self.settings.pre_roll
        initial = self.ring.since(start)
        if initial:
            start = initial[0].time  # the keyframe the pre-roll starts from
        else:
            start = now  # nothing buffered: the next picture is a keyframe
            feed.request_keyframe()
        session = Session(
            clip_id=new_clip_id(datetime.fromtimestamp(start, UTC)),
            trigger=trigger,
            start=start,
            end_at=min(now + post_roll, start + self.settings.max_length),
            packets=initial,
            thumbnail=feed.latest,
        )
        # From the ring's last packet on, every packet goes to the clip as well:
        # no gap and no overlap between the pre-roll and the live pictures.
        session.unsubscribe = feed.subscribe(session.add)
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
        writer = Mp4Writer(self.store.partial_path(session.clip_id))
        try:
            await self.store.async_save()  # the clip's pending record
            if not await self._async_has_room():
                session.disk_full = True
                return
            session.writer = writer
            self.hass.bus.async_fire(EVENT_CLIP_STARTED, self._event_data(session))
            await self._async_write_thumbnail(session)
            await self._async_write_until_end(session, writer)
            if self.session is session:
                self.session = None
            if writer.frames == 0:
                # The feed gave nothing (the camera went away): there is no clip.
                await self.hass.async_add_executor_job(writer.abandon)
                await self.store.async_discard(session.clip_id)
                LOGGER.warning(
                    "%s: clip %s has no picture", self.entry.title, session.clip_id
                )
                return
            await self.hass.async_add_executor_job(writer.close)
            await self._async_save(session, writer, incomplete=False)
        except ClipStopped:
            return  # unloading: the partial file is left for start-up
        except (VideoError, OSError) as err:
            await self._async_failed(session, err)
        finally:
            if session.unsubscribe is not None:
                session.unsubscribe()
            await self._async_finished(session)

    async def _async_write_until_end(self, session: Session, writer: Mp4Writer) -> None:
        """Mux the clip's packets as they come, until the post-roll is over.

        A clip ends once the feed has passed its end (a packet from after it
        came), or ``END_GRACE`` seconds after it at the latest (no feed).
        """
        while True:
            batch = self._take(session, writer)
            if batch:
                await self.hass.async_add_executor_job(writer.write, batch)
                continue
            if session.error is not None:
                raise session.error
            now = time.time()
            if now >= session.end_at and (
                session.past_end or now >= session.end_at + END_GRACE
            ):
                return
            session.wake.clear()
            wait = session.end_at - now if now < session.end_at else END_GRACE / 10
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.01)):
                    await session.wake.wait()

    @staticmethod
    def _take(session: Session, writer: Mp4Writer) -> list[EncodedPacket]:
        """Return the clip's packets to write now (from its first keyframe on)."""
        packets, session.packets = session.packets, []
        packets = [p for p in packets if p.time <= session.end_at]
        if writer.frames == 0 and writer.first_time is None:
            first_key = next((i for i, p in enumerate(packets) if p.keyframe), None)
            if first_key is None:
                return []
            packets = packets[first_key:]
        return packets

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
        if session.thumbnail_written:
            return
        picture = session.thumbnail or self.source.feed.latest
        if picture is None:
            return
        try:
            if picture.jpeg is None and picture.frame is not None:
                picture.jpeg = await self.hass.async_add_executor_job(
                    jpeg_of, picture.frame
                )
            if picture.jpeg is None or picture.generation < (
                self.peephole.frame_generation
            ):
                return  # (masked before new zones: the next clip's picture will do)
            path = self.store.directory / f"{session.clip_id}{THUMB_SUFFIX}"
            await self.hass.async_add_executor_job(write_atomic, path, picture.jpeg)
        except (OSError, VideoError) as err:
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
        self, session: Session, writer: Mp4Writer, *, incomplete: bool
    ) -> None:
        """Rename the finished clip, write its thumbnail, index it, tell everyone."""
        partial_path = self.store.partial_path(session.clip_id)
        duration = writer.duration
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
        disk_full = isinstance(err, OSError) and err.errno == errno.ENOSPC
        LOGGER.error("%s: recording failed: %s", self.entry.title, err)
        if self.session is session:
            self.session = None
        if (writer := session.writer) is not None:
            await self.hass.async_add_executor_job(writer.abandon)
            try:
                await self._async_save(session, writer, incomplete=True)
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
