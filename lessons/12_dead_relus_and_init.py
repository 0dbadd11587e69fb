# %% [markdown]
# # Lesson 12: dead ReLUs and initialisation.
#
# Question: in the 10x10x10x10x4 ReLU network of the Q&A post, do units "die"
# (output 0 for every input, so no gradient ever reaches them), and is that what
# decides whether it trains? Or is it the size of the initial weights, through
# the size of the gradients they produce?
#
# Twelve set-ups on the post's four-blob problem: three kernel initialisers
# (RandomNormal(stddev=0.05) as in the post, Glorot uniform, He normal) x two
# activations (ReLU, LeakyReLU with slope 0.2) x two input scalings (raw
# coordinates around +-10, or standardised). Each set-up trains eight seeds at
# once with SGD(0.1), batch 64, as in the post.
#
# What you will see, measured with tinynet.diagnostics:
# - the share of dead units per hidden layer before training and after it;
# - the gradient norm of every layer's kernel at initialisation;
# - the validation accuracy each set-up reaches.
# A unit counts as dead when its pre-activation is <= 0 for every training
# point. For LeakyReLU such a unit is "stuck negative" but still passes back
# 0.2 x the gradient, so it can recover.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 12: dead ReLUs and initialisation.

Run:   python lessons/12_dead_relus_and_init.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 12 seconds on a 2-core CPU (--quick: about 3).
"""

import sys
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import count  # noqa: E402

# %%
CENTERS = np.array([(-10.0, -10.0), (-10.0, 10.0), (10.0, -10.0), (10.0, 10.0)])
INITS = {
    "RandomNormal(0.05)": lambda: tn.initializers.RandomNormal(stddev=0.05),
    "Glorot": lambda: tn.initializers.GlorotUniform(),
    "He": lambda: tn.initializers.HeNormal(),
}
ACTIVATIONS = ("relu", "leaky_relu")
LR = 0.1


def build(k, init, activation):
    """The post's network: Dense(10) x4 -> Dense(4, softmax), zero biases."""
    make = INITS[init]
    layers = [tn.layers.Dense(10, activation=activation, kernel_initializer=make(), input_dim=2)]
    layers += [tn.layers.Dense(10, activation=activation, kernel_initializer=make())
               for _ in range(3)]
    layers.append(tn.layers.Dense(4, activation="softmax", kernel_initializer=make()))
    model = tn.Sequential(layers, seed=0, n_models=k)
    model.compile(tn.optimizers.SGD(LR), loss="sparse_categorical_crossentropy")
    return model


def gradient_sentence(lr, rn_std, rn_raw, he_std):
    """Step 5's first reading: how much larger He's gradients are, and whether the signal says why.

    rn_std, rn_raw, he_std: rows of the table, each with "grad_norms" (5,) and
    "activation_rms" (5,) (medians over seeds). "The signal shrinks" is said only
    when RandomNormal's hidden-layer rms falls from the 1st to the 4th layer and
    ends below He's; SGD's step is lr x gradient, so the step ratio is the gradient ratio.
    """
    ratio = he_std["grad_norms"][0] / rn_std["grad_norms"][0]
    rn_rms, he_rms = rn_std["activation_rms"], he_std["activation_rms"]
    size = (f"{ratio:.0f}x larger" if ratio >= 1 else f"{1 / ratio:.0f}x smaller")
    text = (f"With RandomNormal(0.05) every layer's kernel gradient is about "
            f"{np.median(rn_std['grad_norms']):.1e} on standardised inputs "
            f"({np.median(rn_raw['grad_norms']):.1e} on raw ones); with He it is "
            f"{np.median(he_std['grad_norms']):.1e}, {size} in the first layer. ")
    signal = (f"(rms of the hidden layers' outputs {rn_rms[0]:.1e} in the 1st to "
              f"{rn_rms[3]:.1e} in the 4th, against {he_rms[0]:.1e} to {he_rms[3]:.1e} for He)")
    step = (f"the same SGD({lr}) step is {ratio:.0f} times smaller" if ratio > 1 else
            f"the same SGD({lr}) step is not smaller than He's")
    if rn_rms[3] < rn_rms[0] and rn_rms[3] < he_rms[3]:
        return text + (f"The signal shrinks on the way forward {signal}, and a layer's kernel "
                       f"gradient is its input times the error coming back, so {step}.")
    shape = ("does not shrink on the way forward" if rn_rms[3] >= rn_rms[0] else
             "shrinks on the way forward but ends no smaller than He's")
    return text + (f"The signal {shape} {signal}, so the forward pass does not explain the "
                   f"gradient gap; {step}.")


