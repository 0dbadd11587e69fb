# %% [markdown]
# # Lesson 13: vanishing and exploding gradients.
#
# Question: why is a deep network harder to train than a shallow one, and what
# do the gradients of its layers look like when it fails?
#
# Back-propagation multiplies, layer after layer, by each activation's slope
# and each weight matrix. A sigmoid's slope is at most 0.25, so ten sigmoid
# layers can shrink the error signal by orders of magnitude before it reaches
# the first layer: that layer's gradient vanishes and it hardly learns. Weights
# that are too large do the opposite: the signal grows layer after layer and
# the first updates are huge. ReLU with He initialisation is built to keep the
# scale the same from layer to layer.
#
# Four 10-hidden-layer networks (width 32) on the two-moons problem, four seeds
# each, plain SGD(0.05): sigmoid (Glorot init, the Keras default), tanh (Glorot),
# ReLU (He) and ReLU with RandomNormal(stddev=0.5) kernels (too large).
#
# What you will see, measured with tn.diagnostics.layer_gradient_norms:
# - ||dL/dW|| of all 11 kernels at initialisation, on a log scale, and the ratio
#   of the first layer's to the output layer's (its range over the seeds, too);
# - that ratio against depth (2 to 10 hidden layers) for sigmoid and ReLU:
#   whether it shrinks with every added layer (the run prints both, depth by
#   depth);
# - depth removed: the same sigmoid network with 2 hidden layers, trained;
# - the same per-layer profile during training (a callback records it);
# - how far each network trains: validation accuracy and the epoch it first
#   reaches 90%, with how many seeds did (and a 95% interval for that share);
# - the too-large initialisation twice, once with the loss's two treatments of
#   probabilities: "clip" (Keras's default: clipped to [1e-7, 1 - 1e-7], no
#   gradient where the clip is active) and "exact" (the log-softmax gradient
#   p - y, as PyTorch): whether the weights move over the first updates, how
#   many seeds' loss goes inf/NaN and in which epoch, and so whether "the
#   softmax is saturated, so no gradient flows" belongs to the softmax or to the
#   clipped loss.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 13: vanishing and exploding gradients.

