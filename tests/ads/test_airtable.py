"""The Airtable mirror against a local server speaking Airtable's wire format: push is
idempotent, only the declared fields are pulled, the merge rule, the token is never stored in
plaintext, tenants are isolated."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from growthops.ads.airtable.mapping import merge_field
from growthops.ads.airtable.mirror import configure, remove, show
from growthops.ads.airtable.sync import sync_mirror
from growthops.connectors.airtable import AirtableError
from growthops.core.errors import InvalidInput, NotFound
from growthops.core.secrets import generate_key
from tests.conftest import new_tenant
from tests.connectors.airtable_server import AirtableServer

TOKEN = "patAbCdEfGhIjKlMn.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
BASE = "appAAAAAAAAAAAAAA"


@pytest.fixture()
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROWTHOPS_SECRET_KEYS", generate_key())


@pytest.fixture()
def server() -> Any:
    with AirtableServer(TOKEN, page_size_cap=1) as s:  # pages of 1: the offset paging is used
        yield s


def _seed(db: Any, tenant_id: Any, *, suggestions: int = 12) -> None:
    """Suggestions (more than one batch of 10), a decision, a pattern, two library ads."""
    now = datetime.now(UTC)
    with db.tenant_tx(tenant_id) as conn:
        ids = [
            r["suggestion_id"]
            for r in conn.execute(
                """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
                   expected_impact, texts, predicted_metrics, confidence, platform, entity_type,
                   entity_id, expires_at)
               select %s, current_date, 'scale', 'high', 'Scale ' || g, 'ROI 4.2x', '+9 leads',
                      '{}', '{}', 80, 'meta', 'adset', 'as' || g, %s
               from generate_series(1, %s) g returning suggestion_id""",
                [tenant_id, now + timedelta(hours=48), suggestions],
            ).fetchall()
        ]
        conn.execute(
            """insert into ads.decisions (tenant_id, suggestion_id, decision, decided_by)
                        values (%s, %s, 'approved', 'Alex')""",
            [tenant_id, ids[0]],
        )
        conn.execute(
            """insert into ads.winning_patterns (tenant_id, pattern_type, pattern_name,
                          times_tested, successes, success_rate, status)
                        values (%s, 'angle', 'fear', 4, 3, 0.75, 'active')""",
            [tenant_id],
        )
        conn.execute(
            """insert into ads.ads_library (tenant_id, ad_name, angle, performance_tier)
                        values (%s, 'Fear hook', 'fear', 'testing'),
                               (%s, 'Logic hook', 'logic', null)""",
            [tenant_id, tenant_id],
        )


def _setup(db: Any, server: AirtableServer, **kw: Any) -> Any:
    t = new_tenant(db, **kw)
    _seed(db, t.tenant_id)
    with db.tenant_tx(t.tenant_id) as conn:
        configure(
            conn,
            tenant_id=t.tenant_id,
            base_id=BASE,
            token=TOKEN,
            endpoint_url=server.url,
            by="test",
        )
    return t


def _sync(db: Any, t: Any, **kw: Any) -> Any:
    return sync_mirror(db, tenant_id=t.tenant_id, backoff_factor=0.001, rate_per_s=1000, **kw)


def _tenant(db: Any, t: Any) -> dict[str, Any]:
    with db.tenant_tx(t.tenant_id) as conn:
        return conn.execute(
            "select roi_target, monthly_budget_max from core.tenants where tenant_id = %s",
            [t.tenant_id],
        ).fetchone()


def test_merge_rule_table() -> None:
    assert merge_field(base="3.000", has_base=True, postgres="3.000", airtable="3.000") == "same"
    assert merge_field(base="3.000", has_base=True, postgres="3.000", airtable="4.000") == "pull"
    assert merge_field(base="3.000", has_base=True, postgres="5.000", airtable="3.000") == "push"
    assert (
        merge_field(base="3.000", has_base=True, postgres="5.000", airtable="4.000") == "conflict"
    )
    assert merge_field(base="3.000", has_base=True, postgres="4.000", airtable="4.000") == "same"
    assert merge_field(base=None, has_base=False, postgres="5.000", airtable="4.000") == "push"


def test_push_creates_every_row_then_a_second_sync_creates_nothing(
    db: Any, keys: None, server: AirtableServer
) -> None:
    t = _setup(db, server)
    first = _sync(db, t)
    assert first.status == "succeeded" and first.created == 1 + 12 + 1 + 1 + 2
    sugg = server.by_key(BASE, "suggestions")
    assert len(sugg) == 12 and all(f["client_key"] == t.client_key for _, f in sugg.values())
    # batches of 10 at most (Airtable's limit): 12 suggestions took two upserts
    ups = [r for r in server.writes() if r["path"].endswith("/suggestions")]
    assert [len(r["body"]["records"]) for r in ups] == [10, 2]
    assert all(r["body"]["performUpsert"] == {"fieldsToMergeOn": ["growthops_key"]} for r in ups)
    client = server.by_key(BASE, "clients")[t.client_key][1]
    assert client["roi_target"] == 3 and client["client_name"] == t.client_name
    n_records = sum(len(v) for v in server.tables.values())
    writes = len(server.writes())

    second = _sync(db, t)
    assert (second.created, second.updated, second.deleted) == (0, 0, 0)
    assert second.unchanged == first.created
    assert sum(len(v) for v in server.tables.values()) == n_records
    assert len(server.writes()) == writes  # nothing pushed at all
    with db.tenant_tx(t.tenant_id) as conn:
        runs = conn.execute(
            "select status, created, unchanged, api_calls from ads.airtable_runs "
            "where tenant_id = %s order by run_id",
            [t.tenant_id],
        ).fetchall()
        logged = conn.execute(
            "select count(*) as n from core.api_calls_log where tenant_id = %s "
            "and api_name = 'airtable'",
            [t.tenant_id],
        ).fetchone()["n"]
    assert [r["created"] for r in runs] == [17, 0] and runs[1]["unchanged"] == 17
    assert logged == sum(r["api_calls"] for r in runs) > 0


def test_a_row_changed_in_postgres_is_updated_and_a_lost_map_makes_no_duplicate(
    db: Any, keys: None, server: AirtableServer
) -> None:
    t = _setup(db, server)
    _sync(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        sid = conn.execute(
            "update ads.suggestions set status = 'approved' where tenant_id = %s "
            "and entity_id = 'as3' returning suggestion_id",
            [t.tenant_id],
        ).fetchone()["suggestion_id"]
    res = _sync(db, t)
    assert (res.created, res.updated) == (0, 1)
    assert server.by_key(BASE, "suggestions")[str(sid)][1]["status"] == "approved"
    # the map is lost (e.g. a crash after Airtable answered): the upsert matches growthops_key
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("delete from ads.airtable_records where tenant_id = %s", [t.tenant_id])
    n = sum(len(v) for v in server.tables.values())
    res = _sync(db, t)
    assert res.created == 0 and res.updated == 17
    assert sum(len(v) for v in server.tables.values()) == n


def test_pull_applies_only_the_declared_fields(db: Any, keys: None, server: AirtableServer) -> None:
    t = _setup(db, server)
    _sync(db, t)
    server.edit(
        BASE,
        "clients",
        t.client_key,
        roi_target=4.5,
        monthly_budget_max=25000,
        client_name="Renamed in Airtable",
    )
    lib = {f["ad_name"]: (k, f) for k, (_, f) in server.by_key(BASE, "ads_library").items()}
    fear_key = lib["Fear hook"][0]
    server.edit(
        BASE,
        "ads_library",
        fear_key,
        angle="urgency",
        performance_tier="winner",
        hook="typed in Airtable",
    )
    sid = next(iter(server.by_key(BASE, "suggestions")))
    server.edit(BASE, "suggestions", sid, status="approved")  # not a pulled field

    res = _sync(db, t)
    assert res.pulled == 4 and res.conflicts == 0 and res.rejected == 0
    lists = [
        r for r in server.requests if r["method"] == "GET" and r["path"].endswith("/ads_library")
    ]
    assert [r["query"].get("offset") for r in lists[-2:]] == [None, ["itr1"]]  # two pages
    assert set(lists[-1]["query"]["fields[]"]) == {"growthops_key", "angle", "performance_tier"}
    row = _tenant(db, t)
    assert row["roi_target"] == Decimal("4.500") and row["monthly_budget_max"] == Decimal(
        "25000.00"
    )
    with db.tenant_tx(t.tenant_id) as conn:
        name = conn.execute(
            "select client_name from core.tenants where tenant_id = %s", [t.tenant_id]
        ).fetchone()["client_name"]
        ad = conn.execute(
            "select angle, performance_tier, hook, tag_source from ads.ads_library "
            "where tenant_id = %s and library_id = %s",
            [t.tenant_id, int(fear_key)],
        ).fetchone()
        status = conn.execute(
            "select status from ads.suggestions where tenant_id = %s and suggestion_id = %s",
            [t.tenant_id, int(sid)],
        ).fetchone()["status"]
        logged = conn.execute(
            "select message, context from core.system_logs where tenant_id = %s "
            "and module = 'growthops.ads.airtable'",
            [t.tenant_id],
        ).fetchall()
    assert [r["message"] for r in logged] == ["4 field value(s) taken from Airtable"]
    assert {d["field"] for d in logged[0]["context"]["pulled"]} == {
        "roi_target",
        "monthly_budget_max",
        "angle",
        "performance_tier",
    }
    assert name == t.client_name  # not declared: PostgreSQL kept it
    assert (ad["angle"], ad["performance_tier"], ad["hook"], ad["tag_source"]) == (
        "urgency",
        "winner",
        None,
        "person",
    )
    assert status == "pending"
    # PostgreSQL's value of the undeclared field went back to Airtable with the pushed row
    assert server.by_key(BASE, "clients")[t.client_key][1]["client_name"] == t.client_name
    again = _sync(db, t)
    assert again.pulled == 0 and again.created == 0 and again.updated == 0


def test_both_changed_postgres_wins_and_the_conflict_is_logged(
    db: Any, keys: None, server: AirtableServer
) -> None:
    t = _setup(db, server)
    _sync(db, t)
    server.edit(BASE, "clients", t.client_key, roi_target=4.5)
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update core.tenants set roi_target = 5 where tenant_id = %s", [t.tenant_id])
    res = _sync(db, t)
    assert res.conflicts == 1 and res.pulled == 0
    assert _tenant(db, t)["roi_target"] == Decimal("5.000")
    assert server.by_key(BASE, "clients")[t.client_key][1]["roi_target"] == 5
    with db.tenant_tx(t.tenant_id) as conn:
        run = conn.execute(
            "select conflicts, details from ads.airtable_runs where tenant_id = %s "
            "order by run_id desc limit 1",
            [t.tenant_id],
        ).fetchone()
    assert run["conflicts"] == 1
    assert run["details"] == [
        {
            "kind": "clients",
            "row_key": t.client_key,
            "field": "roi_target",
            "rule": "conflict",
            "airtable": "4.500",
            "postgresql": "5.000",
            "base": "3.000",
        }
    ]
    # changed in PostgreSQL only: pushed, nothing pulled
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update core.tenants set roi_target = 6 where tenant_id = %s", [t.tenant_id])
    res = _sync(db, t)
    assert (res.pulled, res.conflicts, res.updated) == (0, 0, 1)
    assert server.by_key(BASE, "clients")[t.client_key][1]["roi_target"] == 6


def test_an_invalid_airtable_value_is_refused_and_overwritten(
    db: Any, keys: None, server: AirtableServer
) -> None:
    t = _setup(db, server)
    _sync(db, t)
    server.edit(BASE, "clients", t.client_key, roi_target=-2)
    lib = {f["ad_name"]: k for k, (_, f) in server.by_key(BASE, "ads_library").items()}
    server.edit(BASE, "ads_library", lib["Logic hook"], angle="magic")
    res = _sync(db, t)
    assert res.rejected == 2 and res.pulled == 0
    assert _tenant(db, t)["roi_target"] == Decimal("3.000")
    assert server.by_key(BASE, "clients")[t.client_key][1]["roi_target"] == 3
    errors = sorted(d["error"] for d in res.details)
    assert errors[0].startswith("angle: 'magic' is not one of")
    assert errors[1].startswith("roi_target: -2.000 is out of range")


def test_a_row_gone_from_postgres_is_deleted_in_airtable(
    db: Any, keys: None, server: AirtableServer
) -> None:
    t = _setup(db, server)
    _sync(db, t)
    with db.tenant_tx(t.tenant_id) as conn:  # seed 000: suggestions leave after 30 days
        conn.execute(
            "update ads.suggestions set created_at = now() - interval '31 days' "
            "where tenant_id = %s and entity_id in ('as1', 'as2')",
            [t.tenant_id],
        )
    res = _sync(db, t)
    assert res.deleted == 2
    assert len(server.by_key(BASE, "suggestions")) == 10
    with db.tenant_tx(t.tenant_id) as conn:
        n = conn.execute(
            "select count(*) as n from ads.airtable_records where tenant_id = %s "
            "and kind = 'suggestions'",
            [t.tenant_id],
        ).fetchone()["n"]
    assert n == 10


def test_429_is_retried_and_counted(db: Any, keys: None, server: AirtableServer) -> None:
    t = _setup(db, server)
    server.fail_next(429, times=2)
    res = _sync(db, t)
    assert res.status == "succeeded" and res.retries == 2 and res.created == 17


def test_a_422_fails_the_run_and_records_it(db: Any, keys: None, server: AirtableServer) -> None:
    t = _setup(db, server)
    server.known_fields[(BASE, "suggestions")] = {"growthops_key", "action"}
    with pytest.raises(AirtableError) as exc:
        _sync(db, t)
    assert exc.value.status == 422 and exc.value.error_type == "UNKNOWN_FIELD_NAME"
    with db.tenant_tx(t.tenant_id) as conn:
        run = conn.execute(
            "select status, error_message from ads.airtable_runs where tenant_id = %s",
            [t.tenant_id],
        ).fetchone()
        mapped = conn.execute(
            "select count(*) as n from ads.airtable_records where tenant_id = %s", [t.tenant_id]
        ).fetchone()["n"]
    assert run["status"] == "failed" and "UNKNOWN_FIELD_NAME" in run["error_message"]
    assert mapped == 0  # the map rolled back; the clients record is matched on its key later
    del server.known_fields[(BASE, "suggestions")]
    res = _sync(db, t)
    assert res.created == 16 and res.updated == 1


def test_the_token_is_never_stored_in_plaintext(
    db: Any, keys: None, server: AirtableServer
) -> None:
    t = _setup(db, server)
    server.fail_next(
        401, {"error": {"type": "AUTHENTICATION_REQUIRED", "message": f"bad token {TOKEN}"}}
    )
    with pytest.raises(AirtableError):
        _sync(db, t)
    _sync(db, t)
    with db.admin() as conn:
        stored = conn.execute(
            "select token_encrypted from ads.airtable_mirrors where tenant_id = %s", [t.tenant_id]
        ).fetchone()["token_encrypted"]
        dump = json.dumps(
            [
                conn.execute(f"select * from {tbl} where tenant_id = %s", [t.tenant_id]).fetchall()
                for tbl in (
                    "ads.airtable_mirrors",
                    "ads.airtable_records",
                    "ads.airtable_runs",
                    "core.api_calls_log",
                    "core.system_logs",
                )
            ],
            default=str,
        )
    assert stored.startswith("gAAAAA") and TOKEN not in stored
    assert TOKEN not in dump and "patAbCdEfGhIjKlMn" not in dump
    with db.tenant_tx(t.tenant_id) as conn:
        shown = show(conn, tenant_id=t.tenant_id)
    assert shown["has_token"] is True and "token_encrypted" not in shown
    assert TOKEN not in json.dumps(shown, default=str)
    # every request carried it as a bearer token, nowhere else
    assert all(TOKEN not in json.dumps(r["query"]) + json.dumps(r["body"]) for r in server.requests)


def test_tenants_are_isolated(db: Any, keys: None, server: AirtableServer) -> None:
    a = _setup(db, server)
    b = new_tenant(db)
    _seed(db, b.tenant_id, suggestions=1)
    with db.tenant_tx(b.tenant_id) as conn:
        configure(
            conn,
            tenant_id=b.tenant_id,
            base_id="appBBBBBBBBBBBBBB",
            token=TOKEN,
            endpoint_url=server.url,
        )
        assert conn.execute("select count(*) as n from ads.airtable_mirrors").fetchone()["n"] == 1
    _sync(db, a)
    _sync(db, b)
    keys_a = set(server.by_key(BASE, "clients"))
    keys_b = set(server.by_key("appBBBBBBBBBBBBBB", "clients"))
    assert keys_a == {a.client_key} and keys_b == {b.client_key}
    assert len(server.by_key("appBBBBBBBBBBBBBB", "suggestions")) == 1
    with db.tenant_tx(b.tenant_id) as conn:
        rows = conn.execute("select distinct tenant_id from ads.airtable_records").fetchall()
        runs = conn.execute("select distinct tenant_id from ads.airtable_runs").fetchall()
        assert remove(conn, tenant_id=a.tenant_id) is False  # a's mirror is invisible to b
    assert {r["tenant_id"] for r in rows} == {b.tenant_id} == {r["tenant_id"] for r in runs}
    with db.tenant_tx(a.tenant_id) as conn:
        assert show(conn, tenant_id=a.tenant_id)["base_id"] == BASE


def test_configure_validates_and_remove_forgets(db: Any, keys: None) -> None:
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        with pytest.raises(InvalidInput, match="base_id"):
            configure(conn, tenant_id=t.tenant_id, base_id="base1", token=TOKEN)
        with pytest.raises(InvalidInput, match="token: required"):
            configure(conn, tenant_id=t.tenant_id, base_id=BASE)
        with pytest.raises(InvalidInput, match="table_names"):
            configure(
                conn,
                tenant_id=t.tenant_id,
                base_id=BASE,
                token=TOKEN,
                table_names={"leads": "Leads"},
            )
        configure(conn, tenant_id=t.tenant_id, base_id=BASE, token=TOKEN)
        before = conn.execute(
            "select token_encrypted from ads.airtable_mirrors where tenant_id = %s", [t.tenant_id]
        ).fetchone()["token_encrypted"]
        out = configure(
            conn, tenant_id=t.tenant_id, base_id=BASE, table_names={"clients": "Clients"}
        )  # the token is kept
        after = conn.execute(
            "select token_encrypted from ads.airtable_mirrors where tenant_id = %s", [t.tenant_id]
        ).fetchone()["token_encrypted"]
        assert before == after and out["table_names"] == {"clients": "Clients"}
        assert remove(conn, tenant_id=t.tenant_id) is True
        with pytest.raises(NotFound):
            show(conn, tenant_id=t.tenant_id)
    with pytest.raises(NotFound):
        sync_mirror(db, tenant_id=t.tenant_id)


def test_due_mirrors_is_hourly_and_skips_disabled() -> None:
    from growthops.ads.airtable.jobs import due_mirrors

    now = datetime(2026, 12, 6, 10, 40, tzinfo=UTC)
    rows = [
        {"tenant_id": "a", "enabled": True, "last_synced_at": None},
        {"tenant_id": "b", "enabled": True, "last_synced_at": now - timedelta(minutes=51)},
        {"tenant_id": "c", "enabled": True, "last_synced_at": now - timedelta(minutes=10)},
        {"tenant_id": "d", "enabled": False, "last_synced_at": None},
    ]
    assert due_mirrors(rows, now) == ["a", "b"]


def test_the_worker_syncs_the_due_mirrors(
    fresh_db: Any, keys: None, server: AirtableServer
) -> None:
    from growthops.ads.airtable.jobs import TASK_AIRTABLE_SYNC, schedule_airtable_at
    from growthops.worker import build_app, run_worker

    on = _setup(fresh_db, server)
    off = new_tenant(fresh_db)
    with fresh_db.tenant_tx(off.tenant_id) as conn:
        configure(
            conn,
            tenant_id=off.tenant_id,
            base_id="appOFFOFFOFFOFFOF",
            token=TOKEN,
            endpoint_url=server.url,
            enabled=False,
        )
    new_tenant(fresh_db)  # no mirror
    now = datetime.now(UTC)
    with build_app(fresh_db, periodic=False, max_connections=2).open() as app:
        assert schedule_airtable_at(fresh_db, app, now) == [str(on.tenant_id)]
        assert schedule_airtable_at(fresh_db, app, now) == []  # one waiting job per tenant
    run_worker(fresh_db, concurrency=1, once=True)
    with fresh_db.admin() as conn:
        job = conn.execute(
            "select status::text as s from procrastinate_jobs where task_name = %s",
            [TASK_AIRTABLE_SYNC],
        ).fetchone()
        run = conn.execute(
            "select trigger, status, created from ads.airtable_runs where tenant_id = %s",
            [on.tenant_id],
        ).fetchone()
    assert job["s"] == "succeeded"
    assert (run["trigger"], run["status"], run["created"]) == ("schedule", "succeeded", 17)
    assert set(server.by_key(BASE, "clients")) == {on.client_key}
    with build_app(fresh_db, periodic=False, max_connections=2).open() as app:
        assert schedule_airtable_at(fresh_db, app, now + timedelta(minutes=5)) == []
