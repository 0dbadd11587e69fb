# %% [markdown]
# # Lesson 15: choosing the rate (and the batch size) by search: grid or random?
#
# Question: you can afford to train N models. A grid search spreads them as
# sqrt(N) rates x sqrt(N) batch sizes; a random search draws N (rate, batch)
# pairs at random, the rate log-uniformly. Which finds the better model for the
# same N?
#
# The trick that makes this cheap: every candidate either search could pick is
# trained once, up front, as one tn.sweep per batch size (a fine grid of rates,
# ten per decade, for each of eleven batch sizes). A search is then a choice of
# N cells of that table, so we can replay a thousand random searches for free
# and see the whole spread of what random search gives, not one lucky draw.
#
# The replays cover the luck of the draw, not the luck of the table: each cell
# is one trained network, whose loss depends on its seed. So the table is built
# four times (twice in --quick), with different seeds, and the contest is
# replayed on each. A verdict is printed only when the count of tables one
# side wins on has a 95% interval (Wilson) wholly above one half; otherwise the
# lesson says it cannot tell. With one table per run the verdict can flip
# between runs, because P(random better) sits near one half; the run prints the
# probability per table and the count of tables each side wins. The quick run's
# two tables can never clear the bar, and it says so.
#
# What you will see:
#   * the table: final validation loss for every rate x batch size;
#   * for budgets of 4 to 36 models: the best model a grid finds (on round
#     values, and over every placement of the grid along the rate axis), the
#     median random search's best with its quartiles, how often random search
#     wins, and how many distinct rates each one tried;
#   * the same contest on a rate x seed table, where the second axis is pure
#     noise: the textbook case for random search, to see whether its advantage
#     appears;
#   * P(random better) on every table, and how many tables each verdict got,
#     with a 95% interval for that count;
#   * exploring against exploiting: a random search that spends half its
#     budget at random and the other half near the best cell found so far,
#     against spending all of it at random (replayed on the same tables, so it
#     costs no training), with the same kind of verdict;
#   * 15_table.png: the table as an image with a 5 x 5 grid and one random search
#     of 25 drawn on it;
#   * 15_budget.png: best validation loss found against the budget, both tables.
#
# Exploring and exploiting. Every search splits its budget between two aims:
# exploring (trying settings far from anything tried, in case something better
# is there) and exploiting (trying settings close to the best one found, to
# make the most of it). Grid and random search only explore. Bayesian
# optimisation weighs the two on purpose: it fits a statistical model of the
# loss as a function of the settings to the runs made so far (often a Gaussian
# process, which also says how unsure it is) and trains next where a rule such
# as "expected improvement" scores highest, which is either where the model
# predicts a low loss or where it knows least. tinynet does not implement
# Bayesian optimisation; the two-round search in step 4b is the crudest form of
# the same trade, and the table shows what it buys here.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 15: choosing the rate (and the batch size) by search: grid or random?

Run:  python lessons/15_grid_vs_random_search.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 30-45 s on a 2-core CPU (the more with a second job running); --quick (a coarser
table, two seeds) about 6 s.
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
def layers():
    return [tn.layers.Dense(32, activation="relu", input_dim=2),
            tn.layers.Dense(32, activation="relu"),
            tn.layers.Dense(3, activation="softmax")]


def grid(n, n_rates, n_batches, offset=None):
    """A grid of n rate indices x n batch indices, evenly spaced.

    offset=None: the rate lines include both ends (1e-4, ..., 1: round values);
    otherwise they start at index ``offset`` and lie n_rates / n apart, another
    equally reasonable placement of the same grid.
    """
    if offset is None:
        ri = np.round(np.linspace(0, n_rates - 1, n)).astype(int)
    else:
        ri = np.floor(offset + np.arange(n) * n_rates / n).astype(int)
    bi = np.round(np.linspace(0, n_batches - 1, n)).astype(int)
    return np.unique(ri), np.unique(bi)


