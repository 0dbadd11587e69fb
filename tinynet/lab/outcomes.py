"""What became of each run, classified at the end of training from what was measured.

Training observes and does not intervene, so a run's outcome is read off its
record afterwards, never decided by a stopping rule while it trains.
"""

import numpy as np

from tinynet import _checks
from tinynet.metrics import infer_mode

OUTCOMES = ("fit", "non-finite", "grew", "not-fit")


def classify(record, metric=None, threshold=None, mode=None, fit_ratio=0.5):
    """Each copy's outcome, from its final values and what fit recorded.

    record: a History (from ``fit``; single or stacked) or a SweepResult (from
      ``tn.sweep``).
    The first rule that applies, per copy:
    - "non-finite": its loss became NaN or infinite (``diverged``); it was frozen
      or stopped there.
    - "fit": with ``metric`` and ``threshold``, its final ``metric`` beats the
      threshold (mode: "max" means above, "min" below, None infers it from the
      name as EarlyStopping does, e.g. metric="val_accuracy", threshold=0.9);
      without them, its final loss is at most ``fit_ratio`` (0.5) x its loss at
      initialisation (``initial_loss``; when that is unknown, the first
      recorded update's loss, or else the first epoch's).
    - "grew": not fit, and its loss grew past the growth factor x its best at
      some epoch (``grew``).
    - "not-fit": the rest: finite, never grew, and not fit (too small a rate,
      a plateau, one predicted class, ...).
    Returns a str for a single-model History, an array of str (K,) for a
    stacked one, (R, S) for a SweepResult.
    """
    owner = "outcomes.classify"
    if not (hasattr(record, "history") and hasattr(record, "diverged")):
        raise TypeError(f"{owner}: record must be a History or a SweepResult, got "
                        f"{type(record).__name__}.")
    if (metric is None) != (threshold is None):
        raise ValueError(f"{owner}: give metric and threshold together (e.g. "
                         "metric='val_accuracy', threshold=0.9), or neither.")
    fit_ratio = _checks.real(fit_ratio, "fit_ratio", owner, low=0.0, high=1.0, low_open=True)
    if threshold is not None:
        threshold = _checks.real(threshold, "threshold", owner)
    single = np.ndim(record.diverged) == 0
    diverged = np.asarray(record.diverged, dtype=bool)
    grew = np.asarray(getattr(record, "grew", np.zeros_like(diverged)), dtype=bool)
    if metric is None:
        final = _final(record, "loss", owner)
        initial = np.asarray(getattr(record, "initial_loss", None), dtype=np.float64)
        if initial.ndim == 0 and np.isnan(initial) or np.all(np.isnan(initial)):
            initial = _first_step_loss(record, final.shape)
        with np.errstate(invalid="ignore"):
            fit = np.isfinite(final) & (final <= fit_ratio * initial)
    else:
        mode = infer_mode(metric) if mode is None else mode
        if mode not in ("min", "max"):
            raise ValueError(f"{owner}: mode must be 'min', 'max' or None, got {mode!r}.")
        final = _final(record, metric, owner)
        with np.errstate(invalid="ignore"):
            beats = final > threshold if mode == "max" else final < threshold
        fit = np.isfinite(final) & beats
    labels = np.where(diverged, "non-finite",
                      np.where(fit, "fit", np.where(grew, "grew", "not-fit")))
    return str(labels.reshape(-1)[0]) if single else labels


def _final(record, name, owner):
    history = record.history
    if name not in history:
        raise ValueError(f"{owner}: {name!r} was not logged. Choose one of: "
                         f"{', '.join(history)}.")
    values = history[name]
    last = values[-1] if len(values) else np.nan
    return np.asarray(last, dtype=np.float64)


def _first_step_loss(record, shape):
    steps = getattr(record, "steps", {}).get("loss")
    if steps is None or len(steps) == 0:
        steps = record.history.get("loss", [])
    if len(steps) == 0:
        return np.full(shape, np.nan)
    return np.asarray(steps[0], dtype=np.float64).reshape(shape)
