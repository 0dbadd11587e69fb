"""tinynet.diagnostics against cases whose answer is known in closed form."""

import math

import numpy as np
import pytest

import tinynet as tn
from tinynet.lab import diagnostics as dg


def _linear(n_in, n_out, use_bias=True, n_models=1, seed=0):
    model = tn.Sequential([tn.layers.Dense(n_out, input_dim=n_in, use_bias=use_bias)],
                          seed=seed, n_models=n_models)
    return model.compile("sgd", loss="mse")


def _post_net(seed=0, n_models=1, activation="relu"):
    init = tn.initializers.RandomNormal(0.0, 0.05)
    layers = [tn.layers.Dense(10, activation=activation, kernel_initializer=init, input_dim=2)]
    layers += [tn.layers.Dense(10, activation=activation, kernel_initializer=init)
               for _ in range(3)]
    layers += [tn.layers.Dense(4, activation="softmax", kernel_initializer=init)]
    model = tn.Sequential(layers, seed=seed, n_models=n_models)
    return model.compile("sgd", loss="sparse_categorical_crossentropy")


# --- sharpness -----------------------------------------------------------------
def test_sharpness_of_linear_mse_is_top_eigenvalue_of_2xtx(float64):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)) * [1.0, 2.0, 0.5], rng.normal(size=(60, 2))
    model = _linear(3, 2, use_bias=False)
    expected = np.linalg.eigvalsh(2.0 * x.T @ x / (60 * 2)).max()
    assert dg.sharpness(model, x, y, iters=100) == pytest.approx(expected, rel=1e-6)


def test_sharpness_with_bias_uses_the_augmented_inputs(float64):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 2)) + 3.0, rng.normal(size=(40, 1))
    xa = np.hstack([x, np.ones((40, 1))])
    expected = np.linalg.eigvalsh(2.0 * xa.T @ xa / 40).max()
    assert dg.sharpness(_linear(2, 1), x, y, iters=200) == pytest.approx(expected, rel=1e-6)


