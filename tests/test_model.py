"""Sequential: training semantics, stacking equivalence, divergence, weights."""

import math
import warnings

import numpy as np
import pytest
from conftest import blobs

import tinynet as tn
from tinynet.layers import Dense


def net(seed=0, n_models=1, same_init=False, width=8, depth=2):
    layers = [Dense(width, activation="relu", input_dim=2)]
    layers += [Dense(width, activation="tanh") for _ in range(depth - 1)]
    layers += [Dense(4, activation="softmax")]
    return tn.Sequential(layers, seed=seed, n_models=n_models, same_init=same_init)


def test_whole_network_gradient_check(backend):
    x, y = blobs(12)
    model = tn.Sequential([Dense(6, activation="relu", input_dim=2),
                           Dense(5, activation="tanh"), Dense(5, activation="sigmoid"),
                           Dense(4, activation="softmax")], seed=3)
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    assert tn.diagnostics.gradient_check(model, x, y) < 1e-6
    stacked = net(seed=1, n_models=3, depth=3)
    stacked.compile("sgd", loss="categorical_crossentropy")
    assert tn.diagnostics.gradient_check(stacked, x, np.eye(4)[y]) < 1e-6


def test_gradient_check_leaves_float32_model_untouched():
    x, y = blobs(8)
    model = net()
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    assert tn.diagnostics.gradient_check(model, x, y) < 1e-6
    for a, b in zip(before, model.get_weights()):
        assert a.dtype == np.float32 and b.dtype == np.float32
        np.testing.assert_array_equal(a, b)


class _NaNBackward(tn.layers.Layer):
    """Identity forward, a backward that returns NaN: a broken layer to catch."""

    def forward(self, x, training=True):
        return x * 1.0

    def backward(self, grad_y):
        return grad_y * np.nan


def test_gradient_check_fails_on_nan_gradients():
    # max(worst, nan) keeps worst: a NaN gradient must not read as "below 1e-6"
    x, y = blobs(4)
    broken = tn.Sequential([Dense(5, input_dim=2), _NaNBackward(),
                            Dense(4, activation="softmax")], seed=0)
    broken.compile("sgd", loss="sparse_categorical_crossentropy")
    assert tn.diagnostics.gradient_check(broken, x, y) == math.inf
    model = net()
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    weights = model.get_weights()
    weights[0] = np.full_like(weights[0], np.nan)
    model.set_weights(weights)
    assert tn.diagnostics.gradient_check(model, x, y) == math.inf


@pytest.mark.parametrize("h", [0, -1e-6, math.nan, math.inf])
def test_gradient_check_refuses_a_bad_step(h):
    x, y = blobs(4)
    model = net()
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="gradient_check: h must"):
        tn.diagnostics.gradient_check(model, x, y, h=h)


@pytest.mark.parametrize("optimizer", [
    lambda rates: tn.optimizers.SGD(rates, momentum=0.9, nesterov=True),
    lambda rates: tn.optimizers.Adam(rates),
    lambda rates: tn.optimizers.RMSprop(rates, momentum=0.5),
    lambda rates: tn.optimizers.Adagrad(rates),
])
def test_stacked_training_equals_separate_runs(backend, optimizer):
    x, y = blobs(120)
    rates = [0.003, 0.03, 0.3]
    stacked = net(seed=7, n_models=3)
    stacked.compile(optimizer(rates), loss="sparse_categorical_crossentropy")
    init = stacked.get_weights()
    h = stacked.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0)
    for k, lr in enumerate(rates):
        single = net(seed=7 + k)  # copy k is the model of seed 7 + k: weights and batches
        for a, b in zip(init, single.get_weights()):
            np.testing.assert_array_equal(a[k], b)
        single.compile(optimizer(lr), loss="sparse_categorical_crossentropy")
        hk = single.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0)
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose([e[k] for e in h.history[key]], hk.history[key],
                                       rtol=1e-10, atol=1e-12)
        for a, b in zip(stacked.get_weights(), single.get_weights()):
            np.testing.assert_allclose(a[k], b, rtol=1e-10, atol=1e-12)


