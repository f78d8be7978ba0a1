"""Clip storage: files under the config folder, an index in a private Store.

Files of a clip ``ID`` in the entry's folder: ``ID.mp4`` (complete),
``ID.partial.mp4`` (being written, or left by a crash), ``ID.jpg`` (its masked
thumbnail). Clip ids are generated here and validated by a strict regex; a path
is only ever built from an id that is in the index.

A clip being recorded is in the index file too, as a *pending* record (its trigger,
and whether the owner asked to keep it), written when it starts and on every
keep_clip: a crash loses neither, since start-up recovers the partial clip with
them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
import os
from pathlib import Path
import re
import secrets
import shutil
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER

STORAGE_VERSION = 1
CLIP_ID_RE = re.compile(r"^(\d{8}T\d{6})-([0-9a-f]{8})$")
PARTIAL_SUFFIX = ".partial.mp4"
CLIP_SUFFIX = ".mp4"
THUMB_SUFFIX = ".jpg"
TEMP_SUFFIX = ".tmp"

type Probe = Callable[[Path], Awaitable[float | None]]


class ProbeError(Exception):
    """ffmpeg could not tell whether a clip plays (it did not start, or timed out)."""


def clips_root(hass: HomeAssistant) -> Path:
    """Return the folder of every entry's clips (not a media folder)."""
    return Path(hass.config.path(DOMAIN))


def new_clip_id(start: datetime) -> str:
    """Return a new clip id for a clip starting at ``start``."""
    return f"{start.astimezone(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def is_clip_id(value: object) -> bool:
    """Return True if ``value`` has the shape of a clip id (nothing else)."""
    return isinstance(value, str) and CLIP_ID_RE.fullmatch(value) is not None


