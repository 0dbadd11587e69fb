# %% [markdown]
# # Lesson 11: scaling inputs and targets, without leaking the test set.
#
# Question: a regression target in the thousands, inputs in units that differ
# by a factor of 100: what does scaling them (or not) do to training with MSE,
# and what goes wrong when the scaler is fitted on all the data, test set
# included?
#
# The data are synthetic so that we know the truth: three measurements in very
# different units (x1 in ones, x2 in tens, x3 in hundreds) and a target around
# 3000 that depends on all three, plus noise of standard deviation 100 (the best
# test RMSE any model can reach). The network is 3 -> 32 tanh -> 32 tanh -> 1,
# trained with Adam(1e-3) on MSE; eight seeds train at once. Rows of separate
# measurements like these (tabular data) are what a stack of Dense layers, a
# multi-layer perceptron, is the usual first choice for: it assumes no order
# or neighbourhood among the inputs (images get convolutional networks for
# theirs; see lesson 22).
#
# What you will see:
# - test RMSE (in the target's own units) with raw inputs and targets, scaled
#   inputs only, scaled targets only, and both scaled (predictions mapped back
#   with inverse_transform): with Adam(1e-3) and 100 epochs the unscaled target
#   is the one that hurts (scaling the inputs alone changes nothing);
# - why, in learning-rate terms: a sweep of plain SGD rates with scaled and
#   raw targets, and which rates get within 3x of the noise floor;
# - the numbers themselves: the same targets in units 1e17 times smaller
#   (around 3e20) in float32, where the squared error no longer fits and the
#   loss turns inf, and targets around 3e-23, where it underflows to 0; both
#   scaled, which puts them back in range;
# - leakage: the same pipeline with the scalers fitted on train + test. On a
#   test set drawn like the training set the leak changes the test RMSE by less
#   than the spread over seeds. On a test set from a shifted distribution (later
#   data, larger x1) it changes it a lot, and which way depends on the model.
#   The run prints how the leaked number compares with the honest pipeline's
#   (the one you could actually have built before the test data existed) for a
#   tanh and a ReLU network, seed by seed, and leaks each scaler alone to show
#   where the change comes from. Where the seeds cannot separate two numbers
#   (the quick run has fewer seeds and epochs) it says so.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 11: scaling inputs and targets, without leaking the test set.

Run:   python lessons/11_scaling_and_leakage.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 4 seconds on a 2-core CPU (--quick: about 2).
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
UNITS = np.array([1.0, 10.0, 100.0])  # the three inputs' units differ 100-fold
NOISE = 100.0


def make_data(n, rng, shift=0.0):
    """x (n, 3) in mixed units and y (n,) around 3000; shift moves x1 (the main driver)."""
    z = rng.normal(size=(n, 3))
    if shift:
        z[:, 0] = 0.5 * z[:, 0] + shift  # later data: larger x1, narrower spread
    y = 3000 + 1000 * z[:, 0] + 300 * np.sin(2 * z[:, 1]) + 200 * z[:, 2]
    return z * UNITS, y + rng.normal(0.0, NOISE, n)


def build(k, activation="tanh", optimizer=None):
    model = tn.Sequential([
        tn.layers.Dense(32, activation=activation, input_dim=3),
        tn.layers.Dense(32, activation=activation),
        tn.layers.Dense(1),
    ], seed=0, n_models=k)
    model.compile(optimizer or tn.optimizers.Adam(1e-3), loss="mse")
    return model


def train_and_test(model, x_train, y_train, x_test, y_test, x_scaler, y_scaler, epochs,
                   **fit_args):
    """Fit on (possibly) scaled data; test RMSE per copy in the target's own units,
    the predictions (K, N) in those units, and the History."""
    xs = x_scaler.transform(x_train) if x_scaler else x_train
    ys = y_scaler.transform(y_train[:, None]) if y_scaler else y_train[:, None]
    history = model.fit(xs, ys, epochs=epochs, batch_size=32, verbose=0, **fit_args)
    pred = model.predict(x_scaler.transform(x_test) if x_scaler else x_test)
    pred = pred.reshape(model.n_models, -1, 1)
    if y_scaler:  # back to the target's units before measuring anything
        pred = np.stack([y_scaler.inverse_transform(p) for p in pred])
    with np.errstate(over="ignore", invalid="ignore"):
        rmse = np.sqrt(np.mean((pred[..., 0] - y_test) ** 2, axis=1))
    return np.where(np.isfinite(rmse), rmse, np.inf), pred[..., 0], history





