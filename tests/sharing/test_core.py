"""The HA-free sharing core: rules, shares, tokens, addresses, audit, export."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
import hashlib
import json
from pathlib import Path
import time
from typing import Any
import zipfile

from freezegun import freeze_time
import jwt
import pytest

from custom_components.peephole.audit import (
    MAX_ALLOWED_RECORDS,
    MAX_REFUSED_RECORDS,
    AuditLog,
    AuditRecord,
    Outcome,
    clip_text,
)
from custom_components.peephole.export import (
    ExportClip,
    ExportError,
    apply_retention,
    export_time,
    write_export,
)
from custom_components.peephole.share_access import (
    ClientOrigin,
    Refusal,
    bind_legacy,
    check_access,
    classify_client,
    count_view,
    ended_refusal,
    is_legacy,
    narrow,
    prunable,
    rule_of,
    share_state,
)
from custom_components.peephole.share_guard import GuessGuard, client_key
from custom_components.peephole.sharing import (
    MAX_EXPIRY,
    RECIPIENT_ID_RE,
    RecipientRule,
    Share,
    ShareKind,
    SharingError,
    TokenCheck,
    check_token,
    fingerprint,
    mint_token,
    new_recipient_id,
    notification_rule,
    plan_share,
    rule_from_storage,
    rule_named,
    rule_to_storage,
    rules_from_options,
    signing_key,
    token_from_query,
    validate_rules,
    with_recipient_ids,
)

ENTRY = "entry-1"
RID = "R" * 22  # a recipient identity
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
KEY = signing_key("s" * 64)
CLIP = "20250601T115500-0a1b2c3d"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the package-wide fixture: no hass for the pure core."""


def rule(**kwargs: Any) -> RecipientRule:
    base: dict[str, Any] = {"name": "family", "id": RID, "cameras": frozenset({ENTRY})}
    return RecipientRule(**(base | kwargs))


def share(r: RecipientRule | None = None, **kwargs: Any) -> Share:
    return plan_share(
        r or rule(),
        recipient="family",
        entry_id=ENTRY,
        kind=ShareKind.CLIPS,
        clip_ids=[CLIP],
        now=NOW,
        **kwargs,
    )


# --- rules --------------------------------------------------------------------------


def test_rule_round_trip_and_defaults() -> None:
    parsed = rule_from_storage({"name": " Insurer ", "id": RID}, ENTRY)
    assert parsed.name == "Insurer"
    assert parsed.id == RID
    assert parsed.cameras == {ENTRY}
    assert parsed.clips
    assert not parsed.snapshots
    assert not parsed.remote
    assert parsed.max_expiry == timedelta(hours=24)
    assert rule_from_storage(rule_to_storage(parsed), "other") == parsed


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"name": ""}, "invalid_recipient"),
        ({"name": "x" * 33}, "invalid_recipient"),
        ({"name": "a\nb"}, "invalid_recipient"),
        ({"name": 3}, "invalid_recipient"),
        ({"name": "Notification"}, "reserved_recipient"),
        ({"name": "a", "cameras": "e"}, "invalid_rule"),
        ({"name": "a", "cameras": [""]}, "invalid_rule"),
        ({"name": "a", "max_expiry_hours": "1"}, "invalid_rule"),
        ({"name": "a", "max_expiry_hours": True}, "invalid_rule"),
        ({"name": "a", "max_expiry_hours": 0}, "expiry_too_long"),
        ({"name": "a", "max_expiry_hours": 7 * 24 + 1}, "expiry_too_long"),
        ({"name": "a", "max_views": 0}, "too_many_views"),
        ({"name": "a", "max_views": True}, "too_many_views"),
        ({"name": "a", "remote": "yes"}, "invalid_rule"),
        ({"name": "a", "clips": False}, "invalid_rule"),
        ({"name": "a", "id": "short"}, "invalid_rule"),
        ({"name": "a", "id": 7}, "invalid_rule"),
    ],
)
def test_invalid_rules(data: dict[str, Any], key: str) -> None:
    with pytest.raises(SharingError) as err:
        rule_from_storage(data, ENTRY)
    assert err.value.key == key


