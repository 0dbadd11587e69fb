"""load_model on crafted files: a ValueError before any large read or allocation.

The digest is unkeyed, so every crafted file here carries a valid one: the
checks under test are the loader's own (schema, declared shapes and sizes).
"""

import copy
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import tinynet as tn
from tinynet import saving
from tinynet.layers import Dense


def _saved(tmp_path, n_models=1, compiled=True):
    layers = [Dense(4, activation="relu", input_dim=3), Dense(2, activation="softmax")]
    model = tn.Sequential(layers, seed=0, n_models=n_models)
    if compiled:
        model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    path = tmp_path / "good.npz"
    model.save(path)
    with np.load(path) as data:
        config = json.loads(str(data["config"]))
        weights = [data[f"weight_{i:03d}"] for i in range(len(model.get_weights()))]
    return config, weights


def _npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=False)
    return buf.getvalue()


def _write(path, config, weights, extra=(), digest=None):
    """A model file as save writes it, from any config and arrays, with a valid digest."""
    text = json.dumps(config) if not isinstance(config, str) else config
    digest = saving._digest(text, weights) if digest is None else digest
    with zipfile.ZipFile(path, "w") as z:
        for i, w in enumerate(weights):
            z.writestr(f"weight_{i:03d}.npy", _npy(w))
        z.writestr("config.npy", _npy(np.array(text)))
        z.writestr("digest.npy", _npy(np.array(digest)))
        for name, data in extra:
            z.writestr(name, data)
    return path


def test_the_helper_writes_files_that_load(tmp_path):
    config, weights = _saved(tmp_path)
    tn.load_model(_write(tmp_path / "same.npz", config, weights))


def test_a_npy_file_is_refused_clearly(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"single \.npy array, not a tinynet model"):
        tn.load_model(tmp_path / "w.npy")


def _mutations():
    """(name, function changing a config in place) for configs that must be refused."""
    def layer0(**kw):
        return lambda c: c["layers"][0]["config"].update(kw)

    def top(**kw):
        return lambda c: c.update(kw)

    def comp(key, value):
        return lambda c: c["compile"].__setitem__(key, value)

    def opt(**kw):
        return lambda c: c["compile"]["optimizer"]["config"].update(kw)

    return [
        ("layers not a list", top(layers="dense")),
        ("no layers", top(layers=[])),
        ("layer not a dict", lambda c: c["layers"].__setitem__(0, ["Dense", 4])),
        ("layer without class", lambda c: c["layers"][0].pop("class_name")),
        ("unknown layer class", lambda c: c["layers"][0].__setitem__("class_name", "Lambda")),
        ("layer config not a dict", lambda c: c["layers"][0].__setitem__("config", 4)),
        ("unknown layer argument", layer0(evil=1)),
        ("units a string", layer0(units="4")),
        ("units negative", layer0(units=-4)),
        ("units a bool", layer0(units=True)),
        ("units a float", layer0(units=4.0)),
        ("unknown activation", layer0(activation="os.system")),
        ("unknown activation class", layer0(activation={"class_name": "Popen", "config": {}})),
        ("activation a layer with weights", layer0(activation={"class_name": "Dense",
                                                               "config": {"units": 2}})),
        ("activation argument", layer0(activation={"class_name": "ReLU", "config": {"x": 1}})),
        ("activation key", layer0(activation={"class_name": "ReLU", "config": {}, "eval": 1})),
        ("activation config a list", layer0(activation={"class_name": "ReLU", "config": []})),
        ("slope negative", layer0(activation={"class_name": "LeakyReLU",
                                              "config": {"negative_slope": -1.0}})),
        ("slope a string", layer0(activation={"class_name": "LeakyReLU",
                                              "config": {"negative_slope": "0.3"}})),
        ("slope a bool", layer0(activation={"class_name": "LeakyReLU",
                                            "config": {"negative_slope": True}})),
        ("slope infinite", layer0(activation={"class_name": "LeakyReLU",
                                              "config": {"negative_slope": float("inf")}})),
        ("slope nan", layer0(activation={"class_name": "LeakyReLU",
                                         "config": {"negative_slope": float("nan")}})),
        ("initializer class", layer0(kernel_initializer={"class_name": "Popen", "config": {}})),
        ("initializer argument", layer0(kernel_initializer={"class_name": "RandomNormal",
                                                            "config": {"cmd": "ls"}})),
        ("layer input_dim disagrees", layer0(input_dim=5)),
        ("n_models a string", top(n_models="1")),
        ("n_models zero", top(n_models=0)),
        ("seed negative", top(seed=-1)),
        ("seed a float", top(seed=0.5)),
        ("same_init a string", top(same_init="yes")),
        ("input_dim zero", top(input_dim=0)),
        ("input_dim a list", top(input_dim=[3])),
        ("unknown top-level key", top(extra=1)),
        ("missing top-level key", lambda c: c.pop("seed")),
        ("other version", top(version=3)),
        ("version a bool", top(version=True)),
        ("compile a string", top(compile="sgd")),
        ("compile unknown key", comp("callbacks", [])),
        ("unknown loss class", comp("loss", {"class_name": "Eval", "config": {}})),
        ("loss argument", comp("loss", {"class_name": "MeanSquaredError",
                                        "config": {"from_logits": True}})),
        ("unknown optimizer", comp("optimizer", {"class_name": "LBFGS",
                                              "config": {"learning_rate": 0.1}})),
        ("rate a string", opt(learning_rate="fast")),
        ("rate negative", opt(learning_rate=-1.0)),
        ("rate list of the wrong length", opt(learning_rate=[0.1, 0.2])),
        ("unknown schedule", opt(learning_rate={"class_name": "X", "config": {}})),
        ("schedule argument", opt(learning_rate={"class_name": "ExponentialDecay",
                                                 "config": {"initial_learning_rate": 0.1}})),
        ("momentum out of range", opt(momentum=7.0)),
        ("optimizer argument", opt(clipnorm=1.0)),
        ("metrics a string", comp("metrics", "accuracy")),
        ("unknown metric", comp("metrics", ["f1_of_doom"])),
        ("fused a string", comp("fused", "false")),
        ("fused a number", comp("fused", 0)),
        ("fused null", comp("fused", None)),
        ("huge layer", lambda c: (c.update(input_dim=10**5),
                                  c["layers"][0]["config"].update(units=10**5, input_dim=10**5))),
    ]


