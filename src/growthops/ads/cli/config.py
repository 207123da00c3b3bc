"""``growthops config show | set``: a tenant's settings per ad platform, without SQL.

The settings are the row of ``ads.platform_configs`` (migrations 0002 and 0004) for a tenant
and platform: the result metric and targets the daily cycle reads (:mod:`growthops.ads.config`),
the guard rails every execution is checked against (:mod:`growthops.ads.action.guardrails`) and the
auto-apply policy (:func:`growthops.ads.action.autoapply.auto_apply`). A platform without a row runs on
the columns' defaults, which :func:`config_defaults` reads from the database itself.

``config set`` validates every value against the column's check constraint and precision
before touching the database (all problems are reported at once, each naming its option), then
upserts the row and appends the before / after to the audit trail in the tenant's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

import typer
from psycopg import Rollback, sql
from rich.table import Table

from growthops.ads.cli.app import app
from growthops.ads.config import RESULT_COLUMNS
from growthops.core.cli import LangOpt, TenantOpt, _lang, _one, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.errors import InvalidInput
from growthops.core.i18n import N_, _, format_datetime, format_money, format_percent

config_app = typer.Typer(help="A tenant's settings per ad platform: targets, guard rails, "
                              "auto-apply.", no_args_is_help=True)
app.add_typer(config_app, name="config")

#: The ad platforms ``ads.metrics_daily.platform`` accepts (migration 0002's check).
PLATFORMS = ("meta", "google", "display", "tiktok", "linkedin", "other")
#: Longest entity id accepted in ``--protect`` (platform ids are far shorter).
MAX_ENTITY_ID = 200


@dataclass(frozen=True)
class NumberSetting:
    """One numeric column of ``ads.platform_configs`` and the bounds of its check constraint.

    ``places`` is the column's scale (0: an integer column); ``hi`` the largest value its
    precision holds when the check sets no upper bound; ``nullable``: the value ``none``
    clears it (NULL: the tenant-level fallback applies).
    """

    column: str
    option: str
    lo: Decimal
    lo_open: bool
    hi: Decimal
    hi_open: bool
    places: int
    nullable: bool = False


#: Numeric settings. Bounds: the check constraints of migrations 0002 (target_roas > 0,
#: max_cpa > 0, min_daily_budget >= 0, 0 < max_change_pct <= 100, 0 < fdr_q < 1) and 0004
#: (0 < max_change_pct_24h <= 100, 50 <= min_auto_apply_confidence <= 100); upper bounds
#: without a check are the largest value of the column's numeric(p, s).
NUMBERS = (
    NumberSetting("target_roas", "--target-roas", Decimal(0), True, Decimal("99999.999"), False, 3, True),
    NumberSetting("max_cpa", "--max-cpa", Decimal(0), True, Decimal("999999999999.99"), False, 2, True),
    NumberSetting("min_daily_budget", "--min-daily-budget", Decimal(0), False,
                  Decimal("999999999999.99"), False, 2),
    NumberSetting("max_change_pct", "--max-change-pct", Decimal(0), True, Decimal(100), False, 2),
    NumberSetting("max_change_pct_24h", "--max-change-pct-24h", Decimal(0), True, Decimal(100), False, 2),
    NumberSetting("fdr_q", "--fdr-q", Decimal(0), True, Decimal(1), True, 3),
    NumberSetting("min_auto_apply_confidence", "--min-auto-apply-confidence", Decimal(50), False,
                  Decimal(100), False, 0),
)

#: Every setting shown by ``config show``, in order, with the option of ``config set`` for it.
SHOWN = (
    ("auto_apply_recommendations", "--auto-apply/--no-auto-apply"),
    ("min_auto_apply_confidence", "--min-auto-apply-confidence"),
    ("max_change_pct", "--max-change-pct"),
    ("max_change_pct_24h", "--max-change-pct-24h"),
    ("min_daily_budget", "--min-daily-budget"),
    ("protected_entity_ids", "--protect / --unprotect"),
    ("dry_run", "--dry-run/--no-dry-run"),
    ("validate_only", "--validate-only/--no-validate-only"),
    ("allow_learning_edits", "--allow-learning-edits/--no-allow-learning-edits"),
    ("result_metric", "--result-metric"),
    ("target_roas", "--target-roas"),
    ("max_cpa", "--max-cpa"),
    ("fdr_q", "--fdr-q"),
    ("recommendations_enabled", "--recommendations/--no-recommendations"),
    ("anomaly_detection_enabled", "--anomaly-detection/--no-anomaly-detection"),
    ("allocation_cadence", "--allocation-cadence"),  # migration 0130
)
_COLUMNS = tuple(c for c, _ in SHOWN)


#: What each numeric setting means, named in range errors.
WHAT: dict[str, str] = {
    "target_roas": N_("target ROAS: conversion value / spend"),
    "max_cpa": N_("maximum cost per result, in the tenant's currency"),
    "min_daily_budget": N_("floor of a daily budget cut, in the tenant's currency"),
    "max_change_pct": N_("percent of the live budget or bid per action"),
    "max_change_pct_24h": N_("net percent change of one entity over 24 h"),
    "fdr_q": N_("false discovery rate of the anomaly tests, a fraction"),
    "min_auto_apply_confidence": N_("percent confidence a suggestion needs to be auto-applied"),
}
#: The execution modes, as the auto-apply warning words them.
MODES: dict[str, str] = {
    "live": N_("live (changes are sent)"),
    "dry_run": N_("dry run (nothing is sent)"),
    "validate_only": N_("validate only (the platform checks, nothing is applied)"),
}


def _bounds(s: NumberSetting, lang: str) -> str:
    lo = f"{'>' if s.lo_open else '≥'} {s.lo}"
    hi = f"{'<' if s.hi_open else '≤'} {s.hi}"
    return _(lang, "{low} and {high}", low=lo, high=hi)


def _number(s: NumberSetting, raw: str, lang: str) -> tuple[Decimal | None, str | None]:
    """Parse one numeric option: (value, None) or (None, the problem naming the option)."""
    text = raw.strip()
    if s.nullable and text.lower() in ("none", "null", ""):
        return None, None
    try:
        value = Decimal(text.replace(",", ".")) if text else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        return None, _(lang, "{option}: {value!r} is not a number", option=s.option, value=raw)
    if s.places == 0 and value != value.to_integral_value():
        return None, _(lang, "{option}: {value!r} is not a whole number", option=s.option,
                       value=raw)
    low_ok = value > s.lo if s.lo_open else value >= s.lo
    high_ok = value < s.hi if s.hi_open else value <= s.hi
    if not (low_ok and high_ok):
        return None, _(lang, "{option}: {value} must be {bounds} ({what})", option=s.option,
                       value=text, bounds=_bounds(s, lang), what=_(lang, WHAT[s.column]))
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > s.places:
        return None, _(lang, "{option}: {value} has more than {places} decimals",
                       option=s.option, value=text, places=s.places)
    return (value.to_integral_value() if s.places == 0 else value), None


def validate_settings(
    numbers: dict[str, str | None],
    flags: dict[str, bool | None],
    *,
    result_metric: str | None = None,
    allocation_cadence: str | None = None,
    protect: list[str] | None = None,
    unprotect: list[str] | None = None,
    lang: str = "en",
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Check ``config set``'s values before any write; return ``(changes, protect, unprotect)``.

    ``numbers`` maps a column of :data:`NUMBERS` to the option's raw text (None: not given;
    ``none`` clears a nullable column); ``flags`` maps a boolean column to True / False / None.
    ``changes`` maps column → new value (``Decimal``, int, bool, str or None) for the given
    options only; ``protect`` / ``unprotect`` are de-duplicated entity ids in their order.
    Raises :class:`InvalidInput` listing every problem, each naming its option, when a value
    breaks its column's check constraint or precision, ``--result-metric`` is not a result
    column, ``--allocation-cadence`` is not one of
    :data:`growthops.ads.allocation.schedule.CADENCES`, an entity id is empty or too long, an id is both protected and unprotected, or
    nothing at all is given.
    """
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for s in NUMBERS:
        raw = numbers.get(s.column)
        if raw is None:
            continue
        value, problem = _number(s, raw, lang)
        if problem:
            problems.append(problem)
        else:
            changes[s.column] = int(value) if value is not None and s.places == 0 else value
    if result_metric is not None:
        if result_metric not in RESULT_COLUMNS:
            problems.append(_(lang, "{option}: {value!r} is not one of {choices}",
                              option="--result-metric",
                              value=result_metric, choices=", ".join(RESULT_COLUMNS)))
        else:
            changes["result_metric"] = result_metric
    if allocation_cadence is not None:
        from growthops.ads.allocation.schedule import CADENCES

        if allocation_cadence not in CADENCES:
            problems.append(_(lang, "{option}: {value!r} is not one of {choices}",
                              option="--allocation-cadence", value=allocation_cadence,
                              choices=", ".join(CADENCES)))
        else:
            changes["allocation_cadence"] = allocation_cadence
    changes.update({k: v for k, v in flags.items() if v is not None})
    lists: dict[str, list[str]] = {}
    for option, ids in (("--protect", protect or []), ("--unprotect", unprotect or [])):
        for x in ids:
            if not x or x != x.strip() or len(x) > MAX_ENTITY_ID:
                problems.append(_(lang, "{option}: an entity id must be 1 to 200 characters "
                                        "without surrounding spaces (got {value!r})",
                                  option=option, value=x))
        lists[option] = list(dict.fromkeys(ids))
    both = sorted(set(lists["--protect"]) & set(lists["--unprotect"]))
    if both:
        problems.append(_(lang, "--protect and --unprotect both name {ids}", ids=", ".join(both)))
    if problems:
        raise InvalidInput("; ".join(problems))
    if not changes and not lists["--protect"] and not lists["--unprotect"]:
        raise InvalidInput(_(lang, "nothing to change: give at least one setting (see growthops "
                                   "config set --help)"))
    return changes, lists["--protect"], lists["--unprotect"]