def test_history_contents_and_step_records(float64):
    x, y = blobs(100)
    model = net(n_models=2)
    model.compile(tn.optimizers.SGD([0.1, 0.01]), loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=2, batch_size=32, validation_split=0.2, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert h.epoch == [0, 1] and h.history["loss"][0].shape == (2,)
    # 80 training rows in batches of 32: 3 updates per epoch
    assert h.steps["lr"].shape == (6, 2) and h.steps["loss"].shape == (6, 2)
    np.testing.assert_array_equal(h.steps["lr"][:, 1], 0.01)
    # the epoch loss is the sample-weighted mean of its batch losses
    weights = np.array([32, 32, 16])
    np.testing.assert_allclose(h.history["loss"][0], weights @ h.steps["loss"][:3] / 80)


def test_validation_split_takes_the_tail_before_shuffling(float64):
    x, y = blobs(100)
    model = net()
    model.compile(tn.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=1, batch_size=16, validation_split=0.3, verbose=0)
    tail = model.evaluate(x[70:], y[70:])
    assert h.history["val_loss"][0] == pytest.approx(tail["loss"], rel=1e-12)
    assert h.steps["loss"].shape == (5,)  # 70 training rows, batch 16


def test_sorted_labels_warn_and_random_mode_mixes(float64):
    x, y = blobs(100)
    order = np.argsort(y, kind="stable")
    x, y = x[order], y[order]
    model = net()
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    with pytest.warns(UserWarning, match="single class"):
        model.fit(x, y, epochs=1, validation_split=0.2, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, epochs=1, validation_split=0.2, validation_split_mode="random", verbose=0)


def test_shuffling_follows_the_seed(float64):
    x, y = blobs(64)

    def run(seed):
        model = net(seed=0)
        model._shuffle_rng = np.random.default_rng((seed, 1))
        model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        return model.fit(x, y, epochs=2, batch_size=8, verbose=0).steps["loss"]

    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))


def test_train_on_batch_returns_the_loss_before_the_update(float64):
    x, y = blobs(32)
    model = net()
    model.compile(tn.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    before = model.evaluate(x, y)["loss"]
    assert model.train_on_batch(x, y) == pytest.approx(before, rel=1e-12)
    assert model.evaluate(x, y)["loss"] < before


def linear_net(seed=0, n_models=1, same_init=False):
    return tn.Sequential([Dense(8, activation="relu", input_dim=2), Dense(4)], seed=seed,
                         n_models=n_models, same_init=same_init)


def test_non_finite_loss_warns_records_stops_and_never_raises():
    x, y = blobs(200)
    model = linear_net()
    model.compile(tn.optimizers.SGD(100.0), loss="mse")
    with pytest.warns(tn.DivergenceWarning, match=r"epoch \d+.*learning rate 100.*likely cause"):
        h = model.fit(x, np.eye(4)[y], epochs=30, verbose=0)
    assert h.diverged is True and h.diverged_epoch == h.epoch[-1] + 1 and len(h.epoch) < 30


def test_one_non_finite_copy_does_not_disturb_the_others(float64):
    x, y = blobs(200)

    def run(rates):
        model = linear_net(seed=4, n_models=len(rates), same_init=True)
        model.compile(tn.optimizers.SGD(rates), loss="mse")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model, model.fit(x, np.eye(4)[y], epochs=4, batch_size=32, verbose=0)

    model, h = run([0.001, 100.0, 0.01])
    clean_model, clean = run([0.001, 0.01])
    assert h.diverged.tolist() == [False, True, False]
    assert len(h.epoch) == 4
    got = np.array(h.history["loss"])[:, [0, 2]]
    np.testing.assert_array_equal(got, np.array(clean.history["loss"]))
    for a, b in zip(model.get_weights(), clean_model.get_weights()):
        np.testing.assert_array_equal(a[[0, 2]], b)


def test_predict_and_evaluate_shapes():
    x, y = blobs(30)
    model = net(n_models=3)
    model.compile("adam", loss="sparse_categorical_crossentropy")
    assert model.predict(x).shape == (3, 30, 4)
    np.testing.assert_allclose(model.predict(x, batch_size=7), model.predict(x), rtol=1e-6)
    result = model.evaluate(x, y)
    assert set(result) == {"loss", "accuracy"} and result["loss"].shape == (3,)


def test_regression_has_no_default_metric():
    x = np.random.default_rng(0).normal(size=(40, 2))
    model = tn.Sequential([Dense(3, activation="tanh", input_dim=2), Dense(1)], seed=0)
    model.compile("sgd", loss="mse")
    h = model.fit(x, x[:, 0] * 2, epochs=2, verbose=0)
    assert set(h.history) == {"loss", "lr"}
    with pytest.raises(ValueError, match="classification loss"):
        model.compile("sgd", loss="mse", metrics=["accuracy"])


def test_inputs_are_never_modified():
    x, y = blobs(50)
    x0, y0 = x.copy(), y.copy()
    model = net()
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.2)
    weights = model.get_weights()
    w0 = [w.copy() for w in weights]
    model.set_weights(weights)
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    for a, b in zip(weights, w0):
        np.testing.assert_array_equal(a, b)


