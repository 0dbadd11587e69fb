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
    sharpness              largest Hessian eigenvalue of the loss (power iteration; curvature.py)
    stability_bound        2 / sharpness, the largest rate plain gradient descent tolerates
    top_eigenvalue         the power iteration behind sharpness, for any Hessian-vector product
    loss_oscillation       does a loss curve zig-zag or grow?
    parameter_change       how far each layer's weights moved from a starting point
    step_overshoot         the loss along an update's line: does the step land past its minimum?
    overshoot_summary      how many such steps overshoot, per rate and per phase (overshoot.py)
    OvershootTrace         a callback taking step_overshoot during fit, every few updates
    loss_surface           the loss over a plane through training paths (landscape.py)
"""

import math

import numpy as np

from tinynet import _checks, backend
from tinynet.lab._probe import (
    _copy,
    _loss_and_grads,
    _name,
    _per_model,
    _rectifier,
    _squeeze,
    _trace,
)
from tinynet.lab.curvature import sharpness, stability_bound, top_eigenvalue
from tinynet.lab.gradcheck import gradient_check
from tinynet.lab.landscape import loss_surface
from tinynet.lab.overshoot import OvershootTrace, overshoot_summary, step_overshoot

__all__ = [
    "OvershootTrace",
    "dead_relu_fraction",
    "gradient_check",
    "initial_loss_check",
    "layer_gradient_norms",
    "loss_oscillation",
    "loss_surface",
    "overshoot_summary",
    "parameter_change",
    "prediction_histogram",
    "sharpness",
    "stability_bound",
    "step_overshoot",
    "top_eigenvalue",
]


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
    model.require_compiled("initial_loss_check")
    x, y = model.check_data(x, y, "initial_loss_check")
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
    model.require_compiled("layer_gradient_norms")
    x, y = model.check_data(x, y, "layer_gradient_norms")
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
    x = model.check_inputs(x, "prediction_histogram")
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
    x = model.check_inputs(x, "dead_relu_fraction")
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
    owner = "parameter_change"
    now = model.get_weights()
    initial_weights = _checks.array_list(initial_weights, "initial_weights", owner)
    if len(initial_weights) != len(now):
        raise ValueError(f"{owner}: expected {len(now)} arrays (as get_weights() "
                         f"returns), got {len(initial_weights)}.")
    for i, (w0, w) in enumerate(zip(initial_weights, now)):
        w0 = _checks.host_array(w0, f"initial_weights[{i}]", owner, finite=False, empty=True)
        if w0.shape != w.shape:
            raise ValueError(f"{owner}: initial_weights[{i}] must have shape {w.shape} (as "
                             f"get_weights() returns), got {w0.shape}.")
        initial_weights[i] = w0
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
