"""The demo's ingredients: rates from the command line, the data, the schedules, the model."""

import math

import numpy as np

import tinynet as tn
from tinynet import _checks
from tinynet.plot.palette import COPY_NAMES

DATASETS = ("blobs", "moons", "spirals", "circles")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
SCHEDULES = ("constant", "cosine", "exponential", "step")
DEFAULT_RATES = "0.001,0.05,0.5,3.0"
MAX_COPIES = len(COPY_NAMES)  # copies on screen, spares for forks included


def parse_rates(text, unique=False):
    """'0.01,0.1,0.5' (or a list of numbers) -> [0.01, 0.1, 0.5]; ValueError naming a bad entry.

    unique=True (the command line's --rates, as tn.sweep) refuses a rate given twice;
    a session may hold equal copies (a fork starts at its source's rate).
    """
    parts = str(text).split(",") if isinstance(text, str) else list(text)
    rates = []
    for part in parts:
        try:
            rate = float(part.strip() if isinstance(part, str) else part)
        except (TypeError, ValueError):
            raise ValueError(f"demo: --rates must be numbers separated by commas, got "
                             f"{part!r} in {text!r}.") from None
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"demo: every rate must be a finite number > 0, got {part!r}.")
        rates.append(rate)
    if not 1 <= len(rates) <= MAX_COPIES:
        raise ValueError(f"demo: give 1 to {MAX_COPIES} rates, got {len(rates)}.")
    repeated = sorted({r for r in rates if rates.count(r) > 1}) if unique else []
    if repeated:  # as tn.sweep refuses them: two identical runs side by side show nothing
        raise ValueError(f"demo: --rates holds {', '.join(map(repr, repeated))} more than "
                         f"once ({text!r}); give each rate once.")
    return rates


def make_dataset(name, seed=0):
    """(x standardised, y int, n_classes) for one of DATASETS."""
    _checks.choice(name, "dataset", "demo", DATASETS)
    ds = tn.datasets
    if name == "blobs":
        x, y = ds.make_blobs(600, 4, cluster_std=1.5, seed=seed)
    elif name == "moons":
        x, y = ds.make_moons(600, noise=0.15, seed=seed)
    elif name == "spirals":
        x, y = ds.make_spirals(600, n_classes=3, noise=0.15, seed=seed)
    else:
        x, y = ds.make_circles(600, noise=0.08, factor=0.5, seed=seed)
    return tn.data.StandardScaler().fit_transform(x), np.asarray(y), int(np.max(y)) + 1


def make_schedule(name, rate, total_steps):
    """A schedule from tn.schedules scaled to ``rate``, or the float itself."""
    _checks.choice(name, "schedule", "demo", SCHEDULES)
    sched = tn.schedules
    if name == "constant":
        return float(rate)
    if name == "cosine":
        return sched.CosineDecay(rate, total_steps)
    if name == "exponential":
        return sched.ExponentialDecay(rate, max(total_steps // 4, 1), 0.5)
    return sched.StepDecay(rate, max(total_steps // 3, 1), drop=0.3)


def build(n_copies, n_classes, optimizer, learning_rates, seed=0):
    """A compiled stacked model of ``n_copies`` copies, all from the weights of ``seed``."""
    layers = [tn.layers.Dense(32, activation="relu", kernel_initializer="he_normal", input_dim=2),
              tn.layers.Dense(32, activation="relu", kernel_initializer="he_normal"),
              tn.layers.Dense(n_classes, activation="softmax")]
    model = tn.Sequential(layers, seed=seed, n_models=n_copies, same_init=True)
    _checks.choice(optimizer, "optimizer", "demo", OPTIMIZERS)
    opt = tn.optimizers.get(optimizer)
    opt.learning_rate = list(learning_rates)
    return model.compile(opt, loss="sparse_categorical_crossentropy")
