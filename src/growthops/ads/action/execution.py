"""Guarded, exactly-once execution of approved suggestions (reconciliation in :mod:`.reconcile`,
auto-apply in :mod:`.autoapply`).

One execution of a platform suggestion (``scale``, ``budget_increase``, ``budget_decrease``,
``pause``, ``bid_adjustment``) runs under a session advisory lock on the entity
(``pg_try_advisory_lock(hashtextextended('<tenant>:<platform>:<entity>', 0))``) held by the one
database connection the execution uses from start to end:

1. read the entity's **live state** on the platform and map ``action_params`` onto it
   (:func:`map_action`: a budget that moved since the suggestion keeps the suggestion's relative
   change instead of its absolute target);
2. **transaction 1** (short): read the entity's last 24 h of executions, run the guard rails
   (:func:`growthops.ads.action.guardrails.check`) and **claim**: one statement moves the suggestion
   ``approved → executing`` (``UPDATE ... WHERE status = 'approved'``) and inserts the
   ``ads.execution_logs`` row (``claimed``, ``before_state``, ``intended_state``,
   ``idempotency_key = '<tenant>:<suggestion>:<attempt>'``); commit. A second worker's UPDATE
   waits for the row lock, re-checks the WHERE on the committed row and claims nothing; the
   unique index ``execution_logs_one_live`` allows one live row per suggestion anyway;
3. **call the platform**, outside the claim and settle transactions (in a short transaction of
   its own on the same connection: a DB-backed account such as the sandbox commits its change
   there, as a remote platform would; for Meta and Google it only brackets the HTTP call);
4. **transaction 2**: settle the log row (``claimed → applied``, ``after_state``, redacted
   ``api_response``, ``success``), the suggestion (``executing → executed``), the audit entry,
   and open the hypothesis (:func:`growthops.ads.learning.hypotheses.open_hypothesis`, in a savepoint so a
   failure there never loses the execution; window from the next reporting day, 7 days).

A crash between 3 and 4 leaves a ``claimed`` row. :func:`reconcile` takes each claim older than
``older_than`` whose entity lock is free (a live worker holds it; a dead worker's lock died with
its connection), reads the live state and settles it as ``reconciled`` (the intended state is
visible: suggestion executed, hypothesis opened) or returns the suggestion to ``approved`` (it is
not: log row ``failed``). A retry happens only after the platform showed the change did not
happen, so nothing is applied twice.

Errors: a non-retryable :class:`~growthops.connectors.base.PlatformError` → log ``failed`` with
``error_message``, suggestion ``failed``, audited. A retryable one (rate limit, 5xx) re-reads the
entity: change visible → ``reconciled``; not visible → log ``failed`` and the suggestion back to
``approved`` for a later run, at most :data:`MAX_ATTEMPTS` attempts in all, then ``failed``;
entity unreadable → the claim is left for :func:`reconcile`.

Guard-rail outcomes: ``refused`` → log ``blocked``, suggestion ``blocked``; ``split`` → the first
step is applied and the suggestion executed, the later steps are listed in ``guard_rail_note``
(not scheduled: the next daily cycles propose them again if the evidence holds); ``dry_run`` →
log ``dry_run``, no call, suggestion ``blocked`` (note mode ``dry_run``); ``validate_only`` → the
platform only validates, log ``dry_run`` with its response, suggestion ``blocked``. Every outcome
writes ``ads.suggestions.guard_rail_note`` (:meth:`growthops.ads.action.guardrails.GuardDecision.note`).

Suggestions that are not platform writes:

* ``refresh`` and ``test_angle``: approval hands a creative brief to the validation workflow
  (:func:`growthops.ads.action.validation.submit`, item ``ad_creative``: client then team review); one
  transaction claims the suggestion, submits the item, applies the log row (``action_type =
  'handoff'``, ``after_state = {"validation_queue_id": ...}``) and marks the suggestion executed.
  No hypothesis: nothing changed on the account yet.
* ``campaign_diagnostic``: an investigation for a person; the decision is the record. Execution
  leaves it ``approved`` and returns ``not_executable``; :func:`execute_approved` skips it.

Batch paths (:func:`execute_approved`, :func:`growthops.ads.action.autoapply.auto_apply`) read the tenant, its rules and the
month's spend once and the suggestions in one query; per suggestion they run the two short
transactions exactly-once needs (history read + claim; settle). Live states are read from the
platform per entity on purpose: the freshest state right before the claim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from operator import methodcaller
from typing import Any, TypeVar
from uuid import UUID

import psycopg

from growthops.ads.action import guardrails as gr
from growthops.ads.action.changes import (
    HANDOFF_TYPES,
    PLATFORM_TYPES,
    _call_platform,
    _jsonb,
    intended_state,
    is_visible,
    map_action,
    state_dict,
)
from growthops.connectors.base import AdPlatform, EntityState, PlatformError
from growthops.core.db import Database
from growthops.core.errors import GrowthopsError, InvalidInput, NotFound
from growthops.core.logs.scrub import scrub
from growthops.core.logs.service import redact

log = logging.getLogger("growthops.ads.action.execution")
T = TypeVar("T")

#: Attempts of one suggestion (claims that ended failed or returned) before it is marked failed.
MAX_ATTEMPTS = 3
#: Measurement window of the hypothesis an execution opens (issue 3: 7 days by default).
MEASUREMENT_DAYS = 7
#: Review window of a creative brief handed to the validation queue, hours (seed 000: 72 h).
HANDOFF_TTL_HOURS = 72.0
#: Actors that are not a person: they may not force a guard rail.
SYSTEM_ACTORS = ("system", "auto-apply", "reconcile", "")
_PRIORITY_SQL = "array_position(array['critical','high','medium','low'], s.priority)"


@dataclass
class ExecutionOutcome:
    """What happened to one suggestion.

    ``status``: ``applied`` (changed on the platform), ``reconciled`` (settled from the
    platform's state), ``dry_run`` (dry run or validate-only: nothing changed), ``blocked`` (a
    guard rail refused), ``failed`` (platform error, final), ``retry`` (left approved, or claimed
    for :func:`reconcile`), ``skipped`` (not approved, another worker, no ad account),
    ``handoff`` (validation-queue item), ``not_executable`` (campaign_diagnostic), ``held``
    (auto-apply: outside a rail, left pending).
    """

    suggestion_id: int
    status: str
    message: str = ""
    execution_id: int | None = None
    rails: tuple[str, ...] = ()
    note: dict[str, Any] | None = None
    hypothesis_id: int | None = None
    auto_applied: bool = False

    def __post_init__(self) -> None:
        self.message = scrub(self.message)  # shown by the CLI, the API and the dashboard


# ------------------------------------------------------------------ others' modules, lazily
def _get_platform(conn: Any, *, tenant_id: UUID | str, platform: str) -> AdPlatform:
    """The tenant's ad account on ``platform`` (helper "connectors")."""
    from growthops.connectors.registry import get_platform

    return get_platform(conn, tenant_id=tenant_id, platform=platform)


