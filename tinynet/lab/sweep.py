"""tn.sweep: a learning-rate x seed grid trained as one stacked model.

Every (rate, seed) pair is one copy of the network; the R*S copies train at
once through the ``n_models`` axis of the engine. Copy index k = r * S + s
(rate-major), so a (K,) array reshapes to (R, S) in C order. A seed is a whole
run: copy (r, s) starts from the weights of seed s and sees the batches of
seed s, so the rates of one seed are a paired comparison (same start, same
batches) and different seeds differ in both.

When the copies would not fit in ``memory_budget`` bytes they run in chunks
(``sweep_chunk.train_chunk``), one after another here or as the tasks of an
executor (``sweep_executor``). Each chunk is a fresh stacked model with the
same shuffle seeds, the same initial weights for its copies and a fresh
optimiser, and no kernel mixes copies, so the result is bit-for-bit that of
one big run. Callbacks see one chunk at a time and are told which copies it
holds (``callback.copies``), so per-copy records stitch together the same way.

The steps of ``sweep``: check the arguments, draw the initial weights, plan the
chunks within the budget, run them, and assemble the chunks' records.
"""

import math
import time

import numpy as np

from tinynet import _checks, backend
from tinynet.lab.sweep_checks import (
    OptimizerFactory,
    callback_factory,
    check_budget,
    check_rates,
    check_seeds,
    check_threads,
    schedules_from,
)
from tinynet.lab.sweep_chunk import ChunkJob, LayerFactory, SweepSetup
from tinynet.lab.sweep_executor import (
    SweepError,
    as_executor,
    default_worker_budget,
    run_chunks,
    task_slots,
    worker_threads,
)
from tinynet.lab.sweep_memory import estimate_memory, split_rows
from tinynet.lab.sweep_merge import (
    assemble,
    raise_failures,
    warn_diverged,
    warn_lost_callbacks,
    warn_slow_workers,
)

__all__ = ["sweep", "SweepError"]

_OWNER = "sweep"


