"""What reproduce records during training: callbacks of ``tn.sweep``.

Record keeps each copy's initial weights, its weights after the first epoch
and at the end, and the share of dead units per layer at chosen epochs;
SharpnessTrace follows the sharpness of some copies during training.
"""

import warnings

import numpy as np

import tinynet as tn
from tinynet.apps.reproduce.setup import post_layers
from tinynet.lab import diagnostics as dg


def per_copy(model, a):
    """A per-copy array of a sweep chunk's model with its copy axis (unstacked: add it)."""
    a = np.asarray(a)
    return a if model.stacked else a[None]


class Record(tn.callbacks.Callback):
    """Per-copy records of a tn.sweep, stored under each copy's sweep-wide index.

    ``self.copies`` (set by tn.sweep before each chunk) maps the chunk model's
    copy j to the sweep's copy k = r * S + s, so the records of every chunk
    land in one set of arrays: init, epoch1 and final (lists of weight arrays
    (n, ...)), and dead (C, n, L): the share of dead units of each hidden layer
    on x_train at init and after each epoch in check_epochs (at_epochs = [0] +
    check_epochs). Advances a tqdm bar by one per epoch.
    """

    def __init__(self, n_copies, bar, x_train, check_epochs):
        self.n, self.bar, self.x_train = n_copies, bar, x_train
        self.at_epochs = [0] + [e for e in check_epochs if e > 0]
        self.row = {e: i for i, e in enumerate(self.at_epochs)}
        self.init, self.epoch1, self.final, self.dead = None, None, None, None

    def _store(self, name, arrays):
        mine = getattr(self, name)
        if mine is None:
            mine = [np.zeros((self.n,) + a.shape[1:], dtype=a.dtype) for a in arrays]
            setattr(self, name, mine)
        for into, a in zip(mine, arrays):
            into[self.copies] = a

    def _weights(self):
        return [per_copy(self.model, w) for w in self.model.get_weights()]

    def _count_dead(self, epoch):
        dead = per_copy(self.model, dg.dead_relu_fraction(self.model, self.x_train)["dead"])
        if self.dead is None:
            self.dead = np.zeros((len(self.at_epochs), self.n, dead.shape[-1]))
        self.dead[self.row[epoch], self.copies] = dead

    def on_train_begin(self):
        self._store("init", self._weights())
        self._count_dead(0)

    def on_epoch_end(self, epoch, logs):
        if epoch == 0:
            self._store("epoch1", self._weights())
        if epoch + 1 in self.row:
            self._count_dead(epoch + 1)
        if self.bar is not None:
            self.bar.update(len(self.copies) / self.n)

    def on_train_end(self):
        self._store("final", self._weights())


class SharpnessTrace(tn.callbacks.Callback):
    """Sharpness of some copies at init and after chosen epochs, on a fixed subset.

    traced: the sweep-wide copy indices to follow; seed_of[k]: copy k's seed.
    Each check copies the traced copies' weights into a small stacked model and
    runs power iterations (``tinynet.lab.diagnostics.sharpness``, one stacked
    computation for all of them) until the Rayleigh quotient settles (relative
    change <= tol) or the iteration count runs out: first_iters at init, from a
    start vector drawn from the copy's seed (so every rate of one seed starts
    from the same weights AND the same vector, and gets the same value), then
    iters per check, warm-started from the previous check's vector. Each value
    comes with its residual ||H v - value v||: some eigenvalue lies within it.
    """

    def __init__(self, traced, seed_of, x, y, at_epochs, variant, iters, first_iters, tol):
        self.traced, self.seed_of = np.asarray(traced), np.asarray(seed_of)
        self.x, self.y, self.variant = x, y, variant
        self.iters, self.first_iters, self.tol = iters, first_iters, tol
        self.epochs = [0] + sorted(set(at_epochs) - {0})
        self.row = {e: i for i, e in enumerate(self.epochs)}
        shape = (len(self.epochs), len(self.traced))
        self.values, self.errors = np.full(shape, np.nan), np.full(shape, np.nan)

    def on_train_begin(self):
        local = np.flatnonzero(np.isin(self.copies, self.traced))
        self.local = local
        self.cols = np.searchsorted(self.traced, self.copies[local])
        self.sub, self.vector = None, None
        if not local.size:
            return
        self.sub = tn.Sequential(post_layers(*self.variant), seed=0, n_models=local.size)
        self.sub.compile("sgd", loss="sparse_categorical_crossentropy")
        shapes = [np.shape(w)[1:] if local.size > 1 else np.shape(w)
                  for w in self.sub.get_weights()]
        draws = {}
        for s in {int(self.seed_of[k]) for k in self.copies[local]}:
            rng = np.random.default_rng(10_000 + s)
            draws[s] = [rng.standard_normal(shape) for shape in shapes]
        per = [draws[int(self.seed_of[k])] for k in self.copies[local]]
        self.vector = [np.stack(v) if local.size > 1 else v[0] for v in zip(*per)]
        self._check(0, self.first_iters)

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 in self.row and self.sub is not None:
            self._check(epoch + 1, self.iters)

    def _check(self, epoch, iters):
        weights = [per_copy(self.model, w)[self.local] for w in self.model.get_weights()]
        self.sub.set_weights(weights if self.local.size > 1 else [w[0] for w in weights])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value, self.vector, error = dg.sharpness(
                self.sub, self.x, self.y, iters=iters, tol=self.tol, start=self.vector,
                return_vector=True, return_error=True)
        self.values[self.row[epoch], self.cols] = value
        self.errors[self.row[epoch], self.cols] = error


