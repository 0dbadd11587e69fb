# %% [markdown]
# # Lesson 22: fine-tuning a pre-trained network: a small rate, a warm-up, a decay.
#
# Question: fine-tuning recipes (BERT's is the best known) take a network
# trained on one task and train it on a new one with a small rate, a short
# warm-up and a decay. Does a large rate really destroy what the network
# learnt first? And which part of the recipe keeps it: the small rate, the
# warm-up, or the decay?
#
# The set-up, on the 8x8 digits: a 64 -> 64 -> 64 -> 10 ReLU network is
# pre-trained on the digits 0-4 (600 images), then fine-tuned on a small set
# of the digits 5-9 (10 images per digit), with plain SGD at a small and a
# 10x larger rate, each four ways: constant, warm-up only, cosine decay only,
# warm-up then cosine decay. Every seed is pre-trained once, and all its
# fine-tunings start from that seed's pre-trained weights.
#
# What you will see, measured on images no training step used:
#   * what was learnt: the accuracy on held-out 0-4 digits, asking the network
#     to choose among its first five outputs (what pre-training taught it),
#     after fine-tuning and epoch by epoch;
#   * what is being learnt: the accuracy on held-out 5-9 digits, and, as the
#     control for what pre-training buys, the same network trained from
#     scratch on the same 50 images;
#   * how far each layer's weights moved from the pre-trained ones;
#   * the size of the fine-tuning set: the advice is that a smaller set wants
#     a lower rate. Four constant rates on 10 and on 4 images per digit, the
#     smaller set both for the same epochs and for the same number of updates
#     (it makes fewer per epoch), and which rate learns the new digits best.
#
# A note on the network: the digits are images, and a dense network treats
# their 64 pixels as 64 unrelated numbers. Networks for images usually start
# with convolutions, which share one small filter across every position (and
# vision transformers, which compare patches with each other); tinynet has
# only dense layers, which suit tabular data and do well enough on 8x8 digits.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 22: fine-tuning with a small rate, warm-up and decay, against a large rate.

Run:   python lessons/22_fine_tuning.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 4 seconds of CPU time on 2 cores (--quick: about 3).
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
PRETRAIN_LR, PRETRAIN_EPOCHS = 0.1, 30
SMALL_LR, LARGE_LR = 0.03, 0.3
PER_DIGIT, BATCH, EPOCHS = 10, 10, 40
FULL_SEEDS = 8  # seeds in the full run
SCHEDULES = ("constant", "warm-up only", "decay only", "warm-up + decay")
SMALLER, RATES = 4, (0.01, 0.03, 0.1, 0.3)  # step 6: images per digit, constant rates


def network(k, seed=0):
    """64 -> 64 -> 64 -> 10, ReLU; K copies (copy j from seed + j)."""
    return tn.Sequential([
        tn.layers.Dense(64, activation="relu", input_dim=64),
        tn.layers.Dense(64, activation="relu"),
        tn.layers.Dense(10, activation="softmax"),
    ], seed=seed, n_models=k)


def rate(kind, lr, steps):
    """The fine-tuning rate: constant, or warm-up over 10% of the updates and/or cosine decay."""
    warm = steps // 10
    if kind == "constant":
        return lr
    if kind == "warm-up only":
        return tn.schedules.Warmup(lr, warm)
    if kind == "decay only":
        return tn.schedules.CosineDecay(lr, steps)
    return tn.schedules.Warmup(tn.schedules.CosineDecay(lr, steps - warm), warm)


def old_task_accuracy(model, x, y):
    """Accuracy on digits 0-4 choosing among the first five outputs, per copy (K,)."""
    p = np.asarray(model.predict(x))[..., :5]
    return np.mean(np.argmax(p, axis=-1) == y, axis=-1).reshape(-1)


class OldTaskWatch(tn.callbacks.Callback):
    """After every epoch: what is left of the pre-trained task, per copy."""

    def __init__(self, x, y):
        self.x, self.y, self.accuracy = x, y, []

    def on_epoch_end(self, epoch, logs):
        self.accuracy.append(old_task_accuracy(self.model, self.x, self.y))


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the two tasks
# 2. pre-training on 0-4
# 3. fine-tuning on 5-9: two rates x four schedules
# 4. the control: the same 50 images from scratch
# 5. what the numbers say
# 6. a smaller fine-tuning set: does it want a lower rate?
# 7. figures, and the takeaway

