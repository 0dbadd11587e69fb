"""UpdateStats: per layer and per update, |grad|, |update|, |W| and their ratio."""

import numpy as np
import pytest
from conftest import blobs

import tinynet as tn


def _net(n_models=1, optimizer=None, fused=True):
    layers = [tn.layers.Dense(5, activation="relu", input_dim=2),
              tn.layers.Dense(4, activation="softmax")]
    model = tn.Sequential(layers, seed=3, n_models=n_models)
    return model.compile(optimizer or tn.optimizers.SGD(0.1),
                         loss="sparse_categorical_crossentropy", fused=fused)


def _by_hand(model, x, y, batch_size):
    """The same quantities from train_on_batch and get_weights, one update at a time."""
    rows = []
    for start in range(0, x.shape[0], batch_size):
        before = model.get_weights()
        model.train_on_batch(x[start:start + batch_size], y[start:start + batch_size])
        after = model.get_weights()
        grads = [tn.to_numpy(layer.grads["kernel"]) for layer in model.layers]
        row = []
        for i, g in zip((0, 2), grads):  # kernels are weights 0 and 2
            axes = (-2, -1)
            row.append((np.sqrt(np.sum(g * g, axis=axes)),
                        np.sqrt(np.sum((after[i] - before[i]) ** 2, axis=axes)),
                        np.sqrt(np.sum(before[i] ** 2, axis=axes))))
        rows.append(row)
    return np.array(rows)  # (T, L, 3[, K])


@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("make", [lambda: tn.optimizers.SGD(0.1),
                                  lambda: tn.optimizers.Adam(0.01)])
def test_update_stats_match_the_norms_worked_out_by_hand(float64, n_models, make):
    x, y = blobs(48)
    model = _net(n_models, make())
    h = model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0,
                  callbacks=[tn.callbacks.UpdateStats()])
    stats = h.update_stats
    assert stats["layers"] == ["0: Dense(5)", "1: Dense(4)"]
    assert stats["step"].tolist() == [1, 2, 3, 4, 5, 6]
    twin = _net(n_models, make())  # the same (fused) step, with train_on_batch
    want = np.concatenate([_by_hand(twin, x, y, 16), _by_hand(twin, x, y, 16)])
    for j, key in enumerate(("grad_norm", "update_norm", "weight_norm")):
        np.testing.assert_allclose(stats[key], want[:, :, j], rtol=1e-10)
    np.testing.assert_allclose(stats["ratio"], want[:, :, 1] / want[:, :, 2], rtol=1e-10)


def test_plain_sgd_ratio_is_lr_times_grad_over_weight(float64):
    x, y = blobs(32)
    h = _net().fit(x, y, epochs=1, batch_size=8, verbose=0,
                   callbacks=[tn.callbacks.UpdateStats()])
    s = h.update_stats
    np.testing.assert_allclose(s["ratio"], 0.1 * s["grad_norm"] / s["weight_norm"], rtol=1e-10)


def test_it_does_not_change_the_run_nor_the_step(float64):
    x, y = blobs(48)
    plain, watched = _net(), _net()
    step = watched.train_function
    h0 = plain.fit(x, y, epochs=2, batch_size=16, verbose=0)
    h1 = watched.fit(x, y, epochs=2, batch_size=16, verbose=0,
                     callbacks=[tn.callbacks.UpdateStats(every=2)])
    np.testing.assert_allclose(h1.history["loss"], h0.history["loss"], rtol=1e-12)
    assert watched.train_function == step
    assert h1.update_stats["step"].tolist() == [2, 4, 6]


def test_update_ratio_figure_and_errors():
    pytest.importorskip("matplotlib")
    x, y = blobs(32)
    h = _net(3).fit(x, y, epochs=1, batch_size=8, verbose=0,
                    callbacks=[tn.callbacks.UpdateStats()])
    fig = tn.plot.update_ratios(h)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "layer 0: Dense(5) (median of 3)" in labels and "rule of thumb 0.001" in labels
    with pytest.raises(ValueError, match="UpdateStats"):
        tn.plot.update_ratios(_net().fit(x, y, epochs=1, verbose=0))
    with pytest.raises(ValueError, match="every"):
        tn.callbacks.UpdateStats(every=0)
