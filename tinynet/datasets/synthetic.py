"""Small 2-D classification problems drawn from a seeded random generator.

Each function returns (X, y): X float64 (n_samples, n_features), y int64
(n_samples,) with labels 0, 1, ... The rows are shuffled (shuffle=False keeps
them grouped by class), and numpy.random.default_rng(seed) makes every draw, so
the same seed gives the same data.
"""

import math
import numbers

import numpy as np

from tinynet import _checks
from tinynet.data import _rng

__all__ = ["make_blobs", "make_circles", "make_moons", "make_spirals"]


def _split_evenly(n_samples, n_groups):
    """Group sizes as equal as possible; the first n_samples % n_groups get one more."""
    sizes = np.full(n_groups, n_samples // n_groups, dtype=np.int64)
    sizes[: n_samples % n_groups] += 1
    return sizes


def _finish(X, y, shuffle, rng, owner):
    """Shuffle rows together (or not); X as float64 and y as int64."""
    if not isinstance(shuffle, bool):
        raise TypeError(f"{owner}: shuffle must be True or False, got {shuffle!r}.")
    if shuffle:
        order = rng.permutation(y.size)
        X, y = X[order], y[order]
    return np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def _centers(centers, n_features, center_box, rng, owner):
    """Centre coordinates (k, n_features): drawn uniformly in center_box, or given."""
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = _checks.positive_int(centers, "centers", owner)
        n_features = _checks.positive_int(n_features, "n_features", owner)
        try:
            low, high = center_box
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{owner}: center_box must be a pair (low, high), got {center_box!r}."
            ) from exc
        low = _checks.real(low, "center_box[0]", owner)
        high = _checks.real(high, "center_box[1]", owner)
        if low > high:
            raise ValueError(f"{owner}: center_box must have low <= high, got {center_box!r}.")
        return rng.uniform(low, high, size=(k, n_features))
    if isinstance(centers, bool) or np.isscalar(centers):
        raise TypeError(
            f"{owner}: centers must be a positive integer or an array of centre "
            f"coordinates (k, n_features), got {centers!r}."
        )
    points = _checks.host_array(centers, "centers", owner, ndim=2, dtype="float")
    if points.shape[0] == 0 or points.shape[1] == 0:
        raise ValueError(
            f"{owner}: centers needs at least one centre and one coordinate, "
            f"got shape {points.shape}."
        )
    return points


def make_blobs(
    n_samples=100,
    centers=3,
    cluster_std=1.0,
    seed=None,
    *,
    n_features=2,
    center_box=(-10.0, 10.0),
    shuffle=True,
):
    """Gaussian blobs around k centres, as scikit-learn's make_blobs.

    make_blobs(n_samples, centers, cluster_std=1.0, seed=None) as API.md writes it;
    n_features, center_box and shuffle are keyword-only. The spread is cluster_std
    (there is no noise=: for blobs the Gaussian around each centre is the noise).
    centers: an int k draws k centres uniformly in center_box (low, high) for each
    of n_features coordinates; an array (k, d) gives the centres themselves (then
    n_features is d and the argument is ignored). Samples are split as evenly as
    possible, the first n_samples % k centres getting one more, so label counts
    differ by at most 1. Blob j is x = centre_j + cluster_std_j * N(0, I).
    cluster_std: one non-negative number, or one per centre.

    Returns X float64 (n_samples, n_features), y int64 (n_samples,) in 0..k-1.
    """
    owner = "make_blobs"
    n_samples = _checks.positive_int(n_samples, "n_samples", owner)
    rng = _rng(seed, owner)
    points = _centers(centers, n_features, center_box, rng, owner)
    k, d = points.shape

    stds = _checks.host_array(cluster_std, "cluster_std", owner, ndim=(0, 1), dtype="float")
    if stds.ndim == 1 and stds.shape[0] != k:
        raise ValueError(
            f"{owner}: cluster_std must be one number or one per centre ({k}), "
            f"got {stds.shape[0]} values."
        )
    if np.any(stds < 0):
        raise ValueError(f"{owner}: cluster_std must be non-negative, got {cluster_std!r}.")
    stds = np.broadcast_to(stds, (k,))

    sizes = _split_evenly(n_samples, k)
    X = np.concatenate(
        [rng.normal(loc=points[j], scale=stds[j], size=(sizes[j], d)) for j in range(k)]
    )
    y = np.repeat(np.arange(k), sizes)
    return _finish(X, y, shuffle, rng, owner)


