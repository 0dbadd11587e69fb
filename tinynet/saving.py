"""The model file format: one .npz file (an uncompressed zip of .npy entries), no pickle.

The file holds the architecture and compile settings (fused= too) as a JSON string
(``config.npy``), every parameter as an array (``weight_000.npy``, ...), the
training state (the optimiser's step count and slots such as Adam's moments,
``slot_000_m.npy``, ..., and where each shuffle stream stands: see
``tinynet._train_state``), so that fitting a loaded model continues the run bit
for bit, and a SHA-256 digest of all of it (``digest.npy``). save refuses to
write a model that load_model would refuse. Writing goes to a temporary file in the
same folder that replaces the target only once complete (``tinynet._files``): a
crash mid-save leaves the old file intact.

What the digest does and does not do: it detects truncation and accidental
damage (a bad disk, a half-copied file, an edited byte). It is NOT a signature:
it has no key, so anyone who edits a file can recompute it. Do not load model
files from sources you do not trust. Loading never executes code (no pickle,
no eval), and a crafted file is refused with a ValueError before it can cost
memory out of proportion to its size, because the loader checks, in order:
0. that the path is a regular file (a link to /dev/zero, a FIFO or a device is
   refused before a byte is read: it could be read without end, or block);
1. the zip's end record, before zipfile builds an entry for each one the
   directory lists: at most MAX_ENTRIES entries in a bounded number of bytes;
   then the zip's directory: exactly the entries above, stored uncompressed (tinynet
   never compresses, so a small file cannot inflate into a huge one), each
   lying inside the file, and no two sharing a byte (entries pointing at one
   blob could declare gigabytes in a megabyte), so loading reads at most the
   file's size;
2. the config entry (at most MAX_CONFIG_BYTES), parsed and validated strictly
   (``tinynet._model_schema``: known keys, types, classes and arguments, at most
   ``MAX_PARAMETERS`` parameters), from which the shape of every weight follows;
3. each weight and slot entry's .npy header (shape and a float dtype) and size
   against that shape, before its data are read;
4. the digest, over what was read.
Compile settings that cannot be written (a learning rate given as a Python
function) are left out with a UserWarning; the architecture and weights are saved.

This module knows the format only; ``tinynet.model.load_model`` builds the
Sequential from what ``read_model`` returns, so the format never imports the model.
"""

import hashlib
import json
import math
import os
import struct
import warnings
import zipfile

import numpy as np

from tinynet import _files, _model_schema, _train_state, losses, optimizers, schedules
from tinynet._model_schema import MAX_MODELS, MAX_PARAMETERS, Refused

FORMAT = "tinynet-model"
VERSION = 2  # 2: the training state (tinynet._train_state); version 1 files still load
VERSIONS = (1, 2)
MAX_CONFIG_BYTES = 4 * 1024**2  # the config entry, header included (a few KB in practice)
# config and digest, and per layer at most a kernel and a bias, each with at most two
# optimiser slots (Adam's m and v): 60002, below the 65535 of a zip without ZIP64
MAX_ENTRIES = 2 + 2 * 3 * _model_schema.MAX_LAYERS
# bytes of one entry in the zip's directory: 46, a name (at most "weight_19999.npy"),
# and a ZIP64 extra field of at most 28 (an entry beyond 4 GiB)
_DIRECTORY_ENTRY = 46 + 16 + 28
_NPY_MAGIC = b"\x93NUMPY"
_FLOATS = (np.dtype("<f4"), np.dtype("<f8"))

__all__ = ["FORMAT", "VERSION", "MAX_CONFIG_BYTES", "MAX_ENTRIES", "MAX_MODELS", "MAX_PARAMETERS",
           "save_model", "read_model", "checked_path", "compile_settings", "restore_training"]


def _digest(config_text, arrays):
    h = hashlib.sha256(config_text.encode("utf-8"))
    for a in arrays:
        h.update(str((a.shape, a.dtype.str)).encode("ascii"))
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# --- writing ---------------------------------------------------------------------------
def _config(model):
    return {
        "format": FORMAT,
        "version": VERSION,
        "seed": model.seed,
        "n_models": model.n_models,
        "same_init": model.same_init,
        "input_dim": model.input_dim,
        "layers": [{"class_name": _class_name(layer), "config": layer.get_config()}
                   for layer in model.layers],
        "compile": _compile_config(model),
    }


