"""Optimisers: several steps against the PyTorch update rules, written out here."""

import math

import numpy as np
import pytest

from tinynet import backend as tb
from tinynet import optimizers

G = [np.array([0.5, -1.0, 2.0]), np.array([-0.25, 0.5, 1.0]), np.array([1.0, 1.0, -3.0])]
P0 = np.array([1.0, 2.0, -1.0])


def _run(opt, grads=G, p0=P0):
    p = tb.to_device(p0)
    for g in grads:
        opt.apply([p], [tb.to_device(g)])
    return tb.to_numpy(p)


def test_sgd_plain(backend):
    expected = P0 - 0.1 * sum(G)
    np.testing.assert_allclose(_run(optimizers.SGD(0.1)), expected, rtol=1e-14)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(backend, nesterov):
    mu, lr, p, b = 0.9, 0.1, P0.copy(), None
    for g in G:
        b = g.copy() if b is None else mu * b + g
        d = g + mu * b if nesterov else b
        p = p - lr * d
    got = _run(optimizers.SGD(lr, momentum=mu, nesterov=nesterov))
    np.testing.assert_allclose(got, p, rtol=1e-14)


def test_adam(backend):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    p, m, v = P0.copy(), 0.0, 0.0
    for t, g in enumerate(G, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr / (1 - b1**t) * m / (np.sqrt(v) / math.sqrt(1 - b2**t) + eps)
    np.testing.assert_allclose(_run(optimizers.Adam(lr)), p, rtol=1e-12)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop(backend, momentum):
    lr, rho, eps = 0.01, 0.9, 1e-7
    p, v, b = P0.copy(), 0.0, 0.0
    for g in G:
        v = rho * v + (1 - rho) * g**2
        step = g / (np.sqrt(v) + eps)
        b = momentum * b + step
        p = p - lr * (b if momentum else step)
    got = _run(optimizers.RMSprop(lr, momentum=momentum))
    np.testing.assert_allclose(got, p, rtol=1e-12)


def test_adagrad(backend):
    lr, eps = 0.1, 1e-7
    p, s = P0.copy(), 0.1
    for g in G:
        s = s + g**2
        p = p - lr * g / (np.sqrt(s) + eps)
    np.testing.assert_allclose(_run(optimizers.Adagrad(lr)), p, rtol=1e-12)


def test_defaults_follow_the_contract():
    assert optimizers.SGD().learning_rate == 0.01
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (1e-3, 0.9, 0.999, 1e-7)
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon) == (1e-3, 0.9, 0.0, 1e-7)
    ada = optimizers.Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value) == (1e-3, 0.1)
    assert optimizers.SGD(lr=0.5).learning_rate == 0.5


def test_schedule_is_called_with_the_update_count(float64):
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1 / (1 + step)

    opt = optimizers.SGD(schedule)
    got = _run(opt)
    expected = P0 - sum(0.1 / (1 + t) * g for t, g in enumerate(G))
    np.testing.assert_allclose(got, expected)
    assert seen[:3] == [0, 1, 2] and opt.iterations == 3
    assert opt.current_learning_rate == pytest.approx(0.1 / 4)


def test_one_rate_per_stacked_copy(backend):
    rates = [0.1, 0.0, 1.0]
    p0 = np.stack([P0, P0, P0])
    got = _run(optimizers.SGD(rates), grads=[np.stack([g, g, g]) for g in G], p0=p0)
    for k, lr in enumerate(rates):
        np.testing.assert_allclose(got[k], P0 - lr * sum(G), rtol=1e-14)


def test_frozen_copies_are_not_updated_even_by_nan(float64):
    opt = optimizers.Adam(0.1)
    opt.frozen = np.array([False, True])
    p = tb.to_device(np.zeros((2, 3)))
    opt.apply([p], [tb.to_device(np.array([[1.0, 1.0, 1.0], [np.nan, 1.0, 1.0]]))])
    host = tb.to_numpy(p)
    assert np.all(host[1] == 0.0) and np.all(host[0] < 0)


def test_bad_rates():
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.SGD(-0.1)
    with pytest.raises(TypeError, match="learning_rate"):
        optimizers.SGD("fast")
    with pytest.raises(ValueError, match="nesterov"):
        optimizers.SGD(0.1, nesterov=True)
    with pytest.raises(ValueError, match="returned -1"):
        _run(optimizers.SGD(lambda step: -1.0))
    with pytest.raises(ValueError, match="adam, adamw"):
        optimizers.get("lbfgs")
