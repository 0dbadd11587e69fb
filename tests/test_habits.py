"""Keras and PyTorch habits that work (or fail with a pointer), and a shadowed package."""

import csv
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import blobs

import tinynet as tn
from tinynet.layers import Dense

ROOT = Path(__file__).resolve().parent.parent
X, Y = blobs(80)


def _layers(input_dim=2):
    return [Dense(6, activation="relu", input_dim=input_dim), Dense(4, activation="softmax")]


def _model(seed=0, n_models=1, **compile_kwargs):
    model = tn.Sequential(_layers(), seed=seed, n_models=n_models)
    model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  **compile_kwargs)
    return model


# --- summary and count_params ---------------------------------------------------------
def test_summary_prints_and_returns_none(capsys):
    model = _model()
    assert model.summary() is None
    printed = capsys.readouterr().out
    assert "Dense(6, activation='relu')" in printed and "total parameters: 46" in printed


def test_summary_print_fn_gets_each_line(capsys):
    lines = []
    _model().summary(print_fn=lines.append)
    assert capsys.readouterr().out == ""
    assert len(lines) == 4 and lines[-1].strip() == "total parameters: 46"


def test_count_params_is_an_int_and_counts_stacked_copies():
    assert _model().count_params() == (2 * 6 + 6) + (6 * 4 + 4)
    assert isinstance(_model().count_params(), int)
    assert _model(n_models=3).count_params() == 3 * 46
    with pytest.raises(ValueError, match="not built"):
        tn.Sequential([Dense(3)]).count_params()


# --- Sequential() and add -------------------------------------------------------------
@pytest.mark.parametrize("empty", [(), None, []])
def test_empty_sequential_then_add_equals_the_constructor(empty, float64):
    model = tn.Sequential(seed=3) if empty == () else tn.Sequential(empty, seed=3)
    assert not model.built
    model.add(Dense(6, activation="relu", input_dim=2))
    assert model.built  # a first layer with input_dim builds, as in the constructor
    model.add(Dense(4, activation="softmax"))
    reference = tn.Sequential(_layers(), seed=3)
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_add_without_input_dim_builds_at_first_data():
    model = tn.Sequential(seed=0)
    model.add(Dense(5, activation="relu"))
    model.add(Dense(2, activation="softmax"))
    assert not model.built
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    model.fit(X, Y % 2, epochs=1, verbose=0)
    assert model.built and model.count_params() == 2 * 5 + 5 + 5 * 2 + 2


def test_add_after_build_keeps_the_weights_and_builds_the_new_layer(float64):
    model = tn.Sequential([Dense(6, activation="relu", input_dim=2)], seed=1)
    model.set_weights([np.ones((2, 6)), np.full(6, 0.5)])
    model.add(Dense(4, activation="softmax"))
    weights = model.get_weights()
    np.testing.assert_array_equal(weights[0], np.ones((2, 6)))
    np.testing.assert_array_equal(weights[1], np.full(6, 0.5))
    # the new layer starts where Sequential(all layers, seed) would start it
    np.testing.assert_array_equal(weights[2], tn.Sequential(_layers(), seed=1).get_weights()[2])
    model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_add_checks_as_the_constructor():
    model = tn.Sequential(seed=0)
    with pytest.raises(TypeError, match="must be a tinynet Layer"):
        model.add("relu")
    layer = Dense(3)
    model.add(layer)
    with pytest.raises(ValueError, match="appears twice"):
        model.add(layer)
    built = tn.Sequential([Dense(3, input_dim=2)])
    with pytest.raises(ValueError, match="already belongs to a built model"):
        model.add(built.layers[0])
    with pytest.raises(ValueError, match="expected 5 input features"):
        built.add(Dense(2, input_dim=5))
    assert len(built.layers) == 1


