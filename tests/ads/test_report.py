"""The digest (Rich tables) and the self-contained HTML report of a daily-cycle run."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from psycopg.types.json import Jsonb
from rich.console import Console

from growthops.ads.reporting.digest import print_digest, print_suggestion, print_suggestions
from growthops.ads.reporting.report import latest_as_of, write_report
from growthops.ads.reporting.report_charts import _series
from growthops.core.db import Database
from growthops.core.errors import InvalidInput, NotFound
from growthops.settings import get_settings
from tests.conftest import new_tenant

AS_OF = date(2025, 3, 31)
EVIL = "Ad B <script>alert(1)</script>"


def _suggestion(as_of: date, type_: str, priority: str, confidence: int, entity_type: str,
                entity_id: str, name: str, en: str, fr: str) -> dict:
    texts = {
        "en": {"action": en, "reason": f"reason of {en}", "expected_impact": f"impact of {en}"},
        "fr": {"action": fr, "reason": f"raison de {fr}", "expected_impact": f"impact de {fr}"},
    }
    predicted = {"horizon_days": 7, "metrics": {
        "spend": {"p10": 280.0, "p50": 350.0, "p90": 420.0, "unit": "EUR"},
        "conversions": {"p10": 4, "p50": 7},  # missing p90 and unit: tolerated
    }}
    return {"as_of": as_of, "type": type_, "priority": priority, "action": en,
            "reason": texts["en"]["reason"], "expected_impact": texts["en"]["expected_impact"],
            "texts": Jsonb(texts), "predicted": Jsonb(predicted), "confidence": confidence,
            "entity_type": entity_type, "entity_id": entity_id, "name": name,
            "expires_at": datetime(2025, 4, 2, 9, 0, tzinfo=UTC)}


_INSERT_SUGGESTION = """
insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason, expected_impact,
  texts, predicted_metrics, confidence, platform, entity_type, entity_id, entity_name, expires_at)
values (%(tid)s, %(as_of)s, %(type)s, %(priority)s, %(action)s, %(reason)s, %(expected_impact)s,
  %(texts)s, %(predicted)s, %(confidence)s, 'meta', %(entity_type)s, %(entity_id)s, %(name)s,
  %(expires_at)s)
