"""Layers: finite-difference checks, hand-worked cases, stacking."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet import backend as tb
from tinynet.lab.gradcheck import check_layer
from tinynet.layers import Dense, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh


def _build(layer, width, k=None, seed=0):
    rngs = [np.random.default_rng(seed + i) for i in range(k or 1)]
    layer.build(width, rngs, stacked=k is not None)
    return layer


def _x(shape, seed=1, scale=1.0):
    return np.random.default_rng(seed).normal(size=shape) * scale


@pytest.mark.parametrize("make", [ReLU, lambda: LeakyReLU(0.3), Sigmoid, Tanh, Softmax])
def test_activation_gradients(backend, make):
    layer = _build(make(), 5)
    assert check_layer(layer, _x((7, 5))) < 1e-6


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax", "leaky_relu"])
def test_dense_gradients(backend, activation):
    layer = _build(Dense(4, activation=activation, bias_initializer="random_normal"), 3)
    assert check_layer(layer, _x((6, 3))) < 1e-6


def test_dense_gradients_stacked(backend):
    layer = _build(Dense(4, activation="tanh", bias_initializer="random_normal"), 3, k=3)
    assert check_layer(layer, _x((6, 3))) < 1e-6          # shared input (N, in)
    assert check_layer(layer, _x((3, 6, 3))) < 1e-6       # per-copy input (K, N, in)


class _NaNBackward(tn.layers.Layer):
    def forward(self, x, training=True):
        return x * 1.0

    def backward(self, grad_y):
        return grad_y * np.nan


def test_check_layer_fails_on_nan_gradients():
    assert check_layer(_NaNBackward(), _x((4, 3))) == math.inf


def test_check_layer_refuses_what_is_not_a_layer_and_a_bad_step():
    with pytest.raises(TypeError, match="check_layer: layer must be a tinynet Layer, got 3"):
        check_layer(3, _x((4, 3)))
    with pytest.raises(ValueError, match="check_layer: h must"):
        check_layer(ReLU(), _x((4, 3)), h=math.nan)


def test_dense_hand_worked_case(float64):
    layer = _build(Dense(2), 2)
    layer.params["kernel"] = tb.to_device(np.array([[1.0, 2.0], [3.0, 4.0]]))
    layer.params["bias"] = tb.to_device(np.array([0.5, -0.5]))
    y = layer.forward(tb.to_device(np.array([[1.0, 1.0]])))
    np.testing.assert_allclose(tb.to_numpy(y), [[4.5, 5.5]])
    grad_x = layer.backward(tb.to_device(np.array([[1.0, -1.0]])))
    np.testing.assert_allclose(tb.to_numpy(grad_x), [[-1.0, -1.0]])
    np.testing.assert_allclose(tb.to_numpy(layer.grads["kernel"]), [[1.0, -1.0], [1.0, -1.0]])
    np.testing.assert_allclose(tb.to_numpy(layer.grads["bias"]), [1.0, -1.0])


def test_softmax_hand_worked_case(float64):
    layer = Softmax()
    y = tb.to_numpy(layer.forward(tb.to_device(np.array([[0.0, math.log(3.0)]]))))
    np.testing.assert_allclose(y, [[0.25, 0.75]])
    # JVP: y * (g - sum(g * y)); g = (1, 0): 0.25 * (1 - 0.25), 0.75 * (0 - 0.25)
    g = tb.to_numpy(layer.backward(tb.to_device(np.array([[1.0, 0.0]]))))
    np.testing.assert_allclose(g, [[0.1875, -0.1875]])


def test_relu_and_leaky_relu_values(float64):
    x = tb.to_device(np.array([[-2.0, 0.0, 3.0]]))
    np.testing.assert_array_equal(tb.to_numpy(ReLU().forward(x)), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(tb.to_numpy(LeakyReLU().forward(x)), [[-0.6, 0.0, 3.0]])
    assert Dense(2, activation="leaky_relu").activation.negative_slope == 0.2


def test_sigmoid_and_softmax_finite_for_huge_inputs(float64):
    x = tb.to_device(np.array([[-1e4, 0.0, 1e4]]))
    s = tb.to_numpy(Sigmoid().forward(x))
    np.testing.assert_allclose(s, [[0.0, 0.5, 1.0]])
    p = tb.to_numpy(Softmax().forward(x))
    assert np.all(np.isfinite(p)) and p[0, 2] == 1.0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), width=st.integers(1, 6), units=st.integers(1, 6),
       k=st.one_of(st.none(), st.integers(2, 4)))
def test_dense_shapes(n, width, units, k):
    layer = _build(Dense(units, activation="relu"), width, k=k)
    y = layer.forward(tb.to_device(_x((n, width))))
    lead = () if k is None else (k,)
    assert tuple(y.shape) == lead + (n, units)
    grad_x = layer.backward(tb.to_device(np.ones(lead + (n, units))))
    assert tuple(grad_x.shape) == (n, width)  # the shared input's gradient sums the copies
    assert tuple(layer.grads["kernel"].shape) == lead + (width, units)
    assert tuple(layer.grads["bias"].shape) == lead + (units,)


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Choose one of: linear, relu"):
        Dense(3, activation="rlu")


def test_dense_repr_shows_the_activation_it_applies():
    assert repr(Dense(3, activation="relu")) == "Dense(3, activation='relu')"
    assert repr(Dense(3, activation=LeakyReLU(0.2))) == "Dense(3, activation='leaky_relu')"
    assert repr(Dense(3, activation=LeakyReLU(0.3))) == \
        "Dense(3, activation=LeakyReLU(negative_slope=0.3))"
    assert repr(Dense(3)) == repr(Dense(3, activation=tn.layers.Linear())) == "Dense(3)"

    class Doubling(tn.layers.Layer):
        def forward(self, x, training=True):
            return 2.0 * x

    assert repr(Dense(3, activation=Doubling())) == "Dense(3, activation=Doubling())"


def test_bad_units_and_initializer():
    with pytest.raises(ValueError, match="units"):
        Dense(0)
    with pytest.raises(TypeError, match="units"):
        Dense(2.5)
    with pytest.raises(ValueError, match="he_normal"):
        Dense(2, kernel_initializer="he_nrmal")


@pytest.mark.parametrize("shape", [(None,), (2.0,), ("2",), (True,), (0,), (-1,), (2, 3), (),
                                   2, "2", {"n": 2}])
def test_dense_bad_input_shape_is_a_value_error_naming_it(shape):
    # API.md: input_shape=(n,) for input_dim=n; other shapes or a mismatch: ValueError
    with pytest.raises(ValueError, match=r"Dense\(3\): input_shape") as info:
        Dense(3, input_shape=shape)
    assert repr(shape) in str(info.value)


def test_dense_input_shape_takes_a_numpy_integer():
    assert Dense(3, input_shape=(np.int64(4),)).declared_input_dim == 4


def test_stacked_copy_k_equals_single_model_with_seed_plus_k():
    def layers():
        return [Dense(4, activation="relu", input_dim=3), Dense(2)]

    stacked = tn.Sequential(layers(), seed=5, n_models=3).get_weights()
    for k in range(3):
        single = tn.Sequential(layers(), seed=5 + k).get_weights()
        for s, w in zip(stacked, single):
            np.testing.assert_array_equal(s[k], w)
    same = tn.Sequential(layers(), seed=5, n_models=3, same_init=True).get_weights()
    np.testing.assert_array_equal(same[0][2], tn.Sequential(layers(), seed=5).get_weights()[0])


# --- what a wrong implementation gets wrong -------------------------------------------
@pytest.mark.parametrize("path", ["plain", "fused"])
def test_relu_derivative_at_zero_is_zero(float64, path):
    """A unit at z = 0 exactly passes back nothing, on every way ReLU keeps its derivative.

    Zero kernel and bias make every z of the first layer exactly 0, so its kernel
    and bias get zero gradients and one SGD step leaves them unchanged. plain:
    ReLU.backward; fused: the float mask [y > 0].
    """
    units, n = 4, 2
    model = tn.Sequential([Dense(units, "relu", kernel_initializer="zeros", input_dim=3),
                           Dense(2)], seed=0)
    model.compile(tn.optimizers.SGD(0.5), loss="mse", fused=path != "plain")
    x, y = _x((n, 3)), _x((n, 2), seed=2)
    before = model.get_weights()
    model.train_on_batch(x, y)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[3], before[3])  # the step happened


@pytest.mark.parametrize("fused", [True, False])
def test_dense_softmax_head_is_finite_for_logits_of_1e4(float64, fused):
    """softmax(z) = exp(z - max z) / sum exp(z - max z): logits of 1e4 overflow nothing."""
    model = tn.Sequential([Dense(3, "softmax", input_dim=1)], seed=0)
    model.compile(tn.optimizers.SGD(0.1), loss="categorical_crossentropy", fused=fused)
    model.set_weights([np.array([[1e4, 0.0, -1e4]]), np.zeros(3)])
    x, y = np.array([[1.0], [-1.0]]), np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(model.predict(x), [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    loss = model.train_on_batch(x, y)
    assert math.isfinite(loss) and loss > 1.0  # the second sample is confidently wrong
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


@pytest.mark.parametrize("n_models", [1, 3])
def test_first_layer_backward_returns_grad_x(float64, n_models):
    """A model's first layer returns dL/dx as well, checked by central differences."""
    from tinynet.lab.gradcheck import numerical_gradient, relative_error

    model = tn.Sequential([Dense(4, "tanh", input_dim=3), Dense(2)], seed=1,
                          n_models=n_models)
    x = _x((5, 3))
    r = _x(((n_models,) if n_models > 1 else ()) + (5, 2), seed=3)

    def f(value):
        return float(np.sum(tb.to_numpy(model.forward(tb.to_device(value))) * r))

    model.forward(tb.to_device(x))
    grad = tb.to_device(r)
    for layer in reversed(model.layers):
        grad = layer.backward(grad)
    assert grad is not None and tuple(grad.shape) == (5, 3)
    assert relative_error(grad, numerical_gradient(f, x)) < 1e-6


