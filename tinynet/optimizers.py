"""Optimisers: SGD, RMSprop, Adagrad, Adam and AdamW, simplest first.

Each class writes its update rule out, with g the gradient, p the parameter,
t the update count (1 for the first update) and lr the rate of this update.
``convention="pytorch"`` (the default) follows the torch.optim documentation;
``convention="keras"`` follows the Keras 3 source (keras/src/optimizers/*.py),
which places epsilon and the rate differently. The learning rate may be
- a float,
- a schedule (any callable of the update count, step 0 = first update),
- for K stacked models, a sequence of K floats or schedules, one per model.
``lr_scale`` (1.0, or K factors) multiplies whatever the rate gives; the
ReduceLROnPlateau callback lowers it. Copies flagged in ``frozen`` (a bool
array of K) are not updated at all.

weight_decay (wd, default 0) shrinks the weights toward 0:
- pytorch convention, as torch.optim: L2, g <- g + wd * p before anything else;
  the adaptive rules (RMSprop, Adagrad, Adam) then rescale that term with g;
- keras convention, as keras/src/optimizers/base_optimizer.py
  (_apply_weight_decay), and AdamW in either convention: decoupled,
  p <- p - lr * wd * p next to the step, never through the moments.
lr * wd is the effective decay per update: the fraction of p the decay term
removes (exactly, when decoupled or under plain SGD), so a schedule on lr also
schedules the decay.
"""

import math
import numbers

import numpy as np

from tinynet import _checks, backend

CONVENTIONS = ("pytorch", "keras")

_NO_PARAMS = ("tinynet optimisers do not take parameters: "
              "compile(optimizer={owner}(learning_rate=...)) gives them the model's")


