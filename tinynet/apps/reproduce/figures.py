"""The figures of ``tinynet reproduce``: regions, dead units, curves, success, sharpness."""


import numpy as np

import tinynet as tn
from tinynet.apps.reproduce.setup import GOOD, HIGH, LOW, POST_VARIANT, SCALINGS, post_layers
from tinynet.metrics import run_quartiles


def copy_model(run, k):
    """A single Sequential holding copy k of a run's stacked model."""
    single = tn.Sequential(post_layers(*run["variant"]), seed=0)
    single.set_weights([w[k] for w in run["final_weights"]])
    return single


def _typical(run, i, mask):
    """The seed among mask whose death (or fit) epoch is the median: a typical case, or None."""
    seeds = np.flatnonzero(mask)
    if not seeds.size:
        return None
    when = np.where(np.isfinite(run["death_epoch"][i, seeds]), run["death_epoch"][i, seeds],
                    run["escape_epoch"][i, seeds])
    when = np.nan_to_num(when, nan=np.inf)
    return int(seeds[np.argsort(when, kind="stable")[(seeds.size - 1) // 2]])


def panel_choices(run):
    """[(rate, seed, label)]: a fit at GOOD, each kind of failure at HIGH, the one at LOW.

    The failures at HIGH are told apart by their timing: "died before fitting"
    (a whole layer died before the run ever fitted) and "fitted, then lost it"
    (or, when no run did, "never fitted" with every layer alive); each panel
    shows the seed with the median epoch of its kind.
    """
    rates = list(run["rates"])
    g, h, lo = rates.index(GOOD), rates.index(HIGH), rates.index(LOW)
    fitted = np.isfinite(run["escape_epoch"][h])
    died = np.isfinite(run["death_epoch"][h])
    before = died & ~(run["escape_epoch"][h] < run["death_epoch"][h])
    failed = ~run["success"][h]
    kinds = [(failed & before, "died before fitting"),
             (failed & fitted & ~before, "fitted, then lost it"),
             (failed & ~fitted & ~died, "never fitted, all layers alive")]
    out = [(GOOD, _typical(run, g, run["success"][g]), "good")]
    out += [(HIGH, _typical(run, h, mask), label) for mask, label in kinds if mask.any()][:2]
    out.append((LOW, _typical(run, lo, run["outcome"][lo] != "fit"), "too low"))
    return [(rate, 0 if s is None else s, label) for rate, s, label in out]


def _panel_title(run, rate, s, label):
    i = list(run["rates"]).index(rate)
    out, acc = run["outcome"][i, s], run["final_val_accuracy"][i, s]
    death, layer, fit_at = (run["death_epoch"][i, s], run["death_layer"][i, s],
                            run["escape_epoch"][i, s])
    story = []
    if np.isfinite(fit_at):
        story.append(f"fitted at epoch {fit_at:.0f}")
    if np.isfinite(death):
        story.append(f"layer {layer:.0f} dead by epoch {death:.0f}")
    if out == "one class" and not np.isfinite(death):
        story.append(f"output varies by {run['output_spread'][i, s]:.0e}")
    n_kind = int(np.sum(run["outcome"][i] == out))
    acc_text = "" if not np.isfinite(acc) else f", val acc {acc:.2f}"
    return (f"lr = {rate:g} ({label}): seed {s}{acc_text}\n{'; '.join(story) or out}\n"
            f"ends '{out}' ({n_kind}/{run['outcome'].shape[1]} seeds)")


def figure_regions(run, x, y, cfg):
    """The post's figure, a panel per way of ending: decision regions, raw inputs."""
    from matplotlib.figure import Figure

    from tinynet.plot.regions import draw_regions, grid, predicted_classes

    panels = panel_choices(run)
    fig = Figure(figsize=(3.4 * len(panels), 4.1), dpi=90, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    xx, yy, points = grid(x, n=150)
    s_n = run["outcome"].shape[1]
    for ax, (rate, s, label) in zip(axes, panels):
        model = copy_model(run, run["rates"].index(rate) * s_n + s)
        with np.errstate(all="ignore"):
            classes = predicted_classes(model, points)
        draw_regions(ax, xx, yy, classes, x, y, 4, title=_panel_title(run, rate, s, label))
    fig.suptitle(f"Dense(10, relu) x4 -> Dense(4, softmax), SGD, {cfg.epochs} epochs, raw "
                 "inputs: a typical run of each outcome", fontsize=10)
    return fig


def figure_dead_units(post, cfg):
    """Dead units per hidden layer over the epochs at the post's rates (tinynet.plot.dead_units)."""
    from matplotlib.figure import Figure

    from tinynet.plot.dead_units import draw_dead_units

    fig = Figure(figsize=(12.0, 6.4), dpi=90, layout="constrained")
    axes = fig.subplots(2, 4, sharex=True, sharey=True)
    for row, scaling in zip(axes, SCALINGS):
        run = post[scaling]
        draw_dead_units(row, run["check_epochs"], run["dead_checks"], run["rates"],
                        title=f"{scaling} inputs")
    fig.suptitle(f"share of dead units per layer: median over {cfg.seeds} seeds (line) and "
                 "25-75% band; dots: share of runs with the whole layer dead", fontsize=10)
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
    main = POST_VARIANT
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


def loss_surfaces(run, x, y, cfg):
    """The loss over a PCA plane through one seed's path at GOOD, HIGH and LOW, raw inputs.

    The seed is the typical "died before fitting" run at HIGH (else the first
    failure there, else seed 0), so the three panels share its start and batch
    order. Each is ``tn.diagnostics.loss_surface`` on the first trace_points
    training points, its plane the first two principal directions of that
    path. Returns (seed, [(rate, label, surface dict)]).
    """
    panels = panel_choices(run)
    high = [s for rate, s, label in panels if rate == HIGH]
    seed = high[0] if high else 0
    model = tn.Sequential(post_layers(*run["variant"]), seed=0)
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    m = min(len(y), cfg.trace_points)
    out = []
    for rate, label in ((GOOD, "good"), (HIGH, "too high"), (LOW, "too low")):
        i = run["rates"].index(rate)
        path = list(run["path"][:, i, seed])
        with np.errstate(all="ignore"):
            surface = tn.diagnostics.loss_surface(model, x[:m], y[:m], {f"lr {rate:g}": path},
                                                  resolution=25)
        out.append((rate, label, surface))
    return seed, out


def surface_summary(seed, surfaces):
    """JSON-ready numbers of the loss surfaces: how much of each path the plane holds, the
    loss at its start and end, its length, and how often it turns back in the plane."""
    out = {"seed": int(seed), "rates": {}}
    for rate, label, surface in surfaces:
        coords = np.asarray(surface["paths"][0])
        steps = np.diff(coords, axis=0)
        steps = steps[np.linalg.norm(steps, axis=1) > 0]
        norms = np.linalg.norm(steps, axis=1)
        cos = np.sum(steps[1:] * steps[:-1], axis=1) / np.maximum(norms[1:] * norms[:-1], 1e-300)
        out["rates"][f"{rate:g}"] = {
            "label": label, "explained": [float(v) for v in surface["explained_variance"]],
            "length": float(np.sum(norms)), "turns_back": int(np.sum(cos < -0.5)),
            "segments": int(max(len(norms) - 1, 0)),
            "max_off_plane": float(np.max(surface["off_plane"][0]))}
    return out


def figure_loss_surface(run, seed, surfaces, cfg):
    """Three panels of tn.plot.loss_surface: the path of seed `seed` at each rate."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15.0, 4.6), dpi=90, layout="constrained")
    axes = fig.subplots(1, len(surfaces))
    for ax, (rate, label, surface) in zip(axes, surfaces):
        i = run["rates"].index(rate)
        tn.plot.loss_surface(surface, ax=ax, title=f"lr = {rate:g} ({label}), seed {seed}: "
                             f"ends '{run['outcome'][i, seed]}'")
    fig.suptitle(f"training loss over the plane of each path's first two principal directions "
                 f"(first {cfg.trace_points} training points; o start, * end)", fontsize=10)
    return fig
