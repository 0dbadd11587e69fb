"""Curvature and the stability bound: the sharpness of the loss, by power iteration.

Gradient descent with rate lr is stable on the local quadratic only if
lr < 2 / sharpness, sharpness being the largest eigenvalue of the Hessian of the
loss; ``sharpness`` measures it with Hessian-vector products from central
differences of the gradient, on a copy of the model.
"""

import math

import numpy as np

from tinynet import _checks, backend
from tinynet import layers as layer_mod
from tinynet.lab._probe import _copy, _loss_and_grads, _per_model, _rectifier, _trace


def sharpness(model, x, y, iters=20, seed=0, eps=1e-5, tol=1e-6, start=None,
              return_vector=False, return_error=False):
    """The largest eigenvalue of the Hessian of the mean loss on (x, y), by power iteration.

    With w the parameters and g(w) = dL/dw from the model's own backward pass,
    each Hessian-vector product is a central difference of two gradients,
        H v ~ (g(w + eps v) - g(w - eps v)) / (2 eps),   error O(eps^2),
    and power iteration v <- H v / ||H v|| converges to the eigenvector of the
    eigenvalue of largest magnitude; the estimate is the Rayleigh quotient
    v . H v (||v|| = 1). If that eigenvalue is negative, a second run on
    H - lambda_neg I finds the largest one. Everything runs in float64 on the
    full batch; parameters and gradients are restored exactly afterwards.

    A ReLU network is smooth only between kinks, and its pre-activations can sit
    within 1e-6 of one (or exactly on it: zero biases after a silent layer), so
    during the differences every ReLU/LeakyReLU keeps the on/off pattern it has
    at w: the loss is then smooth and equal to the true one wherever the Hessian
    exists.

    iters: power iterations (each costs two full-batch forward+backward passes);
    stops early once the estimate changes by less than tol (relative) and the
    residual (below) is under sqrt(tol) x the estimate.
    eps: the finite-difference step along the unit vector v.
    seed: the random start vector. For stacked models each copy's Hessian is
    its own block and gets its own estimate: the K power iterations run as one
    stacked computation (each product is two passes of the stacked model), and
    a copy that has settled keeps its value while the others go on (its
    products are no longer computed: the rest run as a smaller stack), so the
    result equals K calls on the copies alone (up to rounding). Stacking saves
    the per-call overhead (a GPU, small batches); on a CPU with large batches
    the K blocks cost about what K separate calls cost (benchmarks/sharpness.py).
    start: a start vector instead (a list of arrays shaped like get_weights()),
    e.g. the one an earlier call returned: tracking the sharpness during
    training with warm starts needs only a few iterations per check.

    Returns a float, or a (K,) array for stacked models; with return_vector=True
    the pair (value, eigenvector as a list of arrays). With return_error=True the
    residual r = ||H v - value v|| (||v|| = 1, the vector the value came from)
    is appended (float or (K,)): H being symmetric, some eigenvalue lies within
    r of the value, so r says how far the iteration is from an eigenpair (not
    whether it found the largest one; a start vector shared by the runs you
    compare, and enough iterations, make that likely). Gradient descent with
    rate lr is stable on the local quadratic only if lr < 2 / sharpness.
    """
    model.require_compiled("sharpness")
    iters = _checks.positive_int(iters, "iters", "sharpness")
    eps = _checks.real(eps, "eps", "sharpness", low=0.0, low_open=True)
    x, y = model.check_data(x, y, "sharpness")
    stacked = model.stacked
    model = _copy(model)
    slots = [(layer, name) for layer in model.layers for name in layer.params]
    x_dev = backend.to_device(x, dtype="float64")
    y_dev = backend.to_device(y, dtype="float64")
    w0 = [np.array(backend.to_numpy(layer.params[name]), dtype=np.float64)
          for layer, name in slots]

    def grad_at(w):
        for (layer, name), value in zip(slots, w):
            layer.params[name] = backend.to_device(value, dtype="float64")
        return _loss_and_grads(model, x_dev, y_dev)[1]

    def hvp_on(v, copies):
        """H v for the stacked copies ``copies`` (indices; None: every copy)."""
        _select(gates, copies)
        w = w0 if copies is None else [a[copies] for a in w0]
        plus = grad_at([a + eps * d for a, d in zip(w, v)])
        minus = grad_at([a - eps * d for a, d in zip(w, v)])
        return [(a - b) / (2.0 * eps) for a, b in zip(plus, minus)]

    grad_at(w0)  # float64 parameters, then the gates read the pattern at w0
    gates = _freeze_rectifiers(model, x_dev)
    hvp = _skipping_settled(hvp_on) if stacked else (lambda v: hvp_on(v, None))
    if start is None:
        rng = np.random.default_rng(seed)
        start = [rng.standard_normal(w.shape) for w in w0]
    else:
        start = _check_start(start, w0)
    top, vector, error = top_eigenvalue(hvp, start, iters, tol, stacked,
                                        return_vector=True, return_error=True)
    value = top if stacked else float(top[0])
    error = error if stacked else float(error[0])
    out = (value,) + ((vector,) if return_vector else ()) + ((error,) if return_error else ())
    return out if len(out) > 1 else value


