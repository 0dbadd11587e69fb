"""What the diagnostics share: a model copy to probe, its layers' names, outputs and gradients.

Every probe runs on ``_copy(model)``, so the user's model (parameters, grads,
optimiser state) stays exactly as it was.
"""

import copy

import numpy as np

from tinynet import backend
from tinynet import layers as layer_mod


def _name(i, layer):
    return f"{i}:{layer!r}"


def _per_model(a, stacked):
    """Reduce a host array over every axis but the leading K (or all axes)."""
    return a.reshape(a.shape[0], -1) if stacked else a.reshape(1, -1)


def _squeeze(values, stacked):
    """(K, L) -> (K, L) when stacked, else (L,)."""
    values = np.asarray(values, dtype=np.float64)
    return values if stacked else values[0]


def _trace(model, x_dev):
    """[(index, layer, output)] of an inference forward pass, outputs on the host."""
    out = []
    h = x_dev
    for i, layer in enumerate(model.layers):
        h = layer.forward(h, training=False)
        out.append((i, layer, np.asarray(backend.to_numpy(h), dtype=np.float64)))
    return out


def _rectifier(layer):
    """The ReLU/LeakyReLU behind a layer (a Dense's activation or the layer itself)."""
    act = getattr(layer, "activation", layer)
    return act if isinstance(act, (layer_mod.ReLU, layer_mod.LeakyReLU)) else None


def _loss_and_grads(model, x_dev, y_dev):
    """Full-batch loss (host, (K,) or ()) and gradients (host float64 list)."""
    out = model.forward(x_dev, training=True)
    loss = np.asarray(backend.to_numpy(model.loss.value(y_dev, out)), dtype=np.float64)
    model.backward(model.loss.backward())
    grads = [np.array(backend.to_numpy(g), dtype=np.float64) for g in model.grads()]
    return loss, grads


def _copy(model):
    """The model with copies of its layers and loss, whose passes leave the model alone.

    Forward and backward passes write every layer's caches and grads, and
    sharpness changes parameters and activations: on the copy, the user's
    model (parameters, grads, optimiser state) stays exactly as it was.
    """
    clone = copy.copy(model)
    clone.layers = copy.deepcopy(model.layers)
    clone.loss = copy.deepcopy(model.loss)
    return clone
