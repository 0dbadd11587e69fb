# %% [markdown]
# # Lesson 19: stuck in a valley, or only slow to start?
#
# Question: when the loss stops going down at a small learning rate, is the
# run stuck in a poor local minimum (a valley that is not the deepest), or is
# it only sitting on a flat stretch that it will leave if you wait? The two
# look the same on a short budget; the lesson measures whether running longer
# tells them apart.
#
# Part 1 is a curve with two valleys, small enough to see whole: a narrow,
# shallow one where every run starts, and a wide, deep one further right.
# Plain gradient descent, w <- w - lr * f'(w), runs from 16 starting points
# (the seeds) at rates from 0.05 to 25, for 300 steps and for 100x as many.
# A valley bottom holds gradient descent only while lr < 2 / f'' there (the
# stability bound of lesson 1), so the narrow valley's curvature sets how
# large a rate must be to get out.
#
# Part 2 is a network: the Q&A post's 10x10x10x10x4 ReLU net, its weights drawn
# small (RandomNormal(stddev=0.1): twice the post's 0.05, so that the plateau
# fits in a run of seconds), on the post's four blobs, standardised. Its loss
# starts at ln 4 (uniform guessing). The lesson reads each run after 10 epochs
# and after many more, at several rates, with He initialisation as the control
# (no tiny weights): it counts the seeds still flat at the short budget, and how
# many of those fell by the long one, to ask whether a flat start is a minimum.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 19: is a too-small rate stuck in a shallow valley, or on a plateau that only looks stuck?

Run:   python lessons/19_stuck_or_slow.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 9 seconds of CPU time on 2 cores (--quick: about 3).
"""

import sys
import warnings
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import count  # noqa: E402

# %%
# The curve of part 1: a wide bowl around w = 3 (curvature 2 * BOWL) minus a
# narrow Gaussian dip at 0 (depth DIP, width WIDTH).
BOWL, DEEP_AT, DIP, WIDTH = 0.05, 3.0, 0.3, 0.3
RATES_1D = (0.05, 0.2, 0.5, 0.8, 1.0, 2.0, 5.0, 15.0, 25.0)
FULL_SEEDS = 8  # seeds per rate of the network in the full run
CENTERS = np.array([(-10.0, -10.0), (-10.0, 10.0), (10.0, -10.0), (10.0, 10.0)])


def curve(w):
    """f(w) = BOWL (w - DEEP_AT)^2 - DIP exp(-w^2 / (2 WIDTH^2))."""
    return BOWL * (w - DEEP_AT) ** 2 - DIP * np.exp(-w ** 2 / (2 * WIDTH ** 2))


def slope(w):
    """f'(w)."""
    return 2 * BOWL * (w - DEEP_AT) + DIP * w / WIDTH ** 2 * np.exp(-w ** 2 / (2 * WIDTH ** 2))


def curvature(w):
    """f''(w)."""
    dip = DIP / WIDTH ** 2 * np.exp(-w ** 2 / (2 * WIDTH ** 2))
    return 2 * BOWL + dip * (1 - w ** 2 / WIDTH ** 2)


def newton_root(w):
    """Where f'(w) = 0 near w (Newton's method on f')."""
    for _ in range(100):
        w = w - slope(w) / curvature(w)
    return float(w)


def descend(starts, rates, steps, record_at):
    """Plain gradient descent from every start at every rate, all at once.

    starts (n,), rates (R,); returns w after record_at steps and after steps,
    each (R, n); NaN once a run blew up (|w| > 1e6).
    """
    w = np.tile(np.asarray(starts, float), (len(rates), 1))
    lr = np.asarray(rates, float)[:, None]
    early = None
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            w = w - lr * slope(w)
            w[np.abs(w) > 1e6] = np.nan
            if step + 1 == record_at:
                early = w.copy()
    return early, w


SHALLOW = ("shallow bottom", "shallow, bouncing")


def where(w, shallow_at, barrier_at):
    """Per run: 'shallow bottom', 'shallow, bouncing', 'deep valley' or 'blew up'."""
    at_bottom = np.abs(w - shallow_at) < 1e-3
    return np.where(~np.isfinite(w), "blew up",
                    np.where(w > barrier_at, "deep valley",
                             np.where(at_bottom, "shallow bottom", "shallow, bouncing")))