returning suggestion_id
"""


def _seed(db: Database, tid) -> dict[str, int]:
    """40 days of metrics for four ads, baselines, anomalies, suggestions, a cycle run."""
    rng = np.random.default_rng(7)
    names = {"ad_a": "Ad A", "ad_b": EVIL, "ad_c": "Ad C", "ad_d": "Ad D"}
    metrics = []
    for eid, name in names.items():
        for k in range(40):
            day = AS_OF - timedelta(days=39 - k)
            imps = int(rng.integers(3000, 6000))
            clicks = int(imps * (0.004 if eid == "ad_c" and k == 39 else 0.015))
            metrics.append({"tid": tid, "eid": eid, "day": day, "name": name,
                            "spend": round(float(rng.uniform(40, 60)), 2), "imps": imps,
                            "clicks": clicks, "conv": int(rng.integers(0, 4)),
                            "value": round(float(rng.uniform(0, 300)), 2)})
    ids: dict[str, int] = {}
    with db.tenant_tx(tid) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day, entity_name,"
            " spend, impressions, clicks, conversions, conversion_value) values (%(tid)s, 'meta',"
            " 'ad', %(eid)s, %(day)s, %(name)s, %(spend)s, %(imps)s, %(clicks)s, %(conv)s,"
            " %(value)s)", metrics)
        cur.executemany(
            "insert into ads.baselines (tenant_id, as_of, platform, level, window_days, metric,"
            " p10, p25, p50, p75, p90, n_entities) values (%s, %s, 'meta', 'ad', 7, %s, %s, %s,"
            " %s, %s, %s, 4)",
            [(tid, AS_OF, "ctr", 0.010, 0.012, 0.015, 0.017, 0.020),
             (tid, AS_OF, "cpa", 20.0, 25.0, 33.0, 40.0, 55.0),
             (tid, AS_OF, "spend_per_day", 40.0, 45.0, 50.0, 55.0, 60.0)])
        cur.executemany(
            "insert into ads.anomalies (tenant_id, as_of, platform, level, entity_id, entity_name,"
            " anomaly_type, metric, baseline_value, actual_value, deviation, p_value, q_value,"
            " severity, method) values (%s, %s, 'meta', 'ad', 'ad_c', 'Ad C', %s, 'ctr', %s, %s,"
            " %s, 0.0001, 0.0004, %s, 'test')",
            [(tid, AS_OF, "drop", 0.015, 0.004, -0.733, "high"),
             (tid, AS_OF - timedelta(days=10), "spike", 0.015, 0.03, 1.0, "medium")])
        cur.execute(
            "insert into ads.spend_history (tenant_id, platform, level, entity_id, day, spend_total,"
            " budget_daily, overspend_ratio, overspend_detected) values (%s, 'meta', 'ad', 'ad_a',"
            " %s, 90, 50, 0.8, true)", [tid, AS_OF])
        cur.execute(
            "insert into ads.creative_performance (tenant_id, platform, ad_id, as_of, ad_name,"
            " impressions, ctr_recent, ctr_earlier, days_active, fatigue_index, components)"
            " values (%s, 'meta', 'ad_b', %s, %s, 120000, 0.008, 0.016, 40, 72.5, %s)",
            [tid, AS_OF, EVIL, Jsonb({"ctr_decline": 0.5, "frequency": 3.1})])
        cur.execute(
            "insert into ads.cycle_runs (tenant_id, as_of, finished_at, status, summary)"
            " values (%s, %s, now(), 'succeeded', %s)",
            [tid, AS_OF, Jsonb({"baselines": 3, "anomalies": 1, "suggestions": 3,
                                "insufficient_data": 2})])
        for key, s in {
            "pause_a": _suggestion(AS_OF, "pause", "high", 90, "ad", "ad_a", "Ad A",
                                   "Pause ad A now", "Mettre en pause la pub A"),
            "refresh_b": _suggestion(AS_OF, "refresh", "low", 97, "ad", "ad_b", EVIL,
                                     "Refresh creative B", "Renouveler la créa B"),
            "funnel": _suggestion(AS_OF, "campaign_diagnostic", "critical", 81, "funnel", "f1",
                                  "Webinar funnel", "Check the landing page",
                                  "Vérifier la page d'arrivée"),
            "old_d": _suggestion(AS_OF - timedelta(days=1), "scale", "medium", 85, "ad", "ad_d",
                                 "Ad D", "Scale ad D yesterday", "Augmenter la pub D hier"),
        }.items():
            ids[key] = cur.execute(_INSERT_SUGGESTION, {"tid": tid, **s}).fetchone()[
                "suggestion_id"]
    return ids


@pytest.fixture()
def seeded(db: Database):
    tenant = new_tenant(db, client_name="Client & Co")
    ids = _seed(db, tenant.tenant_id)
    return tenant, ids


def test_report_is_self_contained_with_one_chart_per_flagged_entity(db, seeded, tmp_path):
    tenant, _ = seeded
    path = write_report(db, tenant_id=tenant.tenant_id, as_of=AS_OF, lang="en",
                        out=tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    for action in ("Pause ad A now", "Refresh creative B", "Check the landing page"):
        assert action in html
    assert "Scale ad D yesterday" not in html  # another day's suggestion
    # Flagged: ad_a (pause), ad_b (refresh), ad_c (anomaly); the funnel has no daily metrics.
    assert html.count("<svg") == 3
    assert html.count("</svg>") == 3
    assert "http://" not in html and "https://" not in html
    refs = re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?([^"')\s>]*)""", html)
    assert refs and all(r.startswith("#") for r in refs), refs
    assert "<script" not in html and "&lt;script&gt;" in html  # autoescaped entity name
    assert "Client &amp; Co" in html
    # svg ids are unique across charts (clip paths, markers)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        assert len(svg) < 12_000
    # sections: overspend (80 %), fatigue index, summary keys, anomaly q-value
    assert "+80.0" in html and "73" in html and "insufficient data" in html
    assert "0.0004" in html
    # money in the reader's locale (Babel, en_US): the currency symbol before the amount
    assert "€350.00 (80% interval €280.00 to €420.00) over 7 days" in html