def test_add_after_training_asks_for_a_new_optimizer():
    model = tn.Sequential(_layers(), seed=0)
    model.compile(tn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(X, Y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"holds state.*compile\(\.\.\.\) again"):
        model.add(Dense(2))
    assert len(model.layers) == 2
    model.compile(tn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.add(Dense(4, activation="softmax"))
    before = model.get_weights()
    model.fit(X, Y, epochs=1, verbose=0)
    assert all(np.any(a != b) for a, b in zip(before, model.get_weights()))  # all train


def test_add_after_plain_sgd_training_updates_every_layer():
    model = _model()
    model.fit(X, Y, epochs=1, verbose=0)
    model.add(Dense(4, activation="softmax"))
    before = model.get_weights()
    model.fit(X, Y, epochs=1, verbose=0)
    assert all(np.any(a != b) for a, b in zip(before, model.get_weights()))


def test_an_empty_model_says_to_add_layers():
    model = tn.Sequential()
    model.summary(print_fn=lambda line: None)
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match=r"no layers yet; add some with model.add"):
        model.fit(X, Y, verbose=0)


def test_dense_accepts_keras_input_shape(float64):
    a = tn.Sequential([Dense(6, input_shape=(2,)), Dense(4)], seed=0)
    b = tn.Sequential([Dense(6, input_dim=2), Dense(4)], seed=0)
    assert a.built
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert Dense(6, input_shape=[2]).declared_input_dim == 2
    with pytest.raises(ValueError, match="Flatten your inputs and pass input_dim"):
        Dense(6, input_shape=(28, 28))
    with pytest.raises(ValueError, match="disagree"):
        Dense(6, input_shape=(3,), input_dim=2)


# --- LearningRateScheduler --------------------------------------------------------------
def _rates_used(callback):
    model = _model()
    history = model.fit(X, Y, epochs=3, batch_size=80, verbose=0, callbacks=[callback])
    return history.history["lr"]


def test_scheduler_takes_a_one_argument_function():
    rates = _rates_used(tn.callbacks.LearningRateScheduler(lambda epoch: 0.1 * 0.9 ** epoch))
    np.testing.assert_allclose(rates, [0.1, 0.09, 0.081])


def test_scheduler_still_takes_epoch_and_lr():
    rates = _rates_used(tn.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5))
    np.testing.assert_allclose(rates, [0.05, 0.025, 0.0125])
    rates = _rates_used(tn.callbacks.LearningRateScheduler(lambda epoch, lr=None: 0.2))
    np.testing.assert_allclose(rates, [0.2, 0.2, 0.2])


def test_scheduler_does_not_swallow_a_type_error_inside_the_function():
    def schedule(epoch, lr):
        return lr + "oops"  # a bug in the user's function: it must surface as is

    with pytest.raises(TypeError, match="unsupported operand"):
        _rates_used(tn.callbacks.LearningRateScheduler(schedule))


def test_scheduler_refuses_a_function_it_cannot_call():
    with pytest.raises(TypeError, match=r"\(epoch\) or \(epoch, lr\)"):
        tn.callbacks.LearningRateScheduler(lambda: 0.1)
    with pytest.raises(TypeError, match=r"\(epoch\) or \(epoch, lr\)"):
        tn.callbacks.LearningRateScheduler(lambda epoch, lr, extra: 0.1)


# --- model(x), evaluate(return_dict), metrics --------------------------------------------
def test_model_is_callable_like_predict():
    model = _model()
    out = model(X[:5])
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, model.predict(X[:5]))
    assert _model(n_models=2)(X[:5]).shape == (2, 5, 4)


def test_evaluate_return_dict_and_keras_list():
    model = _model()
    as_dict = model.evaluate(X, Y, return_dict=True)
    assert as_dict == model.evaluate(X, Y)
    assert model.evaluate(X, Y, return_dict=False) == [as_dict["loss"], as_dict["accuracy"]]
    regression = tn.Sequential([Dense(1, input_dim=2)], seed=0)
    regression.compile("sgd", loss="mse")
    value = regression.evaluate(X, Y[:, None] * 1.0, return_dict=False)
    assert isinstance(value, float)  # no metrics: the scalar loss, as Keras


@pytest.mark.parametrize("name", ["mae", "mean_absolute_error", "mse", "mean_squared_error"])
def test_mae_and_mse_metrics(name, float64):
    y = X[:, :1] * 0.5 + 1.0
    model = tn.Sequential([Dense(1, input_dim=2)], seed=0)
    model.compile("sgd", loss="mse", metrics=[name])
    result = model.evaluate(X, y)
    err = model.predict(X) - y
    absolute = name in ("mae", "mean_absolute_error")
    expect = np.mean(np.abs(err)) if absolute else np.mean(err ** 2)
    assert result[name] == pytest.approx(expect, rel=1e-10)
    history = model.fit(X, y, epochs=1, verbose=0)
    assert name in history.history


