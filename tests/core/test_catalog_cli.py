"""``growthops tenants products|funnels list|set``: rows added and changed through the
catalog service of the settings page (validation, audit with --by), only the options given
changed, errors naming the option, another tenant's rows unreachable, French output."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from typer.testing import CliRunner

from growthops.cli import app
from tests.conftest import new_tenant


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def said(res: Any) -> str:
    """What a failed command reported (the app raises; ``main`` prints it)."""
    return f"{res.exception or ''} {res.output}"


def rows(db: Any, t: Any, sql: str) -> list[dict[str, Any]]:
    with db.tenant_tx(t.tenant_id) as conn:
        return conn.execute(sql).fetchall()


def test_products_and_funnels_from_the_cli(db: Any) -> None:
    t, other = new_tenant(db), new_tenant(db)
    key = t.client_key
    res = run("tenants", "products", "list", "--tenant", key)
    assert res.exit_code == 0 and "no product yet" in res.output
    res = run(
        "tenants",
        "products",
        "set",
        "--tenant",
        key,
        "--by",
        "ana",
        "--name",
        "Bootcamp",
        "--type",
        "course",
        "--price",
        "2997",
    )
    assert res.exit_code == 0, res.output
    (p,) = rows(db, t, "select * from core.products")
    assert (p["product_name"], p["product_type"], p["price"], p["status"]) == (
        "Bootcamp",
        "course",
        Decimal("2997.00"),
        "active",
    )
    pid = p["product_id"]
    # Only the options given change; the audit names who and what.
    res = run(
        "tenants",
        "products",
        "set",
        "--tenant",
        key,
        "--by",
        "ben",
        "--id",
        str(pid),
        "--price",
        "3500",
        "--payment-options",
        "3x",
    )
    assert res.exit_code == 0, res.output
    (p,) = rows(db, t, "select * from core.products")
    assert p["price"] == Decimal("3500.00") and p["product_type"] == "course"
    assert p["payment_options"] == "3x"
    logs = rows(
        db,
        t,
        "select context from core.system_logs where module = 'growthops.core.tenants' order by id",
    )
    assert [x["context"]["by"] for x in logs] == ["ana", "ben"]
    assert logs[1]["context"]["before"] == {"price": "2997.00", "payment_options": None}
    res = run(
        "tenants",
        "products",
        "set",
        "--tenant",
        key,
        "--by",
        "ben",
        "--id",
        str(pid),
        "--payment-options",
        "none",
    )
    assert (
        res.exit_code == 0
        and rows(db, t, "select payment_options from core.products")[0]["payment_options"] is None
    )
    # Errors name the option; nothing is written.
    bad = run(
        "tenants",
        "products",
        "set",
        "--tenant",
        key,
        "--by",
        "ben",
        "--id",
        str(pid),
        "--price",
        "-1",
    )
    assert bad.exit_code != 0 and "price" in said(bad)
    bad = run("tenants", "products", "set", "--tenant", key, "--by", "ben", "--type", "course")
    assert bad.exit_code != 0 and "--name" in said(bad)
    bad = run(
        "tenants",
        "products",
        "set",
        "--tenant",
        other.client_key,
        "--by",
        "ben",
        "--id",
        str(pid),
        "--price",
        "1",
    )
    assert bad.exit_code != 0 and f"no product {pid}" in said(bad)
    assert (
        len(rows(db, t, "select 1 from core.system_logs where module = 'growthops.core.tenants'"))
        == 3
    )
    res = run("tenants", "products", "list", "--tenant", key)
    assert res.exit_code == 0 and "Bootcamp" in res.output and "3500.00" in res.output

    # Funnels: stages, benchmarks (fractions or percentages), product, campaigns.
    res = run(
        "tenants",
        "funnels",
        "set",
        "--tenant",
        key,
        "--by",
        "ana",
        "--name",
        "Webinar",
        "--type",
        "webinar",
        "--stage",
        "Lead",
        "--stage",
        "Webinar",
        "--stage",
        "Application",
        "--benchmark",
        "lead_to_webinar=40%",
        "--benchmark",
        "webinar_to_application=0.2",
        "--product-id",
        str(pid),
        "--campaign-id",
        "c-1,c-2",
        "--campaign-id",
        "c-1",
    )
    assert res.exit_code == 0, res.output
    (f,) = rows(db, t, "select * from core.funnels")
    assert f["stages"] == ["Lead", "Webinar", "Application"] and f["product_id"] == pid
    assert f["conversion_benchmarks"] == {"lead_to_webinar": 0.4, "webinar_to_application": 0.2}
    assert f["campaign_ids"] == ["c-1", "c-2"]
    fid = str(f["funnel_id"])
    res = run(
        "tenants",
        "funnels",
        "set",
        "--tenant",
        key,
        "--by",
        "ben",
        "--id",
        fid,
        "--campaign-id",
        "none",
        "--name",
        "Webinar FR",
    )
    assert res.exit_code == 0, res.output
    (f,) = rows(db, t, "select * from core.funnels")
    assert f["campaign_ids"] == [] and f["funnel_name"] == "Webinar FR"
    assert f["stages"] == ["Lead", "Webinar", "Application"]  # kept
    bad = run(
        "tenants",
        "funnels",
        "set",
        "--tenant",
        key,
        "--by",
        "ben",
        "--id",
        fid,
        "--benchmark",
        "lead_to_sale=0.2",
    )
    assert bad.exit_code != 0 and "lead_to_sale" in said(bad)
    bad = run(
        "tenants",
        "funnels",
        "set",
        "--tenant",
        key,
        "--by",
        "ben",
        "--id",
        fid,
        "--benchmark",
        "lead_to_webinar",
    )
    assert bad.exit_code != 0 and "--benchmark" in said(bad)
    bad = run(
        "tenants",
        "funnels",
        "set",
        "--tenant",
        key,
        "--by",
        "ben",
        "--id",
        fid,
        "--product-id",
        "999999",
    )
    assert bad.exit_code != 0 and "product_id" in said(bad)
    res = run("tenants", "funnels", "list", "--tenant", key, "--lang", "fr")
    assert res.exit_code == 0 and "Tunnels de" in res.output and "Webinar FR" in res.output
    assert "toutes" in res.output  # no campaign named: all
    assert "no funnel yet" in run("tenants", "funnels", "list", "--tenant", other.client_key).output
