"""The posts, comments and credits API under ``/api/v1/tenants/{tenant}/inbox/...`` (issue 12).

Reads (any principal who may see the tenant): ``posts`` (with runs and next occurrences),
``monitored-posts``, ``comments``, ``monitoring-rules``, ``credits``. Actions (API keys, staff,
the tenant's support agents; a client_viewer gets 403): ``posts`` (create),
``posts/{id}/edit|cancel``, ``comments/{id}/reply|approve``, ``monitoring-rules``; the plan
(``credits/plan``) is for API keys and staff. Another tenant answers 404 like a missing one.
Replies call Instagram, so they run outside the request's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from growthops.core.auth.users import PermissionDenied
from growthops.inbox import comments, credits, posts
from growthops.inbox.api import Ref, _require_answer
from growthops.inbox.social_models import (
    ApproveIn,
    ByIn,
    CommentOut,
    CommentPage,
    CommentReplyIn,
    CreditsOut,
    LedgerOut,
    MonitoredPostOut,
    PlanIn,
    PostEditIn,
    PostIn,
    PostOut,
    PostPage,
    RuleIn,
    RuleOut,
    RunOut,
)
from growthops.web.deps import IdPath, Scope, actor
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES

routes = APIRouter(tags=["inbox: posts, comments, credits"], responses=TENANT_RESPONSES)


def _post_out(conn, tenant_id, rows) -> list[PostOut]:
    ids = [r["post_id"] for r in rows]
    by: dict[int, list] = {}
    for r in posts.runs(conn, tenant_id=tenant_id, post_ids=ids) if ids else []:
        by.setdefault(r["post_id"], []).append(RunOut.model_validate(r))
    return [PostOut.model_validate({**r, "upcoming": posts.upcoming(r),
                                    "runs": by.get(r["post_id"], [])[:10]}) for r in rows]


# ----------------------------------------------------------------------------------- posts
@routes.get("/posts", response_model=PostPage, summary="Scheduled posts with their runs")
def list_posts(
    scope: Scope,
    status: Annotated[Literal["queued", "publishing", "published", "failed", "cancelled"] | None,
                      Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PostPage:
    """Posts (next due first), each with its last 10 runs and next occurrences (UTC)."""
    rows, total = posts.list_posts(scope.conn, tenant_id=scope.tenant_id, status=status,
                                   limit=limit, offset=offset)
    return PostPage.of(_post_out(scope.conn, scope.tenant_id, rows), total, limit, offset)


@routes.post("/posts", response_model=PostOut, status_code=201,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Schedule an Instagram post")
def create_post(body: PostIn, scope: Scope) -> PostOut:
    """Schedule a post at ``local_at`` in the tenant's time zone, optionally recurring (RRULE)."""
    _require_answer(scope.who)
    row = posts.create_post(scope.conn, tenant_id=scope.tenant_id,
                            social_account_id=body.social_account_id, text=body.text,
                            media=[m.model_dump() for m in body.media], local_at=body.local_at,
                            rrule=body.rrule, created_by=actor(scope, body.by, "by"))
    return _post_out(scope.conn, scope.tenant_id, [row])[0]


