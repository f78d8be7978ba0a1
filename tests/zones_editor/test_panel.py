"""The sidebar panel: admin-only, served by Home Assistant itself, registered once."""

from __future__ import annotations

from http import HTTPStatus

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.const import DOMAIN
from custom_components.peephole.panel import (
    DATA_EDITOR_VIEWS,
    DATA_PANEL,
    async_register_panel,
)
from custom_components.peephole.zone_editor_views import preview_url, snapshot_url
from tests.conftest import SourceCamera

from .conftest import STREET


async def test_panel_is_admin_only_and_served_locally(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sources: SourceCamera,
    config_entry: MockConfigEntry,
) -> None:
    # The frontend's panel registry without its (large) static files.
    hass.config.components.add("frontend")
    config_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    panel = hass.data["frontend_panels"]["peephole-zones"]
    assert panel.require_admin is True
    assert panel.sidebar_title == "Privacy zones"
    assert panel.sidebar_icon == "mdi:shape-polygon-plus"
    custom = panel.config["_panel_custom"]
    assert custom["name"] == "peephole-zone-editor"
    assert custom["module_url"].startswith(
        "/peephole_static/peephole-zone-editor.js?v="
    )
    assert not custom["embed_iframe"]
    assert not custom["trust_external"]
    # The module comes from Home Assistant, with no external reference in it.
    client = await hass_client()
    response = await client.get(custom["module_url"])
    assert response.status == HTTPStatus.OK
    body = await response.text()
    assert 'customElements.define("peephole-zone-editor"' in body
    code = body.replace('"http://www.w3.org/2000/svg"', "")  # the SVG namespace
    for external in ("http://", "https://", "//cdn", "unpkg", "import(", "import "):
        assert external not in code
    # Registering again (a second set-up) changes nothing.
    await async_register_panel(hass)
    assert hass.data[DATA_PANEL] is True
    assert hass.data[DATA_EDITOR_VIEWS] is True
    # The panel's picture views answer (an admin; the snapshot is the source's).
    response = await client.get(snapshot_url(config_entry.entry_id))
    assert response.status == HTTPStatus.OK
    assert await response.read() == sources.frame
    response = await client.post(
        preview_url(config_entry.entry_id), json={"zones": [STREET]}
    )
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "image/jpeg"
    # The module asks for pictures over HTTP only, never over the websocket.
    assert "/api/peephole/zones/" in body
    assert "peephole/zones/preview" not in body
    assert "peephole/zones/snapshot" not in body