def compare(table, budgets, rng, show=None, n_repeats=1000):
    """Grid (round values, every placement) against 1000 replayed random searches.

    show: where the table's lines go (e.g. print); None: nowhere.
    """
    n_rates, n_batches = table.shape
    rows = []
    show = show or (lambda *a, **k: None)
    show(f"  {'budget':>6s} {'grid, round':>11s} {'grid, any placement':>21s} "
          f"{'random: median (quartiles)':>28s} {'P(random better)':>16s} {'rates tried':>11s}")
    show(f"  {'':6s} {'values':>11s} {'median (worst..best)':>21s} {'':28s} "
          f"{'round / any':>16s} {'grid/random':>11s}")
    for n in budgets:
        ri, bi = grid(n, n_rates, n_batches)
        budget = len(ri) * len(bi)
        grid_best = float(table[np.ix_(ri, bi)].min())
        placed = np.array([table[np.ix_(*grid(n, n_rates, n_batches, o))].min()
                           for o in range(int(np.ceil(n_rates / n)))])
        # each random search: `budget` distinct cells of the table, all equally likely
        picks = np.array([rng.choice(table.size, size=budget, replace=False)
                          for _ in range(n_repeats)])
        found = table.reshape(-1)[picks].min(axis=1)
        q25, q50, q75 = np.percentile(found, [25, 50, 75])
        p_round = float(np.mean(found < grid_best))
        p_any = float(np.mean(found[:, None] < placed[None, :]))
        distinct = np.mean([np.unique(np.unravel_index(p, table.shape)[0]).size for p in picks])
        rows.append({"budget": budget, "grid_best": grid_best,
                     "grid_placed_median": float(np.median(placed)),
                     "grid_placed_worst": float(placed.max()),
                     "grid_placed_best": float(placed.min()), "random_median": float(q50),
                     "random_q25": float(q25), "random_q75": float(q75),
                     "p_random_beats_round_grid": p_round, "p_random_beats_any_grid": p_any,
                     "grid_rates": len(ri), "random_rates": float(distinct)})
        show(f"  {budget:6d} {grid_best:11.4f} {np.median(placed):8.4f} ({placed.max():.3f}.."
              f"{placed.min():.3f}) {q50:9.4f} ({q25:.4f}..{q75:.4f}) {p_round:7.2f} / "
              f"{p_any:.2f} {len(ri):5d} / {distinct:4.1f}")
    return rows


