"""The audit cannot be flushed, and requests for links that do not exist are cheap.

Against HA's real HTTP server and Store (phcc's in-memory storage): thousands of
requests for links that do not exist, from many clients, leave the records of a
real link's openings alone, stay within fixed bounds in memory, and cost one
delayed write; a real link's opening is on disk before its answer.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from http import HTTPStatus
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.test_util import mock_real_ip
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.audit import MAX_JUNK_BUCKETS
from custom_components.peephole.share_registry import (
    REFUSAL_SAVE_DELAY,
    STORAGE_KEY,
    async_get_registry,
)
from custom_components.peephole.share_view import REFUSED_BODY

from .conftest import add_clip, call, forget_registry

pytestmark = pytest.mark.usefixtures("integration")


@pytest.fixture
def writes() -> Generator[list[dict[str, Any]]]:
    """Every write of the shares' Store (what the Store wrote, in order)."""
    written: list[dict[str, Any]] = []
    real = Store._async_write_data  # phcc's in-memory storage

    async def counting(store: Store[Any], *args: Any) -> None:
        await real(store, *args)
        if store.key == STORAGE_KEY:
            written.append(args[-1]["data"])

    with patch.object(Store, "_async_write_data", counting):
        yield written


async def _link(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    clip = await add_clip(hass, entry, b"evidence" * 100)
    return await call(
        hass,
        "create_share",
        {"config_entry_id": entry.entry_id, "recipient": "family", "clip_ids": [clip]},
        return_response=True,
    )


async def test_an_opening_is_written_before_it_is_served(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    writes: list[dict[str, Any]],
) -> None:
    share = await _link(hass, integration)
    client = await hass_client_no_auth()
    written = len(writes)
    response = await client.get(share["links"][0]["path"])
    assert response.status == HTTPStatus.OK
    # Written by the time the answer came, not later: no timer has run.
    assert len(writes) == written + 1
    audit = writes[-1]["audit"]["shares"][share["share_id"]]
    assert [r["outcome"] for r in audit["allowed"]] == ["allowed"]


async def test_junk_cannot_push_out_a_real_link_s_openings(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    writes: list[dict[str, Any]],
) -> None:
    share = await _link(hass, integration)
    path = share["links"][0]["path"]
    base, token = path.split("?token=")
    set_ip = mock_real_ip(hass.http.app)
    set_ip("192.168.1.20")
    client = await hass_client_no_auth()
    assert (await client.get(path)).status == HTTPStatus.OK
    registry = async_get_registry(hass)
    opening = registry.audit.for_share(share["share_id"]).allowed[0]
    written = len(writes)
    # Thousands of requests for links that do not exist, from ever new clients
    # (each from a /64 of its own: one network is one client), of every kind.
    junk = [
        f"/api/peephole/share/{'A' * 22}/x.mp4?token={token}",  # unknown share
        f"{base}?token={token}x",  # a token that is not the share's
        f"{base}?token={token}&x=1",  # malformed query
        base,  # no token
        "/api/peephole/share/short/x.mp4?token=a.b.c",  # malformed share id
    ]
    count = MAX_JUNK_BUCKETS + 500
    start = hass.loop.time()
    for i in range(count):
        set_ip(f"2001:db8:{i:x}::1")
        response = await client.get(junk[i % len(junk)])
        assert response.status == HTTPStatus.NOT_FOUND
        assert await response.text() == REFUSED_BODY
    # Not one write per request: one per REFUSAL_SAVE_DELAY at most.
    most = (hass.loop.time() - start) // REFUSAL_SAVE_DELAY
    assert len(writes) - written <= most
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=REFUSAL_SAVE_DELAY + 1)
    )
    await hass.async_block_till_done()
    assert 1 <= len(writes) - written <= most + 1
    # Bounded: the junk table holds at most its bound of client-minutes, and counts
    # what it let go; the real link's record is where it was.
    audit = registry.audit
    assert len(audit.junk) == MAX_JUNK_BUCKETS
    assert sum(b.count for b in audit.junk) + audit.junk_dropped == count
    assert list(audit.for_share(share["share_id"]).allowed) == [opening]
    assert audit.for_share(share["share_id"]).bad_tokens == count // len(junk)
    stored = writes[-1]["audit"]
    assert len(stored["junk"]) == MAX_JUNK_BUCKETS
    assert stored["shares"][share["share_id"]]["allowed"] == [opening.as_dict()]
    # And across a restart.
    await forget_registry(hass)
    again = async_get_registry(hass)
    await again.async_load()
    assert list(again.audit.for_share(share["share_id"]).allowed) == [opening]