def _noise(noise, owner):
    return _checks.real(noise, "noise", owner, low=0.0)


def make_moons(n_samples=100, noise=0.0, seed=None, shuffle=True):
    """Two interleaving half circles, as scikit-learn's make_moons.

    Class 0 (n_samples // 2 points): (cos t, sin t) for t evenly in [0, pi].
    Class 1 (the rest):              (1 - cos t, 0.5 - sin t) for t evenly in [0, pi].
    noise: standard deviation of Gaussian noise added to every coordinate.

    Returns X float64 (n_samples, 2), y int64 (n_samples,).
    """
    owner = "make_moons"
    n_samples = _checks.positive_int(n_samples, "n_samples", owner)
    noise = _noise(noise, owner)
    rng = _rng(seed, owner)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0.0, math.pi, n_out)
    t_in = np.linspace(0.0, math.pi, n_in)
    X = np.concatenate(
        [
            np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
            np.stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1),
        ]
    )
    y = np.repeat([0, 1], [n_out, n_in])
    X, y = _finish(X, y, shuffle, rng, owner)
    if noise > 0:
        X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


def make_circles(n_samples=100, noise=0.0, factor=0.8, seed=None, shuffle=True):
    """A circle inside a larger one, as scikit-learn's make_circles.

    Class 0 (n_samples // 2 points): (cos t, sin t), radius 1.
    Class 1 (the rest):              factor * (cos t, sin t), radius factor.
    t is evenly spaced in [0, 2 pi) with the end point left out. factor in [0, 1).
    noise: standard deviation of Gaussian noise added to every coordinate.

    Returns X float64 (n_samples, 2), y int64 (n_samples,).
    """
    owner = "make_circles"
    n_samples = _checks.positive_int(n_samples, "n_samples", owner)
    noise = _noise(noise, owner)
    factor = _checks.real(factor, "factor", owner, low=0.0, high=1.0, high_open=True)
    rng = _rng(seed, owner)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0.0, 2 * math.pi, n_out, endpoint=False)
    t_in = np.linspace(0.0, 2 * math.pi, n_in, endpoint=False)
    X = np.concatenate(
        [
            np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
            factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1),
        ]
    )
    y = np.repeat([0, 1], [n_out, n_in])
    X, y = _finish(X, y, shuffle, rng, owner)
    if noise > 0:
        X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


def make_spirals(n_samples=100, n_classes=2, noise=0.0, turns=1.0, seed=None, shuffle=True):
    """Interleaved spiral arms, one per class: the CS231n "spiral" data set.

    Arm j holds about n_samples / n_classes points (the first n_samples % n_classes
    arms one more). Along an arm the radius r runs evenly from 0 to 1 and
    the angle grows with it:

        t = 2 pi j / n_classes + 2 pi turns r + noise * N(0, 1)
        x = (r sin t, r cos t)

    As in CS231n the noise is added to the angle (in radians; CS231n uses 0.2),
    so it blurs the outer arms more than the centre. CS231n starts arm j at angle
    4 j and sweeps 4 radians; here the arms are spread evenly around the circle
    and each sweeps ``turns`` full turns (1.0: one turn; larger is harder).

    Returns X float64 (n_samples, 2), y int64 (n_samples,) in 0..n_classes-1.
    """
    owner = "make_spirals"
    n_samples = _checks.positive_int(n_samples, "n_samples", owner)
    n_classes = _checks.positive_int(n_classes, "n_classes", owner)
    noise = _noise(noise, owner)
    turns = _checks.real(turns, "turns", owner, low=0.0, low_open=True)
    rng = _rng(seed, owner)
    sizes = _split_evenly(n_samples, n_classes)
    arms = []
    for j in range(n_classes):
        r = np.linspace(0.0, 1.0, sizes[j])
        t = 2 * math.pi * j / n_classes + 2 * math.pi * turns * r
        if noise > 0:
            t = t + noise * rng.standard_normal(sizes[j])
        arms.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    X = np.concatenate(arms)
    y = np.repeat(np.arange(n_classes), sizes)
    return _finish(X, y, shuffle, rng, owner)