def refine(table, budgets, rng, reach, n_repeats=1000):
    """Half the budget at random, half near the best cell so far, against all at random.

    table: (rates, batches) losses; reach: (rate steps, batch steps) that count as
    near. For each budget B and each of n_repeats replays: one first round of
    ceil(B / 2) random distinct cells, then either the rest at random (explore) or
    the rest among the untried cells within reach of the first round's best
    (exploit; topped up at random when fewer are left). The two share their first
    round, so they are paired. Returns per budget P(exploit better), P(worse) and
    the median best of each.
    """
    n_rates, n_batches = table.shape
    flat = table.reshape(-1)
    best_i, best_j = np.unravel_index(np.argmin(flat), table.shape)
    rows = []
    for n in budgets:
        ri, bi = grid(n, n_rates, n_batches)
        budget = len(ri) * len(bi)
        first = -(-budget // 2)
        explore, exploit = np.empty(n_repeats), np.empty(n_repeats)
        landed = np.zeros(n_repeats, bool)  # first round's best within reach of the table's
        for r in range(n_repeats):
            order = rng.permutation(table.size)
            tried = order[:first]
            explore[r] = flat[order[:budget]].min()
            i, j = np.unravel_index(tried[np.argmin(flat[tried])], table.shape)
            landed[r] = abs(i - best_i) <= reach[0] and abs(j - best_j) <= reach[1]
            near = [a * n_batches + b
                    for a in range(max(0, i - reach[0]), min(n_rates, i + reach[0] + 1))
                    for b in range(max(0, j - reach[1]), min(n_batches, j + reach[1] + 1))]
            near = np.setdiff1d(near, tried)
            extra = rng.choice(near, size=min(budget - first, near.size), replace=False)
            rest = np.setdiff1d(order[first:], extra)[: budget - first - extra.size]
            exploit[r] = flat[np.concatenate([tried, extra, rng.permutation(rest)])].min()
        rows.append({"budget": budget, "first_round": first,
                     "p_exploit_better": float(np.mean(exploit < explore)),
                     "p_exploit_worse": float(np.mean(exploit > explore)),
                     "p_first_round_near_best": float(np.mean(landed)),
                     "exploit_median": float(np.median(exploit)),
                     "explore_median": float(np.median(explore))})
    return rows


def refine_sentence(rows_all, n_tables, reach, per_decade):
    """What the exploit-around-the-best round did, per table and over the tables."""
    better = [float(np.mean([r["p_exploit_better"] for r in rows])) for rows in rows_all]
    worse = [float(np.mean([r["p_exploit_worse"] for r in rows])) for rows in rows_all]
    won = sum(b > w for b, w in zip(better, worse, strict=True))
    lost = sum(w > b for b, w in zip(better, worse, strict=True))
    near = (f"within {reach[0]} rate steps ({reach[0] / per_decade:g} decade) and {reach[1]} "
            "batch-size step either side of the first half's best cell")
    head = (f"Spending the second half of the budget {near}, instead of at random: better in "
            + ", ".join(f"{100 * b:.0f}%" for b in better) + ", worse in "
            + ", ".join(f"{100 * w:.0f}%" for w in worse)
            + " of the replays (the rest tie), on the tables of seeds 0.."
            + f"{n_tables - 1}; ahead on {share(won, n_tables)}")
    if clear_majority(won, n_tables):
        verdict = "exploiting wins"
        tail = (": averaged over the budgets, looking near the best so far pays more than "
                "looking anywhere.")
    elif clear_majority(lost, n_tables):
        verdict = "exploring wins"
        tail = (": here the first half's best is too often in the wrong place, and more "
                "random cells find a better one than a closer look does.")
    else:
        verdict = "cannot tell"
        tail = (f": {n_tables} tables are too few to call it." if n_tables < 4 else
                ": the tables disagree, so neither way wins.")
    # by budget, on the seed-0 table: a first round too small to find the right region
    # makes the closer look a look in the wrong place
    lose = [r["budget"] for r in rows_all[0] if r["exploit_median"] > r["explore_median"]]
    gain = [r["budget"] for r in rows_all[0] if r["exploit_median"] < r["explore_median"]]
    first, last = rows_all[0][0], rows_all[0][-1]
    by_budget = (f" By budget (seed-0 table, median best found): exploiting is worse at "
                 f"{_list(lose)} and better at {_list(gain)}; the first round's best lies "
                 f"that near the table's best cell in {first['p_first_round_near_best']:.0%} "
                 f"of the replays with {first['first_round']} random cells and "
                 f"{last['p_first_round_near_best']:.0%} with {last['first_round']}"
                 + (", so at the smallest budget the closer look is mostly a look in the "
                    "wrong place." if lose and lose[0] == first["budget"]
                    and first["p_first_round_near_best"] < 0.5 else "."))
    return {"verdict": verdict, "p_better_per_table": better, "p_worse_per_table": worse,
            "tables_ahead": won, "worse_at_budgets": lose, "better_at_budgets": gain,
            "sentence": head + tail + by_budget}


def _list(items):
    return ", ".join(map(str, items)) if items else "none"


def takeaway_sentences(rows, verdicts, win_tables, seed_axis_better, n_tables):
    """Three plain sentences from the contest's numbers (and how many tables it had)."""
    first, last = rows[0], rows[-1]
    plain = [f"A bigger budget finds a better model either way: random search's median best "
             f"loss goes from {first['random_median']:.3f} with {first['budget']} models to "
             f"{last['random_median']:.3f} with {last['budget']}."
             if last["random_median"] < first["random_median"] else
             "A bigger budget did not find a better model here."]
    ps = win_tables["rate x batch size"]
    v = verdicts["rate x batch size"]
    if v == "cannot tell":
        side = ("the grid is ahead on every table" if max(ps) < 0.5 else
                "random search is ahead on every table" if min(ps) > 0.5 else
                "the tables disagree")
        plain.append(f"Grid or random search on rate x batch size: random search wins "
                     f"{min(ps):.0%} to {max(ps):.0%} of the replays; {side}, "
                     + (f"but {n_tables} tables are too few to call it."
                        if n_tables < 4 else "so neither wins."))
    else:
        plain.append(f"On rate x batch size {v} on every table ({min(ps):.0%} to {max(ps):.0%} "
                     "of the replays go to random search): a small margin, on the same side "
                     "for every seed.")
    plain.append("When the second axis is pure noise (the seed), random search does better "
                 "against the grid than on rate x batch size, on enough tables to say so."
                 if seed_axis_better else
                 "Whether a second axis of pure noise (the seed) helps random search, this run "
                 "cannot tell.")
    return plain


def share(hits, n, what="tables"):
    """'h of n tables (95% interval lo-hi%)': a count with its Wilson interval."""
    lo, hi = tn.metrics.wilson_interval(int(hits), int(n))
    return f"{int(hits)} of {n} {what} (95% interval {100 * lo:.0f}-{100 * hi:.0f}%)"


def clear_majority(hits, n):
    """True when the 95% interval for hits of n lies wholly above one half."""
    return bool(tn.metrics.wilson_interval(int(hits), int(n))[0] > 0.5)


def verdict(ps):
    """A verdict from P(random better) on each table, or "cannot tell".

    One side wins only when the count of tables it wins on has a 95% interval
    wholly above one half (so at least 4 tables, all agreeing).
    """
    ps = np.asarray(ps)
    if clear_majority(np.sum(ps > 0.5), ps.size):
        return "random search wins"
    if clear_majority(np.sum(ps < 0.5), ps.size):
        return "the grid wins"
    return "cannot tell"


def axis_spreads(table):
    """How much each axis matters: the range, in decades, of the best loss along it."""
    log_loss = np.log10(np.minimum(table, 10.0))
    return float(np.ptp(log_loss.min(axis=1))), float(np.ptp(log_loss.min(axis=0)))


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the search space
# 2. train every candidate once: one sweep per batch size
# 3. grid search and random search at the same budget
# 4. the same question when the second axis does not matter
# 5. the takeaway, then the details
# 6. figures

# %%
def main(out_dir="outputs/15_grid_vs_random_search", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: the search space --------------------------------------------------------
    x, y = tn.datasets.make_spirals(1000, n_classes=3, noise=0.2, turns=1.0, seed=0)
    x = tn.data.StandardScaler().fit_transform(x)
    per_decade = 5 if quick else 10
    rates = np.logspace(-4, 0, 4 * per_decade + 1)          # 1e-4 .. 1
    batches = ([16, 32, 64, 128, 256, 512] if quick else
               [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512])
    epochs = 20
    n_tables = 2 if quick else 4  # seeds: each table is built once per seed
    print(f"Search space: {len(rates)} rates from 1e-4 to 1 ({per_decade} per decade) x "
          f"{len(batches)} batch sizes from {batches[0]} to {batches[-1]}; SGD(momentum=0.9), "
          f"{epochs} epochs each, judged by the final validation loss; the table built "
          f"{n_tables} times, with seeds 0..{n_tables - 1}.")

    # The details are collected while computing and printed after the takeaway.
    details = []
    say = details.append

    # --- Step 2: train every candidate once: one sweep per batch size ----------------------
    # (all seeds at once; tables[s] is the table of seed s)
    tables = np.empty((n_tables, len(rates), len(batches)))  # final validation loss
    table_acc = np.empty((len(rates), len(batches)))          # seed 0's accuracy
    for j, batch in enumerate(batches):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tn.DivergenceWarning)
            res = tn.sweep(layers, x, y, rates, seeds=range(n_tables), optimizer="sgd",
                           optimizer_kwargs={"momentum": 0.9},
                           loss="sparse_categorical_crossentropy", epochs=epochs,
                           batch_size=batch, validation_split=0.2, verbose=0)
        loss = res.final("val_loss")
        loss = np.where(res.diverged | ~np.isfinite(loss), np.inf, loss)  # (rates, seeds)
        tables[:, :, j] = loss.T
        table_acc[:, j] = np.where(np.isfinite(loss[:, 0]), res.final("val_accuracy")[:, 0],
                                   0.0)
    table = tables[0]
    best_cell = np.unravel_index(np.argmin(table), table.shape)
    say(f"Best cell of the seed-0 table ({table.size} models): rate "
          f"{rates[best_cell[0]]:.3g}, batch {batches[best_cell[1]]}, validation loss "
          f"{table[best_cell]:.4f} (accuracy {table_acc[best_cell]:.3f}); the other seeds' "
          "best cells: " + ", ".join(
              f"rate {rates[i]:.3g}, batch {batches[jj]}"
              for i, jj in (np.unravel_index(np.argmin(t), t.shape) for t in tables[1:])) + ".")
    good = np.mean(table < 2 * table[best_cell])
    say(f"Only {100 * good:.1f}% of the cells come within 2x of that loss: a narrow target.")

    # --- Step 3: grid search and random search at the same budget --------------------------
    rng = np.random.default_rng(0)
    budgets = [2, 3, 4, 5] if quick else [2, 3, 4, 5, 6]
    say(f"\nRate x batch size ({len(batches)} sizes, {batches[0]} to {batches[-1]}), "
          "seed-0 table:")
    rows = compare(table, budgets, rng, say)
    rows_all = [rows] + [compare(t, budgets, rng) for t in tables[1:]]
    spreads = axis_spreads(table)

    # --- Step 4: the same question when the second axis does not matter ------------------
    # The classic case for random search: with every model it tries a new value
    # of every axis, while a grid repeats each value n times. That should pay
    # when one axis matters and the other hardly does. The purest such axis is
    # the seed of the initial weights: one more sweep (batch 32, many seeds)
    # gives rate x seed tables (n_seed_axis seeds each) on which we replay the
    # same contest.
    n_seed_axis = len(batches)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        res = tn.sweep(layers, x, y, rates, seeds=range(n_tables * n_seed_axis),
                       optimizer="sgd", optimizer_kwargs={"momentum": 0.9},
                       loss="sparse_categorical_crossentropy", epochs=epochs, batch_size=32,
                       validation_split=0.2, verbose=0)
    seed_all = np.where(res.diverged | ~np.isfinite(res.final("val_loss")), np.inf,
                        res.final("val_loss"))
    seed_tables = [seed_all[:, t * n_seed_axis:(t + 1) * n_seed_axis] for t in range(n_tables)]
    seed_table = seed_tables[0]
    say(f"\nRate x seed (batch 32, seeds 0..{n_seed_axis - 1}): the second axis is noise.")
    rows_seed = compare(seed_table, budgets, rng, say)
    rows_seed_all = [rows_seed] + [compare(t, budgets, rng)
                                   for t in seed_tables[1:]]
    spreads_seed = axis_spreads(seed_table)
    win, win_tables, verdicts = {}, {}, {}
    for label, sp, rw_all in (("rate x batch size", spreads, rows_all),
                              ("rate x seed", spreads_seed, rows_seed_all)):
        ps = [float(np.mean([r["p_random_beats_any_grid"] for r in rw])) for rw in rw_all]
        win_tables[label], win[label], verdicts[label] = ps, float(np.mean(ps)), verdict(ps)
        say(f"{label}: the best loss spans {sp[0]:.1f} decades along the rate axis and "
              f"{sp[1]:.1f} along the other (seed-0 table); random search beats a grid (any "
              f"placement) in " + ", ".join(f"{100 * p_:.0f}%" for p_ in ps)
              + " of the replays on the tables of seeds 0.." + f"{n_tables - 1} (averaged over "
              f"the budgets); more than half on {share(sum(p_ > 0.5 for p_ in ps), n_tables)}.")
    say(f"Rate x batch size: {verdicts['rate x batch size']}; rate x seed: "
          f"{verdicts['rate x seed']}.")
    if "cannot tell" in verdicts.values():
        say(f"'Cannot tell': a verdict needs the 95% interval for the number of tables won "
              f"to lie above one half (at least 4 tables, all agreeing); with {n_tables} "
              "tables, or tables that disagree, one table's verdict would be its seed's, not "
              "the method's.")
    better = sum(a_ > b_ for a_, b_ in zip(win_tables["rate x seed"],
                                           win_tables["rate x batch size"], strict=True))
    seed_axis_better = clear_majority(better, n_tables)
    if seed_axis_better:
        say(f"Random search does better against the grid when the second axis is noise, on "
              f"{share(better, n_tables)}; that fits the textbook argument (it tries more "
              "distinct rates: see the last column), which this run does not test by itself.")
    else:
        say(f"Random search does better against the grid on the rate x seed table than on "
              f"the rate x batch one on {share(better, n_tables)}: this run cannot tell "
              "whether a second axis that is pure noise helps random search.")
    lucky = [r["budget"] for r in rows
             if r["grid_best"] < r["grid_placed_median"] and r["p_random_beats_round_grid"] < 0.5]
    if lucky:
        say(f"Note the grid on round values (1e-4, 1e-3, ...) at budgets "
              f"{', '.join(map(str, lucky))} of the seed-0 table: it does better than the "
              f"median placement of the same grid, and one of its lines falls close to that "
              f"table's best rate ({rates[best_cell[0]]:.3g}).")

    # --- Step 4b: exploring against exploiting -----------------------------------------
    # Random search only explores. The smallest step towards exploiting: spend half
    # the budget at random, then the other half near the best cell found so far.
    # Replayed on the same rate x batch tables (no training), paired with a search
    # that spends the second half at random too.
    reach = (max(1, per_decade // 2), 1)
    rows_refine = [refine(t, budgets, rng, reach, n_repeats=500) for t in tables]
    exploit = refine_sentence(rows_refine, n_tables, reach, per_decade)
    exploit["rows"] = rows_refine[0]
    say("\n" + exploit["sentence"])
    say("  seed-0 table, median best loss found, explore / exploit: " + "; ".join(
        f"budget {r['budget']} {r['explore_median']:.4f} / {r['exploit_median']:.4f}"
        for r in rows_refine[0]))

    # --- Step 5: the takeaway first, then the details ---------------------------------
    plain = takeaway_sentences(rows, verdicts, win_tables, seed_axis_better, n_tables)
    print("\nIn short:\n" + "\n".join(f"  {sentence}" for sentence in plain))
    print("\nThe details.")
    for line in details:
        print(line)

    # --- Step 6: figures ----------------------------------------------------------------------
    fig, ax = _common.figure(1, 1, size=(7.5, 5.0))
    shown = np.where(np.isfinite(table), table, np.nan)
    image = ax.pcolormesh(np.arange(len(batches) + 1), np.arange(len(rates) + 1),
                          np.ma.masked_invalid(np.log10(shown)), cmap="viridis_r",
                          shading="flat")
    fig.colorbar(image, ax=ax, label="log10 final validation loss (grey: diverged)")
    ax.set_facecolor("lightgrey")
    ax.set_xticks(np.arange(len(batches)) + 0.5, [str(b) for b in batches])
    ticks = np.arange(0, len(rates), per_decade)
    ax.set_yticks(ticks + 0.5, [f"{rates[i]:.0e}" for i in ticks])
    ax.set_xlabel("batch size")
    ax.set_ylabel("learning rate")
    ri, bi = grid(5, len(rates), len(batches))
    gi, gj = np.meshgrid(ri, bi, indexing="ij")
    ax.plot(gj.reshape(-1) + 0.5, gi.reshape(-1) + 0.5, "s", color="red", markersize=7,
            fillstyle="none", label=f"grid ({len(ri)} x {len(bi)})")
    pick = rng.choice(table.size, size=len(ri) * len(bi), replace=False)
    pi, pj = np.unravel_index(pick, table.shape)
    ax.plot(pj + 0.5, pi + 0.5, "o", color="white", markeredgecolor="black", markersize=6,
            label=f"one random search ({pick.size})")
    ax.plot(best_cell[1] + 0.5, best_cell[0] + 0.5, "*", color="gold", markersize=14,
            markeredgecolor="black", label="best cell")
    ax.legend(fontsize="small", loc="lower right")
    paths = [_common.save(fig, out, "15_table.png")]
    fig, axes = _common.figure(1, 2, size=(5.2, 4.2), sharey=True)
    b = [r["budget"] for r in rows]
    for ax, rw, title in ((axes[0], rows, "rate x batch size"),
                          (axes[1], rows_seed, "rate x seed (batch 32)")):
        ax.plot(b, [r["grid_best"] for r in rw], "s-", color="red", label="grid, round values")
        ax.plot(b, [r["grid_placed_median"] for r in rw], "s--", color="salmon",
                label="grid, median over placements")
        ax.plot(b, [r["random_median"] for r in rw], "o-", color="tab:blue",
                label="random, median of 1000 replays")
        ax.fill_between(b, [r["random_q25"] for r in rw], [r["random_q75"] for r in rw],
                        color="tab:blue", alpha=0.2, label="random, quartiles")
        ax.set_yscale("log")
        ax.set_xlabel("budget (models trained)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    axes[0].axhline(table[best_cell], color="black", linestyle=":", label="best of the table")
    axes[0].set_ylabel("best validation loss found")
    axes[0].legend(fontsize="small")
    paths.append(_common.save(fig, out, "15_budget.png"))
    _common.takeaway(plain, stats=(
        "P(random better) per table, averaged over the budgets: "
        + "; ".join(f"{label} " + ", ".join(f"{100 * p_:.0f}%" for p_ in ps)
                    for label, ps in win_tables.items())
        + "; a verdict needs the Wilson 95% interval of tables won above one half"))
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {"rows": rows, "takeaway": plain, "rows_seed_axis": rows_seed, "axis_spreads": spreads,
            "axis_spreads_seed_axis": spreads_seed, "p_random_wins": win,
            "p_random_wins_per_table": win_tables, "verdicts": verdicts,
            "seed_axis_better": seed_axis_better, "tables": n_tables, "exploit": exploit,
            "table_best": float(table[best_cell]),
            "table_best_rate": float(rates[best_cell[0]]),
            "table_best_batch": int(batches[best_cell[1]]), "figures": paths}


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/15_grid_vs_random_search.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
