"""What the benchmarks share: command line, thread limits, timing, tables, JSON.

Thread count. ``--threads N`` (default: every core) is applied three ways, so
tinynet and PyTorch run on the same number of cores: the OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, ... variables are set before NumPy is
imported (``setup`` must run first, which is why the scripts import NumPy only
inside functions); threadpoolctl, when installed, then limits every BLAS and
OpenMP pool loaded in the process (and ``tn.set_threads(N)`` says the same to
tinynet, whose own default of one thread would otherwise apply at the first
model); and ``torch.set_num_threads(N)``.

OpenBLAS's idle threads busy-wait for a long time after every call (2^28
cycles by default). With PyTorch's OpenMP threads in the same process on a
machine with few cores that starves PyTorch: on the 2-core machine of the
README its one-at-a-time steps ran 10 to 1000 times slower after a NumPy
call. ``setup`` therefore sets OPENBLAS_THREAD_TIMEOUT=4 (2^4 cycles: idle
threads sleep at once) unless it is already set; it changes no result.

Timing. Every case is a function that performs one training step. Each is
warmed up, then given a number of calls per repeat so that one repeat lasts at
least ``min_time`` seconds (as ``timeit`` does); the repeats of all the cases
of one comparison are interleaved (A B C, A B C, ...), so background load
falls on every case alike, and the median over repeats of the time per call
is reported. On a GPU the device is synchronised before the clock is read.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

_keep = []  # threadpoolctl's limiter must stay alive for the limit to hold


def parse_args(name, description, argv=None, extra=None):
    """The options every benchmark takes; ``extra(parser)`` adds a script's own."""
    parser = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=description)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few repeats: a few seconds, to prove it runs")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                        help="numpy: the CPU (PyTorch on the CPU); cupy: a GPU (PyTorch CUDA)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="CPU threads for NumPy's BLAS and for PyTorch (default: all cores)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed repeats per case; the median is reported (default 7, quick 2)")
    parser.add_argument("--min-time", type=float, default=None,
                        help="seconds one repeat lasts at least (default 0.25, quick 0.002)")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip PyTorch even when it is installed")
    parser.add_argument("--no-jax", action="store_true",
                        help="skip JAX even when it is installed")
    parser.add_argument("--json", default=None,
                        help=f"the results file (default {RESULTS_DIR}/{name}-BACKEND.json)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: elapsed time (default); cpu: the process's CPU time, "
                             "which other programs on a shared machine barely move "
                             "(--threads 1 and the numpy backend only)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.clock == "cpu" and (args.threads != 1 or args.backend != "numpy"):
        # a second thread's or the GPU's work is not the elapsed time CPU time would count
        parser.error(f"--clock cpu needs --threads 1 and --backend numpy, got --threads "
                     f"{args.threads} and --backend {args.backend}")
    args.repeat = args.repeat or (2 if args.quick else 7)
    args.min_time = args.min_time if args.min_time is not None else (0.002 if args.quick else 0.25)
    args.json = args.json or os.path.join(RESULTS_DIR, f"{name}-{args.backend}.json")
    args.name = name
    return args


def setup(args):
    """Limit threads, pick the backend; returns a dict of what was done (for the JSON).

    Must run before NumPy is first imported for the environment variables to count.
    """
    numpy_first = "numpy" in sys.modules
    for var in THREAD_VARS:
        os.environ[var] = str(args.threads)
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    env = {v: os.environ[v] for v in (*THREAD_VARS, "OPENBLAS_THREAD_TIMEOUT")}
    notes = {"threads": args.threads, "env": env, "env_before_numpy": not numpy_first}
    try:
        import threadpoolctl
    except ImportError:
        notes["threadpoolctl"] = "not installed: environment variables only"
    else:
        _keep.append(threadpoolctl.threadpool_limits(limits=args.threads))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import tinynet as tn

    tn.set_threads(args.threads)  # explicit, so tinynet's own default never applies here
    tn.set_backend(args.backend)  # raises tn.BackendError with what to install
    tn.set_dtype("float32")
    if "threadpoolctl" not in notes:
        import threadpoolctl

        notes["threadpoolctl"] = [
            {k: p.get(k) for k in ("internal_api", "num_threads", "version")}
            for p in threadpoolctl.threadpool_info()]
    return notes


def load_torch(args):
    """(torch, device, note): torch is None when it is missing or not wanted here."""
    if args.no_torch:
        return None, None, "skipped (--no-torch)"
    try:
        import torch
    except ImportError:
        return None, None, "PyTorch is not installed: pip install torch to compare"
    torch.set_num_threads(args.threads)
    if args.backend == "cupy":
        if not torch.cuda.is_available():
            return None, None, f"PyTorch {torch.__version__} has no CUDA device here"
        return torch, torch.device("cuda"), f"PyTorch {torch.__version__} on CUDA"
    return torch, torch.device("cpu"), (f"PyTorch {torch.__version__} on the CPU, "
                                        f"{torch.get_num_threads()} threads")


def synchronizer(args, torch=None):
    """A function that waits for queued GPU work (both libraries); a no-op on the CPU."""
    if args.backend != "cupy":
        return lambda: None
    import cupy

    device = cupy.cuda.Device()
    cuda = torch is not None and torch.cuda.is_available()

    def sync():
        device.synchronize()
        if cuda:
            torch.cuda.synchronize()

    return sync


def measure(cases, args, sync, warmup=3):
    """Median seconds per call of every case, the repeats of all cases interleaved.

    cases: {name: function of no arguments doing one step}. Returns
    {name: {"median", "min", "max", "number", "repeats": [seconds per call]}}.
    """
    clock = clock_of(args)
    numbers = {}
    for name, fn in cases.items():
        for _ in range(warmup):
            fn()
        numbers[name] = _calibrate(fn, args.min_time, sync, clock)
    times = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, fn in cases.items():
            n = numbers[name]
            sync()
            start = clock()
            for _ in range(n):
                fn()
            sync()
            times[name].append((clock() - start) / n)
    return {name: {"median": statistics.median(ts), "min": min(ts), "max": max(ts),
                   "number": numbers[name], "repeats": ts}
            for name, ts in times.items()}


def clock_of(args):
    """The clock every timing reads: time.perf_counter (--clock wall) or
    time.process_time (--clock cpu: the process's CPU time, at one thread)."""
    return time.process_time if getattr(args, "clock", "wall") == "cpu" else time.perf_counter


def _calibrate(fn, min_time, sync, clock=time.perf_counter):
    """Calls per repeat: 1, 2, 5, 10, 20, ... until one repeat lasts min_time (timeit)."""
    number, i = 1, 0
    while True:
        sync()
        start = clock()
        for _ in range(number):
            fn()
        sync()
        if clock() - start >= min_time or number >= 10**6:
            return number
        i += 1
        number = (1, 2, 5)[i % 3] * 10 ** (i // 3)


def machine(args, thread_notes, torch_note):
    """Where and how it ran, for the JSON and the table header."""
    import numpy as np

    info = {
        "clock": getattr(args, "clock", "wall"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "blas": _blas(np),
        "backend": args.backend,
        "torch": torch_note,
        "loadavg_start": _loadavg(),
        **thread_notes,
    }
    if args.backend == "cupy":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        info["cupy"] = cupy.__version__
    return info


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _blas(np):
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def table(headers, rows):
    """A Markdown table as a string (numbers already formatted)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).rjust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join([line, rule, *body])


def us(seconds):
    """Seconds as a short microsecond / millisecond string."""
    if seconds is None:
        return "-"
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def write_json(args, payload):
    payload["machine"]["loadavg_end"] = _loadavg()
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(payload, f, indent=1, default=_plain)
    print(f"\nresults written to {args.json}")


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def header(args, info, title):
    lines = [f"## {title}", "",
             f"{info['processor']}, {info['cpu_count']} cores; {args.threads} thread(s); "
             f"NumPy {info['numpy']} ({info['blas']}); backend {args.backend}"
             + (f" ({info.get('gpu')})" if args.backend == "cupy" else "") + ".",
             f"PyTorch: {info['torch']}.",
             f"Median of {args.repeat} interleaved repeats, each >= {args.min_time} s"
             + (" of CPU time" if getattr(args, "clock", "wall") == "cpu" else "") + "; "
             f"load average at start {info['loadavg_start']}."
             + (" QUICK RUN: tiny sizes, not a measurement." if args.quick else ""), ""]
    return "\n".join(lines)
