"""The ads part of ``growthops demo`` / ``make demo``: the daily cycle on real public data.

Two tenants from the datasets in ``examples/data/`` (see its README for sources and licences):

* ``display-demo`` — 91 days of display campaigns (online_ad_performance), ROAS-driven;
* ``meta-demo`` — 14 days of a Meta advertiser's ads (fb_ad_campaign_2017), CPA-driven
  (no conversion value in the export, so the tenant's ticket price values a result);
* ``sandbox-demo`` — a simulated Meta account (:mod:`growthops.connectors.sandbox`) on which the
  loop closes: the top suggestions are approved and executed within the guard rails, the
  account is fast-forwarded, and each execution's hypothesis is measured; then the account's
  budgets are allocated (:mod:`growthops.ads.allocation`) and shown with their expected effect.

Each run is idempotent: tenants are reused, imports change nothing the second time, the cycle
replaces its own day's results and never duplicates a pending suggestion.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rich.console import Console

from growthops.core.db import Database
from growthops.core.demo import ensure_tenant, examples_dir
from growthops.core.i18n import _, format_percent, pgettext

DEMO_TENANTS: list[dict[str, Any]] = [
    {
        "tenant": {
            "client_key": "display-demo", "client_name": "Display demo (online ad performance)",
            "industry": "ecom", "vertical": "display advertising", "main_offer": "online store",
            "roi_target": "150", "currency": "USD", "time_zone": "America/New_York",
            "slack_validation_channel": "client-display-demo-validation",
        },
        "file": "online_ad_performance/online_advertising_performance_data.csv",
        "format": "online_ad_performance",
        "backtest": True,
    },
    {
        "tenant": {
            "client_key": "meta-demo", "client_name": "Meta demo (Facebook ad campaign 2017)",
            "industry": "ecom", "vertical": "direct response", "main_offer": "product purchase",
            "ticket_price": "150", "roi_target": "2.5", "currency": "EUR",
            "time_zone": "Europe/Amsterdam", "slack_validation_channel": "client-meta-demo-validation",
        },
        "file": "fb_ad_campaign_2017/fb_ad_campaign_daily_repaired.csv",
        "format": "fb_ad_campaign_2017",
        "backtest": False,
    },
]


def run_demo(db: Database, console: Console, *, reset: bool = False, lang: str = "en") -> None:
    """Create the demo tenants, import, run the daily cycle, print the digest, write the HTML
    reports, backtest the display tenant, then close the loop on the sandbox account.

    The database is migrated by the caller (:mod:`growthops.demo`)."""
    from growthops.ads.cycle import run_daily_cycle
    from growthops.ads.learning.backtest import print_backtest, run_backtest
    from growthops.ads.metrics.importer import import_metrics
    from growthops.ads.reporting.digest import print_digest
    from growthops.ads.reporting.report import write_report

    data = examples_dir()
    for item in DEMO_TENANTS:
        spec = item["tenant"]
        tid = ensure_tenant(db, spec, reset=reset)
        path = data / item["file"]
        with db.tenant_tx(tid) as conn:
            res = import_metrics(conn, tenant_id=tid, path=path, fmt=item["format"], progress=True)
        console.print(_(lang, "{path}: {accepted} rows accepted ({inserted} new, {updated} changed, "
                              "{unchanged} unchanged), {rejected} rejected, {dups} exact duplicates "
                              "skipped.", path=path.name, accepted=res.rows_accepted,
                        inserted=res.rows_inserted, updated=res.rows_updated,
                        unchanged=res.rows_accepted - res.rows_inserted - res.rows_updated,
                        rejected=len(res.rejected), dups=res.duplicates_skipped))
        result = run_daily_cycle(db, tenant_id=tid, progress=True)
        if result is None:
            console.print(_(lang, "{tenant}: no metrics on or before {as_of}; nothing to analyse.",
                            tenant=spec["client_key"], as_of="-"))
            continue
        console.print(_(lang, "{tenant} as of {as_of}: {baselines} baselines, {anomalies} anomalies, "
                              "{overspend} overspend days, {fatigued} fatigued ads, {suggestions} new "
                              "suggestions.", tenant=spec["client_key"], **result.counts()))
        print_digest(db, console, tenant_id=tid, as_of=result.as_of, lang=lang)
        report = write_report(db, tenant_id=tid, as_of=result.as_of, lang=lang)
        console.print(_(lang, "HTML report written to {path}", path=report.resolve()))
        if item["backtest"]:
            start = result.as_of - timedelta(days=60)
            end = result.as_of - timedelta(days=7)
            bt = run_backtest(db, tenant_id=tid, start=start, end=end, horizon_days=7, progress=True)
            print_backtest(console, bt, tenant=spec["client_key"], lang=lang)
    run_sandbox_loop(db, console, reset=reset, lang=lang)
    from growthops.ads.experiments.demo import run_creative_demo  # issue 15: a creative test

    run_creative_demo(db, console, reset=reset, lang=lang)


SANDBOX_TENANT = {
    "client_key": "sandbox-demo", "client_name": "Sandbox demo (simulated Meta account)",
    "industry": "ecom", "roi_target": "1.5", "currency": "EUR", "time_zone": "Europe/Paris",
    "monthly_budget_max": "60000",
}
SANDBOX_START = date(2024, 1, 1)
SANDBOX_HISTORY_DAYS = 42
TOP_N = 4
#: The change takes effect the next day, the hypothesis window is the 7 days after that, and
#: late-attributed conversions get 3 more days (growthops.ads.learning.hypotheses.SETTLE_DAYS): 11 days.
FAST_FORWARD_DAYS = 11


def run_sandbox_loop(db: Database, console: Console, *, reset: bool = False, lang: str = "en") -> None:
    """Close the loop on a simulated account: cycle → approve the top suggestions → execute
    within the guard rails → fast-forward 11 days (the change starts the next day, a 7-day
    window, 3 days for late conversions)
    → measure the hypotheses → print the outcome table. Skipped (said) when already done."""
    from rich.table import Table

    from growthops.ads.action.decisions import decide
    from growthops.ads.action.execution import execute_suggestion
    from growthops.ads.cycle import run_daily_cycle
    from growthops.ads.learning.measurement import measure_due
    from growthops.ads.reporting.digest import print_digest
    from growthops.connectors.sandbox import SandboxAccount, create_sandbox_account

    tid = ensure_tenant(db, SANDBOX_TENANT, reset=reset)
    with db.tenant_tx(tid) as conn:
        done = conn.execute("select count(*) as n from ads.hypothesis_tracking where outcome is not null").fetchone()["n"]
        has = conn.execute("select 1 from ads.ad_accounts").fetchone()
        if not has:
            create_sandbox_account(conn, tenant_id=tid, seed=7, start=SANDBOX_START,
                                   days_history=SANDBOX_HISTORY_DAYS, campaigns=2, adsets_per_campaign=3,
                                   ads_per_adset=2)
    if done:
        console.print("sandbox-demo: the loop already ran (growthops demo --reset to replay it).")
        _print_outcomes(db, console, tid, lang)
        _show_allocation(db, console, tid, lang)
        return
    as_of = SANDBOX_START + timedelta(days=SANDBOX_HISTORY_DAYS - 1)
    clock = datetime.combine(as_of + timedelta(days=1), time(9, 0), tzinfo=UTC)
    from growthops.ads.sync.demo import demo_sync  # the same sync path as Meta and Google Ads

    demo_sync(db, console, tenant_id=tid, tenant=SANDBOX_TENANT["client_key"], now=clock, lang=lang)
    result = run_daily_cycle(db, tenant_id=tid, as_of=as_of, clock=clock, progress=True)
    assert result is not None
    console.print(f"sandbox-demo as of {as_of}: {result.summary.get('suggestions', 0)} suggestions")
    print_digest(db, console, tenant_id=tid, as_of=as_of, lang=lang)
    with db.tenant_tx(tid) as conn:
        top = conn.execute(
            """select suggestion_id, type, entity_name from ads.suggestions
               where as_of = %s and status = 'pending'
                 and type in ('scale', 'pause', 'budget_increase', 'budget_decrease', 'bid_adjustment')
               order by case priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end,
                        confidence desc limit %s""", [as_of, TOP_N]).fetchall()
        for s in top:
            decide(conn, tenant_id=tid, suggestion_id=s["suggestion_id"], decision="approved",
                   decided_by="demo media buyer", notes="approved in make demo", now=clock)
    table = Table(title="Executions on the sandbox account (guard rails applied)")
    for col in ("suggestion", "type", "entity", "status", "detail"):
        table.add_column(col)
    for s in top:
        out = execute_suggestion(db, tenant_id=tid, suggestion_id=s["suggestion_id"], actor="demo media buyer", now=clock)
        table.add_row(str(s["suggestion_id"]), s["type"], s["entity_name"] or "", out.status, out.message)
    console.print(table)
    with db.tenant_tx(tid) as conn:
        last = SandboxAccount.load(conn, tenant_id=tid).advance(conn, FAST_FORWARD_DAYS)
    from growthops.ads.cli.learning import render_checks
    from growthops.ads.learning.early import check_due, list_checks

    with db.tenant_tx(tid) as conn:
        # The 24-hour check as the next morning's cycle would have run it: the window's first day.
        first = conn.execute("select min(start_day) as d from ads.hypothesis_tracking where outcome is null").fetchone()["d"]
        if first is not None:
            check_due(conn, tenant_id=tid, today=first, now=clock + timedelta(days=(first - as_of).days))
        checks = list_checks(conn, tenant_id=tid)
    render_checks(console, checks, tenant=SANDBOX_TENANT["client_key"], lang=lang)
    with db.tenant_tx(tid) as conn:
        measure_due(conn, tenant_id=tid, today=last, now=clock + timedelta(days=FAST_FORWARD_DAYS))
    console.print(f"sandbox-demo fast-forwarded to {last}; hypotheses measured.")
    _print_outcomes(db, console, tid, lang)
    from growthops.ads.cli.learning import render_report
    from growthops.ads.learning.calibration import report

    with db.tenant_tx(tid) as conn:
        render_report(console, report(conn, tenant_id=tid), tenant=SANDBOX_TENANT["client_key"], lang=lang)
    _show_allocation(db, console, tid, lang)


def _show_allocation(db: Database, console: Console, tenant_id: Any, lang: str) -> None:
    """Allocate the sandbox account's budgets on its latest day (stored once per day: a second
    demo shows the stored one) and print the table with the expected effect."""
    from growthops.ads.allocation.allocate import allocate
    from growthops.ads.cli.allocation import print_allocation

    with db.tenant_tx(tenant_id) as conn:
        as_of = conn.execute("select max(day) as d from ads.metrics_daily").fetchone()["d"]
        now = datetime.combine(as_of + timedelta(days=1), time(9, 0), tzinfo=UTC)
        a = allocate(conn, tenant_id=tenant_id, as_of=as_of, now=now)
    print_allocation(a, SANDBOX_TENANT["currency"], lang, console)


def _print_outcomes(db: Database, console: Console, tenant_id: Any, lang: str) -> None:
    """The outcome table: each execution's prediction against what happened."""
    from rich.table import Table

    with db.tenant_tx(tenant_id) as conn:
        rows = conn.execute(
            """select h.suggestion_id, h.suggestion_type, h.entity_id, h.confidence_score, h.outcome,
                      h.predicted_metrics, h.actual_metrics, h.variance, h.why_accurate, h.why_inaccurate
               from ads.hypothesis_tracking h order by h.suggestion_id""").fetchall()
    table = Table(title=_(lang, "Measured outcomes of the executions"))
    for header in (_(lang, "suggestion"), _(lang, "type"), _(lang, "entity"), _(lang, "confidence"),
                   _(lang, "outcome"), _(lang, "why")):
        table.add_column(header)
    for r in rows:
        why = r["why_accurate"] or r["why_inaccurate"] or ""
        table.add_row(str(r["suggestion_id"]), r["suggestion_type"], r["entity_id"],
                      format_percent(r["confidence_score"] / 100, lang),
                      r["outcome"] or pgettext(lang, "hypothesis", "open"), why)
    console.print(table)
