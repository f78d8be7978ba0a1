"""The recording building blocks on their own: buffer, encoder, probe, clip store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
import shutil

from homeassistant.core import Event, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.peephole.clips import (
    Clip,
    ClipStore,
    Pending,
    ProbeError,
    clip_id_time,
    is_clip_id,
    new_clip_id,
    scan,
    write_atomic,
)
from custom_components.peephole.const import DOMAIN, EVENT_CLIP_SAVED
from custom_components.peephole.recorder import async_probe
from custom_components.peephole.recording import NOT_RECORDED_MEMORY

from .conftest import failing_writes_after, refused, wait_for

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


def test_clip_ids() -> None:
    start = datetime(2026, 11, 27, 7, 30, 5, tzinfo=UTC)
    clip_id = new_clip_id(start)
    assert is_clip_id(clip_id)
    assert clip_id_time(clip_id) == start
    for bad in ("../x", "20261127T073005-zzzzzzzz", "", None, 5, "a" * 300):
        assert not is_clip_id(bad)
    with pytest.raises(ValueError, match="not a clip id"):
        clip_id_time("../../etc/passwd")
    assert Clip.from_dict({"id": "nope"}) is None
    assert Clip.from_dict({"id": clip_id, "start": "not a date"}) is None


def test_scan_and_atomic_write(tmp_path: Path) -> None:
    assert scan(tmp_path / "missing").final == {}
    clip_id = new_clip_id(datetime.now(UTC))
    (tmp_path / f"{clip_id}.mp4").write_bytes(b"1234")
    (tmp_path / f"{clip_id}.partial.mp4").write_bytes(b"")
    (tmp_path / f"{clip_id}.jpg").write_bytes(b"j")
    (tmp_path / "x.jpg.tmp").write_bytes(b"t")
    (tmp_path / "notes.txt").write_bytes(b"n")
    (tmp_path / "dir.mp4").mkdir()
    (tmp_path / f"{new_clip_id(datetime.now(UTC))}.mp4").symlink_to("/etc/hostname")
    found = scan(tmp_path)
    assert found.final == {clip_id: 4}
    assert found.partial == [clip_id]
    assert found.thumbnails == {clip_id}
    assert found.garbage == [tmp_path / "x.jpg.tmp"]
    target = tmp_path / "out.jpg"
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data"
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no-such-dir" / "out.jpg", b"data")
    assert not list((tmp_path / "dir.mp4").iterdir())


async def test_probe_refuses_what_does_not_play(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 1000)
    assert await async_probe(FFMPEG, garbage, 30) is None


async def test_probe_that_cannot_tell_raises(tmp_path: Path) -> None:
    """No ffmpeg, or one that takes too long: not "does not play" (it may)."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 1000)
    with pytest.raises(ProbeError, match="did not start"):
        await async_probe(str(tmp_path / "no-ffmpeg"), clip, 30)
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    with pytest.raises(ProbeError, match="took more than"):
        await async_probe(str(slow), clip, 0.2)


@pytest.fixture
async def store(hass: HomeAssistant, tmp_path: Path) -> ClipStore:
    """An empty clip store in ``tmp_path``."""
    clips = ClipStore(hass, "entry")
    clips.directory = tmp_path
    await clips.async_load()
    return clips


def _clip_ids(count: int) -> list[str]:
    """``count`` clip ids, a minute apart, newest first."""
    now = datetime.now(UTC).replace(microsecond=0)
    return [new_clip_id(now - timedelta(minutes=m)) for m in range(1, count + 1)]


async def test_reconcile_drops_and_recovers(store: ClipStore, tmp_path: Path) -> None:
    gone, empty, orphan, broken, replaced = _clip_ids(5)
    for clip_id in (gone, empty):
        store.clips[clip_id] = Clip(
            id=clip_id, start=clip_id_time(clip_id), duration=1, size=10, trigger="ring"
        )
    (tmp_path / f"{empty}.mp4").write_bytes(b"")
    (tmp_path / f"{orphan}.mp4").write_bytes(b"complete")
    (tmp_path / f"{broken}.mp4").write_bytes(b"broken")
    # An empty clip file next to a partial one that plays: the partial is the clip.
    (tmp_path / f"{replaced}.mp4").write_bytes(b"")
    (tmp_path / f"{replaced}.partial.mp4").write_bytes(b"fragments")

    async def probe(path: Path) -> float | None:
        return 2.0 if path.name.startswith((orphan, replaced)) else None

    await store.async_reconcile(probe)
    assert set(store.clips) == {orphan, replaced}
    assert store.clips[orphan].duration == 2.0
    assert store.clips[orphan].trigger == "unknown"
    assert store.clips[replaced].incomplete
    # The empty file goes (nothing in it); one that does not play is left alone.
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f"{orphan}.mp4", f"{broken}.mp4", f"{replaced}.mp4"]
    )
    assert (tmp_path / f"{replaced}.mp4").read_bytes() == b"fragments"