# %%
def tasks():
    """Step 1: the two tasks, and images held out of every training step."""
    # --- Step 1: the two tasks. Pixels divided by 16 (0..1). Digits 0-4: 600
    # to pre-train on, the rest held out. Digits 5-9: 10 of each to fine-tune
    # on (a small data set, as fine-tuning sets are), the rest held out.
    X, y = tn.datasets.load_digits()
    X = X / 16.0
    rng = np.random.default_rng(0)
    old, new = rng.permutation(np.flatnonzero(y < 5)), rng.permutation(np.flatnonzero(y >= 5))
    tune = np.concatenate([new[y[new] == d][:PER_DIGIT] for d in range(5, 10)])
    new_test = np.setdiff1d(new, tune)
    return {"old_train": (X[old[:600]], y[old[:600]]), "old_test": (X[old[600:]], y[old[600:]]),
            "tune": (X[tune], y[tune]), "new_test": (X[new_test], y[new_test])}


def fine_tune(data, weights, k, lr, kind, scratch=False):
    """One fine-tuning run of K copies from the pre-trained weights (or from scratch)."""
    x, y = data["tune"]
    steps = EPOCHS * (len(x) // BATCH)
    model = network(k)  # scratch: seed j's initial weights, as its pre-training had
    if not scratch:
        model.set_weights(weights)
    model.compile(tn.optimizers.SGD(rate(kind, lr, steps)),
                  loss="sparse_categorical_crossentropy")
    start_loss = np.asarray(model.evaluate(x, y)["loss"], float).reshape(k)
    watch = OldTaskWatch(*data["old_test"])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", tn.DivergenceWarning)
        model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, callbacks=[watch], verbose=0)
    moved = tn.diagnostics.parameter_change(model, weights)["kernel_relative"].reshape(k, -1)
    return {"old_acc": old_task_accuracy(model, *data["old_test"]),
            "new_acc": np.asarray(model.evaluate(*data["new_test"])["accuracy"],
                                  float).reshape(k),
            "old_acc_by_epoch": np.array(watch.accuracy),  # (epochs, K)
            "moved": moved, "start_loss": start_loss, "steps": steps,
            "lr_curve": [float(rate(kind, lr, steps)(s)) if kind != "constant" else lr
                         for s in range(steps)]}


def pretrain(data, k):
    """Step 2: pre-training on 0-4; returns the weights and what they start from."""
    # --- Step 2: pre-training on 0-4, K seeds at once. The outputs 5-9 never
    # see a target, so training pushes them down: on the new digits the
    # network starts far from right.
    model = network(k)
    model.compile(tn.optimizers.SGD(PRETRAIN_LR), loss="sparse_categorical_crossentropy")
    model.fit(*data["old_train"], epochs=PRETRAIN_EPOCHS, batch_size=32, verbose=0)
    grad_old = tn.diagnostics.layer_gradient_norms(model, *data["old_train"])["kernel_grad"]
    grad_new = tn.diagnostics.layer_gradient_norms(model, *data["tune"])["kernel_grad"]
    found = {"weights": model.get_weights(),
             "old_acc": old_task_accuracy(model, *data["old_test"]),
             "grad_ratio": float(np.median(grad_new[:, 0] / grad_old[:, 0]))}
    print(f"Pre-trained on {len(data['old_train'][1])} images of 0-4 ({k} seeds, SGD "
          f"{PRETRAIN_LR}, {PRETRAIN_EPOCHS} epochs): held-out 0-4 accuracy "
          f"{np.median(found['old_acc']):.3f} (median). On the {len(data['tune'][1])} new "
          f"images its first-layer gradient is {found['grad_ratio']:.0f}x the one on the "
          "images it was trained on.")
    return found


