# %% [markdown]
# # Lesson 10: a small binary classifier, set up the way the notes recommend.
#
# Question: does the textbook recipe (Dense(5, relu) -> Dense(1, sigmoid),
# Adam at 1e-3, binary cross-entropy, batch 16, up to 500 epochs with
# EarlyStopping(patience=20, restore_best_weights=True)) work on a real data
# set, how well, how reliably across seeds, and does binary cross-entropy
# actually beat mean squared error as the loss?
#
# Data: the Wisconsin breast-cancer set shipped with tinynet (569 tumours, 30
# measurements each, malignant or benign). It is split once into training (60%),
# validation (20%, used only by early stopping) and test (20%, touched once at
# the end); the scaler is fitted on the training part alone.
#
# What you will see: for twenty seeds trained at once, where early stopping ended
# each run, test accuracy and ROC-AUC (median and range); then the same seeds,
# split and recipe with MSE as the loss, compared on the same numbers, on how
# soon validation accuracy reached 95%, and on the test log-loss. Each stacked
# copy is its own seed (its own initial weights and batch order); every BCE/MSE
# verdict first checks that the seed-by-seed difference is larger than its
# spread over seeds, and says "cannot tell" otherwise.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 10: a small binary classifier, set up the way the notes recommend.

Run:   python lessons/10_binary_classifier.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 8 seconds on a 2-core CPU (--quick: about 1).
"""

import sys
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import clear, count  # noqa: E402


# %%
def build(k, n_features, loss):
    """The recipe: 5 ReLU units, one sigmoid output, Adam(1e-3); k seeds stacked."""
    model = tn.Sequential([
        tn.layers.Dense(5, activation="relu", input_dim=n_features),
        tn.layers.Dense(1, activation="sigmoid"),
    ], seed=0, n_models=k)
    model.compile(tn.optimizers.Adam(learning_rate=1e-3), loss=loss, metrics=("binary_accuracy",))
    return model


# two-sided 95% points of Student's t for n - 1 = 1, 2, ... degrees of freedom


def first_epoch_at(values, level):
    """Per column, the first epoch whose value reaches ``level`` (-1 if never)."""
    hit = values >= level
    return np.where(hit.any(axis=0), hit.argmax(axis=0), -1)


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. split first, then scale
# 2. train the recipe; each stacked copy stops on its own
# 3. the test set, once, with the restored best weights
# 4. BCE against MSE, seed by seed
# 5. figures

# %%
def main(out_dir="outputs/10_binary_classifier", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    k = 4 if quick else 20
    max_epochs = 60 if quick else 500
    patience = 10 if quick else 20

    # --- Step 1: split first, then scale. The test part is set aside before
    # anything is learned from the data, the scaler included: its means and
    # variances come from the training rows only.
    X, y = tn.datasets.load_breast_cancer()
    x_rest, x_test, y_rest, y_test = tn.data.train_test_split(X, y, test_size=0.2, seed=0,
                                                              stratify=y)
    x_train, x_val, y_train, y_val = tn.data.train_test_split(x_rest, y_rest, test_size=0.25,
                                                              seed=1, stratify=y_rest)
    scaler = tn.data.StandardScaler().fit(x_train)
    x_train, x_val, x_test = (scaler.transform(a) for a in (x_train, x_val, x_test))
    print(f"breast cancer: {len(X)} tumours, {X.shape[1]} features; train {len(x_train)}, "
          f"validation {len(x_val)}, test {len(x_test)}; benign share in test "
          f"{y_test.mean():.2f} (a constant guess scores that accuracy)")
    print(f"{k} seeds, up to {max_epochs} epochs, EarlyStopping(patience={patience}, "
          "restore_best_weights=True) on val_loss")

    results = {}
    curves = {}
    for loss in ("binary_crossentropy", "mse"):
        # --- Step 2: train the recipe; each stacked copy stops on its own.
        model = build(k, X.shape[1], loss)
        stop = tn.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                          restore_best_weights=True)
        h = model.fit(x_train, y_train, epochs=max_epochs, batch_size=16,
                      validation_data=(x_val, y_val), callbacks=[stop], verbose=0)
        ran = len(h.epoch)
        stops = np.array(h.records["EarlyStopping"]["stop"]).reshape(ran, k)
        stopped = np.where(stops.any(axis=0), stops.argmax(axis=0), ran - 1)
        val_acc = np.array(h.history["val_binary_accuracy"]).reshape(ran, k)

        # --- Step 3: the test set, once, with the restored best weights.
        # Accuracy thresholds the probability at 0.5; ROC-AUC uses the ranking
        # alone: the chance that a random benign tumour scores above a random
        # malignant one.
        p = model.predict(x_test).reshape(k, -1)
        acc = np.mean((p > 0.5) == (y_test == 1), axis=1)
        auc = np.array([tn.metrics.roc_auc(y_test, p[j]) for j in range(k)])
        log_loss = np.array([tn.losses.BinaryCrossentropy()(y_test, p[j][:, None])
                             for j in range(k)])
        reach = first_epoch_at(val_acc, 0.95)
        results[loss] = {
            "test_accuracy": acc, "test_auc": auc, "test_log_loss": log_loss,
            "stopped_epoch": stopped, "best_epoch": np.asarray(stop.best_epoch).reshape(k),
            "epoch_val_acc_95": reach,
        }
        curves[loss] = val_acc
        name = "binary cross-entropy" if loss == "binary_crossentropy" else "mean squared error"
        reached = reach[reach >= 0]
        print(f"\n{name}: stopped after epochs {stopped.min()}..{stopped.max()} "
              f"(best epochs {results[loss]['best_epoch'].min()}.."
              f"{results[loss]['best_epoch'].max()})")
        print(f"  test accuracy median {np.median(acc):.3f} (range {acc.min():.3f}.."
              f"{acc.max():.3f}); ROC-AUC median {np.median(auc):.4f} (range {auc.min():.4f}.."
              f"{auc.max():.4f}); test log-loss median {np.median(log_loss):.3f}")
        print(f"  validation accuracy reached 95% in {count(len(reached), k)} seeds"
              + (f", at epoch {int(np.median(reached))} (median)" if len(reached) else ""))

    # --- Step 4: BCE against MSE, seed by seed. Same split, same initial
    # weights, same batches; only the loss differs. With a sigmoid output the
    # MSE gradient carries an extra factor p (1 - p), which is small exactly
    # when the network is confidently wrong, so MSE learns slowest from its
    # worst mistakes; BCE's gradient is just p - y.
    b, m = results["binary_crossentropy"], results["mse"]
    one = 1.0 / len(y_test)  # one test tumour, in accuracy
    d_acc = b["test_accuracy"] - m["test_accuracy"]
    d_auc = b["test_auc"] - m["test_auc"]
    d_ll = b["test_log_loss"] - m["test_log_loss"]
    print(f"\nBCE minus MSE, seed by seed (median): test accuracy {np.median(d_acc):+.3f} "
          f"(one test tumour is {one:.3f}; BCE ahead in {count(np.sum(d_acc > 0), k)}, tied in "
          f"{int(np.sum(d_acc == 0))}, behind in {int(np.sum(d_acc < 0))} seeds); ROC-AUC "
          f"{np.median(d_auc):+.4f}; test log-loss {np.median(d_ll):+.3f}")
    both = (b["epoch_val_acc_95"] >= 0) & (m["epoch_val_acc_95"] >= 0)
    faster = b["epoch_val_acc_95"][both] - m["epoch_val_acc_95"][both]
    if both.any():
        print(f"  epochs to 95% validation accuracy: median {np.median(faster):+.0f} for BCE "
              f"over the {int(both.sum())} seeds where both got there; best epoch "
              f"{np.median(b['best_epoch']):.0f} (BCE) vs {np.median(m['best_epoch']):.0f} (MSE)")
    # Each verdict first asks whether the seed-by-seed difference is larger than
    # its spread over seeds (copy j of both runs is seed j: same weights, batches).
    few = f" ({k} seeds: too few to be sure; the full run uses 20)" if k < 10 else ""
    c_acc, c_ll = clear(d_acc), clear(np.log(b["test_log_loss"]) - np.log(m["test_log_loss"]))
    c_speed = clear(faster) if both.sum() >= 2 else 0
    acc_word = {0: "not clearly different (within the seed-to-seed spread)",
                1: "clearly better with BCE", -1: "clearly better with MSE"}[c_acc]
    speed = {0: "which reaches 95% sooner, this run cannot tell",
             -1: "BCE clearly reached 95% sooner", 1: "MSE clearly reached 95% sooner"}[c_speed]
    ll_word = {-1: "clearly lower (BCE is the test log-loss itself, so it is the loss that "
                   "tunes the probabilities, not just which side of 0.5 they fall)",
               0: "not clearly different (within the seed-to-seed spread)",
               1: "clearly higher"}[c_ll]
    print(f"  -> accuracy is {acc_word}; {speed}; BCE's test log-loss is {ll_word}{few}.")


    # --- Step 5: figures.
    fig, (ax1, ax2) = _common.figure(1, 2, size=(5.6, 4.0))
    for j, (loss, vacc) in enumerate(curves.items()):
        epochs = np.arange(1, len(vacc) + 1)
        ax1.plot(epochs, np.median(vacc, axis=1), color=f"C{j}", label=f"{loss} (median)")
        ax1.fill_between(epochs, vacc.min(axis=1), vacc.max(axis=1), color=f"C{j}", alpha=0.2)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("validation accuracy")
    ax1.set_ylim(0.5, 1.0)
    ax1.set_title("validation accuracy (band: seeds)")
    ax1.legend(fontsize="small")
    for j, loss in enumerate(results):
        r = results[loss]
        ax2.scatter(r["test_accuracy"] + 0.002 * (j - 0.5), r["test_auc"], color=f"C{j}",
                    label=loss)
    ax2.set_xlabel("test accuracy")
    ax2.set_ylabel("test ROC-AUC")
    ax2.set_title(f"held-out test set, {k} seeds")
    ax2.legend(fontsize="small")
    figures = [_common.save(fig, out, "binary_classifier.png")]

    # --- Step 6: the takeaway.
    works = b["test_accuracy"].min() > 0.9 and b["test_accuracy"].min() > y_test.mean() + 0.2
    sentences = [("The recipe works: " if works else "The recipe falls short: ")
                 + f"every seed reaches at least {b['test_accuracy'].min():.1%} "
                 f"test accuracy (always guessing benign: {y_test.mean():.1%}), ROC-AUC at "
                 f"least {b['test_auc'].min():.3f}."]
    if k < 10:
        sentences.append(f"BCE and MSE end {abs(np.median(d_acc)) * 100:.1f} points of test "
                         f"accuracy apart (median); {k} seeds are too few to say which loss is "
                         "better here (the full run uses 20).")
    elif c_acc == 0 and c_ll == -1:
        sentences.append("BCE and MSE get as many tumours right, but BCE's probabilities are "
                         "better: its test log-loss is clearly lower.")
    elif c_acc == 0 and c_ll == 0:
        sentences.append("BCE and MSE cannot be told apart here, in accuracy or in log-loss.")
    else:
        sentences.append(f"BCE against MSE: accuracy {acc_word}; test log-loss {ll_word}.")
    _common.takeaway(sentences, stats=(
        f"{k} seeds; BCE minus MSE per seed: accuracy ahead in {count(np.sum(d_acc > 0), k)}, "
        f"log-loss lower in {count(np.sum(d_ll < 0), k)}; paired t-tests at 95%"))

    def summary(r):
        return {key: (v.tolist() if isinstance(v, np.ndarray) else v) for key, v in r.items()}

    return {
        "test_accuracy": float(np.median(b["test_accuracy"])),
        "test_auc": float(np.median(b["test_auc"])),
        "test_accuracy_min": float(b["test_accuracy"].min()),
        "test_auc_min": float(b["test_auc"].min()),
        "mse_test_accuracy": float(np.median(m["test_accuracy"])),
        "mse_test_auc": float(np.median(m["test_auc"])),
        "test_log_loss": float(np.median(b["test_log_loss"])),
        "mse_test_log_loss": float(np.median(m["test_log_loss"])),
        "bce": summary(b),
        "mse": summary(m),
        "majority_share": float(y_test.mean()),
        "bce_vs_mse": {"accuracy": c_acc, "log_loss": c_ll, "epochs_to_95": c_speed},
        "figures": figures,
    }


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/10_binary_classifier.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
