"""fit's small-epoch path (tinynet.training): an epoch's rows gathered at once and the
metrics read once over the fused step's kept outputs give what the batch-by-batch
path gives: the same batches, so the same weights and per-batch losses bit for bit,
and the same epoch metrics up to rounding."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import training
from tinynet.layers import Dense


def _fit(n_models, metrics, shuffle, epoch_bytes, monkeypatch):
    monkeypatch.setattr(training, "EPOCH_BYTES", epoch_bytes)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 3))
    y = rng.integers(0, 4, 50)
    model = tn.Sequential([Dense(8, "relu"), Dense(4, "softmax")], seed=5, n_models=n_models)
    rates = 0.1 if n_models == 1 else [0.05 * (k + 1) for k in range(n_models)]
    model.compile(tn.optimizers.SGD(rates), loss="sparse_categorical_crossentropy",
                  metrics=metrics)
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=shuffle, verbose=0)
    return model, history


@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("shuffle", [True, "shared", False])
def test_small_epochs_train_as_batch_by_batch(float64, monkeypatch, n_models, shuffle):
    metrics = ["accuracy", "mae"]
    small, h_small = _fit(n_models, metrics, shuffle, training.EPOCH_BYTES, monkeypatch)
    assert training._small(small, np.zeros((50, 3)), np.zeros((50, 4)), None)
    large, h_large = _fit(n_models, metrics, shuffle, 0, monkeypatch)
    for a, b in zip(small.get_weights(), large.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.asarray(h_small.steps["loss"]),
                                  np.asarray(h_large.steps["loss"]))
    np.testing.assert_array_equal(h_small.history["loss"], h_large.history["loss"])
    for key in ("accuracy", "mae"):
        np.testing.assert_allclose(h_small.history[key], h_large.history[key], rtol=1e-12)


@pytest.mark.parametrize("top", ["linear", "relu"])
def test_a_top_that_is_a_buffer_gives_each_batch_its_own_outputs(float64, monkeypatch, top):
    # a linear or ReLU top hands fit the step's own buffer, which the next batch
    # overwrites: fit copies each batch's outputs before it, so the epoch's mae is the
    # batch-by-batch path's
    def run(epoch_bytes):
        monkeypatch.setattr(training, "EPOCH_BYTES", epoch_bytes)
        rng = np.random.default_rng(1)
        x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
        model = tn.Sequential([Dense(6, "relu"), Dense(2, None if top == "linear" else top)],
                              seed=2)
        model.compile(tn.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
        return model.fit(x, y, epochs=2, batch_size=16, verbose=0).history["mae"]

    np.testing.assert_allclose(run(training.EPOCH_BYTES), run(0), rtol=1e-12)


@pytest.mark.parametrize("n_models", [1, 3])
def test_epoch_loss_is_the_batch_losses_weighted_and_added_in_order(float64, n_models):
    # sum_b (n_b / n) * loss_b, added batch after batch (13 batches: NumPy's pairwise sum
    # would add them in another order), for every copy alike: a single model's figure is
    # the same float as a stacked copy's with the same batch losses
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(50, 3)), rng.integers(0, 4, 50)
    model = tn.Sequential([Dense(8, "relu"), Dense(4, "softmax")], seed=5, n_models=n_models)
    rates = 0.1 if n_models == 1 else [0.05 * (k + 1) for k in range(n_models)]
    model.compile(tn.optimizers.SGD(rates), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=10, batch_size=4, verbose=0)
    steps = np.asarray(history.steps["loss"]).reshape(10, 13, -1)  # 12 batches of 4, one of 2
    sizes = [4] * 12 + [2]
    for epoch in range(10):
        want = np.zeros(steps.shape[-1])
        for b, size in enumerate(sizes):
            want = want + (size / 50) * steps[epoch, b]
        np.testing.assert_array_equal(np.atleast_1d(history.history["loss"][epoch]), want)


@pytest.mark.parametrize("n_models", [1, 3])
def test_accuracy_from_the_labels_gathered_once_is_the_accuracy_of_every_batch(
        backend, monkeypatch, n_models):
    # fit works out argmax_c y once and gathers it with each epoch's rows (each copy its
    # own order): the epoch's accuracy is the batch-by-batch path's, on every backend
    small, h_small = _fit(n_models, ["accuracy"], True, training.EPOCH_BYTES, monkeypatch)
    assert small.reads_labels
    _, h_large = _fit(n_models, ["accuracy"], True, 0, monkeypatch)
    np.testing.assert_allclose(h_small.history["accuracy"], h_large.history["accuracy"],
                               rtol=1e-12)


def test_label_accuracy_is_categorical_accuracy_of_the_labels():
    rng = np.random.default_rng(4)
    p = np.round(rng.random((2, 30, 5)), 1)  # stacked outputs with ties
    y = np.eye(5)[rng.integers(0, 5, 30)]  # one y shared by both copies
    np.testing.assert_array_equal(tn.metrics.label_accuracy(np.argmax(y, axis=-1), p),
                                  tn.metrics.categorical_accuracy(y, p))
    assert tn.metrics.FROM_LABELS[tn.metrics.categorical_accuracy] is tn.metrics.label_accuracy
