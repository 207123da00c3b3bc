"""``growthops import ads``: the real datasets, idempotence, roll-ups, rejections, RLS, formats."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from growthops.ads.metrics.importer import import_metrics
from growthops.core.db import Database
from growthops.core.errors import ImportRejected, InvalidInput
from tests.conftest import EXAMPLES, new_tenant

OAP = EXAMPLES / "online_ad_performance" / "online_advertising_performance_data.csv"
FB = EXAMPLES / "fb_ad_campaign_2017" / "fb_ad_campaign_daily_repaired.csv"
META = Path(__file__).resolve().parents[1] / "fixtures" / "meta"

HEADER = (
    "platform,level,entity_id,day,entity_name,campaign_id,adset_id,spend,impressions,"
    "reach,clicks,leads,conversions,conversion_value,custom.revenue\n"
)


def _write(tmp_path: Path, name: str, body: str, header: str = HEADER) -> Path:
    p = tmp_path / name
    p.write_text(header + body, encoding="utf-8")
    return p


def _import(db: Database, tenant_id, path: Path, fmt: str, **kw):
    with db.tenant_tx(tenant_id) as conn:
        return import_metrics(conn, tenant_id=tenant_id, path=path, fmt=fmt, **kw)


def _q(db: Database, tenant_id, query: str, params=()):
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(query, params).fetchall()


def _snapshot(db: Database, tenant_id):
    return _q(
        db,
        tenant_id,
        """select count(*) as n, max(updated_at) as last_update,
                                      sum(spend) as spend, count(distinct import_batch_id) as batches
                               from ads.metrics_daily""",
    )[0]


# Roll-up rows that differ from the sum of their children (must be none).
ROLLUP_MISMATCHES = """
with kids as (
  select 'adset' as plevel, platform, adset_id as parent, day, spend, impressions, clicks, leads,
         conversions, conversion_value
  from ads.metrics_daily where level = 'ad'
  union all
  select 'campaign', platform, campaign_id, day, spend, impressions, clicks, leads, conversions,
         conversion_value
  from ads.metrics_daily where level = 'ad'
), sums as (
  select plevel, platform, parent, day, sum(spend) spend, sum(impressions) impressions,
         sum(clicks) clicks, sum(leads) leads, sum(conversions) conversions,
         sum(conversion_value) conversion_value
  from kids group by 1, 2, 3, 4
)
select s.*, m.spend as stored_spend from sums s
left join ads.metrics_daily m
  on m.level = s.plevel and m.platform = s.platform and m.entity_id = s.parent and m.day = s.day
where m.entity_id is null or m.reach is not null
   or (m.spend, m.impressions, m.clicks, m.leads, m.conversions, m.conversion_value)
      is distinct from (s.spend, s.impressions, s.clicks, s.leads, s.conversions, s.conversion_value)
