"""results.csv of ``tinynet reproduce``: one row per trained copy."""

import csv
import io

import numpy as np

CSV_FIELDS = ("scaling", "kind", "init", "activation", "learning_rate", "seed",
              "final_loss", "final_accuracy", "final_val_loss", "final_val_accuracy", "success",
              "outcome", "diverged", "diverged_epoch", "escape_epoch", "max_class_fraction",
              "peak_sharpness", "dead_fraction_end", "death_epoch", "death_layer")


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
                            num(np.mean(run["dead_end"][i, s])),
                            num(run["death_epoch"][i, s]), num(run["death_layer"][i, s])])
    return buf.getvalue()


def _last_finite(a):
    """a (E, R, S) -> the last finite value along E, (R, S)."""
    ok = np.isfinite(a)
    idx = a.shape[0] - 1 - np.argmax(ok[::-1], axis=0)
    return np.take_along_axis(a, idx[None], axis=0)[0]
