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
    CONF_FEED_FPS,
    CONF_FRAME_INTERVAL,
    CONF_LIVE_CAMERA,
    CONF_MAX_CLIP_LENGTH,
    CONF_MAX_STORAGE_MB,
    CONF_MIN_FREE_MB,
    CONF_MOTION_ENTITY,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_RECORD,
    CONF_RETENTION_DAYS,
    CONF_RING_ENTITY,
    CONF_RING_EVENT_TYPES,
    CONF_SOURCE_MODE,
    CONF_ZONES,
    DEFAULT_FRAME_INTERVAL,
    DOMAIN,
    EVENT_TYPE_RING,
    MAX_FRAME_INTERVAL,
    MIN_FRAME_INTERVAL,
    RECORDING_DEFAULTS,
    SOURCE_MODE_AUTO,
    SOURCE_MODES,
)
from .share_registry import AuditWriteError, async_get_registry
from .sharing import (
    CONF_RECIPIENTS,
    RECIPIENT_ID_RE,
    SharingError,
    new_recipient_id,
    validate_rules,
)
from .sources import async_unhide_source_camera
from .zones import (
    MAX_NAME_LENGTH,
    MAX_POINTS,
    MAX_ZONES,
    MIN_POINTS,
    Zone,
    ZoneError,
    format_points,
    parse_points,
    validate_zones,
    zones_from_storage,
    zones_to_storage,
)

CONF_RECIPIENT = "recipient"
CONF_RECIPIENT_NAME = "name"
# Which form field a sharing-rule error belongs to.
RECIPIENT_ERROR_FIELDS = {
    "invalid_recipient": CONF_RECIPIENT_NAME,
    "reserved_recipient": CONF_RECIPIENT_NAME,
    "duplicate_recipient": CONF_RECIPIENT_NAME,
    "expiry_too_long": "max_expiry_hours",
    "too_many_views": "max_views",
}
RECIPIENT_PLACEHOLDERS = {"recipient": "", "max": "", "error": ""}

CONF_ZONE = "zone"
CONF_ZONE_NAME = "name"
CONF_ZONE_POINTS = "points"
CONF_ZONE_ENABLED = "enabled"

# Which form field a zone error belongs to.
ZONE_ERROR_FIELDS = {
    "invalid_name": CONF_ZONE_NAME,
    "name_characters": CONF_ZONE_NAME,
    "duplicate_name": CONF_ZONE_NAME,
    "invalid_points": CONF_ZONE_POINTS,
    "too_few_points": CONF_ZONE_POINTS,
    "too_many_points": CONF_ZONE_POINTS,
    "point_out_of_range": CONF_ZONE_POINTS,
    "self_intersecting": CONF_ZONE_POINTS,
}
# Every placeholder the zone texts use, so each message renders.
ZONE_PLACEHOLDERS = {
    "zone": "",
    "point": "",
    "min": str(MIN_POINTS),
    "max": str(MAX_POINTS),
    "max_name": str(MAX_NAME_LENGTH),
    "max_zones": str(MAX_ZONES),
}

# Recording options: (min, max, step, unit).
RECORDING_NUMBERS: dict[str, tuple[float, float, float, str]] = {
    CONF_PRE_ROLL: (0, 30, 0.5, "s"),
    CONF_POST_ROLL: (1, 120, 0.5, "s"),
    CONF_MAX_CLIP_LENGTH: (5, 600, 1, "s"),
    CONF_FEED_FPS: (1, 25, 1, "fps"),
    CONF_RETENTION_DAYS: (1, 365, 1, "d"),
    CONF_MAX_STORAGE_MB: (64, 1_000_000, 64, "MB"),
    CONF_MIN_FREE_MB: (0, 100_000, 1, "MB"),
}

