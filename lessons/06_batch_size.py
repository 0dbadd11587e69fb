# %% [markdown]
# # Lesson 6: batch size and the learning rate go together.
#
# Question: if you make the batch bigger and keep everything else, including
# the learning rate and the number of epochs, what happens? And does the
# "linear scaling rule" (multiply the rate by the same factor as the batch),
# with a warm-up for the larger rates, give the accuracy back?
#
# What you will see:
#   * batch sizes 16 to 512, each trained for the same 20 epochs three ways:
#     the rate tuned for batch 32 kept fixed; the rate scaled linearly with the
#     batch (lr = 0.05 * B / 32); and the scaled rate reached through a linear
#     warm-up over the first 5 epochs;
#   * the final training loss, the validation accuracy and the divergences of
#     each, and how many updates each batch size gets in its 20 epochs;
#   * 06_batch_size.png: final loss and validation accuracy against batch size;
#   * 06_largest_batch.png: the largest batch's three runs, epoch by epoch.
#
# Why: one epoch at batch B makes N/B updates, so a bigger batch takes fewer
# steps; each step averages more examples, so it is less noisy and can be
# longer. Past some rate, though, a step is too long for the loss surface, and
# no rule about batches changes that.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 6: batch size and the learning rate go together.

Run:  python lessons/06_batch_size.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 10-15 s on a 2-core CPU; --quick (two seeds instead of five) about 4 s.
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

# %%
VARIANTS = ("fixed rate", "linear scaling", "scaling + warm-up")


def build(seed):
    return tn.Sequential([
        tn.layers.Dense(64, activation="relu", input_dim=2),
        tn.layers.Dense(64, activation="relu"),
        tn.layers.Dense(3, activation="softmax"),
    ], seed=seed, n_models=len(VARIANTS), same_init=True)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the problem, the base rate and the batch sizes
