"""What each run's output does at the end, and the outcome read off those measurements.

Cross-entropy on probabilities clips as Keras does: p is clipped to
[CLIP, 1 - CLIP] and the gradient is zero wherever the clip is active. A point
whose true class gets p < CLIP therefore adds a constant -ln(CLIP) = 16.1 to
the loss and nothing to the gradient: the run cannot learn it from there.
"""

import numpy as np

from tinynet.apps.reproduce.setup import ONE_CLASS

CLIP = 1e-7  # Keras's epsilon, the clip of tinynet's default cross-entropy
AT_CLIP = 0.05  # a run is "stuck at the clip" when >= 5% of its training points are there
OUTCOMES = ("fit", "diverged", "dead layer", "stuck at the clip", "one class", "partial")


def output_measures(model, x, y):
    """Per copy (K,), on (x, y): how the softmax output ends.

    at_clip: share of points whose true-class probability is below CLIP (their
      loss gradient is exactly zero under the default clip);
    saturated: share of points whose largest probability is above 1 - CLIP;
    train_accuracy: share of points predicted right.
    """
    p = np.asarray(model.predict(x), dtype=np.float64)
    p = p if p.ndim == 3 else p[None]
    p = p / np.sum(p, axis=-1, keepdims=True)
    labels = np.asarray(y).astype(np.int64)
    true = np.take_along_axis(p, np.broadcast_to(labels[None, :, None], p.shape[:2] + (1,)),
                              axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):
        return {"at_clip": np.mean(true < CLIP, axis=-1),
                "saturated": np.mean(np.max(p, axis=-1) > 1.0 - CLIP, axis=-1),
                "train_accuracy": np.mean(np.argmax(p, axis=-1) == labels[None], axis=-1)}


def classify_runs(success, diverged, measured):
    """(R, S) outcome labels, the first rule that applies (OUTCOMES, in order).

    fit: final validation accuracy above the threshold (success). diverged: the
    loss became NaN/inf. dead layer: some hidden layer has no unit that fires on
    any training point (measured["dead_end"] (R, S, L) has a 1), so the output is
    constant. stuck at the clip: >= AT_CLIP of the training points have a
    true-class probability below CLIP (measured["at_clip"]). one class: one
    class gets >= ONE_CLASS of the validation predictions (measured["max_fraction"]).
    partial: the rest.
    """
    dead_layer = np.any(np.asarray(measured["dead_end"]) >= 1.0, axis=-1)
    at_clip = np.nan_to_num(measured["at_clip"], nan=0.0) >= AT_CLIP
    one_class = np.nan_to_num(measured["max_fraction"], nan=0.0) >= ONE_CLASS
    return np.select([success, diverged, dead_layer, at_clip, one_class],
                     list(OUTCOMES[:5]), default=OUTCOMES[5])
