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
run; the summary numbers; figures and results files; REPORT.md, written from
the summary alone (``report(json.load(...))`` rebuilds it from results.json).

The engine's ``tn.sweep`` trains the same stacked grids but takes no callbacks,
and the progress bar and the per-epoch measurements need them, so ``train``
stacks the copies itself (copy k = r * S + s, as sweep does).

    from tinynet import reproduce
    summary = reproduce.run("tinynet-out/reproduce", seeds=20, epochs=200)
"""

import contextlib
import csv
import io
import json
import math
import os
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

import tinynet as tn
from tinynet import _checks, training
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
    from matplotlib.figure import Figure  # noqa: F401  (fails early if matplotlib is missing)

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


def copy_model(run, k):
    """A single Sequential holding copy k of a run's stacked model."""
    single = tn.Sequential(post_layers(*run["variant"]), seed=0)
    single.set_weights([w[k] for w in run["model"].get_weights()])
    return single


FAILURES = ("dead layer", "one class", "partial", "diverged")  # NaN weights draw nothing


def representative(run, i, want_failure):
    """(seed, outcome, count): the first seed with the most common outcome at rate index i.

    want_failure: among the failures only (the too-high and too-low panels), when
    any seed failed, preferring a failure with finite weights to draw; otherwise a
    seed that fit, when any did.
    """
    out = run["outcome"][i]
    pool = FAILURES if want_failure else ("fit",)
    if want_failure and np.any(np.isin(out, FAILURES[:-1])):
        pool = FAILURES[:-1]
    count, _, name = max((int(np.sum(out == name)), -k, name) for k, name in enumerate(pool))
    if count == 0:
        names, all_counts = np.unique(out, return_counts=True)
        name, count = str(names[np.argmax(all_counts)]), int(np.max(all_counts))
    return int(np.flatnonzero(out == name)[0]), name, count


def figure_regions(run, x, y, cfg):
    """The post's figure: decision regions for a good, a too-high and a too-low rate."""
    from matplotlib.figure import Figure

    from tinynet.demo import draw_regions, grid, predicted_classes

    fig = Figure(figsize=(11.0, 3.9), dpi=90, layout="constrained")
    axes = fig.subplots(1, 3)
    xx, yy, points = grid(x, n=150)
    s_n = run["outcome"].shape[1]
    for ax, rate, label in zip(axes, (GOOD, HIGH, LOW), ("good", "too high", "too low")):
        i = run["rates"].index(rate)
        s, common, count = representative(run, i, want_failure=rate != GOOD)
        model = copy_model(run, i * s_n + s)
        with np.errstate(all="ignore"):
            classes = predicted_classes(model, points)
        acc = run["final_val_accuracy"][i, s]
        acc_text = "" if not np.isfinite(acc) else f", val acc {acc:.2f}"
        fit = int(np.sum(run["success"][i]))
        draw_regions(ax, xx, yy, classes, x, y, 4,
                     title=f"lr = {rate:g} ({label}): seed {s}, {common}{acc_text}\n"
                           f"{fit}/{s_n} seeds fit; {count}/{s_n} end '{common}'")
    fig.suptitle(f"Dense(10, relu) x4 -> Dense(4, softmax), SGD, {cfg.epochs} epochs, raw inputs",
                 fontsize=10)
    return fig


