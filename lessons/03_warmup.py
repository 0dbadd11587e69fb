# %% [markdown]
# # Lesson 3: warm-up: do the first updates need a smaller rate than the rest?
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
#     rate, to see whether the cold start explodes within a few updates and the
#     warmed-up runs do not;
#   * 03_rate_grid.png: final validation loss against the rate for the three
#     variants, with the non-finite runs marked;
#   * 03_sharpness.png: the sharpness over the first updates, cold and warmed
#     up, on the raw and the centred targets, against 2 (1 + m) / lr.
#
# Why it happens, two candidate causes, each tested: (a) the network's outputs
# start far from the targets, so the first gradients are large; (b) the loss
# surface is sharply curved at the start. The lesson removes (a) by centring
# the targets on their mean (the outputs then start next to them) and trains
# the cold start again; it tests (b) by measuring the sharpness (the largest
# curvature, `tn.diagnostics.sharpness`) over the first updates against what a
# rate tolerates: plain gradient descent is stable only while lr x sharpness < 2,
# and with momentum m only while it is < 2 (1 + m).
#
# All rates and variants of one seed train together as one stacked model with
# identical initial weights (``same_init=True``).
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 3: warm-up: do the first updates need a smaller rate than the rest?

Run:  python lessons/03_warmup.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 15 s on a 2-core CPU; --quick (one seed instead of three, six rates) about 4 s.
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
MOMENTUM = 0.9


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
    rates = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2][2 if quick else 0:]

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
        model.compile(tn.optimizers.SGD(schedules, momentum=MOMENTUM), loss="mse")
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
    med = median_over_seeds(val_loss)         # (rates, variants), every seed counted
    # comparisons use only the rates that trained for every seed
    med_safe = np.where(n_div == 0, med, np.nan)

    # --- Step 3: the table -----------------------------------------------------------
    print(f"\n  {'rate':>6s}  " + "  ".join(f"{v:>28s}" for v in VARIANTS))
    print(f"  {'':6s}  " + "  ".join(f"{'NaN/inf':>18s}{'val loss':>10s}" for _ in VARIANTS))
    for i, lr in enumerate(rates):
        cells = [f"{count(n_div[i, j], len(seeds)):>18s}{_num(med[i, j]):>10s}" for j in range(3)]
        print(f"  {lr:6.3f}  " + "  ".join(cells))
    print(f"  (NaN/inf: seeds within {epochs} epochs, with the Wilson 95% interval; val loss: "
          "median over all seeds, a seed that went NaN/inf counting as the worst; '-' where "
          "that median is itself NaN/inf)")

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
              f"{warmup_steps}, when the full rate arrives (why that rate is then safe: "
              "Step 6).")
        # better or not: the seeds' own losses at the two best rates, paired by seed
        ic = int(np.nanargmin(med_safe[:, 0]))
        iw, jw = divmod(int(np.nanargmin(med_safe[:, 1:])), 2)
        gap = compare(val_loss[:, iw, 1 + jw], val_loss[:, ic, 0])
        print(f"Best validation loss after {epochs} epochs among rates that trained for every "
              f"seed: cold start "
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
    n_runs = len(seeds) * len(rates)  # per start: every seed at every rate
    print("Runs whose loss grew past 4x its best, stayed finite and trained on (of every seed "
          "at every rate): " + ", ".join(f"{v} {count(n_grew[:, j].sum(), n_runs)}"
                                         for j, v in enumerate(VARIANTS)) + ".")

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
        finite_med = med[np.isfinite(med)]
        top = 2 * finite_med.max() if finite_med.size else 1.0
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

    # --- Step 6: which cause? remove the distance, measure the curvature ----------------
    # Control for "the outputs start far from the targets": the same cold starts on
    # targets centred on their training mean, where the untrained outputs (near 0)
    # already sit next to them. Then the curvature: the sharpness S at the start and
    # along the first updates, against what momentum SGD tolerates, lr S < 2 (1 + m).
    # The control runs at the rates where the question arises: those only a warm-up
    # could use.
    n_train = int(0.8 * len(x))
    centred = centred_cold_starts(x, y, seeds, [rates[i] for i in rescued] or [show], epochs,
                                  batch_size, n_train)
    # probe the smallest rescued rate where centring does not help (the distance is
    # then ruled out), else the headline rate
    ruled_out = [rates[i] for i in rescued if centred["n_diverged"][rates[i]] == len(seeds)]
    probe_rate = ruled_out[0] if ruled_out else show
    probe = [curvature_probe(seed, probe_rate, x[:n_train], y[:n_train], warmup_steps,
                             batch_size) for seed in seeds]
    cause = explain_cause(rates, rescued, centred, probe, probe_rate, len(seeds), epochs)
    paths.append(plot_sharpness(probe, probe_rate, out))

    # --- Step 7: the takeaway -------------------------------------------------------------
    if rescued:
        _common.takeaway(cause["takeaway"], stats=cause["stats"])
    else:
        _common.takeaway(["No rate of the grid blew up from a cold start and trained with both "
                          "warm-ups, so this run shows no rate that only a warm-up can use."])
    if len(seeds) < 3:
        print("  " + _common.too_small(len(seeds), 3, 3, "how often each start blows up"))
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
        "centred_n_diverged_cold": centred["n_diverged"],
        "initial_loss": {"raw": centred["initial_raw"], "centred": centred["initial_centred"]},
        "probe_rate": probe_rate,
        "momentum": MOMENTUM,
        "sharpness": {key: [p[key] for p in probe] for key in probe[0]},
        "cause": cause,
        "figures": paths,
    }


