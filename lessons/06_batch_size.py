# %% [markdown]
# # Lesson 6: batch size and the learning rate go together.
#
# Question: if you make the batch bigger and keep everything else, including
# the learning rate and the number of epochs, what happens? And does the
# "linear scaling rule" (multiply the rate by the same factor as the batch),
# with a warm-up for the larger rates, give the accuracy back?
#
# What you will see:
#   * batch sizes 16 to 512, each trained for the same 20 epochs four ways:
#     the rate tuned for batch 32 kept fixed; the rate scaled linearly with the
#     batch (lr = 0.05 * B / 32); the scaled rate reached through a linear
#     warm-up over the first 5 epochs; and, as the warm-up's control, the
#     scaled rate for only 15 epochs (as many full-rate epochs as the warm-up
#     run gets) and then stopped;
#   * the final training loss and validation accuracy of each (medians and the
#     spread over seeds), how many runs went NaN/inf (with a 95% interval) or
#     grew past 4x their best loss and trained on, and how many updates each
#     batch size gets in its 20 epochs;
#   * the control for "fewer updates cannot cover the same ground": batch 512
#     at the fixed rate given as many updates as batch 16 gets (30x the epochs);
#   * every comparison checked against the seed-to-seed spread (a paired
#     t-test over seeds): where the gap is within the noise, the lesson says
#     it cannot tell, and a run with too few seeds says it is too small to judge;
#   * 06_batch_size.png: final loss (band: seeds) and validation accuracy
#     against batch size;
#   * 06_largest_batch.png: the largest batch's four runs, epoch by epoch;
#   * what a batch costs on this machine: the wall-clock time of an epoch and
#     of one update at every batch size (median of a few timed epochs), the
#     memory the activations of one batch take (computed), and the time of an
#     update with ReLU, tanh and sigmoid units.
#
# Why: one epoch at batch B makes N/B updates, so a bigger batch takes fewer
# steps; each step averages more examples, so it is less noisy and can be
# longer. Training observes here: no run is stopped for a growing loss, so a
# rate that is too large shows up as a worse final loss, or as NaN/inf if it
# really blows up. A warm-up spends epochs below the full rate, so against a
# run at the full rate throughout it pays in epochs; the 15-epoch control
# separates that cost from whatever the gentle start itself does.
#
# Counting updates leaves out what each one costs. A bigger batch runs the
# same arithmetic as fewer, larger matrix products, which vector units and
# (far more) a GPU do faster per example, and pays the fixed cost of an
# update (the Python loop, the optimiser's bookkeeping) fewer times; in
# exchange it holds more activations in memory at once. The timings are this
# machine's (`--backend cupy` times a GPU instead), so the sentences about
# them are chosen from the numbers each run measures. Networks with batch
# normalisation have one more reason to revisit their settings when the batch
# changes: that layer normalises with statistics of the current batch (noisier
# in a small one) and keeps running averages whose momentum was tuned for a
# number of updates; tinynet has no batch-normalisation layer, so this lesson
# cannot show it.
#
# The output opens with the takeaway in plain words; the table and the
# comparisons behind it follow.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 6: batch size and the learning rate go together.

Run:  python lessons/06_batch_size.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 30-60 s on a 2-core CPU; --quick (two seeds instead of five; the
equal-updates control with one seed and batch 32's updates; three timed epochs
per batch size instead of five) about 9 s.
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
VARIANTS = ("fixed rate", "linear scaling", "scaling + warm-up", "scaled, 15 epochs")


def build(seed, n_models=4, activation="relu"):  # the four VARIANTS, stacked
    return tn.Sequential([
        tn.layers.Dense(64, activation=activation, input_dim=2),
        tn.layers.Dense(64, activation=activation),
        tn.layers.Dense(3, activation="softmax"),
    ], seed=seed, n_models=n_models, same_init=True)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the problem, the base rate and the batch sizes
# 2. train each batch size four ways at once
# 3. the control: batch 512 with as many updates as batch 16
# 4. what a batch costs on this machine: time and memory
# 5. what the numbers say, the takeaway first
# 6. the table and the comparisons behind it
# 7. figures