def raw_inputs_note(input_ratio, grad_ratio):
    """The parenthesis on RandomNormal(0.05) with raw inputs: both ratios measured.

    input_ratio: std of the raw training inputs over that of the standardised
    ones; grad_ratio: the first layer's kernel gradient, raw over standardised.
    "Grows with the input" only when the two agree within a factor of 2.
    """
    text = (f"raw inputs spread {input_ratio:.0f}x wider than standardised ones, and the "
            f"first layer's gradient is {grad_ratio:.0f}x as large")
    if 0.5 < grad_ratio / input_ratio < 2:
        return f"({text}: the gradient grows with the input)"
    return f"({text}: not in step with the input)"


def init_verdict(rn_ok, he_ok, k, ratio, epochs, lr):
    """The takeaway's first sentence: does the initial scale decide, within this budget?

    "Decides" only when no RandomNormal(0.05) seed and every He seed trained and
    the two counts differ beyond their Wilson 95% intervals.
    """
    budget = f"within {epochs} epochs of SGD({lr})"
    counts = f"RandomNormal(0.05) trained in {count(rn_ok, k)} seeds and He in {count(he_ok, k)}"
    if rn_ok == 0 and he_ok == k and _common.more_often(he_ok, k, rn_ok, k):
        return (f"The initial weight scale decides whether this network trains {budget}: "
                f"He's first-layer gradient is {ratio:.0f}x larger, and {counts}.")
    return f"{counts} {budget}: this run does not make the initial scale the whole story."


def leaky_sentence(leaky_ok, relu_ok, k, grad_ratio_he, epochs, lr):
    """Step 5's fourth reading: does a leak rescue the small initialisation?

    leaky_ok, relu_ok: seeds (of k) that trained with RandomNormal(0.05), LeakyReLU
    and ReLU; grad_ratio_he: He's first-layer gradient over the leaky network's.
    "Rescued" only when the leaky count is above the ReLU one beyond the intervals.
    """
    counts = (f"{count(leaky_ok, k)} seeds trained within {epochs} epochs of SGD({lr}), "
              f"against {count(relu_ok, k)} with ReLU")
    if _common.more_often(leaky_ok, k, relu_ok, k):
        return f"{counts}: the leak rescued it."
    why = (f"; its first-layer gradient is still {grad_ratio_he:.0f}x smaller than He's"
           if grad_ratio_he > 1 else "")
    return f"{counts}: the leak does not clearly change how often it trains{why}."


def input_scale_sentence(raw_ok, std_ok, k, grad_ratio, epochs, lr):
    """Step 5's fifth reading: He on raw against standardised inputs, at the same rate.

    "The rate that suits one scale is not the rate for the other" only when the
    standardised inputs trained more often beyond the Wilson 95% intervals.
    """
    text = (f"{grad_ratio:.0f}x those on standardised inputs, and {count(raw_ok, k)} seeds "
            f"trained within {epochs} epochs of SGD({lr}) (standardised: {count(std_ok, k)})")
    if _common.more_often(std_ok, k, raw_ok, k):
        return text + ": the rate that suits one input scale is not the rate for the other."
    return text + "."


