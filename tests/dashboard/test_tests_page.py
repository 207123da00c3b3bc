"""The tests page: a closed test with its statistics, winning patterns, angles to try next; in
English and French; another tenant's page is missing."""

from __future__ import annotations

import json

from growthops.ads.experiments import plan
from tests.dashboard.conftest import login, sandbox_tenant


def test_tests_page_lists_tests_with_their_statistics(world, db):
    t = sandbox_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        row = plan.create_test(conn, tenant_id=t.tenant_id, test_name="Question hook",
                               hypothesis="A question lifts CTR", platform="meta", level="ad",
                               variant_a="sbx-c1-s1-a1", change={"ctr": 0.02},
                               primary_metric="ctr", mde_rel=0.2, baseline_value=0.01,
                               angle="logic")
        result = {"stats": {"test": {"diff": 0.0031, "ci_low": 0.002, "ci_high": 0.0042,
                                     "p_value": 0.00012, "z": 3.8},
                            "bayes": {"prob_best": [0.001, 0.999], "expected_loss": [0.003, 0]}}}
        conn.execute(
            """update ads.ab_tests set status = 'completed', variant_b = 'sbx-c1-s1-a1-x9',
                   winner = 'b', result_status = 'success', result = %s, statistical_significance
                   = 0.99988, performance_a = '{"impressions": 50000}',
                   performance_b = '{"impressions": 49000}' where test_id = %s""",
            [json.dumps(result), row["test_id"]])
        conn.execute("""insert into ads.winning_patterns (tenant_id, pattern_type, pattern_name,
                          times_tested, successes, success_rate, avg_ctr_lift, status)
                        values (%s, 'angle', 'logic', 3, 2, 0.6667, 0.21, 'active')""",
                     [t.tenant_id])
    html = login(world["app"], world["admin"]).get(f"/t/{t.client_key}/tests").text
    assert "Question hook" in html and "sbx-c1-s1-a1-x9" in html
    assert "probability B is best" in html and "99.9%" in html and "0.00012" in html
    assert "success" in html and "Winning patterns" in html and "+21.0%" in html
    assert "Angles to test next" in html
    fr = login(world["app"], world["buyer"]).get(f"/t/{t.client_key}/tests").text
    assert "99,9" in fr and "Tests créatifs" in fr
    viewer = login(world["app"], world["viewer"])
    assert viewer.get(f"/t/{world['b'].client_key}/tests").status_code == 404
