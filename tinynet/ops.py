"""Array helpers shared by the layers and the losses.

Each takes arrays of any backend (NumPy, CuPy, array_api_strict) and asks them
for their namespace; shapes are (..., C) with the reduction over the last axis.
"""

from tinynet.backend import namespace


def sigmoid(x):
    """Overflow-free logistic function of an array."""
    xp = namespace(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(x):
    """Row-wise softmax over the last axis, shifted by the row maximum."""
    xp = namespace(x)
    e = xp.exp(x - row_max(x))
    e /= row_sum(e)  # e is ours: normalise in place
    return e


def log_where(y, p):
    """log p where y != 0, and 0 where y == 0 (so 0 * log 0 counts as 0, not NaN)."""
    xp = namespace(p)
    return xp.where(y != 0, xp.log(xp.where(y != 0, p, 1.0)), 0.0)


# --- reductions over a short last axis ------------------------------------------
# NumPy reduces the last axis one row at a time, which dominates when rows are
# short and many: for a (256, 64, 4) stack of class scores xp.sum takes ~270 us
# and xp.max ~600 us, against ~14 us for a @ 1 and ~45 us for row_max below.

_ONES = {}


def ones_vector(xp, n, dtype):
    """A ones vector (n,) of namespace xp, made once and kept: products with it are sums."""
    return _kept_ones(xp, (n,), dtype)


def ones_matrix(xp, n, dtype):
    """A ones matrix (n, n) of namespace xp, made once and kept (see ones_vector)."""
    return _kept_ones(xp, (n, n), dtype)


def _kept_ones(xp, shape, dtype):
    key = (xp, shape, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:  # many batch sizes: start over rather than grow
            _ONES.clear()
        ones = _ONES[key] = xp.ones(shape, dtype=dtype)
    return ones


def row_sum(a):
    """sum_c a[..., c] kept as an axis of length 1, written as a @ 1 (one BLAS call)."""
    return (a @ ones_vector(namespace(a), a.shape[-1], a.dtype))[..., None]


def row_sums_spread(a):
    """sum_c a[..., c] in every column: shape of a, written as a @ 1 1^T (one BLAS call).

    Dividing or multiplying a by it is a loop over two arrays of a's shape;
    by row_sum's (..., 1) it is one short loop per row, which on rows of up to
    16 costs more than this product: for (64, 4) 1.1 + 0.6 us against
    1.1 + 1.8 us, for (256, 64, 4) 48 + 11 us against 22 + 69 us. Longer rows:
    row_sum, whose broadcast is cheap there (and the C x C product is not).
    """
    c = a.shape[-1]
    if c > 16:
        return row_sum(a)
    return a @ ones_matrix(namespace(a), c, a.dtype)


def row_max(a):
    """max_c a[..., c] kept as an axis of length 1.

    Rows of up to 16: a running elementwise maximum over the columns, C - 1
    passes over (..., 1) slices (NumPy runs each as one flat loop). Folding
    halves onto each other takes fewer passes but is slower: a (..., h) slice
    is h elements per row in its inner loop (5x slower on (256, 64, 4), 2x
    on (800, 4)). Longer rows: xp.max, which is faster there.
    """
    xp = namespace(a)
    c = a.shape[-1]
    if c > 16:
        return xp.max(a, axis=-1, keepdims=True)
    m = a[..., :1]
    for j in range(1, c):
        m = xp.maximum(m, a[..., j:j + 1])
    return m
