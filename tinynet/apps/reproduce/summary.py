"""The summary numbers of a reproduce run: per-rate counts, medians and diagnoses.

Everything REPORT.md and results.json say is computed here from the runs.
"""

import math
import warnings
from dataclasses import asdict

import numpy as np

import tinynet as tn
from tinynet.apps.reproduce.setup import CENTERS, CLUSTER_STD, POST_VARIANT, SCALINGS
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


def _counts(out, fit):
    """Outcome counts of one rate's runs, with the Wilson interval of the fits."""
    n, k_fit = len(out), int(np.sum(out == "fit"))
    return {"seeds": n, "success_rate": float(np.mean(fit)),
            "fit": k_fit, "fit_ci": list(wilson_interval(k_fit, n)),
            "one_class": int(np.sum(out == "one class")),
            "dead_layer": int(np.sum(out == "dead layer")),
            "at_clip": int(np.sum(out == "stuck at the clip")),
            "diverged": int(np.sum(out == "diverged")), "partial": int(np.sum(out == "partial"))}


def _failure_timing(run, i):
    """How the failed runs at rate index i failed: died before fitting, or fitted then lost it.

    died_before_fit: a whole hidden layer died at or before the first epoch the
    run fitted (or it never fitted); fitted_then_lost: it fitted (validation
    accuracy above the threshold at some epoch) and lost it by the end, before
    any layer died; never_fit_alive: neither (no dead layer, never fitted).
    """
    failed = ~run["success"][i]
    escape = run["escape_epoch"][i]
    death, layer = run["death_epoch"][i], run["death_layer"][i]
    died = np.isfinite(death)
    before = died & ~(escape < death)
    fitted = np.isfinite(escape)
    lost = failed & fitted & ~before
    dead_failed = failed & died
    return {
        "died_before_fit": int(np.sum(failed & before)),
        "fitted_then_lost": int(np.sum(lost)),
        "fitted_then_lost_then_died": int(np.sum(lost & died)),
        "never_fit_alive": int(np.sum(failed & ~fitted & ~died)),
        "median_death_epoch": _f(_med(death[dead_failed])) if np.any(dead_failed) else None,
        "max_death_epoch": _f(np.max(death[dead_failed])) if np.any(dead_failed) else None,
        "death_layers": [int(np.sum(layer[dead_failed] == j)) for j in range(1, 5)],
        # the same, of the runs that died before fitting (what the timing sentence is about)
        "death_layers_before_fit": [int(np.sum(layer[failed & before] == j))
                                    for j in range(1, 5)],
        "median_death_epoch_before_fit": _f(_med(death[failed & before]))
        if np.any(failed & before) else None,
        "median_fit_epoch_of_lost": _f(_med(escape[lost])) if np.any(lost) else None,
        "median_val_acc_at_death": _val_acc_at(run, i, death, failed & before),
    }


def _val_acc_at(run, i, epochs, mask):
    """Median validation accuracy of the runs in mask at their epoch in epochs (1 = the first)."""
    if not np.any(mask):
        return None
    val = run["curves"]["val_accuracy"][:, i]  # (E, S)
    seeds = np.flatnonzero(mask)
    at = np.clip(epochs[seeds].astype(int) - 1, 0, val.shape[0] - 1)
    return _f(_med(val[at, seeds]))


def _output_shape(run, i):
    """How much the output depends on the input, and how close it is to the class shares."""
    spread, gap = run["output_spread"][i], run["share_gap"][i]
    return {"median_output_spread": _f(_med(spread)), "max_output_spread": _f(np.nanmax(spread)),
            "max_share_gap": _f(np.nanmax(gap))}


