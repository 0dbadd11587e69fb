"""Time per training step: tinynet against PyTorch, and against its own matrix products.

One step is forward, backward and an SGD update (lr 0.01) on one float32 batch:
tinynet calls ``model.train_function(x_dev, y_dev)`` on a compiled ``tn.Sequential``
(the fused step ``fit`` calls per batch; no metrics), PyTorch runs
``zero_grad(); nll_loss(log(net(x)), y).backward(); step()`` on the same
``nn.Sequential`` (Linear/ReLU, softmax output, the same initial weights).
"tinynet matmuls" times the bare matrix products of the tinynet step, same
shapes, same run: per Dense layer x @ W forward, x^T @ g and (except the first)
g @ W^T backward. No step can be faster than them; "matmul share" is their time
over the step. "PyTorch matmuls" times the same products with torch.mm: when
PyTorch's BLAS is faster than NumPy's, that bounds how close a NumPy step can
come to PyTorch's on the large network.

Beside them, in the same interleaved run: ``train_on_batch`` (host arrays,
input checks, the default accuracy metric: what a user calling it pays), the
NumPy floor (benchmarks/_floor.py: the same update with the fewest NumPy
calls, no checks, no metrics) and, when JAX is importable, a jitted JAX step
(benchmarks/_jax.py), waited for after every call.

    python benchmarks/train_step.py [--quick] [--backend numpy|cupy] [--threads N]
                                    [--no-torch] [--no-jax] [--json PATH]
"""

import sys

import _common as common

NETWORKS = [  # (name, layer widths, batch)
    ("10x10x10x10x4", (2, 10, 10, 10, 10, 4), 64),
    ("784-256-256-10", (784, 256, 256, 10), 128),
    ("784-1024-1024-10", (784, 1024, 1024, 10), 256),
]
QUICK_NETWORKS = [
    ("10x10x10x10x4", (2, 10, 10, 10, 10, 4), 64),
    ("quick 64-32-32-10", (64, 32, 32, 10), 16),
]
LEARNING_RATE = 0.01


def tinynet_step(widths, x, y, seed=0):
    """(step function, model) for a compiled tinynet network on device arrays."""
    import tinynet as tn

    layers = [tn.layers.Dense(widths[1], activation="relu", input_dim=widths[0])]
    layers += [tn.layers.Dense(w, activation="relu") for w in widths[2:-1]]
    layers.append(tn.layers.Dense(widths[-1], activation="softmax"))
    model = tn.Sequential(layers, seed=seed)
    model.compile(optimizer=tn.optimizers.SGD(LEARNING_RATE), loss="categorical_crossentropy",
                  metrics=())
    y_onehot = tn.data.one_hot(y, widths[-1])
    x_dev, y_dev = tn.backend.to_device(x), tn.backend.to_device(y_onehot)
    return (lambda: model.train_function(x_dev, y_dev)), model


def torch_net(torch, device, weights):
    """tinynet's network as an nn.Sequential (Linear/ReLU, Softmax), from [W0, b0, W1, ...]."""
    import numpy as np

    layers = []
    for i in range(0, len(weights), 2):
        w, b = weights[i], weights[i + 1]
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    layers[-1] = torch.nn.Softmax(dim=-1)
    return torch.nn.Sequential(*layers).to(device=device, dtype=torch.float32)


def torch_step(torch, device, weights, x, y):
    """The same network and update in PyTorch, from tinynet's weights [W0, b0, W1, ...]."""
    import numpy as np

    net = torch_net(torch, device, weights)
    opt = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    xt = torch.from_numpy(x).to(device)
    yt = torch.from_numpy(y.astype(np.int64)).to(device)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(net(xt)), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def matmul_floor(widths, batch, seed=0):
    """A function doing the step's bare matrix products, same shapes and transposes."""
    import numpy as np

    import tinynet as tn

    xp = tn.backend.xp()
    rng = np.random.default_rng(seed)

    def dev(*shape):
        return tn.backend.to_device(rng.standard_normal(shape).astype(np.float32))

    layers = [(dev(batch, a), dev(a, b), dev(batch, b), i > 0)
              for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]

    def products():
        for x, w, g, need_grad_x in layers:
            x @ w
            xp.matrix_transpose(x) @ g
            if need_grad_x:
                g @ xp.matrix_transpose(w)

    return products


def torch_matmul_floor(torch, device, widths, batch, seed=0):
    """The same bare products in PyTorch: what its BLAS takes for them, for reference."""
    gen = torch.Generator().manual_seed(seed)

    def dev(*shape):
        return torch.randn(*shape, generator=gen).to(device)

    layers = [(dev(batch, a), dev(a, b), dev(batch, b), i > 0)
              for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]

    def products():
        for x, w, g, need_grad_x in layers:
            torch.mm(x, w)
            torch.mm(x.t(), g)
            if need_grad_x:
                torch.mm(g, w.t())

    return products


def tinynet_on_batch(widths, x, y, seed=0):
    """model.train_on_batch(x, y) on host arrays, default metrics: checks and copies included."""
    import tinynet as tn

    model = tinynet_step(widths, x, y, seed)[1]
    model.compile(optimizer=tn.optimizers.SGD(LEARNING_RATE), loss="categorical_crossentropy")
    y_onehot = tn.data.one_hot(y, widths[-1])
    return lambda: model.train_on_batch(x, y_onehot)


