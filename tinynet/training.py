"""The training loop behind ``Sequential.fit``.

Bookkeeping only: the maths lives in the layers, the loss and the optimiser.
Per-batch losses stay on the device and are read once per epoch, so a GPU run
has no per-batch host synchronisation.
"""

import math
import sys
import warnings

import numpy as np

from tinynet import _checks, backend, losses, threads
from tinynet.history import grew_past

EPOCH_BYTES = 4 * 2**20  # an epoch's rows and outputs up to this: gathered at once
GROWTH_FACTOR = 4.0  # default: "grew" = 4x past the best loss and above the start


class DivergenceWarning(RuntimeWarning):
    """A copy's loss became NaN/inf (it was stopped or frozen), or grew far past its best."""


def fit(model, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
        shuffle=True, callbacks=(), verbose=1, validation_split_mode="tail",
        growth_factor=GROWTH_FACTOR):
    """Train ``model`` on (x, y) and return a History.

    epochs, batch_size: positive ints. validation_split: fraction in [0, 1) held
    out from the end of the data before any shuffling (Keras), the first
    ceil(n * (1 - validation_split)) rows training (Keras 3 takes the floor); with
    validation_split_mode="random" the held-out rows are drawn at random from
    the model's seed instead (one split for every stacked copy: the one a
    single model seeded ``model.seed`` holds out; every copy's shuffle stream
    still draws it, so its later batch orders stay those of its own seed).
    validation_data=(x_val, y_val) overrides it.
    shuffle: True reshuffles the training rows every epoch, each stacked copy
    from its own seed (copy k sees the batches a single model seeded with its
    seed sees); "shared" gives every copy one order, the model seed's; False
    keeps the rows in order.
    verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.

    Training observes, it does not intervene: every copy trains for every
    epoch, except that a copy whose epoch loss is NaN or infinite ends there
    (a single model stops, a stacked copy is frozen while the others train on;
    all frozen: stop), recorded in history.diverged / diverged_epoch with a
    DivergenceWarning. growth_factor: a finite epoch loss above both
    growth_factor x the copy's best loss so far and its loss at initialisation
    (measured on the whole training set before the first update; it counts as
    a "best" too) is recorded in history.grew / grew_epoch with a
    DivergenceWarning, and training goes on. To stop on growth, pass
    ``tn.callbacks.StopOnDivergence``. Nothing is raised.
    """
    model.require_compiled("fit")
    settings = _check_settings(epochs, batch_size, validation_split, validation_split_mode,
                               growth_factor, shuffle, verbose, callbacks)
    data = _device_data(model, x, y, settings, validation_data)
    threads.follow_load()  # the thread count is chosen here, where training starts
    history, observer = _begin(model, data, settings)
    for epoch in range(settings.epochs):
        _train_epoch(model, data, settings, history, observer, epoch)
        if model.stop_training:
            break
    for cb in settings.callbacks:
        cb.on_train_end()
    history.finish()
    return history


class _Settings:
    """fit's arguments, checked: what every step of the loop reads."""

    def __init__(self, **values):
        self.__dict__.update(values)


def _check_settings(epochs, batch_size, split, split_mode, growth_factor, shuffle, verbose,
                    callbacks):
    """Every argument of fit checked, with a ValueError/TypeError naming it."""
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}.")
    return _Settings(
        epochs=_checks.positive_int(epochs, "epochs", "fit"),
        batch_size=_checks.positive_int(batch_size, "batch_size", "fit"),
        split=_checks.real(split, "validation_split", "fit", low=0.0, high=1.0,
                           high_open=True),
        split_mode=_checks.choice(split_mode, "validation_split_mode", "fit",
                                  ("tail", "random")),
        factor=_checks.real(growth_factor, "growth_factor", "fit", low=1.0, low_open=True),
        shuffle=_check_shuffle(shuffle), verbose=verbose,
        callbacks=_check_callbacks(callbacks))


def _device_data(model, x, y, settings, validation_data):
    """(x_dev, y_dev, (x_val, y_val) on the device or None, the labels of y_dev or None):
    checked, split, copied once."""
    x, y = model.check_data(x, y, "fit")  # x: a read-only view when the data are float64
    x, y, x_val, y_val = _split(model, x, y, settings.split, settings.split_mode,
                                validation_data)
    val = None if x_val is None else (backend.to_device(x_val), backend.to_device(y_val))
    # the one working-dtype copy: every batch is gathered from it (no shuffled copies)
    x, y = backend.to_device(x), backend.to_device(y)
    return x, y, val, _labels(model, y)