def _class_name(layer):
    """The name load_model builds ``layer``'s class from: tinynet's own class name, or,
    for a class of the user's (one named like tinynet's included), "module.Class",
    which load_model refuses, so save does too instead of writing another layer."""
    cls = type(layer)
    if _model_schema.LAYERS.get(cls.__name__) is cls:
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def _compile_config(model):
    """The compile settings as JSON-ready data, or None (with a UserWarning) if they cannot be."""
    if model.loss is None:
        return None
    optimizer = model.optimizer
    try:
        rate = _rate_config(optimizer.learning_rate)
    except _Unsaveable as exc:
        warnings.warn(
            f"save: the compile settings (loss, optimizer, metrics) were not saved because "
            f"learning_rate is a Python function ({exc}); the architecture and weights were. "
            "After load_model, call model.compile(...) again, or give the rate as a "
            "tn.schedules schedule (or a Schedule subclass with get_config) to have it saved.",
            UserWarning, stacklevel=5)
        return None
    opt = optimizers.serialize(optimizer)
    opt["config"] = {**opt["config"], "learning_rate": rate}
    compiled = {"loss": losses.serialize(model.loss), "optimizer": opt,
                "metrics": list(model.metric_names),
                "fused": model._fused}  # compile(fused=...): which step fit runs
    json.dumps(compiled)  # everything else is numbers and names
    return compiled


class _Unsaveable(Exception):
    pass


def _rate_config(rate):
    """A float, a schedule's config dict, or a list of them (one per stacked copy)."""
    if isinstance(rate, (list, tuple)):
        return [_rate_config(r) for r in rate]
    if isinstance(rate, float):
        return rate
    if isinstance(rate, schedules.Schedule):
        try:
            return json.loads(json.dumps(schedules.serialize(rate)))
        except (NotImplementedError, TypeError, ValueError) as exc:
            raise _Unsaveable(f"{rate!r} has no usable get_config") from exc
    raise _Unsaveable(repr(rate))


def save_model(model, path):
    """Write ``model`` to exactly ``path`` (one .npz), atomically, with its training state."""
    path = os.fspath(path)
    weights = model.get_weights() if model.built else []
    config = _config(model)
    config["training"], slots = _train_state.collect(model, config["compile"] is not None)
    text = json.dumps(config)
    _check_readable(text, len(weights))
    arrays = {f"weight_{i:03d}": w for i, w in enumerate(weights)}
    arrays.update(slots)
    arrays["config"] = np.array(text)
    arrays["digest"] = np.array(_digest(text, weights + [a for _, a in slots]))
    _files.write_bytes_with(path, lambda f: np.savez(f, **arrays))


def _check_readable(text, n_weights):
    """ValueError now if load_model would refuse what save is about to write."""
    config = json.loads(text)
    try:
        shapes = _model_schema.check(config, VERSIONS)
        _train_state.check(config["training"], config, shapes)
    except Refused as exc:
        raise ValueError(f"save: load_model could not read this model back: the file {exc} "
                         "Nothing was written.") from None
    if len(shapes) != n_weights:
        raise ValueError(f"save: the config implies {len(shapes)} weight arrays but the model "
                         f"has {n_weights}; nothing was written.")


# --- reading -----------------------------------------------------------------------------
def read_model(path):
    """(config dict, [weights], {slot entry: array}) from the file at ``path``, every part
    checked (module docstring); the slots are the optimiser's (tinynet._train_state).

    ValueError on a truncated, tampered, crafted or foreign file; FileNotFoundError
    when there is no file.
    """
    path = checked_path(path, "load_model")
    try:
        with _files.open_regular(path, "load_model") as fh:
            size = os.fstat(fh.fileno()).st_size
            if fh.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise Refused("is a single .npy array, not a tinynet model file (model.save "
                              "writes an .npz archive; load arrays with numpy.load).")
            _check_directory_size(fh, size)
            with zipfile.ZipFile(fh) as archive:
                _check_layout(fh, archive)
                return _read_archive(archive, size)
    except (Refused, _files.NotRegularFile) as exc:
        raise ValueError(f"load_model: {path!r} {exc}") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError,
            NotImplementedError, OverflowError) as exc:
        raise ValueError(f"load_model: {path!r} is not a readable tinynet model file "
                         f"({type(exc).__name__}: {exc}).") from exc


