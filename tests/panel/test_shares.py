"""Sharing from the panel and the recipient's page, against a real core and HTTP server."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
import hashlib
from http import HTTPStatus
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.file import WriteError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util import mock_real_ip
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.peephole.i18n import available_languages, negotiate
from custom_components.peephole.share_access import Refusal
from custom_components.peephole.share_guard import (
    GUESSES_PER_MINUTE,
    REPORTS_PER_MINUTE,
)
from custom_components.peephole.share_page import CSP, STYLE, STYLE_HASH

from .conftest import MP4, Ws, add_clip, recipient_id

FRONTEND = (
    Path(__file__).resolve().parents[2] / "custom_components" / "peephole" / "frontend"
)
REMOTE_CLIENT = "203.0.113.7"


async def _share(
    ws: Ws,
    entry: MockConfigEntry,
    clip_id: str,
    recipient: str = "neighbour",
    **extra: Any,
) -> Any:
    return await ws.result(
        "peephole/shares/create",
        entry_id=entry.entry_id,
        recipient_id=recipient_id(entry, recipient),
        clip_ids=[clip_id],
        **{"expires_in": 24, **extra},
    )


def _path(url: str) -> str:
    return url[url.index("/api/peephole/share/") :]


async def test_recipients_offer_only_what_the_rule_allows(
    hass: HomeAssistant, ws: Ws, integration: MockConfigEntry
) -> None:
    result = await ws.result(
        "peephole/shares/recipients", entry_id=integration.entry_id
    )
    # By identity, only those whose rule allows this doorbell's clips.
    assert result["recipients"] == [
        {
            "id": recipient_id(integration, "family"),
            "name": "family",
            "max_expiry_hours": 24,
            "remote": False,
            "max_views": None,
        },
        {
            "id": recipient_id(integration, "insurer"),
            "name": "insurer",
            "max_expiry_hours": 168,
            "remote": True,
            "max_views": 3,
        },
        {
            "id": recipient_id(integration, "neighbour"),
            "name": "neighbour",
            "max_expiry_hours": 48,
            "remote": False,
            "max_views": None,
        },
    ]
    clip = await add_clip(hass, integration)
    refusals = {
        "expiry_too_long": ("neighbour", {"expires_in": 49}),
        "remote_not_allowed": ("neighbour", {"allow_remote": True}),
        "too_many_views": ("insurer", {"max_views": 4}),
        "clips_not_allowed": ("postman", {}),
        "camera_not_allowed": ("elsewhere", {}),
    }
    for code, (name, extra) in refusals.items():
        refused = await ws.call(
            "peephole/shares/create",
            entry_id=integration.entry_id,
            recipient_id=recipient_id(integration, name),
            clip_ids=[clip.id],
            **extra,
        )
        assert refused["error"]["code"] == code, (name, refused)
        assert name in refused["error"]["message"]
    assert (
        "48"
        in (
            await ws.call(
                "peephole/shares/create",
                entry_id=integration.entry_id,
                recipient_id=recipient_id(integration, "neighbour"),
                clip_ids=[clip.id],
                expires_in=49,
            )
        )["error"]["message"]
    )
    # A name is not an identity.
    refused = await ws.call(
        "peephole/shares/create",
        entry_id=integration.entry_id,
        recipient_id="neighbour",
        clip_ids=[clip.id],
    )
    assert refused["error"]["code"] == "unknown_recipient"
    refused = await ws.call(
        "peephole/shares/create",
        entry_id=integration.entry_id,
        recipient_id=recipient_id(integration, "neighbour"),
        clip_ids=["20260101T000000-00000000"],
    )
    assert refused["error"]["code"] == "unknown_clip"
    assert (await ws.result("peephole/shares/list"))["shares"] == []
    # Within the rule: remote and a view limit, as asked.
    share = await _share(
        ws, integration, clip.id, "insurer", allow_remote=True, max_views=2
    )
    assert (share["recipient"], share["remote"], share["max_views"]) == (
        "insurer",
        True,
        2,
    )


async def test_share_open_revoke_and_audit(
    hass: HomeAssistant,
    ws: Ws,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    clip = await add_clip(hass, integration)
    share = await _share(ws, integration, clip.id, max_views=2)
    assert share["recipient"] == "neighbour"
    path = _path(share["page_url"])
    assert re.fullmatch(r"/api/peephole/share/[A-Za-z0-9_-]{22}\?token=[\w.-]+", path)
    # The raw file links are there too, as create_share gives them.
    assert share["links"][0]["resource"] == f"{clip.id}.mp4"
    assert share["url"] == share["links"][0]["url"]
    # The timeline shows who the clip is shared with.
    timeline = await ws.result(
        "peephole/timeline", day=dt_util.as_local(clip.start).date().isoformat()
    )
    assert [s["recipient"] for s in timeline["clips"][0]["shares"]] == ["neighbour"]

    client = await hass_client_no_auth()  # no Home Assistant login
    response = await client.get(path, headers={"Accept-Language": "de-DE,nl;q=0.5"})
    assert response.status == HTTPStatus.OK
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    assert "script-src" not in CSP  # default-src 'none': no script at all
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Robots-Tag"] == "noindex, nofollow"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Language"] == "en"  # Peephole has English only
    page = await response.text()
    assert "Front door: shared with you" in page
    assert '<meta name="robots" content="noindex,nofollow">' in page
    assert "privacy-masked" in page
    assert "Every opening of this link is recorded" in page
    assert "Views left: 2." in page
    assert "<script" not in page
    assert "http" not in page  # nothing from anywhere else
    # The inline style is the one the policy allows by hash.
    style = re.search(r"<style>(.*)</style>", page, re.DOTALL)
    assert style
    assert style[1] == STYLE
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert digest == STYLE_HASH
    assert f"'sha256-{digest}'" in CSP
    (video,) = re.findall(r'<video [^>]*src="([^"]+)"', page)
    (download,) = re.findall(r'<a class="download" href="([^"]+)"', page)
    assert video == download
    assert "&amp;" not in video
    assert video.startswith(
        f"/api/peephole/share/{share['share_id']}/{clip.id}.mp4?token="
    )
    # Opening the page is audited but is not a view; playing the clip is both.
    listed = (await ws.result("peephole/shares/list"))["shares"]
    assert [(s["views"], s["accesses"]) for s in listed] == [(0, 1)]
    response = await client.get(video)
    assert response.status == HTTPStatus.OK
    assert await response.read() == MP4
    listed = (await ws.result("peephole/shares/list"))["shares"]
    assert [
        (s["id"], s["views"], s["view_limit"], s["accesses"], s["state"])
        for s in listed
    ] == [(share["share_id"], 1, 2, 2, "active")]
    assert "audit" not in listed[0]  # the records come with the audit command
    # Revoked: the page refuses, with the neutral page.
    assert await ws.result("peephole/shares/revoke", share_id=share["share_id"]) == {
        "share_id": share["share_id"],
        "revoked": True,
    }
    refused = await client.get(path)
    assert refused.status == HTTPStatus.NOT_FOUND
    assert "This link is not available" in await refused.text()
    # Both openings of the page are in its audit, allowed and refused (and why),
    # with the clip played between them; newest first.
    audit = await ws.result("peephole/shares/audit", share_id=share["share_id"])
    assert [
        (r["resource"], r["outcome"], r["reason"], r["origin"])
        for r in audit["records"]
    ] == [
        ("", "refused", "revoked", "local"),
        (f"{clip.id}.mp4", "allowed", "", "local"),
        ("", "allowed", "", "local"),
    ]
    assert "unknown_links" not in audit  # those belong to no link
    listed = (await ws.result("peephole/shares/list"))["shares"]
    assert [(s["state"], s["accesses"], s["refusals"]) for s in listed] == [
        ("revoked", 2, 1)
    ]
    refused_only = (await ws.result("peephole/shares/audit", outcome="refused"))[
        "records"
    ]
    assert [r["reason"] for r in refused_only] == ["revoked"]
    doorbell = await ws.result("peephole/shares/audit", entry_id=integration.entry_id)
    assert doorbell["records"] == audit["records"]
    newest = await ws.result("peephole/shares/audit", limit=1)
    assert newest["records"] == audit["records"][:1]
    assert (await ws.result("peephole/shares/list", entry_id=integration.entry_id))[
        "shares"
    ] == listed
    again = await ws.call("peephole/shares/revoke", share_id="nope")
    assert again["error"]["code"] == "unknown_share"


async def test_a_link_belongs_to_the_recipient_not_the_name(
    hass: HomeAssistant,
    ws: Ws,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    clip = await add_clip(hass, integration)
    share = await _share(ws, integration, clip.id)
    client = await hass_client_no_auth()
    # Renamed: the same recipient keeps the link, listed under the new name.
    renamed = [
        {**rule, "name": "Anna next door"} if rule["name"] == "neighbour" else rule
        for rule in integration.options["recipients"]
    ]
    hass.config_entries.async_update_entry(
        integration, options={**integration.options, "recipients": renamed}
    )
    await hass.async_block_till_done()
    assert (await client.get(_path(share["page_url"]))).status == HTTPStatus.OK
    listed = (await ws.result("peephole/shares/list"))["shares"]
    assert [(s["recipient"], s["state"]) for s in listed] == [
        ("Anna next door", "active")
    ]
    # Removed, then a new recipient with the old name: the link stays ended.
    others = [r for r in renamed if r["name"] != "Anna next door"]
    for stored in (others, [*others, {"name": "Anna next door", "id": "B" * 22}]):
        hass.config_entries.async_update_entry(
            integration, options={**integration.options, "recipients": stored}
        )
        await hass.async_block_till_done()
        assert (await client.get(_path(share["page_url"]))).status == (
            HTTPStatus.NOT_FOUND
        )
    listed = (await ws.result("peephole/shares/list"))["shares"]
    assert [s["state"] for s in listed] == ["no_rule"]
    audit = await ws.result("peephole/shares/audit", share_id=share["share_id"])
    assert [r["reason"] for r in audit["records"]] == ["no_rule", "no_rule", ""]


class _Socket:
    """A websocket of the test client, numbering its messages as HA's test one does."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.next_id = 1

    async def send_json_auto_id(self, data: dict[str, Any]) -> None:
        await self.socket.send_json({"id": self.next_id, **data})
        self.next_id += 1

    async def receive_json(self) -> Any:
        return await self.socket.receive_json()