Run:   python lessons/13_vanishing_exploding.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 8 seconds on a 2-core CPU (--quick: about 2).
"""

import sys
import warnings
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402

# %%
WIDTH, DEPTH, LR = 32, 10, 0.05
FIRST_UPDATES = 5  # updates followed one by one at the too-large initialisation
NETWORKS = {
    "sigmoid (Glorot)": ("sigmoid", "glorot_uniform"),
    "tanh (Glorot)": ("tanh", "glorot_uniform"),
    "ReLU (He)": ("relu", "he_normal"),
    "ReLU, RandomNormal(0.5)": ("relu", "big"),
}


def build(k, activation, init, depth=DEPTH, probabilities="clip"):
    """depth hidden Dense(WIDTH) layers -> Dense(2, softmax); k seeds stacked.

    probabilities: how the cross-entropy treats the softmax's output, "clip"
    (Keras's default) or "exact" (the log-softmax gradient p - y, as PyTorch).
    """
    def kernel():
        return tn.initializers.RandomNormal(stddev=0.5) if init == "big" else init

    layers = [tn.layers.Dense(WIDTH, activation=activation, kernel_initializer=kernel(),
                              input_dim=2)]
    layers += [tn.layers.Dense(WIDTH, activation=activation, kernel_initializer=kernel())
               for _ in range(depth - 1)]
    layers.append(tn.layers.Dense(2, activation="softmax"))
    model = tn.Sequential(layers, seed=0, n_models=k)
    loss = tn.losses.SparseCategoricalCrossentropy(probabilities=probabilities)
    model.compile(tn.optimizers.SGD(LR), loss=loss)
    return model


def share(hits, n):
    """'h of n seeds (95% interval lo-hi%)': a count with its Wilson interval."""
    lo, hi = tn.metrics.wilson_interval(int(hits), int(n))
    return f"{int(hits)} of {n} seeds (95% interval {100 * lo:.0f}-{100 * hi:.0f}%)"


def median_epoch(epoch_90):
    """Median over all seeds of the epoch 90% was reached; a seed that never did counts as later.

    epoch_90: per seed, the first epoch at >= 90% validation accuracy, -1 where
    it never got there within the budget. Returns a float, inf when more than
    half the seeds never reached 90% (so the median itself is beyond the budget).
    """
    ep = np.asarray(epoch_90, float)
    return tn.metrics.run_quartiles(np.where(ep > 0, ep, np.inf), mode="min")[1]


def when_90(epoch_90, epochs):
    """The table's '90% at epoch' cell: the median over all seeds, '> epochs' if it is beyond.

    The seeds that got there are the next column's count (reached_90).
    """
    ep = np.asarray(epoch_90)
    if np.all(ep < 0):
        return "never"
    m = median_epoch(ep)
    return f"> {epochs}" if np.isinf(m) else f"{m:g}"


def reached_90(epoch_90):
    """The table's 'reached 90%' cell: 'k of n [lo%, hi%]' seeds, with the Wilson 95% interval."""
    ep = np.asarray(epoch_90)
    return _common.count(int(np.sum(ep > 0)), len(ep))


def too_large_sentence(clip_stalled, exact_blew_up, reached, k, epochs):
    """What the too-large initialisation shows, from both losses' runs and He's.

    clip_stalled: the clipped loss's kernel norm stayed within 1% over the first
    FIRST_UPDATES updates; exact_blew_up: every exact-loss seed went inf/NaN
    within ``epochs`` and its weights grew past 10x the clipped ones (or stopped
    being finite); reached: seeds at >= 90% validation accuracy within
    ``epochs``, {"clip", "exact", "He"}.
    """
    if not exact_blew_up:
        return (f"Without the clip the network did not blow up in every seed within {epochs} "
                "epochs (the count is above), so this run does not show the exact loss passing "
                "the huge gradients through.")
    blew = f"the loss goes inf/NaN within {epochs} epochs in {share(k, k)}"
    if clip_stalled:
        text = (f"With the clip the weights hardly move over the first {FIRST_UPDATES} updates "
                f"(kernel norm within 1%); without it the same gradients go through and {blew}. "
                "The 'saturated softmax that passes back no gradient' is the clipped loss's "
                "doing; ")
    else:
        text = (f"With the clip the weights still move over the first {FIRST_UPDATES} updates; "
                f"without it the gradients go through and {blew}; ")
    counts = (f"clipped {share(reached['clip'], k)}, exact {share(reached['exact'], k)}, He "
              f"{share(reached['He'], k)}")
    if reached["clip"] == 0 and reached["exact"] == 0:
        he = ("and He's does in every seed" if reached["He"] == k else
              "and neither does He's" if reached["He"] == 0 else
              "and He's does in some seeds")
        return text + (f"within {epochs} epochs neither version reaches 90% validation accuracy "
                       f"at this initialisation, {he}: {counts}.")
    return text + f"seeds at 90% validation accuracy within {epochs} epochs: {counts}."


def both_ways_sentence(latest_epoch, epochs, clip_zero_grad, clip_reached, k):
    """The takeaway's words on the too-large start, said where every exact-loss seed blew up
    and the clipped loss's weights stalled over the first updates.

    latest_epoch: the last seed's blow-up epoch; clip_zero_grad: every kernel
    gradient of the clipped run is exactly 0 after ``epochs``; clip_reached:
    clipped seeds (of k) at >= 90% validation accuracy within ``epochs``.
    """
    when = ("within the first epoch" if latest_epoch == 1 else
            f"by epoch {latest_epoch} of {epochs} at the latest")
    clip = (f"the clipped loss passes back no gradient (every kernel gradient exactly 0 after "
            f"{epochs} epochs)" if clip_zero_grad else
            f"with the clipped loss the weights hardly move over the first {FIRST_UPDATES} "
            "updates")
    fails = (f"fail both ways within {epochs} epochs" if clip_reached == 0 else
             f"go wrong both ways, though with the clip {share(clip_reached, k)} reached 90% "
             f"within {epochs} epochs")
    return (f"Weights drawn too large {fails}: {clip}, and the exact loss passes the gradients "
            f"through and blows up {when} in every seed.")


def depth_sentence(depths, sigmoid_ratios, relu_ratios):
    """Step 4's reading of the first/output ratio by depth; "shrinks" only where every step does."""
    sig, relu = list(sigmoid_ratios), list(relu_ratios)
    per_layer = (sig[-1] / sig[0]) ** (1 / (depths[-1] - depths[0]))
    if all(a > b for a, b in zip(sig, sig[1:])):
        text = (f"The sigmoid ratio shrinks at every added depth, by a factor of about "
                f"{per_layer:.2f} per added layer")
    else:
        text = (f"The sigmoid ratio does not shrink at every added depth (from {depths[0]} to "
                f"{depths[-1]} layers: a factor of {per_layer:.2f} per added layer)")
    return text + (f"; the ReLU (He) ratio stays between {min(relu):.2f} and {max(relu):.2f}.")


def first_updates(k, x, y, probabilities, n_updates=FIRST_UPDATES, batch_size=32):
    """Batch loss and total kernel norm (median over seeds) over the first updates."""
    model = build(k, "relu", "big", probabilities=probabilities)
    losses, norms = [], []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n_updates):
            batch = slice(i * batch_size, (i + 1) * batch_size)
            losses.append(float(np.median(model.train_on_batch(x[batch], y[batch]))))
            kernels = model.get_weights()[0::2]
            norms.append(float(np.median(np.sqrt(sum(
                np.sum(w.reshape(k, -1).astype(np.float64) ** 2, axis=1) for w in kernels)))))
    return losses, norms


