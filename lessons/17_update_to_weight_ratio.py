# %% [markdown]
# # Lesson 17: how big is each step next to the weights it moves?
#
# Question: a loss curve tells you afterwards that a rate was too low or too
# high. Can you see it while training runs, from the updates themselves?
#
# A rule of thumb from the CS231n notes: the size of an update divided by the
# size of the weights it changes, |update| / |W|, should sit around 1e-3. Much
# smaller and the weights barely move; much larger and each step rewrites a good
# part of what the layer knew. `tn.callbacks.UpdateStats()` records, for every
# layer and every update, the gradient norm, the update norm, the weight norm
# and their ratio; `tn.plot.update_ratios(history)` draws it.
#
# What you will see, on two problems (the Q&A post's 10x10x10x10x4 network on
# its four clusters, and a 64-64-10 network on the 8x8 handwritten digits), each
# at a low, a middle and a high rate of plain SGD, several seeds each, every rate
# labelled by what it measurably did (how many seeds fit), not by a guess:
#   * 17_ratios.png: the ratio per layer and per update, one panel per rate;
#   * a table: the ratio in the first updates and in the last epoch, the final
#     validation accuracy, and how many seeds fit, with its 95% interval;
#   * whether the rule of thumb picks the rate that trained best here, or not.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 17: how big is each step next to the weights it moves?

Run:  python lessons/17_update_to_weight_ratio.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 4 s on a 2-core CPU; --quick (two seeds, fewer epochs) about 2 s.
"""

import sys
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402

RULE = 1e-3  # the rule of thumb for |update| / |W|
EARLY = 20  # "while training runs": the first EARLY updates
FIT = 0.9  # a seed "fits" when its final validation accuracy reaches this


# %%
def post_problem():
    """The post's four clusters (+-10, spread 2) and its network: Dense(10, relu) x4 -> 4."""
    centers = np.array([(-10.0, -10.0), (-10.0, 10.0), (10.0, -10.0), (10.0, 10.0)])
    x, y = tn.datasets.make_blobs(1000, centers, cluster_std=2.0, seed=0)
    init = tn.initializers.RandomNormal(0.0, 0.05)

    def layers():
        hidden = [tn.layers.Dense(10, activation="relu", kernel_initializer=init,
                                  input_dim=2 if i == 0 else None) for i in range(4)]
        return hidden + [tn.layers.Dense(4, activation="softmax", kernel_initializer=init)]
    return x, y, layers, {"low": 0.001, "middle": 0.1, "high": 0.5}, 64


def digits_problem():
    """The 8x8 digits, standardised, and a 64-64-10 ReLU network (He initialisation)."""
    x, y = tn.datasets.load_digits()
    x = tn.data.StandardScaler().fit_transform(x)

    def layers():
        return [tn.layers.Dense(64, activation="relu", kernel_initializer="he_normal",
                                input_dim=64),
                tn.layers.Dense(10, activation="softmax")]
    return x, y, layers, {"low": 1e-4, "middle": 0.1, "high": 3.0}, 32


def train(problem, seeds, epochs):
    """One stacked model per rate (a copy per seed), each run watched by UpdateStats."""
    x, y, layers, rates, batch = problem
    runs = {}
    for name, lr in rates.items():
        model = tn.Sequential(layers(), seed=0, n_models=len(seeds))  # copy k: seed k
        model.compile(tn.optimizers.SGD(lr), loss="sparse_categorical_crossentropy")
        h = model.fit(x, y, epochs=epochs, batch_size=batch, validation_split=0.2, verbose=0,
                      callbacks=[tn.callbacks.UpdateStats()])
        runs[name] = {"lr": lr, "history": h, "ratio": h.update_stats["ratio"],
                      "val_accuracy": np.asarray(h.history["val_accuracy"][-1])}
    return runs


def outcome(fits, n):
    """The label a rate earns from its run: how many seeds reached FIT accuracy."""
    if fits == n:
        return f"fits ({fits} of {n} seeds)"
    if fits == 0:
        return f"fails (0 of {n} seeds fit)"
    return f"fits {fits} of {n} seeds"


