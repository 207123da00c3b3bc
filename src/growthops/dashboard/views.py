"""The dashboard's routes: server-rendered pages (Jinja2) and htmx actions that re-render in place.

Pages (GET): ``/login``, ``/`` (overview of the tenants the user may see),
``/t/{client_key}/suggestions`` (queue: filter by status, type, priority),
``/t/{client_key}/entities/{platform}/{level}/{entity_id}`` (metrics with the baseline band and
anomalies, suggestions, executions and their measured outcomes), ``/t/{client_key}/learning``
(hypothesis outcomes, calibration, Brier score, decision patterns) and
``/t/{client_key}/validation`` (creative validation queue). Actions (POST): ``/login``,
``/logout``, ``/lang``, ``.../suggestions/{id}/decision`` and ``.../validation/{id}/{advance|
reject}``; the two last answer the re-rendered card for htmx to swap in place.

Security: pages need a session user (:func:`growthops.api.deps.current_user`; without one a page
redirects to ``/login?next=...``, an htmx request gets ``HX-Redirect``). A tenant the user may
not see answers 404 like a missing one. A client_viewer reads only: no buttons, and its POSTs
answer 403. Every POST after login carries a per-session CSRF token (hidden field or the
``X-CSRF-Token`` header htmx sends) on top of ``SameSite=Lax`` cookies and the Origin check of
``current_user``. Responses carry a Content-Security-Policy allowing scripts from this origin
only (htmx, vendored in ``static/``; no CDN, no inline script, no eval).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from growthops.api.deps import current_user, get_database
from growthops.api.errors import login_redirect
from growthops.api.sessions import login_session, logout_session
from growthops.core.auth import users
from growthops.core.errors import Conflict, GrowthopsError, InvalidInput, NotFound
from growthops.dashboard import data, present
from growthops.dashboard.charts import ENTITY_METRICS, calibration_chart, entity_chart, pick_metric
from growthops.dashboard.messages import LANGS, code, t

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
STATIC_FILES = ("htmx.min.js", "dashboard.css")
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'; object-src 'none'")
PAGE_SIZE = 50

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True,
                          undefined=jinja2.StrictUndefined)
_env.globals.update(t=t, code=code)


def _static_version(name: str) -> str:
    """A short hash of a static file, appended as ``?v=`` so browsers refetch after a change."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]


_env.globals["static"] = {n: f"/static/{n}?v={_static_version(n)}" for n in STATIC_FILES}


# ------------------------------------------------------------------------------- helpers
def _lang(request: Request, user: users.User | None) -> str:
    """The page language: the session's choice, else the user's ``lang``, else English."""
    chosen = request.session.get("lang") if "session" in request.scope else None
    if chosen in LANGS:
        return str(chosen)
    return user.lang if user is not None and user.lang in LANGS else "en"


def _csrf(request: Request) -> str:
    """Return the session's CSRF token, creating it on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def _csrf_ok(request: Request, form_token: str | None) -> bool:
    """True when the request carries the session's CSRF token (form field or header)."""
    expected = request.session.get("csrf")
    sent = form_token or request.headers.get("x-csrf-token") or ""
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(expected, sent)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _secure(resp: Response) -> Response:
    """Add the security headers every dashboard response carries."""
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def _render(request: Request, template: str, /, *, http_status: int = 200,
            user: users.User | None = None, **ctx: Any) -> HTMLResponse:
    """Render ``template`` with the common context (user, lang, csrf, current path)."""
    lang = ctx.pop("lang", None) or _lang(request, user)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    common: dict[str, Any] = {"request_path": request.url.path, "here": here, "user": user, "lang": lang,
              "csrf": _csrf(request) if user is not None else "", "tenant": None,
              "tenants": [], "nav": "", "title": "", "readonly": False}
    common.update(ctx)
    html = _env.get_template(template).render(**common)
    return _secure(HTMLResponse(html, status_code=http_status))  # type: ignore[return-value]


def _error(request: Request, user: users.User | None, status: int, message: str) -> Response:
    """An error as a page, or as a fragment for htmx (swapped where the action was)."""
    lang = _lang(request, user)
    if _is_htmx(request):
        return _render(request, "_flash.html", http_status=status, user=user,
                       flash={"kind": "err", "text": message}, lang=lang)
    return _render(request, "error.html", http_status=status, user=user, message=message,
                   title=t("error.title", lang), lang=lang)


def _not_found(request: Request, user: users.User | None) -> Response:
    return _error(request, user, 404, t("error.not_found", _lang(request, user)))


def _auth(request: Request) -> users.User | Response:
    """Return the session user, or the response sending the browser to the login page."""
    try:
        return current_user(request)
    except users.LoginRequired:
        if _is_htmx(request):
            return _secure(Response(status_code=200, headers={"HX-Redirect": "/login"}))
        return login_redirect(request)
    except users.PermissionDenied as exc:
        return _error(request, None, 403, str(exc))


