"""Central finite differences, to check hand-written backward passes.

For a scalar f and a parameter entry w_i:
    df/dw_i ~ (f(w_i + h) - f(w_i - h)) / (2 h),    error O(h^2).
Run in float64 (the helpers cast for you): in float32 the rounding error of f,
about 1e-7 |f| / h, swamps the derivative. The score is the relative error
    ||analytic - numeric|| / (||analytic|| + ||numeric||)
per array, and the worst one is returned; below 1e-6 means the backward pass is right.
A NaN or inf in either gradient scores inf, so it always fails (never a NaN, which
every comparison would let through).
"""

import contextlib

import numpy as np

from tinynet import _checks, backend
from tinynet.layers.base import Layer
from tinynet.losses import Loss


def relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||); 0 when both are exactly zero, inf if either has NaN/inf."""
    a = np.asarray(backend.to_numpy(analytic), dtype=np.float64)
    n = np.asarray(backend.to_numpy(numeric), dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
        return float("inf")
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - n) / scale)


def numerical_gradient(f, value, h=1e-6):
    """Central-difference gradient of the scalar f(array) at a float64 host array ``value``."""
    h = _step(h, "numerical_gradient")
    value = np.array(value, dtype=np.float64)
    grad = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        old = value[idx]
        value[idx] = old + h
        f_plus = f(value)
        value[idx] = old - h
        f_minus = f(value)
        value[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * h)
    return grad


def _step(h, owner):
    """The finite-difference step h, a finite float > 0."""
    return _checks.real(h, "h", owner, low=0.0, low_open=True)


def _dev(host):
    return backend.to_device(host, dtype="float64")


@contextlib.contextmanager
def _float64_params(layers):
    """Temporarily give every layer float64 copies of its parameters."""
    saved = [dict(layer.params) for layer in layers]
    try:
        for layer in layers:
            for name, p in layer.params.items():
                layer.params[name] = _dev(np.array(backend.to_numpy(p), dtype=np.float64))
        yield
    finally:
        for layer, params in zip(layers, saved):
            layer.params.clear()
            layer.params.update(params)


def _param_errors(layers, f, analytic, h):
    """Worst relative error over every parameter of ``layers`` (f() -> float)."""
    worst = 0.0
    grads = iter(analytic)
    for layer in layers:
        for name in list(layer.params):
            def f_at(value, layer=layer, name=name):
                layer.params[name] = _dev(value)
                return f()

            start = np.array(backend.to_numpy(layer.params[name]), dtype=np.float64)
            numeric = numerical_gradient(f_at, start, h)
            layer.params[name] = _dev(start)
            worst = max(worst, relative_error(next(grads), numeric))
    return worst


def check_layer(layer, x, seed=0, h=1e-6):
    """Worst relative error of a built layer's grad_x and parameter grads, in float64.

    Uses f = sum(forward(x) * R) with a fixed random R, so backward(R) must give df.
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"check_layer: layer must be a tinynet Layer, got {layer!r}.")
    h = _step(h, "check_layer")
    x = np.array(backend.to_numpy(x), dtype=np.float64)
    with _float64_params([layer]):
        y = layer.forward(_dev(x))
        r = np.random.default_rng(seed).standard_normal(tuple(y.shape))

        def f():
            return float(np.sum(backend.to_numpy(layer.forward(xd)) * r))

        xd = _dev(x)
        grad_x = layer.backward(_dev(r))
        analytic = [np.array(backend.to_numpy(g)) for g in layer.grads.values()]

        def f_x(value):
            return float(np.sum(backend.to_numpy(layer.forward(_dev(value))) * r))

        worst = relative_error(grad_x, numerical_gradient(f_x, x, h))
        worst = max(worst, _param_errors([layer], f, analytic, h))
    return worst


def check_loss(loss, y_true, y_pred, h=1e-6):
    """Worst relative error of loss.backward() against finite differences, in float64."""
    if not isinstance(loss, Loss):
        raise TypeError(
            f"check_loss: loss must be a tinynet Loss such as tn.losses.MeanSquaredError(), "
            f"got {loss!r}."
        )
    h = _step(h, "check_loss")
    y_pred = np.array(backend.to_numpy(y_pred), dtype=np.float64)
    n_out = y_pred.shape[-1]
    y = _dev(loss.encode(backend.to_numpy(y_true), n_out, "check_loss"))

    def f(value):
        return float(np.sum(backend.to_numpy(loss.value(y, _dev(value)))))

    loss.value(y, _dev(y_pred))
    analytic = loss.backward()
    return relative_error(analytic, numerical_gradient(f, y_pred, h))


def gradient_check(model, x, y, h=1e-6):
    """Worst relative error between the model's backward pass and finite differences.

    Every parameter of every layer is checked on the loss of (x, y); the model
    is evaluated in float64 whatever its dtype and is left exactly as it was.
    With stacked models the loss is summed over copies (each copy's gradient
    is its own loss's gradient). Below 1e-6: the gradients are right.
    """
    h = _step(h, "gradient_check")
    model.require_compiled("gradient_check")
    x, y = model.check_data(x, y, "gradient_check")
    xd, yd = _dev(x), _dev(y)
    trainable = [layer for layer in model.layers if layer.params]
    saved_grads = [dict(layer.grads) for layer in trainable]
    with _float64_params(trainable):
        def f():
            return float(np.sum(backend.to_numpy(model.loss.value(yd, model.forward(xd)))))

        f()
        model.backward(model.loss.backward())
        analytic = [np.array(backend.to_numpy(g)) for g in model.grads()]
        worst = _param_errors(trainable, f, analytic, h)
    for layer, grads in zip(trainable, saved_grads):
        layer.grads = grads
    return worst
