"""The inbox JSON API under ``/api/v1/tenants/{tenant}/inbox/...`` and the webhook routes.

Reads (any principal who may see the tenant): ``accounts``, ``agents``, ``conversations`` (with
filters and counts), ``conversations/{id}`` (thread and transitions), ``escalations``, ``kpis``.
Actions (API keys, staff, the tenant's support agents; a client_viewer gets 403):
``conversations/{id}/reply|escalate|assign|resolve|reopen|archive``; connecting an account
(``POST accounts``) is for API keys and staff. A logged-in user acts as itself; an API key
names the person in ``by``. Another tenant answers 404 exactly like a missing one.

``reply`` calls the platform, so it runs outside the request's transaction (the tenant is
checked first, then :func:`growthops.inbox.sending.send_reply` owns its transactions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from growthops.core.auth.users import PermissionDenied
from growthops.core.errors import ConfigError, GrowthopsError
from growthops.inbox import accounts, conversations, handoff
from growthops.inbox.models import (
    AccountIn,
    AccountOut,
    ActorIn,
    AgentOut,
    AssignIn,
    ConversationOut,
    ConversationPage,
    EscalateIn,
    EscalationOut,
    EscalationPage,
    EventOut,
    KpiOut,
    MessageOut,
    ReplyIn,
    ResolveIn,
    SentOut,
    ThreadOut,
)
from growthops.web.deps import IdPath, Principal, Scope, Who, actor, resolve_tenant, tenant_router
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES, ErrorOut

routes = APIRouter(tags=["inbox"], responses=TENANT_RESPONSES)
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorOut, "description": "The platform refused or failed the message"},
    503: {"model": ErrorOut, "description": "The server is not configured for this "
                                            "(GROWTHOPS_SECRET_KEYS)"},
}


class NotConfigured(GrowthopsError):
    """A server setting this action needs is missing (HTTP 503)."""

    exit_code = 78
    http_status = 503


def _require_answer(who: Principal) -> None:
    if not who.can_answer:
        raise PermissionDenied("a client_viewer can read this inbox but cannot act on it")


@dataclass(frozen=True)
class TenantRef:
    """The request's tenant, checked against the principal, without an open transaction."""

    tenant_id: UUID
    client_key: str
    who: Principal


def tenant_ref(request: Request, who: Who) -> TenantRef:
    """Resolve ``{tenant}`` for ``who`` (404 when invisible, like a missing tenant)."""
    row = resolve_tenant(request, who, str(request.path_params["tenant"]))
    return TenantRef(UUID(str(row["tenant_id"])), row["client_key"], who)


Ref = Annotated[TenantRef, Depends(tenant_ref)]


# ------------------------------------------------------------------------------- accounts
@routes.get("/accounts", response_model=list[AccountOut], summary="Connected accounts")
def list_accounts(scope: Scope) -> list[AccountOut]:
    """The tenant's WhatsApp numbers and Instagram accounts (never a token)."""
    return [AccountOut.model_validate(r)
            for r in accounts.list_accounts(scope.conn, tenant_id=scope.tenant_id)]


@routes.post("/accounts", response_model=AccountOut, status_code=201,
             responses={**BODY, **FORBIDDEN, **CONFLICT, **UNAVAILABLE},
             summary="Connect a WhatsApp number or an Instagram account")
def connect_account(body: AccountIn, scope: Scope) -> AccountOut:
    """Store the account with its token encrypted; reconnecting replaces the token."""
    scope.require_decide()
    try:
        row = accounts.connect(scope.conn, tenant_id=scope.tenant_id, platform=body.platform,
                               account_id=body.account_id, account_name=body.account_name,
                               access_token=body.access_token,
                               token_expires_at=body.token_expires_at, scopes=body.scopes)
    except ConfigError as exc:
        raise NotConfigured(str(exc)) from None
    return AccountOut.model_validate(row)


@routes.get("/agents", response_model=list[AgentOut], summary="Who may answer this inbox")
def list_agents(scope: Scope) -> list[AgentOut]:
    """The agency's staff and the tenant's support agents (assignees)."""
    return [AgentOut.model_validate(r) for r in handoff.agents(scope.conn, tenant_id=scope.tenant_id)]


# -------------------------------------------------------------------------- conversations
@routes.get("/conversations", response_model=ConversationPage,
            summary="Conversations, newest first, with filters and counts")
