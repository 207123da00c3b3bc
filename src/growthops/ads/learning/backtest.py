"""Backtest: replay the daily cycle day by day and look at what followed each suggestion.

``run_backtest`` runs :func:`growthops.ads.cycle.run_cycle_in_tx` for every as-of day of the
range (after recomputing the anomaly null's scores of the 28 days before it) inside ONE transaction that is rolled back at the end (nothing is kept; pending
suggestions of the live account are set aside inside it so they do not block the replay). The
clock of each replayed day is 09:00 the next morning in the tenant's time zone, so suggestions
expire and deduplicate as they would have; suggestions the account received after that clock
(the live ones) are not seen by the replay's deduplication (:func:`growthops.ads.suggestions.generate.store`,
issue 16: they used to block most of the replayed pauses).

Then, set-based, it sums each suggested entity's metrics over the evidence window (the 14 days
ending on the as-of day) and the ``horizon_days`` after it, and judges per type whether the
suggestion's *premise* held in the following days. No action was taken on these accounts, so
this measures whether the diagnosis was right (predictive validity), not the effect of acting:

* pause: ROAS after < 0.6 x target (the pause line); budget_decrease: ROAS after < target;
* scale / budget_increase: ROAS after > 1.2 x target (the scale line);
* refresh / test_angle: CTR after below the earlier (pre-fatigue) CTR; since issue 16 a refresh
  stores its premise (``metric`` ctr below, or cpa above, the earlier period's ``baseline_value``)
  and is judged like the anomaly-driven types below;
* campaign_diagnostic / bid_adjustment: the flagged metric (CPA, CPM, CTR, spend) over the
  horizon still on the flagged side of the baseline the anomaly test expected (stored in the
  evidence since issue 16; older rows: CPA after above CPA before).

The table shows, per type, the count, the share whose premise held with a Wilson 95% interval,
the mean stated confidence beside it and the expected calibration error (ECE, 10 bins; issue
16); a line under it gives the ECE over every measured suggestion. A calibrated engine has the
share and the stated confidence close and the ECE near 0.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from scipy import stats

from growthops.ads.analysis.anomalies import NULL_PAST_DAYS, detect_anomalies
from growthops.ads.config import load_context
from growthops.ads.cycle import run_cycle_in_tx
from growthops.ads.reporting.digest import confidence_text
from growthops.ads.thresholds import PAUSE_ROAS_FRACTION_OF_TARGET, SCALE_ROAS_MARGIN
from growthops.core.db import Database
from growthops.core.errors import InvalidInput
from growthops.core.i18n import _, format_number, format_percent

_OUTCOMES = """
select s.suggestion_id, s.as_of, s.type, s.entity_type, s.entity_id, s.confidence, s.evidence,
       s.predicted_metrics,
       coalesce(sum(m.spend) filter (where m.day <= s.as_of), 0)::float8 as spend_b,
       coalesce(sum(m.spend) filter (where m.day > s.as_of), 0)::float8 as spend_a,
       coalesce(sum({result}) filter (where m.day <= s.as_of), 0)::float8 as results_b,
       coalesce(sum({result}) filter (where m.day > s.as_of), 0)::float8 as results_a,
       coalesce(sum(m.conversion_value) filter (where m.day <= s.as_of), 0)::float8 as value_b,
       coalesce(sum(m.conversion_value) filter (where m.day > s.as_of), 0)::float8 as value_a,
       coalesce(sum(m.clicks) filter (where m.day <= s.as_of), 0)::float8 as clicks_b,
       coalesce(sum(m.clicks) filter (where m.day > s.as_of), 0)::float8 as clicks_a,
       coalesce(sum(m.impressions) filter (where m.day <= s.as_of), 0)::float8 as imp_b,
       coalesce(sum(m.impressions) filter (where m.day > s.as_of), 0)::float8 as imp_a,
       count(distinct m.day) filter (where m.day > s.as_of) as days_a
from ads.suggestions s
left join ads.metrics_daily m
  on m.tenant_id = s.tenant_id and m.platform = s.platform and m.level = s.entity_type
 and m.entity_id = s.entity_id and m.day between s.as_of - 13 and s.as_of + %(h)s
