"""The fused step (tinynet.fused) gives the plain Sequential.train_step's numbers.

compile(fused=True) makes model.train_function the fused step, compile(fused=False)
the plain one; both train from the same weights on the same batches, and the
losses, metrics, rates and weights must agree: to rounding in float64, to a
float32 tolerance in float32, for every loss, optimiser, stack and dtype.
"""

import copy
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet as tn
from tinynet import fused
from tinynet.layers import Dense, ReLU, Softmax

LOSSES = ["categorical", "categorical_exact", "sparse_exact", "categorical_logits",
          "softmax_logits", "sparse", "binary", "mse"]
OPTIMIZERS = {
    "sgd": lambda lr: tn.optimizers.SGD(lr),
    "momentum": lambda lr: tn.optimizers.SGD(lr, momentum=0.9),
    "nesterov": lambda lr: tn.optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda lr: tn.optimizers.RMSprop(lr),
    "adagrad": lambda lr: tn.optimizers.Adagrad(lr),
    "adam": lambda lr: tn.optimizers.Adam(lr),
    "adadelta": lambda lr: tn.optimizers.Adadelta(lr),  # not stateless: the general path
}
TOLERANCE = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-4, atol=1e-5)}


def _problem(loss, n=16, seed=0):
    """(layers factory, loss object, x, y): a tiny net whose head fits the loss."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * 2.0
    labels = rng.integers(0, 4, n)
    head, out = {
        "categorical": (lambda: [Dense(4, "softmax")], tn.losses.CategoricalCrossentropy()),
        "categorical_exact": (lambda: [Dense(4, "softmax")],
                              tn.losses.CategoricalCrossentropy(probabilities="exact")),
        "sparse_exact": (lambda: [Dense(4), Softmax()],
                         tn.losses.SparseCategoricalCrossentropy(probabilities="exact")),
        "categorical_logits": (lambda: [Dense(4)],
                               tn.losses.CategoricalCrossentropy(from_logits=True)),
        "softmax_logits": (lambda: [Dense(4, "softmax")],  # from_logits: no shortcut
                           tn.losses.CategoricalCrossentropy(from_logits=True)),
        "sparse": (lambda: [Dense(4), Softmax()], tn.losses.SparseCategoricalCrossentropy()),
        "binary": (lambda: [Dense(2, "sigmoid")], tn.losses.BinaryCrossentropy()),
        "mse": (lambda: [Dense(2, "tanh")], tn.losses.MeanSquaredError()),
    }[loss]
    one_hot = tn.data.one_hot(labels, 4)
    y = {"categorical": one_hot, "categorical_exact": one_hot, "categorical_logits": one_hot,
         "softmax_logits": one_hot, "sparse": labels, "sparse_exact": labels,
         "binary": (rng.random((n, 2)) > 0.5).astype(float), "mse": rng.normal(size=(n, 2))}[loss]

    def layers():  # a Dense with its own ReLU, a linear Dense then a ReLU layer, the head
        return [Dense(6, "relu", input_dim=3), Dense(5), ReLU(), *head()]

    return layers, out, x, y


def _pair(loss, optimizer, n_models):
    """Two equal models, compiled fused and plain; x and y on the device."""
    layers, loss_obj, x, y = _problem(loss)
    rates = [0.03, 0.1, 0.3][:n_models] if n_models > 1 else 0.3
    models = []
    for use_fused in (True, False):
        model = tn.Sequential(layers(), seed=3, n_models=n_models)
        with warnings.catch_warnings():  # softmax_logits: the warning is the point
            warnings.simplefilter("ignore", UserWarning)
            model.compile(OPTIMIZERS[optimizer](rates), loss=copy.deepcopy(loss_obj),
                          fused=use_fused)
        models.append(model)
    xd, yd = models[0].check_data(x, y, "test")
    return models, tn.backend.to_device(xd), tn.backend.to_device(yd)


def _assert_same_training(fast, plain, x, y, tol, steps=4, resync=False):
    """Both steps, ``steps`` times, agree in loss, metrics, rate, grads and weights.

    resync=True starts every fused step from the plain model's weights and
    optimiser state, so each step is compared from the same point. float32 needs
    it: where the training map itself amplifies differences (RMSprop at lr 0.3
    moves every weight by about lr / sqrt(1 - rho) = 0.95 per step), one float32
    rounding (6e-8) grows about tenfold per step, between two plain models as
    between fused and plain, and no tolerance on a 4-step trajectory is honest.
    """
    assert isinstance(fast.train_function, fused.FusedStep)
    assert plain.train_function == plain.train_step
    start = plain.optimizer.iterations
    for _ in range(steps):
        if resync:
            fast.set_weights(plain.get_weights())
            fast.optimizer.set_state(plain.optimizer.get_state())
        loss_f, values_f, lr_f = fast.train_function(x, y)
        loss_p, values_p, lr_p = plain.train_function(x, y)
        np.testing.assert_allclose(tn.backend.to_numpy(loss_f), tn.backend.to_numpy(loss_p),
                                   **tol)
        for a, b in zip(values_f, values_p, strict=True):
            np.testing.assert_allclose(tn.backend.to_numpy(a), tn.backend.to_numpy(b), **tol)
        np.testing.assert_array_equal(lr_f, lr_p)
        for a, b in zip(fast.grads(), plain.grads(), strict=True):  # dL/dθ on both paths
            np.testing.assert_allclose(tn.backend.to_numpy(a), tn.backend.to_numpy(b), **tol)
    for a, b in zip(fast.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, **tol)
    assert fast.optimizer.iterations == plain.optimizer.iterations == start + steps


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", LOSSES)
def test_fused_step_equals_the_plain_step(loss, optimizer, n_models, dtype):
    tn.set_dtype(dtype)
    (fast, plain), x, y = _pair(loss, optimizer, n_models)
    _assert_same_training(fast, plain, x, y, TOLERANCE[dtype], resync=dtype == "float32")


def test_a_float32_trajectory_at_rmsprop_rate_0_3_amplifies_one_rounding():
    """Why float32 compares step by step: two plain models one ulp apart drift apart.

    (The case that failed before: softmax_logits, RMSprop, rates 0.03 / 0.1 / 0.3.)
    """
    tn.set_dtype("float32")
    (_, plain), x, y = _pair("softmax_logits", "rmsprop", 3)
    nudged = copy.deepcopy(plain)
    nudged.set_weights([np.nextafter(w.astype(np.float32), np.float32(np.inf))
                        for w in plain.get_weights()])
    for _ in range(4):
        plain.train_function(x, y)
        nudged.train_function(x, y)
    drift = [np.abs(a - b).max(axis=tuple(range(1, a.ndim)))
             for a, b in zip(plain.get_weights(), nudged.get_weights())]
    assert max(d[2] for d in drift) > 10 * TOLERANCE["float32"]["atol"]  # lr 0.3: far apart
    assert max(d[0] for d in drift) < TOLERANCE["float32"]["atol"]  # lr 0.03: still together


def _loss_and_grads(model, x, y):
    """float64 central finite differences of the mean loss in every parameter."""
    params = [p for layer in model.layers for p in layer.params.values()]
    h, grads = 1e-6, []

    def loss_at():
        return float(np.sum(tn.backend.to_numpy(model.loss.value(y, model.forward(x)))))

    for p in params:
        g = np.zeros(p.shape)
        for i in np.ndindex(*p.shape):
            keep = float(p[i])
            p[i] = keep + h
            up = loss_at()
            p[i] = keep - h
            down = loss_at()
            p[i] = keep
            g[i] = (up - down) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", LOSSES)
def test_after_a_step_layer_grads_hold_dl_dtheta_on_both_paths(float64, loss, optimizer):
    """Fused or plain, every optimiser: grads are the gradient of the batch's loss
    at the weights before the update (not lr * g), held against finite differences."""
    (fast, plain), x, y = _pair(loss, optimizer, 1)
    want = _loss_and_grads(plain, x, y)
    for model in (fast, plain):
        model.train_function(x, y)
        got = [tn.backend.to_numpy(g) for g in model.grads()]
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_a_plain_step_between_fused_ones_leaves_the_fused_grads_in_place(float64):
    """The plain step replaces every layer's grads with arrays of its own; the next
    fused step points them at its buffer again, holding that batch's gradient."""
    (fast, plain), x, y = _pair(LOSSES[0], "sgd", 1)
    fast.train_function(x, y)
    fast.train_step(x, y)  # the plain step on the fused model: grads are its own arrays
    plain.set_weights(fast.get_weights())
    want = _loss_and_grads(plain, x[::-1], y[::-1])
    fast.train_function(x[::-1], y[::-1])
    flat = fast.train_function.flat
    for g, w in zip(fast.grads(), want, strict=True):
        assert np.shares_memory(g, flat.grads)
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


