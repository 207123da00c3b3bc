"""Dashboard pages of prospects and outreach (English / French):

``/t/{client_key}/outreach`` — each campaign's funnel (sent, delivered, human opens, human
clicks, replies, bounces, unsubscribes; machine opens and clicks apart; "not tracked" when the
tenant switched tracking off), the approval queue with bulk approve / reject (POST
``/t/{client_key}/outreach/decide``, CSRF, people who may decide only) and the sending settings
(business hours, per-domain cap, pacing, tracking, sender name and postal address; POST
``/t/{client_key}/outreach/settings``, same rules; a bad value names its field and changes
nothing).
``/t/{client_key}/prospects`` — the latest daily queue and the best prospects with their
score's contributions. Mounted by :mod:`growthops.leads.pages`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from growthops.core.errors import InvalidInput, NotFound
from growthops.core.i18n import _ as gettext
from growthops.leads.outreach import campaigns, metrics
from growthops.leads.prospects import store
from growthops.web.deps import get_database
from growthops.web.pages import (
    auth,
    error_page,
    lang_of,
    not_found,
    render,
    staff_post,
    tenant_ctx,
)

router = APIRouter(include_in_schema=False)


@router.get("/t/{client_key}/outreach")
def outreach_page(request: Request, client_key: str) -> Response:
    """Campaign figures and the approval queue."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "outreach")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            figures = metrics.campaign_figures(conn, tenant_id=tid)
            queue = campaigns.pending(conn, tenant_id=tid, limit=200)
            settings = campaigns.settings_of(conn, tenant_id=tid)
    except NotFound:
        return not_found(request, user)
    return render(request, "leads/outreach.html", user=user, **ctx, figures=figures,
                  queue=queue, settings=settings, title=gettext(lang, "Outreach"))


@router.post("/t/{client_key}/outreach/settings")
def save_settings(request: Request, client_key: str,
                  business_hours_start: Annotated[int, Form(ge=0, le=23)],
                  business_hours_end: Annotated[int, Form(ge=1, le=24)],
                  per_domain_daily_cap: Annotated[int, Form(ge=1, le=1000)],
                  sender_name: Annotated[str, Form(max_length=200)] = "",
                  postal_address: Annotated[str, Form(max_length=500)] = "",
                  send_pacing: Annotated[str | None, Form(max_length=2)] = None,
                  tracking_enabled: Annotated[str | None, Form(max_length=2)] = None,
                  csrf: Annotated[str | None, Form()] = None) -> Response:
    """Change the tenant's sending settings (unticked boxes are off; empty texts are cleared)."""
    user, ctx, _lang = staff_post(request, client_key, "outreach", csrf)
    if ctx is None:
        return user
    tid = ctx["tenant"]["tenant_id"]
    try:
        with get_database(request).tenant_tx(tid) as conn:
            campaigns.update_settings(
                conn, tenant_id=tid, business_hours_start=business_hours_start,
                business_hours_end=business_hours_end, per_domain_daily_cap=per_domain_daily_cap,
                sender_name=sender_name.strip(), postal_address=postal_address.strip(),
                send_pacing=send_pacing is not None, tracking_enabled=tracking_enabled is not None)
    except InvalidInput as exc:
        return error_page(request, user, 422, str(exc))
    return RedirectResponse(f"/t/{client_key}/outreach#settings", status_code=303)


@router.post("/t/{client_key}/outreach/decide")
def decide(request: Request, client_key: str,
           decision: Annotated[str, Form(max_length=10)] = "",
           email_id: Annotated[list[int] | None, Form()] = None,
           csrf: Annotated[str | None, Form()] = None) -> Response:
    """Approve or reject the ticked e-mails."""
    user, ctx, lang = staff_post(request, client_key, "outreach", csrf)
    if ctx is None:
        return user
    if decision not in ("approved", "rejected") or not email_id:
        return error_page(request, user, 422, gettext(lang, "Tick at least one e-mail and "
                                                            "choose approve or reject."))
    with get_database(request).tenant_tx(ctx["tenant"]["tenant_id"]) as conn:
        campaigns.decide(conn, tenant_id=ctx["tenant"]["tenant_id"], email_ids=email_id[:1000],
                         decision=decision, by=user.email)
    return RedirectResponse(f"/t/{client_key}/outreach", status_code=303)


@router.get("/t/{client_key}/prospects")
def prospects_page(request: Request, client_key: str) -> Response:
    """The latest daily queue and the best prospects."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "prospects")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            day = conn.execute("select max(queue_date) d from leads.prospect_queue "
                               "where tenant_id = %s", [str(tid)]).fetchone()["d"]
            queue = store.queue_of(conn, tenant_id=tid, day=day) if day else []
            best, total = store.list_prospects(conn, tenant_id=tid, contacted=False, limit=50)
    except NotFound:
        return not_found(request, user)
    return render(request, "leads/prospects.html", user=user, **ctx, day=day, queue=queue,
                  best=best, total=total, title=gettext(lang, "Prospects"))
