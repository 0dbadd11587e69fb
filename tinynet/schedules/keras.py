"""The Keras-named decays, reproducing the Keras 3 formulas
(keras/src/optimizers/schedules/learning_rate_schedule.py)."""

import bisect
import math

from tinynet import _checks
from tinynet.schedules.base import (
    Schedule,
    _drop_note,
    _flag,
    _fmt,
    _int_list,
    _pow,
    _rate_arg,
    _steps_arg,
)


class ExponentialDecay(Schedule):
    """Exponential decay, as keras.optimizers.schedules.ExponentialDecay.

    p = step / decay_steps   (p = floor(step / decay_steps) if staircase)
    lr(step) = initial_learning_rate * decay_rate ** p

    decay_steps is a time scale, not an end: the decay goes on past it.
    decay_rate > 0 (a value > 1 makes the rate grow).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        owner = "ExponentialDecay"
        self.initial_learning_rate = _rate_arg(initial_learning_rate, "initial_learning_rate",
                                               owner)
        self.decay_steps = _steps_arg(decay_steps, "decay_steps", owner)
        self.decay_rate = _checks.real(decay_rate, "decay_rate", owner, low=0.0, low_open=True)
        self.staircase = _flag(staircase, "staircase", owner)

    def rate(self, step):
        p = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial_learning_rate * _pow(self.decay_rate, p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}

    def _horizon(self):
        return (self.decay_steps, f"decay_steps={self.decay_steps} (a time scale, not an end)",
                "extrapolates: the decay keeps going", False)

    def _notes(self, num_steps, v):
        if not self.staircase:
            return []
        return _drop_note("staircase=True", self.decay_steps, self.initial_learning_rate,
                          self.initial_learning_rate * self.decay_rate, num_steps)


class InverseTimeDecay(Schedule):
    """Inverse-time decay, as keras.optimizers.schedules.InverseTimeDecay.

    p = step / decay_steps   (p = floor(step / decay_steps) if staircase)
    lr(step) = initial_learning_rate / (1 + decay_rate * p)

    decay_rate >= 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        owner = "InverseTimeDecay"
        self.initial_learning_rate = _rate_arg(initial_learning_rate, "initial_learning_rate",
                                               owner)
        self.decay_steps = _steps_arg(decay_steps, "decay_steps", owner)
        self.decay_rate = _checks.real(decay_rate, "decay_rate", owner, low=0.0)
        self.staircase = _flag(staircase, "staircase", owner)

    def rate(self, step):
        p = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}

    _horizon = ExponentialDecay._horizon

    def _notes(self, num_steps, v):
        if not self.staircase:
            return []
        return _drop_note("staircase=True", self.decay_steps, self.initial_learning_rate,
                          self.initial_learning_rate / (1 + self.decay_rate), num_steps)


class PiecewiseConstantDecay(Schedule):
    """Piecewise constant, as keras.optimizers.schedules.PiecewiseConstantDecay.

    lr(step) = values[0]   if step <= boundaries[0]
               values[i]   if boundaries[i-1] < step <= boundaries[i]
               values[-1]  if step > boundaries[-1]

    Keras compares with ``step > boundary``: the value after boundary b first
    applies at step b + 1. boundaries: strictly increasing ints >= 0;
    len(values) == len(boundaries) + 1.
    """

    def __init__(self, boundaries, values):
        owner = "PiecewiseConstantDecay"
        self.boundaries = _int_list(boundaries, "boundaries", owner, low=0)
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError(f"{owner}: values must be a list of learning rates, got {values!r}.")
        if len(values) != len(self.boundaries) + 1:
            raise ValueError(
                f"{owner}: values must have one more entry than boundaries "
                f"(len(boundaries)={len(self.boundaries)}), got len(values)={len(values)}."
            )
        self.piece_values = [_rate_arg(x, f"values[{i}]", owner) for i, x in enumerate(values)]

    def rate(self, step):
        return self.piece_values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.piece_values)}

    def _horizon(self):
        if not self.boundaries:
            return None
        b = self.boundaries[-1]
        return (b, "the last boundary", f"holds values[-1]={_fmt(self.piece_values[-1])}",
                False)

    def _notes(self, num_steps, v):
        out = []
        for i, b in enumerate(self.boundaries):
            old, new = self.piece_values[i], self.piece_values[i + 1]
            if b + 1 >= num_steps:
                out.append(("warning", f"boundary {b}: values[{i + 1}]={_fmt(new)} would first "
                            f"apply at step {b + 1}, which this run of {num_steps} updates "
                            "never reaches"))
                break
            if len(out) < 3:
                fix = f". For a change at step {b}, use boundary {b - 1}" if b else ""
                out.append(("warning", f"boundary {b}: step {b} still uses values[{i}]="
                            f"{_fmt(old)}; values[{i + 1}]={_fmt(new)} first applies at step "
                            f"{b + 1} (Keras uses step > boundary){fix}"))
        return out


