"""Issue 16, the API's hot path (docs/performance.md §7): the suggestion page built as JSON by
PostgreSQL, the one-round-trip tenant batches, one thread hop per request, the approval's
decision pipelined with the key's liveness, its execution on the app's own threads."""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio.to_thread
import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from growthops.ads.action import decisions
from growthops.ads.action import execution as ex
from growthops.ads.models import SuggestionOut, SuggestionPage
from growthops.app import create_app
from growthops.core.auth import api_keys
from growthops.core.sqljson import model_select_sql
from tests.conftest import new_tenant


@pytest.fixture(scope="module")
def client(db):
    return TestClient(create_app(db=db))


def _key(db, tenant) -> str:
    with db.tenant_tx(tenant.tenant_id) as conn:
        return api_keys.create(conn, tenant_id=tenant.tenant_id, name="hot").plaintext


def _suggestions(conn, tenant_id, n: int = 6) -> list[int]:
    """``n`` suggestions of varied shapes: statuses, nulls, microseconds or none, nested and
    non-ASCII jsonb, quotes, a guard-rail note."""
    rows = conn.execute(
        """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
             expected_impact, texts, predicted_metrics, action_params, evidence, confidence,
             calibrated_confidence, platform, entity_type, entity_id, entity_name, status,
             decided_by, decided_at, guard_rail_note, created_at, expires_at)
           select %(t)s, date '2024-03-01' + g, 'scale',
                  (array['critical', 'high', 'medium', 'low'])[1 + g %% 4],
                  'Raise "budget" by 20%%', 'ROAS ≥ target — été', 'e' || g,
                  jsonb_build_object('fr', jsonb_build_object('action', 'Augmenter « x »',
                                                                'n', g, 'ok', g %% 2 = 0)),
                  '{"horizon_days": 7, "metrics": [{"p10": 0.1, "p90": 1e-7}]}'::jsonb,
                  jsonb_build_object('daily_budget', jsonb_build_object('from', 100.5, 'to', 120)),
                  '{}'::jsonb, 40 + g, case when g %% 2 = 0 then 60 + g end, 'meta', 'adset',
                  'e' || g, case when g %% 3 = 0 then null else 'Ad set ''' || g || '''' end,
                  case when g %% 3 = 0 then 'approved' else 'pending' end,
                  case when g %% 3 = 0 then 'alice' end,
                  case when g %% 3 = 0 then timestamptz '2024-03-02 10:00:00.120000+00' end,
                  case when g = 3 then '{"outcome": "split", "rails": ["max_change_pct"]}'::jsonb
                  end,
                  timestamptz '2024-03-01 09:30:00+00' + g * interval '1.000123 second',
                  timestamptz '2099-01-01 00:00:00+00'
           from generate_series(1, %(n)s) g
           returning suggestion_id""",
        {"t": str(tenant_id), "n": n},
    ).fetchall()
    return sorted(r["suggestion_id"] for r in rows)


def _pending(conn, tenant_id) -> int:
    """Insert the varied suggestions; return the first pending one's id."""
    _suggestions(conn, tenant_id)
    return conn.execute("select min(suggestion_id) as i from ads.suggestions "
                        "where status = 'pending'").fetchone()["i"]


def _cached_key_and_pending(db, client):
    """A new tenant, its key (cached by one list request) and its first pending suggestion:
    ``(tenant, headers, suggestion_id)``."""
    t = new_tenant(db)
    h = {"X-API-Key": _key(db, t)}
    with db.tenant_tx(t.tenant_id) as conn:
        sid = _pending(conn, t.tenant_id)
    assert client.get("/api/v1/suggestions", headers=h).status_code == 200  # cached
    return t, h, sid


