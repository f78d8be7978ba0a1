"""Share links against HA's real HTTP server: create, access, refuse, audit."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from http import HTTPStatus
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from homeassistant.util.file import WriteError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.share_registry import (
    EVENT_SHARE_ACCESSED,
    async_get_registry,
)
from custom_components.peephole.share_view import REFUSED_BODY
from custom_components.peephole.sharing import fingerprint

from .conftest import (
    add_clip,
    call,
    change_rule,
    forget_registry,
    rule_of,
    set_rules,
)

pytestmark = pytest.mark.usefixtures("integration")

CONTENT = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400


@pytest.fixture
def events(hass: HomeAssistant) -> list[Event]:
    """Every peephole_share_accessed event."""
    captured: list[Event] = []
    hass.bus.async_listen(EVENT_SHARE_ACCESSED, captured.append)
    return captured


async def share_clips(
    hass: HomeAssistant, entry: MockConfigEntry, clips: list[str], **extra: Any
) -> dict[str, Any]:
    return await call(
        hass,
        "create_share",
        {
            "config_entry_id": entry.entry_id,
            "recipient": "family",
            "clip_ids": clips,
            **extra,
        },
        return_response=True,
    )


def audit_count(hass: HomeAssistant) -> int:
    """Every request audited: records of real links, and junk counted."""
    audit = async_get_registry(hass).audit
    return len(audit.records) + sum(bucket.count for bucket in audit.junk)


async def test_clip_link_serves_the_clip_once_audited(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    events: list[Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", "custom_components.peephole")
    clip = await add_clip(hass, integration, CONTENT)
    result = await share_clips(hass, integration, [clip])
    assert result["recipient"] == "family"
    assert len(result["links"]) == 1
    link = result["links"][0]["path"]
    token = link.split("token=")[1]
    client = await hass_client_no_auth()
    response = await client.get(link)
    assert response.status == HTTPStatus.OK
    assert await response.read() == CONTENT
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    await hass.async_block_till_done()
    registry = async_get_registry(hass)
    records = registry.audit.records
    assert len(records) == 1
    assert records[0].outcome == "allowed"
    assert records[0].client == "127.0.0.1"
    assert records[0].share_id == result["share_id"]
    assert len(records[0].token) == 12
    assert records[0].token == fingerprint(token)
    assert len(events) == 1
    assert events[0].data["outcome"] == "allowed"
    assert registry.shares[result["share_id"]].views == 1
    # Peephole never logs the full token (HA 2026 aiohttp access log does, at debug).
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert ours
    assert all(token not in r.getMessage() for r in ours)
    listed = await call(hass, "list_shares", {}, return_response=True)
    assert listed["shares"][0]["state"] == "active"
    assert listed["shares"][0]["accesses"] == 1
    assert "token" not in str(listed["shares"][0]).replace("'token'", "")
    assert registry.active_count(integration.entry_id) == 1
    (described,) = registry.diagnostics(integration.entry_id)["shares"]
    assert described["audit"]["allowed"][0]["outcome"] == "allowed"


async def test_token_is_bound_to_the_exact_request(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    events: list[Event],
) -> None:
    one = await add_clip(hass, integration, b"one" * 100)
    two = await add_clip(hass, integration, b"two" * 100)
    first = await share_clips(hass, integration, [one, two])
    other = await share_clips(hass, integration, [one])
    link_one, link_two = (link["path"] for link in first["links"])
    base_one, token_one = link_one.split("?token=")
    base_two, token_two = link_two.split("?token=")
    head, body, sig = token_one.split(".")
    client = await hass_client_no_auth()
    refused = [
        ("GET", f"{base_two}?token={token_one}"),  # another resource
        (
            "GET",
            f"{base_one.replace(first['share_id'], other['share_id'])}?token={token_one}",
        ),
        ("GET", f"{base_one}?token={token_one}&token={token_one}"),
        ("GET", f"{base_one}?token={token_one}&download=1"),
        ("GET", f"{base_one}?x=1&token={token_one}"),
        ("GET", base_one),
        ("GET", f"{base_one}?token="),
        ("GET", f"{base_one}?token={head}.{body}x.{sig}"),
        ("GET", f"{base_one}?token={head}.{body}.{sig[::-1]}"),
        ("GET", f"{base_one}?token={token_one}x"),
        ("GET", f"/api/peephole/share/{'A' * 22}/{one}.mp4?token={token_one}"),
        ("GET", f"/api/peephole/share/../{one}.mp4?token={token_one}"),
        ("POST", link_one),
        ("PUT", link_one),
        ("DELETE", link_one),
        ("PATCH", link_one),
    ]
    bodies = set()
    for method, url in refused:
        before = audit_count(hass)
        response = await client.request(method, url)
        assert response.status == HTTPStatus.NOT_FOUND, (method, url)
        bodies.add(await response.text())
        # Once, or never for the path that does not reach the view.
        assert audit_count(hass) - before in (0, 1)
    # OPTIONS is Home Assistant's CORS preflight, answered before any view: the same
    # answer for a good link and a made-up one (it says nothing about shares) and
    # never the content.
    good = await client.options(link_one)
    fake = await client.options(f"/api/peephole/share/{'A' * 22}/x.mp4?token=x")
    assert good.status == fake.status != HTTPStatus.OK
    assert await good.read() == await fake.read()
    assert b"one" not in await good.read()
    # One body for every refusal, the same as a path that does not exist.
    missing = await client.get("/api/peephole/share/nothing/here/at/all")
    assert missing.status == HTTPStatus.NOT_FOUND
    bodies.add(await missing.text())
    assert bodies == {REFUSED_BODY}
    # None of them is a real link: each request that reached the view was counted
    # once as a request for no link (the '..' path never reaches the view), and no
    # share's own audit has a record of them.
    audit = async_get_registry(hass).audit
    assert audit.records == []
    reasons: Counter[str] = Counter()
    for bucket in audit.junk:  # one, or two if a minute began meanwhile
        assert bucket.client == "127.0.0.1"
        reasons.update(bucket.reasons)
    assert sum(bucket.count for bucket in audit.junk) == len(refused) - 1
    assert reasons == {"bad_token": 5, "query": 5, "unknown_share": 1, "method": 4}
    # Tokens that were not their own are counted on the shares they named.
    assert audit.for_share(first["share_id"]).bad_tokens == 4
    assert audit.for_share(other["share_id"]).bad_tokens == 1
    # The right requests still work, each audited once.
    assert (await client.get(link_one)).status == HTTPStatus.OK
    assert (await client.get(link_two)).status == HTTPStatus.OK
    assert await (await client.get(f"{base_two}?token={token_two}")).read() == (
        b"two" * 100
    )
    await hass.async_block_till_done()
    # Openings of real links are events (and logbook entries); requests for no
    # link are not.
    assert len(events) == 3
    assert len(audit.records) == 3


async def test_expiry_with_a_frozen_clock(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    clip = await add_clip(hass, integration)
    result = await share_clips(hass, integration, [clip], expires_in=1)
    link = result["links"][0]["path"]
    client = await hass_client_no_auth()
    freezer.tick(timedelta(minutes=59, seconds=59))
    assert (await client.get(link)).status == HTTPStatus.OK
    freezer.tick(timedelta(seconds=1))
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    # The token is the share's own, only expired: the recipient's link, not a guess.
    assert async_get_registry(hass).audit.records[-1].reason == "expired"
    listed = await call(hass, "list_shares", {}, return_response=True)
    assert listed["shares"][0]["state"] == "expired"


async def test_revoke_ends_a_share_at_once(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    clip = await add_clip(hass, integration)
    result = await share_clips(hass, integration, [clip])
    link = result["links"][0]["path"]
    client = await hass_client_no_auth()
    assert (await client.get(link)).status == HTTPStatus.OK
    await call(hass, "revoke_share", {"share_id": result["share_id"]})
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    assert async_get_registry(hass).audit.records[-1].reason == "revoked"
    await call(hass, "revoke_share", {"share_id": result["share_id"]})  # idempotent
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "revoke_share", {"share_id": "nope"})
    assert err.value.translation_key == "unknown_share"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"recipient": "stranger"}, "unknown_recipient"),
        ({"expires_in": 49}, "expiry_too_long"),
        ({"allow_remote": True}, "remote_not_allowed"),
        ({"recipient": "insurer", "max_views": 4}, "too_many_views"),
        (
            {"recipient": "insurer", "clip_ids": [], "snapshot": True},
            "snapshots_not_allowed",
        ),
        ({"clip_ids": ["20250101T000000-00000000"]}, "unknown_clip"),
        ({"clip_ids": [], "snapshot": False}, "clips_or_snapshot"),
        ({"snapshot": True}, "clips_or_snapshot"),
    ],
)
async def test_a_share_never_exceeds_its_rule(
    hass: HomeAssistant, integration: MockConfigEntry, data: dict[str, Any], key: str
) -> None:
    clip = await add_clip(hass, integration)
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "create_share",
            {
                "config_entry_id": integration.entry_id,
                "recipient": "family",
                "clip_ids": [clip],
                **data,
            },
            return_response=True,
        )
    assert err.value.translation_key == key
    assert async_get_registry(hass).shares == {}


async def test_no_rule_no_sharing(
    hass: HomeAssistant, integration: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        integration, options={**integration.options, "recipients": []}
    )
    await hass.async_block_till_done()
    clip = await add_clip(hass, integration)
    with pytest.raises(ServiceValidationError) as err:
        await share_clips(hass, integration, [clip])
    assert err.value.translation_key == "unknown_recipient"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (None, "no_rule"),  # family removed
        ({"clips": False}, "rule"),
        ({"cameras": ["another-entry"]}, "rule"),
        ({"max_expiry_hours": 1}, "expired"),
        ({"max_views": 1}, "view_limit"),
    ],
)
async def test_narrowing_a_rule_narrows_live_shares(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    change: dict[str, Any] | None,
    reason: str,
) -> None:
    clip = await add_clip(hass, integration)
    result = await share_clips(hass, integration, [clip], expires_in=24)
    link = result["links"][0]["path"]
    client = await hass_client_no_auth()
    assert (await client.get(link)).status == HTTPStatus.OK
    if change is None:
        await set_rules(hass, integration, [rule_of(integration, "insurer")])
    else:
        await change_rule(hass, integration, "family", **change)
    freezer.tick(timedelta(hours=2))
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    assert async_get_registry(hass).audit.records[-1].reason == reason


async def test_view_limit(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    clip = await add_clip(hass, integration)
    result = await call(
        hass,
        "create_share",
        {
            "config_entry_id": integration.entry_id,
            "recipient": "insurer",
            "clip_ids": [clip],
            "max_views": 2,
        },
        return_response=True,
    )
    assert result["max_views"] == 2
    client = await hass_client_no_auth()
    link = result["links"][0]["path"]
    assert [(await client.get(link)).status for _ in range(3)] == [200, 200, 404]
    listed = await call(
        hass,
        "list_shares",
        {"config_entry_id": integration.entry_id},
        return_response=True,
    )
    assert listed["shares"][0]["state"] == "used_up"


async def test_restart_keeps_shares_and_revocations(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    clip = await add_clip(hass, integration)
    kept = await share_clips(hass, integration, [clip])
    revoked = await share_clips(hass, integration, [clip])
    await call(hass, "revoke_share", {"share_id": revoked["share_id"]})
    assert await hass.config_entries.async_unload(integration.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    # While the entry is unloaded nothing is served.
    assert (await client.get(kept["links"][0]["path"])).status == 404
    await forget_registry(hass)  # a restart: everything read back from disk
    assert await hass.config_entries.async_setup(integration.entry_id)
    await hass.async_block_till_done()
    assert (await client.get(kept["links"][0]["path"])).status == 200
    assert (await client.get(revoked["links"][0]["path"])).status == 404
    records = async_get_registry(hass).audit.records
    assert [r.reason for r in records] == ["not_loaded", "", "revoked"]


async def test_audit_write_failure_refuses_the_download(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    events: list[Event],
) -> None:
    clip = await add_clip(hass, integration)
    result = await share_clips(hass, integration, [clip])
    client = await hass_client_no_auth()
    with patch.object(Store, "_async_write_data", side_effect=WriteError("disk")):
        response = await client.get(result["links"][0]["path"])
    assert response.status == HTTPStatus.NOT_FOUND
    registry = async_get_registry(hass)
    assert registry.shares[result["share_id"]].views == 0
    audit = registry.audit.for_share(result["share_id"])
    assert audit.allowed_total == 0
    assert [r.reason for r in audit.refused] == ["audit_failed"]
    await hass.async_block_till_done()
    assert events[-1].data["reason"] == "audit_failed"
    # Making a share needs its record on disk too.
    with (
        patch.object(Store, "_async_write_data", side_effect=WriteError("disk")),
        pytest.raises(Exception, match=r"share_not_saved|could not be saved"),
    ):
        await share_clips(hass, integration, [clip])


async def test_only_admins_share(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_read_only_user: User,
    hass_admin_user: User,
    hass_client: ClientSessionGenerator,
) -> None:
    clip = await add_clip(hass, integration)
    data = {
        "config_entry_id": integration.entry_id,
        "recipient": "family",
        "clip_ids": [clip],
    }
    for service, payload in (
        ("create_share", data),
        ("list_shares", {}),
        ("export_clips", {"config_entry_id": integration.entry_id, "clip_ids": [clip]}),
        ("share_snapshot", {"config_entry_id": integration.entry_id}),
    ):
        with pytest.raises(Unauthorized):
            await call(
                hass,
                service,
                payload,
                return_response=True,
                context=Context(user_id=hass_read_only_user.id),
            )
    with pytest.raises(Unauthorized):
        await call(
            hass,
            "revoke_share",
            {"share_id": "x"},
            context=Context(user_id=hass_read_only_user.id),
        )
    result = await call(
        hass,
        "create_share",
        data,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert async_get_registry(hass).shares[result["share_id"]].created_by == (
        hass_admin_user.id
    )
    # Through the REST API, as the admin.
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    response = await client.post(
        "/api/services/peephole/create_share?return_response", json=data
    )
    assert response.status == HTTPStatus.OK
    body = await response.json()
    assert body["service_response"]["links"][0]["path"].startswith(
        "/api/peephole/share/"
    )