def test_validate_rules() -> None:
    validate_rules([{"name": "a"}, {"name": "b"}], ENTRY)
    with pytest.raises(SharingError, match="duplicate_recipient"):
        validate_rules([{"name": "Family"}, {"name": "family "}], ENTRY)
    with pytest.raises(SharingError, match="too_many_recipients"):
        validate_rules([{"name": f"r{i}"} for i in range(33)], ENTRY)


def test_rules_from_options_fails_closed() -> None:
    assert rules_from_options(None, ENTRY) == {}
    assert rules_from_options({"name": "a", "id": RID}, ENTRY) == {}
    ids = [new_recipient_id() for _ in range(6)]
    rules = rules_from_options(
        [
            {"name": "ok", "id": ids[0]},
            {"name": "bad", "id": ids[1], "max_expiry_hours": 1000},
            "junk",
            {"name": "twice", "id": ids[2]},
            {"name": "TWICE", "id": ids[3]},
            {"name": "no identity"},  # a rule without an id shares nothing
            {"name": "same id", "id": ids[4]},
            {"name": "same id too", "id": ids[4]},
        ],
        ENTRY,
    )
    assert list(rules) == [ids[0]]
    assert rules[ids[0]].name == "ok"
    assert rule_named(rules, " OK ") is rules[ids[0]]
    assert rule_named(rules, "twice") is None


def test_recipient_ids_are_new_and_kept() -> None:
    first, second = new_recipient_id(), new_recipient_id()
    assert first != second
    assert RECIPIENT_ID_RE.fullmatch(first)
    stored = [{"name": "a"}, {"name": "b", "id": first}, {"name": "c", "id": "x"}, 3]
    migrated = with_recipient_ids(stored)
    assert migrated[1] == {"name": "b", "id": first}  # a valid id is kept
    assert migrated[3] == 3
    new_ids = {migrated[0]["id"], migrated[2]["id"]}
    assert len(new_ids) == 2
    assert all(RECIPIENT_ID_RE.fullmatch(i) for i in new_ids)
    assert first not in new_ids
    assert with_recipient_ids(None) is None


# --- shares ----------------------------------------------------------------------------


def test_plan_share_within_rule() -> None:
    s = share(rule(max_expiry=timedelta(hours=6), max_views=3))
    assert s.expires - s.created == timedelta(hours=6)  # default capped by the rule
    assert s.max_views == 3
    assert s.resources == (f"{CLIP}.mp4",)
    assert s.clip_ids == (CLIP,)
    assert s.recipient_id == RID
    assert Share.from_dict(s.as_dict()) == s
    snap = plan_share(
        rule(snapshots=True),
        recipient="family",
        entry_id=ENTRY,
        kind=ShareKind.SNAPSHOT,
        now=NOW,
    )
    assert snap.resources == ("snapshot.jpg",)
    assert snap.clip_ids == ()


@pytest.mark.parametrize(
    ("r", "kwargs", "key"),
    [
        (None, {}, "unknown_recipient"),
        (rule(id=None), {}, "unknown_recipient"),  # no identity, no sharing
        (rule(cameras=frozenset({"other"})), {}, "camera_not_allowed"),
        (rule(clips=False, snapshots=True), {}, "clips_not_allowed"),
        (rule(), {"expires_in": timedelta(hours=25)}, "expiry_too_long"),
        (rule(), {"expires_in": timedelta(0)}, "expiry_too_long"),
        (
            rule(max_expiry=MAX_EXPIRY),
            {"expires_in": timedelta(days=8)},
            "expiry_too_long",
        ),
        (rule(), {"remote": True}, "remote_not_allowed"),
        (rule(max_views=2), {"max_views": 3}, "too_many_views"),
        (rule(), {"clip_ids": []}, "no_clips"),
        (rule(), {"clip_ids": [f"c{i}" for i in range(21)]}, "too_many_clips"),
    ],
)
def test_plan_share_refused(
    r: RecipientRule | None, kwargs: dict[str, Any], key: str
) -> None:
    args: dict[str, Any] = {
        "recipient": "family",
        "entry_id": ENTRY,
        "kind": ShareKind.CLIPS,
        "clip_ids": [CLIP],
        "now": NOW,
    } | kwargs
    with pytest.raises(SharingError) as err:
        plan_share(r, **args)
    assert err.value.key == key


