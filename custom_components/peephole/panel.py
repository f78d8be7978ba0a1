"""The "Privacy zones" sidebar panel: a polygon editor on a fresh snapshot.

The panel is a plain web component (``frontend/peephole-zone-editor.js``, no
build step, nothing downloaded) served by Home Assistant's own HTTP server.
It talks to the admin-only websocket commands of ``websocket.py`` and gets the
unmasked snapshot it draws on from the admin-only HTTP view of
``zone_snapshot.py`` (registered here, with or without the frontend).
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
from .zone_snapshot import ZoneSnapshotView

PANEL_URL_PATH: Final = "peephole-zones"
PANEL_COMPONENT: Final = "peephole-zone-editor"
PANEL_TITLE: Final = "Privacy zones"
PANEL_ICON: Final = "mdi:shape-polygon-plus"
STATIC_URL: Final = "/peephole_static"
FRONTEND_DIR: Final = Path(__file__).parent / "frontend"
MODULE_FILE: Final = "peephole-zone-editor.js"

DATA_PANEL: Final[HassKey[bool]] = HassKey(f"{DOMAIN}_panel")
DATA_SNAPSHOT_VIEW: Final[HassKey[bool]] = HassKey(f"{DOMAIN}_zone_snapshot_view")


async def async_register_panel(hass: HomeAssistant) -> None:
    """Serve the editor's module and snapshots, and add the admin-only panel (once).

    Without the frontend (a headless Home Assistant) there is nothing to show,
    so only the websocket commands and the snapshot view are available.
    """
    if not hass.data.get(DATA_SNAPSHOT_VIEW):
        hass.data[DATA_SNAPSHOT_VIEW] = True
        hass.http.register_view(ZoneSnapshotView())
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
