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
    "core.tenant_agents(uuid)": "test_tenant_agents_lists_staff_and_that_tenants_agents_only",
    "inbox.receive_webhook(text, bytea, jsonb, text)": "test_webhook_functions",
    "inbox.take_webhook(bigint)": "test_webhook_functions",
    "inbox.finish_webhook(bigint, text, jsonb)": "test_webhook_functions",
    "inbox.count_rejection(text, text)": "test_webhook_functions",
    "inbox.webhook_stats(timestamp with time zone)": "test_webhook_functions",
    "inbox.requeue_webhooks(interval)": "test_webhook_upkeep_functions",
    "inbox.purge_webhooks(interval)": "test_webhook_upkeep_functions",
    "inbox.route_accounts(text, text[])": "test_route_accounts_returns_live_accounts_of_those_ids",
    "leads.form_token_lookup(text)": "test_form_token_lookup_returns_one_live_token",
    "leads.origin_registered(text)": "test_origin_registered_is_true_for_live_tokens_only",
    "leads.outreach_token_lookup(text)": "test_outreach_token_lookup_returns_one_emails_tenant",
    "ads.queue_daily_cycle()": "test_queue_daily_cycle_queues_only_the_callers_cycle",
    "inbox.kb_text_candidates(uuid, tsquery, integer)":
        "test_kb_text_candidates_returns_the_callers_tenants_matches_only",
    "ads.refresh_industry_patterns(integer)": "test_industry_aggregates_show_no_group_under_k",
    "ads.refresh_performance_benchmarks(integer, integer)":
        "test_industry_aggregates_show_no_group_under_k",
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
        assert set(rows[0]) == {"tenant_id", "key_id", "name", "key_hash", "acts_for_people",
                                "scopes"}
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


def test_tenant_agents_lists_staff_and_that_tenants_agents_only(db: Database) -> None:
    a, b = new_tenant(db), new_tenant(db)
    mine = users.create_user(db, email=_email("ag"), password=PASSWORD, role="support_agent",
                             tenant_id=a.tenant_id)
    theirs = users.create_user(db, email=_email("ag"), password=PASSWORD, role="support_agent",
                               tenant_id=b.tenant_id)
    off = users.create_user(db, email=_email("ag"), password=PASSWORD, role="support_agent",
                            tenant_id=a.tenant_id)
    users.set_active(db, email=off.email, active=False)
    viewer = users.create_user(db, email=_email("ag"), password=PASSWORD, role="client_viewer",
                               tenant_id=a.tenant_id)
    staff = users.create_user(db, email=_email("ag"), password=PASSWORD, role="media_buyer")
    with db.app_tx() as conn:
        cur = conn.execute("select * from core.tenant_agents(%s)", [a.tenant_id])
        cols = [c.name for c in cur.description]
        got = {r["email"] for r in cur.fetchall()}
    assert cols == ["user_id", "email", "role"]
    assert {mine.email, staff.email} <= got
    assert not {theirs.email, off.email, viewer.email} & got


