# %% [markdown]
# # Lesson 21: do small batches generalise better, or do they only take more steps?
#
# Question: it is often said that small batches, being noisier, generalise
# better. But at the same number of epochs a batch of 16 makes 32x more
# updates than a batch of 512. Which one is it: the batch, or the updates?
# And the usual fix for large batches, the linear scaling rule (multiply the
# rate by the batch factor), with a warm-up: does it give the accuracy back?
#
# The set-up: 512 training points of two spirals (noise 0.2, standardised),
# 2000 test points, a 2 -> 64 -> 64 -> 2 ReLU network, plain SGD. Every run is
# a stacked model of the same seeds (copy k starts from seed k's weights in
# every run, so the comparisons are paired by seed).
#
# What you will see:
#   * batch 16 and batch 512 at the same rate and the same epochs, then batch
#     512 for 32x the epochs: the same number of updates as batch 16;
#   * test accuracy, test loss and the test-minus-train loss gap of each;
#   * the linear scaling rule at batch 128 (8x batch 16, so 8x its rate) and
#     512 (32x), each from a cold start and after a linear warm-up over the
#     first 5 epochs, with the sharpness (the largest curvature of the loss)
#     at the start and after the warm-up, against the stability bound 2 / lr;
#   * the two other levers on a model that under-performs, at batch 16:
#     capacity (one hidden layer of 5 units, the size of lesson 10's recipe;
#     the same made deeper, four layers of 5; or wider, one layer of 64) and
#     regularisation (weight decay 1e-3 on the 64 -> 64 network), each judged
#     by its training accuracy and its test-minus-train gap;
#   * 21_batch_size.png: test accuracy per run (dots: seeds), and the
#     test loss against the number of updates.
#
# Underfitting and overfitting call for opposite fixes: a model that cannot
# fit its own training points needs more capacity (more layers or more units),
# one whose test loss runs away from its training loss needs less freedom
# (regularisation). Weight decay, which tinynet's optimisers have, pulls every
# weight a little towards 0 at each update; dropout, which zeroes a random
# share of the units at each update, is the other common regulariser, and
# tinynet has no Dropout layer.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 21: batch 16 against 512 at equal epochs and at equal updates; linear scaling, warm-up.

