"""Figures of a learning-rate sweep (a ``SweepResult``), drawn without a display.

Each function builds a ``matplotlib.figure.Figure`` directly (no pyplot state),
so it works on a headless machine; save it with ``fig.savefig(path)``. Medians
and quartiles are over all seeds, never over the survivors only: a value that
is NaN or infinite (a copy whose loss went non-finite, and was frozen there)
counts as the worst one, +inf for losses and -inf for accuracies
(``tinynet.metrics.run_quartiles``), so a median that is off the chart means
more than half of the seeds went non-finite. Where a copy went non-finite the
figures mark it with a red x.
"""

import numpy as np

from tinynet.metrics import infer_mode, run_quartiles


def loss_curves(result, metric="loss", ax=None, log=None):
    """The median of ``metric`` over seeds against the epoch, one line per rate.

    A band shows the inter-quartile range over seeds; both count every seed
    (non-finite values as the worst). A red x at the top of the axes marks the
    epoch in which a copy went non-finite. log: a logarithmic y axis (default:
    for loss-like names when every value is > 0). Returns the Figure.
    """
    owner = "plot_sweep.loss_curves"
    values = _values(result, metric, owner)
    fig, ax = _axes(ax, owner)
    q25, med, q75 = _quartiles(values, metric)  # each (epochs, R)
    epochs = np.arange(1, values.shape[0] + 1)
    colours = _colours(result.learning_rates)
    for r in np.argsort(result.learning_rates):
        n_div = int(result.diverged[r].sum())
        label = f"lr={result.learning_rates[r]:.3g}"
        if n_div:
            label += f" ({n_div}/{result.n_seeds} non-finite)"
        ax.plot(epochs, med[:, r], color=colours[r], label=label, linewidth=1.5)
        if result.n_seeds > 1:
            ax.fill_between(epochs, q25[:, r], q75[:, r], color=colours[r], alpha=0.2,
                            linewidth=0)
    _mark_non_finite(ax, result, colours)
    _integer_epochs(ax)
    ax.set_ylabel(f"{metric} (median over all {result.n_seeds} seed(s), IQR band)")
    if _use_log(log, metric, values, owner):
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def final_vs_rate(result, metric="loss", ax=None, log=None, shade="most"):
    """The final ``metric`` against the learning rate on a log x axis.

    Dots: each seed (a red x at the top of the axes for a seed that went
    non-finite); line: the median over all seeds; band: their inter-quartile
    range (non-finite values count as the worst). Rates where seeds went
    non-finite are shaded: shade="most" (more than half of the seeds), "any",
    or None for no shading.
    log: a logarithmic y axis (default as in ``loss_curves``). Returns the Figure.
    """
    owner = "plot_sweep.final_vs_rate"
    values = _values(result, metric, owner)
    if shade not in ("most", "any", None):
        raise ValueError(f"{owner}: shade must be 'most', 'any' or None, got {shade!r}.")
    fig, ax = _axes(ax, owner)
    order = np.argsort(result.learning_rates)
    rates = result.learning_rates[order]
    final = values[-1][order]  # (R, S)
    q25, med, q75 = _quartiles(final, metric)  # each (R,)
    ax.plot(np.repeat(rates, result.n_seeds), final.reshape(-1), "o", color="tab:blue",
            alpha=0.3, markersize=3, label="each seed")
    bad = ~np.isfinite(final)
    if np.any(bad):
        ax.plot(np.repeat(rates, result.n_seeds)[bad.reshape(-1)], np.ones(int(bad.sum())),
                "x", color="tab:red", markersize=6, clip_on=False,
                transform=ax.get_xaxis_transform(), label="went non-finite")
    ax.plot(rates, med, "o-", color="tab:blue", label="median over all seeds")
    if result.n_seeds > 1:
        ax.fill_between(rates, q25, q75, color="tab:blue", alpha=0.2, linewidth=0,
                        label="inter-quartile range")
    if shade is not None:
        frac = result.diverged[order].mean(axis=1)
        flagged = frac > 0.5 if shade == "most" else frac > 0.0
        edges = _log_edges(rates)
        label = f"non-finite ({'most' if shade == 'most' else 'some'} seeds)"
        for i in np.flatnonzero(flagged):
            ax.axvspan(edges[i], edges[i + 1], color="tab:red", alpha=0.15, linewidth=0,
                       label=label)
            label = None
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"final {metric}")
    if _use_log(log, metric, values[-1], owner):
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return fig


