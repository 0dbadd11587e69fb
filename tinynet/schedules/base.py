"""The Schedule base class, its describe() machinery, shared checks and Constant."""

import math
import numbers

import numpy as np

from tinynet import _checks

_REGISTRY = {}  # class name -> class, for get({"class_name": ..., "config": ...})
MAX_STEP = 2**53  # every integer up to it is exact as a float (the formulas divide steps)


def _fmt(x):
    return f"{x:.4g}"


def _pow(base, exponent):
    """base ** exponent for floats, inf where it overflows (Python's float pow raises).

    A growing schedule (decay_rate > 1) passes the largest float after enough
    steps; it then returns inf, which Schedule.__call__ refuses with the step,
    instead of an OverflowError from deep inside the update. A shrinking one
    underflows to 0.0, as float pow does by itself.
    """
    try:
        return float(base) ** exponent
    except OverflowError:
        return math.inf


def _at_most_max_step(value, name, owner):
    """``value`` (an int) if it is <= MAX_STEP; else a ValueError naming ``name``."""
    if value > MAX_STEP:
        bits = value.bit_length()
        got = repr(value) if bits <= 64 else f"an integer of {bits} bits"
        raise ValueError(f"{owner}: {name} must be at most 2**53 = {MAX_STEP} (every integer up "
                         f"to it is exact as a float), got {got}.")
    return value


def _steps_arg(value, name, owner, low=1):
    """A step count: an int >= low (1 or 0) and <= MAX_STEP."""
    check = _checks.positive_int if low == 1 else _checks.nonneg_int
    return _at_most_max_step(check(value, name, owner), name, owner)


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
    """A list of ints >= low and <= MAX_STEP, strictly increasing."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{owner}: {name} must be a list of integers, got {value!r}.")
    out = []
    for i, b in enumerate(value):
        if isinstance(b, bool) or not isinstance(b, numbers.Integral):
            raise TypeError(f"{owner}: {name}[{i}] must be an integer, got {b!r}.")
        if b < low:
            raise ValueError(f"{owner}: {name}[{i}] must be >= {low}, got {b!r}.")
        _at_most_max_step(b, f"{name}[{i}]", owner)
        if out and b <= out[-1]:
            raise ValueError(
                f"{owner}: {name} must be strictly increasing, got {list(value)!r} "
                f"({name}[{i}]={b!r} after {out[-1]!r})."
            )
        out.append(int(b))
    return out


class Schedule:
    """Base class: a learning rate as a pure function of the update count.

    Subclasses implement ``rate(step) -> float`` (step an int, 0 <= step <= 2**53) and
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
        if type(step) is not int or not 0 <= step <= MAX_STEP:
            step = _steps_arg(step, "step", type(self).__name__, low=0)
        return _checks.rate_value(self.rate(step), step, type(self).__name__)

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
