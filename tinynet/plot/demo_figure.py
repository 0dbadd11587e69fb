"""The live demo's picture, sized for a projector: regions per copy, loss and accuracy.

Top row: the decision regions of every copy of the network (one panel per rate,
its frame in the rate's colour, "diverged" / "stuck" / "fork of B" in its
title). Below: the training loss (log scale) and the training accuracy side by
side, with an X where a copy went non-finite, a diamond where a fork starts and
a triangle where a rate was changed; the legend on the right names every copy.

DemoFigure reads a session's public attributes (see
tinynet.apps.demo.session.DemoSession) and never imports it; ``update()`` only
moves data into artists made once, so a frame costs one draw and no re-layout.
"""

import numpy as np

from tinynet.plot.palette import (
    CLASS_COLORS,
    CLASS_MARKERS,
    COPY_NAMES,
    FONT_LABEL,
    FONT_LEGEND,
    FONT_TICK,
    FONT_TITLE,
    RATE_COLORS,
    RATE_STYLES,
)

SIZE = (16.0, 9.0)  # inches; at DPI this is 1280 x 720 pixels, a 16:9 projector frame
DPI = 80
GREW_TEXT = "past 4x its best"  # the session's GREW rule, in words
CONTROLS_HEIGHT = 0.2  # share of the figure height kept free for widgets (window only)


def new_figure(pyplot=False):
    """A 16:9 figure: through pyplot (a window) or a plain Figure (files, notebooks)."""
    if pyplot:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=SIZE, dpi=DPI)
    from matplotlib.figure import Figure

    return Figure(figsize=SIZE, dpi=DPI)


