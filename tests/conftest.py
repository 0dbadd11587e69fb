"""Shared fixtures: every engine test runs on each backend that imports here."""

import os

import matplotlib
import numpy as np
import pytest

import tinynet as tn

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

BACKENDS = ["numpy", "array_api_strict", "cupy"]


def _usable(name):
    try:
        tn.set_backend(name)
    except tn.BackendError:
        return False
    finally:
        tn.set_backend("numpy")
    return True


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Select a backend (skipping one that is missing) with float64, then restore."""
    if not _usable(request.param):
        pytest.skip(f"backend {request.param} is not available here")
    tn.set_backend(request.param)
    tn.set_dtype("float64")
    yield request.param
    tn.set_backend("numpy")
    tn.set_dtype("float32")


@pytest.fixture
def float64():
    """NumPy backend in float64 for the test, float32 restored afterwards."""
    tn.set_backend("numpy")
    tn.set_dtype("float64")
    yield
    tn.set_dtype("float32")


@pytest.fixture(autouse=True)
def _reset_backend():
    yield
    tn.set_backend("numpy")
    tn.set_dtype("float32")


def blobs(n=200, seed=0):
    """Four well-separated 2-D clusters with integer labels (a small test problem)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[-4.0, -4.0], [-4.0, 4.0], [4.0, -4.0], [4.0, 4.0]])
    y = np.arange(n) % 4
    x = centers[y] + rng.normal(size=(n, 2))
    return x, y


def apply_steps(opt, grads, p0):
    """Apply optimiser ``opt`` to one parameter p0 (host array) for each gradient; the result."""
    from tinynet import backend as tb

    p = tb.to_device(p0)
    for g in grads:
        opt.apply([p], [tb.to_device(g)])
    return tb.to_numpy(p)


def assert_same_sweep(a, b):
    """Two SweepResults record the same, bit for bit: every history entry, every per-step
    rate and loss, and who diverged, grew, stopped or failed, when, from what start."""
    assert a.history.keys() == b.history.keys()
    for key in a.history:
        np.testing.assert_array_equal(a.history[key], b.history[key], err_msg=key)
    for key in ("lr", "loss"):
        np.testing.assert_array_equal(a.steps[key], b.steps[key], err_msg=key)
    for name in ("diverged", "diverged_epoch", "stopped_epoch", "grew", "grew_epoch",
                 "initial_loss", "failed"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
