"""Real stream sources for tests, benchmarks and the demo (no camera needed).

A synthetic scene whose frames carry their own number (a barcode that survives
H.264 and JPEG) and a canary pattern, served the way IP cameras serve video:

    from tools.streams import SceneSpec, render_scene, RtspServer

    clip = render_scene(SceneSpec(width=1920, height=1080, fps=15))  # blocking, cached
    async with RtspServer(clip) as server:
        url = server.url()                  # rtsp://127.0.0.1:PORT/stream
        ...
        server.drop_clients()               # fault injection
        assert server.clients == 0

Run ``python -m tools.streams --help`` to serve one by hand.
"""

from .base import LiveClock, StreamSource
from .h264 import AccessUnit, RtpPacketizer, split_access_units
from .httpsources import HlsServer, HttpSource, MjpegServer
from .rtsp import RtspServer, SessionStats
from .scene import (
    CANARY_A,
    CANARY_B,
    CANARY_BOX,
    SceneClip,
    SceneSpec,
    canary_rect,
    canary_visible,
    decode_frame_number,
    parse_size,
    render_frame,
    render_scene,
)

__all__ = [
    "CANARY_A",
    "CANARY_B",
    "CANARY_BOX",
    "AccessUnit",
    "HlsServer",
    "HttpSource",
    "LiveClock",
    "MjpegServer",
    "RtpPacketizer",
    "RtspServer",
    "SceneClip",
    "SceneSpec",
    "SessionStats",
    "StreamSource",
    "canary_rect",
    "canary_visible",
    "decode_frame_number",
    "parse_size",
    "render_frame",
    "render_scene",
    "split_access_units",
]