class PolynomialDecay(Schedule):
    """Polynomial decay, as keras.optimizers.schedules.PolynomialDecay.

    without cycle: s = min(step, decay_steps); D = decay_steps
    with cycle:    s = step; D = decay_steps * ceil(step / decay_steps), and
                   D = decay_steps at step 0 (Keras's multiplier 1 there)
    lr(step) = (initial_learning_rate - end_learning_rate) * (1 - s / D) ** power
               + end_learning_rate

    end_learning_rate may exceed initial_learning_rate (then it rises); power >= 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False):
        owner = "PolynomialDecay"
        self.initial_learning_rate = _rate_arg(initial_learning_rate, "initial_learning_rate",
                                               owner)
        self.decay_steps = _steps_arg(decay_steps, "decay_steps", owner)
        self.end_learning_rate = _rate_arg(end_learning_rate, "end_learning_rate", owner)
        self.power = _checks.real(power, "power", owner, low=0.0)
        self.cycle = _flag(cycle, "cycle", owner)

    def rate(self, step):
        s, d = float(step), float(self.decay_steps)
        if self.cycle:
            d = d * (1.0 if step == 0 else math.ceil(s / d))
        else:
            s = min(s, d)
        p = s / d
        lr0, end = self.initial_learning_rate, self.end_learning_rate
        return (lr0 - end) * (1 - p) ** self.power + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle}

    def _horizon(self):
        what = f"decay_steps={self.decay_steps}"
        if self.cycle:
            return (self.decay_steps, what,
                    "restarts, each time over the next multiple of decay_steps and so from a "
                    f"lower peak (step {self.decay_steps + 1}: {_fmt(self(self.decay_steps + 1))})",
                    False)
        return (self.decay_steps, what,
                f"holds end_learning_rate={_fmt(self.end_learning_rate)}", True)


class CosineDecay(Schedule):
    """Cosine decay with optional warm-up, as keras.optimizers.schedules.CosineDecay.

    decay(s, peak) = peak * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)
    warmup_target None: lr(step) = decay(min(step, decay_steps), initial_learning_rate)
                        (warmup_steps is then ignored, as in Keras)
    otherwise, with W = warmup_steps and s = min(step, W + decay_steps):
        s < W:  lr = (warmup_target - initial_learning_rate) * (s / W) + initial_learning_rate
        s >= W: lr = decay(s - W, warmup_target)

    Keras's warm-up uses initial_learning_rate itself at step 0 (0 if you start
    from 0) and reaches warmup_target at step W. alpha in [0, 1].
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                 warmup_steps=0):
        owner = "CosineDecay"
        self.initial_learning_rate = _rate_arg(initial_learning_rate, "initial_learning_rate",
                                               owner)
        self.decay_steps = _steps_arg(decay_steps, "decay_steps", owner)
        self.alpha = _checks.real(alpha, "alpha", owner, low=0.0, high=1.0)
        self.warmup_target = (None if warmup_target is None
                              else _rate_arg(warmup_target, "warmup_target", owner))
        self.warmup_steps = _steps_arg(warmup_steps, "warmup_steps", owner, low=0)

    def _decay(self, s, peak):
        cosine_decayed = 0.5 * (1.0 + math.cos(math.pi * (s / self.decay_steps)))
        return peak * ((1 - self.alpha) * cosine_decayed + self.alpha)

    def rate(self, step):
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        s = min(step, self.decay_steps + self.warmup_steps)
        if s < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (s / self.warmup_steps) + self.initial_learning_rate
        return self._decay(s - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}

    def _horizon(self):
        warm = self.warmup_steps if self.warmup_target is not None else 0
        peak = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        what = (f"warmup_steps + decay_steps = {warm + self.decay_steps}" if warm
                else f"decay_steps={self.decay_steps}")
        return (warm + self.decay_steps, what,
                f"holds alpha * peak = {_fmt(self.alpha * peak)}", True)

    def _notes(self, num_steps, v):
        if self.warmup_target is None:
            if self.warmup_steps:
                return [("warning", f"warmup_steps={self.warmup_steps} is ignored because "
                         "warmup_target is None (as in Keras): there is no warm-up")]
            return []
        if not self.warmup_steps:
            return []
        return [("note", f"Keras warm-up: step 0 uses initial_learning_rate="
                 f"{_fmt(self.initial_learning_rate)} and warmup_target="
                 f"{_fmt(self.warmup_target)} is first reached at step {self.warmup_steps}, "
                 "the first step of the cosine decay")]


