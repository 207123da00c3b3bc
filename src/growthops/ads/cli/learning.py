"""``growthops learning report``: measured outcomes, calibration and decision patterns (Rich).

Mounted on the ads commands by :mod:`growthops.ads.cli.commands`
(``app.add_typer(learning_app, name="learning")``).
Messages in English and French (``--lang``, default ``GROWTHOPS_LANG``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from growthops.core.i18n import _, format_date, format_number, format_percent, pgettext

learning_app = typer.Typer(help="Learning: measured hypotheses, confidence calibration, decision patterns.",
                           no_args_is_help=True)

OUTCOMES = ("validated", "partial", "invalidated", "inconclusive", "open")
CHART_WIDTH = 20


def _outcome_column(outcome: str, lang: str) -> str:
    """The header of an outcome count column (plural in French: "validées")."""
    return {
        "validated": pgettext(lang, "outcome count", "validated"),
        "partial": pgettext(lang, "outcome count", "partial"),
        "invalidated": pgettext(lang, "outcome count", "invalidated"),
        "inconclusive": pgettext(lang, "outcome count", "inconclusive"),
        "open": pgettext(lang, "outcome count", "open"),
    }[outcome]


def _pct(x: float | None, lang: str) -> str:
    return "-" if x is None else format_percent(x, lang)


def _num(x: float | None, lang: str, digits: int = 3) -> str:
    return "-" if x is None else format_number(x, lang, digits)


def ascii_bar(observed: float | None, stated: float | None, width: int = CHART_WIDTH) -> str:
    """Return an ASCII bar: '#' up to the observed rate, '|' at the mean stated confidence."""
    if observed is None:
        return ""
    cells = ["#" if i < round(observed * width) else "." for i in range(width)]
    if stated is not None:
        cells[min(width - 1, max(0, round(stated * width) - 1))] = "|"
    return "".join(cells)


def render_report(console: Console, rep: dict[str, Any], *, tenant: str, lang: str = "en") -> None:
    """Print :func:`growthops.ads.learning.calibration.report`'s dict with Rich tables."""
    console.rule(_(lang, "Learning report: {tenant}", tenant=tenant))
    by_type = rep["by_type"]
    if not by_type:
        console.print(_(lang, "No measured execution yet."))
    else:
        table = Table(title=_(lang, "Measured executions by suggestion type"))
        table.add_column(_(lang, "type"))
        for o in OUTCOMES:
            table.add_column(_outcome_column(o, lang), justify="right")
        for typ, counts in sorted(by_type.items()):
            table.add_row(typ, *(str(counts.get(o, 0)) for o in OUTCOMES))
        table.add_row(_(lang, "total"), *(str(rep["counts"].get(o, 0)) for o in OUTCOMES), style="bold")
        console.print(table)

    model = rep.get("model")
    has_cal = any("mean_calibrated" in b for b in rep["reliability"])
    rel = Table(title=_(lang, "Reliability: stated confidence vs observed outcome (validated 1, "
                           "partial 0.5, invalidated 0)"))
    columns = [(_(lang, "stated"), "left"), (_(lang, "n"), "right"),
               (_(lang, "mean stated"), "right"), (_(lang, "observed"), "right"),
               (_(lang, "95% interval"), "right")]
    if has_cal:
        columns.append((_(lang, "calibrated"), "right"))
    columns.append((_(lang, "chart (# observed, | stated)"), "left"))
    for header, justify in columns:
        rel.add_column(header, justify=justify)  # type: ignore[arg-type]
    for b in rep["reliability"]:
        if not b["count"]:
            continue
        ci = f"{_pct(b['ci_low'], lang)}–{_pct(b['ci_high'], lang)}"
        cal = (_pct(b.get("mean_calibrated"), lang),) if has_cal else ()
        rel.add_row(b["bin"], str(b["count"]), _pct(b["mean_stated"], lang), _pct(b["observed"], lang), ci, *cal,
                    ascii_bar(b["observed"], b["mean_stated"]))
    if rep["n_scored"]:
        console.print(rel)
        brier = rep["brier"]
        cal_txt = (_(lang, ", {value} once calibrated", value=_num(brier["calibrated"], lang))
                   if brier["calibrated"] is not None else "")
        console.print(_(lang, "Brier score: {stated} with the stated confidences{cal} ({n} outcomes; "
                              "lower is better).", stated=_num(brier["stated"], lang), cal=cal_txt,
                        n=rep["n_scored"]))
    if model:
        console.print(_(lang, "Active calibration: isotonic map fitted {fitted} on {n} outcomes (weight "
                              "{w} vs identity); Brier {before} -> {after} out of fold.",
                        fitted=format_date(model["fitted_at"], lang), n=model["n_outcomes"],
                         w=_num(model["params"].get("weight"), lang, 2), before=_num(model["brier_before"], lang),
                         after=_num(model["brier_after"], lang)))
    else:
        console.print(_(lang, "No active calibration: new confidences are used as stated."))

    if not rep["patterns"]:
        console.print(_(lang, "No decision pattern yet."))
        return
    pt = Table(title=_(lang, "Decision patterns (active)"))
    for header, justify in ((_(lang, "pattern"), "left"), (_(lang, "effect"), "left"),
                            (_(lang, "approved / refused"), "right"),
                            (_(lang, "confidence"), "right")):
        pt.add_column(header, justify=justify)  # type: ignore[arg-type]
    for p in rep["patterns"]:
        effect = (_(lang, "held back") if p["pattern_type"] == "refusal_preference"
                  else _(lang, "ranked higher"))
        pt.add_row(p["condition_text"], effect, f"{p['approvals']} / {p['refusals']}",
                   f"{_pct(p['confidence'] / 100, lang)} ({p['significance']})")
    console.print(pt)


@learning_app.command("report")
def report_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    lang: Annotated[str, typer.Option("--lang", help="Language of messages: en or fr (default GROWTHOPS_LANG).")] = "",
) -> None:
    """Show the reliability table, the Brier score, outcomes by type and the decision patterns."""
    from growthops.ads.learning.calibration import report
    from growthops.core.db import get_db
    from growthops.core.tenants.service import resolve
    from growthops.settings import get_settings

    db = get_db()
    with db.app_tx() as conn:
        row = resolve(conn, tenant)
    with db.tenant_tx(row["tenant_id"]) as conn:
        rep = report(conn, tenant_id=row["tenant_id"])
    render_report(Console(), rep, tenant=row["client_key"], lang=lang or get_settings().lang)