def _settings(row: dict[str, Any]) -> dict[str, Any]:
    """The settings of a ``platform_configs`` row (no key, no timestamp), lists copied."""
    return {c: (list(row[c] or []) if c == "protected_entity_ids" else row[c]) for c in _COLUMNS}


def config_defaults(conn: Any, *, tenant_id: UUID | str, platforms: list[str]) -> dict[str, dict[str, Any]]:
    """Return the column defaults of ``ads.platform_configs`` for each of ``platforms``.

    Read from the database itself (an insert inside a savepoint that is always rolled back),
    so they cannot drift from the migrations. Platforms that already have a row are skipped.
    Runs in the caller's tenant transaction; writes nothing.
    """
    if not platforms:
        return {}
    out: dict[str, dict[str, Any]] = {}
    with conn.transaction(force_rollback=True):
        rows = conn.execute(
            """insert into ads.platform_configs (tenant_id, platform)
               select %s, p from unnest(%s::text[]) p
               on conflict (tenant_id, platform) do nothing returning *""",
            [tenant_id, list(platforms)],
        ).fetchall()
        out = {r["platform"]: _settings(r) for r in rows}
    return out


def update_platform_config(
    conn: Any,
    *,
    tenant_id: UUID | str,
    platform: str,
    changes: dict[str, Any],
    protect: list[str],
    unprotect: list[str],
    by: str,
) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
    """Upsert the tenant's ``platform_configs`` row and audit it; return ``(before, after, created)``.

    ``changes`` comes from :func:`validate_settings` (columns whitelisted there); ``protect``
    ids are appended to ``protected_entity_ids``, ``unprotect`` ids removed. ``before`` is the
    stored row's settings, or the column defaults when there was no row (``created``: they were
    in force). ``after`` is None when nothing would change: then nothing is written (not even
    the row). Otherwise one ``platform_config.updated`` audit entry (actor ``by``, object
    ``platform_config`` / ``platform``) holds both. The row is locked (``for update``) so two
    concurrent changes serialise. Runs in the caller's tenant transaction; never commits.
    """
    from growthops.ads.action.audit import record

    bad = set(changes) - set(_COLUMNS)
    if bad:
        raise InvalidInput(f"unknown platform_configs settings: {', '.join(sorted(bad))}")
    with conn.transaction() as tx:
        created = conn.execute(
            """insert into ads.platform_configs (tenant_id, platform) values (%s, %s)
               on conflict (tenant_id, platform) do nothing returning platform""",
            [tenant_id, platform],
        ).fetchone() is not None
        row = conn.execute(
            "select * from ads.platform_configs where tenant_id = %s and platform = %s for update",
            [tenant_id, platform],
        ).fetchone()
        before = _settings(row)
        target = {**before, **changes}
        kept = [x for x in before["protected_entity_ids"] if x not in set(unprotect)]
        target["protected_entity_ids"] = kept + [x for x in protect if x not in set(kept)]
        if target == before:
            raise Rollback(tx)  # nothing changes: not even a defaults row is kept
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c)) for c in _COLUMNS)
        after_row = conn.execute(
            sql.SQL("update ads.platform_configs set {}, updated_at = now() "
                    "where tenant_id = %(tenant_id)s and platform = %(platform)s returning *"
                    ).format(assignments),
            {**target, "tenant_id": tenant_id, "platform": platform},
        ).fetchone()
        after = _settings(after_row)
        changed = [c for c in _COLUMNS if after[c] != before[c]]
        reason = "changed: " + ", ".join(changed)
        if created:
            reason += " (no stored settings before: 'before' shows the defaults then in force)"
        record(conn, tenant_id=tenant_id, actor=by, action="platform_config.updated",
               object_type="platform_config", object_id=platform, platform=platform,
               before=before, after=after, reason=reason)
        return before, after, created
    return before, None, False


