"""Route changing an anomaly's status: ``POST /api/v1/tenants/{tenant}/anomalies/{id}/status``.

Investigate, resolve, dismiss or reopen through
:func:`growthops.ads.analysis.triage.set_anomaly_status` (transitions, who and why, audit).
403 for a read-only principal, 404 for another tenant's id, 409 for a transition not allowed,
422 for a bad body. Asking for the current status again answers 200 with ``changed`` false.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from growthops.ads.analysis.triage import set_anomaly_status
from growthops.web.deps import IdPath, Scope, actor, tenant_router
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES
from growthops.web.models import Name, Notes, Out, StrictIn

routes = APIRouter(tags=["anomalies"], responses=TENANT_RESPONSES)


class AnomalyStatusIn(StrictIn):
    """The new status of an anomaly, who sets it and why."""

    status: Literal["investigating", "resolved", "dismissed", "active"]
    note: Notes | None = Field(default=None, description="Why (kept with the anomaly).")
    by: Name | None = Field(
        default=None,
        description="Who (required with an API key created to act for people; a logged-in "
        "user and any other key act as themselves).")


class AnomalyStatusOut(Out):
    """The anomaly after the change; ``changed`` is false when it already had that status."""

    anomaly_id: int
    as_of: date
    platform: str
    entity_id: str
    metric: str
    status: str
    status_note: str | None
    status_by: str | None
    status_changed_at: datetime | None
    resolved_at: datetime | None
    changed: bool


@routes.post("/{anomaly_id}/status", response_model=AnomalyStatusOut,
             responses={**BODY, **FORBIDDEN, **CONFLICT},
             summary="Investigate, resolve, dismiss or reopen an anomaly")
def change_status(anomaly_id: IdPath, body: AnomalyStatusIn, scope: Scope) -> AnomalyStatusOut:
    """Change the anomaly's status (kept, never deleted); the change is audited."""
    scope.require_decide()
    row, changed = set_anomaly_status(scope.conn, tenant_id=scope.tenant_id,
                                      anomaly_id=anomaly_id, status=body.status,
                                      by=actor(scope, body.by, "by"), note=body.note)
    return AnomalyStatusOut.model_validate({**row, "changed": changed})


router = tenant_router(routes, "/anomalies")
