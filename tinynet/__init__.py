"""tinynet: a from-scratch NumPy/CuPy neural-network framework for learning what
the learning rate does to training.

    import tinynet as tn
    model = tn.Sequential([tn.layers.Dense(10, activation="relu", input_dim=2),
                           tn.layers.Dense(4, activation="softmax")], seed=0)
    model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=20, batch_size=64)

The house, from the ground up (each floor imports only the floors below it;
the import-linter contracts in setup.cfg and tests/test_house.py hold it so):

  kernels    backend, threads, ops: arrays and their namespace; CPU threads
             layers/, losses, optimizers/, schedules/, initializers: the maths,
               each with one forward and one backward (or one update)
             shuffling, stats: batch orders per copy; statistics over runs
  files      saving, _model_schema, _files: the model file format, atomic writes
  engine     model (Sequential: build, compile, forward, backward, train_step),
             training (the loop behind fit), history, callbacks/, metrics,
             data, datasets/
             fused: the fast sibling of Sequential.train_step, the only module
               that knows a shortcut exists (compile picks it; tests/test_fused.py
               holds it equal to the plain step), with fused_threads (its split
               over threads) and flat (its one buffer of parameters)
  tools      lab/: sweeps, lr_find, diagnostics, gradcheck: they run the engine
  figures    plot/: they read results, never run a tool
  commands   apps/: the CLI, the demo, reproduce (reached only from __main__)
"""

from tinynet import (
    backend,
    callbacks,
    data,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    plot,
    schedules,
    stats,
    threads,
)
from tinynet.backend import (
    BackendError,
    available_backends,
    get_backend,
    get_dtype,
    set_backend,
    set_dtype,
    to_numpy,
)
from tinynet.history import History
from tinynet.lab import diagnostics, gradcheck, outcomes
from tinynet.lab.lr_finder import LRFinderResult, lr_find
from tinynet.lab.sweep import SweepError, sweep
from tinynet.lab.sweep_result import SweepResult
from tinynet.model import Sequential, load_model
from tinynet.plot import sweep as plot_sweep
from tinynet.threads import get_threads, set_threads
from tinynet.training import DivergenceWarning

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "DivergenceWarning",
    "History",
    "LRFinderResult",
    "Sequential",
    "SweepError",
    "SweepResult",
    "available_backends",
    "backend",
    "callbacks",
    "data",
    "datasets",
    "diagnostics",
    "get_backend",
    "get_dtype",
    "gradcheck",
    "initializers",
    "layers",
    "load_model",
    "lr_find",
    "losses",
    "metrics",
    "optimizers",
    "outcomes",
    "plot",
    "plot_sweep",
    "schedules",
    "set_backend",
    "set_dtype",
    "set_threads",
    "stats",
    "threads",
    "get_threads",
    "sweep",
    "to_numpy",
]
