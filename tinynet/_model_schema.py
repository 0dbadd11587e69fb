"""The strict schema of a model file's config, checked before any weight is read.

``check(config)`` accepts exactly what ``tinynet.saving`` writes: known keys
only, the right types, known layer, loss, optimiser and schedule classes with
arguments their constructors accept, and at most ``MAX_PARAMETERS`` parameters.
It returns the shape every weight entry must have, computed from the config
alone, so the loader can compare each entry's declared shape with it before
reading or allocating anything. Every refusal is a ``Refused`` (a ValueError)
whose message says what is wrong.
"""

import inspect
import math
import numbers

from tinynet import losses, metrics, optimizers, schedules
from tinynet.layers import LAYERS

MAX_PARAMETERS = 10**9  # all stacked copies together: 4 GB in float32, 8 GB in float64
MAX_MODELS = 100_000  # stacked copies, bounded on their own (a copy of ReLU has no parameter)
MAX_LAYERS = 10_000
MAX_METRICS = 32
_TOP = ("format", "version", "seed", "n_models", "same_init", "input_dim", "layers", "compile")
_COMPILE = ("loss", "optimizer", "metrics")
_COMPILE_OPTIONAL = ("fused",)  # absent in files written before it was saved: compile's default
_ENTRY = ("class_name", "config")


class Refused(ValueError):
    """A config that a tinynet model file cannot hold."""