def clip_id_time(clip_id: str) -> datetime:
    """Return the start time (UTC) encoded in a valid clip id."""
    match = CLIP_ID_RE.fullmatch(clip_id)
    if match is None:
        raise ValueError(f"not a clip id: {clip_id!r}")
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Clip:
    """One indexed clip."""

    id: str
    start: datetime
    duration: float
    size: int
    trigger: str
    keep: bool = False
    incomplete: bool = False
    thumbnail: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the clip as stored."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Clip | None:
        """Return a clip from the store, or None if the entry is not valid."""
        try:
            clip = cls(
                id=data["id"],
                start=datetime.fromisoformat(data["start"]),
                duration=float(data["duration"]),
                size=int(data["size"]),
                trigger=str(data["trigger"]),
                keep=bool(data.get("keep", False)),
                incomplete=bool(data.get("incomplete", False)),
                thumbnail=bool(data.get("thumbnail", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return clip if is_clip_id(clip.id) and clip.start.tzinfo else None


@dataclass(frozen=True, slots=True)
class Pending:
    """What is known of a clip being recorded, before it is indexed."""

    trigger: str
    keep: bool = False

    def as_dict(self, clip_id: str) -> dict[str, Any]:
        """Return the record as stored."""
        return {"id": clip_id, "trigger": self.trigger, "keep": self.keep}

    @classmethod
    def from_dict(cls, data: object) -> tuple[str, Pending] | None:
        """Return ``(clip id, record)`` from the store, or None if it is not valid."""
        if not isinstance(data, dict):
            return None
        clip_id, trigger, keep = data.get("id"), data.get("trigger"), data.get("keep")
        if not is_clip_id(clip_id) or not isinstance(trigger, str):
            return None
        assert isinstance(clip_id, str)  # noqa: S101 - is_clip_id checked it
        return clip_id, cls(trigger=trigger[:32], keep=keep is True)


def select_expired(
    clips: Iterable[Clip], now: datetime, max_age: timedelta, max_bytes: int
) -> list[str]:
    """Return the ids retention removes: too old, then oldest first while too big.

    A kept clip is never selected (and still counts towards the size).
    """
    ordered = sorted(clips, key=lambda clip: (clip.start, clip.id))
    total = sum(clip.size for clip in ordered)
    expired: list[str] = []
    for clip in ordered:
        if clip.keep:
            continue
        if clip.start + timedelta(seconds=clip.duration) < now - max_age or (
            total > max_bytes
        ):
            expired.append(clip.id)
            total -= clip.size
    return expired


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What is on disk: final clips, partial clips, garbage."""

    final: dict[str, int]
    partial: list[str]
    thumbnails: set[str]
    garbage: list[Path]


def scan(directory: Path) -> ScanResult:
    """List the entry's folder (executor)."""
    final: dict[str, int] = {}
    partial: list[str] = []
    thumbnails: set[str] = set()
    garbage: list[Path] = []
    if not directory.is_dir():
        return ScanResult(final, partial, thumbnails, garbage)
    for path in directory.iterdir():
        name = path.name
        if not path.is_file() or path.is_symlink():
            continue
        if name.endswith(PARTIAL_SUFFIX) and is_clip_id(
            stem := name.removesuffix(PARTIAL_SUFFIX)
        ):
            partial.append(stem)
        elif name.endswith(CLIP_SUFFIX) and is_clip_id(
            stem := name.removesuffix(CLIP_SUFFIX)
        ):
            final[stem] = path.stat().st_size
        elif name.endswith(THUMB_SUFFIX) and is_clip_id(
            stem := name.removesuffix(THUMB_SUFFIX)
        ):
            thumbnails.add(stem)
        elif name.endswith(TEMP_SUFFIX):
            garbage.append(path)
    return ScanResult(final, partial, thumbnails, garbage)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file under a temporary name, then rename it (executor)."""
    temp = path.with_name(path.name + TEMP_SUFFIX)
    try:
        with temp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temp.replace(path)
    except OSError:
        temp.unlink(missing_ok=True)
        raise


class ClipStore:
    """The clips of one entry: index (private Store) and files."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Initialise (nothing is read before ``async_load``)."""
        self.hass = hass
        self.entry_id = entry_id
        self.directory = clips_root(hass) / entry_id
        self._store: Store[dict[str, Any]] = Store(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}.clips",
            private=True,
            atomic_writes=True,
        )
        self.clips: dict[str, Clip] = {}
        # Clips being recorded (or left by a crash, until start-up reconciles them).
        self.pending: dict[str, Pending] = {}

    # --- paths (only for indexed clips) ----------------------------------------

    def get(self, clip_id: object) -> Clip | None:
        """Return an indexed clip by id; anything else (bad shape, unknown) is None."""
        if not isinstance(clip_id, str) or not is_clip_id(clip_id):
            return None
        return self.clips.get(clip_id)

    def clip_path(self, clip: Clip) -> Path:
        """Return the MP4 of an indexed clip."""
        return self.directory / f"{clip.id}{CLIP_SUFFIX}"

    def thumbnail_path(self, clip: Clip) -> Path:
        """Return the thumbnail of an indexed clip."""
        return self.directory / f"{clip.id}{THUMB_SUFFIX}"

    def partial_path(self, clip_id: str) -> Path:
        """Return the temporary file of a clip being written."""
        if not is_clip_id(clip_id):
            raise ValueError(f"not a clip id: {clip_id!r}")
        return self.directory / f"{clip_id}{PARTIAL_SUFFIX}"

    # --- summary -----------------------------------------------------------------

    @property
    def total_bytes(self) -> int:
        """Return the bytes of every indexed clip."""
        return sum(clip.size for clip in self.clips.values())

    @property
    def last(self) -> Clip | None:
        """Return the newest clip."""
        return max(self.clips.values(), key=lambda c: c.start, default=None)

    def sorted(self) -> list[Clip]:
        """Return the clips, newest first."""
        return sorted(self.clips.values(), key=lambda c: (c.start, c.id), reverse=True)

    # --- persistence ---------------------------------------------------------------

    async def async_load(self) -> None:
        """Load the index."""
        data = await self._store.async_load() or {}
        clips = (Clip.from_dict(item) for item in data.get("clips", []))
        self.clips = {clip.id: clip for clip in clips if clip is not None}
        pending = (Pending.from_dict(item) for item in data.get("recording", []))
        self.pending = dict(item for item in pending if item is not None)

    async def async_save(self) -> None:
        """Write the index (atomically)."""
        await self._store.async_save(
            {
                "clips": [clip.as_dict() for clip in self.sorted()],
                "recording": [
                    record.as_dict(clip_id) for clip_id, record in self.pending.items()
                ],
            }
        )

    async def async_reconcile(self, probe: Probe) -> None:
        """Make the index match the disk after a crash.

        A partial clip that plays is kept as an incomplete clip, one that does not is
        removed; a complete clip missing from the index is indexed; temporary files
        are removed; index entries whose file is missing or empty are dropped, and
        empty clip files removed (there is nothing in them to lose); a clip file that
        does not play is left where it is (logged), never indexed; a clip ffmpeg
        could not check (it did not start, or timed out) is left with its thumbnail
        for the next start; the thumbnail of a clip that is not indexed then (one
        that was lost: killed before its first fragment, or dropped) is removed:
        nothing would ever show it, and retention only removes indexed clips.
        """
        found = await self.hass.async_add_executor_job(scan, self.directory)
        recovered: set[str] = set()
        unchecked: set[str] = set()  # ffmpeg could not tell: left for the next start
        for path in found.garbage:
            await self.hass.async_add_executor_job(path.unlink, True)
        for clip_id in found.partial:
            outcome = await self._async_reconcile_partial(clip_id, found, probe)
            if outcome is None:
                unchecked.add(clip_id)
            elif outcome:
                recovered.add(clip_id)
        changed = bool(recovered)
        for clip_id, size in found.final.items():
            if clip_id in recovered:  # a file the partial replaced
                continue
            outcome = await self._async_reconcile_final(clip_id, size, found, probe)
            if outcome is None:
                unchecked.add(clip_id)
            changed = changed or bool(outcome)
        for clip_id in list(self.clips):
            if clip_id not in recovered and found.final.get(clip_id, 0) == 0:
                LOGGER.info("Dropping clip %s: its file is missing or empty", clip_id)
                del self.clips[clip_id]
                changed = True
        for clip_id in found.thumbnails - self.clips.keys() - unchecked:
            LOGGER.info("Removing the thumbnail of lost clip %s", clip_id)
            await self.hass.async_add_executor_job(
                (self.directory / f"{clip_id}{THUMB_SUFFIX}").unlink, True
            )
        # What was being recorded before is indexed now, or lost (or, unchecked,
        # keeps its record for the next start).
        left = {k: v for k, v in self.pending.items() if k in unchecked}
        if left != self.pending:
            self.pending = left
            changed = True
        if changed:
            await self.async_save()

    async def _async_reconcile_partial(
        self, clip_id: str, found: ScanResult, probe: Probe
    ) -> bool | None:
        """Recover a partial clip that plays (True), or remove it (False).

        None: ffmpeg could not tell, so it is left as it is.
        """
        partial = self.partial_path(clip_id)
        final = self.directory / f"{clip_id}{CLIP_SUFFIX}"
        try:
            duration = await probe(partial)
            if (
                duration is not None
                and found.final.get(clip_id, 0) > 0
                and await probe(final) is not None
            ):
                duration = None  # the whole clip is there: this is a leftover
        except ProbeError as err:
            LOGGER.warning("Could not check clip %s, left as it is: %s", partial, err)
            return None
        if duration is None:
            LOGGER.info("Removing partial clip %s (unplayable, or a leftover)", partial)
            await self.hass.async_add_executor_job(partial.unlink, True)
            return False
        await self.hass.async_add_executor_job(partial.replace, final)
        size = await self.hass.async_add_executor_job(_size, final)
        known = self.clips.get(clip_id) or self.pending.get(clip_id)
        self.clips[clip_id] = Clip(
            id=clip_id,
            start=clip_id_time(clip_id),
            duration=duration,
            size=size,
            trigger=known.trigger if known else "unknown",
            incomplete=True,
            thumbnail=clip_id in found.thumbnails,
            keep=known.keep if known else False,
        )
        LOGGER.info("Recovered clip %s (%.1f s)", clip_id, duration)
        return True

    async def _async_reconcile_final(
        self, clip_id: str, size: int, found: ScanResult, probe: Probe
    ) -> bool | None:
        """Remove an empty clip file, index one the index lost; True if indexed.

        None: ffmpeg could not tell whether it plays, so it is left as it is.
        """
        path = self.directory / f"{clip_id}{CLIP_SUFFIX}"
        if size == 0:
            LOGGER.info("Removing empty clip file %s", path)
            await self.hass.async_add_executor_job(path.unlink, True)
            return False
        if clip_id in self.clips:
            return False
        try:
            duration = await probe(path)
        except ProbeError as err:
            LOGGER.warning("Could not check clip %s, left as it is: %s", path, err)
            return None
        if duration is None:
            LOGGER.warning("Clip file %s does not play; left as it is", path)
            return False
        known = self.pending.get(clip_id)  # saved, then killed before it was indexed
        self.clips[clip_id] = Clip(
            id=clip_id,
            start=clip_id_time(clip_id),
            duration=duration,
            size=size,
            trigger=known.trigger if known else "unknown",
            thumbnail=clip_id in found.thumbnails,
            keep=known.keep if known else False,
        )
        return True

    # --- changes -------------------------------------------------------------------

    def begin(self, clip_id: str, trigger: str) -> None:
        """Note a clip that starts now (``async_save`` writes it down)."""
        self.pending[clip_id] = Pending(trigger)

    async def async_keep_pending(self, clip_id: str, keep: bool) -> bool:
        """Keep (or not) a clip being recorded; on disk when this returns.

        False if no such clip is being recorded.
        """
        if (record := self.pending.get(clip_id)) is None:
            return False
        self.pending[clip_id] = replace(record, keep=keep)
        await self.async_save()
        return True

    async def async_add(self, clip: Clip) -> None:
        """Index a new clip (kept if its pending record says so)."""
        if (record := self.pending.pop(clip.id, None)) is not None:
            clip = replace(clip, keep=record.keep)
        self.clips[clip.id] = clip
        await self.async_save()

    async def async_forget_pending(self, clip_id: str) -> None:
        """Drop the record of a clip that was never saved."""
        if self.pending.pop(clip_id, None) is not None:
            await self.async_save()

    async def async_set_keep(self, clip: Clip, keep: bool) -> None:
        """Mark a clip as kept (never removed by retention) or not."""
        self.clips[clip.id] = replace(clip, keep=keep)
        await self.async_save()

    async def async_delete(self, clips: Iterable[Clip]) -> None:
        """Remove clips: from the index first, then their files."""
        clips = list(clips)
        for clip in clips:
            self.clips.pop(clip.id, None)
        await self.async_save()
        for clip in clips:
            await self.hass.async_add_executor_job(self._unlink, clip)

    async def async_discard(self, clip_id: str) -> None:
        """Remove the files of a clip that is lost (never indexed): partial, thumbnail."""

        def _unlink() -> None:
            self.partial_path(clip_id).unlink(missing_ok=True)
            (self.directory / f"{clip_id}{THUMB_SUFFIX}").unlink(missing_ok=True)

        await self.hass.async_add_executor_job(_unlink)

    def _unlink(self, clip: Clip) -> None:
        self.clip_path(clip).unlink(missing_ok=True)
        self.thumbnail_path(clip).unlink(missing_ok=True)

    async def async_apply_retention(
        self, now: datetime, max_age: timedelta, max_bytes: int
    ) -> list[str]:
        """Remove what the retention policy says; return the removed ids."""
        expired = select_expired(self.clips.values(), now, max_age, max_bytes)
        if expired:
            LOGGER.debug("Retention removes %s clip(s)", len(expired))
            await self.async_delete(self.clips[clip_id] for clip_id in expired)
        return expired

    async def async_remove_all(self) -> None:
        """Delete every clip and the index (when the entry is removed)."""
        await self._store.async_remove()
        await self.hass.async_add_executor_job(shutil.rmtree, self.directory, True)


def _size(path: Path) -> int:
    return path.stat().st_size