def _revoke_behind_the_cache(db, t) -> None:
    """Revoke the tenant's keys in the database only (this process's key cache still holds
    them)."""
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update core.api_keys set revoked_at = now() where tenant_id = %s",
                     [str(t.tenant_id)])


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Sao_Paulo"])
def test_the_page_json_is_pydantics_page_in_any_session_time_zone(db, zone):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id, rollback=True) as conn:
        _suggestions(conn, t.tenant_id)
        conn.execute("select set_config('TimeZone', %s, true)", [zone])
        full = ""  # the first, unfiltered page
        for kw in ({}, {"limit": 2}, {"limit": 2, "offset": 3}, {"status": "approved"},
                   {"offset": 100}, {"status": "refused"}):
            rows, total = decisions.list_suggestions(conn, tenant_id=t.tenant_id, **kw)
            limit, offset = kw.get("limit", 50), kw.get("offset", 0)
            page = SuggestionPage.of([SuggestionOut.model_validate(r) for r in rows], total,
                                     limit, offset)
            sql, params = decisions.suggestion_page_query(tenant_id=t.tenant_id, **kw)
            text = conn.execute(sql, params).fetchone()["page"]
            assert json.loads(text) == json.loads(page.model_dump_json()), (zone, kw)
            got = json.loads(text)
            full = full or text
            assert list(got) == list(SuggestionPage.model_fields)
            for item in got["items"]:
                assert list(item) == list(SuggestionOut.model_fields)  # the schema's order
    # the offsets of non-UTC zones are written as pydantic writes them
    if zone != "UTC":
        assert "+05:30" in full or "-03:00" in full
        assert ".000123" in full and ".120000" in full  # microseconds: pydantic's six digits


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Sao_Paulo"])
def test_the_decision_json_is_pydantics_in_any_session_time_zone(db, zone):
    # the approval's body is DecisionOut's JSON written by PostgreSQL (decide_json_query,
    # docs/performance.md §11): the same fields, order and values as pydantic's, for the same
    # decision (decided twice from the same state: a savepoint undoes the first)
    from datetime import UTC, datetime

    from growthops.ads.models import DecisionOut

    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id, rollback=True) as conn:
        ids = _suggestions(conn, t.tenant_id)
        conn.execute("select set_config('TimeZone', %s, true)", [zone])
        kw = {"tenant_id": t.tenant_id, "suggestion_id": ids[1], "decision": "approved",
              "decided_by": "alice", "notes": "ROAS « 4x » — 20%", "channel": "api",
              "now": datetime(2024, 3, 2, 9, 30, 0, 120, tzinfo=UTC)}
        with conn.transaction(force_rollback=True):
            row = decisions.decide(conn, **kw)
        sql, params = decisions.decide_json_query(**kw)
        got = conn.execute(sql, params).fetchone()
    want = json.loads(DecisionOut.model_validate(row).model_dump_json())
    text = json.loads(got["decision"])
    assert list(text) == list(DecisionOut.model_fields)  # the schema's order
    ids_now = {k: text.pop(k) for k in ("decision_id", "audit_id")}  # new ids, same shape
    assert all(isinstance(v, int) and v > 0 for v in ids_now.values())
    for k in ("decision_id", "audit_id"):
        want.pop(k)
    assert text == want, zone
    assert (got["tenant_id"], got["decided_by"], got["has_ad_account"]) == (
        t.tenant_id, "alice", False)
    assert want["action_params"]["daily_budget"] == {"from": 100.5, "to": 120}
    assert datetime.fromisoformat(text["decided_at"].replace("Z", "+00:00")) == kw["now"]
    assert text["decided_at"].endswith({"UTC": ".000120Z", "Asia/Kolkata": ".000120+05:30",
                                        "America/Sao_Paulo": ".000120-03:00"}[zone])


def test_model_select_sql_refuses_what_it_cannot_write(db):
    class Floaty(BaseModel):
        x: float

    class NoDefault(BaseModel):
        a: int
        b: str

    class Defaults(BaseModel):
        a: int
        note: str = "100% 'sure'"
        tags: list[str] = []

    with pytest.raises(TypeError):
        model_select_sql(Floaty, ["x"], "r")
    with pytest.raises(ValueError):
        model_select_sql(NoDefault, ["a"], "r")
    with db.app_tx() as conn:  # a default with % and ' survives a query with parameters
        sql = f"select row_to_json(x)::text as j from (select {model_select_sql(Defaults, ['a'], 'r')} from (select %s::int as a) r) x"
        got = conn.execute(sql, [7]).fetchone()["j"]
    assert json.loads(got) == json.loads(Defaults(a=7).model_dump_json())


