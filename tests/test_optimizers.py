"""Optimisers: several steps against the PyTorch update rules, written out here."""

import math

import numpy as np
import pytest
from conftest import apply_steps

from tinynet import backend as tb
from tinynet import optimizers, schedules

G = [np.array([0.5, -1.0, 2.0]), np.array([-0.25, 0.5, 1.0]), np.array([1.0, 1.0, -3.0])]
P0 = np.array([1.0, 2.0, -1.0])


def _run(opt, grads=G, p0=P0):
    return apply_steps(opt, grads, p0)


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


def test_adadelta(backend):
    """torch.optim.Adadelta at torch's defaults (lr 1, rho 0.9, eps 1e-6)."""
    lr, rho, eps = 1.0, 0.9, 1e-6
    p, v, u = P0.copy(), 0.0, 0.0
    for g in G:
        v = rho * v + (1 - rho) * g**2
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta**2
        p = p - lr * delta
    got = _run(optimizers.Adadelta(lr, rho=rho, epsilon=eps))
    np.testing.assert_allclose(got - P0, p - P0, rtol=1e-12)  # the steps, not just p


def test_adadelta_first_step_by_hand(float64):
    """One update from v = u = 0: delta = sqrt(eps) / sqrt((1 - rho) g^2 + eps) * g."""
    # g = 2, rho = 0.5, eps = 0.01: v = 0.5 * 4 = 2, delta = 0.1 / sqrt(2.01) * 2
    got = _run(optimizers.Adadelta(0.5, rho=0.5, epsilon=0.01), grads=[np.array([2.0])],
               p0=np.array([1.0]))
    np.testing.assert_allclose(got, [1.0 - 0.5 * 0.2 / math.sqrt(2.01)], rtol=1e-15)


def test_defaults_follow_the_contract():
    assert optimizers.SGD().learning_rate == 0.01
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (1e-3, 0.9, 0.999, 1e-7)
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon) == (1e-3, 0.9, 0.0, 1e-7)
    ada = optimizers.Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value) == (1e-3, 0.1)
    delta = optimizers.Adadelta()  # Keras's defaults, as the others; torch's are 1.0, 0.9, 1e-6
    assert (delta.learning_rate, delta.rho, delta.epsilon) == (1e-3, 0.95, 1e-7)
    assert isinstance(optimizers.get("adadelta"), optimizers.Adadelta)
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


# --- weight decay: L2 into the gradient, as torch.optim ------------------------------
WD = 0.05


def _l2(g, p):
    return g + WD * p  # torch.optim: g <- g + weight_decay * p, before everything else


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_weight_decay_is_l2_in_the_gradient(backend, momentum):
    lr, p, b = 0.1, P0.copy(), None
    for g in G:
        g = _l2(g, p)
        if momentum:
            b = g.copy() if b is None else momentum * b + g
            g = b
        p = p - lr * g
    got = _run(optimizers.SGD(lr, momentum=momentum, weight_decay=WD))
    np.testing.assert_allclose(got, p, rtol=1e-13)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_weight_decay(backend, momentum):
    lr, rho, eps = 0.01, 0.9, 1e-7
    p, v, b = P0.copy(), 0.0, 0.0
    for g in G:
        g = _l2(g, p)
        v = rho * v + (1 - rho) * g**2
        step = g / (np.sqrt(v) + eps)
        b = momentum * b + step
        p = p - lr * (b if momentum else step)
    got = _run(optimizers.RMSprop(lr, momentum=momentum, weight_decay=WD))
    np.testing.assert_allclose(got, p, rtol=1e-12)


def test_adagrad_weight_decay(backend):
    lr, eps = 0.1, 1e-7
    p, s = P0.copy(), 0.1
    for g in G:
        g = _l2(g, p)
        s = s + g**2
        p = p - lr * g / (np.sqrt(s) + eps)
    np.testing.assert_allclose(_run(optimizers.Adagrad(lr, weight_decay=WD)), p, rtol=1e-12)


def test_adadelta_weight_decay(backend):
    lr, rho, eps = 1.0, 0.9, 1e-6
    p, v, u = P0.copy(), 0.0, 0.0
    for g in G:
        g = _l2(g, p)
        v = rho * v + (1 - rho) * g**2
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta**2
        p = p - lr * delta
    got = _run(optimizers.Adadelta(lr, rho=rho, epsilon=eps, weight_decay=WD))
    np.testing.assert_allclose(got - P0, p - P0, rtol=1e-12)


