"""Run the demo (`python -m tools.demo`) in a subprocess, for the tests that need it.

The demo runs in a process group of its own (its Home Assistant, the emulated
doorbell and Home Assistant's ffmpeg children are in it too), so a test can SIGKILL
all of it at once, and the clean-up kills whatever is left of it: nothing lingers.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_START_TIMEOUT = 240
STOP_TIMEOUT = 30


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Demo:
    """A running demo: its process (leader of its own group) and its state file."""

    process: subprocess.Popen[bytes]
    directory: Path
    state: dict[str, Any]

    @property
    def config(self) -> Path:
        """Return Home Assistant's configuration folder."""
        return self.directory / "config"

    @property
    def url(self) -> str:
        """Return Home Assistant's address."""
        return str(self.state["url"])


def log_tails(directory: Path, chars: int = 3000) -> str:
    """Return the end of every log in ``directory``, for failure messages."""
    return "\n".join(
        f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}"
        for path in sorted(directory.glob("*.log"))
    )


def stop_group(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Stop a process (SIGTERM), then SIGKILL whatever is left of its group.

    ``process`` must lead its own group (``start_new_session=True``): processes
    that outlive it (children it did not stop, orphans) are still in the group.
    """
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def running_demo(directory: Path, port: int | None = None) -> Iterator[Demo]:
    """Start the demo in ``directory``; stop it and everything it started after."""
    with (directory / "demo-output.log").open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own demo, fixed arguments
            [
                sys.executable,
                "-m",
                "tools.demo",
                "--dir",
                str(directory),
                "--port",
                str(port or free_port()),
            ],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    state_file = directory / "demo.json"
    try:
        deadline = time.monotonic() + DEMO_START_TIMEOUT
        while not state_file.exists():
            if process.poll() is not None:
                pytest.fail(
                    f"the demo exited ({process.returncode}):\n{log_tails(directory)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the demo did not start within {DEMO_START_TIMEOUT} s:\n"
                    f"{log_tails(directory)}"
                )
            time.sleep(0.5)
        state = json.loads(state_file.read_text(encoding="utf-8"))
        yield Demo(process, directory, state)
    finally:
        stop_group(process)


async def async_login(
    session: aiohttp.ClientSession, url: str, username: str, password: str
) -> str:
    """Log in through Home Assistant's login flow; return an access token."""
    client_id = f"{url}/"
    async with session.post(
        f"{url}/auth/login_flow",
        json={
            "client_id": client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": client_id,
        },
    ) as response:
        response.raise_for_status()
        flow = await response.json()
    async with session.post(
        f"{url}/auth/login_flow/{flow['flow_id']}",
        json={"client_id": client_id, "username": username, "password": password},
    ) as response:
        response.raise_for_status()
        result = await response.json()
    if result.get("type") != "create_entry":
        raise AssertionError(f"login failed: {result}")
    async with session.post(
        f"{url}/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": result["result"],
            "client_id": client_id,
        },
    ) as response:
        response.raise_for_status()
        return str((await response.json())["access_token"])
