"""Sweep throughput: K stacked copies of the 10x10x10x10x4 network against K separate ones.

Throughput is model-updates per second: K / (time of one stacked step), each
step a forward, backward and SGD update of every copy on the same batch of 64
(float32). Several ways to train K copies of 2-10-10-10-10-4 (ReLU, softmax):
- tinynet stacked: ``tn.Sequential(layers, n_models=K)`` with one learning
  rate per copy, ``model.train_function`` per batch, every copy on the same batch;
- tinynet stacked, own batches: the same with a batch of its own for every
  copy, x of shape (K, 64, 2), as ``fit(shuffle=True)`` and ``tn.sweep`` now
  train (each copy shuffles from its own seed);
- tinynet stacked, unsplit: the first with the split of a stack over CPU
  threads (tinynet/fused_threads.py) turned off, where this tinynet has it;
- tinynet one at a time: K separate models, one step each;
- PyTorch one at a time: K separate ``nn.Sequential`` models and optimisers;
- PyTorch stacked: parameters with a leading K axis, ``torch.baddbmm`` with
  autograd, the per-copy mean losses summed (so each copy gets its own
  gradient), one SGD optimiser over the stacked tensors (one rate for all);
- JAX vmap step (when JAX is importable): ``jit(vmap(step))`` of the jitted
  JAX step of benchmarks/_jax.py over K parameter sets, one rate per copy.
One at a time, the time per model does not depend on K: it is measured on a
few models (``ONE_AT_A_TIME_MODELS``, round robin) and the K-model time is
extrapolated as K times that.

    python benchmarks/sweep.py [--quick] [--backend numpy|cupy] [--threads N] [--ks 1,16,...]
                               [--no-torch] [--no-jax] [--json PATH]
"""

import argparse
import sys

import _common as common

WIDTHS = (2, 10, 10, 10, 10, 4)
BATCH = 64
KS = (1, 16, 64, 256, 1024)
QUICK_KS = (1, 4, 16)
ONE_AT_A_TIME_MODELS = 4


def tinynet_models(k, x_dev, y_dev, stacked, own_batches=False):
    """A step function: one stacked model of k copies, or k models stepped in turn."""
    import numpy as np

    import tinynet as tn

    rates = list(np.geomspace(1e-3, 1e-1, k)) if k > 1 else [0.01]

    def build(n_models, seed, lr):
        layers = [tn.layers.Dense(WIDTHS[1], activation="relu", input_dim=WIDTHS[0])]
        layers += [tn.layers.Dense(w, activation="relu") for w in WIDTHS[2:-1]]
        layers.append(tn.layers.Dense(WIDTHS[-1], activation="softmax"))
        model = tn.Sequential(layers, seed=seed, n_models=n_models)
        return model.compile(optimizer=tn.optimizers.SGD(lr), loss="categorical_crossentropy",
                             metrics=())

    if stacked:
        model = build(k, 0, rates if k > 1 else rates[0])
        if own_batches and k > 1:  # copy i gets its own rows: (k, batch, in)
            xp = tn.backend.namespace(x_dev)
            idx = np.random.default_rng(1).integers(0, x_dev.shape[0], (k, x_dev.shape[0]))
            flat = xp.asarray(idx.reshape(-1))
            x_dev = xp.reshape(xp.take(x_dev, flat, axis=0), idx.shape + (x_dev.shape[-1],))
            y_dev = xp.reshape(xp.take(y_dev, flat, axis=0), idx.shape + (y_dev.shape[-1],))
        return lambda: model.train_function(x_dev, y_dev)
    models = [build(1, seed, rate) for seed, rate in enumerate(rates)]

    def step_each():
        for model in models:
            model.train_function(x_dev, y_dev)

    return step_each


def unsplit(step):
    """``step`` with tinynet's split of a stack over threads (tinynet/fused_threads.py) off,
    to show what the split gives; None where this tinynet has no split."""
    try:
        from tinynet import fused_threads
    except ImportError:
        return None

    def one():
        least = fused_threads.MIN_COPIES
        fused_threads.MIN_COPIES = 10**9  # more than any stack: one chunk, no thread
        try:
            step()
        finally:
            fused_threads.MIN_COPIES = least

    return one