def _log_distance(ratio, target):
    """|log10(ratio / target)|; a ratio of 0 (no update at all) is infinitely far."""
    return abs(np.log10(ratio / target)) if ratio > 0 else np.inf


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. train each problem at three rates, several seeds, with UpdateStats
# 2. the table: the ratio early and late, accuracy, seeds that fit
# 3. does the rule of thumb pick the best rate here?
# 4. the figure

# %%
def main(out_dir="outputs/17_update_to_weight_ratio", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    seeds = list(range(2 if quick else 5))
    problems = {"post network, four clusters": (post_problem(), 20 if quick else 60),
                "digits, 64-64-10": (digits_problem(), 8 if quick else 20)}
    result = {"problems": {}, "figures": []}
    fig, axes = _common.figure(len(problems), 3, size=(4.6, 3.6), sharey="row")

    for row, (title, (problem, epochs)) in enumerate(problems.items()):
        # --- Step 1: train. Every update's ratio is recorded per layer and per
        # copy; the run itself is the same as without the callback.
        runs = train(problem, seeds, epochs)

        # --- Step 2: summarise. The rule of thumb is a check made while training
        # runs, so look at the first EARLY updates (median over layers and seeds)
        # and, separately, at the last epoch: a rate that kills the network has
        # huge early steps and then none at all, which one median over the whole
        # run would hide. Then how many seeds reach FIT validation accuracy.
        print(f"\n{title} ({len(seeds)} seeds, {epochs} epochs, plain SGD):")
        print("  rate             |update|/|W|, median over layers and seeds    "
              "val acc    seeds that fit")
        print(f"                   first {EARLY} updates    last epoch                   "
              "(median)   [95% interval]")
        summary = {}
        per_epoch = runs[next(iter(runs))]["ratio"].shape[0] // epochs
        for name, run in runs.items():
            ratio = run["ratio"].reshape(run["ratio"].shape[0], -1)  # (T, layers x seeds)
            early, late = float(np.median(ratio[:EARLY])), float(np.median(ratio[-per_epoch:]))
            fits = int(np.sum(run["val_accuracy"] >= FIT))
            lo, hi = tn.metrics.wilson_interval(fits, len(seeds))
            summary[name] = {"lr": run["lr"], "early_ratio": early, "late_ratio": late,
                             "val_accuracy": float(np.median(run["val_accuracy"])),
                             "fits": fits, "interval": (lo, hi),
                             "outcome": outcome(fits, len(seeds))}
            print(f"  {name:8s} {run['lr']:<7g} {early:10.1e}          {late:10.1e}"
                  f"                 {summary[name]['val_accuracy']:.3f}      "
                  f"{fits}/{len(seeds)} [{lo:.2f}, {hi:.2f}]: {summary[name]['outcome']}")

        # --- Step 3: the rule of thumb against the outcome. Which rate's early
        # ratio is nearest 1e-3 (on a log scale), and which rate fit the most
        # seeds (ties: higher median accuracy)? Say whether they agree, and
        # whether the winner is clear of the others' intervals.
        order = sorted(summary, key=lambda n: summary[n]["lr"])
        nearest = min(order, key=lambda n: _log_distance(summary[n]["early_ratio"], RULE))
        best = max(order, key=lambda n: (summary[n]["fits"], summary[n]["val_accuracy"]))
        grows = all(summary[a]["early_ratio"] < summary[b]["early_ratio"]
                    for a, b in zip(order, order[1:]))
        collapsed = [n for n in order if summary[n]["late_ratio"] < summary[n]["early_ratio"] / 100]
        clear = all(summary[best]["interval"][0] > summary[n]["interval"][1]
                    for n in summary if n != best)
        print(f"  Early on the ratio {'grows' if grows else 'does not grow'} with the rate."
              + "".join(f" By the last epoch it fell more than 100-fold at {n} (rate "
                        f"{summary[n]['lr']:g}), whose median accuracy is "
                        f"{summary[n]['val_accuracy']:.2f}: "
                        + ("the updates stopped before the network learned."
                           if summary[n]["val_accuracy"] < FIT else
                           "the network had learned, and the steps shrank with the loss.")
                        for n in collapsed)
              + f" Nearest {RULE:g} early: {nearest}; fit the most seeds: {best}. "
              + ("The rule of thumb points at the rate that trained best here"
                 if nearest == best else
                 "Here the rule of thumb points at another rate than the one that trained best")
              + (", and the best rate's seed count is clear of the others' intervals."
                 if clear else
                 "; with this many seeds the counts' intervals overlap, so the ranking is not "
                 "settled."))
        result["problems"][title] = {"summary": summary, "nearest_rule": nearest,
                                     "best": best, "ratio_grows_with_rate": grows,
                                     "collapsed": collapsed, "best_is_clear": clear}

        # --- Step 4: the figure: one panel per rate, every layer's ratio over
        # the updates (median over the seeds, quartile band), the rule at 1e-3.
        for ax, name in zip(axes[row], order):
            tn.plot.update_ratios(runs[name]["history"], reference=RULE, ax=ax,
                                  title=f"{title}\nlr {runs[name]['lr']:g}: "
                                        f"{summary[name]['outcome']}")
    result["figures"].append(_common.save(fig, out, "17_ratios.png"))
    result["takeaway"] = takeaway(result["problems"], len(seeds))
    return result


def takeaway(problems, n_seeds):
    """Three sentences from the two problems' verdicts, the counts below them."""
    grew = [t for t, p in problems.items() if p["ratio_grows_with_rate"]]
    none_fit = [t for t, p in problems.items() if p["summary"][p["best"]]["fits"] == 0]
    agree = [t for t, p in problems.items()
             if p["nearest_rule"] == p["best"] and t not in none_fit]
    differ = [t for t in problems if t not in agree and t not in none_fit]
    stalled = [(t, n) for t, p in problems.items() for n in p["collapsed"]
               if p["summary"][n]["val_accuracy"] < FIT]
    plain = [growth_sentence(grew, [t for t in problems if t not in grew])]
    verdicts = []
    if agree:
        verdicts.append(f"picks the rate that trained best on the {_names(agree)}")
    if differ:
        verdicts.append(f"points at another rate than the best on the {_names(differ)}")
    if none_fit:
        verdicts.append(f"cannot be checked on the {_names(none_fit)}, where no rate fit a seed")
    unsettled = [t for t in agree + differ if not problems[t]["best_is_clear"]]
    plain.append(f"The {RULE:g} rule of thumb " + "; it ".join(verdicts)
                 + (" (the seed counts' intervals overlap, so which rate is best is not "
                    "settled)" if unsettled else "") + "."
                 + (" Read the ratio as a warning light, not as a way to choose the rate."
                    if differ else ""))
    if stalled:
        plain.append("Where the ratio collapses more than 100-fold and accuracy stays low ("
                     + ", ".join(f"lr {problems[t]['summary'][n]['lr']:g} on the "
                                 f"{t.split(',')[0]}" for t, n in stalled)
                     + "), the updates stopped before the network learned.")
    counts = "; ".join(f"{t.split(',')[0]}: " + ", ".join(
        f"lr {s['lr']:g} {_common.count(s['fits'], n_seeds)}" for s in p["summary"].values())
        for t, p in problems.items())
    text = _common.takeaway(plain, stats=f"seeds reaching {FIT:.0%} validation accuracy: "
                            + counts)
    if n_seeds < 3:
        print("  " + _common.too_small(n_seeds, 3, 5, "which rate fits most seeds"))
    return text


def growth_sentence(grew, did_not):
    """The takeaway's first sentence: on which problems the early ratio ordered the rates.

    grew, did_not: the problems' titles where the first EARLY updates' median
    |update| / |W| rose from each rate to the next, and where it did not.
    """
    rule = "(an update is the rate times the gradient)"
    if not did_not:
        return (f"On both problems the first {EARLY} updates' |update| / |W| grows with the rate "
                f"{rule}, so it tells the rates apart from the first update on; it does not say "
                "by itself which one is bad.")
    if not grew:
        return (f"On neither problem does the first {EARLY} updates' |update| / |W| grow from "
                "each rate to the next, so here it does not tell the rates apart from the first "
                "update on; nor does it say by itself which rate is bad.")
    return (f"Not on every problem: on the {_names(grew)} the first {EARLY} updates' "
            f"|update| / |W| grows with the rate {rule}, so there it tells the rates apart from "
            f"the first update on; on the {_names(did_not)} it does not grow from each rate to "
            "the next, so there the early ratio does not order the rates. It does not say by "
            "itself which rate is bad.")


def _names(titles):
    return " and the ".join(t.split(",")[0] for t in titles)


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/17_update_to_weight_ratio.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
