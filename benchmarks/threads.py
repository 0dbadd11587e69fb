"""BLAS threads on a busy machine: one training step with 1, 2 and the default threads.

Times ``model.train_function`` (the step fit calls: forward, backward, SGD update; float32) of
784-256-256-10 at batch 128, the 10x10x10x10x4 seed network at batch 64 and,
for the other side of the trade, 784-1024-1024-10 at batch 256, each with the
array library's thread pools limited (threadpoolctl, in this one process) to:

- 1 thread and 2 threads;
- "library default": the limits NumPy's BLAS had before anything was limited
  (OpenBLAS: one thread per core);
- "tinynet default": what ``tn.set_threads(None)`` applies, asked again in
  every block (it looks at the machine's load, as the start of a fit does).

Each configuration runs idle and "busy": with BUSY_PROCESSES (2) CPU-bound
busy-loop processes beside it, started with multiprocessing for that block
only, each stopping by itself after at most ``--busy-max`` seconds and always
terminated when the block ends. The repeats interleave everything (every
repeat runs an idle and a busy block, in alternating order, and rotates the
order of the configurations), so background load from other programs falls
on all of them alike; the median over repeats is reported. Nothing else is
changed: OPENBLAS_THREAD_TIMEOUT and the like are left as the user has them.

    python benchmarks/threads.py [--quick] [--repeat N] [--min-time S] [--json PATH]
"""

import argparse
import multiprocessing
import os
import signal
import statistics
import sys
import time

import _common as common

NETWORKS = [  # (name, layer widths, batch)
    ("784-256-256-10", (784, 256, 256, 10), 128),
    ("10x10x10x10x4", (2, 10, 10, 10, 10, 4), 64),
    ("784-1024-1024-10", (784, 1024, 1024, 10), 256),
]
QUICK_NETWORKS = [("quick 64-32-32-10", (64, 32, 32, 10), 16),
                  ("10x10x10x10x4", (2, 10, 10, 10, 10, 4), 64)]
BUSY_PROCESSES = 2
CONFIGS = ("1 thread", "2 threads", "library default", "tinynet default")


def busy_loop(max_seconds, started):
    """A CPU-bound program: count until max_seconds have passed (or until terminated)."""
    started.set()
    deadline = time.monotonic() + max_seconds
    n = 0
    while time.monotonic() < deadline:
        for _ in range(10_000):
            n += 1


class Busy:
    """BUSY_PROCESSES busy loops for the duration of a ``with`` block, always stopped."""

    def __init__(self, n, max_seconds):
        self.n, self.max_seconds, self.procs = n, max_seconds, []

    def __enter__(self):
        ctx = multiprocessing.get_context("spawn")
        try:
            for _ in range(self.n):
                started = ctx.Event()
                proc = ctx.Process(target=busy_loop, args=(self.max_seconds, started),
                                   daemon=True)
                proc.start()
                self.procs.append(proc)
                if not started.wait(30):
                    raise RuntimeError("a busy-loop process did not start within 30 s")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        time.sleep(0.05)  # let the scheduler see them as running
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        self.procs = []
        return False


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="benchmarks/threads.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and two short repeats: seconds, to prove it runs")
    parser.add_argument("--repeat", type=int, default=None,
                        help="repeats (each an idle and a busy block); median (default 7)")
    parser.add_argument("--min-time", type=float, default=None,
                        help="seconds one idle measurement lasts at least (default 0.2)")
    parser.add_argument("--busy-max", type=float, default=120.0,
                        help="seconds after which a busy loop stops by itself (default 120)")
    parser.add_argument("--json", default=None,
                        help=f"the results file (default {common.RESULTS_DIR}/threads.json)")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (2 if args.quick else 7)
    args.min_time = args.min_time if args.min_time is not None else (0.002 if args.quick else 0.2)
    args.json = args.json or os.path.join(common.RESULTS_DIR, "threads.json")
    args.backend, args.threads, args.name = "numpy", None, "threads"
    return args


