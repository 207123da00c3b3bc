"""The settings page of the dashboard: ``/t/{client_key}/settings``.

GET shows a tenant's business settings: client name, target ROAS (``core.tenants.roi_target``),
the target CPA of each ad platform (``ads.platform_configs.max_cpa``), the monthly budget limit,
currency, time zone, Slack channel, how often the worker allocates each platform's budgets
(``ads.platform_configs.allocation_cadence``, :mod:`growthops.ads.allocation.schedule`), then its
products and funnels (``core.products``,
``core.funnels``) and the last changes. POSTs (staff only: the roles whose ``can_decide`` is
true, admin and media_buyer, as on every dashboard action; CSRF token):

* ``/t/{client_key}/settings``: the tenant's fields through
  :func:`growthops.core.tenants.service.update_tenant` (the one implementation the CLI's
  ``growthops tenants update`` and the API's ``PATCH /v1/tenants/{key}`` use; audited in
  ``core.system_logs``) and the target CPAs and allocation cadences through
  :func:`growthops.ads.cli.config.update_platform_config` (``growthops config set``; audited in
  the ads audit trail), both in one transaction;
* ``/t/{client_key}/settings/products`` and ``.../settings/funnels``: add or change one row
  through :mod:`growthops.core.tenants.catalog` (audited like the tenant's fields; a funnel's
  ``campaign_ids`` one per line or comma-separated, empty: every campaign no other funnel
  names), as ``growthops tenants products|funnels set`` (:mod:`growthops.cli.catalog`);
* ``/t/{client_key}/settings/slack``: the tenant's Slack settings (``ads.slack_settings``:
  language of the messages, alerts channel, mode threads / digest / both, lowest alerted
  severity) through :func:`growthops.ads.reporting.slack_threads.change_prefs`, the function of
  ``growthops slack settings`` (audited in ``core.system_logs``, module ``growthops.ads.slack``,
  shown in the page's recent changes).

Every value is validated before anything is written; on an error the page comes back (422) with
the submitted values and the message next to each field, in the user's language, and nothing is
saved. Answers 303 to the page after a change. Registered on :data:`growthops.ads.pages.router`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from growthops.ads.allocation.schedule import CADENCES, DEFAULT_CADENCE
from growthops.ads.pages import router
from growthops.ads.reporting.slack_threads import PREFS_MODULE
from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.core.i18n import N_, _, format_datetime, pgettext
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

#: The tenant's fields on the page, in order: (form name, label, nullable).
TENANT_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("client_name", N_("Client name"), False),
    ("roi_target", N_("Target ROAS (conversion value / spend)"), False),
    ("monthly_budget_max", N_("Monthly budget limit"), True),
    ("currency", N_("Currency (ISO 4217)"), False),
    ("time_zone", N_("Time zone (IANA)"), False),
    ("slack_validation_channel", N_("Slack channel (name)"), True),
    ("slack_channel_id", N_("Slack channel id"), True),
)
#: The allocation cadences (:data:`growthops.ads.allocation.schedule.CADENCES`) as shown.
CADENCE_LABELS: dict[str, str] = {"off": N_("never"), "daily": N_("every day"),
                                  "weekly": N_("every week"), "monthly": N_("every month")}
_DECIMALS = {"roi_target", "monthly_budget_max", "price"}
#: The Slack settings on the page (form name = ``ads.slack_settings`` column, label).
SLACK_FIELDS: tuple[tuple[str, str], ...] = (
    ("lang", N_("Language of the Slack messages")),
    ("alerts_channel", N_("Slack alerts channel (id or #name; empty: the Slack channel)")),
    ("mode", N_("Slack messages")),
    ("alert_min_severity", N_("Lowest severity alerted in Slack")),
)
SLACK_LANGS: dict[str, str] = {"": N_("the reader's (English for the worker)"),
                               "en": N_("English"), "fr": N_("French")}
SLACK_MODES: dict[str, str] = {"threads": N_("one message per suggestion, with its thread"),
                               "digest": N_("the daily digest only"),
                               "both": N_("both")}
SLACK_SEVERITIES: dict[str, str] = {"low": N_("low"), "medium": N_("medium"), "high": N_("high"),
                                    "critical": N_("critical")}
BAD_SLACK_CHANNEL = N_("A channel id or #name of 1 to 200 characters, without spaces.")
HISTORY_SLACK = N_("{who} changed the Slack settings: {fields}")


def choices(lang: str) -> dict[str, list[tuple[str, str]]]:
    """The codes of ``core.products.product_type`` / ``status`` and ``core.funnels.funnel_type``
    (migration 0001's checks) with their labels in ``lang``."""
    return {
        "product_types": [
            ("coaching_program", pgettext(lang, "product type", "coaching program")),
            ("course", pgettext(lang, "product type", "course")),
            ("software", pgettext(lang, "product type", "software")),
            ("physical_product", pgettext(lang, "product type", "physical product")),
            ("service", pgettext(lang, "product type", "service"))],
        "product_statuses": [
            ("active", pgettext(lang, "product status", "active")),
            ("paused", pgettext(lang, "product status", "paused")),
            ("deprecated", pgettext(lang, "product status", "deprecated"))],
        "funnel_types": [
            ("webinar", pgettext(lang, "funnel type", "webinar")),
            ("vsl", pgettext(lang, "funnel type", "video sales letter")),
            ("application", pgettext(lang, "funnel type", "application")),
            ("book-call", pgettext(lang, "funnel type", "book a call")),
            ("ecom", pgettext(lang, "funnel type", "e-commerce")),
            ("hybrid", pgettext(lang, "funnel type", "hybrid"))],
    }


#: Messages shown next to a field, by pydantic error type.
MESSAGES: dict[str, str] = {
    "greater_than": N_("Must be greater than {gt}."),
    "greater_than_equal": N_("Must be at least {ge}."),
    "less_than_equal": N_("Must be at most {le}."),
    "less_than": N_("Must be less than {lt}."),
    "decimal_max_places": N_("At most {decimal_places} decimal places."),
    "decimal_max_digits": N_("Too many digits."),
    "decimal_parsing": N_("Must be a number."),
    "decimal_type": N_("Must be a number."),
    "int_parsing": N_("Must be a whole number."),
    "string_too_short": N_("Required."),
    "string_too_long": N_("At most {max_length} characters."),
    "too_long": N_("At most {max_length} items."),
    "literal_error": N_("Must be one of: {expected}."),
    # core.tenants.catalog's own checks
    "stage_length": N_("Each stage needs 1 to 100 characters."),
    "benchmark_fraction": N_("{key}: {value} is not a fraction between 0 and 1."),
    "benchmark_keys": N_("{keys}: not two consecutive stages (expected: {expected})."),
    "campaign_id_length": N_("Each campaign id needs 1 to 200 characters."),
}
REQUIRED = N_("Required.")
BAD_CURRENCY = N_("Must be a three-letter ISO 4217 code, e.g. EUR.")
BAD_ZONE = N_("Unknown time zone: use an IANA name, e.g. Europe/Paris.")
BAD_BENCHMARK_LINE = N_("Line {n}: write stage_to_next_stage = fraction, e.g. "
                        "webinar_to_application = 0.3.")
CURRENCY_LOCKED = N_("The currency cannot change: the client has ad metrics in {currency} (every "
                     "stored amount would be relabelled, not converted).")
NOT_SAVED = N_("Nothing was saved: correct the fields marked below.")
SAVED = N_("Saved.")
HISTORY_TENANT = N_("{who} changed {fields}")
HISTORY_PRODUCT = N_("{who} changed product {id}: {fields}")
HISTORY_PRODUCT_ADDED = N_("{who} added product {id}")
HISTORY_FUNNEL = N_("{who} changed funnel {id}: {fields}")
HISTORY_FUNNEL_ADDED = N_("{who} added funnel {id}")


def _message(err: dict[str, Any], field: str, lang: str) -> str:
    """One pydantic error as a sentence in ``lang`` (the field is named by its place)."""
    kind = err.get("type", "")
    if field == "currency" and kind == "string_pattern_mismatch":
        return _(lang, BAD_CURRENCY)
    if field == "time_zone" and kind == "value_error":
        return _(lang, BAD_ZONE)
    if kind == "value_error" and "cannot be removed" in str(err.get("msg")):
        return _(lang, REQUIRED)
    if kind in MESSAGES:
        ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
        try:
            return _(lang, MESSAGES[kind], **ctx)
        except (KeyError, IndexError):
            pass
    return str(err.get("msg", kind)).removeprefix("Value error, ")


def field_errors(exc: ValidationError, lang: str, default: str = "") -> dict[str, str]:
    """Map a :class:`ValidationError` to ``{form field: message in lang}`` (the first error of
    each field; a model-level error goes to ``default``)."""
    out: dict[str, str] = {}
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else default
        out.setdefault(field, _message(dict(e), field, lang))
    return out


def _decimal_text(raw: str) -> str:
    """A typed amount as a decimal string: spaces dropped, a decimal comma accepted."""
    return re.sub(r"[\s\u00a0\u202f]", "", raw).replace(",", ".")


def _tenant_data(form: dict[str, str]) -> dict[str, Any]:
    """The tenant's fields as :class:`TenantUpdate` input (empty: None)."""
    data: dict[str, Any] = {}
    for name, _label, _nullable in TENANT_FIELDS:
        if name not in form:
            continue
        raw = form[name].strip()
        if name == "currency":
            raw = raw.upper()
        data[name] = None if raw == "" else (_decimal_text(raw) if name in _DECIMALS else raw)
    return data


def _platforms(conn: Any, tid: Any) -> list[str]:
    """Platforms with stored settings or an account; ``meta`` when there is neither."""
    rows = conn.execute(
        """select platform from ads.platform_configs where tenant_id = %s
           union select platform from ads.ad_accounts where tenant_id = %s order by 1""",
        [str(tid), str(tid)]).fetchall()
    return [r["platform"] for r in rows] or ["meta"]


def _load(db: Any, tid: Any) -> dict[str, Any]:
    """Everything the page shows, read in one tenant transaction."""
    from growthops.core.tenants.catalog import list_funnels, list_products

    with db.tenant_tx(tid) as conn:
        tenant = conn.execute("select * from core.tenants where tenant_id = %s", [str(tid)]).fetchone()
        platforms = _platforms(conn, tid)
        configs = {r["platform"]: r for r in conn.execute(
            "select platform, max_cpa, allocation_cadence from ads.platform_configs "
            "where tenant_id = %s", [str(tid)]).fetchall()}
        products = list_products(conn, tenant_id=tid)
        funnels = list_funnels(conn, tenant_id=tid)
        history = conn.execute(
            """select logged_at, message, context, module from core.system_logs
               where tenant_id = %s and module = any(%s)
               order by id desc limit 10""",
            [str(tid), ["growthops.core.tenants", PREFS_MODULE]]).fetchall()
        slack = conn.execute(
            "select lang, alerts_channel, mode, alert_min_severity from ads.slack_settings "
            "where tenant_id = %s", [str(tid)]).fetchone() or {}
    if tenant is None:
        raise NotFound("no tenant")
    return {"row": tenant, "platforms": platforms, "configs": configs, "products": products,
            "funnels": funnels, "history": history, "slack": slack}


def history_line(entry: dict[str, Any], lang: str) -> str:
    """One audited change of ``core.system_logs`` (module ``growthops.core.tenants``) in
    ``lang``: who changed which fields, from its context; the stored message otherwise."""
    c = entry.get("context") or {}
    if not isinstance(c, dict) or "by" not in c or not isinstance(c.get("after"), dict):
        return str(entry["message"])
    labels = {n: _(lang, label) for n, label, _x in TENANT_FIELDS}
    if entry.get("module") == PREFS_MODULE:
        slack = {n: _(lang, label) for n, label in SLACK_FIELDS}
        return _(lang, HISTORY_SLACK, who=c["by"],
                 fields=", ".join(slack.get(k, k) for k in c["after"]))
    order = [n for n in labels if n in c["after"]] + sorted(set(c["after"]) - set(labels))
    fields = ", ".join(labels.get(k, k) for k in order)
    if "product" in c:
        msg = HISTORY_PRODUCT_ADDED if not c.get("before") else HISTORY_PRODUCT
        return _(lang, msg, who=c["by"], id=c["product"], fields=fields)
    if "funnel" in c:
        msg = HISTORY_FUNNEL_ADDED if not c.get("before") else HISTORY_FUNNEL
        return _(lang, msg, who=c["by"], id=c["funnel"], fields=fields)
    return _(lang, HISTORY_TENANT, who=c["by"], fields=fields)


def _text(v: Any) -> str:
    if v is None:
        return ""
    return str(v).strip()


def _funnel_form(f: dict[str, Any]) -> dict[str, str]:
    return {"funnel_name": f["funnel_name"], "funnel_type": f["funnel_type"] or "",
            "stages": "\n".join(f["stages"] or []),
            "conversion_benchmarks": "\n".join(f"{k} = {v}" for k, v in
                                               (f["conversion_benchmarks"] or {}).items()),
            "product_id": _text(f["product_id"]),
            "campaign_ids": "\n".join(f.get("campaign_ids") or [])}


def _page(request: Request, user: Any, ctx: dict[str, Any], lang: str, *, status: int = 200,
          form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          which: str = "", flash: dict[str, str] | None = None) -> Response:
    """Render the page; ``form``/``errors`` refill the form ``which`` after a refused POST."""
    tid = ctx["tenant"]["tenant_id"]
    got = _load(get_database(request), tid)
    row = got["row"]
    values = {name: _text(row[name]) for name, _l, _n in TENANT_FIELDS}
    for p in got["platforms"]:
        cfg = got["configs"].get(p) or {}
        values[f"max_cpa:{p}"] = _text(cfg.get("max_cpa"))
        values[f"allocation_cadence:{p}"] = cfg.get("allocation_cadence") or DEFAULT_CADENCE
    products = [{**p, "form": {"product_name": p["product_name"],
                               "product_type": p["product_type"] or "",
                               "price": _text(p["price"]),
                               "payment_options": p["payment_options"] or "",
                               "status": p["status"]}} for p in got["products"]]
    funnels = [{**f, "form": _funnel_form(f)} for f in got["funnels"]]
    blank_product = {"product_name": "", "product_type": "", "price": "", "payment_options": "",
                     "status": "active"}
    blank_funnel = {"funnel_name": "", "funnel_type": "", "stages": "", "conversion_benchmarks": "",
                    "product_id": "", "campaign_ids": ""}
    slack = {"lang": got["slack"].get("lang") or "",
             "alerts_channel": got["slack"].get("alerts_channel") or "",
             "mode": got["slack"].get("mode") or "threads",
             "alert_min_severity": got["slack"].get("alert_min_severity") or "high"}
    if form is not None:  # put the refused values back where they were typed
        if which == "slack":
            slack.update(form)
        if which == "tenant":
            values.update(form)
        elif which.startswith("product:"):
            target = next((p for p in products if str(p["product_id"]) == which[8:]), None)
            (target["form"] if target else blank_product).update(form)
        elif which.startswith("funnel:"):
            target = next((f for f in funnels if str(f["funnel_id"]) == which[7:]), None)
            (target["form"] if target else blank_funnel).update(form)
    return render(
        request, "ads/settings.html", http_status=status, user=user, **ctx,
        fields=[{"name": n, "label": _(lang, label), "value": values[n]}
                for n, label, _x in TENANT_FIELDS],
        cpa_fields=[{"name": f"max_cpa:{p}", "platform": p, "value": values[f"max_cpa:{p}"],
                     "cadence_name": f"allocation_cadence:{p}",
                     "cadence": values[f"allocation_cadence:{p}"]} for p in got["platforms"]],
        cadences=[(c, _(lang, CADENCE_LABELS[c])) for c in CADENCES],
        slack=slack, slack_labels={n: _(lang, label) for n, label in SLACK_FIELDS},
        slack_langs=[(k, _(lang, v)) for k, v in SLACK_LANGS.items()],
        slack_modes=[(k, _(lang, v)) for k, v in SLACK_MODES.items()],
        slack_severities=[(k, _(lang, v)) for k, v in SLACK_SEVERITIES.items()],
        products=products, funnels=funnels, blank_product=blank_product,
        blank_funnel=blank_funnel, **choices(lang), errors=errors or {}, which=which, flash=flash,
        history=[{"at": format_datetime(h["logged_at"], ctx["tenant"]["time_zone"], lang),
                  "message": history_line(h, lang)} for h in got["history"]],
        title=_(lang, "Settings · {tenant}", tenant=ctx["tenant"]["client_name"]))


@router.get("/t/{client_key}/settings")
def settings_page(request: Request, client_key: str, saved: int = 0) -> Response:
    """A tenant's targets, budget limit, currency, time zone, Slack, products and funnels."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "settings")
        return _page(request, user, ctx, lang,
                     flash={"kind": "ok", "text": _(lang, SAVED)} if saved else None)
    except NotFound:
        return not_found(request, user)


async def _guarded(request: Request, client_key: str) -> tuple[Any, Any, str, dict[str, str]] | Response:
    """Common checks of the POSTs: session, visible tenant, staff role, CSRF; the form."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    user = await run_in_threadpool(auth, request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = await run_in_threadpool(tenant_ctx, request, user, client_key, "settings")
    except NotFound:
        return not_found(request, user)
    if not user.can_decide:
        return error_page(request, user, 403, _(lang, FORBIDDEN))
    if not csrf_ok(request, form.get("csrf")):
        return error_page(request, user, 403, _(lang, CSRF_EXPIRED))
    return user, ctx, lang, form


def _refused(request: Request, user: Any, ctx: dict[str, Any], lang: str, form: dict[str, str],
             errors: dict[str, str], which: str) -> Response:
    return _page(request, user, ctx, lang, status=422, form=form, errors=errors, which=which,
                 flash={"kind": "err", "text": _(lang, NOT_SAVED)})


def _save_tenant(request: Request, user: Any, ctx: dict[str, Any], lang: str,
                 form: dict[str, str]) -> Response:
    from growthops.ads.cli.config import update_platform_config, validate_settings
    from growthops.core.tenants.models import TenantUpdate
    from growthops.core.tenants.service import update_tenant

    tid = ctx["tenant"]["tenant_id"]
    db = get_database(request)
    errors: dict[str, str] = {}
    changes = None
    try:
        changes = TenantUpdate.model_validate(_tenant_data(form))
    except ValidationError as exc:
        errors.update(field_errors(exc, lang))
    with db.tenant_tx(tid) as conn:
        platforms = _platforms(conn, tid)
    cpa: dict[str, dict[str, Any]] = {}
    for p in platforms:
        name, cadence = f"max_cpa:{p}", f"allocation_cadence:{p}"
        if name in form:
            raw = _decimal_text(form[name]) or "none"
            try:
                cpa.setdefault(p, {}).update(validate_settings({"max_cpa": raw}, {}, lang=lang)[0])
            except InvalidInput as exc:  # "--max-cpa: ..." or "--max-cpa : ..." (CLI wording)
                errors[name] = re.sub(r"^--max-cpa\s?:\s*", "", str(exc))
        if cadence in form:
            try:
                cpa.setdefault(p, {}).update(validate_settings(
                    {}, {}, allocation_cadence=form[cadence], lang=lang)[0])
            except InvalidInput as exc:
                errors[cadence] = re.sub(r"^--allocation-cadence\s?:\s*", "", str(exc))
    if errors or changes is None:
        return _refused(request, user, ctx, lang, form, errors, "tenant")
    try:
        with db.tenant_tx(tid) as conn:  # one transaction: all or nothing
            update_tenant(conn, tenant_id=tid, changes=changes, by=user.email)
            for p, c in cpa.items():
                update_platform_config(conn, tenant_id=tid, platform=p, changes=c, protect=[],
                                       unprotect=[], by=user.email)
    except Conflict:
        return _refused(request, user, ctx, lang, form, {"currency": _(
            lang, CURRENCY_LOCKED, currency=ctx["tenant"]["currency"].strip())}, "tenant")
    except InvalidInput as exc:
        return _refused(request, user, ctx, lang, form, {"client_name": str(exc)}, "tenant")
    return secure(RedirectResponse(f"/t/{ctx['tenant']['client_key']}/settings?saved=1",
                                   status_code=303))


def _row_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise NotFound(f"bad id {raw!r}")
    return int(raw)


def _save_product(request: Request, user: Any, ctx: dict[str, Any], lang: str,
                  form: dict[str, str]) -> Response:
    from growthops.core.tenants.catalog import ProductIn, save_product

    tid = ctx["tenant"]["tenant_id"]
    try:
        pid = _row_id(form.get("product_id"))
    except NotFound:
        return not_found(request, user)
    fields = ("product_name", "product_type", "price", "payment_options", "status")
    typed = {k: form.get(k, "").strip() for k in fields}
    data: dict[str, Any] = {k: (None if v == "" else v) for k, v in typed.items()}
    if data["price"] is not None:
        data["price"] = _decimal_text(data["price"])
    if data["status"] is None:
        data["status"] = "active"
    if data["product_name"] is None:
        data["product_name"] = ""
    which = f"product:{pid or 'new'}"
    try:
        product = ProductIn.model_validate(data)
    except ValidationError as exc:
        return _refused(request, user, ctx, lang, typed, field_errors(exc, lang), which)
    try:
        with get_database(request).tenant_tx(tid) as conn:
            save_product(conn, tenant_id=tid, product_id=pid, product=product, by=user.email)
    except NotFound:
        return not_found(request, user)
    return secure(RedirectResponse(f"/t/{ctx['tenant']['client_key']}/settings?saved=1#products",
                                   status_code=303))


def parse_benchmarks(text: str, lang: str) -> dict[str, str]:
    """Parse ``key = fraction`` lines (a ``%`` suffix divides by 100); raise :class:`InvalidInput`
    in ``lang`` naming the first bad line."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        value = _decimal_text(value)
        pct = value.endswith("%")
        try:
            number = Decimal(value.rstrip("%"))
        except InvalidOperation:
            number = None
        if not sep or not key.strip() or number is None:
            raise InvalidInput(_(lang, BAD_BENCHMARK_LINE, n=n))
        out[key.strip()] = str(number / 100 if pct else number)
    return out


def _save_funnel(request: Request, user: Any, ctx: dict[str, Any], lang: str,
                 form: dict[str, str]) -> Response:
    from growthops.core.tenants.catalog import FunnelIn, save_funnel

    tid = ctx["tenant"]["tenant_id"]
    try:
        fid = _row_id(form.get("funnel_id"))
    except NotFound:
        return not_found(request, user)
    fields = ("funnel_name", "funnel_type", "stages", "conversion_benchmarks", "product_id",
              "campaign_ids")
    typed = {k: form.get(k, "").strip() for k in fields}
    which = f"funnel:{fid or 'new'}"
    errors: dict[str, str] = {}
    try:
        bench: dict[str, str] = parse_benchmarks(typed["conversion_benchmarks"], lang)
    except InvalidInput as exc:
        errors["conversion_benchmarks"], bench = str(exc), {}
    data = {"funnel_name": typed["funnel_name"], "funnel_type": typed["funnel_type"] or None,
            "stages": [s.strip() for s in typed["stages"].splitlines() if s.strip()],
            "conversion_benchmarks": bench, "product_id": typed["product_id"] or None,
            "campaign_ids": [x.strip() for x in re.split(r"[\n,]", typed["campaign_ids"])
                             if x.strip()]}
    funnel = None
    try:
        funnel = FunnelIn.model_validate(data)
    except ValidationError as exc:
        for k, v in field_errors(exc, lang, default="conversion_benchmarks").items():
            errors.setdefault(k, v)
    if errors or funnel is None:
        return _refused(request, user, ctx, lang, typed, errors, which)
    try:
        with get_database(request).tenant_tx(tid) as conn:
            save_funnel(conn, tenant_id=tid, funnel_id=fid, funnel=funnel, by=user.email)
    except NotFound:
        return not_found(request, user)
    except InvalidInput as exc:
        return _refused(request, user, ctx, lang, typed, {"product_id": str(exc)}, which)
    return secure(RedirectResponse(f"/t/{ctx['tenant']['client_key']}/settings?saved=1#funnels",
                                   status_code=303))


def _save_slack(request: Request, user: Any, ctx: dict[str, Any], lang: str,
                form: dict[str, str]) -> Response:
    from growthops.ads.reporting.slack_threads import change_prefs

    tid = ctx["tenant"]["tenant_id"]
    typed = {k: form.get(k, "").strip() for k, _label in SLACK_FIELDS}
    errors: dict[str, str] = {}
    if typed["lang"] not in SLACK_LANGS:
        errors["lang"] = _(lang, MESSAGES["literal_error"], expected="en, fr")
    if typed["mode"] not in SLACK_MODES:
        errors["mode"] = _(lang, MESSAGES["literal_error"], expected=", ".join(SLACK_MODES))
    if typed["alert_min_severity"] not in SLACK_SEVERITIES:
        errors["alert_min_severity"] = _(lang, MESSAGES["literal_error"],
                                         expected=", ".join(SLACK_SEVERITIES))
    ch = typed["alerts_channel"]
    if len(ch) > 200 or any(c.isspace() for c in ch):
        errors["alerts_channel"] = _(lang, BAD_SLACK_CHANNEL)
    if errors:
        return _refused(request, user, ctx, lang, typed, errors, "slack")
    try:
        with get_database(request).tenant_tx(tid) as conn:
            change_prefs(conn, tenant_id=tid, by=user.email, lang=typed["lang"] or None,
                         alerts_channel=ch or None, mode=typed["mode"],
                         alert_min_severity=typed["alert_min_severity"])
    except InvalidInput as exc:  # the service's own checks (named field first)
        name = str(exc).split(":", 1)[0]
        return _refused(request, user, ctx, lang, typed,
                        {name if name in typed else "alerts_channel": str(exc)}, "slack")
    return secure(RedirectResponse(f"/t/{ctx['tenant']['client_key']}/settings?saved=1#slack",
                                   status_code=303))


@router.post("/t/{client_key}/settings/slack")
async def settings_slack(request: Request, client_key: str) -> Response:
    """Change the tenant's Slack settings; 303, or 422 with errors."""
    got = await _guarded(request, client_key)
    if isinstance(got, Response):
        return got
    return await run_in_threadpool(_save_slack, request, *got)


@router.post("/t/{client_key}/settings")
async def settings_save(request: Request, client_key: str) -> Response:
    """Change the tenant's fields and target CPAs (all or nothing); 303, or 422 with errors."""
    got = await _guarded(request, client_key)
    if isinstance(got, Response):
        return got
    return await run_in_threadpool(_save_tenant, request, *got)


@router.post("/t/{client_key}/settings/products")
async def settings_product(request: Request, client_key: str) -> Response:
    """Add a product (no ``product_id``) or change one; 303, or 422 with errors."""
    got = await _guarded(request, client_key)
    if isinstance(got, Response):
        return got
    return await run_in_threadpool(_save_product, request, *got)


@router.post("/t/{client_key}/settings/funnels")
async def settings_funnel(request: Request, client_key: str) -> Response:
    """Add a funnel (no ``funnel_id``) or change one; 303, or 422 with errors."""
    got = await _guarded(request, client_key)
    if isinstance(got, Response):
        return got
    return await run_in_threadpool(_save_funnel, request, *got)
