"""Regular time grids for streaming detectors: the step, the seasonal slot, duplicates, gaps.

A stream of ``(timestamp, value)`` rows (NAB files, hourly platform exports, daily metrics) is
tested on its own regular step. :func:`regularise` finds that step from the data instead of
assuming it, collapses duplicated timestamps and reports what it did, so that a seasonal model
never silently degenerates (issue 16: 30-minute slots assumed on hourly data gave every slot
factor exactly 1.0, and so did one duplicated timestamp).

Rules (conventions of this module, stated so they can be checked):

* step = the most frequent positive difference between consecutive distinct timestamps
  (the mode is robust to a few gaps; the median would be too);
* duplicated timestamps: the rows of one timestamp are replaced by their mean (a re-sent
  sample, not two samples), counted in ``duplicates`` and reported in ``warnings``;
* missing timestamps stay missing (rows are not invented); they are counted in ``missing``
  (grid points between first and last without a row);
* seasonal slot = ``max(step, min_slot_seconds)`` (default 30 minutes: at finer steps a
  time-of-day curve with 288 cells per weekday is too noisy for 28 days of history) when it
  divides a day; a day-long step gives one slot (day-of-week seasonality only); a step that
  does not divide a day (e.g. 7 minutes) gives no time-of-day seasonality and a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from growthops.core.errors import InvalidInput

DAY_SECONDS = 86400
#: Finest seasonal slot (seconds); a convention, see the module docstring.
MIN_SLOT_SECONDS = 1800


@dataclass
class Grid:
    """A stream on its regular grid.

    ``ts`` datetime64[s] (sorted, unique), ``y`` float64 values (same length), ``step`` and
    ``slot`` in seconds (``slot`` 0 = no time-of-day seasonality), ``slots_per_day``,
    ``steps_per_slot``, ``duplicates`` (rows merged into another row of the same timestamp),
    ``missing`` (grid points without a row) and human-readable ``warnings``.
    """

    ts: np.ndarray
    y: np.ndarray
    step: int
    slot: int
    slots_per_day: int
    steps_per_slot: int
    duplicates: int = 0
    missing: int = 0
    warnings: list[str] = field(default_factory=list)


def infer_step(ts: np.ndarray) -> int:
    """Return the stream's step in seconds: the most frequent positive gap between timestamps.

    ``ts``: datetime64 array (any order, duplicates allowed). Raises :class:`InvalidInput` when
    fewer than two distinct timestamps exist.
    """
    sec = np.unique(np.asarray(ts).astype("datetime64[s]").astype(np.int64))
    if sec.size < 2:
        raise InvalidInput("timestamp: need at least two distinct timestamps to infer the step")
    gaps, counts = np.unique(np.diff(sec), return_counts=True)
    return int(gaps[np.argmax(counts)])


def regularise(ts: np.ndarray, y: np.ndarray, *, min_slot_seconds: int = MIN_SLOT_SECONDS) -> Grid:
    """Sort, merge duplicated timestamps (mean), infer the step and the seasonal slot.

    ``ts`` datetime64 and ``y`` float arrays of equal length. Returns a :class:`Grid`. Raises
    :class:`InvalidInput` on different lengths or fewer than two distinct timestamps.
    """
    ts = np.asarray(ts).astype("datetime64[s]")
    y = np.asarray(y, dtype=float)
    if ts.shape != y.shape:
        raise InvalidInput(f"timestamp/value: lengths differ ({ts.size} vs {y.size})")
    sec = ts.astype(np.int64)
    uniq, inv, cnt = np.unique(sec, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=y, minlength=uniq.size)
    y_u = sums / cnt
    warnings: list[str] = []
    dups = int(y.size - uniq.size)
    if dups:
        first = uniq[np.flatnonzero(cnt > 1)[0]].astype("datetime64[s]")
        warnings.append(
            f"{dups} duplicated timestamp row(s) merged by their mean (first at {first})"
        )
    step = infer_step(uniq.astype("datetime64[s]"))
    span = int(uniq[-1] - uniq[0])
    on_grid = ((uniq - uniq[0]) % step) == 0
    if not on_grid.all():
        warnings.append(f"{int((~on_grid).sum())} timestamp(s) off the {step}-second grid")
    missing = max(span // step + 1 - int(on_grid.sum()), 0)
    if missing:
        warnings.append(f"{missing} missing timestamp(s) on the {step}-second grid")
    slot = max(step, min_slot_seconds)
    if DAY_SECONDS % slot:
        warnings.append(
            f"step {step} s does not divide a day: no time-of-day seasonality (factors fall back to 1)"
        )
        slot, per_day, per_slot = 0, 1, 1
    else:
        per_day, per_slot = DAY_SECONDS // slot, max(slot // step, 1)
    return Grid(
        uniq.astype("datetime64[s]"), y_u, step, slot, per_day, per_slot, dups, missing, warnings
    )
