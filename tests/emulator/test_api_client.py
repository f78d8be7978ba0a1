"""aioesphomeapi's own client against the emulated doorbell."""

from __future__ import annotations

import asyncio
import base64
import io
import os
from typing import Any

from aioesphomeapi import (
    APIClient,
    BinarySensorState,
    CameraState,
    EventInfo,
    InvalidEncryptionKeyAPIError,
    RequiresEncryptionAPIError,
)
from PIL import Image
import pytest
import pytest_socket

from tools.emulator import EmulatedDoorbell
from tools.emulator.control import execute, send_command, serve_control

from .common import wait_until

NAME = "peephole-doorbell"


async def _connect(device: EmulatedDoorbell, key: str | None) -> APIClient:
    client = APIClient("127.0.0.1", device.port, "", noise_psk=key, expected_name=NAME)
    await client.connect(login=True)
    return client


@pytest.mark.parametrize("encrypted", [True, False], ids=["noise", "plaintext"])
async def test_client_session(
    socket_enabled: None, api_key: str, encrypted: bool
) -> None:
    """Device info, entities, states, a ring and a camera image."""
    key = api_key if encrypted else None
    async with EmulatedDoorbell(port=0, key=key, idle_fps=0) as device:
        client = await _connect(device, key)
        try:
            info = await client.device_info()
            assert info.name == NAME
            assert info.friendly_name == "Peephole Doorbell"
            assert info.model == "esp32cam"
            assert info.esphome_version == "2026.10.0"
            assert info.mac_address == device.mac
            if hasattr(info, "api_encryption_supported"):
                assert info.api_encryption_supported is encrypted

            entities, services = await client.list_entities_services()
            assert services == []
            listed = {(e.object_id, e.key, e.name) for e in entities}
            expected = {(e.object_id, e.key, e.name) for e in device.config.entities}
            assert listed == expected
            event = next(e for e in entities if isinstance(e, EventInfo))
            assert event.device_class == "doorbell"
            assert event.event_types == ["ring"]

            states: list[Any] = []
            image: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

            def on_state(state: Any) -> None:
                states.append(state)
                if isinstance(state, CameraState) and not image.done():
                    image.set_result(state.data)

            client.subscribe_states(on_state)
            button_key = device.config.entity("doorbell_button").key
            await wait_until(
                lambda: any(getattr(s, "key", None) == button_key for s in states)
            )

            await device.press(hold=0.05)
            await asyncio.sleep(0.1)
            events = [s for s in states if type(s).__name__ == "Event"]
            assert [e.event_type for e in events] == ["ring"]
            assert events[0].key == event.key
            button = [
                s.state
                for s in states
                if isinstance(s, BinarySensorState) and s.key == button_key
            ]
            assert button[-2:] == [True, False]

            client.request_single_image()
            async with asyncio.timeout(10):
                data = await image
            assert data[:2] == b"\xff\xd8"
            with Image.open(io.BytesIO(data)) as frame:
                assert frame.format == "JPEG"
                assert frame.size == (800, 600)
        finally:
            await client.disconnect()


async def test_wrong_key_rejected(device: EmulatedDoorbell) -> None:
    """A client with another key gets ESPHome's "Handshake MAC failure"."""
    other = base64.b64encode(os.urandom(32)).decode()
    client = APIClient("127.0.0.1", device.port, "", noise_psk=other)
    with pytest.raises(InvalidEncryptionKeyAPIError):
        await client.connect(login=True)
    await client.disconnect(force=True)


async def test_plaintext_client_on_encrypted_device(device: EmulatedDoorbell) -> None:
    """A plaintext client cannot talk to the encrypted device."""
    client = APIClient("127.0.0.1", device.port, "")
    # The device answers with a Noise frame, so the client (and HA's config flow)
    # knows to ask for the encryption key.
    with pytest.raises(RequiresEncryptionAPIError):
        async with asyncio.timeout(10):
            await client.connect(login=True)
    await client.disconnect(force=True)


async def test_commands_and_motion(plain_device: EmulatedDoorbell) -> None:
    """Switch, light and button commands; motion with a duration."""
    device = plain_device
    client = await _connect(device, None)
    try:
        states: list[Any] = []
        client.subscribe_states(states.append)
        chime = device.config.entity("chime_enabled").key
        flash = device.config.entity("flash_light").key
        motion = device.config.entity("motion").key
        client.switch_command(chime, False)
        client.light_command(flash, state=True, brightness=0.5)
        client.button_command(device.config.entity("test_chime").key)
        await device.motion(True, duration=0.1)
        await asyncio.sleep(0.4)
        assert device.states[chime] is False
        assert device.states[flash] == (True, 0.5)
        assert [s.state for s in states if s.key == motion][-2:] == [True, False]
    finally:
        await client.disconnect()


async def test_streaming_frames(plain_device: EmulatedDoorbell) -> None:
    """A stream request yields several frames for a few seconds."""
    device = plain_device
    device.max_fps = 20
    client = await _connect(device, None)
    try:
        frames: list[bytes] = []
        client.subscribe_states(
            lambda s: isinstance(s, CameraState) and frames.append(s.data)
        )
        client.request_image_stream()
        await asyncio.sleep(1.0)
        assert len(frames) >= 5
        assert all(frame[:2] == b"\xff\xd8" for frame in frames)
    finally:
        await client.disconnect()


async def test_control_socket(plain_device: EmulatedDoorbell, tmp_path: Any) -> None:
    """The UNIX control socket rings the bell and reports status."""
    # The harness allows only 127.0.0.1; this test also needs a UNIX socket.
    pytest_socket.socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    path = tmp_path / "emulator.sock"
    server = await serve_control(plain_device, path)
    try:
        assert await send_command(path, "press") == "ok pressed"
        assert (await send_command(path, "motion 0.05")).startswith("ok")
        assert (await send_command(path, "status")).startswith("ok {")
        assert (await execute(plain_device, "dance")).startswith("error")
        assert (await execute(plain_device, "motion sideways")).startswith("error")
        assert (await execute(plain_device, "motion off")).startswith("ok")
    finally:
        server.close()
        await server.wait_closed()
