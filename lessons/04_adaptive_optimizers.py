# %% [markdown]
# # Lesson 4: are adaptive optimisers more forgiving about the learning rate?
#
# Question: Adam, RMSprop and Adagrad scale each weight's step by the history of
# its own gradients. The usual claim is that this makes the choice of the base
# rate "more forgiving". Measured how? Here: sweep the same log grid of rates
# and seeds with each optimiser and measure how wide, in decades, the band of
# rates is that trains the network well.
#
# What you will see:
#   * five sweeps (SGD, SGD with momentum 0.9, RMSprop, Adagrad, Adam), each the
#     same 25 rates from 1e-5 to 10 (four per decade) times the same seeds;
#   * per optimiser: the band of rates whose runs reach the target validation
#     accuracy in most seeds, its edges and its width in decades, at three
#     targets so you can see whether the answer depends on the bar;
#   * whether each optimiser's default rate (Keras's) lies inside its band;
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
Time: about 10 s on a 2-core CPU; --quick (two seeds, two rates per decade) about 4 s.
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
    "SGD": ("sgd", {}, 0.01),
    "momentum": ("sgd", {"momentum": 0.9}, 0.01),
    "RMSprop": ("rmsprop", {}, 0.001),
    "Adagrad": ("adagrad", {}, 0.001),
    "Adam": ("adam", {}, 0.001),
}
ADAPTIVE = ("RMSprop", "Adagrad", "Adam")


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


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. one problem, one grid, one budget for everybody
# 2. one sweep per optimiser
# 3. measure the bands
# 4. test the claim
# 5. figures
# 6. the takeaway

