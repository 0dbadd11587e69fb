# %% [markdown]
# # Lesson 5: the learning-rate range test, checked against a full sweep.
#
# Question: the range test trains for one short run while the rate grows from
# tiny to huge, and reads a good rate off the loss curve. How close does that
# cheap guess come to the best rate that a full sweep (many rates x seeds, each
# trained to the end) finds, and what does following it cost in accuracy?
#
# What you will see, on two problems (three noisy spirals, and the 8x8 digits):
#   * tn.lr_find's three suggestions ("valley", "steepest", "min_div_10") from
#     five initialisations at once (a stacked model), with their spread;
#   * the best rate of a sweep over 21 rates x 3 seeds, and the band of rates
#     whose validation accuracy is within one point of the best;
#   * for each suggestion: how many times smaller or larger than the sweep's best
#     it is, and the validation accuracy the sweep measured at that rate;
#   * what each costs, counted in updates, and which rule is nearest in rate
#     against which costs the least accuracy (not always the same one);
#   * 05_range_test.png: the range-test curves, suggestions marked;
#   * 05_finder_vs_sweep.png: the sweep's final validation loss against the rate,
#     with the suggestions and the best rate drawn on it.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 5: the learning-rate range test, checked against a full sweep.

Run:  python lessons/05_lr_range_test.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 8 s on a 2-core CPU; --quick (a coarser sweep, fewer seeds) about 4 s.
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
RULES = ("valley", "min_div_10", "steepest")


def spirals():
    x, y = tn.datasets.make_spirals(1000, n_classes=3, noise=0.2, turns=1.0, seed=0)
    return tn.data.StandardScaler().fit_transform(x), y


def digits():
    x, y = tn.datasets.load_digits()
    order = np.random.default_rng(0).permutation(len(x))  # validation_split takes the tail
    return x[order] / 16.0, y[order]


def layers_for(n_in, n_out):
    def layers():
        return [tn.layers.Dense(64, activation="relu", input_dim=n_in),
                tn.layers.Dense(64, activation="relu"),
                tn.layers.Dense(n_out, activation="softmax")]
    return layers


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the range test
# 2. the full sweep
# 3. compare
# 4. what it adds up to
# 5. figures

