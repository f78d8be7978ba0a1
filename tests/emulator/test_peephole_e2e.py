"""End to end: emulated doorbell → HA's esphome integration → Peephole.

Everything here is real but the ESP32 itself: the device side of the ESPHome native
API (encrypted with Noise), Home Assistant's own `esphome` integration as the client,
Peephole set up through its config and options flows, and HA's camera proxy.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
import shutil
import subprocess

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import numpy as np
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.const import DOMAIN
from tests.masking.frames import decode_rgb
from tools.emulator import EmulatedDoorbell

from .common import wait_until

SOURCE_CAMERA = "camera.peephole_doorbell_camera"
SOURCE_EVENT = "event.peephole_doorbell_doorbell"
SOURCE_MOTION = "binary_sensor.peephole_doorbell_motion"
DOORBELL = "event.front_door_doorbell"
CAMERA = "camera.front_door"
# The scene's houses, pavements and street: everything above 56 % of the height.
STREET = "0,0; 1,0; 1,0.56; 0,0.56"


async def _add_peephole(hass: HomeAssistant) -> str:
    """Set Peephole up through its config flow and add the street zone."""
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
    entry_id = result["result"].entry_id
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_zone"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"name": "Street", "points": STREET, "enabled": True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return entry_id


async def test_press_rings_once_and_live_view_is_masked(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    esphome_entry: tuple[MockConfigEntry, EmulatedDoorbell],
) -> None:
    _, device = esphome_entry
    await _add_peephole(hass)
    assert (
        er.async_get(hass).async_get(SOURCE_CAMERA).hidden_by
        is er.RegistryEntryHider.INTEGRATION
    )

    rings: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: rings.append(event.data["new_state"].attributes.get("event_type"))
        if event.data["entity_id"] == DOORBELL
        and event.data["new_state"].state not in ("unknown", "unavailable")
        else None,
    )
    await device.press()
    await wait_until(lambda: len(rings) >= 1, 10)
    # The button's own binary sensor goes on and off too; the press rings exactly once.
    await wait_until(
        lambda: hass.states.get("binary_sensor.peephole_doorbell_button").state
        == "off",
        10,
    )
    await hass.async_block_till_done()
    assert rings == ["ring"]

    await device.motion(True, duration=timedelta(seconds=30).total_seconds())
    await wait_until(
        lambda: hass.states.get("binary_sensor.front_door_motion").state == "on", 10
    )

    # The live view, through HA's camera proxy: the street is one flat grey, the
    # porch below it is the camera's picture.
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy/{CAMERA}")
    assert response.status == HTTPStatus.OK
    frame = decode_rgb(await response.read())
    height = frame.shape[0]
    street = frame[: int(0.56 * height) - 8]
    porch = frame[int(0.56 * height) + 16 :]
    assert street.std() == 0
    assert porch.std() > 10


async def test_press_records_one_masked_clip(
    hass: HomeAssistant,
    esphome_entry: tuple[MockConfigEntry, EmulatedDoorbell],
) -> None:
    """A press on the device → one `ring` → one clip, every frame of it masked."""
    _, device = esphome_entry
    entry_id = await _add_peephole(hass)
    # Turn recording on through the options flow, with a short pre- and post-roll.
    result = await hass.config_entries.options.async_init(entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "recording"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "record": True,
            "pre_roll": 1,
            "post_roll": 1,
            "max_clip_length": 10,
            "feed_fps": 5,
            "retention_days": 7,
            "max_storage_mb": 100,
            "min_free_mb": 0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    started: list[dict[str, object]] = []
    saved: list[dict[str, object]] = []
    hass.bus.async_listen("peephole_clip_started", lambda e: started.append(e.data))
    hass.bus.async_listen("peephole_clip_saved", lambda e: saved.append(e.data))
    await asyncio.sleep(1.5)  # let the pre-roll buffer fill

    await device.press()
    await wait_until(lambda: len(saved) >= 1, 30)
    await hass.async_block_till_done()
    assert len(started) == 1
    assert started[0]["trigger"] == "ring"
    assert saved[0]["clip_id"] == started[0]["clip_id"]

    recorder = hass.config_entries.async_get_entry(entry_id).runtime_data.recorder
    clip = recorder.store.get(saved[0]["clip_id"])
    assert clip is not None
    assert not clip.incomplete
    frames = await hass.async_add_executor_job(
        _decode_frames, recorder.store.clip_path(clip)
    )
    assert len(frames) >= 5
    for frame in frames:
        height = frame.shape[0]
        street = frame[: int(0.56 * height) - 8].astype(int)
        # x264 keeps a flat area flat (within a level or two of rounding).
        assert street.max() - street.min() <= 4
        assert frame[int(0.56 * height) + 16 :].std() > 10


def _decode_frames(path: Path) -> list[np.ndarray]:
    """Decode every frame of a clip with the real ffmpeg, as greyscale."""
    out = subprocess.run(  # noqa: S603 - ffmpeg on our own clip
        [
            shutil.which("ffmpeg") or "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    width, height = 800, 600
    count = len(out) // (width * height)
    return [
        np.frombuffer(out, np.uint8, width * height, i * width * height).reshape(
            height, width
        )
        for i in range(count)
    ]