def _overshoot_counts(run, i):
    """Steps that land past their line's minimum (t_min < 1), before and after each run fitted.

    From run["overshoot"] (records.OvershootRecord): "before_fit" counts the
    measurements taken before the run first fitted (all of a run that never
    did), "after_fit" the others, "before_death" those of the runs that lost a
    layer before fitting, taken before the check that found it dead. Each is
    [overshooting steps, measured steps, median 1 / t_min].
    """
    found = run.get("overshoot")
    if found is None:
        return {}
    at = np.asarray(found["epochs"], dtype=np.float64)[:, None]  # (C, 1)
    t_min, ratio = found["t_min"][:, i], found["ratio"][:, i]  # (C, S)
    escape, death = run["escape_epoch"][i][None], run["death_epoch"][i][None]
    defined = np.isfinite(t_min)
    before_fit = ~(at >= escape)  # a NaN escape (never fitted) compares False
    died_first = np.isfinite(death) & ~(escape < death)

    def count(mask):
        pick = defined & mask
        return [int(np.sum(pick & (t_min < 1.0))), int(np.sum(pick)),
                _f(_med(ratio[pick])) if np.any(pick) else None]

    return {"overshoot_before_fit": count(before_fit), "overshoot_after_fit": count(~before_fit),
            "overshoot_before_death": count(died_first & (at < death)),
            "overshoot_at_init": count(at == 0)}


OVERSHOOT_PHASES = ((0, 1), (1, 10), (10, 50), (50, None))  # epochs, start <= e < stop


def overshoot_phases(run):
    """tn.diagnostics.overshoot_summary of a run's measured steps, per rate and phase.

    Each check of records.OvershootRecord becomes one stacked measurement (every
    copy's step at its own rate); the phases are OVERSHOOT_PHASES (epochs).
    Returns JSON-ready lists (P, R) under "overshoots", "measured", "climbs",
    "median_ratio", with "rates" and "phases".
    """
    found = run["overshoot"]
    rates = np.repeat(np.asarray(run["rates"], dtype=np.float64), found["t_min"].shape[2])
    measurements = []
    for c in range(found["t_min"].shape[0]):
        t_min = found["t_min"][c].reshape(-1)
        measurements.append({"t_min": t_min, "ratio": found["ratio"][c].reshape(-1),
                             "overshoots": np.nan_to_num(t_min, nan=2.0) < 1.0,
                             "climbs": found["climbs"][c].reshape(-1), "learning_rate": rates})
    summary = tn.diagnostics.overshoot_summary(measurements, found["epochs"],
                                               list(OVERSHOOT_PHASES))
    return {"rates": _list(summary["rates"]), "phases": [list(p) for p in summary["phases"]],
            "points": int(found["points"]),
            **{key: np.asarray(summary[key]).tolist() for key in ("overshoots", "measured",
                                                                  "climbs")},
            "median_ratio": [_list(row) for row in summary["median_ratio"]]}


def _revival(run, i):
    """Runs with no dead layer at the end in which some layer ends with fewer dead units than
    it started with: a dead unit came back (the layers below it changed what it receives)."""
    start, end = run["dead_init"][i], run["dead_end"][i]  # (S, L)
    whole = np.any(end >= 1.0, axis=-1)
    fewer = np.any(end < start - 1e-9, axis=-1)
    return {"revived_runs": int(np.sum(fewer & ~whole)), "runs_without_dead_layer":
            int(np.sum(~whole)), "dead_at_init_runs": int(np.sum(np.any(start > 0, axis=-1)))}


def _fit_at(run, i, epochs, threshold):
    """Runs at rate index i that fit after `epochs` epochs (read off the validation curve)."""
    val = run["curves"]["val_accuracy"]
    e = min(epochs, val.shape[0])
    return int(np.sum(np.nan_to_num(val[e - 1, i], nan=0.0) > threshold))


def _trace_counts(trace, i, rate, out, fit):
    peak = trace["peak"][i]
    t_fit = fit[:trace["seeds"]]
    crossed = np.nan_to_num(peak, nan=0.0) > 2.0 / rate
    errors = trace["errors"][:, i]
    return {
        "traced": int(trace["seeds"]), "median_peak_sharpness": _f(_med(peak)),
        "peaks": _list(peak),
        "peak_errors": _list(np.nanmax(np.where(np.isfinite(errors), errors, np.nan), axis=0))
        if np.any(np.isfinite(errors)) else [None] * trace["seeds"],
        "peak_outcomes": [str(o) for o in out[:trace["seeds"]]],
        "crossed_2_over_lr": int(np.sum(crossed)),
        "crossed_and_fit": int(np.sum(crossed & t_fit)),
        "crossed_and_failed": int(np.sum(crossed & ~t_fit)),
        "below_and_fit": int(np.sum(~crossed & t_fit)),
        "below_and_failed": int(np.sum(~crossed & ~t_fit)),
    }


