"""Callbacks: code that runs between epochs and decides something.

Every deciding callback records, every epoch, what it saw and what it decided in
``model.history.records[<its name>]``, so a student can plot its counters.
With K stacked models each copy is judged on its own: a copy that is done is
frozen (``model.freeze``) and training stops when every copy is done.
"""

import csv
import inspect
import io
import os
import warnings

import numpy as np

from tinynet import _checks, _files, backend
from tinynet.history import grew_past
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
            history.diverged_epoch = np.where(bad, epoch, history.diverged_epoch)
            if np.all(self.model.frozen):
                self.model.stop_training = True
        else:
            if not np.any(bad):
                return
            history.diverged, history.diverged_epoch = True, epoch
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


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch from ``schedule(epoch, lr)`` (Keras).

    schedule: a function (epoch, lr) -> new rate, or (epoch) -> new rate. Keras 3
      calls schedule(epoch, lr) and retries schedule(epoch) on a TypeError; here
      the signature decides once, so a TypeError raised inside the function is
      not mistaken for a one-argument schedule: a function that can take two
      positional arguments gets (epoch, lr), one that takes one gets (epoch).
      epoch counts from 0; lr is the
      rate the next update would use (``optimizer.current_learning_rate``: a
      float, or a float64 array (K,) for stacked models with one rate per copy or
      after a per-copy ReduceLROnPlateau cut). It returns a float, or K of them.
    verbose: 1 prints the rate it sets each epoch.

    The returned value becomes the rate, as in Keras, where both callbacks write
    the same variable: ``optimizer.learning_rate`` is set to it and
    ``optimizer.lr_scale`` back to 1. So a function that builds on ``lr``
    (``lambda epoch, lr: lr * 0.9``) keeps an earlier ReduceLROnPlateau cut, and
    one that ignores it (``lambda epoch, lr: 0.1 * 0.9 ** epoch``) overrides it.
    A per-update schedule object as the optimiser's rate already decides every
    rate, so combining the two raises a ValueError (use one or the other).
    A value that is not finite or is negative raises a ValueError naming the
    epoch. Records per epoch: lr (what it set).
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError("LearningRateScheduler: schedule must be a function (epoch, lr) -> "
                            f"lr, got {schedule!r}.")
        self.schedule = schedule
        self.takes_lr = _takes_two_arguments(schedule)
        self.verbose = verbose

    def on_train_begin(self):
        rate = self.model.optimizer.learning_rate
        rates = rate if isinstance(rate, list) else [rate]
        if any(callable(r) for r in rates):
            raise ValueError(
                f"LearningRateScheduler: the optimizer's learning_rate is a schedule ({rate!r}), "
                "which already sets the rate of every update. Give the optimizer a float "
                "learning_rate, or drop the LearningRateScheduler.")

    def on_epoch_begin(self, epoch):
        optimizer = self.model.optimizer
        lr = optimizer.current_learning_rate
        if self.takes_lr:
            value = self.schedule(epoch, lr.copy() if isinstance(lr, np.ndarray) else lr)
        else:
            value = self.schedule(epoch)
        new = self._check(epoch, value)
        optimizer.learning_rate = new if isinstance(new, float) else list(new)
        optimizer.lr_scale = 1.0
        self.record(lr=_out(new))
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{_out(new)}.")

    def _check(self, epoch, value):
        """The returned rate as a float, or a float64 array (K,) for K stacked copies."""
        k = self.model.n_models
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or not (arr.ndim == 0 or (k > 1 and arr.shape == (k,))):
            want = "a float" if k == 1 else f"a float or {k} of them (one per stacked copy)"
            raise ValueError(f"LearningRateScheduler: schedule(epoch={epoch}, lr) must return "
                             f"{want}, got {value!r}.")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"LearningRateScheduler: schedule(epoch={epoch}, lr) returned "
                             f"{value!r}; a learning rate must be finite and >= 0.")
        return float(arr) if arr.ndim == 0 else arr


