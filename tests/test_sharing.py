"""Objects given to compile: an optimiser belongs to one model, a loss is copied per model."""

import threading

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers import Dense


def _model(seed=0, output="softmax"):
    layers = [Dense(16, activation="relu", input_dim=4), Dense(3, activation=output)]
    return tn.Sequential(layers, seed=seed)


def _data(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(512, 4)), rng.integers(0, 3, size=512)


def test_an_optimizer_instance_cannot_serve_two_models():
    opt = tn.optimizers.SGD(0.1, momentum=0.9)
    a, b = _model(0), _model(1)
    a.compile(opt, loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="SGD instance is already compiled into another model; "
                                         "create a new optimizer for each model"):
        b.compile(opt, loss="sparse_categorical_crossentropy")
    assert b.optimizer is None
    a.compile(opt, loss="sparse_categorical_crossentropy")  # the same model may recompile


def test_an_optimizer_is_free_again_once_its_model_takes_another():
    opt = tn.optimizers.Adam(0.01)
    a, b = _model(0), _model(1)
    a.compile(opt, loss="sparse_categorical_crossentropy")
    a.compile(tn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    b.compile(opt, loss="sparse_categorical_crossentropy")
    assert b.optimizer is opt


def test_an_optimizer_of_a_deleted_model_can_be_reused():
    import gc

    opt = tn.optimizers.SGD(0.1)
    a = _model(0)
    a.compile(opt, loss="sparse_categorical_crossentropy")
    del a
    gc.collect()
    _model(1).compile(opt, loss="sparse_categorical_crossentropy")


def test_each_model_gets_its_own_copy_of_a_loss_object():
    loss = tn.losses.CategoricalCrossentropy(from_logits=True)
    a, b = _model(0, output=None), _model(1, output=None)  # logits out
    a.compile("sgd", loss=loss)
    b.compile("sgd", loss=loss)
    assert a.loss is not b.loss and a.loss is not loss
    assert type(a.loss) is type(loss) and a.loss.from_logits


def test_one_loss_object_shared_by_two_models_trained_in_two_threads():
    def train(model, loss, seed, steps=300):
        x, y = _data(seed)
        model.compile(tn.optimizers.SGD(0.05), loss=loss)
        for i in range(steps):
            model.train_on_batch(x[(i % 8) * 64:(i % 8 + 1) * 64], y[(i % 8) * 64:(i % 8 + 1) * 64])
        return model.get_weights()

    alone = [train(_model(s), tn.losses.SparseCategoricalCrossentropy(), s) for s in (0, 1)]
    shared_loss = tn.losses.SparseCategoricalCrossentropy()
    models, results = [_model(0), _model(1)], [None, None]

    def work(k):
        results[k] = train(models[k], shared_loss, k)

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in (0, 1):
        for a, b in zip(alone[k], results[k]):
            np.testing.assert_array_equal(a, b)