def test_snapshot_not_allowed() -> None:
    with pytest.raises(SharingError, match="snapshots_not_allowed"):
        plan_share(
            rule(), recipient="f", entry_id=ENTRY, kind=ShareKind.SNAPSHOT, now=NOW
        )


def test_share_from_invalid_dict() -> None:
    good = share().as_dict()
    assert Share.from_dict({**good, "id": "../../etc"}) is None
    assert Share.from_dict({**good, "created": "2025-01-01T00:00:00"}) is None
    assert Share.from_dict({**good, "kind": "everything"}) is None
    assert Share.from_dict({**good, "resources": []}) is None
    assert Share.from_dict({"id": "x"}) is None
    assert Share.from_dict({**good, "recipient_id": "../x"}) is None
    # Stored before recipients had identities: kept, unbound.
    legacy = {k: v for k, v in good.items() if k != "recipient_id"}
    assert Share.from_dict(legacy) == replace(share(), id=good["id"], recipient_id=None)


def test_check_access_evaluates_the_rule_now() -> None:
    r = rule(max_views=2)
    s = share(r, expires_in=timedelta(hours=10))
    res = s.resources[0]
    local = ClientOrigin.LOCAL

    def check(sh: Share = s, ru: RecipientRule | None = r, **kw: Any) -> Refusal | None:
        args: dict[str, Any] = {"resource": res, "origin": local, "now": NOW} | kw
        return check_access(sh, ru, **args)

    assert check() is None
    assert check(resource="other.mp4") is Refusal.RESOURCE
    assert check(origin=ClientOrigin.REMOTE) is Refusal.NOT_LOCAL
    assert check(origin=ClientOrigin.CLOUD) is Refusal.NOT_LOCAL
    assert check(now=s.expires) is Refusal.EXPIRED
    assert check(ru=None) is Refusal.NO_RULE
    # Narrowing the rule narrows the live share.
    assert (
        check(ru=rule(max_expiry=timedelta(hours=1)), now=NOW + timedelta(hours=2))
        is Refusal.EXPIRED
    )
    assert check(ru=rule(cameras=frozenset({"x"}))) is Refusal.RULE
    assert check(ru=rule(clips=False, snapshots=True)) is Refusal.RULE
    used = count_view(count_view(s))
    assert check(sh=used) is Refusal.VIEW_LIMIT
    assert check(sh=count_view(s), ru=rule(max_views=1)) is Refusal.VIEW_LIMIT
    assert check(sh=replace(s, revoked=NOW)) is Refusal.REVOKED


def test_remote_needs_share_and_rule() -> None:
    r = rule(remote=True)
    remote_share = share(r, remote=True)
    res = remote_share.resources[0]
    remote = ClientOrigin.REMOTE
    assert check_access(remote_share, r, resource=res, origin=remote, now=NOW) is None
    assert (
        check_access(remote_share, rule(), resource=res, origin=remote, now=NOW)
        is Refusal.NOT_LOCAL
    )
    local_share = share(r)
    assert (
        check_access(local_share, r, resource=res, origin=remote, now=NOW)
        is Refusal.NOT_LOCAL
    )


def test_share_state_and_prune() -> None:
    r = rule(max_views=1)
    s = share(r)
    assert share_state(s, r, NOW) == "active"
    assert share_state(count_view(s), r, NOW) == "used_up"
    assert share_state(s, None, NOW) == "no_rule"
    assert share_state(s, rule(clips=False, snapshots=True), NOW) == "no_rule"
    assert share_state(s, r, s.expires) == "expired"
    assert share_state(replace(s, revoked=NOW), r, NOW) == "revoked"
    keep = timedelta(days=30)
    assert prunable([s], s.expires + keep - timedelta(seconds=1), keep) == []
    assert prunable([s], s.expires + keep, keep) == [s.id]
    assert prunable([replace(s, revoked=NOW)], NOW + keep, keep) == [s.id]


# --- identities and the ratchet ---------------------------------------------------------


