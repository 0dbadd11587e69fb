"""The learning-rate range test: rates, smoothing, early stop, suggestions, exact restore."""

import numpy as np
import pytest
from conftest import blobs
from matplotlib.figure import Figure

import tinynet as tn
from tinynet.lab.lr_finder import LRFinderResult, lr_find, min_div_10, steepest, valley


def classifier(n_models=1, optimizer=None, seed=0):
    model = tn.Sequential([tn.layers.Dense(8, activation="relu", input_dim=2),
                           tn.layers.Dense(4, activation="softmax")],
                          seed=seed, n_models=n_models)
    model.compile(optimizer or tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return model


def regression(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(128, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 3.0
    model = tn.Sequential([tn.layers.Dense(16, activation="tanh", input_dim=3),
                           tn.layers.Dense(1)], seed=seed)
    model.compile(tn.optimizers.SGD(0.01), loss="mse")
    return model, x, y


# --- the sweep ----------------------------------------------------------------------
def test_exponential_rates_follow_the_formula_and_end_at_end_lr(float64):
    x, y = blobs(128)
    result = lr_find(classifier(), x, y, start_lr=1e-5, end_lr=1e-2, num_steps=25,
                     batch_size=16)
    i = np.arange(25)
    np.testing.assert_allclose(result.learning_rates, 1e-5 * (1e-2 / 1e-5) ** (i / 24),
                               rtol=1e-14)
    assert not result.stopped_early
    assert result.learning_rates.shape == result.losses.shape == (25,)
    assert result.learning_rates[0] == 1e-5
    assert result.learning_rates[-1] == 1e-2


def test_linear_rates_follow_the_formula(float64):
    x, y = blobs(128)
    result = lr_find(classifier(), x, y, start_lr=1e-3, end_lr=0.05, num_steps=11,
                     mode="linear")
    i = np.arange(11)
    np.testing.assert_allclose(result.learning_rates, 1e-3 + (0.05 - 1e-3) * i / 10,
                               rtol=1e-14)
    assert result.learning_rates[-1] == 0.05


def test_smoothed_loss_is_the_bias_corrected_average(float64):
    x, y = blobs(128)
    result = lr_find(classifier(), x, y, start_lr=1e-4, end_lr=1e-1, num_steps=20,
                     smoothing=0.9)
    avg, want = 0.0, []
    for i, loss in enumerate(result.losses):
        avg = 0.9 * avg + 0.1 * loss
        want.append(avg / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(result.smoothed_losses, want, rtol=1e-12)
    assert result.smoothed_losses[0] == pytest.approx(result.losses[0])


def test_batches_cycle_through_reshuffled_data(float64):
    # 40 rows in batches of 16: two full batches per pass, the 8 left over are dropped;
    # with a zero rate the weights never move, so the losses repeat the batch losses.
    x, y = blobs(40)
    model = classifier()
    result = lr_find(model, x, y, start_lr=1e-12, end_lr=2e-12, num_steps=6, batch_size=16,
                     seed=3)
    rng = np.random.default_rng(3)
    want = []
    for _ in range(3):
        order = rng.permutation(40)
        for start in (0, 16):
            rows = order[start:start + 16]
            want.append(model.evaluate(x[rows], y[rows])["loss"])
    np.testing.assert_allclose(result.losses, want, rtol=1e-9)


def test_divergent_sweep_stops_early(float64):
    model, x, y = regression()
    with np.errstate(all="ignore"):
        result = lr_find(model, x, y, start_lr=1e-4, end_lr=1e3, num_steps=100)
    assert result.stopped_early
    n = result.learning_rates.shape[0]
    assert 10 < n < 100
    assert result.losses.shape == result.smoothed_losses.shape == (n,)
    last = result.smoothed_losses[-1]
    assert not np.isfinite(last) or last > 4.0 * np.min(result.smoothed_losses[:-1])
    assert np.all(result.smoothed_losses[:-1] <= 4.0 * np.minimum.accumulate(
        result.smoothed_losses[:-1]))
    # every suggestion lies below where it blew up (min_div_10 may go below start_lr)
    for rate in result.suggestions.values():
        assert 1e-5 <= rate < result.learning_rates[-1]


def test_diverge_factor_controls_the_stop(float64):
    model, x, y = regression()
    with np.errstate(all="ignore"):
        tight = lr_find(model, x, y, start_lr=1e-4, end_lr=1e3, diverge_factor=1.5)
        loose = lr_find(model, x, y, start_lr=1e-4, end_lr=1e3, diverge_factor=100.0)
    assert tight.learning_rates.shape[0] <= loose.learning_rates.shape[0]


# --- putting everything back ------------------------------------------------------------
def test_state_is_restored_bit_for_bit(backend):
    x, y = blobs(96)
    model = classifier(optimizer=tn.optimizers.Adam(0.01))
    twin = classifier(optimizer=tn.optimizers.Adam(0.01))
    for m in (model, twin):
        m.fit(x, y, epochs=1, batch_size=32, verbose=0)  # Adam slots now exist
    weights = model.get_weights()
    state = model.optimizer.get_state()
    rng_state = model._shuffle_rng.bit_generator.state
    dtypes = [p.dtype for p in model.params]

    result = lr_find(model, x, y, start_lr=1e-4, end_lr=1.0, num_steps=15, batch_size=16)
    assert result.learning_rates.shape[0] >= 2

    for before, after in zip(weights, model.get_weights(), strict=True):
        assert before.dtype == after.dtype and np.array_equal(before, after)
    assert [p.dtype for p in model.params] == dtypes
    after = model.optimizer.get_state()
    assert after["iterations"] == state["iterations"] == 3
    assert after["learning_rate"] == 0.01 and after["lr_scale"] == 1.0
    for s0, s1 in zip(state["slots"], after["slots"], strict=True):
        for key in ("m", "v"):
            assert np.array_equal(s0[key], s1[key])
    assert model._shuffle_rng.bit_generator.state == rng_state
    # and training goes on exactly as if lr_find had never run
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    twin.fit(x, y, epochs=1, batch_size=32, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        assert np.array_equal(a, b)


def test_untrained_optimizer_stays_untrained(float64):
    x, y = blobs(64)
    model = classifier(optimizer=tn.optimizers.RMSprop(0.01, momentum=0.9))
    lr_find(model, x, y, num_steps=10)
    state = model.optimizer.get_state()
    assert state["slots"] is None and state["iterations"] == 0


def test_schedule_scale_and_frozen_are_restored(float64):
    x, y = blobs(64)
    model = classifier(n_models=2)

    def schedule(step):
        return 0.1 / (1 + step)

    model.optimizer.learning_rate = [schedule, 0.2]
    model.optimizer.lr_scale = np.array([0.5, 0.25])
    model.freeze([True, False])
    lr_find(model, x, y, num_steps=10)
    opt = model.optimizer
    assert opt.learning_rate == [schedule, 0.2]
    np.testing.assert_array_equal(opt.lr_scale, [0.5, 0.25])
    np.testing.assert_array_equal(opt.frozen, [True, False])


def test_restored_after_an_error_mid_sweep():
    x, y = blobs(64)
    model = classifier()  # float32, the default dtype
    weights = model.get_weights()
    assert weights[0].dtype == np.float32
    calls = {"n": 0}
    original = model.train_function

    def failing(xb, yb):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("boom")
        return original(xb, yb)

    model.train_function = failing
    with pytest.raises(RuntimeError, match="boom"):
        lr_find(model, x, y, num_steps=10)
    for a, b in zip(weights, model.get_weights(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert model.optimizer.iterations == 0 and model.optimizer.learning_rate == 0.1


# --- stacked models ------------------------------------------------------------------------
def test_stacked_sweep_equals_each_copy_alone(float64):
    x, y = blobs(128)
    stacked = lr_find(classifier(n_models=3), x, y, start_lr=1e-4, end_lr=1.0, num_steps=30,
                      seed=7)
    assert stacked.losses.shape == stacked.smoothed_losses.shape == (30, 3)
    assert stacked.stopped_early.shape == (3,)
    for name, rates in stacked.suggestions.items():
        assert rates.shape == (3,), name
    np.testing.assert_array_equal(stacked.suggestion, stacked.suggestions["valley"])
    for k in range(3):
        alone = lr_find(classifier(seed=k), x, y, start_lr=1e-4, end_lr=1.0, num_steps=30,
                        seed=7)
        np.testing.assert_allclose(stacked.losses[:, k], alone.losses, rtol=1e-10)
        assert stacked.suggestion[k] == alone.suggestion


def test_stacked_copy_that_diverges_stops_alone(float64):
    # Two stacked linear nets; copy 1's weights are 10x larger, so its curvature is
    # ~100x higher and it blows up at a rate copy 0 handles. Copy 1 stops (NaN from
    # there on, frozen), copy 0 sweeps on to end_lr exactly as it would alone.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 3.0

    def linear_net(n_models):
        model = tn.Sequential([tn.layers.Dense(16, input_dim=3), tn.layers.Dense(1)],
                              seed=0, n_models=n_models)
        model.compile(tn.optimizers.SGD(0.01), loss="mse")
        return model

    model = linear_net(2)
    weights = model.get_weights()
    for w in weights:
        w[1] *= 10.0
    model.set_weights(weights)
    with np.errstate(all="ignore"):
        result = lr_find(model, x, y, start_lr=1e-5, end_lr=0.1, num_steps=60, seed=1)
        alone = lr_find(linear_net(1), x, y, start_lr=1e-5, end_lr=0.1, num_steps=60, seed=1)
    assert result.stopped_early.tolist() == [False, True]
    assert result.learning_rates.shape == (60,) and result.learning_rates[-1] == 0.1
    nan = np.isnan(result.losses[:, 1])
    first = int(np.argmax(nan))
    assert 0 < first < 60 and np.all(nan[first:]) and not np.any(nan[:first])
    s1 = result.smoothed_losses[:first, 1]
    assert s1[-1] > 4.0 * np.min(s1[:-1]) or not np.isfinite(s1[-1])
    np.testing.assert_allclose(result.losses[:, 0], alone.losses, rtol=1e-10)
    assert np.all(np.isfinite(result.suggestions["valley"]))
    assert result.suggestions["valley"][1] < result.suggestions["valley"][0]


# --- suggestions --------------------------------------------------------------------------
def test_valley_rule_by_hand():
    # the longest strictly decreasing run is indices 4..15 (12 points): end 15,
    # start = 15 - 12 = 3, sections = 4, index 3 + 4 + 2 = 9 (fastai's arithmetic)
    losses = np.array([1.0] * 4 + list(range(12, 0, -1)) + [5.0, 6.0, 7.0])
    rates = 10.0 ** np.linspace(-5, 0, losses.shape[0])
    assert valley(rates, losses) == rates[9]


def test_steepest_and_min_rules_by_hand():
    rates = 10.0 ** np.arange(6)
    losses = np.array([5.0, 5.0, 4.0, 1.0, 0.5, 0.4])
    # np.gradient per decade: [0, -0.5, -2, -1.75, -0.3, -0.1] -> steepest at index 2
    assert steepest(rates, losses) == rates[2]
    assert min_div_10(rates, losses) == rates[5] / 10


def test_suggestions_skip_the_ends_as_fastai():
    rates = 10.0 ** np.linspace(-6, 1, 40)
    smoothed = np.linspace(3.0, 1.0, 40)
    smoothed[:4] = [9.0, 8.0, 20.0, 0.1]  # inside the skipped first num_steps // 10 = 4
    smoothed[-5:] = 0.01                  # inside the skipped last 5
    result = LRFinderResult(rates, smoothed, smoothed, False, num_steps=40)
    assert result.suggestions["min_div_10"] == rates[34] / 10
    assert set(result.suggestions) == {"valley", "steepest", "min_div_10"}
    assert result.suggestion == result.suggestions["valley"]


# --- bad input and the plot --------------------------------------------------------------
@pytest.mark.parametrize("kwargs, word", [
    (dict(start_lr=1e-2, end_lr=1e-3), "end_lr"),
    (dict(start_lr=1e-2, end_lr=1e-2), "end_lr"),
    (dict(start_lr=0.0), "start_lr"),
    (dict(start_lr=-1e-3), "start_lr"),
    (dict(num_steps=1), "num_steps"),
    (dict(num_steps=0), "num_steps"),
    (dict(mode="log"), "mode"),
    (dict(smoothing=1.0), "smoothing"),
    (dict(diverge_factor=1.0), "diverge_factor"),
    (dict(batch_size=0), "batch_size"),
])
def test_bad_arguments(kwargs, word):
    x, y = blobs(32)
    with pytest.raises(ValueError, match=word) as info:
        lr_find(classifier(), x, y, **kwargs)
    value = next(iter(v for k, v in kwargs.items() if k == word), None)
    if value is not None:
        assert repr(value) in str(info.value) or str(value) in str(info.value)


@pytest.mark.parametrize("start_lr, end_lr", [(1e-7, 1e308), (5e-324, 10.0)])
def test_a_ratio_beyond_the_float_range_still_gives_finite_rates(float64, start_lr, end_lr):
    # end_lr / start_lr overflows to inf; the rates themselves are all finite
    rates = tn.lab.lr_finder.sweep_rates(start_lr, end_lr, 11)
    assert np.all(np.isfinite(rates)) and np.all(np.diff(rates) > 0)
    assert rates[0] == start_lr and rates[-1] == end_lr
    i = np.arange(11)
    expected = np.exp(np.log(start_lr) + (np.log(end_lr) - np.log(start_lr)) * i / 10)
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    x, y = blobs(64)
    result = lr_find(classifier(), x, y, start_lr=start_lr, end_lr=end_lr, num_steps=11)
    assert np.all(np.isfinite(result.learning_rates))


def test_uncompiled_model_is_refused():
    x, y = blobs(32)
    model = tn.Sequential([tn.layers.Dense(4, input_dim=2)], seed=0)
    with pytest.raises(ValueError, match="compile"):
        lr_find(model, x, y)


def test_plot_returns_a_figure(float64):
    x, y = blobs(64)
    result = lr_find(classifier(), x, y, num_steps=20)
    fig = result.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for name in ("valley", "steepest", "min_div_10"):
        assert any(label.startswith(name) for label in labels)
    other = Figure()
    ax2 = other.add_subplot(1, 1, 1)
    assert result.plot(ax=ax2) is other


@pytest.mark.parametrize("ax", [3, "ax"])
def test_plot_refuses_an_ax_that_is_not_an_axes(float64, ax):
    x, y = blobs(64)
    result = lr_find(classifier(), x, y, num_steps=12)
    with pytest.raises(TypeError, match=r"^plot\.lr_find: ax must be a matplotlib Axes or "
                                        r"None, got "):
        result.plot(ax=ax)
    with pytest.raises(TypeError, match=r"^plot\.lr_find: result must be an LRFinderResult"):
        tn.plot.lr_find(3)


def test_stacked_plot_and_repr(float64):
    x, y = blobs(64)
    result = lr_find(classifier(n_models=2), x, y, num_steps=12)
    assert isinstance(result.plot(), Figure)
    assert "LRFinderResult" in repr(result)


def test_diverge_factor_none_runs_until_the_loss_is_non_finite(float64):
    """None asks for no growth stop: every step runs while the loss stays finite."""
    model, x, y = regression()
    with np.errstate(all="ignore"):
        result = lr_find(model, x, y, start_lr=1e-4, end_lr=1e-1, num_steps=30,
                         diverge_factor=None)
    assert not result.stopped_early and result.learning_rates.shape == (30,)
    with np.errstate(all="ignore"):
        wild = lr_find(model, x, y, start_lr=1e-4, end_lr=1e6, num_steps=200,
                       diverge_factor=None)
    finite = np.isfinite(wild.smoothed_losses)
    assert wild.stopped_early == (not finite[-1])
    assert np.all(finite[:-1])  # only the step where it went NaN/inf ends it