def _head_net(n_models=1, head="dense"):
    L = tn.layers
    layers = [L.Dense(6, "relu", input_dim=3), L.Dense(5, "relu")]
    layers += [L.Dense(4, "softmax")] if head == "dense" else [L.Dense(4), L.Softmax()]
    return tn.Sequential(layers, seed=3, n_models=n_models)


@pytest.mark.parametrize("head", ["dense", "layer"])
@pytest.mark.parametrize("n_models", [1, 3])
def test_softmax_head_equals_the_plain_step_on_every_backend(backend, n_models, head):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)) * 4.0
    y = tn.data.one_hot(rng.integers(0, 4, 16), 4)
    rates = [0.3, 3.0, 30.0][:n_models] if n_models > 1 else 3.0  # large: some p clip
    fast, plain = _head_net(n_models, head), _head_net(n_models, head)
    for model, use_fused in ((fast, True), (plain, False)):
        model.compile(tn.optimizers.SGD(rates), loss="categorical_crossentropy", metrics=(),
                      fused=use_fused)
    xd, yd = tn.backend.to_device(x), tn.backend.to_device(y)
    _assert_same_training(fast, plain, xd, yd, dict(rtol=1e-10, atol=1e-12), steps=5)


def test_softmax_backward_equals_the_chain_rule_with_clipping(backend):
    rng = np.random.default_rng(1)
    z = tn.backend.to_device(rng.normal(size=(2, 5, 4)) * 20.0)  # saturated rows: clipping
    y = rng.random((5, 4))  # soft labels too
    y[0] = [0.0, 0.0, 1.0, 0.0]
    y = tn.backend.to_device(y)
    softmax, loss = Softmax(), tn.losses.CategoricalCrossentropy()
    p = softmax.forward(z)
    value = loss.value(y, p)
    chain = softmax.backward(loss.backward())
    head = fused.SoftmaxCrossEntropy(loss)
    np.testing.assert_allclose(tn.backend.to_numpy(head.forward(z, y)),
                               tn.backend.to_numpy(value), rtol=1e-12)
    np.testing.assert_allclose(tn.backend.to_numpy(head.backward()),
                               tn.backend.to_numpy(chain), rtol=1e-9, atol=1e-15)