@routes.post("/posts/{post_id}/edit", response_model=PostOut,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Edit a queued post")
def edit_post(post_id: IdPath, body: PostEditIn, scope: Scope) -> PostOut:
    """Change a queued post's text, media, time or recurrence (409 once it is not queued)."""
    _require_answer(scope.who)
    actor(scope, body.by, "by")
    row = posts.edit_post(scope.conn, tenant_id=scope.tenant_id, post_id=post_id, text=body.text,
                          media=[m.model_dump() for m in body.media] if body.media else None,
                          local_at=body.local_at, rrule=body.rrule, clear_rrule=body.clear_rrule)
    return _post_out(scope.conn, scope.tenant_id, [row])[0]


@routes.post("/posts/{post_id}/cancel", response_model=PostOut,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Cancel a queued post")
def cancel_post(post_id: IdPath, body: ByIn, scope: Scope) -> PostOut:
    """Cancel a queued post: no further occurrence is published."""
    _require_answer(scope.who)
    actor(scope, body.by, "by")
    row = posts.cancel_post(scope.conn, tenant_id=scope.tenant_id, post_id=post_id)
    return _post_out(scope.conn, scope.tenant_id, [row])[0]


# -------------------------------------------------------------------------------- comments
@routes.get("/monitored-posts", response_model=list[MonitoredPostOut],
            summary="Posts under comment monitoring")
def monitored_posts(scope: Scope) -> list[MonitoredPostOut]:
    """Monitored posts (active first) with their comment counts."""
    return [MonitoredPostOut.model_validate(r)
            for r in comments.list_monitored(scope.conn, tenant_id=scope.tenant_id)]


@routes.get("/comments", response_model=CommentPage, summary="Comments, newest first")
def list_comments(
    scope: Scope,
    triage: Annotated[Literal["respond", "ignore", "escalate", "user_conversation"] | None,
                      Query()] = None,
    monitored_post_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CommentPage:
    """Comments with their triage and reply state."""
    rows, total = comments.list_comments(scope.conn, tenant_id=scope.tenant_id,
                                         monitored_post_id=monitored_post_id, triage_=triage,
                                         limit=limit, offset=offset)
    return CommentPage.of([CommentOut.model_validate(r) for r in rows], total, limit, offset,
                          counts=comments.counts(scope.conn, tenant_id=scope.tenant_id))


def _send(request: Request, ref, comment_id: int) -> CommentOut:
    from growthops.connectors.messaging import MessagingError
    from growthops.inbox.sending import SendFailed

    db = request.app.state.db
    try:
        comments.send_reply(db, tenant_id=ref.tenant_id, comment_id=comment_id)
    except MessagingError as exc:
        raise SendFailed(f"Instagram refused the reply ({exc.kind}): {exc}", kind=exc.kind,
                         code=exc.meta_code) from None
    with db.tenant_tx(ref.tenant_id) as conn:
        full = conn.execute("select c.*, p.platform_post_id from inbox.comments c join "
                            "inbox.monitored_posts p using (tenant_id, monitored_post_id) "
                            "where c.tenant_id = %s and c.comment_id = %s",
                            [ref.tenant_id, comment_id]).fetchone()
    return CommentOut.model_validate(full)


@routes.post("/comments/{comment_id}/reply", response_model=CommentOut, status_code=201,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Reply to a comment")
def reply(comment_id: IdPath, body: CommentReplyIn, ref: Ref, request: Request) -> CommentOut:
    """A person's public reply, or a private reply to the commenter (409: a second private reply,
    or more than 7 days after the comment)."""
    _require_answer(ref.who)
    who = actor(ref, body.by, "by")  # type: ignore[arg-type]
    with request.app.state.db.tenant_tx(ref.tenant_id) as conn:
        comments.approve(conn, tenant_id=ref.tenant_id, comment_id=comment_id, by=who,
                         text=body.text, private=body.private)
    return _send(request, ref, comment_id)


@routes.post("/comments/{comment_id}/approve", response_model=CommentOut, status_code=201,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Approve the AI's draft reply")
def approve(comment_id: IdPath, body: ApproveIn, ref: Ref, request: Request) -> CommentOut:
    """Send the AI's draft (or ``text`` instead); costs a credit when the AI's text is sent."""
    _require_answer(ref.who)
    who = actor(ref, body.by, "by")  # type: ignore[arg-type]
    with request.app.state.db.tenant_tx(ref.tenant_id) as conn:
        comments.approve(conn, tenant_id=ref.tenant_id, comment_id=comment_id, by=who,
                         text=body.text)
    return _send(request, ref, comment_id)


@routes.get("/monitoring-rules", response_model=list[RuleOut], summary="Monitoring rules")
def list_rules(scope: Scope) -> list[RuleOut]:
    """The tenant's default rule (``social_account_id`` null) and the accounts' own rules."""
    rows = scope.conn.execute("select * from inbox.monitoring_rules where tenant_id = %s "
                              "order by social_account_id nulls first",
                              [scope.tenant_id]).fetchall()
    return [RuleOut.model_validate(r) for r in rows] or [RuleOut.model_validate(comments.DEFAULT_RULE)]


@routes.post("/monitoring-rules", response_model=RuleOut, responses={**BODY, **FORBIDDEN},
             summary="Set a monitoring rule")
def set_rule(body: RuleIn, scope: Scope) -> RuleOut:
    """Create or change the rule of an account or the tenant's default."""
    _require_answer(scope.who)
    fields = body.model_dump(exclude={"social_account_id"})
    if body.social_account_id is not None:
        from growthops.inbox.accounts import get_account

        get_account(scope.conn, tenant_id=scope.tenant_id, social_account_id=body.social_account_id)
    return RuleOut.model_validate(comments.set_rule(
        scope.conn, tenant_id=scope.tenant_id, social_account_id=body.social_account_id, **fields))


# --------------------------------------------------------------------------------- credits
@routes.get("/credits", response_model=CreditsOut, summary="Plan, credits and the ledger")
def get_credits(scope: Scope) -> CreditsOut:
    """The plan, the balance, this month's use and the last 50 ledger rows."""
    st = credits.state(scope.conn, tenant_id=scope.tenant_id)
    led = [LedgerOut.model_validate(r) for r in credits.ledger(scope.conn, tenant_id=scope.tenant_id)]
    return CreditsOut.model_validate({**st, "ledger": led})


@routes.post("/credits/plan", response_model=CreditsOut, responses={**BODY, **FORBIDDEN},
             summary="Change the plan")
def set_plan(body: PlanIn, scope: Scope) -> CreditsOut:
    """Put the tenant on a plan (staff and API keys); ``grant_now`` tops the balance up to the
    plan's monthly allowance at once."""
    if not scope.who.can_decide:
        raise PermissionDenied("only the agency's staff may change a tenant's plan")
    now = datetime.now(UTC)
    st = credits.set_plan(scope.conn, tenant_id=scope.tenant_id, plan=body.plan,
                          status=body.status, now=now)
    top = st["limits"]["ai_replies"] - st["credits_remaining"]
    if body.grant_now and top > 0:
        credits.credit(scope.conn, tenant_id=scope.tenant_id, amount=top, reason="grant",
                       action_id=f"plan:{body.plan}:{now:%Y-%m}")
    return get_credits(scope)
