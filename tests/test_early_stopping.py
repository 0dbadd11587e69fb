"""EarlyStopping (Keras 3 semantics) and TerminateOnNaN, with their records."""

import numpy as np
import pytest
from conftest import blobs

import tinynet as tn
from tinynet.callbacks import EarlyStopping, TerminateOnNaN
from tinynet.layers import Dense


def _model(n_models=1):
    model = tn.Sequential([Dense(6, activation="relu", input_dim=2),
                           Dense(4, activation="softmax")], seed=0, n_models=n_models)
    model.compile(tn.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    return model


def _drive(callback, values, n_models=1):
    """Feed a scripted sequence of monitored values; return the epochs it ran."""
    model = _model(n_models)
    model.history = tn.History(n_models)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            return epoch
    return None


def test_patience_counts_bad_epochs_with_absolute_min_delta():
    es = EarlyStopping(patience=2, min_delta=0.1)
    # 1.0 best; 0.95 is not better by > 0.1 (wait 1); 0.85 is (wait 0); then two bad
    stopped = _drive(es, [1.0, 0.95, 0.85, 0.9, 0.8, 0.7])
    assert stopped == 4
    rec = es.model.history.records["EarlyStopping"]
    assert rec["wait"] == [0, 1, 0, 1, 2]
    assert rec["best"] == [1.0, 1.0, 0.85, 0.85, 0.85]
    assert rec["stop"] == [False, False, False, False, True]


def test_mode_is_inferred_from_the_name():
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    model = _model()
    model.history = tn.History()
    es.set_model(model)
    es.on_train_begin()
    es.on_epoch_end(0, {"val_accuracy": 0.5})
    es.on_epoch_end(1, {"val_accuracy": 0.7})
    assert not model.stop_training
    es.on_epoch_end(2, {"val_accuracy": 0.6})
    assert model.stop_training


def test_stacked_copies_stop_on_their_own():
    es = EarlyStopping(patience=1)
    values = [np.array([1.0, 1.0]), np.array([1.1, 0.9]), np.array([1.2, 0.8]),
              np.array([1.3, 0.85])]
    stopped = _drive(es, values, n_models=2)
    assert stopped == 3
    assert es.model.frozen.tolist() == [True, True]
    assert es.model.history.records["EarlyStopping"]["stop"][1].tolist() == [True, False]


def test_restore_best_weights_even_without_an_early_stop():
    x, y = blobs(80)
    model = _model()
    es = EarlyStopping(monitor="loss", patience=100, restore_best_weights=True)
    weights = []

    class Spy(tn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            weights.append(self.model.get_weights())

    h = model.fit(x, y, epochs=6, batch_size=16, callbacks=[es, Spy()], verbose=0)
    assert len(h.epoch) == 6  # never stopped
    best = int(np.argmin(h.history["loss"]))
    for a, b in zip(model.get_weights(), weights[best]):
        np.testing.assert_array_equal(a, b)


def test_missing_monitor_warns_and_does_nothing():
    x, y = blobs(40)
    with pytest.warns(UserWarning, match="'val_loss' is not logged"):
        _model().fit(x, y, epochs=2, callbacks=[EarlyStopping()], verbose=0)


def test_terminate_on_nan_stops_within_the_epoch():
    x, y = blobs(64)
    model = tn.Sequential([Dense(6, input_dim=2), Dense(1)], seed=0)  # linear: can overflow
    model.compile(tn.optimizers.SGD(1e20), loss="mse")
    with pytest.warns(RuntimeWarning):
        h = model.fit(x * 1e10, y, epochs=5, batch_size=8, callbacks=[TerminateOnNaN()],
                      verbose=0)
    assert h.diverged is True and len(h.epoch) == 1
    assert "TerminateOnNaN" in h.records


@pytest.mark.parametrize("callbacks", [[], [TerminateOnNaN()]], ids=["alone", "TerminateOnNaN"])
def test_a_stacked_copy_that_diverges_warns_once_with_or_without_terminate_on_nan(callbacks):
    """The copy TerminateOnNaN freezes mid-epoch gets fit's DivergenceWarning, once."""
    import warnings

    x, y = blobs(60)
    model = tn.Sequential([Dense(5, activation="relu", input_dim=2), Dense(4)], seed=0,
                          n_models=3)
    model.compile(tn.optimizers.SGD([0.001, 1.0, 0.002]), loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = model.fit(x, np.eye(4)[y] * 10, epochs=4, batch_size=16, verbose=0,
                      callbacks=callbacks)
    diverging = [w for w in caught if issubclass(w.category, tn.DivergenceWarning)]
    assert h.diverged.tolist() == [False, True, False]
    assert h.diverged_epoch.tolist() == [-1, 1, -1]
    assert len(diverging) == 1
    assert str(diverging[0].message).startswith("Copies [1] of the stacked model reached a loss")
    assert "in epoch 1 at learning rate(s) 1" in str(diverging[0].message)


def test_callbacks_must_be_callbacks():
    x, y = blobs(8)
    with pytest.raises(TypeError, match="callbacks"):
        _model().fit(x, y, callbacks=[print], verbose=0)


class _Script(tn.callbacks.Callback):
    """Puts a scripted value under logs["scripted"] (placed before the callback under test)."""

    def __init__(self, values, weights):
        self.values, self.weights = values, weights

    def on_epoch_end(self, epoch, logs):
        logs["scripted"] = self.values[epoch]
        self.weights.append(self.model.get_weights())


@pytest.mark.parametrize("n_models", [1, 2])
def test_restore_best_weights_restores_a_middle_epoch_not_the_last(n_models):
    # the monitored value goes down, then up: the best epoch (2 for copy 0, 1 for
    # copy 1) is neither the first nor the last, so "restore the last weights" fails
    values = [np.array(v) if n_models > 1 else v[0]
              for v in ([3.0, 3.0], [2.0, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 4.0])]
    x, y = blobs(80)
    model, weights = _model(n_models), []
    es = EarlyStopping(monitor="scripted", mode="min", patience=100, restore_best_weights=True)
    model.fit(x, y, epochs=5, batch_size=16, callbacks=[_Script(values, weights), es],
              verbose=0)
    best = [2, 1][:n_models]
    for i, final in enumerate(model.get_weights()):
        for k, epoch in enumerate(best):
            want = weights[epoch][i][k] if n_models > 1 else weights[epoch][i]
            got = final[k] if n_models > 1 else final
            np.testing.assert_array_equal(got, want)
        assert not np.array_equal(final, weights[-1][i])


def test_patience_zero_stops_at_the_first_epoch_that_does_not_improve():
    """Keras's default: an improving epoch never stops, whatever the patience."""
    assert _drive(EarlyStopping(patience=0), [1.0, 0.9, 0.8, 0.7, 0.6]) is None
    assert _drive(EarlyStopping(patience=0), [1.0, 0.9, 0.95, 0.7]) == 2
    es = EarlyStopping(patience=0)
    values = [np.array([1.0, 1.0]), np.array([0.9, 1.1]), np.array([0.8, 0.7])]
    assert _drive(es, values, n_models=2) is None
    assert es.model.frozen.tolist() == [False, True]


def test_patience_zero_trains_every_epoch_while_the_loss_improves():
    x, y = blobs(n=64, seed=0)
    model = _model()
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0,
                        callbacks=[EarlyStopping(monitor="loss")])
    assert np.all(np.diff(history.history["loss"]) < 0)  # it improved every epoch
    assert len(history.epoch) == 6


def test_min_delta_in_max_mode_asks_for_a_rise_of_more_than_min_delta():
    """Mode max: an epoch improves when current > best + min_delta (Keras)."""
    def run(values):
        es = EarlyStopping(monitor="val_accuracy", mode="max", patience=1, min_delta=0.1)
        model = _model()
        model.history = tn.History()
        es.set_model(model)
        es.on_train_begin()
        for epoch, value in enumerate(values):
            es.on_epoch_end(epoch, {"val_accuracy": value})
        return es.model.history.records["EarlyStopping"]["improved"]

    # 0.5 -> 0.65 rises by 0.15 > 0.1: better; 0.7 rises by 0.05: not; 0.55 falls: not
    assert run([0.5, 0.65, 0.7, 0.55]) == [True, True, False, False]


def _nan_watch(n_models):
    model = _model(n_models)
    model.history = tn.History(n_models)
    cb = TerminateOnNaN()
    cb.set_model(model)
    cb.on_train_begin()
    return model, cb


@pytest.mark.parametrize("n_models", [1, 3])
def test_terminate_on_nan_numbers_epochs_from_one(n_models):
    """diverged_epoch counts as the log does: a NaN in the second epoch is epoch 2."""
    model, cb = _nan_watch(n_models)
    ok, bad = (1.0, np.nan) if n_models == 1 else (np.ones(3), np.array([1.0, np.nan, 1.0]))
    cb.on_train_batch_end(0, {"loss": ok})
    model.history.epoch.append(0)  # the first epoch ended; the second is in progress
    cb.on_train_batch_end(0, {"loss": bad})
    want = 2 if n_models == 1 else [-1, 2, -1]
    assert np.array_equal(model.history.diverged_epoch, want)


def test_terminate_on_nan_leaves_frozen_copies_as_they_were():
    """A frozen copy's loss stays NaN; it is not handled again, its epoch is not moved."""
    model, cb = _nan_watch(3)
    cb.on_train_batch_end(0, {"loss": np.array([1.0, np.nan, 1.0])})  # epoch 1
    model.history.epoch.append(0)
    cb.on_train_batch_end(0, {"loss": np.array([1.0, np.nan, np.nan])})  # epoch 2
    assert model.history.diverged_epoch.tolist() == [-1, 1, 2]
    frozen = model.history.records["TerminateOnNaN"]["frozen"]
    assert [f.tolist() for f in frozen] == [[False, True, False], [False, False, True]]
    assert model.frozen.tolist() == [False, True, True] and not model.stop_training
