"""Sharpness of K copies: K calls on the copies alone against one call on the stack.

K copies (default 20, seeds 0..K-1) of the seed network 2-10-10-10-10-4
(RandomNormal(0, 0.05) kernels, ReLU, softmax output; the reproduce network)
on N points (default 800) of four Gaussian clusters. "sequential" runs
``tn.diagnostics.sharpness`` once per copy, each on a model of that copy
alone; "stacked" runs it once on the stacked model of all K. Both use the
same start vectors and a fixed number of power iterations (``--iters``, tol=0:
no early stop, so both do the same work per copy), and the script checks that
they give the same values. Timed as the other benchmarks (_common.measure).

    python benchmarks/sharpness.py [--quick] [--k K] [--points N] [--iters I] [--json PATH]
"""

import sys

import _common as common


def extra(parser):
    parser.add_argument("--k", type=int, default=20, help="stacked copies (default 20)")
    parser.add_argument("--points", type=int, default=800, help="data points (default 800)")
    parser.add_argument("--iters", type=int, default=10,
                        help="power iterations per call, none skipped (default 10)")


def _models(tn, np, k, x, y):
    def layers():
        init = tn.initializers.RandomNormal(0.0, 0.05)
        out = [tn.layers.Dense(10, activation="relu", kernel_initializer=init, input_dim=2)]
        out += [tn.layers.Dense(10, activation="relu", kernel_initializer=init)
                for _ in range(3)]
        return out + [tn.layers.Dense(4, activation="softmax", kernel_initializer=init)]

    stacked = tn.Sequential(layers(), seed=0, n_models=k)
    stacked.compile("sgd", loss="sparse_categorical_crossentropy").build(2)
    singles = []
    for i in range(k):
        alone = tn.Sequential(layers(), seed=i).compile(
            "sgd", loss="sparse_categorical_crossentropy")
        alone.build(2)
        alone.set_weights([w[i] for w in stacked.get_weights()])
        singles.append(alone)
    return stacked, singles


def main(argv=None):
    args = common.parse_args("sharpness", __doc__.splitlines()[0], argv, extra)
    notes = common.setup(args)
    import numpy as np

    import tinynet as tn

    k, n, iters = (3, 60, 2) if args.quick else (args.k, args.points, args.iters)
    rng = np.random.default_rng(0)
    y = np.arange(n) % 4
    x = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])[y] \
        + 0.5 * rng.normal(size=(n, 2))
    stacked, singles = _models(tn, np, k, x, y)
    start = [rng.standard_normal(w.shape) for w in stacked.get_weights()]
    dg = tn.diagnostics
    found = {}

    def run_stacked():
        found["stacked"] = dg.sharpness(stacked, x, y, iters=iters, tol=0.0, start=start)

    def run_sequential():
        found["sequential"] = np.array([
            dg.sharpness(m, x, y, iters=iters, tol=0.0, start=[v[i] for v in start])
            for i, m in enumerate(singles)])

    info = common.machine(args, notes, "not used")
    timed = common.measure({"sequential": run_sequential, "stacked": run_stacked}, args,
                           lambda: None, warmup=1)
    agree = float(np.max(np.abs(found["stacked"] - found["sequential"])
                         / np.abs(found["sequential"])))
    speedup = timed["sequential"]["median"] / timed["stacked"]["median"]
    print(common.header(args, info, f"sharpness of K={k} copies, {n} points, {iters} "
                                    "power iterations"))
    print(common.table(["case", "per call", "per copy"],
                       [[name, common.us(t["median"]), common.us(t["median"] / k)]
                        for name, t in timed.items()]))
    print(f"\nstacked is {speedup:.1f}x faster; largest relative difference of the values "
          f"{agree:.1e}")
    common.write_json(args, {"benchmark": "sharpness", "machine": info, "k": k, "points": n,
                             "iters": iters, "results": timed, "speedup": speedup,
                             "max_relative_difference": agree})
    return 0


if __name__ == "__main__":
    sys.exit(main())
