"""LearningRateScheduler, ReduceLROnPlateau and the per-update History of rates."""

import math

import numpy as np
import pytest
from conftest import blobs

import tinynet as tn
from tinynet.callbacks import LearningRateScheduler, ReduceLROnPlateau
from tinynet.history import History


def small_model(n_models=1, lr=0.1, seed=0):
    model = tn.Sequential([tn.layers.Dense(8, activation="relu", input_dim=2),
                           tn.layers.Dense(4, activation="softmax")],
                          seed=seed, n_models=n_models)
    model.compile(tn.optimizers.SGD(lr), loss="sparse_categorical_crossentropy")
    return model


def attach(cb, model):
    """What fit does before the first epoch, so on_epoch_end can be driven by hand."""
    model.history = History(model.n_models)
    model.frozen = None
    cb.set_model(model)
    cb.on_train_begin()
    return cb


def keras_rule(values, lr, factor, patience, min_delta=1e-4, cooldown=0, min_lr=0.0,
               mode="min"):
    """keras.callbacks.ReduceLROnPlateau.on_epoch_end, one epoch at a time.

    Returns per epoch (best, wait, cooldown_counter, cut, lr after)."""
    best = math.inf if mode == "min" else -math.inf
    wait = cooldown_counter = 0
    rows = []
    for v in values:
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        better = v < best - min_delta if mode == "min" else v > best + min_delta
        cut = False
        if better:
            best, wait = v, 0
        elif cooldown_counter == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cooldown_counter, wait, cut = cooldown, 0, True
        rows.append((best, wait, cooldown_counter, cut, lr))
    return rows


def drive(cb, model, values, key="val_loss"):
    for epoch, v in enumerate(values):
        cb.on_epoch_end(epoch, {key: v})
    return model.history.records["ReduceLROnPlateau"]


def check_against_rule(rec, rows, copy=None):
    pick = (lambda a: a) if copy is None else (lambda a: np.asarray(a)[copy])
    for epoch, (best, wait, cooldown, cut, lr) in enumerate(rows):
        assert pick(rec["best"][epoch]) == best, epoch
        assert pick(rec["wait"][epoch]) == wait, epoch
        assert pick(rec["cooldown"][epoch]) == cooldown, epoch
        assert bool(pick(rec["cut"][epoch])) == cut, epoch
        assert pick(rec["lr"][epoch]) == pytest.approx(lr, rel=1e-12), epoch


# --- ReduceLROnPlateau: the Keras rule, epoch by epoch ---------------------------------
def test_plateau_cuts_on_the_patience_th_bad_epoch():
    # Hand-worked: best 1.0 at epoch 0, bad epochs 1 and 2 -> cut after epoch 2 (Keras;
    # PyTorch would cut after epoch 3). Epoch 3 improves, 4 and 5 are bad -> second cut.
    model = small_model(lr=0.1)
    cb = attach(ReduceLROnPlateau(factor=0.5, patience=2), model)
    rec = drive(cb, model, [1.0, 1.0, 1.2, 0.5, 0.6, 0.5])
    assert rec["cut"] == [False, False, True, False, False, True]
    assert rec["wait"] == [0, 1, 0, 0, 1, 0]
    assert rec["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    assert model.optimizer.current_learning_rate == pytest.approx(0.025)


@pytest.mark.parametrize("kwargs", [
    dict(patience=3),
    dict(patience=0),
    dict(patience=2, cooldown=2),
    dict(patience=1, min_delta=0.05),
    dict(patience=1, min_lr=0.02),
    dict(patience=1, cooldown=1, min_lr=0.004, min_delta=0.0),
])
def test_plateau_matches_keras_rule_on_a_scripted_sequence(kwargs):
    values = [1.0, 0.9, 0.95, 0.9, 0.93, 0.85, 0.849, 0.86, 0.87, 0.8, 0.8, 0.81, 0.9,
              0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76]
    model = small_model(lr=0.1)
    cb = attach(ReduceLROnPlateau(factor=0.5, **kwargs), model)
    rec = drive(cb, model, values)
    rows = keras_rule(values, 0.1, 0.5, **kwargs)
    assert any(r[3] for r in rows)  # the sequence does cut
    check_against_rule(rec, rows)


def test_plateau_min_lr_clamps_and_stops_cutting():
    model = small_model(lr=0.1)
    cb = attach(ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.005), model)
    rec = drive(cb, model, [1.0] * 6)
    assert rec["lr"] == pytest.approx([0.1, 0.01, 0.005, 0.005, 0.005, 0.005])
    assert rec["cut"] == [False, True, True, False, False, False]
    assert rec["wait"] == [0, 0, 0, 1, 2, 3]  # Keras keeps counting once at min_lr


