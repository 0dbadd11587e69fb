"""The README's Quick start runs as written, learns, and its contrast holds."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn

README = Path(__file__).resolve().parent.parent / "README.md"


def _quick_start_code():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quick start"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def quick_start():
    scope = {}
    exec(compile(_quick_start_code(), "README Quick start", "exec"), scope)
    return scope


def test_quick_start_learns(quick_start, capsys):
    final = {k: float(v[-1]) for k, v in quick_start["history"].history.items()}
    # the comment under the code: "the training loss ends below 0.01 and the
    # validation accuracy at 1.0"
    assert final["val_accuracy"] == 1.0 and final["loss"] < 0.01


def _post_init_model(init):
    layers = [tn.layers.Dense(10, activation="relu", input_dim=2, kernel_initializer=init)]
    layers += [tn.layers.Dense(10, activation="relu", kernel_initializer=init) for _ in range(3)]
    layers += [tn.layers.Dense(4, activation="softmax", kernel_initializer=init)]
    model = tn.Sequential(layers, seed=0)
    return model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")


def test_the_contrast_the_readme_states(quick_start):
    x, y = quick_start["x"], quick_start["y"]
    small = _post_init_model(tn.initializers.RandomNormal(0.0, 0.05))
    he = _post_init_model("he_normal")
    norms = tn.diagnostics.layer_gradient_norms(small, x, y)
    rms = norms["activation_rms"][:4]  # the four hidden ReLU layers
    # "each hidden layer shrinks the signal five- to tenfold"
    assert np.all((rms[:-1] / rms[1:] > 4.0) & (rms[:-1] / rms[1:] < 12.0))
    g_small = norms["kernel_grad"]
    g_he = tn.diagnostics.layer_gradient_norms(he, x, y)["kernel_grad"]
    # "every layer's gradient is thousands to tens of thousands of times smaller"
    assert np.all((g_he / g_small > 1e3) & (g_he / g_small < 1e5))
    history = small.fit(x, y, epochs=50, batch_size=64, validation_split=0.2, verbose=0)
    assert abs(history.history["loss"][-1] - math.log(4)) < 0.01
    assert history.history["accuracy"][-1] < 0.35
