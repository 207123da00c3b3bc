"""False alarms and power of the 24-hour check's rule (``growthops.ads.learning.early``).

Run: ``.venv/bin/python bench/early_check_error.py [--runs 20000] [--rate 20] [--siblings 2]
[--seed 0]``

Simulates the check's input with Poisson counts (no database): a unit with ``rate`` results a
day over a 7-day baseline, ``siblings`` untouched comparators with the same rate, and ``k``
days after the change (1 to 3 daily looks). The predicted band is that of the scale test
fixture (results p10 -9%, p50 +14%, p90 +36%). Each run goes through the module's own
:func:`growthops.ads.learning.early.read_one`. Printed per true effect:

* ``at the band's adverse edge`` (the worst case that must NOT trigger a rollback): the share of
  runs flagged ``adverse_clear`` at any of the looks (day 1, 2, 3): the false-alarm rate of the
  repeated early looks;
* effects below the edge: the share flagged (power), at the first look and by the third.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.ads.learning.early import read_one  # noqa: E402

PRED = {
    "horizon_days": 7,
    "metrics": {"results": {"p10": 20, "p50": 25, "p90": 30}},
    "status_quo": {"results": 22},
}
EDGE = math.log(20 / 22)


def _sums(b: float, a: float, days_a: int, n: int = 1) -> dict[str, float]:
    return {
        "n_entities": n,
        "spend_b": 700.0 * n,
        "spend_a": 100.0 * days_a * n,
        "impressions_b": 7e4 * n,
        "impressions_a": 1e4 * days_a * n,
        "clicks_b": 700.0 * n,
        "clicks_a": 100.0 * days_a * n,
        "results_b": b,
        "results_a": a,
        "value_b": 0.0,
        "value_a": 0.0,
        "days_b": 7,
        "days_a": days_a,
    }


def flagged(
    rng: np.random.Generator, effect: float, rate: float, siblings: int, looks: int
) -> list[bool]:
    """One simulated execution read on days 1..looks; True where the read is adverse_clear."""
    ub = rng.poisson(rate * 7)
    cb = rng.poisson(rate * 7 * siblings) if siblings else 0
    ua_days = rng.poisson(rate * math.exp(effect), size=looks).cumsum()
    ca_days = rng.poisson(rate * siblings, size=looks).cumsum() if siblings else np.zeros(looks)
    out = []
    for k in range(1, looks + 1):
        sums = {"entity": _sums(ub, float(ua_days[k - 1]), k)}
        if siblings:
            sums["comp"] = _sums(cb, float(ca_days[k - 1]), k, siblings)
        row = {
            "hypothesis_id": 1,
            "suggestion_id": 1,
            "type": "scale",
            "entity_id": "u",
            "entity_type": "adset",
            "u_level": "adset",
            "u_id": "u",
            "start_day": date(2026, 1, 1),
            "end_day": date(2026, 1, k),
            "predicted_metrics": PRED,
            "baseline_metrics": {},
            "sums": sums,
            "comparators": ["s"] * siblings,
        }
        out.append(read_one(row)["verdict"] == "adverse_clear")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=20.0, help="results a day of the unit")
    ap.add_argument("--siblings", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    print(f"rate {a.rate}/day, {a.siblings} sibling(s), {a.runs} runs per effect, rule |z| > 3.29")
    for label, shift in (
        ("at the band's adverse edge", 0.0),
        ("edge -30%", math.log(0.7)),
        ("edge -50%", math.log(0.5)),
        ("edge -70%", math.log(0.3)),
    ):
        hits = np.array([flagged(rng, EDGE + shift, a.rate, a.siblings, 3) for _ in range(a.runs)])
        day1, any3 = hits[:, 0].mean(), hits.any(axis=1).mean()
        print(f"{label:>28}: flagged on day 1 {day1:.4%}, on any of days 1-3 {any3:.4%}")


if __name__ == "__main__":
    main()