def _adam(lr, wd=0.0, decoupled=False, b1=0.9, b2=0.999, eps=1e-7, grads=G):
    """torch.optim.Adam (wd as L2) or torch.optim.AdamW (decoupled), written out."""
    p, m, v = P0.copy(), 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr / (1 - b1**t) * m / (np.sqrt(v) / math.sqrt(1 - b2**t) + eps)
    return p


def test_adam_weight_decay_is_l2(backend):
    got = _run(optimizers.Adam(0.01, weight_decay=WD))
    np.testing.assert_allclose(got, _adam(0.01, WD), rtol=1e-12)


def test_adamw_decays_the_weights_apart_from_adam(backend):
    got = _run(optimizers.AdamW(0.01, weight_decay=WD))
    np.testing.assert_allclose(got, _adam(0.01, WD, decoupled=True), rtol=1e-12)
    l2 = _run(optimizers.Adam(0.01, weight_decay=WD))
    assert np.max(np.abs(got - l2)) > 1e-4  # decoupled is not Adam + L2
    np.testing.assert_allclose(_run(optimizers.AdamW(0.01, weight_decay=0.0)),
                               _run(optimizers.Adam(0.01)), rtol=1e-14)


def test_adamw_defaults_and_name():
    opt = optimizers.get("adamw")
    assert isinstance(opt, optimizers.AdamW) and isinstance(opt, optimizers.Adam)
    assert (opt.learning_rate, opt.weight_decay, opt.beta_1, opt.beta_2, opt.epsilon) == (
        1e-3, 1e-2, 0.9, 0.999, 1e-7)
    assert opt.convention == "pytorch" and optimizers.AdamW(lr=0.5).learning_rate == 0.5
    for cls in (optimizers.SGD, optimizers.RMSprop, optimizers.Adagrad, optimizers.Adam):
        assert cls().weight_decay == 0.0 and cls().convention == "pytorch"


def test_lr_times_weight_decay_is_the_decay_per_step(float64):
    """With zero gradients only the decay acts: p_n = p_0 (1 - lr wd)^n."""
    zeros = [np.zeros(3)] * 5
    for opt in (optimizers.SGD(0.1, weight_decay=0.2), optimizers.AdamW(0.1, weight_decay=0.2)):
        np.testing.assert_allclose(_run(opt, grads=zeros), P0 * (1 - 0.02) ** 5, rtol=1e-14)


def test_weight_decay_on_stacked_and_frozen_copies(float64):
    rates = [0.1, 0.0, 0.01]
    opt = optimizers.AdamW(rates, weight_decay=WD)
    opt.frozen = np.array([False, False, True])
    p0 = np.stack([P0, P0, P0])
    got = _run(opt, grads=[np.stack([g, g, g]) for g in G], p0=p0)
    np.testing.assert_allclose(got[0], _adam(0.1, WD, decoupled=True), rtol=1e-12)
    np.testing.assert_array_equal(got[1], P0)  # rate 0: no step and no decay
    np.testing.assert_array_equal(got[2], P0)  # frozen: untouched
    single = _run(optimizers.SGD(0.1, momentum=0.9, weight_decay=WD))
    stacked = _run(optimizers.SGD([0.1, 0.1], momentum=0.9, weight_decay=WD),
                   grads=[np.stack([g, g]) for g in G], p0=np.stack([P0, P0]))
    np.testing.assert_allclose(stacked, [single, single], rtol=1e-14)


