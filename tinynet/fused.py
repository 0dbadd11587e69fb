"""The fused training step: Sequential.train_step's numbers, with exact shortcuts.

``Sequential.train_step`` is the step a student reads: forward, loss,
backward, update. This module is its sibling, as torch.optim keeps
``_multi_tensor_sgd`` beside ``_single_tensor_sgd``: ``compile`` picks one
once (``model.train_function``), ``fit`` calls it, and tests/test_fused.py
holds the two equal for every loss, optimiser, dtype and stack. Each shortcut
gives the plain step's numbers (up to rounding):

- softmax output + categorical cross-entropy on probabilities: the loss hands
  dL/dz = (q sum_c v_c - v) / N to the Dense below the softmax
  (CategoricalCrossentropy.softmax_backward), skipping the softmax's Jacobian;
- an update that is exactly p <- p - lr * g (plain SGD): lr multiplies
  dL/d(output), and back-propagation, linear in it, yields the steps lr * g
  directly (Optimizer.folded_rate / apply_folded);
- in place: Dense adds its bias to its fresh z = x @ W and lets its
  activation overwrite z (ReLU, Softmax), and gradients the step owns are
  multiplied in place by the ReLU derivative;
- ReLU's derivative kept as a float mask m = [z > 0] for arrays of at least
  MASK_FROM elements (y = z * m in place: the fewest passes), else read off
  the output as sign(y) (the fewest calls); both are 0 at z = 0 exactly;
- W^T: for one model a view kept while W is the same array (updates are in
  place), for a (K, in, out) stack a C-ordered copy, which NumPy multiplies
  about twice as fast as the transposed view;
- grad_b = 1^T g, one BLAS call, where a sum over the sample axis of a
  (K, N, units) stack is several times slower;
- no grad_x for the lowest trainable layer, and nothing below it.

It applies to models built only of tinynet's own layer classes; any other
layer keeps the plain step, whose backward the fused step cannot know.

One place where the two differ beyond rounding: categorical cross-entropy with
probabilities="exact" when a softmax probability underflows to 0 (or nearly):
the plain step's -y / p overflows, the fused head's p * sum(y) - y does not.
from_logits=True is the exact loss that stays finite on both paths.
"""

from tinynet import backend, losses, ops
from tinynet.layers import Dense, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh

MASK_FROM = 4096
_KNOWN = (Dense, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh)


def make_step(model):
    """A FusedStep for ``model`` (compiled), or None where only the plain step applies."""
    layers = model.layers
    if not all(type(layer) in _KNOWN for layer in layers) or Dense not in map(type, layers):
        return None
    return FusedStep(model)


def softmax_head(layers, loss):
    """True when the output is softmax(z) and the loss categorical CE on probabilities."""
    categorical = (losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy)
    if type(loss) not in categorical or loss.from_logits:
        return False
    head = layers[-1]
    return type(head) is Softmax or (type(head) is Dense and type(head.activation) is Softmax)


