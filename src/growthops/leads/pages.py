"""The leads dashboard pages (English / French): the list with filters, a lead's page (AI
reading and its history, notes, actions, journal, replies), and growth insights with charts.

``/t/{client_key}/leads`` · ``/t/{client_key}/leads/{lead_id}`` (POST ``.../action``,
``.../note``) · ``/t/{client_key}/leads/insights`` (POST recomputes). Same security as every
page (:mod:`growthops.web.pages`): session, CSRF on POSTs, read-only viewers see no buttons.
Templates get ``_`` bound to the page language (:func:`growthops.core.i18n._`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from growthops.core.auth import users
from growthops.core.errors import GrowthopsError, NotFound
from growthops.core.i18n import _ as gettext
from growthops.leads import insights, replies, work
from growthops.leads.enrichment.intent import taxonomy
from growthops.web.deps import get_database
from growthops.web.pages import (
    auth,
    error_page,
    lang_of,
    not_found,
    render,
    render_fragment,
    staff_post,
    tenant_ctx,
    visible_tenants,
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def overview_panel(request: Request, user: users.User, lang: str) -> Markup:
    """Leads of the last 7 days and integration health of every visible tenant."""
    db = get_database(request)
    rows = []
    for tn in visible_tenants(db, user):
        with db.tenant_tx(tn["tenant_id"]) as conn:
            h = work.health(conn, tenant_id=tn["tenant_id"])
            n = conn.execute("""select count(*)::int n from leads.lead_memory where tenant_id = %s
                                and received_at > now() - interval '7 days' and not deleted""",
                             [str(tn["tenant_id"])]).fetchone()["n"]
        if n or h["last_lead_at"]:
            rows.append({**tn, **h, "week": n})
    return render_fragment("leads/_overview.html", lang=lang, rows=rows)


def _intent_names(conn: Any, tid: Any, lang: str) -> dict[str, str]:
    return {r["intent"]: r["intent_fr" if lang == "fr" else "intent_en"]
            for r in taxonomy(conn, tenant_id=tid)}


@router.get("/t/{client_key}/leads")
def list_page(request: Request, client_key: str,
              state: Annotated[str, Query(max_length=20)] = "active",
              intent: Annotated[str, Query(max_length=60)] = "",
              urgency: Annotated[str, Query(max_length=10)] = "",
              tag: Annotated[str, Query(max_length=60)] = "",
              language: Annotated[str, Query(max_length=5)] = "",
              since: Annotated[str, Query(max_length=10)] = "",
              offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    """The tenant's leads, filtered, newest first."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "leads")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            rows, total = work.list_leads(
                conn, tenant_id=tid, state=state, intent=intent or None, urgency=urgency or None,
                tag=tag or None, language=language or None,
                since=date.fromisoformat(since) if since else None, limit=PAGE_SIZE, offset=offset)
            names = _intent_names(conn, tid, lang)
            health = work.health(conn, tenant_id=tid)
    except NotFound:
        return not_found(request, user)
    except (GrowthopsError, ValueError) as exc:
        return error_page(request, user, 422, str(exc))
    filters = {"state": state, "intent": intent, "urgency": urgency, "tag": tag,
               "language": language, "since": since}

    def page_url(off: int) -> str:
        return f"/t/{client_key}/leads?{urlencode({**filters, 'offset': off})}"

    return render(request, "leads/list.html", user=user, **ctx, rows=rows, total=total,
                  names=names, filters=filters, health=health,
                  prev_url=page_url(max(0, offset - PAGE_SIZE)) if offset else None,
                  next_url=page_url(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None, title=gettext(lang, "Leads of {tenant}",
                                            tenant=ctx["tenant"]["client_name"]))


@router.get("/t/{client_key}/leads/insights")
def insights_page(request: Request, client_key: str) -> Response:
    """Growth insights: the latest week, its charts and the history of weeks."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "leads_insights")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            row = insights.latest(conn, tenant_id=tid)
            hist = insights.history(conn, tenant_id=tid)
            names = _intent_names(conn, tid, lang)
    except NotFound:
        return not_found(request, user)
    charts = {}
    if row:
        urg, tone = row["urgency_distribution"], row["tone_distribution"]
        charts = {"urgency": bars({k: urg.get(k, 0) for k in ("high", "medium", "low")}, lang),
                  "tone": bars({k: tone.get(k, 0) for k in ("positive", "neutral", "negative")},
                               lang),
                  "intents": bars({names.get(i["intent"], i["intent"]): i["count"]
                                   for i in row["top_intents"]}, lang),
                  "weeks": bars({str(h["analysis_period_end"])[:10]: h["total_leads"]
                                 for h in hist}, lang)}
    return render(request, "leads/insights.html", user=user, **ctx, row=row, charts=charts, title=gettext(lang, "Lead insights"))


@router.post("/t/{client_key}/leads/insights")
def recompute(request: Request, client_key: str,
              csrf: Annotated[str | None, Form()] = None) -> Response:
    """Compute this week's insights now."""
    user, ctx, _lang = staff_post(request, client_key, "leads_insights", csrf)
    if ctx is None:
        return user
    with get_database(request).tenant_tx(ctx["tenant"]["tenant_id"]) as conn:
        insights.compute(conn, tenant_id=ctx["tenant"]["tenant_id"])
    return RedirectResponse(f"/t/{client_key}/leads/insights", status_code=303)


def bars(data: dict[str, Any], lang: str) -> Markup:
    """A horizontal bar chart as inline SVG (no script), labels escaped."""
    from markupsafe import escape

    items = [(str(k), float(v or 0)) for k, v in data.items()]
    if not items:
        return Markup("")
    top = max(v for _k, v in items) or 1.0
    h = 22 * len(items) + 4
    parts = [f'<svg class="bars" viewBox="0 0 420 {h}" width="420" height="{h}" role="img">']
    for i, (k, v) in enumerate(items):
        y = 4 + 22 * i
        w = 250 * v / top
        label = gettext(lang, k) if k in ("high", "medium", "low", "positive", "neutral", "negative") else k
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(label[:24])}</text>'
                     f'<rect x="140" y="{y}" width="{w:.1f}" height="16" fill="#4a7bd0"></rect>'
                     f'<text x="{145 + w:.1f}" y="{y + 13}" font-size="12">{v:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@router.get("/t/{client_key}/leads/{lead_id}")