def test_row_reductions(backend):
    from tinynet.ops import row_max, row_sum, row_sums_spread

    rng = np.random.default_rng(2)
    for shape in [(5, 1), (5, 3), (2, 5, 16), (5, 17)]:
        host = rng.normal(size=shape)
        a = tn.backend.to_device(host)
        np.testing.assert_array_equal(tn.backend.to_numpy(row_max(a)),
                                      host.max(axis=-1, keepdims=True))
        np.testing.assert_allclose(tn.backend.to_numpy(row_sum(a)),
                                   host.sum(axis=-1, keepdims=True), rtol=1e-12)
        spread = tn.backend.to_numpy(row_sums_spread(a))  # every column, or (..., 1) past 16
        assert spread.shape == (shape if shape[-1] <= 16 else shape[:-1] + (1,))
        np.testing.assert_allclose(spread, np.broadcast_to(host.sum(axis=-1, keepdims=True),
                                                           spread.shape), rtol=1e-12)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from([(), (3,), (2, 3)]), st.integers(1, 20), st.integers(0, 2**31 - 1),
       st.sampled_from([0.0, 0.2]))
def test_row_max_is_the_max_of_every_row_nan_included(lead, c, seed, nan_share):
    """The running maximum over the columns gives xp.max bit for bit, ties and NaN too."""
    from tinynet.ops import row_max

    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 3, size=lead + (5, c)).astype(np.float64)  # small ints: ties
    a[rng.random(a.shape) < nan_share] = np.nan
    np.testing.assert_array_equal(row_max(a), np.max(a, axis=-1, keepdims=True))


