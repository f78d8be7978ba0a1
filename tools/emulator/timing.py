"""How long the emulated camera and its Wi-Fi take: optional, seeded, realistic timing.

A real ESP32-CAM does not answer a camera request at once. What the emulator
models, from ESPHome's ``esp32_camera`` and ``api`` components (2026.10):

* **The sensor's frame rate** (``capture_fps``). A frame is only taken when
  somebody asked for one: a single request (``CameraImageRequest.single``),
  a stream (``stream``: every frame for the next 5 s, renewed by every
  request) or the idle refresh (``idle_framerate``). It is the *next* frame the
  sensor captures after the request, never an older one, and never sooner than
  ``1 / max_framerate`` after the previous frame (ESPHome's
  ``max_update_interval``). So a still costs up to one capture interval of
  waiting, a stream runs at most at the capture rate.
* **The Wi-Fi link** (``throughput``, bytes per second, shared by every API
  connection). ESPHome sends a frame in ``CameraImageResponse`` chunks of one
  MTU (``chunk_size``, 1390 bytes in ``APIConnection``) and takes no new frame
  while a connection is still sending the previous one (the image is shared;
  ``use_count() > 1``). So a stream is limited by the link as much as by the
  sensor: 30 kB at 300 kB/s is a tenth of a second.
* **Jitter**: each capture comes up to ``jitter`` seconds after its tick and
  each frame's transfer takes up to ``jitter`` seconds longer.
* **Dropped frames** (``drop_probability``): the driver hands over a bad frame
  (``Got invalid frame from camera!``); the request is answered by a later one.
* **Stalls** (``stall_probability`` per frame, ``stall`` seconds): the camera
  (before the capture) or the Wi-Fi (in the middle of the frame's transfer),
  one or the other at random, pauses; retransmissions and background scans do
  that to a real link.

Every random draw comes from one ``random.Random(seed)`` in the order frames
are taken, so a run with the same seed and the same requests draws the same
jitter, drops and stalls. The default, :data:`INSTANT`, is the emulator as it
always was: a frame is rendered the moment it is asked for and written at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import random
from typing import Literal

# ESPHome's APIConnection::MAX_BATCH_PACKET_SIZE: one camera chunk per MTU.
ESPHOME_CHUNK = 1390
# What the instant emulator has always sent per CameraImageResponse.
INSTANT_CHUNK = 16 * 1024

Stall = Literal["camera", "wifi"]


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Timing of the emulated camera; every field's meaning is in the module docstring."""

    capture_fps: float | None = None
    throughput: float | None = None
    chunk_size: int = INSTANT_CHUNK
    jitter: float = 0.0
    drop_probability: float = 0.0
    stall_probability: float = 0.0
    stall: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse values no device has."""
        if self.capture_fps is not None and not self.capture_fps > 0:
            raise ValueError("capture_fps must be positive (or None for instant)")
        if self.throughput is not None and not self.throughput > 0:
            raise ValueError("throughput must be positive (or None for unlimited)")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        for name in ("jitter", "stall"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("drop_probability", "stall_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.drop_probability == 1.0:
            raise ValueError("drop_probability 1 would never deliver a frame")

    @property
    def instant(self) -> bool:
        """Whether this is the instant camera (no timing at all)."""
        return self == INSTANT


INSTANT = Timing()

# An AI-Thinker ESP32-CAM running esphome/peephole-doorbell.yaml at 800x600:
# the firmware's max_framerate (10 fps), a link of a few hundred kB/s of TCP
# payload (what ESP32 users measure while the camera shares the bus; the
# firmware's package comments explain the budget), ESPHome's MTU-sized chunks,
# some jitter, one bad frame in fifty and a half-second stall in a hundred.
ESP32_CAM = Timing(
    capture_fps=10.0,
    throughput=300_000.0,
    chunk_size=ESPHOME_CHUNK,
    jitter=0.02,
    drop_probability=0.02,
    stall_probability=0.01,
    stall=0.5,
    seed=0,
)

PROFILES: dict[str, Timing] = {"instant": INSTANT, "esp32-cam": ESP32_CAM}


@dataclass
class CameraStats:
    """What the camera did: frames captured, dropped and sent, stalls."""

    captured: int = 0
    dropped: int = 0
    sent: int = 0
    camera_stalls: int = 0
    wifi_stalls: int = 0


@dataclass
class FramePlan:
    """The random draws for one frame, made when the frame is taken."""

    dropped: bool
    stall: Stall | None
    transfer_jitter: float


@dataclass
class SensorClock:
    """When the sensor captures frames, and the seeded draws for each frame.

    Pure: it is given times, it never reads a clock.
    """

    timing: Timing
    origin: float
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        """Seed the draws."""
        self.rng = random.Random(self.timing.seed)  # noqa: S311 - a model, not crypto

    def next_tick(self, after: float) -> float:
        """Return the first sensor tick at or after `after` (itself, when instant)."""
        fps = self.timing.capture_fps
        if fps is None:
            return after
        index = math.ceil(round((after - self.origin) * fps, 9))
        return self.origin + index / fps

    def plan(self) -> FramePlan:
        """Draw this frame's fate: dropped, a stall (and where), transfer jitter."""
        timing = self.timing
        dropped = self.rng.random() < timing.drop_probability
        stall: Stall | None = None
        if self.rng.random() < timing.stall_probability:
            stall = "camera" if self.rng.random() < 0.5 else "wifi"
        return FramePlan(
            dropped=dropped,
            stall=stall,
            transfer_jitter=self.rng.uniform(0.0, timing.jitter),
        )

    def capture_time(self, after: float, plan: FramePlan) -> tuple[float, float]:
        """Return the sensor tick of the frame asked for at `after`, and when it is ready.

        The tick is the schedule (ESPHome counts its frame interval from it); the
        frame is ready up to `jitter` later, or after a camera stall.
        """
        if plan.stall == "camera":
            after += self.timing.stall
        tick = self.next_tick(after)
        return tick, tick + self.rng.uniform(0.0, self.timing.jitter)


@dataclass
class WifiLink:
    """The device's radio: one queue of airtime shared by every connection.

    Pure: :meth:`reserve` is given the current time and returns when the bytes
    have been sent.
    """

    throughput: float | None
    free_at: float = 0.0

    def reserve(self, nbytes: int, now: float) -> float:
        """Queue `nbytes` behind what is being sent; return when they are through."""
        start = max(now, self.free_at)
        if self.throughput is None:
            return start
        self.free_at = start + nbytes / self.throughput
        return self.free_at

    def pause(self, seconds: float, now: float) -> None:
        """Hold the link for `seconds` (a stall, or jitter) after what is queued."""
        if seconds > 0:
            self.free_at = max(now, self.free_at) + seconds
