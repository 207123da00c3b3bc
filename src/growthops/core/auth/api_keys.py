"""Per-tenant API keys: create (plaintext shown once), verify, list, revoke.

A key reads ``gok_<prefix>_<secret>``: ``prefix`` is 12 hex characters (48 random bits, not
secret, stored in clear to find the row), ``secret`` 32 random bytes in URL-safe base64 (256
bits, from :mod:`secrets`). Only an argon2id hash of the whole key is stored (``argon2-cffi``),
with the parameters of the OWASP Password Storage Cheat Sheet (m = 19 MiB, t = 2, p = 1;
measured about 19 ms per verification on this 2-core machine). A key has 256 bits of entropy, so
the hash protects a leaked table, not a guessable secret.

Lookup happens before any tenant is known: the SECURITY DEFINER function
``core.api_key_lookup(prefix)`` (migration 0006) returns the live keys with that prefix and their
hashes; :func:`verify` checks the hash and returns the key's tenant.

**Off the hot path** (issue 16, docs/performance.md §6). A full verification costs one argon2id
hash (about 19 ms of CPU, and 19 MiB) plus a transaction around the lookup (3 round trips);
done on every request it was most of an API request's time. :func:`verify_cached` therefore
remembers a verified key's identity in process memory for :data:`CACHE_TTL` seconds, keyed by
``HMAC-SHA256(process secret, key)``: neither the key nor an unsalted hash of it is ever held,
the process secret (32 random bytes, :mod:`secrets`) lives only in memory, and a presented key
can only hit the entry made by the same key. What is cached is who the key is, never whether it
is still allowed: every tenant transaction opened for an API key re-checks, in its first round
trip (pipelined with ``BEGIN`` and the tenant setting, see
:meth:`growthops.core.db.Database.tenant_tx_first`), that the key row still exists in that
tenant and is not revoked (:data:`LIVENESS_SQL`, which also records ``last_used_at``), so a key
revoked by any process is refused on its next request, cached or not. :func:`revoke` also drops
the key from this process's cache. A cache hit costs one HMAC and a
dict lookup (about 5 µs, measured on this loaded 2-core machine; argon2id 25 ms of CPU there).

Scopes (migration 0031): ``api`` is the whole JSON API (the default, and every key made before
scopes existed); ``leads:capture`` allows only lead capture (``POST /api/v1/leads``), the key a
client's website back end holds. :func:`growthops.web.deps.principal` refuses (403) a key without
``api`` on every other route.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from growthops.core.errors import GrowthopsError, InvalidInput, NotFound

KEY_PREFIX = "gok"
_KEY_RE = re.compile(r"^gok_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
#: argon2id parameters. Source: OWASP Password Storage Cheat Sheet (argon2id, m=19 MiB, t=2, p=1).
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_CACHE_SIZE = 1024
_verified: OrderedDict[str, bytes] = OrderedDict()
_lock = threading.Lock()
#: Seconds a verified key's identity is reused without argon2 (liveness is checked anyway).
CACHE_TTL = 300.0
#: Key of the HMAC that names cache entries; random per process, never stored.
_CACHE_SECRET = secrets.token_bytes(32)
#: HMAC-SHA256(_CACHE_SECRET, key) -> (identity, monotonic expiry); at most _CACHE_SIZE entries.
_cache: OrderedDict[bytes, tuple[ApiKeyIdentity, float]] = OrderedDict()
#: HMAC name of a key being verified -> the lock its other first requests wait on.
_flights: dict[bytes, threading.Lock] = {}
#: The liveness check run first in an API key's tenant transaction (params: tenant, key id):
#: one row, ``live`` true when the key exists in the tenant and is not revoked; also records
#: the use (``last_used_at``, at most one write per key and minute, as :func:`touch`).
LIVENESS_SQL = """with used as (
      update core.api_keys set last_used_at = now()
       where tenant_id = %(t)s and key_id = %(k)s and revoked_at is null
         and (last_used_at is null or last_used_at < now() - interval '1 minute')
      returning key_id)
    select exists (select 1 from core.api_keys
                    where tenant_id = %(t)s and key_id = %(k)s and revoked_at is null) as live"""
# Verified against when the prefix is unknown, so a miss costs as much as a hit.
_DUMMY_HASH = HASHER.hash("gok_000000000000_" + "0" * 43)
#: The scopes a key may carry (see the module docstring).
SCOPES = ("api", "leads:capture")


class InvalidApiKey(GrowthopsError):
    """The API key is missing, malformed, unknown or revoked (HTTP 401)."""

    exit_code = 77
    http_status = 401


@dataclass(frozen=True)
class ApiKeyIdentity:
    """Who a verified key authenticates: its tenant, id, name, prefix, scopes, and whether it
    may name the person it acts for (``acts_for_people``, migration 0041)."""

    tenant_id: UUID
    key_id: int
    name: str
    prefix: str
    scopes: tuple[str, ...] = ("api",)
    acts_for_people: bool = False

    @property
    def label(self) -> str:
        """How the key is recorded as an author: ``apikey:<name>#<id>``."""
        return f"apikey:{self.name}#{self.key_id}"

    def allows(self, scope: str) -> bool:
        """True when the key carries ``scope`` (``api`` or ``leads:capture``)."""
        return scope in self.scopes


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``plaintext`` is shown once and never stored."""

    key_id: int
    tenant_id: UUID
    name: str
    prefix: str
    created_at: datetime
    plaintext: str
    scopes: tuple[str, ...] = ("api",)


def _digest(plaintext: str) -> bytes:
    return _mac(plaintext)  # keyed (never a plain hash of the key), see the module docstring


def create(conn: Any, *, tenant_id: UUID | str, name: str,
           created_by: str | None = None, scopes: tuple[str, ...] | list[str] = ("api",),
           acts_for_people: bool = False) -> CreatedKey:
    """Create an API key for the tenant of the current transaction; return it with its plaintext.

    ``name``: what the key is for (1-200 chars), e.g. "dashboard" or "zapier". ``scopes``: a
    non-empty subset of :data:`SCOPES` (``("leads:capture",)`` for a capture-only key).
    ``acts_for_people``: False (default), the key is the author of its changes
    (``apikey:<name>#<id>``); True, it relays people's decisions and must name the person in
    each change (the key is recorded beside the name). Runs in the caller's tenant transaction
    (never commits). Raises :class:`InvalidInput` for a bad name or scope.
    """
    label = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(label) <= 200:
        raise InvalidInput("name: a label of 1 to 200 characters is required")
    wanted = tuple(dict.fromkeys(scopes))
    if not wanted or any(s not in SCOPES for s in wanted):
        raise InvalidInput(f"scopes: {list(scopes)!r} must be a non-empty subset of {list(SCOPES)}")
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = conn.execute(
        """insert into core.api_keys (tenant_id, name, prefix, key_hash, created_by, scopes,
                                      acts_for_people)
           values (%s, %s, %s, %s, %s, %s, %s) returning key_id, created_at""",
        [str(tenant_id), label, prefix, HASHER.hash(plaintext), created_by, list(wanted),
         bool(acts_for_people)],
    ).fetchone()
    return CreatedKey(key_id=int(row["key_id"]), tenant_id=UUID(str(tenant_id)), name=label,
                      prefix=prefix, created_at=row["created_at"], plaintext=plaintext,
                      scopes=wanted)


def verify(conn: Any, plaintext: str | None) -> ApiKeyIdentity:
    """Return the identity of a live key; :class:`InvalidApiKey` otherwise.

    ``conn``: any application connection (no tenant needed; e.g. ``db.app_tx()``). The key's
    format is checked first, then ``core.api_key_lookup(prefix)``, then the argon2id hash (or the
    in-memory record of an earlier successful verification of the same key and hash).
    """
    m = _KEY_RE.match(plaintext or "")
    if m is None:
        raise InvalidApiKey("missing or malformed API key (expected gok_<prefix>_<secret>)")
    rows = conn.execute("select * from core.api_key_lookup(%s)", [m.group(1)]).fetchall()
    digest = _digest(plaintext or "")
    for r in rows:
        with _lock:
            known = _verified.get(r["key_hash"])
        if known is not None and hmac.compare_digest(known, digest):
            return _identity(r, m.group(1))
        try:
            HASHER.verify(r["key_hash"], plaintext or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
        with _lock:
            _verified[r["key_hash"]] = digest
            _verified.move_to_end(r["key_hash"])
            while len(_verified) > _CACHE_SIZE:
                _verified.popitem(last=False)
        return _identity(r, m.group(1))
    if not rows:  # same cost as a real verification: do not reveal which prefixes exist
        with contextlib.suppress(VerificationError):
            HASHER.verify(_DUMMY_HASH, plaintext or "")
    raise InvalidApiKey("invalid or revoked API key")


def _mac(plaintext: str) -> bytes:
    """The cache's name for a key: HMAC-SHA256 under the per-process secret."""
    return hmac.digest(_CACHE_SECRET, plaintext.encode(), "sha256")  # one C call


def cached(plaintext: str | None, *, now: float | None = None) -> ApiKeyIdentity | None:
    """The cached identity of a well-formed key verified in the last :data:`CACHE_TTL` seconds,
    or None (never any I/O: callable from the event loop). Raises :class:`InvalidApiKey` for a
    malformed key. Liveness is the caller's to check, as for :func:`verify_cached`."""
    if _KEY_RE.match(plaintext or "") is None:
        raise InvalidApiKey("missing or malformed API key (expected gok_<prefix>_<secret>)")
    assert plaintext is not None
    mac = _mac(plaintext)
    t = time.monotonic() if now is None else now
    with _lock:
        hit = _cache.get(mac)
        if hit is not None and hit[1] > t:
            return hit[0]
    return None


def verify_cached(connect: Any, plaintext: str | None, *, now: float | None = None
                  ) -> ApiKeyIdentity:
    """Return the identity of a key, from the cache when verified in the last
    :data:`CACHE_TTL` seconds, else by :func:`verify` (then cached).

    ``connect()``: a context manager yielding an application connection, opened only on a miss
    (e.g. ``db.app_tx``). ``now``: a ``time.monotonic()`` reading (tests). The caller MUST check
    liveness (:data:`LIVENESS_SQL`) in the tenant transaction it opens for the key: the cache
    does not know about revocations made by other processes. Raises :class:`InvalidApiKey`.
    """
    hit = cached(plaintext, now=now)
    if hit is not None:
        return hit
    assert plaintext is not None
    mac = _mac(plaintext)
    # One verification at a time per key (a single flight): the first requests of a new key
    # arriving together all missed the cache and each ran argon2 (8 at once under the
    # benchmark's warm-up, docs/performance.md §8); the others now wait for the first and
    # take its cached identity. A wrong key is still verified on every attempt.
    with _lock:
        gate = _flights.setdefault(mac, threading.Lock())
    try:
        with gate:
            hit = cached(plaintext, now=now)
            if hit is not None:
                return hit
            t = time.monotonic() if now is None else now
            with connect() as conn:
                ident = verify(conn, plaintext)
            with _lock:
                _cache[mac] = (ident, t + CACHE_TTL)
                _cache.move_to_end(mac)
                while len(_cache) > _CACHE_SIZE:
                    _cache.popitem(last=False)
            return ident
    finally:
        with _lock:
            if _flights.get(mac) is gate:
                del _flights[mac]


def forget(key_id: int | None = None) -> None:
    """Drop the cached identity of ``key_id`` (every key when None) from this process."""
    with _lock:
        for mac in [m for m, (i, _) in _cache.items() if key_id is None or i.key_id == key_id]:
            del _cache[mac]


def check_live(row: dict[str, Any] | None) -> None:
    """Raise :class:`InvalidApiKey` unless ``row`` (the :data:`LIVENESS_SQL` answer) is live."""
    if row is None or not row.get("live"):
        raise InvalidApiKey("invalid or revoked API key")


def _identity(row: dict[str, Any], prefix: str) -> ApiKeyIdentity:
    return ApiKeyIdentity(row["tenant_id"], int(row["key_id"]), row["name"], prefix,
                          tuple(row.get("scopes") or ("api",)),
                          bool(row.get("acts_for_people")))


def touch(conn: Any, *, tenant_id: UUID | str, key_id: int) -> None:
    """Record that a key was used (at most one write per key and minute)."""
    conn.execute(
        """update core.api_keys set last_used_at = now()
           where tenant_id = %s and key_id = %s
             and (last_used_at is null or last_used_at < now() - interval '1 minute')""",
        [str(tenant_id), key_id],
    )


def list_keys(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the tenant's keys (id, name, prefix, dates, who created or revoked; no hash)."""
    return conn.execute(
        """select key_id, name, prefix, scopes, acts_for_people, created_by, created_at,
                  last_used_at, revoked_at, revoked_by
           from core.api_keys where tenant_id = %s order by key_id""",
        [str(tenant_id)],
    ).fetchall()


def revoke(conn: Any, *, tenant_id: UUID | str, key: int | str,
           revoked_by: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Revoke a key by id or by its 12-character prefix; return its row. Idempotent.

    Raises :class:`NotFound` when the tenant has no such key.
    """
    by_id = isinstance(key, int) or (key.isdigit() and not re.fullmatch(r"[0-9a-f]{12}", key))
    row = conn.execute(
        f"""update core.api_keys set revoked_at = coalesce(revoked_at, %(now)s),
                   revoked_by = coalesce(revoked_by, %(by)s)
            where tenant_id = %(t)s and {'key_id = %(k)s::bigint' if by_id else 'prefix = %(k)s'}
            returning key_id, name, prefix, created_at, revoked_at, revoked_by""",
        {"now": now or datetime.now(UTC), "by": revoked_by, "t": str(tenant_id), "k": str(key)},
    ).fetchone()
    if row is None:
        raise NotFound(f"no API key {key!r} for this tenant")
    forget(int(row["key_id"]))
    return row