async def test_reconcile_partial_next_to_a_clip_file(
    store: ClipStore, tmp_path: Path
) -> None:
    """A partial clip next to a clip file of the same id: the one that plays stays.

    An indexed clip recovered from its partial keeps its trigger and keep flag.
    """
    whole, broken = _clip_ids(2)
    store.clips[broken] = Clip(
        id=broken,
        start=clip_id_time(broken),
        duration=1,
        size=6,
        trigger="ring",
        keep=True,
    )
    for clip_id in (whole, broken):
        (tmp_path / f"{clip_id}.mp4").write_bytes(b"final")
        (tmp_path / f"{clip_id}.partial.mp4").write_bytes(b"partial")

    async def probe(path: Path) -> float | None:
        broken_final = path.name == f"{broken}.mp4"
        return None if broken_final else (3.0 if "partial" in path.name else 5.0)

    await store.async_reconcile(probe)
    assert (tmp_path / f"{whole}.mp4").read_bytes() == b"final"
    assert (tmp_path / f"{broken}.mp4").read_bytes() == b"partial"
    assert not list(tmp_path.glob("*.partial.mp4"))
    assert store.clips[whole].duration == 5.0
    recovered = store.clips[broken]
    assert (recovered.duration, recovered.incomplete) == (3.0, True)
    assert (recovered.trigger, recovered.keep) == ("ring", True)


async def test_reconcile_leaves_what_ffmpeg_could_not_check(
    store: ClipStore, tmp_path: Path
) -> None:
    """ffmpeg missing or too slow at start-up: nothing is removed, all is checked later."""
    partial, final = _clip_ids(2)
    (tmp_path / f"{partial}.partial.mp4").write_bytes(b"fragments")
    (tmp_path / f"{final}.mp4").write_bytes(b"complete")
    for clip_id in (partial, final):
        (tmp_path / f"{clip_id}.jpg").write_bytes(b"jpeg")
    files = sorted(path.name for path in tmp_path.iterdir())

    async def probe(path: Path) -> float | None:
        raise ProbeError("ffmpeg took more than 30 s")

    await store.async_reconcile(probe)
    assert not store.clips
    assert sorted(path.name for path in tmp_path.iterdir()) == files

    async def later(path: Path) -> float | None:
        return 2.0

    await store.async_reconcile(later)
    assert set(store.clips) == {partial, final}
    assert all(clip.thumbnail for clip in store.clips.values())
    with pytest.raises(ValueError, match="not a clip id"):
        store.partial_path("../x")


async def test_reconcile_removes_the_thumbnails_of_lost_clips(
    store: ClipStore, tmp_path: Path
) -> None:
    """A kill just after a clip's thumbnail is written leaves it without a clip.

    (Found by test_kill_home_assistant.py: a real SIGKILL of Home Assistant and its
    ffmpeg as a clip starts leaves ``<id>.jpg`` and no partial file, or one with no
    fragment.) Nothing indexes such a thumbnail and retention never removes it.
    """
    kept, killed, unplayable, recovered, dropped = _clip_ids(5)
    for clip_id in (kept, dropped):
        store.clips[clip_id] = Clip(
            id=clip_id,
            start=clip_id_time(clip_id),
            duration=1,
            size=8,
            trigger="ring",
            thumbnail=True,
        )
    (tmp_path / f"{kept}.mp4").write_bytes(b"complete")
    (tmp_path / f"{unplayable}.partial.mp4").write_bytes(b"header only")
    (tmp_path / f"{recovered}.partial.mp4").write_bytes(b"fragments")
    for clip_id in (kept, killed, unplayable, recovered, dropped):
        (tmp_path / f"{clip_id}.jpg").write_bytes(b"jpeg")
    (tmp_path / "notes.jpg").write_bytes(b"not ours")

    async def probe(path: Path) -> float | None:
        return 2.0 if path.name.startswith((kept, recovered)) else None

    await store.async_reconcile(probe)
    assert set(store.clips) == {kept, recovered}
    assert store.clips[recovered].thumbnail
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [
            f"{kept}.mp4",
            f"{kept}.jpg",
            f"{recovered}.mp4",
            f"{recovered}.jpg",
            "notes.jpg",
        ]
    )


