# %% [markdown]
# # Lesson 7: early stopping.
#
# Question: when a network starts to memorise its training set, can we notice it
# from the validation loss, stop there, and keep the weights of the best epoch?
# And what does that buy on data neither training nor stopping has seen?
#
# The set-up is made to overfit: 60 noisy points of the two-moons problem, a
# network far wider than they need (2 -> 64 -> 64 -> 2), plain SGD for up to 600
# epochs. Eight copies (seeds 0..7) train at once as one stacked model.
#
# What you will see: the training loss falling towards zero while the validation
# loss bottoms out and then climbs; where EarlyStopping(patience=20,
# restore_best_weights=True) stops each copy, its best epoch, the validation loss
# of the restored weights against the weights of the last epoch it trained, the
# epochs it did not have to run, and the loss and accuracy on a separate test
# set of 800 points for the restored weights against those after all 600 epochs
# (each judged on its own: a lower loss need not mean more right answers).
# A last step tries other patiences.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 7: early stopping.

Run:   python lessons/07_early_stopping.py [--quick] [--out DIR] [--backend numpy|cupy]
Takes: about 5 seconds on a 2-core CPU (--quick: about 2).
"""

import sys
from pathlib import Path

import numpy as np

import tinynet as tn

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402
from _common import clear, compare, count  # noqa: E402

# %%
LR, BATCH, WIDTH = 0.3, 16, 64


def build(n_models):
    """A network much wider than 60 points need: it can memorise them."""
    model = tn.Sequential([
        tn.layers.Dense(WIDTH, activation="relu", input_dim=2),
        tn.layers.Dense(WIDTH, activation="relu"),
        tn.layers.Dense(2, activation="softmax"),
    ], seed=0, n_models=n_models)
    model.compile(tn.optimizers.SGD(LR), loss="sparse_categorical_crossentropy")
    return model


def stop_epochs(history, epochs_run):
    """The epoch after which each copy was stopped (the last epoch it trained)."""
    stops = np.array(history.records["EarlyStopping"]["stop"]).reshape(epochs_run, -1)
    return np.array([int(np.argmax(col)) if col.any() else epochs_run - 1 for col in stops.T])


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. little, noisy data
# 2. train for the full budget and watch both losses
# 3. the same seeds with EarlyStopping
# 4. patience is a trade
# 5. figures

# %%
def main(out_dir="outputs/07_early_stopping", quick=False, backend="numpy"):
    out = _common.start(out_dir, backend)
    k = 4 if quick else 8
    max_epochs = 200 if quick else 600
    patience = 20

    # --- Step 1: little, noisy data. The moons overlap at noise 0.35, so no
    # boundary is perfect; a model that gets every training point right has
    # learned the noise. Validation and test points come from the same source
    # but are never trained on; the test set is not used for stopping either.
    X, y = tn.datasets.make_moons(1060, noise=0.35, seed=0)
    x_train, y_train = X[:60], y[:60]
    x_val, y_val = X[60:260], y[60:260]
    x_test, y_test = X[260:], y[260:]
    print(f"{len(x_train)} training, {len(x_val)} validation, {len(x_test)} test points; "
          f"{k} seeds; SGD lr={LR}, batch {BATCH}")

    # --- Step 2: train for the full budget and watch both losses.
    full = build(k)
    h_full = full.fit(x_train, y_train, epochs=max_epochs, batch_size=BATCH,
                      validation_data=(x_val, y_val), verbose=0)
    loss = np.array(h_full.history["loss"]).reshape(max_epochs, k)
    val = np.array(h_full.history["val_loss"]).reshape(max_epochs, k)
    best_full = val.argmin(axis=0)
    test_full = full.evaluate(x_test, y_test)
    print(f"\nWithout early stopping ({max_epochs} epochs), seed 0: training loss "
          f"{loss[0, 0]:.3f} -> {loss[-1, 0]:.4f}; validation loss lowest "
          f"{val[best_full[0], 0]:.3f} at epoch {best_full[0]}, then up to {val[-1, 0]:.3f} "
          "at the end.")
    print(f"  over {k} seeds the validation minimum falls at epochs {best_full.min()}.."
          f"{best_full.max()}, and the final validation loss is {val[-1].min():.3f}.."
          f"{val[-1].max():.3f}, {np.median(val[-1] / val.min(axis=0)):.2f}x the minimum "
          "(median)")

    # --- Step 3: the same seeds with EarlyStopping. It keeps the best
    # validation loss so far and a copy of those weights; after `patience`
    # epochs without improvement it stops that copy, and at the end of
    # training the best weights are put back.
    es = tn.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                    restore_best_weights=True)
    model = build(k)
    h_es = model.fit(x_train, y_train, epochs=max_epochs, batch_size=BATCH,
                     validation_data=(x_val, y_val), callbacks=[es], verbose=0)
    ran = len(h_es.epoch)
    val_es = np.array(h_es.history["val_loss"]).reshape(ran, k)
    stopped = stop_epochs(h_es, ran)
    best_es = np.asarray(es.best_epoch).reshape(k)
    val_last = val_es[stopped, np.arange(k)]  # the weights of the last epoch each copy trained
    val_restored = np.asarray(model.evaluate(x_val, y_val)["loss"]).reshape(k)
    test_es = model.evaluate(x_test, y_test)
    saved = max_epochs - (stopped + 1)
    print(f"\nWith EarlyStopping(patience={patience}, restore_best_weights=True), seed 0: "
          f"stopped after epoch {stopped[0]}, best epoch {best_es[0]}; validation loss "
          f"{val_restored[0]:.3f} restored against {val_last[0]:.3f} for the last weights; "
          f"{saved[0]} of {max_epochs} epochs not run.")
    print(f"  over {k} seeds: stopped after epochs {stopped.min()}..{stopped.max()}, best epochs "
          f"{best_es.min()}..{best_es.max()}; restored <= last validation loss for "
          f"{count(np.sum(val_restored <= val_last + 1e-12), k)}; epochs saved "
          f"{saved.min()}..{saved.max()} (mean {saved.mean():.0f}, "
          f"{saved.sum() / (k * max_epochs):.0%} of the budget)")
    t_full, t_es = np.asarray(test_full["loss"]), np.asarray(test_es["loss"])
    a_full, a_es = np.asarray(test_full["accuracy"]), np.asarray(test_es["accuracy"])
    print(f"  on the {len(x_test)} test points (mean over seeds): loss {t_es.mean():.3f} restored"
          f" vs {t_full.mean():.3f} after {max_epochs} epochs; accuracy {a_es.mean():.3f} vs "
          f"{a_full.mean():.3f}")
    t_es, t_full = t_es.reshape(k), t_full.reshape(k)
    a_es, a_full = a_es.reshape(k), a_full.reshape(k)
    better = int(np.sum(t_es < t_full))
    gap = compare(t_es, t_full)
    # the loss and the accuracy can disagree: a lower loss can come from less
    # confident wrong answers alone, so the accuracy is judged on its own
    acc_gap = clear(a_es - a_full)
    more_right = int(np.sum(a_es > a_full))
    word = {1: "clearly lower", -1: "clearly higher", 0: "not clearly different (within the "
            "seed-to-seed spread)"}
    acc_word = {1: "clearly higher", -1: "clearly lower", 0: "not clearly different (within "
                "the seed-to-seed spread)"}
    print(f"  the restored weights have the lower test loss in {count(better, k)} seeds "
          f"({word[gap]}) and the higher test accuracy in {count(more_right, k)} "
          f"({acc_word[acc_gap]}), for {1 - saved.sum() / (k * max_epochs):.0%} of the "
          "training time.")
    if gap == 1 and acc_gap == 1:
        unseen = "better on unseen points in loss and in accuracy"
    elif gap == 1:
        unseen = ("better on unseen points in loss only: the accuracy is not clearly higher, "
                  "so what improves is the probability put on the true class, not how many "
                  "are right")
    elif acc_gap == 1:
        unseen = "more often right on unseen points, though the test loss is not clearly lower"
    else:
        unseen = "not clearly better on unseen points in loss or accuracy"
    print(f"  -> the early-stopped weights are {unseen}.")

    # --- Step 4: patience is a trade. Too little and a noisy bump in the
    # validation loss ends training before the minimum; more costs epochs.
    patiences = [2, 20, 80] if quick else [2, 5, 20, 50, 150]
    sweep = {}
    for p in patiences:
        cb = tn.callbacks.EarlyStopping(patience=p, restore_best_weights=True)
        m = build(k)
        h = m.fit(x_train, y_train, epochs=max_epochs, batch_size=BATCH,
                  validation_data=(x_val, y_val), callbacks=[cb], verbose=0)
        st = stop_epochs(h, len(h.epoch))
        test_seeds = np.asarray(m.evaluate(x_test, y_test)["loss"]).reshape(k)
        sweep[p] = {
            "mean_stop_epoch": float(st.mean()),
            "val_loss": float(np.mean(m.evaluate(x_val, y_val)["loss"])),
            "test_loss": float(np.mean(test_seeds)),
            "test_loss_seeds": test_seeds.tolist(),
        }
    print("\npatience  mean stop epoch  restored val loss  test loss (mean, seed range)")
    for p, r in sweep.items():
        ts = r["test_loss_seeds"]
        print(f"{p:8d}  {r['mean_stop_epoch']:15.1f}  {r['val_loss']:17.3f}  "
              f"{r['test_loss']:9.3f} ({min(ts):.3f}..{max(ts):.3f})")
    # Which differences are larger than the seed-to-seed spread? Each patience
    # against the one with the lowest mean test loss, paired by seed.
    best_p = min(sweep, key=lambda p: sweep[p]["test_loss"])
    worse = {p: compare(sweep[best_p]["test_loss_seeds"], sweep[p]["test_loss_seeds"]) == 1
             for p in sweep}
    enough = min(p for p in sweep if not worse[p])  # the smallest not clearly worse than the best
    clearly_worse = [p for p in sweep if worse[p]]
    print(f"Lowest mean test loss: patience {best_p}. Clearly worse than it (paired by seed, "
          f"beyond the seed-to-seed spread): "
          + (", ".join(f"patience {p}" for p in clearly_worse) if clearly_worse else "none")
          + f". The smallest patience not clearly worse: {enough}"
          + ("; below it the runs stop earlier (mean stop epoch "
             + ", ".join(f"{sweep[p]['mean_stop_epoch']:.0f}" for p in sweep if p < enough)
             + f", against best epochs {best_es.min()}..{best_es.max()} at patience {patience})"
             " and end with a clearly higher test loss"
             if any(p < enough for p in clearly_worse) else "")
          + f"; above {enough} the test loss is "
          + ("the same within the seed spread" if all(not worse[p] for p in sweep if p > enough)
             else "not always as good")
          + f", and the mean stop epoch rises from {sweep[enough]['mean_stop_epoch']:.0f} to "
          f"{sweep[patiences[-1]]['mean_stop_epoch']:.0f}.")
    if any(p < enough for p in sweep):
        title = (f"patience < {enough}: clearly higher test loss; {enough}+: "
                 "no better within the seed spread, more epochs")
    else:
        title = (f"every patience from {enough} gives the same test loss within the seed "
                 "spread; more only costs epochs")

    # --- Step 5: figures.
    fig, (ax, ax2) = _common.figure(1, 2, size=(6.0, 4.2))
    epochs = np.arange(max_epochs)
    for j in range(1, k):
        ax.plot(epochs, val[:, j], color="C1", alpha=0.2, lw=0.8)
    ax.plot(epochs, loss[:, 0], color="C0", label="training loss (seed 0)")
    ax.plot(epochs, val[:, 0], color="C1", label="validation loss (seed 0; others faint)")
    ax.axvline(best_es[0], color="k", ls=":", label=f"best epoch {best_es[0]}")
    ax.axvline(stopped[0], color="C3", ls="--", label=f"stopped after epoch {stopped[0]}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("overfitting: validation loss turns up")
    ax.legend(fontsize="small")
    seeds = np.arange(k)
    ax2.bar(seeds - 0.2, t_full.reshape(k), 0.4, label=f"after {max_epochs} epochs")
    ax2.bar(seeds + 0.2, t_es.reshape(k), 0.4, label="early stopped, best weights")
    ax2.set_xlabel("seed")
    ax2.set_ylabel("test loss")
    ax2.set_title(f"loss on {len(x_test)} unseen points")
    ax2.legend(fontsize="small")
    figures = [_common.save(fig, out, "early_stopping.png")]
    fig_p, ax_p = _common.figure(1, 1, size=(6.0, 4.0))
    ps = list(sweep)
    ax_p.plot(ps, [sweep[p]["test_loss"] for p in ps], "o-", label="test loss (restored, mean)")
    ax_p.fill_between(ps, [min(sweep[p]["test_loss_seeds"]) for p in ps],
                      [max(sweep[p]["test_loss_seeds"]) for p in ps], alpha=0.15,
                      label="seed range")
    ax_p.set_xscale("log")
    ax_p.set_xlabel("patience (epochs)")
    ax_p.set_ylabel("test loss")
    ax_r = ax_p.twinx()
    ax_r.plot(ps, [sweep[p]["mean_stop_epoch"] for p in ps], "s--", color="C2",
              label="mean stop epoch")
    ax_r.set_ylabel("stop epoch")
    ax_p.set_title(title, fontsize="small")
    ax_p.legend(loc="upper left", fontsize="small")
    ax_r.legend(loc="upper right", fontsize="small")
    figures.append(_common.save(fig_p, out, "patience.png"))

    # --- Step 6: the takeaway.
    plain = [f"Stopping when the validation loss stopped improving ran "
             f"{1 - saved.sum() / (k * max_epochs):.0%} of the {max_epochs}-epoch budget, and "
             f"the restored weights are {unseen}.",
             f"A patience of {enough} epochs is enough here"
             + (f"; less stops before the validation minimum (mean stop epoch "
                f"{sweep[min(sweep)]['mean_stop_epoch']:.0f} at patience {min(sweep)}, best "
                f"epochs {best_es.min()}..{best_es.max()}) and ends with a higher test loss."
                if clearly_worse and min(clearly_worse) < enough else ".")]
    text = _common.takeaway(plain, stats=(
        f"{k} seeds; restored vs {max_epochs} epochs: lower test loss in {count(better, k)}, "
        f"higher test accuracy in {count(more_right, k)}; paired t-tests at 95%"))

    return {
        "max_epochs": max_epochs,
        "patience": patience,
        "best_epoch_full_run": int(best_full[0]),
        "stopped_epoch": int(stopped[0]),
        "best_epoch": int(best_es[0]),
        "val_loss_restored": float(val_restored[0]),
        "val_loss_last": float(val_last[0]),
        "epochs_saved": int(saved[0]),
        "stopped_epochs": stopped.tolist(),
        "best_epochs": best_es.tolist(),
        "val_loss_restored_all": val_restored.tolist(),
        "val_loss_last_all": val_last.tolist(),
        "test_loss_restored": float(t_es.mean()),
        "test_loss_full": float(t_full.mean()),
        "test_accuracy_restored": float(a_es.mean()),
        "test_accuracy_full": float(a_full.mean()),
        "test_loss_restored_all": t_es.tolist(),
        "test_loss_full_all": t_full.tolist(),
        "restored_clearly_better": gap == 1,
        "test_accuracy_restored_all": a_es.tolist(),
        "test_accuracy_full_all": a_full.tolist(),
        "accuracy_verdict": acc_gap,
        "loss_verdict": gap,
        "takeaway": text,
        "patience_sweep": sweep,
        "patience_best": best_p,
        "patience_enough": enough,
        "patience_clearly_worse": clearly_worse,
        "patience_title": title,
        "figures": figures,
    }


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/07_early_stopping.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
