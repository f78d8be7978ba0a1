"""The Doorbell panel's first page, and the size of the recipient's page.

- ``timeline_first_page_ms``: the server side of ``peephole/timeline`` for one
  day's first page (30 clips, as the panel asks) out of 5,000 indexed clips over
  14 days, median (target <= 50). Measured in a real Home Assistant core with a
  recording Peephole entry whose index holds the clips: the command's own code
  (filter, page, links of the shares, thumbnails as signed paths), without the
  websocket's transport.
- ``timeline_vs_browse_day``: that time over the time Home Assistant's media
  browser takes to list the same doorbell's same day through Peephole's media
  source, in the same run (a baseline every Peephole user already has).
- ``share_page_bytes``: the recipient's page of a one-clip share, as served
  (HTML with its inline style; the clip itself is a separate request), target
  <= 30 kB; ``share_page_bytes_20_clips`` for the largest share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
import json
from pathlib import Path
import random
import statistics
import tempfile
import time
from typing import Any
from unittest.mock import MagicMock

from homeassistant import loader
from homeassistant.components.camera import Camera
from homeassistant.components.media_source import async_browse_media
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_test_home_assistant,
    mock_integration,
    mock_platform,
)

from benchmarks import Measurement, measurement
from custom_components.peephole.clips import Clip, new_clip_id
from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_MIN_FREE_MB,
    CONF_RECORD,
    CONF_RING_ENTITY,
    DOMAIN,
)
from custom_components.peephole.panel_api import async_timeline_page
from custom_components.peephole.share_page import PageItem, render_page

REPO = Path(__file__).resolve().parent.parent
CLIPS = 5000
DAYS = 14
PAGE = 30


def _require(condition: object, what: str) -> None:
    if not condition:
        raise RuntimeError(f"benchmark set-up failed: {what}")


class _Camera(Camera):
    _attr_name = "Bench"
    _attr_unique_id = "bench-camera"

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        return None


async def _setup(hass: HomeAssistant) -> MockConfigEntry:
    async def _platform(
        hass: HomeAssistant,
        config: Any,
        add: AddEntitiesCallback,
        discovery_info: Any = None,
    ) -> None:
        add([_Camera()])

    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
    mock_integration(hass, MockModule("bench_cam"))
    mock_platform(
        hass, "bench_cam.camera", MockPlatform(async_setup_platform=_platform)
    )
    _require(await async_setup_component(hass, "homeassistant", {}), "set-up")
    _require(await async_setup_component(hass, "http", {"http": {}}), "set-up")
    _require(await async_setup_component(hass, "media_source", {}), "set-up")
    _require(
        await async_setup_component(
            hass, "camera", {"camera": {"platform": "bench_cam"}}
        ),
        "set-up",
    )
    hass.states.async_set("event.bench_button", "unknown", {"event_types": ["ring"]})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data={
            CONF_CAMERA_ENTITY: "camera.bench",
            CONF_RING_ENTITY: "event.bench_button",
        },
        options={CONF_RECORD: True, CONF_MIN_FREE_MB: 0, "feed_fps": 1},
    )
    entry.add_to_hass(hass)
    _require(await hass.config_entries.async_setup(entry.entry_id), "set-up")
    await hass.async_block_till_done()
    return entry


def _index(entry: MockConfigEntry) -> str:
    """Fill the entry's index with CLIPS clips over DAYS days; return a busy day."""
    store = entry.runtime_data.recorder.store
    rng = random.Random(5)
    now = dt_util.utcnow()
    for _ in range(CLIPS):
        start = (now - timedelta(seconds=rng.randrange(DAYS * 86400))).replace(
            microsecond=0
        )
        clip = Clip(
            id=new_clip_id(start),
            start=start,
            duration=15.0,
            size=400_000,
            trigger=rng.choice(["ring", "motion"]),
            thumbnail=True,
        )
        store.clips[clip.id] = clip
    return (dt_util.now().date() - timedelta(days=3)).isoformat()


async def _measure(quick: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        config_dir = Path(folder)
        (config_dir / "custom_components").mkdir()
        (config_dir / "custom_components" / DOMAIN).symlink_to(
            REPO / "custom_components" / DOMAIN
        )
        async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
            hass.config.skip_pip = True
            entry = await _setup(hass)
            day = _index(entry)
            user = await hass.auth.async_create_user(
                "bench", group_ids=["system-admin"]
            )
            refresh = await hass.auth.async_create_refresh_token(user, "http://bench/")
            connection = MagicMock(user=user, refresh_token_id=refresh.id)
            message = {"id": 1, "type": "peephole/timeline", "day": day, "limit": PAGE}
            rounds = 5 if quick else 60
            page_times = []
            browse_times = []
            answer: dict[str, Any] = {}
            media_id = f"media-source://{DOMAIN}/{entry.entry_id}/{day}"
            for _ in range(rounds):
                start = time.perf_counter()
                answer = await async_timeline_page(hass, connection, message)
                page_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                await async_browse_media(hass, media_id)
                browse_times.append(time.perf_counter() - start)
            _require(len(answer["clips"]) == PAGE, "a full first page")
            _require(answer["cursor"] is not None, "more pages")
            await hass.async_stop(force=True)
    page_ms = statistics.median(page_times) * 1000
    browse_ms = statistics.median(browse_times) * 1000
    return {"page_ms": page_ms, "ratio": page_ms / browse_ms}


def _page_bytes(clips: int) -> int:
    """Bytes of the recipient's page for a share of ``clips`` clips (English)."""
    strings_file = REPO / "custom_components" / "peephole" / "translations" / "en.json"
    ui = json.loads(strings_file.read_text(encoding="utf-8"))["ui"]
    strings = {f"component.{DOMAIN}.ui.{k}": v for k, v in ui.items()}
    token = "e" * 36 + "." + "p" * 220 + "." + "s" * 43  # a JWT's length
    items = [
        PageItem(
            title=f"2026-12-03 14:{i:02d} (CET)",
            path=f"/api/peephole/share/{'S' * 22}/20261203T1400{i:02d}-0123abcd.mp4?token={token}",
            download=f"front-door-20261203-1400{i:02d}.mp4",
            video=True,
        )
        for i in range(clips)
    ]
    html = render_page(
        strings,
        "en",
        doorbell="Front door",
        items=items,
        ends="2026-12-04 14:00 (CET)",
        views_left=3,
    )
    return len(html.encode())


def run(*, quick: bool) -> Iterator[Measurement]:
    """Yield the panel's figures."""
    figures = asyncio.run(_measure(quick))
    yield measurement("timeline_first_page_ms", figures["page_ms"], "ms")
    yield measurement("timeline_vs_browse_day", figures["ratio"], "ratio")
    yield measurement("share_page_bytes", _page_bytes(1), "bytes")
    yield measurement("share_page_bytes_20_clips", _page_bytes(20), "bytes")
