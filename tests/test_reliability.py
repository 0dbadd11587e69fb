"""Input that used to slip through to internal errors or silent nonsense.

Values beyond the compute dtype, empty arrays, pandas nullable dtypes, one-hot
rows that are not one-hot, schedules that return the wrong thing or overflow,
and two model options (freeze masks, metrics=None).
"""

import math
import warnings

import numpy as np
import pytest

import tinynet as tn
from tinynet import _checks
from tinynet.layers import Dense


def _model(loss="mse", out=1, activation=None, n_models=1):
    model = tn.Sequential([Dense(out, activation=activation, input_dim=2)], seed=0,
                          n_models=n_models)
    model.compile(tn.optimizers.SGD(0.01), loss=loss)
    return model


X = np.linspace(-1.0, 1.0, 8).reshape(4, 2)
Y = np.array([0.5, -0.5, 1.0, 0.0])


# --- 1. values finite in float64 but beyond the compute dtype ----------------------

@pytest.mark.parametrize("call", ["fit", "predict", "evaluate", "train_on_batch"])
def test_x_beyond_float32_is_refused(call):
    model = _model()
    x = X.copy()
    x[1, 0] = -1e39
    args = (x,) if call == "predict" else (x, Y)
    kwargs = {"verbose": 0} if call == "fit" else {}
    match = r"x .*1e\+39.*float32.*3\.4\d*e\+38.*set_dtype\(.float64.\)"
    with pytest.raises(ValueError, match=match):
        getattr(model, call)(*args, **kwargs)


def test_target_beyond_float32_is_refused():
    y = Y.copy()
    y[2] = 1e200
    with pytest.raises(ValueError, match=r"fit: y .*1e\+200.*float32"):
        _model().fit(X, y, verbose=0)


def test_beyond_float32_is_fine_in_float64():
    tn.set_dtype("float64")
    try:
        out = _model().predict(X * 1e39)
    finally:
        tn.set_dtype("float32")
    assert np.all(np.isfinite(out))


def test_scaler_still_accepts_large_values():
    """The host tools work in float64: scaling is the fix, so it must accept them."""
    z = tn.data.StandardScaler().fit_transform(X * 1e39)
    assert np.all(np.isfinite(z))


# --- 2. empty arrays -----------------------------------------------------------------

EMPTY = np.zeros((0, 2))


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict", "train_on_batch"])
def test_empty_x_says_zero_rows(call):
    model = _model()
    args = (EMPTY,) if call == "predict" else (EMPTY, np.zeros(0))
    kwargs = {"verbose": 0} if call == "fit" else {}
    with pytest.raises(ValueError, match=rf"{call}: x has 0 rows"):
        getattr(model, call)(*args, **kwargs)


def test_empty_y_says_zero_rows():
    with pytest.raises(ValueError, match=r"fit: y has 0 rows"):
        _model().fit(X, np.zeros(0), verbose=0)


def test_empty_validation_data_says_zero_rows():
    with pytest.raises(ValueError, match=r"x has 0 rows"):
        _model().fit(X, Y, validation_data=(EMPTY, np.zeros(0)), verbose=0)


def test_empty_data_tools_say_zero_rows():
    with pytest.raises(ValueError, match=r"StandardScaler.fit: x has 0 rows"):
        tn.data.StandardScaler().fit(EMPTY)
    with pytest.raises(ValueError, match=r"train_test_split: x has 0 rows"):
        tn.data.train_test_split(EMPTY, np.zeros(0))


def test_empty_lr_find_says_zero_rows():
    with pytest.raises(ValueError, match=r"lr_find: x has 0 rows"):
        tn.lr_find(_model(), EMPTY, np.zeros(0))


def test_empty_sweep_says_zero_rows():
    with pytest.raises(ValueError, match=r"x has 0 rows"):
        tn.sweep(lambda: [Dense(1)], EMPTY, np.zeros(0), learning_rates=[0.1], seeds=[0],
                 loss="mse", epochs=1, verbose=0)


def test_one_hot_of_no_labels_is_still_allowed():
    assert tn.data.one_hot([], 3).shape == (0, 3)


# --- 3. pandas ----------------------------------------------------------------------

def test_pandas_nullable_dtypes_are_converted():
    pd = pytest.importorskip("pandas")
    for arr, kind in [(pd.array([1, 2], dtype="Int64"), "i"),
                      (pd.array([1.5, 2.0], dtype="Float64"), "f"),
                      (pd.array([True, False], dtype="boolean"), "f")]:
        out = _checks.host_array(arr, "y", "test")
        assert out.dtype.kind == kind
        np.testing.assert_array_equal(out, np.array([1, 2] if kind == "i" else
                                                    [1.5, 2.0] if arr.dtype == "Float64"
                                                    else [1.0, 0.0]))


