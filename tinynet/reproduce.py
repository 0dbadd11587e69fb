"""The 10x10x10x10x4 learning-rate experiment, answered with measurements.

A Q&A post trained Dense(10, relu) x4 -> Dense(4, softmax) with RandomNormal(0,
0.05) kernels, plain SGD, categorical cross-entropy, batch 64, 200 epochs and
validation_split=0.2 on 2-D points in four clusters, and saw rates 0.01-0.4 fit,
0.5 fail, 0.001 fail differently, and standardised inputs fail above 0.1. This
module trains that network at the post's five rates and on a log grid, over
many seeds, on raw and standardised inputs (each set of copies is one stacked
model), measures why runs fail with ``tinynet.diagnostics``, and writes figures,
``results.csv``, ``results.json`` and ``REPORT.md``. Argument parsing lives in
``tinynet.cli``.

Sections, in order: configuration and atomic files; data and network; training
(``train``: one stacked model per set of rates, with callbacks for progress, the
dead units after the first epoch and the sharpness during training); the whole
run; the summary numbers; writing the outputs. The figures live in
reproduce_figures.py, results.csv and REPORT.md in reproduce_report.py (the
report is written from the summary alone, so ``report(json.load(...))``
rebuilds it from results.json).

The engine's ``tn.sweep`` trains the same stacked grids but takes no callbacks,
and the progress bar and the per-epoch measurements need them, so ``train``
stacks the copies itself (copy k = r * S + s, as sweep does).

    from tinynet import reproduce
    summary = reproduce.run("tinynet-out/reproduce", seeds=20, epochs=200)
"""

import contextlib
import json
import math
import os
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

import tinynet as tn
from tinynet import _checks
from tinynet import diagnostics as dg

POST_RATES = (0.001, 0.01, 0.1, 0.4, 0.5)
GOOD, HIGH, LOW = 0.1, 0.5, 0.001  # the post's three panels
CENTERS = ((-10.0, -10.0), (-10.0, 10.0), (10.0, -10.0), (10.0, 10.0))
CLUSTER_STD = 2.0
SCALINGS = ("raw", "standardised")
VARIANTS = (("random_normal", "relu"), ("he_normal", "relu"), ("random_normal", "leaky_relu"))
ONE_CLASS = 0.95  # a run "predicts one class" when one class gets >= 95% of the points


@dataclass
class Config:
    """Everything that decides the numbers; stored in results.json."""

    seeds: int = 20
    epochs: int = 200
    n_samples: int = 1000
    grid_rates: tuple = tuple(float(r) for r in np.geomspace(1e-4, 2.0, 10))
    grid_seeds: int = 5
    variant_rates: tuple = (0.01, 0.1, 0.5)
    variant_seeds: int = 5
    batch_size: int = 64
    validation_split: float = 0.2
    threshold: float = 0.9
    sharpness_iters: int = 20
    trace_seeds: int = 4
    trace_points: int = 256
    trace_iters: int = 6
    data_seed: int = 0
    post_rates: tuple = field(default=POST_RATES)

    @classmethod
    def make(cls, seeds=None, epochs=None, quick=False, samples=None):
        """The default run, or the seconds-long --quick one; the others override."""
        cfg = cls()
        if quick:
            cfg = cls(seeds=2, epochs=4, n_samples=256, grid_rates=(1e-3, 1e-1, 1.0),
                      grid_seeds=1, variant_rates=(0.1, 0.5), variant_seeds=1,
                      sharpness_iters=3, trace_seeds=1, trace_points=64, trace_iters=2)
        if seeds is not None:
            cfg.seeds = _checks.positive_int(seeds, "seeds", "reproduce")
            cfg.grid_seeds = min(cfg.grid_seeds, cfg.seeds)
            cfg.variant_seeds = min(cfg.variant_seeds, cfg.seeds)
        if epochs is not None:
            cfg.epochs = _checks.positive_int(epochs, "epochs", "reproduce")
        if samples is not None:
            cfg.n_samples = _checks.positive_int(samples, "samples", "reproduce")
            if cfg.n_samples < 20:
                raise ValueError(f"reproduce: samples must be at least 20, got {samples}.")
        return cfg


# --- files -----------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary name next to ``path``; rename it to ``path`` only on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp" + suffix,
                               dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path, text):
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def save_figure(fig, path):
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)


def prepare_out(out_dir):
    """Create the output folder (or reuse it) and check that it takes files."""
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OSError(f"reproduce: the output path {out_dir!r} is a file, not a folder.")
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise OSError(f"reproduce: cannot write to the output folder {out_dir!r} "
                      f"({exc.strerror or exc}).") from None
    return out_dir


