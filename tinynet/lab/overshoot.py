"""Overshoot, measured directly: where does a gradient step land along its own line?

One update of plain gradient descent moves the parameters from theta to
theta - lr g (g = dL/dtheta on the batch). ``step_overshoot`` measures the
batch loss along that line,

    phi(t) = L(theta - t lr g),   t in [0, 2] (t = 0: the start, t = 1: the step),

and finds t_min, the t where phi is smallest. A step with t_min < 1 lands past
the line's minimum: it overshoots along its own direction. On a quadratic with
curvature lambda = g.H g / g.g along g, phi is a parabola with
t_min = 1 / (lr lambda): the step reaches the minimum at lr = 1 / lambda and
climbs above the start (phi(1) > phi(0)) past lr = 2 / lambda, so the ratio
1 / t_min = lr lambda reads like lr against the stability bound: > 1 past the
minimum, > 2 above the start. The line is the plain gradient step whatever the
model's optimiser is (momentum and Adam take other steps).

``overshoot_summary`` counts, for many such measurements, how many land past
the minimum, per rate and per phase of training; ``OvershootTrace`` takes them
during fit.
"""

import numpy as np

from tinynet import _checks, backend
from tinynet.callbacks.base import Callback
from tinynet.lab._probe import _copy, _loss_and_grads
from tinynet.metrics import wilson_interval


