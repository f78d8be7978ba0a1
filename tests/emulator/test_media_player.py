"""The S3 doorbell's speaker: the emulated media player, end to end.

Started with ``esphome/peephole-doorbell-s3.yaml`` the emulator lists the media
player ESPHome's speaker platform would (formats, features, volume), and records
every MediaPlayerCommandRequest. Through Home Assistant's real esphome integration:
play_media (with an announcement), a TTS message from HA's own tts component, a
TTS-like URL that bypasses HA's proxy, volume, mute and stop all reach the device;
a proxied URL is HA's ffmpeg proxy, which really converts the message to the
format the device asked for (FLAC, 16 kHz, mono: checked with ffprobe).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import shutil
from typing import Any

from aioesphomeapi import APIClient, MediaPlayerCommand, MediaPlayerInfo
from homeassistant.components.media_player import MediaPlayerEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import pytest_socket
import yarl

from tools.emulator import EmulatedDoorbell
from tools.emulator.control import execute, send_command, serve_control
from tools.emulator.device import MEDIA_PLAYER_IDLE, MEDIA_PLAYER_PLAYING
from tools.emulator.entities import load_device_config

from .common import wait_until
from .conftest import StartDevice

S3_YAML = Path(__file__).resolve().parents[2] / "esphome" / "peephole-doorbell-s3.yaml"
SPEAKER = "media_player.peephole_doorbell_speaker"
INTERNAL_URL = "http://192.0.2.10:8123"  # never fetched in these tests but one
PLAY_TIME = 0.5


async def _start(start: StartDevice) -> tuple[MockConfigEntry, EmulatedDoorbell]:
    return await start(config=load_device_config(S3_YAML), media_play_time=PLAY_TIME)


# --- the device, through aioesphomeapi's client ----------------------------------


async def test_client_sees_and_commands_the_speaker(
    socket_enabled: None, tmp_path: Path
) -> None:
    """The media player is listed like ESPHome's, commands are recorded and act."""
    config = load_device_config(S3_YAML)
    async with EmulatedDoorbell(
        port=0, idle_fps=0, config=config, media_play_time=PLAY_TIME
    ) as device:
        client = APIClient("127.0.0.1", device.port, "")
        await client.connect(login=True)
        try:
            info = await client.device_info()
            assert info.model == "seeed_xiao_esp32s3"
            entities, _ = await client.list_entities_services()
            (player,) = [e for e in entities if isinstance(e, MediaPlayerInfo)]
            assert (player.object_id, player.name) == ("speaker", "Speaker")
            assert player.supports_pause is False
            assert [
                (f.format, f.sample_rate, f.num_channels, f.purpose, f.sample_bytes)
                for f in player.supported_formats
            ] == [("flac", 16000, 1, 1, 2), ("flac", 16000, 1, 0, 2)]

            states: list[Any] = []
            client.subscribe_states(
                lambda state: states.append(state)
                if getattr(state, "key", None) == player.key
                else None
            )
            await wait_until(lambda: states)
            assert (states[-1].state, states[-1].volume) == (MEDIA_PLAYER_IDLE, 0.6)

            client.media_player_command(
                player.key, media_url="http://192.0.2.20/hello.flac", announcement=True
            )
            await wait_until(lambda: states[-1].state == MEDIA_PLAYER_PLAYING)
            await wait_until(lambda: states[-1].state == MEDIA_PLAYER_IDLE)
            client.media_player_command(player.key, volume=0.25)
            client.media_player_command(player.key, command=MediaPlayerCommand.MUTE)
            await wait_until(lambda: states[-1].muted)
            assert states[-1].volume == pytest.approx(0.25)
        finally:
            await client.disconnect()

        played = device.media_requests
        assert [(r.media_url, r.announcement, r.command) for r in played] == [
            ("http://192.0.2.20/hello.flac", True, None),
            (None, None, None),
            (None, None, "mute"),
        ]
        assert played[1].volume == pytest.approx(0.25)

        # The control socket lists the same requests.
        pytest_socket.socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
        path = tmp_path / "emulator.sock"
        server = await serve_control(device, path)
        try:
            reply = await send_command(path, "media")
        finally:
            server.close()
            await server.wait_closed()
        assert reply.startswith("ok ")
        listed = json.loads(reply.removeprefix("ok "))
        assert [item["media_url"] for item in listed] == [
            "http://192.0.2.20/hello.flac",
            None,
            None,
        ]
        assert listed[2]["command"] == "mute"
        status = json.loads((await execute(device, "status")).removeprefix("ok "))
        assert status["media_requests"] == 3


async def test_door_speaker_has_no_bell(socket_enabled: None) -> None:
    """A device file without a bell push or camera: commands say so, nothing breaks."""
    config = load_device_config(S3_YAML.with_name("peephole-door-speaker.yaml"))
    async with EmulatedDoorbell(port=0, config=config) as device:
        assert (
            await execute(device, "press") == "error this device has no doorbell_button"
        )
        assert (await execute(device, "motion on")).startswith(
            "error this device has no"
        )
        assert (await execute(device, "media")) == "ok []"


# --- through Home Assistant's esphome integration -------------------------------