# --- data and network --------------------------------------------------------------
def make_data(cfg):
    """{"raw": x, "standardised": x'}, labels y, n_train (the first rows; Keras's split)."""
    x, y = tn.datasets.make_blobs(cfg.n_samples, np.array(CENTERS), CLUSTER_STD,
                                  seed=cfg.data_seed)  # shuffled, so the tail is a fair sample
    n_train = int(math.ceil(cfg.n_samples * (1.0 - cfg.validation_split)))
    scaler = tn.data.StandardScaler().fit(x[:n_train])  # fitted on the training part only
    return {"raw": x, "standardised": scaler.transform(x)}, y, n_train


def post_layers(init="random_normal", activation="relu"):
    """The post's network: Dense(10, relu) x4 -> Dense(4, softmax), zero biases."""
    def kernel():
        return tn.initializers.RandomNormal(0.0, 0.05) if init == "random_normal" else init

    layers = [tn.layers.Dense(10, activation=activation, kernel_initializer=kernel(),
                              input_dim=2)]
    layers += [tn.layers.Dense(10, activation=activation, kernel_initializer=kernel())
               for _ in range(3)]
    return layers + [tn.layers.Dense(4, activation="softmax", kernel_initializer=kernel())]


def seed_weights(seeds, variant):
    """get_weights() of each seed's network, stacked on a leading axis (S, ...)."""
    per_seed = [tn.Sequential(post_layers(*variant), seed=s).get_weights() for s in seeds]
    return [np.stack(ws) for ws in zip(*per_seed)]


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