def test_verbose_progress_bar_runs(capsys):
    x, y = blobs(40)
    model = net()
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=1)
    model.fit(x, y, epochs=1, verbose=2)
    assert "Epoch 1/1" in capsys.readouterr().out


def test_lazy_build_from_data():
    model = tn.Sequential([Dense(3, activation="relu"), Dense(2, activation="softmax")], seed=0)
    assert not model.built
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((4, 5)), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    assert model.get_weights()[0].shape == (5, 3)


@pytest.mark.parametrize("shuffle", [True, False])
def test_rows_are_reshuffled_every_epoch(float64, shuffle):
    """With lr 0 the weights never move, so a batch of one row has that row's loss every
    epoch: two epochs give the same losses, in a new order only when shuffle=True."""
    x, y = blobs(24)
    model = tn.Sequential([tn.layers.Dense(4, "softmax", input_dim=2)], seed=0)
    model.compile(tn.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    steps = model.fit(x, y, epochs=2, batch_size=1, shuffle=shuffle, verbose=0).steps["loss"]
    first, second = steps[:24], steps[24:]
    np.testing.assert_allclose(np.sort(first), np.sort(second), rtol=1e-12)
    assert len(np.unique(first)) == 24  # every row's loss differs: the order shows
    assert np.array_equal(first, second) != shuffle


@pytest.mark.parametrize("n, split, n_train", [(10, 0.25, 8), (20, 0.7, 6), (7, 0.5, 4),
                                               (100, 0.45, 55), (12, 0.3, 9)])
def test_validation_split_rounds_the_training_rows_up(n, split, n_train):
    """n_train = ceil(n * (1 - split)), the lessons' rule; a whole number stays whole:
    20 * (1 - 0.7) is 6.000000000000001 in floating point, and 6 rows train.
    (Keras 3 rounds down: array_slicing.train_validation_split takes floor.)
    """
    x, y = blobs(n)
    model = net()
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=1, batch_size=1, validation_split=split, verbose=0,
                        shuffle=False)
    assert len(history.steps["loss"]) == n_train  # one update per training row
    assert "val_loss" in history.history


@pytest.mark.parametrize("activation, loss", [
    ("relu", "categorical_crossentropy"), (None, "sparse_categorical_crossentropy"),
    ("tanh", "categorical_crossentropy"), (None, "binary_crossentropy"),
    ("relu", "binary_crossentropy")])
def test_a_loss_on_probabilities_after_an_output_that_gives_none_warns(activation, loss):
    model = tn.Sequential([Dense(3, activation=activation, input_dim=2)], seed=0)
    with pytest.warns(UserWarning, match=r"reads probabilities \(from_logits=False\)"):
        model.compile("sgd", loss=loss)