def test_rule_of_follows_the_identity_not_the_name() -> None:
    s = share()
    renamed = rule(name="Family Smith")
    assert rule_of(s, {RID: renamed}) is renamed
    # Another recipient with the share's name is not its recipient.
    other = rule(id="O" * 22)
    assert rule_of(s, {other.id: other}) is None
    assert rule_of(replace(s, recipient_id=None), {RID: rule()}) is None
    note = replace(s, builtin=True, recipient="notification", recipient_id=None)
    assert rule_of(note, {}) == notification_rule(ENTRY)
    assert rule_of(replace(note, recipient="family"), {RID: rule()}) is None


def test_bind_legacy_once_by_name() -> None:
    legacy = replace(share(), recipient_id=None)
    assert is_legacy(legacy)
    renamed = rule(id="N" * 22, name="FAMILY")
    bound = bind_legacy(legacy, {renamed.id: renamed}, NOW)
    assert bound.recipient_id == "N" * 22
    assert not is_legacy(bound)
    # Bound once: a later rule of that name does not take it over.
    assert bind_legacy(bound, {RID: rule()}, NOW) is bound
    ended = bind_legacy(legacy, {}, NOW)
    assert (ended.ended, ended.ended_reason) == (NOW, "no_rule")
    assert not is_legacy(ended)
    assert bind_legacy(ended, {renamed.id: renamed}, NOW) is ended
    for other in (
        replace(legacy, revoked=NOW),
        replace(legacy, builtin=True),
        share(),
    ):
        assert bind_legacy(other, {}, NOW) is other


def test_narrow_takes_and_never_gives_back() -> None:
    wide = rule(remote=True, max_expiry=timedelta(hours=48), snapshots=True)
    s = share(wide, remote=True, expires_in=timedelta(hours=48))
    later = NOW + timedelta(hours=1)
    # Narrow each limit, then widen again: what was taken stays taken.
    narrower = rule(name="Fam", max_expiry=timedelta(hours=2), max_views=3)
    narrowed = narrow(s, narrower, later)
    assert narrowed.recipient == "Fam"
    assert not narrowed.remote
    assert narrowed.expires == s.created + timedelta(hours=2)
    assert narrowed.max_views == 3
    assert narrow(narrowed, wide, later) == replace(narrowed, recipient="family")
    # A rule that no longer allows the kind or the camera, or is gone, ends it.
    for r, reason in (
        (rule(clips=False, snapshots=True), Refusal.RULE),
        (rule(cameras=frozenset({"other"})), Refusal.RULE),
        (None, Refusal.NO_RULE),
    ):
        ended = narrow(s, r, later)
        assert (ended.ended, ended.ended_reason) == (later, reason.value)
        assert narrow(ended, wide, later) is ended
        res = ended.resources[0]
        assert (
            check_access(
                ended, wide, resource=res, origin=ClientOrigin.LOCAL, now=later
            )
            is reason
        )
        assert share_state(ended, wide, later) == "no_rule"
        assert ended.end == later
    # Revoked and built-in shares are left alone.
    revoked = replace(s, revoked=NOW)
    assert narrow(revoked, None, later) is revoked
    note = replace(s, builtin=True)
    assert narrow(note, None, later) is note
    # Junk in a stored reason still refuses.
    junk = replace(s, ended=NOW, ended_reason="whatever")
    assert ended_refusal(junk) is Refusal.NO_RULE


def test_ended_shares_are_pruned_after_they_ended() -> None:
    s = replace(share(), ended=NOW)
    keep = timedelta(days=30)
    assert prunable([s], NOW + keep - timedelta(seconds=1), keep) == []
    assert prunable([s], NOW + keep, keep) == [s.id]


def test_notification_rule() -> None:
    n = notification_rule(ENTRY)
    assert n.snapshots
    assert not n.clips
    assert not n.remote
    assert n.max_expiry == timedelta(minutes=15)


# --- tokens ----------------------------------------------------------------------------


def _check(token: str, **kwargs: Any) -> TokenCheck:
    s: Share = kwargs.pop("share")
    key = kwargs.pop("key", KEY)
    args: dict[str, Any] = {
        "entry_id": ENTRY,
        "share_id": s.id,
        "resource": s.resources[0],
        "method": "GET",
        "now": datetime.now(UTC),  # the frozen time
    } | kwargs
    return check_token(token, key, **args)


def _verify(token: str, **kwargs: Any) -> bool:
    return _check(token, **kwargs) is TokenCheck.VALID


