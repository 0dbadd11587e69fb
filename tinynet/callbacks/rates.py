"""Callbacks that set the learning rate: by epoch (a schedule) or on a plateau."""

import inspect

import numpy as np

from tinynet import _checks
from tinynet.callbacks.base import Callback, _Monitor, _out


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
            arr = np.asarray(value)
            # numbers only: "0.5" or True would otherwise be cast to a rate
            arr = arr.astype(np.float64) if arr.dtype.kind in "iuf" else None
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
