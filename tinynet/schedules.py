"""Learning-rate schedules: the rate as a pure function of the update count.

``schedule(step) -> float``, where ``step`` is the number of updates already
made (0 for the first update). A schedule keeps no state between calls, so it
can be asked about any step in any order, plotted ahead of training, or shared
by several optimisers. Every optimiser accepts one as ``learning_rate``.

Keras-named schedules follow the Keras 3 formulas
(keras/src/optimizers/schedules/learning_rate_schedule.py); CyclicalLearningRate
and OneCycle follow PyTorch's CyclicLR and OneCycleLR. Each class docstring
writes its formula out.

    sched = CosineDecay(0.1, decay_steps=1000)
    sched(0), sched(500)            # 0.1, 0.05
    sched.values(1200)              # numpy array of steps 0..1199
    print(sched.describe(1200))     # shape, horizon and traps, in words
"""

import bisect
import math
import numbers

import numpy as np

from tinynet import _checks

__all__ = [
    "Schedule", "Constant", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
    "PolynomialDecay", "CosineDecay", "CosineDecayRestarts", "PowerDecay", "StepDecay",
    "Warmup", "CyclicalLearningRate", "OneCycle", "SequentialSchedule", "get", "serialize",
]

_REGISTRY = {}  # class name -> class, for get({"class_name": ..., "config": ...})


def _fmt(x):
    return f"{x:.4g}"


def _rate_arg(value, name, owner):
    """A learning rate: a finite float >= 0."""
    value = _checks.real(value, name, owner)
    if value < 0.0:
        raise ValueError(f"{owner}: {name} must be a learning rate >= 0, got {value!r}.")
    return value


def _flag(value, name, owner):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}.")
    return bool(value)