def test_sharpness_stacked_gives_one_value_per_copy(float64):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    expected = np.linalg.eigvalsh(2.0 * x.T @ x / 60).max()
    values = dg.sharpness(_linear(3, 2, use_bias=False, n_models=3), x, y, iters=100)
    assert values.shape == (3,)
    np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_sharpness_leaves_the_model_exactly_as_it_was():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(50, 2)), rng.integers(0, 4, 50)
    model = _post_net(n_models=2)
    before = model.get_weights()
    grads_before = [dict(layer.grads) for layer in model.layers]
    value = dg.sharpness(model, x, y, iters=5)
    assert np.all(np.isfinite(value))
    for a, b in zip(before, model.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert [dict(layer.grads) for layer in model.layers] == grads_before
    assert all(type(layer.activation).__name__ in ("ReLU", "Softmax")
               for layer in model.layers)


@pytest.mark.parametrize("diagnostic", ["sharpness", "layer_gradient_norms"])
def test_diagnostics_run_on_a_copy_never_on_the_live_layers(diagnostic):
    """No layer of the model is swapped, called or written: its caches stay the same objects."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 2)), rng.integers(0, 4, 20)
    model = _post_net()
    model.compile("sgd", loss="sparse_categorical_crossentropy", fused=False)
    model.train_on_batch(x, y)  # the plain step: every layer's own caches are filled
    layers, acts = list(model.layers), [layer.activation for layer in model.layers]
    caches = [(layer._x, act._y) for layer, act in zip(layers, acts)]
    getattr(dg, diagnostic)(model, x, y)
    assert model.layers == layers and [layer.activation for layer in layers] == acts
    for (x_seen, y_seen), layer, act in zip(caches, layers, acts):
        assert layer._x is x_seen and act._y is y_seen


def test_sharpness_does_not_depend_on_the_step_near_relu_kinks(float64):
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(40, 2)), rng.integers(0, 4, 40)
    model = _post_net(seed=1)
    values = [dg.sharpness(model, x, y, iters=30, eps=eps) for eps in (1e-4, 1e-6, 1e-8)]
    np.testing.assert_allclose(values, values[0], rtol=1e-5)


def test_top_eigenvalue_finds_the_largest_when_a_negative_one_dominates():
    h = np.diag([-5.0, 0.5, 2.0])
    value = dg.top_eigenvalue(lambda v: [h @ v[0]], [np.ones(3)], iters=500, tol=1e-14)
    assert value[0] == pytest.approx(2.0, rel=1e-8)


def test_stability_bound_is_two_over_sharpness():
    assert dg.stability_bound(4.0) == 0.5
    np.testing.assert_array_equal(dg.stability_bound(np.array([1.0, 0.0, -1.0])),
                                  [2.0, np.inf, np.inf])


# --- initial loss, gradient norms ----------------------------------------------
def test_initial_loss_of_zero_kernel_softmax_is_ln_c(float64):
    model = tn.Sequential([tn.layers.Dense(5, activation="softmax", kernel_initializer="zeros",
                                           input_dim=3)], seed=0)
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(5).normal(size=(20, 3)) * 10
    check = dg.initial_loss_check(model, x, np.arange(20) % 5)
    assert check["loss"] == math.log(5)
    assert check["chance"] == math.log(5) and check["ratio"] == 1.0 and check["num_classes"] == 5


def test_layer_gradient_norms_match_the_mse_formula(float64):
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(25, 3)), rng.normal(size=(25, 2))
    model = _linear(3, 2)
    w, b = model.get_weights()
    residual = x @ w + b - y
    grad_w = 2.0 * x.T @ residual / (25 * 2)
    grad_b = 2.0 * residual.sum(axis=0) / (25 * 2)
    norms = dg.layer_gradient_norms(model, x, y)
    assert norms["layers"] == ["0:Dense(2)"]
    np.testing.assert_allclose(norms["kernel_grad"], [np.linalg.norm(grad_w)], rtol=1e-10)
    np.testing.assert_allclose(norms["bias_grad"], [np.linalg.norm(grad_b)], rtol=1e-10)
    np.testing.assert_allclose(norms["kernel_norm"], [np.linalg.norm(w)], rtol=1e-10)
    np.testing.assert_allclose(norms["activation_rms"], [np.sqrt(np.mean((x @ w + b) ** 2))],
                               rtol=1e-10)
    assert norms["input_rms"] == pytest.approx(np.sqrt(np.mean(x * x)))


def test_layer_gradient_norms_show_the_signal_shrinking_through_small_weights():
    x = np.random.default_rng(7).normal(size=(200, 2))
    norms = dg.layer_gradient_norms(_post_net(n_models=3), x, np.arange(200) % 4)
    assert norms["kernel_grad"].shape == (3, 5)
    rms = norms["activation_rms"][:, :4]
    assert np.all(rms[:, 1:] < 0.5 * rms[:, :-1])  # each hidden layer shrinks the signal


# --- dead units, predictions, parameter change -----------------------------------
def test_dead_fraction_with_negative_bias_and_zero_kernel_is_one():
    model = tn.Sequential([
        tn.layers.Dense(6, activation="relu", kernel_initializer="zeros",
                        bias_initializer=tn.initializers.Constant(-1.0), input_dim=2),
        tn.layers.Dense(4, activation="relu", kernel_initializer="zeros",
                        bias_initializer=tn.initializers.Constant(1.0)),
        tn.layers.LeakyReLU(),
    ], seed=0)
    x = np.random.default_rng(8).normal(size=(30, 2)) * 100
    dead = dg.dead_relu_fraction(model, x)
    assert dead["kind"] == ["ReLU", "ReLU", "LeakyReLU"]
    np.testing.assert_array_equal(dead["dead"], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(dead["inactive"], [1.0, 0.0, 0.0])


def test_dead_fraction_counts_units_off_for_every_sample():
    model = tn.Sequential([tn.layers.Dense(2, activation="relu", input_dim=1)], seed=0,
                          n_models=2)
    # unit 0 fires for x > 0, unit 1 never (copy 0); copy 1: both fire for x > 0
    model.set_weights([np.array([[[1.0, -1.0]], [[1.0, 1.0]]]),
                       np.array([[0.0, -10.0], [0.0, 0.0]])])
    dead = dg.dead_relu_fraction(model, np.array([[-1.0], [2.0], [3.0], [-4.0]]))
    np.testing.assert_array_equal(dead["dead"], [[0.5], [0.0]])
    np.testing.assert_array_equal(dead["inactive"], [[0.75], [0.5]])


def test_prediction_histogram_on_a_hand_set_model():
    model = tn.Sequential([tn.layers.Dense(3, activation="softmax", input_dim=2)], seed=0)
    model.set_weights([np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]), np.zeros(3)])
    x = np.array([[1.0, 5.0], [2.0, -1.0], [0.5, 0.0], [-1.0, 3.0], [-3.0, 0.0]])
    hist = dg.prediction_histogram(model, x)
    np.testing.assert_array_equal(hist["counts"], [3, 2, 0])
    np.testing.assert_allclose(hist["fractions"], [0.6, 0.4, 0.0])
    assert hist["max_fraction"] == 0.6 and hist["n_predicted"] == 2


def test_prediction_histogram_of_a_collapsed_model_is_one_class():
    model = tn.Sequential([tn.layers.Dense(4, activation="softmax", kernel_initializer="zeros",
                                           input_dim=2)], seed=0, n_models=2)
    model.set_weights([np.zeros((2, 2, 4)), np.array([[0, 0, 3.0, 0], [1.0, 0, 0, 0]])])
    hist = dg.prediction_histogram(model, np.ones((7, 2)))
    np.testing.assert_array_equal(hist["counts"], [[0, 0, 7, 0], [7, 0, 0, 0]])
    np.testing.assert_array_equal(hist["max_fraction"], [1.0, 1.0])


def test_parameter_change_measures_each_layer():
    model = _linear(2, 2)
    start = model.get_weights()
    model.set_weights([start[0] + 3.0, start[1] - np.array([3.0, 4.0])])
    change = dg.parameter_change(model, start)
    np.testing.assert_allclose(change["kernel_change"], [6.0], rtol=1e-6)
    np.testing.assert_allclose(change["kernel_relative"], [6.0 / np.linalg.norm(start[0])],
                               rtol=1e-6)
    np.testing.assert_allclose(change["bias_change"], [5.0], rtol=1e-6)
    with pytest.raises(ValueError, match="expected 2 arrays"):
        dg.parameter_change(model, start[:1])


@pytest.mark.parametrize("initial", [None, "ab", 3], ids=["None", "str", "int"])
def test_parameter_change_refuses_what_is_not_a_list_of_arrays(initial):
    with pytest.raises(TypeError, match=r"^parameter_change: initial_weights must be a list of "
                                        r"arrays \[kernel_0, bias_0, \.\.\.\], got "):
        dg.parameter_change(_linear(2, 2), initial)


def test_parameter_change_names_an_array_of_the_wrong_shape():
    model = _linear(2, 2)
    start = model.get_weights()
    with pytest.raises(ValueError, match=r"^parameter_change: initial_weights\[0\] must have "
                                         r"shape \(2, 2\) \(as get_weights\(\) returns\), "
                                         r"got \(3, 2\)\.$"):
        dg.parameter_change(model, [np.zeros((3, 2)), start[1]])
    with pytest.raises(ValueError, match=r"initial_weights\[1\] must have shape \(2,\)"):
        dg.parameter_change(model, [start[0], np.zeros(1)])  # would broadcast silently
    with pytest.raises(TypeError, match=r"initial_weights\[1\] must hold numbers"):
        dg.parameter_change(model, [start[0], ["a", "b"]])


# --- loss curves ------------------------------------------------------------------
def test_loss_oscillation_of_a_zigzag_and_a_descent():
    zigzag = dg.loss_oscillation([1.0, 2.0, 1.0, 2.0, 1.0, 4.0])
    assert zigzag["sign_changes"] == 1.0 and zigzag["increases"] == 0.6
    assert zigzag["growth"] == 4.0 and zigzag["peak_ratio"] == 4.0 and not zigzag["nonfinite"]
    descent = dg.loss_oscillation([[4.0, 1.0], [2.0, np.inf], [1.0, 2.0]])
    np.testing.assert_array_equal(descent["sign_changes"], [0.0, np.nan])
    np.testing.assert_array_equal(descent["growth"], [0.25, 2.0])
    np.testing.assert_array_equal(descent["nonfinite"], [False, True])
    with pytest.raises(ValueError, match="T >= 2"):
        dg.loss_oscillation([1.0])


def test_sharpness_warm_start_returns_and_reuses_the_eigenvector(float64):
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(30, 3)) * [3.0, 1.0, 0.3], rng.normal(size=(30, 1))
    model = _linear(3, 1, use_bias=False)
    expected = np.linalg.eigvalsh(2.0 * x.T @ x / 30).max()
    value, vector = dg.sharpness(model, x, y, iters=200, return_vector=True)
    assert [v.shape for v in vector] == [w.shape for w in model.get_weights()]
    again = dg.sharpness(model, x, y, iters=1, start=vector)
    assert again == pytest.approx(expected, rel=1e-6) and value == pytest.approx(expected)
    with pytest.raises(ValueError, match="start must be arrays"):
        dg.sharpness(model, x, y, start=[np.zeros(2)])


def test_diagnostics_run_on_every_backend(backend):
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    model = _linear(2, 2, use_bias=False)
    expected = np.linalg.eigvalsh(2.0 * x.T @ x / 60).max()
    assert dg.sharpness(model, x, y, iters=100) == pytest.approx(expected, rel=1e-6)
    net = _post_net(n_models=2)
    labels = np.arange(30) % 4
    assert dg.initial_loss_check(net, x, labels)["loss"].shape == (2,)
    assert dg.layer_gradient_norms(net, x, labels)["kernel_grad"].shape == (2, 5)
    assert dg.dead_relu_fraction(net, x)["dead"].shape == (2, 4)
    assert dg.prediction_histogram(net, x)["counts"].sum() == 60
    assert np.all(np.isfinite(dg.sharpness(net, x, labels, iters=3)))
