"""Issue 20's table in one run: tinynet, the NumPy floor, JAX and PyTorch side by side.

Every row is one comparison, its cases timed interleaved (benchmarks/_common.py),
float32, plain SGD, the seed network 2-10-10-10-10-4 (ReLU, softmax) unless
said otherwise. "peer / tinynet" is the peer's time over tinynet's (> 1:
tinynet is faster); the floor's row is the floor's time over tinynet's.

1. stacked K=256 step, batch 64: ``model.train_function`` of a K-copy model
   (one rate per copy) against PyTorch stacked (``baddbmm`` + autograd) and
   JAX ``jit(vmap(step))`` (sweep.py's cases), and against itself with its
   split over threads off ("tinynet unsplit", where tinynet has the split);
2. the same per model-update against PyTorch one model at a time;
3. K=256 networks for 20 epochs of the post's experiment (800 points, batch
   64, each copy its own shuffle): stacked ``fit`` against JAX
   ``jit(vmap(lax.scan epoch))`` and PyTorch stacked (fit.py's cases);
4. one network, 100 epochs: ``fit`` against the NumPy floor (issue 20's, and
   the faster by-column one: benchmarks/_floor.py), JAX's jitted
   scan over each epoch, a jitted JAX step in a Python loop, a PyTorch loop;
5. one network, one ``train_on_batch`` against a PyTorch step;
6. 784-1024-1024-10, batch 256, one step: the share of tinynet's step its
   bare matrix products take, beside the NumPy floor's step of the same
   network, then (a second comparison) against PyTorch (train_step.py's cases).

It ends with the goals of issue 20, each with the ratio this run measured,
from the cases' medians (as the table) and from their fastest repeats.

    python benchmarks/speed.py [--quick] [--threads N] [--no-torch] [--no-jax] [--json PATH]
"""

import math
import sys

import _common as common

SEED_WIDTHS = (2, 10, 10, 10, 10, 4)
BIG_WIDTHS, BIG_BATCH = (784, 1024, 1024, 10), 256
SIZES = {"k": 256, "stack_epochs": 20, "epochs": 100, "big": (BIG_WIDTHS, BIG_BATCH)}
QUICK_SIZES = {"k": 8, "stack_epochs": 2, "epochs": 3, "big": ((64, 32, 32, 10), 16)}


def stacked_step(args, torch, jax, sizes, x, y):
    """Rows 1-2: the K-copy step against PyTorch (stacked, one at a time) and JAX vmap."""
    from sweep import jax_stacked, tinynet_models, torch_models, torch_stacked, unsplit

    import tinynet as tn

    k = sizes["k"]
    x_dev, y_dev = tn.backend.to_device(x), tn.backend.to_device(tn.data.one_hot(y, 4))
    cases = {"tinynet": tinynet_models(k, x_dev, y_dev, stacked=True)}
    if unsplit(cases["tinynet"]) is not None:  # the split over threads off
        cases["tinynet unsplit"] = unsplit(cases["tinynet"])
    if torch is not None:
        cases["PyTorch stacked"] = torch_stacked(torch, torch.device("cpu"), k, x, y)
        cases["PyTorch one at a time"] = torch_models(torch, torch.device("cpu"), 1, x, y)
    if jax is not None:
        cases["JAX vmap step"] = jax_stacked(jax, k, x, tn.data.one_hot(y, 4))
    timing = common.measure(cases, args, common.synchronizer(args))
    if "PyTorch one at a time" in timing:  # one model's step: K of them per stacked step
        timing["PyTorch one at a time"] = _scaled(timing["PyTorch one at a time"], k)
    return timing


def _scaled(entry, factor):
    return {**entry, "median": entry["median"] * factor, "scaled_by": factor}


