# %% [markdown]
# # Lesson 4: are adaptive optimisers more forgiving about the learning rate?
#
# Question: Adam, RMSprop, Adagrad and Adadelta scale each weight's step by the
# history of its own gradients. The usual claim is that this makes the choice of
# the base rate "more forgiving". Measured how? Here: sweep the same log grid of
# rates and seeds with each optimiser and measure how wide, in decades, the band
# of rates is that trains the network well. And the price: that history is kept
# per weight, and updated at every step.
#
# What you will see:
#   * six sweeps (SGD, SGD with momentum 0.9, RMSprop, Adagrad, Adadelta, Adam),
#     each the same 29 rates from 1e-4 to 1000 (four per decade) times the same
#     seeds, for the same number of updates;
#   * per optimiser: the band of rates whose runs reach the target validation
#     accuracy in most seeds, its edges and its width in decades, at three
#     targets so you can see whether the answer depends on the bar;
#   * the claim judged seed by seed: the adaptive bands count as wider only when
#     they are wider for a clear majority of the seeds (a 95% interval above half);
#   * whether each optimiser's default rate (Keras's) lies inside its band;
#   * what each optimiser costs: the numbers it keeps per weight (bytes) and the
#     time of its update and of a whole training step, against plain SGD;
#   * 04_bands.png: median validation accuracy against the rate, one line per
#     optimiser, with each band drawn underneath;
#   * 04_sweeps.png: every seed of every sweep, with the rates where a run went
#     NaN/inf shaded.
#
# The lesson prints what it measured, whichever way it comes out.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 4: are adaptive optimisers more forgiving about the learning rate?

Run:  python lessons/04_adaptive_optimizers.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 15 s on a 2-core CPU; --quick (two seeds, two rates per decade) about 4 s.
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
from _common import count  # noqa: E402

# %%
OPTIMIZERS = {  # name: (optimizer, its extra arguments, Keras's default rate)
    "SGD": (tn.optimizers.SGD, {}, 0.01),
    "momentum": (tn.optimizers.SGD, {"momentum": 0.9}, 0.01),
    "RMSprop": (tn.optimizers.RMSprop, {}, 0.001),
    "Adagrad": (tn.optimizers.Adagrad, {}, 0.001),
    "Adadelta": (tn.optimizers.Adadelta, {}, 0.001),  # Keras's docs: "use 1.0" for the paper's
    "Adam": (tn.optimizers.Adam, {}, 0.001),
}
ADAPTIVE = ("RMSprop", "Adagrad", "Adadelta", "Adam")


def layers():
    return [tn.layers.Dense(32, activation="relu", input_dim=2),
            tn.layers.Dense(32, activation="relu"),
            tn.layers.Dense(3, activation="softmax")]


def band(rates, success, per_decade):
    """(low, high, width in decades) of the rates where success >= 1/2, or None.

    Each grid point stands for 1/per_decade of a decade, so a band of n
    neighbouring points is n/per_decade decades wide. Successful points
    separated by a failure count as separate bands; the widest is returned.
    """
    ok = success >= 0.5
    best, start = None, None
    for i, flag in enumerate(np.append(ok, False)):
        if flag and start is None:
            start = i
        if not flag and start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    if best is None:
        return None
    lo, hi = best
    return float(rates[lo]), float(rates[hi - 1]), (hi - lo) / per_decade


def listing(words):
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def reached(res, target):
    """(R, S) bool: the copies whose final validation accuracy is >= target (NaN/inf: no)."""
    final = res.final("val_accuracy")
    with np.errstate(invalid="ignore"):
        return (final >= target - 1e-9) & ~res.diverged & np.isfinite(final)


def seed_widths(res, rates, target, per_decade):
    """(S,): the width in decades of each seed's own band (0 where it has none)."""
    ok = reached(res, target)
    widths = [band(rates, ok[:, s].astype(float), per_decade) for s in range(res.n_seeds)]
    return np.array([0.0 if b is None else b[2] for b in widths])


def seed_verdict(adaptive, plain):
    """The claim judged seed by seed, from the per-seed mean band widths of both groups.

    A seed votes "wider" when its adaptive mean is above its plain mean, "narrower"
    when below (ties vote for neither). The verdict is "wider" or "narrower" only for
    a clear majority: that vote's 95% Wilson interval lies above one half; else
    "cannot tell". With 5 seeds that takes 5 of 5 ([57%, 100%]); 4 of 5 is [38%, 96%].
    """
    d = np.asarray(adaptive) - np.asarray(plain)
    n, k_wider, k_narrower = len(d), int(np.sum(d > 0)), int(np.sum(d < 0))
    verdict = ("wider" if tn.metrics.wilson_interval(k_wider, n)[0] > 0.5 else
               "narrower" if tn.metrics.wilson_interval(k_narrower, n)[0] > 0.5 else
               "cannot tell")
    return {"verdict": verdict, "wider_seeds": k_wider, "narrower_seeds": k_narrower,
            "n_seeds": n, "median_difference": float(np.median(d))}