# %%
def main(out_dir="outputs/05_lr_range_test", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()
    problems = {"spirals": spirals(), "digits": digits()}
    epochs, batch_size, n_find = 20, 32, 5
    per_decade, n_seeds = sweep_grid(quick)
    rates = np.logspace(-4, 1, 5 * per_decade + 1)
    seeds = range(n_seeds)
    loss = "sparse_categorical_crossentropy"
    print(f"SGD(momentum=0.9), batch {batch_size}. Range test: 100 updates from 1e-6 to 10. "
          f"Sweep: {len(rates)} rates x {len(seeds)} seeds x {epochs} epochs.")

    summary, finders, sweeps = {}, {}, {}
    for name, (x, y) in problems.items():
        layers = layers_for(x.shape[1], int(y.max()) + 1)
        n_train = int(np.ceil(0.8 * len(x)))  # the rows fit's validation_split trains on

        # --- Step 1: the range test ------------------------------------------------
        # One stacked model of five copies (five initialisations) sweeps the same
        # rates on the same batches; each copy gets its own suggestions. Only the
        # training rows are used, as a careful user would.
        model = tn.Sequential(layers(), seed=0, n_models=n_find)
        model.compile(tn.optimizers.SGD(momentum=0.9), loss=loss)
        finder = tn.lr_find(model, x[:n_train], y[:n_train], start_lr=1e-6, end_lr=10.0,
                            num_steps=100, batch_size=batch_size)
        finders[name] = finder

        # --- Step 2: the full sweep ---------------------------------------------------
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tn.DivergenceWarning)
            res = tn.sweep(layers, x, y, rates, seeds=seeds, optimizer="sgd",
                           optimizer_kwargs={"momentum": 0.9}, loss=loss, epochs=epochs,
                           batch_size=batch_size, validation_split=0.2, verbose=0)
        sweeps[name] = res
        best = res.best_rate("val_loss")
        # res.diverged: the loss went NaN/inf (that run's accuracy counts as 0); a run
        # whose loss grew but stayed finite trained on and counts with its final accuracy
        acc = np.median(np.where(res.diverged, 0.0, res.final("val_accuracy")), axis=1)
        good = rates[acc >= acc.max() - 0.01]  # within one point of the best accuracy
        steps_per_epoch = int(np.ceil(n_train / batch_size))
        cost_sweep = len(rates) * len(seeds) * epochs * steps_per_epoch

        # --- Step 3: compare ------------------------------------------------------------
        print(f"\n{name}: sweep's best rate (median validation loss) {best:.3g}, validation "
              f"accuracy {acc[np.argmin(np.abs(np.log(rates / best)))]:.3f}; within one point "
              f"of the best accuracy ({acc.max():.3f}): {good.min():.3g} .. {good.max():.3g}.")
        row = {"best_rate": best, "good_band": (float(good.min()), float(good.max()))}
        for rule in RULES:
            s = np.asarray(finder.suggestions[rule], dtype=float)
            med = float(np.median(s))
            i = int(np.argmin(np.abs(np.log(rates / med))))  # the nearest rate of the sweep
            factor = med / best
            inside = good.min() <= med * 10 ** (0.5 / per_decade) and \
                med / 10 ** (0.5 / per_decade) <= good.max()
            print(f"  {rule:10s} median {med:.3g} (5 inits: {s.min():.3g} .. {s.max():.3g}): "
                  f"{_times(factor)} the best; the sweep at {rates[i]:.3g} reached validation "
                  f"accuracy {acc[i]:.3f}{'' if inside else ' (outside the good band)'}")
            row[rule] = {"rate": med, "factor": factor, "accuracy": float(acc[i]),
                         "inside_good_band": bool(inside)}
        print(f"  cost: range test {finder.learning_rates.shape[0]} updates per "
              f"initialisation; sweep {cost_sweep} updates ({cost_sweep // 100}x as many)")
        row["cost_updates"] = {"range_test": int(finder.learning_rates.shape[0]),
                               "sweep": cost_sweep}
        row["best_accuracy"] = float(acc.max())
        summary[name] = row

    # --- Step 4: what it adds up to ------------------------------------------------------
    # Two ways to be "close": in rate (decades from the sweep's best) and in what the
    # sweep measured there (accuracy points lost). They need not agree: a rate near
    # the best can sit on the cliff edge where training already fails.
    worst = {rule: max(abs(np.log10(summary[p][rule]["factor"])) for p in problems)
             for rule in RULES}
    cost = {rule: max(summary[p]["best_accuracy"] - summary[p][rule]["accuracy"]
                      for p in problems) for rule in RULES}
    where = {rule: max(problems, key=lambda p, r=rule: summary[p]["best_accuracy"]
                       - summary[p][r]["accuracy"]) for rule in RULES}
    closest = min(RULES, key=lambda r: worst[r])
    cheapest = min(RULES, key=lambda r: (cost[r], worst[r]))
    worst_rule = max(RULES, key=lambda r: (cost[r], worst[r]))
    print("\nLargest distance from the sweep's best rate over both problems, in decades: "
          + ", ".join(f"{r} {worst[r]:.2f}" for r in RULES) + "; largest accuracy cost, in "
          "points: " + ", ".join(f"{r} {100 * cost[r]:.1f} ({where[r]})" for r in RULES) + ".")
    costly = cost[closest] > 0.01  # outside the one-point band of the best accuracy
    if closest == cheapest or not costly:
        verdict_rate = (f"{closest} lands nearest the sweep's best rate and costs "
                        f"{100 * cost[closest]:.1f} points at most, within the one-point band "
                        f"of the best" + ("." if closest == cheapest else
                                          f" (as {cheapest}: {100 * cost[cheapest]:.1f})."))
    else:
        verdict_rate = (f"{closest} lands nearest the sweep's best rate, but there it costs "
                        f"{100 * cost[closest]:.1f} points on the {where[closest]}: near in rate "
                        f"is not near in result. {cheapest} costs the least "
                        f"({100 * cost[cheapest]:.1f} points at most).")
    verdict_worst = (f"The steepest-descent rule, the one the blog post behind this lesson "
                     f"gives, did worst: it costs {100 * cost['steepest']:.1f} points on the "
                     f"{where['steepest']}." if worst_rule == "steepest" else
                     f"The worst rule here is {worst_rule} ({100 * cost[worst_rule]:.1f} points "
                     f"on the {where[worst_rule]}); the steepest-slope rule costs "
                     f"{100 * cost['steepest']:.1f}.")
    print(verdict_rate)
    print(verdict_worst)
    below = all(summary[p]["valley"]["factor"] < 1 for p in problems)
    if below:
        print("The valley rule lands below the best rate on both problems: it picks a point "
              "on the falling slope of the curve, a cautious choice.")
    share = max(n_find * summary[p]["cost_updates"]["range_test"] / summary[p]["cost_updates"]
                ["sweep"] for p in problems)
    print(f"Following the valley suggestion costs at most {100 * cost['valley']:.1f} points of "
          f"validation accuracy against the best rate of the sweep; the range test of all "
          f"{n_find} initialisations costs at most {100 * share:.1f}% of the sweep's updates.")

    # --- Step 5: figures --------------------------------------------------------------
    fig, axes = _common.figure(1, 2, size=(6.0, 4.2))
    for ax, (name, finder) in zip(axes, finders.items(), strict=True):
        finder.plot(ax=ax)
        ax.axvline(summary[name]["best_rate"], color="tab:red", linestyle="--",
                   label=f"sweep's best: {summary[name]['best_rate']:.3g}")
        ax.set_title(f"{name}: range test, {n_find} initialisations")
        handles, labels = ax.get_legend_handles_labels()
        keep = [i for i, lab in enumerate(labels) if "copy" not in lab or "copy 0" in lab]
        ax.legend([handles[i] for i in keep], [labels[i] for i in keep], fontsize="x-small")
        finite = finder.smoothed_losses[np.isfinite(finder.smoothed_losses)]
        ax.set_ylim(0.0, 2.0 * float(finite[0]) if finite.size else None)
    paths = [_common.save(fig, out, "05_range_test.png")]
    fig, axes = _common.figure(1, 2, size=(6.0, 4.2))
    for ax, (name, res) in zip(axes, sweeps.items(), strict=True):
        tn.plot_sweep.final_vs_rate(res, "val_loss", ax=ax)
        ax.axvline(summary[name]["best_rate"], color="tab:red", linestyle="--",
                   label="sweep's best")
        for rule, colour in zip(RULES, ("black", "dimgrey", "tab:purple"), strict=True):
            ax.axvline(summary[name][rule]["rate"], color=colour, linestyle=":",
                       linewidth=1.8, label=f"{rule} (median)")
        ax.set_title(f"{name}: sweep, {len(seeds)} seeds x {epochs} epochs")
        ax.legend(fontsize="x-small")
    paths.append(_common.save(fig, out, "05_finder_vs_sweep.png"))

    # --- Step 6: the takeaway -------------------------------------------------------------
    plain = [f"One short range test ({100 * share:.1f}% of a sweep's updates) already points "
             f"to a usable rate: following {cheapest} costs at most {100 * cost[cheapest]:.1f} "
             "points of accuracy.", verdict_worst]
    if closest != cheapest and costly:
        plain.append(f"The suggestion nearest the best rate ({closest}) is not the safest one: "
                     "judge a rule by what training at it gives, not by the distance.")
    text = _common.takeaway(plain, stats=f"{len(seeds)} seeds per swept rate, {n_find} "
                            f"initialisations in the range test; accuracy cost = best median "
                            f"validation accuracy minus the median at the nearest swept rate")
    note = resolution_note(per_decade, n_seeds, *sweep_grid(False))
    if note:
        print("  " + note)
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    summary.update(figures=paths, max_decades_from_best=worst, accuracy_cost=cost,
                   closest_in_rate=closest, cheapest_in_accuracy=cheapest,
                   worst_rule=worst_rule, closest_costs_accuracy=bool(costly), takeaway=text)
    return summary


def sweep_grid(quick):
    """(rates per decade, seeds) of the sweep: coarser and fewer with --quick."""
    return (2, 2) if quick else (4, 3)


def resolution_note(per_decade, n_seeds, full_per_decade, full_seeds):
    """The warning a sweep coarser than the full run's prints ('' when it is not coarser)."""
    if per_decade >= full_per_decade and n_seeds >= full_seeds:
        return ""
    rates, seeds = ("rate" if per_decade == 1 else "rates"), ("seed" if n_seeds == 1 else "seeds")
    return (f"This sweep has {per_decade} {rates} per decade and {n_seeds} {seeds}: a cost of a "
            "point or two is within its resolution; the full run "
            f"({full_per_decade} per decade, {full_seeds} seeds) is needed to rank rules that "
            "close.")


def _times(factor):
    return f"{1 / factor:.1f}x below" if factor < 1 else f"{factor:.1f}x above"


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/05_lr_range_test.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
