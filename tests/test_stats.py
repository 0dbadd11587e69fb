"""Statistics over runs: the Wilson interval against its published formula."""

import numpy as np
import pytest

from tinynet import stats


def _wilson(k, n, z):
    """Wilson (1927): (k + z^2/2) / (n + z^2) +- z / (n + z^2) sqrt(k (n - k) / n + z^2 / 4)."""
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * np.sqrt(k * (n - k) / n + z * z / 4)
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(0, 1), (1, 2), (3, 7), (7, 20), (19, 20), (50, 100),
                                  (1, 1000)])
def test_wilson_interval_is_the_published_formula(k, n):
    z = 1.959964
    np.testing.assert_allclose(stats.wilson_interval(k, n), _wilson(k, n, z), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(stats.wilson_interval(k, n, z=1.0), _wilson(k, n, 1.0),
                               rtol=1e-12, atol=1e-15)
    # a literal reference: 7 of 20 at 95% is [0.1812, 0.5671] (Newcombe 1998, method 3)
    assert stats.wilson_interval(7, 20) == pytest.approx((0.1812, 0.5671), abs=5e-5)


@pytest.mark.parametrize("z", [0, -1.0, float("nan"), float("inf")])
def test_wilson_interval_refuses_a_bad_z(z):
    # z=nan gave (nan, nan) and z=0 an interval of width 0
    with pytest.raises(ValueError, match="wilson_interval: z must"):
        stats.wilson_interval(1, 3, z=z)
    with pytest.raises(TypeError, match="wilson_interval: z must be a real number"):
        stats.wilson_interval(1, 3, z="1.96")


@pytest.mark.parametrize("k, n, error, name", [
    ("1", 3, TypeError, "k"), (1, "3", TypeError, "n"), (True, 3, TypeError, "k"),
    (1, [3, "3"], TypeError, "n"), (1.5, 3, ValueError, "k"), (4, 3, ValueError, "k"),
    (-1, 3, ValueError, "k"), (0, -1, ValueError, "n"), (0, 2.5, ValueError, "n"),
    (1, float("inf"), ValueError, "n"), (0, float("nan"), ValueError, "n"),
])
def test_wilson_interval_refuses_bad_counts(k, n, error, name):
    with pytest.raises(error, match=f"wilson_interval: {name} must"):
        stats.wilson_interval(k, n)


def test_wilson_interval_keeps_its_contract_for_counts():
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    assert stats.wilson_interval(3.0, 7.0) == stats.wilson_interval(3, 7)
    lo, hi = stats.wilson_interval(np.array([0, 1, 2]), np.array([2, 2, 2]))
    assert lo.shape == hi.shape == (3,)


@pytest.mark.parametrize("values, kwargs, error, match", [
    ([], {}, ValueError, "values has no runs along axis -1"),
    (np.ones((3, 0)), {}, ValueError, "values has no runs along axis -1"),
    (np.ones((0, 3)), {"axis": 0}, ValueError, "values has no runs along axis 0"),
    (3.0, {}, ValueError, "values must have at least one axis"),
    ([1.0, 2.0], {"axis": 5}, ValueError, r"axis must be an integer in \[-1, 0\]"),
    ([1.0, 2.0], {"axis": 1.0}, TypeError, "axis must be an integer"),
    (["a"], {}, TypeError, "values must hold numbers"),
    ([1.0, 2.0], {"mode": "median"}, ValueError, "mode must be 'min' or 'max'"),
])
def test_run_quartiles_refuses_bad_input(values, kwargs, error, match):
    with pytest.raises(error, match=f"run_quartiles: {match}"):
        stats.run_quartiles(values, **kwargs)


def test_run_quartiles_counts_a_non_finite_run_as_the_worst():
    assert stats.run_quartiles([3.0, float("nan"), 1.0]) == (2.0, 3.0, float("inf"))
    assert stats.run_quartiles([7]) == (7.0, 7.0, 7.0)
    q25, q50, q75 = stats.run_quartiles(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), axis=0)
    np.testing.assert_array_equal(q50, [2.5, 3.5, 4.5])
