"""Config flow for Peephole."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, selector
import voluptuous as vol

from .const import (
    CONF_CAMERA_ENTITY,
    CONF_FRAME_INTERVAL,
    CONF_MOTION_ENTITY,
    CONF_RING_ENTITY,
    CONF_RING_EVENT_TYPES,
    DEFAULT_FRAME_INTERVAL,
    DOMAIN,
    EVENT_TYPE_RING,
    MAX_FRAME_INTERVAL,
    MIN_FRAME_INTERVAL,
)
from .sources import async_unhide_source_camera

SOURCE_SELECTORS: dict[str, selector.EntitySelector] = {
    CONF_CAMERA_ENTITY: selector.EntitySelector(
        selector.EntitySelectorConfig(domain="camera")
    ),
    CONF_RING_ENTITY: selector.EntitySelector(
        selector.EntitySelectorConfig(domain=["event", "binary_sensor"])
    ),
    CONF_MOTION_ENTITY: selector.EntitySelector(
        selector.EntitySelectorConfig(domain="binary_sensor")
    ),
}


def _sources_schema(defaults: dict[str, Any]) -> dict[vol.Marker, Any]:
    """Return the schema fields for the source entities."""
    motion = defaults.get(CONF_MOTION_ENTITY)
    return {
        vol.Required(
            CONF_CAMERA_ENTITY, default=defaults.get(CONF_CAMERA_ENTITY, vol.UNDEFINED)
        ): SOURCE_SELECTORS[CONF_CAMERA_ENTITY],
        vol.Required(
            CONF_RING_ENTITY, default=defaults.get(CONF_RING_ENTITY, vol.UNDEFINED)
        ): SOURCE_SELECTORS[CONF_RING_ENTITY],
        vol.Optional(
            CONF_MOTION_ENTITY,
            description={"suggested_value": motion} if motion else None,
        ): SOURCE_SELECTORS[CONF_MOTION_ENTITY],
    }


def _entity_exists(hass: HomeAssistant, entity_id: str) -> bool:
    return (
        hass.states.get(entity_id) is not None
        or er.async_get(hass).async_get(entity_id) is not None
    )


def _validate_sources(hass: HomeAssistant, data: dict[str, Any]) -> dict[str, str]:
    """Check the chosen source entities; return form errors by field."""
    errors: dict[str, str] = {}
    camera = data[CONF_CAMERA_ENTITY]
    if not _entity_exists(hass, camera):
        errors[CONF_CAMERA_ENTITY] = "entity_not_found"
    elif (reg := er.async_get(hass).async_get(camera)) and reg.platform == DOMAIN:
        errors[CONF_CAMERA_ENTITY] = "camera_is_peephole"
    if not _entity_exists(hass, data[CONF_RING_ENTITY]):
        errors[CONF_RING_ENTITY] = "entity_not_found"
    if (motion := data.get(CONF_MOTION_ENTITY)) is not None:
        if not _entity_exists(hass, motion):
            errors[CONF_MOTION_ENTITY] = "entity_not_found"
        elif motion == data[CONF_RING_ENTITY]:
            errors[CONF_MOTION_ENTITY] = "motion_is_ring"
    return errors


def _camera_unique_id(hass: HomeAssistant, camera: str) -> str:
    """Identify the source camera by its registry id, which survives renames."""
    entry = er.async_get(hass).async_get(camera)
    return entry.id if entry else camera


class PeepholeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Peephole doorbell on top of an existing camera."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> PeepholeOptionsFlow:
        """Return the options flow."""
        return PeepholeOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the camera, the ring source, the motion source and a name."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_sources(self.hass, user_input)
            if not errors:
                await self.async_set_unique_id(
                    _camera_unique_id(self.hass, user_input[CONF_CAMERA_ENTITY])
                )
                self._abort_if_unique_id_configured()
                name = user_input.pop(CONF_NAME)
                return self.async_create_entry(title=name, data=user_input)

        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): selector.TextSelector(),
                **_sources_schema({}),
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the source entities of an existing doorbell."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_sources(self.hass, user_input)
            if not errors:
                await self.async_set_unique_id(
                    _camera_unique_id(self.hass, user_input[CONF_CAMERA_ENTITY])
                )
                if self.unique_id != entry.unique_id:
                    self._abort_if_unique_id_configured()
                old_camera = entry.data[CONF_CAMERA_ENTITY]
                data = {
                    CONF_CAMERA_ENTITY: user_input[CONF_CAMERA_ENTITY],
                    CONF_RING_ENTITY: user_input[CONF_RING_ENTITY],
                }
                if CONF_MOTION_ENTITY in user_input:
                    data[CONF_MOTION_ENTITY] = user_input[CONF_MOTION_ENTITY]
                if old_camera != data[CONF_CAMERA_ENTITY]:
                    async_unhide_source_camera(self.hass, old_camera)
                # The entry's update listener reloads it.
                self.hass.config_entries.async_update_entry(
                    entry, unique_id=self.unique_id, data=data
                )
                return self.async_abort(reason="reconfigure_successful")

        return self.async_show_form(
            step_id="reconfigure",
            data_schema=vol.Schema(_sources_schema(user_input or dict(entry.data))),
            errors=errors,
        )


class PeepholeOptionsFlow(OptionsFlow):
    """Tune a Peephole doorbell."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Live-view frame interval and which ring events count as a press."""
        if user_input is not None:
            return self.async_create_entry(
                data={**self.config_entry.options, **user_input}
            )

        options = self.config_entry.options
        fields: dict[vol.Marker, Any] = {
            vol.Required(
                CONF_FRAME_INTERVAL,
                default=options.get(CONF_FRAME_INTERVAL, DEFAULT_FRAME_INTERVAL),
            ): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=MIN_FRAME_INTERVAL,
                    max=MAX_FRAME_INTERVAL,
                    step=0.01,
                    unit_of_measurement="s",
                    mode=selector.NumberSelectorMode.BOX,
                )
            ),
        }
        ring = self.hass.states.get(self.config_entry.data[CONF_RING_ENTITY])
        event_types: list[str] = (
            list(ring.attributes.get("event_types", [])) if ring else []
        )
        if event_types:
            default = options.get(
                CONF_RING_EVENT_TYPES,
                [EVENT_TYPE_RING] if EVENT_TYPE_RING in event_types else [],
            )
            fields[vol.Optional(CONF_RING_EVENT_TYPES, default=default)] = (
                selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=event_types,
                        multiple=True,
                        mode=selector.SelectSelectorMode.LIST,
                    )
                )
            )
        return self.async_show_form(step_id="init", data_schema=vol.Schema(fields))
