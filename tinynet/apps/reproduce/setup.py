"""The experiment's set-up: the post's network, its data and the run's configuration.

A Q&A post trained Dense(10, relu) x4 -> Dense(4, softmax) with RandomNormal(0,
0.05) kernels, plain SGD, categorical cross-entropy, batch 64, 200 epochs and
validation_split=0.2 on 2-D points in four clusters. The data set (how many
points, how spread) is this project's choice: the post does not give it.
"""

import math
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

import tinynet as tn
from tinynet import _checks

POST_RATES = (0.001, 0.01, 0.1, 0.4, 0.5)
GOOD, HIGH, LOW = 0.1, 0.5, 0.001  # the post's three panels
CENTERS = ((-10.0, -10.0), (-10.0, 10.0), (10.0, -10.0), (10.0, 10.0))
CLUSTER_STD = 2.0
SCALINGS = ("raw", "standardised")
# the scale swap of Q2: centred at the raw scale (standardised x sigma), and the raw
# (uncentred) points divided down to unit scale (x / sigma)
SWAPS = ("centred", "unit-scale")
POST_VARIANT = ("random_normal", "relu")
HE = ("he_normal", "relu")
ONE_CLASS = 0.95  # a run "predicts one class" when one class gets >= 95% of the points


def leaky(slope):
    """The variant of the post's network with LeakyReLU(slope) hidden units."""
    return ("random_normal", f"leaky_relu:{slope:g}")


@dataclass
class Config:
    """Everything that decides the numbers; stored in results.json."""

    seeds: int = 20
    epochs: int = 200
    long_epochs: int = 1000  # the longer budget, where a verdict could change with it
    n_samples: int = 1000
    grid_rates: tuple = tuple(float(r) for r in np.geomspace(1e-4, 2.0, 10))
    grid_seeds: int = 2
    variant_rates: tuple = (0.5,)  # He against the post's init, raw and standardised
    leaky_slopes: tuple = (0.2, 0.01)
    leaky_rates: tuple = (0.5,)
    warmup_rates: tuple = (0.4, 0.5)  # the ablation of the early steps
    warmup_epochs: int = 20  # spans the escape from the plateau at 0.4-0.5 (lr x epochs ~ 8)
    ablation_seeds: int = 40  # the warm-up, LeakyReLU and their plain ReLU control
    exact_rates: tuple = (0.5,)
    swap_rates: tuple = (0.1,)
    raw_horizon_rates: tuple = (0.01,)
    standardised_horizon_rates: tuple = (0.1,)
    data_samples: tuple = (10,)  # extra raw runs on other data set sizes (the post: 10)
    batch_size: int = 64
    validation_split: float = 0.2
    threshold: float = 0.9
    sharpness_iters: int = 150  # at init, from a fixed start: until the quotient settles
    sharpness_tol: float = 1e-5  # relative change of the Rayleigh quotient that ends it
    trace_seeds: int = 4
    trace_points: int = 256
    trace_iters: int = 20  # per later check, warm-started
    overshoot_points: int = 128  # the fixed batch of the overshoot measure (post runs)
    data_seed: int = 0
    post_rates: tuple = field(default=POST_RATES)

    @classmethod
    def make(cls, seeds=None, epochs=None, quick=False, samples=None):
        """The default run, or the seconds-long --quick one; the others override."""
        cfg = cls()
        if quick:
            cfg = cls(seeds=2, epochs=4, long_epochs=8, n_samples=256, ablation_seeds=3,
                      grid_rates=(1e-3, 1e-1, 1.0), grid_seeds=1, warmup_epochs=1,
                      sharpness_iters=150, trace_seeds=1, trace_points=64, trace_iters=5)
        if seeds is not None:
            cfg.seeds = _checks.positive_int(seeds, "seeds", "reproduce")
            cfg.grid_seeds = min(cfg.grid_seeds, cfg.seeds)
            cfg.ablation_seeds = 2 * cfg.seeds
        if epochs is not None:
            cfg.epochs = _checks.positive_int(epochs, "epochs", "reproduce")
            cfg.long_epochs = 5 * cfg.epochs
        if samples is not None:
            cfg.n_samples = _checks.positive_int(samples, "samples", "reproduce")
            if cfg.n_samples < 20:
                raise ValueError(f"reproduce: samples must be at least 20, got {samples}.")
        return cfg


@dataclass(frozen=True)
class Job:
    """One tn.sweep of the run: which inputs, network, rates, seeds, budget and loss.

    kind: "post" (the post's rates), "grid", "variant" (another init or
    activation), "plain" (the post's network with more seeds: the control of
    the warm-up and LeakyReLU runs), "exact" (the unclipped loss), "warmup" (a linear warm-up over
    the first warmup_epochs), "swap" (Q2's scale swap), "horizon" (the longer
    budget) or "samples=N" (another data set size).
    """

    scaling: str
    kind: str
    variant: tuple
    rates: tuple
    seeds: int
    epochs: int

    @property
    def key(self):
        return (self.scaling, self.kind, self.variant)


