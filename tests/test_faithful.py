"""Faithful experiments: fit observes, seeds are seeds, the clip is a choice."""

import math
import warnings

import numpy as np
import pytest
from conftest import blobs
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet import losses, training
from tinynet.history import grew_past
from tinynet.lab.outcomes import classify
from tinynet.layers import Dense
from tinynet.metrics import run_quartiles, wilson_interval


def net(seed=0, n_models=1, same_init=False, linear=False):
    head = Dense(4) if linear else Dense(4, activation="softmax")
    return tn.Sequential([Dense(8, activation="tanh", input_dim=2), head], seed=seed,
                         n_models=n_models, same_init=same_init)


LOSS = "sparse_categorical_crossentropy"


# --- seeds that are seeds ----------------------------------------------------------------
def test_copy_k_of_a_shuffled_stack_is_the_single_model_of_seed_plus_k(float64):
    x, y = blobs(90)
    stack = net(seed=11, n_models=3)
    stack.compile(tn.optimizers.SGD([0.05, 0.2, 0.5]), loss=LOSS)
    h = stack.fit(x, y, epochs=3, batch_size=16, shuffle=True, verbose=0)
    for k, lr in enumerate([0.05, 0.2, 0.5]):
        one = net(seed=11 + k)
        one.compile(tn.optimizers.SGD(lr), loss=LOSS)
        hk = one.fit(x, y, epochs=3, batch_size=16, shuffle=True, verbose=0)
        np.testing.assert_allclose(h.steps["loss"][:, k], hk.steps["loss"], rtol=1e-12,
                                   atol=1e-12)
        for a, b in zip(stack.get_weights(), one.get_weights()):
            np.testing.assert_allclose(a[k], b, rtol=1e-12, atol=1e-12)


def test_copies_see_different_batches_unless_shared(float64):
    x, y = blobs(64)

    def step_losses(shuffle):
        model = net(seed=3, n_models=3, same_init=False)
        model.set_weights([np.stack([w[0]] * 3) for w in model.get_weights()])  # one start
        model.compile(tn.optimizers.SGD(0.0), loss=LOSS)  # rate 0: the loss shows the batch
        return model.fit(x, y, epochs=2, batch_size=8, shuffle=shuffle, verbose=0).steps["loss"]

    own = step_losses(True)
    assert not np.array_equal(own[:, 0], own[:, 1])
    shared = step_losses("shared")
    np.testing.assert_array_equal(shared[:, 0], shared[:, 1])
    np.testing.assert_array_equal(shared[:, 0], shared[:, 2])
    np.testing.assert_array_equal(shared[:, 0], own[:, 0])  # the shared order is seed 3's


def test_same_init_copies_are_the_seed_model_in_weights_and_batches(float64):
    x, y = blobs(64)
    model = net(seed=5, n_models=2, same_init=True)
    model.compile(tn.optimizers.SGD(0.0), loss=LOSS)
    steps = model.fit(x, y, epochs=2, batch_size=8, verbose=0).steps["loss"]
    np.testing.assert_array_equal(steps[:, 0], steps[:, 1])


def test_random_validation_split_is_one_split_for_the_stack(float64):
    x, y = blobs(100)
    stack = net(seed=2, n_models=2)
    stack.compile(tn.optimizers.SGD(0.1), loss=LOSS)
    h = stack.fit(x, y, epochs=2, batch_size=16, validation_split=0.2,
                  validation_split_mode="random", verbose=0)
    one = net(seed=2)
    one.compile(tn.optimizers.SGD(0.1), loss=LOSS)
    h0 = one.fit(x, y, epochs=2, batch_size=16, validation_split=0.2,
                 validation_split_mode="random", verbose=0)
    np.testing.assert_allclose(np.array(h.history["val_loss"])[:, 0], h0.history["val_loss"],
                               rtol=1e-12)


def test_shuffle_must_be_a_bool_or_shared():
    x, y = blobs(16)
    model = net()
    model.compile("sgd", loss=LOSS)
    with pytest.raises(ValueError, match="shuffle"):
        model.fit(x, y, shuffle="per-copy", verbose=0)


def test_sweep_pairs_rates_within_a_seed_and_separates_seeds(float64):
    x, y = blobs(96)

    def layers():
        return [Dense(8, activation="tanh", input_dim=2), Dense(4, activation="softmax")]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        res = tn.sweep(layers, x, y, [1e-300, 2e-300], seeds=(0, 1), loss=LOSS, epochs=2,
                       batch_size=16, verbose=0)  # rates that cannot move a weight
    steps = res.steps["loss"]  # (updates, R, S)
    np.testing.assert_array_equal(steps[:, 0, 0], steps[:, 1, 0])  # same weights and order
    np.testing.assert_array_equal(steps[:, 0, 1], steps[:, 1, 1])
    assert not np.array_equal(steps[:, 0, 0], steps[:, 0, 1])
    # seed 1 of the sweep is the single model of seed 1 (weights and batches)
    one = tn.Sequential(layers(), seed=1)
    one.compile(tn.optimizers.SGD(1e-300), loss=LOSS)
    np.testing.assert_array_equal(
        one.fit(x, y, epochs=2, batch_size=16, verbose=0).steps["loss"], steps[:, 0, 1])


