# %% [markdown]
# # Lesson 18: the same "learning rate" and "momentum" are not the same update in Keras and PyTorch.
#
# Question: you port a recipe from Keras to PyTorch (or back) with the same
# rate, the same momentum and the same step-decay schedule. Do you get the same
# training?
#
# Both frameworks call it SGD with momentum, but they keep different buffers:
#
# * PyTorch keeps the raw gradients, `b <- m b + g`, and steps `p <- p - lr b`:
#   the whole buffer is multiplied by today's rate;
# * Keras keeps the steps already taken, `v <- m v - lr g`, and steps `p <- p + v`:
#   each gradient carries the rate of the update it arrived in.
#
# At a fixed rate the two are the same sequence of weights (`v = -lr b`). When a
# schedule changes the rate they part ways: after a cut, PyTorch's very next
# step is scaled down at once; Keras's keeps the old, larger steps in its buffer,
# and they fade by a factor m per update. With m = 0.9 and a tenfold cut the old
# part starts 10x larger than the new one; it falls below a tenth of it after
# about ln(1/100) / ln(0.9) = 44 updates. The lesson measures how long it takes.
#
# What you will see:
#   * 18_conventions.png: the size of every update under both conventions
#     around a tenfold cut of the rate, and the training loss of the two runs;
#   * the measured gap in the weights before the cut (rounding only) and after
#     it, the ratio of the first update after the cut to the last one before,
#     and how many updates Keras's steps take to come down to PyTorch's.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 18: the same "learning rate" and "momentum" are not the same update in Keras and PyTorch.

