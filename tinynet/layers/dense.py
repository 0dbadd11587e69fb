"""The fully connected layer."""

from tinynet import _checks, backend, initializers, ops
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
    grad_b is written as a product with a ones vector of length N: one BLAS
    call, where xp.sum over the sample axis of a (K, N, units) stack is several
    times slower.

    units: output width. activation: None (linear) or a name such as "relu".
    kernel_initializer "glorot_uniform" and bias_initializer "zeros" as in Keras.
    input_dim: the input width, needed only on a model's first layer to build
    the parameters at construction. input_shape=(n,) is accepted as Keras's
    spelling of input_dim=n (inputs are flat rows, so one number only).
    """

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
        self.use_bias = bool(use_bias)

    def param_specs(self, input_dim):
        specs = {"kernel": ((input_dim, self.units), self.kernel_initializer)}
        if self.use_bias:
            specs["bias"] = ((self.units,), self.bias_initializer)
        return specs

    def output_dim(self, input_dim):
        return self.units

    def forward(self, x, training=True):
        self._x = x  # backward needs it
        z = x @ self.params["kernel"]  # a new array: the bias goes in in place
        if self.use_bias:
            b = self.params["bias"]
            z += b if b.ndim == 1 else b[..., None, :]  # (K, units) -> (K, 1, units)
        act = self.activation  # z is ours: an activation with forward_ may overwrite it
        return getattr(act, "forward_", act.forward)(z, training)

    def backward(self, grad_y):
        return self.backward_linear(self.activation.backward(grad_y))

    def backward_(self, grad_y):
        """backward for a grad_y the caller owns: the activation may overwrite it."""
        act = self.activation
        return self.backward_linear(getattr(act, "backward_", act.backward)(grad_y))

    def backward_linear(self, g):
        """backward from g = dL/dz, the activation's own backward skipped.

        backward(grad_y) is backward_linear(act.backward(grad_y)); the model
        calls this directly when the loss hands over dL/dz of a softmax output
        (see Sequential.train_step).
        """
        xp, x = backend.namespace(g), self._x
        # .T is the standard transpose of a matrix, cheaper than matrix_transpose
        self.grads["kernel"] = (x.T if x.ndim == 2 else xp.matrix_transpose(x)) @ g
        if self.use_bias:
            self.grads["bias"] = ops.ones_vector(xp, g.shape[-2], g.dtype) @ g
        if not self.need_grad_input:
            return None
        grad_x = g @ self._kernel_t(xp)
        if grad_x.ndim > x.ndim:  # x (N, in) was shared by K copies: sum their pulls
            grad_x = xp.sum(grad_x, axis=0)
        return grad_x

    def _kernel_t(self, xp):
        """W^T: a view for one model, kept while W is the same array (updates are
        in place); for a (K, in, out) stack a C-ordered copy, made every step.

        NumPy multiplies a stack about twice as fast by a C-ordered W^T as by the
        transposed view, and the copy (flattening each W^T, which every backend
        does in C order) costs far less than the difference.
        """
        w = self.params["kernel"]
        if w.ndim == 3:
            k, n_in, n_out = w.shape
            w_t = xp.reshape(xp.matrix_transpose(w), (k, n_out * n_in))
            return xp.reshape(w_t, (k, n_out, n_in))
        if getattr(self, "_kernel_of_t", None) is not w:
            self._kernel_of_t, self._kernel_t_view = w, w.T
        return self._kernel_t_view

    def get_config(self):
        return {
            "units": self.units,
            "activation": activations.name_of(self.activation),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "input_dim": self.declared_input_dim,
            "use_bias": self.use_bias,
        }

    def __repr__(self):
        act = activations.name_of(self.activation)
        return f"Dense({self.units}" + (f", activation={act!r})" if act != "linear" else ")")


def _from_input_shape(input_shape, input_dim, units):
    """Keras's input_shape=(n,) as input_dim=n; anything else refused with a pointer."""
    owner = f"Dense({units})"
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 1
            or isinstance(input_shape[0], bool)):
        raise ValueError(
            f"{owner}: input_shape must be (n,), one input width, since tinynet's Dense takes "
            f"flat rows (N, n); got input_shape={input_shape!r}. Flatten your inputs and pass "
            "input_dim=n.")
    width = _checks.positive_int(input_shape[0], "input_shape[0]", owner)
    if input_dim is not None and input_dim != width:
        raise ValueError(f"{owner}: input_shape={tuple(input_shape)!r} and input_dim={input_dim!r} "
                         "disagree; give one of them.")
    return width
