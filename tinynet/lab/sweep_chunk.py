"""One chunk of a sweep: a few stacked copies trained by one ``fit``, here or in a worker.

``train_chunk(job, setup)`` is the whole task: it needs nothing from the process
that planned the sweep, so an executor can run it anywhere (a process pool, a
Dask worker). ``setup`` (a SweepSetup) holds what every chunk shares: the data,
the network, the loss and the training arguments; ``job`` (a ChunkJob) what
this chunk's copies have of their own: their initial weights, rates and
shuffle seeds. Both pickle, so they travel to a worker as they are.

What a chunk returns is plain NumPy: each copy's History as arrays with a
trailing copy axis, and when each copy stopped training (see StopRecorder).
"""

import pickle
import sys
import warnings
import weakref

import numpy as np

from tinynet import backend, threads
from tinynet.callbacks import Callback
from tinynet.model import Sequential
from tinynet.training import DivergenceWarning

_OWNER = "sweep"


class SweepSetup:
    """What every chunk of one sweep shares (it travels to each worker once, where it can).

    layers_fn, x (checked, float64), y (as the caller gave it), loss, metrics,
    make_optimizer (rates -> optimiser), make_callbacks (() -> list), fit_args
    (epochs, batch_size, validation_split, validation_data, growth_factor),
    shared (one batch order for every copy), shuffle_seed, verbose (fit's),
    per_epoch (updates per epoch), remote (runs in a worker: the callbacks are
    sent back only if they pickle), threads ({worker address or None: thread
    count}; empty: leave the process's threads alone), backend and dtype (the
    caller's, set in a worker before it trains).
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)


class ChunkJob:
    """Copies lo..hi-1 of a sweep: their initial weights, rates and shuffle seeds."""

    def __init__(self, lo, hi, weights, rates, shuffle_seeds):
        self.lo, self.hi = lo, hi
        self.weights = weights  # one stacked array (hi - lo, ...) per parameter
        self.rates = rates  # floats, or one schedule per copy
        self.shuffle_seeds = shuffle_seeds  # None: the model seed's order for all


def train_chunk(job, setup):
    """Train one chunk; returns its part: History arrays, stops and the callbacks it used.

    The callbacks come back without their model (it is freed with the chunk),
    each with ``copies`` set to the chunk's sweep-wide copy indices.
    """
    _use_threads(setup.threads)
    _use_backend(setup.backend, setup.dtype)
    k = job.hi - job.lo
    model = _chunk_model(job, setup)
    callbacks = setup.make_callbacks()
    for cb in callbacks:
        cb.copies = np.arange(job.lo, job.hi)
    stops = StopRecorder(k, setup.per_epoch, any(cb.wants_batches for cb in callbacks))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)  # one summary at the end
        history = model.fit(setup.x, setup.y, verbose=setup.verbose,
                            shuffle="shared" if setup.shared else True,
                            callbacks=[*callbacks, stops], **setup.fit_args)
    part = collect(history, k)
    part.update(stopped_epoch=stops.stopped_epoch, steps_done=stops.steps_done,
                failed=np.zeros(k, dtype=bool), callbacks=callbacks,
                malloc_trim_only=_malloc_trim_only())
    for cb in (*callbacks, stops):
        cb.model = None  # nothing keeps the chunk's model alive
    if setup.remote:
        part["callbacks"], part["callbacks_lost"] = _returnable(callbacks)
    # the compiled step refers back to the model (a cycle, which only the garbage
    # collector would free, at 40 ms a call): break it so the chunk is freed now
    model.train_function = None
    del model, history
    return part


def _returnable(callbacks):
    """(callbacks, None) when they pickle back to the caller, else ([], why): a callback that
    holds an open file or a lock must not cost the chunk's results."""
    try:
        pickle.dumps(callbacks)
    except Exception as exc:  # noqa: BLE001 - any pickling failure means the same
        try:
            import cloudpickle  # Dask's serialiser of last resort

            cloudpickle.dumps(callbacks)
        except Exception:  # noqa: BLE001
            return [], f"{type(exc).__name__}: {exc}"
    return callbacks, None


def _chunk_model(job, setup):
    """The chunk's stacked model: its copies' weights and batch orders, compiled."""
    k = job.hi - job.lo
    model = LayerFactory(setup.layers_fn).model(setup.shuffle_seed, k, setup.x.shape[1])
    if job.shuffle_seeds is not None:
        model._set_shuffle_seeds(job.shuffle_seeds)
    model.set_weights(job.weights if k > 1 else [w[0] for w in job.weights])
    model.compile(setup.make_optimizer(job.rates), loss=setup.loss,
                  **({} if setup.metrics is None else {"metrics": setup.metrics}))
    return model


def _malloc_trim_only():
    """True where glibc's mmap threshold is fixed at 128 KiB: MALLOC_TRIM_THRESHOLD_ set
    (Dask's nanny sets it) without MALLOC_MMAP_THRESHOLD_. Every larger array is then
    mapped and unmapped anew; a chunk ran 2.5x slower so (benchmarks/sweep_executor.py).

    Read from the environment the process started with (/proc/self/environ: what glibc
    read), not os.environ, which Dask's nanny changes in the process that starts it.
    """
    try:
        with open("/proc/self/environ", "rb") as fh:
            names = {entry.split(b"=", 1)[0] for entry in fh.read().split(b"\0")}
    except OSError:  # not Linux: glibc's variables mean nothing there
        return False
    return b"MALLOC_TRIM_THRESHOLD_" in names and b"MALLOC_MMAP_THRESHOLD_" not in names


