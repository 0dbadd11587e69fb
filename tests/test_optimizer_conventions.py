"""convention="keras": several steps against the Keras 3 update rules, written out here.

The rules are those of keras/src/optimizers/{sgd,rmsprop,adagrad,adadelta,adam}.py and the
decoupled weight decay of keras/src/optimizers/base_optimizer.py.
"""

import math

import numpy as np
import pytest
from conftest import apply_steps, blobs

import tinynet as tn
from tinynet import backend as tb
from tinynet import optimizers

G = [np.array([0.5, -1.0, 2.0]), np.array([-0.25, 0.5, 1.0]), np.array([1.0, 1.0, -3.0]),
     np.array([0.3, -0.7, 0.2])]
P0 = np.array([1.0, 2.0, -1.0])


def _run(opt, grads=G, p0=P0):
    return apply_steps(opt, grads, p0)


def _rate_cut(step):
    return 0.1 if step < 2 else 0.01  # the rate changes between update 2 and 3


def _keras_sgd(lrs, mu, nesterov, wd=0.0):
    p, v = P0.copy(), 0.0
    for g, lr in zip(G, lrs):
        p = p - p * wd * lr
        v = mu * v - lr * g
        p = p + (mu * v - lr * g if nesterov else v)
    return p


def _torch_sgd(lrs, mu, nesterov):
    p, b = P0.copy(), None
    for g, lr in zip(G, lrs):
        b = g.copy() if b is None else mu * b + g
        p = p - lr * (g + mu * b if nesterov else b)
    return p


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_keras_equals_pytorch_at_a_fixed_rate(backend, nesterov):
    lrs = [0.1] * len(G)
    keras = _run(optimizers.SGD(0.1, momentum=0.9, nesterov=nesterov, convention="keras"))
    np.testing.assert_allclose(keras, _keras_sgd(lrs, 0.9, nesterov), rtol=1e-13)
    np.testing.assert_allclose(keras, _torch_sgd(lrs, 0.9, nesterov), rtol=1e-13)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_conventions_part_ways_when_the_rate_changes(backend, nesterov):
    lrs = [_rate_cut(t) for t in range(len(G))]
    keras = _run(optimizers.SGD(_rate_cut, momentum=0.9, nesterov=nesterov, convention="keras"))
    torch = _run(optimizers.SGD(_rate_cut, momentum=0.9, nesterov=nesterov))
    np.testing.assert_allclose(keras, _keras_sgd(lrs, 0.9, nesterov), rtol=1e-13)
    np.testing.assert_allclose(torch, _torch_sgd(lrs, 0.9, nesterov), rtol=1e-13)
    assert np.max(np.abs(keras - torch)) > 1e-2  # Keras's v keeps the old steps at lr 0.1


def test_sgd_keras_weight_decay_is_decoupled(backend):
    lrs = [_rate_cut(t) for t in range(len(G))]
    got = _run(optimizers.SGD(_rate_cut, momentum=0.5, weight_decay=0.2, convention="keras"))
    np.testing.assert_allclose(got, _keras_sgd(lrs, 0.5, False, wd=0.2), rtol=1e-13)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_keras(backend, momentum):
    lr, rho, eps = 0.01, 0.9, 1e-4
    p, v, b = P0.copy(), 0.0, 0.0
    for g in G:
        v = rho * v + (1 - rho) * g**2
        increment = lr * g / np.sqrt(v + eps)
        b = momentum * b + increment
        p = p - (b if momentum else increment)
    opt = optimizers.RMSprop(lr, momentum=momentum, epsilon=eps, convention="keras")
    got = _run(opt)
    np.testing.assert_allclose(got, p, rtol=1e-12)
    torch = _run(optimizers.RMSprop(lr, momentum=momentum, epsilon=eps))
    assert np.max(np.abs(got - torch)) > 1e-6  # eps inside vs outside the sqrt


def test_adagrad_keras(backend):
    lr, eps = 0.1, 1e-2
    p, s = P0.copy(), 0.1
    for g in G:
        s = s + g**2
        p = p - lr * g / np.sqrt(s + eps)
    got = _run(optimizers.Adagrad(lr, epsilon=eps, convention="keras"))
    np.testing.assert_allclose(got, p, rtol=1e-12)
    assert np.max(np.abs(got - _run(optimizers.Adagrad(lr, epsilon=eps)))) > 1e-4


def _keras_adadelta(lr, rho, eps, wd=0.0):
    """keras/src/optimizers/adadelta.py, with rms(x) = sqrt(x + eps), and the base
    optimiser's decoupled decay before the update."""
    p, v, u = P0.copy(), 0.0, 0.0
    for g in G:
        p = p - p * wd * lr
        v = rho * v + (1 - rho) * g**2
        delta = np.sqrt(u + eps) * g / np.sqrt(v + eps)
        u = rho * u + (1 - rho) * delta**2
        p = p + lr * -delta
    return p


def test_adadelta_keras(backend):
    lr, rho, eps = 1.0, 0.95, 1e-3
    got = _run(optimizers.Adadelta(lr, rho=rho, epsilon=eps, convention="keras"))
    np.testing.assert_allclose(got - P0, _keras_adadelta(lr, rho, eps) - P0, rtol=1e-12)
    torch = _run(optimizers.Adadelta(lr, rho=rho, epsilon=eps))
    np.testing.assert_allclose(got, torch, rtol=1e-14)  # one rule: eps inside both sqrts


