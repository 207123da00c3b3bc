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


def _window(db, tenant_id, as_of: date, *, rebuild: bool) -> tuple[str, list[dict], list[dict]]:
    """The window for ``as_of``: how the carried sums got there, ``_entity``, the carried sums.
    ``rebuild``: recompute the carried sums from the rows, in a transaction rolled back."""
    from growthops.ads.analysis import window as W

    with db.tenant_tx(tenant_id, rollback=rebuild) as conn:
        if rebuild:
            conn.execute("delete from ads.window_long_state")
        ctx = load_context(conn, tenant_id=tenant_id)
        how = W.long_sums(conn, tenant_id, as_of)
        W.prepare_window(conn, ctx, as_of)
        ent = conn.execute("select * from _entity order by platform, level, entity_id").fetchall()
        sums = conn.execute("select * from ads.window_long_sums order by platform, level, entity_id").fetchall()
    return how, ent, sums


def test_carried_long_sums_equal_recomputation_on_demo_data(db):
    """Issue 16: the days 30-89 sums carried from day to day (moved forward, backward, kept,
    rebuilt after a restated past day) give the same window, bit for bit, as summing the rows
    again; the names come from the older days only when the last 30 have none."""
    from tests.ads.test_import import OAP, _import

    t = new_tenant(db)
    _import(db, t.tenant_id, OAP, "online_ad_performance")
    with db.tenant_tx(t.tenant_id) as conn:
        last = conn.execute("select max(day) as d from ads.metrics_daily").fetchone()["d"]
        # one ad set silent for its last 30 days, another with no names in them
        keys = conn.execute("select platform, level, entity_id from ads.metrics_daily where level = 'adset'"
                            " group by 1, 2, 3 order by 3 limit 2").fetchall()
        conn.execute("delete from ads.metrics_daily where level = %s and entity_id = %s and day > %s",
                     [keys[0]["level"], keys[0]["entity_id"], last - timedelta(days=40)])
        conn.execute("update ads.metrics_daily set entity_name = null, campaign_id = null"
                     " where level = %s and entity_id = %s and day > %s",
                     [keys[1]["level"], keys[1]["entity_id"], last - timedelta(days=40)])
    seen = []
    for d, expected in ((10, "rebuilt"), (9, "moved"), (7, "moved"), (8, "moved"), (8, "kept"), (30, "rebuilt"),
                        (25, "moved")):
        as_of = last - timedelta(days=d)
        how, ent, sums = _window(db, t.tenant_id, as_of, rebuild=False)
        _, ent_full, sums_full = _window(db, t.tenant_id, as_of, rebuild=True)
        assert how == expected, (d, how)
        assert ent == ent_full and sums == sums_full, d
        seen.append(how)
        assert len(ent) > 10 and any(r["spend_90"] > r["spend_30"] > 0 for r in ent)
    # names: the last 30 days' (max) when they have one, else the older days'
    with db.tenant_tx(t.tenant_id) as conn:
        as_of = last - timedelta(days=25)
        rows = conn.execute("select level, entity_id, day, entity_name from ads.metrics_daily"
                            " where day between %s::date - 89 and %s", [as_of, as_of]).fetchall()
    want: dict = defaultdict(lambda: [None, None])
    for r in rows:
        slot = want[(r["level"], r["entity_id"])]
        i = 0 if (as_of - r["day"]).days < 30 else 1
        if r["entity_name"] is not None and (slot[i] is None or r["entity_name"] > slot[i]):
            slot[i] = r["entity_name"]
    got = {(r["level"], r["entity_id"]): r["entity_name"] for r in ent}
    assert got == {k: v[0] if v[0] is not None else v[1] for k, v in want.items()}
    assert got[(keys[0]["level"], keys[0]["entity_id"])] is not None  # from the older days only
    assert got[(keys[1]["level"], keys[1]["entity_id"])] is not None

    # A restated day inside the carried range removes the state; one after it does not.
    inside, after = as_of - timedelta(days=40), as_of - timedelta(days=3)
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update ads.metrics_daily set spend = spend + 1.234567, clicks = clicks + 3"
                     " where day = %s and level = 'adset'", [after])
        assert conn.execute("select count(*) as n from ads.window_long_state").fetchone()["n"] == 1
        conn.execute("update ads.metrics_daily set spend = spend + 1.234567, clicks = clicks + 3"
                     " where day = %s and level = 'adset'", [inside])
        assert conn.execute("select count(*) as n from ads.window_long_state").fetchone()["n"] == 0
    how, ent, sums = _window(db, t.tenant_id, as_of + timedelta(days=1), rebuild=False)
    assert how == "rebuilt"
    assert (ent, sums) == _window(db, t.tenant_id, as_of + timedelta(days=1), rebuild=True)[1:]
    # deleting a row inside the range (the archive) also removes it
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("delete from ads.metrics_daily where day = %s and level = 'ad'", [inside])
        assert conn.execute("select count(*) as n from ads.window_long_state").fetchone()["n"] == 0


