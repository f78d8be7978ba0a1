"""The masked stream through Home Assistant's own stream machinery.

A real HA core with its HTTP server listening on 127.0.0.1, HA's ``stream``
component, Peephole on a camera streaming the numbered scene over RTSP with a zone
over the scene's canary. HA's stream worker reads the masked camera's internal URL
(Peephole's MPEG-TS view) and makes HLS of it; the HLS segments are decoded frame
by frame: every picture there, in order, the canary never shown. The internal URL
refuses everyone but the host, with the credential; privacy mode ends the stream;
a zone drawn reaches the stream at once; camera.play_stream hands a media player
HA's own HLS URL of the masked stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import io
import itertools
import re
import threading
import time
from typing import Any

import aiohttp
import av
from homeassistant.components.camera import Camera, async_request_stream
from homeassistant.components.camera.helper import get_camera_from_entity_id
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_FEED_FPS,
    CONF_RING_ENTITY,
    CONF_ZONES,
    DOMAIN,
)
from custom_components.peephole.masked_stream import STREAM_USER
from tests.conftest import add_cameras
from tests.demo_process import free_port
from tools.streams import (
    RtspServer,
    SceneClip,
    canary_visible,
    decode_frame_number,
)

from .conftest import SPEC
from .peephole import (
    PRIVACY,
    SIZE,
    StreamCamera,
    canary_zone,
    start_peephole,
    until,
)

# HA's Stream.stop() leaves its HLS output's idle timer running (HA's own timer,
# seen with HA's generic camera too, tests/streams/test_ha_generic.py).
pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

MASKED = "camera.front_door"
# The whole top half of the picture: where the frame number's barcode is not.
TOP_HALF = {"name": "Top", "points": [[0, 0], [1, 0], [1, 0.5], [0, 0.5]]}


@pytest.fixture(autouse=True)
def disable_http_server() -> None:
    """Let HA's HTTP server really listen (HA's stream worker reads from it).

    (The harness's own fixture of this name, on newer releases, stops it.)
    """


@pytest.fixture
async def http(hass: HomeAssistant, socket_enabled: None) -> AsyncGenerator[int]:
    """HA's HTTP server listening on 127.0.0.1 (HA's stream reads from it)."""
    port = free_port()
    assert await async_setup_component(
        hass,
        "http",
        {
            "http": {
                "server_host": ["127.0.0.1"],
                "server_port": port,
                # A reverse proxy on the host, as many installations have.
                "use_x_forwarded_for": True,
                "trusted_proxies": ["127.0.0.1"],
            }
        },
    )
    assert await async_setup_component(hass, "stream", {})
    await hass.async_block_till_done()
    if getattr(hass.http, "runner", None) is None:
        await hass.http.start()  # as at HA's start (the tests' HA is running)
    yield port
    # HA's stream of the masked camera stops with its outputs (and their timers).
    try:
        camera = get_camera_from_entity_id(hass, MASKED)
    except HomeAssistantError:
        camera = None
    if camera is not None and camera.stream is not None:
        for provider in list(camera.stream.outputs().values()):
            await camera.stream.remove_provider(provider)
        await camera.stream.stop()
    await hass.http.stop()


class Hls:
    """Reads HA's HLS of a stream, complete segments only, each once."""

    def __init__(self, hass: HomeAssistant, client: Any, hls_url: str) -> None:
        """Read from ``hls_url`` (its master playlist)."""
        self.hass = hass
        self.client = client
        self.base = hls_url.rsplit("/", 1)[0]
        self.seen: set[str] = set()
        self.init: bytes | None = None

    async def pictures(
        self, minimum: int = 1, until: Any = None, seconds: float = 60
    ) -> list[tuple[int | None, bool, float]]:
        """Decode new segments until ``minimum`` pictures (and ``until`` holds).

        Returns (frame number, canary visible, std of the top half) per picture.
        """
        if self.init is None:
            self.init = await (await self.client.get(f"{self.base}/init.mp4")).read()
        pictures: list[tuple[int | None, bool, float]] = []
        async with asyncio.timeout(seconds):
            while len(pictures) < minimum or (until and not until(pictures)):
                response = await self.client.get(f"{self.base}/playlist.m3u8")
                playlist = await response.text()
                segments = re.findall(r"^(?:\./)?segment/\d+\.m4s$", playlist, re.M)
                for segment in segments[:-1]:  # complete ones
                    if segment in self.seen:
                        continue
                    self.seen.add(segment)
                    data = await (
                        await self.client.get(f"{self.base}/{segment}")
                    ).read()
                    pictures += await self.hass.async_add_executor_job(
                        _decode, self.init + data
                    )
                await asyncio.sleep(0.1)
        return pictures