class Optimizer:
    """Bookkeeping shared by all optimisers: rates, step count, per-parameter state."""

    def __init__(self, learning_rate, lr=None, weight_decay=0.0, convention="pytorch",
                 unknown=None):
        owner = type(self).__name__
        _refuse_unknown(unknown or {}, owner)
        if lr is not None:
            _check_rate(learning_rate, owner)  # SGD(model.params, lr=0.1) must not pass
        self.learning_rate = learning_rate if lr is None else lr
        self.weight_decay = _checks.real(weight_decay, "weight_decay", owner, low=0.0)
        self.convention = _checks.choice(convention, "convention", owner, CONVENTIONS)
        self.iterations = 0
        self.lr_scale = 1.0
        self.frozen = None
        self._slots = None
        self._lr_cache = {}

    # --- the learning rate -------------------------------------------------
    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = _check_rate(value, type(self).__name__)
        self._lr_cache = {}
        # K constant rates: build their array once, not once per update
        lr = self._learning_rate
        constant = isinstance(lr, list) and all(isinstance(r, float) for r in lr)
        self._constant_rates = np.array(lr) if constant else None

    @property
    def n_rates(self):
        """K when one rate per stacked model was given, else None."""
        lr = self._learning_rate
        return len(lr) if isinstance(lr, (list, tuple)) else None

    def rate(self, step):
        """The rate update ``step`` uses: a float, or a float64 array (K,) per model."""
        lr = self._learning_rate
        if self._constant_rates is not None:
            value = self._constant_rates.copy()
        elif isinstance(lr, (list, tuple)):
            value = np.array([_value_at(r, step, type(self).__name__) for r in lr])
        else:
            value = _value_at(lr, step, type(self).__name__)
        if isinstance(self.lr_scale, float) and self.lr_scale == 1.0:
            return value
        return value * self.lr_scale

    @property
    def current_learning_rate(self):
        """The rate the next update will use."""
        return self.rate(self.iterations)

    def _device_rate(self, lr, p):
        """lr as something that broadcasts against parameter p: a float or (K, 1, ...)."""
        if isinstance(lr, float):
            return lr
        key = (p.ndim, lr.tobytes())
        cached = self._lr_cache.get(key)
        if cached is None:
            shape = (lr.shape[0],) + (1,) * (p.ndim - 1)
            cached = _to_like(lr.reshape(shape), p)
            if len(self._lr_cache) > 64:
                self._lr_cache.clear()
            self._lr_cache[key] = cached
        return cached

    # --- the update ----------------------------------------------------------
    @property
    def decoupled_weight_decay(self):
        """True: p <- p - lr * wd * p beside the step; False: g <- g + wd * p (L2)."""
        return self.convention == "keras"

    def apply(self, params, grads):
        """Update every parameter in place from its gradient; returns the rate used."""
        if self._slots is None:
            self._slots = [self._new_slots(p) for p in params]
        self.iterations += 1
        lr = self.rate(self.iterations - 1)
        wd, decoupled = self.weight_decay, self.decoupled_weight_decay
        frozen = self.frozen is not None and bool(np.any(self.frozen))
        for p, g, slots in zip(params, grads, self._slots):
            lr_p = self._device_rate(lr, p)
            if wd != 0.0 and not decoupled:
                g = g + wd * p  # L2: the rule sees g + wd * p (a new array; grads stay)
            step = self._step(g, slots, lr_p)
            if wd != 0.0 and decoupled:
                step = step + (lr_p * wd) * p  # p <- p - lr * wd * p, with the step
            if frozen:
                step = _mask_frozen(step, self.frozen, p)
            p -= step
        return lr

    # --- the update folded into back-propagation -----------------------------
    def folded_rate(self, like):
        """(lr, lr_dev) when the next update is exactly p <- p - lr * g, else None.

        Back-propagation is linear in dL/d(output): a model that multiplies that
        by lr_dev (lr shaped to broadcast against ``like``, the output) gets every
        layer's grads as lr * g, the steps themselves, and finishes with
        ``apply_folded``. lr then scales one (N, C) array instead of every kernel.
        Only plain SGD without weight decay qualifies; the other rules need g itself.
        """
        return None

    def apply_folded(self, params, steps, lr):
        """p <- p - step for the steps lr * g that folded_rate led to; returns lr."""
        self.iterations += 1
        frozen = self.frozen is not None and bool(np.any(self.frozen))
        for p, step in zip(params, steps):
            p -= _mask_frozen(step, self.frozen, p) if frozen else step
        return lr

    def _new_slots(self, p):
        return {}

    def _step(self, g, slots, lr):
        """The step s of p <- p - s, from g (weight decay done); slots updated in place."""
        raise NotImplementedError

    # --- state ---------------------------------------------------------------
    def get_state(self):
        """A host copy of everything that changes while training."""
        slots = None
        if self._slots is not None:
            slots = [{k: np.array(backend.to_numpy(v)) for k, v in s.items()} for s in self._slots]
        scale = self.lr_scale if isinstance(self.lr_scale, float) else self.lr_scale.copy()
        frozen = None if self.frozen is None else self.frozen.copy()
        return {"iterations": self.iterations, "lr_scale": scale, "frozen": frozen,
                "learning_rate": self._learning_rate, "slots": slots}

    def set_state(self, state):
        """Restore what ``get_state`` returned, bit for bit."""
        self.iterations = state["iterations"]
        self.lr_scale = state["lr_scale"]
        self.frozen = state["frozen"]
        self.learning_rate = state["learning_rate"]
        if state["slots"] is None:
            self._slots = None
        else:
            self._slots = [{k: backend.to_device(v, dtype=str(v.dtype)) for k, v in s.items()}
                           for s in state["slots"]]

    def get_config(self):
        lr = self._learning_rate
        if callable(lr) and hasattr(lr, "get_config"):
            lr = {"class_name": type(lr).__name__, "config": lr.get_config()}
        return {"learning_rate": lr, **self._hyper(), "weight_decay": self.weight_decay,
                "convention": self.convention}

    def _hyper(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _to_like(host, p):
    """A host array on p's backend, in p's dtype."""
    xp = backend.namespace(p)
    return xp.asarray(xp.asarray(np.ascontiguousarray(host)), dtype=p.dtype)


def _mask_frozen(step, frozen, p):
    """Zero the update of frozen copies (NaN updates included)."""
    xp = backend.namespace(step)
    active = np.logical_not(frozen).reshape((frozen.shape[0],) + (1,) * (p.ndim - 1))
    mask = xp.asarray(np.broadcast_to(active, p.shape).copy())
    return xp.where(mask, step, 0.0)


# --- arguments: rates, epsilon, and the torch.optim names ---------------------
def _is_array(value):
    """An array of any backend (NumPy, CuPy, array_api_strict), not a Python number."""
    return not isinstance(value, (numbers.Number, str)) and hasattr(value, "shape")


def _check_rate(value, owner, inner=False):
    """A float, a schedule, or (not inner) a list of those, one per stacked copy."""
    if _is_array(value) and value.shape == ():
        value = float(backend.to_numpy(value))
    if callable(value):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{owner}: learning_rate must be a finite number >= 0, got {value!r}.")
        return value
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and any(
            isinstance(v, dict) or (_is_array(v) and v.shape != ()) for v in value)):
        raise TypeError(f"{owner}: learning_rate got {_describe(value)}; "
                        f"{_NO_PARAMS.format(owner=owner)}.")
    if isinstance(value, (list, tuple)) or _is_array(value):
        if inner or (_is_array(value) and len(value.shape) > 1):
            got = (f"an array of shape {tuple(value.shape)}" if _is_array(value)
                   else f"a nested sequence inside it: {value!r}")
            raise TypeError(f"{owner}: learning_rate must be flat, one float or schedule per "
                            f"stacked copy (e.g. [0.1, 0.01]), got {got}.")
        items = list(np.asarray(backend.to_numpy(value))) if _is_array(value) else list(value)
        if not items:
            raise ValueError(f"{owner}: learning_rate sequence is empty; give one rate per model.")
        return [_check_rate(v, owner, inner=True) for v in items]
    iterable = hasattr(value, "__iter__") and not isinstance(value, str)
    hint = f" ({_NO_PARAMS.format(owner=owner)})" if iterable else ""
    raise TypeError(
        f"{owner}: learning_rate must be a float, a schedule or one per model, got {value!r}.{hint}"
    )