def _same(a, b) -> bool:
    """Equal, floats to 1e-12 relative: the last 30 days' float8 sums may be added in another
    order by another parallel plan (docs/performance.md §4e), which the carried sums do not
    change; everything else exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return a == b


def test_backtest_with_carried_sums_equals_recomputation(db, monkeypatch):
    """Issue 16: a backtest (each replayed day moves the carried sums by one) gives the same
    rows as one that sums the 60 older days again every day."""
    from growthops.ads.analysis import window as W
    from growthops.ads.learning.backtest import run_backtest
    from tests.ads.test_import import OAP, _import

    t = new_tenant(db)
    _import(db, t.tenant_id, OAP, "online_ad_performance")
    with db.tenant_tx(t.tenant_id) as conn:
        last = conn.execute("select max(day) as d from ads.metrics_daily").fetchone()["d"]
    calls: list[str] = []
    real = W.long_sums

    def spy(*a, **k):
        calls.append(real(*a, **k))
        return calls[-1]

    monkeypatch.setattr(W, "long_sums", spy)
    start, end = last - timedelta(days=20), last - timedelta(days=14)
    carried = run_backtest(db, tenant_id=t.tenant_id, start=start, end=end)
    assert "moved" in calls
    monkeypatch.setattr(W, "MAX_SHIFT", -1)
    calls.clear()
    full = run_backtest(db, tenant_id=t.tenant_id, start=start, end=end)
    assert set(calls) == {"rebuilt"}
    skip = {"suggestion_id", "created_at", "expires_at"}
    assert _same([{k: v for k, v in r.items() if k not in skip} for r in carried.rows],
                 [{k: v for k, v in r.items() if k not in skip} for r in full.rows])
    assert {k: (o.suggestions, o.measured, o.held) for k, o in carried.outcomes.items()} == \
        {k: (o.suggestions, o.measured, o.held) for k, o in full.outcomes.items()}
    assert len(carried.rows) > 0


def test_fetch_entities_reads_every_column_of_the_window(db):
    """fetch_entities gives every column of the window as a plain select does: NULL as NaN,
    ids and names in the same order (issue 16: a binary COPY parsed by numpy was measured and
    not kept, docs/performance.md §4g)."""
    import numpy as np

    t = new_tenant(db)
    plan = Plan(campaigns=1, adsets_per_campaign=2, ads_per_adset=3, days=40, end=END)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, plan))
        conn.execute("update ads.metrics_daily set daily_budget = null where entity_id = 'adset0'")
    with db.tenant_tx(t.tenant_id, rollback=True) as conn:
        prepare_window(conn, load_context(conn, tenant_id=t.tenant_id), END)
        E = fetch_entities(conn)
        rows = conn.execute("select * from _entity order by platform, level, entity_id").fetchall()
    assert set(E) == set(rows[0]) and len(E["entity_id"]) == len(rows) == 1 + 2 + 6
    for k in rows[0]:
        want = [r[k] for r in rows]
        if E[k].dtype == object:
            assert list(E[k]) == want, k
        else:
            assert np.array_equal(E[k], np.array([np.nan if v is None else float(v) for v in want]), equal_nan=True), k
    assert np.isnan(E["budget_today"]).any() and (E["spend_90"] > 0).all()