BIG, TINY = 1e17, 1e-26  # the target in other units: around 3e20 and 3e-23


def float32_limits(xs, y, y_scaler, epochs=3):
    """Step 3: the targets times BIG and times TINY, raw and scaled, in the current dtype.

    xs: the scaled training inputs; y: the training targets; y_scaler: the one
    fitted on y. Big: the loss and the first layer's gradient norm of a new
    network, then ``epochs`` epochs of Adam(1e-3), raw and scaled. Tiny: the MSE
    of predictions 10% above the targets, in the dtype and in float64, raw and
    scaled (no training: the loss itself is the question).
    """
    dtype = tn.get_dtype()
    big = (y * BIG)[:, None]
    model = build(1)
    with np.errstate(all="ignore"):
        start = tn.diagnostics.layer_gradient_norms(model, xs, big)
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True):
        warnings.simplefilter("always", tn.DivergenceWarning)  # the inf is the point
        history = model.fit(xs, big, epochs=epochs, batch_size=32, verbose=0)
    big_sc = tn.data.StandardScaler().fit(big)
    scaled = build(1).fit(xs, big_sc.transform(big), epochs=epochs, batch_size=32, verbose=0)
    tiny = (y * TINY)[:, None]
    tiny_sc = tn.data.StandardScaler().fit(tiny)
    mse = tn.losses.MeanSquaredError()

    def loss_10_percent_off(t):
        """MSE of predictions 10% above t: in the dtype, and exactly (float64)."""
        t32 = np.asarray(t, dtype=dtype)
        exact = float(np.mean((0.1 * np.asarray(t, np.float64)) ** 2))
        return float(mse.value(t32, t32 * np.asarray(1.1, dtype=dtype))), exact

    t = tiny_sc.transform(tiny)
    tiny_raw, tiny_exact = loss_10_percent_off(tiny)
    tiny_scaled = (float(mse.value(np.asarray(t, dtype=dtype),
                                   np.asarray(tiny_sc.transform(1.1 * tiny), dtype=dtype))),
                   float(np.mean((tiny_sc.transform(1.1 * tiny) - t) ** 2)))
    out = {"dtype": dtype, "largest": float(np.finfo(dtype).max),
           "smallest": float(np.finfo(dtype).smallest_subnormal),
           "big_target": float(np.mean(big)), "big_start_loss": float(start["loss"]),
           # does one squared target (about one squared error at the start) pass the
           # largest number, or only a sum of them?
           "big_square_overflows": bool(float(np.max(np.abs(big))) ** 2
                                        > float(np.finfo(dtype).max)),
           "big_start_grad": float(np.asarray(start["kernel_grad"]).reshape(-1)[0]),
           "big_loss_finite": bool(np.all(np.isfinite(history.history["loss"]))),
           "big_grad_finite": bool(np.all(np.isfinite(start["kernel_grad"]))),
           "big_epochs_run": len(history.history["loss"]),
           "big_weights_finite": all(bool(np.all(np.isfinite(w))) for w in model.get_weights()),
           "big_scaled_loss": [float(v) for v in scaled.history["loss"]],
           "big_scaled_finite": bool(np.all(np.isfinite(scaled.history["loss"]))),
           "same_as_scaled_y": float(np.max(np.abs(big_sc.transform(big)
                                                   - y_scaler.transform(y[:, None])))),
           "tiny_target": float(np.mean(tiny)), "tiny_loss": tiny_raw, "tiny_exact": tiny_exact,
           "tiny_scaled_loss": tiny_scaled[0], "tiny_scaled_exact": tiny_scaled[1]}
    out["sentences"] = numeric_sentences(out, epochs)
    return out