def post_network(k, init, lr):
    """The post's 10x10x10x10x4 ReLU/softmax network, SGD(lr), K copies."""
    def make():
        if init == "He":
            return tn.initializers.HeNormal()
        return tn.initializers.RandomNormal(stddev=0.1)
    layers = [tn.layers.Dense(10, activation="relu", kernel_initializer=make(), input_dim=2)]
    layers += [tn.layers.Dense(10, activation="relu", kernel_initializer=make()) for _ in range(3)]
    layers.append(tn.layers.Dense(4, activation="softmax", kernel_initializer=make()))
    model = tn.Sequential(layers, seed=0, n_models=k)
    model.compile(tn.optimizers.SGD(lr), loss="sparse_categorical_crossentropy")
    return model


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the curve: where its valleys are and how sharp
# 2. every rate from the same starts, at two budgets
# 3. the control: the smallest rate started in the deep valley's basin
# 4. the network's plateau at a short and a long budget
# 5. the control: He initialisation at the smallest rate
# 6. figures, and the takeaway

# %%
def valleys(quick):
    """Steps 1-3: the two-valley curve under gradient descent."""
    # --- Step 1: the curve. Its two bottoms and the barrier between them come
    # from f' = 0; the curvature at each bottom gives its stability bound 2 / f''.
    shallow_at, deep_at = newton_root(0.0), newton_root(DEEP_AT)
    grid = np.linspace(shallow_at, deep_at, 20001)
    barrier_at = float(grid[np.argmax(curve(grid))])
    bound_shallow, bound_deep = 2 / curvature(shallow_at), 2 / curvature(deep_at)
    print(f"Part 1: the shallow valley's bottom is at w = {shallow_at:.3f} (loss "
          f"{curve(shallow_at):.3f}), the deep one's at w = {deep_at:.3f} (loss "
          f"{curve(deep_at):.3f}), the barrier between them at w = {barrier_at:.2f} (loss "
          f"{curve(barrier_at):.3f}). Curvature at the bottoms: {curvature(shallow_at):.2f} "
          f"and {curvature(deep_at):.2f}, so a bottom holds gradient descent only for "
          f"lr < {bound_shallow:.2f} (shallow) and lr < {bound_deep:.1f} (deep).")

    # --- Step 2: every rate from the same starts (the seeds: points drawn
    # around the shallow bottom, all inside its basin), at 300 steps and 100x more.
    n_starts, steps = (8, 300) if quick else (16, 300)
    starts = np.random.default_rng(0).uniform(shallow_at - 0.2, shallow_at + 0.2, n_starts)
    w_short, w_long = descend(starts, RATES_1D, 100 * steps, record_at=steps)
    rows = []
    for i, lr in enumerate(RATES_1D):
        short = where(w_short[i], shallow_at, barrier_at)
        long = where(w_long[i], shallow_at, barrier_at)
        rows.append({"lr": lr, "short": short.tolist(), "long": long.tolist(),
                     "shallow_long": int(np.sum(np.isin(long, SHALLOW))),
                     "deep_long": int(np.sum(long == "deep valley")),
                     "changed": int(np.sum(short != long))})
    print(f"\n{n_starts} starts in the shallow valley; where they are after {steps} and "
          f"{100 * steps} steps:")
    for r in rows:
        kinds = ", ".join(f"{kind} {r['long'].count(kind)}" for kind in
                          ("shallow bottom", "shallow, bouncing", "deep valley", "blew up")
                          if kind in r["long"])
        print(f"  lr {r['lr']:5.2f} ({r['lr'] / bound_shallow:5.2f} x the shallow bound): "
              f"{kinds}; {r['changed']} changed between the two budgets")

    # --- Step 3: the control. Is the smallest rate stuck because of the valley
    # or only slow? Start it past the barrier, inside the deep valley's basin.
    control_start = barrier_at + 0.5
    c_short, c_long = descend([control_start], RATES_1D[:1], 100 * steps, record_at=steps)
    return {"shallow_at": shallow_at, "deep_at": deep_at, "barrier_at": barrier_at,
            "bound_shallow": bound_shallow, "bound_deep": bound_deep, "rows": rows,
            "n_starts": n_starts, "steps": steps, "starts": starts, "w_long": w_long,
            "control_start": control_start,
            "control_short_gap": float(abs(c_short[0, 0] - deep_at)),
            "control_long_gap": float(abs(c_long[0, 0] - deep_at))}


