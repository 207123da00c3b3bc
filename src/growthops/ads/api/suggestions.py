"""Routes of suggestions: list, show, history, and decide (approve, refuse, backlog).

Served under ``/api/v1/tenants/{tenant}/suggestions`` and, for the caller's own tenant (an API
key's or a client_viewer's), under ``/api/v1/suggestions``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from starlette.background import BackgroundTask

from growthops.ads.action import decisions
from growthops.ads.models import DecisionIn, DecisionOut, HistoryOut, SuggestionOut, SuggestionPage
from growthops.core.auth.users import PermissionDenied
from growthops.core.errors import NotFound
from growthops.web.background import run_after
from growthops.web.deps import (
    IdPath,
    Scope,
    TenantScope,
    Who,
    acting_key_of,
    actor_of,
    own_router,
    read_in_scope,
    run_in_scope,
    tenant_router,
)
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES

routes = APIRouter(tags=["suggestions"], responses=TENANT_RESPONSES)

Status = Literal[
    "pending",
    "approved",
    "refused",
    "backlog",
    "executing",
    "executed",
    "expired",
    "failed",
    "blocked",
]


#: How long a page read by :func:`list_suggestions` may be served again, its version checked
#: (seconds): a bound far below the 4 billion transactions a version could be reused after
#: (:func:`growthops.ads.action.decisions.suggestion_version_query`).
PAGE_CACHE_SECONDS = 300.0
#: How many pages (tenant, status, limit, offset) this process remembers, least recently
#: used dropped first: 256 pages of 50 suggestions are about 4 MB.
PAGE_CACHE_SIZE = 256


class PageCache:
    """The list's last pages, each with the version it was read at (thread-safe): keyed by the
    app's :class:`~growthops.core.db.Database`, the tenant, the status, limit and offset.

    ``get(key)`` answers ``(version, body)`` of a page read less than ``ttl`` seconds ago, or
    None; ``put(key, version, body)`` remembers one (the ``size`` least recently used kept).
    The cache only saves PostgreSQL the page's JSON: every request still opens the tenant's
    transaction, checks the API key's liveness and reads the current version, and a page is
    sent again only when its version is the current one (issue 16, docs/performance.md §9).
    """

    def __init__(self, size: int = PAGE_CACHE_SIZE, ttl: float = PAGE_CACHE_SECONDS) -> None:
        self.size = size
        self.ttl = ttl
        self._pages: OrderedDict[tuple[Any, ...], tuple[float, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[str, str] | None:
        """The ``(version, body)`` remembered for ``key``, or None (unknown or too old)."""
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry[0] > self.ttl:
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return entry[1], entry[2]

    def put(self, key: tuple[Any, ...], version: str, body: str) -> None:
        """Remember ``body`` as ``key``'s page at ``version``."""
        with self._lock:
            self._pages[key] = (time.monotonic(), version, body)
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._pages.clear()


PAGES = PageCache()


