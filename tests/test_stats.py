"""``stats.median`` and ``stats.unique`` give exactly what ``np.median`` and
``np.unique`` give (they exist only to spare a check numpy.ma's import)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from retrogpx.stats import median, unique

FLOATS = hnp.arrays(
    np.float64,
    st.integers(1, 60),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=64)
    | st.sampled_from([0.0, -0.0, 1.0, 1.0, 2.5]),
)
INT64 = st.integers(-(2**63), 2**63 - 1)
INTS = hnp.arrays(np.int64, st.integers(0, 80), elements=st.integers(-5, 5) | INT64)


@settings(max_examples=400, deadline=None)
@given(values=FLOATS)
def test_median_is_numpys(values: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf in numpy's mean
        expected = float(np.median(values))
        got = median(values)
    assert got == expected or (np.isnan(got) and np.isnan(expected))


@settings(max_examples=200, deadline=None)
@given(values=INTS)
def test_unique_is_numpys(values: np.ndarray) -> None:
    got = unique(values)
    np.testing.assert_array_equal(got, np.unique(values))
    assert got.dtype == values.dtype


def test_median_of_nothing_is_nan_with_numpys_warning() -> None:
    with pytest.warns(RuntimeWarning) as ours:
        assert np.isnan(median(np.zeros(0)))
    with pytest.warns(RuntimeWarning) as numpys:
        assert np.isnan(np.median(np.zeros(0)))
    assert [str(w.message) for w in ours] == [str(w.message) for w in numpys]
    assert "Mean of empty slice" in str(ours[0].message)
    assert median(np.array([[3.0, 1.0], [2.0, 4.0]])) == 2.5  # flattened, as np.median


def test_neither_imports_numpy_ma() -> None:
    code = (
        "import sys, numpy as np; from retrogpx.stats import median, unique; "
        "median(np.arange(9.0)); unique(np.arange(9) % 3); print('numpy.ma' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
