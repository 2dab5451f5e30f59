"""Statistics the per-point maths needs, as numpy computes them, without what numpy
imports for them: :func:`median` is ``np.median`` without ``numpy.ma``, which
``np.median`` (and ``np.percentile``, ``np.nanmedian``) import on first use to check
for masked arrays: about 10 ms of a single check's start-up, for arrays that are never
masked."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def median(values: ArrayLike) -> float:
    """The median of ``values`` (flattened), equal to ``np.median``'s: the middle value,
    or the mean of the two middle ones; NaN when any value is NaN; NaN with numpy's
    "Mean of empty slice" warning when there is none."""
    a = np.asarray(values, dtype=float).ravel()
    n = a.size
    if n == 0:
        return float(np.mean(a))
    k = n // 2
    # As np.median: partition around the middle and the end (a NaN sorts last).
    part = np.partition(a, [k - 1, k, -1] if n % 2 == 0 else [k, -1])
    if np.isnan(part[-1]):
        return float("nan")
    return float(part[k]) if n % 2 else float((part[k - 1] + part[k]) / 2.0)


def unique(values: ArrayLike) -> np.ndarray:
    """The sorted distinct values of ``values`` (flattened), equal to ``np.unique``'s
    without its options (which checks for a masked array through ``numpy.ma``); for
    numbers without NaN, which is what the measures give it (integer keys)."""
    a = np.sort(np.asarray(values).ravel())
    keep = np.empty(a.shape, dtype=bool)
    keep[:1] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]