def test_model_training_applies_weight_decay(float64):
    """One train_on_batch: SGD with weight decay = SGD without, minus lr * wd * w."""
    import tinynet as tn

    x = np.random.default_rng(0).normal(size=(16, 3))
    y = np.arange(16) % 2
    models = []
    for wd in (0.0, 0.5):
        model = tn.Sequential([tn.layers.Dense(4, activation="tanh", input_dim=3),
                               tn.layers.Dense(2, activation="softmax")], seed=1)
        model.compile(optimizers.SGD(0.1, weight_decay=wd), loss="sparse_categorical_crossentropy")
        models.append(model)
    w0 = models[0].get_weights()
    for model in models:
        model.train_on_batch(x, y)
    for w, plain, decayed in zip(w0, models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(decayed, plain - 0.1 * 0.5 * w, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make", [
    lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-4,
                           convention="keras"),
    lambda: optimizers.RMSprop(0.01, momentum=0.5, weight_decay=1e-3),
    lambda: optimizers.Adagrad(0.1, epsilon=1e-6, convention="keras"),
    lambda: optimizers.AdamW(0.01, weight_decay=0.1, beta_1=0.8, convention="keras"),
    lambda: optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-6, weight_decay=1e-3),
])
def test_config_round_trips(make):
    opt = make()
    again = optimizers.get(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    assert {"weight_decay", "convention"} <= set(opt.get_config())


def test_save_and_load_keep_the_new_hyper_parameters(tmp_path):
    import tinynet as tn

    model = tn.Sequential([tn.layers.Dense(2, input_dim=3)], seed=0)
    model.compile(optimizers.AdamW(0.01, weight_decay=0.2, convention="keras"), loss="mse")
    model.save(tmp_path / "m.npz")
    loaded = tn.load_model(tmp_path / "m.npz").optimizer
    assert isinstance(loaded, optimizers.AdamW)
    assert (loaded.weight_decay, loaded.convention) == (0.2, "keras")


# --- PyTorch habits and other mistakes get a clear message ------------------------------
def test_parameters_are_refused(float64):
    import tinynet as tn

    model = tn.Sequential([tn.layers.Dense(2, input_dim=3)], seed=0)
    params = model.params
    calls = [lambda: optimizers.SGD(params, lr=0.1), lambda: optimizers.Adam(params),
             lambda: optimizers.SGD(tuple(params)), lambda: optimizers.AdamW(params=params),
             lambda: optimizers.SGD([{"params": params, "lr": 0.1}], lr=0.1),
             lambda: optimizers.SGD([np.zeros(3)], lr=0.1)]
    for call in calls:
        with pytest.raises(TypeError, match="do not take parameters: compile"):
            call()
    with pytest.raises(TypeError, match="do not take parameters"):
        optimizers.SGD(iter(params))


def test_torch_argument_names_point_to_ours():
    with pytest.raises(TypeError, match="beta_1=0.9, beta_2=0.999"):
        optimizers.Adam(betas=(0.9, 0.999))
    with pytest.raises(TypeError, match="beta_1"):
        optimizers.AdamW(1e-3, betas=(0.9, 0.99))
    with pytest.raises(TypeError, match="calls it epsilon"):
        optimizers.RMSprop(eps=1e-8)
    with pytest.raises(TypeError, match="rho"):
        optimizers.RMSprop(alpha=0.99)
    with pytest.raises(TypeError, match="Adam has no momentum.*beta_1"):
        optimizers.Adam(momentum=0.9)
    with pytest.raises(TypeError, match="InverseTimeDecay"):
        optimizers.Adagrad(0.1, lr_decay=0.01)
    with pytest.raises(TypeError, match="unexpected keyword argument 'amsgrad'"):
        optimizers.Adam(amsgrad=True)


def test_nested_rate_lists_are_refused():
    for rates in ([[0.1, 0.2]], [0.1, [0.2]], ((0.1,), (0.2,)), np.array([[0.1, 0.2]])):
        with pytest.raises(TypeError, match="must be flat, one float or schedule per stacked"):
            optimizers.SGD(rates)


def test_array_rates_are_flat_floats():
    assert optimizers.SGD(np.array([0.1, 0.2])).learning_rate == [0.1, 0.2]
    assert optimizers.SGD(np.array(0.3)).learning_rate == 0.3  # 0-d: one rate, not K = 1
    assert optimizers.SGD(np.array(0.3)).n_rates is None


def test_schedules_must_return_one_number(float64):
    def as_text(step):
        return "0.1"

    def per_copy(step):
        return np.array([0.1, 0.2])

    with pytest.raises(TypeError, match=r"as_text.*returned '0.1' \(str\) at step 0"):
        _run(optimizers.SGD([0.1, as_text]), grads=[np.ones((2, 3))], p0=np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"per_copy.*array of shape \(2,\).*list with one sch"):
        _run(optimizers.SGD(per_copy))
    assert _run(optimizers.SGD(lambda step: np.float32(0.5)), grads=[np.ones(3)],
                p0=np.zeros(3)).tolist() == [-0.5, -0.5, -0.5]
    assert _run(optimizers.SGD(lambda step: np.array(0.5)), grads=[np.ones(3)],
                p0=np.zeros(3)).tolist() == [-0.5, -0.5, -0.5]


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW"])
def test_epsilon_must_be_positive(name):
    cls = getattr(optimizers, name)
    for eps in (0.0, -1e-8):
        with pytest.raises(ValueError, match="epsilon must be > 0.*0/0 = NaN"):
            cls(epsilon=eps)


def test_zero_gradients_stay_finite(float64):
    for opt in (optimizers.RMSprop(0.1), optimizers.Adam(0.1), optimizers.Adagrad(0.1, 0.0),
                optimizers.Adam(0.1, epsilon=1e-7, convention="keras"),
                optimizers.Adadelta(1.0), optimizers.Adadelta(1.0, convention="keras")):
        assert np.array_equal(_run(opt, grads=[np.zeros(3)] * 2), P0)


def test_bad_weight_decay_and_convention():
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.SGD(weight_decay=-1e-4)
    with pytest.raises(ValueError, match="convention.*pytorch, keras"):
        optimizers.Adam(convention="tensorflow")


def test_rmsprop_keras_momentum_applies_each_rate_before_the_buffer(float64):
    """Keras: b <- mu b + lr_t g / sqrt(v + eps), p <- p - b. Past increments keep the
    rates they were taken at, so the order only shows when the rate changes."""
    rates = [0.1, 0.02, 0.3]
    opt = optimizers.RMSprop(lambda step: rates[step], rho=0.9, momentum=0.5, epsilon=1e-7,
                             convention="keras")
    got = _run(opt)
    p, v, b = P0.copy(), np.zeros(3), np.zeros(3)
    for lr, g in zip(rates, G):
        v = 0.9 * v + 0.1 * g * g
        b = 0.5 * b + lr * g / np.sqrt(v + 1e-7)
        p = p - b
    np.testing.assert_allclose(got, p, rtol=1e-12)


def test_per_copy_rates_follow_every_change(float64):
    """K = 2 rates: a new learning_rate, or a new lr_scale, applies at the next update
    (the per-copy rate array built for the parameters must not be a stale one)."""
    opt = optimizers.SGD([0.1, 0.2])
    p = tb.to_device(np.ones((2, 3)))
    g = tb.to_device(np.ones((2, 3)))
    expected = np.ones((2, 3))
    for change in (None, {"lr_scale": np.array([1.0, 0.5])}, {"learning_rate": [0.3, 0.05]},
                   {"lr_scale": 2.0}):
        if change:
            for name, value in change.items():
                setattr(opt, name, value)
        lr = np.broadcast_to(np.asarray(opt.current_learning_rate), (2,))
        opt.apply([p], [g])
        expected = expected - lr[:, None]
        np.testing.assert_allclose(tb.to_numpy(p), expected, rtol=1e-12)


def test_a_tinynet_schedule_is_checked_once_per_update(monkeypatch):
    # the schedule checks its own value (Schedule.__call__); the optimiser does not
    # check it again (issue 19: the rate was checked twice per step). A user's plain
    # function is still checked, once, by the optimiser.
    from tinynet import _checks

    calls = []
    real = _checks.rate_value

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(_checks, "rate_value", counting)
    opt = optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.5))
    p, g = np.ones(3), np.ones(3)
    opt.apply([p], [g])
    assert len(calls) == 1
    calls.clear()
    opt = optimizers.SGD(lambda step: 0.1 / (1 + step))
    opt.apply([p], [g])
    assert len(calls) == 1


