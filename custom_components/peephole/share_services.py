"""Peephole's sharing actions (administrators only).

``create_share``, ``share_snapshot``, ``revoke_share``, ``list_shares`` and
``export_clips``: thin handlers over the share registry (``share_registry``), the
rules (``sharing``) and the shared files (``share_media``). The Doorbell panel
(``panel_shares``, ``panel_api``) shares and exports through the same functions
(:func:`async_create_share`, :func:`async_export`), so a link or an export made
in the panel is the one the action makes.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
import inspect
from typing import Any, Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN, LOGGER
from .doorbell import PeepholeConfigEntry
from .services import ATTR_CONFIG_ENTRY_ID, async_get_entry
from .share_media import async_export_clips, async_take_snapshot, check_clips
from .share_registry import AuditWriteError, ShareRegistry, async_get_registry
from .sharing import (
    CONF_RECIPIENTS,
    MAX_CLIPS_PER_SHARE,
    MAX_EXPIRY,
    MAX_VIEWS,
    NOTIFICATION_MAX_EXPIRY,
    NOTIFICATION_RECIPIENT,
    RecipientRule,
    Share,
    ShareKind,
    SharingError,
    notification_rule,
    plan_share,
    rule_named,
    rules_from_options,
)

__all__ = [
    "async_create_share",
    "async_export",
    "async_get_registry",
    "async_setup_share_services",
]

SERVICE_CREATE_SHARE: Final = "create_share"
SERVICE_REVOKE_SHARE: Final = "revoke_share"
SERVICE_LIST_SHARES: Final = "list_shares"
SERVICE_EXPORT_CLIPS: Final = "export_clips"
SERVICE_SHARE_SNAPSHOT: Final = "share_snapshot"
ATTR_RECIPIENT: Final = "recipient"
ATTR_CLIP_IDS: Final = "clip_ids"
ATTR_SNAPSHOT: Final = "snapshot"
ATTR_EXPIRES_IN: Final = "expires_in"
ATTR_MAX_VIEWS: Final = "max_views"
ATTR_ALLOW_REMOTE: Final = "allow_remote"
ATTR_SHARE_ID: Final = "share_id"

_CLIP_IDS = vol.All(cv.ensure_list, [cv.string], vol.Length(max=MAX_CLIPS_PER_SHARE))

CREATE_SHARE_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_RECIPIENT): cv.string,
        vol.Optional(ATTR_CLIP_IDS): _CLIP_IDS,
        vol.Optional(ATTR_SNAPSHOT, default=False): cv.boolean,
        # Hours; the recipient's rule may allow less (checked by plan_share).
        vol.Optional(ATTR_EXPIRES_IN): vol.All(
            vol.Coerce(float),
            vol.Range(min=0, min_included=False, max=MAX_EXPIRY.days * 24),
        ),
        vol.Optional(ATTR_MAX_VIEWS): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=MAX_VIEWS)
        ),
        vol.Optional(ATTR_ALLOW_REMOTE, default=False): cv.boolean,
    }
)
REVOKE_SHARE_SCHEMA: Final = vol.Schema({vol.Required(ATTR_SHARE_ID): cv.string})
LIST_SHARES_SCHEMA: Final = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})
EXPORT_CLIPS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_CLIP_IDS): vol.All(_CLIP_IDS, vol.Length(min=1)),
        vol.Optional(ATTR_SHARE_ID): cv.string,
    }
)
SHARE_SNAPSHOT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        # Minutes.
        vol.Optional(
            ATTR_EXPIRES_IN, default=NOTIFICATION_MAX_EXPIRY.seconds // 60
        ): vol.All(
            vol.Coerce(float),
            vol.Range(
                min=0, min_included=False, max=NOTIFICATION_MAX_EXPIRY.seconds // 60
            ),
        ),
    }
)


# --- actions ------------------------------------------------------------------------------


def _validation_error(err: SharingError) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.key,
        translation_placeholders=err.placeholders,
    )


async def _async_registry(hass: HomeAssistant) -> ShareRegistry:
    registry = async_get_registry(hass)
    await registry.async_load()
    await registry.async_prune()
    return registry


async def _async_publish(
    registry: ShareRegistry,
    entry: PeepholeConfigEntry,
    share: Share,
    image: bytes | None,
) -> dict[str, Any]:
    try:
        await registry.async_add(share, image)
    except AuditWriteError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="share_not_saved"
        ) from err
    links = registry.links(entry, share)
    page = registry.page_link(entry, share)
    LOGGER.info(
        "%s: shared %s with %s until %s",
        entry.title,
        ", ".join(share.resources),
        share.recipient,
        share.expires.isoformat(),
    )
    return {
        "share_id": share.id,
        "recipient": share.recipient,
        "kind": share.kind.value,
        "expires": share.expires.isoformat(),
        "remote": share.remote,
        "max_views": share.max_views,
        "url": links[0]["url"],
        "links": links,
        # The page the recipient opens: the clips with a player, when the link
        # ends, views left (the raw file links above keep working for scripts).
        "page_url": page["url"],
    }


async def _async_create_share(call: ServiceCall) -> ServiceResponse:
    """Share named clips, or one masked snapshot, with one named recipient."""
    entry = async_get_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    recipient: str = call.data[ATTR_RECIPIENT]
    rules = rules_from_options(entry.options.get(CONF_RECIPIENTS), entry.entry_id)
    return await async_create_share(
        call.hass,
        entry,
        rule_named(rules, recipient),
        recipient=recipient,
        clip_ids=call.data.get(ATTR_CLIP_IDS, []),
        snapshot=call.data[ATTR_SNAPSHOT],
        expires_in=call.data.get(ATTR_EXPIRES_IN),
        max_views=call.data.get(ATTR_MAX_VIEWS),
        remote=call.data[ATTR_ALLOW_REMOTE],
        user_id=call.context.user_id,
    )


async def async_create_share(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    rule: RecipientRule | None,
    *,
    recipient: str,
    clip_ids: list[str],
    snapshot: bool,
    expires_in: float | None,
    max_views: int | None,
    remote: bool,
    user_id: str | None,
) -> dict[str, Any]:
    """Share clips, or one masked snapshot, under a recipient's rule.

    ``rule`` is the recipient's (the action finds it by name, the panel by
    identity; None: there is no such recipient, and ``recipient`` says who was
    asked for); ``expires_in`` is in hours.
    """
    registry = await _async_registry(hass)
    if snapshot == bool(clip_ids):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="clips_or_snapshot"
        )
    try:
        share = plan_share(
            rule,
            recipient=recipient,
            entry_id=entry.entry_id,
            kind=ShareKind.SNAPSHOT if snapshot else ShareKind.CLIPS,
            clip_ids=clip_ids,
            expires_in=timedelta(hours=expires_in) if expires_in is not None else None,
            max_views=max_views,
            remote=remote,
            now=dt_util.utcnow(),
            created_by=user_id,
        )
    except SharingError as err:
        raise _validation_error(err) from err
    image = None
    if snapshot:
        image = await async_take_snapshot(entry)
    else:
        check_clips(entry, list(share.clip_ids))
    return await _async_publish(registry, entry, share, image)


async def _async_share_snapshot(call: ServiceCall) -> ServiceResponse:
    """Share one masked snapshot for a notification: local only, 15 minutes at most."""
    hass = call.hass
    entry = async_get_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
    registry = await _async_registry(hass)
    share = plan_share(
        notification_rule(entry.entry_id),
        recipient=NOTIFICATION_RECIPIENT,
        entry_id=entry.entry_id,
        kind=ShareKind.SNAPSHOT,
        expires_in=timedelta(minutes=call.data[ATTR_EXPIRES_IN]),
        now=dt_util.utcnow(),
        builtin=True,
        created_by=call.context.user_id,
    )
    image = await async_take_snapshot(entry)
    return await _async_publish(registry, entry, share, image)


async def _async_revoke_share(call: ServiceCall) -> None:
    """End a share at once."""
    registry = await _async_registry(call.hass)
    share_id: str = call.data[ATTR_SHARE_ID]
    if await registry.async_revoke(share_id) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_share",
            translation_placeholders={"share_id": share_id},
        )
    LOGGER.info("Share %s revoked", share_id)


async def _async_list_shares(call: ServiceCall) -> ServiceResponse:
    """List the shares (of one entry, or all), newest first; never a token."""
    registry = await _async_registry(call.hass)
    entry_id = call.data.get(ATTR_CONFIG_ENTRY_ID)
    if entry_id is not None:
        async_get_entry(call.hass, entry_id)
    now = dt_util.utcnow()
    shares = sorted(registry.shares.values(), key=lambda s: s.created, reverse=True)
    return {
        "shares": [
            registry.describe(share, now)
            for share in shares
            if entry_id is None or share.entry_id == entry_id
        ],
        # Requests for links that do not exist, counted per client and minute.
        "unknown_links": registry.unknown_links(),
    }


async def _async_export_clips(call: ServiceCall) -> ServiceResponse:
    """Write a zip of clips (as stored, masked) with a manifest of SHA-256 hashes."""
    return await async_export(
        call.hass,
        async_get_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID]),
        call.data[ATTR_CLIP_IDS],
        call.data.get(ATTR_SHARE_ID),
    )


async def async_export(
    hass: HomeAssistant,
    entry: PeepholeConfigEntry,
    clip_ids: list[str],
    share_id: str | None = None,
) -> dict[str, Any]:
    """Export clips of an entry, with a share's record if one is named."""
    registry = await _async_registry(hass)
    clip_ids = list(dict.fromkeys(clip_ids))
    check_clips(entry, clip_ids)
    share_record = None
    if share_id is not None:
        share = registry.shares.get(share_id)
        if share is None or share.entry_id != entry.entry_id:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_share",
                translation_placeholders={"share_id": share_id},
            )
        share_record = registry.describe(share, dt_util.utcnow(), records=False)
    result = await async_export_clips(hass, entry, clip_ids, share_record)
    LOGGER.info(
        "%s: exported %s clip(s) to %s", entry.title, len(clip_ids), result.path
    )
    return {
        "path": str(result.path),
        "file": result.path.name,
        "sha256": result.sha256,
        "clips": result.manifest["clips"],
    }


