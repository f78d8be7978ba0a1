"""Config flow, reconfigure and options flow (every branch)."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from homeassistant.util.file import WriteError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.peephole.const import (
    CONF_CAMERA_ENTITY,
    CONF_FRAME_INTERVAL,
    CONF_LIVE_CAMERA,
    CONF_MOTION_ENTITY,
    CONF_RING_ENTITY,
    CONF_RING_EVENT_TYPES,
    CONF_SOURCE_MODE,
    CONF_ZONES,
    DOMAIN,
    SOURCE_MODE_AUTO,
    SOURCE_MODE_STILLS,
    SOURCE_MODE_STREAM,
)
from custom_components.peephole.share_registry import async_get_registry
from custom_components.peephole.sharing import (
    RECIPIENT_ID_RE,
    ShareKind,
    plan_share,
    rule_from_storage,
)
from custom_components.peephole.zones import MAX_ZONES

from .conftest import CAMERA, MOTION, RING_BINARY, RING_EVENT

pytestmark = pytest.mark.usefixtures("sources")

FAMILY_ID = "F" * 22
FAMILY = {
    "id": FAMILY_ID,
    "name": "family",
    "clips": True,
    "snapshots": True,
    "max_expiry_hours": 48,
    "remote": False,
    "max_views": None,
}
STREET = {
    "name": "Street",
    "points": [[0, 0], [1, 0], [1, 0.3], [0, 0.3]],
    "enabled": True,
}


async def _start(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_event_ring_and_motion(hass: HomeAssistant) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Front door",
            CONF_CAMERA_ENTITY: CAMERA,
            CONF_RING_ENTITY: RING_EVENT,
            CONF_MOTION_ENTITY: MOTION,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Front door"
    assert result["data"] == {
        CONF_CAMERA_ENTITY: CAMERA,
        CONF_RING_ENTITY: RING_EVENT,
        CONF_MOTION_ENTITY: MOTION,
    }
    # The unique id is the camera's registry id, which survives renames.
    assert result["result"].unique_id == er.async_get(hass).async_get(CAMERA).id


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_binary_sensor_ring_without_motion(hass: HomeAssistant) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Back door",
            CONF_CAMERA_ENTITY: CAMERA,
            CONF_RING_ENTITY: RING_BINARY,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: RING_BINARY}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_unregistered_camera_uses_entity_id_as_unique_id(
    hass: HomeAssistant,
) -> None:
    hass.states.async_set("camera.yaml_only", "idle")
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Gate",
            CONF_CAMERA_ENTITY: "camera.yaml_only",
            CONF_RING_ENTITY: RING_BINARY,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "camera.yaml_only"


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (
            {CONF_CAMERA_ENTITY: "camera.nope", CONF_RING_ENTITY: RING_EVENT},
            {CONF_CAMERA_ENTITY: "entity_not_found"},
        ),
        (
            {CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: "event.nope"},
            {CONF_RING_ENTITY: "entity_not_found"},
        ),
        (
            {
                CONF_CAMERA_ENTITY: CAMERA,
                CONF_RING_ENTITY: RING_EVENT,
                CONF_MOTION_ENTITY: "binary_sensor.nope",
            },
            {CONF_MOTION_ENTITY: "entity_not_found"},
        ),
        (
            {
                CONF_CAMERA_ENTITY: CAMERA,
                CONF_RING_ENTITY: RING_BINARY,
                CONF_MOTION_ENTITY: RING_BINARY,
            },
            {CONF_MOTION_ENTITY: "motion_is_ring"},
        ),
    ],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant, user_input: dict[str, str], errors: dict[str, str]
) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Front door", **user_input}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Front door",
            CONF_CAMERA_ENTITY: CAMERA,
            CONF_RING_ENTITY: RING_EVENT,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (
            {CONF_CAMERA_ENTITY: RING_BINARY, CONF_RING_ENTITY: RING_EVENT},
            {CONF_CAMERA_ENTITY: "not_a_camera"},
        ),
        (
            {CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: "light.porch"},
            {CONF_RING_ENTITY: "not_a_ring_source"},
        ),
        (
            {
                CONF_CAMERA_ENTITY: CAMERA,
                CONF_RING_ENTITY: RING_EVENT,
                CONF_MOTION_ENTITY: RING_EVENT,
            },
            {CONF_MOTION_ENTITY: "not_a_motion_sensor"},
        ),
    ],
)
async def test_wrong_entity_types_get_a_translated_error(
    hass: HomeAssistant, user_input: dict[str, str], errors: dict[str, str]
) -> None:
    """Only the pickers filter by domain; whatever else arrives is named clearly."""
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "X", **user_input}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    translations = await async_get_translations(hass, "en", "config", {DOMAIN})
    for key in errors.values():
        text = translations[f"component.{DOMAIN}.config.error.{key}"]
        assert text.startswith("Choose")


async def test_peephole_camera_cannot_be_a_source(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    peephole_camera = er.async_get(hass).async_get_entity_id(
        "camera", DOMAIN, f"{init_integration.entry_id}_camera"
    )
    assert peephole_camera
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Loop",
            CONF_CAMERA_ENTITY: peephole_camera,
            CONF_RING_ENTITY: RING_EVENT,
        },
    )
    assert result["errors"] == {CONF_CAMERA_ENTITY: "camera_is_peephole"}


async def test_duplicate_camera_aborts(hass: HomeAssistant) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id=er.async_get(hass).async_get(CAMERA).id, data={}
    ).add_to_hass(hass)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: "Again", CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: RING_EVENT},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_changes_sources_and_unhides_old_camera(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    registry = er.async_get(hass)
    assert registry.async_get(CAMERA).hidden_by is er.RegistryEntryHider.INTEGRATION
    other = registry.async_get_or_create(
        "camera", "test_cam", "other-camera", suggested_object_id="garden"
    )
    hass.states.async_set(other.entity_id, "idle")

    result = await init_integration.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_CAMERA_ENTITY: other.entity_id,
            CONF_RING_ENTITY: RING_BINARY,
            CONF_MOTION_ENTITY: MOTION,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.data == {
        CONF_CAMERA_ENTITY: other.entity_id,
        CONF_RING_ENTITY: RING_BINARY,
        CONF_MOTION_ENTITY: MOTION,
    }
    assert init_integration.unique_id == other.id
    assert registry.async_get(CAMERA).hidden_by is None
    assert (
        registry.async_get(other.entity_id).hidden_by
        is er.RegistryEntryHider.INTEGRATION
    )


async def test_reconfigure_same_camera_drops_motion(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    # As the config flow made it: the camera's registry id is the unique id.
    hass.config_entries.async_update_entry(
        init_integration, unique_id=er.async_get(hass).async_get(CAMERA).id
    )
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: RING_EVENT}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.data == {
        CONF_CAMERA_ENTITY: CAMERA,
        CONF_RING_ENTITY: RING_EVENT,
    }
    assert hass.states.get("binary_sensor.front_door_motion") is None


async def test_reconfigure_errors_and_duplicate(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    registry = er.async_get(hass)
    other = registry.async_get_or_create(
        "camera", "test_cam", "taken", suggested_object_id="taken"
    )
    hass.states.async_set(other.entity_id, "idle")
    MockConfigEntry(domain=DOMAIN, unique_id=other.id, data={}).add_to_hass(hass)

    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_CAMERA_ENTITY: "camera.gone", CONF_RING_ENTITY: RING_EVENT},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_CAMERA_ENTITY: "entity_not_found"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_CAMERA_ENTITY: other.entity_id, CONF_RING_ENTITY: RING_EVENT},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert init_integration.data[CONF_CAMERA_ENTITY] == CAMERA


async def _options_step(
    hass: HomeAssistant, entry: MockConfigEntry, step: str
) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert step in result["menu_options"]
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


async def test_options_menu_offers_zone_editing_only_with_zones(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["menu_options"] == [
        "settings",
        "recording",
        "add_zone",
        "add_recipient",
    ]
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_ZONES: [STREET], "recipients": [FAMILY]}
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["menu_options"] == [
        "settings",
        "recording",
        "add_zone",
        "edit_zone",
        "remove_zones",
        "add_recipient",
        "edit_recipient",
        "remove_recipients",
    ]


async def test_options_flow_event_source(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set(
        RING_EVENT, "unknown", {"event_types": ["ring", "long_press"]}
    )
    result = await _options_step(hass, init_integration, "settings")
    assert result["type"] is FlowResultType.FORM
    assert CONF_RING_EVENT_TYPES in result["data_schema"].schema
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_FRAME_INTERVAL: 0.1, CONF_RING_EVENT_TYPES: ["ring", "long_press"]},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options == {
        CONF_SOURCE_MODE: SOURCE_MODE_AUTO,
        CONF_FRAME_INTERVAL: 0.1,
        CONF_RING_EVENT_TYPES: ["ring", "long_press"],
    }


@pytest.mark.parametrize(
    "entry_data", [{CONF_CAMERA_ENTITY: CAMERA, CONF_RING_ENTITY: RING_BINARY}]
)
async def test_options_flow_binary_sensor_source(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_RING_EVENT_TYPES: ["x"], CONF_ZONES: [STREET]}
    )
    await hass.async_block_till_done()
    result = await _options_step(hass, init_integration, "settings")
    assert CONF_RING_EVENT_TYPES not in result["data_schema"].schema
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_FRAME_INTERVAL: 2}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the entry reloads with the new settings
    # Settings keep the zones and drop event types that no longer apply.
    assert init_integration.options == {
        CONF_SOURCE_MODE: SOURCE_MODE_AUTO,
        CONF_FRAME_INTERVAL: 2,
        CONF_ZONES: [STREET],
    }


async def test_options_flow_source_mode_and_live_camera(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Where pictures come from, and a second camera for the live view."""
    hass.states.async_set("camera.porch_sub", "idle")
    result = await _options_step(hass, init_integration, "settings")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SOURCE_MODE: SOURCE_MODE_STILLS,
            CONF_LIVE_CAMERA: "camera.porch_sub",
            CONF_FRAME_INTERVAL: 0.5,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_SOURCE_MODE] == SOURCE_MODE_STILLS
    assert init_integration.options[CONF_LIVE_CAMERA] == "camera.porch_sub"
    peephole = init_integration.runtime_data
    assert peephole.live_source is not None
    assert peephole.live_source.camera_entity_id == "camera.porch_sub"
    assert peephole.view_source is peephole.live_source
    # The form shows what is set; clearing the live camera removes it.
    result = await _options_step(hass, init_integration, "settings")
    key = next(k for k in result["data_schema"].schema if k == CONF_LIVE_CAMERA)
    assert key.description == {"suggested_value": "camera.porch_sub"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_SOURCE_MODE: SOURCE_MODE_AUTO, CONF_FRAME_INTERVAL: 0.5},
    )
    await hass.async_block_till_done()
    assert CONF_LIVE_CAMERA not in init_integration.options
    assert init_integration.runtime_data.live_source is None


