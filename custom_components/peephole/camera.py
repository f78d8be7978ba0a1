"""The masked camera: every pixel it serves has the privacy masks burned in."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from aiohttp import web
from homeassistant.components.camera import (
    Camera,
    CameraEntityDescription,
    CameraEntityFeature,
    async_get_still_stream,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval

from .const import CONF_FRAME_INTERVAL, DEFAULT_FRAME_INTERVAL
from .doorbell import Peephole, PeepholeConfigEntry
from .entity import PeepholeEntity
from .masked_stream import internal_url
from .pipeline import SourceMode
from .source import DoorbellSource

PARALLEL_UPDATES = 0

# How often the masked stream's internal credential changes (when no reader is on).
CREDENTIAL_ROTATION = timedelta(minutes=10)

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
    """A camera built only from masked frames.

    Stills and the MJPEG stream come from `Peephole.async_masked_image`; the stream
    (HLS through HA's stream component, WebRTC through go2rtc where HA runs it) is
    the masked encode, served to HA's stream machinery on the host only
    (:mod:`.masked_stream`). A frame that cannot be masked is dropped, never
    served. In privacy mode there is no stream: the frontend shows the
    placeholder still.
    """

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
    def supported_features(self) -> CameraEntityFeature:
        """Offer a stream, except in privacy mode."""
        if self.peephole.privacy_mode:
            return CameraEntityFeature(0)
        return CameraEntityFeature.STREAM

    async def stream_source(self) -> str | None:
        """Return the internal URL of the masked stream (none in privacy mode)."""
        if self.peephole.privacy_mode:
            return None
        return internal_url(
            self.hass,
            self.peephole.entry.entry_id,
            self.peephole.stream_credential.current,
        )

    async def async_added_to_hass(self) -> None:
        """Rotate the stream's credential now and then; stop it in privacy mode."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_track_time_interval(
                self.hass, self._async_rotate, CREDENTIAL_ROTATION
            )
        )
        self.async_on_remove(self.peephole.async_add_listener(self._async_privacy))

    @callback
    def _async_privacy(self) -> None:
        """Privacy mode: stop HA's stream of this camera (its reader ends too).

        The stream is also let go: HA keeps a camera's stream once made and
        starts it again for the next viewer without asking ``stream_source()``
        (which has no URL in privacy mode), so a kept one would be handed out,
        and its worker would knock on the masked stream, until privacy mode ends.
        Let go, HA refuses a stream until then, and makes a new one afterwards.
        """
        if self.peephole.privacy_mode and (stream := self.stream) is not None:
            self.stream = None
            self.hass.async_create_task(
                stream.stop(), f"peephole stop stream {self.entity_id}"
            )

    async def _async_rotate(self, _now: datetime | None = None) -> None:
        """Give the internal URL a new credential, unless a reader is connected.

        HA's stream (if any) reads from the new URL from its next connection;
        the old credential stays good a minute for one on its way.
        """
        if self.peephole.stream_connections:
            return
        self.peephole.stream_credential.rotate()
        if self.stream is not None and (source := await self.stream_source()):
            self.stream.update_source(source)

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

        From a camera's stream, every masked picture as it comes (the source's
        rate); from snapshots, one per frame interval. A dropped frame repeats
        the last masked frame instead of ending the stream; the stream ends when
        the source is gone.
        """
        view = self.peephole.view_source
        if view is not None and view.mode is SourceMode.STREAM:
            return await self._async_stream_mjpeg(request, view)
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

    async def _async_stream_mjpeg(
        self, request: web.Request, source: DoorbellSource
    ) -> web.StreamResponse | None:
        """MJPEG of every masked picture of a stream (the placeholder when private)."""
        seq = -1
        last_frame: bytes | None = None

        async def _next_frame() -> bytes | None:
            nonlocal seq, last_frame
            if self.peephole.privacy_mode:
                await asyncio.sleep(self.frame_interval)
                return await self.peephole.async_placeholder()
            try:
                seq, last_frame = await self.peephole.async_stream_picture(source, seq)
            except HomeAssistantError:
                if not source.camera_available:
                    return None
            return last_frame

        return await async_get_still_stream(request, _next_frame, self.content_type, 0)
