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
