"""Callbacks: code that runs between epochs and decides something.

Every deciding callback records, every epoch, what it saw and what it decided in
``model.history.records[<its name>]``, so a student can plot its counters.
With K stacked models each copy is judged on its own: a copy that is done is
frozen (``model.freeze``) and training stops when every copy is done.

base (Callback, the monitor shared by the deciding ones), stopping
(EarlyStopping, TerminateOnNaN, StopOnDivergence), rates (LearningRateScheduler,
ReduceLROnPlateau), files (ModelCheckpoint, CSVLogger), telemetry (UpdateStats),
paths (WeightPath).
"""

from tinynet.callbacks.base import Callback
from tinynet.callbacks.files import CSVLogger, ModelCheckpoint
from tinynet.callbacks.paths import WeightPath
from tinynet.callbacks.rates import LearningRateScheduler, ReduceLROnPlateau
from tinynet.callbacks.stopping import EarlyStopping, StopOnDivergence, TerminateOnNaN
from tinynet.callbacks.telemetry import UpdateStats
from tinynet.metrics import infer_mode

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint",
           "ReduceLROnPlateau", "StopOnDivergence", "TerminateOnNaN", "UpdateStats", "WeightPath",
           "infer_mode"]
