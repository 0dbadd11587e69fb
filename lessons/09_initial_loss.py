# %% [markdown]
# # Lesson 9: the initial-loss sanity check.
#
# Question: before training a softmax classifier, what loss should it report,
# and what does it tell you when it reports something else?
#
# A classifier that knows nothing should spread its belief evenly: p = 1/C for
# each of C classes, and the cross-entropy of that guess is -ln(1/C) = ln(C)
# (ln 10 = 2.303 for ten digits). A network whose output layer starts with small
# weights does exactly that, so its loss before the first update sits at ln(C).
# A loss far above ln(C) means the network starts out confidently wrong; one
# far below means the loss is not measuring what you think it is.
#
# What the run measures, on the 8x8 handwritten digits (10 classes), with eight
# seeds each: the initial loss over ln(C) of a healthy set-up, of the Keras
# default initialisation, of unscaled inputs, of large initial weights and of
# the wrong loss for one-hot labels, each sorted as at ln(C), a little above
# (up to 1.5x) or far off; whether the Keras default's start costs anything
# once trained, against the seed-to-seed spread; the label-encoding mistakes
# tinynet refuses outright; whether shuffled labels pass the check, and where
# their training and validation losses go against ln(C); and how the loss
# reported for epoch 1 compares with the first batch's loss, the mean of the
# epoch's updates and the loss of the weights at the epoch's end.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 9: the initial-loss sanity check.

Run:   python lessons/09_initial_loss.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 4 seconds on a 2-core CPU (--quick: about 2).
"""

import math
import sys
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import compare, count  # noqa: E402

# %%
WIDTH = 64


def build(k, hidden_init, last_init, loss="categorical_crossentropy", lr=0.05, n_out=10):
    """64 inputs -> 64 ReLU -> n_out softmax, k stacked seeds, SGD."""
    model = tn.Sequential([
        tn.layers.Dense(WIDTH, activation="relu", input_dim=64, kernel_initializer=hidden_init),
        tn.layers.Dense(n_out, activation="softmax", kernel_initializer=last_init),
    ], seed=0, n_models=k)
    model.compile(tn.optimizers.SGD(lr), loss=loss)
    return model


GLOROT = "Keras default init (Glorot), scaled x"


def kind_of(ratio):
    """What an initial loss / ln(C) says: at ln(C), a little above, or far off."""
    if abs(ratio - 1) <= 0.05:
        return "at ln(C)"
    if 1 < ratio <= 1.5:
        return "a little above"
    return "far above" if ratio > 1 else "far below"


def glorot_sentence(gap, ratio, epochs):
    """Step 5's verdict on Keras's default init, from compare() of its final validation
    losses against the healthy set-up's (+1 lower, -1 higher, 0 cannot tell), at this budget."""
    budget = f"after {epochs} epochs"
    return (f"Its start {ratio:.2f}x ln(C) "
            + {0: f"costs nothing this run can see {budget}: it trains as well as the healthy "
                  "set-up within the seed-to-seed spread.",
               1: f"is no bug: {budget} it trains clearly better here.",
               -1: f"costs something here: {budget} it is clearly behind, though it trains."}[gap])


def epoch1_sentence(first_batch, reported, end_of_epoch, chance):
    """Step 6's reading: is the epoch-1 loss below ln(C) because it averages an improving epoch?"""
    if end_of_epoch < reported < first_batch:
        return (f"So an epoch-1 loss of {reported:.2f}, below ln(10) = {chance:.2f}, is what "
                "learning looks like, not a broken check: it lies between the first batch's "
                "loss and the end of the epoch's." if reported < chance else
                f"The epoch-1 loss {reported:.2f} lies between the first batch's loss and the end "
                f"of the epoch's, and is not below ln(10) = {chance:.2f}.")
    return (f"The epoch-1 loss {reported:.2f} does not lie between the first batch's loss "
            f"({first_batch:.2f}) and the end of the epoch's ({end_of_epoch:.2f}): this run did "
            "not improve steadily within its first epoch.")


def shuffled_sentence(start_ratio, val_below, k, epochs):
    """The takeaway's words on shuffled labels: do they pass the check, and what gives them away?

    start_ratio: their initial loss / ln(C) (median); val_below: seeds (of k) whose
    validation loss went below ln(C) at some epoch within ``epochs``.
    """
    if abs(start_ratio - 1) > 0.05:
        return (f"Shuffled labels start at {start_ratio:.2f}x ln(C) here, so the first loss does "
                "not hide them.")
    text = "It cannot catch shuffled labels: they start at ln(C) too"
    if val_below == 0:
        return (text + f"; what gives them away is the validation loss, which stayed at or above "
                f"ln(C) for {epochs} epochs in every seed ({count(k, k)}).")
    return text + (f", and their validation loss went below ln(C) within {epochs} epochs in "
                   f"{count(val_below, k)} seeds.")