def list_conversations(
    scope: Scope,
    channel: Annotated[Literal["whatsapp", "instagram"] | None, Query()] = None,
    status: Annotated[Literal["active", "escalated", "archived"] | None, Query()] = None,
    assignee: Annotated[UUID | None, Query(description="Only conversations assigned to this user.")] = None,
    mine: Annotated[bool, Query(description="Only those assigned to the logged-in user.")] = False,
    unread: Annotated[bool, Query()] = False,
    escalated: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    kind: Annotated[Literal["message", "comment"] | None,
                    Query(description="Only conversations of messages, or comment threads.")] = None,
) -> ConversationPage:
    """List the conversations matching every filter (``mine`` needs a logged-in user);
    comment threads of the monitored posts are conversations of kind ``comment``."""
    user = scope.who.user
    who = user.user_id if (mine and user is not None) else assignee
    if mine and user is None:
        who = UUID(int=0)  # an API key is nobody: "mine" matches nothing
    rows, total = conversations.list_conversations(
        scope.conn, tenant_id=scope.tenant_id, channel=channel, status=status, assignee=who,
        unread=unread, escalated=escalated, limit=limit, offset=offset, kind=kind)
    counts = conversations.counts(scope.conn, tenant_id=scope.tenant_id,
                                  user_id=user.user_id if user else None)
    return ConversationPage.of([ConversationOut.model_validate(r) for r in rows], total, limit,
                               offset, counts=counts)


@routes.get("/conversations/{conversation_id}", response_model=ThreadOut,
            summary="One conversation: its messages and transitions")
def get_thread(conversation_id: IdPath, scope: Scope) -> ThreadOut:
    """The conversation, its last 200 messages (oldest first) with delivery states and the AI's
    decisions when there are some, and who did what when."""
    conv = conversations.get_conversation(scope.conn, tenant_id=scope.tenant_id,
                                          conversation_id=conversation_id)
    msgs = conversations.thread(scope.conn, tenant_id=scope.tenant_id,
                                conversation_id=conversation_id)
    evs = conversations.events(scope.conn, tenant_id=scope.tenant_id,
                               conversation_id=conversation_id)
    return ThreadOut(conversation=ConversationOut.model_validate(conv),
                     messages=[MessageOut.model_validate(m) for m in msgs],
                     events=[EventOut.model_validate(e) for e in evs])


@routes.post("/conversations/{conversation_id}/reply", response_model=SentOut, status_code=201,
             responses={**BODY, **FORBIDDEN, **CONFLICT, **UNAVAILABLE},
             summary="Reply (free-form within the window, or a WhatsApp template)")
def reply(conversation_id: IdPath, body: ReplyIn, ref: Ref, request: Request) -> SentOut:
    """Send a person's reply. 409 when the window forbids it (``details.rule`` and
    ``details.until`` say which rule and until when) or the account is expired; 502 when the
    platform refuses it."""
    from growthops.core.errors import InvalidInput
    from growthops.inbox.sending import send_reply

    _require_answer(ref.who)
    if (body.text is None) == (body.template is None):
        raise InvalidInput("body: give exactly one of text, template")
    who = actor(ref, body.by, "by")  # type: ignore[arg-type]
    template = ({"name": body.template, "language": body.language, "parameters": body.parameters}
                if body.template else None)
    try:
        sent = send_reply(request.app.state.db, tenant_id=ref.tenant_id,
                          conversation_id=conversation_id, actor=who, text=body.text,
                          template=template, author="human")
    except ConfigError as exc:
        raise NotConfigured(str(exc)) from None
    return SentOut.model_validate(sent)


@routes.post("/conversations/{conversation_id}/escalate", response_model=EscalationOut,
             status_code=201, responses={**BODY, **FORBIDDEN, **CONFLICT},
             summary="Hand the conversation to a person")
def escalate(conversation_id: IdPath, body: EscalateIn, scope: Scope) -> EscalationOut:
    """Open an escalation; the AI stays silent until it is resolved. 409 if already escalated."""
    _require_answer(scope.who)
    row = handoff.escalate(scope.conn, tenant_id=scope.tenant_id, conversation_id=conversation_id,
                           reason=body.reason, notes=body.notes,
                           actor=actor(scope, body.by, "by"))
    return EscalationOut.model_validate(row)


@routes.post("/conversations/{conversation_id}/assign", response_model=ConversationOut,
             responses={**BODY, **FORBIDDEN}, summary="Assign to a person, or unassign")
