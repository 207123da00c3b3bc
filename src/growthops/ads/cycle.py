"""The daily media-buying cycle for one tenant and one reporting day.

``run_daily_cycle`` runs, in ONE tenant transaction (all or nothing):

0. the anomaly test's stored scores of the 28 days before ``as_of`` filled in where missing (a
   new tenant, a day never run: :func:`growthops.ads.analysis.anomalies.fill_null_scores`;
   nothing when all are stored),
1. the entity window scan (:mod:`growthops.ads.analysis.window`),
2. baselines (:func:`growthops.ads.analysis.baselines.compute_baselines`),
3. anomalies (:func:`growthops.ads.analysis.anomalies.detect_anomalies`),
4. overspend (:func:`growthops.ads.analysis.overspend.check_overspend`) and creative fatigue
   (:func:`growthops.ads.analysis.fatigue.compute_fatigue`),
5. learning: due hypotheses measured, fresh executions read early (24-hour check, rollback
   suggestions to the approval queue), calibration refitted, decision patterns relearned,
   feedback loops decided (:mod:`growthops.ads.learning.measurement`,
   :mod:`growthops.ads.learning.early`, :mod:`growthops.ads.learning.calibration`,
   :mod:`growthops.ads.learning.patterns`, :mod:`growthops.ads.learning.feedback`),
6. suggestions (:mod:`growthops.ads.suggestions.generate`: generate, calibrate and filter by the learned
   patterns, expire, deduplicate, store),
7. campaign roll-ups (:func:`growthops.ads.allocation.performance.refresh_performance`:
   ``ads.campaign_performance`` with its efficiency score, one statement),

and records the run in ``ads.cycle_runs``. Every step is idempotent for a given ``as_of``, so a
day can be replayed; a failure rolls the whole day back and is recorded as a failed run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from rich.progress import Progress

from growthops.ads.analysis.anomalies import detect_anomalies, fill_null_scores, load_anomalies
from growthops.ads.analysis.baselines import compute_baselines, load_baselines
from growthops.ads.analysis.fatigue import compute_fatigue
from growthops.ads.analysis.overspend import check_overspend
from growthops.ads.analysis.window import fetch_entities, prepare_window
from growthops.ads.config import load_context
from growthops.ads.suggestions import generate as sg
from growthops.core.db import Database


@dataclass
class CycleResult:
    """Outcome of one cycle run: the as-of day, counts per step, timings in seconds."""

    tenant_id: UUID
    as_of: date
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: Ids of the suggestions of ``as_of`` still pending after the run (the day's review list).
    suggestion_ids: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """The counts the CLI message shows."""
        s = self.summary
        return {
            "as_of": self.as_of.isoformat(),
            "baselines": s.get("baselines", 0),
            "anomalies": s.get("anomalies", 0),
            "overspend": s.get("overspend", 0),
            "fatigued": s.get("fatigued", 0),
            "suggestions": s.get("suggestions", 0),
        }


def latest_day(conn: Any, *, tenant_id: UUID) -> date | None:
    """Return the tenant's latest reporting day with metrics, or None."""
    row = conn.execute("select max(day) as d from ads.metrics_daily where tenant_id = %s", [tenant_id]).fetchone()
    return row["d"] if row else None


