"""The callback contract, and the monitor shared by the callbacks that decide."""

import functools
import inspect
import warnings

import numpy as np

from tinynet import _checks
from tinynet.metrics import infer_mode


class Callback:
    """Base class: every hook is a no-op. ``self.model`` is set before training.

    wants_batches: fit calls on_train_batch_end only for callbacks that set it
    (a batch hook reads the loss on the host, a sync per batch). A subclass
    that overrides on_train_batch_end, or Keras's older on_batch_end (which
    on_train_batch_end calls, as in Keras), gets wants_batches = True unless it
    sets wants_batches itself: an override is a request to be called.
    Keras's hook signatures work too: on_train_begin(self, logs),
    on_epoch_begin(self, epoch, logs) and on_train_end(self, logs) get logs={}
    when fit has none to give (Keras passes a dict there).
    """

    wants_batches = False  # True to receive on_train_batch_end (costs a host sync)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        overrides = {"on_train_batch_end", "on_batch_end"} & set(vars(cls))
        if overrides and "wants_batches" not in vars(cls):
            cls.wants_batches = True
        for name, before in _KERAS_LOGS.items():
            if name in vars(cls):
                setattr(cls, name, _logs_optional(vars(cls)[name], before))

    def set_model(self, model):
        self.model = model

    def on_train_begin(self):
        pass

    def on_epoch_begin(self, epoch):
        pass

    def on_train_batch_end(self, batch, logs):
        self.on_batch_end(batch, logs)

    def on_batch_end(self, batch, logs):
        """Keras's older name for on_train_batch_end (which calls it)."""

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self):
        pass

    @property
    def name(self):
        return type(self).__name__

    def record(self, **values):
        self.model.history.record(self.name, **values)


# hooks that fit calls without logs, and how many arguments come before Keras's logs
_KERAS_LOGS = {"on_train_begin": 0, "on_epoch_begin": 1, "on_train_end": 0}


def _logs_optional(hook, before):
    """``hook`` itself, or, if it requires a logs argument after ``before`` others
    (Keras's signature), a wrapper that passes logs={} when fit gives none."""
    try:
        params = list(inspect.signature(hook).parameters.values())[1:]  # after self
    except (TypeError, ValueError):
        return hook
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) != before + 1 or getattr(hook, "_keras_logs", False):
        return hook

    @functools.wraps(hook)
    def with_logs(self, *args):
        return hook(self, *args, {}) if len(args) == before else hook(self, *args)

    with_logs._keras_logs = True
    return with_logs


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
