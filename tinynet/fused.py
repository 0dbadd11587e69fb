"""The fused training step: Sequential.train_step's numbers, with exact shortcuts.

``Sequential.train_step`` is the step a student reads: forward, loss,
backward, update. This module is its sibling, as torch.optim keeps
``_multi_tensor_sgd`` beside ``_single_tensor_sgd``: ``compile`` picks one
once (``model.train_function``), ``fit`` calls it, and tests/test_fused.py
holds the two equal for every loss, optimiser, dtype and stack. This is the
only module that knows a shortcut exists; it keeps its own buffers (each
Dense's input and its ReLU masks) and writes nothing of another
class but what that class's contract makes public: ``layer.grads``, which
holds dL/dθ of the last batch after a fused step as after a plain one. The
update is ``optimizer.apply(params, grads)``, the plain step's.

The shortcuts, each giving the plain step's numbers up to rounding:

- ``SoftmaxCrossEntropy``: a softmax output under categorical cross-entropy on
  probabilities is one piece (Deep Learning from Scratch's ``SoftmaxWithLoss``)
  whose backward hands dL/dz = (p sum_c v_c - v) / N straight to the Dense
  below, skipping the softmax's Jacobian;
- in place: a Dense adds its bias to its fresh z = x @ W and lets its ReLU or
  softmax overwrite z, and the gradient the step owns is multiplied in place
  by the ReLU derivative;
- ReLU's derivative kept as a float mask m = [z > 0] for arrays of at least
  MASK_FROM elements (y = z * m in place: the fewest passes), else read off
  the output as sign(y) (the fewest calls); both are 0 at z = 0 exactly;
- W^T as a view, never a copy (NumPy 2.4 with OpenBLAS multiplies a (K, in,
  out) stack's transposed view faster than a C-ordered copy, which costs a pass);
- grad_b = 1^T g, one BLAS call, where a sum over the sample axis of a
  (K, N, units) stack is several times slower;
- no grad_x for the lowest trainable layer, and nothing below it;
- a NumPy stack of K copies split over CPU threads, copies [k0:k1] on each
  (tinynet/fused_threads.py, which runs this module's pieces), where the
  model is Dense layers under the softmax head and tinynet may use more than
  one thread: the same calls per copy, so the same numbers bit for bit.

It applies to models built only of tinynet's own layer classes; any other
layer keeps the plain step, whose backward the fused step cannot know. Layers
other than Dense and its ReLU/softmax run through their own forward and
backward.

One place where the two differ beyond rounding: categorical cross-entropy with
probabilities="exact" when a softmax probability underflows to 0 (or nearly):
the plain step's -y / p overflows, the fused head's p * sum(y) - y does not.
from_logits=True is the exact loss that stays finite on both paths.
"""

import numpy as np

from tinynet import backend, fused_threads, losses, ops
from tinynet.layers import Dense, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh

MASK_FROM = 4096
_KNOWN = (Dense, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh)


def make_step(layers, loss, optimizer, metric_fns):
    """A FusedStep for these (built or not) layers, or None where only the plain step applies."""
    if not all(type(layer) in _KNOWN for layer in layers) or Dense not in map(type, layers):
        return None
    return FusedStep(layers, loss, optimizer, metric_fns)


def has_softmax_head(layers, loss):
    """True when the output is softmax(z) and the loss categorical CE on probabilities."""
    categorical = (losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy)
    if type(loss) not in categorical or loss.from_logits:
        return False
    head = layers[-1]
    return type(head) is Softmax or (type(head) is Dense and type(head.activation) is Softmax)


