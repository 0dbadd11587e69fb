"""tn.sweep: a learning-rate x seed grid trained as one stacked model.

Every (rate, seed) pair is one copy of the network; the R*S copies train at
once through the ``n_models`` axis of the engine. Copy index k = r * S + s
(rate-major), so a (K,) array reshapes to (R, S) in C order. A seed is a whole
run: copy (r, s) starts from the weights of seed s and sees the batches of
seed s, so the rates of one seed are a paired comparison (same start, same
batches) and different seeds differ in both.

When the copies would not fit in ``memory_budget`` bytes they run in chunks,
one after another. Each chunk is a fresh stacked model with the same shuffle
seeds, the same initial weights for its copies and a fresh optimiser, and no
kernel mixes copies, so the result is bit-for-bit that of one big run.
Callbacks see one chunk at a time and are told which copies it holds
(``callback.copies``), so per-copy records stitch together the same way.
"""

import math
import time
import warnings
import weakref

import numpy as np

from tinynet import _checks, backend, optimizers
from tinynet.callbacks import Callback
from tinynet.lab.sweep_memory import default_memory_budget, estimate_memory, split_rows
from tinynet.lab.sweep_result import SweepResult
from tinynet.model import Sequential
from tinynet.training import DivergenceWarning

_OWNER = "sweep"


