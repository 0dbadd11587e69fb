"""Whole trainings: one seed network for 100 epochs, and K = 256 of them for 20, against peers.

The post's experiment (tinynet/apps/reproduce): 2-10-10-10-10-4 (ReLU,
softmax), plain SGD (lr 0.01), categorical cross-entropy, 800 training points
in four 2-D clusters, batch 64 (12 full batches and one of 32 per epoch), a
fresh shuffle every epoch, float32. Every case starts from the same weights.

One network, ``EPOCHS`` epochs:
- tinynet ``fit``: ``model.fit(x, y, epochs, batch_size=64, verbose=0)`` with the
  default accuracy metric (fit's per-batch loss and accuracy included);
- NumPy floor: benchmarks/_floor.py, the same updates with the fewest NumPy
  calls (no metrics, no checks): issue 20's floor;
- NumPy floor, by column: the same calls on tinynet's by-column buffers, a
  float mask and a buffer of zeros: what a NumPy program cannot beat by much;
- JAX scan: one jitted call per epoch, ``lax.scan`` over its batches
  (losses and accuracies returned, as fit's);
- JAX step loop: a jitted step called once per batch from Python;
- PyTorch loop: ``zero_grad(); loss.backward(); step()`` per batch.

K = ``STACK_K`` networks, ``STACK_EPOCHS`` epochs, each copy its own seed and shuffle:
- tinynet stacked ``fit`` (``n_models=K``, one rate per copy, ``shuffle=True``);
- JAX ``jit(vmap(epoch))``, each copy its own order;
- PyTorch stacked (benchmarks/sweep.py's ``baddbmm`` model), each copy its own order.

    python benchmarks/fit.py [--quick] [--threads N] [--no-torch] [--no-jax] [--json PATH]
"""

import sys

import _common as common

WIDTHS = (2, 10, 10, 10, 10, 4)
CENTERS = ((-10.0, -10.0), (-10.0, 10.0), (10.0, -10.0), (10.0, 10.0))
N_TRAIN, BATCH, LEARNING_RATE = 800, 64, 0.01
EPOCHS, STACK_K, STACK_EPOCHS = 100, 256, 20
QUICK = {"epochs": 3, "stack_k": 4, "stack_epochs": 2}


def data(n=N_TRAIN, seed=0):
    """x (n, 2) float32 and one-hot y (n, 4): the post's four clusters (std 2)."""
    import numpy as np

    import tinynet as tn

    x, y = tn.datasets.make_blobs(n, np.array(CENTERS), 2.0, seed=seed)
    return x.astype(np.float32), tn.data.one_hot(y, len(CENTERS)).astype(np.float32)


def tinynet_model(n_models=1, seed=0, metrics=("accuracy",)):
    import numpy as np

    import tinynet as tn

    layers = [tn.layers.Dense(WIDTHS[1], activation="relu", input_dim=WIDTHS[0])]
    layers += [tn.layers.Dense(w, activation="relu") for w in WIDTHS[2:-1]]
    layers.append(tn.layers.Dense(WIDTHS[-1], activation="softmax"))
    model = tn.Sequential(layers, seed=seed, n_models=n_models)
    rate = LEARNING_RATE if n_models == 1 else [LEARNING_RATE] * n_models
    model.compile(optimizer=tn.optimizers.SGD(rate), loss="categorical_crossentropy",
                  metrics=metrics)
    model.build(WIDTHS[0])
    return model, [np.array(w) for w in model.get_weights()]


def tinynet_fit(model, weights, x, y, epochs):
    def run():
        model.set_weights(weights)
        model.fit(x, y, epochs=epochs, batch_size=BATCH, verbose=0)

    return run


def floor_fit(weights, x, y, epochs, seed=0, by_column=False):
    import numpy as np
    from _floor import FloorNet, with_ones

    net = FloorNet(weights, LEARNING_RATE, by_column=by_column)
    start = net.theta.copy()
    x1 = with_ones(x)
    rng = np.random.default_rng(seed)

    def run():
        net.theta[...] = start
        for _ in range(epochs):
            net.epoch(x1, y, rng.permutation(x.shape[0]), BATCH)

    return run


