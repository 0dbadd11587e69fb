"""Callbacks: code that runs between epochs and decides something.

Every deciding callback records, every epoch, what it saw and what it decided in
``model.history.records[<its name>]``, so a student can plot its counters.
With K stacked models each copy is judged on its own: a copy that is done is
frozen (``model.freeze``) and training stops when every copy is done.
"""

import warnings

import numpy as np

from tinynet import _checks, backend


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


def infer_mode(monitor):
    """"max" for accuracy/AUC-like metrics, "min" for losses and errors (Keras's rule)."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if ("acc" in name or name.startswith("auc")) else "min"


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


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras 3).

    An epoch improves when it beats the best value by more than min_delta
    (absolute). The epoch counter ``wait`` grows by one every epoch and resets
    on improvement; training stops when wait >= patience (never after epoch 0).
    restore_best_weights=True puts back the best epoch's weights at the end of
    training whether or not it stopped early (Keras 3). Records per epoch:
    best, wait, improved, stop.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0,
                 restore_best_weights=False, mode="auto", verbose=0):
        super().__init__(monitor, min_delta, mode, "EarlyStopping")
        self.patience = _checks.nonneg_int(patience, "patience", "EarlyStopping")
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose

    def on_train_begin(self):
        k = self.model.n_models
        self.wait = np.zeros(k, dtype=int)
        self.best = self._start(k)
        self.best_epoch = np.full(k, -1)
        self.done = np.zeros(k, dtype=bool)
        self.best_weights = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs):
        current = self._current(logs)
        if current is None:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        improved = self._improved(current, self.best) & ~self.done
        self.wait = np.where(self.done, self.wait, self.wait + 1)
        self.best = np.where(improved, current, self.best)
        self.best_epoch = np.where(improved, epoch, self.best_epoch)
        self.wait[improved] = 0
        if self.restore_best_weights and np.any(improved):
            self._keep_best(improved)
        newly_done = (self.wait >= self.patience) & ~self.done & (epoch > 0)
        self.done |= newly_done
        self.record(best=_out(self.best), wait=_out(self.wait), improved=_out(improved),
                    stop=_out(self.done))
        if not np.any(newly_done):
            return
        if self.model.stacked:
            self.model.freeze(newly_done)
        if np.all(self.done):
            self.model.stop_training = True
            self.stopped_epoch = epoch
            self.model.history.stopped_epoch = epoch
            if self.verbose:
                print(f"EarlyStopping: stopped after epoch {epoch}; best {self.monitor} "
                      f"{_out(self.best)} at epoch {_out(self.best_epoch)}.")

    def _keep_best(self, improved):
        now = self.model.get_weights()
        if not self.model.stacked:
            self.best_weights = now
            return
        self.best_weights = [
            np.where(improved.reshape((-1,) + (1,) * (w.ndim - 1)), w, b)
            for w, b in zip(now, self.best_weights)
        ]

    def on_train_end(self):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop as soon as a batch loss is NaN or infinite (checked every batch).

    fit already stops on divergence at the end of each epoch; this callback
    checks every batch, as Keras's does, at the cost of a host read per batch.
    Stacked copies with a non-finite loss are frozen; training stops when all are.
    """

    wants_batches = True

    def on_train_batch_end(self, batch, logs):
        loss = np.atleast_1d(backend.to_numpy(logs["loss"]))
        bad = ~np.isfinite(loss)
        if not np.any(bad):
            return
        if self.model.stacked:
            self.model.freeze(bad)
            self.model.history.diverged = self.model.history.diverged | bad
            if np.all(self.model.frozen):
                self.model.stop_training = True
        else:
            self.model.history.diverged = True
            self.model.stop_training = True
        self.record(batch=batch, frozen=_out(bad))


def _out(values):
    """A scalar for a single model, the array for stacked ones."""
    values = np.asarray(values)
    return values.item() if values.size == 1 else values.copy()
