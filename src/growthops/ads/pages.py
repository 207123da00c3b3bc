"""The ads domain's dashboard pages: the queue, entity, learning and validation pages, and the
ads panel of the first page.

Pages (GET): ``/t/{client_key}/suggestions`` (queue: filter by status, type, priority),
``/t/{client_key}/entities/{platform}/{level}/{entity_id}`` (metrics with the baseline band and
anomalies, suggestions, executions and their measured outcomes), ``/t/{client_key}/learning``
(hypothesis outcomes, calibration, Brier score, decision patterns) and
``/t/{client_key}/validation`` (creative validation queue). Actions (POST):
``.../suggestions/{id}/decision`` and ``.../validation/{id}/{advance|reject}``; both answer the
re-rendered card for htmx to swap in place; ``.../suggestions/bulk`` decides every selected
suggestion with one note and answers 303 to the queue. :func:`overview_panel` is ``DOMAIN.overview``.

Security: pages need a session user (:func:`growthops.web.deps.current_user`, via :func:`growthops.web.pages.auth`; without one a page
redirects to ``/login?next=...``, an htmx request gets ``HX-Redirect``). A tenant the user may
not see answers 404 like a missing one. A client_viewer reads only: no buttons, and its POSTs
answer 403. Every POST after login carries a per-session CSRF token (hidden field or the
``X-CSRF-Token`` header htmx sends) on top of ``SameSite=Lax`` cookies and the Origin check of
``current_user``. Responses carry a Content-Security-Policy allowing scripts from this origin
only (htmx, vendored in ``static/``; no CDN, no inline script, no eval).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from growthops.ads import pages_data as data
from growthops.ads import present
from growthops.ads.labels import CODES, code, metric_label
from growthops.ads.reporting.charts import (
    ENTITY_METRICS,
    calibration_chart,
    chart_start,
    entity_chart,
    pick_metric,
)
from growthops.core.auth import users
from growthops.core.errors import Conflict, GrowthopsError, InvalidInput, NotFound
from growthops.core.i18n import _, format_date, format_number, ngettext
from growthops.web.deps import get_database
from growthops.web.messages import register_codes
from growthops.web.pages import (
    CSRF_EXPIRED,
    FORBIDDEN,
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
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
register_codes(CODES)  # the templates' code(value, lang)


# ------------------------------------------------------------------------------ overview
def overview_panel(request: Request, user: users.User, lang: str) -> Markup:
    """The ads panel of the first page: every visible tenant's spend, KPI, pacing, queue.

    One statement per tenant (:func:`growthops.ads.pages_data.overview`).
    """
    rows = data.overview(get_database(request), user, now=present.now_utc())
    return render_fragment("ads/_overview.html", lang=lang,
                           rows=[present.overview_row(r, lang) for r in rows])


# --------------------------------------------------------------------------------- queue
@router.get("/t/{client_key}/suggestions")
def queue_page(request: Request, client_key: str,
               status: Annotated[str, Query(max_length=20)] = "open",
               type: Annotated[str, Query(max_length=30)] = "",
               priority: Annotated[str, Query(max_length=10)] = "",
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               view: Annotated[str, Query(max_length=10)] = "",
               done: Annotated[int, Query(ge=0, le=500)] = -1,
               failed: Annotated[int, Query(ge=0, le=500)] = 0) -> Response:
    """The suggestion queue of one tenant, filtered, in review order; ``view=compact`` shows
    one line per suggestion; ``done``/``failed`` report the bulk decision just made."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "queue")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            rows, total = data.queue(conn, tenant_id=tid, status=status, type=type or None,
                                     priority=priority or None, limit=PAGE_SIZE, offset=offset)
    except NotFound:
        return not_found(request, user)
    except InvalidInput as exc:
        return error_page(request, user, 422, str(exc))
    now = present.now_utc()
    cur = ctx["tenant"]["currency"].strip()
    tz = ctx["tenant"]["time_zone"]
    cards = [present.suggestion(r, lang=lang, currency=cur, now=now, can_decide=user.can_decide,
                                tz=tz) for r in rows]

    compact = view == "compact"

    def page_url(off: int, compact: bool = compact) -> str:
        q = {"status": status, "type": type, "priority": priority, "offset": off}
        if compact:
            q["view"] = "compact"
        return f"/t/{client_key}/suggestions?{urlencode(q)}"

    bulk_flash = None
    if done >= 0:
        bulk_flash = {"kind": "err" if failed else "ok", "text": ngettext(
            lang, "{n} suggestion decided", "{n} suggestions decided", done, n=done)
            + ("; " + ngettext(lang, "{n} not recorded (already decided or expired)",
                               "{n} not recorded (already decided or expired)", failed,
                               n=failed) if failed else "") + "."}

    return render(
        request, "ads/queue.html", user=user, **ctx, cards=cards, total=total,
        filters={"status": status, "type": type, "priority": priority},
        options={"status": ["open", "all", *data.STATUSES], "type": data.TYPES,
                 "priority": data.PRIORITIES},
        compact=compact, compact_url=page_url(offset, True), full_url=page_url(offset, False),
        bulk_flash=bulk_flash,
        prev_url=page_url(max(0, offset - PAGE_SIZE)) if offset else None,
        next_url=page_url(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        title=_(lang, "Suggestions · {tenant}", tenant=ctx["tenant"]["client_name"]))


@router.post("/t/{client_key}/suggestions/bulk")
def decide_bulk(request: Request, client_key: str,
                decision: Annotated[str, Form(max_length=20)],
                ids: Annotated[list[int], Form(max_length=PAGE_SIZE)],
                notes: Annotated[str, Form(max_length=4000)] = "",
                back: Annotated[str, Form(max_length=500)] = "",
                csrf: Annotated[str | None, Form()] = None) -> Response:
    """One decision with one note on every selected suggestion of the queue (at most a page).

    Each suggestion is decided in its own transaction, exactly as one by one (an approval
    executes on the ad account when one is connected, within the guard rails); a suggestion
    already decided or expired is counted as not recorded. Answers 303 to the queue, which
    says how many were decided. 403 for a client_viewer or without the CSRF token.
    """
    from growthops.ads.action.decisions import decide as record_decision

    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    db = get_database(request)
    try:
        ctx = tenant_ctx(request, user, client_key, "queue")
    except NotFound:
        return not_found(request, user)
    if not user.can_decide:
        return error_page(request, user, 403, _(lang, FORBIDDEN))
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, CSRF_EXPIRED))
    if decision not in ("approved", "refused", "backlog"):
        return error_page(request, user, 422, f"decision: {decision!r} is not one of approved, "
                                          "refused, backlog")
    tid = ctx["tenant"]["tenant_id"]
    done = failed = 0
    for sid in dict.fromkeys(ids):  # each once, in the order selected
        try:
            with db.tenant_tx(tid) as conn:
                dec = record_decision(conn, tenant_id=tid, suggestion_id=sid, decision=decision,
                                      decided_by=user.email, notes=notes.strip() or None,
                                      channel="dashboard")
                account = conn.execute("select connector from ads.ad_accounts where tenant_id "
                                       "= %s and platform = %s",
                                       [str(tid), dec["platform"]]).fetchone()
        except (NotFound, Conflict, InvalidInput):
            failed += 1
            continue
        done += 1
        if decision == "approved" and account is not None:
            _execute(db, tid, sid, dec["platform"], account, user, lang,
                     ctx["tenant"]["currency"].strip())
    from urllib.parse import parse_qsl, urlsplit

    url = urlsplit(back)
    query = [(k, v) for k, v in parse_qsl(url.query) if k not in ("done", "failed")]
    query += [("done", str(done)), ("failed", str(failed))]
    return secure(RedirectResponse(f"/t/{client_key}/suggestions?{urlencode(query)}",
                                   status_code=303))


