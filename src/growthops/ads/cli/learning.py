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


def _verdict(v: str | None, lang: str) -> str:
    """The early read's verdict in words."""
    return {
        "inside": _(lang, "inside the band"),
        "outside_favourable": _(lang, "better than the band"),
        "outside_adverse": _(lang, "worse than the band (not clearly)"),
        "adverse_clear": _(lang, "clearly worse than the band"),
        "too_little_data": _(lang, "too little data"),
    }.get(v or "", "-")


def render_checks(console: Console, rows: list[dict[str, Any]], *, tenant: str, lang: str = "en") -> None:
    """Print :func:`growthops.ads.learning.early.list_checks` rows as a Rich table."""
    console.rule(_(lang, "24-hour checks: {tenant}", tenant=tenant))
    if not rows:
        console.print(_(lang, "No early read yet: an execution is read from its first reported day, 24 hours "
                              "after it ran."))
        return
    table = Table(title=_(lang, "Early reads of executed suggestions (rule: |z| > 3.29, Haybittle-Peto)"))
    for header, justify in ((_(lang, "suggestion"), "right"), (_(lang, "type"), "left"),
                            (_(lang, "entity"), "left"), (_(lang, "days"), "right"),
                            (_(lang, "effect"), "right"), (_(lang, "predicted band"), "right"),
                            ("z", "right"), (_(lang, "early read"), "left"),
                            (_(lang, "rollback"), "left"), (_(lang, "7-day outcome"), "left")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    import math

    from growthops.ads.labels import code

    for r in rows:
        rd = r["early_read"] or {}
        eff = rd.get("effect")
        band = rd.get("band")
        rollback = (f"#{r['rollback_suggestion_id']} ({code(r['rollback_status'], lang)})"
                    if r["rollback_suggestion_id"] else "-")
        table.add_row(
            str(r["suggestion_id"]), code(r["suggestion_type"], lang),
            f"{code(r['entity_type'], lang)} {r['entity_id']}",
            str(r["early_days"] if r["early_days"] is not None else "-"),
            format_percent(math.exp(eff) - 1, lang, sign=True) if eff is not None else "-",
            (f"{format_percent(math.exp(band[0]) - 1, lang, sign=True)} .. "
             f"{format_percent(math.exp(band[1]) - 1, lang, sign=True)}") if band else "-",
            _num(r["early_z"], lang, 1), _verdict(r["early_verdict"], lang), rollback,
            code(r["outcome"], lang) if r["outcome"] else _(lang, "waiting"))
    console.print(table)


@learning_app.command("checks")
def checks_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    limit: Annotated[int, typer.Option("--limit", help="At most this many reads (1-1000).")] = 50,
    lang: Annotated[str, typer.Option("--lang", help="Language of messages: en or fr (default GROWTHOPS_LANG).")] = "",
) -> None:
    """Show the 24-hour checks: each fresh execution's early read and its rollback suggestion."""
    from growthops.ads.learning.early import list_checks
    from growthops.core.db import get_db
    from growthops.core.tenants.service import resolve
    from growthops.settings import get_settings

    db = get_db()
    with db.app_tx() as conn:
        row = resolve(conn, tenant)
    with db.tenant_tx(row["tenant_id"]) as conn:
        rows = list_checks(conn, tenant_id=row["tenant_id"], limit=limit)
    render_checks(Console(), rows, tenant=row["client_key"], lang=lang or get_settings().lang)


def _loop_status(s: str, lang: str) -> str:
    return {"testing": pgettext(lang, "feedback loop", "testing"),
            "validated": pgettext(lang, "feedback loop", "validated"),
            "rolled_back": pgettext(lang, "feedback loop", "rolled back")}.get(s, s)


def _loop_code(value: str | None, lang: str) -> str:
    """A loop type or adjustment type in words (the code itself when unknown)."""
    return {
        "calibration": pgettext(lang, "feedback loop", "calibration"),
        "decision_pattern": pgettext(lang, "feedback loop", "decision pattern"),
        "isotonic_calibration": pgettext(lang, "feedback loop", "isotonic calibration"),
        "hold_back": pgettext(lang, "feedback loop", "hold back"),
        "rank_boost": pgettext(lang, "feedback loop", "rank higher"),
        "retire": pgettext(lang, "feedback loop", "retire"),
    }.get(value or "", value or "-")


def render_loops(console: Console, rows: list[dict[str, Any]], *, tenant: str, lang: str = "en") -> None:
    """Print :func:`growthops.ads.learning.feedback.list_loops` rows as a Rich table."""
    console.rule(_(lang, "Feedback loops: {tenant}", tenant=tenant))
    if not rows:
        console.print(_(lang, "No feedback loop yet."))
        return
    table = Table(title=_(lang, "Adjustments of the engine and their evidence"))
    for header, justify in ((_(lang, "loop"), "right"), (_(lang, "type"), "left"),
                            (_(lang, "adjustment"), "left"), (_(lang, "triggered by hypothesis"), "right"),
                            (_(lang, "status"), "left"), (_(lang, "evidence"), "left"),
                            (_(lang, "created"), "left")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        ev = r["status_evidence"] or {}
        if "mean_brier_difference" in ev:
            evidence = _(lang, "Brier score lowered by {diff} on {n} later outcomes",
                         diff=_num(ev["mean_brier_difference"], lang, 4), n=ev["n"])
        elif "decisions_since" in ev:
            evidence = _(lang, "pattern {status} after {n} decisions",
                         status=ev.get("pattern_status") or "-", n=ev["decisions_since"])
        else:
            evidence = "-"
        table.add_row(str(r["loop_id"]), _loop_code(r["loop_type"], lang), _loop_code(r["adjustment_type"], lang),
                      str(r["triggered_by_hypothesis_id"] or "-"), _loop_status(r["status"], lang), evidence,
                      format_date(r["created_at"], lang))
    console.print(table)


@learning_app.command("loops")
def loops_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    status: Annotated[str, typer.Option("--status", help="testing, validated or rolled_back (default: all).")] = "",
    limit: Annotated[int, typer.Option("--limit", help="At most this many loops (1-1000).")] = 50,
    lang: Annotated[str, typer.Option("--lang", help="Language of messages: en or fr (default GROWTHOPS_LANG).")] = "",
) -> None:
    """Show the feedback loops: each adjustment of the engine, what triggered it and its evidence."""
    from growthops.ads.learning.feedback import list_loops
    from growthops.core.db import get_db
    from growthops.core.tenants.service import resolve
    from growthops.settings import get_settings

    db = get_db()
    with db.app_tx() as conn:
        row = resolve(conn, tenant)
    with db.tenant_tx(row["tenant_id"]) as conn:
        rows = list_loops(conn, tenant_id=row["tenant_id"], status=status or None, limit=limit)
    render_loops(Console(), rows, tenant=row["client_key"], lang=lang or get_settings().lang)