def _check_start(start, w0):
    start = [np.array(backend.to_numpy(v), dtype=np.float64) for v in start]
    if [v.shape for v in start] != [w.shape for w in w0]:
        raise ValueError(f"sharpness: start must be arrays shaped like get_weights() "
                         f"{[w.shape for w in w0]}, got {[v.shape for v in start]}.")
    return [np.nan_to_num(v) for v in start]


class _Gate(layer_mod.Layer):
    """y = z * mask: a ReLU or LeakyReLU whose on/off pattern is frozen."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x, training=True):
        return x * self.mask

    def backward(self, grad_y):
        return grad_y * self.mask


def _freeze_rectifiers(model, x_dev):
    """Replace each ReLU/LeakyReLU of ``model`` (a copy) by a _Gate of its pattern on x_dev.

    Returns [(gate, host mask)], for _select.
    """
    gates = []
    for i, layer, out in _trace(model, x_dev):
        act = _rectifier(layer)
        if act is None:
            continue
        slope = getattr(act, "negative_slope", 0.0)
        mask = np.where(out > 0.0, 1.0, slope)
        gate = _Gate(backend.to_device(mask, dtype="float64"))
        gate.copies = None
        gates.append((gate, mask))
        if act is layer:
            model.layers[i] = gate
        else:
            layer.activation = gate
    return gates


def _select(gates, copies):
    """Give each gate the masks of the stacked copies ``copies`` (None: all)."""
    for gate, mask in gates:
        if gate.copies is copies or (copies is not None and gate.copies is not None
                                     and np.array_equal(gate.copies, copies)):
            continue
        gate.mask = backend.to_device(mask if copies is None else mask[copies],
                                      dtype="float64")
        gate.copies = copies


def _skipping_settled(hvp_on):
    """A stacked hvp(v) that recomputes only the blocks of v that changed since the last call.

    The power iteration keeps a settled copy's block of v exactly as it was, so
    its H v is the last one: the copies still iterating run as a smaller stack.
    """
    last = {}

    def hvp(v):
        k = v[0].shape[0]
        changed = np.ones(k, dtype=bool)
        if last:
            same = np.ones(k, dtype=bool)
            for a, b in zip(v, last["v"]):
                same &= np.all((a == b).reshape(k, -1), axis=1)
            changed = ~same
        if last and not np.any(changed):
            return [np.array(h) for h in last["hv"]]
        copies = None if np.all(changed) else np.flatnonzero(changed)
        fresh = hvp_on(v if copies is None else [a[copies] for a in v], copies)
        if copies is None:
            out = fresh
        else:
            out = [np.array(h) for h in last["hv"]]
            for h, f in zip(out, fresh):
                h[copies] = f
        last["v"], last["hv"] = [np.array(a) for a in v], out
        return [np.array(h) for h in out]

    return hvp


def _dot(a, b, stacked):
    return sum(np.sum(_per_model(p * q, stacked), axis=1) for p, q in zip(a, b))


def _scale(v, factor, stacked):
    """Multiply each copy's block of v by factor (K,)."""
    out = []
    for p in v:
        f = factor.reshape((-1,) + (1,) * (p.ndim - 1)) if stacked else factor[0]
        out.append(p * f)
    return out


