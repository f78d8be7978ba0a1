"""Quick replies, end to end: a tap on a phone is heard at the emulated doorbell.

Real parts only, but the ESP32 and the phone: the emulated S3 doorbell (started with
``esphome/peephole-doorbell-s3.yaml``, so it has the MAX98357A speaker's media
player) speaks the ESPHome native API, encrypted; Home Assistant's own esphome
integration makes its camera, doorbell event and speaker real ESPHome entities;
Peephole is set up on that camera and event through its config flow; the quick
replies blueprint is loaded by HA's blueprint loader with the doorbell's own speaker;
HA's ``tts`` component speaks through a test voice that records each message and
says it as a tone of its own pitch. The phone is a Companion app device whose notify
service is captured; its taps are ``mobile_app_notification_action`` events, as the
Companion app integration fires them.

A press on the emulated bell push rings Peephole's doorbell, which sends the reply
buttons. A tap on each reply makes the device receive, over the native API, a
MediaPlayerCommandRequest whose URL is HA's ffmpeg proxy: fetched as the device
fetches it (no credentials), it is FLAC at the device's format, whose pitch is the
tapped message's. In privacy mode (Peephole's switch) a tap is refused with the
blueprint's message and the device receives nothing.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from pathlib import Path
import shutil
from typing import Any
import wave
import zlib

from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import Platform
from homeassistant.core import Event, HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import yarl

from custom_components.peephole.const import DOMAIN
from tests.blueprints.common import (
    PEEPHOLE_BLUEPRINTS,
    action_ids,
    async_setup_entities,
    setup_automations,
)
from tools.emulator.entities import load_device_config

from .common import wait_until
from .conftest import StartDevice

S3_YAML = Path(__file__).resolve().parents[2] / "esphome" / "peephole-doorbell-s3.yaml"
SPEAKER = "media_player.peephole_doorbell_speaker"
SOURCE_CAMERA = "camera.peephole_doorbell_camera"
SOURCE_EVENT = "event.peephole_doorbell_doorbell"
SOURCE_MOTION = "binary_sensor.peephole_doorbell_motion"
DOORBELL = "event.front_door_doorbell"
PRIVACY = "switch.front_door_privacy_mode"
PHONE = "Pixel 8"
NOTIFY = "mobile_app_pixel_8"
REPLIES = ["Leave it at the door", "I'm coming", "No thanks"]
# The device's announcement format (the S3 file's speaker media player).
RATE = 16000
SPOKEN_SECONDS = 0.6


def pitch_of(message: str) -> float:
    """The test voice's pitch for a message: 200-1175 Hz, from the message alone."""
    return 200.0 + 25.0 * (zlib.crc32(message.encode()) % 40)


def _tone(pitch: float) -> bytes:
    """A WAV file of a sine at ``pitch``: what the test voice says."""
    samples = np.arange(int(RATE * SPOKEN_SECONDS)) / RATE
    pcm = (0.5 * 32767 * np.sin(2 * np.pi * pitch * samples)).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(RATE)
        audio.writeframes(pcm.tobytes())
    return out.getvalue()


class ToneVoice(TextToSpeechEntity):
    """A text-to-speech engine that records each message and says it as its tone."""

    _attr_name = "Door voice"
    _attr_unique_id = "door_voice"
    _attr_default_language = "en"
    _attr_supported_languages = ["en"]  # noqa: RUF012 - HA's attribute

    def __init__(self) -> None:
        """Nothing said yet."""
        self.said: list[str] = []

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """Record ``message``; return its tone."""
        self.said.append(message)
        return "wav", _tone(pitch_of(message))


async def _add_phone(hass: HomeAssistant) -> tuple[str, list[ServiceCall]]:
    """A Companion app device and its captured notify service: (device id, calls)."""
    entry = MockConfigEntry(domain="mobile_app", title=PHONE, data={})
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("mobile_app", PHONE)},
        name=PHONE,
        manufacturer="Test",
    )
    return device.id, async_mock_service(hass, "notify", NOTIFY)


