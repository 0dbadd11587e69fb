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
    train_accuracy: share of points predicted right;
    output_spread: max over classes of the std over points of p_c (how much the
      output depends on the input; a constant output has 0);
    share_gap: max over classes of |mean_n p_nc - share_c|, share_c the class
      shares of y (0 when the mean output is the class frequencies).
    """
    p = np.asarray(model.predict(x), dtype=np.float64)
    p = p if p.ndim == 3 else p[None]
    p = p / np.sum(p, axis=-1, keepdims=True)
    labels = np.asarray(y).astype(np.int64)
    true = np.take_along_axis(p, np.broadcast_to(labels[None, :, None], p.shape[:2] + (1,)),
                              axis=-1)[..., 0]
    shares = np.bincount(labels, minlength=p.shape[-1]) / labels.size
    with np.errstate(invalid="ignore"):
        return {"at_clip": np.mean(true < CLIP, axis=-1),
                "saturated": np.mean(np.max(p, axis=-1) > 1.0 - CLIP, axis=-1),
                "train_accuracy": np.mean(np.argmax(p, axis=-1) == labels[None], axis=-1),
                "output_spread": np.max(np.std(p, axis=-2), axis=-1),
                "share_gap": np.max(np.abs(np.mean(p, axis=-2) - shares), axis=-1)}


def classify_runs(success, diverged, measured, can_die=True):
    """(R, S) outcome labels, the first rule that applies (OUTCOMES, in order).

    fit: final validation accuracy above the threshold (success). diverged: the
    loss became NaN/inf. dead layer: some hidden layer has no unit that fires on
    any training point (measured["dead_end"] (R, S, L) has a 1), so the output is
    constant. stuck at the clip: >= AT_CLIP of the training points have a
    true-class probability below CLIP (measured["at_clip"]). one class: one
    class gets >= ONE_CLASS of the validation predictions (measured["max_fraction"]).
    partial: the rest. can_die=False (LeakyReLU: a unit below zero still passes
    back slope x gradient) skips the dead-layer rule.
    """
    dead_layer = np.any(np.asarray(measured["dead_end"]) >= 1.0, axis=-1) & can_die
    at_clip = np.nan_to_num(measured["at_clip"], nan=0.0) >= AT_CLIP
    one_class = np.nan_to_num(measured["max_fraction"], nan=0.0) >= ONE_CLASS
    return np.select([success, diverged, dead_layer, at_clip, one_class],
                     list(OUTCOMES[:5]), default=OUTCOMES[5])


def death_timing(dead, at_epochs, escape_epoch):
    """When and where each copy first had a whole hidden layer dead.

    dead (C, K, L): share of dead units per layer at epochs at_epochs (C,);
    escape_epoch (K,): first epoch with validation accuracy above the
    threshold (NaN: never). A layer is dead when every unit is (share 1): it
    then passes back no gradient and gives every point the same output, so it
    stays dead. Returns {"epoch": (K,) the first checked epoch with a dead layer
    (NaN: none; the layer died after the check before it), "layer": (K,) the
    lowest dead layer then, 1-based (NaN: none), "before_fit": (K,) bool, died
    at or before the first epoch it fitted (or it never fitted)}.
    """
    whole = np.asarray(dead) >= 1.0  # (C, K, L)
    any_layer = whole.any(axis=-1)  # (C, K)
    ever = any_layer.any(axis=0)
    first = np.argmax(any_layer, axis=0)
    epoch = np.where(ever, np.asarray(at_epochs, dtype=np.float64)[first], np.nan)
    layer_at = whole[first, np.arange(whole.shape[1])]  # (K, L)
    layer = np.where(ever, np.argmax(layer_at, axis=-1) + 1.0, np.nan)
    escape = np.asarray(escape_epoch, dtype=np.float64)
    before = ever & ~(escape < epoch)  # NaN escape compares False: never fitted
    return {"epoch": epoch, "layer": layer, "before_fit": before}


def hidden_pre_activations(weights, x, activation="relu"):
    """z_l = a_(l-1) @ W_l + b_l of each hidden layer, for copies of the post's network.

    weights: get_weights() of a stacked model, [W1 (K, in, out), b1 (K, out), ...,
    the output layer last]; x (N, in). a_0 = x, a_l = relu(z_l) (or LeakyReLU
    with the slope of "leaky_relu:SLOPE"). Returns [z_1, ..., z_L], each (K, N, out).
    """
    slope = float(activation.split(":")[1]) if activation.startswith("leaky_relu:") else 0.0
    a = np.asarray(x, dtype=np.float64)[None]
    out = []
    for W, b in zip(weights[0:-2:2], weights[1:-2:2]):
        z = a @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)[:, None, :]
        out.append(z)
        a = np.where(z > 0.0, z, slope * z)
    return out


def first_epoch_shift(init, after, x, activation="relu"):
    """How far the first epoch's steps move each unit's input, against its spread.

    For unit j of hidden layer l, with z the pre-activations on x at the initial
    weights (init) and z' those after the first epoch (after):
        ratio_lj = |mean_n z'_nj - mean_n z_nj| / std_n z_nj.
    A ratio above 1 moves the unit's whole input range by more than it varies
    across the points: a step that way switches the unit off for every point.
    Returns (K, L): the median over the units of each layer.
    """
    before = hidden_pre_activations(init, x, activation)
    moved = hidden_pre_activations(after, x, activation)
    cols = []
    for z0, z1 in zip(before, moved):
        spread = np.std(z0, axis=-2)
        shift = np.abs(np.mean(z1, axis=-2) - np.mean(z0, axis=-2))
        with np.errstate(divide="ignore", invalid="ignore"):
            cols.append(np.median(np.where(spread > 0, shift / spread, np.inf), axis=-1))
    return np.stack(cols, axis=-1)
