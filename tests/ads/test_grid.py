"""The stream grid: step and slot inferred from the data, duplicates merged, gaps counted."""

from __future__ import annotations

import numpy as np
import pytest

from growthops.ads.analysis.grid import infer_step, regularise
from growthops.core.errors import InvalidInput


def _ts(start: str, step_s: int, n: int) -> np.ndarray:
    return np.datetime64(start, "s") + np.arange(n) * np.timedelta64(step_s, "s")


@pytest.mark.parametrize(
    ("step", "slot", "per_day"),
    [(300, 1800, 48), (1800, 1800, 48), (3600, 3600, 24), (86400, 86400, 1)],
)
def test_slot_follows_the_step(step: int, slot: int, per_day: int) -> None:
    g = regularise(_ts("2024-01-01T00:00", step, 500), np.arange(500.0))
    assert (g.step, g.slot, g.slots_per_day) == (step, slot, per_day)
    assert g.warnings == [] and g.duplicates == 0 and g.missing == 0


def test_duplicates_are_merged_and_reported_gaps_counted() -> None:
    ts = _ts("2024-01-01T00:00", 3600, 100)
    ts = np.delete(np.insert(ts, 10, ts[10]), [50, 51])  # one duplicate, two missing hours
    y = np.arange(ts.size, dtype=float)
    g = regularise(ts, y)
    assert g.step == 3600 and g.duplicates == 1 and g.missing == 2
    assert g.ts.size == 98 and np.all(np.diff(g.ts.astype(np.int64)) > 0)
    assert g.y[10] == pytest.approx((y[10] + y[11]) / 2)
    assert any("duplicated" in w for w in g.warnings) and any("missing" in w for w in g.warnings)


def test_step_not_dividing_a_day_falls_back_with_a_warning() -> None:
    g = regularise(_ts("2024-01-01T00:00", 7 * 3600, 50), np.ones(50))
    assert g.slot == 0 and any("does not divide a day" in w for w in g.warnings)


def test_step_is_the_most_frequent_gap_and_needs_two_timestamps() -> None:
    ts = np.concatenate([_ts("2024-01-01", 3600, 30), _ts("2024-01-03", 3600, 30)])
    assert infer_step(ts) == 3600
    with pytest.raises(InvalidInput, match="timestamp"):
        infer_step(_ts("2024-01-01", 60, 1))
    with pytest.raises(InvalidInput, match="lengths differ"):
        regularise(_ts("2024-01-01", 60, 3), np.ones(2))
