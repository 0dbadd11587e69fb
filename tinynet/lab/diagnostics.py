"""Diagnostics students can run on any model: is the gradient right, and why
does a learning rate fail?

Every function takes a model (compiled when a loss is needed) and data, never
trains, leaves the model's parameters exactly as they were, prints nothing and
returns plain NumPy arrays and Python numbers in a dict. For K stacked models
the per-model values carry a leading axis of K.

    initial_loss_check     loss at the start against ln(C), the loss of a uniform guess
    layer_gradient_norms   ||dL/dW||, ||dL/db|| and the activation scale, layer by layer
    dead_relu_fraction     ReLU units that output 0 for every sample
    prediction_histogram   how many samples each class receives
    sharpness              largest Hessian eigenvalue of the loss (power iteration)
    stability_bound        2 / sharpness, the largest rate plain gradient descent tolerates
    top_eigenvalue         the power iteration behind sharpness, for any Hessian-vector product
    loss_oscillation       does a loss curve zig-zag or grow?
    parameter_change       how far each layer's weights moved from a starting point
"""

import copy
import math

import numpy as np

from tinynet import _checks, backend
from tinynet import layers as layer_mod
from tinynet.lab.gradcheck import gradient_check

__all__ = [
    "dead_relu_fraction",
    "gradient_check",
    "initial_loss_check",
    "layer_gradient_norms",
    "loss_oscillation",
    "parameter_change",
    "prediction_histogram",
    "sharpness",
    "stability_bound",
    "top_eigenvalue",
]


# --- helpers --------------------------------------------------------------------
def _name(i, layer):
    return f"{i}:{layer!r}"


def _per_model(a, stacked):
    """Reduce a host array over every axis but the leading K (or all axes)."""
    return a.reshape(a.shape[0], -1) if stacked else a.reshape(1, -1)


def _squeeze(values, stacked):
    """(K, L) -> (K, L) when stacked, else (L,)."""
    values = np.asarray(values, dtype=np.float64)
    return values if stacked else values[0]


def _trace(model, x_dev):
    """[(index, layer, output)] of an inference forward pass, outputs on the host."""
    out = []
    h = x_dev
    for i, layer in enumerate(model.layers):
        h = layer.forward(h, training=False)
        out.append((i, layer, np.asarray(backend.to_numpy(h), dtype=np.float64)))
    return out


def _rectifier(layer):
    """The ReLU/LeakyReLU behind a layer (a Dense's activation or the layer itself)."""
    act = getattr(layer, "activation", layer)
    return act if isinstance(act, (layer_mod.ReLU, layer_mod.LeakyReLU)) else None


def _loss_and_grads(model, x_dev, y_dev):
    """Full-batch loss (host, (K,) or ()) and gradients (host float64 list)."""
    out = model.forward(x_dev, training=True)
    loss = np.asarray(backend.to_numpy(model.loss.value(y_dev, out)), dtype=np.float64)
    model.backward(model.loss.backward())
    grads = [np.array(backend.to_numpy(g), dtype=np.float64) for g in model.grads()]
    return loss, grads


def _copy(model):
    """The model with copies of its layers and loss, whose passes leave the model alone.

    Forward and backward passes write every layer's caches and grads, and
    sharpness changes parameters and activations: on the copy, the user's
    model (parameters, grads, optimiser state) stays exactly as it was.
    """
    clone = copy.copy(model)
    clone.layers = copy.deepcopy(model.layers)
    clone.loss = copy.deepcopy(model.loss)
    return clone


# --- Q1, too low: where does the signal go? -------------------------------------
def initial_loss_check(model, x, y):
    """The model's loss on (x, y) against ln(C), the loss of a uniform guess.

    A classifier that starts with near-zero weights outputs p_c ~ 1/C for every
    sample, so its cross-entropy is -log(1/C) = ln(C) (ln 4 = 1.386). A start far
    above ln(C) means confidently wrong initial outputs (too large weights);
    equal to ln(C) means the output ignores the input.

    Returns {"loss": float or (K,), "chance": ln(C), "ratio": loss / ln(C),
    "num_classes": C}.
    """
    model._require_compiled("initial_loss_check")
    x, y = model._check_xy(x, y, "initial_loss_check")
    out = model.forward(backend.to_device(x), training=False)
    loss = backend.to_float(model.loss.value(backend.to_device(y), out))
    c = int(model.output_dim)
    chance = math.log(c) if c > 1 else math.log(2.0)
    return {"loss": loss, "chance": chance, "ratio": loss / chance, "num_classes": c}