class GradientProfile(tn.callbacks.Callback):
    """Record every layer's full-batch ||dL/dW|| (median over seeds) at chosen epochs."""

    def __init__(self, x, y, epochs):
        self.x, self.y, self.epochs = x, y, set(epochs)
        self.profiles = {}

    def on_train_begin(self):
        self.profiles["init"] = self._measure()

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 in self.epochs:
            self.profiles[f"epoch {epoch + 1}"] = self._measure()

    def _measure(self):
        g = tn.diagnostics.layer_gradient_norms(self.model, self.x, self.y)["kernel_grad"]
        return np.median(np.atleast_2d(g), axis=0)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. an easy problem, so that only depth can make it hard
# 2. gradients at initialisation, layer by layer, and training
# 3. read the profiles
# 4. the same ratio against depth, and the sigmoid network with depth removed
# 5. the too-large initialisation with the loss's clip removed
# 6. figures

# %%
def main(out_dir="outputs/13_vanishing_exploding", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    k = 2 if quick else 4
    epochs = 15 if quick else 100
    marks = [1, 5, 15] if quick else [1, 10, 100]

    # --- Step 1: an easy problem, so that only depth can make it hard.
    X, y = tn.datasets.make_moons(1000, noise=0.15, seed=0)
    X = tn.data.StandardScaler().fit(X[:800]).transform(X)
    x_train, y_train, x_val, y_val = X[:800], y[:800], X[800:], y[800:]
    print(f"two moons: {len(x_train)} training, {len(x_val)} validation points; "
          f"{DEPTH} hidden layers of {WIDTH}; SGD({LR}), batch 32, {epochs} epochs, {k} seeds")

    # --- Step 2: gradients at initialisation, layer by layer, and training.
    results = {}
    for name, (activation, init) in NETWORKS.items():
        model = build(k, activation, init)
        norms0 = tn.diagnostics.layer_gradient_norms(model, x_train, y_train)
        rms = norms0["activation_rms"]
        g_seeds = np.atleast_2d(norms0["kernel_grad"])
        with np.errstate(all="ignore"):
            ratio_seeds = g_seeds[:, 0] / g_seeds[:, -1]  # per seed; 0/0 is nan
        profile = GradientProfile(x_train, y_train, marks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tn.DivergenceWarning)  # the too-large init may
            h = model.fit(x_train, y_train, epochs=epochs, batch_size=32,
                          validation_data=(x_val, y_val), callbacks=[profile], verbose=0)
        val_acc = np.array(h.history["val_accuracy"]).reshape(-1, k)
        reach = np.where((val_acc >= 0.9).any(axis=0), (val_acc >= 0.9).argmax(axis=0) + 1, -1)
        g0 = profile.profiles["init"]
        last = list(profile.profiles.values())[-1]  # the latest epoch recorded
        dead = tn.diagnostics.dead_relu_fraction(model, x_train)["dead"]
        # the probability given to the true class; the loss clips it to [1e-7, 1 - 1e-7]
        # and passes back no gradient where the clip is active
        p_true = np.take_along_axis(model.predict(x_train).reshape(k, -1, 2),
                                    y_train[None, :, None], axis=-1)[..., 0]
        clipped = np.mean((p_true < 1e-7) | (p_true > 1 - 1e-7))
        results[name] = {
            "grad_init": g0, "profiles": profile.profiles,
            "ratio_init": float(g0[0] / g0[-1]),
            "ratio_seeds": ratio_seeds,
            "ratio_end": float(last[0] / last[-1]) if last[-1] > 0 else float("nan"),
            "activation_rms": np.median(np.atleast_2d(rms), axis=0),
            "val_acc": val_acc, "final_val_acc": float(np.median(val_acc[-1])),
            "epoch_90": reach, "diverged": int(np.sum(np.atleast_1d(h.diverged))),
            "all_zero_grad_end": bool(np.all(last == 0)),
            "dead_end": float(np.mean(dead)) if np.size(dead) else float("nan"),
            "clipped_share": float(clipped),
            "seeds_with_dead_layer": int(np.sum(np.any(np.atleast_2d(dead) >= 1.0, axis=1))),
            "final_loss": float(np.median(np.atleast_1d(h.history["loss"][-1]))),
            "reached_90": int(np.sum(reach > 0)),
        }

    # --- Step 3: read the profiles. A ratio far below 1 means the first layer
    # gets almost none of the signal the output layer gets: it vanished.
    print(f"\n{'network':26s} {'|dL/dW1|':>9s} {'|dL/dW11|':>9s} {'W1/W11':>9s} "
          f"{'rms of h10':>10s} {'val acc':>8s} {'90% at epoch':>13s}  reached 90%")
    for name, r in results.items():
        print(f"{name:26s} {r['grad_init'][0]:9.2e} {r['grad_init'][-1]:9.2e} "
              f"{r['ratio_init']:9.1e} {r['activation_rms'][DEPTH - 1]:10.2e} "
              f"{r['final_val_acc']:8.3f} {when_90(r['epoch_90'], epochs):>13s}  "
              f"{reached_90(r['epoch_90'])}")
    print(f"(90% at epoch: the median over all {k} seeds, a seed that never got there counting "
          f"as later than epoch {epochs}; reached 90%: seeds within {epochs} epochs, with the "
          "95% interval)")

    sig, relu, big = results["sigmoid (Glorot)"], results["ReLU (He)"], \
        results["ReLU, RandomNormal(0.5)"]
    sig_hi = float(np.nanmax(sig["ratio_seeds"]))
    relu_lo = float(np.nanmin(relu["ratio_seeds"]))
    print(f"\nSigmoid: the first layer's gradient is {sig['ratio_init']:.1e} times the output "
          f"layer's at initialisation (seeds {np.nanmin(sig['ratio_seeds']):.1e} to "
          f"{sig_hi:.1e}) and {sig['ratio_end']:.1e} times after {marks[-1]} epochs; "
          f"validation accuracy {sig['final_val_acc']:.3f}; reached 90%: "
          f"{share(sig['reached_90'], k)}.")
    print(f"ReLU with He: ratio {relu['ratio_init']:.2f} at initialisation (seeds "
          f"{relu_lo:.2f} to {np.nanmax(relu['ratio_seeds']):.2f}), {relu['ratio_end']:.2f} "
          f"after {marks[-1]} epochs; reached 90%: {share(relu['reached_90'], k)}"
          + (f", the median seed at epoch {median_epoch(relu['epoch_90']):g} (over all {k} "
             "seeds)." if np.isfinite(median_epoch(relu["epoch_90"])) else
             f", but the median seed had not by epoch {epochs}." if relu["reached_90"] else "."))
    if sig_hi < relu_lo:
        print(f"  Every sigmoid seed's ratio is below every ReLU seed's (by at least "
              f"{relu_lo / sig_hi:.0e}x): the gap is far larger than the spread over seeds.")
    else:
        print("  The sigmoid and ReLU ratios overlap across seeds: this run cannot tell them "
              "apart.")
    print(f"ReLU with RandomNormal(0.5): the signal explodes on the way up (rms of the 10th "
          f"hidden layer's output {big['activation_rms'][DEPTH - 1]:.3g}, He "
          f"{relu['activation_rms'][DEPTH - 1]:.3g}) and the kernel gradients are large at "
          f"initialisation ({big['grad_init'].min():.1f} to {big['grad_init'].max():.1f}, "
          f"against {relu['grad_init'].min():.2f} to {relu['grad_init'].max():.2f} for He; "
          "medians over seeds).")
    print(f"  After training with the clipped loss (Keras's default): validation accuracy "
          f"{big['final_val_acc']:.3f}, training loss {big['final_loss']:.2f}; "
          + ("every kernel gradient is exactly 0. " if big["all_zero_grad_end"] else "")
          + f"For {big['clipped_share']:.0%} of training points the probability of the true "
          "class lies beyond the loss's clip (below 1e-7 or above 1 - 1e-7), where the clipped "
          "loss passes back no gradient. Dead units: "
          f"{big['dead_end']:.0%} of hidden units; seeds with a wholly dead layer: "
          f"{share(big['seeds_with_dead_layer'], k)}.")

    # --- Step 4: the ratio against depth (no training needed), and depth
    # removed: the sigmoid network with 2 hidden layers, trained as in Step 2.
    depths = [2, 4, 6, 8, 10]
    by_depth = {}
    for name in ("sigmoid (Glorot)", "ReLU (He)"):
        activation, init = NETWORKS[name]
        ratios = []
        for d in depths:
            g = tn.diagnostics.layer_gradient_norms(build(k, activation, init, d), x_train,
                                                    y_train)["kernel_grad"]
            g = np.median(np.atleast_2d(g), axis=0)
            ratios.append(float(g[0] / g[-1]))
        by_depth[name] = ratios
        print(f"{name}: first/output gradient ratio by depth "
              + ", ".join(f"{d}: {r:.1e}" for d, r in zip(depths, ratios, strict=True)))
    sig_by_depth = by_depth["sigmoid (Glorot)"]
    shrinks = all(a > b for a, b in zip(sig_by_depth, sig_by_depth[1:]))
    print("  " + depth_sentence(depths, sig_by_depth, by_depth["ReLU (He)"]))
    shallow = build(k, "sigmoid", "glorot_uniform", depth=2)
    h2 = shallow.fit(x_train, y_train, epochs=epochs, batch_size=32,
                     validation_data=(x_val, y_val), verbose=0)
    acc2 = np.atleast_1d(h2.history["val_accuracy"][-1])
    reach2 = int(np.sum(np.max(np.reshape(h2.history["val_accuracy"], (-1, k)), axis=0) >= 0.9))
    deep_acc = sig["val_acc"][-1]
    print(f"  Depth removed: sigmoid with 2 hidden layers ends at validation accuracy "
          f"{np.min(acc2):.3f} to {np.max(acc2):.3f} over the seeds, against {np.min(deep_acc):.3f}"
          f" to {np.max(deep_acc):.3f} with {DEPTH}; reached 90%: {share(reach2, k)}.")
    if np.min(acc2) > np.max(deep_acc):
        print(f"  Every shallow seed beats every deep one: with the same units, rate and "
              f"epochs, the {DEPTH - 2} extra layers are what keeps the deep sigmoid network "
              "near chance.")
    else:
        print("  The shallow and deep seeds overlap: this run cannot blame depth alone.")

    # --- Step 5: the too-large initialisation with the clip removed. The same
    # network, seeds and batches, once with the clipped loss and once with the
    # exact one (log-softmax gradient p - y, no clip).
    updates = {mode: first_updates(k, x_train, y_train, mode) for mode in ("clip", "exact")}
    exact_model = build(k, "relu", "big", probabilities="exact")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the divergence is what we measure
        he = exact_model.fit(x_train, y_train, epochs=epochs, batch_size=32,
                             validation_data=(x_val, y_val), verbose=0)
    exact_div = np.atleast_1d(he.diverged)
    exact_epoch = np.atleast_1d(he.diverged_epoch)
    exact_acc = np.reshape(np.asarray(he.history["val_accuracy"], float), (-1, k))
    exact_reached = int(np.sum(np.any(exact_acc >= 0.9, axis=0)))
    print(f"\nRandomNormal(0.5) init, the first {FIRST_UPDATES} updates on the same batches "
          "(batch loss; total kernel norm; medians over seeds):")
    for mode, (losses, norms) in updates.items():
        print(f"  {mode:5s}: loss " + ", ".join(f"{v:.3g}" for v in losses)
              + "; kernel norm " + ", ".join(f"{v:.3g}" for v in norms))
    print(f"  Trained {epochs} epochs with the exact loss: the loss became inf/NaN in "
          f"{share(int(exact_div.sum()), k)}"
          + (f", in epoch {int(np.max(exact_epoch[exact_div]))} at the latest"
             if exact_div.any() else "") + ".")
    clip_norm, exact_norm = updates["clip"][1], updates["exact"][1]
    exact_finite = [v for v in exact_norm if np.isfinite(v)]
    exact_blew_up = bool(exact_div.all() and (
        not exact_finite or max(exact_finite) > 10 * max(clip_norm)
        or len(exact_finite) < len(exact_norm)))
    clip_stalled = max(clip_norm) < 1.01 * clip_norm[0]
    reached = {"clip": big["reached_90"], "exact": exact_reached, "He": relu["reached_90"]}
    print("  " + too_large_sentence(clip_stalled, exact_blew_up, reached, k, epochs))

    # --- Step 6: figures.
    fig, axes = _common.figure(1, 3, size=(4.6, 4.2))
    layers = np.arange(1, DEPTH + 2)
    for j, (name, r) in enumerate(results.items()):
        axes[0].semilogy(layers, np.where(r["grad_init"] > 0, r["grad_init"], np.nan), "o-",
                         color=f"C{j}", label=name)
    axes[0].set_xlabel(f"layer (1 = first, {DEPTH + 1} = output)")
    axes[0].set_ylabel("||dL/dW|| at initialisation (median of seeds)")
    axes[0].set_title("gradient size per layer")
    axes[0].legend(fontsize="small")
    for j, name in enumerate(("sigmoid (Glorot)", "ReLU (He)")):
        for i, (when, g) in enumerate(results[name]["profiles"].items()):
            axes[1].semilogy(layers, np.where(g > 0, g, np.nan), "-", marker="os"[j],
                             color=f"C{list(NETWORKS).index(name)}",
                             alpha=0.35 + 0.65 * i / 3, ms=3,
                             label=f"{name.split()[0]}, {when}")
    axes[1].set_xlabel("layer")
    axes[1].set_title("... during training")
    axes[1].legend(fontsize=6)
    for j, (name, r) in enumerate(results.items()):
        axes[2].plot(np.arange(1, len(r["val_acc"]) + 1), np.median(r["val_acc"], axis=1),
                     color=f"C{j}", label=name)
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("validation accuracy (median of seeds)")
    axes[2].set_xscale("log")
    axes[2].set_title("how far each trains")
    axes[2].legend(fontsize="small")
    figures = [_common.save(fig, out, "gradient_profiles.png")]
    fig2, ax = _common.figure(1, 1, size=(6.0, 4.0))
    for j, (name, ratios) in enumerate(by_depth.items()):
        ax.semilogy(depths, ratios, "o-", color=f"C{2 * j}", label=name)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("||dL/dW_first|| / ||dL/dW_output|| at initialisation")
    ax.set_title("the deeper the sigmoid network, the less reaches its first layer" if shrinks
                 else "first / output layer gradient ratio against depth")
    ax.legend()
    figures.append(_common.save(fig2, out, "ratio_vs_depth.png"))

    # --- Step 7: the takeaway, from the numbers above.
    sig_acc, relu_acc = np.median(sig["val_acc"][-1]), np.median(relu["val_acc"][-1])
    plain = [f"In the {DEPTH}-layer sigmoid network the first layer gets {sig['ratio_init']:.0e} "
             f"of the output layer's gradient and the network "
             + ("stays near chance" if sig_acc < 0.6 else f"reaches {sig_acc:.2f}")
             + f"; with ReLU and He's initialisation the ratio is {relu['ratio_init']:.1f} and it "
             + ("trains" if relu_acc >= 0.9 else f"reaches {relu_acc:.2f}") + "."]
    if np.min(acc2) > np.max(deep_acc):
        plain.append(f"The same sigmoid network with 2 hidden layers reaches "
                     f"{np.min(acc2):.2f}-{np.max(acc2):.2f} where the {DEPTH}-layer one stays at "
                     f"{np.min(deep_acc):.2f}-{np.max(deep_acc):.2f}: the depth is what starves "
                     "the first layers.")
    else:
        plain.append("With 2 hidden layers the sigmoid seeds overlap the deep ones: this run "
                     "cannot blame the depth alone.")
    if exact_div.all() and clip_stalled:
        plain.append(both_ways_sentence(int(np.max(exact_epoch[exact_div])), epochs,
                                        big["all_zero_grad_end"], big["reached_90"], k))
    _common.takeaway(plain, stats=(
        f"{k} seeds; reached 90%: sigmoid {share(sig['reached_90'], k)}, ReLU (He) "
        f"{share(relu['reached_90'], k)}, 2-layer sigmoid {share(reach2, k)}; exact loss "
        f"NaN/inf {share(int(exact_div.sum()), k)}"))
    if k < 3:
        print("  " + _common.too_small(k, 3, 4, "how often each set-up trains"))

    return {
        "ratio_init": {name: r["ratio_init"] for name, r in results.items()},
        "ratio_end": {name: r["ratio_end"] for name, r in results.items()},
        "final_val_acc": {name: r["final_val_acc"] for name, r in results.items()},
        "epoch_90": {name: r["epoch_90"].tolist() for name, r in results.items()},
        "grad_init": {name: r["grad_init"].tolist() for name, r in results.items()},
        "sigmoid_ratio": sig["ratio_init"],
        "relu_ratio": relu["ratio_init"],
        "big_init_dead_end": big["dead_end"],
        "big_init_seeds_with_dead_layer": big["seeds_with_dead_layer"],
        "big_init_clipped_share": big["clipped_share"],
        "ratio_by_depth": {"depths": depths, **by_depth},
        "ratio_seeds": {name: r["ratio_seeds"].tolist() for name, r in results.items()},
        "reached_90": {name: r["reached_90"] for name, r in results.items()},
        "seeds": k,
        "shallow_sigmoid_val_acc": acc2.tolist(),
        "deep_sigmoid_val_acc": np.asarray(deep_acc).tolist(),
        "exact_diverged": int(exact_div.sum()),
        "exact_diverged_epoch": exact_epoch.tolist(),
        "exact_reached_90": exact_reached,
        "first_updates": {mode: {"loss": v[0], "kernel_norm": v[1]}
                          for mode, v in updates.items()},
        "figures": figures,
    }


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/13_vanishing_exploding.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