def run_cycle_in_tx(conn: Any, *, tenant_id: UUID, as_of: date, clock: datetime | None = None,
                    progress: Progress | None = None) -> CycleResult:
    """Run every step for ``as_of`` inside the caller's tenant transaction (no commit).

    ``clock`` is the run's "now" (UTC): suggestions are created at it and expire 48 h later;
    default: the wall clock. Used by :func:`run_daily_cycle` and by the backtest.
    """
    clock = clock or datetime.now(UTC)
    ctx = load_context(conn, tenant_id=tenant_id)
    result = CycleResult(tenant_id=tenant_id, as_of=as_of)
    steps = ["null_days", "window", "baselines", "anomalies", "overspend", "fatigue", "learning", "suggestions", "performance"]
    task = progress.add_task(f"{ctx.client_key} {as_of}", total=len(steps)) if progress else None

    def step(name: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        out = fn()
        result.timings[name] = round(time.perf_counter() - t0, 4)
        if progress is not None and task is not None:
            progress.advance(task)
        return out

    s = result.summary
    # Before the window: each filled day builds its own (last 30 days), as_of's is built once after.
    s["null_days_filled"] = len(step("null_days", lambda: fill_null_scores(conn, ctx, as_of)))
    meta = step("window", lambda: prepare_window(conn, ctx, as_of))
    s["entities"] = meta["entities"]
    s["baselines"] = step("baselines", lambda: compute_baselines(conn, ctx, as_of))
    s.update(step("anomalies", lambda: detect_anomalies(conn, ctx, as_of)))
    s["overspend"] = step("overspend", lambda: check_overspend(conn, ctx, as_of))
    s["fatigued"] = step("fatigue", lambda: compute_fatigue(conn, ctx, as_of))

    def learn() -> dict[str, int]:
        # Measure the hypotheses whose window ended, refit the calibration, relearn the reviewers'
        # patterns: the suggestions of this run then use what the last ones taught.
        from growthops.ads.learning import calibration, measurement, patterns

        measured = measurement.measure_due(conn, tenant_id=tenant_id, today=as_of, now=clock)
        from growthops.ads.learning import early, feedback

        reads = early.check_due(conn, tenant_id=tenant_id, today=as_of, now=clock)
        calibration.fit(conn, tenant_id=tenant_id)
        learned = patterns.learn(conn, tenant_id=tenant_id, today=as_of)
        loops = feedback.evaluate(conn, tenant_id=tenant_id, today=as_of, now=clock)
        return {"hypotheses_measured": sum(r["status"] == "measured" for r in measured),
                "decision_patterns": len(learned), "early_reads": len(reads),
                "early_rollbacks": sum(r["rollback_suggestion_id"] is not None for r in reads),
                "feedback_loops_decided": len(loops)}

    s.update(step("learning", learn))

    def suggest() -> tuple[int, int, dict[str, int]]:
        enabled = any(c.recommendations_enabled for c in ctx.platforms.values()) or not ctx.platforms
        if not enabled:
            return 0, 0, {}
        E = fetch_entities(conn)
        cands, held = sg.generate(
            conn, ctx, as_of, E, load_baselines(conn, tenant_id=tenant_id, as_of=as_of),
            load_anomalies(conn, tenant_id=tenant_id, as_of=as_of), s.get("tests", 0),
        )
        cands = [c for c in cands if ctx.config(c.platform).recommendations_enabled]
        from growthops.ads.learning.patterns import adjust_candidates

        cands, held_by_pattern = adjust_candidates(conn, tenant_id=tenant_id, candidates=cands)
        held.update({f"pattern:{k}": v for k, v in held_by_pattern.items()})
        inserted, dups = sg.store(conn, ctx, as_of, cands, clock)
        return inserted, dups, held

    inserted, dups, held = step("suggestions", suggest)
    s["suggestions"] = inserted
    s["duplicates_of_pending"] = dups
    s["held_back"] = held
    from growthops.ads.allocation.performance import refresh_performance

    s["campaign_performance"] = step("performance", lambda: refresh_performance(conn, ctx, as_of))
    return result


def run_daily_cycle(db: Database, *, tenant_id: UUID, as_of: date | None = None, progress: bool = False,
                    clock: datetime | None = None) -> CycleResult | None:
    """Run the daily cycle for one tenant; return its result, or None when it has no metrics.

    ``as_of`` defaults to the tenant's latest day with metrics. The whole day commits at once;
    on error it rolls back, the failure is recorded in ``ads.cycle_runs`` and re-raised.
    """
    day = as_of
    if day is None:
        with db.tenant_tx(tenant_id) as conn:
            day = latest_day(conn, tenant_id=tenant_id)
    if day is None:
        return None
    t0 = time.perf_counter()
    try:
        with db.tenant_tx(tenant_id) as conn:
            if progress:
                with Progress(transient=True) as bar:
                    result = run_cycle_in_tx(conn, tenant_id=tenant_id, as_of=day, clock=clock, progress=bar)
            else:
                result = run_cycle_in_tx(conn, tenant_id=tenant_id, as_of=day, clock=clock)
            result.summary["seconds"] = round(time.perf_counter() - t0, 3)
            result.summary["timings"] = result.timings
            conn.execute(
                """insert into ads.cycle_runs (tenant_id, as_of, started_at, finished_at, status, summary)
                   values (%s, %s, now() - make_interval(secs => %s), now(), 'succeeded', %s)
                   on conflict (tenant_id, as_of) do update set started_at = excluded.started_at,
                     finished_at = excluded.finished_at, status = 'succeeded', summary = excluded.summary""",
                [tenant_id, day, time.perf_counter() - t0, _json(result.summary)],
            )
            result.suggestion_ids = [
                r["suggestion_id"]
                for r in conn.execute(
                    "select suggestion_id from ads.suggestions where tenant_id = %s and as_of = %s and status = 'pending'",
                    [tenant_id, day],
                ).fetchall()
            ]
        return result
    except Exception as exc:
        with db.tenant_tx(tenant_id) as conn:
            conn.execute(
                """insert into ads.cycle_runs (tenant_id, as_of, finished_at, status, summary)
                   values (%s, %s, now(), 'failed', %s)
                   on conflict (tenant_id, as_of) do update set finished_at = now(), status = 'failed',
                     summary = excluded.summary""",
                [tenant_id, day, _json({"error": f"{type(exc).__name__}: {exc}"})],
            )
        raise


def _json(obj: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(obj)


def after_cycle(db: Database, *, tenant_id: UUID, as_of: date, lang: str = "en",
                now: datetime | None = None) -> dict[str, Any]:
    """What follows a cycle run: settle interrupted executions, auto-apply where the tenant's
    policy allows it (off by default), and post the digest to the tenant's Slack channel when a
    bot token is configured. Each part runs only where it applies (an ad account, a channel).

    ``now`` is the run's clock (UTC; default the wall clock), as for :func:`run_daily_cycle`.
    Returns counts: ``reconciled``, ``auto_applied``, ``slack_messages`` (digest) and
    ``slack_posts`` (per-suggestion messages, replies and alerts, when a channel and a token
    are set: :func:`growthops.ads.reporting.slack_threads.sync_tenant`). A Slack failure is
    logged to the tenant's system log and does not fail the cycle.
    """
    from growthops.ads.action.autoapply import auto_apply
    from growthops.ads.action.reconcile import reconcile
    from growthops.settings import get_settings

    out: dict[str, Any] = {"reconciled": 0, "auto_applied": 0, "slack_messages": 0}
    with db.tenant_tx(tenant_id) as conn:
        has_account = conn.execute("select 1 from ads.ad_accounts limit 1").fetchone() is not None
        channel = conn.execute(
            "select coalesce(slack_channel_id, slack_validation_channel) as c from core.tenants"
        ).fetchone()["c"]
    if has_account:
        out["reconciled"] = reconcile(db, tenant_id=tenant_id, now=now)
        out["auto_applied"] = sum(o.status in ("applied", "reconciled")
                                  for o in auto_apply(db, tenant_id=tenant_id, now=now))
    settings = get_settings()
    if channel and settings.slack_bot_token is not None:
        from growthops.ads.reporting.slack import post_digest
        from growthops.ads.reporting.slack_threads import digest_lang, sync_tenant
        from growthops.connectors.slack.client import SlackError, make_client
        from growthops.core.logs.service import log_event

        client = make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
        try:
            with db.tenant_tx(tenant_id) as conn:
                d_lang = digest_lang(conn, tenant_id=tenant_id, lang=lang)  # None: threads only
                if d_lang is not None:
                    out["slack_messages"] = len(post_digest(conn, tenant_id=tenant_id, as_of=as_of, client=client, lang=d_lang))
        except SlackError as exc:
            with db.tenant_tx(tenant_id) as conn:
                log_event(conn, tenant_id=tenant_id, level="ERROR", module="ads.cycle",
                          message="Slack digest failed", exc=exc)
        try:  # one message per suggestion, replies in threads, alerts (ads/reporting/slack_threads.py)
            out["slack_posts"] = sync_tenant(db, tenant_id=tenant_id, client=client, lang=lang, now=now).total_sent
        except Exception as exc:
            with db.tenant_tx(tenant_id) as conn:
                log_event(conn, tenant_id=tenant_id, level="ERROR", module="ads.cycle",
                          message="Slack threads failed", exc=exc)
    return out
