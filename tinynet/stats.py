"""Statistics over runs: how many seeds of n did something, and the spread of a result.

Host-side (NumPy) summaries of what sweeps, reports and figures measure over
seeds: ``wilson_interval`` for a count "k of n seeds", ``run_quartiles`` for a
per-run value in which a run that went non-finite counts as the worst, never
dropped. ``tn.metrics.wilson_interval`` and ``tn.metrics.run_quartiles`` name
the same functions.
"""

import numbers

import numpy as np

from tinynet import _checks


def wilson_interval(k, n, z=1.959964):
    """(lo, hi): the Wilson score interval for k successes out of n trials (95% by default).

    With p = k / n:
        centre = (p + z^2 / (2n)) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))
    and (lo, hi) = (centre - half, centre + half), exactly 0 when k == 0 and
    exactly 1 when k == n (Wilson 1927; statsmodels' proportion_confint with
    method="wilson"). Unlike p +- z sqrt(p (1 - p) / n) it stays inside [0, 1]
    and is not empty at k = 0 or k = n: 0 of 10 seeds is (0, 0.278).
    k, n: ints (or arrays of them, broadcast) with 0 <= k <= n; n == 0 gives (0, 1).
    z > 0, finite. Returns floats, or float64 arrays for array input.
    """
    owner = "wilson_interval"
    _checks.numbers_only(k, "k", owner)
    _checks.numbers_only(n, "n", owner)
    k_arr, n_arr = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    if not np.all(np.isfinite(n_arr) & (n_arr >= 0) & (n_arr == np.round(n_arr))):
        raise ValueError(f"{owner}: n must be an integer count >= 0, got n={n!r}.")
    if np.any(k_arr < 0) or np.any(k_arr > n_arr) or np.any(k_arr != np.round(k_arr)):
        raise ValueError(f"{owner}: k must be an integer count with 0 <= k <= n, got "
                         f"k={k!r}, n={n!r}.")
    z = _checks.real(z, "z", owner, low=0.0, low_open=True)
    safe = np.maximum(n_arr, 1.0)
    p = k_arr / safe
    denom = 1.0 + z * z / safe
    centre = (p + z * z / (2.0 * safe)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / safe + z * z / (4.0 * safe * safe))
    lo = np.where(k_arr == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(k_arr == n_arr, 1.0, np.clip(centre + half, 0.0, 1.0))
    lo, hi = np.where(n_arr == 0, 0.0, lo), np.where(n_arr == 0, 1.0, hi)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def run_quartiles(values, mode="min", axis=-1):
    """(q25, median, q75) over ``axis`` of runs, every run counted: NaN and inf are the worst.

    A run whose value is NaN or infinite (it went non-finite, or was frozen
    after that) counts as +inf for mode="min" (losses) and -inf for mode="max"
    (accuracies), so a median is over all runs, never over the survivors only:
    when more than half of the runs are non-finite the median is +-inf.
    Linear interpolation as numpy.percentile, except that interpolating
    towards an infinite neighbour gives that infinity (numpy gives NaN).
    values: numbers with at least one run along ``axis`` (an int).
    Returns three float64 arrays (or floats for 1-D input).
    """
    owner = "run_quartiles"
    if mode not in ("min", "max"):
        raise ValueError(f"{owner}: mode must be 'min' or 'max', got {mode!r}.")
    worst = np.inf if mode == "min" else -np.inf
    v = _checks.host_array(values, "values", owner, dtype="float", finite=False, empty=True)
    if v.ndim == 0:
        raise ValueError(f"{owner}: values must have at least one axis (the runs), got {values!r}.")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{owner}: axis must be an integer, got {axis!r}.")
    if not -v.ndim <= axis < v.ndim:
        raise ValueError(f"{owner}: axis must be an integer in [{-v.ndim}, {v.ndim - 1}] for "
                         f"values of shape {v.shape}, got {axis!r}.")
    if v.shape[axis] == 0:
        raise ValueError(f"{owner}: values has no runs along axis {axis} (shape {v.shape}); it "
                         "needs at least one.")
    v = np.moveaxis(v, axis, -1)
    v = np.sort(np.where(np.isfinite(v), v, worst), axis=-1)
    n = v.shape[-1]
    out = []
    for q in (0.25, 0.5, 0.75):
        pos = q * (n - 1)
        lo, hi = int(np.floor(pos)), int(np.ceil(pos))
        t = pos - lo
        a, b = v[..., lo], v[..., hi]
        with np.errstate(invalid="ignore"):
            mid = a + (b - a) * t if t > 0 else a.copy()
        if t > 0:
            mid = np.where(np.isneginf(a), a, mid)
            mid = np.where(np.isposinf(b), b, mid)
        out.append(float(mid) if np.ndim(mid) == 0 else mid)
    return tuple(out)