def test_kb_text_candidates_returns_the_callers_tenants_matches_only(db: Database) -> None:
    """Full-text candidates through the GIN index: the transaction's tenant's enabled FAQ
    entries and chunks matching the query, at most ``p_limit`` per table; another tenant's
    id (even its own rows' tenant named under another tenant's transaction) gives nothing."""
    from growthops.inbox.ai import kb

    a, b = new_tenant(db), new_tenant(db)
    for t in (a, b):
        with db.tenant_tx(t.tenant_id) as conn:
            kb.add_faq(conn, tenant_id=t.tenant_id, entries=[
                {"question": "Can a parrot travel?", "answer": "Yes, parrots travel."},
                {"question": "Is the parrot fed?", "answer": "Parrot food is included."},
                {"question": "Opening hours?", "answer": "Nine to five."}])
            conn.execute("update inbox.faq_qa set enabled = false where tenant_id = %s "
                         "and question = 'Is the parrot fed?'", [t.tenant_id])
            doc = kb.add_document(conn, tenant_id=t.tenant_id, title="d", filename="d.txt",
                                  data=f"parrot {t.tenant_id}".encode())["document_id"]
            conn.execute("""insert into inbox.knowledge_chunks (tenant_id, document_id,
                              chunk_index, content, tsconfig, tsv)
                            values (%s, %s, 0, 'A parrot cage', 'english',
                                    to_tsvector('english', 'A parrot cage'))""",
                         [t.tenant_id, doc])
    with db.tenant_tx(a.tenant_id) as conn:
        cur = conn.execute("select * from inbox.kb_text_candidates(%s, 'parrot', null)",
                           [a.tenant_id])
        cols = [c.name for c in cur.description]
        got = cur.fetchall()
        mine = {r["faq_id"] for r in conn.execute(
            "select faq_id from inbox.faq_qa where question = 'Can a parrot travel?'")}
        limited = conn.execute("select count(*) n from inbox.kb_text_candidates(%s, 'parrot', 0)",
                               [a.tenant_id]).fetchone()["n"]
        other = conn.execute("select count(*) n from inbox.kb_text_candidates(%s, 'parrot', null)",
                             [b.tenant_id]).fetchone()["n"]
    assert cols == ["kind", "ref_id", "tsv"]
    assert sorted(r["kind"] for r in got) == ["chunk", "faq"]
    assert {r["ref_id"] for r in got if r["kind"] == "faq"} == mine  # enabled, own tenant
    assert limited == 0 and other == 0
    with db.app_tx() as conn:  # no tenant in the transaction: nothing
        assert conn.execute("select count(*) n from inbox.kb_text_candidates(%s, 'parrot', null)",
                            [a.tenant_id]).fetchone()["n"] == 0


def _event(conn, event_id: int) -> dict:
    return conn.execute("select * from inbox.webhook_events where event_id = %s",
                        [event_id]).fetchone()


