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

from tinynet.schedules.base import Constant, Schedule, get, serialize
from tinynet.schedules.classic import PowerDecay, StepDecay
from tinynet.schedules.composite import SequentialSchedule, Warmup
from tinynet.schedules.cyclical import CyclicalLearningRate, OneCycle
from tinynet.schedules.keras import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    PiecewiseConstantDecay,
    PolynomialDecay,
)

__all__ = [
    "Schedule", "Constant", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
    "PolynomialDecay", "CosineDecay", "CosineDecayRestarts", "PowerDecay", "StepDecay",
    "Warmup", "CyclicalLearningRate", "OneCycle", "SequentialSchedule", "get", "serialize",
]
