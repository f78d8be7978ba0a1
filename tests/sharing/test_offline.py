"""No way out, end to end: a real recorded clip is set up, shared, fetched and exported.

Every outbound path Python offers is recorded (and anything but loopback refused) for
the whole run: ``socket.socket.connect``/``connect_ex``, ``socket.create_connection``,
``socket.getaddrinfo`` and the event loop's ``create_connection``/``getaddrinfo``/
``sock_connect``. ffmpeg is started for real; every command line it gets is recorded
and must not name a network URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import hashlib
from http import HTTPStatus
import ipaddress
import json
from pathlib import Path
import socket
from typing import Any
from unittest.mock import patch
import zipfile

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.const import (
    CONF_FEED_FPS,
    CONF_MAX_CLIP_LENGTH,
    CONF_MIN_FREE_MB,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
    CONF_ZONES,
    DOMAIN,
    EVENT_CLIP_SAVED,
)
from tests.conftest import RING_EVENT, SourceCamera
from tests.recording.conftest import ClockCamera

from .conftest import RECIPIENTS, ZONE, call

FPS = 5
LOOPBACK_NAMES = {"127.0.0.1", "localhost"}


@pytest.fixture
def source_camera() -> SourceCamera:
    """A source camera whose frames show when they were taken."""
    return ClockCamera()


@pytest.fixture
def config_entry(entry_data: dict[str, Any]) -> MockConfigEntry:
    """A recording entry (short pre/post-roll) with a zone and the recipients."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data=entry_data,
        options={
            CONF_RECORD: True,
            CONF_PRE_ROLL: 1.0,
            CONF_POST_ROLL: 1.0,
            CONF_MAX_CLIP_LENGTH: 4.0,
            CONF_FEED_FPS: FPS,
            CONF_MIN_FREE_MB: 0,
            CONF_ZONES: [ZONE],
            "recipients": RECIPIENTS,
        },
        unique_id="offline",
    )


def _host(address: Any) -> str:
    """The host part of a socket address (a path for AF_UNIX)."""
    if isinstance(address, tuple):
        return str(address[0])
    return str(address)


def _loopback(host: Any) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard, no lookup
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


class NetworkLog:
    """Record every outbound attempt; refuse anything that is not loopback."""

    def __init__(self) -> None:
        """Start empty."""
        self.attempts: list[tuple[str, Any]] = []
        self.commands: list[list[str]] = []
        self.loop_class: type | None = None

    def note(self, kind: str, target: Any, family: int | None = None) -> None:
        """Record one attempt and block it unless it stays on this host."""
        if family == socket.AF_UNIX:
            self.attempts.append((f"{kind}/unix", target))
            return
        self.attempts.append((kind, target))
        if not _loopback(target):
            raise OSError(f"outbound {kind} to {target!r} blocked by the test")


