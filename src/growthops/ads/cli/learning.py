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

learning_app = typer.Typer(help="Learning: measured hypotheses, confidence calibration, decision patterns.",
                           no_args_is_help=True)

TEXTS: dict[str, dict[str, str]] = {
    "title": {"en": "Learning report: {tenant}", "fr": "Rapport d'apprentissage : {tenant}"},
    "outcomes": {"en": "Measured executions by suggestion type", "fr": "Exécutions mesurées par type de suggestion"},
    "type": {"en": "type", "fr": "type"},
    "total": {"en": "total", "fr": "total"},
    "validated": {"en": "validated", "fr": "validées"},
    "partial": {"en": "partial", "fr": "partielles"},
    "invalidated": {"en": "invalidated", "fr": "invalidées"},
    "inconclusive": {"en": "inconclusive", "fr": "non concluantes"},
    "open": {"en": "open", "fr": "en cours"},
    "reliability": {"en": "Reliability: stated confidence vs observed outcome (validated 1, partial 0.5, invalidated 0)",
                    "fr": "Fiabilité : confiance annoncée contre résultat observé (validée 1, partielle 0,5, invalidée 0)"},
    "bin": {"en": "stated", "fr": "annoncée"},
    "n": {"en": "n", "fr": "n"},
    "mean_stated": {"en": "mean stated", "fr": "moyenne annoncée"},
    "observed": {"en": "observed", "fr": "observé"},
    "ci": {"en": "95% interval", "fr": "intervalle 95 %"},
    "calibrated": {"en": "calibrated", "fr": "calibrée"},
    "chart": {"en": "chart (# observed, | stated)", "fr": "graphique (# observé, | annoncé)"},
    "brier": {"en": "Brier score: {stated} with the stated confidences{cal} ({n} outcomes; lower is better).",
              "fr": "Score de Brier : {stated} avec les confiances annoncées{cal} ({n} résultats ; plus bas est meilleur)."},
    "brier_cal": {"en": ", {value} once calibrated", "fr": ", {value} une fois calibrées"},
    "model": {"en": "Active calibration: isotonic map fitted {fitted} on {n} outcomes (weight {w} vs identity); "
                    "Brier {before} -> {after} out of fold.",
              "fr": "Calibration active : courbe isotone ajustée le {fitted} sur {n} résultats (poids {w} face à "
                    "l'identité) ; Brier {before} -> {after} hors échantillon."},
    "no_model": {"en": "No active calibration: new confidences are used as stated.",
                 "fr": "Pas de calibration active : les nouvelles confiances sont utilisées telles quelles."},
    "patterns": {"en": "Decision patterns (active)", "fr": "Habitudes de décision (actives)"},
    "pattern": {"en": "pattern", "fr": "habitude"},
    "effect": {"en": "effect", "fr": "effet"},
    "evidence": {"en": "approved / refused", "fr": "approuvées / refusées"},
    "confidence": {"en": "confidence", "fr": "confiance"},
    "hold": {"en": "held back", "fr": "retenue"},
    "boost": {"en": "ranked higher", "fr": "mieux classée"},
    "no_patterns": {"en": "No decision pattern yet.", "fr": "Aucune habitude de décision pour l'instant."},
    "nothing": {"en": "No measured execution yet.", "fr": "Aucune exécution mesurée pour l'instant."},
}
OUTCOMES = ("validated", "partial", "invalidated", "inconclusive", "open")
CHART_WIDTH = 20


def tr(key: str, lang: str, **params: Any) -> str:
    """Return message ``key`` in ``lang`` (fallback English) formatted with ``params``."""
    entry = TEXTS[key]
    return entry.get(lang, entry["en"]).format(**params)


def _pct(x: float | None, lang: str) -> str:
    if x is None:
        return "-"
    s = f"{100 * x:.0f}"
    return f"{s}\u202f%" if lang == "fr" else f"{s}%"


def _num(x: float | None, lang: str, digits: int = 3) -> str:
    if x is None:
        return "-"
    s = f"{x:.{digits}f}"
    return s.replace(".", ",") if lang == "fr" else s


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
    console.rule(tr("title", lang, tenant=tenant))
    by_type = rep["by_type"]
    if not by_type:
        console.print(tr("nothing", lang))
    else:
        table = Table(title=tr("outcomes", lang))
        table.add_column(tr("type", lang))
        for o in OUTCOMES:
            table.add_column(tr(o, lang), justify="right")
        for typ, counts in sorted(by_type.items()):
            table.add_row(typ, *(str(counts.get(o, 0)) for o in OUTCOMES))
        table.add_row(tr("total", lang), *(str(rep["counts"].get(o, 0)) for o in OUTCOMES), style="bold")
        console.print(table)

    model = rep.get("model")
    has_cal = any("mean_calibrated" in b for b in rep["reliability"])
    rel = Table(title=tr("reliability", lang))
    for key in ("bin", "n", "mean_stated", "observed", "ci", *(("calibrated",) if has_cal else ()), "chart"):
        rel.add_column(tr(key, lang), justify="left" if key in ("bin", "chart") else "right")
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
        cal_txt = tr("brier_cal", lang, value=_num(brier["calibrated"], lang)) if brier["calibrated"] is not None else ""
        console.print(tr("brier", lang, stated=_num(brier["stated"], lang), cal=cal_txt, n=rep["n_scored"]))
    if model:
        console.print(tr("model", lang, fitted=str(model["fitted_at"])[:10], n=model["n_outcomes"],
                         w=_num(model["params"].get("weight"), lang, 2), before=_num(model["brier_before"], lang),
                         after=_num(model["brier_after"], lang)))
    else:
        console.print(tr("no_model", lang))

    if not rep["patterns"]:
        console.print(tr("no_patterns", lang))
        return
    pt = Table(title=tr("patterns", lang))
    for key in ("pattern", "effect", "evidence", "confidence"):
        pt.add_column(tr(key, lang), justify="right" if key in ("evidence", "confidence") else "left")
    for p in rep["patterns"]:
        effect = tr("hold" if p["pattern_type"] == "refusal_preference" else "boost", lang)
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