def heatmap(result, metric="loss", ax=None, log=None, cmap="viridis"):
    """A rate x epoch image of the median ``metric`` over seeds.

    Rows are the rates (smallest at the bottom), columns the epochs; the median
    is over all seeds (non-finite values count as the worst), and cells where
    it is non-finite (more than half of the seeds went non-finite) are grey.
    log: a logarithmic colour scale (default as in ``loss_curves``). Returns
    the Figure.
    """
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize

    owner = "plot_sweep.heatmap"
    values = _values(result, metric, owner)
    fig, ax = _axes(ax, owner)
    order = np.argsort(result.learning_rates)
    med = _quartiles(values, metric)[1][:, order].T  # (R, epochs)
    finite = med[np.isfinite(med)]
    colour_map = (colormaps[cmap] if isinstance(cmap, str) else cmap).with_extremes(
        bad="lightgrey")
    norm = None
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        use_log = _use_log(log, metric, finite, owner)
        norm = LogNorm(lo, hi) if use_log else Normalize(lo, hi)
    image = ax.pcolormesh(np.arange(values.shape[0] + 1) + 0.5, np.arange(len(order) + 1),
                          np.ma.masked_invalid(med), cmap=colour_map, norm=norm, shading="flat")
    ax.set_yticks(np.arange(len(order)) + 0.5)
    ax.set_yticklabels([f"{rate:.3g}" for rate in result.learning_rates[order]])
    _integer_epochs(ax)
    ax.set_ylabel("learning rate")
    ax.set_title(f"median {metric} over {result.n_seeds} seed(s); grey: non-finite median",
                 fontsize="medium")
    fig.colorbar(image, ax=ax, label=metric)
    return fig


# --- shared pieces ----------------------------------------------------------------
def _values(result, metric, owner):
    if not all(hasattr(result, a) for a in ("history", "learning_rates", "n_seeds")):
        raise TypeError(f"{owner}: result must be a SweepResult (from tn.sweep), got "
                        f"{type(result).__name__}.")
    if not isinstance(metric, str) or metric not in result.history:
        raise ValueError(f"{owner}: metric {metric!r} was not logged. Choose one of: "
                         f"{', '.join(result.history)}.")
    return result.history[metric]


def _axes(ax, owner):
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.0, 4.5), layout="constrained")
        return fig, fig.add_subplot()
    if not hasattr(ax, "plot") or not hasattr(ax, "figure"):
        raise TypeError(f"{owner}: ax must be a matplotlib Axes, got {type(ax).__name__}.")
    return ax.figure, ax


def _quartiles(values, metric):
    """(q25, median, q75) over the last axis (seeds), every seed counted: NaN and inf are
    the worst value for ``metric`` (+inf for losses, -inf for accuracies)."""
    return run_quartiles(values, infer_mode(metric), axis=-1)


def _mark_non_finite(ax, result, colours):
    """A red-edged x at the top of the axes, at the epoch each copy went non-finite."""
    epochs = np.asarray(result.diverged_epoch)
    label = "went non-finite"
    for r in range(result.n_rates):
        hit = epochs[r][np.asarray(result.diverged[r], dtype=bool)]
        if hit.size:
            ax.plot(hit, np.ones(hit.size), "x", color=colours[r], markeredgecolor="tab:red",
                    markersize=7, clip_on=False, transform=ax.get_xaxis_transform(),
                    label=label)
            label = None


def _integer_epochs(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")


def _use_log(log, metric, values, owner):
    if log is not None:
        if not isinstance(log, bool):
            raise ValueError(f"{owner}: log must be True, False or None, got {log!r}.")
        return log
    finite = np.asarray(values)[np.isfinite(values)]
    return "loss" in metric and finite.size > 0 and bool(np.all(finite > 0))


def _colours(rates):
    from matplotlib import colormaps

    logs = np.log10(rates)
    span = float(logs.max() - logs.min()) or 1.0
    cmap = colormaps["plasma"]
    return [cmap(0.85 * (v - logs.min()) / span) for v in logs]


def _log_edges(rates):
    """Cell edges around sorted rates: geometric midpoints, half a step past the ends."""
    logs = np.log10(rates)
    if logs.size == 1:
        return 10.0 ** np.array([logs[0] - 0.25, logs[0] + 0.25])
    mids = (logs[:-1] + logs[1:]) / 2
    first, last = 2 * logs[0] - mids[0], 2 * logs[-1] - mids[-1]
    return 10.0 ** np.concatenate([[first], mids, [last]])