# %% [markdown]
# ## The two causes, tested
#
# `centred_cold_starts` removes the distance between outputs and targets;
# `curvature_probe` measures the sharpness along the first updates of a cold and
# a warmed-up run (raw and centred targets); `explain_cause` words what they say.

# %%
def centred_cold_starts(x, y, seeds, rates, epochs, batch_size, n_train):
    """Cold starts at the given rates on y - mean(y_train): {rate: seeds that went NaN/inf}.

    Also the initial training loss of the untrained network on the raw and the
    centred targets (median over seeds): how far the outputs start from them.
    """
    yc = y - y[:n_train].mean()
    n_div, start_raw, start_centred = np.zeros(len(rates), int), [], []
    for seed in seeds:
        model = build(seed, len(rates))
        model.compile(tn.optimizers.SGD(list(rates), momentum=MOMENTUM), loss="mse")
        start_raw.append(float(np.median(model.evaluate(x[:n_train], y[:n_train])["loss"])))
        start_centred.append(float(np.median(model.evaluate(x[:n_train], yc[:n_train])["loss"])))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", tn.DivergenceWarning)
            hist = model.fit(x, yc, epochs=epochs, batch_size=batch_size, validation_split=0.2,
                             verbose=0)
        n_div += np.asarray(hist.diverged, dtype=int)
    return {"n_diverged": {r: int(k) for r, k in zip(rates, n_div, strict=True)},
            "initial_raw": float(np.median(start_raw)),
            "initial_centred": float(np.median(start_centred))}


PROBE_STEPS = (0, 1, 2, 50, 100)  # updates made before each sharpness measurement


