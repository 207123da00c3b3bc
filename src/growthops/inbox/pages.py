"""The inbox dashboard pages: the conversation list and a conversation's thread.

Pages (GET): ``/t/{client_key}/inbox`` (filters: channel, status, assigned to me, escalated,
unread; newest first; counts) and ``/t/{client_key}/inbox/{id}`` (messages with delivery
ticks, the AI's decisions when there are some, the transitions, a reply box that states the
window rule, escalate / assign / resolve / reopen / archive). Fragments polled by htmx every
few seconds: ``.../inbox/list`` and ``.../inbox/{id}/messages`` (updates without a reload).
Actions (POST, CSRF-checked): ``.../inbox/{id}/reply|escalate|assign|resolve|reopen|archive``;
they answer the re-rendered conversation panel (htmx) or redirect back (no script).

Roles: staff and the tenant's support agents act; a client_viewer reads only (no forms, POSTs
403); another tenant answers 404 like a missing one. Texts: English and French
(``growthops.core.i18n._``, catalog ``inbox/locale/fr``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from growthops.core.auth import users
from growthops.core.errors import Conflict, GrowthopsError, InvalidInput, NotFound
from growthops.core.i18n import _
from growthops.inbox import conversations, handoff, windows
from growthops.web.deps import get_database
from growthops.web.pages import (
    auth,
    csrf_ok,
    error_page,
    is_htmx,
    lang_of,
    not_found,
    render,
    render_fragment,
    secure,
    tenant_ctx,
    visible_tenants,
)

router = APIRouter(include_in_schema=False)


def _include_ai_page() -> None:
    from growthops.inbox.ai.pages import router as ai_router

    router.include_router(ai_router)


_include_ai_page()
PAGE_SIZE = 50
POLL_LIST = "every 10s"
POLL_THREAD = "every 5s"
REASONS = ("manual_escalation", "customer_request", "low_confidence", "outside_window")


def _labels(lang: str) -> dict[str, str]:
    return {
        "active": _(lang, "active"), "escalated": _(lang, "escalated"),
        "archived": _(lang, "archived"), "open": _(lang, "open"),
        "in_progress": _(lang, "in progress"), "resolved": _(lang, "resolved"),
        "customer_request": _(lang, "customer asked for a person"),
        "low_confidence": _(lang, "AI not confident"),
        "manual_escalation": _(lang, "escalated by a person"),
        "outside_window": _(lang, "outside the messaging window"),
        "out_of_credits": _(lang, "out of credits"),
        "whatsapp": "WhatsApp", "instagram": "Instagram",
        "escalated_ev": _(lang, "escalated"), "assigned": _(lang, "assigned"),
        "unassigned": _(lang, "unassigned"), "replied": _(lang, "replied"),
        "reopened": _(lang, "reopened"), "refused": _(lang, "send refused"),
        "respond": _(lang, "respond"), "ignore": _(lang, "ignore"), "escalate": _(lang, "escalate"),
        "kind_message": _(lang, "messages"), "kind_comment": _(lang, "comment"),
    }


def _fmt(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if ts else "–"


def _ctx(request: Request, user: users.User, client_key: str) -> dict[str, Any]:
    ctx = tenant_ctx(request, user, client_key, "inbox")
    ctx["readonly"] = not user.can_answer
    return ctx


# ------------------------------------------------------------------------------- overview
def overview_panel(request: Request, user: users.User, lang: str) -> Markup:
    """The inbox panel of the first page: per visible tenant with an inbox, open and unread."""
    db = get_database(request)
    rows = []
    for tn in visible_tenants(db, user):
        with db.tenant_tx(tn["tenant_id"]) as conn:
            c = conversations.counts(conn, tenant_id=tn["tenant_id"], user_id=user.user_id)
        if c["all"]:
            rows.append({**tn, **c})
    return render_fragment("inbox/_overview.html", lang=lang, rows=rows)


# ---------------------------------------------------------------------------------- list
def _filters(channel: str, status: str, mine: bool, unread: bool, escalated: bool,
             kind: str = "") -> dict[str, Any]:
    return {"channel": channel if channel in conversations.CHANNELS else "",
            "status": status if status in conversations.STATUSES else "",
            "mine": mine, "unread": unread, "escalated": escalated,
            "kind": kind if kind in conversations.KINDS else ""}


def _query(f: dict[str, Any], offset: int = 0) -> str:
    q = {k: ("1" if v is True else v) for k, v in f.items() if v not in ("", False)}
    if offset:
        q["offset"] = str(offset)
    return urlencode(q)


def _list_data(request: Request, user: users.User, client_key: str, f: dict[str, Any],
               offset: int) -> dict[str, Any]:
    ctx = _ctx(request, user, client_key)
    tid = ctx["tenant"]["tenant_id"]
    with get_database(request).tenant_tx(tid) as conn:
        rows, total = conversations.list_conversations(
            conn, tenant_id=tid, channel=f["channel"] or None, status=f["status"] or None,
            assignee=user.user_id if f["mine"] else None, unread=f["unread"],
            escalated=f["escalated"], limit=PAGE_SIZE, offset=offset, kind=f["kind"] or None)
        counts = conversations.counts(conn, tenant_id=tid, user_id=user.user_id)
        accounts = conn.execute("select platform, account_id, status, status_reason from "
                                "inbox.social_accounts where tenant_id = %s and status <> 'active'",
                                [str(tid)]).fetchall()
    for r in rows:
        r["when"] = _fmt(r["last_message_at"])
    base = f"/t/{client_key}/inbox"
    return {**ctx, "rows": rows, "total": total, "counts": counts, "filters": f,
            "bad_accounts": accounts, "list_url": f"{base}/list?{_query(f, offset)}",
            "prev_url": f"{base}?{_query(f, max(0, offset - PAGE_SIZE))}" if offset else None,
            "next_url": f"{base}?{_query(f, offset + PAGE_SIZE)}"
            if offset + PAGE_SIZE < total else None, "poll": POLL_LIST}


@router.get("/t/{client_key}/inbox")
def inbox_page(request: Request, client_key: str,
               channel: Annotated[str, Query(max_length=20)] = "",
               status: Annotated[str, Query(max_length=20)] = "",
               mine: bool = False, unread: bool = False, escalated: bool = False,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               kind: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The conversation list with its filters and counts (the list refreshes itself)."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        data = _list_data(request, user, client_key, _filters(channel, status, mine, unread,
                                                              escalated, kind), offset)
    except NotFound:
        return not_found(request, user)
    return render(request, "inbox/inbox.html", user=user, lang=lang, **data, labels=_labels(lang), title=_(lang, "Inbox of {tenant}",
                                       tenant=data["tenant"]["client_name"]))


@router.get("/t/{client_key}/inbox/list")
def inbox_list(request: Request, client_key: str,
               channel: Annotated[str, Query(max_length=20)] = "",
               status: Annotated[str, Query(max_length=20)] = "",
               mine: bool = False, unread: bool = False, escalated: bool = False,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               kind: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The list fragment (htmx polling)."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        data = _list_data(request, user, client_key, _filters(channel, status, mine, unread,
                                                              escalated, kind), offset)
    except NotFound:
        return not_found(request, user)
    return render(request, "inbox/_list.html", user=user, lang=lang, **data,
                  labels=_labels(lang))


# -------------------------------------------------------------------------------- thread
def _thread_data(request: Request, user: users.User, client_key: str, conversation_id: int,
                 mark: bool = False) -> dict[str, Any]:
    ctx = _ctx(request, user, client_key)
    tid = ctx["tenant"]["tenant_id"]
    lang = lang_of(request, user)
    with get_database(request).tenant_tx(tid) as conn:
        conv = conversations.get_conversation(conn, tenant_id=tid, conversation_id=conversation_id)
        msgs = conversations.thread(conn, tenant_id=tid, conversation_id=conversation_id)
        evs = conversations.events(conn, tenant_id=tid, conversation_id=conversation_id)
        agents = handoff.agents(conn, tenant_id=tid) if user.can_answer else []
        if mark and user.can_answer:
            handoff.mark_read(conn, tenant_id=tid, conversation_id=conversation_id)
    now = datetime.now(UTC)
    verdict = windows.check(conv["platform"], author="human", last_inbound_at=conv["last_inbound_at"],
                            now=now)
    for m in msgs:
        m["when"] = _fmt(m["sent_at"])
    for e in evs:
        e["when"] = _fmt(e["at"])
    return {**ctx, "conv": conv, "msgs": msgs, "events": evs, "agents": agents,
            "window": {"allowed": verdict.allowed, "text": verdict.explain(lang),
                       "template_only": conv["platform"] == "whatsapp" and not verdict.allowed},
            "reasons": REASONS, "poll": POLL_THREAD,
            "base": f"/t/{client_key}/inbox/{conversation_id}"}


@router.get("/t/{client_key}/inbox/{conversation_id}")
def thread_page(request: Request, client_key: str, conversation_id: int) -> Response:
    """One conversation: messages, decisions, transitions, reply box and actions."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        data = _thread_data(request, user, client_key, conversation_id, mark=True)
    except NotFound:
        return not_found(request, user)
    name = data["conv"]["customer_name"] or data["conv"]["platform_customer_id"]
    return render(request, "inbox/thread.html", user=user, lang=lang, **data, flash=None,
                  labels=_labels(lang),
                  title=_(lang, "Conversation with {name}", name=name))


