"""The fused training step: Sequential.train_step's numbers, with exact shortcuts.

``Sequential.train_step`` is the step a student reads: forward, loss,
backward, update. This module is its sibling, as torch.optim keeps
``_multi_tensor_sgd`` beside ``_single_tensor_sgd``: ``compile`` picks one
once (``model.train_function``), ``fit`` calls it, and tests/test_fused.py
holds the two equal for every loss, optimiser, dtype and stack. This is the
only module that knows a shortcut exists; it keeps its own buffers and writes
nothing of another class but what that class's contract makes public:
``layer.params`` and ``layer.grads``, which hold θ and dL/dθ of the last
batch after a fused step as after a plain one. The update is
``optimizer.apply``, the plain step's.

The shortcuts, each giving the plain step's numbers up to rounding:

- ``SoftmaxCrossEntropy``: a softmax output under categorical cross-entropy on
  probabilities is one piece (Deep Learning from Scratch's ``SoftmaxWithLoss``)
  whose backward hands dL/dz = (p sum_c v_c - v) / N straight to the Dense
  below, skipping the softmax's Jacobian; its loss is one dot of the
  flattened rows (vecdot); its row sums (the softmax's normaliser, sum_c v_c)
  are spread over every column (ops.row_sums_spread), so dividing or
  multiplying by them is a loop over two arrays of one shape;
- one flat buffer (tinynet.flat): every Dense's theta = [W; b], each layer's
  ``params`` views of it and its ``grads`` views of a second one; the input
  carries a column of ones, so z = [x, 1] @ theta and grad_theta = [x, 1]^T g
  (grad_W over grad_b = 1^T g) are one product each;
- an update rule that keeps nothing per parameter (``optimizer.stateless``:
  plain SGD) is applied to the whole buffer at once; any other rule gets the
  layers' views, parameter by parameter, as in the plain step;
- buffers made once per input shape, every product and ReLU written into them
  (out=); a ReLU writes straight into the input buffer of the Dense above,
  max(z, 0) taken against a buffer of zeros (NumPy's loop over two arrays is
  SIMD, the one over an array and a scalar is not: half the time on
  (256, 1024)); ReLU's derivative is the float mask [z > 0] (0 at z = 0
  exactly; the same as [y > 0]), written over z, which the backward no longer
  needs, and multiplied into the gradient in place; on NumPy, where a ReLU
  writes a block of columns (its z, the x1 and grad_x of the Dense above) the
  buffers are stored column after column, so those passes run over contiguous
  memory (a (64, 10) ReLU into [x, 1]: 1.03 us by row, 0.35 us by column);
- W^T and [x, 1]^T as views, never copies;
- one model on NumPy: every product through ndarray.dot, matmul's BLAS call
  (the same numbers bit for bit) without its ufunc setup, half of a small
  product's time (_products);
- one model on NumPy: the softmax head's passes written into buffers made once
  per batch shape (_HeadSlot), the same passes in the same order: the same
  numbers bit for bit, in about 10 us against 17 on the post's (64, 4);
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

import copy
import math
from functools import partial

import numpy as np

from tinynet import backend, fused_threads, losses, ops
from tinynet.flat import FlatParameters
from tinynet.layers import Dense, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh

_KNOWN = (Dense, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh)
SIGN_MASK_SIZE = 2048  # elements: below it a ReLU's mask is sign(y) (_relu_mask)


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
    out (None) and keeps the batch's outputs in ``step.output`` (keeps_outputs)
    until the next call, which may write over them: fit copies each batch's into
    one buffer for the epoch and reads the metrics once from it. Under a softmax
    head (``defers_loss``) step(x, y, loss=False) leaves the loss out too (None),
    and ``batch_losses`` gives every batch's from those outputs at the epoch's
    end: the same numbers, in a few calls over the epoch instead of a few per
    batch.

    The Dense parameters live in one tinynet.flat.FlatParameters buffer from
    the first call on (made again when a layer's parameters change shape or
    dtype; adopted again when one was replaced); a copy or a pickle of the step
    leaves it behind and makes its own at its first call.
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
        link(self.pieces)
        self.lowest = lowest
        self.denses = [piece for piece in self.pieces if type(piece) is _FusedDense]
        self.zeros = _Zeros()  # one buffer of zeros for every ReLU's max(z, 0)
        for piece in self.denses:
            piece.zeros = self.zeros
        self.flat = None  # a FlatParameters, made at the first call
        self._split = None  # a fused_threads.SplitStep while one applies
        self.output = None  # the last batch's outputs (before its update)
        self.splittable = (self.head_owns_z and bool(self.pieces)
                           and all(type(piece) is _FusedDense for piece in self.pieces))
        self.defers_loss = self.head is not None

    def __getstate__(self):
        """A copy (deepcopy, pickle) keeps no buffer: the copied layers hold copies, not views."""
        state = self.__dict__.copy()
        state.update(flat=None, _split=None, output=None)
        return state

    def __call__(self, x, y, metrics=True, loss=True, check=True):
        """(loss, [metric values], rate) of one update; metrics=False gives None for the
        values (fit computes them once per epoch from ``self.output``, the batch's
        outputs before the update, valid until the next call); loss=False gives None
        for the loss where the step defers_loss (batch_losses gives it later).

        check=False skips the look at the layers' parameters (_flat: are they still
        the buffer's views?) and takes the buffer as the last call left it. fit
        passes it for an epoch's later batches when no callback runs between them:
        nothing but this step touches the parameters there, so the first batch's
        look holds for the epoch (the look alone takes about 1 us on the post's
        network; fit's update took 2.4 us less without it, benchmarks/README.md).
        """
        flat = self._flat() if check or self.flat is None else self.flat
        split = self._split_step(x)
        loss, out = split.run(x, y, loss) if split is not None else self._run(x, y, loss)
        lr = self._update(flat)
        self.output = out
        values = [fn(y, out) for fn in self.metric_fns] if metrics else None
        return loss, values, lr

    def _run(self, x, y, loss=True):
        """Forward, loss, backward: (loss, the outputs before the update)."""
        out = x
        for piece in self.pieces:
            out = piece.forward(out, training=True)
        if self.head is not None:
            loss = self.head.forward(out, y, overwrite=self.head_owns_z, loss=loss)
            out = self.head.p
        else:
            loss = self.loss.value(y, out)
        grad = self.head.backward() if self.head is not None else self.loss.backward()
        dtype = self.flat.values.dtype
        if self.denses[0].dot and grad.dtype != dtype:  # a y of another dtype: ndarray.dot
            grad = grad.astype(dtype)  # (_products) writes only its own result's dtype
        for piece in reversed(self.pieces[self.lowest:]):
            grad = piece.backward(grad)
        return loss, out

    def batch_losses(self, y, out, batch_size):
        """The loss of every batch of ``batch_size`` rows of (y, out) in order, the last
        one shorter: (B,), or (B, K) stacked; what the step returned for each, from the
        outputs it kept (the head's batch_losses)."""
        return self.head.batch_losses(y, out, batch_size)

    def _update(self, flat):
        """optimizer.apply: on the whole buffer at once when the rule keeps nothing per
        parameter (the update of each element reads only its own gradient and rate),
        else parameter by parameter on the views, as the plain step does."""
        if self.optimizer.stateless:
            return self.optimizer.apply([flat.values], [flat.grads])
        params = [p for layer in self.layers for p in layer.params.values()]
        grads = [g for layer in self.layers for g in layer.grads.values()]
        return self.optimizer.apply(params, grads)

    def _flat(self):
        """The parameter buffer, made or adopted again where the layers have moved on."""
        flat = self.flat
        if flat is not None and flat.current():
            return flat
        denses = [piece.dense for piece in self.denses]
        if flat is None or not flat.fits(denses):
            kernel = denses[0].params["kernel"]
            flat = self.flat = FlatParameters(denses, backend.namespace(kernel))
            for piece, theta, grad_theta in zip(self.denses, flat.thetas, flat.grad_thetas):
                piece.bind(theta, grad_theta)
            self.zeros.widest = max(piece.theta.shape[-1] for piece in self.denses)
            self._split = None
        flat.adopt()
        return flat

    def _split_step(self, x):
        """The step split over threads (tinynet.fused_threads) where it applies now, else None.

        It applies to NumPy stacks of Dense layers only under a softmax head
        that works in the top Dense's z; fused_threads.bounds_now says whether
        there are copies and threads enough.
        """
        if not self.flat.lead or not self.splittable or backend.namespace(x) is not np:
            return None
        bounds = fused_threads.bounds_now(self.flat.lead[0])
        if len(bounds) < 2:
            return None
        if self._split is None or self._split.bounds != bounds:
            self._split = fused_threads.SplitStep(self, bounds, _copies_of,
                                                  lambda: SoftmaxCrossEntropy(self.loss))
        return self._split


def link(pieces):
    """Tell each Dense whose ReLU feeds a Dense right above it where to write: into that
    Dense's input buffer, so the next product needs no copy. Returns the pieces."""
    for below, above in zip(pieces, pieces[1:]):
        if type(below) is _FusedDense and below.relu and type(above) is _FusedDense:
            below.above, above.fed_by_relu = above, True
    return pieces


def _copies_of(pieces, k0, k1):
    """The Dense pieces of a stack for its copies [k0:k1] (fused_threads), linked."""
    return link([piece.for_copies(k0, k1) for piece in pieces])


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
        self.slot = None  # the _HeadSlot of the last batch, None where it has none
        self._slots = {}

    def __getstate__(self):
        """A copy (deepcopy, pickle) keeps no buffer: it makes its own."""
        return {"loss": self.loss, "slot": None, "_slots": {}}

    def forward(self, z, y, overwrite=False, loss=True):
        """The mean loss (0-d, or (K,)), None with loss=False; overwrite=True lets the
        softmax work in z (and one model's on NumPy in a _HeadSlot's buffers)."""
        xp = backend.namespace(z)
        self.slot = self._slot_for(z, y) if overwrite else None
        if self.slot is not None:
            p, read, self.v = self.slot.forward(z, y, self.loss.exact)
        else:
            p = self._softmax(xp, z, overwrite)
            if self.loss.exact:
                self.v, read = y, p
            else:
                read = _clipped(xp, p)
                self.v = xp.where(read == p, y, 0.0)
        self.p = p
        if not loss:
            return None
        return _sum_of_products(xp, y, self._log(xp, y, read)) * (-1.0 / p.shape[-2])

    @staticmethod
    def _softmax(xp, z, overwrite):
        """p = exp(z - max_c z) / sum_c exp(z - max_c z), a new array; in z where overwrite."""
        if overwrite:
            z -= ops.row_max(z)
        else:
            z = z - ops.row_max(z)
        p = xp.exp(z)
        p /= ops.row_sums_spread(p)
        return p

    def _slot_for(self, z, y):
        """The _HeadSlot for one model's z (N, C) on NumPy with C <= 16 and y of z's shape
        and dtype, made once per shape; None for anything else."""
        if (type(z) is not np.ndarray or z.ndim != 2 or z.shape[-1] > 16
                or type(y) is not np.ndarray or y.shape != z.shape or y.dtype != z.dtype):
            return None
        key = (z.shape, z.dtype)
        slot = self._slots.get(key)
        if slot is None:
            if len(self._slots) > 8:  # many batch sizes: start over rather than grow
                self._slots.clear()
            slot = self._slots[key] = _HeadSlot(z.shape, z.dtype)
        return slot

    def batch_losses(self, y, p, batch_size):
        """(B,), or (B, K) for p (K, n, C): forward's loss of each batch of ``batch_size``
        rows of (y, p), in order, the last one shorter.

        The same numbers as forward's: the same log of each element, each batch's
        sum one dot of its flattened rows (the full batches' in one vecdot) times
        -1/N. So fit reads every batch's loss from the outputs kept over an epoch.
        """
        xp = backend.namespace(p)
        log_p = self._log(xp, y, p if self.loss.exact else _clipped(xp, p))
        n, width = p.shape[-2], batch_size * p.shape[-1]
        full = n - n % batch_size
        parts = []
        if full:
            def rows(a):  # (..., full, C) -> (..., full // batch_size, batch_size * C)
                return _reshape(xp, a[..., :full, :], a.shape[:-2] + (full // batch_size, width))
            parts.append(_row_dots(xp, rows(y), rows(log_p)) * (-1.0 / batch_size))
        if full < n:
            last = _sum_of_products(xp, y[..., full:, :], log_p[..., full:, :])
            parts.append((last * (-1.0 / (n - full)))[..., None])
        if len(parts) == 2:
            concat = getattr(xp, "concat", None) or xp.concatenate  # CuPy's name
            parts = [concat(parts, axis=-1)]
        return parts[0] if parts[0].ndim == 1 else parts[0].T  # (K, B) -> batches first

    def _log(self, xp, y, read):
        """The logs the loss sums: log of the clipped p, or "exact" log p where y != 0."""
        return ops.log_where(y, read) if self.loss.exact else xp.log(read)

    def backward(self):
        """dL/dz = (p sum_c v_c - v) / N: a new array, or the _HeadSlot's buffer."""
        p, v = self.p, self.v
        if self.slot is not None:
            return self.slot.backward(p, v)
        grad = p * ops.row_sums_spread(v)
        grad -= v
        grad *= 1.0 / p.shape[-2]
        return grad


class _HeadSlot:
    """SoftmaxCrossEntropy's passes for one model's z (N, C) on NumPy, into buffers.

    The head's own passes in its order, each written into a buffer made once
    (out=), so the same numbers bit for bit (tests/test_fused.py): the running
    maximum m over the columns (ops.row_max's), spread as m 1^T so z - m is a
    loop over two arrays of one shape (m exactly: m * 1); the row sums p 1 1^T
    through ndarray.dot (ops.row_sums_spread's product, _products' call); the
    clip against arrays of eps and 1 - eps (a loop over two arrays, not over an
    array and a scalar); v = where(read == p, y, 0) as a copy of y with 0 written
    where read != p; 1/N as a 0-d array. Each NumPy call on these tiny arrays
    costs its setup more than its loop: on the post's (64, 4) forward and backward
    take about 10 us against 17 on new arrays.

    p, v and the gradient are buffers: each batch of this shape writes over the
    last one's (FusedStep.output is valid until the next call).
    """

    def __init__(self, shape, dtype):
        n, c = shape
        self.p, self.spread, self.read, self.v, self.grad = (
            np.empty(shape, dtype) for _ in range(5))
        self.m = np.empty((n, 1), dtype)
        self.clipped = np.empty(shape, bool)
        self.ones, self.ones_row = np.ones((c, c), dtype), np.ones((1, c), dtype)
        self.low = np.full(shape, losses.EPSILON, dtype)
        self.high = np.full(shape, 1.0 - losses.EPSILON, dtype)
        self.scale = np.asarray(1.0 / n, dtype=dtype)
        self.z = self.columns = None  # the z whose columns are viewed, and those views

    def forward(self, z, y, exact):
        """(p, the p the loss reads, v), in the slot's buffers; z is written over."""
        if z is not self.z:
            self.z, self.columns = z, [z[:, j:j + 1] for j in range(z.shape[1])]
        m, spread, p = self.m, self.spread, self.p
        first, *rest = self.columns
        np.maximum(first, rest[0] if rest else first, out=m)
        for column in rest[1:]:
            np.maximum(m, column, out=m)
        m.dot(self.ones_row, spread)
        z -= spread
        np.exp(z, out=p)
        p.dot(self.ones, spread)
        p /= spread
        if exact:
            return p, p, y
        read, v = self.read, self.v
        np.maximum(p, self.low, out=read)
        np.minimum(read, self.high, out=read)
        np.not_equal(read, p, out=self.clipped)
        np.copyto(v, y)
        np.copyto(v, 0.0, where=self.clipped)
        return p, read, v

    def backward(self, p, v):
        """dL/dz = (p sum_c v_c - v) / N, in the slot's gradient buffer."""
        grad, spread = self.grad, self.spread
        v.dot(self.ones, spread)
        np.multiply(p, spread, out=grad)
        grad -= v
        grad *= self.scale
        return grad


def _clipped(xp, p):
    """clip(p, 1e-7, 1 - 1e-7), Keras's: what the "clip" loss takes the log of."""
    return xp.minimum(xp.maximum(p, losses.EPSILON), 1.0 - losses.EPSILON)


def _sum_of_products(xp, a, b):
    """sum over the last two axes of a * b, shape (...,): one dot of the flattened rows
    (vecdot), several times faster than a product and a sum over two axes."""
    if a.shape != b.shape:  # y (N, C) shared by K copies
        a = xp.broadcast_to(a, b.shape)
    rows = b.shape[:-2] + (-1,)
    return _row_dots(xp, _reshape(xp, a, rows), _reshape(xp, b, rows))


def _row_dots(xp, a, b):
    """sum_i a[..., i] b[..., i]: vecdot, or a product and a sum where xp has none."""
    if hasattr(xp, "vecdot"):
        return xp.vecdot(a, b)
    return xp.sum(a * b, axis=-1)


def _reshape(xp, a, shape):
    """a.reshape(shape) where a has the method (NumPy, CuPy: np.reshape's dispatch costs
    ~2 us), else xp.reshape."""
    return a.reshape(shape) if hasattr(a, "reshape") else xp.reshape(a, shape)


class _FusedDense:
    """Dense's forward and backward on theta = [W; b] (tinynet.flat), into its own buffers.

    forward: x is written into the input buffer x1 = [x, 1] (..., N, in + 1)
    (unless the ReLU below wrote it there), z = x1 @ theta into a buffer,
    then the activation: ReLU as y = max(z, 0), written into the input buffer of
    the Dense above where there is one; none when a SoftmaxCrossEntropy head
    takes z; else the activation layer's own forward. backward from grad_y:
    g = act'(z) * grad_y (in place for ReLU, with act' = [z > 0] written over z
    as a float mask), grad_theta = x1^T g (grad_W over grad_b = 1^T g) into the buffer's
    grads, grad_x = g W^T (summed over K copies that share an x of shape (N, in)).

    The buffers are made once per input shape (a _Slot each: a batch size, and
    the epoch's shorter last batch); NumPy and CuPy write every result into
    them (out=), the array API has no out=, so there each result is made and
    copied in: the same numbers, one pass more.
    """

    def __init__(self, dense, need_grad_x, activate=True):
        self.dense, self.need_grad_x = dense, need_grad_x
        act = dense.activation if activate else None
        self.relu = type(act) is ReLU
        self.activation = None if type(act) is Linear else act
        self.above = None  # the _FusedDense this one's ReLU writes into (link)
        self.fed_by_relu = False  # a ReLU Dense below writes into this one's input (link)
        self.theta = self.grad_theta = None  # theta's views in the step's FlatParameters
        self.xp = self.matmul = self.slot = None
        self.zeros = None  # the step's _Zeros, shared by its pieces
        self._slots = {}

    def __getstate__(self):
        """A copy (deepcopy, pickle) is unbound: its step binds it to its own buffer."""
        state = self.__dict__.copy()
        state.update(theta=None, grad_theta=None, xp=None, matmul=None, slot=None, _slots={})
        return state

    def bind(self, theta, grad_theta):
        """Work on these views of the parameter buffer and of its grads."""
        self.theta, self.grad_theta = theta, grad_theta
        self.xp = backend.namespace(theta)
        self.writes_out = getattr(self.xp, "__name__", "") in ("numpy", "cupy")
        # NumPy's BLAS reads and writes either layout; CuPy's matmul copies any operand
        # or output that is not C-contiguous, so there the buffers stay by row
        self.by_column = self.xp is np
        self.matmul = self.xp.matmul if self.writes_out else _matmul_copied
        self.dot = self.xp is np and theta.ndim == 2  # one model on NumPy: _products
        self.in_dim = self.dense.params["kernel"].shape[-2]
        self._slots = {}  # shapes or dtype may have changed

    def for_copies(self, k0, k1):
        """The same piece for copies [k0:k1] of a stack (fused_threads): views of their
        rows of theta and of its grads, buffers and an activation layer of its own."""
        piece = _FusedDense(self.dense, self.need_grad_x)
        piece.relu, piece.activation = self.relu, copy.copy(self.activation)
        piece.zeros = self.zeros  # read only: shared by the threads
        piece.bind(self.theta[k0:k1], self.grad_theta[k0:k1])
        return piece

    def slot_for(self, shape):
        """The _Slot for an input of shape (..., N, in), made once per shape: in the memory
        of a slot for more rows where there is one (the epoch's shorter last batch then
        takes no memory of its own)."""
        found = self._slots.get(shape)
        if found is None:
            if len(self._slots) > 8:  # many batch sizes: start over rather than grow
                self._slots.clear()
            wider = [slot for other, slot in self._slots.items()
                     if other[:-2] == shape[:-2] and other[-1] == shape[-1]
                     and other[-2] > shape[-2]]
            parent = max(wider, key=lambda slot: slot.x1.shape[-2], default=None)
            found = self._slots[shape] = _Slot(self, shape, parent)
        return found

    def forward(self, x, training=True):
        xp, slot = self.xp, self._slots.get(x.shape) or self.slot_for(x.shape)
        self.slot = slot
        if x is not slot.x_in:  # the ReLU below writes into x_in itself
            slot.x_in[...] = x
        slot.forward_product()  # z = x1 @ theta
        z = slot.z
        if self.relu:
            if slot.y is None:  # the array API, nothing above: a new array
                return xp.maximum(z, 0.0)
            if self.writes_out:
                return xp.maximum(z, slot.zeros, out=slot.y)
            slot.y[...] = xp.maximum(z, 0.0)
            return slot.y
        return z if self.activation is None else self.activation.forward(z, training)

    def backward(self, grad_y):
        xp, slot = self.xp, self.slot
        if self.relu:  # grad_y is the step's own: times dy/dz = [z > 0], in place
            if self.writes_out:
                grad_y *= _relu_mask(xp, slot)
            else:
                grad_y *= xp.astype(slot.z > 0.0, grad_y.dtype)
            g = grad_y
        else:
            g = grad_y if self.activation is None else self.activation.backward(grad_y)
        slot.grad_theta_product(g)  # grad_theta = x1^T g
        if not self.need_grad_x:
            return None
        slot.grad_x_product(g)  # grad_x = g W^T
        grad_x = slot.grad_x
        if grad_x.ndim > slot.x1.ndim:  # x (N, in) was shared by K copies: sum their pulls
            grad_x = xp.sum(grad_x, axis=0)
        return grad_x


def _relu_mask(xp, slot):
    """dy/dz = [z > 0] of a ReLU y = max(z, 0) as floats, written over z (not needed after).

    Small NumPy arrays (up to SIGN_MASK_SIZE elements): sign(y), one float loop. It is
    [z > 0]: y >= 0, and maximum(-0.0, 0.0) gives the +0.0 it compared with, so
    sign(y) is 1 where z > 0 and 0 elsewhere; NaN where z is NaN, whose row's
    gradient is NaN already. greater(z, 0) casts its bool result to floats, which
    costs about 1 us of setup per call: a (64, 10) mask takes 0.6 us against 1.5
    (four per update of the post's network). Larger ones: greater's SIMD loop,
    faster there (a (256, 64, 10) mask 28 us against sign's 69).
    """
    if xp is np and slot.z.size <= SIGN_MASK_SIZE:
        return np.sign(slot.y, out=slot.z)
    return xp.greater(slot.z, 0.0, out=slot.z)


class _Zeros:
    """Zeros for a step's ReLUs: one flat buffer seen in every shape, ``of(xp, shape,
    dtype, by_column)`` a view of its start, contiguous by row or by column. It is
    made for the rows asked for times ``widest`` (the widest ReLU's units, set when
    the step binds), so one buffer serves every layer of a batch shape and every
    shorter batch; a larger shape makes a new one (the views made before keep the
    old)."""

    def __init__(self):
        self.flat, self.widest = None, 1

    def __getstate__(self):
        return {"flat": None, "widest": self.widest}  # a copy makes its own

    def of(self, xp, shape, dtype, by_column=False):
        """Zeros of ``shape``; by_column: laid out as _Slot's by-column buffers are."""
        size = math.prod(shape)
        flat = self.flat
        if (flat is None or flat.shape[0] < size or flat.dtype != dtype
                or backend.namespace(flat) is not xp):
            rows = math.prod(shape[:-1])
            flat = self.flat = xp.zeros((rows * max(self.widest, shape[-1]),), dtype=dtype)
        if by_column:
            return xp.swapaxes(xp.reshape(flat[:size], _swapped(shape)), -1, -2)
        return xp.reshape(flat[:size], shape)


def _matmul_copied(a, b, out):
    """out = a @ b, returned: matmul(a, b, out=out) on a namespace without out=."""
    out[...] = a @ b
    return out


class _Slot:
    """A _FusedDense's buffers for inputs of one shape (..., N, in).

    x1 = [x, 1] (..., N, in + 1) and x_in its first in columns (a view); z
    (..., N, units), which a ReLU's backward overwrites with its float mask
    [z > 0]; y where the ReLU writes (x_in of the Dense above, or a buffer of
    its own; None on the array API where there is no Dense above) and zeros
    (..., N, units) of the step's _Zeros, which it compares z with (NumPy and
    CuPy); grad_x (..., N, in); x1_t and w_t the transposed views the
    products read; forward_product, grad_theta_product and grad_x_product
    the products into these buffers (_products).

    Layout (NumPy): where a ReLU writes a whole block of columns the
    buffers are stored by column, each (N, c) matrix column after column: the
    z of a ReLU Dense with a Dense above, its zeros, and that Dense's x1 and
    grad_x. So the ReLU's max(z, 0) into x_in, its mask and the gradient's
    product are each one loop over contiguous memory; stored by row, x_in is
    one short strided row per sample (a (256, 64, 10) ReLU: 64 against 26 us).
    The products read either layout at the same speed (BLAS takes the
    transposes). The first x1 (the data's rows are copied in) and the z the
    softmax head works in stay by row, and so does every buffer on CuPy, whose
    matmul copies an operand or output that is not C-contiguous.

    With a ``parent`` (a slot for more rows, same copies and width) a buffer
    by row is the start of the parent's memory seen in this shape, a contiguous
    view (the first rows of a stack's buffers would not be contiguous and made
    its last batch as slow as a full one); a buffer by column is its own array
    (the parent's first rows, each column's start, would be neither C- nor
    F-contiguous, and BLAS rounds a product of such an operand differently:
    _buffer). The two slots overwrite each other's buffers by row, which is
    safe: everything is written before it is read at every step, but x1's
    column of ones, which both see at the same place (their rows are the same
    rows of in + 1 numbers in memory), and no write touches it.
    """

    def __init__(self, piece, shape, parent=None):
        xp, theta, dtype = piece.xp, piece.theta, piece.theta.dtype
        lead = shape[:-2] if len(shape) - 2 >= theta.ndim - 2 else theta.shape[:-2]
        n, units = shape[-2], theta.shape[-1]
        out_shape = lead + (n, units)
        self.xp, self.dtype = xp, dtype
        # by column where a ReLU writes a whole block of columns (x_in above, z below)
        columns_in = piece.fed_by_relu and piece.by_column
        columns_out = piece.above is not None and piece.by_column
        self.x1 = self._buffer(shape[:-1] + (theta.shape[-2],), parent, "x1", xp.ones,
                               by_column=columns_in)
        self.x_in = self.x1[..., :piece.in_dim]
        self.x1_t = self.x1.T if self.x1.ndim == 2 else xp.matrix_transpose(self.x1)
        w = theta[..., :piece.in_dim, :]  # .T of a matrix: cheaper than matrix_transpose
        self.w_t = w.T if w.ndim == 2 else xp.matrix_transpose(w)
        self.z = self._buffer(out_shape, parent, "z", by_column=columns_out)
        self.y = self.grad_x = self.zeros = None
        if piece.relu:
            if piece.above is not None:
                self.y = piece.above.slot_for(out_shape).x_in
            elif piece.writes_out:
                self.y = self._buffer(out_shape, parent, "y")
            if piece.writes_out:
                self.zeros = piece.zeros.of(xp, out_shape, dtype, by_column=columns_out)
        if piece.need_grad_x:
            self.grad_x = self._buffer(lead + (n, piece.in_dim), parent, "grad_x",
                                       by_column=columns_in)
        self.forward_product, self.grad_theta_product, self.grad_x_product = _products(
            piece, self)

    def _buffer(self, shape, parent, name, make=None, by_column=False):
        """A new array of ``shape`` (xp.empty, or ``make``), or the start of the parent's.

        by_column: each (rows, cols) matrix stored column after column (the last two
        axes swapped in memory), so a block of its first columns is contiguous; always
        an array of its own, parent or not. The parent's first rows would be neither
        C- nor F-contiguous, and BLAS sums a product with such an operand in another
        order (a (4, 7) @ (7, 1) head differed from the stacked copy's in the last bit,
        tests/test_sweep.py); the shorter batch's own by-column buffers cost little.
        """
        xp = self.xp
        if by_column:
            return xp.swapaxes((make or xp.empty)(_swapped(shape), dtype=self.dtype), -1, -2)
        if parent is not None:
            size = math.prod(shape)
            return xp.reshape(xp.reshape(getattr(parent, name), (-1,))[:size], shape)
        return (make or xp.empty)(shape, dtype=self.dtype)


def _products(piece, slot):
    """A slot's three products, each a call that writes into the slot's buffers:
    forward() z = x1 @ theta, grad_theta(g) = x1^T g, grad_x(g) = g W^T (None
    without grad_x).

    The piece's matmul; for one model on NumPy (piece.dot) ndarray.dot wherever it
    can write the buffer: the same BLAS call as matmul's, so the same numbers bit
    for bit (tested), without matmul's ~0.6 us of ufunc setup, half of a
    (64, 11) @ (11, 10)'s time (14 products per update of the post's network;
    the method, as np.dot's __array_function__ dispatch costs 0.2 us more, and
    out given by position). dot writes only into a C-contiguous array, so a
    buffer stored by column takes the transposed product, z^T = theta^T x1^T and
    grad_x^T = W g^T.
    """
    return (_forward_product(piece, slot), _grad_theta_product(piece, slot),
            None if slot.grad_x is None else _grad_x_product(piece, slot))


def _forward_product(piece, slot):
    """() writing z = x1 @ theta (_products)."""
    x1, theta, z = slot.x1, piece.theta, slot.z
    if piece.dot and z.flags.c_contiguous:
        return partial(x1.dot, theta, z)
    if piece.dot and z.T.flags.c_contiguous:  # z^T = theta^T x1^T
        return partial(theta.T.dot, slot.x1_t, z.T)
    return partial(piece.matmul, x1, theta, out=z)


def _grad_theta_product(piece, slot):
    """g -> writing grad_theta = x1^T g (_products)."""
    x1_t, grad_theta = slot.x1_t, piece.grad_theta
    if piece.dot and grad_theta.flags.c_contiguous:  # a view of the flat grads: it is
        def product(g):
            return x1_t.dot(g, grad_theta)
        return product
    return partial(piece.matmul, x1_t, out=grad_theta)


def _grad_x_product(piece, slot):
    """g -> writing grad_x = g W^T (_products)."""
    w_t, grad_x, matmul = slot.w_t, slot.grad_x, piece.matmul
    if piece.dot and grad_x.flags.c_contiguous:
        def product(g):
            return g.dot(w_t, grad_x)
    elif piece.dot and grad_x.T.flags.c_contiguous:  # grad_x^T = W g^T
        w, grad_x_t = w_t.T, grad_x.T

        def product(g):
            return w.dot(g.T, grad_x_t)
    else:
        def product(g):
            return matmul(g, w_t, out=grad_x)
    return product


def _swapped(shape):
    """``shape`` with its last two axes swapped."""
    return shape[:-2] + (shape[-1], shape[-2])