@pytest.mark.parametrize("name, mutate", _mutations(), ids=[m[0] for m in _mutations()])
def test_a_crafted_config_with_a_valid_digest_is_refused(tmp_path, name, mutate):
    config, weights = _saved(tmp_path)
    bad = copy.deepcopy(config)
    mutate(bad)
    with pytest.raises(ValueError, match="load_model"):
        tn.load_model(_write(tmp_path / "bad.npz", bad, weights))


@pytest.mark.parametrize("text", ["[1, 2]", "null", '"x"', "[" * 100000 + "]" * 100000,
                                  '{"format": "tinynet-model"}'])
def test_a_config_that_is_not_a_model_config_is_refused(tmp_path, text):
    _, weights = _saved(tmp_path)
    with pytest.raises(ValueError, match="load_model"):
        tn.load_model(_write(tmp_path / "bad.npz", text, weights))


def test_weights_that_disagree_with_the_config_are_refused(tmp_path):
    config, weights = _saved(tmp_path)
    cases = {
        "shape": [np.zeros((3, 5))] + weights[1:],
        "dtype int": [weights[0].astype(np.int64)] + weights[1:],
        "dtype complex": [weights[0].astype(np.complex128)] + weights[1:],
        "missing": weights[:-1],
        "one more": weights + [np.zeros(2)],
    }
    for name, ws in cases.items():
        with pytest.raises(ValueError, match="load_model"):
            tn.load_model(_write(tmp_path / f"{name}.npz", config, ws))
    with pytest.raises(ValueError, match="unexpected entries"):
        tn.load_model(_write(tmp_path / "extra.npz", config, weights,
                             extra=[("notes.npy", _npy(np.zeros(3)))]))