@router.get("/t/{client_key}/inbox/{conversation_id}/messages")
def thread_messages(request: Request, client_key: str, conversation_id: int) -> Response:
    """The messages fragment (htmx polling)."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        data = _thread_data(request, user, client_key, conversation_id)
    except NotFound:
        return not_found(request, user)
    return render(request, "inbox/_messages.html", user=user, lang=lang, **data,
                  labels=_labels(lang))


def _act(request: Request, client_key: str, conversation_id: int, csrf: str | None,
         action: Any) -> Response:
    """Run ``action(db, tenant_id, user, lang) -> flash text`` and answer the panel."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = _ctx(request, user, client_key)
    except NotFound:
        return not_found(request, user)
    if not user.can_answer:
        return error_page(request, user, 403, _(lang, "You may not do this: your account is "
                                                      "read-only."))
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, "The form expired (security token). "
                                                      "Reload the page and try again."))
    tid = ctx["tenant"]["tenant_id"]
    status = 200
    try:
        flash = {"kind": "ok", "text": action(get_database(request), tid, user, lang)}
    except NotFound:
        return not_found(request, user)
    except (Conflict, InvalidInput) as exc:
        flash, status = {"kind": "err", "text": str(exc)}, (409 if isinstance(exc, Conflict)
                                                            else 422)
    except GrowthopsError as exc:
        flash, status = {"kind": "err", "text": str(exc)}, 502
    if not is_htmx(request):
        return secure(RedirectResponse(f"/t/{client_key}/inbox/{conversation_id}",
                                       status_code=303))
    data = _thread_data(request, user, client_key, conversation_id)
    return render(request, "inbox/_panel.html", http_status=status, user=user, lang=lang,
                  **data, flash=flash, labels=_labels(lang))


