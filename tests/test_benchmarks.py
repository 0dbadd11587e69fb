"""The benchmarks still run (--quick, tiny sizes), with or without PyTorch.

They are not tests of speed: each script runs once in a fresh process (the
thread limits must be set before NumPy is imported) and must write its JSON.
PyTorch is never needed: ``--no-torch`` runs the path CI takes when it is
missing, and a torch import is made to fail for one run as well.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ["train_step", "sweep"]

# a sitecustomize-free way to make `import torch` fail in the child process
_NO_TORCH = ("import os, runpy, sys; sys.modules['torch'] = None; "
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
    result, stdout = _run(script, tmp_path, "--no-torch")
    assert result["benchmark"] == script
    assert result["results"]
    assert "|" in stdout  # the table was printed


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_runs_when_torch_cannot_be_imported(script, tmp_path):
    result, _ = _run(script, tmp_path, hide_torch=True)
    assert "not installed" in result["machine"]["torch"]


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
