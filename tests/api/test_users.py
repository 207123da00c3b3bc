"""User accounts: roles, argon2 passwords, login failures, disabled users, sessions, the CLI."""

from __future__ import annotations

import logging
import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthops.app import create_app
from growthops.cli import app as cli_app
from growthops.core.auth import users
from growthops.core.auth.users import InvalidCredentials, create_user
from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.web.sessions import SESSION_COOKIE
from tests.conftest import new_tenant

PASSWORD = "correct horse battery"


def email(tag: str = "u") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@agency.example"


def test_roles_and_tenant_binding(db, tenant):
    other = new_tenant(db)
    admin = create_user(db, email=email("admin"), password=PASSWORD, role="admin")
    buyer = create_user(db, email=email("buyer"), password=PASSWORD, role="media_buyer", lang="fr")
    viewer = create_user(
        db,
        email=email("viewer"),
        password=PASSWORD,
        role="client_viewer",
        tenant_id=tenant.tenant_id,
    )
    assert admin.can_access(tenant.tenant_id) and admin.can_access(other.tenant_id)
    assert buyer.can_access(other.tenant_id) and buyer.lang == "fr" and buyer.tenant_id is None
    assert viewer.can_access(tenant.tenant_id) and viewer.can_access(str(tenant.tenant_id))
    assert not viewer.can_access(other.tenant_id)
    assert admin.can_decide and buyer.can_decide and not viewer.can_decide
    assert users.get_user(db, viewer.user_id) == viewer


@pytest.mark.parametrize(
    ("fields", "fault"),
    [
        ({"role": "client_viewer"}, "tenant"),
        ({"role": "admin", "tenant": True}, "tenant"),
        ({"role": "owner"}, "role"),
        ({"role": "admin", "lang": "de"}, "lang"),
        ({"role": "admin", "password": "short"}, "password"),
        ({"role": "admin", "password": "x" * 129}, "password"),
        ({"role": "admin", "email": "not-an-email"}, "email"),
    ],
)
def test_invalid_users_are_refused_naming_the_field(db, tenant, fields, fault):
    tid = tenant.tenant_id if fields.pop("tenant", False) else None
    kwargs = {"email": email(), "password": PASSWORD, "tenant_id": tid, **fields}
    with pytest.raises(InvalidInput, match=f"^{fault}:"):
        create_user(db, **kwargs)


def test_duplicate_email_is_a_conflict_case_insensitively(db):
    address = email("dup")
    create_user(db, email=address, password=PASSWORD, role="admin")
    with pytest.raises(Conflict):
        create_user(db, email=address.upper(), password=PASSWORD, role="media_buyer")


def test_unknown_tenant_is_not_found(db):
    with pytest.raises(NotFound):
        create_user(
            db, email=email(), password=PASSWORD, role="client_viewer", tenant_id=uuid.uuid4()
        )


def test_authenticate_and_every_failure_looks_the_same(db):
    address = email("login")
    user = create_user(db, email=address, password=PASSWORD, role="media_buyer")
    assert users.authenticate(db, email=address.upper() + " ", password=PASSWORD) == user
    assert users.get_user(db, user.user_id).last_login_at is not None
    messages = set()
    for addr, pw in [
        (address, PASSWORD + "!"),
        (address, ""),
        (email("nobody"), PASSWORD),
        ("", PASSWORD),
        (address, "x" * 1000),
    ]:
        with pytest.raises(InvalidCredentials) as info:
            users.authenticate(db, email=addr, password=pw)
        messages.add(str(info.value))
    assert messages == {"invalid e-mail or password"}


def test_disabled_user_cannot_log_in_until_enabled(db):
    address = email("off")
    create_user(db, email=address, password=PASSWORD, role="admin")
    assert users.set_active(db, email=address, active=False).active is False
    with pytest.raises(InvalidCredentials, match="invalid e-mail or password"):
        users.authenticate(db, email=address, password=PASSWORD)
    users.set_active(db, email=address, active=True)
    assert users.authenticate(db, email=address, password=PASSWORD).email == address


def test_password_is_stored_as_argon2id_and_the_app_role_cannot_read_users(db):
    address = email("hash")
    create_user(db, email=address, password=PASSWORD, role="admin")
    with db.admin() as conn:
        stored = conn.execute(
            "select password_hash from core.users where email = %s", [address]
        ).fetchone()["password_hash"]
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and PASSWORD not in stored
    with db.app_tx() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from core.users")
    with db.app_tx() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("update core.users set role = 'admin'")
    with db.app_tx() as conn:
        row = conn.execute(
            "select * from core.user_by_id((select user_id from core.user_by_email(%s)))", [address]
        ).fetchone()
    assert row["email"] == address and "password_hash" not in row