def test_an_object_array_is_refused_without_unpickling(tmp_path):
    config, weights = _saved(tmp_path)
    path = _write(tmp_path / "pickle.npz", config, weights)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    entries["weight_000.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)
    with pytest.raises(ValueError, match="load_model"):
        tn.load_model(path)


def test_a_compressed_entry_is_refused(tmp_path):
    config, weights = _saved(tmp_path)
    path = tmp_path / "c.npz"
    text = json.dumps(config)
    np.savez_compressed(path, config=np.array(text), digest=np.array(saving._digest(text, weights)),
                        **{f"weight_{i:03d}": w for i, w in enumerate(weights)})
    with pytest.raises(ValueError, match="compressed"):
        tn.load_model(path)


def test_too_many_parameters_are_refused_from_the_config_alone(tmp_path):
    config, weights = _saved(tmp_path, n_models=1)
    config["n_models"] = saving.MAX_MODELS  # 10**5 copies of a 10**4 x 4 kernel: 4 * 10**9
    config["input_dim"] = config["layers"][0]["config"]["input_dim"] = 10**4
    with pytest.raises(ValueError, match=f"declares more than {saving.MAX_PARAMETERS} param"):
        tn.load_model(_write(tmp_path / "big.npz", config, weights))


def test_the_docs_say_what_the_digest_does_not_protect():
    assert "NOT a signature" in saving.__doc__ and "no pickle" in saving.__doc__
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    assert "not a signature" in readme.lower()


# --- memory: each crafted file is refused in a child process, whose peak RSS we read ------
_CHILD = textwrap.dedent("""
    import sys
    import tinynet as tn

    def status_kib(key):  # VmHWM: peak RSS of this process image; getrusage's
        # ru_maxrss would start at the parent's (pytest's) peak after vfork + exec
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))

    before = status_kib("VmRSS")
    try:
        tn.load_model(sys.argv[1])
        outcome = "loaded"
    except ValueError as exc:
        outcome = "ValueError: " + str(exc)
    except Exception as exc:
        outcome = type(exc).__name__ + ": " + str(exc)
    peak = status_kib("VmHWM")  # KiB
    print(outcome)
    print(peak - before)
""")


def _load_in_child(path):
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True,
                         text=True, timeout=300, check=True).stdout.splitlines()
    return out[0], int(out[1]) / 1024  # MiB above the child's RSS before loading


def _big_config(units, input_dim):
    return {"format": "tinynet-model", "version": 1, "seed": 0, "n_models": 1,
            "same_init": False, "input_dim": input_dim, "compile": None,
            "layers": [{"class_name": "Dense", "config": {"units": units, "use_bias": False}}]}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path):
    """1 MiB of deflated zeros declaring a 256 MiB kernel, with a valid digest."""
    units, width = 4096, 8192
    shape = (width, units)
    config = _big_config(units, width)
    text = json.dumps(config)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    header = buf.getvalue()
    h = hashlib.sha256(text.encode("utf-8"))
    h.update(str((shape, "<f8")).encode("ascii"))
    chunk = bytes(1 << 20)
    n_chunks = width * units * 8 // len(chunk)
    for _ in range(n_chunks):
        h.update(chunk)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("weight_000.npy", "w", force_zip64=True) as f:
            f.write(header)
            for _ in range(n_chunks):
                f.write(chunk)
        z.writestr("config.npy", _npy(np.array(text)))
        z.writestr("digest.npy", _npy(np.array(h.hexdigest())))
    assert path.stat().st_size < 2 * 1024**2
    outcome, grew = _load_in_child(path)
    assert outcome.startswith("ValueError"), outcome
    assert grew < 64, f"loading a refused {path.stat().st_size}-byte file cost {grew:.0f} MiB"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_tiny_file_declaring_a_huge_layer_is_refused_before_allocating(tmp_path):
    """A few KB whose config (valid digest) declares 32M parameters: 256 MiB on load."""
    config = _big_config(4096, 8192)
    weights = [np.zeros((2, 2))]
    path = _write(tmp_path / "huge.npz", config, weights)
    assert path.stat().st_size < 4096
    outcome, grew = _load_in_child(path)
    assert outcome.startswith("ValueError"), outcome
    assert grew < 64, f"loading a refused {path.stat().st_size}-byte file cost {grew:.0f} MiB"


@pytest.mark.parametrize("units", [[10**12], [10**5, 10**5]], ids=["one", "two"])
def test_a_huge_layer_is_refused_when_the_input_width_is_not_saved(tmp_path, units):
    """input_dim null: no weights to read, and predict would build Dense(10**12) on 1 feature."""
    config = _big_config(units[0], None)
    config["layers"] = [{"class_name": "Dense", "config": {"units": n}} for n in units]
    path = _write(tmp_path / "unbuilt.npz", config, [])
    assert path.stat().st_size < 4096
    with pytest.raises(ValueError, match=f"declares more than {saving.MAX_PARAMETERS} param.*"
                                         "1 feature wide"):
        tn.load_model(path)
    config["layers"] = [{"class_name": "Dense", "config": {"units": 10}}]
    assert not tn.load_model(_write(tmp_path / "small.npz", config, [])).built