# --- numbers -------------------------------------------------------------------------
def _med(a, axis=None):
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0 or np.all(np.isnan(a)):
        return math.nan if axis is None else np.full(np.delete(a.shape, axis), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmedian(a, axis=axis)
    return float(out) if axis is None else out


def _f(v):
    """A JSON-safe float (None for NaN/inf)."""
    v = float(v)
    return v if math.isfinite(v) else None


def _list(a):
    return [_f(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def rate_rows(scaling, kind, run):
    """One summary dict per rate of a run."""
    rows = []
    trace = run["trace"]
    for i, rate in enumerate(run["rates"]):
        out = run["outcome"][i]
        fit = run["success"][i]
        row = {
            "scaling": scaling, "kind": kind, "init": run["variant"][0],
            "activation": run["variant"][1], "learning_rate": float(rate), "seeds": len(out),
            "success_rate": float(np.mean(fit)),
            "fit": int(np.sum(out == "fit")), "one_class": int(np.sum(out == "one class")),
            "dead_layer": int(np.sum(out == "dead layer")),
            "diverged": int(np.sum(out == "diverged")), "partial": int(np.sum(out == "partial")),
            "median_val_accuracy": _f(_med(run["final_val_accuracy"][i])),
            "escaped": int(np.sum(np.isfinite(run["escape_epoch"][i]))),
            "median_escape_epoch": _f(_med(run["escape_epoch"][i])),
            "median_sign_changes": _f(_med(run["sign_changes"][i])),
            "median_increases": _f(_med(run["increases"][i])),
            "median_peak_ratio": _f(_med(run["peak_ratio"][i])),
            "median_dead_end": _list(_med(run["dead_end"][i], axis=0)),
        }
        if trace is not None:
            peak = trace["peak"][i]
            t_fit = fit[:trace["seeds"]]
            crossed = np.nan_to_num(peak, nan=0.0) > 2.0 / rate
            row.update({
                "traced": int(trace["seeds"]), "median_peak_sharpness": _f(_med(peak)),
                "crossed_2_over_lr": int(np.sum(crossed)),
                "crossed_and_fit": int(np.sum(crossed & t_fit)),
                "below_and_fit": int(np.sum(~crossed & t_fit)),
            })
        rows.append(row)
    return rows


def escape_constant(run_list):
    """median of lr x (epochs to val accuracy > threshold) over the copies that got there.

    On the plateau the weights grow like exp(c * lr * t), so the time to leave it
    is ~ const / lr; the median of lr x escape epoch estimates that constant.
    """
    values = []
    for run in run_list:
        for i, rate in enumerate(run["rates"]):
            e = run["escape_epoch"][i]
            values.extend((rate * e[np.isfinite(e)]).tolist())
    return _med(values), len(values)


def summarise(cfg, data, y, n_train, runs, inits):
    """Every number the report uses, as a JSON-ready dict."""
    main = VARIANTS[0]
    rows = []
    for (scaling, kind, _), run in runs.items():
        rows.extend(rate_rows(scaling, kind, run))
    raw = data["raw"]
    upe = int(math.ceil(n_train / cfg.batch_size))
    diag = {"init": {}, "escape": {}, "post": {}, "trace": {}}
    for (scaling, variant), d in inits.items():
        n = d["norms"]
        diag["init"][f"{scaling}/{'/'.join(variant)}"] = {
            "loss": _f(_med(d["loss"]["loss"])), "chance": d["loss"]["chance"],
            "input_rms": n["input_rms"],
            "activation_rms": _list(_med(n["activation_rms"], axis=0)),
            "kernel_grad": _list(_med(n["kernel_grad"], axis=0)),
            "bias_grad": _list(_med(n["bias_grad"], axis=0)),
            "dead": _list(_med(d["dead"]["dead"], axis=0)),
            "sharpness": _f(_med(d["sharpness"])),
        }
    for scaling in SCALINGS:
        post = runs[(scaling, "post", main)]
        c, count = escape_constant([post, runs[(scaling, "grid", main)]])
        # points a data set needs for lr x epochs = c at lr=0.01 (raw) or 0.1, in 200 epochs
        need = {f"{r:g}": _f(_div(c, r * cfg.epochs) * upe * cfg.batch_size
                             / (1.0 - cfg.validation_split)) if count else None
                for r in (0.01, GOOD)}
        diag["escape"][scaling] = {"lr_times_epochs": _f(c), "copies": count,
                                   "points_needed": need}
        per_rate = {}
        for i, rate in enumerate(post["rates"]):
            per_rate[f"{rate:g}"] = {
                "dead_init": _list(_med(post["dead_init"][i], axis=0)),
                "dead_epoch1": _list(_med(post["dead_epoch1"][i], axis=0)),
                "dead_end": _list(_med(post["dead_end"][i], axis=0)),
                "kernel_relative": _list(_med(post["kernel_relative"][i], axis=0)),
                "bias_change": _list(_med(post["bias_change"][i], axis=0)),
                "max_fraction": _f(_med(post["max_fraction"][i])),
            }
        diag["post"][scaling] = per_rate
        tr = post["trace"]
        diag["trace"][scaling] = {
            "epochs": [int(e) for e in tr["epochs"]], "seeds": tr["seeds"],
            "median": {f"{r:g}": _list(_med(tr["values"][:, i], axis=1))
                       for i, r in enumerate(post["rates"])}}
    return {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "data": {"centers": [list(c) for c in CENTERS], "cluster_std": CLUSTER_STD,
                 "n_samples": cfg.n_samples, "n_train": n_train,
                 "n_validation": cfg.n_samples - n_train,
                 "raw_min": float(raw.min()), "raw_max": float(raw.max()),
                 "raw_rms": float(np.sqrt(np.mean(raw[:n_train] ** 2))),
                 "standardised_rms": float(np.sqrt(np.mean(data["standardised"][:n_train] ** 2))),
                 "updates_per_epoch": upe},
        "environment": {"tinynet": tn.__version__, "backend": tn.get_backend(),
                        "dtype": tn.get_dtype()},
        "rates": rows, "diagnostics": diag,
    }


# --- outputs -------------------------------------------------------------------------
def write_outputs(out_dir, cfg, data, y, runs, summary, t0):
    """Figures, results.csv, results.json and REPORT.md, each written atomically."""
    from tinynet.reproduce_figures import (
        figure_curves,
        figure_regions,
        figure_sharpness,
        figure_success,
    )
    from tinynet.reproduce_report import report, results_csv

    main = VARIANTS[0]
    post = {s: runs[(s, "post", main)] for s in SCALINGS}
    written = []

    def save(name, fig):
        save_figure(fig, os.path.join(out_dir, name))
        written.append(name)

    save("regions.png", figure_regions(post["raw"], data["raw"], y, cfg))
    save("curves.png", figure_curves(post, cfg))
    save("success.png", figure_success(runs, cfg))
    save("sharpness.png", figure_sharpness(post, cfg))
    write_text(os.path.join(out_dir, "results.csv"), results_csv(runs))
    written.append("results.csv")
    summary["timing"]["total_s"] = time.perf_counter() - t0
    write_text(os.path.join(out_dir, "results.json"), json.dumps(summary, indent=1) + "\n")
    written.append("results.json")
    write_text(os.path.join(out_dir, "REPORT.md"), report(summary))
    written.append("REPORT.md")
    return written


def _div(a, b):
    return None if a is None or b is None or b == 0 else a / b