def layer_gradient_norms(model, x, y):
    """Per trainable layer: the full-batch gradient norms and the activation scale.

    kernel_grad = ||dL/dW||_F and bias_grad = ||dL/db||_2 of the mean loss on
    (x, y); kernel_norm = ||W||_F; activation_rms = sqrt(mean(h^2)) of the
    layer's output h over samples and units (input_rms for x itself). With
    RandomNormal(0, 0.05) kernels each ReLU layer of width n multiplies the rms
    by about 0.05 sqrt(n / 2), so four layers shrink it ~1e4 times, and by the
    chain rule dL/dW of a layer scales with the rms of its input.

    Returns {"layers": [names], "kernel_grad", "bias_grad", "kernel_norm",
    "activation_rms": (L,) or (K, L) arrays, "input_rms": float, "loss"}.
    """
    model._require_compiled("layer_gradient_norms")
    x, y = model._check_xy(x, y, "layer_gradient_norms")
    stacked = model.stacked
    model = _copy(model)
    x_dev, y_dev = backend.to_device(x), backend.to_device(y)
    loss, _ = _loss_and_grads(model, x_dev, y_dev)
    trainable = [(i, layer) for i, layer in enumerate(model.layers) if layer.params]
    cols = {"kernel_grad": [], "bias_grad": [], "kernel_norm": [], "activation_rms": []}
    rms = {i: out for i, _, out in _trace(model, x_dev)}
    for i, layer in trainable:
        for key, arr in (("kernel_grad", layer.grads.get("kernel")),
                         ("bias_grad", layer.grads.get("bias")),
                         ("kernel_norm", layer.params.get("kernel"))):
            if arr is None:
                cols[key].append(np.zeros(model.n_models))
                continue
            host = _per_model(np.asarray(backend.to_numpy(arr), dtype=np.float64), stacked)
            cols[key].append(np.sqrt(np.sum(host * host, axis=1)))
        h = _per_model(rms[i], stacked)
        cols["activation_rms"].append(np.sqrt(np.mean(h * h, axis=1)))
    result = {"layers": [_name(i, layer) for i, layer in trainable]}
    for key, values in cols.items():
        result[key] = _squeeze(np.stack(values, axis=1), stacked)
    result["input_rms"] = float(np.sqrt(np.mean(x * x)))
    result["loss"] = float(loss) if loss.ndim == 0 else loss
    return result


def prediction_histogram(model, x):
    """How many samples of x the model assigns to each class (argmax of the output).

    counts[c] = #{n : argmax_j out_nj = c}. A model stuck on the plateau of a
    too-small rate predicts one class for everything: max_fraction = 1.

    Returns {"counts": int (C,) or (K, C), "fractions": counts / N,
    "max_fraction": largest fraction, "n_predicted": classes with a count > 0}.
    """
    x = model._check_x(x, "prediction_histogram")
    out = np.asarray(backend.to_numpy(model.forward(backend.to_device(x), training=False)))
    c = out.shape[-1]
    labels = (out[..., 0] > 0.5).astype(np.int64) if c == 1 else np.argmax(out, axis=-1)
    c = max(c, 2)
    flat = labels.reshape(-1, labels.shape[-1])
    counts = np.stack([np.bincount(row, minlength=c) for row in flat])
    if not model.stacked:
        counts = counts[0]
    fractions = counts / x.shape[0]
    return {"counts": counts, "fractions": fractions,
            "max_fraction": np.max(fractions, axis=-1), "n_predicted": np.sum(counts > 0, axis=-1)}