def figure_curves(post, cfg):
    """Training loss and validation accuracy per post rate: median and quartile band over seeds."""
    from matplotlib.figure import Figure

    from tinynet.demo import COLORS

    fig = Figure(figsize=(11.0, 7.0), dpi=90, layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    epochs = np.arange(1, cfg.epochs + 1)
    for row, scaling in enumerate(SCALINGS):
        run = post[scaling]
        for col, key in enumerate(("loss", "val_accuracy")):
            ax = axes[row, col]
            for i, rate in enumerate(run["rates"]):
                curve = run["curves"][key][:, i, :]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    lo, mid, hi = np.nanpercentile(curve, [25, 50, 75], axis=1)
                ax.plot(epochs, mid, color=COLORS[i], label=f"lr {rate:g}")
                ax.fill_between(epochs, lo, hi, color=COLORS[i], alpha=0.2, linewidth=0)
            ax.set_title(f"{scaling} inputs: {'training loss' if key == 'loss' else key}",
                         fontsize=10)
            finite = run["curves"][key][np.isfinite(run["curves"][key])]
            if key == "loss" and finite.size and finite.max() > 10 * max(finite.min(), 1e-12):
                ax.set_yscale("log")
            else:
                ax.axhline(cfg.threshold, color="gray", linestyle=":", linewidth=1)
                ax.set_ylim(0, 1.02)
            ax.grid(True, alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    axes[0, 1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"median and 25-75% band over {cfg.seeds} seeds (diverged runs drop out)",
                 fontsize=10)
    return fig


def figure_success(runs, cfg):
    """Success rate (final validation accuracy > threshold) against the rate, log axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.2), dpi=90, layout="constrained")
    ax = fig.subplots()
    main = VARIANTS[0]
    for scaling, color in zip(SCALINGS, ("#1f77b4", "#d62728")):
        points = {}
        for kind in ("grid", "post"):
            run = runs[(scaling, kind, main)]
            for i, rate in enumerate(run["rates"]):
                points[rate] = (np.mean(run["success"][i]), run["success"].shape[1], kind)
        rates = sorted(points)
        ax.plot(rates, [points[r][0] for r in rates], color=color, linewidth=1.2,
                label=f"{scaling} inputs")
        post = [r for r in rates if points[r][2] == "post"]
        ax.plot(post, [points[r][0] for r in post], "o", color=color, markersize=7)
        grid_r = [r for r in rates if points[r][2] == "grid"]
        ax.plot(grid_r, [points[r][0] for r in grid_r], ".", color=color, markersize=6)
    for r in cfg.post_rates:
        ax.axvline(r, color="gray", linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"share of seeds with val acc > {cfg.threshold:g}")
    ax.set_title(f"big dots: the post's rates ({cfg.seeds} seeds); small: grid "
                 f"({cfg.grid_seeds} seeds); {cfg.epochs} epochs", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def figure_sharpness(post, cfg):
    """Sharpness during training against 2/lr, raw and standardised inputs."""
    from matplotlib.figure import Figure

    from tinynet.demo import COLORS

    fig = Figure(figsize=(11.0, 4.0), dpi=90, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, scaling in zip(axes, SCALINGS):
        run = post[scaling]
        tr = run["trace"]
        for i, rate in enumerate(run["rates"]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mid = np.nanmedian(tr["values"][:, i], axis=1)
            ax.plot(tr["epochs"], np.where(mid > 0, mid, np.nan), color=COLORS[i],
                    label=f"lr {rate:g}")
            ax.axhline(2.0 / rate, color=COLORS[i], linestyle="--", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{scaling} inputs: largest Hessian eigenvalue (median of "
                     f"{tr['seeds']} seeds); dashed: 2/lr", fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("sharpness")
    axes[0].legend(fontsize=8)
    return fig


CSV_FIELDS = ("scaling", "kind", "init", "activation", "learning_rate", "seed",
              "final_loss", "final_accuracy", "final_val_loss", "final_val_accuracy", "success",
              "outcome", "diverged", "diverged_epoch", "escape_epoch", "max_class_fraction",
              "peak_sharpness", "dead_fraction_end")


def results_csv(runs):
    """One row per trained copy."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for (scaling, kind, variant), run in runs.items():
        last = {k: np.where(np.isfinite(run["curves"][k]).any(axis=0),
                            _last_finite(run["curves"][k]), np.nan)
                for k in ("loss", "accuracy", "val_loss")}
        peak = np.full(run["outcome"].shape, np.nan)
        if run["trace"] is not None:
            peak[:, :run["trace"]["seeds"]] = run["trace"]["peak"]
        for i, rate in enumerate(run["rates"]):
            for s in range(run["outcome"].shape[1]):
                def num(v):
                    return "" if not np.isfinite(v) else f"{float(v):.6g}"
                w.writerow([scaling, kind, variant[0], variant[1], f"{rate:g}", s,
                            num(last["loss"][i, s]), num(last["accuracy"][i, s]),
                            num(last["val_loss"][i, s]), num(run["final_val_accuracy"][i, s]),
                            int(run["success"][i, s]), run["outcome"][i, s],
                            int(run["diverged"][i, s]),
                            int(run["diverged_epoch"][i, s]) if run["diverged"][i, s] else "",
                            num(run["escape_epoch"][i, s]), num(run["max_fraction"][i, s]),
                            num(peak[i, s]),
                            num(np.mean(run["dead_end"][i, s]))])
    return buf.getvalue()


def _last_finite(a):
    """a (E, R, S) -> the last finite value along E, (R, S)."""
    ok = np.isfinite(a)
    idx = a.shape[0] - 1 - np.argmax(ok[::-1], axis=0)
    return np.take_along_axis(a, idx[None], axis=0)[0]


# --- REPORT.md -----------------------------------------------------------------------
def _g(v, digits=3):
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) \
        else f"{v:.{digits}g}"


def _layers(values, digits=2):
    return " / ".join(_g(v, digits) for v in values)


def _share(values, digits=2):
    return " / ".join("n/a" if v is None else f"{v:.{digits}f}" for v in values)


def report(summary):
    """REPORT.md: the post's three questions answered with this run's numbers only."""
    cfg, data, diag = summary["config"], summary["data"], summary["diagnostics"]
    rows = {(r["scaling"], r["kind"], r["init"], r["activation"], r["learning_rate"]): r
            for r in summary["rates"]}
    main = VARIANTS[0]

    def row(scaling, rate, kind="post", variant=main):
        return rows[(scaling, kind, *variant, rate)]

    def key(scaling, variant):
        return f"{scaling}/{'/'.join(variant)}"

    e, upe, post_rates = cfg["epochs"], data["updates_per_epoch"], cfg["post_rates"]
    ini = {s: diag["init"][key(s, main)] for s in SCALINGS}
    pr = diag["post"]["raw"]
    esc = diag["escape"]
    t, env = summary["timing"], summary["environment"]
    lo, hi, good = f"{LOW:g}", f"{HIGH:g}", f"{GOOD:g}"
    text = [
        "# The 10x10x10x10x4 learning-rate experiment, measured",
        "",
        f"Every number below was computed by this run (tinynet {env['tinynet']}, backend "
        f"{env['backend']}, {env['dtype']}, {t['total_s']:.0f} s in all, {t['training_s']:.0f} s"
        " of it training). Figures: `regions.png` (the post's three panels), `curves.png`, "
        "`success.png`, `sharpness.png`; per-run numbers: `results.csv`, `results.json`.",
        "",
        "## Setup",
        "",
        f"- Data: {data['n_samples']} points in 4 Gaussian blobs (centres "
        f"{', '.join(f'({c[0]:g}, {c[1]:g})' for c in data['centers'])}, std "
        f"{data['cluster_std']:g}): raw inputs from {data['raw_min']:.1f} to "
        f"{data['raw_max']:.1f}, rms {data['raw_rms']:.1f}. Shuffled, then the last "
        f"{data['n_validation']} rows are the validation set (Keras's validation_split takes "
        "the tail); the standardised copy uses a StandardScaler fitted on the first "
        f"{data['n_train']} rows only.",
        "- Network and training as in the post: Dense(10, relu) x4 -> Dense(4, softmax), "
        "RandomNormal(0, 0.05) kernels, zero biases, SGD, categorical cross-entropy, batch "
        f"{cfg['batch_size']}, {e} epochs = {e * upe} updates per run.",
        f"- The post's rates with {_n(cfg['seeds'], 'seed')} each, and "
        f"{len(cfg['grid_rates'])} rates from {cfg['grid_rates'][0]:g} to "
        f"{cfg['grid_rates'][-1]:g} (log grid) with {_n(cfg['grid_seeds'], 'seed')}. A seed "
        "starts every rate from the same weights, so the differences come from the rate alone.",
        f"- Outcomes. *fit*: final validation accuracy above {cfg['threshold']:g}. *diverged*: "
        "the loss became NaN/inf, or grew past "
        f"{training.DIVERGENCE_FACTOR:g}x its best and above its loss at initialisation "
        "(the run is frozen there). "
        "*dead layer*: some hidden layer has no unit that fires on any training point, so the "
        f"output is constant. *one class*: one class gets >= {ONE_CLASS:.0%} of the validation "
        "predictions, with every layer alive. *partial*: anything else.",
        "",
        "## What happened",
        "",
        "| rate | inputs | fit | diverged | dead layer | one class | partial | median val acc |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rate in post_rates:
        for scaling in SCALINGS:
            r = row(scaling, rate)
            text.append(f"| {rate:g} | {scaling} | {r['fit']}/{r['seeds']} | {r['diverged']} | "
                        f"{r['dead_layer']} | {r['one_class']} | {r['partial']} | "
                        f"{_g(r['median_val_accuracy'], 2)} |")
    fits = {s: [r for r in post_rates if row(s, r)["success_rate"] >= 0.5] for s in SCALINGS}
    need = esc["raw"]["points_needed"]
    text += [
        "",
        "The post: 0.01, 0.1 and 0.4 fit, 0.5 fails, 0.001 fails differently; standardised, "
        "every rate above 0.1 fails. Here the post's rates that fit for at least half of the "
        f"seeds are: raw {_rates(fits['raw'])}; standardised {_rates(fits['standardised'])}. "
        "`success.png` shows the whole grid.",
        "",
        f"## Q1, too low ({lo}): a plateau, not a slow descent",
        "",
        f"- Initial loss: median {_g(ini['raw']['loss'], 5)} against ln 4 = "
        f"{ini['raw']['chance']:.5f}: the network starts as a uniform guess whose output "
        "ignores the input.",
        "- Why: each layer multiplies the signal by about 0.05 x sqrt(10/2) = 0.11. Activation "
        f"rms at init, input then layers 1-4 (median over seeds): {_g(ini['raw']['input_rms'])}"
        f" -> {_layers(ini['raw']['activation_rms'][:4])}. The chain rule makes each kernel's "
        "gradient a product of the other layers' small weights: ||dL/dW|| for layers 1-5 = "
        f"{_layers(ini['raw']['kernel_grad'])}, while the output bias, which multiplies "
        f"nothing, gets ||dL/db5|| = {_g(ini['raw']['bias_grad'][-1])}.",
        f"- After {e} epochs at {lo} (raw): {row('raw', LOW)['one_class']}/{cfg['seeds']} seeds "
        f"predict one class for >= {ONE_CLASS:.0%} of the points (median share of the largest "
        f"class {_g(pr[lo]['max_fraction'])}). Relative change of the kernels, layers 1-5: "
        f"{_layers(pr[lo]['kernel_relative'])}; change of the biases: "
        f"{_layers(pr[lo]['bias_change'])} (largest in layer "
        f"{_argmax1(pr[lo]['bias_change'])}). With the input's signal down to "
        f"{_g(ini['raw']['activation_rms'][3])} by layer 4 the output is almost the same for "
        "every point, so all a descent can fit on the plateau is the class frequencies, through "
        "the biases: the largest class for every point.",
        f"- Leaving the plateau costs a fixed amount of rate x time: median lr x (epochs to val "
        f"acc > {cfg['threshold']:g}) = {_g(esc['raw']['lr_times_epochs'])} "
        f"({esc['raw']['copies']} raw runs got there). Median epochs at the post's rates: "
        + ", ".join(f"{r:g}: {_g(row('raw', r)['median_escape_epoch'])} "
                    f"({row('raw', r)['escaped']}/{row('raw', r)['seeds']} got there)"
                    for r in post_rates)
        + f". So {lo} needs about {_g(_div(esc['raw']['lr_times_epochs'], LOW))} epochs of "
        f"{upe} updates. For 0.01 to fit in {e} epochs, as in the post, the data set needs "
        f"about {_g(need['0.01'])} points (more points, more updates per epoch); this run has "
        f"{data['n_samples']}" + (", so here 0.01 has too few updates to leave the plateau."
                                  if (need["0.01"] or 0) > data["n_samples"] else
                                  ", enough for 0.01 to leave the plateau in time."),
        "",
        f"## Q1, too high ({hi}): the curvature outgrows 2/lr",
        "",
        "- Outcomes (raw): " + "; ".join(
            f"{r:g}: {row('raw', r)['fit']} fit, {row('raw', r)['diverged']} diverged, "
            f"{row('raw', r)['dead_layer']} dead layer, {row('raw', r)['one_class']} one class, "
            f"{row('raw', r)['partial']} partial" for r in (0.4, HIGH)) + ".",
        "- The loss jumps instead of falling: largest batch loss over all updates / first "
        "batch loss, median over seeds: " + ", ".join(
            f"{r:g}: {_g(row('raw', r)['median_peak_ratio'], 3)}" for r in post_rates) + ".",
        f"- Sharpness (largest Hessian eigenvalue of the training loss) at init: median "
        f"{_g(ini['raw']['sharpness'])}, so 2/sharpness = "
        f"{_g(_div(2.0, ini['raw']['sharpness']))}: every rate is stable at the start. The "
        "curvature climbs while a run leaves the plateau (`sharpness.png`). Gradient descent "
        "on a quadratic is stable only while lr < 2/sharpness; beyond that each step lands "
        "farther from the valley floor than it started, on the other side. The bound is 20 "
        "at 0.1 but 4 at 0.5. Peak sharpness per run (first "
        f"{row('raw', GOOD)['traced']} seeds of each rate, checked every 2 epochs) against "
        "2/lr: " + "; ".join(
            f"{r:g}: median peak {_g(row('raw', r)['median_peak_sharpness'])} vs {2.0 / r:g}, "
            f"{row('raw', r)['crossed_2_over_lr']}/{row('raw', r)['traced']} went above it and "
            f"{row('raw', r)['crossed_and_fit']} of those still fit"
            for r in post_rates if r >= GOOD) + ". At the median peak one step multiplies the "
        "distance along the steepest direction by |1 - lr x sharpness| = " + ", ".join(
            f"{_g(_amplify(r, row('raw', r)['median_peak_sharpness']), 2)} at {r:g}"
            for r in post_rates if r >= GOOD) + ": a brief overshoot near the bound can settle "
        "again, a many-fold one throws the weights far away, and the next point shows what "
        "that does to the units.",
        f"- Dead ReLUs (units silent on every training point), layers 1-4, median over seeds, "
        f"raw: at init {_share(pr[hi]['dead_init'])}; after the first epoch at {hi}: "
        f"{_share(pr[hi]['dead_epoch1'])} (at {good}: {_share(pr[good]['dead_epoch1'])}); at the"
        f" end at {hi}: {_share(pr[hi]['dead_end'])} (at {good}: {_share(pr[good]['dead_end'])})"
        ". An overshooting step can push a layer's biases so far down that every unit goes "
        "silent; then the output is constant, every gradient below it is zero, and the run "
        "cannot recover.",
        "",
        "## Q2, standardised inputs",
        "",
        f"- Input rms {data['raw_rms']:.1f} (raw) against 1.0. At init the signal reaching layer "
        f"4 is {_g(ini['raw']['activation_rms'][3])} (raw) against "
        f"{_g(ini['standardised']['activation_rms'][3])}, and the first kernel's gradient "
        f"{_g(ini['raw']['kernel_grad'][0])} against {_g(ini['standardised']['kernel_grad'][0])}"
        ": with zero biases and small weights the network is nearly linear in its input, so "
        "everything it computes scales with the input.",
        f"- Leaving the plateau: lr x epochs = {_g(esc['standardised']['lr_times_epochs'])} "
        f"standardised ({esc['standardised']['copies']} runs got there) against "
        f"{_g(esc['raw']['lr_times_epochs'])} raw. Median epochs, standardised: " + ", ".join(
            f"{r:g}: {_g(row('standardised', r)['median_escape_epoch'])} "
            f"({row('standardised', r)['escaped']}/{row('standardised', r)['seeds']})"
            for r in post_rates) + f". At {good} in {e} epochs that would take about "
        f"{_g(esc['standardised']['points_needed'][good])} points.",
        f"- Curvature: sharpness at init {_g(ini['standardised']['sharpness'])} standardised "
        f"against {_g(ini['raw']['sharpness'])} raw; peak during training, standardised: "
        + "; ".join(f"{r:g}: {_g(row('standardised', r)['median_peak_sharpness'])} "
                    f"(2/lr = {2.0 / r:g}, {row('standardised', r)['crossed_2_over_lr']} crossed)"
                    for r in post_rates if r >= GOOD) + ".",
        "- Share of seeds that fit, raw / standardised: " + ", ".join(
            f"{r:g}: {row('raw', r)['success_rate']:.2f} / "
            f"{row('standardised', r)['success_rate']:.2f}" for r in post_rates)
        + ". Failures, standardised: " + ", ".join(
            f"{r:g}: {row('standardised', r)['dead_layer']} dead layer, "
            f"{row('standardised', r)['one_class']} one class" for r in post_rates)
        + ". Rescaling the inputs rescales the first layer's gradients and the speed at which "
        "the plateau is left, so the same nominal rate is a different step: the window of "
        "rates that fit moves with the input scale.",
        "",
        "## Q3, negative weights and inputs: dead units",
        "",
        "- Dead units per layer (1-4) on the training set at init, median over seeds: "
        + "; ".join(f"{s} {'/'.join(v)}: {_share(diag['init'][key(s, v)]['dead'])}"
                    for s in SCALINGS for v in VARIANTS) + ". "
        "A unit is dead only when its input is negative for every point. With weights and "
        "inputs of both signs each first-layer unit fires on part of the data, so negative "
        "weights or standardised inputs do not kill units by themselves; deeper units die "
        "when all their inputs push them below zero. (For LeakyReLU the same count means units "
        "in the negative part, which still pass back slope x gradient and can recover.)",
        "- After training, median per layer: " + "; ".join(
            f"{s} at {r:g}: {_share(diag['post'][s][f'{r:g}']['dead_end'])}"
            for s in SCALINGS for r in (GOOD, HIGH)) + ".",
        f"- Other initialisations and activations ({cfg['variant_seeds']} seeds, fit at "
        + ", ".join(f"{r:g}" for r in cfg["variant_rates"]) + "): " + "; ".join(
            f"{s} {'/'.join(v)}: " + ", ".join(
                f"{row(s, r, 'variant', v)['fit']}/{row(s, r, 'variant', v)['seeds']}"
                for r in cfg["variant_rates"]) for v in VARIANTS[1:] for s in SCALINGS)
        + f". Dead units at the end at {cfg['variant_rates'][-1]:g}, layers 1-4: " + "; ".join(
            f"{s} {'/'.join(v)}: "
            f"{_share(row(s, cfg['variant_rates'][-1], 'variant', v)['median_dead_end'])}"
            for v in VARIANTS[1:] for s in SCALINGS) + ".",
        "",
    ]
    return "\n".join(text)


def _amplify(rate, sharp):
    return None if sharp is None else abs(1.0 - rate * sharp)


def _argmax1(values):
    vals = [-math.inf if v is None else v for v in values]
    return int(np.argmax(vals)) + 1 if vals else "n/a"


def _n(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def _rates(rates):
    return ", ".join(f"{r:g}" for r in rates) if rates else "none"


def _div(a, b):
    return None if a is None or b is None or b == 0 else a / b


def _pct(v):
    return "n/a" if v is None else f"{v:.0%}"