def optimiser_cost(name, x, y, repeats):
    """What one optimiser costs on one copy of the lesson's network, after one step.

    state: the numbers in its slots (momentum buffers, running means) and their
    bytes; time: the median over ``repeats`` of optimizer.apply on the model's
    parameters and gradients (the update alone), and of a whole train_on_batch on
    32 rows (forward, loss, backward, update).
    """
    cls, kwargs, rate = OPTIMIZERS[name]
    model = tn.Sequential(layers(), seed=0)
    optimizer = cls(rate, **kwargs)
    model.compile(optimizer, loss="sparse_categorical_crossentropy")
    xb, yb = x[:32], y[:32]
    model.train_on_batch(xb, yb)  # one step: the slots exist now
    slots = optimizer.get_state()["slots"]
    params, grads = model.params, model.grads()

    def median_time(call):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    return {"state_numbers": int(sum(a.size for s in slots for a in s.values())),
            "state_bytes": int(sum(a.nbytes for s in slots for a in s.values())),
            "param_bytes": int(sum(w.nbytes for w in model.get_weights())),
            "n_params": int(model.count_params()),
            "update_seconds": median_time(lambda: optimizer.apply(params, grads)),
            "step_seconds": median_time(lambda: model.train_on_batch(xb, yb))}


def judge_claim(results, rates, targets, per_decade, widths, updates):
    """Step 4: adaptive against plain band widths, by the majority bands and seed by seed."""
    plain_names = [k for k in results if k not in ADAPTIVE]
    adaptive = {t: float(np.mean([widths[t][k] for k in ADAPTIVE])) for t in targets}
    plain = {t: float(np.mean([widths[t][k] for k in plain_names])) for t in targets}
    per_seed = {t: {k: seed_widths(res, rates, t, per_decade) for k, res in results.items()}
                for t in targets}
    verdicts = {}
    print(f"\nBand width, adaptive ({', '.join(ADAPTIVE)}) vs SGD with and without momentum, "
          f"after {updates} updates: the mean of the bands above, then seed by seed:")
    for t in targets:
        v = verdicts[t] = seed_verdict(np.mean([per_seed[t][k] for k in ADAPTIVE], axis=0),
                                       np.mean([per_seed[t][k] for k in plain_names], axis=0))
        print(f"  target {t:.2f}: {adaptive[t]:.2f} vs {plain[t]:.2f} decades; adaptive wider "
              f"in {count(v['wider_seeds'], v['n_seeds'])} seeds, narrower in "
              f"{count(v['narrower_seeds'], v['n_seeds'])}: {v['verdict']}")
    holds = [t for t in targets if verdicts[t]["verdict"] == "wider"]
    fails = [t for t in targets if verdicts[t]["verdict"] == "narrower"]
    unclear = [t for t in targets if t not in holds and t not in fails]
    n = verdicts[targets[0]]["n_seeds"]

    def at(ts):
        return "target" + ("s " if len(ts) > 1 else " ") + listing([f"{t:.2f}" for t in ts])

    if len(holds) == len(targets):
        print(f"The claim holds here at every target, for this budget of {updates} updates: the "
              "adaptive bands are wider for a clear majority of the seeds.")
    elif holds:
        others = ([f"at {at(fails)} they are narrower for a clear majority"] if fails else []) + (
            [f"at {at(unclear)} no clear majority of the {n} seeds says either"] if unclear
            else [])
        print(f"The claim holds at {at(holds)} only ({updates} updates); "
              f"{' and '.join(others)}: how forgiving an optimiser looks depends on the bar "
              "you set.")
    elif fails:
        print(f"The claim fails here ({updates} updates): at {at(fails)} the adaptive bands "
              "are narrower for a clear majority of the seeds.")
    else:
        print(f"This run cannot tell ({updates} updates): at no target are the adaptive bands "
              f"wider, or narrower, for a clear majority of its {n} seeds.")
    return adaptive, plain, per_seed, verdicts, holds


