# %% [markdown]
# # Lesson 8: performance scheduling, or cutting the rate when progress stalls.
#
# Question: a schedule fixes the rate's course before training starts. A
# performance scheduler (Keras's ReduceLROnPlateau) watches the validation loss
# instead and halves the rate whenever it has not improved for a few epochs.
# How does it compare with keeping the rate fixed and with a cosine schedule
# planned for the whole run?
#
# What you will see:
#   * the same network and the same five initialisations trained three ways:
#     a fixed rate, CosineDecay over the whole run, and the fixed rate with
#     ReduceLROnPlateau(factor=0.5, patience=5);
#   * final training loss, best and final validation loss, and accuracy on a
#     test set none of them ever saw (the plateau rule looks at the validation
#     set, so that set is no longer an honest judge);
#   * when the callback cut the rate, for each initialisation, read from
#     ``history.records["ReduceLROnPlateau"]``;
#   * how far the validation loss swings over the last 20 epochs for each, the
#     measure of a fixed rate "jumping around the minimum" (the lowered rates
#     are the runs with that cause removed);
#   * the opposite move: a small callback written here that raises the rate by
#     10% after every epoch whose validation loss fell, halves it after one
#     whose loss rose by more than 5%, and keeps it otherwise (an old rule,
#     known as the "bold driver"), started 10x below the fixed rate, against
#     that small rate kept fixed;
#   * 08_rates.png: the rate epoch by epoch for all of them (``history.history["lr"]``)
#     beside the validation loss, with the plateau cuts marked, and the last 20
#     epochs of the three main runs.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 8: performance scheduling, or cutting the rate when progress stalls.

