"""The model file format: one .npz file, without pickle.

The file holds the architecture and compile settings as a JSON string, every
parameter as an array, and a SHA-256 digest of both, so a truncated, edited or
foreign file is refused with a ValueError instead of loading wrong weights.
Writing goes to a temporary file in the same folder that replaces the target
only once complete: a crash mid-save leaves the old file intact.

This module knows the format only; ``tinynet.model.load_model`` builds the
Sequential from what ``read_model`` returns, so the format never imports the model.
"""

import hashlib
import json
import os
import zipfile

import numpy as np

from tinynet import _files, losses, optimizers

FORMAT = "tinynet-model"
VERSION = 1


def _digest(config_text, arrays):
    h = hashlib.sha256(config_text.encode("utf-8"))
    for a in arrays:
        h.update(str((a.shape, a.dtype.str)).encode("ascii"))
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _config(model):
    config = {
        "format": FORMAT,
        "version": VERSION,
        "seed": model.seed,
        "n_models": model.n_models,
        "same_init": model.same_init,
        "input_dim": model.input_dim,
        "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                   for layer in model.layers],
        "compile": None,
    }
    if model.loss is not None:
        compiled = {"loss": losses.serialize(model.loss), "metrics": list(model.metric_names),
                    "optimizer": optimizers.serialize(model.optimizer)}
        try:
            json.dumps(compiled)
        except TypeError:  # e.g. a learning rate given as a plain Python function
            compiled = None
        config["compile"] = compiled
    return config


def save_model(model, path):
    """Write ``model`` to exactly ``path`` (one .npz), atomically."""
    path = os.fspath(path)
    weights = model.get_weights() if model.built else []
    text = json.dumps(_config(model))
    arrays = {f"weight_{i:03d}": w for i, w in enumerate(weights)}
    arrays["config"] = np.array(text)
    arrays["digest"] = np.array(_digest(text, weights))
    _files.write_bytes_with(path, lambda f: np.savez(f, **arrays))


def _read(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"load_model: {path!r} is not a readable tinynet model file ({exc}).") \
            from exc
    if "config" not in contents or "digest" not in contents:
        raise ValueError(f"load_model: {path!r} is not a tinynet model file (no config).")
    return contents


def read_model(path):
    """(config dict, [weights]) from the file at ``path``, checked against its digest.

    ValueError on a truncated, tampered or foreign file.
    """
    path = os.fspath(path)
    contents = _read(path)
    text = str(contents["config"])
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"load_model: {path!r} has a corrupt config ({exc}).") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"load_model: {path!r} is not a tinynet model file.")
    names = sorted(k for k in contents if k.startswith("weight_"))
    weights = [contents[k] for k in names]
    if str(contents["digest"]) != _digest(text, weights):
        raise ValueError(f"load_model: {path!r} fails its checksum: it was modified or damaged.")
    return config, weights
