"""Confidence calibration: how often suggestions stated at each confidence were validated.

A suggestion's ``confidence`` is the posterior probability of its premise (percent). Once its
execution is measured (:mod:`growthops.ads.learning.hypotheses`), the outcome is a label:
validated = 1, **partial = 0.5** (half the prediction held: counted, not dropped, so ambiguous
cases do not flatter the engine), invalidated = 0; inconclusive outcomes are excluded (no
evidence either way).

:func:`fit` maps stated confidence (fraction) to the observed rate with isotonic regression
(increasing, clipped to [0, 1]; Zadrozny & Elkan 2002, "Transforming classifier scores into
accurate multiclass probability estimates"; Niculescu-Mizil & Caruana 2005), **per tenant
only**: row-level security forbids pooling tenants' outcomes. With few outcomes the map is
shrunk toward the identity (trust the stated confidence) with the credibility weight
``w = n / (n + PRIOR_OUTCOMES)`` (Bühlmann 1967): ``calibrated = w x isotonic + (1 - w) x stated``.
It scores the map with the Brier score (Brier 1950) before (stated) and after, the "after"
out-of-fold (5-fold cross-validation: the in-sample score of an isotonic fit is optimistic). The
model becomes active only when it beats the stated confidences out of fold; otherwise every
model is deactivated and :func:`calibrate` is the identity. The reliability table uses bins of
10 points with the Wilson 95% interval (Wilson 1927) of each bin's observed rate.
"""

from __future__ import annotations

import json
import math
from typing import Any
from uuid import UUID

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import KFold

OUTCOME_VALUE = {"validated": 1.0, "partial": 0.5, "invalidated": 0.0}
#: Pseudo-outcomes on the identity line (credibility constant k): at n = 20 outcomes the fitted
#: map and the stated confidence weigh the same.
PRIOR_OUTCOMES = 20
#: Folds of the out-of-fold Brier score.
CV_FOLDS = 5
Z95 = 1.959963984540054


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float] | None:
    """Return the Wilson score interval (fractions) of ``successes`` in ``n`` trials, or None.

    ``successes`` may be fractional (partial outcomes count 0.5). Source: Wilson (1927);
    Brown, Cai & DasGupta (2001) recommend it for small n.
    """
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def brier(p: np.ndarray, y: np.ndarray) -> float | None:
    """Return the Brier score ``mean((p - y)^2)`` (fractions), or None without outcomes."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    return float(np.mean((p - y) ** 2)) if len(y) else None


def reliability_table(x: np.ndarray, y: np.ndarray, calibrated: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Return 10 bins of stated confidence (0-10%, ..., 90-100%; 100% in the last) with ``count``,
    ``mean_stated``, ``observed`` (mean label), its Wilson 95% ``ci_low`` / ``ci_high`` and, when
    given, ``mean_calibrated``. Fractions 0-1; empty bins have None rates."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = np.clip(np.floor(x * 10 + 1e-9).astype(int), 0, 9) if len(x) else np.array([], int)
    out = []
    for b in range(10):
        m = idx == b
        n = int(m.sum())
        row: dict[str, Any] = {"bin": f"{10 * b}-{10 * b + 10}%", "low": b / 10, "high": (b + 1) / 10, "count": n,
                               "mean_stated": None, "observed": None, "ci_low": None, "ci_high": None}
        if n:
            ci = wilson_interval(float(y[m].sum()), n)
            assert ci is not None
            row.update(mean_stated=float(x[m].mean()), observed=float(y[m].mean()), ci_low=ci[0], ci_high=ci[1])
            if calibrated is not None:
                row["mean_calibrated"] = float(np.asarray(calibrated)[m].mean())
        out.append(row)
    return out


def fit_map(x: np.ndarray, y: np.ndarray, prior_outcomes: int = PRIOR_OUTCOMES) -> dict[str, Any]:
    """Fit the shrunk isotonic map; return ``{"x", "y", "isotonic_y", "weight", "prior_outcomes"}``.

    ``x`` stated confidences and ``y`` labels (fractions). The breakpoints span [0, 1] (flat
    isotonic ends), so ``np.interp(c, x, y)`` applies the map exactly.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    bx, by = np.asarray(iso.X_thresholds_, float), np.asarray(iso.y_thresholds_, float)
    xs = np.concatenate([[0.0], bx, [1.0]])
    iy = np.concatenate([[by[0]], by, [by[-1]]])
    keep = np.concatenate([[True], xs[1:] > xs[:-1]])
    xs, iy = xs[keep], iy[keep]
    w = len(x) / (len(x) + prior_outcomes)
    ys = np.clip(w * iy + (1 - w) * xs, 0.0, 1.0)
    return {"x": xs.round(6).tolist(), "y": ys.round(6).tolist(), "isotonic_y": iy.round(6).tolist(),
            "weight": round(w, 6), "prior_outcomes": prior_outcomes}