def checked_path(path, owner):
    """``path`` as a str (or bytes); TypeError naming ``owner`` (save, load_model) for None,
    a number, an open file..."""
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(f"{owner}: path must be a file path (a str or os.PathLike such as "
                        f"'model.npz'), got {path!r}.") from None


def restore_training(model, config, slots):
    """Give a loaded, compiled ``model`` the training state its file kept (version 2)."""
    if "training" in config:
        _train_state.restore(model, config["training"], slots)


def compile_settings(config):
    """(optimizer, loss, metric names, fused) from a checked config, or None if it was not
    compiled; fused is compile's choice of step (True for a file that predates it)."""
    if config["compile"] is None:
        return None
    return _model_schema.compile_settings(config["compile"], config["n_models"])


def _read_archive(archive, size):
    infos = archive.infolist()
    by_name = {info.filename: info for info in infos}
    if len(by_name) != len(infos):
        raise Refused("holds the same entry name twice; it is not a file tinynet wrote.")
    if "config.npy" not in by_name or "digest.npy" not in by_name:
        raise Refused("is not a tinynet model file (no config).")
    for info in infos:
        _check_entry(info, size)
    text = _read_string(archive, by_name["config.npy"], MAX_CONFIG_BYTES, "config")
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise Refused(f"has a corrupt config ({type(exc).__name__}: {exc}).") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise Refused("is not a tinynet model file.")
    shapes = _model_schema.check(config, VERSIONS)
    slots = _train_state.check(config["training"], config, shapes) if "training" in config \
        else []
    names = [f"weight_{i:03d}.npy" for i in range(len(shapes))]
    expected = set(names) | {name + ".npy" for name, _ in slots} | {"config.npy", "digest.npy"}
    if set(by_name) != expected:
        missing = sorted(expected - set(by_name))
        extra = sorted(set(by_name) - expected)[:5]
        raise Refused(f"does not match its config: missing entries {missing}, unexpected "
                      f"entries {extra} (the config implies {len(shapes)} weight arrays).")
    digest = _read_string(archive, by_name["digest.npy"], 1024, "digest")
    weights = [_read_weight(archive, by_name[name], shape) for name, shape in zip(names, shapes)]
    slot_arrays = {name: _read_weight(archive, by_name[name + ".npy"], shape)
                   for name, shape in slots}
    if digest != _digest(text, weights + list(slot_arrays.values())):
        raise Refused("fails its checksum: it was modified or damaged.")
    return config, weights, slot_arrays


def _check_directory_size(fh, size):
    """Refuse a zip whose directory lists more entries, or bytes, than tinynet writes.

    Only the end records are read, where zipfile looks for them: the last 22
    bytes (tinynet writes no comment, so the record is there or the file is
    refused), and the ZIP64 record and locator just before them (zipfile writes
    those for a file beyond 4 GiB; their count and size replace the classic
    ones). zipfile then reads the directory until its declared size is used up,
    whatever the count says, so both are bounded: at most MAX_ENTRIES entries
    and MAX_ENTRIES * _DIRECTORY_ENTRY bytes (5.4 MB).
    """
    fh.seek(max(size - zipfile.sizeEndCentDir, 0))
    end = fh.read(zipfile.sizeEndCentDir)
    if len(end) != zipfile.sizeEndCentDir or end[:4] != zipfile.stringEndArchive \
            or end[-2:] != b"\x00\x00":
        raise Refused("is not a readable tinynet model file: it does not end with the zip end "
                      "record tinynet writes (22 bytes, no comment); truncated, or written by "
                      "another program?")
    count, directory_bytes = struct.unpack("<HL", end[10:16])
    zip64_at = size - zipfile.sizeEndCentDir - zipfile.sizeEndCentDir64Locator \
        - zipfile.sizeEndCentDir64
    if zip64_at >= 0:
        fh.seek(zip64_at)
        zip64 = fh.read(zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator)
        if zip64[:4] == zipfile.stringEndArchive64 and \
                zip64[zipfile.sizeEndCentDir64:][:4] == zipfile.stringEndArchive64Locator:
            count, directory_bytes = struct.unpack("<2Q", zip64[32:48])
    if count > MAX_ENTRIES or directory_bytes > MAX_ENTRIES * _DIRECTORY_ENTRY:
        raise Refused(f"has a zip directory of {count} entries in {directory_bytes} bytes; "
                      f"tinynet writes at most {MAX_ENTRIES} entries in "
                      f"{MAX_ENTRIES * _DIRECTORY_ENTRY} bytes (a crafted file?).")
    fh.seek(0)