class FusedStep:
    """model.train_step's update with the shortcuts above; call it as step(x, y).

    The plan is made once, from the model's layers and loss at compile:
    forward: (function, layer) bottom to top; backward: (function, layer,
    need_grad_x) top to bottom, ending at the lowest Dense (the layers below
    it have no parameters, and it needs no grad_x). Returns (loss, [metric
    values], rate used), as train_step does.
    """

    def __init__(self, model):
        self.model = model
        layers = model.layers
        self.softmax_head = softmax_head(layers, model.loss)
        self.head = layers[-1] if self.softmax_head and type(layers[-1]) is Dense else None
        self.forward = [(_dense_forward if type(layer) is Dense else _layer_forward, layer)
                        for layer in layers]
        lowest = min(i for i, layer in enumerate(layers) if type(layer) is Dense)
        top = len(layers) - 1 if self.softmax_head else len(layers)
        self.backward = [(_BACKWARD.get(type(layers[i]), _layer_backward), layers[i], i > lowest)
                         for i in range(top - 1, lowest - 1, -1)]
        self.head_needs_grad_x = len(layers) - 1 > lowest
        self._kernel_t = {}

    def __call__(self, x, y):
        model = self.model
        loss_fn, optimizer = model.loss, model.optimizer
        out = x
        for forward, layer in self.forward:
            out = forward(layer, out)
        loss = loss_fn.softmax_value(y, out) if self.softmax_head else loss_fn.value(y, out)
        values = [fn(y, out) for fn in model._metric_fns]
        folded = optimizer.folded_rate(out)
        if self.softmax_head:
            grad = loss_fn.softmax_backward(1.0 if folded is None else folded[1])
            if self.head is not None:  # dL/dz of the softmax goes into its Dense layer
                grad = self._linear_backward(self.head, grad, self.head_needs_grad_x)
        else:
            grad = loss_fn.backward()
            grad = grad if folded is None else grad * folded[1]
        for backward, layer, need_grad_x in self.backward:
            grad = backward(self, layer, grad, need_grad_x)
        if folded is None:
            return loss, values, optimizer.apply(model._params, model.grads())
        return loss, values, optimizer.apply_folded(model._params, model.grads(), folded[0])

    def _linear_backward(self, dense, g, need_grad_x):
        """Dense's backward from g = dL/dz: grad_W = x^T g, grad_b = 1^T g, grad_x = g W^T."""
        xp, x = backend.namespace(g), dense._x
        # .T is the standard transpose of a matrix, cheaper than matrix_transpose
        dense.grads["kernel"] = (x.T if x.ndim == 2 else xp.matrix_transpose(x)) @ g
        if dense.use_bias:
            dense.grads["bias"] = ops.ones_vector(xp, g.shape[-2], g.dtype) @ g
        if not need_grad_x:
            return None
        grad_x = g @ self._transposed(dense, xp)
        if grad_x.ndim > x.ndim:  # x (N, in) was shared by K copies: sum their pulls
            grad_x = xp.sum(grad_x, axis=0)
        return grad_x

    def _transposed(self, dense, xp):
        """W^T: a kept view for one model, a C-ordered copy (made every step) for a stack.

        The copy flattens each W^T, which every backend does in C order. Views
        are kept per layer object: a deep copy of the model looks up its own
        layers and makes views of its own kernels (a copied view would be a
        snapshot that no longer follows the in-place updates).
        """
        w = dense.params["kernel"]
        if w.ndim == 3:
            k, n_in, n_out = w.shape
            w_t = xp.reshape(xp.matrix_transpose(w), (k, n_out * n_in))
            return xp.reshape(w_t, (k, n_out, n_in))
        kept = self._kernel_t.get(id(dense))
        if kept is None or kept[0] is not w:
            kept = self._kernel_t[id(dense)] = (w, w.T)
        return kept[1]


# --- forward: z = x @ W + b made in place, the activation on a z it may overwrite --
def _dense_forward(dense, x):
    dense._x = x
    z = x @ dense.params["kernel"]  # a new array: the bias goes in in place
    if dense.use_bias:
        b = dense.params["bias"]
        z += b if b.ndim == 1 else b[..., None, :]  # (K, units) -> (K, 1, units)
    act = dense.activation
    return _ACTIVATION_FORWARD.get(type(act), _layer_forward)(act, z)


def _layer_forward(layer, x):
    if type(layer) is ReLU:  # a layer of its own: x is not ours to overwrite
        layer._mask = None
    return layer.forward(x, training=True)


def _relu_forward_(relu, z):
    """y = max(z, 0) on a z the caller owns: the float mask [z > 0] from MASK_FROM elements.

    There y = z * m in place (relu(-inf) is then nan); below, ReLU.forward.
    """
    if z.size < MASK_FROM:
        relu._mask = None
        return relu.forward(z, training=True)
    relu._mask, relu._y = backend.namespace(z).astype(z > 0.0, z.dtype), None
    z *= relu._mask
    return z


def _softmax_forward_(softmax, z):
    """Softmax.forward on a z the caller owns: shifted in place, one temporary fewer."""
    z -= ops.row_max(z)
    e = backend.namespace(z).exp(z)
    e /= ops.row_sum(e)
    softmax._y = e  # what Softmax.backward reads
    return e


# --- backward: on a gradient the step owns ------------------------------------------
def _relu_backward_(step, relu, grad_y, need_grad_x=True):
    """grad_y *= dy/dx in place: the float mask, or sign(y) (0 or 1, as y >= 0)."""
    grad_y *= relu._mask if relu._mask is not None else backend.namespace(grad_y).sign(relu._y)
    return grad_y


def _dense_backward(step, dense, grad_y, need_grad_x):
    act = dense.activation
    g = _relu_backward_(step, act, grad_y) if type(act) is ReLU else act.backward(grad_y)
    return step._linear_backward(dense, g, need_grad_x)


def _layer_backward(step, layer, grad_y, need_grad_x):
    return layer.backward(grad_y)


_ACTIVATION_FORWARD = {ReLU: _relu_forward_, Softmax: _softmax_forward_}
_BACKWARD = {Dense: _dense_backward, ReLU: _relu_backward_}