def sweep(layers_fn, x, y, learning_rates, seeds=(0,), optimizer="sgd", loss=None,
          epochs=1, batch_size=32, validation_split=0.0, validation_data=None, schedule=None,
          same_init_across_rates=True, memory_budget=None, verbose=1, metrics=None,
          optimizer_kwargs=None, shuffle_seed=None, growth_factor=4.0, callbacks=None,
          executor=None, threads_per_worker=None):
    """Train every (learning rate, seed) pair as one stacked model; return a SweepResult.

    layers_fn: a function of no arguments returning a NEW, non-empty list of layers
      for one network on every call (it is called once per seed and once per chunk).
    x, y: the training data, as for ``Sequential.fit``.
    learning_rates: R distinct finite rates > 0 (e.g. np.logspace(-3, 0, 7)).
    seeds: S distinct non-negative ints (default (0,)): the initial weights of
      seed s are those ``Sequential(layers_fn(), seed=s)`` would draw.
    optimizer: a name ("sgd", "adam", "rmsprop", "adagrad", "adadelta", ...), an Optimizer class,
      or an instance whose hyper-parameters (momentum, beta_1, ...) are copied;
      its own learning_rate is replaced by the swept ones and it is not modified.
    optimizer_kwargs: None or a dict of extra keyword arguments for the optimiser
      (e.g. {"momentum": 0.9}).
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
    memory_budget: bytes one chunk may use, in the process that trains it
      (default: a quarter of the free memory: MemAvailable from /proc/meminfo,
      or the GPU's free memory on the cupy backend; 2 GiB when it cannot be
      read). With an executor it is per worker (default: see
      ``sweep_executor.default_worker_budget``), and a worker also holds the
      data it was sent. See ``tinynet.lab.sweep_memory.estimate_memory`` for
      what is counted: the data once on the device, no copy per copy or epoch.
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
      its own, as in ``fit``, and a stopped copy's records (see SweepResult:
      its frozen value, ``stopped_epoch``) are the same for every chunking. A
      callback that ends a whole fit (``model.stop_training`` without freezing)
      ends only its chunk. After its chunk a callback's ``model`` is None (the
      chunk's model is freed); ``result.callbacks`` lists each chunk's callbacks.
    executor: None (default: the chunks run here, one after another), or any
      ``concurrent.futures.Executor``: ``ProcessPoolExecutor(n)`` for the cores of
      this machine, ``distributed.Client(...).get_executor()`` (or the Client)
      for a Dask cluster. Each chunk is one task, and there are at least as
      many chunks as the executor runs tasks at once; Dask receives the data once
      per worker (Client.scatter), a process pool with every task. The result
      is the one ``executor=None`` gives, bit for bit. layers_fn, a callbacks
      factory and a schedule factory must pickle (a process pool: defined at
      module level; Dask also takes lambdas), callbacks must be a factory, and
      the workers need tinynet installed. A chunk that raises does not stop the
      others: a SweepError is raised at the end, with ``error.result`` (the
      other chunks' results, ``result.failed`` marking the lost copies) and
      ``error.failures``.
    threads_per_worker: the BLAS threads of each worker (tn.set_threads in the
      worker before its chunk). Default: a process pool's workers share this
      machine's cores (cores // max_workers, at least 1); a Dask worker gets its
      host's cores // the task slots of the workers on that host; another
      executor's threads are left alone. The worker process keeps that count.

    Raises ValueError for empty, non-positive, non-finite or repeated rates,
    repeated seeds, a layers_fn that returns no layers or layers already used by
    a model, and a memory budget too small for one copy; TypeError for
    optimizer_kwargs that are not a dict with string keys; SweepError (a
    RuntimeError) when chunks failed on an executor's workers.
    """
    # --- 1. the arguments, and what every chunk shares ---------------------------
    rates, seeds = check_rates(learning_rates), check_seeds(seeds)
    _check_arguments(layers_fn, schedule, loss, verbose)
    executor = as_executor(executor)
    threads_per_worker = check_threads(threads_per_worker, executor)
    shared = shuffle_seed is not None
    setup = SweepSetup(
        layers_fn=layers_fn, loss=loss, metrics=metrics, verbose=2 if verbose == 2 else 0,
        make_optimizer=OptimizerFactory(optimizer, optimizer_kwargs),
        make_callbacks=callback_factory(callbacks, executor), shared=shared,
        shuffle_seed=seeds[0] if not shared else _checks.nonneg_int(
            shuffle_seed, "shuffle_seed", _OWNER),
        x=_checks.host_array(x, "x", _OWNER, ndim=2, dtype="float", copy=False),  # read only
        y=y, threads={}, backend=backend.get_backend(), dtype=backend.get_dtype())
    setup.fit_args = dict(epochs=_checks.positive_int(epochs, "epochs", _OWNER),
                          batch_size=_checks.positive_int(batch_size, "batch_size", _OWNER),
                          validation_split=validation_split, validation_data=validation_data,
                          growth_factor=growth_factor)
    budget = (default_worker_budget(executor) if memory_budget is None
              else check_budget(memory_budget))
    # --- 2. initial weights: one draw per distinct init seed ----------------------
    same_init_across_rates = _checks.boolean(same_init_across_rates, "same_init_across_rates",
                                             _OWNER)
    init_seeds = _init_seeds(seeds, rates.size, same_init_across_rates)  # (R, S)
    per_rate = rates.tolist() if schedule is None else schedules_from(schedule, rates.tolist())
    weights, probe = _initial_weights(LayerFactory(layers_fn), init_seeds, setup.x.shape[1])
    # --- 3. how many copies fit at once, and each chunk's job -----------------------
    plan = _plan_chunks(probe, setup, budget, rates.size * len(seeds),
                        host_copy=not (isinstance(x, np.ndarray) and x.dtype == np.float64),
                        shipped=0 if executor is None else setup.x.nbytes + np.asarray(y).nbytes,
                        min_chunks=task_slots(executor))
    setup.remote = executor is not None
    if executor is not None:
        setup.threads = worker_threads(executor, threads_per_worker)
    jobs = [_job(lo, hi, weights, init_seeds.reshape(-1), per_rate, seeds, shared)
            for lo, hi in plan["bounds"]]
    if verbose:
        _say_plan(rates.size, len(seeds), plan, budget, executor)
    # --- 4. train the chunks, here or on the executor's workers ---------------------
    started = time.perf_counter()
    outcomes = run_chunks(jobs, setup, executor, _reporter(verbose, plan["bounds"], started))
    config = _config(setup, plan, budget, init_seeds, shared, same_init_across_rates,
                     None if schedule is None else repr(per_rate[0]), executor,
                     threads_per_worker)
    config["seconds"] = time.perf_counter() - started
    # --- 5. one SweepResult in copy order ------------------------------------------
    result = assemble(outcomes, rates, seeds, config, plan["per_epoch"])
    raise_failures(outcomes, plan["bounds"], result)
    warn_slow_workers(outcomes)
    warn_lost_callbacks(outcomes)
    warn_diverged(result)
    return result


# --- the steps ----------------------------------------------------------------------
def _check_arguments(layers_fn, schedule, loss, verbose):
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


def _init_seeds(seeds, n_rates, same_init):
    """(R, S) ints: the seed whose single-model weights copy (r, s) starts from."""
    base = np.array(seeds, dtype=np.int64)
    if same_init:
        return np.tile(base, (n_rates, 1))
    span = int(base.max() - base.min() + 1)
    return base[None, :] + span * np.arange(n_rates, dtype=np.int64)[:, None]


