"""Dead units per layer over the epochs: how a ReLU network loses (and regains) its units."""

import numpy as np

from tinynet.plot.regions import COLORS


def draw_dead_units(axes, epochs, dead, rates, title=None):
    """One panel per hidden layer: the share of dead units over the epochs, one line per rate.

    epochs (C,): the epochs the shares were counted at (0 = init); dead (C, R, S, L):
    the share of dead units (tn.diagnostics.dead_relu_fraction) of layer l for
    rate r and seed s; rates (R,). axes: L matplotlib axes. Each line is the
    median over the seeds, with its 25-75% band; the dots mark the share of
    seeds whose whole layer is dead (share 1), the absorbing state, where any is.
    """
    dead = np.asarray(dead, dtype=np.float64)
    epochs = np.asarray(epochs, dtype=np.float64)
    if dead.ndim != 4 or dead.shape[0] != epochs.size or dead.shape[1] != len(rates):
        raise ValueError(f"draw_dead_units: dead must be (epochs {epochs.size}, rates "
                         f"{len(rates)}, seeds, layers), got shape {dead.shape}.")
    if len(axes) != dead.shape[-1]:
        raise ValueError(f"draw_dead_units: need one axis per layer ({dead.shape[-1]}), "
                         f"got {len(axes)}.")
    for layer, ax in enumerate(axes):
        for r, rate in enumerate(rates):
            share = dead[:, r, :, layer]
            lo, mid, hi = np.percentile(share, [25, 50, 75], axis=-1)
            color = COLORS[r % len(COLORS)]
            ax.plot(epochs, mid, color=color, linewidth=1.4, label=f"lr {rate:g}")
            ax.fill_between(epochs, lo, hi, color=color, alpha=0.15, linewidth=0)
            whole = np.mean(share >= 1.0, axis=-1)
            some = whole > 0  # no dots along zero, where they would hide the lines
            ax.plot(epochs[some], whole[some], ".", color=color, markersize=3)
        ax.set_xscale("symlog", linthresh=10.0)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"{title + ': ' if title else ''}layer {layer + 1}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.set_xlabel("epoch")
    axes[0].set_ylabel("share of units dead")
    axes[0].legend(fontsize=7, loc="upper left")
    return axes