def jax_fits(jax, weights, x, y, epochs, seed=0):
    """{"JAX scan": ..., "JAX step loop": ...}: the same training, two ways of calling JAX."""
    import _jax
    import numpy as np

    params0 = _jax.params_from(jax, weights)
    xj, yj = jax.numpy.asarray(x), jax.numpy.asarray(y)
    n = x.shape[0]
    epoch = _jax.epoch(jax, n, BATCH)
    step = _jax.step(jax)
    rng = np.random.default_rng(seed)

    def scan():
        params = params0
        for _ in range(epochs):
            params, losses, accuracies = epoch(params, xj, yj, rng.permutation(n),
                                               LEARNING_RATE)
        _jax.block((params, losses, accuracies))

    def loop():
        params = params0
        for _ in range(epochs):
            order = jax.numpy.asarray(rng.permutation(n))
            xs, ys = jax.numpy.take(xj, order, axis=0), jax.numpy.take(yj, order, axis=0)
            for start in range(0, n, BATCH):
                params, _ = step(params, xs[start:start + BATCH], ys[start:start + BATCH],
                                 LEARNING_RATE)
        _jax.block(params)

    return {"JAX scan": scan, "JAX step loop": loop}


def torch_fit(torch, weights, x, y, epochs, seed=0):
    from train_step import torch_net

    net = torch_net(torch, torch.device("cpu"), weights)
    start = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    xt, labels = torch.from_numpy(x), torch.from_numpy(y.argmax(axis=1))
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]

    def run():
        net.load_state_dict(start)
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            xs, ys = xt[order], labels[order]
            for i in range(0, n, BATCH):
                opt.zero_grad()
                loss = torch.nn.functional.nll_loss(torch.log(net(xs[i:i + BATCH])),
                                                    ys[i:i + BATCH])
                loss.backward()
                opt.step()

    return run


def one_network(args, torch, jax, x, y, epochs):
    model, weights = tinynet_model()
    cases = {"tinynet fit": tinynet_fit(model, weights, x, y, epochs),
             "NumPy floor": floor_fit(weights, x, y, epochs),
             "NumPy floor, by column": floor_fit(weights, x, y, epochs, by_column=True)}
    if jax is not None:
        cases.update(jax_fits(jax, weights, x, y, epochs))
    if torch is not None:
        cases["PyTorch loop"] = torch_fit(torch, weights, x, y, epochs)
    return common.measure(cases, args, common.synchronizer(args), warmup=1)


def stack_rates(k):
    """One rate per copy, as tn.sweep gives them: log-spaced 1e-3 .. 3e-2."""
    import numpy as np

    return [float(r) for r in np.geomspace(1e-3, 3e-2, k)]


def tinynet_stacked_fit(k, x, y, epochs):
    import tinynet as tn

    model, weights = tinynet_model(n_models=k)
    model.compile(optimizer=tn.optimizers.SGD(stack_rates(k)), loss="categorical_crossentropy")
    return tinynet_fit(model, weights, x, y, epochs), weights


def jax_stacked_fit(jax, weights, k, x, y, epochs, seed=0):
    import _jax
    import numpy as np

    params0 = _jax.params_from(jax, weights)
    xj, yj = jax.numpy.asarray(x), jax.numpy.asarray(y)
    rates = jax.numpy.asarray(stack_rates(k), dtype=jax.numpy.float32)
    n = x.shape[0]
    epoch = _jax.stacked_epoch(jax, n, BATCH)
    rngs = [np.random.default_rng(seed + i) for i in range(k)]

    def run():
        params = params0
        for _ in range(epochs):
            orders = np.stack([rng.permutation(n) for rng in rngs])
            params, losses, accuracies = epoch(params, xj, yj, orders, rates)
        _jax.block((params, losses, accuracies))

    return run


