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


class _ReadsEachBatch(tn.callbacks.Callback):
    """A callback that reads each batch's loss as it comes (fit then asks the step for it)."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs):
        self.losses.append(np.asarray(tn.backend.to_numpy(logs["loss"]), dtype=np.float64))


def _fit_losses(n_models, probabilities, shuffle, callbacks):
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(50, 3)), tn.data.one_hot(rng.integers(0, 4, 50), 4)
    model = tn.Sequential([Dense(8, "relu"), Dense(4, "softmax")], seed=2, n_models=n_models)
    rates = 0.5 if n_models == 1 else [0.3 * (k + 1) for k in range(n_models)]
    loss = tn.losses.CategoricalCrossentropy(probabilities=probabilities)
    model.compile(tn.optimizers.SGD(rates), loss=loss, metrics=())
    history = model.fit(x, y, epochs=4, batch_size=16, shuffle=shuffle, verbose=0,
                        callbacks=callbacks)
    return np.asarray(history.steps["loss"]), np.asarray(history.history["loss"])


@pytest.mark.parametrize("n_models, shuffle", [(1, True), (3, True), (3, "shared"), (3, False)])
@pytest.mark.parametrize("probabilities", ["clip", "exact"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_losses_read_from_the_kept_outputs_are_the_steps_own(backend, monkeypatch, n_models,
                                                             shuffle, probabilities, dtype):
    # no callback reads each batch's loss: fit reads an epoch's batch losses from the outputs
    # the fused step kept (step.batch_losses); one that does gets each step's own: the same
    # floats, per batch and per epoch, on every backend
    from tinynet import fused

    tn.set_dtype(dtype)
    calls = []
    original = fused.FusedStep.batch_losses
    monkeypatch.setattr(fused.FusedStep, "batch_losses",
                        lambda self, *args: calls.append(1) or original(self, *args))
    deferred = _fit_losses(n_models, probabilities, shuffle, [])
    assert len(calls) == 4  # once an epoch
    reader = _ReadsEachBatch()
    own = _fit_losses(n_models, probabilities, shuffle, [reader])
    assert len(calls) == 4  # not at all
    np.testing.assert_array_equal(deferred[0], own[0])
    np.testing.assert_array_equal(deferred[1], own[1])
    np.testing.assert_array_equal(np.asarray(reader.losses).reshape(own[0].shape), own[0])


@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("n, batch_size", [(50, 16), (48, 16), (10, 16)])
def test_batch_losses_are_the_heads_losses_batch_by_batch(n_models, n, batch_size):
    # float32, NumPy: every full batch summed in one vecdot, the last shorter one on its own
    from tinynet import fused

    rng = np.random.default_rng(n)
    lead = (n_models,) if n_models > 1 else ()
    p = rng.dirichlet(np.ones(4), size=lead + (n,)).astype(np.float32)
    p[..., :3, 0] = 1.0  # a few clipped
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, n)]
    head = fused.SoftmaxCrossEntropy(tn.losses.CategoricalCrossentropy())
    got = head.batch_losses(y, p, batch_size)
    for b, start in enumerate(range(0, n, batch_size)):
        rows = slice(start, start + batch_size)
        log_p = np.log(fused._clipped(np, p[..., rows, :]))
        want = fused._sum_of_products(np, y[rows], log_p) * (-1.0 / y[rows].shape[0])
        np.testing.assert_array_equal(got[b], want)
    assert got.shape == (len(range(0, n, batch_size)),) + lead


def test_row_dots_where_the_namespace_has_no_vecdot():
    # CuPy before vecdot: a product and a sum over the last axis, broadcast as vecdot's
    import types

    from tinynet import fused

    no_vecdot = types.SimpleNamespace(sum=np.sum)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 8)), rng.normal(size=(2, 3, 8))
    np.testing.assert_allclose(fused._row_dots(no_vecdot, a, b), np.vecdot(a, b), rtol=1e-12)
    assert fused._row_dots(no_vecdot, a, b).shape == (2, 3)