@pytest.mark.parametrize(
    ("live_camera", "error"),
    [
        ("sensor.porch", "not_a_camera"),
        ("camera.nowhere", "entity_not_found"),
        ("camera.front_door", "camera_is_peephole"),
    ],
)
async def test_options_flow_live_camera_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    live_camera: str,
    error: str,
) -> None:
    result = await _options_step(hass, init_integration, "settings")
    user_input = {
        CONF_SOURCE_MODE: SOURCE_MODE_STREAM,
        CONF_LIVE_CAMERA: live_camera,
        CONF_FRAME_INTERVAL: 0.5,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_LIVE_CAMERA: error}
    # What was typed is offered again.
    key = next(k for k in result["data_schema"].schema if k == CONF_LIVE_CAMERA)
    assert key.description == {"suggested_value": live_camera}
    assert CONF_LIVE_CAMERA not in init_integration.options


async def test_options_flow_without_ring_state(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.states.async_remove(RING_EVENT)
    result = await _options_step(hass, init_integration, "settings")
    assert CONF_RING_EVENT_TYPES not in result["data_schema"].schema


async def test_options_flow_source_without_ring_type(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set(RING_EVENT, "unknown", {"event_types": ["single", "double"]})
    result = await _options_step(hass, init_integration, "settings")
    key = next(k for k in result["data_schema"].schema if k == CONF_RING_EVENT_TYPES)
    assert key.default() == []


@pytest.mark.parametrize(
    ("user_input", "field", "error"),
    [
        ({"name": "A", "points": "0,0; 1,0"}, "points", "too_few_points"),
        ({"name": "A", "points": "0,0; 1.5,0; 1,1"}, "points", "point_out_of_range"),
        ({"name": "A", "points": "0,0; 1,1; 1,0; 0,1"}, "points", "self_intersecting"),
        (
            {
                "name": "A",
                "points": "; ".join(f"{i / 40},{(i % 2) / 2}" for i in range(40)),
            },
            "points",
            "too_many_points",
        ),
        ({"name": "A", "points": "zero, one"}, "points", "invalid_points"),
        ({"name": "   ", "points": "0,0; 1,0; 1,1"}, "name", "invalid_name"),
        ({"name": "gate\x00", "points": "0,0; 1,0; 1,1"}, "name", "name_characters"),
        ({"name": "street", "points": "0,0; 1,0; 1,1"}, "name", "duplicate_name"),
    ],
)
async def test_add_zone_validation_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    user_input: dict[str, str],
    field: str,
    error: str,
) -> None:
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_ZONES: [STREET]}
    )
    await hass.async_block_till_done()
    result = await _options_step(hass, init_integration, "add_zone")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**user_input, "enabled": True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    # Every placeholder the message may use is provided.
    assert {"zone", "point", "min", "max"} <= set(result["description_placeholders"])
    # Correct it and save.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"name": "Hedge", "points": "0,0.5; 0.2,0.5; 0.2,1; 0,1", "enabled": True},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [z["name"] for z in init_integration.options[CONF_ZONES]] == [
        "Street",
        "Hedge",
    ]


