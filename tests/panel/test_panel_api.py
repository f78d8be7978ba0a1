"""The panel's websocket commands and its export download, against a real core.

Administrators only, translated errors, bounded pages, the same behaviour as the
actions, and no picture or clip over the websocket (whose messages Home Assistant
logs at debug level).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from http import HTTPStatus
import io
import logging
from typing import Any
import zipfile

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.peephole.const import DOMAIN
from custom_components.peephole.panel_views import export_url
from custom_components.peephole.timeline import MAX_LIMIT

from .conftest import MP4, THUMBNAIL, Ws, add_clip

ADMIN_ONLY = "Only administrators can use Peephole's panel."


def today_at(hour: int, minute: int = 0) -> Any:
    """An instant of today, local time (as UTC)."""
    local = dt_util.now().replace(hour=hour, minute=minute, second=0, microsecond=0)
    return dt_util.as_utc(local)


def today() -> str:
    return dt_util.now().date().isoformat()


async def test_doorbells(ws: Ws, integration: MockConfigEntry) -> None:
    result = await ws.result("peephole/panel/doorbells")
    assert result["doorbells"] == [
        {
            "entry_id": integration.entry_id,
            "title": "Front door",
            "state": "loaded",
            "loaded": True,
            "recording": True,
            "privacy_mode": False,
            "entities": {
                "camera": "camera.front_door",
                "doorbell": "event.front_door_doorbell",
                "privacy_mode": "switch.front_door_privacy_mode",
                "motion": "binary_sensor.front_door_motion",
                "recording": "binary_sensor.front_door_recording",
            },
        }
    ]
    assert result["today"] == today()
    assert result["options_url"] == "/config/integrations/integration/peephole"
    assert result["limits"] == {"page": MAX_LIMIT, "export": 20}


async def test_timeline_of_a_day_with_signed_thumbnails(
    hass: HomeAssistant,
    ws: Ws,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    early = await add_clip(hass, integration, today_at(0, 30), "motion")
    late = await add_clip(hass, integration, today_at(23, 10), "ring")
    bare = await add_clip(hass, integration, today_at(12), "action", thumbnail=False)
    await add_clip(hass, integration, today_at(12) - timedelta(days=1))
    result = await ws.result("peephole/timeline", day=today())
    assert result["day"] == today()
    assert result["cursor"] is None
    assert [c["id"] for c in result["clips"]] == [late.id, bare.id, early.id]
    first = result["clips"][0]
    assert first["entry_id"] == integration.entry_id
    assert first["start"] == late.start.isoformat()
    assert (first["trigger"], first["keep"], first["duration"]) == ("ring", False, 12)
    assert first["shares"] == []
    assert result["clips"][1]["thumbnail"] is None
    # The thumbnail is a signed path: it loads without an Authorization header
    # (as an <img> does), and the bare path does not.
    client = await hass_client_no_auth()
    response = await client.get(first["thumbnail"])
    assert response.status == HTTPStatus.OK
    assert await response.read() == THUMBNAIL
    bare_path = first["thumbnail"].partition("?")[0]
    assert bare_path == f"/api/peephole/clips/{integration.entry_id}/{late.id}.jpg"
    assert (await client.get(bare_path)).status == HTTPStatus.UNAUTHORIZED
    # The days with clips, newest first.
    days = await ws.result("peephole/timeline/days")
    yesterday = (dt_util.now().date() - timedelta(days=1)).isoformat()
    assert days["days"] == [
        {"day": today(), "count": 3},
        {"day": yesterday, "count": 1},
    ]


async def test_paging_and_filters(
    hass: HomeAssistant, ws: Ws, integration: MockConfigEntry
) -> None:
    clips = [
        await add_clip(hass, integration, today_at(8, minute), trigger)
        for minute, trigger in enumerate(["ring", "motion"] * 4)
    ]
    newest_first = [clip.id for clip in reversed(clips)]
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        page = await ws.result(
            "peephole/timeline",
            day=today(),
            limit=3,
            **({"cursor": cursor} if cursor else {}),
        )
        seen += [c["id"] for c in page["clips"]]
        cursor = page["cursor"]
    assert seen == newest_first
    assert cursor is None
    rings = await ws.result("peephole/timeline", day=today(), triggers=["ring"])
    assert [c["id"] for c in rings["clips"]] == newest_first[1::2]
    one = await ws.result(
        "peephole/timeline", day=today(), entry_ids=[integration.entry_id], limit=1
    )
    assert [c["id"] for c in one["clips"]] == newest_first[:1]
    days = await ws.result("peephole/timeline/days", triggers=["motion"])
    assert days["days"] == [{"day": today(), "count": 4}]


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, "10"])
async def test_page_size_is_bounded(ws: Ws, limit: object) -> None:
    response = await ws.call("peephole/timeline", day=today(), limit=limit)
    assert not response["success"]
    assert response["error"]["code"] == "invalid_format"


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (
            {"day": "2026-13-01"},
            "timeline_invalid_day",
            "2026-13-01 is not a day: use YYYY-MM-DD.",
        ),
        (
            {"day": "2026-06-01", "cursor": "../../etc"},
            "timeline_invalid_cursor",
            "The timeline's page marker is not valid: load the day again.",
        ),
        (
            {"day": "2026-06-01", "entry_ids": ["nope"]},
            "entry_not_found",
            None,
        ),
    ],
)
async def test_bad_requests_get_translated_errors(
    ws: Ws, data: dict[str, Any], code: str, message: str | None
) -> None:
    response = await ws.call("peephole/timeline", language="en", **data)
    assert not response["success"]
    error = response["error"]
    assert error["code"] == code
    assert error["translation_key"] == code
    assert error["translation_domain"] == DOMAIN
    assert "{" not in error["message"]
    assert error["message"] != code
    if message:
        assert error["message"] == message


async def test_keep_and_delete_like_the_actions(
    hass: HomeAssistant,
    ws: Ws,
    integration: MockConfigEntry,
) -> None:
    clip = await add_clip(hass, integration)
    entry_id = integration.entry_id
    store = integration.runtime_data.recorder.store
    kept = await ws.result(
        "peephole/clips/keep", entry_id=entry_id, clip_id=clip.id, keep=True
    )
    assert kept == {"id": clip.id, "keep": True}
    assert store.get(clip.id).keep
    # The action and the panel see the same flag.
    await hass.services.async_call(
        DOMAIN,
        "keep_clip",
        {"config_entry_id": entry_id, "clip_id": clip.id, "keep": False},
        blocking=True,
    )
    page = await ws.result("peephole/timeline", day=today())
    assert page["clips"][0]["keep"] is False
    deleted = await ws.result(
        "peephole/clips/delete", entry_id=entry_id, clip_id=clip.id
    )
    assert deleted == {"id": clip.id, "deleted": True}
    assert store.get(clip.id) is None
    assert not await hass.async_add_executor_job(store.clip_path(clip).exists)
    again = await ws.call("peephole/clips/delete", entry_id=entry_id, clip_id=clip.id)
    assert again["error"]["code"] == "unknown_clip"
    assert again["error"]["message"] == (
        f"The Peephole doorbell Front door has no clip {clip.id}."
    )
    bad = await ws.call("peephole/clips/keep", entry_id="nope", clip_id="x", keep=True)
    assert bad["error"]["code"] == "entry_not_found"
    assert "nope" in bad["error"]["message"]


async def test_export_is_downloaded_from_a_signed_admin_view(
    hass: HomeAssistant,
    ws: Ws,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    first = await add_clip(hass, integration, today_at(9))
    second = await add_clip(hass, integration, today_at(10))
    result = await ws.result(
        "peephole/clips/export",
        entry_id=integration.entry_id,
        clip_ids=[first.id, second.id, first.id],
    )
    assert [c["id"] for c in result["clips"]] == [first.id, second.id]
    name = result["file"]
    assert result["download"].startswith(export_url(integration.entry_id, name) + "?")
    anonymous = await hass_client_no_auth()
    response = await anonymous.get(result["download"])
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert archive.read(f"clips/{first.id}.mp4") == MP4
    assert "manifest.json" in archive.namelist()
    # Without the signature, the path needs a login.
    path = export_url(integration.entry_id, name)
    assert (await anonymous.get(path)).status == HTTPStatus.UNAUTHORIZED
    # A user who is not an administrator: refused, in words.
    reader = await hass_client(hass_read_only_access_token)
    response = await reader.get(path, headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert response.status == HTTPStatus.FORBIDDEN
    assert await response.json() == {"code": "admin_required", "message": ADMIN_ONLY}
    admin = await hass_client()
    for bad_entry, bad_name, key in (
        ("nope", name, "entry_not_found"),
        (integration.entry_id, "export-x.zip", "export_not_found"),
        (
            integration.entry_id,
            "export-20260101T000000-0000000g.zip",
            "export_not_found",
        ),
        (integration.entry_id, name.replace(".zip", ".tmp"), "export_not_found"),
    ):
        response = await admin.get(export_url(bad_entry, bad_name))
        assert response.status == HTTPStatus.NOT_FOUND
        body = await response.json()
        assert body["code"] == key
        assert "{" not in body["message"]
    # A path out of the folder never reaches the view (HA's filter, then the name).
    response = await admin.get(
        export_url(integration.entry_id, "..%2F..%2Fsecrets.yaml")
    )
    assert response.status in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND)


async def test_export_errors_are_translated(
    hass: HomeAssistant, ws: Ws, integration: MockConfigEntry
) -> None:
    response = await ws.call(
        "peephole/clips/export", entry_id=integration.entry_id, clip_ids=["nope"]
    )
    assert response["error"]["code"] == "unknown_clip"
    response = await ws.call(
        "peephole/clips/export", entry_id=integration.entry_id, clip_ids=[]
    )
    assert response["error"]["code"] == "invalid_format"


COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("peephole/panel/doorbells", {}),
    ("peephole/timeline", {"day": "2026-06-01"}),
    ("peephole/timeline/days", {}),
    ("peephole/clips/keep", {"entry_id": "ENTRY", "clip_id": "CLIP", "keep": True}),
    ("peephole/clips/delete", {"entry_id": "ENTRY", "clip_id": "CLIP"}),
    ("peephole/clips/export", {"entry_id": "ENTRY", "clip_ids": ["CLIP"]}),
]


@pytest.mark.parametrize(("command", "data"), COMMANDS)
async def test_non_admins_are_refused(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    integration: MockConfigEntry,
    command: str,
    data: dict[str, Any],
) -> None:
    clip = await add_clip(hass, integration)
    data = {
        key: (
            integration.entry_id
            if value == "ENTRY"
            else clip.id
            if value == "CLIP"
            else [clip.id]
            if value == ["CLIP"]
            else value
        )
        for key, value in data.items()
    }
    ws = Ws(await hass_ws_client(hass, hass_read_only_access_token))
    response = await ws.call(command, language="en", **data)
    assert not response["success"]
    assert response["error"]["code"] == "unauthorized"
    assert response["error"]["message"] == ADMIN_ONLY
    assert response["error"]["translation_key"] == "admin_required"
    store = integration.runtime_data.recorder.store
    assert store.get(clip.id) == clip  # neither deleted nor kept


@pytest.mark.parametrize(("command", "data"), COMMANDS[3:])
async def test_unknown_entries_are_refused(
    ws: Ws, command: str, data: dict[str, Any]
) -> None:
    data = {
        key: "01JUNKNOWNENTRY" if value == "ENTRY" else value
        for key, value in data.items()
    }
    response = await ws.call(command, **data)
    assert response["error"]["code"] == "entry_not_found"
    assert "01JUNKNOWNENTRY" in response["error"]["message"]


async def test_no_picture_or_clip_over_the_websocket(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With debug logging on, no message carries a JPEG or an MP4, in any form."""
    caplog.set_level(logging.DEBUG, logger="homeassistant.components.websocket_api")
    # (Newer Home Assistant reads the level when the connection opens.)
    ws = Ws(await hass_ws_client(hass))
    clips = [await add_clip(hass, integration, today_at(h)) for h in (7, 8)]
    entry_id = integration.entry_id
    await ws.result("peephole/panel/doorbells")
    await ws.result("peephole/timeline", day=today())
    await ws.result("peephole/timeline/days")
    await ws.result(
        "peephole/clips/keep", entry_id=entry_id, clip_id=clips[0].id, keep=True
    )
    await ws.result(
        "peephole/clips/export", entry_id=entry_id, clip_ids=[c.id for c in clips]
    )
    await ws.result("peephole/clips/delete", entry_id=entry_id, clip_id=clips[1].id)
    logged = caplog.text
    assert logged.count("Sending") >= 6  # debug logging is on: the answers are there
    assert clips[0].id in logged
    texts = [logged, *(repr(r) for r in ws.received)]
    pictures = [
        THUMBNAIL[:48],
        base64.b64encode(THUMBNAIL)[:48].decode(errors="replace"),
        "/9j/",  # base64 of any JPEG's start
        "\\xff\\xd8",
        "ftyp",
        base64.b64encode(MP4[:12]).decode()[:12],
        "UEsDB",  # base64 of a zip's start
        "PK\\x03\\x04",
    ]
    for text in texts:
        for picture in pictures:
            assert str(picture) not in text