@pytest.fixture
async def one_server(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    hass_access_token: str,
) -> tuple[Callable[[str], None], TestClient, Ws]:
    """One HTTP server whose client address the test sets (HA's mock_real_ip).

    Its middleware goes in as the server starts, so the test's plain client and
    the administrator's websocket share one server.
    """
    set_ip = mock_real_ip(hass.http.app)
    set_ip("127.0.0.1")
    client = await hass_client_no_auth()
    socket = await client.ws_connect("/api/websocket")
    assert (await socket.receive_json())["type"] == "auth_required"
    await socket.send_json({"type": "auth", "access_token": hass_access_token})
    assert (await socket.receive_json())["type"] == "auth_ok"
    return set_ip, client, Ws(_Socket(socket))


async def test_every_refusal_is_the_same_page(
    hass: HomeAssistant,
    one_server: tuple[Callable[[str], None], TestClient, Ws],
    integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    reverse_lookups: list[str],
) -> None:
    set_ip, client, ws = one_server
    # At the start of a minute (the guesses below all fall in it).
    freezer.move_to(dt_util.utcnow().replace(second=0) + timedelta(minutes=1))
    clip = await add_clip(hass, integration)
    revoked = await _share(ws, integration, clip.id)
    await ws.result("peephole/shares/revoke", share_id=revoked["share_id"])
    used_up = await _share(ws, integration, clip.id, max_views=1)
    short = await _share(ws, integration, clip.id, expires_in=0.01)
    insurer = await _share(ws, integration, clip.id, "insurer")
    family = await _share(ws, integration, clip.id, "family")
    unsaved = await _share(ws, integration, clip.id)
    live = await _share(ws, integration, clip.id)
    snapshot = await hass.services.async_call(
        "peephole",
        "share_snapshot",
        {"config_entry_id": integration.entry_id},
        blocking=True,
        return_response=True,
    )

    clip_link = used_up["links"][0]["path"]
    assert (await client.get(clip_link)).status == HTTPStatus.OK  # the one view
    live_path = _path(live["page_url"])
    share_id = live["share_id"]
    token = live_path.partition("?token=")[2]
    # The insurer may no longer have clips: its link ends (the rule's reason);
    # the family is no longer a recipient.
    await _change_rule(hass, integration, "insurer", clips=False, snapshots=True)
    hass.config_entries.async_update_entry(
        integration,
        options={
            **integration.options,
            "recipients": [
                r for r in integration.options["recipients"] if r["name"] != "family"
            ],
        },
    )
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=40))  # the short link has expired
    links = {
        # Real links, refused for a reason of their own.
        "revoked": (_path(revoked["page_url"]), "GET", None),
        "used up": (_path(used_up["page_url"]), "GET", None),
        "expired": (_path(short["page_url"]), "GET", None),
        "rule narrowed": (_path(insurer["page_url"]), "GET", None),
        "recipient removed": (_path(family["page_url"]), "GET", None),
        "not from the local network": (live_path, "GET", REMOTE_CLIENT),
        # Requests for no link.
        "wrong token": (live_path[:-3] + "abc", "GET", None),
        "another share's token": (
            f"/api/peephole/share/{revoked['share_id']}?token={token}",
            "GET",
            None,
        ),
        "a file's token": (
            f"/api/peephole/share/{share_id}?token={clip_link.partition('?token=')[2]}",
            "GET",
            None,
        ),
        "no token": (f"/api/peephole/share/{share_id}", "GET", None),
        "extra query": (f"{live_path}&x=1", "GET", None),
        "unknown share": (f"/api/peephole/share/{'A' * 22}?token={token}", "GET", None),
        "not a share id": ("/api/peephole/share/abc?token=x", "GET", None),
        "not a GET": (live_path, "POST", None),
    }
    answers = {}

    async def ask(name: str, path: str, method: str, ip: str | None) -> None:
        set_ip(ip or "127.0.0.1")
        response = await client.request(method, path, headers={"Accept-Language": "en"})
        answers[name] = (
            response.status,
            await response.read(),
            {k: v for k, v in response.headers.items() if k not in ("Date", "Server")},
        )

    for name, (path, method, ip) in links.items():
        await ask(name, path, method, ip)
    # A snapshot's page in privacy mode.
    switch = {"entity_id": "switch.front_door_privacy_mode"}
    await hass.services.async_call("switch", "turn_on", switch, blocking=True)
    await ask("privacy mode", _path(snapshot["page_url"]), "GET", None)
    await hass.services.async_call("switch", "turn_off", switch, blocking=True)
    # An opening that cannot be written to the audit is not served.
    with patch.object(Store, "_async_write_data", side_effect=WriteError("disk")):
        await ask("audit not written", _path(unsaved["page_url"]), "GET", None)
    # And a good link still works.
    set_ip("127.0.0.1")
    assert (await client.get(live_path)).status == HTTPStatus.OK
    # A client that kept guessing is refused unseen for the rest of the minute,
    # with the same page, even for a real link.
    for _ in range(GUESSES_PER_MINUTE):
        await client.get("/api/peephole/share/abc?token=x")
    await ask("rate limited", live_path, "GET", None)
    # The doorbell is not running (asked from another address: not rate limited).
    assert await hass.config_entries.async_unload(integration.entry_id)
    await ask("doorbell not running", live_path, "GET", "192.168.1.30")

    statuses = {name: answer[0] for name, answer in answers.items()}
    assert set(statuses.values()) == {HTTPStatus.NOT_FOUND}, statuses
    bodies = {answer[1] for answer in answers.values()}
    assert len(bodies) == 1, "every refusal is byte for byte the same"
    assert b"This link is not available" in bodies.pop()
    assert len({repr(sorted(a[2].items())) for a in answers.values()}) == 1

    # The owner's audit has each real link's reason; the rest are counted as
    # requests for links that do not exist, per client and minute.
    audit = await ws.result("peephole/shares/audit", outcome="refused", limit=500)
    reasons = {(r["share_id"], r["reason"]) for r in audit["records"]}
    assert reasons == {
        (revoked["share_id"], "revoked"),
        (used_up["share_id"], "view_limit"),
        (short["share_id"], "expired"),
        (insurer["share_id"], "rule"),
        (family["share_id"], "no_rule"),
        (live["share_id"], "not_local"),
        (snapshot["share_id"], "privacy_mode"),
        (unsaved["share_id"], "audit_failed"),
        (live["share_id"], "not_loaded"),
    }
    assert {reason for _, reason in reasons} | {
        "rate_limited",
        "method",
        "query",
        "unknown_share",
        "bad_token",
    } == {refusal.value for refusal in Refusal} - {"resource", "missing"}
    unknown = audit["unknown_links"]
    (bucket,) = unknown["by_client_and_minute"]
    assert bucket["client"] == "127.0.0.1"
    # Eight guesses above, then the guessing loop: up to the limit no such share,
    # then refused unseen (as is the real link after it).
    assert bucket["reasons"] == {
        "bad_token": 3,
        "query": 2,
        "unknown_share": 2 + GUESSES_PER_MINUTE - 8,
        "method": 1,
        "rate_limited": 8 + 1,
    }
    assert bucket["count"] == 8 + GUESSES_PER_MINUTE + 1
    assert unknown["older_requests"] == 0
    assert reverse_lookups == ["127.0.0.1"] * REPORTS_PER_MINUTE
    # A forged token for a real share is counted on that share too.
    listed = {s["id"]: s for s in (await ws.result("peephole/shares/list"))["shares"]}
    assert listed[share_id]["state"] == "unavailable"  # (not loaded)
    assert listed[share_id]["forged_requests"] == 2
    assert listed[revoked["share_id"]]["forged_requests"] == 1