@routes.get("", response_model=SuggestionPage, summary="List suggestions (paginated)")
async def list_suggestions(
    request: Request,
    who: Who,
    status: Annotated[Status | None, Query(description="Filter by status; all if omitted.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SuggestionPage:
    """List the tenant's live suggestions in review order (priority, then confidence).

    The hot read path (issue 16, docs/performance.md §7, §9): PostgreSQL builds the page's
    JSON (:func:`growthops.ads.action.decisions.suggestion_page_query`, the shape of
    :class:`SuggestionPage`) and the route sends that text as the body, without decoding the
    ``jsonb`` columns nor validating and encoding the rows again; the tenant's transaction
    (with the API key's liveness check) is one round trip and one hop to the thread pool
    (:func:`growthops.web.deps.read_in_scope`). A page this process read before (:data:`PAGES`)
    is sent again when the rows' version is still the one it was read at
    (:func:`~growthops.ads.action.decisions.suggestion_version_query`, read in the same
    transaction instead of the page); when it is not, the page is read again in a second
    transaction. ``tests/test_api.py`` checks the body equals what FastAPI's own encoding of
    the validated page gave.
    """
    seen: dict[str, Any] = {}

    def query(tenant_id: UUID) -> list[tuple[str, Any]]:
        # the app's Database too: a page is never taken for another database's (a file-level
        # copy of a database starts with the same ctid/xmin)
        seen["key"] = (request.app.state.db, tenant_id, status, limit, offset)
        seen["known"] = None if "stale" in seen else PAGES.get(seen["key"])
        if seen["known"] is not None:
            return [decisions.suggestion_version_query(tenant_id=tenant_id, status=status)]
        return [decisions.suggestion_page_query(tenant_id=tenant_id, status=status, limit=limit,
                                                offset=offset)]

    ((row,),) = await read_in_scope(request, who, query)
    known = seen["known"]
    if known is not None:
        if row["version"] == known[0]:
            return Response(known[1], media_type="application/json")  # type: ignore[return-value]
        seen["stale"] = True  # changed since: read the page (a second transaction)
        ((row,),) = await read_in_scope(request, who, query)
    PAGES.put(seen["key"], row["version"], row["page"])
    return Response(row["page"], media_type="application/json")  # type: ignore[return-value]


@routes.get(
    "/{suggestion_id}",
    response_model=SuggestionOut,
    summary="Show one suggestion (live or archived)",
)
def get_suggestion(suggestion_id: IdPath, scope: Scope) -> SuggestionOut:
    """Return one suggestion of the tenant; 404 for any other tenant's id."""
    return SuggestionOut.model_validate(
        decisions.get_suggestion(scope.conn, tenant_id=scope.tenant_id, suggestion_id=suggestion_id)
    )


@routes.get(
    "/{suggestion_id}/history",
    response_model=HistoryOut,
    summary="Who decided, why, and what happened",
)
def suggestion_history(suggestion_id: IdPath, scope: Scope) -> HistoryOut:
    """Return the suggestion with its decisions, executions, hypothesis and audit entries."""
    rows = decisions.history(scope.conn, tenant_id=scope.tenant_id, suggestion_id=suggestion_id)
    if not rows:
        raise NotFound(f"no suggestion {suggestion_id} for this tenant")
    return HistoryOut.model_validate(rows[0])


@routes.post(
    "/{suggestion_id}/decision",
    response_model=DecisionOut,
    status_code=201,
    responses={**BODY, **FORBIDDEN, **CONFLICT},
    summary="Approve, refuse or backlog",
)
async def decide(suggestion_id: IdPath, body: DecisionIn, request: Request, who: Who
                 ) -> DecisionOut:
    """Record a decision (channel ``api``); 403 for a client_viewer; 409 when expired or
    already decided. A logged-in user decides as itself; an API key decides as itself
    (``apikey:<name>#<id>``), or names ``decided_by`` when it was created to act for people.
    An approval is then executed on the ad account (within the guard rails) after the response,
    when the tenant has an account on the suggestion's platform.

    The decision's one statement (:func:`growthops.ads.action.decisions.decide_json_query`, a
    call of ``ads.decide_suggestion`` that binds its own transaction to the tenant and answers
    the response's JSON, written by PostgreSQL) is sent alone on
    an autocommit connection: one statement, one round trip, in one hop to the thread pool
    (:func:`growthops.web.deps.read_in_scope` with ``binds_tenant``, docs/performance.md §11). With
    an API key the statement decides only while the key is live (``live_key``) and records the
    key's use, so no separate liveness statement is sent (``key_checked``): a key revoked
    behind this process's cache makes the statement match nothing, and why (401, 404, 409) is
    read in a second transaction (:func:`growthops.web.deps.run_in_scope`, which checks the
    key first). The execution runs on the app's own after-response threads
    (:func:`growthops.web.background.run_after`), not the request's pool, and only when there
    is an account to execute on (issue 16, docs/performance.md §7, §9).
    """
    sent: dict[str, Any] = {}

    def statement(tenant_id: UUID) -> list[tuple[str, Any]]:
        # after the tenant's resolution (404), before the transaction opens: 403, 422
        if not who.can_decide:  # TenantScope.require_decide
            raise PermissionDenied(f"a {who.user.role if who.user else 'principal'} "
                                   "can read this tenant but cannot change it")
        key = acting_key_of(who)
        sql, sent["params"] = decisions.decide_json_query(
            tenant_id=tenant_id, suggestion_id=suggestion_id, decision=body.decision,
            decided_by=actor_of(who, body.decided_by, "decided_by"), notes=body.notes,
            channel="api", api_key=key, live_key=key[0] if key else None)
        return [(sql, sent["params"])]

    (found,) = await read_in_scope(request, who, statement, key_checked=True, binds_tenant=True)
    if not found:
        def refusal(scope: TenantScope) -> dict[str, Any]:
            return decisions.decided(scope.conn, None, sent["params"])  # raises 401 / 404 / 409

        await run_in_scope(request, who, refusal)
        raise RuntimeError("unreachable: a decision that matched nothing is always explained")
    row = found[0]
    task = None
    if body.decision == "approved" and row["has_ad_account"]:
        from growthops.ads.action.execution import execute_after_approval

        task = BackgroundTask(run_after, request.app, execute_after_approval,
                              request.app.state.db, tenant_id=row["tenant_id"],
                              suggestion_id=suggestion_id, actor=row["decided_by"])
    # DecisionOut's JSON, written by PostgreSQL (decide_json_query)
    return Response(row["decision"], status_code=201, media_type="application/json",  # type: ignore[return-value]
                    background=task)


router = tenant_router(routes, "/suggestions")
short_router = own_router(routes, "/suggestions")
