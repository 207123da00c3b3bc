"""NAB scoring (Numenta Anomaly Benchmark v1.1), reimplemented without NAB's code.

Follows ``numenta/NAB`` at commit ea702d75 (``nab/sweeper.py``, ``nab/runner.py``) and the recipe
in ``/work/shared/data/nab/SOURCE.md``; paper: Lavin & Ahmad, "Evaluating Real-time Anomaly
Detection Algorithms - the Numenta Anomaly Benchmark", IEEE ICMLA 2015 (arXiv:1510.03336).

* A detection inside a labelled window ``[L, R]`` (row indices, inclusive, width
  ``W = R - L + 1``) at row ``i`` scores ``A_TP * S(-(R - i + 1) / W) / S(-1)`` where
  ``S(x) = 2 / (1 + exp(5x)) - 1`` is the scaled sigmoid (``S(x) = -1`` for ``x > 3``); so a
  detection on the window's first row scores exactly ``A_TP``. Only the best (= first)
  detection of a window counts; a window without detection costs ``-A_FN``.
* A detection outside every window costs ``A_FP * S(|i - R_prev| / (W_prev - 1))`` after a
  window (``R_prev``, ``W_prev``: the last window that ended before ``i``), ``-A_FP`` before
  the first window.
* Rows of the probation period are not scored at all: NAB's code uses
  ``min(floor(0.15 * n), 0.15 * 5000)`` rows, i.e. 15 % of the file capped at 750 rows
  (``Sweeper._getProbationaryLength``). SOURCE.md says "first 15 %"; the published numbers it
  quotes come from NAB's code, so the cap is applied here (``probation_cap=None`` removes it).
* Normalised score over several files: ``100 * (raw - null) / (perfect - null)`` with the sums
  over files of the raw score, of the null detector's score (``-A_FN`` per scorable window) and
  of the perfect score (``A_TP`` per scorable window).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from growthops.core.errors import InvalidInput

PROBATION_PERCENT = 0.15
PROBATION_CAP_ROWS = 5000  # NAB: probation <= 0.15 * 5000 = 750 rows


def scaled_sigmoid(x: Any) -> np.ndarray:
    """Return NAB's scaled sigmoid ``2 / (1 + exp(5 x)) - 1`` (-1 beyond ``x > 3``), vectorised."""
    xv = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):
        val = 2.0 / (1.0 + np.exp(5.0 * xv)) - 1.0
    return np.where(xv > 3.0, -1.0, val)


def probation_length(
    n_rows: int, *, percent: float = PROBATION_PERCENT, cap_rows: int | None = PROBATION_CAP_ROWS
) -> float:
    """Return NAB's probation length in rows: ``min(floor(p n), p * cap_rows)`` (no cap if None)."""
    length = math.floor(percent * n_rows)
    return length if cap_rows is None else min(length, percent * cap_rows)


@dataclass(frozen=True)
class FileScore:
    """Score of one file under one cost profile.

    ``raw``: NAB raw score; ``null`` / ``perfect``: the null and perfect detectors' scores;
    ``tp`` / ``fn``: scorable windows detected / missed; ``fp``: detection rows outside windows
    (after probation); ``first_detection``: per window, the row index of its first detection
    (-1 if none).
    """

    raw: float
    null: float
    perfect: float
    tp: int
    fp: int
    fn: int
    first_detection: tuple[int, ...]


def window_indices(
    timestamps: np.ndarray, windows: Sequence[Sequence[str]]
) -> list[tuple[int, int]]:
    """Map NAB window limits (timestamp strings) to inclusive row indices.

    ``timestamps``: sorted ``datetime64`` array of the file's rows. NAB requires every window
    limit to be a row timestamp; raises :class:`InvalidInput` otherwise.
    """
    ts = np.asarray(timestamps).astype("datetime64[s]")
    out = []
    for start, end in windows:
        pair = []
        for lim in (start, end):
            t = np.datetime64(str(lim).replace(" ", "T")).astype("datetime64[s]")
            i = int(np.searchsorted(ts, t))
            if i >= ts.size or ts[i] != t:
                raise InvalidInput(f"NAB window limit {lim!r} is not a row timestamp")
            pair.append(i)
        out.append((pair[0], pair[1]))
    return sorted(out)


