"""The benchmarks still run (--quick, tiny sizes), with or without PyTorch and JAX.

They are not tests of speed: each script runs once in a fresh process (the
thread limits must be set before NumPy is imported) and must write its JSON.
PyTorch and JAX are never needed: ``--no-torch --no-jax`` runs the path CI
takes when they are missing, and their imports are made to fail for one run
as well. The NumPy floor and the JAX peer compute tinynet's maths: they are
held equal to tinynet's step here.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ["train_step", "sweep", "fit", "speed", "profile_step"]

# a sitecustomize-free way to make `import torch` and `import jax` fail in the child process
_NO_TORCH = ("import os, runpy, sys; sys.modules['torch'] = None; sys.modules['jax'] = None; "
             "sys.path.insert(0, os.path.dirname({0!r})); "
             "runpy.run_path({0!r}, run_name='__main__')")


def _run(script, tmp_path, *extra, hide_torch=False):
    out = tmp_path / f"{script}.json"
    path = os.path.join(ROOT, "benchmarks", f"{script}.py")
    args = ["--quick", "--threads", "1", "--json", str(out), *extra]
    if hide_torch:
        cmd = [sys.executable, "-c", _NO_TORCH.format(path), *args]
    else:
        cmd = [sys.executable, path, *args]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out) as f:
        return json.load(f), done.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_runs_without_torch(script, tmp_path):
    result, stdout = _run(script, tmp_path, "--no-torch", "--no-jax")
    assert result["benchmark"] == script
    assert result["results"]
    assert "|" in stdout  # the table was printed


@pytest.mark.parametrize("script", ["train_step", "fit", "speed"])
def test_benchmark_runs_when_torch_and_jax_cannot_be_imported(script, tmp_path):
    result, _ = _run(script, tmp_path, hide_torch=True)
    assert "not installed" in result["machine"]["torch"]
    assert "not installed" in result["machine"]["jax"]


def test_train_step_with_torch_when_installed(tmp_path):
    pytest.importorskip("torch")
    result, _ = _run("train_step", tmp_path)
    for entry in result["results"]:
        assert entry["speedup_vs_torch"] > 0
        # the same network from the same weights: the same first loss
        assert entry["first_loss"]["torch"] == pytest.approx(entry["first_loss"]["tinynet"],
                                                             rel=1e-4)


def test_sweep_with_torch_when_installed(tmp_path):
    pytest.importorskip("torch")
    result, _ = _run("sweep", tmp_path)
    assert [r["K"] for r in result["results"]] == [1, 4, 16]
    assert all("PyTorch stacked" in r["updates_per_second"] for r in result["results"])
    # the split over threads, off, beside the default
    assert all("tinynet stacked, unsplit" in r["updates_per_second"] for r in result["results"])


def test_profile_step_traces_every_call_of_the_fused_step(tmp_path):
    # the fused step's own buffers are traced too: its 16 products (5 forward, 5 x^T g,
    # 4 g W^T, the head's 2 spread row sums) are all counted, and the accuracy's two
    # argmax (targets and outputs) once per step each (the untraced model shares no
    # traced array, the warm-up steps are not counted)
    result, _ = _run("profile_step", tmp_path)
    families = result["results"]["families"]
    assert families["products"]["calls"] == 16
    assert families["elementwise"]["calls"] >= 20
    argmax = [c for c in result["results"]["by_call"] if c["call"].startswith("argmax")]
    assert [round(c["calls"], 9) for c in argmax] == [1.0, 1.0]


def test_speed_with_every_peer_when_installed(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    result, stdout = _run("speed", tmp_path)
    for group, peer in (("stacked step", "PyTorch stacked"), ("stacked step", "JAX vmap step"),
                        ("stacked fit", "JAX vmap(scan)"), ("one network", "NumPy floor"),
                        ("one network", "JAX scan"), ("one network", "PyTorch loop"),
                        ("big", "its matrix products"), ("big", "NumPy floor"),
                        ("big vs PyTorch", "PyTorch step")):
        assert result["results"][group][peer]["median"] > 0
    assert "goal (issue 20)" in stdout
    assert all(goal["value"] is not None for goal in result["goals"])
    assert all(goal["value_fastest"] > 0 for goal in result["goals"])
    assert "fastest repeats" in stdout


def test_cpu_clock_runs_at_one_thread_and_is_refused_at_two(tmp_path):
    result, stdout = _run("fit", tmp_path, "--no-torch", "--no-jax", "--clock", "cpu")
    assert result["machine"]["clock"] == "cpu" and "of CPU time" in stdout
    path = os.path.join(ROOT, "benchmarks", "fit.py")
    done = subprocess.run([sys.executable, path, "--quick", "--threads", "2", "--clock", "cpu"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and "--clock cpu needs --threads 1" in done.stderr


SEED_WIDTHS = (2, 10, 10, 10, 10, 4)


def _seed_model(lr=0.1, seed=0, widths=SEED_WIDTHS):
    import tinynet as tn

    layers = [tn.layers.Dense(widths[1], activation="relu", input_dim=widths[0])]
    layers += [tn.layers.Dense(w, activation="relu") for w in widths[2:-1]]
    layers.append(tn.layers.Dense(widths[-1], activation="softmax"))
    model = tn.Sequential(layers, seed=seed)
    model.compile(optimizer=tn.optimizers.SGD(lr), loss="categorical_crossentropy", metrics=(),
                  fused=False)
    return model


def _batch(n=64, seed=0, widths=SEED_WIDTHS):
    import numpy as np

    import tinynet as tn

    rng = np.random.default_rng(seed)
    classes = widths[-1]
    return (rng.standard_normal((n, widths[0])),
            tn.data.one_hot(rng.integers(0, classes, n), classes))


@pytest.mark.parametrize("widths", [SEED_WIDTHS, (12, 9, 7, 5)])  # and the big one's shape
@pytest.mark.parametrize("by_column", [False, True])
def test_numpy_floor_equals_tinynets_plain_step_float64(float64, by_column, widths):
    """The floor is the same maths: five SGD steps (batch 64, then a short one of 32)."""
    import numpy as np

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from _floor import FloorNet, with_ones

    model = _seed_model(widths=widths)
    x, y = _batch(widths=widths)
    model.build(widths[0])
    floor = FloorNet(model.get_weights(), 0.1, dtype=np.float64, by_column=by_column)
    for rows in (slice(0, 64), slice(0, 64), slice(32, 64), slice(0, 64), slice(0, 32)):
        model.train_on_batch(x[rows], y[rows])
        floor.step(with_ones(x[rows]), y[rows])
    for ours, theirs in zip(model.get_weights(), floor.weights()):
        np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("by_column", [False, True])
def test_numpy_floor_epoch_takes_the_rows_in_order(float64, by_column):
    import numpy as np

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from _floor import FloorNet, with_ones

    model = _seed_model()
    x, y = _batch(100)
    model.build(2)
    floor = FloorNet(model.get_weights(), 0.1, dtype=np.float64, by_column=by_column)
    order = np.random.default_rng(3).permutation(100)
    x_in = x.copy()
    floor.epoch(with_ones(x), y, order, 32)
    for start in range(0, 100, 32):
        rows = order[start:start + 32]
        model.train_on_batch(x[rows], y[rows])
    np.testing.assert_array_equal(x, x_in)
    for ours, theirs in zip(model.get_weights(), floor.weights()):
        np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-14)


def test_the_by_column_floor_stores_hidden_buffers_by_column():
    import numpy as np

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from _floor import FloorNet

    model = _seed_model()
    model.build(2)
    buf = FloorNet(model.get_weights(), 0.1, by_column=True).buffers(64)
    assert buf["inputs"][0].flags.c_contiguous  # the data's rows are copied in by row
    for a in buf["inputs"][1:] + buf["z"][:-1] + buf["grads"][:-1]:
        assert a.flags.f_contiguous and a.shape[0] == 64
    assert all(m is z for m, z in zip(buf["masks"], buf["z"]))
    assert not np.any(buf["relu_rhs"][0])


def test_jax_peer_step_equals_tinynets_step():
    """The JAX peer trains the same network: the same loss and the same weights after a step."""
    jax = pytest.importorskip("jax")
    import numpy as np

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import _jax

    model = _seed_model()
    x, y = _batch()
    model.build(2)
    params = _jax.params_from(jax, model.get_weights())
    loss = model.train_on_batch(x, y)
    params, (jax_loss, _) = _jax.step(jax)(params, jax.numpy.asarray(x, dtype="float32"),
                                           jax.numpy.asarray(y, dtype="float32"), 0.1)
    assert float(jax_loss) == pytest.approx(loss, rel=1e-5)
    weights = [np.asarray(a) for pair in params for a in pair]
    for ours, theirs in zip(model.get_weights(), weights):
        np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-6)


def test_jax_scan_epoch_equals_its_step_loop():
    """lax.scan over the batches (the short last one included) = the jitted step in a loop."""
    jax = pytest.importorskip("jax")
    import numpy as np

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import _jax

    model = _seed_model()
    model.build(2)
    x, y = _batch(100)
    xj, yj = jax.numpy.asarray(x, dtype="float32"), jax.numpy.asarray(y, dtype="float32")
    order = np.random.default_rng(3).permutation(100)
    start = _jax.params_from(jax, model.get_weights())
    scanned, losses, _ = _jax.epoch(jax, 100, 32)(start, xj, yj, order, 0.1)
    looped, step, expected = start, _jax.step(jax), []
    for i in range(0, 100, 32):
        rows = order[i:i + 32]
        looped, (loss, _) = step(looped, xj[rows], yj[rows], 0.1)
        expected.append(float(loss))
    np.testing.assert_allclose(np.asarray(losses), expected, rtol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(scanned), jax.tree_util.tree_leaves(looped)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


def test_cupy_backend_missing_is_a_clear_error(tmp_path):
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed: the GPU path would run")
    except ImportError:
        pass
    path = os.path.join(ROOT, "benchmarks", "train_step.py")
    done = subprocess.run([sys.executable, path, "--quick", "--backend", "cupy", "--json",
                           str(tmp_path / "x.json")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 2
    assert "cupy" in done.stderr.lower()


# --- benchmarks/threads.py and benchmarks/gpu_check.sh ------------------------------

def test_threads_benchmark_runs_and_stops_its_busy_loops(tmp_path):
    out = tmp_path / "threads.json"
    path = os.path.join(ROOT, "benchmarks", "threads.py")
    done = subprocess.run([sys.executable, path, "--quick", "--busy-max", "30", "--json",
                           str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    configs = {(r["load"], r["threads"]) for r in result["results"]}
    assert configs == {(load, c) for load in ("idle", "busy")
                       for c in ("1 thread", "2 threads", "library default", "tinynet default")}
    assert "tinynet default / 1 thread" in done.stdout
    import multiprocessing

    assert not multiprocessing.active_children()


def test_sweep_takes_a_list_of_ks(tmp_path):
    result, _ = _run("sweep", tmp_path, "--no-torch", "--ks", "2,3")
    assert [r["K"] for r in result["results"]] == [2, 3]


GPU_CHECK = os.path.join(ROOT, "benchmarks", "gpu_check.sh")


def _gpu_check(*args, tmp_path):
    env = dict(os.environ, PYTHON=sys.executable)
    return subprocess.run(["bash", GPU_CHECK, *args], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env=env)


def test_gpu_check_parses():
    done = subprocess.run(["bash", "-n", GPU_CHECK], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_gpu_check_dry_run_prints_every_step_and_runs_none(tmp_path):
    out = tmp_path / "out"
    done = _gpu_check("--dry-run", str(out), tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for step in ("pytest-cupy", "train_step", "sweep", "reproduce", "--backend cupy",
                 "4096", "timeout"):
        assert step in done.stdout
    assert not out.exists()


def test_gpu_check_without_a_gpu_says_so_and_exits_cleanly(tmp_path):
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            pytest.skip("a GPU is here: the check would run for minutes")
    except Exception:
        pass
    out = tmp_path / "out"
    done = _gpu_check(str(out), tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no GPU check here" in done.stdout
    assert "no GPU check here" in (out / "summary.txt").read_text()


def test_gpu_check_rejects_unknown_options(tmp_path):
    done = _gpu_check("--fast", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "--fast" in done.stderr
