"""Losses: cross-entropies and mean squared error, reduced by a mean over samples.

Shapes: y_pred (N, C), or (K, N, C) for K stacked models; targets are encoded
once on the host to (N, C) (``encode``) and broadcast over K. The value is one
number per model: a 0-d array, or shape (K,).

``forward(y_true, y_pred)`` returns the loss (a float, or a NumPy (K,) array) and
caches what ``backward()`` needs; ``backward()`` returns d(mean loss)/d(y_pred),
the 1/N included. The model calls the device-side ``value`` instead, which
skips the host copy and the re-encoding of targets.
"""

import warnings

import numpy as np

from tinynet import _checks, backend
from tinynet.ops import log_where

EPSILON = 1e-7  # Keras's clipping constant for probabilities
SUM_TOLERANCE = 1e-5  # a one-hot/soft-label row may sum to 1 within float32 rounding


class Loss:
    """Base class. Subclasses implement ``encode``, ``value`` and ``backward``."""

    from_logits = False

    def __call__(self, y_true, y_pred):
        return self.forward(y_true, y_pred)

    def forward(self, y_true, y_pred):
        """The mean loss of ``y_pred`` against ``y_true`` (raw labels or one-hot).

        y_pred (N, C), or (K, N, C) for K stacked models: an array of the active
        backend is used as it is; a list or other array-like becomes one in
        tn.get_dtype(). y_true: the targets ``encode`` takes, N rows. The entry
        for users: fit and evaluate call ``value`` on checked device arrays.
        """
        owner = type(self).__name__
        y_pred = _predictions(y_pred, owner)
        n_out = y_pred.shape[-1]
        try:
            y = self.encode(backend.to_numpy(y_true), n_out, owner=owner)
        except (TypeError, ValueError) as exc:
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind(f"{exc} (y is y_true here, of shape {np.shape(y_true)}, against "
                            f"y_pred of shape {tuple(y_pred.shape)}.)") from None
        if y.shape[0] != y_pred.shape[-2]:
            raise ValueError(
                f"{owner}: y_true has {y.shape[0]} rows but y_pred has {y_pred.shape[-2]} "
                f"(shape {tuple(y_pred.shape)}); give one target per row of y_pred."
            )
        xp = backend.namespace(y_pred)
        y = xp.asarray(y, dtype=y_pred.dtype)
        return backend.to_float(self.value(y, y_pred))

    def encode(self, y, n_out, owner):
        """Host targets -> float array (N, n_out), checked against the loss."""
        raise NotImplementedError

    def get_config(self):
        return {"from_logits": self.from_logits} if self.from_logits else {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _predictions(y_pred, owner):
    """y_pred as an array, (N, C) or (K, N, C) with N, C >= 1; ValueError otherwise."""
    if not (hasattr(y_pred, "__array_namespace__") and hasattr(y_pred, "shape")
            and backend.namespace(y_pred).isdtype(y_pred.dtype, "real floating")):
        y_pred = backend.to_device(_checks.host_array(
            y_pred, "y_pred", owner, dtype="float", finite=False, empty=True))
    shape = tuple(y_pred.shape)
    if len(shape) not in (2, 3) or 0 in shape:
        raise ValueError(
            f"{owner}: y_pred must be (N, C), one row of C outputs per sample, or (K, N, C) "
            f"for K stacked models, with N, C >= 1; got shape {shape}. One output per "
            "sample is (N, 1): write [[p] for p in y_pred] or y_pred[:, None].")
    return y_pred


def _before_forward(loss):
    """The error of a backward that has no forward to differentiate."""
    return ValueError(
        f"{type(loss).__name__}.backward: call forward(y_true, y_pred) first; backward "
        "returns d(mean loss)/d(y_pred) for the batch that forward saw last.")


def _columns(y, n_out, owner, what, checked=True):
    """(N,) or (N, n_out) targets as a float (N, n_out) array.

    checked=False leaves the values' check (finite, within the compute dtype)
    to the caller, who has a cheaper one that implies it.
    """
    y = _checks.host_array(y, "y", owner, ndim=(1, 2), dtype="float", finite=checked,
                           compute=checked)
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(
            f"{owner}: y must have shape (N, {n_out}) to match the model's {n_out} "
            f"output(s) ({what}), got shape {y.shape}."
        )
    return y


def _rows(rows):
    """'3' or '3 (and 4 more rows)': which target rows are wrong."""
    more = f" (and {rows.size - 1} more row(s))" if rows.size > 1 else ""
    return f"{int(rows[0])}{more}"


def _refuse_integer_labels(y, n_out, owner):
    """Integer labels (N,) given to the categorical loss: say which loss they need."""
    shape = np.shape(y)
    if n_out < 2 or len(shape) != 1:
        return
    labels = _checks.host_array(y, "y", owner, ndim=1, finite=False, empty=True)
    whole = labels.dtype.kind in "iu" or np.all(labels == np.round(labels))
    if whole:
        raise ValueError(
            f"{owner}: y holds integer labels of shape {labels.shape}, but "
            f"categorical_crossentropy needs one-hot rows of shape (N, {n_out}). Use "
            "loss='sparse_categorical_crossentropy' for integer labels, or encode them with "
            f"tn.data.one_hot(y, {n_out})."
        )


class CategoricalCrossentropy(Loss):
    """L = -mean_n sum_c y_nc log p_nc, y one-hot (or soft) of shape (N, C).

    from_logits=True: log p = z - logsumexp(z), computed with the row maximum
    subtracted, so logits of size 1e4 stay finite; grad = (softmax(z) sum_c y - y) / N
    (torch.nn.CrossEntropyLoss, tf.keras with from_logits=True).

    from_logits=False, y_pred are probabilities, and ``probabilities`` says how
    they are treated:
    - "clip" (default; Keras): q = y_pred / sum_c y_pred, then clipped to
      [1e-7, 1 - 1e-7], L = -mean_n sum_c y log clip(q); the gradient is 0 where
      the clip is active. Standalone Keras 2 and Keras 3 (on the torch and
      jax backends) do this. So a softmax that puts less than 1e-7 on the true
      class gets no gradient from that row: training can stall "at the clip".
    - "exact": no renormalisation and no clip, L = -mean_n sum_c y log y_pred,
      grad = -y / (N * y_pred). Through a softmax output, p = softmax(z), the
      chain rule gives dL/dz = (p sum_c y - y) / N exactly, the log-softmax gradient that
      PyTorch and tf.keras (which takes the logits behind a softmax) use. The
      value is computed from log(p), so a p that underflows to exactly 0 on a
      true class gives an infinite loss (from_logits=True keeps it finite).

    Targets: rows of y are class probabilities, as PyTorch's CrossEntropyLoss
    takes them (one-hot, or soft labels such as label smoothing). A negative
    entry or a row that sums to 0 (it would train at loss 0) raises ValueError.
    A row that sums to s != 1 is accepted with a UserWarning: it acts as a soft
    label whose loss and gradient are scaled by s. Integer labels (N,) belong
    to SparseCategoricalCrossentropy, or to tn.data.one_hot(y, C) first.
    """

    PROBABILITIES = ("clip", "exact")
    _y_pred = None  # the batch of the last value(); backward needs it

    def __init__(self, from_logits=False, probabilities="clip"):
        self.from_logits = _checks.boolean(from_logits, "from_logits", type(self).__name__)
        self.probabilities = _checks.choice(probabilities, "probabilities", type(self).__name__,
                                            self.PROBABILITIES)

    @property
    def exact(self):
        """True when probabilities are used as they are (no renormalisation, no clip)."""
        return self.probabilities == "exact"

    def get_config(self):
        config = super().get_config()
        if self.probabilities != "clip":
            config["probabilities"] = self.probabilities
        return config

    def encode(self, y, n_out, owner):
        _refuse_integer_labels(y, n_out, owner)
        y = _columns(y, n_out, owner, "one-hot labels", checked=False)
        sums = y @ np.ones(n_out)  # the row sums, as one product (faster than a reduction)
        off = sums - 1.0
        # the usual case: finite probabilities >= 0, every row summing to 1 (a sum of
        # squares <= tol^2 implies each |row sum - 1| <= tol; NaN fails it)
        if off @ off <= SUM_TOLERANCE**2 and y.min() >= 0.0:
            return y
        _checks.host_array(y, "y", owner, compute=True)  # NaN, inf, beyond float32: say so
        negative = np.any(y < 0, axis=1)
        if np.any(negative):
            rows = np.flatnonzero(negative)
            low = float(np.min(y[rows[0]]))
            raise ValueError(
                f"{owner}: y row {_rows(rows)} has a negative value (min {low!r}); "
                "one-hot or soft-label rows must be class probabilities >= 0."
            )
        empty = sums == 0.0
        if np.any(empty):
            raise ValueError(
                f"{owner}: y row {_rows(np.flatnonzero(empty))} sums to 0 (no class is marked), "
                "so it would train at loss 0. Every one-hot row needs a 1 in its true class; "
                "drop unlabelled rows first."
            )
        off = np.abs(sums - 1.0) > SUM_TOLERANCE
        if np.any(off):
            first = int(np.flatnonzero(off)[0])
            warnings.warn(
                f"{owner}: {int(np.count_nonzero(off))} of {y.shape[0]} y rows do not sum to 1 "
                f"(row {first} sums to {sums[first]:.6g}); they are treated as soft labels and "
                "their loss is scaled by their sum. Divide each row by its sum to avoid this.",
                UserWarning, stacklevel=3,
            )
        return y

    # --- one entry per direction, one branch per mode, its formulas beside it -------
    def value(self, y, y_pred):
        """The mean loss, one number per model; caches what backward needs."""
        xp = backend.namespace(y_pred)
        self._y, self._y_pred = y, y_pred
        if self.from_logits:
            # log p = z - logsumexp(z), the row maximum taken out first
            shifted = y_pred - xp.max(y_pred, axis=-1, keepdims=True)
            log_p = shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
            self._p = xp.exp(log_p)
        elif self.exact:
            # log p as given (0 log 0 = 0)
            log_p = log_where(y, y_pred)
        else:
            # q = p / sum_c p, log clip(q, 1e-7, 1 - 1e-7)
            self._s = xp.sum(y_pred, axis=-1, keepdims=True)
            self._q = y_pred / self._s
            log_p = xp.log(xp.clip(self._q, EPSILON, 1.0 - EPSILON))
        # L = -(1/N) sum_n sum_c y_nc log p_nc
        return xp.mean(-xp.sum(y * log_p, axis=-1), axis=-1)

    def backward(self):
        """dL/d(y_pred), the 1/N included, for the batch of the last ``value``."""
        if self._y_pred is None:
            raise _before_forward(self)
        xp = backend.namespace(self._y_pred)
        y, n = self._y, self._y_pred.shape[-2]
        if self.from_logits:
            # dL/dz = (softmax(z) sum_c y_c - y) / N
            return (self._p * xp.sum(y, axis=-1, keepdims=True) - y) / n
        if self.exact:
            # dL/dp = -y / (N p), and 0 where y == 0 (even where p == 0)
            p = self._y_pred
            return xp.where(y != 0, -y / xp.where(y != 0, p, 1.0), 0.0) / n
        # "clip": with u = -y / q inside the clip and 0 outside it (the clip has
        # slope 0 there), the chain rule through q = p / s, s = sum_c p_c, gives
        #   dL/dp_c = (u_c - sum_k u_k q_k) / (s N)
        q = self._q
        inside = (q >= EPSILON) & (q <= 1.0 - EPSILON)
        u = xp.where(inside, -y / xp.clip(q, EPSILON, 1.0), 0.0)
        return (u - xp.sum(u * q, axis=-1, keepdims=True)) / (self._s * n)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer labels y in [0, C), shape (N,) or (N, 1).

    The labels are one-hot encoded once; the maths is CategoricalCrossentropy's.
    """

    def encode(self, y, n_out, owner):
        y = _checks.host_array(y, "y", owner, ndim=(1, 2))
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                f"{owner}: sparse labels must have shape (N,) or (N, 1), got {y.shape}."
            )
        if y.size and (np.any(y != np.round(y)) or y.min() < 0 or y.max() >= n_out):
            bad = y[(y != np.round(y)) | (y < 0) | (y >= n_out)][0]
            raise ValueError(
                f"{owner}: labels must be integers in [0, {n_out}) for {n_out} outputs, "
                f"got {bad!r}."
            )
        return np.eye(n_out)[y.astype(np.int64)]


class BinaryCrossentropy(Loss):
    """L = -mean over all elements of y log p + (1 - y) log(1 - p), y in [0, 1].

    from_logits=False (Keras): p clipped to [1e-7, 1 - 1e-7], zero gradient
    where clipped; grad = (p - y) / (p (1 - p)) / (N * D).
    from_logits=True: L = max(z, 0) - z y + log(1 + exp(-|z|)) (no overflow);
    grad = (sigmoid(z) - y) / (N * D).
    """

    _y_pred = None  # the batch of the last value(); backward needs it

    def __init__(self, from_logits=False):
        self.from_logits = _checks.boolean(from_logits, "from_logits", type(self).__name__)

    def encode(self, y, n_out, owner):
        y = _columns(y, n_out, owner, "targets in [0, 1]")
        if np.any((y < 0) | (y > 1)):
            raise ValueError(
                f"{owner}: binary targets must lie in [0, 1], got values in "
                f"[{y.min()}, {y.max()}]."
            )
        return y

    def value(self, y, y_pred):
        xp = backend.namespace(y_pred)
        self._y, self._y_pred = y, y_pred
        if self.from_logits:
            z = y_pred
            per = xp.maximum(z, 0.0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))
        else:
            p = xp.clip(y_pred, EPSILON, 1.0 - EPSILON)
            per = -(y * xp.log(p) + (1.0 - y) * xp.log(1.0 - p))
        return xp.mean(xp.mean(per, axis=-1), axis=-1)

    def backward(self):
        if self._y_pred is None:
            raise _before_forward(self)
        xp = backend.namespace(self._y_pred)
        y, z = self._y, self._y_pred
        size = z.shape[-2] * z.shape[-1]
        if self.from_logits:
            e = xp.exp(-xp.abs(z))
            return (xp.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e)) - y) / size
        inside = (z >= EPSILON) & (z <= 1.0 - EPSILON)
        p = xp.clip(z, EPSILON, 1.0 - EPSILON)
        return xp.where(inside, (p - y) / (p * (1.0 - p)), 0.0) / size


class MeanSquaredError(Loss):
    """L = mean over all elements of (y_pred - y)^2;  grad = 2 (y_pred - y) / (N * D)."""

    _diff = None  # y_pred - y of the last value(); backward needs it

    def encode(self, y, n_out, owner):
        return _columns(y, n_out, owner, "regression targets")

    def value(self, y, y_pred):
        xp = backend.namespace(y_pred)
        self._diff = y_pred - y
        return xp.mean(xp.mean(self._diff * self._diff, axis=-1), axis=-1)

    def backward(self):
        d = self._diff
        if d is None:
            raise _before_forward(self)
        return d * (2.0 / (d.shape[-2] * d.shape[-1]))


_BY_NAME = {
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}


def get(identifier):
    """A Loss from an instance, a Keras name, or a config dict."""
    return _checks.lookup(identifier, Loss, _BY_NAME, "compile", "loss")


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}

