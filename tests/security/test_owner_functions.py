"""The functions that run with the owner's rights (SECURITY DEFINER): each returns or changes
only what it should, called as the application role.

:data:`OWNER_FUNCTIONS` lists every such function with the test proving it;
:func:`test_every_owner_function_is_listed_locked_down_and_tested` reads the catalogue, so a new
SECURITY DEFINER function without a test here fails the suite. (docs/security.md carries the
same table.)
"""

from __future__ import annotations

import hashlib
import uuid

import psycopg
import pytest

from growthops.core.auth import api_keys, users
from growthops.core.db import APP_ROLE, Database
from tests.conftest import new_tenant

PASSWORD = "correct horse battery"
OWNER_FUNCTIONS = {
    "core.tenant_directory()": "test_tenant_directory_gives_names_and_zones_only",
    "core.api_key_lookup(text)": "test_api_key_lookup_returns_the_live_keys_of_one_prefix",
    "core.tenant_by_slack_channel(text)": "test_tenant_by_slack_channel_returns_that_channels",
    "core.slack_user_lookup(text)": "test_slack_user_lookup_returns_one_mapping",
    "core.user_by_email(text)": "test_user_by_email_returns_one_user",
    "core.user_by_id(uuid)": "test_user_by_id_returns_no_hash",
    "core.user_logged_in(uuid)": "test_user_logged_in_touches_one_active_user",
    "core.user_set_lang(uuid, text)": "test_user_set_lang_changes_one_user_and_only_to_en_fr",
    "core.session_start(text, uuid, integer, jsonb)": "test_session_functions",
    "core.session_get(text)": "test_session_functions",
    "core.session_save(text, jsonb)": "test_session_functions",
    "core.session_end(text, text)": "test_session_functions",
    "ads.queue_daily_cycle()": "test_queue_daily_cycle_queues_only_the_callers_cycle",
}


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@agency.example"


def test_every_owner_function_is_listed_locked_down_and_tested(db: Database) -> None:
    with db.admin() as conn:
        rows = conn.execute(
            """select n.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes)
                      || ')' as sig, p.proconfig, p.proacl::text as acl
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace
               where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')"""
        ).fetchall()
    found = {r["sig"].replace("character varying", "text"): r for r in rows}
    assert set(found) == set(OWNER_FUNCTIONS), "a SECURITY DEFINER function lacks its test"
    for sig, r in found.items():
        assert any(c.startswith("search_path=") for c in r["proconfig"] or []), sig
        acl = (r["acl"] or "").strip("{}").split(",")
        assert r["acl"] and not any(a.startswith("=") for a in acl), f"{sig}: PUBLIC executes"
        assert any(a.startswith(f"{APP_ROLE}=X/") for a in acl), sig
    tests = globals()
    assert all(name in tests for name in OWNER_FUNCTIONS.values())