def seed_batch(args, torch):
    """Row 5: train_on_batch of one seed network against a PyTorch step, same weights."""
    import numpy as np
    from train_step import tinynet_on_batch, tinynet_step, torch_step

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = rng.integers(0, 4, 64)
    cases = {"tinynet": tinynet_on_batch(SEED_WIDTHS, x, y)}
    if torch is not None:
        weights = tinynet_step(SEED_WIDTHS, x, y)[1].get_weights()
        cases["PyTorch step"] = torch_step(torch, torch.device("cpu"), weights, x, y)
    return common.measure(cases, args, common.synchronizer(args))


def big_step(args, torch, sizes):
    """Row 6: the large network's step against its bare products and the NumPy floor's
    step, then against PyTorch's.

    The floor (benchmarks/_floor.py, by column) is the least a NumPy step of this
    network does besides its products: ReLU, its mask and the gradient's product
    with it, softmax, one update pass; so floor / tinynet says how much of what
    is not a product is tinynet's own. Two comparisons, not one: PyTorch's
    OpenMP threads spin a while after each of its calls and slow whichever case
    follows them, so beside PyTorch the share of the products came out 82-83% at
    2 threads here, against 86-88% for the same code without it. Returns
    ({tinynet, its matrix products, NumPy floor}, {tinynet, PyTorch step} or None).
    """
    import numpy as np
    from train_step import floor_step, matmul_floor, tinynet_step, torch_step

    widths, batch = sizes["big"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], batch)
    step, model = tinynet_step(widths, x, y)
    sync = common.synchronizer(args)
    share = common.measure({"tinynet": step, "its matrix products": matmul_floor(widths, batch),
                            "NumPy floor": floor_step(model.get_weights(), x, y, by_column=True)},
                           args, sync)
    if torch is None:
        return share, None
    peer = torch_step(torch, torch.device("cpu"), model.get_weights(), x, y)
    return share, common.measure({"tinynet": step, "PyTorch step": peer}, args, sync)


def rows_of(workload, timing, per=1):
    """[workload, case, time, peer / tinynet] for every case; per: model-updates per call."""
    t_ours = timing["tinynet"]["median"]
    rows = []
    for name, entry in timing.items():
        ratio = "" if name == "tinynet" else f"{entry['median'] / t_ours:.2f}x"
        if name == "its matrix products":
            ratio = f"{100 * entry['median'] / t_ours:.0f}% of the step"
        rows.append([workload, name, common.us(entry["median"]),
                     common.us(entry["median"] / per), ratio])
    return rows


def goals(results, stat="median"):
    """Issue 20's goals with this run's ratio; None where a peer was not measured.

    stat: "median" (each case's median repeat, as the table) or "min" (each
    case's fastest repeat: what is left when other programs' interference,
    which only ever adds time, is least; timeit's advice).
    """
    def ratio(group, peer, ours="tinynet"):
        t = results[group]
        return t[peer][stat] / t[ours][stat] if peer in t else None

    share = ratio("big", "its matrix products")
    return [
        ("stacked K step >= 1.2x PyTorch stacked", ratio("stacked step", "PyTorch stacked"),
         1.2, "x"),
        ("one network fit within 1.15x of the NumPy floor (floor / fit >= 0.87)",
         ratio("one network", "NumPy floor"), 1 / 1.15, "x"),
        ("one network fit >= 0.7x JAX scan", ratio("one network", "JAX scan"), 0.7, "x"),
        ("(no goal) one network fit against the by-column floor (floor / fit)",
         ratio("one network", "NumPy floor, by column"), None, "x"),
        ("(no goal) the by-column floor against JAX scan: the most NumPy reaches here",
         ratio("one network", "JAX scan", "NumPy floor, by column"), None, "x"),
        ("big network: >= 90% of the step in matrix products", share, 0.9, "%"),
        ("(no goal) big network: the NumPy floor's step / tinynet's",
         ratio("big", "NumPy floor"), None, "x"),
        ("(no goal) big network: the floor's share in matrix products",
         ratio("big", "its matrix products", "NumPy floor"), None, "%"),
    ]


