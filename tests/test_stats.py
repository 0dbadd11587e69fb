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