# --- Q3: dead units -------------------------------------------------------------
def dead_relu_fraction(model, x):
    """Per ReLU (or LeakyReLU) layer, the share of units that never fire on x.

    A unit j is dead on x when its pre-activation z_nj <= 0 for every sample n:
    a ReLU then outputs 0 and passes back dL/dz = 0 for all of x, so gradient
    descent can never revive it. dead = mean_j [max_n z_nj <= 0];
    inactive = mean_n mean_j [z_nj <= 0] (the average share of units that are
    off for one sample; 0.5 is normal). For a LeakyReLU the same test counts
    units stuck in the negative part, which still pass back slope * dL/dy.

    Returns {"layers": [names], "kind": ["ReLU" | "LeakyReLU"],
    "dead": (L,) or (K, L), "inactive": (L,) or (K, L)}.
    """
    x = model._check_x(x, "dead_relu_fraction")
    stacked = model.stacked
    names, kinds, dead, inactive = [], [], [], []
    for i, layer, out in _trace(model, backend.to_device(x)):
        act = _rectifier(layer)
        if act is None:
            continue
        off = out <= 0.0  # ReLU: y = 0 iff z <= 0; LeakyReLU: y <= 0 iff z <= 0
        names.append(_name(i, layer))
        kinds.append(type(act).__name__)
        never = np.all(off, axis=-2)  # (units,) or (K, units)
        dead.append(_per_model(never, stacked).mean(axis=1))
        inactive.append(_per_model(off, stacked).mean(axis=1))
    shape = (model.n_models, 0)
    stack = (lambda v: np.stack(v, axis=1)) if names else (lambda v: np.zeros(shape))
    return {"layers": names, "kind": kinds,
            "dead": _squeeze(stack(dead), stacked), "inactive": _squeeze(stack(inactive), stacked)}


def parameter_change(model, initial_weights):
    """How far each trainable layer moved from ``initial_weights`` (get_weights() earlier).

    kernel_change = ||W - W0||_F, kernel_relative = ||W - W0||_F / ||W0||_F,
    bias_change = ||b - b0||_2. On the plateau of a too-small rate only the
    last layer's bias moves: it learns the class frequencies and nothing else.

    Returns {"layers": [names], "kernel_change", "kernel_relative",
    "bias_change": (L,) or (K, L)}.
    """
    now = model.get_weights()
    initial_weights = list(initial_weights)
    if len(initial_weights) != len(now):
        raise ValueError(f"parameter_change: expected {len(now)} arrays (as get_weights() "
                         f"returns), got {len(initial_weights)}.")
    stacked = model.stacked
    names, cols = [], {"kernel_change": [], "kernel_relative": [], "bias_change": []}
    it = iter(zip(initial_weights, now))
    for i, layer in enumerate(model.layers):
        if not layer.params:
            continue
        names.append(_name(i, layer))
        found = {}
        for key in layer.params:
            w0, w = next(it)
            w0 = _per_model(np.asarray(w0, dtype=np.float64), stacked)
            diff = _per_model(np.asarray(w, dtype=np.float64), stacked) - w0
            found[key] = (np.sqrt(np.sum(diff * diff, axis=1)), np.sqrt(np.sum(w0 * w0, axis=1)))
        zero = np.zeros(model.n_models)
        change, scale = found.get("kernel", (zero, zero))
        cols["kernel_change"].append(change)
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["kernel_relative"].append(np.where(scale > 0, change / scale, np.inf))
        cols["bias_change"].append(found.get("bias", (zero, zero))[0])
    result = {"layers": names}
    for key, values in cols.items():
        result[key] = _squeeze(np.stack(values, axis=1), stacked)
    return result


