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

DEFAULT_FRAME_INTERVAL: Final = 0.5
MIN_FRAME_INTERVAL: Final = 0.04
MAX_FRAME_INTERVAL: Final = 10.0

EVENT_TYPE_RING: Final = "ring"

# Time allowed to fetch one frame from the source camera.
SOURCE_IMAGE_TIMEOUT: Final = 10

ISSUE_SOURCE_MISSING: Final = "source_missing"