def curvature_probe(seed, lr, x, y, warmup_steps, batch_size):
    """Sharpness (largest Hessian eigenvalue of the training loss) over the first updates.

    Two stacked copies from the same weights, a cold start at lr and a linear
    warm-up to lr over warmup_steps, trained batch by batch on the raw and on the
    centred targets. Returns {"<start> <targets>": [S after k updates for k in
    PROBE_STEPS]} (NaN once a copy's weights are no longer finite).
    """
    found = {}
    for targets, t in (("raw", y), ("centred", y - y.mean())):
        model = build(seed, 2)
        model.compile(tn.optimizers.SGD([tn.schedules.Constant(lr),
                                         tn.schedules.Warmup(lr, warmup_steps, mode="linear")],
                                        momentum=MOMENTUM), loss="mse")
        rng, vector, values = np.random.default_rng(seed), None, []
        per_epoch = -(-len(x) // batch_size)
        orders = [rng.permutation(len(x)) for _ in range(PROBE_STEPS[-1] // per_epoch + 1)]
        for step in range(PROBE_STEPS[-1] + 1):
            if step in PROBE_STEPS:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore", tn.DivergenceWarning)
                    value, vector = tn.diagnostics.sharpness(model, x, t, iters=10,
                                                             start=vector, return_vector=True)
                values.append(np.asarray(value, float))
            epoch, start = divmod(step, per_epoch)
            rows = orders[epoch][start * batch_size:(start + 1) * batch_size]
            if step < PROBE_STEPS[-1]:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore", tn.DivergenceWarning)
                    model.train_on_batch(x[rows], t[rows])
        values = np.where(np.isfinite(values), values, np.nan)
        found[f"cold {targets}"] = values[:, 0].tolist()
        found[f"warm-up {targets}"] = values[:, 1].tolist()
    return found


def median_sharpness(values):
    """(median, non-finite): S over all seeds, a seed whose S is NaN/inf counted as the sharpest.

    values: one sharpness per seed (NaN once that run's weights stopped being
    finite). The median is over every seed, never over the finite ones only, so
    it is +inf once more than half of them are non-finite (tn.metrics.run_quartiles).
    """
    v = np.asarray(values, float)
    return float(tn.metrics.run_quartiles(v, mode="min")[1]), int(np.sum(~np.isfinite(v)))


def explain_cause(rates, rescued, centred, probe, lr, n_seeds, epochs):
    """What the centred control and the curvature say about why the cold start blows up.

    rescued: indices of the rates where every cold start went NaN/inf and no warm-up
    did; lr: the rate the curvature was probed at; epochs: the training budget.
    A seed whose sharpness went non-finite counts as the sharpest (median_sharpness).
    """
    tolerated = 2.0 * (1.0 + MOMENTUM)  # lr * S must stay below this
    last = len(PROBE_STEPS) - 1
    start = {k: median_sharpness([p[f"cold {k}"][0] for p in probe]) for k in ("raw", "centred")}
    end = {k: median_sharpness([p[f"warm-up {k}"][last] for p in probe])
           for k in ("raw", "centred")}
    s0 = {k: v[0] for k, v in start.items()}
    s_end = {k: v[0] for k, v in end.items()}
    nonfinite_end = {k: v[1] for k, v in end.items()}
    n_centred = centred["n_diverged"]
    still = [rates[i] for i in rescued if n_centred[rates[i]] == n_seeds]
    saved = [rates[i] for i in rescued if n_centred[rates[i]] < n_seeds]
    saved_in = [f"{r} in {count(n_seeds - n_centred[r], n_seeds)} seeds" for r in saved]
    print(f"\nCause (a), the distance: centring the targets takes the initial training loss "
          f"from {centred['initial_raw']:.3g} to {centred['initial_centred']:.3g}. Cold starts "
          "that went NaN/inf on the centred targets, at the rates only a warm-up could use: "
          + ", ".join(f"{r} {count(k, n_seeds)}" for r, k in n_centred.items()) + ".")
    print(f"Cause (b), the curvature, at rate {lr}: the sharpness S at the start is "
          f"{s0['raw']:.0f} (raw targets) and {s0['centred']:.0f} (centred), so lr x S = "
          f"{lr * s0['raw']:.1f} and {lr * s0['centred']:.1f}, against the {tolerated:.1f} that "
          f"momentum {MOMENTUM} tolerates (plain gradient descent: 2). After the "
          f"{PROBE_STEPS[-1]} updates of the warm-up S is {s_end['raw']:.0f} (raw) and "
          f"{s_end['centred']:.0f} (centred): lr x S = {lr * s_end['raw']:.1f} and "
          f"{lr * s_end['centred']:.1f}"
          + (f" (medians over all {n_seeds} seeds; not finite by then, counted as the sharpest: "
             f"raw {count(nonfinite_end['raw'], n_seeds)}, centred "
             f"{count(nonfinite_end['centred'], n_seeds)})" if any(nonfinite_end.values()) else
             "")
          + f". As rates: a cold start overshoots above 2 (1 + m) / S = "
          f"{tolerated / s0['raw']:.3g} (2 / S = {2 / s0['raw']:.3g}).")
    curved_at_start = min(s0.values()) * lr > tolerated
    flat_after = max(s_end.values()) * lr < tolerated
    verdict = {"curved_at_start": curved_at_start, "flat_after_warmup": flat_after,
               "sharpness_start": s0, "tolerated": tolerated}
    takeaway = cause_sentences([rates[i] for i in rescued], still, saved_in, verdict, lr,
                               n_seeds, epochs)
    stats = (f"rate {lr}: S at the start {s0['raw']:.0f} / {s0['centred']:.0f} (raw / centred), "
             f"after {PROBE_STEPS[-1]} warm-up updates {s_end['raw']:.0f} / "
             f"{s_end['centred']:.0f}, stable below {tolerated / lr:.0f}; centred cold starts "
             f"NaN/inf at rate {lr}: {count(n_centred[lr], n_seeds)}")
    return {"distance_saved_at": saved, "distance_not_enough_at": still,
            "curved_at_start": curved_at_start, "flat_after_warmup": flat_after,
            "sharpness_start": s0, "sharpness_after_warmup": s_end, "tolerated": tolerated,
            "sharpness_after_warmup_nonfinite": nonfinite_end,
            "takeaway": takeaway, "stats": stats}


def cause_sentences(rescued_rates, still, saved_in, v, lr, n_seeds, epochs):
    """The takeaway's sentences: the rates, the distance control, the curvature."""
    shown = ", ".join(map(str, rescued_rates))
    takeaway = [f"Within {epochs} epochs, from a cold start the rates {shown} went NaN/inf in "
                f"{count(n_seeds, n_seeds)} seeds each, and with a warm-up in "
                f"{count(0, n_seeds)}."]
    if still and saved_in:
        takeaway.append(f"Starting the outputs next to the targets (centred targets) saved the "
                        f"cold start at {_list(saved_in)} but not at {_list(still)}: the distance "
                        "to the targets adds to the trouble, but it is not what breaks the "
                        "larger rates.")
    elif still:
        takeaway.append("Starting the outputs next to the targets (centred targets) does not "
                        "save the cold start at any of them: the distance to the targets is "
                        "not what breaks it.")
    else:
        takeaway.append("Centring the targets saved the cold start at every one of them: here "
                        "the distance to the targets is what breaks it.")
    if v["curved_at_start"] and v["flat_after_warmup"]:
        too_sharp = lr * min(v["sharpness_start"].values()) / v["tolerated"]
        takeaway.append(f"What separates the starts is the curvature: at the start the loss is "
                        f"{too_sharp:.0f}x too sharply curved for rate {lr}, and the warm-up's "
                        "small steps carry the weights to a region flat enough for it (raw or "
                        "centred targets) before the full rate arrives.")
    elif v["curved_at_start"]:
        takeaway.append("The start is too sharply curved for the rate, but the warm-up did not "
                        "flatten it below the limit in its updates: the curvature alone does not "
                        "explain this run.")
    else:
        takeaway.append("The curvature at the start is within what the rate tolerates, so it "
                        "does not explain the blow-up here.")
    return takeaway


def _list(values):
    return ", ".join(map(str, values)) if values else "none"


def plot_sharpness(probe, lr, out):
    """03_sharpness.png: S after each probed update, every seed, against 2 (1 + m) / lr."""
    fig, ax = _common.figure(1, 1)
    steps = np.array(PROBE_STEPS) + 1  # log axis: update k drawn at k + 1
    for j, key in enumerate(probe[0]):
        for s, p in enumerate(probe):
            ax.plot(steps, p[key], "o-" if "warm" in key else "x--", color=f"C{j}",
                    alpha=0.8, label=key if s == 0 else None)
    ax.axhline(2.0 * (1.0 + MOMENTUM) / lr, color="k", linestyle=":",
               label=f"2 (1 + m) / lr, lr = {lr}")
    ax.axhline(2.0 / lr, color="grey", linestyle=":", label="2 / lr")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("updates made + 1")
    ax.set_ylabel("sharpness (largest Hessian eigenvalue)")
    ax.set_title("above the dotted line a step overshoots; cold runs end once NaN/inf")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return _common.save(fig, out, "03_sharpness.png")


def median_over_seeds(val_loss):
    """(rates, variants) median final validation loss over all seeds, NaN/inf the worst.

    val_loss: (seeds, rates, variants), NaN where a run went NaN/inf. A run that
    blew up counts as +inf, never dropped, so the median is +inf once more than
    half the seeds blew up (tn.metrics.run_quartiles).
    """
    return tn.metrics.run_quartiles(val_loss, mode="min", axis=0)[1]


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
