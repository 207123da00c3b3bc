"""Issue 16: the API key cache (HMAC-named, liveness checked in the tenant transaction), the
pipelined tenant transaction, the one-query suggestion page, the thread-free rate-limit storage."""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from uuid import UUID

import limits
import psycopg
import pytest
from fastapi.testclient import TestClient
from limits.strategies import FixedWindowRateLimiter

from growthops.ads.action import decisions
from growthops.app import create_app
from growthops.core.auth import api_keys
from growthops.web.limits import WindowStorage
from tests.conftest import new_tenant


@pytest.fixture(scope="module")
def client(db):
    return TestClient(create_app(db=db))


def _key(db, tenant, name="cache"):
    with db.tenant_tx(tenant.tenant_id) as conn:
        return api_keys.create(conn, tenant_id=tenant.tenant_id, name=name)


def _cached(plaintext):
    return api_keys._cache.get(api_keys._mac(plaintext))


def test_a_revoked_key_is_refused_on_the_next_request_although_cached(db, client):
    t = new_tenant(db)
    k = _key(db, t)
    h = {"X-API-Key": k.plaintext}
    assert client.get("/api/v1/suggestions", headers=h).status_code == 200
    assert _cached(k.plaintext) is not None
    # revoked by another process: this process's cache is not told
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update core.api_keys set revoked_at = now() where key_id = %s", [k.key_id])
    assert _cached(k.plaintext) is not None
    r = client.get("/api/v1/suggestions", headers=h)
    assert r.status_code == 401 and r.json()["error"]["type"] == "InvalidApiKey"
    assert _cached(k.plaintext) is None  # dropped once found dead
    # a write route refuses it too, and nothing is written
    assert client.post("/api/v1/suggestions/1/decision", headers=h,
                       json={"decision": "approved"}).status_code == 401


def test_revoke_in_this_process_drops_the_cache_entry(db, client):
    t = new_tenant(db)
    k = _key(db, t)
    assert client.get("/api/v1/suggestions", headers={"X-API-Key": k.plaintext}).status_code == 200
    with db.tenant_tx(t.tenant_id) as conn:
        api_keys.revoke(conn, tenant_id=t.tenant_id, key=k.key_id, revoked_by="ops")
    assert _cached(k.plaintext) is None
    r = client.get("/api/v1/suggestions", headers={"X-API-Key": k.plaintext})
    assert r.status_code == 401


def test_a_key_never_hits_another_keys_entry(db, client):
    ta, tb = new_tenant(db), new_tenant(db)
    ka, kb = _key(db, ta), _key(db, tb)
    for k in (ka, kb):
        assert client.get("/api/v1/suggestions", headers={"X-API-Key": k.plaintext}).status_code == 200
    ea, eb = _cached(ka.plaintext), _cached(kb.plaintext)
    assert ea[0].tenant_id == ta.tenant_id and eb[0].tenant_id == tb.tenant_id
    assert api_keys._mac(ka.plaintext) != api_keys._mac(kb.plaintext)
    # same prefix, another secret: not the cached entry, refused by argon2
    forged = ka.plaintext[:-1] + ("A" if ka.plaintext[-1] != "A" else "B")
    assert _cached(forged) is None
    r = client.get("/api/v1/suggestions", headers={"X-API-Key": forged})
    assert r.status_code == 401
    assert _cached(forged) is None


def test_the_cache_never_holds_the_raw_key_nor_its_plain_hash(db, client):
    t = new_tenant(db)
    k = _key(db, t)
    assert client.get("/api/v1/suggestions", headers={"X-API-Key": k.plaintext}).status_code == 200
    held = repr(list(api_keys._cache.items())) + repr(list(api_keys._verified.items()))
    # the 43-character secret after gok_<12 hex>_ (it may itself contain "_": split by position)
    secret = k.plaintext[len("gok_") + 12 + 1:]
    assert len(secret) == 43
    assert k.plaintext not in held and secret not in held
    names = set(api_keys._cache)
    plain_hash = hashlib.sha256(k.plaintext.encode()).digest()
    assert plain_hash not in names and plain_hash not in api_keys._verified.values()
    assert api_keys._mac(k.plaintext) in names


def test_the_cache_expires_after_its_ttl(db):
    t = new_tenant(db)
    k = _key(db, t)
    opened = []

    @contextmanager
    def connect():
        opened.append(1)
        with db.app_tx() as conn:
            yield conn

    api_keys.forget()
    first = api_keys.verify_cached(connect, k.plaintext, now=1000.0)
    again = api_keys.verify_cached(connect, k.plaintext, now=1000.0 + api_keys.CACHE_TTL - 1)
    assert first == again and len(opened) == 1
    api_keys.verify_cached(connect, k.plaintext, now=1000.0 + api_keys.CACHE_TTL + 1)
    assert len(opened) == 2
    with pytest.raises(api_keys.InvalidApiKey):
        api_keys.verify_cached(connect, "gok_nope", now=1000.0)
    assert len(opened) == 2  # a malformed key never reaches the database


