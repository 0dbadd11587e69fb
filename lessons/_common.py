"""Plumbing shared by the lesson scripts, kept out of their way.

Every lesson ends with ``_common.cli(main)`` and starts its ``main`` with
``out = _common.start(out_dir, backend)``; figures go through ``figure`` and
``save``. Only tinynet's public API and matplotlib's Agg backend are used, so a
lesson runs on a machine without a display.

    python lessons/NN_topic.py [--quick] [--out DIR] [--backend numpy|cupy]
"""

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw into files; no window, works over ssh and in CI

from matplotlib.figure import Figure  # noqa: E402

import tinynet as tn  # noqa: E402


def cli(main, argv=None):
    """Parse --quick, --out DIR, --backend and call ``main`` with them."""
    doc = sys.modules[main.__module__].__doc__ or ""
    parser = argparse.ArgumentParser(description=doc.strip().split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds: fewer epochs, seeds and rates (used by the tests)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for the figures (default: outputs/<lesson>)")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                        help="array backend to train on (default: numpy)")
    args = parser.parse_args(argv)
    kwargs = {"quick": args.quick, "backend": args.backend}
    if args.out is not None:
        kwargs["out_dir"] = args.out
    try:
        return main(**kwargs)
    except tn.BackendError as exc:
        parser.exit(2, f"{parser.prog}: {exc}\n")


def start(out_dir, backend="numpy"):
    """Select the array backend and create the output folder; returns it as a Path."""
    tn.set_backend(backend)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def figure(nrows=1, ncols=1, size=(6.4, 4.2), **kwargs):
    """(Figure, axes) without pyplot's global state; axes squeezed as in plt.subplots."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def save(fig, out, name):
    """Write ``fig`` to out/name as a PNG, print the path and return it as a string."""
    path = Path(out) / name
    fig.savefig(path, dpi=110)
    print(f"  figure: {path}")
    return str(path)
