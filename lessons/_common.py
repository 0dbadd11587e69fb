"""Plumbing shared by the lesson scripts, kept out of their way.

Every lesson ends with ``_common.cli(main)`` and starts its ``main`` with
``out = _common.start(out_dir, backend)``; figures go through ``figure`` and
``save``. Only tinynet's public API and matplotlib are used.

    python lessons/NN_topic.py [--quick] [--out DIR] [--backend numpy|cupy]
                               [--threads N] [--no-show]

Where figures go:
- always into PNG files (``--quick`` runs write to ``<default folder>-quick``, so
  they never overwrite the full run's figures);
- also on screen when there is one: in Jupyter (the lessons are jupytext
  "percent" notebooks) each figure is displayed under its cell; from a terminal
  with a display the windows open at the end of the run (``--no-show`` skips
  them). Without a display (CI, ssh, ``MPLBACKEND=Agg``) nothing is shown.
In a notebook the command line is the kernel's, so the options come from the
environment variable ``TINYNET_LESSON_ARGS`` (e.g. "--quick --out /tmp/x").
"""

import argparse
import inspect
import os
import shlex
import sys
from pathlib import Path

import matplotlib
import numpy as np

import tinynet as tn

_SHOW = {"on": False, "paths": []}  # on: show figures; paths: windows to open at the end


def in_notebook():
    """True inside a Jupyter kernel."""
    return "ipykernel" in sys.modules


def has_display():
    """True when figures can be shown: a notebook, or a GUI matplotlib backend."""
    if in_notebook():
        return True
    if os.environ.get("MPLBACKEND", "").lower() == "agg" or os.environ.get("CI"):
        return False
    if os.name != "nt" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo")