def test_tenant_tx_first_is_one_transaction_under_the_tenant(db):
    ta, tb = new_tenant(db), new_tenant(db)
    ka = _key(db, ta)
    params = {"t": str(ta.tenant_id), "k": ka.key_id}
    with db.tenant_tx_first(ta.tenant_id, api_keys.LIVENESS_SQL, params) as (conn, row):
        assert row["live"] is True
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("select current_setting('app.tenant_id') as t").fetchone()["t"] == str(
            ta.tenant_id)
    # under tenant B, row-level security hides A's key: not live
    with db.tenant_tx_first(tb.tenant_id, api_keys.LIVENESS_SQL, params) as (conn, row):
        assert row["live"] is False
    # an error rolls back; the setting does not outlive the transaction
    with pytest.raises(RuntimeError), db.tenant_tx(ta.tenant_id) as conn:
        conn.execute("update core.api_keys set name = 'changed' where key_id = %s", [ka.key_id])
        raise RuntimeError("boom")
    with db.tenant_tx(ta.tenant_id, rollback=True) as conn:
        conn.execute("update core.api_keys set name = 'rolled' where key_id = %s", [ka.key_id])
        with conn.transaction():  # nested: a savepoint, the tenant still set
            assert conn.execute("select count(*) as n from core.api_keys").fetchone()["n"] == 1
    with db.tenant_tx(ta.tenant_id) as conn:
        assert conn.execute("select name from core.api_keys where key_id = %s",
                            [ka.key_id]).fetchone()["name"] == "cache"
    with db.app_tx() as conn:
        assert conn.execute("select current_setting('app.tenant_id', true) as t"
                            ).fetchone()["t"] in (None, "")


def test_suggestion_page_and_total_in_one_query(db, client):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute(
            """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
                 expected_impact, texts, predicted_metrics, action_params, evidence, confidence,
                 platform, entity_type, entity_id, entity_name, expires_at)
               select %s, current_date, 'scale', 'high', 'a', 'r', 'e', '{}'::jsonb,
                      '{}'::jsonb, '{}'::jsonb, '{}'::jsonb, g, 'meta', 'adset', 'e' || g,
                      'Ad set ' || g, now() + interval '1 day'
               from generate_series(1, 7) g""",
            [str(t.tenant_id)],
        )
        rows, total = decisions.list_suggestions(conn, tenant_id=t.tenant_id, limit=3, offset=2)
        assert total == 7 and len(rows) == 3 and "total_rows" not in rows[0]
        assert [r["confidence"] for r in rows] == [5, 4, 3]
        assert decisions.list_suggestions(conn, tenant_id=t.tenant_id, offset=50)[1] == 7
        assert decisions.list_suggestions(conn, tenant_id=t.tenant_id, status="approved") == ([], 0)


def test_window_storage_counts_expires_and_starts_no_thread():
    store = WindowStorage()
    limiter = FixedWindowRateLimiter(store)
    item = limits.parse("3/minute")
    before = threading.active_count()
    assert [limiter.hit(item, "a") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "b")  # another address, its own window
    assert threading.active_count() == before
    assert store.get_expiry(item.key_for("a")) > 0
    store.incr("short", expiry=-1)  # already expired
    assert store.get("short") == 0
    store.clear(item.key_for("a"))
    assert limiter.hit(item, "a")
    assert store.reset() == 1 + 1


def test_a_new_keys_first_requests_together_verify_it_once(monkeypatch):
    """docs/performance.md §8: requests arriving together with a key not yet cached wait for
    one verification (argon2) instead of each running their own; a wrong key is verified on
    every attempt (nothing cached)."""
    import time as _time

    calls: list[str] = []
    ident = api_keys.ApiKeyIdentity(UUID(int=1), 1, "k", "0" * 12,
                                    ("api",), False)

    def slow_verify(conn, plaintext):
        calls.append(plaintext)
        _time.sleep(0.2)  # argon2's time, so that the others arrive while it runs
        if plaintext.endswith("A" * 43):
            return ident
        raise api_keys.InvalidApiKey("invalid or revoked API key")

    @contextmanager
    def connect():
        yield None

    monkeypatch.setattr(api_keys, "verify", slow_verify)
    good, bad = "gok_" + "a" * 12 + "_" + "A" * 43, "gok_" + "b" * 12 + "_" + "B" * 43
    api_keys.forget()
    out: list[object] = []

    def call(key):
        try:
            out.append(api_keys.verify_cached(connect, key))
        except api_keys.InvalidApiKey as e:
            out.append(e)

    threads = [threading.Thread(target=call, args=(k,)) for k in [good] * 6 + [bad] * 3]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    api_keys.forget()
    assert calls.count(good) == 1
    assert calls.count(bad) == 3
    assert sum(o is ident for o in out) == 6
    assert sum(isinstance(o, api_keys.InvalidApiKey) for o in out) == 3
    assert api_keys._flights == {}