@pytest.fixture
async def network() -> AsyncGenerator[NetworkLog]:
    """Patch every outbound path and every subprocess start for the whole test."""
    log = NetworkLog()
    loop_class = type(asyncio.get_running_loop())
    log.loop_class = loop_class
    # pytest-socket swaps ``socket.socket`` for a subclass and back (``socket_enabled``,
    # which the test client needs): patch the stdlib class that every one inherits.
    socket_class = next(
        cls
        for cls in socket.socket.__mro__
        if cls.__module__ == "socket" and cls.__name__ == "socket"
    )
    real_connect = socket_class.connect
    real_connect_ex = socket_class.connect_ex
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo
    real_loop_create_connection = loop_class.create_connection
    real_loop_getaddrinfo = loop_class.getaddrinfo
    real_loop_sock_connect = loop_class.sock_connect
    real_exec = asyncio.create_subprocess_exec
    real_shell = asyncio.create_subprocess_shell

    def _connect(self: socket.socket, address: Any) -> Any:
        log.note("connect", _host(address), self.family)
        return real_connect(self, address)

    def _connect_ex(self: socket.socket, address: Any) -> Any:
        log.note("connect_ex", _host(address), self.family)
        return real_connect_ex(self, address)

    def _create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        log.note("create_connection", _host(address))
        return real_create_connection(address, *args, **kwargs)

    def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        log.note("getaddrinfo", host)
        return real_getaddrinfo(host, *args, **kwargs)

    async def _loop_create_connection(
        self: asyncio.AbstractEventLoop,
        protocol_factory: Any,
        host: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        sock = kwargs.get("sock")
        if host is not None or sock is None:
            log.note("loop.create_connection", host)
        return await real_loop_create_connection(
            self, protocol_factory, host, *args, **kwargs
        )

    async def _loop_getaddrinfo(
        self: asyncio.AbstractEventLoop, host: Any, *args: Any, **kwargs: Any
    ) -> Any:
        log.note("loop.getaddrinfo", host)
        return await real_loop_getaddrinfo(self, host, *args, **kwargs)

    async def _loop_sock_connect(
        self: asyncio.AbstractEventLoop, sock: socket.socket, address: Any
    ) -> Any:
        log.note("loop.sock_connect", _host(address), sock.family)
        return await real_loop_sock_connect(self, sock, address)

    async def _exec(program: Any, *args: Any, **kwargs: Any) -> Any:
        log.commands.append([str(program), *map(str, args)])
        return await real_exec(program, *args, **kwargs)

    async def _shell(cmd: Any, **kwargs: Any) -> Any:
        log.commands.append([str(cmd)])
        return await real_shell(cmd, **kwargs)

    with (
        patch.object(socket_class, "connect", _connect),
        patch.object(socket_class, "connect_ex", _connect_ex),
        patch.object(socket, "create_connection", _create_connection),
        patch.object(socket, "getaddrinfo", _getaddrinfo),
        patch.object(loop_class, "create_connection", _loop_create_connection),
        patch.object(loop_class, "getaddrinfo", _loop_getaddrinfo),
        patch.object(loop_class, "sock_connect", _loop_sock_connect),
        patch.object(asyncio, "create_subprocess_exec", _exec),
        patch.object(asyncio, "create_subprocess_shell", _shell),
    ):
        yield log


async def _wait_for(predicate: Any, seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polls state, not an event
            await asyncio.sleep(0.05)


async def test_recorded_clip_shared_and_exported_without_network(
    network: NetworkLog,
    hass: HomeAssistant,
    sources: SourceCamera,
    config_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Setup, a real ring and clip, share, fetch from 127.0.0.1, export: loopback only."""
    # HA runs on the loop class whose methods are patched.
    assert isinstance(hass.loop, network.loop_class)
    # Setup: HA's HTTP server, then Peephole with recording on.
    assert await async_setup_component(hass, "http", {"http": {}})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    recorder = config_entry.runtime_data.recorder
    assert recorder is not None

    # Record: fill the pre-roll, ring, wait for the real clip.
    saved = async_capture_events(hass, EVENT_CLIP_SAVED)
    await _wait_for(lambda: len(recorder.ring) >= FPS)
    hass.states.async_set(
        RING_EVENT,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"event_type": "ring", "event_types": ["ring"]},
    )
    await _wait_for(lambda: saved)
    await hass.async_block_till_done()
    assert saved[0].data["trigger"] == "ring"
    assert saved[0].data["incomplete"] is False
    clip_id = saved[0].data["clip_id"]
    clip = recorder.store.get(clip_id)
    assert clip is not None
    assert 1.5 <= clip.duration <= 3.4
    clip_bytes = await hass.async_add_executor_job(
        recorder.store.clip_path(clip).read_bytes
    )
    assert clip_bytes[4:8] == b"ftyp"

    # Share it with a local recipient and fetch it through the share view.
    share = await call(
        hass,
        "create_share",
        {
            "config_entry_id": config_entry.entry_id,
            "recipient": "family",
            "clip_ids": [clip_id],
        },
        return_response=True,
    )
    client = await hass_client_no_auth()
    response = await client.get(share["links"][0]["path"])
    assert response.status == HTTPStatus.OK
    assert await response.read() == clip_bytes

    # Export it as evidence.
    result = await call(
        hass,
        "export_clips",
        {
            "config_entry_id": config_entry.entry_id,
            "clip_ids": [clip_id],
            "share_id": share["share_id"],
        },
        return_response=True,
    )
    archive_path = Path(result["path"])
    archive_bytes = await hass.async_add_executor_job(archive_path.read_bytes)
    assert hashlib.sha256(archive_bytes).hexdigest() == result["sha256"]
    with zipfile.ZipFile(archive_path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert [item["id"] for item in manifest["clips"]] == [clip_id]
        assert archive.read(manifest["clips"][0]["file"]) == clip_bytes
    await hass.async_block_till_done()

    # The feed encoded the masked frames in-process (PyAV's libx264), and no
    # program was started with a network URL.
    assert recorder.source.stats.delivered >= FPS
    assert not [cmd for cmd in network.commands if "libx264" in cmd]
    for command in network.commands:
        assert not any("://" in arg for arg in command), command
    # The only network activity: the test client talking to HA on loopback.
    assert any(kind == "connect" for kind, _ in network.attempts), network.attempts
    assert {target for _, target in network.attempts} == {"127.0.0.1"}

    # The guard is live on HA's loop and in threads: attempts are recorded and refused.
    seen = len(network.attempts)
    with pytest.raises(OSError, match="blocked by the test"):
        await hass.loop.getaddrinfo("example.com", 443)
    with pytest.raises(OSError, match="blocked by the test"):
        await hass.async_add_executor_job(
            socket.create_connection, ("192.0.2.1", 80), 1
        )
    assert network.attempts[seen:] == [
        ("loop.getaddrinfo", "example.com"),
        ("create_connection", "192.0.2.1"),
    ]
