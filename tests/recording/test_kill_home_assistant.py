"""A real Home Assistant SIGKILLed mid-clip; the next start-up reconciles the clips.

The demo (`python -m tools.demo`) runs Home Assistant in a process of its own, with
the emulated doorbell and Peephole recording (the default options). The test rings
the bell (a complete clip), starts a long clip with `peephole.record_clip` and
SIGKILLs, at one of two moments (``fragments``: once the clip's
``<id>.partial.mp4`` has grown by live fragments; ``thumbnail``: as soon as the
clip's thumbnail is written, before the clip's first fragment):

- ``home_assistant``: Home Assistant's process only, as the kernel's OOM killer
  would. The clip is muxed inside it (PyAV, a fragment per keyframe, each written
  as it is complete), so the file ends with the last whole fragment; it keeps its
  ``.partial.mp4`` name.
- ``process_group``: Home Assistant, the emulator and the demo at the same instant,
  as a power cut, ``docker kill`` or systemd's control-group kill do.

Before the kill the owner keeps the clip (``peephole.keep_clip``, as a notification's
Keep button does): the flag is on disk once the action answers, and the recovered
clip comes back kept, with its trigger.

Then Home Assistant starts again on the same configuration (without the doorbell:
Peephole reconciles its clip folder at set-up, before it needs the camera), and the
test checks through Home Assistant's APIs (the clips sensor, the media browser, the
clip view) and on disk that a killed clip that plays is indexed as incomplete and
plays with the real ffprobe, the complete clip is untouched, no partial, temporary
or orphaned file (a lost clip's thumbnail) remains, and the index points only at
existing, non-empty files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
import contextlib
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

import aiohttp
import psutil
import pytest

from tests.demo_process import (
    REPO,
    Demo,
    async_login,
    log_tails,
    running_demo,
    stop_group,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("PEEPHOLE_BROWSER_TESTS") != "1",
    reason="runs the whole demo (a real Home Assistant and the emulated doorbell) "
    "in subprocesses: scripts/test runs it in the floor leg (PEEPHOLE_BROWSER_TESTS=1)",
)

# The demo names the Peephole entry "Front door".
CLIPS_SENSOR = "sensor.front_door_clips"
RECORDING_SENSOR = "binary_sensor.front_door_recording"
FFPROBE = "/usr/bin/ffprobe"
# Recording options are the defaults: a clip ends at most 60 s after its start
# (5 s of pre-roll), so everything before the kill must happen well within that.
PARTIAL_GROWTH_TIMEOUT = 30
BAD_ENTRY_STATES = {"setup_error", "migration_error", "failed_unload"}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No in-process hass here: the demo runs its own Home Assistant."""


@pytest.fixture
def demo(tmp_path: Path, socket_enabled: None) -> Iterator[Demo]:
    """A running demo, in its own process group (killed after the test)."""
    with running_demo(tmp_path) as running:
        yield running


