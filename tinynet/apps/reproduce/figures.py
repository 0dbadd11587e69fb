"""The figures of ``tinynet reproduce``: decision regions, curves, success rates, sharpness."""


import numpy as np

import tinynet as tn
from tinynet.apps.reproduce.setup import GOOD, HIGH, LOW, SCALINGS, VARIANTS, post_layers
from tinynet.metrics import run_quartiles


def copy_model(run, k):
    """A single Sequential holding copy k of a run's stacked model."""
    single = tn.Sequential(post_layers(*run["variant"]), seed=0)
    single.set_weights([w[k] for w in run["model"].get_weights()])
    return single


# NaN weights draw nothing
FAILURES = ("dead layer", "stuck at the clip", "one class", "partial", "diverged")


def representative(run, i, want_failure):
    """(seed, outcome, count): the first seed with the most common outcome at rate index i.

    want_failure: among the failures only (the too-high and too-low panels), when
    any seed failed, preferring a failure with finite weights to draw; otherwise a
    seed that fit, when any did.
    """
    out = run["outcome"][i]
    pool = FAILURES if want_failure else ("fit",)
    if want_failure and np.any(np.isin(out, FAILURES[:-1])):
        pool = FAILURES[:-1]
    count, _, name = max((int(np.sum(out == name)), -k, name) for k, name in enumerate(pool))
    if count == 0:
        names, all_counts = np.unique(out, return_counts=True)
        name, count = str(names[np.argmax(all_counts)]), int(np.max(all_counts))
    return int(np.flatnonzero(out == name)[0]), name, count


def figure_regions(run, x, y, cfg):
    """The post's figure: decision regions for a good, a too-high and a too-low rate."""
    from matplotlib.figure import Figure

    from tinynet.plot.regions import draw_regions, grid, predicted_classes

    fig = Figure(figsize=(11.0, 3.9), dpi=90, layout="constrained")
    axes = fig.subplots(1, 3)
    xx, yy, points = grid(x, n=150)
    s_n = run["outcome"].shape[1]
    for ax, rate, label in zip(axes, (GOOD, HIGH, LOW), ("good", "too high", "too low")):
        i = run["rates"].index(rate)
        s, common, count = representative(run, i, want_failure=rate != GOOD)
        model = copy_model(run, i * s_n + s)
        with np.errstate(all="ignore"):
            classes = predicted_classes(model, points)
        acc = run["final_val_accuracy"][i, s]
        acc_text = "" if not np.isfinite(acc) else f", val acc {acc:.2f}"
        fit = int(np.sum(run["success"][i]))
        draw_regions(ax, xx, yy, classes, x, y, 4,
                     title=f"lr = {rate:g} ({label}): seed {s}, {common}{acc_text}\n"
                           f"{fit}/{s_n} seeds fit; {count}/{s_n} end '{common}'")
    fig.suptitle(f"Dense(10, relu) x4 -> Dense(4, softmax), SGD, {cfg.epochs} epochs, raw inputs",
                 fontsize=10)
    return fig


STYLES = ("--", ":", "-", "-.", "-")  # one per post rate, so no line hides another
MARKERS = ("o", "s", None, "^", "v")


def _style(i):
    return {"linestyle": STYLES[i % len(STYLES)], "marker": MARKERS[i % len(MARKERS)]}


def _readable_log_axis(ax):
    from matplotlib.ticker import LogLocator, NullFormatter

    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=8))
    ax.yaxis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0), numticks=12))
    ax.yaxis.set_minor_formatter(NullFormatter())