def floor_step(weights, x, y, by_column=False):
    """The NumPy floor's update (benchmarks/_floor.py) from the same weights; by_column:
    the faster floor, in the fused step's layout."""
    import numpy as np
    from _floor import FloorNet, with_ones

    import tinynet as tn

    net = FloorNet(weights, LEARNING_RATE, by_column=by_column)
    x1, y_onehot = with_ones(x), tn.data.one_hot(y, weights[-1].shape[-1]).astype(np.float32)
    return lambda: net.step(x1, y_onehot)


def jax_step(jax, weights, x, y):
    """A jitted JAX step (benchmarks/_jax.py) from the same weights, waited for each call."""
    import _jax

    import tinynet as tn

    step = _jax.step(jax)
    state = [_jax.params_from(jax, weights)]
    xj = jax.numpy.asarray(x)
    yj = jax.numpy.asarray(tn.data.one_hot(y, weights[-1].shape[-1]))

    def one():
        state[0], (loss, _) = step(state[0], xj, yj, LEARNING_RATE)
        loss.block_until_ready()

    return one


def measure_network(args, torch, device, jax, sync, widths, batch):
    """Every case for one network, interleaved; returns (timing, first losses)."""
    import numpy as np

    import tinynet as tn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], batch)
    # the first step's loss in both libraries, from the same weights: the same maths
    twin = tinynet_step(widths, x, y)[1]
    weights = twin.get_weights()
    check = {"tinynet": float(twin.train_on_batch(x, tn.data.one_hot(y, widths[-1])))}
    cases = {"tinynet": tinynet_step(widths, x, y)[0],
             "train_on_batch": tinynet_on_batch(widths, x, y),
             "matmuls": matmul_floor(widths, batch)}
    if args.backend == "numpy":
        cases["NumPy floor"] = floor_step(weights, x, y)
    if jax is not None:
        cases["JAX step"] = jax_step(jax, weights, x, y)
    if torch is not None:
        torch_fn = torch_step(torch, device, weights, x, y)
        check["torch"] = float(torch_fn().item())
        cases["torch"] = torch_fn
        cases["torch matmuls"] = torch_matmul_floor(torch, device, widths, batch)
    return common.measure(cases, args, sync), check


def run(args):
    thread_notes = common.setup(args)
    import _jax

    torch, device, torch_note = common.load_torch(args)
    jax, jax_note = _jax.load_jax(args)
    sync = common.synchronizer(args, torch)
    info = common.machine(args, thread_notes, torch_note)
    info["jax"] = jax_note
    print(common.header(args, info, "train_step: time per training step (float32, SGD)"))
    rows, results = [], []
    for name, widths, batch in (QUICK_NETWORKS if args.quick else NETWORKS):
        timing, check = measure_network(args, torch, device, jax, sync, widths, batch)
        t = {case: entry["median"] for case, entry in timing.items()}
        t_tn, t_mm = t["tinynet"], t["matmuls"]
        results.append({"network": name, "widths": widths, "batch": batch, "timing": timing,
                        "first_loss": check,
                        "speedup_vs_torch": t["torch"] / t_tn if "torch" in t else None,
                        "speedup_vs_jax": t["JAX step"] / t_tn if "JAX step" in t else None,
                        "floor_over_tinynet": (t["NumPy floor"] / t_tn if "NumPy floor" in t
                                               else None),
                        "matmul_share": t_mm / t_tn})
        rows.append([name, batch, common.us(t_tn), common.us(t["train_on_batch"]),
                     common.us(t.get("NumPy floor")), _ratio(t, "NumPy floor", t_tn),
                     common.us(t.get("JAX step")), _ratio(t, "JAX step", t_tn),
                     common.us(t.get("torch")), _ratio(t, "torch", t_tn),
                     common.us(t_mm), f"{100 * t_mm / t_tn:.0f}%",
                     common.us(t.get("torch matmuls"))])
    print(common.table(["network", "batch", "tinynet step", "train_on_batch", "NumPy floor",
                        "floor / tinynet", "JAX jit step", "JAX / tinynet", "PyTorch step",
                        "PyTorch / tinynet", "tinynet matmuls", "matmul share",
                        "PyTorch matmuls"], rows))
    print("\nRatios are the peer's time over tinynet's step (>1: tinynet faster).")
    for missing, note in (("JAX", jax_note if jax is None else None),
                          ("PyTorch", torch_note if torch is None else None)):
        if note:
            print(f"{missing}: {note}.")
    common.write_json(args, {"benchmark": "train_step", "machine": info,
                             "settings": {"quick": args.quick, "repeat": args.repeat,
                                          "min_time": args.min_time, "lr": LEARNING_RATE},
                             "results": results})
    return results


def _ratio(t, case, t_tn):
    return f"{t[case] / t_tn:.2f}x" if case in t else "-"


def main(argv=None):
    args = common.parse_args("train_step", __doc__.splitlines()[0], argv)
    try:
        run(args)
    except Exception as exc:
        if type(exc).__name__ == "BackendError":
            print(f"train_step: {exc}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