def _int_list(value, name, owner, low):
    """A list of ints >= low, strictly increasing."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{owner}: {name} must be a list of integers, got {value!r}.")
    out = []
    for i, b in enumerate(value):
        if isinstance(b, bool) or not isinstance(b, numbers.Integral):
            raise TypeError(f"{owner}: {name}[{i}] must be an integer, got {b!r}.")
        if b < low:
            raise ValueError(f"{owner}: {name}[{i}] must be >= {low}, got {b!r}.")
        if out and b <= out[-1]:
            raise ValueError(
                f"{owner}: {name} must be strictly increasing, got {list(value)!r} "
                f"({name}[{i}]={b!r} after {out[-1]!r})."
            )
        out.append(int(b))
    return out


class Schedule:
    """Base class: a learning rate as a pure function of the update count.

    Subclasses implement ``rate(step) -> float`` (step an int >= 0) and
    ``get_config()``. Calling the schedule checks the step, calls ``rate`` and
    checks that the result is a finite number >= 0. A subclass written the
    Keras way, overriding ``__call__`` instead of ``rate``, gets the same checks.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY.setdefault(cls.__name__, cls)  # built-ins keep their names
        if "__call__" in cls.__dict__ and "rate" not in cls.__dict__:
            cls.rate = cls.__dict__["__call__"]
            cls.__call__ = Schedule.__call__

    def rate(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement rate(self, step).")

    def __call__(self, step):
        if type(step) is not int or step < 0:
            step = _checks.nonneg_int(step, "step", type(self).__name__)
        lr = self.rate(step)
        try:
            lr = float(lr)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{type(self).__name__}: the learning rate at step {step} must be a number, "
                f"got {lr!r}."
            ) from exc
        if not 0.0 <= lr < math.inf:
            raise ValueError(
                f"{type(self).__name__}: the learning rate at step {step} is {lr!r}; a schedule "
                "must return a finite number >= 0."
            )
        return lr

    def values(self, num_steps):
        """numpy float64 array of ``self(step)`` for step = 0 .. num_steps-1."""
        num_steps = _checks.nonneg_int(num_steps, "num_steps", f"{type(self).__name__}.values")
        return np.array([self(step) for step in range(num_steps)], dtype=np.float64)

    def get_config(self):
        raise NotImplementedError(
            f"{type(self).__name__} must implement get_config() to be serialisable."
        )

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            config = self.get_config()
        except NotImplementedError:
            return f"{type(self).__name__}()"
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{type(self).__name__}({args})"

    # --- describe(): plain words about what a run of num_steps updates sees ---

    def _horizon(self):
        """None, or (last step of its course, what ends there, what it does after, warn?)."""
        return None

    def _notes(self, num_steps, v):
        """[(level, text)] with level "note" or "warning": this schedule's own traps."""
        return []

    def describe(self, num_steps):
        """A few lines of text about the rates of a run of ``num_steps`` updates.

        First and last rate, smallest and largest, the shape (flat, decreasing,
        rising, non-monotone), the schedule's horizon against the run, and
        warnings for known traps. Use as ``print(schedule.describe(1000))``.
        """
        num_steps = _checks.positive_int(num_steps, "num_steps", f"{type(self).__name__}.describe")
        v = self.values(num_steps)
        last = num_steps - 1
        lines = [f"{self!r} over {num_steps} updates (steps 0 to {last}):"]
        lines.append(f"  first update (step 0): {_fmt(v[0])}; last update (step {last}): "
                     f"{_fmt(v[-1])}")
        lo, hi = int(np.argmin(v)), int(np.argmax(v))
        lines.append(f"  smallest {_fmt(v[lo])} at step {lo}; largest {_fmt(v[hi])} at step {hi}")
        lines.append(f"  shape: {_shape(v)}")
        notes, warnings = [], []
        horizon = self._horizon()
        if horizon is not None:
            end, what, after, warn = horizon
            past = last - end
            if past > 0:
                lines.append(f"  horizon: step {end} ({what}); the run goes {past} updates "
                             f"past it, where it {after}")
                if warn:
                    warnings.append(
                        f"the horizon ({what}) is shorter than the run: the last {past} of "
                        f"{num_steps} updates come after step {end}, where it {after}")
            else:
                lines.append(f"  horizon: step {end} ({what})"
                             + (", the run's last update" if past == 0 else
                                f", after the run's last update (step {last}): the run "
                                "stops before the schedule's end"))
        for level, text in self._notes(num_steps, v):
            (warnings if level == "warning" else notes).append(text)
        warnings.extend(_generic_warnings(v))
        lines += [f"  note: {t}" for t in notes] + [f"  WARNING: {t}" for t in warnings]
        return "\n".join(lines)


def _shape(v):
    """Flat / decreases / rises / peak / non-monotone, in words."""
    d = np.diff(v)
    tol = 1e-12 * max(float(np.max(np.abs(v))), 1e-300)
    sign = np.where(d > tol, 1, np.where(d < -tol, -1, 0))
    moves = sign[sign != 0]
    if moves.size == 0:
        return f"stays flat at {_fmt(v[0])}"
    if np.all(moves < 0):
        return f"only decreases (never rises), from {_fmt(v[0])} to {_fmt(v[-1])}"
    if np.all(moves > 0):
        return f"only rises (never decreases), from {_fmt(v[0])} to {_fmt(v[-1])}"
    turns = int(np.count_nonzero(moves[1:] != moves[:-1]))
    if turns == 1 and moves[0] > 0:
        peak = int(np.argmax(v))
        return f"rises to its peak {_fmt(v[peak])} at step {peak}, then decreases to {_fmt(v[-1])}"
    fell = np.flatnonzero(sign < 0)[0]
    again = fell + np.flatnonzero(sign[fell:] > 0)[0]
    return (f"non-monotone: it rises again after decreasing, first at step {again + 1} "
            f"({_fmt(v[again])} -> {_fmt(v[again + 1])}); it changes direction {turns} times")


