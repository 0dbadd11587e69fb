"""The summary numbers of a reproduce run: per-rate counts, medians and diagnoses.

Everything REPORT.md and results.json say is computed here from the runs.
"""

import math
import warnings
from dataclasses import asdict

import numpy as np

import tinynet as tn
from tinynet.apps.reproduce.setup import CENTERS, CLUSTER_STD, GOOD, SCALINGS, VARIANTS
from tinynet.metrics import run_quartiles, wilson_interval


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
    """One summary dict per rate of a run. Counts come with their Wilson 95% interval."""
    rows = []
    trace = run["trace"]
    for i, rate in enumerate(run["rates"]):
        out = run["outcome"][i]
        fit = run["success"][i]
        n = len(out)
        k_fit = int(np.sum(out == "fit"))
        partial = out == "partial"
        failed = ~fit
        hidden = np.asarray(run["dead_end"][i], dtype=np.float64)[:, 1:]  # layers 2-4
        row = {
            "scaling": scaling, "kind": kind, "init": run["variant"][0],
            "activation": run["variant"][1], "learning_rate": float(rate), "seeds": n,
            "success_rate": float(np.mean(fit)),
            "fit": k_fit, "fit_ci": list(wilson_interval(k_fit, n)),
            "one_class": int(np.sum(out == "one class")),
            "dead_layer": int(np.sum(out == "dead layer")),
            "at_clip": int(np.sum(out == "stuck at the clip")),
            "diverged": int(np.sum(out == "diverged")), "partial": int(np.sum(partial)),
            # every run counted, a NaN (diverged) one as the worst
            "median_val_accuracy": _f(run_quartiles(run["final_val_accuracy"][i], "max")[1]),
            "median_train_accuracy": _f(_med(run["train_accuracy"][i])),
            "partial_train_accuracy": [_f(np.min(run["train_accuracy"][i][partial])),
                                       _f(np.max(run["train_accuracy"][i][partial]))]
            if np.any(partial) else None,
            "escaped": int(np.sum(np.isfinite(run["escape_epoch"][i]))),
            "median_escape_epoch": _f(_med(run["escape_epoch"][i])),
            "median_sign_changes": _f(_med(run["sign_changes"][i])),
            "median_increases": _f(_med(run["increases"][i])),
            "median_peak_ratio": _f(_med(run["peak_ratio"][i])),
            "median_dead_end": _list(_med(run["dead_end"][i], axis=0)),
            "dead_2to4_fit": _f(_med(np.mean(hidden[fit], axis=1))) if np.any(fit) else None,
            "dead_2to4_failed": _f(_med(np.mean(hidden[failed], axis=1)))
            if np.any(failed) else None,
            "max_at_clip_fit": _f(np.max(run["at_clip"][i][fit])) if np.any(fit) else None,
        }
        if trace is not None:
            peak = trace["peak"][i]
            t_fit = fit[:trace["seeds"]]
            crossed = np.nan_to_num(peak, nan=0.0) > 2.0 / rate
            row.update({
                "traced": int(trace["seeds"]), "median_peak_sharpness": _f(_med(peak)),
                "peaks": _list(peak), "peak_errors": _list(np.nanmax(
                    np.where(np.isfinite(trace["errors"][:, i]), trace["errors"][:, i], np.nan),
                    axis=0)) if np.any(np.isfinite(trace["errors"][:, i])) else
                [None] * trace["seeds"],
                "peak_outcomes": [str(o) for o in out[:trace["seeds"]]],
                "crossed_2_over_lr": int(np.sum(crossed)),
                "crossed_and_fit": int(np.sum(crossed & t_fit)),
                "crossed_and_failed": int(np.sum(crossed & ~t_fit)),
                "below_and_fit": int(np.sum(~crossed & t_fit)),
                "below_and_failed": int(np.sum(~crossed & ~t_fit)),
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
            "sharpness_range": [_f(np.nanmin(d["sharpness"])), _f(np.nanmax(d["sharpness"]))]
            if np.any(np.isfinite(d["sharpness"])) else [None, None],
            "sharpness_error": _f(np.nanmax(d["sharpness_error"]))
            if np.any(np.isfinite(d["sharpness_error"])) else None,
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
        v0, e0 = tr["values"][0], tr["errors"][0]  # (R, seeds): epoch 0, same weights per seed
        diag["trace"][scaling] = {
            "epoch0_spread": _f(np.nanmax(np.ptp(v0, axis=0))) if np.all(np.isfinite(v0))
            else None,
            "epoch0_error": _f(np.nanmax(e0)) if np.any(np.isfinite(e0)) else None,
            "epoch0": _list(v0[0]),
            "max_error": _f(np.nanmax(tr["errors"])) if np.any(np.isfinite(tr["errors"]))
            else None,
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


def _div(a, b):
    return None if a is None or b is None or b == 0 else a / b
