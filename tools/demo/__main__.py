"""Run the demo: `python -m tools.demo [start|press|motion SECONDS|stop]`.

`start` makes a fresh Home Assistant configuration, starts the emulated doorbell
(encrypted native API) and Home Assistant with its web frontend, then sets everything
up through Home Assistant's own public APIs, as a person would in the browser:
onboarding (a demo user), the ESPHome integration with the device's key, Peephole on
the doorbell's entities, and a privacy zone over the street. It prints where to log
in and keeps running until Ctrl-C.

The doorbell's camera has an ESP32-CAM's timing by default (a 10 fps sensor behind a
300 kB/s Wi-Fi link, with jitter, the odd dropped frame and stall: about five
pictures a second, like the real firmware); `--camera-timing instant` answers every
request at once instead.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import sys
from typing import Any

import aiohttp

from tools.emulator.timing import PROFILES

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO / ".demo"
USERNAME = "demo"
PASSWORD = "peephole-demo"  # noqa: S105 - a local demo account, printed on start
STREET_ZONE = "0,0; 1,0; 1,0.56; 0,0.56"

CONFIGURATION = """\
homeassistant:
  name: Peephole demo
  time_zone: UTC
  country: NL
  currency: EUR
  unit_system: metric
  latitude: 52.37
  longitude: 4.89
  elevation: 0
frontend:
config:
api:
media_source:
# As in every real installation (default_config): the frontend asks for the
# recorder, and its history is what the more-info dialogs show.
recorder:
  purge_keep_days: 1
history:
# The masked camera's live view is a real stream: Home Assistant's stream
# component (part of default_config) makes HLS of Peephole's masked encode.
stream:
http:
  server_host: {host}
  server_port: {port}