def say_valleys(v):
    """What part 1 shows, worded from its numbers."""
    n, rows = v["n_starts"], v["rows"]
    below = [r for r in rows if r["lr"] < v["bound_shallow"]]
    leave = [r for r in rows if r["deep_long"] == n]
    stuck_below = all(r["shallow_long"] == n and r["changed"] == 0 for r in below)
    first_out = leave[0]["lr"] if leave else None
    bounce = [r["lr"] for r in rows if r["lr"] >= v["bound_shallow"] and r["shallow_long"] > 0]
    print(f"\n-> Below the shallow bound ({v['bound_shallow']:.2f}) "
          + (f"every rate keeps every start in the shallow valley, after {100 * v['steps']} "
             "steps as after " + str(v["steps"]) + ": the bottom attracts them, and waiting "
             "100x longer changes nothing. That is stuck, not slow."
             if stuck_below else "some starts still left the shallow valley (see the table)."))
    if first_out is not None:
        print(f"   From lr {first_out:g} ({first_out / v['bound_shallow']:.1f}x the bound) every "
              "start leaves it and ends in the deep valley"
              + (f"; just above the bound (lr {', '.join(f'{b:g}' for b in bounce)}) the bottom "
                 "no longer holds them, yet they bounce inside the valley without crossing "
                 "the barrier" if bounce else "")
              + ".")
    arrived = v["control_long_gap"] < 1e-3
    print(f"   Control: lr {RATES_1D[0]:g} started at w = {v['control_start']:.2f}, past the "
          f"barrier, is {v['control_short_gap']:.2f} from the deep bottom after {v['steps']} "
          f"steps and {v['control_long_gap']:.0e} after {100 * v['steps']}: "
          + ("the small rate is slow, but it gets to a bottom it can reach; what holds it "
             "above is the shallow valley it starts in."
             if arrived else "it did not arrive either, so part of it is plain slowness."))
    return {"stuck_below_bound": stuck_below, "first_rate_out": first_out,
            "bouncing_rates": bounce, "control_arrived": arrived}


def plateau_epoch(losses, level):
    """Per copy: the first epoch (counted from 1) whose loss is below level (None if none is).

    losses: (epochs, K), one column per copy.
    """
    below = losses < level
    return [int(np.argmax(col)) + 1 if col.any() else None for col in below.T]


def median_fall(drop_epochs):
    """Median over all seeds of the epoch the loss fell; a seed that never fell counts as later.

    drop_epochs: per seed, the epoch (None where it never fell within the budget).
    Returns a float, inf when more than half the seeds never fell (the median is
    then beyond the budget; tn.metrics.run_quartiles).
    """
    ep = np.array([np.inf if e is None else e for e in drop_epochs], float)
    return float(tn.metrics.run_quartiles(ep, mode="min")[1])


def plateau_length_sentence(drop_epochs, long):
    """How long the plateau lasts at each rate, over all seeds, and whether lr x epochs holds.

    drop_epochs: {lr: per seed, the epoch the loss fell, None if not by ``long``}.
    lr x epochs is compared only when every rate's median fell within the budget.
    """
    pace = {lr: median_fall(e) for lr, e in drop_epochs.items()}
    lrs = sorted(pace)
    k = len(drop_epochs[lrs[0]])
    lasts = ", ".join(
        (f"> {long}" if np.isinf(pace[lr]) else f"{pace[lr]:.0f}")
        + f" epochs at lr {lr:g} ({count(sum(e is not None for e in drop_epochs[lr]), k)} fell)"
        for lr in lrs)
    text = (f"Over all {k} seeds of each rate (a seed that never fell counting as later than "
            f"epoch {long}), the median plateau lasts {lasts}")
    if len(lrs) < 2:
        return text + ".", pace
    if not all(np.isfinite(pace[lr]) for lr in lrs):
        unreached = ", ".join(f"{lr:g}" for lr in lrs if np.isinf(pace[lr]))
        return (text + f": at lr {unreached} the median seed had not fallen by epoch {long}, so "
                "this budget cannot compare lr x epochs across the rates."), pace
    product = [pace[lr] * lr for lr in lrs]
    if max(product) / min(product) < 2:
        return (text + f": lr x epochs is about the same each time ({min(product):.1f}-"
                f"{max(product):.1f}), so a smaller rate makes the same plateau longer; it does "
                "not make it a minimum."), pace
    return text + ": not simply inversely proportional to the rate.", pace


