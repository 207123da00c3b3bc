"""``growthops ads allocate`` (budget allocation) and ``growthops ads performance``
(``ads.campaign_performance``), see ``docs/allocation.md``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.ads.cli.app import app
from growthops.core.cli import LangOpt, TenantOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.i18n import N_, _, format_money, format_number, format_percent

ads_app = typer.Typer(help="Budget allocation and campaign roll-ups.", no_args_is_help=True)
app.add_typer(ads_app, name="ads")

OBJECTIVE = {"value_at_target_roas": N_("conversion value at target ROAS {target}"),
             "conversions_at_target_cpa": N_("conversions at target CPA {target}")}
STATUS = {"increase": N_("increase"), "decrease": N_("decrease"), "hold": N_("hold"),
          "learning": N_("learning phase"), "protected": N_("protected"),
          "insufficient_data": N_("too little data"), "uncertain": N_("uncertain")}
EFFECT = N_("Expected over {days} days if the steps are applied: {delta} {unit} (80% interval {lo} to {hi}) "
            "for {spend} of spend; recommended allocation: {rdelta} {unit} ({rlo} to {rhi}).")
UNITS = {"value": N_("conversion value"), "results": N_("conversions")}


def effect_sentence(a: Any, currency: str, lang: str) -> str:
    """One sentence with the allocation's expected effect (steps and full recommendation)."""
    eff = a.expected_effect
    unit = eff["unit"]
    key = f"delta_{unit}"

    def f(x: float) -> str:
        sign = "+" if x > 0 else ""
        return sign + (format_money(x, currency, lang, 0) if unit == "value" else format_number(x, lang, 1))

    return _(lang, EFFECT, days=eff["horizon_days"], delta=f(eff["step"][key]["p50"]),
             lo=f(eff["step"][key]["p10"]), hi=f(eff["step"][key]["p90"]), unit=_(lang, UNITS[unit]),
             spend=("+" if eff["step"]["delta_spend"] > 0 else "") + format_money(eff["step"]["delta_spend"], currency, lang, 0),
             rdelta=f(eff["recommended"][key]["p50"]), rlo=f(eff["recommended"][key]["p10"]),
             rhi=f(eff["recommended"][key]["p90"]))


def print_allocation(a: Any, currency: str, lang: str, out: Any = None) -> None:
    """Print an allocation as a table (current, recommended, step, status, confidence) on
    ``out`` (a rich Console; default the CLI's)."""
    out = out or console
    target = (format_number(a.target_roas, lang, 2) if a.objective == "value_at_target_roas"
              else format_money(a.target_cpa or 0, currency, lang))
    title = _(lang, "Allocation {id} of {day} ({platform}, {strategy}): {objective}", id=a.allocation_id,
              day=a.as_of.isoformat(), platform=a.platform, strategy=a.strategy,
              objective=_(lang, OBJECTIVE[a.objective], target=target))
    table = Table(_(lang, "entity"), _(lang, "current"), _(lang, "recommended"), _(lang, "today"),
                  _(lang, "status"), _(lang, "confidence"), _(lang, "suggestion"), title=title)
    for ln in a.lines:
        table.add_row(ln.entity_name or ln.entity_id, format_money(ln.daily_budget, currency, lang),
                      format_money(ln.recommended_budget, currency, lang), format_money(ln.step_budget, currency, lang),
                      _(lang, STATUS[ln.status]),
                      format_percent(ln.confidence / 100, lang) if ln.confidence is not None else "",
                      str(ln.suggestion_id or ""))
    table.add_row(_(lang, "total"), format_money(a.current_total, currency, lang),
                  format_money(a.recommended_total, currency, lang), format_money(a.step_total, currency, lang),
                  _(lang, "ceiling {cap}", cap=format_money(a.daily_cap, currency, lang)) if a.daily_cap is not None else "",
                  "", "")
    out.print(table)
    out.print(effect_sentence(a, currency, lang))


@ads_app.command("allocate")
def allocate_cmd(
    tenant: TenantOpt,
    platform: Annotated[str, typer.Option("--platform", help="Ad platform of the account.")] = "meta",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Reporting day YYYY-MM-DD (default: the latest with metrics).")] = None,
    strategy: Annotated[str, typer.Option("--strategy", help="thompson (explores) or posterior_mean.")] = "thompson",
    no_suggest: Annotated[bool, typer.Option("--no-suggest", help="Store the allocation without making suggestions.")] = False,
    lang: LangOpt = "",
) -> None:
    """Recommend the account's daily budgets and turn today's steps into budget suggestions."""
    from growthops.ads.allocation.allocate import allocate
    from growthops.core.errors import InvalidInput

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise InvalidInput(f"--as-of: not a date (YYYY-MM-DD): {as_of!r}") from exc
    with get_db().tenant_tx(tid) as conn:
        a = allocate(conn, tenant_id=tid, as_of=day, platform=platform, strategy=strategy, suggest=not no_suggest)
        currency = conn.execute("select currency from core.tenants").fetchone()["currency"].strip()
    if not a.created:
        console.print(_(lg, "The allocation of {day} already exists; shown as stored.", day=a.as_of.isoformat()))
    print_allocation(a, currency, lg)


@ads_app.command("performance")
def performance_cmd(
    tenant: TenantOpt,
    days: Annotated[int, typer.Option("--days", help="Period length: 7, 28 or 90 days.")] = 28,
    lang: LangOpt = "",
) -> None:
    """Show the stored campaign roll-ups of the latest period with their efficiency score."""
    from growthops.ads.allocation.performance import list_performance

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = list_performance(conn, days=days)
        currency = conn.execute("select currency from core.tenants").fetchone()["currency"].strip()
    table = Table(_(lg, "campaign"), _(lg, "period"), _(lg, "spend"), _(lg, "conversions"), "ROAS",
                  _(lg, "efficiency"), title=_(lg, "Campaign performance of {tenant}", tenant=tenant))
    for r in rows:
        table.add_row(r["campaign_name"] or r["campaign_id"], f"{r['period_start']} – {r['period_end']}",
                      format_money(r["spend"], currency, lg), format_number(r["conversions"], lg, 0),
                      format_number(r["roas"], lg, 2) if r["roas"] is not None else "–",
                      format_number(r["efficiency_score"], lg, 2) if r["efficiency_score"] is not None else "–")
    console.print(table)
