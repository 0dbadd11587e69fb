"""The loss over a plane through training paths (Li et al. 2018, "Visualizing the Loss
Landscape of Neural Nets"), for a picture of what the rate did.

With theta* the end of the first path and d1, d2 two directions in parameter
space, the plane is theta(a, b) = theta* + a d1 + b d2; ``loss_surface``
evaluates the loss on a grid of (a, b) and projects every path onto the plane.
Directions:

  "pca": the first two principal directions of the paths' offsets
         theta_i - theta* (centred, as sklearn's PCA, which Li et al.'s
         trajectory plots use): orthonormal, and the plane that holds most of
         the path's movement; the explained variance says how much.
  "random": Gaussian directions, filter-normalised: for every kernel column j
         (the weights into unit j, a "filter") d_j <- d_j ||theta*_j|| / ||d_j||,
         and biases set to 0 (Li et al.'s ignore="biasbn"), so a step of 1
         along d changes each unit's weights by their own size.

Record a path with ``tn.callbacks.WeightPath`` (its ``path`` is a list of flat
weight vectors) or pass lists of get_weights() snapshots.
"""

import numpy as np

from tinynet import _checks, backend
from tinynet.lab._probe import _copy

_CHUNK = 64  # grid points evaluated as one stacked model


def loss_surface(model, x, y, paths, directions="pca", resolution=25, margin=0.2, seed=0):
    """The loss of ``model``'s architecture on (x, y) over a plane through ``paths``.

    paths: one path, a list of paths or a dict {label: path}; a path is a list
    of snapshots (at least 1; "pca" needs 2 or more points in all), each a flat
    weight vector (P,) or a list of arrays shaped like get_weights(). The plane
    is centred at the last snapshot of the first path. resolution: grid points
    per axis; margin: share of the paths' extent added on each side (the grid
    spans [-1, 1] along a direction the paths do not move in). seed: the
    random directions. Only the architecture and loss of the model are used;
    its parameters are left as they were. The grid is evaluated _CHUNK points
    at a time as one stacked model.

    Returns {"alpha": (A,), "beta": (B,), "loss": (B, A) with loss[j, i] at
    theta* + alpha[i] d1 + beta[j] d2, "paths": [(T, 2)] coordinates (least
    squares onto the plane; exact for a path in it), "off_plane": [(T,)]
    distance of each snapshot from the plane, "labels": [str],
    "explained_variance": (2,) share of the centred offsets' variance along
    d1 and d2, "directions": (2, P), "center": (P,), "kind": directions}.
    """
    owner = "loss_surface"
    model.require_compiled(owner)
    if model.stacked:
        raise ValueError(f"{owner}: give a single (unstacked) model, got one stacking "
                         f"{model.n_models} copies; build Sequential(..., n_models=1) with "
                         "the same layers.")
    x, y = model.check_data(x, y, owner)
    resolution = _checks.positive_int(resolution, "resolution", owner)
    if resolution < 2:
        raise ValueError(f"{owner}: resolution must be >= 2, got {resolution}.")
    margin = _checks.real(margin, "margin", owner, low=0.0)
    shapes = [w.shape for w in model.get_weights()]
    labels, flat = _paths(paths, shapes, owner)
    center = flat[0][-1]
    offsets = np.concatenate([p - center for p in flat])
    if directions == "pca":
        if offsets.shape[0] < 2:
            raise ValueError(f"{owner}: directions='pca' needs paths with 2 or more "
                             f"snapshots in all, got {offsets.shape[0]}.")
        plane = pca_directions(offsets)
    elif directions == "random":
        plane = np.stack([filter_normalized_direction(center, shapes, seed + i)
                          for i in range(2)])
    else:
        raise ValueError(f"{owner}: directions must be 'pca' or 'random', got {directions!r}.")
    coords, off_plane = zip(*[_project(p - center, plane) for p in flat])
    alpha, beta = (_axis(np.concatenate([c[:, i] for c in coords]), margin, resolution)
                   for i in range(2))
    loss = _grid_loss(model, x, y, center, plane, alpha, beta, shapes)
    return {"alpha": alpha, "beta": beta, "loss": loss, "paths": list(coords),
            "off_plane": list(off_plane), "labels": labels,
            "explained_variance": _explained(offsets, plane), "directions": plane,
            "center": center, "kind": directions}


def pca_directions(offsets):
    """(2, P): the first two principal directions of the rows of offsets (T, P), centred.

    The right singular vectors of offsets - mean(offsets, axis=0) of the two
    largest singular values: orthonormal. A sign is fixed so that the largest
    entry of each direction is positive (sklearn's svd_flip convention).
    """
    offsets = np.asarray(offsets, dtype=np.float64)
    centred = offsets - offsets.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    vt = vt[:2]
    if vt.shape[0] < 2:  # a single parameter: pad with the zero direction
        vt = np.vstack([vt, np.zeros((2 - vt.shape[0], offsets.shape[1]))])
    signs = np.sign(vt[np.arange(2), np.argmax(np.abs(vt), axis=1)])
    return vt * np.where(signs == 0, 1.0, signs)[:, None]