async def _change_rule(
    hass: HomeAssistant, entry: MockConfigEntry, name: str, **changes: Any
) -> None:
    stored = [
        {**rule, **changes} if rule["name"] == name else rule
        for rule in entry.options["recipients"]
    ]
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "recipients": stored}
    )
    await hass.async_block_till_done()


async def test_a_snapshot_shares_page(
    hass: HomeAssistant,
    ws: Ws,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A notification's snapshot link has a page too; none in privacy mode."""
    share = await hass.services.async_call(
        "peephole",
        "share_snapshot",
        {"config_entry_id": integration.entry_id},
        blocking=True,
        return_response=True,
    )
    client = await hass_client_no_auth()
    response = await client.get(_path(share["page_url"]))
    assert response.status == HTTPStatus.OK
    page = await response.text()
    (image,) = re.findall(r'<img src="([^"]+)"', page)
    assert image == share["links"][0]["path"]
    assert "<video" not in page
    picture = await client.get(image)
    assert picture.status == HTTPStatus.OK
    assert picture.content_type == "image/jpeg"
    switch = "switch.front_door_privacy_mode"
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True
    )
    assert (await client.get(_path(share["page_url"]))).status == HTTPStatus.NOT_FOUND
    audit = await ws.result("peephole/shares/audit", share_id=share["share_id"])
    assert [(r["resource"], r["reason"]) for r in audit["records"]] == [
        ("", "privacy_mode"),
        ("snapshot.jpg", ""),
        ("", ""),
    ]
    # Not a recipient's link: not in the panel's list of links.
    assert (await ws.result("peephole/shares/list"))["shares"] == []


