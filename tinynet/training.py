"""The training loop behind ``Sequential.fit``.

Bookkeeping only: the maths lives in the layers, the loss and the optimiser.
Per-batch losses stay on the device and are read once per epoch, so a GPU run
has no per-batch host synchronisation.
"""

import math
import sys
import warnings

import numpy as np

from tinynet import _checks, backend, losses

DIVERGENCE_FACTOR = 4.0  # default: "diverged" = 4x past the best loss and above the start


class DivergenceWarning(RuntimeWarning):
    """Training stopped (or a stacked copy was frozen) because its loss diverged."""


def fit(model, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
        shuffle=True, callbacks=(), verbose=1, validation_split_mode="tail",
        divergence_factor=DIVERGENCE_FACTOR):
    """Train ``model`` on (x, y) and return a History.

    epochs, batch_size: positive ints. validation_split: fraction in [0, 1) held
    out from the end of the data before any shuffling (Keras); with
    validation_split_mode="random" the held-out rows are drawn at random from
    the model's seed instead. validation_data=(x_val, y_val) overrides it.
    shuffle: reshuffle the training rows every epoch (from the model's seed).
    verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
    divergence_factor: a copy has diverged when its epoch loss is NaN/inf, or
    exceeds both divergence_factor x its best loss so far and its loss at
    initialisation (measured on the whole training set before the first
    update; it counts as a "best" too, so a blow-up within the first epoch is
    caught). It is then frozen (a single model stops) with a
    DivergenceWarning; nothing is raised.
    """
    from tinynet.history import History

    model._require_compiled("fit")
    epochs = _checks.positive_int(epochs, "epochs", "fit")
    batch_size = _checks.positive_int(batch_size, "batch_size", "fit")
    split = _checks.real(validation_split, "validation_split", "fit", low=0.0, high=1.0,
                         high_open=True)
    _checks.choice(validation_split_mode, "validation_split_mode", "fit", ("tail", "random"))
    factor = _checks.real(divergence_factor, "divergence_factor", "fit", low=1.0, low_open=True)
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}.")
    callbacks = _check_callbacks(callbacks)

    x, y = model._check_xy(x, y, "fit")
    x, y, x_val, y_val = _split(model, x, y, split, validation_split_mode, validation_data)
    x_dev, y_dev = backend.to_device(x), backend.to_device(y)
    val = None if x_val is None else (backend.to_device(x_val), backend.to_device(y_val))

    xp = backend.namespace(x_dev)
    n = x.shape[0]
    history = History(model.n_models)
    model.history = history
    model.stop_training = False
    model.frozen = None
    model.optimizer.frozen = None
    initial = model.evaluate_device(x_dev, y_dev, batch_size=batch_size)["loss"]
    tracker = _DivergenceTracker(model, history, factor, backend.to_float(initial))
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        order = model._shuffle_rng.permutation(n) if shuffle else None
        xs, ys = (x_dev, y_dev) if order is None else _take(xp, x_dev, y_dev, order)
        logs, step_lrs, step_losses = _run_epoch(model, xs, ys, n, batch_size, callbacks,
                                                 verbose, epoch, epochs)
        if val is not None:
            for key, value in model.evaluate_device(*val, batch_size=None).items():
                logs["val_" + key] = backend.to_float(value)
        logs["lr"] = step_lrs[-1]
        history.add_steps(step_lrs, step_losses)
        history.append_epoch(epoch, logs)
        if verbose == 2 or (verbose == 1 and not _has_tqdm()):
            print(f"Epoch {epoch + 1}/{epochs} - " + _format_logs(logs), file=sys.stdout)
        tracker.check(epoch, logs["loss"], logs["lr"])
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end()
    history.finish()
    return history


def _check_callbacks(callbacks):
    from tinynet.callbacks import Callback

    callbacks = list(callbacks) if callbacks is not None else []
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(
                f"fit: callbacks must be tinynet.callbacks.Callback objects, got {cb!r}.")
    return callbacks


def _split(model, x, y, split, mode, validation_data):
    """(x_train, y_train, x_val, y_val) as host arrays; the val pair may be None."""
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a pair (x_val, y_val).")
        x_val, y_val = model._check_xy(*validation_data, "fit (validation_data)")
        return x, y, x_val, y_val
    if split == 0.0:
        return x, y, None, None
    n = x.shape[0]
    n_train = int(math.ceil(n * (1.0 - split)))  # Keras's split point
    if n_train <= 0 or n_train >= n:
        raise ValueError(
            f"fit: validation_split={split} leaves {n_train} training and {n - n_train} "
            f"validation rows out of {n}; both must be at least 1."
        )
    if mode == "random":
        order = model._shuffle_rng.permutation(n)
        x, y = x[order], y[order]
    elif _is_classification(model) and _single_class(y[n_train:]):
        warnings.warn(
            f"fit: the validation split (the last {n - n_train} rows, as Keras takes it) holds a "
            "single class; the data are probably sorted by label. Shuffle them first or pass "
            "validation_split_mode='random'.", UserWarning, stacklevel=3)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _is_classification(model):
    return isinstance(model.loss, (losses.CategoricalCrossentropy, losses.BinaryCrossentropy))


