"""Data preparation on the host: scaling, splitting and one-hot labels.

These are NumPy tools that run before training, in the style of scikit-learn's
``fit`` / ``transform`` contract. They accept NumPy arrays, lists or arrays of
any tinynet backend, always return new float64/int64 NumPy arrays, and never
modify what they are given.
"""

import math
import numbers

import numpy as np

from tinynet import _checks, backend

__all__ = ["NotFittedError", "StandardScaler", "one_hot", "train_test_split"]


class NotFittedError(ValueError):
    """A scaler was used before ``fit`` taught it the data's statistics."""


def _host(value, name, owner, **kwargs):
    """A checked NumPy copy of ``value``, which may be a backend array."""
    if not isinstance(value, np.ndarray) and hasattr(value, "__array_namespace__"):
        value = backend.to_numpy(value)
    return _checks.host_array(value, name, owner, **kwargs)


def _rng(seed, owner):
    """``numpy.random.default_rng(seed)``; seed is None or a non-negative integer."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(_checks.nonneg_int(seed, "seed", owner))


def _matrix(x, owner):
    """``x`` as a finite float64 (N, F) copy; 1-D input gets a reshape hint."""
    arr = _host(x, "x", owner, dtype="float")
    if arr.ndim == 1:
        raise ValueError(
            f"{owner}: x must be 2-D (samples, features), got shape {arr.shape}. "
            "Scale a single feature or a target as a column: x.reshape(-1, 1)."
        )
    if arr.ndim != 2:
        raise ValueError(f"{owner}: x must be 2-D (samples, features), got shape {arr.shape}.")
    return arr


class StandardScaler:
    """Centre each feature on 0 and scale it to unit variance, as scikit-learn's.

    transform:          z = (x - mean_) / scale_
    inverse_transform:  x = z * scale_ + mean_

    mean_ (F,) and var_ (F,) are the column mean and the population variance
    (ddof=0) of the data given to ``fit``; scale_ = sqrt(var_), except that a
    constant column gets scale_ 1 (its values become 0 instead of NaN), as in
    scikit-learn. Fit on the training data only and reuse the same scaler for
    validation and test data: those then come out close to, not exactly at,
    mean 0 and variance 1.

    with_mean=True: subtract mean_ (mean_ is None when False).
    with_std=True:  divide by scale_ (scale_ is None when False).

    x is 2-D, (N, F). Scale a single column, such as a regression target, as
    ``y.reshape(-1, 1)``. NaN or infinite values raise ValueError.
    """

    def __init__(self, with_mean=True, with_std=True):
        if not isinstance(with_mean, bool):
            raise TypeError(f"StandardScaler: with_mean must be True or False, got {with_mean!r}.")
        if not isinstance(with_std, bool):
            raise TypeError(f"StandardScaler: with_std must be True or False, got {with_std!r}.")
        self.with_mean = with_mean
        self.with_std = with_std
        self.n_features_in_ = None
        self.mean_ = None
        self.var_ = None
        self.scale_ = None

    def fit(self, x):
        """Learn mean_, var_ and scale_ from x (N, F); returns the scaler."""
        x = _matrix(x, "StandardScaler.fit")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(
                f"StandardScaler.fit: x needs at least one sample and one feature, "
                f"got shape {x.shape}."
            )
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            var = np.var(x, axis=0)
        if not np.all(np.isfinite(var)):
            raise ValueError(
                "StandardScaler.fit: the variance of x overflows float64; "
                "its values are too large to scale (divide them by a constant first)."
            )
        # constant: equal values (tested exactly, free of rounding noise) or a
        # variance that underflowed to 0
        constant = np.all(x == x[0], axis=0) | (var == 0.0)
        mean = np.where(constant, x[0], np.mean(x, axis=0))
        var = np.where(constant, 0.0, var)
        self.n_features_in_ = x.shape[1]
        self.mean_ = mean if self.with_mean else None
        self.var_ = var
        self.scale_ = np.where(constant, 1.0, np.sqrt(var)) if self.with_std else None
        return self

    def transform(self, x):
        """z = (x - mean_) / scale_ for x (N, F); a new float64 array."""
        z = self._checked(x, "StandardScaler.transform")
        if self.mean_ is not None:
            z = z - self.mean_
        if self.scale_ is not None:
            z = z / self.scale_
        return z

    def fit_transform(self, x):
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def inverse_transform(self, x):
        """x = z * scale_ + mean_: undo ``transform``; a new float64 array."""
        z = self._checked(x, "StandardScaler.inverse_transform")
        if self.scale_ is not None:
            z = z * self.scale_
        if self.mean_ is not None:
            z = z + self.mean_
        return z

    def _checked(self, x, owner):
        if self.n_features_in_ is None:
            raise NotFittedError(
                f"{owner}: this StandardScaler is not fitted yet. "
                "Call fit(x_train) first, then transform."
            )
        x = _matrix(x, owner)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{owner}: expected {self.n_features_in_} features (fitted on "
                f"{self.n_features_in_}), got {x.shape[1]} (x has shape {x.shape})."
            )
        return x

    def __repr__(self):
        return f"StandardScaler(with_mean={self.with_mean}, with_std={self.with_std})"


def _test_count(test_size, n, owner):
    """Number of test rows: ceil(test_size * n) for a fraction, or the count itself."""
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(
            f"{owner}: test_size must be a float in (0, 1) or an integer count, "
            f"got {test_size!r}."
        )
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(
                f"{owner}: test_size as a count must be between 1 and {n - 1} "
                f"for {n} samples, got {n_test}."
            )
        return n_test
    fraction = _checks.real(
        test_size, "test_size", owner, low=0.0, high=1.0, low_open=True, high_open=True
    )
    n_test = math.ceil(fraction * n)
    if n_test >= n:
        raise ValueError(
            f"{owner}: test_size={fraction} leaves no training samples out of {n}. "
            "Use a smaller test_size or more data."
        )
    return n_test


def _stratified_test_rows(labels, n_test, rng):
    """Test row indices holding each class in proportion (largest remainders)."""
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse, minlength=classes.size)
    share = n_test * counts / labels.size
    take = np.floor(share).astype(np.int64)
    extra = n_test - int(np.sum(take))
    take[np.argsort(-(share - take), kind="stable")[:extra]] += 1
    rows = [rng.permutation(np.flatnonzero(inverse == c))[: take[c]] for c in range(classes.size)]
    return rng.permutation(np.concatenate(rows))


def train_test_split(x, y, test_size=0.2, seed=None, shuffle=True, stratify=None):
    """Split x and y into training and test rows: (x_train, x_test, y_train, y_test).

    The order of the result is scikit-learn's. test_size is a fraction in (0, 1),
    giving ceil(test_size * N) test rows as scikit-learn does, or an integer count.
    shuffle=True draws the rows from numpy.random.default_rng(seed) (the same seed
    gives the same split); shuffle=False keeps the last rows for testing.
    stratify: labels (N,), usually y, whose class proportions the two parts keep.

    x (N, ...) and y (N, ...) are any arrays with the same number of rows; the
    parts are new NumPy arrays.
    """
    owner = "train_test_split"
    x = _host(x, "x", owner, finite=False)
    y = _host(y, "y", owner, finite=False)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"{owner}: x and y must have a row axis, got shapes {x.shape} and {y.shape}."
        )
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(
            f"{owner}: x and y must have the same number of rows, got {n} rows in x "
            f"and {y.shape[0]} in y."
        )
    if n < 2:
        raise ValueError(f"{owner}: need at least 2 samples to split, got {n}.")
    n_test = _test_count(test_size, n, owner)
    if not isinstance(shuffle, bool):
        raise TypeError(f"{owner}: shuffle must be True or False, got {shuffle!r}.")
    rng = _rng(seed, owner)

    if stratify is not None:
        if not shuffle:
            raise ValueError(f"{owner}: stratify needs shuffle=True.")
        labels = np.asarray(backend.to_numpy(stratify))
        if labels.shape != (n,):
            raise ValueError(
                f"{owner}: stratify must be 1-D with one label per row ({n},), "
                f"got shape {labels.shape}."
            )
        test = _stratified_test_rows(labels, n_test, rng)
        in_test = np.zeros(n, dtype=bool)
        in_test[test] = True
        train = rng.permutation(np.flatnonzero(~in_test))
    elif shuffle:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        train, test = np.arange(n - n_test), np.arange(n - n_test, n)
    return x[train], x[test], y[train], y[test]


def one_hot(y, num_classes=None):
    """Integer labels (N,) -> one-hot rows (N, num_classes) as float64.

    out[i, y[i]] = 1 and every other entry is 0. Labels are non-negative integers
    (floats with integral values such as 2.0 are accepted); a column (N, 1) is
    read as (N,). num_classes=None uses max(y) + 1.
    """
    owner = "one_hot"
    labels = _host(y, "y", owner, empty=True)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{owner}: y must be 1-D labels (N,), got shape {labels.shape}.")
    if labels.dtype.kind == "f":
        not_whole = labels != np.floor(labels)
        if np.any(not_whole):
            bad = labels[np.argmax(not_whole)].item()
            raise ValueError(f"{owner}: labels must be integers, got label {bad!r}.")
    if labels.size and np.min(labels) < 0:
        raise ValueError(
            f"{owner}: labels must be non-negative integers, got label {np.min(labels).item()!r}."
        )
    if num_classes is None:
        if labels.size == 0:
            raise ValueError(f"{owner}: num_classes is needed when y is empty.")
        num_classes = int(np.max(labels)) + 1
    num_classes = _checks.positive_int(num_classes, "num_classes", owner)
    if labels.size and np.max(labels) >= num_classes:
        bad = labels[np.argmax(labels >= num_classes)].item()
        raise ValueError(
            f"{owner}: label {bad!r} is out of range for num_classes={num_classes} "
            f"(labels must be 0..{num_classes - 1})."
        )
    out = np.zeros((labels.size, num_classes), dtype=np.float64)
    out[np.arange(labels.size), labels.astype(np.int64)] = 1.0
    return out