def _open_hypothesis(conn: Any, **kw: Any) -> int:
    """Open the execution's hypothesis (helper "learning")."""
    from growthops.ads.learning.hypotheses import open_hypothesis

    return open_hypothesis(conn, **kw)


def _decide(conn: Any, **kw: Any) -> dict[str, Any]:
    """Record a decision (helper "decisions")."""
    from growthops.ads.action.decisions import decide

    return decide(conn, **kw)


def _audit(conn: Any, **kw: Any) -> int:
    """Append an audit entry (helper "decisions")."""
    from growthops.ads.action.audit import record

    return record(conn, **kw)


def _submit_validation(conn: Any, **kw: Any) -> dict[str, Any]:
    """Submit a validation-queue item (helper "decisions")."""
    from growthops.ads.action.validation import submit

    return submit(conn, **kw)


# --------------------------------------------------------------------------- context
@dataclass
class _Ctx:
    """What one call reads once: rules per platform, the tenant, the month's spend."""

    tenant_id: str
    rules: dict[str, gr.Rules]
    tenant: dict[str, Any]
    spend: gr.SpendState
    fixed_now: datetime | None

    def rules_for(self, platform: str) -> gr.Rules:
        return self.rules.get(platform) or gr.default_rules(platform,
                                                            self.tenant["monthly_budget_max"])

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)


