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


@pytest.mark.filterwarnings("ignore:compile. the loss CategoricalCrossentropy.. reads")
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


# --- resume = continue: the file keeps the optimiser's state and the shuffle streams -------
def _optimizers():
    o = tn.optimizers
    return {
        "sgd": lambda lr: o.SGD(lr),
        "sgd-momentum": lambda lr: o.SGD(lr, momentum=0.9),
        "sgd-nesterov-keras": lambda lr: o.SGD(lr, momentum=0.9, nesterov=True,
                                               convention="keras"),
        "rmsprop-momentum": lambda lr: o.RMSprop(lr, momentum=0.5),
        "rmsprop-keras-momentum": lambda lr: o.RMSprop(lr, momentum=0.5, convention="keras"),
        "adagrad": lambda lr: o.Adagrad(lr),
        "adam": lambda lr: o.Adam(lr, weight_decay=0.01),
        "adam-keras": lambda lr: o.Adam(lr, convention="keras"),
        "adamw": lambda lr: o.AdamW(lr),
    }


def _trainable(make_optimizer, scheduled, n_models=1):
    rate = tn.schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.7) if scheduled \
        else 0.05
    model = tn.Sequential([Dense(5, activation="tanh", input_dim=3), Dense(2)], seed=7,
                          n_models=n_models)
    model.compile(make_optimizer(rate), loss="mse")
    return model


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(40, 3)), rng.normal(size=(40, 2))


