"""The fully connected layer."""

import numbers

from tinynet import _checks, backend, initializers
from tinynet.layers import activations
from tinynet.layers.base import Layer


class Dense(Layer):
    """y = act(x @ W + b)

    x (N, in) or (K, N, in); W "kernel" (in, units) or (K, in, units);
    b "bias" (units,) or (K, units); y (N, units) or (K, N, units).
    backward, with g = act'(z) * grad_y:
      grad_W = x^T @ g (summed over samples), grad_b = 1^T g = sum_n g,
      grad_x = g @ W^T (summed over the K copies when they all read the same x
      of shape (N, in)).

    units: output width. activation: None (linear), a name such as "relu", a
    parameter-free layer such as LeakyReLU(0.1), or the config dict get_config writes.
    kernel_initializer "glorot_uniform" and bias_initializer "zeros" as in Keras.
    input_dim: the input width, needed only on a model's first layer to build
    the parameters at construction. input_shape=(n,) is accepted as Keras's
    spelling of input_dim=n (inputs are flat rows, so one number only).
    """

    _x = None  # the input of the last forward, which backward differentiates at

    def __init__(self, units, activation=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_dim=None, use_bias=True, input_shape=None):
        super().__init__()
        if input_shape is not None:
            input_dim = _from_input_shape(input_shape, input_dim, units)
        self.units = _checks.positive_int(units, "units", "Dense")
        self.activation = activations.get(activation, owner=f"Dense({units})")
        self.kernel_initializer = initializers.get(kernel_initializer, owner=f"Dense({units})")
        self.bias_initializer = initializers.get(bias_initializer, owner=f"Dense({units})")
        self.declared_input_dim = (
            None if input_dim is None else _checks.positive_int(input_dim, "input_dim", "Dense")
        )
        self.use_bias = _checks.boolean(use_bias, "use_bias", "Dense")

    def param_specs(self, input_dim):
        specs = {"kernel": ((input_dim, self.units), self.kernel_initializer)}
        if self.use_bias:
            specs["bias"] = ((self.units,), self.bias_initializer)
        return specs

    def output_dim(self, input_dim):
        return self.units

    def forward(self, x, training=True):
        if not self.params:
            raise _unbuilt(self)
        width = self.params["kernel"].shape[-2]
        if x.shape[-1] != width:
            raise ValueError(
                f"Dense({self.units}) expected {width} input features (built for {width}), got "
                f"shape {tuple(x.shape)}. Check input_dim or the previous layer.")
        self._x = x  # backward needs it
        z = x @ self.params["kernel"]
        if self.use_bias:
            z = z + self.params["bias"][..., None, :]  # (K, units) -> (K, 1, units)
        return self.activation.forward(z, training)

    def backward(self, grad_y):
        xp, x = backend.namespace(grad_y), self._x
        if x is None:
            raise ValueError(f"Dense({self.units}).backward: call forward(x) first; backward "
                             "differentiates the batch that forward saw last.")
        g = self.activation.backward(grad_y)
        self.grads["kernel"] = xp.matrix_transpose(x) @ g
        if self.use_bias:
            self.grads["bias"] = xp.sum(g, axis=-2)
        grad_x = g @ xp.matrix_transpose(self.params["kernel"])
        if grad_x.ndim > x.ndim:  # x (N, in) was shared by K copies: sum their pulls
            grad_x = xp.sum(grad_x, axis=0)
        return grad_x

    def get_config(self):
        return {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "input_dim": self.declared_input_dim,
            "use_bias": self.use_bias,
        }

    def __repr__(self):
        name = activations.name_of(self.activation)
        if name == "linear":
            return f"Dense({self.units})"
        shown = repr(self.activation) if name is None else repr(name)
        return f"Dense({self.units}, activation={shown})"


def _from_input_shape(input_shape, input_dim, units):
    """Keras's input_shape=(n,) as input_dim=n; anything else refused with a pointer.

    Every bad input_shape is a ValueError (API.md), a wrong type of width too.
    """
    owner = f"Dense({units})"
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 1
            or isinstance(input_shape[0], bool)):
        raise ValueError(
            f"{owner}: input_shape must be (n,), one input width, since tinynet's Dense takes "
            f"flat rows (N, n); got input_shape={input_shape!r}. Flatten your inputs and pass "
            "input_dim=n.")
    width = input_shape[0]
    if not isinstance(width, numbers.Integral) or width <= 0:
        raise ValueError(
            f"{owner}: input_shape must be (n,) with n a positive integer, got "
            f"input_shape={input_shape!r}.")
    width = int(width)
    if input_dim is not None and input_dim != width:
        raise ValueError(f"{owner}: input_shape={tuple(input_shape)!r} and input_dim={input_dim!r} "
                         "disagree; give one of them.")
    return width


def _unbuilt(layer):
    return ValueError(
        f"{layer!r}.forward: the layer has no weights yet (it is not built). Put it in a "
        "model, tn.Sequential([...], seed=0), which builds every layer, or build it alone: "
        "layer.build(input_dim, [numpy.random.default_rng(0)], stacked=False).")
