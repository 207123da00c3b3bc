"""Cost of the confidence model's pooled estimators (docs/confidences.md section 7).

Times, on ``--entities`` synthetic entities in three platform-level groups (Poisson counts of
1-200 results in four periods), the estimators the suggestion step runs now
(:func:`growthops.ads.suggestions.evidence.drift_moments`,
:func:`~growthops.ads.suggestions.evidence.drift_variance_function`,
:func:`~growthops.ads.suggestions.evidence.transient_variance`) against the two they replaced
(:func:`~growthops.ads.suggestions.evidence.drift_variance`,
:func:`~growthops.ads.suggestions.evidence.history_drift_variance`), in the same process: best
of ``--repeat`` runs each, in milliseconds, and their ratio.

Run: ``.venv/bin/python bench/confidence_estimators.py [--entities 100000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from growthops.ads.suggestions import evidence as ev


def best_ms(fn, repeat: int) -> float:
    """The fastest of ``repeat`` calls of ``fn``, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1000 * best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.entities
    groups = np.array([f"meta|{x}" for x in rng.choice(["ad", "adset", "campaign"], n)], dtype=object)
    gid = np.unique(groups, return_inverse=True)[1]
    c = [rng.poisson(rng.uniform(1, 200, n)).astype(float) for _ in range(3)]
    e = [np.full(n, k, dtype=float) for k in (1.0, 3.0, 1.0)]
    old = best_ms(lambda: (ev.drift_variance(c[0], e[0], c[1], e[1], groups),
                           ev.history_drift_variance(c[0], e[0], c[1], e[1], c[2], e[2], gid)), args.repeat)
    new = best_ms(lambda: (ev.drift_moments(c[0], e[0], c[1], e[1], gid),
                           ev.drift_variance_function(c[0], e[0], c[1], e[1], gid),
                           ev.transient_variance(c[0], e[0], c[1], e[1], c[2], e[2], gid)), args.repeat)
    print(f"{n:,} entities: replaced estimators {old:.0f} ms, current {new:.0f} ms, "
          f"ratio {new / old:.2f} (best of {args.repeat}; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