def torch_stacked_fit(torch, weights, k, x, y, epochs, seed=0):
    """K copies as (K, in, out) tensors, baddbmm + autograd, each copy its own order and rate."""
    import numpy as np

    start = [torch.from_numpy(np.array(w, dtype=np.float32)) for w in weights]
    params = [p.clone().requires_grad_() for p in start]
    rates = torch.tensor(stack_rates(k), dtype=torch.float32)
    xt, labels = torch.from_numpy(x), torch.from_numpy(y.argmax(axis=1))
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]

    def run():
        with torch.no_grad():
            for p, p0 in zip(params, start):
                p.copy_(p0)
        for _ in range(epochs):
            orders = torch.argsort(torch.rand(k, n, generator=gen), dim=1)
            xs, ys = xt[orders], labels[orders]  # (K, n, 2), (K, n)
            for i in range(0, n, BATCH):
                h, yb = xs[:, i:i + BATCH], ys[:, i:i + BATCH]
                for j in range(0, len(params), 2):
                    h = torch.baddbmm(params[j + 1][:, None, :], h, params[j])
                    h = torch.relu(h) if j < len(params) - 2 else torch.softmax(h, dim=-1)
                log_p = torch.log(h).reshape(-1, h.shape[-1])
                loss = torch.nn.functional.nll_loss(log_p, yb.reshape(-1), reduction="sum")
                (loss / h.shape[1]).backward()  # each copy's mean loss: its own gradient
                with torch.no_grad():
                    for p in params:
                        p -= rates.reshape((k,) + (1,) * (p.ndim - 1)) * p.grad
                        p.grad = None

    return run


def stacked_networks(args, torch, jax, x, y, k, epochs):
    run, weights = tinynet_stacked_fit(k, x, y, epochs)
    cases = {"tinynet stacked fit": run}
    if jax is not None:
        cases["JAX vmap(scan)"] = jax_stacked_fit(jax, weights, k, x, y, epochs)
    if torch is not None:
        cases["PyTorch stacked"] = torch_stacked_fit(torch, weights, k, x, y, epochs)
    return common.measure(cases, args, common.synchronizer(args), warmup=1)


def rows_for(workload, timing, ours, updates):
    """Table rows: every case's time, time per model-update, and peer / tinynet."""
    t_ours = timing[ours]["median"]
    rows = []
    for name, entry in timing.items():
        t = entry["median"]
        ratio = "" if name == ours else f"{t / t_ours:.2f}x"
        rows.append([workload, name, common.us(t), common.us(t / updates), ratio])
    return rows


def run(args):
    thread_notes = common.setup(args)
    import math

    torch, _, torch_note = common.load_torch(args)
    import _jax

    jax, jax_note = _jax.load_jax(args)
    info = common.machine(args, thread_notes, torch_note)
    info["jax"] = jax_note
    print(common.header(args, info, "fit: whole trainings of the seed network (float32, SGD)"))
    epochs = QUICK["epochs"] if args.quick else EPOCHS
    k = QUICK["stack_k"] if args.quick else STACK_K
    k_epochs = QUICK["stack_epochs"] if args.quick else STACK_EPOCHS
    x, y = data()
    batches = math.ceil(x.shape[0] / BATCH)
    one = one_network(args, torch, jax, x, y, epochs)
    stacked = stacked_networks(args, torch, jax, x, y, k, k_epochs)
    rows = rows_for(f"1 network, {epochs} epochs", one, "tinynet fit", epochs * batches)
    rows += rows_for(f"K={k}, {k_epochs} epochs", stacked, "tinynet stacked fit",
                     k * k_epochs * batches)
    print(common.table(["workload", "case", "time", "per model-update",
                        "peer / tinynet (>1: tinynet faster)"], rows))
    floor = one["NumPy floor"]["median"] / one["tinynet fit"]["median"]
    by_column = one["NumPy floor, by column"]["median"] / one["tinynet fit"]["median"]
    print(f"\ntinynet fit / NumPy floor: {1 / floor:.2f}x the floor's time "
          f"({1 / by_column:.2f}x the by-column floor's).")
    if jax is None:
        print(f"JAX: {jax_note}.")
    if torch is None:
        print(f"PyTorch: {torch_note}.")
    results = {"one_network": {"epochs": epochs, "timing": one},
               "stacked": {"K": k, "epochs": k_epochs, "timing": stacked}}
    common.write_json(args, {"benchmark": "fit", "machine": info,
                             "settings": {"quick": args.quick, "repeat": args.repeat,
                                          "min_time": args.min_time, "batch": BATCH,
                                          "n_train": x.shape[0], "widths": WIDTHS},
                             "results": results})
    return results


def main(argv=None):
    args = common.parse_args("fit", __doc__.splitlines()[0], argv)
    if args.backend != "numpy":
        print("fit: the CPU only (its peers are the NumPy floor and JAX on the CPU).",
              file=sys.stderr)
        return 2
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
