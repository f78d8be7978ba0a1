"""Home Assistant's own generic camera and stream component on the RTSP source.

A real HA core: the generic camera is added through its config flow (which itself
starts HA's stream worker on the URL and waits for HLS output), the camera's
stream_source() is the RTSP URL, and HA's stream component turns it into HLS whose
segments decode to the scene's frames, one by one.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import av
from homeassistant.components.camera import (
    async_get_image,
    async_get_stream_source,
    async_request_stream,
)
from homeassistant.components.camera.helper import get_camera_from_entity_id
from homeassistant.components.generic import const as generic
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import numpy as np
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tools.streams import RtspServer, SceneClip, decode_frame_number

from .common import Decoded, Reading, assert_consecutive, assert_keyframes
from .conftest import SPEC

USERNAME, PASSWORD = "viewer", "door-pw"


def _user_input(url: str) -> dict[str, Any]:
    """The generic camera's first form, as each HA version shapes it."""
    advanced = {
        generic.CONF_FRAMERATE: SPEC.fps,
        CONF_VERIFY_SSL: False,
        "rtsp_transport": "tcp",
    }
    data: dict[str, Any] = {
        generic.CONF_STREAM_SOURCE: url,
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
    }
    # HA 2025.x has a flat form; later versions put the tunables in a section.
    if section := getattr(generic, "SECTION_ADVANCED", None):
        return data | {section: advanced}
    return data | advanced


def _decode_fmp4(data: bytes) -> Reading:
    """Decode an fMP4 (init + segments) in memory."""
    reading = Reading()
    with av.open(io.BytesIO(data), format="mp4") as container:
        for frame in container.decode(video=0):
            reading.frames.append(
                Decoded(
                    decode_frame_number(frame.to_ndarray(format="gray")),
                    bool(frame.key_frame),
                    0.0,
                )
            )
    reading.ended = "eof"
    return reading


# HA's generic config flow stops its preview stream with Stream.stop(), which drops
# the stream's HLS output without clearing that output's idle timer (started when
# the preview received its first segment): HA's own timer outlives the test.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_generic_camera_streams_the_rtsp_source(
    hass: HomeAssistant,
    socket_enabled: None,
    hass_client: ClientSessionGenerator,
    clip: SceneClip,
) -> None:
    """Config flow, stream_source(), HLS from HA's stream component, then clean up."""
    async with RtspServer(clip, username=USERNAME, password=PASSWORD) as server:
        url = server.url(credentials=False)
        result = await hass.config_entries.flow.async_init(
            "generic", context={"source": SOURCE_USER}
        )
        assert result["type"] is FlowResultType.FORM
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(url)
        )
        # The flow has played the stream through HA's stream worker already.
        assert result["type"] is FlowResultType.FORM, result
        assert result["step_id"] == "user_confirm"
        assert server.sessions_total >= 1
        assert server.auth_failures >= 1  # digest: challenged, then let in
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {generic.CONF_CONFIRMED_OK: True}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries("generic")[0]
        assert entry.state is ConfigEntryState.LOADED
        (entity_id,) = hass.states.async_entity_ids("camera")

        # The camera's stream source is the server's URL, credentials added by HA.
        assert await async_get_stream_source(hass, entity_id) == server.url()

        # HA's stream component turns it into HLS.
        hls_url = await async_request_stream(hass, entity_id, "hls")
        client = await hass_client()
        response = await client.get(hls_url)  # waits for two segments
        assert response.status == 200
        assert "playlist.m3u8" in await response.text()
        base = hls_url.rsplit("/", 1)[0]
        segments: list[str] = []
        async with asyncio.timeout(30):
            while len(segments) < 2:
                response = await client.get(f"{base}/playlist.m3u8")
                assert response.status == 200
                playlist = await response.text()
                segments = re.findall(
                    r"^(?:\./)?segment/\d+\.m4s$", playlist, re.MULTILINE
                )
                await asyncio.sleep(0.5)
        assert '#EXT-X-MAP:URI="init.mp4"' in playlist
        data = bytearray(await (await client.get(f"{base}/init.mp4")).read())
        for segment in segments[:-1]:  # complete ones (the last may be growing)
            response = await client.get(f"{base}/{segment}")
            assert response.status == 200
            data += await response.read()

        reading = await hass.async_add_executor_job(_decode_fmp4, bytes(data))
        assert len(reading.frames) >= 1.5 * SPEC.fps
        assert_consecutive(reading, SPEC)
        assert_keyframes(reading, SPEC)
        assert reading.frames[0].keyframe  # each segment starts at a keyframe

        # Without a still URL, the camera's picture is the stream's last keyframe.
        image = await async_get_image(hass, entity_id)
        picture = np.asarray(Image.open(io.BytesIO(image.content)).convert("RGB"))
        number = decode_frame_number(picture)
        assert number is not None
        assert number % SPEC.gop_frames == 0

        # When its last output goes, HA's stream stops and leaves the source.
        stream = get_camera_from_entity_id(hass, entity_id).stream
        assert stream is not None
        assert server.clients == 1
        for provider in list(stream.outputs().values()):
            await stream.remove_provider(provider)
        async with asyncio.timeout(10):
            await server.wait_for_clients(0)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
