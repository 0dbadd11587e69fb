"""Backends: selection, errors, and the same numbers everywhere."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import backend as tb


def test_default_backend_is_numpy_float32():
    assert tn.get_backend() == "numpy"
    assert tn.get_dtype() == "float32"


def test_unknown_backend_names_the_choices():
    with pytest.raises(tn.BackendError, match="numpy, cupy, array_api_strict"):
        tn.set_backend("no_such")
    assert issubclass(tn.BackendError, ValueError)


def test_cupy_without_gpu_raises_backend_error_saying_what_to_install():
    if "cupy" in tn.available_backends():
        pytest.skip("a GPU is present")
    with pytest.raises(tn.BackendError, match=r"pip install \"tinynet\[gpu\]\""):
        tn.set_backend("cupy")
    assert tn.get_backend() == "numpy"


def test_bad_dtype():
    with pytest.raises(ValueError, match="float32"):
        tn.set_dtype("float16")


def test_to_device_and_back_round_trips(backend):
    host = np.arange(6.0).reshape(2, 3)
    dev = tb.to_device(host)
    assert str(dev.dtype).endswith("float64")
    np.testing.assert_array_equal(tb.to_numpy(dev), host)


def test_same_seed_same_initial_weights_on_every_backend(backend):
    def weights():
        model = tn.Sequential([tn.layers.Dense(5, activation="relu", input_dim=3),
                               tn.layers.Dense(2, kernel_initializer="he_normal")], seed=11)
        return model.get_weights()

    on_backend = weights()
    tn.set_backend("numpy")
    on_numpy = weights()
    for a, b in zip(on_backend, on_numpy):
        np.testing.assert_array_equal(a, b)


def test_training_gives_the_same_numbers_on_every_backend(backend):
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 3

    def train():
        model = tn.Sequential([tn.layers.Dense(6, activation="tanh", input_dim=3),
                               tn.layers.Dense(3, activation="softmax")], seed=2, n_models=2)
        model.compile(tn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        return model.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"]

    here = train()
    tn.set_backend("numpy")
    reference = train()
    np.testing.assert_allclose(np.array(here), np.array(reference), rtol=1e-12)
