# %% [markdown]
# # Lesson 20: the learning rate, underfitting and overfitting.
#
# Question: it is often said that too small a rate underfits and too large a
# rate overfits. Does the gap between training and validation loss grow with
# the rate? And if it does, is that the rate itself, or only that a larger
# rate gets further in the same number of epochs?
#
# The set-up overfits on purpose (as in lesson 7): 60 noisy two-moons points,
# a 2 -> 64 -> 64 -> 2 ReLU network, plain SGD with batch 16, and 400 held-out
# validation points. Six rates from 0.001 to 0.3 train for the same number of
# epochs, several seeds each (every rate starts a seed from the same weights).
# After every epoch the lesson measures the loss and accuracy on the whole
# training set and on the validation set.
#
# What you will see: at a fixed budget, the training loss, the validation loss
# and their gap against the rate, and the accuracies; then the control: the
# same gap read at equal lr x epochs (a rate 10x smaller, trained 10x longer),
# which asks whether the rate matters beyond how far it takes training.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 20: the train/validation gap against the learning rate, and at equal lr x epochs.

Run:   python lessons/20_rate_and_overfitting.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 4 seconds of CPU time on 2 cores (--quick: about 2).
"""

import sys
import warnings
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import clear, count  # noqa: E402

# %%
WIDTH, BATCH = 64, 16
FULL_SEEDS = 6  # seeds per rate in the full run


def layers():
    """A network much wider than 60 points need."""
    return [tn.layers.Dense(WIDTH, activation="relu", input_dim=2),
            tn.layers.Dense(WIDTH, activation="relu"),
            tn.layers.Dense(2, activation="softmax")]


class TrainSetScore(tn.callbacks.Callback):
    """After every epoch: loss and accuracy of every copy on the whole training set.

    fit's own "loss" is the mean over the epoch's batches while the weights
    move; this is the end-of-epoch value, measured as the validation loss is.
    """

    def __init__(self, x, y):
        self.x, self.y = x, y
        self.loss, self.accuracy = [], []

    def on_epoch_end(self, epoch, logs):
        scores = self.model.evaluate(self.x, self.y)
        self.loss.append(np.asarray(scores["loss"], float))
        self.accuracy.append(np.asarray(scores["accuracy"], float))


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. little, noisy data and a wide network
# 2. every rate for the same budget, measured after every epoch
# 3. at the fixed budget: the gap against the rate
# 4. the control: the same gap at equal lr x epochs
# 5. figures, and the takeaway

# %%
def train_all(quick):
    """Steps 1-2: every (rate, seed) as one stacked sweep, scored after every epoch."""
    # --- Step 1: little, noisy data. The moons overlap at noise 0.35, so a
    # network that gets all 60 points right has learned their noise.
    X, y = tn.datasets.make_moons(460, noise=0.35, seed=0)
    x_train, y_train, x_val, y_val = X[:60], y[:60], X[60:], y[60:]
    rates = np.array([0.001, 0.01, 0.1, 0.3] if quick
                     else [0.001, 0.003, 0.01, 0.03, 0.1, 0.3])
    seeds = tuple(range(4 if quick else FULL_SEEDS))
    epochs = 100 if quick else 300
    print(f"{len(x_train)} training and {len(x_val)} validation points; rates "
          f"{', '.join(f'{r:g}' for r in rates)}; {len(seeds)} seeds; SGD, batch {BATCH}, "
          f"{epochs} epochs ({epochs * len(x_train) // BATCH} updates)")

    # --- Step 2: every rate for the same budget. One sweep: copy (rate r,
    # seed s) starts from seed s's weights and sees seed s's batches, so the
    # rates of one seed differ only in the rate.
    score = TrainSetScore(x_train, y_train)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", tn.DivergenceWarning)
        result = tn.sweep(layers, x_train, y_train, rates, seeds=seeds,
                          loss="sparse_categorical_crossentropy", epochs=epochs,
                          batch_size=BATCH, validation_data=(x_val, y_val),
                          callbacks=[score], verbose=0)
    shape = (epochs, len(rates), len(seeds))
    order = np.argsort(np.asarray(score.copies))  # the chunk's copies in sweep order
    return {
        "rates": rates, "seeds": seeds, "epochs": epochs,
        "train_loss": np.array(score.loss)[:, order].reshape(shape),
        "train_acc": np.array(score.accuracy)[:, order].reshape(shape),
        "val_loss": result.history["val_loss"], "val_acc": result.history["val_accuracy"],
        "grew": int(np.sum(result.grew)), "diverged": int(np.sum(result.diverged)),
        "warnings": len(caught),
    }


def at_budget(t):
    """Step 3: the fixed budget's numbers, and what they say."""
    # --- Step 3: at the fixed budget. Medians over seeds; each claim is a
    # paired comparison over seeds (_common.clear: beyond the seed spread).
    rates, last = t["rates"], t["epochs"] - 1
    train, val = t["train_loss"][last], t["val_loss"][last]
    gap = val - train
    print(f"\nAfter {t['epochs']} epochs (medians over seeds):")
    print(f"{'lr':>7s} {'train loss':>11s} {'val loss':>9s} {'gap':>7s} {'train acc':>10s} "
          f"{'val acc':>8s}")
    for i, lr in enumerate(rates):
        print(f"{lr:7.3f} {np.median(train[i]):11.3f} {np.median(val[i]):9.3f} "
              f"{np.median(gap[i]):7.3f} {np.median(t['train_acc'][last, i]):10.3f} "
              f"{np.median(t['val_acc'][last, i]):8.3f}")
    steps_up = [clear(gap[i + 1] - gap[i]) == 1 for i in range(len(rates) - 1)]
    best = int(np.argmin(np.median(val, axis=1)))  # the rate with the lowest validation loss
    # underfits: fits the training set clearly worse than the largest rate, and
    # is clearly worse on validation than the best; overfits: fits the training
    # set clearly better than the best rate, and is clearly worse on validation.
    small_underfits = (clear(np.log(train[0]) - np.log(train[-1])) == 1
                       and best != 0 and clear(val[0] - val[best]) == 1)
    large_overfits = (best != len(rates) - 1 and clear(val[-1] - val[best]) == 1
                      and clear(np.log(train[-1]) - np.log(train[best])) == -1)
    acc_gap = t["train_acc"][last] - t["val_acc"][last]
    acc_up = clear(acc_gap[-1] - acc_gap[0]) == 1
    val_acc = t["val_acc"][last]
    acc_vs_best = clear(val_acc[-1] - val_acc[best])
    wider = int(np.sum(gap[-1] > gap[0]))
    print(f"\n-> The gap grows from each rate to the next, beyond the seed spread, in "
          f"{sum(steps_up)} of {len(steps_up)} steps"
          + (": the larger the rate, the further the validation loss sits above the "
             "training loss." if all(steps_up) else ".")
          + f" Largest against smallest rate: wider in {count(wider, len(t['seeds']))} seeds.")
    print(f"   The lowest validation loss is at lr {rates[best]:g}. "
          + (f"lr {rates[0]:g} underfits: its training loss is "
             f"{np.median(train[0]) / np.median(train[-1]):.0f}x that of lr {rates[-1]:g} and "
             "its validation loss is clearly above the best"
             if small_underfits else f"lr {rates[0]:g} is not clearly underfitting")
          + "; "
          + (f"lr {rates[-1]:g} overfits: it fits the training set clearly better than "
             f"lr {rates[best]:g} and is clearly worse on validation"
             if large_overfits else f"lr {rates[-1]:g} is not clearly overfitting") + ".")
    print("   In accuracy the train-minus-validation gap "
          + ("grows too" if acc_up else "does not clearly grow")
          + f" ({np.median(acc_gap[0]):.2f} at lr {rates[0]:g}, {np.median(acc_gap[-1]):.2f} "
          f"at lr {rates[-1]:g}), and lr {rates[-1]:g}'s validation accuracy is "
          + {1: "clearly above", -1: "clearly below", 0: "not clearly different from"}[acc_vs_best]
          + f" lr {rates[best]:g}'s ({np.median(val_acc[-1]):.3f} vs "
          f"{np.median(val_acc[best]):.3f})"
          + (": here the overfitting shows in the validation loss, not in the accuracy."
             if large_overfits and acc_vs_best >= 0 else "."))
    return {"gap_median": np.median(gap, axis=1).tolist(), "steps_up": steps_up,
            "gap_grows": all(steps_up), "small_underfits": small_underfits,
            "large_overfits": large_overfits, "accuracy_gap_grows": acc_up,
            "val_accuracy_vs_best": acc_vs_best, "best_val_rate": float(rates[best]),
            "gap_wider_seeds": wider,
            "train_loss_median": np.median(train, axis=1).tolist(),
            "val_loss_median": np.median(val, axis=1).tolist()}


