"""The 10x10x10x10x4 learning-rate experiment, answered with measurements.

This module trains the post's network (see setup.py) at the post's five rates
and on a log grid, over many seeds, on raw and standardised inputs (each set of
copies is one stacked model), measures why runs fail with
``tinynet.lab.diagnostics``, and writes figures, ``results.csv``,
``results.json`` and ``REPORT.md``. Argument parsing lives in
``tinynet.apps.cli``; the numbers in summary.py, the figures in figures.py,
results.csv and REPORT.md in report.py (the report is written from the summary
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
    figure_regions,
    figure_sharpness,
    figure_success,
)
from tinynet.apps.reproduce.report import report, results_csv
from tinynet.apps.reproduce.setup import (
    ONE_CLASS,
    SCALINGS,
    VARIANTS,
    Config,
    make_data,
    post_layers,
    prepare_out,
    seed_weights,
)
from tinynet.apps.reproduce.summary import summarise
from tinynet.lab import diagnostics as dg


# --- training ----------------------------------------------------------------------
class _Progress(tn.callbacks.Callback):
    """Advance a tqdm bar by one per epoch; keep the dead-unit picture after epoch 1."""

    def __init__(self, bar, x_train):
        self.bar, self.x_train, self.after_first = bar, x_train, None

    def on_epoch_end(self, epoch, logs):
        if epoch == 0:
            self.after_first = dg.dead_relu_fraction(self.model, self.x_train)["dead"]
        if self.bar is not None:
            self.bar.update(1)


class _SharpnessTrace(tn.callbacks.Callback):
    """Sharpness of some copies at init and after chosen epochs, on a fixed subset.

    Each check copies the chosen copies' weights into a small stacked model and
    runs a few power iterations, warm-started from the previous check's vector.
    """

    def __init__(self, copies, x, y, at_epochs, variant, iters):
        self.copies, self.x, self.y = np.asarray(copies), x, y
        self.at, self.iters = set(at_epochs), iters
        self.sub = tn.Sequential(post_layers(*variant), seed=0, n_models=len(copies))
        self.sub.compile("sgd", loss="sparse_categorical_crossentropy")
        self.epochs, self.values, self.vector = [], [], None

    def on_train_begin(self):
        self._check(0)

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 in self.at:
            self._check(epoch + 1)

    def _check(self, epoch):
        self.sub.set_weights([w[self.copies] for w in self.model.get_weights()])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value, self.vector = dg.sharpness(self.sub, self.x, self.y, iters=self.iters,
                                              start=self.vector, return_vector=True)
        self.epochs.append(epoch)
        self.values.append(value)


def trace_epochs(epochs):
    """Every 2nd epoch up to 100, then every 10th, and the last."""
    at = set(range(2, min(epochs, 100) + 1, 2)) | set(range(110, epochs + 1, 10)) | {epochs}
    return sorted(at)


def train(x, y, n_train, rates, n_seeds, variant, cfg, bar=None, trace_seeds=0):
    """Train len(rates) x n_seeds copies at once (copy k = r * S + s: rate-major).

    Seed s starts every rate from the same weights, so differences come from the
    rate alone. trace_seeds > 0 also tracks the sharpness of that many seeds per
    rate during training. Returns a dict of host arrays shaped (epochs, R, S) or (R, S).
    """
    rates, seeds = list(rates), list(range(n_seeds))
    r_n, s_n = len(rates), len(seeds)
    start = seed_weights(seeds, variant)
    model = tn.Sequential(post_layers(*variant), seed=0, n_models=r_n * s_n)
    model.set_weights([np.concatenate([w] * r_n) for w in start])
    model._set_shuffle_seeds([s for _ in rates for s in seeds])  # (r, s): seed s's batches
    model.compile(tn.optimizers.SGD([r for r in rates for _ in seeds]),
                  loss="sparse_categorical_crossentropy")
    x_train, x_val = x[:n_train], x[n_train:]
    init_weights = model.get_weights()
    dead_init = dg.dead_relu_fraction(model, x_train)["dead"]
    callbacks = [_Progress(bar, x_train)]
    t_n = min(trace_seeds, s_n)
    if t_n:
        copies = [r * s_n + s for r in range(r_n) for s in range(t_n)]
        m = min(n_train, cfg.trace_points)
        callbacks.append(_SharpnessTrace(copies, x[:m], y[:m], trace_epochs(cfg.epochs),
                                         variant, cfg.trace_iters))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        hist = model.fit(x, y, epochs=cfg.epochs, batch_size=cfg.batch_size,
                         validation_split=cfg.validation_split, verbose=0, callbacks=callbacks)
    ran = len(hist.epoch)
    if bar is not None:
        bar.update(cfg.epochs - ran)
    diverged = np.asarray(hist.diverged, dtype=bool).reshape(-1)
    div_epoch = np.asarray(hist.diverged_epoch).reshape(-1)
    curves = {}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        a = np.full((cfg.epochs, r_n * s_n), np.nan)
        a[:ran] = np.asarray(hist.history[key], dtype=np.float64).reshape(ran, -1)
        after = np.arange(cfg.epochs)[:, None] > np.where(diverged, div_epoch, cfg.epochs)[None]
        a[after] = np.nan  # a diverged copy is frozen: its later values mean nothing
        curves[key] = a.reshape(cfg.epochs, r_n, s_n)
    with np.errstate(invalid="ignore"):
        above = curves["val_accuracy"] > cfg.threshold
    escape = np.where(above.any(axis=0), above.argmax(axis=0) + 1.0, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        hist_val = dg.prediction_histogram(model, x_val)
        change = dg.parameter_change(model, init_weights)
        dead_end = dg.dead_relu_fraction(model, x_train)["dead"]
        osc = dg.loss_oscillation(np.asarray(hist.steps["loss"]).reshape(-1, r_n * s_n))

    def grid_of(a):
        a = np.asarray(a, dtype=np.float64)
        return a.reshape((r_n, s_n) + a.shape[1:])

    div = grid_of(diverged).astype(bool)
    final = np.where(div, np.nan, curves["val_accuracy"][ran - 1])
    success = np.nan_to_num(final, nan=0.0) > cfg.threshold
    one_class = grid_of(hist_val["max_fraction"]) >= ONE_CLASS
    dead_layer = np.any(grid_of(dead_end) >= 1.0, axis=-1)
    outcome = np.where(success, "fit", np.where(div, "diverged", np.where(
        dead_layer, "dead layer", np.where(one_class, "one class", "partial"))))
    result = {"rates": rates, "variant": variant, "model": model, "curves": curves,
              "final_val_accuracy": final, "diverged": div, "diverged_epoch": grid_of(div_epoch),
              "success": success, "outcome": outcome, "escape_epoch": escape,
              "max_fraction": grid_of(hist_val["max_fraction"]),
              "dead_init": grid_of(dead_init), "dead_epoch1": grid_of(callbacks[0].after_first),
              "dead_end": grid_of(dead_end),
              "kernel_relative": grid_of(change["kernel_relative"]),
              "bias_change": grid_of(change["bias_change"]),
              "sign_changes": grid_of(osc["sign_changes"]),
              "increases": grid_of(osc["increases"]),
              "peak_ratio": grid_of(osc["peak_ratio"]), "trace": None}
    if t_n:
        tr = callbacks[1]
        values = np.asarray(tr.values, dtype=np.float64).reshape(len(tr.epochs), r_n, t_n)
        ep = np.asarray(tr.epochs)
        # after a copy diverged its frozen weights say nothing about training
        stop = np.where(div[:, :t_n], grid_of(div_epoch)[:, :t_n] + 1, cfg.epochs)
        values = np.where(ep[:, None, None] <= stop[None], values, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            peak = np.nanmax(np.where(np.isfinite(values), values, np.nan), axis=0)
        result["trace"] = {"epochs": ep, "values": values, "peak": peak, "seeds": t_n}
    return result


def init_diagnostics(x, y, n_train, n_seeds, variant, cfg, with_sharpness=True):
    """Diagnostics at initialisation over the seeds: loss, gradients, dead units, sharpness."""
    model = tn.Sequential(post_layers(*variant), seed=0, n_models=max(n_seeds, 2))
    model.set_weights(seed_weights(range(model.n_models), variant))
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    xt, yt = x[:n_train], y[:n_train]
    out = {"loss": dg.initial_loss_check(model, xt, yt),
           "norms": dg.layer_gradient_norms(model, xt, yt),
           "dead": dg.dead_relu_fraction(model, xt), "sharpness": np.full(model.n_models, np.nan)}
    if with_sharpness:
        out["sharpness"] = dg.sharpness(model, xt, yt, iters=cfg.sharpness_iters)
    return out


# --- the whole run -----------------------------------------------------------------
def run(out_dir="tinynet-out/reproduce", seeds=None, epochs=None, backend=None, quick=False,
        progress=True, echo=print, samples=None):
    """Run the whole experiment and write every output into ``out_dir``.

    seeds: seeds per post rate (default 20; the grid and the variants use
    min(5, seeds)). epochs: default 200. backend: "numpy", "cupy" or None (keep
    the current one). quick: a seconds-long run on small data (for tests).
    samples: data set size (default 1000; more samples, more updates per epoch).
    echo: where progress lines go (print). Returns the dict results.json holds.
    Raises ValueError, tn.BackendError or OSError on bad input, before training.
    """
    t0 = time.perf_counter()
    cfg = Config.make(seeds=seeds, epochs=epochs, quick=quick, samples=samples)
    if backend is not None:
        tn.set_backend(backend)
    out_dir = prepare_out(out_dir)
    echo(f"tinynet reproduce: writing into {os.path.abspath(out_dir)}")
    data, y, n_train = make_data(cfg)
    main = VARIANTS[0]
    jobs = [(s, "post", main, cfg.post_rates, cfg.seeds) for s in SCALINGS]
    jobs += [(s, "grid", main, cfg.grid_rates, cfg.grid_seeds) for s in SCALINGS]
    jobs += [(s, "variant", v, cfg.variant_rates, cfg.variant_seeds)
             for v in VARIANTS[1:] for s in SCALINGS]
    bar = _bar(len(jobs) * cfg.epochs, progress)
    runs = {}
    try:
        for scaling, kind, variant, rates, n_seeds in jobs:
            if bar is not None:
                bar.set_description(f"{scaling} {kind} {'/'.join(variant)}")
            runs[(scaling, kind, variant)] = train(
                data[scaling], y, n_train, rates, n_seeds, variant, cfg, bar,
                trace_seeds=cfg.trace_seeds if kind == "post" else 0)
        t_train = time.perf_counter() - t0
        if bar is not None:
            bar.set_description("diagnostics at initialisation")
        inits = {(s, v): init_diagnostics(data[s], y, n_train, cfg.seeds, v, cfg,
                                          with_sharpness=v == main)
                 for s in SCALINGS for v in VARIANTS}
    finally:
        if bar is not None:
            bar.close()
    summary = summarise(cfg, data, y, n_train, runs, inits)
    summary["timing"] = {"training_s": t_train}
    files = write_outputs(out_dir, cfg, data, y, runs, summary, t0)
    for name in files:
        echo(f"  wrote {os.path.join(out_dir, name)}")
    echo(f"tinynet reproduce: done in {summary['timing']['total_s']:.1f} s; "
         f"read {os.path.join(out_dir, 'REPORT.md')}")
    return summary


def _bar(total, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", leave=False, dynamic_ncols=True)


# --- outputs -------------------------------------------------------------------------
def write_outputs(out_dir, cfg, data, y, runs, summary, t0):
    """Figures, results.csv, results.json and REPORT.md, moved into out_dir together.

    Everything is written into a fresh temporary folder inside out_dir first
    (``_files.staged_files``) and moved in only once every file exists, so a run
    interrupted while writing (Ctrl-C) leaves the previous run's files exactly as
    they were, never a mix of new figures and an old report. Other files in
    out_dir are kept.
    """
    main = VARIANTS[0]
    post = {s: runs[(s, "post", main)] for s in SCALINGS}
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
        save("sharpness.png", figure_sharpness(post, cfg))
        write("results.csv", results_csv(runs))
        summary["timing"]["total_s"] = time.perf_counter() - t0
        write("results.json", json.dumps(summary, indent=1) + "\n")
        write("REPORT.md", report(summary))
    return written