def step_overshoot(model, x, y, learning_rate=None, points=41):
    """The batch loss along the update's line theta - t lr g, t in [0, 2], and its minimum.

    g = dL/dtheta of the mean loss on (x, y) at the model's parameters; lr:
    ``learning_rate`` (a float, or (K,) one per stacked copy), default the
    rate the model's optimiser uses next (``current_learning_rate``). The loss
    is evaluated at ``points`` evenly spaced t from 0 to 2 (odd, so t = 1 is
    one of them), in float64 on a copy of the model. t_min refines the grid's
    smallest point with the parabola through it and its two neighbours,
        t_min = t_i - h (L_{i+1} - L_{i-1}) / (2 (L_{i+1} - 2 L_i + L_{i-1})),
    (the first or last three points when the minimum is an end point), exact
    when phi is a quadratic (a linear model with MSE); where the vertex falls
    outside [0, 2], t_min is that end (2: the minimum lies beyond twice the
    step).

    Returns a dict of floats, or (K,) arrays for stacked models (one line per
    copy, each with its own g and rate):
      "t": (T,) the grid; "loss_curve": (T,) or (K, T) phi on the grid;
      "loss_start" phi(0), "loss_step" phi(1), "loss_min" phi(t_min) (the
      parabola's value); "t_min"; "ratio" 1 / t_min (inf at t_min = 0: the
      loss rises at once along -g); "overshoots": t_min < 1 (bool: the step
      lands past the minimum along its direction); "climbs": phi(1) > phi(0);
      "grad_norm" ||g||; "learning_rate". A copy whose g is 0 or whose loss is
      not finite gets NaN for t_min and ratio, and overshoots False.
    """
    owner = "step_overshoot"
    model.require_compiled(owner)
    x, y = model.check_data(x, y, owner)
    points = _checks.positive_int(points, "points", owner)
    if points < 5 or points % 2 == 0:
        raise ValueError(f"{owner}: points must be an odd integer >= 5 (so t = 1 is on the "
                         f"grid), got {points}.")
    lr = _rates(model, learning_rate, owner)
    stacked = model.stacked
    probe = _copy(model)
    slots = [(layer, name) for layer in probe.layers for name in layer.params]
    w0 = [np.array(backend.to_numpy(layer.params[name]), dtype=np.float64)
          for layer, name in slots]
    x_dev = backend.to_device(x, dtype="float64")
    y_dev = backend.to_device(y, dtype="float64")
    _set(slots, w0)
    _, grads = _loss_and_grads(probe, x_dev, y_dev)
    t = np.linspace(0.0, 2.0, points)
    curve = np.stack([_loss_at(probe, slots, w0, grads, ti * lr, stacked, x_dev, y_dev)
                      for ti in t], axis=-1)  # (K, T)
    grad_norm = np.sqrt(sum(np.sum(_rows(g, stacked) ** 2, axis=1) for g in grads))
    found = _line_minimum(t, curve, grad_norm)
    found.update({"loss_start": curve[:, 0], "loss_step": curve[:, points // 2],
                  "grad_norm": grad_norm, "learning_rate": lr})
    found["climbs"] = found["loss_step"] > found["loss_start"]
    result = {key: (value if stacked else value[0].item()) for key, value in found.items()}
    result["t"], result["loss_curve"] = t, curve if stacked else curve[0]
    return result


def _rates(model, learning_rate, owner):
    """(K,) float64 rates: the given ones or the optimiser's next."""
    if learning_rate is None:
        if model.optimizer is None:
            raise ValueError(f"{owner}: give learning_rate=..., or compile the model with an "
                             "optimizer whose rate to use.")
        learning_rate = model.optimizer.current_learning_rate
    lr = np.asarray(learning_rate, dtype=np.float64).reshape(-1)
    if lr.size == 1:
        lr = np.full(model.n_models, lr[0])
    if lr.size != model.n_models or not np.all(np.isfinite(lr)) or np.any(lr <= 0):
        raise ValueError(f"{owner}: learning_rate must be a positive float or {model.n_models} "
                         f"positive floats (one per stacked copy), got {learning_rate!r}.")
    return lr


def _rows(a, stacked):
    return a.reshape(a.shape[0], -1) if stacked else a.reshape(1, -1)


def _set(slots, weights):
    for (layer, name), w in zip(slots, weights):
        layer.params[name] = backend.to_device(w, dtype="float64")


def _loss_at(probe, slots, w0, grads, s, stacked, x_dev, y_dev):
    """(K,) losses at theta - s g, s (K,) the step length of each copy."""
    def scaled(g):
        return g * s.reshape((-1,) + (1,) * (g.ndim - 1)) if stacked else g * s[0]
    _set(slots, [w - scaled(g) for w, g in zip(w0, grads)])
    out = probe.forward(x_dev, training=False)
    loss = np.asarray(backend.to_numpy(probe.loss.value(y_dev, out)), dtype=np.float64)
    return loss.reshape(-1)


def _line_minimum(t, curve, grad_norm):
    """t_min, loss_min, ratio, overshoots per row of curve (K, T), by the 3-point parabola."""
    k, n = curve.shape
    t_min, loss_min = np.full(k, np.nan), np.full(k, np.nan)
    h = t[1] - t[0]
    for row in range(k):
        phi = curve[row]
        if not np.all(np.isfinite(phi)) or grad_norm[row] == 0.0:
            continue
        i = int(np.argmin(phi))
        t_min[row], loss_min[row] = t[i], phi[i]
        j = min(max(i, 1), n - 2)  # the parabola through the minimum and its neighbours
        lo, mid, hi = phi[j - 1], phi[j], phi[j + 1]
        bend = hi - 2.0 * mid + lo
        if bend > 0:
            vertex = t[j] - h * (hi - lo) / (2.0 * bend)
            if t[0] <= vertex <= t[-1] and abs(vertex - t[i]) <= h:
                t_min[row] = vertex
                loss_min[row] = mid - (hi - lo) ** 2 / (8.0 * bend)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(t_min > 0, 1.0 / np.where(t_min > 0, t_min, 1.0), np.inf)
    ratio = np.where(np.isnan(t_min), np.nan, ratio)
    return {"t_min": t_min, "loss_min": loss_min, "ratio": ratio,
            "overshoots": np.where(np.isnan(t_min), False, t_min < 1.0)}


def overshoot_summary(measurements, epochs=None, phases=None):
    """How many measured steps land past the minimum, per rate and per phase of training.

    measurements: step_overshoot results (a list; each may be stacked, one
    step per copy); epochs: the epoch each was taken in (same length; default
    all 0); phases: [(start, stop), ...] epoch ranges start <= epoch < stop
    (stop None: no end), default one phase holding everything. Steps are
    grouped by their learning rate; a step whose t_min is NaN (g = 0 or a
    non-finite loss) is counted in "undefined", not in "measured".

    Returns {"rates": (R,) sorted rates, "phases": [(start, stop)],
    "measured", "overshoots", "climbs", "undefined": int (P, R) counts,
    "share": overshoots / measured (NaN where nothing was measured),
    "low", "high": its 95% Wilson interval, "median_ratio": median 1 / t_min}.
    """
    owner = "overshoot_summary"
    measurements = list(measurements)
    if not measurements or not all(isinstance(m, dict) and "t_min" in m for m in measurements):
        raise ValueError(f"{owner}: measurements must be a non-empty list of step_overshoot "
                         f"results (dicts with 't_min'), got {measurements!r:.80}.")
    epochs = np.zeros(len(measurements)) if epochs is None else np.asarray(epochs, dtype=float)
    if epochs.shape != (len(measurements),):
        raise ValueError(f"{owner}: epochs must give one epoch per measurement "
                         f"({len(measurements)}), got shape {epochs.shape}.")
    phases = [(0, None)] if phases is None else [_phase(p, owner) for p in phases]
    rows = {key: np.concatenate([np.atleast_1d(np.asarray(m[key], dtype=float))
                                 for m in measurements])
            for key in ("learning_rate", "t_min", "ratio", "overshoots", "climbs")}
    sizes = [np.atleast_1d(m["t_min"]).size for m in measurements]
    when = np.repeat(epochs, sizes)
    rates = np.unique(rows["learning_rate"])
    shape = (len(phases), rates.size)
    out = {key: np.zeros(shape, dtype=np.int64)
           for key in ("measured", "overshoots", "climbs", "undefined")}
    out["median_ratio"] = np.full(shape, np.nan)
    for p, (start, stop) in enumerate(phases):
        in_phase = (when >= start) & (when < (np.inf if stop is None else stop))
        for r, rate in enumerate(rates):
            pick = in_phase & (rows["learning_rate"] == rate)
            defined = pick & ~np.isnan(rows["t_min"])
            out["measured"][p, r] = np.sum(defined)
            out["undefined"][p, r] = np.sum(pick) - np.sum(defined)
            out["overshoots"][p, r] = np.sum(rows["overshoots"][defined] > 0)
            out["climbs"][p, r] = np.sum(rows["climbs"][defined] > 0)
            if np.any(defined):
                out["median_ratio"][p, r] = np.median(rows["ratio"][defined])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(out["measured"] > 0, out["overshoots"] / out["measured"], np.nan)
    out["low"], out["high"] = wilson_interval(out["overshoots"], out["measured"])
    out["rates"], out["phases"] = rates, phases
    return out


def _phase(phase, owner):
    try:
        start, stop = phase
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: each phase must be a (start, stop) pair of epochs, got "
                         f"{phase!r}.") from None
    if stop is not None and stop <= start:
        raise ValueError(f"{owner}: phase {phase!r} must have start < stop.")
    return (start, stop)


