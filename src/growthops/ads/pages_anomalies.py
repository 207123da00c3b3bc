"""The anomalies page of the dashboard: ``/t/{client_key}/anomalies``.

GET lists a tenant's anomalies, newest day first, filtered by ``status``: ``open`` (active and
investigating, the default), ``closed`` (resolved and dismissed), ``all`` or one status. Each
shows the day, entity, metric, expected and observed values, severity, status, and who changed
the status, when and the note. Closed anomalies are kept (nothing is deleted).

POST ``/t/{client_key}/anomalies/{anomaly_id}/status`` (staff only: admin and media_buyer; CSRF
token) investigates, resolves, dismisses or reopens one anomaly with an optional note through
:func:`growthops.ads.analysis.triage.set_anomaly_status`, the function the CLI
(``growthops anomalies ...``) and the API (``POST .../anomalies/{id}/status``) use: same
transitions, same audit entry (``anomaly.<status>`` in ``ads.audit_log``). Answers 303 back to
the page; a transition not allowed answers the page with the reason (409), a bad note 422.
Registered on :data:`growthops.ads.pages.router`.

Above the anomalies, the intraday pacing of the day (``ads.pacing_checks``, written by the
hourly job: :mod:`growthops.ads.sync.intraday`): the month's pace against
``monthly_budget_max`` and the entity-days flagged today (each account's local day), read
through :func:`growthops.ads.sync.intraday.pacing_today`, the function of the API's
``GET .../pacing``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from growthops.ads.analysis.triage import CLOSED, STATUSES, TRANSITIONS, set_anomaly_status
from growthops.ads.labels import code
from growthops.ads.pages import PAGE_SIZE, router
from growthops.ads.present import anomaly as present_anomaly
from growthops.ads.sync.pacing import pacing_today
from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.core.i18n import (
    N_,
    _,
    format_datetime,
    format_money,
    format_number,
    pgettext,
)
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

#: The page's filters and the statuses each shows.
FILTERS: dict[str, tuple[str, ...]] = {
    "open": ("active", "investigating"), "closed": tuple(sorted(CLOSED)), "all": STATUSES,
    **{s: (s,) for s in STATUSES}}
#: Button labels, by the status they set.
ACTIONS: dict[str, str] = {"investigating": N_("Investigate"), "resolved": N_("Resolve"),
                           "dismissed": N_("Dismiss"), "active": N_("Reopen")}
BY_LINE = N_("{status} by {who} on {when}")
METHODS: dict[str, str] = {"profile": N_("own hourly profile"), "linear": N_("even pace"),
                           "run_rate": N_("run rate of the last 14 days")}


def pacing_view(pacing: dict[str, Any], *, lang: str, currency: str,
                time_zone: str) -> dict[str, Any]:
    """Return :func:`growthops.ads.sync.intraday.pacing_today`'s result formatted for the page:
    money in ``currency`` (major units), percent of the cap, the method and when first flagged
    (in ``time_zone``)."""
    def fmt(r: dict[str, Any]) -> dict[str, Any]:
        pct = r["pct_of_cap"]
        return {
            "entity": r["entity_name"] or r["entity_id"], "entity_id": r["entity_id"],
            "platform": r["platform"], "level": r["level"], "over": r["over"],
            "spent": format_money(r["spend_so_far"], currency, lang),
            "projected": format_money(r["projected"], currency, lang),
            "budget": format_money(r["budget"], currency, lang),
            "cap": format_money(r["cap"], currency, lang),
            "pct": None if pct is None else format_number(round(pct), lang, 0) + " %",
            "hours": format_number(r["elapsed_hours"], lang, 1),
            "method": _(lang, METHODS.get(r["method"], r["method"])),
            "flagged_at": format_datetime(r["flagged_at"], time_zone, lang)
            if r["flagged_at"] else None}

    return {"days": [fmt(r) for r in pacing["days"]],
            "month": fmt(pacing["month"]) if pacing["month"] else None,
            "checked_days": pacing["checked_days"]}


def list_page(conn: Any, *, tenant_id: Any, statuses: tuple[str, ...], limit: int,
              offset: int) -> tuple[list[dict[str, Any]], int]:
    """Return one page of the tenant's anomalies whose status is in ``statuses`` (newest day
    first) and their total; one statement."""
    rows = conn.execute(
        """select *, count(*) over () as total from ads.anomalies
           where tenant_id = %s and status = any(%s)
           order by as_of desc, anomaly_id desc limit %s offset %s""",
        [str(tenant_id), list(statuses), limit, offset]).fetchall()
    return rows, int(rows[0]["total"]) if rows else 0


@router.get("/t/{client_key}/anomalies")
def anomalies_page(request: Request, client_key: str,
                   status: Annotated[str, Query(max_length=20)] = "open",
                   offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    """The tenant's anomalies with their triage, filtered by status."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    if status not in FILTERS:
        return error_page(request, user, 422, f"status: {status!r} is not one of "
                                              f"{', '.join(FILTERS)}")
    try:
        ctx = tenant_ctx(request, user, client_key, "anomalies")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            rows, total = list_page(conn, tenant_id=tid, statuses=FILTERS[status],
                                    limit=PAGE_SIZE, offset=offset)
    except NotFound:
        return not_found(request, user)
    return _render(request, user, ctx, lang, rows, total, status, offset)


