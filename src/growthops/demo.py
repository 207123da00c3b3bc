"""``growthops demo`` / ``make demo``: the daily cycle on real public data, end to end.

Two tenants from the datasets in ``examples/data/`` (see its README for sources and licences):

* ``display-demo`` — 91 days of display campaigns (online_ad_performance), ROAS-driven;
* ``meta-demo`` — 14 days of a Meta advertiser's ads (fb_ad_campaign_2017), CPA-driven
  (no conversion value in the export, so the tenant's ticket price values a result).

Each run is idempotent: tenants are reused, imports change nothing the second time, the cycle
replaces its own day's results and never duplicates a pending suggestion.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel

from growthops.core.db import Database
from growthops.core.errors import ConfigError, NotFound

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


def examples_dir() -> Path:
    """Locate ``examples/data``: ``GROWTHOPS_EXAMPLES_DIR``, the working directory, or the repo."""
    candidates = [
        Path(os.environ["GROWTHOPS_EXAMPLES_DIR"]) if os.environ.get("GROWTHOPS_EXAMPLES_DIR") else None,
        Path.cwd() / "examples" / "data",
        Path(__file__).resolve().parents[2] / "examples" / "data",
    ]
    for c in candidates:
        if c is not None and c.is_dir():
            return c
    raise ConfigError("examples/data not found: run from the repository or set GROWTHOPS_EXAMPLES_DIR")


def _ensure_tenant(db: Database, spec: dict[str, Any], reset: bool) -> Any:
    from growthops.core.tenants.models import TenantIn
    from growthops.core.tenants.service import create_tenant, resolve

    key = spec["client_key"]
    with db.app_tx() as conn:
        try:
            tid = resolve(conn, key)["tenant_id"]
        except NotFound:
            tid = None
    if tid is not None and reset:
        with db.admin() as conn:
            conn.execute("delete from core.tenants where tenant_id = %s", [tid])
        tid = None
    if tid is None:
        tid = create_tenant(db, TenantIn.model_validate(spec, strict=False)).tenant_id
    return tid


def run_demo(db: Database, console: Console, *, reset: bool = False, lang: str = "en") -> None:
    """Migrate, create the demo tenants, import, run the daily cycle, print the digest, write
    the HTML reports and backtest the display tenant."""
    from growthops.ads.backtest import print_backtest, run_backtest
    from growthops.ads.cycle import run_daily_cycle
    from growthops.ads.digest import print_digest
    from growthops.ads.importer import import_metrics
    from growthops.ads.report import write_report
    from growthops.core.db import describe
    from growthops.core.migrate import migrate
    from growthops.i18n import t

    info = describe(db)
    console.print(Panel.fit(f"growthops demo — database: {info['mode']} {info['data_dir']}", style="bold"))
    applied = migrate(db)
    console.print(t("db.migrated", lang, ids=", ".join(applied)) if applied else t("db.up_to_date", lang))
    data = examples_dir()
    for item in DEMO_TENANTS:
        spec = item["tenant"]
        tid = _ensure_tenant(db, spec, reset)
        path = data / item["file"]
        with db.tenant_tx(tid) as conn:
            res = import_metrics(conn, tenant_id=tid, path=path, fmt=item["format"], progress=True)
        console.print(t("import.done", lang, path=path.name, accepted=res.rows_accepted,
                        inserted=res.rows_inserted, updated=res.rows_updated,
                        unchanged=res.rows_accepted - res.rows_inserted - res.rows_updated,
                        rejected=len(res.rejected), dups=res.duplicates_skipped))
        result = run_daily_cycle(db, tenant_id=tid, progress=True)
        if result is None:
            console.print(t("daily.no_data", lang, tenant=spec["client_key"], as_of="-"))
            continue
        console.print(t("daily.done", lang, tenant=spec["client_key"], **result.counts()))
        print_digest(db, console, tenant_id=tid, as_of=result.as_of, lang=lang)
        report = write_report(db, tenant_id=tid, as_of=result.as_of, lang=lang)
        console.print(t("report.written", lang, path=report.resolve()))
        if item["backtest"]:
            start = result.as_of - timedelta(days=60)
            end = result.as_of - timedelta(days=7)
            bt = run_backtest(db, tenant_id=tid, start=start, end=end, horizon_days=7, progress=True)
            print_backtest(console, bt, tenant=spec["client_key"], lang=lang)