def sweep(layers_fn, x, y, learning_rates, seeds=(0,), optimizer="sgd", loss=None,
          epochs=1, batch_size=32, validation_split=0.0, validation_data=None, schedule=None,
          same_init_across_rates=True, memory_budget=None, verbose=1, metrics=None,
          optimizer_kwargs=None, shuffle_seed=None, growth_factor=4.0, callbacks=None):
    """Train every (learning rate, seed) pair as one stacked model; return a SweepResult.

    layers_fn: a function of no arguments returning a NEW list of layers for one
      network on every call (it is called once per seed and once per chunk).
    x, y: the training data, as for ``Sequential.fit``.
    learning_rates: R distinct finite rates > 0 (e.g. np.logspace(-3, 0, 7)).
    seeds: S distinct non-negative ints (default (0,)): the initial weights of
      seed s are those ``Sequential(layers_fn(), seed=s)`` would draw.
    optimizer: a name ("sgd", "adam", "rmsprop", "adagrad"), an Optimizer class,
      or an instance whose hyper-parameters (momentum, beta_1, ...) are copied;
      its own learning_rate is replaced by the swept ones and it is not modified.
    optimizer_kwargs: extra keyword arguments for the optimiser (e.g. momentum=0.9).
    loss, metrics: as for ``compile`` (metrics=None: compile's default).
    epochs, batch_size, validation_split, validation_data: as for ``fit``
      (Keras defaults 1 and 32).
    schedule: None (constant rates), or a factory ``schedule(lr) -> schedule``
      called with each base rate, e.g. ``lambda lr: tn.schedules.CosineDecay(lr, 1000)``,
      so every copy follows the same shape scaled to its rate.
    same_init_across_rates: True (default): every rate starts from the same
      weights for a given seed, so differences come from the rate alone. False:
      copy (r, s) starts from seed ``seeds[s] + r * (max(seeds) - min(seeds) + 1)``,
      so the R*S initial seeds are all distinct and rate 0 uses ``seeds``.
    shuffle_seed: None (default): copy (r, s) sees the batches a
      ``Sequential(..., seed=seeds[s])`` would see (with
      same_init_across_rates=False too: the order is always seed s's). An int:
      every copy sees the one order of ``Sequential(..., seed=shuffle_seed)``
      (fit's shuffle="shared"), so seeds differ in their initial weights only.
    memory_budget: bytes the stacked copies may use (default: a quarter of the
      free memory: MemAvailable from /proc/meminfo, or the GPU's free memory on
      the cupy backend; 2 GiB when it cannot be read). See
      ``tinynet.lab.sweep_memory.estimate_memory`` for what one copy is counted as.
    verbose: 0 silent; 1 one line per chunk; 2 also fit's one line per epoch.
    growth_factor: as for ``fit``: growth past it is recorded (result.grew), and
      every copy trains on. A copy whose loss becomes NaN or infinite is frozen
      while the others train on (result.diverged); its values are NaN after
      that epoch. ``result.outcomes()`` classifies every copy at the end.
    callbacks: None, a list of ``tn.callbacks.Callback`` objects, or a function
      of no arguments returning a new list (called once per chunk, so nothing
      carries over from one chunk to the next). Each chunk's ``fit`` gets them,
      and before it sweep sets ``callback.copies`` to the chunk's copies: an int
      array whose j-th entry is the sweep-wide index k = r * S + s of the chunk
      model's copy j. A callback that keeps a per-copy record stores it under
      ``self.copies`` (e.g. ``self.values[self.copies] = ...`` in an array of
      R * S), and the records of all chunks then stitch into exactly those of
      one unchunked run. With a list, the same objects see every chunk (their
      on_train_begin ... on_train_end run once per chunk). A chunk of a single
      copy is an unstacked model (``model.stacked`` is False). Callbacks that
      freeze or stop copies (EarlyStopping, StopOnDivergence) judge each copy on
      its own, as in ``fit``.

    Raises ValueError for empty, non-positive, non-finite or repeated rates,
    repeated seeds, a layers_fn that returns layers already used by a model,
    and a memory budget too small for one copy.
    """
    rates = _check_rates(learning_rates)
    seeds = _check_seeds(seeds)
    if not callable(layers_fn):
        raise TypeError(f"{_OWNER}: layers_fn must be a function returning a new list of "
                        f"layers, got {type(layers_fn).__name__}.")
    if schedule is not None and not callable(schedule):
        raise TypeError(f"{_OWNER}: schedule must be None or a function lr -> schedule, "
                        f"got {schedule!r}.")
    if loss is None:
        raise ValueError(f"{_OWNER}: loss is required, e.g. loss='categorical_crossentropy'.")
    if verbose not in (0, 1, 2):
        raise ValueError(f"{_OWNER}: verbose must be 0, 1 or 2, got {verbose!r}.")
    shared = shuffle_seed is not None
    shuffle_seed = seeds[0] if shuffle_seed is None else _checks.nonneg_int(
        shuffle_seed, "shuffle_seed", _OWNER)
    epochs = _checks.positive_int(epochs, "epochs", _OWNER)
    batch_size = _checks.positive_int(batch_size, "batch_size", _OWNER)
    make_optimizer = _optimizer_factory(optimizer, optimizer_kwargs)
    make_callbacks = _callback_factory(callbacks)
    budget = _check_budget(memory_budget)
    x = _checks.host_array(x, "x", _OWNER, ndim=2, dtype="float")
    n_rates, n_seeds = rates.size, len(seeds)
    n_copies = n_rates * n_seeds

    # --- initial weights: one draw per distinct init seed --------------------
    factory = _LayerFactory(layers_fn)
    init_seeds = _init_seeds(seeds, n_rates, same_init_across_rates)  # (R, S)
    sets = {}
    for seed in np.unique(init_seeds):
        probe = factory.model(int(seed), 1, x.shape[1])
        sets[int(seed)] = probe.get_weights()
    copy_seeds = init_seeds.reshape(-1)

    # --- how many copies fit at once -------------------------------------------
    per_rate = rates.tolist() if schedule is None else _schedules_from(schedule, rates.tolist())
    copy_rates = [per_rate[k // n_seeds] for k in range(n_copies)]
    n_train, n_val = split_rows(x.shape[0], validation_split, validation_data)
    fixed, per_copy = estimate_memory(probe, make_optimizer(0.01), n_train, n_val,
                                      batch_size, epochs,
                                      per_copy_batches=not shared and n_seeds > 1)
    if fixed + per_copy > budget:
        raise ValueError(
            f"{_OWNER}: memory_budget={budget} bytes cannot hold even one copy: it needs about "
            f"{fixed + per_copy} bytes ({per_copy} per copy + {fixed} for the data). "
            "Raise memory_budget (or leave it None), or lower batch_size or the network size."
        )
    chunk = min(n_copies, int((budget - fixed) // per_copy))
    n_chunks = math.ceil(n_copies / chunk)
    chunk = math.ceil(n_copies / n_chunks)  # balance the chunks
    bounds = [(i, min(i + chunk, n_copies)) for i in range(0, n_copies, chunk)]
    if verbose:
        print(f"{_OWNER}: {n_rates} rates x {n_seeds} seeds = {n_copies} copies in "
              f"{len(bounds)} chunk(s) of up to {chunk} (about {_mib(fixed + chunk * per_copy)} "
              f"of a {_mib(budget)} budget)")

    # --- train chunk by chunk ---------------------------------------------------
    started = time.perf_counter()
    parts = []
    for i, (lo, hi) in enumerate(bounds):
        model = factory.model(shuffle_seed, hi - lo, x.shape[1])
        if not shared:  # copy (r, s) shuffles as seed s: k = r * S + s
            model._set_shuffle_seeds([seeds[k % n_seeds] for k in range(lo, hi)])
        weights = [np.stack([sets[int(s)][j] for s in copy_seeds[lo:hi]])
                   for j in range(len(sets[int(copy_seeds[0])]))]
        model.set_weights(weights if hi - lo > 1 else [w[0] for w in weights])
        model.compile(make_optimizer(copy_rates[lo:hi]), loss=loss,
                      **({} if metrics is None else {"metrics": metrics}))
        chunk_callbacks = make_callbacks()
        for cb in chunk_callbacks:
            cb.copies = np.arange(lo, hi)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)  # one summary at the end
            history = model.fit(x, y, epochs=epochs, batch_size=batch_size,
                                validation_split=validation_split,
                                validation_data=validation_data,
                                verbose=2 if verbose == 2 else 0,
                                shuffle="shared" if shared else True,
                                growth_factor=growth_factor, callbacks=chunk_callbacks)
        parts.append(_collect(history, hi - lo))
        del model, weights, history  # free this chunk before the next one is built
        if verbose and len(bounds) > 1:
            print(f"{_OWNER}: chunk {i + 1}/{len(bounds)} (copies {lo}..{hi - 1}) done, "
                  f"{time.perf_counter() - started:.1f} s")
    config = {"optimizer": type(make_optimizer(0.01)).__name__, "loss": _name(loss),
              "epochs": epochs, "batch_size": batch_size,
              "shuffle_seed": shuffle_seed if shared else None,
              "growth_factor": growth_factor,
              "same_init_across_rates": bool(same_init_across_rates),
              "init_seeds": init_seeds.tolist(), "schedule": None if schedule is None
              else repr(per_rate[0]), "chunk_sizes": [hi - lo for lo, hi in bounds],
              "memory_budget": budget, "memory_fixed": fixed, "memory_per_copy": per_copy,
              "dtype": backend.get_dtype(), "backend": backend.get_backend(),
              "seconds": time.perf_counter() - started}
    result = _assemble(parts, rates, seeds, config)
    _warn_diverged(result)
    return result


# --- checks ------------------------------------------------------------------------
def _check_rates(learning_rates):
    _checks.numbers_only(learning_rates, "learning_rates", _OWNER)  # not "0.1" nor [True]
    try:
        rates = np.array(learning_rates, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{_OWNER}: learning_rates must be a list of numbers, got "
                         f"{learning_rates!r}.") from exc
    if np.ndim(learning_rates) > 1:
        raise ValueError(f"{_OWNER}: learning_rates must be 1-D, got shape "
                         f"{np.shape(learning_rates)}.")
    if rates.size == 0:
        raise ValueError(f"{_OWNER}: learning_rates is empty; give at least one rate, e.g. "
                         "np.logspace(-3, 0, 7).")
    bad = ~np.isfinite(rates) | (rates <= 0)
    if np.any(bad):
        raise ValueError(f"{_OWNER}: learning_rates must be finite and > 0, got "
                         f"{rates[bad].tolist()} among them.")
    if np.unique(rates).size != rates.size:
        raise ValueError(f"{_OWNER}: learning_rates holds repeated values "
                         f"{rates.tolist()}; give each rate once (add seeds for repeats).")
    return rates


def _check_seeds(seeds):
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = (seeds,)
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"{_OWNER}: seeds must be a sequence of ints, got {seeds!r}.")
    seeds = tuple(_checks.nonneg_int(s, "seeds", _OWNER) for s in seeds)
    if not seeds:
        raise ValueError(f"{_OWNER}: seeds is empty; give at least one, e.g. seeds=range(5).")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{_OWNER}: seeds holds repeated values {list(seeds)}; each seed "
                         "must appear once (a repeat would train the same copy twice).")
    return seeds


def _check_budget(memory_budget):
    if memory_budget is None:
        return default_memory_budget()
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, (int, float, np.number)):
        raise TypeError(f"{_OWNER}: memory_budget must be a number of bytes or None, got "
                        f"{memory_budget!r}.")
    if not math.isfinite(memory_budget) or memory_budget <= 0:
        raise ValueError(f"{_OWNER}: memory_budget must be a positive number of bytes, got "
                         f"{memory_budget!r}.")
    return int(memory_budget)


