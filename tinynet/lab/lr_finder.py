"""The learning-rate range test: train briefly with a growing rate and watch the loss.

Leslie Smith's test ("Cyclical Learning Rates for Training Neural Networks",
2017), as fastai's ``Learner.lr_find`` runs it: one mini-batch per step, the
rate of step i

    exponential: lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))
    linear:      lr_i = start_lr + (end_lr - start_lr) * i / (num_steps - 1)

for i = 0 .. num_steps-1, so the last step uses exactly end_lr. Beside the raw
batch loss it keeps a bias-corrected exponential moving average

    avg_i = beta * avg_{i-1} + (1 - beta) * loss_i   (avg_{-1} = 0)
    smoothed_i = avg_i / (1 - beta ** (i + 1))

and stops once smoothed_i > diverge_factor * min(smoothed_0..i) or is not
finite. The model and its optimiser are put back exactly as they were.

    result = tn.lr_find(model, x, y)
    result.suggestion            # the "valley" rate
    result.plot().savefig("lr_find.png")
"""

import math
import numbers

import numpy as np

from tinynet import _checks, backend

MODES = ("exponential", "linear")


def lr_find(model, x, y, start_lr=1e-7, end_lr=10.0, num_steps=100, batch_size=32,
            mode="exponential", smoothing=0.98, diverge_factor=4.0, seed=None):
    """Run a learning-rate range test on a compiled model; returns an LRFinderResult.

    start_lr=1e-7, end_lr=10.0: the first and last rate (0 < start_lr < end_lr).
    num_steps=100: updates in the sweep (>= 2), one mini-batch each.
    batch_size=32: rows per mini-batch. The rows are shuffled and cut into full
      batches (a last partial batch is dropped, as fastai's training loader
      does; with fewer rows than batch_size every step uses all of them); when
      they run out they are reshuffled.
    mode="exponential" | "linear": how the rate grows (formulas in the module
      docstring).
    smoothing=0.98: beta of the bias-corrected moving average, in [0, 1).
    diverge_factor=4.0: stop once the smoothed loss exceeds this many times its
      best so far, or is NaN/inf (fastai's rule); must be > 1. None: run every step
      unless the loss becomes NaN/inf, where nothing more can be learnt.
    seed=None: shuffle with the model's own generator (its state is put back
      afterwards, so a second call sees the same batches); an int uses a fresh
      numpy Generator of that seed instead.

    The model's optimiser makes the updates, from its current state (slots and
    update count), with its rate replaced by lr_i at step i. Afterwards the
    weights, the optimiser's state (slots, iterations, learning_rate, lr_scale,
    frozen) and the model's shuffle generator are exactly what they were.

    Stacked models (K copies): every copy sweeps the same rates on the same
    batches, those of copy 0's generator (the model's seed), as fit's
    shuffle="shared" gives them; copy k starts from the weights of
    Sequential(seed=seed + k) but does not see the batches lr_find on that
    model would draw from its own generator. To compare a stack with single
    models batch for batch, pass the same seed=int to every call (a fresh
    generator of that seed shuffles for each). Losses and smoothed losses are
    (steps, K), each copy stops on its
    own divergence (it is frozen and its later entries are NaN), the sweep ends
    when all have stopped, and every suggestion is an array of K rates, one per
    copy.
    """
    owner = "lr_find"
    if getattr(model, "loss", None) is None or getattr(model, "optimizer", None) is None:
        raise ValueError(f"lr_find: model must be compiled first, got an uncompiled {model!r}; "
                         "call model.compile(optimizer=..., loss=...).")
    start_lr = _positive_real(start_lr, "start_lr", owner)
    end_lr = _positive_real(end_lr, "end_lr", owner)
    if end_lr <= start_lr:
        raise ValueError(f"lr_find: end_lr must be greater than start_lr={start_lr!r}, "
                         f"got end_lr={end_lr!r}.")
    if isinstance(num_steps, numbers.Integral) and not isinstance(num_steps, bool) \
            and num_steps < 2:
        raise ValueError(f"lr_find: num_steps must be an integer >= 2, got {num_steps!r}.")
    num_steps = _checks.positive_int(num_steps, "num_steps", owner)
    batch_size = _checks.positive_int(batch_size, "batch_size", owner)
    mode = _checks.choice(mode, "mode", owner, MODES)
    beta = _checks.real(smoothing, "smoothing", owner, low=0.0, high=1.0, high_open=True)
    factor = (math.inf if diverge_factor is None else  # only a NaN/inf loss stops it
              _checks.real(diverge_factor, "diverge_factor", owner, low=1.0, low_open=True))
    rng = None if seed is None else np.random.default_rng(
        _checks.nonneg_int(seed, "seed", owner))

    x, y = model.check_data(x, y, owner)
    rates = sweep_rates(start_lr, end_lr, num_steps, mode)
    saved = _save(model)
    try:
        losses, smoothed, stopped = _sweep(model, x, y, rates, batch_size, beta, factor,
                                           rng or model._shuffle_rng)
    finally:
        _restore(model, saved)
    return LRFinderResult(rates[: losses.shape[0]], losses, smoothed, stopped,
                          mode=mode, num_steps=num_steps)


