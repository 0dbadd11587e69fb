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

    python benchmarks/train_step.py [--quick] [--backend numpy|cupy] [--threads N] [--json PATH]
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


def torch_step(torch, device, weights, x, y):
    """The same network and update in PyTorch, from tinynet's weights [W0, b0, W1, ...]."""
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
    net = torch.nn.Sequential(*layers).to(device=device, dtype=torch.float32)
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


def run(args):
    thread_notes = common.setup(args)
    import numpy as np

    import tinynet as tn

    torch, device, torch_note = common.load_torch(args)
    sync = common.synchronizer(args, torch)
    info = common.machine(args, thread_notes, torch_note)
    print(common.header(args, info, "train_step: time per training step (float32, SGD)"))
    rows, results = [], []
    for name, widths, batch in (QUICK_NETWORKS if args.quick else NETWORKS):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, widths[0])).astype(np.float32)
        y = rng.integers(0, widths[-1], batch)
        # the first step's loss in both libraries, from the same weights: the same maths
        twin = tinynet_step(widths, x, y)[1]
        weights = twin.get_weights()
        check = {"tinynet": float(twin.train_on_batch(x, tn.data.one_hot(y, widths[-1])))}
        tn_fn, _ = tinynet_step(widths, x, y)
        cases = {"tinynet": tn_fn, "matmuls": matmul_floor(widths, batch)}
        if torch is not None:
            torch_fn = torch_step(torch, device, weights, x, y)
            check["torch"] = float(torch_fn().item())
            cases["torch"] = torch_fn
            cases["torch matmuls"] = torch_matmul_floor(torch, device, widths, batch)
        timing = common.measure(cases, args, sync)
        t_tn, t_mm = timing["tinynet"]["median"], timing["matmuls"]["median"]
        t_torch = timing["torch"]["median"] if "torch" in timing else None
        t_torch_mm = timing["torch matmuls"]["median"] if "torch" in timing else None
        results.append({"network": name, "widths": widths, "batch": batch, "timing": timing,
                        "first_loss": check,
                        "speedup_vs_torch": None if t_torch is None else t_torch / t_tn,
                        "matmul_share": t_mm / t_tn})
        rows.append([name, batch, common.us(t_tn), common.us(t_torch),
                     "-" if t_torch is None else f"{t_torch / t_tn:.2f}x",
                     common.us(t_mm), f"{100 * t_mm / t_tn:.0f}%", common.us(t_torch_mm)])
    print(common.table(["network", "batch", "tinynet step", "PyTorch step",
                        "PyTorch / tinynet", "tinynet matmuls", "matmul share",
                        "PyTorch matmuls"], rows))
    if torch is None:
        print(f"\nPyTorch: {torch_note}.")
    common.write_json(args, {"benchmark": "train_step", "machine": info,
                             "settings": {"quick": args.quick, "repeat": args.repeat,
                                          "min_time": args.min_time, "lr": LEARNING_RATE},
                             "results": results})
    return results


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