def _fmt(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return _(lang, "on") if value else _(lang, "off")
    if isinstance(value, list):
        return ", ".join(value) if value else "–"
    return "–" if value is None else str(value)


def _check_platform(platform: str, lang: str) -> None:
    if platform not in PLATFORMS:
        raise InvalidInput(_(lang, "--platform: {value!r} is not one of {choices}", value=platform,
                             choices=", ".join(PLATFORMS)))


PlatformOpt = Annotated[str, typer.Option("--platform", help="meta, google, display, tiktok, "
                                                            "linkedin or other.")]


@config_app.command("show")
def config_show(
    tenant: TenantOpt,
    platform: Annotated[str | None, typer.Option(
        "--platform", help="One platform; default: every platform with settings or an account.")] = None,
    lang: LangOpt = "",
) -> None:
    """Show a tenant's settings per platform (stored values, or the defaults that apply)."""
    lg = _lang(lang)
    if platform is not None:
        _check_platform(platform, lg)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        tn = _one(conn, "select roi_target, time_zone from core.tenants where tenant_id = %s",
                  [tid])
        rows = conn.execute("select * from ads.platform_configs where tenant_id = %s order by platform",
                            [tid]).fetchall()
        accounts = [r["platform"] for r in conn.execute(
            "select platform from ads.ad_accounts where tenant_id = %s", [tid]).fetchall()]
        stored = {r["platform"]: r for r in rows}
        wanted = [platform] if platform else sorted(set(stored) | set(accounts)) or ["meta"]
        defaults = config_defaults(conn, tenant_id=tid, platforms=[p for p in wanted if p not in stored])
    table = Table(_(lg, "setting"), _(lg, "option"),
                  *(p if p in stored else _(lg, "{platform} (defaults, not stored)", platform=p)
                    for p in wanted),
                  title=_(lg, "Platform settings of {tenant}", tenant=tenant))
    values = {p: _settings(stored[p]) if p in stored else defaults[p] for p in wanted}
    for column, option in SHOWN:
        cells = []
        for p in wanted:
            v = values[p][column]
            cells.append(_(lg, "– (tenant roi_target {roas})", roas=tn["roi_target"])
                         if column == "target_roas" and v is None else _fmt(v, lg))
        table.add_row(column, option, *cells)
    tz = tn["time_zone"]
    table.add_row(f"updated_at ({tz})", "", *(format_datetime(stored[p]["updated_at"], tz, lg)
                                              if p in stored else "–" for p in wanted))
    console.print(table)


@config_app.command("set")
def config_set(
    tenant: TenantOpt,
    platform: PlatformOpt,
    by: Annotated[str, typer.Option("--by", help="Who makes the change (audited).")],
    auto_apply: Annotated[bool | None, typer.Option(
        "--auto-apply/--no-auto-apply",
        help="Execute qualifying suggestions WITHOUT a human, within the guard rails.")] = None,
    min_auto_apply_confidence: Annotated[str | None, typer.Option(
        metavar="PCT", help="Confidence (percent, 50-100) a suggestion needs to be auto-applied.")] = None,
    max_change_pct: Annotated[str | None, typer.Option(
        metavar="PCT", help="Largest budget or bid change per action, percent (0-100].")] = None,
    max_change_pct_24h: Annotated[str | None, typer.Option(
        "--max-change-pct-24h", metavar="PCT",
        help="Largest net change of one entity over 24 h, percent (0-100].")] = None,
    min_daily_budget: Annotated[str | None, typer.Option(
        metavar="MONEY", help="A budget cut stops here (tenant's currency).")] = None,
    protect: Annotated[list[str] | None, typer.Option(
        "--protect", metavar="ENTITY_ID",
        help="Never change this entity (or its children); repeat for several.")] = None,
    unprotect: Annotated[list[str] | None, typer.Option(
        "--unprotect", metavar="ENTITY_ID", help="Remove from the protected list; repeatable.")] = None,
    dry_run: Annotated[bool | None, typer.Option(
        "--dry-run/--no-dry-run", help="Record executions without calling the platform.")] = None,
    validate_only: Annotated[bool | None, typer.Option(
        "--validate-only/--no-validate-only",
        help="Ask the platform to validate changes without applying them.")] = None,
    allow_learning_edits: Annotated[bool | None, typer.Option(
        "--allow-learning-edits/--no-allow-learning-edits",
        help="Allow budget and bid edits during a learning phase.")] = None,
    result_metric: Annotated[str | None, typer.Option(
        metavar="METRIC", help="conversions, leads, applications or bookings.")] = None,
    allocation_cadence: Annotated[str | None, typer.Option(
        metavar="CADENCE", help="How often the worker allocates the budgets: weekly (default), "
                                "daily, monthly or off.")] = None,
    target_roas: Annotated[str | None, typer.Option(
        metavar="X", help="Target ROAS (value / spend); 'none': the tenant's roi_target.")] = None,
    max_cpa: Annotated[str | None, typer.Option(
        metavar="MONEY", help="Maximum cost per result; 'none' to clear.")] = None,
    fdr_q: Annotated[str | None, typer.Option(
        metavar="Q", help="False discovery rate of the anomaly tests, (0-1).")] = None,
    recommendations: Annotated[bool | None, typer.Option(
        "--recommendations/--no-recommendations", help="Make suggestions on this platform.")] = None,
    anomaly_detection: Annotated[bool | None, typer.Option(
        "--anomaly-detection/--no-anomaly-detection", help="Detect anomalies on this platform.")] = None,
    lang: LangOpt = "",
) -> None:
    """Change a tenant's settings on one platform (validated, audited, one transaction)."""
    lg = _lang(lang)
    problems: list[str] = []
    try:
        _check_platform(platform, lg)
    except InvalidInput as exc:
        problems.append(str(exc))
    if not by.strip() or len(by) > 200:
        problems.append(_(lg, "--by: give the name of the person making the change (1 to 200 "
                              "characters)"))
    numbers = {"min_auto_apply_confidence": min_auto_apply_confidence,
               "max_change_pct": max_change_pct, "max_change_pct_24h": max_change_pct_24h,
               "min_daily_budget": min_daily_budget, "target_roas": target_roas,
               "max_cpa": max_cpa, "fdr_q": fdr_q}
    flags = {"auto_apply_recommendations": auto_apply, "dry_run": dry_run,
             "validate_only": validate_only, "allow_learning_edits": allow_learning_edits,
             "recommendations_enabled": recommendations,
             "anomaly_detection_enabled": anomaly_detection}
    try:
        changes, prot, unprot = validate_settings(numbers, flags, result_metric=result_metric,
                                                  allocation_cadence=allocation_cadence,
                                                  protect=protect, unprotect=unprotect, lang=lg)
    except InvalidInput as exc:
        problems.append(str(exc))
    if problems:
        raise InvalidInput("; ".join(problems))
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        before, after, _created = update_platform_config(conn, tenant_id=tid, platform=platform,
                                                  changes=changes, protect=prot,
                                                  unprotect=unprot, by=by.strip())
        unseen = _unseen_entities(conn, tid, platform, prot) if after is not None else []
        context = _one(
            conn,
            """select t.currency, t.monthly_budget_max,
                      exists (select 1 from ads.ad_accounts a
                              where a.tenant_id = t.tenant_id and a.platform = %s) as has_account
               from core.tenants t where t.tenant_id = %s""", [platform, tid])
    if after is None:
        console.print(_(lg, "{tenant} / {platform}: these values are already set; nothing changed.",
                        tenant=tenant, platform=platform))
        return
    console.print(_(lg, "{tenant} / {platform}: settings updated by {by} (recorded in the audit "
                        "trail):", tenant=tenant, platform=platform, by=by.strip()))
    for c in _COLUMNS:
        if after[c] != before[c]:
            console.print(f"  {c}: {_fmt(before[c], lg)} → {_fmt(after[c], lg)}", markup=False)
    if unseen:
        console.print(_(lg, "Note: {ids} never seen on {platform} for {tenant} (no metrics, no "
                            "sandbox entity); protected anyway. Check the id.",
                        ids=", ".join(unseen), platform=platform, tenant=tenant),
                      style="yellow", markup=False)
    if after["auto_apply_recommendations"] and not before["auto_apply_recommendations"]:
        _warn_auto_apply(tenant, platform, after, context, lg)


def _unseen_entities(conn: Any, tenant_id: Any, platform: str, ids: list[str]) -> list[str]:
    """The ids in ``ids`` with no metrics row and no sandbox entity on ``platform`` (one query)."""
    if not ids:
        return []
    rows = conn.execute(
        """select x.id from unnest(%(ids)s::text[]) with ordinality as x(id, n)
           where not exists (select 1 from ads.metrics_daily m
                             where m.tenant_id = %(t)s and m.platform = %(p)s
                               and m.level in ('campaign', 'adset', 'ad') and m.entity_id = x.id)
             and not exists (select 1 from ads.sandbox_entities e
                             where e.tenant_id = %(t)s and e.platform = %(p)s and e.entity_id = x.id)
           order by x.n""",
        {"ids": ids, "t": tenant_id, "p": platform},
    ).fetchall()
    return [r["id"] for r in rows]


def _warn_auto_apply(tenant: str, platform: str, after: dict[str, Any], context: dict[str, Any],
                     lang: str) -> None:
    """Say plainly what auto-apply ON means: changes executed without a human, within the rails."""
    mode = ("dry_run" if after["dry_run"] else "validate_only" if after["validate_only"] else "live")
    monthly = context["monthly_budget_max"]
    currency = str(context["currency"]).strip()
    console.print(_(
        lang,
        "WARNING: auto-apply is now ON for {tenant} on {platform}.\n"
        "From the next daily cycle (and each `growthops auto-apply`), pending suggestions with a "
        "confidence of at least {conf} are approved and EXECUTED ON THE AD ACCOUNT WITHOUT A "
        "HUMAN, within the guard rails: at most {pct} change per action and {pct24} per 24 h, "
        "daily budgets not below {min_budget}, monthly budget ceiling {monthly}, "
        "{n_protected} protected entities, no edit during a learning phase{learning}. "
        "Mode: {mode}. Refresh, new-angle and diagnostic suggestions are never auto-applied. "
        "Every auto-applied change is in the audit trail under 'auto-apply'.\n"
        "Turn it off: growthops config set --tenant {tenant} --platform {platform} "
        "--no-auto-apply --by NAME",
        tenant=tenant, platform=platform,
        conf=_percent(after["min_auto_apply_confidence"], lang),
        pct=_percent(after["max_change_pct"], lang),
        pct24=_percent(after["max_change_pct_24h"], lang),
        min_budget=format_money(after["min_daily_budget"], currency, lang),
        monthly=format_money(monthly, currency, lang) if monthly is not None
        else _(lang, "none set"),
        n_protected=len(after["protected_entity_ids"]),
        learning=_(lang, " (EXCEPT: --allow-learning-edits is on)")
        if after["allow_learning_edits"] else "",
        mode=_(lang, MODES[mode])), style="bold yellow", markup=False)
    if not context["has_account"]:
        console.print(_(lang, "Note: {tenant} has no ad account on {platform} yet; nothing runs "
                              "until one is connected (growthops accounts connect | sandbox).",
                        tenant=tenant, platform=platform), style="yellow", markup=False)


def _percent(value: Any, lang: str) -> str:
    """A setting in percent 0-100 (``20.00`` → ``20%``, ``12.5`` → ``12.5%``) for ``lang``."""
    d = Decimal(str(value)).normalize()
    exponent = d.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return format_percent(d / 100, lang, places)
