# %% [markdown]
# # Lesson 3: warm-up, or why the first updates need a smaller rate than the rest.
#
# Question: can a learning rate that blows training up from a cold start train
# well once the first few hundred updates are taken more gently?
#
# What you will see:
#   * a regression network trained with SGD + momentum at a grid of rates, each
#     rate three ways: cold (the full rate from update one), with a linear
#     warm-up and with an exponential warm-up over the first 100 updates;
#   * the rates at which the cold start's loss goes NaN/inf (diverges, in the
#     strict sense tinynet records) while both warm-ups train, and
#     the loss those runs reach compared with the best cold-start run;
#   * 03_first_updates.png: the loss of every one of the first updates at one such
#     rate: the cold start explodes within a few updates, the warmed-up runs do not;
#   * 03_rate_grid.png: final validation loss against the rate for the three
#     variants, with the non-finite runs marked.
#
# Why it happens: at the start the network's outputs are far from the targets,
# so the first gradients are the largest of the whole run, and the loss surface
# is steepest there. Once the outputs are roughly right, the same rate is safe.
#
# All rates and variants of one seed train together as one stacked model with
# identical initial weights (``same_init=True``).
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 3: warm-up, or why the first updates need a smaller rate than the rest.

Run:  python lessons/03_warmup.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 6 s on a 2-core CPU; --quick (one seed instead of three) about 2 s.
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
VARIANTS = ("cold start", "linear warm-up", "exponential warm-up")