def test_an_unbuilt_model_declaring_its_width_after_an_activation_round_trips(tmp_path):
    model = tn.Sequential([tn.layers.ReLU(), Dense(3, input_dim=5)], seed=0)
    model.save(tmp_path / "m.npz")
    loaded = tn.load_model(tmp_path / "m.npz")
    assert not loaded.built and loaded.layers[1].declared_input_dim == 5


# --- the zip's directory, bounded before zipfile reads it -------------------------------
def _many_entries(path, n, declared, zip64=False):
    """A zip of ``n`` empty stored entries whose end record declares ``declared`` of them.

    zip64: the true count, size and offset stand in a ZIP64 end record, whose values
    zipfile takes over the classic record's (which declares ``declared`` in 0 bytes).
    """
    out, central = bytearray(), bytearray()
    for i in range(n):
        name = f"{i:06d}".encode()
        central += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, 0, 0, 0,
                               0, 0, 0, len(name), 0, 0, 0, 0, 0, len(out)) + name
        out += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 0,
                           len(name), 0) + name
    start_dir = len(out)
    out += central
    if zip64:
        end64_at = len(out)
        out += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n,
                           len(central), start_dir)
        out += struct.pack("<4sLQL", b"PK\x06\x07", 0, end64_at, 1)
        out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, declared, declared, 0, 0, 0)
    else:
        out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, declared, declared, len(central),
                           start_dir, 0)
    path.write_bytes(bytes(out))
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("declared, zip64", [(0xFFFF, False), (14, False), (14, True)],
                         ids=["count-65535", "count-understated", "zip64-understated"])
def test_a_zip_of_many_entries_is_refused_before_its_directory_is_read(tmp_path, declared, zip64):
    """300k empty entries in 26 MB: zipfile would build all of them (+180 MB, 2 s) first."""
    path = _many_entries(tmp_path / "many.npz", 300_000, declared, zip64)
    outcome, grew = _load_in_child(path)
    assert outcome.startswith("ValueError") and "entries" in outcome, outcome
    assert grew < 16, f"refusing {path.stat().st_size} bytes of entries cost {grew:.0f} MiB"


def test_a_model_file_over_4_gib_still_loads(tmp_path, monkeypatch):
    """Beyond 4 GiB zipfile writes a ZIP64 end record; a low ZIP64_LIMIT makes one here."""
    model = tn.Sequential([Dense(4, activation="relu", input_dim=3), Dense(2)], seed=0)
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "ZIP64_LIMIT", 64)
        model.save(tmp_path / "m.npz")
    assert b"PK\x06\x06" in (tmp_path / "m.npz").read_bytes()[-200:]
    loaded = tn.load_model(tmp_path / "m.npz")
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_a_zip_with_a_comment_is_refused(tmp_path):
    """tinynet writes none; without one the end record is the last 22 bytes, as zipfile
    reads it first, so the entry count checked is the one zipfile uses."""
    path = tmp_path / "m.npz"
    tn.Sequential([Dense(2, input_dim=3)], seed=0).save(path)
    with zipfile.ZipFile(path, "a") as z:
        z.comment = b"hello"
    with pytest.raises(ValueError, match="not a readable tinynet model file.*end record"):
        tn.load_model(path)


# --- entries that share bytes, and paths that are not regular files -----------------------
def _zip_sharing_one_blob(path, shared_names, blob, others):
    """A zip whose entries ``shared_names`` all read the same stored ``blob``.

    The local headers stand one after another; each one's extra field is long
    enough to end exactly where the blob starts, so every entry's data is the
    blob (zipfile checks names, sizes and CRCs, never that entries are disjoint).
    ``others``: (name, bytes) entries written normally after the blob.
    """
    crc = zipfile.crc32(blob)
    heads = [name.encode() for name in shared_names]
    sizes = [30 + len(n) for n in heads]  # header i: 30 bytes and its name
    blob_at = sum(sizes)
    out, offsets, central = bytearray(), [], []
    for i, name in enumerate(heads):
        offsets.append(len(out))
        extra = blob_at - (len(out) + sizes[i])
        out += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, crc, len(blob),
                           len(blob), len(name), extra)
        out += name  # the extra field of this header is the headers after it
    out += blob
    entries = [(n, o, crc, len(blob)) for n, o in zip(heads, offsets)]
    for name, data in others:
        name = name.encode()
        offsets.append(len(out))
        entries.append((name, len(out), zipfile.crc32(data), len(data)))
        out += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0,
                           zipfile.crc32(data), len(data), len(data), len(name), 0)
        out += name + data
    start_dir = len(out)
    for name, offset, crc_, size in entries:
        central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, 0, 0, 0,
                                   crc_, size, size, len(name), 0, 0, 0, 0, 0, offset) + name)
    directory = b"".join(central)
    out += directory
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                       len(directory), start_dir, 0)
    path.write_bytes(bytes(out))
    return path


