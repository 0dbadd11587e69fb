# %% [markdown]
# # Lesson 16: a real data set end to end, with every tool of the previous lessons.
#
# Question: put it all together on real data. How far do a small multilayer
# perceptron and a careful choice of learning rate get on the 8x8 handwritten
# digits (1,797 images, 10 classes), measured on images it never saw?
#
# The recipe, step by step:
#   1. hold out a stratified test set (20%) and do not look at it until the end;
#   2. scale the pixels (0..16) to 0..1;
#   3. a 64 -> 256 -> 128 -> 10 ReLU network, Adam;
#   4. a learning-rate range test (tn.lr_find) on the training rows picks the rate;
#   5. a schedule: a 3-epoch linear warm-up to that rate, then cosine decay;
#   6. early stopping on the validation loss (patience 20), keeping the best weights;
#   7. the test accuracy, which classes get confused, and the misclassified images.
#
# Three initialisations train at once (a stacked model) so you can see how much
# the result depends on the seed. Their averaged predictions are scored too, and
# the lesson says whether the average beats every single model, falls below
# every one, or lands within their range (then the run cannot tell whether
# averaging helps).
#
# What you will see: the range test's suggestions, the epoch early stopping chose,
# the test accuracy per initialisation (median and range), and three figures:
# 16_lr_find.png, 16_training.png and 16_mistakes.png.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 16: a real data set end to end, with every tool of the previous lessons.