def test_token_binds_everything() -> None:
    with freeze_time(NOW):
        s = share()
        token = mint_token(KEY, s, s.resources[0], now=NOW)
        assert _verify(token, share=s)
        assert not _verify(token, share=s, resource="other.mp4")
        assert not _verify(token, share=s, share_id="A" * 22)
        assert not _verify(token, share=s, method="POST")
        assert not _verify(token, share=s, entry_id="entry-2")
        assert not _verify(token, share=s, key=signing_key("other"))
        # Tampered payload, tampered signature, garbage.
        head, body, sig = token.split(".")
        assert not _verify(f"{head}.{body}A.{sig}", share=s)
        assert not _verify(f"{head}.{body}.{sig[:-2]}AA", share=s)
        assert not _verify("a.b.c", share=s)
        assert not _verify("x" * 3000, share=s)
        assert not _verify(token + "=", share=s)


def test_token_expiry_has_no_leeway() -> None:
    s = share(expires_in=timedelta(hours=1))
    with freeze_time(NOW):
        token = mint_token(KEY, s, s.resources[0], now=NOW)
    with freeze_time(s.expires - timedelta(seconds=1)):
        assert _verify(token, share=s)
    with freeze_time(s.expires):
        # Ours and for this request, but expired: not a forgery.
        assert _check(token, share=s) is TokenCheck.EXPIRED
        assert _check(token, share=s, resource="x.mp4") is TokenCheck.INVALID
        assert _check(token, share=s, key=signing_key("x")) is TokenCheck.INVALID
    # Issued in the future.
    with freeze_time(NOW - timedelta(seconds=5)):
        assert _check(token, share=s) is TokenCheck.INVALID


def _forge(payload: dict[str, Any], key: bytes = KEY, alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg)


def test_forged_tokens_are_refused() -> None:
    s = share()
    claims = {
        "iss": "peephole",
        "aud": f"peephole-share:{ENTRY}",
        "sub": s.id,
        "res": s.resources[0],
        "m": "GET",
        "iat": int(NOW.timestamp()),
        "exp": int(s.expires.timestamp()),
    }
    with freeze_time(NOW):
        assert _verify(_forge(claims), share=s)
        for missing in claims:
            partial = {k: v for k, v in claims.items() if k != missing}
            assert not _verify(_forge(partial), share=s), missing
        assert not _verify(_forge({**claims, "iss": "other"}), share=s)
        assert not _verify(_forge({**claims, "res": 1}), share=s)
        assert not _verify(_forge(claims, KEY * 2, alg="HS512"), share=s)
        header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
        body = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
        assert not _verify(f"{header}.{body}.", share=s)


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ("token=a.b.c", True),
        ("", False),
        ("token=a.b.c&token=a.b.c", False),
        ("token=a.b.c&x=1", False),
        ("x=1&token=a.b.c", False),
        ("token=a.b.c;x=1", False),
        ("token=a%2Eb.c", False),
        ("Token=a.b.c", False),
        ("token=" + "a" * 2049, False),
    ],
)
def test_token_from_query(query: str, ok: bool) -> None:
    assert (token_from_query(query) is not None) is ok


def test_fingerprint_is_short() -> None:
    assert len(fingerprint("a.b.c")) == 12
    assert fingerprint("a.b.c") == hashlib.sha256(b"a.b.c").hexdigest()[:12]