def _load_ctx(conn: Any, tenant_id: UUID | str, now: datetime | None) -> _Ctx:
    if now is not None and now.utcoffset() is None:
        raise InvalidInput("now: must be timezone-aware (UTC)")
    rules, tenant = gr.load_rules(conn, tenant_id=tenant_id)
    spend = gr.load_spend(conn, tenant_id=tenant_id, now=now or datetime.now(UTC),
                          time_zone=tenant["time_zone"])
    return _Ctx(str(tenant_id), rules, tenant, spend, now)


def _on_platform(conn: psycopg.Connection[Any], ctx: _Ctx, name: str,
                 fn: Callable[[AdPlatform], T]) -> T:
    """Run ``fn(platform)`` in its own short tenant transaction on ``conn``.

    The platform object is built for that transaction (:func:`_get_platform`): a DB-backed
    account (the sandbox) reads and writes in it, so each platform call commits on its own, like
    a remote platform's. Raises what ``fn`` or the registry raise (PlatformError, NotFound...).
    """
    with _tx(conn, ctx.tenant_id) as c:
        return fn(_get_platform(c, tenant_id=ctx.tenant_id, platform=name))


@contextmanager
def _entity_lock(db: Database, key: str) -> Iterator[psycopg.Connection[Any] | None]:
    """Yield a pooled connection holding the entity's session advisory lock, or None if taken.

    The lock dies with the session, so a crashed worker never blocks :func:`reconcile`.
    """
    with db.pool.connection() as conn:
        row: Any = conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0)) as ok",
                           [key]).fetchone()
        got = bool(row and row["ok"])
        try:
            yield conn if got else None
        finally:
            if got:
                try:
                    conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", [key])
                except Exception:  # an unusable session: closing it releases the lock
                    log.warning("could not release advisory lock %s; closing the session", key)
                    conn.close()


@contextmanager
def _tx(conn: psycopg.Connection[Any], tenant_id: str) -> Iterator[psycopg.Connection[Any]]:
    """A real transaction on an autocommit connection, bound to the tenant (as ``tenant_tx``)."""
    with conn.transaction():
        conn.execute("select set_config('app.tenant_id', %s, true)", [tenant_id])
        yield conn


def _lock_key(tenant_id: str, platform: str, entity_id: str) -> str:
    return f"{tenant_id}:{platform}:{entity_id}"


_CLAIM_SQL = """
with s as (
  update ads.suggestions
     set status = %(new_status)s, guard_rail_note = coalesce(%(note)s, guard_rail_note)
  where tenant_id = %(t)s and suggestion_id = %(sid)s and status = 'approved'
  returning suggestion_id
), n as (
  select count(*) + 1 as attempt from ads.execution_logs
  where tenant_id = %(t)s and suggestion_id = %(sid)s
)
insert into ads.execution_logs
  (tenant_id, suggestion_id, idempotency_key, action_type, platform, entity_type, entity_id,
   status, executed_by, claimed_at, executed_at, before_state, intended_state, after_state,
   success, error_message)
select %(t)s, s.suggestion_id, %(kp)s || s.suggestion_id::text || ':' || n.attempt::text,
       %(action)s, %(platform)s, %(entity_type)s, %(entity_id)s, %(log_status)s, %(actor)s,
       %(now)s, %(executed_at)s, %(before)s, %(intended)s, %(after)s, %(success)s, %(error)s
from s, n
returning execution_id, idempotency_key
"""