async def test_too_many_zones(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    zones = [{**STREET, "name": f"Z{i}"} for i in range(MAX_ZONES)]
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_ZONES: zones}
    )
    await hass.async_block_till_done()
    result = await _options_step(hass, init_integration, "add_zone")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"name": "One more", "points": "0,0; 1,0; 1,1", "enabled": True},
    )
    assert result["errors"] == {"base": "too_many_zones"}


async def test_edit_and_remove_zones(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hedge = {
        "name": "Hedge",
        "points": [[0, 0.5], [0.2, 0.5], [0.2, 1]],
        "enabled": True,
    }
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_FRAME_INTERVAL: 1, CONF_ZONES: [STREET, hedge]}
    )
    await hass.async_block_till_done()

    result = await _options_step(hass, init_integration, "edit_zone")
    assert result["step_id"] == "edit_zone"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"zone": "Street"}
    )
    assert result["step_id"] == "zone"
    suggested = {
        str(k): k.description["suggested_value"] for k in result["data_schema"].schema
    }
    assert suggested == {
        "name": "Street",
        "points": "0,0; 1,0; 1,0.3; 0,0.3",
        "enabled": True,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"name": "Hedge", "points": "0,0; 1,0; 1,0.4", "enabled": False},
    )
    assert result["errors"] == {"name": "duplicate_name"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"name": "Road", "points": "0,0; 1,0; 1,0.4", "enabled": False},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {
        CONF_FRAME_INTERVAL: 1,
        CONF_ZONES: [
            {
                "name": "Road",
                "points": [[0.0, 0.0], [1.0, 0.0], [1.0, 0.4]],
                "enabled": False,
            },
            hedge,
        ],
    }

    result = await _options_step(hass, init_integration, "remove_zones")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ZONES: ["Road"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options[CONF_ZONES] == [hedge]


async def test_options_flow_recording(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    from custom_components.peephole.const import (
        CONF_FEED_FPS,
        CONF_MAX_CLIP_LENGTH,
        CONF_MAX_STORAGE_MB,
        CONF_MIN_FREE_MB,
        CONF_POST_ROLL,
        CONF_PRE_ROLL,
        CONF_RECORD,
        CONF_RETENTION_DAYS,
    )

    result = await _options_step(hass, init_integration, "recording")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "recording"
    values = {
        CONF_RECORD: True,
        CONF_PRE_ROLL: 3,
        CONF_POST_ROLL: 8,
        CONF_MAX_CLIP_LENGTH: 30,
        CONF_FEED_FPS: 5,
        CONF_RETENTION_DAYS: 14,
        CONF_MAX_STORAGE_MB: 1024,
        CONF_MIN_FREE_MB: 100,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], values
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == values
    await hass.async_block_till_done()
    assert init_integration.runtime_data.recorder is not None
    assert hass.states.get("binary_sensor.front_door_recording") is not None
    await hass.config_entries.async_unload(init_integration.entry_id)


RECIPIENT_FORM = {
    "name": "neighbour",
    "clips": True,
    "snapshots": False,
    "max_expiry_hours": 24,
    "remote": False,
}


@pytest.mark.parametrize(
    ("user_input", "field", "error"),
    [
        ({"name": "   "}, "name", "invalid_recipient"),
        ({"name": "Notification"}, "name", "reserved_recipient"),
        ({"name": "FAMILY"}, "name", "duplicate_recipient"),
        ({"clips": False, "snapshots": False}, "base", "invalid_rule"),
    ],
)
async def test_add_recipient_validation_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    user_input: dict[str, Any],
    field: str,
    error: str,
) -> None:
    hass.config_entries.async_update_entry(
        init_integration, options={"recipients": [FAMILY]}
    )
    await hass.async_block_till_done()
    result = await _options_step(hass, init_integration, "add_recipient")
    assert result["step_id"] == "add_recipient"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**RECIPIENT_FORM, **user_input}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert {"recipient", "max"} <= set(result["description_placeholders"])
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**RECIPIENT_FORM, "max_views": 3}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    family, added = init_integration.options["recipients"]
    assert family == FAMILY
    # A new recipient is a new identity.
    assert RECIPIENT_ID_RE.fullmatch(added.pop("id"))
    assert added == {**RECIPIENT_FORM, "max_views": 3}


