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
VARIANTS = (("random_normal", "relu"), ("he_normal", "relu"), ("random_normal", "leaky_relu"))
ONE_CLASS = 0.95  # a run "predicts one class" when one class gets >= 95% of the points


@dataclass
class Config:
    """Everything that decides the numbers; stored in results.json."""

    seeds: int = 20
    epochs: int = 200
    n_samples: int = 1000
    grid_rates: tuple = tuple(float(r) for r in np.geomspace(1e-4, 2.0, 10))
    grid_seeds: int = 5
    variant_rates: tuple = (0.01, 0.1, 0.5)
    variant_seeds: int = 10
    data_samples: tuple = (10, 4000)  # extra raw runs on other data set sizes (the post: 10)
    batch_size: int = 64
    validation_split: float = 0.2
    threshold: float = 0.9
    sharpness_iters: int = 300  # at init, from a fixed start: until the quotient settles
    sharpness_tol: float = 1e-5  # relative change of the Rayleigh quotient that ends it
    trace_seeds: int = 4
    trace_points: int = 256
    trace_iters: int = 30  # per later check, warm-started
    data_seed: int = 0
    post_rates: tuple = field(default=POST_RATES)

    @classmethod
    def make(cls, seeds=None, epochs=None, quick=False, samples=None):
        """The default run, or the seconds-long --quick one; the others override."""
        cfg = cls()
        if quick:
            cfg = cls(seeds=2, epochs=4, n_samples=256, grid_rates=(1e-3, 1e-1, 1.0),
                      grid_seeds=1, variant_rates=(0.1, 0.5), variant_seeds=1,
                      data_samples=(10,),
                      sharpness_iters=150, trace_seeds=1, trace_points=64, trace_iters=5)
        if seeds is not None:
            cfg.seeds = _checks.positive_int(seeds, "seeds", "reproduce")
            cfg.grid_seeds = min(cfg.grid_seeds, cfg.seeds)
            cfg.variant_seeds = min(cfg.variant_seeds, cfg.seeds)
        if epochs is not None:
            cfg.epochs = _checks.positive_int(epochs, "epochs", "reproduce")
        if samples is not None:
            cfg.n_samples = _checks.positive_int(samples, "samples", "reproduce")
            if cfg.n_samples < 20:
                raise ValueError(f"reproduce: samples must be at least 20, got {samples}.")
        return cfg


def make_data(cfg, n_samples=None):
    """{"raw": x, "standardised": x'}, labels y, n_train (the first rows; Keras's split).

    n_samples: default cfg.n_samples.
    """
    n_samples = cfg.n_samples if n_samples is None else n_samples
    x, y = tn.datasets.make_blobs(n_samples, np.array(CENTERS), CLUSTER_STD,
                                  seed=cfg.data_seed)  # shuffled, so the tail is a fair sample
    n_train = int(math.ceil(n_samples * (1.0 - cfg.validation_split)))
    scaler = tn.data.StandardScaler().fit(x[:n_train])  # fitted on the training part only
    return {"raw": x, "standardised": scaler.transform(x)}, y, n_train


def post_layers(init="random_normal", activation="relu"):
    """The post's network: Dense(10, relu) x4 -> Dense(4, softmax), zero biases."""
    def kernel():
        return tn.initializers.RandomNormal(0.0, 0.05) if init == "random_normal" else init

    layers = [tn.layers.Dense(10, activation=activation, kernel_initializer=kernel(),
                              input_dim=2)]
    layers += [tn.layers.Dense(10, activation=activation, kernel_initializer=kernel())
               for _ in range(3)]
    return layers + [tn.layers.Dense(4, activation="softmax", kernel_initializer=kernel())]


def seed_weights(seeds, variant):
    """get_weights() of each seed's network, stacked on a leading axis (S, ...)."""
    per_seed = [tn.Sequential(post_layers(*variant), seed=s).get_weights() for s in seeds]
    return [np.stack(ws) for ws in zip(*per_seed)]



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