class DemoFigure:
    """Draws a session onto ``fig``; call ``update()`` after every change.

    panels: the copies that get a region panel (default: every copy when
    controls=True, else the copies running at the start). controls: leave the
    bottom of the figure free for widgets. show_selected: draw the selected
    copy's frame and legend entry bold (default: when controls=True).
    """

    def __init__(self, fig, session, panels=None, controls=False, show_selected=None):
        self.fig, self.session = fig, session
        self.show_selected = controls if show_selected is None else show_selected
        k_all = range(session.n_copies)
        if panels is None:
            panels = list(k_all) if controls else [k for k in k_all if session.active[k]]
        self.panels = list(panels)
        bottom = CONTROLS_HEIGHT + 0.09 if controls else 0.08
        gs = fig.add_gridspec(2, 1, left=0.07, right=0.79, top=0.86, bottom=bottom,
                              hspace=0.32, height_ratios=(1.15, 1.0))
        top = gs[0].subgridspec(1, max(len(self.panels), 3), wspace=0.08)
        self._title_size = FONT_LABEL if len(self.panels) <= 4 else FONT_TICK
        low = gs[1].subgridspec(1, 2, wspace=0.22)
        self.title = fig.suptitle("", fontsize=FONT_TITLE, y=0.975)
        self._regions = {k: self._region_panel(fig.add_subplot(top[0, i]), k)
                         for i, k in enumerate(self.panels)}
        self.ax_loss = fig.add_subplot(low[0, 0])
        self.ax_acc = fig.add_subplot(low[0, 1])
        self._curves = {"loss": self._curve_axes(self.ax_loss, "training loss (log scale)"),
                        "accuracy": self._curve_axes(self.ax_acc, "training accuracy")}
        from matplotlib.ticker import FuncFormatter, NullFormatter

        self.ax_loss.set_yscale("log")  # ticks as 0.01, 0.1, 1: plain numbers, no mathtext
        self.ax_loss.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        self.ax_loss.yaxis.set_minor_formatter(NullFormatter())
        self.ax_acc.set_ylim(-0.02, 1.02)
        chance = 1.0 / session.n_classes
        self.ax_acc.axhline(chance, color="0.4", lw=1.5, ls=(0, (2, 3)), zorder=1)
        self.ax_acc.text(0.99, chance + 0.02, "chance", transform=self.ax_acc.get_yaxis_transform(),
                         ha="right", va="bottom", fontsize=FONT_TICK, color="0.3")
        handles = [self._curves["loss"]["line"][k] for k in k_all]
        self.legend = fig.legend(handles, [_short(session, k) for k in k_all], loc="upper left",
                                 bbox_to_anchor=(0.80, 0.86), fontsize=FONT_LEGEND,
                                 title="copy: rate", title_fontsize=FONT_LEGEND,
                                 handlelength=3.0, frameon=False)
        self.update()

    # --- building -----------------------------------------------------------------
    def _region_panel(self, ax, k):
        s = self.session
        from matplotlib.colors import ListedColormap

        xx, yy, _ = s.grid
        n = max(s.n_classes, 2)
        image = ax.imshow(np.zeros(xx.shape), origin="lower", aspect="auto",
                          extent=(xx.min(), xx.max(), yy.min(), yy.max()),
                          cmap=ListedColormap(CLASS_COLORS[:n]), vmin=-0.5, vmax=n - 0.5,
                          alpha=0.45, interpolation="nearest")
        for c in range(s.n_classes):
            pts = s.x[s.y == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=12, c=CLASS_COLORS[c], marker=CLASS_MARKERS[c],
                       edgecolors="0.15", linewidths=0.3)
        ax.set_xlim(xx.min(), xx.max())
        ax.set_ylim(yy.min(), yy.max())
        ax.xaxis.set_visible(False)  # no ticks to lay out on every frame
        ax.yaxis.set_visible(False)
        for spine in ax.spines.values():
            spine.set_color(RATE_COLORS[k])
        note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center",
                       fontsize=FONT_TITLE, fontweight="bold", color=RATE_COLORS[k],
                       bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
        title = ax.set_title("", fontsize=self._title_size, color=RATE_COLORS[k],
                             fontweight="bold")
        return {"ax": ax, "image": image, "note": note, "title": title}

    def _curve_axes(self, ax, ylabel):
        ax.set_xlabel("epoch", fontsize=FONT_LABEL)
        ax.set_ylabel(ylabel, fontsize=FONT_LABEL)
        ax.tick_params(labelsize=FONT_TICK)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.grid(True, alpha=0.3)
        arts = {"line": [], "x": [], "fork": [], "change": []}
        for k in range(self.session.n_copies):
            color, style = RATE_COLORS[k], RATE_STYLES[k]
            arts["line"].append(ax.plot([], [], color=color, ls=style, lw=3)[0])
            arts["x"].append(ax.plot([], [], ls="none", marker="X", ms=20, color=color,
                                     mec="white", mew=1.5, zorder=5)[0])
            arts["fork"].append(ax.plot([], [], ls="none", marker="D", ms=13, color=color,
                                        mec="black", mew=1.5, zorder=5)[0])
            arts["change"].append(ax.plot([], [], ls="none", marker="^", ms=13, color=color,
                                          mec="black", mew=1.0, zorder=5)[0])
        return arts

    # --- updating -----------------------------------------------------------------
    def update(self):
        """Move the session's current state into the artists (call, then draw)."""
        s = self.session
        self.title.set_text(f"{s.dataset}, {s.optimizer_name}, same start and batches: "
                            f"epoch {s.epoch}/{max(s.epochs, s.epoch)}")
        classes = s.region_classes() if self._regions else None
        for k, panel in self._regions.items():
            self._update_panel(k, panel, classes)
        epochs = np.arange(s.epoch + 1)
        for key, history in (("loss", s.loss), ("accuracy", s.accuracy)):
            arts = self._curves[key]
            for k in range(s.n_copies):
                values = history[:, k]
                arts["line"][k].set_data(epochs, values)
                arts["x"][k].set_data(*_point(values, s.diverged_epoch[k] if s.diverged[k]
                                              else None))
                fork = s.parent[k][1] if s.parent[k] is not None else None
                arts["fork"][k].set_data(*_point(values, fork))
                changes = [e for c, e, _ in s.rate_changes if c == k]
                arts["change"][k].set_data(changes, [_at(values, e) for e in changes])
        for ax in (self.ax_loss, self.ax_acc):
            ax.set_xlim(0, max(s.epochs, s.epoch, 1))
        finite = s.loss[np.isfinite(s.loss)]
        if finite.size:
            low, high = max(float(finite.min()), 1e-4), max(float(finite.max()), 1e-3)
            self.ax_loss.set_ylim(low / 1.6, high * 1.6)
        for text, k in zip(self.legend.get_texts(), range(s.n_copies)):
            text.set_text(_short(s, k))
            text.set_fontweight("bold" if self.show_selected and k == s.selected else "normal")

    def _update_panel(self, k, panel, classes):
        s = self.session
        name = COPY_NAMES[k]
        if not s.active[k]:
            title, note = f"{name}  free", "free:\nfork\ninto it"
        elif s.diverged[k]:
            title, note = f"{name}  lr {s.rates[k]:.3g}\ndiverged (ep {s.diverged_epoch[k]})", \
                "X\ndiverged"
        else:
            first = f"{name}  lr {s.rates[k]:.3g}"
            if s.parent[k] is not None:
                second = f"fork of {COPY_NAMES[s.parent[k][0]]}, ep {s.parent[k][1]}"
            else:
                second = ""
            if s.stuck[k]:
                second = f"stuck: {s.stuck_reason[k]}"
            elif s.grew[k]:
                second = f"loss grew {GREW_TEXT} (ep {s.grew_epoch[k]})"
            title, note = f"{first}\n{second}", ""
        running = bool(s.active[k] and not s.diverged[k])
        if running:
            panel["image"].set_data(classes[k].reshape(s.grid[0].shape))
        panel["image"].set_visible(running)
        panel["note"].set_text(note)
        panel["note"].set_color(RATE_COLORS[k] if s.active[k] else "0.45")
        panel["title"].set_text(title)
        selected = self.show_selected and k == s.selected and s.active[k]
        width = 6.0 if selected else 2.5
        for spine in panel["ax"].spines.values():
            spine.set_linewidth(width)


def _at(values, epoch):
    """values[epoch], or the last finite value before it (NaN if none)."""
    if epoch is None or epoch < 0:
        return np.nan
    head = values[:epoch + 1]
    finite = head[np.isfinite(head)]
    return float(finite[-1]) if finite.size else np.nan


def _point(values, epoch):
    """([epoch], [value]) for a marker, or two empty lists."""
    return ([], []) if epoch is None or epoch < 0 else ([epoch], [_at(values, epoch)])


def _short(s, k):
    """A legend entry: 'B: 0.05', 'B: 0.05 stuck', 'B: 50 diverged', 'E: free'."""
    state = s.state(k)
    if state == "free":
        return f"{COPY_NAMES[k]}: free"
    return f"{COPY_NAMES[k]}: {s.rates[k]:.3g}" + (f" {state}" if state else "")