def first_line(exc):
    return str(exc).split("\n")[0]


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. data
# 2. measure the loss before any update
# 3. the wrong loss for the labels
# 4. label encodings that tinynet refuses
# 5. shuffled labels pass the check
# 6. the epoch-1 loss is an average
# 7. figures

# %%
def main(out_dir="outputs/09_initial_loss", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    k = 4 if quick else 8
    epochs = 8 if quick else 40

    # --- Step 1: data. Standardise with statistics of the training part only;
    # keep the raw pixels (0..16) to show what skipping that does.
    X, y = tn.datasets.load_digits()
    x_raw, x_val_raw, y_train, y_val = tn.data.train_test_split(X, y, test_size=0.25, seed=0,
                                                                stratify=y)
    scaler = tn.data.StandardScaler().fit(x_raw)
    x_train, x_val = scaler.transform(x_raw), scaler.transform(x_val_raw)
    Y_train, Y_val = tn.data.one_hot(y_train, 10), tn.data.one_hot(y_val, 10)
    chance = math.log(10)
    print(f"{len(x_train)} training digits, 10 classes: a uniform guess scores ln(10) = "
          f"{chance:.3f}. Each set-up below has {k} seeds.")

    # --- Step 2: measure the loss before any update. tn.diagnostics.
    # initial_loss_check runs one forward pass and divides by ln(C).
    small = tn.initializers.RandomNormal(stddev=0.01)
    setups = {
        "healthy: scaled x, He + small last layer": (x_train, "he_normal", small),
        GLOROT: (x_train, "glorot_uniform", "glorot_uniform"),
        "unscaled x (pixels 0..16), Glorot": (x_raw, "glorot_uniform", "glorot_uniform"),
        "large weights: RandomNormal(1.0)": (
            x_train, tn.initializers.RandomNormal(stddev=1.0),
            tn.initializers.RandomNormal(stddev=1.0)),
    }
    initial = {}
    print(f"\n{'set-up':44s} initial loss (median, range)   / ln(C)")
    for name, (x, hidden, last) in setups.items():
        check = tn.diagnostics.initial_loss_check(build(k, hidden, last), x, Y_train)
        initial[name] = np.atleast_1d(check["loss"])
        v = initial[name]
        print(f"{name:44s} {np.median(v):6.3f}  ({v.min():.3f}..{v.max():.3f})   "
              f"{np.median(v) / chance:5.2f}x")

    # --- Step 3: the wrong loss for the labels. Binary cross-entropy treats the
    # 10 one-hot columns as 10 yes/no questions, so a uniform guess scores
    # about 0.33, not ln(10): a start BELOW ln(C) is a sign the loss is wrong.
    bce = build(k, "he_normal", small, loss="binary_crossentropy")
    initial["wrong loss: binary CE on one-hot"] = np.atleast_1d(
        tn.diagnostics.initial_loss_check(bce, x_train, Y_train)["loss"])
    v = initial["wrong loss: binary CE on one-hot"]
    print(f"{'wrong loss: binary CE on one-hot':44s} {np.median(v):6.3f}  "
          f"({v.min():.3f}..{v.max():.3f})   {np.median(v) / chance:5.2f}x")

    # Three kinds of answer: at ln(C) (within 5%); a little above (up to 1.5x:
    # the output starts somewhat confident, as Keras's default Glorot init does
    # with 64 inputs); and far off (above 1.5x or below 0.5x: a real bug). Only
    # the training below tells whether "a little above" matters.
    kinds = {name: kind_of(np.median(v) / chance) for name, v in initial.items()}
    for label in ("at ln(C)", "a little above", "far above", "far below"):
        names = [name for name, kd in kinds.items() if kd == label]
        if names:
            print(f"  {label}: {'; '.join(names)}")

    # --- Step 4: label encodings that tinynet refuses. Integer labels given to
    # categorical cross-entropy, or a one-hot of the wrong width (labels
    # counted from 1 give 11 columns), would silently train on garbage in
    # some frameworks; here they stop with a message.
    refused = {}
    model = build(1, "he_normal", small)
    for name, labels in (("integer labels, categorical CE", y_train),
                         ("one-hot of width 11 (labels 1..10)", tn.data.one_hot(y_train + 1))):
        try:
            model.fit(x_train, labels, epochs=1, verbose=0)
            refused[name] = None
        except ValueError as exc:
            refused[name] = first_line(exc)
        print(f"\n{name}: " + ("accepted!" if refused[name] is None
                               else f"refused -> {refused[name]}"))

    # --- Step 5: shuffled labels pass the check. The input no longer predicts
    # the label, but the first forward pass cannot know that: it starts at
    # ln(C). The tell comes later: the training loss falls below ln(C) (the
    # network fits some of the noise) while the validation loss does not.
    # The Keras default init trains on the true labels too, to see whether its
    # start a little above ln(C) costs anything.
    rng = np.random.default_rng(0)
    Y_shuffled = Y_train[rng.permutation(len(Y_train))]
    runs = {}
    for name, targets, hidden, last in (
            ("true labels", Y_train, "he_normal", small),
            ("shuffled labels", Y_shuffled, "he_normal", small),
            ("true labels, Keras default init", Y_train, "glorot_uniform", "glorot_uniform")):
        m = build(k, hidden, last)
        start = np.atleast_1d(tn.diagnostics.initial_loss_check(m, x_train, targets)["loss"])
        h = m.fit(x_train, targets, epochs=epochs, batch_size=32,
                  validation_data=(x_val, Y_val), verbose=0)
        runs[name] = {
            "initial": float(np.median(start)),
            "loss": np.array(h.history["loss"]).reshape(-1, k),
            "val_loss": np.array(h.history["val_loss"]).reshape(-1, k),
            "history": h,
        }
        r = runs[name]
        print(f"\n{name}: initial loss {r['initial']:.3f} ({r['initial'] / chance:.2f} x ln C); "
              f"after {epochs} epochs training loss {np.median(r['loss'][-1]):.3f}, validation "
              f"loss {np.median(r['val_loss'][-1]):.3f} (lowest {np.min(r['val_loss']):.3f})")
    sh = runs["shuffled labels"]
    shuffled_val_min = float(np.min(sh["val_loss"]))
    shuffled_train = float(np.median(sh["loss"][-1]))
    below = int(np.sum(sh["val_loss"].min(axis=0) < chance))
    print(f"  -> shuffled labels: the training loss ends {abs(chance - shuffled_train):.3f} "
          f"{'below' if shuffled_train < chance else 'above'} ln(C) = {chance:.3f} (median "
          f"{shuffled_train:.3f}; the true labels reach "
          f"{np.median(runs['true labels']['loss'][-1]):.3f}): "
          + (("the network fits part of the noise, far from memorising it. "
              if shuffled_train > 2 * np.median(runs["true labels"]["loss"][-1]) else
              "the network fits the noise almost as well as the true labels. ")
             if shuffled_train < chance else "it has not fitted the noise at all. ")
          + f"The validation loss went below ln(C) at some epoch "
          f"in {count(below, k)} seeds (lowest {shuffled_val_min:.3f}).")
    d = runs["true labels, Keras default init"]["val_loss"][-1]
    h = runs["true labels"]["val_loss"][-1]
    glorot_gap = compare(d, h)
    print(f"  -> Keras default init on the true labels: final validation loss "
          f"{np.median(d):.3f} (seeds {d.min():.3f}..{d.max():.3f}) against {np.median(h):.3f} "
          f"({h.min():.3f}..{h.max():.3f}) for the healthy set-up: "
          + {1: "clearly lower", -1: "clearly higher",
             0: "not clearly different (within the seed-to-seed spread)"}[glorot_gap]
          + ". " + glorot_sentence(glorot_gap, np.median(initial[GLOROT]) / chance, epochs))

    # --- Step 6: the epoch-1 loss is an average. fit reports, for each epoch,
    # the mean of the batch losses of that epoch (weighted by batch size),
    # each measured before its update. The network improves during the epoch,
    # so that mean lies below the first batch's loss (about ln C) and above
    # the loss of the weights at the end of the epoch.
    h = runs["true labels"]["history"]
    per_update = np.asarray(h.steps["loss"]).reshape(-1, k)
    n_updates = math.ceil(len(x_train) / 32)
    first_epoch = per_update[:n_updates, 0]
    sizes = np.full(n_updates, 32.0)
    sizes[-1] = len(x_train) - 32 * (n_updates - 1)
    weighted = float(np.sum(first_epoch * sizes) / np.sum(sizes))
    reported = float(np.atleast_1d(h.history["loss"][0])[0])
    after_one = build(1, "he_normal", small)  # seed 0 alone: the same run as copy 0
    after_one.fit(x_train, Y_train, epochs=1, batch_size=32, verbose=0)
    end_of_epoch = after_one.evaluate(x_train, Y_train)["loss"]
    print(f"\nEpoch 1 of the healthy run (seed 0), {n_updates} updates of batch 32: the first "
          f"batch loss is {first_epoch[0]:.3f}, the last {first_epoch[-1]:.3f}.")
    print(f"  reported epoch-1 loss {reported:.4f} = the batch-size-weighted mean of those "
          f"{n_updates} losses ({weighted:.4f}); the weights at the end of epoch 1 score "
          f"{end_of_epoch:.4f} on the same data.")
    print("  " + epoch1_sentence(float(first_epoch[0]), reported, end_of_epoch, chance))

    # --- Step 7: figures.
    fig, ax = _common.figure(1, 1, size=(8.5, 4.2))
    names = list(initial)
    for i, name in enumerate(names):
        ratios = initial[name] / chance
        off = abs(np.median(ratios) - 1)
        ax.barh(i, np.median(ratios), color="C2" if off <= 0.05 else "C1" if off <= 0.25 else "C3")
        ax.plot(ratios, np.full(len(ratios), i), "k.", ms=4)
    ax.axvline(1.0, color="k", lw=1)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("initial loss / ln(C)   (dots: seeds; green within 5%)")
    ax.set_title("the loss before the first update, against ln(10)")
    figures = [_common.save(fig, out, "initial_loss.png")]

    fig2, (ax1, ax2) = _common.figure(1, 2, size=(5.6, 4.0))
    ax1.plot(np.arange(n_updates), first_epoch, ".-", label="loss of each batch (before update)")
    ax1.axhline(chance, color="k", ls=":", label="ln(10)")
    ax1.axhline(reported, color="C1", label=f"reported epoch-1 loss {reported:.2f}")
    ax1.axhline(end_of_epoch, color="C2", ls="--",
                label=f"loss at end of epoch 1 {end_of_epoch:.2f}")
    ax1.set_xlabel("update within epoch 1")
    ax1.set_ylabel("cross-entropy")
    ax1.set_title("epoch 1: the reported loss is a mean")
    ax1.legend(fontsize="small")
    ep = np.arange(1, epochs + 1)
    for j, (name, r) in enumerate(runs.items()):
        ax2.plot(ep, np.median(r["loss"], axis=1), color=f"C{j}", label=f"{name}: training")
        ax2.plot(ep, np.median(r["val_loss"], axis=1), color=f"C{j}", ls="--",
                 label=f"{name}: validation")
    ax2.axhline(chance, color="k", ls=":", label="ln(10)")
    ax2.set_yscale("log")
    ax2.set_xlabel("epoch")
    ax2.set_title("true and shuffled labels: training (solid) and validation (dashed)")
    ax2.legend(fontsize="small")
    figures.append(_common.save(fig2, out, "first_epoch_and_shuffled.png"))

    # --- Step 8: the takeaway.
    healthy = "healthy: scaled x, He + small last layer"
    far = [name for name, k in kinds.items() if k == "far above"]
    below_c = [name for name, k in kinds.items() if k == "far below"]
    n_seeds = len(np.atleast_1d(initial[healthy]))
    sentences = [f"A healthy classifier starts at ln(C) = {chance:.2f} "
                 f"({np.median(initial[healthy]) / chance:.2f}x here); {len(far)} broken set-up(s) "
                 f"start far above it and {len(below_c)} far below, so the first loss catches "
                 "them before any training.",
                 shuffled_sentence(runs["shuffled labels"]["initial"] / chance, below, k, epochs)]
    _common.takeaway(sentences, stats=(
        f"initial loss / ln(C), medians over {n_seeds} seeds: "
        + ", ".join(f"{name.split(':')[0]} {np.median(v) / chance:.2f}"
                    for name, v in initial.items())
        + f"; shuffled labels' validation below ln(C): {count(below, n_seeds)} seeds"))
    return {
        "chance": chance,
        "initial_loss": {name: float(np.median(v)) for name, v in initial.items()},
        "initial_ratio": {name: float(np.median(v) / chance) for name, v in initial.items()},
        "healthy_ratio": float(np.median(initial[healthy]) / chance),
        "unscaled_ratio": float(np.median(initial["unscaled x (pixels 0..16), Glorot"]) / chance),
        "large_weights_ratio": float(
            np.median(initial["large weights: RandomNormal(1.0)"]) / chance),
        "wrong_loss_ratio": float(np.median(initial["wrong loss: binary CE on one-hot"]) / chance),
        "refused": refused,
        "shuffled_initial": runs["shuffled labels"]["initial"],
        "shuffled_val_min": shuffled_val_min,
        "shuffled_train_final": shuffled_train,
        "shuffled_val_below_chance": below,
        "true_train_final": float(np.median(runs["true labels"]["loss"][-1])),
        "kinds": kinds,
        "glorot_ratio": float(np.median(initial[GLOROT]) / chance),
        "glorot_vs_healthy": glorot_gap,
        "true_val_final": float(np.median(runs["true labels"]["val_loss"][-1])),
        "first_batch_loss": float(first_epoch[0]),
        "epoch1_reported": reported,
        "epoch1_weighted_mean": weighted,
        "epoch1_end_loss": float(end_of_epoch),
        "figures": figures,
    }


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/09_initial_loss.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
