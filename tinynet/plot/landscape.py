"""The figure of a loss surface: contours over a plane with the training paths on it."""

import numpy as np

from tinynet.plot.palette import RATE_COLORS, RATE_STYLES

_REQUIRED = ("alpha", "beta", "loss", "paths", "labels")


def loss_surface(result, ax=None, title=None, levels=20):
    """Contours of result["loss"] over (alpha, beta), each path drawn with its label.

    result: the dict ``tn.diagnostics.loss_surface`` returns. Contour levels
    are spaced evenly in log(loss) between the grid's smallest and largest
    finite values (linearly when some loss is <= 0); each path is a line with
    a circle at its start and a star at its end. Axis labels carry the share
    of the paths' variance along each direction. ax: a matplotlib Axes to draw
    into (default: a new Figure). Returns the Figure.
    """
    from matplotlib.figure import Figure

    missing = [key for key in _REQUIRED if key not in result] if isinstance(result, dict) \
        else list(_REQUIRED)
    if missing:
        raise TypeError(f"plot.loss_surface: result must be the dict "
                        f"tn.diagnostics.loss_surface returns; missing {missing}.")
    if ax is None:
        fig = Figure(figsize=(6.4, 5.4))
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    alpha, beta = np.asarray(result["alpha"]), np.asarray(result["beta"])
    loss = np.asarray(result["loss"], dtype=np.float64)
    finite = loss[np.isfinite(loss)]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        if hi > lo:
            ticks = (np.geomspace(lo, hi, levels) if lo > 0 else np.linspace(lo, hi, levels))
            filled = ax.contourf(alpha, beta, np.where(np.isfinite(loss), loss, hi),
                                 levels=ticks, cmap="viridis", alpha=0.85)
            ax.contour(alpha, beta, loss, levels=ticks, colors="white", linewidths=0.4)
            fig.colorbar(filled, ax=ax, label="loss", format="%.3g")
    for i, (coords, label) in enumerate(zip(result["paths"], result["labels"])):
        coords = np.asarray(coords)
        color, style = RATE_COLORS[i % len(RATE_COLORS)], RATE_STYLES[i % len(RATE_STYLES)]
        if i % len(RATE_COLORS) == 0:
            color = "white"  # black would vanish on the dark end of the colour map
        ax.plot(coords[:, 0], coords[:, 1], color=color, linestyle=style, linewidth=1.8,
                label=str(label))
        ax.plot(coords[:1, 0], coords[:1, 1], "o", color=color, markeredgecolor="black")
        ax.plot(coords[-1:, 0], coords[-1:, 1], "*", color=color, markersize=13,
                markeredgecolor="black")
    share = result.get("explained_variance")
    names = ("d1", "d2") if result.get("kind") != "pca" else ("PC1", "PC2")
    labels = [name if share is None else f"{name} ({100 * float(s):.0f}% of the path's variance)"
              for name, s in zip(names, share if share is not None else (None, None))]
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title or "Loss over a plane through the training paths (o start, * end)")
    ax.legend(loc="best", fontsize="small")
    return fig
