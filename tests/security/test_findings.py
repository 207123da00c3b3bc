"""Regression tests of the seven findings of issue 8 (each failed on the code before its fix).

Numbers follow the issue: 1 body size, 2 login rate limit, 3 session revocation, 4 malformed
input answered 500, 5 NUL in a CSV import, 6 platform errors leaking the token, 7 API keys
deciding in someone else's name.
"""

from __future__ import annotations

import dataclasses
import json

from typer.testing import CliRunner

from growthops.cli import app as cli_app
from growthops.core.auth import users
from growthops.web.sessions import SESSION_COOKIE
from tests.api.conftest import PASSWORD, World, synthetic_tenant, unique_email
from tests.security.conftest import app_client

JSON = {"content-type": "application/json"}


# ----------------------------------------------------------------------- 1. body size
def test_1_an_oversized_body_is_refused_with_413_before_it_is_parsed(world: World):
    client = world.client()
    big = b"[" + b"1," * (1 << 20) + b"1]"  # 2 MiB of JSON array
    r = client.post("/api/v1/auth/login", content=big, headers=JSON)
    assert r.status_code == 413 and r.json()["error"]["type"] == "PayloadTooLarge"
    assert len(r.content) < 1000

    def chunks():  # streamed without Content-Length: counted as it arrives
        for _ in range(40):
            yield b" " * 65536

    r = client.post("/api/v1/auth/login", content=chunks(), headers=JSON)
    assert r.status_code == 413
    # every route, including the pages' forms
    r = client.post("/login", content=b"email=" + b"a" * (2 << 20),
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_1_error_answers_quote_a_bounded_excerpt_of_the_input(world: World):
    client = world.client()
    r = client.post("/api/v1/auth/login", json={"email": "x" * 500_000, "password": "y"})
    assert r.status_code == 422 and len(r.content) < 4000
    r = client.post("/api/v1/auth/login", content=json.dumps([1] * 200_000), headers=JSON)
    assert r.status_code == 422 and len(r.content) < 4000
    tid = world.a.tenant.client_key
    keyed = world.client(world.a.key)
    r = keyed.post(f"/api/v1/tenants/{tid}/validation",
                   json=[{"item_type": i} for i in range(50_000)])
    assert r.status_code == 422 and len(r.content) < 8000


# -------------------------------------------------------------------- 2. login attempts
def test_2_failed_logins_lock_the_account_with_429_and_retry_after(world: World):
    client = app_client(world.db)
    address = unique_email("brute")
    users.create_user(world.db, email=address, password=PASSWORD, role="media_buyer")
    for _ in range(10):
        r = client.post("/api/v1/auth/login", json={"email": address, "password": "wrong guess!!"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json()["error"]["type"] == "TooManyRequests"
    assert SESSION_COOKIE not in r.cookies
    # the dashboard's form shares the account's counter
    r = client.post("/login", data={"email": address, "password": PASSWORD, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_2_login_attempts_per_address_are_limited(world: World):
    client = app_client(world.db, rate_limit_login_address="5/minute")
    codes = [client.post("/api/v1/auth/login",
                         json={"email": unique_email("spray"), "password": "wrong guess!!"}
                         ).status_code for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]


def test_2_a_good_login_resets_the_accounts_failures(world: World):
    client = app_client(world.db)
    address = unique_email("typo")
    users.create_user(world.db, email=address, password=PASSWORD, role="media_buyer")
    for _ in range(3):
        for _ in range(9):
            client.post("/api/v1/auth/login", json={"email": address, "password": "wrong!!wrong"})
        r = client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
        assert r.status_code == 200


# ------------------------------------------------------------------ 3. session revocation
def _logged_in(world: World, address: str):
    client = world.client()
    r = client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert r.status_code == 200
    return client, client.cookies[SESSION_COOKIE]


def test_3_a_cookie_saved_before_logout_no_longer_works(world: World):
    address = unique_email("leaver")
    users.create_user(world.db, email=address, password=PASSWORD, role="admin")
    client, saved = _logged_in(world, address)
    assert client.post("/api/v1/auth/logout").status_code == 204
    thief = world.client()
    thief.cookies.set(SESSION_COOKIE, saved)
    assert thief.get("/api/v1/auth/me").status_code == 401


def test_3_a_password_change_ends_every_session(world: World):
    address = unique_email("changer")
    users.create_user(world.db, email=address, password=PASSWORD, role="admin")
    first, _ = _logged_in(world, address)
    second, _ = _logged_in(world, address)
    users.set_password(world.db, email=address, password="a brand new passphrase")
    assert first.get("/api/v1/auth/me").status_code == 401
    assert second.get("/api/v1/auth/me").status_code == 401


def test_3_an_admin_revokes_a_users_sessions_from_the_cli(world: World):
    address = unique_email("revoked")
    users.create_user(world.db, email=address, password=PASSWORD, role="media_buyer")
    client, _ = _logged_in(world, address)
    res = CliRunner().invoke(cli_app, ["users", "revoke-sessions", address])
    assert res.exit_code == 0 and "1 session(s)" in res.output
    assert client.get("/api/v1/auth/me").status_code == 401
    # the user can log in again
    again, _ = _logged_in(world, address)
    assert again.get("/api/v1/auth/me").status_code == 200


def test_3_the_cookie_is_an_opaque_id(world: World):
    address = unique_email("opaque")
    user = users.create_user(world.db, email=address, password=PASSWORD, role="admin")
    _, cookie = _logged_in(world, address)
    assert str(user.user_id) not in cookie and address not in cookie and "." not in cookie


# -------------------------------------------------------------------- 4. malformed input
def test_4_deep_nesting_is_422_not_500(world: World):
    keyed = world.client(world.a.key)
    base = f"/api/v1/tenants/{world.a.tenant.client_key}/validation"
    for depth in (40, 900, 5000):
        content: object = "x"
        for _ in range(depth):
            content = {"a": content}
        body = {"item_type": "ad_creative", "item_name": "deep", "content": content}
        r = keyed.post(base, content=json.dumps(body) if depth < 1000 else
                       '{"item_type": "ad_creative", "item_name": "d", "content": '
                       + '{"a": ' * depth + "1" + "}" * depth + "}", headers=JSON)
        assert r.status_code in (400, 422), (depth, r.status_code)
        assert len(r.content) < 4000


def test_4_lone_surrogates_and_non_finite_numbers_are_422(db, world: World):
    t = synthetic_tenant(db)
    buyer = world.client(world.buyer)
    base = f"/api/v1/tenants/{t.client_key}"
    sid = buyer.get(f"{base}/suggestions").json()["items"][0]["suggestion_id"]
    raw = '{"decision": "refused", "notes": "bad \\ud800 text"}'
    r = buyer.post(f"{base}/suggestions/{sid}/decision", content=raw, headers=JSON)
    assert r.status_code == 422 and "surrogate" in r.json()["error"]["message"]
    for number in ("NaN", "Infinity", "-Infinity"):
        raw = '{"item_type": "ad_creative", "item_name": "n", "ttl_hours": ' + number + "}"
        r = buyer.post(f"{base}/validation", content=raw, headers=JSON)
        assert r.status_code == 422, r.text
        assert "finite" in r.json()["error"]["message"]
    # nothing was stored
    assert buyer.get(f"{base}/suggestions/{sid}").json()["status"] == "pending"


# ------------------------------------------------------------------- 5. NUL in a CSV import
HEADER = ("platform,level,entity_id,day,entity_name,campaign_id,adset_id,spend,impressions,"
          "reach,clicks,leads,conversions,conversion_value\n")


def test_5_a_nul_byte_in_a_csv_is_reported_by_line_and_column(db, tmp_path):
    import pytest

    from growthops.ads.metrics.importer import import_metrics
    from growthops.core.errors import ImportRejected
    from tests.conftest import new_tenant

    t = new_tenant(db)
    f = tmp_path / "nul.csv"
    f.write_bytes((HEADER + "meta,ad,a1,2026-01-05,Spring,c1,s1,10,100,,1,0,0,0\n"
                   "meta,ad,a2,2026-01-05,Bad\x00name,c1,s1,10,100,,1,0,0,0\n").encode())
    with db.tenant_tx(t.tenant_id) as conn, pytest.raises(ImportRejected) as exc:
        import_metrics(conn, tenant_id=t.tenant_id, path=f, fmt="growthops")
    (rej,) = exc.value.rejected
    assert (rej.line, rej.column) == (3, "entity_name") and "NUL" in rej.reason
    assert "line 3, column 'entity_name'" in str(exc.value)
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select count(*) n from ads.metrics_daily").fetchone()["n"] == 0
    # the command line prints the report and exits 2 (no traceback)
    res = CliRunner().invoke(cli_app, ["import", "ads", str(f), "--tenant", t.client_key,
                                       "--format", "growthops"])
    assert res.exit_code == 2 and "line 3, column 'entity_name'" in res.output


def test_also_seen_importer_refuses_year_one_and_exponent_counts(db, tmp_path):
    import pytest

    from growthops.ads.metrics.importer import import_metrics
    from growthops.core.errors import ImportRejected
    from tests.conftest import new_tenant

    t = new_tenant(db)
    f = tmp_path / "odd.csv"
    f.write_text(HEADER + "meta,ad,a1,0001-01-01,x,c1,s1,10,100,,1,0,0,0\n"
                 "meta,ad,a2,2026-01-05,x,c1,s1,10,1e3,,1,0,0,0\n")
    with db.tenant_tx(t.tenant_id) as conn, pytest.raises(ImportRejected) as exc:
        import_metrics(conn, tenant_id=t.tenant_id, path=f, fmt="growthops")
    rej = {r.line: r for r in exc.value.rejected}
    assert rej[2].column == "day" and "2000-01-01" in rej[2].reason
    assert rej[3].column == "impressions" and "exponent" in rej[3].reason


# ------------------------------------------------------- 6. platform errors leaking a token
OPAQUE_TOKEN = "opaque-graph-credential-7c1e9a55d0"  # no token shape: only the registry knows it
SHAPED_TOKEN = "EAAGm0PX4ZCpsBAKZB7xJ2hZAexampleZBtokenZD"
ADSET = "120210000000000101"


def _echoing_graph(token: str):
    from tests.connectors.graph_server import GraphServer

    class EchoingGraph(GraphServer):
        """A Graph server whose error text carries the access token it was sent."""

        def answer(self, method, path, query, form):
            if method == "POST":
                sent = form.get("access_token") or query.get("access_token")
                return 400, {"error": {"message": f"(#100) Invalid parameter for token {sent}",
                                       "type": "OAuthException", "code": 100,
                                       "error_user_msg": f"token={sent} refused"}}
            return super().answer(method, path, query, form)

    return EchoingGraph(token)


def _all_text(db, tenant_id) -> str:
    """Every row of every table of the core and ads schemas, as text (owner connection)."""
    with db.admin() as conn:
        tables = conn.execute(
            """select format('%I.%I', schemaname, tablename) as t from pg_tables
               where schemaname in ('core', 'ads')""").fetchall()
        return "\n".join(
            str(r["x"]) for t in tables
            for r in conn.execute(f"select t::text as x from {t['t']} t").fetchall())


def test_6_a_platform_error_echoing_the_token_is_scrubbed_everywhere(db, world, monkeypatch,
                                                                      caplog):
    import logging

    from growthops.ads.action import execution as ex
    from growthops.connectors.registry import register_account
    from growthops.core import secrets
    from tests.ads.test_execution import NOW, add_suggestion
    from tests.conftest import new_tenant

    monkeypatch.setenv(secrets.ENV_VAR, secrets.generate_key())
    caplog.set_level(logging.DEBUG)
    for token in (OPAQUE_TOKEN, SHAPED_TOKEN):
        t = new_tenant(db)
        with _echoing_graph(token) as graph:
            with db.tenant_tx(t.tenant_id) as conn:
                register_account(conn, tenant_id=t.tenant_id, platform="meta", connector="meta",
                                 account_id="1234567890", credentials={"access_token": token},
                                 settings={"base_url": graph.url})
            sid = add_suggestion(db, t.tenant_id, type="pause", entity_id=ADSET)
            out = ex.execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=sid, now=NOW)
            assert graph.requests, "the platform was called"
        assert out.status == "failed" and "Invalid parameter" in out.message
        assert token not in out.message and "[REDACTED]" in out.message
        stored = _all_text(db, t.tenant_id)
        assert "Invalid parameter for token [REDACTED]" in stored
        assert token not in stored, "the token is stored in clear"
        assert token not in caplog.text
        # shown: the API (as the tenant's viewer) and the dashboard
        key = world.client(__import__("tests.api.conftest", fromlist=["make_key"]).make_key(db, t))
        base = f"/api/v1/tenants/{t.client_key}"
        for path in ("/executions", "/audit", f"/suggestions/{sid}/history"):
            r = key.get(base + path)
            assert r.status_code == 200 and token not in r.text, path
        staff = world.client(world.admin)
        page = staff.get(f"/t/{t.client_key}/suggestions", params={"status": "failed"})
        assert page.status_code == 200 and token not in page.text


# --------------------------------------------------- 7. API keys deciding in someone's name
def test_7_a_plain_api_key_decides_as_itself_and_cannot_name_a_user(db, world: World):
    from tests.api.conftest import make_key

    t = synthetic_tenant(db)
    plain = world.client(make_key(db, t, acts_for_people=False))
    base = f"/api/v1/tenants/{t.client_key}"
    sids = [s["suggestion_id"] for s in plain.get(f"{base}/suggestions").json()["items"]]
    r = plain.post(f"{base}/suggestions/{sids[0]}/decision",
                   json={"decision": "refused", "decided_by": world.admin.email})
    assert r.status_code == 422 and "acts as itself" in r.json()["error"]["message"]
    r = plain.post(f"{base}/suggestions/{sids[0]}/decision", json={"decision": "refused"})
    assert r.status_code == 201, r.text
    label = r.json()["decided_by"]
    assert label.startswith("apikey:tests#") and r.json()["api_key_id"] == int(label.split("#")[1])
    audit = plain.get(f"{base}/audit", params={"object_id": str(sids[0])}).json()["items"]
    assert [a["actor"] for a in audit] == [label]
    # a key made to relay people's decisions names the person, and is on record beside it
    relay = world.client(make_key(db, t, acts_for_people=True))
    r = relay.post(f"{base}/suggestions/{sids[1]}/decision",
                   json={"decision": "backlog", "decided_by": "dana"})
    assert r.status_code == 201 and r.json()["decided_by"] == "dana"
    assert r.json()["api_key_id"] is not None
    audit = relay.get(f"{base}/audit", params={"object_id": str(sids[1])}).json()["items"]
    assert audit[0]["after"]["via_key"].startswith("apikey:tests#")
    decided = relay.get(f"{base}/decisions").json()["items"]
    assert {d["decided_by"] for d in decided} == {label, "dana"}
    assert all(d["api_key_id"] for d in decided)


# ---------------------------------------------------- also seen: Slack users need a mapping
def test_also_seen_an_unmapped_or_read_only_slack_user_cannot_decide(db):
    from growthops.ads.reporting import slack_actions as sa
    from growthops.core.auth.slack_users import link
    from growthops.core.errors import InvalidInput as Invalid

    chan = "C" + __import__("uuid").uuid4().hex[:9].upper()
    t = synthetic_tenant(db)
    with db.admin() as conn:
        conn.execute("update core.tenants set slack_channel_id = %s where tenant_id = %s",
                     [chan, t.tenant_id])
    with db.tenant_tx(t.tenant_id) as conn:
        sid = conn.execute("select suggestion_id from ads.suggestions where status = 'pending' "
                           "order by 1 limit 1").fetchone()["suggestion_id"]
    click = sa.Click(suggestion_id=sid, decision="approved", user_id="U0CLIENT1",
                     user_name="client", channel_id=chan, message_ts=None, message=None,
                     lang="en", action_ts=None)
    out = sa.record_click(db, click)
    assert out.kind == "not_allowed"
    assert "not allowed" in sa.ephemeral_text(click, out)
    assert "autorisé" in sa.ephemeral_text(dataclasses.replace(click, lang="fr"), out)
    viewer = users.create_user(db, email=unique_email("cv"), password=PASSWORD,
                               role="client_viewer", tenant_id=t.tenant_id)
    import pytest

    with pytest.raises(Invalid):  # a read-only account cannot be given Slack decisions
        link(db, tenant_id=t.tenant_id, slack_user_id="U0CLIENT1", email=viewer.email)
    buyer = users.create_user(db, email=unique_email("sb"), password=PASSWORD, role="media_buyer")
    link(db, tenant_id=t.tenant_id, slack_user_id="U0CLIENT1", email=buyer.email)
    users.set_active(db, email=buyer.email, active=False)  # disabled: refused again
    assert sa.record_click(db, click).kind == "not_allowed"
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select count(*) n from ads.decisions where suggestion_id = %s",
                            [sid]).fetchone()["n"] == 0
    users.set_active(db, email=buyer.email, active=True)
    assert sa.record_click(db, click).kind == "decided"


def test_2_the_postgresql_store_shares_limits_between_workers(world: World):
    """Two apps (as two uvicorn workers) on the PostgreSQL store count into the same windows."""
    conf = {"rate_limit_storage": "postgres", "rate_limit_login_address": "4/minute"}
    one, two = app_client(world.db, **conf), app_client(world.db, **conf)
    with world.db.app_tx() as conn:  # a fresh window for the test's address
        conn.execute("delete from core.rate_limits")
    codes = [c.post("/api/v1/auth/login", json={"email": unique_email("w"), "password": "x"}
                    ).status_code for c in (one, two, one, two, one, two)]
    assert codes == [401, 401, 401, 401, 429, 429]
    r = two.post("/api/v1/auth/login", json={"email": unique_email("w"), "password": "x"})
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 60
