"""The callback contract, and the monitor shared by the callbacks that decide."""

import warnings

import numpy as np

from tinynet import _checks
from tinynet.metrics import infer_mode


class Callback:
    """Base class: every hook is a no-op. ``self.model`` is set before training."""

    wants_batches = False  # True to receive on_train_batch_end (costs a host sync)

    def set_model(self, model):
        self.model = model

    def on_train_begin(self):
        pass

    def on_epoch_begin(self, epoch):
        pass

    def on_train_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self):
        pass

    @property
    def name(self):
        return type(self).__name__

    def record(self, **values):
        self.model.history.record(self.name, **values)


class _Monitor(Callback):
    """Shared by callbacks that watch one logged quantity for improvement."""

    def __init__(self, monitor, min_delta, mode, owner):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{owner}: monitor must be a logged name such as 'val_loss', "
                             f"got {monitor!r}.")
        self.monitor = monitor
        self.min_delta = abs(_checks.real(min_delta, "min_delta", owner))
        mode = _checks.choice(mode, "mode", owner, ("auto", "min", "max"))
        self.mode = infer_mode(monitor) if mode == "auto" else mode

    def _current(self, logs):
        if self.monitor not in logs:
            warnings.warn(
                f"{self.name}: '{self.monitor}' is not logged (available: "
                f"{', '.join(logs)}); the callback does nothing this epoch.", UserWarning,
                stacklevel=3)
            return None
        return np.atleast_1d(np.asarray(logs[self.monitor], dtype=np.float64))

    def _improved(self, current, best):
        """Absolute min_delta, as Keras: min mode needs current < best - min_delta."""
        if self.mode == "min":
            return current + self.min_delta < best
        return current - self.min_delta > best

    def _start(self, n):
        return np.full(n, np.inf if self.mode == "min" else -np.inf)


def _out(values):
    """A scalar for a single model, the array for stacked ones."""
    values = np.asarray(values)
    return values.item() if values.size == 1 else values.copy()
