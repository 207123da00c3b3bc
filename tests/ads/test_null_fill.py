"""The cycle fills in the stored anomaly scores it misses among the 28 days before its as-of day
(a new tenant, a day never run), once; a day restated later keeps the scores its cycle stored
(migration 0198, docs/performance.md section 2f)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import psycopg
import pytest

from growthops.ads.analysis import anomalies
from growthops.ads.analysis.anomalies import NULL_PAST_DAYS, detect_anomalies, load_null_scores
from growthops.ads.analysis.detect import detect
from growthops.ads.config import load_context
from growthops.ads.cycle import run_daily_cycle
from growthops.ads.metrics.formats.base import Record
from growthops.ads.metrics.importer import load_records
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from tests.conftest import new_tenant

END = date(2024, 3, 31)
PLAN = Plan(campaigns=2, adsets_per_campaign=3, ads_per_adset=3, days=60, end=END, base_spend=150.0, seed=21)
WINDOW = [END - timedelta(days=k) for k in range(NULL_PAST_DAYS, 0, -1)]  # oldest first


def _tenant(db):
    t = new_tenant(db, roi_target=3.0)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, PLAN))
    return t


def _marks(db, tenant_id) -> dict[date, tuple]:
    with db.tenant_tx(tenant_id) as conn:
        return {r["day"]: (r["tests"], r["computed_at"]) for r in conn.execute(
            "select day, tests, computed_at from ads.anomaly_null_days order by day").fetchall()}


def _scores(db, tenant_id) -> dict[tuple, list]:
    with db.tenant_tx(tenant_id) as conn:
        return {(r["day"], r["test_group"]): list(r["scores"]) for r in conn.execute(
            "select day, test_group, scores from ads.anomaly_null_scores").fetchall()}


class Spy:
    """Record the p-values of every detect call (the cycle's anomaly test, per platform)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, *args, **kwargs):
        res = detect(*args, **kwargs)
        self.calls.append({"p": res["p_value"].copy(), "past": kwargs.get("null_past")})
        return res


def _restate(conn, tenant_id, day: date, extra: int) -> None:
    """Upsert one ad's row of ``day`` with ``extra`` more conversions, through the importer."""
    r = conn.execute("select * from ads.metrics_daily where level = 'ad' and day = %s "
                     "order by entity_id limit 1", [day]).fetchone()
    rec = Record(platform=r["platform"], level="ad", entity_id=r["entity_id"], day=day,
                 entity_name=r["entity_name"], campaign_id=r["campaign_id"], adset_id=r["adset_id"],
                 spend=r["spend"], impressions=r["impressions"], reach=r["reach"], clicks=r["clicks"],
                 leads=r["leads"], applications=r["applications"], bookings=r["bookings"],
                 conversions=r["conversions"] + extra, conversion_value=r["conversion_value"] + Decimal(extra),
                 video_3s_views=r["video_3s_views"], daily_budget=r["daily_budget"])
    res = load_records(conn, tenant_id=tenant_id, source_name=f"restate {day}", fmt="csv", records=[rec])
    assert res.rows_updated >= 1


@pytest.fixture(scope="module")
def pair(db):
    """Two tenants with the same rows: ``new`` runs its first cycle on END with nothing stored;
    ``daily`` has run the cycle every day of the 28 before END, then END."""
    return {"new": _tenant(db), "daily": _tenant(db)}


def test_a_new_tenants_first_cycle_fills_the_28_days_as_daily_cycles_would(db, pair, monkeypatch) -> None:
    spy = Spy()
    monkeypatch.setattr(anomalies, "detect", spy)
    new, daily = pair["new"], pair["daily"]
    first = run_daily_cycle(db, tenant_id=new.tenant_id, as_of=END)
    assert first is not None and first.summary["null_days_filled"] == NULL_PAST_DAYS
    assert "null_days" in first.timings
    p_new, past_new = spy.calls[-1]["p"], spy.calls[-1]["past"]
    marks = _marks(db, new.tenant_id)
    assert sorted(marks) == [*WINDOW, END]
    assert all(marks[d][0] > 0 for d in WINDOW[-20:])  # days with 7+ days of history made tests
    # every day's group pooled: the fill stored 28 days before END for each group
    assert past_new and all(len(v) == NULL_PAST_DAYS for v in past_new.values())

    for d in WINDOW:  # the other tenant: the cycle day by day, then END
        assert run_daily_cycle(db, tenant_id=daily.tenant_id, as_of=d) is not None
    last = run_daily_cycle(db, tenant_id=daily.tenant_id, as_of=END)
    assert last is not None and last.summary["null_days_filled"] == 0
    assert np.array_equal(spy.calls[-1]["p"], p_new, equal_nan=True)
    s_new, s_daily = _scores(db, new.tenant_id), _scores(db, daily.tenant_id)
    assert s_new == {k: v for k, v in s_daily.items() if k[0] >= WINDOW[0]}
    assert {d: m[0] for d, m in marks.items()} == {d: m[0] for d, m in _marks(db, daily.tenant_id).items()
                                                    if d >= WINDOW[0]}
    assert first.summary["anomalies"] == last.summary["anomalies"]

    # Not vacuous: the same cycle with nothing stored (the fill left out) is more liberal.
    with db.tenant_tx(new.tenant_id, rollback=True) as conn:
        conn.execute("delete from ads.anomaly_null_scores where day < %s", [END])
        detect_anomalies(conn, load_context(conn, tenant_id=new.tenant_id), END)
    p_alone = spy.calls[-1]["p"]
    ok = np.isfinite(p_new)
    assert np.all(p_alone[ok] <= p_new[ok]) and np.any(p_alone[ok] < p_new[ok])


def test_a_second_cycle_recomputes_nothing(db, pair, monkeypatch) -> None:
    spy = Spy()
    monkeypatch.setattr(anomalies, "detect", spy)
    t = pair["new"]
    before, scores = _marks(db, t.tenant_id), _scores(db, t.tenant_id)
    again = run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END)
    assert again is not None and again.summary["null_days_filled"] == 0
    assert len(spy.calls) == 1  # the as-of day's test only (one platform)
    after = _marks(db, t.tenant_id)
    assert {d: m for d, m in after.items() if d < END} == {d: m for d, m in before.items() if d < END}
    assert after[END][1] > before[END][1]  # the as-of day itself is replaced, as before
    assert _scores(db, t.tenant_id) == scores


