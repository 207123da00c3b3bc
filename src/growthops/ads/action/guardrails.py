"""Guard rails on every platform write: a pure check, and the loaders that feed it.

:func:`check` takes a :class:`ProposedChange` (what a suggestion would do to one entity, rebased on
the entity's live state), the tenant's :class:`Rules` for that platform and a :class:`GuardState`
(the live entity, its last 24 h of executions, the month's spend) and returns a
:class:`GuardDecision`:

* ``allowed`` — the whole change may run now;
* ``split`` — only a smaller first step may run now (``step``); ``remaining_steps`` lists the
  later steps and the earliest time each may run (empty when a hard cap — monthly budget, minimum
  daily budget — drops the remainder for good);
* ``refused`` — nothing may run; ``retry_at`` says when, if ever, it could.

Every decision names the rail(s) that bound it. The rails, in the order they are checked:

``protected_entity``
    The entity (or its parent campaign / ad set) is in ``platform_configs.protected_entity_ids``:
    no write at all, pause included. Not forceable (edit the config instead).
``entity_unavailable`` / ``no_change`` / ``no_budget`` / ``no_bid_cap``
    The live entity is archived or deleted, already in the intended state, or has no daily
    budget / bid cap of its own (campaign budget optimisation puts it on the campaign).
``learning_phase``
    Budget and bid edits of an entity whose ``learning_stage`` is ``learning`` are refused unless
    ``force=True`` by a named person (audited) or ``platform_configs.allow_learning_edits``.
    Source: Meta Business Help Center, "About the learning phase": during learning "performance is
    less stable"; Meta recommends to "wait to edit your ad set until it's out of the learning
    phase", and lists "budget amount" and "bid control, cost per result goal or ROAS goal amount"
    among the *significant edits* that send an ad set back into learning. Choices made here:
    ``learning_limited`` is NOT blocked — Meta's advice for a Learning Limited ad set is to change
    it (combine ad sets, broaden the audience, raise the budget or the bid control; "About
    learning limited"), so blocking would keep it stuck. A **pause** is allowed during learning:
    it stops spending on an entity whose ROAS is already below 0.6 x target after 2 target CPAs
    of spend (the pause rule's evidence), and it is not a significant edit unless the ad set stays
    paused 7 days or more (same Meta page), in which case learning restarts on reactivation anyway.
``max_change_pct``
    One action may move a budget or bid by at most this percent of its live value (seed 004
    ``platform_configs.max_change_pct``, default 20). Meta publishes no percentage for a
    "significant" budget edit; 20% per step is the common practitioner rule (AdEspresso, Jon
    Loomer), the same step as :data:`growthops.ads.thresholds.BUDGET_STEP`.
``max_change_pct_24h``
    The net change of one entity's budget (or bid) over the last 24 h of growthops executions
    (``ads.execution_logs``, statuses applied / reconciled) may not pass this percent (default 30,
    migration 0004): several small steps in one day add up to a significant edit. Net change =
    the value after this change against the value before the first change in the window.
``monthly_budget_max``
    The tenant's ``core.tenants.monthly_budget_max``: an increase is allowed only while
    ``month_to_date + days_remaining x (daily_spend + increase) <= monthly_budget_max`` where
    ``month_to_date`` is the month's spend in ``ads.metrics_daily``, ``daily_spend`` the account's
    mean daily spend over its last 7 reported days plus the budget changes growthops applied since
    the last reported day, and ``days_remaining`` the days of the month not yet reported. Using
    actual spend (not budgets) carries the platforms' own overspend (Meta: up to 25% over a daily
    budget on a day) into the projection. Decreases and pauses are never refused by it.
``min_daily_budget``
    A budget decrease stops at ``platform_configs.min_daily_budget`` (seed 004; default 1 in the
    account currency). The platforms enforce their own minimums too (the connector reports them).
``dry_run`` / ``validate_only``
    Modes, not refusals: ``dry_run`` calls nothing; ``validate_only`` asks the platform to validate
    the change without applying it (Google Ads ``validate_only`` request field; Meta
    ``execution_options=["validate_only"]``). Both record an execution of status ``dry_run``.

Money is ``Decimal`` in the account currency, rounded to the cent (a cut step is rounded toward
the live value, so it never passes a bound; a requested value within half a cent of a bound is
inside it, which absorbs the rounding of the suggestion's own figures). Percents are 0–100 in
:class:`Rules` (as stored), fractions 0–1 in computations. Times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from growthops.connectors.base import EntityState
from growthops.core.errors import NotFound
from growthops.core.i18n import N_, _, format_datetime

Action = Literal["budget_change", "bid_change", "pause", "activate"]
Outcome = Literal["allowed", "split", "refused"]
Mode = Literal["live", "dry_run", "validate_only"]

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
#: How many later steps a split lists (the rest is summarised as "and more").
MAX_LISTED_STEPS = 10
#: The look-back of the cumulative rail, hours (``max_change_pct_24h``).
WINDOW_HOURS = 24
#: Days of reported spend averaged into the account's current daily spend (monthly rail).
SPEND_DAYS = 7

#: Column defaults of ``ads.platform_configs`` (migrations 0002 and 0004), used when a tenant has
#: no row for a platform.
DEFAULT_MAX_CHANGE_PCT = Decimal("20")
DEFAULT_MAX_CHANGE_PCT_24H = Decimal("30")
DEFAULT_MIN_DAILY_BUDGET = Decimal("1")
DEFAULT_MIN_AUTO_APPLY_CONFIDENCE = 90


def cents(x: Decimal | float | int | str) -> Decimal:
    """Round money to the cent, half up (``Decimal``)."""
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def cents_toward(x: Decimal | float | int | str, current: Decimal | None) -> Decimal:
    """Round money to the cent toward ``current`` (down for an increase, up for a decrease), so
    a change computed as ``current x (1 + p)`` never passes ``p`` by a rounding cent."""
    d = Decimal(str(x))
    if current is None:
        return cents(d)
    return d.quantize(CENT, rounding=ROUND_FLOOR if d >= current else ROUND_CEILING)


def _money(x: Decimal | None) -> float | None:
    return float(x) if x is not None else None


@dataclass(frozen=True)
class ProposedChange:
    """One write on one entity, in live terms.

    ``action`` is ``budget_change`` / ``bid_change`` (``current`` and ``target`` are the daily
    budget or bid cap, money) or ``pause`` / ``activate`` (``target_status``). ``requested`` is
    the suggestion's own target, ``rebased`` True when the live value moved since the suggestion
    and the target was recomputed from it.
    """

    platform: str
    entity_type: str
    entity_id: str
    action: Action
    current: Decimal | None = None
    target: Decimal | None = None
    target_status: str | None = None
    requested: Decimal | None = None
    rebased: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view (money as floats)."""
        if self.action not in ("budget_change", "bid_change"):
            return {"action": self.action, "status": self.target_status}
        d = {"action": self.action, "from": _money(self.current), "to": _money(self.target)}
        if self.rebased:
            d["rebased_from_requested"] = _money(self.requested)
        return d


