"""What the daily cycle needs to know about a tenant: targets, result metric, budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

RESULT_COLUMNS = ("conversions", "leads", "applications", "bookings")
#: Platforms ``ads.metrics_daily`` accepts (migration 0002); only these reach generated SQL.
PLATFORMS = ("meta", "google", "display", "tiktok", "linkedin", "other")


@dataclass(frozen=True)
class PlatformConfig:
    """One platform's settings for a tenant (seed 004 ``platform_configs``), with defaults.

    ``target_roas`` is a ratio (conversion value / spend); ``max_cpa`` and ``min_daily_budget``
    are in the tenant's currency; ``max_change_pct`` is percent 0–100; ``fdr_q`` a fraction.
    """

    platform: str
    result_metric: str = "conversions"
    target_roas: float | None = None
    max_cpa: float | None = None
    min_daily_budget: float = 1.0
    max_change_pct: float = 20.0
    recommendations_enabled: bool = True
    anomaly_detection_enabled: bool = True
    auto_apply_recommendations: bool = False
    fdr_q: float = 0.05


@dataclass(frozen=True)
class TenantContext:
    """The tenant fields and platform configs one cycle run uses.

    ``value_per_result`` is the fallback value of one result when the platform reports no
    conversion value (seed 000 ``ticket_price``), in the tenant's currency.
    """

    tenant_id: UUID
    client_key: str
    client_name: str
    currency: str
    time_zone: str
    roi_target: float
    monthly_budget_max: float | None
    ticket_price: float | None
    platforms: dict[str, PlatformConfig]

    def config(self, platform: str) -> PlatformConfig:
        """Return the platform's config, or the defaults."""
        return self.platforms.get(platform) or PlatformConfig(platform=platform)

    def target_roas(self, platform: str) -> float:
        """Target ROAS for ``platform``: its config's, else the tenant's ``roi_target``."""
        cfg = self.config(platform)
        return float(cfg.target_roas) if cfg.target_roas else self.roi_target

    def target_cpa(self, platform: str, value_per_result: float | None) -> float | None:
        """Target CPA: ``max_cpa`` if set, else value per result / target ROAS, else None."""
        cfg = self.config(platform)
        if cfg.max_cpa:
            return float(cfg.max_cpa)
        v = value_per_result or self.ticket_price
        return float(v) / self.target_roas(platform) if v else None

    def result_sql(self, alias: str = "m") -> str:
        """SQL expression of the result count per row, by platform (whitelisted platforms and
        columns only: the names are written into the SQL text)."""
        cases = [
            f"when '{p}' then {alias}.{c.result_metric}"
            for p, c in sorted(self.platforms.items())
            if p in PLATFORMS and c.result_metric in RESULT_COLUMNS and c.result_metric != "conversions"
        ]
        if not cases:
            return f"{alias}.conversions"
        return f"(case {alias}.platform {' '.join(cases)} else {alias}.conversions end)"


def load_context(conn: Any, *, tenant_id: UUID) -> TenantContext:
    """Read the tenant and its platform configs (one query each) inside a tenant transaction."""
    t = conn.execute(
        """select tenant_id, client_key, client_name, currency, time_zone, roi_target,
                  monthly_budget_max, ticket_price from core.tenants where tenant_id = %s""",
        [tenant_id],
    ).fetchone()
    if t is None:
        from growthops.core.errors import NotFound

        raise NotFound(f"no tenant {tenant_id}")
    rows = conn.execute("select * from ads.platform_configs where tenant_id = %s", [tenant_id]).fetchall()
    platforms = {
        r["platform"]: PlatformConfig(
            platform=r["platform"],
            result_metric=r["result_metric"],
            target_roas=float(r["target_roas"]) if r["target_roas"] is not None else None,
            max_cpa=float(r["max_cpa"]) if r["max_cpa"] is not None else None,
            min_daily_budget=float(r["min_daily_budget"]),
            max_change_pct=float(r["max_change_pct"]),
            recommendations_enabled=r["recommendations_enabled"],
            anomaly_detection_enabled=r["anomaly_detection_enabled"],
            auto_apply_recommendations=r["auto_apply_recommendations"],
            fdr_q=float(r["fdr_q"]),
        )
        for r in rows
    }
    return TenantContext(
        tenant_id=t["tenant_id"],
        client_key=t["client_key"],
        client_name=t["client_name"],
        currency=t["currency"].strip(),
        time_zone=t["time_zone"],
        roi_target=float(t["roi_target"]),
        monthly_budget_max=float(t["monthly_budget_max"]) if t["monthly_budget_max"] is not None else None,
        ticket_price=float(t["ticket_price"]) if t["ticket_price"] is not None else None,
        platforms=platforms,
    )