# --- Q1, too high: curvature and the stability bound ----------------------------
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
    its own block and gets its own estimate.
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
    model._require_compiled("sharpness")
    iters = _checks.positive_int(iters, "iters", "sharpness")
    eps = _checks.real(eps, "eps", "sharpness", low=0.0, low_open=True)
    x, y = model._check_xy(x, y, "sharpness")
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

    def hvp(v):
        plus = grad_at([w + eps * d for w, d in zip(w0, v)])
        minus = grad_at([w - eps * d for w, d in zip(w0, v)])
        return [(a - b) / (2.0 * eps) for a, b in zip(plus, minus)]

    grad_at(w0)  # float64 parameters, then the gates read the pattern at w0
    _freeze_rectifiers(model, x_dev)
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
    """Replace each ReLU/LeakyReLU of ``model`` (a copy) by a _Gate of its pattern on x_dev."""
    for i, layer, out in _trace(model, x_dev):
        act = _rectifier(layer)
        if act is None:
            continue
        slope = getattr(act, "negative_slope", 0.0)
        gate = _Gate(backend.to_device(np.where(out > 0.0, 1.0, slope), dtype="float64"))
        if act is layer:
            model.layers[i] = gate
        else:
            layer.activation = gate


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
    Iterates until, for every copy, the Rayleigh quotient changes by at most tol
    (relative) and the residual is at most sqrt(tol) x the quotient, or iters
    is reached. Returns a (K,) array ((1,) when not
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
    the unit v whose Rayleigh quotient is the estimate (the same for H).
    """
    shift = np.broadcast_to(np.asarray(shift, dtype=np.float64), (v[0].shape[0],) if stacked
                            else (1,))
    norm = np.sqrt(_dot(v, v, stacked))
    v = _scale(v, 1.0 / np.where(norm > 0, norm, 1.0), stacked)
    estimate, residual = None, None
    for _ in range(iters):
        hv = [h - q for h, q in zip(hvp(v), _scale(v, shift, stacked))]
        new = _dot(v, hv, stacked)
        norm = np.sqrt(_dot(hv, hv, stacked))
        residual = np.sqrt(np.maximum(norm * norm - new * new, 0.0))  # ||hv - new v||, |v| = 1
        v = _scale(hv, 1.0 / np.where(norm > 0, norm, 1.0), stacked)  # H v = 0 stays 0
        # settled: the quotient stopped moving AND v is close to an eigenvector (a quotient
        # can stand still while v swings between two eigenvalues of equal size)
        done = estimate is not None and np.all(
            (np.abs(new - estimate) <= tol * np.abs(new))
            & (residual <= math.sqrt(tol) * np.abs(new)))
        estimate = new
        if done:
            break
    return estimate, v, residual


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


def loss_oscillation(losses):
    """How much a loss curve zig-zags or grows.

    losses: (T,) or (T, K), e.g. history.history["loss"] or history.steps["loss"].
    With d_t = L_{t+1} - L_t over the finite values:
      sign_changes  = share of consecutive pairs with d_t d_{t-1} < 0 (a smooth descent
                      gives ~0, a rate above 2/sharpness that bounces across a valley ~1;
                      minibatch noise alone gives ~0.5 on per-update losses);
      increases     = share of steps with d_t > 0;
      growth        = last finite loss / first loss (> 1: it went up overall);
      peak_ratio    = max finite loss / first loss;
      nonfinite     = whether any loss is NaN or inf.
    Returns a dict of floats, or of (K,) arrays for a (T, K) input.
    """
    arr = np.asarray(losses, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[0] < 2:
        raise ValueError(f"loss_oscillation: losses must be (T,) or (T, K) with T >= 2, got "
                         f"shape {arr.shape}.")
    cols = arr[:, None] if arr.ndim == 1 else arr
    rows = [_oscillation(cols[:, k]) for k in range(cols.shape[1])]
    result = {key: np.array([r[key] for r in rows]) for key in rows[0]}
    if arr.ndim == 1:
        result = {key: value[0].item() for key, value in result.items()}
    return result


def _oscillation(curve):
    finite = np.isfinite(curve)
    values = curve[finite]
    out = {"sign_changes": math.nan, "increases": math.nan, "growth": math.nan,
           "peak_ratio": math.nan, "nonfinite": bool(not np.all(finite))}
    if values.size < 2:
        return out
    d = np.diff(values)
    out["increases"] = float(np.mean(d > 0))
    pairs = d[1:] * d[:-1]
    out["sign_changes"] = float(np.mean(pairs < 0)) if pairs.size else math.nan
    if values[0] != 0:
        out["growth"] = float(values[-1] / values[0])
        out["peak_ratio"] = float(np.max(values) / values[0])
    return out
