"""tn.sweep's memory budget, measured: peak RSS of a child process, and every NumPy buffer
traced (tracemalloc), against the budget."""

import gc
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest

import tinynet as tn

_PEAK_CHILD = """
import sys
import numpy as np
import tinynet as tn

def status_kib(key):  # VmHWM: peak RSS of this process image; getrusage's
    # ru_maxrss would start at the parent's (pytest's) peak after vfork + exec
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))

budget = int(float(sys.argv[1]) * 2**20)
rng = np.random.default_rng(0)
x = rng.normal(size=(50_000, 100))  # the data dominate: 38 MiB of float64
y = rng.integers(0, 4, size=50_000)

def layers():
    return [tn.layers.Dense(16, activation="relu"), tn.layers.Dense(4, activation="softmax")]

before = status_kib("VmRSS")
try:
    result = tn.sweep(layers, x, y, learning_rates=[0.01, 0.1], seeds=range(4),
                      loss="sparse_categorical_crossentropy", epochs=1, batch_size=256,
                      validation_split=0.2, memory_budget=budget, verbose=0)
    print("ran", result.config["chunk_sizes"])
except ValueError as exc:
    print("refused", str(exc).replace("\\n", " "))
print((status_kib("VmHWM") - before) / 1024)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("budget_mib", [100, 200])
def test_peak_memory_stays_within_the_budget_when_the_data_dominate(budget_mib):
    """In a child process: the sweep either refuses the budget or stays within it."""
    out = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(budget_mib)], check=True,
                         capture_output=True, text=True, timeout=300).stdout.splitlines()
    outcome, grew = out[0], float(out[1])
    if outcome.startswith("refused"):
        assert "cannot hold even one copy" in outcome and budget_mib < 160
        assert grew < budget_mib
    else:
        assert grew <= budget_mib, f"{outcome}: peak grew {grew:.0f} MiB, budget {budget_mib}"
    if budget_mib == 200:
        assert outcome.startswith("ran")


# --- what is allocated, traced (tracemalloc sees every NumPy buffer) --------------------
def _traced_peak(fn):
    """(result of fn(), peak bytes traced while it ran above what was traced before)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _deep_layers(width=64, n_out=10):
    return [tn.layers.Dense(width, activation="relu"), tn.layers.Dense(width, activation="relu"),
            tn.layers.Dense(n_out, activation="softmax")]


def _quiet_sweep(x, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        return tn.sweep(_deep_layers, x, y, loss="sparse_categorical_crossentropy", epochs=1,
                        verbose=0, **kwargs)


def test_traced_memory_stays_within_the_budget_when_the_data_are_large(float64):
    """Issue 21: 20,000 x 20 inputs, 20-64-64-10, batch 1024, 24 copies, 40 MiB: every copy
    used to hold its own shuffled copy of the data (86 MB traced on a 40 MiB budget)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20_000, 20)), rng.integers(0, 10, size=20_000)
    budget = 40 * 2**20
    result, peak = _traced_peak(lambda: _quiet_sweep(
        x, y, learning_rates=np.logspace(-3, -1, 6), seeds=range(4), batch_size=1024,
        memory_budget=budget))
    assert len(result.config["chunk_sizes"]) > 1
    assert peak <= budget, f"traced {peak / 2**20:.1f} MiB on a 40 MiB budget"


def test_a_budget_twice_the_data_is_enough(float64):
    """Issue 21: float64 data of D bytes and a budget of 2 D used to be refused (the sweep
    counted, and made, three host copies and two device copies of the data)."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20_000, 100)), rng.integers(0, 10, size=20_000)
    budget = 2 * x.nbytes
    result, peak = _traced_peak(lambda: _quiet_sweep(
        x, y, learning_rates=[0.01, 0.1], seeds=range(2), batch_size=256,
        memory_budget=budget))
    assert sum(result.config["chunk_sizes"]) == 4
    assert peak <= budget, f"traced {peak / 2**20:.1f} MiB on {budget / 2**20:.1f} MiB"


def test_the_estimate_bounds_what_is_traced_and_is_not_far_above_it(float64):
    """One chunk of 8 copies with a validation pass: traced <= estimated <= 2.5 x traced."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(5_000, 30)), rng.integers(0, 10, size=5_000)
    result, peak = _traced_peak(lambda: _quiet_sweep(
        x, y, learning_rates=[0.01, 0.03], seeds=range(4), batch_size=128,
        validation_split=0.2, memory_budget=2**34))
    config = result.config
    estimate = config["memory_fixed"] + 8 * config["memory_per_copy"]
    assert config["chunk_sizes"] == [8]
    assert peak <= estimate <= 2.5 * peak, (peak, estimate)


def test_the_caller_data_are_neither_copied_nor_modified(float64):
    """fit reads the caller's float64 array through a read-only view: the traced peak of a
    one-copy sweep is below the data's size plus the device copy (no host copy)."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20_000, 50)), rng.integers(0, 10, size=20_000)
    before = x.copy()
    # imports and one-time caches outside the traced window (run alone, they were inside)
    _quiet_sweep(x[:64], y[:64], learning_rates=[0.01], batch_size=32, memory_budget=2**34)
    _, peak = _traced_peak(lambda: _quiet_sweep(x, y, learning_rates=[0.01], batch_size=512,
                                                memory_budget=2**34))
    # one device copy, the targets and one copy's working set (a host copy of x: 2.6x)
    assert peak < 1.7 * x.nbytes
    np.testing.assert_array_equal(x, before)
    assert x.flags.writeable