def test_mae_metric_is_per_copy_when_stacked(float64):
    y = X[:, :1] * 0.5
    model = tn.Sequential([Dense(1, input_dim=2)], seed=0, n_models=3)
    model.compile("sgd", loss="mse", metrics=["mae"])
    result = model.evaluate(X, y)
    expect = np.mean(np.abs(model.predict(X) - y), axis=(1, 2))
    np.testing.assert_allclose(result["mae"], expect, rtol=1e-10)


# --- warnings and refusals ---------------------------------------------------------------
def test_softmax_output_with_from_logits_loss_warns():
    model = tn.Sequential(_layers(), seed=0)
    with pytest.warns(UserWarning, match=r"Dense\(4, activation='softmax'\).*probabilities"):
        model.compile("sgd", loss=tn.losses.SparseCategoricalCrossentropy(from_logits=True))
    binary = tn.Sequential([Dense(1, activation="sigmoid", input_dim=2)], seed=0)
    with pytest.warns(UserWarning, match="from_logits=True"):
        binary.compile("sgd", loss=tn.losses.BinaryCrossentropy(from_logits=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tn.Sequential([Dense(4, input_dim=2)], seed=0).compile(
            "sgd", loss=tn.losses.SparseCategoricalCrossentropy(from_logits=True))
        tn.Sequential(_layers(), seed=0).compile("sgd", loss="sparse_categorical_crossentropy")


@pytest.mark.parametrize("name", ["model.h5", "model.keras", "m.HDF5", "m.pt", "m.pkl"])
def test_save_refuses_other_libraries_suffixes(tmp_path, name):
    with pytest.raises(ValueError, match=r"tinynet writes its own \.npz format.*\.npz"):
        _model().save(tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_save_accepts_npz_and_other_names_exactly(tmp_path):
    for name in ("model.npz", "model", "model.ckpt"):
        _model().save(tmp_path / name)
        assert tn.load_model(tmp_path / name).count_params() == 46
    assert sorted(os.listdir(tmp_path)) == ["model", "model.ckpt", "model.npz"]


def test_linear_points_pytorch_users_at_dense():
    with pytest.raises(TypeError, match=r"not PyTorch's nn\.Linear.*Dense\(10, input_dim=2\)"):
        tn.layers.Linear(2, 10)
    with pytest.raises(TypeError, match="Dense"):
        tn.layers.Linear(in_features=2, out_features=10)
    assert tn.layers.Linear().forward(np.ones(3)).tolist() == [1.0, 1.0, 1.0]


# --- ModelCheckpoint --------------------------------------------------------------------
def test_checkpoint_saves_the_best_epoch(tmp_path, float64):
    path = tmp_path / "best.npz"
    model = _model()
    best = []

    class KeepEach(tn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            best.append((logs["val_loss"], self.model.get_weights()))

    check = tn.callbacks.ModelCheckpoint(path, save_best_only=True)
    model.fit(X, Y, epochs=6, validation_split=0.25, verbose=0, callbacks=[KeepEach(), check])
    losses = [v for v, _ in best]
    i = int(np.argmin(losses))
    for a, b in zip(tn.load_model(path).get_weights(), best[i][1], strict=True):
        np.testing.assert_array_equal(a, b)
    saved = model.history.records["ModelCheckpoint"]["saved"]
    assert sum(s is not None for s in saved) >= 1 and saved[i] == str(path)
    assert [f for f in os.listdir(tmp_path) if f != "best.npz"] == []


def test_checkpoint_formats_the_file_name_like_keras(tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.npz")
    model = _model()
    model.fit(X, Y, epochs=2, validation_split=0.25, verbose=0,
              callbacks=[tn.callbacks.ModelCheckpoint(pattern)])
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 2 and all(re.fullmatch(r"ckpt-0[12]-\d+\.\d\d\.npz", n) for n in names)
    assert names[0].startswith("ckpt-01-")


def test_checkpoint_refusals(tmp_path):
    with pytest.raises(ValueError, match=r"\.npz"):
        tn.callbacks.ModelCheckpoint(tmp_path / "best.keras")
    with pytest.raises(ValueError, match="save_weights_only"):
        tn.callbacks.ModelCheckpoint(tmp_path / "w.npz", save_weights_only=True)
    stacked = _model(n_models=2)
    with pytest.raises(ValueError, match="stacks 2 copies.*EarlyStopping"):
        stacked.fit(X, Y, epochs=1, validation_split=0.25, verbose=0,
                    callbacks=[tn.callbacks.ModelCheckpoint(tmp_path / "b.npz",
                                                            save_best_only=True)])
    with pytest.raises(ValueError, match="use \\{epoch\\} alone"):
        stacked.fit(X, Y, epochs=1, validation_split=0.25, verbose=0,
                    callbacks=[tn.callbacks.ModelCheckpoint(tmp_path / "b{val_loss:.2f}.npz")])


# --- CSVLogger --------------------------------------------------------------------------
def _read_csv(path, delimiter=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


def test_csv_logger_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    history = model.fit(X, Y, epochs=3, validation_split=0.25, verbose=0,
                        callbacks=[tn.callbacks.CSVLogger(path)])
    rows = _read_csv(path)
    assert rows[0] == ["epoch"] + sorted(history.history)
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    loss_col = rows[0].index("loss")
    np.testing.assert_allclose([float(r[loss_col]) for r in rows[1:]],
                               history.history["loss"])


def test_csv_logger_append_and_separator(tmp_path):
    path = tmp_path / "log.tsv"
    for _ in range(2):
        _model().fit(X, Y, epochs=2, verbose=0,
                     callbacks=[tn.callbacks.CSVLogger(path, separator="\t", append=True)])
    rows = _read_csv(path, "\t")
    assert rows[0][0] == "epoch" and len(rows) == 1 + 4  # one header, then 2 + 2 rows
    _model().fit(X, Y, epochs=1, verbose=0, callbacks=[tn.callbacks.CSVLogger(path, "\t")])
    assert len(_read_csv(path, "\t")) == 2  # append=False starts over


def test_csv_logger_stacked_writes_a_row_per_copy(tmp_path):
    path = tmp_path / "log.csv"
    model = _model(n_models=3)
    history = model.fit(X, Y, epochs=2, verbose=0, callbacks=[tn.callbacks.CSVLogger(path)])
    rows = _read_csv(path)
    assert rows[0][:2] == ["epoch", "copy"] and len(rows) == 1 + 2 * 3
    loss_col = rows[0].index("loss")
    got = np.array([float(r[loss_col]) for r in rows[1:]]).reshape(2, 3)
    np.testing.assert_allclose(got, np.asarray(history.history["loss"]))


# --- the command line from a folder that holds a tinynet/ folder -------------------------
FINDER = textwrap.dedent("""
    # what an editable install (setuptools >= 64, flat layout) adds: a finder
    # consulted after the path search, mapping tinynet to the checkout
    import importlib.util, runpy, sys
    from pathlib import Path

    PACKAGE = Path(sys.argv[1])

    class EditableFinder:
        @classmethod
        def find_spec(cls, fullname, path=None, target=None):
            if fullname == "tinynet" or fullname.startswith("tinynet."):
                rest = fullname.split(".")[1:]
                base = PACKAGE.joinpath(*rest)
                for candidate in (base / "__init__.py", base.with_suffix(".py")):
                    if candidate.exists():
                        return importlib.util.spec_from_file_location(fullname, candidate)
            return None

    sys.meta_path.append(EditableFinder)
    sys.argv = ["tinynet"] + sys.argv[2:]
    runpy.run_module("tinynet", run_name="__main__", alter_sys=True)
""")


@pytest.mark.parametrize("with_init", [False, True], ids=["clone-folder", "old-copy"])
def test_cli_names_a_folder_that_shadows_the_package(tmp_path, with_init):
    (tmp_path / "tinynet").mkdir()  # e.g. the clone of the repository, seen from its parent
    if with_init:
        (tmp_path / "tinynet" / "__init__.py").write_text("# an old copy\n")
    (tmp_path / "run_editable.py").write_text(FINDER)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    # -c puts the current folder first on sys.path, as python -m tinynet does
    code = ("import sys, runpy; sys.argv = ['run_editable.py'] + sys.argv[1:]; "
            "runpy.run_path('run_editable.py', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "tinynet"), "demo",
                           "--epochs", "1", "--save", str(tmp_path / "d.gif")],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert "shadows the package" in lines[0] and str(tmp_path / "tinynet") in lines[0]
    assert "Run the command from another folder" in lines[0]


# --- README ---------------------------------------------------------------------------
def test_readme_python_blocks_import_what_they_use():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    for block in blocks:
        if "tn." in block:
            assert "import tinynet as tn" in block, block[:200]


def test_csv_logger_append_continues_the_epochs_and_keeps_the_columns(tmp_path):
    path = tmp_path / "log.csv"
    _model().fit(X, Y, epochs=2, validation_split=0.25, verbose=0,
                 callbacks=[tn.callbacks.CSVLogger(path)])
    header = _read_csv(path)[0]
    # a resumed run without validation: same columns, its epochs go on from 2, NA for val_*
    _model().fit(X, Y, epochs=2, verbose=0, callbacks=[tn.callbacks.CSVLogger(path, append=True)])
    rows = _read_csv(path)
    assert rows[0] == header and all(len(r) == len(header) for r in rows)
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3"]
    assert rows[-1][header.index("val_loss")] == "NA"


def test_csv_logger_refuses_to_append_rows_the_header_does_not_name(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss\n0,1.5\n")
    model = _model()
    model.compile("sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(ValueError, match=r"has the columns \['epoch', 'loss'\]"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[tn.callbacks.CSVLogger(path, append=True)])
    assert path.read_text() == "epoch,loss\n0,1.5\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_csv_logger_append_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "log.csv"
    os.mkfifo(fifo)
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import tinynet as tn
        from conftest import blobs
        x, y = blobs(16)
        model = tn.Sequential([tn.layers.Dense(4, activation="softmax", input_dim=2)], seed=0)
        model.compile("sgd", loss="sparse_categorical_crossentropy")
        try:
            model.fit(x, y, verbose=0, callbacks=[tn.callbacks.CSVLogger({str(fifo)!r},
                                                                         append=True)])
        except ValueError as exc:
            print(exc)
    """)
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60).stdout
    except subprocess.TimeoutExpired:
        pytest.fail("CSVLogger(append=True) on a FIFO blocked for 60 s")
    assert "is not a regular file (it is a FIFO" in out, out


def test_csv_logger_append_refuses_a_log_over_its_limit(tmp_path, monkeypatch):
    """The whole log is kept and rewritten every epoch, so what it reads back is bounded."""
    monkeypatch.setattr("tinynet.callbacks.files.MAX_APPEND_BYTES", 1000)
    path = tmp_path / "log.csv"
    text = "epoch,loss\n" + "".join(f"{i},0.5\n" for i in range(200))
    path.write_text(text)
    with pytest.raises(ValueError, match="log.csv' holds more than 1000 bytes"):
        _model().fit(X, Y, epochs=1, verbose=0,
                     callbacks=[tn.callbacks.CSVLogger(path, append=True)])
    assert path.read_text() == text


@pytest.mark.parametrize("data", [b"epoch,loss\n0,\xff\n", b"epoch,loss\n0," + b"9" * 200_000],
                         ids=["not-utf8", "field-over-csv-limit"])
def test_csv_logger_append_names_a_log_it_cannot_read(tmp_path, data):
    path = tmp_path / "log.csv"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="CSVLogger: .*log.csv' is not a CSV log"):
        _model().fit(X, Y, epochs=1, verbose=0,
                     callbacks=[tn.callbacks.CSVLogger(path, append=True)])
    assert path.read_bytes() == data


def test_checkpoint_keeps_its_best_across_fits(tmp_path, float64):
    """As Keras (best is set once, at construction): a second fit with the same callback
    must beat the first fit's best before it writes over the file."""
    path = tmp_path / "best.npz"
    model = _model()
    check = tn.callbacks.ModelCheckpoint(path, save_best_only=True)
    model.fit(X, Y, epochs=4, validation_split=0.25, verbose=0, callbacks=[check])
    first_best, saved = check.best, tn.load_model(path).get_weights()
    model.compile(tn.optimizers.SGD(50.0), loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rate of 50 diverges: that is the point
        model.fit(X, Y, epochs=2, validation_split=0.25, verbose=0, callbacks=[check])
    losses = np.array(model.history.history["val_loss"])
    assert not np.any(losses < first_best)  # the second fit is worse throughout
    assert check.best == first_best
    for a, b in zip(tn.load_model(path).get_weights(), saved, strict=True):
        np.testing.assert_array_equal(a, b)
