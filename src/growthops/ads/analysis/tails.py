"""An empirical null for the day's anomaly tests: p-values that hold on real data (issue 16).

On real daily ad data far from any anomaly, the theoretical predictives of
:mod:`growthops.ads.analysis.detect` (log-normal Student-t for CPM/CPC/spend, gamma-Poisson for
CTR/CPA) are too narrow: on ``online_ad_performance`` p <= 0.05 happened 2-4x more often than 5 %
and p <= 0.001 10-50x more often than 0.1 % (``bench/pvalue_calibration.py``). The 28-day
history of an entity is nearly normal on the log scale (pooled excess kurtosis about 0.2), so
the excess is not in the history's tails but in what the model leaves out: drift of the level
within the window, day effects shared by the platform, heterogeneity of the dispersion. None
of these is visible in one entity's sums; all of them show in the spread of the day's test
statistics across the entities of a group.

Method: Efron's empirical null (Efron 2004, *JASA* 99:96, "Large-scale simultaneous hypothesis
testing: the choice of a null hypothesis"; Efron 2010, *Large-Scale Inference*, ch. 6): when
many similar tests run together, the bulk of their statistics is null, so the null's spread is
estimated from that bulk instead of being taken from the model. Here, per group (platform,
level, metric) with at least :data:`MIN_TESTS` tested entities:

* each test's one-sided predictive p-value is turned into a normal score
  ``z = Phi^-1(p_low)`` (spikes positive);
* a Student-t null ``scale * t(nu)`` centred at 0 is fitted to ``|z|`` by two quantiles of the
  bulk (quantile matching; the median and the 90th percentile, so up to 10 % of real anomalies
  barely move it): ``nu`` solves ``t_nu(0.95) / t_nu(0.75) = q90 / q50`` (inf when the ratio
  is at most the normal's 2.44), ``scale = q50 / t_nu(0.75)``;
* each test's p-values become ``max(model p, empirical-null p)``: the empirical null can only
  widen the theoretical one, never make a test more liberal (a group whose tests are
  under-dispersed keeps the model's p-values).

Not centred: a shift shared by the whole group (every CPM up 30 % today) stays visible.
Groups smaller than :data:`MIN_TESTS` keep the model's p-values (too few tests to estimate a
90th percentile); ``bench/pvalue_calibration.py`` prints the calibration before and after.

Streams (:func:`causal_null`): one stream tested step after step has one test per step, so
there is no cross-section to fit on. The same null (same family, same quantile fit, same
``max``) is then fitted, at each block of time (e.g. a day), on the stream's *own past* scores
only (the trailing ``window`` blocks before the block; nothing from the block itself or
later): Efron's empirical null applied over time instead of across entities, in the spirit of
conformal p-values, which rank a new score among past scores assumed exchangeable with it
(Vovk, Gammerman & Shafer 2005, *Algorithmic Learning in a Random World*, ch. 2). Here the past
scores only fit the two parameters of the t null, so the tail beyond the past's largest score
is still a (fitted) model tail instead of being floored at ``1 / (n + 1)``. For a stream, the
past's null may also replace the model both ways (``causal_null(..., widen_only=False)``,
docs/performance.md section 2e): a stream narrower than its model (the NAB tweets, p <= 0.05
at 0.2 alpha) is then narrowed to its level too, which only widening cannot do.

Option (docs/performance.md section 2c): :func:`fit_null` with :data:`TAIL_QUANTILES` (median,
90th and 99th percentiles, least squares on the log quantiles) fitted on the tests actually made
(``detect(null_fit="made")``) calibrates every metric of ``online_ad_performance`` but costs the
causal null a labelled NAB window, so the default of :func:`growthops.ads.analysis.detect.detect`
stays the two central quantiles. The daily cycle runs it (section 2d,
:data:`growthops.ads.analysis.anomalies.NULL_RULE`) with :func:`pooled_null`: a group under
:data:`MIN_TESTS` tests made pools the fewest previous days' stored scores that make
:data:`MIN_TESTS`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special, stats

from growthops.ads.analysis.codes import unique_inverse

#: Fewest tests in a group for an empirical null (5 tests beyond the 90th percentile). Convention.
MIN_TESTS = 50
#: Degrees of freedom searched for the fitted null (log-spaced grid; inf = normal).
_NU_GRID = np.geomspace(2.5, 200.0, 80)
#: Quantiles of ``|z|`` the null is fitted on by default (fractions): Efron's central matching,
#: the median and the 90th percentile (docs/performance.md section 2).
FIT_QUANTILES: tuple[float, ...] = (0.5, 0.9)
#: The option of docs/performance.md section 2c: the 99th percentile added, so that the fit sees
#: the tail where the tests decide (p <= 0.01); it calibrates the cross-section of
#: ``online_ad_performance`` but costs a labelled NAB window to the causal null.
TAIL_QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.99)


@functools.lru_cache(maxsize=16)
def _t_abs_quantiles(q: tuple[float, ...]) -> np.ndarray:
    """Quantiles ``q`` of ``|T|`` for every ``nu`` of the grid, then the normal: (grid + 1, len q)."""
    pp = (1.0 + np.asarray(q, float)) / 2.0
    return np.vstack([stats.t.ppf(pp[None, :], _NU_GRID[:, None]), special.ndtri(pp)[None, :]])


def fit_null(
    z: Any, *, min_tests: int = MIN_TESTS, quantiles: tuple[float, ...] = FIT_QUANTILES
) -> tuple[float, float]:
    """Fit ``scale * t(nu)`` to the absolute scores ``|z|`` by matching quantiles.

    ``z``: 1-D array of normal scores (finite values used); ``quantiles``: increasing fractions
    of ``|z|`` matched (default :data:`FIT_QUANTILES`). Two quantiles (section 2): exact match,
    ``nu`` solves ``q_b(|t_nu|) / q_a(|t_nu|) = q_b / q_a`` (interpolated on a log grid from 2.5
    to 200; the normal when the ratio is at most the normal's) and ``scale = q_a / q_a(|t_nu|)``.
    More quantiles (:data:`TAIL_QUANTILES`): least squares on the log quantiles, ``(scale, nu)``
    minimise ``sum_k (log q_k - log scale - log q_k(|t_nu|))**2`` over the grid and the normal
    (the best ``log scale`` for a ``nu`` is the mean difference): quantile matching as in
    McCulloch (1986, *Commun. Statist. Simul.* 15:1109) for the stable laws' tail index. Returns
    ``(1.0, inf)`` when fewer than ``min_tests`` (default :data:`MIN_TESTS`) finite scores or a
    zero quantile.
    """
    a = np.abs(np.asarray(z, float))
    a = a[np.isfinite(a)]
    q = tuple(float(x) for x in quantiles)
    if a.size < min_tests:
        return 1.0, float("inf")
    obs = np.quantile(a, q)
    if not np.all(obs > 0):
        return 1.0, float("inf")
    tq = _t_abs_quantiles(q)
    if len(q) == 2:  # exact match of the ratio, nu interpolated on the grid (section 2)
        ratios = tq[:-1, 1] / tq[:-1, 0]  # decreasing with nu
        ratio = obs[1] / obs[0]
        nu = float(np.interp(ratio, ratios[::-1], _NU_GRID[::-1]))
        if ratio <= tq[-1, 1] / tq[-1, 0]:
            nu = float("inf")
        lower = stats.t.ppf((1.0 + q[0]) / 2.0, nu) if np.isfinite(nu) else tq[-1, 0]
        return float(obs[0] / lower), nu
    diff = np.log(obs)[None, :] - np.log(tq)
    log_scale = diff.mean(axis=1)
    err = ((diff - log_scale[:, None]) ** 2).sum(axis=1)
    k = int(np.argmin(err))
    nu = float(_NU_GRID[k]) if k < _NU_GRID.size else float("inf")
    return float(np.exp(log_scale[k])), nu


def _inputs(p_low: Any, p_high: Any, group: Any, tested: Any) -> tuple:
    """The nulls' common inputs: copies of ``p_low``, ``p_high`` (float arrays), the mask of the
    tests that enter a fit (finite p-values, and ``tested`` when given), the group labels as
    strings (``""`` for all when ``group`` is None) and the normal scores of the p-values."""
    pl = np.asarray(p_low, float).copy()
    ph = np.asarray(p_high, float).copy()
    ok = np.isfinite(pl) & np.isfinite(ph)
    if tested is not None:
        ok &= np.asarray(tested, bool)
    labels = np.full(pl.shape, "", dtype=object) if group is None else np.asarray(group).astype(str)
    return pl, ph, ok, labels, normal_scores(pl, ph)


def empirical_null(
    p_low: Any,
    p_high: Any,
    *,
    group: Any = None,
    tested: Any = None,
    quantiles: tuple[float, ...] = FIT_QUANTILES,
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[float, float]]]:
    """Widen one-sided p-values by each group's empirical null (see the module docstring).

    ``p_low``, ``p_high`` (fractions 0-1, length n, NaN = untested), ``group`` labels (length n;
    None = one group), ``tested`` boolean mask of the tests that enter the fit (default: finite
    p-values), ``quantiles`` those of :func:`fit_null`. Returns ``(p_low, p_high, fits)`` where
    ``fits`` maps a group label to its ``(scale, nu)``. Only tests in ``tested`` are changed.
    """
    pl, ph, ok, labels, z = _inputs(p_low, p_high, group, tested)
    fits: dict[str, tuple[float, float]] = {}
    for g in unique_inverse(labels[ok])[0]:
        idx = np.flatnonzero(ok & (labels == g))
        scale, nu = fit_null(z[idx], quantiles=quantiles)
        fits[str(g)] = (scale, nu)
        _widen(pl, ph, z, idx, scale, nu)
    return pl, ph, fits


def normal_scores(p_low: Any, p_high: Any) -> np.ndarray:
    """Return the normal score ``Phi^-1(p_low)`` of each test (spikes positive), from the tail
    that is smaller (``-Phi^-1(p_high)`` for spikes, exact in the far tail); NaN when untested."""
    pl, ph = np.asarray(p_low, float), np.asarray(p_high, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            pl < ph,
            special.ndtri(np.clip(pl, 1e-300, 1.0)),
            -special.ndtri(np.clip(ph, 1e-300, 1.0)),
        )


def _widen(
    pl: np.ndarray,
    ph: np.ndarray,
    z: np.ndarray,
    idx: np.ndarray,
    scale: float,
    nu: float,
    widen_only: bool = True,
) -> None:
    """In place, for the rows ``idx`` under the null ``scale * t(nu)``: ``p = max(p, null p)``
    (``widen_only``), else ``p = null p`` (the null replaces the model, both ways)."""
    if idx.size == 0 or (widen_only and scale <= 1.0 and not np.isfinite(nu)):
        return
    x = z[idx] / scale
    if np.isfinite(nu):
        lo, hi = stats.t.cdf(x, nu), stats.t.sf(x, nu)
    else:
        lo, hi = special.ndtr(x), special.ndtr(-x)
    if widen_only:
        lo, hi = np.maximum(pl[idx], lo), np.maximum(ph[idx], hi)
    pl[idx], ph[idx] = lo, hi


def causal_null(
    p_low: Any,
    p_high: Any,
    *,
    block: Any = None,
    group: Any = None,
    tested: Any = None,
    window: float | None = None,
    min_tests: int = MIN_TESTS,
    include_current: bool = False,
    as_needed: bool = False,
    quantiles: tuple[float, ...] = FIT_QUANTILES,
    widen_only: bool = True,
) -> tuple[np.ndarray, np.ndarray, dict[tuple[str, float], tuple[float, float]]]:
    """Widen each test's p-values by a null fitted on the *past* scores of its group.

    ``p_low``, ``p_high``: one-sided p-values (fractions 0-1, length n, NaN = untested);
    ``block``: time label of each row (numbers, e.g. the day index; default: the row index, one
    refit per row); ``group``: independent streams (default one); ``tested``: boolean mask of
    the rows that are tests (default: finite p-values). For the rows of block ``b`` of group
    ``g``, :func:`fit_null` is fitted on the normal scores of ``g``'s tested rows with a block in
    ``[b - window, b)`` (``window`` in block units; None = the whole past; with
    ``include_current`` also block ``b`` itself: a cross-section pooled with the past days,
    which is not causal within the block; with ``as_needed`` as well, a block with ``min_tests``
    tests of its own gets exactly the cross-sectional :func:`empirical_null`, and a smaller one
    the null of the fewest most recent past blocks that make ``min_tests``, without its own
    scores: judged against its past, not fitted into it, so that a few extreme tests of the day
    cannot widen their own null, docs/performance.md section 2g), and the rows' p-values become
    ``max(model p, null p)``. Rows with fewer than ``min_tests`` such scores (burn-in) keep the
    model's p-values (``quantiles``: those of :func:`fit_null`). ``widen_only`` (default):
    ``p = max(model p, null p)``, as every null of this module; False: ``p = null p``, the past's
    null replaces the model both ways, so a stream whose scores are narrower than its model
    (under-dispersed bulk) is narrowed too (docs/performance.md section 2e; for streams only:
    the scores it is fitted on are the same stream's, one per step). A row's result depends
    only on rows of earlier blocks (and, with ``include_current``, of its own block): changing
    a later row never changes it.

    Returns ``(p_low, p_high, fits)``; ``fits`` maps ``(group, block)`` to ``(scale, nu)``.
    """
    pl, ph, ok, labels, z = _inputs(p_low, p_high, group, tested)
    n = pl.shape[0]
    blk = np.arange(n, dtype=float) if block is None else np.asarray(block, float)
    fits: dict[tuple[str, float], tuple[float, float]] = {}
    for g in unique_inverse(labels[ok])[0]:
        rows = np.flatnonzero(labels == g)
        rows = rows[np.argsort(blk[rows], kind="stable")]
        b_rows = blk[rows]
        pool_rows = rows[ok[rows]]  # sorted by block
        pool_b = blk[pool_rows]
        pool_z = z[pool_rows]
        starts = np.flatnonzero(np.r_[True, b_rows[1:] != b_rows[:-1]])
        ends = np.r_[starts[1:], rows.size]
        for s, e in zip(starts, ends, strict=True):
            b = b_rows[s]
            hi = np.searchsorted(pool_b, b, side="right" if include_current else "left")
            lo = 0 if window is None else np.searchsorted(pool_b, b - window, side="left")
            if include_current and as_needed:
                cur = int(np.searchsorted(pool_b, b, side="left"))
                if hi - cur >= min_tests:  # enough of its own: the block alone
                    lo = cur
                else:  # too few: the past alone, whole blocks back until min_tests scores
                    hi = cur
                    if hi - lo >= min_tests:
                        first = np.searchsorted(pool_b, pool_b[hi - min_tests], side="left")
                        lo = max(lo, int(first))
            if hi - lo < min_tests:
                continue
            scale, nu = fit_null(pool_z[lo:hi], min_tests=min_tests, quantiles=quantiles)
            fits[(str(g), float(b))] = (scale, nu)
            idx = rows[s:e]
            _widen(pl, ph, z, idx[ok[idx]], scale, nu, widen_only)
    return pl, ph, fits


def pooled_null(
    p_low: Any,
    p_high: Any,
    *,
    past: Mapping[str, Sequence[Any]],
    group: Any = None,
    tested: Any = None,
    min_tests: int = MIN_TESTS,
    quantiles: tuple[float, ...] = FIT_QUANTILES,
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[float, float, int]]]:
    """Widen one day's p-values by each group's null: the day's tests, or its past days'.

    The daily cycle's form of :func:`causal_null` with ``include_current=True, as_needed=True``
    (docs/performance.md sections 2b, 2d and 2g): per group, the null is fitted on the normal
    scores of the day's tests in ``tested`` when they are at least ``min_tests`` (default
    :data:`MIN_TESTS`; exactly :func:`empirical_null`), else on the fewest most recent past days
    that make ``min_tests``, without the day's own scores (a small group's few extreme tests
    would otherwise be the tail of their own null and mask themselves: section 2g); a past still
    under ``min_tests`` keeps the model's p-values. ``past`` maps a group label
    to its past days' scores, **most recent day first** (one 1-D array of normal scores per day,
    as :func:`normal_scores` gives them; the caller passes only days before the tested day, e.g.
    the 28 kept in ``ads.anomaly_null_scores``). ``p_low``, ``p_high`` (fractions 0-1, length
    n), ``group`` (labels, length n; None = one group ``""``), ``tested`` (boolean mask, default
    finite p-values), ``quantiles`` those of :func:`fit_null`. Returns ``(p_low, p_high, fits)``
    where ``fits`` maps a group label to ``(scale, nu, past days used)``.
    """
    pl, ph, ok, labels, z = _inputs(p_low, p_high, group, tested)
    fits: dict[str, tuple[float, float, int]] = {}
    for g in unique_inverse(labels[ok])[0]:
        idx = np.flatnonzero(ok & (labels == g))
        pool = [z[idx]] if idx.size >= min_tests else []  # a small day: its past alone
        n, used = (idx.size if pool else 0), 0
        for day_scores in past.get(str(g), ()):
            if n >= min_tests:
                break
            s = np.asarray(day_scores, float)
            s = s[np.isfinite(s)]
            pool.append(s)
            n += s.size
            used += 1
        if n < min_tests:
            continue
        scale, nu = fit_null(np.concatenate(pool), min_tests=min_tests, quantiles=quantiles)
        fits[str(g)] = (scale, nu, used)
        _widen(pl, ph, z, idx, scale, nu)
    return pl, ph, fits
