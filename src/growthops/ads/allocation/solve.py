"""The allocation problem on known curves (pure NumPy, no I/O).

Maximise ``sum_i w_i * A_i * (x_i / xbar_i) ** b_i`` (the objective: conversion value with
``w`` = value per result, or conversions with ``w = 1``) over daily budgets ``x_i`` in
``[lo_i, hi_i]`` subject to

* ``sum_i x_i <= cap`` (the budget left by the tenant's ``monthly_budget_max``; None: no cap),
* the account's average efficiency: ``objective / spend >= target`` (target ROAS, or 1 / target
  CPA), counting the entities that do not move (``fixed_*``),
* every unit of budget earning at least ``floor`` at the margin (break-even: ROAS 1 in the value
  objective, where the value is taken as margin).

Each term is concave (``0 < b < 1``), so the optimum equalises the marginal objective
``w A b / xbar * (x / xbar) ** (b - 1)`` at a shadow price ``lam`` across the entities not at a
bound (Karush-Kuhn-Tucker; Boyd & Vandenberghe, *Convex Optimization*, 5.5.3):
``x_i(lam) = xbar_i * (w_i A_i b_i / (lam xbar_i)) ** (1 / (1 - b_i))`` clipped to the bounds.
Spend falls and the average efficiency rises as ``lam`` grows, so the smallest ``lam >= floor``
meeting both constraints is found by bisection on ``log(lam)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BISECTION_STEPS = 60


@dataclass(frozen=True)
class Solution:
    """Budgets ``x`` (shape ``(n,)``), the shadow price ``lam`` (objective per extra unit of
    budget at the margin) and which constraint bound it (``floor``, ``cap``, ``target`` or
    ``infeasible`` when even the lower bounds miss the target)."""

    x: np.ndarray
    lam: float
    bound_by: str


def budgets_at(lam: float, w: np.ndarray, a: np.ndarray, b: np.ndarray, xbar: np.ndarray,
               lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Return the budgets equalising the marginal objective at ``lam`` (clipped to the bounds)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = xbar * np.power(np.maximum(w * a * b, 1e-300) / (lam * np.maximum(xbar, 1e-12)), 1.0 / (1.0 - b))
    return np.clip(np.nan_to_num(x, nan=0.0, posinf=np.inf), lo, hi)


def solve(w: np.ndarray, a: np.ndarray, b: np.ndarray, xbar: np.ndarray, lo: np.ndarray,
          hi: np.ndarray, *, cap: float | None, target: float, floor: float,
          fixed_spend: float = 0.0, fixed_objective: float = 0.0) -> Solution:
    """Solve the allocation (module docstring). Arrays of shape ``(n,)``; money in the
    tenant's currency; ``target`` objective per unit of spend (ROAS, or 1 / CPA); ``floor``
    the least marginal objective per unit of budget (> 0). ``cap`` applies to the sum of the
    movable budgets (the fixed ones already deducted)."""

    def objective(x: np.ndarray) -> float:
        return float(np.sum(w * a * np.power(np.maximum(x, 1e-12) / np.maximum(xbar, 1e-12), b) * (x > 0)))

    def feasible(x: np.ndarray) -> bool:
        spend = float(x.sum())
        if cap is not None and spend > cap + 1e-6:
            return False
        total = spend + fixed_spend
        return total <= 0 or (objective(x) + fixed_objective) >= target * total - 1e-9

    x = budgets_at(floor, w, a, b, xbar, lo, hi)
    if feasible(x):
        return Solution(x, floor, "floor")
    lo_l, hi_l = np.log(floor), np.log(floor) + 40.0
    if not feasible(budgets_at(float(np.exp(hi_l)), w, a, b, xbar, lo, hi)):
        return Solution(lo.copy(), float(np.exp(hi_l)), "infeasible")
    for _ in range(BISECTION_STEPS):
        mid = (lo_l + hi_l) / 2
        if feasible(budgets_at(float(np.exp(mid)), w, a, b, xbar, lo, hi)):
            hi_l = mid
        else:
            lo_l = mid
    lam = float(np.exp(hi_l))
    x = budgets_at(lam, w, a, b, xbar, lo, hi)
    over_cap = cap is not None and float(budgets_at(float(np.exp(lo_l)), w, a, b, xbar, lo, hi).sum()) > cap
    return Solution(x, lam, "cap" if over_cap else "target")