def _use_backend(name, dtype):
    """The caller's backend and dtype (a worker process starts with the defaults)."""
    if backend.get_backend() != name:
        backend.set_backend(name)
    if backend.get_dtype() != dtype:
        backend.set_dtype(dtype)


def _use_threads(per_worker):
    """Set the worker's thread count (tn.set_threads) when the sweep chose one for it."""
    if not per_worker:
        return
    address = None
    if "distributed" in sys.modules:  # loaded in every Dask worker; never imported here
        try:
            address = sys.modules["distributed"].get_worker().address
        except ValueError:  # not in a Dask worker (a process pool)
            pass
    n = per_worker.get(address, per_worker.get(None))
    if n is not None and threads.get_threads() != n:
        threads.set_threads(n)


class StopRecorder(Callback):
    """Last among a chunk's callbacks: notes when each copy stopped training.

    A copy stops when it is frozen (divergence, EarlyStopping, TerminateOnNaN,
    ...) or when the chunk's fit ends early (model.stop_training).
    stopped_epoch (k,): the epoch it stopped in, 1-based, -1 where it trained
    to the end; steps_done (k,): the updates it took, -1 where it trained to
    the end. A stop seen at the end of epoch e gives steps_done = e * per_epoch;
    one seen after batch i of epoch e (a batch callback), (e - 1) * per_epoch + i + 1.
    """

    def __init__(self, n_copies, per_epoch, batch_level):
        self.per_epoch = per_epoch
        self.wants_batches = bool(batch_level)  # only batch callbacks stop copies mid-epoch
        self.stopped_epoch = np.full(n_copies, -1, dtype=np.int64)
        self.steps_done = np.full(n_copies, -1, dtype=np.int64)
        self.epoch = 0

    def on_epoch_begin(self, epoch):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs):
        self._note(self.epoch * self.per_epoch + batch + 1)

    def on_epoch_end(self, epoch, logs):
        self._note((epoch + 1) * self.per_epoch)

    def _note(self, steps):
        frozen = self.model.frozen
        stopped = (np.zeros(self.stopped_epoch.shape, dtype=bool) if frozen is None
                   else np.array(frozen, dtype=bool).reshape(-1))
        if self.model.stop_training:
            stopped[:] = True
        new = stopped & (self.stopped_epoch < 0)
        self.stopped_epoch[new] = self.epoch + 1
        self.steps_done[new] = steps


def collect(history, k):
    """One chunk's History as host arrays with a trailing copy axis of k."""
    logs = {key: np.array([np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in values])
            .reshape(len(values), k) for key, values in history.history.items()}
    steps = {key: np.asarray(history.steps[key], dtype=np.float64).reshape(-1, k)
             for key in ("lr", "loss")}

    def per_copy(flag, epoch):
        if k > 1:
            return flag.copy(), epoch.copy()
        return np.array([bool(flag)]), np.array([-1 if epoch is None else epoch])

    diverged, diverged_epoch = per_copy(history.diverged, history.diverged_epoch)
    grew, grew_epoch = per_copy(history.grew, history.grew_epoch)
    initial = np.atleast_1d(np.asarray(history.initial_loss, dtype=np.float64))
    return {"history": logs, "steps": steps, "diverged": diverged,
            "diverged_epoch": diverged_epoch, "grew": grew, "grew_epoch": grew_epoch,
            "initial_loss": np.broadcast_to(initial, (k,)).copy()}


class LayerFactory:
    """Calls layers_fn and checks that it gives new, unbuilt layer objects each time."""

    def __init__(self, layers_fn):
        self.layers_fn = layers_fn
        self.seen = weakref.WeakSet()  # a layer returned again is alive, so it is still here

    def model(self, seed, n_models, input_dim):
        layers = self.layers_fn()
        if layers is None or (isinstance(layers, (list, tuple)) and not layers):
            why = " (a function without return gives None)" if layers is None else ""
            raise ValueError(f"{_OWNER}: layers_fn must return a non-empty list of layers, got "
                             f"{layers!r}{why}; e.g. def layers_fn(): return "
                             "[Dense(10, activation='relu'), Dense(3)].")
        if isinstance(layers, (list, tuple)):
            if any(_in(layer, self.seen) for layer in layers):
                raise ValueError(f"{_OWNER}: layers_fn returned the same layer objects on two "
                                 "calls; it must create new layers every call, e.g. "
                                 "def layers_fn(): return [Dense(10, activation='relu'), ...].")
            for layer in layers:
                try:
                    self.seen.add(layer)
                except TypeError:  # not weak-referenceable: Sequential will refuse it
                    pass
        try:
            model = Sequential(layers, seed=seed, n_models=n_models)
        except ValueError as exc:
            raise ValueError(f"{_OWNER}: layers_fn() gave layers that cannot form a new model "
                             f"({exc}) layers_fn must create new, unbuilt layers every call."
                             ) from exc
        if not model.built:
            model.build(input_dim)
        elif model.input_dim != input_dim:
            raise ValueError(f"{_OWNER}: layers_fn() builds a network for {model.input_dim} "
                             f"input features but x has {input_dim} columns. Fix input_dim "
                             "in layers_fn or the data.")
        return model


def _in(obj, seen):
    try:
        return obj in seen
    except TypeError:
        return False
