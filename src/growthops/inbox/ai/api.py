"""The inbox AI API under ``/api/v1/tenants/{tenant}/inbox/``: knowledge base (``kb/...``),
AI settings and rules, labelled examples, calibration and decisions (``ai/...``).

Reads: any principal who may see the tenant. Changing the knowledge base, settings, rules,
examples or the calibration: API keys and the agency's staff (``require_decide``); labelling a
decision: whoever may answer the inbox (support agents too). Uploaded documents are indexed by
the job ``inbox.kb_index`` (every minute; ``growthops inbox kb add`` indexes at once): the answer
is 202 with the document ``processing``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from growthops.core.auth.users import PermissionDenied
from growthops.core.errors import InvalidInput
from growthops.inbox.ai import calibrate, config, decisions, kb
from growthops.inbox.ai.models import (
    CalibrationOut,
    DecisionOut,
    DocumentAccepted,
    DocumentIn,
    DocumentOut,
    ExamplesIn,
    FaqIn,
    FaqOut,
    HitOut,
    LabelIn,
    RulesIn,
    RulesOut,
    SettingsIn,
    SettingsOut,
)
from growthops.web.deps import IdPath, Scope, actor
from growthops.web.errors import BODY, FORBIDDEN, TENANT_RESPONSES
from growthops.web.models import Page

routes = APIRouter(tags=["inbox AI"], responses=TENANT_RESPONSES)


@routes.get("/kb/documents", response_model=list[DocumentOut], summary="Knowledge-base documents")
def list_documents(scope: Scope) -> list[DocumentOut]:
    """The tenant's documents with their ingestion status (processing, indexed, failed + reason)."""
    return [DocumentOut.model_validate(r)
            for r in kb.list_documents(scope.conn, tenant_id=scope.tenant_id)]


@routes.post("/kb/documents", response_model=DocumentAccepted, status_code=202,
             responses={**BODY, **FORBIDDEN}, summary="Upload a document (txt, md, html, pdf)")
def add_document(body: DocumentIn, scope: Scope) -> DocumentAccepted:
    """Store the document for indexing (status ``processing``); the same bytes twice are one
    document (``created`` false)."""
    scope.require_decide()
    try:
        data = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("content_base64: not valid base64") from None
    row = kb.add_document(scope.conn, tenant_id=scope.tenant_id, title=body.title or body.filename,
                          filename=body.filename, data=data, lang=body.lang,
                          created_by=scope.who.actor)
    return DocumentAccepted.model_validate(row)


@routes.delete("/kb/documents/{document_id}", status_code=204, responses={**FORBIDDEN},
               summary="Delete a document and its passages")
def delete_document(document_id: IdPath, scope: Scope) -> None:
    """Delete the document (404 when it is not this tenant's)."""
    scope.require_decide()
    kb.delete_document(scope.conn, tenant_id=scope.tenant_id, document_id=document_id)


@routes.get("/kb/faq", response_model=list[FaqOut], summary="FAQ entries")
def list_faq(scope: Scope,
             source: Annotated[Literal["manual", "csv", "suggested"] | None, Query()] = None
             ) -> list[FaqOut]:
    """The tenant's FAQ entries, newest first (``source=suggested``: mined, to approve)."""
    return [FaqOut.model_validate(r) for r in kb.list_faq(scope.conn, tenant_id=scope.tenant_id,
                                                           source=source)]


@routes.post("/kb/faq", response_model=list[FaqOut], status_code=201,
             responses={**BODY, **FORBIDDEN}, summary="Add or update FAQ entries")
def add_faq(body: FaqIn, scope: Scope) -> list[FaqOut]:
    """Add the entries (a question already there is updated), embedded and indexed at once."""
    scope.require_decide()
    ids = kb.add_faq(scope.conn, tenant_id=scope.tenant_id,
                     entries=[e.model_dump() for e in body.entries])
    rows = {r["faq_id"]: r for r in kb.list_faq(scope.conn, tenant_id=scope.tenant_id,
                                                 limit=100_000)}
    return [FaqOut.model_validate(rows[i]) for i in dict.fromkeys(ids)]


