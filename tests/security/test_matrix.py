"""Every route of the app (API, dashboard pages and forms, Slack; any domain's, read from the
app itself so routes added later are covered) × every attack of issue 8:

no credentials, another tenant's API key, a read-only viewer, an oversized body, deep nesting,
a lone surrogate, NaN, a NUL character (JSON and form bodies). Each answer is checked for its
expected status class, and none may be a 5xx.
"""

from __future__ import annotations

import json
import re

import pytest
from starlette.routing import Route

from tests.api.conftest import PASSWORD, World
from tests.security.conftest import app_client

UNLIMITED = {"rate_limit_default": "1000000/minute", "rate_limit_public": "1000000/minute",
             "rate_limit_auth_failures": "1000000/minute", "rate_limit_login_address":
             "1000000/minute", "rate_limit_login_account": "1000000/minute"}
DEEP = '{"a": ' * 200 + "1" + "}" * 200
ATTACKS = {
    "deep": ("application/json", '{"decision": "approved", "content": ' + DEEP + "}"),
    "surrogate": ("application/json", '{"decision": "approved", "notes": "\\ud800", '
                                      '"item_name": "\\udfff", "reason": "\\ud800"}'),
    "nan": ("application/json", '{"decision": "approved", "ttl_hours": NaN, "x": Infinity}'),
    "nul": ("application/json", '{"decision": "approved", "notes": "a\\u0000b", '
                                '"item_type": "ad_creative", "item_name": "a\\u0000"}'),
    "form_nul": ("application/x-www-form-urlencoded",
                 "email=a%00b&password=x%00&reason=%00&lang=fr%00&csrf=%00&next=%2F%00"),
    "form_surrogate": ("application/x-www-form-urlencoded", "email=%ED%A0%80&reason=%ED%A0%80"),
}