# --- chosen once, at compile ------------------------------------------------------
class _Scale(tn.layers.Layer):
    """y = 2 x: a layer the fused step does not know."""

    def forward(self, x, training=True):
        return 2.0 * x

    def backward(self, grad_y):
        return 2.0 * grad_y


def test_compile_chooses_the_step_once():
    model = _head_net().compile("sgd", loss="categorical_crossentropy")
    assert isinstance(model.train_function, fused.FusedStep)
    assert model.compile("sgd", loss="mse", fused=False).train_function == model.train_step
    custom = tn.Sequential([Dense(3, input_dim=2), _Scale(), Dense(2)], seed=0)
    custom.compile("sgd", loss="mse")
    assert custom.train_function == custom.train_step  # an unknown layer: the plain step


def test_a_deep_copy_trains_like_the_original(float64):
    """The fused step keeps W^T views of the kernels; a copy must not reuse stale ones."""
    (model, _), x, y = _pair("categorical", "sgd", 1)
    model.train_function(x, y)  # the views exist now
    twin = copy.deepcopy(model)
    for _ in range(3):
        model.train_function(x, y)
        twin.train_function(x, y)
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_uses_the_fused_step(float64):
    (fast, plain), _, _ = _pair("sparse", "sgd", 1)
    _, _, x, y = _problem("sparse")
    calls = []
    step = fast.train_function
    fast.train_function = lambda xb, yb: calls.append(1) or step(xb, yb)
    h_fast = fast.fit(x, y, epochs=2, batch_size=4, verbose=0)
    h_plain = plain.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert len(calls) == 8
    np.testing.assert_allclose(h_fast.history["loss"], h_plain.history["loss"], rtol=1e-12)


class _ReplaceWeightsAt(tn.callbacks.Callback):
    """At the end of batch ``batch`` of every epoch: set_weights with new arrays."""

    def __init__(self, batch, weights):
        super().__init__()
        self.batch, self.weights = batch, weights

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            self.model.set_weights([w.copy() for w in self.weights])


