# %% [markdown]
# # Lesson 14: cosine annealing with warm restarts, and a free ensemble from it.
#
# Question: a cosine schedule with warm restarts drives the rate down to almost
# nothing, then jumps back up, several times in one run. The usual story: at
# the end of each cycle the network sits in a minimum, and the jump throws it
# out towards another, so the snapshots kept at the ends of the cycles are
# different models and their average is an ensemble for the price of one run.
# If we keep a copy of the weights at the end of every cycle (a "snapshot") and
# average the snapshots' predicted probabilities, what do we get, and is it the
# restarts that give it?
#
# The lesson measures both parts of that story: how often consecutive snapshots
# predict a different class (are they different models?), and, as the control,
# checkpoints taken at the same epochs of a run WITHOUT restarts, averaged the
# same way (is it the restarts?). Whether the restarts add to the loss reduction
# beyond the spread over initialisations is checked per initialisation, and the
# run prints what it found and its takeaway.
#
# What you will see, on the 8x8 digits with a held-out test set:
#   * one run with CosineDecayRestarts (5 cycles of 10 epochs), a snapshot taken
#     by a ten-line callback at the end of each cycle;
#   * the test accuracy and test loss (cross-entropy) of the single final model
#     against the average of the snapshots, as snapshots are added;
#   * two references: checkpoints taken at the same epochs of a run with one long
#     cosine decay (no restarts: the control that removes the jumps), and a real
#     ensemble of five networks trained separately (five times the cost);
#   * how often consecutive snapshots disagree, and how confident each one is;
#   * 14_schedule.png: both schedules, with the snapshot points marked;
#   * 14_ensemble.png: test loss and accuracy against the number of snapshots.
#
# Every number is the median over five initialisations, trained at once as a
# stacked model.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 14: cosine annealing with warm restarts, and a free ensemble from it.

