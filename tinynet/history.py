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
    diverged: True when training stopped on divergence (a bool array (K,) for
      stacked models: which copies diverged and were frozen).
    diverged_epoch: the epoch it happened in (None, or an int array with -1 for
      copies that did not diverge).
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
        if n_models > 1:
            self.diverged = np.zeros(n_models, dtype=bool)
            self.diverged_epoch = np.full(n_models, -1)
        else:
            self.diverged = False
            self.diverged_epoch = None

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
        self.steps["lr"].extend(self._per_model(lr) for lr in lrs)
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

    def __repr__(self):
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}], diverged={self.diverged!r})"
