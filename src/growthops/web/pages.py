"""The dashboard shell: page rendering, sign-in, language, static assets, the first page.

Pages (GET): ``/login`` and ``/`` (the overview: each installed domain's panel, see
:func:`install_domains`). Actions (POST): ``/login``, ``/logout``, ``/lang``. Each domain adds
its own pages under ``/t/{client_key}/...`` (its ``pages`` router) and renders them with
:func:`render`; its templates are mounted under the prefix ``<domain>/`` and extend
``base.html``, whose tenant tabs come from the domains' ``nav`` entries.

Security: pages need a session user (:func:`growthops.web.deps.current_user`; without one a page
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
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from growthops.core.auth import users
from growthops.core.db import Database
from growthops.core.domains import Domain
from growthops.core.errors import GrowthopsError, NotFound
from growthops.core.i18n import LANGS, N_, _, install_jinja
from growthops.core.logs.scrub import scrub
from growthops.web import limits
from growthops.web.deps import current_user, get_database
from growthops.web.errors import login_redirect
from growthops.web.messages import ROLES, code, register_codes
from growthops.web.sessions import login_session, logout_session

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
STATIC_FILES = ("htmx.min.js", "dashboard.css", "swagger-ui-bundle.js", "swagger-ui.css",
                "swagger-init.js")
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'; object-src 'none'")

#: Shown when a form's CSRF token is missing or stale (shared with the domains' pages).
CSRF_EXPIRED = N_("The form expired (security token). Reload the page and try again.")
#: Shown when a read-only user posts an action.
FORBIDDEN = N_("You may not do this: your account is read-only.")

#: Template folders of the installed domains, by prefix (``{"ads": Path(...)}``).
_DOMAIN_LOADERS: dict[str, jinja2.BaseLoader] = {}
_env = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(_HERE / "templates"),
                                jinja2.PrefixLoader(_DOMAIN_LOADERS)]),
    autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    extensions=["jinja2.ext.i18n"])
install_jinja(_env)  # _(), ngettext(), pgettext(), {% trans %} in the context's ``lang``
_env.globals.update(code=code, tenant_tabs=[], nav_paths={}, default_tab="")
register_codes(ROLES)
#: The overview panels of the installed domains: ``(domain name, callable)``.
_PANELS: list[tuple[str, Any]] = []


def install_domains(domains: list[Domain] | tuple[Domain, ...]) -> None:
    """Mount the domains' templates, tenant tabs and overview panels in the shell.

    Called once by the composition root (:func:`growthops.app.create_app`); idempotent.
    Each domain's templates are reachable as ``"<name>/<file>"``; its ``nav`` entries become
    the tabs of a tenant's pages, in order; its ``overview`` entry point renders its panel on
    ``/``.
    """
    tabs, paths, panels = [], {}, []
    for d in domains:
        if d.templates is not None:
            _DOMAIN_LOADERS[d.name] = jinja2.FileSystemLoader(d.templates)
        for entry in d.nav:
            tabs.append(entry)
            paths.setdefault(entry.key, entry.path)
        panel = d.load("overview")
        if panel is not None:
            panels.append((d.name, panel))
    _env.globals.update(tenant_tabs=tabs, nav_paths=paths,
                        default_tab=tabs[0].path if tabs else "")
    _PANELS[:] = panels


def render_fragment(template: str, /, **ctx: Any) -> Markup:
    """Render ``template`` (no page shell); ``_`` and the filters use ``ctx["lang"]``; safe HTML."""
    return Markup(_env.get_template(template).render(**ctx))


def _static_version(name: str) -> str:
    """A short hash of a static file, appended as ``?v=`` so browsers refetch after a change."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]


_env.globals["static"] = {n: f"/static/{n}?v={_static_version(n)}" for n in STATIC_FILES}


# ------------------------------------------------------------------------------- helpers
def lang_of(request: Request, user: users.User | None) -> str:
    """The page language: the session's choice, else the user's ``lang``, else English."""
    chosen = request.session.get("lang") if "session" in request.scope else None
    if chosen in LANGS:
        return str(chosen)
    return user.lang if user is not None and user.lang in LANGS else "en"


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating it on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, form_token: str | None) -> bool:
    """True when the request carries the session's CSRF token (form field or header)."""
    expected = request.session.get("csrf")
    sent = form_token or request.headers.get("x-csrf-token") or ""
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(expected, sent)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def secure(resp: Response) -> Response:
    """Add the security headers every dashboard response carries."""
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def render(request: Request, template: str, /, *, http_status: int = 200,
            user: users.User | None = None, **ctx: Any) -> HTMLResponse:
    """Render ``template`` with the common context (user, lang, csrf, current path, and
    ``time_zone``: the tenant's when the page has one, else UTC; the ``datetime`` filter and the
    "times in ..." footer use it)."""
    lang = ctx.pop("lang", None) or lang_of(request, user)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    common: dict[str, Any] = {"request_path": request.url.path, "here": here, "user": user, "lang": lang,
              "csrf": csrf_token(request) if user is not None else "", "tenant": None,
              "tenants": [], "nav": "", "title": "", "readonly": False}
    common.update(ctx)
    common.setdefault("time_zone", (common["tenant"] or {}).get("time_zone") or "UTC")
    html = _env.get_template(template).render(**common)
    return secure(HTMLResponse(html, status_code=http_status))  # type: ignore[return-value]


