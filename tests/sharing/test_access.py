"""Who counts as local, snapshots for notifications, evidence export, no way out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import hashlib
from http import HTTPStatus
import io
import ipaddress
import json
from pathlib import Path
import socket
from typing import Any
from unittest.mock import patch
import zipfile

from aiohttp import web
from hass_nabucasa import remote as cloud_remote
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util.network import is_local
import numpy as np
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util import mock_real_ip
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import voluptuous as vol

from custom_components.peephole import logbook as peephole_logbook
from custom_components.peephole.share_access import ClientOrigin, classify_client
from custom_components.peephole.share_registry import (
    EVENT_SHARE_ACCESSED,
    async_get_registry,
)
from tests.conftest import SourceCamera
from tests.recording.conftest import (
    assert_masked,
    clock_frame,
    clock_ticks,
    read_clock,
    wait_for,
)

from .conftest import ZONE, add_clip, call

pytestmark = pytest.mark.usefixtures("integration")

ADDRESSES = [
    ("192.168.1.20", True),
    ("10.0.0.7", True),
    ("172.20.1.1", True),
    ("169.254.10.10", True),
    ("fd00::7", True),
    ("fe80::7", True),
    ("::ffff:192.168.1.20", True),
    ("127.0.0.1", True),
    ("100.64.1.1", False),  # CGNAT is not local
    ("172.32.1.1", False),
    ("203.0.113.7", False),
    ("2001:db8::7", False),
    ("::ffff:203.0.113.7", False),
]


async def _share(
    hass: HomeAssistant, entry: MockConfigEntry, recipient: str, remote: bool
) -> str:
    clip = await add_clip(hass, entry, b"clip")
    result = await call(
        hass,
        "create_share",
        {
            "config_entry_id": entry.entry_id,
            "recipient": recipient,
            "clip_ids": [clip],
            "allow_remote": remote,
        },
        return_response=True,
    )
    return str(result["links"][0]["path"])


@pytest.mark.parametrize(("address", "local"), ADDRESSES)
async def test_address_table(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    address: str,
    local: bool,
) -> None:
    # The same verdict as HA's own is_local.
    assert is_local(ipaddress.ip_address(address)) is local
    assert (classify_client(address, cloud=False) is ClientOrigin.LOCAL) is local
    set_ip = mock_real_ip(hass.http.app)
    set_ip(address)
    local_link = await _share(hass, integration, "family", remote=False)
    remote_link = await _share(hass, integration, "insurer", remote=True)
    local_only_insurer = await _share(hass, integration, "insurer", remote=False)
    client = await hass_client_no_auth()
    expected = HTTPStatus.OK if local else HTTPStatus.NOT_FOUND
    assert (await client.get(local_link)).status == expected
    assert (await client.get(local_only_insurer)).status == expected
    # Remote access only when both the share and the recipient's rule allow it.
    assert (await client.get(remote_link)).status == HTTPStatus.OK
    records = async_get_registry(hass).audit.records
    assert {r.client for r in records} == {address}
    assert [r.reason for r in records] == (
        ["", "", ""] if local else ["not_local", "not_local", ""]
    )


@pytest.mark.parametrize(
    "http_config",
    [{"use_x_forwarded_for": True, "trusted_proxies": ["127.0.0.1"]}],
)
@pytest.mark.parametrize(
    ("forwarded_for", "status", "client"),
    [
        # Through a trusted proxy, the proxy's view of the client counts.
        ("192.168.1.20", HTTPStatus.OK, "192.168.1.20"),
        ("203.0.113.7", HTTPStatus.NOT_FOUND, "203.0.113.7"),
        ("100.64.0.9", HTTPStatus.NOT_FOUND, "100.64.0.9"),
        # A remote client claiming to be local: the proxy appends its real address.
        ("192.168.1.20, 203.0.113.7", HTTPStatus.NOT_FOUND, "203.0.113.7"),
    ],
)
async def test_forwarded_for_from_a_trusted_proxy(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    forwarded_for: str,
    status: HTTPStatus,
    client: str,
) -> None:
    link = await _share(hass, integration, "family", remote=False)
    http = await hass_client_no_auth()
    response = await http.get(link, headers={"X-Forwarded-For": forwarded_for})
    assert response.status == status
    assert async_get_registry(hass).audit.records[-1].client == client


@pytest.mark.parametrize(
    "http_config",
    [
        {},  # no reverse proxy configured
        {"use_x_forwarded_for": True, "trusted_proxies": ["10.0.0.0/8"]},
    ],
)
async def test_spoofed_forwarded_for_is_refused(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """From an untrusted peer, X-Forwarded-For is refused by HA before the view."""
    set_ip = mock_real_ip(hass.http.app)
    set_ip("203.0.113.7")
    link = await _share(hass, integration, "family", remote=False)
    http = await hass_client_no_auth()
    response = await http.get(link, headers={"X-Forwarded-For": "192.168.1.20"})
    assert response.status in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND)
    assert response.status != HTTPStatus.OK
    # Without the header the untrusted peer is what it is: remote.
    assert (await http.get(link)).status == HTTPStatus.NOT_FOUND
    assert async_get_registry(hass).audit.records[-1].reason == "not_local"


async def test_cloud_relayed_requests_are_never_local(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    @web.middleware
    async def as_cloud(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        cloud_remote.is_cloud_request.set(True)
        return await handler(request)

    async def _startup(app: web.Application) -> None:
        app.middlewares.insert(0, as_cloud)

    hass.http.app.on_startup.append(_startup)
    local_link = await _share(hass, integration, "family", remote=False)
    remote_link = await _share(hass, integration, "insurer", remote=True)
    client = await hass_client_no_auth()
    assert (await client.get(local_link)).status == HTTPStatus.NOT_FOUND
    assert (await client.get(remote_link)).status == HTTPStatus.OK
    records = async_get_registry(hass).audit.records
    assert [(r.origin, r.client) for r in records] == [
        ("cloud", "127.0.0.1"),
        ("cloud", "127.0.0.1"),
    ]


# --- notification snapshots ------------------------------------------------------------


CANARY_TIME = 1234.5  # the clock drawn into the canary frame


def _assert_canary_masked(jpeg: bytes) -> None:
    """The picture is of the canary frame, and its canary (inside the zone) is gone."""
    with Image.open(io.BytesIO(jpeg)) as image:
        rgb = np.asarray(image.convert("RGB"))
    assert read_clock(rgb) == clock_ticks(CANARY_TIME)
    assert_masked(rgb[None])


async def _show_canary(
    hass: HomeAssistant, integration: MockConfigEntry, source_camera: SourceCamera
) -> None:
    """Put a canary frame in front of the camera; wait until Peephole sees it."""
    source_camera.frame = clock_frame(CANARY_TIME)
    peephole = integration.runtime_data

    def seen() -> bool:
        latest = peephole.source.feed.latest
        if latest is None or latest.jpeg is None:
            return False
        with Image.open(io.BytesIO(latest.jpeg)) as image:
            return read_clock(np.asarray(image.convert("RGB"))) == clock_ticks(
                CANARY_TIME
            )

    await wait_for(hass, seen)


async def test_notification_snapshot(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    source_camera: SourceCamera,
    hass_client_no_auth: ClientSessionGenerator,
    clips_dir: Path,
) -> None:
    await _show_canary(hass, integration, source_camera)
    set_ip = mock_real_ip(hass.http.app)
    set_ip("192.168.1.20")
    with pytest.raises(vol.Invalid):
        await call(
            hass,
            "share_snapshot",
            {"config_entry_id": integration.entry_id, "expires_in": 16},
            return_response=True,
        )
    result = await call(
        hass,
        "share_snapshot",
        {"config_entry_id": integration.entry_id, "expires_in": 5},
        return_response=True,
    )
    share = async_get_registry(hass).shares[result["share_id"]]
    assert share.builtin
    assert not share.remote
    assert (share.expires - share.created).total_seconds() == 300
    client = await hass_client_no_auth()
    response = await client.get(result["links"][0]["path"])
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "image/jpeg"
    image = await response.read()
    assert image[:2] == b"\xff\xd8"
    _assert_canary_masked(image)
    # Privacy mode: no new snapshot, and the existing link stops serving.
    integration.runtime_data.async_set_privacy_mode(True)
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "share_snapshot",
            {"config_entry_id": integration.entry_id},
            return_response=True,
        )
    assert err.value.translation_key == "privacy_mode_on"
    assert (await client.get(result["links"][0]["path"])).status == 404
    integration.runtime_data.async_set_privacy_mode(False)
    # Not from outside.
    set_ip("203.0.113.7")
    assert (await client.get(result["links"][0]["path"])).status == 404
    assert [r.reason for r in async_get_registry(hass).audit.records] == [
        "",
        "privacy_mode",
        "not_local",
    ]
    # Revoking deletes the snapshot file.
    stored = clips_dir / integration.entry_id / "shared" / f"{result['share_id']}.jpg"
    assert stored.is_file()
    await call(hass, "revoke_share", {"share_id": result["share_id"]})
    assert not stored.exists()


async def test_snapshot_share_for_a_recipient_uses_the_masking_path(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    source_camera: SourceCamera,
    hass_client_no_auth: ClientSessionGenerator,
    clips_dir: Path,
) -> None:
    await _show_canary(hass, integration, source_camera)
    result = await call(
        hass,
        "create_share",
        {
            "config_entry_id": integration.entry_id,
            "recipient": "family",
            "snapshot": True,
        },
        return_response=True,
    )
    stored = clips_dir / integration.entry_id / "shared" / f"{result['share_id']}.jpg"
    _assert_canary_masked(stored.read_bytes())
    assert stored.stat().st_mode & 0o777 == 0o600
    client = await hass_client_no_auth()
    served = await (await client.get(result["links"][0]["path"])).read()
    assert served == stored.read_bytes()
    await call(hass, "revoke_share", {"share_id": result["share_id"]})
    assert not stored.exists()


async def test_notification_snapshot_across_privacy_mode_is_refused(
    hass: HomeAssistant, integration: MockConfigEntry, source_camera: SourceCamera
) -> None:
    """Privacy mode on and off again while the snapshot was taken: nothing shared."""
    peephole = integration.runtime_data
    real = peephole.async_masked_image

    async def taken_across_privacy_mode(*args: Any, **kwargs: Any) -> bytes:
        peephole.async_set_privacy_mode(True)
        peephole.async_set_privacy_mode(False)
        return await real(*args, **kwargs)

    with (
        patch.object(peephole, "async_masked_image", taken_across_privacy_mode),
        pytest.raises(ServiceValidationError) as err,
    ):
        await call(
            hass,
            "share_snapshot",
            {"config_entry_id": integration.entry_id},
            return_response=True,
        )
    assert err.value.translation_key == "privacy_mode_on"
    assert not async_get_registry(hass).shares


# --- export ---------------------------------------------------------------------------------


async def test_export_hashes_verify(
    hass: HomeAssistant, integration: MockConfigEntry, clips_dir: Path
) -> None:
    first = await add_clip(hass, integration, b"first clip" * 1000)
    second = await add_clip(hass, integration, b"second clip" * 1000)
    share = await call(
        hass,
        "create_share",
        {
            "config_entry_id": integration.entry_id,
            "recipient": "insurer",
            "clip_ids": [first, second],
        },
        return_response=True,
    )
    result = await call(
        hass,
        "export_clips",
        {
            "config_entry_id": integration.entry_id,
            "clip_ids": [first, second, first],
            "share_id": share["share_id"],
        },
        return_response=True,
    )
    path = Path(result["path"])
    assert path.parent == clips_dir / integration.entry_id / "exports"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == result["sha256"]
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert [c["id"] for c in manifest["clips"]] == [first, second]
        for item in manifest["clips"]:
            assert (
                hashlib.sha256(archive.read(item["file"])).hexdigest() == item["sha256"]
            )
        assert (
            manifest["masks"] == [{**ZONE, "enabled": True}]
            or manifest["masks"][0]["name"] == "Street"
        )
        assert manifest["share"]["id"] == share["share_id"]
        assert manifest["share"]["recipient"] == "insurer"
        assert "token" not in json.dumps(manifest["share"])
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "export_clips",
            {
                "config_entry_id": integration.entry_id,
                "clip_ids": [first],
                "share_id": "nope",
            },
            return_response=True,
        )
    assert err.value.translation_key == "unknown_share"


async def test_export_and_share_errors_are_translated(
    hass: HomeAssistant, integration: MockConfigEntry, clips_dir: Path
) -> None:
    clip = await add_clip(hass, integration, b"gone soon")
    # The clip's file went from the disk after it was indexed: nothing is left.
    recorder = integration.runtime_data.recorder
    (recorder.store.directory / f"{clip}.mp4").unlink()
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass,
            "export_clips",
            {"config_entry_id": integration.entry_id, "clip_ids": [clip]},
            return_response=True,
        )
    assert err.value.translation_key == "export_failed"
    assert list((clips_dir / integration.entry_id / "exports").iterdir()) == []
    # Recording off: no clip to share or export.
    hass.config_entries.async_update_entry(
        integration, options={**integration.options, "record": False}
    )
    await hass.async_block_till_done()
    for service, data in (
        ("export_clips", {"clip_ids": [clip]}),
        ("create_share", {"clip_ids": [clip], "recipient": "family"}),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await call(
                hass,
                service,
                {"config_entry_id": integration.entry_id, **data},
                return_response=True,
            )
        assert err.value.translation_key == "recording_disabled"


# --- logbook ----------------------------------------------------------------------------------


async def test_logbook_describes_accesses(
    hass: HomeAssistant, integration: MockConfigEntry
) -> None:
    described: dict[str, Any] = {}

    def _describe(domain: str, event_type: str, fn: Any) -> None:
        described[event_type] = fn

    peephole_logbook.async_describe_events(hass, _describe)
    describe = described[EVENT_SHARE_ACCESSED]
    allowed = describe(
        Event(
            EVENT_SHARE_ACCESSED,
            {
                "entry_id": integration.entry_id,
                "resource": "x.mp4",
                "recipient": "family",
                "client": "192.168.1.2",
                "outcome": "allowed",
            },
        )
    )
    assert allowed["name"] == "Peephole share"
    assert allowed["message"] == (
        "shared x.mp4 of Front door (for family) was viewed from 192.168.1.2"
    )
    refused = describe(
        Event(EVENT_SHARE_ACCESSED, {"outcome": "refused", "reason": "not_local"})
    )
    assert refused["message"] == (
        "refused a request for shared ? from an unknown address (not_local)"
    )


# --- no other way out ----------------------------------------------------------------------------


async def test_no_outbound_connection(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Setup, share, access and export with every connection recorded."""
    connects: list[Any] = []
    lookups: list[Any] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def _connect(self: socket.socket, address: Any) -> Any:
        connects.append(address)
        return real_connect(self, address)

    def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    with (
        patch.object(socket.socket, "connect", _connect),
        patch.object(socket, "getaddrinfo", _getaddrinfo),
    ):
        assert await hass.config_entries.async_reload(integration.entry_id)
        await hass.async_block_till_done()
        clip = await add_clip(hass, integration, b"evidence")
        link = await _share(hass, integration, "family", remote=False)
        share = await call(
            hass,
            "create_share",
            {
                "config_entry_id": integration.entry_id,
                "recipient": "family",
                "clip_ids": [clip],
            },
            return_response=True,
        )
        snapshot = await call(
            hass,
            "share_snapshot",
            {"config_entry_id": integration.entry_id},
            return_response=True,
        )
        await call(
            hass,
            "export_clips",
            {
                "config_entry_id": integration.entry_id,
                "clip_ids": [clip],
                "share_id": share["share_id"],
            },
            return_response=True,
        )
        client = await hass_client_no_auth()
        for path in (link, share["links"][0]["path"], snapshot["links"][0]["path"]):
            assert (await client.get(path)).status == HTTPStatus.OK
        await hass.async_block_till_done()
    # The only connections are the test client's, to HA's own server on loopback.
    assert connects, "the test client did not connect through socket.connect"
    assert {address[0] for address in connects} == {"127.0.0.1"}
    assert set(lookups) <= {"127.0.0.1", "localhost"}