def plateau(quick):
    """Steps 4-5: the post's network from small weights, at a short and a long budget."""
    # --- Step 4: the network's plateau. Standardised blobs, as in lesson 12.
    # Each rate trains K seeds for the long budget; the short budget is its
    # first SHORT epochs, so "short" and "long" are one run read at two times.
    k = 4 if quick else FULL_SEEDS
    rates = (0.1, 0.3) if quick else (0.03, 0.1, 0.3)
    short, long = 10, (150 if quick else 600)
    x, y = tn.datasets.make_blobs(1000, CENTERS, cluster_std=2.0, seed=0)
    x = tn.data.StandardScaler().fit(x[:800]).transform(x)[:800]
    y = y[:800]
    chance = float(np.log(4))
    runs = {}
    # --- Step 5 (run here, read below): the control, He initialisation at the
    # smallest rate: the same network and data without the tiny weights.
    for init, init_rates in (("RandomNormal(0.1)", rates), ("He", rates[:1])):
        for lr in init_rates:
            model = post_network(k, init, lr)
            grads = tn.diagnostics.layer_gradient_norms(model, x, y)["kernel_grad"]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", tn.DivergenceWarning)
                h = model.fit(x, y, epochs=long, batch_size=64, verbose=0)
            loss = np.array(h.history["loss"]).reshape(long, k)
            moved = np.abs(loss[short - 1] - loss[0]) / loss[0]
            runs[(init, lr)] = {
                "loss": loss, "grad_first_layer": float(np.median(grads[:, 0])),
                "flat_short": int(np.sum(moved < 0.01)),
                "near_chance_short": int(np.sum(np.abs(loss[short - 1] - chance) < 0.01 * chance)),
                "dropped_long": int(np.sum(loss[-1] < 0.5 * chance)),
                "flat_then_fell": int(np.sum((moved < 0.01) & (loss[-1] < 0.5 * chance))),
                "drop_epochs": plateau_epoch(loss, 0.5 * chance),
                "grew": int(np.sum(np.asarray(h.grew))), "warnings": len(caught)}
    print(f"\nPart 2: the post's network, {k} seeds per rate, SGD, batch 64; 'flat' = the loss "
          f"moved by less than 1% over its first {short} epochs; 'fell' = below half of "
          f"ln 4 = {chance:.3f} by epoch {long}.")
    print(f"{'init':18s} {'lr':>5s} {'flat at ' + str(short):>19s} {'fell by ' + str(long):>19s}"
          f"  epoch it fell (per seed)")
    for (init, lr), r in runs.items():
        fell = " ".join("-" if e is None else str(e) for e in r["drop_epochs"])
        print(f"{init:18s} {lr:5.2f} {count(r['flat_short'], k):>19s} "
              f"{count(r['dropped_long'], k):>19s}  {fell}")
    print("(counts: seeds of each row, with the Wilson 95% interval; '-': never fell)")
    return {"runs": runs, "k": k, "rates": rates, "short": short, "long": long, "chance": chance}


def plateau_verdict(flat, fell, long):
    """Was the flat start a minimum? Said from the count of flat runs that fell later."""
    if flat == 0:
        return "No run looked stuck, so this run has no plateau to explain."
    lo, _ = tn.metrics.wilson_interval(fell, flat)
    stuck = flat - fell
    rest = (f" Of the flat runs {count(stuck, flat)} had not fallen by epoch {long}; on this "
            f"budget {'they' if stuck > 1 else 'it'} cannot be told from a minimum."
            if stuck else "")
    if lo > 0.5:  # most fell, beyond the interval
        return f"The flat start was not a minimum: waiting until epoch {long} was enough." + rest
    if fell == 0:
        return (f"None had fallen by epoch {long} ({count(fell, flat)}): on this budget the run "
                "cannot tell a plateau from a minimum.")
    return (f"Some fell by epoch {long} ({count(fell, flat)}), too few to say the rest will: on "
            "this budget a plateau and a minimum look the same for them.")