def jobs(cfg):
    """Every sweep of the run, in the order they train."""
    main, s, e = POST_VARIANT, cfg.seeds, cfg.epochs
    out = [Job(sc, "post", main, cfg.post_rates, s, e) for sc in SCALINGS]
    out += [Job(sc, "grid", main, cfg.grid_rates, cfg.grid_seeds, e) for sc in SCALINGS]
    out += [Job(sc, "variant", HE, cfg.variant_rates, s, e) for sc in SCALINGS]
    a_s = cfg.ablation_seeds
    out += [Job("raw", "variant", leaky(a), cfg.leaky_rates, a_s, e) for a in cfg.leaky_slopes]
    plain_rates = tuple(sorted(set(cfg.warmup_rates) | set(cfg.leaky_rates)))
    out += [Job("raw", "plain", main, plain_rates, a_s, e),
            Job("raw", "warmup", main, cfg.warmup_rates, a_s, e),
            Job("raw", "exact", main, cfg.exact_rates, s, e)]
    out += [Job(sc, "swap", main, cfg.swap_rates, s, e) for sc in SWAPS]
    out += [Job("raw", "horizon", main, cfg.raw_horizon_rates, s, cfg.long_epochs),
            Job("standardised", "horizon", main, cfg.standardised_horizon_rates, s,
                cfg.long_epochs)]
    out += [Job("raw", f"samples={n}", main, cfg.post_rates, s, e) for n in cfg.data_samples]
    return out


def make_data(cfg, n_samples=None):
    """{"raw", "standardised", "centred", "unit-scale": x}, labels y, n_train (the first rows).

    Keras's validation_split takes the tail, so the scaler (mean mu, std sigma
    per feature) is fitted on the first n_train rows only: standardised =
    (x - mu) / sigma, centred = x - mu (the raw scale), unit-scale = x / sigma
    (the raw centre). n_samples: default cfg.n_samples.
    """
    n_samples = cfg.n_samples if n_samples is None else n_samples
    x, y = tn.datasets.make_blobs(n_samples, np.array(CENTERS), CLUSTER_STD,
                                  seed=cfg.data_seed)  # shuffled, so the tail is a fair sample
    n_train = int(math.ceil(n_samples * (1.0 - cfg.validation_split)))
    scaler = tn.data.StandardScaler().fit(x[:n_train])  # fitted on the training part only
    data = {"raw": x, "standardised": scaler.transform(x),
            "centred": x - scaler.mean_, "unit-scale": x / scaler.scale_}
    return data, y, n_train


def activation_layer(name):
    """A new hidden activation from a variant's name: "relu" or "leaky_relu:SLOPE"."""
    if name.startswith("leaky_relu:"):
        return tn.layers.LeakyReLU(float(name.split(":")[1]))
    return name


def post_layers(init="random_normal", activation="relu"):
    """The post's network: Dense(10, relu) x4 -> Dense(4, softmax), zero biases."""
    def kernel():
        return tn.initializers.RandomNormal(0.0, 0.05) if init == "random_normal" else init

    layers = [tn.layers.Dense(10, activation=activation_layer(activation),
                              kernel_initializer=kernel(), input_dim=2)]
    layers += [tn.layers.Dense(10, activation=activation_layer(activation),
                               kernel_initializer=kernel()) for _ in range(3)]
    return layers + [tn.layers.Dense(4, activation="softmax", kernel_initializer=kernel())]


def seed_weights(seeds, variant):
    """get_weights() of each seed's network, stacked on a leading axis (S, ...)."""
    per_seed = [tn.Sequential(post_layers(*variant), seed=s).get_weights() for s in seeds]
    return [np.stack(ws) for ws in zip(*per_seed)]


CHECKS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50, 70, 100, 150, 200)


def check_epochs(epochs):
    """The epochs after which the dead units are counted: CHECKS, then every 100th, the last."""
    at = {e for e in CHECKS if e <= epochs} | set(range(300, epochs + 1, 100))
    return sorted(at | {epochs})


# --- the output folder -----------------------------------------------------------
def prepare_out(out_dir):
    """Create the output folder (or reuse it) and check that it takes files."""
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OSError(f"reproduce: the output path {out_dir!r} is a file, not a folder.")
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise OSError(f"reproduce: cannot write to the output folder {out_dir!r} "
                      f"({exc.strerror or exc}).") from None
    return out_dir
