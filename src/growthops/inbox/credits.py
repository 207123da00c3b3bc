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
    """A plan's monthly limits: ``ai_replies`` credits a month, ``kb_storage_mb`` megabytes
    (MiB, 1,048,576 bytes) of knowledge-base documents, ``monitored_posts`` posts under comment
    monitoring at once; ``kb_ingest_credits``: credits charged per document ingested (0: none,
    storage is a cap, not a charge)."""

    name: str
    ai_replies: int
    kb_storage_mb: int
    monitored_posts: int
    kb_ingest_credits: int = 0


PLANS: dict[str, Plan] = {p.name: p for p in (
    Plan("free", 50, 10, 5),
    Plan("starter", 1_000, 100, 20),
    Plan("pro", 5_000, 1_000, 100),
    Plan("enterprise", 50_000, 10_000, 1_000),
)}
REASONS = ("ai_reply", "post_published", "kb_ingest", "monthly_reset", "grant", "adjustment")


MB = 1024 * 1024


class PlanLimit(Conflict):
    """An action would go past a limit of the tenant's plan (HTTP 409); nothing was changed.
    The message names the limit, the plan and what is used."""


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
    limits, storage_used_mb, monitored_now}`` (``limits``: the :class:`Plan` as a dict;
    ``storage_used_mb``: the knowledge base's documents, MB; ``monitored_now``: posts under
    monitoring now)."""
    row = conn.execute(
        """select s.plan_name, s.status, s.storage_used_mb, s.storage_limit_mb,
                  coalesce(c.credits_remaining, 0) as credits_remaining,
                  coalesce(c.credits_total, 0) as credits_total, c.last_reset_at,
                  (select coalesce(-sum(amount), 0) from inbox.credit_transactions t
                    where t.tenant_id = s.tenant_id and t.amount < 0
                      and t.created_at >= coalesce(c.last_reset_at, '-infinity')) as used,
                  (select count(*) from inbox.monitored_posts p where p.tenant_id = s.tenant_id
                    and p.monitoring_enabled and p.monitoring_ends_at > now()) as monitored
           from inbox.user_subscriptions s
           left join inbox.user_credits c using (tenant_id)
           where s.tenant_id = %s""", [str(tenant_id)]).fetchone()
    if row is None:
        return {"plan": "free", "status": "active", "credits_remaining": 0, "credits_total": 0,
                "last_reset_at": None, "used_this_month": 0,
                "limits": PLANS["free"].__dict__, "storage_used_mb": 0, "monitored_now": 0}
    plan = PLANS[row["plan_name"]]
    return {"plan": plan.name, "status": row["status"],
            "credits_remaining": int(row["credits_remaining"]),
            "credits_total": int(row["credits_total"]), "last_reset_at": row["last_reset_at"],
            "used_this_month": int(row["used"]), "limits": dict(plan.__dict__),
            "storage_used_mb": float(row["storage_used_mb"] or 0),
            "monitored_now": int(row["monitored"])}


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


def plan_of(conn: Any, *, tenant_id: UUID | str) -> Plan:
    """The tenant's :class:`Plan` (the free plan's limits while the subscription is not
    ``active``: canceled or past due)."""
    st = ensure(conn, tenant_id=tenant_id)
    return PLANS[st["plan"] if st["status"] == "active" else "free"]


def kb_ingest(conn: Any, *, tenant_id: UUID | str, document_id: int, size: int) -> float:
    """Account for a knowledge-base document of ``size`` bytes just stored (in the caller's
    transaction, the document's row already inserted): refresh ``storage_used_mb`` (the sum of
    the tenant's documents) and charge ``kb_ingest_credits`` (reason ``kb_ingest``, action
    ``kb:<document_id>``) when the plan charges ingestion. Return the MB used.

    Raises :class:`PlanLimit` when the documents would exceed the plan's ``kb_storage_mb``, and
    :class:`OutOfCredits` when the plan charges ingestion and the balance is short: the caller's
    transaction (or savepoint) must then be rolled back, which removes the document."""
    tid = str(tenant_id)
    plan = plan_of(conn, tenant_id=tid)
    used = kb_storage(conn, tenant_id=tid)
    if used > plan.kb_storage_mb:
        raise PlanLimit(
            f"knowledge base: storage limit of the {plan.name} plan is {plan.kb_storage_mb} MB; "
            f"this document ({size / MB:.2f} MB) would bring it to {used:.2f} MB. Delete "
            "documents or move to a larger plan")
    if plan.kb_ingest_credits:
        debit(conn, tenant_id=tid, action_id=f"kb:{document_id}", reason="kb_ingest",
              amount=plan.kb_ingest_credits, metadata={"document_id": document_id, "bytes": size})
    return used


def kb_storage(conn: Any, *, tenant_id: UUID | str) -> float:
    """Recompute and store ``user_subscriptions.storage_used_mb`` (the sum of the tenant's
    knowledge-base documents' ``file_size_bytes``, in MB); return it."""
    tid = str(tenant_id)
    _rows(conn, tid)
    row = conn.execute(
        """update inbox.user_subscriptions s set storage_used_mb = round(coalesce(
             (select sum(file_size_bytes) from inbox.knowledge_documents d
              where d.tenant_id = s.tenant_id), 0) / %s::numeric, 2), updated_at = now()
           where s.tenant_id = %s
           returning (select coalesce(sum(file_size_bytes), 0) from inbox.knowledge_documents d
                      where d.tenant_id = %s) as bytes""", [MB, tid, tid]).fetchone()
    return int(row["bytes"]) / MB


def _monitored(counts: dict[int | None, int], accounts: list[int]) -> int:
    default = counts.get(None, 5)
    return sum(counts.get(a, default) for a in accounts) if accounts else default


def check_monitoring(conn: Any, *, tenant_id: UUID | str, counts: dict[int | None, int],
                     accounts: list[int], before: dict[int | None, int] | None = None) -> None:
    """Refuse monitoring rules that could monitor more posts at once than the plan allows.

    ``counts``: ``auto_monitor_count`` per rule (key: the account, None: the tenant's default)
    after the change, ``before``: the same before it; ``accounts``: the tenant's Instagram
    accounts. Each account monitors its own rule's N last posts (else the default's); the sum
    must not exceed the plan's ``monitored_posts``, unless the change does not raise it (rules
    already past the plan, after an account was connected or a downgrade, can still be
    lowered; :func:`growthops.inbox.comments.monitor_post` caps the posts actually monitored).
    Raises :class:`PlanLimit` naming the limit."""
    plan = plan_of(conn, tenant_id=tenant_id)
    total = _monitored(counts, accounts)
    if total > plan.monitored_posts and (before is None or total > _monitored(before, accounts)):
        raise PlanLimit(
            f"auto_monitor_count: the {plan.name} plan monitors at most {plan.monitored_posts} "
            f"posts at once; these rules would monitor {total} "
            f"({len(accounts) or 1} account(s)). Lower the count or move to a larger plan")
