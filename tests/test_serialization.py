"""save / load_model: exact round trip, atomic writes, refusing bad files."""

import zipfile

import numpy as np
import pytest

import tinynet as tn
from tinynet.layers import Dense, LeakyReLU


def _model(n_models=1):
    model = tn.Sequential([Dense(5, activation="relu", input_dim=3, kernel_initializer="he_normal"),
                           LeakyReLU(0.1), Dense(2, activation="softmax")],
                          seed=3, n_models=n_models)
    model.compile(tn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("n_models", [1, 3])
def test_round_trip_is_exact(tmp_path, n_models):
    model = _model(n_models)
    x = np.random.default_rng(0).normal(size=(20, 3))
    model.fit(x, np.arange(20) % 2, epochs=2, verbose=0)
    path = tmp_path / "model.weights"  # no .npz suffix: written exactly there
    model.save(path)
    assert path.exists() and not (tmp_path / "model.weights.npz").exists()
    loaded = tn.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
    assert loaded.n_models == n_models and isinstance(loaded.optimizer, tn.optimizers.Adam)
    assert loaded.evaluate(x, np.arange(20) % 2)["loss"] == pytest.approx(
        model.evaluate(x, np.arange(20) % 2)["loss"])


def test_file_has_no_pickle(tmp_path):
    path = tmp_path / "m.npz"
    _model().save(path)
    with np.load(path, allow_pickle=False) as data:
        assert "config" in data.files


def test_crash_mid_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    _model().save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        _model(2).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    _model().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable tinynet model"):
        tn.load_model(path)


def test_tampered_weights_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    _model().save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["weight_000"] = arrays["weight_000"] + 1.0
    np.savez(tmp_path / "t.npz", **arrays)
    with pytest.raises(ValueError, match="checksum"):
        tn.load_model(tmp_path / "t.npz")


def test_foreign_files_are_refused(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a tinynet model"):
        tn.load_model(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError):
        tn.load_model(tmp_path / "text.npz")
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as z:
        z.writestr("config.npy", b"garbage")
    with pytest.raises(ValueError):
        tn.load_model(tmp_path / "zip.npz")


def test_schedule_learning_rate_survives(tmp_path):
    model = _model()
    model.compile(tn.optimizers.SGD(tn.schedules.ExponentialDecay(0.1, 10, 0.5)),
                  loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "m.npz")
    lr = tn.load_model(tmp_path / "m.npz").optimizer.learning_rate
    assert isinstance(lr, tn.schedules.ExponentialDecay) and lr(10) == pytest.approx(0.05)


# --- compile settings: saved whenever they can be, and said when they cannot --------
def test_per_copy_schedules_survive(tmp_path):
    model = _model(2)
    rates = [tn.schedules.ExponentialDecay(0.1, 10, 0.5), 0.05]
    model.compile(tn.optimizers.SGD(rates, momentum=0.5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.save(tmp_path / "m.npz")
    loaded = tn.load_model(tmp_path / "m.npz")
    assert loaded.loss is not None and loaded.metric_names == ["accuracy"]
    assert isinstance(loaded.optimizer, tn.optimizers.SGD) and loaded.optimizer.momentum == 0.5
    first, second = loaded.optimizer.learning_rate
    assert isinstance(first, tn.schedules.ExponentialDecay) and first(10) == pytest.approx(0.05)
    assert second == 0.05


def test_a_python_function_rate_saves_the_rest_and_says_so(tmp_path):
    model = _model()
    model.compile(tn.optimizers.SGD(lambda step: 0.1 / (1 + step)),
                  loss="sparse_categorical_crossentropy")
    with pytest.warns(UserWarning, match="learning_rate is a Python function"):
        model.save(tmp_path / "m.npz")
    loaded = tn.load_model(tmp_path / "m.npz")
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.loss is None and loaded.optimizer is None  # compile again after loading


def test_compile_settings_round_trip_for_every_loss_and_optimizer(tmp_path):
    for loss, opt in [(tn.losses.BinaryCrossentropy(from_logits=True), tn.optimizers.RMSprop(0.01)),
                      (tn.losses.CategoricalCrossentropy(), tn.optimizers.Adagrad(0.02)),
                      ("mse", tn.optimizers.Adam(0.003, beta_1=0.8))]:
        model = tn.Sequential([Dense(2, input_dim=3)], seed=0)
        model.compile(opt, loss=loss)
        model.save(tmp_path / "m.npz")
        loaded = tn.load_model(tmp_path / "m.npz")
        assert repr(loaded.optimizer) == repr(model.optimizer)
        assert repr(loaded.loss) == repr(model.loss)
        assert loaded.metric_names == model.metric_names
