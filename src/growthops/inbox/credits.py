"""Credits and plans per tenant (``user_subscriptions``, ``user_credits``, ``credit_transactions``).

A tenant has one plan (:data:`PLANS`: AI replies per month, knowledge-base storage, monitored
posts). Every AI reply and every published post costs one credit, debited **once per action**
(``action_id`` is unique in the ledger: a retried job or a replayed webhook does not pay twice)
and **never below zero**: the debit is a single ``update ... where credits_remaining >= n``
(the row lock serialises concurrent debits; a ``check (credits_remaining >= 0)`` backs it).
``credit_transactions`` is append-only (the application role has no UPDATE/DELETE on it) and
each row records ``balance_after``; :func:`reconcile` checks balance = sum of the ledger.

The monthly grant (:func:`monthly_reset`, job ``inbox.credits_reset``) sets the balance to the
plan's allowance on the first day of the tenant's local month (idempotent on
``reset:YYYY-MM``), as a ledger row of the difference.

Limits are growthops' own defaults (seed 003 names the plans, not their sizes); change
:data:`PLANS` to sell other sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from growthops.core.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class Plan:
    """A plan's monthly limits: ``ai_replies`` credits a month, ``kb_storage_mb`` megabytes,
    ``monitored_posts`` posts under comment monitoring at once."""

    name: str
    ai_replies: int
    kb_storage_mb: int
    monitored_posts: int


PLANS: dict[str, Plan] = {p.name: p for p in (
    Plan("free", 50, 10, 5),
    Plan("starter", 1_000, 100, 20),
    Plan("pro", 5_000, 1_000, 100),
    Plan("enterprise", 50_000, 10_000, 1_000),
)}
REASONS = ("ai_reply", "post_published", "kb_ingest", "monthly_reset", "grant", "adjustment")


class OutOfCredits(Conflict):
    """The tenant has fewer credits than the action costs (HTTP 409); nothing was debited."""

    def __init__(self, message: str, *, remaining: int) -> None:
        super().__init__(message)
        self.remaining = remaining


def ensure(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Create the tenant's subscription (plan ``free``) and balance rows if missing; return the
    plan, balance and this month's use."""
    tid = str(tenant_id)
    _rows(conn, tid)
    return state(conn, tenant_id=tid)


def _rows(conn: Any, tid: str) -> None:
    """Create the subscription and balance rows if missing (one statement)."""
    conn.execute(
        """with s as (insert into inbox.user_subscriptions (tenant_id, storage_limit_mb)
                      values (%(t)s, %(mb)s) on conflict do nothing)
           insert into inbox.user_credits (tenant_id) values (%(t)s) on conflict do nothing""",
        {"t": tid, "mb": PLANS["free"].kb_storage_mb})


