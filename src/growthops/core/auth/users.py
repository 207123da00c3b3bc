"""User accounts of the dashboard and the API: roles, argon2id passwords, login.

Roles:

* ``admin`` and ``media_buyer``: the agency's staff; they see every tenant. Only they decide
  on suggestions (``can_decide``).
* ``client_viewer``: a client's read-only account, bound to exactly one tenant
  (``tenant_id``); any other tenant is invisible to it (the API answers 404, not 403).
* ``support_agent``: a client's support person, bound to one tenant like a viewer; reads it and
  answers its inbox (reply, escalate, assign, resolve: ``can_answer``) but does not decide on
  suggestions.

Passwords are hashed with argon2id (``argon2-cffi``) at the parameters of the OWASP Password
Storage Cheat Sheet (m = 19 MiB, t = 2, p = 1), the same as API keys. Length rules follow OWASP
ASVS 4.0.3 V2.1.1-2.1.2: at least 12 characters, at most 128, any characters. A password is
never logged, stored in clear, put in an exception message or returned.

Storage: ``core.users`` (migration 0008) is not tenant-owned and the application role has no
grant on it. Login and session lookups go through the SECURITY DEFINER functions
``core.user_by_email`` and ``core.user_by_id``; creating, listing, disabling and re-enabling
users use the owner connection (``db.admin()``), as creating a tenant does.

Failure path: an unknown e-mail, a wrong password and a disabled account raise the same
:class:`InvalidCredentials` after the same work (one argon2 verification, against a dummy hash
when the e-mail is unknown), so the answer's content and timing do not reveal which e-mails exist.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from growthops.core.db import Database
from growthops.core.errors import Conflict, GrowthopsError, InvalidInput, NotFound
from growthops.core.i18n import LANGS

Role = Literal["admin", "media_buyer", "client_viewer", "support_agent"]
ROLES: tuple[str, ...] = ("admin", "media_buyer", "client_viewer", "support_agent")
#: Roles bound to exactly one tenant (core.users.viewer_tenant_id).
TENANT_ROLES: tuple[str, ...] = ("client_viewer", "support_agent")
#: Source: OWASP ASVS 4.0.3 V2.1.1 (>= 12 characters) and V2.1.2 (<= 128 characters).
MIN_PASSWORD, MAX_PASSWORD = 12, 128
#: argon2id parameters. Source: OWASP Password Storage Cheat Sheet (argon2id, m=19 MiB, t=2, p=1).
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the e-mail is unknown, so a miss costs as much as a hit.
_DUMMY_HASH = HASHER.hash("growthops-dummy-password-for-timing")
_USER_COLUMNS = ("user_id, email, role, viewer_tenant_id as tenant_id, lang, active, created_at, "
                 "last_login_at")


class InvalidCredentials(GrowthopsError):
    """Unknown e-mail, wrong password or disabled account (HTTP 401; one message for all)."""

    exit_code = 77
    http_status = 401


class LoginRequired(GrowthopsError):
    """No valid session or API key (HTTP 401 on the API; pages redirect to ``/login``)."""

    exit_code = 77
    http_status = 401


class PermissionDenied(GrowthopsError):
    """The authenticated user may see the object but not do this (HTTP 403)."""

    exit_code = 77
    http_status = 403


@dataclass(frozen=True)
class User:
    """A user account (never its password hash).

    ``tenant_id`` is set for a ``client_viewer`` or ``support_agent`` only; ``lang`` is ``en`` or
    ``fr``.
    """

    user_id: UUID
    email: str
    role: Role
    tenant_id: UUID | None = None
    lang: str = "en"
    active: bool = True
    created_at: datetime | None = field(default=None, compare=False)
    last_login_at: datetime | None = field(default=None, compare=False)

    def can_access(self, tenant_id: UUID | str) -> bool:
        """Return True when the user may read ``tenant_id``'s data.

        Admins and media buyers: every tenant; a client_viewer or support_agent: only its own.
        """
        if self.role in ("admin", "media_buyer"):
            return True
        return self.tenant_id is not None and str(self.tenant_id) == str(tenant_id)

    @property
    def can_decide(self) -> bool:
        """True when the user may approve, refuse or backlog suggestions (the agency's staff)."""
        return self.role in ("admin", "media_buyer")

    @property
    def can_answer(self) -> bool:
        """True when the user may answer an inbox it can access (everyone but a client_viewer)."""
        return self.role != "client_viewer"

    @property
    def is_admin(self) -> bool:
        """True for the ``admin`` role."""
        return self.role == "admin"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        """Build a user from a ``core.users`` row (extra columns such as the hash are dropped)."""
        return cls(
            user_id=UUID(str(row["user_id"])),
            email=row["email"],
            role=row["role"],
            tenant_id=UUID(str(row["tenant_id"])) if row.get("tenant_id") else None,
            lang=row.get("lang") or "en",
            active=bool(row.get("active", True)),
            created_at=row.get("created_at"),
            last_login_at=row.get("last_login_at"),
        )


def _check_password(password: Any) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters are required "
            "(OWASP ASVS V2.1.1)"
        )
    return password