def test_plateau_mode_max_inferred_for_accuracy():
    values = [0.5, 0.6, 0.6, 0.55, 0.61, 0.7, 0.7, 0.7]
    model = small_model(lr=0.2)
    cb = attach(ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=2), model)
    assert cb.mode == "max"
    rec = drive(cb, model, values, key="val_accuracy")
    rows = keras_rule(values, 0.2, 0.5, patience=2, mode="max")
    assert [r[3] for r in rows] == [False, False, False, True, False, False, False, True]
    check_against_rule(rec, rows)


def test_plateau_stacked_copies_have_their_own_plateaus():
    seqs = np.array([
        [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3],   # always improving: never cut
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],   # flat from the start
        [1.0, 0.5, 0.6, 0.6, 0.4, 0.45, 0.5, 0.5],  # a plateau, a drop, a plateau
    ])
    rates = [0.1, 0.2, 0.3]
    model = small_model(n_models=3)
    model.optimizer.learning_rate = rates
    cb = attach(ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1), model)
    rec = drive(cb, model, list(seqs.T))
    for k in range(3):
        rows = keras_rule(seqs[k], rates[k], 0.5, patience=2, cooldown=1)
        check_against_rule(rec, rows, copy=k)
    assert isinstance(model.optimizer.lr_scale, np.ndarray)
    assert model.optimizer.lr_scale.shape == (3,)
    assert model.optimizer.lr_scale[0] == 1.0


def test_plateau_stacked_frozen_copy_holds_its_counters():
    model = small_model(n_models=2)
    cb = attach(ReduceLROnPlateau(factor=0.5, patience=1), model)
    model.freeze([False, True])
    rec = drive(cb, model, [np.array([1.0, 1.0])] * 3)
    assert [w.tolist() for w in rec["wait"]] == [[0, 0], [0, 0], [0, 0]]
    assert [c.tolist() for c in rec["cut"]] == [[False, False], [True, False], [True, False]]
    assert model.optimizer.current_learning_rate == pytest.approx([0.025, 0.1])


def test_plateau_multiplies_a_schedule_object():
    def schedule(step):
        return 0.1 * 0.5 ** step

    model = small_model()
    model.optimizer.learning_rate = schedule
    cb = attach(ReduceLROnPlateau(factor=0.2, patience=1), model)
    model.optimizer.iterations = 3
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.on_epoch_end(1, {"val_loss": 1.0})  # cut: scale 0.2
    assert model.optimizer.lr_scale == pytest.approx(0.2)
    for step in (3, 4, 10):
        assert model.optimizer.rate(step) == pytest.approx(schedule(step) * 0.2, rel=1e-12)
    assert model.history.records["ReduceLROnPlateau"]["lr"][-1] == pytest.approx(
        schedule(3) * 0.2)


def test_plateau_min_lr_clamps_the_effective_rate_of_a_schedule():
    def schedule(step):
        return 0.1 * 0.5 ** step

    model = small_model()
    model.optimizer.learning_rate = schedule
    model.optimizer.iterations = 2  # schedule gives 0.025
    cb = attach(ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.01), model)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.on_epoch_end(1, {"val_loss": 1.0})
    assert model.optimizer.current_learning_rate == pytest.approx(0.01, rel=1e-12)


@pytest.mark.parametrize("kwargs, word", [
    (dict(factor=1.0), "factor"), (dict(factor=2.0), "factor"), (dict(factor=-0.5), "factor"),
    (dict(patience=-1), "patience"), (dict(cooldown=-2), "cooldown"),
    (dict(min_lr=-1e-3), "min_lr"), (dict(mode="maximum"), "mode"),
])
def test_plateau_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ReduceLROnPlateau(**kwargs)