@pytest.mark.parametrize("make", [
    lambda: optimizers.SGD([0.1, 0.3]),
    lambda: optimizers.SGD([0.1, 0.3], weight_decay=0.01, convention="keras"),
    lambda: optimizers.SGD([0.1, 0.3], weight_decay=0.01, convention="pytorch"),
    lambda: optimizers.SGD(schedules.ExponentialDecay(0.2, 1, 0.5)),
])
def test_a_stateless_rule_updates_a_concatenation_as_each_of_its_parts(float64, make):
    """stateless: updating [W, b] as one flat array gives W's and b's updates bit for bit
    (per-copy rates, weight decay in both forms, a frozen copy, a schedule)."""
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4))]
    grads = [rng.normal(size=p.shape) for p in parts]
    apart, whole = make(), make()
    assert apart.stateless and whole.stateless
    for opt in (apart, whole):
        opt.frozen = np.array([False, True])

    def flat(arrays):
        return np.concatenate([a.reshape(2, -1) for a in arrays], axis=1)

    ps, p_flat, g_flat = [p.copy() for p in parts], flat(parts), flat(grads)
    for _ in range(3):
        apart.apply(ps, grads)
        whole.apply([p_flat], [g_flat])
    np.testing.assert_array_equal(p_flat, flat(ps))
    np.testing.assert_array_equal(ps[0][1], parts[0][1])  # the frozen copy


def test_only_sgd_without_momentum_is_stateless():
    assert optimizers.SGD(0.1).stateless
    assert not optimizers.SGD(0.1, momentum=0.9).stateless
    for make in (optimizers.Adam, optimizers.AdamW, optimizers.RMSprop, optimizers.Adagrad,
                 optimizers.Adadelta):
        assert not make(0.1).stateless


