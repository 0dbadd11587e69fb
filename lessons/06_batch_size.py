# %% [markdown]
# # Lesson 6: batch size and the learning rate go together.
#
# Question: if you make the batch bigger and keep everything else, including
# the learning rate and the number of epochs, what happens? And does the
# "linear scaling rule" (multiply the rate by the same factor as the batch),
# with a warm-up for the larger rates, give the accuracy back?
#
# What you will see:
#   * batch sizes 16 to 512, each trained for the same 20 epochs four ways:
#     the rate tuned for batch 32 kept fixed; the rate scaled linearly with the
#     batch (lr = 0.05 * B / 32); the scaled rate reached through a linear
#     warm-up over the first 5 epochs; and, as the warm-up's control, the
#     scaled rate for only 15 epochs (as many full-rate epochs as the warm-up
#     run gets) and then stopped;
#   * the final training loss and validation accuracy of each (medians and the
#     spread over seeds), how many runs went NaN/inf (with a 95% interval) or
#     grew past 4x their best loss and trained on, and how many updates each
#     batch size gets in its 20 epochs;
#   * every comparison checked against the seed-to-seed spread (a paired
#     t-test over seeds): where the gap is within the noise, the lesson says
#     it cannot tell;
#   * 06_batch_size.png: final loss (band: seeds) and validation accuracy
#     against batch size;
#   * 06_largest_batch.png: the largest batch's four runs, epoch by epoch.
#
# Why: one epoch at batch B makes N/B updates, so a bigger batch takes fewer
# steps; each step averages more examples, so it is less noisy and can be
# longer. Training observes here: no run is stopped for a growing loss, so a
# rate that is too large shows up as a worse final loss, or as NaN/inf if it
# really blows up. A warm-up spends epochs below the full rate, so against a
# run at the full rate throughout it pays in epochs; the 15-epoch control
# separates that cost from whatever the gentle start itself does.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 6: batch size and the learning rate go together.

Run:  python lessons/06_batch_size.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 10-15 s on a 2-core CPU; --quick (two seeds instead of five) about 5 s.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import compare, count  # noqa: E402

# %%
VARIANTS = ("fixed rate", "linear scaling", "scaling + warm-up", "scaled, 15 epochs")


def build(seed):
    return tn.Sequential([
        tn.layers.Dense(64, activation="relu", input_dim=2),
        tn.layers.Dense(64, activation="relu"),
        tn.layers.Dense(3, activation="softmax"),
    ], seed=seed, n_models=len(VARIANTS), same_init=True)


# two-sided 95% points of Student's t for n - 1 = 1, 2, ... degrees of freedom


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the problem, the base rate and the batch sizes
# 2. train each batch size four ways at once
# 3. the table
# 4. what the table says: the fixed rate, non-finite runs, the linear rule, warm-up
# 5. figures