Run:  python lessons/08_reduce_on_plateau.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 7 s on a 2-core CPU; --quick (two initialisations instead of five) about 3 s.
"""

import sys
import time
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import clear, compare  # noqa: E402

# %%
METHODS = ("fixed rate", "cosine", "plateau")


class GrowWhileFalling(tn.callbacks.Callback):
    """After each epoch: rate x grow if the monitored loss fell, x cut if it rose by
    more than tolerance (relative), unchanged otherwise; per copy when stacked.

    grow=1.1, cut=0.5, tolerance=0.05, monitor="val_loss". The rate goes in as
    floats (one per copy), so the optimiser needs a float rate, not a schedule.
    Records per epoch: lr (the rate for the next epoch).
    """

    def __init__(self, grow=1.1, cut=0.5, tolerance=0.05, monitor="val_loss"):
        self.grow, self.cut, self.tolerance, self.monitor = grow, cut, tolerance, monitor

    def on_train_begin(self):
        self.last = None

    def on_epoch_end(self, epoch, logs):
        current = np.atleast_1d(np.asarray(logs[self.monitor], dtype=float))
        optimizer = self.model.optimizer
        lr = np.atleast_1d(np.asarray(optimizer.current_learning_rate, dtype=float))
        if self.last is not None:
            lr = np.where(current < self.last, lr * self.grow,
                          np.where(current > self.last * (1 + self.tolerance), lr * self.cut, lr))
            optimizer.learning_rate = ([float(v) for v in lr] if self.model.stacked
                                       else float(lr[0]))
        self.last = current
        self.record(lr=lr.tolist())


def build(n_models):
    # n_models copies with initial weights from seeds 0, 1, ..., n_models - 1
    return tn.Sequential([
        tn.layers.Dense(64, activation="relu", input_dim=2),
        tn.layers.Dense(64, activation="relu"),
        tn.layers.Dense(3, activation="softmax"),
    ], seed=0, n_models=n_models)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. data with a test set kept aside
# 2. three runs over the same initialisations
# 3. the table
# 4. what the callback decided
# 5. the opposite move: raising the rate while the loss falls
# 6. figures
# 7. the takeaway

# %%
def main(out_dir="outputs/08_reduce_on_plateau", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: data with a test set kept aside ----------------------------------------
    x, y = tn.datasets.make_spirals(2000, n_classes=3, noise=0.3, turns=1.5, seed=0)
    x = tn.data.StandardScaler().fit_transform(x)
    x_train, x_test, y_train, y_test = tn.data.train_test_split(x, y, test_size=0.25, seed=0,
                                                                stratify=y)
    n_seeds, epochs = (2, 60) if quick else (5, 60)
    lr, batch_size, patience, factor = 0.1, 32, 5, 0.5
    steps = epochs * int(np.ceil(int(np.ceil(0.8 * len(x_train))) / batch_size))
    print(f"SGD(momentum=0.9) at {lr}, batch {batch_size}, {epochs} epochs ({steps} updates), "
          f"{n_seeds} initialisations; test set of {len(x_test)} points.")

    # --- Step 2: three runs over the same initialisations ----------------------------------
    # The cosine schedule has to be told the run's length in updates; the
    # plateau rule needs no length, only patience and a factor.
    results, hists = {}, {}
    for method in METHODS:
        model = build(n_models=n_seeds)
        rate = tn.schedules.CosineDecay(lr, steps) if method == "cosine" else lr
        model.compile(tn.optimizers.SGD(rate, momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        callbacks = ([tn.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=factor,
                                                     patience=patience)]
                     if method == "plateau" else [])
        hist = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                         validation_split=0.2, callbacks=callbacks, verbose=0)
        test = model.evaluate(x_test, y_test)
        val = np.array(hist.history["val_loss"])  # (epochs, seeds)
        results[method] = {
            "train_loss": float(np.median(hist.history["loss"][-1])),
            "val_loss": float(np.median(val[-1])),
            "best_val_loss": float(np.median(val.min(axis=0))),
            "test_accuracy": float(np.median(test["accuracy"])),
            "test_accuracy_all": np.atleast_1d(test["accuracy"]).tolist(),
            "final_lr": np.atleast_1d(hist.history["lr"][-1]).tolist(),
        }
        hists[method] = hist

    # --- Step 3: the table ---------------------------------------------------------------
    print(f"\n  {'':11s} {'train loss':>10s} {'val loss':>9s} {'best val':>9s} "
          f"{'test acc':>9s}  final rate (per initialisation)")
    for method, r in results.items():
        rates = " ".join(f"{v:.2g}" for v in r["final_lr"])
        print(f"  {method:11s} {r['train_loss']:10.4f} {r['val_loss']:9.4f} "
              f"{r['best_val_loss']:9.4f} {r['test_accuracy']:9.3f}  {rates}")
    print("  (medians over the initialisations)")

    # --- Step 4: what the callback decided ------------------------------------------------
    rec = hists["plateau"].records["ReduceLROnPlateau"]
    cuts = np.array(rec["cut"], dtype=bool).reshape(epochs, -1)  # (epochs, seeds)
    rec_lr = np.array(rec["lr"], dtype=float).reshape(epochs, -1)
    n_cuts = cuts.sum(axis=0)
    print(f"\nReduceLROnPlateau cut the rate {n_cuts.min()} to {n_cuts.max()} times per "
          "initialisation. Initialisation 0:")
    for e in np.flatnonzero(cuts[:, 0]):
        print(f"  after epoch {e + 1}: {patience} epochs without a better validation loss, "
              f"rate -> {rec_lr[e, 0]:.3g}")
    first = [int(np.flatnonzero(cuts[:, k])[0]) + 1 for k in range(cuts.shape[1])
             if cuts[:, k].any()]
    if first:
        print(f"First cut after epoch {min(first)} to {max(first)}, depending on the "
              "initialisation: the rule reacts to each run's own progress.")
    fixed, cos, plat = (results[m] for m in METHODS)
    print(f"\nTest accuracy: fixed {fixed['test_accuracy']:.3f}, cosine "
          f"{cos['test_accuracy']:.3f}, plateau {plat['test_accuracy']:.3f}.")
    if min(cos["train_loss"], plat["train_loss"]) < 0.5 * fixed["train_loss"]:
        print(f"Both ways of lowering the rate end with a far lower training loss than the "
              f"fixed rate ({cos['train_loss']:.4f} and {plat['train_loss']:.4f} against "
              f"{fixed['train_loss']:.4f}).")
    # "Jumping around the minimum", measured: over the last epochs, how far does each
    # run's validation loss swing (max - min), and how large is the typical change
    # from one epoch to the next? Lowering the rate is the cause under test: the
    # cosine and plateau runs are the same network with the rate brought down.
    last = min(LAST, epochs // 2)
    swing = {m: _swings(hists[m], epochs, last) for m in METHODS}
    print(f"\nValidation loss over the last {last} epochs, per initialisation: swing (max - "
          "min) and median epoch-to-epoch change")
    for m in METHODS:
        print(f"  {m:11s} swing {_range(swing[m]['swing'])}, step {_range(swing[m]['step'])}")
    calmer = {m: compare(swing[m]["swing"], swing["fixed rate"]["swing"]) for m in METHODS[1:]}
    ratio = {m: float(np.median(np.array(swing["fixed rate"]["swing"]) /
                                np.array(swing[m]["swing"]))) for m in METHODS[1:]}
    judged = n_seeds >= 3
    gap = plat["test_accuracy"] - cos["test_accuracy"]
    acc_gap = clear(np.array(plat["test_accuracy_all"]) - np.array(cos["test_accuracy_all"]))
    print(f"Plateau against cosine: {100 * gap:+.1f} points of test accuracy (median), "
          + ("within the seed-to-seed spread" if judged and acc_gap == 0 else
             "by more than the seed-to-seed spread" if judged else
             f"too few initialisations ({n_seeds}) to judge") + "; the plateau rule did not "
          "need to know the length of the run in advance.")

    # --- Step 5: the opposite move: raising the rate while the loss falls -----------------
    # Cutting on a plateau only ever lowers the rate. A rule can also raise it while
    # progress is fast: the callback above grows it 10% after every epoch whose
    # validation loss fell. Started 10x below the fixed rate, where progress is slow,
    # it is compared with that small rate kept fixed (the same initialisations).
    grow = grow_the_rate(x_train, y_train, x_test, y_test, lr / 10, n_seeds, epochs, batch_size)

    # --- Step 6: figures --------------------------------------------------------------------
    fig, (ax1, ax2, ax3) = _common.figure(1, 3, size=(4.6, 4.2))
    ep = np.arange(1, epochs + 1)
    for i, method in enumerate(METHODS):
        for k, curve in enumerate(swing[method]["curves"]):
            ax3.plot(ep[-last:], curve, color=f"C{i}", alpha=0.9 if k == 0 else 0.35,
                     label=method if k == 0 else None)
    ax3.set_yscale("log")
    ax3.set_xlabel("epoch")
    ax3.set_ylabel("validation loss")
    ax3.set_title(f"the last {last} epochs, every initialisation")
    ax3.legend(fontsize="small")
    for i, method in enumerate(METHODS):
        lrs = np.array(hists[method].history["lr"], dtype=float).reshape(epochs, -1)
        val = np.array(hists[method].history["val_loss"]).reshape(epochs, -1)
        for k in range(lrs.shape[1]):
            ax1.plot(ep, lrs[:, k], color=f"C{i}", alpha=0.8 if k == 0 else 0.3,
                     label=method if k == 0 else None)
        ax2.plot(ep, np.median(val, axis=1), color=f"C{i}", label=f"{method} (median)")
    for j, name in enumerate(("grow from lr/10", "fixed lr/10")):
        lrs = np.array(grow[name]["lr_by_epoch"], dtype=float)
        ax1.plot(ep, lrs[:, 0], color=f"C{3 + j}", alpha=0.8, label=name)
        ax2.plot(ep, np.median(grow[name]["val_by_epoch"], axis=1), color=f"C{3 + j}",
                 label=f"{name} (median)")
    for e in np.flatnonzero(cuts[:, 0]):
        ax2.axvline(e + 1, color="C2", linestyle=":", linewidth=1)
    ax1.set_yscale("log")
    ax1.set_ylim(1e-4, 2 * lr)  # the cosine's last epochs go further down
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("learning rate (last update of the epoch)")
    ax1.set_title("faint: the other initialisations")
    ax1.legend(fontsize="small")
    ax2.set_yscale("log")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation loss")
    ax2.set_title("dotted: plateau cuts, initialisation 0")
    ax2.legend(fontsize="small")
    paths = [_common.save(fig, out, "08_rates.png")]

    # --- Step 7: the takeaway ------------------------------------------------------------
    plain = [f"Lowering the rate, by plan (cosine) or when progress stalls (plateau), ends "
             f"with a training loss {fixed['train_loss'] / cos['train_loss']:.0f}x and "
             f"{fixed['train_loss'] / plat['train_loss']:.0f}x below the fixed rate's."]
    if all(c == 1 for c in calmer.values()) or (not judged and min(ratio.values()) > 3):
        plain.append(f"With the rate fixed, the validation loss keeps swinging over the last "
                     f"{last} epochs (by {_range(swing['fixed rate']['swing'])}), "
                     f"{min(ratio.values()):.0f}x or more the swings of the runs whose rate came "
                     "down: the fixed rate jumps around the minimum instead of settling into it."
                     + ("" if judged else f" ({n_seeds} initialisations: too few to judge "
                        "beyond the seed spread.)"))
    else:
        plain.append(f"The fixed rate's validation loss does not swing clearly more over the "
                     f"last {last} epochs than the lowered rates' (median ratio "
                     f"{min(ratio.values()):.1f}x): this run does not show it jumping around "
                     "the minimum.")
    plain.append(f"Plateau against cosine: {100 * gap:+.1f} points of test accuracy, "
                 + ("too few initialisations to judge." if not judged else
                    "within the seed spread, so neither wins." if acc_gap == 0 else
                    "more than the seed spread."))
    text = _common.takeaway(plain, stats=(
        f"{n_seeds} initialisations; swings paired by initialisation, fixed vs cosine "
        f"{calmer['cosine']:+d}, vs plateau {calmer['plateau']:+d} (+1: clearly calmer, "
        "paired t-test on log swings at 95%)"))

    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {**results, "n_cuts": n_cuts.tolist(), "swings": swing, "calmer": calmer,
            "last_epochs": last, "judged": judged, "plateau_vs_cosine": acc_gap,
            "grow": grow,
            "takeaway": text, "figures": paths}


LAST = 20  # the last epochs whose validation-loss swings are measured


def grow_the_rate(x_train, y_train, x_test, y_test, lr, n_seeds, epochs, batch_size):
    """Step 5: GrowWhileFalling from ``lr`` against ``lr`` kept fixed, same initialisations."""
    found = {}
    for name in ("grow from lr/10", "fixed lr/10"):
        model = build(n_models=n_seeds)
        model.compile(tn.optimizers.SGD([lr] * n_seeds if n_seeds > 1 else lr, momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        callbacks = [GrowWhileFalling()] if name.startswith("grow") else []
        hist = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                         validation_split=0.2, callbacks=callbacks, verbose=0)
        test = model.evaluate(x_test, y_test)
        rates = np.array(hist.history["lr"], dtype=float).reshape(epochs, -1)
        found[name] = {
            "train_loss_all": np.atleast_1d(hist.history["loss"][-1]).astype(float).tolist(),
            "test_accuracy_all": np.atleast_1d(test["accuracy"]).astype(float).tolist(),
            "peak_lr": rates.max(axis=0).tolist(), "final_lr": rates[-1].tolist(),
            "peak_epoch": (np.argmax(rates, axis=0) + 1).tolist(),
            "lr_by_epoch": rates.tolist(),
            "val_by_epoch": np.array(hist.history["val_loss"], dtype=float).reshape(
                epochs, -1).tolist()}
    g, f = found["grow from lr/10"], found["fixed lr/10"]
    loss_verdict = compare(g["train_loss_all"], f["train_loss_all"])
    acc_verdict = clear(np.array(g["test_accuracy_all"]) - np.array(f["test_accuracy_all"]))
    found.update(start_lr=lr, loss_verdict=loss_verdict, accuracy_verdict=acc_verdict,
                 sentence=grow_sentence(g, f, lr, loss_verdict, n_seeds >= 3))
    print(f"\nThe opposite move: GrowWhileFalling from lr {lr:g} (x1.1 after a better epoch, "
          f"x0.5 after one more than 5% worse), against lr {lr:g} kept fixed:")
    for name, r in found.items():
        if isinstance(r, dict):
            print(f"  {name:16s} train loss {np.median(r['train_loss_all']):.4f}, test accuracy "
                  f"{np.median(r['test_accuracy_all']):.3f}"
                  + (f", peak rate {_range(r['peak_lr'])} (epoch {_range(r['peak_epoch'])}), "
                     f"final rate {_range(r['final_lr'])}" if name.startswith("grow") else ""))
    print("  " + found["sentence"])
    return found


def grow_sentence(g, f, lr, verdict, judged):
    """Step 5's words: did raising the rate while the loss fell pay, and how far did it go?"""
    ratio = np.median(f["train_loss_all"]) / np.median(g["train_loss_all"])
    head = (f"Raising the rate while the validation loss falls took it from {lr:g} to "
            f"{np.median(g['peak_lr']):.2g} (median peak, epoch {np.median(g['peak_epoch']):.0f})"
            + (f" and, once the loss rose, down to {np.median(g['final_lr']):.2g}"
               if np.median(g["final_lr"]) < np.median(g["peak_lr"]) else ""))
    if not judged:
        return (head + f"; its final training loss is {ratio:.1f}x below the fixed small rate's "
                "(too few initialisations to judge against the seed spread)."
                if ratio > 1 else head + f"; its final training loss is {1 / ratio:.1f}x above "
                "the fixed small rate's (too few initialisations to judge).")
    if verdict == 1:
        return (head + f": it ends {ratio:.1f}x below the fixed small rate's training loss, "
                "clearly (paired by initialisation); growing the rate while progress is fast, "
                "and cutting it once it stops, does both halves of a schedule without planning "
                "one.")
    if verdict == -1:
        return (head + f": it ends {1 / ratio:.1f}x above the fixed small rate's training loss, "
                "clearly: here raising the rate cost more than it gained.")
    return head + ": its final training loss is within the seed spread of the fixed small rate's."


def _swings(hist, epochs, last):
    """Per copy: max - min of the validation loss over the last epochs, and the median
    absolute change from one epoch to the next over them."""
    val = np.array(hist.history["val_loss"], dtype=float).reshape(epochs, -1)[-last:]
    return {"swing": (val.max(axis=0) - val.min(axis=0)).tolist(),
            "step": np.median(np.abs(np.diff(val, axis=0)), axis=0).tolist(),
            "curves": val.T.tolist()}


def _range(values):
    return f"{min(values):.3g}..{max(values):.3g}"


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/08_reduce_on_plateau.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
