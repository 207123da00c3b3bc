"""Reconciliation: settle executions interrupted between the platform call and the database.

See :mod:`growthops.ads.action.execution` (its module docstring describes the claim, call and
settle steps this module completes after a crash).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from operator import methodcaller
from uuid import UUID

from growthops.ads.action.changes import is_visible
from growthops.ads.action.execution import (
    _attempt,
    _entity_lock,
    _load_ctx,
    _lock_key,
    _on_platform,
    _settle_failure,
    _settle_success,
    _tx,
)
from growthops.connectors.base import PlatformError
from growthops.core.db import Database
from growthops.core.errors import GrowthopsError

log = logging.getLogger("growthops.ads.action.reconcile")


def reconcile(db: Database, *, tenant_id: UUID | str,
              older_than: timedelta = timedelta(minutes=5), now: datetime | None = None) -> int:
    """Settle the tenant's stale claims from the platforms' live state; return how many.

    A claim is stale when ``claimed_at <= now - older_than`` and no live worker holds its entity
    lock. Its entity is read on the platform: the intended state visible → the row becomes
    ``reconciled`` (``after_state`` = live state), the suggestion ``executed``, its hypothesis
    opened; not visible → the row becomes ``failed`` ("not applied") and the suggestion goes
    back to ``approved`` (``failed`` after :data:`MAX_ATTEMPTS` attempts), so a later run
    applies it once. A claim whose entity cannot be read waits for the next run. Two queries
    read the claims and their suggestions.
    """
    with db.tenant_tx(tenant_id) as conn:
        ctx = _load_ctx(conn, tenant_id, now)
        claims = conn.execute(
            """select execution_id, suggestion_id, idempotency_key, platform, entity_id,
                      intended_state
               from ads.execution_logs
               where tenant_id = %s and status = 'claimed' and claimed_at <= %s
               order by claimed_at, execution_id""",
            [str(tenant_id), ctx.now() - older_than],
        ).fetchall()
        if not claims:
            return 0
        sugg = {r["suggestion_id"]: r for r in conn.execute(
            "select * from ads.suggestions where tenant_id = %s and suggestion_id = any(%s)",
            [str(tenant_id), [c["suggestion_id"] for c in claims]]).fetchall()}
    settled = 0
    for c in claims:
        s = sugg.get(c["suggestion_id"])
        if s is None:
            continue
        claim = {"execution_id": c["execution_id"], "attempt": _attempt(c["idempotency_key"])}
        with _entity_lock(db, _lock_key(ctx.tenant_id, c["platform"], c["entity_id"])) as lconn:
            if lconn is None:
                continue
            try:
                live = _on_platform(lconn, ctx, c["platform"],
                                    methodcaller("get_entity", c["entity_id"]))
            except (PlatformError, GrowthopsError) as err:
                log.warning("reconcile: cannot read %s: %s", c["entity_id"], err)
                continue
            intended = c["intended_state"] or {}
            with _tx(lconn, ctx.tenant_id) as conn:
                if intended.get("mode") != "validate_only" and is_visible(intended, live):
                    out = _settle_success(conn, ctx, s, claim, status="reconciled", after=live,
                                          response={"reconciled": True}, actor="reconcile",
                                          now=ctx.now(), step=None, note=None)
                else:
                    out = _settle_failure(
                        conn, ctx, s, claim, response=None, retryable=True, actor="reconcile",
                        err="not applied: the platform does not show the intended state",
                        now=ctx.now(), action="execution.returned")
            settled += out.status != "skipped"
    return settled


