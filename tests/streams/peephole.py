"""Peephole on a streaming camera entity, in a real HA core: shared test helpers."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.components.camera import Camera, CameraEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_FEED_FPS,
    CONF_MAX_CLIP_LENGTH,
    CONF_MIN_FREE_MB,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
    CONF_RING_ENTITY,
    CONF_ZONES,
    DOMAIN,
)
from tools.streams import StreamSource, canary_rect

# The size of the tests' scene (tests/streams/conftest.py SPEC).
SIZE = (640, 360)
CAMERA = "camera.street_cam"
RING = "event.street_cam_button"
DOORBELL = "event.front_door_doorbell"
PRIVACY = "switch.front_door_privacy_mode"


def canary_zone(w: int, h: int) -> dict[str, Any]:
    """A zone over the scene's canary in a ``w`` x ``h`` picture."""
    x0, y0, x1, y1 = canary_rect(w, h)
    return {
        "name": "Canary",
        "points": [
            [x0 / w, y0 / h],
            [x1 / w, y0 / h],
            [x1 / w, y1 / h],
            [x0 / w, y1 / h],
        ],
    }


class StreamCamera(Camera):
    """A camera whose stream is a URL (as RTSP/ONVIF/generic cameras offer)."""

    _attr_name = "Street cam"
    _attr_unique_id = "street-cam"
    _attr_supported_features = CameraEntityFeature.STREAM

    def __init__(self) -> None:
        """No URL until the test sets one."""
        super().__init__()
        self.url: str | None = None
        self.stills = 0

    async def stream_source(self) -> str | None:
        """Return the stream's URL."""
        return self.url

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """A still (Peephole must not need it: it reads the stream)."""
        self.stills += 1
        return None


async def start_peephole(
    hass: HomeAssistant, camera: StreamCamera, source: StreamSource, url: str
) -> MockConfigEntry:
    """Point the camera at ``url`` and set Peephole up on it (recording on)."""
    camera.url = url
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data={CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: RING},
        options={
            CONF_RECORD: True,
            CONF_PRE_ROLL: 1.0,
            CONF_POST_ROLL: 1.5,
            CONF_MAX_CLIP_LENGTH: 20.0,
            CONF_FEED_FPS: 5,  # the stills rate: a stream goes at its own
            CONF_MIN_FREE_MB: 0,
            CONF_ZONES: [canary_zone(*SIZE)],
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def until(predicate: Any, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polls state, not an event
            await asyncio.sleep(0.05)


def ring(hass: HomeAssistant) -> None:
    hass.states.async_set(
        RING,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"event_type": "ring", "event_types": ["ring"]},
    )


def ring_span(entry: MockConfigEntry) -> float:
    packets = list(entry.runtime_data.recorder.ring)
    return packets[-1].time - packets[0].time if packets else 0.0