@dataclass(frozen=True)
class Rules:
    """A tenant's guard rails on one platform (``ads.platform_configs`` + ``core.tenants``).

    Percents 0–100; money in the account currency; ``monthly_budget_max`` is the tenant's (all
    platforms), None for no cap. ``auto_apply`` and ``min_auto_apply_confidence`` (percent) are
    read here too because auto-apply needs them with the rails.
    """

    platform: str
    max_change_pct: Decimal = DEFAULT_MAX_CHANGE_PCT
    max_change_pct_24h: Decimal = DEFAULT_MAX_CHANGE_PCT_24H
    min_daily_budget: Decimal = DEFAULT_MIN_DAILY_BUDGET
    protected_entity_ids: frozenset[str] = frozenset()
    dry_run: bool = False
    validate_only: bool = False
    allow_learning_edits: bool = False
    monthly_budget_max: Decimal | None = None
    auto_apply: bool = False
    min_auto_apply_confidence: int = DEFAULT_MIN_AUTO_APPLY_CONFIDENCE


@dataclass(frozen=True)
class SpendState:
    """The tenant's month so far, for the monthly rail (money in the tenant currency).

    ``daily_spend`` is the mean daily spend of the last reported days plus the budget changes
    applied since; ``days_remaining`` counts the month's days not yet reported (today included).
    """

    month_to_date: Decimal
    daily_spend: Decimal
    days_remaining: int


@dataclass(frozen=True)
class History:
    """One entity's growthops executions in the last 24 h (applied / reconciled).

    ``*_baseline`` is the value (money) before the first change of that kind in the window,
    ``*_started_at`` when that change ran; ``unsettled`` is True when a claimed execution on the
    entity is not settled yet (a crash: run ``reconcile`` first).
    """

    budget_baseline: Decimal | None = None
    budget_started_at: datetime | None = None
    bid_baseline: Decimal | None = None
    bid_started_at: datetime | None = None
    unsettled: bool = False