def test_plateau_in_fit_halves_every_epoch(backend):
    # min_delta larger than any change: every epoch after the first is bad, so with
    # patience=1 the rate halves after every epoch from epoch 1 on.
    x, y = blobs(64)
    model = small_model(n_models=2, lr=0.1)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100.0)
    history = model.fit(x, y, epochs=4, batch_size=16, callbacks=[cb], verbose=0)
    want = [0.1, 0.1, 0.05, 0.025]  # the rate used during each epoch
    lr = np.array(history.history["lr"])
    assert lr.shape == (4, 2)
    np.testing.assert_allclose(lr, np.repeat(np.array(want)[:, None], 2, axis=1), rtol=1e-12)
    steps = history.steps["lr"]
    assert steps.shape == (16, 2)
    np.testing.assert_allclose(steps[:, 0], np.repeat(want, 4), rtol=1e-12)
    assert history.records["ReduceLROnPlateau"]["cut"][1].tolist() == [True, True]


# --- LearningRateScheduler ------------------------------------------------------------
def test_scheduler_sets_the_rate_of_every_epoch():
    x, y = blobs(64)
    model = small_model(lr=0.3)
    seen = []

    def fn(epoch, lr):
        seen.append(lr)
        return 0.1 * 0.5 ** epoch

    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                        callbacks=[LearningRateScheduler(fn)])
    assert seen == pytest.approx([0.3, 0.1, 0.05])
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    np.testing.assert_allclose(history.steps["lr"], np.repeat([0.1, 0.05, 0.025], 4))
    assert history.records["LearningRateScheduler"]["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_scheduler_sees_a_plateau_cut_and_takes_over_the_scale():
    x, y = blobs(64)
    model = small_model(lr=0.1)
    cbs = [LearningRateScheduler(lambda epoch, lr: lr * 0.9),
           ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100.0)]
    history = model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=cbs)
    # epoch 0: 0.09; cut after epoch 1 (0.081 -> 0.0405); epoch 2: 0.0405 * 0.9
    assert history.history["lr"] == pytest.approx([0.09, 0.081, 0.03645])
    # after epoch 2 the plateau cuts again, on top of the rate the scheduler set
    assert model.optimizer.lr_scale == pytest.approx(0.5)
    assert model.optimizer.current_learning_rate == pytest.approx(0.03645 * 0.5)


def test_scheduler_stacked_per_copy_rates():
    x, y = blobs(64)
    model = small_model(n_models=3)
    model.optimizer.learning_rate = [0.1, 0.2, 0.4]
    cb = LearningRateScheduler(lambda epoch, lr: lr / 2)
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[cb])
    np.testing.assert_allclose(np.array(history.history["lr"]),
                               [[0.05, 0.1, 0.2], [0.025, 0.05, 0.1]])
    assert history.steps["lr"].shape == (4, 3)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "fast", None])
def test_scheduler_bad_value_names_epoch_and_value(bad):
    x, y = blobs(32)
    model = small_model()
    cb = LearningRateScheduler(lambda epoch, lr: bad if epoch == 2 else lr)
    with pytest.raises(ValueError, match=r"epoch=2.*" + ("fast" if bad == "fast" else "")):
        model.fit(x, y, epochs=4, verbose=0, callbacks=[cb])


def test_scheduler_refuses_a_schedule_object():
    x, y = blobs(32)
    model = small_model()
    model.optimizer.learning_rate = lambda step: 0.1
    with pytest.raises(ValueError, match="schedule"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: lr)])


def test_scheduler_needs_a_function():
    with pytest.raises(TypeError, match="schedule"):
        LearningRateScheduler(0.1)


# --- History: the rate and loss of every single update -----------------------------
def test_history_records_every_update():
    x, y = blobs(64)
    model = small_model()
    model.optimizer.learning_rate = lambda step: 0.1 / (1 + step)
    history = model.fit(x, y, epochs=3, batch_size=20, verbose=0)  # 4 updates per epoch
    steps = np.arange(12)
    np.testing.assert_allclose(history.steps["lr"], 0.1 / (1 + steps), rtol=1e-15)
    assert history.steps["loss"].shape == (12,)
    assert history.history["lr"] == pytest.approx(list(history.steps["lr"][3::4]))
    assert np.all(np.isfinite(history.steps["loss"]))


def test_history_stacked_steps_have_a_trailing_model_axis():
    x, y = blobs(64)
    model = small_model(n_models=3)
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert history.steps["lr"].shape == (4, 3)
    assert history.steps["loss"].shape == (4, 3)
    assert all(np.shape(v) == (3,) for v in history.history["lr"])