def test_fit_looks_at_the_parameters_where_a_batch_callback_may_replace_them(float64):
    """fit lets the fused step skip its look at the parameters for an epoch's later
    batches only where no callback runs between them: weights set by a batch
    callback mid-epoch are the ones the next update trains (as on the plain step)."""
    (fast, plain), _, _ = _pair("categorical", "sgd", 1)
    _, _, x, y = _problem("categorical")
    rng = np.random.default_rng(2)
    new = [rng.normal(size=w.shape) for w in plain.get_weights()]
    histories = [model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False,
                           callbacks=[_ReplaceWeightsAt(1, new)]) for model in (fast, plain)]
    np.testing.assert_allclose(histories[0].history["loss"], histories[1].history["loss"],
                               rtol=1e-12)
    for a, b in zip(fast.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert _views_of_the_buffer(fast)


@pytest.mark.parametrize("n_models", [1, 3])
def test_a_step_that_skips_its_look_trains_as_one_that_looks(float64, n_models):
    """step(x, y, check=False) after a call that looked: the same updates bit for bit."""
    (looks, skips), x, y = _pair("categorical", "sgd", n_models)
    skips = copy.deepcopy(looks)
    for i in range(4):
        a = looks.train_function(x, y)
        b = skips.train_function(x, y, check=i == 0)
        np.testing.assert_array_equal(a[0], b[0])
    for a, b in zip(looks.get_weights(), skips.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_add_after_compile_makes_the_step_again(float64):
    """A layer added after compile is trained: the step is chosen again for the new layers."""
    model = tn.Sequential([Dense(5, "relu", input_dim=3)], seed=0)
    model.compile(tn.optimizers.SGD(0.1), loss="mse")
    model.add(Dense(2))
    twin = tn.Sequential([Dense(5, "relu", input_dim=3), Dense(2)], seed=0)
    twin.compile(tn.optimizers.SGD(0.1), loss="mse", fused=False)
    _, _, x, y = _problem("mse")
    assert model.train_on_batch(x, y) == pytest.approx(twin.train_on_batch(x, y), rel=1e-12)
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("probabilities", ["clip", "exact"])
@pytest.mark.parametrize("loss", ["categorical", "sparse"])
def test_fused_step_equals_the_plain_step_where_the_clip_is_active(float64, loss, probabilities):
    """Saturated softmax outputs (some p < 1e-7): the clip zeroes those rows' gradient in
    "clip" mode and not in "exact" mode, on both paths alike.

    (Where p underflows to 0, "exact" on probabilities differs: the plain path's -y/p
    overflows, the fused path's p - y does not; from_logits=True is the exact loss there.)
    """
    (fast, plain), x, y = _pair(loss, "sgd", 1)
    for model in (fast, plain):
        model.loss.probabilities = probabilities
        model.set_weights([w * 3.0 for w in model.get_weights()])  # large logits
    out = plain.predict(tn.backend.to_numpy(x))
    assert np.min(out) < 1e-7 and np.min(out) > 1e-250  # clipped, not underflowed
    _assert_same_training(fast, plain, x, y, TOLERANCE["float64"], steps=2)


@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("batch_size", [4, 6])
@pytest.mark.parametrize("top", ["linear", "relu"])
def test_fit_metrics_read_each_batchs_own_outputs(float64, top, batch_size, n_models):
    """fit keeps every batch's outputs for the epoch's metrics: a step that writes its
    outputs into a buffer it reuses would give every batch the last batch's outputs.
    Batch 6 of 16 rows ends each epoch on 4 rows, whose buffers are the first rows of
    the batch of 6's."""
    _, _, x, y = _problem("mse")
    histories, weights = [], []
    for use_fused in (True, False):
        model = tn.Sequential([Dense(6, "relu", input_dim=3), Dense(5, "relu"), Dense(2, top)],
                              seed=3, n_models=n_models)
        model.compile(tn.optimizers.SGD(0.1), loss="mse", metrics=["mae"], fused=use_fused)
        fit = model.fit(x, y, epochs=3, batch_size=batch_size, shuffle=True, verbose=0)
        histories.append(fit.history)
        weights.append(model.get_weights())
    fast, plain = histories
    np.testing.assert_allclose(fast["mae"], plain["mae"], rtol=1e-12)
    np.testing.assert_allclose(fast["loss"], plain["loss"], rtol=1e-12)
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def _views_of_the_buffer(model):
    flat = model.train_function.flat
    return all(np.shares_memory(p, flat.values) for layer in model.layers
               for p in layer.params.values())


@pytest.mark.parametrize("n_models", [1, 3])
def test_the_parameters_are_views_of_one_buffer_and_stay_so_after_set_weights(float64, n_models):
    """After a fused step every Dense parameter is a view of the step's flat buffer;
    set_weights replaces the arrays, and the next step copies them in and trains on them."""
    (fast, plain), x, y = _pair("categorical", "sgd", n_models)
    fast.train_function(x, y)
    plain.train_function(x, y)
    assert _views_of_the_buffer(fast)
    rng = np.random.default_rng(1)
    new = [rng.normal(size=w.shape) for w in plain.get_weights()]
    for model in (fast, plain):
        model.set_weights(new)
    assert not _views_of_the_buffer(fast)  # set_weights gave the layers new arrays
    _assert_same_training(fast, plain, x, y, TOLERANCE["float64"], steps=2)
    assert _views_of_the_buffer(fast)
    # a layer's parameters in another dtype get a buffer of that dtype
    for model in (fast, plain):
        for layer in model.layers:
            for name, p in layer.params.items():
                layer.params[name] = p.astype(np.float32)
    fast.train_function(x.astype(np.float32), y.astype(np.float32))
    assert fast.train_function.flat.values.dtype == np.float32 and _views_of_the_buffer(fast)


def test_a_pickled_model_trains_like_the_original(float64):
    import pickle

    (model, _), x, y = _pair("mse", "momentum", 3)
    model.train_function(x, y)
    twin = pickle.loads(pickle.dumps(model))
    for _ in range(3):
        model.train_function(x, y)
        twin.train_function(x, y)
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not any(np.shares_memory(a, b) for a, b in
                   zip(model.train_function.flat.values, twin.train_function.flat.values))


def _relu_stack_step(n_models):
    """(fused step, x, y) of a 3-6-5-4 ReLU/softmax model of n_models copies, 6 rows."""
    model = tn.Sequential([Dense(6, "relu", input_dim=3), Dense(5, "relu"), Dense(4, "softmax")],
                          seed=3, n_models=n_models)
    model.compile(tn.optimizers.SGD(0.1), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    lead = (n_models,) if n_models > 1 else ()
    x = rng.normal(size=lead + (6, 3))
    y = np.eye(4)[rng.integers(0, 4, lead + (6,))]
    return model.train_function, x, y


def _by_column(a):
    """True when each (rows, cols) matrix of a is stored column after column."""
    return np.swapaxes(a, -1, -2).flags.c_contiguous and not a.flags.c_contiguous


@pytest.mark.parametrize("n_models", [1, 3])
def test_a_relu_writes_whole_columns_and_a_shorter_batch_keeps_both_layouts_contiguous(
        float64, n_models):
    """Where a ReLU writes a block of columns (its z, the input [x, 1] of the Dense
    above, the gradient flowing back into it) the buffers are stored by column, so the
    block is contiguous (by row, the block of a (K, N, c + 1) buffer is one short
    strided row per sample: 64 against 26 us for a (256, 64, 10) ReLU). The last
    batch's buffers by row are carved from the full batch's memory, the start of it,
    contiguous (the first rows of a stack's buffer would be strided); by column they
    are arrays of their own, column after column (the full one's first rows would be
    neither C- nor F-contiguous, which BLAS rounds differently)."""
    step, x, y = _relu_stack_step(n_models)
    step(x, y)
    step(x[..., :4, :], y[..., :4, :])
    layouts = []
    for piece in step.denses:
        full, short = (piece.slot_for(s) for s in sorted(piece._slots, key=lambda s: -s[-2]))
        for name in ("x1", "z", "grad_x"):
            a, b = getattr(full, name), getattr(short, name)
            if a is None:
                continue
            if _by_column(a):
                assert _by_column(b) and b.shape[-2] == 4, name
                assert not np.shares_memory(a, b), name
            else:
                assert np.shares_memory(a, b), name
                assert a.flags.c_contiguous and b.flags.c_contiguous, name
            layouts.append((name, _by_column(a)))
        assert np.all(full.x1[..., -1] == 1) and np.all(short.x1[..., -1] == 1)
    # Dense 0: x1 by row (the data's rows are copied in), z by column (ReLU into Dense 1);
    # Dense 1: x1, z, grad_x by column; Dense 2 (the softmax head's): x1, grad_x by
    # column, z by row (the head works in it)
    assert layouts == [("x1", False), ("z", True), ("x1", True), ("z", True), ("grad_x", True),
                       ("x1", True), ("z", False), ("grad_x", True)]


@pytest.mark.parametrize("n_models", [1, 3])
def test_every_relu_compares_with_one_shared_buffer_of_zeros(float64, n_models):
    """max(z, 0) is taken against zeros (NumPy's loop over two arrays is the fast one): one
    buffer for the whole step, every ReLU's view of it laid out as its z (by column) and
    still zero after steps on two batch sizes."""
    step, x, y = _relu_stack_step(n_models)
    for rows in (6, 4, 6):
        step(x[..., :rows, :], y[..., :rows, :])
    views = [slot.zeros for piece in step.denses if piece.relu for slot in piece._slots.values()]
    assert len(views) == 4
    for view in views:  # laid out as the z it is compared with: by column
        assert _by_column(view) and np.shares_memory(view, step.denses[0].zeros.flat)
        assert not np.any(view)


@pytest.mark.parametrize("mask_size", [0, 10**9])  # greater(z, 0) everywhere; sign(y) everywhere
@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_both_relu_masks_give_the_plain_steps_training(monkeypatch, mask_size, n_models, dtype):
    """The ReLU's mask is sign(y) on small NumPy arrays and greater(z, 0) on larger ones:
    each path, forced for every size, trains as the plain step does."""
    monkeypatch.setattr(fused, "SIGN_MASK_SIZE", mask_size)
    tn.set_dtype(dtype)
    (fast, plain), x, y = _pair("categorical", "momentum", n_models)
    _assert_same_training(fast, plain, x, y, TOLERANCE[dtype], resync=dtype == "float32")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([(), (3,)]), st.integers(1, 12), st.integers(0, 2**31 - 1),
       st.sampled_from([0, 10**9]))
def test_the_relu_mask_is_one_where_z_is_positive(lead, n, seed, mask_size):
    """[z > 0] as floats on both paths, for every value a ReLU can meet: -0.0, +-inf,
    subnormals, and NaN (where sign(y) gives NaN: only there may the paths differ)."""
    rng = np.random.default_rng(seed)
    special = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1.0, -1.0])
    z = np.where(rng.random(lead + (n, 5)) < 0.5, rng.choice(special, lead + (n, 5)),
                 rng.normal(size=lead + (n, 5)))

    class Slot:  # what _relu_mask reads: z by column (as the step's), y = max(z, 0) into x_in
        pass

    slot = Slot()
    slot.z = np.swapaxes(np.ascontiguousarray(np.swapaxes(z, -1, -2)), -1, -2)
    slot.y = np.maximum(z, np.zeros_like(z))
    old = fused.SIGN_MASK_SIZE
    fused.SIGN_MASK_SIZE = mask_size
    try:
        mask = fused._relu_mask(np, slot)
    finally:
        fused.SIGN_MASK_SIZE = old
    assert mask is slot.z  # written over z
    real = ~np.isnan(z)
    np.testing.assert_array_equal(mask[real], (z[real] > 0).astype(float))
    assert not np.any(np.signbit(mask[real]))