Run:  python lessons/18_optimizer_conventions.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 2 s on a 2-core CPU; --quick about 1 s.
"""

import sys
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import count  # noqa: E402

MOMENTUM, LR, DROP, BATCH = 0.9, 0.05, 0.1, 32


# %%
def build(seed, convention, step_size):
    """A 2-32-32-3 ReLU net and SGD(momentum 0.9) with a tenfold cut at ``step_size``."""
    layers = [tn.layers.Dense(32, activation="relu", kernel_initializer="he_normal", input_dim=2),
              tn.layers.Dense(32, activation="relu", kernel_initializer="he_normal"),
              tn.layers.Dense(3, activation="softmax")]
    schedule = tn.schedules.StepDecay(LR, step_size, drop=DROP)
    opt = tn.optimizers.SGD(schedule, momentum=MOMENTUM, convention=convention)
    model = tn.Sequential(layers, seed=seed)
    return model.compile(opt, loss="sparse_categorical_crossentropy")


def train(model, x, y, batches):
    """Every update by hand: returns (update sizes |p_t - p_(t-1)| (T,), losses (T,))."""
    sizes, losses = [], []
    before = np.concatenate([w.ravel() for w in model.get_weights()])
    for idx in batches:
        losses.append(model.train_on_batch(x[idx], y[idx]))
        after = np.concatenate([w.ravel() for w in model.get_weights()])
        sizes.append(np.linalg.norm(after - before))
        before = after
    return np.array(sizes), np.array(losses)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. one problem, one initialisation, one batch order for both conventions
# 2. train under each convention
# 3. compare: before the cut, right after it, and at the end
# 4. the figure

# %%
def main(out_dir="outputs/18_optimizer_conventions", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    tn.set_dtype("float64")  # so "identical before the cut" means to rounding, 1e-12
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    epochs = 8 if quick else 12

    # --- Step 1: the data and the batches. Both runs of a seed see the same
    # batches in the same order, so the convention is the only difference.
    x, y = tn.datasets.make_spirals(600, n_classes=3, noise=0.15, seed=0)
    x = tn.data.StandardScaler().fit_transform(x)
    per_epoch = int(np.ceil(x.shape[0] / BATCH))
    cut = per_epoch * epochs // 2  # the rate drops tenfold at this update
    rows = []
    curves = {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        batches = [order[i:i + BATCH] for _ in range(epochs)
                   for order in [rng.permutation(x.shape[0])]
                   for i in range(0, x.shape[0], BATCH)]

        # --- Step 2: train the same network twice, once per convention.
        runs = {}
        for convention in ("pytorch", "keras"):
            model = build(seed, convention, step_size=cut)
            sizes, losses = train(model, x, y, batches)
            runs[convention] = (sizes, losses, model.get_weights())
        (s_pt, l_pt, _), (s_k, l_k, _) = runs["pytorch"], runs["keras"]

        # --- Step 3: measure. Before the cut the weights must agree to rounding
        # (the first `cut` losses are the loss of the same weights). After the
        # cut, compare the first update with the last one before it; count how
        # many updates Keras needs until its steps are within 10% of PyTorch's.
        same_before = float(np.max(np.abs(l_pt[:cut] - l_k[:cut])))
        ratio_pt, ratio_k = s_pt[cut] / s_pt[cut - 1], s_k[cut] / s_k[cut - 1]
        close = np.flatnonzero(np.abs(s_k[cut:] / s_pt[cut:] - 1.0) < 0.1)  # predicted: ~44
        catch_up = int(close[0]) if close.size else None
        moved_after = float(np.sum(s_k[cut:cut + 20]) / np.sum(s_pt[cut:cut + 20]))
        rows.append({"seed": seed, "loss_gap_before": same_before, "first_ratio_pytorch": ratio_pt,
                     "first_ratio_keras": ratio_k, "keras_catch_up": catch_up,
                     "distance_ratio_20": moved_after,
                     "final_loss_pytorch": float(np.mean(l_pt[-per_epoch:])),
                     "final_loss_keras": float(np.mean(l_k[-per_epoch:]))})
        curves[seed] = runs
    tn.set_dtype("float32")

    print(f"SGD, momentum {MOMENTUM}, rate {LR} cut to {LR * DROP:g} at update {cut} "
          f"({len(seeds)} seeds, {epochs} epochs of {per_epoch} updates):")
    print(" seed  loss gap before cut  1st step after/before  Keras steps   "
          "Keras/PyTorch distance   last-epoch loss")
    print("                         PyTorch    Keras        back to PyTorch's  "
          "in 20 updates after      PyTorch  Keras")
    for r in rows:
        catch = "never" if r["keras_catch_up"] is None else f"{r['keras_catch_up']} updates"
        print(f"  {r['seed']:3d}  {r['loss_gap_before']:.1e}            "
              f"{r['first_ratio_pytorch']:.3f}     {r['first_ratio_keras']:.3f}       "
              f"{catch:>13}      {r['distance_ratio_20']:.2f}x                  "
              f"{r['final_loss_pytorch']:.4f}  {r['final_loss_keras']:.4f}")
    gap = max(r["loss_gap_before"] for r in rows)
    pt = np.median([r["first_ratio_pytorch"] for r in rows])
    ke = np.median([r["first_ratio_keras"] for r in rows])
    dist = np.median([r["distance_ratio_20"] for r in rows])
    print(f"Before the cut the two conventions are one run (largest loss gap {gap:.1e}, "
          "rounding). At the cut PyTorch's next step shrinks to "
          f"{pt:.2f}x the one before (the whole buffer times the new rate); Keras's only "
          f"to {ke:.2f}x (its stored steps keep the old rate), and over the next 20 "
          f"updates Keras moves the weights {dist:.1f}x as far as PyTorch does "
          "(medians over the seeds).")
    catch = [r["keras_catch_up"] for r in rows if r["keras_catch_up"] is not None]
    predicted = np.log(DROP * 0.1) / np.log(MOMENTUM)
    if catch:
        print(f"Keras's steps came within 10% of PyTorch's after {min(catch)} to {max(catch)} "
              f"updates; the fading of the old buffer alone predicts {predicted:.0f}.")
    diffs = [r["final_loss_keras"] - r["final_loss_pytorch"] for r in rows]
    print("Last-epoch loss, Keras minus PyTorch, per seed: "
          + ", ".join(f"{d:+.4f}" for d in diffs)
          + ". " + ("Its sign changes between seeds: after the cut the two runs differ, "
                    "but neither convention is better here."
                    if min(diffs) < 0 < max(diffs) else
                    "Same sign for every seed here; with this few seeds that is a hint, "
                    "not a rule."))

    # --- Step 4: the figure: update sizes around the cut, and the losses.
    fig, (ax_steps, ax_loss) = _common.figure(1, 2, size=(6.4, 4.2))
    sizes_pt, losses_pt, _ = curves[seeds[0]]["pytorch"]
    sizes_k, losses_k, _ = curves[seeds[0]]["keras"]
    window = np.arange(max(cut - 30, 0), min(cut + 60, len(sizes_pt)))
    ax_steps.semilogy(window, sizes_pt[window], label='convention="pytorch"')
    ax_steps.semilogy(window, sizes_k[window], "--", label='convention="keras"')
    ax_steps.axvline(cut, color="grey", linewidth=0.8)
    ax_steps.set(xlabel="update", ylabel="|update| (all weights)",
                 title=f"rate x{DROP:g} at update {cut} (seed {seeds[0]})")
    ax_steps.legend()
    steps = np.arange(len(losses_pt))
    ax_loss.plot(steps, losses_pt, linewidth=0.7, label="pytorch")
    ax_loss.plot(steps, losses_k, linewidth=0.7, alpha=0.7, label="keras")
    ax_loss.axvline(cut, color="grey", linewidth=0.8)
    ax_loss.set(xlabel="update", ylabel="batch loss", yscale="log", title="training loss")
    ax_loss.legend()
    path = _common.save(fig, out, "18_conventions.png")

    # --- Step 5: the takeaway.
    same = gap < 1e-9
    sentences = [("At a fixed rate the two conventions are the same run, to rounding." if same
                  else f"Even at a fixed rate the conventions differ (loss gap {gap:.1e})."),
                 f"After a tenfold cut they part: PyTorch's steps shrink at once ({pt:.2f}x), "
                 f"Keras's only to {ke:.2f}x, so Keras moves {dist:.1f}x as far in the next 20 "
                 "updates" + (f" and takes {min(catch)} to {max(catch)} updates to come within "
                              "10% of PyTorch's steps." if catch else ".")]
    judged = len(rows) >= 5
    keras_lower = sum(d < 0 for d in diffs)
    if min(diffs) < 0 < max(diffs):
        sentences.append("Neither convention ends clearly lower: the sign of the loss "
                         "difference changes between seeds.")
    else:
        sentences.append(f"Keras ends {'lower' if keras_lower else 'higher'} in every seed, but "
                         + ("a seed count this small cannot make that a rule." if not judged
                            else "that is a property of this run, not a rule."))
    _common.takeaway(sentences, stats=(
        f"{len(rows)} seeds; Keras's last-epoch loss lower in {count(keras_lower, len(rows))}"))
    return {"rows": rows, "cut": cut, "loss_gap_before": gap, "predicted_catch_up": predicted,
            "first_ratio_pytorch": pt, "first_ratio_keras": ke, "distance_ratio_20": dist,
            "figures": [path]}


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/18_optimizer_conventions.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
