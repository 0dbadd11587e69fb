"""tinynet.data: StandardScaler, train_test_split and one_hot."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinynet.data import NotFittedError, StandardScaler, one_hot, train_test_split

finite_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
matrices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
    elements=finite_floats,
)


# --- StandardScaler -----------------------------------------------------------


def test_scaler_hand_worked_case():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    scaler = StandardScaler().fit(x)
    np.testing.assert_array_equal(scaler.mean_, [3.0, 10.0])
    np.testing.assert_allclose(scaler.var_, [8.0 / 3.0, 0.0])  # ddof=0
    np.testing.assert_allclose(scaler.scale_, [math.sqrt(8.0 / 3.0), 1.0])
    assert scaler.n_features_in_ == 2
    z = scaler.transform(x)
    s = math.sqrt(8.0 / 3.0)
    np.testing.assert_allclose(z, [[-2 / s, 0.0], [0.0, 0.0], [2 / s, 0.0]])


def test_scaler_standardises_the_training_data():
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(200, 4))
    z = StandardScaler().fit_transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0)


def test_zero_variance_column_gets_scale_one_and_becomes_zero():
    x = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 4.0]])
    scaler = StandardScaler().fit(x)
    assert scaler.scale_[0] == 1.0 and scaler.var_[0] == 0.0
    z = scaler.transform(x)
    assert np.all(z[:, 0] == 0.0)
    np.testing.assert_array_equal(scaler.inverse_transform(z)[:, 0], x[:, 0])


@given(matrices)
@settings(max_examples=60, deadline=None)
def test_scaler_round_trip(x):
    scaler = StandardScaler()
    back = scaler.inverse_transform(scaler.fit_transform(x))
    np.testing.assert_allclose(back, x, rtol=1e-9, atol=1e-9 * (1.0 + np.abs(x).max()))


@given(matrices)
@settings(max_examples=30, deadline=None)
def test_scaler_never_modifies_its_input(x):
    kept = x.copy()
    scaler = StandardScaler().fit(x)
    scaler.transform(x)
    scaler.inverse_transform(x)
    np.testing.assert_array_equal(x, kept)


def test_scaler_fitted_on_train_leaves_test_mean_nonzero():
    rng = np.random.default_rng(1)
    x_train = rng.normal(0.0, 1.0, size=(100, 3))
    x_test = rng.normal(2.0, 1.0, size=(50, 3))  # shifted: a different distribution
    scaler = StandardScaler().fit(x_train)
    z_test = scaler.transform(x_test)
    assert np.all(np.abs(z_test.mean(axis=0)) > 1.0)
    np.testing.assert_allclose(scaler.transform(x_train).mean(axis=0), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    ("with_mean", "with_std", "expected"),
    [
        (True, True, [[-1.0], [1.0]]),
        (False, True, [[1.0], [3.0]]),
        (True, False, [[-2.0], [2.0]]),
        (False, False, [[2.0], [6.0]]),
    ],
)
def test_scaler_options(with_mean, with_std, expected):
    x = [[2.0], [6.0]]  # mean 4, std 2
    scaler = StandardScaler(with_mean=with_mean, with_std=with_std)
    np.testing.assert_allclose(scaler.fit_transform(x), expected)
    assert (scaler.mean_ is None) is not with_mean
    assert (scaler.scale_ is None) is not with_std
    np.testing.assert_allclose(scaler.inverse_transform(expected), x)


def test_scaler_accepts_lists_and_ints():
    z = StandardScaler().fit_transform([[1, 2], [3, 4]])
    assert z.dtype == np.float64
    np.testing.assert_allclose(z, [[-1.0, -1.0], [1.0, 1.0]])


def test_scaler_used_before_fit():
    scaler = StandardScaler()
    for method in (scaler.transform, scaler.inverse_transform):
        with pytest.raises(NotFittedError, match="fit"):
            method([[1.0]])
    assert issubclass(NotFittedError, ValueError)


def test_scaler_wrong_feature_count_names_both_counts():
    scaler = StandardScaler().fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected 3 features.*got 2"):
        scaler.transform(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"expected 3 features.*got 5"):
        scaler.inverse_transform(np.ones((4, 5)))


def test_scaler_1d_input_suggests_reshape():
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        StandardScaler().fit(np.arange(5.0))
    scaler = StandardScaler().fit(np.arange(5.0).reshape(-1, 1))
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        scaler.transform(np.arange(5.0))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_scaler_rejects_nan_and_inf(bad):
    x = np.array([[1.0, 2.0], [3.0, bad]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        StandardScaler().fit(x)
    scaler = StandardScaler().fit([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        scaler.transform(x)


def test_scaler_rejects_bad_input_types_and_shapes():
    with pytest.raises(ValueError, match="x must be 2-D"):
        StandardScaler().fit(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="at least one sample"):
        StandardScaler().fit(np.ones((0, 3)))
    with pytest.raises(TypeError, match="x must hold numbers"):
        StandardScaler().fit([["a", "b"]])
    with pytest.raises(TypeError, match="with_mean"):
        StandardScaler(with_mean=1)
    with pytest.raises(TypeError, match="with_std"):
        StandardScaler(with_std="no")


# --- train_test_split ---------------------------------------------------------


def _data(n=10):
    x = np.arange(2 * n, dtype=np.float64).reshape(n, 2)
    y = np.arange(n)
    return x, y


@pytest.mark.parametrize(("n", "test_size", "n_test"), [(10, 0.2, 2), (10, 0.25, 3),
                                                        (7, 0.5, 4), (10, 3, 3), (5, 0.01, 1)])
def test_split_sizes_follow_sklearn(n, test_size, n_test):
    x, y = _data(n)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, seed=0)
    assert len(x_test) == len(y_test) == n_test
    assert len(x_train) == len(y_train) == n - n_test


def test_split_keeps_rows_together_and_uses_every_row_once():
    x, y = _data(20)
    x_train, x_test, y_train, y_test = train_test_split(x, y, seed=1)
    np.testing.assert_array_equal(x_train[:, 0], 2 * y_train)
    np.testing.assert_array_equal(x_test[:, 0], 2 * y_test)
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_test])), y)


def test_split_is_deterministic_with_a_seed():
    x, y = _data(50)
    a = train_test_split(x, y, seed=7)
    b = train_test_split(x, y, seed=7)
    c = train_test_split(x, y, seed=8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[3], c[3])


def test_split_without_shuffle_keeps_the_last_rows_for_testing():
    x, y = _data(10)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, shuffle=False)
    np.testing.assert_array_equal(y_train, np.arange(7))
    np.testing.assert_array_equal(y_test, [7, 8, 9])


def test_split_returns_copies_and_leaves_inputs_alone():
    x, y = _data(10)
    x_kept, y_kept = x.copy(), y.copy()
    x_train, x_test, y_train, y_test = train_test_split(x, y, seed=0)
    x_train[:] = -1
    y_test[:] = -1
    np.testing.assert_array_equal(x, x_kept)
    np.testing.assert_array_equal(y, y_kept)


def test_split_accepts_lists_and_multi_dim_rows():
    x = np.zeros((6, 2, 3))
    x_train, x_test, y_train, y_test = train_test_split(x, [0, 1, 0, 1, 0, 1], test_size=2)
    assert x_train.shape == (4, 2, 3) and x_test.shape == (2, 2, 3)
    assert y_train.shape == (4,)


@given(st.integers(0, 1000))
@settings(max_examples=25, deadline=None)
def test_stratified_split_keeps_class_proportions(seed):
    y = np.repeat([0, 1, 2], [50, 30, 20])
    x = np.arange(100.0).reshape(-1, 1)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=seed,
                                                        stratify=y)
    assert np.bincount(y_test).tolist() == [10, 6, 4]
    assert np.bincount(y_train).tolist() == [40, 24, 16]
    np.testing.assert_array_equal(y[x_test[:, 0].astype(int)], y_test)


def test_stratified_split_with_uneven_shares_still_totals_n_test():
    y = np.array([0] * 7 + [1] * 5 + [2] * 3)
    _, _, y_train, y_test = train_test_split(np.zeros((15, 1)), y, test_size=0.4, seed=0,
                                             stratify=y)
    assert len(y_test) == 6 and len(y_train) == 9
    counts = np.bincount(y_test, minlength=3)
    assert np.all(np.abs(counts - 6 * np.array([7, 5, 3]) / 15) < 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"test_size": 0.0}, ValueError, "test_size"),
        ({"test_size": 1.0}, ValueError, "test_size"),
        ({"test_size": -0.2}, ValueError, "test_size"),
        ({"test_size": 0}, ValueError, "test_size"),
        ({"test_size": 10}, ValueError, "test_size"),
        ({"test_size": 0.99}, ValueError, "test_size"),
        ({"test_size": "20%"}, TypeError, "test_size"),
        ({"test_size": True}, TypeError, "test_size"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 0.5}, TypeError, "seed"),
        ({"shuffle": 1}, TypeError, "shuffle"),
        ({"stratify": [0, 1]}, ValueError, "stratify"),
        ({"stratify": np.zeros(10), "shuffle": False}, ValueError, "stratify"),
    ],
)
def test_split_bad_arguments(kwargs, error, match):
    x, y = _data(10)
    with pytest.raises(error, match=match):
        train_test_split(x, y, **kwargs)


def test_split_row_count_mismatch_names_both_counts():
    with pytest.raises(ValueError, match=r"10 rows in x and 9 in y"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))


def test_split_needs_two_rows_and_a_row_axis():
    with pytest.raises(ValueError, match="at least 2 samples"):
        train_test_split(np.zeros((1, 2)), np.zeros(1))
    with pytest.raises(ValueError, match="row axis"):
        train_test_split(np.float64(1.0), np.zeros(1))


# --- one_hot ------------------------------------------------------------------


def test_one_hot_hand_worked_case():
    out = one_hot([2, 0, 1, 2], num_classes=4)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(
        out, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
    )


def test_one_hot_infers_num_classes_and_accepts_integral_floats_and_columns():
    np.testing.assert_array_equal(one_hot(np.array([0.0, 2.0])), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(one_hot(np.array([[1], [0]])), [[0, 1], [1, 0]])


@given(hnp.arrays(np.int64, st.integers(1, 30), elements=st.integers(0, 9)))
@settings(max_examples=30, deadline=None)
def test_one_hot_rows_sum_to_one_and_argmax_gives_labels_back(y):
    kept = y.copy()
    out = one_hot(y, num_classes=10)
    assert out.shape == (y.size, 10)
    np.testing.assert_array_equal(out.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(out, axis=1), y)
    np.testing.assert_array_equal(y, kept)


@pytest.mark.parametrize(
    ("y", "num_classes", "error", "match"),
    [
        ([0, 3, 1], 3, ValueError, r"label 3 .*num_classes=3"),
        ([0, -1], 3, ValueError, r"non-negative.*-1"),
        ([0.5, 1.0], 3, ValueError, r"integers.*0\.5"),
        ([0, np.nan], 3, ValueError, "NaN"),
        ([0, 1], 0, ValueError, "num_classes"),
        ([0, 1], 2.0, TypeError, "num_classes"),
        ([[0, 1], [1, 0]], 2, ValueError, "y must be 1-D"),
        (["a", "b"], 2, TypeError, "y must hold numbers"),
        ([], None, ValueError, "num_classes"),
    ],
)
def test_one_hot_bad_input(y, num_classes, error, match):
    with pytest.raises(error, match=match):
        one_hot(y, num_classes=num_classes)


def test_one_hot_empty_with_num_classes():
    assert one_hot([], num_classes=3).shape == (0, 3)


# --- edge cases and other backends --------------------------------------------


def test_scaler_variance_underflow_counts_as_constant():
    x = np.array([[0.0], [5e-324]])  # var underflows to 0
    z = StandardScaler().fit_transform(x)
    assert np.all(np.isfinite(z))


def test_scaler_variance_overflow_is_refused():
    with pytest.raises(ValueError, match="too large"):
        StandardScaler().fit([[1e300], [-1e300]])


def test_backend_arrays_are_accepted_and_numpy_comes_back():
    xp = pytest.importorskip("array_api_strict")
    x = xp.asarray([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    y = xp.asarray([0, 1, 2])
    z = StandardScaler().fit_transform(x)
    assert isinstance(z, np.ndarray)
    np.testing.assert_allclose(z[:, 0], [-math.sqrt(1.5), 0.0, math.sqrt(1.5)])
    parts = train_test_split(x, y, test_size=1, seed=0)
    assert all(isinstance(p, np.ndarray) for p in parts)
    np.testing.assert_array_equal(one_hot(y), np.eye(3))