def test_report_in_french_and_default_path(db, seeded, tmp_path, monkeypatch):
    tenant, _ = seeded
    monkeypatch.setattr(get_settings(), "reports_dir", tmp_path / "reports")
    path = write_report(db, tenant_id=tenant.tenant_id, as_of=AS_OF, lang="fr")
    assert path == tmp_path / "reports" / f"{tenant.client_key}-{AS_OF}.html"
    html = path.read_text(encoding="utf-8")
    assert '<html lang="fr">' in html
    for action in ("Mettre en pause la pub A", "Renouveler la créa B",
                   "Vérifier la page d&#39;arrivée"):
        assert action in html
    assert "Pause ad A now" not in html
    assert "Suggestions" in html and "Anomalies actives" in html
    assert html.count("<svg") == 3


def test_latest_as_of(db, seeded):
    tenant, _ = seeded
    assert latest_as_of(db, tenant_id=tenant.tenant_id) == AS_OF
    with pytest.raises(NotFound):
        latest_as_of(db, tenant_id=new_tenant(db).tenant_id)


def test_chart_series_is_a_ratio_of_sums():
    end = date(2025, 1, 31)
    rows = [{"day": end - timedelta(days=i), "clicks": c, "impressions": n}
            for i, (c, n) in enumerate([(1, 100), (90, 1000), (0, 0), (5, 10)])]
    days, daily, rolling = _series(rows, "ctr", "conversions", end)
    assert len(days) == len(daily) == len(rolling) == 60 and days[-1] == end
    assert daily[-1] == pytest.approx(0.01) and np.isnan(daily[-3])
    # 7 days to `end`: (1 + 90 + 0 + 5) / (100 + 1000 + 0 + 10), not the mean of daily ratios
    assert rolling[-1] == pytest.approx(96 / 1110)
    assert np.isnan(rolling[-11])  # a week without impressions


def _text(fn, **kw) -> str:
    console = Console(record=True, width=260, color_system=None)
    fn(console=console, **kw)
    return console.export_text()


def test_digest_lists_pending_suggestions_of_the_day_in_priority_order(db, seeded):
    tenant, _ = seeded
    out = _text(lambda console: print_digest(db, console, tenant_id=tenant.tenant_id, as_of=AS_OF,
                                             lang="en"))
    order = [out.index(s) for s in ("Check the landing page", "Pause ad A now",
                                    "Refresh creative B")]
    assert order == sorted(order)  # critical, high, low (confidence 97 does not jump ahead)
    assert "Scale ad D yesterday" not in out
    assert "90%" in out  # en_US percent: no space
    fr = _text(lambda console: print_digest(db, console, tenant_id=tenant.tenant_id, as_of=AS_OF,
                                            lang="fr"))
    assert "Mettre en pause la pub A" in fr and "Pause ad A now" not in fr
    empty = _text(lambda console: print_digest(db, console, tenant_id=tenant.tenant_id,
                                               as_of=AS_OF - timedelta(days=5), lang="en"))
    assert "No suggestion" in empty