# --- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "origin"),
    [
        ("127.0.0.1", ClientOrigin.LOCAL),
        ("::1", ClientOrigin.LOCAL),
        ("10.1.2.3", ClientOrigin.LOCAL),
        ("172.16.0.1", ClientOrigin.LOCAL),
        ("172.31.255.255", ClientOrigin.LOCAL),
        ("192.168.1.20", ClientOrigin.LOCAL),
        ("169.254.3.4", ClientOrigin.LOCAL),
        ("fd00::1", ClientOrigin.LOCAL),
        ("fe80::1", ClientOrigin.LOCAL),
        ("fe80::1%eth0", ClientOrigin.LOCAL),
        ("::ffff:192.168.1.20", ClientOrigin.LOCAL),
        ("::ffff:127.0.0.1", ClientOrigin.LOCAL),
        ("172.32.0.1", ClientOrigin.REMOTE),
        ("100.64.0.1", ClientOrigin.REMOTE),
        ("100.127.255.254", ClientOrigin.REMOTE),
        ("8.8.8.8", ClientOrigin.REMOTE),
        ("::ffff:8.8.8.8", ClientOrigin.REMOTE),
        ("fc00::1", ClientOrigin.REMOTE),
        ("2001:db8::1", ClientOrigin.REMOTE),
        ("", ClientOrigin.REMOTE),
        (None, ClientOrigin.REMOTE),
        ("not-an-ip", ClientOrigin.REMOTE),
    ],
)
def test_classify_client(address: str | None, origin: ClientOrigin) -> None:
    assert classify_client(address, cloud=False) is origin
    # A request relayed by the cloud is never local, whatever address it has.
    assert classify_client(address, cloud=True) is ClientOrigin.CLOUD


# --- audit -------------------------------------------------------------------------------------


def record(i: int = 0, **kwargs: Any) -> AuditRecord:
    base: dict[str, Any] = {
        "time": NOW + timedelta(seconds=i),
        "share_id": f"s{i}",
        "entry_id": ENTRY,
        "recipient": "family",
        "resource": "snapshot.jpg",
        "method": "GET",
        "client": "192.168.1.2",
        "origin": "local",
        "outcome": Outcome.ALLOWED,
        "reason": "",
        "token": "abcdef012345",
    }
    return AuditRecord(**(base | kwargs))


def test_audit_keeps_each_share_s_openings_apart() -> None:
    log = AuditLog()
    opened = [record(i, share_id="a") for i in range(3)]
    for r in opened:
        log.record(r)
    # Refusals of the same link, and everything for other links, push nothing out.
    for i in range(MAX_REFUSED_RECORDS * 3):
        log.record(record(i, share_id="a", outcome=Outcome.REFUSED, reason="expired"))
        log.record(record(i, share_id="b"))
    audit = log.for_share("a")
    assert list(audit.allowed) == opened
    assert len(audit.refused) == MAX_REFUSED_RECORDS
    assert audit.refused_total == MAX_REFUSED_RECORDS * 3
    assert (audit.allowed_total, log.for_share("b").allowed_total) == (3, 300)
    assert len(log.for_share("b").allowed) == MAX_ALLOWED_RECORDS
    assert log.for_share("nothing").allowed_total == 0
    # A write that failed takes its record back; any other is left.
    last = record(99, share_id="a")
    log.record(last)
    log.remove_last(record(99, share_id="a"))
    assert log.for_share("a").allowed_total == 4
    log.remove_last(last)
    assert list(log.for_share("a").allowed) == opened
    assert log.for_share("a").allowed_total == 3
    refused = record(100, share_id="a", outcome=Outcome.REFUSED)
    log.record(refused)
    log.remove_last(refused)
    assert log.for_share("a").refused_total == MAX_REFUSED_RECORDS * 3
    log.remove_last(record(1, share_id="unknown"))
    log.count_bad_token("a", NOW)
    assert (log.for_share("a").bad_tokens, log.for_share("a").last_bad_token) == (
        1,
        NOW,
    )
    # Round trip.
    again = AuditLog.from_storage(log.to_storage())
    assert again.to_storage() == log.to_storage()
    assert again.records == log.records
    log.forget(["b", "nothing"])
    assert set(log.shares) == {"a"}
    naive = {**record().as_dict(), "time": "2025-01-01T00:00:00"}
    assert AuditRecord.from_dict(naive) is None


