"""Metrics: accuracy (binary and categorical), MAE and MSE on the device, ROC-AUC on
the host. The statistics over runs (``wilson_interval``, ``run_quartiles``) live
in tinynet.stats and are re-exported here, as ``tn.metrics.*`` has always named them.

The device metrics take encoded targets y (N, C) and predictions (N, C) or
(K, N, C) and return the mean over samples: a 0-d array or shape (K,).
"""

import numpy as np

from tinynet import _checks, backend, losses
from tinynet.stats import run_quartiles, wilson_interval

__all__ = ["binary_accuracy", "binary_accuracy_logits", "categorical_accuracy", "infer_mode",
           "label_accuracy", "mean_absolute_error", "mean_squared_error", "resolve", "roc_auc",
           "run_quartiles", "wilson_interval"]


def infer_mode(monitor):
    """"max" for accuracy/AUC-like metrics, "min" for losses and errors (Keras's rule)."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if ("acc" in name or name.startswith("auc")) else "min"


def categorical_accuracy(y, y_pred):
    """mean_n [argmax_c y_pred_nc == argmax_c y_nc]: label_accuracy of y's labels."""
    return label_accuracy(backend.namespace(y_pred).argmax(y, axis=-1), y_pred)


def label_accuracy(labels, y_pred):
    """mean_n [argmax_c y_pred_nc == labels_n], as hits / N in y_pred's dtype.

    labels: class indices (..., N), integers (argmax_c y_nc of encoded targets);
    y_pred (..., N, C). Counting the hits gives the mean of the 0/1 floats
    exactly (their sum is a whole number, exact in floating point below 2^24
    rows), in fewer passes. fit works the labels out once per fit and gathers
    them with each epoch's rows: argmax over short rows is one branchy loop per
    row, the slowest call of an epoch's metrics.
    """
    xp = backend.namespace(y_pred)
    hit = xp.argmax(y_pred, axis=-1) == labels
    # one model: the count of the whole array (NumPy's count along an axis costs ~2 us more)
    hits = xp.count_nonzero(hit, axis=-1) if hit.ndim > 1 else xp.count_nonzero(hit)
    return xp.astype(xp.asarray(hits), y_pred.dtype) / y_pred.shape[-2]


# metrics that read only the targets' labels: fn(y, y_pred) = FROM_LABELS[fn](labels, y_pred)
FROM_LABELS = {categorical_accuracy: label_accuracy}


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