def _claim(conn: Any, ctx: _Ctx, s: dict[str, Any], *, new_status: str, log_status: str,
           actor: str, action: str, now: datetime, note: dict[str, Any] | None,
           before: Any = None, intended: Any = None, after: Any = None,
           success: bool | None = None, error: str | None = None,
           executed: bool = False) -> dict[str, Any] | None:
    """Move the suggestion ``approved → new_status`` and insert its log row, in one statement.

    Returns ``{execution_id, idempotency_key, attempt}``, or None when the suggestion is no
    longer approved (another worker claimed it) or the one-live-row index refused the row.
    """
    params = {
        "t": ctx.tenant_id, "sid": s["suggestion_id"], "new_status": new_status,
        "note": _jsonb(note), "kp": f"{ctx.tenant_id}:", "action": action,
        "platform": s["platform"], "entity_type": s["entity_type"],
        "entity_id": str(s["entity_id"]), "log_status": log_status, "actor": actor, "now": now,
        "executed_at": now if executed else None, "before": _jsonb(before),
        "intended": _jsonb(intended), "after": _jsonb(after), "success": success,
        "error": scrub(error),
    }
    try:
        with conn.transaction():  # savepoint: a unique violation leaves the transaction usable
            row = conn.execute(_CLAIM_SQL, params).fetchone()
    except psycopg.errors.UniqueViolation:
        return None
    if row is None:
        return None
    return {**row, "attempt": int(row["idempotency_key"].rsplit(":", 1)[1])}


def _attempt(idempotency_key: str) -> int:
    return int(idempotency_key.rsplit(":", 1)[1])


# ------------------------------------------------------------------------------ settle
def _settle_success(conn: Any, ctx: _Ctx, s: dict[str, Any], claim: dict[str, Any], *,
                    status: str, after: EntityState | None, response: Any, actor: str,
                    now: datetime, step: gr.ProposedChange | None,
                    note: dict[str, Any] | None) -> ExecutionOutcome:
    """Settle a claimed row as ``applied`` / ``reconciled`` / ``dry_run`` (transaction 2)."""
    sid, xid = s["suggestion_id"], claim["execution_id"]
    row = conn.execute(
        """update ads.execution_logs
              set status = %s, executed_at = %s, after_state = %s, api_response = %s,
                  success = true, error_message = null
            where tenant_id = %s and execution_id = %s and status = 'claimed'
            returning execution_id, before_state""",
        [status, now, _jsonb(state_dict(after)), _jsonb(redact(response or {})),
         ctx.tenant_id, xid],
    ).fetchone()
    if row is None:
        return ExecutionOutcome(sid, "skipped", "the claim was already settled (reconcile)", xid)
    executed = status in ("applied", "reconciled")
    conn.execute(
        """update ads.suggestions set status = %s, guard_rail_note = coalesce(%s, guard_rail_note)
            where tenant_id = %s and suggestion_id = %s and status = 'executing'""",
        ["executed" if executed else "blocked", _jsonb(note), ctx.tenant_id, sid],
    )
    _audit(conn, tenant_id=ctx.tenant_id, actor=actor, action=f"execution.{status}",
           object_type="execution", object_id=xid, platform=s["platform"],
           entity_id=str(s["entity_id"]), before=row["before_state"],
           after={**(state_dict(after) or {}), "suggestion_id": sid},
           reason=gr.describe(note) or None, occurred_at=now)
    out = ExecutionOutcome(sid, status, gr.describe(note), xid,
                           tuple((note or {}).get("rails") or ()), note)
    if not executed:
        return out
    if step is not None and step.action == "budget_change" and step.current is not None:
        delta = (step.target or step.current) - step.current
        ctx.spend = replace(ctx.spend, daily_spend=ctx.spend.daily_spend + delta)
    start = gr.reporting_day(now, ctx.tenant["time_zone"]) + timedelta(days=1)
    executed_step = step.as_dict() if step else None
    try:
        with conn.transaction():  # savepoint: a hypothesis failure never loses the execution
            out.hypothesis_id = _open_hypothesis(
                conn, tenant_id=ctx.tenant_id, execution_id=xid, executed_at=now,
                suggestion={**s, "status": "executed", "executed_step": executed_step},
                start_day=start, period_days=MEASUREMENT_DAYS)
    except Exception as exc:  # noqa: BLE001 — recorded; the execution stands
        log.warning("hypothesis of suggestion %s not opened: %s", sid, exc)
        out.message = f"executed; hypothesis not opened: {exc}"
    return out