# %%
def main(out_dir="outputs/04_adaptive_optimizers", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: one problem, one grid, one budget for everybody -------------------
    # Same data, network, batches, epochs, initial weights and rates for every
    # optimiser: only the update rule differs.
    x, y = tn.datasets.make_spirals(1000, n_classes=3, noise=0.2, turns=1.0, seed=0)
    x = tn.data.StandardScaler().fit_transform(x)
    per_decade = 2 if quick else 4
    rates = np.logspace(-5, 1, 6 * per_decade + 1)
    seeds = range(2) if quick else range(5)
    epochs, batch_size = 30, 32
    targets = (0.90, 0.95, 0.98)
    headline = 0.95
    print(f"{len(rates)} rates from 1e-5 to 10 ({per_decade} per decade) x {len(seeds)} seeds, "
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

    # --- Step 3: measure the bands -----------------------------------------------------
    # A rate "succeeds" when most seeds end with a validation accuracy at or above
    # the target; the band is the run of neighbouring rates that succeed.
    widths = {t: {} for t in targets}
    bands = {}
    for name, res in results.items():
        for t in targets:
            # success_rate counts final > threshold; the tiny offset makes it >=
            b = band(rates, res.success_rate("val_accuracy", t - 1e-9), per_decade)
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

    # --- Step 4: test the claim --------------------------------------------------------
    adaptive = {t: float(np.mean([widths[t][k] for k in ADAPTIVE])) for t in targets}
    plain = {t: float(np.mean([widths[t][k] for k in OPTIMIZERS if k not in ADAPTIVE]))
             for t in targets}
    print("\nMean band width, adaptive (RMSprop, Adagrad, Adam) vs SGD with and without "
          "momentum:")
    for t in targets:
        verdict = ("wider" if adaptive[t] > plain[t] else
                   "narrower" if adaptive[t] < plain[t] else "the same")
        print(f"  target {t:.2f}: {adaptive[t]:.2f} vs {plain[t]:.2f} decades: adaptive is "
              f"{verdict}")
    holds = [t for t in targets if adaptive[t] > plain[t]]
    if len(holds) == len(targets):
        print("The claim holds here at every target: the adaptive optimisers tolerate a wider "
              "range of base rates.")
    elif holds:
        print(f"The claim holds at targets {', '.join(f'{t:.2f}' for t in holds)} only: how "
              "forgiving an optimiser looks depends on the bar you set.")
    else:
        print("The claim does not hold here: the adaptive optimisers' bands are not wider.")
    n_inside = sum(b is not None and b[0] <= OPTIMIZERS[k][2] <= b[1] for k, b in bands.items())
    print(f"{n_inside} of {len(bands)} default rates lie inside their optimiser's band. At its "
          f"default rate, after {epochs} epochs:")
    for name, res in results.items():
        i = int(np.argmin(np.abs(np.log(rates / OPTIMIZERS[name][2]))))
        acc = np.median(np.where(res.diverged[i], 0.0, res.final("val_accuracy")[i]))
        print(f"  {name:10s} rate {rates[i]:.3g}: median validation accuracy {acc:.3f}, "
              f"{count(res.diverged[i].sum(), res.n_seeds)} seeds went NaN/inf, "
              f"{int(res.grew[i].sum())} grew past 4x their best loss")
    widest = max(results, key=lambda k: widths[headline][k])
    narrowest = min(results, key=lambda k: widths[headline][k])
    print(f"At target {headline:.2f} the widest band is {widest}'s "
          f"({widths[headline][widest]:.2f} decades), the narrowest {narrowest}'s "
          f"({widths[headline][narrowest]:.2f}).")
    # Where the band sits matters as much as how wide it is: the adaptive ones
    # need rates one to three decades smaller than SGD.
    centres = {k: np.sqrt(b[0] * b[1]) for k, b in bands.items() if b is not None}
    if "SGD" in centres and "Adam" in centres:
        print(f"Band centres: SGD {centres['SGD']:.2g}, Adam {centres['Adam']:.2g} "
              f"({np.log10(centres['SGD'] / centres['Adam']):.1f} decades apart): a rate "
              "that suits one is not a good first guess for the other.")

    # --- Step 5: figures --------------------------------------------------------------
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
    fig, axes = _common.figure(1, len(results), size=(3.2, 3.2), sharey=True)
    for ax, (name, res) in zip(axes, results.items(), strict=True):
        tn.plot_sweep.final_vs_rate(res, "val_accuracy", ax=ax, log=False)
        ax.set_title(name)
        if ax is not axes[0]:
            ax.set_ylabel("")
            ax.get_legend().remove()
    paths.append(_common.save(fig, out, "04_sweeps.png"))

    # --- Step 6: the takeaway---------------------------------------------------------------
    t = headline
    sentences = [(f"The adaptive optimisers tolerate a wider band of rates: {adaptive[t]:.1f} "
              f"against {plain[t]:.1f} decades on average at target {t:.2f}"
              + (", and at every target tried." if len(holds) == len(targets) else
                 f"; at {len(holds)} of {len(targets)} targets.")) if t in holds else
             f"The adaptive optimisers' bands are not wider at target {t:.2f} ({adaptive[t]:.1f} "
             f"against {plain[t]:.1f} decades)."]
    if "SGD" in centres and "Adam" in centres:
        sentences.append(f"Wide is not the same as placed alike: Adam's band sits "
                     f"{np.log10(centres['SGD'] / centres['Adam']):.1f} decades below SGD's, so "
                     "a rate tuned for one is a poor start for the other.")
    n_seeds = next(iter(results.values())).n_seeds
    _common.takeaway(sentences, stats=f"band: neighbouring rates at which most of the "
                     f"{n_seeds} seeds reach the target; widths in decades on a grid of "
                     f"{len(rates)} rates")
    if n_seeds < 3:
        print("  " + _common.too_small(n_seeds, 3, 5, "which single optimiser is widest"))
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {
        "rates": rates.tolist(),
        "band_width": {t: dict(w) for t, w in widths.items()},
        "bands": bands,
        "adaptive_mean_width": adaptive,
        "plain_mean_width": plain,
        "headline_target": headline,
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
