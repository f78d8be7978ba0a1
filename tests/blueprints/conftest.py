"""Fixtures for the blueprint tests: the blueprints in a config dir, phones, recording.

And the things at the door a reply needs: real media player entities that record what
they are asked to play, and a real text-to-speech entity (HA's own ``tts`` component)
that records what it is asked to say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import io
from pathlib import Path
import shutil
from typing import Any
import wave

from homeassistant.components.media_player import (
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)
from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.peephole.const import (
    CONF_FEED_FPS,
    CONF_MAX_CLIP_LENGTH,
    CONF_MIN_FREE_MB,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
)

from .common import PEEPHOLE_BLUEPRINTS, PHONES, mock_services, until


@pytest.fixture
async def blueprint_config(
    hass: HomeAssistant, tmp_path: Path, init_integration: MockConfigEntry
) -> Path:
    """Point HA at a temporary config dir holding the project's blueprints.

    phcc's default config dir lives inside site-packages and is shared: never write there.
    """
    hass.config.config_dir = str(tmp_path)
    target = Path(hass.config.path("blueprints", "automation", "peephole"))
    await hass.async_add_executor_job(
        lambda: shutil.copytree(PEEPHOLE_BLUEPRINTS, target)
    )
    return target


@pytest.fixture
async def assist(hass: HomeAssistant, blueprint_config: Path) -> None:
    """HA's conversation component (Assist), with its default agent."""
    assert await async_setup_component(hass, "conversation", {})


@pytest.fixture
async def recording(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> MockConfigEntry:
    """Turn recording on for the entry, as its options flow does (the entry reloads).

    Recording is off in ordinary tests (tests/conftest.py); with this fixture
    ``peephole.record_clip``/``keep_clip`` run for real (real ffmpeg, real time: those
    tests do not freeze the clock).
    """
    hass.config_entries.async_update_entry(
        init_integration,
        options={
            **init_integration.options,
            CONF_RECORD: True,
            CONF_PRE_ROLL: 1.0,
            CONF_POST_ROLL: 1.0,
            CONF_MAX_CLIP_LENGTH: 5.0,
            CONF_FEED_FPS: 5,
            CONF_MIN_FREE_MB: 0,
        },
    )
    await hass.async_block_till_done()
    recorder = init_integration.runtime_data.recorder
    assert recorder is not None
    await until(lambda: len(recorder.ring) >= 2)  # some pre-roll
    return init_integration


@pytest.fixture
def phones(hass: HomeAssistant) -> dict[str, str]:
    """Two Companion app devices in the device registry: name -> device id."""
    device_ids = {}
    for name in PHONES:
        entry = MockConfigEntry(domain="mobile_app", title=name, data={})
        entry.add_to_hass(hass)
        device = dr.async_get(hass).async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={("mobile_app", name)},
            name=name,
            manufacturer="Test",
        )
        device_ids[name] = device.id
    return device_ids


@pytest.fixture
def notify_calls(hass: HomeAssistant) -> dict[str, list[ServiceCall]]:
    """Capture the phones' notify services."""
    return mock_services(hass, *(f"notify.{service}" for service in PHONES.values()))


def _silence() -> bytes:
    """A tenth of a second of silence, as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(16000)
        audio.writeframes(b"\0\0" * 1600)
    return out.getvalue()


class DoorSpeaker(MediaPlayerEntity):
    """A media player at the door: records every media it is asked to play."""

    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY_MEDIA | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
    )
    _attr_state = MediaPlayerState.IDLE

    def __init__(self, name: str) -> None:
        """Name the speaker; nothing played yet."""
        self._attr_name = name
        self._attr_unique_id = name.lower().replace(" ", "_")
        self.played: list[tuple[str, str, dict[str, Any]]] = []
        self.fails = False

    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Record the media (or refuse it, as a speaker that is off would)."""
        if self.fails:
            raise HomeAssistantError("The speaker refused to play")
        self.played.append((str(media_type), media_id, kwargs))

    def set_available(self, available: bool) -> None:
        """Make the speaker (un)available, as a device going offline does."""
        self._attr_available = available
        self.async_write_ha_state()


class DoorVoice(TextToSpeechEntity):
    """A text-to-speech engine: records every message it is asked to say."""

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
        """Say ``message``: record it, return silence."""
        self.said.append(message)
        return "wav", _silence()


@dataclass
class Door:
    """What is at the door: two speakers and a voice."""

    speaker: DoorSpeaker = field(default_factory=lambda: DoorSpeaker("Door speaker"))
    porch: DoorSpeaker = field(default_factory=lambda: DoorSpeaker("Porch speaker"))
    voice: DoorVoice = field(default_factory=DoorVoice)


class _TestFlow(ConfigFlow):
    """A test integration's config flow (HA needs one to set up a config entry)."""

    VERSION = 1


async def async_setup_entities(
    hass: HomeAssistant, domain: str, entities: dict[Platform, list[Entity]]
) -> MockConfigEntry:
    """Add ``entities`` through a test integration's config entry and platforms.

    Each platform's component (``tts``, ``media_player``, ``ai_task``...) is HA's
    own, set up first.
    """

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, list(entities))
        return True

    def platform(added: list[Entity]) -> MockPlatform:
        async def setup(
            hass: HomeAssistant, entry: ConfigEntry, add: AddEntitiesCallback
        ) -> None:
            add(added)

        return MockPlatform(async_setup_entry=setup)

    mock_integration(hass, MockModule(domain, async_setup_entry=setup_entry))
    mock_platform(hass, f"{domain}.config_flow")
    for name, added in entities.items():
        mock_platform(hass, f"{domain}.{name}", platform(added))
        assert await async_setup_component(hass, name, {})
    entry = MockConfigEntry(domain=domain)
    entry.add_to_hass(hass)
    with mock_config_flow(domain, _TestFlow):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    for added in entities.values():
        for entity in added:
            assert entity.entity_id is not None
            assert hass.states.get(entity.entity_id) is not None
    return entry


@pytest.fixture
async def door(hass: HomeAssistant, blueprint_config: Path) -> Door:
    """Set up the speakers and the voice, with HA's media source for TTS media.

    After ``blueprint_config``: HA's tts keeps its cache in the (temporary) config dir.
    """
    door = Door()
    assert await async_setup_component(hass, "media_source", {})
    await async_setup_entities(
        hass,
        "test_door",
        {
            Platform.MEDIA_PLAYER: [door.speaker, door.porch],
            Platform.TTS: [door.voice],
        },
    )
    return door