def score_file(
    n_rows: int,
    detections: Iterable[int] | np.ndarray,
    windows: Sequence[tuple[int, int]],
    cost: Mapping[str, float],
    *,
    probation_cap: int | None = PROBATION_CAP_ROWS,
) -> FileScore:
    """Score one file's detections the NAB way (see the module docstring).

    ``detections``: boolean array of length ``n_rows`` or an iterable of row indices;
    ``windows``: inclusive ``(L, R)`` row indices (sorted, disjoint); ``cost``: NAB cost matrix
    (``tpWeight``, ``fpWeight``, ``fnWeight``). Returns a :class:`FileScore`.
    """
    det = np.asarray(detections)
    if det.dtype == bool:
        if det.shape != (n_rows,):
            raise InvalidInput(f"detections: expected {n_rows} booleans, got {det.shape}")
        idx = np.flatnonzero(det)
    else:
        idx = np.unique(det.astype(np.int64))
    a_tp, a_fp, a_fn = cost["tpWeight"], cost["fpWeight"], cost["fnWeight"]
    prob = probation_length(n_rows, cap_rows=probation_cap)
    idx = idx[idx >= prob]
    max_tp = float(scaled_sigmoid(-1.0))
    raw = 0.0
    tp = fn = 0
    n_windows = 0
    in_window = np.zeros(idx.shape, dtype=bool)
    firsts = []
    for left, right in windows:
        if right < prob:  # the whole window lies in the probation period: not scored
            firsts.append(-1)
            continue
        n_windows += 1
        width = right - left + 1
        hits = idx[(idx >= left) & (idx <= right)]
        in_window |= (idx >= left) & (idx <= right)
        if hits.size:
            first = int(hits[0])
            raw += a_tp * float(scaled_sigmoid(-(right - first + 1) / width)) / max_tp
            tp += 1
            firsts.append(first)
        else:
            raw -= a_fn
            fn += 1
            firsts.append(-1)
    fps = idx[~in_window]
    ends = np.array([r for _, r in windows], dtype=np.int64)
    widths = np.array([r - lft + 1 for lft, r in windows], dtype=float)
    for i in fps:
        k = int(np.searchsorted(ends, i)) - 1  # last window with right edge < i
        if k < 0:
            raw -= a_fp
        else:
            raw += a_fp * float(scaled_sigmoid(abs(i - ends[k]) / (widths[k] - 1.0)))
    return FileScore(
        raw=raw,
        null=-a_fn * n_windows,
        perfect=a_tp * n_windows,
        tp=tp,
        fp=int(fps.size),
        fn=fn,
        first_detection=tuple(firsts),
    )


def normalised_score(scores: Iterable[FileScore]) -> float:
    """Return ``100 * (sum raw - sum null) / (sum perfect - sum null)`` over files (NAB runner)."""
    s = list(scores)
    raw = sum(x.raw for x in s)
    null = sum(x.null for x in s)
    perfect = sum(x.perfect for x in s)
    return 100.0 * (raw - null) / (perfect - null)


def load_series(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a NAB CSV (``timestamp,value``); return (datetime64[s] array, float64 values)."""
    ts, vals = [], []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
        if header[:2] != ["timestamp", "value"]:
            raise InvalidInput(f"{path}: header must be 'timestamp,value', got {header}")
        for line in fh:
            if line.strip():
                t, v = line.strip().split(",")[:2]
                ts.append(t.replace(" ", "T"))
                vals.append(float(v))
    return np.array(ts, dtype="datetime64[s]"), np.array(vals, dtype=float)


def load_labels(root: str | Path) -> tuple[dict[str, list[list[str]]], dict[str, dict[str, float]]]:
    """Load ``labels/combined_windows.json`` and the cost matrices of ``scoring_profiles.json``."""
    root = Path(root)
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    profiles_raw = json.loads((root / "labels" / "scoring_profiles.json").read_text())
    profiles = {name: p["CostMatrix"] for name, p in profiles_raw.items()}
    return windows, profiles
