"""python -m tinynet demo: several learning rates training side by side, for a class.

One stacked model holds one copy of the network per rate; every copy sees the
same batches from the same initial weights, so what differs on screen is the
rate alone. Each frame shows the decision regions of every copy and all loss
curves so far. With a display the frames update in a matplotlib window; on a
machine without one (or with ``--save demo.gif``) they go into an animated GIF
written with matplotlib's PillowWriter.

    python -m tinynet demo --rates 0.001,0.1,0.5 --dataset spirals --epochs 100
"""

import math
import os
import warnings

import numpy as np

import tinynet as tn
from tinynet import _checks, _files
from tinynet.plot.regions import draw_regions, grid, predicted_classes

DATASETS = ("blobs", "moons", "spirals", "circles")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
SCHEDULES = ("constant", "cosine", "exponential", "step")
RATE_COLORS = ("#000000", "#9467bd", "#e377c2", "#8c564b", "#17becf", "#7f7f7f")


# --- the demo -------------------------------------------------------------------
def parse_rates(text):
    """'0.01,0.1,0.5' -> [0.01, 0.1, 0.5]; ValueError naming a bad entry."""
    rates = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            rate = float(part)
        except ValueError:
            raise ValueError(f"demo: --rates must be numbers separated by commas, got "
                             f"{part!r} in {text!r}.") from None
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"demo: every rate must be a finite number > 0, got {part!r}.")
        rates.append(rate)
    if not 1 <= len(rates) <= len(RATE_COLORS):
        raise ValueError(f"demo: give 1 to {len(RATE_COLORS)} rates, got {len(rates)}.")
    return rates


def make_dataset(name, seed=0):
    """(x standardised, y int, n_classes) for one of DATASETS."""
    _checks.choice(name, "dataset", "demo", DATASETS)
    ds = tn.datasets
    if name == "blobs":
        x, y = ds.make_blobs(600, 4, cluster_std=1.5, seed=seed)
    elif name == "moons":
        x, y = ds.make_moons(600, noise=0.15, seed=seed)
    elif name == "spirals":
        x, y = ds.make_spirals(600, n_classes=3, noise=0.15, seed=seed)
    else:
        x, y = ds.make_circles(600, noise=0.08, factor=0.5, seed=seed)
    return tn.data.StandardScaler().fit_transform(x), y, int(np.max(y)) + 1


