"""Public outreach links, reached from e-mails without credentials (the random per-e-mail token
is the only key; unknown tokens answer 404, the pixel answers its GIF whatever happens):

* ``GET /o/u/{token}`` — the unsubscribe confirmation page (English or French, the e-mail's
  language) with one button; **changes nothing**, so a link scanner or a preview that follows
  the link unsubscribes no one.
* ``POST /o/u/{token}`` — unsubscribes (RFC 8058 one-click: mail clients POST
  ``List-Unsubscribe=One-Click``; the confirmation page's button posts the same). The address
  goes on the tenant's suppression list and every sequence to it ends. Idempotent.
* ``GET|HEAD /o/o/{token}.gif`` — the open pixel; ``GET|HEAD /o/c/{token}/{n}`` — the click
  redirect to the e-mail's n-th original link. Both record an event classified human or
  machine (:mod:`growthops.leads.outreach.tracking`), unless the tenant switched tracking off.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from growthops.core.i18n import _
from growthops.leads.outreach import inbound, tracking
from growthops.web.deps import get_database
from growthops.web.pages import render

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=1, max_length=80)]


def _client(request: Request) -> tuple[str | None, str | None]:
    ip = request.client.host if request.client else None
    return request.headers.get("user-agent"), ip


def _page(request: Request, lang: str, *, done: bool, token: str, status: int = 200) -> Response:
    return render(request, "leads/unsubscribe.html", http_status=status, lang=lang, done=done,
                  token=token, title=_(lang, "Unsubscribe"))


@router.get("/o/u/{token}")
def unsubscribe_page(request: Request, token: Token) -> Response:
    """The confirmation page: nothing is changed by a GET."""
    found = tracking.by_token(get_database(request), token)
    if found is None:
        return _page(request, "en", done=False, token="", status=404)
    _tid, email = found
    return _page(request, email["language"], done=False, token=token)


@router.post("/o/u/{token}")
def unsubscribe(request: Request, token: Token) -> Response:
    """RFC 8058 one-click unsubscribe (and the page's button)."""
    db = get_database(request)
    found = tracking.by_token(db, token)
    if found is None:
        return _page(request, "en", done=False, token="", status=404)
    tid, email = found
    with db.tenant_tx(tid) as conn:
        inbound.suppress(conn, tenant_id=tid, email=email, reason="unsubscribe",
                         by="one-click", at=datetime.now(UTC))
    return _page(request, email["language"], done=True, token=token)


@router.api_route("/o/o/{token}.gif", methods=["GET", "HEAD"])
def pixel(request: Request, token: Token) -> Response:
    """The 1×1 GIF; records an open when the token is known and tracking is on."""
    db = get_database(request)
    found = tracking.by_token(db, token)
    if found is not None and found[1]["tracking_enabled"] and found[1]["sent_at"]:
        tid, email = found
        ua, ip = _client(request)
        with db.tenant_tx(tid) as conn:
            tracking.record(conn, email=email, action="opened", method=request.method,
                            user_agent=ua, ip=ip, at=datetime.now(UTC))
    return Response(tracking.GIF, media_type="image/gif",
                    headers={"Cache-Control": "no-store, private"})


@router.api_route("/o/c/{token}/{n}", methods=["GET", "HEAD"])
def click(request: Request, token: Token, n: Annotated[int, Path(ge=0, le=1000)]) -> Response:
    """Redirect (302) to the e-mail's n-th link; records a click when tracking is on."""
    db = get_database(request)
    found = tracking.by_token(db, token)
    links = (found[1]["links"] or []) if found else []
    if found is None or n >= len(links):
        return Response("not found", status_code=404, media_type="text/plain")
    tid, email = found
    if email["tracking_enabled"] and email["sent_at"]:
        ua, ip = _client(request)
        with db.tenant_tx(tid) as conn:
            tracking.record(conn, email=email, action="clicked", method=request.method,
                            user_agent=ua, ip=ip, at=datetime.now(UTC), link_index=n)
    return RedirectResponse(links[n], status_code=302)
