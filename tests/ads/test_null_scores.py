"""The daily cycle's pooled empirical null (docs/performance.md section 2d): the day's tests plus
the fewest earlier days' stored scores that make 50, kept per tenant in ads.anomaly_null_scores."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import psycopg
import pytest
from scipy import special

from growthops.ads.analysis import anomalies
from growthops.ads.analysis.anomalies import detect_anomalies, load_null_scores, store_null_scores
from growthops.ads.analysis.detect import detect
from growthops.ads.analysis.tails import TAIL_QUANTILES, causal_null, fit_null, pooled_null
from growthops.ads.config import load_context
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from tests.conftest import new_tenant

END = date(2024, 3, 31)
GROUP = "meta|ad|cpa"


def _p(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return special.ndtr(z), special.ndtr(-z)


def test_pooled_null_takes_the_fewest_recent_days_that_make_50() -> None:
    rng = np.random.default_rng(5)
    today = 1.4 * rng.standard_normal(10)
    d1, d2 = 1.4 * rng.standard_normal(20), 1.4 * rng.standard_normal(20)
    d3 = np.full(40, 9.0)  # would change the fit if it were used
    pl, ph = _p(today)
    out_l, out_h, fits = pooled_null(pl, ph, past={"g": [d1, d2, d3]}, group=np.full(10, "g"),
                                     quantiles=TAIL_QUANTILES)
    assert fits["g"][2] == 3  # a small day is judged against its past alone: 20 + 20 + 40
    d3 = 1.4 * rng.standard_normal(40)
    out_l, out_h, fits = pooled_null(pl, ph, past={"g": [d1, d2, d3, np.full(40, 9.0)]},
                                     group=np.full(10, "g"), quantiles=TAIL_QUANTILES)
    scale, nu, used = fits["g"]
    assert used == 3  # day 4 not needed
    assert (scale, nu) == fit_null(np.r_[d1, d2, d3], quantiles=TAIL_QUANTILES)
    assert scale > 1.1 and np.all(out_l >= pl) and np.all(out_h >= ph)
    # the day's own extreme tests do not widen their null (section 2g)
    extreme = np.r_[today[:7], 8.0, 9.0, 10.0]
    _, _, fits_x = pooled_null(*_p(extreme), past={"g": [d1, d2, d3]}, group=np.full(10, "g"),
                               quantiles=TAIL_QUANTILES)
    assert fits_x["g"][:2] == (scale, nu)
    # 50 tests of its own: the day alone, exactly the cross-sectional null
    big = 1.4 * rng.standard_normal(60)
    _, _, fits = pooled_null(*_p(big), past={"": [d3]}, quantiles=TAIL_QUANTILES)
    assert fits[""][2] == 0 and fits[""][:2] == fit_null(big, quantiles=TAIL_QUANTILES)
    # still under 50 with every past day: the model's p-values
    pl2, ph2, fits = pooled_null(pl, ph, past={"": [d1]})
    assert fits == {} and np.array_equal(pl2, pl) and np.array_equal(ph2, ph)


def test_pooled_null_matches_causal_null_as_needed_day_by_day() -> None:
    """The cycle's form (past passed in) equals section 2b's stream form on the same days."""
    rng = np.random.default_rng(11)
    days = np.repeat(np.arange(40), rng.integers(5, 30, size=40))
    z = 1.3 * rng.standard_t(5, size=days.size)
    pl, ph = _p(z)
    want_l, want_h, _ = causal_null(pl, ph, block=days, window=28.0, include_current=True,
                                    as_needed=True, quantiles=TAIL_QUANTILES)
    for d in range(40):
        cur = days == d
        past = [z[days == b] for b in range(d - 1, max(d - 29, -1), -1)]
        got_l, got_h, _ = pooled_null(pl[cur], ph[cur], past={"": past}, quantiles=TAIL_QUANTILES)
        assert np.allclose(got_l, want_l[cur], rtol=1e-12, atol=0)
        assert np.allclose(got_h, want_h[cur], rtol=1e-12, atol=0)


def test_detect_returns_the_scores_it_fits_on_and_pools_the_past() -> None:
    rng = np.random.default_rng(2)
    x = np.exp(0.3 * rng.standard_normal(20))
    rec = {"kind": np.full(20, "continuous"), "value": x, "hist_days": 28.0, "hist_sum_log": 0.0,
           "hist_sum_log_sq": 28 * 0.2**2, "group": np.full(20, "g")}
    alone = detect(rec, null_fit="made", null_quantiles=TAIL_QUANTILES)
    assert np.isfinite(alone["null_score"]).all()
    wide = {"g": [3.0 * rng.standard_normal(60)]}  # a small day: its past alone, 50+
    pooled = detect(rec, null_fit="made", null_quantiles=TAIL_QUANTILES, null_past=wide)
    assert np.array_equal(pooled["null_score"], alone["null_score"])  # the model's scores
    assert np.all(pooled["p_value"] >= alone["p_value"]) and np.any(pooled["p_value"] > alone["p_value"])
    # no past (the cycle's first day): the day alone, under 50 tests, keeps the model
    first = detect(rec, null_fit="made", null_quantiles=TAIL_QUANTILES, null_past={})
    assert np.array_equal(first["p_value"], detect(rec, null="model")["p_value"])


@pytest.fixture(scope="module")
def account(db):
    plan = Plan(campaigns=2, adsets_per_campaign=3, ads_per_adset=3, days=45, end=END,
                base_spend=150.0, seed=13)
    t = new_tenant(db, roi_target=3.0)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, plan))
    return t


def test_stored_scores_round_trip_and_window(db, account) -> None:
    t = account
    with db.tenant_tx(t.tenant_id, rollback=True) as conn:
        vals = {GROUP: np.array([0.25, -1.5, 2.0 / 3.0])}
        for k in range(0, 31):
            store_null_scores(conn, tenant_id=t.tenant_id, as_of=END - timedelta(days=k),
                              scores={GROUP: vals[GROUP] + k}, days=1000)
        got = load_null_scores(conn, tenant_id=t.tenant_id, as_of=END - timedelta(days=1))
        # the 28 days before the as-of day, most recent first; float4 storage
        assert len(got[GROUP]) == 28
        assert np.array_equal(got[GROUP][0], np.float32(vals[GROUP] + 2).astype(float))
        assert np.array_equal(got[GROUP][-1], np.float32(vals[GROUP] + 29).astype(float))
        # the cycle's write keeps its 28 days: older rows are deleted, one statement
        store_null_scores(conn, tenant_id=t.tenant_id, as_of=END, scores={})
        n = conn.execute("select count(*) n, min(day) lo from ads.anomaly_null_scores").fetchone()
        assert n["n"] == 28 and n["lo"] == END - timedelta(days=28)  # END's own row replaced by none


def test_another_tenant_cannot_see_or_write_the_scores(db, account) -> None:
    t = account
    other = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        store_null_scores(conn, tenant_id=t.tenant_id, as_of=END + timedelta(days=400),
                          scores={GROUP: np.array([1.0, 2.0])})
    try:
        with db.tenant_tx(other.tenant_id) as conn:
            assert conn.execute("select count(*) n from ads.anomaly_null_scores").fetchone()["n"] == 0
            assert load_null_scores(conn, tenant_id=t.tenant_id, as_of=END + timedelta(days=401)) == {}
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(other.tenant_id) as conn:
            conn.execute("insert into ads.anomaly_null_scores values (%s, 'x', %s, '{1}')",
                         [t.tenant_id, END])
        with db.admin() as conn:
            rel = conn.execute("select relrowsecurity, relforcerowsecurity from pg_class "
                               "where oid = 'ads.anomaly_null_scores'::regclass").fetchone()
        assert rel["relrowsecurity"] and rel["relforcerowsecurity"]
    finally:
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute("delete from ads.anomaly_null_scores where day > %s", [END])


def test_a_replayed_day_reads_no_later_day(db, account, monkeypatch) -> None:
    """The backtest replays a day with run_cycle_in_tx -> detect_anomalies: the scores it pools
    are those of earlier days only; rewriting the replayed day's and later days' rows changes
    nothing, rewriting earlier days' rows does (the pooling is live)."""
    t = account
    seen: list[dict] = []

    def spy(*args, **kwargs):
        res = detect(*args, **kwargs)
        seen.append({"p": res["p_value"].copy(), "past": kwargs.get("null_past")})
        return res

    monkeypatch.setattr(anomalies, "detect", spy)
    replay = END - timedelta(days=3)
    with db.tenant_tx(t.tenant_id, rollback=True) as conn:
        ctx = load_context(conn, tenant_id=t.tenant_id)
        for k in range(8, -1, -1):  # the cycle day by day, up to END
            detect_anomalies(conn, ctx, END - timedelta(days=k))
        days = conn.execute("select test_group, count(*) n from ads.anomaly_null_scores "
                            "group by 1").fetchall()
        assert days and all(r["n"] == 9 for r in days)
        seen.clear()
        detect_anomalies(conn, ctx, replay)
        base = seen[-1]
        assert base["past"] and all(len(v) == 5 for v in base["past"].values())  # END-8 .. END-4
        # later days (and the replayed day itself) rewritten with absurd scores: same p-values
        conn.execute("update ads.anomaly_null_scores set scores = array_fill(40.0::real, "
                     "array[200]) where day >= %s", [replay])
        conn.execute("insert into ads.anomaly_null_scores select tenant_id, test_group, day + 30, "
                     "scores from ads.anomaly_null_scores where day = %s", [END])
        detect_anomalies(conn, ctx, replay)
        assert np.array_equal(seen[-1]["p"], base["p"], equal_nan=True)
        # earlier days rewritten: the pooled null changes (the test above is not vacuous)
        conn.execute("update ads.anomaly_null_scores set scores = array_fill(40.0::real, "
                     "array[200]) where day < %s", [replay])
        detect_anomalies(conn, ctx, replay)
        changed = seen[-1]["p"]
        ok = np.isfinite(base["p"])
        assert np.all(changed[ok] >= base["p"][ok]) and np.any(changed[ok] > base["p"][ok])