Run:  python lessons/16_digits_end_to_end.py [--quick] [--out DIR] [--backend numpy|cupy]
Time: about 3-4 s on a 2-core CPU; --quick (two initialisations, at most 30 epochs) about 2 s.
"""

import sys
import time
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402


# %%
def build(n_models):
    return tn.Sequential([
        tn.layers.Dense(256, activation="relu", input_dim=64),
        tn.layers.Dense(128, activation="relu"),
        tn.layers.Dense(10, activation="softmax"),
    ], seed=0, n_models=n_models)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. the data, with a test set put away first
# 2. scale: ink counts 0..16 -> 0..1 (a fixed rule, so nothing can leak)
#     # --- Step 3 and 4: the network, and a range test to pick its rate
# 5. the schedule
# 6. train with early stopping
# 7. the test set, once

# %%
def main(out_dir="outputs/16_digits_end_to_end", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    t0 = time.perf_counter()
    n_models, max_epochs, patience = (2, 30, 10) if quick else (3, 100, 20)
    batch_size, warmup_epochs = 32, 3

    # --- Step 1: the data, with a test set put away first -----------------------------
    # stratify keeps the ten classes in the same proportions in both parts
    x, y = tn.datasets.load_digits()
    x_train, x_test, y_train, y_test = tn.data.train_test_split(x, y, test_size=0.2, seed=0,
                                                                stratify=y)
    # --- Step 2: scale: ink counts 0..16 -> 0..1 (a fixed rule, so nothing can leak)
    x_train, x_test = x_train / 16.0, x_test / 16.0
    n_fit = int(np.ceil(0.8 * len(x_train)))  # fit's validation_split keeps the last 20%
    print(f"{len(x)} images: {n_fit} to train on, {len(x_train) - n_fit} to validate (early "
          f"stopping), {len(x_test)} to test.")

    # --- Step 3 and 4: the network, and a range test to pick its rate -----------------
    # The range test runs on the training rows only; the model comes back exactly
    # as it was, so the same initial weights are trained afterwards.
    model = build(n_models)
    model.compile(tn.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    finder = tn.lr_find(model, x_train[:n_fit], y_train[:n_fit], start_lr=1e-6, end_lr=1.0,
                        num_steps=100, batch_size=batch_size)
    lr = float(np.median(finder.suggestions["valley"]))
    print("Range test suggestions (median over initialisations): "
          + ", ".join(f"{k} {float(np.median(v)):.3g}" for k, v in finder.suggestions.items())
          + f". Using the valley: {lr:.3g}.")

    # --- Step 5: the schedule -------------------------------------------------------------
    # Warm up for 3 epochs, then a cosine decay planned for the longest run; early
    # stopping may end the run before the decay is over (Step 6 prints where).
    steps_per_epoch = int(np.ceil(n_fit / batch_size))
    schedule = tn.schedules.Warmup(
        tn.schedules.CosineDecay(lr, (max_epochs - warmup_epochs) * steps_per_epoch),
        warmup_epochs * steps_per_epoch)
    model.compile(tn.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")

    # --- Step 6: train with early stopping -------------------------------------------------
    stop = tn.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                      restore_best_weights=True)
    hist = model.fit(x_train, y_train, epochs=max_epochs, batch_size=batch_size,
                     validation_split=0.2, callbacks=[stop], verbose=0)
    best_epoch = np.atleast_1d(stop.best_epoch)
    print(f"Trained {len(hist.epoch)} epochs (at most {max_epochs}); best validation loss at "
          f"epoch {', '.join(str(e + 1) for e in best_epoch)} (per initialisation), whose "
          "weights were restored.")

    # --- Step 7: the test set, once ----------------------------------------------------------
    probs = model.predict(x_test).reshape(n_models, len(x_test), 10)
    pred = np.argmax(probs, axis=-1)
    acc = np.mean(pred == y_test, axis=-1)
    ensemble = float(np.mean(np.argmax(probs.mean(axis=0), axis=-1) == y_test))
    print(f"Test accuracy: {', '.join(f'{a:.4f}' for a in acc)} (median {np.median(acc):.4f}, "
          f"{int(round((1 - np.median(acc)) * len(x_test)))} of {len(x_test)} images wrong)"
          + (f"; the {n_models} initialisations averaged: {ensemble:.4f}" if n_models > 1
             else "") + ".")
    # does the average beat the single models by more than the spread between them?
    if n_models < 2:
        averaging = "one model"
    elif ensemble > acc.max():
        averaging = "better than every single model"
    elif ensemble < acc.min():
        averaging = "worse than every single model"
    else:
        averaging = "within the single models' range"
    if n_models > 1:
        images = int(round((ensemble - np.median(acc)) * len(x_test)))
        print(f"  The average is {averaging} ({acc.min():.4f}..{acc.max():.4f}); against the "
              f"median single model it gets {images:+d} of {len(x_test)} test images"
              + (" right: it does better than any one initialisation here." if averaging ==
                 "better than every single model" else
                 ": inside the spread over initialisations, so this run cannot tell whether "
                 "averaging helps." if averaging == "within the single models' range" else
                 "."))
    k = int(np.argsort(acc)[len(acc) // 2])  # the median initialisation, for the details
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, pred[k]), 1)
    off = confusion - np.diag(np.diag(confusion))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    per_class = np.diag(confusion) / confusion.sum(axis=1)
    print(f"Hardest class: {int(np.argmin(per_class))} ({per_class.min():.3f} right); most "
          f"frequent confusion: {_a(i)} {i} read as {_a(j)} {j} ({off[i, j]} times).")

    # --- Figures ---------------------------------------------------------------------------
    fig, ax = _common.figure(1, 1)
    finder.plot(ax=ax)
    handles, labels = ax.get_legend_handles_labels()
    keep = [n for n, lab in enumerate(labels) if "copy" not in lab or "copy 0" in lab]
    ax.legend([handles[n] for n in keep], [labels[n] for n in keep], fontsize="x-small")
    finite = finder.smoothed_losses[np.isfinite(finder.smoothed_losses)]
    ax.set_ylim(0.0, 2.0 * float(finite[0]))
    paths = [_common.save(fig, out, "16_lr_find.png")]
    fig, (ax1, ax2) = _common.figure(1, 2, size=(5.5, 4.0))
    ep = np.arange(1, len(hist.epoch) + 1)
    loss = np.array(hist.history["loss"]).reshape(len(ep), -1)
    val = np.array(hist.history["val_loss"]).reshape(len(ep), -1)
    for c in range(n_models):
        ax1.plot(ep, loss[:, c], color="C0", alpha=0.7, label="training" if c == 0 else None)
        ax1.plot(ep, val[:, c], color="C1", alpha=0.7, label="validation" if c == 0 else None)
        ax1.axvline(best_epoch[c] + 1, color="grey", linestyle=":", linewidth=1)
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.set_title("dotted: best epoch, restored")
    ax1.legend(fontsize="small")
    ax2.plot(np.arange(1, hist.steps["lr"].shape[0] + 1),
             hist.steps["lr"].reshape(hist.steps["lr"].shape[0], -1)[:, 0])
    ax2.set_xlabel("update")
    ax2.set_ylabel("learning rate")
    ax2.set_title("warm-up, then cosine decay, cut by early stopping", fontsize="medium")
    paths.append(_common.save(fig, out, "16_training.png"))
    wrong = np.flatnonzero(pred[k] != y_test)[:12]
    fig, axes = _common.figure(2, 6, size=(1.3, 1.5))
    for ax in axes.flat:
        ax.axis("off")
    for ax, n in zip(axes.flat, wrong, strict=False):
        ax.imshow(x_test[n].reshape(8, 8), cmap="gray_r")
        ax.set_title(f"{y_test[n]} read as {pred[k][n]}", fontsize="small")
    fig.suptitle(f"misclassified test images ({len(np.flatnonzero(pred[k] != y_test))} in all)")
    paths.append(_common.save(fig, out, "16_mistakes.png"))

    # --- The takeaway --------------------------------------------------------------------------
    wrong_median = int(round((1 - np.median(acc)) * len(y_test)))
    sentences = [f"A small network with a rate read off one range test ({lr:.2g}), a warm-up, a "
                 f"cosine decay and early stopping gets {np.median(acc):.1%} of the {len(y_test)} "
                 f"unseen digits right (median over initialisations, about {wrong_median} "
                 "wrong).",
                 f"Class {int(np.argmin(per_class))} is the hardest ({per_class.min():.0%} "
                 f"right), and the most frequent mistake, {_a(i)} {i} read as {_a(j)} {j}, "
                 f"happens {off[i, j]} times."]
    if n_models > 1:
        sentences.append("Averaging the initialisations "
                         + ("beats every single model." if averaging.startswith("better") else
                            "does worse than every single model." if averaging.startswith("worse")
                            else f"lands within their range: {n_models} models cannot tell "
                            "whether it helps."))
    _common.takeaway(sentences, stats=(
        f"{n_models} initialisations; test accuracy " + ", ".join(f"{a:.4f}" for a in acc)
        + (f"; averaged {ensemble:.4f}" if n_models > 1 else "")))
    print(f"Done in {time.perf_counter() - t0:.1f} s.")

    return {"learning_rate": lr,
            "suggestions": {k2: float(np.median(v)) for k2, v in finder.suggestions.items()},
            "epochs_run": len(hist.epoch), "best_epoch": (best_epoch + 1).tolist(),
            "test_accuracy": acc.tolist(), "test_accuracy_median": float(np.median(acc)),
            "ensemble_accuracy": ensemble, "averaging": averaging, "figures": paths}


def _a(digit):
    return "an" if digit == 8 else "a"


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/16_digits_end_to_end.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