def top_eigenvalue(hvp, start, iters=20, tol=1e-6, stacked=False, return_vector=False,
                   return_error=False):
    """Largest (most positive) eigenvalue of a symmetric operator, by power iteration.

    hvp(v) -> H v for v a list of arrays (a leading K axis when stacked, one
    independent block per copy); start: the first v. Power iteration finds the
    eigenvalue lambda_1 of largest magnitude; where it is negative, a second run
    on H - lambda_1 I (whose eigenvalues are all >= 0) finds lambda_max - lambda_1.
    Each copy iterates until its Rayleigh quotient changes by at most tol
    (relative) and its residual is at most sqrt(tol) x the quotient, then keeps
    its estimate and vector while the others go on (so a stacked run gives
    each copy what a run of it alone gives, up to rounding); all stop when
    every copy has settled or after iters. Returns a (K,) array ((1,) when not
    stacked), then the unit eigenvector estimate when return_vector=True, then
    the residual ||H v - lambda v|| (K,) when return_error=True.
    """
    top, vector, error = _power_iteration(hvp, start, 0.0, iters, tol, stacked)
    if np.any(top < 0):
        shift = np.minimum(top, 0.0)
        second, vector2, error2 = _power_iteration(hvp, start, shift, iters, tol, stacked)
        neg = top < 0
        top = np.where(neg, second + shift, top)
        error = np.where(neg, error2, error)
        vector = [np.where(_expand(neg, b), b2, b) for b, b2 in zip(vector, vector2)] \
            if stacked else (vector2 if neg[0] else vector)
    out = (top,) + ((vector,) if return_vector else ()) + ((error,) if return_error else ())
    return out if len(out) > 1 else top


def _expand(mask, like):
    return mask.reshape((-1,) + (1,) * (like.ndim - 1))


def _power_iteration(hvp, v, shift, iters, tol, stacked):
    """(eigenvalue, vector, residual): largest magnitude of H - shift I, per copy (K,).

    shift: 0 or (K,). The residual ||(H - shift I) v - estimate v|| belongs to
    the unit v whose Rayleigh quotient is the estimate (the same for H). Each
    copy converges on its own: once its quotient has settled, its estimate,
    vector and residual stay as they were (exactly what a run of that copy
    alone returns) while the other copies go on; hvp still sees every block.
    """
    k = v[0].shape[0] if stacked else 1
    shift = np.broadcast_to(np.asarray(shift, dtype=np.float64), (k,))
    norm = np.sqrt(_dot(v, v, stacked))
    v = _scale(v, 1.0 / np.where(norm > 0, norm, 1.0), stacked)
    estimate, residual = None, None
    settled = np.zeros(k, dtype=bool)
    for _ in range(iters):
        hv = [h - q for h, q in zip(hvp(v), _scale(v, shift, stacked))]
        new = _dot(v, hv, stacked)
        norm = np.sqrt(_dot(hv, hv, stacked))
        res = np.sqrt(np.maximum(norm * norm - new * new, 0.0))  # ||hv - new v||, |v| = 1
        step = _scale(hv, 1.0 / np.where(norm > 0, norm, 1.0), stacked)  # H v = 0 stays 0
        # settled: the quotient stopped moving AND v is close to an eigenvector (a quotient
        # can stand still while v swings between two eigenvalues of equal size)
        done = np.zeros(k, dtype=bool) if estimate is None else (
            (np.abs(new - estimate) <= tol * np.abs(new)) & (res <= math.sqrt(tol) * np.abs(new)))
        if estimate is None:
            estimate, residual = new, res
        estimate = np.where(settled, estimate, new)
        residual = np.where(settled, residual, res)
        v = _keep(settled, v, step, stacked)
        settled = settled | done
        if np.all(settled):
            break
    return estimate, v, residual


def _keep(mask, old, new, stacked):
    """Blocks of ``old`` where mask (K,) is True, of ``new`` elsewhere."""
    if not stacked:
        return old if mask[0] else new
    return [np.where(_expand(mask, a), a, b) for a, b in zip(old, new)]


def stability_bound(sharpness):
    """2 / sharpness: the largest rate at which gradient descent is stable.

    On a quadratic L(w) = 1/2 (w - w*)^T H (w - w*) gradient descent gives
    e_{t+1} = (I - lr H) e_t, which shrinks only if |1 - lr lambda| < 1 for every
    eigenvalue lambda, i.e. lr < 2 / lambda_max. Accepts a float or an array;
    a sharpness <= 0 (flat or concave) gives inf.
    """
    s = np.asarray(sharpness, dtype=np.float64)
    with np.errstate(divide="ignore"):
        bound = np.where(s > 0, 2.0 / np.where(s > 0, s, 1.0), np.inf)
    return float(bound) if bound.ndim == 0 else bound