SHARE_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("peephole/shares/recipients", {"entry_id": "ENTRY"}),
    (
        "peephole/shares/create",
        {"entry_id": "ENTRY", "recipient_id": "RECIPIENT", "clip_ids": ["CLIP"]},
    ),
    ("peephole/shares/list", {}),
    ("peephole/shares/revoke", {"share_id": "SHARE"}),
    ("peephole/shares/audit", {}),
]


@pytest.mark.parametrize(("command", "data"), SHARE_COMMANDS)
async def test_non_admins_cannot_share(
    hass: HomeAssistant,
    ws: Ws,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    integration: MockConfigEntry,
    command: str,
    data: dict[str, Any],
) -> None:
    clip = await add_clip(hass, integration)
    share = await _share(ws, integration, clip.id)
    values = {
        "ENTRY": integration.entry_id,
        "SHARE": share["share_id"],
        "RECIPIENT": recipient_id(integration, "neighbour"),
    }
    data = {
        key: [clip.id] if value == ["CLIP"] else values.get(value, value)
        for key, value in data.items()
    }
    reader = Ws(await hass_ws_client(hass, hass_read_only_access_token))
    response = await reader.call(command, **data)
    assert response["error"]["code"] == "unauthorized"
    assert (
        response["error"]["message"] == "Only administrators can use Peephole's panel."
    )
    listed = (await ws.result("peephole/shares/list"))["shares"]
    assert [s["state"] for s in listed] == ["active"]  # nothing revoked or added