def test_the_backtest_recomputes_the_scores_it_pools_and_reads_no_later_day(db, account, monkeypatch) -> None:
    """The backtest warms the 28 days before its range up and replays day by day: its p-values
    are the same whether the stored scores are absent or absurd, before, inside or after it."""
    from growthops.ads.learning.backtest import run_backtest

    t = account
    runs: list[list[np.ndarray]] = []

    def spy(*args, **kwargs):
        res = detect(*args, **kwargs)
        runs[-1].append(res["p_value"].copy())
        return res

    monkeypatch.setattr(anomalies, "detect", spy)
    start, end = END - timedelta(days=4), END - timedelta(days=2)
    runs.append([])
    run_backtest(db, tenant_id=t.tenant_id, start=start, end=end)
    try:
        with db.tenant_tx(t.tenant_id) as conn:
            assert conn.execute("select count(*) n from ads.anomaly_null_scores").fetchone()["n"] == 0
            for k in range(-40, 40):  # absurd scores on every day around the range
                store_null_scores(conn, tenant_id=t.tenant_id, as_of=END + timedelta(days=k),
                                  scores={g: np.full(200, 40.0) for g in (GROUP, "meta|ad|cpm")},
                                  days=1000)
        runs.append([])
        run_backtest(db, tenant_id=t.tenant_id, start=start, end=end)
    finally:
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute("delete from ads.anomaly_null_scores")
    first, second = runs
    assert len(first) == len(second) == 28 + 3  # warm-up days, then the replayed days
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first, second, strict=True))