def dead_units_sentence(leaky_ok, he_ok, he_dead_init, k, epochs, lr):
    """The takeaway's second sentence: are dead units the cause, within this budget?

    leaky_ok: seeds (of k) where LeakyReLU (no unit can die) trained from
    RandomNormal(0.05); he_ok: seeds where ReLU with He trained, starting with a
    he_dead_init share of dead units. A verdict only where the two counts differ
    beyond their Wilson 95% intervals.
    """
    budget = f"within {epochs} epochs of SGD({lr})"
    counts = (f"He's start, with {he_dead_init:.0%} of its units dead at initialisation, trains in "
              f"{count(he_ok, k)} seeds, and a leaky ReLU (no unit can die) with the small "
              f"initialisation in {count(leaky_ok, k)}")
    if not _common.more_often(he_ok, k, leaky_ok, k):
        return (f"This run cannot tell whether dead units matter {budget}: {counts}, and the "
                "two counts are not apart beyond their 95% intervals.")
    if leaky_ok == 0 and he_ok == k:
        return f"Dead units are not the cause {budget}: {counts}."
    return f"Dead units are at most a small part of it {budget}: {counts}."


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the post's data: 1000 points in four blobs, the last 20% held
# 2. before any update, who is dead, and how large is
# 3. train as the post did, then look again
# 4. the table
# 5. what the numbers say
# 6. figures