where s.tenant_id = %(t)s and s.as_of between %(start)s and %(end)s and s.suggestion_id > %(since)s
group by s.suggestion_id, s.as_of, s.type, s.entity_type, s.entity_id, s.confidence, s.evidence,
         s.predicted_metrics
"""


@dataclass
class TypeOutcome:
    """Per suggestion type: counts, premise-held rate with Wilson 95% interval, stated confidence."""

    type: str
    suggestions: int = 0
    measured: int = 0
    held: int = 0
    confidences: list[float] = field(default_factory=list)
    pairs: list[tuple[float, bool]] = field(default_factory=list)
    before: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    metric: str = ""

    @property
    def rate(self) -> float | None:
        """Share of measured suggestions whose premise held (fraction)."""
        return self.held / self.measured if self.measured else None

    @property
    def ece(self) -> float | None:
        """Expected calibration error of the measured suggestions (fraction 0-1)."""
        return expected_calibration_error(self.pairs)

    @property
    def interval(self) -> tuple[float, float] | None:
        """Wilson 95% interval of :attr:`rate` (SciPy ``binomtest``)."""
        if not self.measured:
            return None
        ci = stats.binomtest(self.held, self.measured).proportion_ci(0.95, method="wilson")
        return float(ci.low), float(ci.high)


@dataclass
class BacktestResult:
    """What :func:`run_backtest` found: per-type outcomes, days replayed, suggestions made."""

    start: date
    end: date
    horizon_days: int
    days: int
    outcomes: dict[str, TypeOutcome]
    rows: list[dict[str, Any]]


def _roas(value: float, results: float, spend: float, vpr: float | None) -> float | None:
    if spend <= 0:
        return None
    if value > 0:
        return value / spend
    if vpr:
        return results * vpr / spend
    return None


def _ratio(num: float, den: float, scale: float = 1.0) -> float | None:
    return scale * num / den if den else None


#: The anomaly metrics over the evidence window ("b") or the horizon ("a"); spend per day.
_AFTER = {
    "cpa": lambda r, w: _ratio(r[f"spend_{w}"], r[f"results_{w}"]),
    "cpm": lambda r, w: _ratio(r[f"spend_{w}"], r[f"imp_{w}"], 1000.0),
    "ctr": lambda r, w: _ratio(r[f"clicks_{w}"], r[f"imp_{w}"]),
    "spend": lambda r, w: _ratio(r[f"spend_{w}"], r["days_a"] if w == "a" else 14),
}


def expected_calibration_error(pairs: list[tuple[float, bool]], bins: int = 10) -> float | None:
    """Expected calibration error of (stated confidence 0-1, premise held) pairs (fraction 0-1).

    ``sum_b n_b / N * |mean confidence_b - share held_b|`` over ``bins`` equal-width bins of the
    stated confidence (Naeini, Cooper & Hauskrecht 2015, AAAI; Guo et al. 2017, ICML). None
    without pairs.
    """
    if not pairs:
        return None
    total = 0.0
    for b in range(bins):
        sel = [(c, h) for c, h in pairs if min(int(c * bins), bins - 1) == b]
        if sel:
            total += len(sel) * abs(statistics.fmean(c for c, _ in sel) - statistics.fmean(h for _, h in sel))
    return total / len(pairs)


def judge(row: dict[str, Any], horizon_days: int) -> tuple[bool | None, str, float | None, float | None]:
    """Return (premise held?, metric name, before value, after value) for one suggestion row.

    ``None`` for "held" means not measurable (no delivery after, or the metric is undefined).
    """
    ev = row["evidence"] or {}
    typ = row["type"]
    target = ev.get("target_roas")
    vpr = ev.get("value_per_result")
    if typ in ("pause", "scale", "budget_increase", "budget_decrease"):
        before = _roas(row["value_b"], row["results_b"], row["spend_b"], vpr)
        after = _roas(row["value_a"], row["results_a"], row["spend_a"], vpr)
        if after is None or target is None:
            return None, "roas", before, after
        if typ == "pause":
            return after < PAUSE_ROAS_FRACTION_OF_TARGET * target, "roas", before, after
        if typ == "budget_decrease":
            return after < target, "roas", before, after
        return after > SCALE_ROAS_MARGIN * target, "roas", before, after
    if typ in ("refresh", "test_angle") and not (ev.get("metric") in _AFTER and ev.get("baseline_value") is not None):
        ctr_e = (row["predicted_metrics"] or {}).get("metrics", {}).get("ctr", {}).get("p90")
        if ctr_e is None:
            comp = ev.get("components") or {}
            ce, ie = comp.get("clicks_earlier"), comp.get("impressions_earlier")
            ctr_e = ce / ie if ce is not None and ie else None
        before = row["clicks_b"] / row["imp_b"] if row["imp_b"] else None
        after = row["clicks_a"] / row["imp_a"] if row["imp_a"] else None
        if after is None or ctr_e is None:
            return None, "ctr", before, after
        return after < ctr_e, "ctr", before, after
    if ev.get("metric") in _AFTER and ev.get("baseline_value") is not None:
        # anomaly-driven (issue 16): the flagged metric over the horizon against the baseline the
        # test expected, on the flagged side; "before" = the evidence window's value.
        metric, base = ev["metric"], float(ev["baseline_value"])
        before, after = _AFTER[metric](row, "b"), _AFTER[metric](row, "a")
        if after is None:
            return None, metric, before, after
        held = after > base if ev.get("direction") == "spike" else after < base
        return held, metric, before, after
    # older anomaly-driven rows (no premise in the evidence): CPA after vs before
    before = row["spend_b"] / row["results_b"] if row["results_b"] else None
    after = row["spend_a"] / row["results_a"] if row["results_a"] else None
    if after is None or before is None:
        return None, "cpa", before, after
    return after > before, "cpa", before, after


def run_backtest(db: Database, *, tenant_id: UUID, start: date, end: date, horizon_days: int = 7,
                 progress: bool = False) -> BacktestResult:
    """Replay the cycle for every day of [start, end] and measure the premise of each suggestion.

    Raises :class:`InvalidInput` when ``start`` is after ``end`` or the range passes 366 days.
    Nothing is written: the replay runs in a transaction that is rolled back.
    """
    if start > end:
        raise InvalidInput(f"--from {start} is after --to {end}")
    if (end - start).days > 366:
        raise InvalidInput("the backtest range is limited to 366 days")
    with db.tenant_tx(tenant_id, rollback=True) as conn:
        since = conn.execute(
            "select coalesce(max(suggestion_id), 0) as n from ads.suggestions where tenant_id = %s", [tenant_id]
        ).fetchone()["n"]
        ctx = load_context(conn, tenant_id=tenant_id)
        zone = ZoneInfo(ctx.time_zone)
        conn.execute(
            "update ads.suggestions set status = 'expired' where tenant_id = %s and status = 'pending'",
            [tenant_id],
        )
        # The anomaly test's null pools the previous days' stored scores (docs/performance.md
        # section 2d): the stored ones are set aside (inside the rolled-back transaction) and
        # recomputed for the NULL_PAST_DAYS days before the range, then each replayed day writes
        # its own before the next reads them: the replay reads only earlier days' scores, all
        # computed from the data as it stands, whatever was stored.
        conn.execute("with s as (delete from ads.anomaly_null_scores where tenant_id = %(t)s) "
                     "delete from ads.anomaly_null_days where tenant_id = %(t)s", {"t": tenant_id})
        for k in range(NULL_PAST_DAYS, 0, -1):
            detect_anomalies(conn, ctx, start - timedelta(days=k), scores_only=True)
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        bar = Progress(transient=True) if progress else None
        task = bar.add_task("backtest", total=len(days)) if bar else None
        if bar:
            bar.start()
        try:
            for d in days:
                clock = datetime.combine(d + timedelta(days=1), time(9, 0), tzinfo=zone)
                run_cycle_in_tx(conn, tenant_id=tenant_id, as_of=d, clock=clock)
                if bar is not None and task is not None:
                    bar.advance(task)
        finally:
            if bar:
                bar.stop()
        rows = conn.execute(
            _OUTCOMES.format(result=ctx.result_sql("m")),
            {"t": tenant_id, "start": start, "end": end, "h": horizon_days, "since": since},
        ).fetchall()
    outcomes: dict[str, TypeOutcome] = {}
    for r in rows:
        o = outcomes.setdefault(r["type"], TypeOutcome(r["type"]))
        o.suggestions += 1
        o.confidences.append(r["confidence"] / 100)
        held, metric, before, after = judge(r, horizon_days)
        o.metric = o.metric or metric  # medians of one metric per type (refresh: CTR or CPA)
        r["premise_held"] = held
        if held is None:
            continue
        o.measured += 1
        o.held += int(held)
        o.pairs.append((r["confidence"] / 100, bool(held)))
        if before is not None and after is not None and metric == o.metric:
            o.before.append(before)
            o.after.append(after)
    return BacktestResult(start, end, horizon_days, len(days), outcomes, rows)


#: Fewer measured suggestions than this: the held rate is not compared with the stated one.
MIN_MEASURED_TO_JUDGE = 5


def reading(o: TypeOutcome, lang: str) -> str:
    """In words, whether the premise held as often as the suggestions stated.

    Compares the mean stated confidence with the Wilson 95% interval of the held rate: above it
    the confidence was overstated, below it understated, inside it consistent; with fewer than
    :data:`MIN_MEASURED_TO_JUDGE` measured suggestions, too few to tell.
    """
    if o.measured < MIN_MEASURED_TO_JUDGE or not o.confidences or o.interval is None:
        return _(lang, "too few measured to judge")
    stated = statistics.fmean(o.confidences)
    low, high = o.interval
    if stated > high:
        return _(lang, "held less often than stated: the confidence was overstated")
    if stated < low:
        return _(lang, "held more often than stated: the confidence was understated")
    return _(lang, "consistent with the stated confidence")


def print_backtest(console: Console, res: BacktestResult, *, tenant: str, lang: str = "en") -> None:
    """Print the per-type outcome table of a backtest."""
    table = Table(title=_(lang, "Backtest {tenant} {start} → {end}: what happened in the 7 days "
                                "after each suggestion", tenant=tenant, start=res.start,
                          end=res.end))
    for header, justify in ((_(lang, "type"), "left"), (_(lang, "suggestions"), "right"),
                            (_(lang, "measured"), "right"), (_(lang, "premise held"), "right"),
                            (_(lang, "95% CI"), "right"), (_(lang, "stated confidence"), "right"),
                            (_(lang, "ECE"), "right"), (_(lang, "metric p50 before → after"), "right"),
                            (_(lang, "reading"), "left")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for typ in sorted(res.outcomes):
        o = res.outcomes[typ]
        rate = format_percent(o.rate, lang) if o.rate is not None else "–"
        ci = (f"{format_number(100 * o.interval[0], lang, 0)}–{format_percent(o.interval[1], lang)}"
              if o.interval else "–")
        conf = (confidence_text(100 * statistics.fmean(o.confidences), lang)
                if o.confidences else "–")
        if o.before:
            digits = 4 if o.metric == "ctr" else 2
            med = (f"{o.metric} {format_number(statistics.median(o.before), lang, digits)} → "
                   f"{format_number(statistics.median(o.after), lang, digits)}")
        else:
            med = "–"
        ece = format_percent(o.ece, lang) if o.ece is not None else "–"
        table.add_row(typ, str(o.suggestions), str(o.measured), rate, ci, conf, ece, med,
                      reading(o, lang))
    console.print(table)
    pairs = [pair for o in res.outcomes.values() for pair in o.pairs]
    overall = expected_calibration_error(pairs)
    if overall is not None:
        console.print(_(lang, "Expected calibration error over the {n} measured suggestions: {ece} "
                              "(10 bins of stated confidence; 0 = stated confidence equals how often "
                              "the premise held).", n=len(pairs), ece=format_percent(overall, lang)))
    console.print(_(lang, "No action was taken on these accounts: the table measures whether each "
                          "diagnosis held over the following {horizon} days ({days} days replayed, "
                          "nothing kept).", horizon=res.horizon_days, days=res.days))