def _settle_failure(conn: Any, ctx: _Ctx, s: dict[str, Any], claim: dict[str, Any], *,
                    err: str, response: Any, retryable: bool, actor: str, now: datetime,
                    action: str = "execution.failed") -> ExecutionOutcome:
    """Settle a claimed row as ``failed``; the suggestion back to approved, or failed."""
    sid, xid = s["suggestion_id"], claim["execution_id"]
    row = conn.execute(
        """update ads.execution_logs
              set status = 'failed', executed_at = %s, api_response = %s, success = false,
                  error_message = %s
            where tenant_id = %s and execution_id = %s and status = 'claimed'
            returning execution_id""",
        [now, _jsonb(redact(response or {})), scrub(err), ctx.tenant_id, xid],
    ).fetchone()
    if row is None:
        return ExecutionOutcome(sid, "skipped", "the claim was already settled (reconcile)", xid)
    again = retryable and claim["attempt"] < MAX_ATTEMPTS
    conn.execute(
        """update ads.suggestions set status = %s
            where tenant_id = %s and suggestion_id = %s and status = 'executing'""",
        ["approved" if again else "failed", ctx.tenant_id, sid],
    )
    _audit(conn, tenant_id=ctx.tenant_id, actor=actor, action=action, object_type="execution",
           object_id=xid, platform=s["platform"], entity_id=str(s["entity_id"]),
           after={"suggestion_id": sid, "attempt": claim["attempt"], "retry": again},
           reason=err, occurred_at=now)
    if again:
        msg = f"attempt {claim['attempt']} of {MAX_ATTEMPTS} failed: {err}"
        return ExecutionOutcome(sid, "retry", msg, xid)
    return ExecutionOutcome(sid, "failed", err, xid)


# --------------------------------------------------------------------------- execute
def execute_suggestion(db: Database, *, tenant_id: UUID | str, suggestion_id: int,
                       actor: str = "system", now: datetime | None = None,
                       force: bool = False) -> ExecutionOutcome:
    """Execute one approved suggestion within the guard rails, exactly once.

    ``actor``: who runs it (``system``, ``auto-apply`` or a person); ``force=True`` lifts the
    learning-phase rail only and needs a named person as ``actor`` (audited as
    ``guard_rail.forced``). ``now`` (UTC, default the wall clock) is the execution instant: the
    24 h window, the month and the hypothesis window follow from it. Returns an
    :class:`ExecutionOutcome` (every path: see the module docstring); a suggestion that is not
    ``approved`` is ``skipped``. Raises :class:`NotFound` (no such suggestion),
    :class:`InvalidInput` (force without a person, naive ``now``, malformed ``action_params``).
    """
    if force and (actor or "").strip() in SYSTEM_ACTORS:
        raise InvalidInput("force: a forced execution needs a named person as actor")
    with db.tenant_tx(tenant_id) as conn:
        s = conn.execute("select * from ads.suggestions where tenant_id = %s "
                         "and suggestion_id = %s", [str(tenant_id), suggestion_id]).fetchone()
        if s is None:
            raise NotFound(f"no suggestion {suggestion_id} for this tenant")
        ctx = _load_ctx(conn, tenant_id, now)
    return _execute_one(db, ctx, s, actor=actor, force=force)