def _optimizer_factory(optimizer, optimizer_kwargs):
    """A function rates -> a fresh optimiser of the requested kind and hyper-parameters."""
    kwargs = dict(optimizer_kwargs or {})
    for key in ("learning_rate", "lr"):
        if key in kwargs:
            raise ValueError(f"{_OWNER}: optimizer_kwargs must not set {key!r}; the rates "
                             "come from learning_rates.")
    if isinstance(optimizer, optimizers.Optimizer):
        config = dict(optimizer.get_config())
        config.pop("learning_rate", None)
        cls, kwargs = type(optimizer), {**config, **kwargs}
    elif isinstance(optimizer, type) and issubclass(optimizer, optimizers.Optimizer):
        cls = optimizer
    else:
        cls = type(optimizers.get(optimizer))
    try:
        cls(0.01, **kwargs)
    except TypeError as exc:
        raise ValueError(f"{_OWNER}: optimizer_kwargs {kwargs!r} do not fit "
                         f"{cls.__name__}: {exc}.") from exc
    return lambda rates: cls(rates, **kwargs)


def _callback_factory(callbacks):
    """A function () -> the list of callbacks for one chunk."""
    if callbacks is None:
        return list
    if callable(callbacks) and not isinstance(callbacks, Callback):
        def fresh():
            made = callbacks()
            return _check_callbacks(made, "callbacks() returned")
        return fresh
    listed = _check_callbacks(callbacks, "callbacks must be")
    return lambda: listed


