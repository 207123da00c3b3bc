"""A tenant's products and funnels (core.tenants.catalog): validation naming the field, changes
audited with before and after, nothing written when nothing changes, another tenant's rows
unreachable."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from growthops.core.errors import InvalidInput, NotFound
from growthops.core.tenants.catalog import FunnelIn, ProductIn, save_funnel, save_product
from tests.conftest import new_tenant


def test_products_and_funnels_are_validated_audited_and_tenant_bound(db) -> None:
    a, b = new_tenant(db), new_tenant(db)
    with pytest.raises(ValidationError) as err:
        ProductIn.model_validate({"product_name": "X", "price": "1.234", "status": "gone"})
    assert {e["loc"][0] for e in err.value.errors()} == {"price", "status"}
    with pytest.raises(ValidationError) as err:
        FunnelIn.model_validate({"funnel_name": "F", "stages": ["Lead", "Sale"],
                                 "conversion_benchmarks": {"lead_to_call": "0.2"}})
    assert err.value.errors()[0]["type"] == "benchmark_keys"
    product = ProductIn.model_validate({"product_name": "Bootcamp", "price": "2997"})
    with db.tenant_tx(a.tenant_id) as conn:
        before, after, pid = save_product(conn, tenant_id=a.tenant_id, product_id=None,
                                          product=product, by="alice")
        assert before == {} and after["price"] == Decimal("2997")
        # the same values again: nothing changes, nothing is logged
        assert save_product(conn, tenant_id=a.tenant_id, product_id=pid, product=product,
                            by="alice") == ({}, {}, pid)
        funnel = FunnelIn.model_validate({"funnel_name": "Webinar", "stages": ["Lead", "Webinar"],
                                          "conversion_benchmarks": {"lead_to_webinar": "0.35"},
                                          "product_id": pid})
        _, _, fid = save_funnel(conn, tenant_id=a.tenant_id, funnel_id=None, funnel=funnel,
                                by="alice")
        with pytest.raises(InvalidInput, match="by"):
            save_product(conn, tenant_id=a.tenant_id, product_id=pid, product=product, by=" ")
        logs = conn.execute("select message, context from core.system_logs where tenant_id = %s "
                            "and module = 'growthops.core.tenants' order by id",
                            [a.tenant_id]).fetchall()
    assert [x["message"] for x in logs] == [f"product {pid} added by alice: payment_options, "
                                            "price, product_name, product_type, status",
                                            f"funnel {fid} added by alice: campaign_ids, conversion_benchmarks, "
                                            "funnel_name, funnel_type, product_id, stages"]
    assert logs[1]["context"]["after"]["conversion_benchmarks"] == {"lead_to_webinar": "0.35"}
    with db.tenant_tx(b.tenant_id) as conn:
        with pytest.raises(NotFound):  # a's product through b's transaction
            save_product(conn, tenant_id=b.tenant_id, product_id=pid, product=product, by="eve")
        with pytest.raises(InvalidInput, match="product_id"):
            save_funnel(conn, tenant_id=b.tenant_id, funnel_id=None, funnel=funnel, by="eve")
        assert conn.execute("select count(*) as n from core.funnels").fetchone()["n"] == 0