# %%
def main(out_dir="outputs/12_dead_relus_and_init", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    k = 4 if quick else 8
    epochs = 30 if quick else 200

    # --- Step 1: the post's data: 1000 points in four blobs, the last 20% held
    # out for validation; the scaler learns from the first 80% only.
    x, y = tn.datasets.make_blobs(1000, CENTERS, cluster_std=2.0, seed=0)
    n_train = 800
    inputs = {"raw": x, "standardised": tn.data.StandardScaler().fit(x[:n_train]).transform(x)}
    x_val, y_val = None, y[n_train:]
    input_ratio = float(x[:n_train].std() / inputs["standardised"][:n_train].std())
    print(f"four blobs, {n_train} training and {len(y_val)} validation points; raw inputs have "
          f"std {x[:n_train].std():.1f}, standardised 1.0; {k} seeds per set-up, SGD({LR}), "
          f"{epochs} epochs")

    rows = []
    for init in INITS:
        for activation in ACTIVATIONS:
            for scaling, data in inputs.items():
                model = build(k, init, activation)
                xt, yt = data[:n_train], y[:n_train]
                x_val = data[n_train:]
                # --- Step 2: before any update, who is dead, and how large is
                # the gradient each layer's kernel receives?
                dead0 = tn.diagnostics.dead_relu_fraction(model, xt)["dead"]  # (K, 4)
                norms = tn.diagnostics.layer_gradient_norms(model, xt, yt)
                grads = norms["kernel_grad"]  # (K, 5): ||dL/dW|| per Dense layer
                # --- Step 3: train as the post did, then look again.
                h = model.fit(xt, yt, epochs=epochs, batch_size=64,
                              validation_data=(x_val, y_val), verbose=0)
                dead1 = tn.diagnostics.dead_relu_fraction(model, xt)["dead"]
                val_acc = np.asarray(h.history["val_accuracy"][-1]).reshape(k)
                rows.append({
                    "init": init, "activation": activation, "scaling": scaling,
                    "dead_init": dead0.mean(axis=0), "dead_trained": dead1.mean(axis=0),
                    "dead_init_all": float(dead0.mean()), "dead_trained_all": float(dead1.mean()),
                    "grad_norms": np.median(grads, axis=0), "val_acc": val_acc,
                    "activation_rms": np.median(norms["activation_rms"], axis=0),
                    "trained_ok": int(np.sum(val_acc >= 0.9)),
                })

    # --- Step 4: the table. Dead shares are averaged over seeds, per hidden
    # layer (1..4); the gradient norm is ||dL/dW|| of the first and the last
    # kernel (median over seeds); "trained" counts seeds at >= 90% val accuracy.
    print(f"\n{'init':19s} {'act':10s} {'inputs':12s} {'dead at init':>22s}  "
          f"{'dead after training':>22s}  {'|grad W1|':>9s} {'|grad W5|':>9s}  trained")
    for r in rows:
        print(f"{r['init']:19s} {r['activation']:10s} {r['scaling']:12s} "
              f"{' '.join(f'{d:.2f}' for d in r['dead_init']):>22s}  "
              f"{' '.join(f'{d:.2f}' for d in r['dead_trained']):>22s}  "
              f"{r['grad_norms'][0]:9.2e} {r['grad_norms'][-1]:9.2e}  {count(r['trained_ok'], k)}")
    print(f"(trained: seeds at >= 90% validation accuracy after {epochs} epochs, with the Wilson "
          "95% interval)")

    # --- Step 5: what the numbers say. Three comparisons, each read off the
    # table above.
    def row(init, activation, scaling):
        return next(r for r in rows if (r["init"], r["activation"], r["scaling"])
                    == (init, activation, scaling))

    rn_raw, rn_std = row("RandomNormal(0.05)", "relu", "raw"), row("RandomNormal(0.05)", "relu",
                                                                     "standardised")
    he_std, gl_std = row("He", "relu", "standardised"), row("Glorot", "relu", "standardised")
    ratio = he_std["grad_norms"][0] / rn_std["grad_norms"][0]
    print("\n1. Gradient size. " + gradient_sentence(LR, rn_std, rn_raw, he_std))
    diffs = [np.max(np.abs(row(i, a, "raw")["dead_init"] - row(i, a, "standardised")["dead_init"]))
             for i in INITS for a in ACTIVATIONS]
    print(f"2. Dead units at initialisation: {rn_std['dead_init_all']:.0%} of hidden units for "
          f"RandomNormal(0.05), {gl_std['dead_init_all']:.0%} for Glorot, "
          f"{he_std['dead_init_all']:.0%} for He (ReLU, mean of layers and seeds). Raw and "
          f"standardised inputs give the same per-layer shares in "
          f"{sum(d == 0 for d in diffs)} of {len(diffs)} set-ups (largest difference "
          f"{max(diffs):.2f}): the biases start at zero, so rescaling the input rescales every "
          "pre-activation without flipping its sign; only the small shift of the mean can.")
    print(f"3. After {epochs} epochs, RandomNormal(0.05) on standardised inputs: "
          f"{count(rn_std['trained_ok'], k)} seeds trained, and its last hidden layer went from "
          f"{rn_std['dead_init'][-1]:.0%} dead to {rn_std['dead_trained'][-1]:.0%} "
          f"({rn_std['dead_trained_all']:.0%} of all hidden units). He on standardised inputs: "
          f"{count(he_std['trained_ok'], k)} trained, {he_std['dead_trained_all']:.0%} dead. "
          f"RandomNormal(0.05) on raw inputs: {count(rn_raw['trained_ok'], k)} trained, "
          f"{rn_raw['dead_trained_all']:.0%} dead "
          + raw_inputs_note(input_ratio, rn_raw["grad_norms"][0] / rn_std["grad_norms"][0])
          + ".")
    leaky_std = row("RandomNormal(0.05)", "leaky_relu", "standardised")
    print("4. LeakyReLU with RandomNormal(0.05), standardised: "
          + leaky_sentence(leaky_std["trained_ok"], rn_std["trained_ok"], k,
                           he_std["grad_norms"][0] / leaky_std["grad_norms"][0], epochs, LR))
    he_raw = row("He", "relu", "raw")
    print(f"5. He on raw inputs: gradients {he_raw['grad_norms'][0]:.1e} in the first layer, "
          + input_scale_sentence(he_raw["trained_ok"], he_std["trained_ok"], k,
                                 he_raw["grad_norms"][0] / he_std["grad_norms"][0], epochs, LR))

    # --- Step 6: figures.
    labels = [f"{r['init']}, {'leaky' if r['activation'] == 'leaky_relu' else 'relu'}, "
              f"{'raw' if r['scaling'] == 'raw' else 'std'}" for r in rows]
    fig, (ax0, ax1) = _common.figure(1, 2, size=(5.0, 6.0))
    for ax, key, title in ((ax0, "dead_init", "dead share at initialisation"),
                           (ax1, "dead_trained", f"dead share after {epochs} epochs")):
        grid = np.array([r[key] for r in rows])
        ax.imshow(grid, cmap="Reds", vmin=0.0, vmax=1.0, aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(4))
        ax.set_xticklabels([f"layer {j + 1}" for j in range(4)])
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(labels if ax is ax0 else [], fontsize=7)
        ax.set_title(title)
    figures = [_common.save(fig, out, "dead_units.png")]

    fig2, (ax2, ax3) = _common.figure(1, 2, size=(5.6, 4.2))
    for r in rows:
        style = "-" if r["activation"] == "relu" else "--"
        color = f"C{list(INITS).index(r['init'])}"
        marker = "o" if r["scaling"] == "raw" else "s"
        ax2.semilogy(range(1, 6), r["grad_norms"], style, marker=marker, color=color, ms=4,
                     label=f"{r['init']}, {r['activation']}, {r['scaling']}")
    ax2.set_xlabel("layer (5 = softmax output)")
    ax2.set_ylabel("||dL/dW|| at initialisation (median of seeds)")
    ax2.set_title("gradient size per layer before training")
    ax2.legend(fontsize=6, loc="center", ncol=2)  # the empty band between 1e-3 and 1e-1
    for i, r in enumerate(rows):
        ax3.plot(r["val_acc"], np.full(k, i), "o", color="C2" if r["trained_ok"] == k else "C3",
                 ms=4, alpha=0.7)
    ax3.set_yticks(range(len(rows)))
    ax3.set_yticklabels(labels, fontsize=7)
    ax3.set_xlabel(f"validation accuracy after {epochs} epochs (dots: seeds)")
    ax3.set_title("who trains")
    figures.append(_common.save(fig2, out, "gradients_and_accuracy.png"))

    # --- Step 7: the takeaway.
    sentences = [init_verdict(rn_std["trained_ok"], he_std["trained_ok"], k, ratio, epochs, LR),
                 dead_units_sentence(leaky_std["trained_ok"], he_std["trained_ok"],
                                     he_std["dead_init_all"], k, epochs, LR)]
    _common.takeaway(sentences, stats=(
        f"seeds that trained within {epochs} epochs, standardised inputs: RandomNormal(0.05) "
        f"{count(rn_std['trained_ok'], k)}, He {count(he_std['trained_ok'], k)}, "
        f"leaky ReLU + RandomNormal(0.05) {count(leaky_std['trained_ok'], k)}"))

    def plain(r):
        return {key: (v.tolist() if isinstance(v, np.ndarray) else v) for key, v in r.items()}

    return {
        "rows": [plain(r) for r in rows],
        "rn_std_dead_trained": rn_std["dead_trained_all"],
        "rn_raw_dead_trained": rn_raw["dead_trained_all"],
        "he_std_dead_trained": he_std["dead_trained_all"],
        "rn_std_trained_ok": rn_std["trained_ok"],
        "he_std_trained_ok": he_std["trained_ok"],
        "grad_ratio_he_over_rn": float(ratio),
        "rn_std_grad_median": float(np.median(rn_std["grad_norms"])),
        "he_std_grad_median": float(np.median(he_std["grad_norms"])),
        "dead_init_max_diff_raw_std": float(max(diffs)),
        "he_raw_trained_ok": he_raw["trained_ok"],
        "seeds": k,
        "figures": figures,
    }


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/12_dead_relus_and_init.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