def equal_distance(t):
    """Step 4: the control: a rate 10x smaller read at 10x the epochs."""
    # --- Step 4: the control. Is it the rate, or how far the run gets? Hold
    # lr x epochs fixed: rate r after E epochs against rate 10 r after E / 10.
    # If the rate mattered beyond that product, these pairs would differ.
    rates, epochs = t["rates"], t["epochs"]
    gap = t["val_loss"] - t["train_loss"]
    pairs = []
    for i, small in enumerate(rates):
        j = np.flatnonzero(np.isclose(rates, 10 * small))
        if len(j):
            j = int(j[0])
            g_small, g_big = gap[epochs - 1, i], gap[epochs // 10 - 1, j]
            pairs.append({"small": float(small), "big": float(rates[j]),
                          "gap_small": float(np.median(g_small)),
                          "gap_big": float(np.median(g_big)),
                          "gap_big_full_budget": float(np.median(gap[epochs - 1, j])),
                          "ratio": float(np.median(g_small) / np.median(g_big)),
                          "clearly_different": clear(g_small - g_big) != 0})
    print(f"\nThe control: the same lr x epochs ({epochs} epochs at lr r against "
          f"{epochs // 10} at 10 r), gap medians:")
    for p in pairs:
        print(f"  lr {p['small']:g} x {epochs} epochs: {p['gap_small']:.3f}   lr {p['big']:g} x "
              f"{epochs // 10}: {p['gap_big']:.3f}   (lr {p['big']:g} x {epochs}: "
              f"{p['gap_big_full_budget']:.3f}); ratio {p['ratio']:.2f}, "
              + ("clearly different" if p["clearly_different"] else "within the seed spread"))
    close = [0.8 <= p["ratio"] <= 1.25 for p in pairs]
    matched = all(close)
    pairs_far = [p for p, c in zip(pairs, close) if not c]
    differ = sum(p["clearly_different"] for p in pairs)
    print("-> " + ("At equal lr x epochs the gaps agree within 25% in every pair"
                   + (f" ({differ} of them differ beyond the seed spread, by less than that)"
                      if differ else "")
                   + ": a larger rate overfits sooner, not differently. Here the rate sets how "
                   "far training gets in the budget, and a smaller rate trained longer ends in "
                   "the same place."
                   if matched else
                   f"At equal lr x epochs the gaps agree within 25% in {sum(close)} of "
                   f"{len(pairs)} pairs. Where they differ, the larger rate's gap is "
                   + ("smaller" if np.median([p["ratio"] for p in pairs_far]) > 1
                      else "larger")
                   + " than the product predicts: there the rate matters beyond how far the "
                   "run gets."))
    return {"pairs": pairs, "distance_explains": matched, "pairs_close": int(sum(close))}


def draw(t, out):
    """Step 5's figure: the gap against the epoch, and against lr x epochs."""
    rates, epochs = t["rates"], np.arange(1, t["epochs"] + 1)
    gap = np.median(t["val_loss"] - t["train_loss"], axis=-1)  # (epochs, R)
    last = t["epochs"] - 1
    fig, (ax0, ax1, ax2) = _common.figure(1, 3, size=(4.4, 4.0))
    ax0.semilogx(rates, np.median(t["train_loss"][last], axis=-1), "o-", label="training")
    ax0.semilogx(rates, np.median(t["val_loss"][last], axis=-1), "s-", label="validation")
    ax0.set_xlabel("learning rate")
    ax0.set_ylabel(f"loss after {t['epochs']} epochs (median of seeds)")
    ax0.set_title("fixed budget", fontsize="small")
    ax0.legend(fontsize="small")
    for i, lr in enumerate(rates):
        ax1.semilogx(epochs, gap[:, i], color=f"C{i}", label=f"lr {lr:g}")
        ax2.loglog(lr * epochs, np.maximum(gap[:, i], 1e-3), color=f"C{i}")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("validation loss - training loss (median)")
    ax1.set_title("the gap, epoch by epoch", fontsize="small")
    ax1.legend(fontsize="x-small")
    ax2.set_xlabel("lr x epochs")
    ax2.set_ylabel("gap (clipped at 1e-3)")
    ax2.set_title("the same gap against lr x epochs", fontsize="small")
    return [_common.save(fig, out, "20_rate_and_overfitting.png")]


def budget_sentence(epochs, rates, small_underfits, large_overfits, steps_up):
    """The takeaway's words on the fixed budget, chosen by the paired comparisons."""
    small, large = f"lr {rates[0]:g}", f"lr {rates[-1]:g}"
    fit = ((f"{small} underfits (its training loss stays high)" if small_underfits
            else f"{small} does not clearly underfit")
           + " and "
           + (f"{large} overfits (the lowest training loss, yet a validation loss clearly above "
              "the best rate's)" if large_overfits else f"{large} does not clearly overfit"))
    grows = ("the gap between validation and training loss grows clearly at every step up the "
             "rate grid" if steps_up and all(steps_up) else
             f"the gap between validation and training loss grows clearly at {sum(steps_up)} of "
             f"{len(steps_up)} steps up the rate grid")
    return f"After {epochs} epochs {fit}; {grows}."


def control_sentence(pairs):
    """The takeaway's words on the control: does lr x epochs explain the gap?

    pairs: per rate r with a rate 10 r on the grid, "ratio" (gap of r at the full
    budget over gap of 10 r at a tenth of it), "gap_small" and "gap_big_full_budget".
    """
    if not pairs:
        return "The grid has no rate 10x another, so this run cannot hold lr x epochs fixed."
    close = [0.8 <= p["ratio"] <= 1.25 for p in pairs]
    budget_matters = all(p["gap_big_full_budget"] > 1.25 * p["gap_small"] for p in pairs)
    if all(close) and budget_matters:
        return ("The rate sets how far training gets in the budget: a 10x smaller rate trained "
                "10x longer lands within 25% of the same gap in every pair, while the larger "
                "rate at the full budget goes further; so choose the rate together with the "
                "number of epochs.")
    if all(close):
        return ("At equal lr x epochs the gaps agree within 25%, but the gap barely grows with "
                "the budget either, so this run cannot tell the rate from how far training gets.")
    far = [p["ratio"] for p, c in zip(pairs, close) if not c]
    return (f"The rate matters beyond how far training gets: at equal lr x epochs the gaps agree "
            f"within 25% in only {sum(close)} of {len(pairs)} pairs, and where they differ the "
            f"larger rate's gap is {'smaller' if np.median(far) > 1 else 'larger'}.")


def takeaway(t, fixed, control):
    """Step 5's takeaway: print it; returns its text and whether every verdict holds."""
    n_seeds = len(t["seeds"])
    plain = [budget_sentence(t["epochs"], t["rates"], fixed["small_underfits"],
                             fixed["large_overfits"], fixed["steps_up"]),
             control_sentence(control["pairs"])]
    stats = (f"{n_seeds} seeds per rate, paired by seed; 'clearly' = beyond the seed spread, a "
             f"paired t-test at 95%; the largest rate's gap is wider than the smallest's in "
             f"{count(fixed['gap_wider_seeds'], n_seeds)} seeds; pairs within 25%: "
             f"{control['pairs_close']} of {len(control['pairs'])}")
    text = _common.takeaway(plain, stats=stats)
    lo, _ = tn.metrics.wilson_interval(fixed["gap_wider_seeds"], n_seeds)
    supported = bool(lo > 0.5 and fixed["small_underfits"] and fixed["large_overfits"]
                     and fixed["gap_grows"])
    small = _common.too_small(n_seeds, FULL_SEEDS, FULL_SEEDS, "every verdict above")
    if small and not supported:
        print("  " + small)
    return text, supported


def main(out_dir="outputs/20_rate_and_overfitting", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t = train_all(quick)
    fixed = at_budget(t)
    control = equal_distance(t)
    if t["grew"] or t["diverged"]:
        print(f"   ({t['grew']} run(s) grew past 4x the best loss, {t['diverged']} went NaN/inf; "
              "all are counted, none was stopped.)")

    # --- Step 5: figures, and the takeaway.
    figures = draw(t, out)
    text, supported = takeaway(t, fixed, control)
    return {**fixed, **control, "rates": t["rates"].tolist(), "epochs": t["epochs"],
            "seeds": len(t["seeds"]), "grew": t["grew"], "diverged": t["diverged"],
            "verdict_supported": supported, "takeaway": text, "figures": figures}


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/20_rate_and_overfitting.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
