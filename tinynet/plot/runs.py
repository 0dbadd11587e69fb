"""Figures of training runs: one History, or several side by side.

``history(h)`` draws the loss and every metric per epoch, one panel each
(validation dashed), and the learning rate below; ``histories({"lr 0.1": h1,
...})`` puts several runs on the same panels, one colour per run. A stacked
History (K copies) is drawn copy by copy, or as the median over all copies with
the band between the quartiles (``band=True``). Epochs where a value is NaN or
infinite are marked with an x at the top of the panel: the curve cannot show
them, and hiding them would make a run that blew up look like one that stopped.

Reads only ``h.history`` and ``h.epoch``, so it draws any object shaped like a
tinynet History.
"""

import numpy as np

RATE_KEY = "lr"


def history(h, band=None, title=None):
    """Loss and metrics per epoch (one panel each, validation dashed) and the rate below.

    h: a History from ``fit``. band: for a stacked History, True draws the
    median over all copies and the band between the quartiles; False one line
    (and one colour) per copy; None picks the band when there are more than 6
    copies. Returns the Figure.
    """
    owner = "plot.history"
    if not _is_history(h):
        hint = " Pass the History itself, not h.history." if isinstance(h, dict) else ""
        raise TypeError(f"{owner}: h must be a History (what fit returns), got "
                        f"{type(h).__name__}.{hint}")
    _check_band(band, owner)
    k = _copies(h)
    if k > 1 and not (band if band is not None else k > 6):
        runs = {f"copy {j}": _CopyView(h, j) for j in range(k)}
        return histories(runs, band=False, title=title)
    return histories({"": h}, band=band, title=title)


def histories(runs, band=None, title=None, keys=None):
    """Several runs on shared panels, one colour per run: {label: History}.

    keys: the logged values to draw (default: every key but the rate); each
    key gets a panel, its "val_" twin is drawn dashed on the same panel. band:
    as in ``history`` for stacked runs. Returns the Figure.
    """
    owner = "plot.histories"
    if not isinstance(runs, dict) or not runs:
        raise TypeError(f"{owner}: runs must be a non-empty dict {{label: History}}, got "
                        f"{type(runs).__name__}.")
    for label, h in runs.items():
        if not _is_history(h):
            raise TypeError(f"{owner}: runs[{label!r}] must be a History, got "
                            f"{type(h).__name__}.")
    _check_band(band, owner)
    if keys is None:
        keys = [k for h in runs.values() for k in h.history
                if k != RATE_KEY and not k.startswith("val_")]
    else:
        logged = {k for h in runs.values() for k in h.history}
        for key in keys:
            if key not in logged:
                raise ValueError(f"{owner}: {key!r} was not logged; the runs have "
                                 f"{', '.join(sorted(logged))}.")
    keys = list(dict.fromkeys(k[4:] if k.startswith("val_") else k for k in keys))
    fig, panels, ax_rate = _figure(len(keys))
    for (label, h), colour in zip(runs.items(), _colours(len(runs))):
        epochs = np.asarray(h.epoch, dtype=np.float64) + 1.0  # numbered as the log numbers them
        for key, ax in zip(keys, panels):
            for name, style in ((key, "-"), ("val_" + key, "--")):
                if name in h.history:
                    _draw(ax, epochs, _matrix(h.history[name]), colour, style,
                          f"{label} {name}".strip(), band)
        if RATE_KEY in h.history:
            _draw(ax_rate, epochs, _matrix(h.history[RATE_KEY]), colour, "-",
                  label or "lr", band)
    for key, ax in zip(keys, panels):
        ax.set_title(key)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        ax.set_xlabel("epoch")
    ax_rate.set_title("learning rate (last update of each epoch)")
    ax_rate.set_xlabel("epoch")
    rates = [np.asarray(line.get_ydata(), dtype=float) for line in ax_rate.get_lines()]
    if rates and all(np.all(r[np.isfinite(r)] > 0) for r in rates):
        ax_rate.set_yscale("log")
    ax_rate.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def update_ratios(h, reference=1e-3, ax=None, title=None):
    """|update| / |W| per layer and per update, from a History that ran UpdateStats.

    One line per layer (a stacked run: the median over all copies, with the
    quartile band), on a log axis, and a dotted line at ``reference`` (the rule
    of thumb, 1e-3). ax: an Axes to draw into (default: a new Figure). Returns
    the Figure.
    """
    stats = getattr(h, "update_stats", None)
    if not stats:
        raise ValueError("plot.update_ratios: this History has no update_stats; train with "
                         "callbacks=[tn.callbacks.UpdateStats()].")
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.0, 4.5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    steps, ratio = stats["step"], stats["ratio"]
    for j, (name, colour) in enumerate(zip(stats["layers"], _colours(len(stats["layers"])))):
        values = ratio[:, j].reshape(len(steps), -1)
        _draw(ax, steps, values, colour, "-", f"layer {name}", band=values.shape[1] > 1)
    ax.axhline(reference, color="0.3", linestyle=":", label=f"rule of thumb {reference:g}")
    ax.set_yscale("log")
    ax.set_xlabel("update")
    ax.set_ylabel("|update| / |W|")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def _is_history(h):
    """Shaped like a History: what these figures read (module docstring)."""
    return hasattr(h, "history") and hasattr(h, "epoch")