def _labels(model, y):
    """argmax_c y (n,), once per fit, where a metric reads only the labels (else None):
    fit gathers them with each small epoch's rows instead of taking argmax every epoch."""
    return backend.namespace(y).argmax(y, axis=-1) if model.reads_labels else None


def _begin(model, data, settings):
    """A fresh History and observer (with the loss at initialisation); callbacks told."""
    from tinynet.history import History

    x_dev, y_dev = data[:2]
    history = History(model.n_models)
    model.history = history
    model.stop_training = False
    model.frozen = None
    model.optimizer.frozen = None
    initial = model.evaluate_device(x_dev, y_dev, batch_size=settings.batch_size,
                                    metrics=False)["loss"]
    observer = _Observer(model, history, settings.factor, backend.to_numpy(initial))
    for cb in settings.callbacks:
        cb.set_model(model)
        cb.on_train_begin()
    return history, observer


def _train_epoch(model, data, settings, history, observer, epoch):
    """One epoch: shuffle, every update, validation, the logs recorded and observed."""
    x_dev, y_dev, val, labels = data
    for cb in settings.callbacks:
        cb.on_epoch_begin(epoch)
    n, shuffle = x_dev.shape[0], settings.shuffle
    order = model.batch_orders.draw(n, shared=shuffle == "shared") if shuffle else None
    # a run that overflows is a result: the observer reports it once, with the
    # epoch and the rate, instead of NumPy warning at every product on the way
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        logs, step_lrs, step_losses = _run_epoch(model, (x_dev, y_dev, labels), order, n,
                                                 settings.batch_size,
                                                 settings.callbacks, settings.verbose, epoch,
                                                 settings.epochs)
    if val is not None:
        for key, value in model.evaluate_device(*val, batch_size=None).items():
            logs["val_" + key] = backend.to_float(value)
    logs["lr"] = step_lrs[-1]
    history.add_steps(step_lrs, step_losses)
    history.append_epoch(epoch, logs)
    if settings.verbose == 2 or (settings.verbose == 1 and not _has_tqdm()):
        print(f"Epoch {epoch + 1}/{settings.epochs} - " + _format_logs(logs), file=sys.stdout)
    observer.check(epoch, logs["loss"], logs["lr"])
    for cb in settings.callbacks:
        cb.on_epoch_end(epoch, logs)


def _check_shuffle(shuffle):
    if isinstance(shuffle, str):
        return _checks.choice(shuffle, "shuffle", "fit", ("shared",))
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"fit: shuffle must be True, False or 'shared', got {shuffle!r}.")
    return bool(shuffle)


def _check_callbacks(callbacks):
    from tinynet.callbacks import Callback

    if isinstance(callbacks, Callback):  # one callback, as Keras accepts it
        callbacks = [callbacks]
    try:
        callbacks = list(callbacks) if callbacks is not None else []
    except TypeError:
        raise TypeError(f"fit: callbacks must be a list of tinynet.callbacks.Callback "
                        f"objects, got {callbacks!r}.") from None
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
        x_val, y_val = model.check_data(*validation_data, "fit (validation_data)")
        return x, y, x_val, y_val
    if split == 0.0:
        return x, y, None, None
    n = x.shape[0]
    # the training rows, rounded up (a whole number stays whole: 20 x (1 - 0.7) is
    # 6.000000000000001 in floating point). Keras 3 rounds down instead
    n_train = int(math.ceil(round(n * (1.0 - split), 9)))
    if n_train <= 0 or n_train >= n:
        raise ValueError(
            f"fit: validation_split={split} leaves {n_train} training and {n - n_train} "
            f"validation rows out of {n}; both must be at least 1."
        )
    if mode == "random":  # every stream draws (see fit); copy 0's split is used
        order = model.batch_orders.draw(n)
        order = order if order.ndim == 1 else order[0]
        x, y = x[order], y[order]
    elif _is_classification(model) and _single_class(y[n_train:]):
        warnings.warn(
            f"fit: the validation split (the last {n - n_train} rows, as Keras takes it) holds a "
            "single class; the data are probably sorted by label. Shuffle them first or pass "
            "validation_split_mode='random'.", UserWarning, stacklevel=5)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _is_classification(model):
    return isinstance(model.loss, (losses.CategoricalCrossentropy, losses.BinaryCrossentropy))


