"""The masked stream's guards on their own: who may read it, with what credential."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

from aiohttp.test_utils import make_mocked_request
import pytest

from custom_components.peephole import masked_stream
from custom_components.peephole.masked_stream import (
    STREAM_USER,
    StreamCredential,
    TsMuxer,
    _basic_password,
    internal_url,
    is_host_local,
)


def _request(
    peer: str | None, remote: str | None = None, headers: dict[str, str] | None = None
) -> Any:
    transport = MagicMock()
    transport.get_extra_info.return_value = (peer, 12345) if peer else None
    request = make_mocked_request(
        "GET", "/", headers=headers or {}, transport=transport
    )
    return request.clone(remote=remote or peer)


def _hass(
    hosts: list[str] | None = None, ssl: str | None = None, port: int = 8123
) -> Any:
    return SimpleNamespace(
        http=SimpleNamespace(server_host=hosts, server_port=port, ssl_certificate=ssl)
    )


@pytest.mark.parametrize(
    ("peer", "remote", "hosts", "headers", "local"),
    [
        ("127.0.0.1", None, None, None, True),
        ("::1", None, None, None, True),
        ("::ffff:127.0.0.1", None, None, None, True),
        ("127.0.0.1", "192.168.1.20", None, None, False),  # a trusted proxy's client
        ("192.168.1.20", None, None, None, False),  # another machine
        ("192.168.1.5", None, ["192.168.1.5"], None, True),  # HA serves only there
        ("192.168.1.6", None, ["192.168.1.5"], None, False),
        ("127.0.0.1", None, None, {"X-Forwarded-For": "203.0.113.9"}, False),
        ("127.0.0.1", None, None, {"Forwarded": "for=203.0.113.9"}, False),
        ("127.0.0.1", None, None, {"X-Real-IP": "203.0.113.9"}, False),
        (None, None, None, None, False),
        ("not-an-address", None, None, None, False),
    ],
)
def test_only_the_host_itself(
    peer: str | None,
    remote: str | None,
    hosts: list[str] | None,
    headers: dict[str, str] | None,
    local: bool,
) -> None:
    assert is_host_local(_request(peer, remote, headers), _hass(hosts)) is local


def test_basic_credentials() -> None:
    def header(value: str) -> Any:
        return _request("127.0.0.1", headers={"Authorization": value})

    good = base64.b64encode(f"{STREAM_USER}:s3cret".encode()).decode()
    assert _basic_password(header(f"Basic {good}")) == "s3cret"
    other = base64.b64encode(b"admin:s3cret").decode()
    for value in (
        f"Basic {other}",  # another user
        "Bearer abc",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no colon").decode(),
        "Basic " + "A" * 600,
    ):
        assert _basic_password(header(value)) is None
    assert _basic_password(_request("127.0.0.1")) is None


def test_credential_rotation_and_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(masked_stream.time, "monotonic", lambda: now[0])
    credential = StreamCredential()
    first = credential.current
    assert credential.accepts(first)
    assert not credential.accepts(first + "x")
    credential.rotate()
    assert credential.current != first
    assert credential.accepts(credential.current)
    assert credential.accepts(first)  # within the grace
    now[0] += masked_stream.ROTATION_GRACE + 1
    assert not credential.accepts(first)
    assert len({StreamCredential().current for _ in range(20)}) == 20


def test_internal_urls() -> None:
    assert internal_url(_hass(), "e1", "c").startswith(
        f"http://{STREAM_USER}:c@127.0.0.1:8123/api/peephole/stream/e1/live.ts"
    )
    assert internal_url(_hass(["0.0.0.0"]), "e1", "c").startswith(  # noqa: S104
        f"http://{STREAM_USER}:c@127.0.0.1:8123/"
    )
    assert internal_url(_hass(["192.168.1.5"], port=9000), "e1", "c").startswith(
        f"http://{STREAM_USER}:c@192.168.1.5:9000/"
    )
    assert internal_url(_hass(["fd00::5"], ssl="/ssl/cert.pem"), "e1", "c").startswith(
        f"https://{STREAM_USER}:c@[fd00::5]:8123/"
    )


def test_the_transport_stream_starts_at_a_keyframe() -> None:
    from tests.video.test_video import _encode

    packets = _encode([100.0 + n / 10 for n in range(12)])
    muxer = TsMuxer()
    assert muxer.mux(packets[1:3]) == b""  # nothing before a keyframe
    data = muxer.mux(packets)
    assert data[0] == 0x47
    assert len(data) % 188 == 0
    assert muxer.mux(packets[:5]) == b""  # already sent: not again
    muxer.close()
    muxer.close()


def test_a_reader_has_each_picture_as_soon_as_its_bytes_are_in() -> None:
    """FFmpeg's demuxer (HA's stream worker) hands out picture n once n + 1 is in.

    Each picture's PES packet says its length, so the demuxer need not wait for the
    next PES packet to know where a picture ends; its H.264 parser still waits for
    the next picture's start (one frame interval, as from any camera). Without the
    length, picture n came out with n + 2: a frame interval more than HA's stream of
    a camera has.
    """
    import os
    import threading

    import av

    from tests.video.test_video import _encode

    packets = _encode([100.0 + n / 10 for n in range(12)])
    read, write = os.pipe()
    seen: list[int] = []
    arrived = threading.Condition()

    def demux() -> None:
        with (
            os.fdopen(read, "rb", buffering=0) as source,
            av.open(
                source,
                "r",
                format="mpegts",
                options={"probesize": "32", "analyzeduration": "0"},
            ) as container,
        ):
            for packet in container.demux(video=0):
                if packet.size:
                    with arrived:
                        seen.append(int(packet.pts))
                        arrived.notify_all()

    reader = threading.Thread(target=demux)
    reader.start()
    muxer = TsMuxer()
    try:
        with os.fdopen(write, "wb", buffering=0) as sink:
            # Opening the demuxer probes the first pictures' headers: they come
            # out together, once probing ends.
            sink.write(muxer.mux(packets[:3]))
            for count, packet in enumerate(packets[3:10], start=3):
                sink.write(muxer.mux([packet]))
                with arrived:
                    # Picture `count` is out once the next is in, before more.
                    assert arrived.wait_for(lambda n=count: len(seen) >= n, 10), (
                        f"picture {count} held back by more than the next one"
                    )
    finally:
        muxer.close()
        reader.join(10)
    assert len(seen) == 10
    assert seen == sorted(seen)