def test_plateau_in_fit_scales_a_schedule_object():
    from tinynet.schedules import ExponentialDecay

    x, y = blobs(64)
    schedule = ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    model = small_model()
    model.optimizer.learning_rate = schedule
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100.0)
    history = model.fit(x, y, epochs=4, batch_size=16, callbacks=[cb], verbose=0)
    scale = np.repeat([1.0, 1.0, 0.5, 0.25], 4)  # cuts after epochs 1 and 2
    want = np.array([schedule(step) for step in range(16)]) * scale
    np.testing.assert_allclose(history.steps["lr"], want, rtol=1e-12)
    assert model.optimizer.learning_rate is schedule


# --- stacked = separate, on the weights, when the callbacks change the rates --------------
def _stacked_and_separate(make_callback, k=3, epochs=4):
    """Final weights of a K-copy stack and of the K single models seeded seed + k."""
    x, y = blobs(48)
    stack = small_model(n_models=k, lr=0.2)
    history = stack.fit(x, y, epochs=epochs, batch_size=16, verbose=0,
                        callbacks=[make_callback(None)])
    singles = []
    for i in range(k):
        one = small_model(lr=0.2, seed=i)
        one.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=[make_callback(i)])
        singles.append(one.get_weights())
    return stack.get_weights(), singles, history


def _assert_stack_is_the_singles(stack, singles):
    for j, w in enumerate(stack):
        for i, single in enumerate(singles):
            np.testing.assert_allclose(w[i], single[j], rtol=1e-12, atol=1e-15)


def test_scheduler_per_copy_rates_move_the_weights_as_the_single_models(float64):
    factors = np.array([1.0, 0.5, 0.1])

    def make(i):
        scale = factors if i is None else factors[i]
        return LearningRateScheduler(lambda epoch: 0.2 * scale * 0.7 ** epoch)

    stack, singles, _ = _stacked_and_separate(make)
    _assert_stack_is_the_singles(stack, singles)


def test_plateau_cuts_move_the_weights_as_the_single_models(float64):
    """patience=0 and min_delta=0.15 on the training loss cut the copies at different
    epochs, so each trains on at its own rate through lr_scale (a per-copy array)."""
    def make(i):
        return ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=0.15)

    stack, singles, history = _stacked_and_separate(make, epochs=6)
    cuts = np.array(history.records["ReduceLROnPlateau"]["cut"])
    assert cuts[:-1].any() and not (cuts[:-1] == cuts[:-1, :1]).all()  # not all alike
    _assert_stack_is_the_singles(stack, singles)


# --- the callback contract: Keras's habits work ------------------------------------------
class _Counts(tn.callbacks.Callback):
    def __init__(self):
        self.calls = []


def test_an_override_of_a_batch_hook_is_called_without_wants_batches():
    class Batches(_Counts):
        def on_train_batch_end(self, batch, logs):
            self.calls.append(("train_batch", batch))

    class KerasBatches(_Counts):
        def on_batch_end(self, batch, logs=None):  # Keras's older name
            self.calls.append(("batch", batch))

    class OptOut(Batches):
        wants_batches = False  # said so itself: left alone

    x, y = blobs(32)
    callbacks = [Batches(), KerasBatches(), OptOut()]
    small_model().fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=callbacks)
    assert callbacks[0].calls == [("train_batch", 0), ("train_batch", 1)]
    assert callbacks[1].calls == [("batch", 0), ("batch", 1)]
    assert callbacks[2].calls == [] and not tn.callbacks.Callback.wants_batches


def test_keras_hook_signatures_with_logs_work():
    class Keras(_Counts):
        def on_train_begin(self, logs):
            self.calls.append(("train_begin", logs))

        def on_epoch_begin(self, epoch, logs):
            self.calls.append(("epoch_begin", epoch, logs))

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append(("epoch_end", epoch))

        def on_train_end(self, logs):
            self.calls.append(("train_end", logs))

    x, y = blobs(32)
    cb = Keras()
    small_model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cb])
    assert cb.calls == [("train_begin", {}), ("epoch_begin", 0, {}), ("epoch_end", 0),
                        ("epoch_begin", 1, {}), ("epoch_end", 1), ("train_end", {})]


def test_one_callback_is_taken_as_a_list_of_one():
    x, y = blobs(32)
    history = small_model().fit(x, y, epochs=3, verbose=0, callbacks=ReduceLROnPlateau(
        monitor="loss", patience=100))
    assert len(history.records["ReduceLROnPlateau"]["lr"]) == 3
    with pytest.raises(TypeError, match="callbacks must be a list of tinynet.callbacks"):
        small_model().fit(x, y, verbose=0, callbacks=3)