def _execute_one(db: Database, ctx: _Ctx, s: dict[str, Any], *, actor: str, force: bool = False,
                 require_allowed: bool = False) -> ExecutionOutcome:
    sid, t = s["suggestion_id"], s["type"]
    if s["status"] != "approved":
        return ExecutionOutcome(sid, "skipped", f"suggestion {sid} is {s['status']}, not approved")
    if t in HANDOFF_TYPES:
        from growthops.ads.action.handoff import handoff

        return handoff(db, ctx, s, actor=actor)
    if t not in PLATFORM_TYPES:
        return ExecutionOutcome(sid, "not_executable",
                                f"{t}: nothing to execute; the approval is the record")
    eid, pname = str(s["entity_id"]), s["platform"]
    with _entity_lock(db, _lock_key(ctx.tenant_id, pname, eid)) as lconn:
        if lconn is None:
            return ExecutionOutcome(sid, "skipped", "another execution on this entity is running")
        now = ctx.now()
        try:
            live = _on_platform(lconn, ctx, pname, methodcaller("get_entity", eid))
        except PlatformError as err:
            if err.retryable:
                return ExecutionOutcome(sid, "retry", f"could not read the entity: {err}")
            return _fail_unclaimed(lconn, ctx, s, str(err), actor, now)
        except GrowthopsError as exc:
            return ExecutionOutcome(sid, "skipped", f"no ad account for {pname}: {exc}")
        try:
            proposed = map_action(s, live)
        except InvalidInput as exc:
            return _fail_unclaimed(lconn, ctx, s, str(exc), actor, now)
        with _tx(lconn, ctx.tenant_id) as conn:
            hist = gr.load_history(conn, tenant_id=ctx.tenant_id, keys=[(s["platform"], eid)],
                                   now=now).get((s["platform"], eid), gr.History())
            decision = gr.check(proposed, ctx.rules_for(s["platform"]), gr.GuardState(
                entity=live, now=now, history=hist, spend=ctx.spend, force=force,
                forced_by=actor if force else None))
            note = decision.note()
            if decision.outcome == "refused" or (require_allowed and decision.outcome != "allowed"):
                return _block(conn, ctx, s, decision, note, live, actor, now)
            step = decision.step
            assert step is not None
            intended = intended_state(step, decision.mode)
            common: dict[str, Any] = {"actor": actor, "action": step.action, "now": now,
                                      "note": note, "before": state_dict(live),
                                      "intended": intended}
            if decision.mode == "dry_run":
                claim = _claim(conn, ctx, s, new_status="blocked", log_status="dry_run",
                               after=state_dict(live), success=True, executed=True, **common)
                if claim is None:
                    return ExecutionOutcome(sid, "skipped", "claimed by another worker")
                _audit(conn, tenant_id=ctx.tenant_id, actor=actor, action="execution.dry_run",
                       object_type="execution", object_id=claim["execution_id"],
                       platform=s["platform"], entity_id=eid, before=state_dict(live),
                       after={**intended, "suggestion_id": sid}, reason=gr.describe(note),
                       occurred_at=now)
                return ExecutionOutcome(sid, "dry_run", gr.describe(note), claim["execution_id"],
                                        decision.rails, note)
            claim = _claim(conn, ctx, s, new_status="executing", log_status="claimed", **common)
            if claim is None:
                return ExecutionOutcome(sid, "skipped", "claimed by another worker")
            if decision.overridden:
                _audit(conn, tenant_id=ctx.tenant_id, actor=actor, action="guard_rail.forced",
                       object_type="suggestion", object_id=sid, platform=s["platform"],
                       entity_id=eid, occurred_at=now,
                       after={"overridden": list(decision.overridden), "suggestion_id": sid,
                              "learning_stage": live.learning_stage},
                       reason=f"{', '.join(decision.overridden)} overridden by {actor}")
        # (b) the platform call, in its own transaction (committed apart from claim and settle)
        validate = decision.mode == "validate_only"
        try:
            result = _on_platform(lconn, ctx, pname,
                                  lambda p: _call_platform(p, step, validate_only=validate))
        except PlatformError as err:
            return _after_error(lconn, ctx, s, claim, err, intended, actor, note)
        if validate and not result.validated_only:
            log.warning("%s applied a validate_only change (suggestion %s)", s["platform"], sid)
        # (c) settle
        with _tx(lconn, ctx.tenant_id) as conn:
            return _settle_success(conn, ctx, s, claim, after=result.after,
                                   status="dry_run" if result.validated_only else "applied",
                                   response=result.response, actor=actor, now=ctx.now(),
                                   step=step, note=note)


