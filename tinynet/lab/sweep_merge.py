"""Joining a sweep's chunks into one SweepResult, in copy order, whatever ran them.

Each chunk (``sweep_chunk.train_chunk``) returns its copies' records; here they
are padded to the longest chunk, joined along the copy axis, and every
stopped copy is marked the same way whichever chunk it ran in (see
``SweepResult``: NaN after a divergence, the frozen value after any other
stop). Chunks that failed become NaN copies marked ``failed``, and a
SweepError carries the rest.
"""

import warnings

import numpy as np

from tinynet.lab.sweep_executor import SweepError
from tinynet.lab.sweep_result import SweepResult
from tinynet.training import DivergenceWarning

_OWNER = "sweep"


def assemble(outcomes, rates, seeds, config, per_epoch):
    """Join the chunks along the copy axis (in copy order), mark stops, reshape to (.., R, S).

    None when every chunk failed. A failed chunk's copies are NaN throughout.
    """
    parts = [part for part, _ in outcomes if part is not None]
    if not parts:
        return None
    n_epochs = max(next(iter(p["history"].values())).shape[0] for p in parts)
    keys = list(parts[0]["history"])
    template = parts[0]
    filled = [part if part is not None else _failed_part(template, k)
              for (part, _), k in zip(outcomes, config["chunk_sizes"])]

    def join(arrays, length):
        padded = [np.concatenate([a, np.full((length - a.shape[0], a.shape[1]), np.nan)])
                  for a in arrays]
        return np.concatenate(padded, axis=1)

    history = {key: join([p["history"][key] for p in filled], n_epochs) for key in keys}
    steps = {key: join([p["steps"][key] for p in filled], n_epochs * per_epoch)
             for key in ("lr", "loss")}
    flags = {key: np.concatenate([p[key] for p in filled])
             for key in ("diverged", "diverged_epoch", "grew", "grew_epoch", "initial_loss",
                         "stopped_epoch", "steps_done", "failed")}
    _mark_stops(history, steps, flags, per_epoch)
    shape = (rates.size, len(seeds))
    return SweepResult(
        rates, seeds, {key: v.reshape(v.shape[0], *shape) for key, v in history.items()},
        diverged=flags["diverged"].reshape(shape),
        diverged_epoch=flags["diverged_epoch"].astype(np.int64).reshape(shape),
        steps={key: v.reshape(v.shape[0], *shape) for key, v in steps.items()},
        config=config, grew=flags["grew"].reshape(shape),
        grew_epoch=flags["grew_epoch"].reshape(shape),
        initial_loss=flags["initial_loss"].reshape(shape),
        stopped_epoch=flags["stopped_epoch"].reshape(shape),
        failed=flags["failed"].reshape(shape),
        callbacks=[p["callbacks"] for p in filled])


def _mark_stops(history, steps, flags, per_epoch):
    """After a copy's last update: steps NaN; epochs it did not complete NaN (diverged) or
    its frozen value (the last completed epoch's), so every chunking records the same."""
    for k in np.flatnonzero(flags["steps_done"] >= 0):
        done = int(flags["steps_done"][k])
        complete = done // per_epoch  # epochs it finished
        for values in steps.values():
            values[done:, k] = np.nan
        for values in history.values():
            frozen = values[complete - 1, k] if complete and not flags["diverged"][k] else np.nan
            values[complete:, k] = frozen


def _failed_part(template, k):
    """A chunk that raised: every record NaN, nothing diverged or grew, marked failed."""
    def nan(a):
        return np.full((a.shape[0], k), np.nan)

    return {"history": {key: nan(v) for key, v in template["history"].items()},
            "steps": {key: nan(v) for key, v in template["steps"].items()},
            "diverged": np.zeros(k, dtype=bool), "diverged_epoch": np.full(k, -1),
            "grew": np.zeros(k, dtype=bool), "grew_epoch": np.full(k, -1),
            "initial_loss": np.full(k, np.nan), "stopped_epoch": np.full(k, -1),
            "steps_done": np.full(k, -1), "failed": np.ones(k, dtype=bool), "callbacks": []}


def raise_failures(outcomes, bounds, result):
    failures = [(np.arange(lo, hi), exc) for (_, exc), (lo, hi) in zip(outcomes, bounds)
                if exc is not None]
    if not failures:
        return
    copies, first = failures[0]
    which = "; ".join(f"copies {c[0]}..{c[-1]}: {type(e).__name__}: {e}" for c, e in failures)
    kept = ("the other chunks' results are in error.result (result.failed marks the lost "
            "copies, whose records are NaN)" if result is not None else "no chunk finished")
    raise SweepError(f"{_OWNER}: {len(failures)} of {len(bounds)} chunk(s) failed in their "
                     f"worker ({which}); {kept}. error.failures lists each failed chunk's "
                     "copies (k = r * S + s) and its exception.", result, failures) from first


def warn_lost_callbacks(outcomes):
    """Say once when a worker's callbacks could not be sent back (they did not pickle)."""
    lost = [part["callbacks_lost"] for part, _ in outcomes
            if part is not None and part.get("callbacks_lost")]
    if lost:
        warnings.warn(f"{_OWNER}: the callbacks of {len(lost)} chunk(s) did not pickle back "
                      f"from their workers ({lost[0]}), so result.callbacks lacks them; the "
                      "results are complete. Keep what a callback returns in plain attributes "
                      "(arrays, numbers), not open files or locks.", UserWarning, stacklevel=3)


def warn_slow_workers(outcomes):
    """Say once when the workers ran with glibc's mmap threshold pinned (Dask's default)."""
    if any(part is not None and part.get("malloc_trim_only") for part, _ in outcomes):
        warnings.warn(
            f"{_OWNER}: the workers run with MALLOC_TRIM_THRESHOLD_ set and no "
            "MALLOC_MMAP_THRESHOLD_ (Dask's nanny sets the first), so every array over 128 KiB "
            "is mapped anew (a chunk ran about 2.5x slower so, measured on a 2-core CPU). "
            "Start the workers with "
            "MALLOC_MMAP_THRESHOLD_=33554432 as well (a LocalCluster: dask.config.set("
            "{'distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_': '33554432'}) "
            "before creating it). The results are the same either way.", UserWarning,
            stacklevel=3)


def warn_diverged(result):
    parts = []
    for what, flags in (("went non-finite (frozen there; NaN after)", result.diverged),
                        ("grew past the growth factor (trained on)", result.grew)):
        if not np.any(flags):
            continue
        counts = flags.sum(axis=1)
        which = ", ".join(f"{rate:.3g} ({count}/{result.n_seeds})"
                          for rate, count in zip(result.learning_rates.tolist(), counts.tolist())
                          if count)
        parts.append(f"{int(counts.sum())} of {flags.size} copies {what}, at learning rate(s) "
                     f"{which}")
    if parts:
        warnings.warn(f"{_OWNER}: " + "; ".join(parts) + " (seeds affected / seeds). See "
                      "result.diverged, result.grew and result.outcomes().", DivergenceWarning,
                      stacklevel=3)