@pytest.mark.parametrize("scheduled", [False, True], ids=["constant", "schedule"])
@pytest.mark.parametrize("name", list(_optimizers()))
def test_resuming_from_a_file_continues_bit_for_bit(tmp_path, float64, name, scheduled):
    x, y = _data()
    make = _optimizers()[name]
    continued = _trainable(make, scheduled)
    continued.fit(x, y, epochs=4, batch_size=8, verbose=0)
    first = _trainable(make, scheduled)
    first.fit(x, y, epochs=2, batch_size=8, verbose=0)
    first.save(tmp_path / "half.npz")
    resumed = tn.load_model(tmp_path / "half.npz")
    assert resumed.optimizer.iterations == first.optimizer.iterations == 10
    resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(continued.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_stacked_model_resumes_with_its_rate_cuts_and_shuffle_streams(tmp_path, float64):
    x, y = _data()
    make = _optimizers()["adam"]
    models = []
    for _ in range(2):
        model = _trainable(make, scheduled=False, n_models=3)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        model.optimizer.lr_scale = np.array([1.0, 0.5, 0.25])  # as ReduceLROnPlateau leaves it
        models.append(model)
    continued, first = models
    continued.fit(x, y, epochs=2, batch_size=8, verbose=0)
    first.save(tmp_path / "stack.npz")
    resumed = tn.load_model(tmp_path / "stack.npz")
    np.testing.assert_array_equal(resumed.optimizer.lr_scale, [1.0, 0.5, 0.25])
    resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(continued.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_model_checkpoint_resumes_exactly(tmp_path, float64):
    x, y = _data()
    model = _trainable(_optimizers()["sgd-momentum"], scheduled=True)
    path = str(tmp_path / "ckpt-{epoch}.npz")
    model.fit(x, y, epochs=5, batch_size=8, verbose=0,
              callbacks=[tn.callbacks.ModelCheckpoint(path)])
    resumed = tn.load_model(tmp_path / "ckpt-3.npz")
    resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_seed_the_constructor_takes_is_one_the_loader_reads(tmp_path):
    model = tn.Sequential([Dense(2, input_dim=3)], seed=2**64 - 1, n_models=2)
    model.save(tmp_path / "big-seed.npz")
    assert tn.load_model(tmp_path / "big-seed.npz").seed == 2**64 - 1
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*64 - 1\]"):
        tn.Sequential([Dense(2, input_dim=3)], seed=2**64)


def test_shared_shuffle_seeds_and_same_init_resume_too(tmp_path, float64):
    """tn.sweep gives copies of one seed one order (_set_shuffle_seeds): kept in the file."""
    x, y = _data()
    models = []
    for _ in range(2):
        model = _trainable(_optimizers()["sgd-momentum"], scheduled=False, n_models=3)
        model._set_shuffle_seeds([5, 5, 6])
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        models.append(model)
    continued, first = models
    continued.fit(x, y, epochs=2, batch_size=8, verbose=0)
    first.save(tmp_path / "sweep.npz")
    resumed = tn.load_model(tmp_path / "sweep.npz")
    assert resumed.batch_orders.seeds == (5, 5, 6)
    resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(continued.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def _classifier(fused=None):
    """A float32 classifier compiled with fused=... (None: compile's default)."""
    model = tn.Sequential([Dense(8, activation="relu", input_dim=3),
                           Dense(3, activation="softmax")], seed=2)
    kw = {} if fused is None else {"fused": fused}
    model.compile(tn.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", **kw)
    return model


@pytest.mark.parametrize("fused", [False, True, None], ids=["plain", "fused", "default"])
def test_the_fused_choice_is_saved_so_float32_resumes_bit_for_bit(tmp_path, fused):
    # float32: the fused and the plain step differ by rounding, so a resumed run on
    # the other step than the one compiled would not continue the run
    assert tn.get_dtype() == "float32"
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(96, 3)), rng.integers(0, 3, size=96)
    continued = _classifier(fused)
    continued.fit(x, y, epochs=2, batch_size=8, verbose=0)
    first = _classifier(fused)
    first.fit(x, y, epochs=1, batch_size=8, verbose=0)
    first.save(tmp_path / "half.npz")
    resumed = tn.load_model(tmp_path / "half.npz")
    assert (resumed.train_function == resumed.train_step) == (fused is False)
    resumed.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(continued.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_file_without_the_fused_choice_loads_with_the_default(tmp_path):

    model = _classifier(False)
    config = tn.saving._config(model)
    config["compile"].pop("fused", None)  # what tinynet wrote before it saved the choice
    config["version"] = 1
    weights = model.get_weights()
    loaded = tn.load_model(_old_file(tmp_path / "old.npz", config, weights))
    assert loaded.train_function != loaded.train_step  # compile's default, fused=True


def test_a_version_1_file_still_loads_without_training_state(tmp_path):

    model = _model()
    model.fit(np.ones((4, 3)), np.arange(4) % 2, epochs=1, verbose=0)
    config = tn.saving._config(model)  # what version 1 wrote: no "training" entry
    config["version"] = 1
    weights = model.get_weights()
    loaded = tn.load_model(_old_file(tmp_path / "v1.npz", config, weights))
    assert loaded.optimizer.iterations == 0 and loaded.optimizer._slots is None
    for a, b in zip(weights, loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


class _Doubling(tn.layers.Layer):
    """A user's parameter-free activation: y = 2x."""

    def forward(self, x, training=True):
        return 2.0 * x

    def backward(self, grad_y):
        return 2.0 * grad_y


@pytest.mark.parametrize("make", [lambda: LeakyReLU(0.3), lambda: LeakyReLU(negative_slope=0.1),
                                  lambda: LeakyReLU(0.2), lambda: LeakyReLU(0.0),
                                  tn.layers.ReLU, tn.layers.Tanh, tn.layers.Softmax],
                         ids=["leaky0.3", "leaky0.1", "leaky0.2", "leaky0", "relu", "tanh",
                              "softmax"])
def test_an_activation_given_as_a_layer_is_saved_with_its_config(tmp_path, make):
    model = tn.Sequential([Dense(3, activation=make(), input_dim=2), Dense(2)], seed=0)
    model.save(tmp_path / "act.npz")
    loaded = tn.load_model(tmp_path / "act.npz")
    before, after = model.layers[0].activation, loaded.layers[0].activation
    assert type(after) is type(before) and after.get_config() == before.get_config()
    assert repr(loaded) == repr(model)
    x = np.random.default_rng(0).normal(size=(7, 2))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_an_activation_tinynet_cannot_describe_is_refused_at_save(tmp_path):
    model = tn.Sequential([Dense(3, input_dim=2), Dense(3, activation=_Doubling())], seed=0)
    with pytest.raises(ValueError, match=r"save: .*layer 1 \(Dense\).*_Doubling"):
        model.save(tmp_path / "user.npz")
    assert not (tmp_path / "user.npz").exists()


def test_a_model_checkpoint_keeps_a_configured_activation(tmp_path):
    x = np.random.default_rng(0).normal(size=(8, 2))
    model = tn.Sequential([Dense(3, activation=LeakyReLU(0.3), input_dim=2), Dense(1)], seed=0)
    model.compile(tn.optimizers.SGD(0.1), loss="mse")
    model.fit(x, x[:, :1], epochs=1, verbose=0,
              callbacks=[tn.callbacks.ModelCheckpoint(tmp_path / "ckpt.npz")])
    loaded = tn.load_model(tmp_path / "ckpt.npz")
    assert loaded.layers[0].activation.negative_slope == 0.3
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_a_layer_of_the_users_own_named_like_a_builtin_is_refused_at_save(tmp_path):
    class ReLU(tn.layers.ReLU):  # the user's own, under tinynet's name
        def forward(self, x, training=True):
            return super().forward(x, training) * 2.0

    model = tn.Sequential([Dense(3, input_dim=2), ReLU(), Dense(2)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "m.npz"
    with pytest.raises(ValueError, match="layer 1"):
        model.save(path)
    assert not path.exists()


def _old_file(path, config, weights):
    """A model file written as an older tinynet wrote it: ``config`` and the weights, no
    training state, with a matching digest; returns ``path``."""
    import json

    text = json.dumps(config)
    arrays = {f"weight_{i:03d}": w for i, w in enumerate(weights)}
    np.savez(path, config=np.array(text), digest=np.array(tn.saving._digest(text, weights)),
             **arrays)
    return path
