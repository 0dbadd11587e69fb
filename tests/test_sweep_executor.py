"""tn.sweep(executor=...): chunks as tasks of a process pool and of a real Dask cluster.

Whatever runs the chunks, the result is the local one bit for bit (float64),
callbacks included; a chunk that raises is reported with its copies and the
others are kept. The Dask cluster (2 worker processes, 1 thread each) and the
pool start once for the module.
"""

import multiprocessing
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from conftest import assert_same_sweep, blobs

import tinynet as tn
from tinynet.lab.sweep_executor import SweepError, worker_threads

LOSS = tn.losses.SparseCategoricalCrossentropy(from_logits=True)
RATES, SEEDS = [0.05, 0.5, 1e150], (3, 4)  # 1e150 overflows: NaN copies
N_COPIES = len(RATES) * len(SEEDS)


def layers_fn():  # module level: a process pool pickles it by reference
    return [tn.layers.Dense(8, activation="relu", input_dim=2), tn.layers.Dense(4)]


class Record(tn.callbacks.Callback):
    """Per-copy epoch losses under the sweep-wide index, the worker's threads, and a freeze
    of copy 1 at the end of epoch 2 (a frozen copy beside the NaN ones)."""

    def __init__(self, raise_for=None):
        self.raise_for = raise_for
        self.loss = np.full((4, N_COPIES), np.nan)

    def on_train_begin(self):
        self.threads = tn.get_threads()

    def on_epoch_end(self, epoch, logs):
        if self.raise_for is not None and self.raise_for in self.copies:
            raise RuntimeError(f"boom in the chunk of copy {self.raise_for}")
        self.loss[epoch, self.copies] = np.atleast_1d(logs["loss"])
        if epoch == 1 and 1 in self.copies:
            mask = self.copies == 1
            if self.model.stacked:
                self.model.freeze(mask)
                self.model.stop_training = bool(np.all(self.model.frozen))
            else:
                self.model.stop_training = True


def make_record():
    return [Record()]


def make_failing():
    return [Record(raise_for=4)]


@pytest.fixture(scope="module")
def dask_executor(pool):
    # after the pool's workers started: Dask's nanny writes MALLOC_TRIM_THRESHOLD_ into
    # this process's os.environ, which workers spawned later would inherit
    distributed = pytest.importorskip(
        "distributed", reason="Dask's distributed is not installed: pip install tinynet[cluster]")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=40)
    client = distributed.Client(cluster)
    yield client.get_executor()
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def pool():
    # spawn: the test process runs threads (Dask's loop), which fork would copy mid-state
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        list(executor.map(time.sleep, [0.5, 0.5]))  # both workers started now
        yield executor


@pytest.fixture(params=["pool", "dask"])
def executor(request):
    return request.getfixturevalue("pool" if request.param == "pool" else "dask_executor")


