"""Backends: selection, errors, CPU threads, and the same numbers everywhere."""

import os

import numpy as np
import pytest

import tinynet as tn
from tinynet import backend as tb
from tinynet import threads as tt


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


# --- CPU threads ------------------------------------------------------------------

_LIBRARY_THREADS = ("import numpy, threadpoolctl; "
                    "print(max(p['num_threads'] for p in threadpoolctl.threadpool_info()))")


@pytest.fixture
def threads_env(monkeypatch):
    """No thread variables in the environment; the limit in effect restored afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    for var in ("TINYNET_THREADS", *tt.THREAD_ENV_VARS):
        monkeypatch.delenv(var, raising=False)
    saved = dict(tt._threads)
    yield threadpoolctl
    tt._limit(saved["n"])
    tt._threads.update(auto=saved["auto"], next_check=saved["next_check"])


def _pool_threads(threadpoolctl):
    return {p["num_threads"] for p in threadpoolctl.threadpool_info()}


def test_set_threads_limits_every_pool_threadpoolctl_sees(threads_env):
    assert tn.set_threads(1) == 1
    assert _pool_threads(threads_env) == {1}
    tn.set_threads(3)
    assert _pool_threads(threads_env) == {3}
    assert tn.get_threads() == 3


def test_set_threads_none_restores_the_default(threads_env, monkeypatch):
    monkeypatch.setattr(tt, "_others_running", lambda: 2)  # two busy programs
    monkeypatch.setattr(tt, "_cores", lambda: 2)
    tn.set_threads(2)
    assert tn.set_threads(None) == 1
    assert _pool_threads(threads_env) == {1}
    monkeypatch.setenv("TINYNET_THREADS", "2")
    assert tn.set_threads(None) == 2


@pytest.mark.parametrize("others, cores, expected", [(0, 2, None), (1, 2, 1), (2, 2, 1),
                                                     (5, 2, 1), (3, 16, 13), (None, 8, None),
                                                     (4, 1, None)])
def test_default_is_one_thread_per_core_left_free(monkeypatch, others, cores, expected):
    for var in ("TINYNET_THREADS", *tt.THREAD_ENV_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(tt, "_others_running", lambda: others)
    monkeypatch.setattr(tt, "_cores", lambda: cores)
    assert tt.default_threads() == expected


def test_the_load_is_read_less_this_process_own_threads():
    others = tt._others_running()
    assert others is None or others >= 0
    if os.path.exists("/proc/self/task"):
        assert tt._own_running() >= 1  # this thread, reading


def test_tinynet_threads_0_gives_the_library_its_own_setting_back(threads_env, monkeypatch):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in tt.THREAD_ENV_VARS}
    own = int(subprocess.run([sys.executable, "-c", _LIBRARY_THREADS], capture_output=True,
                             text=True, check=True, env=env).stdout)
    tn.set_threads(1)
    monkeypatch.setenv("TINYNET_THREADS", "0")
    assert tn.set_threads(None) == own


def test_thread_variables_of_the_user_are_left_to_the_library(threads_env, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert tt.default_threads() is None


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                        ("2", TypeError), (True, TypeError)])
def test_set_threads_rejects_bad_counts_naming_the_argument(threads_env, bad, error):
    before = tn.get_threads()
    with pytest.raises(error, match=r"set_threads: n must be a positive int or None"):
        tn.set_threads(bad)
    assert tn.get_threads() == before


def test_bad_tinynet_threads_variable_is_named(threads_env, monkeypatch):
    monkeypatch.setenv("TINYNET_THREADS", "many")
    with pytest.raises(ValueError, match="TINYNET_THREADS"):
        tn.set_threads(None)


@pytest.mark.parametrize("env, expected", [({}, "1"), ({"TINYNET_THREADS": "2"}, "2"),
                                           ({"OPENBLAS_NUM_THREADS": "2"}, "unchanged")])
def test_default_is_applied_when_training_starts(env, expected):
    """A fresh process, made to see two busy programs on two cores: the library's own
    count while a model is built and its arrays placed, the default once fit starts."""
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    code = ("import threadpoolctl, tinynet as tn\n"
            "tn.threads._others_running = lambda: 2\n"
            "tn.threads._cores = lambda: 2\n"
            "n = lambda: max(p['num_threads'] for p in threadpoolctl.threadpool_info())\n"
            "before = n()\n"
            "model = tn.Sequential([tn.layers.Dense(3, input_dim=2)], seed=0)\n"
            "tn.backend.to_device([1.0, 2.0])\n"
            "built = n()\n"
            "model.compile('sgd', loss='mse').fit([[0.0, 1.0]], [[0.0, 1.0, 2.0]], verbose=0)\n"
            "print(before, built, n())\n")
    clean = {k: v for k, v in os.environ.items()
             if k not in ("TINYNET_THREADS", *tt.THREAD_ENV_VARS)}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    clean["PYTHONPATH"] = root + os.pathsep + clean.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**clean, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    before, built, after = done.stdout.split()
    assert built == before  # copying arrays leaves the thread pools alone
    assert after == (before if expected == "unchanged" else expected)


@pytest.mark.parametrize("name, ok", [("array_api_strict", True), ("no_such", False)])
def test_tinynet_backend_environment_variable_sets_the_default(name, ok):
    import subprocess
    import sys

    if ok:
        pytest.importorskip(name)
    env = dict(os.environ, TINYNET_BACKEND=name)
    run = subprocess.run([sys.executable, "-c", "import tinynet as tn; print(tn.get_backend())"],
                         capture_output=True, text=True, env=env,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if ok:
        assert run.stdout.strip() == name
    else:
        assert run.returncode != 0 and "TINYNET_BACKEND='no_such'" in run.stderr


@pytest.mark.parametrize("switch", [lambda: tn.set_dtype("float64"),
                                    lambda: tn.set_backend("array_api_strict")],
                         ids=["dtype", "backend"])
def test_a_model_built_before_a_switch_says_how_to_move(tmp_path, switch):
    """Its weights stay where they were made: fit/predict say so, and save + load moves it."""
    if "array_api_strict" not in tn.available_backends():
        pytest.skip("array_api_strict is not installed")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    model = tn.Sequential([tn.layers.Dense(2, input_dim=3)], seed=0)
    model.compile(tn.optimizers.Adam(0.01), loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    switch()
    for call in (lambda: model.fit(x, y, epochs=1, verbose=0), lambda: model.predict(x),
                 lambda: model.evaluate(x, y), lambda: model.train_on_batch(x, y)):
        with pytest.raises(ValueError, match="model.save\\(path\\) then tn.load_model"):
            call()
    model_file = tmp_path / "m.npz"
    model.save(model_file)
    moved = tn.load_model(model_file)
    moved.fit(x, y, epochs=1, verbose=0)
    assert str(moved.params[0].dtype).endswith(tn.get_dtype())