def apply_map(params: dict[str, Any] | None, confidences: Any) -> np.ndarray:
    """Apply a fitted map (``params`` of :func:`fit_map`) to fractions; identity when None."""
    c = np.clip(np.asarray(confidences, float), 0.0, 1.0)
    if not params:
        return c
    return np.interp(c, np.asarray(params["x"], float), np.asarray(params["y"], float))


def _cv_brier(x: np.ndarray, y: np.ndarray) -> float:
    """Out-of-fold Brier score of the shrunk isotonic map (KFold, shuffled, seed 0)."""
    pred = np.empty(len(x))
    folds = KFold(n_splits=min(CV_FOLDS, len(x)), shuffle=True, random_state=0)
    for train, test in folds.split(x):
        pred[test] = apply_map(fit_map(x[train], y[train]), x[test])
    return float(np.mean((pred - y) ** 2))


def _outcomes(conn: Any, tenant_id: UUID | str) -> list[dict[str, Any]]:
    return conn.execute(
        """select hypothesis_id, suggestion_type, confidence_score, outcome, measured_at, applied_to_model
           from ads.hypothesis_tracking
           where tenant_id = %s and outcome in ('validated', 'partial', 'invalidated')
           order by hypothesis_id""",
        [str(tenant_id)],
    ).fetchall()


def fit(conn: Any, *, tenant_id: UUID | str, min_outcomes: int = 20) -> dict[str, Any] | None:
    """Fit the tenant's calibration from its measured hypotheses; None under ``min_outcomes``.

    Stores a row in ``ads.calibration_models`` (method ``isotonic+shrinkage``, params as
    breakpoints, Brier before / after, reliability table), active only when its out-of-fold
    Brier beats the stated confidences' (else all models go inactive: identity); records the
    adjustment in ``ads.feedback_loops`` (``loop_type`` 'calibration', ``before_vs_after`` with
    the Brier scores and n; ``improvement_measured`` = Brier reduction); marks the hypotheses
    used ``applied_to_model``. Returns the model as a dict (``unchanged`` True, and nothing
    written, when no outcome arrived since the last fit: safe to call every day). Never commits.
    """
    rows = _outcomes(conn, tenant_id)
    if len(rows) < max(int(min_outcomes), 2):
        return None
    if all(r["applied_to_model"] for r in rows):
        last = conn.execute(
            """select model_id, fitted_at, n_outcomes, active, params, brier_before, brier_after, reliability
               from ads.calibration_models where tenant_id = %s order by fitted_at desc, model_id desc limit 1""",
            [str(tenant_id)]).fetchone()
        if last is not None and last["n_outcomes"] == len(rows):
            return {**last, "brier_in_sample": last["params"].get("brier_in_sample"), "unchanged": True}
    x = np.array([r["confidence_score"] / 100.0 for r in rows])
    y = np.array([OUTCOME_VALUE[r["outcome"]] for r in rows])
    params = fit_map(x, y)
    cal = apply_map(params, x)
    before, in_sample, after = float(np.mean((x - y) ** 2)), float(np.mean((cal - y) ** 2)), _cv_brier(x, y)
    params["brier_in_sample"] = in_sample
    active = after < before
    table = reliability_table(x, y, cal)
    conn.execute("update ads.calibration_models set active = false where tenant_id = %s and active", [str(tenant_id)])
    model = conn.execute(
        """insert into ads.calibration_models (tenant_id, method, n_outcomes, params, brier_before, brier_after,
                                               reliability, active)
           values (%s, 'isotonic+shrinkage', %s, %s::jsonb, %s, %s, %s::jsonb, %s)
           returning model_id, fitted_at""",
        [str(tenant_id), len(rows), json.dumps(params), before, after, json.dumps(table), active],
    ).fetchone()
    gap = float(x.mean() - y.mean())
    days = [r["measured_at"].date() for r in rows if r["measured_at"] is not None]
    conn.execute(
        """insert into ads.feedback_loops (tenant_id, loop_type, issue_description, frequency_of_issue,
              impact_severity, adjustment_type, adjustment_description, before_vs_after, test_period_start,
              test_period_end, improvement_measured, status, applied_to_production)
           values (%s, 'calibration', %s, %s, %s, 'isotonic_calibration', %s, %s::jsonb, %s, %s, %s, %s, %s)""",
        [str(tenant_id),
         f"Stated confidence averaged {x.mean():.0%} while the measured outcomes scored {y.mean():.0%} "
         f"(validated 1, partial 0.5, invalidated 0; n = {len(rows)}).",
         len(rows), "high" if abs(gap) >= 0.15 else "medium" if abs(gap) >= 0.05 else "low",
         (f"Isotonic map shrunk toward the identity (weight {params['weight']:.2f}); "
          + ("active: new confidences are calibrated with it." if active else
             "not better than the stated confidences out of fold: not applied (identity).")),
         json.dumps({"brier_before": before, "brier_after": after, "brier_in_sample": in_sample, "n": len(rows),
                     "mean_stated": float(x.mean()), "observed_rate": float(y.mean()), "model_id": model["model_id"]}),
         min(days) if days else None, max(days) if days else None, round(before - after, 4),
         "testing" if active else "rolled_back", active],
    )
    conn.execute("update ads.hypothesis_tracking set applied_to_model = true where tenant_id = %s and hypothesis_id = any(%s)",
                 [str(tenant_id), [r["hypothesis_id"] for r in rows]])
    return {"model_id": model["model_id"], "fitted_at": model["fitted_at"], "n_outcomes": len(rows),
            "active": active, "unchanged": False, "brier_before": before, "brier_after": after, "brier_in_sample": in_sample,
            "params": params, "reliability": table}