def state(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return ``{plan, status, credits_remaining, credits_total, last_reset_at, used_this_month,
    limits}`` (``limits``: the :class:`Plan` as a dict)."""
    row = conn.execute(
        """select s.plan_name, s.status, s.storage_used_mb, s.storage_limit_mb,
                  coalesce(c.credits_remaining, 0) as credits_remaining,
                  coalesce(c.credits_total, 0) as credits_total, c.last_reset_at,
                  (select coalesce(-sum(amount), 0) from inbox.credit_transactions t
                    where t.tenant_id = s.tenant_id and t.amount < 0
                      and t.created_at >= coalesce(c.last_reset_at, '-infinity')) as used
           from inbox.user_subscriptions s
           left join inbox.user_credits c using (tenant_id)
           where s.tenant_id = %s""", [str(tenant_id)]).fetchone()
    if row is None:
        return {"plan": "free", "status": "active", "credits_remaining": 0, "credits_total": 0,
                "last_reset_at": None, "used_this_month": 0,
                "limits": PLANS["free"].__dict__, "storage_used_mb": 0}
    plan = PLANS[row["plan_name"]]
    return {"plan": plan.name, "status": row["status"],
            "credits_remaining": int(row["credits_remaining"]),
            "credits_total": int(row["credits_total"]), "last_reset_at": row["last_reset_at"],
            "used_this_month": int(row["used"]), "limits": dict(plan.__dict__),
            "storage_used_mb": float(row["storage_used_mb"] or 0)}


def _append(conn: Any, tid: str, amount: int, reason: str, action_id: str,
            metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """Apply ``amount`` to the balance and append the ledger row, atomically; None if the
    action is already in the ledger. Raises :class:`OutOfCredits` (nothing changed)."""
    if reason not in REASONS:
        raise InvalidInput(f"reason: {reason!r} is not one of {', '.join(REASONS)}")
    if conn.execute("select 1 from inbox.credit_transactions where tenant_id = %s and action_id = %s",
                    [tid, action_id]).fetchone():
        return None
    with conn.transaction():  # a savepoint: a lost race on action_id undoes the balance change
        bal = conn.execute(
            """update inbox.user_credits set credits_remaining = credits_remaining + %s,
                 updated_at = now()
               where tenant_id = %s and credits_remaining + %s >= 0
               returning credits_remaining""", [amount, tid, amount]).fetchone()
        if bal is None:
            have = conn.execute("select credits_remaining from inbox.user_credits where tenant_id = %s",
                                [tid]).fetchone()
            raise OutOfCredits(
                f"credits: {-amount} needed, {have['credits_remaining'] if have else 0} left this "
                "month; the action was not taken (a person handles it) until the monthly grant "
                "or a plan upgrade", remaining=int(have["credits_remaining"]) if have else 0)
        row = conn.execute(
            """insert into inbox.credit_transactions (tenant_id, amount, reason, action_id,
                 balance_after, metadata)
               values (%s, %s, %s, %s, %s, %s)
               on conflict (tenant_id, action_id) do nothing returning *""",
            [tid, amount, reason, action_id, bal["credits_remaining"], Jsonb(metadata or {})]
        ).fetchone()
        if row is None:
            raise _AlreadyCharged
    return row


class _AlreadyCharged(Exception):
    pass


def debit(conn: Any, *, tenant_id: UUID | str, action_id: str, reason: str = "ai_reply",
          amount: int = 1, metadata: dict[str, Any] | None = None) -> bool:
    """Debit ``amount`` credits for ``action_id``; return True if debited now, False if this
    action was already charged (idempotent).

    Runs in the caller's tenant transaction. Raises :class:`OutOfCredits` when the balance is
    short (nothing is changed, the balance never goes below zero).
    """
    if amount <= 0:
        raise InvalidInput("amount: a debit is a positive number of credits")
    tid = str(tenant_id)
    _rows(conn, tid)
    try:
        return _append(conn, tid, -amount, reason, action_id, metadata) is not None
    except _AlreadyCharged:
        return False


def credit(conn: Any, *, tenant_id: UUID | str, action_id: str, amount: int,
           reason: str = "grant", metadata: dict[str, Any] | None = None) -> bool:
    """Add ``amount`` credits for ``action_id`` (a grant, a refund); False if already done."""
    if amount <= 0:
        raise InvalidInput("amount: a credit is a positive number of credits")
    tid = str(tenant_id)
    _rows(conn, tid)
    try:
        done = _append(conn, tid, amount, reason, action_id, metadata) is not None
    except _AlreadyCharged:
        return False
    conn.execute("""update inbox.user_credits set credits_total = credits_total + %s
                    where tenant_id = %s""", [amount, tid])
    return done


def set_plan(conn: Any, *, tenant_id: UUID | str, plan: str, status: str = "active",
             now: datetime | None = None) -> dict[str, Any]:
    """Put the tenant on ``plan``; return :func:`state`. Does not grant credits by itself (the
    next monthly grant does; :func:`monthly_reset` with ``force`` grants now)."""
    if plan not in PLANS:
        raise InvalidInput(f"plan: {plan!r} is not one of {', '.join(PLANS)}")
    if status not in ("active", "canceled", "past_due"):
        raise InvalidInput(f"status: {status!r} is not one of active, canceled, past_due")
    tid = str(tenant_id)
    ensure(conn, tenant_id=tid)
    conn.execute(
        """update inbox.user_subscriptions set plan_name = %s, status = %s, storage_limit_mb = %s,
             current_period_start = coalesce(current_period_start, %s), updated_at = now()
           where tenant_id = %s""",
        [plan, status, PLANS[plan].kb_storage_mb, now or datetime.now(UTC), tid])
    return state(conn, tenant_id=tid)


def monthly_reset(conn: Any, *, tenant_id: UUID | str, now: datetime | None = None,
                  time_zone: str = "UTC") -> bool:
    """Grant the month's credits: the balance becomes the plan's ``ai_replies`` (an active
    subscription; ``canceled`` and ``past_due`` get the free plan's). Idempotent per local month
    of ``time_zone`` (action ``reset:YYYY-MM``); return True if granted now."""
    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    month = at.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m")
    st = ensure(conn, tenant_id=tid)
    allowance = PLANS[st["plan"] if st["status"] == "active" else "free"].ai_replies
    cur = conn.execute("select credits_remaining, last_reset_at from inbox.user_credits "
                       "where tenant_id = %s for update", [tid]).fetchone()
    last = cur["last_reset_at"]
    if last is not None and last.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m") == month:
        return False
    diff = allowance - int(cur["credits_remaining"])
    if diff != 0:
        try:
            if _append(conn, tid, diff, "monthly_reset", f"reset:{month}",
                       {"month": month, "plan": st["plan"], "allowance": allowance}) is None:
                return False
        except _AlreadyCharged:
            return False
    conn.execute("update inbox.user_credits set last_reset_at = %s, credits_total = %s "
                 "where tenant_id = %s", [at, allowance, tid])
    return True


def ledger(conn: Any, *, tenant_id: UUID | str, limit: int = 50) -> list[dict[str, Any]]:
    """Return the last ``limit`` ledger rows, newest first."""
    return conn.execute("""select * from inbox.credit_transactions where tenant_id = %s
                           order by transaction_id desc limit %s""", [str(tenant_id), limit]).fetchall()


def reconcile(conn: Any, *, tenant_id: UUID | str) -> dict[str, int]:
    """Return ``{balance, ledger_sum}`` (equal unless a row was changed behind the code's back)."""
    row = conn.execute(
        """select (select coalesce(credits_remaining, 0) from inbox.user_credits
                   where tenant_id = %(t)s) as balance,
                  (select coalesce(sum(amount), 0) from inbox.credit_transactions
                   where tenant_id = %(t)s) as ledger_sum""", {"t": str(tenant_id)}).fetchone()
    return {"balance": int(row["balance"] or 0), "ledger_sum": int(row["ledger_sum"])}