class FusedStep:
    """model.train_step with the shortcuts above; call it as step(x, y).

    The plan is made once, from the layers and loss at compile: one piece per
    layer (a _FusedDense for each Dense, the layer itself otherwise), the
    softmax head split off the top where there is one. Backward runs top to
    bottom and ends at the lowest Dense (the layers below it have no
    parameters, and it needs no grad_x). Returns (loss, [metric values],
    rate used), as train_step does; step(x, y, metrics=False) leaves the metrics
    out (None) and keeps the batch's outputs in ``step.output`` (keeps_outputs):
    fit reads the metrics once per epoch from them.
    """

    keeps_outputs = True

    def __init__(self, layers, loss, optimizer, metric_fns):
        self.layers, self.loss, self.optimizer = layers, loss, optimizer
        self.metric_fns = metric_fns
        self.head = SoftmaxCrossEntropy(loss) if has_softmax_head(layers, loss) else None
        self.head_owns_z = self.head is not None and type(layers[-1]) is Dense
        below_head = layers[:-1] if type(layers[-1]) is Softmax and self.head else layers
        lowest = min(i for i, layer in enumerate(layers) if type(layer) is Dense)
        self.pieces = []
        for i, layer in enumerate(below_head):
            if type(layer) is Dense:
                is_head = self.head is not None and i == len(layers) - 1
                layer = _FusedDense(layer, need_grad_x=i > lowest, activate=not is_head)
            self.pieces.append(layer)
        self.lowest = lowest
        self._split = None  # a fused_threads.SplitStep while one applies
        self.output = None  # the last batch's outputs (before its update)
        self.splittable = (self.head_owns_z and bool(self.pieces)
                           and all(type(piece) is _FusedDense for piece in self.pieces))

    def __call__(self, x, y, metrics=True):
        """(loss, [metric values], rate) of one update; metrics=False gives None for the
        values (fit computes them once per epoch from ``self.output``, the batch's
        outputs before the update, which the step keeps until the next call)."""
        split = self._split_step(x)
        loss, out, lr = split.run(x, y) if split is not None else self._run(x, y)
        self.output = out
        values = [fn(y, out) for fn in self.metric_fns] if metrics else None
        return loss, values, lr

    def _run(self, x, y):
        """Forward, loss, backward, update: (loss, the outputs before the update, rate)."""
        out = x
        for piece in self.pieces:
            out = piece.forward(out, training=True)
        if self.head is not None:
            loss = self.head.forward(out, y, overwrite=self.head_owns_z)
            out = self.head.p
        else:
            loss = self.loss.value(y, out)
        grad = self.head.backward() if self.head is not None else self.loss.backward()
        for piece in reversed(self.pieces[self.lowest:]):
            grad = piece.backward(grad)
        params = [p for layer in self.layers for p in layer.params.values()]
        grads = [g for layer in self.layers for g in layer.grads.values()]
        return loss, out, self.optimizer.apply(params, grads)

    def _split_step(self, x):
        """The step split over threads (tinynet.fused_threads) where it applies now, else None.

        It applies to NumPy stacks of Dense layers only under a softmax head
        that works in the top Dense's z; fused_threads.bounds_now says whether
        there are copies and threads enough.
        """
        if not self.splittable or backend.namespace(x) is not np:
            return None
        kernel = self.pieces[0].dense.params.get("kernel")
        if kernel is None or kernel.ndim != 3:
            return None
        bounds = fused_threads.bounds_now(kernel.shape[0])
        if len(bounds) < 2:
            return None
        if self._split is None or self._split.bounds != bounds:
            self._split = fused_threads.SplitStep(self, bounds, _FusedDense.for_dense,
                                                  lambda: SoftmaxCrossEntropy(self.loss))
        return self._split


