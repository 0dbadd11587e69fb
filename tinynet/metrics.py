"""Metrics: accuracy (binary and categorical), MAE and MSE on the device, ROC-AUC on
the host, and the Wilson interval of a count ("k of n seeds").

The device metrics take encoded targets y (N, C) and predictions (N, C) or
(K, N, C) and return the mean over samples: a 0-d array or shape (K,).
"""

import numpy as np

from tinynet import _checks, backend, losses


def infer_mode(monitor):
    """"max" for accuracy/AUC-like metrics, "min" for losses and errors (Keras's rule)."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if ("acc" in name or name.startswith("auc")) else "min"


def categorical_accuracy(y, y_pred):
    """mean_n [argmax_c y_pred_nc == argmax_c y_nc]."""
    xp = backend.namespace(y_pred)
    hit = xp.argmax(y_pred, axis=-1) == xp.argmax(y, axis=-1)
    return xp.mean(xp.astype(hit, y_pred.dtype), axis=-1)


def binary_accuracy(y, y_pred, threshold=0.5):
    """mean over elements of [(y_pred > threshold) == (y > 0.5)]."""
    xp = backend.namespace(y_pred)
    hit = (y_pred > threshold) == (y > 0.5)
    return xp.mean(xp.mean(xp.astype(hit, y_pred.dtype), axis=-1), axis=-1)


def binary_accuracy_logits(y, y_pred):
    """Binary accuracy for a model that outputs logits: the threshold is 0."""
    return binary_accuracy(y, y_pred, threshold=0.0)


def mean_absolute_error(y, y_pred):
    """mean_n mean_c |y_pred_nc - y_nc| (Keras's "mae"); (K,) for stacked predictions."""
    xp = backend.namespace(y_pred)
    return xp.mean(xp.mean(xp.abs(y_pred - y), axis=-1), axis=-1)


def mean_squared_error(y, y_pred):
    """mean_n mean_c (y_pred_nc - y_nc)^2 (Keras's "mse"); (K,) for stacked predictions."""
    xp = backend.namespace(y_pred)
    d = y_pred - y
    return xp.mean(xp.mean(d * d, axis=-1), axis=-1)


def roc_auc(y_true, y_score):
    """Area under the ROC curve: P(score of a positive > score of a negative), ties 1/2.

    y_true (N,) of 0/1, y_score (N,) real; computed exactly from ranks
    (Mann-Whitney U), host-side. Raises ValueError if only one class is present.
    """
    y = _checks.host_array(y_true, "y_true", "roc_auc", ndim=(1, 2)).reshape(-1)
    s = _checks.host_array(backend.to_numpy(y_score), "y_score", "roc_auc", ndim=(1, 2))
    s = s.reshape(-1).astype(np.float64)
    if y.shape != s.shape:
        raise ValueError(f"roc_auc: y_true has {y.size} values but y_score has {s.size}.")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("roc_auc: y_true must hold only 0 and 1.")
    n_pos = int(np.sum(y == 1))
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc: y_true holds a single class; the AUC is undefined.")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size)
    sorted_s = s[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    u = np.sum(ranks[y == 1]) - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


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
    Returns floats, or float64 arrays for array input.
    """
    k_arr, n_arr = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    if np.any(k_arr < 0) or np.any(k_arr > n_arr) or np.any(k_arr != np.round(k_arr)):
        raise ValueError(f"wilson_interval: k must be an integer count with 0 <= k <= n, got "
                         f"k={k!r}, n={n!r}.")
    z = float(z)
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
    Returns three float64 arrays (or floats for 1-D input).
    """
    if mode not in ("min", "max"):
        raise ValueError(f"run_quartiles: mode must be 'min' or 'max', got {mode!r}.")
    worst = np.inf if mode == "min" else -np.inf
    v = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
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


def resolve(name, loss):
    """(history key, device function) for a metric name, Keras style.

    "accuracy"/"acc" picks categorical accuracy for the categorical losses and
    binary accuracy for binary cross-entropy, as Keras does. "mae"/"mse" and
    their long names compare the outputs with the encoded targets (one-hot for
    the sparse loss); the history key is the name as given, as in Keras 3.
    """
    if name in ("accuracy", "acc"):
        if isinstance(loss, losses.CategoricalCrossentropy):
            return "accuracy", categorical_accuracy
        if isinstance(loss, losses.BinaryCrossentropy):
            return "accuracy", binary_accuracy_logits if loss.from_logits else binary_accuracy
        raise ValueError(
            f"compile: metric 'accuracy' needs a classification loss, got {loss!r}. "
            "Use metrics=() for regression."
        )
    table = {
        "categorical_accuracy": categorical_accuracy,
        "sparse_categorical_accuracy": categorical_accuracy,
        "binary_accuracy": binary_accuracy,
        "mae": mean_absolute_error,
        "mean_absolute_error": mean_absolute_error,
        "mse": mean_squared_error,
        "mean_squared_error": mean_squared_error,
    }
    if name in table:
        return name, table[name]
    raise ValueError(
        f"compile: unknown metric {name!r}. Choose one of: accuracy, {', '.join(table)}."
    )
