"""Clients that guess links: Peephole's own limit, HA's ip_ban, and no token in logs.

Against HA's real HTTP server with its real ban middleware (``http:
login_attempts_threshold``) and forwarded middleware. Only the reverse DNS lookup
HA's ban code makes is replaced (the ``reverse_lookups`` fixture records them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from datetime import timedelta
from http import HTTPStatus
import inspect
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import make_mocked_request
from freezegun.api import FrozenDateTimeFactory
from homeassistant import bootstrap
from homeassistant.components.http.ban import KEY_BAN_MANAGER
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util import mock_real_ip
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.peephole import share_view
from custom_components.peephole.share_guard import (
    GUESSES_PER_MINUTE,
    REPORTS_PER_MINUTE,
)
from custom_components.peephole.share_registry import async_get_registry

from .conftest import add_clip, call

pytestmark = pytest.mark.usefixtures("integration")

GUESSER = "192.168.1.66"
FRIEND = "192.168.1.20"
ACCESS_LOGGER = "aiohttp.access"


@pytest.fixture
async def http(
    hass: HomeAssistant, http_config: dict[str, Any], tmp_path: Path
) -> None:
    """HA's HTTP server; bans are written to a config folder of the test's own."""
    hass.config.config_dir = str(tmp_path)
    assert await async_setup_component(hass, "http", {"http": http_config})


@pytest.fixture
def access_log_as_ha_sets_it() -> Generator[logging.Logger]:
    """aiohttp's access logger at WARNING, as Home Assistant's start-up leaves it."""
    logger = logging.getLogger(ACCESS_LOGGER)
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield logger
    logger.setLevel(level)


async def _link(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    clip = await add_clip(hass, entry, b"evidence")
    result = await call(
        hass,
        "create_share",
        {"config_entry_id": entry.entry_id, "recipient": "family", "clip_ids": [clip]},
        return_response=True,
    )
    return str(result["links"][0]["path"])


def _guesses(link: str) -> list[str]:
    """Requests for links that do not exist, made from a real link."""
    base, token = link.split("?token=")
    share_id = base.split("/")[4]
    return [
        f"{base}?token={token}x",
        base.replace(share_id, "A" * 22) + f"?token={token}",
        f"{base}?token={token}&token={token}",
        base,
    ]


async def test_a_guessing_client_is_refused_for_the_rest_of_the_minute(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    reverse_lookups: list[str],
) -> None:
    set_ip = mock_real_ip(hass.http.app)
    client = await hass_client_no_auth()
    link = await _link(hass, integration)
    # At the start of a minute (the guesses all fall in it).
    now = dt_util.utcnow()
    freezer.move_to(now.replace(second=0, microsecond=0) + timedelta(minutes=1))
    set_ip(GUESSER)
    guesses = _guesses(link)
    for i in range(GUESSES_PER_MINUTE):
        assert (await client.get(guesses[i % len(guesses)])).status == 404
    # Even the real link: refused unseen, and it is counted as another guess.
    assert (await client.get(link)).status == HTTPStatus.NOT_FOUND
    registry = async_get_registry(hass)
    assert registry.audit.for_share(link.split("/")[4]).allowed_total == 0
    (bucket,) = registry.audit.junk
    assert bucket.reasons["rate_limited"] == 1
    assert bucket.count == GUESSES_PER_MINUTE + 1
    # Reported to HA a few times, not once per guess.
    assert reverse_lookups == [GUESSER] * REPORTS_PER_MINUTE
    # Someone else is not slowed down by it.
    set_ip(FRIEND)
    assert (await client.get(link)).status == HTTPStatus.OK
    # The next minute, the guesser's link works (no ban is configured).
    set_ip(GUESSER)
    freezer.tick(timedelta(minutes=1))
    assert (await client.get(link)).status == HTTPStatus.OK


@pytest.mark.parametrize("http_config", [{"login_attempts_threshold": 3}])
async def test_ha_ip_ban_bans_a_guessing_client(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    set_ip = mock_real_ip(hass.http.app)
    client = await hass_client_no_auth()
    link = await _link(hass, integration)
    token = link.split("?token=")[1]
    set_ip(GUESSER)
    for guess in _guesses(link)[:3]:
        assert (await client.get(guess)).status == HTTPStatus.NOT_FOUND
    # HA's ban middleware answers now, before any view: for every path.
    assert (await client.get(link)).status == HTTPStatus.FORBIDDEN
    assert (await client.get("/api/")).status == HTTPStatus.FORBIDDEN
    bans = hass.http.app[KEY_BAN_MANAGER].ip_bans_lookup
    assert [str(address) for address in bans] == [GUESSER]
    assert GUESSER in (tmp_path / "ip_bans.yaml").read_text()
    # A real link from another client still works.
    set_ip(FRIEND)
    assert (await client.get(link)).status == HTTPStatus.OK
    # HA logged the requests like failed logins, with the URL but not the token.
    warnings = [r.getMessage() for r in caplog.records if r.name.endswith("http.ban")]
    assert any("/api/peephole/share/" in message for message in warnings)
    assert any(f"Banned IP {GUESSER}" in message for message in warnings)
    assert all(token not in message for message in warnings)


@pytest.mark.parametrize(
    "http_config",
    [
        {
            "use_x_forwarded_for": True,
            "trusted_proxies": ["127.0.0.1"],
            "login_attempts_threshold": 2,
        }
    ],
)
async def test_behind_a_proxy_the_client_is_banned_not_the_proxy(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    client = await hass_client_no_auth()
    link = await _link(hass, integration)
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    for guess in _guesses(link)[:2]:
        assert (await client.get(guess, headers=guesser)).status == 404
    assert (await client.get(link, headers=guesser)).status == HTTPStatus.FORBIDDEN
    bans = hass.http.app[KEY_BAN_MANAGER].ip_bans_lookup
    assert [str(address) for address in bans] == ["203.0.113.9"]
    friend = {"X-Forwarded-For": FRIEND}
    assert (await client.get(link, headers=friend)).status == HTTPStatus.OK


@pytest.mark.usefixtures("access_log_as_ha_sets_it")
@pytest.mark.parametrize("http_config", [{"login_attempts_threshold": 2}])
async def test_no_token_in_any_log(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every logger at DEBUG, over openings, refusals, guesses, reports and a ban."""
    caplog.set_level(logging.DEBUG)
    set_ip = mock_real_ip(hass.http.app)
    client = await hass_client_no_auth()
    link = await _link(hass, integration)
    revoked = await _link(hass, integration)
    await call(hass, "revoke_share", {"share_id": revoked.split("/")[4]})
    tokens = [link.split("?token=")[1], revoked.split("?token=")[1]]
    set_ip(FRIEND)
    assert (await client.get(link)).status == HTTPStatus.OK
    assert (await client.get(revoked)).status == HTTPStatus.NOT_FOUND
    set_ip(GUESSER)
    for guess in _guesses(link):
        await client.get(guess)
    await hass.async_block_till_done()
    assert [str(a) for a in hass.http.app[KEY_BAN_MANAGER].ip_bans_lookup] == [GUESSER]
    logged = [(r.name, r.getMessage()) for r in caplog.records]
    assert any(name.startswith("custom_components.peephole") for name, _ in logged)
    assert any(name.endswith("http.ban") for name, _ in logged)
    for name, message in logged:
        for token in tokens:
            assert token not in message, name
            # Not even the part a client could not guess: the signature.
            assert token.rsplit(".", 1)[1] not in message, name


