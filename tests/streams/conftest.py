"""Fixtures: rendered scene clips (once per session) and sources on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from tools.streams import RtspServer, SceneClip, SceneSpec, render_scene

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
