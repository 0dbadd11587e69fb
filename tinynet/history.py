"""History: what happened during one ``fit``, epoch by epoch and update by update."""

import numpy as np


class History:
    """The record of one ``fit`` call.

    history: dict of per-epoch lists: "loss", each metric, "val_..." when
      validating, and "lr" (the rate of the epoch's last update). With K stacked
      models each entry is a length-K NumPy array.
    epoch: the epoch indices that ran (0-based).
    steps: {"lr": array (updates,) or (updates, K), "loss": same shape}: the rate
      used and the batch loss (before the update) of every single update.
    initial_loss: the loss on the training rows before the first update (a
      float, or a (K,) array).
    diverged: True when the loss became NaN or infinite, which ends training (a
      bool array (K,) for stacked models: which copies went non-finite and
      were frozen while the others trained on).
    diverged_epoch: the epoch it happened in, numbered as the verbose log and the
      warnings number them (1 = the first epoch; None, or an int array with -1
      for copies that did not).
    grew: True when a finite epoch loss grew past fit's growth_factor (4) x the
      best loss so far and above initial_loss; training went on (bool array
      (K,) when stacked). grew_epoch: the first epoch that happened in, numbered
      the same way (None, or an int array with -1).
    diverged_epoch and grew_epoch count as the log does ("Epoch 3/20" is 3);
    ``epoch`` holds 0-based indices into the lists of ``history``, so the
    values of epoch e are at index e - 1.
    Outcomes per copy ("fit", "non-finite", "grew", ...) are classified from
    these records by ``tinynet.lab.outcomes.classify``.
    update_stats: None, or what tn.callbacks.UpdateStats measured at every
      update: {"layers", "grad_norm", "update_norm", "weight_norm", "ratio"}.
    records: what each deciding callback saw every epoch, e.g.
      records["EarlyStopping"] = {"best": [...], "wait": [...], "stop": [...]}.
    stopped_epoch: the epoch after which a callback stopped training, or None.
    """

    def __init__(self, n_models=1):
        self.n_models = n_models
        self.history = {}
        self.epoch = []
        self.steps = {"lr": [], "loss": []}
        self.records = {}
        self.stopped_epoch = None
        self.initial_loss = None
        self.update_stats = None  # per-update telemetry, when tn.callbacks.UpdateStats ran
        if n_models > 1:
            self.diverged = np.zeros(n_models, dtype=bool)
            self.diverged_epoch = np.full(n_models, -1)
            self.grew = np.zeros(n_models, dtype=bool)
            self.grew_epoch = np.full(n_models, -1)
        else:
            self.diverged = False
            self.diverged_epoch = None
            self.grew = False
            self.grew_epoch = None

    def append_epoch(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            if key == "lr":
                value = self._per_model(value)
            self.history.setdefault(key, []).append(value)

    def record(self, owner, **values):
        """Append one epoch's counters for a callback (``owner`` is its name)."""
        table = self.records.setdefault(owner, {})
        for key, value in values.items():
            table.setdefault(key, []).append(value)

    def add_steps(self, lrs, losses):
        self.steps["lr"].extend(lrs if self.n_models == 1 else map(self._per_model, lrs))
        self.steps["loss"].extend(losses)

    def _per_model(self, lr):
        """A rate as stored: a float, or a length-K array when stacked (one rate for all
        copies is repeated, so a per-copy cut mid-training keeps the shape)."""
        if self.n_models == 1:
            return lr
        return np.array(np.broadcast_to(np.asarray(lr, dtype=np.float64), (self.n_models,)))

    def finish(self):
        """Turn the per-update lists into arrays."""
        for key in ("lr", "loss"):
            self.steps[key] = np.asarray(self.steps[key], dtype=np.float64)

    def plot(self, band=None, title=None):
        """The figure of this run: ``tn.plot.history(self, band, title)`` (see tinynet.plot.runs).

        Loss and each metric per epoch (validation dashed), the rate below,
        non-finite epochs marked; a stacked run per copy or as the median over
        all copies with its band. Returns a matplotlib Figure.
        """
        from tinynet.plot.runs import history  # the one sanctioned upward import: see setup.cfg

        return history(self, band=band, title=title)

    def __repr__(self):
        keys = ", ".join(self.history)
        return (f"History(epochs={len(self.epoch)}, keys=[{keys}], diverged={self.diverged!r}, "
                f"grew={self.grew!r})")


def grew_past(loss, best, initial, factor):
    """Where a finite ``loss`` is above both factor x ``best`` and ``initial`` (bool array).

    The rule behind History.grew (fit) and callbacks.StopOnDivergence; the
    arguments broadcast.
    """
    loss = np.asarray(loss, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.isfinite(loss) & (loss > factor * best) & (loss > initial)
