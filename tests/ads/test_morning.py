"""An agency's morning through the worker: every tenant's cycle runs once, none is lost."""

from __future__ import annotations

import gc
from datetime import date

from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from growthops.ads.morning import morning_report, queue_morning
from growthops.worker import run_worker
from tests.conftest import new_tenant

END = date(2024, 3, 31)


def test_four_tenants_each_cycle_once_with_concurrency(fresh_db) -> None:
    gc.collect()
    tenants = []
    for i in range(4):
        t = new_tenant(fresh_db)
        with fresh_db.tenant_tx(t.tenant_id) as conn:
            copy_rows(conn, generate(t.tenant_id, Plan(days=40, end=END, seed=i)))
        tenants.append(t.tenant_id)
    jobs = queue_morning(fresh_db, tenants, END)
    assert len(set(jobs.values())) == 4
    run_worker(fresh_db, concurrency=3, once=True)
    rep = morning_report(fresh_db, tenants, END)
    assert rep["jobs"] == {"succeeded": 4}
    assert rep["lost"] == [] and rep["twice"] == []
    assert set(rep["runs"].values()) == {1} and len(rep["runs"]) == 4
    assert rep["seconds_to_last"] is not None and rep["seconds_to_last"] > 0
    # A second morning run finds nothing to do: no cycle runs twice.
    run_worker(fresh_db, concurrency=3, once=True)
    again = morning_report(fresh_db, tenants, END)
    assert again["starts"] == rep["starts"] and again["twice"] == []