def active_model(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any] | None:
    """Return the tenant's active calibration model row, or None."""
    return conn.execute(
        """select model_id, fitted_at, method, n_outcomes, params, brier_before, brier_after
           from ads.calibration_models where tenant_id = %s and active
           order by fitted_at desc, model_id desc limit 1""",
        [str(tenant_id)],
    ).fetchone()


def calibrate(conn: Any, *, tenant_id: UUID | str, confidences: Any) -> np.ndarray:
    """Return calibrated confidences (fractions 0-1) under the tenant's active model.

    ``confidences``: array-like of stated confidences, fractions 0-1 (clipped). Identity when
    the tenant has no active model. One query.
    """
    model = active_model(conn, tenant_id=tenant_id)
    return apply_map(model["params"] if model else None, confidences)


def report(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the learning report of a tenant (fractions 0-1; counts).

    Keys: ``counts`` (by outcome, 'open' = not measured yet), ``by_type`` (type -> outcome ->
    count), ``n_scored`` (outcomes used: validated, partial, invalidated), ``brier`` (stated,
    and calibrated by the active model, in sample), ``reliability`` (10 bins, see
    :func:`reliability_table`), ``model`` (the active model or None), ``patterns`` (active
    decision patterns), ``feedback`` (the 10 latest feedback loops).
    """
    t = str(tenant_id)
    counts_rows = conn.execute(
        """select suggestion_type, coalesce(outcome, 'open') as outcome, count(*)::int as n
           from ads.hypothesis_tracking where tenant_id = %s group by 1, 2 order by 1, 2""", [t]).fetchall()
    counts: dict[str, int] = {k: 0 for k in ("validated", "partial", "invalidated", "inconclusive", "open")}
    by_type: dict[str, dict[str, int]] = {}
    for r in counts_rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + r["n"]
        by_type.setdefault(r["suggestion_type"], {})[r["outcome"]] = r["n"]
    rows = _outcomes(conn, tenant_id)
    x = np.array([r["confidence_score"] / 100.0 for r in rows])
    y = np.array([OUTCOME_VALUE[r["outcome"]] for r in rows])
    model = active_model(conn, tenant_id=tenant_id)
    cal = apply_map(model["params"], x) if model else None
    patterns = conn.execute(
        """select pattern_name, pattern_type, condition, condition_text, detected_from_decisions, approvals,
                  refusals, confidence::float8 as confidence, significance, last_validated
           from ads.decision_patterns where tenant_id = %s and status = 'active'
           order by confidence desc, pattern_name""", [t]).fetchall()
    feedback = conn.execute(
        """select loop_id, loop_type, issue_description, adjustment_description, before_vs_after,
                  improvement_measured::float8 as improvement_measured, status, created_at
           from ads.feedback_loops where tenant_id = %s order by created_at desc, loop_id desc limit 10""",
        [t]).fetchall()
    return {
        "counts": counts, "by_type": by_type, "n_scored": len(rows),
        "brier": {"stated": brier(x, y), "calibrated": brier(cal, y) if cal is not None else None},
        "reliability": reliability_table(x, y, cal),
        "model": dict(model) if model else None,
        "patterns": patterns, "feedback": feedback,
    }
