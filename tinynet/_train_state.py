"""What a model file keeps of training beside the weights, so resuming = continuing.

Keras saves the optimiser's variables with the model (its step count, the
momentum buffers, Adam's moments); tinynet does the same, and also keeps where
each shuffle stream stands, so that ``load_model(path).fit(...)`` gives, bit for
bit, the weights the model would have reached had it stayed in memory (and a
``ModelCheckpoint`` file resumes exactly where its epoch ended).

The config's "training" entry (file format version 2):
    {"optimizer": null (not compiled) or
                  {"iterations": t,           the updates made: a schedule's step
                   "lr_scale": s,             a float, or K floats (ReduceLROnPlateau)
                   "slots": true or false},   whether the slot arrays follow
     "shuffle": {"seeds": null (seed + k for copy k, or seed for all with
                             same_init) or K ints (tn.sweep's orders),
                 "streams": [[seed, PCG64 state], ...]: the streams drawn from so far}}
With slots, entry ``slot_<i>_<name>.npy`` holds slot <name> of parameter i
(get_weights order), of that parameter's shape: the names are those the
optimiser itself makes (m and v for Adam, b or v for SGD with momentum, ...).
The loader checks all of it (``check``) before reading any slot array.
"""

import math
import numbers

import numpy as np

from tinynet import backend
from tinynet._model_schema import Refused, compile_settings

_STATE_KEYS = ("state", "inc", "has_uint32", "uinteger")
_MAX_SEED = 2**65  # seeds are < 2**64; copy k of the largest one shuffles with seed + k


# --- writing ---------------------------------------------------------------------------
def collect(model, compiled):
    """(the "training" config, [(entry name, array)]) of ``model``; compiled: the compile
    settings are saved (else the optimiser's state, useless without them, is left out)."""
    optimizer, arrays = None, []
    if compiled and model.optimizer is not None:
        state = model.optimizer.get_state()
        slots = state["slots"]
        if slots is not None and len(slots) != len(model.params):
            slots = None  # a layer was added after training: add starts new slots anyway
        scale = state["lr_scale"]
        optimizer = {"iterations": int(state["iterations"]),
                     "lr_scale": float(scale) if np.ndim(scale) == 0 else
                     [float(v) for v in scale],
                     "slots": slots is not None}
        for i, named in enumerate(slots or []):
            arrays += [(f"slot_{i:03d}_{name}", named[name]) for name in sorted(named)]
    orders = model.batch_orders
    streams = [[int(seed), _stream_state(rng)] for seed, rng in orders.generators.items()]
    seeds = list(orders.seeds)
    default = [model.seed if model.same_init else model.seed + k for k in range(model.n_models)]
    shuffle = {"seeds": None if seeds == default else seeds, "streams": streams}
    return {"optimizer": optimizer, "shuffle": shuffle}, arrays