def numeric_sentences(n, epochs):
    """Step 3's words, chosen by what overflowed and what underflowed."""
    big = f"With the targets near {n['big_target']:.0e} (mean), the {n['dtype']} loss "
    if not n["big_loss_finite"] and n["big_grad_finite"]:
        big += ("is inf: " + ("a squared error that large passes" if n["big_square_overflows"]
                              else "each squared error fits, but their sum over a batch passes")
                + f" {n['largest']:.1e}, the largest "
                f"{n['dtype']} number, while the gradient is still finite (first layer: norm "
                f"{n['big_start_grad']:.0e}); fit stops the run in epoch {n['big_epochs_run']} "
                "on the inf loss" + (", its weights still finite." if n["big_weights_finite"]
                                     else ", its weights no longer finite."))
    elif not n["big_loss_finite"]:
        big += "is inf, and so is the gradient: nothing in this run can be trusted."
    else:
        big += (f"stays finite over {epochs} epochs (largest {n['dtype']} number "
                f"{n['largest']:.1e}): no overflow here.")
    scaled = ("Scaled, the same targets train: loss "
              + " -> ".join(f"{v:.3f}" for v in n["big_scaled_loss"])
              + f" over {epochs} epochs" if n["big_scaled_finite"] else
              "Scaled, the same targets still give a non-finite loss")
    scaled += (f"; the scaler divides the units out, so the network sees the numbers of the "
               f"scaled target above (they differ by at most {n['same_as_scaled_y']:.0e}).")
    tiny = (f"At the other end, targets near {n['tiny_target']:.0e} and predictions 10% above "
            f"them give a {n['dtype']} loss of ")
    if n["tiny_loss"] == 0.0 and n["tiny_exact"] > 0.0:
        tiny += (f"exactly 0 (the true value, {n['tiny_exact']:.1e}, is below the smallest "
                 f"{n['dtype']} number, {n['smallest']:.1e}): the loss underflows and calls "
                 "the predictions perfect.")
    elif abs(n["tiny_loss"] / n["tiny_exact"] - 1) > 1e-3:
        tiny += (f"{n['tiny_loss']:.2e} against the true {n['tiny_exact']:.2e}: so close to "
                 "the smallest number that most of its digits are lost.")
    else:
        tiny += f"{n['tiny_loss']:.2e}, as it should be: no underflow here."
    tiny += (f" Scaled, the same predictions give {n['tiny_scaled_loss']:.4f} "
             f"(exactly: {n['tiny_scaled_exact']:.4f}).")
    return [big, scaled, tiny]


def share(hits, n):
    """'h of n seeds (95% interval lo-hi%)': a count with its Wilson interval."""
    lo, hi = tn.metrics.wilson_interval(int(hits), int(n))
    return f"{int(hits)} of {n} seeds (95% interval {100 * lo:.0f}-{100 * hi:.0f}%)"


def compare(new, base, what):
    """One sentence on whether ``what`` moves the test RMSE (per seed: new against
    base, the same initialisations) by more than the spread over seeds."""
    change = np.median(new) / np.median(base) - 1
    lower = share(int(np.sum(new < base)), len(new))
    if np.max(new) < np.min(base) or np.min(new) > np.max(base):
        return (f"{what} moves the median test RMSE by {change:+.0%}, more than the spread "
                f"over seeds (no seed overlaps: {np.min(base):.0f}..{np.max(base):.0f} -> "
                f"{np.min(new):.0f}..{np.max(new):.0f}); lower in {lower}.")
    return (f"{what} moves the median test RMSE by {change:+.1%}, within the spread over "
            f"seeds ({np.min(base):.0f}..{np.max(base):.0f} -> {np.min(new):.0f}.."
            f"{np.max(new):.0f}): this run cannot tell it from noise (lower in {lower}).")


def scalers(*parts):
    """An x scaler and a y scaler fitted on the rows of ``parts`` (x, y pairs)."""
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return tn.data.StandardScaler().fit(x), tn.data.StandardScaler().fit(y[:, None])


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. scale nothing, the inputs, or both
# 2. why, in learning-rate terms
# 3. the numbers themselves: float32 overflow and underflow
# 4. the leak
# 5. the direction of the change depends on the model
# 6. figures