def _verdict(value, target, unit):
    """[the ratio as shown, "met" / "not met" / "-"]."""
    if value is None:
        return ["-", "-"]
    shown = f"{100 * value:.0f}%" if unit == "%" else f"{value:.2f}x"
    return [shown, "-" if target is None else ("met" if value >= target else "not met")]


def run(args):
    thread_notes = common.setup(args)
    import _jax
    import fit
    import numpy as np

    torch, _, torch_note = common.load_torch(args)
    jax, jax_note = _jax.load_jax(args)
    info = common.machine(args, thread_notes, torch_note)
    info["jax"] = jax_note
    sizes = QUICK_SIZES if args.quick else SIZES
    k = sizes["k"]
    print(common.header(args, info, "speed: issue 20's comparisons, side by side in one run"))
    rng = np.random.default_rng(0)
    x_batch = rng.standard_normal((64, 2)).astype(np.float32)
    y_batch = rng.integers(0, 4, 64)
    x, y = fit.data()
    batches = math.ceil(x.shape[0] / fit.BATCH)
    results = {
        "stacked step": stacked_step(args, torch, jax, sizes, x_batch, y_batch),
        "stacked fit": fit.stacked_networks(args, torch, jax, x, y, k, sizes["stack_epochs"]),
        "one network": fit.one_network(args, torch, jax, x, y, sizes["epochs"]),
        "train_on_batch": seed_batch(args, torch),
    }
    results["big"], big_torch = big_step(args, torch, sizes)
    if big_torch is not None:
        results["big vs PyTorch"] = big_torch
    for group, ours in (("stacked fit", "tinynet stacked fit"), ("one network", "tinynet fit")):
        timing = results[group]
        results[group] = {"tinynet": timing.pop(ours), **timing}
    big = "-".join(map(str, sizes["big"][0]))
    rows = (rows_of(f"stacked K={k} step, batch 64", results["stacked step"], k)
            + rows_of(f"K={k}, {sizes['stack_epochs']} epochs, 800 points, own shuffles",
                      results["stacked fit"], k * sizes["stack_epochs"] * batches)
            + rows_of(f"1 network, {sizes['epochs']} epochs, fit", results["one network"],
                      sizes["epochs"] * batches)
            + rows_of("1 network, train_on_batch", results["train_on_batch"])
            + rows_of(f"{big}, batch {sizes['big'][1]}, one step", results["big"])
            + (rows_of(f"{big}, batch {sizes['big'][1]}, one step", results["big vs PyTorch"])
               if "big vs PyTorch" in results else []))
    print(common.table(["workload", "case", "time", "per model-update", "peer / tinynet"], rows))
    print("\n(peer / tinynet > 1: tinynet is faster. PyTorch one at a time: one model's step "
          "measured, times K.)\n")
    # (name, median ratio, fastest-repeat ratio, target, unit) for every goal
    paired = [(name, value, fastest, target, unit)
              for (name, value, target, unit), (_, fastest, _, _)
              in zip(goals(results), goals(results, "min"), strict=True)]
    goal_rows = [[name, *_verdict(value, target, unit), *_verdict(fastest, target, unit)]
                 for name, value, fastest, target, unit in paired]
    print(common.table(["goal (issue 20)", "medians", "", "fastest repeats", ""], goal_rows))
    for missing, note in (("JAX", jax_note if jax is None else None),
                          ("PyTorch", torch_note if torch is None else None)):
        if note:
            print(f"{missing}: {note}.")
    common.write_json(args, {"benchmark": "speed", "machine": info,
                             "settings": {"quick": args.quick, "repeat": args.repeat,
                                          "min_time": args.min_time, "sizes": sizes},
                             "results": results,
                             "goals": [{"goal": g, "value": v, "value_fastest": f,
                                        "target": t} for g, v, f, t, _ in paired]})
    return results


def main(argv=None):
    args = common.parse_args("speed", __doc__.splitlines()[0], argv)
    if args.backend != "numpy":
        print("speed: the CPU only (the floor and JAX are CPU peers); for the GPU run "
              "train_step.py and sweep.py with --backend cupy.", file=sys.stderr)
        return 2
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
