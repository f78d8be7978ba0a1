"""Browse and play Peephole clips in the media browser: doorbell → day → clip."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from homeassistant.components.media_player.const import MediaClass, MediaType
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .clips import Clip
from .const import DOMAIN
from .doorbell import PeepholeConfigEntry
from .views import clip_url, thumbnail_url

MIME_TYPE = "video/mp4"


async def async_get_media_source(hass: HomeAssistant) -> PeepholeMediaSource:
    """Return Peephole's media source."""
    return PeepholeMediaSource(hass)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A media-source identifier: ``entry_id[/day[/clip_id]]``."""

    entry_id: str | None = None
    day: str | None = None
    clip_id: str | None = None

    @classmethod
    def parse(cls, identifier: str | None) -> Identifier:
        """Split an identifier (its parts are validated where they are used)."""
        parts = (identifier or "").split("/") if identifier else []
        if len(parts) > 3 or any(not part for part in parts):
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="media_invalid_identifier",
                translation_placeholders={"identifier": str(identifier)},
            )
        return cls(*parts)

    def __str__(self) -> str:
        """Return the identifier."""
        return "/".join(p for p in (self.entry_id, self.day, self.clip_id) if p)


def _day(clip: Clip) -> str:
    return dt_util.as_local(clip.start).date().isoformat()


class PeepholeMediaSource(MediaSource):
    """Clips of every loaded Peephole doorbell."""

    name = "Peephole"

    def __init__(self, hass: HomeAssistant) -> None:
        """Initialise the media source."""
        super().__init__(DOMAIN)
        self.hass = hass

    def _entries(self) -> list[PeepholeConfigEntry]:
        return [
            entry
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry.state is ConfigEntryState.LOADED
            and entry.runtime_data.recorder is not None
        ]

    def _entry(self, entry_id: str | None) -> PeepholeConfigEntry | None:
        return next((e for e in self._entries() if e.entry_id == entry_id), None)

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        """Resolve a clip to the relative URL of Peephole's clip view."""
        try:
            ident = Identifier.parse(item.identifier)
        except BrowseError as err:
            raise Unresolvable(
                translation_domain=DOMAIN,
                translation_key="media_invalid_identifier",
                translation_placeholders={"identifier": str(item.identifier)},
            ) from err
        entry = self._entry(ident.entry_id)
        recorder = entry.runtime_data.recorder if entry else None
        clip = recorder.store.get(ident.clip_id) if recorder else None
        if entry is None or clip is None:
            raise Unresolvable(
                translation_domain=DOMAIN,
                translation_key="media_unknown_clip",
                translation_placeholders={"identifier": str(item.identifier)},
            )
        return PlayMedia(clip_url(entry.entry_id, clip.id), MIME_TYPE)

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        """Browse doorbells, then days, then clips."""
        ident = Identifier.parse(item.identifier)
        if ident.entry_id is None:
            return self._directory(
                Identifier(),
                self.name,
                [
                    self._directory(Identifier(entry.entry_id), entry.title, None)
                    for entry in self._entries()
                ],
            )
        entry = self._entry(ident.entry_id)
        if entry is None or entry.runtime_data.recorder is None:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="media_unknown_doorbell",
                translation_placeholders={"entry_id": str(ident.entry_id)},
            )
        clips = entry.runtime_data.recorder.store.sorted()
        if ident.day is None:
            days = [day for day, _ in groupby(clips, key=_day)]
            return self._directory(
                ident,
                entry.title,
                [
                    self._directory(Identifier(entry.entry_id, day), day, None)
                    for day in days
                ],
            )
        if ident.clip_id is not None:
            raise BrowseError(
                translation_domain=DOMAIN,
                translation_key="media_not_a_folder",
                translation_placeholders={"identifier": str(ident)},
            )
        return self._directory(
            ident,
            f"{entry.title} {ident.day}",
            [self._clip(entry, clip) for clip in clips if _day(clip) == ident.day],
        )

    def _directory(
        self,
        ident: Identifier,
        title: str,
        children: list[BrowseMediaSource] | None,
    ) -> BrowseMediaSource:
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=str(ident) or None,
            media_class=MediaClass.DIRECTORY,
            media_content_type=MediaType.VIDEO,
            title=title,
            can_play=False,
            can_expand=True,
            children=children,
            children_media_class=MediaClass.VIDEO
            if ident.day
            else MediaClass.DIRECTORY,
        )

    def _clip(self, entry: PeepholeConfigEntry, clip: Clip) -> BrowseMediaSource:
        start = dt_util.as_local(clip.start)
        title = f"{start:%H:%M:%S} {clip.trigger} ({clip.duration:.0f} s)"
        if clip.keep:
            title += " ★"
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=str(Identifier(entry.entry_id, _day(clip), clip.id)),
            media_class=MediaClass.VIDEO,
            media_content_type=MIME_TYPE,
            title=title,
            can_play=True,
            can_expand=False,
            thumbnail=thumbnail_url(entry.entry_id, clip.id)
            if clip.thumbnail
            else None,
        )
