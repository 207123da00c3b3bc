"""Dashboard pages of what the AI learns from the inbox, English and French:

* ``/t/{client_key}/inbox-topics`` (``?post=<monitored post id>`` for one post's comments): the
  topics with their size, the trend week over week and examples; ``POST .../inbox-topics/run``
  finds them now (the weekly job ``inbox.topics`` does it every Monday);
* ``/t/{client_key}/inbox-faq`` (``?status=pending|approved|rejected``): the suggested FAQ
  entries mined from people's answers, to approve or reject one by one like an editor's inbox
  (``POST .../inbox-faq/{faq_id}/approve|reject``); ``POST .../inbox-faq/suggest`` mines now.

Reading: whoever may see the tenant. The POSTs: the agency's staff, CSRF-checked, audited
(:func:`growthops.inbox.ai.forms.staff_post`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from growthops.core.errors import NotFound
from growthops.core.i18n import _
from growthops.inbox.ai.forms import staff_post
from growthops.web.deps import get_database
from growthops.web.pages import auth, lang_of, not_found, render, tenant_ctx

router = APIRouter(include_in_schema=False)
STATUSES = ("pending", "approved", "rejected")


def _page(request: Request, client_key: str) -> tuple[Any, str, dict[str, Any]] | Response:
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        return user, lang, tenant_ctx(request, user, client_key, "inbox")
    except NotFound:
        return not_found(request, user)


@router.get("/t/{client_key}/inbox-topics")
def topics_page(request: Request, client_key: str,
                post: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> Response:
    """The topics of the tenant's messages (or of one post's comments)."""
    from growthops.inbox.ai import topics

    got = _page(request, client_key)
    if isinstance(got, Response):
        return got
    user, lang, ctx = got
    tid = ctx["tenant"]["tenant_id"]
    with get_database(request).tenant_tx(tid) as conn:
        rows = topics.list_topics(conn, tenant_id=tid, scope="post" if post else "global",
                                  scope_ref=post, examples=3)
    biggest = max((r["size"] for r in rows), default=1)
    return render(request, "inbox/ai_topics.html", user=user, lang=lang, **ctx, rows=rows,
                  post=post, biggest=biggest, can_decide=user.can_decide,
                  run_at=rows[0]["run_at"] if rows else None,
                  params=rows[0]["params"] if rows else {},
                  title=_(lang, "Topics of {tenant}", tenant=ctx["tenant"]["client_name"]))


@router.post("/t/{client_key}/inbox-topics/run")
def run_topics(request: Request, client_key: str,
               post: Annotated[str, Form(max_length=20)] = "",
               csrf: Annotated[str | None, Form()] = None) -> Response:
    """Find the topics now (replacing the stored ones of that scope)."""
    from growthops.core.errors import InvalidInput
    from growthops.inbox.ai import topics

    ref = int(post) if post.strip().isdigit() and len(post.strip()) < 19 else None

    def run(db: Any, tid: Any, user: Any, lang: str) -> str:
        if post.strip() and ref is None:
            raise InvalidInput("post: a monitored post's id")
        out = topics.run_topics(db, tenant_id=tid, scope="post" if ref else "global",
                                scope_ref=ref)
        return (f"post={ref}&" if ref else "") + f"found={out['topics']}"
    return staff_post(request, client_key, csrf, run, "inbox-topics")


@router.get("/t/{client_key}/inbox-faq")
def faq_page(request: Request, client_key: str,
             status: Annotated[str, Query(max_length=10)] = "pending") -> Response:
    """The suggested FAQ entries of one status, most asked first."""
    from growthops.inbox.ai import faq_miner

    got = _page(request, client_key)
    if isinstance(got, Response):
        return got
    user, lang, ctx = got
    st = status if status in STATUSES else "pending"
    tid = ctx["tenant"]["tenant_id"]
    with get_database(request).tenant_tx(tid) as conn:
        rows = faq_miner.list_suggestions(conn, tenant_id=tid, status=st)
    names = {"pending": _(lang, "to review"), "approved": _(lang, "approved"),
             "rejected": _(lang, "rejected")}
    return render(request, "inbox/ai_faq.html", user=user, lang=lang, **ctx, rows=rows,
                  status=st, statuses=STATUSES, names=names, can_decide=user.can_decide,
                  title=_(lang, "Suggested FAQ entries of {tenant}",
                          tenant=ctx["tenant"]["client_name"]))


@router.post("/t/{client_key}/inbox-faq/suggest")
def suggest(request: Request, client_key: str,
            csrf: Annotated[str | None, Form()] = None) -> Response:
    """Mine suggestions from people's answers now."""
    from growthops.inbox.ai import faq_miner

    def run(db: Any, tid: Any, user: Any, lang: str) -> str:
        return f"mined={faq_miner.suggest(db, tenant_id=tid)['suggested']}"
    return staff_post(request, client_key, csrf, run, "inbox-faq")


@router.post("/t/{client_key}/inbox-faq/{faq_id}/{verdict}")
def decide(request: Request, client_key: str, faq_id: int, verdict: str,
           csrf: Annotated[str | None, Form()] = None) -> Response:
    """Approve or reject one suggestion (audited)."""
    from growthops.inbox.ai import audit, faq_miner

    if verdict not in ("approve", "reject"):
        user = auth(request)
        return user if isinstance(user, Response) else not_found(request, user)

    done = "approved" if verdict == "approve" else "rejected"

    def run(db: Any, tid: Any, user: Any, lang: str) -> str:
        with db.tenant_tx(tid) as conn:
            (faq_miner.approve if verdict == "approve" else faq_miner.reject)(
                conn, tenant_id=tid, faq_id=faq_id, by=user.email)
            audit.record(conn, tenant_id=tid, by=user.email, what=f"faq {done}",
                         after={"faq_id": faq_id})
        return f"{done}={faq_id}"
    return staff_post(request, client_key, csrf, run, "inbox-faq")
