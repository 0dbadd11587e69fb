"""The update rules, simplest first: SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW.

Each docstring writes its rule out in both conventions (see tinynet.optimizers).
"""

import math

import numpy as np

from tinynet import _checks, backend
from tinynet.optimizers._args import _epsilon
from tinynet.optimizers.base import Optimizer


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
        nesterov = _checks.boolean(nesterov, "nesterov", "SGD")
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0.")
        self.nesterov = bool(nesterov)

    @property
    def stateless(self):
        """Without momentum SGD keeps no velocity: p <- p - lr * g reads only p, g, lr."""
        return self.momentum == 0.0

    def _is_plain_sgd(self):
        return (self.momentum == 0.0 and self.weight_decay == 0.0
                and (self.frozen is None or not np.any(self.frozen)))

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


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): Adagrad's step over a window, in the units of past steps.

    Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=0.0,
             convention="pytorch")
    convention="pytorch", as torch.optim.Adadelta (eps inside both square roots):
        g <- g + wd * p                         (wd = weight_decay, first of all)
        v <- rho * v + (1 - rho) * g^2          (v = u = 0 at start)
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u <- rho * u + (1 - rho) * delta^2
        p <- p - lr * delta
    convention="keras", as keras/src/optimizers/adadelta.py (the same rule, g first):
        p <- p - p * wd * lr                    (decoupled, Keras's base optimiser)
        v <- rho * v + (1 - rho) * g^2
        delta = sqrt(u + eps) * g / sqrt(v + eps)
        u <- rho * u + (1 - rho) * delta^2
        p <- p - lr * delta
    v: the running mean of g^2 (torch's square_avg, Keras's accumulated_grad); u: that of
    delta^2 (acc_delta, accumulated_delta_var). lr scales the step alone, so u, v and
    delta do not depend on it; the first delta is about sqrt(eps) * sign(g) / sqrt(1 - rho).
    Defaults are Keras's, as tinynet's others (torch: lr=1.0, rho=0.9, eps=1e-6; Zeiler:
    lr = 1). epsilon must be > 0: with eps = 0, u never leaves 0 (every delta 0, or 0/0).
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, lr=None,
                 weight_decay=0.0, convention="pytorch", **kwargs):
        super().__init__(learning_rate, lr, weight_decay, convention, kwargs)
        self.rho = _checks.real(rho, "rho", "Adadelta", low=0.0, high=1.0)
        self.epsilon = _epsilon(epsilon, "Adadelta")

    def _new_slots(self, p):
        xp = backend.namespace(p)
        return {"v": xp.zeros_like(p), "u": xp.zeros_like(p)}

    def _step(self, g, slots, lr):
        xp = backend.namespace(g)
        rho, eps = self.rho, self.epsilon
        v, u = slots["v"], slots["u"]
        v *= rho
        v += (1.0 - rho) * (g * g)
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
        u *= rho
        u += (1.0 - rho) * (delta * delta)
        return lr * delta

    def _hyper(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


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