class CosineDecayRestarts(Schedule):
    """Cosine decay with warm restarts (SGDR), as keras CosineDecayRestarts.

    f = step / first_decay_steps
    t_mul == 1: i = floor(f); f = f - i
    otherwise:  i = floor(log(1 - f * (1 - t_mul)) / log(t_mul))
                f = (f - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i
    lr(step) = initial_learning_rate
               * ((1 - alpha) * 0.5 * m_mul ** i * (1 + cos(pi * f)) + alpha)

    Period i lasts first_decay_steps * t_mul ** i steps and peaks at
    initial_learning_rate * m_mul ** i. i is corrected by one where the float
    logarithm lands just below a whole number, so each restart step gets its
    peak. t_mul >= 1 (Keras gives NaN after a finite time for t_mul < 1).
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0):
        owner = "CosineDecayRestarts"
        self.initial_learning_rate = _rate_arg(initial_learning_rate, "initial_learning_rate",
                                               owner)
        self.first_decay_steps = _steps_arg(first_decay_steps, "first_decay_steps", owner)
        self.t_mul = _checks.real(t_mul, "t_mul", owner, low=1.0)
        self.m_mul = _checks.real(m_mul, "m_mul", owner, low=0.0)
        self.alpha = _checks.real(alpha, "alpha", owner, low=0.0, high=1.0)

    def _restart(self, f):
        """(i, fraction of period i done) for f = step / first_decay_steps."""
        t = self.t_mul
        if t == 1.0:
            i = math.floor(f)
            return i, f - i
        grown = 1.0 - f * (1.0 - t)  # inf for a huge t_mul: then log(f) + log(t - 1)
        log_grown = math.log(grown) if grown < math.inf else math.log(f) + math.log(t - 1.0)
        i = math.floor(log_grown / math.log(t))
        # _pow: t ** (i + 1) may pass the largest float (then period i never ends);
        # t ** i of the period that holds f <= 2**53 never does
        if (1.0 - _pow(t, i + 1)) / (1.0 - t) <= f:
            i += 1
        elif i > 0 and (1.0 - _pow(t, i)) / (1.0 - t) > f:
            i -= 1
        return i, (f - (1.0 - t ** i) / (1.0 - t)) / t ** i

    def rate(self, step):
        i, f = self._restart(step / self.first_decay_steps)
        cosine_decayed = 0.5 * _pow(self.m_mul, i) * (1.0 + math.cos(math.pi * f))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine_decayed + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha}

    def _restart_steps(self, num_steps):
        """The steps < num_steps at which a new period starts (after step 0)."""
        out, start, length = [], 0.0, float(self.first_decay_steps)
        while start + length < num_steps:
            start += length
            length *= self.t_mul
            out.append(math.ceil(start))
        return out

    def _horizon(self):
        return (self.first_decay_steps - 1, f"first_decay_steps={self.first_decay_steps}",
                "restarts (jumps back up, then decays over a period t_mul times longer)", False)

    def _notes(self, num_steps, v):
        steps = self._restart_steps(num_steps)
        if not steps:
            return []
        shown = ", ".join(str(s) for s in steps[:6]) + (", ..." if len(steps) > 6 else "")
        return [("note", f"restarts at steps {shown}; each jumps back up to "
                 "initial_learning_rate * m_mul ** i")]