Run:  python lessons/14_snapshot_ensembles.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 2-4 s on a 2-core CPU; --quick (two initialisations, 4 cycles of 6 epochs) about 1 s.
"""

import sys
import time
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402


# %%
class Snapshot(tn.callbacks.Callback):
    """Keep a copy of the weights after every ``every``-th epoch."""

    def __init__(self, every):
        self.every = every
        self.snapshots = []

    def on_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every == 0:
            self.snapshots.append(self.model.get_weights())


def build(n_models):
    return tn.Sequential([
        tn.layers.Dense(64, activation="relu", input_dim=64),
        tn.layers.Dense(64, activation="relu"),
        tn.layers.Dense(10, activation="softmax"),
    ], seed=0, n_models=n_models)


def share(hits, n):
    """'h of n initialisations (95% interval lo-hi%)': a count with its Wilson interval."""
    lo, hi = tn.metrics.wilson_interval(int(hits), int(n))
    return f"{int(hits)} of {n} initialisations (95% interval {100 * lo:.0f}-{100 * hi:.0f}%)"


def scores(probs, y):
    """(accuracy, cross-entropy) per copy: probs (K, N, C), y (N,) -> two (K,) arrays."""
    acc = np.mean(np.argmax(probs, axis=-1) == y, axis=-1)
    p_true = np.take_along_axis(probs, y[None, :, None], axis=-1)[..., 0]
    return acc, -np.mean(np.log(np.clip(p_true, 1e-7, 1.0)), axis=-1)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. data, with a test set nobody trains or tunes on
# 2. the two schedules over the same budget
# 3. train, taking a snapshot at the end of every cycle
# 4. single model against the average of the snapshots
# 5. figures

# %%
def main(out_dir="outputs/14_snapshot_ensembles", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: data, with a test set nobody trains or tunes on ------------------------
    x, y = tn.datasets.load_digits()
    x_train, x_test, y_train, y_test = tn.data.train_test_split(x / 16.0, y, test_size=0.3,
                                                                seed=0, stratify=y)
    n_seeds, cycles, cycle_epochs = (2, 4, 6) if quick else (5, 5, 10)
    lr, batch_size = 0.1, 32
    epochs = cycles * cycle_epochs
    steps_per_epoch = int(np.ceil(len(x_train) / batch_size))
    cycle_steps = cycle_epochs * steps_per_epoch
    print(f"{len(x_train)} training and {len(x_test)} test images; SGD(momentum=0.9), peak "
          f"rate {lr}, {cycles} cycles of {cycle_epochs} epochs, {n_seeds} initialisations.")

    # --- Step 2: the two schedules over the same budget ---------------------------------
    # t_mul=1 keeps every cycle the same length, so each ends at a known epoch.
    schedules = {
        "warm restarts": tn.schedules.CosineDecayRestarts(lr, cycle_steps, t_mul=1.0),
        "one cosine": tn.schedules.CosineDecay(lr, epochs * steps_per_epoch),
    }

    # --- Step 3: train, taking a snapshot at the end of every cycle ----------------------
    probs = {}
    for name, schedule in schedules.items():
        model = build(n_seeds)
        model.compile(tn.optimizers.SGD(schedule, momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        snap = Snapshot(every=cycle_epochs)
        model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, callbacks=[snap],
                  verbose=0)
        outs = []
        for weights in snap.snapshots:
            model.set_weights(weights)
            outs.append(model.predict(x_test))  # (K, N, 10)
        probs[name] = np.array(outs)            # (snapshots, K, N, 10)

    # --- Step 4: single model against the average of the snapshots -----------------------
    # Ensemble of the first m snapshots: average their probabilities, then score.
    curves = {}
    for name, p in probs.items():
        acc_m, loss_m = [], []
        for m in range(1, cycles + 1):
            acc, loss = scores(p[:m].mean(axis=0), y_test)
            acc_m.append(np.median(acc))
            loss_m.append(np.median(loss))
        acc_last, loss_last = scores(p[-1], y_test)
        acc_ens, loss_ens = scores(p.mean(axis=0), y_test)  # per initialisation
        each = [float(np.median(scores(p[j], y_test)[0])) for j in range(cycles)]
        each_loss = [float(np.median(scores(p[j], y_test)[1])) for j in range(cycles)]
        # how different are the snapshots? share of test images on which two
        # consecutive snapshots predict different classes
        labels = np.argmax(p, axis=-1)  # (snapshots, K, N)
        disagree = float(np.median(np.mean(labels[1:] != labels[:-1], axis=-1)))
        # how confident each snapshot is: mean probability of its predicted class
        confidence = [float(np.median(np.mean(p[j].max(axis=-1), axis=-1)))
                      for j in range(cycles)]
        curves[name] = {"accuracy": acc_m, "loss": loss_m, "each_accuracy": each,
                        "each_loss": each_loss,
                        "disagreement": disagree, "confidence": confidence,
                        "reduction_per_seed": (1.0 - loss_ens / loss_last).tolist(),
                        "ensemble_loss_per_seed": loss_ens.tolist(),
                        "single_loss_per_seed": loss_last.tolist(),
                        "single_accuracy": float(np.median(acc_last)),
                        "single_loss": float(np.median(loss_last))}
    # the real ensemble: the final models of the one-cosine run, one per initialisation
    ens_acc, ens_loss = scores(probs["one cosine"][-1].mean(axis=0, keepdims=True), y_test)
    print(f"\n  {'run':14s} {'single final model':>24s} {'snapshot ensemble':>24s}")
    print(f"  {'':14s} {'accuracy    loss':>24s} {'accuracy    loss':>24s}")
    for name, c in curves.items():
        print(f"  {name:14s} {c['single_accuracy']:12.4f} {c['single_loss']:11.4f} "
              f"{c['accuracy'][-1]:12.4f} {c['loss'][-1]:11.4f}")
    print(f"  {f'{n_seeds} separate runs':14s} {'':24s} {ens_acc[0]:12.4f} {ens_loss[0]:11.4f}"
          "   (one-cosine final models averaged)")

    r = curves["warm restarts"]
    d_acc = r["accuracy"][-1] - r["single_accuracy"]
    d_loss = 1.0 - r["loss"][-1] / r["single_loss"]
    print(f"\nWarm restarts: averaging the {cycles} snapshots changes the test accuracy by "
          f"{100 * d_acc:+.2f} points and lowers the test loss by {100 * d_loss:.0f}% against "
          "the final model alone (medians over initialisations), for no extra training.")
    c = curves["one cosine"]
    c_loss = 1.0 - c["loss"][-1] / c["single_loss"]
    print(f"Checkpoints of the run without restarts, averaged the same way: test loss "
          f"{100 * c_loss:.0f}% lower than its final model.")
    red_r, red_c = np.array(r["reduction_per_seed"]), np.array(c["reduction_per_seed"])
    more = int(np.sum(red_r > red_c))
    print(f"  Per initialisation, the loss reduction with restarts is {100 * red_r.min():.0f}.."
          f"{100 * red_r.max():.0f}%, without {100 * red_c.min():.0f}..{100 * red_c.max():.0f}%;"
          f" larger with restarts for {share(more, n_seeds)}.")
    lo, hi = tn.metrics.wilson_interval(more, n_seeds)
    # beyond the noise: every initialisation's reduction with restarts above every
    # one's without, and the paired count's interval clear of one half
    restarts_add = bool(red_r.min() > red_c.max() and lo > 0.5)
    if restarts_add:
        print("  The restarts add to the reduction beyond the spread over initialisations.")
    elif red_r.max() < red_c.min() and hi < 0.5:
        print("  The checkpoints without restarts gain more: the restarts are not what the "
              "average feeds on here.")
    else:
        print(f"  With {n_seeds} initialisations this run cannot tell whether the restarts add "
              "anything to what averaging checkpoints gives without them.")
    ens_r = np.array(r["ensemble_loss_per_seed"])
    final_c = np.array(c["single_loss_per_seed"])
    ens_c = np.array(c["ensemble_loss_per_seed"])
    print(f"  In absolute terms: snapshot ensemble with restarts {np.median(ens_r):.4f}, final "
          f"model without restarts {np.median(final_c):.4f}, checkpoint average without "
          f"restarts {np.median(ens_c):.4f}; the restarts' ensemble is the lowest of the three "
          f"for {share(int(np.sum((ens_r < final_c) & (ens_r < ens_c))), n_seeds)}.")
    for name, cv in curves.items():
        each = ", ".join(f"{a:.3f}" for a in cv["each_accuracy"])
        each_loss = ", ".join(f"{a:.3f}" for a in cv["each_loss"])
        conf = ", ".join(f"{a:.3f}" for a in cv["confidence"])
        print(f"  {name}: each snapshot alone: accuracy {each}; loss {each_loss}; mean "
              f"confidence {conf}; consecutive snapshots disagree on "
              f"{100 * cv['disagreement']:.1f}% of the test images")
    if r["each_loss"][-1] > min(r["each_loss"]):
        rising = all(b2 >= a2 for a2, b2 in zip(r["confidence"], r["confidence"][1:]))
        print(f"  With restarts, the final snapshot is not the best on its own (loss "
              f"{r['each_loss'][-1]:.3f} against {min(r['each_loss']):.3f})"
              + (": its mean confidence rises from cycle to cycle while its accuracy does not"
                 " (snapshot accuracies within "
                 f"{100 * (max(r['each_accuracy']) - min(r['each_accuracy'])):.1f} points)."
                 if rising else "."))
    if r["disagreement"] > 1.5 * c["disagreement"] and r["disagreement"] >= 0.01:
        print("  The restarts make consecutive snapshots disagree more than plain checkpoints "
              "do.")
    else:
        print(f"  The snapshots hardly disagree, with restarts or without ("
              f"{100 * r['disagreement']:.1f}% and {100 * c['disagreement']:.1f}% of the test "
              "images): on this small problem the jumps do not send the network to models "
              "that answer differently.")
    if abs(d_acc) < 0.005 < d_loss:
        print("  The accuracy moves by less than half a point while the loss drops: the average "
              "changes the probabilities, hardly the answers.")
    print(f"A real ensemble of {n_seeds} separately trained networks reaches accuracy "
          f"{ens_acc[0]:.4f} and loss {ens_loss[0]:.4f}, at {n_seeds}x the training cost.")

    # --- Step 5: figures --------------------------------------------------------------------
    total = epochs * steps_per_epoch
    fig, ax = _common.figure(1, 1, size=(7.5, 3.8))
    tn.plot.schedules(list(schedules.values()), total, labels=list(schedules), ax=ax)
    marks = np.arange(1, cycles + 1) * cycle_steps - 1
    for schedule in schedules.values():
        ax.plot(marks, [schedule(int(s)) for s in marks], "o", color="black", markersize=5)
    ax.set_title("snapshots (dots) at the end of every cycle", fontsize="medium")
    paths = [_common.save(fig, out, "14_schedule.png")]
    fig, (ax1, ax2) = _common.figure(1, 2, size=(5.0, 4.0))
    m = np.arange(1, cycles + 1)
    for i, (name, c) in enumerate(curves.items()):
        ax1.plot(m, c["loss"], "o-", color=f"C{i}", label=f"{name}: snapshot ensemble")
        ax1.axhline(c["single_loss"], color=f"C{i}", linestyle=":",
                    label=f"{name}: final model")
        ax2.plot(m, c["accuracy"], "o-", color=f"C{i}", label=f"{name}: snapshot ensemble")
        ax2.axhline(c["single_accuracy"], color=f"C{i}", linestyle=":")
    ax1.axhline(ens_loss[0], color="black", linestyle="--", label=f"{n_seeds} separate runs")
    ax2.axhline(ens_acc[0], color="black", linestyle="--")
    ax1.set_ylabel("test loss (median over initialisations)")
    ax2.set_ylabel("test accuracy (median over initialisations)")
    for ax in (ax1, ax2):
        ax.set_xlabel("snapshots averaged (first m)")
        ax.set_xticks(m)
        ax.grid(True, alpha=0.3)
    ax1.set_ylim(0.0, 1.5 * max(max(c["loss"][1:] + [c["single_loss"]]) for c in curves.values()))
    ax1.legend(fontsize="x-small")
    paths.append(_common.save(fig, out, "14_ensemble.png"))

    # --- Step 6: the takeaway --------------------------------------------------------------
    sentences = [f"Averaging the {cycles} snapshots lowers the test loss {100 * d_loss:.0f}% for "
                 f"no extra training, but moves the accuracy by only {100 * d_acc:+.1f} points: "
                 "it softens the probabilities more than it changes answers."
                 if abs(d_acc) < 0.005 < d_loss else
                 f"Averaging the {cycles} snapshots changes the test loss by "
                 f"{-100 * d_loss:+.0f}% and the accuracy by {100 * d_acc:+.1f} points."]
    if restarts_add:
        sentences.append("The restarts add to that beyond the spread over initialisations.")
    elif n_seeds < 5:
        sentences.append(f"Averaging checkpoints of a run without restarts lowers the loss too "
                         f"({100 * c_loss:.0f}%); with {n_seeds} initialisations this run is too "
                         "small to judge whether the restarts add anything.")
    else:
        sentences.append(f"Checkpoints of a run without restarts, averaged the same way, lower "
                         f"the loss too ({100 * c_loss:.0f}% against {100 * d_loss:.0f}%), and the "
                         "restarts' extra does not clear the spread over initialisations"
                         + (f": averaging alone gives {c_loss / d_loss:.0%} of the reduction."
                            if 0 < c_loss < d_loss else "."))
    _common.takeaway(sentences, stats=(
        f"{n_seeds} initialisations; reduction larger with restarts for {share(more, n_seeds)}; "
        f"consecutive snapshots disagree on {100 * r['disagreement']:.1f}% (restarts) and "
        f"{100 * c['disagreement']:.1f}% (no restarts) of the test images"))
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {"curves": curves, "restarts_beats_checkpoints": bool(d_loss > c_loss),
            "restarts_add_beyond_noise": restarts_add, "seeds": n_seeds,
            "ensemble_of_runs": {"accuracy": float(ens_acc[0]), "loss": float(ens_loss[0])},
            "restarts_accuracy_gain": float(d_acc), "restarts_loss_reduction": float(d_loss),
            "figures": paths}


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/14_snapshot_ensembles.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
