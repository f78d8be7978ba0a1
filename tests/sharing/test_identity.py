"""A share belongs to its recipient's identity, and a rule change never gives back.

Against a real HA core: the entry migration gives recipients identities, shares made
before are bound once at set-up, and every rule change (options flow, another
writer of the options through the update listener, or a change made while the entry
was not loaded) takes from the links for good, across reloads and restarts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.file import WriteError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util import mock_real_ip
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole.share_registry import (
    STORAGE_KEY,
    async_get_registry,
)
from custom_components.peephole.sharing import RECIPIENT_ID_RE

from .conftest import (
    add_clip,
    call,
    change_rule,
    forget_registry,
    rule_of,
    rules,
    set_rules,
)

FORM_DEFAULTS = {
    "clips": True,
    "snapshots": False,
    "max_expiry_hours": 24,
    "remote": False,
}


# --- helpers: the options flow as the owner uses it --------------------------------


async def _options(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> Any:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


def _form(rule: dict[str, Any], **changes: Any) -> dict[str, Any]:
    form = {key: rule.get(key, default) for key, default in FORM_DEFAULTS.items()}
    form["name"] = rule["name"]
    if rule.get("max_views"):
        form["max_views"] = rule["max_views"]
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


async def edit_recipient(
    hass: HomeAssistant, entry: MockConfigEntry, recipient: str, **changes: Any
) -> None:
    """Edit a recipient's rule in the options flow (``name=`` renames it)."""
    current = rule_of(entry, recipient)
    result = await _options(hass, entry, "edit_recipient")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"recipient": recipient}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _form(current, **changes)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    await hass.async_block_till_done()


async def remove_recipient(
    hass: HomeAssistant, entry: MockConfigEntry, name: str
) -> None:
    """Remove a recipient in the options flow."""
    result = await _options(hass, entry, "remove_recipients")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"recipients": [name]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def add_recipient(
    hass: HomeAssistant, entry: MockConfigEntry, name: str, **rule: Any
) -> None:
    """Add a recipient in the options flow."""
    result = await _options(hass, entry, "add_recipient")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _form({"name": name, **rule})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    await hass.async_block_till_done()