def test_pandas_mixed_nullable_frame_trains():
    pd = pytest.importorskip("pandas")
    x = pd.DataFrame({"a": pd.array([1, 2, 3, 4], dtype="Int64"),
                      "b": pd.array([0.5, 1.5, -1.0, 2.0], dtype="Float64")})
    y = pd.Series([0, 1, 1, 0], dtype="Int64")
    model = tn.Sequential([Dense(2, activation="softmax", input_dim=2)], seed=0)
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert model.predict(x).shape == (4, 2)
    x_tr, x_te, y_tr, y_te = tn.data.train_test_split(x, y, test_size=0.25, seed=0)
    assert x_tr.shape == (3, 2) and y_te.shape == (1,)
    assert tn.data.one_hot(y, 2).shape == (4, 2)


def test_pandas_plain_frame_and_series_train():
    pd = pytest.importorskip("pandas")
    x = pd.DataFrame(X, columns=["a", "b"])
    y = pd.Series(Y)
    history = _model().fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    z = tn.data.StandardScaler().fit_transform(x)
    assert z.shape == (4, 2)


def test_pandas_missing_values_are_named():
    pd = pytest.importorskip("pandas")
    x = pd.DataFrame({"a": pd.array([1, None, 3, 4], dtype="Int64"), "b": [0.0, 1, 2, 3]})
    with pytest.raises(ValueError, match=r"fit: x has 1 missing value.*(dropna|fillna)"):
        _model().fit(x, Y, verbose=0)
    y = pd.array([0.5, None, 1.0, 0.0], dtype="Float64")
    with pytest.raises(ValueError, match=r"fit: y has 1 missing value"):
        _model().fit(X, y, verbose=0)


def test_pandas_missing_values_pass_where_nan_does():
    """train_test_split keeps NaN (finite=False): pd.NA becomes NaN there, as NumPy's would."""
    pd = pytest.importorskip("pandas")
    x = pd.DataFrame({"a": pd.array([1, None, 3, 4], dtype="Int64")})
    x_tr, x_te, _, _ = tn.data.train_test_split(x, Y, test_size=2, shuffle=False)
    assert x_tr.dtype == np.float64 and np.isnan(x_tr[1, 0]) and x_te[1, 0] == 4.0


# --- 4. one-hot rows ----------------------------------------------------------------

def _cce_model(n_out=3):
    model = tn.Sequential([Dense(n_out, activation="softmax", input_dim=2)], seed=0)
    model.compile("sgd", loss="categorical_crossentropy")
    return model


def test_all_zero_one_hot_row_is_refused():
    y = np.eye(3)[[0, 1, 2, 0]]
    y[3] = 0.0
    with pytest.raises(ValueError, match=r"fit: y row 3 sums to 0"):
        _cce_model().fit(X, y, verbose=0)


def test_negative_one_hot_value_names_the_row():
    y = np.eye(3)[[0, 1, 2, 0]]
    y[2, 1] = -0.5
    with pytest.raises(ValueError, match=r"fit: y row 2 .*negative"):
        _cce_model().fit(X, y, verbose=0)


def test_rows_not_summing_to_one_warn_as_soft_labels():
    y = np.eye(3)[[0, 1, 2, 0]]
    y[1] = [0.2, 0.2, 0.2]
    y[3] = [2.0, 0.0, 0.0]
    with pytest.warns(UserWarning, match=r"2 of 4 y rows do not sum to 1.*soft labels.*sum"):
        _cce_model().fit(X, y, verbose=0)


def test_smoothed_labels_do_not_warn():
    y = np.eye(3)[[0, 1, 2, 0]] * 0.9 + 0.1 / 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _cce_model().fit(X, y.astype(np.float32), verbose=0)


def test_binary_targets_outside_unit_interval_are_refused():
    model = tn.Sequential([Dense(1, activation="sigmoid", input_dim=2)], seed=0)
    model.compile("sgd", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"binary targets must lie in \[0, 1\]"):
        model.fit(X, np.array([0.0, 2.0, 1.0, 0.0]), verbose=0)


# --- 7. integer labels with the categorical loss -------------------------------------

def test_integer_labels_with_categorical_loss_suggest_the_fix():
    with pytest.raises(ValueError, match=r"shape \(N, 3\).*sparse_categorical_crossentropy"
                                         r".*tn\.data\.one_hot\(y, 3\)"):
        _cce_model().fit(X, np.array([0, 1, 2, 0]), verbose=0)


# --- 5. schedules -------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["0.1", np.array([0.1, 0.2]), np.array([0.1]), None, [0.1]])
def test_callable_rate_of_wrong_type_is_named(bad):
    opt = tn.optimizers.SGD(lambda step: bad)
    with pytest.raises(TypeError, match=r"SGD: the learning-rate schedule .*lambda.* returned "
                                        r".* at step 0; it must return a number"):
        opt.current_learning_rate  # noqa: B018


class _Bad(tn.schedules.Schedule):
    def __init__(self, value):
        self.value = value

    def rate(self, step):
        return self.value