# --- one model on NumPy: the products through ndarray.dot ----------------------------------
def _matmul_only(step):
    """Make every product of a bound step go through matmul again (fresh slots)."""
    for piece in step.denses:
        piece.dot, piece._slots = False, {}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", ["categorical", "mse", "binary"])
def test_ndarray_dot_gives_matmuls_numbers_bit_for_bit(loss, dtype):
    """One model's products through ndarray.dot (fused._products) train bit for bit as
    through matmul: buffers by row and by column, and a shorter last batch (whose
    by-column buffers keep matmul); ReLU Denses, a linear Dense under a ReLU layer,
    a tanh or sigmoid head."""
    tn.set_dtype(dtype)
    layers, loss_obj, x, y = _problem(loss, n=22)
    models = []
    for _ in range(2):
        model = tn.Sequential([Dense(7, "relu", input_dim=3), Dense(6, "relu"), Dense(5),
                               ReLU(), layers()[-1]], seed=5)
        model.compile(tn.optimizers.SGD(0.2), loss=copy.deepcopy(loss_obj))
        model.train_on_batch(x[:8], y[:8])  # binds the buffer
        models.append(model)
    dot_step, matmul_step = models[0].train_function, models[1].train_function
    _matmul_only(matmul_step)
    assert all(piece.dot for piece in dot_step.denses)
    for model in models:
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)  # batches of 8, 8 and 6
    slot = dot_step.denses[1]._slots[(8, 7)]
    assert slot.forward_product.func.__name__ == "dot"  # the path under test was taken
    for a, b in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_stack_and_the_array_api_keep_matmul():
    """ndarray.dot is for one model's 2-D products on NumPy; a stack's are matmul's."""
    step, x, y = _relu_stack_step(3)
    step(x, y)
    assert not any(piece.dot for piece in step.denses)


