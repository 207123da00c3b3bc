"""Capture a lead: authenticate the caller, store the lead durably, log the call.

Credentials, checked in constant time against stored values:

* an API key (``X-API-Key`` or ``Authorization: Bearer``) with scope ``api`` or
  ``leads:capture`` (:func:`growthops.core.auth.api_keys.verify`: the argon2id hash is verified
  once per process, then recognised by an HMAC-compared SHA-256 digest; the prefix lookup runs on
  every call, so a revoked key fails at once);
* a public form token (``X-Form-Token: gof_...``) for browser forms: not a secret (it is in the
  page), bound to the origins allowed to post; the request's ``Origin`` must be one of them.

:func:`store` writes, in the caller's one transaction: the lead, its ``created`` action, the
``integration_logs`` row and, with an ``Idempotency-Key``, the key and the answer, so a retried
submission (same key, same body) gets the first answer and stores nothing twice; the same key
with another body is refused (IETF draft-ietf-httpapi-idempotency-key-header-06 §2.7: 422).
Duplicates racing each other are serialised by a transaction-scoped advisory lock on
(tenant, key). A 201 is sent only after commit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from growthops.core.auth.api_keys import InvalidApiKey, verify
from growthops.core.auth.users import PermissionDenied
from growthops.core.errors import InvalidInput
from growthops.core.logs.service import redact
from growthops.leads.models import LeadIn

FORM_TOKEN_RE = re.compile(r"^gof_[A-Za-z0-9_-]{20,64}$")
#: Longest text kept per field in integration_logs.request_body.
LOG_TEXT_CHARS = 200


class IdempotencyMismatch(InvalidInput):
    """The Idempotency-Key was used before with another request body (422)."""


@dataclass(frozen=True)
class Caller:
    """Who posts: the tenant, how (``api_key``, ``form_token``, ``session``) and the logged
    credential id (a key's 12-character prefix, ``form:<token id>``, or the user's e-mail)."""

    tenant_id: UUID
    kind: str
    credential: str
    allowed_origins: tuple[str, ...] = ()


def authenticate(conn: Any, *, api_key: str | None, form_token: str | None,
                 origin: str | None) -> Caller:
    """Return the caller of a capture request.

    Raises :class:`InvalidApiKey` (401) for a missing, malformed, unknown or revoked key or
    token, :class:`PermissionDenied` (403) for a form token used from an origin it does not
    allow or a key without a capture scope.
    """
    if api_key:
        ident = verify(conn, api_key)
        if not (ident.allows("api") or ident.allows("leads:capture")):
            raise PermissionDenied("this API key has no lead-capture scope")
        return Caller(UUID(str(ident.tenant_id)), "api_key", ident.prefix)
    if form_token:
        if not FORM_TOKEN_RE.match(form_token):
            raise InvalidApiKey("malformed form token (expected gof_...)")
        rows = conn.execute("select * from leads.form_token_lookup(%s)", [form_token]).fetchall()
        if not rows:
            raise InvalidApiKey("unknown or revoked form token")
        row = rows[0]
        origins = tuple(row["allowed_origins"])
        if origin is None or not any(hmac.compare_digest(origin.encode(), o.encode())
                                     for o in origins):
            raise PermissionDenied("this form token does not allow requests from this origin")
        return Caller(UUID(str(row["tenant_id"])), "form_token", f"form:{row['token_id']}", origins)
    raise InvalidApiKey("missing credentials: send 'X-API-Key: gok_...' (a key with scope "
                        "leads:capture) or 'X-Form-Token: gof_...' from an allowed origin")


def request_hash(raw: bytes) -> bytes:
    """SHA-256 of the canonical JSON of a body (key order and spacing do not matter)."""
    try:
        canon = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canon = raw
    return hashlib.sha256(canon).digest()


def loggable(body: Any) -> Any:
    """Return a body fit for integration_logs: secrets redacted, texts cut to 200 characters."""
    def cut(v: Any) -> Any:
        if isinstance(v, str):
            return v if len(v) <= LOG_TEXT_CHARS else v[:LOG_TEXT_CHARS] + "…"
        if isinstance(v, dict):
            return {str(k)[:60]: cut(x) for k, x in list(v.items())[:30]}
        if isinstance(v, list):
            return [cut(x) for x in v[:30]]
        return v
    return cut(redact(body))


def replay(conn: Any, *, tenant_id: UUID, idem_key: str, digest: bytes) -> dict[str, Any] | None:
    """Lock ``(tenant, idem_key)`` for this transaction and return its stored answer, if any.

    Raises :class:`IdempotencyMismatch` when the key was used with another body.
    """
    conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))",
                 [f"leads-idem:{tenant_id}:{idem_key}"])
    row = conn.execute(
        """select request_hash, response from leads.idempotency_keys
           where tenant_id = %s and idem_key = %s""", [str(tenant_id), idem_key]).fetchone()
    if row is None:
        return None
    if not hmac.compare_digest(bytes(row["request_hash"]), digest):
        raise IdempotencyMismatch("Idempotency-Key: already used with a different request body")
    return row["response"]


def store(conn: Any, *, caller: Caller, lead: LeadIn, idem_key: str | None, digest: bytes,
          meta: dict[str, Any]) -> dict[str, Any]:
    """Insert the lead, its ``created`` action, the call's log row and the idempotency record in
    one statement; return the answer ``{"lead_id", "status": "stored", "received_at"}``.

    ``meta``: endpoint, method, ip, user_agent, origin, request_body (loggable), latency_ms.
    Runs in the caller's tenant transaction (set to ``caller.tenant_id``); never commits.
    """
    row = conn.execute(
        """with l as (
             insert into leads.lead_memory (tenant_id, name, email, phone, company, message,
               source, metadata, language_hint, consent_email, is_test, capture_key_prefix)
             values (%(t)s, %(name)s, %(email)s, %(phone)s, %(company)s, %(message)s, %(source)s,
                     %(metadata)s, %(lang)s, %(consent)s, %(is_test)s, %(cred)s)
             returning tenant_id, lead_id, received_at),
           r as (select l.tenant_id, l.lead_id, jsonb_build_object('lead_id', l.lead_id,
                   'status', 'stored', 'received_at', l.received_at) as body from l),
           a as (insert into leads.lead_actions (tenant_id, lead_id, action_type, performed_by,
                   is_test, details)
                 select tenant_id, lead_id, 'created', %(actor)s, %(is_test)s,
                        jsonb_build_object('via', %(kind)s::text) from l),
           g as (insert into leads.integration_logs (tenant_id, endpoint, method, auth_kind,
                   key_prefix, request_body, response_status, response_body, ip_address,
                   user_agent, origin, latency_ms, lead_id, idempotency_key)
                 select tenant_id, %(endpoint)s, %(method)s, %(kind)s, %(cred)s, %(req)s, 201,
                        body, %(ip)s, %(ua)s, %(origin)s, %(ms)s, lead_id, %(idem)s from r),
           i as (insert into leads.idempotency_keys (tenant_id, idem_key, request_hash, lead_id,
                   response)
                 select tenant_id, %(idem)s, %(digest)s, lead_id, body from r
                 where %(idem)s::text is not null)
           select body from r""",
        {"t": str(caller.tenant_id), "name": lead.name, "email": lead.email, "phone": lead.phone,
         "company": lead.company, "message": lead.message, "source": lead.source,
         "metadata": json.dumps(lead.metadata or {}), "lang": lead.language,
         "consent": lead.consent_email, "is_test": lead.is_test, "cred": caller.credential,
         "actor": f"{caller.kind}:{caller.credential}", "kind": caller.kind,
         "endpoint": meta["endpoint"], "method": meta["method"],
         "req": json.dumps(meta["request_body"]), "ip": meta.get("ip"),
         "ua": (meta.get("user_agent") or "")[:500] or None, "origin": meta.get("origin"),
         "ms": meta.get("latency_ms"), "idem": idem_key, "digest": digest}).fetchone()
    return row["body"]


def log_call(conn: Any, *, tenant_id: UUID, caller_kind: str, credential: str | None,
             status: int, response: dict[str, Any] | None, meta: dict[str, Any],
             idem_key: str | None = None) -> None:
    """Write one ``integration_logs`` row for a call that stored nothing (4xx, honeypot)."""
    conn.execute(
        """insert into leads.integration_logs (tenant_id, endpoint, method, auth_kind, key_prefix,
             request_body, response_status, response_body, ip_address, user_agent, origin,
             latency_ms, idempotency_key)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        [str(tenant_id), meta["endpoint"], meta["method"], caller_kind, credential,
         json.dumps(meta.get("request_body")), status, json.dumps(response), meta.get("ip"),
         (meta.get("user_agent") or "")[:500] or None, meta.get("origin"),
         meta.get("latency_ms"), idem_key])