def lead_page(request: Request, client_key: str, lead_id: int) -> Response:
    """One lead: message, AI reading and history, actions, notes, journal, replies."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "leads")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            lead = work.get_lead(conn, tenant_id=tid, lead_id=lead_id)
            entries = work.journal(conn, tenant_id=tid, lead_id=lead_id)
            notes = work.notes(conn, tenant_id=tid, lead_id=lead_id)
            sends = replies.sends(conn, tenant_id=tid, lead_id=lead_id)
            names = _intent_names(conn, tid, lang)
    except NotFound:
        return not_found(request, user)
    return render(request, "leads/lead.html", user=user, **ctx, lead=lead, entries=entries,
                  notes=notes, sends=sends, names=names,
                  title=gettext(lang, "Lead {id}", id=lead_id))


@router.post("/t/{client_key}/leads/{lead_id}/action")
def lead_action(request: Request, client_key: str, lead_id: int,
                action: Annotated[str, Form(max_length=20)],
                tag: Annotated[str, Form(max_length=60)] = "",
                reason: Annotated[str, Form(max_length=2000)] = "",
                intent: Annotated[str, Form(max_length=60)] = "",
                csrf: Annotated[str | None, Form()] = None) -> Response:
    """Apply an action and come back to the lead's page (errors shown as a page)."""
    user, ctx, lang = staff_post(request, client_key, "leads", csrf)
    if ctx is None:
        return user
    try:
        with get_database(request).tenant_tx(ctx["tenant"]["tenant_id"]) as conn:
            work.act(conn, tenant_id=ctx["tenant"]["tenant_id"], lead_id=lead_id, action=action,
                     by=user.email, tag=tag or None, reason=reason or None, intent=intent or None)
    except NotFound:
        return not_found(request, user)
    except GrowthopsError as exc:
        return error_page(request, user, exc.http_status, str(exc))
    return RedirectResponse(f"/t/{client_key}/leads/{lead_id}", status_code=303)


@router.post("/t/{client_key}/leads/{lead_id}/note")
def lead_note(request: Request, client_key: str, lead_id: int,
              note: Annotated[str, Form(max_length=4000)],
              csrf: Annotated[str | None, Form()] = None) -> Response:
    """Add a note and come back to the lead's page."""
    user, ctx, lang = staff_post(request, client_key, "leads", csrf)
    if ctx is None:
        return user
    try:
        with get_database(request).tenant_tx(ctx["tenant"]["tenant_id"]) as conn:
            work.add_note(conn, tenant_id=ctx["tenant"]["tenant_id"], lead_id=lead_id,
                          note=note, by=user.email)
    except NotFound:
        return not_found(request, user)
    except GrowthopsError as exc:
        return error_page(request, user, exc.http_status, str(exc))
    return RedirectResponse(f"/t/{client_key}/leads/{lead_id}", status_code=303)


def _mount_outreach() -> None:
    from growthops.leads.outreach_pages import router as outreach_router

    router.include_router(outreach_router)


_mount_outreach()