def swept(executor=None, callbacks=make_record, chunks=4, threads_per_worker=None):
    x, y = blobs(96)
    args = dict(loss=LOSS, epochs=4, batch_size=32, verbose=0, validation_split=0.25,
                callbacks=callbacks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        probe = tn.sweep(layers_fn, x / 4.0, y, RATES[:1], seeds=SEEDS[:1], **args)
        if executor is not None:
            args["threads_per_worker"] = threads_per_worker
        fixed, per_copy = probe.config["memory_fixed"], probe.config["memory_per_copy"]
        shipped = 0 if executor is None else x.nbytes + y.nbytes
        budget = fixed + shipped + (N_COPIES / chunks + 0.5) * per_copy
        return tn.sweep(layers_fn, x / 4.0, y, RATES, seeds=SEEDS, memory_budget=budget,
                        executor=executor, **args)


def stitched(result):
    """Every copy's recorded epoch losses while it trained, stitched from each chunk's
    callbacks (after a copy stopped, what a callback sees depends on its chunk's fit)."""
    out = np.full((4, N_COPIES), np.nan)
    for chunk in result.callbacks:
        for cb in chunk:
            out[:, cb.copies] = cb.loss[:, cb.copies]
    stopped = result.stopped_epoch.reshape(-1)
    for k in np.flatnonzero(stopped > 0):
        out[stopped[k]:, k] = np.nan
    return out


@pytest.fixture(scope="module")
def local():
    tn.set_dtype("float64")
    try:
        return swept(None, chunks=1)
    finally:
        tn.set_dtype("float32")


def test_an_executor_gives_the_local_result_bit_for_bit(float64, executor, local):
    """Several chunks per worker (6 copies in 6 chunks on 2 workers), NaN and frozen copies,
    a callback factory: the same records, and the callbacks' records stitch the same."""
    remote = swept(executor, chunks=6)
    assert len(remote.config["chunk_sizes"]) == 6 and local.config["chunk_sizes"] == [6]
    assert np.all(local.diverged[2]) and local.stopped_epoch[0, 1] == 2
    assert_same_sweep(local, remote)
    np.testing.assert_array_equal(stitched(remote), stitched(local))
    assert all(cb.model is None for chunk in remote.callbacks for cb in chunk)


def test_a_chunk_that_raises_is_reported_with_its_copies_and_the_others_are_kept(
        float64, executor, local):
    with pytest.raises(SweepError, match="copies 4..4: RuntimeError: boom") as caught:
        swept(executor, callbacks=make_failing, chunks=6)
    error = caught.value
    assert isinstance(error.__cause__, RuntimeError)
    assert [c.tolist() for c, _ in error.failures] == [[4]]
    partial = error.result
    lost = np.zeros((3, 2), dtype=bool)
    lost[2, 0] = True  # copy 4 = rate 2, seed 0
    np.testing.assert_array_equal(partial.failed, lost)
    for key in local.history:
        assert np.all(np.isnan(partial.history[key][:, lost]))
        np.testing.assert_array_equal(partial.history[key][:, ~lost],
                                      local.history[key][:, ~lost], err_msg=key)


def test_each_worker_gets_its_share_of_the_cores(float64, executor):
    """2 workers on this machine: cores // 2 threads each (at least 1), set in the worker."""
    share = max(1, len(os.sched_getaffinity(0)) // 2)
    assert set(worker_threads(executor, None).values()) == {share}
    result = swept(executor, chunks=2)
    assert {cb.threads for chunk in result.callbacks for cb in chunk} == {share}
    assert result.config["executor"] in ("ProcessPoolExecutor", "ClientExecutor")


def test_a_dask_client_is_taken_as_its_executor(float64, dask_executor, local):
    assert_same_sweep(local, swept(dask_executor._client, chunks=2))


def test_dask_workers_with_a_pinned_mmap_threshold_are_named_once(dask_executor, pool):
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_ alone (2.5x slower chunks): one warning."""
    with pytest.warns(UserWarning, match="MALLOC_MMAP_THRESHOLD_") as caught:
        swept(dask_executor, chunks=2)
    assert sum("MALLOC_MMAP_THRESHOLD_" in str(w.message) for w in caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        swept(pool, chunks=2)  # the pool's workers have this process's environment


def test_threads_per_worker_is_set_in_the_worker(float64, pool):
    result = swept(pool, chunks=2, threads_per_worker=1)
    assert {cb.threads for chunk in result.callbacks for cb in chunk} == {1}


def test_with_an_executor_callbacks_must_be_a_factory(pool):
    with pytest.raises(ValueError, match="callbacks must be a function"):
        swept(pool, callbacks=[Record()])


def test_a_pool_refuses_what_does_not_pickle_before_it_starts(pool):
    x, y = blobs(40)
    with pytest.raises(TypeError, match="pickl"):
        tn.sweep(lambda: layers_fn(), x, y, [0.1], loss=LOSS, verbose=0, executor=pool)


def test_the_executor_argument_is_checked():
    x, y = blobs(40)
    with pytest.raises(TypeError, match="executor must be"):
        tn.sweep(layers_fn, x, y, [0.1], loss=LOSS, verbose=0, executor="dask")
    with pytest.raises(ValueError, match="threads_per_worker"):
        tn.sweep(layers_fn, x, y, [0.1], loss=LOSS, verbose=0, threads_per_worker=2)


class HoldsALock(Record):
    """A callback that cannot pickle back from its worker (it holds a lock)."""

    def on_train_begin(self):
        import threading

        self.lock = threading.Lock()
        super().on_train_begin()


def make_unpicklable():
    return [HoldsALock()]


def test_callbacks_that_do_not_pickle_back_cost_no_results(float64, pool, local):
    with pytest.warns(UserWarning, match="did not pickle back"):
        result = swept(pool, callbacks=make_unpicklable, chunks=2)
    assert result.callbacks == [[], []]
    for key in local.history:
        np.testing.assert_array_equal(result.history[key], local.history[key], err_msg=key)