def all_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves (docs excluded), including the
    routes of included routers (FastAPI keeps them behind ``_IncludedRouter``)."""
    pairs: list[tuple[str, object]] = []
    for r in app.routes:
        if hasattr(r, "effective_route_contexts"):
            pairs += [(c.path, c.original_route) for c in r.effective_route_contexts()]
        elif isinstance(r, Route):
            pairs.append((r.path, r))
    out = set()
    for path, route in pairs:
        if path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            continue
        for m in getattr(route, "methods", None) or ():
            if m != "HEAD":
                out.add((m, path))
    return sorted(out)


def fill(path: str, tenant: str) -> str:
    def one(m: re.Match) -> str:
        name = m.group(1).split(":")[0]
        if name in ("tenant", "client_key"):
            return tenant
        if name.endswith("_id") and name != "entity_id":
            return "1"
        return {"action": "advance", "platform": "meta", "level": "adset",
                "name": "htmx.min.js"}.get(name, "x1")
    return re.sub(r"\{([^}]+)\}", one, path)


SLACK_SECRET = "matrix-signing-secret-0123456789"
META_SECRET = "matrix-meta-app-secret-0123456789"


def _client(world: World):
    from pydantic import SecretStr

    from growthops.web.slack import SlackSettings, get_slack_settings

    client = app_client(world.db, **UNLIMITED, meta_app_secret=SecretStr(META_SECRET))
    client.app.dependency_overrides[get_slack_settings] = lambda: SlackSettings(
        signing_secret=SecretStr(SLACK_SECRET))
    return client


@pytest.fixture(scope="module")
def matrix(world: World):
    client = _client(world)
    routes = all_routes(client.app)
    assert len(routes) >= 40  # API + pages + Slack
    assert any(p.startswith("/t/") for _, p in routes) and ("POST", "/slack/interactivity") \
        in routes
    return client, routes


def _no_5xx(r, what) -> None:
    assert r.status_code < 500, (what, r.status_code, r.text[:300])


def _preflight(method: str, r, what) -> bool:
    """A CORS preflight (OPTIONS) carries no credentials by the Fetch standard, so it answers
    without them; sent with no registered ``Origin`` it must allow no origin. True if handled."""
    if method != "OPTIONS":
        return False
    assert r.status_code in (204, 400, 403, 405), (what, r.status_code)
    assert "access-control-allow-origin" not in r.headers, what
    return True


def test_no_credentials(world: World, matrix):
    client, routes = matrix
    client.cookies.clear()
    for method, path in routes:
        url = fill(path, world.a.tenant.client_key)
        r = client.request(method, url, follow_redirects=False)
        _no_5xx(r, (method, url))
        if _preflight(method, r, (method, url)):
            continue
        if url.startswith("/api/v1/") and not url.startswith(("/api/v1/auth/", "/api/v1/health")):
            assert r.status_code in (401, 405, 422), (method, url, r.status_code)
        if url.startswith("/t/"):
            assert r.status_code in (303, 401, 403, 405, 422), (method, url, r.status_code)


def test_another_tenants_key(world: World, matrix):
    client, routes = matrix
    for method, path in routes:
        if "{tenant}" not in path:
            continue
        url = fill(path, world.a.tenant.client_key)
        r = client.request(method, url, headers={"X-API-Key": world.b.key}, json={})
        _no_5xx(r, (method, url))
        if _preflight(method, r, (method, url)):
            continue
        assert r.status_code in (404, 422), (method, url, r.status_code)


def test_viewer_cannot_change_anything_but_client_reviews(world: World, matrix):
    client, routes = matrix
    viewer = _client(world)
    assert viewer.post("/api/v1/auth/login", json={"email": world.a.viewer.email,
                                                    "password": PASSWORD}).status_code == 200
    for method, path in routes:
        if method != "POST" or not ("{tenant}" in path or path.startswith(("/api/v1/sugg",
                                                                           "/t/"))):
            continue
        url = fill(path, world.a.tenant.client_key)
        r = viewer.request(method, url, json={"decision": "approved", "item_type": "ad_creative",
                                             "item_name": "x"}, follow_redirects=False)
        _no_5xx(r, (method, url))
        assert r.status_code != 201, (method, url)


def test_oversized_bodies_are_413_on_every_route(world: World, matrix):
    client, routes = matrix
    big = b"x" * ((1 << 20) + 1)
    for method, path in routes:
        if method == "GET":
            continue
        url = fill(path, world.a.tenant.client_key)
        r = client.request(method, url, content=big, headers={"X-API-Key": world.a.key,
                                                              "content-type": "application/json"})
        assert r.status_code == 413, (method, url, r.status_code)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_malformed_bodies_never_answer_5xx(world: World, matrix, attack):
    client, routes = matrix
    ctype, body = ATTACKS[attack]
    staff = _client(world)
    assert staff.post("/api/v1/auth/login", json={"email": world.admin.email,
                                                   "password": PASSWORD}).status_code == 200
    for method, path in routes:
        if method not in ("POST", "PUT", "PATCH"):
            continue
        url = fill(path, world.a.tenant.client_key)
        for who in (client, staff):
            headers = {"content-type": ctype}
            if who is client:
                headers["X-API-Key"] = world.a.key
            r = who.request(method, url, content=body.encode("utf-8", "surrogatepass"),
                            headers=headers, follow_redirects=False)
            _no_5xx(r, (attack, method, url))
            if r.headers.get("content-type", "").startswith("application/json"):
                json.loads(r.text)  # a valid JSON answer, whatever was sent
            assert len(r.content) < 20_000, (attack, method, url)


def test_a_signed_slack_payload_nested_50000_deep_is_400(world: World, matrix):
    import hashlib
    import hmac
    import time
    import urllib.parse

    client, _ = matrix
    payload = '{"type": "block_actions", "x": ' + "[" * 50_000 + "]" * 50_000 + "}"
    body = urllib.parse.urlencode({"payload": payload}).encode()
    assert len(body) < (1 << 20)
    stamp = str(int(time.time()))
    mac = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body,
                   hashlib.sha256).hexdigest()
    r = client.post("/slack/interactivity", content=body, headers={
        "content-type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={mac}"})
    assert r.status_code == 400 and "deeper" in r.json()["error"]["message"]
