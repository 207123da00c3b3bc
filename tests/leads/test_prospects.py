"""Prospect import (CSV sources, rejections, all-or-nothing), de-duplication, score, queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from growthops.leads.prospects import csvmap, scoring, store
from growthops.leads.prospects.normalise import domain_of, email_of, name_norm
from tests.conftest import new_tenant
from tests.leads.conftest import q

DATA = Path(__file__).parent / "data"


def _import(db: Any, t: Any, name: str, **kw: Any) -> dict[str, Any]:
    with db.tenant_tx(t.tenant_id) as conn:
        return store.import_csv(conn, tenant_id=t.tenant_id, data=(DATA / name).read_bytes(),
                                filename=name, **kw)


def test_normalisation_of_the_keys():
    assert domain_of("https://WWW.Example.com/contact?x=1") == "example.com"
    assert domain_of("café.fr") == "xn--caf-dma.fr"
    assert domain_of("") is None
    for bad in ("not a site", "localhost", "http://", "1.2.3.4"):
        with pytest.raises(ValueError):
            domain_of(bad)
    assert email_of(" Info@Example.COM ") == "info@example.com"
    with pytest.raises(ValueError):
        email_of("a@b")
    assert name_norm("Clinique Dentaire Tremblay Inc.") == "clinique dentaire tremblay"
    assert name_norm("Ébénisterie Côté Ltée") == "ebenisterie cote"


def test_sources_are_detected_and_mapped():
    assert csvmap.detect_source((DATA / "apollo.csv").read_text().splitlines()[0].split(",")) \
        == "apollo"
    assert csvmap.detect_source(["name", "website", "types", "formatted_address"]) \
        == "google_places"
    assert csvmap.detect_source(["full_name", "work_email", "job_company_name",
                                 "job_company_website"]) == "pdl"
    _src, _mp, rows, rejected, n = csvmap.read_rows((DATA / "apollo.csv").read_bytes())
    assert n == 3 and not rejected
    assert rows[0].contact_name == "Marie Tremblay" and rows[0].language == "fr"
    assert rows[0].domain == "cliniquetremblay.ca" and rows[0].employees == 12
    assert rows[1].language is None  # Ontario: not inferred
    with pytest.raises(csvmap.ImportFileError, match="no column for business_name"):
        csvmap.read_rows("foo,bar\n1,2\n", source="plain")
    with pytest.raises(csvmap.ImportFileError, match="no column 'Sector'"):
        csvmap.read_rows((DATA / "apollo.csv").read_bytes(), mapping={"industry": "Sector"})
    assert csvmap.parse_employees("1,001-5,000") == 1001
    assert csvmap.parse_employees("10001+") == 10001


def test_every_rejected_row_is_reported_and_nothing_is_stored(db):
    t = new_tenant(db)
    with pytest.raises(store.ImportRejected) as err:
        _import(db, t, "bad.csv")
    got = {(r["line"], r["column"], r["reason"]) for r in err.value.report["rejected"]}
    assert got == {(3, "business_name", "required"),
                   (4, "website", "not a website address"),
                   (5, "email", "not an e-mail address"),
                   (6, "employees", "not a number of employees"),
                   (6, "language", "must be en or fr")}
    assert q(db, t, "select count(*) n from leads.prospect_candidates where tenant_id = %s"
             )[0]["n"] == 0
    report = _import(db, t, "bad.csv", partial=True)
    assert report["inserted"] == 1 and len(report["rejected"]) == 5
    assert [r["business_name"] for r in q(
        db, t, "select business_name from leads.prospect_candidates where tenant_id = %s")] \
        == ["Good Co"]


def test_duplicates_merge_on_domain_email_and_fuzzy_name_keeping_sources(db):
    t = new_tenant(db)
    first = _import(db, t, "apollo.csv")
    assert first["inserted"] == 3 and first["merged"] == 0
    again = _import(db, t, "apollo.csv")
    assert again["inserted"] == 0 and again["merged"] == 3
    places = _import(db, t, "places.csv")
    assert places["source"] == "google_places"
    assert places["inserted"] == 1 and places["merged"] == 1  # the clinic: same domain
    rows = q(db, t, """select business_name, domain, metadata, industry from
                       leads.prospect_candidates where tenant_id = %s order by prospect_id""")
    assert len(rows) == 4
    clinic = rows[0]
    assert [s["source"] for s in clinic["metadata"]["sources"]] == ["apollo", "apollo",
                                                                   "google_places"]
    assert clinic["industry"] == "Dental"  # the first value is kept
    assert rows[3]["industry"] == "bakery"  # Places types: the first, most specific
    # fuzzy name: no website, same region, a near-identical name
    fuzzy = ("business_name,email,region\n"
             "Smith Plumbing,office@smith-plumbing.example,\n"
             "Boulangerie Dupond,,Lyon\n")
    with db.tenant_tx(t.tenant_id) as conn:
        has = store.has_trgm(conn)
        rep = store.import_csv(conn, tenant_id=t.tenant_id, data=fuzzy, partial=True)
    assert rep["rejected"] == [{"line": 3, "column": "website",
                                "reason": "a website or an e-mail is needed (the "
                                          "de-duplication keys)"}]
    if has:  # Smith Plumbing LLC (region Ontario) vs no region: not the same region → new
        assert rep["inserted"] == 1


def test_fuzzy_name_merges_within_a_region(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        if not store.has_trgm(conn):
            pytest.skip("pg_trgm not installed")
        store.import_csv(conn, tenant_id=t.tenant_id, data=(
            "business_name,email,region\nPlomberie Gagnon Inc,info@gagnon.example,Laval\n"))
        rep = store.import_csv(conn, tenant_id=t.tenant_id, data=(
            "business_name,website,region\nPlomberie Gagnon,gagnon-plomberie.example,Laval\n"
            "Plomberie Gagnon,gagnon-other.example,Québec\n"))
    assert rep["merged"] == 1 and rep["inserted"] == 1
    merged = q(db, t, """select domain, contact_email from leads.prospect_candidates
                         where tenant_id = %s and region = 'Laval'""")
    assert merged == [{"domain": "gagnon-plomberie.example", "contact_email": "info@gagnon.example"}]


def test_score_shows_its_contributions_and_uses_industry_reply_rate(db):
    t = new_tenant(db)
    _import(db, t, "apollo.csv")
    rows = q(db, t, """select business_name, automation_need_score s, score_contributions c
                       from leads.prospect_candidates where tenant_id = %s order by prospect_id""")
    for r in rows:
        assert 45 <= r["s"] <= 95
        assert set(r["c"]) == set(scoring.WEIGHTS)
        assert float(r["s"]) == pytest.approx(45 + sum(p["points"] for p in r["c"].values()),
                                              abs=0.2)
    # Dental answers twice as often as Construction: the dentist's score rises
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("""insert into leads.prospect_industry_performance (tenant_id, industry,
                          total_contacted, total_replied, reply_rate) values
                          (%s, 'Dental', 100, 10, 10.0), (%s, 'Construction', 100, 5, 5.0)""",
                     [t.tenant_id, t.tenant_id])
        scoring.rescore(conn, tenant_id=t.tenant_id)
    after = {r["business_name"]: r for r in q(
        db, t, """select business_name, automation_need_score s, score_contributions c
                  from leads.prospect_candidates where tenant_id = %s""")}
    dental = after["Clinique Dentaire Tremblay"]["c"]["industry_reply"]
    constr = after["Smith Plumbing LLC"]["c"]["industry_reply"]
    assert dental["value"] == 1.0 and constr["value"] == 0.5
    assert after["Clinique Dentaire Tremblay"]["s"] > after["Smith Plumbing LLC"]["s"]


def test_profile_similarity_is_a_feature(db):
    t = new_tenant(db)
    _import(db, t, "apollo.csv")
    with db.tenant_tx(t.tenant_id) as conn:
        out = scoring.set_profile(conn, tenant_id=t.tenant_id, text=(
            "Dental clinics in Québec with a small front desk that cannot answer every call."))
    assert out["rescored"] == 3
    rows = {r["business_name"]: r for r in q(
        db, t, """select business_name, icp_similarity, score_contributions c
                  from leads.prospect_candidates where tenant_id = %s""")}
    dental = rows["Clinique Dentaire Tremblay"]
    assert dental["icp_similarity"] is not None
    assert dental["icp_similarity"] > rows["Lee Law"]["icp_similarity"]
    assert "cosine" in dental["c"]["icp_similarity"]["basis"]
    with db.tenant_tx(t.tenant_id) as conn, pytest.raises(ValueError):
        scoring.set_profile(conn, tenant_id=t.tenant_id, text="  ")


def test_daily_queue_takes_the_best_uncontacted_unsuppressed_once(db):
    t = new_tenant(db)
    _import(db, t, "apollo.csv")
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("""insert into leads.suppression_list (tenant_id, email_norm, reason)
                        values (%s, 'ann@leelaw.example', 'unsubscribe')""", [t.tenant_id])
        assert store.build_queue(conn, tenant_id=t.tenant_id, day="2026-01-05", size=5) == 2
        assert store.build_queue(conn, tenant_id=t.tenant_id, day="2026-01-05", size=5) == 0
        queue = store.queue_of(conn, tenant_id=t.tenant_id, day="2026-01-05")
        assert store.build_queue(conn, tenant_id=t.tenant_id, day="2026-01-06", size=5) == 0
    assert [r["rank"] for r in queue] == [1, 2]
    assert "Lee Law" not in {r["business_name"] for r in queue}
    assert queue[0]["automation_need_score"] >= queue[1]["automation_need_score"]