def cli(main, argv=None):
    """Parse the options and call ``main`` with them; show the figures at the end."""
    doc = sys.modules[main.__module__].__doc__ or ""
    parser = argparse.ArgumentParser(description=doc.strip().split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds: fewer epochs, seeds and rates (used by the tests)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for the figures (default: outputs/<lesson>, "
                             "outputs/<lesson>-quick with --quick)")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                        help="array backend to train on (default: numpy)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="CPU threads for the array library (default: tinynet's)")
    parser.add_argument("--no-show", action="store_true",
                        help="only write the PNG files, even when a display is available")
    if argv is None and in_notebook():
        argv = shlex.split(os.environ.get("TINYNET_LESSON_ARGS", ""))
    args = parser.parse_args(argv)
    kwargs = {"quick": args.quick, "backend": args.backend}
    if args.out is not None:
        kwargs["out_dir"] = args.out
    elif args.quick:
        kwargs["out_dir"] = quick_folder(main)
    show = not args.no_show and has_display()
    try:
        if args.threads is not None:
            tn.set_threads(args.threads)
        _SHOW.update(on=show, paths=[])
        result = main(**kwargs)
    except (tn.BackendError, ValueError) as exc:
        parser.exit(2, f"{parser.prog}: {exc}\n")
    if show and not in_notebook():
        _open_windows()
    return result


def quick_folder(main):
    """main's default out_dir with "-quick" appended."""
    default = inspect.signature(main).parameters["out_dir"].default
    return str(default).rstrip("/\\") + "-quick"


def start(out_dir, backend="numpy"):
    """Select the array backend and create the output folder; returns it as a Path."""
    tn.set_backend(backend)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def figure(nrows=1, ncols=1, size=(6.4, 4.2), **kwargs):
    """(Figure, axes) without pyplot's global state; axes squeezed as in plt.subplots."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def save(fig, out, name):
    """Write ``fig`` to out/name as a PNG, print the path, show it; returns the path."""
    path = Path(out) / name
    fig.savefig(path, dpi=110)
    print(f"  figure: {path}")
    if _SHOW["on"]:
        if in_notebook():
            from IPython.display import Image, display

            display(Image(filename=str(path)))  # the PNG itself: shown as saved
        else:
            _SHOW["paths"].append(path)
    return str(path)


def _open_windows():
    """Open every saved figure in a window (the PNGs, so each looks as saved)."""
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    for path in _SHOW["paths"]:
        image = mpimg.imread(path)
        fig = plt.figure(figsize=(image.shape[1] / 110, image.shape[0] / 110))
        fig.figimage(image)
        fig.canvas.manager.set_window_title(Path(path).name)
    plt.show()


# --- counts and differences over seeds ------------------------------------------------
# two-sided 95% quantiles of Student's t for 1 .. 30 degrees of freedom (beyond 30
# the value for 30, a little conservative)
T95 = (12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14,
       2.13, 2.12, 2.11, 2.10, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05,
       2.05, 2.04)


def count(k, n):
    """'k of n [lo%, hi%]': a count of seeds with its Wilson 95% interval."""
    lo, hi = tn.metrics.wilson_interval(int(k), int(n))
    return f"{int(k)} of {int(n)} [{lo:.0%}, {hi:.0%}]"


def distinguishable(k_a, n_a, k_b, n_b):
    """True when the Wilson 95% intervals of k_a of n_a and k_b of n_b do not overlap."""
    lo_a, hi_a = tn.metrics.wilson_interval(int(k_a), int(n_a))
    lo_b, hi_b = tn.metrics.wilson_interval(int(k_b), int(n_b))
    return hi_a < lo_b or hi_b < lo_a


def more_often(k_a, n_a, k_b, n_b):
    """True when k_a of n_a is above k_b of n_b beyond their 95% intervals (as reproduce's)."""
    return distinguishable(k_a, n_a, k_b, n_b) and k_a / n_a > k_b / n_b


def clear(d):
    """+1 / -1 when the paired differences d (one per seed) are clearly above / below 0.

    "Clearly": |mean d| > t * sd(d) / sqrt(n), a paired t-test at 95%, so the
    difference is larger than its seed-to-seed spread; otherwise 0 (cannot
    tell). One seed, or a non-finite difference, can never tell. With 2 seeds
    t is 12.7, so a quick run rarely gets a verdict; that is the point.
    """
    d = np.asarray(d, float)
    if len(d) < 2 or not np.all(np.isfinite(d)):
        return 0
    half = T95[min(len(d) - 1, len(T95)) - 1] * np.std(d, ddof=1) / np.sqrt(len(d))
    return 0 if abs(np.mean(d)) <= half else int(np.sign(np.mean(d)))


def compare(a, b):
    """+1 when the losses ``a`` are clearly below ``b``, -1 clearly above, 0 cannot tell.

    a, b: one loss per seed, paired (the same seed's initial weights and batch
    order); clear() of d = ln a - ln b per seed.
    """
    return -clear(np.log(np.asarray(a, float)) - np.log(np.asarray(b, float)))


# --- the closing takeaway ----------------------------------------------------------------
def takeaway(plain, stats=""):
    """Print a lesson's closing takeaway and return it as one string.

    plain: two or three sentences in plain words, each chosen by the lesson from
    its own numbers; stats: one line with the counts and intervals behind them,
    printed below for those who want them.
    """
    lines = ["", "Takeaway:"] + [f"  {sentence}" for sentence in plain]
    if stats:
        lines.append(f"  (the numbers: {stats})")
    text = "\n".join(lines)
    print(text)
    return text


def too_small(n_seeds, needed, full_seeds, what="its verdicts"):
    """The warning a run too small for its verdict prints ('' when it is large enough).

    n_seeds: the seeds this run has; needed: the fewest that can support the
    verdict; full_seeds: how many the full run uses; what: what cannot be judged.
    """
    if n_seeds >= needed:
        return ""
    return (f"This run has {n_seeds} seed(s), too few to judge {what}; the full run "
            f"(without --quick) uses {full_seeds}.")
