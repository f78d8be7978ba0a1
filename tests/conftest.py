"""Fixtures for Peephole tests: a real Home Assistant core with real source entities."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
import functools
import io
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components.camera import Camera
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_integration,
    mock_platform,
)

from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_MOTION_ENTITY,
    CONF_RECORD,
    CONF_RING_ENTITY,
    DOMAIN,
    RECORDING_DEFAULTS,
)

CAMERA = "camera.porch"
RING_EVENT = "event.porch_button"
RING_BINARY = "binary_sensor.porch_button"
MOTION = "binary_sensor.porch_motion"


def is_peephole_code(target: object) -> bool:
    """Whether a callback is Peephole's own code, by its module (never by a path).

    Unwraps bound methods, ``functools.partial`` and HA's ``HassJob``; a path or a
    repr would also match anything installed under a folder named ``peephole``.
    """
    for _ in range(8):
        if isinstance(target, functools.partial):
            target = target.func
        elif hasattr(target, "__func__"):
            target = target.__func__
        elif (job_target := getattr(target, "target", None)) is not None:
            target = job_target
        else:
            break
    module = getattr(target, "__module__", None) or ""
    return module == "custom_components.peephole" or module.startswith(
        "custom_components.peephole."
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/ in every test."""


@pytest.fixture(autouse=True, scope="session")
def no_recording_by_default() -> Generator[None]:
    """Entries record only when their options say so (tests/recording set them).

    Session-wide, so that a reload during a test's teardown does not start recording.
    """
    with patch.dict(RECORDING_DEFAULTS, {CONF_RECORD: False}):
        yield


@pytest.fixture(autouse=True)
def clips_dir(tmp_path: Path) -> Generator[Path]:
    """Keep clips in the test's own folder."""
    root = tmp_path / "peephole-clips"
    with patch("custom_components.peephole.clips.clips_root", return_value=root):
        yield root


def make_jpeg(
    width: int = 320, height: int = 240, color: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    """Return a JPEG of a solid colour with a white square, for source cameras."""
    image = Image.new("RGB", (width, height), color)
    image.paste((255, 255, 255), (width // 4, height // 4, width // 2, height // 2))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


class SourceCamera(Camera):
    """A real HA camera entity that serves whatever bytes a test puts in `frame`."""

    _attr_name = "Porch"
    _attr_unique_id = "porch-camera"

    def __init__(self) -> None:
        """Initialise with a valid JPEG."""
        super().__init__()
        self.frame: bytes | None = make_jpeg()
        self.requests: list[tuple[int | None, int | None]] = []

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return the current frame."""
        self.requests.append((width, height))
        return self.frame


async def add_cameras(hass: HomeAssistant, integration: str, *cameras: Camera) -> None:
    """Add real camera entities to HA through a test integration's camera platform."""

    async def _setup_platform(
        hass: HomeAssistant,
        config: Any,
        async_add_entities: AddEntitiesCallback,
        discovery_info: Any = None,
    ) -> None:
        async_add_entities(list(cameras))

    mock_integration(hass, MockModule(integration))
    mock_platform(
        hass,
        f"{integration}.camera",
        MockPlatform(async_setup_platform=_setup_platform),
    )
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass, Platform.CAMERA, {Platform.CAMERA: {"platform": integration}}
    )
    await hass.async_block_till_done()


@pytest.fixture
def source_camera() -> SourceCamera:
    """The source camera entity."""
    return SourceCamera()


@pytest.fixture
async def sources(
    hass: HomeAssistant, source_camera: SourceCamera
) -> AsyncGenerator[SourceCamera]:
    """Set up a real camera entity (through a test platform) and the ring/motion states.

    The ring and motion sources are plain states: Peephole only reads states, so any
    integration's event or binary_sensor entity looks the same to it.
    """

    await add_cameras(hass, "test_cam", source_camera)
    hass.states.async_set(
        RING_EVENT, "unknown", {"event_types": ["ring"], "device_class": "doorbell"}
    )
    hass.states.async_set(RING_BINARY, "off")
    hass.states.async_set(MOTION, "off", {"device_class": "motion"})
    assert hass.states.get(CAMERA) is not None
    return source_camera


@pytest.fixture
def entry_data() -> dict[str, Any]:
    """Entry data: camera, event ring source and motion."""
    return {
        CONF_CAMERA_ENTITY: CAMERA,
        CONF_RING_ENTITY: RING_EVENT,
        CONF_MOTION_ENTITY: MOTION,
    }


@pytest.fixture
def config_entry(entry_data: dict[str, Any]) -> MockConfigEntry:
    """A Peephole config entry."""
    return MockConfigEntry(
        domain=DOMAIN, title="Front door", data=entry_data, unique_id=CAMERA, version=1
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, sources: SourceCamera, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up Peephole on top of the sources."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


@pytest.fixture
def mock_setup_entry() -> Generator[None]:
    """Keep config flow tests from setting up the entry."""
    with patch("custom_components.peephole.async_setup_entry", return_value=True):
        yield
