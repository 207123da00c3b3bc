"""The window scan's sums against their definitions, row by row in Python (issue 16: the
anomaly-history statistics come from shared transition states, spend and value from numeric
sums; both must still be the plain sums the detectors were written for)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

import pytest

from growthops.ads.analysis.window import fetch_entities, prepare_window
from growthops.ads.config import load_context
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from tests.conftest import new_tenant

END = date(2024, 3, 31)


def test_window_sums_match_their_definitions(db):
    t = new_tenant(db)
    plan = Plan(campaigns=1, adsets_per_campaign=2, ads_per_adset=2, days=45, end=END, fatigued_ads=(1,))
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, plan))
        # Days without spend, without impressions, and with neither, inside the 28-day history.
        conn.execute("update ads.metrics_daily set spend = 0 where entity_id = 'ad0' and day in (%s, %s)",
                     [END - timedelta(days=3), END - timedelta(days=20)])
        conn.execute("update ads.metrics_daily set impressions = 0, clicks = 0 where entity_id = 'ad2' and day = %s",
                     [END - timedelta(days=5)])
        conn.execute("update ads.metrics_daily set spend = 0, impressions = 0, clicks = 0 where entity_id = 'ad3'"
                     " and day = %s", [END - timedelta(days=9)])
    with db.tenant_tx(t.tenant_id) as conn:
        ctx = load_context(conn, tenant_id=t.tenant_id)
        meta = prepare_window(conn, ctx, END)
        E = fetch_entities(conn)
        rows = conn.execute(
            f"select level, entity_id, day, spend::float8 as s, impressions::float8 as i, clicks::float8 as c,"
            f" {ctx.result_sql()}::float8 as r, conversion_value::float8 as v from ads.metrics_daily m"
            " where day between %s::date - 89 and %s", [END, END]).fetchall()
    sf, rf = meta["spend_f"], meta["rate_f"]
    want: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        w = want[(row["level"], row["entity_id"])]
        age = (END - row["day"]).days
        s, i, c, r, v = row["s"], row["i"], row["c"], row["r"], row["v"]
        f_s, f_r = sf[row["day"].isoweekday() - 1], rf[row["day"].isoweekday() - 1]
        w["value_90"] += v
        if age < 7:
            w["spend_7"] += s
        if 1 <= age <= 28:
            w["adj_spend_h"] += s * f_r
            if s > 0:
                x = math.log(s / f_s)
                w["n_sp_h"] += 1
                w["ls_h"] += x
                w["ls2_h"] += x * x
                w["rss_h"] += r * r / (s * f_r)
            if s > 0 and i > 0:
                x = math.log(1000 * s / i)
                w["n_cpm_h"] += 1
                w["lc_h"] += x
                w["lc2_h"] += x * x
            if i > 0:
                w["css_h"] += c * c / i
    assert len(E["entity_id"]) == len(want) == 1 + 2 + 4
    checked = 0
    for k, (level, entity) in enumerate(zip(E["level"], E["entity_id"], strict=True)):
        for col, expected in want[(level, entity)].items():
            assert E[col][k] == pytest.approx(expected, rel=1e-12, abs=1e-9), (entity, col)
            checked += 1
        for col in ("ls_h", "ls2_h", "rss_h", "lc_h", "lc2_h", "n_sp_h", "n_cpm_h"):
            if col not in want[(level, entity)]:
                assert E[col][k] == 0, (entity, col)
    assert checked > 50
    ad0 = list(E["entity_id"]).index("ad0")
    assert E["n_sp_h"][ad0] == 26  # 28 history days, 2 without spend