def filter_normalized_direction(center, shapes, seed):
    """(P,): a Gaussian direction, each kernel column scaled to its weights' norm.

    For a kernel W (in, out) and a draw D of the same shape, column j becomes
    D[:, j] ||W[:, j]|| / ||D[:, j]|| (Li et al. 2018, eq. for filter-wise
    normalisation; a Dense unit's incoming weights are its filter); 1-D
    parameters (biases) get 0, as their ignore="biasbn".
    """
    rng = np.random.default_rng(seed)
    parts = _split(center, shapes)
    out = []
    for w in parts:
        d = rng.standard_normal(w.shape)
        if w.ndim < 2:
            out.append(np.zeros(w.shape))
            continue
        norm_w = np.sqrt(np.sum(w * w, axis=-2, keepdims=True))
        norm_d = np.sqrt(np.sum(d * d, axis=-2, keepdims=True))
        out.append(d * norm_w / (norm_d + 1e-10))
    return np.concatenate([d.reshape(-1) for d in out])


def _paths(paths, shapes, owner):
    """(labels, [(T, P) float64]) from one path, a list of paths or a dict of them."""
    if isinstance(paths, dict):
        labels, items = [str(k) for k in paths], list(paths.values())
    else:
        items = list(paths) if isinstance(paths, (list, tuple)) else [paths]
        if items and _is_snapshot(items[0], shapes):
            items = [items]
        labels = [f"path {i}" for i in range(len(items))]
    size = sum(int(np.prod(s)) for s in shapes)
    flat = []
    for label, path in zip(labels, items):
        rows = [_flatten(s, shapes, size, owner, label) for s in path]
        if not rows:
            raise ValueError(f"{owner}: {label} has no snapshots; give at least one.")
        flat.append(np.stack(rows))
    if not flat:
        raise ValueError(f"{owner}: paths is empty; give at least one path of snapshots.")
    return labels, flat


def _is_snapshot(item, shapes):
    if isinstance(item, np.ndarray) and item.ndim == 1:
        return True
    return (isinstance(item, (list, tuple)) and len(item) == len(shapes)
            and all(np.shape(a) == s for a, s in zip(item, shapes)))


def _flatten(snapshot, shapes, size, owner, label):
    if isinstance(snapshot, (list, tuple)):
        if [np.shape(a) for a in snapshot] != list(shapes):
            raise ValueError(f"{owner}: each snapshot of {label} must be a flat vector of "
                             f"{size} values or arrays shaped like get_weights() {shapes}, got "
                             f"shapes {[np.shape(a) for a in snapshot]}.")
        snapshot = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1)
                                   for a in snapshot])
    flat = np.asarray(snapshot, dtype=np.float64)
    if flat.shape != (size,) or not np.all(np.isfinite(flat)):
        raise ValueError(f"{owner}: each snapshot of {label} must be {size} finite values "
                         f"(the model's parameters), got shape {flat.shape}.")
    return flat


def _split(flat, shapes):
    out, start = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(flat[start:start + n].reshape(s))
        start += n
    return out


def _project(offsets, plane):
    """Least-squares (a, b) of each offset row in span(d1, d2), and its distance off it."""
    coef, *_ = np.linalg.lstsq(plane.T, offsets.T, rcond=None)
    residual = offsets - coef.T @ plane
    return coef.T, np.sqrt(np.sum(residual * residual, axis=1))


def _explained(offsets, plane):
    centred = offsets - offsets.mean(axis=0)
    total = np.sum(centred * centred)
    units = plane / np.maximum(np.linalg.norm(plane, axis=1, keepdims=True), 1e-300)
    along = np.sum((centred @ units.T) ** 2, axis=0)
    return along / total if total > 0 else np.zeros(2)


def _axis(values, margin, n):
    lo, hi = float(np.min(values)), float(np.max(values))
    span = hi - lo
    if span <= 1e-12 * max(1.0, abs(lo), abs(hi)):
        return np.linspace(lo - 1.0, hi + 1.0, n)
    return np.linspace(lo - margin * span, hi + margin * span, n)


def _grid_loss(model, x, y, center, plane, alpha, beta, shapes):
    """(B, A) losses, _CHUNK grid points at a time as one stacked copy of the model."""
    aa, bb = np.meshgrid(alpha, beta)
    coords = np.stack([aa.reshape(-1), bb.reshape(-1)], axis=1)
    probe = _copy(model)
    slots = [(layer, name) for layer in probe.layers for name in layer.params]
    x_dev = backend.to_device(x, dtype="float64")
    y_dev = backend.to_device(y, dtype="float64")
    losses = []
    for start in range(0, coords.shape[0], _CHUNK):
        points = center + coords[start:start + _CHUNK] @ plane  # (G, P)
        per_param = [np.stack(ws) for ws in zip(*[_split(p, shapes) for p in points])]
        for (layer, name), w in zip(slots, per_param):
            layer.params[name] = backend.to_device(w, dtype="float64")
        out = probe.forward(x_dev, training=False)
        value = backend.to_numpy(probe.loss.value(y_dev, out))
        losses.append(np.asarray(value, dtype=np.float64).reshape(-1))
    return np.concatenate(losses).reshape(aa.shape)