def _check_band(band, owner):
    if band is not None and not isinstance(band, bool):
        raise TypeError(f"{owner}: band must be True, False or None, got {band!r}.")


class _CopyView:
    """Copy j of a stacked History, shaped like a single-model History."""

    def __init__(self, h, j):
        self.epoch = h.epoch
        self.history = {k: [np.atleast_1d(v)[j] for v in values]
                        for k, values in h.history.items()}


def _copies(h):
    first = next(iter(h.history.values()), [])
    return int(np.size(first[0])) if len(first) else 1


def _matrix(values):
    """Per-epoch values as a float array (epochs, copies)."""
    a = np.asarray([np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in values])
    return a.reshape(a.shape[0], -1)


def _draw(ax, epochs, values, colour, style, label, band):
    """One curve per copy, or the median over all copies with the quartile band."""
    k = values.shape[1]
    use_band = band if band is not None else k > 6
    finite = np.isfinite(values)
    if use_band and k > 1:
        # over all copies: a non-finite copy counts as the worst (+inf), not as absent
        q1, med, q3 = _quartiles_all_runs(values)
        ax.plot(epochs, np.where(np.isfinite(med), med, np.nan), style, color=colour,
                label=f"{label} (median of {k})")
        ax.fill_between(epochs, np.where(np.isfinite(q1), q1, np.nan),
                        np.where(np.isfinite(q3), q3, np.nan), color=colour, alpha=0.2)
    else:
        for j in range(k):
            ax.plot(epochs, np.where(finite[:, j], values[:, j], np.nan), style, color=colour,
                    label=label if j == 0 else None, alpha=1.0 if k == 1 else 0.6)
    bad = ~np.all(finite, axis=1)
    if np.any(bad):
        ax.plot(epochs[bad], np.full(int(bad.sum()), 1.0), "x", color=colour, markersize=9,
                transform=ax.get_xaxis_transform(), clip_on=False,
                label=f"{label}: non-finite".strip(": "))


def _quartiles_all_runs(values):
    """Quartiles over axis 1, a non-finite value ranked as +inf (the worst loss).

    The ranks are those of all runs, so a blown-up run moves the median up
    instead of vanishing from it; a quantile that falls on such a run is inf.
    """
    top = np.finfo(np.float64).max
    ranked = np.where(np.isfinite(values), values, top)
    q = np.quantile(ranked, [0.25, 0.5, 0.75], axis=1)
    return np.where(q >= top / 2, np.inf, q)


def _colours(n):
    """Okabe-Ito, a palette that stays distinct for colour-blind readers."""
    palette = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
               "#000000")
    return [palette[i % len(palette)] for i in range(n)]


def _figure(n_panels):
    """(Figure, [one Axes per key], the rate's Axes): keys side by side, the rate below."""
    from matplotlib.figure import Figure

    cols = max(n_panels, 1)
    fig = Figure(figsize=(4.5 * cols, 6.0), layout="constrained")
    grid = fig.add_gridspec(2, cols, height_ratios=(3, 1.4))
    panels = [fig.add_subplot(grid[0, j]) for j in range(n_panels)]
    return fig, panels, fig.add_subplot(grid[1, :])