def test_adadelta_keras_weight_decay_is_decoupled(backend):
    got = _run(optimizers.Adadelta(0.5, rho=0.9, epsilon=1e-3, weight_decay=0.2,
                                   convention="keras"))
    np.testing.assert_allclose(got - P0, _keras_adadelta(0.5, 0.9, 1e-3, wd=0.2) - P0,
                               rtol=1e-12)
    l2 = _run(optimizers.Adadelta(0.5, rho=0.9, epsilon=1e-3, weight_decay=0.2))
    assert np.max(np.abs(got - l2)) > 1e-3  # torch's L2 goes through v and u


def _keras_adam(lr, wd=0.0, b1=0.9, b2=0.999, eps=1e-3):
    p, m, v = P0.copy(), 0.0, 0.0
    for t, g in enumerate(G, start=1):
        p = p - p * wd * lr
        m = m + (g - m) * (1 - b1)
        v = v + (g**2 - v) * (1 - b2)
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        p = p - m * alpha / (np.sqrt(v) + eps)
    return p


def test_adam_keras(backend):
    got = _run(optimizers.Adam(0.01, epsilon=1e-3, convention="keras"))
    np.testing.assert_allclose(got, _keras_adam(0.01), rtol=1e-12)
    torch = _run(optimizers.Adam(0.01, epsilon=1e-3))
    assert np.max(np.abs(got - torch)) > 1e-6  # eps on sqrt(v) vs on the corrected sqrt


def test_adam_keras_weight_decay_is_keras_adamw(backend):
    """Keras 3 decays every optimiser's weights decoupled; its AdamW is Adam + that."""
    got = _run(optimizers.Adam(0.01, epsilon=1e-3, weight_decay=0.1, convention="keras"))
    np.testing.assert_allclose(got, _keras_adam(0.01, wd=0.1), rtol=1e-12)
    adamw = _run(optimizers.AdamW(0.01, weight_decay=0.1, epsilon=1e-3, convention="keras"))
    np.testing.assert_allclose(adamw, got, rtol=1e-14)


CASES = [
    lambda rates: optimizers.SGD(rates, momentum=0.9, nesterov=True, convention="keras"),
    lambda rates: optimizers.RMSprop(rates, momentum=0.5, convention="keras"),
    lambda rates: optimizers.Adagrad(rates, weight_decay=0.01, convention="keras"),
    lambda rates: optimizers.Adam(rates, weight_decay=0.01, convention="keras"),
    lambda rates: optimizers.AdamW(rates),
    lambda rates: optimizers.Adadelta(rates, weight_decay=0.01, convention="keras"),
]


@pytest.mark.parametrize("make", CASES)
def test_stacked_copies_equal_single_runs(backend, make):
    rates = [_rate_cut, 0.05, 0.0]
    stacked = _run(make(rates), grads=[np.stack([g, -g, 2 * g]) for g in G],
                   p0=np.stack([P0, P0, P0]))
    for k, (lr, sign) in enumerate(zip(rates, (1, -1, 2))):
        single = _run(make(lr), grads=[sign * g for g in G])
        np.testing.assert_allclose(stacked[k], single, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("make", CASES)
def test_frozen_copies_stay_put(float64, make):
    opt = make([0.1, 0.1])
    opt.frozen = np.array([True, False])
    got = _run(opt, grads=[np.stack([g, g]) for g in G], p0=np.stack([P0, P0]))
    np.testing.assert_array_equal(got[0], P0)
    np.testing.assert_allclose(got[1], _run(make(0.1)), rtol=1e-14)


def _net(seed, n_models=1):
    layers = [tn.layers.Dense(6, activation="relu", input_dim=2),
              tn.layers.Dense(4, activation="softmax")]
    return tn.Sequential(layers, seed=seed, n_models=n_models)


_ADADELTA_RATES = [0.1, 1.0, 3.0]  # its first steps are ~sqrt(eps) * lr: larger rates to move


@pytest.mark.parametrize("make, rates", [
    (CASES[0], [0.003, 0.03, 0.3]), (CASES[3], [0.003, 0.03, 0.3]),
    (lambda r: optimizers.Adadelta(r, weight_decay=0.01), _ADADELTA_RATES),
    (lambda r: optimizers.Adadelta(r, weight_decay=0.01, convention="keras"), _ADADELTA_RATES),
])
def test_stacked_model_training_equals_separate_runs(float64, make, rates):
    x, y = blobs(96)
    stacked = _net(seed=5, n_models=3)
    stacked.compile(make(rates), loss="sparse_categorical_crossentropy")
    h = stacked.fit(x, y, epochs=2, batch_size=32, verbose=0)
    for k, lr in enumerate(rates):
        single = _net(seed=5 + k)  # copy k is the model of seed 5 + k: weights and batch order
        single.compile(make(lr), loss="sparse_categorical_crossentropy")
        hk = single.fit(x, y, epochs=2, batch_size=32, verbose=0)
        np.testing.assert_allclose([e[k] for e in h.history["loss"]], hk.history["loss"],
                                   rtol=1e-10)
        for a, b in zip(stacked.get_weights(), single.get_weights()):
            np.testing.assert_allclose(a[k], b, rtol=1e-10, atol=1e-12)


def test_state_round_trip_keeps_keras_velocity(float64):
    opt = optimizers.SGD(_rate_cut, momentum=0.9, convention="keras")
    p = tb.to_device(P0)
    opt.apply([p], [tb.to_device(G[0])])
    state = opt.get_state()
    assert set(state["slots"][0]) == {"v"}
    twin = optimizers.SGD(_rate_cut, momentum=0.9, convention="keras")
    twin.set_state(state)
    q = tb.to_device(tb.to_numpy(p).copy())
    for g in G[1:]:
        opt.apply([p], [tb.to_device(g)])
        twin.apply([q], [tb.to_device(g)])
    np.testing.assert_array_equal(tb.to_numpy(p), tb.to_numpy(q))
