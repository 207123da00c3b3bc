"""The inbox AI's learning API under ``/api/v1/tenants/{tenant}/inbox/``: topics
(``topics``, ``topics/run``) and the suggested FAQ entries (``kb/faq/suggestions``,
``kb/faq/{faq_id}/approve|reject``).

Reads: any principal who may see the tenant. Running the clustering and approving or rejecting
a suggestion: API keys and the agency's staff (``require_decide``); approvals are audited
(:mod:`growthops.inbox.ai.audit`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from growthops.inbox.ai import audit, faq_miner, topics
from growthops.inbox.ai.models import SuggestionOut, TopicOut, TopicsRunIn, TopicsRunOut
from growthops.web.deps import IdPath, Scope
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES

routes = APIRouter(tags=["inbox AI"], responses=TENANT_RESPONSES)


@routes.get("/topics", response_model=list[TopicOut], summary="Topics customers write about")
def list_topics(
    scope: Scope,
    post_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[TopicOut]:
    """The stored topics (the weekly job's, or the last run's), largest first: the tenant's
    messages, or one monitored post's comments (``post_id``)."""
    rows = topics.list_topics(scope.conn, tenant_id=scope.tenant_id,
                              scope="post" if post_id else "global", scope_ref=post_id)
    return [TopicOut.model_validate(r) for r in rows]


@routes.post("/topics/run", response_model=TopicsRunOut,
             responses={**BODY, **FORBIDDEN, **CONFLICT},
             summary="Find the topics now")
def run_topics(body: TopicsRunIn, scope: Scope, request: Request) -> TopicsRunOut:
    """Cluster the messages (or a post's comments) now, replacing the stored topics of that
    scope (404 for another tenant's post; 409 when the tenant's embedding model is MiniLM and the
    ``[ml]`` extra is not installed)."""
    scope.require_decide()
    out = topics.run_topics(request.app.state.db, tenant_id=scope.tenant_id,
                            scope="post" if body.post_id else "global", scope_ref=body.post_id,
                            days=body.days)
    return TopicsRunOut.model_validate(out)


@routes.get("/kb/faq/suggestions", response_model=list[SuggestionOut],
            summary="Suggested FAQ entries")
def list_suggestions(
    scope: Scope,
    status: Annotated[Literal["pending", "approved", "rejected"], Query()] = "pending",
) -> list[SuggestionOut]:
    """FAQ entries mined from people's answers, most supported first."""
    return [SuggestionOut.model_validate(r) for r in faq_miner.list_suggestions(
        scope.conn, tenant_id=scope.tenant_id, status=status)]


def _decide(faq_id: int, scope: Scope, approve: bool) -> SuggestionOut:
    scope.require_decide()
    (faq_miner.approve if approve else faq_miner.reject)(
        scope.conn, tenant_id=scope.tenant_id, faq_id=faq_id, by=scope.who.actor)
    audit.record(scope.conn, tenant_id=scope.tenant_id, by=scope.who.actor,
                 what="faq approved" if approve else "faq rejected", after={"faq_id": faq_id})
    status = "approved" if approve else "rejected"
    row = next(r for r in faq_miner.list_suggestions(scope.conn, tenant_id=scope.tenant_id,
                                                     status=status, limit=100_000)
               if r["faq_id"] == faq_id)
    return SuggestionOut.model_validate(row)


@routes.post("/kb/faq/{faq_id}/approve", response_model=SuggestionOut,
             responses={**FORBIDDEN}, summary="Approve a suggested FAQ entry")
def approve(faq_id: IdPath, scope: Scope) -> SuggestionOut:
    """The AI answers from it from now on (409 for an entry that is not a suggestion)."""
    return _decide(faq_id, scope, True)


@routes.post("/kb/faq/{faq_id}/reject", response_model=SuggestionOut,
             responses={**FORBIDDEN}, summary="Reject a suggested FAQ entry")
def reject(faq_id: IdPath, scope: Scope) -> SuggestionOut:
    """Kept disabled, and not suggested again."""
    return _decide(faq_id, scope, False)