def _stream_state(rng):
    state = rng.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise ValueError(f"save: a shuffle stream uses {state['bit_generator']}, not PCG64.")
    return {"state": int(state["state"]["state"]), "inc": int(state["state"]["inc"]),
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


# --- reading ---------------------------------------------------------------------------
def check(training, config, weight_shapes):
    """[(slot entry name, shape)] the checked "training" entry implies; Refused otherwise."""
    if not isinstance(training, dict) or set(training) != {"optimizer", "shuffle"}:
        raise Refused(f"has training state {_short(training)}; expected an object with "
                      "exactly the keys optimizer and shuffle.")
    n_models = config["n_models"]
    _check_shuffle(training["shuffle"], config)
    state = training["optimizer"]
    if state is None:
        return []
    if config["compile"] is None:
        raise Refused("has an optimiser state but no compile settings to build it from.")
    if not isinstance(state, dict) or set(state) != {"iterations", "lr_scale", "slots"}:
        raise Refused(f"has an optimiser state {_short(state)}; expected exactly the keys "
                      "iterations, lr_scale and slots.")
    _int(state["iterations"], "iterations", 0, 2**63 - 1)
    scale = state["lr_scale"]
    scales = scale if isinstance(scale, list) else [scale]
    if isinstance(scale, list) and (n_models == 1 or len(scale) != n_models) or not all(
            _is_real(s) and math.isfinite(s) and s >= 0 for s in scales):
        raise Refused(f"has lr_scale {_short(scale)}; expected a finite number >= 0, or "
                      f"{n_models} of them (one per stacked copy).")
    if not isinstance(state["slots"], bool):
        raise Refused(f"has slots {state['slots']!r}; expected true or false.")
    if not state["slots"]:
        return []
    optimizer = compile_settings(config["compile"], n_models)[0]
    names = sorted(optimizer._new_slots(np.zeros(1)))  # the names this optimiser makes
    return [(f"slot_{i:03d}_{name}", shape) for i, shape in enumerate(weight_shapes)
            for name in names]


def _check_shuffle(shuffle, config):
    if not isinstance(shuffle, dict) or set(shuffle) != {"seeds", "streams"}:
        raise Refused(f"has shuffle state {_short(shuffle)}; expected an object with exactly "
                      "the keys seeds and streams.")
    k = config["n_models"]
    seeds = shuffle["seeds"]
    if seeds is None:
        seed = config["seed"]
        seeds = [seed] if config["same_init"] else range(seed, seed + k)
    elif not isinstance(seeds, list) or len(seeds) != k:
        raise Refused(f"has shuffle seeds {_short(seeds)}; expected null or {k} integers.")
    else:
        for s in seeds:
            _int(s, "a shuffle seed", 0, _MAX_SEED)
    streams = shuffle["streams"]
    if not isinstance(streams, list) or len(streams) > k:
        raise Refused(f"has shuffle streams {_short(streams)}; expected a list of at most "
                      f"{k} [seed, state] pairs.")
    known = set(seeds) if isinstance(seeds, list) else seeds
    drawn = set()
    for entry in streams:
        if not isinstance(entry, list) or len(entry) != 2 or not _is_int(entry[0]) or (
                entry[0] not in known) or entry[0] in drawn:
            raise Refused(f"has a shuffle stream {_short(entry)}; expected [seed, state] for "
                          "a seed of a copy, each seed once.")
        drawn.add(entry[0])
        _check_stream(entry[1])


def _check_stream(state):
    if not isinstance(state, dict) or set(state) != set(_STATE_KEYS):
        raise Refused(f"has a shuffle stream state {_short(state)}; expected the keys "
                      f"{list(_STATE_KEYS)} of numpy's PCG64.")
    _int(state["state"], "a stream's state", 0, 2**128 - 1)
    _int(state["inc"], "a stream's increment", 0, 2**128 - 1)
    _int(state["has_uint32"], "has_uint32", 0, 1)
    _int(state["uinteger"], "uinteger", 0, 2**32 - 1)


def restore(model, training, slots):
    """Put the checked ``training`` state and ``slots`` ({entry name: host array}) back."""
    shuffle = training["shuffle"]
    if shuffle["seeds"] is not None:
        model._set_shuffle_seeds(shuffle["seeds"])
    for seed, state in shuffle["streams"]:
        model.batch_orders.generators[seed].bit_generator.state = {
            "bit_generator": "PCG64", "state": {"state": state["state"], "inc": state["inc"]},
            "has_uint32": state["has_uint32"], "uinteger": state["uinteger"]}
    saved = training["optimizer"]
    if saved is None or model.optimizer is None:
        return
    optimizer = model.optimizer
    scale = saved["lr_scale"]
    per_copy = None
    if saved["slots"]:
        names = sorted(optimizer._new_slots(np.zeros(1)))
        dtype = np.dtype(backend.get_dtype())  # as load_model casts the weights
        per_copy = [{name: slots[f"slot_{i:03d}_{name}"].astype(dtype) for name in names}
                    for i in range(len(model.params))]
    optimizer.set_state({"iterations": saved["iterations"],
                         "lr_scale": np.array(scale, dtype=np.float64)
                         if isinstance(scale, list) else float(scale),
                         "frozen": None, "learning_rate": optimizer.learning_rate,
                         "slots": per_copy})


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int(value, name, low, high):
    if not _is_int(value) or not low <= value <= high:
        raise Refused(f"has {name} {_short(value)}; expected an integer in [{low}, {high}].")


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
