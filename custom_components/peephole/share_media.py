"""The files shares serve and hand over: shared snapshots and evidence exports.

A snapshot share serves one masked snapshot, taken through the one masking path
and kept as a private file (mode 0600) under the entry's clip folder until the
share ends. An evidence export is a zip of chosen clips as stored (masked), written
by ``export.py`` in the executor. Both follow the clips' retention.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util

from . import clips as clip_files
from .clips import write_atomic
from .const import DOMAIN
from .doorbell import PeepholeConfigEntry
from .export import ExportClip, ExportError, ExportResult, write_export
from .zones import zones_to_storage


def shares_dir(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the folder of an entry's shared snapshots."""
    return clip_files.clips_root(hass) / entry_id / "shared"


def snapshot_path(hass: HomeAssistant, entry_id: str, share_id: str) -> Path:
    """Return the file of a snapshot share."""
    return shares_dir(hass, entry_id) / f"{share_id}.jpg"


def exports_dir(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the folder of an entry's evidence exports."""
    return clip_files.clips_root(hass) / entry_id / "exports"


def clip_path(entry: PeepholeConfigEntry, clip_id: str) -> Path | None:
    """Return the stored file of an indexed clip (None: unknown, or not recording)."""
    recorder = entry.runtime_data.recorder
    if recorder is None or (clip := recorder.store.get(clip_id)) is None:
        return None
    return recorder.store.clip_path(clip)


def is_file(path: Path) -> bool:
    """Return True for a regular file that is not a link (blocking)."""
    return path.is_file() and not path.is_symlink()


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically, readable by Home Assistant only (blocking)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    path.chmod(0o600)


async def async_take_snapshot(entry: PeepholeConfigEntry) -> bytes:
    """Take one masked snapshot (the one masking path); refuse in privacy mode."""
    peephole = entry.runtime_data
    turned_on = peephole.privacy_turned_on
    if not peephole.privacy_mode:
        image = await peephole.async_masked_image()
        # (Privacy mode that came on and went off again meanwhile: the image is
        # the placeholder, not worth sharing.)
        if not peephole.private_since(turned_on):
            return image
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="privacy_mode_on",
        translation_placeholders={"name": entry.title},
    )


def check_clips(entry: PeepholeConfigEntry, clip_ids: list[str]) -> None:
    """Raise a translated validation error unless every clip is indexed."""
    if entry.runtime_data.recorder is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="recording_disabled",
            translation_placeholders={"name": entry.title},
        )
    for clip_id in clip_ids:
        if clip_path(entry, clip_id) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_clip",
                translation_placeholders={"clip_id": clip_id, "name": entry.title},
            )


async def async_export_clips(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    clip_ids: list[str],
    share_record: dict[str, Any] | None,
) -> ExportResult:
    """Write the evidence zip of indexed clips (checked by ``check_clips``)."""
    peephole = entry.runtime_data
    recorder = peephole.recorder
    assert recorder is not None  # noqa: S101 - checked by check_clips
    export_clips = []
    for clip_id in clip_ids:
        clip = recorder.store.get(clip_id)
        assert clip is not None  # noqa: S101 - checked by check_clips
        export_clips.append(
            ExportClip(
                clip_id=clip.id,
                path=recorder.store.clip_path(clip),
                start=clip.start.isoformat(),
                duration=clip.duration,
            )
        )
    try:
        return await hass.async_add_executor_job(
            partial(
                write_export,
                exports_dir(hass, entry.entry_id),
                export_clips,
                now=dt_util.utcnow(),
                entry={
                    "entry_id": entry.entry_id,
                    "title": entry.title,
                    "camera": peephole.masked_camera_entity_id,
                },
                masks=zones_to_storage(list(peephole.zones)),
                share=share_record,
            )
        )
    except ExportError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="export_failed",
            translation_placeholders={"error": str(err)},
        ) from err