@pytest.mark.parametrize("fused", [False, True])
def test_leaky_relu_derivative_at_zero_is_the_slope(float64, fused):
    """As torch's leaky_relu backward (x > 0 ? g : slope * g): at exactly 0, the slope."""
    layer = LeakyReLU(0.1)
    layer.forward(tb.to_device(np.array([[-1.0, 0.0, 2.0]])))
    grad = tb.to_numpy(layer.backward(tb.to_device(np.ones((1, 3)))))
    np.testing.assert_array_equal(grad, [[0.1, 0.1, 1.0]])
    # in a model: zero kernel and bias put every unit of layer 0 at exactly 0, so the
    # gradient reaching its bias is slope * (the gradient from above)
    model = tn.Sequential([Dense(2, kernel_initializer="zeros", input_dim=1), LeakyReLU(0.1),
                           Dense(1, kernel_initializer="ones", use_bias=False)], seed=0)
    model.compile(tn.optimizers.SGD(1.0), loss="mse", fused=fused)
    model.train_on_batch(np.array([[1.0]]), np.array([[1.0]]))  # dL/dy = 2 (0 - 1) = -2
    np.testing.assert_allclose(model.get_weights()[1], [0.2, 0.2], rtol=1e-12)


def test_an_unbuilt_dense_layer_says_how_to_build_it():
    layer = Dense(3, input_dim=4)
    with pytest.raises(ValueError, match=r"Dense\(3\).forward: the layer has no weights yet"):
        layer.forward(tb.to_device(np.ones((2, 4))))
    _build(layer, 4)
    assert tb.to_numpy(layer.forward(tb.to_device(np.ones((2, 4))))).shape == (2, 3)


def test_dense_called_alone_names_a_wrong_input_width_and_a_missing_forward():
    layer = Dense(3)
    _build(layer, 4)
    with pytest.raises(ValueError, match=r"Dense\(3\) expected 4 input features \(built for 4\), "
                                         r"got shape \(2, 5\)"):
        layer.forward(tb.to_device(np.ones((2, 5))))
    with pytest.raises(ValueError, match=r"Dense\(3\)\.backward: call forward\(x\) first"):
        Dense(3).backward(tb.to_device(np.ones((2, 3))))