def error_page(request: Request, user: users.User | None, status: int, message: str) -> Response:
    """An error as a page, or as a fragment for htmx (swapped where the action was); the message
    is scrubbed of credentials (:func:`growthops.core.logs.scrub.scrub`)."""
    lang = lang_of(request, user)
    message = scrub(message)
    if is_htmx(request):
        return render(request, "_flash.html", http_status=status, user=user,
                       flash={"kind": "err", "text": message}, lang=lang)
    return render(request, "error.html", http_status=status, user=user, message=message,
                   title=_(lang, "Error"), lang=lang)


def not_found(request: Request, user: users.User | None) -> Response:
    return error_page(request, user, 404, _(lang_of(request, user), "Page not found."))


def auth(request: Request) -> users.User | Response:
    """Return the session user, or the response sending the browser to the login page."""
    try:
        return current_user(request)
    except users.LoginRequired:
        if is_htmx(request):
            return secure(Response(status_code=200, headers={"HX-Redirect": "/login"}))
        return login_redirect(request)
    except users.PermissionDenied as exc:
        return error_page(request, None, 403, str(exc))


def safe_next(target: str | None) -> str:
    """A same-site path to go back to (``/`` for anything else: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def tenant_ctx(request: Request, user: users.User, client_key: str,
                nav: str) -> dict[str, Any]:
    """Resolve ``client_key`` for ``user`` (NotFound when invisible) and the navigation."""
    visible = visible_tenants(get_database(request), user)
    for tn in visible:
        if tn["client_key"] == client_key:
            return {"tenant": tn, "tenants": visible, "nav": nav,
                    "readonly": not user.can_decide}
    raise NotFound(f"no client {client_key!r}")


def staff_post(request: Request, client_key: str, nav: str,
               csrf: str | None) -> tuple[Any, dict[str, Any] | None, str]:
    """The checks every dashboard form POST makes, in order: a session user (else the login
    redirect), ``client_key`` visible to them (else 404), a role that may decide (else 403,
    :data:`FORBIDDEN`) and the form's CSRF token (else 403, :data:`CSRF_EXPIRED`).

    Returns ``(user, ctx, lang)`` with ``ctx`` from :func:`tenant_ctx` when every check
    passes, else ``(response, None, lang)``: the caller returns ``response`` as it is.
    """
    user = auth(request)
    if isinstance(user, Response):
        return user, None, "en"
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, nav)
    except NotFound:
        return not_found(request, user), None, lang
    if not user.can_decide:
        return error_page(request, user, 403, _(lang, FORBIDDEN)), None, lang
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, CSRF_EXPIRED)), None, lang
    return user, ctx, lang


def directory(db: Database) -> list[dict[str, Any]]:
    """Return every tenant's id, key, name, time zone and currency, ordered by key."""
    with db.app_tx() as conn:
        return conn.execute("select * from core.tenant_directory()").fetchall()


def visible_tenants(db: Database, user: Any) -> list[dict[str, Any]]:
    """Return the directory rows of the tenants ``user`` may see (``user.can_access``)."""
    return [r for r in directory(db) if user.can_access(r["tenant_id"])]


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
        return RedirectResponse(safe_next(next), status_code=303)
    except GrowthopsError:
        pass
    return render(request, "login.html", next=safe_next(next), error=None,
                   title=_(lang_of(request, None), "Sign in"))


@router.post("/login")
def login(request: Request, email: Annotated[str, Form(max_length=254)] = "",
          password: Annotated[str, Form(max_length=1024)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Check e-mail and password, start the session, go to ``next`` (401 and the form again)."""
    lang = lang_of(request, None)
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower():
        return error_page(request, None, 403, _(lang, CSRF_EXPIRED))
    try:
        limits.check_login_account(request, email)
        user = users.authenticate(get_database(request), email=email, password=password)
    except limits.TooManyRequests as exc:
        resp = render(request, "login.html", http_status=429, next=safe_next(next),
                      error=_(lang, "Too many failed sign-ins for this account: try again in "
                                    "{seconds} seconds.", seconds=exc.retry_after),
                      email=email, title=_(lang, "Sign in"))
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except users.InvalidCredentials:
        limits.login_failed(request, email)
        return render(request, "login.html", http_status=401, next=safe_next(next),
                       error=_(lang, "Invalid e-mail or password."), email=email,
                       title=_(lang, "Sign in"))
    limits.login_succeeded(request, email)
    login_session(request, user)
    csrf_token(request)
    return secure(RedirectResponse(safe_next(next), status_code=303))


@router.api_route("/logout", methods=["GET", "POST"])
def logout(request: Request) -> Response:
    """End the session and show the sign-in form."""
    logout_session(request)
    return secure(RedirectResponse("/login", status_code=303))


@router.post("/lang")
def switch_lang(request: Request, lang: Annotated[str, Form()],
                next: Annotated[str, Form(max_length=2000)] = "/",
                csrf: Annotated[str | None, Form()] = None) -> Response:
    """Switch the page language (kept in the session and saved on the user)."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang_of(request, user), CSRF_EXPIRED))
    if lang not in LANGS:
        return error_page(request, user, 422, f"lang: {lang!r} is not one of {', '.join(LANGS)}")
    request.session["lang"] = lang
    users.set_lang(get_database(request), user_id=user.user_id, lang=lang)
    return secure(RedirectResponse(safe_next(next), status_code=303))


# ------------------------------------------------------------------------------ overview
@router.get("/")
def overview_page(request: Request) -> Response:
    """The first page: each installed domain's panel for the tenants the user may see."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    panels = [{"domain": name, "html": panel(request, user, lang)} for name, panel in _PANELS]
    return render(request, "overview.html", user=user, nav="overview", panels=panels,
                  title=_(lang, "Overview"))