def _render(request: Request, user: Any, ctx: dict[str, Any], lang: str, rows: list[dict[str, Any]],
            total: int, status: str, offset: int, *, http_status: int = 200,
            flash: dict[str, str] | None = None) -> Response:
    cur, tz = ctx["tenant"]["currency"].strip(), ctx["tenant"]["time_zone"]
    key = ctx["tenant"]["client_key"]
    pacing: dict[str, Any] | None = None
    try:  # a bad time zone in an account's settings must not hide the anomalies
        with get_database(request).tenant_tx(ctx["tenant"]["tenant_id"]) as conn:
            pacing = pacing_view(pacing_today(conn, tenant_id=ctx["tenant"]["tenant_id"]),
                                 lang=lang, currency=cur, time_zone=tz)
    except InvalidInput:
        pacing = None

    def url(off: int) -> str:
        return f"/t/{key}/anomalies?{urlencode({'status': status, 'offset': off})}"

    groups = {"open": pgettext(lang, "anomaly filter", "open"),
              "closed": pgettext(lang, "anomaly filter", "closed"),
              "all": pgettext(lang, "anomaly filter", "all")}
    items = []
    for r in rows:
        when = format_datetime(r["status_changed_at"], tz, lang) if r["status_changed_at"] else None
        items.append({
            **present_anomaly(r, lang=lang, currency=cur), "id": r["anomaly_id"],
            "raw_status": r["status"], "closed": r["status"] in CLOSED,
            "entity": r["entity_name"] or r["entity_id"], "platform": r["platform"],
            "level": r["level"], "entity_id": r["entity_id"],
            "by_line": _(lang, BY_LINE, status=code(r["status"], lang), who=r["status_by"],
                         when=when) if r["status_by"] else None,
            "note": r["status_note"],
            "actions": [{"status": s, "label": _(lang, ACTIONS[s])}
                        for s in ("investigating", "resolved", "dismissed", "active")
                        if s in TRANSITIONS[r["status"]]]})
    return render(request, "ads/anomalies.html", http_status=http_status, user=user, **ctx,
                  items=items, total=total, status=status, flash=flash, pacing=pacing,
                  filters=[{"value": f, "label": code(f, lang) if f in STATUSES else groups[f]}
                           for f in FILTERS],
                  prev_url=url(max(0, offset - PAGE_SIZE)) if offset else None,
                  next_url=url(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
                  title=_(lang, "Anomalies · {tenant}", tenant=ctx["tenant"]["client_name"]))


@router.post("/t/{client_key}/anomalies/{anomaly_id}/status")
def anomaly_status(request: Request, client_key: str, anomaly_id: int,
                   status: Annotated[str, Form(max_length=20)],
                   note: Annotated[str, Form(max_length=8000)] = "",
                   back: Annotated[str, Form(max_length=20)] = "open",
                   csrf: Annotated[str | None, Form()] = None) -> Response:
    """Investigate, resolve, dismiss or reopen one anomaly (staff); 303 back to the page."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "anomalies")
    except NotFound:
        return not_found(request, user)
    if not user.can_decide:
        return error_page(request, user, 403, _(lang, FORBIDDEN))
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, CSRF_EXPIRED))
    back = back if back in FILTERS else "open"
    tid = ctx["tenant"]["tenant_id"]
    db = get_database(request)
    try:
        with db.tenant_tx(tid) as conn:
            set_anomaly_status(conn, tenant_id=tid, anomaly_id=anomaly_id, status=status,
                               by=user.email, note=note.strip() or None)
    except NotFound:
        return not_found(request, user)
    except (Conflict, InvalidInput) as exc:
        with db.tenant_tx(tid) as conn:
            rows, total = list_page(conn, tenant_id=tid, statuses=FILTERS[back],
                                    limit=PAGE_SIZE, offset=0)
        return _render(request, user, ctx, lang, rows, total, back, 0,
                       http_status=409 if isinstance(exc, Conflict) else 422,
                       flash={"kind": "err", "text": _(lang, "Not recorded: {message}",
                                                       message=str(exc))})
    return secure(RedirectResponse(
        f"/t/{client_key}/anomalies?{urlencode({'status': back})}#a-{anomaly_id}", status_code=303))