def _check_email(email: Any) -> str:
    value = email.strip().lower() if isinstance(email, str) else ""
    local, _, domain = value.partition("@")
    if (
        not local
        or not domain
        or "@" in domain
        or any(c.isspace() for c in value)
        or len(value) > 254
    ):
        raise InvalidInput(f"email: {email!r} is not an e-mail address")
    return value


def create_user(
    db: Database,
    *,
    email: str,
    password: str,
    role: str,
    tenant_id: UUID | str | None = None,
    lang: str = "en",
) -> User:
    """Create a user through the owner connection and return it.

    ``role``: admin, media_buyer, client_viewer or support_agent; ``tenant_id`` is required for
    a client_viewer or support_agent and refused for the other roles. ``email`` is stored lower-cased.
    Raises :class:`InvalidInput` (bad e-mail, password length, role, lang, tenant binding),
    :class:`Conflict` (e-mail taken), :class:`NotFound` (no such tenant).
    """
    address = _check_email(email)
    secret = _check_password(password)
    if role not in ROLES:
        raise InvalidInput(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if lang not in LANGS:
        raise InvalidInput(f"lang: {lang!r} is not one of {', '.join(LANGS)}")
    if role in TENANT_ROLES and tenant_id is None:
        raise InvalidInput(f"tenant: a {role} must be bound to one tenant")
    if role not in TENANT_ROLES and tenant_id is not None:
        raise InvalidInput(f"tenant: a {role} sees every tenant and is bound to none")
    try:
        tid = UUID(str(tenant_id)) if tenant_id is not None else None
    except ValueError:
        raise InvalidInput(f"tenant: {tenant_id!r} is not a tenant id") from None
    with db.admin() as conn:
        try:
            row = conn.execute(
                f"""insert into core.users (email, password_hash, role, viewer_tenant_id, lang)
                    values (%s, %s, %s, %s, %s) returning {_USER_COLUMNS}""",
                [address, HASHER.hash(secret), role, tid, lang],
            ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"email: a user {address!r} exists already") from None
        except psycopg.errors.ForeignKeyViolation:
            raise NotFound(f"tenant: no tenant {tid}") from None
    assert row is not None
    return User.from_row(row)


def authenticate(db: Database, *, email: str, password: str) -> User:
    """Return the active user with this e-mail and password; :class:`InvalidCredentials` else.

    Runs on an application connection (``core.user_by_email``). Unknown e-mail, wrong password
    and disabled account cost one argon2 verification each and raise the same error.
    """
    address = email.strip().lower() if isinstance(email, str) else ""
    secret = password if isinstance(password, str) else ""
    row = None
    if address and len(secret) <= MAX_PASSWORD:
        with db.app_tx() as conn:
            row = conn.execute("select * from core.user_by_email(%s)", [address]).fetchone()
    ok = False
    try:
        ok = HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, secret[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or not row["active"]:
        raise InvalidCredentials("invalid e-mail or password")
    with contextlib.suppress(psycopg.Error), db.app_tx() as conn:
        conn.execute("select core.user_logged_in(%s)", [row["user_id"]])
    return User.from_row(row)


def get_user(db: Database, user_id: UUID | str) -> User:
    """Return the user with this id (active or not); :class:`NotFound` otherwise.

    Runs on an application connection (``core.user_by_id``); the caller checks ``active``.
    """
    try:
        uid = UUID(str(user_id))
    except ValueError:
        raise NotFound(f"no user {user_id!r}") from None
    with db.app_tx() as conn:
        row = conn.execute("select * from core.user_by_id(%s)", [uid]).fetchone()
    if row is None:
        raise NotFound(f"no user {uid}")
    return User.from_row(row)


def list_users(db: Database, *, tenant_id: UUID | str | None = None) -> list[User]:
    """Return every user ordered by e-mail (owner connection), or only a tenant's viewers."""
    where, params = ("where viewer_tenant_id = %s", [str(tenant_id)]) if tenant_id else ("", [])
    with db.admin() as conn:
        rows = conn.execute(
            f"select {_USER_COLUMNS} from core.users {where} order by email", params
        ).fetchall()
    return [User.from_row(r) for r in rows]


_REVOKE_SQL = """update core.sessions set revoked_at = now(), revoked_reason = %s
                 where user_id = %s and revoked_at is null"""


def set_active(db: Database, *, email: str, active: bool) -> User:
    """Disable (``active=False``) or re-enable a user by e-mail; return it. Idempotent.

    Disabling revokes every session of the user (``core.sessions``, reason ``disabled``) in the
    same transaction: re-enabling does not bring them back. Raises :class:`NotFound` when no
    user has this e-mail.
    """
    address = _check_email(email)
    with db.admin() as conn:
        row = conn.execute(
            f"""update core.users set active = %s, updated_at = now() where email = %s
                returning {_USER_COLUMNS}""",
            [active, address],
        ).fetchone()
        if row is not None and not active:
            conn.execute(_REVOKE_SQL, ["disabled", row["user_id"]])
    if row is None:
        raise NotFound(f"email: no user {address!r} (see: growthops users list)")
    return User.from_row(row)


def set_lang(db: Database, *, user_id: UUID | str, lang: str) -> None:
    """Save a user's display language (``en`` or ``fr``) through the application role.

    Raises :class:`InvalidInput` naming ``lang`` for another value.
    """
    if lang not in LANGS:
        raise InvalidInput(f"lang: {lang!r} is not one of {', '.join(LANGS)}")
    with db.app_tx() as conn:
        conn.execute("select core.user_set_lang(%s, %s)", [str(user_id), lang])


def set_password(db: Database, *, email: str, password: str) -> User:
    """Replace a user's password and revoke all its sessions (reason ``password_changed``), in
    one owner transaction. Raises :class:`NotFound` or :class:`InvalidInput`."""
    address = _check_email(email)
    secret = _check_password(password)
    with db.admin() as conn:
        row = conn.execute(
            f"""update core.users set password_hash = %s, updated_at = now() where email = %s
                returning {_USER_COLUMNS}""",
            [HASHER.hash(secret), address],
        ).fetchone()
        if row is not None:
            conn.execute(_REVOKE_SQL, ["password_changed", row["user_id"]])
    if row is None:
        raise NotFound(f"email: no user {address!r} (see: growthops users list)")
    return User.from_row(row)


def revoke_sessions(db: Database, *, email: str) -> int:
    """Revoke every live session of a user (reason ``admin``); return how many were live.

    Its next request with any of them answers 401 (pages: the login form). Owner connection.
    Raises :class:`NotFound` when no user has this e-mail.
    """
    address = _check_email(email)
    with db.admin() as conn:
        row = conn.execute("select user_id from core.users where email = %s", [address]).fetchone()
        if row is None:
            raise NotFound(f"email: no user {address!r} (see: growthops users list)")
        cur = conn.execute(_REVOKE_SQL + " and expires_at > now()", ["admin", row["user_id"]])
        return cur.rowcount
