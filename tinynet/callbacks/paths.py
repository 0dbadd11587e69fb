"""WeightPath: the parameters, flattened, at the start and after every few epochs."""

import numpy as np

from tinynet import _checks
from tinynet.callbacks.base import Callback


class WeightPath(Callback):
    """Record the model's weights as flat vectors: a training path through parameter space.

    ``path`` holds one float64 vector per record, the get_weights() arrays
    raveled and concatenated (kernel_0, bias_0, kernel_1, ...): (P,), or (K, P)
    for K stacked copies (``copy(k)`` gives copy k's path). Recorded at the start
    of training and after every ``every``-th epoch (and the last); ``epochs``
    holds the epoch count of each (0 = before training). Pass ``path`` (or
    ``copy(k)``) to ``tn.diagnostics.loss_surface``.
    """

    def __init__(self, every=1):
        self.every = _checks.positive_int(every, "every", "WeightPath")
        self.path, self.epochs = [], []
        self._done = 0  # epochs trained so far, over every fit() this callback saw

    def on_train_begin(self):
        if not self.path:  # a second fit() goes on from where the first ended
            self._take(0)

    def on_epoch_end(self, epoch, logs):
        self._done += 1
        if self._done % self.every == 0:
            self._take(self._done)

    def on_train_end(self):
        if self.epochs and self.epochs[-1] != self._done:
            self._take(self._done)

    def _take(self, epoch):
        weights = self.model.get_weights()
        lead = (self.model.n_models,) if self.model.stacked else ()
        flat = [np.asarray(w, dtype=np.float64).reshape(lead + (-1,)) for w in weights]
        self.path.append(np.concatenate(flat, axis=-1))
        self.epochs.append(epoch)

    def copy(self, k):
        """Copy k's path (a list of (P,) vectors) from a stacked model's records."""
        if not self.path or self.path[0].ndim != 2:
            raise ValueError("WeightPath.copy: the recorded model was not stacked; use .path.")
        return [row[k] for row in self.path]