def test_tenant_batch_is_one_transaction_under_row_level_security(db):
    ta, tb = new_tenant(db), new_tenant(db)
    with db.tenant_tx(ta.tenant_id) as conn:
        _suggestions(conn, ta.tenant_id, 3)
    with db.tenant_tx(tb.tenant_id) as conn:
        _suggestions(conn, tb.tenant_id, 2)
    count = ("select count(*) as n, count(distinct tenant_id) as tenants "
             "from ads.suggestions", None)
    setting = ("select current_setting('app.tenant_id') as t", None)
    (n,), (s,) = db.tenant_batch(ta.tenant_id, [count, setting])
    assert (n["n"], n["tenants"], s["t"]) == (3, 1, str(ta.tenant_id))
    assert db.tenant_batch(tb.tenant_id, [count])[0][0]["n"] == 2
    # an error in a later statement rolls back the earlier ones' writes
    upd = ("update ads.suggestions set entity_name = 'changed'", None)
    with pytest.raises(psycopg.errors.DivisionByZero):
        db.tenant_batch(ta.tenant_id, [upd, ("select 1 / 0", None)])
    # the block of tenant_tx_batch decides: raising rolls back what the statements wrote
    with pytest.raises(RuntimeError), db.tenant_tx_batch(ta.tenant_id, [upd]) as (conn, rows):
        assert rows == [[]]
        raise RuntimeError("refused after reading")
    with db.tenant_tx(ta.tenant_id) as conn:
        names = {r["entity_name"] for r in conn.execute("select entity_name from ads.suggestions")}
    assert "changed" not in names
    with db.app_tx() as conn:  # the tenant does not outlive the batch on the pooled connection
        assert conn.execute("select current_setting('app.tenant_id', true) as t"
                            ).fetchone()["t"] in (None, "")
        assert conn.execute("select count(*) as n from ads.suggestions").fetchone()["n"] == 0


def _count_hops(monkeypatch) -> list[str]:
    """Count the hops to worker threads: anyio's (FastAPI's sync dependencies and routes, and
    run_in_threadpool, all go through anyio.to_thread.run_sync) and growthops' own
    (growthops.web.deps.in_worker_thread, the hot routes')."""
    from growthops.web import deps

    hops: list[str] = []
    real, own = anyio.to_thread.run_sync, deps.in_worker_thread

    async def counted(fn: Any, *args: Any, **kw: Any) -> Any:
        hops.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kw)

    async def counted_own(fn: Any) -> Any:
        hops.append(getattr(fn, "__name__", repr(fn)))
        return await own(fn)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    monkeypatch.setattr(deps, "in_worker_thread", counted_own)
    return hops


