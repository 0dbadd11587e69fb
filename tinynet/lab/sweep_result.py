"""SweepResult: what a learning-rate sweep measured, per rate, per seed, per epoch.

Every array is plain NumPy with the rate axis before the seed axis. A copy
whose loss went non-finite ("diverged") keeps the values of that epoch (NaN or
inf) and is NaN after it (it was frozen); its final value is NaN and it counts
as a failure in ``success_rate``. A copy that a callback stopped (frozen by
EarlyStopping, ...) keeps its frozen value: the values of the last epoch it
completed, repeated to the end, so its final value is the one it stopped with;
``stopped_epoch`` says where (see ``SweepResult``). Epochs count from 1
everywhere, as in the training log and ``History.diverged_epoch``. Medians
and quartiles are over all seeds, never over the survivors only: a
non-finite value counts as the worst one (+inf for losses, -inf for
accuracies; ``tinynet.metrics.run_quartiles``), and every "k of n seeds"
comes with its Wilson 95% interval.
"""

import math

import numpy as np

from tinynet import _checks
from tinynet.lab import sweep_output
from tinynet.lab.sweep_checks import check_floats, check_grid, check_rates, check_seeds
from tinynet.metrics import infer_mode, run_quartiles, wilson_interval


class SweepResult:
    """The record of one ``tn.sweep``, or one built by hand from arrays.

    learning_rates: (R,) distinct finite floats > 0. seeds: S distinct non-negative ints
      (both as ``tn.sweep`` takes them).
    history: {name: array (epochs, R, S)} for every key fit logged: "loss",
      each metric, "val_..." when validating, and "lr" (the rate of each epoch's
      last update).
    diverged: (R, S) bool: the loss became NaN or inf (default: none).
      diverged_epoch: (R, S) ints, the epoch it did (1-based, as the log's
      "Epoch 3/10" and History.diverged_epoch), -1 where it did not (default:
      for diverged copies, the first epoch whose "loss" is not finite).
    grew: (R, S) bool: the loss grew past the growth factor x its best at some
      epoch and training went on (default: none); grew_epoch: the first such
      epoch (1-based), -1 where none (default: 1 where grew). initial_loss:
      (R, S) the loss before the first update (default: NaN, unknown).
    stopped_epoch: (R, S) ints, the epoch (1-based) in which the copy stopped
      training: frozen by divergence or by a callback (EarlyStopping,
      TerminateOnNaN, ...), or its chunk's fit ended; -1 where it trained to the
      last epoch (default: diverged_epoch). A stopped copy records the epochs it
      completed; after them a diverged copy is NaN and any other keeps its
      frozen value (the last completed epoch's, NaN if none). One stopped during
      an epoch (by a batch callback) has not completed that epoch.
    failed: (R, S) bool: the chunk that trained the copy raised in its worker
      (``tn.sweep(executor=...)``); its records are NaN (default: none).
    steps: {"lr": ..., "loss": ...}, arrays (updates, R, S): the rate and the
      batch loss (before the update) of every update; NaN after a copy's last
      update; may be empty.
    config: a JSON-serialisable dict saying how the sweep ran.
    callbacks: the callbacks of each chunk, in copy order (a list per chunk),
      as they were when the chunk ended, each with ``copies`` set (a real sweep
      sets it; not serialised).
    """

    def __init__(self, learning_rates, seeds, history, diverged=None, diverged_epoch=None,
                 steps=None, config=None, grew=None, grew_epoch=None, initial_loss=None,
                 stopped_epoch=None, failed=None, callbacks=None):
        owner = "SweepResult"
        self.learning_rates = check_rates(learning_rates, owner)
        self.seeds = check_seeds(seeds, owner)
        shape = (self.learning_rates.size, len(self.seeds))
        if not isinstance(history, dict) or not history:
            raise ValueError(f"{owner}: history must be a non-empty dict name -> array "
                             f"(epochs, {shape[0]}, {shape[1]}), got {history!r}.")
        self.history = {}
        for key, values in history.items():
            values = check_floats(values, f"history[{key!r}]", owner)
            if values.ndim != 3 or values.shape[1:] != shape:
                raise ValueError(f"{owner}: history[{key!r}] must have shape (epochs, "
                                 f"{shape[0]}, {shape[1]}) (rates, seeds), got {values.shape}.")
            self.history[str(key)] = values
        lengths = {v.shape[0] for v in self.history.values()}
        if len(lengths) != 1:
            raise ValueError(f"{owner}: every history array must cover the same epochs, got "
                             f"lengths {sorted(lengths)}.")
        self.diverged = (np.zeros(shape, dtype=bool) if diverged is None
                         else check_grid(diverged, "diverged", owner, shape, "b"))
        if diverged_epoch is None:
            diverged_epoch = np.where(self.diverged, self._first_non_finite(), -1)
        self.diverged_epoch = check_grid(diverged_epoch, "diverged_epoch", owner, shape, "i")
        self.stopped_epoch = (self.diverged_epoch.copy() if stopped_epoch is None
                              else check_grid(stopped_epoch, "stopped_epoch", owner, shape, "i"))
        self.failed = (np.zeros(shape, dtype=bool) if failed is None
                       else check_grid(failed, "failed", owner, shape, "b"))
        self.callbacks = list(callbacks or [])
        self.grew = (np.zeros(shape, dtype=bool) if grew is None
                     else check_grid(grew, "grew", owner, shape, "b"))
        self.grew_epoch = (np.where(self.grew, 1, -1) if grew_epoch is None
                           else check_grid(grew_epoch, "grew_epoch", owner, shape, "i"))
        self.initial_loss = (np.full(shape, np.nan) if initial_loss is None
                             else check_grid(initial_loss, "initial_loss", owner, shape, "f"))
        if steps is not None and not isinstance(steps, dict):
            raise TypeError(f"{owner}: steps must be a dict name -> array (updates, "
                            f"{shape[0]}, {shape[1]}) or None, got {type(steps).__name__}.")
        self.steps = {}
        for key, values in (steps or {}).items():
            values = check_floats(values, f"steps[{key!r}]", owner)
            if values.size == 0:
                values = values.reshape(0, *shape)  # no updates, written as []
            if values.ndim != 3 or values.shape[1:] != shape:
                raise ValueError(f"{owner}: steps[{key!r}] must have shape (updates, "
                                 f"{shape[0]}, {shape[1]}) (rates, seeds), got {values.shape}.")
            self.steps[str(key)] = values
        if config is not None and not isinstance(config, dict):
            raise TypeError(f"{owner}: config must be a dict or None, got "
                            f"{type(config).__name__} {config!r}.")
        self.config = dict(config or {})

    def _first_non_finite(self):
        """(R, S): the first epoch (1-based) whose loss is NaN or inf; the last if none."""
        values = self.history.get("loss", next(iter(self.history.values())))
        bad = ~np.isfinite(values)
        return np.where(np.any(bad, axis=0), np.argmax(bad, axis=0) + 1, values.shape[0])

    # --- shape ---------------------------------------------------------------------
    @property
    def n_rates(self):
        return self.learning_rates.size

    @property
    def n_seeds(self):
        return len(self.seeds)

    @property
    def epochs_run(self):
        """How many epochs were logged (the longest-running copy)."""
        return next(iter(self.history.values())).shape[0]

    def _values(self, name, owner):
        if not isinstance(name, str) or name not in self.history:
            raise ValueError(f"{owner}: metric {name!r} was not logged. Choose one of: "
                             f"{', '.join(self.history)}.")
        return self.history[name]

    # --- per-copy and per-rate summaries ---------------------------------------------
    def final(self, name="loss"):
        """(R, S): each copy's value in the last epoch (NaN for copies that diverged)."""
        return self._values(name, "SweepResult.final")[-1].copy()

    def success_rate(self, metric, threshold, mode=None):
        """(R,): the fraction of seeds whose final ``metric`` beats ``threshold``.

        mode: "max" (final > threshold, for accuracy-like names), "min"
        (final < threshold, for losses) or None to infer it from the name as
        Keras does. Diverged copies and NaN values count as failures.
        """
        owner = "SweepResult.success_rate"
        final = self._values(metric, owner)[-1]
        mode = _mode(metric, mode, owner)
        threshold = _checks.real(threshold, "threshold", owner)
        with np.errstate(invalid="ignore"):
            ok = final > threshold if mode == "max" else final < threshold
        ok &= ~self.diverged & np.isfinite(final)
        return ok.mean(axis=1)

    def best_rate(self, metric=None, mode=None):
        """The rate with the best median final ``metric`` over seeds (a float).

        metric: default "val_loss" when validating, else "loss". Diverged copies
        count as the worst possible value, so a rate where most seeds diverge
        never wins. Ties go to the smaller rate.
        """
        owner = "SweepResult.best_rate"
        metric = metric or ("val_loss" if "val_loss" in self.history else "loss")
        final = self._values(metric, owner)[-1]
        mode = _mode(metric, mode, owner)
        worst = -np.inf if mode == "max" else np.inf
        scores = np.median(np.where(np.isfinite(final) & ~self.diverged, final, worst), axis=1)
        if not np.any(np.isfinite(scores)):
            raise ValueError(f"{owner}: at every rate at least half of the seeds diverged (the "
                             "median is the worst value); there is no best rate. Sweep "
                             "smaller learning rates.")
        keyed = scores if mode == "min" else -scores
        order = np.lexsort((self.learning_rates, keyed))
        return float(self.learning_rates[order[0]])

    def outcomes(self, metric=None, threshold=None, **kwargs):
        """(R, S) strings: each copy's outcome ("fit", "non-finite", "grew", "not-fit").

        See ``tinynet.lab.outcomes.classify`` for the rule and the arguments.
        """
        from tinynet.lab.outcomes import classify

        return classify(self, metric=metric, threshold=threshold, **kwargs)

    def default_metric(self):
        """The metric tables and plots show by default: validation before training."""
        names = [k for k in self.history if k not in ("loss", "val_loss", "lr")]
        val = [k for k in names if k.startswith("val_")]
        return (val or names or [None])[0]

    def summary(self, metric=None, threshold=None):
        """One dict per rate: rate, median/IQR final loss, median final metric, success, diverged.

        metric: default ``default_metric()``. threshold: what success means for
        it (default 0.9 for accuracy-like metrics). Without a usable threshold
        the "success" column is the fraction of seeds that stayed finite.
        Medians and IQRs are over all seeds (non-finite values count as the
        worst). Counts of seeds come with their Wilson 95% interval:
        success_lo/success_hi (as fractions), diverged_lo/diverged_hi (the
        fraction of seeds whose loss went non-finite); "grew" counts the seeds
        whose loss grew past the growth factor (they trained on).
        """
        owner = "SweepResult.summary"
        metric = metric or self.default_metric()
        if metric is not None:
            self._values(metric, owner)
        if threshold is None and metric is not None and _mode(metric, None, owner) == "max":
            threshold = 0.9
        if metric is not None and threshold is not None:
            success = self.success_rate(metric, threshold)
            label = f"{metric}{'>' if _mode(metric, None, owner) == 'max' else '<'}{threshold:g}"
        else:
            success, label = (~self.diverged).mean(axis=1), "finite"
        loss = self.final("loss") if "loss" in self.history else None
        n = self.n_seeds
        rows = []
        for r, rate in enumerate(self.learning_rates.tolist()):
            row = {"learning_rate": rate}
            if loss is not None:
                q25, q50, q75 = run_quartiles(loss[r], "min")
                row.update({"median_loss": q50, "iqr_loss": _iqr(q25, q75)})
            if metric is not None:
                row["median_" + metric] = run_quartiles(self.history[metric][-1][r],
                                                        _mode(metric, None, owner))[1]
            wins = int(round(float(success[r]) * n))
            lost = int(self.diverged[r].sum())
            s_lo, s_hi = wilson_interval(wins, n)
            d_lo, d_hi = wilson_interval(lost, n)
            grew = int(self.grew[r].sum())
            g_lo, g_hi = wilson_interval(grew, n)
            row.update({"success": float(success[r]), "success_lo": s_lo, "success_hi": s_hi,
                        "success_means": label, "diverged": lost, "diverged_lo": d_lo,
                        "diverged_hi": d_hi, "grew": grew, "grew_lo": g_lo, "grew_hi": g_hi,
                        "seeds": n})
            rows.append(row)
        return rows

    # --- output ----------------------------------------------------------------------
    def to_table(self, metric=None, threshold=None):
        """A printable table, one line per rate (see ``summary`` for the columns).

        Counts of seeds are printed with their Wilson 95% interval in brackets.
        """
        return sweep_output.table(self, metric, threshold)

    def to_csv(self, path, metric=None, threshold=None, per="rate"):
        """Write a CSV atomically (a temporary file, then os.replace); returns the path.

        per="rate": the ``summary`` rows (as ``to_table``, with the Wilson
        interval columns). per="copy": one row per (rate, seed) with its final
        value of every logged key, whether it went non-finite or grew and in
        which epoch (1-based), the epoch it stopped in, whether its chunk
        failed, its initial loss and its outcome (``outcomes()``). NaN is
        written as an empty cell.
        """
        return sweep_output.write_csv(self, path, metric, threshold, per)

    def to_dict(self):
        """Everything as JSON-serialisable lists and numbers; NaN and inf become None."""
        return sweep_output.as_dict(self)

    @classmethod
    def from_dict(cls, data):
        """The SweepResult ``to_dict`` described (None read back as NaN).

        ``data`` may come from a file: a missing key, a value of the wrong type
        or shape raises a TypeError or ValueError that names the key.
        """
        return cls(**sweep_output.arguments_from_dict(data))

    def plot(self, kind="curves", **kwargs):
        """A Figure: kind "curves" (loss_curves), "final" (final_vs_rate) or "heatmap"."""
        from tinynet.plot import sweep as plot_sweep

        makers = {"curves": plot_sweep.loss_curves, "final": plot_sweep.final_vs_rate,
                  "heatmap": plot_sweep.heatmap}
        if kind not in makers:
            raise ValueError(f"SweepResult.plot: unknown kind {kind!r}. Choose one of: "
                             f"{', '.join(makers)}.")
        return makers[kind](self, **kwargs)

    def __repr__(self):
        return (f"SweepResult(rates={self.n_rates}, seeds={self.n_seeds}, epochs="
                f"{self.epochs_run}, keys=[{', '.join(self.history)}], diverged="
                f"{int(self.diverged.sum())}/{self.diverged.size}, grew="
                f"{int(self.grew.sum())}/{self.grew.size}"
                + (f", failed={int(self.failed.sum())}" if self.failed.any() else "") + ")")


def _mode(metric, mode, owner):
    if mode is None:
        return infer_mode(metric)
    if mode not in ("min", "max"):
        raise ValueError(f"{owner}: mode must be 'min', 'max' or None, got {mode!r}.")
    return mode


def _iqr(q25, q75):
    if math.isinf(q25) and math.isinf(q75) and q25 == q75:
        return math.nan  # both quartiles non-finite: no spread to speak of
    return q75 - q25