def table(runs, start_acc):
    """Step 5's table: one line per fine-tuning run."""
    print(f"\nFine-tuned on {PER_DIGIT} images per digit 5-9, {EPOCHS} epochs, batch {BATCH} "
          f"(medians over seeds; 0-4 accuracy was {np.median(start_acc):.3f} before):")
    print(f"{'run':34s} {'0-4 kept':>9s} {'(range)':>13s} {'5-9 learnt':>10s} "
          f"{'layer-1 moved':>13s}")
    for name, r in runs.items():
        moved = f"{np.median(r['moved'][:, 0]):.0%}" if r.get("pre", True) else "-"
        print(f"{name:34s} {np.median(r['old_acc']):9.3f} ({r['old_acc'].min():.3f}.."
              f"{r['old_acc'].max():.3f}) {np.median(r['new_acc']):10.3f} {moved:>13s}")


def points(a, b):
    """Median over seeds of a - b, in accuracy points."""
    return float(np.median(a - b) * 100)


def say(runs, k):
    """Step 5: what the numbers say, each sentence chosen by them."""
    small, large = (f"lr {SMALL_LR:g}, constant", f"lr {LARGE_LR:g}, constant")
    recipe_small, recipe_large = (f"lr {SMALL_LR:g}, warm-up + decay",
                                  f"lr {LARGE_LR:g}, warm-up + decay")
    lost = points(runs[small]["old_acc"], runs[large]["old_acc"])
    rate_verdict = clear(runs[small]["old_acc"] - runs[large]["old_acc"])
    kept_more = int(np.sum(runs[small]["old_acc"] > runs[large]["old_acc"]))
    words = {1: "clearly more", -1: "clearly less", 0: "not clearly more or less"}
    spread = {1: "beyond the seed spread", -1: "beyond the seed spread", 0: "within the seed "
              "spread"}
    print(f"\n-> The rate: at a constant lr {LARGE_LR:g} the network keeps {lost:.0f} points less "
          f"of 0-4 than at lr {SMALL_LR:g} ({spread[rate_verdict]}; lr {SMALL_LR:g} kept more in "
          f"{count(kept_more, k)} seeds), and its first layer moves "
          f"{np.median(runs[large]['moved'][:, 0]):.0%} of its size against "
          f"{np.median(runs[small]['moved'][:, 0]):.0%}: "
          + ("the large steps carry the weights far from the pre-trained ones, and what they "
             "knew goes with them." if rate_verdict == 1 else
             "the rate alone does not decide what is kept."))
    parts = {}
    for kind in SCHEDULES[1:]:
        name = f"lr {LARGE_LR:g}, {kind}"
        parts[kind] = {"points": points(runs[name]["old_acc"], runs[large]["old_acc"]),
                       "verdict": clear(runs[name]["old_acc"] - runs[large]["old_acc"])}
    print(f"   The schedule at lr {LARGE_LR:g}, against the constant rate: "
          + "; ".join(f"{kind} keeps {p['points']:+.0f} points ({words[p['verdict']]})"
                      for kind, p in parts.items()) + ".")
    # When is the old task lost? The share of the constant large rate's total
    # loss that happens within the warm-up's length (the first 10% of updates).
    window = EPOCHS // 10
    curve = np.median(runs[large]["old_acc_by_epoch"], axis=1)
    start = np.median(runs[large]["start_old_acc"])
    early_share = (start - curve[window - 1]) / max(start - curve[-1], 1e-9)
    warm_curve = np.median(runs[f"lr {LARGE_LR:g}, warm-up only"]["old_acc_by_epoch"], axis=1)
    print(f"   When: the constant lr {LARGE_LR:g} run loses {early_share:.0%} of what it loses in "
          f"all, in its first {window} epochs (the warm-up's length); over those epochs the "
          f"warmed-up run is at {warm_curve[window - 1]:.3f} against {curve[window - 1]:.3f}. "
          + ("The damage is done by the first full-size steps, taken while the network is "
             "still far from the new digits; a warm-up keeps those steps small."
             if early_share > 0.5 and parts["warm-up only"]["verdict"] == 1 else
             "The damage is not concentrated at the start, so a warm-up alone cannot avoid it."
             if early_share <= 0.5 else
             "Most of the damage happens early, yet the warm-up alone does not clearly prevent "
             "it."))
    recipe = clear(runs[recipe_small]["old_acc"] - runs[small]["old_acc"])
    learnt = points(runs[recipe_small]["new_acc"], runs[small]["new_acc"])
    learnt_verdict = clear(runs[recipe_small]["new_acc"] - runs[small]["new_acc"])
    decay_small = clear(runs[f"lr {SMALL_LR:g}, decay only"]["old_acc"] - runs[small]["old_acc"])
    warm_small = clear(runs[f"lr {SMALL_LR:g}, warm-up only"]["old_acc"] - runs[small]["old_acc"])
    print(f"   At lr {SMALL_LR:g} the full recipe (warm-up + decay) keeps "
          f"{points(runs[recipe_small]['old_acc'], runs[small]['old_acc']):+.1f} points of 0-4 "
          f"against the constant rate ({words[recipe]}) and learns {learnt:+.1f} points of 5-9 "
          f"({ {1: 'clearly more', -1: 'clearly less', 0: 'within the spread'}[learnt_verdict]}): "
          + ("at a small rate there is little left for the schedule to protect."
             if recipe == 0 else "the decay (alone clearly ahead of the constant rate, the "
             "warm-up alone not) keeps more of the old task and learns less of the new one: a "
             "trade, not a free gain."
             if recipe == 1 and learnt_verdict == -1 and decay_small == 1 and warm_small != 1
             else
             "the schedule matters even at the small rate."))
    return {"points_lost_large_vs_small": lost, "rate_verdict": rate_verdict,
            "small_kept_more_seeds": kept_more, "parts_at_large_rate": parts,
            "early_share_lost": float(early_share), "recipe_vs_constant_small": recipe,
            "recipe_new_vs_constant_small": learnt_verdict,
            "small_old_acc": float(np.median(runs[small]["old_acc"])),
            "large_old_acc": float(np.median(runs[large]["old_acc"])),
            "moved_small": float(np.median(runs[small]["moved"][:, 0])),
            "moved_large": float(np.median(runs[large]["moved"][:, 0])),
            "recipe_small_old_acc": float(np.median(runs[recipe_small]["old_acc"])),
            "recipe_large_old_acc": float(np.median(runs[recipe_large]["old_acc"]))}


