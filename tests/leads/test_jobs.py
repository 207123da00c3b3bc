"""Jobs: a captured lead's enrichment job is deferred and run by the worker; the sweep defers
what was missed; expiry deletes old feedback."""

from __future__ import annotations

import time

from growthops.leads.jobs import expire_all
from growthops.worker import run_worker
from tests.conftest import new_tenant
from tests.leads.conftest import make_key, q


def _jobs(db, task):
    with db.admin() as conn:
        return conn.execute("select status from procrastinate_jobs where task_name = %s",
                            [task]).fetchall()


def test_a_captured_lead_is_enriched_by_the_worker(fresh_db):
    from fastapi.testclient import TestClient

    from growthops.app import create_app

    t = new_tenant(fresh_db)
    key = make_key(fresh_db, t)
    c = TestClient(create_app(db=fresh_db))
    r = c.post("/api/v1/leads", json={"email": "a@example.org", "message": "Could you send a quote?"},
               headers={"X-API-Key": key})
    assert r.status_code == 201
    deadline = time.monotonic() + 20  # the deferral is batched by a background thread
    while not _jobs(fresh_db, "leads.enrich_lead") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _jobs(fresh_db, "leads.enrich_lead"), "no enrichment job was deferred"
    run_worker(fresh_db, concurrency=1, once=True)
    (lead,) = q(fresh_db, t, "select enrichment_status, intent from leads.lead_memory where tenant_id = %s")
    assert lead == {"enrichment_status": "done", "intent": "quote_request"}


def test_expiry_deletes_feedback_older_than_a_year(fresh_db):
    t = new_tenant(fresh_db)
    with fresh_db.tenant_tx(t.tenant_id) as conn:
        conn.execute("""insert into leads.feedback_tracking (tenant_id, action_type, expires_at)
                        values (%s, 'user_action', now() - interval '1 day'),
                               (%s, 'user_action', now() + interval '300 days')""",
                     [t.tenant_id, t.tenant_id])
    assert expire_all(fresh_db)["feedback"] == 1
    assert q(fresh_db, t, "select count(*) n from leads.feedback_tracking where tenant_id = %s")[0]["n"] == 1
