"""The ``tinynet`` command (also ``python -m tinynet``).

    tinynet reproduce [--out DIR] [--seeds N] [--epochs N] [--samples N] [--backend numpy|cupy]
                      [--workers N] [--quick] [--no-progress]
    tinynet demo [--rates 0.001,0.1,0.5] [--dataset spirals] [--optimizer sgd]
                 [--schedule constant] [--epochs N] [--save FILE.gif|.mp4|.png] [--no-progress]
    tinynet lessons [NN [--quick] [--out DIR]]

Argument parsing only; the work is in tinynet.apps.reproduce, tinynet.apps.demo and the
lesson scripts. A mistake the user made (a folder that cannot be written, a
bad number, an unknown backend) ends with one line on stderr and exit code 2.
"""

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

DEFAULT_OUT = os.path.join("tinynet-out", "reproduce")
PACKAGE = Path(__file__).resolve().parent.parent  # the tinynet package this file belongs to


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tinynet",
        description="tinynet: see what the learning rate does to a small neural network.")
    parser.add_argument("--threads", metavar="N", type=int, default=None,
                        help="CPU threads for the array library, before the command "
                             "(default: by the machine's load; see tn.set_threads)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rep = sub.add_parser(
        "reproduce", help="the 10x10x10x10x4 learning-rate experiment, with a measured report",
        description="Train the post's network at 0.001, 0.01, 0.1, 0.4, 0.5 and on a log grid, "
                    "raw and standardised inputs, many seeds; write figures, results.csv, "
                    "results.json and REPORT.md.")
    rep.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                     help=f"output folder (default: {DEFAULT_OUT})")
    rep.add_argument("--seeds", metavar="N", type=int, default=None,
                     help="seeds per cell (default 20; the grid uses min(2, N))")
    rep.add_argument("--epochs", metavar="N", type=int, default=None,
                     help="epochs per run (default 200, as in the post; the longer budget is 5x)")
    rep.add_argument("--backend", metavar="NAME", default=None,
                     help="array backend: numpy (default) or cupy")
    rep.add_argument("--samples", metavar="N", type=int, default=None,
                     help="data set size (default 1000); more points = more updates per epoch")
    rep.add_argument("--workers", metavar="N", type=int, default=None,
                     help="processes training side by side (default: 2 on a CPU with 2+ "
                          "cores, 1 on a GPU); the numbers do not depend on it")
    rep.add_argument("--quick", action="store_true",
                     help="a few seconds on a tiny grid (for tests; the numbers mean little)")
    rep.add_argument("--no-progress", action="store_true",
                     help="no progress output (by default a bar on a terminal, else one line "
                          "per sweep)")
    rep.set_defaults(func=_reproduce)

    from tinynet.apps import demo

    dem = sub.add_parser(
        "demo", help="several learning rates training side by side, live or into a file",
        description="Decision regions, loss and accuracy of several rates (same start, same "
                    "batches), updated every epoch. With a display: a window with a rate "
                    "slider, fork, pause and step. Without one (or with --save): a file, "
                    f"by default {demo.DEFAULT_PATH}.")
    dem.add_argument("--rates", default=demo.DEFAULT_RATES,
                     help=f"comma-separated learning rates, 1 to {demo.MAX_COPIES} "
                          f"(default: {demo.DEFAULT_RATES})")
    dem.add_argument("--dataset", choices=demo.DATASETS, default="spirals")
    dem.add_argument("--optimizer", choices=demo.OPTIMIZERS, default="sgd")
    dem.add_argument("--schedule", choices=demo.SCHEDULES, default="constant",
                     help="a learning-rate schedule scaled to each rate (default: constant)")
    dem.add_argument("--epochs", metavar="N", type=int, default=60)
    dem.add_argument("--save", metavar="FILE", default=None,
                     help="write FILE instead of opening a window: .gif (animation), .mp4 "
                          "(video, needs ffmpeg) or .png (the final frame)")
    dem.add_argument("--no-progress", action="store_true", help="no progress bar")
    dem.set_defaults(func=_demo)

    les = sub.add_parser("lessons", help="list the lesson scripts, or run one",
                         description="Without NN: list lessons/NN_*.py. With NN: run that "
                                     "lesson with this Python.")
    les.add_argument("number", metavar="NN", nargs="?", default=None,
                     help="the lesson to run, e.g. 3 or 03")
    les.add_argument("--quick", action="store_true", help="the lesson's short version")
    les.add_argument("--out", metavar="DIR", default=None, help="the lesson's output folder")
    les.add_argument("--backend", metavar="NAME", default=None, help="numpy or cupy")
    les.set_defaults(func=_lessons)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code (0 success, 2 bad input)."""
    shadow = shadowing_message()  # first: building the parser imports the commands
    if shadow is not None:
        command = next((a for a in (sys.argv[1:] if argv is None else argv)
                        if not a.startswith("-")), None)
        print(f"tinynet{' ' + command if command else ''}: error: {shadow}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from tinynet.backend import BackendError  # by name: the handler itself must never fail

    try:
        if args.threads is not None:
            from tinynet.threads import set_threads

            set_threads(args.threads)
        return args.func(args)
    except (ValueError, TypeError, OSError, BackendError) as exc:
        message = _one_line(exc)
        if message.startswith(args.command + ": "):
            message = message[len(args.command) + 2:]
        print(f"tinynet {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tinynet {args.command}: interrupted; only finished files were written.",
              file=sys.stderr)
        return 130


def tn_root():
    """The folder of the tinynet package this command runs from."""
    return str(PACKAGE)


def shadowing_message():
    """None when ``import tinynet`` gives this command's own package, else what to do (one line).

    The usual cause: running from a folder that holds a folder named tinynet/,
    such as the clone of the repository itself (cd into it, or out of its
    parent). Python's path search puts the current folder first, and a folder
    without __init__.py becomes a namespace package that hides an editable
    install (setuptools' finder is consulted only after the path search). The
    submodules still load from the real package, so the failure used to come
    late, as "module 'tinynet' has no attribute 'datasets'".
    """
    import tinynet

    file = getattr(tinynet, "__file__", None)
    if file is not None and Path(file).resolve().parent == PACKAGE:
        return None
    if file is None:
        folders = ", ".join(str(p) for p in getattr(tinynet, "__path__", [])) or "?"
        found = f"the folder {folders} (no __init__.py)"
    else:
        found = f"{file}"
    return (f"'import tinynet' finds {found} instead of the tinynet package at {PACKAGE}; it "
            "shadows the package. Run the command from another folder (or rename that one).")


def _one_line(exc):
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _reproduce(args):
    from tinynet.apps import reproduce

    if args.seeds is not None and args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}.")
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}.")
    reproduce.run(args.out, seeds=args.seeds, epochs=args.epochs, backend=args.backend,
                  quick=args.quick, progress=not args.no_progress, samples=args.samples,
                  workers=args.workers)
    return 0


def _demo(args):
    from tinynet.apps import demo

    rates = demo.parse_rates(args.rates, unique=True)  # bad rates fail before anything slow
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}.")
    if args.save is not None:
        demo.check_path(args.save)  # a bad suffix or folder fails before any training
    result = demo.run(rates, dataset=args.dataset, optimizer=args.optimizer,
                      schedule=args.schedule, epochs=args.epochs, save=args.save,
                      progress=not args.no_progress)
    if result["path"] is not None:
        print(f"tinynet demo: wrote {os.path.abspath(result['path'])}")
    for k, rate in enumerate(result["rates"]):
        state = ("diverged (non-finite)" if result["diverged"][k] else
                 f"loss {result['final_loss'][k]:.4g}, accuracy {result['final_accuracy'][k]:.3f}")
        notes = [name for name in ("grew", "stuck") if result[name][k]]
        print(f"  lr {rate:g}: {state}" + (f" ({', '.join(notes)})" if notes else ""))
    return 0


# --- lessons ----------------------------------------------------------------------
def lessons_dir():
    """The repository's lessons/ folder next to the package, or None."""
    folder = Path(tn_root()).parent / "lessons"
    return folder if folder.is_dir() else None


def list_lessons(folder):
    """[(number "NN", path, title)] for every lessons/NN_*.py, in order."""
    found = []
    for path in sorted(folder.glob("[0-9][0-9]_*.py")):
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError):
            doc = None
        title = doc.strip().splitlines()[0] if doc else path.stem
        found.append((path.name[:2], path, title))
    return found