def say_new_task(runs, k):
    """The new task, and the control: what pre-training buys on it."""
    best = max((n for n in runs if runs[n].get("pre", True)),
               key=lambda n: np.median(runs[n]["new_acc"]))
    scratch = max((n for n in runs if not runs[n].get("pre", True)),
                  key=lambda n: np.median(runs[n]["new_acc"]))
    verdict = clear(runs[best]["new_acc"] - runs[scratch]["new_acc"])
    recipe = f"lr {SMALL_LR:g}, warm-up + decay"
    print(f"   The new digits: the best fine-tuned run ({best}) reaches "
          f"{np.median(runs[best]['new_acc']):.3f}, the small-rate recipe "
          f"{np.median(runs[recipe]['new_acc']):.3f}, and the best run from scratch ({scratch}) "
          f"{np.median(runs[scratch]['new_acc']):.3f}: pre-training on 0-4 "
          + {1: "clearly helps", -1: "clearly hurts", 0: "makes no clear difference"}[verdict]
          + " on 5-9 here"
          + (". What the small rate protects is the old task, not the new one."
             if verdict != 1 else "."))
    return {"best_fine_tuned": best, "best_scratch": scratch, "pretraining_helps": verdict,
            "recipe_small_new_acc": float(np.median(runs[recipe]["new_acc"]))}


