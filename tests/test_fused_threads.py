"""The stacked fused step split over threads (tinynet/fused_threads.py) gives the unsplit numbers.

Bit for bit in float64: every copy goes through the same calls on the same
slices, split or not, so weights, losses and metrics must be equal, not close.
Speed is not tested here (benchmarks/sweep.py measures it).
"""

import numpy as np
import pytest

import tinynet as tn
from tinynet import fused_threads


@pytest.fixture
def threads():
    """set_threads(n) for the test; the default (follow the load) restored after."""
    yield tn.set_threads
    tn.set_threads(None)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of at least 2 copies, so a stack of a few copies splits."""
    monkeypatch.setattr(fused_threads, "MIN_COPIES", 2)


def _stack(k, seed=0, rates=None, metrics=("accuracy",), widths=(10, 10, 10, 10),
           activation="relu"):
    layers = [tn.layers.Dense(widths[0], activation=activation, input_dim=2)]
    layers += [tn.layers.Dense(w, activation=activation) for w in widths[1:]]
    layers.append(tn.layers.Dense(4, activation="softmax"))
    rates = list(np.geomspace(1e-3, 0.3, k)) if rates is None else rates
    model = tn.Sequential(layers, seed=seed, n_models=k)
    return model.compile(optimizer=tn.optimizers.SGD(rates), loss="categorical_crossentropy",
                         metrics=metrics)


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)), tn.data.one_hot(rng.integers(0, 4, n), 4)


def _fit(model, shuffle=True, epochs=3):
    x, y = _data()
    return model.fit(x, y, epochs=epochs, batch_size=32, shuffle=shuffle, verbose=0)


def test_chunks_cover_every_copy_once_in_order():
    for k, workers, least in [(256, 2, 32), (7, 3, 2), (100, 8, 32), (63, 2, 32), (5, 4, 1)]:
        bounds = fused_threads.chunks(k, workers, least)
        assert bounds[0][0] == 0 and bounds[-1][1] == k
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
        sizes = [k1 - k0 for k0, k1 in bounds]
        assert len(bounds) <= workers and max(sizes) - min(sizes) <= 1
        assert len(bounds) == 1 or min(sizes) >= least


@pytest.mark.parametrize("shuffle,activation", [(True, "relu"), ("shared", "relu"),
                                                (False, "relu"), (True, "tanh"),
                                                (True, "leaky_relu"), (True, "sigmoid")])
def test_split_fit_equals_unsplit_bit_for_bit(float64, threads, small_chunks, shuffle,
                                              activation):
    """Also with activations that keep their output for backward (one copy per chunk)."""
    threads(3)
    split = _stack(8, activation=activation)
    history_split = _fit(split, shuffle)
    assert split.train_function._split is not None  # the split ran
    assert len(split.train_function._split.bounds) == 3
    threads(1)
    whole = _stack(8, activation=activation)
    history_whole = _fit(whole, shuffle)
    assert whole.train_function._split is None
    for a, b in zip(split.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)
    for key in ("loss", "accuracy"):
        np.testing.assert_array_equal(history_split.history[key], history_whole.history[key])


def test_split_stacked_copy_equals_single_model_bit_for_bit(float64, threads, small_chunks):
    threads(2)
    rates = [0.05, 0.1, 0.2, 0.4]
    stack = _stack(4, seed=3, rates=rates)
    _fit(stack)
    assert stack.train_function._split is not None
    weights = stack.get_weights()
    for k, rate in enumerate(rates):
        single = _stack(1, seed=3 + k, rates=rate)
        _fit(single)
        for stacked, alone in zip(weights, single.get_weights()):
            np.testing.assert_array_equal(stacked[k], alone)


def test_split_step_leaves_dl_dtheta_in_grads(float64, threads, small_chunks):
    """After a split step layer.grads is dL/dθ: the plain step's, and the unsplit step's."""
    x, y = _data(32)
    threads(2)
    split = _stack(6)
    split.build(2)
    start = split.get_weights()
    split.train_on_batch(x, y)
    assert split.train_function._split is not None
    threads(1)
    whole, plain = _stack(6), _stack(6)
    for model in (whole, plain):
        model.build(2)
        model.set_weights(start)
    whole.train_on_batch(x, y)
    plain.compile(optimizer=tn.optimizers.SGD(list(np.geomspace(1e-3, 0.3, 6))),
                  loss="categorical_crossentropy", fused=False)
    plain.train_on_batch(x, y)
    for a, b, c in zip(split.layers, whole.layers, plain.layers):
        for key in a.params:
            np.testing.assert_array_equal(a.grads[key], b.grads[key])
            np.testing.assert_allclose(a.grads[key], c.grads[key], rtol=1e-10, atol=1e-12)
            assert a.grads[key].shape == a.params[key].shape


def test_split_chunks_run_under_the_callers_numpy_error_state(threads, small_chunks,
                                                             monkeypatch):
    """fit silences NumPy's overflow warnings in an epoch (np.errstate, a context variable):
    the chunks on other threads must see the same state, not the thread's default."""
    seen = []
    original = fused_threads.SplitStep._chunk

    def spy(self, plan, x, y, loss=True):
        seen.append(np.geterr()["over"])
        return original(self, plan, x, y, loss)

    monkeypatch.setattr(fused_threads.SplitStep, "_chunk", spy)
    threads(3)
    model = _stack(6)
    x, y = _data(32)
    model.build(2)
    with np.errstate(over="ignore"):
        model.train_function(tn.backend.to_device(x), tn.backend.to_device(y))
    assert seen == ["ignore"] * 3


def test_no_split_for_one_thread_few_copies_or_other_heads(threads):
    threads(2)
    few = _stack(fused_threads.MIN_COPIES)  # fewer than two chunks' worth
    _fit(few, epochs=1)
    assert few.train_function._split is None
    layers = [tn.layers.Dense(8, activation="relu", input_dim=2), tn.layers.Dense(4)]
    mse = tn.Sequential(layers, n_models=2 * fused_threads.MIN_COPIES)
    mse.compile(optimizer="sgd", loss="mse")
    x, y = _data()
    mse.fit(x, y, epochs=1, verbose=0)
    assert mse.train_function._split is None
    threads(1)
    many = _stack(2 * fused_threads.MIN_COPIES)
    _fit(many, epochs=1)
    assert many.train_function._split is None


def test_split_runs_in_a_forked_child(threads, small_chunks):
    """A child forked after the pool was made has none of its threads: it makes its own."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    threads(2)
    model = _stack(4)
    _fit(model, epochs=1)  # the pool exists now
    assert model.train_function._split is not None
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        loss = pool.apply_async(_fit_loss_in_child).get(timeout=60)
    assert np.all(np.isfinite(loss))


def _fit_loss_in_child():
    tn.set_threads(2)
    fused_threads.MIN_COPIES = 2
    return _fit(_stack(4), epochs=1).history["loss"]
