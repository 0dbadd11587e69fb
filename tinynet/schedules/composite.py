"""Schedules built from schedules: warm-up in front of one, and a chain of several."""

import bisect

import numpy as np

from tinynet import _checks
from tinynet.schedules.base import (
    Schedule,
    _fmt,
    _get,
    _int_list,
    _rate_arg,
    _steps_arg,
    serialize,
)


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
        self.warmup_steps = _steps_arg(warmup_steps, "warmup_steps", owner)
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