def _initial_weights(factory, init_seeds, input_dim):
    """({init seed: its single model's weights}, one of those models), one draw per seed."""
    sets = {}
    for seed in np.unique(init_seeds):
        probe = factory.model(int(seed), 1, input_dim)
        sets[int(seed)] = probe.get_weights()
    return sets, probe


def _plan_chunks(probe, setup, budget, n_copies, host_copy, shipped, min_chunks=1):
    """How the copies split into chunks that fit the budget: bounds, sizes, memory.

    At least min_chunks chunks (an executor's task slots, so every worker has one),
    as few as the budget allows beyond that, balanced in size.
    """
    args = setup.fit_args
    n_train, n_val = split_rows(setup.x.shape[0], args["validation_split"],
                                args["validation_data"])
    fixed, per_copy = estimate_memory(probe, setup.make_optimizer(0.01), n_train, n_val,
                                      args["batch_size"], args["epochs"], host_copy=host_copy,
                                      held_bytes=shipped)
    if fixed + per_copy > budget:
        raise ValueError(
            f"{_OWNER}: memory_budget={budget} bytes cannot hold even one copy: it needs about "
            f"{fixed + per_copy} bytes ({per_copy} per copy + {fixed} for the data). "
            "Raise memory_budget (or leave it None), or lower batch_size or the network size."
        )
    chunk = min(n_copies, int((budget - fixed) // per_copy))
    n_chunks = min(n_copies, max(math.ceil(n_copies / chunk), min_chunks))
    chunk = math.ceil(n_copies / n_chunks)  # balance the chunks
    setup.per_epoch = math.ceil(n_train / args["batch_size"])
    return {"bounds": [(i, min(i + chunk, n_copies)) for i in range(0, n_copies, chunk)],
            "chunk": chunk, "fixed": fixed, "per_copy": per_copy,
            "per_epoch": setup.per_epoch}


def _job(lo, hi, weights, copy_seeds, per_rate, seeds, shared):
    """Copies lo..hi-1: their stacked initial weights, rates and batch-order seeds."""
    n_seeds = len(seeds)
    first = weights[int(copy_seeds[lo])]
    stacked = [np.stack([weights[int(s)][j] for s in copy_seeds[lo:hi]])
               for j in range(len(first))]
    return ChunkJob(lo, hi, stacked, [per_rate[k // n_seeds] for k in range(lo, hi)],
                    None if shared else [seeds[k % n_seeds] for k in range(lo, hi)])


def _say_plan(n_rates, n_seeds, plan, budget, executor):
    where = "" if executor is None else f" on {type(executor).__name__}"
    print(f"{_OWNER}: {n_rates} rates x {n_seeds} seeds = {n_rates * n_seeds} copies in "
          f"{len(plan['bounds'])} chunk(s) of up to {plan['chunk']}{where} (about "
          f"{_mib(plan['fixed'] + plan['chunk'] * plan['per_copy'])} of a {_mib(budget)} "
          f"budget{' per worker' if executor is not None else ''})")


def _reporter(verbose, bounds, started):
    def report(i, part):
        if verbose and len(bounds) > 1:
            lo, hi = bounds[i]
            print(f"{_OWNER}: chunk {i + 1}/{len(bounds)} (copies {lo}..{hi - 1}) "
                  f"{'done' if part is not None else 'FAILED'}, "
                  f"{time.perf_counter() - started:.1f} s")
    return report


def _config(setup, plan, budget, init_seeds, shared, same_init, schedule, executor,
            threads_per_worker):
    return {"optimizer": setup.make_optimizer.cls.__name__, "loss": _name(setup.loss),
            "epochs": setup.fit_args["epochs"], "batch_size": setup.fit_args["batch_size"],
            "shuffle_seed": setup.shuffle_seed if shared else None,
            "growth_factor": setup.fit_args["growth_factor"],
            "same_init_across_rates": bool(same_init), "init_seeds": init_seeds.tolist(),
            "schedule": schedule, "chunk_sizes": [hi - lo for lo, hi in plan["bounds"]],
            "memory_budget": budget, "memory_fixed": plan["fixed"],
            "memory_per_copy": plan["per_copy"], "dtype": backend.get_dtype(),
            "backend": backend.get_backend(),
            "executor": None if executor is None else type(executor).__name__,
            "threads_per_worker": threads_per_worker}


def _name(obj):
    return obj if isinstance(obj, str) else type(obj).__name__


def _mib(n_bytes):
    return f"{n_bytes / 2**20:.1f} MiB"