def _read_ts(url: str, arrivals: list[tuple[float, float]], stop: Any) -> None:
    """Read the masked stream's MPEG-TS; note (arrival, top-half std) per picture."""
    with av.open(url, options={"rw_timeout": "10000000"}) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            arrivals.append(
                (time.monotonic(), float(rgb[: rgb.shape[0] // 2 - 8].std()))
            )
            if stop.is_set():
                return


def _decode(data: bytes) -> list[tuple[int | None, bool, float]]:
    out = []
    with av.open(io.BytesIO(data), format="mp4") as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            top = rgb[: rgb.shape[0] // 2 - 8]
            out.append(
                (decode_frame_number(rgb), canary_visible(rgb), float(top.std()))
            )
    return out


async def test_the_masked_stream_plays_through_home_assistant(
    hass: HomeAssistant,
    http: int,
    hass_client: ClientSessionGenerator,
    setup_camera: StreamCamera,
    rtsp: RtspServer,
    clip: SceneClip,
) -> None:
    """HLS from HA's stream component: the scene, moving, and never the canary."""
    entry = await start_peephole(hass, setup_camera, rtsp, rtsp.url())
    started = time.monotonic()
    hls_url = await async_request_stream(hass, MASKED, "hls")
    client = await hass_client()
    response = await client.get(hls_url)  # HA waits for its first segments
    assert response.status == 200
    stream_start = time.monotonic() - started
    pictures = await Hls(hass, client, hls_url).pictures(2 * SPEC.fps)
    numbers = [number for number, _, _ in pictures]
    assert None not in numbers
    steps = [(b - a) % clip.spec.frames for a, b in itertools.pairwise(numbers)]
    assert all(step == 1 for step in steps), numbers  # every picture, moving
    assert not any(visible for _, visible, _ in pictures)
    # HA's stream reads Peephole's internal URL, never the camera's own.
    stream = get_camera_from_entity_id(hass, MASKED).stream
    assert stream is not None
    assert "/api/peephole/stream/" in stream.source
    assert rtsp.url() not in stream.source
    assert entry.runtime_data.stream_connections == 1
    assert stream_start < 30
    # One reader of the camera: Peephole (HA's stream reads Peephole, not it).
    assert rtsp.clients == 1


async def test_the_internal_url_is_for_the_host_with_its_credential(
    hass: HomeAssistant,
    http: int,
    setup_camera: StreamCamera,
    rtsp: RtspServer,
) -> None:
    """No credential, a wrong one, a forwarded request: refused; the right one: TS."""
    entry = await start_peephole(hass, setup_camera, rtsp, rtsp.url())
    camera = get_camera_from_entity_id(hass, MASKED)
    url = await camera.stream_source()
    assert url is not None
    assert url.startswith(f"http://{STREAM_USER}:")
    credential = entry.runtime_data.stream_credential.current
    assert credential in url
    plain = url.replace(f"{STREAM_USER}:{credential}@", "")
    auth = aiohttp.BasicAuth(STREAM_USER, credential)
    async with aiohttp.ClientSession() as session:
        async with session.get(plain) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == 'Basic realm="peephole"'
        bad = aiohttp.BasicAuth(STREAM_USER, credential[:-1] + "x")
        async with session.get(plain, auth=bad) as response:
            assert response.status == 401
        # Relayed by the reverse proxy on the host (HA trusts it, so the client
        # is the visitor): not the host itself.
        async with session.get(
            plain, auth=auth, headers={"X-Forwarded-For": "203.0.113.9"}
        ) as response:
            assert response.status == 404
        async with session.get(plain, auth=auth) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "video/mp2t"
            data = await response.content.readexactly(188 * 20)
            assert data[0] == 0x47  # MPEG-TS sync byte
        # The credential rotates (while no reader is connected); the old one
        # keeps working for a minute only.
        await until(lambda: entry.runtime_data.stream_connections == 0, 10)
        await camera._async_rotate()
        assert entry.runtime_data.stream_credential.current != credential
        new_url = await camera.stream_source()
        assert credential not in new_url
        async with session.get(plain, auth=auth) as response:
            assert response.status == 200  # (within the grace)
            await response.content.readexactly(188)
        entry.runtime_data.stream_credential.rotated_at -= 3600
        async with session.get(plain, auth=auth) as response:
            assert response.status == 401


async def test_privacy_mode_ends_the_stream_and_a_zone_reaches_it(
    hass: HomeAssistant,
    http: int,
    hass_client: ClientSessionGenerator,
    setup_camera: StreamCamera,
    rtsp: RtspServer,
) -> None:
    """A zone drawn shows in the stream's next pictures; privacy mode ends it."""
    entry = await start_peephole(hass, setup_camera, rtsp, rtsp.url())
    hls_url = await async_request_stream(hass, MASKED, "hls")
    client = await hass_client()
    assert (await client.get(hls_url)).status == 200
    hls = Hls(hass, client, hls_url)
    before = await hls.pictures(SPEC.fps)
    assert min(top for _, _, top in before) > 10  # the top half moves
    # A second reader of the masked stream itself (as HA's stream worker reads
    # it), noting when each picture arrives.
    camera = get_camera_from_entity_id(hass, MASKED)
    internal = await camera.stream_source()
    arrivals: list[tuple[float, float]] = []
    stop = threading.Event()
    reader = threading.Thread(target=_read_ts, args=(internal, arrivals, stop))
    reader.start()
    await until(lambda: len(arrivals) >= SPEC.fps, 20)
    drawn = time.monotonic()
    drawn_at = time.time()
    hass.config_entries.async_update_entry(
        entry,
        options={**entry.options, CONF_ZONES: [*entry.options[CONF_ZONES], TOP_HALF]},
    )
    await hass.async_block_till_done()
    after = await hls.pictures(until=lambda got: any(top < 2 for _, _, top in got))
    latency = time.monotonic() - drawn
    flat = [top < 2 for _, _, top in after]
    first = flat.index(True)
    # Once masked, every later picture is masked: no picture made before the
    # zone comes after one made with it (the new masks start with a keyframe).
    more = await hls.pictures(SPEC.fps)
    assert all(flat[first:])
    assert all(top < 2 for _, _, top in more)
    # In the masked stream itself: from the next picture on.
    stop.set()
    await hass.async_add_executor_job(reader.join, 10)
    masked_at = next(at for at, top in arrivals if at > drawn and top < 2)
    stale = [top for at, top in arrivals if drawn < at < masked_at]
    ts_latency = masked_at - drawn
    assert all(top >= 2 for top in stale)
    assert ts_latency < 1 / SPEC.fps + 1.5  # a frame interval, and a busy machine
    # In HA's HLS: that, plus the segment being written (HA cuts its segments at
    # keyframes, a few seconds long; the frontend's LL-HLS parts come sooner).
    print(  # noqa: T201 - the measured figures, in the test log
        f"zone drawn at {drawn_at:.2f}: in the masked stream after "
        f"{ts_latency * 1000:.0f} ms ({len(stale)} pictures in flight), in a "
        f"complete HLS segment after {latency:.2f} s ({first} older pictures "
        "before it in that segment)"
    )

    private = time.monotonic()
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    await until(lambda: entry.runtime_data.stream_connections == 0, 10)
    print(  # noqa: T201 - the measured figure, in the test log
        f"privacy mode ended the masked stream after "
        f"{(time.monotonic() - private) * 1000:.0f} ms"
    )
    assert not hass.states.get(MASKED).attributes.get("supported_features")
    camera = get_camera_from_entity_id(hass, MASKED)
    assert await camera.stream_source() is None
    # HA let its stream go: a viewer (the frontend, camera.play_stream) gets none,
    # and the stream's old HLS address is gone.
    assert camera.stream is None
    with pytest.raises(HomeAssistantError, match="does not support play stream"):
        await async_request_stream(hass, MASKED, "hls")
    assert (await client.get(hls_url)).status == 404
    await until(lambda: rtsp.clients == 0, 15)
    # Privacy mode off: HA makes a new stream, from the masked stream's URL.
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: PRIVACY}, blocking=True
    )
    assert await async_request_stream(hass, MASKED, "hls") != hls_url
    stream = get_camera_from_entity_id(hass, MASKED).stream
    assert stream is not None
    assert "/api/peephole/stream/" in stream.source


async def test_play_stream_hands_the_masked_hls_to_a_media_player(
    hass: HomeAssistant,
    http: int,
    setup_camera: StreamCamera,
    rtsp: RtspServer,
) -> None:
    await start_peephole(hass, setup_camera, rtsp, rtsp.url())
    played: list[ServiceCall] = async_mock_service(hass, "media_player", "play_media")
    await hass.services.async_call(
        "camera",
        "play_stream",
        {ATTR_ENTITY_ID: MASKED, "media_player": "media_player.hall_tv"},
        blocking=True,
    )
    (call,) = played
    url = call.data["media_content_id"]
    assert re.search(r"/api/hls/[0-9a-f]+/master_playlist\.m3u8$", url), url
    assert call.data["media_content_type"] == "application/vnd.apple.mpegurl"
    stream = get_camera_from_entity_id(hass, MASKED).stream
    assert stream is not None
    assert "/api/peephole/stream/" in stream.source
    # (unused fixtures of the shared module)
    assert MockConfigEntry


class StillsCamera(Camera):
    """A camera whose stills are fresh pictures (as the ESP32-CAM's are): the scene."""

    _attr_name = "Porch still"
    _attr_unique_id = "porch-still"

    def __init__(self, clip: SceneClip) -> None:
        """Serve the scene's frames, the next one at each request."""
        super().__init__()
        self.jpegs = clip.jpegs
        self.served = 0

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return the next picture of the scene."""
        jpeg = self.jpegs[self.served % len(self.jpegs)]
        self.served += 1
        return jpeg


async def test_a_stills_camera_streams_masked_too(
    hass: HomeAssistant,
    http: int,
    hass_client: ClientSessionGenerator,
    clip: SceneClip,
) -> None:
    """The ESP32-CAM kind (no stream of its own): its stills make the stream."""
    still = StillsCamera(clip)

    await add_cameras(hass, "porch_still", still)
    hass.states.async_set("event.porch_button", "unknown", {"event_types": ["ring"]})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data={
            CONF_CAMERA_ENTITY: "camera.porch_still",
            CONF_RING_ENTITY: "event.porch_button",
        },
        options={CONF_FEED_FPS: 10, CONF_ZONES: [canary_zone(*SIZE)]},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.recorder is None  # recording off: the stream alone
    hls_url = await async_request_stream(hass, MASKED, "hls")
    client = await hass_client()
    assert (await client.get(hls_url)).status == 200
    pictures = await Hls(hass, client, hls_url).pictures(20)
    numbers = [number for number, _, _ in pictures]
    assert None not in numbers
    assert len(set(numbers)) == len(numbers)  # every picture a new one
    assert numbers == sorted(numbers)
    assert not any(visible for _, visible, _ in pictures)
    assert entry.runtime_data.source.stats.mode == "stills"