# What each source may be: (allowed domains, the form error for anything else).
SOURCE_DOMAINS: dict[str, tuple[list[str], str]] = {
    CONF_CAMERA_ENTITY: (["camera"], "not_a_camera"),
    CONF_RING_ENTITY: (["event", "binary_sensor"], "not_a_ring_source"),
    CONF_MOTION_ENTITY: (["binary_sensor"], "not_a_motion_sensor"),
}
# The pickers offer only those domains (a filter, not validation: anything else that
# reaches the flow gets a translated form error from _validate_sources instead of
# the schema's untranslated one).
SOURCE_SELECTORS: dict[str, selector.EntitySelector] = {
    key: selector.EntitySelector(
        selector.EntitySelectorConfig(
            filter=selector.EntityFilterSelectorConfig(domain=domains)
        )
    )
    for key, (domains, _) in SOURCE_DOMAINS.items()
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
    for key, (domains, error) in SOURCE_DOMAINS.items():
        if (entity_id := data.get(key)) is not None and (
            entity_id.partition(".")[0] not in domains
        ):
            errors[key] = error
    if errors:
        return errors
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


def _names_selector(names: list[str], *, multiple: bool) -> selector.SelectSelector:
    """Pick one or more of the named zones or recipients."""
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=names, multiple=multiple, mode=selector.SelectSelectorMode.LIST
        )
    )


def _camera_unique_id(hass: HomeAssistant, camera: str) -> str:
    """Identify the source camera by its registry id, which survives renames."""
    entry = er.async_get(hass).async_get(camera)
    return entry.id if entry else camera


class PeepholeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Peephole doorbell on top of an existing camera."""

    VERSION = 1
    # 1.2: every sharing recipient has an identity (async_migrate_entry).
    MINOR_VERSION = 2

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
    """Tune a Peephole doorbell: settings and privacy zones."""

    def __init__(self) -> None:
        """Initialise the flow."""
        self._editing: str | None = None

    @property
    def _zones(self) -> tuple[Zone, ...]:
        return zones_from_storage(self.config_entry.options.get(CONF_ZONES, []))

    def _save_zones(self, zones: list[Zone]) -> ConfigFlowResult:
        return self.async_create_entry(
            data={**self.config_entry.options, CONF_ZONES: zones_to_storage(zones)}
        )

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose what to change."""
        menu = ["settings", "recording", "add_zone"]
        if self.config_entry.options.get(CONF_ZONES):
            menu += ["edit_zone", "remove_zones"]
        menu.append("add_recipient")
        if self.config_entry.options.get(CONF_RECIPIENTS):
            menu += ["edit_recipient", "remove_recipients"]
        return self.async_show_menu(step_id="init", menu_options=menu)

    # --- sharing rules: who may receive links, and within which limits -------------

    @property
    def _recipients(self) -> list[dict[str, Any]]:
        return list(self.config_entry.options.get(CONF_RECIPIENTS, []))

    def _recipient_selector(self, *, multiple: bool) -> selector.SelectSelector:
        return _names_selector(
            [str(rule.get("name")) for rule in self._recipients], multiple=multiple
        )

    async def async_step_add_recipient(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Name a recipient and the most that may be shared with them."""
        return await self._async_recipient_form("add_recipient", user_input, None)

    async def async_step_edit_recipient(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the recipient whose rule to change."""
        if user_input is not None:
            self._editing = user_input[CONF_RECIPIENT]
            return await self.async_step_recipient()
        return self.async_show_form(
            step_id="edit_recipient",
            data_schema=vol.Schema(
                {vol.Required(CONF_RECIPIENT): self._recipient_selector(multiple=False)}
            ),
        )

    async def async_step_recipient(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the chosen recipient's rule (it narrows live shares at once)."""
        return await self._async_recipient_form("recipient", user_input, self._editing)

    async def async_step_remove_recipients(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Remove recipients: every share made for them ends at once."""
        errors: dict[str, str] = {}
        if user_input is not None:
            remove = set(user_input[CONF_RECIPIENTS])
            kept = [r for r in self._recipients if r.get("name") not in remove]
            if await self._async_apply_to_shares(kept):
                return self.async_create_entry(
                    data={**self.config_entry.options, CONF_RECIPIENTS: kept}
                )
            errors["base"] = "shares_not_saved"
        return self.async_show_form(
            step_id="remove_recipients",
            data_schema=vol.Schema(
                {vol.Required(CONF_RECIPIENTS): self._recipient_selector(multiple=True)}
            ),
            errors=errors,
        )

    async def _async_apply_to_shares(self, recipients: list[dict[str, Any]]) -> bool:
        """Narrow the shares to the new rules before they are saved; False if not.

        What the new rules take from a link is written to disk first, so that no
        later rule change can give it back (not even one made before a restart).
        """
        try:
            await async_get_registry(self.hass).async_apply_rules(
                self.config_entry, recipients
            )
        except AuditWriteError:
            return False
        return True

    async def _async_recipient_form(
        self, step_id: str, user_input: dict[str, Any] | None, editing: str | None
    ) -> ConfigFlowResult:
        """Show, validate and save one recipient's rule (new, or ``editing``)."""
        recipients = self._recipients
        index = next(
            (i for i, r in enumerate(recipients) if r.get("name") == editing), None
        )
        errors: dict[str, str] = {}
        placeholders = dict(RECIPIENT_PLACEHOLDERS)
        if user_input is not None:
            # A new recipient is a new identity; an edited one (renamed or not)
            # keeps its own, and with it the links made for it.
            known = recipients[index].get("id") if index is not None else None
            rule: dict[str, Any] = {
                "id": known
                if isinstance(known, str) and RECIPIENT_ID_RE.fullmatch(known)
                else new_recipient_id(),
                "name": user_input[CONF_RECIPIENT_NAME].strip(),
                "clips": user_input["clips"],
                "snapshots": user_input["snapshots"],
                "max_expiry_hours": user_input["max_expiry_hours"],
                "remote": user_input["remote"],
                "max_views": (
                    int(user_input["max_views"])
                    if user_input.get("max_views")
                    else None
                ),
            }
            updated = list(recipients)
            if index is None:
                updated.append(rule)
            else:
                updated[index] = rule
            try:
                validate_rules(updated, self.config_entry.entry_id)
            except SharingError as err:
                errors[RECIPIENT_ERROR_FIELDS.get(err.key, "base")] = err.key
                placeholders.update(err.placeholders)
            else:
                if await self._async_apply_to_shares(updated):
                    return self.async_create_entry(
                        data={**self.config_entry.options, CONF_RECIPIENTS: updated}
                    )
                errors["base"] = "shares_not_saved"
        defaults: dict[str, Any] = {
            "clips": True,
            "snapshots": False,
            "max_expiry_hours": 24,
            "remote": False,
        }
        if index is not None:
            current = recipients[index]
            defaults = {
                CONF_RECIPIENT_NAME: current.get("name"),
                "clips": current.get("clips", True),
                "snapshots": current.get("snapshots", False),
                "max_expiry_hours": current.get("max_expiry_hours", 24),
                "remote": current.get("remote", False),
            }
            if current.get("max_views"):
                defaults["max_views"] = current["max_views"]
        schema = vol.Schema(
            {
                vol.Required(CONF_RECIPIENT_NAME): selector.TextSelector(),
                vol.Required("clips"): selector.BooleanSelector(),
                vol.Required("snapshots"): selector.BooleanSelector(),
                vol.Required("max_expiry_hours"): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=1,
                        max=168,
                        step=1,
                        unit_of_measurement="h",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
                vol.Required("remote"): selector.BooleanSelector(),
                vol.Optional("max_views"): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=1, max=1000, step=1, mode=selector.NumberSelectorMode.BOX
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or defaults
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where pictures come from, the live view, which ring events count."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate_live_camera(user_input.get(CONF_LIVE_CAMERA))
            if not errors:
                kept = {
                    k: v
                    for k, v in self.config_entry.options.items()
                    if k not in (CONF_RING_EVENT_TYPES, CONF_LIVE_CAMERA)
                }
                return self.async_create_entry(data={**kept, **user_input})

        options = self.config_entry.options
        fields: dict[vol.Marker, Any] = {
            vol.Required(
                CONF_SOURCE_MODE,
                default=options.get(CONF_SOURCE_MODE, SOURCE_MODE_AUTO),
            ): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=list(SOURCE_MODES),
                    translation_key=CONF_SOURCE_MODE,
                    mode=selector.SelectSelectorMode.LIST,
                )
            ),
            vol.Optional(
                CONF_LIVE_CAMERA,
                description={"suggested_value": options.get(CONF_LIVE_CAMERA)},
            ): SOURCE_SELECTORS[CONF_CAMERA_ENTITY],
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
        schema = vol.Schema(fields)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(
            step_id="settings", data_schema=schema, errors=errors
        )

    def _validate_live_camera(self, entity_id: str | None) -> dict[str, str]:
        """Check the live view's camera (another camera, not a Peephole one)."""
        if entity_id is None:
            return {}
        if entity_id.partition(".")[0] != "camera":
            return {CONF_LIVE_CAMERA: "not_a_camera"}
        if not _entity_exists(self.hass, entity_id):
            return {CONF_LIVE_CAMERA: "entity_not_found"}
        reg = er.async_get(self.hass).async_get(entity_id)
        if reg is not None and reg.platform == DOMAIN:
            return {CONF_LIVE_CAMERA: "camera_is_peephole"}
        return {}

    async def async_step_recording(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Clip recording: on/off, pre- and post-roll, length, feed rate, retention."""
        if user_input is not None:
            return self.async_create_entry(
                data={**self.config_entry.options, **user_input}
            )
        options = self.config_entry.options

        def default(key: str) -> Any:
            return options.get(key, RECORDING_DEFAULTS[key])

        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_RECORD, default=default(CONF_RECORD)): (
                selector.BooleanSelector()
            )
        }
        for key, (low, high, step, unit) in RECORDING_NUMBERS.items():
            fields[vol.Required(key, default=default(key))] = selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=low,
                    max=high,
                    step=step,
                    unit_of_measurement=unit,
                    mode=selector.NumberSelectorMode.BOX,
                )
            )
        return self.async_show_form(step_id="recording", data_schema=vol.Schema(fields))

    async def async_step_add_zone(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a privacy zone."""
        return await self._async_zone_form("add_zone", user_input, None)

    async def async_step_edit_zone(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the zone to edit."""
        if user_input is not None:
            self._editing = user_input[CONF_ZONE]
            return await self.async_step_zone()
        return self.async_show_form(
            step_id="edit_zone",
            data_schema=vol.Schema(
                {vol.Required(CONF_ZONE): self._zone_selector(multiple=False)}
            ),
        )

    async def async_step_zone(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit the chosen zone."""
        return await self._async_zone_form("zone", user_input, self._editing)

    async def async_step_remove_zones(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Remove zones."""
        if user_input is not None:
            remove = set(user_input[CONF_ZONES])
            return self._save_zones([z for z in self._zones if z.name not in remove])
        return self.async_show_form(
            step_id="remove_zones",
            data_schema=vol.Schema(
                {vol.Required(CONF_ZONES): self._zone_selector(multiple=True)}
            ),
        )

    def _zone_selector(self, *, multiple: bool) -> selector.SelectSelector:
        return _names_selector([zone.name for zone in self._zones], multiple=multiple)

    async def _async_zone_form(
        self, step_id: str, user_input: dict[str, Any] | None, editing: str | None
    ) -> ConfigFlowResult:
        """Show, validate and save the form of one zone (new, or ``editing``)."""
        zones = list(self._zones)
        current = next((z for z in zones if z.name == editing), None)
        errors: dict[str, str] = {}
        placeholders = dict(ZONE_PLACEHOLDERS)
        if user_input is not None:
            try:
                zone = Zone(
                    name=user_input[CONF_ZONE_NAME].strip(),
                    points=parse_points(user_input[CONF_ZONE_POINTS]),
                    enabled=user_input[CONF_ZONE_ENABLED],
                )
                updated = [zone if z is current else z for z in zones]
                if current is None:
                    updated.append(zone)
                validate_zones(updated)
            except ZoneError as err:
                errors[ZONE_ERROR_FIELDS.get(err.key, "base")] = err.key
                placeholders.update(err.placeholders)
            else:
                return self._save_zones(updated)
        defaults: dict[str, Any] = {CONF_ZONE_ENABLED: True}
        if current is not None:
            defaults = {
                CONF_ZONE_NAME: current.name,
                CONF_ZONE_POINTS: format_points(current.points),
                CONF_ZONE_ENABLED: current.enabled,
            }
        schema = vol.Schema(
            {
                vol.Required(CONF_ZONE_NAME): selector.TextSelector(),
                vol.Required(CONF_ZONE_POINTS): selector.TextSelector(
                    selector.TextSelectorConfig(multiline=True)
                ),
                vol.Required(CONF_ZONE_ENABLED): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or defaults
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