def _single_class(y):
    labels = np.argmax(y, axis=1) if y.shape[1] > 1 else (y[:, 0] > 0.5)
    return np.unique(labels).size == 1


def _take(xp, order, *arrays):
    """The rows ``order`` of each array (n, ...) (None stays None): (b,) gives (b, ...);
    (K, b) gives (K, b, ...), one gather over the flattened orders (xp.take wants 1-D
    indices)."""
    if order.ndim == 1 and xp is np:  # the host order as it is, through the method
        return tuple(None if a is None else a.take(order, axis=0) for a in arrays)
    if order.ndim == 1:
        idx = xp.asarray(np.ascontiguousarray(order))
        return tuple(None if a is None else xp.take(a, idx, axis=0) for a in arrays)
    idx = xp.asarray(np.ascontiguousarray(order).reshape(-1))
    return tuple(None if a is None else xp.reshape(xp.take(a, idx, axis=0),
                                                   order.shape + a.shape[1:])
                 for a in arrays)


def _small(model, x, y, order):
    """True when an epoch's gathered rows and its outputs fit in EPOCH_BYTES.

    Then fit gathers the epoch's rows at once (its batches are slices of them)
    and keeps the fused step's outputs to read the metrics once per epoch;
    larger data are gathered batch by batch, so no shuffled copy of them is made
    (tn.sweep's memory budget counts on it).
    """
    copies = 1 if order is None or order.ndim == 1 else order.shape[0]
    width = x.shape[-1] + y.shape[-1] + model.output_dim
    return copies * x.shape[0] * width * 8 <= EPOCH_BYTES  # 8: float64's bytes, the most


def _run_epoch(model, data, order, n, batch_size, callbacks, verbose, epoch, epochs):
    """Every update of one epoch; returns (logs, per-step rates, per-step losses).

    data: the device arrays (x, y, labels of y or None); order: None (rows in
    order), (n,) or (K, n) this epoch's row order: batch i holds the rows
    ``order[..., i*B:(i+1)*B]``.

    The per-batch loss and metrics stay on the device and are read once, at the
    end: logs[key] = sum_b n_b * value_b / sum_b n_b over the batches b, in float64.
    Where the epoch is small (_small) and the step keeps its outputs, the metrics
    are computed once over the epoch's outputs (each batch's, before its update)
    instead: the same mean over the epoch's rows, in one pass; and where the step
    defers_loss and no callback reads each batch's loss as it comes, so are the
    batches' losses (step.batch_losses: the numbers the step would have given).
    """
    x, y, labels = data
    xp = backend.namespace(x)
    step = model.train_function
    small = _small(model, x, y, order)
    batch_hooks = [cb for cb in callbacks if cb.wants_batches]
    # a step that can keep its outputs (the fused one) leaves the metrics to the epoch's
    # end, and the losses too where it can give them from its outputs
    keeps = small and getattr(step, "keeps_outputs", False)
    defer_loss = keeps and getattr(step, "defers_loss", False) and not batch_hooks
    keep_outputs = keeps and (bool(model.metric_names) or defer_loss)
    labels = labels if keep_outputs else None
    if order is not None and small:  # the epoch's rows, in order
        x, y, labels, order = *_take(xp, order, x, y, labels), None
    starts = range(0, n, batch_size)
    bar = _progress(len(starts), epoch, epochs, verbose)
    columns = [[] for _ in range(1 + len(model.metric_names))]  # loss, then each metric
    outputs = _epoch_outputs(model, x, n) if keep_outputs else None
    lrs = []
    for i, start in enumerate(starts):
        rows = slice(start, min(start + batch_size, n))  # the standard's slices stay in bounds
        xb, yb = ((x[..., rows, :], y[..., rows, :]) if order is None
                  else _take(xp, order[..., rows], x, y))
        if keep_outputs:
            # the step looks at the parameters once an epoch where nothing runs between
            # its calls, at every batch where a callback does (it may replace them)
            loss, _, lr = step(xb, yb, metrics=False, loss=not defer_loss,
                               check=i == 0 or bool(batch_hooks))
            outputs[..., rows, :] = step.output  # before the next step writes over it
        else:
            loss, values, lr = step(xb, yb)
            for column, value in zip(columns[1:], values):
                column.append(value)
        if not defer_loss:
            columns[0].append(loss)
        lrs.append(lr)
        for cb in batch_hooks:
            cb.on_train_batch_end(i, {"loss": loss, "lr": lr})
        if bar is not None:
            bar.update(1)
        if model.stop_training:  # a batch callback (TerminateOnNaN) asked to stop now
            break
    sizes = [min(batch_size, n - start) for start in starts[:len(lrs)]]
    rows = slice(0, sum(sizes))
    if defer_loss:  # (B,) or (B, K): the losses the steps would have returned
        columns[0] = step.batch_losses(y[..., rows, :], outputs[..., rows, :], batch_size)
    logs, step_losses = _epoch_logs(model, columns, sizes)
    if keep_outputs:
        seen, out = y[..., rows, :], outputs[..., rows, :]
        seen_labels = None if labels is None else labels[..., rows]
        for key, value in zip(model.metric_names, model.metric_values(seen, out, seen_labels)):
            logs[key] = _scalar_or_array(np.asarray(backend.to_numpy(value), dtype=np.float64))
    if bar is not None:
        bar.set_postfix_str(_format_logs(logs))
        bar.close()
    return logs, lrs, step_losses