# --- registration --------------------------------------------------------------------------

_ADMIN_RESPONSES = (
    "supports_response" in inspect.signature(async_register_admin_service).parameters
)


async def _async_admin_only(handler: Any, call: ServiceCall) -> ServiceResponse:
    """Run ``handler`` for administrators only (HA < 2025.x has no admin responses)."""
    if call.context.user_id:
        user = await call.hass.auth.async_get_user(call.context.user_id)
        if user is None:
            raise UnknownUser(context=call.context)
        if not user.is_admin:
            raise Unauthorized(context=call.context)
    result: ServiceResponse = await handler(call)
    return result


@callback
def _async_register(
    hass: HomeAssistant,
    service: str,
    handler: Any,
    schema: vol.Schema,
    supports_response: SupportsResponse,
) -> None:
    if _ADMIN_RESPONSES:
        register: Any = async_register_admin_service
        register(hass, DOMAIN, service, handler, schema, supports_response)
    else:  # pragma: no cover - depends on the HA version
        hass.services.async_register(
            DOMAIN,
            service,
            partial(_async_admin_only, handler),
            schema,
            supports_response,
        )


@callback
def async_setup_share_services(hass: HomeAssistant) -> None:
    """Register the sharing actions (administrators only)."""
    async_get_registry(hass)
    for service, handler, schema, response in (
        (
            SERVICE_CREATE_SHARE,
            _async_create_share,
            CREATE_SHARE_SCHEMA,
            SupportsResponse.ONLY,
        ),
        (
            SERVICE_SHARE_SNAPSHOT,
            _async_share_snapshot,
            SHARE_SNAPSHOT_SCHEMA,
            SupportsResponse.ONLY,
        ),
        (
            SERVICE_REVOKE_SHARE,
            _async_revoke_share,
            REVOKE_SHARE_SCHEMA,
            SupportsResponse.NONE,
        ),
        (
            SERVICE_LIST_SHARES,
            _async_list_shares,
            LIST_SHARES_SCHEMA,
            SupportsResponse.ONLY,
        ),
        (
            SERVICE_EXPORT_CLIPS,
            _async_export_clips,
            EXPORT_CLIPS_SCHEMA,
            SupportsResponse.ONLY,
        ),
    ):
        _async_register(hass, service, handler, schema, response)
