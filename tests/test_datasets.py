"""tinynet.datasets: the toy generators and the two shipped real data sets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet import datasets

GENERATORS = [
    datasets.make_blobs,
    datasets.make_moons,
    datasets.make_circles,
    datasets.make_spirals,
]


# --- shapes, dtypes, determinism -------------------------------------------


@pytest.mark.parametrize("make", GENERATORS)
def test_generators_return_float64_x_and_int64_y(make):
    X, y = make(n_samples=37, seed=0)
    assert X.shape == (37, 2) and X.dtype == np.float64
    assert y.shape == (37,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(n_samples=50, seed=3)
    X2, y2 = make(n_samples=50, seed=3)
    X3, _ = make(n_samples=50, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make", GENERATORS)
def test_rows_are_shuffled_unless_asked_not_to(make):
    _, y = make(n_samples=60, seed=0)
    _, y_sorted = make(n_samples=60, seed=0, shuffle=False)
    assert not np.all(np.diff(y) >= 0)
    assert np.all(np.diff(y_sorted) >= 0)
    np.testing.assert_array_equal(np.sort(y), y_sorted)


@pytest.mark.parametrize("make", GENERATORS)
def test_one_sample(make):
    X, y = make(n_samples=1, seed=0)
    assert X.shape == (1, 2) and y.shape == (1,)


# --- make_blobs ---------------------------------------------------------------


@given(n=st.integers(1, 200), k=st.integers(1, 7))
@settings(max_examples=30, deadline=None)
def test_blobs_label_counts_differ_by_at_most_one(n, k):
    _, y = datasets.make_blobs(n_samples=n, centers=k, seed=0)
    counts = np.bincount(y, minlength=k)
    assert counts.sum() == n and len(counts) == k
    assert counts.max() - counts.min() <= 1


def test_blobs_given_centers_and_per_centre_std():
    centers = [[0.0, 0.0, 0.0], [100.0, 100.0, 100.0]]
    X, y = datasets.make_blobs(2000, centers=centers, cluster_std=[0.5, 2.0], seed=1)
    assert X.shape == (2000, 3)
    for j, std in enumerate([0.5, 2.0]):
        np.testing.assert_allclose(X[y == j].mean(axis=0), centers[j], atol=0.3)
        np.testing.assert_allclose(X[y == j].std(axis=0), std, rtol=0.1)


def test_blobs_random_centres_lie_in_center_box():
    X, y = datasets.make_blobs(300, centers=4, cluster_std=0.0, n_features=5,
                               center_box=(2.0, 3.0), seed=0)
    assert X.shape == (300, 5)
    assert np.all((X >= 2.0) & (X <= 3.0))
    assert len(np.unique(X, axis=0)) == 4  # std 0: every point sits on its centre


def test_blobs_does_not_modify_centers():
    centers = np.array([[1.0, 2.0], [3.0, 4.0]])
    kept = centers.copy()
    datasets.make_blobs(10, centers=centers, seed=0)
    np.testing.assert_array_equal(centers, kept)


def test_blobs_positional_order_is_api_md():
    # API.md: make_blobs(n_samples, centers, cluster_std=1.0, seed=None)
    X, y = datasets.make_blobs(100, 3, 1.0, 0)
    X_kw, y_kw = datasets.make_blobs(n_samples=100, centers=3, cluster_std=1.0, seed=0)
    np.testing.assert_array_equal(X, X_kw)
    np.testing.assert_array_equal(y, y_kw)
    with pytest.raises(TypeError):
        datasets.make_blobs(100, 3, 1.0, 0, 2)  # n_features, center_box, shuffle: keywords


# --- moons, circles, spirals geometry ----------------------------------------


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = datasets.make_moons(101, seed=0)
    assert np.bincount(y).tolist() == [50, 51]
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    assert np.all(outer[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0)
    assert np.all(inner[:, 1] <= 0.5 + 1e-12)


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.8])
def test_circles_without_noise_have_radius_one_and_factor(factor):
    X, y = datasets.make_circles(200, factor=factor, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], factor, atol=1e-12)
    assert np.bincount(y).tolist() == [100, 100]


def test_noise_moves_points_by_about_its_size():
    clean, _ = datasets.make_circles(4000, seed=5)
    noisy, _ = datasets.make_circles(4000, noise=0.1, seed=5)
    np.testing.assert_allclose(np.std(noisy - clean), 0.1, rtol=0.05)


@pytest.mark.parametrize("n_classes", [1, 2, 3, 5])
def test_spirals_have_n_classes_balanced(n_classes):
    X, y = datasets.make_spirals(103, n_classes=n_classes, noise=0.2, seed=0)
    counts = np.bincount(y)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1
    assert X.shape == (103, 2)


def test_spiral_arms_without_noise_follow_the_formula():
    X, y = datasets.make_spirals(300, n_classes=3, turns=1.5, seed=0, shuffle=False)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.min() == 0.0 and np.isclose(r.max(), 1.0)
    arm = X[y == 1]
    r1 = np.linspace(0.0, 1.0, 100)
    t1 = 2 * np.pi / 3 + 2 * np.pi * 1.5 * r1
    np.testing.assert_allclose(arm, np.stack([r1 * np.sin(t1), r1 * np.cos(t1)], axis=1))


# --- bad arguments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: datasets.make_blobs(0), ValueError, "n_samples"),
        (lambda: datasets.make_blobs(10.0), TypeError, "n_samples"),
        (lambda: datasets.make_blobs(10, centers=0), ValueError, "centers"),
        (lambda: datasets.make_blobs(10, centers=2.5), TypeError, "centers"),
        (lambda: datasets.make_blobs(10, centers=[1.0, 2.0]), ValueError, "centers"),
        (lambda: datasets.make_blobs(10, cluster_std=-1.0), ValueError, "cluster_std"),
        (lambda: datasets.make_blobs(10, cluster_std=[1.0, 2.0]), ValueError, "cluster_std"),
        (lambda: datasets.make_blobs(10, cluster_std=float("nan")), ValueError, "cluster_std"),
        (lambda: datasets.make_blobs(10, n_features=0), ValueError, "n_features"),
        (lambda: datasets.make_blobs(10, center_box=(1.0,)), TypeError, "center_box"),
        (lambda: datasets.make_blobs(10, center_box=(5.0, 1.0)), ValueError, "center_box"),
        (lambda: datasets.make_blobs(10, seed=-1), ValueError, "seed"),
        (lambda: datasets.make_blobs(10, seed=1.5), TypeError, "seed"),
        (lambda: datasets.make_moons(-3), ValueError, "n_samples"),
        (lambda: datasets.make_moons(10, noise=-0.1), ValueError, "noise"),
        (lambda: datasets.make_moons(10, noise="a"), TypeError, "noise"),
        (lambda: datasets.make_moons(10, shuffle="yes"), TypeError, "shuffle"),
        (lambda: datasets.make_circles(10, factor=1.0), ValueError, "factor"),
        (lambda: datasets.make_circles(10, factor=-0.5), ValueError, "factor"),
        (lambda: datasets.make_circles(10, noise=float("inf")), ValueError, "noise"),
        (lambda: datasets.make_spirals(10, n_classes=0), ValueError, "n_classes"),
        (lambda: datasets.make_spirals(10, turns=0.0), ValueError, "turns"),
        (lambda: datasets.make_spirals(10, noise=-1.0), ValueError, "noise"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_error_message_says_what_came():
    message = r"^make_blobs: n_samples must be a positive integer, got 0\.$"
    with pytest.raises(ValueError, match=message):
        datasets.make_blobs(n_samples=0)


# --- the real data sets ---------------------------------------------------------


def test_breast_cancer_shape_classes_and_first_row():
    X, y = datasets.load_breast_cancer()
    assert X.shape == (569, 30) and X.dtype == np.float64
    assert y.shape == (569,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [212, 357]  # 0 = malignant, 1 = benign
    np.testing.assert_array_equal(X[0, :4], [17.99, 10.38, 122.8, 1001.0])
    assert y[0] == 0
    assert X[:, 3].max() == 2501.0  # largest mean area
    assert np.all(np.isfinite(X))


def test_breast_cancer_names():
    X, y, features, targets = datasets.load_breast_cancer(return_names=True)
    assert len(features) == 30
    assert features[0] == "mean radius" and features[-1] == "worst fractal dimension"
    assert targets == ("malignant", "benign")


def test_digits_shape_classes_and_pixels():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == 10 and counts.sum() == 1797
    assert np.all((counts >= 174) & (counts <= 183))
    assert X.min() == 0.0 and X.max() == 16.0
    assert np.all(X == np.round(X))
    np.testing.assert_array_equal(X[0, :8], [0, 0, 5, 13, 9, 1, 0, 0])
    np.testing.assert_array_equal(y[:10], np.arange(10))
    assert X.sum() == 561_718.0  # checksum of every pixel


def test_digits_names():
    _, _, features, targets = datasets.load_digits(return_names=True)
    assert features[0] == "pixel_0_0" and features[9] == "pixel_1_1" and len(features) == 64
    assert targets == tuple("0123456789")


def test_loaders_return_fresh_arrays():
    X, _ = datasets.load_digits()
    X[:] = -1.0
    X2, _ = datasets.load_digits()
    assert X2.min() == 0.0


@pytest.mark.parametrize("load", [datasets.load_breast_cancer, datasets.load_digits])
def test_loaders_reject_a_non_bool_flag(load):
    with pytest.raises(TypeError, match="return_names"):
        load(return_names="yes")