def make_data(n, seed=0):
    """A smooth 2-D function around 5, with a little noise: y (n, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 2))
    y = 5.0 + np.sin(2.0 * x[:, 0]) * np.cos(1.5 * x[:, 1]) + 0.3 * x[:, 1]
    y = y + 0.1 * rng.normal(size=n)
    return x, y[:, None]


def build(seed, n_models):
    return tn.Sequential([
        tn.layers.Dense(64, activation="relu", input_dim=2, kernel_initializer="he_normal"),
        tn.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        tn.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        tn.layers.Dense(1),
    ], seed=seed, n_models=n_models, same_init=True)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the problem and the three ways to start
# 2. train every rate and every start together
# 3. the table
# 4. what the grid says
# 5. look at the first updates

# %%
def main(out_dir="outputs/03_warmup", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: the problem and the three ways to start --------------------------
    x, y = make_data(1000)
    epochs, batch_size, warmup_steps = 20, 32, 100
    seeds = [0] if quick else [0, 1, 2]
    rates = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]

    def variants(lr):
        # linear: lr/100, 2 lr/100, ... up to lr at update 100 (never exactly 0);
        # exponential: from lr/1000, multiplying by the same factor every update.
        return [tn.schedules.Constant(lr),
                tn.schedules.Warmup(lr, warmup_steps, mode="linear"),
                tn.schedules.Warmup(lr, warmup_steps, start_learning_rate=lr / 1000,
                                    mode="exponential")]

    schedules = [s for lr in rates for s in variants(lr)]  # copy k: rate k // 3, variant k % 3
    print(f"SGD(momentum=0.9), MSE, batch {batch_size}, {epochs} epochs; {len(rates)} rates x "
          f"3 starts = {len(schedules)} stacked copies per seed, {len(seeds)} seed(s); warm-up "
          f"over the first {warmup_steps} updates.")

    # --- Step 2: train every rate and every start together -------------------------
    # A copy whose loss becomes NaN or inf is frozen and flagged in hist.diverged
    # while the others train on (fit never raises). A copy whose loss grows past
    # 4x its best but stays finite trains on (hist.grew records it) and is
    # judged by its final validation loss like any other.
    diverged, grew, val_loss, steps_loss = [], [], [], None
    for seed in seeds:
        model = build(seed, len(schedules))
        model.compile(tn.optimizers.SGD(schedules, momentum=0.9), loss="mse")
        # diverging copies overflow on purpose: silence the float warnings and
        # tinynet's DivergenceWarning, and read hist.diverged instead
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", tn.DivergenceWarning)
            hist = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=0.2,
                             verbose=0)
        diverged.append(np.asarray(hist.diverged).reshape(len(rates), 3))
        grew.append(np.asarray(hist.grew).reshape(len(rates), 3) & ~diverged[-1])
        last = np.asarray(hist.history["val_loss"][-1], dtype=float).reshape(len(rates), 3)
        val_loss.append(np.where(diverged[-1], np.nan, last))
        if steps_loss is None:
            steps_loss = (hist.steps["loss"], hist.steps["lr"])
    diverged = np.array(diverged)             # (seeds, rates, variants): NaN/inf
    n_grew = np.array(grew).sum(axis=0)       # grew past 4x, stayed finite
    val_loss = np.array(val_loss)
    n_div = diverged.sum(axis=0)              # (rates, variants)
    med = np.full((len(rates), 3), np.nan)    # median over the seeds that trained
    for i in range(len(rates)):
        for j in range(3):
            ok = ~diverged[:, i, j]
            if ok.any():
                med[i, j] = float(np.median(val_loss[ok, i, j]))
    # comparisons use only the rates that trained for every seed
    med_safe = np.where(n_div == 0, med, np.nan)

    # --- Step 3: the table -----------------------------------------------------------
    print(f"\n  {'rate':>6s}  " + "  ".join(f"{v:>21s}" for v in VARIANTS))
    print(f"  {'':6s}  " + "  ".join(f"{'NaN/inf  val loss':>21s}" for _ in VARIANTS))
    for i, lr in enumerate(rates):
        cells = [f"{n_div[i, j]}/{len(seeds)} {_num(med[i, j]):>12s}" for j in range(3)]
        print(f"  {lr:6.3f}  " + "  ".join(f"{c:>21s}" for c in cells))

    # --- Step 4: what the grid says ----------------------------------------------------
    def largest_safe(j):
        safe = [lr for i, lr in enumerate(rates) if n_div[i, j] == 0]
        return max(safe) if safe else None

    safe = [largest_safe(j) for j in range(3)]
    # the rates where every cold start went NaN/inf and no warmed-up run did
    rescued = [i for i in range(len(rates))
               if n_div[i, 0] == len(seeds) and n_div[i, 1] == 0 and n_div[i, 2] == 0]
    print(f"\nLargest rate that trained for every seed: cold start {_num(safe[0])}, linear "
          f"warm-up {_num(safe[1])}, exponential warm-up {_num(safe[2])}.")
    best_cold = np.nanmin(med_safe[:, 0])
    best_warm = np.nanmin(med_safe[:, 1:])
    best_warm_rate = rates[int(np.nanargmin(med_safe[:, 1:]) // 2)]
    headline = None
    if rescued:
        i = rescued[0]
        headline = rates[i]
        print(f"At rate {headline} every cold start went NaN/inf ({count(n_div[i, 0], len(seeds))}"
              f" seeds), while "
              f"the linear warm-up reached a validation loss of {_num(med[i, 1])} and the "
              f"exponential one {_num(med[i, 2])} ({len(rescued)} rate(s) of the grid behave "
              "like this).")
        losses, _ = steps_loss
        cold = losses[:, 3 * i]
        blown = np.flatnonzero(~np.isfinite(cold) | (cold > 100 * cold[0]))
        if blown.size:
            print(f"  Seed {seeds[0]}, cold start: batch loss {cold[0]:.3g} at update 1, "
                  f"{_num(cold[blown[0]])} at update {blown[0] + 1}"
                  + (f", not a number from update {np.flatnonzero(~np.isfinite(cold))[0] + 1}"
                     if not np.all(np.isfinite(cold)) else "") + ".")
        warm = losses[:, 3 * i + 1]
        print(f"  Seed {seeds[0]}, linear warm-up: batch loss {warm[0]:.3g} at update 1, "
              f"{np.median(warm[warmup_steps - 10:warmup_steps]):.3g} around update "
              f"{warmup_steps}, when the full rate arrives: by then the outputs are close to "
              "the targets and the same rate is safe.")
        # better or not: the seeds' own losses at the two best rates, paired by seed
        ic = int(np.nanargmin(med_safe[:, 0]))
        iw, jw = divmod(int(np.nanargmin(med_safe[:, 1:])), 2)
        gap = compare(val_loss[:, iw, 1 + jw], val_loss[:, ic, 0])
        print(f"Best validation loss among rates that trained for every seed: cold start "
              f"{best_cold:.4f} (rate {rates[ic]}), with warm-up {best_warm:.4f} (rate "
              f"{best_warm_rate}" + (", where the cold start went NaN/inf)"
                                     if n_div[iw, 0] > 0 else ")") + ": "
              + ("lower by more than the seed-to-seed spread: the rates only warm-up can use "
                 "are also the ones that train best." if gap == 1 and n_div[iw, 0] > 0
                 else "lower by more than the seed-to-seed spread." if gap == 1
                 else "higher by more than the seed-to-seed spread." if gap == -1
                 else f"the gap is within the seed-to-seed spread ({len(seeds)} seed(s)): "
                      "this run cannot tell which trains better."))
    else:
        print("No rate of the grid went NaN/inf from a cold start and trained with both "
              "warm-ups.")
    print("Runs whose loss grew past 4x its best, stayed finite and trained on: "
          + ", ".join(f"{v} {int(n_grew[:, j].sum())}" for j, v in enumerate(VARIANTS)) + ".")

    # --- Step 5: look at the first updates ---------------------------------------------
    fig, (ax1, ax2) = _common.figure(1, 2, size=(6.0, 4.2))
    show = headline if headline is not None else rates[-1]
    i = rates.index(show)
    losses, lrs = steps_loss
    n_show = 2 * warmup_steps
    for j, name in enumerate(VARIANTS):
        k = 3 * i + j
        ax1.plot(np.arange(1, n_show + 1), losses[:n_show, k], label=name, linewidth=1.2)
    ax1.set_yscale("log")
    finite = losses[:n_show, 3 * i:3 * i + 3]
    finite = finite[np.isfinite(finite)]
    ax1.set_ylim(0.5 * finite.min(), 1e3 * losses[0, 3 * i])  # an explosion runs off the top
    ax1.set_xlabel("update")
    ax1.set_ylabel("batch loss (MSE, before the update)")
    ax1.set_title(f"rate {show}, seed {seeds[0]}")
    ax1.axvline(warmup_steps, color="grey", linestyle=":", linewidth=1)
    ax1.legend(fontsize="small")
    ax1b = ax1.twinx()
    for j in (1, 2):
        ax1b.plot(np.arange(1, n_show + 1), lrs[:n_show, 3 * i + j], color=f"C{j}", alpha=0.35,
                  linestyle="--")
    ax1b.set_ylabel("learning rate (dashed)")
    for j, name in enumerate(VARIANTS):
        ax2.plot(rates, med_safe[:, j], "o-", label=name, color=f"C{j}")
        bad = n_div[:, j] > 0
        top = np.nanmax(med) * 2 if np.isfinite(np.nanmax(med)) else 1.0
        ax2.plot(np.array(rates)[bad], np.full(bad.sum(), top * (1.0 + 0.15 * j)), "x",
                 color=f"C{j}", markersize=9)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("learning rate (target of the warm-up)")
    ax2.set_ylabel("final validation loss (median over seeds)")
    ax2.set_title("x: NaN/inf for at least one seed (no loss drawn)")
    ax2.legend(fontsize="small")
    ax2.grid(True, alpha=0.3)
    paths = [_common.save(fig, out, "03_first_updates.png")]
    # the second figure repeats the grid alone, larger, for the lesson table
    fig2, ax = _common.figure(1, 1)
    for j, name in enumerate(VARIANTS):
        ax.plot(rates, n_div[:, j] / len(seeds), "o-", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("fraction of seeds whose loss went NaN/inf")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    paths.append(_common.save(fig2, out, "03_rate_grid.png"))
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {
        "rates": rates,
        "n_seeds": len(seeds),
        "n_diverged": {v: n_div[:, j].tolist() for j, v in enumerate(VARIANTS)},
        "val_loss": {v: med[:, j].tolist() for j, v in enumerate(VARIANTS)},
        "largest_safe_rate": dict(zip(VARIANTS, safe, strict=True)),
        "rescued_rates": [rates[i] for i in rescued],
        "headline_rate": headline,
        "best_val_loss_cold": float(best_cold),
        "best_val_loss_warm": float(best_warm),
        "n_grew": {v: n_grew[:, j].tolist() for j, v in enumerate(VARIANTS)},
        "figures": paths,
    }


# two-sided 95% points of Student's t for n - 1 = 1, 2, ... degrees of freedom


def _num(v):
    if v is None or not np.isfinite(v):
        return "-"
    return f"{v:.4g}"


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/03_warmup.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