# %%
def main(out_dir="outputs/06_batch_size", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()

    # --- Step 1: the problem, the base rate and the batch sizes ----------------------
    x, y = tn.datasets.make_spirals(3000, n_classes=3, noise=0.25, turns=1.25, seed=0)
    x = tn.data.StandardScaler().fit_transform(x)
    n_train = int(np.ceil(0.8 * len(x)))
    setup = {"base_batch": 32, "base_lr": 0.05, "epochs": 20, "warmup_epochs": 5,
             "batches": [16, 32, 64, 128, 256, 512], "n_train": n_train}
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    print(f"SGD(momentum=0.9), {n_train} training rows, {setup['epochs']} epochs, base rate "
          f"{setup['base_lr']} at batch {setup['base_batch']}, {len(seeds)} seeds.")

    # --- Step 2: train each batch size four ways at once ------------------------------
    grid = train_grid(x, y, seeds, setup)

    # --- Step 3: the control: batch 512 with as many updates as batch 16 --------------
    # A fixed rate at batch 512 makes 30x fewer updates than at batch 16 in the same
    # epochs. Give it those updates back (30x the epochs, far more computing) and
    # see whether the gap closes: if it does, the missing updates were the cause.
    # (--quick: one seed, and batch 32's updates rather than batch 16's, half the cost)
    control = equal_updates(x, y, seeds[:1] if quick else seeds, setup,
                            like_batch=setup["base_batch"] if quick else setup["batches"][0])

    # --- Step 4: what a batch costs on this machine: time and memory -----------------
    # Steps 2-3 count updates; here each update gets its price. One network per
    # batch size is timed over whole epochs (the median of a few, taken in turn
    # across the batch sizes so that a busy moment of the CPU hits all of them);
    # the memory is computed from the layer widths. Then the same update at the
    # largest batch with tanh and sigmoid units in place of ReLU.
    cost = time_batches(x, y, setup, repeats=3 if quick else 5)

    # --- Step 5: what the numbers say, the takeaway first -----------------------------
    verdicts = judge(grid, control, setup, len(seeds))
    plain = takeaway_sentences(verdicts, setup, len(seeds))
    print("\nIn short:\n" + "\n".join(f"  {sentence}" for sentence in plain))

    # --- Step 6: the table and the comparisons behind it ------------------------------
    print_details(grid, control, verdicts, setup, len(seeds))
    cost["sentences"] = cost_sentences(cost, control, setup)
    print_cost(cost)

    # --- Step 7: figures --------------------------------------------------------------------
    paths = plot(grid, control, setup, seeds, out)
    _common.takeaway(plain, stats=verdicts["stats"])
    small = _common.too_small(len(seeds), 3, 5, "any of these gaps against the seed spread")
    if small:
        print("  " + small)
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {
        "batch_sizes": setup["batches"],
        "final_loss": {v: grid["loss_med"][:, j].tolist() for j, v in enumerate(VARIANTS)},
        "val_accuracy": {v: grid["acc_med"][:, j].tolist() for j, v in enumerate(VARIANTS)},
        "final_loss_seeds": {v: grid["final_loss"][:, :, j].tolist()
                             for j, v in enumerate(VARIANTS)},
        "n_nonfinite": {v: grid["n_bad"][:, j].tolist() for j, v in enumerate(VARIANTS)},
        "n_grew": {v: grid["n_grew"][:, j].tolist() for j, v in enumerate(VARIANTS)},
        "equal_updates": control,
        "cost": cost,
        **{k: verdicts[k] for k in ("largest_batch_kept", "linear_largest_loss_ratio",
                                    "linear_largest_accuracy_drop", "linear_largest_clearly_worse",
                                    "warmup_vs_scaling", "warmup_vs_control",
                                    "control_vs_scaling", "judged", "fixed_gap",
                                    "updates_gap")},
        "takeaway": plain,
        "n_seeds": len(seeds),
        "figures": paths,
    }


# %% [markdown]
# ## The pieces
#
# Training (`train_grid`, `equal_updates`), the judgement (`judge`), its words
# (`takeaway_sentences`, `print_details`) and the figures (`plot`).

# %%
def train_grid(x, y, seeds, setup):
    """Every batch size, four variants stacked per seed: final losses and accuracies.

    For one batch size the variants are copies of one stacked model with identical
    initial weights and batch order (same_init=True), so within a seed they differ
    by the schedule alone. The warm-up spends its first epochs below the full rate;
    the fourth copy is its control: the scaled rate for as many full-rate epochs and
    then rate 0 (its weights stay those of that epoch). Training observes: only a
    NaN/inf loss ends a copy; a loss that grows past 4x its best trains on.
    """
    batches, epochs = setup["batches"], setup["epochs"]
    full_epochs = epochs - setup["warmup_epochs"]
    shape = (len(seeds), len(batches), len(VARIANTS))
    final_loss, val_acc = np.zeros(shape), np.zeros(shape)
    nonfinite, grew = np.zeros(shape, bool), np.zeros(shape, bool)
    curves = {}
    for b, batch in enumerate(batches):
        steps_per_epoch = int(np.ceil(setup["n_train"] / batch))
        scaled = setup["base_lr"] * batch / setup["base_batch"]
        rates = [tn.schedules.Constant(setup["base_lr"]), tn.schedules.Constant(scaled),
                 tn.schedules.Warmup(scaled, setup["warmup_epochs"] * steps_per_epoch),
                 tn.schedules.PiecewiseConstantDecay([full_epochs * steps_per_epoch - 1],
                                                     [scaled, 0.0])]
        for s, seed in enumerate(seeds):
            model = build(seed)
            model.compile(tn.optimizers.SGD(rates, momentum=0.9),
                          loss="sparse_categorical_crossentropy")
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", tn.DivergenceWarning)
                hist = model.fit(x, y, epochs=epochs, batch_size=batch, validation_split=0.2,
                                 verbose=0)
            nonfinite[s, b], grew[s, b] = hist.diverged, hist.grew
            # a non-finite copy counts as a failure: loss inf, accuracy 0
            final_loss[s, b] = np.where(hist.diverged, np.inf, hist.history["loss"][-1])
            val_acc[s, b] = np.where(hist.diverged, 0.0, hist.history["val_accuracy"][-1])
            if s == 0 and batch == batches[-1]:
                curves = {"loss": np.array(hist.history["loss"]),
                          "val_accuracy": np.array(hist.history["val_accuracy"]),
                          "lr": hist.steps["lr"]}
    return {"final_loss": final_loss, "val_acc": val_acc, "curves": curves,
            "loss_med": np.median(final_loss, axis=0), "acc_med": np.median(val_acc, axis=0),
            "n_bad": nonfinite.sum(axis=0), "n_grew": grew.sum(axis=0)}


def equal_updates(x, y, seeds, setup, like_batch):
    """The largest batch at the fixed rate, trained for as many updates as the smallest.

    Same network, seeds and training rows; the epochs grow by the ratio of updates per
    epoch (the last batch of an epoch is partial, so a little under the batch ratio).
    The validation rows are scored once at the end.
    """
    small, large, n = like_batch, setup["batches"][-1], setup["n_train"]
    updates = setup["epochs"] * int(np.ceil(n / small))
    epochs = updates // int(np.ceil(n / large))
    loss, acc = [], []
    for seed in seeds:
        model = build(seed, n_models=1)
        model.compile(tn.optimizers.SGD(setup["base_lr"], momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", tn.DivergenceWarning)
            hist = model.fit(x[:n], y[:n], epochs=epochs, batch_size=large, verbose=0)
        loss.append(float(hist.history["loss"][-1]))
        acc.append(float(model.evaluate(x[n:], y[n:])["accuracy"]))
    return {"batch": large, "epochs": epochs, "updates": updates, "like_batch": small,
            "loss": loss, "val_accuracy": acc, "n_seeds": len(seeds)}


def time_batches(x, y, setup, repeats):
    """Wall-clock seconds per epoch and per update at each batch size, on this machine.

    One network (K = 1, the fixed rate) per batch size: an untimed first epoch
    (buffers, caches), then ``repeats`` timed epochs on the training rows, taken
    in turn across the batch sizes; the median of each. The same at the largest
    batch for ReLU, tanh and sigmoid hidden units. Memory is computed, not
    measured: a forward pass keeps each layer's output (and the input) for the
    backward pass, batch x (sum of the widths) x bytes per number.
    """
    n, batches = setup["n_train"], setup["batches"]
    xt, yt = x[:n], y[:n]
    runs = {("relu", b): b for b in batches}
    runs.update({(act, batches[-1]): batches[-1] for act in ("tanh", "sigmoid")})
    models = {}
    for (act, batch) in runs:
        model = build(0, n_models=1, activation=act)
        model.compile(tn.optimizers.SGD(setup["base_lr"], momentum=0.9),
                      loss="sparse_categorical_crossentropy")
        model.fit(xt, yt, epochs=1, batch_size=batch, verbose=0)  # untimed
        models[act, batch] = model
    seconds = {key: [] for key in runs}
    for _ in range(repeats):
        for (act, batch), model in models.items():
            start = time.perf_counter()
            model.fit(xt, yt, epochs=1, batch_size=batch, verbose=0)
            seconds[act, batch].append(time.perf_counter() - start)
    epoch_s = {key: float(np.median(t)) for key, t in seconds.items()}
    per_epoch = {b: int(np.ceil(n / b)) for b in batches}
    model = models["relu", batches[0]]
    widths = [model.input_dim] + [layer.units for layer in model.layers
                                  if isinstance(layer, tn.layers.Dense)]
    itemsize = np.dtype(tn.get_dtype()).itemsize
    return {"batches": batches, "repeats": repeats, "widths": widths, "itemsize": itemsize,
            "epoch_s": [epoch_s["relu", b] for b in batches],
            "update_s": [epoch_s["relu", b] / per_epoch[b] for b in batches],
            "updates_per_epoch": [per_epoch[b] for b in batches],
            "memory_bytes": [b * sum(widths) * itemsize for b in batches],
            "activation_update_s": {act: epoch_s[act, batches[-1]] / per_epoch[batches[-1]]
                                    for act in ("relu", "tanh", "sigmoid")}}


def cost_sentences(cost, control, setup):
    """What the timings and the memory say, each sentence chosen by the numbers.

    cost: time_batches' result; control: the equal-updates control (its epochs and
    the batch whose updates it matched); setup: the epochs of the grid.
    """
    batches, t_epoch, t_update = cost["batches"], cost["epoch_s"], cost["update_s"]
    small, large = batches[0], batches[-1]
    ratio = t_epoch[0] / t_epoch[-1]
    fastest = batches[int(np.argmin(t_epoch))]
    if t_epoch[-1] < t_epoch[0]:
        epoch = (f"On this machine an epoch at batch {large} takes {1e3 * t_epoch[-1]:.1f} ms "
                 f"against {1e3 * t_epoch[0]:.1f} ms at batch {small}, {ratio:.1f}x faster "
                 f"(fastest: batch {fastest}): the same examples go through fewer, larger "
                 "matrix products, and the fixed cost of an update is paid "
                 f"{cost['updates_per_epoch'][0] // cost['updates_per_epoch'][-1]}x less often.")
    else:
        epoch = (f"On this machine an epoch at batch {large} ({1e3 * t_epoch[-1]:.1f} ms) is not "
                 f"faster than at batch {small} ({1e3 * t_epoch[0]:.1f} ms; fastest: batch "
                 f"{fastest}): here the larger products buy no speed.")
    q, more = t_update[-1] / t_update[0], large // small
    update = (f"One update at batch {large} costs {q:.1f}x one at batch {small} for {more}x the "
              "examples, so " + (f"per example it is {more / q:.0f}x cheaper." if q < more else
                                 "per example it is no cheaper."))
    like = batches.index(control["like_batch"])
    t_large = control["epochs"] * t_epoch[-1]
    t_like = setup["epochs"] * t_epoch[like]
    same = (f"Given as many updates as batch {control['like_batch']} (the control, "
            f"{control['epochs']} epochs), batch {large} would take {t_large:.1f} s against "
            f"{t_like:.1f} s for batch {control['like_batch']}'s {setup['epochs']} epochs: "
            + ("its speed is per epoch; counted per update the smaller batch is the cheaper "
               "one here." if t_large > t_like else
               "even counted per update the larger batch is the faster one here."))
    mem = cost["memory_bytes"]
    memory = (f"The activations of one batch grow with it: batch x {sum(cost['widths'])} numbers "
              f"x {cost['itemsize']} bytes, {_bytes(mem[0])} at batch {small} and "
              f"{_bytes(mem[-1])} at batch {large}"
              + ("; at this network's size memory limits nothing, and the small batch's "
                 "saving only counts for layers that hold far more numbers per example "
                 "(images, long texts)." if mem[-1] < 2 ** 20 else
                 "; the small batch keeps that much less in memory at once."))
    act = cost["activation_update_s"]
    others = {a: act[a] / act["relu"] for a in ("tanh", "sigmoid")}
    relu = (f"At batch {large} an update with ReLU units takes {1e6 * act['relu']:.0f} us, "
            f"with tanh {1e6 * act['tanh']:.0f} us, with sigmoid {1e6 * act['sigmoid']:.0f} us: "
            + ("ReLU's max(0, x) is the cheapest of the three here."
               if min(others.values()) > 1.1 else
               "ReLU's update is the slowest of the three here: at this size, on this "
               "machine, the cheap formula does not show."
               if max(others.values()) < 0.9 else
               "ReLU's max(0, x) is cheaper than an exponential, but here the matrix "
               "products and the loop take most of an update, so it saves little or "
               "nothing; its real advantage is the gradient it passes (lesson 13)."))
    return [epoch, update, same, memory, relu]


def print_cost(cost):
    """Step 4's numbers and what they say."""
    print(f"\nWhat a batch costs on this machine (median of {cost['repeats']} timed epochs, "
          f"{tn.get_backend()}, {tn.get_dtype()}):")
    print(f"  {'batch':>5s} {'epoch (ms)':>10s} {'update (us)':>11s} {'activations':>11s}")
    for b, t_e, t_u, m in zip(cost["batches"], cost["epoch_s"], cost["update_s"],
                              cost["memory_bytes"], strict=True):
        print(f"  {b:5d} {1e3 * t_e:10.2f} {1e6 * t_u:11.0f} {_bytes(m):>11s}")
    for sentence in cost["sentences"]:
        print(f"  {sentence}")


def judge(grid, control, setup, n):
    """Every comparison the lesson states, paired by seed (compare: +1 a lower, -1 higher)."""
    batches, final_loss = setup["batches"], grid["final_loss"]
    loss_med, acc_med, n_bad = grid["loss_med"], grid["acc_med"], grid["n_bad"]
    ref, big = batches.index(setup["base_batch"]), len(batches) - 1

    def kept(j):
        """The largest batch whose median accuracy stays within 1 point of batch 32's."""
        ok = [batch for b, batch in enumerate(batches)
              if b >= ref and acc_med[b, j] >= acc_med[ref, j] - 0.01 and n_bad[b, j] == 0]
        return max(ok) if ok else None

    m, like = control["n_seeds"], batches.index(control["like_batch"])
    v = {"judged": n >= 3, "fixed_gap": compare(final_loss[:, ref, 0], final_loss[:, big, 0]),
         "fixed_ratio": loss_med[big, 0] / loss_med[ref, 0],
         # equal updates: the long batch-512 run against batch 16 at 20 epochs (same seeds)
         "updates_gap": compare(control["loss"], final_loss[:m, like, 0]) if m >= 3 else 0,
         "updates_ratio": float(np.median(control["loss"]) / np.median(final_loss[:m, like, 0])),
         "largest_batch_kept": {name: kept(j) for j, name in enumerate(VARIANTS)},
         "linear_largest_loss_ratio": float(loss_med[big, 1] / loss_med[ref, 1]),
         "linear_largest_accuracy_drop": float(acc_med[ref, 1] - acc_med[big, 1]),
         "linear_gap": compare(final_loss[:, ref, 1], final_loss[:, big, 1]),
         "linear_blew": int(n_bad[big, 1]), "n_nonfinite_total": int(n_bad.sum()),
         "accuracy_at_second_largest": (float(acc_med[big - 1, 0]), float(acc_med[big - 1, 1])),
         "warmup_vs_scaling": {}, "warmup_vs_control": {}, "control_vs_scaling": {}}
    v["linear_largest_clearly_worse"] = v["linear_gap"] == 1
    v["like_batch"] = control["like_batch"]
    for b in range(ref + 1, len(batches)):
        v["warmup_vs_scaling"][batches[b]] = compare(final_loss[:, b, 2], final_loss[:, b, 1])
        v["warmup_vs_control"][batches[b]] = compare(final_loss[:, b, 2], final_loss[:, b, 3])
        v["control_vs_scaling"][batches[b]] = compare(final_loss[:, b, 3], final_loss[:, b, 1])
    total = n * len(batches)
    v["stats"] = (f"{n} seeds, paired t-test on log losses at 95%; NaN/inf runs "
                  f"{count(v['n_nonfinite_total'], total * len(VARIANTS))}; batch "
                  f"{batches[-1]} / {setup['base_batch']} final loss, fixed rate "
                  f"{v['fixed_ratio']:.1f}x, linear scaling {v['linear_largest_loss_ratio']:.1f}x; "
                  f"equal-updates control {m} seed(s), loss {v['updates_ratio']:.2f}x batch "
                  f"{control['like_batch']}'s")
    return v


def takeaway_sentences(v, setup, n):
    """Two or three sentences in plain words, chosen by the numbers (and the seed count)."""
    batches, big = setup["batches"], setup["batches"][-1]
    judged = v["judged"]
    s1 = (f"With the rate kept fixed, batch {big} ends {v['fixed_ratio']:.0f}x above batch "
          f"{setup['base_batch']}'s training loss in the same epochs")
    if not judged:
        s1 += " (too few seeds here to judge whether that is more than seed noise)."
    elif v["fixed_gap"] == 1:
        s1 += ", by more than the seed-to-seed spread."
    else:
        s1 += ", but that is within the seed-to-seed spread."
    ratio, like = v["updates_ratio"], v["like_batch"]
    if v["updates_gap"] == 1 or (not judged and ratio < 1):
        s1 += (f" Given as many updates as batch {like}, it ends {1 / ratio:.1f}x below "
               f"batch {like}'s loss: it was short of updates, and with them its size "
               "does not hold it back")
    elif v["updates_gap"] == -1 or (not judged and ratio >= 1):
        s1 += (f" Given as many updates as batch {like}, it still ends {ratio:.1f}x above "
               f"it: more than the number of updates is at work")
    else:
        s1 += (f" Given as many updates as batch {like}, it ends within the seed spread of "
               "it: the missing updates account for the gap")
    s1 += "" if judged else " (one seed: too small to judge)"
    s1 += "."
    fixed, scaled = v["accuracy_at_second_largest"]
    second = batches[-2]
    s2 = (f"Scaling the rate with the batch gives most of the accuracy back at batch {second} "
          f"({scaled:.3f} against {fixed:.3f} with the rate fixed)" if scaled > fixed + 0.05 else
          f"Scaling the rate with the batch does not give the accuracy back at batch {second} "
          f"({scaled:.3f} against {fixed:.3f} with the rate fixed)")
    s2 += (f"; at batch {big} the scaled rate ({setup['base_lr'] * big / setup['base_batch']:g}) "
           f"ends {v['linear_largest_loss_ratio']:.0f}x above batch {setup['base_batch']}'s loss"
           + ("" if not judged else ", by more than the seed spread" if v["linear_gap"] == 1
              else ", within the seed spread")
           + (", and no run went NaN/inf." if v["n_nonfinite_total"] == 0 else
              f", and {v['n_nonfinite_total']} run(s) went NaN/inf."))
    results = list(v["warmup_vs_scaling"].values()) + list(v["warmup_vs_control"].values())
    if not judged:
        s3 = "Whether a warm-up helps: too few seeds in this run to judge."
    elif not any(results):
        s3 = (f"Whether a warm-up helps, {n} seeds cannot tell: "
              "every difference is within the seed-to-seed spread.")
    else:
        better = sorted({b for d in ("warmup_vs_scaling", "warmup_vs_control")
                         for b, c in v[d].items() if c == 1})
        worse = sorted({b for d in ("warmup_vs_scaling", "warmup_vs_control")
                        for b, c in v[d].items() if c == -1})
        s3 = (f"The warm-up clearly helps at batch {_list(better)} and clearly hurts at "
              f"{_list(worse)}; elsewhere the seeds cannot tell.")
    return [s1, s2, s3]


def print_details(grid, control, v, setup, n):
    """The table and the comparisons behind the takeaway."""
    batches, epochs = setup["batches"], setup["epochs"]
    loss_med, acc_med = grid["loss_med"], grid["acc_med"]
    full_epochs = epochs - setup["warmup_epochs"]
    print(f"\nThe details. Final training loss and validation accuracy, medians of {n} seeds "
          f"(\"{VARIANTS[3]}\": the scaled rate for {full_epochs} epochs, then stopped)")
    print(f"  {'batch':>5s} {'updates':>7s} {'scaled lr':>9s}   "
          + "  ".join(f"{name:>18s}" for name in VARIANTS))
    for b, batch in enumerate(batches):
        updates = epochs * int(np.ceil(setup["n_train"] / batch))
        cells = [f"{_num(loss_med[b, j]):>7s} {acc_med[b, j]:6.3f}" for j in range(len(VARIANTS))]
        print(f"  {batch:5d} {updates:7d} {setup['base_lr'] * batch / setup['base_batch']:9.3g}"
              "   " + "  ".join(f"{c:>18s}" for c in cells))
    print(f"  Equal-updates control: batch {control['batch']} at the fixed rate for "
          f"{control['epochs']} epochs "
          f"({control['updates']} updates, as many as batch {control['like_batch']}): loss "
          f"{_range(control['loss'])}, validation accuracy {_range(control['val_accuracy'])} "
          f"({control['n_seeds']} seed(s)).")
    word = {1: "clearly below", -1: "clearly above", 0: "within the spread of"}
    print("  Warm-up, final training loss, against linear scaling (20 epochs at the full rate) "
          f"and against the control ({full_epochs} full-rate epochs, no warm-up)"
          + ("" if v["judged"] else ", without verdicts (too few seeds to judge)") + ":")
    for batch in v["warmup_vs_scaling"]:
        b = batches.index(batch)
        if v["judged"]:
            print(f"    batch {batch:3d}: warm-up {_num(loss_med[b, 2])}, "
                  f"{word[v['warmup_vs_scaling'][batch]]} scaling {_num(loss_med[b, 1])} and "
                  f"{word[v['warmup_vs_control'][batch]]} the control {_num(loss_med[b, 3])}")
        else:
            print(f"    batch {batch:3d}: warm-up {_num(loss_med[b, 2])}, scaling "
                  f"{_num(loss_med[b, 1])}, the control {_num(loss_med[b, 3])}")
    n_grew = grid["n_grew"]
    print("  Runs whose loss grew past 4x its best and trained on: "
          + "; ".join(f"{name} {int(n_grew[:, j].sum())}" for j, name in enumerate(VARIANTS))
          + ".")


def plot(grid, control, setup, seeds, out):
    batches, n = setup["batches"], len(seeds)
    loss_med, acc_med, final_loss = grid["loss_med"], grid["acc_med"], grid["final_loss"]
    fig, (ax1, ax2) = _common.figure(1, 2, size=(5.5, 4.2))
    for j, name in enumerate(VARIANTS):
        shown = np.where(np.isfinite(loss_med[:, j]), loss_med[:, j], np.nan)
        ax1.plot(batches, shown, "o-", label=name, color=f"C{j}")
        lo, hi = final_loss[:, :, j].min(axis=0), final_loss[:, :, j].max(axis=0)
        ax1.fill_between(batches, lo, hi, color=f"C{j}", alpha=0.12)
        ax2.plot(batches, acc_med[:, j], "o-", label=name, color=f"C{j}")
    label = f"fixed rate, {control['updates']} updates"
    ax1.plot([control["batch"]] * control["n_seeds"], control["loss"], "k*", markersize=9,
             label=label)
    ax2.plot([control["batch"]] * control["n_seeds"], control["val_accuracy"], "k*",
             markersize=9, label=label)
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.set_xlabel("batch size")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    ax1.set_yscale("log")
    ax1.set_ylabel(f"final training loss (median, band: {n} seeds)")
    ax2.set_ylabel("validation accuracy (median; non-finite = 0)")
    paths = [_common.save(fig, out, "06_batch_size.png")]
    curves = grid["curves"]
    fig, (ax1, ax2) = _common.figure(1, 2, size=(5.5, 4.2))
    ep = np.arange(1, len(curves["loss"]) + 1)
    for j, name in enumerate(VARIANTS):
        ax1.plot(ep, curves["loss"][:, j], label=name)
        ax2.plot(np.arange(1, curves["lr"].shape[0] + 1), curves["lr"][:, j], label=name)
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss")
    ax1.set_title(f"batch {batches[-1]}, seed {seeds[0]}")
    ax1.legend(fontsize="small")
    ax2.set_xlabel("update")
    ax2.set_ylabel("learning rate")
    ax2.set_title(f"{curves['lr'].shape[0]} updates in {setup['epochs']} epochs")
    ax2.legend(fontsize="small")
    paths.append(_common.save(fig, out, "06_largest_batch.png"))
    return paths


def _num(v):
    return f"{v:.4f}" if np.isfinite(v) else "inf"


def _range(values):
    return f"{np.min(values):.3f}..{np.max(values):.3f}"


def _bytes(n):
    return f"{n / 1024:.0f} KiB" if n < 2 ** 20 else f"{n / 2 ** 20:.1f} MiB"


def _list(items):
    return ", ".join(map(str, items)) if items else "none"


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/06_batch_size.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