def test_the_list_and_the_approval_take_one_thread_hop_each(db, client, monkeypatch):
    t = new_tenant(db)
    key = _key(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        ids = _suggestions(conn, t.tenant_id)
    h = {"X-API-Key": key}
    assert client.get("/api/v1/suggestions", headers=h).status_code == 200  # key cached
    hops = _count_hops(monkeypatch)
    r = client.get("/api/v1/suggestions", headers=h, params={"limit": 3})
    assert r.status_code == 200 and r.json()["total"] == 6
    assert len(hops) == 1, hops
    pending = [s["suggestion_id"] for s in client.get(
        "/api/v1/suggestions", headers=h, params={"status": "pending"}).json()["items"]]
    hops.clear()
    r = client.post(f"/api/v1/suggestions/{pending[0]}/decision", headers=h,
                    json={"decision": "approved"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "approved" and r.json()["suggestion_id"] in ids
    assert len(hops) == 1, hops  # no ad account: nothing to execute, no second transaction


def test_a_dead_keys_decision_is_rolled_back(db, client):
    t, h, sid = _cached_key_and_pending(db, client)
    _revoke_behind_the_cache(db, t)
    r = client.post(f"/api/v1/suggestions/{sid}/decision", headers=h,
                    json={"decision": "approved"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "InvalidApiKey"
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select status from ads.suggestions where suggestion_id = %s",
                            [sid]).fetchone()["status"] == "pending"
        assert conn.execute("select count(*) as n from ads.decisions").fetchone()["n"] == 0
        assert conn.execute("select count(*) as n from ads.audit_log").fetchone()["n"] == 0


def test_the_decision_records_the_keys_use_in_its_one_statement(db, client):
    # the approval sends no separate liveness statement (docs/performance.md §10): its own
    # statement records the key's use, at most once a minute, as the liveness check does
    t, h, sid = _cached_key_and_pending(db, client)
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update core.api_keys set last_used_at = now() - interval '2 hours'"
                     " where tenant_id = %s", [str(t.tenant_id)])
    r = client.post(f"/api/v1/suggestions/{sid}/decision", headers=h,
                    json={"decision": "approved"})
    assert r.status_code == 201, r.text
    with db.tenant_tx(t.tenant_id) as conn:
        age = conn.execute("select now() - last_used_at as age from core.api_keys"
                           " where tenant_id = %s", [str(t.tenant_id)]).fetchone()["age"]
    assert age.total_seconds() < 60


def test_a_dead_key_gets_401_before_its_requests_faults(db, client):
    t = new_tenant(db)
    key = _key(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        sid = _pending(conn, t.tenant_id)
    h = {"X-API-Key": key}
    body = {"decision": "approved", "decided_by": "someone@agency.example"}
    r = client.post(f"/api/v1/suggestions/{sid}/decision", headers=h, json=body)
    assert r.status_code == 422  # this key does not act for people: decided_by refused
    _revoke_behind_the_cache(db, t)
    r = client.post(f"/api/v1/suggestions/{sid}/decision", headers=h, json=body)
    assert r.status_code == 401 and r.json()["error"]["type"] == "InvalidApiKey"


def test_the_approvals_execution_runs_on_the_apps_own_threads(db, client, monkeypatch):
    calls: list[tuple[str, Any, int]] = []

    def fake(database, *, tenant_id, suggestion_id, actor):
        calls.append((threading.current_thread().name, tenant_id, suggestion_id))

    monkeypatch.setattr(ex, "execute_after_approval", fake)
    with_account, without = new_tenant(db), new_tenant(db)
    with db.tenant_tx(with_account.tenant_id) as conn:
        conn.execute("insert into ads.ad_accounts (tenant_id, platform, account_id, connector) "
                     "values (%s, 'meta', 'act_1', 'sandbox')", [str(with_account.tenant_id)])
    for t in (with_account, without):
        key = _key(db, t)
        with db.tenant_tx(t.tenant_id) as conn:
            sid = _pending(conn, t.tenant_id)
        r = client.post(f"/api/v1/suggestions/{sid}/decision",
                        headers={"X-API-Key": key}, json={"decision": "approved"})
        assert r.status_code == 201, r.text
        if t is with_account:
            assert len(calls) == 1
            name, tid, got = calls[0]
            assert name.startswith("growthops-after-response")
            assert (str(tid), got) == (str(t.tenant_id), sid)
    assert len(calls) == 1  # the tenant without an ad account has nothing to execute


def test_the_hot_routes_are_matched_first(client):
    """docs/performance.md §8, §10: routes are matched in mounting order and each included
    router costs a walk of its routes, so the suggestion list and the decision of the caller's
    own tenant are routes of the app itself (mounted flat, not an included router), among the
    first five (after ``/openapi.json``), and the route matching there is the one that serves
    them."""
    from fastapi.routing import APIRoute
    from starlette.routing import Match

    app = client.app
    for method, path in (("GET", "/api/v1/suggestions"),
                         ("POST", "/api/v1/suggestions/7/decision")):
        scope = {"type": "http", "method": method, "path": path, "root_path": "",
                 "headers": [], "query_string": b"", "app": app}
        first = next(i for i, r in enumerate(app.router.routes)
                     if r.matches(scope)[0] == Match.FULL)
        assert first <= 4 and type(app.router.routes[first]) is APIRoute, (path, first)
        # and no later route would have served it (moving the router first changed no route)
        later = [r for r in app.router.routes[first + 1:] if r.matches(scope)[0] != Match.NONE]
        assert later == [], (path, later)


def test_an_own_router_mounted_flat_is_documented_and_served_as_when_included():
    """The flat mount (``OwnRouter.mount``) gives the same OpenAPI document, byte for byte,
    as FastAPI's nested inclusion of the same router, for every short router."""
    from fastapi import FastAPI

    from growthops.ads.api import audit, suggestions, validation
    from growthops.leads.api import leads, outreach

    for module in (suggestions, audit, validation, leads, outreach):
        own = module.short_router
        nested, flat = FastAPI(), FastAPI()
        nested.include_router(own)
        own.mount(flat)
        a, b = (json.dumps(x.openapi(), sort_keys=False) for x in (nested, flat))
        assert a == b and own.mount_prefix in a, module.__name__
        assert len(flat.router.routes) - len(FastAPI().router.routes) == len(own.source.routes)


def test_principals_schemes_are_documented_as_when_they_were_its_sub_dependencies(client):
    """docs/performance.md §11: ``principal`` reads the credentials itself (FastAPI no longer
    solves three sub-dependencies per request) and ``document_credentials`` writes the same
    OpenAPI document, byte for byte, as the three ``Security`` sub-dependencies did: on a
    route, through a nested dependency, in an included router, with and without parameters
    and a body; a route without it gets none."""
    from fastapi import APIRouter, Body, Depends, FastAPI, Security

    from growthops.web import credentials, deps

    # (defaults, not Annotated: this module's annotations are strings, and these are local)
    async def principal_before(x_api_key: Any = Security(credentials.api_key_header),  # noqa: B008
                               bearer: Any = Security(credentials.bearer),  # noqa: B008
                               cookie: Any = Security(credentials.session_cookie)) -> None:  # noqa: B008
        return None

    def build(who: Any) -> FastAPI:
        app, router = FastAPI(), APIRouter()

        def scope(w: Any = Depends(who)) -> None:  # noqa: B008
            return None

        @app.get("/a/{n}")
        def a(n: int, w: Any = Depends(who)) -> dict[str, int]:  # noqa: B008
            return {"n": n}

        @router.post("/b")
        def b(body: dict[str, int] = Body(), s: Any = Depends(scope)) -> dict[str, int]:  # noqa: B008
            return body

        @app.get("/c")
        def c() -> dict[str, int]:
            return {"n": 0}

        app.include_router(router, prefix="/r")
        return app

    after, before = build(deps.principal), build(principal_before)
    credentials.document_credentials(after, deps.principal)
    a, b = (json.dumps(x.openapi(), sort_keys=False) for x in (after, before))
    assert a == b and '"APIKeyCookie"' in a
    assert "security" not in after.openapi()["paths"]["/c"]["get"]
    # the app: every operation that depends on principal documents the three schemes
    spec = client.app.openapi()
    want = [{"APIKeyHeader": []}, {"HTTPBearer": []}, {"APIKeyCookie": []}]
    assert spec["paths"]["/api/v1/suggestions/{suggestion_id}/decision"]["post"]["security"] == want
    assert "security" not in spec["paths"]["/api/v1/health"]["get"]


def test_the_version_changes_with_any_change_to_the_listed_rows(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        ids = _suggestions(conn, t.tenant_id)

    def version(status=None) -> str:
        sql, params = decisions.suggestion_version_query(tenant_id=t.tenant_id, status=status)
        return db.tenant_batch(t.tenant_id, [(sql, params)])[0][0]["version"]

    first, pending = version(), version("pending")
    assert first == version() and len(first) == 32  # stable while nothing changes
    assert pending != first
    changes = [
        "update ads.suggestions set entity_name = entity_name where suggestion_id = %(a)s",
        "update ads.suggestions set confidence = confidence + 1 where suggestion_id = %(a)s",
        "delete from ads.suggestions where suggestion_id = %(b)s",
    ]
    seen = {first}
    for sql in changes:
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute(sql, {"a": ids[0], "b": ids[-1]})
        now = version()
        assert now not in seen, sql  # even an update to the same value
        seen.add(now)
    with db.tenant_tx(t.tenant_id) as conn:  # free the entities' pending slot, then insert
        conn.execute("update ads.suggestions set status = 'refused' where status = 'pending'")
    seen.add(version())
    with db.tenant_tx(t.tenant_id) as conn:
        _suggestions(conn, t.tenant_id, 1)
    assert version() not in seen
    # the session's time zone is part of it (the page's timestamps are written in it)
    with db.tenant_tx(t.tenant_id, rollback=True) as conn:
        conn.execute("select set_config('TimeZone', 'Asia/Kolkata', true)")
        sql, params = decisions.suggestion_version_query(tenant_id=t.tenant_id)
        assert conn.execute(sql, params).fetchone()["version"] != version()


def test_a_remembered_page_is_sent_only_while_its_version_holds(db, client, monkeypatch):
    from growthops.ads.api import suggestions as routes

    t = new_tenant(db)
    key = _key(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        ids = _suggestions(conn, t.tenant_id)
    h = {"X-API-Key": key}
    built: list[int] = []
    real = decisions.suggestion_page_query

    def counted(**kw: Any) -> Any:
        built.append(1)
        return real(**kw)

    monkeypatch.setattr(decisions, "suggestion_page_query", counted)

    def fresh(**params: Any) -> bytes:
        """The page read from the rows, with nothing remembered."""
        routes.PAGES.clear()
        r = client.get("/api/v1/suggestions", headers=h, params=params)
        assert r.status_code == 200
        return r.content

    first = fresh(limit=4)
    built.clear()
    r = client.get("/api/v1/suggestions", headers=h, params={"limit": 4})
    assert r.content == first and not built  # the version held: the page was not built
    # another page, another status: each its own entry
    assert client.get("/api/v1/suggestions", headers=h,
                      params={"limit": 4, "offset": 4}).json()["offset"] == 4
    assert len(built) == 1
    for sql in ("update ads.suggestions set entity_name = 'renamed' where suggestion_id = %s",
                "update ads.suggestions set entity_name = entity_name where suggestion_id = %s",
                "delete from ads.suggestions where suggestion_id = %s"):
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute(sql, [ids[1]])
        built.clear()
        got = client.get("/api/v1/suggestions", headers=h, params={"limit": 4}).content
        assert built == [1], sql  # changed rows: read again
        assert got == fresh(limit=4), sql
    assert b"renamed" not in got and json.loads(got)["total"] == 5
    # another tenant's page is never this one's, and a revoked key gets 401, not the page
    other = new_tenant(db)
    with db.tenant_tx(other.tenant_id) as conn:
        _suggestions(conn, other.tenant_id)
    r = client.get("/api/v1/suggestions", headers={"X-API-Key": _key(db, other)},
                   params={"limit": 4})
    assert r.status_code == 200 and r.content != got
    client.get("/api/v1/suggestions", headers=h, params={"limit": 4})  # remembered again
    _revoke_behind_the_cache(db, t)
    r = client.get("/api/v1/suggestions", headers=h, params={"limit": 4})
    assert r.status_code == 401 and r.json()["error"]["type"] == "InvalidApiKey"


def test_the_page_cache_forgets_old_and_least_used_pages(monkeypatch):
    from growthops.ads.api import suggestions as routes

    cache = routes.PageCache(size=2, ttl=10)
    clock = [100.0]
    monkeypatch.setattr(routes.time, "monotonic", lambda: clock[0])
    cache.put(("a",), "v1", "A")
    cache.put(("b",), "v1", "B")
    assert cache.get(("a",)) == ("v1", "A")  # a used: b is now the least recently used
    cache.put(("c",), "v1", "C")
    assert cache.get(("b",)) is None and cache.get(("c",)) == ("v1", "C")
    clock[0] += 11
    assert cache.get(("a",)) is None  # older than ttl


def test_a_refused_decision_is_explained_after_the_one_round_trip(db, client):
    t = new_tenant(db)
    key = _key(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        sid = _pending(conn, t.tenant_id)
    h = {"X-API-Key": key}
    body = {"decision": "approved"}
    assert client.post(f"/api/v1/suggestions/{sid}/decision", headers=h,
                       json=body).status_code == 201
    r = client.post(f"/api/v1/suggestions/{sid}/decision", headers=h, json=body)
    assert r.status_code == 409 and r.json()["error"]["type"] == "DecisionConflict"
    assert r.json()["error"]["details"]["status"] == "approved"
    r = client.post("/api/v1/suggestions/999999999/decision", headers=h, json=body)
    assert r.status_code == 404
    with db.tenant_tx(t.tenant_id) as conn:  # one decision, one audit entry
        assert conn.execute("select count(*) as n from ads.decisions").fetchone()["n"] == 1
        assert conn.execute("select count(*) as n from ads.audit_log "
                            "where action = 'suggestion.approved'").fetchone()["n"] == 1


def test_the_credentials_are_read_as_before(db, client):
    t = new_tenant(db)
    key = _key(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        _suggestions(conn, t.tenant_id)
    ok = {"X-API-Key": key}
    assert client.get("/api/v1/suggestions", headers=ok).json()["total"] == 6
    both = {**ok, "Authorization": "Basic Zm9vOmJhcg==", "Cookie": "growthops_session=junk"}
    assert client.get("/api/v1/suggestions", headers=both).json()["total"] == 6  # the key wins
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/suggestions", headers=bearer).json()["total"] == 6
    # a key that is sent must be valid: no fallback to the bearer (nor to a session)
    r = client.get("/api/v1/suggestions", headers={"X-API-Key": key[:-2] + "xx", **bearer})
    assert r.status_code == 401
    # an empty X-API-Key is no key: the bearer is read
    assert client.get("/api/v1/suggestions",
                      headers={"X-API-Key": "", **bearer}).status_code == 200
    r = client.get("/api/v1/suggestions")
    assert r.status_code == 401 and r.json()["error"]["type"] == "LoginRequired"