def rate_rows(scaling, kind, run, cfg):
    """One summary dict per rate of a run. Counts come with their Wilson 95% interval."""
    rows = []
    for i, rate in enumerate(run["rates"]):
        out, fit = run["outcome"][i], run["success"][i]
        partial, failed = out == "partial", ~fit
        hidden = np.asarray(run["dead_end"][i], dtype=np.float64)[:, 1:]  # layers 2-4
        row = {
            "scaling": scaling, "kind": kind, "init": run["variant"][0],
            "activation": run["variant"][1], "learning_rate": float(rate),
            "epochs": int(run["epochs"]), **_counts(out, fit),
            "fit_at_post_budget": _fit_at(run, i, cfg.epochs, cfg.threshold),
            # every run counted, a NaN (diverged) one as the worst
            "median_val_accuracy": _f(run_quartiles(run["final_val_accuracy"][i], "max")[1]),
            "median_train_accuracy": _f(_med(run["train_accuracy"][i])),
            "partial_train_accuracy": [_f(np.min(run["train_accuracy"][i][partial])),
                                       _f(np.max(run["train_accuracy"][i][partial]))]
            if np.any(partial) else None,
            "escaped": int(np.sum(np.isfinite(run["escape_epoch"][i]))),
            "median_escape_epoch": _f(_med(run["escape_epoch"][i])),
            "median_peak_ratio": _f(_med(run["peak_ratio"][i])),
            "median_dead_end": _list(_med(run["dead_end"][i], axis=0)),
            "median_shift_ratio": _list(_med(run["shift_ratio"][i], axis=0)),
            "dead_2to4_fit": _f(_med(np.mean(hidden[fit], axis=1))) if np.any(fit) else None,
            "dead_2to4_failed": _f(_med(np.mean(hidden[failed], axis=1)))
            if np.any(failed) else None,
            **_failure_timing(run, i), **_output_shape(run, i), **_revival(run, i),
            **_overshoot_counts(run, i),
        }
        if run["trace"] is not None:
            row.update(_trace_counts(run["trace"], i, rate, out, fit))
        rows.append(row)
    return rows


def escape_constant(run_list):
    """(median of lr x (epochs to val accuracy > threshold) over the copies that got
    there, how many got there, how many copies there were).

    On the plateau the weights grow like exp(c * lr * t), so the time to leave it
    is ~ const / lr; the median of lr x escape epoch estimates that constant. It
    can only be measured on the copies that left, so their count goes with it.
    """
    values, total = [], 0
    for run in run_list:
        for i, rate in enumerate(run["rates"]):
            e = run["escape_epoch"][i]
            values.extend((rate * e[np.isfinite(e)]).tolist())
            total += e.size
    return _med(values), len(values), total


def _init_summary(d, trace):
    """At init: loss, signal and gradient per layer, dead units; sharpness from the trace."""
    n = d["norms"]
    sharp = None if trace is None else trace["values"][0].reshape(-1)
    error = None if trace is None else trace["errors"][0].reshape(-1)
    return {
        "loss": _f(_med(d["loss"]["loss"])), "chance": d["loss"]["chance"],
        "input_rms": n["input_rms"],
        "activation_rms": _list(_med(n["activation_rms"], axis=0)),
        "kernel_grad": _list(_med(n["kernel_grad"], axis=0)),
        "bias_grad": _list(_med(n["bias_grad"], axis=0)),
        "dead": _list(_med(d["dead"]["dead"], axis=0)),
        "sharpness": None if sharp is None else _f(_med(sharp)),
        "sharpness_error": _f(np.nanmax(error))
        if error is not None and np.any(np.isfinite(error)) else None,
    }


