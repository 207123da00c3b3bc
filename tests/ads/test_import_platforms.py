"""Google Ads, TikTok Ads Manager and LinkedIn Campaign Manager exports, in English and French
(issue 9 #3, issue 15): preambles and summary rows, thousands separators (comma, space, no-break
and narrow no-break space), decimal commas, the currency in the header, errors naming the
user's own header."""

from __future__ import annotations

from pathlib import Path

import pytest

from growthops.ads.metrics.importer import import_metrics
from growthops.ads.thresholds import scale_rules
from growthops.core.errors import ImportRejected, InvalidInput
from tests.conftest import new_tenant

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
STORED = """select platform, level, entity_id, day, entity_name, campaign_id, adset_id, spend,
                   impressions, reach, clicks, leads, conversions, conversion_value,
                   daily_budget, custom_metrics
            from ads.metrics_daily order by level, entity_id, day"""

CASES = [  # format, English file, French file, rows in the file, level
    ("google_ads_export", "google_adgroups_en.csv", "google_adgroups_fr.csv", 6, "adset"),
    ("tiktok_ads_export", "tiktok_ads_en.csv", "tiktok_ads_fr.csv", 4, "ad"),
    ("linkedin_ads_export", "linkedin_campaigns_en.csv", "linkedin_campaigns_fr.csv", 4, "adset"),
]


def _import(db, tenant_id, path, fmt, **kw):
    with db.tenant_tx(tenant_id) as conn:
        return import_metrics(conn, tenant_id=tenant_id, path=path, fmt=fmt, **kw)


def _stored(db, tenant_id):
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(STORED).fetchall()


@pytest.mark.parametrize(("fmt", "en", "fr", "n", "level"), CASES)
def test_english_and_french_exports_store_the_same_rows(db, fmt, en, fr, n, level):
    a, b = new_tenant(db, currency="EUR"), new_tenant(db, currency="EUR")
    res_en = _import(db, a.tenant_id, EXPORTS / en, fmt)
    res_fr = _import(db, b.tenant_id, EXPORTS / fr, fmt)
    assert (res_en.rows_accepted, res_en.rejected) == (n, [])
    assert (res_fr.rows_accepted, res_fr.rejected) == (n, [])
    rows = _stored(db, a.tenant_id)
    assert rows == _stored(db, b.tenant_id)
    assert {r["level"] for r in rows} >= {level, "campaign"}
    first = next(r for r in rows if r["level"] == level)
    assert first["spend"] > 1000 and first["impressions"] > 1000  # thousands read as thousands


def test_google_preamble_totals_fractional_conversions_and_the_excel_download(db):
    a, b = new_tenant(db, currency="EUR"), new_tenant(db, currency="EUR")
    res = _import(db, a.tenant_id, EXPORTS / "google_adgroups_en.csv", "google_ads_export")
    assert res.summaries_skipped == 2 and res.rows_read == 6  # "Total: Ad groups/Account"
    rows = {(r["entity_id"], str(r["day"])): r for r in _stored(db, a.tenant_id)}
    exact = rows[("151234567890", "2026-03-02")]
    assert (exact["platform"], exact["entity_name"], exact["campaign_id"]) == (
        "google", "Brand exact", "20512345678")
    assert float(exact["spend"]) == 1234.5 and exact["impressions"] == 45210
    assert exact["conversions"] == 42 and float(exact["custom_metrics"]["conversions_exact"]) == 41.5
    campaign = rows[("20512345678", "2026-03-02")]
    assert campaign["level"] == "campaign" and float(campaign["spend"]) == 1234.5 + 310.25
    # Google's "Excel CSV" download: UTF-16 with a BOM, tab-separated, same figures.
    res = _import(db, b.tenant_id, EXPORTS / "google_adgroups_en_excel.csv", "google_ads_export")
    assert (res.rows_accepted, res.rejected) == (6, [])
    assert _stored(db, b.tenant_id) == _stored(db, a.tenant_id)


def test_linkedin_hierarchy_us_days_and_daily_budget(db):
    t = new_tenant(db, currency="EUR")
    _import(db, t.tenant_id, EXPORTS / "linkedin_campaigns_en.csv", "linkedin_ads_export")
    rows = _stored(db, t.tenant_id)
    lyon = next(r for r in rows if r["entity_id"] == "312345671" and str(r["day"]) == "2026-03-02")
    assert lyon["level"] == "adset" and lyon["campaign_id"] == "612345678"  # group > campaign
    assert float(lyon["daily_budget"]) == 1250 and lyon["leads"] == 12
    assert {str(r["day"]) for r in rows} == {"2026-03-02", "2026-03-03"}  # 3/2/2026 is March 2


def test_a_bad_cell_is_named_by_the_users_own_header(db, tmp_path):
    t = new_tenant(db, currency="EUR")
    text = (EXPORTS / "google_adgroups_fr.csv").read_text(encoding="utf-8")
    bad = tmp_path / "fr.csv"
    bad.write_text(text.replace('"1\u202f234,50"', '"douze"'), encoding="utf-8")
    with pytest.raises(ImportRejected) as exc:
        _import(db, t.tenant_id, bad, "google_ads_export")
    (row,) = exc.value.rejected
    assert (row.line, row.column, row.value) == (4, "Coût (EUR)", "douze")


@pytest.mark.parametrize(("fmt", "header", "names"), [
    ("google_ads_export", "Jour,Campagne,Impr.\n02/03/2026,A,10\n", ("'Cost'", "'Coût'")),
    ("tiktok_ads_export", "Date,Campaign name,Impressions\n2026-03-02,A,10\n", ("'Cost'", "'Coût'")),
    ("linkedin_ads_export", "Start Date (in UTC),Campaign Name,Impressions\n3/2/2026,A,10\n",
     ("'Total spent'", "'Total dépensé'")),
])
def test_a_missing_column_is_named_as_the_platform_writes_it(db, tmp_path, fmt, header, names):
    t = new_tenant(db, currency="EUR")
    path = tmp_path / "x.csv"
    path.write_text(header, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        _import(db, t.tenant_id, path, fmt)
    assert all(n in str(exc.value) for n in names) and "'spend'" not in str(exc.value)


def test_the_currency_in_the_header_must_be_the_tenants(db):
    t = new_tenant(db, currency="USD")
    with pytest.raises(InvalidInput) as exc:
        _import(db, t.tenant_id, EXPORTS / "google_adgroups_fr.csv", "google_ads_export")
    assert "Coût (EUR)" in str(exc.value) and "USD" in str(exc.value)


def test_learning_phase_rules_per_platform():
    assert (scale_rules("tiktok").min_results, scale_rules("tiktok").days) == (50, 7)
    assert (scale_rules("meta").min_results, scale_rules("meta").days) == (50, 7)
    assert (scale_rules("linkedin").min_results, scale_rules("linkedin").days) == (30, 30)
