"""The "Privacy zones" sidebar panel: a polygon editor on a fresh snapshot.

The panel is a plain web component (``frontend/peephole-zone-editor.js``, no
build step, nothing downloaded) served by Home Assistant's own HTTP server.
It talks to the admin-only websocket commands of ``websocket.py`` (list and
save: no pictures) and gets every picture, the unmasked snapshot it draws on and
the masked preview, from the admin-only HTTP views of ``zone_editor_views.py``
(registered here, with or without the frontend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from homeassistant.components import panel_custom
from homeassistant.components.http import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .zone_editor_views import ZonePreviewView, ZoneSnapshotView

PANEL_URL_PATH: Final = "peephole-zones"
PANEL_COMPONENT: Final = "peephole-zone-editor"
PANEL_TITLE: Final = "Privacy zones"
PANEL_ICON: Final = "mdi:shape-polygon-plus"
STATIC_URL: Final = "/peephole_static"
FRONTEND_DIR: Final = Path(__file__).parent / "frontend"
MODULE_FILE: Final = "peephole-zone-editor.js"

DATA_PANEL: Final[HassKey[bool]] = HassKey(f"{DOMAIN}_panel")
DATA_EDITOR_VIEWS: Final[HassKey[bool]] = HassKey(f"{DOMAIN}_zone_editor_views")


async def async_register_panel(hass: HomeAssistant) -> None:
    """Serve the editor's module and pictures, and add the admin-only panel (once).

    Without the frontend (a headless Home Assistant) there is nothing to show,
    so only the websocket commands and the picture views are available.
    """
    if not hass.data.get(DATA_EDITOR_VIEWS):
        hass.data[DATA_EDITOR_VIEWS] = True
        hass.http.register_view(ZoneSnapshotView())
        hass.http.register_view(ZonePreviewView())
    if hass.data.get(DATA_PANEL):
        return
    if "frontend" not in hass.config.components:
        LOGGER.debug("No frontend: the privacy zone panel is not registered")
        return
    hass.data[DATA_PANEL] = True
    await hass.http.async_register_static_paths(
        [StaticPathConfig(STATIC_URL, str(FRONTEND_DIR), cache_headers=False)]
    )
    integration = await async_get_integration(hass, DOMAIN)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_COMPONENT,
        # The version makes browsers load a new module after an update.
        module_url=f"{STATIC_URL}/{MODULE_FILE}?v={integration.version}",
        sidebar_title=PANEL_TITLE,
        sidebar_icon=PANEL_ICON,
        require_admin=True,
        config={"domain": DOMAIN},
    )