def step_function(widths, batch):
    """One compiled tinynet network's train_step on fixed device arrays (float32)."""
    import numpy as np

    import tinynet as tn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, widths[0])).astype(np.float32)
    y = tn.data.one_hot(rng.integers(0, widths[-1], batch), widths[-1])
    layers = [tn.layers.Dense(widths[1], activation="relu", input_dim=widths[0])]
    layers += [tn.layers.Dense(w, activation="relu") for w in widths[2:-1]]
    layers.append(tn.layers.Dense(widths[-1], activation="softmax"))
    model = tn.Sequential(layers, seed=0)
    model.compile(optimizer=tn.optimizers.SGD(0.01), loss="categorical_crossentropy",
                  metrics=())
    x_dev, y_dev = tn.backend.to_device(x), tn.backend.to_device(y)
    return lambda: model.train_function(x_dev, y_dev)


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # so that Busy.__exit__ stops the busy loops


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    import numpy as np  # loads the BLAS whose limits are read next
    import threadpoolctl  # before tinynet: the library's own limits, untouched

    library = {lib["internal_api"]: lib["num_threads"] for lib in threadpoolctl.threadpool_info()}
    library_n = max(library.values()) if library else 1
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import tinynet as tn

    tn.set_dtype("float32")
    limits = {"1 thread": 1, "2 threads": 2, "library default": library_n}
    chosen = {"idle": [], "busy": []}  # the count tn.set_threads(None) gave in each block

    def use(config, load=None):
        if config == "tinynet default":  # looks at the load now, as a fit's start does
            n = tn.set_threads(None)
            if load is not None:
                chosen[load].append(n)
        else:
            tn.set_threads(limits[config])

    networks = QUICK_NETWORKS if args.quick else NETWORKS
    steps = {name: step_function(widths, batch) for name, widths, batch in networks}
    numbers = {}
    for name, fn in steps.items():  # calls per measurement, from the idle 1-thread time
        use("1 thread")
        for _ in range(3):
            fn()
        numbers[name] = common._calibrate(fn, args.min_time, lambda: None)
    times = {(name, load, c): [] for name in steps for load in ("idle", "busy") for c in CONFIGS}

    def block(load, rotation):
        order = CONFIGS[rotation:] + CONFIGS[:rotation]
        for name, fn in steps.items():
            for config in order:
                use(config, load)
                fn()  # one untimed call after switching
                start = time.perf_counter()
                for _ in range(numbers[name]):
                    fn()
                times[(name, load, config)].append((time.perf_counter() - start) / numbers[name])

    info = {"processor": common._cpu_name(), "cpu_count": os.cpu_count(),
            "numpy": np.__version__, "blas": common._blas(np), "library_limits": library,
            "TINYNET_THREADS": os.environ.get("TINYNET_THREADS"),
            "OPENBLAS_THREAD_TIMEOUT": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
            "loadavg_start": common._loadavg(), "busy_processes": BUSY_PROCESSES}
    for r in range(args.repeat):
        loads = ("idle", "busy") if r % 2 == 0 else ("busy", "idle")
        for load in loads:
            if load == "busy":
                with Busy(BUSY_PROCESSES, args.busy_max):
                    block(load, r % len(CONFIGS))
            else:
                block(load, r % len(CONFIGS))
        print(f"repeat {r + 1}/{args.repeat} done", file=sys.stderr, flush=True)
    tn.set_threads(None)
    info["tinynet_default_chosen"] = chosen
    counts = {load: ", ".join(f"{n} thread(s) x{ns.count(n)}" for n in sorted(set(ns)))
              for load, ns in chosen.items()}

    medians = {key: statistics.median(ts) for key, ts in times.items()}
    print(f"## threads: time per train_step (float32, SGD), idle and beside "
          f"{BUSY_PROCESSES} busy loops\n")
    print(f"{info['processor']}, {info['cpu_count']} cores; NumPy {info['numpy']} "
          f"({info['blas']}); library default {library_n} threads; tinynet default chose "
          f"{counts['idle']} (idle), {counts['busy']} (busy) over all blocks.\n"
          f"Median of {args.repeat} interleaved repeats; load average "
          f"at start {info['loadavg_start']}."
          + (" QUICK RUN: tiny sizes, not a measurement." if args.quick else "") + "\n")
    rows = []
    for name, _, batch in networks:
        for load in ("idle", "busy"):
            one = medians[(name, load, "1 thread")]
            cells = [common.us(medians[(name, load, c)]) for c in CONFIGS]
            ratios = [f"{medians[(name, load, c)] / one:.2f}x" for c in CONFIGS[1:]]
            rows.append([name, batch, load, *cells, *ratios])
    print(common.table(["network", "batch", "load", *CONFIGS,
                        *(f"{c} / 1 thread" for c in CONFIGS[1:])], rows))
    payload = {"benchmark": "threads", "machine": info,
               "settings": {"quick": args.quick, "repeat": args.repeat,
                            "min_time": args.min_time, "numbers": numbers, "limits": limits},
               "results": [{"network": name, "load": load, "threads": config,
                            "median": medians[(name, load, config)],
                            "repeats": times[(name, load, config)]}
                           for (name, load, config) in times]}
    common.write_json(args, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