def test_the_app_role_reads_no_user_nor_session_table(db: Database) -> None:
    for table in ("core.users", "core.sessions"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.app_tx() as conn:
            conn.execute(f"select * from {table} limit 1")


def test_tenant_directory_gives_names_and_zones_only(db: Database) -> None:
    t = new_tenant(db, slack_channel_id="CSECRET01", monthly_budget_max=1000)
    with db.app_tx() as conn:
        cur = conn.execute("select * from core.tenant_directory()")
        cols = [c.name for c in cur.description]
        rows = cur.fetchall()
    assert cols == ["tenant_id", "client_key", "client_name", "time_zone", "currency"]
    assert t.client_key in {r["client_key"] for r in rows}


def test_api_key_lookup_returns_the_live_keys_of_one_prefix(db: Database) -> None:
    a, b = new_tenant(db), new_tenant(db)
    with db.tenant_tx(a.tenant_id) as conn:
        live = api_keys.create(conn, tenant_id=a.tenant_id, name="live")
        dead = api_keys.create(conn, tenant_id=a.tenant_id, name="dead")
        api_keys.revoke(conn, tenant_id=a.tenant_id, key=dead.prefix)
    with db.tenant_tx(b.tenant_id) as conn:
        api_keys.create(conn, tenant_id=b.tenant_id, name="other")
    with db.app_tx() as conn:
        rows = conn.execute("select * from core.api_key_lookup(%s)", [live.prefix]).fetchall()
        assert [(r["key_id"], str(r["tenant_id"])) for r in rows] == [
            (live.key_id, str(a.tenant_id))]
        assert set(rows[0]) == {"tenant_id", "key_id", "name", "key_hash", "acts_for_people"}
        for probe in (dead.prefix, "%", "", live.prefix[:6]):
            assert conn.execute("select * from core.api_key_lookup(%s)", [probe]).fetchall() == []


def test_tenant_by_slack_channel_returns_that_channels(db: Database) -> None:
    chan = "C" + uuid.uuid4().hex[:9].upper()
    a = new_tenant(db, slack_channel_id=chan)
    b = new_tenant(db, slack_validation_channel=chan)
    new_tenant(db, slack_channel_id="C" + uuid.uuid4().hex[:9].upper())
    with db.app_tx() as conn:
        got = {str(r["tenant_id"]) for r in conn.execute(
            "select * from core.tenant_by_slack_channel(%s)", [chan]).fetchall()}
        assert got == {str(a.tenant_id), str(b.tenant_id)}
        for probe in ("%", "", None):
            assert conn.execute("select * from core.tenant_by_slack_channel(%s)",
                                [probe]).fetchall() == []


def test_slack_user_lookup_returns_one_mapping(db: Database) -> None:
    from growthops.core.auth.slack_users import link

    a, b = new_tenant(db), new_tenant(db)
    buyer = users.create_user(db, email=_email("s"), password=PASSWORD, role="media_buyer")
    link(db, tenant_id=a.tenant_id, slack_user_id="U0SECTEST1", email=buyer.email)
    q = "select * from core.slack_user_lookup(%s)"
    with db.tenant_tx(a.tenant_id) as conn:
        (row,) = conn.execute(q, ["U0SECTEST1"]).fetchall()
        assert str(row["user_id"]) == str(buyer.user_id) and row["role"] == "media_buyer"
        assert "password_hash" not in row
        assert conn.execute(q, ["%"]).fetchall() == []
    with db.tenant_tx(b.tenant_id) as conn:  # another tenant: its mappings only
        assert conn.execute(q, ["U0SECTEST1"]).fetchall() == []
    with db.app_tx() as conn:  # no tenant: nothing
        assert conn.execute(q, ["U0SECTEST1"]).fetchall() == []
    users.set_active(db, email=buyer.email, active=False)
    with db.tenant_tx(a.tenant_id) as conn:
        assert conn.execute(q, ["U0SECTEST1"]).fetchall() == []  # disabled


def test_user_by_email_returns_one_user(db: Database) -> None:
    u = users.create_user(db, email=_email("e"), password=PASSWORD, role="admin")
    users.create_user(db, email=_email("e"), password=PASSWORD, role="admin")
    with db.app_tx() as conn:
        rows = conn.execute("select * from core.user_by_email(%s)", [u.email.upper()]).fetchall()
        assert [str(r["user_id"]) for r in rows] == [str(u.user_id)]
        for probe in ("%", "", "%@agency.example"):
            assert conn.execute("select * from core.user_by_email(%s)", [probe]).fetchall() == []


def test_user_by_id_returns_no_hash(db: Database) -> None:
    u = users.create_user(db, email=_email("i"), password=PASSWORD, role="admin")
    with db.app_tx() as conn:
        (row,) = conn.execute("select * from core.user_by_id(%s)", [u.user_id]).fetchall()
        assert "password_hash" not in row and row["email"] == u.email
        assert conn.execute("select * from core.user_by_id(%s)", [uuid.uuid4()]).fetchall() == []


def _user_row(db: Database, user_id) -> dict:
    with db.admin() as conn:
        return conn.execute("select * from core.users where user_id = %s", [user_id]).fetchone()


def test_user_logged_in_touches_one_active_user(db: Database) -> None:
    u = users.create_user(db, email=_email("l"), password=PASSWORD, role="admin")
    other = users.create_user(db, email=_email("l"), password=PASSWORD, role="admin")
    off = users.create_user(db, email=_email("l"), password=PASSWORD, role="admin")
    users.set_active(db, email=off.email, active=False)
    with db.app_tx() as conn:
        for uid in (u.user_id, off.user_id):
            conn.execute("select core.user_logged_in(%s)", [uid])
    assert _user_row(db, u.user_id)["last_login_at"] is not None
    assert _user_row(db, other.user_id)["last_login_at"] is None
    assert _user_row(db, off.user_id)["last_login_at"] is None


def test_user_set_lang_changes_one_user_and_only_to_en_fr(db: Database) -> None:
    u = users.create_user(db, email=_email("g"), password=PASSWORD, role="admin")
    other = users.create_user(db, email=_email("g"), password=PASSWORD, role="admin")
    with db.app_tx() as conn:
        conn.execute("select core.user_set_lang(%s, 'fr')", [u.user_id])
        conn.execute("select core.user_set_lang(%s, 'de')", [other.user_id])
    assert _user_row(db, u.user_id)["lang"] == "fr"
    assert _user_row(db, other.user_id)["lang"] == "en"


def test_session_functions(db: Database) -> None:
    u = users.create_user(db, email=_email("x"), password=PASSWORD, role="admin")
    off = users.create_user(db, email=_email("x"), password=PASSWORD, role="admin")
    users.set_active(db, email=off.email, active=False)
    h1, h2, h3 = (hashlib.sha256(str(i).encode() + uuid.uuid4().bytes).hexdigest()
                  for i in range(3))
    with db.app_tx() as conn:
        start = "select core.session_start(%s, %s, %s, '{}') as e"
        assert conn.execute(start, [h1, u.user_id, 3600]).fetchone()["e"] is not None
        assert conn.execute(start, [h2, u.user_id, 3600]).fetchone()["e"] is not None
        assert conn.execute(start, [h3, off.user_id, 3600]).fetchone()["e"] is None  # disabled
        get = "select * from core.session_get(%s)"
        (row,) = conn.execute(get, [h1]).fetchall()
        assert set(row) == {"user_id", "data", "expires_at"}
        assert conn.execute(get, [h3]).fetchall() == [] and conn.execute(get, ["%"]).fetchall() == []
        conn.execute("select core.session_save(%s, '{\"csrf\": \"t\"}')", [h1])
        conn.execute("select core.session_end(%s, 'admin')", [h2])  # not the app's to use
        conn.execute("select core.session_end(%s, 'logout')", [h1])
        assert conn.execute(get, [h1]).fetchall() == []
        assert len(conn.execute(get, [h2]).fetchall()) == 1  # only the one session ended
        conn.execute("select core.session_save(%s, '{\"csrf\": \"u\"}')", [h1])  # ended: no-op
    with pytest.raises(psycopg.errors.InvalidParameterValue), db.app_tx() as conn:
        conn.execute("select core.session_start(%s, %s, %s, '{}')", [h3, u.user_id, 10**9])
    with db.admin() as conn:
        data = conn.execute("select data from core.sessions where session_hash = %s",
                            [h1]).fetchone()["data"]
    assert data == {"csrf": "t"}


def test_queue_daily_cycle_queues_only_the_callers_cycle(db: Database) -> None:
    """ads.queue_daily_cycle (migration 0102): the transaction's tenant only, one waiting job."""
    a = new_tenant(db)
    with db.tenant_tx(a.tenant_id) as conn:
        first = conn.execute("select ads.queue_daily_cycle() j").fetchone()["j"]
        again = conn.execute("select ads.queue_daily_cycle() j").fetchone()["j"]
    assert first == again
    with db.admin() as conn:
        job = conn.execute("select args from procrastinate_jobs where id = %s", [first]).fetchone()
    assert job["args"]["tenant_id"] == str(a.tenant_id)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.app_tx() as conn:
        conn.execute("select ads.queue_daily_cycle()")  # no tenant bound