# %%
def main(out_dir="outputs/06_batch_size", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: the problem, the base rate and the batch sizes ----------------------
    x, y = tn.datasets.make_spirals(3000, n_classes=3, noise=0.25, turns=1.25, seed=0)
    x = tn.data.StandardScaler().fit_transform(x)
    n_train = int(np.ceil(0.8 * len(x)))
    base_batch, base_lr, epochs, warmup_epochs = 32, 0.05, 20, 5
    full_epochs = epochs - warmup_epochs  # epochs the warm-up run spends at the full rate
    batches = [16, 32, 64, 128, 256, 512]
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    n = len(seeds)
    # with two seeds a "clear" gap is a rough check: say so next to every verdict
    caveat = (f" (only {n} seeds: too few to be sure; the full run uses 5)" if n < 3 else "")
    print(f"SGD(momentum=0.9), {n_train} training rows, {epochs} epochs, base rate {base_lr} "
          f"at batch {base_batch}, {n} seeds.")

    # --- Step 2: train each batch size four ways at once ------------------------------
    # For one batch size the variants are copies of one stacked model with
    # identical initial weights and batch order (same_init=True), so within a
    # seed they differ by the schedule alone. The warm-up spends its first 5
    # epochs below the full rate, so it has only 15 epochs at that rate; the
    # fourth copy is its control: the scaled rate for 15 epochs and then rate 0
    # (its weights stay those of epoch 15), as many full-rate epochs as the
    # warm-up run and no warm-up. Training observes: only a NaN/inf loss would
    # end a copy; a loss that grows past 4x its best is recorded and trains on.
    shape = (n, len(batches), len(VARIANTS))
    final_loss, val_acc = np.zeros(shape), np.zeros(shape)
    nonfinite, grew = np.zeros(shape, bool), np.zeros(shape, bool)
    curves = {}
    for b, batch in enumerate(batches):
        steps_per_epoch = int(np.ceil(n_train / batch))
        scaled = base_lr * batch / base_batch
        rates = [tn.schedules.Constant(base_lr), tn.schedules.Constant(scaled),
                 tn.schedules.Warmup(scaled, warmup_epochs * steps_per_epoch),
                 tn.schedules.PiecewiseConstantDecay([full_epochs * steps_per_epoch - 1],
                                                     [scaled, 0.0])]
        for s, seed in enumerate(seeds):
            model = build(seed)
            model.compile(tn.optimizers.SGD(rates, momentum=0.9),
                          loss="sparse_categorical_crossentropy")
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", tn.DivergenceWarning)
                hist = model.fit(x, y, epochs=epochs, batch_size=batch, validation_split=0.2,
                                 verbose=0)
            nonfinite[s, b], grew[s, b] = hist.diverged, hist.grew
            # a non-finite copy counts as a failure: loss inf, accuracy 0
            final_loss[s, b] = np.where(hist.diverged, np.inf, hist.history["loss"][-1])
            val_acc[s, b] = np.where(hist.diverged, 0.0, hist.history["val_accuracy"][-1])
            if s == 0 and batch == batches[-1]:
                curves = {"loss": np.array(hist.history["loss"]),
                          "val_accuracy": np.array(hist.history["val_accuracy"]),
                          "lr": hist.steps["lr"]}
    loss_med = np.median(final_loss, axis=0)  # (batches, variants)
    acc_med = np.median(val_acc, axis=0)
    n_bad, n_grew = nonfinite.sum(axis=0), grew.sum(axis=0)

    # --- Step 3: the table ----------------------------------------------------------------
    print(f"\nFinal training loss and validation accuracy, medians of {n} seeds "
          f"(\"{VARIANTS[3]}\": the scaled rate for {full_epochs} epochs, then stopped)")
    print(f"  {'batch':>5s} {'updates':>7s} {'scaled lr':>9s}   "
          + "  ".join(f"{v:>18s}" for v in VARIANTS))
    for b, batch in enumerate(batches):
        updates = epochs * int(np.ceil(n_train / batch))
        cells = [f"{_num(loss_med[b, j]):>7s} {acc_med[b, j]:6.3f}" for j in range(len(VARIANTS))]
        print(f"  {batch:5d} {updates:7d} {base_lr * batch / base_batch:9.3g}   "
              + "  ".join(f"{c:>18s}" for c in cells))

    # --- Step 4: what the table says --------------------------------------------------------
    ref = batches.index(base_batch)
    big = len(batches) - 1
    verdict = {1: "clearly lower than", -1: "clearly higher than", 0: "not clearly different from"}
    fixed_gap = compare(final_loss[:, ref, 0], final_loss[:, big, 0])
    print(f"\nFixed rate: from batch {batches[0]} to {batches[-1]} the final training loss goes "
          f"from {loss_med[0, 0]:.3f} to {loss_med[big, 0]:.3f} and the validation accuracy "
          f"from {acc_med[0, 0]:.3f} to {acc_med[big, 0]:.3f}. Batch {base_batch}'s final loss "
          f"is {verdict[fixed_gap]} batch {batches[-1]}'s (paired by seed; clear means "
          f"larger than the seed-to-seed spread){caveat}.")
    if fixed_gap == 1:
        print(f"  {batches[-1] // batches[0]}x fewer updates of the same length cannot cover "
              "the same ground.")

    # Non-finite runs, counted over every batch size: the old stopping rule
    # (4x the best loss) called some of these runs diverged; with training
    # continued the count is what it is.
    total = n * len(batches)
    print(f"\nRuns whose loss went NaN or inf, over all {len(batches)} batch sizes x {n} seeds: "
          + "; ".join(f"{v} {count(n_bad[:, j].sum(), total)}" for j, v in enumerate(VARIANTS))
          + ". Runs whose loss grew past 4x its best at some epoch and trained on: "
          + "; ".join(f"{v} {int(n_grew[:, j].sum())}" for j, v in enumerate(VARIANTS)) + ".")

    def kept(j):
        """The largest batch whose median accuracy stays within 1 point of batch 32's."""
        ok = [batch for b, batch in enumerate(batches)
              if b >= ref and acc_med[b, j] >= acc_med[ref, j] - 0.01 and n_bad[b, j] == 0]
        return max(ok) if ok else None

    keeps = {v: kept(j) for j, v in enumerate(VARIANTS)}
    print("Largest batch whose median validation accuracy stays within one point of batch "
          f"{base_batch}'s: " + ", ".join(f"{v} {keeps[v]}" for v in VARIANTS) + ".")

    # The linear rule at the largest batch: does it blow up, or train worse?
    lin_gap = compare(final_loss[:, ref, 1], final_loss[:, big, 1])
    lin_ratio = loss_med[big, 1] / loss_med[ref, 1]
    lin_drop = acc_med[ref, 1] - acc_med[big, 1]
    blew = int(n_bad[big, 1])
    print(f"Linear scaling at batch {batches[-1]} (rate {base_lr * batches[-1] / base_batch:.3g}): "
          f"{count(blew, n)} seeds went non-finite; the final training loss is "
          f"{lin_ratio:.1f}x batch {base_batch}'s (median {_num(loss_med[big, 1])}, seeds "
          f"{_range(final_loss[:, big, 1])}, against {_range(final_loss[:, ref, 1])}) and the "
          f"validation accuracy {100 * lin_drop:.1f} points lower ({acc_med[big, 1]:.3f} "
          f"against {acc_med[ref, 1]:.3f}).")
    if blew == 0 and lin_gap == 1:
        print(f"  So with training continued the large scaled rate does not blow up: it trains "
              f"worse, by more than the seed-to-seed spread{caveat}.")
    elif blew == 0:
        print(f"  No run blew up, and the loss at batch {batches[-1]} is not clearly worse than at "
              f"{base_batch}: the gap is within the seed-to-seed spread{caveat}.")

    # Warm-up, batch by batch, against two references: linear scaling (same 20
    # epochs, but 5 more of them at the full rate) and the 15-epoch control
    # (the same number of full-rate epochs, no warm-up). Losing to the first
    # and not to the second means the warm-up's cost is the epochs it uses.
    print(f"\nWarm-up ({warmup_epochs} of {epochs} epochs), final training loss against "
          "linear scaling (20 epochs at the full rate) and against the control "
          f"({full_epochs} epochs at the full rate, no warm-up):")
    vs_scaling, vs_control, control_vs_scaling = {}, {}, {}
    for b in range(ref + 1, len(batches)):
        vs_scaling[batches[b]] = compare(final_loss[:, b, 2], final_loss[:, b, 1])
        vs_control[batches[b]] = compare(final_loss[:, b, 2], final_loss[:, b, 3])
        control_vs_scaling[batches[b]] = compare(final_loss[:, b, 3], final_loss[:, b, 1])
        print(f"  batch {batches[b]:3d}: warm-up {_num(loss_med[b, 2])}, "
              f"{verdict[vs_scaling[batches[b]]]} scaling {_num(loss_med[b, 1])} and "
              f"{verdict[vs_control[batches[b]]]} the control {_num(loss_med[b, 3])}")
    tally = {name: {w: [bt for bt, c in d.items() if c == k] for k, w in
                    ((1, "better"), (-1, "worse"), (0, "unclear"))}
             for name, d in (("scaling", vs_scaling), ("control", vs_control))}
    for name, what in (("scaling", "linear scaling for all 20 epochs"),
                       ("control", f"the same {full_epochs} full-rate epochs without warm-up")):
        t = tally[name]
        print(f"  Against {what}: the warm-up is clearly better at batch "
              f"{_list(t['better'])}, clearly worse at {_list(t['worse'])}, and within the "
              f"seed-to-seed spread (cannot tell) at {_list(t['unclear'])}{caveat}.")
    # Is a loss to linear scaling the ramp's doing or the lost epochs'? Remove the
    # ramp and keep the lost epochs (the control): if the control loses too, the
    # epochs explain it; if only the warm-up loses, the ramp itself costs.
    for bt in tally["scaling"]["worse"]:
        if control_vs_scaling[bt] == -1 and vs_control[bt] == 0:
            why = ("the control (no ramp, the same 15 full-rate epochs) loses to it as well "
                   "and is not clearly different from the warm-up: the cost is the epochs "
                   "spent below the full rate, not the ramp")
        elif vs_control[bt] == -1:
            why = "it is also clearly worse than the control, so the ramp itself costs here"
        else:
            why = ("the control is not clearly worse than linear scaling, so this run cannot "
                   "say whether the ramp or the lost epochs cost")
        print(f"  Batch {bt}: the warm-up loses to linear scaling; {why}{caveat}.")
    unclear = all(not t["better"] and not t["worse"] for t in tally.values())
    if unclear:
        print(f"  With {n} seeds every warm-up difference is within the seed-to-seed spread: "
              "this run cannot tell whether the warm-up helps or hurts at any batch size"
              + ("" if n >= 3 else f"{caveat}") + ".")
    elif not tally["scaling"]["better"] and not tally["control"]["better"]:
        print("  Nowhere did the warm-up clearly help.")
    if int(n_bad[:, 1].sum()) == 0:
        print(f"  What the run does show: without warm-up no batch size went non-finite "
              f"({count(0, total)} runs), so here the warm-up is not needed to keep training "
              "finite; " + ("the largest scaled rate trains clearly worse instead."
                            if lin_gap == 1 else "whether the largest scaled rate trains "
                            "worse, this run cannot tell."))

    # --- Step 5: figures ----------------------------------------------------------------------
    fig, (ax1, ax2) = _common.figure(1, 2, size=(5.5, 4.2))
    for j, v in enumerate(VARIANTS):
        shown = np.where(np.isfinite(loss_med[:, j]), loss_med[:, j], np.nan)
        ax1.plot(batches, shown, "o-", label=v, color=f"C{j}")
        lo, hi = final_loss[:, :, j].min(axis=0), final_loss[:, :, j].max(axis=0)
        ax1.fill_between(batches, lo, hi, color=f"C{j}", alpha=0.12)
        ax2.plot(batches, acc_med[:, j], "o-", label=v, color=f"C{j}")
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.set_xlabel("batch size")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    ax1.set_yscale("log")
    ax1.set_ylabel(f"final training loss (median, band: {n} seeds)")
    ax2.set_ylabel("validation accuracy (median; non-finite = 0)")
    paths = [_common.save(fig, out, "06_batch_size.png")]
    fig, (ax1, ax2) = _common.figure(1, 2, size=(5.5, 4.2))
    ep = np.arange(1, len(curves["loss"]) + 1)
    for j, v in enumerate(VARIANTS):
        ax1.plot(ep, curves["loss"][:, j], label=v)
        ax2.plot(np.arange(1, curves["lr"].shape[0] + 1), curves["lr"][:, j], label=v)
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss")
    ax1.set_title(f"batch {batches[-1]}, seed {seeds[0]}")
    ax1.legend(fontsize="small")
    ax2.set_xlabel("update")
    ax2.set_ylabel("learning rate")
    ax2.set_title(f"{curves['lr'].shape[0]} updates in {epochs} epochs")
    ax2.legend(fontsize="small")
    paths.append(_common.save(fig, out, "06_largest_batch.png"))
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {
        "batch_sizes": batches,
        "final_loss": {v: loss_med[:, j].tolist() for j, v in enumerate(VARIANTS)},
        "val_accuracy": {v: acc_med[:, j].tolist() for j, v in enumerate(VARIANTS)},
        "final_loss_seeds": {v: final_loss[:, :, j].tolist() for j, v in enumerate(VARIANTS)},
        "n_nonfinite": {v: n_bad[:, j].tolist() for j, v in enumerate(VARIANTS)},
        "n_grew": {v: n_grew[:, j].tolist() for j, v in enumerate(VARIANTS)},
        "largest_batch_kept": keeps,
        "linear_largest_loss_ratio": float(lin_ratio),
        "linear_largest_accuracy_drop": float(lin_drop),
        "linear_largest_clearly_worse": lin_gap == 1,
        "warmup_vs_scaling": vs_scaling, "warmup_vs_control": vs_control,
        "control_vs_scaling": control_vs_scaling,
        "n_seeds": n,
        "figures": paths,
    }


def _num(v):
    return f"{v:.4f}" if np.isfinite(v) else "inf"


def _range(values):
    return f"{np.min(values):.3f}..{np.max(values):.3f}"


def _list(items):
    return ", ".join(map(str, items)) if items else "none"


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/06_batch_size.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