@router.post("/t/{client_key}/suggestions/{suggestion_id}/decision")
def decide(request: Request, client_key: str, suggestion_id: int,
           decision: Annotated[str, Form(max_length=20)],
           notes: Annotated[str, Form(max_length=4000)] = "",
           csrf: Annotated[str | None, Form()] = None) -> Response:
    """Approve, refuse or backlog one suggestion; approving executes it on the ad account.

    Answers the re-rendered card (htmx swaps it in place) with the decision and, for an
    approval, the execution's outcome: executed, blocked by which guard rail, or failed. A
    client_viewer gets 403; an invisible tenant or suggestion 404; a decision the suggestion's
    state forbids (expired, already decided) re-renders the card with the reason (409).
    """
    from growthops.ads.action.decisions import decide as record_decision

    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    db = get_database(request)
    try:
        ctx = tenant_ctx(request, user, client_key, "queue")
    except NotFound:
        return not_found(request, user)
    if not user.can_decide:
        return error_page(request, user, 403, _(lang, FORBIDDEN))
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, CSRF_EXPIRED))
    if decision not in ("approved", "refused", "backlog"):
        return error_page(request, user, 422, f"decision: {decision!r} is not one of approved, "
                                          "refused, backlog")
    tid = ctx["tenant"]["tenant_id"]
    flash: dict[str, str] | None = None
    status = 200
    try:
        with db.tenant_tx(tid) as conn:
            dec = record_decision(conn, tenant_id=tid, suggestion_id=suggestion_id,
                                  decision=decision, decided_by=user.email,
                                  notes=notes.strip() or None, channel="dashboard")
            account = conn.execute("select connector from ads.ad_accounts where tenant_id = %s "
                                   "and platform = %s", [str(tid), dec["platform"]]).fetchone()
    except NotFound:
        return not_found(request, user)
    except Conflict as exc:
        flash, status = {"kind": "err", "text": _(lang, "Not recorded: {message}", message=str(exc))}, 409
    except InvalidInput as exc:
        flash, status = {"kind": "err", "text": _(lang, "Not recorded: {message}", message=str(exc))}, 422
    else:
        if decision == "approved":
            flash = _execute(db, tid, suggestion_id, dec["platform"], account, user, lang,
                             ctx["tenant"]["currency"].strip())
    with db.tenant_tx(tid) as conn:
        try:
            row = data.queue_row(conn, tenant_id=tid, suggestion_id=suggestion_id)
        except NotFound:
            return not_found(request, user)
    if not is_htmx(request):  # a plain form post (scripts off): back to the queue
        return secure(RedirectResponse(f"/t/{client_key}/suggestions?status=all#s-{suggestion_id}",
                                        status_code=303))
    card = present.suggestion(row, lang=lang, currency=ctx["tenant"]["currency"].strip(),
                              now=present.now_utc(), can_decide=True, flash=flash,
                              tz=ctx["tenant"]["time_zone"])
    return render(request, "ads/_suggestion.html", http_status=status, user=user, s=card, **ctx)