def _safe_next(target: str | None) -> str:
    """A same-site path to go back to (``/`` for anything else: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _tenant_ctx(request: Request, user: users.User, client_key: str,
                nav: str) -> dict[str, Any]:
    """Resolve ``client_key`` for ``user`` (NotFound when invisible) and the navigation."""
    db = get_database(request)
    visible = data.visible_tenants(db, user)
    for tn in visible:
        if tn["client_key"] == client_key:
            return {"tenant": tn, "tenants": visible, "nav": nav,
                    "readonly": not user.can_decide}
    raise NotFound(f"no client {client_key!r}")


# -------------------------------------------------------------------------------- static
@router.get("/static/{name}")
def static(name: str) -> Response:
    """Serve a vendored asset (htmx) or the stylesheet; 404 for any other name."""
    if name not in STATIC_FILES:
        return Response(status_code=404)
    resp = FileResponse(STATIC_DIR / name, media_type=_MEDIA[Path(name).suffix])
    resp.headers["Cache-Control"] = "public, max-age=86400"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


# ---------------------------------------------------------------------------- login / out
@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """Show the sign-in form (a signed-in user goes straight to ``next``)."""
    try:
        current_user(request)
        return RedirectResponse(_safe_next(next), status_code=303)
    except GrowthopsError:
        pass
    return _render(request, "login.html", next=_safe_next(next), error=None,
                   title=t("login.title", _lang(request, None)))


@router.post("/login")
def login(request: Request, email: Annotated[str, Form(max_length=254)] = "",
          password: Annotated[str, Form(max_length=1024)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Check e-mail and password, start the session, go to ``next`` (401 and the form again)."""
    lang = _lang(request, None)
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower():
        return _error(request, None, 403, t("error.csrf", lang))
    try:
        user = users.authenticate(get_database(request), email=email, password=password)
    except users.InvalidCredentials:
        return _render(request, "login.html", http_status=401, next=_safe_next(next),
                       error=t("login.failed", lang), email=email, title=t("login.title", lang))
    login_session(request, user)
    _csrf(request)
    return _secure(RedirectResponse(_safe_next(next), status_code=303))


@router.api_route("/logout", methods=["GET", "POST"])
def logout(request: Request) -> Response:
    """End the session and show the sign-in form."""
    logout_session(request)
    return _secure(RedirectResponse("/login", status_code=303))


@router.post("/lang")
def switch_lang(request: Request, lang: Annotated[str, Form()],
                next: Annotated[str, Form(max_length=2000)] = "/",
                csrf: Annotated[str | None, Form()] = None) -> Response:
    """Switch the page language (kept in the session and saved on the user)."""
    user = _auth(request)
    if isinstance(user, Response):
        return user
    if not _csrf_ok(request, csrf):
        return _error(request, user, 403, t("error.csrf", _lang(request, user)))
    if lang not in LANGS:
        return _error(request, user, 422, f"lang: {lang!r} is not one of {', '.join(LANGS)}")
    request.session["lang"] = lang
    users.set_lang(get_database(request), user_id=user.user_id, lang=lang)
    return _secure(RedirectResponse(_safe_next(next), status_code=303))


# ------------------------------------------------------------------------------ overview
@router.get("/")
def overview_page(request: Request) -> Response:
    """Overview of every tenant the user may see (one statement per tenant)."""
    user = _auth(request)
    if isinstance(user, Response):
        return user
    lang = _lang(request, user)
    rows = data.overview(get_database(request), user, now=present.now_utc())
    return _render(request, "overview.html", user=user, nav="overview",
                   rows=[present.overview_row(r, lang) for r in rows],
                   title=t("overview.title", lang))