def test_suggestions_list_and_show(db, seeded):
    tenant, ids = seeded
    out = _text(lambda console: print_suggestions(db, console, tenant_id=tenant.tenant_id,
                                                  status=None, limit=10, lang="en"))
    assert "Scale ad D yesterday" in out
    assert out.index("Scale ad D yesterday") < out.index("Refresh creative B")  # medium < low
    one = _text(lambda console: print_suggestions(db, console, tenant_id=tenant.tenant_id,
                                                  status="pending", limit=1, lang="en"))
    assert "Check the landing page" in one and "Pause ad A now" not in one
    with pytest.raises(InvalidInput, match="status"):
        print_suggestions(db, Console(), tenant_id=tenant.tenant_id, status="nope", limit=5,
                          lang="en")
    shown = _text(lambda console: print_suggestion(db, console, tenant_id=tenant.tenant_id,
                                                   suggestion_id=ids["pause_a"], lang="fr"))
    assert "Mettre en pause la pub A" in shown and "raison de Mettre en pause" in shown
    assert "350,00\u00a0€" in shown  # fr_FR money: decimal comma, no-break space, symbol after
    assert "Prévision sur" in shown  # the predicted p10/p50/p90 table is in the detail view


def test_print_suggestion_not_found_and_other_tenant(db, seeded):
    tenant, ids = seeded
    with pytest.raises(NotFound):
        print_suggestion(db, Console(), tenant_id=tenant.tenant_id,
                         suggestion_id=max(ids.values()) + 10_000, lang="en")
    other = new_tenant(db)
    other_ids = _seed(db, other.tenant_id)
    with pytest.raises(NotFound):
        print_suggestion(db, Console(), tenant_id=tenant.tenant_id,
                         suggestion_id=other_ids["pause_a"], lang="en")
    # and the owner of that suggestion does see it
    out = _text(lambda console: print_suggestion(db, console, tenant_id=other.tenant_id,
                                                 suggestion_id=other_ids["pause_a"], lang="en"))
    assert "Pause ad A now" in out


def test_report_without_cycle_run_or_flags(db, tmp_path):
    tenant = new_tenant(db)
    path = write_report(db, tenant_id=tenant.tenant_id, as_of=AS_OF, lang="en",
                        out=tmp_path / "empty.html")
    html = path.read_text(encoding="utf-8")
    assert "No cycle run is recorded" in html and "<svg" not in html
    assert isinstance(path, Path)


def test_clean_svg_keeps_labels_and_prefixes_ids():
    from growthops.ads.reporting.report_charts import _clean_svg

    raw = ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10pt" '
           'height="5pt"><metadata>https://matplotlib.org</metadata><g id="unused">'
           '<path d="M 1.234 5.678 L 3.33333 4 z " style="opacity: 0.35" clip-path="url(#p1)"/>'
           '</g><text x="1.2345">1.25</text><clipPath id="p1"/></svg>')
    s = _clean_svg(raw, "c7-")
    assert "http" not in s and "unused" not in s
    assert 'd="M1.2 5.7L3.3 4z"' in s and "opacity: 0.35" in s
    assert ">1.25</text>" in s  # tick labels are never rounded
    assert 'url(#c7-p1)' in s and 'id="c7-p1"' in s


def test_french_report_names_every_summary_key_and_entity_level_in_french(db, seeded, tmp_path):
    """Issue 9: no summary label (timings, held back, ...) nor entity level left in English."""
    from growthops.ads.reporting.report_labels import SUMMARY

    tenant, _ = seeded
    with db.tenant_tx(tenant.tenant_id) as conn:
        (run,) = conn.execute("select summary from ads.cycle_runs where as_of = %s "
                              "limit 1", [AS_OF]).fetchall()
    keys = {k for k, v in run["summary"].items()}
    keys |= {x for v in run["summary"].values() if isinstance(v, dict) for x in v}
    assert keys - set(SUMMARY) == set()
    html = write_report(db, tenant_id=tenant.tenant_id, as_of=AS_OF, lang="fr",
                        out=tmp_path / "r.html").read_text(encoding="utf-8")
    for english in (">seconds<", ">entities<", ">timings<", ">held back<", ">adset ", ">ad "):
        assert english not in html