"""


# ------------------------------------------------------------------------ the real datasets
def test_online_ad_performance_imports_fully_and_reimport_changes_nothing(db: Database) -> None:
    t = new_tenant(db)
    res = _import(db, t.tenant_id, OAP, "online_ad_performance")
    assert (res.rows_read, res.rows_accepted, res.duplicates_skipped) == (15408, 15403, 5)
    assert res.rejected == [] and (res.rows_inserted, res.rows_updated) == (15403, 0)
    assert res.rollups_inserted > 0
    assert (str(res.first_day), str(res.last_day)) == ("2020-04-01", "2020-06-30")

    camps = {
        r["entity_id"]: r
        for r in _q(
            db,
            t.tenant_id,
            """
        select entity_id, min(entity_name) as name, sum(spend) as spend,
               sum(impressions) as impressions, sum(clicks) as clicks,
               sum(conversions) as conversions, sum(conversion_value) as value,
               sum((custom_metrics->>'revenue')::numeric) as revenue, count(*) as days,
               count(reach) as with_reach
        from ads.metrics_daily where level = 'campaign' group by entity_id""",
        )
    }
    assert set(camps) == {"camp1", "camp2", "camp3"} and camps["camp1"]["name"] == "camp 1"
    # SOURCE.md's totals (camp 1 cost 150,688.58; camp 3 7,467.07) include the 5 duplicate rows
    # (raw file sums 150,688.5798 and 7,467.0663); without them (what is stored):
    assert camps["camp1"]["spend"] == Decimal("150688.1225")
    assert camps["camp2"]["spend"] == Decimal("17037.3496")  # no duplicates in camp 2
    assert camps["camp3"]["spend"] == Decimal("7466.7479")
    assert camps["camp2"]["revenue"] == Decimal("34890.4153")  # SOURCE: 34,890.4
    assert camps["camp1"]["impressions"] == 143309064 and camps["camp1"]["clicks"] == 1409126
    assert camps["camp1"]["conversions"] == 633082
    assert camps["camp1"]["value"] == Decimal("31012644.7298")
    assert {k: c["days"] for k, c in camps.items()} == {"camp1": 91, "camp2": 30, "camp3": 91}
    assert all(c["with_reach"] == 0 for c in camps.values())  # roll-ups: reach unknown
    raw = sum(
        Decimal(r["cost"])
        for r in csv.DictReader(OAP.open(newline=""))
        if r["campaign_number"] == "camp 1"
    )
    assert raw == Decimal("150688.5798")

    ad = _q(
        db,
        t.tenant_id,
        """select * from ads.metrics_daily where level = 'ad'
                               and entity_id = 'camp1|High|def|160x600' and day = '2020-04-01'""",
    )[0]
    assert ad["adset_id"] == "camp1|High|def" and ad["campaign_id"] == "camp1"
    assert (ad["spend"], ad["impressions"], ad["clicks"]) == (Decimal("26.7824"), 20170, 158)
    assert ad["custom_metrics"] == {"revenue": 28.9717} and ad["platform"] == "display"
    na = _q(
        db,
        t.tenant_id,
        """select count(*) as n from ads.metrics_daily
                               where level = 'adset' and entity_id like '%%|unknown'""",
    )[0]["n"]
    assert na > 0  # placement #N/A
    assert _q(db, t.tenant_id, ROLLUP_MISMATCHES) == []

    before = _snapshot(db, t.tenant_id)
    again = _import(db, t.tenant_id, OAP, "online_ad_performance")
    assert (again.rows_inserted, again.rows_updated) == (0, 0)
    assert (again.rollups_inserted, again.rollups_updated) == (0, 0)
    assert again.rows_unchanged == 15403 and again.batch_id != res.batch_id
    assert _snapshot(db, t.tenant_id) == before  # updated_at and batch ids untouched
    batches = _q(db, t.tenant_id, "select * from ads.import_batches order by batch_id")
    assert [b["rows_inserted"] for b in batches] == [15403, 0]
    assert batches[0]["sha256"] == batches[1]["sha256"] and len(batches[0]["sha256"]) == 64


def test_fb_ad_campaign_2017_imports_fully_and_reimport_changes_nothing(db: Database) -> None:
    t = new_tenant(db)
    res = _import(db, t.tenant_id, FB, "fb_ad_campaign_2017")
    assert (res.rows_read, res.rows_accepted, res.rows_inserted) == (1143, 1143, 1143)
    assert res.rejected == [] and res.duplicates_skipped == 0
    tot = _q(
        db,
        t.tenant_id,
        """select level, count(*) as n, sum(spend) as spend,
        sum(impressions) as impressions, sum(clicks) as clicks, sum(leads) as leads,
        sum(conversions) as conversions, sum(conversion_value) as value
        from ads.metrics_daily group by level""",
    )
    by = {r["level"]: r for r in tot}
    # SOURCE.md totals: spend 58,705.23; impressions 213,434,828; clicks 38,165;
    # total conversions 3,264 (leads); approved 1,079 (conversions); 35 campaign-days.
    for level in ("ad", "adset", "campaign"):
        r = by[level]
        assert round(r["spend"], 2) == Decimal("58705.23")
        assert (r["impressions"], r["clicks"], r["leads"], r["conversions"]) == (
            213434828,
            38165,
            3264,
            1079,
        )
        assert r["value"] == 0
    assert by["adset"]["spend"] == by["ad"]["spend"] == by["campaign"]["spend"]
    assert by["campaign"]["n"] == 35 and by["ad"]["n"] == 1143
    per_camp = _q(
        db,
        t.tenant_id,
        """select campaign_id, count(*) as ads from ads.metrics_daily
                                     where level = 'ad' group by 1 order by 1""",
    )
    assert [(r["campaign_id"], r["ads"]) for r in per_camp] == [
        ("1178", 625),
        ("916", 54),
        ("936", 464),
    ]
    adset = _q(
        db,
        t.tenant_id,
        """select * from ads.metrics_daily where level = 'adset'
                                  and entity_id = '103916' and day = '2017-08-17'""",
    )[0]
    assert adset["campaign_id"] == "916" and adset["reach"] is None
    assert adset["custom_metrics"]["age"] == "30-34" and adset["custom_metrics"]["gender"] == "M"
    ad = _q(db, t.tenant_id, "select * from ads.metrics_daily where entity_id = '708746'")[0]
    assert ad["spend"] == Decimal("1.430000")  # 1.429999948 rounded to 6 decimals
    assert ad["custom_metrics"] == {"age": "30-34", "gender": "M", "interests": [15, 17, 17]}
    assert _q(db, t.tenant_id, ROLLUP_MISMATCHES) == []

    before = _snapshot(db, t.tenant_id)
    again = _import(db, t.tenant_id, FB, "fb_ad_campaign_2017")
    assert (
        again.rows_inserted,
        again.rows_updated,
        again.rollups_inserted,
        again.rollups_updated,
    ) == (0, 0, 0, 0)
    assert _snapshot(db, t.tenant_id) == before


# -------------------------------------------------------------------------------- roll-ups
def test_rollups_sum_every_stored_ad_and_follow_corrections(db: Database, tmp_path: Path) -> None:
    t = new_tenant(db)
    first = _write(
        tmp_path,
        "a.csv",
        "meta,ad,a1,2026-01-05,Ad 1,c1,s1,10.5,1000,800,20,1,2,50,1.5\n"
        "meta,ad,a2,2026-01-05,Ad 2,c1,s1,4.25,500,,5,0,1,20,2\n"
        "meta,ad,a3,2026-01-05,Ad 3,c1,s2,1,100,90,1,0,0,0,\n",
    )
    res = _import(db, t.tenant_id, first, "growthops")
    assert res.rollups_inserted == 3  # s1, s2, c1
    s1 = _q(db, t.tenant_id, "select * from ads.metrics_daily where entity_id = 's1'")[0]
    assert (s1["level"], s1["campaign_id"], s1["spend"], s1["impressions"]) == (
        "adset",
        "c1",
        Decimal("14.75"),
        1500,
    )
    assert s1["reach"] is None and s1["frequency"] is None  # reach is not additive
    assert s1["custom_metrics"] == {"revenue": Decimal("3.5")}
    # A second file brings another ad of s1 the same day: the roll-up sums all stored ads.
    second = _write(tmp_path, "b.csv", "meta,ad,a4,2026-01-05,Ad 4,c1,s1,1,10,,0,0,0,0,\n")
    res2 = _import(db, t.tenant_id, second, "growthops")
    assert (res2.rows_inserted, res2.rollups_updated) == (1, 2)
    # A correction of one ad updates it and its parents; the rest stays as it was.
    fixed = _write(tmp_path, "c.csv", "meta,ad,a3,2026-01-05,Ad 3,c1,s2,2,100,90,1,0,0,0,\n")
    res3 = _import(db, t.tenant_id, fixed, "growthops")
    assert (res3.rows_inserted, res3.rows_updated, res3.rollups_updated) == (0, 1, 2)
    camp = _q(
        db, t.tenant_id, "select spend, impressions from ads.metrics_daily where level = 'campaign'"
    )
    assert camp == [{"spend": Decimal("17.75"), "impressions": 1610}]
    assert _q(db, t.tenant_id, ROLLUP_MISMATCHES) == []


def test_explicit_parent_rows_are_not_overwritten_by_rollups(db: Database, tmp_path: Path) -> None:
    t = new_tenant(db)
    f = _write(
        tmp_path,
        "p.csv",
        "meta,adset,s1,2026-01-05,Set 1,c1,,99,5000,4000,0,0,0,0,\n"
        "meta,ad,a1,2026-01-05,Ad 1,c1,s1,10,1000,,0,0,0,0,\n",
    )
    res = _import(db, t.tenant_id, f, "growthops")
    assert (res.rows_inserted, res.rollups_inserted) == (2, 1)  # only the campaign is rolled up
    rows = {r["level"]: r for r in _q(db, t.tenant_id, "select * from ads.metrics_daily")}
    assert rows["adset"]["spend"] == 99 and rows["adset"]["reach"] == 4000
    assert rows["campaign"]["spend"] == 99  # sum of its ad sets


# ------------------------------------------------------------------------------ rejections
BAD_ROWS = (
    "meta,ad,a1,2026-01-05,,c1,s1,10,100,,1,0,0,0,\n"  # line 2: good
    "meta,ad,a2,2026-01-05,,c1,s1,-3,100,,1,0,0,0,\n"  # line 3: negative spend
    "meta,ad,a3,2026-02-30,,c1,s1,1,100,,1,0,0,0,\n"  # line 4: no such day
    "meta,creative,a4,2026-01-05,,c1,s1,1,100,,1,0,0,0,\n"  # line 5: unknown level
    "meta,ad,a5,05/01/2026,,c1,,x,100,,1,0,0,0,\n"  # line 6: bad date + 2 more
    "meta,ad,a1,2026-01-05,,c1,s1,10,100,,1,0,0,0,\n"  # line 7: exact duplicate of 2
    "meta,ad,a1,2026-01-05,,c1,s1,11,100,,1,0,0,0,\n"  # line 8: same key, other spend
    "meta,ad,a6,2026-01-05,,c2,s1,1,100,,1,0,0,0,\n"  # line 9: s1 under another campaign
    "meta,ad,a7,2026-01-05,,c1,s1,1,100,200,1,0,0,0\n"  # line 10: 14 fields, header 15
)


def test_bad_rows_reject_the_whole_file_with_line_column_reason(
    db: Database, tmp_path: Path
) -> None:
    t = new_tenant(db)
    f = _write(tmp_path, "bad.csv", BAD_ROWS)
    with db.tenant_tx(t.tenant_id) as conn:
        with pytest.raises(ImportRejected) as exc:
            import_metrics(conn, tenant_id=t.tenant_id, path=f, fmt="growthops")
        # Nothing was written, even inside the still-open transaction.
        assert conn.execute("select count(*) as n from ads.metrics_daily").fetchone()["n"] == 0
        assert conn.execute("select count(*) as n from ads.import_batches").fetchone()["n"] == 0
    rej = {r.line: r for r in exc.value.rejected}
    assert sorted(rej) == [3, 4, 5, 6, 8, 9, 10] and exc.value.rows_total == 9
    assert (rej[3].column, rej[3].value, rej[3].reason) == ("spend", "-3", "negative amount")
    assert (rej[4].column, rej[4].reason) == ("day", "no such day")
    assert rej[5].column == "level" and "unknown value" in rej[5].reason
    assert rej[6].column == "day" and "YYYY-MM-DD" in rej[6].reason
    assert "spend (not a number)" in rej[6].reason and "adset_id" in rej[6].reason
    assert rej[8].column == "spend" and "line 2" in rej[8].reason
    assert rej[9].column == "campaign_id" and "line 2" in rej[9].reason
    assert rej[10].column == "(row)" and "15 fields" in rej[10].reason
    assert "line 3, column 'spend'" in str(exc.value)


def test_skip_invalid_imports_the_good_rows_and_records_the_bad(
    db: Database, tmp_path: Path
) -> None:
    t = new_tenant(db)
    f = _write(tmp_path, "bad.csv", BAD_ROWS)
    res = _import(db, t.tenant_id, f, "growthops", skip_invalid=True, progress=True)
    assert (res.rows_read, res.rows_accepted, res.duplicates_skipped, res.rows_rejected) == (
        9,
        1,
        1,
        7,
    )
    assert [r.line for r in res.rejected] == [3, 4, 5, 6, 8, 9, 10]
    rows = _q(db, t.tenant_id, "select level, entity_id, spend from ads.metrics_daily order by 1")
    assert [(r["level"], r["entity_id"]) for r in rows] == [
        ("ad", "a1"),
        ("adset", "s1"),
        ("campaign", "c1"),
    ]
    batch = _q(db, t.tenant_id, "select * from ads.import_batches")[0]
    assert (batch["rows_read"], batch["rows_accepted"], batch["rows_rejected"]) == (9, 1, 7)
    assert batch["rejected"][0] == {
        "line": 3,
        "column": "spend",
        "value": "-3",
        "reason": "negative amount",
    }


@pytest.mark.parametrize(
    ("header", "fmt", "message"),
    [
        ("platform,level,entity_id,spend\n", "growthops", "'day'"),
        ("platform,level,entity_id,day,spnd\n", "growthops", "'spnd'"),
        ("platform,level,entity_id,day,day\n", "growthops", "appears twice"),
        ("month,day,campaign_number\n", "online_ad_performance", "'user_engagement'"),
        ("ad_id,xyz_campaign_id,fb_campaign_id\n", "fb_ad_campaign_2017", "'reporting_start'"),
        ("Campaign name,Amount spent (EUR),Impressions\n", "meta_ads_export", "'Day'"),
        ("platform,level,entity_id,day\n", "tiktok_csv", "unknown format"),
        ("", "growthops", "empty file"),
    ],
)
def test_wrong_header_or_format_is_invalid_input(
    db: Database, tenant, tmp_path: Path, header: str, fmt: str, message: str
) -> None:
    f = _write(tmp_path, "h.csv", "", header=header)
    with db.tenant_tx(tenant.tenant_id) as conn:
        with pytest.raises(InvalidInput) as exc:
            import_metrics(conn, tenant_id=tenant.tenant_id, path=f, fmt=fmt)
        assert not isinstance(exc.value, ImportRejected)
        assert conn.execute("select count(*) as n from ads.import_batches").fetchone()["n"] == 0
    assert message in str(exc.value)


# --------------------------------------------------------------------------------- tenancy
def test_rows_imported_for_one_tenant_are_invisible_to_another(
    db: Database, tmp_path: Path
) -> None:
    a, b = new_tenant(db), new_tenant(db)
    f = _write(tmp_path, "a.csv", "meta,ad,a1,2026-01-05,,c1,s1,10,100,,1,0,0,0,\n")
    _import(db, a.tenant_id, f, "growthops")
    for table in ("ads.metrics_daily", "ads.import_batches"):
        assert _q(db, a.tenant_id, f"select count(*) as n from {table}")[0]["n"] > 0
        assert _q(db, b.tenant_id, f"select count(*) as n from {table}")[0]["n"] == 0
    # B importing the same keys gets its own rows (inserted, not "unchanged").
    res = _import(db, b.tenant_id, f, "growthops")
    assert (res.rows_inserted, res.rollups_inserted) == (1, 2)


# ------------------------------------------------------------------------- other formats
def test_online_ad_performance_year_and_placement_na(db: Database, tenant, tmp_path: Path) -> None:
    header = (
        "month,day,campaign_number,user_engagement,banner,placement,displays,cost,clicks,"
        "revenue,post_click_conversions,post_click_sales_amount,,\n"
    )
    f = _write(
        tmp_path,
        "oap.csv",
        "May,31,camp 2,Low,728 x 90,#N/A,1000,1.5,10,0.4,1,30.25,,\n"
        "June,31,camp 2,Low,728 x 90,abc,1000,1.5,10,0.4,1,30.25,,\n"
        "June,1,camp 2,Low,728 x 90,abc,1000,1.5,10,0.4,1,30.25,,oops\n",
        header=header,
    )
    res = _import(db, tenant.tenant_id, f, "online_ad_performance", year=2019, skip_invalid=True)
    assert [(r.line, r.column) for r in res.rejected] == [(3, "day"), (4, "(column 14, no header)")]
    row = _q(db, tenant.tenant_id, "select * from ads.metrics_daily where level = 'ad'")[0]
    assert (str(row["day"]), row["entity_id"]) == ("2019-05-31", "camp2|Low|unknown|728x90")
    assert row["entity_name"] == "camp 2 / Low / placement #N/A / 728 x 90"


def test_meta_ads_export_ad_level_daily(db: Database, tenant) -> None:
    res = _import(db, tenant.tenant_id, META / "ads_daily_eur.csv", "meta_ads_export")
    assert (res.rows_accepted, res.rows_inserted, res.rejected) == (8, 8, [])
    ad = _q(
        db,
        tenant.tenant_id,
        """select * from ads.metrics_daily
                                    where entity_id = '120210000000000101' and day = '2026-03-02'""",
    )[0]
    assert ad["platform"] == "meta" and ad["level"] == "ad" and ad["entity_name"] == "Video hook A"
    assert ad["campaign_id"] == "name:Spring Sale - Conversions"
    assert ad["adset_id"] == "name:Spring Sale - Conversions|Broad FR 25-54"
    assert (ad["spend"], ad["impressions"], ad["reach"], ad["clicks"]) == (
        Decimal("1234.5"),
        98000,
        61000,
        1450,
    )
    assert (ad["conversions"], ad["conversion_value"]) == (31, Decimal("4650"))
    assert (ad["video_3s_views"], ad["video_thruplays"]) == (24500, 8100)
    assert ad["custom_metrics"]["clicks_all"] == 2010 and ad["custom_metrics"]["results"] == 31
    lead = _q(
        db,
        tenant.tenant_id,
        """select leads, conversions, video_3s_views
                                      from ads.metrics_daily where entity_id = '120210000000000201'
                                      and day = '2026-03-03'""",
    )[0]
    assert lead == {"leads": 17, "conversions": 0, "video_3s_views": None}
    camp = _q(
        db,
        tenant.tenant_id,
        """select entity_name, sum(spend) as spend from ads.metrics_daily
                                      where level = 'campaign' group by 1 order by 1""",
    )
    assert camp == [
        {"entity_name": "Lead gen - Guide", "spend": Decimal("179.4")},
        {"entity_name": "Spring Sale - Conversions", "spend": Decimal("3438.75")},
    ]
    assert _q(db, tenant.tenant_id, ROLLUP_MISMATCHES) == []
    again = _import(db, tenant.tenant_id, META / "ads_daily_eur.csv", "meta_ads_export")
    assert (again.rows_inserted, again.rows_updated, again.rollups_updated) == (0, 0, 0)


def test_meta_ads_export_currency_must_match_the_tenant(db: Database) -> None:
    eur, usd = new_tenant(db, currency="EUR"), new_tenant(db, currency="USD")
    with pytest.raises(InvalidInput, match=r"'Amount spent \(USD\)' is in USD .* EUR"):
        _import(db, eur.tenant_id, META / "adsets_day_usd.csv", "meta_ads_export")
    res = _import(db, usd.tenant_id, META / "adsets_day_usd.csv", "meta_ads_export")
    assert (res.rows_inserted, res.rollups_inserted, res.rejected) == (4, 2, [])
    row = _q(
        db,
        usd.tenant_id,
        """select * from ads.metrics_daily where level = 'adset'
                                  and entity_id = '120200000000000111' and day = '2026-03-03'""",
    )[0]
    assert (row["campaign_id"], row["daily_budget"], row["leads"], row["post_engagements"]) == (
        "120200000000000010",
        Decimal("150.00"),
        11,
        402,
    )


def test_meta_ads_export_rejects_rows_spanning_several_days(db: Database, tenant) -> None:
    path = META / "campaigns_weekly_eur.csv"
    with pytest.raises(ImportRejected) as exc:
        _import(db, tenant.tenant_id, path, "meta_ads_export")
    [r] = exc.value.rejected
    assert (r.line, r.column) == (3, "Reporting ends") and "not a daily row" in r.reason
    res = _import(db, tenant.tenant_id, path, "meta_ads_export", skip_invalid=True)
    row = _q(db, tenant.tenant_id, "select * from ads.metrics_daily")[0]
    assert res.rows_inserted == 1 and (row["level"], row["conversions"]) == ("campaign", 41)
    assert row["spend"] == Decimal("1749.75")


def test_cli_import_ads(db: Database, tenant) -> None:
    from typer.testing import CliRunner

    from growthops.cli import app

    out = CliRunner().invoke(
        app,
        [
            "import",
            "ads",
            str(META / "ads_daily_eur.csv"),
            "--tenant",
            tenant.client_key,
            "--format",
            "meta_ads_export",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "8 rows accepted" in " ".join(out.output.split())
    assert (
        _q(db, tenant.tenant_id, "select count(*) as n from ads.metrics_daily where level = 'ad'")[
            0
        ]["n"]
        == 8
    )