def _generic_warnings(v):
    out = []
    if v[0] == 0.0:
        out.append("the first update (step 0) uses a rate of exactly 0, so it changes nothing; "
                   "a warm-up that starts at 0 wastes its first update (Warmup's linear mode "
                   "starts at target/warmup_steps instead)")
    zeros = np.flatnonzero(v[1:] == 0.0) + 1
    if zeros.size:
        out.append(f"{zeros.size} of the {v.size} updates use a rate of exactly 0 (the first at "
                   f"step {zeros[0]}): they change nothing")
    peak = float(np.max(v))
    tiny = np.flatnonzero((v > 0.0) & (v < 1e-3 * peak))
    if tiny.size > 0.1 * v.size:
        out.append(f"{tiny.size} of the {v.size} updates (the first at step {tiny[0]}) use less "
                   f"than 1/1000 of the peak rate {_fmt(peak)}: they barely move the weights")
    return out


def _drop_note(owner, step_size, lr0, lr1, num_steps):
    if step_size >= num_steps:
        return [("warning", f"{owner}: the first drop comes at step {step_size}, after the run's "
                 f"last update (step {num_steps - 1}): the rate never changes in this run")]
    return [("warning", f"{owner}: the rate changes in jumps; the first, to {_fmt(lr1)}, applies "
             f"at step {step_size} (update number {step_size + 1}), after {step_size} updates "
             f"at {_fmt(lr0)}")]


class Constant(Schedule):
    """The same rate at every step: lr(step) = learning_rate."""

    def __init__(self, learning_rate):
        self.learning_rate = _rate_arg(learning_rate, "learning_rate", "Constant")

    def rate(self, step):
        return self.learning_rate

    def get_config(self):
        return {"learning_rate": self.learning_rate}


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
        self.decay_steps = _checks.positive_int(decay_steps, "decay_steps", owner)
        self.decay_rate = _checks.real(decay_rate, "decay_rate", owner, low=0.0, low_open=True)
        self.staircase = _flag(staircase, "staircase", owner)

    def rate(self, step):
        p = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** p

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
        self.decay_steps = _checks.positive_int(decay_steps, "decay_steps", owner)
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
        self.decay_steps = _checks.positive_int(decay_steps, "decay_steps", owner)
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
        self.decay_steps = _checks.positive_int(decay_steps, "decay_steps", owner)
        self.alpha = _checks.real(alpha, "alpha", owner, low=0.0, high=1.0)
        self.warmup_target = (None if warmup_target is None
                              else _rate_arg(warmup_target, "warmup_target", owner))
        self.warmup_steps = _checks.nonneg_int(warmup_steps, "warmup_steps", owner)

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
        self.first_decay_steps = _checks.positive_int(first_decay_steps, "first_decay_steps",
                                                      owner)
        self.t_mul = _checks.real(t_mul, "t_mul", owner, low=1.0)
        self.m_mul = _checks.real(m_mul, "m_mul", owner, low=0.0)
        self.alpha = _checks.real(alpha, "alpha", owner, low=0.0, high=1.0)

    def _restart(self, f):
        """(i, fraction of period i done) for f = step / first_decay_steps."""
        t = self.t_mul
        if t == 1.0:
            i = math.floor(f)
            return i, f - i
        i = math.floor(math.log(1.0 - f * (1.0 - t)) / math.log(t))
        if (1.0 - t ** (i + 1)) / (1.0 - t) <= f:
            i += 1
        elif i > 0 and (1.0 - t ** i) / (1.0 - t) > f:
            i -= 1
        return i, (f - (1.0 - t ** i) / (1.0 - t)) / t ** i

    def rate(self, step):
        i, f = self._restart(step / self.first_decay_steps)
        cosine_decayed = 0.5 * self.m_mul ** i * (1.0 + math.cos(math.pi * f))
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