def price(x, y, repeats):
    """Step 5: what each optimiser keeps and spends on the lesson's network, against SGD."""
    cost = {name: optimiser_cost(name, x, y, repeats) for name in OPTIMIZERS}
    sgd = cost["SGD"]
    print(f"\nWhat each optimiser keeps and spends on this network ({sgd['n_params']} weights, "
          f"{sgd['param_bytes']} bytes of them; times: medians of {repeats} calls):")
    print(f"  {'optimiser':10s} {'state per weight':>16s} {'state bytes':>11s} "
          f"{'update us':>9s} {'x SGD':>6s} {'train step us':>13s} {'x SGD':>6s}")
    for name, c in cost.items():
        c["update_vs_sgd"] = c["update_seconds"] / sgd["update_seconds"]
        c["step_vs_sgd"] = c["step_seconds"] / sgd["step_seconds"]
        print(f"  {name:10s} {c['state_numbers'] / c['n_params']:16.0f} {c['state_bytes']:11d} "
              f"{1e6 * c['update_seconds']:9.1f} {c['update_vs_sgd']:6.1f} "
              f"{1e6 * c['step_seconds']:13.1f} {c['step_vs_sgd']:6.2f}")
    most = max(c["state_bytes"] for c in cost.values())
    heaviest = [k for k, c in cost.items() if c["state_bytes"] == most]
    per_weight = most // sgd["param_bytes"]  # numbers kept per weight
    costliest = max(cost, key=lambda k: cost[k]["update_seconds"])
    c = cost[costliest]
    share = c["update_seconds"] / c["step_seconds"]
    memory = (f"{listing(heaviest)} keep{'s' if len(heaviest) == 1 else ''} the most: "
              f"{per_weight} numbers per weight, {most} bytes here, {per_weight}x the weights "
              "themselves, where plain SGD keeps none.")
    timing = (f"The costliest update is {costliest}'s, {c['update_vs_sgd']:.1f}x plain SGD's; "
              f"it is {share:.0%} of {costliest}'s training step, which costs "
              f"{c['step_vs_sgd']:.2f}x SGD's: "
              + ("on a network this small the forward and backward passes dominate."
                 if c["step_vs_sgd"] < 1.5 else "here the update is a large part of the work."))
    print(memory + " The state grows with the weights, not with the data: at "
          f"{per_weight} per weight, a float32 network of 100 million weights carries "
          f"{per_weight * 4e8 / 1e9:.1f} GB of it.")
    print(timing)
    return cost, {"heaviest": heaviest, "numbers_per_weight": per_weight,
                  "costliest_update": costliest, "update_share_of_step": share}


