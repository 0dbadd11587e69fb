"""Every figure tinynet draws: runs, schedules, sweeps, range tests, decision regions.

Each function builds a ``matplotlib.figure.Figure`` directly (no pyplot state),
so it works on a headless machine; matplotlib is imported inside the functions,
so ``import tinynet`` does not need it. Figures read results (a SweepResult, an
LRFinderResult, a model's predictions) and never import the tools that made them.
"""

from tinynet.plot import regions, sweep
from tinynet.plot.landscape import loss_surface
from tinynet.plot.range_test import lr_find
from tinynet.plot.runs import histories, history, update_ratios
from tinynet.plot.schedule import schedules

__all__ = ["histories", "history", "loss_surface", "lr_find", "regions", "schedules", "sweep",
           "update_ratios"]