# --- observe, don't intervene ---------------------------------------------------------------
def test_a_finite_loss_spike_is_recorded_and_warned_and_training_goes_on(float64):
    x, y = blobs(120)
    model = net(seed=1)
    model.compile(tn.optimizers.SGD(0.1), loss=LOSS)
    spike = tn.callbacks.LearningRateScheduler(lambda e, lr: 200.0 if e in (2, 3) else 0.1)
    with pytest.warns(tn.DivergenceWarning, match=r"grew in epoch \d+.*goes on"):
        h = model.fit(x * 20, y, epochs=8, batch_size=16, callbacks=[spike], verbose=0)
    assert len(h.epoch) == 8
    assert h.grew is True and h.grew_epoch in (3, 4, 5) and h.diverged is False
    assert np.isfinite(h.history["loss"]).all()


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(0.0, 1e300),
       st.floats(0.0, 1e300), st.floats(1.0, 100.0, exclude_min=True))
def test_a_single_models_usual_epoch_is_the_rules_nothing_to_report(loss, best, first, factor):
    # the observer's shortcut for one model (floats, no arrays) says "usual" only where
    # the rule of every copy finds the loss finite and not grown past its best and start
    usual = training._usual(loss, best, factor)
    grown = bool(grew_past(np.array([loss]), np.array([best]), np.array([first]), factor)[0])
    if usual:
        assert math.isfinite(loss) and not grown
    else:
        assert not math.isfinite(loss) or loss > factor * best


