"""Creative and audience tests over HTTP: ``/api/v1/tenants/{tenant}/ab-tests``.

``GET`` lists (newest first) and reads one test with its plan, looks and statistics;
``POST`` creates a test (its plan fixed now), ``POST /{id}/launch`` asks for the launch's
approval (a suggestion: nothing changes on the platform before it is approved),
``POST /{id}/close`` applies the decision rule (``force``: analyse now), ``POST /{id}/cancel``.
403 for a read-only principal, 404 for another tenant's test, 409 for a state that does not
allow it, 422 for a bad body (naming the field).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from growthops.ads.experiments import plan
from growthops.ads.experiments.closing import look
from growthops.web.deps import IdPath, Scope, actor, tenant_router
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES
from growthops.web.models import Name, Out, StrictIn

routes = APIRouter(tags=["ab-tests"], responses=TENANT_RESPONSES)
EntityId = Field(min_length=1, max_length=200)


class AbTestIn(StrictIn):
    """A new test: everything that decides it is fixed here, before any data is seen."""

    test_name: Name
    hypothesis: str = Field(min_length=1, max_length=2000)
    platform: Literal["meta", "google", "display", "tiktok", "linkedin", "other"] = "meta"
    level: Literal["ad", "adset"] = "ad"
    variant_a: str = EntityId
    variant_b: str | None = Field(default=None, min_length=1, max_length=200)
    change: dict[str, str | float | int | dict[str, Any]] = Field(
        default_factory=dict, description="The one field variant B changes, e.g. {\"creative\": "
        "{\"creative_id\": \"123\"}}; empty with variant_b.")
    primary_metric: Literal["ctr", "cvr", "cpa", "roas"]
    mde_rel: float = Field(gt=0, lt=10, description="Minimum detectable effect, relative (0.1 = 10 %).")
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    power: float = Field(default=0.8, ge=0.5, lt=1)
    rule: Literal["fixed_horizon", "msprt"] = "fixed_horizon"
    baseline_value: float | None = Field(default=None, gt=0)
    min_days: int = Field(default=7, ge=1, le=90)
    max_days: int = Field(default=28, ge=1, le=180)
    test_type: Literal["creative", "audience", "bidding"] = "creative"
    angle: Literal["fear", "desire", "logic", "social_proof", "urgency", "education"] | None = None
    hook: str | None = Field(default=None, max_length=2000)
    asset_type: Literal["image", "video", "carousel", "banner", "text"] | None = None
    by: Name | None = None


class ByIn(StrictIn):
    """Who acts (required with an API key created to act for people)."""

    by: Name | None = None


class CloseIn(StrictIn):
    """Close a running test: when its rule is met, or now with ``force``."""

    by: Name | None = None
    force: bool = False
    as_of: date | None = None


class AbTestOut(Out):
    """A test: plan, state, arms, looks and (once closed) result."""

    test_id: int
    test_name: str
    test_type: str
    hypothesis: str
    platform: str
    level: str
    variant_a: str
    variant_b: str | None
    change: dict[str, Any]
    angle: str | None
    primary_metric: str
    baseline_value: float | None
    mde_rel: float
    alpha: float
    power: float
    planned_sample_per_arm: int
    sample_unit: str
    decision_rule: dict[str, Any]
    status: str
    suggestion_id: int | None
    start_date: date | None
    end_date: date | None
    performance_a: dict[str, Any] | None
    performance_b: dict[str, Any] | None
    looks: list[dict[str, Any]]
    winner: str | None
    statistical_significance: float | None
    result_status: str | None
    result: dict[str, Any] | None
    created_by: str
    closed_by: str | None
    created_at: datetime


class LaunchOut(Out):
    """The suggestion a person approves to launch the test."""

    test_id: int
    suggestion_id: int


@routes.get("", response_model=list[AbTestOut], summary="List the tenant's tests")
def list_tests(scope: Scope, status: Literal["draft", "pending_approval", "running", "completed",
                                              "cancelled"] | None = Query(default=None)
               ) -> list[AbTestOut]:
    """Return the tenant's tests, newest first (at most 100)."""
    return [AbTestOut.model_validate(r)
            for r in plan.list_tests(scope.conn, tenant_id=scope.tenant_id, status=status)]


@routes.get("/{test_id}", response_model=AbTestOut, summary="Read one test")
def get_test(test_id: IdPath, scope: Scope) -> AbTestOut:
    """Return one test with its plan, looks and statistics."""
    return AbTestOut.model_validate(plan.get_test(scope.conn, tenant_id=scope.tenant_id,
                                                  test_id=test_id))


@routes.post("", response_model=AbTestOut, status_code=201, responses={**BODY, **FORBIDDEN},
             summary="Create a test (its plan is fixed now)")
def create(body: AbTestIn, scope: Scope) -> AbTestOut:
    """Create a draft test; the planned sample per arm follows from the minimum detectable effect."""
    scope.require_decide()
    data = body.model_dump(exclude={"by"})
    row = plan.create_test(scope.conn, tenant_id=scope.tenant_id,
                           created_by=actor(scope, body.by, "by"), **data)
    return AbTestOut.model_validate(row)


@routes.post("/{test_id}/launch", response_model=LaunchOut, responses={**BODY, **FORBIDDEN, **CONFLICT},
             summary="Ask for the launch's approval")
def launch(test_id: IdPath, body: ByIn, scope: Scope) -> LaunchOut:
    """Create the launch suggestion; approving it creates variant B (paused, then activated)."""
    scope.require_decide()
    return LaunchOut.model_validate(plan.request_launch(
        scope.conn, tenant_id=scope.tenant_id, test_id=test_id, actor=actor(scope, body.by, "by")))


@routes.post("/{test_id}/close", response_model=AbTestOut, responses={**BODY, **FORBIDDEN, **CONFLICT},
             summary="Close a running test")
def close(test_id: IdPath, body: CloseIn, scope: Scope) -> AbTestOut:
    """Look at the test; it closes when its decision rule is met, or now with ``force``."""
    scope.require_decide()
    look(scope.conn, tenant_id=scope.tenant_id, test_id=test_id, as_of=body.as_of,
         actor=actor(scope, body.by, "by"), final=body.force)
    return AbTestOut.model_validate(plan.get_test(scope.conn, tenant_id=scope.tenant_id,
                                                  test_id=test_id))


@routes.post("/{test_id}/cancel", response_model=AbTestOut, responses={**BODY, **FORBIDDEN, **CONFLICT},
             summary="Cancel a test")
def cancel(test_id: IdPath, body: ByIn, scope: Scope) -> AbTestOut:
    """Cancel a test that is not completed (kept)."""
    scope.require_decide()
    return AbTestOut.model_validate(plan.cancel_test(
        scope.conn, tenant_id=scope.tenant_id, test_id=test_id, actor=actor(scope, body.by, "by")))


router = tenant_router(routes, "/ab-tests")