Run:   python lessons/21_batch_size_at_equal_updates.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 6 seconds of CPU time on 2 cores (--quick: about 3).
"""

import sys
import warnings
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import clear, compare, count  # noqa: E402

# %%
N_TRAIN, SMALL, LARGE, MIDDLE = 512, 16, 512, 128
LR, WARMUP_EPOCHS = 0.1, 5
FULL_SEEDS = 8  # seeds in the full run


def build(k, learning_rate, widths=(64, 64), weight_decay=0.0):
    """2 -> 64 -> 64 -> 2 ReLU network (or other hidden widths), SGD; copy j from seed j."""
    model = tn.Sequential(
        [tn.layers.Dense(widths[0], activation="relu", input_dim=2)]
        + [tn.layers.Dense(w, activation="relu") for w in widths[1:]]
        + [tn.layers.Dense(2, activation="softmax")], seed=0, n_models=k)
    model.compile(tn.optimizers.SGD(learning_rate, weight_decay=weight_decay),
                  loss="sparse_categorical_crossentropy")
    return model


def train(data, k, batch, learning_rate, epochs, **network):
    """One run of K seeds; returns its scores per seed and its per-update losses.

    network: widths and weight_decay for build (default: 64 -> 64, none).
    """
    x_train, y_train, x_test, y_test = data
    model = build(k, learning_rate, **network)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", tn.DivergenceWarning)
        h = model.fit(x_train, y_train, epochs=epochs, batch_size=batch, verbose=0)
    train_scores, test_scores = model.evaluate(x_train, y_train), model.evaluate(x_test, y_test)
    return {
        "batch": batch, "epochs": epochs, "updates": epochs * (N_TRAIN // batch),
        "train_loss": np.asarray(train_scores["loss"], float).reshape(k),
        "train_acc": np.asarray(train_scores["accuracy"], float).reshape(k),
        "test_loss": np.asarray(test_scores["loss"], float).reshape(k),
        "test_acc": np.asarray(test_scores["accuracy"], float).reshape(k),
        "step_loss": np.asarray(h.steps["loss"], float).reshape(-1, k),
        "non_finite": int(np.sum(np.asarray(h.diverged))),
    }


def show(name, r):
    gap = r["test_loss"] - r["train_loss"]
    print(f"  {name:34s} {r['updates']:6d} updates  test acc {np.median(r['test_acc']):.3f} "
          f"({r['test_acc'].min():.3f}..{r['test_acc'].max():.3f})  test loss "
          f"{np.median(r['test_loss']):.3f}  gap {np.median(gap):+.3f}"
          + (f"  ({r['non_finite']} NaN/inf)" if r["non_finite"] else ""))


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the data
# 2. batch 16 and 512 at the same rate and epochs
# 3. the control: batch 512 for as many updates as batch 16
# 4. the linear scaling rule, cold and warmed up
# 5. capacity and regularisation: the other levers
# 6. figures, and the takeaway

# %%
def equal_updates(data, k, epochs):
    """Steps 2-3: the batch against the number of updates."""
    # --- Step 2: batch 16 and 512 at the same rate and the same epochs; the
    # large batch makes 32x fewer updates.
    runs = {"batch 16": train(data, k, SMALL, LR, epochs),
            "batch 512, same epochs": train(data, k, LARGE, LR, epochs)}
    # --- Step 3: the control. Batch 512 for 32x the epochs: as many updates
    # as batch 16, each averaging 32x more examples. What is left of the
    # difference is the batch's own effect (its gradient noise); what went is
    # the number of updates.
    runs["batch 512, same updates"] = train(data, k, LARGE, LR, epochs * LARGE // SMALL)
    print(f"SGD lr {LR}, {k} seeds (median, range over seeds; gap = test - train loss):")
    for name, r in runs.items():
        show(name, r)
    small, same_epochs, same_updates = (runs[n] for n in runs)
    points_epochs = np.median(small["test_acc"] - same_epochs["test_acc"]) * 100
    points_updates = np.median(small["test_acc"] - same_updates["test_acc"]) * 100
    verdict_epochs = clear(small["test_acc"] - same_epochs["test_acc"])
    verdict_updates = clear(small["test_acc"] - same_updates["test_acc"])
    gap_verdict = clear((small["test_loss"] - small["train_loss"])
                        - (same_updates["test_loss"] - same_updates["train_loss"]))
    better = int(np.sum(small["test_acc"] > same_updates["test_acc"]))
    diff = (small["test_acc"] - same_updates["test_acc"]) * 100
    half = _common.T95[min(k - 1, len(_common.T95)) - 1] * np.std(diff, ddof=1) / np.sqrt(k)
    words = {1: "clearly above", -1: "clearly below", 0: "not clearly different from"}
    print(f"\n-> At the same epochs batch 16's test accuracy is {words[verdict_epochs]} batch "
          f"512's (by {points_epochs:.1f} points). At the same updates it is "
          f"{words[verdict_updates]} it ({points_updates:+.1f} points, 95% interval of the mean "
          f"{np.mean(diff) - half:+.1f}..{np.mean(diff) + half:+.1f}; higher in "
          f"{count(better, k)} seeds), and its test-train gap is "
          + {1: "clearly wider", -1: "clearly narrower", 0: "not clearly different"}[gap_verdict]
          + ".")
    if verdict_epochs == 1 and verdict_updates != 1:
        cost = (same_updates["updates"] * LARGE) / (small["updates"] * SMALL)
        print("   So the small batch's advantage here is its number of updates: give the large "
              f"batch as many and it catches up, at {cost:.0f}x the examples processed. "
              + (f"It even ends {-points_updates:.1f} points ahead: here the noisier gradients "
                 "of batch 16 cost a little rather than help."
                 if verdict_updates == -1 else
                 f"Any effect of batch 16's noisier gradients is within {half:.1f} points."))
    elif verdict_updates == 1:
        print("   Batch 16 stays ahead at equal updates: part of its advantage is the batch "
              "itself, beyond the number of steps.")
    return runs, {"points_same_epochs": float(points_epochs),
                  "points_same_updates": float(points_updates),
                  "small_better_same_epochs": verdict_epochs,
                  "small_better_same_updates": verdict_updates,
                  "gap_verdict_same_updates": gap_verdict, "small_higher_seeds": better,
                  "points_same_updates_halfwidth": float(half)}


def scaled(data, k, epochs, batch):
    """Step 4 for one batch size: the linear scaling rule, cold and warmed up."""
    x_train, y_train = data[0], data[1]
    factor = batch // SMALL
    target, warm_steps = factor * LR, WARMUP_EPOCHS * (N_TRAIN // batch)
    # Sharpness at the start: gradient descent is stable on the local
    # quadratic only while lr < 2 / sharpness (lesson 1); above it the first
    # updates overshoot.
    start = build(k, target)
    sharp_start = np.asarray(tn.diagnostics.sharpness(start, x_train, y_train), float)
    cold = train(data, k, batch, target, epochs)
    warm = train(data, k, batch, tn.schedules.Warmup(target, warm_steps), epochs)
    # The warmed-up run again, stopped at the end of its warm-up, to measure
    # the sharpness the full rate meets when it arrives.
    during = build(k, tn.schedules.Warmup(target, warm_steps))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", tn.DivergenceWarning)
        during.fit(x_train, y_train, epochs=WARMUP_EPOCHS, batch_size=batch, verbose=0)
    sharp_after = np.asarray(tn.diagnostics.sharpness(during, x_train, y_train), float)
    first = cold["step_loss"][: warm_steps]
    return {"batch": batch, "lr": target, "cold": cold, "warm": warm,
            "bound_start": float(np.median(2 / sharp_start)),
            "bound_after_warmup": float(np.median(2 / sharp_after)),
            "cold_above_bound": int(np.sum(target > 2 / sharp_start)),
            "warm_above_bound": int(np.sum(target > 2 / sharp_after)),
            "cold_peak_over_start": float(np.median(np.nanmax(first, axis=0) / first[0]))}


def say_scaled(s, small, k):
    """What the scaling rule did at one batch size, worded from its numbers."""
    words = {1: "clearly above", -1: "clearly below", 0: "not clearly different from"}
    cold_vs_small = clear(s["cold"]["test_acc"] - small["test_acc"])
    warm_vs_small = clear(s["warm"]["test_acc"] - small["test_acc"])
    warm_vs_cold = compare(s["warm"]["test_loss"], s["cold"]["test_loss"])
    print(f"  batch {s['batch']} at lr {s['lr']:g}: the stability bound 2/sharpness is "
          f"{s['bound_start']:.2f} at the start (the rate is above it in "
          f"{count(s['cold_above_bound'], k)} seeds) and {s['bound_after_warmup']:.2f} after "
          f"the {WARMUP_EPOCHS}-epoch warm-up (above it in {count(s['warm_above_bound'], k)}); "
          f"the cold start's loss peaks at {s['cold_peak_over_start']:.1f}x its first value "
          f"during those epochs.")
    print(f"    test accuracy vs batch 16: cold {words[cold_vs_small]}, warmed up "
          f"{words[warm_vs_small]}; warmed up against cold, test loss "
          + {1: "clearly lower", -1: "clearly higher", 0: "not clearly different"}[warm_vs_cold]
          + ".")
    if s["cold_above_bound"] > s["warm_above_bound"] and warm_vs_cold == 1:
        print("    The warm-up helps where the cold rate starts above the bound: while the rate "
              "climbs the sharpness falls, so the full rate arrives where it is stable.")
    elif s["cold_above_bound"] and s["warm_above_bound"] >= s["cold_above_bound"]:
        print("    Here the scaled rate is above the bound from the start and still after the "
              "warm-up: the sharpness does not fall enough while the rate climbs, and the run "
              + ("ends clearly below batch 16." if warm_vs_small == -1 and cold_vs_small == -1
                 else "is not clearly worse than batch 16 at the end."))
    elif s["cold_above_bound"] == 0:
        print("    The cold rate starts below the bound already, so there is nothing for a "
              "warm-up to prevent" + (" (and it makes no clear difference)."
                                     if warm_vs_cold == 0 else "."))
    return {"batch": s["batch"], "lr": s["lr"], "bound_start": s["bound_start"],
            "bound_after_warmup": s["bound_after_warmup"],
            "cold_above_bound": s["cold_above_bound"], "warm_above_bound": s["warm_above_bound"],
            "cold_vs_small": cold_vs_small, "warm_vs_small": warm_vs_small,
            "warm_vs_cold": warm_vs_cold,
            "cold_test_acc": float(np.median(s["cold"]["test_acc"])),
            "warm_test_acc": float(np.median(s["warm"]["test_acc"]))}


NETWORKS = {"one layer of 5": {"widths": (5,)},
            "four layers of 5": {"widths": (5, 5, 5, 5)},
            "one layer of 64": {"widths": (64,)},
            "64-64, weight decay 1e-3": {"widths": (64, 64), "weight_decay": 1e-3}}


def capacity(data, k, epochs, base):
    """Step 5: other networks at batch 16 and lr 0.1, against the 64 -> 64 run ``base``."""
    runs = {"64-64 (above)": base}
    runs.update({name: train(data, k, SMALL, LR, epochs, **net) for name, net in NETWORKS.items()})
    print(f"\nCapacity and regularisation, batch {SMALL}, lr {LR}, {epochs} epochs "
          "(medians; gap = test - train loss):")
    for name, r in runs.items():
        print(f"  {name:26s} train acc {np.median(r['train_acc']):.3f}  test acc "
              f"{np.median(r['test_acc']):.3f} ({r['test_acc'].min():.3f}.."
              f"{r['test_acc'].max():.3f})  gap {np.median(r['test_loss'] - r['train_loss']):+.3f}")
    found = {name: {"train_acc": float(np.median(r["train_acc"])),
                    "test_acc": float(np.median(r["test_acc"])),
                    "test_acc_worst": float(r["test_acc"].min()),
                    "gap": float(np.median(r["test_loss"] - r["train_loss"]))}
             for name, r in runs.items()}
    narrow = runs["one layer of 5"]["test_acc"]
    found["deeper_vs_narrow"] = clear(runs["four layers of 5"]["test_acc"] - narrow)
    found["wider_vs_narrow"] = clear(runs["one layer of 64"]["test_acc"] - narrow)
    found["decay_vs_base"] = clear(runs["64-64, weight decay 1e-3"]["test_acc"] - base["test_acc"])
    found["sentences"] = capacity_sentences(found)
    for sentence in found["sentences"]:
        print("  " + sentence)
    return found


def capacity_sentences(f):
    """Step 5's words: underfitting or overfitting, and what each lever did."""
    narrow, base = f["one layer of 5"], f["64-64 (above)"]
    deep, wide, decay = f["four layers of 5"], f["one layer of 64"], f["64-64, weight decay 1e-3"]
    words = {1: "clearly", -1: "clearly not (it is lower)", 0: "not clearly"}
    if narrow["train_acc"] < base["train_acc"] - 0.03 and narrow["gap"] < 0.05:
        first = (f"One hidden layer of 5 units underfits the spirals: it reaches only "
                 f"{narrow['train_acc']:.3f} on its own training points (test "
                 f"{narrow['test_acc']:.3f}, gap {narrow['gap']:+.3f}), so it needs capacity, "
                 "not regularisation (how many units are enough depends on the problem: "
                 "lesson 10 gives 5 to the breast-cancer data).")
    else:
        first = (f"One hidden layer of 5 units fits the spirals about as well as 64 -> 64 "
                 f"(training accuracy {narrow['train_acc']:.3f} against {base['train_acc']:.3f}):"
                 " here it has enough capacity.")
    second = (f"Deepening it to four layers of 5 gives test accuracy {deep['test_acc']:.3f} "
              f"(worst seed {deep['test_acc_worst']:.3f}), {words[f['deeper_vs_narrow']]} above "
              f"the single layer; widening it to 64 units gives {wide['test_acc']:.3f}, "
              f"{words[f['wider_vs_narrow']]} above.")
    verdict = {0: ", within the seed spread.", 1: ", clearly higher.",
               -1: ", clearly lower" + (": here it only costs." if base["gap"] < 0.05 else ".")}
    if base["gap"] < 0.05:
        third = (f"The 64 -> 64 network's test loss is only {base['gap']:+.3f} from its training "
                 "loss: there is little overfitting for weight decay to remove, and with 1e-3 "
                 f"its test accuracy is {decay['test_acc']:.3f} against {base['test_acc']:.3f}"
                 + verdict[f["decay_vs_base"]])
    else:
        third = (f"The 64 -> 64 network's test loss is {base['gap']:+.3f} above its training "
                 f"loss; weight decay 1e-3 changes that gap to {decay['gap']:+.3f} and test "
                 f"accuracy to {decay['test_acc']:.3f} from {base['test_acc']:.3f}"
                 + verdict[f["decay_vs_base"]])
    return [first, second, third]


