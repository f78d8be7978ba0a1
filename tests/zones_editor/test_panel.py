"""The Doorbell panel (with the zone editor) and the card: served by HA, registered once."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
import re

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, UrlManager
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

FRONTEND = (
    Path(__file__).resolve().parents[2] / "custom_components" / "peephole" / "frontend"
)


async def test_panel_is_admin_only_and_served_locally(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sources: SourceCamera,
    config_entry: MockConfigEntry,
) -> None:
    # The frontend's panel registry without its (large) static files.
    hass.config.components.add("frontend")
    hass.data[DATA_EXTRA_MODULE_URL] = UrlManager(lambda *_: None, [])
    config_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    panels = hass.data["frontend_panels"]
    assert "peephole-zones" not in panels  # the Doorbell panel replaced it
    panel = panels["peephole"]
    assert panel.require_admin is True
    assert panel.sidebar_title == "Doorbell"
    assert panel.sidebar_icon == "mdi:doorbell-video"
    custom = panel.config["_panel_custom"]
    assert custom["name"] == "peephole-panel"
    assert custom["module_url"].startswith("/peephole_static/peephole-panel.js?v=")
    # The card is loaded on every dashboard, for every user.
    (card_url,) = hass.data[DATA_EXTRA_MODULE_URL].urls
    assert card_url.startswith("/peephole_static/peephole-card.js?v=")
    assert not custom["embed_iframe"]
    assert not custom["trust_external"]
    # The module comes from Home Assistant, with no external reference in it.
    client = await hass_client()
    for url in (custom["module_url"], card_url):
        response = await client.get(url)
        assert response.status == HTTPStatus.OK
    # Every module comes from Home Assistant and imports only its neighbours.
    modules = {}
    for path in sorted(FRONTEND.rglob("*.js")) + sorted(FRONTEND.rglob("*.mjs")):
        relative = path.relative_to(FRONTEND).as_posix()
        response = await client.get(f"/peephole_static/{relative}")
        assert response.status == HTTPStatus.OK, relative
        modules[relative] = await response.text()
    assert {"peephole-panel.js", "peephole-card.js", "peephole-zone-editor.js"} <= set(
        modules
    )
    for relative, text in modules.items():
        code = text.replace('"http://www.w3.org/2000/svg"', "")  # the SVG namespace
        # Comments may name where a vendored library comes from; code may not.
        code = re.sub(r"^\s*(//|\*).*$", "", code, flags=re.MULTILINE)
        for external in ("http://", "https://", "//cdn", "unpkg", "import("):
            assert external not in code, relative
        for imported in re.findall(r'^import .* from "([^"]+)";$', code, re.MULTILINE):
            assert imported.startswith("./"), (relative, imported)
    body = modules["peephole-zone-editor.js"]
    assert 'customElements.define("peephole-zone-editor"' in body
    assert 'customElements.define("peephole-panel"' in modules["peephole-panel.js"]
    assert (
        'customElements.define("peephole-doorbell-card"' in modules["peephole-card.js"]
    )
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