async def test_a_flood_does_not_put_the_write_off(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    writes: list[dict[str, Any]],
    freezer: Any,
) -> None:
    """Junk arriving all the time is written every REFUSAL_SAVE_DELAY, not never."""
    client = await hass_client_no_auth()
    await async_get_registry(hass).async_load()
    written = len(writes)
    for second in range(int(REFUSAL_SAVE_DELAY) * 3):
        for _ in range(5):
            await client.get(f"/api/peephole/share/{'B' * 22}/x.mp4?token=a.b.c")
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        if second == int(REFUSAL_SAVE_DELAY) + 1:
            assert len(writes) == written + 1
    assert len(writes) - written in (2, 3)


async def test_refusals_of_a_real_link_are_recorded_with_a_delayed_write(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    writes: list[dict[str, Any]],
) -> None:
    share = await _link(hass, integration)
    await call(hass, "revoke_share", {"share_id": share["share_id"]})
    client = await hass_client_no_auth()
    written = len(writes)
    for _ in range(3):
        assert (await client.get(share["links"][0]["path"])).status == 404
    assert len(writes) == written
    audit = async_get_registry(hass).audit.for_share(share["share_id"])
    assert [r.reason for r in audit.refused] == ["revoked"] * 3
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=REFUSAL_SAVE_DELAY + 1)
    )
    await hass.async_block_till_done()
    assert len(writes) == written + 1
    listed = await call(hass, "list_shares", {}, return_response=True)
    (described,) = listed["shares"]
    assert described["refusals"] == 3
    assert [r["reason"] for r in described["audit"]["refused"]] == ["revoked"] * 3
    assert listed["unknown_links"] == {"by_client_and_minute": [], "older_requests": 0}


async def test_unknown_links_are_listed_and_in_diagnostics(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: Any,
) -> None:
    # At the start of a minute: the requests all fall in it.
    now = dt_util.utcnow()
    freezer.move_to(now.replace(second=0, microsecond=0) + timedelta(minutes=1))
    client = await hass_client_no_auth()
    for _ in range(3):
        await client.get(f"/api/peephole/share/{'C' * 22}/x.mp4?token=a.b.c")
    listed = await call(hass, "list_shares", {}, return_response=True)
    (bucket,) = listed["unknown_links"]["by_client_and_minute"]
    assert bucket["client"] == "127.0.0.1"
    assert bucket["count"] == 3
    assert bucket["reasons"] == {"unknown_share": 3}
    diagnostics = async_get_registry(hass).diagnostics(integration.entry_id)
    assert diagnostics["unknown_links"] == listed["unknown_links"]


async def test_every_refusal_looks_the_same(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Whether a link exists is not told: one status, body and set of headers."""
    share = await _link(hass, integration)
    revoked = await _link(hass, integration)
    await call(hass, "revoke_share", {"share_id": revoked["share_id"]})
    path = share["links"][0]["path"]
    base, token = path.split("?token=")
    client = await hass_client_no_auth()
    answers = set()
    for url in (
        revoked["links"][0]["path"],  # a real link, refused
        f"/api/peephole/share/{'D' * 22}/x.mp4?token={token}",  # no such share
        f"{base}?token={token}x",  # not the share's token
        base,  # no token
    ):
        response = await client.get(url)
        headers = {k: v for k, v in response.headers.items() if k != "Date"}
        answers.add(
            (response.status, await response.read(), tuple(sorted(headers.items())))
        )
    assert len(answers) == 1
    (status, body, _) = answers.pop()
    assert (status, body) == (HTTPStatus.NOT_FOUND, REFUSED_BODY.encode())