@dataclass(frozen=True)
class GuardState:
    """What :func:`check` knows besides the proposal and the rules.

    ``entity`` is the platform's live state; ``force`` with ``forced_by`` (a person) lifts the
    learning-phase rail only.
    """

    entity: EntityState
    now: datetime
    history: History = field(default_factory=History)
    spend: SpendState | None = None
    force: bool = False
    forced_by: str | None = None


@dataclass(frozen=True)
class Step:
    """A later step of a split: the value to set and the earliest UTC time it may run."""

    to: Decimal
    not_before: datetime


@dataclass(frozen=True)
class GuardDecision:
    """The verdict on one proposed change (see the module docstring for the rails)."""

    outcome: Outcome
    rails: tuple[str, ...]
    reasons: tuple[str, ...]
    proposed: ProposedChange
    step: ProposedChange | None
    mode: Mode = "live"
    remaining_steps: tuple[Step, ...] = ()
    more_steps: bool = False
    overridden: tuple[str, ...] = ()
    forced_by: str | None = None
    retry_at: datetime | None = None
    checked_at: datetime | None = None

    def note(self) -> dict[str, Any]:
        """Return the JSON stored in ``ads.suggestions.guard_rail_note``."""
        steps = [{"to": float(s.to), "not_before": s.not_before.isoformat()}
                 for s in self.remaining_steps]
        return {
            "outcome": self.outcome, "rails": list(self.rails), "reasons": list(self.reasons),
            "mode": self.mode, "asked": self.proposed.as_dict(),
            "step": self.step.as_dict() if self.step else None, "remaining_steps": steps,
            "more_steps": self.more_steps, "overridden": list(self.overridden),
            "forced_by": self.forced_by,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }


def _mode(rules: Rules) -> Mode:
    if rules.dry_run:
        return "dry_run"
    return "validate_only" if rules.validate_only else "live"


def _pct(x: Decimal) -> str:
    return f"{float(x) * 100:+.1f}%"