def _lessons(args):
    folder = lessons_dir()
    if folder is None:
        print("tinynet lessons: no lessons/ folder next to the package; the lessons come "
              "with a checkout of the tinynet repository.")
        return 1
    found = list_lessons(folder)
    if args.number is None:
        if not found:
            print(f"tinynet lessons: {folder} holds no NN_*.py lesson yet.")
        for number, path, title in found:
            print(f"  {number}  {title}   ({path.name})")
        if found:
            print("Run one with: python -m tinynet lessons NN [--quick] [--out DIR]")
        return 0
    if not args.number.isdigit():
        raise ValueError(f"lesson number must be digits such as 3 or 03, got {args.number!r}.")
    want = f"{int(args.number):02d}"
    match = [path for number, path, _ in found if number == want]
    if not match:
        have = ", ".join(number for number, _, _ in found) or "none"
        raise ValueError(f"no lesson {want} in {folder} (found: {have}).")
    cmd = [sys.executable, str(match[0])]
    if args.quick:
        cmd.append("--quick")
    if args.out is not None:
        cmd += ["--out", args.out]
    if args.backend is not None:
        cmd += ["--backend", args.backend]
    # the lesson must import this very tinynet, installed or not: put its parent first
    package_parent = os.path.dirname(tn_root())
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return subprocess.run(cmd, check=False, env=env).returncode