logger:
  default: warning
  logs:
    custom_components.peephole: info
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Demo:
    """Owns the demo's processes and sets Home Assistant up through its HTTP API."""

    def __init__(
        self, directory: Path, port: int, python: str, camera_timing: str = "esp32-cam"
    ) -> None:
        """Prepare (nothing runs yet)."""
        self.directory = directory
        self.camera_timing = camera_timing
        self.config = directory / "config"
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.python = python
        self.control = directory / "emulator.sock"
        self.key = base64.b64encode(os.urandom(32)).decode()
        self.device_port = _free_port()
        self.processes: list[asyncio.subprocess.Process] = []
        self.token = ""

    def prepare(self) -> None:
        """Write a fresh configuration with Peephole installed as a custom integration."""
        if self.config.exists():
            shutil.rmtree(self.config)
        (self.config / "custom_components").mkdir(parents=True)
        (self.config / "custom_components" / "peephole").symlink_to(
            REPO / "custom_components" / "peephole"
        )
        (self.config / "configuration.yaml").write_text(
            CONFIGURATION.format(host="127.0.0.1", port=self.port), encoding="utf-8"
        )
        self.control.unlink(missing_ok=True)

    async def start_processes(self) -> None:
        """Start the emulated doorbell and Home Assistant."""
        log = (self.directory / "emulator.log").open("wb")
        self.processes.append(
            await asyncio.create_subprocess_exec(
                self.python,
                "-m",
                "tools.emulator",
                "--port",
                str(self.device_port),
                "--key",
                self.key,
                "--control",
                str(self.control),
                "--timing",
                self.camera_timing,
                # The instant camera streams smoothly faster than the firmware's
                # 10 fps; a timed one keeps the firmware's rates.
                *(("--max-fps", "25") if self.camera_timing == "instant" else ()),
                cwd=REPO,
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )
        )
        ha_log = (self.directory / "home-assistant.log").open("wb")
        self.processes.append(
            await asyncio.create_subprocess_exec(
                self.python,
                "-m",
                "homeassistant",
                "-c",
                str(self.config),
                # Everything the demo needs is installed by scripts/setup: Home
                # Assistant installs nothing at run time (offline, and the same on
                # every machine, wherever the repository lives).
                "--skip-pip",
                cwd=self.directory,
                stdout=ha_log,
                stderr=ha_log,
                stdin=asyncio.subprocess.DEVNULL,
            )
        )

    async def stop_processes(self) -> None:
        """Stop Home Assistant and the emulator (SIGTERM, then SIGKILL)."""
        for process in reversed(self.processes):
            if process.returncode is None:
                process.terminate()
                try:
                    async with asyncio.timeout(20):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()
        self.control.unlink(missing_ok=True)

    async def _wait_for_http(self, session: aiohttp.ClientSession) -> None:
        async with asyncio.timeout(180):
            while True:
                for process in self.processes:
                    if process.returncode is not None:
                        raise RuntimeError(
                            f"a demo process exited ({process.returncode}); "
                            f"see {self.directory}/*.log"
                        )
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/api/onboarding") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.5)

    async def _api(
        self, session: aiohttp.ClientSession, path: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with session.post(
            f"{self.url}{path}", json=data, headers=headers
        ) as response:
            body = await response.text()
            if response.status >= 400:
                raise RuntimeError(f"POST {path} → {response.status}: {body}")
            result: dict[str, Any] = json.loads(body) if body else {}
            return result

    async def _flow(
        self,
        session: aiohttp.ClientSession,
        base: str,
        handler: str,
        answers: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """Run a config or options flow through the REST API, answering by step id."""
        result = await self._api(session, base, {"handler": handler})
        for _ in range(10):
            if result.get("type") not in ("form", "menu"):
                break
            step = result["step_id"]
            if step not in answers:
                raise RuntimeError(f"{handler} flow asked an unexpected step: {result}")
            result = await self._api(
                session, f"{base}/{result['flow_id']}", answers[step]
            )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"{handler} flow did not finish: {result}")
        return result

    async def set_up(self) -> None:
        """Onboard, add the doorbell through ESPHome, add Peephole and a zone."""
        client_id = f"{self.url}/"
        async with aiohttp.ClientSession() as session:
            await self._wait_for_http(session)
            user = await self._api(
                session,
                "/api/onboarding/users",
                {
                    "client_id": client_id,
                    "name": "Demo",
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                },
            )
            async with session.post(
                f"{self.url}/auth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": user["auth_code"],
                    "client_id": client_id,
                },
            ) as response:
                self.token = (await response.json())["access_token"]
            await self._api(session, "/api/onboarding/core_config", {})
            await self._api(session, "/api/onboarding/analytics", {})
            await self._api(
                session,
                "/api/onboarding/integration",
                {
                    "client_id": client_id,
                    "redirect_uri": f"{self.url}/?auth_callback=1",
                },
            )
            await self._flow(
                session,
                "/api/config/config_entries/flow",
                "esphome",
                {
                    "user": {"host": "127.0.0.1", "port": self.device_port},
                    "encryption_key": {"noise_psk": self.key},
                },
            )
            await self._wait_for_state(session, "event.peephole_doorbell_doorbell")
            entry = await self._flow(
                session,
                "/api/config/config_entries/flow",
                "peephole",
                {
                    "user": {
                        "name": "Front door",
                        "camera_entity_id": "camera.peephole_doorbell_camera",
                        "ring_entity_id": "event.peephole_doorbell_doorbell",
                        "motion_entity_id": "binary_sensor.peephole_doorbell_motion",
                    }
                },
            )
            await self._flow(
                session,
                "/api/config/config_entries/options/flow",
                entry["result"]["entry_id"],
                {
                    "init": {"next_step_id": "add_zone"},
                    "add_zone": {
                        "name": "Street",
                        "points": STREET_ZONE,
                        "enabled": True,
                    },
                },
            )

    async def _remove_onboarding_extras(self, session: aiohttp.ClientSession) -> None:
        """Remove what onboarding adds by default (weather, radio): they go online."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with session.get(
            f"{self.url}/api/config/config_entries/entry", headers=headers
        ) as response:
            entries = await response.json()
        for entry in entries:
            if entry["domain"] in {
                "met",
                "radio_browser",
                "shopping_list",
                "google_translate",
            }:
                async with session.delete(
                    f"{self.url}/api/config/config_entries/entry/{entry['entry_id']}",
                    headers=headers,
                ):
                    pass

    async def _wait_for_state(
        self, session: aiohttp.ClientSession, entity_id: str
    ) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with asyncio.timeout(60):
            while True:
                async with session.get(
                    f"{self.url}/api/states/{entity_id}", headers=headers
                ) as response:
                    if response.status == 200:
                        return
                await asyncio.sleep(0.5)


async def _start(args: argparse.Namespace) -> int:
    demo = Demo(args.dir, args.port, sys.executable, args.camera_timing)
    demo.prepare()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await demo.start_processes()
        print("Starting Home Assistant and the emulated doorbell…", flush=True)
        await demo.set_up()
        state = {
            "url": demo.url,
            "username": USERNAME,
            "password": PASSWORD,
            "control": str(demo.control),
        }
        (args.dir / "demo.json").write_text(json.dumps(state), encoding="utf-8")
        print(
            f"\nPeephole demo is ready: {demo.url}\n"
            f"  user: {USERNAME}\n  password: {PASSWORD}\n\n"
            "Ring the doorbell:    scripts/demo press\n"
            "Someone walks up:     scripts/demo motion 20\n"
            "Stop:                 Ctrl-C\n",
            flush=True,
        )
        waiters = [asyncio.ensure_future(stop.wait())] + [
            asyncio.ensure_future(p.wait()) for p in demo.processes
        ]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        return 0 if stop.is_set() else 1
    finally:
        await demo.stop_processes()


async def _send(args: argparse.Namespace, line: str) -> int:
    from tools.emulator.control import send_command  # noqa: PLC0415

    print(await send_command(args.dir / "emulator.sock", line))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="scripts/demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "command", nargs="?", default="start", choices=["start", "press", "motion"]
    )
    parser.add_argument(
        "argument", nargs="?", default="20", help="motion: seconds, on or off"
    )
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="demo working folder"
    )
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant's port")
    parser.add_argument(
        "--camera-timing",
        choices=sorted(PROFILES),
        default="esp32-cam",
        help="the emulated camera's timing (default esp32-cam: a real device's rates)",
    )
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.command == "press":
        return asyncio.run(_send(args, "press"))
    if args.command == "motion":
        return asyncio.run(_send(args, f"motion {args.argument}"))
    return asyncio.run(_start(args))


if __name__ == "__main__":
    sys.exit(main())