# --------------------------------------------------------------------------------- queue
@router.get("/t/{client_key}/suggestions")
def queue_page(request: Request, client_key: str,
               status: Annotated[str, Query(max_length=20)] = "open",
               type: Annotated[str, Query(max_length=30)] = "",
               priority: Annotated[str, Query(max_length=10)] = "",
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    """The suggestion queue of one tenant, filtered, in review order."""
    user = _auth(request)
    if isinstance(user, Response):
        return user
    lang = _lang(request, user)
    try:
        ctx = _tenant_ctx(request, user, client_key, "queue")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            rows, total = data.queue(conn, tenant_id=tid, status=status, type=type or None,
                                     priority=priority or None, limit=PAGE_SIZE, offset=offset)
    except NotFound:
        return _not_found(request, user)
    except InvalidInput as exc:
        return _error(request, user, 422, str(exc))
    now = present.now_utc()
    cur = ctx["tenant"]["currency"].strip()
    cards = [present.suggestion(r, lang=lang, currency=cur, now=now, can_decide=user.can_decide)
             for r in rows]

    def page_url(off: int) -> str:
        q = {"status": status, "type": type, "priority": priority, "offset": off}
        return f"/t/{client_key}/suggestions?{urlencode(q)}"

    return _render(
        request, "queue.html", user=user, **ctx, cards=cards, total=total,
        filters={"status": status, "type": type, "priority": priority},
        options={"status": ["open", "all", *data.STATUSES], "type": data.TYPES,
                 "priority": data.PRIORITIES},
        prev_url=page_url(max(0, offset - PAGE_SIZE)) if offset else None,
        next_url=page_url(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        title=t("queue.title", lang, tenant=ctx["tenant"]["client_name"]))


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
    from growthops.ads.decisions import decide as record_decision

    user = _auth(request)
    if isinstance(user, Response):
        return user
    lang = _lang(request, user)
    db = get_database(request)
    try:
        ctx = _tenant_ctx(request, user, client_key, "queue")
    except NotFound:
        return _not_found(request, user)
    if not user.can_decide:
        return _error(request, user, 403, t("error.forbidden", lang))
    if not _csrf_ok(request, csrf):
        return _error(request, user, 403, t("error.csrf", lang))
    if decision not in ("approved", "refused", "backlog"):
        return _error(request, user, 422, f"decision: {decision!r} is not one of approved, "
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
        return _not_found(request, user)
    except Conflict as exc:
        flash, status = {"kind": "err", "text": t("sugg.conflict", lang, message=str(exc))}, 409
    except InvalidInput as exc:
        flash, status = {"kind": "err", "text": t("sugg.conflict", lang, message=str(exc))}, 422
    else:
        if decision == "approved":
            flash = _execute(db, tid, suggestion_id, dec["platform"], account, user, lang,
                             ctx["tenant"]["currency"].strip())
    with db.tenant_tx(tid) as conn:
        try:
            row = data.queue_row(conn, tenant_id=tid, suggestion_id=suggestion_id)
        except NotFound:
            return _not_found(request, user)
    if not _is_htmx(request):  # a plain form post (scripts off): back to the queue
        return _secure(RedirectResponse(f"/t/{client_key}/suggestions?status=all#s-{suggestion_id}",
                                        status_code=303))
    card = present.suggestion(row, lang=lang, currency=ctx["tenant"]["currency"].strip(),
                              now=present.now_utc(), can_decide=True, flash=flash)
    return _render(request, "_suggestion.html", http_status=status, user=user, s=card, **ctx)


def _execute(db: Any, tid: Any, suggestion_id: int, platform: str, account: Any,
             user: users.User, lang: str, currency: str) -> dict[str, str]:
    """Execute an approved suggestion when the platform's ad account exists; the outcome."""
    if account is None:
        return {"kind": "warn", "text": t("sugg.no_account", lang, platform=platform)}
    from growthops.ads.execution import execute_suggestion  # issue 3's module, lazily

    try:
        outcome = execute_suggestion(db, tenant_id=tid, suggestion_id=suggestion_id,
                                     actor=user.email)
    except GrowthopsError as exc:
        return {"kind": "err", "text": t("exec.failed", lang, message=str(exc))}
    return present.outcome_message(outcome, lang, currency)


# -------------------------------------------------------------------------------- entity
@router.get("/t/{client_key}/entities/{platform}/{level}/{entity_id:path}")
def entity_page(request: Request, client_key: str, platform: str, level: str, entity_id: str,
                metric: Annotated[str, Query(max_length=20)] = "") -> Response:
    """One campaign, ad set or ad: chart, anomalies, suggestions, executions and outcomes."""
    user = _auth(request)
    if isinstance(user, Response):
        return user
    lang = _lang(request, user)
    try:
        ctx = _tenant_ctx(request, user, client_key, "queue")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            ent = data.entity(conn, tenant_id=tid, platform=platform, level=level,
                              entity_id=entity_id)
    except (NotFound, InvalidInput):
        return _not_found(request, user)
    cur = ctx["tenant"]["currency"].strip()
    chosen = pick_metric(ent, metric or None) if ent["metrics"] else None
    now = present.now_utc()
    return _render(
        request, "entity.html", user=user, **ctx, platform=platform, level=level,
        entity_id=entity_id, name=ent["name"] or entity_id, metric=chosen,
        metrics=ENTITY_METRICS, chart=entity_chart(ent, chosen, lang=lang, currency=cur)
        if chosen else None,
        end=ent["end"].isoformat() if ent["end"] else None,
        baseline_as_of=ent["baseline_as_of"].isoformat() if ent["baseline_as_of"] else "–",
        totals=present.totals(ent["metrics"], ent["result_metric"], lang=lang, currency=cur)
        if ent["metrics"] else [],
        anomalies=[present.anomaly(a, lang=lang, currency=cur) for a in ent["anomalies"]],
        history=[{"s": present.suggestion({**h["suggestion"], "decision_notes": None},
                                          lang=lang, currency=cur, now=now, can_decide=False),
                  "decisions": h["decisions"], "summary": h["summary"]}
                 for h in ent["history"]],
        executions=[present.execution(x, lang=lang, currency=cur) for x in ent["executions"]],
        title=f"{code(level, lang)} {ent['name'] or entity_id}")


# ------------------------------------------------------------------------------ learning
@router.get("/t/{client_key}/learning")
def learning_page(request: Request, client_key: str) -> Response:
    """Hypothesis outcomes, the calibration chart and Brier score, decision patterns."""
    user = _auth(request)
    if isinstance(user, Response):
        return user
    lang = _lang(request, user)
    try:
        ctx = _tenant_ctx(request, user, client_key, "learning")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            learned = data.learning(conn, tenant_id=tid)
    except NotFound:
        return _not_found(request, user)
    rep = learned["report"]
    return _render(
        request, "learning.html", user=user, **ctx, rep=rep,
        chart=calibration_chart(rep["reliability"], rep["model"], lang=lang),
        brier={k: (None if v is None else f"{v:.3f}".replace(".", "," if lang == "fr" else "."))
               for k, v in rep["brier"].items()},
        bins=[{"bin": b["bin"], "count": b["count"],
               "stated": present.pct(b["mean_stated"], lang),
               "observed": present.pct(b["observed"], lang),
               "ci": (f"{present.pct(b['ci_low'], lang)} – {present.pct(b['ci_high'], lang)}"
                      if b["ci_low"] is not None else "")} for b in rep["reliability"]],
        hypotheses=learned["hypotheses"], fmt_ts=present.fmt_ts,
        entity_link=present.entity_link, title=t("learning.title", lang,
                                                 tenant=ctx["tenant"]["client_name"]))


# ---------------------------------------------------------------------------- validation
@router.get("/t/{client_key}/validation")
def validation_page(request: Request, client_key: str,
                    status: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The creative validation queue of one tenant (newest first)."""
    from growthops.ads.validation import list_items

    user = _auth(request)
    if isinstance(user, Response):
        return user
    lang = _lang(request, user)
    try:
        ctx = _tenant_ctx(request, user, client_key, "validation")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            items, total = list_items(conn, tenant_id=tid, status=status or None, limit=200)
    except NotFound:
        return _not_found(request, user)
    except InvalidInput as exc:
        return _error(request, user, 422, str(exc))
    return _render(request, "validation.html", user=user, **ctx, total=total, status=status,
                   items=[present.validation_item(i, lang=lang, can_decide=user.can_decide)
                          for i in items],
                   title=t("validation.title", lang, tenant=ctx["tenant"]["client_name"]))


@router.post("/t/{client_key}/validation/{queue_id}/{action}")
def validation_action(request: Request, client_key: str, queue_id: int, action: str,
                      reason: Annotated[str, Form(max_length=4000)] = "",
                      csrf: Annotated[str | None, Form()] = None) -> Response:
    """Advance (client → team → approved) or reject one item; answers the re-rendered card."""
    from growthops.ads import validation

    user = _auth(request)
    if isinstance(user, Response):
        return user
    lang = _lang(request, user)
    if action not in ("advance", "reject"):
        return _not_found(request, user)
    try:
        ctx = _tenant_ctx(request, user, client_key, "validation")
    except NotFound:
        return _not_found(request, user)
    if not user.can_decide:
        return _error(request, user, 403, t("error.forbidden", lang))
    if not _csrf_ok(request, csrf):
        return _error(request, user, 403, t("error.csrf", lang))
    tid = ctx["tenant"]["tenant_id"]
    db = get_database(request)
    flash, status = None, 200
    try:
        with db.tenant_tx(tid) as conn:
            if action == "advance":
                validation.advance(conn, tenant_id=tid, queue_id=queue_id, by=user.email,
                                   notes=reason.strip() or None)
            else:
                validation.reject(conn, tenant_id=tid, queue_id=queue_id, by=user.email,
                                  reason=reason)
    except NotFound:
        return _not_found(request, user)
    except (Conflict, InvalidInput) as exc:
        flash = {"kind": "err", "text": t("validation.error", lang, message=str(exc))}
        status = 409 if isinstance(exc, Conflict) else 422
    if not _is_htmx(request):  # a plain form post (scripts off): back to the queue
        return _secure(RedirectResponse(f"/t/{client_key}/validation#v-{queue_id}",
                                        status_code=303))
    with db.tenant_tx(tid) as conn:
        item = validation.get_item(conn, tenant_id=tid, queue_id=queue_id)
    return _render(request, "_validation_item.html", http_status=status, user=user, **ctx,
                   v=present.validation_item(item, lang=lang, can_decide=True, flash=flash))