def _describe(value):
    if isinstance(value, dict) or any(isinstance(v, dict) for v in value):
        return f"a {type(value).__name__} of dicts (torch parameter groups?)"
    return f"a {type(value).__name__} of arrays (the model's parameters?)"


def _value_at(rate, step, owner):
    """The rate a float or a schedule gives at ``step``, checked (see _checks.rate_value)."""
    if isinstance(rate, float):
        return rate
    return _checks.rate_value(rate(step), step, owner, schedule=rate)


def _epsilon(value, owner):
    """epsilon as a float > 0.

    torch.optim allows eps=0, but then a zero gradient (a dead ReLU, an unused
    input) makes 0/0 = NaN, which training would blame on the learning rate.
    """
    value = _checks.real(value, "epsilon", owner)
    if value <= 0.0:
        raise ValueError(
            f"{owner}: epsilon must be > 0, got {value!r}. With epsilon=0 a zero gradient "
            "gives 0/0 = NaN, which would be reported as divergence at this learning rate.")
    return value


# torch.optim arguments that have another name (or no counterpart) here
_TORCH_NAMES = {
    "params": _NO_PARAMS,
    "betas": "give beta_1 and beta_2 instead: betas=(0.9, 0.999) is beta_1=0.9, beta_2=0.999",
    "eps": "tinynet (like Keras) calls it epsilon",
    "alpha": "RMSprop's smoothing constant is rho here (Keras's name for torch's alpha)",
    "momentum": "{owner} has no momentum (SGD and RMSprop have; Adam's beta_1 plays its role)",
    "lr_decay": ("give a schedule instead: learning_rate=tn.schedules.InverseTimeDecay(lr, "
                 "decay_steps=1, decay_rate=lr_decay) is torch's lr / (1 + (t - 1) * lr_decay)"),
}


def _refuse_unknown(kwargs, owner):
    for name in kwargs:
        pointer = _TORCH_NAMES.get(name, "").format(owner=owner)
        if not pointer:
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}.")
        raise TypeError(f"{owner}: {name}= is not an argument here; {pointer}.")


