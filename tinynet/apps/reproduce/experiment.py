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
from tinynet.apps.reproduce.measures import classify_runs, output_measures
from tinynet.apps.reproduce.report import report, results_csv
from tinynet.apps.reproduce.setup import (
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
def _per_copy(model, a):
    """A per-copy array of a sweep chunk's model with its copy axis (unstacked: add it)."""
    a = np.asarray(a)
    return a if model.stacked else a[None]


class _Record(tn.callbacks.Callback):
    """Per-copy records of a tn.sweep, stored under each copy's sweep-wide index.

    ``self.copies`` (set by tn.sweep before each chunk) maps the chunk model's
    copy j to the sweep's copy k = r * S + s, so the records of every chunk
    land in one set of arrays. Keeps the initial and the final weights, the dead
    units after the first epoch, and advances a tqdm bar by one per epoch.
    """

    def __init__(self, n_copies, bar, x_train):
        self.n, self.bar, self.x_train = n_copies, bar, x_train
        self.init, self.final, self.dead_epoch1 = None, None, None

    def _store(self, name, arrays):
        mine = getattr(self, name)
        if mine is None:
            mine = [np.zeros((self.n,) + a.shape[1:], dtype=a.dtype) for a in arrays]
            setattr(self, name, mine)
        for into, a in zip(mine, arrays):
            into[self.copies] = a

    def on_train_begin(self):
        self._store("init", [_per_copy(self.model, w) for w in self.model.get_weights()])

    def on_epoch_end(self, epoch, logs):
        if epoch == 0:
            dead = dg.dead_relu_fraction(self.model, self.x_train)["dead"]
            self._store("dead_epoch1", [_per_copy(self.model, dead)])
        if self.bar is not None:
            self.bar.update(len(self.copies) / self.n)

    def on_train_end(self):
        self._store("final", [_per_copy(self.model, w) for w in self.model.get_weights()])


class _SharpnessTrace(tn.callbacks.Callback):
    """Sharpness of some copies at init and after chosen epochs, on a fixed subset.

    traced: the sweep-wide copy indices to follow; seed_of[k]: copy k's seed.
    Each check copies the traced copies' weights into a small stacked model and
    runs power iterations (``tinynet.lab.diagnostics.sharpness``) until the
    Rayleigh quotient settles (relative change <= tol) or the iteration count
    runs out: first_iters at init, from a start vector drawn from the copy's
    seed (so every rate of one seed starts from the same weights AND the same
    vector, and gets the same value), then iters per check, warm-started from
    the previous check's vector. Each value comes with its residual
    ||H v - value v||: some eigenvalue lies within it.
    """

    def __init__(self, traced, seed_of, x, y, at_epochs, variant, iters, first_iters, tol):
        self.traced, self.seed_of = np.asarray(traced), np.asarray(seed_of)
        self.x, self.y, self.variant = x, y, variant
        self.iters, self.first_iters, self.tol = iters, first_iters, tol
        self.epochs = [0] + sorted(set(at_epochs) - {0})
        self.row = {e: i for i, e in enumerate(self.epochs)}
        shape = (len(self.epochs), len(self.traced))
        self.values, self.errors = np.full(shape, np.nan), np.full(shape, np.nan)

    def on_train_begin(self):
        local = np.flatnonzero(np.isin(self.copies, self.traced))
        self.local = local
        self.cols = np.searchsorted(self.traced, self.copies[local])
        self.sub, self.vector = None, None
        if not local.size:
            return
        self.sub = tn.Sequential(post_layers(*self.variant), seed=0, n_models=local.size)
        self.sub.compile("sgd", loss="sparse_categorical_crossentropy")
        shapes = [np.shape(w)[1:] if local.size > 1 else np.shape(w)
                  for w in self.sub.get_weights()]
        draws = {}
        for s in {int(self.seed_of[k]) for k in self.copies[local]}:
            rng = np.random.default_rng(10_000 + s)
            draws[s] = [rng.standard_normal(shape) for shape in shapes]
        per = [draws[int(self.seed_of[k])] for k in self.copies[local]]
        self.vector = [np.stack(v) if local.size > 1 else v[0] for v in zip(*per)]
        self._check(0, self.first_iters)

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 in self.row and self.sub is not None:
            self._check(epoch + 1, self.iters)

    def _check(self, epoch, iters):
        weights = [_per_copy(self.model, w)[self.local] for w in self.model.get_weights()]
        self.sub.set_weights(weights if self.local.size > 1 else [w[0] for w in weights])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value, self.vector, error = dg.sharpness(
                self.sub, self.x, self.y, iters=iters, tol=self.tol, start=self.vector,
                return_vector=True, return_error=True)
        self.values[self.row[epoch], self.cols] = value
        self.errors[self.row[epoch], self.cols] = error


def trace_epochs(epochs):
    """Every 2nd epoch up to 100, then every 10th, and the last."""
    at = set(range(2, min(epochs, 100) + 1, 2)) | set(range(110, epochs + 1, 10)) | {epochs}
    return sorted(at)


def train(x, y, n_train, rates, n_seeds, variant, cfg, bar=None, trace_seeds=0, loss=None):
    """Train len(rates) x n_seeds copies with ``tn.sweep`` (copy k = r * S + s: rate-major).

    Seed s starts every rate from the same weights and shuffles its batches as
    seed s, so differences between the rates of one seed come from the rate
    alone. trace_seeds > 0 also tracks the sharpness of that many seeds per
    rate during training. loss: default the sparse categorical cross-entropy
    (Keras's clipped one). Returns a dict of host arrays shaped (epochs, R, S)
    or (R, S), and "model", a stacked model holding every copy's final weights.
    """
    rates, seeds = list(rates), list(range(n_seeds))
    r_n, s_n = len(rates), len(seeds)
    n = r_n * s_n
    loss = "sparse_categorical_crossentropy" if loss is None else loss
    x_train, x_val, y_train = x[:n_train], x[n_train:], y[:n_train]
    record = _Record(n, bar, x_train)
    callbacks = [record]
    t_n = min(trace_seeds, s_n)
    if t_n:
        traced = [r * s_n + s for r in range(r_n) for s in range(t_n)]
        m = min(n_train, cfg.trace_points)
        callbacks.append(_SharpnessTrace(traced, [k % s_n for k in range(n)], x[:m], y[:m],
                                         trace_epochs(cfg.epochs), variant, cfg.trace_iters,
                                         cfg.sharpness_iters, cfg.sharpness_tol))
    with warnings.catch_warnings(), np.errstate(divide="ignore", over="ignore",
                                                invalid="ignore"):
        warnings.simplefilter("ignore", tn.DivergenceWarning)  # counted in the report
        warnings.simplefilter("ignore", UserWarning)  # a 2-point validation tail of one class
        result = tn.sweep(lambda: post_layers(*variant), x, y, rates, seeds=seeds,
                          optimizer="sgd", loss=loss, epochs=cfg.epochs,
                          batch_size=cfg.batch_size, validation_split=cfg.validation_split,
                          verbose=0, callbacks=callbacks)
    model = tn.Sequential(post_layers(*variant), seed=0, n_models=max(n, 2))
    model.compile("sgd", loss=loss)

    def grid_of(a):
        a = np.asarray(a, dtype=np.float64)
        return a.reshape((r_n, s_n) + a.shape[1:])

    def load(weights):  # a lone copy rides in a stacked model of two
        model.set_weights([np.concatenate([w, w]) if n == 1 else w for w in weights])

    curves = {key: result.history[key] for key in ("loss", "accuracy", "val_loss",
                                                   "val_accuracy")}
    with np.errstate(invalid="ignore"):
        above = curves["val_accuracy"] > cfg.threshold
    escape = np.where(above.any(axis=0), above.argmax(axis=0) + 1.0, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        load(record.init)
        init_weights = model.get_weights()
        dead_init = dg.dead_relu_fraction(model, x_train)["dead"][:n]
        load(record.final)
        hist_val = dg.prediction_histogram(model, x_val)
        change = dg.parameter_change(model, init_weights)
        dead_end = dg.dead_relu_fraction(model, x_train)["dead"][:n]
        out_train = output_measures(model, x_train, y_train)
        osc = dg.loss_oscillation(result.steps["loss"].reshape(-1, n))
    div = result.diverged
    final = np.where(div, np.nan, curves["val_accuracy"][-1])
    success = np.nan_to_num(final, nan=0.0) > cfg.threshold
    measured = {"max_fraction": grid_of(hist_val["max_fraction"][:n]),
                "dead_end": grid_of(dead_end),
                **{k: grid_of(v[:n]) for k, v in out_train.items()}}
    result_dict = {
        "rates": rates, "variant": variant, "model": model, "n_copies": n, "curves": curves,
        "init_weights": record.init,
        "final_val_accuracy": final, "diverged": div,
        "diverged_epoch": result.diverged_epoch.astype(np.float64),
        "success": success, "outcome": classify_runs(success, div, measured),
        "escape_epoch": escape, "dead_init": grid_of(dead_init),
        "dead_epoch1": grid_of(record.dead_epoch1[0]),
        "kernel_relative": grid_of(change["kernel_relative"][:n]),
        "bias_change": grid_of(change["bias_change"][:n]),
        "sign_changes": grid_of(osc["sign_changes"]), "increases": grid_of(osc["increases"]),
        "peak_ratio": grid_of(osc["peak_ratio"]), "trace": None, **measured}
    if t_n:
        tr = callbacks[1]
        values = tr.values.reshape(len(tr.epochs), r_n, t_n)
        errors = tr.errors.reshape(len(tr.epochs), r_n, t_n)
        ep = np.asarray(tr.epochs)
        # after a copy diverged its frozen weights say nothing about training
        stop = np.where(div[:, :t_n], result.diverged_epoch[:, :t_n], cfg.epochs)
        keep = ep[:, None, None] <= stop[None]
        values, errors = np.where(keep, values, np.nan), np.where(keep, errors, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            peak = np.nanmax(np.where(np.isfinite(values), values, np.nan), axis=0)
        result_dict["trace"] = {"epochs": ep, "values": values, "errors": errors,
                                "peak": peak, "seeds": t_n}
    return result_dict


def init_diagnostics(x, y, n_train, n_seeds, variant, cfg, with_sharpness=True):
    """Diagnostics at initialisation over the seeds: loss, gradients, dead units, sharpness."""
    model = tn.Sequential(post_layers(*variant), seed=0, n_models=max(n_seeds, 2))
    model.set_weights(seed_weights(range(model.n_models), variant))
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    xt, yt = x[:n_train], y[:n_train]
    out = {"loss": dg.initial_loss_check(model, xt, yt),
           "norms": dg.layer_gradient_norms(model, xt, yt),
           "dead": dg.dead_relu_fraction(model, xt), "sharpness": np.full(model.n_models, np.nan),
           "sharpness_error": np.full(model.n_models, np.nan)}
    if with_sharpness:  # on the points the trace uses, so the two agree at epoch 0
        m = min(n_train, cfg.trace_points)
        out["sharpness"], out["sharpness_error"] = dg.sharpness(
            model, x[:m], y[:m], iters=cfg.sharpness_iters, tol=cfg.sharpness_tol,
            return_error=True)
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
    # the alternative to "the clip stops them": the same raw runs with the exact loss
    jobs += [("raw", "exact", main, cfg.post_rates, cfg.seeds)]
    # the data set is this project's choice: the same raw runs on other sizes
    jobs += [("raw", f"samples={n}", main, cfg.post_rates, cfg.seeds) for n in cfg.data_samples]
    exact = tn.losses.SparseCategoricalCrossentropy(probabilities="exact")
    bar = _bar(len(jobs) * cfg.epochs, progress)
    runs = {}
    try:
        for scaling, kind, variant, rates, n_seeds in jobs:
            if bar is not None:
                bar.set_description(f"{scaling} {kind} {'/'.join(variant)}")
            x_j, y_j, n_j = data[scaling], y, n_train
            if kind.startswith("samples="):
                other, y_j, n_j = make_data(cfg, int(kind.split("=")[1]))
                x_j = other[scaling]
            runs[(scaling, kind, variant)] = train(
                x_j, y_j, n_j, rates, n_seeds, variant, cfg, bar,
                trace_seeds=cfg.trace_seeds if kind == "post" else 0,
                loss=exact if kind == "exact" else None)
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
