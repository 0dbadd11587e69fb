"""Where a stacked step's time goes: every NumPy call timed and sorted into families.

The model is ``sweep.py``'s: K copies of 2-10-10-10-10-4 (ReLU, softmax), one
SGD rate per copy, the default accuracy metric, float32, every copy on the
same batch of 64. Two steps: ``model.train_function(x_dev, y_dev)`` (fit's
per-batch step) and ``train_on_batch(x, y)`` on host arrays, which adds the
input checks and the copies to the device (both timed on their own: the
checks turn x into a plain array first, out of the tracer's sight).

How: the device inputs, the model's parameters and the fused step's buffers
(made traced at its first call) are viewed as a subclass of ``np.ndarray``
whose ``__array_ufunc__`` and ``__array_function__`` time each NumPy call
(operators included: ``@`` is ``np.matmul``, ``+=`` is ``np.add``) on the
plain arrays, then file the time under a family, from the call and from the
tinynet function that made it (the nearest tinynet frame):

- input checks: tinynet/_checks.py, the model's checks, a loss's ``encode``
  (inside the step; train_on_batch's own checks are timed directly);
- metrics: tinynet/metrics.py;  loss value: a loss's ``value``/``softmax_value``;
- rate arrays: the update's rates, shaped for every parameter rank (host
  arrays, so timed on their own, as one call per step);
- host-device copies: tinynet/backend.py (``to_device``, ``to_numpy``);
- products: ``np.matmul``;  reductions: ``ufunc.reduce`` and ``sum``/``max``/...;
- allocation and copies: array creation, ``astype``, ``reshape``, ``take``, ...;
- elementwise: every other ufunc.

Times are CPU time of the calling thread (``time.thread_time``), which other
programs on a shared machine barely move, so the default is ``--threads 1``
(a BLAS helper thread's time would not be counted). The traced step is one
more case of the interleaved timing; each family is its median over the traced
steps. "Python and the rest" is the untraced step's CPU time (its median)
less the families: the interpreter, array indexing and attribute look-ups,
which no family holds (the families are a little inflated by tracing, so the
rest is a lower bound).
``train_on_batch``'s input checks and host-device copies are timed on their
own (the checks turn x into a plain array, out of the tracer's sight). Then the
costliest calls, by name and operand shapes.

    python benchmarks/profile_step.py [--quick] [--threads N (default 1)] [--k K] [--json PATH]
"""

import contextlib
import os
import statistics
import sys
import time

import _common as common

CLOCK = time.thread_time  # this thread's CPU time: what other programs barely move

WIDTHS = (2, 10, 10, 10, 10, 4)
BATCH = 64
FAMILIES = ("products", "elementwise", "reductions", "allocation and copies", "input checks",
            "metrics", "loss value", "rate arrays", "host-device copies")
TOP_CALLS = 25
_RATE_FUNCTIONS = {"rate", "_device_rate", "folded_rate", "_to_like", "current_learning_rate"}
_REDUCTIONS = {"sum", "max", "min", "amax", "amin", "mean", "any", "all", "argmax", "prod"}