# --- the optimisers ---------------------------------------------------------------
class SGD(Optimizer):
    """Stochastic gradient descent, with momentum and Nesterov momentum.

    SGD(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0,
        convention="pytorch")
    convention="pytorch", as torch.optim.SGD (dampening 0):
        g <- g + wd * p                         (wd = weight_decay, first of all)
        momentum = 0:  p <- p - lr * g
        momentum mu:   b <- mu * b + g          (b = g at t = 1)
                       nesterov: d = g + mu * b, else d = b
                       p <- p - lr * d
    convention="keras", as keras/src/optimizers/sgd.py (Keras 3):
        p <- p - p * wd * lr                    (decoupled, Keras's base optimiser)
        momentum = 0:  p <- p - lr * g
        momentum mu:   v <- mu * v - lr * g     (v = 0 at start)
                       nesterov: p <- p + mu * v - lr * g, else p <- p + v
    At a fixed rate the two are the same (v = -lr * b). When the rate changes
    they part ways: torch's b holds raw gradients, so a new lr rescales all the
    momentum at once; Keras's v holds steps already scaled by the rates they
    were taken at, so a new lr only enters through the new gradients.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, lr=None,
                 weight_decay=0.0, convention="pytorch", **kwargs):
        super().__init__(learning_rate, lr, weight_decay, convention, kwargs)
        self.momentum = _checks.real(momentum, "momentum", "SGD", low=0.0, high=1.0)
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0.")
        self.nesterov = bool(nesterov)

    def folded_rate(self, like):
        if self.momentum != 0.0 or self.weight_decay != 0.0:
            return None  # not exactly p <- p - lr * g
        lr = self.rate(self.iterations)
        return lr, self._device_rate(lr, like)

    def _new_slots(self, p):
        if self.momentum == 0.0:
            return {}
        name = "v" if self.convention == "keras" else "b"
        return {name: backend.namespace(p).zeros_like(p)}

    def _step(self, g, slots, lr):
        mu = self.momentum
        if mu == 0.0:
            return lr * g
        if self.convention == "keras":
            v = slots["v"]
            v *= mu
            v -= lr * g
            return lr * g - mu * v if self.nesterov else -v
        b = slots["b"]
        b *= mu
        b += g
        d = g + mu * b if self.nesterov else b
        return lr * d

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop (not centred).

    RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
            weight_decay=0.0, convention="pytorch")
    convention="pytorch", as torch.optim.RMSprop (eps outside the sqrt):
        g <- g + wd * p                         (wd = weight_decay, first of all)
        v <- rho * v + (1 - rho) * g^2          (v = 0 at start)
        momentum = 0:  p <- p - lr * g / (sqrt(v) + eps)
        momentum mu:   b <- mu * b + g / (sqrt(v) + eps);  p <- p - lr * b
    convention="keras", as keras/src/optimizers/rmsprop.py (eps inside the sqrt):
        p <- p - p * wd * lr                    (decoupled, Keras's base optimiser)
        v <- rho * v + (1 - rho) * g^2
        increment = lr * g / sqrt(v + eps)
        momentum = 0:  p <- p - increment
        momentum mu:   b <- mu * b + increment;  p <- p - b
    epsilon must be > 0 (torch allows 0; here a zero gradient would give 0/0 = NaN,
    reported as divergence at the learning rate).
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, lr=None,
                 weight_decay=0.0, convention="pytorch", **kwargs):
        super().__init__(learning_rate, lr, weight_decay, convention, kwargs)
        self.rho = _checks.real(rho, "rho", "RMSprop", low=0.0, high=1.0)
        self.momentum = _checks.real(momentum, "momentum", "RMSprop", low=0.0, high=1.0)
        self.epsilon = _epsilon(epsilon, "RMSprop")

    def _new_slots(self, p):
        xp = backend.namespace(p)
        slots = {"v": xp.zeros_like(p)}
        if self.momentum > 0.0:
            slots["b"] = xp.zeros_like(p)
        return slots

    def _step(self, g, slots, lr):
        xp = backend.namespace(g)
        v = slots["v"]
        v *= self.rho
        v += (1.0 - self.rho) * (g * g)
        if self.convention == "keras":  # the rate goes in before the momentum
            scaled, after = (lr * g) / xp.sqrt(v + self.epsilon), 1.0
        else:
            scaled, after = g / (xp.sqrt(v) + self.epsilon), lr
        if self.momentum == 0.0:
            return after * scaled
        b = slots["b"]
        b *= self.momentum
        b += scaled
        return after * b

    def _hyper(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """Adagrad (no lr_decay: use a schedule for that).

    Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
            weight_decay=0.0, convention="pytorch")
    convention="pytorch", as torch.optim.Adagrad (lr_decay 0; eps outside the sqrt):
        g <- g + wd * p                         (wd = weight_decay, first of all)
        s <- s + g^2                            (s starts at initial_accumulator_value)
        p <- p - lr * g / (sqrt(s) + eps)
    convention="keras", as keras/src/optimizers/adagrad.py (eps inside the sqrt):
        p <- p - p * wd * lr                    (decoupled, Keras's base optimiser)
        s <- s + g^2
        p <- p - lr * g / sqrt(s + eps)
    epsilon must be > 0 (torch allows 0; see RMSprop).
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 lr=None, weight_decay=0.0, convention="pytorch", **kwargs):
        super().__init__(learning_rate, lr, weight_decay, convention, kwargs)
        self.initial_accumulator_value = _checks.real(
            initial_accumulator_value, "initial_accumulator_value", "Adagrad", low=0.0)
        self.epsilon = _epsilon(epsilon, "Adagrad")

    def _new_slots(self, p):
        xp = backend.namespace(p)
        return {"s": xp.full(p.shape, self.initial_accumulator_value, dtype=p.dtype)}

    def _step(self, g, slots, lr):
        xp = backend.namespace(g)
        s = slots["s"]
        s += g * g
        if self.convention == "keras":
            return (lr * g) / xp.sqrt(s + self.epsilon)
        return lr * (g / (xp.sqrt(s) + self.epsilon))

    def _hyper(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015).

    Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
         weight_decay=0.0, convention="pytorch")
    convention="pytorch", as torch.optim.Adam (eps added after the bias-corrected sqrt):
        g <- g + wd * p                         (wd = weight_decay, L2: first of all)
        m <- beta_1 * m + (1 - beta_1) * g      (m = v = 0 at start)
        v <- beta_2 * v + (1 - beta_2) * g^2
        p <- p - (lr / (1 - beta_1^t)) * m / (sqrt(v) / sqrt(1 - beta_2^t) + eps)
    convention="keras", as keras/src/optimizers/adam.py (eps added to the raw sqrt(v),
    Kingma & Ba's "epsilon hat"):
        p <- p - p * wd * lr                    (decoupled, Keras's base optimiser)
        m <- m + (g - m) * (1 - beta_1)
        v <- v + (g^2 - v) * (1 - beta_2)
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        p <- p - m * alpha / (sqrt(v) + eps)
    In the torch convention weight_decay is L2: wd * p then passes through m / sqrt(v),
    so weights with large gradients are decayed less; AdamW decouples it.
    epsilon must be > 0 (torch allows 0; here m = v = 0 would give 0/0 = NaN).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, lr=None,
                 weight_decay=0.0, convention="pytorch", **kwargs):
        super().__init__(learning_rate, lr, weight_decay, convention, kwargs)
        owner = type(self).__name__
        self.beta_1 = _checks.real(beta_1, "beta_1", owner, low=0.0, high=1.0, high_open=True)
        self.beta_2 = _checks.real(beta_2, "beta_2", owner, low=0.0, high=1.0, high_open=True)
        self.epsilon = _epsilon(epsilon, owner)

    def _new_slots(self, p):
        xp = backend.namespace(p)
        return {"m": xp.zeros_like(p), "v": xp.zeros_like(p)}

    def _step(self, g, slots, lr):
        xp = backend.namespace(g)
        t, b1, b2 = self.iterations, self.beta_1, self.beta_2
        m, v = slots["m"], slots["v"]
        if self.convention == "keras":
            m += (g - m) * (1.0 - b1)
            v += (g * g - v) * (1.0 - b2)
            alpha = lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
            return (m * alpha) / (xp.sqrt(v) + self.epsilon)
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        denom = xp.sqrt(v) * (1.0 / math.sqrt(1.0 - b2 ** t)) + self.epsilon
        return (lr * (1.0 / (1.0 - b1 ** t))) * m / denom

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    AdamW(learning_rate=0.001, weight_decay=0.01, beta_1=0.9, beta_2=0.999,
          epsilon=1e-7, convention="pytorch")
    convention="pytorch", as torch.optim.AdamW:
        p <- p * (1 - lr * wd)                  (wd = weight_decay; g is left alone)
        then Adam's pytorch step on g (m, v, p as in Adam)
    convention="keras", as keras/src/optimizers/adamw.py (Adam plus the base
    optimiser's decay):
        p <- p - p * wd * lr
        then Adam's keras step on g
    lr * wd is the fraction of p removed per update, whatever the gradients are;
    a schedule on lr schedules the decay too. Defaults: weight_decay 1e-2 as torch
    (Keras's AdamW uses 0.004), the rest as tinynet's Adam (epsilon 1e-7, torch 1e-8).
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.01, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, lr=None, convention="pytorch", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, lr, weight_decay, convention,
                         **kwargs)

    @property
    def decoupled_weight_decay(self):
        return True


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam, "adamw": AdamW}


def get(identifier):
    """An Optimizer from an instance, a name ("sgd", "adam", ...) or a config dict."""
    return _checks.lookup(identifier, Optimizer, _BY_NAME, "compile", "optimizer")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
