"""The layer contract every layer follows.

A layer maps x of shape (N, in), or (K, N, in) for K stacked models, to y of
shape (N, out) or (K, N, out). ``forward`` caches what ``backward`` needs;
``backward(grad_y)`` returns grad_x = dL/dx and, for trainable layers, fills
``grads`` with dL/dparam under the same keys as ``params``.
"""

import numpy as np

from tinynet import backend


class Layer:
    """Base class: no parameters, identity width."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.input_dim = None

    @property
    def built(self):
        return self.input_dim is not None

    def param_specs(self, input_dim):
        """{name: (shape, initializer)} for one model; empty for parameter-free layers."""
        return {}

    def output_dim(self, input_dim):
        return input_dim

    def build(self, input_dim, rngs, stacked):
        """Create the parameters on the current backend.

        rngs: one host ``numpy.random.Generator`` per model copy; copy k draws
        every parameter from rngs[k], in layer order, so a stacked copy gets
        exactly the weights a single model seeded the same way would get.
        stacked: keep a leading axis of len(rngs) on every parameter.
        """
        self.params, self.grads = {}, {}
        for name, (shape, init) in self.param_specs(input_dim).items():
            draws = [init(shape, rng) for rng in rngs]
            value = np.stack(draws) if stacked else draws[0]
            self.params[name] = backend.to_device(value)
        self.input_dim = input_dim
        return self.output_dim(input_dim)

    def forward(self, x, training=True):
        raise NotImplementedError

    def backward(self, grad_y):
        raise NotImplementedError

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"