def assign(conversation_id: IdPath, body: AssignIn, scope: Scope) -> ConversationOut:
    """Assign to a person who may answer this tenant (422 otherwise); null unassigns."""
    _require_answer(scope.who)
    handoff.assign(scope.conn, tenant_id=scope.tenant_id, conversation_id=conversation_id,
                   assignee=body.assignee, actor=actor(scope, body.by, "by"))
    return ConversationOut.model_validate(conversations.get_conversation(
        scope.conn, tenant_id=scope.tenant_id, conversation_id=conversation_id))


@routes.post("/conversations/{conversation_id}/resolve", response_model=EscalationOut,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Resolve the escalation")
def resolve(conversation_id: IdPath, body: ResolveIn, scope: Scope) -> EscalationOut:
    """Resolve the open escalation (the AI may answer again). 409 when not escalated."""
    _require_answer(scope.who)
    row = handoff.resolve(scope.conn, tenant_id=scope.tenant_id, conversation_id=conversation_id,
                          notes=body.notes, actor=actor(scope, body.by, "by"))
    return EscalationOut.model_validate(row)


@routes.post("/conversations/{conversation_id}/reopen", response_model=ConversationOut,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Reopen")
def reopen(conversation_id: IdPath, body: ActorIn, scope: Scope) -> ConversationOut:
    """Reopen an archived conversation, or the last resolved escalation. 409 if nothing to reopen."""
    _require_answer(scope.who)
    handoff.reopen(scope.conn, tenant_id=scope.tenant_id, conversation_id=conversation_id,
                   actor=actor(scope, body.by, "by"))
    return ConversationOut.model_validate(conversations.get_conversation(
        scope.conn, tenant_id=scope.tenant_id, conversation_id=conversation_id))


@routes.post("/conversations/{conversation_id}/archive", response_model=ConversationOut,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Archive")
def archive(conversation_id: IdPath, body: ActorIn, scope: Scope) -> ConversationOut:
    """Archive an active conversation (409 when escalated: resolve it first)."""
    _require_answer(scope.who)
    handoff.archive(scope.conn, tenant_id=scope.tenant_id, conversation_id=conversation_id,
                    actor=actor(scope, body.by, "by"))
    return ConversationOut.model_validate(conversations.get_conversation(
        scope.conn, tenant_id=scope.tenant_id, conversation_id=conversation_id))


@routes.get("/escalations", response_model=EscalationPage, summary="Escalations, newest first")
def list_escalations(
    scope: Scope,
    status: Annotated[Literal["open", "in_progress", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> EscalationPage:
    """The tenant's escalations, optionally of one status."""
    rows, total = conversations.escalations(scope.conn, tenant_id=scope.tenant_id, status=status,
                                            limit=limit, offset=offset)
    return EscalationPage.of([EscalationOut.model_validate(r) for r in rows], total, limit, offset)


@routes.get("/kpis", response_model=list[KpiOut], summary="KPIs per day or per 2-hour window")
def kpis(
    scope: Scope,
    granularity: Annotated[Literal["day", "2h"], Query()] = "day",
    channel: Annotated[Literal["all", "whatsapp", "instagram"], Query()] = "all",
    days: Annotated[int, Query(ge=1, le=92)] = 7,
) -> list[KpiOut]:
    """Stored KPIs of the last ``days`` days (refreshed every 15 minutes by the worker)."""
    from growthops.inbox.kpis.store import read

    end = datetime.now(UTC)
    rows = read(scope.conn, tenant_id=scope.tenant_id, start=end - timedelta(days=days),
                end=end + timedelta(days=1), granularity=granularity, channel=channel)
    return [KpiOut.model_validate(r) for r in rows]


def routers() -> list[APIRouter]:
    """The inbox routers: the tenant API, the AI's (knowledge base, settings, decisions), the
    posts, comments and credits, then the public webhook routes."""
    from growthops.inbox.ai.api import routes as ai_routes
    from growthops.inbox.ai.learn_api import routes as learn_routes
    from growthops.inbox.billing import router as stripe_webhooks
    from growthops.inbox.social_api import routes as social
    from growthops.inbox.webhooks import router as webhooks

    return [tenant_router(routes, "/inbox"), tenant_router(ai_routes, "/inbox"),
            tenant_router(learn_routes, "/inbox"), tenant_router(social, "/inbox"), webhooks,
            stripe_webhooks]