def _block(conn: Any, ctx: _Ctx, s: dict[str, Any], decision: gr.GuardDecision,
           note: dict[str, Any], live: EntityState, actor: str, now: datetime) -> ExecutionOutcome:
    """Record a guard-rail refusal: log ``blocked``, suggestion ``blocked``, audit."""
    sid, reasons = s["suggestion_id"], "; ".join(decision.reasons) or "guard rail"
    if decision.outcome != "refused":
        note["auto_apply"] = "not executed: auto-apply runs only changes inside every rail"
    claim = _claim(conn, ctx, s, new_status="blocked", log_status="blocked", actor=actor,
                   action=decision.proposed.action, now=now, note=note, before=state_dict(live),
                   intended=intended_state(decision.step or decision.proposed, decision.mode),
                   success=False, error=reasons, executed=True)
    if claim is None:
        return ExecutionOutcome(sid, "skipped", "claimed by another worker")
    _audit(conn, tenant_id=ctx.tenant_id, actor=actor, action="guard_rail.blocked",
           object_type="suggestion", object_id=sid, platform=s["platform"],
           entity_id=str(s["entity_id"]), before={"status": "approved"},
           after={"status": "blocked", "guard_rail_note": note}, reason=reasons,
           occurred_at=now)
    return ExecutionOutcome(sid, "blocked", reasons, claim["execution_id"], decision.rails, note)


def _fail_unclaimed(lconn: Any, ctx: _Ctx, s: dict[str, Any], err: str, actor: str,
                    now: datetime) -> ExecutionOutcome:
    """Record a final failure found before any claim (entity not found, malformed params)."""
    sid = s["suggestion_id"]
    with _tx(lconn, ctx.tenant_id) as conn:
        claim = _claim(conn, ctx, s, new_status="failed", log_status="failed", actor=actor,
                       action="none", now=now, note=None, success=False, error=err,
                       executed=True)
        if claim is None:
            return ExecutionOutcome(sid, "skipped", "claimed by another worker")
        _audit(conn, tenant_id=ctx.tenant_id, actor=actor, action="execution.failed",
               object_type="execution", object_id=claim["execution_id"], platform=s["platform"],
               entity_id=str(s["entity_id"]), after={"suggestion_id": sid}, reason=err,
               occurred_at=now)
    return ExecutionOutcome(sid, "failed", err, claim["execution_id"])