def check(config, versions):
    """The weight shapes ``config`` implies, in get_weights order; Refused otherwise.

    versions: the format versions this tinynet reads; version 1 has no "training".
    """
    version = config.get("version") if isinstance(config, dict) else None
    if not _is_int(version) or version not in versions:
        raise Refused(f"has format version {version!r}; this tinynet reads versions "
                      f"{', '.join(map(str, versions))}.")
    _keys(config, _TOP + (("training",) if version >= 2 else ()), "the config")
    _int(config["seed"], "seed", low=0, high=2**64 - 1)
    n_models = _int(config["n_models"], "n_models", low=1, high=MAX_MODELS)
    if not isinstance(config["same_init"], bool):
        raise Refused(f"has same_init {config['same_init']!r}; expected true or false.")
    input_dim = config["input_dim"]
    if input_dim is not None:
        input_dim = _int(input_dim, "input_dim", low=1, high=MAX_PARAMETERS)
    layers = config["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise Refused(f"has layers of type {type(layers).__name__} (length "
                      f"{len(layers) if isinstance(layers, list) else 'n/a'}); expected a list "
                      f"of 1 to {MAX_LAYERS} layers.")
    built = [_layer(entry, i) for i, entry in enumerate(layers)]
    shapes = _shapes(built, input_dim, n_models)
    if config["compile"] is not None:
        compile_settings(config["compile"], n_models)
    return shapes


def compile_settings(compiled, n_models):
    """(optimizer, loss, metric names, fused) built from the config's "compile" part.

    fused: compile's choice of step, true or false; a file without it (written before
    it was saved) gets compile's default, True.
    """
    _keys(compiled, _COMPILE, "the compile settings", optional=_COMPILE_OPTIONAL)
    loss = _object(compiled["loss"], losses._BY_NAME, "loss")
    opt_config = _config_of(compiled["optimizer"], "optimizer")
    if "learning_rate" not in opt_config or "lr" in opt_config:
        raise Refused("has optimizer settings without learning_rate (or with the alias lr); "
                      "tinynet writes learning_rate.")
    rate = _rate(opt_config["learning_rate"], n_models)
    optimizer = _object(compiled["optimizer"], optimizers._BY_NAME, "optimizer",
                        learning_rate=rate)
    names = compiled["metrics"]
    if not isinstance(names, list) or len(names) > MAX_METRICS or not all(
            isinstance(n, str) for n in names):
        raise Refused(f"has metrics {names!r}; expected a list of at most {MAX_METRICS} names.")
    for name in names:
        try:
            metrics.resolve(name, loss)
        except (TypeError, ValueError) as exc:
            raise Refused(f"has an unusable metric {name!r} ({exc})") from None
    fused = compiled.get("fused", True)
    if not isinstance(fused, bool):
        raise Refused(f"has fused {fused!r} in the compile settings; expected true or false.")
    return optimizer, loss, list(names), fused


# --- pieces ---------------------------------------------------------------------------
def _keys(value, expected, what, optional=()):
    """Refused unless ``value`` is a dict with every key of ``expected``, and besides them
    at most the keys of ``optional``."""
    if not isinstance(value, dict):
        raise Refused(f"has {what} of type {type(value).__name__}; expected an object.")
    missing = [k for k in expected if k not in value]
    extra = sorted(str(k) for k in value if k not in expected and k not in optional)
    if missing or extra:
        also = f", and optionally {list(optional)}" if optional else ""
        raise Refused(f"has {what} with missing keys {missing} and unknown keys {extra}; "
                      f"expected exactly {list(expected)}{also}.")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int(value, name, low, high):
    if not _is_int(value) or not low <= value <= high:
        raise Refused(f"has {name} {value!r}; expected an integer in [{low}, {high}].")
    return int(value)


def _config_of(entry, what):
    _keys(entry, _ENTRY, f"the {what} entry")
    if not isinstance(entry["class_name"], str) or not isinstance(entry["config"], dict):
        raise Refused(f"has a {what} entry {entry!r}; expected a class name and a config object.")
    return entry["config"]


def _arguments(cls, config, what):
    """Refuse keys the constructor of ``cls`` does not take by name."""
    params = inspect.signature(cls.__init__).parameters
    accepted = {n for n, p in params.items() if n != "self" and p.kind in (
        p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unknown = sorted(str(k) for k in config if k not in accepted)
    if unknown:
        raise Refused(f"has {what} ({cls.__name__}) with unknown arguments {unknown}; "
                      f"{cls.__name__} takes {sorted(accepted)}.")


def _construct(make, what, *args, **kwargs):
    try:
        return make(*args, **kwargs)
    except Exception as exc:  # any failure of a constructor on file data is a refusal
        raise Refused(f"has {what} that cannot be built ({type(exc).__name__}: {exc})") from None


def _layer(entry, i):
    config = _config_of(entry, f"layer {i}")
    cls = LAYERS.get(entry["class_name"])
    if cls is None:
        raise Refused(f"has layer {i} of unknown class {entry['class_name']!r}; expected one "
                      f"of: {', '.join(LAYERS)}.")
    _arguments(cls, config, f"layer {i}")
    return _construct(cls, f"layer {i} ({cls.__name__})", **config)


def _shapes(layers, input_dim, n_models):
    """The weight shapes for inputs ``input_dim`` wide; Refused past MAX_PARAMETERS.

    input_dim null: the model is built on its first data, so the file holds no
    weights ([]); the layers are still counted for inputs 1 feature wide, the
    fewest parameters any data gives them (Dense: (1 + use_bias) * units; a
    later layer that declares its input_dim counts from that width), so a file
    cannot leave a Dense(10**12) for predict to allocate.
    """
    first = getattr(layers[0], "declared_input_dim", None)
    if input_dim is None:
        if first is not None:
            raise Refused(f"has input_dim null but layer 0 declares input_dim={first}.")
        _counted(layers, 1, n_models, narrowest=True)
        return []
    return _counted(layers, input_dim, n_models)


def _counted(layers, input_dim, n_models, narrowest=False):
    """The shapes for inputs ``input_dim`` wide, at most MAX_PARAMETERS in all; with
    narrowest, input_dim is a lower bound and a declared width replaces it."""
    shapes, total, width = [], 0, input_dim
    note = " even for inputs 1 feature wide" if narrowest else ""
    for i, layer in enumerate(layers):
        declared = getattr(layer, "declared_input_dim", None)
        if declared is not None and declared != width:
            if not narrowest:
                raise Refused(f"has layer {i} declaring input_dim={declared} where its input "
                              f"is {width} wide.")
            width = declared
        for shape, _ in layer.param_specs(width).values():
            shape = tuple(shape) if n_models == 1 else (n_models,) + tuple(shape)
            total += math.prod(shape)
            if total > MAX_PARAMETERS:
                raise Refused(f"declares more than {MAX_PARAMETERS} parameters (layer {i} "
                              f"reaches {total}{note}); tinynet model files hold at most "
                              f"{MAX_PARAMETERS}.")
            shapes.append(shape)
        width = layer.output_dim(width)
    return shapes


def _object(entry, by_name, what, **override):
    config = _config_of(entry, what)
    classes = {c.__name__: c for c in by_name.values()}
    cls = classes.get(entry["class_name"])
    if cls is None:
        raise Refused(f"has an unknown {what} class {entry['class_name']!r}; expected one "
                      f"of: {', '.join(classes)}.")
    _arguments(cls, config, f"the {what}")
    return _construct(cls, f"the {what} ({cls.__name__})", **{**config, **override})


def _rate(value, n_models):
    """A learning rate from its saved form: a number, a schedule config, or one per copy."""
    if isinstance(value, list):
        if len(value) != n_models:
            raise Refused(f"has {len(value)} learning rates for {n_models} stacked copies.")
        return [_one_rate(v) for v in value]
    return _one_rate(value)


def _one_rate(value):
    if isinstance(value, dict):
        _config_of(value, "learning-rate schedule")
        return _construct(schedules.get, f"a learning-rate schedule {value.get('class_name')!r}",
                          value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Refused(f"has a learning rate {value!r}; expected a number, a schedule or a "
                      "list of them.")
    return float(value)