def _epoch_outputs(model, x, n):
    """A buffer (n, C), or (K, n, C) when stacked, for every batch's outputs of an epoch."""
    lead = (model.n_models,) if model.stacked else ()
    return backend.namespace(x).empty(lead + (n, model.output_dim), dtype=x.dtype)


def _epoch_logs(model, columns, sizes):
    """({key: sum_b n_b * value_b / sum_b n_b} over the batches' values, in float64, for
    every column that holds values; the per-batch losses as a list).

    The sum runs over the batches in order, for every copy alike: for stacked
    copies an elementwise sum over the rows of a (B, K) array (so copy k's figure
    does not depend on K), for a single model the same sum in Python floats.
    """
    total = sum(sizes)
    weights = [size / total for size in sizes]
    keys = ["loss"] + model.metric_names
    logs = {}
    for key, column in zip(keys, columns):
        if isinstance(column, list) and not column:  # a metric read from the outputs
            continue
        host = _on_host(column)
        if host.ndim == 1:
            values = host.tolist()
            logs[key] = _in_order(weights, values)
        else:
            values = list(host)
            logs[key] = (np.array(weights)[:, None] * host).sum(axis=0)
        if key == "loss":
            step_losses = values
    return logs, step_losses


def _in_order(weights, values):
    """sum_b weights[b] * values[b] in Python floats, added in the order of b."""
    total = weights[0] * values[0]
    for weight, value in zip(weights[1:], values[1:]):
        total += weight * value
    return total


def _on_host(column):
    """Per-batch values (a list of 0-d or (K,) device arrays, or one (B,) or (B, K) device
    array) as one float64 host array (B,) or (B, K)."""
    if not isinstance(column, list):  # by row: _epoch_logs adds the rows one after another
        return np.ascontiguousarray(backend.to_numpy(column), dtype=np.float64)
    if isinstance(column[0], (np.ndarray, np.generic)):  # one call: np.stack is ~10x slower
        return np.array(column, dtype=np.float64)
    xp = backend.namespace(column[0])
    return np.asarray(backend.to_numpy(xp.stack(column)), dtype=np.float64)


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