def test_apply_refuses_other_parameters_once_its_slots_hold_state(float64):
    opt = optimizers.SGD(0.1, momentum=0.9)
    opt.apply([np.zeros(3), np.zeros(2)], [np.ones(3), np.ones(2)])
    with pytest.raises(ValueError, match="state is for 2 parameters, got 1"):
        opt.apply([np.zeros(5)], [np.ones(5)])
    plain = optimizers.SGD(0.1)  # no state: the slots are made again for the new list
    plain.apply([np.zeros(3), np.zeros(2)], [np.ones(3), np.ones(2)])
    p = np.zeros(5)
    plain.apply([p], [np.ones(5)])
    np.testing.assert_array_equal(p, -0.1)


# --- Adadelta as a whole: stacked, state, files, sweeps, bad arguments ---------------------
def _adadelta_net(seed, n_models=1):
    import tinynet as tn

    layers = [tn.layers.Dense(6, activation="tanh", input_dim=2),
              tn.layers.Dense(4, activation="softmax")]
    return tn.Sequential(layers, seed=seed, n_models=n_models)


def test_adadelta_state_round_trips_bit_for_bit(float64):
    opt = optimizers.Adadelta([0.5, 2.0], rho=0.8, epsilon=1e-4)
    p = tb.to_device(np.stack([P0, -P0]))
    for g in G[:2]:
        opt.apply([p], [tb.to_device(np.stack([g, 2 * g]))])
    state = opt.get_state()
    assert set(state["slots"][0]) == {"v", "u"} and state["iterations"] == 2
    twin = optimizers.Adadelta([0.5, 2.0], rho=0.8, epsilon=1e-4)
    twin.set_state(state)
    for name, value in twin.get_state()["slots"][0].items():
        np.testing.assert_array_equal(value, state["slots"][0][name])
    q = tb.to_device(tb.to_numpy(p).copy())
    for g in G[2:] * 3:
        opt.apply([p], [tb.to_device(np.stack([g, -g]))])
        twin.apply([q], [tb.to_device(np.stack([g, -g]))])
    np.testing.assert_array_equal(tb.to_numpy(p), tb.to_numpy(q))


def test_adadelta_model_saves_loads_and_resumes(tmp_path, float64):
    from conftest import blobs

    import tinynet as tn

    x, y = blobs(64)
    model = _adadelta_net(seed=2)
    model.compile(optimizers.Adadelta(0.5, rho=0.8, epsilon=1e-5, weight_decay=0.01,
                                      convention="keras"), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = tn.load_model(tmp_path / "m.npz")
    assert isinstance(loaded.optimizer, optimizers.Adadelta)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 4
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    for _ in range(3):  # the slots came back too: the next updates are the same
        model.train_on_batch(x[:16], y[:16])
        loaded.train_on_batch(x[:16], y[:16])
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    by_name = _adadelta_net(seed=2)
    by_name.compile(optimizer="adadelta", loss="sparse_categorical_crossentropy")
    by_name.save(tmp_path / "n.npz")
    assert repr(tn.load_model(tmp_path / "n.npz").optimizer) == repr(by_name.optimizer)


def test_sweep_takes_adadelta_by_name(float64):
    from conftest import blobs

    import tinynet as tn

    x, y = blobs(64)
    result = tn.sweep(lambda: [tn.layers.Dense(4, activation="softmax", input_dim=2)], x, y,
                      learning_rates=[0.1, 1.0], optimizer="adadelta",
                      optimizer_kwargs={"rho": 0.9}, loss="sparse_categorical_crossentropy",
                      epochs=2, verbose=0)
    loss = result.history["loss"]
    assert loss.shape == (2, 2, 1) and np.all(np.isfinite(loss))
    assert loss[-1, 1, 0] < loss[-1, 0, 0]  # the same steps delta, ten times larger


@pytest.mark.parametrize("kwargs, error, match", [
    ({"rho": 1.5}, ValueError, r"Adadelta: rho must be in \[0.0, 1.0\], got 1.5"),
    ({"rho": "0.9"}, TypeError, "Adadelta: rho must be a real number"),
    ({"epsilon": 0.0}, ValueError, "Adadelta: epsilon must be > 0"),
    ({"learning_rate": -1.0}, ValueError, "Adadelta: learning_rate must be a finite number"),
    ({"weight_decay": -0.1}, ValueError, "Adadelta: weight_decay"),
    ({"convention": "torch"}, ValueError, "convention.*pytorch, keras"),
    ({"eps": 1e-6}, TypeError, "Adadelta: eps= is not an argument here.*epsilon"),
    ({"momentum": 0.9}, TypeError, "Adadelta has no momentum"),
    ({"foreach": True}, TypeError, "unexpected keyword argument 'foreach'"),
])
def test_adadelta_bad_arguments_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        optimizers.Adadelta(**kwargs)