def _after_error(lconn: Any, ctx: _Ctx, s: dict[str, Any], claim: dict[str, Any],
                 err: PlatformError, intended: dict[str, Any], actor: str,
                 note: dict[str, Any]) -> ExecutionOutcome:
    """Settle a platform error; a retryable one first checks whether the change happened."""
    sid, xid = s["suggestion_id"], claim["execution_id"]
    if err.retryable:
        try:
            live = _on_platform(lconn, ctx, s["platform"],
                                methodcaller("get_entity", str(s["entity_id"])))
        except (PlatformError, GrowthopsError) as err2:
            with _tx(lconn, ctx.tenant_id) as conn:
                conn.execute("update ads.execution_logs set error_message = %s where tenant_id = %s"
                             " and execution_id = %s and status = 'claimed'",
                             [scrub(f"{err}; state unreadable: {err2}"), ctx.tenant_id, xid])
            return ExecutionOutcome(sid, "retry", f"{err}; left claimed for reconcile", xid)
        if intended.get("mode") != "validate_only" and is_visible(intended, live):
            with _tx(lconn, ctx.tenant_id) as conn:
                return _settle_success(conn, ctx, s, claim, status="reconciled", after=live,
                                       response={"error": str(err), **(err.response or {})},
                                       actor=actor, now=ctx.now(), step=None, note=note)
    with _tx(lconn, ctx.tenant_id) as conn:
        return _settle_failure(conn, ctx, s, claim, err=str(err), response=err.response,
                               retryable=err.retryable, actor=actor, now=ctx.now())


def execute_approved(db: Database, *, tenant_id: UUID | str,
                     now: datetime | None = None) -> list[ExecutionOutcome]:
    """Execute every approved suggestion of the tenant (priority order), each exactly once.

    ``campaign_diagnostic`` is skipped (nothing to execute). One query reads the suggestions,
    one the rules, two the month's spend; then per suggestion the claim and the settle. An
    unexpected error on one suggestion is logged and reported as ``retry`` (its claim, if any,
    waits for :func:`reconcile`); the others still run.
    """
    with db.tenant_tx(tenant_id) as conn:
        ctx = _load_ctx(conn, tenant_id, now)
        rows = conn.execute(
            f"""select s.* from ads.suggestions s
                where s.tenant_id = %s and s.status = 'approved' and s.type = any(%s)
                order by {_PRIORITY_SQL}, s.decided_at nulls last, s.suggestion_id""",
            [str(tenant_id), [*PLATFORM_TYPES, *HANDOFF_TYPES]],
        ).fetchall()
    return [_safe(db, ctx, s, actor="system") for s in rows]


def _safe(db: Database, ctx: _Ctx, s: dict[str, Any], **kw: Any) -> ExecutionOutcome:
    try:
        return _execute_one(db, ctx, s, **kw)
    except Exception as exc:  # noqa: BLE001 — one suggestion never stops the batch
        log.exception("execution of suggestion %s failed", s["suggestion_id"])
        return ExecutionOutcome(s["suggestion_id"], "retry", f"unexpected error: {exc}")


def execute_after_approval(db: Database, *, tenant_id: UUID | str, suggestion_id: int,
                           actor: str) -> ExecutionOutcome | None:
    """Execute a suggestion right after its approval (CLI, API, Slack), when it can be.

    Does nothing (returns None) when the tenant has no ad account on the suggestion's platform
    or the suggestion is no longer approved; otherwise :func:`execute_suggestion` within the
    guard rails. Never raises: a failure is written to the tenant's system log and the
    suggestion stays approved for the hourly upkeep (``execute_approved``) to retry.
    """
    from growthops.core.logs.service import log_event

    try:
        with db.tenant_tx(tenant_id) as conn:
            row = conn.execute(
                """select 1 from ads.suggestions s join ads.ad_accounts a
                     on a.tenant_id = s.tenant_id and a.platform = s.platform
                   where s.suggestion_id = %s and s.status = 'approved'""", [suggestion_id]).fetchone()
        if row is None:
            return None
        return execute_suggestion(db, tenant_id=tenant_id, suggestion_id=suggestion_id, actor=actor)
    except Exception as exc:  # the decision is recorded; execution is retried by the upkeep
        with db.tenant_tx(tenant_id) as conn:
            log_event(conn, tenant_id=tenant_id, level="ERROR", module="ads.execution",
                      message=f"execution after approval of suggestion {suggestion_id} failed", exc=exc)
        return None