async def test_edit_and_remove_recipients(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    neighbour = {**RECIPIENT_FORM, "id": "N" * 22, "max_views": 2}
    hass.config_entries.async_update_entry(
        init_integration, options={"recipients": [FAMILY, neighbour]}
    )
    await hass.async_block_till_done()
    runtime = init_integration.runtime_data
    result = await _options_step(hass, init_integration, "edit_recipient")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"recipient": "neighbour"}
    )
    assert result["step_id"] == "recipient"
    suggested = {
        str(k): k.description["suggested_value"]
        for k in result["data_schema"].schema
        if k.description
    }
    assert suggested["name"] == "neighbour"
    assert suggested["max_views"] == 2
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**RECIPIENT_FORM, "name": "Mrs Jones", "max_expiry_hours": 2},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # Renamed and changed, the same recipient: the identity stays.
    assert init_integration.options["recipients"][1] == {
        **RECIPIENT_FORM,
        "id": "N" * 22,
        "name": "Mrs Jones",
        "max_expiry_hours": 2,
        "max_views": None,
    }
    # Rules are read at every access: no reload for a rule change.
    assert init_integration.runtime_data is runtime

    result = await _options_step(hass, init_integration, "remove_recipients")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"recipients": ["family"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [r["name"] for r in init_integration.options["recipients"]] == ["Mrs Jones"]


async def test_edit_recipient_without_view_limit(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        init_integration, options={"recipients": [FAMILY]}
    )
    await hass.async_block_till_done()
    result = await _options_step(hass, init_integration, "edit_recipient")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"recipient": "family"}
    )
    suggested = {
        str(k): k.description["suggested_value"]
        for k in result["data_schema"].schema
        if k.description
    }
    assert "max_views" not in suggested
    assert suggested["snapshots"] is True


