"""tn.sweep's memory budget, measured: peak RSS of a child process against the budget."""

import subprocess
import sys

import pytest

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
