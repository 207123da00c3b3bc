"""Funnel diagnosis of ``campaign_diagnostic`` suggestions, and angles for ``test_angle`` ones.

A tenant's funnel (``core.funnels``, seed 000) lists its stages and the expected conversion
rate of each transition (``conversion_benchmarks``: ``{"<stage>_to_<next>": rate}``, fractions
0-1; a value above 1 is read as a percentage). Stages map to the counts of
``ads.metrics_daily`` by name (:data:`STAGE_COLUMNS`: ad → impressions, landing or click →
clicks, lead / optin / webinar / registration → leads, application → applications, call /
booking → bookings, close / sale / purchase → conversions). A funnel applies to the campaigns
in its ``campaign_ids``, or to every campaign when that list is empty (lowest id first).

:func:`funnel_diagnosis` compares each transition's rate over the last 7 days with its
benchmark by a one-sided exact binomial test (``scipy.stats.binomtest``): the weakest stage is
the one with the smallest p-value below 0.05. The funnel's product (``core.products.price``)
values what the gap costs: (benchmark - rate) x entrants x the remaining funnel's rate x price.
:func:`enrich_candidates` adds this to the day's candidates before they are stored, with a
sentence in both languages; ``test_angle`` candidates get the angles to try
(:func:`growthops.ads.experiments.angles.suggest_angles`).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from scipy.stats import binomtest

from growthops.ads.experiments.angles import suggest_angles
from growthops.core.i18n import LANGS, N_, _, format_money, format_percent

STAGE_COLUMNS = (
    (r"^(ad|ads|impression)", "impressions"),
    (r"(landing|click|visit)", "clicks"),
    (r"(lead|opt.?in|webinar|registration|signup|sign.?up|form)", "leads"),
    (r"application", "applications"),
    (r"(call|booking|appointment|meeting)", "bookings"),
    (r"(close|sale|purchase|order|checkout|conversion)", "conversions"),
)
WINDOW_DAYS = 7
P_THRESHOLD = 0.05
FUNNEL_SENTENCE = N_(" Weakest funnel stage: {stage} at {rate} against a benchmark of {bench} "
                     "(p = {p}); about {lost} a week at stake.")
ANGLES_SENTENCE = N_(" Angles to try: {angles}.")


def stage_column(stage: str) -> str | None:
    """Return the ``ads.metrics_daily`` count a funnel stage name stands for, or None."""
    s = stage.strip().lower()
    return next((col for rx, col in STAGE_COLUMNS if re.search(rx, s)), None)


def _key(stage: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", stage.strip().lower()).strip("_")


def funnel_diagnosis(funnel: dict[str, Any], counts: dict[str, float],
                     price: float | None) -> dict[str, Any] | None:
    """Return the transitions with their rates and benchmarks and the weakest one, or None.

    ``counts``: the campaign's sums over the window per column; ``price``: the product's price
    (None: no value at stake). Output: ``{"funnel_id", "stages": [{from, to, rate, benchmark,
    entrants, p_value}], "weakest": {...} | None}``.
    """
    stages = list(funnel.get("stages") or [])
    bench = {str(k): float(v) for k, v in (funnel.get("conversion_benchmarks") or {}).items()}
    rows = []
    for a, b in zip(stages, stages[1:], strict=False):
        ca, cb = stage_column(a), stage_column(b)
        expected = bench.get(f"{_key(a)}_to_{_key(b)}")
        if ca is None or cb is None or ca == cb or expected is None:
            continue
        expected = expected / 100 if expected > 1 else expected
        n, k = int(counts.get(ca) or 0), int(counts.get(cb) or 0)
        if n <= 0 or k > n or not 0 < expected < 1:
            continue
        p = float(binomtest(k, n, expected, alternative="less").pvalue)
        rows.append({"from": a, "to": b, "rate": k / n, "benchmark": expected, "entrants": n,
                     "p_value": p})
    if not rows:
        return None
    weak = [r for r in rows if r["p_value"] < P_THRESHOLD and r["rate"] < r["benchmark"]]
    weakest = min(weak, key=lambda r: r["p_value"]) if weak else None
    if weakest is not None and price:
        after = 1.0
        for r in rows[rows.index(weakest) + 1:]:
            after *= r["benchmark"]
        weekly = (weakest["benchmark"] - weakest["rate"]) * weakest["entrants"] * 7 / WINDOW_DAYS
        weakest = {**weakest, "value_at_stake": weekly * after * price}
    return {"funnel_id": funnel["funnel_id"], "stages": rows, "weakest": weakest}


def enrich_candidates(conn: Any, *, tenant_id: Any, as_of: date, cands: list[Any],
                      currency: str) -> None:
    """Add the funnel diagnosis to ``campaign_diagnostic`` candidates and angles to
    ``test_angle`` ones (evidence, action_params and one sentence per language). Three
    queries at most, whatever the number of candidates."""
    diag = [c for c in cands if c.type == "campaign_diagnostic" and c.level == "campaign"]
    tests = [c for c in cands if c.type == "test_angle"]
    if tests:
        picks = suggest_angles(conn, tenant_id=tenant_id)
        for c in tests:
            c.params["angles"] = [a["angle"] for a in picks]
            c.evidence["angles"] = picks
            for lang in LANGS:
                c.texts[lang]["action"] += _(lang, ANGLES_SENTENCE,
                                             angles=", ".join(a["angle"] for a in picks))
    if not diag:
        return
    funnels = conn.execute(
        """select f.*, p.price from core.funnels f
           left join core.products p on p.tenant_id = f.tenant_id and p.product_id = f.product_id
           where f.tenant_id = %s order by f.funnel_id""", [str(tenant_id)]).fetchall()
    if not funnels:
        return
    rows = conn.execute(
        """select platform, entity_id, sum(impressions)::float8 as impressions,
                  sum(clicks)::float8 as clicks, sum(leads)::float8 as leads,
                  sum(applications)::float8 as applications, sum(bookings)::float8 as bookings,
                  sum(conversions)::float8 as conversions
           from ads.metrics_daily where tenant_id = %s and level = 'campaign'
             and entity_id = any(%s) and day between %s and %s group by 1, 2""",
        [str(tenant_id), [c.entity_id for c in diag], as_of - timedelta(days=WINDOW_DAYS - 1),
         as_of]).fetchall()
    counts = {(r["platform"], r["entity_id"]): r for r in rows}
    for c in diag:
        f = next((f for f in funnels if c.entity_id in (f["campaign_ids"] or [])), None) or next(
            (f for f in funnels if not f["campaign_ids"]), None)
        got = counts.get((c.platform, c.entity_id))
        if f is None or got is None:
            continue
        d = funnel_diagnosis(dict(f), dict(got), float(f["price"]) if f["price"] else None)
        if d is None:
            continue
        c.evidence["funnel"] = d
        w = d["weakest"]
        if w is None:
            continue
        c.params["funnel_stage"] = stage = f"{w['from']} → {w['to']}"
        p_txt = f"{w['p_value']:.2g}"
        for lang in LANGS:
            c.texts[lang]["reason"] += _(
                lang, FUNNEL_SENTENCE, stage=stage,
                rate=format_percent(w["rate"], lang, 1), bench=format_percent(w["benchmark"], lang, 1),
                p=p_txt,
                lost=format_money(w.get("value_at_stake") or 0, currency, lang, 0))