async def test_editing_a_rule_without_identity_gives_it_a_new_one(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A rule stored without an id (shares nothing) gets one when it is edited."""
    hass.config_entries.async_update_entry(
        init_integration, options={"recipients": [{**FAMILY, "id": None}]}
    )
    await hass.async_block_till_done()
    result = await _options_step(hass, init_integration, "edit_recipient")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"recipient": "family"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**RECIPIENT_FORM, "name": "family"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (stored,) = init_integration.options["recipients"]
    assert RECIPIENT_ID_RE.fullmatch(stored["id"])


@pytest.mark.parametrize("step", ["edit_recipient", "remove_recipients"])
async def test_rule_change_is_not_saved_when_the_shares_cannot_be(
    hass: HomeAssistant, init_integration: MockConfigEntry, step: str
) -> None:
    """The shares are narrowed on disk before the rule changes, or it does not."""
    hass.config_entries.async_update_entry(
        init_integration, options={"recipients": [FAMILY]}
    )
    await hass.async_block_till_done()
    registry = async_get_registry(hass)
    share = plan_share(
        rule_from_storage(FAMILY, init_integration.entry_id),
        recipient="family",
        entry_id=init_integration.entry_id,
        kind=ShareKind.SNAPSHOT,
        now=dt_util.utcnow(),
    )
    await registry.async_add(share, None)
    result = await _options_step(hass, init_integration, step)
    if step == "edit_recipient":
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"recipient": "family"}
        )
        # No more snapshots for family: the snapshot share ends.
        user_input: dict[str, Any] = {**RECIPIENT_FORM, "name": "family"}
    else:
        user_input = {"recipients": ["family"]}
    with patch.object(Store, "_async_write_data", side_effect=WriteError("disk")):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], user_input
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "shares_not_saved"}
    assert init_integration.options["recipients"] == [FAMILY]
    # Once the disk works again, the same change goes through, shares first.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert registry.shares[share.id].ended is not None