def check(proposed: ProposedChange, rules: Rules, state: GuardState) -> GuardDecision:
    """Decide whether ``proposed`` may run now, in smaller steps, or not at all (pure function).

    Returns a :class:`GuardDecision` naming every rail the requested change would break, with
    the step that may run now and the later steps (at most :data:`MAX_LISTED_STEPS`, one per
    24 h, each at most ``min(max_change_pct, max_change_pct_24h)``: one step per 24 h keeps both
    the per-action and the 24 h rail). Rails, units and sources: see the module docstring.
    Never raises for a well-formed input.
    """
    now, e = state.now, state.entity
    base: dict[str, Any] = {"proposed": proposed, "mode": _mode(rules), "checked_at": now}

    def decided(outcome: Outcome, rails: list[str], reasons: list[str],
                step: ProposedChange | None, overridden: tuple[str, ...] = (),
                **kw: Any) -> GuardDecision:
        return GuardDecision(outcome, tuple(rails), tuple(reasons), step=step,
                             overridden=overridden,
                             forced_by=state.forced_by if overridden else None, **kw, **base)

    def refused(rail: str, reason: str) -> GuardDecision:
        return decided("refused", [rail], [f"{rail}: {reason}"], None)

    # 1. protected entities (and the children of a protected parent)
    hit = sorted(x for x in {proposed.entity_id, e.entity_id, e.parent_id}
                 if x and x in rules.protected_entity_ids)
    if hit:
        return refused("protected_entity", f"{hit[0]} is protected in platform_configs")
    # 2. availability and no-op
    if e.status in ("archived", "deleted"):
        return refused("entity_unavailable", f"the entity is {e.status}")
    if proposed.action in ("pause", "activate"):
        want = proposed.target_status or ("paused" if proposed.action == "pause" else "active")
        if e.status == want:
            return refused("no_change", f"the entity is already {want}")
        return decided("allowed", [], [], proposed)
    kind = "budget" if proposed.action == "budget_change" else "bid"
    cur, target = proposed.current, proposed.target
    if cur is None or cur <= 0 or target is None:
        what = "daily budget" if kind == "budget" else "bid cap"
        return refused("no_budget" if kind == "budget" else "no_bid_cap",
                       f"the entity has no {what} of its own to change")
    if abs(target - cur) < HALF_CENT:
        return refused("no_change", f"the {kind} is already {cur}")
    # 3. learning phase (budget and bid edits only; pauses passed above)
    overridden: tuple[str, ...] = ()
    if e.learning_stage == "learning":
        if state.force and state.forced_by:
            overridden = ("learning_phase",)
        elif not rules.allow_learning_edits:
            return refused("learning_phase", "the entity is still in its learning phase; a "
                           "budget or bid edit is a significant edit that restarts learning "
                           "(Meta, 'About the learning phase'); wait, or force it as a person")
    if state.history.unsettled:
        return refused("unsettled_execution",
                       "an earlier execution on this entity is not settled; run reconcile")
    # 4. size rails: (rail, bound, hard); a hard bound drops the remainder for good
    p, q = rules.max_change_pct / 100, rules.max_change_pct_24h / 100
    h = state.history
    baseline, started = ((h.budget_baseline, h.budget_started_at) if kind == "budget"
                         else (h.bid_baseline, h.bid_started_at))
    b = baseline if baseline is not None and baseline > 0 else cur
    up = target > cur
    sign = 1 if up else -1
    bounds: list[tuple[str, Decimal, bool]] = [
        ("max_change_pct", cur * (1 + sign * p), False),
        ("max_change_pct_24h", b * (1 + sign * q), False)]
    sp = state.spend
    if up and kind == "budget" and rules.monthly_budget_max is not None and sp is not None \
            and sp.days_remaining > 0:
        per_day = (rules.monthly_budget_max - sp.month_to_date) / sp.days_remaining
        bounds.append(("monthly_budget_max", cur + per_day - sp.daily_spend, True))
    if not up and kind == "budget":
        bounds.append(("min_daily_budget", rules.min_daily_budget, True))
    rnd = ROUND_FLOOR if up else ROUND_CEILING  # toward the live value: never past a bound
    binding = [(r, v, hd) for r, v, hd in bounds if (target > v if up else target < v)]
    if not binding:
        return decided("allowed", [], [], proposed, overridden)
    tight = (min if up else max)(v for _, v, _ in binding).quantize(CENT, rounding=rnd)
    cut = min(target, tight) if up else max(target, tight)
    rails, reasons = [r for r, _, _ in binding], []
    for r, v, _detail in binding:
        if r == "max_change_pct":
            reasons.append(f"max_change_pct: {_pct(target / cur - 1)} asked, at most "
                           f"{float(rules.max_change_pct):g}% per action (limit {cents(v)})")
        elif r == "max_change_pct_24h":
            reasons.append(f"max_change_pct_24h: {_pct(target / b - 1)} against {cents(b)} "
                           f"before the last 24 h, at most {float(rules.max_change_pct_24h):g}% "
                           f"per 24 h (limit {cents(v)})")
        elif r == "monthly_budget_max":
            assert sp is not None
            projected = sp.month_to_date + sp.days_remaining * (sp.daily_spend + target - cur)
            reasons.append(f"monthly_budget_max: month projected at {cents(projected)} after "
                           f"the change, above {rules.monthly_budget_max} (limit {cents(v)})")
        else:
            reasons.append(f"min_daily_budget: {target} asked, the floor is "
                           f"{rules.min_daily_budget}")
    if (cut <= cur) if up else (cut >= cur):
        retry_at = None
        if set(rails) == {"max_change_pct_24h"} and started is not None:
            retry_at = started + timedelta(hours=WINDOW_HOURS)
        return decided("refused", rails, reasons, None, overridden, retry_at=retry_at)
    # 5. split: the first step now, later steps one per 24 h up to the target (or a hard cap)
    final = target
    for v in (v.quantize(CENT, rounding=rnd) for _rail, v, hd in bounds if hd):
        final = min(final, v) if up else max(final, v)
    steps: list[Step] = []
    more, v, k, s = False, cut, 0, min(p, q)
    while (v < final) if up else (v > final):
        k += 1
        if k > MAX_LISTED_STEPS:
            more = True
            break
        nxt = (v * (1 + sign * s)).quantize(CENT, rounding=rnd)
        nxt = min(nxt, final) if up else max(nxt, final)
        if nxt == v:
            break
        steps.append(Step(nxt, now + timedelta(hours=WINDOW_HOURS * k)))
        v = nxt
    if final != target:
        reasons.append(f"the remainder beyond {final} is dropped (hard {'cap' if up else 'floor'})")
    return decided("split", rails, reasons, replace(proposed, target=cut), overridden,
                   remaining_steps=tuple(steps), more_steps=more)