def test_junk_is_counted_per_client_and_minute_in_a_bounded_table() -> None:
    log = AuditLog(max_junk_buckets=50)
    log.record(record(0, share_id="a"))
    # One client guessing all minute long: one bucket.
    for i in range(5000):
        log.count_junk("203.0.113.7", "unknown_share", NOW + timedelta(seconds=i % 60))
    (bucket,) = log.junk
    assert (bucket.client, bucket.minute, bucket.count) == ("203.0.113.7", NOW, 5000)
    assert bucket.reasons == {"unknown_share": 5000}
    log.count_junk("203.0.113.7", "bad_token", NOW + timedelta(seconds=30))
    assert log.junk[0].reasons == {"unknown_share": 5000, "bad_token": 1}
    # Thousands of clients: the table keeps the newest buckets, and the sum.
    for i in range(3000):
        log.count_junk(f"2001:db8::{i:x}", "query", NOW + timedelta(minutes=1 + i))
    assert len(log.junk) == 50
    assert log.junk[0].minute == NOW + timedelta(minutes=3000)
    assert log.junk_dropped == 5001 + 2950
    assert sum(b.count for b in log.junk) + log.junk_dropped == 5001 + 3000
    # The records of real links are untouched.
    assert list(log.for_share("a").allowed) == [record(0, share_id="a")]
    # Client text is cut and cleaned before it is kept.
    bucket = log.count_junk("x" * 500 + "\n", "query", NOW + timedelta(days=9))
    assert bucket.client == "x" * 64
    # Round trip (and junk that does not parse is dropped).
    stored = log.to_storage()
    stored["junk"].extend([{"minute": "nope", "reasons": {}}, {"reasons": []}, 3])
    again = AuditLog.from_storage(stored, max_junk_buckets=50)
    assert [b.as_dict() for b in again.junk] == [b.as_dict() for b in log.junk]
    assert again.junk_dropped == log.junk_dropped
    # Fewer kept than stored: the oldest go, counted.
    smaller = AuditLog.from_storage(stored, max_junk_buckets=10)
    assert len(smaller.junk) == 10
    assert smaller.junk_dropped > log.junk_dropped


def test_audit_reads_the_single_log_of_earlier_versions() -> None:
    legacy = [
        record(0, share_id="a").as_dict(),
        record(1, share_id="a", outcome=Outcome.REFUSED, reason="expired").as_dict(),
        record(2, share_id="x" * 22, entry_id=None, reason="unknown_share").as_dict(),
        {"junk": 1},
        "x",
    ]
    log = AuditLog.from_storage(legacy)
    assert log.for_share("a").allowed_total == 1
    assert log.for_share("a").refused_total == 1
    assert [(b.client, b.count, b.reasons) for b in log.junk] == [
        ("192.168.1.2", 1, {"unknown_share": 1})
    ]
    assert AuditLog.from_storage(None).records == []
    assert AuditLog.from_storage({"shares": [], "junk": {}}).records == []
    partial = AuditLog.from_storage(
        {"shares": {"a": {"allowed": "x", "allowed_total": -3, "bad_tokens": True}}}
    )
    assert partial.for_share("a").allowed_total == 0
    assert partial.for_share("a").bad_tokens == 0
    assert partial.for_share("a").last_bad_token is None


def test_clip_text() -> None:
    assert clip_text(None) == ""
    assert clip_text("a\nb\x00c") == "abc"
    assert len(clip_text("x" * 500)) == 64


# --- export ------------------------------------------------------------------------------------


