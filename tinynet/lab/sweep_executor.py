"""Where a sweep's chunks run: one after another here, or as tasks of an Executor.

Any ``concurrent.futures.Executor`` takes the chunks: each chunk is one task,
``sweep_chunk.train_chunk(job, setup)``. What the executor's engine allows
decides how the shared part (the data and the network: ``setup``) travels:

- Dask (``distributed.Client(...).get_executor()``, or the Client itself):
  ``Client.scatter(setup, broadcast=True)`` sends it to every worker once, and
  each task gets the resulting Future as its argument (Dask hands the task the
  worker's copy); only the chunk's own weights and rates travel per task.
- ``ProcessPoolExecutor`` and any other executor: ``submit`` pickles it with
  every task (a pool has no way to keep it in the worker between tasks).

Threads: each worker gets its share of the cores, ``tn.set_threads(n)`` in the
worker before its chunk, so that workers x threads <= cores on each machine
(a process pool: cores // max_workers; Dask: a host's cores // the task slots
of the workers on that host). Memory: the budget is per worker (see
``default_worker_budget``).

A chunk that raises does not stop the others: every chunk runs, the results
of those that finished are kept, and ``sweep`` raises a SweepError holding
them (``error.result``) with the failed copies marked, as
``concurrent.futures`` reports a failed task through its future.
"""

import concurrent.futures as cf
import os
import pickle

from tinynet.lab.sweep_chunk import train_chunk
from tinynet.lab.sweep_memory import default_memory_budget

_OWNER = "sweep"


class SweepError(RuntimeError):
    """Chunks of a sweep failed in their workers; the other chunks' results are kept.

    result: the SweepResult of every copy, with ``result.failed`` True (and NaN
      records) for the copies of the failed chunks; None when every chunk failed.
    failures: [(copies, exception)]: each failed chunk's sweep-wide copy indices
      (an int array) and what it raised. The first exception is also the cause.
    """

    def __init__(self, message, result, failures):
        super().__init__(message)
        self.result = result
        self.failures = failures


def as_executor(executor):
    """The executor to submit to: None, a concurrent.futures.Executor, or a Dask Client."""
    if executor is None or isinstance(executor, cf.Executor):
        return executor
    if _is_dask(executor) and hasattr(executor, "get_executor"):
        return executor.get_executor()
    raise TypeError(f"{_OWNER}: executor must be None, a concurrent.futures.Executor (e.g. "
                    "ProcessPoolExecutor(2), or dask.distributed.Client(...).get_executor()) "
                    f"or a Dask Client, got {executor!r} ({type(executor).__name__}).")


def run_chunks(jobs, setup, executor, report):
    """[(part, None) or (None, exception)] for every job, in the order of ``jobs``.

    report(i, part_or_none) is called as each chunk ends (in the order they end).
    Without an executor, a chunk that raises raises at once, as a fit would.
    """
    if executor is None:
        out = []
        for i, job in enumerate(jobs):
            out.append((train_chunk(job, setup), None))
            report(i, out[-1][0])
        return out
    client = _dask_client(executor)
    if client is None and isinstance(executor, cf.ProcessPoolExecutor):
        _check_picklable(jobs[0], setup)
    shipped = setup if client is None else client.scatter(setup, broadcast=True, hash=False)
    futures = {}
    try:
        futures = {executor.submit(train_chunk, job, shipped): i for i, job in enumerate(jobs)}
        out = [None] * len(jobs)
        for future in cf.as_completed(futures):
            i = futures[future]
            try:
                out[i] = (future.result(), None)
            except Exception as exc:  # noqa: BLE001 - reported with its chunk's copies
                out[i] = (None, exc)
            report(i, out[i][0])
        return out
    finally:
        for future in futures:
            future.cancel()  # an interrupt: nothing more starts (finished ones are kept)
        if client is not None:
            client.cancel([shipped])


def worker_threads(executor, threads_per_worker):
    """{worker address or None: threads} for train_chunk; {} leaves the threads alone."""
    if threads_per_worker is not None:
        return {None: threads_per_worker}
    client = _dask_client(executor)
    if client is not None:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        cores = client.run(_cores)
        slots = {}
        for info in workers.values():
            slots[info["host"]] = slots.get(info["host"], 0) + int(info["nthreads"])
        return {address: max(1, cores.get(address, 1) // max(slots[info["host"]], 1))
                for address, info in workers.items()}
    if isinstance(executor, cf.ProcessPoolExecutor):
        return {None: max(1, _cores() // max(_pool_size(executor), 1))}
    return {}  # a thread pool or an unknown engine: its threads are its own business


def task_slots(executor):
    """How many tasks the executor runs at once: 1 without one or when it cannot be read."""
    client = _dask_client(executor)
    if client is not None:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        return max(sum(int(w["nthreads"]) for w in workers), 1)
    if isinstance(executor, (cf.ProcessPoolExecutor, cf.ThreadPoolExecutor)):
        return _pool_size(executor)
    return 1


def default_worker_budget(executor):
    """Bytes one worker's chunk may use when memory_budget is None.

    No executor: a quarter of the free memory (``default_memory_budget``). A
    process pool: that quarter shared by its max_workers. Dask: half of the
    smallest worker's memory_limit per task slot (Dask spills at 70% and pauses
    at 80% of it), or the local rule when the workers have no limit.
    """
    if executor is None:
        return default_memory_budget()
    client = _dask_client(executor)
    if client is not None:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        limits = [int(w.get("memory_limit") or 0) // max(int(w["nthreads"]), 1)
                  for w in workers]
        if limits and min(limits) > 0:
            return min(limits) // 2
        return default_memory_budget() // max(sum(int(w["nthreads"]) for w in workers), 1)
    if isinstance(executor, cf.ProcessPoolExecutor):
        return default_memory_budget() // max(_pool_size(executor), 1)
    return default_memory_budget()


def _check_picklable(job, setup):
    try:
        pickle.dumps((job, setup))
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(
            f"{_OWNER}: a ProcessPoolExecutor sends each chunk to its worker by pickling it, and "
            f"this sweep does not pickle ({exc}). Define layers_fn, the callbacks factory and "
            "the schedule factory at module level (not as lambdas or local functions), or use "
            "Dask (distributed.Client().get_executor()), which pickles them with cloudpickle."
        ) from exc


def _is_dask(obj):
    return type(obj).__module__.split(".")[0] == "distributed"


def _dask_client(executor):
    """The Dask Client behind a ClientExecutor (its ``_client``), or None."""
    if executor is not None and _is_dask(executor):
        return getattr(executor, "_client", None)
    return None


def _pool_size(executor):
    return getattr(executor, "_max_workers", None) or _cores()


def _cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