# ----------------------------------------------------------------------------- loaders (SQL)
def load_rules(conn: Any, *, tenant_id: UUID | str) -> tuple[dict[str, Rules], dict[str, Any]]:
    """Read the tenant and its platform configs (one query) inside a tenant transaction.

    Returns ``(rules by platform, tenant)`` where ``tenant`` has ``time_zone``, ``currency`` and
    ``monthly_budget_max``. A platform without a config row gets :func:`default_rules`.
    Raises :class:`growthops.core.errors.NotFound` for an unknown tenant.
    """
    rows = conn.execute(
        """select t.time_zone, t.currency, t.monthly_budget_max, c.platform, c.max_change_pct,
                  c.max_change_pct_24h, c.min_daily_budget, c.protected_entity_ids, c.dry_run,
                  c.validate_only, c.allow_learning_edits, c.auto_apply_recommendations,
                  c.min_auto_apply_confidence
           from core.tenants t left join ads.platform_configs c on c.tenant_id = t.tenant_id
           where t.tenant_id = %s""",
        [tenant_id],
    ).fetchall()
    if not rows:
        raise NotFound(f"no tenant {tenant_id}")
    t = rows[0]
    tenant = {"time_zone": t["time_zone"], "currency": t["currency"].strip(),
              "monthly_budget_max": t["monthly_budget_max"]}
    rules = {
        r["platform"]: Rules(
            platform=r["platform"], max_change_pct=Decimal(r["max_change_pct"]),
            max_change_pct_24h=Decimal(r["max_change_pct_24h"]),
            min_daily_budget=Decimal(r["min_daily_budget"]),
            protected_entity_ids=frozenset(r["protected_entity_ids"] or ()),
            dry_run=r["dry_run"], validate_only=r["validate_only"],
            allow_learning_edits=r["allow_learning_edits"],
            monthly_budget_max=t["monthly_budget_max"], auto_apply=r["auto_apply_recommendations"],
            min_auto_apply_confidence=int(r["min_auto_apply_confidence"]))
        for r in rows if r["platform"] is not None
    }
    return rules, tenant


def default_rules(platform: str, monthly_budget_max: Decimal | None) -> Rules:
    """Return the column defaults of ``ads.platform_configs`` for a platform with no row."""
    return Rules(platform=platform, monthly_budget_max=monthly_budget_max)


def reporting_day(ts: datetime, time_zone: str) -> date:
    """Return the ad account's reporting date of a UTC timestamp in ``time_zone``."""
    return ts.astimezone(ZoneInfo(time_zone)).date()


def load_spend(conn: Any, *, tenant_id: UUID | str, now: datetime, time_zone: str) -> SpendState:
    """Read the month's spend for the monthly rail (two queries, all platforms).

    Per platform and day, spend is taken at the highest level reported (campaign, else ad set,
    else ad) so levels are not counted twice. ``daily_spend`` = mean of the last
    :data:`SPEND_DAYS` reported days + the budget deltas of growthops executions (applied /
    reconciled) since the end of the last reported day; ``days_remaining`` = days of the current
    month (in ``time_zone``) after its last reported day.
    """
    today = reporting_day(now, time_zone)
    month_start = today.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    rows = conn.execute(
        """select platform, level, day, sum(spend) as spend from ads.metrics_daily
           where tenant_id = %s and day between %s and %s group by platform, level, day""",
        [tenant_id, min(month_start, today - timedelta(days=40)), today],
    ).fetchall()
    rank = {"campaign": 0, "adset": 1, "ad": 2}
    top: dict[str, int] = {}
    for r in rows:
        top[r["platform"]] = min(top.get(r["platform"], 9), rank[r["level"]])
    per_day: dict[date, Decimal] = {}
    for r in rows:
        if rank[r["level"]] == top[r["platform"]]:
            per_day[r["day"]] = per_day.get(r["day"], Decimal(0)) + Decimal(r["spend"])
    days = sorted(per_day)
    mtd = sum((per_day[d] for d in days if d >= month_start), Decimal(0))
    last = days[-1] if days else None
    recent = [per_day[d] for d in days if last and d > last - timedelta(days=SPEND_DAYS)]
    daily = sum(recent, Decimal(0)) / len(recent) if recent else Decimal(0)
    last_in_month = max((d for d in days if d >= month_start),
                        default=month_start - timedelta(days=1))
    since_day = last + timedelta(days=1) if last else today
    since = datetime.combine(since_day, time(0), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)
    delta = conn.execute(
        """select coalesce(sum((intended_state->>'daily_budget')::numeric
                               - (before_state->>'daily_budget')::numeric), 0) as d
           from ads.execution_logs
           where tenant_id = %s and status in ('applied', 'reconciled')
             and action_type = 'budget_change' and executed_at >= %s and executed_at <= %s""",
        [tenant_id, since, now],
    ).fetchone()["d"]
    return SpendState(month_to_date=mtd, daily_spend=daily + Decimal(delta),
                      days_remaining=max(0, (month_end - last_in_month).days))


