"""Sharpness of K copies: K calls on the copies alone against one call on the stack.

K copies (default 20, seeds 0..K-1) of the seed network 2-10-10-10-10-4
(RandomNormal(0, 0.05) kernels, ReLU, softmax output; the reproduce network)
on N points (default 800) of four Gaussian clusters. "sequential" runs
``tn.diagnostics.sharpness`` once per copy, each on a model of that copy
alone; "stacked" runs it once on the stacked model of all K. Both use the
same start vectors, first with a fixed number of power iterations (``--iters``,
tol=0: no early stop, the same work per copy), then as they are used, each
copy stopping once it has settled (``--settle-iters`` at most, tol=1e-6: the
stacked call then drops settled copies from its stack); the script checks
that both ways give the same values. Timed as the other benchmarks
(_common.measure).

    python benchmarks/sharpness.py [--quick] [--k K] [--points N] [--iters I] [--json PATH]
"""

import sys

import _common as common


def extra(parser):
    parser.add_argument("--k", type=int, default=20, help="stacked copies (default 20)")
    parser.add_argument("--points", type=int, default=800, help="data points (default 800)")
    parser.add_argument("--iters", type=int, default=10,
                        help="power iterations per call, none skipped (default 10)")
    parser.add_argument("--settle-iters", type=int, default=100,
                        help="at most this many iterations with tol=1e-6 (default 100)")


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
    settle = 5 if args.quick else args.settle_iters
    rng = np.random.default_rng(0)
    y = np.arange(n) % 4
    x = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])[y] \
        + 0.5 * rng.normal(size=(n, 2))
    stacked, singles = _models(tn, np, k, x, y)
    start = [rng.standard_normal(w.shape) for w in stacked.get_weights()]
    dg = tn.diagnostics
    found = {}

    def stacked_case(name, its, tol):
        def run():
            found[name] = dg.sharpness(stacked, x, y, iters=its, tol=tol, start=start)
        return run

    def sequential_case(name, its, tol):
        def run():
            found[name] = np.array([
                dg.sharpness(m, x, y, iters=its, tol=tol, start=[v[i] for v in start])
                for i, m in enumerate(singles)])
        return run

    cases = {}
    for label, its, tol in ((f"{iters} iterations", iters, 0.0),
                            (f"settle (tol 1e-6, <= {settle})", settle, 1e-6)):
        cases[f"sequential, {label}"] = sequential_case(f"sequential, {label}", its, tol)
        cases[f"stacked, {label}"] = stacked_case(f"stacked, {label}", its, tol)
    info = common.machine(args, notes, "not used")
    timed = common.measure(cases, args, lambda: None, warmup=1)
    names = list(cases)
    pairs = [(names[i], names[i + 1]) for i in range(0, len(names), 2)]
    agree = max(float(np.max(np.abs(found[b] - found[a]) / np.abs(found[a])))
                for a, b in pairs)
    speedups = {b: timed[a]["median"] / timed[b]["median"] for a, b in pairs}
    print(common.header(args, info, f"sharpness of K={k} copies, {n} points"))
    print(common.table(["case", "per call", "per copy", "stacked speed-up"],
                       [[name, common.us(t["median"]), common.us(t["median"] / k),
                         f"{speedups[name]:.2f}x" if name in speedups else ""]
                        for name, t in timed.items()]))
    print(f"\nlargest relative difference between stacked and sequential values {agree:.1e}")
    common.write_json(args, {"benchmark": "sharpness", "machine": info, "k": k, "points": n,
                             "iters": iters, "settle_iters": settle, "results": timed,
                             "speedups": speedups, "max_relative_difference": agree})
    return 0


if __name__ == "__main__":
    sys.exit(main())
