"""The figure of a learning-rate range test (``tn.lr_find``)."""

import math

import numpy as np


def lr_find(result, ax=None):
    """Raw and smoothed loss of an LRFinderResult against the rate, a marker per suggestion.

    The x axis is logarithmic. ax: a matplotlib Axes to draw into (default: a new
    Figure). Returns the Figure.
    """
    from matplotlib.figure import Figure

    owner = "plot.lr_find"
    if not all(hasattr(result, key) for key in ("learning_rates", "losses", "smoothed_losses",
                                                  "suggestions", "stopped_early")):
        raise TypeError(f"{owner}: result must be an LRFinderResult (what tn.lr_find returns), "
                        f"got {type(result).__name__}.")
    if ax is None:
        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.add_subplot(1, 1, 1)
    elif not hasattr(ax, "plot") or not hasattr(ax, "figure"):
        raise TypeError(f"{owner}: ax must be a matplotlib Axes or None, got "
                        f"{type(ax).__name__}.")
    else:
        fig = ax.figure
    rates = result.learning_rates
    raw = result.losses.reshape(rates.shape[0], -1)
    smooth = result.smoothed_losses.reshape(rates.shape[0], -1)
    stacked = raw.shape[1] > 1
    markers = {"valley": "o", "steepest": "v", "min_div_10": "s"}
    for j in range(raw.shape[1]):
        tag = f" (copy {j})" if stacked else ""
        line, = ax.plot(rates, smooth[:, j], label=f"smoothed loss{tag}")
        ax.plot(rates, raw[:, j], color=line.get_color(), alpha=0.3, linewidth=0.8,
                label=f"raw loss{tag}" if j == 0 else None)
        for name, marker in markers.items():
            lr = float(np.atleast_1d(result.suggestions[name])[j])
            if not math.isfinite(lr):
                continue
            finite = np.isfinite(smooth[:, j])
            if not np.any(finite):
                continue
            at = np.interp(math.log(lr), np.log(rates[finite]), smooth[finite, j])
            ax.plot([lr], [at], marker=marker, linestyle="none", color="black",
                    label=f"{name}: {lr:.3g}" if not stacked or j == 0 else None)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("Learning-rate range test" + (" (stopped early)" if np.any(
        result.stopped_early) else ""))
    ax.legend(loc="best", fontsize="small")
    return fig
