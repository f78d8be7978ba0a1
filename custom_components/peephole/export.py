"""Evidence export: a zip of chosen clips with a manifest of SHA-256 hashes.

Pure Python; every function here blocks (run it in the executor). The clips go in
as stored (already masked: nothing is decoded or re-encoded), together with
``manifest.json`` (hashes, the masks in force, the share record, if any) and
``SHA256SUMS`` (``sha256sum -c`` compatible). The zip is written under a temporary
name and renamed, so an export is either complete or absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import hashlib
import json
import os
from pathlib import Path
import re
import secrets
from typing import Any, Final
import zipfile

MANIFEST_FORMAT: Final = "peephole-export/1"
EXPORT_RE: Final = re.compile(r"^export-(\d{8}T\d{6})-[0-9a-f]{8}\.zip$")
TEMP_SUFFIX: Final = ".tmp"
CHUNK: Final = 1024 * 1024
STALE_TEMP_SECONDS: Final = 3600


class ExportError(Exception):
    """The export could not be written (nothing was left behind)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportClip:
    """One clip to export: its stored file and what the manifest says about it."""

    clip_id: str
    path: Path
    start: str
    duration: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportResult:
    """A written export."""

    path: Path
    sha256: str
    manifest: dict[str, Any]


def new_export_name(now: datetime) -> str:
    """Return the file name of a new export."""
    return f"export-{now.astimezone(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.zip"


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_export(
    directory: Path,
    clips: Sequence[ExportClip],
    *,
    now: datetime,
    entry: Mapping[str, Any],
    masks: Sequence[Mapping[str, Any]],
    share: Mapping[str, Any] | None,
) -> ExportResult:
    """Write the zip of ``clips`` into ``directory`` and return it (blocking)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / new_export_name(now)
    temp = target.with_name(target.name + TEMP_SUFFIX)
    entries: list[dict[str, Any]] = []
    try:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as archive:
            for clip in clips:
                name = f"clips/{clip.clip_id}.mp4"
                digest = hashlib.sha256()
                size = 0
                with (
                    clip.path.open("rb") as source,
                    archive.open(name, "w", force_zip64=True) as out,
                ):
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                entries.append(
                    {
                        "id": clip.clip_id,
                        "file": name,
                        "sha256": digest.hexdigest(),
                        "size": size,
                        "start": clip.start,
                        "duration": clip.duration,
                    }
                )
            manifest = {
                "format": MANIFEST_FORMAT,
                "created": now.astimezone(UTC).isoformat(),
                "entry": dict(entry),
                "masks": [dict(mask) for mask in masks],
                "share": dict(share) if share is not None else None,
                "clips": entries,
                "note": (
                    "Clips are exported as stored: privacy masks were burned in "
                    "before they were written."
                ),
            }
            manifest_text = json.dumps(manifest, indent=2, sort_keys=True)
            archive.writestr("manifest.json", manifest_text)
            sums = "".join(f"{e['sha256']}  {e['file']}\n" for e in entries)
            sums += (
                f"{hashlib.sha256(manifest_text.encode()).hexdigest()}  manifest.json\n"
            )
            archive.writestr("SHA256SUMS", sums)
        with temp.open("rb+") as file:
            os.fsync(file.fileno())
        temp.chmod(0o600)
        temp.replace(target)
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise ExportError(str(err)) from err
    return ExportResult(path=target, sha256=sha256_file(target), manifest=manifest)


def export_time(name: str) -> datetime | None:
    """Return the creation time encoded in an export's file name, or None."""
    match = EXPORT_RE.fullmatch(name)
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


def apply_retention(
    directory: Path, now: datetime, max_age: timedelta, max_bytes: int | None = None
) -> list[str]:
    """Apply the clips' retention to exports (blocking).

    Deletes exports older than ``max_age``, then the oldest ones (never the
    newest) while they take more than ``max_bytes`` together, and leftover
    temp files.
    """
    removed: list[str] = []
    kept: list[tuple[datetime, str, int]] = []
    for path in _files(directory):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # removed meanwhile (another prune)
        if path.name.endswith(TEMP_SUFFIX):
            # Left by a crash (an export being written now is younger than this).
            if stat.st_mtime < now.timestamp() - STALE_TEMP_SECONDS:
                path.unlink(missing_ok=True)
        elif (created := export_time(path.name)) is not None:
            if created + max_age < now:
                path.unlink(missing_ok=True)
                removed.append(path.name)
            else:
                kept.append((created, path.name, stat.st_size))
    if max_bytes is not None:
        total = sum(size for _, _, size in kept)
        # Oldest first, and never the newest: an export just made is for handing
        # over, even when it alone is over the limit.
        for _, name, size in sorted(kept)[:-1]:
            if total <= max_bytes:
                break
            (directory / name).unlink(missing_ok=True)
            removed.append(name)
            total -= size
    return removed


def _files(directory: Path) -> list[Path]:
    """Regular files (not links) directly in ``directory``; none if it is missing."""
    if not directory.is_dir():
        return []
    return [p for p in directory.iterdir() if p.is_file() and not p.is_symlink()]
