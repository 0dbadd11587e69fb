"""Callbacks that end training, or a stacked copy: on a plateau, on NaN, on growth."""

import warnings

import numpy as np

from tinynet import _checks, backend
from tinynet.callbacks.base import Callback, _Monitor, _out
from tinynet.history import grew_past


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras 3).

    An epoch improves when it beats the best value by more than min_delta
    (absolute). The epoch counter ``wait`` grows by one every epoch and resets
    on improvement; training stops after an epoch that did not improve when
    wait >= patience (never after epoch 0), as keras.callbacks.EarlyStopping:
    patience=0, the default, stops at the first epoch that does not improve.
    restore_best_weights=True puts back the best epoch's weights at the end of
    training whether or not it stopped early (Keras 3). Records per epoch:
    best, wait, improved, stop.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0,
                 restore_best_weights=False, mode="auto", verbose=0):
        super().__init__(monitor, min_delta, mode, "EarlyStopping")
        self.patience = _checks.nonneg_int(patience, "patience", "EarlyStopping")
        self.restore_best_weights = _checks.boolean(restore_best_weights,
                                                    "restore_best_weights", "EarlyStopping")
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
        # an improving epoch never stops (Keras returns before its patience test)
        newly_done = (self.wait >= self.patience) & ~improved & ~self.done & (epoch > 0)
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
            for w, b in zip(now, self.best_weights, strict=True)
        ]

    def on_train_end(self):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop as soon as a batch loss is NaN or infinite (checked every batch).

    fit already ends a non-finite copy at the end of its epoch; this callback
    checks every batch, as Keras's does, at the cost of a host read per batch.
    Stacked copies with a non-finite loss are frozen; training stops when all are.
    The DivergenceWarning is fit's, given at the end of that epoch as without
    this callback: once per copy (a single model: once).
    """

    wants_batches = True

    def on_train_batch_end(self, batch, logs):
        loss = np.atleast_1d(backend.to_numpy(logs["loss"]))
        bad = ~np.isfinite(loss)
        history = self.model.history
        epoch = len(history.epoch)  # the epoch in progress (not yet appended)
        if self.model.stacked:
            if self.model.frozen is not None:
                bad &= ~self.model.frozen
            if not np.any(bad):
                return
            self.model.freeze(bad)
            history.diverged = history.diverged | bad
            history.diverged_epoch = np.where(bad, epoch + 1, history.diverged_epoch)
            if np.all(self.model.frozen):
                self.model.stop_training = True
        else:
            if not np.any(bad):
                return
            history.diverged, history.diverged_epoch = True, epoch + 1
            self.model.stop_training = True
        self.record(batch=batch, frozen=_out(bad))


class StopOnDivergence(Callback):
    """Stop a copy whose ``monitor`` grows past ``factor`` x its best (opt-in).

    fit only records such growth (history.grew) and trains on, as Keras and
    PyTorch do; this callback restores the old "stop on divergence" rule. At
    the end of every epoch a copy is done when its value is NaN/inf, or above
    both factor x its best value so far and its starting value: for
    monitor="loss" the loss at initialisation (history.initial_loss), which
    also counts as a best; for any other name its value in the first epoch.
    A done copy is frozen (stacked) or training stops (a single model); when
    every copy is done training stops. factor: > 1 (default 4.0). The rule is
    tinynet.history.grew_past. Records per epoch: best, stop (bool); and
    ``stopped_epoch``: (K,) ints, -1 for copies still training (an int or
    None for a single model), 0-based as history.epoch.
    """

    def __init__(self, factor=4.0, monitor="loss"):
        self.factor = _checks.real(factor, "factor", "StopOnDivergence", low=1.0, low_open=True)
        if not isinstance(monitor, str) or not monitor:
            raise ValueError("StopOnDivergence: monitor must be a logged name such as 'loss', "
                             f"got {monitor!r}.")
        self.monitor = monitor

    def on_train_begin(self):
        k = self.model.n_models
        start = self.model.history.initial_loss if self.monitor == "loss" else None
        self.first = (np.full(k, np.nan) if start is None
                      else np.broadcast_to(np.asarray(start, dtype=np.float64), (k,)).copy())
        self.first = np.where(np.isnan(self.first), np.nan, np.where(
            np.isfinite(self.first), self.first, np.inf))
        self.best = np.where(np.isnan(self.first), np.inf, self.first)
        self.done = np.zeros(k, dtype=bool)
        self.stopped_epoch = np.full(k, -1) if self.model.stacked else None

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            warnings.warn(f"StopOnDivergence: '{self.monitor}' is not logged (available: "
                          f"{', '.join(logs)}); the callback does nothing this epoch.",
                          UserWarning, stacklevel=3)
            return
        k = self.model.n_models
        current = np.broadcast_to(np.asarray(logs[self.monitor], dtype=np.float64), (k,))
        self.first = np.where(np.isnan(self.first), np.where(np.isfinite(current), current,
                                                             np.inf), self.first)
        frozen = self.model.frozen
        active = ~self.done & (np.ones(k, dtype=bool) if frozen is None
                               else ~np.asarray(frozen, dtype=bool))
        newly = active & (~np.isfinite(current)
                          | grew_past(current, self.best, self.first, self.factor))
        finite = np.isfinite(current)
        self.best = np.where(finite, np.minimum(self.best, current), self.best)
        self.done |= newly
        self.record(best=_out(self.best), stop=_out(newly))
        if not np.any(newly):
            return
        if self.model.stacked:
            self.stopped_epoch = np.where(newly, epoch, self.stopped_epoch)
            self.model.freeze(newly)
            if np.all(self.model.frozen):
                self.model.stop_training = True
                self.model.history.stopped_epoch = epoch
        else:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            self.model.history.stopped_epoch = epoch
