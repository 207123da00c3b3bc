"""The tenant's Airtable mirror over the API: ``GET``, ``PUT`` and ``DELETE``
``/api/v1/tenants/{tenant}/airtable`` (:mod:`growthops.ads.airtable.mirror`, ``docs/airtable.md``).

The token is write-only: ``PUT`` takes it (stored Fernet-encrypted), no answer carries it
(``has_token``). ``endpoint_url`` is not settable here: the server would send the token to that
URL at every sync, so only an operator sets it (``growthops ads airtable configure
--endpoint-url``); ``PUT`` keeps the stored one. 403 for a read-only principal on ``PUT`` and
``DELETE``; ``GET`` answers ``configured: false`` when the tenant has no mirror, ``DELETE`` 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field, StringConstraints

from growthops.web.deps import Scope, actor, tenant_router
from growthops.web.errors import BODY, FORBIDDEN, NOT_FOUND, TENANT_RESPONSES
from growthops.web.models import Name, Out, StrictIn

routes = APIRouter(tags=["settings"], responses=TENANT_RESPONSES)
Kind = Literal["clients", "suggestions", "decisions", "winning_patterns", "ads_library"]
BaseId = Annotated[str, StringConstraints(pattern=r"^app[A-Za-z0-9]{14}$")]
Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class AirtableMirrorIn(StrictIn):
    """The mirror's settings; ``token`` is required the first time and kept when omitted."""

    base_id: BaseId = Field(description="Airtable base id: 'app' and 14 letters or digits.")
    token: Token | None = Field(default=None, description="Personal access token (write-only).")
    table_names: dict[Kind, Name] = Field(
        default_factory=dict, description="Airtable table of a kind; default the kind's name."
    )
    enabled: bool = True
    by: Name | None = None


class AirtableRunOut(Out):
    """The last sync: counts of records and fields, calls, status."""

    run_id: int
    trigger: str
    status: str
    created: int
    updated: int
    unchanged: int
    deleted: int
    pulled: int
    conflicts: int
    rejected: int
    api_calls: int
    retries: int
    error_message: str | None
    started_at: datetime
    finished_at: datetime | None


class AirtableMirrorOut(Out):
    """The mirror (never the token) with its mirrored record counts per kind and last sync.

    ``configured`` is False when the tenant has no mirror (the optional integration is off):
    then every other field is empty (null, ``{}`` or False)."""

    configured: bool = True
    base_id: str | None
    endpoint_url: str | None
    table_names: dict[str, str]
    enabled: bool
    has_token: bool
    updated_by: str | None
    created_at: datetime | None
    updated_at: datetime | None
    last_synced_at: datetime | None
    records: dict[str, int]
    last_run: AirtableRunOut | None


#: What ``GET`` answers for a tenant without a mirror.
NOT_CONFIGURED: dict[str, Any] = {
    "configured": False, "base_id": None, "endpoint_url": None, "table_names": {},
    "enabled": False, "has_token": False, "updated_by": None, "created_at": None,
    "updated_at": None, "last_synced_at": None, "records": {}, "last_run": None,
}


class AirtableRemovedOut(Out):
    """``removed`` is True: the mirror and its record map are gone (the base is untouched)."""

    removed: bool


def _out(conn: Any, tenant_id: Any) -> AirtableMirrorOut:
    from growthops.ads.airtable.mirror import show

    return AirtableMirrorOut.model_validate(show(conn, tenant_id=tenant_id))


@routes.get(
    "",
    response_model=AirtableMirrorOut,
    summary="The tenant's Airtable mirror",
)
def get_airtable(scope: Scope) -> AirtableMirrorOut:
    """Return the mirror's settings, record counts and last sync; ``configured`` False (200)
    when the tenant has none, as for any optional integration that is off."""
    from growthops.core.errors import NotFound

    try:
        return _out(scope.conn, scope.tenant_id)
    except NotFound:
        return AirtableMirrorOut.model_validate(NOT_CONFIGURED)


@routes.put(
    "",
    response_model=AirtableMirrorOut,
    responses={**BODY, **FORBIDDEN},
    summary="Create or change the tenant's Airtable mirror",
)
def put_airtable(body: AirtableMirrorIn, scope: Scope) -> AirtableMirrorOut:
    """Store the mirror's settings (token encrypted); the next sync uses them."""
    from growthops.ads.airtable.mirror import configure

    scope.require_decide()
    row = scope.conn.execute(
        "select endpoint_url from ads.airtable_mirrors where tenant_id = %s", [scope.tenant_id]
    ).fetchone()
    configure(
        scope.conn,
        tenant_id=scope.tenant_id,
        base_id=body.base_id,
        token=body.token,
        endpoint_url=row["endpoint_url"] if row else None,
        table_names={str(k): v for k, v in body.table_names.items()},
        enabled=body.enabled,
        by=actor(scope, body.by, "by"),
    )
    return _out(scope.conn, scope.tenant_id)


@routes.delete(
    "",
    response_model=AirtableRemovedOut,
    responses={**NOT_FOUND, **FORBIDDEN},
    summary="Remove the tenant's Airtable mirror",
)
def delete_airtable(scope: Scope) -> AirtableRemovedOut:
    """Remove the mirror and its record map (404 when none); runs are kept."""
    from growthops.ads.airtable.mirror import remove
    from growthops.core.errors import NotFound

    scope.require_decide()
    if not remove(scope.conn, tenant_id=scope.tenant_id):
        raise NotFound("this tenant has no Airtable mirror")
    return AirtableRemovedOut(removed=True)


router = tenant_router(routes, "/airtable")