def _shared_blob_model(tmp_path, n_layers=24, width=256):
    """A valid-digest model file of ``n_layers`` (width x width) kernels that share one blob."""
    layers = [{"class_name": "Dense", "config": {"units": width, "use_bias": False}}
              for _ in range(n_layers)]
    config = {"format": "tinynet-model", "version": 1, "seed": 0, "n_models": 1,
              "same_init": False, "input_dim": width, "compile": None, "layers": layers}
    text = json.dumps(config)
    kernel = np.full((width, width), 0.01)
    weights = [kernel] * n_layers
    others = [("config.npy", _npy(np.array(text))),
              ("digest.npy", _npy(np.array(saving._digest(text, weights))))]
    names = [f"weight_{i:03d}.npy" for i in range(n_layers)]
    return _zip_sharing_one_blob(tmp_path / "shared.npz", names, _npy(kernel), others)


def test_entries_that_share_their_bytes_are_refused_before_reading(tmp_path):
    """24 kernels of 512 KiB read from one blob: 12 MiB declared by a 0.5 MiB file."""
    path = _shared_blob_model(tmp_path)
    with zipfile.ZipFile(path) as z:  # the crafted file is a zip zipfile reads in full
        declared = sum(len(z.read(n)) for n in z.namelist())
    assert declared > 20 * path.stat().st_size
    with pytest.raises(ValueError, match="overlap"):
        tn.load_model(path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_entries_that_share_their_bytes_cost_no_memory(tmp_path):
    path = _shared_blob_model(tmp_path, n_layers=200, width=512)  # 2 MiB declaring 400 MiB
    outcome, grew = _load_in_child(path)
    assert outcome.startswith("ValueError") and "overlap" in outcome, outcome
    assert grew < 64, f"loading a refused {path.stat().st_size}-byte file cost {grew:.0f} MiB"


_GUARDED_CHILD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))  # a bug fails, not OOMs
    import tinynet as tn
    try:
        tn.load_model(sys.argv[1])
        print("loaded")
    except Exception as exc:
        print(type(exc).__name__ + ": " + str(exc))
