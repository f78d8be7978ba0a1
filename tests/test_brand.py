"""Peephole's own brand images, and Home Assistant serving them locally."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_custom_components
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.const import DOMAIN
from tools import brand

BRAND = Path(__file__).parent.parent / "custom_components" / DOMAIN / "brand"


def test_every_brand_image_is_there_and_well_formed() -> None:
    assert brand.check(BRAND) == []
    assert sorted(p.name for p in BRAND.iterdir()) == sorted(brand.images())


def test_the_check_finds_what_is_wrong(tmp_path: Path) -> None:
    images = brand.images()
    images["icon.png"].resize((100, 100)).save(tmp_path / "icon.png")
    images["logo.png"].convert("RGB").save(tmp_path / "logo.png")
    problems = brand.check(tmp_path)
    assert "icon.png: 100x100, want 256 square" in problems
    assert "logo.png: not an RGBA PNG" in problems
    assert "dark_icon.png: missing" in problems


async def test_home_assistant_serves_the_local_images(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """HA 2026.3+ serves brand/ itself: the brands CDN is never asked for Peephole."""
    try:
        from homeassistant.components import brands  # noqa: F401
    except ImportError:
        pytest.skip("Home Assistant before 2026.3 has no local brand images")
    integration = (await async_get_custom_components(hass))[DOMAIN]
    assert integration.has_branding
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for name in ("icon.png", "dark_logo@2x.png"):
        response = await client.get(f"/api/brands/integration/{DOMAIN}/{name}")
        assert response.status == HTTPStatus.OK
        assert await response.read() == (BRAND / name).read_bytes()
    assert aioclient_mock.call_count == 0  # nothing fetched from the CDN
