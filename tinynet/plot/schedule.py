"""Figures for lessons and notebooks, drawn without a display.

Every function builds a ``matplotlib.figure.Figure`` directly (no pyplot state),
so it works on a headless machine; save it with ``fig.savefig(path)``.
matplotlib is imported inside the functions: ``import tinynet`` does not need it.
"""

import numbers

import numpy as np

from tinynet import _checks


def schedules(schedules, num_steps, labels=None, ax=None, log=False):
    """Plot learning-rate schedules over ``num_steps`` updates, on one axes.

    schedules: a schedule, a float (a constant rate), or a list of them.
    labels: one legend label per schedule (default: the schedules' reprs, shortened).
    ax: a matplotlib Axes to draw into (default: a new Figure with one Axes).
    log: a logarithmic y axis (rates of exactly 0 are left out there).
    Returns the Figure. x axis: update (step) 0 .. num_steps-1; y axis: learning rate.
    """
    from tinynet import schedules as sched_mod

    owner = "plot.schedules"
    if isinstance(schedules, (sched_mod.Schedule, numbers.Real)):
        schedules = [schedules]
    if isinstance(schedules, (str, bytes, dict)) or not hasattr(schedules, "__iter__"):
        raise TypeError(f"{owner}: schedules must be a schedule, a float or a list of them, "
                        f"got {type(schedules).__name__}.")
    items = []
    for i, s in enumerate(schedules):
        if isinstance(s, bool) or not isinstance(s, (sched_mod.Schedule, numbers.Real)):
            raise TypeError(f"{owner}: schedules[{i}] must be a Schedule or a float learning "
                            f"rate, got {type(s).__name__} {s!r}.")
        items.append(sched_mod.get(s))
    if not items:
        raise ValueError(f"{owner}: schedules must not be empty.")
    num_steps = _checks.positive_int(num_steps, "num_steps", owner)
    if labels is None:
        labels = [_short(repr(s)) for s in items]
    elif isinstance(labels, str) or len(labels) != len(items):
        raise ValueError(f"{owner}: labels must be a list with one label per schedule "
                         f"({len(items)}), got {labels!r}.")
    if not isinstance(log, bool):
        raise TypeError(f"{owner}: log must be True or False, got {log!r}.")

    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.0, 4.0), layout="constrained")
        ax = fig.add_subplot()
    elif not hasattr(ax, "plot") or not hasattr(ax, "figure"):
        raise TypeError(f"{owner}: ax must be a matplotlib Axes, got {type(ax).__name__}.")
    else:
        fig = ax.figure

    steps = np.arange(num_steps)
    for s, label in zip(items, labels, strict=True):
        v = s.values(num_steps)
        if log:
            v = np.where(v > 0.0, v, np.nan)
        ax.plot(steps, v, label=str(label), linewidth=1.5)
    ax.set_xlabel("update (step)")
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    ax.set_xlim(0, max(num_steps - 1, 1))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _short(text, width=60):
    return text if len(text) <= width else text[: width - 3] + "..."
