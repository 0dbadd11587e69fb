"""Cyclical rates and 1cycle, giving PyTorch's CyclicLR / OneCycleLR values."""

import math

from tinynet import _checks
from tinynet.schedules.base import Schedule, _fmt, _pow, _rate_arg, _steps_arg


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
        self.step_size = _steps_arg(step_size, "step_size", owner)
        self.step_size_down = (None if step_size_down is None
                               else _steps_arg(step_size_down, "step_size_down", owner))
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
            g = 1 / _pow(2.0, cycle - 1)  # past cycle 1025: 1 / inf = 0, no OverflowError
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
        self.total_steps = _steps_arg(total_steps, "total_steps", owner)
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