def _check_callbacks(callbacks, what):
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"{_OWNER}: {what} a list of tn.callbacks.Callback objects (or "
                        f"callbacks=a function returning a new list), got {callbacks!r}.")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"{_OWNER}: {what} a list of tn.callbacks.Callback objects, got "
                            f"{cb!r} among them.")
    return callbacks


def _name(obj):
    return obj if isinstance(obj, str) else type(obj).__name__


def _mib(n_bytes):
    return f"{n_bytes / 2**20:.1f} MiB"


# --- layers and initial weights -------------------------------------------------
class _LayerFactory:
    """Calls layers_fn and checks that it gives new, unbuilt layer objects each time."""

    def __init__(self, layers_fn):
        self.layers_fn = layers_fn
        self.seen = weakref.WeakSet()  # a layer returned again is alive, so it is still here

    def model(self, seed, n_models, input_dim):
        layers = self.layers_fn()
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


def _init_seeds(seeds, n_rates, same_init):
    """(R, S) ints: the seed whose single-model weights copy (r, s) starts from."""
    base = np.array(seeds, dtype=np.int64)
    if same_init:
        return np.tile(base, (n_rates, 1))
    span = int(base.max() - base.min() + 1)
    return base[None, :] + span * np.arange(n_rates, dtype=np.int64)[:, None]


# --- results ----------------------------------------------------------------------
def _collect(history, k):
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
            "initial_loss": np.broadcast_to(initial, (k,))}