class ReduceLROnPlateau(_Monitor):
    """Cut the learning rate by ``factor`` when ``monitor`` stops improving (Keras 3 rule).

    monitor="val_loss": the logged quantity to watch. factor=0.1: new_lr =
    max(lr * factor, min_lr); it must be in [0, 1). patience=10: bad epochs
    before a cut. min_delta=1e-4: an absolute threshold; an epoch improves when
    current < best - min_delta (mode "min") or current > best + min_delta
    ("max"). cooldown=0: epochs after a cut in which bad epochs are not counted.
    min_lr=0.0: the floor of the rate. mode="auto": "max" for accuracy-like
    names, "min" otherwise (see infer_mode). verbose=1 prints every cut.

    Every epoch, as keras.callbacks.ReduceLROnPlateau.on_epoch_end:
        if cooldown_counter > 0: cooldown_counter -= 1; wait = 0
        if improved: best = current; wait = 0
        elif cooldown_counter == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr); cooldown_counter = cooldown; wait = 0
    So Keras cuts on the patience-th bad epoch in a row; PyTorch's
    torch.optim.lr_scheduler.ReduceLROnPlateau counts ``num_bad_epochs >
    patience`` and cuts one epoch later, on the (patience + 1)-th. (Keras
    compares lr > min_lr in float32, and so does this.)

    The cut acts through ``optimizer.lr_scale``, which multiplies whatever the
    learning rate gives, so it composes with a schedule object (Keras raises
    there): lr above is the rate the next update would use, the scale is
    multiplied by new_lr / lr, and afterwards the rate is schedule(step) x
    scale. min_lr clamps the rate at the cut; a schedule that keeps decaying
    may take it lower later, and then no further cut is made.

    Stacked models: each copy keeps its own best, wait and cooldown and is cut
    on its own plateau (lr_scale becomes a float64 array (K,)); frozen copies
    hold their counters. Records per epoch: best, wait, cooldown (the cooldown
    counter), cut (bool), lr (the rate after the decision).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                 min_lr=0.0, mode="auto", verbose=0):
        owner = "ReduceLROnPlateau"
        super().__init__(monitor, min_delta, mode, owner)
        factor = _checks.real(factor, "factor", owner)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0, as Keras. "
                             f"Received: factor={factor!r}.")
        if factor < 0.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor!r}.")
        self.factor = factor
        self.patience = _checks.nonneg_int(patience, "patience", owner)
        self.cooldown = _checks.nonneg_int(cooldown, "cooldown", owner)
        self.min_lr = _checks.real(min_lr, "min_lr", owner, low=0.0)
        self.verbose = verbose

    def on_train_begin(self):
        k = self.model.n_models
        self.best = self._start(k)
        self.wait = np.zeros(k, dtype=int)
        self.cooldown_counter = np.zeros(k, dtype=int)

    def _improved(self, current, best):
        """Keras's ReduceLROnPlateau form: current < best - min_delta (min mode)."""
        if self.mode == "min":
            return np.less(current, best - self.min_delta)
        return np.greater(current, best + self.min_delta)

    def on_epoch_end(self, epoch, logs):
        current = self._current(logs)
        if current is None:
            return
        k = self.model.n_models
        current = np.broadcast_to(current, (k,))
        frozen = self.model.frozen
        active = np.ones(k, dtype=bool) if frozen is None else ~np.asarray(frozen, dtype=bool)

        cooling = active & (self.cooldown_counter > 0)
        self.cooldown_counter = np.where(cooling, self.cooldown_counter - 1,
                                         self.cooldown_counter)
        self.wait = np.where(cooling, 0, self.wait)
        improved = active & self._improved(current, self.best)
        self.best = np.where(improved, current, self.best)
        self.wait = np.where(improved, 0, self.wait)
        bad = active & ~improved & (self.cooldown_counter == 0)
        self.wait = np.where(bad, self.wait + 1, self.wait)

        optimizer = self.model.optimizer
        old = np.broadcast_to(np.asarray(optimizer.current_learning_rate, dtype=np.float64),
                              (k,))
        cut = bad & (self.wait >= self.patience) & (
            old.astype(np.float32) > np.float32(self.min_lr))
        if np.any(cut):
            new = np.maximum(old * self.factor, self.min_lr)
            ratio = np.where(cut, new / np.where(cut, old, 1.0), 1.0)
            if self.model.stacked:
                optimizer.lr_scale = np.broadcast_to(
                    np.asarray(optimizer.lr_scale, dtype=np.float64), (k,)) * ratio
            else:
                optimizer.lr_scale = float(optimizer.lr_scale * ratio[0])
            self.cooldown_counter = np.where(cut, self.cooldown, self.cooldown_counter)
            self.wait = np.where(cut, 0, self.wait)
        after = np.broadcast_to(np.asarray(optimizer.current_learning_rate, dtype=np.float64),
                                (k,))
        self.record(best=_out(self.best), wait=_out(self.wait),
                    cooldown=_out(self.cooldown_counter), cut=_out(cut), lr=_out(after))
        if self.verbose and np.any(cut):
            which = "" if k == 1 else f" for copies {np.flatnonzero(cut).tolist()}"
            print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate{which} to "
                  f"{_out(after[cut])}.")