@pytest.mark.parametrize("bad", ["0.1", np.array([0.1, 0.2]), None])
def test_schedule_of_wrong_type_is_named(bad):
    with pytest.raises(TypeError, match=r"_Bad: the learning rate at step 3 must be a "
                                        r"number.*got"):
        _Bad(bad)(3)


def test_rate_value_check():
    assert _checks.rate_value(np.float32(0.5), 2, "SGD") == 0.5
    assert _checks.rate_value(np.array(0.25), 2, "SGD", schedule="f") == 0.25
    assert type(_checks.rate_value(1, 2, "SGD")) is float
    with pytest.raises(ValueError, match=r"SGD: the learning-rate schedule f returned inf at "
                                         r"step 7.*overflow"):
        _checks.rate_value(math.inf, 7, "SGD", schedule="f")
    with pytest.raises(ValueError, match=r"returned -0.1 at step 0"):
        _checks.rate_value(-0.1, 0, "SGD", schedule="f")
    with pytest.raises(TypeError, match=r"returned '0.1' \(str\) at step 0"):
        _checks.rate_value("0.1", 0, "SGD", schedule="f")
    with pytest.raises(TypeError, match=r"returned an array of shape \(2,\)"):
        _checks.rate_value(np.ones(2), 0, "SGD", schedule="f")
    with pytest.raises(TypeError, match=r"SGD: the learning rate at step 4 must be a number"):
        _checks.rate_value(True, 4, "SGD")


@pytest.mark.parametrize("schedule", [
    tn.schedules.ExponentialDecay(0.1, 1, 2.0),
    tn.schedules.ExponentialDecay(0.1, 1, 2.0, staircase=True),
    tn.schedules.StepDecay(0.1, 1, drop=2.0),
    tn.schedules.CosineDecayRestarts(0.1, 1, t_mul=1.0, m_mul=2.0),
], ids=repr)
def test_growing_schedule_overflow_is_a_clear_error(schedule):
    assert math.isfinite(schedule(10))
    with pytest.raises(ValueError, match=r"the learning rate at step 1000000 is inf"):
        schedule(10**6)


def test_growing_schedule_overflow_rate_goes_to_inf_without_raising():
    assert tn.schedules.ExponentialDecay(0.1, 1, 2.0).rate(10**6) == math.inf
    assert tn.schedules.StepDecay(0.1, 1, drop=2.0).rate(10**6) == math.inf


def test_shrinking_power_overflow_gives_zero():
    """(1 + step/decay_steps) ** power overflowing means the rate has decayed to 0."""
    assert tn.schedules.PowerDecay(0.1, 1, power=1e6)(10**6) == 0.0


def test_triangular2_far_past_its_cycles_decays_to_base():
    """2 ** (cycle - 1) overflowed a float after 1025 cycles: OverflowError at step ~2050."""
    schedule = tn.schedules.CyclicalLearningRate(0.1, 0.2, 1, mode="triangular2")
    assert schedule(10**4) == pytest.approx(0.1)


def test_optimizer_reports_an_overflowing_schedule():
    opt = tn.optimizers.SGD(tn.schedules.ExponentialDecay(0.1, 1, 2.0))
    with pytest.raises(ValueError, match=r"ExponentialDecay.*step 1000000.*inf"):
        opt.rate(10**6)


# --- 6. model options ---------------------------------------------------------------

@pytest.mark.parametrize("mask", [[True], [True, False], [True, False, True, False]])
def test_freeze_mask_of_wrong_length(mask):
    model = _model(n_models=3)
    with pytest.raises(ValueError, match=rf"freeze: mask must have K=3 entries, got {len(mask)}"):
        model.freeze(mask)
    assert model.frozen is None


def test_freeze_mask_of_right_length():
    model = _model(n_models=3)
    model.freeze([False, True, False])
    np.testing.assert_array_equal(model.frozen, [False, True, False])


def test_compile_metrics_none_means_no_metrics():
    model = _cce_model()
    model.compile("sgd", loss="categorical_crossentropy", metrics=None)
    assert model.metric_names == []
    history = model.fit(X, np.eye(3)[[0, 1, 2, 0]], verbose=0)
    assert set(history.history) == {"loss", "lr"}


def test_backend_arrays_are_accepted_as_input(backend):
    """API.md: user input may be arrays of the active backend (here: the backend under test)."""
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [0.5, 0.5]])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    model = tn.Sequential([tn.layers.Dense(2, activation="softmax", input_dim=2)], seed=0)
    model.compile(tn.optimizers.SGD(0.1), loss="categorical_crossentropy")
    on_host = model.predict(x)
    np.testing.assert_allclose(model.predict(tn.backend.to_device(x)), on_host)
    loss = model.train_on_batch(tn.backend.to_device(x), tn.backend.to_device(y))
    assert np.isfinite(loss)