def test_a_y_of_another_float_dtype_trains_as_the_plain_step():
    """train_function(x, y) with a float64 y on a float32 model: ndarray.dot writes only
    its own result's dtype, so the head's float64 gradient is taken in float32."""
    tn.set_dtype("float32")
    (fast, plain), x, y = _pair("categorical", "sgd", 1)
    y64 = y.astype(np.float64)
    for _ in range(3):
        fast.set_weights(plain.get_weights())
        loss_f, _, _ = fast.train_function(x, y64)
        loss_p, _, _ = plain.train_function(x, y64)
        np.testing.assert_allclose(loss_f, loss_p, **TOLERANCE["float32"])
        for a, b in zip(fast.get_weights(), plain.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, **TOLERANCE["float32"])


# --- one model on NumPy: the softmax head in buffers -----------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("probabilities", ["clip", "exact"])
@pytest.mark.parametrize("shape", [(64, 4), (1, 4), (2, 3), (7, 1), (9, 2), (33, 16)])
def test_the_heads_buffers_give_its_numbers_bit_for_bit(dtype, probabilities, shape):
    """SoftmaxCrossEntropy on one model's z (N, C) on NumPy works in a _HeadSlot's buffers:
    the same loss, p and dL/dz bit for bit as its passes on new arrays, with saturated
    rows (the clip active), soft labels and a NaN row; twice, the slot reused."""
    rng = np.random.default_rng(shape[0])
    loss = tn.losses.CategoricalCrossentropy(probabilities=probabilities)
    slotted, plain = fused.SoftmaxCrossEntropy(loss), fused.SoftmaxCrossEntropy(loss)
    for _ in range(2):
        z = (rng.normal(size=shape) * 30.0).astype(dtype)
        z[-1, 0] = np.nan
        y = rng.random(shape).astype(dtype)
        y[0] = 0.0
        y[0, -1] = 1.0
        z_slotted = z.copy()
        loss_s = slotted.forward(z_slotted, y, overwrite=True)
        loss_p = plain.forward(z, y, overwrite=False)
        assert slotted.slot is not None and plain.slot is None  # both paths taken
        np.testing.assert_array_equal(loss_s, loss_p)
        np.testing.assert_array_equal(slotted.p, plain.p)
        np.testing.assert_array_equal(slotted.backward(), plain.backward())


def test_the_head_keeps_new_arrays_for_a_stack_or_a_y_of_another_dtype():
    """The buffers are for one model's z with a y of its shape and dtype; the rest keep the
    head's passes on new arrays."""
    head = fused.SoftmaxCrossEntropy(tn.losses.CategoricalCrossentropy())
    z, y = np.zeros((2, 5, 3)), np.full((5, 3), 1 / 3)
    head.forward(z.copy(), y, overwrite=True)
    assert head.slot is None
    head.forward(z[0].astype(np.float32), y, overwrite=True)
    assert head.slot is None
    head.forward(z[0].copy(), y, overwrite=True)
    assert head.slot is not None
