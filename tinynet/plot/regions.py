"""Decision regions: the plane coloured by the class a model predicts."""

import numpy as np

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")  # classes


def grid(x, n=150, pad=0.1):
    """(xx, yy, points (n*n, 2)): a square grid over the data's range, padded by ``pad``."""
    lo, hi = np.min(x, axis=0), np.max(x, axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    xs = np.linspace(lo[0] - pad * span[0], hi[0] + pad * span[0], n)
    ys = np.linspace(lo[1] - pad * span[1], hi[1] + pad * span[1], n)
    xx, yy = np.meshgrid(xs, ys)
    return xx, yy, np.stack([xx.reshape(-1), yy.reshape(-1)], axis=1)


def draw_regions(ax, xx, yy, classes, x, y, n_classes, title=None):
    """Colour the plane by predicted class (classes: (n*n,) ints) and scatter (x, y) on it."""
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap(COLORS[:max(n_classes, 2)])
    ax.contourf(xx, yy, classes.reshape(xx.shape), levels=np.arange(-0.5, n_classes, 1.0),
                cmap=cmap, alpha=0.3)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap=cmap, s=6, edgecolors="none",
               vmin=-0.5, vmax=n_classes - 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def predicted_classes(model, points):
    """argmax class of every point, (K, P) for a stacked model or (P,)."""
    out = model.predict(points, batch_size=4096)
    return np.argmax(out, axis=-1) if out.shape[-1] > 1 else (out[..., 0] > 0.5).astype(int)