def test_ha_start_up_turns_the_access_log_down() -> None:
    """Both tested releases set aiohttp's access logger to WARNING when HA starts."""
    source = inspect.getsource(bootstrap.async_enable_logging)
    assert 'logging.getLogger("aiohttp.access").setLevel(logging.WARNING)' in source


async def test_ha_access_log_shows_links_only_when_turned_on(
    hass: HomeAssistant,
    integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    access_log_as_ha_sets_it: logging.Logger,
) -> None:
    """What the README says: aiohttp.access, INFO, the path with its query.

    Off as Home Assistant starts (WARNING), even with every other logger at DEBUG
    (``logger: default: debug`` sets the root logger only); on once it is set to
    INFO or DEBUG (``logger: logs: aiohttp.access: info``, or the
    ``logger.set_level`` action), and then it writes every link's token.
    """
    caplog.set_level(logging.DEBUG)
    client = await hass_client_no_auth()
    link = await _link(hass, integration)
    token = link.split("?token=")[1]

    def access_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == ACCESS_LOGGER]

    # aiohttp 3.14 (HA 2026.10) decides whether to log once per connection: the
    # first connection is closed, the second request opens a new one. The server
    # logs once the answer is sent (the client may have it first): time to log
    # before looking, and before the change.
    close = {"Connection": "close"}
    assert (await client.get(link, headers=close)).status == HTTPStatus.OK
    await asyncio.sleep(0.2)
    assert not access_records()
    access_log_as_ha_sets_it.setLevel(logging.INFO)
    assert (await client.get(link)).status == HTTPStatus.OK
    async with asyncio.timeout(5):
        while not access_records():  # noqa: ASYNC110 - polls the log
            await asyncio.sleep(0.01)
    (record,) = access_records()
    assert record.levelno == logging.INFO
    assert f"GET {link} HTTP/1.1" in record.getMessage()
    assert token in record.getMessage()


async def test_a_client_without_an_address_is_not_reported(hass: HomeAssistant) -> None:
    """HA's ban code needs an address; a request without one is only refused."""
    request = make_mocked_request("GET", "/api/peephole/share/x/y.mp4?token=a.b.c")
    with patch.object(share_view, "process_wrong_login") as report:
        await share_view.async_report_guess(request)  # no peer address at all
        await share_view.async_report_guess(request.clone(remote="unix socket"))
    report.assert_not_called()
