"""A sweep on one process against the same sweep on an executor's workers, and the
per-chunk overhead of each engine.

Two figures, both wall-clock seconds measured here (no typed-in number):
- a K=2048 sweep of the seed network (2-10-10-10-10-4, ReLU, softmax; the post's
  1000 blobs with validation_split=0.2: 800 training points, batch 64, SGD): one
  process with 2 BLAS threads (``tn.set_threads(2)``, executor=None, one chunk)
  against 2 workers with 1 thread each (a ``ProcessPoolExecutor(2)`` and a Dask
  ``LocalCluster(n_workers=2, threads_per_worker=1)``, as Dask starts it and with
  MALLOC_MMAP_THRESHOLD_ set in its workers), each worker a chunk of 1024 copies;
- the engine's per-chunk overhead: 64 chunks of one copy on 16 points for one
  epoch (so a chunk's training is negligible), as chunks per second.
Every engine is warmed up first (its workers started, tinynet imported); runs
then alternate between the engines (A B C, A B C), and the median over repeats
is reported; on a machine shared with other programs the figures are noisy:
compare the ratios of one run.

    python benchmarks/sweep_executor.py [--epochs 5] [--repeats 3] [--json PATH]
"""

import argparse
import json
import multiprocessing
import statistics
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import tinynet as tn

K = 2048
# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's
# dynamic mmap threshold: every array over 128 KiB is then an mmap + munmap (page faults
# on each temporary). Setting MALLOC_MMAP_THRESHOLD_ as well restores large reuse.
MMAP_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_"


def seed_layers():
    return ([tn.layers.Dense(10, activation="relu") for _ in range(4)]
            + [tn.layers.Dense(4, activation="softmax")])


def one_layer():
    return [tn.layers.Dense(4, activation="softmax")]


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def big_sweep(x, y, epochs, executor):
    rates = np.geomspace(1e-3, 1.0, K // 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        return tn.sweep(seed_layers, x, y, rates, seeds=range(8), epochs=epochs, batch_size=64,
                        loss="sparse_categorical_crossentropy", validation_split=0.2,
                        verbose=0, executor=executor)


def tiny_chunks(executor):
    x, y = tn.datasets.make_blobs(n_samples=16, centers=4, seed=0)
    args = dict(loss="sparse_categorical_crossentropy", epochs=1, batch_size=16, verbose=0)
    probe = tn.sweep(one_layer, x, y, [0.1], **args)
    held = 0 if executor is None else x.nbytes + y.nbytes
    budget = probe.config["memory_fixed"] + held + 1.5 * probe.config["memory_per_copy"]
    return tn.sweep(one_layer, x, y, np.geomspace(1e-3, 1.0, 64), memory_budget=budget,
                    executor=executor, **args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    import dask
    from distributed import Client, LocalCluster

    x, y = tn.datasets.make_blobs(n_samples=1000, centers=4, seed=0)
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
    # start the pool's workers before Dask's nanny writes MALLOC_TRIM_THRESHOLD_ into this
    # process's environment (workers spawned later would inherit it)
    list(pool.map(time.sleep, [0.5, 0.5]))
    clusters = [LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             dashboard_address=":0", silence_logs=40)]
    with dask.config.set({MMAP_KEY: str(32 * 2**20)}):  # read when the nanny starts
        clusters.append(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=":0", silence_logs=40))
    clients = [Client(cluster) for cluster in clusters]
    engines = {"one process, 2 threads": None, "ProcessPoolExecutor(2), 1 thread each": pool,
               "Dask LocalCluster(2 x 1 thread)": clients[0].get_executor(),
               "the same, MALLOC_MMAP_THRESHOLD_=32 MiB": clients[1].get_executor()}
    sweep_s = {name: [] for name in engines}
    chunk_s = {name: [] for name in engines}
    reference = None
    for executor in engines.values():  # warm up: workers started, tinynet imported
        tiny_chunks(executor)
    warnings.simplefilter("ignore", UserWarning)  # the MALLOC hint: measured here instead
    for _ in range(args.repeats):
        for name, executor in engines.items():
            tn.set_threads(2 if executor is None else None)
            seconds, result = timed(big_sweep, x, y, args.epochs, executor)
            sweep_s[name].append(seconds)
            if reference is None:
                reference = result
            assert np.array_equal(result.history["loss"], reference.history["loss"],
                                  equal_nan=True), name  # the same numbers on every engine
            seconds, result = timed(tiny_chunks, executor)
            chunk_s[name].append(len(result.config["chunk_sizes"]) / seconds)
    for client, cluster in zip(clients, clusters):
        client.close()
        cluster.close()
    pool.shutdown()
    base = statistics.median(sweep_s["one process, 2 threads"])
    rows = [{"engine": name, "sweep_s": statistics.median(sweep_s[name]),
             "speedup": base / statistics.median(sweep_s[name]),
             "chunks_per_s": statistics.median(chunk_s[name])} for name in engines]
    print(f"K={K} copies of 2-10-10-10-10-4, 800 training points, {args.epochs} epochs, "
          f"batch 64, median of {args.repeats}")
    print("| engine | sweep (s) | vs one process | chunks/s (1 copy, 16 points) |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['engine']} | {row['sweep_s']:.2f} | {row['speedup']:.2f}x | "
              f"{row['chunks_per_s']:.1f} |")
    print("every repeat (s):", {name: [round(t, 2) for t in times]
                                for name, times in sweep_s.items()})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"benchmark": "sweep_executor", "epochs": args.epochs, "k": K,
                       "results": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