async def test_play_media_reaches_the_device(
    hass: HomeAssistant, start_esphome_device: StartDevice
) -> None:
    """media_player.play_media: the device is given HA's ffmpeg proxy URL for it."""
    _, device = await _start(start_esphome_device)
    await hass.config.async_update(internal_url=INTERNAL_URL)
    # The device's first states follow its entities.
    await wait_until(lambda: hass.states.get(SPEAKER).state == "idle")
    state = hass.states.get(SPEAKER)
    assert state.attributes["volume_level"] == pytest.approx(0.6)
    features = MediaPlayerEntityFeature(state.attributes["supported_features"])
    for feature in (
        MediaPlayerEntityFeature.PLAY_MEDIA,
        MediaPlayerEntityFeature.MEDIA_ANNOUNCE,
        MediaPlayerEntityFeature.VOLUME_SET,
        MediaPlayerEntityFeature.VOLUME_MUTE,
        MediaPlayerEntityFeature.STOP,
    ):
        assert feature in features
    assert MediaPlayerEntityFeature.PAUSE not in features  # one pipeline

    await hass.services.async_call(
        "media_player",
        "play_media",
        {
            "entity_id": SPEAKER,
            "media_content_id": "http://192.0.2.20/replies/coming.mp3",
            "media_content_type": "music",
            "announce": True,
        },
        blocking=True,
    )
    await wait_until(lambda: device.media_requests)
    (request,) = device.media_requests
    assert request.announcement is True
    assert request.entity == "speaker"
    # HA proxies the reply through ffmpeg into the device's FLAC format.
    url = yarl.URL(request.media_url or "")
    assert str(url.origin()) == INTERNAL_URL
    speaker = er.async_get(hass).async_get(SPEAKER)
    assert speaker is not None
    assert speaker.device_id is not None
    assert url.parts[1:5] == ("api", "esphome", "ffmpeg_proxy", speaker.device_id)
    assert url.suffix == ".flac"
    await wait_until(lambda: hass.states.get(SPEAKER).state == "playing")
    await wait_until(lambda: hass.states.get(SPEAKER).state == "idle")


async def test_tts_like_url_without_the_proxy(
    hass: HomeAssistant, start_esphome_device: StartDevice
) -> None:
    """A TTS proxy path, with bypass_proxy: the device gets HA's own URL for it."""
    _, device = await _start(start_esphome_device)
    await hass.config.async_update(internal_url=INTERNAL_URL)
    await hass.services.async_call(
        "media_player",
        "play_media",
        {
            "entity_id": SPEAKER,
            "media_content_id": "/api/tts_proxy/0123abcd_en-us_-_demo.mp3",
            "media_content_type": "music",
            "extra": {"bypass_proxy": True},
        },
        blocking=True,
    )
    await wait_until(lambda: device.media_requests)
    (request,) = device.media_requests
    assert (
        request.media_url == f"{INTERNAL_URL}/api/tts_proxy/0123abcd_en-us_-_demo.mp3"
    )
    assert request.announcement is None


async def test_volume_mute_and_stop_reach_the_device(
    hass: HomeAssistant, start_esphome_device: StartDevice
) -> None:
    _, device = await _start(start_esphome_device)
    for service, data in (
        ("volume_set", {"volume_level": 0.35}),
        ("volume_mute", {"is_volume_muted": True}),
        ("media_stop", {}),
    ):
        await hass.services.async_call(
            "media_player", service, {"entity_id": SPEAKER, **data}, blocking=True
        )
    await wait_until(lambda: len(device.media_requests) == 3)
    volume, mute, stop = device.media_requests
    assert volume.volume == pytest.approx(0.35)
    assert (mute.command, stop.command) == ("mute", "stop")
    await wait_until(
        lambda: hass.states.get(SPEAKER).attributes.get("is_volume_muted") is True
    )
    assert hass.states.get(SPEAKER).attributes["volume_level"] == pytest.approx(0.35)


async def test_tts_message_plays_as_flac_on_the_device(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    start_esphome_device: StartDevice,
    tmp_path: Path,
) -> None:
    """HA's tts → the device gets a URL → fetching it gives the device's format.

    HA's internal URL is the test server's, so HA's ffmpeg (a real subprocess)
    fetches the message from HA itself, as it does for a real device.
    """
    # Before the esphome integration, which sets tts up as a dependency.
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "media_source", {})  # default_config's
    assert await async_setup_component(hass, "tts", {"tts": {"platform": "demo"}})
    await hass.async_block_till_done()  # the legacy platform registers demo_say
    _, device = await _start(start_esphome_device)
    client = await hass_client()
    base = client.make_url("/")
    await hass.config.async_update(internal_url=f"{base.scheme}://{base.authority}")
    await hass.services.async_call(
        "tts",
        "demo_say",
        {"entity_id": SPEAKER, "message": "I'm coming to the door"},
        blocking=True,
    )
    await wait_until(lambda: device.media_requests, 10)
    (request,) = device.media_requests
    url = yarl.URL(request.media_url or "")
    assert url.parts[1:4] == ("api", "esphome", "ffmpeg_proxy")

    # What the device would download: HA converts the message with ffmpeg.
    response = await client.get(url.path_qs)
    assert response.status == 200
    async with asyncio.timeout(60):
        audio = await response.read()
    assert audio[:4] == b"fLaC"
    clip = tmp_path / "reply.flac"
    clip.write_bytes(audio)
    stream = await _probe(clip)
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == (
        "flac",
        "16000",
        1,
    )


async def _probe(path: Path) -> dict[str, Any]:
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe is not installed (scripts/setup installs ffmpeg)"
    process = await asyncio.create_subprocess_exec(
        ffprobe,
        "-v",
        "error",
        "-show_streams",
        "-of",
        "json",
        str(path),
        stdout=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, _ = await process.communicate()
    (stream,) = json.loads(out)["streams"]
    result: dict[str, Any] = stream
    return result