@routes.get("/kb/search", response_model=list[HitOut], summary="Search the knowledge base")
def search_kb(
    scope: Scope,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    mode: Annotated[Literal["hybrid", "fulltext", "vector"], Query()] = "hybrid",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[HitOut]:
    """Hybrid (RRF of full-text and vector), or one branch alone."""
    from growthops.inbox.ai.search import search

    return [HitOut.model_validate(h.as_dict())
            for h in search(scope.conn, tenant_id=scope.tenant_id, query=q, mode=mode,
                            limit=limit)]


def _settings_out(scope: Scope) -> SettingsOut:
    return SettingsOut.model_validate(config.get_settings(scope.conn, tenant_id=scope.tenant_id))


@routes.get("/ai/settings", response_model=SettingsOut, summary="AI settings and calibration")
def get_settings(scope: Scope) -> SettingsOut:
    """The tenant's AI settings, reply threshold and calibration (curve included)."""
    return _settings_out(scope)


@routes.patch("/ai/settings", response_model=SettingsOut, responses={**BODY, **FORBIDDEN},
              summary="Change AI settings")
def patch_settings(body: SettingsIn, scope: Scope) -> SettingsOut:
    """Change the given settings (``auto_reply_enabled`` lets the AI send by itself)."""
    scope.require_decide()
    from growthops.inbox.ai.audit import change_settings

    changes = body.model_dump(exclude_none=True)
    change_settings(scope.conn, tenant_id=scope.tenant_id, by=scope.who.actor, **changes)
    return _settings_out(scope)


@routes.get("/ai/rules", response_model=RulesOut, summary="AI rules")
def get_rules(scope: Scope) -> RulesOut:
    """Instructions, ignore examples and the master switch."""
    return RulesOut.model_validate(config.get_rules(scope.conn, tenant_id=scope.tenant_id))


@routes.put("/ai/rules", response_model=RulesOut, responses={**BODY, **FORBIDDEN},
            summary="Set AI rules")
def put_rules(body: RulesIn, scope: Scope) -> RulesOut:
    """Set the rules (omitted fields unchanged)."""
    from growthops.inbox.ai.audit import change_rules

    scope.require_decide()
    return RulesOut.model_validate(change_rules(
        scope.conn, tenant_id=scope.tenant_id, by=scope.who.actor, instructions=body.instructions,
        ignore_examples=body.ignore_examples, ai_control_enabled=body.ai_control_enabled))


@routes.post("/ai/examples", status_code=201, responses={**BODY, **FORBIDDEN},
             summary="Add labelled examples for the calibration")
def add_examples(body: ExamplesIn, scope: Scope) -> dict[str, int]:
    """Store labelled examples (answer with the expected FAQ question or document title,
    escalate, ignore)."""
    scope.require_decide()
    n = calibrate.add_examples(scope.conn, tenant_id=scope.tenant_id,
                               rows=[e.model_dump() for e in body.examples], source="api")
    return {"stored": n}


@routes.post("/ai/calibrate", response_model=CalibrationOut, responses={**FORBIDDEN},
             summary="Calibrate the reply threshold from the labelled data")
def run_calibration(scope: Scope, request: Request) -> CalibrationOut:
    """Fit the probability model and choose the threshold reaching the target precision
    (422 when there are not enough labels)."""
    scope.require_decide()
    try:
        cal = calibrate.calibrate_tenant(request.app.state.db, tenant_id=scope.tenant_id)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return CalibrationOut.model_validate(cal.as_json())


@routes.get("/ai/decisions", response_model=Page[DecisionOut], summary="The AI's decisions")
def list_decisions(
    scope: Scope,
    decision: Annotated[Literal["respond", "ignore", "escalate"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page[DecisionOut]:
    """Newest first, with reasons, rules, replies and labels."""
    rows, total = decisions.list_decisions(scope.conn, tenant_id=scope.tenant_id,
                                           decision=decision, limit=limit, offset=offset)
    return Page[DecisionOut].of([DecisionOut.model_validate(r) for r in rows], total, limit,
                                offset)


@routes.post("/ai/decisions/{ai_decision_id}/label", response_model=DecisionOut,
             responses={**BODY, **FORBIDDEN}, summary="Label a decision correct or wrong")
def label(ai_decision_id: IdPath, body: LabelIn, scope: Scope) -> DecisionOut:
    """A person's verdict; the next calibration learns from it."""
    if not scope.who.can_answer:
        raise PermissionDenied("a client_viewer can read this inbox but cannot act on it")
    row = decisions.label_decision(scope.conn, tenant_id=scope.tenant_id,
                                   decision_id=ai_decision_id, label=body.label,
                                   by=actor(scope, body.by, "by"))
    return DecisionOut.model_validate(row)