def test_set_password(db):
    address = email("pw")
    create_user(db, email=address, password=PASSWORD, role="admin")
    users.set_password(db, email=address, password="another long secret")
    with pytest.raises(InvalidCredentials):
        users.authenticate(db, email=address, password=PASSWORD)
    assert users.authenticate(db, email=address, password="another long secret").email == address


# ------------------------------------------------------------------------------ over HTTP
@pytest.fixture()
def client(db):
    return TestClient(create_app(db=db))


def test_login_session_me_and_logout(client, db, tenant):
    address = email("web")
    create_user(
        db,
        email=address,
        password=PASSWORD,
        role="client_viewer",
        tenant_id=tenant.tenant_id,
        lang="fr",
    )
    assert client.get("/api/v1/auth/me").status_code == 401
    r = client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "client_viewer" and r.json()["can_decide"] is False
    assert SESSION_COOKIE in r.cookies
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    me = client.get("/api/v1/auth/me").json()
    assert (
        me["email"] == address and me["tenant_id"] == str(tenant.tenant_id) and me["lang"] == "fr"
    )
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_wrong_password_over_http_is_401_and_never_logged(client, db, caplog):
    address = email("bad")
    create_user(db, email=address, password=PASSWORD, role="admin")
    caplog.set_level(logging.DEBUG)
    r = client.post("/api/v1/auth/login", json={"email": address, "password": "wrong password!!"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "InvalidCredentials"
    assert SESSION_COOKIE not in r.cookies
    assert "wrong password!!" not in caplog.text and PASSWORD not in caplog.text
    assert client.post("/api/v1/auth/login", json={"email": address, "password": 5}).status_code \
        == 422
    r = client.post("/api/v1/auth/login", json={"email": address, "password": "p" * 200})
    assert r.status_code == 422 and "password" in r.json()["error"]["message"]
    assert "p" * 200 not in r.text


def test_disabling_a_user_ends_its_open_session(client, db):
    address = email("live")
    create_user(db, email=address, password=PASSWORD, role="media_buyer")
    client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert client.get("/api/v1/auth/me").status_code == 200
    users.set_active(db, email=address, active=False)
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["error"]["type"] == "LoginRequired"


def test_forged_or_tampered_cookie_is_refused(client, db):
    address = email("forge")
    create_user(db, email=address, password=PASSWORD, role="admin")
    client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    value = client.cookies[SESSION_COOKIE]
    # the cookie is an opaque session token: any other value must not find the session (clear
    # the jar first, or it would still send the server's cookie beside the forged one)
    i = len(value) - 6
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:])
    assert client.get("/api/v1/auth/me").status_code == 401


# ----------------------------------------------------------------------------------- CLI
def test_cli_users_create_list_disable(db, tenant):
    runner = CliRunner()
    address = email("cli")
    res = runner.invoke(
        cli_app,
        [
            "users",
            "create",
            address,
            "--role",
            "client_viewer",
            "--tenant",
            tenant.client_key,
            "--lang",
            "fr",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert PASSWORD not in res.output
    assert users.authenticate(db, email=address, password=PASSWORD).tenant_id == tenant.tenant_id
    listed = runner.invoke(
        cli_app, ["users", "list", "--tenant", tenant.client_key], catch_exceptions=False
    )
    assert address in listed.output and "client_viewer" in listed.output
    assert runner.invoke(cli_app, ["users", "disable", address]).exit_code == 0
    with pytest.raises(InvalidCredentials):
        users.authenticate(db, email=address, password=PASSWORD)
    res = runner.invoke(
        cli_app,
        ["users", "create", email(), "--role", "client_viewer", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert isinstance(res.exception, InvalidInput)


def test_a_user_chooses_their_language_and_it_is_kept(db):
    """The dashboard's language switch persists on the user (through the app role)."""
    import uuid as _uuid

    from growthops.core.auth import users

    u = users.create_user(db, email=f"lang-{_uuid.uuid4().hex[:8]}@agency.test",
                          password="correct horse battery", role="media_buyer")
    assert u.lang == "en"
    users.set_lang(db, user_id=u.user_id, lang="fr")
    assert users.get_user(db, u.user_id).lang == "fr"
    import pytest as _pytest

    from growthops.core.errors import InvalidInput

    with _pytest.raises(InvalidInput, match="lang"):
        users.set_lang(db, user_id=u.user_id, lang="de")