def _execute(db: Any, tid: Any, suggestion_id: int, platform: str, account: Any,
             user: users.User, lang: str, currency: str) -> dict[str, str]:
    """Execute an approved suggestion when the platform's ad account exists; the outcome."""
    if account is None:
        return {"kind": "warn", "text": _(lang, "Approved. No {platform} ad account is connected "
                                                "for this client: nothing was executed.",
                                          platform=platform)}
    from growthops.ads.action.execution import execute_suggestion  # issue 3's module, lazily

    try:
        outcome = execute_suggestion(db, tenant_id=tid, suggestion_id=suggestion_id,
                                     actor=user.email)
    except GrowthopsError as exc:
        return {"kind": "err", "text": _(lang, "Execution failed: {message}", message=str(exc))}
    return present.outcome_message(outcome, lang, currency)


# -------------------------------------------------------------------------------- entity
@router.get("/t/{client_key}/entities/{platform}/{level}/{entity_id:path}")
def entity_page(request: Request, client_key: str, platform: str, level: str, entity_id: str,
                metric: Annotated[str, Query(max_length=20)] = "") -> Response:
    """One campaign, ad set or ad: chart, anomalies, suggestions, executions and outcomes."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "queue")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            ent = data.entity(conn, tenant_id=tid, platform=platform, level=level,
                              entity_id=entity_id)
    except (NotFound, InvalidInput):
        return not_found(request, user)
    cur, tz = ctx["tenant"]["currency"].strip(), ctx["tenant"]["time_zone"]
    chosen = pick_metric(ent, metric or None) if ent["metrics"] else None
    now = present.now_utc()
    return render(
        request, "ads/entity.html", user=user, **ctx, platform=platform, level=level,
        entity_id=entity_id, name=ent["name"] or entity_id, metric=chosen,
        metrics=ENTITY_METRICS, chart=entity_chart(ent, chosen, lang=lang, currency=cur)
        if chosen else None,
        end=format_date(ent["end"], lang) if ent["end"] else None,
        baseline_as_of=format_date(ent["baseline_as_of"], lang) if ent["baseline_as_of"] else "–",
        metric_names={m: metric_label(m, lang) for m in ENTITY_METRICS},
        totals=present.totals(ent["metrics"], ent["result_metric"], lang=lang, currency=cur)
        if ent["metrics"] else [],
        period_days=len(ent["metrics"][-7:]),
        period_first=format_date(ent["metrics"][-7:][0]["day"], lang) if ent["metrics"] else None,
        chart_first=format_date(chart_start(ent), lang) if ent["metrics"] else None,
        children=present.children(ent["children"], ent["result_metric"], lang=lang,
                                  currency=cur),
        child_level={"campaign": "adset", "adset": "ad"}.get(level),
        anomalies=[present.anomaly(a, lang=lang, currency=cur) for a in ent["anomalies"]],
        history=[{"s": present.suggestion({**h["suggestion"], "decision_notes": None},
                                          lang=lang, currency=cur, now=now, can_decide=False,
                                          tz=tz),
                  "decisions": h["decisions"],
                  "summary": present.history_summary(h, lang=lang)}
                 for h in ent["history"]],
        executions=[present.execution(x, lang=lang, currency=cur, tz=tz)
                    for x in ent["executions"]],
        title=f"{code(level, lang)} {ent['name'] or entity_id}")


# ------------------------------------------------------------------------------ learning
@router.get("/t/{client_key}/learning")
def learning_page(request: Request, client_key: str) -> Response:
    """Hypothesis outcomes, the calibration chart and Brier score, decision patterns."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "learning")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            learned = data.learning(conn, tenant_id=tid)
    except NotFound:
        return not_found(request, user)
    rep = learned["report"]
    return render(
        request, "ads/learning.html", user=user, **ctx, rep=rep,
        chart=calibration_chart(rep["reliability"], rep["model"], lang=lang),
        brier={k: (None if v is None else format_number(v, lang, 3))
               for k, v in rep["brier"].items()},
        bins=[{"bin": b["bin"], "count": b["count"],
               "stated": present.pct(b["mean_stated"], lang),
               "observed": present.pct(b["observed"], lang),
               "ci": (f"{present.pct(b['ci_low'], lang)} – {present.pct(b['ci_high'], lang)}"
                      if b["ci_low"] is not None else "")} for b in rep["reliability"]],
        hypotheses=learned["hypotheses"], entity_link=present.entity_link,
        title=_(lang, "Learning · {tenant}", tenant=ctx["tenant"]["client_name"]))


