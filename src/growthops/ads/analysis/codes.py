"""Integer codes of string labels (platform, level, metric groups) without sorting the strings.

``np.unique(labels, return_inverse=True)`` on an object array of strings sorts every element
with Python comparisons (an ``argsort`` of objects): with a few distinct labels over the ~12,000
tests of a tenant's day it was a third of the anomaly step (issue 16, docs/performance.md §4e).
:func:`unique_inverse` gives the same two arrays from a set of the distinct labels (sorted, few)
and one dictionary look-up per element.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def unique_inverse(keys: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(uniques, inverse)`` exactly as ``np.unique(keys, return_inverse=True)``.

    ``keys``: array-like of length n. For a 1-D object array of ``str`` (the labels the cycle
    groups by): ``uniques`` the distinct strings in sorted order (object array), ``inverse``
    the position of each element's string in it (``intp``, length n), computed with a dict.
    Anything else (numbers, other shapes or element types) goes to ``np.unique`` itself.
    """
    a = np.asarray(keys)
    if a.dtype != object or a.ndim != 1:
        return np.unique(a, return_inverse=True)
    items = a.tolist()
    distinct = set(items)
    if not all(type(k) is str for k in distinct):
        return np.unique(a, return_inverse=True)
    uniq = sorted(distinct)
    pos = {k: j for j, k in enumerate(uniq)}
    inv = np.fromiter(map(pos.__getitem__, items), dtype=np.intp, count=len(items))
    out = np.empty(len(uniq), dtype=object)
    out[:] = uniq
    return out, inv