def draw(runs, out, k):
    """Step 5's figure: test accuracy per run, and the training loss per update."""
    fig, (ax0, ax1) = _common.figure(1, 2, size=(6.0, 4.4))
    names = list(runs)
    for i, name in enumerate(names):
        ax0.plot(runs[name]["test_acc"], np.full(k, i), "o", alpha=0.6, color=f"C{i % 10}")
        ax0.plot([np.median(runs[name]["test_acc"])], [i], "k|", ms=14)
    ax0.set_yticks(range(len(names)))
    ax0.set_yticklabels(names, fontsize="small")
    ax0.set_xlabel("test accuracy (dots: seeds; bar: median)")
    ax0.set_title("who generalises", fontsize="small")
    for name in ("batch 16", "batch 512, same epochs", "batch 512, same updates"):
        curve = np.median(runs[name]["step_loss"], axis=1)
        width = max(1, min(32, len(curve) // 8))
        smooth = np.convolve(curve, np.ones(width) / width, mode="valid")
        ax1.plot(np.arange(width, len(curve) + 1), smooth, label=name)
    ax1.set_xscale("log")
    ax1.set_xlabel("update")
    ax1.set_ylabel("batch loss (median of seeds, running mean)")
    ax1.set_title("the same updates, the same curve?", fontsize="small")
    ax1.legend(fontsize="small")
    return [_common.save(fig, out, "21_batch_size.png")]


def updates_sentence(epochs_verdict, updates_verdict, points_epochs, points_updates,
                     halfwidth):
    """The takeaway's words on batch 16 against 512: the batch, or the number of updates?

    *_verdict: clear() of batch 16's minus batch 512's test accuracy at the same
    epochs / the same updates; points_*: its median in points; halfwidth: the 95%
    half-width of the equal-updates difference, in points.
    """
    if epochs_verdict != 1:
        return (f"At the same epochs batch 16 is {points_epochs:+.1f} points against batch 512, "
                + ("clearly behind" if epochs_verdict == -1 else "within the seed spread")
                + ", so this run shows no small-batch advantage to explain.")
    if updates_verdict == 1:
        return (f"Part of the small batch's advantage is the batch itself: batch 16 beats batch "
                f"512 by {points_epochs:.0f} points at the same epochs and stays clearly ahead, "
                f"by {points_updates:.1f}, at the same number of updates.")
    after = (f"batch 16 is {points_updates:.1f} points ahead" if points_updates > 0
             else f"batch 512 is {-points_updates:.1f} points ahead")
    after += (", clearly: batch 16's noisier gradients cost a little rather than help"
              if updates_verdict == -1 else ", within the seed spread")
    head = ("The small batch wins by taking more steps, not by its noisier gradients: batch 16 "
            if halfwidth <= 2 else "Most of the small batch's lead comes from taking more "
            "steps: batch 16 ")
    return (head + f"beats batch 512 by {points_epochs:.0f} points at the same epochs, but at "
            f"the same number of updates {after}"
            + (f"; this run cannot rule out an effect of the batch itself of {halfwidth:.1f} "
               "points" if halfwidth > 2 else "") + ".")


def lost_cause(r, k):
    """Why the scaled rate lost accuracy at one batch size, from the stability bound."""
    where = f"at batch {r['batch']}, where the scaled rate lr {r['lr']:g}"
    if r["cold_above_bound"] == k and r["warm_above_bound"] == k:
        return (f"{where} is above the stability bound 2/sharpness ({r['bound_start']:.2f}) from "
                "the start and still after the warm-up, so its steps overshoot either way")
    if r["cold_above_bound"] > r["warm_above_bound"]:
        return (f"{where} starts above the stability bound and the warm-up brings it below in "
                f"{k - r['warm_above_bound']} of {k} seeds, yet the run still ends behind")
    if r["cold_above_bound"] == 0:
        return (f"{where} is below the stability bound ({r['bound_start']:.2f}), so instability "
                "does not explain the loss; this run does not isolate what does")
    return (f"{where} is above the stability bound in {r['cold_above_bound']} of {k} seeds at "
            f"the start and {r['warm_above_bound']} after the warm-up")


def scaling_sentence(rules, k):
    """The takeaway's words on the linear scaling rule, one clause per batch size."""
    def kept(r):  # which starts are not clearly below batch 16
        starts = (("cold", r["cold_vs_small"]), ("warmed up", r["warm_vs_small"]))
        return [name for name, verdict in starts if verdict != -1]
    recovered = [f"batch {r['batch']} ({' and '.join(kept(r))})" for r in rules if kept(r)]
    lost = [lost_cause(r, k) for r in rules if not kept(r)]
    kept_words = ("Scaling the rate with the batch keeps batch 16's accuracy (not clearly below "
                  "it, in the same epochs) at " + ", ".join(recovered) if recovered else
                  "Scaling the rate with the batch does not keep batch 16's accuracy at any "
                  "batch size tried")
    return kept_words + ("; it loses it " + "; and ".join(lost) if lost else "") + "."


def takeaway(found, rules, k, networks):
    """Step 6's takeaway: print it; returns its text and whether its verdict holds."""
    plain = [updates_sentence(found["small_better_same_epochs"],
                              found["small_better_same_updates"], found["points_same_epochs"],
                              found["points_same_updates"],
                              found["points_same_updates_halfwidth"]),
             scaling_sentence(rules, k), networks["sentences"][0]]
    stats = (f"{k} seeds, paired; 'clearly' = a paired t-test at 95% over seeds; batch 16 higher "
             f"at equal updates in {count(found['small_higher_seeds'], k)} seeds, 95% half-width "
             f"{found['points_same_updates_halfwidth']:.1f} points")
    text = _common.takeaway(plain, stats=stats)
    supported = (found["small_better_same_epochs"] != 0
                 and found["points_same_updates_halfwidth"] <= 2)
    small = _common.too_small(k, FULL_SEEDS, FULL_SEEDS,
                              "the batch's own effect at equal updates")
    if small and not supported:
        print("  " + small)
    return text, supported


def main(out_dir="outputs/21_batch_size_at_equal_updates", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    k = 4 if quick else FULL_SEEDS
    epochs = 20 if quick else 30

    # --- Step 1: the data. Spirals need many updates to untangle, so the
    # number of updates shows; the scaler learns from the training points only.
    X, y = tn.datasets.make_spirals(N_TRAIN + 2000, noise=0.2, seed=0)
    X = tn.data.StandardScaler().fit(X[:N_TRAIN]).transform(X)
    data = (X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:])
    print(f"two spirals: {N_TRAIN} training and 2000 test points; {epochs} epochs at batch "
          f"{SMALL} make {epochs * N_TRAIN // SMALL} updates, at batch {LARGE} "
          f"{epochs * N_TRAIN // LARGE}.")
    runs, found = equal_updates(data, k, epochs)

    # --- Step 4: the linear scaling rule: lr x (B / 16) for the same epochs,
    # from a cold start and after a linear warm-up over the first epochs.
    print(f"\nThe linear scaling rule, {epochs} epochs (the same as batch 16), cold and with a "
          f"{WARMUP_EPOCHS}-epoch linear warm-up:")
    rules = []
    for batch in (MIDDLE, LARGE):
        s = scaled(data, k, epochs, batch)
        runs[f"batch {batch}, lr {s['lr']:g}, cold"] = s["cold"]
        runs[f"batch {batch}, lr {s['lr']:g}, warm-up"] = s["warm"]
        show(f"batch {batch}, lr {s['lr']:g}, cold", s["cold"])
        show(f"batch {batch}, lr {s['lr']:g}, warm-up", s["warm"])
        rules.append(say_scaled(s, runs["batch 16"], k))

    # --- Step 5: capacity and regularisation. Batch and rate are one kind of
    # lever on a model that under-performs; its size and a penalty on its
    # weights are the others. The train accuracy and the gap say which is needed.
    networks = capacity(data, k, epochs, runs["batch 16"])

    # --- Step 6: figures, and the takeaway.
    figures = draw(runs, out, k)
    text, supported = takeaway(found, rules, k, networks)
    return {**found, "rules": rules, "seeds": k, "epochs": epochs, "networks": networks,
            "verdict_supported": supported, "takeaway": text, "figures": figures,
            "updates": {name: r["updates"] for name, r in runs.items()},
            "test_acc_median": {name: float(np.median(r["test_acc"])) for name, r in runs.items()}}


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/21_batch_size_at_equal_updates.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
