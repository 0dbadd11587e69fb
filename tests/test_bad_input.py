"""Every public entry point refuses bad input with a message that names it."""

import numpy as np
import pytest
from conftest import blobs
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet.layers import Dense


def _model():
    model = tn.Sequential([Dense(4, activation="relu", input_dim=2),
                           Dense(3, activation="softmax")], seed=0)
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    return model


X, Y = blobs(20)
Y = Y % 3


@settings(max_examples=30, deadline=None)
@given(row=st.integers(0, 19), col=st.integers(0, 1),
       bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_nan_or_inf_in_x(row, col, bad):
    x = X.copy()
    x[row, col] = bad
    with pytest.raises(ValueError, match="x contains 1 NaN or infinite"):
        _model().fit(x, Y, verbose=0)


@settings(max_examples=20, deadline=None)
@given(n_y=st.integers(1, 40).filter(lambda n: n != 20))
def test_row_counts_must_match(n_y):
    with pytest.raises(ValueError, match=rf"x has 20 rows but y has {n_y}"):
        _model().fit(X, np.zeros(n_y, dtype=int), verbose=0)


@settings(max_examples=20, deadline=None)
@given(label=st.one_of(st.integers(3, 100), st.integers(-100, -1)))
def test_labels_out_of_range(label):
    y = Y.copy()
    y[5] = label
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        _model().fit(X, y, verbose=0)


def test_y_shape_must_fit_the_loss():
    model = tn.Sequential([Dense(3, activation="softmax", input_dim=2)], seed=0)
    model.compile("sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        model.fit(X, Y, verbose=0)


def test_input_width_mismatch_names_the_layer():
    match = r"Dense\(4.*layer 0.*expected 2 input features.*\(20, 3\)"
    with pytest.raises(ValueError, match=match):
        _model().fit(np.zeros((20, 3)), Y, verbose=0)
    match = r"layer 1.*expected 5 input features.*previous layer gives 4"
    with pytest.raises(ValueError, match=match):
        tn.Sequential([Dense(4, input_dim=2), Dense(3, input_dim=5)], seed=0)


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ({"batch_size": -3}, "batch_size"),
    ({"epochs": 0}, "epochs must be a positive integer, got 0"),
    ({"validation_split": 1.0}, "validation_split"),
    ({"validation_split": -0.1}, "validation_split"),
    ({"validation_split_mode": "head"}, "Choose one of: tail, random"),
    ({"verbose": 3}, "verbose"),
    ({"validation_data": (X,)}, "validation_data"),
])
def test_bad_fit_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _model().fit(X, Y, **kwargs)


def test_bad_compile_and_construction():
    model = tn.Sequential([Dense(3, input_dim=2)], seed=0)
    with pytest.raises(ValueError, match="sgd, rmsprop, adagrad, adam, adamw"):
        model.compile("lbfgs", loss="mse")
    with pytest.raises(ValueError, match="binary_crossentropy"):
        model.compile("sgd", loss="hinge")
    with pytest.raises(ValueError, match="loss is required"):
        model.compile("sgd")
    with pytest.raises(ValueError, match="learning_rate must be a finite number >= 0"):
        tn.optimizers.SGD(learning_rate=-0.01)
    with pytest.raises(ValueError, match="2 learning rates but the model stacks 3"):
        tn.Sequential([Dense(3, input_dim=2)], n_models=3).compile(
            tn.optimizers.SGD([0.1, 0.2]), loss="mse")
    with pytest.raises(ValueError, match="no layers yet"):
        tn.Sequential([]).predict(X)  # an empty model is allowed (Keras), not usable
    with pytest.raises(TypeError, match="layer 1"):
        tn.Sequential([Dense(3), "relu"])
    layer = Dense(3, input_dim=2)
    tn.Sequential([layer])
    with pytest.raises(ValueError, match="already belongs to a built model"):
        tn.Sequential([layer])


def test_uncompiled_model():
    with pytest.raises(ValueError, match="compile"):
        tn.Sequential([Dense(3, input_dim=2)]).fit(X, Y)


