"""Sharing from the panel and the recipient's page, against a real core and HTTP server."""

from __future__ import annotations

import base64
import hashlib
from http import HTTPStatus
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.peephole.i18n import available_languages, negotiate
from custom_components.peephole.share_page import CSP, STYLE, STYLE_HASH

from .conftest import MP4, Ws, add_clip

FRONTEND = (
    Path(__file__).resolve().parents[2] / "custom_components" / "peephole" / "frontend"
)


async def _share(ws: Ws, entry: MockConfigEntry, clip_id: str, **extra: Any) -> Any:
    return await ws.result(
        "peephole/shares/create",
        entry_id=entry.entry_id,
        recipient="neighbour",
        clip_ids=[clip_id],
        expires_in=24,
        **extra,
    )


async def test_recipients_offer_only_what_the_rule_allows(
    ws: Ws, integration: MockConfigEntry
) -> None:
    result = await ws.result(
        "peephole/shares/recipients", entry_id=integration.entry_id
    )
    assert result["recipients"] == [
        {
            "name": "neighbour",
            "clips": True,
            "snapshots": False,
            "max_expiry_hours": 48,
            "remote": False,
            "max_views": None,
        }
    ]
    refused = await ws.call(
        "peephole/shares/create",
        entry_id=integration.entry_id,
        recipient="neighbour",
        clip_ids=["20260101T000000-00000000"],
        expires_in=49,
    )
    assert refused["error"]["code"] == "expiry_too_long"
    assert "48" in refused["error"]["message"]
    refused = await ws.call(
        "peephole/shares/create",
        entry_id=integration.entry_id,
        recipient="neighbour",
        clip_ids=["20260101T000000-00000000"],
        allow_remote=True,
    )
    assert refused["error"]["code"] == "remote_not_allowed"


async def test_share_open_revoke_and_audit(
    hass: HomeAssistant,
    ws: Ws,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    clip = await add_clip(hass, integration)
    share = await _share(ws, integration, clip.id, max_views=2)
    assert share["recipient"] == "neighbour"
    assert share["url"] == share["page_url"]
    path = share["url"][share["url"].index("/api/peephole/share/") :]
    assert re.fullmatch(r"/api/peephole/share/[A-Za-z0-9_-]{22}\?token=[\w.-]+", path)
    # The timeline shows who the clip is shared with.
    timeline = await ws.result(
        "peephole/timeline", day=clip.start.astimezone().date().isoformat()
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
    # Opening the page is not a view; playing the clip is.
    response = await client.get(video.replace("&amp;", "&"))
    assert response.status == HTTPStatus.OK
    assert await response.read() == MP4
    listed = (await ws.result("peephole/shares/list"))["shares"]
    assert [(s["id"], s["views"], s["view_limit"], s["state"]) for s in listed] == [
        (share["share_id"], 1, 2, "active")
    ]
    # Revoked: the page refuses, with the neutral page.
    assert await ws.result("peephole/shares/revoke", share_id=share["share_id"]) == {
        "share_id": share["share_id"],
        "revoked": True,
    }
    refused = await client.get(path)
    assert refused.status == HTTPStatus.NOT_FOUND
    assert "This link is not available" in await refused.text()
    # Both openings of the page are in its audit, allowed and refused (and why).
    records = (await ws.result("peephole/shares/audit", share_id=share["share_id"]))[
        "records"
    ]
    pages = [r for r in records if r["resource"] == ""]
    assert [(r["outcome"], r["reason"]) for r in pages] == [
        ("refused", "revoked"),
        ("allowed", ""),
    ]
    refused_only = (await ws.result("peephole/shares/audit", outcome="refused"))[
        "records"
    ]
    assert {r["outcome"] for r in refused_only} == {"refused"}
    again = await ws.call("peephole/shares/revoke", share_id="nope")
    assert again["error"]["code"] == "unknown_share"


async def test_every_refusal_is_the_same_page(
    hass: HomeAssistant,
    ws: Ws,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    clip = await add_clip(hass, integration)
    revoked = await _share(ws, integration, clip.id)
    await ws.result("peephole/shares/revoke", share_id=revoked["share_id"])
    used_up = await _share(ws, integration, clip.id, max_views=1)
    live = await _share(ws, integration, clip.id)
    client = await hass_client_no_auth()

    def path_of(url: str) -> str:
        return url[url.index("/api/peephole/share/") :]

    used_path = path_of(used_up["url"])
    clip_link = used_up["links"][0]["path"]
    assert (await client.get(clip_link)).status == HTTPStatus.OK  # the one view
    live_path = path_of(live["url"])
    share_id = live["share_id"]
    token = live_path.partition("?token=")[2]
    cases = {
        "revoked": path_of(revoked["url"]),
        "used up": used_path,
        "wrong token": live_path[:-3] + "abc",
        "another share's token": f"/api/peephole/share/{revoked['share_id']}?token={token}",
        "a file's token": f"/api/peephole/share/{share_id}?token={clip_link.partition('?token=')[2]}",
        "no token": f"/api/peephole/share/{share_id}",
        "extra query": f"{live_path}&x=1",
        "unknown share": f"/api/peephole/share/{'A' * 22}?token={token}",
        "not a share id": "/api/peephole/share/abc?token=x",
    }
    answers = {}
    for name, path in cases.items():
        response = await client.get(path, headers={"Accept-Language": "en"})
        answers[name] = (
            response.status,
            await response.read(),
            {k: v for k, v in response.headers.items() if k not in ("Date", "Server")},
        )
    statuses = {name: answer[0] for name, answer in answers.items()}
    assert set(statuses.values()) == {HTTPStatus.NOT_FOUND}, statuses
    bodies = {answer[1] for answer in answers.values()}
    assert len(bodies) == 1, "every refusal is byte for byte the same"
    assert b"This link is not available" in bodies.pop()
    assert len({repr(sorted(a[2].items())) for a in answers.values()}) == 1
    # And a good link still works.
    assert (await client.get(live_path)).status == HTTPStatus.OK


SHARE_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("peephole/shares/recipients", {"entry_id": "ENTRY"}),
    (
        "peephole/shares/create",
        {"entry_id": "ENTRY", "recipient": "neighbour", "clip_ids": ["CLIP"]},
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
    values = {"ENTRY": integration.entry_id, "SHARE": share["share_id"]}
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
