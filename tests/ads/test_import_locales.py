"""Ads Manager exports as a French media buyer has them (issue 9 #3): French headers,
semicolons, decimal commas, thousands separators; errors naming the user's own header, every
rejected row, in the user's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from growthops.ads.metrics.importer import import_metrics
from growthops.cli import app
from growthops.core.errors import ImportRejected, InvalidInput
from tests.conftest import new_tenant

META = Path(__file__).resolve().parents[1] / "fixtures" / "meta"
STORED = """select entity_id, day, spend, impressions, reach, clicks, conversions, conversion_value,
                   video_3s_views, video_thruplays, leads from ads.metrics_daily
            order by level, entity_id, day"""


def _import(db, tenant_id, path, **kw):
    with db.tenant_tx(tenant_id) as conn:
        return import_metrics(conn, tenant_id=tenant_id, path=path, fmt="meta_ads_export", **kw)


def _stored(db, tenant_id):
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(STORED).fetchall()


@pytest.mark.parametrize("name", ["ads_daily_eur_fr.csv", "ads_daily_eur_decimal_comma.csv"])
def test_french_and_decimal_comma_exports_store_what_the_english_one_does(db, name):
    ref, other = new_tenant(db, currency="EUR"), new_tenant(db, currency="EUR")
    _import(db, ref.tenant_id, META / "ads_daily_eur.csv")
    res = _import(db, other.tenant_id, META / name)
    assert (res.rows_accepted, res.rejected) == (8, [])
    assert _stored(db, other.tenant_id) == _stored(db, ref.tenant_id)


def test_a_missing_column_is_named_as_the_export_names_it(db, tmp_path):
    t = new_tenant(db, currency="EUR")
    path = tmp_path / "fr.csv"
    path.write_text("Jour;Nom de la campagne;Impressions\n2026-03-02;A;10\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        _import(db, t.tenant_id, path)
    text = str(exc.value)
    assert "Amount spent" in text and "Montant dépensé" in text and "'spend'" not in text


def _bad_file(tmp_path, n):
    head = "Jour;Nom de la campagne;Montant dépensé (EUR);Impressions\n"
    rows = "".join(f"2026-03-{1 + i % 28:02d};Camp {i};abc;10\n" for i in range(n))
    path = tmp_path / "bad_fr.csv"
    path.write_text(head + rows, encoding="utf-8")
    return path


def test_every_rejected_row_is_listed_with_the_users_header(db, tmp_path):
    t = new_tenant(db, currency="EUR")
    with pytest.raises(ImportRejected) as exc:
        _import(db, t.tenant_id, _bad_file(tmp_path, 80))
    assert len(exc.value.rejected) == 80
    text = str(exc.value)
    assert "and 30 more" not in text and "line 81," in text
    assert all(r.column == "Montant dépensé (EUR)" for r in exc.value.rejected)


def test_cli_lists_every_rejection_in_french_and_writes_them_to_a_file(db, tmp_path):
    t = new_tenant(db, currency="EUR")
    out = CliRunner().invoke(app, ["import", "ads", str(_bad_file(tmp_path, 60)), "--tenant",
                                   t.client_key, "--format", "meta_ads_export", "--lang", "fr"])
    assert out.exit_code == 2
    text = " ".join(out.output.split())
    assert "ligne 61" in text and "n'est pas un nombre" in text and "Montant dépensé (EUR)" in text
    assert "more" not in text and "not a number" not in text
    report = tmp_path / "bad_fr.rejected.csv"
    assert report.exists() and str(report.name) in text
    assert len(report.read_text(encoding="utf-8").splitlines()) == 61