def by_size(data, weights, k):
    """Step 6: RATES (constant) on the fine-tuning set and on its first SMALLER per digit.

    One stacked run per case, K = len(RATES) x k copies (copy a * k + s: rate a,
    seed s's pre-trained weights). The smaller set once for EPOCHS epochs, and
    once for as many updates as the full set gets in EPOCHS. Returns per case the
    held-out accuracies (rates, k), the best rate by median 5-9 accuracy, and the
    paired verdict of the best rate against the next lower one.
    """
    x, y = data["tune"]
    small = np.concatenate([np.flatnonzero(y == d)[:SMALLER] for d in range(5, 10)])
    updates = EPOCHS * (len(x) // BATCH)
    cases = {f"{PER_DIGIT} per digit, {EPOCHS} epochs": (x, y, EPOCHS),
             f"{SMALLER} per digit, {EPOCHS} epochs": (x[small], y[small], EPOCHS),
             f"{SMALLER} per digit, {updates} updates": (
                 x[small], y[small], updates // (len(small) // BATCH))}
    n = len(RATES)
    found = {}
    for name, (xc, yc, epochs) in cases.items():
        model = network(n * k)
        model.set_weights([np.concatenate([w] * n) for w in weights])
        model.compile(tn.optimizers.SGD([r for r in RATES for _ in range(k)]),
                      loss="sparse_categorical_crossentropy")
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always", tn.DivergenceWarning)
            model.fit(xc, yc, epochs=epochs, batch_size=BATCH, verbose=0)
        new = np.asarray(model.evaluate(*data["new_test"])["accuracy"], float).reshape(n, k)
        old = old_task_accuracy(model, *data["old_test"]).reshape(n, k)
        best = int(np.argmax(np.median(new, axis=1)))
        found[name] = {"images": len(yc), "epochs": epochs,
                       "updates": epochs * (len(yc) // BATCH),
                       "new_acc": new.tolist(), "old_acc": old.tolist(),
                       "best_rate": RATES[best],
                       "best_vs_lower": clear(new[best] - new[best - 1]) if best else 0}
    return found


def size_sentence(found):
    """Step 6's words: does the smaller set's best rate sit lower, at either budget?"""
    ref, same_epochs, same_updates = found.values()
    parts = []
    for case, budget in ((same_epochs, "the same epochs"), (same_updates, "the same updates")):
        lower, higher = case["best_rate"] < ref["best_rate"], case["best_rate"] > ref["best_rate"]
        parts.append(f"at {budget} ({case['updates']} updates) its best rate is "
                     f"{case['best_rate']:g}"
                     + (" (the largest tried)" if case["best_rate"] == RATES[-1] else "")
                     + (", lower" if lower else ", higher" if higher else ", the same")
                     + (", and clearly ahead of the next lower rate" if case["best_vs_lower"] == 1
                        else ", though not clearly ahead of the next lower rate"
                        if case["best_rate"] != RATES[0] else ""))
    lows = [c["best_rate"] < ref["best_rate"] for c in (same_epochs, same_updates)]
    highs = [c["best_rate"] > ref["best_rate"] for c in (same_epochs, same_updates)]
    head = (f"With {same_epochs['images']} images instead of {ref['images']}, learning the new "
            f"digits (best rate {ref['best_rate']:g} on the larger set): " + "; ".join(parts))
    # what the best rate for the new digits costs the old ones, on the smaller set
    best = RATES.index(same_epochs["best_rate"])
    kept_best = float(np.median(same_epochs["old_acc"][best]))
    kept_low = float(np.median(same_epochs["old_acc"][0]))
    cost = (f" Either way, the smaller set's best rate for the new digits keeps {kept_best:.0%} "
            f"of the old ones against {kept_low:.0%} at lr {RATES[0]:g}: the lower rate is "
            "the one that protects what pre-training taught." if kept_best < kept_low - 0.1
            else "")
    if all(lows):
        return head + ": the smaller set wants a lower rate here, as the advice says." + cost
    if any(highs) and not any(lows):
        return (head + ": contrary to the advice, the smaller set's best rate for the new "
                "digits is higher here." + cost)
    return head + ": this run does not show a smaller set wanting a lower rate." + cost


def draw(runs, out):
    """Step 6's figure: the old task epoch by epoch, and kept against learnt."""
    fig, (ax0, ax1) = _common.figure(1, 2, size=(6.0, 4.4))
    epochs = np.arange(0, EPOCHS + 1)  # epoch 0: the pre-trained weights
    for i, (name, r) in enumerate(runs.items()):
        if not r.get("pre", True):
            continue
        style = "-" if name.startswith(f"lr {LARGE_LR:g}") else "--"
        curve = np.concatenate([[np.median(r["start_old_acc"])],
                                np.median(r["old_acc_by_epoch"], axis=1)])
        ax0.plot(epochs, curve, style, color=f"C{i % 4}", label=name)
        ax1.plot(np.median(r["new_acc"]), np.median(r["old_acc"]), "o" if style == "-" else "s",
                 color=f"C{i % 4}", ms=8)
    ax0.axvline(EPOCHS // 10, color="k", ls=":", lw=0.8, label="end of the warm-up")
    ax0.set_xlabel("fine-tuning epoch")
    ax0.set_ylabel("held-out 0-4 accuracy (median of seeds)")
    ax0.set_title("what pre-training taught, while fine-tuning", fontsize="small")
    ax0.legend(fontsize="x-small")
    for name, r in runs.items():
        if not r.get("pre", True):
            ax1.plot(np.median(r["new_acc"]), np.median(r["old_acc"]), "kx", ms=8)
            ax1.annotate(name, (np.median(r["new_acc"]), np.median(r["old_acc"])),
                         fontsize="x-small")
    ax1.set_xlabel("held-out 5-9 accuracy (learnt)")
    ax1.set_ylabel("held-out 0-4 accuracy (kept)")
    ax1.set_title(f"circles lr {LARGE_LR:g}, squares lr {SMALL_LR:g}; colours as left",
                  fontsize="small")
    return [_common.save(fig, out, "22_fine_tuning.png")]


def rate_sentence(said):
    """The takeaway's words on the rate: does a large one lose what was learnt first?"""
    kept = (f"at a constant lr {LARGE_LR:g} the network kept {said['large_old_acc']:.0%} of the "
            f"old digits against {said['small_old_acc']:.0%} at lr {SMALL_LR:g}")
    recipe = f"lr {SMALL_LR:g} with warm-up and decay kept {said['recipe_small_old_acc']:.0%}"
    if said["rate_verdict"] == 1:
        return ("Large steps carry the weights far from the pre-trained ones, and what they knew "
                f"goes with them: {kept} (clearly less; the first layer moved "
                f"{said['moved_large']:.0%} of its size against {said['moved_small']:.0%}), and "
                f"{recipe}.")
    return (kept[0].upper() + kept[1:]
            + (", clearly more" if said["rate_verdict"] == -1 else ", within the seed spread")
            + f", and {recipe}: this run does not show the large rate losing more.")


def warmup_sentence(parts, early_share):
    """The takeaway's words on the warm-up at the large rate, chosen by its verdict."""
    warm, decay, window = parts["warm-up only"], parts["decay only"], EPOCHS // 10
    early = (f"the constant lr {LARGE_LR:g} run loses {early_share:.0%} of what it loses in "
             f"all in its first {window} epochs, the warm-up's length")
    if warm["verdict"] == 1 and early_share > 0.5:
        return (f"The damage is done by the first full-size steps: {early}, and at that rate a "
                f"warm-up alone wins back {warm['points']:.0f} points while the decay alone "
                + (f"wins back {decay['points']:.0f} too." if decay["verdict"] == 1 else
                   f"keeps {decay['points']:+.0f} points, not clearly more."))
    if warm["verdict"] == 1:
        return (f"At lr {LARGE_LR:g} a warm-up alone wins back {warm['points']:.0f} points, though "
                f"{early}: what it protects is not only the first steps.")
    if warm["verdict"] == -1:
        return (f"At lr {LARGE_LR:g} a warm-up alone keeps clearly less ({warm['points']:+.0f} "
                "points) than the constant rate: here it does not protect the old task.")
    return (f"At lr {LARGE_LR:g} a warm-up alone keeps {warm['points']:+.0f} points against the "
            f"constant rate, within the seed spread ({early}): this run cannot tell what the "
            "warm-up does.")


def takeaway(said, k):
    """Step 6's takeaway: print it; returns its text and whether the rate verdict holds."""
    helps = said["pretraining_helps"]
    plain = [rate_sentence(said), warmup_sentence(said["parts_at_large_rate"],
                                                  said["early_share_lost"]),
             "On the new digits pre-training "
             + {1: "helped", -1: "hurt (from scratch did clearly better)",
                0: "made no clear difference"}[helps]
             + (" here: what the small rate protects is the old task, not the new one."
                if helps != 1 else " here.")]
    stats = (f"{k} seeds, each pre-trained once and fine-tuned from those weights; 'clearly' = "
             f"a paired t-test at 95%; the small constant rate kept more of 0-4 in "
             f"{count(said['small_kept_more_seeds'], k)} seeds")
    text = _common.takeaway(plain, stats=stats)
    supported = bool(tn.metrics.wilson_interval(said["small_kept_more_seeds"], k)[0] > 0.5)
    undecided = ([] if supported else ["what the rate does"]) + (
        ["what the warm-up does"] if said["parts_at_large_rate"]["warm-up only"]["verdict"] == 0
        else [])
    small = _common.too_small(k, FULL_SEEDS, FULL_SEEDS, " and ".join(undecided))
    if small and undecided:
        print("  " + small)
    return text, supported


def main(out_dir="outputs/22_fine_tuning", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    k = 4 if quick else FULL_SEEDS
    data = tasks()
    pre = pretrain(data, k)

    # --- Step 3: fine-tuning on 5-9: two rates x four schedules, every one
    # from the same pre-trained weights of each seed.
    runs = {}
    for lr in (LARGE_LR, SMALL_LR):
        for kind in SCHEDULES:
            runs[f"lr {lr:g}, {kind}"] = fine_tune(data, pre["weights"], k, lr, kind)
    # --- Step 4: the control: the same 50 images from scratch, at both rates,
    # to see what the pre-trained start buys on the new digits.
    for lr in (LARGE_LR, SMALL_LR):
        r = fine_tune(data, pre["weights"], k, lr, "constant", scratch=True)
        runs[f"from scratch, lr {lr:g}"] = {**r, "pre": False}
    for r in runs.values():
        r["start_old_acc"] = pre["old_acc"]
    first = runs[f"lr {LARGE_LR:g}, constant"]
    print(f"The fine-tuning starts at loss {np.median(first['start_loss']):.2f} on the new "
          f"images (ln 10 = {np.log(10):.2f} is a uniform guess): far from right.")

    # --- Step 5: what the numbers say.
    table(runs, pre["old_acc"])
    said = say(runs, k)
    said.update(say_new_task(runs, k))

    # --- Step 6: a smaller fine-tuning set: does it want a lower rate? Four
    # constant rates on the 10 images per digit and on 4 of them per digit. The
    # smaller set makes fewer updates per epoch, so it runs twice: for the same
    # epochs (what a recipe would fix) and for the same number of updates.
    sizes = by_size(data, pre["weights"], k)
    print(f"\nThe size of the fine-tuning set, constant rates {', '.join(map(str, RATES))}; "
          "held-out 5-9 accuracy (0-4 kept), medians over seeds:")
    for name, c in sizes.items():
        print(f"  {name:28s} " + "  ".join(
            f"{r:g}: {np.median(a):.3f} ({np.median(o):.3f})"
            for r, a, o in zip(RATES, c["new_acc"], c["old_acc"], strict=True)))
    said["size_sentence"] = size_sentence(sizes)
    print("  " + said["size_sentence"])

    # --- Step 7: figures, and the takeaway.
    figures = draw(runs, out)
    text, supported = takeaway(said, k)
    return {**said, "seeds": k, "pretrained_old_acc": float(np.median(pre["old_acc"])),
            "grad_ratio_new_over_old": pre["grad_ratio"],
            "old_acc": {n: float(np.median(r["old_acc"])) for n, r in runs.items()},
            "new_acc": {n: float(np.median(r["new_acc"])) for n, r in runs.items()},
            "by_size": sizes, "verdict_supported": supported, "takeaway": text,
            "figures": figures}


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/22_fine_tuning.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