def _escape_summary(cfg, runs, scaling, upe):
    """lr x epochs to leave the plateau, and the updates the slow rates need at that pace."""
    main = POST_VARIANT
    found = [runs[(scaling, kind, main)] for kind in ("post", "grid", "horizon")
             if (scaling, kind, main) in runs]
    c, count, total = escape_constant(found)
    return {"lr_times_epochs": _f(c), "copies": count, "runs": total,
            "updates_needed": {f"{r:g}": _f(c / r * upe) if count else None
                               for r in cfg.post_rates}}


def _post_per_rate(post):
    out = {}
    for i, rate in enumerate(post["rates"]):
        epoch1 = list(post["check_epochs"]).index(1) if 1 in post["check_epochs"] else 0
        out[f"{rate:g}"] = {
            "dead_init": _list(_med(post["dead_init"][i], axis=0)),
            "dead_epoch1": _list(_med(post["dead_checks"][epoch1, i], axis=0)),
            "dead_end": _list(_med(post["dead_end"][i], axis=0)),
            "kernel_relative": _list(_med(post["kernel_relative"][i], axis=0)),
            "bias_change": _list(_med(post["bias_change"][i], axis=0)),
            "max_fraction": _f(_med(post["max_fraction"][i])),
        }
    return out


def _trace_summary(post):
    tr = post["trace"]
    v0, e0 = tr["values"][0], tr["errors"][0]  # (R, seeds): epoch 0, same weights per seed
    return {
        "epoch0_spread": _f(np.nanmax(np.ptp(v0, axis=0))) if np.all(np.isfinite(v0)) else None,
        "epoch0_error": _f(np.nanmax(e0)) if np.any(np.isfinite(e0)) else None,
        "max_error": _f(np.nanmax(tr["errors"])) if np.any(np.isfinite(tr["errors"])) else None}


def summarise(cfg, data, y, n_train, runs, inits):
    """Every number the report uses, as a JSON-ready dict."""
    rows = []
    for (scaling, kind, _), run in runs.items():
        rows.extend(rate_rows(scaling, kind, run, cfg))
    raw = data["raw"]
    upe = int(math.ceil(n_train / cfg.batch_size))
    def trace_of(scaling, variant):
        run = runs.get((scaling, "post", variant))
        return None if run is None else run["trace"]

    diag = {"init": {f"{s}/{'/'.join(v)}": _init_summary(d, trace_of(s, v))
                     for (s, v), d in inits.items()},
            "escape": {}, "post": {}, "trace": {}}
    for scaling in SCALINGS:
        post = runs[(scaling, "post", POST_VARIANT)]
        diag["escape"][scaling] = _escape_summary(cfg, runs, scaling, upe)
        diag["post"][scaling] = _post_per_rate(post)
        diag["trace"][scaling] = _trace_summary(post)
        if post.get("overshoot") is not None:
            diag.setdefault("overshoot", {})[scaling] = overshoot_phases(post)
    shares = np.bincount(np.asarray(y[:n_train]).astype(np.int64), minlength=4) / n_train
    return {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "data": {"centers": [list(c) for c in CENTERS], "cluster_std": CLUSTER_STD,
                 "n_samples": cfg.n_samples, "n_train": n_train,
                 "n_validation": cfg.n_samples - n_train,
                 "raw_min": float(raw.min()), "raw_max": float(raw.max()),
                 "raw_rms": float(np.sqrt(np.mean(raw[:n_train] ** 2))),
                 "raw_std": _list(np.std(raw[:n_train], axis=0)),
                 "raw_mean": _list(np.mean(raw[:n_train], axis=0)),
                 "class_shares": _list(shares), "updates_per_epoch": upe},
        "environment": {"tinynet": tn.__version__, "backend": tn.get_backend(),
                        "dtype": tn.get_dtype()},
        "rates": rows, "diagnostics": diag,
    }