def test_stop_on_divergence_stops_a_single_model(float64):
    x, y = blobs(120)
    model = net(seed=1)
    model.compile(tn.optimizers.SGD(0.1), loss=LOSS)
    spike = tn.callbacks.LearningRateScheduler(lambda e, lr: 200.0 if e in (2, 3) else 0.1)
    stop = tn.callbacks.StopOnDivergence(factor=4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        h = model.fit(x * 20, y, epochs=8, batch_size=16, callbacks=[spike, stop], verbose=0)
    assert len(h.epoch) < 8 and stop.stopped_epoch == h.epoch[-1] == h.grew_epoch - 1
    assert h.records["StopOnDivergence"]["stop"][-1] is True


def test_stop_on_divergence_freezes_a_stacked_copy(float64):
    x, y = blobs(120)
    model = net(seed=1, n_models=2, same_init=True)
    model.compile(tn.optimizers.SGD([0.1, 0.1]), loss=LOSS)
    spike = tn.callbacks.LearningRateScheduler(
        lambda e, lr: np.array([0.1, 200.0 if e in (2, 3) else 0.1]))
    stop = tn.callbacks.StopOnDivergence()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        h = model.fit(x * 20, y, epochs=8, batch_size=16, callbacks=[spike, stop], verbose=0)
    assert len(h.epoch) == 8
    assert model.frozen.tolist() == [False, True]
    assert stop.stopped_epoch[0] == -1 and stop.stopped_epoch[1] >= 2


def test_a_nan_copy_is_frozen_and_the_others_match_a_clean_run(float64):
    x, y = blobs(120)
    targets = np.eye(4)[y]

    def run(rates, seeds):
        model = net(seed=seeds[0], n_models=len(rates), linear=True)
        start = [tn.Sequential([Dense(8, activation="tanh", input_dim=2), Dense(4)], seed=s)
                 .get_weights() for s in seeds]
        model.set_weights([np.stack(ws) for ws in zip(*start)])
        model._set_shuffle_seeds(seeds)  # each copy its own seed's batches
        model.compile(tn.optimizers.SGD(rates), loss="mse")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = model.fit(x, targets, epochs=4, batch_size=16, verbose=0)
        return model, h, caught

    model, h, caught = run([0.01, 1e200, 0.02], [4, 5, 6])  # 1e200: the weights overflow
    clean_model, clean, _ = run([0.01, 0.02], [4, 6])
    assert h.diverged.tolist() == [False, True, False] and h.diverged_epoch[1] == 1
    assert any("frozen" in str(w.message) and "epoch 1 " in str(w.message) for w in caught
               if issubclass(w.category, tn.DivergenceWarning))
    assert len(h.epoch) == 4
    np.testing.assert_array_equal(np.array(h.history["loss"])[:, [0, 2]],
                                  np.array(clean.history["loss"]))
    for a, b in zip(model.get_weights(), clean_model.get_weights()):
        np.testing.assert_array_equal(a[[0, 2]], b)
    assert classify(h).tolist()[1] == "non-finite"


def test_classify_reads_outcomes_from_the_record(float64):
    x, y = blobs(120)
    model = net(seed=0, n_models=3, same_init=True)
    model.compile(tn.optimizers.SGD([1e-6, 0.5, 0.5]), loss=LOSS)
    h = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    labels = classify(h)
    assert labels.tolist()[0] == "not-fit" and labels.tolist()[1] == "fit"
    assert classify(h, metric="accuracy", threshold=0.9).tolist()[0] == "not-fit"
    with pytest.raises(ValueError, match="together"):
        classify(h, metric="accuracy")


# --- the clip made explicit -------------------------------------------------------------------
Y = np.array([[0.5, 0.25, 0.0], [1.0, 0.0, 0.0]])  # soft labels not summing to 1; one-hot
P = np.array([[0.4, 0.4, 0.2], [1e-9, 0.5, 0.5 - 1e-9]])  # the 1e-9 is under the clip


def _softmax_head(loss):
    """fused.SoftmaxCrossEntropy after a forward on z = log P (softmax(z) = P: rows sum to 1)."""
    from tinynet import fused

    head = fused.SoftmaxCrossEntropy(loss)
    head.forward(tn.backend.to_device(np.log(P)), tn.backend.to_device(Y))
    return head


def test_clip_mode_hand_worked(float64):
    loss = losses.CategoricalCrossentropy()  # probabilities="clip", Keras
    value = loss(Y, P)
    assert value == pytest.approx((-0.75 * math.log(0.4) - math.log(1e-7)) / 2, rel=1e-12)
    # u = -y/q inside the clip: row 0 [-1.25, -0.625, 0], sum(u q) = -0.75;
    # grad = (u - sum(u q)) / N; row 1 is clipped on its true class: no gradient at all
    np.testing.assert_allclose(tn.backend.to_numpy(loss.backward()),
                               [[-0.25, 0.0625, 0.375], [0.0, 0.0, 0.0]], atol=1e-15)
    # through a softmax (the fused step's head, fed z = log P so that softmax(z) = P):
    # (p sum(v) - v) / N with v = y where p is not clipped
    head = _softmax_head(loss)
    np.testing.assert_allclose(tn.backend.to_numpy(head.backward()),
                               [[-0.1, 0.025, 0.075], [0.0, 0.0, 0.0]], atol=1e-15)


def test_exact_mode_hand_worked(float64):
    loss = losses.CategoricalCrossentropy(probabilities="exact")  # PyTorch / tf.keras
    value = loss(Y, P)
    assert value == pytest.approx((-0.75 * math.log(0.4) - math.log(1e-9)) / 2, rel=1e-12)
    # -y / (N p): no renormalisation, no clip
    np.testing.assert_allclose(tn.backend.to_numpy(loss.backward()),
                               [[-0.625, -0.3125, 0.0], [-5e8, 0.0, 0.0]], rtol=1e-12)
    # through a softmax: (p sum(y) - y) / N
    head = _softmax_head(loss)
    np.testing.assert_allclose(tn.backend.to_numpy(head.backward()),
                               [[-0.1, 0.025, 0.075], [(1e-9 - 1) / 2, 0.25, (0.5 - 1e-9) / 2]],
                               rtol=1e-12, atol=1e-15)
    assert losses.SparseCategoricalCrossentropy(probabilities="exact")(
        np.array([0, 0]), P[:, :]) == pytest.approx(-(math.log(0.4) + math.log(1e-9)) / 2)


def test_exact_mode_trains_a_softmax_net_and_round_trips(float64, tmp_path):
    x, y = blobs(64)
    model = net(seed=0)
    model.compile(tn.optimizers.SGD(0.1),
                  loss=losses.SparseCategoricalCrossentropy(probabilities="exact"))
    h = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    config = losses.serialize(model.loss)
    assert config["config"] == {"probabilities": "exact"}
    assert losses.get(config).probabilities == "exact"
    model.save(tmp_path / "m.npz")
    assert tn.load_model(tmp_path / "m.npz").loss.probabilities == "exact"
    with pytest.raises(ValueError, match="probabilities"):
        losses.CategoricalCrossentropy(probabilities="clipped")


# --- counts with their uncertainty ---------------------------------------------------------
@pytest.mark.parametrize("k, n, lo, hi", [(7, 20, 0.1812, 0.5671), (0, 10, 0.0, 0.2775),
                                          (10, 10, 0.7225, 1.0), (1, 2, 0.0945, 0.9055)])
def test_wilson_interval_known_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-5)


def test_wilson_interval_edges_and_arrays():
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(np.array([0, 7]), 20)
    assert lo.shape == (2,) and hi[1] == pytest.approx(0.5671, abs=5e-5)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(3, 2)


def test_run_quartiles_count_every_run():
    assert run_quartiles([1.0, 2.0, np.nan]) == (1.5, 2.0, math.inf)
    assert run_quartiles([0.9, 0.5, np.nan], "max")[1] == 0.5