async def restart(hass: HomeAssistant, entry: MockConfigEntry, how: str) -> None:
    """Reload the entry, or forget the registry too and read it back from its store."""
    if how == "none":
        return
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    if how == "store":
        await forget_registry(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def share(
    hass: HomeAssistant, entry: MockConfigEntry, recipient: str, **extra: Any
) -> str:
    """Share a new clip with ``recipient``; return the link's path."""
    clip = await add_clip(hass, entry)
    result = await call(
        hass,
        "create_share",
        {
            "config_entry_id": entry.entry_id,
            "recipient": recipient,
            "clip_ids": [clip],
            **extra,
        },
        return_response=True,
    )
    return str(result["links"][0]["path"])


def last_reason(hass: HomeAssistant) -> str:
    """The reason of the newest audited refusal of a real link."""
    return async_get_registry(hass).audit.records[-1].reason


# --- identity ------------------------------------------------------------------------


async def test_migration_gives_every_recipient_an_identity(
    hass: HomeAssistant, integration: MockConfigEntry
) -> None:
    assert integration.minor_version == 2
    stored = rules(integration)
    assert [r["name"] for r in stored] == ["family", "insurer"]
    ids = [r["id"] for r in stored]
    assert all(RECIPIENT_ID_RE.fullmatch(i) for i in ids)
    assert len(set(ids)) == 2
    # Idempotent: a reload keeps them.
    await restart(hass, integration, "store")
    assert [r["id"] for r in rules(integration)] == ids


@pytest.mark.parametrize("how", ["none", "reload", "store"])
async def test_removed_then_added_again_under_the_same_name_gets_no_old_link(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    how: str,
) -> None:
    client = await hass_client_no_auth()
    link = await share(hass, integration, "family")
    assert (await client.get(link)).status == HTTPStatus.OK
    old_id = rule_of(integration, "family").get("id")
    await remove_recipient(hass, integration, "family")
    await restart(hass, integration, how)
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    # Someone else (or the same person months later) under the same name.
    await add_recipient(hass, integration, "family", snapshots=True)
    await restart(hass, integration, how)
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    assert last_reason(hass) == "no_rule"
    assert rule_of(integration, "family")["id"] != old_id
    # The new family gets new links that work.
    assert (await client.get(await share(hass, integration, "family"))).status == 200


@pytest.mark.parametrize("how", ["none", "reload", "store"])
async def test_renaming_keeps_the_links(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    how: str,
) -> None:
    client = await hass_client_no_auth()
    link = await share(hass, integration, "family")
    await edit_recipient(hass, integration, "family", name="The Smiths")
    await restart(hass, integration, how)
    assert (await client.get(link)).status == HTTPStatus.OK
    listed = await call(hass, "list_shares", {}, return_response=True)
    assert listed["shares"][0]["recipient"] == "The Smiths"
    await edit_recipient(hass, integration, "The Smiths", name="family")
    await restart(hass, integration, how)
    assert (await client.get(link)).status == HTTPStatus.OK
    # A new recipient taking the old name of a renamed one gets nothing.
    await edit_recipient(hass, integration, "family", name="The Smiths")
    await add_recipient(hass, integration, "family")
    assert (await client.get(link)).status == HTTPStatus.OK  # still the Smiths'
    await remove_recipient(hass, integration, "The Smiths")
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND


async def test_a_rule_without_identity_shares_nothing(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    client = await hass_client_no_auth()
    link = await share(hass, integration, "family")
    family = rule_of(integration, "family")
    # Another writer stores the rule without its identity: it is a stranger now.
    await set_rules(
        hass,
        integration,
        [
            {k: v for k, v in family.items() if k != "id"},
            rule_of(integration, "insurer"),
        ],
    )
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    assert last_reason(hass) == "no_rule"
    with pytest.raises(Exception, match=r"unknown_recipient|No sharing rule"):
        await share(hass, integration, "family")
    # Putting the identity back gives nothing back either: the link ended.
    await set_rules(hass, integration, [family, rule_of(integration, "insurer")])
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND


# --- shares made before identities ----------------------------------------------------

ENTRY_ID = "0123456789abcdef0123456789abcdef"
LEGACY_FAMILY = "L" * 22
LEGACY_GHOST = "G" * 22


@pytest.fixture
def config_entry(entry_data: dict[str, Any], config_entry: MockConfigEntry) -> Any:
    """The sharing entry, with a known id (legacy shares name it)."""
    return MockConfigEntry(
        domain=config_entry.domain,
        title=config_entry.title,
        data=config_entry.data,
        options=config_entry.options,
        unique_id=config_entry.unique_id,
        entry_id=ENTRY_ID,
    )


def _legacy_share(share_id: str, recipient: str) -> dict[str, Any]:
    """A snapshot share as Peephole stored it before recipients had identities."""
    now = dt_util.utcnow().replace(microsecond=0)
    return {
        "id": share_id,
        "entry_id": ENTRY_ID,
        "recipient": recipient,
        "kind": "snapshot",
        "resources": ["snapshot.jpg"],
        "created": now.isoformat(),
        "expires": (now + timedelta(hours=24)).isoformat(),
        "remote": False,
        "max_views": None,
        "views": 0,
        "revoked": None,
        "builtin": False,
        "created_by": None,
    }


@pytest.fixture
async def legacy(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    http: None,
    sources: Any,
    config_entry: MockConfigEntry,
    clips_dir: Path,
) -> MockConfigEntry:
    """Peephole as the previous version left it: rules without ids, shares by name."""
    assert config_entry.minor_version == 1
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {
            "shares": [
                _legacy_share(LEGACY_FAMILY, "Family"),
                _legacy_share(LEGACY_GHOST, "ghost"),
            ],
            "audit": [],
        },
    }
    shared = clips_dir / ENTRY_ID / "shared"
    shared.mkdir(parents=True)
    for share_id in (LEGACY_FAMILY, LEGACY_GHOST):
        (shared / f"{share_id}.jpg").write_bytes(b"\xff\xd8 masked \xff\xd9")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


def _link(hass: HomeAssistant, entry: MockConfigEntry, share_id: str) -> str:
    registry = async_get_registry(hass)
    return registry.links(entry, registry.shares[share_id])[0]["path"]


async def test_old_shares_are_bound_once_at_set_up(
    hass: HomeAssistant,
    legacy: MockConfigEntry,
    hass_storage: dict[str, Any],
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    client = await hass_client_no_auth()
    family_id = rule_of(legacy, "family")["id"]
    # Bound to the rule that had its name (compared as names are) at set-up...
    stored = {s["id"]: s for s in hass_storage[STORAGE_KEY]["data"]["shares"]}
    assert stored[LEGACY_FAMILY]["recipient_id"] == family_id
    assert stored[LEGACY_FAMILY]["ended"] is None
    # ... or ended, and saved, when no rule had it.
    assert stored[LEGACY_GHOST]["recipient_id"] is None
    assert stored[LEGACY_GHOST]["ended_reason"] == "no_rule"
    family_link = _link(hass, legacy, LEGACY_FAMILY)
    ghost_link = _link(hass, legacy, LEGACY_GHOST)
    assert (await client.get(family_link)).status == HTTPStatus.OK
    assert (await client.get(ghost_link)).status == HTTPStatus.NOT_FOUND
    # A recipient called ghost now is not the one the old share was made for.
    await add_recipient(hass, legacy, "ghost", snapshots=True)
    assert (await client.get(ghost_link)).status == HTTPStatus.NOT_FOUND
    # Bound once: the family share goes with its recipient, not with the name.
    await remove_recipient(hass, legacy, "family")
    await add_recipient(hass, legacy, "family", snapshots=True)
    await restart(hass, legacy, "store")
    assert (await client.get(family_link)).status == HTTPStatus.NOT_FOUND
    assert last_reason(hass) == "no_rule"


# --- the ratchet ---------------------------------------------------------------------

Step = Callable[[HomeAssistant, MockConfigEntry], Awaitable[None]]


async def _ticked(freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(timedelta(hours=2))


@pytest.mark.parametrize("how", ["none", "reload", "store"])
@pytest.mark.parametrize(
    ("recipient", "extra", "narrow", "widen", "reason"),
    [
        # Remote access (from a remote address).
        (
            "insurer",
            {"allow_remote": True},
            {"remote": False},
            {"remote": True},
            "not_local",
        ),
        # Expiry (checked two hours later).
        ("family", {}, {"max_expiry_hours": 1}, {"max_expiry_hours": 48}, "expired"),
        # Views (the link was opened once).
        ("family", {}, {"max_views": 1}, {"max_views": None}, "view_limit"),
        # Clips no longer allowed.
        ("family", {}, {"clips": False}, {"clips": True}, "rule"),
    ],
)
async def test_narrow_then_widen_gives_nothing_back(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    recipient: str,
    extra: dict[str, Any],
    narrow: dict[str, Any],
    widen: dict[str, Any],
    reason: str,
    how: str,
) -> None:
    if reason == "not_local":
        mock_real_ip(hass.http.app)("203.0.113.7")
    client = await hass_client_no_auth()
    link = await share(hass, integration, recipient, **extra)
    assert (await client.get(link)).status == HTTPStatus.OK
    await edit_recipient(hass, integration, recipient, **narrow)
    await restart(hass, integration, how)
    freezer.tick(timedelta(hours=2))
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    assert last_reason(hass) == reason
    await edit_recipient(hass, integration, recipient, **widen)
    await restart(hass, integration, how)
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    assert last_reason(hass) == reason
    # The widened rule is for new links.
    assert (
        await client.get(await share(hass, integration, recipient, **extra))
    ).status == 200


@pytest.mark.parametrize("how", ["none", "reload", "store"])
async def test_camera_taken_from_a_rule_is_not_given_back(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    how: str,
) -> None:
    """The cameras of a rule are not in the options flow: another writer changes them."""
    client = await hass_client_no_auth()
    link = await share(hass, integration, "family")
    await change_rule(hass, integration, "family", cameras=["another-entry"])
    await restart(hass, integration, how)
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    await change_rule(hass, integration, "family", cameras=[integration.entry_id])
    await restart(hass, integration, how)
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    assert last_reason(hass) == "rule"


async def test_rules_changed_while_not_loaded_are_applied_at_set_up(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    hass_storage: dict[str, Any],
) -> None:
    """Set-up narrows too: a change made while the entry was not running."""
    mock_real_ip(hass.http.app)("203.0.113.7")
    client = await hass_client_no_auth()
    link = await share(hass, integration, "insurer", allow_remote=True)
    share_id = next(iter(async_get_registry(hass).shares))
    assert await hass.config_entries.async_unload(integration.entry_id)
    await hass.async_block_till_done()
    await change_rule(hass, integration, "insurer", remote=False)  # no listener now
    stored = {s["id"]: s for s in hass_storage[STORAGE_KEY]["data"]["shares"]}
    assert stored[share_id]["remote"] is True
    await forget_registry(hass)
    assert await hass.config_entries.async_setup(integration.entry_id)
    await hass.async_block_till_done()
    stored = {s["id"]: s for s in hass_storage[STORAGE_KEY]["data"]["shares"]}
    assert stored[share_id]["remote"] is False
    await change_rule(hass, integration, "insurer", remote=True)
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    assert last_reason(hass) == "not_local"


async def test_the_options_flow_narrows_on_disk_before_it_saves(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """With the entry not loaded (no update listener), the flow alone narrows."""
    await share(hass, integration, "family")
    share_id = next(iter(async_get_registry(hass).shares))
    assert await hass.config_entries.async_unload(integration.entry_id)
    await hass.async_block_till_done()
    await edit_recipient(hass, integration, "family", max_expiry_hours=1)
    stored = {s["id"]: s for s in hass_storage[STORAGE_KEY]["data"]["shares"]}
    created = dt_util.parse_datetime(stored[share_id]["created"])
    assert created is not None
    assert stored[share_id]["expires"] == (created + timedelta(hours=1)).isoformat()
    await remove_recipient(hass, integration, "family")
    stored = {s["id"]: s for s in hass_storage[STORAGE_KEY]["data"]["shares"]}
    assert stored[share_id]["ended_reason"] == "no_rule"


async def test_narrowing_that_cannot_be_written_is_written_with_the_next_change(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another writer narrows while the disk fails: narrowed now, on disk later."""
    client = await hass_client_no_auth()
    link = await share(hass, integration, "family")
    share_id = next(iter(async_get_registry(hass).shares))
    with patch.object(Store, "_async_write_data", side_effect=WriteError("disk")):
        await change_rule(hass, integration, "family", clips=False)
    assert "could not be saved" in caplog.text
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    stored = {s["id"]: s for s in hass_storage[STORAGE_KEY]["data"]["shares"]}
    assert stored[share_id]["ended"] is None  # not on disk yet
    # Widening is a change too: it gives nothing back, and writes what was taken.
    await change_rule(hass, integration, "family", clips=True)
    stored = {s["id"]: s for s in hass_storage[STORAGE_KEY]["data"]["shares"]}
    assert stored[share_id]["ended_reason"] == "rule"
    await restart(hass, integration, "store")
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND


async def test_a_removed_doorbell_s_links_are_no_links(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    client = await hass_client_no_auth()
    link = await share(hass, integration, "family")
    await hass.config_entries.async_remove(integration.entry_id)
    await hass.async_block_till_done()
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    (bucket,) = async_get_registry(hass).audit.junk
    assert bucket.reasons == {"unknown_share": 1}


async def test_long_ended_shares_are_forgotten_with_their_audit(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    client = await hass_client_no_auth()
    link = await share(hass, integration, "family")
    assert (await client.get(link)).status == HTTPStatus.OK
    registry = async_get_registry(hass)
    share_id = next(iter(registry.shares))
    assert registry.audit.for_share(share_id).allowed_total == 1
    freezer.tick(timedelta(days=32))
    await registry.async_prune()
    assert share_id not in registry.shares
    assert share_id not in registry.audit.shares


@pytest.mark.parametrize(
    ("version", "minor_version", "state"),
    [
        (2, 1, ConfigEntryState.MIGRATION_ERROR),
        (1, 2, ConfigEntryState.LOADED),
        (1, 3, ConfigEntryState.LOADED),  # a newer minor version reads the same
    ],
)
async def test_migration_only_from_older_entries(
    hass: HomeAssistant,
    http: None,
    sources: Any,
    config_entry: MockConfigEntry,
    version: int,
    minor_version: int,
    state: ConfigEntryState,
) -> None:
    """A newer entry is refused; an entry at 1.2 or later is left as it is."""
    entry = MockConfigEntry(
        domain=config_entry.domain,
        title=config_entry.title,
        data=config_entry.data,
        options=config_entry.options,
        version=version,
        minor_version=minor_version,
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is state
    assert (entry.version, entry.minor_version) == (version, minor_version)
    # Rules without identities stay without: they share nothing.
    assert all("id" not in rule for rule in entry.options["recipients"])