@pytest.mark.parametrize("activation, loss", [
    ("softmax", "categorical_crossentropy"), ("sigmoid", "binary_crossentropy"),
    ("softmax", "binary_crossentropy"), ("sigmoid", "categorical_crossentropy"),
    (None, tn.losses.CategoricalCrossentropy(from_logits=True)), ("relu", "mse")])
def test_a_loss_that_fits_its_output_does_not_warn(activation, loss):
    model = tn.Sequential([Dense(3, activation=activation, input_dim=2)], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.compile("sgd", loss=loss)


def test_set_weights_refuses_values_float32_cannot_hold_and_keeps_nan():
    model = tn.Sequential([Dense(2, input_dim=1)], seed=0)
    with pytest.raises(ValueError, match=r"weights\[0\] holds 1 finite value\(s\) beyond the "
                                         r"float32 range"):
        model.set_weights([np.array([[1e39, 1.0]]), np.zeros(2)])
    model.set_weights([np.array([[np.nan, -np.inf]]), np.zeros(2)])  # a diverged run's
    np.testing.assert_array_equal(model.get_weights()[0], [[np.nan, -np.inf]])


def test_metric_values_follow_metric_names_on_hand_worked_outputs():
    model = tn.Sequential([tn.layers.Dense(2, "softmax", input_dim=2)], seed=0)
    model.compile("sgd", loss="categorical_crossentropy", metrics=("accuracy",))
    y = tn.backend.to_device(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]))
    out = tn.backend.to_device(np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]]))
    (accuracy,) = model.metric_values(y, out)  # rows 0 and 1 right, rows 2 and 3 wrong
    assert model.metric_names == ["accuracy"]
    assert float(tn.backend.to_numpy(accuracy)) == 0.5


# --- bad arguments to the model's entry points name the argument ------------------------
def _small():
    model = tn.Sequential([Dense(2, input_dim=1), Dense(2, activation="softmax")], seed=0)
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("weights", [None, "abc", b"ab", 3, {"kernel": 1}],
                         ids=["None", "str", "bytes", "int", "dict"])
def test_set_weights_refuses_what_is_not_a_list_of_arrays(weights):
    with pytest.raises(TypeError, match=r"^set_weights: weights must be a list of arrays "
                                        r"\[kernel_0, bias_0, \.\.\.\], got "):
        _small().set_weights(weights)


@pytest.mark.parametrize("path", [None, 3, 2.5])
def test_save_refuses_a_path_that_is_not_one(tmp_path, path):
    with pytest.raises(TypeError, match=rf"^save: path must be a file path .*got {path!r}\.$"):
        _small().save(path)


def test_evaluate_names_itself_for_a_bad_batch_size():
    x, y = np.zeros((4, 1)), np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match=r"^evaluate: batch_size must be a positive integer, "
                                         r"got 0\.$"):
        _small().evaluate(x, y, batch_size=0)
    with pytest.raises(ValueError, match=r"^predict: batch_size"):
        _small().predict(x, batch_size=0)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"verbose": "x"}, ValueError, r"^evaluate: verbose must be 0, 1 or 2, got 'x'\.$"),
    ({"verbose": 3}, ValueError, r"^evaluate: verbose must be 0, 1 or 2, got 3\.$"),
    ({"return_dict": "no"}, TypeError, r"^evaluate: return_dict must be True or False, "
                                       r"got 'no'\.$"),
    ({"return_dict": 0}, TypeError, r"^evaluate: return_dict must be True or False"),
])
def test_evaluate_refuses_verbose_and_return_dict_as_fit_does(kwargs, error, message):
    x, y = np.zeros((4, 1)), np.zeros(4, dtype=int)
    with pytest.raises(error, match=message):
        _small().evaluate(x, y, **kwargs)


def test_summary_refuses_a_print_fn_that_is_not_callable():
    with pytest.raises(TypeError, match=r"^summary: print_fn must be None or a function called "
                                        r"with each line \(print, lines\.append\), got 3\.$"):
        _small().summary(print_fn=3)
