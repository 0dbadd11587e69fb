"""Optimisers: SGD, RMSprop, Adagrad and Adam, simplest first.

Each class writes its update rule as the PyTorch documentation states it, with
g the gradient, t the update count (1 for the first update) and lr the rate of
this update. The learning rate may be
- a float,
- a schedule (any callable of the update count, step 0 = first update),
- for K stacked models, a sequence of K floats or schedules, one per model.
``lr_scale`` (1.0, or K factors) multiplies whatever the rate gives; the
ReduceLROnPlateau callback lowers it. Copies flagged in ``frozen`` (a bool
array of K) are not updated at all.
"""

import math
import numbers

import numpy as np

from tinynet import _checks, backend


class Optimizer:
    """Bookkeeping shared by all optimisers: rates, step count, per-parameter state."""

    def __init__(self, learning_rate, lr=None):
        self.learning_rate = learning_rate if lr is None else lr
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
    def apply(self, params, grads):
        """Update every parameter in place from its gradient; returns the rate used."""
        if self._slots is None:
            self._slots = [self._new_slots(p) for p in params]
        self.iterations += 1
        lr = self.rate(self.iterations - 1)
        for p, g, slots in zip(params, grads, self._slots):
            step = self._step(g, slots, self._device_rate(lr, p))
            if self.frozen is not None and bool(np.any(self.frozen)):
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
        Only plain SGD qualifies; the other rules need g itself.
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
        return {"learning_rate": lr, **self._hyper()}

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


def _check_rate(value, owner):
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(np.asarray(value, dtype=object).reshape(-1)) if isinstance(
            value, np.ndarray) else list(value)
        if not items:
            raise ValueError(f"{owner}: learning_rate sequence is empty; give one rate per model.")
        return [_check_rate(v, owner) for v in items]
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: learning_rate must be a float, a schedule or one per model, got {value!r}."
        )
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: learning_rate must be a finite number >= 0, got {value!r}.")
    return value


def _value_at(rate, step, owner):
    if isinstance(rate, float):
        return rate
    value = float(rate(step))
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{owner}: the learning-rate schedule {rate!r} returned {value!r} at step {step}; "
            "rates must be finite and >= 0."
        )
    return value


class SGD(Optimizer):
    """Stochastic gradient descent, as torch.optim.SGD (dampening 0).

    momentum = 0:  p <- p - lr * g
    momentum mu:   b <- mu * b + g  (b = g at t = 1)
                   nesterov: d = g + mu * b, else d = b
                   p <- p - lr * d
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, lr=None):
        super().__init__(learning_rate, lr)
        self.momentum = _checks.real(momentum, "momentum", "SGD", low=0.0, high=1.0)
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0.")
        self.nesterov = bool(nesterov)

    def folded_rate(self, like):
        if self.momentum != 0.0:
            return None
        lr = self.rate(self.iterations)
        return lr, self._device_rate(lr, like)

    def _new_slots(self, p):
        if self.momentum == 0.0:
            return {}
        return {"b": backend.namespace(p).zeros_like(p)}

    def _step(self, g, slots, lr):
        if self.momentum == 0.0:
            return lr * g
        b = slots["b"]
        b *= self.momentum
        b += g
        d = g + self.momentum * b if self.nesterov else b
        return lr * d

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop (not centred; eps outside the sqrt).

    v <- rho * v + (1 - rho) * g^2
    momentum = 0:  p <- p - lr * g / (sqrt(v) + eps)
    momentum mu:   b <- mu * b + g / (sqrt(v) + eps);  p <- p - lr * b
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, lr=None):
        super().__init__(learning_rate, lr)
        self.rho = _checks.real(rho, "rho", "RMSprop", low=0.0, high=1.0)
        self.momentum = _checks.real(momentum, "momentum", "RMSprop", low=0.0, high=1.0)
        self.epsilon = _checks.real(epsilon, "epsilon", "RMSprop", low=0.0)

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
        scaled = g / (xp.sqrt(v) + self.epsilon)
        if self.momentum == 0.0:
            return lr * scaled
        b = slots["b"]
        b *= self.momentum
        b += scaled
        return lr * b

    def _hyper(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """Adagrad, as torch.optim.Adagrad (lr_decay 0; eps outside the sqrt).

    s <- s + g^2  (s starts at initial_accumulator_value)
    p <- p - lr * g / (sqrt(s) + eps)
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 lr=None):
        super().__init__(learning_rate, lr)
        self.initial_accumulator_value = _checks.real(
            initial_accumulator_value, "initial_accumulator_value", "Adagrad", low=0.0)
        self.epsilon = _checks.real(epsilon, "epsilon", "Adagrad", low=0.0)

    def _new_slots(self, p):
        xp = backend.namespace(p)
        return {"s": xp.full(p.shape, self.initial_accumulator_value, dtype=p.dtype)}

    def _step(self, g, slots, lr):
        xp = backend.namespace(g)
        s = slots["s"]
        s += g * g
        return lr * (g / (xp.sqrt(s) + self.epsilon))

    def _hyper(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam, as torch.optim.Adam (eps added after the bias-corrected sqrt).

    m <- beta_1 * m + (1 - beta_1) * g
    v <- beta_2 * v + (1 - beta_2) * g^2
    p <- p - (lr / (1 - beta_1^t)) * m / (sqrt(v) / sqrt(1 - beta_2^t) + eps)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, lr=None):
        super().__init__(learning_rate, lr)
        self.beta_1 = _checks.real(beta_1, "beta_1", "Adam", low=0.0, high=1.0, high_open=True)
        self.beta_2 = _checks.real(beta_2, "beta_2", "Adam", low=0.0, high=1.0, high_open=True)
        self.epsilon = _checks.real(epsilon, "epsilon", "Adam", low=0.0)

    def _new_slots(self, p):
        xp = backend.namespace(p)
        return {"m": xp.zeros_like(p), "v": xp.zeros_like(p)}

    def _step(self, g, slots, lr):
        xp = backend.namespace(g)
        t = self.iterations
        m, v = slots["m"], slots["v"]
        m *= self.beta_1
        m += (1.0 - self.beta_1) * g
        v *= self.beta_2
        v += (1.0 - self.beta_2) * (g * g)
        denom = xp.sqrt(v) * (1.0 / math.sqrt(1.0 - self.beta_2 ** t)) + self.epsilon
        return (lr * (1.0 / (1.0 - self.beta_1 ** t))) * m / denom

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam}


def get(identifier):
    """An Optimizer from an instance, a name ("sgd", "adam", ...) or a config dict."""
    return _checks.lookup(identifier, Optimizer, _BY_NAME, "compile", "optimizer")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
