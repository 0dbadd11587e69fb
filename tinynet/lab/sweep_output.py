"""A SweepResult written out: the printed table, the CSV files, the JSON-ready dict.

``SweepResult.to_table``, ``to_csv``, ``to_dict`` and ``from_dict`` call these;
NaN becomes "-" in the table, an empty cell in a CSV and None in the dict.
"""

import csv
import io
import math
import os
import reprlib

import numpy as np

from tinynet import _files, saving

_HIDDEN = ("success_means", "seeds", "success_lo", "success_hi", "diverged_lo", "diverged_hi",
           "grew_lo", "grew_hi")


def table(result, metric=None, threshold=None):
    """One line per rate: ``result.summary`` with each count's Wilson interval in brackets."""
    rows = result.summary(metric, threshold)
    keys = [k for k in rows[0] if k not in _HIDDEN]
    heads = {"learning_rate": "lr", "median_loss": "median loss", "iqr_loss": "IQR loss",
             "success": f"success ({rows[0]['success_means']}) [95% CI]",
             "diverged": f"non-finite (of {result.n_seeds}) [95% CI]",
             "grew": f"grew (of {result.n_seeds}) [95% CI]"}
    names = [heads.get(k, k.replace("median_", "median ")) for k in keys]
    cells = [[_cell(row[k], k, row) for k in keys] for row in rows]
    widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
    lines = ["  ".join(n.rjust(w) for n, w in zip(names, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(cell, widths)) for cell in cells]
    return "\n".join(lines)


def write_csv(result, path, metric=None, threshold=None, per="rate"):
    """The rows of ``per`` ("rate": the summary; "copy": one per copy), written atomically."""
    path = saving.checked_path(path, "SweepResult.to_csv")
    if per == "rate":
        rows = result.summary(metric, threshold)
    elif per == "copy":
        rows = _copy_rows(result)
    else:
        raise ValueError(f"SweepResult.to_csv: per must be 'rate' or 'copy', got {per!r}.")
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    _files.write_text(path, text.getvalue())
    return os.fspath(path)


def _copy_rows(result):
    outcomes = result.outcomes()
    return [{"learning_rate": rate, "seed": seed,
             **{f"final_{k}": float(v[-1, r, s]) for k, v in result.history.items()},
             "diverged": bool(result.diverged[r, s]),
             "diverged_epoch": int(result.diverged_epoch[r, s]),
             "grew": bool(result.grew[r, s]), "grew_epoch": int(result.grew_epoch[r, s]),
             "stopped_epoch": int(result.stopped_epoch[r, s]),
             "failed": bool(result.failed[r, s]),
             "initial_loss": float(result.initial_loss[r, s]),
             "outcome": str(outcomes[r, s])}
            for r, rate in enumerate(result.learning_rates.tolist())
            for s, seed in enumerate(result.seeds)]


def as_dict(result):
    """Everything as JSON-serialisable lists and numbers; NaN and inf become None."""
    return {
        "learning_rates": result.learning_rates.tolist(),
        "seeds": list(result.seeds),
        "epochs_run": result.epochs_run,
        "history": {k: _json(v) for k, v in result.history.items()},
        "diverged": result.diverged.tolist(),
        "diverged_epoch": result.diverged_epoch.tolist(),
        "grew": result.grew.tolist(),
        "grew_epoch": result.grew_epoch.tolist(),
        "stopped_epoch": result.stopped_epoch.tolist(),
        "failed": result.failed.tolist(),
        "initial_loss": _json(result.initial_loss),
        "steps": {k: _json(v) for k, v in result.steps.items()},
        "config": result.config,
    }


_REQUIRED = ("learning_rates", "seeds", "history")
_GRIDS = ("diverged", "diverged_epoch", "grew", "grew_epoch", "stopped_epoch", "failed",
          "initial_loss")


def arguments_from_dict(data):
    """SweepResult's constructor arguments from ``as_dict``'s dict (None read as NaN).

    The dict may come from a file, so its structure is checked first: a dict
    with the required keys, lists where ``as_dict`` writes lists and dicts of
    them where it writes dicts; each error names the key. The constructor then
    checks the values and the shapes, (R, S) = (len(learning_rates), len(seeds)).
    """
    owner = "SweepResult.from_dict"
    if not isinstance(data, dict):
        raise TypeError(f"{owner}: data must be a dict as SweepResult.to_dict returns it, "
                        f"got {type(data).__name__} {reprlib.repr(data)}.")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ValueError(f"{owner}: data has no {', '.join(map(repr, missing))}; a dict from "
                         f"to_dict has {', '.join(_REQUIRED)} and more, this one has the keys "
                         f"{reprlib.repr(list(data))}.")
    for key in ("learning_rates", "seeds", *_GRIDS):
        if key in _REQUIRED or data.get(key) is not None:
            _listed(data[key], f"data[{key!r}]", owner)
    for key in ("history", "steps"):
        named = data.get(key)
        if named is None and key == "steps":
            continue  # optional, as the arrays above
        if not isinstance(named, dict):
            raise TypeError(f"{owner}: data[{key!r}] must be a dict name -> nested list, got "
                            f"{type(named).__name__} {reprlib.repr(named)}.")
        for name, values in named.items():
            if not isinstance(name, str):
                raise TypeError(f"{owner}: the names in data[{key!r}] must be strings, got "
                                f"{name!r}.")
            _listed(values, f"data[{key!r}][{name!r}]", owner)
    return dict(learning_rates=data["learning_rates"], seeds=data["seeds"],
                history=data["history"], steps=data.get("steps"), config=data.get("config"),
                **{key: data.get(key) for key in _GRIDS})


def _listed(value, name, owner):
    """TypeError unless ``value`` is a list (a tuple or NumPy array will do), as as_dict writes."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"{owner}: {name} must be a list, got {type(value).__name__} "
                        f"{reprlib.repr(value)}.")


def _cell(value, key, row=None):
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if key == "learning_rate":
        return f"{value:.3g}"
    if key == "success":
        return f"{value:.0%} [{row['success_lo']:.0%}, {row['success_hi']:.0%}]"
    if key in ("diverged", "grew") and row is not None:
        return f"{value} [{row[key + '_lo']:.0%}, {row[key + '_hi']:.0%}]"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _csv_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _json(values):
    values = np.asarray(values, dtype=np.float64)
    out = np.where(np.isfinite(values), values, 0.0).tolist()

    def fill(out, ok):
        if isinstance(out, list):
            return [fill(o, k) for o, k in zip(out, ok)]
        return out if ok else None

    return fill(out, np.isfinite(values).tolist())
