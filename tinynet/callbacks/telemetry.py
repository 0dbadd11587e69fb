"""Update-to-weight telemetry: how big each update is next to the weights it moves."""

import numpy as np

from tinynet import _checks, backend
from tinynet.callbacks.base import Callback


class UpdateStats(Callback):
    """Per layer and per update: |dL/dW|, |update of W|, |W| and |update| / |W|.

    For the kernel W of every trainable layer (biases start at zero, so their
    ratio says little), at update t (t = 1, 2, ...):
      grad_norm[t]   = ||dL/dW|| on update t's batch   (Frobenius norm)
      update_norm[t] = ||W_t - W_(t-1)||               (what the optimiser did)
      weight_norm[t] = ||W_(t-1)||                     (the weights it moved)
      ratio[t]       = update_norm[t] / weight_norm[t]
    A rule of thumb (CS231n's "ratio of updates to weights"): about 1e-3; far
    below, the rate is likely too low, well above, too high. With plain SGD
    update = lr * grad, so the ratio is lr * |grad| / |W|; with momentum or
    Adam it is whatever the optimiser made of the gradients.

    every: keep every n-th update (1: all). The result goes into
    ``history.update_stats`` at the end of training: {"layers": names, and
    each quantity as a float64 array (T, L), or (T, L, K) for K stacked copies,
    "step": the update numbers (T,)}. ``tn.plot.update_ratios(history)`` draws it.

    It reads ``layer.grads``, which holds dL/dW of the last batch after every
    training step, and changes nothing of the run. The norms stay on the device
    and are read once per epoch.
    """

    wants_batches = True

    def __init__(self, every=1):
        self.every = _checks.positive_int(every, "every", "UpdateStats")

    def on_train_begin(self):
        model = self.model
        self._layers = [(i, layer) for i, layer in enumerate(model.layers)
                        if "kernel" in layer.params]
        self.names = [f"{i}: {type(layer).__name__}({layer.params['kernel'].shape[-1]})"
                      for i, layer in self._layers]
        self._before = self._snapshot()
        self._rows, self._host, self._t = [], [], 0

    def on_train_batch_end(self, batch, logs):
        self._t += 1
        now = self._snapshot()
        if self._t % self.every == 0:
            row = []
            for (_, layer), w_old, w_new in zip(self._layers, self._before, now):
                row.append((_norm(layer.grads["kernel"]), _norm(w_new - w_old), _norm(w_old)))
            self._rows.append((self._t, row))
        self._before = now

    def on_epoch_end(self, epoch, logs):
        """One host read per epoch: every norm of the epoch's updates."""
        for t, row in self._rows:
            values = np.stack([[backend.to_numpy(v) for v in triple] for triple in row])
            self._host.append((t, np.asarray(values, dtype=np.float64)))  # (L, 3[, K])
        self._rows = []

    def on_train_end(self):
        self.on_epoch_end(None, None)  # a stop inside an epoch leaves rows to read
        if not self._host:
            return
        data = np.stack([v for _, v in self._host])  # (T, L, 3[, K])
        grad, update, weight = (data[:, :, j] for j in range(3))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = update / weight
        self.model.history.update_stats = {
            "layers": list(self.names), "step": np.array([t for t, _ in self._host]),
            "grad_norm": grad, "update_norm": update, "weight_norm": weight, "ratio": ratio}

    def _snapshot(self):
        """A copy of every kernel (the optimiser updates in place)."""
        return [backend.namespace(layer.params["kernel"]).asarray(layer.params["kernel"],
                                                                   copy=True)
                for _, layer in self._layers]


def _norm(w):
    """Frobenius norm over the last two axes: a scalar, or (K,) for a stack."""
    xp = backend.namespace(w)
    return xp.sqrt(xp.sum(w * w, axis=(-2, -1)))
