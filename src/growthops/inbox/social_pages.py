"""Dashboard pages of scheduled posts and comments (issue 12), English and French.

``/t/{client_key}/posts``: a calendar of the next 4 weeks' occurrences (the tenant's time
zone) and the list of posts with their status, recurrence, last runs and errors.
``/t/{client_key}/comments``: monitored posts, comments (filter by triage) with their triage,
reason and reply state, and the tenant's plan and credits with what happens when they run out.
A person (staff, the tenant's support agents) answers a comment from the page
(``POST /t/{client_key}/comments/{id}/reply``, CSRF-checked: the AI's draft approved, or their
own text, public or private); a client_viewer reads only; another tenant answers 404 like a
missing one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from growthops.core.errors import Conflict, GrowthopsError, InvalidInput, NotFound
from growthops.core.i18n import _
from growthops.inbox import comments, credits, posts
from growthops.inbox.kpis.store import read
from growthops.web.deps import get_database
from growthops.web.pages import (
    auth,
    csrf_ok,
    error_page,
    lang_of,
    not_found,
    render,
    secure,
    tenant_ctx,
)

router = APIRouter(include_in_schema=False)
CALENDAR_DAYS = 28


def _labels(lang: str) -> dict[str, str]:
    return {"queued": _(lang, "queued"), "publishing": _(lang, "publishing"),
            "published": _(lang, "published"), "failed": _(lang, "failed"),
            "cancelled": _(lang, "cancelled"), "success": _(lang, "success"),
            "retry": _(lang, "to retry"), "running": _(lang, "running"),
            "respond": _(lang, "respond"), "ignore": _(lang, "ignore"),
            "escalate": _(lang, "escalate"), "user_conversation": _(lang, "move to private"),
            "none": "–", "draft": _(lang, "draft, waiting for approval"),
            "approved": _(lang, "approved"), "sending": _(lang, "sending"),
            "sent": _(lang, "sent"), "out_of_credits": _(lang, "out of credits"),
            "ai_off": _(lang, "AI off for comments"), "no_ai": _(lang, "no AI: for a person"),
            "public": _(lang, "public"), "private": _(lang, "private")}


def calendar(rows: list[dict[str, Any]], tz: str, start: date, days: int = CALENDAR_DAYS
             ) -> list[list[dict[str, Any]]]:
    """Weeks (Monday first) of ``{day, items: [(local time, post)]}`` from ``start``'s week."""
    zone = ZoneInfo(tz)
    monday = start - timedelta(days=start.weekday())
    end = monday + timedelta(days=days)
    by: dict[date, list[tuple[str, dict[str, Any]]]] = {}
    for p in rows:
        for occ in posts.upcoming(p, limit=days):
            local = occ.astimezone(zone)
            if monday <= local.date() < end:
                by.setdefault(local.date(), []).append((local.strftime("%H:%M"), p))
    weeks = []
    for w in range(days // 7):
        weeks.append([{"day": monday + timedelta(days=7 * w + d),
                       "items": sorted(by.get(monday + timedelta(days=7 * w + d), []),
                                       key=lambda x: x[0])} for d in range(7)])
    return weeks


@router.get("/t/{client_key}/posts")
def posts_page(request: Request, client_key: str,
               status: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The calendar and the list of scheduled posts with their runs."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "posts")
    except NotFound:
        return not_found(request, user)
    tid = ctx["tenant"]["tenant_id"]
    st = status if status in posts.STATUSES else None
    with get_database(request).tenant_tx(tid) as conn:
        rows, total = posts.list_posts(conn, tenant_id=tid, status=st, limit=200)
        queued, _n = posts.list_posts(conn, tenant_id=tid, status="queued", limit=200)
        rs = posts.runs(conn, tenant_id=tid, post_ids=[r["post_id"] for r in rows]) if rows else []
    by: dict[int, list[dict[str, Any]]] = {}
    for r in rs:
        by.setdefault(r["post_id"], []).append(r)
    tz = ctx["tenant"].get("time_zone") or "UTC"
    today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
    return render(request, "inbox/posts.html", user=user, lang=lang, **ctx, rows=rows,
                  total=total, runs=by, weeks=calendar(queued, tz, today), today=today,
                  status=st or "", statuses=posts.STATUSES, labels=_labels(lang),
                  title=_(lang, "Scheduled posts of {tenant}", tenant=ctx["tenant"]["client_name"]))


@router.get("/t/{client_key}/comments")
def comments_page(request: Request, client_key: str,
                  triage: Annotated[str, Query(max_length=30)] = "") -> Response:
    """Monitored posts, comments with their triage and replies, and the credits."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "comments")
    except NotFound:
        return not_found(request, user)
    tid = ctx["tenant"]["tenant_id"]
    tr = triage if triage in comments.TRIAGES else None
    with get_database(request).tenant_tx(tid) as conn:
        rows, total = comments.list_comments(conn, tenant_id=tid, triage_=tr, limit=200)
        monitored = comments.list_monitored(conn, tenant_id=tid)
        st = credits.state(conn, tenant_id=tid)
        kpis = comments.counts(conn, tenant_id=tid)
        now = datetime.now(UTC)
        daily = read(conn, tenant_id=tid, start=now - timedelta(days=7), end=now)
    return render(request, "inbox/comments.html", user=user, lang=lang, **ctx, rows=rows, kpis=kpis,
                  daily=daily,
                  can_answer=user.can_answer,
                  flash=(request.query_params.get("sent") or "")[:12].isdigit()
                  and request.query_params["sent"][:12],
                  total=total, monitored=monitored, credits=st, triage=tr or "",
                  triages=comments.TRIAGES, labels=_labels(lang),
                  title=_(lang, "Comments of {tenant}", tenant=ctx["tenant"]["client_name"]))


@router.post("/t/{client_key}/comments/{comment_id}/reply")
def reply(request: Request, client_key: str, comment_id: int,
          text: Annotated[str, Form(max_length=2200)] = "",
          private: Annotated[str, Form(max_length=5)] = "",
          csrf: Annotated[str | None, Form()] = None) -> Response:
    """Approve the AI's draft (empty ``text``) or send a person's reply, then go back."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "comments")
    except NotFound:
        return not_found(request, user)
    if not user.can_answer:
        return error_page(request, user, 403, _(lang, "You may not do this: your account is "
                                                      "read-only."))
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, "The form expired (security token). "
                                                      "Reload the page and try again."))
    db = get_database(request)
    tid = ctx["tenant"]["tenant_id"]
    try:
        with db.tenant_tx(tid) as conn:
            comments.approve(conn, tenant_id=tid, comment_id=comment_id, by=user.email,
                             text=text.strip() or None, private=True if private else None)
        comments.send_reply(db, tenant_id=tid, comment_id=comment_id)
    except NotFound:
        return not_found(request, user)
    except (Conflict, InvalidInput) as exc:
        return error_page(request, user, 409 if isinstance(exc, Conflict) else 422, str(exc))
    except GrowthopsError as exc:
        return error_page(request, user, 502, str(exc))
    except Exception as exc:  # the platform refused (MessagingError): shown, not a 500
        from growthops.connectors.messaging import MessagingError

        if not isinstance(exc, MessagingError):
            raise
        return error_page(request, user, 502, _(lang, "Instagram refused the reply: {error}",
                                                 error=str(exc)))
    return secure(RedirectResponse(f"/t/{client_key}/comments?sent={comment_id}", status_code=303))
