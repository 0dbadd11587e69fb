"""step_overshoot and overshoot_summary against a quadratic worked by hand."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet.lab import diagnostics as dg


def _linear(n_in, n_out, n_models=1, seed=0, lr=0.1):
    model = tn.Sequential([tn.layers.Dense(n_out, input_dim=n_in, use_bias=False)],
                          seed=seed, n_models=n_models)
    return model.compile(tn.optimizers.SGD(lr), loss="mse")


def _curvature_along_gradient(x, y, w):
    """L(W) = mean_{n,o} (x W - y)^2: g = 2 x^T (x W - y) / (N O), H[V] = 2 x^T x V / (N O)."""
    n, o = y.shape
    g = 2.0 * x.T @ (x @ w - y) / (n * o)
    hg = 2.0 * x.T @ x @ g / (n * o)
    return np.sum(g * hg) / np.sum(g * g)


def _data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) * [2.0, 1.0, 0.5], rng.normal(size=(n, 2))


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.9])
def test_t_min_of_a_quadratic_is_one_over_lr_times_curvature(float64, lr):
    x, y = _data()
    model = _linear(3, 2)
    lam = _curvature_along_gradient(x, y, model.get_weights()[0])
    found = dg.step_overshoot(model, x, y, learning_rate=lr)
    expected = 1.0 / (lr * lam)
    if expected < 2.0:
        assert found["t_min"] == pytest.approx(expected, rel=1e-9)
        assert found["ratio"] == pytest.approx(lr * lam, rel=1e-9)
    else:
        assert found["t_min"] == 2.0  # the minimum lies beyond the grid
    assert found["overshoots"] == (lr > 1.0 / lam)
    assert found["climbs"] == (lr > 2.0 / lam)
    assert found["loss_min"] <= found["loss_start"] and found["loss_min"] <= found["loss_step"]


def test_the_quadratics_loss_values_and_the_optimisers_rate(float64):
    x, y = _data(1)
    model = _linear(3, 2, lr=0.4)
    w = model.get_weights()[0]
    lam = _curvature_along_gradient(x, y, w)
    g = 2.0 * x.T @ (x @ w - y) / y.size
    found = dg.step_overshoot(model, x, y)  # the optimiser's rate, 0.4
    assert found["learning_rate"] == 0.4
    loss0 = np.mean((x @ w - y) ** 2)
    step = np.mean((x @ (w - 0.4 * g) - y) ** 2)
    lowest = loss0 - np.sum(g * g) / (2.0 * lam)  # phi(s) = L0 - s|g|^2 + s^2 lam |g|^2 / 2
    assert found["loss_start"] == pytest.approx(loss0, rel=1e-12)
    assert found["loss_step"] == pytest.approx(step, rel=1e-12)
    assert found["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-12)
    if 1.0 / (0.4 * lam) < 2.0:
        assert found["loss_min"] == pytest.approx(lowest, rel=1e-9)
    assert found["loss_curve"].shape == found["t"].shape == (41,)


def test_stacked_copies_with_their_own_rates_equal_each_copy_alone(float64):
    x, y = _data(2)
    rates = [0.05, 0.5, 1.5]
    stacked = _linear(3, 2, n_models=3)
    found = dg.step_overshoot(stacked, x, y, learning_rate=rates)
    assert found["t_min"].shape == (3,) and found["loss_curve"].shape == (3, 41)
    for k, rate in enumerate(rates):
        alone = _linear(3, 2)
        alone.set_weights([w[k] for w in stacked.get_weights()])
        one = dg.step_overshoot(alone, x, y, learning_rate=rate)
        for key in ("t_min", "ratio", "loss_start", "loss_step", "loss_min", "grad_norm"):
            assert found[key][k] == pytest.approx(one[key], rel=1e-12), key
        assert found["overshoots"][k] == one["overshoots"]
        np.testing.assert_allclose(found["loss_curve"][k], one["loss_curve"], rtol=1e-12)


def test_it_leaves_the_model_exactly_as_it_was():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(50, 2)), rng.integers(0, 4, 50)
    layers = [tn.layers.Dense(10, activation="relu", input_dim=2),
              tn.layers.Dense(4, activation="softmax")]
    model = tn.Sequential(layers, seed=0, n_models=2).compile(
        tn.optimizers.SGD([0.1, 0.5]), loss="sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    before = model.get_weights()
    grads_before = [dict(layer.grads) for layer in model.layers]
    iterations = model.optimizer.iterations
    found = dg.step_overshoot(model, x, y)
    np.testing.assert_array_equal(found["learning_rate"], [0.1, 0.5])
    for a, b in zip(before, model.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert [dict(layer.grads) for layer in model.layers] == grads_before
    assert model.optimizer.iterations == iterations


def test_a_zero_gradient_has_no_line_minimum(float64):
    x = np.ones((4, 1))
    model = _linear(1, 1)
    model.set_weights([np.array([[2.0]])])
    found = dg.step_overshoot(model, x, 2.0 * np.ones((4, 1)))
    assert found["grad_norm"] == 0.0 and np.isnan(found["t_min"]) and not found["overshoots"]


def test_bad_input_is_a_clear_error():
    x, y = _data()
    model = _linear(3, 2)
    with pytest.raises(ValueError, match="points must be an odd integer"):
        dg.step_overshoot(model, x, y, points=40)
    with pytest.raises(ValueError, match="learning_rate must be a positive float"):
        dg.step_overshoot(model, x, y, learning_rate=-0.1)
    with pytest.raises(ValueError, match="learning_rate must be"):
        dg.step_overshoot(_linear(3, 2, n_models=2), x, y, learning_rate=[0.1, 0.2, 0.3])
    uncompiled = tn.Sequential([tn.layers.Dense(2, input_dim=3)])
    with pytest.raises(ValueError, match="compile"):
        dg.step_overshoot(uncompiled, x, y)
    with pytest.raises(ValueError, match="rows"):
        dg.step_overshoot(model, x, y[:5])
    with pytest.raises(ValueError, match="non-empty list"):
        dg.overshoot_summary([])
    with pytest.raises(ValueError, match="one epoch per measurement"):
        dg.overshoot_summary([dg.step_overshoot(model, x, y)], epochs=[0, 1])
    with pytest.raises(ValueError, match="start < stop"):
        dg.overshoot_summary([dg.step_overshoot(model, x, y)], phases=[(5, 5)])


def test_summary_counts_per_rate_and_phase(float64):
    x, y = _data(4)
    model = _linear(3, 2, n_models=2)
    lam = [_curvature_along_gradient(x, y, w) for w in model.get_weights()[0]]
    low, high = 0.5 / max(lam), 1.5 / min(lam)  # below / past every copy's line minimum
    shots = [dg.step_overshoot(model, x, y, learning_rate=[low, high]) for _ in range(3)]
    shots.append(dg.step_overshoot(model, x, y, learning_rate=[high, high]))
    summary = dg.overshoot_summary(shots, epochs=[0, 1, 6, 7], phases=[(0, 5), (5, None)])
    np.testing.assert_array_equal(summary["rates"], [low, high])
    np.testing.assert_array_equal(summary["measured"], [[2, 2], [1, 3]])
    np.testing.assert_array_equal(summary["overshoots"], [[0, 2], [0, 3]])
    np.testing.assert_array_equal(summary["share"], [[0.0, 1.0], [0.0, 1.0]])
    lo, hi = tn.metrics.wilson_interval(2, 2)
    assert summary["low"][0, 1] == lo and summary["high"][0, 1] == hi
    assert np.all(summary["median_ratio"][:, 1] > 1.0) and np.all(summary["median_ratio"][:, 0] < 1)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.2, 5.0), lr=st.floats(0.01, 2.0), seed=st.integers(0, 1000))
def test_ratio_is_lr_times_curvature_for_any_quadratic(scale, lr, seed):
    tn.set_dtype("float64")
    try:
        x, y = _data(seed)
        x = x * scale
        model = _linear(3, 2, seed=seed)
        lam = _curvature_along_gradient(x, y, model.get_weights()[0])
        found = dg.step_overshoot(model, x, y, learning_rate=lr)
    finally:
        tn.set_dtype("float32")
    if 1.0 / (lr * lam) < 1.95:
        assert found["ratio"] == pytest.approx(lr * lam, rel=1e-7)
        assert found["overshoots"] == (lr * lam > 1.0)


def test_step_overshoot_runs_on_every_backend(backend):
    x, y = _data(5)
    model = _linear(3, 2, n_models=2)
    lam = [_curvature_along_gradient(x, y, w) for w in model.get_weights()[0]]
    found = dg.step_overshoot(model, x, y, learning_rate=0.3)
    np.testing.assert_allclose(found["t_min"], [1.0 / (0.3 * v) for v in lam], rtol=1e-9)


def test_trace_measures_the_next_step_during_fit(float64):
    x, y = _data(6)
    model = _linear(3, 2, n_models=2)
    model.compile(tn.optimizers.SGD([0.05, 0.3]), loss="mse")
    trace = dg.OvershootTrace(x, y, every=2)
    model.fit(x, y, epochs=3, batch_size=20, verbose=0, callbacks=[trace])
    # before training, then after every 2nd of the 6 updates (2 per epoch)
    assert trace.epochs == [0, 0, 1, 2]
    # the last one equals a measurement taken now, from the trained weights
    now = dg.step_overshoot(model, x, y)
    np.testing.assert_allclose(trace.measurements[-1]["t_min"], now["t_min"], rtol=1e-12)
    summary = trace.summary(phases=[(0, 1), (1, None)])
    np.testing.assert_array_equal(summary["rates"], [0.05, 0.3])
    np.testing.assert_array_equal(summary["measured"], [[2, 2], [2, 2]])