async def _add_peephole(hass: HomeAssistant) -> str:
    """Set Peephole up on the doorbell's camera and events through its config flow."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "name": "Front door",
            "camera_entity_id": SOURCE_CAMERA,
            "ring_entity_id": SOURCE_EVENT,
            "motion_entity_id": SOURCE_MOTION,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry_id: str = result["result"].entry_id
    return entry_id


async def _run(*args: str) -> bytes:
    """Run a program (ffmpeg, ffprobe) to its end; return its output."""
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")
    return out


async def _heard(path: Path) -> tuple[dict[str, Any], float, float]:
    """What the speaker would play: (ffprobe's stream, seconds, dominant pitch)."""
    ffprobe, ffmpeg = shutil.which("ffprobe"), shutil.which("ffmpeg")
    assert ffprobe, "ffprobe is not installed (scripts/setup installs ffmpeg)"
    assert ffmpeg, "ffmpeg is not installed (scripts/setup installs it)"
    probed = json.loads(
        await _run(ffprobe, "-v", "error", "-show_streams", "-of", "json", str(path))
    )
    (stream,) = probed["streams"]
    # Decoded as it comes (no resampling: the device's rate is asked for).
    pcm = await _run(ffmpeg, "-v", "error", "-i", str(path), "-f", "s16le", "-")
    samples = np.frombuffer(pcm, "<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    pitch = float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(spectrum.argmax())])
    return stream, len(samples) / RATE, pitch


async def test_each_reply_is_heard_at_the_emulated_doorbell(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    start_esphome_device: StartDevice,
    tmp_path: Path,
) -> None:
    """Press, ring, a tap on each reply: the device is asked to play each, in turn."""
    pitches = sorted(pitch_of(text) for text in REPLIES)
    assert min(b - a for a, b in itertools.pairwise(pitches)) >= 25

    # The blueprints in a config dir of the test's own (HA's tts caches there too).
    hass.config.config_dir = str(tmp_path / "config")
    await hass.async_add_executor_job(
        shutil.copytree,
        PEEPHOLE_BLUEPRINTS,
        Path(hass.config.path("blueprints", "automation", "peephole")),
    )
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "media_source", {})
    voice = ToneVoice()
    await async_setup_entities(hass, "test_voice", {Platform.TTS: [voice]})
    phone, notified = await _add_phone(hass)

    _, device = await start_esphome_device(
        config=load_device_config(S3_YAML), media_play_time=0.3
    )
    await wait_until(lambda: hass.states.get(SPEAKER).state == "idle")
    entry_id = await _add_peephole(hass)
    # HA's internal URL is its test server's (started once every view is there):
    # HA's ffmpeg fetches the message from HA itself, and the test fetches what
    # the device is given, as the device would, without credentials.
    client = await hass_client_no_auth()
    base = client.make_url("/")
    await hass.config.async_update(internal_url=f"{base.scheme}://{base.authority}")
    await setup_automations(
        hass,
        "quick_replies.yaml",
        {
            "doorbell": DOORBELL,
            "notify_devices": [phone],
            "speakers": [SPEAKER],
            "tts_engine": voice.entity_id,
        },
    )
    replies: list[Event] = async_capture_events(hass, "peephole_quick_reply")
    speaker = er.async_get(hass).async_get(SPEAKER)
    assert speaker is not None
    assert speaker.platform == "esphome"
    assert speaker.device_id is not None

    # A press on the emulated bell push: Peephole rings, the phone gets the buttons.
    await device.press()
    await wait_until(lambda: notified, 10)
    assert hass.states.get(DOORBELL).attributes["event_type"] == "ring"
    (ring,) = notified
    assert ring.data["title"] == "Front door"
    buttons = action_ids(ring)
    assert buttons == {
        text: f"PEEPHOLE_REPLY_{entry_id}_{index}_{phone}"
        for index, text in enumerate(REPLIES, start=1)
    }
    assert device.media_requests == []

    async def tap_and_hear(text: str) -> float:
        """Tap ``text``; check the device's one new request; return its pitch."""
        asked, told = len(device.media_requests), len(notified)
        hass.bus.async_fire("mobile_app_notification_action", {"action": buttons[text]})
        await wait_until(lambda: len(device.media_requests) > asked, 10)
        await wait_until(lambda: len(notified) > told, 10)
        request = device.media_requests[-1]
        assert len(device.media_requests) == asked + 1
        assert (request.entity, request.announcement) == ("speaker", True)
        assert request.command is None
        # HA's ffmpeg proxy for the device, in the announcement format it listed.
        url = yarl.URL(request.media_url or "")
        assert str(url.origin()) == f"{base.scheme}://{base.authority}"
        assert url.parts[1:5] == ("api", "esphome", "ffmpeg_proxy", speaker.device_id)
        assert url.suffix == ".flac"
        response = await client.get(url.path_qs)
        assert response.status == 200
        async with asyncio.timeout(60):
            audio = await response.read()
        assert audio[:4] == b"fLaC"
        clip = tmp_path / f"{len(device.media_requests)}.flac"
        await hass.async_add_executor_job(clip.write_bytes, audio)
        stream, seconds, pitch = await _heard(clip)
        assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == (
            "flac",
            str(RATE),
            1,
        )
        # One message (HA's encoders pad it a little: ~0.1 s on the newest leg).
        assert SPOKEN_SECONDS - 0.05 <= seconds <= SPOKEN_SECONDS + 0.3
        assert notified[-1].data["message"] == f'Said at the front door: "{text}".'
        await wait_until(lambda: hass.states.get(SPEAKER).state == "idle", 10)
        return pitch

    for text in REPLIES:
        assert await tap_and_hear(text) == pytest.approx(pitch_of(text), abs=3)
    assert voice.said == REPLIES
    assert [(e.data["reply"], e.data["said"]) for e in replies] == [
        (text, True) for text in REPLIES
    ]

    # Privacy mode: refused with the blueprint's message; the device hears nothing.
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": PRIVACY}, blocking=True
    )
    asked, told = len(device.media_requests), len(notified)
    hass.bus.async_fire(
        "mobile_app_notification_action", {"action": buttons["I'm coming"]}
    )
    await wait_until(lambda: len(notified) > told, 10)
    assert notified[-1].data["message"] == (
        "Not said at the front door: privacy mode is on."
    )
    assert (replies[-1].data["reply"], replies[-1].data["said"]) == (
        "I'm coming",
        False,
    )
    # Privacy off, another reply: the device's next request (the API connection
    # keeps their order) is that one, so the refused tap sent none, not a late one.
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": PRIVACY}, blocking=True
    )
    assert len(device.media_requests) == asked
    assert await tap_and_hear("No thanks") == pytest.approx(
        pitch_of("No thanks"), abs=3
    )
    assert len(device.media_requests) == asked + 1
    assert set(voice.said) == set(REPLIES)