def _assemble(parts, rates, seeds, config):
    """Join the chunks along the copy axis, NaN after a non-finite epoch, reshape to (.., R, S)."""
    n_rates, n_seeds = rates.size, len(seeds)
    n_epochs = max(next(iter(p["history"].values())).shape[0] for p in parts)
    per_epoch = max(p["steps"]["loss"].shape[0] // max(next(iter(p["history"].values()))
                                                      .shape[0], 1) for p in parts)

    def join(arrays, length):
        padded = [np.concatenate([a, np.full((length - a.shape[0], a.shape[1]), np.nan)])
                  for a in arrays]
        return np.concatenate(padded, axis=1)

    history = {key: join([p["history"][key] for p in parts], n_epochs)
               for key in parts[0]["history"]}
    steps = {key: join([p["steps"][key] for p in parts], n_epochs * per_epoch)
             for key in ("lr", "loss")}
    flags = {key: np.concatenate([p[key] for p in parts])
             for key in ("diverged", "diverged_epoch", "grew", "grew_epoch", "initial_loss")}
    diverged, diverged_epoch = flags["diverged"], flags["diverged_epoch"].astype(np.int64)
    for k in np.flatnonzero(diverged):  # frozen from there on: its later values mean nothing
        for values in history.values():
            values[diverged_epoch[k]:, k] = np.nan  # epochs after it (1-based)
        for values in steps.values():
            values[diverged_epoch[k] * per_epoch:, k] = np.nan
    shape = (n_rates, n_seeds)
    return SweepResult(
        rates, seeds,
        {key: v.reshape(v.shape[0], *shape) for key, v in history.items()},
        diverged=diverged.reshape(shape), diverged_epoch=diverged_epoch.reshape(shape),
        steps={key: v.reshape(v.shape[0], *shape) for key, v in steps.items()},
        config=config, grew=flags["grew"].reshape(shape),
        grew_epoch=flags["grew_epoch"].reshape(shape),
        initial_loss=flags["initial_loss"].reshape(shape),
    )


def _warn_diverged(result):
    parts = []
    for what, flags in (("went non-finite (frozen there; NaN after)", result.diverged),
                        ("grew past the growth factor (trained on)", result.grew)):
        if not np.any(flags):
            continue
        counts = flags.sum(axis=1)
        which = ", ".join(f"{rate:.3g} ({count}/{result.n_seeds})"
                          for rate, count in zip(result.learning_rates.tolist(), counts.tolist())
                          if count)
        parts.append(f"{int(counts.sum())} of {flags.size} copies {what}, at learning rate(s) "
                     f"{which}")
    if parts:
        warnings.warn(f"{_OWNER}: " + "; ".join(parts) + " (seeds affected / seeds). See "
                      "result.diverged, result.grew and result.outcomes().", DivergenceWarning,
                      stacklevel=3)


_PROBE_STEPS = (0, 1, 10, 100, 1000, 10000)


def _schedules_from(factory, rates):
    """factory(rate) for every base rate, checked: a schedule each, and one that uses its rate.

    A factory that returns a number, or the same schedule whatever the rate
    (``lambda lr: 0.05``, ``lambda lr: CosineDecay(0.05, 100)``), would train
    every copy alike under labels that say otherwise: refused.
    """
    made = []
    for rate in rates:
        result = factory(rate)
        if not callable(result):
            raise TypeError(
                f"{_OWNER}: schedule({rate!r}) returned {result!r} ({type(result).__name__}), not "
                "a schedule. The factory builds a schedule from the base rate it is given, "
                "e.g. schedule=lambda lr: tn.schedules.CosineDecay(lr, 1000).")
        made.append(result)
    probes = {}
    for rate, sched in zip(rates, made):
        values = tuple(_checks.rate_value(sched(t), t, _OWNER, schedule=sched)
                       for t in _PROBE_STEPS)
        if values in probes and probes[values] != rate:
            raise ValueError(
                f"{_OWNER}: schedule({probes[values]!r}) and schedule({rate!r}) give the same "
                f"rates (steps {list(_PROBE_STEPS)}: {list(values)}): the factory ignores its "
                "argument, so the copies would not train at the rates they are labelled with. "
                "Build the schedule from the rate, e.g. lambda lr: tn.schedules.CosineDecay(lr, "
                "1000).")
        probes[values] = rate
    return made
