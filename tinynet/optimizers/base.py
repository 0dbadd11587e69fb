"""What every optimiser shares: the rate (float, schedule or one per copy), the
step count, per-parameter slots, frozen copies and weight decay's two forms."""


import numpy as np

from tinynet import _checks, backend
from tinynet.optimizers._args import _check_rate, _refuse_both_rates, _refuse_unknown, _value_at

CONVENTIONS = ("pytorch", "keras")


class Optimizer:
    """Bookkeeping shared by all optimisers: rates, step count, per-parameter state."""

    def __init__(self, learning_rate, lr=None, weight_decay=0.0, convention="pytorch",
                 unknown=None):
        owner = type(self).__name__
        _refuse_unknown(unknown or {}, owner)
        if lr is not None:
            _check_rate(learning_rate, owner)  # SGD(model.params, lr=0.1) must not pass
            _refuse_both_rates(type(self), learning_rate, lr)
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

    @property
    def stateless(self):
        """True when the rule keeps nothing per parameter between updates (no slots):
        each element's step then reads only its own gradient, value and rate, so
        updating a concatenation of parameters updates each of them."""
        return False

    def apply(self, params, grads):
        """Update every parameter in place from its gradient; returns the rate used."""
        if self._slots is None or len(self._slots) != len(params):
            self._slots = self._fresh_slots(params)
        self.iterations += 1
        lr = self.rate(self.iterations - 1)
        if isinstance(lr, float) and self._is_plain_sgd():
            for p, g in zip(params, grads):
                p -= lr * g  # the whole rule: nothing else to look at per parameter
            return lr
        wd, decoupled = self.weight_decay, self.decoupled_weight_decay
        frozen = self.frozen is not None and bool(np.any(self.frozen))
        by_rank = {}  # K rates: shaped once per parameter rank, (K, 1) or (K, 1, 1)
        for p, g, slots in zip(params, grads, self._slots):
            lr_p = lr if isinstance(lr, float) else by_rank.get(p.ndim)
            if lr_p is None:
                lr_p = by_rank[p.ndim] = self._device_rate(lr, p)
            if wd != 0.0 and not decoupled:
                g = g + wd * p  # L2: the rule sees g + wd * p (a new array; grads stay)
            step = self._step(g, slots, lr_p)
            if wd != 0.0 and decoupled:
                step = step + (lr_p * wd) * p  # p <- p - lr * wd * p, with the step
            if frozen:
                step = _mask_frozen(step, self.frozen, p)
            p -= step
        return lr

    def _fresh_slots(self, params):
        """New slots for ``params``; refused where slots of other parameters hold state."""
        if self._slots is not None and any(self._slots):
            raise ValueError(
                f"{type(self).__name__}.apply: its state is for {len(self._slots)} "
                f"parameters, got {len(params)}; use one optimiser per set of parameters.")
        return [self._new_slots(p) for p in params]

    def _is_plain_sgd(self):
        """True when the update is p <- p - lr * g alone (SGD without momentum, weight
        decay or frozen copies): apply then skips the general loop's questions."""
        return False

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


