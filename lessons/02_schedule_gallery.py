# %% [markdown]
# # Lesson 2: a gallery of learning-rate schedules, drawn and then raced.
#
# Question: a schedule changes the rate while training runs. Does the shape of
# that curve matter, and does any of them beat simply keeping the rate fixed?
#
# What you will see:
#   * 02_schedules.png: eleven schedules over the same number of updates, one
#     panel each: constant, inverse-time (Keras's "time-based" decay), step,
#     exponential, power, piecewise constant, polynomial, cosine, cosine with warm
#     restarts, cyclical (triangular2) and 1cycle;
#   * 02_training.png: the same network trained once with each schedule (same
#     initial weights, same batches, same peak rate), its training loss epoch by
#     epoch, and the validation accuracy each schedule ends with;
#   * a table, sorted by the final training loss, with each schedule's last and
#     average rate, so you can see which property of the curve goes with a good
#     result;
#   * two controls for "the small steps at the end settle the weights": the
#     fixed rate with only its last 10% of updates at lr0 / 100, and a fixed
#     rate equal to the decaying schedules' average rate (the panel left free in
#     02_schedules.png). If only the first beats the fixed rate, the small steps
#     at the end are what helps, not the lower average rate;
#   * which schedules are within the seed-to-seed spread of the best: where the
#     order at the top changes from seed to seed, no winner is named;
#   * the same idea written the Keras way: a plain Python function of the epoch
#     (hold the rate, then shrink it by exp(-0.1) per epoch) handed to
#     ``tn.callbacks.LearningRateScheduler``, with the rates it set read back
#     from the run's records, raced against the fixed rate.
#
# All eleven runs train at once as one stacked model (``n_models=11``,
# ``same_init=True``), each copy with its own schedule; the experiment is
# repeated for a few seeds.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 2: a gallery of learning-rate schedules, drawn and then raced.