def figure_curves(post, cfg):
    """Training loss and validation accuracy per post rate: median and quartiles of ALL seeds.

    Medians and quartiles count every run (tinynet.metrics.run_quartiles: a
    NaN/inf value is the worst, never dropped); each rate has its own line style
    and markers, so overlapping medians stay visible.
    """
    from matplotlib.figure import Figure

    from tinynet.plot.regions import COLORS

    fig = Figure(figsize=(11.0, 7.0), dpi=90, layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    epochs = np.arange(1, cfg.epochs + 1)
    every = max(1, cfg.epochs // 10)
    for row, scaling in enumerate(SCALINGS):
        run = post[scaling]
        for col, key in enumerate(("loss", "val_accuracy")):
            ax = axes[row, col]
            mode = "min" if key == "loss" else "max"
            mids = []
            for i, rate in enumerate(run["rates"]):
                lo, mid, hi = run_quartiles(run["curves"][key][:, i, :], mode=mode, axis=-1)
                mids.append(mid)
                ax.plot(epochs, mid, color=COLORS[i], label=f"lr {rate:g}", linewidth=1.6,
                        markevery=(i * every // len(run["rates"]), every), markersize=5,
                        **_style(i))
                ax.fill_between(epochs, lo, hi, color=COLORS[i], alpha=0.15, linewidth=0)
            ax.set_title(f"{scaling} inputs: {'training loss' if key == 'loss' else key}",
                         fontsize=10)
            finite = np.concatenate(mids)
            finite = finite[np.isfinite(finite)]  # a log axis only when the medians span 10x
            if key == "loss" and finite.size and finite.max() > 10 * max(finite.min(), 1e-12):
                ax.set_yscale("log")
                _readable_log_axis(ax)
            elif key != "loss":
                ax.axhline(cfg.threshold, color="gray", linestyle=":", linewidth=1)
                ax.set_ylim(0, 1.02)
            ax.grid(True, alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    axes[0, 1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"median and 25-75% band over all {cfg.seeds} seeds (a NaN/inf run counts "
                 "as the worst)", fontsize=10)
    return fig


def figure_success(runs, cfg):
    """Success rate (final validation accuracy > threshold) against the rate, log axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.2), dpi=90, layout="constrained")
    ax = fig.subplots()
    main = VARIANTS[0]
    for scaling, color in zip(SCALINGS, ("#1f77b4", "#d62728")):
        points = {}
        for kind in ("grid", "post"):
            run = runs[(scaling, kind, main)]
            for i, rate in enumerate(run["rates"]):
                points[rate] = (np.mean(run["success"][i]), run["success"].shape[1], kind)
        rates = sorted(points)
        ax.plot(rates, [points[r][0] for r in rates], color=color, linewidth=1.2,
                label=f"{scaling} inputs")
        post = [r for r in rates if points[r][2] == "post"]
        ax.plot(post, [points[r][0] for r in post], "o", color=color, markersize=7)
        grid_r = [r for r in rates if points[r][2] == "grid"]
        ax.plot(grid_r, [points[r][0] for r in grid_r], ".", color=color, markersize=6)
    for r in cfg.post_rates:
        ax.axvline(r, color="gray", linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"share of seeds with val acc > {cfg.threshold:g}")
    ax.set_title(f"big dots: the post's rates ({cfg.seeds} seeds); small: grid "
                 f"({cfg.grid_seeds} seeds); {cfg.epochs} epochs", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def figure_sharpness(post, cfg):
    """Sharpness of every traced run during training against 2/lr, raw and standardised.

    One thin line per run (solid: the run fit; dotted: it failed), a dot at its
    peak; dashed horizontals: 2/lr per rate.
    """
    from matplotlib.figure import Figure

    from tinynet.plot.regions import COLORS

    fig = Figure(figsize=(11.0, 4.4), dpi=90, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, scaling in zip(axes, SCALINGS):
        run = post[scaling]
        tr = run["trace"]
        for i, rate in enumerate(run["rates"]):
            for s in range(tr["seeds"]):
                v = tr["values"][:, i, s]
                ok = np.isfinite(v) & (v > 0)
                fit = bool(run["success"][i, s])
                ax.plot(tr["epochs"][ok], v[ok], color=COLORS[i], linewidth=0.9,
                        linestyle="-" if fit else ":",
                        label=f"lr {rate:g}" if s == 0 else None)
                if ok.any():
                    j = np.flatnonzero(ok)[np.argmax(v[ok])]
                    ax.plot(tr["epochs"][j], v[j], "o" if fit else "x", color=COLORS[i],
                            markersize=4)
            ax.axhline(2.0 / rate, color=COLORS[i], linestyle="--", linewidth=0.8)
        ax.set_yscale("log")
        _readable_log_axis(ax)
        ax.set_xlabel("epoch")
        ax.set_title(f"{scaling} inputs: largest Hessian eigenvalue, each of {tr['seeds']} "
                     "seeds per rate\nsolid/o: run fit; dotted/x: failed; dashed: 2/lr",
                     fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("sharpness")
    axes[0].legend(fontsize=8)
    return fig