def sweep_rates(start_lr, end_lr, num_steps, mode="exponential"):
    """The rates of a sweep, float64 (num_steps,); the last is exactly end_lr.

    Where end_lr / start_lr overflows (say 1e308 / 1e-7), the exponential rates are
    the same formula in logs, exp(log start_lr + (log end_lr - log start_lr) * frac),
    which stays finite.
    """
    i = np.arange(num_steps, dtype=np.float64)
    frac = i / (num_steps - 1)
    if mode == "exponential":
        ratio = end_lr / start_lr
        if math.isfinite(ratio):
            rates = start_lr * ratio ** frac
        else:
            log_start = math.log(start_lr)
            rates = np.exp(log_start + (math.log(end_lr) - log_start) * frac)
    else:
        rates = start_lr + (end_lr - start_lr) * frac
    rates[0], rates[-1] = start_lr, end_lr  # exact ends, whatever the rounding
    return rates


def _positive_real(value, name, owner):
    value = _checks.real(value, name, owner)
    if value <= 0.0:
        raise ValueError(f"{owner}: {name} must be a learning rate > 0, got {value!r}.")
    return value


# --- saving and restoring everything the sweep touches ------------------------
def _save(model):
    return {"weights": model.get_weights(),
            "optimizer": model.optimizer.get_state(),
            "rng": model._shuffle_rng.bit_generator.state}


def _restore(model, saved):
    """Put back the host copies bit for bit, each in its own dtype."""
    hosts = iter(saved["weights"])
    for layer in model.layers:
        for name in layer.params:
            host = next(hosts)
            layer.params[name] = backend.to_device(host, dtype=host.dtype.name)
    model.optimizer.set_state(saved["optimizer"])
    model._shuffle_rng.bit_generator.state = saved["rng"]


# --- the sweep -------------------------------------------------------------------
def _batches(xp, x_dev, y_dev, n, batch_size, rng):
    """Endless mini-batches of reshuffled rows; a last partial batch is dropped."""
    size = min(batch_size, n)
    while True:
        idx = xp.asarray(rng.permutation(n))
        xs, ys = xp.take(x_dev, idx, axis=0), xp.take(y_dev, idx, axis=0)
        for start in range(0, n - size + 1, size):
            yield xs[start:start + size, ...], ys[start:start + size, ...]


def _sweep(model, x, y, rates, batch_size, beta, factor, rng):
    """(losses, smoothed, stopped_early): (steps,) or (steps, K) arrays and a bool or (K,)."""
    optimizer = model.optimizer
    k = model.n_models
    x_dev, y_dev = backend.to_device(x), backend.to_device(y)
    xp = backend.namespace(x_dev)
    batches = _batches(xp, x_dev, y_dev, x.shape[0], batch_size, rng)
    optimizer.lr_scale = 1.0
    optimizer.frozen = None
    done = np.zeros(k, dtype=bool)
    avg = np.zeros(k)
    best = np.full(k, np.inf)
    losses, smoothed = [], []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i, rate in enumerate(rates):
            optimizer.learning_rate = float(rate)
            xb, yb = next(batches)
            loss, _, _ = model.train_function(xb, yb)
            loss = np.broadcast_to(np.asarray(backend.to_numpy(loss), dtype=np.float64), (k,))
            avg = beta * avg + (1.0 - beta) * loss
            smooth = avg / (1.0 - beta ** (i + 1))
            losses.append(np.where(done, np.nan, loss))
            smoothed.append(np.where(done, np.nan, smooth))
            best = np.where(done, best, np.fmin(best, smooth))
            diverged = ~done & (~np.isfinite(smooth) | (smooth > factor * best))
            done |= diverged
            if np.all(done):
                break
            if np.any(done):
                optimizer.frozen = done.copy()
    losses, smoothed = np.array(losses), np.array(smoothed)
    if k == 1:
        return losses[:, 0], smoothed[:, 0], bool(done[0])
    return losses, smoothed, done


