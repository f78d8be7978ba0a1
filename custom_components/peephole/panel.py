"""The "Doorbell" sidebar panel and the dashboard card, served by Home Assistant.

The panel (``frontend/peephole-panel.js``: timeline, clip actions, shares and
their audit, and the privacy zone editor of ``frontend/peephole-zone-editor.js``)
is for administrators only. The card (``frontend/peephole-card.js``,
``custom:peephole-doorbell-card``) is loaded on every dashboard as an extra module
of the frontend, so no resource has to be added by hand. Both are plain web
components (no build step, nothing from anywhere else) and talk to Peephole's
admin-only websocket commands (``websocket.py``, ``panel_api.py``: lists and
actions, never a picture); every picture comes from an authenticated HTTP view
(registered here, with or without the frontend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .panel_views import ExportDownloadView
from .zone_editor_views import ZonePreviewView, ZoneSnapshotView

PANEL_URL_PATH: Final = "peephole"
PANEL_COMPONENT: Final = "peephole-panel"
PANEL_TITLE: Final = "Doorbell"
PANEL_ICON: Final = "mdi:doorbell-video"
STATIC_URL: Final = "/peephole_static"
FRONTEND_DIR: Final = Path(__file__).parent / "frontend"
MODULE_FILE: Final = "peephole-panel.js"
CARD_FILE: Final = "peephole-card.js"

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
        hass.http.register_view(ExportDownloadView())
    if hass.data.get(DATA_PANEL):
        return
    if "frontend" not in hass.config.components:
        LOGGER.debug("No frontend: the panel and the card are not registered")
        return
    hass.data[DATA_PANEL] = True
    await hass.http.async_register_static_paths(
        [StaticPathConfig(STATIC_URL, str(FRONTEND_DIR), cache_headers=False)]
    )
    integration = await async_get_integration(hass, DOMAIN)
    # The version makes browsers load a new module after an update.
    version = f"?v={integration.version}"
    # The card on every dashboard, for every user (no resource to add by hand).
    frontend.add_extra_js_url(hass, f"{STATIC_URL}/{CARD_FILE}{version}")
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_COMPONENT,
        module_url=f"{STATIC_URL}/{MODULE_FILE}{version}",
        sidebar_title=PANEL_TITLE,
        sidebar_icon=PANEL_ICON,
        require_admin=True,
        config={"domain": DOMAIN},
    )
