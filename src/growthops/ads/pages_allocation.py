"""The allocation page of the dashboard: ``/t/{client_key}/allocation``.

GET shows the latest budget allocation (per budget holder: live budget, recommended budget,
today's step, status, confidence and the expected objective per day with its 80 % interval; the
run's 7-day expected effect) and the campaign roll-ups of ``ads.campaign_performance`` with their
efficiency score. POST ``/t/{client_key}/allocation`` runs an allocation now (staff only, CSRF
token) and answers 303 to the page; its budget suggestions then wait in the queue like any other.
Registered on :data:`growthops.ads.pages.router`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from growthops.ads.allocation.allocate import allocate, latest_allocation
from growthops.ads.allocation.performance import list_performance
from growthops.ads.cli.allocation import OBJECTIVE, STATUS, effect_sentence
from growthops.ads.pages import router
from growthops.core.errors import InvalidInput, NotFound
from growthops.core.i18n import _, format_money, format_number, format_percent
from growthops.web.deps import get_database
from growthops.web.pages import (
    CSRF_EXPIRED,
    FORBIDDEN,
    auth,
    csrf_ok,
    error_page,
    lang_of,
    not_found,
    render,
    secure,
    tenant_ctx,
)


def _lines(a: Any, cur: str, lang: str) -> list[dict[str, Any]]:
    value = a.objective == "value_at_target_roas"

    def obj(x: float) -> str:
        return format_money(x, cur, lang, 0) if value else format_number(x, lang, 1)

    out = []
    for ln in a.lines:
        e = ln.expected
        delta = {k: e["step"][k] - e["current"]["p50"] for k in ("p10", "p50", "p90")}
        out.append({
            "name": ln.entity_name or ln.entity_id, "entity_id": ln.entity_id, "status": ln.status,
            "status_label": _(lang, STATUS[ln.status]),
            "current": format_money(ln.daily_budget, cur, lang),
            "recommended": format_money(ln.recommended_budget, cur, lang),
            "step": format_money(ln.step_budget, cur, lang),
            "change": format_percent(ln.step_budget / ln.daily_budget - 1, lang, 0, sign=True)
            if ln.daily_budget else "",
            "confidence": format_percent(ln.confidence / 100, lang) if ln.confidence is not None else "",
            "effect": ("+" if delta["p50"] >= 0 else "") + obj(delta["p50"]),
            "interval": f"{obj(min(delta.values()))} – {obj(max(delta.values()))}",
            "suggestion_id": ln.suggestion_id})
    return out


@router.get("/t/{client_key}/allocation")
def allocation_page(request: Request, client_key: str) -> Response:
    """The latest budget allocation and the campaign roll-ups."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "allocation")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            a = latest_allocation(conn)
            perf = list_performance(conn, days=28)
    except NotFound:
        return not_found(request, user)
    cur = ctx["tenant"]["currency"].strip()
    summary = None
    if a is not None:
        target = (format_number(a.target_roas or 0, lang, 2) if a.objective == "value_at_target_roas"
                  else format_money(a.target_cpa or 0, cur, lang))
        summary = {"objective": _(lang, OBJECTIVE[a.objective], target=target), "effect": effect_sentence(a, cur, lang),
                   "current": format_money(a.current_total, cur, lang),
                   "recommended": format_money(a.recommended_total, cur, lang),
                   "step": format_money(a.step_total, cur, lang),
                   "cap": format_money(a.daily_cap, cur, lang) if a.daily_cap is not None else None}
    rows = [{**r, "spend_f": format_money(r["spend"], cur, lang, 0),
             "roas_f": format_number(r["roas"], lang, 2) if r["roas"] is not None else "–",
             "cpa_f": format_money(r["cpa"], cur, lang) if r["cpa"] is not None else "–",
             "score_f": format_number(r["efficiency_score"], lang, 2) if r["efficiency_score"] is not None else "–"}
            for r in perf]
    return render(request, "ads/allocation.html", user=user, **ctx, a=a, summary=summary,
                  lines=_lines(a, cur, lang) if a else [], perf=rows,
                  title=_(lang, "Allocation · {tenant}", tenant=ctx["tenant"]["client_name"]))


@router.post("/t/{client_key}/allocation")
def allocation_run(request: Request, client_key: str,
                   platform: Annotated[str, Form(max_length=20)] = "meta",
                   csrf: Annotated[str | None, Form()] = None) -> Response:
    """Run an allocation now (its suggestions go to the queue); 303 back to the page."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "allocation")
    except NotFound:
        return not_found(request, user)
    if not user.can_decide:
        return error_page(request, user, 403, _(lang, FORBIDDEN))
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, CSRF_EXPIRED))
    tid = ctx["tenant"]["tenant_id"]
    try:
        with get_database(request).tenant_tx(tid) as conn:
            allocate(conn, tenant_id=tid, platform=platform)
    except InvalidInput as exc:
        return error_page(request, user, 422, str(exc))
    return secure(RedirectResponse(f"/t/{client_key}/allocation", status_code=303))