class PowerDecay(Schedule):
    """Power decay: lr(step) = initial_learning_rate / (1 + step / decay_steps) ** power.

    power = 1 is 1/t decay (InverseTimeDecay with decay_rate 1), 0.5 is
    1/sqrt(t). power >= 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, power=1.0):
        owner = "PowerDecay"
        self.initial_learning_rate = _rate_arg(initial_learning_rate, "initial_learning_rate",
                                               owner)
        self.decay_steps = _checks.positive_int(decay_steps, "decay_steps", owner)
        self.power = _checks.real(power, "power", owner, low=0.0)

    def rate(self, step):
        return self.initial_learning_rate / (1 + step / self.decay_steps) ** self.power

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "power": self.power}

    _horizon = ExponentialDecay._horizon


class StepDecay(Schedule):
    """Step decay: lr(step) = initial_learning_rate * drop ** floor(step / step_size).

    The first drop applies at step step_size (update number step_size + 1).
    drop > 0 (a value > 1 makes the rate grow).
    """

    def __init__(self, initial_learning_rate, step_size, drop=0.5):
        owner = "StepDecay"
        self.initial_learning_rate = _rate_arg(initial_learning_rate, "initial_learning_rate",
                                               owner)
        self.step_size = _checks.positive_int(step_size, "step_size", owner)
        self.drop = _checks.real(drop, "drop", owner, low=0.0, low_open=True)

    def rate(self, step):
        return self.initial_learning_rate * self.drop ** (step // self.step_size)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "step_size": self.step_size, "drop": self.drop}

    def _notes(self, num_steps, v):
        return _drop_note("StepDecay", self.step_size, self.initial_learning_rate,
                          self.initial_learning_rate * self.drop, num_steps)


class Warmup(Schedule):
    """A warm-up in front of another schedule (or a constant rate).

    target = schedule(0); W = warmup_steps; start = start_learning_rate
    step < W, linear:      lr = start + (target - start) * (step + 1) / W
    step < W, exponential: lr = start * (target / start) ** ((step + 1) / W)   (start > 0)
    step >= W:             lr = schedule(step - W)

    The first update never uses a rate of exactly 0; update number W (step
    W - 1) uses target, and step W starts the wrapped schedule at its own
    step 0, so target is used twice.
    """

    def __init__(self, schedule_or_float, warmup_steps, start_learning_rate=0.0, mode="linear"):
        owner = "Warmup"
        self.schedule = _get(schedule_or_float, "schedule_or_float", owner)
        self.warmup_steps = _checks.positive_int(warmup_steps, "warmup_steps", owner)
        self.start_learning_rate = _rate_arg(start_learning_rate, "start_learning_rate", owner)
        self.mode = _checks.choice(mode, "mode", owner, ("linear", "exponential"))
        if self.mode == "exponential" and self.start_learning_rate <= 0.0:
            raise ValueError(
                f"{owner}: mode='exponential' needs start_learning_rate > 0 (it multiplies "
                f"from there), got {self.start_learning_rate!r}. Use mode='linear' to start at 0."
            )
        self.target = self.schedule(0)

    def rate(self, step):
        w = self.warmup_steps
        if step >= w:
            return self.schedule(step - w)
        start, target = self.start_learning_rate, self.target
        if self.mode == "linear":
            return start + (target - start) * (step + 1) / w
        return start * (target / start) ** ((step + 1) / w)

    def get_config(self):
        return {"schedule_or_float": serialize(self.schedule), "warmup_steps": self.warmup_steps,
                "start_learning_rate": self.start_learning_rate, "mode": self.mode}

    def __repr__(self):
        return (f"Warmup({self.schedule!r}, warmup_steps={self.warmup_steps}, "
                f"start_learning_rate={self.start_learning_rate!r}, mode={self.mode!r})")

    def _horizon(self):
        return (self.warmup_steps - 1, f"warmup_steps={self.warmup_steps}",
                f"runs {type(self.schedule).__name__} with its own step counter "
                f"(its step = step - {self.warmup_steps})", False)

    def _notes(self, num_steps, v):
        w, out = self.warmup_steps, []
        if num_steps < w:
            out.append(("warning", f"the run ends during the warm-up: its last update (step "
                        f"{num_steps - 1}) uses {_fmt(v[-1])}, the target is {_fmt(self.target)}"))
        else:
            out.append(("note", f"the warm-up reaches target={_fmt(self.target)} at step {w - 1} "
                        f"(update number {w}); step {w} starts {type(self.schedule).__name__} "
                        "at its own step 0, so the target is used twice"))
        return out


class CyclicalLearningRate(Schedule):
    """Triangular cycles between two rates, as torch.optim.lr_scheduler.CyclicLR.

    total = step_size + step_size_down; r = step_size / total   (step_size_down
    defaults to step_size)
    cycle = floor(1 + step / total); x = 1 + step / total - cycle
    scale = x / r if x <= r else (x - 1) / (r - 1)
    lr(step) = base + (max - base) * scale * g
    g = 1 (triangular), 1 / 2 ** (cycle - 1) (triangular2), gamma ** step (exp_range)

    Same values as CyclicLR(cycle_momentum=False) after ``step`` scheduler steps.
    """

    def __init__(self, base_learning_rate, max_learning_rate, step_size, step_size_down=None,
                 mode="triangular", gamma=1.0):
        owner = "CyclicalLearningRate"
        self.base_learning_rate = _rate_arg(base_learning_rate, "base_learning_rate", owner)
        self.max_learning_rate = _rate_arg(max_learning_rate, "max_learning_rate", owner)
        if self.max_learning_rate < self.base_learning_rate:
            raise ValueError(f"{owner}: max_learning_rate must be >= base_learning_rate "
                             f"({self.base_learning_rate!r}), got {self.max_learning_rate!r}.")
        self.step_size = _checks.positive_int(step_size, "step_size", owner)
        self.step_size_down = (None if step_size_down is None
                               else _checks.positive_int(step_size_down, "step_size_down", owner))
        self.mode = _checks.choice(mode, "mode", owner, ("triangular", "triangular2", "exp_range"))
        self.gamma = _checks.real(gamma, "gamma", owner, low=0.0, high=1.0, low_open=True)
        down = self.step_size if self.step_size_down is None else self.step_size_down
        self.total_size = float(self.step_size) + float(down)
        self.step_ratio = self.step_size / self.total_size

    def rate(self, step):
        cycle = math.floor(1 + step / self.total_size)
        x = 1.0 + step / self.total_size - cycle
        r = self.step_ratio
        scale_factor = x / r if x <= r else (x - 1) / (r - 1)
        base_height = (self.max_learning_rate - self.base_learning_rate) * scale_factor
        if self.mode == "triangular":
            g = 1.0
        elif self.mode == "triangular2":
            g = 1 / (2.0 ** (cycle - 1))
        else:
            g = self.gamma ** step
        return self.base_learning_rate + base_height * g

    def get_config(self):
        return {"base_learning_rate": self.base_learning_rate,
                "max_learning_rate": self.max_learning_rate, "step_size": self.step_size,
                "step_size_down": self.step_size_down, "mode": self.mode, "gamma": self.gamma}

    def _horizon(self):
        total = int(self.total_size)
        return (total, f"one cycle (step_size + step_size_down = {total} updates)",
                "cycles again", False)

    def _notes(self, num_steps, v):
        total = int(self.total_size)
        where = ("at the end of a cycle (base rate)" if (num_steps - 1) % total == 0
                 else f"mid-cycle, at {_fmt(v[-1])}")
        return [("note", f"base rate at steps 0, {total}, {2 * total}, ...; peaks at steps "
                 f"{self.step_size}, {self.step_size + total}, ...; the run covers "
                 f"{(num_steps - 1) / total:.3g} cycles and ends {where}")]


class OneCycle(Schedule):
    """The 1cycle policy, as torch.optim.lr_scheduler.OneCycleLR (three_phase=False).

    initial = max_learning_rate / div_factor; min_lr = initial / final_div_factor
    phase 1: steps 0 .. e1 = float(pct_start * total_steps) - 1, initial -> max_learning_rate
    phase 2: steps e1 .. e2 = total_steps - 1, max_learning_rate -> min_lr
    within a phase from a (at step s0) to b (at step s1), pct = (step - s0) / (s1 - s0):
        cos:    lr = b + (a - b) / 2 * (1 + cos(pi * pct))
        linear: lr = (b - a) * pct + a

    Same values as OneCycleLR for steps 0 .. total_steps - 1. From step
    total_steps - 1 on it holds min_lr (PyTorch raises past total_steps). Where
    PyTorch divides by zero (pct_start * total_steps == 1) step 0 uses max_learning_rate.
    """

    def __init__(self, max_learning_rate, total_steps, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4, anneal_strategy="cos"):
        owner = "OneCycle"
        self.max_learning_rate = _rate_arg(max_learning_rate, "max_learning_rate", owner)
        self.total_steps = _checks.positive_int(total_steps, "total_steps", owner)
        self.pct_start = _checks.real(pct_start, "pct_start", owner, low=0.0, high=1.0)
        self.div_factor = _checks.real(div_factor, "div_factor", owner, low=0.0, low_open=True)
        self.final_div_factor = _checks.real(final_div_factor, "final_div_factor", owner,
                                             low=0.0, low_open=True)
        self.anneal_strategy = _checks.choice(anneal_strategy, "anneal_strategy", owner,
                                              ("cos", "linear"))
        self.initial_learning_rate = self.max_learning_rate / self.div_factor
        self.min_learning_rate = self.initial_learning_rate / self.final_div_factor
        self._phases = (
            (float(self.pct_start * self.total_steps) - 1, self.initial_learning_rate,
             self.max_learning_rate),
            (self.total_steps - 1, self.max_learning_rate, self.min_learning_rate),
        )

    def _anneal(self, a, b, pct):
        if self.anneal_strategy == "cos":
            return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (b - a) * pct + a

    def rate(self, step):
        step = min(step, self.total_steps - 1)
        start_step = 0.0
        for i, (end_step, a, b) in enumerate(self._phases):
            if step <= end_step or i == len(self._phases) - 1:
                span = end_step - start_step
                pct = (step - start_step) / span if span else 1.0
                return self._anneal(a, b, pct)
            start_step = end_step

    def get_config(self):
        return {"max_learning_rate": self.max_learning_rate, "total_steps": self.total_steps,
                "pct_start": self.pct_start, "div_factor": self.div_factor,
                "final_div_factor": self.final_div_factor,
                "anneal_strategy": self.anneal_strategy}

    def _horizon(self):
        return (self.total_steps - 1, f"total_steps={self.total_steps}",
                f"holds min_lr={_fmt(self.min_learning_rate)} (PyTorch's OneCycleLR would raise)",
                True)

    def _notes(self, num_steps, v):
        e1 = self._phases[0][0]
        if e1 <= 0:
            peak = (f"uses max_learning_rate={_fmt(self.max_learning_rate)} from step 0 "
                    f"(pct_start * total_steps <= 1: no warm-up)")
        elif e1 == int(e1):
            peak = f"reaches max_learning_rate={_fmt(self.max_learning_rate)} at step {e1:g}"
        else:
            peak = (f"peaks between steps {math.floor(e1)} and {math.ceil(e1)} "
                    f"(float(pct_start * total_steps) - 1 = {e1:g}), so no update uses exactly "
                    f"max_learning_rate={_fmt(self.max_learning_rate)}")
        return [("note", f"starts at max_learning_rate / div_factor = "
                 f"{_fmt(self.initial_learning_rate)}, {peak}, and anneals to min_lr="
                 f"{_fmt(self.min_learning_rate)} at step {self.total_steps - 1}")]


class SequentialSchedule(Schedule):
    """Schedules one after another, each with its own step counter.

    With b_0 = 0 and b_i = boundaries[i-1]: for b_i <= step < b_{i+1},
    lr(step) = schedules[i](step - b_i). boundaries: strictly increasing ints > 0,
    len(boundaries) == len(schedules) - 1; floats in schedules become Constant.

        SequentialSchedule([Warmup(0.1, 100), 0.1, CosineDecay(0.1, 1000)], [100, 500])
    """

    def __init__(self, schedules, boundaries):
        owner = "SequentialSchedule"
        if isinstance(schedules, (str, bytes, dict)) or not hasattr(schedules, "__len__"):
            raise TypeError(f"{owner}: schedules must be a list of schedules or learning rates, "
                            f"got {schedules!r}.")
        if len(schedules) == 0:
            raise ValueError(f"{owner}: schedules must not be empty.")
        self.schedules = [_get(s, f"schedules[{i}]", owner) for i, s in enumerate(schedules)]
        self.boundaries = _int_list(boundaries, "boundaries", owner, low=1)
        if len(self.boundaries) != len(self.schedules) - 1:
            raise ValueError(
                f"{owner}: boundaries must have one entry fewer than schedules "
                f"(len(schedules)={len(self.schedules)}), got len(boundaries)="
                f"{len(self.boundaries)}."
            )

    def rate(self, step):
        i = bisect.bisect_right(self.boundaries, step)
        return self.schedules[i](step - self.boundaries[i - 1] if i else step)

    def get_config(self):
        return {"schedules": [serialize(s) for s in self.schedules],
                "boundaries": list(self.boundaries)}

    def __repr__(self):
        return f"SequentialSchedule({self.schedules!r}, boundaries={self.boundaries!r})"

    def _horizon(self):
        inner = self.schedules[-1]._horizon()
        if inner is None:
            return None
        shift = self.boundaries[-1] if self.boundaries else 0
        end, what, after, warn = inner
        return (shift + end, f"the last schedule's {what}, from step {shift}", after, warn)

    def _notes(self, num_steps, v):
        starts = [0] + self.boundaries
        out = []
        for i, (b, s) in enumerate(zip(starts, self.schedules, strict=True)):
            if b >= num_steps:
                out.append(("warning", f"schedules[{i}] ({type(s).__name__}) would start at step "
                            f"{b}, which this run of {num_steps} updates never reaches"))
                break
            out.append(("note", f"from step {b}: schedules[{i}] = {type(s).__name__}, "
                        "starting at its own step 0"))
            if b and abs(v[b] - v[b - 1]) > 1e-3 * max(float(np.max(v)), 1e-300):
                out.append(("note", f"at step {b} the rate jumps from {_fmt(v[b - 1])} to "
                            f"{_fmt(v[b])}"))
        return out


def serialize(schedule):
    """{"class_name": ..., "config": ...}, JSON-serialisable; get() reads it back."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"serialize: expected a Schedule, got {type(schedule).__name__}.")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def _get(identifier, name, owner):
    if isinstance(identifier, Schedule):
        return identifier
    if isinstance(identifier, numbers.Real) and not isinstance(identifier, bool):
        return Constant(_rate_arg(identifier, name, owner))
    if isinstance(identifier, dict):
        class_name, config = identifier.get("class_name"), identifier.get("config")
        if class_name not in _REGISTRY or not isinstance(config, dict):
            raise ValueError(
                f"{owner}: a config dict for {name} must look like {{'class_name': ..., "
                f"'config': {{...}}}} with class_name one of: {', '.join(_REGISTRY)}; "
                f"got {identifier!r}."
            )
        return _REGISTRY[class_name].from_config(config)
    raise TypeError(
        f"{owner}: {name} must be a learning rate (float), a Schedule or a config dict "
        f"{{'class_name': ..., 'config': ...}}, got {type(identifier).__name__} {identifier!r}."
    )


def get(identifier):
    """A Schedule from a float (-> Constant), a Schedule (itself) or a config dict.

    The dict is what serialize() returns: {"class_name": "CosineDecay", "config": {...}}.
    """
    return _get(identifier, "identifier", "get")