def say_plateau(p):
    """What part 2 shows, worded from its numbers."""
    k, short, long, runs = p["k"], p["short"], p["long"], p["runs"]
    small = {lr: runs[("RandomNormal(0.1)", lr)] for lr in p["rates"]}
    lowest = p["rates"][0]
    he = runs[("He", lowest)]
    flat = sum(r["flat_short"] for r in small.values())
    fell = sum(r["flat_then_fell"] for r in small.values())
    n = k * len(small)
    print(f"\n-> From small weights the loss looks stuck after {short} epochs in "
          f"{count(flat, k * len(small))} runs; of those {flat}, {count(fell, flat)} fell by "
          f"epoch {long}.")
    print("   " + plateau_verdict(flat, fell, long))
    lasts, pace = plateau_length_sentence({lr: r["drop_epochs"] for lr, r in small.items()},
                                          long)
    print("   " + lasts)
    he_flat, small_flat = he["flat_short"], small[lowest]["flat_short"]
    ratio = he["grad_first_layer"] / small[lowest]["grad_first_layer"]
    print(f"   Control, He initialisation at lr {lowest:g}: flat at {short} epochs in "
          f"{count(he_flat, k)} runs, against {count(small_flat, k)} from small weights. "
          + (f"The plateau comes with the small weights: at the start their first-layer "
             f"gradient is {ratio:.0f}x smaller than He's, so the first steps barely move them."
             if tied_to_scale(he_flat, small_flat, ratio, k) else
             "The two counts are not distinguishable at this many seeds (their 95% intervals "
             "overlap), so this run does not tie the plateau to the start."
             if not _common.distinguishable(he_flat, k, small_flat, k) else
             "The start does not explain the plateau."))
    grew = sum(r["grew"] for r in runs.values())
    if grew:
        print(f"   ({count(grew, k * len(runs))} runs grew past 4x the best loss at some "
              "point and trained on; training observes, it does not stop them.)")
    return {"flat_short": flat, "fell_long": fell, "n_runs": n, "he_flat_short": he_flat,
            "small_flat_short_lowest_rate": small_flat,
            "grad_ratio_he": float(ratio),
            "plateau_epochs": {str(lr): float(e) for lr, e in pace.items()}}


def draw(v, p, out):
    """Step 6's figures: the curve with where each rate ends, and the network's curves."""
    fig, (ax, ax2) = _common.figure(1, 2, size=(6.0, 4.2))
    grid = np.linspace(-1.0, 5.0, 600)
    ax.plot(grid, curve(grid), color="0.3")
    for i, r in enumerate(v["rows"]):
        ends = v["w_long"][i][np.isfinite(v["w_long"][i])]
        if len(ends):
            ax.plot(ends, curve(ends), "o", ms=7 - 0.5 * i, color=f"C{i}",
                    label=f"lr {r['lr']:g}")
    ax.axvline(v["barrier_at"], color="k", ls=":", lw=0.8)
    ax.set_xlabel("w")
    ax.set_ylabel("f(w)")
    ax.set_title(f"where the starts end after {100 * v['steps']} steps (NaN: not drawn)",
                 fontsize="small")
    ax.legend(fontsize="x-small", ncol=2)
    epochs = np.arange(1, p["long"] + 1)
    for (init, lr), r in p["runs"].items():
        style = "--" if init == "He" else "-"
        color = f"C{p['rates'].index(lr)}"
        ax2.plot(epochs, r["loss"][:, 0], style, color=color, label=f"{init}, lr {lr:g}")
        for s in range(1, p["k"]):
            ax2.plot(epochs, r["loss"][:, s], style, color=color, alpha=0.2, lw=0.7)
    ax2.axvline(p["short"], color="k", ls=":", label=f"short budget ({p['short']} epochs)")
    ax2.axhline(p["chance"], color="0.5", lw=0.6)
    ax2.set_xscale("log")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("training loss (seed 0; others faint)")
    ax2.set_title("the network's training loss (grey line: ln 4)", fontsize="small")
    ax2.legend(fontsize="x-small")
    return [_common.save(fig, out, "19_stuck_or_slow.png")]


def valley_sentence(steps, stuck_below, first_out, control_arrived):
    """The takeaway's words on part 1, chosen by where the starts ended."""
    if not stuck_below:
        return (f"Below the stability bound some starts still left the narrow valley within "
                f"{100 * steps} steps: on this curve a small rate is not simply stuck.")
    way_out = (f"it takes lr >= {first_out:g} to get every start out" if first_out is not None
               else "no rate of the grid gets every start out")
    return ("A narrow valley holds every rate below 2 / f'' at its bottom: "
            f"{100 * steps} steps end where {steps} did, and {way_out}. "
            + ("The same small rate started past the barrier does arrive, so it is the valley "
               "that holds it, not slowness." if control_arrived else
               "The same small rate started past the barrier did not arrive either, so part of "
               "it is plain slowness."))


