"""An emulated Peephole doorbell speaking the ESPHome native API (device side).

Home Assistant's ``esphome`` integration (aioesphomeapi as the client)
connects to it as if it were the ESP32-CAM firmware in ``esphome/``: same
device name, entities, object ids and keys (derived from the YAML, see
``entities.py``), plaintext or Noise-encrypted. Started with a device file that
has a speaker (``peephole-doorbell-s3.yaml``), it is a media player too, and
records what it is asked to play (:attr:`EmulatedDoorbell.media_requests`).

Messages are the protobuf classes of the installed ``aioesphomeapi``
(``api_pb2`` + ``core.MESSAGE_TYPE_TO_PROTO``); names that changed between
releases (``ConnectRequest`` → ``AuthenticationRequest``) are handled by
message id, and fields are only set when the installed schema has them.

Python API::

    async with EmulatedDoorbell(port=0, key=KEY, timing=ESP32_CAM) as device:
        ...  # device.port is the bound port
        await device.press()
        await device.motion(True)

The camera answers at once by default; ``timing=`` (``timing.py``) gives it a
real device's capture rate, Wi-Fi throughput, jitter, dropped frames and stalls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import hashlib
import logging
import math
import time
from types import TracebackType
from typing import Any, Self

from aioesphomeapi import api_pb2
from aioesphomeapi.core import MESSAGE_TYPE_TO_PROTO
from google.protobuf.message import DecodeError, Message

from .entities import (
    COLOR_MODE_BRIGHTNESS,
    DEFAULT_DEVICE_YAML,
    DeviceConfig,
    Entity,
    load_device_config,
)
from .framing import FrameError, NoiseFramer, PlaintextFramer, decode_psk
from .scene import PorchScene
from .timing import INSTANT, CameraStats, SensorClock, Timing, WifiLink

_LOGGER = logging.getLogger(__name__)

ESPHOME_VERSION = "2026.10.0"
MANUFACTURER = "Espressif"
CAMERA_STOP_STREAM = 5.0  # seconds a stream request lasts (ESPHome: 5000 ms)
BUTTON_HOLD = 0.2  # seconds the bell push reads "on" for an emulated press
VISITOR_TIME = 20.0  # seconds a visitor stays in view after a ring
# A connection whose socket buffer holds more than this is "still sending":
# like the firmware, newer camera frames are dropped for it meanwhile.
BUSY_BUFFER = 256 * 1024

_ID_BY_NAME = {cls.__name__: msg_id for msg_id, cls in MESSAGE_TYPE_TO_PROTO.items()}
# api.proto MediaPlayerState values that every aioesphomeapi release has.
MEDIA_PLAYER_IDLE = 1
MEDIA_PLAYER_PLAYING = 2
# How long an emulated clip plays (the emulator does not fetch or decode it).
MEDIA_PLAY_TIME = 1.0

# Message ids that are stable across aioesphomeapi releases.
ID_CONNECT_REQUEST = 3  # ConnectRequest (29.x) / AuthenticationRequest (4x.x)
ID_CONNECT_RESPONSE = 4


def message(type_name: str, /, **fields: Any) -> Message:
    """Build an api_pb2 message, dropping fields this aioesphomeapi lacks."""
    cls = getattr(api_pb2, type_name)
    known = cls.DESCRIPTOR.fields_by_name
    msg = cls()
    for field_name, value in fields.items():
        if field_name not in known or value is None:
            continue
        if isinstance(value, (list, tuple)):  # repeated field
            getattr(msg, field_name).extend(value)
        else:
            setattr(msg, field_name, value)
    return msg


def command_name(value: int) -> str:
    """Return a MediaPlayerCommand as a word (``play``, ``volume_up``, ...)."""
    try:
        name = str(api_pb2.MediaPlayerCommand.Name(value))
    except ValueError:
        return f"command_{value}"
    return name.removeprefix("MEDIA_PLAYER_COMMAND_").lower()


@dataclass(frozen=True, kw_only=True)
class MediaRequest:
    """One MediaPlayerCommandRequest as the device received it (unset fields: None)."""

    entity: str  # object id of the media player
    command: str | None
    media_url: str | None
    volume: float | None
    announcement: bool | None
    received: float  # monotonic time


def mac_for(name: str) -> str:
    """Return a stable, locally administered MAC address derived from the device name."""
    digest = hashlib.sha256(name.encode()).digest()
    octets = [0x02 | (digest[0] & 0xFC), *digest[1:6]]
    return ":".join(f"{octet:02X}" for octet in octets)


class _Connection:
    """One API client connection."""

    def __init__(
        self,
        device: EmulatedDoorbell,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.device = device
        self.reader = reader
        self.writer = writer
        self.framer: PlaintextFramer | NoiseFramer
        if device.psk is not None:
            self.framer = NoiseFramer(
                device.psk, device.name, device.mac.replace(":", "").lower()
            )
        else:
            self.framer = PlaintextFramer()
        self.subscribed = False
        self.closed = False
        self.peer = writer.get_extra_info("peername")

    @property
    def busy(self) -> bool:
        transport = self.writer.transport
        return transport.is_closing() or transport.get_write_buffer_size() > BUSY_BUFFER

    def send(self, *messages: Message) -> None:
        if self.closed:
            return
        try:
            data = self.framer.encode(
                [
                    (_ID_BY_NAME[type(msg).__name__], msg.SerializeToString())
                    for msg in messages
                ]
            )
        except FrameError:
            _LOGGER.exception("Cannot encode a message")
            return
        self.writer.write(data)

    async def drain(self) -> None:
        """Wait until the socket takes more (a slow client slows the camera down)."""
        if self.closed:
            return
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.drain()

    async def run(self) -> None:
        _LOGGER.debug("Client connected: %s", self.peer)
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                messages, reply, close = self.framer.feed(data)
                if reply:
                    self.writer.write(reply)
                if close:
                    await self.writer.drain()
                    break
                for msg_type, payload in messages:
                    try:
                        self.handle(msg_type, payload)
                    except Exception:
                        _LOGGER.exception("Error handling message type %s", msg_type)
                await self.writer.drain()
        except FrameError as err:
            _LOGGER.debug("Closing %s: %s", self.peer, err)
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()
            _LOGGER.debug("Client disconnected: %s", self.peer)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.device.connections.discard(self)
        with contextlib.suppress(Exception):
            self.writer.close()

    def handle(self, msg_type: int, payload: bytes) -> None:
        cls = MESSAGE_TYPE_TO_PROTO.get(msg_type)
        if cls is None:
            _LOGGER.debug("Ignoring unknown message type %s", msg_type)
            return
        try:
            msg = cls.FromString(payload)
        except DecodeError:
            _LOGGER.debug("Ignoring undecodable %s", cls.__name__)
            return
        name = cls.__name__
        handler: Callable[[Any], None] | None = getattr(self, f"on_{name}", None)
        if msg_type == ID_CONNECT_REQUEST:
            handler = self.on_connect
        if handler is None:
            _LOGGER.debug("Ignoring %s", name)
            return
        handler(msg)

    # --- connection messages -------------------------------------------------
    def on_HelloRequest(self, msg: Any) -> None:  # noqa: N802
        # Answer with the client's own API version (never above 1.x): the
        # emulator speaks whatever the installed aioesphomeapi speaks.
        self.send(
            message(
                "HelloResponse",
                api_version_major=1,
                api_version_minor=msg.api_version_minor,
                server_info=f"{self.device.name} (esphome v{ESPHOME_VERSION})",
                name=self.device.name,
            )
        )

    def on_connect(self, msg: Any) -> None:
        # No API password on this firmware (it uses encryption); the old
        # (ConnectRequest) clients wait for the answer, new ones only read it
        # when it reports a failure.
        cls = MESSAGE_TYPE_TO_PROTO[ID_CONNECT_RESPONSE]
        self.send(message(cls.__name__, invalid_password=False))

    def on_DisconnectRequest(self, msg: Any) -> None:  # noqa: N802
        self.send(message("DisconnectResponse"))
        self.device.loop.call_soon(self.close)

    def on_PingRequest(self, msg: Any) -> None:  # noqa: N802
        self.send(message("PingResponse"))

    def on_GetTimeRequest(self, msg: Any) -> None:  # noqa: N802
        self.send(message("GetTimeResponse", epoch_seconds=int(time.time())))

    def on_DeviceInfoRequest(self, msg: Any) -> None:  # noqa: N802
        self.send(self.device.device_info())

    def on_DeviceCapabilitiesRequest(self, msg: Any) -> None:  # noqa: N802
        self.send(message("DeviceCapabilitiesResponse"))

    def on_ListEntitiesRequest(self, msg: Any) -> None:  # noqa: N802
        self.send(*self.device.list_entities(), message("ListEntitiesDoneResponse"))

    def on_SubscribeStatesRequest(self, msg: Any) -> None:  # noqa: N802
        self.subscribed = True
        self.send(*self.device.all_states())

    # --- commands ----------------------------------------------------------------
    def on_SwitchCommandRequest(self, msg: Any) -> None:  # noqa: N802
        self.device.set_switch(msg.key, msg.state)

    def on_ButtonCommandRequest(self, msg: Any) -> None:  # noqa: N802
        self.device.press_button(msg.key)

    def on_LightCommandRequest(self, msg: Any) -> None:  # noqa: N802
        self.device.command_light(msg)

    def on_MediaPlayerCommandRequest(self, msg: Any) -> None:  # noqa: N802
        self.device.command_media_player(msg)

    def on_CameraImageRequest(self, msg: Any) -> None:  # noqa: N802
        self.device.request_image(single=msg.single, stream=msg.stream)


class EmulatedDoorbell:
    """The emulated doorbell: an ESPHome native API server plus a camera."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 6053,
        key: str | None = None,
        name: str | None = None,
        config: DeviceConfig | None = None,
        idle_fps: float | None = None,
        max_fps: float | None = None,
        mac: str | None = None,
        timing: Timing = INSTANT,
        media_play_time: float = MEDIA_PLAY_TIME,
    ) -> None:
        """Configure the device; `key` (base64) enables Noise encryption.

        `timing` is how long the camera and the Wi-Fi take (default: instant);
        `media_play_time` how long a media player plays what it is given.
        """
        self.config = config or load_device_config(DEFAULT_DEVICE_YAML)
        self.host = host
        self.port = port
        self.key = key
        self.psk = decode_psk(key) if key else None
        self.name = name or self.config.name
        self.mac = mac or mac_for(self.name)
        self.idle_fps = self.config.idle_fps if idle_fps is None else idle_fps
        self.max_fps = self.config.max_fps if max_fps is None else max_fps
        self.timing = timing
        self.scene = PorchScene(*self.config.resolution)
        self.stats = CameraStats()
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._camera_task: asyncio.Task[None] | None = None
        self._camera_wake = asyncio.Event()
        self._single_requested = False
        self._idle_requested = False
        self._stream_until = 0.0
        self._visitor_until = 0.0
        self._boot = time.monotonic()
        self._motion_off: asyncio.TimerHandle | None = None
        self._media_done: dict[int, asyncio.TimerHandle] = {}
        self.media_play_time = media_play_time
        self.media_requests: list[MediaRequest] = []
        self.states: dict[int, Any] = {}
        self._reset_states()

    # --- lifecycle -------------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop."""
        return asyncio.get_running_loop()

    async def start(self) -> None:
        """Start listening; `port` is updated to the bound port (for port=0)."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.config.by_domain("camera"):
            loop = (
                self._instant_camera_loop
                if self.timing.instant
                else self._timed_camera_loop
            )
            self._camera_task = asyncio.create_task(loop(), name="emulator-camera")
        _LOGGER.info(
            "Emulated doorbell %s listening on %s:%s (%s, camera timing %s)",
            self.name,
            self.host,
            self.port,
            "noise" if self.psk else "plaintext",
            "instant" if self.timing.instant else self.timing,
        )

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close()
        tasks = [task for task in (self._camera_task, *self._tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._motion_off is not None:
            self._motion_off.cancel()
        for handle in self._media_done.values():
            handle.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        """Start the device."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the device."""
        await self.stop()

    async def _on_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = _Connection(self, reader, writer)
        self.connections.add(connection)
        await connection.run()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- state -----------------------------------------------------------------
    def _reset_states(self) -> None:
        for entity in self.config.entities:
            if entity.domain == "binary_sensor":
                self.states[entity.key] = False
            elif entity.domain == "switch":
                self.states[entity.key] = entity.options.get(
                    "restore_mode", ""
                ).endswith("_ON")
            elif entity.domain == "light":
                on = entity.options.get("restore_mode", "").endswith("_ON")
                self.states[entity.key] = (on, 1.0)
            elif entity.domain == "media_player":
                # (state, volume, muted), as ESPHome's speaker media player boots.
                self.states[entity.key] = (
                    MEDIA_PLAYER_IDLE,
                    entity.options["volume_initial"],
                    False,
                )

    def _entity(self, yaml_id: str) -> Entity:
        return self.config.entity(yaml_id)

    def _find(self, domain: str, object_id: str) -> Entity | None:
        for entity in self.config.by_domain(domain):
            if entity.object_id == object_id:
                return entity
        return None

    def _broadcast(self, *messages: Message) -> None:
        for connection in list(self.connections):
            if connection.subscribed:
                connection.send(*messages)

    def _sensor_value(self, entity: Entity) -> float:
        if entity.platform == "uptime":
            return float(int(time.monotonic() - self._boot))
        if entity.platform == "wifi_signal":
            return -58.0
        return float(self.states.get(entity.key, 0.0))

    def state_message(self, entity: Entity) -> Message | None:
        """Return the state message of one entity (None for stateless ones)."""
        if entity.domain == "binary_sensor":
            return message(
                "BinarySensorStateResponse",
                key=entity.key,
                state=self.states[entity.key],
            )
        if entity.domain == "switch":
            return message(
                "SwitchStateResponse", key=entity.key, state=self.states[entity.key]
            )
        if entity.domain == "light":
            on, brightness = self.states[entity.key]
            return message(
                "LightStateResponse",
                key=entity.key,
                state=on,
                brightness=brightness,
                color_mode=COLOR_MODE_BRIGHTNESS,
                color_brightness=1.0,
            )
        if entity.domain == "sensor":
            return message(
                "SensorStateResponse", key=entity.key, state=self._sensor_value(entity)
            )
        if entity.domain == "media_player":
            state, volume, muted = self.states[entity.key]
            return message(
                "MediaPlayerStateResponse",
                key=entity.key,
                state=state,
                volume=volume,
                muted=muted,
            )
        return None

    def all_states(self) -> list[Message]:
        """Return the initial states, as sent on SubscribeStates."""
        return [
            msg
            for entity in self.config.entities
            if (msg := self.state_message(entity)) is not None
        ]

    def _publish(self, entity: Entity) -> None:
        if (msg := self.state_message(entity)) is not None:
            self._broadcast(msg)

    def device_info(self) -> Message:
        """Return the DeviceInfoResponse."""
        return message(
            "DeviceInfoResponse",
            uses_password=False,
            name=self.name,
            friendly_name=self.config.friendly_name,
            mac_address=self.mac,
            esphome_version=ESPHOME_VERSION,
            compilation_time="Oct 15 2026, 12:00:00",
            model=self.config.board,
            manufacturer=MANUFACTURER,
            project_name=self.config.project_name,
            project_version=self.config.project_version,
            api_encryption_supported=self.psk is not None,
        )

    def list_entities(self) -> list[Message]:
        """Return the ListEntities*Response messages for every entity."""
        out: list[Message] = []
        for entity in self.config.entities:
            common: dict[str, Any] = {
                "object_id": entity.object_id,
                "key": entity.key,
                "name": entity.name,
                # Only in older schemas; what older firmware sent.
                "unique_id": f"{self.name}{entity.domain}{entity.object_id}",
                "icon": entity.icon,
                "disabled_by_default": entity.disabled_by_default,
                "entity_category": entity.entity_category,
            }
            if entity.domain == "binary_sensor":
                out.append(
                    message(
                        "ListEntitiesBinarySensorResponse",
                        device_class=entity.device_class,
                        **common,
                    )
                )
            elif entity.domain == "sensor":
                out.append(
                    message(
                        "ListEntitiesSensorResponse",
                        device_class=entity.device_class,
                        unit_of_measurement=entity.options["unit_of_measurement"],
                        accuracy_decimals=entity.options["accuracy_decimals"],
                        state_class=entity.options["state_class"],
                        **common,
                    )
                )
            elif entity.domain == "switch":
                out.append(
                    message(
                        "ListEntitiesSwitchResponse",
                        device_class=entity.device_class,
                        assumed_state=entity.options.get("assumed_state", False),
                        **common,
                    )
                )
            elif entity.domain == "button":
                out.append(
                    message(
                        "ListEntitiesButtonResponse",
                        device_class=entity.device_class,
                        **common,
                    )
                )
            elif entity.domain == "light":
                out.append(
                    message(
                        "ListEntitiesLightResponse",
                        supported_color_modes=[COLOR_MODE_BRIGHTNESS],
                        legacy_supports_brightness=True,
                        min_mireds=153.0,
                        max_mireds=500.0,
                        **common,
                    )
                )
            elif entity.domain == "event":
                out.append(
                    message(
                        "ListEntitiesEventResponse",
                        device_class=entity.device_class,
                        event_types=entity.options["event_types"],
                        **common,
                    )
                )
            elif entity.domain == "camera":
                out.append(message("ListEntitiesCameraResponse", **common))
            elif entity.domain == "media_player":
                out.append(
                    message(
                        "ListEntitiesMediaPlayerResponse",
                        supports_pause=entity.options["supports_pause"],
                        # Only in newer schemas (API 1.11+): the features HA offers.
                        feature_flags=entity.options["feature_flags"],
                        supported_formats=[
                            message("MediaPlayerSupportedFormat", **media_format)
                            for media_format in entity.options["supported_formats"]
                        ],
                        **common,
                    )
                )
        return out

    # --- triggers (the Python API) ----------------------------------------------
    async def press(self, hold: float = BUTTON_HOLD) -> None:
        """Press the bell push: button on, `ring` event, button off after `hold` s.

        Like the firmware, the event fires on the (debounced) press; the chime
        relay is pulsed if the Chime switch is on. Returns after the release.
        """
        button = self._entity("doorbell_button")
        event = self._entity("doorbell_event")
        chime = self._entity("chime_enabled")
        self.states[button.key] = True
        self._publish(button)
        if self.states.get(chime.key):
            _LOGGER.info("Chime rings")
        self._broadcast(message("EventResponse", key=event.key, event_type="ring"))
        self._visitor_until = time.monotonic() + VISITOR_TIME
        _LOGGER.info("Doorbell pressed")
        await asyncio.sleep(hold)
        self.states[button.key] = False
        self._publish(button)

    async def motion(
        self, detected: bool = True, duration: float | None = None
    ) -> None:
        """Set the motion sensor; with `duration`, it turns off again after that many seconds."""
        entity = self._entity("motion")
        if self._motion_off is not None:
            self._motion_off.cancel()
            self._motion_off = None
        if self.states[entity.key] != detected:
            self.states[entity.key] = detected
            self._publish(entity)
        if detected:
            self._visitor_until = max(
                self._visitor_until, time.monotonic() + (duration or VISITOR_TIME)
            )
            if duration is not None:
                self._motion_off = asyncio.get_running_loop().call_later(
                    duration, lambda: self._spawn(self.motion(False))
                )

    def set_switch(self, key: int, state: bool) -> None:
        """Handle a SwitchCommand (the chime switch is optimistic in the firmware)."""
        entity = next(
            (e for e in self.config.by_domain("switch") if e.key == key), None
        )
        if entity is None:
            return
        self.states[key] = state
        self._publish(entity)

    def press_button(self, key: int) -> None:
        """Handle a ButtonCommand."""
        entity = next(
            (e for e in self.config.by_domain("button") if e.key == key), None
        )
        if entity is None:
            return
        if entity.platform == "restart":
            _LOGGER.info("Restart requested: dropping connections, uptime restarts")
            self._boot = time.monotonic()
            self._reset_states()
            for connection in list(self.connections):
                connection.close()
        else:
            _LOGGER.info("%s pressed: chime relay pulsed", entity.name)

    def command_light(self, msg: Any) -> None:
        """Handle a LightCommand."""
        entity = next(
            (e for e in self.config.by_domain("light") if e.key == msg.key), None
        )
        if entity is None:
            return
        on, brightness = self.states[entity.key]
        if msg.has_state:
            on = msg.state
        if msg.has_brightness:
            brightness = max(0.0, min(1.0, msg.brightness))
        self.states[entity.key] = (on, brightness)
        self._publish(entity)

    # --- media player ------------------------------------------------------------
    def command_media_player(self, msg: Any) -> None:
        """Handle a MediaPlayerCommand like ESPHome's speaker media player.

        Every request is recorded. A URL plays (reported as playing, like an
        announcement) for `media_play_time`; volume, mute, stop and the volume
        steps change the state Home Assistant sees.
        """
        entity = next(
            (e for e in self.config.by_domain("media_player") if e.key == msg.key),
            None,
        )
        if entity is None:
            return
        request = MediaRequest(
            entity=entity.object_id,
            command=command_name(msg.command) if msg.has_command else None,
            media_url=msg.media_url if msg.has_media_url else None,
            volume=msg.volume if msg.has_volume else None,
            announcement=msg.announcement if msg.has_announcement else None,
            received=time.monotonic(),
        )
        self.media_requests.append(request)
        _LOGGER.info("Media player %s asked: %s", entity.object_id, request)
        state, volume, muted = self.states[entity.key]
        step = entity.options["volume_increment"]
        if request.volume is not None:
            volume = request.volume
        if request.command in ("mute", "unmute"):
            muted = request.command == "mute"
        elif request.command == "volume_up":
            volume += step
        elif request.command == "volume_down":
            volume -= step
        elif request.command in ("stop", "clear_playlist"):
            state = MEDIA_PLAYER_IDLE
            if (handle := self._media_done.pop(entity.key, None)) is not None:
                handle.cancel()
        if request.media_url:
            state = MEDIA_PLAYER_PLAYING
            self._schedule_media_done(entity)
        self.states[entity.key] = (state, max(0.0, min(1.0, volume)), muted)
        self._publish(entity)

    def _schedule_media_done(self, entity: Entity) -> None:
        """Go back to idle once the emulated clip has played."""
        if (handle := self._media_done.pop(entity.key, None)) is not None:
            handle.cancel()

        def done() -> None:
            self._media_done.pop(entity.key, None)
            _, volume, muted = self.states[entity.key]
            self.states[entity.key] = (MEDIA_PLAYER_IDLE, volume, muted)
            self._publish(entity)

        self._media_done[entity.key] = asyncio.get_running_loop().call_later(
            self.media_play_time, done
        )

    # --- camera ------------------------------------------------------------------
    def request_image(self, *, single: bool = False, stream: bool = False) -> None:
        """Handle a CameraImageRequest."""
        if single:
            self._single_requested = True
        if stream:
            self._stream_until = time.monotonic() + CAMERA_STOP_STREAM
        self._camera_wake.set()

    @property
    def frames_sent(self) -> int:
        """Frames sent to API clients so far."""
        return self.stats.sent

    async def snapshot(self, at: float | None = None) -> bytes:
        """Render the frame seen at monotonic time `at` (default now) as JPEG."""
        at = time.monotonic() if at is None else at
        t = at - self._boot
        visitor = at < self._visitor_until
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.scene.jpeg(t, visitor=visitor)
        )

    async def _instant_camera_loop(self) -> None:
        """Run the instant camera: render when asked, write every chunk at once."""
        last_idle = 0.0
        last_frame = 0.0
        while True:
            now = time.monotonic()
            streaming = now < self._stream_until
            timeout: float | None = None
            if streaming:
                timeout = (
                    max(0.0, last_frame + 1 / self.max_fps - now)
                    if self.max_fps > 0
                    else None
                )
            elif self.idle_fps > 0:
                timeout = max(0.0, last_idle + 1 / self.idle_fps - now)
            if not self._single_requested:
                self._camera_wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._camera_wake.wait()
            now = time.monotonic()
            streaming = now < self._stream_until
            due_idle = self.idle_fps > 0 and now - last_idle >= 1 / self.idle_fps
            due_stream = (
                streaming and self.max_fps > 0 and now - last_frame >= 1 / self.max_fps
            )
            if not (self._single_requested or due_stream or due_idle):
                continue
            if due_idle and not (self._single_requested or streaming):
                last_idle = now
            receivers = [c for c in self.connections if c.subscribed and not c.busy]
            self._single_requested = False
            last_frame = now
            if not receivers:
                continue
            frame = await self.snapshot()
            self.stats.captured += 1
            messages = self._frame_messages(frame)
            for connection in receivers:
                connection.send(*messages)
            self.stats.sent += 1

    def _frame_messages(self, frame: bytes) -> list[Message]:
        key = self._entity("doorbell_camera").key
        size = self.timing.chunk_size
        chunks = [frame[i : i + size] for i in range(0, len(frame), size)]
        return [
            message(
                "CameraImageResponse",
                key=key,
                data=chunk,
                done=index == len(chunks) - 1,
            )
            for index, chunk in enumerate(chunks)
        ]

    def _camera_wanted(self, now: float) -> bool:
        return (
            self._single_requested or self._idle_requested or now < self._stream_until
        )

    async def _timed_camera_loop(self) -> None:
        """Run the timed camera, modelled on ESPHome's esp32_camera loop (timing.py)."""
        clock = SensorClock(self.timing, origin=time.monotonic())
        link = WifiLink(self.timing.throughput)
        last_update = -math.inf
        last_idle = time.monotonic()
        while True:
            # Wait for a request: single, stream, or the idle refresh.
            self._camera_wake.clear()
            now = time.monotonic()
            if not self._camera_wanted(now):
                timeout = (
                    max(0.0, last_idle + 1 / self.idle_fps - now)
                    if self.idle_fps > 0
                    else None
                )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._camera_wake.wait()
                now = time.monotonic()
                if self.idle_fps > 0 and now - last_idle >= 1 / self.idle_fps:
                    last_idle = now
                    self._idle_requested = True
                if not self._camera_wanted(now):
                    continue
            # The next frame the sensor captures, no sooner than max_update_interval.
            earliest = last_update + 1 / self.max_fps if self.max_fps > 0 else now
            plan = clock.plan()
            tick, capture_at = clock.capture_time(max(now, earliest), plan)
            if plan.stall == "camera":
                self.stats.camera_stalls += 1
            await asyncio.sleep(max(0.0, capture_at - time.monotonic()))
            if plan.dropped:
                # A bad frame from the driver: whoever asked waits for the next one.
                self.stats.dropped += 1
                continue
            if not self._camera_wanted(time.monotonic()):
                continue  # a stream that ended while the sensor was busy
            self.stats.captured += 1
            last_update = tick
            self._single_requested = False
            self._idle_requested = False
            receivers = [c for c in self.connections if c.subscribed and not c.closed]
            if not receivers:
                continue
            frame = await self.snapshot(capture_at)
            messages = self._frame_messages(frame)
            sizes = [len(msg.data) for msg in messages]
            stall_at = len(messages) // 2 if plan.stall == "wifi" else None
            if stall_at is not None:
                self.stats.wifi_stalls += 1
            link.pause(plan.transfer_jitter, time.monotonic())
            # Like ESPHome, no new frame is taken until every client has this one.
            # The link is shared: a Wi-Fi stall holds it once, for everybody.
            await asyncio.gather(
                *(
                    self._send_paced(
                        connection, messages, sizes, link, stall_at if i == 0 else None
                    )
                    for i, connection in enumerate(receivers)
                )
            )
            self.stats.sent += 1

    async def _send_paced(
        self,
        connection: _Connection,
        messages: list[Message],
        sizes: list[int],
        link: WifiLink,
        stall_at: int | None,
    ) -> None:
        """Send one frame's chunks to one client at the link's pace."""
        for index, (msg, size) in enumerate(zip(messages, sizes, strict=True)):
            if connection.closed:
                return
            now = time.monotonic()
            if index == stall_at:
                link.pause(self.timing.stall, now)
            done_at = link.reserve(size, now)
            if done_at > now:
                await asyncio.sleep(done_at - now)
            connection.send(msg)
            await connection.drain()