# ---------------------------------------------------------------------------- validation
@router.get("/t/{client_key}/validation")
def validation_page(request: Request, client_key: str,
                    status: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The creative validation queue of one tenant (newest first)."""
    from growthops.ads.action.validation import list_items

    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "validation")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            items, total = list_items(conn, tenant_id=tid, status=status or None, limit=200)
    except NotFound:
        return not_found(request, user)
    except InvalidInput as exc:
        return error_page(request, user, 422, str(exc))
    from growthops.ads.action.validation import may_act

    return render(request, "ads/validation.html", user=user, **ctx, total=total, status=status,
                   items=[present.validation_item(
                       i, lang=lang, tz=ctx["tenant"]["time_zone"],
                       can_decide=may_act(can_decide=user.can_decide, stage=i["validation_stage"]))
                          for i in items],
                   title=_(lang, "Validation queue · {tenant}",
                           tenant=ctx["tenant"]["client_name"]))


@router.post("/t/{client_key}/validation/{queue_id}/{action}")
def validation_action(request: Request, client_key: str, queue_id: int, action: str,
                      reason: Annotated[str, Form(max_length=4000)] = "",
                      csrf: Annotated[str | None, Form()] = None) -> Response:
    """Advance (client → team → approved) or reject one item; answers the re-rendered card."""
    from growthops.ads.action import validation

    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    if action not in ("advance", "reject"):
        return not_found(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "validation")
    except NotFound:
        return not_found(request, user)
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, CSRF_EXPIRED))
    tid = ctx["tenant"]["tenant_id"]
    db = get_database(request)
    flash, status = None, 200
    try:
        with db.tenant_tx(tid) as conn:
            # one rule with the API: a client_viewer reviews at client_review only
            stage = validation.get_item(conn, tenant_id=tid, queue_id=queue_id)["validation_stage"]
            if not validation.may_act(can_decide=user.can_decide, stage=stage):
                return error_page(request, user, 403, _(lang, FORBIDDEN))
            if action == "advance":
                validation.advance(conn, tenant_id=tid, queue_id=queue_id, by=user.email,
                                   notes=reason.strip() or None)
            else:
                validation.reject(conn, tenant_id=tid, queue_id=queue_id, by=user.email,
                                  reason=reason)
    except NotFound:
        return not_found(request, user)
    except (Conflict, InvalidInput) as exc:
        flash = {"kind": "err", "text": _(lang, "Not recorded: {message}", message=str(exc))}
        status = 409 if isinstance(exc, Conflict) else 422
    if not is_htmx(request):  # a plain form post (scripts off): back to the queue
        return secure(RedirectResponse(f"/t/{client_key}/validation#v-{queue_id}",
                                        status_code=303))
    with db.tenant_tx(tid) as conn:
        item = validation.get_item(conn, tenant_id=tid, queue_id=queue_id)
    return render(request, "ads/_validation_item.html", http_status=status, user=user, **ctx,
                   v=present.validation_item(item, lang=lang, flash=flash,
                                             tz=ctx["tenant"]["time_zone"],
                                             can_decide=validation.may_act(
                                                 can_decide=user.can_decide,
                                                 stage=item["validation_stage"])))


from growthops.ads.pages_tests import router as _tests_router  # noqa: E402  (the tests page)

router.include_router(_tests_router)
from growthops.ads import (  # noqa: E402, F401  (pages registered on this router)
    pages_allocation,
    pages_anomalies,
    pages_settings,
)
