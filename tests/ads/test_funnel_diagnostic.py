"""campaign_diagnostic reads the tenant's funnel and product: stage rates against the funnel's
benchmarks (exact binomial test), the gap valued at the product's price; test_angle candidates
get angles to try."""

from __future__ import annotations

import json
from datetime import date

import pytest

from growthops.ads.experiments.diagnostic import enrich_candidates, funnel_diagnosis, stage_column
from growthops.ads.suggestions.candidates import Candidate
from tests.conftest import new_tenant

FUNNEL = {"funnel_id": 1, "stages": ["Ad", "Landing", "Webinar", "Application", "Call", "Close"],
          "conversion_benchmarks": {"ad_to_landing": 1.5, "landing_to_webinar": 45,
                                    "webinar_to_application": 0.30, "application_to_call": 0.8,
                                    "call_to_close": 0.35}}


def test_stage_names_map_to_metric_counts() -> None:
    assert [stage_column(s) for s in FUNNEL["stages"]] == [
        "impressions", "clicks", "leads", "applications", "bookings", "conversions"]
    assert stage_column("Thank-you page") is None


def test_the_weakest_stage_is_the_clearest_shortfall_and_is_valued() -> None:
    counts = {"impressions": 100_000, "clicks": 1_520, "leads": 680, "applications": 120,
              "bookings": 95, "conversions": 33}
    d = funnel_diagnosis(FUNNEL, counts, price=2997.0)
    assert [r["benchmark"] for r in d["stages"]] == [0.015, 0.45, 0.30, 0.8, 0.35]  # % read as %
    w = d["weakest"]
    assert (w["from"], w["to"]) == ("Webinar", "Application")   # 120/680 = 17.6 % vs 30 %
    assert w["p_value"] < 1e-10 and w["rate"] == pytest.approx(120 / 680)
    # (0.30 - 0.176) x 680 entrants x 0.8 x 0.35 x 2997 a week
    assert w["value_at_stake"] == pytest.approx((0.30 - 120 / 680) * 680 * 0.8 * 0.35 * 2997)
    on_target = {**counts, "applications": 210, "bookings": 170, "conversions": 60}
    assert funnel_diagnosis(FUNNEL, on_target, price=None)["weakest"] is None


def _cand(kind: str, entity: str) -> Candidate:
    texts = {lang: {"action": "A", "reason": "R", "expected_impact": "I"} for lang in ("en", "fr")}
    return Candidate(kind, "meta", "campaign", entity, entity, 0.9, 100.0, texts, {}, {}, {})


def test_enrich_reads_funnel_product_and_metrics(db) -> None:
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        pid = conn.execute("insert into core.products (tenant_id, product_name, price) values "
                           "(%s, 'Bootcamp', 2997) returning product_id", [t.tenant_id]).fetchone()
        conn.execute("insert into core.funnels (tenant_id, funnel_name, stages, "
                     "conversion_benchmarks, product_id) values (%s, 'Webinar', %s, %s, %s)",
                     [t.tenant_id, FUNNEL["stages"], json.dumps(FUNNEL["conversion_benchmarks"]),
                      pid["product_id"]])
        conn.execute(
            """insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day, spend,
                   impressions, clicks, leads, applications, bookings, conversions)
               select %s, 'meta', 'campaign', 'c1', %s::date - g, 100, 14000, 215, 97, 17, 14, 5
               from generate_series(0, 6) g""", [t.tenant_id, date(2026, 3, 8)])
        cands = [_cand("campaign_diagnostic", "c1"), _cand("test_angle", "c1")]
        enrich_candidates(conn, tenant_id=t.tenant_id, as_of=date(2026, 3, 8), cands=cands,
                          currency="EUR")
    diag, angle = cands
    assert diag.params["funnel_stage"] == "Webinar → Application"
    assert diag.evidence["funnel"]["weakest"]["value_at_stake"] > 0
    assert "Weakest funnel stage: Webinar → Application" in diag.texts["en"]["reason"]
    assert "Application" in diag.texts["fr"]["reason"] and diag.texts["fr"]["reason"] != diag.texts["en"]["reason"]
    assert len(angle.params["angles"]) == 3 and "Angles to try" in angle.texts["en"]["action"]