# 2. train each batch size three ways at once
# 3. the table
# 4. what the table says
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
    batches = [16, 32, 64, 128, 256, 512]
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    print(f"SGD(momentum=0.9), {n_train} training rows, {epochs} epochs, base rate {base_lr} "
          f"at batch {base_batch}, {len(seeds)} seeds.")

    # --- Step 2: train each batch size three ways at once ------------------------------
    # For one batch size the three variants are three copies of one stacked
    # model with identical initial weights, so they see the same batches.
    shape = (len(seeds), len(batches), len(VARIANTS))
    final_loss, val_acc, diverged = np.zeros(shape), np.zeros(shape), np.zeros(shape, bool)
    curves = {}
    for b, batch in enumerate(batches):
        steps_per_epoch = int(np.ceil(n_train / batch))
        scaled = base_lr * batch / base_batch
        rates = [tn.schedules.Constant(base_lr), tn.schedules.Constant(scaled),
                 tn.schedules.Warmup(scaled, warmup_epochs * steps_per_epoch)]
        for s, seed in enumerate(seeds):
            model = build(seed)
            model.compile(tn.optimizers.SGD(rates, momentum=0.9),
                          loss="sparse_categorical_crossentropy")
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", tn.DivergenceWarning)
                hist = model.fit(x, y, epochs=epochs, batch_size=batch, validation_split=0.2,
                                 verbose=0)
            diverged[s, b] = hist.diverged
            # a diverged copy counts as a failure: loss inf, accuracy 0
            final_loss[s, b] = np.where(hist.diverged, np.inf, hist.history["loss"][-1])
            val_acc[s, b] = np.where(hist.diverged, 0.0, hist.history["val_accuracy"][-1])
            if s == 0 and batch == batches[-1]:
                curves = {"loss": np.array(hist.history["loss"]),
                          "val_accuracy": np.array(hist.history["val_accuracy"]),
                          "lr": hist.steps["lr"]}
    loss_med = np.median(final_loss, axis=0)  # (batches, variants)
    acc_med = np.median(val_acc, axis=0)
    n_div = diverged.sum(axis=0)

    # --- Step 3: the table ----------------------------------------------------------------
    print(f"\n  {'batch':>5s} {'updates':>7s} {'scaled lr':>9s}   "
          + "   ".join(f"{v:>24s}" for v in VARIANTS))
    print(f"  {'':5s} {'':7s} {'':9s}   "
          + "   ".join(f"{'loss  val acc  diverged':>24s}" for _ in VARIANTS))
    for b, batch in enumerate(batches):
        updates = epochs * int(np.ceil(n_train / batch))
        cells = [f"{_num(loss_med[b, j]):>7s} {acc_med[b, j]:8.3f} {n_div[b, j]:5d}/{len(seeds)}"
                 for j in range(len(VARIANTS))]
        print(f"  {batch:5d} {updates:7d} {base_lr * batch / base_batch:9.3g}   "
              + "   ".join(f"{c:>24s}" for c in cells))

    # --- Step 4: what the table says --------------------------------------------------------
    ref = batches.index(base_batch)
    big = len(batches) - 1
    print(f"\nFixed rate: from batch {batches[0]} to {batches[-1]} the final training loss goes "
          f"from {loss_med[0, 0]:.3f} to {loss_med[big, 0]:.3f} and the validation accuracy "
          f"from {acc_med[0, 0]:.3f} to {acc_med[big, 0]:.3f}: {batches[-1] // batches[0]}x "
          "fewer updates of the same length cannot cover the same ground.")

    def kept(j):
        """The largest batch whose median accuracy stays within 1 point of batch 32's."""
        ok = [batch for b, batch in enumerate(batches)
              if b >= ref and acc_med[b, j] >= acc_med[ref, j] - 0.01 and n_div[b, j] == 0]
        return max(ok) if ok else None

    keeps = {v: kept(j) for j, v in enumerate(VARIANTS)}
    print("Largest batch whose validation accuracy stays within one point of batch 32's, with "
          "no divergence: " + ", ".join(f"{v} {keeps[v]}" for v in VARIANTS) + ".")
    # Warm-up against no warm-up, batch by batch: fewer divergences, or (with none
    # either way) a clearly lower loss, counts as helping; the reverse as hurting.
    helped, hurt = [], []
    for b in range(ref + 1, len(batches)):
        if n_div[b, 2] != n_div[b, 1]:
            (helped if n_div[b, 2] < n_div[b, 1] else hurt).append(
                (batches[b], f"{n_div[b, 2]} diverged run(s) instead of {n_div[b, 1]}"))
        elif n_div[b, 1] == 0 and loss_med[b, 2] < 0.8 * loss_med[b, 1]:
            helped.append((batches[b], f"final loss {loss_med[b, 2]:.4f} instead of "
                                       f"{loss_med[b, 1]:.4f}"))
        elif n_div[b, 1] == 0 and loss_med[b, 1] < 0.8 * loss_med[b, 2]:
            hurt.append((batches[b], f"final loss {loss_med[b, 2]:.4f} instead of "
                                     f"{loss_med[b, 1]:.4f}"))
    verdicts = [(b, "helps", w) for b, w in helped] + [(b, "does worse", w) for b, w in hurt]
    for batch, verdict, what in sorted(verdicts):
        print(f"  Batch {batch}: the warm-up {verdict} ({what}).")
    if helped and hurt:
        print("  So here the warm-up is no reliable fix: its effect changes sign from one batch "
              f"size to the next, within what {len(seeds)} seeds can resolve.")
    both = [batches[b] for b in range(len(batches)) if n_div[b, 1] > 0 and n_div[b, 2] > 0]
    if both:
        print(f"  At batch {', '.join(map(str, both))} runs diverge with and without warm-up "
              f"(rate {base_lr * both[0] / base_batch:.3g} and up): a rate that is too large "
              "once training is under way stays too large however gently it is reached, so "
              "the linear rule stops working somewhere.")

    # --- Step 5: figures ----------------------------------------------------------------------
    fig, (ax1, ax2) = _common.figure(1, 2, size=(5.5, 4.2))
    for j, v in enumerate(VARIANTS):
        shown = np.where(np.isfinite(loss_med[:, j]), loss_med[:, j], np.nan)
        ax1.plot(batches, shown, "o-", label=v)
        ax2.plot(batches, acc_med[:, j], "o-", label=v)
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.set_xlabel("batch size")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    ax1.set_yscale("log")
    ax1.set_ylabel(f"final training loss (median of {len(seeds)} seeds)")
    ax2.set_ylabel("validation accuracy (median; diverged = 0)")
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
        "n_diverged": {v: n_div[:, j].tolist() for j, v in enumerate(VARIANTS)},
        "largest_batch_kept": keeps,
        "warmup_helped_at": [b for b, _ in helped], "warmup_hurt_at": [b for b, _ in hurt],
        "n_seeds": len(seeds),
        "figures": paths,
    }


def _num(v):
    return f"{v:.4f}" if np.isfinite(v) else "inf"


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/06_batch_size.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