def torch_models(torch, device, k, x, y):
    """k separate PyTorch models and optimisers, stepped one after another."""
    nets = []
    for _ in range(k):
        layers = []
        for a, b in zip(WIDTHS[:-1], WIDTHS[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        layers[-1] = torch.nn.Softmax(dim=-1)
        net = torch.nn.Sequential(*layers).to(device)
        nets.append((net, torch.optim.SGD(net.parameters(), lr=0.01)))
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def step_each():
        for net, opt in nets:
            opt.zero_grad()
            torch.nn.functional.nll_loss(torch.log(net(xt)), yt).backward()
            opt.step()

    return step_each


def torch_stacked(torch, device, k, x, y, seed=0):
    """k copies as stacked tensors (k, in, out): batched products with autograd."""
    gen = torch.Generator().manual_seed(seed)
    weights, biases = [], []
    for a, b in zip(WIDTHS[:-1], WIDTHS[1:]):
        limit = (6.0 / (a + b)) ** 0.5  # Glorot uniform, as tinynet's default
        w = (torch.rand(k, a, b, generator=gen) * 2 - 1) * limit
        weights.append(w.to(device).requires_grad_())
        biases.append(torch.zeros(k, 1, b, device=device, requires_grad=True))
    opt = torch.optim.SGD(weights + biases, lr=0.01)
    xt = torch.from_numpy(x).to(device).expand(k, -1, -1)  # the same batch for every copy
    yt = torch.from_numpy(y).to(device).repeat(k)

    def step():
        opt.zero_grad()
        h = xt
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, h, w)
            h = torch.relu(h) if i < len(weights) - 1 else torch.softmax(h, dim=-1)
        # sum over copies of each copy's mean loss: copy k's gradient is its own
        log_p = torch.log(h).reshape(k * BATCH, -1)
        loss = torch.nn.functional.nll_loss(log_p, yt, reduction="sum") / BATCH
        loss.backward()
        opt.step()

    return step


def jax_stacked(jax, k, x, y_onehot, seed=0):
    """k copies in one jitted ``vmap`` of the JAX step (benchmarks/_jax.py), one rate each."""
    import _jax
    import numpy as np

    import tinynet as tn

    layers = [tn.layers.Dense(WIDTHS[1], activation="relu", input_dim=WIDTHS[0])]
    layers += [tn.layers.Dense(w, activation="relu") for w in WIDTHS[2:-1]]
    layers.append(tn.layers.Dense(WIDTHS[-1], activation="softmax"))
    model = tn.Sequential(layers, seed=seed, n_models=k)
    model.build(WIDTHS[0])
    weights = model.get_weights()
    if k == 1:
        weights = [w[None] for w in weights]
    step = jax.jit(jax.vmap(_jax._update(jax), in_axes=(0, None, None, 0)))
    state = [_jax.params_from(jax, weights)]
    rates = jax.numpy.asarray(np.geomspace(1e-3, 1e-1, k) if k > 1 else [0.01],
                              dtype=jax.numpy.float32)
    xj, yj = jax.numpy.asarray(x), jax.numpy.asarray(y_onehot)

    def one():
        state[0], (loss, _) = step(state[0], xj, yj, rates)
        loss.block_until_ready()

    return one


def run(args):
    thread_notes = common.setup(args)
    import _jax
    import numpy as np

    import tinynet as tn

    torch, device, torch_note = common.load_torch(args)
    jax, jax_note = _jax.load_jax(args)
    sync = common.synchronizer(args, torch)
    info = common.machine(args, thread_notes, torch_note)
    info["jax"] = jax_note
    print(common.header(args, info, "sweep: model-updates per second, K copies of 2-10-10-10-10-4, "
                             f"batch {BATCH}"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, WIDTHS[0])).astype(np.float32)
    y = rng.integers(0, WIDTHS[-1], BATCH)
    x_dev = tn.backend.to_device(x)
    y_dev = tn.backend.to_device(tn.data.one_hot(y, WIDTHS[-1]))
    m = ONE_AT_A_TIME_MODELS
    rows, results = [], []
    for k in args.ks or (QUICK_KS if args.quick else KS):
        stacked_step = tinynet_models(k, x_dev, y_dev, stacked=True)
        cases = {"tinynet stacked": stacked_step,
                 "tinynet stacked, own batches": tinynet_models(k, x_dev, y_dev, stacked=True,
                                                                own_batches=True),
                 "tinynet one at a time": tinynet_models(min(k, m), x_dev, y_dev, stacked=False)}
        if unsplit(stacked_step) is not None:
            cases["tinynet stacked, unsplit"] = unsplit(stacked_step)
        if torch is not None:
            cases["PyTorch one at a time"] = torch_models(torch, device, min(k, m), x, y)
            cases["PyTorch stacked"] = torch_stacked(torch, device, k, x, y)
        if jax is not None:
            cases["JAX vmap step"] = jax_stacked(jax, k, x, tn.data.one_hot(y, WIDTHS[-1]))
        timing = common.measure(cases, args, sync)
        per_update = {  # seconds per model-update
            name: timing[name]["median"] / (min(k, m) if "one at a time" in name else k)
            for name in cases}
        rate = {name: 1.0 / s for name, s in per_update.items()}
        stacked = rate["tinynet stacked"]
        entry = {"K": k, "timing": timing, "updates_per_second": rate,
                 "extrapolated": {name: k > m for name in cases if "one at a time" in name},
                 "tinynet_stacked_vs_tinynet_one_at_a_time":
                     stacked / rate["tinynet one at a time"],
                 "own_batches_vs_shared": rate["tinynet stacked, own batches"] / stacked}
        if "tinynet stacked, unsplit" in rate:
            entry["split_vs_unsplit"] = stacked / rate["tinynet stacked, unsplit"]
        row = [k, common.us(timing["tinynet stacked"]["median"]), f"{stacked:,.0f}",
               _fmt_rate(rate.get("tinynet stacked, unsplit")),
               f"{rate['tinynet stacked, own batches']:,.0f}",
               f"{rate['tinynet one at a time']:,.0f}"]
        if torch is not None:
            entry["tinynet_stacked_vs_torch_one_at_a_time"] = (
                stacked / rate["PyTorch one at a time"])
            entry["tinynet_stacked_vs_torch_stacked"] = stacked / rate["PyTorch stacked"]
            entry["own_batches_vs_torch_one_at_a_time"] = (
                rate["tinynet stacked, own batches"] / rate["PyTorch one at a time"])
            row += [f"{rate['PyTorch one at a time']:,.0f}", f"{rate['PyTorch stacked']:,.0f}",
                    f"{entry['tinynet_stacked_vs_torch_one_at_a_time']:.1f}x",
                    f"{entry['tinynet_stacked_vs_torch_stacked']:.2f}x"]
        else:
            row += ["-", "-", "-", "-"]
        if jax is not None:
            entry["tinynet_stacked_vs_jax_vmap"] = stacked / rate["JAX vmap step"]
            row += [f"{rate['JAX vmap step']:,.0f}", f"{entry['tinynet_stacked_vs_jax_vmap']:.2f}x"]
        else:
            row += ["-", "-"]
        rows.append(row)
        results.append(entry)
    print(common.table(["K", "tinynet stacked step", "tinynet stacked (upd/s)",
                 "tinynet stacked, unsplit (upd/s)",
                 "tinynet stacked, own batches (upd/s)", "tinynet one at a time (upd/s)",
                 "PyTorch one at a time (upd/s)",
                 "PyTorch stacked (upd/s)", "stacked vs PyTorch one at a time",
                 "stacked vs PyTorch stacked", "JAX vmap step (upd/s)",
                 "stacked vs JAX vmap"], rows))
    print(f"\nOne at a time: measured on min(K, {m}) models, extrapolated to K "
          "(the per-model time does not depend on K).")
    if torch is None:
        print(f"PyTorch: {torch_note}.")
    if jax is None:
        print(f"JAX: {jax_note}.")
    common.write_json(args, {"benchmark": "sweep", "machine": info,
                             "settings": {"quick": args.quick, "repeat": args.repeat,
                                          "min_time": args.min_time, "batch": BATCH,
                                          "widths": WIDTHS, "one_at_a_time_models": m},
                             "results": results})
    return results


def _fmt_rate(value):
    return "-" if value is None else f"{value:,.0f}"


def _ks(text):
    """--ks 1,16,4096: positive ints, in the order given."""
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        ks = []
    if not ks or min(ks) < 1:
        raise argparse.ArgumentTypeError(f"expected positive ints separated by commas, "
                                         f"got {text!r}")
    return ks


def _add_options(parser):
    parser.add_argument("--ks", type=_ks, default=None, metavar="K,K,...",
                        help=f"the K values (default {','.join(map(str, KS))}; "
                             f"quick {','.join(map(str, QUICK_KS))})")


def main(argv=None):
    args = common.parse_args("sweep", __doc__.splitlines()[0], argv, extra=_add_options)
    try:
        run(args)
    except Exception as exc:
        if type(exc).__name__ == "BackendError":
            print(f"sweep: {exc}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
