"""Seed 004's SQL interface, called as the application role with the tenant set (as from psql):
analyze_campaign_performance (SQL over the stored baselines), and compute_baselines,
detect_anomalies, generate_recommendations queueing the daily cycle's own code."""

from __future__ import annotations

import psycopg
import pytest

from growthops.ads.jobs import cycle_queueing_lock
from tests.api.conftest import synthetic_tenant
from tests.conftest import new_tenant


@pytest.fixture(scope="module")
def synth(db):
    return synthetic_tenant(db)


def test_analyze_campaign_performance_rates_each_metric_against_the_peers(db, synth) -> None:
    t = synth
    with db.tenant_tx(t.tenant_id) as conn:
        camp = conn.execute("select entity_id from ads.metrics_daily where level = 'campaign' "
                            "order by entity_id limit 1").fetchone()["entity_id"]
        rows = conn.execute("select * from ads.analyze_campaign_performance(%s, %s, 'meta', 7)",
                            [t.tenant_id, camp]).fetchall()
        # The same figures by hand: the campaign's 7-day sums, the peers' stored median.
        as_of = conn.execute("select max(day) d from ads.metrics_daily where level = 'campaign' "
                             "and entity_id = %s", [camp]).fetchone()["d"]
        sums = conn.execute(
            "select sum(conversion_value) / nullif(sum(spend), 0) roas, "
            "sum(spend) / nullif(sum(clicks), 0) cpc from ads.metrics_daily "
            "where level = 'campaign' and entity_id = %s and day > %s::date - 7", [camp, as_of]
        ).fetchone()
        p = {r["metric"]: r for r in conn.execute(
            "select metric, p10, p25, p50, p75, p90 from ads.baselines where level = 'campaign' "
            "and platform = 'meta' and window_days = 7 and as_of = (select max(as_of) "
            "from ads.baselines)").fetchall()}
    by = {r["metric_name"]: r for r in rows}
    assert list(by) == ["ROAS", "CPA", "CTR", "CVR", "CPC", "CPM"]
    assert float(by["ROAS"]["current_value"]) == pytest.approx(float(sums["roas"]), abs=1e-4)
    assert float(by["ROAS"]["baseline_value"]) == pytest.approx(p["roas"]["p50"], abs=1e-4)
    roas = float(sums["roas"])
    expected = ("Excellent" if roas >= p["roas"]["p75"] else "Good" if roas >= p["roas"]["p50"]
                else "Average" if roas >= p["roas"]["p25"] else "Poor")
    assert by["ROAS"]["performance_rating"] == expected
    cpc = float(sums["cpc"])  # lower is better
    expected = ("Excellent" if cpc <= p["cpc"]["p25"] else "Good" if cpc <= p["cpc"]["p50"]
                else "Average" if cpc <= p["cpc"]["p75"] else "Poor")
    assert by["CPC"]["performance_rating"] == expected
    for r in rows:
        assert r["priority"] in ("low", "medium", "high", "critical")
        assert (r["priority"] in ("high", "critical")) == (r["performance_rating"] == "Poor")


def test_the_functions_refuse_another_tenant_and_bad_arguments(db, synth) -> None:
    other = new_tenant(db)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(other.tenant_id) as c:
        c.execute("select * from ads.analyze_campaign_performance(%s, 'x', 'meta', 7)",
                  [synth.tenant_id])
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(other.tenant_id) as c:
        c.execute("select ads.detect_anomalies(%s)", [synth.tenant_id])
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="days"), \
            db.tenant_tx(synth.tenant_id) as c:
        c.execute("select * from ads.analyze_campaign_performance(%s, 'x', 'meta', 5)",
                  [synth.tenant_id])
    with pytest.raises(psycopg.errors.NoDataFound, match="nope"), \
            db.tenant_tx(synth.tenant_id) as c:
        c.execute("select * from ads.analyze_campaign_performance(%s, 'nope', 'meta', 7)",
                  [synth.tenant_id])


def test_entry_points_queue_the_daily_cycle_once_and_report_what_is_stored(db, synth) -> None:
    t = synth
    with db.tenant_tx(t.tenant_id) as conn:
        text = conn.execute("select ads.compute_baselines(%s, 'meta', 'campaign', 7) v",
                            [t.tenant_id]).fetchone()["v"]
        n_anom = conn.execute("select ads.detect_anomalies(%s) v", [t.tenant_id]).fetchone()["v"]
        n_sugg = conn.execute("select ads.generate_recommendations(%s) v",
                              [t.tenant_id]).fetchone()["v"]
        stored = conn.execute(
            "select (select count(*) from ads.suggestions where status = 'pending' "
            "and expires_at > now()) s, (select count(*) from ads.anomalies where as_of = "
            "(select max(as_of) from ads.anomalies) and status in ('active', 'investigating')) a"
        ).fetchone()
    assert text.startswith("Baselines: ") and "metrics stored for meta/campaign/7 days" in text
    assert n_sugg == stored["s"] > 0 and n_anom == stored["a"]
    with db.admin() as conn:
        jobs = conn.execute("select task_name, args, lock, status::text from procrastinate_jobs "
                            "where queueing_lock = %s", [cycle_queueing_lock(t.tenant_id, None)]
                            ).fetchall()
    # Three calls, one waiting job: the daily cycle of the latest day, for this tenant only.
    assert len(jobs) == 1 and jobs[0]["task_name"] == "daily_cycle"
    assert jobs[0]["args"] == {"tenant_id": str(t.tenant_id), "as_of": None}
    assert jobs[0]["lock"] == f"daily_cycle:{t.tenant_id}" and jobs[0]["status"] == "todo"
