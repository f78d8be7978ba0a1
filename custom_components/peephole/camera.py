"""The masked camera: every pixel it serves has the privacy masks burned in."""

from __future__ import annotations

from aiohttp import web
from homeassistant.components.camera import (
    Camera,
    CameraEntityDescription,
    async_get_still_stream,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import CONF_FRAME_INTERVAL, DEFAULT_FRAME_INTERVAL
from .doorbell import Peephole, PeepholeConfigEntry
from .entity import PeepholeEntity

PARALLEL_UPDATES = 0

# The doorbell's main feature: the entity takes the device's name.
MASKED_CAMERA = CameraEntityDescription(key="camera", name=None)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Set up the masked camera."""
    async_add_entities([PeepholeCamera(entry.runtime_data, MASKED_CAMERA)])


class PeepholeCamera(PeepholeEntity, Camera):
    """A camera built only from masked frames (no STREAM feature, on purpose).

    Stills and the MJPEG stream both come from `Peephole.async_masked_image`; a frame
    that cannot be masked is dropped, never served.
    """

    _attr_is_streaming = False

    def __init__(
        self, peephole: Peephole, description: CameraEntityDescription
    ) -> None:
        """Initialise the camera."""
        PeepholeEntity.__init__(self, peephole, description)
        Camera.__init__(self)
        self._attr_frame_interval = peephole.entry.options.get(
            CONF_FRAME_INTERVAL, DEFAULT_FRAME_INTERVAL
        )

    @property
    def available(self) -> bool:
        """Return True while the source camera is available (or privacy mode is on)."""
        return self.peephole.privacy_mode or self.peephole.camera_available

    @property
    def extra_state_attributes(self) -> dict[str, object]:
        """Expose the privacy state and the active zones' names."""
        return {
            "privacy_mode": self.peephole.privacy_mode,
            "zones": {zone.name: zone.enabled for zone in self.peephole.zones},
        }

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return a masked still (raises when no masked frame can be made)."""
        return await self.peephole.async_masked_image(width, height)

    async def handle_async_mjpeg_stream(
        self, request: web.Request
    ) -> web.StreamResponse | None:
        """Serve an MJPEG stream of masked frames.

        A dropped frame repeats the last masked frame instead of ending the stream;
        the stream ends when the source is gone.
        """
        last_frame: bytes | None = None

        async def _next_frame() -> bytes | None:
            nonlocal last_frame
            try:
                last_frame = await self.peephole.async_masked_image()
            except HomeAssistantError:
                if not self.peephole.camera_available:
                    return None
            return last_frame

        return await async_get_still_stream(
            request, _next_frame, self.content_type, self.frame_interval
        )