@pytest.mark.parametrize(
    ("command", "data"), [c for c in SHARE_COMMANDS if "ENTRY" in c[1].values()]
)
async def test_unknown_entry_cannot_share(
    ws: Ws, command: str, data: dict[str, Any]
) -> None:
    data = {k: "01JUNKNOWN" if v == "ENTRY" else v for k, v in data.items()}
    data = {
        k: ["20260101T000000-00000000"] if v == ["CLIP"] else v for k, v in data.items()
    }
    response = await ws.call(command, **data)
    assert response["error"]["code"] == "entry_not_found"
    assert "01JUNKNOWN" in response["error"]["message"]


@pytest.mark.parametrize(
    ("header", "available", "expected"),
    [
        (None, {"en"}, "en"),
        ("de-DE,de;q=0.9,en;q=0.5", {"en", "de"}, "de"),
        ("pt-BR", {"en", "pt", "pt-BR"}, "pt-BR"),
        ("pt-PT", {"en", "pt", "pt-BR"}, "pt"),
        ("fr;q=0.2, nl;q=0.8", {"en", "fr", "nl"}, "nl"),
        ("nl;q=0, fr", {"en", "fr", "nl"}, "fr"),
        ("*", {"en", "nl"}, "en"),
        ("x" * 600, {"en"}, "en"),
        ("zh-Hans-CN", {"en", "zh-Hans"}, "zh-Hans"),
        ("<script>", {"en"}, "en"),
    ],
)
def test_language_negotiation(
    header: str | None, available: set[str], expected: str
) -> None:
    assert negotiate(header, frozenset(available)) == expected


def test_english_is_available() -> None:
    assert "en" in available_languages()


def test_vendored_qr_library_is_the_published_file() -> None:
    """qrcode-generator 2.0.4 as npm ships it, with its licence next to it."""
    folder = FRONTEND / "vendor" / "qrcode-generator"
    digest = hashlib.sha256((folder / "qrcode.mjs").read_bytes()).hexdigest()
    assert digest in (folder / "README.md").read_text(encoding="utf-8")
    assert "MIT" in (folder / "LICENSE").read_text(encoding="utf-8")