Run:  python lessons/02_schedule_gallery.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 6 s on a 2-core CPU; --quick (two seeds instead of five) about 2 s.
"""

import math
import sys
import time
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402


# %%
def make_schedules(lr0, total, steps_per_epoch):
    """Eleven schedules over ``total`` updates, all starting at (or peaking at) lr0.

    Where a schedule has a free "how far down" knob it is set so that the rate
    ends near lr0 / 100; the others keep their usual defaults. These are one
    reasonable setting each, not the best possible one.
    """
    epochs = total // steps_per_epoch
    sch = tn.schedules
    return {
        "constant": sch.Constant(lr0),
        # Keras's old decay argument: lr0 / (1 + decay * t), here decayed per epoch.
        "inverse time": sch.InverseTimeDecay(lr0, steps_per_epoch, 99.0 / epochs),
        "step": sch.StepDecay(lr0, total // 4, drop=0.25),
        "exponential": sch.ExponentialDecay(lr0, total, 0.01),
        "power": sch.PowerDecay(lr0, max(1, total // 9), power=2.0),
        "piecewise": sch.PiecewiseConstantDecay([total // 2, 3 * total // 4],
                                                [lr0, lr0 / 10, lr0 / 100]),
        "polynomial": sch.PolynomialDecay(lr0, total, lr0 / 100, power=1.0),
        "cosine": sch.CosineDecay(lr0, total, alpha=0.01),
        # cycles of 1, 2 and 4 units (t_mul=2): the run ends at the end of the third
        "cosine restarts": sch.CosineDecayRestarts(lr0, -(-total // 7), t_mul=2.0, alpha=0.01),
        "cyclical": sch.CyclicalLearningRate(lr0 / 100, lr0, max(1, total // 8),
                                             mode="triangular2"),
        "1cycle": sch.OneCycle(lr0, total),
    }


def make_controls(lr0, total, mean_rate):
    """The two controls: the fixed rate with only its last 10% at lr0 / 100, and a
    fixed rate at ``mean_rate`` (the decaying schedules' average)."""
    sch = tn.schedules
    return {
        "constant, last 10% low": sch.PiecewiseConstantDecay([int(0.9 * total)],
                                                             [lr0, lr0 / 100]),
        "constant at their mean": sch.Constant(mean_rate),
    }


def build(seed, n_models):
    return tn.Sequential([
        tn.layers.Dense(32, activation="relu", input_dim=2),
        tn.layers.Dense(32, activation="relu"),
        tn.layers.Dense(3, activation="softmax"),
    ], seed=seed, n_models=n_models, same_init=True)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. a problem where the rate matters
# 2. draw the schedules before training with any of them
# 3. train the same network with each schedule
# 4. the table
# 5. the figure of the race
# 6. a schedule as a per-epoch function (Keras's LearningRateScheduler)
# 7. the takeaway

# %%
def main(out_dir="outputs/02_schedule_gallery", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: a problem where the rate matters ------------------------------
    # Three interleaved spirals with noise: a fixed rate high enough to learn
    # quickly keeps the weights jittering around a good solution at the end.
    # --quick keeps the whole experiment and runs two seeds instead of five.
    n, epochs, seeds = 1200, 40, ([0, 1] if quick else [0, 1, 2, 3, 4])
    x, y = tn.datasets.make_spirals(n, n_classes=3, noise=0.3, turns=1.5, seed=0)
    x = tn.data.StandardScaler().fit_transform(x)
    n_train = int(np.ceil(0.8 * n))  # fit's validation_split=0.2 keeps the tail
    batch_size, lr0 = 32, 0.1
    steps_per_epoch = int(np.ceil(n_train / batch_size))
    total = epochs * steps_per_epoch

    # --- Step 2: draw the schedules before training with any of them ------------
    # A schedule is a pure function of the update count, so its whole curve can
    # be plotted ahead of time: the step axis is exactly what training will use.
    schedules = make_schedules(lr0, total, steps_per_epoch)
    names = list(schedules)
    last_rate = np.array([schedules[k](total - 1) for k in names])
    mean_rate = np.array([schedules[k].values(total).mean() for k in names])
    # the schedules that keep a large average rate but end low: fast progress early
    # with small steps late; the controls take their median average rate
    const = names.index("constant")
    big_low = [i for i in range(len(names)) if i != const and mean_rate[i] >= 0.4 * lr0
               and last_rate[i] <= 0.02 * lr0]
    controls = make_controls(lr0, total, float(np.median(mean_rate[big_low])))
    every = {**schedules, **controls}
    fig, axes = _common.figure(3, 4, size=(3.4, 2.5), sharex=True)
    for ax, name in zip(axes.flat, names, strict=False):
        tn.plot.schedules(schedules[name], total, labels=[name], ax=ax)
        ax.set_title(name, fontsize="medium")
    tn.plot.schedules(list(controls.values()), total, labels=list(controls), ax=axes.flat[-1])
    axes.flat[-1].set_title("the two controls", fontsize="medium")
    for ax in axes.flat:
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_ylim(0.0, 1.05 * lr0)  # one scale for every panel
        if ax is not axes.flat[-1]:
            ax.get_legend().remove()
    axes.flat[-1].legend(fontsize="x-small")
    fig.supxlabel(f"update (step), {steps_per_epoch} per epoch")
    fig.supylabel("learning rate")
    print(f"Eleven schedules and two controls over {total} updates ({epochs} epochs of "
          f"{steps_per_epoch}), peak rate {lr0}:")
    paths = [_common.save(fig, out, "02_schedules.png")]

    # --- Step 3: train the same network with each schedule ----------------------
    # One stacked model holds the eleven copies and the two controls with identical
    # initial weights (same_init=True); they see the same batches in the same order,
    # so the schedule is the only thing that differs between them.
    loss_curves, final_all, val_acc, val_loss = [], [], [], []
    for seed in seeds:
        model = build(seed, len(every))
        model.compile(tn.optimizers.SGD(list(every.values()), momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        hist = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=0.2,
                         verbose=0)
        # the epoch's reported loss averages over batches while the weights move;
        # evaluating once at the end gives the loss of the weights we keep
        final = model.evaluate(x[:n_train], y[:n_train])
        loss_curves.append(np.array(hist.history["loss"]))
        final_all.append(final["loss"])
        val_acc.append(hist.history["val_accuracy"][-1])
        val_loss.append(hist.history["val_loss"][-1])
    final_all = np.array(final_all)                  # (seeds, schedules + controls)
    control_loss = final_all[:, len(names):]
    final_all = final_all[:, :len(names)]
    final_loss = final_all.mean(axis=0)
    val_acc_all = np.array(val_acc)[:, :len(names)]
    val_acc = val_acc_all.mean(axis=0)
    val_loss = np.mean(val_loss, axis=0)[:len(names)]

    # --- Step 4: the table -----------------------------------------------------
    order = np.argsort(final_loss)
    print(f"\nSGD(momentum=0.9), batch {batch_size}, mean over {len(seeds)} seed(s):")
    print(f"  {'schedule':16s} {'train loss':>10s} {'val loss':>9s} {'val acc':>8s} "
          f"{'last rate':>10s} {'mean rate':>10s}")
    for i in order:
        print(f"  {names[i]:16s} {final_loss[i]:10.4f} {val_loss[i]:9.4f} {val_acc[i]:8.3f} "
              f"{last_rate[i]:10.2e} {mean_rate[i]:10.2e}")
    beat = [k for i, k in enumerate(names) if i != const and final_loss[i] < final_loss[const]]
    best = names[order[0]]
    print(f"\n{len(beat)} of {len(names) - 1} schedules end with a lower training loss than "
          f"the constant rate ({final_loss[const]:.4f}).")
    # the top: every schedule not clearly worse than the lowest mean, paired by seed
    top = [names[i] for i in order if _common.compare(final_all[:, order[0]], final_all[:, i]) == 0]
    if len(top) > 1:
        print(f"The lowest mean, {best} ({final_loss[order[0]]:.4f}), is not clearly below "
              f"{', '.join(top[1:])} (within the seed-to-seed spread): the order at the top "
              "changes with the seeds, so no single winner.")
    elif best != "constant":
        print(f"The best, {best}, reaches {final_loss[order[0]]:.4f}: "
              f"{final_loss[const] / final_loss[order[0]]:.1f}x lower than the constant rate, "
              "and clearly below every other schedule (paired by seed).")
    # Which property of the curve goes with a low final loss? Rank correlations
    # (Spearman) between the loss and the last / the average rate.
    rho_last = _spearman(last_rate, final_loss)
    rho_mean = _spearman(mean_rate, final_loss)
    print(f"Rank correlation of the final loss with the last rate: {rho_last:+.2f}; with the "
          f"average rate: {rho_mean:+.2f} (negative: more of it, lower loss).")
    n_below = sum(final_loss[i] < final_loss[const] for i in big_low)
    print(f"  {len(big_low)} schedules ({', '.join(names[i] for i in big_low)}) average "
          f"{mean_rate[big_low].min():.3f} to {mean_rate[big_low].max():.3f}, about half the "
          f"constant's rate, and end at or below {lr0 / 50:.0e}; {n_below} of them end with a "
          "lower training loss than the constant rate.")
    settle = settling_control(final_all[:, const], control_loss, controls, len(seeds))
    slowest = names[int(np.argmin(mean_rate))]
    rank = int(np.flatnonzero(np.array(names)[order] == slowest)[0]) + 1
    print(f"  The schedule with the smallest average rate, {slowest} "
          f"({mean_rate[names.index(slowest)]:.2e}), ranks {rank} of {len(names)}"
          + (": a decay that drops early spends the run taking small steps."
             if rank > len(names) // 2 else "."))

    # --- Step 5: the figure of the race ------------------------------------------
    fig, (ax1, ax2) = _common.figure(1, 2, size=(6.0, 4.4))
    ep = np.arange(1, epochs + 1)
    for i, k in enumerate(names):
        ax1.plot(ep, loss_curves[0][:, i], label=k, linewidth=1.2,
                 linestyle="--" if k == "constant" else "-", color=f"C{i % 10}"
                 if i < 10 else "black")
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss (epoch average)")
    ax1.set_title(f"seed {seeds[0]}")
    ax1.legend(fontsize="x-small", ncol=2)
    ax1.grid(True, alpha=0.3)
    ax2.barh(np.arange(len(names)), val_acc, color="lightsteelblue")
    for s in range(len(seeds)):
        ax2.plot(val_acc_all[s], np.arange(len(names)), "k.", markersize=4)
    ax2.set_yticks(np.arange(len(names)), names)
    ax2.set_xlim(max(0.0, float(val_acc_all.min()) - 0.05), 1.0)
    ax2.set_xlabel(f"validation accuracy (bar: mean, dots: {len(seeds)} seed(s))")
    ax2.invert_yaxis()
    paths.append(_common.save(fig, out, "02_training.png"))

    # --- Step 6: a schedule as a per-epoch function (Keras's LearningRateScheduler) ------
    # The schedules above are functions of the update count, given to the optimiser.
    # Keras's other way is a callback that calls your own function once per epoch
    # and sets the rate it returns. The run uses one copy per seed with the same
    # initial weights and batches as the stacked copies, so it pairs with the
    # constant copy; seed 0 also runs the callback returning lr0 every epoch, the
    # control that this pairing holds.
    by_function = scheduler_function(x, y, seeds, lr0, epochs, batch_size, n_train,
                                     final_all[:, const])

    # --- Step 7: the takeaway --------------------------------------------------------
    plain = [f"{n_below} of the {len(big_low)} schedules that start high and end with small "
             "steps finish with a lower training loss than the fixed rate.", settle["sentence"]]
    if len(seeds) < 3:
        plain.append(f"With {len(seeds)} seeds the order at the top cannot be judged: no winner "
                     "is named.")
    elif len(top) > 1:
        plain.append(f"The best few ({', '.join(top)}) are within the seed-to-seed spread of "
                     "each other, so none of them is the winner.")
    else:
        plain.append(f"{best} is clearly the best here, below every other schedule in the "
                     "paired comparison.")
    text = _common.takeaway(plain, stats=settle["stats"])
    if len(seeds) < 3:
        print("  " + _common.too_small(len(seeds), 3, 5, "the controls and the order at the top"))
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {
        "names": names,
        "final_loss": dict(zip(names, final_loss.tolist(), strict=True)),
        "val_accuracy": dict(zip(names, val_acc.tolist(), strict=True)),
        "val_loss": dict(zip(names, val_loss.tolist(), strict=True)),
        "last_rate": dict(zip(names, last_rate.tolist(), strict=True)),
        "best": best,
        "n_beating_constant": len(beat),
        "n_end_low_beating_constant": int(sum(final_loss[i] < final_loss[const]
                                              for i in big_low)),
        "n_end_low": len(big_low),
        "rank_corr_last_rate": rho_last,
        "rank_corr_mean_rate": rho_mean,
        "top_group": top,
        "takeaway": text,
        "controls": {k: control_loss[:, j].tolist() for j, k in enumerate(controls)},
        "constant_loss_seeds": final_all[:, const].tolist(),
        "settling": settle,
        "scheduler_function": by_function,
        "n_seeds": len(seeds),
        "figures": paths,
    }


def scheduler_function(x, y, seeds, lr0, epochs, batch_size, n_train, constant):
    """Step 6: a per-epoch Python function through LearningRateScheduler, against the fixed rate.

    The function keeps lr0 for the first quarter of the epochs, then multiplies the
    rate by exp(-0.1) at the start of every later epoch. One model per seed
    (build(seed, 1): the weights and batch order of that seed's stacked copies);
    constant: the stacked constant copy's final training loss per seed.
    """
    hold = epochs // 4

    def shrink_after_hold(epoch, lr):
        return lr if epoch < hold else lr * math.exp(-0.1)

    def fit_with(schedule, seed):
        model = build(seed, 1)
        model.compile(tn.optimizers.SGD(lr0, momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        hist = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=0.2,
                         verbose=0, callbacks=[tn.callbacks.LearningRateScheduler(schedule)])
        loss = float(model.evaluate(x[:n_train], y[:n_train])["loss"])
        return loss, [float(r) for r in hist.records["LearningRateScheduler"]["lr"]]

    runs = [fit_with(shrink_after_hold, seed) for seed in seeds]
    loss = np.array([r[0] for r in runs])
    rates = runs[0][1]  # the same for every seed: the function reads only epoch and lr
    control, _ = fit_with(lambda epoch: lr0, seeds[0])
    verdict = _common.compare(loss, constant)
    lower = int(np.sum(loss < constant))
    shown = sorted({0, hold - 1, hold, epochs - 1})
    print(f"\nThe Keras way: LearningRateScheduler(f) with f(epoch, lr) = lr for epochs < {hold}, "
          "else lr * exp(-0.1). The rates it set, from the run's records: "
          + ", ".join(f"epoch {e + 1} {rates[e]:.4g}" for e in shown) + ".")
    same = abs(control - constant[0]) <= 1e-5 * constant[0]
    print(f"  Control: the same callback returning {lr0} every epoch ends at {control:.6f}, the "
          f"stacked constant copy at {constant[0]:.6f}"
          + (": the same run, so the two pair seed by seed." if same else
             ": not the same run, so the pairing below is loose."))
    judged = len(seeds) >= 3
    sentence = (f"Final training loss {np.median(loss):.4f} against the fixed rate's "
                f"{np.median(constant):.4f} (medians), lower in "
                f"{_common.count(lower, len(seeds))} seeds"
                + (f": too few seeds ({len(seeds)}) to judge against the seed spread."
                   if not judged else
                   ": clearly below the fixed rate."
                   if verdict == 1 else ": clearly above the fixed rate."
                   if verdict == -1 else ": within the seed spread of the fixed rate."))
    print("  " + sentence)
    return {"rates": rates, "hold": hold, "final_loss_seeds": loss.tolist(),
            "control_loss": control, "control_same_run": bool(same),
            "vs_constant": verdict, "lower_seeds": lower, "sentence": sentence}


def settling_control(constant, control_loss, controls, n_seeds):
    """Do the small steps at the end settle the weights, or does the lower average rate?

    constant: the fixed rate's final loss per seed; control_loss (seeds, 2): the
    fixed rate with its last 10% at lr0 / 100, and a fixed rate at the decaying
    schedules' average. Each is compared with the fixed rate, paired by seed.
    """
    late, mean = control_loss[:, 0], control_loss[:, 1]
    late_gap, mean_gap = _common.compare(late, constant), _common.compare(mean, constant)
    name_late, name_mean = list(controls)
    print(f"\nControls, final training loss against the constant rate's "
          f"{np.median(constant):.4f} (medians, paired by seed): {name_late} "
          f"{np.median(late):.4f}, lower in {_common.count(np.sum(late < constant), n_seeds)} "
          f"seeds; {name_mean} {np.median(mean):.4f}, lower in "
          f"{_common.count(np.sum(mean < constant), n_seeds)} seeds.")
    if late_gap == 1 and mean_gap != 1:
        sentence = ("Dropping the rate for only the last 10% of updates already beats the fixed "
                    "rate, while a fixed rate at the schedules' lower average does not: the small "
                    "steps at the end are what settles the weights.")
    elif late_gap == 1:
        sentence = ("Dropping the rate for only the last 10% beats the fixed rate, and so does a "
                    "fixed rate at the schedules' lower average: the end helps, and so does the "
                    "smaller average rate.")
    elif mean_gap == 1:
        sentence = ("A fixed rate at the schedules' lower average beats the fixed rate, and "
                    "dropping the rate only at the end does not clearly: the lower average rate, "
                    "not the end, is what helps here.")
    else:
        sentence = ("Neither control is clearly below the fixed rate (the gaps are within the "
                    "seed-to-seed spread), so this run cannot say whether the small steps at the "
                    "end or the lower average rate does the settling.")
    stats = (f"{name_late} below constant in {_common.count(np.sum(late < constant), n_seeds)} "
             f"seeds, median ratio {np.median(late / constant):.2f}; {name_mean} below in "
             f"{_common.count(np.sum(mean < constant), n_seeds)}, median ratio "
             f"{np.median(mean / constant):.2f}; paired t-test on log losses at 95%")
    return {"late_drop_vs_constant": late_gap, "mean_rate_vs_constant": mean_gap,
            "sentence": sentence, "stats": stats}


def _spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/02_schedule_gallery.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