class OvershootTrace(Callback):
    """A callback: step_overshoot on a fixed batch (x, y) before training and every few updates.

    Each measurement is the plain gradient step the model would take next from
    its current parameters at its optimiser's next rate (per copy when
    stacked), on the fixed batch (x, y) (e.g. the training set, or a sample of
    it), not on the minibatch fit draws. every: updates between measurements
    (default 1). ``measurements`` and ``epochs`` (the epoch each was taken in,
    0-based; before training counts as epoch 0) feed ``summary``.
    """

    wants_batches = True

    def __init__(self, x, y, every=1, points=41):
        self.x, self.y = x, y
        self.every = _checks.positive_int(every, "every", "OvershootTrace")
        self.points = points
        self.measurements, self.epochs = [], []
        self._epoch, self._updates = 0, 0

    def on_train_begin(self):
        if not self.measurements:
            self._take()

    def on_epoch_begin(self, epoch):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs):
        self._updates += 1
        if self._updates % self.every == 0:
            self._take()

    def _take(self):
        with np.errstate(all="ignore"):
            found = step_overshoot(self.model, self.x, self.y, points=self.points)
        self.measurements.append(found)
        self.epochs.append(self._epoch)

    def summary(self, phases=None):
        """overshoot_summary of what was measured, per rate and per phase (epoch ranges)."""
        return overshoot_summary(self.measurements, self.epochs, phases)
