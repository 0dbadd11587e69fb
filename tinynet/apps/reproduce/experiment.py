"""The 10x10x10x10x4 learning-rate experiment, answered with measurements.

This module trains the post's network (see setup.py) at the post's five rates
and on a log grid, over many seeds, on raw and standardised inputs, and the
runs that test each candidate cause (setup.jobs: He init, LeakyReLU slopes, a
warm-up, the unclipped loss, Q2's scale swap, a longer budget, another data
set size); each set of copies is one stacked model trained by ``tn.sweep``.
It measures why runs fail with ``tinynet.lab.diagnostics`` and writes figures,
``results.csv``, ``results.json`` and ``REPORT.md``. Argument parsing lives in
``tinynet.apps.cli``; the callbacks in records.py, the numbers in summary.py,
the figures in figures.py, the report in report.py (written from the summary
alone, so ``report(json.load(...))`` rebuilds it from results.json).

    from tinynet.apps import reproduce
    summary = reproduce.run("tinynet-out/reproduce", seeds=20, epochs=200)
"""

import json
import os
import time
import warnings

import numpy as np

import tinynet as tn
from tinynet import _files
from tinynet.apps.reproduce.figures import (
    figure_curves,
    figure_dead_units,
    figure_loss_surface,
    figure_regions,
    figure_sharpness,
    figure_success,
    loss_surfaces,
    surface_summary,
)
from tinynet.apps.reproduce.measures import (
    classify_runs,
    death_timing,
    first_epoch_shift,
    output_measures,
)
from tinynet.apps.reproduce.records import (
    OvershootRecord,
    PathRecord,
    Record,
    SharpnessTrace,
    trace_epochs,
)
from tinynet.apps.reproduce.report import report, results_csv
from tinynet.apps.reproduce.runner import train_all, workers_for
from tinynet.apps.reproduce.setup import (
    HE,
    POST_VARIANT,
    SCALINGS,
    Config,
    check_epochs,
    jobs,
    make_data,
    post_layers,
    prepare_out,
    seed_weights,
)
from tinynet.apps.reproduce.summary import summarise
from tinynet.lab import diagnostics as dg

CLIPPED = "sparse_categorical_crossentropy"  # Keras's clipped cross-entropy on probabilities


# --- training: one job = one tn.sweep -------------------------------------------------
def train(x, y, n_train, rates, n_seeds, variant, cfg, bar=None, trace_seeds=0, loss=None,
          epochs=None, warmup_epochs=0, with_path=False, overshoot_points=0):
    """Train len(rates) x n_seeds copies with ``tn.sweep`` (copy k = r * S + s: rate-major).

    Seed s starts every rate from the same weights and shuffles its batches as
    seed s, so differences between the rates of one seed come from the rate
    alone. trace_seeds > 0 also tracks the sharpness of that many seeds per
    rate. loss: default the clipped sparse categorical cross-entropy. epochs:
    default cfg.epochs. warmup_epochs > 0: the rate rises linearly from 0 over
    that many epochs (tn.schedules.Warmup), then stays. with_path: keep every
    copy's weights at init and after each epoch of setup.check_epochs ("path"
    (T, R, S, P), flat as tn.callbacks.WeightPath; "path_epochs" (T,)).
    overshoot_points > 0: at the same epochs, where each copy's next step lands
    along its own line on the first that many training points
    (records.OvershootRecord; "overshoot"). Returns a dict of host
    arrays shaped (epochs, R, S) or (R, S, ...); "final_weights" holds every
    copy's final weights (get_weights() order, a leading copy axis).
    """
    epochs = cfg.epochs if epochs is None else epochs
    rates, n = list(rates), len(rates) * n_seeds
    x_train = x[:n_train]
    record = Record(n, bar, x_train, check_epochs(epochs))
    callbacks = [record]
    trace = _sharpness_trace(x, y, n_train, len(rates), n_seeds, variant, cfg, epochs,
                             trace_seeds)
    if trace is not None:
        callbacks.append(trace)
    path = PathRecord(n, check_epochs(epochs)) if with_path else None
    m = min(n_train, overshoot_points)
    overshoot = OvershootRecord(n, x[:m], y[:m], check_epochs(epochs)) if m else None
    callbacks += [c for c in (path, overshoot) if c is not None]
    result = _sweep(x, y, rates, n_seeds, variant, cfg, epochs, loss, callbacks,
                    warmup_epochs * _updates_per_epoch(n_train, cfg))
    out = {"rates": rates, "variant": variant, "n_copies": n, "epochs": epochs,
           "init_weights": record.init, "check_epochs": np.asarray(record.at_epochs)}
    out.update(_outcomes(result, record, x, y, n_train, n_seeds, variant, cfg, loss))
    out["trace"] = None if trace is None else _trace_result(trace, result, out, epochs)
    if path is not None:
        out["path"] = path.path.reshape((len(path.epochs), len(rates), n_seeds, -1))
        out["path_epochs"] = np.asarray(path.epochs)
    if overshoot is not None:
        shape = (len(overshoot.at_epochs), len(rates), n_seeds)
        out["overshoot"] = {"epochs": np.asarray(overshoot.at_epochs), "points": m,
                            "t_min": overshoot.t_min.reshape(shape),
                            "ratio": overshoot.ratio.reshape(shape),
                            "climbs": overshoot.climbs.reshape(shape)}
    return out


