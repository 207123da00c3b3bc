"""Route changing a tenant's per-platform targets and guard rails without SQL:
``PATCH /api/v1/tenants/{tenant}/platform-configs/{platform}``.

The same validation and write as ``growthops config set``
(:func:`growthops.ads.cli.config.validate_settings`: every value checked against its column's
check constraint and precision, all problems reported at once naming the field; then
:func:`growthops.ads.cli.config.update_platform_config`: upsert, row lock, audit entry
``platform_config.updated`` with before and after). ``null`` clears a nullable target
(``target_roas``, ``max_cpa``: the tenant-level fallback applies). 403 for a read-only
principal, 422 for a bad value, an unknown platform or an empty change.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from growthops.web.deps import Scope, actor, tenant_router
from growthops.web.errors import BODY, FORBIDDEN, TENANT_RESPONSES
from growthops.web.models import Name, Out, StrictIn

routes = APIRouter(tags=["settings"], responses=TENANT_RESPONSES)
#: JSON numbers or decimal strings; validated as text by validate_settings (exact, no float math).
Number = int | float | str
Platform = Literal["meta", "google", "display", "tiktok", "linkedin", "other"]


class PlatformConfigIn(StrictIn):
    """Settings to change (only those given); amounts in the tenant's currency, percents 0–100."""

    target_roas: Number | None = Field(default=None, description="Target ROAS (> 0); null clears.")
    max_cpa: Number | None = Field(default=None, description="Maximum cost per result; null clears.")
    min_daily_budget: Number | None = None
    max_change_pct: Number | None = None
    max_change_pct_24h: Number | None = None
    fdr_q: Number | None = None
    min_auto_apply_confidence: Number | None = None
    result_metric: Literal["conversions", "leads", "applications", "bookings"] | None = None
    allocation_cadence: Literal["off", "daily", "weekly", "monthly"] | None = Field(
        default=None, description="How often the worker allocates the budgets (default weekly).")
    auto_apply_recommendations: bool | None = None
    dry_run: bool | None = None
    validate_only: bool | None = None
    allow_learning_edits: bool | None = None
    recommendations_enabled: bool | None = None
    anomaly_detection_enabled: bool | None = None
    protect: list[Name] = Field(default_factory=list, max_length=500)
    unprotect: list[Name] = Field(default_factory=list, max_length=500)
    by: Name | None = None


class PlatformConfigOut(Out):
    """The settings before and after (``after`` is null when nothing changed)."""

    platform: str
    before: dict[str, Any]
    after: dict[str, Any] | None
    created: bool


@routes.patch("/{platform}", response_model=PlatformConfigOut,
              responses={**BODY, **FORBIDDEN},
              summary="Change a platform's targets and guard rails")
def update_platform_config(platform: Platform, body: PlatformConfigIn,
                           scope: Scope) -> PlatformConfigOut:
    """Validate then apply the given settings (audited)."""
    from growthops.ads.cli import config

    scope.require_decide()
    given = body.model_dump(exclude_unset=True)
    numbers = {s.column: ("none" if given[s.column] is None else str(given[s.column]))
               for s in config.NUMBERS if s.column in given}
    flags = {k: v for k, v in given.items() if isinstance(v, bool)}
    changes, protect, unprotect = config.validate_settings(
        numbers, flags, result_metric=given.get("result_metric"),
        allocation_cadence=given.get("allocation_cadence"), protect=body.protect,
        unprotect=body.unprotect)
    before, after, created = config.update_platform_config(
        scope.conn, tenant_id=scope.tenant_id, platform=platform, changes=changes,
        protect=protect, unprotect=unprotect, by=actor(scope, body.by, "by"))
    return PlatformConfigOut(platform=platform, before=before, after=after, created=created)


router = tenant_router(routes, "/platform-configs")
