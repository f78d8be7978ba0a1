"""Media browser, the clip view (auth, permissions, traversal), keep/delete, retention."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

from homeassistant.auth.models import Group
from homeassistant.components.media_player import BrowseError
from homeassistant.components.media_source import (
    URI_SCHEME,
    Unresolvable,
    async_browse_media,
    async_resolve_media,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.clips import Clip, new_clip_id
from custom_components.peephole.const import DOMAIN

from .conftest import clock_frame

ROOT = f"{URI_SCHEME}{DOMAIN}"


async def _add_clip(
    entry: MockConfigEntry, age: timedelta = timedelta(0), size: int = 1000
) -> Clip:
    """Index a clip with a real (tiny) MP4 and thumbnail."""
    recorder = entry.runtime_data.recorder
    start = dt_util.utcnow() - age
    clip = Clip(
        id=new_clip_id(start),
        start=start,
        duration=1.0,
        size=size,
        trigger="ring",
        thumbnail=True,
    )
    recorder.store.directory.mkdir(parents=True, exist_ok=True)
    recorder.store.clip_path(clip).write_bytes(b"\0\0\0\x18ftypisom" + b"\0" * 2000)
    recorder.store.thumbnail_path(clip).write_bytes(clock_frame(0))
    await recorder.store.async_add(clip)
    return clip


async def test_browse_and_resolve(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    assert await async_setup_component(hass, "media_source", {})
    await hass.async_block_till_done()  # media_source finds its platforms in a task
    clip = await _add_clip(init_integration)
    root = await async_browse_media(hass, ROOT)
    assert [c.title for c in root.children] == ["Front door"]
    doorbell = await async_browse_media(hass, root.children[0].media_content_id)
    day = dt_util.as_local(clip.start).date().isoformat()
    assert [c.title for c in doorbell.children] == [day]
    clips = await async_browse_media(hass, doorbell.children[0].media_content_id)
    (item,) = clips.children
    assert item.can_play
    entry_id = init_integration.entry_id
    assert item.thumbnail == f"/api/peephole/clips/{entry_id}/{clip.id}.jpg"
    play = await async_resolve_media(hass, item.media_content_id, None)
    assert play.url == f"/api/peephole/clips/{entry_id}/{clip.id}.mp4"
    assert play.mime_type == "video/mp4"
    for bad in (
        f"{ROOT}/{entry_id}/{day}/../../etc",
        f"{ROOT}/{entry_id}/{day}/20240101T000000-00000000",
        f"{ROOT}/nope/{day}/{clip.id}",
        f"{ROOT}/{entry_id}//{clip.id}",
    ):
        with pytest.raises(Unresolvable) as err:
            await async_resolve_media(hass, bad, None)
        assert err.value.translation_key in (
            "media_unknown_clip",
            "media_invalid_identifier",
        )
        text = str(err.value).rstrip(".")
        assert text.endswith("is not a Peephole doorbell, day or clip") or (
            text == f"Peephole has no clip {bad.removeprefix(ROOT + '/')}"
        )
    for bad, message in (
        (f"{ROOT}/nope", "There is no Peephole doorbell nope that records clips."),
        (
            f"{ROOT}/{entry_id}/{day}/{clip.id}",
            f"{entry_id}/{day}/{clip.id} is a clip, not a folder.",
        ),
        (
            f"{ROOT}/{entry_id}//x",
            f"{entry_id}//x is not a Peephole doorbell, day or clip.",
        ),
    ):
        with pytest.raises(BrowseError) as err:
            await async_browse_media(hass, bad)
        # Translated, with the placeholders filled in.
        assert str(err.value).rstrip(".") == message.rstrip(".")


async def test_view_serves_indexed_clips_only(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    clip = await _add_clip(init_integration)
    base = f"/api/peephole/clips/{init_integration.entry_id}"
    client = await hass_client()
    response = await client.get(f"{base}/{clip.id}.mp4")
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "video/mp4"
    response = await client.get(f"{base}/{clip.id}.mp4", headers={"Range": "bytes=0-9"})
    assert response.status == HTTPStatus.PARTIAL_CONTENT
    assert len(await response.read()) == 10
    response = await client.get(f"{base}/{clip.id}.jpg")
    assert response.status == HTTPStatus.OK
    assert (await response.read())[:2] == b"\xff\xd8"
    for bad in (
        "20240101T000000-00000000.mp4",
        "..%2f..%2f..%2fconfiguration.yaml",
        "%2e%2e%2fsecrets.yaml",
        "%2Fetc%2Fpasswd",
        f"{clip.id}.partial.mp4",
        f"{clip.id}.txt",
    ):
        response = await client.get(f"{base}/{bad}")
        # Refused by HA's security filter (400) or by the index (404).
        assert response.status in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND), bad
    response = await client.get(f"/api/peephole/clips/../{clip.id}.mp4")
    assert response.status in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND)
    response = await client.get(f"/api/peephole/clips/nope/{clip.id}.mp4")
    assert response.status == HTTPStatus.NOT_FOUND
    anonymous = await hass_client_no_auth()
    response = await anonymous.get(f"{base}/{clip.id}.mp4")
    assert response.status == HTTPStatus.UNAUTHORIZED


async def test_view_checks_the_users_camera_permission(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_read_only_user: MockUser,
) -> None:
    clip = await _add_clip(init_integration)
    url = f"/api/peephole/clips/{init_integration.entry_id}/{clip.id}.mp4"

    async def _client_for(user: MockUser):
        refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
        return await hass_client(hass.auth.async_create_access_token(refresh))

    reader = await _client_for(hass_read_only_user)
    assert (await reader.get(url)).status == HTTPStatus.OK
    stranger = MockUser(
        groups=[
            Group(
                name="Garden only",
                policy={"entities": {"entity_ids": {"camera.garden": True}}},
            )
        ]
    ).add_to_hass(hass)
    response = await (await _client_for(stranger)).get(url)
    assert response.status == HTTPStatus.UNAUTHORIZED


async def test_keep_delete_and_retention(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_read_only_user: MockUser,
) -> None:
    from homeassistant.core import Context

    recorder = init_integration.runtime_data.recorder
    old = await _add_clip(init_integration, age=timedelta(days=8))
    kept = await _add_clip(init_integration, age=timedelta(days=9))
    fresh = await _add_clip(init_integration)
    call = {"config_entry_id": init_integration.entry_id, "clip_id": kept.id}
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "keep_clip",
            call,
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    await hass.services.async_call(DOMAIN, "keep_clip", call, blocking=True)
    await recorder.async_apply_retention()
    assert set(recorder.store.clips) == {kept.id, fresh.id}
    assert not recorder.store.clip_path(old).exists()
    assert recorder.store.clips[kept.id].keep
    await hass.services.async_call(
        DOMAIN,
        "delete_clip",
        {"config_entry_id": init_integration.entry_id, "clip_id": fresh.id},
        blocking=True,
    )
    assert set(recorder.store.clips) == {kept.id}
    assert not recorder.store.clip_path(fresh).exists()
    for bad in ("../../etc/passwd", fresh.id):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                "delete_clip",
                {"config_entry_id": init_integration.entry_id, "clip_id": bad},
                blocking=True,
            )
        assert err.value.translation_key == "unknown_clip"
    await hass.services.async_call(
        DOMAIN, "keep_clip", {**call, "keep": False}, blocking=True
    )
    await recorder.async_apply_retention()
    assert not recorder.store.clips


async def test_retention_by_size_oldest_first(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    from custom_components.peephole.clips import select_expired

    clips = [
        Clip(
            id=new_clip_id(dt_util.utcnow() - timedelta(hours=h)),
            start=dt_util.utcnow() - timedelta(hours=h),
            duration=1,
            size=100,
            trigger="ring",
            keep=h == 5,
        )
        for h in (1, 2, 3, 4, 5)
    ]
    expired = select_expired(clips, dt_util.utcnow(), timedelta(days=7), 250)
    # 500 bytes, 250 allowed: the oldest not-kept ones go (4 h, 3 h, 2 h ago... until <= 250).
    assert expired == [clips[3].id, clips[2].id, clips[1].id]