def _updates_per_epoch(n_train, cfg):
    return -(-n_train // cfg.batch_size)


def _sharpness_trace(x, y, n_train, r_n, s_n, variant, cfg, epochs, trace_seeds):
    """The SharpnessTrace of the first trace_seeds seeds of every rate, or None."""
    t_n = min(trace_seeds, s_n)
    if not t_n:
        return None
    traced = [r * s_n + s for r in range(r_n) for s in range(t_n)]
    m = min(n_train, cfg.trace_points)
    return SharpnessTrace(traced, [k % s_n for k in range(r_n * s_n)], x[:m], y[:m],
                          trace_epochs(epochs), variant, cfg.trace_iters, cfg.sharpness_iters,
                          cfg.sharpness_tol)


def _sweep(x, y, rates, n_seeds, variant, cfg, epochs, loss, callbacks, warmup_steps):
    schedule = None
    if warmup_steps:
        def schedule(lr):
            return tn.schedules.Warmup(lr, warmup_steps=warmup_steps)
    with warnings.catch_warnings(), np.errstate(divide="ignore", over="ignore",
                                                invalid="ignore"):
        warnings.simplefilter("ignore", tn.DivergenceWarning)  # counted in the report
        warnings.simplefilter("ignore", UserWarning)  # a 2-point validation tail of one class
        return tn.sweep(lambda: post_layers(*variant), x, y, rates, seeds=list(range(n_seeds)),
                        optimizer="sgd", loss=CLIPPED if loss is None else loss,
                        epochs=epochs, batch_size=cfg.batch_size,
                        validation_split=cfg.validation_split, verbose=0,
                        callbacks=callbacks, schedule=schedule)


def stacked_model(variant, weights, loss=None):
    """A stacked model holding the copies of ``weights`` (a lone copy rides in a pair)."""
    n = weights[0].shape[0]
    model = tn.Sequential(post_layers(*variant), seed=0, n_models=max(n, 2))
    model.compile("sgd", loss=CLIPPED if loss is None else loss)
    model.set_weights([np.concatenate([w, w]) if n == 1 else w for w in weights])
    return model


def _outcomes(result, record, x, y, n_train, n_seeds, variant, cfg, loss):
    """Every end-of-training measure of a sweep, per copy, shaped (R, S, ...)."""
    n = record.n
    x_train, x_val, y_train = x[:n_train], x[n_train:], y[:n_train]
    r_n = n // n_seeds

    def grid_of(a):
        a = np.asarray(a, dtype=np.float64)[:n]
        return a.reshape((r_n, n_seeds) + a.shape[1:])

    curves = {key: result.history[key] for key in ("loss", "accuracy", "val_loss",
                                                   "val_accuracy")}
    with np.errstate(invalid="ignore"):
        above = curves["val_accuracy"] > cfg.threshold
    escape = np.where(above.any(axis=0), above.argmax(axis=0) + 1.0, np.nan)
    model = stacked_model(variant, record.final, loss)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        change = dg.parameter_change(model, stacked_model(variant, record.init).get_weights())
        measured = {"max_fraction": grid_of(dg.prediction_histogram(model, x_val)["max_fraction"]),
                    "dead_end": grid_of(dg.dead_relu_fraction(model, x_train)["dead"]),
                    **{k: grid_of(v) for k, v in output_measures(model, x_train,
                                                                 y_train).items()}}
        osc = dg.loss_oscillation(result.steps["loss"].reshape(-1, n))
        shift = first_epoch_shift(record.init, record.epoch1, x_train, variant[1])
    div = result.diverged
    final = np.where(div, np.nan, curves["val_accuracy"][-1])
    success = np.nan_to_num(final, nan=0.0) > cfg.threshold
    dead_checks = np.asarray(record.dead, dtype=np.float64)  # (C, n, L)
    timing = death_timing(dead_checks, np.asarray(record.at_epochs), escape.reshape(-1))
    return {
        "final_weights": record.final, "curves": curves, "final_val_accuracy": final,
        "diverged": div,
        "diverged_epoch": result.diverged_epoch.astype(np.float64), "success": success,
        "outcome": classify_runs(success, div, measured, can_die=variant[1] == "relu"),
        "escape_epoch": escape, "dead_init": grid_of(dead_checks[0]),
        "dead_checks": dead_checks.reshape((-1, r_n, n_seeds, dead_checks.shape[-1])),
        "death_epoch": grid_of(timing["epoch"]), "death_layer": grid_of(timing["layer"]),
        "kernel_relative": grid_of(change["kernel_relative"]),
        "bias_change": grid_of(change["bias_change"]),
        "shift_ratio": grid_of(shift), "sign_changes": grid_of(osc["sign_changes"]),
        "increases": grid_of(osc["increases"]), "peak_ratio": grid_of(osc["peak_ratio"]),
        **measured}


def _trace_result(trace, result, out, epochs):
    """The sharpness trace as (checks, R, seeds) arrays, NaN after a copy diverged."""
    r_n, t_n = len(out["rates"]), len(trace.traced) // len(out["rates"])
    values = trace.values.reshape(len(trace.epochs), r_n, t_n)
    errors = trace.errors.reshape(len(trace.epochs), r_n, t_n)
    at = np.asarray(trace.epochs)
    div = result.diverged
    # after a copy diverged its frozen weights say nothing about training
    stop = np.where(div[:, :t_n], result.diverged_epoch[:, :t_n], epochs)
    keep = at[:, None, None] <= stop[None]
    values, errors = np.where(keep, values, np.nan), np.where(keep, errors, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        peak = np.nanmax(np.where(np.isfinite(values), values, np.nan), axis=0)
    return {"epochs": at, "values": values, "errors": errors, "peak": peak, "seeds": t_n}


def init_diagnostics(x, y, n_train, n_seeds, variant):
    """Diagnostics at initialisation over the seeds: loss, gradients, dead units.

    (The sharpness at init is the first check of the post runs' SharpnessTrace.)
    """
    model = tn.Sequential(post_layers(*variant), seed=0, n_models=max(n_seeds, 2))
    model.set_weights(seed_weights(range(model.n_models), variant))
    model.compile("sgd", loss=CLIPPED)
    xt, yt = x[:n_train], y[:n_train]
    return {"loss": dg.initial_loss_check(model, xt, yt),
            "norms": dg.layer_gradient_norms(model, xt, yt),
            "dead": dg.dead_relu_fraction(model, xt)}


# --- the whole run -----------------------------------------------------------------
def run(out_dir="tinynet-out/reproduce", seeds=None, epochs=None, backend=None, quick=False,
        progress=True, echo=print, samples=None, workers=None):
    """Run the whole experiment and write every output into ``out_dir``.

    seeds: seeds per cell (default 20; the grid uses min(2, seeds)). epochs:
    default 200 (the longer budget: 5x). backend: "numpy", "cupy" or None (keep
    the current one). quick: a seconds-long run on small data (for tests).
    samples: data set size (default 1000; more samples, more updates per epoch).
    workers: processes that train sweeps side by side (default: 2 on a CPU
    with at least 2 cores, else 1; always 1 on a GPU). Every sweep gives the
    same numbers in any process, so the count changes the time only.
    progress: a progress bar on stderr when it is a terminal, else one line per
    sweep through echo (so a redirected log gets a line per sweep, not a bar's
    every redraw); False: nothing. echo: where lines go (print). Returns the
    dict results.json holds. Raises ValueError, tn.BackendError or OSError on
    bad input, before training.
    """
    t0, cpu0 = time.perf_counter(), (time.process_time(), _children_cpu_s())
    cfg = Config.make(seeds=seeds, epochs=epochs, quick=quick, samples=samples)
    if backend is not None:
        tn.set_backend(backend)
    workers = workers_for(workers)
    out_dir = prepare_out(out_dir)
    echo(f"tinynet reproduce: writing into {os.path.abspath(out_dir)}")
    data, y, n_train = make_data(cfg)
    runs, seconds = train_all(train_job, jobs(cfg), data, y, n_train, cfg, workers, progress,
                              echo)
    t_train = time.perf_counter() - t0
    t_init = time.perf_counter()
    inits = {(s, v): init_diagnostics(data[s], y, n_train, cfg.seeds, v)
             for s in SCALINGS for v in (POST_VARIANT, HE)}
    raw_post = runs[("raw", "post", POST_VARIANT)]
    seed, surfaces = loss_surfaces(raw_post, data["raw"], y, cfg)
    summary = summarise(cfg, data, y, n_train, runs, inits)
    summary["diagnostics"]["surface"] = surface_summary(seed, surfaces)
    summary["timing"] = {"training_s": t_train, "workers": workers, "per_sweep": seconds,
                         "init_and_summary_s": time.perf_counter() - t_init}
    files = write_outputs(out_dir, cfg, data, y, runs, summary, t0, cpu0, (seed, surfaces))
    for name in files:
        echo(f"  wrote {os.path.join(out_dir, name)}")
    echo(f"tinynet reproduce: done in {summary['timing']['total_s']:.1f} s; "
         f"read {os.path.join(out_dir, 'REPORT.md')}")
    return summary


def _children_cpu_s():
    """CPU seconds (user + system) of the finished child processes (the workers)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_estimate(timing, main_cpu_s, children_cpu_s=0.0):
    """The run's CPU seconds, and the wall time they make on an idle machine.

    main_cpu_s: CPU seconds of this process so far; children_cpu_s: those of
    its finished worker processes (start-up included). With one worker the
    sweeps ran here, so the estimate is main_cpu_s; with W workers each
    sweep's CPU seconds are dealt, longest first, to whichever worker is free
    first (as the pool does), each worker's start-up (its CPU beyond its
    sweeps, shared evenly) is added, and the estimate is main_cpu_s plus the
    last worker's end. A busy machine stretches the wall time; the CPU seconds
    stay (about: a busy machine also costs some CPU in cache misses).
    """
    sweeps = sorted((t["cpu_s"] for t in timing["per_sweep"].values()), reverse=True)
    workers = timing["workers"]
    if workers == 1:
        return {"cpu_s": main_cpu_s, "idle_machine_estimate_s": main_cpu_s}
    start_up = max(children_cpu_s - sum(sweeps), 0.0) / workers
    ends = [start_up] * workers
    for cpu in sweeps:
        ends[ends.index(min(ends))] += cpu
    total = main_cpu_s + max(children_cpu_s, sum(sweeps))
    return {"cpu_s": total, "idle_machine_estimate_s": main_cpu_s + max(ends)}


def train_job(job, data, y, n_train, cfg, bar):
    """One job of setup.jobs, trained: (its run dict, {"wall_s", "cpu_s"} it took)."""
    t, cpu = time.perf_counter(), time.process_time()
    x, y_job, n_job = data[job.scaling], y, n_train
    if job.kind.startswith("samples="):
        other, y_job, n_job = make_data(cfg, int(job.kind.split("=")[1]))
        x = other[job.scaling]
    exact = tn.losses.SparseCategoricalCrossentropy(probabilities="exact")
    out = train(x, y_job, n_job, job.rates, job.seeds, job.variant, cfg, bar,
                trace_seeds=cfg.trace_seeds if job.kind == "post" else 0,
                loss=exact if job.kind == "exact" else None, epochs=job.epochs,
                warmup_epochs=cfg.warmup_epochs if job.kind == "warmup" else 0,
                with_path=job.key == ("raw", "post", POST_VARIANT),
                overshoot_points=cfg.overshoot_points if job.kind == "post" else 0)
    return out, {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - cpu}


# --- outputs -------------------------------------------------------------------------
def write_outputs(out_dir, cfg, data, y, runs, summary, t0, cpu0=(0.0, 0.0), surfaces=None):
    """Figures, results.csv, results.json and REPORT.md, moved into out_dir together.

    Everything is written into a fresh temporary folder inside out_dir first
    (``_files.staged_files``) and moved in only once every file exists, so a run
    interrupted while writing (Ctrl-C) leaves the previous run's files exactly as
    they were, never a mix of new figures and an old report. Other files in
    out_dir are kept. t0: perf_counter() at the start; cpu0: (process_time(), the
    children's CPU seconds) at the start; surfaces: (seed, figures.loss_surfaces(...)).
    """
    post = {s: runs[(s, "post", POST_VARIANT)] for s in SCALINGS}
    written = []
    with _files.staged_files(out_dir) as stage:
        def save(name, fig):
            _files.save_figure(fig, os.path.join(stage, name))
            written.append(name)

        def write(name, text):
            _files.write_text(os.path.join(stage, name), text)
            written.append(name)

        save("regions.png", figure_regions(post["raw"], data["raw"], y, cfg))
        save("curves.png", figure_curves(post, cfg))
        save("success.png", figure_success(runs, cfg))
        save("dead_units.png", figure_dead_units(post, cfg))
        save("sharpness.png", figure_sharpness(post, cfg))
        if surfaces is not None:
            save("loss_surface.png", figure_loss_surface(post["raw"], *surfaces, cfg))
        write("results.csv", results_csv(runs))
        summary["timing"]["total_s"] = time.perf_counter() - t0
        summary["timing"].update(cpu_estimate(summary["timing"], time.process_time() - cpu0[0],
                                              _children_cpu_s() - cpu0[1]))
        write("results.json", json.dumps(summary, indent=1) + "\n")
        write("REPORT.md", report(summary))
    return written