def _check_layout(fh, archive):
    """Refuse entries whose bytes overlap each other or the zip's directory.

    Each entry spans its local header (30 bytes, its name, its extra field)
    and its data; zipfile never checks that these spans are disjoint, so a
    crafted file can point many entries at one blob and declare far more data
    than it holds. Disjoint spans inside the file bound what loading reads by
    the file's size.
    """
    spans = []
    for info in archive.infolist():
        fh.seek(info.header_offset)
        head = fh.read(zipfile.sizeFileHeader)
        if len(head) != zipfile.sizeFileHeader or head[:4] != zipfile.stringFileHeader:
            raise Refused(f"has an entry {info.filename!r} without its local header "
                          "(damaged or crafted).")
        name_length, extra_length = struct.unpack("<2H", head[26:30])  # the header's end
        start = info.header_offset
        stop = start + len(head) + name_length + extra_length + info.compress_size
        spans.append((start, stop, info.filename))
    spans.sort()
    for (_, stop, name), (start, _, other) in zip(spans, spans[1:]):
        if start < stop:
            raise Refused(f"has entries {name!r} and {other!r} whose bytes overlap; tinynet "
                          "writes each entry once, one after the other (a crafted file?).")
    if spans and spans[-1][1] > archive.start_dir:
        raise Refused(f"has an entry {spans[-1][2]!r} that runs into the zip's directory "
                      "(truncated or crafted).")
    fh.seek(0)


def _check_entry(info, size):
    if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
        raise Refused(f"has a compressed entry {info.filename!r} ({info.compress_size} bytes "
                      f"declaring {info.file_size}); tinynet writes its entries uncompressed "
                      "and refuses compressed ones.")
    if info.header_offset + info.compress_size > size:
        raise Refused(f"has an entry {info.filename!r} that reaches past the end of the file "
                      "(truncated?).")


def _header(archive, info):
    """(open entry positioned at its data, shape, fortran_order, dtype, header length)."""
    f = archive.open(info)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise Refused(f"has an entry {info.filename!r} in .npy format {version}.")
        return f, shape, fortran, dtype, f.tell()
    except Refused:
        f.close()
        raise
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        f.close()
        raise Refused(f"has an entry {info.filename!r} that is not a valid .npy array "
                      f"({exc}).") from None


def _read_data(f, info, shape, fortran, dtype, header_len):
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != header_len + nbytes:
        raise Refused(f"has an entry {info.filename!r} of {info.file_size} bytes where its "
                      f"header declares {header_len + nbytes}.")
    data = f.read(nbytes)
    if len(data) != nbytes:
        raise Refused(f"has a truncated entry {info.filename!r}.")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _read_string(archive, info, limit, what):
    if info.file_size > limit:
        raise Refused(f"has a {what} entry of {info.file_size} bytes (at most {limit}).")
    f, shape, fortran, dtype, header_len = _header(archive, info)
    with f:
        if shape != () or dtype.kind != "U":
            raise Refused(f"has a {what} entry of shape {shape} and dtype {dtype}; expected "
                          "one string.")
        return str(_read_data(f, info, shape, fortran, dtype, header_len)[()])


def _read_weight(archive, info, shape):
    f, got, fortran, dtype, header_len = _header(archive, info)
    with f:
        if tuple(got) != tuple(shape) or dtype not in _FLOATS:
            raise Refused(f"has {info.filename!r} of shape {got} and dtype {dtype} where its "
                          f"config implies shape {tuple(shape)} of float32 or float64.")
        return _read_data(f, info, shape, fortran, dtype, header_len)