@router.post("/t/{client_key}/inbox/{conversation_id}/reply")
def reply(request: Request, client_key: str, conversation_id: int,
          text: Annotated[str, Form(max_length=4096)] = "",
          template: Annotated[str, Form(max_length=512)] = "",
          language: Annotated[str, Form(max_length=15)] = "en_US",
          csrf: Annotated[str | None, Form()] = None) -> Response:
    """Send a person's reply (or a WhatsApp template) within the window."""
    from growthops.inbox.sending import send_reply

    def run(db: Any, tid: Any, user: users.User, lang: str) -> str:
        tpl = {"name": template.strip(), "language": language or "en_US", "parameters": []} \
            if template.strip() else None
        sent = send_reply(db, tenant_id=tid, conversation_id=conversation_id, actor=user.email,
                          text=None if tpl else text, template=tpl, author="human", lang=lang)
        return _(lang, "Sent ({rule}{tag}).", rule=sent.rule,
                 tag=", " + sent.tag if sent.tag else "")
    return _act(request, client_key, conversation_id, csrf, run)


@router.post("/t/{client_key}/inbox/{conversation_id}/escalate")
def escalate(request: Request, client_key: str, conversation_id: int,
             reason: Annotated[str, Form(max_length=40)] = "manual_escalation",
             notes: Annotated[str, Form(max_length=4000)] = "",
             csrf: Annotated[str | None, Form()] = None) -> Response:
    """Hand the conversation to a person."""
    def run(db: Any, tid: Any, user: users.User, lang: str) -> str:
        with db.tenant_tx(tid) as conn:
            handoff.escalate(conn, tenant_id=tid, conversation_id=conversation_id,
                             reason=reason, actor=user.email, notes=notes.strip() or None)
        return _(lang, "Escalated: the AI stays silent until a person resolves it.")
    return _act(request, client_key, conversation_id, csrf, run)


@router.post("/t/{client_key}/inbox/{conversation_id}/assign")
def assign(request: Request, client_key: str, conversation_id: int,
           assignee: Annotated[str, Form(max_length=254)] = "",
           csrf: Annotated[str | None, Form()] = None) -> Response:
    """Assign to a person (empty: unassign)."""
    def run(db: Any, tid: Any, user: users.User, lang: str) -> str:
        with db.tenant_tx(tid) as conn:
            handoff.assign(conn, tenant_id=tid, conversation_id=conversation_id,
                           assignee=assignee.strip() or None, actor=user.email)
        return _(lang, "Assigned.") if assignee.strip() else _(lang, "Unassigned.")
    return _act(request, client_key, conversation_id, csrf, run)


@router.post("/t/{client_key}/inbox/{conversation_id}/{action}")
def transition(request: Request, client_key: str, conversation_id: int, action: str,
               notes: Annotated[str, Form(max_length=4000)] = "",
               csrf: Annotated[str | None, Form()] = None) -> Response:
    """Resolve, reopen or archive."""
    if action not in ("resolve", "reopen", "archive"):
        user = auth(request)
        return user if isinstance(user, Response) else not_found(request, user)

    def run(db: Any, tid: Any, user: users.User, lang: str) -> str:
        with db.tenant_tx(tid) as conn:
            if action == "resolve":
                handoff.resolve(conn, tenant_id=tid, conversation_id=conversation_id,
                                actor=user.email, notes=notes.strip() or None)
                return _(lang, "Resolved: the AI may answer again.")
            if action == "reopen":
                handoff.reopen(conn, tenant_id=tid, conversation_id=conversation_id,
                               actor=user.email)
                return _(lang, "Reopened.")
            handoff.archive(conn, tenant_id=tid, conversation_id=conversation_id, actor=user.email)
            return _(lang, "Archived.")
    return _act(request, client_key, conversation_id, csrf, run)


from growthops.inbox.social_pages import router as _social  # noqa: E402  (posts and comments pages)

router.include_router(_social)