# --- suggestions -------------------------------------------------------------------
def _window(rates, smoothed, num_steps):
    """fastai's window: skip the first num_steps // 10 and the last 5 points, and
    everything from the first non-finite one on; the whole finite run if too short."""
    finite = np.isfinite(smoothed)
    m = int(np.argmin(finite)) if not np.all(finite) else smoothed.shape[0]
    lo, hi = num_steps // 10, m - 5
    if hi - lo < 2:
        lo, hi = 0, m
    return rates[lo:hi], smoothed[lo:hi]


def steepest(rates, losses):
    """The rate where the loss falls fastest per unit of log-rate:
    rates[argmin(np.gradient(losses, log(rates)))]."""
    if losses.shape[0] < 2:
        return math.nan
    slope = np.gradient(losses, np.log(rates))
    return float(rates[int(np.argmin(slope))])


def min_div_10(rates, losses):
    """The rate of the lowest loss, divided by 10."""
    if losses.shape[0] < 1:
        return math.nan
    return float(rates[int(np.argmin(losses))]) / 10.0


def valley(rates, losses):
    """The middle of the longest valley, fastai's ``valley`` rule (ESRI's suggester).

    The valley is the longest strictly decreasing subsequence of the losses,
    found by the O(n^2) dynamic programme: lds[i] = 1 + max(lds[j] for j < i
    with losses[i] < losses[j]). With end = the first index of the longest and
    start = end - lds[end], sections = (end - start) / 3 and the suggestion is
    rates[start + int(sections) + int(sections / 2)], about half-way along it.
    """
    n = losses.shape[0]
    if n < 1:
        return math.nan
    lds = np.ones(n, dtype=int)
    for i in range(1, n):
        lower = losses[i] < losses[:i]
        if np.any(lower):
            lds[i] = max(1, int(np.max(lds[:i][lower])) + 1)
    end = int(np.argmax(lds))
    start = end - int(lds[end])
    sections = (end - start) / 3
    idx = start + int(sections) + int(sections / 2)
    return float(rates[min(max(idx, 0), n - 1)])


RULES = {"valley": valley, "steepest": steepest, "min_div_10": min_div_10}


def suggest(rates, smoothed, num_steps):
    """{rule: rate} for a single curve (float) or per column of a (steps, K) one (K,)."""
    if smoothed.ndim == 1:
        r, s = _window(rates, smoothed, num_steps)
        return {name: rule(r, s) for name, rule in RULES.items()}
    columns = [suggest(rates, smoothed[:, j], num_steps) for j in range(smoothed.shape[1])]
    return {name: np.array([c[name] for c in columns]) for name in RULES}


class LRFinderResult:
    """What ``lr_find`` measured.

    learning_rates: float64 (steps,), the rate of each step made (all
      num_steps of them unless the sweep stopped early).
    losses: the raw batch loss of each step, before its update: (steps,), or
      (steps, K) for K stacked copies (NaN after a copy stopped).
    smoothed_losses: the bias-corrected moving average of losses, same shape.
    stopped_early: True when the sweep stopped on divergence (a bool array (K,)
      for stacked copies: which copies diverged).
    suggestions: {"valley", "steepest", "min_div_10"} -> rate (a float, or an
      array of K). The rules look at the smoothed loss without its first
      num_steps // 10 and last 5 points (as fastai): no single rule is reliable,
      so look at the plot.
    suggestion: suggestions["valley"].
    """

    def __init__(self, learning_rates, losses, smoothed_losses, stopped_early,
                 mode="exponential", num_steps=None):
        self.learning_rates = np.asarray(learning_rates, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        self.smoothed_losses = np.asarray(smoothed_losses, dtype=np.float64)
        self.stopped_early = stopped_early
        self.mode = mode
        self.num_steps = self.learning_rates.shape[0] if num_steps is None else num_steps
        self.suggestions = suggest(self.learning_rates, self.smoothed_losses, self.num_steps)

    @property
    def suggestion(self):
        return self.suggestions["valley"]

    def plot(self, ax=None):
        """Raw and smoothed loss against the rate (log x axis), a marker per suggestion.

        ax: a matplotlib Axes to draw into (default: a new Figure). Returns the Figure.
        """
        from tinynet.plot.range_test import lr_find

        return lr_find(self, ax=ax)

    def __repr__(self):
        sugg = ", ".join(f"{k}={_fmt(v)}" for k, v in self.suggestions.items())
        return (f"LRFinderResult(steps={self.learning_rates.shape[0]}, mode={self.mode!r}, "
                f"stopped_early={self.stopped_early!r}, {sugg})")


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    return np.array2string(np.asarray(value), precision=3)
