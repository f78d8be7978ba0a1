"""Constants for the Peephole integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "peephole"
LOGGER = logging.getLogger(__package__)

# Identity of an entry (entry.data).
CONF_CAMERA_ENTITY: Final = "camera_entity_id"
CONF_RING_ENTITY: Final = "ring_entity_id"
CONF_MOTION_ENTITY: Final = "motion_entity_id"

# Tunables (entry.options).
CONF_RING_EVENT_TYPES: Final = "ring_event_types"
CONF_FRAME_INTERVAL: Final = "frame_interval"
CONF_ZONES: Final = "zones"
# Where the pictures come from: the source camera's stream, its stills, or
# automatic (its stream if it offers one).
CONF_SOURCE_MODE: Final = "source_mode"
SOURCE_MODE_AUTO: Final = "auto"
SOURCE_MODE_STREAM: Final = "stream"
SOURCE_MODE_STILLS: Final = "stills"
SOURCE_MODES: Final = (SOURCE_MODE_AUTO, SOURCE_MODE_STREAM, SOURCE_MODE_STILLS)
# Optional: another camera entity for the live view and the masked stream (a
# camera's sub-stream); recording always uses the main one.
CONF_LIVE_CAMERA: Final = "live_camera_entity_id"

DEFAULT_FRAME_INTERVAL: Final = 0.5
MIN_FRAME_INTERVAL: Final = 0.04
MAX_FRAME_INTERVAL: Final = 10.0

EVENT_TYPE_RING: Final = "ring"

# Time allowed to fetch one frame from the source camera.
SOURCE_IMAGE_TIMEOUT: Final = 10
# A frame not masked within this many seconds is dropped (the executor job ends on
# its own: frames are bounded in pixels and bytes).
MASK_TIMEOUT: Final = 5.0

ISSUE_SOURCE_MISSING: Final = "source_missing"

# Clip recording (entry.options); defaults in RECORDING_DEFAULTS.
CONF_RECORD: Final = "record"
CONF_PRE_ROLL: Final = "pre_roll"
CONF_POST_ROLL: Final = "post_roll"
CONF_MAX_CLIP_LENGTH: Final = "max_clip_length"
CONF_FEED_FPS: Final = "feed_fps"
CONF_RETENTION_DAYS: Final = "retention_days"
CONF_MAX_STORAGE_MB: Final = "max_storage_mb"
CONF_MIN_FREE_MB: Final = "min_free_mb"

RECORDING_DEFAULTS: Final[dict[str, bool | float | int]] = {
    CONF_RECORD: True,
    CONF_PRE_ROLL: 5.0,
    CONF_POST_ROLL: 10.0,
    CONF_MAX_CLIP_LENGTH: 60.0,
    CONF_FEED_FPS: 10.0,
    CONF_RETENTION_DAYS: 7,
    CONF_MAX_STORAGE_MB: 2048,
    CONF_MIN_FREE_MB: 256,
}
# The pre-roll buffer never holds more than this many bytes of JPEG, whatever its length.
BUFFER_MAX_BYTES: Final = 48 * 1024 * 1024
# Time allowed to ffmpeg to finish or probe a clip.
FFMPEG_TIMEOUT: Final = 30
# How often retention runs (it also runs at start-up and after every clip).
RETENTION_INTERVAL_MINUTES: Final = 30

EVENT_CLIP_STARTED: Final = "peephole_clip_started"
EVENT_CLIP_SAVED: Final = "peephole_clip_saved"

ISSUE_DISK_FULL: Final = "disk_full"