def test_webhook_functions(fresh_db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    db = fresh_db
    with db.app_tx() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from inbox.webhook_events limit 1")
    with db.app_tx() as conn:
        e1 = conn.execute("select inbox.receive_webhook('whatsapp', %s, '{}', 'current') as e",
                          [b'{"a": 1}']).fetchone()["e"]
        e2 = conn.execute("select inbox.receive_webhook('instagram', %s, '{}', 'previous') as e",
                          [b'{"b": 2}']).fetchone()["e"]
        (took,) = conn.execute("select * from inbox.take_webhook(%s)", [e1]).fetchall()
        assert bytes(took["body"]) == b'{"a": 1}' and took["attempts"] == 1
        assert conn.execute("select * from inbox.take_webhook(%s)", [-1]).fetchall() == []
        conn.execute("select inbox.finish_webhook(%s, null, '{\"messages\": 1}')", [e1])
        conn.execute("select inbox.count_rejection('whatsapp', 'bad_signature')")
        conn.execute("select inbox.count_rejection('whatsapp', 'bad_signature')")
        stats = {r["platform"]: r for r in conn.execute(
            "select * from inbox.webhook_stats(%s)",
            [datetime.now(UTC) - timedelta(hours=1)]).fetchall()}
    assert stats["whatsapp"]["stored"] == 1 and stats["whatsapp"]["processed"] == 1
    assert stats["instagram"]["pending"] == 1
    assert stats["whatsapp"]["rejected"] == {"bad_signature": 2}
    with db.admin() as conn:
        one, two = _event(conn, e1), _event(conn, e2)
        jobs = conn.execute("select queueing_lock from procrastinate_jobs "
                            "where task_name = 'inbox.process_webhook'").fetchall()
    assert one["processed_at"] is not None and one["summary"] == {"messages": 1}
    assert two["processed_at"] is None and two["attempts"] == 0  # only the one event touched
    assert {j["queueing_lock"] for j in jobs} == {f"inbox.webhook:{e1}", f"inbox.webhook:{e2}"}


def test_webhook_upkeep_functions(fresh_db: Database) -> None:
    db = fresh_db
    with db.app_tx() as conn:
        done, pending, recent = (conn.execute(
            "select inbox.receive_webhook('whatsapp', %s, '{}', 'current') as e",
            [b"{}"]).fetchone()["e"] for _ in range(3))
        conn.execute("select inbox.finish_webhook(%s, null, null)", [done])
    with db.admin() as conn:
        conn.execute("update inbox.webhook_events set received_at = now() - interval '40 days' "
                     "where event_id = any(%s)", [[done, pending]])
        conn.execute("delete from procrastinate_jobs")  # the worker took them and died
    with db.app_tx() as conn:
        assert conn.execute("select inbox.requeue_webhooks('1 hour') as n").fetchone()["n"] == 1
        # a job is waiting now: not queued twice
        assert conn.execute("select inbox.requeue_webhooks('1 hour') as n").fetchone()["n"] == 0
        assert conn.execute("select inbox.purge_webhooks('30 days') as n").fetchone()["n"] == 1
    with db.admin() as conn:
        left = {r["event_id"] for r in conn.execute("select event_id from inbox.webhook_events")}
        locks = {r["queueing_lock"] for r in conn.execute("select queueing_lock from "
                                                          "procrastinate_jobs")}
    assert left == {pending, recent}  # only the processed, old one was purged
    assert locks == {f"inbox.webhook:{pending}"}


def test_route_accounts_returns_live_accounts_of_those_ids(db: Database) -> None:
    from growthops.inbox.accounts import connect

    a, b = new_tenant(db), new_tenant(db)
    ids = {k: f"{k}-{uuid.uuid4().hex[:8]}" for k in ("a", "b", "gone", "ig")}
    with db.tenant_tx(a.tenant_id) as conn:
        connect(conn, tenant_id=a.tenant_id, platform="whatsapp", account_id=ids["a"],
                connector="sandbox", account_name="A")
        gone = connect(conn, tenant_id=a.tenant_id, platform="whatsapp", account_id=ids["gone"],
                       connector="sandbox", account_name="gone")
        conn.execute("update inbox.social_accounts set status = 'revoked' "
                     "where social_account_id = %s", [gone["social_account_id"]])
        connect(conn, tenant_id=a.tenant_id, platform="instagram", account_id=ids["ig"],
                connector="sandbox", account_name="IG")
    with db.tenant_tx(b.tenant_id) as conn:
        connect(conn, tenant_id=b.tenant_id, platform="whatsapp", account_id=ids["b"],
                connector="sandbox", account_name="B")
    q = "select * from inbox.route_accounts('whatsapp', %s)"
    with db.app_tx() as conn:
        got = {(r["account_id"], str(r["tenant_id"])) for r in conn.execute(
            q, [[ids["a"], ids["b"], ids["gone"], ids["ig"], "%"]]).fetchall()}
        assert conn.execute(q, [["%"]]).fetchall() == []
    assert got == {(ids["a"], str(a.tenant_id)), (ids["b"], str(b.tenant_id))}


def _form_token(db: Database, tenant, origin: str) -> dict:
    from growthops.leads.settings import create_form_token

    with db.tenant_tx(tenant.tenant_id) as conn:
        return create_form_token(conn, tenant_id=tenant.tenant_id, name="site", origins=[origin])


def test_form_token_lookup_returns_one_live_token(db: Database) -> None:
    from growthops.leads.settings import revoke_form_token

    a, b = new_tenant(db), new_tenant(db)
    live = _form_token(db, a, "https://a.example")
    dead = _form_token(db, a, "https://a.example")
    _form_token(db, b, "https://b.example")
    with db.tenant_tx(a.tenant_id) as conn:
        revoke_form_token(conn, tenant_id=a.tenant_id, token_id=dead["token_id"])
    q = "select * from leads.form_token_lookup(%s)"
    with db.app_tx() as conn:
        (row,) = conn.execute(q, [live["token"]]).fetchall()
        assert (str(row["tenant_id"]), row["token_id"]) == (str(a.tenant_id), live["token_id"])
        assert set(row) == {"tenant_id", "token_id", "allowed_origins"}
        for probe in (dead["token"], "%", "", live["token"][:-1]):
            assert conn.execute(q, [probe]).fetchall() == []


def test_origin_registered_is_true_for_live_tokens_only(db: Database) -> None:
    from growthops.leads.settings import revoke_form_token

    t = new_tenant(db)
    site = f"https://{uuid.uuid4().hex[:8]}.example"
    old = f"https://{uuid.uuid4().hex[:8]}.example"
    _form_token(db, t, site)
    dead = _form_token(db, t, old)
    with db.tenant_tx(t.tenant_id) as conn:
        revoke_form_token(conn, tenant_id=t.tenant_id, token_id=dead["token_id"])
    q = "select leads.origin_registered(%s) as ok"
    with db.app_tx() as conn:
        assert conn.execute(q, [site]).fetchone()["ok"] is True
        for probe in (old, "%", "", site + "/"):
            assert conn.execute(q, [probe]).fetchone()["ok"] is False


def test_outreach_token_lookup_returns_one_emails_tenant(db: Database) -> None:
    """The public links' lookup: one token → its e-mail's tenant and id, nothing else."""
    from growthops.leads.outreach import campaigns, templates
    from growthops.leads.prospects import store

    a, b = new_tenant(db), new_tenant(db)
    for t in (a, b):
        with db.tenant_tx(t.tenant_id) as conn:
            store.import_csv(conn, tenant_id=t.tenant_id,
                             data="business_name,email\nA Co,a@a.example\n")
            tpl = templates.create(conn, tenant_id=t.tenant_id, name="t", subject="s",
                                   html_content="<p>x</p>", plain_content="x")
            camp = campaigns.create_campaign(conn, tenant_id=t.tenant_id, name="c",
                                             template_id=tpl["template_id"])
            campaigns.generate(conn, tenant_id=t.tenant_id, campaign_id=camp["campaign_id"])
    with db.tenant_tx(a.tenant_id) as conn:
        tok = conn.execute("select token, email_id from leads.outreach_emails").fetchone()
    with db.app_tx() as conn:
        rows = conn.execute("select * from leads.outreach_token_lookup(%s)",
                            [tok["token"]]).fetchall()
        assert rows == [{"tenant_id": a.tenant_id, "email_id": tok["email_id"]}]
        assert conn.execute("select * from leads.outreach_token_lookup('nope')").fetchall() == []
        # without a tenant the app role sees no e-mail directly
        assert conn.execute("select count(*) n from leads.outreach_emails").fetchone()["n"] == 0
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


def test_industry_aggregates_show_no_group_under_k(db: Database) -> None:
    """ads.refresh_industry_patterns / refresh_performance_benchmarks (migration 0110): only
    groups of at least max(k, 5) tenants, aggregates only (no tenant id), even when k < 5."""
    from datetime import date, timedelta

    industry = "finance"
    tenants = [new_tenant(db, industry=industry) for _ in range(5)]
    for i, t in enumerate(tenants[: 4]):   # four tenants on google: under the floor
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute(
                """insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day,
                       spend, impressions, clicks, conversions, conversion_value)
                   select %s, 'google', 'campaign', 'c1', %s::date - g, 10, 1000, %s, 1, 30
                   from generate_series(0, 4) g""", [t.tenant_id, date(2026, 3, 1), 10 + i])
    with db.app_tx() as conn:
        conn.execute("select ads.refresh_performance_benchmarks(1, 30)")
        assert not conn.execute("select 1 from ads.performance_benchmarks where "
                                "industry_vertical = %s", [industry]).fetchone()
    with db.tenant_tx(tenants[4].tenant_id) as conn:
        conn.execute(
            """insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day, spend,
                   impressions, clicks, conversions, conversion_value)
               select %s, 'google', 'campaign', 'c1', %s::date - g, 10, 1000, 20, 1, 30
               from generate_series(0, 4) g""", [tenants[4].tenant_id, date(2026, 3, 1) - timedelta(days=1)])
    with db.app_tx() as conn:
        conn.execute("select ads.refresh_performance_benchmarks(1, 30)")
        row = conn.execute("select * from ads.performance_benchmarks where industry_vertical = %s "
                           "and metric_name = 'ctr'", [industry]).fetchone()
        assert row["n_tenants"] == 5 and row["source"] == "k_anonymous_aggregate"
        assert row["percentile_50"] == pytest.approx(0.012)   # median of 0.010 ... 0.013, 0.020
        assert "tenant_id" not in row
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.app_tx() as conn:
        conn.execute("insert into ads.performance_benchmarks (platform, industry_vertical, "
                     "metric_name, benchmark_value, source) values ('meta', 'x', 'ctr', 1, 'me')")
    with db.tenant_tx(tenants[0].tenant_id) as conn:  # readable by any tenant: aggregates only
        assert conn.execute("select count(*) as n from ads.performance_benchmarks where "
                            "industry_vertical = %s", [industry]).fetchone()["n"] == 6