def _tracer():
    """(Traced, record): the ndarray subclass and its dict {family: [seconds, calls]}."""
    import numpy as np

    tinynet_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "tinynet")
    record = {family: [0.0, 0] for family in FAMILIES}
    record["by call"] = {}  # (family, "matmul (K, N, a) (K, a, b)"): [seconds, calls]

    def plain(value):
        if isinstance(value, Traced):
            return value.view(np.ndarray)
        if isinstance(value, (list, tuple)):
            return type(value)(plain(v) for v in value)
        return value

    def traced(value):
        if type(value) is np.ndarray:
            return value.view(Traced)
        if isinstance(value, tuple):
            return tuple(traced(v) for v in value)
        return value

    def caller():
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith(tinynet_dir):
            frame = frame.f_back
        while frame is not None and frame.f_code.co_filename.startswith(tinynet_dir):
            code = frame.f_code
            name, where = code.co_name, os.path.basename(code.co_filename)
            if where == "_checks.py" or name in ("_check_x", "_check_xy", "check_inputs",
                                                 "check_data", "encode"):
                return "input checks"
            if where == "metrics.py":
                return "metrics"
            if where == "losses.py" and "value" in name:
                return "loss value"
            if name in _RATE_FUNCTIONS:
                return "rate arrays"
            if where == "backend.py" and name in ("to_device", "to_numpy", "to_float"):
                return "host-device copies"
            frame = frame.f_back
        return None

    def file(seconds, family, name, operands):
        entry = record[family]
        entry[0] += seconds
        entry[1] += 1
        shapes = " ".join(str(getattr(a, "shape", "scalar")) for a in operands
                          if not isinstance(a, (type, str)))
        entry = record["by call"].setdefault((family, f"{name} {shapes}"), [0.0, 0])
        entry[0] += seconds
        entry[1] += 1

    class Traced(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            if "out" in kwargs:
                kwargs["out"] = plain(kwargs["out"])
            inputs = plain(inputs)
            start = CLOCK()
            result = getattr(ufunc, method)(*inputs, **kwargs)
            seconds = CLOCK() - start
            kind = ("products" if ufunc is np.matmul else
                    "reductions" if method != "__call__" else "elementwise")
            name = ufunc.__name__ + ("" if method == "__call__" else f".{method}")
            out = kwargs.get("out")
            file(seconds, caller() or kind, name + (" (out=)" if out else ""), inputs)
            return traced(result)

        def __array_function__(self, func, types, args, kwargs):
            args, kwargs = plain(args), {k: plain(v) for k, v in kwargs.items()}
            start = CLOCK()
            result = func(*args, **kwargs)
            seconds = CLOCK() - start
            kind = "reductions" if func.__name__ in _REDUCTIONS else "allocation and copies"
            file(seconds, caller() or kind, func.__name__, args)
            return traced(result)

    return Traced, record


def stacked_model(k, tn, np, metrics=("accuracy",)):
    layers = [tn.layers.Dense(WIDTHS[1], activation="relu", input_dim=WIDTHS[0])]
    layers += [tn.layers.Dense(w, activation="relu") for w in WIDTHS[2:-1]]
    layers.append(tn.layers.Dense(WIDTHS[-1], activation="softmax"))
    model = tn.Sequential(layers, seed=0, n_models=k)
    rates = [float(r) for r in np.geomspace(1e-3, 1e-1, k)] if k > 1 else 0.01
    model.compile(optimizer=tn.optimizers.SGD(rates), loss="categorical_crossentropy",
                  metrics=metrics)
    model.build(WIDTHS[0])
    return model


def _trace_params(model, traced_type):
    """The model's parameters as traced views of themselves (the same memory)."""
    for layer in model.layers:
        params = getattr(layer, "params", None) or {}
        for key, value in params.items():
            params[key] = value.view(traced_type)
    model._params = [p for layer in model.layers for p in (getattr(layer, "params", None)
                                                             or {}).values()]


@contextlib.contextmanager
def _traced_buffers(np, traced_type):
    """np.empty, np.zeros and np.ones made to return traced arrays while the block runs.

    The fused step makes its buffers (the flat parameters the layers' params
    become views of, each layer's slots, the ReLUs' zeros) at its first call;
    made traced, every call on them and on their views is timed, as the
    parameters' are (before, the tracer saw only the step's inputs).
    """
    made = {name: getattr(np, name) for name in ("empty", "zeros", "ones")}

    def traced(make):
        return lambda *args, **kwargs: make(*args, **kwargs).view(traced_type)

    try:
        for name, make in made.items():
            setattr(np, name, traced(make))
        yield
    finally:
        for name, make in made.items():
            setattr(np, name, make)


def _checks_of(model):
    """The model's input checks for (x, y): check_data, or _check_xy before issue 19."""
    return getattr(model, "check_data", None) or model._check_xy


def _rate_arrays(model, out_like):
    """What an update spends on its rates: the step's rate, shaped for every parameter rank
    (what Optimizer.apply does; folded_rate before issue 19)."""
    optimizer = model.optimizer
    folded = getattr(optimizer, "folded_rate", None)
    if folded is not None:
        return folded(out_like)
    lr = optimizer.rate(optimizer.iterations)
    if isinstance(lr, float):
        return lr
    ranks = {p.ndim: p for layer in model.layers for p in layer.params.values()}
    return [optimizer._device_rate(lr, p) for p in ranks.values()]


def counted(step, record):
    """(step that keeps each call's CPU time and its time per family, the calls' list)."""
    calls = []

    def one():
        before = {family: tuple(record[family]) for family in FAMILIES}
        start = CLOCK()
        step()
        cpu = CLOCK() - start
        calls.append(({family: (record[family][0] - before[family][0],
                                record[family][1] - before[family][1]) for family in FAMILIES},
                      cpu))

    return one, calls


def summarise(calls, untraced_cpu):
    """{family: (seconds, calls)} per step: medians over the traced calls.

    "Python and the rest" is the untraced step's CPU time less the families:
    the interpreter, indexing, look-ups. Returns (rows, tracer cost per NumPy call).
    """
    rows = {family: (statistics.median(c[family][0] for c, _ in calls),
                     statistics.median(c[family][1] for c, _ in calls)) for family in FAMILIES}
    n_calls = sum(n for _, n in rows.values())
    traced_cpu = statistics.median(cpu for _, cpu in calls)
    rows["Python and the rest"] = (untraced_cpu - sum(t for t, _ in rows.values()), None)
    rows["step (untraced)"] = (untraced_cpu, n_calls)
    return rows, (traced_cpu - untraced_cpu) / max(n_calls, 1)


def run(args):
    thread_notes = common.setup(args)
    import numpy as np

    import tinynet as tn

    info = common.machine(args, thread_notes, "not used")
    k = 4 if args.quick else args.k
    print(common.header(args, info, f"profile_step: where the stacked K={k} step's time goes "
                                    f"(2-10-10-10-10-4, batch {BATCH}, float32, SGD)"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, WIDTHS[0])).astype(np.float32)
    y = tn.data.one_hot(rng.integers(0, WIDTHS[-1], BATCH), WIDTHS[-1])
    on_batch, in_fit = stacked_model(k, tn, np), stacked_model(k, tn, np)
    x_dev, y_dev = tn.backend.to_device(x), tn.backend.to_device(y)
    out_like = in_fit.forward(x_dev)  # what the step hands folded_rate: the output's shape
    Traced, record = _tracer()
    traced_model = stacked_model(k, tn, np)
    _trace_params(traced_model, Traced)
    xt_dev, yt_dev = x_dev.view(Traced), y_dev.view(Traced)
    in_fit.train_function(x_dev, y_dev)  # tinynet's shared caches (ops' ones) made plain first
    # the first step makes the fused step's buffers: traced too, so every call on them is
    with _traced_buffers(np, Traced):
        traced_model.train_function(xt_dev, yt_dev)
    for _ in range(2):  # the next steps fill the optimiser's and the step's caches
        traced_model.train_function(xt_dev, yt_dev)
    record["by call"].clear()  # per step from here: counted's calls are the steps
    traced_step, calls = counted(lambda: traced_model.train_function(xt_dev, yt_dev), record)
    untraced_step, untraced_calls = counted(lambda: in_fit.train_function(x_dev, y_dev), record)
    timing = common.measure({
        "traced train_function": traced_step,
        "train_function (CPU time)": untraced_step,
        "train_on_batch": lambda: on_batch.train_on_batch(x, y),
        "train_function": lambda: in_fit.train_function(x_dev, y_dev),
        "input checks": lambda: _checks_of(on_batch)(x, y, "train_on_batch"),
        "host-device copies": lambda: (tn.backend.to_device(x), tn.backend.to_device(y)),
        "rate arrays": lambda: _rate_arrays(in_fit, out_like),
    }, args, common.synchronizer(args))
    untraced_cpu = statistics.median(cpu for _, cpu in untraced_calls)
    families, overhead = summarise(calls, untraced_cpu)
    families["rate arrays"] = (timing["rate arrays"]["median"], 1)  # host arrays: timed alone
    step = untraced_cpu
    rows = [[family, common.us(t), f"{100 * t / step:.0f}%", "" if n is None else f"{n:.0f}"]
            for family, (t, n) in families.items()]
    print(common.table(["family (train_function, fit's step)", "time per step", "share",
                        "NumPy calls"], rows))
    t = {name: timing[name]["median"] for name in timing}
    extra = t["train_on_batch"] - t["train_function"]
    print(f"\nCPU time of this thread (time.thread_time). Families: medians over {len(calls)} "
          "traced steps run among the other cases (the tracer added "
          f"{1e6 * overhead:.1f} us per NumPy call around them); the step: the untraced one's "
          f"median over {len(untraced_calls)} steps ({common.us(t['train_function'])} wall "
          f"clock, median of {args.repeat} interleaved repeats); the rest: the step less the "
          "families. Rate arrays: the update's rates timed on their own (wall clock).\n")
    print(common.table(["train_on_batch(x, y) adds to it (wall clock)", "time per step"], [
        ["input checks (check_data)", common.us(t["input checks"])],
        ["host-device copies (to_device x, y)", common.us(t["host-device copies"])],
        ["all it adds (train_on_batch - train_function)", common.us(extra)],
        ["train_on_batch", common.us(t["train_on_batch"])]]))
    by_call = sorted(((family, call, total / len(calls), n / len(calls))
                      for (family, call), (total, n) in record["by call"].items()),
                     key=lambda item: -item[2])
    print(f"\nThe {TOP_CALLS} costliest calls by operand shapes (per step, the mean over the "
          "traced steps):\n")
    print(common.table(["family", "call and operand shapes", "time", "calls"],
                       [[f, c, common.us(s), f"{n:.0f}"] for f, c, s, n in by_call[:TOP_CALLS]]))
    results = {"families": {f: {"seconds": s, "calls": n} for f, (s, n) in families.items()},
               "tracer_overhead_per_call": overhead, "untraced": t,
               "untraced_cpu_per_step": untraced_cpu,
               "by_call": [{"family": f, "call": c, "seconds": s, "calls": n}
                           for f, c, s, n in by_call]}
    common.write_json(args, {"benchmark": "profile_step", "machine": info,
                             "settings": {"quick": args.quick, "K": k,
                                          "repeat": args.repeat, "min_time": args.min_time},
                             "timing": timing, "results": results})
    return results


def _add_options(parser):
    parser.set_defaults(threads=1)  # CPU time of one thread holds all the work then
    parser.add_argument("--k", type=int, default=256,
                        help="stacked copies (default 256; quick 4)")


def main(argv=None):
    args = common.parse_args("profile_step", __doc__.splitlines()[0], argv, extra=_add_options)
    if args.backend != "numpy":
        print("profile_step: NumPy only (it traces NumPy calls).", file=sys.stderr)
        return 2
    if args.k < 1:
        print(f"profile_step: --k must be >= 1, got {args.k}.", file=sys.stderr)
        return 2
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