def load_history(conn: Any, *, tenant_id: UUID | str, keys: list[tuple[str, str]],
                 now: datetime) -> dict[tuple[str, str], History]:
    """Read the last 24 h of executions of the entities ``keys`` ((platform, entity_id)).

    One query. Applied and reconciled executions with ``executed_at`` in ``(now - 24 h, now]``
    set the baselines; any ``claimed`` row (unsettled, whenever claimed) marks the entity
    unsettled. Entities without executions are absent from the result (use ``History()``).
    """
    if not keys:
        return {}
    rows = conn.execute(
        """select e.platform, e.entity_id, e.action_type, e.status, e.executed_at,
                  e.before_state->>'daily_budget' as budget_before,
                  e.before_state->>'bid_amount' as bid_before
           from ads.execution_logs e
           join unnest(%s::text[], %s::text[]) as k(platform, entity_id)
             on k.platform = e.platform and k.entity_id = e.entity_id
           where e.tenant_id = %s
             and (e.status = 'claimed' or (e.status in ('applied', 'reconciled')
                                           and e.executed_at > %s and e.executed_at <= %s))
           order by e.executed_at nulls last, e.execution_id""",
        [[k[0] for k in keys], [k[1] for k in keys], tenant_id,
         now - timedelta(hours=WINDOW_HOURS), now],
    ).fetchall()
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        h = acc.setdefault((r["platform"], r["entity_id"]), {})
        kind = {"budget_change": "budget", "bid_change": "bid"}.get(r["action_type"])
        if r["status"] == "claimed":
            h["unsettled"] = True
        elif kind and f"{kind}_baseline" not in h and r[f"{kind}_before"]:
            h[f"{kind}_baseline"] = Decimal(r[f"{kind}_before"])
            h[f"{kind}_started_at"] = r["executed_at"]
    return {k: History(**v) for k, v in acc.items()}


# ------------------------------------------------------------------------------- display
#: The one-line verdict of a note, by outcome.
_VERDICT = {"allowed": N_("inside every guard rail"), "split": N_("split by {rails}"),
            "refused": N_("refused by {rails}")}


def describe(note: dict[str, Any] | None, lang: str = "en") -> str:
    """Render a ``guard_rail_note`` in one line for the digest and the CLI ('' when None).

    ``lang``: ``en`` or ``fr``; times in UTC, formatted for ``lang``. Example: ``split by
    max_change_pct: 100.0 → 120.0 now; then 144.0 from Mar 11, 2026, 9:00 AM UTC``.
    """
    if not note:
        return ""

    def when(iso: str) -> str:
        return format_datetime(datetime.fromisoformat(iso), "UTC", lang, with_zone=True)

    verdict = _VERDICT.get(note.get("outcome", "allowed"), _VERDICT["allowed"])
    parts = [_(lang, verdict, rails=", ".join(note.get("rails") or []))]
    step = note.get("step") or {}
    if note.get("outcome") == "split" and "to" in step:
        parts.append(_(lang, "{frm} → {to} now", frm=step.get("from"), to=step.get("to")))
        parts += [_(lang, "then {to} from {when}", to=s["to"], when=when(s["not_before"]))
                  for s in note.get("remaining_steps") or []]
        if note.get("more_steps"):
            parts.append(_(lang, "and more steps"))
    if note.get("retry_at"):
        parts.append(_(lang, "may retry from {when}", when=when(note["retry_at"])))
    if note.get("overridden"):
        parts.append(_(lang, "learning-phase rail overridden by {who}", who=note.get("forced_by")))
    if note.get("mode") == "dry_run":
        parts.append(_(lang, "dry run: nothing changed"))
    elif note.get("mode") == "validate_only":
        parts.append(_(lang, "validated only: nothing changed"))
    return "; ".join(parts)
