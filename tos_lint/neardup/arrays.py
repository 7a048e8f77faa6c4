"""Small numpy helpers for sorted integer sets.

`np.unique` and `np.isin` in numpy 2.x may take a hash-table path that is
several times slower than sorting for the int64 keys used here, so the
near-duplicate code sorts explicitly.
"""
from __future__ import annotations

import numpy as np


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted."""
    if len(values) == 0:
        return values.copy()
    s = np.sort(values, kind="stable" if values.dtype.itemsize <= 2 else "quicksort")
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """For each value, whether it is in `sorted_set` (sorted, unique)."""
    if len(sorted_set) == 0 or len(values) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_set, values)
    np.minimum(pos, len(sorted_set) - 1, out=pos)
    return sorted_set[pos] == values