def test_a_restated_day_keeps_the_scores_of_the_test_its_cycle_made(db, pair) -> None:
    """Late conversions re-pulled after a day's cycle do not change what that day's test was:
    its stored scores stay (section 2f), and the next cycle recomputes nothing."""
    t = pair["new"]
    r = END - timedelta(days=5)
    before, scores = _marks(db, t.tenant_id), _scores(db, t.tenant_id)
    with db.tenant_tx(t.tenant_id) as conn:
        _restate(conn, t.tenant_id, r, 5)
    assert _marks(db, t.tenant_id) == before and _scores(db, t.tenant_id) == scores
    nxt = run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END)
    assert nxt is not None and nxt.summary["null_days_filled"] == 0
    after = _scores(db, t.tenant_id)
    assert {k: v for k, v in after.items() if k[0] != END} == \
        {k: v for k, v in scores.items() if k[0] != END}
    # not vacuous: a run of r on the rows as they stand would store other scores
    with db.tenant_tx(t.tenant_id, rollback=True) as conn:
        detect_anomalies(conn, load_context(conn, tenant_id=t.tenant_id), r, scores_only=True)
        fresh = {(r, g): [float(np.float32(x)) for x in v[0]] for g, v in
                 load_null_scores(conn, tenant_id=t.tenant_id, as_of=r + timedelta(days=1), days=1).items()}
    kept = {k: [float(np.float32(x)) for x in v] for k, v in after.items() if k[0] == r}
    assert kept and kept != fresh


def test_a_tenant_never_reads_or_writes_another_tenants_days(db, pair) -> None:
    owner = pair["daily"]
    other = _tenant(db)  # same days, nothing stored
    before = _marks(db, owner.tenant_id)
    assert before
    with db.tenant_tx(other.tenant_id) as conn:
        assert conn.execute("select count(*) n from ads.anomaly_null_days").fetchone()["n"] == 0
        assert len(anomalies.missing_null_days(conn, tenant_id=other.tenant_id, as_of=END)) == NULL_PAST_DAYS
        # asking for the owner's days under the other tenant sees no metrics and no marks
        assert anomalies.missing_null_days(conn, tenant_id=owner.tenant_id, as_of=END) == []
        _restate(conn, other.tenant_id, END - 3 * timedelta(days=1), 2)  # its own restatement
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(other.tenant_id) as conn:
        conn.execute("insert into ads.anomaly_null_days (tenant_id, day, tests) values (%s, %s, 0)",
                     [owner.tenant_id, END + timedelta(days=1)])
    res = run_daily_cycle(db, tenant_id=other.tenant_id, as_of=END)
    assert res is not None and res.summary["null_days_filled"] == NULL_PAST_DAYS  # the owner's marks count for nothing
    assert _marks(db, owner.tenant_id) == before
    with db.tenant_tx(other.tenant_id) as conn:
        n = conn.execute("select count(distinct tenant_id) n, count(*) d from ads.anomaly_null_days").fetchone()
    assert (n["n"], n["d"]) == (1, NULL_PAST_DAYS + 1)
    with db.admin() as conn:
        rel = conn.execute("select relrowsecurity, relforcerowsecurity from pg_class "
                           "where oid = 'ads.anomaly_null_days'::regclass").fetchone()
    assert rel["relrowsecurity"] and rel["relforcerowsecurity"]