def _out(values):
    """A scalar for a single model, the array for stacked ones."""
    values = np.asarray(values)
    return values.item() if values.size == 1 else values.copy()


def _takes_two_arguments(schedule):
    """True if schedule can be called as schedule(epoch, lr), False for schedule(epoch).

    Decided from the signature, once; a callable without one (some builtins)
    gets Keras's first form, (epoch, lr). TypeError if it can take neither.
    """
    try:
        sig = inspect.signature(schedule)
    except (TypeError, ValueError):
        return True
    kinds = inspect.Parameter
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (kinds.POSITIONAL_ONLY,
                                                  kinds.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    needs_keyword = [p.name for p in params
                     if p.kind == kinds.KEYWORD_ONLY and p.default is p.empty]
    varargs = any(p.kind == kinds.VAR_POSITIONAL for p in params)
    if needs_keyword or len(required) > 2 or (not positional and not varargs):
        raise TypeError(
            f"LearningRateScheduler: schedule must take (epoch) or (epoch, lr), got {schedule!r} "
            f"with signature {sig}.")
    return varargs or len(positional) >= 2


class ModelCheckpoint(_Monitor):
    """Save the model after every epoch, or only when ``monitor`` improves (Keras).

    filepath: where ``model.save`` writes (tinynet's .npz, atomically; a missing
      folder is created, as Keras does). It may hold Keras's fields, filled with
      epoch + 1 and the epoch's logs: "ckpt-{epoch:02d}-{val_loss:.2f}.npz".
      A suffix of another library's format (.h5, .keras, ...) is refused.
    monitor="val_loss", mode="auto" ("max" for accuracy-like names, else "min"),
    save_best_only=False: save only when the monitored value beats the best so
      far (strictly, as Keras, no min_delta); a missing monitor warns and skips.
    initial_value_threshold=None: the best value to beat at the start (Keras).
    save_weights_only=False: True is refused (tinynet writes whole models, with
      the weights; ``tn.load_model(path).get_weights()`` reads them back).
    save_freq="epoch": the only choice. verbose=1 prints each decision.

    Stacked models: every epoch saves all K copies in one file; save_best_only
    is refused, since each copy has its own best epoch (EarlyStopping with
    restore_best_weights=True keeps each copy's best weights; save after fit).
    Records per epoch: saved (the path written, or None), and best with
    save_best_only.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        owner = "ModelCheckpoint"
        super().__init__(monitor, 0.0, mode, owner)
        try:
            self.filepath = os.fspath(filepath)
        except TypeError:
            raise TypeError(f"{owner}: filepath must be a path such as 'best.npz', got "
                            f"{filepath!r}.") from None
        _files.refuse_foreign_suffix(self.filepath, owner)
        if save_weights_only:
            raise ValueError(f"{owner}: save_weights_only=True is not supported: tinynet "
                             "saves whole models (.npz, weights included), read back with "
                             "tn.load_model(path); get_weights() gives the arrays. Leave "
                             "save_weights_only=False.")
        if save_freq != "epoch":
            raise ValueError(f"{owner}: save_freq must be 'epoch' (saving every N batches is "
                             f"not supported), got {save_freq!r}.")
        self.save_best_only = bool(save_best_only)
        self.initial_value_threshold = (
            None if initial_value_threshold is None
            else _checks.real(initial_value_threshold, "initial_value_threshold", owner))
        self.verbose = verbose

    def on_train_begin(self):
        if self.save_best_only and self.model.stacked:
            raise ValueError(
                f"ModelCheckpoint: save_best_only needs a single model; this one stacks "
                f"{self.model.n_models} copies, each with its own best epoch. Use "
                "save_best_only=False (every epoch, all copies in one file), or "
                "EarlyStopping(restore_best_weights=True) and model.save after fit.")
        start = self._start(1)[0]
        self.best = start if self.initial_value_threshold is None else \
            self.initial_value_threshold

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
            hint = (" Stacked models log one value per copy: use {epoch} alone."
                    if self.model.stacked else "")
            raise ValueError(
                f"ModelCheckpoint: cannot fill in filepath {self.filepath!r} from epoch and "
                f"the logs ({', '.join(logs)}): {type(exc).__name__}: {exc}.{hint}") from None

    def _save(self, path):
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.model.save(path)

    def on_epoch_end(self, epoch, logs):
        path = self._path(epoch, logs)
        if not self.save_best_only:
            self._save(path)
            self.record(saved=path)
            if self.verbose:
                print(f"Epoch {epoch + 1}: saving model to {path}")
            return
        current = self._current(logs)
        if current is None:
            self.record(saved=None, best=self.best)
            return
        current = float(current[0])
        if self._improved(current, self.best):
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            self._save(path)
            self.record(saved=path, best=self.best)
        else:
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                      f"{self.best:.5f}")
            self.record(saved=None, best=self.best)


class CSVLogger(Callback):
    """Write the logs of every epoch as a row of a CSV file (Keras).

    filename: the file; rewritten atomically after every epoch, so it never
    holds half a row. separator=",": the field delimiter. append=False: start
    a new file (at train begin, as Keras truncates); True keeps what is there
    and adds rows, with the header only if the file was empty.
    Columns: epoch (from 0, as Keras), then the logged names sorted (Keras's
    order). Stacked models: one row per copy, with a "copy" column after
    epoch (K rows per epoch: a long table, one line per network).
    """

    def __init__(self, filename, separator=",", append=False):
        try:
            self.filename = os.fspath(filename)
        except TypeError:
            raise TypeError(f"CSVLogger: filename must be a path such as 'log.csv', got "
                            f"{filename!r}.") from None
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}.")
        self.separator = separator
        self.append = bool(append)

    def on_train_begin(self):
        before = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8", newline="") as f:
                before = f.read()
            if before and not before.endswith("\n"):
                before += "\n"
        self._text = before
        self._header = not before
        self.keys = None
        _files.write_text(self.filename, self._text)  # a bad path fails now, not after epoch 1

    def on_epoch_end(self, epoch, logs):
        if self.keys is None:
            self.keys = sorted(logs)
        stacked = self.model.stacked
        k = self.model.n_models
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.separator, lineterminator="\n")
        if self._header:
            writer.writerow(["epoch"] + (["copy"] if stacked else []) + self.keys)
            self._header = False
        columns = [_csv_column(logs.get(key), k) for key in self.keys]
        for copy in range(k):
            writer.writerow([epoch] + ([copy] if stacked else [])
                            + [column[copy] for column in columns])
        self._text += buffer.getvalue()
        _files.write_text(self.filename, self._text)


def _csv_column(value, k):
    """K cells for one logged value: a float per copy, or "NA" when it is missing."""
    if value is None:
        return ["NA"] * k
    values = np.broadcast_to(np.asarray(value, dtype=np.float64), (k,))
    return [repr(float(v)) for v in values]