# %%
def main(out_dir="outputs/11_scaling_and_leakage", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    k = 4 if quick else 8
    epochs = 25 if quick else 100
    rng = np.random.default_rng(0)
    x_train, y_train = make_data(300, rng)
    x_test, y_test = make_data(300, rng)  # same distribution as training
    x_new, y_new = make_data(300, rng, shift=2.5)  # later data: shifted
    print(f"training targets: mean {y_train.mean():.0f}, std {y_train.std():.0f}; input stds "
          f"{np.round(x_train.std(axis=0), 1).tolist()}; noise floor RMSE {NOISE:.0f}")

    # --- Step 1: scale nothing, the inputs, or both. The scalers learn their
    # means and variances from the training rows only, and the same fitted
    # scalers are then applied to the test rows.
    x_sc, y_sc = scalers((x_train, y_train))
    variants = {"raw x, raw y": (None, None), "scaled x, raw y": (x_sc, None),
                "raw x, scaled y": (None, y_sc), "scaled x, scaled y": (x_sc, y_sc)}
    part_a = {}
    print(f"\nTest RMSE after {epochs} epochs of Adam(1e-3), {k} seeds (median, range):")
    for name, (sx, sy) in variants.items():
        rmse, pred, _ = train_and_test(build(k), x_train, y_train, x_test, y_test, sx, sy,
                                       epochs)
        part_a[name] = rmse
        print(f"  {name:20s} {np.median(rmse):8.0f}  ({rmse.min():.0f}..{rmse.max():.0f}); "
              f"mean prediction {pred.mean():.0f} (target mean {y_test.mean():.0f})")
    print(f"  -> scaling the target cuts the test RMSE "
          f"{np.median(part_a['scaled x, raw y']) / np.median(part_a['scaled x, scaled y']):.1f}x"
          " (scaled x in both); " + compare(part_a["scaled x, scaled y"],
                                             part_a["raw x, scaled y"],
                                             "scaling x on top of a scaled y"))

    # --- Step 2: in learning-rate terms. With MSE the gradient is proportional
    # to the error, which is in the thousands for a raw target, so the rates
    # that are stable and the rates that get anywhere need not overlap. The
    # same network trained with plain SGD over a grid of rates, one stacked
    # copy per rate, shows which rates work for each target scale:
    rates = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1] if quick else [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 3e-2,
                                                          1e-1, 3e-1]
    sweep = {}
    for name, sy in (("raw y", None), ("scaled y", y_sc)):
        model = build(len(rates), optimizer=tn.optimizers.SGD(rates))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", tn.DivergenceWarning)  # some rates should fail
            # only a loss that became NaN/inf counts as diverged (fit trains on otherwise)
            rmse, _, h = train_and_test(model, x_train, y_train, x_test, y_test, x_sc, sy,
                                        epochs)
        rmse = np.where(h.diverged, np.inf, rmse)
        sweep[name] = rmse
        good = [r for r, e in zip(rates, rmse, strict=True) if e < 3 * NOISE]
        print(f"  SGD, {name:8s}: test RMSE by rate "
              + ", ".join(f"{r:g}: {'diverged' if not np.isfinite(e) else f'{e:.0f}'}"
                          for r, e in zip(rates, rmse, strict=True))
              + f"; rates within 3x the noise floor: {good if good else 'none'}")

    # --- Step 3: the numbers themselves. tinynet computes in float32 (by default),
    # whose largest number is about 3.4e38 and whose smallest is about 1.4e-45. The
    # same targets in units 1e17 times smaller (around 3e20) have squared errors
    # beyond the largest, and targets around 3e-23 have squared errors below the
    # smallest; the scaler divides the units out before any of that is computed.
    numeric = float32_limits(x_sc.transform(x_train), y_train, y_sc)
    for sentence in numeric["sentences"]:
        print("  " + sentence)

    # --- Step 4: the leak. Fit the scalers on train + test together, then
    # train and test exactly as before. First with a test set drawn like the
    # training set, then with one from later, shifted data. On the shifted set
    # also leak one scaler at a time, to see which leak moves the number.
    part_b = {}
    for label, (xt, yt) in (("same distribution", (x_test, y_test)),
                            ("shifted test set", (x_new, y_new))):
        honest = scalers((x_train, y_train))
        leaky = scalers((x_train, y_train), (xt, yt))
        cases = {"honest": honest, "leaky": leaky}
        if label == "shifted test set":
            cases["leak x only"] = (leaky[0], honest[1])
            cases["leak y only"] = (honest[0], leaky[1])
        res = {"y": yt,
               "x1_honest": float(np.mean(honest[0].transform(xt)[:, 0])),
               "x1_leaky": float(np.mean(leaky[0].transform(xt)[:, 0]))}
        print(f"\n{label}: test target mean {yt.mean():.0f} (train {y_train.mean():.0f})")
        for case, (sx, sy) in cases.items():
            rmse, pred, _ = train_and_test(build(k), x_train, y_train, xt, yt, sx, sy, epochs)
            res[case], res[f"pred_{case}"] = rmse, pred
            res[f"bias_{case}"] = float(np.mean(pred - yt))
            print(f"  {case:12s} scalers: test RMSE {np.median(rmse):5.0f} ({rmse.min():.0f}.."
                  f"{rmse.max():.0f}), mean error {res[f'bias_{case}']:+.0f}")
        for case in list(cases)[1:]:
            print("  " + compare(res[case], res["honest"], f"'{case}'"))
        part_b[label] = res
    s = part_b["shifted test set"]
    optimism = 1 - np.median(s["leaky"]) / np.median(s["honest"])
    gain = {case: float(np.median(s["honest"]) - np.median(s[case]))
            for case in ("leaky", "leak x only", "leak y only")}
    print(f"  -> tanh network, shifted data: the leaked estimate is {abs(optimism):.0%} "
          + ("below" if optimism > 0 else "above")
          + " the error of the model you could have built without the test set.")
    y_only, x_only = s["leak y only"], s["leak x only"]
    if np.max(y_only) < np.min(x_only) and gain["leaky"] > 0:
        print(f"  Most of that comes from the target scaler: leaking it alone lowers the median "
              f"RMSE by {gain['leak y only']:.0f} of the {gain['leaky']:.0f}, leaking the input "
              f"scaler alone by {gain['leak x only']:.0f}. The target scaler fitted on train + "
              f"test knows the test targets' mean ({y_new.mean():.0f}, against "
              f"{y_train.mean():.0f} in training) and spread, which the honest one cannot. The "
              f"input leak moves the test inputs' mean x1 from {s['x1_honest']:.2f} standard "
              f"units (the 95th percentile of training is "
              f"{np.percentile(x_sc.transform(x_train)[:, 0], 95):.2f}) to {s['x1_leaky']:.2f}.")
    else:
        print(f"  Leaking one scaler at a time: the target scaler alone moves the median RMSE "
              f"by {-gain['leak y only']:+.0f}, the input scaler alone by "
              f"{-gain['leak x only']:+.0f}, both by {-gain['leaky']:+.0f}. The seeds of the "
              "two single leaks overlap, so this run cannot tell which scaler's leak matters "
              "more.")

    # --- Step 5: the direction of the change depends on the model. The same
    # comparison with ReLU units, which extrapolate linearly instead of
    # saturating.
    r_h, _, _ = train_and_test(build(k, "relu"), x_train, y_train, x_new, y_new,
                               *scalers((x_train, y_train)), epochs)
    r_l, _, _ = train_and_test(build(k, "relu"), x_train, y_train, x_new, y_new,
                               *scalers((x_train, y_train), (x_new, y_new)), epochs)
    print(f"  ReLU network, shifted test set: honest {np.median(r_h):.0f} ({r_h.min():.0f}.."
          f"{r_h.max():.0f}), leaky {np.median(r_l):.0f} ({r_l.min():.0f}..{r_l.max():.0f}).")
    print("  " + compare(r_l, r_h, "For ReLU units the leak"))
    relu_up = np.max(r_h) < np.min(r_l)  # higher for every seed: beyond the seed spread
    tanh_down = np.max(s["leaky"]) < np.min(s["honest"])
    if relu_up and tanh_down:
        print("  So the leak does not err in one direction: here it flatters the tanh network "
              "and penalises the ReLU one. Either way the leaked number is not the error of "
              "the pipeline you could deploy.")
    else:
        print("  This run cannot say that the leak errs in different directions for the two "
              "networks (at least one change is within the spread over seeds); either way the "
              "leaked number is not the error of the pipeline you could deploy.")

    # --- Step 6: figures.
    fig, axes = _common.figure(1, 3, size=(4.4, 4.0))
    names = list(part_a)
    axes[0].bar(range(len(names)), [np.median(part_a[n]) for n in names], color="C0")
    axes[0].axhline(NOISE, color="k", ls=":", label="noise floor")
    axes[0].set_xticks(range(len(names)))
    axes[0].set_xticklabels([n.replace(", ", "\n") for n in names], fontsize=8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("test RMSE (target units)")
    axes[0].set_title("what to scale (median of seeds)")
    axes[0].legend(fontsize="small")
    for name, rmse in sweep.items():
        axes[1].plot(rates, np.where(np.isfinite(rmse), rmse, np.nan), "o-", label=name)
    axes[1].axhline(NOISE, color="k", ls=":")
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("SGD learning rate")
    axes[1].set_ylabel("test RMSE")
    axes[1].set_title("the rate that works depends on y's scale")
    axes[1].legend(fontsize="small")
    ax = axes[2]
    ax.scatter(s["y"], s["pred_honest"][0], s=6, label="honest scalers")
    ax.scatter(s["y"], s["pred_leaky"][0], s=6, label="leaky scalers")
    lo, hi = float(s["y"].min()), float(s["y"].max())
    ax.plot([lo, hi], [lo, hi], "k-", lw=1)
    ax.set_xlabel("true target (shifted test set)")
    ax.set_ylabel("prediction (seed 0)")
    ax.set_title("tanh network, shifted test set")
    ax.legend(fontsize="small")
    figures = [_common.save(fig, out, "scaling_and_leakage.png")]

    # --- Step 7: the takeaway.
    cut = np.median(part_a["scaled x, raw y"]) / np.median(part_a["scaled x, scaled y"])
    iid_h, iid_l = part_b["same distribution"]["honest"], part_b["same distribution"]["leaky"]
    iid_inside = np.min(iid_h) <= np.median(iid_l) <= np.max(iid_h)
    sentences = [f"Scale the target: with MSE a target in the thousands makes the gradients "
                 f"huge, and scaling it cuts the test error {cut:.0f}x in the same epochs"
                 + (f"; in {numeric['dtype']} a target near {numeric['big_target']:.0e} even "
                    "turns the loss inf, and scaled it trains."
                    if not numeric["big_loss_finite"] and numeric["big_scaled_finite"] else "."),
                 "Fitting the scalers on the test data too changes little when the test set is "
                 "drawn like the training set" + ("" if iid_inside else " (here: more than the "
                                                  "seed spread)")
                 + f", but on later, shifted data the tanh network's leaked error is "
                 f"{abs(optimism):.0%} {'lower' if tanh_down else 'different'} than what the "
                 "honest pipeline achieves."]
    sentences.append("And it can err either way: the same leak raises the ReLU network's error."
                     if relu_up and tanh_down else
                     "Whether the leak errs the same way for a ReLU network, this run cannot "
                     "tell from the seed spread.")
    _common.takeaway(sentences, stats=(
        f"{k} seeds; shifted data, tanh: leaked error lower in "
        f"{share(np.sum(s['leaky'] < s['honest']), k)}; ReLU: lower in "
        f"{share(np.sum(r_l < r_h), k)}"))

    return {
        "noise": NOISE,
        "rmse_raw": float(np.median(part_a["raw x, raw y"])),
        "rmse_unscaled_target": float(np.median(part_a["scaled x, raw y"])),
        "rmse_scaled_target": float(np.median(part_a["scaled x, scaled y"])),
        "sweep_rates": rates,
        "sweep_raw_y": sweep["raw y"].tolist(),
        "sweep_scaled_y": sweep["scaled y"].tolist(),
        "rmse_raw_x_scaled_y": float(np.median(part_a["raw x, scaled y"])),
        "iid_honest": float(np.median(part_b["same distribution"]["honest"])),
        "iid_honest_range": [float(np.min(part_b["same distribution"]["honest"])),
                             float(np.max(part_b["same distribution"]["honest"]))],
        "shift_leak_x_only": float(np.median(s["leak x only"])),
        "shift_leak_y_only": float(np.median(s["leak y only"])),
        "iid_leaky": float(np.median(part_b["same distribution"]["leaky"])),
        "shift_honest": float(np.median(s["honest"])),
        "shift_leaky": float(np.median(s["leaky"])),
        "shift_leaky_lower_seeds": int(np.sum(s["leaky"] < s["honest"])),
        "optimism": float(optimism),
        "mean_error_honest": s["bias_honest"],
        "mean_error_leaky": s["bias_leaky"],
        "leak_direction_differs": bool(relu_up and tanh_down),
        "target_leak_dominates": bool(np.max(y_only) < np.min(x_only)),
        "shift_leak_x_only_range": [float(np.min(x_only)), float(np.max(x_only))],
        "shift_leak_y_only_range": [float(np.min(y_only)), float(np.max(y_only))],
        "float32_limits": numeric,
        "relu_shift_honest": float(np.median(r_h)),
        "relu_shift_leaky": float(np.median(r_l)),
        "figures": figures,
    }


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/11_scaling_and_leakage.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