class SoftmaxCrossEntropy:
    """p = softmax(z) and L = CategoricalCrossentropy(p) as one piece (SoftmaxWithLoss).

    forward(z, y): p_nc = exp(z_nc - max_c z_n) / sum_c' exp(z_nc' - max_c z_n), then
      "clip":  L = -(1/N) sum_n sum_c y_nc log clip(p_nc, 1e-7, 1 - 1e-7)
      "exact": L = -(1/N) sum_n sum_c y_nc log p_nc   (0 log 0 counted as 0)
    The loss's renormalisation q = p / sum_c p is skipped: softmax rows sum to 1.
    backward(): dL/dz = (p sum_c v_c - v) / N, with v = y where p is not clipped
    and 0 where it is (v = y throughout with "exact"): the chain rule through
    the clip and the softmax Jacobian, in a few passes over (K, N, C) where the
    loss's backward and then Softmax.backward take a dozen. For one-hot y with
    nothing clipped it is Deep Learning from Scratch's (p - y) / N.
    """

    def __init__(self, loss):
        self.loss = loss  # its mode is read at every step: it may be set after compile

    def forward(self, z, y, overwrite=False):
        """The mean loss (0-d, or (K,)); overwrite=True lets the softmax work in z."""
        xp = backend.namespace(z)
        if overwrite:
            z -= ops.row_max(z)
        else:
            z = z - ops.row_max(z)
        p = xp.exp(z)
        p /= ops.row_sum(p)
        if self.loss.exact:
            self.v = y
            log_p = ops.log_where(y, p)
        else:
            clipped = xp.minimum(xp.maximum(p, losses.EPSILON), 1.0 - losses.EPSILON)
            self.v = xp.where(clipped == p, y, 0.0)
            log_p = xp.log(clipped)
        self.p = p
        return xp.sum(y * log_p, axis=(-2, -1)) * (-1.0 / p.shape[-2])

    def backward(self):
        """dL/dz = (p sum_c v_c - v) / N, a new array."""
        p, v = self.p, self.v
        grad = p * ops.row_sum(v)
        grad -= v
        grad *= 1.0 / p.shape[-2]
        return grad


class _FusedDense:
    """Dense's forward and backward in place, its input and ReLU mask kept here.

    forward: z = x @ W (a new array) += b, then the activation on z: ReLU in
    place, none when a SoftmaxCrossEntropy head takes z, else the activation
    layer's own forward. backward from grad_y: g = act'(z) * grad_y (in place
    for ReLU), grad_W = x^T g, grad_b = 1^T g, grad_x = g W^T (summed over K
    copies that share an x of shape (N, in)).
    """

    def __init__(self, dense, need_grad_x, activate=True):
        self.dense, self.need_grad_x = dense, need_grad_x
        act = dense.activation if activate else None
        self.relu = type(act) is ReLU
        self.activation = None if type(act) is Linear else act
        self.x = self.mask = self.y = None

    def for_dense(self, dense):
        """The same piece for another Dense (fused_threads: a chunk of a stack's copies)."""
        return _FusedDense(dense, self.need_grad_x,
                           activate=self.relu or self.activation is not None)

    def forward(self, x, training=True):
        dense = self.dense
        self.x = x
        z = x @ dense.params["kernel"]  # a new array: the bias goes in in place
        if dense.use_bias:
            b = dense.params["bias"]
            z += b if b.ndim == 1 else b[..., None, :]  # (K, units) -> (K, 1, units)
        if self.relu:
            return self._relu(z)
        return z if self.activation is None else self.activation.forward(z, training)

    def _relu(self, z):
        """y = max(z, 0) on z: y = z * [z > 0] in place from MASK_FROM elements, else kept."""
        xp = backend.namespace(z)
        if z.size < MASK_FROM:
            self.mask, self.y = None, xp.maximum(z, 0.0)
            return self.y
        self.mask, self.y = xp.astype(z > 0.0, z.dtype), None
        z *= self.mask
        return z

    def backward(self, grad_y):
        dense, x = self.dense, self.x
        xp = backend.namespace(grad_y)
        if self.relu:  # grad_y is the step's own: dy/dz = the mask, or sign(y) (y >= 0)
            grad_y *= self.mask if self.mask is not None else xp.sign(self.y)
            g = grad_y
        else:
            g = grad_y if self.activation is None else self.activation.backward(grad_y)
        # .T is the standard transpose of a matrix, cheaper than matrix_transpose
        dense.grads["kernel"] = (x.T if x.ndim == 2 else xp.matrix_transpose(x)) @ g
        if dense.use_bias:
            dense.grads["bias"] = ops.ones_vector(xp, g.shape[-2], g.dtype) @ g
        if not self.need_grad_x:
            return None
        w = dense.params["kernel"]
        grad_x = g @ (w.T if w.ndim == 2 else xp.matrix_transpose(w))
        if grad_x.ndim > x.ndim:  # x (N, in) was shared by K copies: sum their pulls
            grad_x = xp.sum(grad_x, axis=0)
        return grad_x