def plateau_sentence(flat, fell, short, long):
    """The takeaway's words on the network, chosen by how many flat runs fell later.

    "Slow, not stuck" only when the Wilson 95% lower bound of fell / flat is
    above one half; none fell: this budget cannot tell; otherwise the share.
    """
    if flat == 0:
        return (f"No run from small weights was flat at ln 4 after {short} epochs: this run has "
                "no plateau to judge.")
    lo, _ = tn.metrics.wilson_interval(fell, flat)
    runs = (f"of the {flat} runs flat at ln 4 for their first {short} epochs, {count(fell, flat)} "
            f"fell by epoch {long}")
    if lo > 0.5:
        return (f"A flat start from small weights was slow, not stuck: {runs}. Run longer "
                "before you call it stuck.")
    if fell == 0:
        return (f"A flat start may be a minimum or a long plateau: {runs}, so on this budget it "
                "cannot be told from a minimum.")
    return (f"Some flat starts were only slow: {runs}; the others still sat at ln 4, and for "
            "them this budget cannot tell a plateau from a minimum.")


def tied_to_scale(he_flat, small_flat, grad_ratio, k):
    """True when small weights were flat more often than He's beyond the 95% intervals,
    and their first-layer gradient was the smaller one."""
    return _common.more_often(small_flat, k, he_flat, k) and grad_ratio > 1


def cause_sentence(he_flat, small_flat, grad_ratio, k):
    """The takeaway's words on the control: does the plateau come with the small weights?

    Said from the two counts of flat runs (k each) only when their Wilson 95%
    intervals do not overlap; otherwise "not distinguishable at this many seeds".
    """
    counts = (f"from He's start {count(he_flat, k)} runs were flat against "
              f"{count(small_flat, k)} from small weights")
    if tied_to_scale(he_flat, small_flat, grad_ratio, k):
        return (f"The plateau comes with the tiny initial weights: their first-layer gradient "
                f"is {grad_ratio:.0f}x smaller than He's, and {counts}.")
    if not _common.distinguishable(he_flat, k, small_flat, k):
        return (f"The two starts are not distinguishable at this many seeds: {counts}, and the "
                "95% intervals overlap, so this run does not tie the plateau to the weights' "
                "scale.")
    return (f"The counts differ, but not as small weights would explain: {counts} (first-layer "
            f"gradient ratio {grad_ratio:.1f}), so this run does not tie the plateau to the "
            "weights' scale.")


def takeaway(v, said_v, p, said_p):
    """Step 6's takeaway: print it; returns its text and whether the network verdict holds."""
    flat, fell, k = said_p["flat_short"], said_p["fell_long"], p["k"]
    plain = [valley_sentence(v["steps"], said_v["stuck_below_bound"], said_v["first_rate_out"],
                             said_v["control_arrived"]),
             plateau_sentence(flat, fell, p["short"], p["long"]),
             cause_sentence(said_p["he_flat_short"], said_p["small_flat_short_lowest_rate"],
                            said_p["grad_ratio_he"], k)]
    stats = (f"flat after {p['short']} epochs {count(flat, said_p['n_runs'])} runs; of those, "
             f"fell by epoch {p['long']} {count(fell, flat) if flat else 'none to count'}; "
             f"He at lr {p['rates'][0]:g} flat {count(said_p['he_flat_short'], k)}")
    text = _common.takeaway(plain, stats=stats)
    supported = flat > 0 and tn.metrics.wilson_interval(fell, flat)[0] > 0.5
    small = _common.too_small(k, FULL_SEEDS, FULL_SEEDS, "whether the flat runs were slow or stuck")
    if small and not supported:
        print("  " + small)
    return text, supported


def main(out_dir="outputs/19_stuck_or_slow", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    v = valleys(quick)
    said_v = say_valleys(v)
    p = plateau(quick)
    said_p = say_plateau(p)

    # --- Step 6: figures, and the takeaway: the two cases side by side.
    figures = draw(v, p, out)
    text, supported = takeaway(v, said_v, p, said_p)
    return {
        "bound_shallow": v["bound_shallow"], "bound_deep": v["bound_deep"],
        "rows_1d": v["rows"], "n_starts": v["n_starts"], "steps": v["steps"],
        "control_long_gap": v["control_long_gap"], "control_short_gap": v["control_short_gap"],
        **said_v, **said_p, "short": p["short"], "long": p["long"], "seeds": p["k"],
        "verdict_supported": supported, "takeaway": text, "figures": figures,
    }


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/19_stuck_or_slow.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