def test_export_zip_hashes_verify(tmp_path: Path) -> None:
    clips = []
    for i in range(2):
        path = tmp_path / f"c{i}.mp4"
        path.write_bytes(bytes([i]) * (100_000 + i))
        clips.append(
            ExportClip(clip_id=f"clip{i}", path=path, start="2025", duration=1.5)
        )
    masks = [{"name": "Street", "points": [[0, 0], [1, 0], [1, 1]], "enabled": True}]
    result = write_export(
        tmp_path / "exports",
        clips,
        now=NOW,
        entry={"entry_id": ENTRY},
        masks=masks,
        share={"id": "s"},
    )
    assert result.path.stat().st_mode & 0o777 == 0o600
    assert hashlib.sha256(result.path.read_bytes()).hexdigest() == result.sha256
    with zipfile.ZipFile(result.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["masks"] == masks
        assert manifest["share"] == {"id": "s"}
        for item, clip in zip(manifest["clips"], clips, strict=True):
            data = archive.read(item["file"])
            assert data == clip.path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == item["sha256"]
        sums = archive.read("SHA256SUMS").decode().splitlines()
        for line in sums:
            digest, name = line.split("  ")
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    assert list((tmp_path / "exports").iterdir()) == [result.path]


def test_export_failure_leaves_nothing(tmp_path: Path) -> None:
    missing = ExportClip(clip_id="x", path=tmp_path / "nope.mp4", start="", duration=0)
    with pytest.raises(ExportError):
        write_export(
            tmp_path / "exports", [missing], now=NOW, entry={}, masks=[], share=None
        )
    assert list((tmp_path / "exports").iterdir()) == []


def test_export_retention(tmp_path: Path) -> None:
    assert apply_retention(tmp_path / "none", NOW, timedelta(days=1)) == []
    old = tmp_path / "export-20250501T000000-0a0b0c0d.zip"
    new = tmp_path / "export-20250601T000000-0a0b0c0d.zip"
    other = tmp_path / "notes.txt"
    stale = tmp_path / "export-20250601T000000-00000000.zip.tmp"
    fresh = tmp_path / "export-20250601T000000-11111111.zip.tmp"
    for path in (old, new, other, stale, fresh):
        path.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    import os

    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    removed = apply_retention(tmp_path, datetime.now(UTC), timedelta(days=7))
    assert removed == [old.name] or sorted(removed) == sorted([old.name, new.name])
    assert not stale.exists()
    assert fresh.exists()
    assert other.exists()
    assert export_time("export-bad.zip") is None


def test_export_retention_by_size_removes_the_oldest_first(tmp_path: Path) -> None:
    now = datetime(2025, 6, 10, tzinfo=UTC)
    names = [f"export-202506{day:02d}T000000-0a0b0c0d.zip" for day in (3, 1, 2)]
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 100)
    # 300 bytes of exports, 250 allowed: the oldest (1 June) goes.
    removed = apply_retention(tmp_path, now, timedelta(days=30), max_bytes=250)
    assert removed == [names[1]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], names[2]])
    # Within the limit: nothing more.
    assert apply_retention(tmp_path, now, timedelta(days=30), max_bytes=200) == []
    # Never the newest, even when it alone is over the limit.
    assert apply_retention(tmp_path, now, timedelta(days=30), max_bytes=0) == [names[2]]
    assert [p.name for p in tmp_path.iterdir()] == [names[0]]


# --- guessing clients ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "key"),
    [
        ("192.168.1.2", "192.168.1.2"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.168.1.2", "192.168.1.2"),
        ("not an address", "not an address"),
        (None, ""),
    ],
)
def test_client_key(client: str | None, key: str) -> None:
    assert client_key(client) == key


def test_guess_guard_limits_and_reports_per_client_and_minute() -> None:
    guard = GuessGuard(guesses=3, reports=2, total_reports=5, max_clients=10)
    later = NOW + timedelta(seconds=59)
    assert not guard.blocked("10.0.0.1", NOW)
    assert [guard.guess("10.0.0.1", NOW) for _ in range(4)] == [
        True,
        True,
        False,
        False,
    ]
    assert guard.blocked("10.0.0.1", later)
    # Another client, and another address of the same /64, count apart / together.
    assert not guard.blocked("10.0.0.2", NOW)
    guard.guess("2001:db8::1", NOW)
    guard.guess("2001:db8::2", NOW)
    guard.guess("2001:db8::3", NOW)
    assert guard.blocked("2001:db8::4", NOW)
    assert not guard.blocked("2001:db8:0:1::1", NOW)
    # A new minute, a new start.
    next_minute = NOW + timedelta(minutes=1)
    assert not guard.blocked("10.0.0.1", next_minute)
    assert guard.guess("10.0.0.1", next_minute)


def test_guess_guard_bounds_reports_and_memory() -> None:
    guard = GuessGuard(guesses=3, reports=2, total_reports=5, max_clients=10)
    # At most total_reports a minute from every client together.
    reported = [guard.guess(f"10.0.0.{i}", NOW) for i in range(20)]
    assert reported == [True] * 5 + [False] * 15
    assert guard.guess("10.0.1.1", NOW + timedelta(minutes=1))
    # Only the newest max_clients are remembered.
    assert len(guard) == 10
    for _ in range(3):
        guard.guess("10.9.9.9", NOW + timedelta(minutes=1))
    for i in range(20):
        guard.guess(f"10.1.0.{i}", NOW + timedelta(minutes=1))
    assert len(guard) == 10
    assert not guard.blocked("10.9.9.9", NOW + timedelta(minutes=1))  # forgotten
