"""tn.sweep's argument checks: rates, seeds, budget, optimiser, callbacks, schedules;
and SweepResult's: its rates, seeds and arrays, which from_dict may read from a file.

Each check raises a ValueError or TypeError that names the argument, says
what was expected and what came. The factories (OptimizerFactory,
CallbackFactory) are classes, not closures, so that a chunk pickles with them
to a worker process.
"""

import math

import numpy as np

from tinynet import _checks, optimizers
from tinynet.callbacks import Callback

_OWNER = "sweep"


def check_threads(threads_per_worker, executor):
    """None (the default share of the cores), or a positive int, only with an executor."""
    if threads_per_worker is None:
        return None
    if executor is None:
        raise ValueError(f"{_OWNER}: threads_per_worker={threads_per_worker!r} applies to the "
                         "workers of an executor; without one, set the threads of this "
                         "process with tn.set_threads(n).")
    return _checks.positive_int(threads_per_worker, "threads_per_worker", _OWNER)


def check_rates(learning_rates, owner=_OWNER):
    _checks.numbers_only(learning_rates, "learning_rates", owner)  # not "0.1" nor [True]
    try:
        rates = np.array(learning_rates, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: learning_rates must be a list of numbers, got "
                         f"{learning_rates!r}.") from exc
    if np.ndim(learning_rates) > 1:
        raise ValueError(f"{owner}: learning_rates must be 1-D, got shape "
                         f"{np.shape(learning_rates)}.")
    if rates.size == 0:
        raise ValueError(f"{owner}: learning_rates is empty; give at least one rate, e.g. "
                         "np.logspace(-3, 0, 7).")
    bad = ~np.isfinite(rates) | (rates <= 0)
    if np.any(bad):
        raise ValueError(f"{owner}: learning_rates must be finite and > 0, got "
                         f"{rates[bad].tolist()} among them.")
    if np.unique(rates).size != rates.size:
        raise ValueError(f"{owner}: learning_rates holds repeated values "
                         f"{rates.tolist()}; give each rate once (add seeds for repeats).")
    return rates


def check_seeds(seeds, owner=_OWNER):
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = (seeds,)
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"{owner}: seeds must be a sequence of ints, got {seeds!r}.")
    seeds = tuple(_checks.nonneg_int(s, "seeds", owner) for s in seeds)
    if not seeds:
        raise ValueError(f"{owner}: seeds is empty; give at least one, e.g. seeds=range(5).")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{owner}: seeds holds repeated values {list(seeds)}; each seed "
                         "must appear once (a repeat would train the same copy twice).")
    return seeds


def check_floats(values, name, owner):
    """``values`` as a new float64 array (None becomes NaN); text, bools, ragged lists refused."""
    if not (isinstance(values, np.ndarray) and values.dtype.kind in "iuf"):
        try:
            _checks.numbers_only(values, name, owner)  # text or bools: a TypeError
        except ValueError:  # too ragged even for an object array: the cast below says so
            pass
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: {name} must be an array of numbers (None for NaN) with "
                         f"rows of one length; the {type(values).__name__} given is not: "
                         f"{exc}") from exc


def check_grid(values, name, owner, shape, kind):
    """A new array of ``shape`` (rates, seeds): kind "b" of True/False, "i" of integers,
    "f" of numbers (None becomes NaN)."""
    if kind == "f":
        arr = check_floats(values, name, owner)
    else:
        what = "True/False" if kind == "b" else "integers"
        try:
            arr = np.array(values)
        except ValueError as exc:  # a ragged list
            raise ValueError(f"{owner}: {name} must be an array {shape} (rates, seeds) of "
                             f"{what}, got a ragged list ({exc}).") from exc
        if arr.dtype.kind not in ("b" if kind == "b" else "iu"):
            raise TypeError(f"{owner}: {name} must hold {what}, got dtype {arr.dtype} "
                            f"(shape {arr.shape}).")
        arr = arr.astype(bool if kind == "b" else np.int64, copy=False)
    if arr.shape != shape:
        raise ValueError(f"{owner}: {name} must have shape {shape} (rates, seeds), got "
                         f"{arr.shape}.")
    return arr


def check_budget(memory_budget):
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, (int, float, np.number)):
        raise TypeError(f"{_OWNER}: memory_budget must be a number of bytes or None, got "
                        f"{memory_budget!r}.")
    if not math.isfinite(memory_budget) or memory_budget <= 0:
        raise ValueError(f"{_OWNER}: memory_budget must be a positive number of bytes, got "
                         f"{memory_budget!r}.")
    return int(memory_budget)


class OptimizerFactory:
    """rates -> a fresh optimiser of the requested kind and hyper-parameters (picklable)."""

    def __init__(self, optimizer, optimizer_kwargs):
        if optimizer_kwargs is not None and (
                not isinstance(optimizer_kwargs, dict)
                or not all(isinstance(key, str) for key in optimizer_kwargs)):
            raise TypeError(f"{_OWNER}: optimizer_kwargs must be None or a dict of keyword "
                            "arguments with string keys, e.g. {'momentum': 0.9}, got "
                            f"{optimizer_kwargs!r}.")
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
        self.cls, self.kwargs = cls, kwargs

    def __call__(self, rates):
        return self.cls(rates, **self.kwargs)


def callback_factory(callbacks, executor=None):
    """A picklable function () -> the list of callbacks for one chunk."""
    if callbacks is None:
        return CallbackFactory(None, [])
    if callable(callbacks) and not isinstance(callbacks, Callback):
        return CallbackFactory(callbacks, None)
    listed = _check_callbacks(callbacks, "callbacks must be")
    if executor is not None and listed:
        raise ValueError(f"{_OWNER}: with an executor, callbacks must be a function returning "
                         "a new list (callbacks=lambda: [...]): each chunk's callbacks run in "
                         "its worker, so one list cannot see every chunk. The callbacks of "
                         "each chunk come back in result.callbacks.")
    return CallbackFactory(None, listed)


class CallbackFactory:
    """() -> one chunk's callbacks: make() checked, or the same listed objects every time."""

    def __init__(self, make, listed):
        self.make, self.listed = make, listed

    def __call__(self):
        if self.make is None:
            return self.listed
        return _check_callbacks(self.make(), "callbacks() returned")


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


_PROBE_STEPS = (0, 1, 10, 100, 1000, 10000)


def schedules_from(factory, rates):
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