async def test_a_clip_lost_while_recording_leaves_no_thumbnail(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The first write fails (nothing written): the clip is lost, its files go too."""
    recorder = init_integration.runtime_data.recorder
    await wait_for(hass, lambda: recorder.ring.latest)
    with failing_writes_after(0):
        clip_id = recorder.async_trigger("action", 1)
        session = recorder._unsaved[clip_id]
        await wait_for(hass, lambda: clip_id not in recorder._unsaved)
    await hass.async_block_till_done()
    assert session.thumbnail_written  # as the clip started
    assert not recorder.store.clips
    assert not list(recorder.store.directory.iterdir())
    # Keeping it says it was not recorded (not that there never was such a clip).
    keep = {
        "config_entry_id": init_integration.entry_id,
        "clip_id": clip_id,
        "keep": True,
    }
    error = await refused(hass, "keep_clip", keep)
    assert error.translation_key == "clip_not_recorded"


async def test_a_clip_deleted_as_it_is_saved_is_not_said_to_be_unrecorded(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An automation deletes each clip as it is saved: that clip was recorded."""
    recorder = init_integration.runtime_data.recorder
    await wait_for(hass, lambda: recorder.ring.latest)
    entry_id = init_integration.entry_id

    @callback
    def delete(event: Event) -> None:
        data = {"config_entry_id": entry_id, "clip_id": event.data["clip_id"]}
        hass.async_create_task(
            hass.services.async_call(DOMAIN, "delete_clip", data, blocking=True)
        )

    hass.bus.async_listen(EVENT_CLIP_SAVED, delete)
    clip_id = recorder.async_trigger("action", 0.5)
    await wait_for(hass, lambda: clip_id not in recorder._unsaved)
    await hass.async_block_till_done()
    assert recorder.store.get(clip_id) is None
    assert recorder.not_recorded(clip_id) is None
    keep = {"config_entry_id": entry_id, "clip_id": clip_id, "keep": True}
    assert (await refused(hass, "keep_clip", keep)).translation_key == "unknown_clip"


async def test_clips_not_recorded_are_remembered_up_to_a_limit(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The ids of clips never saved are remembered, the oldest forgotten first."""
    recorder = init_integration.runtime_data.recorder
    await wait_for(hass, lambda: recorder.ring.latest)
    lost = []
    with failing_writes_after(0):
        for _ in range(NOT_RECORDED_MEMORY + 1):
            lost.append(clip_id := recorder.async_trigger("action", 0.01))
            await wait_for(hass, lambda: clip_id not in recorder._unsaved)
    assert len(set(lost)) == len(lost)
    assert recorder.not_recorded(lost[0]) is None
    assert all(recorder.not_recorded(clip_id) is False for clip_id in lost[1:])


async def test_pending_records_survive_a_restart_and_reconcile(
    hass: HomeAssistant, store: ClipStore, tmp_path: Path
) -> None:
    """What is known of clips being recorded is on disk, and start-up uses it.

    Four clips were being recorded when Home Assistant died: one left a partial
    file that plays (recovered with its trigger and keep flag), one was renamed
    but not indexed yet (indexed with them), one left nothing (its record goes),
    one ffmpeg could not check (its record stays for the next start).
    """
    partial, renamed, lost, unchecked = _clip_ids(4)
    store.begin(partial, "ring")
    store.begin(renamed, "motion")
    store.begin(lost, "ring")
    store.begin(unchecked, "action")
    await store.async_save()
    assert await store.async_keep_pending(partial, keep=True)
    assert await store.async_keep_pending(renamed, keep=True)
    assert not await store.async_keep_pending(new_clip_id(datetime.now(UTC)), True)

    # Read back from the Store, as at the next start.
    again = ClipStore(hass, "entry")
    again.directory = tmp_path
    await again.async_load()
    assert again.pending == store.pending
    assert again.pending[partial].keep
    assert not again.pending[lost].keep

    (tmp_path / f"{partial}.partial.mp4").write_bytes(b"fragments")
    (tmp_path / f"{renamed}.mp4").write_bytes(b"complete")
    (tmp_path / f"{unchecked}.partial.mp4").write_bytes(b"fragments")

    async def probe(path: Path) -> float | None:
        if path.name.startswith(unchecked):
            raise ProbeError("too slow")
        return 2.0

    await again.async_reconcile(probe)
    assert (again.clips[partial].trigger, again.clips[partial].keep) == ("ring", True)
    assert again.clips[partial].incomplete
    assert (again.clips[renamed].trigger, again.clips[renamed].keep) == (
        "motion",
        True,
    )
    assert lost not in again.clips
    assert set(again.pending) == {unchecked}
    # ... and that is what is on disk.
    third = ClipStore(hass, "entry")
    third.directory = tmp_path
    await third.async_load()
    assert set(third.pending) == {unchecked}
    assert third.clips[partial].keep


async def test_indexing_takes_the_pending_keep_flag(store: ClipStore) -> None:
    (clip_id,) = _clip_ids(1)
    store.begin(clip_id, "ring")
    assert await store.async_keep_pending(clip_id, keep=True)
    clip = Clip(
        id=clip_id, start=clip_id_time(clip_id), duration=1, size=1, trigger="ring"
    )
    await store.async_add(clip)
    assert store.clips[clip_id].keep
    assert store.pending == {}
    await store.async_forget_pending(clip_id)  # nothing pending: no change
    assert store.clips[clip_id].keep


def test_pending_records_from_storage_are_checked() -> None:
    (clip_id,) = _clip_ids(1)
    assert Pending.from_dict({"id": clip_id, "trigger": "ring", "keep": True}) == (
        clip_id,
        Pending("ring", keep=True),
    )
    assert Pending.from_dict({"id": clip_id, "trigger": "x" * 100})[1].trigger == (
        "x" * 32
    )
    # keep is true only when it is exactly true.
    assert not Pending.from_dict({"id": clip_id, "trigger": "ring", "keep": 1})[1].keep
    for bad in (
        None,
        "x",
        {"id": "../etc", "trigger": "ring"},
        {"id": clip_id},
        {"id": clip_id, "trigger": 5},
    ):
        assert Pending.from_dict(bad) is None
