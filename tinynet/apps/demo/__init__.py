"""python -m tinynet demo: several learning rates training side by side, for a class.

One stacked model holds one copy of the network per rate; every copy starts
from the same weights and sees the same batches, so what differs on screen is
the rate alone. With a display a projector-sized window opens, with controls to
change a copy's rate while it trains, fork a copy at a new rate, pause and step
(tinynet.apps.demo.window). Without one, or with ``--save``, the run goes to a
file (tinynet.apps.demo.record): .gif, .mp4 or the final frame as .png. In
Jupyter, ``tinynet.apps.demo.notebook()`` shows the same demo with ipywidgets.
The state and controls live in DemoSession (tinynet.apps.demo.session), which
needs no display.

    python -m tinynet demo --rates 0.001,0.1,0.5 --dataset spirals --epochs 100
"""

import os

from tinynet.apps.demo.notebook import notebook
from tinynet.apps.demo.record import DEFAULT_PATH, FORMATS, check_path, write_file
from tinynet.apps.demo.session import DemoSession
from tinynet.apps.demo.setup import (
    DATASETS,
    DEFAULT_RATES,
    MAX_COPIES,
    OPTIMIZERS,
    SCHEDULES,
    make_dataset,
    parse_rates,
)

__all__ = ["DATASETS", "DEFAULT_PATH", "DEFAULT_RATES", "FORMATS", "MAX_COPIES", "OPTIMIZERS",
           "SCHEDULES", "DemoSession", "check_path", "has_display", "make_dataset", "notebook",
           "parse_rates", "run", "write_file"]


def has_display():
    """True when matplotlib can open a window here."""
    if os.name == "nt" or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        import matplotlib

        return matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo")
    return False


def run(rates=DEFAULT_RATES, dataset="spirals", optimizer="sgd", schedule="constant",
        epochs=60, save=None, batch_size=32, fps=5, seed=0, progress=True, live=None):
    """Show the demo in a window, or train it and write it to ``save``.

    rates: a comma-separated string or a list of floats (1 to 6). save: a path
    ending in .gif, .mp4 or .png; None opens a window when there is a display and
    otherwise writes DEFAULT_PATH (tinynet-out/demo/demo.gif, folders created).
    live: force (True) or refuse (False) the window; None decides from the display.
    Returns {"rates", "final_loss", "final_accuracy", "diverged", "grew", "stuck", "path"},
    path None when shown live.
    """
    rates = parse_rates(rates)
    if live is None:
        live = save is None and has_display()
    if not live:
        if save is None:
            os.makedirs(os.path.dirname(DEFAULT_PATH), exist_ok=True)
            save = DEFAULT_PATH
        save, _ = check_path(save)  # before anything slow: a bad path fails at once
    spares = MAX_COPIES - len(rates) if live else 0  # room for forks, in the window only
    session = DemoSession(rates, dataset=dataset, optimizer=optimizer, schedule=schedule,
                          epochs=epochs, batch_size=batch_size, seed=seed, spares=spares)
    if live:
        from tinynet.apps.demo.window import DemoWindow

        DemoWindow(session).show()
    else:
        write_file(session, save, fps=fps, progress=progress)
    shown = [k for k in range(session.n_copies) if session.active[k]]
    return {"rates": [session.rates[k] for k in shown],
            "final_loss": [float(session.loss[-1, k]) for k in shown],
            "final_accuracy": [float(session.accuracy[-1, k]) for k in shown],
            "diverged": [bool(session.diverged[k]) for k in shown],
            "grew": [bool(session.grew[k]) for k in shown],
            "stuck": [bool(session.stuck[k]) for k in shown],
            "path": None if live else save}

