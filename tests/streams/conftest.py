"""Fixtures: rendered scene clips (once per session) and sources on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest

from tests.conftest import add_cameras
from tools.streams import RtspServer, SceneClip, SceneSpec, render_scene

from .peephole import RING, SIZE, StreamCamera

# Small and short, so that decoding costs little on a shared 2-core machine; a
# 1 s GOP keeps the wait for a keyframe short.
SPEC = SceneSpec(width=640, height=360, fps=15, gop_seconds=1.0, duration=8.0)


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Renders shared by the session's tests."""
    return tmp_path_factory.mktemp("scenes")


@pytest.fixture(scope="session")
def clip(scene_dir: Path) -> SceneClip:
    """The test scene, rendered and loaded."""
    return render_scene(SPEC, scene_dir).load()


@pytest.fixture
async def rtsp(socket_enabled: None, clip: SceneClip) -> AsyncGenerator[RtspServer]:
    """An RTSP server playing the test scene."""
    async with RtspServer(clip) as server:
        yield server


@pytest.fixture
def camera() -> StreamCamera:
    """The streaming source camera."""
    return StreamCamera()


@pytest.fixture
def sub_camera() -> StreamCamera:
    """The same camera's sub-stream (a second entity, as Reolink or UniFi offer)."""
    sub = StreamCamera()
    sub._attr_name = "Street cam sub"
    sub._attr_unique_id = "street-cam-sub"
    return sub


@pytest.fixture
async def setup_camera(
    hass: HomeAssistant, camera: StreamCamera, sub_camera: StreamCamera
) -> StreamCamera:
    """Add the camera entities to HA (through a test platform) and a ring source."""

    await add_cameras(hass, "street_cam", camera, sub_camera)
    hass.states.async_set(RING, "unknown", {"event_types": ["ring"]})
    return camera


assert (SPEC.width, SPEC.height) == SIZE