def _single_class(y):
    labels = np.argmax(y, axis=1) if y.shape[1] > 1 else (y[:, 0] > 0.5)
    return np.unique(labels).size == 1


def _take(xp, x, y, order):
    idx = xp.asarray(order)
    return xp.take(x, idx, axis=0), xp.take(y, idx, axis=0)


def _run_epoch(model, xs, ys, n, batch_size, callbacks, verbose, epoch, epochs):
    """Every update of one epoch; returns (logs, per-step rates, per-step losses).

    The per-batch loss and metrics stay on the device and are read once, at the
    end: logs[key] = sum_b n_b * value_b / sum_b n_b over the batches b, in float64.
    """
    xp = backend.namespace(xs)
    starts = range(0, n, batch_size)
    bar = _progress(len(starts), epoch, epochs, verbose)
    columns = [[] for _ in range(1 + len(model.metric_names))]  # loss, then each metric
    sizes, lrs = [], []
    batch_hooks = [cb for cb in callbacks if cb.wants_batches]
    for i, start in enumerate(starts):
        stop = min(start + batch_size, n)
        loss, values, lr = model.train_step(xs[start:stop, ...], ys[start:stop, ...])
        for column, value in zip(columns, (loss, *values)):
            column.append(value)
        sizes.append(stop - start)
        lrs.append(lr)
        for cb in batch_hooks:
            cb.on_train_batch_end(i, {"loss": loss, "lr": lr})
        if bar is not None:
            bar.update(1)
        if model.stop_training:  # a batch callback (TerminateOnNaN) asked to stop now
            break
    weights = np.asarray(sizes, dtype=np.float64) / sum(sizes)
    host = [np.asarray(backend.to_numpy(xp.stack(c)), dtype=np.float64) for c in columns]
    keys = ["loss"] + model.metric_names
    # an elementwise sum over batches, so copy k's figure does not depend on K
    logs = {k: _scalar_or_array(np.sum(weights.reshape((-1,) + (1,) * (h.ndim - 1)) * h,
                                       axis=0))
            for k, h in zip(keys, host)}
    step_losses = list(host[0])
    if bar is not None:
        bar.set_postfix_str(_format_logs(logs))
        bar.close()
    return logs, lrs, step_losses


def _scalar_or_array(value):
    """A Python float for one model, a float64 array (K,) for stacked ones."""
    return float(value) if np.ndim(value) == 0 else np.array(value, dtype=np.float64)


def _has_tqdm():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _progress(total, epoch, epochs, verbose):
    if verbose != 1 or not _has_tqdm():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch", leave=True)


def _format_logs(logs):
    parts = []
    for key, value in logs.items():
        if isinstance(value, float):
            parts.append(f"{key}: {value:.4g}")
        else:
            parts.append(f"{key}: median {np.nanmedian(value):.4g}")
    return " - ".join(parts)


class _DivergenceTracker:
    """Flags copies whose epoch loss is non-finite, or far above both their best
    loss and their loss at initialisation."""

    def __init__(self, model, history, factor, initial):
        self.model, self.history, self.factor = model, history, factor
        initial = np.atleast_1d(np.asarray(initial, dtype=np.float64))
        self.first = np.where(np.isfinite(initial), initial, np.inf)
        self.best = self.first.copy()

    def check(self, epoch, loss, lr):
        loss = np.atleast_1d(np.asarray(loss, dtype=np.float64))
        finite = np.isfinite(loss)
        grown = finite & (loss > self.factor * self.best) & (loss > self.first)
        self.best = np.where(finite, np.minimum(self.best, loss), self.best)
        bad = ~finite | grown
        if self.model.frozen is not None:
            bad &= ~self.model.frozen
        if not np.any(bad):
            return
        self._report(epoch, loss, lr, bad)

    def _report(self, epoch, loss, lr, bad):
        model, history = self.model, self.history
        lrs = np.broadcast_to(np.asarray(lr, dtype=np.float64), bad.shape)
        if model.stacked:
            history.diverged = history.diverged | bad
            history.diverged_epoch = np.where(bad, epoch, history.diverged_epoch)
            model.freeze(bad)
            which = np.flatnonzero(bad)
            rates = ", ".join(f"{lrs[k]:.4g}" for k in which[:8])
            msg = (f"Copies {which[:8].tolist()}{'...' if which.size > 8 else ''} of the stacked "
                   f"model diverged in epoch {epoch} (loss {_loss_text(loss[which[0]])}) at "
                   f"learning rate(s) {rates}; they are frozen while the others train on. "
                   "The learning rate is the likely cause: try a smaller one.")
            if np.all(model.frozen):
                model.stop_training = True
        else:
            history.diverged, history.diverged_epoch = True, epoch
            model.stop_training = True
            msg = (f"Training diverged in epoch {epoch}: the loss is {_loss_text(loss[0])} "
                   f"(best so far {self.best[0]:.4g}) at learning rate {lrs[0]:.4g}. "
                   "The learning rate is the likely cause: try a smaller one. Training stopped.")
        warnings.warn(msg, DivergenceWarning, stacklevel=4)


def _loss_text(value):
    return f"{value}" if not np.isfinite(value) else f"{value:.4g}"
