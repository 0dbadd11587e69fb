"""How reproduce runs its sweeps: one after the other, or side by side in worker processes.

Each job of setup.jobs is one ``tn.sweep`` (experiment.train) of its own
seeds, so its numbers do not depend on the process it ran in
(tests/test_reproduce.py holds a pooled run equal to a sequential one).
Progress: a tqdm bar on stderr when it is a terminal, else one line per sweep.
"""

import os
import sys

import tinynet as tn
from tinynet import _checks


def workers_for(workers):
    if workers is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            (os.cpu_count() or 1)
        return 1 if tn.get_backend() != "numpy" else min(2, cores)
    return _checks.positive_int(workers, "workers", "reproduce")


def _cost(job):
    return len(job.rates) * job.seeds * job.epochs * (3 if job.kind == "post" else 1)


def train_all(train_job, todo, data, y, n_train, cfg, workers, progress, echo):
    """Every job's run dict by job.key, and the time each took; `workers` processes.

    train_job(job, data, y, n_train, cfg, bar) -> (run dict, its timing): a
    module-level function (the pool sends it to the workers by name).

    With more than one worker the jobs go, costliest first, to a pool of fresh
    ("spawn") processes, each limited to one BLAS thread; each job is one tn.sweep
    of its own seeds, so its numbers do not depend on where it ran.
    """
    bar = progress_bar(sum(job.epochs for job in todo), progress)
    say = echo if progress and bar is None else None
    runs, seconds = {}, {}
    try:
        if workers == 1:
            for i, job in enumerate(todo):
                _announce(bar, say, i, len(todo), job)
                runs[job.key], seconds[job_name(job)] = train_job(job, data, y, n_train, cfg,
                                                                  bar)
            return runs, seconds
        runs, seconds = _train_in_pool(train_job, todo, data, y, n_train, cfg, workers, bar, say)
        return runs, seconds
    finally:
        if bar is not None:
            bar.close()


def _train_in_pool(train_job, todo, data, y, n_train, cfg, workers, bar, say):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    runs, seconds = {}, {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_setup,
                             initargs=(tn.get_backend(), tn.get_dtype())) as pool:
        futures = {pool.submit(train_job, job, data, y, n_train, cfg, None): job
                   for job in sorted(todo, key=_cost, reverse=True)}
        try:
            for i, future in enumerate(as_completed(futures)):
                job = futures[future]
                runs[job.key], seconds[job_name(job)] = future.result()
                _announce(bar, say, i, len(todo), job)
                if bar is not None:
                    bar.update(job.epochs)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return {job.key: runs[job.key] for job in todo}, seconds


def _worker_setup(backend, dtype):
    tn.set_backend(backend)
    tn.set_dtype(dtype)
    tn.set_threads(1)


def job_name(job):
    return f"{job.scaling} {job.kind} {'/'.join(job.variant)}"


def _announce(bar, echo, i, n_jobs, job):
    what = (f"{job_name(job)}: {len(job.rates)} rates x {job.seeds} seeds x {job.epochs} epochs")
    if bar is not None:
        bar.set_description(f"{job.scaling} {job.kind}")
    elif echo is not None:
        echo(f"  [{i + 1}/{n_jobs}] {what}")


def progress_bar(total, enabled, stream=None):
    """A tqdm bar on stderr, only when it is a terminal (None otherwise)."""
    stream = sys.stderr if stream is None else stream
    if not enabled or not getattr(stream, "isatty", lambda: False)():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", leave=False, dynamic_ncols=True, file=stream)