def trace_epochs(epochs):
    """Every 5th epoch up to 50, then every 25th, and the last."""
    at = set(range(5, min(epochs, 50) + 1, 5)) | set(range(75, epochs + 1, 25)) | {epochs}
    return sorted(at)


class PathRecord(tn.callbacks.Callback):
    """Every copy's parameters, flattened, at init and after each epoch of at_epochs.

    ``path`` (T, n, P): the get_weights() arrays of copy k raveled and
    concatenated (kernel_1, bias_1, ...), stored under the copy's sweep-wide
    index (as Record), for tn.diagnostics.loss_surface; ``epochs`` (T,) the
    epoch of each snapshot (0 = init).
    """

    def __init__(self, n_copies, at_epochs):
        self.n = n_copies
        self.epochs = [0] + [e for e in at_epochs if e > 0]
        self.row = {e: i for i, e in enumerate(self.epochs)}
        self.path = None

    def _take(self, epoch):
        flat = np.concatenate([per_copy(self.model, w).reshape(len(self.copies), -1)
                               for w in self.model.get_weights()], axis=-1)
        if self.path is None:
            self.path = np.zeros((len(self.epochs), self.n, flat.shape[-1]), dtype=np.float64)
        self.path[self.row[epoch], self.copies] = flat

    def on_train_begin(self):
        self._take(0)

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 in self.row:
            self._take(epoch + 1)


class OvershootRecord(tn.callbacks.Callback):
    """Where each copy's next step lands along its own line, at init and after chosen epochs.

    At each epoch of at_epochs (0 = before training) it calls
    ``tn.diagnostics.step_overshoot`` on the fixed batch (x, y): the loss along
    theta - t lr g, t in [0, 2], for every copy at its own rate, and keeps
    t_min (C, n), the t of the line's minimum (t_min < 1: the step lands past
    it), ratio = 1 / t_min and climbs (the step ends above its start), stored
    under each copy's sweep-wide index.
    """

    def __init__(self, n_copies, x, y, at_epochs, points=21):
        self.x, self.y, self.points = x, y, points
        self.at_epochs = [0] + [e for e in at_epochs if e > 0]
        self.row = {e: i for i, e in enumerate(self.at_epochs)}
        shape = (len(self.at_epochs), n_copies)
        self.t_min, self.ratio = np.full(shape, np.nan), np.full(shape, np.nan)
        self.climbs = np.zeros(shape, dtype=bool)

    def _take(self, epoch):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            found = dg.step_overshoot(self.model, self.x, self.y, points=self.points)
        self.t_min[self.row[epoch], self.copies] = np.atleast_1d(found["t_min"])
        self.ratio[self.row[epoch], self.copies] = np.atleast_1d(found["ratio"])
        self.climbs[self.row[epoch], self.copies] = np.atleast_1d(found["climbs"])

    def on_train_begin(self):
        self._take(0)

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 in self.row:
            self._take(epoch + 1)