@contextlib.contextmanager
def home_assistant(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start Home Assistant alone on an existing configuration; stop it after."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - Home Assistant, fixed arguments
            [sys.executable, "-m", "homeassistant", "-c", str(config), "--skip-pip"],
            cwd=config.parent,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_group(process)


class Client:
    """Home Assistant's REST API, and deadline-bound waiting."""

    def __init__(
        self, session: aiohttp.ClientSession, demo: Demo, token: str = ""
    ) -> None:
        """Talk to the demo's Home Assistant (its address does not change)."""
        self.session = session
        self.demo = demo
        self.url = demo.url
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        """Return the authorisation header."""
        return {"Authorization": f"Bearer {self.token}"}

    async def until[T](
        self,
        what: str,
        check: Callable[[], Awaitable[T]],
        seconds: float,
        interval: float = 0.25,
    ) -> T:
        """Poll ``check`` until it returns something true; fail at the deadline."""
        deadline = time.monotonic() + seconds
        while True:
            if result := await check():
                return result
            if time.monotonic() > deadline:
                pytest.fail(
                    f"not within {seconds} s: {what}\n{log_tails(self.demo.directory)}"
                )
            await asyncio.sleep(interval)

    async def login(self) -> None:
        """Log in as the demo's user."""
        self.token = await async_login(
            self.session,
            self.url,
            self.demo.state["username"],
            self.demo.state["password"],
        )

    async def get(self, path: str) -> Any:
        """GET a JSON API."""
        return json.loads(await self.download(path))

    async def state(self, entity_id: str) -> str | None:
        """Return an entity's state (None if it has none)."""
        async with self.session.get(
            f"{self.url}/api/states/{entity_id}", headers=self.headers
        ) as response:
            if response.status == 404:
                return None
            assert response.status == 200, f"state of {entity_id}: {response.status}"
            return str((await response.json())["state"])

    async def peephole_entry(self) -> dict[str, Any]:
        """Return the demo's only Peephole config entry."""
        entries = await self.get("/api/config/config_entries/entry?domain=peephole")
        assert len(entries) == 1, entries
        entry: dict[str, Any] = entries[0]
        return entry

    async def download(self, path: str) -> bytes:
        """GET a file (a clip from Peephole's clip view, or a JSON answer)."""
        async with self.session.get(
            f"{self.url}{path}", headers=self.headers
        ) as response:
            assert response.status == 200, f"GET {path}: {response.status}"
            return await response.read()


class Websocket:
    """An authenticated websocket connection to Home Assistant."""

    def __init__(self, connection: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated connection."""
        self.connection = connection
        self.next_id = 1

    async def command(self, message: dict[str, Any]) -> Any:
        """Send one command; return its result (fail on an error)."""
        message_id, self.next_id = self.next_id, self.next_id + 1
        await self.connection.send_json({"id": message_id, **message})
        async with asyncio.timeout(60):
            while True:
                reply = await self.connection.receive_json()
                if reply.get("id") == message_id:
                    break
        assert reply["success"], f"{message}: {reply}"
        return reply["result"]


@contextlib.asynccontextmanager
async def websocket(client: Client) -> Any:
    """Open the websocket API and authenticate."""
    async with client.session.ws_connect(f"{client.url}/api/websocket") as connection:
        assert (await connection.receive_json())["type"] == "auth_required"
        await connection.send_json({"type": "auth", "access_token": client.token})
        assert (await connection.receive_json())["type"] == "auth_ok"
        yield Websocket(connection)


async def press(demo: Demo) -> None:
    """Ring the emulated doorbell, as `scripts/demo press` does.

    (In a subprocess: the test's socket guard only lets it reach 127.0.0.1.)
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.demo",
        "--dir",
        str(demo.directory),
        "press",
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(60):
        out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    assert out.decode().startswith("ok pressed"), out.decode()


def read_index(config: Path, entry_id: str) -> dict[str, dict[str, Any]]:
    """Return Peephole's clip index (its private Store file) by clip id."""
    return _read_store(config, entry_id, "clips")


def read_pending(config: Path, entry_id: str) -> dict[str, dict[str, Any]]:
    """Return the clips being recorded, as Peephole's clip index has them."""
    return _read_store(config, entry_id, "recording")


def _read_store(config: Path, entry_id: str, key: str) -> dict[str, dict[str, Any]]:
    path = config / ".storage" / f"peephole.{entry_id}.clips"
    if not path.exists():
        return {}
    items = json.loads(path.read_text(encoding="utf-8"))["data"].get(key, [])
    return {item["id"]: item for item in items}


async def count_frames(path: Path) -> int:
    """Decode a video with the real ffprobe; return how many frames it decoded."""
    process = await asyncio.create_subprocess_exec(
        FFPROBE,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-count_frames",
        "-show_entries",
        "stream=nb_read_frames",
        "-of",
        "default=nokey=1:noprint_wrappers=1",
        str(path),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, f"ffprobe {path.name}: {err.decode()}"
    return int(out.decode().strip() or 0)


async def browse_clips(ws: Websocket, entry_id: str) -> dict[str, str]:
    """Return every clip the media browser lists for the entry: id → content id."""
    root = await ws.command(
        {
            "type": "media_source/browse_media",
            "media_content_id": f"media-source://peephole/{entry_id}",
        }
    )
    clips: dict[str, str] = {}
    for day in root["children"]:
        listing = await ws.command(
            {
                "type": "media_source/browse_media",
                "media_content_id": day["media_content_id"],
            }
        )
        for child in listing["children"]:
            clips[child["media_content_id"].rsplit("/", 1)[-1]] = child[
                "media_content_id"
            ]
    return clips


async def wait_for_growth(client: Client, directory: Path) -> Path:
    """Wait until a clip's partial file exists and has grown twice (live fragments)."""
    sizes: list[int] = []

    async def grown() -> Path | None:
        partials = list(directory.glob("*.partial.mp4"))
        if len(partials) != 1:
            return None
        size = partials[0].stat().st_size
        if not sizes or size > sizes[-1]:
            sizes.append(size)
        return partials[0] if len(sizes) >= 3 and sizes[0] > 0 else None

    return await client.until(
        f"a partial clip grows in {directory} (sizes seen: {sizes})",
        grown,
        PARTIAL_GROWTH_TIMEOUT,
    )


async def wait_for_thumbnail(client: Client, directory: Path, known: set[str]) -> str:
    """Wait until a new clip's thumbnail is written; return the clip's id.

    Peephole writes it as the clip starts, before it writes a picture: a kill
    now finds at most the file's header (or no file at all), no fragment yet.
    """

    async def written() -> str | None:
        new = {path.name for path in directory.glob("*.jpg")} - known
        return new.pop().removesuffix(".jpg") if new else None

    return await client.until(
        f"a new clip's thumbnail in {directory}", written, 30, interval=0.005
    )


def group_members(pgid: int) -> list[psutil.Process]:
    """Return the live (not zombie) processes of a process group."""
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
            if (
                os.getpgid(process.pid) == pgid
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                members.append(process)
    return members


def home_assistant_of(demo: Demo) -> psutil.Process:
    """Return the demo's Home Assistant process (a child of the demo's)."""
    (hass,) = [
        child
        for child in psutil.Process(demo.process.pid).children()
        if "homeassistant" in child.cmdline()
    ]
    return hass


@pytest.mark.timeout(600)  # a whole Home Assistant, started twice
@pytest.mark.parametrize(
    ("kill", "moment"),
    [
        ("home_assistant", "fragments"),
        ("process_group", "fragments"),
        ("process_group", "thumbnail"),
    ],
)
async def test_sigkill_mid_clip_then_start_up_reconciles(
    demo: Demo, kill: str, moment: str
) -> None:
    """SIGKILL while a clip is written (see the module's docstring).

    ``moment``: ``fragments`` once the clip's partial file has grown by live
    fragments (start-up must index it as incomplete); ``thumbnail`` as soon as the
    clip's thumbnail is written, before a fragment is written (start-up may
    index what plays, and must leave nothing of the clip if nothing does).
    """
    async with aiohttp.ClientSession() as session:
        client = Client(session, demo)
        await client.login()
        entry_id = (await client.peephole_entry())["entry_id"]
        directory = demo.config / "peephole" / entry_id
        hass = home_assistant_of(demo)

        # A complete clip first: the doorbell rings (through ESPHome, for real).
        await press(demo)

        async def first_clip_saved() -> bool:
            return (
                await client.state(CLIPS_SENSOR) == "1"
                and await client.state(RECORDING_SENSOR) == "off"
            )

        await client.until("the ring's clip is saved", first_clip_saved, 120)
        (complete,) = read_index(demo.config, entry_id).values()
        assert not complete["incomplete"]

        # A long clip, killed while it is written.
        async with session.post(
            f"{client.url}/api/services/peephole/record_clip",
            headers=client.headers,
            json={"config_entry_id": entry_id, "duration": 600},
        ) as response:
            assert response.status == 200, await response.text()
        if moment == "fragments":
            clip_id = (await wait_for_growth(client, directory)).name.removesuffix(
                ".partial.mp4"
            )
            assert await client.state(RECORDING_SENSOR) == "on"
        else:
            clip_id = await wait_for_thumbnail(
                client, directory, {f"{complete['id']}.jpg"}
            )
        # The owner keeps the clip while it is recorded (a notification's Keep
        # button): once keep_clip answers, the flag is on disk.
        async with session.post(
            f"{client.url}/api/services/peephole/keep_clip",
            headers=client.headers,
            json={"config_entry_id": entry_id, "clip_id": clip_id},
        ) as response:
            assert response.status == 200, await response.text()
        assert read_pending(demo.config, entry_id)[clip_id] == {
            "id": clip_id,
            "trigger": "action",
            "keep": True,
        }
        partial = directory / f"{clip_id}.partial.mp4"
        size_at_kill = partial.stat().st_size if partial.exists() else None
        if kill == "home_assistant":
            os.kill(hass.pid, signal.SIGKILL)
        else:
            os.killpg(demo.process.pid, signal.SIGKILL)

        async def everything_stopped() -> bool:
            # The demo stops the emulator when its Home Assistant ends; anything
            # else left would still be in the demo's process group.
            return demo.process.poll() is not None and not group_members(
                demo.process.pid
            )

        await client.until(
            f"every process of the demo ends after the {kill} kill",
            everything_stopped,
            60,
        )
        size_after = partial.stat().st_size if partial.exists() else None
        print(  # noqa: T201 - what the kill left, in the test log
            f"{kill} kill at {moment}: {partial.name} was {size_at_kill} bytes, "
            f"{size_after} bytes once every process had ended"
        )
        # Killed mid-clip: only the complete clip is indexed.
        assert list(read_index(demo.config, entry_id)) == [complete["id"]]

        # Home Assistant starts again on the same configuration.
        with home_assistant(demo.config, demo.directory / "restarted.log") as process:

            async def logged_in() -> bool:
                if process.poll() is not None:
                    pytest.fail(
                        f"Home Assistant exited ({process.returncode}):\n"
                        f"{log_tails(demo.directory)}"
                    )
                try:
                    await client.login()
                except aiohttp.ClientError:
                    return False
                return True

            await client.until("Home Assistant is up again", logged_in, 180)

            async def peephole_loaded() -> bool:
                state = (await client.peephole_entry())["state"]
                assert state not in BAD_ENTRY_STATES, log_tails(demo.directory)
                return bool(state == "loaded")

            await client.until("Peephole is loaded again", peephole_loaded, 120)
            await check_reconciled(
                client,
                demo,
                entry_id,
                complete,
                clip_id,
                must_recover=moment == "fragments",
            )


async def check_reconciled(
    client: Client,
    demo: Demo,
    entry_id: str,
    complete: dict[str, Any],
    clip_id: str,
    *,
    must_recover: bool,
) -> None:
    """The killed clip is indexed as incomplete if it plays; nothing else is left."""
    directory = demo.config / "peephole" / entry_id
    index = read_index(demo.config, entry_id)
    print(  # noqa: T201 - what start-up made of the clips, in the test log
        f"after start-up: index {sorted(index)}, "
        f"files {sorted(path.name for path in directory.iterdir())}"
    )
    assert index[complete["id"]] == complete
    if must_recover or clip_id in index:
        assert set(index) == {complete["id"], clip_id}
        recovered = index[clip_id]
        assert recovered["incomplete"], recovered
        # What keep_clip said while it was recorded, and its trigger, survive.
        assert recovered["keep"] is True, recovered
        assert recovered["trigger"] == "action", recovered
        assert recovered["duration"] > 0
    else:
        assert set(index) == {complete["id"]}
    assert read_pending(demo.config, entry_id) == {}

    # The index points only at existing, non-empty files, and nothing else is there.
    expected: set[str] = set()
    for clip in index.values():
        mp4 = directory / f"{clip['id']}.mp4"
        assert mp4.is_file(), f"the index points at a missing {mp4.name}"
        assert mp4.stat().st_size == clip["size"] > 0, clip
        expected.add(mp4.name)
        if clip["thumbnail"]:
            jpg = directory / f"{clip['id']}.jpg"
            assert jpg.stat().st_size > 0, f"empty or missing {jpg.name}"
            expected.add(jpg.name)
    assert {path.name for path in directory.iterdir()} == expected

    # Through Home Assistant: the sensor, the media browser, the clip view.
    assert await client.state(CLIPS_SENSOR) == str(len(index))
    async with websocket(client) as ws:
        listed = await browse_clips(ws, entry_id)
        assert set(listed) == set(index)
        for listed_id, content_id in listed.items():
            resolved = await ws.command(
                {"type": "media_source/resolve_media", "media_content_id": content_id}
            )
            assert resolved["mime_type"] == "video/mp4"
            data = await client.download(resolved["url"])
            on_disk = directory / f"{listed_id}.mp4"
            assert data == on_disk.read_bytes()
            downloaded = demo.directory / f"downloaded-{listed_id}.mp4"
            downloaded.write_bytes(data)
            frames = await count_frames(downloaded)
            assert frames >= 1, f"{listed_id} does not play"
            print(  # noqa: T201 - what start-up made of the clips, in the test log
                f"{listed_id}: {len(data)} bytes, {frames} frames, "
                f"incomplete={index[listed_id]['incomplete']}, "
                f"duration={index[listed_id]['duration']}"
            )