def test_set_weights_checks_shapes():
    with pytest.raises(ValueError, match=r"weights\[0\].*shape \(2, 4\)"):
        _model().set_weights([np.zeros((3, 4)), np.zeros(4), np.zeros((4, 3)), np.zeros(3)])
    with pytest.raises(ValueError, match="expected 4 arrays, got 1"):
        _model().set_weights([np.zeros((2, 4))])


def test_non_numeric_x():
    with pytest.raises(TypeError, match="x must hold numbers"):
        _model().fit(np.array([["a", "b"]] * 20), Y, verbose=0)
    with pytest.raises(ValueError, match="x must be 2-D"):
        _model().predict(np.zeros(5))


@pytest.mark.parametrize("x", [np.array([[1e200, 1.0], [2.0, 3.0]]),
                               np.array([[3e19, 1.0], [2.0, 3.0]], dtype=np.float32)],
                         ids=["float64", "float32"])
def test_the_input_check_does_not_warn_about_its_own_overflow(x):
    """sum(x^2) overflows for large finite x; the check must not leak a RuntimeWarning."""
    import warnings

    from tinynet import _checks

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checked = _checks.host_array(x, "x", "fit")
        with pytest.raises(ValueError, match="beyond the float32 range"):
            _checks.host_array(np.array([[1e200, 1.0]]), "x", "fit", compute=True)
    np.testing.assert_array_equal(checked, x)


@pytest.mark.parametrize("make, word", [
    (lambda: tn.optimizers.SGD(0.1, momentum=0.9, nesterov="no"), "nesterov"),
    (lambda: tn.Sequential([Dense(2, input_dim=2)], same_init="no"), "same_init"),
    (lambda: tn.callbacks.EarlyStopping(restore_best_weights="False"), "restore_best_weights"),
    (lambda: tn.callbacks.ModelCheckpoint("m.npz", save_best_only=1), "save_best_only"),
    (lambda: tn.callbacks.CSVLogger("log.csv", append="yes"), "append"),
    (lambda: Dense(2, use_bias="no"), "use_bias"),
    (lambda: tn.losses.BinaryCrossentropy(from_logits="False"), "from_logits"),
    (lambda: tn.Sequential([Dense(2, input_dim=2)]).compile("sgd", "mse", fused="no"), "fused"),
])
def test_a_flag_given_as_text_or_number_is_refused(make, word):
    """bool("no") is True: a flag must be True or False, not something truthy."""
    with pytest.raises(TypeError, match=f"{word} must be True or False"):
        make()


def test_learning_rate_and_lr_together_are_refused():
    with pytest.raises(TypeError, match=r"learning_rate=0.1 and lr=0.2; give one"):
        tn.optimizers.SGD(learning_rate=0.1, lr=0.2)
    with pytest.raises(TypeError, match="give one"):
        tn.optimizers.AdamW([0.1, 0.2], lr=0.3)
    assert tn.optimizers.SGD(lr=0.2).learning_rate == 0.2  # torch's name alone is fine
    assert tn.optimizers.Adam(lr=0.2).learning_rate == 0.2


@pytest.mark.parametrize("value", ["0.5", True, ["0.1", "0.2"], None])
def test_a_scheduler_returning_something_else_than_numbers_is_refused(value):
    x, y = blobs(16)
    model = tn.Sequential([Dense(4, activation="softmax", input_dim=2)], seed=0)
    model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    scheduler = tn.callbacks.LearningRateScheduler(lambda epoch: value)
    with pytest.raises(ValueError, match=r"schedule\(epoch=0, lr\) must return a float"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[scheduler])


@pytest.mark.parametrize("rates", ["0.1", [True], [0.1, "0.2"], np.array([True, False])])
def test_sweep_refuses_rates_that_are_text_or_bools(rates):
    x, y = blobs(16)
    with pytest.raises(TypeError, match="learning_rates must hold numbers"):
        tn.sweep(lambda: [Dense(4, activation="softmax")], x, y, rates, epochs=1,
                 loss="sparse_categorical_crossentropy")