def make_schedule(name, rate, total_steps):
    """A schedule from tn.schedules scaled to ``rate``, or the float itself."""
    _checks.choice(name, "schedule", "demo", SCHEDULES)
    sched = tn.schedules
    if name == "constant":
        return rate
    if name == "cosine":
        return sched.CosineDecay(rate, total_steps)
    if name == "exponential":
        return sched.ExponentialDecay(rate, max(total_steps // 4, 1), 0.5)
    return sched.StepDecay(rate, max(total_steps // 3, 1), drop=0.3)


def build(rates, n_classes, optimizer, schedule, total_steps, seed=0):
    """One stacked copy per rate, all from the weights of ``seed``."""
    layers = [tn.layers.Dense(32, activation="relu", kernel_initializer="he_normal", input_dim=2),
              tn.layers.Dense(32, activation="relu", kernel_initializer="he_normal"),
              tn.layers.Dense(n_classes, activation="softmax")]
    model = tn.Sequential(layers, seed=seed, n_models=max(len(rates), 2), same_init=True)
    lrs = [make_schedule(schedule, r, total_steps) for r in rates]
    lrs += lrs[-1:] * (model.n_models - len(rates))  # one rate: a silent twin keeps K >= 2
    _checks.choice(optimizer, "optimizer", "demo", OPTIMIZERS)
    opt = tn.optimizers.get(optimizer)
    opt.learning_rate = lrs
    return model.compile(opt, loss="sparse_categorical_crossentropy")


def has_display():
    """True when matplotlib can open a window here."""
    if os.name == "nt" or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        import matplotlib

        return matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo")
    return False


def run(rates="0.001,0.05,0.5,3.0", dataset="spirals", optimizer="sgd", schedule="constant",
        epochs=60, save=None, batch_size=32, fps=8, seed=0):
    """Train the copies and show them live, or write an animated GIF to ``save``.

    rates: a comma-separated string or a list of floats. dataset: one of DATASETS.
    optimizer: one of OPTIMIZERS. schedule: one of SCHEDULES, scaled to each rate.
    Returns {"rates", "final_loss", "final_accuracy", "path"} (path None when shown live).
    """
    rates = parse_rates(rates) if isinstance(rates, str) else parse_rates(",".join(map(str, rates)))
    epochs = _checks.positive_int(epochs, "epochs", "demo")
    x, y, n_classes = make_dataset(dataset, seed)
    steps = epochs * math.ceil(x.shape[0] / batch_size)
    model = build(rates, n_classes, optimizer, schedule, steps, seed)
    live = save is None and has_display()
    if save is None and not live:
        save = "demo.gif"
    if save is not None:
        save = os.fspath(save)
        if os.path.isdir(save):
            raise ValueError(f"demo: --save must name a .gif file, got the folder {save!r}.")
        parent = os.path.dirname(os.path.abspath(save))
        if not os.path.isdir(parent):
            raise OSError(f"demo: the folder {parent!r} for --save does not exist.")
    xx, yy, points = grid(x, n=80, pad=0.15)
    fig, axes, lines = _figure(rates, live)
    losses = np.full((epochs, len(rates)), np.nan)
    frames = []

    def frame(epoch):
        with warnings.catch_warnings():  # a diverging copy is part of the show
            warnings.simplefilter("ignore", tn.DivergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            hist = model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
        losses[epoch] = np.asarray(hist.history["loss"][0], dtype=float)[:len(rates)]
        classes = predicted_classes(model, points)
        for k, ax in enumerate(axes[:len(rates)]):
            ax.clear()
            draw_regions(ax, xx, yy, classes[k], x, y, n_classes,
                         title=f"lr = {rates[k]:g}  loss {losses[epoch, k]:.3g}")
            ax.title.set_color(RATE_COLORS[k])
        for k, line in enumerate(lines):
            line.set_data(np.arange(1, epoch + 2), losses[:epoch + 1, k])
        ax_loss = axes[-1]
        ax_loss.set_xlim(1, max(epochs, 2))
        finite = losses[np.isfinite(losses)]
        if finite.size:
            ax_loss.set_ylim(max(finite.min() * 0.8, 1e-4), max(finite.max() * 1.2, 1e-3))
        ax_loss.set_title(f"epoch {epoch + 1}/{epochs}", fontsize=9)

    if live:
        import matplotlib.pyplot as plt

        for epoch in range(epochs):
            frame(epoch)
            plt.pause(0.001)
        plt.show()
    else:
        from matplotlib.animation import PillowWriter

        writer = PillowWriter(fps=fps)
        with _files.atomic_path(save, suffix=".gif") as tmp:
            with writer.saving(fig, tmp, dpi=70):
                for epoch in range(epochs):
                    frame(epoch)
                    writer.grab_frame()
                    frames.append(epoch)
    last = losses[-1]
    acc = model.evaluate(x, y)["accuracy"]
    return {"rates": rates, "final_loss": last.tolist(),
            "final_accuracy": np.atleast_1d(acc)[:len(rates)].tolist(),
            "path": None if live else save}


def _figure(rates, live):
    """(fig, [region axes..., loss axes], loss lines)."""
    if live:
        import matplotlib.pyplot as plt

        plt.ion()
        fig = plt.figure(figsize=(3.0 * (len(rates) + 1), 3.2), layout="constrained")
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(2.6 * (len(rates) + 1), 2.8), layout="constrained")
    axes = list(fig.subplots(1, len(rates) + 1))
    ax_loss = axes[-1]
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    lines = [ax_loss.plot([], [], color=RATE_COLORS[k], label=f"{r:g}")[0]
             for k, r in enumerate(rates)]
    ax_loss.legend(fontsize=7, title="rate", title_fontsize=7)
    return fig, axes, lines
