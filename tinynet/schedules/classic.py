"""The classic decays of the literature: power scheduling and drop-every-k."""

from tinynet import _checks
from tinynet.schedules.base import Schedule, _drop_note, _pow, _rate_arg, _steps_arg
from tinynet.schedules.keras import ExponentialDecay


class PowerDecay(Schedule):
    """Power decay: lr(step) = initial_learning_rate / (1 + step / decay_steps) ** power.

    power = 1 is 1/t decay (InverseTimeDecay with decay_rate 1), 0.5 is
    1/sqrt(t). power >= 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, power=1.0):
        owner = "PowerDecay"
        self.initial_learning_rate = _rate_arg(initial_learning_rate, "initial_learning_rate",
                                               owner)
        self.decay_steps = _steps_arg(decay_steps, "decay_steps", owner)
        self.power = _checks.real(power, "power", owner, low=0.0)

    def rate(self, step):
        return self.initial_learning_rate / _pow(1 + step / self.decay_steps, self.power)

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
        self.step_size = _steps_arg(step_size, "step_size", owner)
        self.drop = _checks.real(drop, "drop", owner, low=0.0, low_open=True)

    def rate(self, step):
        return self.initial_learning_rate * _pow(self.drop, step // self.step_size)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "step_size": self.step_size, "drop": self.drop}

    def _notes(self, num_steps, v):
        return _drop_note("StepDecay", self.step_size, self.initial_learning_rate,
                          self.initial_learning_rate * self.drop, num_steps)