class _Observer:
    """Watches every copy's epoch loss. Non-finite: the copy ends (frozen, or a single
    model stops). Grown past ``factor`` x its best and its start: recorded, warned, and
    training goes on."""

    def __init__(self, model, history, factor, initial):
        self.model, self.history, self.factor = model, history, factor
        initial = np.atleast_1d(np.asarray(initial, dtype=np.float64))
        history.initial_loss = float(initial[0]) if not model.stacked else initial.copy()
        self.first = np.where(np.isfinite(initial), initial, np.inf)
        self.best = self.first.copy()
        self.grew = np.zeros(initial.shape, dtype=bool)
        self.ended = np.zeros(initial.shape, dtype=bool)  # copies whose divergence was told

    def check(self, epoch, loss, lr):
        if not self.model.stacked:  # one model's usual epoch: found out in floats
            value = float(loss)
            if _usual(value, self.best[0], self.factor):
                self.best[0] = min(self.best[0], value)
                return
        loss = np.array(loss, dtype=np.float64, ndmin=1)
        finite = np.isfinite(loss)
        grown = grew_past(loss, self.best, self.first, self.factor) & ~self.grew
        # a copy ended in an earlier epoch keeps its non-finite loss: not news. One that
        # TerminateOnNaN froze in this epoch's batches is, and warns as without it
        bad = ~finite & ~self.ended
        if self.model.frozen is not None:  # a frozen copy's loss is its last one
            grown &= ~self.model.frozen
        self.best = np.where(finite, np.minimum(self.best, loss), self.best)
        if not (grown | bad).any():  # the usual epoch: one array call to learn it
            return
        lrs = np.broadcast_to(np.asarray(lr, dtype=np.float64), loss.shape)
        if np.any(grown):
            self.grew |= grown
            self._record_growth(epoch, loss, lrs, grown)
        if np.any(bad):
            self._end(epoch, loss, lrs, bad)

    def _record_growth(self, epoch, loss, lrs, grown):
        history = self.history
        if self.model.stacked:
            history.grew = history.grew | grown
            history.grew_epoch = np.where(grown, epoch + 1, history.grew_epoch)
            which = np.flatnonzero(grown)
            msg = (f"Copies {_some(which)} of the stacked model grew in epoch {epoch + 1} "
                   f"past {self.factor:g}x their best loss (copy {which[0]}: loss "
                   f"{loss[which[0]]:.4g}, best {self.best[which[0]]:.4g}) at learning "
                   f"rate(s) {_rates(lrs, which)}.")
        else:
            history.grew, history.grew_epoch = True, epoch + 1
            msg = (f"The loss grew in epoch {epoch + 1} to {loss[0]:.4g}, past "
                   f"{self.factor:g}x its best so far ({self.best[0]:.4g}), at learning rate "
                   f"{lrs[0]:.4g}.")
        warnings.warn(msg + " Training goes on (recorded in history.grew); to stop on this, "
                      "pass callbacks=[tn.callbacks.StopOnDivergence()].", DivergenceWarning,
                      stacklevel=6)

    def _end(self, epoch, loss, lrs, bad):
        model, history = self.model, self.history
        self.ended |= bad
        if model.stacked:
            history.diverged = history.diverged | bad
            history.diverged_epoch = np.where(bad, epoch + 1, history.diverged_epoch)
            model.freeze(bad)
            which = np.flatnonzero(bad)
            msg = (f"Copies {_some(which)} of the stacked model reached a loss of "
                   f"{_loss_text(loss[which[0]])} in epoch {epoch + 1} at learning rate(s) "
                   f"{_rates(lrs, which)}; they are frozen while the others train on. "
                   "The learning rate is the likely cause: try a smaller one.")
            if np.all(model.frozen):
                model.stop_training = True
        else:
            history.diverged, history.diverged_epoch = True, epoch + 1
            model.stop_training = True
            msg = (f"Training diverged in epoch {epoch + 1}: the loss is {_loss_text(loss[0])} "
                   f"(best so far {self.best[0]:.4g}) at learning rate {lrs[0]:.4g}. "
                   "The learning rate is the likely cause: try a smaller one. Training stopped: "
                   "nothing more can happen to a non-finite loss.")
        warnings.warn(msg, DivergenceWarning, stacklevel=6)


def _usual(loss, best, factor):
    """True when a single model's epoch loss is finite and not above factor x its best:
    then it neither diverged nor grew (grew_past also asks that it be above the start)."""
    return math.isfinite(loss) and not loss > factor * best


def _some(which):
    return f"{which[:8].tolist()}{'...' if which.size > 8 else ''}"


def _rates(lrs, which):
    return ", ".join(f"{lrs[k]:.4g}" for k in which[:8])


def _loss_text(value):
    return f"{value}" if not np.isfinite(value) else f"{value:.4g}"
