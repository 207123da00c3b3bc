"""The creative-test part of ``make demo``: a test planned, launched through approval on a
small simulated Meta account, run for two simulated weeks and closed with its statistics.

Tenant ``creative-demo`` (its own sandbox account: one campaign, one ad set, two ads, so it
takes about a second). Idempotent: once the test is closed, a rerun only shows it
(``growthops demo --reset`` replays it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from rich.console import Console

from growthops.core.db import Database
from growthops.core.demo import ensure_tenant
from growthops.core.i18n import _

CREATIVE_TENANT = {
    "client_key": "creative-demo", "client_name": "Creative test demo (simulated Meta account)",
    "industry": "coaching", "roi_target": "2.0", "currency": "EUR", "time_zone": "Europe/Paris",
}
START = date(2024, 3, 4)
HISTORY_DAYS = 14
RUN_DAYS = 14


def run_creative_demo(db: Database, console: Console, *, reset: bool = False,
                      lang: str = "en") -> None:
    """Plan, launch (approved by the demo's media buyer), run and close one creative test."""
    from growthops.ads.action.decisions import decide
    from growthops.ads.action.execution import execute_suggestion
    from growthops.ads.cli.abtests import show_test
    from growthops.ads.experiments import plan
    from growthops.ads.experiments.closing import close_finished
    from growthops.connectors.sandbox import SandboxAccount, create_sandbox_account

    tid = ensure_tenant(db, CREATIVE_TENANT, reset=reset)
    with db.tenant_tx(tid) as conn:
        done = plan.list_tests(conn, tenant_id=tid, status="completed")
        if done:
            console.print(_(lang, "creative-demo: the test already ran (growthops demo --reset "
                                  "to replay it)."))
            show_test(done[0], lang)
            return
        if not conn.execute("select 1 from ads.ad_accounts").fetchone():
            create_sandbox_account(conn, tenant_id=tid, seed=11, start=START,
                                   days_history=HISTORY_DAYS, campaigns=1, adsets_per_campaign=1,
                                   ads_per_adset=2)
        ad = conn.execute("""select entity_id, (params->>'ctr')::float8 as ctr
                             from ads.sandbox_entities where level = 'ad' and status = 'active'
                             order by ordinal limit 1""").fetchone()
        assert ad is not None, "the demo account has an active ad"
        clock = datetime.combine(START + timedelta(days=HISTORY_DAYS), time(9, 0), tzinfo=UTC)
        test = plan.create_test(
            conn, tenant_id=tid, test_name="Social proof hook",
            hypothesis="Opening on client results lifts CTR by at least 25 %",
            platform="meta", level="ad", variant_a=ad["entity_id"],
            change={"ctr": round(min(0.09, 1.5 * ad["ctr"]), 5)}, primary_metric="ctr",
            mde_rel=0.25, min_days=7, max_days=RUN_DAYS, angle="social_proof",
            hook="312 clients, 4.8/5", asset_type="video", created_by="demo media buyer",
            as_of=START + timedelta(days=HISTORY_DAYS - 1))
        req = plan.request_launch(conn, tenant_id=tid, test_id=test["test_id"],
                                  actor="demo media buyer", now=clock)
        decide(conn, tenant_id=tid, suggestion_id=req["suggestion_id"], decision="approved",
               decided_by="demo media buyer", notes="approved in make demo", now=clock)
    out = execute_suggestion(db, tenant_id=tid, suggestion_id=req["suggestion_id"],
                             actor="demo media buyer", now=clock)
    console.print(_(lang, "creative-demo: launch of test {id}: {status} ({message})",
                    id=test["test_id"], status=out.status, message=out.message))
    with db.tenant_tx(tid) as conn:
        last = SandboxAccount.load(conn, tenant_id=tid).advance(conn, RUN_DAYS)
    with db.tenant_tx(tid) as conn:
        close_finished(conn, tenant_id=tid, as_of=last, actor="weekly job")
        show_test(plan.get_test(conn, tenant_id=tid, test_id=test["test_id"]), lang)