""")


def _load_guarded(path, timeout=60):
    """load_model(path) in a child limited to 2 GiB and ``timeout`` s: what it printed."""
    try:
        return subprocess.run([sys.executable, "-c", _GUARDED_CHILD, str(path)],
                              capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        pytest.fail(f"load_model({str(path)!r}) blocked for {timeout} s")


@pytest.mark.skipif(not os.path.exists("/dev/zero") or not sys.platform.startswith("linux"),
                    reason="needs /dev/zero and resource limits")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_link_to_a_device_is_refused_before_reading(tmp_path, device):
    link = tmp_path / "model.npz"
    link.symlink_to(device)
    out = _load_guarded(link)
    assert out.startswith("ValueError") and "not a regular file" in out, out
    with pytest.raises(ValueError, match="character device"):
        tn.load_model(link)


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not sys.platform.startswith("linux"),
                    reason="needs os.mkfifo")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    """In a child with a timeout: on failure the open blocks, and the suite must not hang."""
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    out = _load_guarded(fifo, timeout=30)
    assert out.startswith("ValueError") and "FIFO" in out, out


def test_a_path_that_is_not_a_path_is_a_clear_type_error():
    for bad in (None, 3, ["m.npz"]):
        with pytest.raises(TypeError, match="load_model: path must be a file path"):
            tn.load_model(bad)


def _relu_only(n_models):
    return {"format": "tinynet-model", "version": 1, "seed": 0, "n_models": n_models,
            "same_init": False, "input_dim": 3, "compile": None,
            "layers": [{"class_name": "ReLU", "config": {}}]}


def test_n_models_is_bounded_on_its_own(tmp_path):
    """A ReLU has no parameter, so the parameter limit cannot bound the copies."""
    path = _write(tmp_path / "many.npz", _relu_only(10**7), [])
    assert path.stat().st_size < 2048
    out = _load_guarded(path)  # in a child limited to 2 GiB: 10**7 copies cost 2.9 GiB once
    assert out.startswith("ValueError") and "has n_models 10000000; expected an integer" in out
    with pytest.raises(ValueError, match=f"n_models must be at most {saving.MAX_MODELS}"):
        tn.Sequential([tn.layers.ReLU()], n_models=saving.MAX_MODELS + 1)


def test_the_most_copies_a_file_holds_cost_little_memory(tmp_path):
    """Per-copy state is made when used: MAX_MODELS copies of a ReLU are a few bytes each."""
    import tracemalloc

    path = _write(tmp_path / "most.npz", _relu_only(saving.MAX_MODELS), [])
    tracemalloc.start()
    try:
        model = tn.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert model.n_models == saving.MAX_MODELS and model.built
    assert peak < 300 * saving.MAX_MODELS, f"{peak / saving.MAX_MODELS:.0f} bytes per copy"


def _trained(tmp_path):
    """(config, [weights], [(slot name, array)]) of a trained Adam model, as saved."""
    model = tn.Sequential([Dense(4, activation="relu", input_dim=3), Dense(2)], seed=0)
    model.compile(tn.optimizers.Adam(0.01), loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "trained.npz")
    with np.load(tmp_path / "trained.npz") as data:
        config = json.loads(str(data["config"]))
        weights = [data[f"weight_{i:03d}"] for i in range(4)]
        slots = [(n[:-4], data[n[:-4]]) for n in sorted(zipfile.ZipFile(
            tmp_path / "trained.npz").namelist()) if n.startswith("slot_")]
    return config, weights, slots


def _write_trained(path, config, weights, slots):
    text = json.dumps(config)
    digest = saving._digest(text, weights + [a for _, a in slots])
    return _write(path, config, weights, extra=[(n + ".npy", _npy(a)) for n, a in slots],
                  digest=digest)


def test_a_trained_file_round_trips_through_the_crafting_helper(tmp_path):
    config, weights, slots = _trained(tmp_path)
    assert [n for n, _ in slots][:2] == ["slot_000_m", "slot_000_v"] and len(slots) == 8
    model = tn.load_model(_write_trained(tmp_path / "same.npz", config, weights, slots))
    assert model.optimizer.iterations == 2


def _training_mutations():
    def opt(**kw):
        return lambda c: c["training"]["optimizer"].update(kw)

    def shuffle(**kw):
        return lambda c: c["training"]["shuffle"].update(kw)

    return [
        ("no training key", lambda c: c.pop("training")),
        ("training a list", lambda c: c.__setitem__("training", [])),
        ("iterations negative", opt(iterations=-1)),
        ("iterations a float", opt(iterations=2.0)),
        ("lr_scale a string", opt(lr_scale="1")),
        ("lr_scale a list for one model", opt(lr_scale=[1.0])),
        ("lr_scale inf", opt(lr_scale=float("inf"))),
        ("slots a string", opt(slots="yes")),
        ("optimizer extra key", opt(moments=[1])),
        ("seeds of the wrong length", shuffle(seeds=[0, 1])),
        ("a stream of another seed", shuffle(streams=[[5, {"state": 1, "inc": 1,
                                                            "has_uint32": 0, "uinteger": 0}]])),
        ("a stream state too large", lambda c: c["training"]["shuffle"]["streams"][0][1]
         .update(state=2**128)),
        ("a stream state key missing", lambda c: c["training"]["shuffle"]["streams"][0][1]
         .pop("inc")),
    ]


@pytest.mark.parametrize("name, mutate", _training_mutations(),
                         ids=[m[0] for m in _training_mutations()])
def test_a_crafted_training_state_is_refused(tmp_path, name, mutate):
    config, weights, slots = _trained(tmp_path)
    mutate(config)
    with pytest.raises(ValueError, match="load_model"):
        tn.load_model(_write_trained(tmp_path / "bad.npz", config, weights, slots))


def test_slot_entries_must_match_the_optimizer_and_the_weights(tmp_path):
    config, weights, slots = _trained(tmp_path)
    with pytest.raises(ValueError, match="missing entries"):
        tn.load_model(_write_trained(tmp_path / "a.npz", config, weights, slots[1:]))
    wrong = [(n, np.zeros((2, 2)) if i == 0 else a) for i, (n, a) in enumerate(slots)]
    with pytest.raises(ValueError, match="slot_000_m"):
        tn.load_model(_write_trained(tmp_path / "b.npz", config, weights, wrong))
    renamed = [("slot_000_b" if i == 0 else n, a) for i, (n, a) in enumerate(slots)]
    with pytest.raises(ValueError, match="unexpected entries"):
        tn.load_model(_write_trained(tmp_path / "c.npz", config, weights, renamed))