def figures(results, rates, bands, headline, out):
    """Step 6: median accuracy against the rate with each band; every seed of every sweep."""
    fig, ax = _common.figure(1, 1, size=(8.0, 4.8))
    for i, (name, res) in enumerate(results.items()):
        final = np.where(res.diverged, 0.0, res.final("val_accuracy"))  # NaN/inf: 0
        acc = np.median(final, axis=1)
        ax.plot(rates, acc, "o-", color=f"C{i}", label=name, markersize=3)
        b = bands[name]
        if b is not None:
            ax.plot([b[0], b[1]], [0.05 + 0.04 * i] * 2, color=f"C{i}", linewidth=6,
                    solid_capstyle="butt")
    ax.axhline(headline, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final validation accuracy (median over seeds; NaN/inf = 0)")
    ax.set_title(f"bars: rates reaching {headline:.2f} in most seeds", fontsize="medium")
    ax.legend(fontsize="small", loc="center left")
    ax.grid(True, alpha=0.3)
    paths = [_common.save(fig, out, "04_bands.png")]
    fig, axes = _common.figure(2, 3, size=(3.2, 3.0), sharey=True)
    for i, (ax, (name, res)) in enumerate(zip(axes.flat, results.items(), strict=True)):
        tn.plot_sweep.final_vs_rate(res, "val_accuracy", ax=ax, log=False)
        ax.set_title(name)
        if i % 3:
            ax.set_ylabel("")
        if i:
            ax.get_legend().remove()
    paths.append(_common.save(fig, out, "04_sweeps.png"))
    return paths


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. one problem, one grid, one budget for everybody
# 2. one sweep per optimiser
# 3. measure the bands
# 4. test the claim, seed by seed
# 5. the price: memory and time
# 6. figures
# 7. the takeaway

# %%
def main(out_dir="outputs/04_adaptive_optimizers", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: one problem, one grid, one budget for everybody -------------------
    # Same data, network, batches, epochs, initial weights and rates for every
    # optimiser: only the update rule differs. The grid reaches 1000 because
    # Adadelta's steps are in the units of its own past steps, so its rates sit
    # near 1 and above (its paper has no rate at all, i.e. 1).
    x, y = tn.datasets.make_spirals(1000, n_classes=3, noise=0.2, turns=1.0, seed=0)
    x = tn.data.StandardScaler().fit_transform(x)
    per_decade = 2 if quick else 4
    rates = np.logspace(-4, 3, 7 * per_decade + 1)
    seeds = range(2) if quick else range(5)
    epochs, batch_size = 30, 32
    targets = (0.90, 0.95, 0.98)
    headline = 0.95
    print(f"{len(rates)} rates from 1e-4 to 1000 ({per_decade} per decade) x {len(seeds)} seeds, "
          f"{epochs} epochs, batch {batch_size}, for each of {len(OPTIMIZERS)} optimisers.")

    # --- Step 2: one sweep per optimiser ----------------------------------------------
    # tn.sweep trains all rate x seed copies as one stacked model; a copy whose
    # loss goes NaN/inf is frozen and counts as a failure (accuracy 0); one whose
    # loss grew but stayed finite trained on and is judged by its final accuracy.
    results = {}
    for name, (opt, kwargs, _) in OPTIMIZERS.items():
        with warnings.catch_warnings():  # non-finite runs are counted below instead
            warnings.simplefilter("ignore", tn.DivergenceWarning)
            results[name] = tn.sweep(layers, x, y, rates, seeds=seeds, optimizer=opt,
                                     optimizer_kwargs=kwargs,
                                     loss="sparse_categorical_crossentropy", epochs=epochs,
                                     batch_size=batch_size, validation_split=0.2, verbose=0)
    updates = int(next(iter(results.values())).steps["lr"].shape[0])  # the budget, per copy

    # --- Step 3: measure the bands -----------------------------------------------------
    # A rate "succeeds" when most seeds end with a validation accuracy at or above
    # the target; the band is the run of neighbouring rates that succeed.
    widths = {t: {} for t in targets}
    bands = {}
    for name, res in results.items():
        for t in targets:
            b = band(rates, np.mean(reached(res, t), axis=1), per_decade)
            widths[t][name] = 0.0 if b is None else b[2]
            if t == headline:
                bands[name] = b
    print(f"\nBand of rates reaching validation accuracy >= target in most seeds "
          f"(width in decades; grid step {1 / per_decade:g} decade):")
    print(f"  {'optimiser':10s} " + " ".join(f"{'>= ' + format(t, '.2f'):>9s}" for t in targets)
          + f"   band at {headline:.2f}          default rate")
    for name in results:
        b = bands[name]
        default = OPTIMIZERS[name][2]
        where = "-" if b is None else f"{b[0]:.2g} .. {b[1]:.2g}"
        inside = b is not None and b[0] <= default <= b[1]
        print(f"  {name:10s} " + " ".join(f"{widths[t][name]:9.2f}" for t in targets)
              + f"   {where:20s} {default:g} ({'inside' if inside else 'outside'})")
    at_edge = [k for k, b in bands.items() if b is not None and (b[0] <= rates[0]
                                                                 or b[1] >= rates[-1])]
    if at_edge:  # the grid cut the band: its true width is larger
        print(f"  {', '.join(at_edge)}: the band reaches the end of the grid, so its width is "
              "a lower bound.")

    # --- Step 4: test the claim, seed by seed -------------------------------------------
    # A difference of mean widths could come from one lucky seed. Each seed has
    # its own band per optimiser (the same initial weights and batch order for
    # every optimiser), so each seed can vote; only a clear majority decides.
    adaptive, plain, per_seed, verdicts, holds = judge_claim(results, rates, targets,
                                                             per_decade, widths, updates)
    n_inside = sum(b is not None and b[0] <= OPTIMIZERS[k][2] <= b[1] for k, b in bands.items())
    print(f"{n_inside} of {len(bands)} default rates lie inside their optimiser's band. At its "
          f"default rate, after {epochs} epochs:")
    for name, res in results.items():
        i = int(np.argmin(np.abs(np.log(rates / OPTIMIZERS[name][2]))))
        acc = np.median(np.where(res.diverged[i], 0.0, res.final("val_accuracy")[i]))
        print(f"  {name:10s} rate {rates[i]:.3g}: median validation accuracy {acc:.3f}, "
              f"{count(res.diverged[i].sum(), res.n_seeds)} seeds went NaN/inf, "
              f"{int(res.grew[i].sum())} grew past 4x their best loss")
    top, bottom = max(widths[headline].values()), min(widths[headline].values())
    widest = listing([f"{k}'s" for k, w in widths[headline].items() if w == top])
    narrowest = listing([f"{k}'s" for k, w in widths[headline].items() if w == bottom])
    print(f"At target {headline:.2f} the widest band is {widest} ({top:.2f} decades), the "
          f"narrowest {narrowest} ({bottom:.2f}).")
    # Where the band sits matters as much as how wide it is: the adaptive ones
    # need rates one to three decades smaller than SGD.
    centres = {k: np.sqrt(b[0] * b[1]) for k, b in bands.items() if b is not None}
    if "SGD" in centres and "Adam" in centres:
        print(f"Band centres: SGD {centres['SGD']:.2g}, Adam {centres['Adam']:.2g} "
              f"({np.log10(centres['SGD'] / centres['Adam']):.1f} decades apart): a rate "
              "that suits one is not a good first guess for the other.")

    # --- Step 5: the price: memory and time ------------------------------------------------
    # The history an adaptive rule keeps is one or two numbers per weight, read
    # and written at every update. Count them, and time the update and the whole
    # step (medians: other programs on the machine only ever add time).
    cost, price_words = price(x, y, repeats=100 if quick else 300)

    # --- Step 6: figures --------------------------------------------------------------
    paths = figures(results, rates, bands, headline, out)

    # --- Step 7: the takeaway---------------------------------------------------------------
    t, v = headline, verdicts[headline]
    n = v["n_seeds"]
    averages = f"{adaptive[t]:.1f} against {plain[t]:.1f} decades on average"
    if v["verdict"] == "wider":
        first = (f"After {updates} updates the adaptive optimisers tolerate a wider band of "
                 f"rates: at target {t:.2f} their bands are wider in "
                 f"{count(v['wider_seeds'], n)} seeds ({averages})"
                 + (", and so at every target tried." if len(holds) == len(targets) else
                    f"; so at {len(holds)} of {len(targets)} targets."))
    elif v["verdict"] == "narrower":
        first = (f"After {updates} updates the adaptive optimisers' bands are narrower, not "
                 f"wider: at target {t:.2f} in {count(v['narrower_seeds'], n)} seeds "
                 f"({averages}).")
    else:
        first = (f"After {updates} updates this run cannot tell whether the adaptive "
                 f"optimisers' bands are wider at target {t:.2f}: wider in "
                 f"{count(v['wider_seeds'], n)} seeds is no clear majority ({averages}).")
    sentences = [first]
    if "SGD" in centres and "Adam" in centres:
        sentences.append(f"Wide is not the same as placed alike: Adam's band sits "
                         f"{np.log10(centres['SGD'] / centres['Adam']):.1f} decades below "
                         "SGD's, so a rate tuned for one is a poor start for the other.")
    heaviest, costliest = price_words["heaviest"], price_words["costliest_update"]
    sentences.append(f"Adapting has a price, per weight and per step: "
                     f"{listing(heaviest)} keep{'s' if len(heaviest) == 1 else ''} "
                     f"{price_words['numbers_per_weight']} numbers per weight where SGD keeps "
                     f"none, and {costliest}'s update takes "
                     f"{cost[costliest]['update_vs_sgd']:.1f}x SGD's time.")
    needed = next(k for k in range(1, 30) if tn.metrics.wilson_interval(k, k)[0] > 0.5)
    takeaway = _common.takeaway(
        sentences, stats=f"band: neighbouring rates at which most of the {n} seeds reach the "
        f"target; widths in decades on a grid of {len(rates)} rates; a clear majority of "
        f"seeds: a 95% Wilson interval above one half; times: medians on this machine")
    if n < needed:
        print("  " + _common.too_small(n, needed, 5, "the claim seed by seed"))
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {
        "rates": rates.tolist(),
        "updates": updates,
        "band_width": {t: dict(w) for t, w in widths.items()},
        "bands": bands,
        "seed_band_width": {t: {k: w.tolist() for k, w in ws.items()}
                            for t, ws in per_seed.items()},
        "adaptive_mean_width": adaptive,
        "plain_mean_width": plain,
        "claim_by_seed": verdicts,
        "headline_target": headline,
        "cost": cost,
        "price": price_words,
        "takeaway": takeaway,
        "figures": paths,
    }


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/04_adaptive_optimizers.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
