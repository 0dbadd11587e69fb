"""Every Dense's kernel and bias as views of one buffer: theta_l = [W_l; b_l].

The fused step (tinynet.fused) keeps a model's Dense parameters in one flat
buffer, layer after layer, each layer's block shaped

    theta_l (in_l + 1, out_l) = W_l (in_l, out_l) over b_l (out_l,)

((in_l, out_l) alone for a Dense without bias), with a leading axis of K for
a stack of K copies: values (P,) or (K, P), P = sum_l (in_l + 1) out_l. The
layer's ``params["kernel"]`` and ``params["bias"]`` are views of it: theta_l's
first in_l rows and its last row. So

- z = [x, 1] @ theta_l is the layer's x @ W + b in one product (the input
  carries a column of ones);
- grad_theta_l = [x, 1]^T @ g holds grad_W over grad_b (grad_b = 1^T g), one
  product, written into the same layout of ``grads``;
- an update rule that keeps nothing per parameter (plain SGD) updates every
  parameter at once: values -= lr * grads, two array calls for any depth.

Views, not copies: whoever replaces ``layer.params[name]`` (set_weights, a lab
tool that swaps in float64) leaves the buffer behind; ``current()`` notices
(each parameter is looked up and compared by identity, no array call) and
``adopt()`` copies the layers' values back in and makes them views again; both
point the layers' grads at the buffer's grads.
"""


class FlatParameters:
    """One buffer for the parameters of ``denses`` (Dense layers, built alike: all
    stacked with the same K, or none), on the namespace and dtype of their kernels.

    values, grads: (P,) or (K, P); thetas[l], grad_thetas[l]: theta_l's views,
    (..., in_l + 1, out_l) ((..., in_l, out_l) without bias).
    """

    def __init__(self, denses, xp):
        self.denses, self.xp = denses, xp
        kernel = denses[0].params["kernel"]
        self.lead = tuple(kernel.shape[:-2])  # () or (K,)
        shapes = [_block(dense) for dense in denses]
        total = sum(rows * cols for rows, cols in shapes)
        self.values = xp.empty(self.lead + (total,), dtype=kernel.dtype)
        self.grads = xp.zeros(self.lead + (total,), dtype=kernel.dtype)
        self.thetas, self.grad_thetas = [], []
        start = 0
        for rows, cols in shapes:
            stop = start + rows * cols
            self.thetas.append(self._block_view(self.values, start, stop, rows, cols))
            self.grad_thetas.append(self._block_view(self.grads, start, stop, rows, cols))
            start = stop
        self.views = [_split(theta, dense) for theta, dense in zip(self.thetas, denses)]
        self.grad_views = [_split(g, dense) for g, dense in zip(self.grad_thetas, denses)]
        self._each = [(dense, name, view, grad_views[name])
                      for dense, views, grad_views in zip(denses, self.views, self.grad_views)
                      for name, view in views.items()]
        self.adopt()

    def _block_view(self, flat, start, stop, rows, cols):
        """flat[..., start:stop] seen as (..., rows, cols), a view (never a copy)."""
        return self.xp.reshape(flat[..., start:stop], self.lead + (rows, cols))

    def fits(self, denses):
        """True when these layers' parameters still have the shapes and dtype of the buffer."""
        return all(_same_layout(dense, views, self.values.dtype)
                   for dense, views in zip(denses, self.views))

    def current(self):
        """True when every layer's params are still this buffer's views (by identity);
        on the way each layer's grads are made the views of ``grads`` again (the plain
        step replaces them), so after True both are the buffer's. One loop, no array
        call: this runs at every step."""
        for dense, name, view, grad_view in self._each:
            if dense.params.get(name) is not view:
                return False
            dense.grads[name] = grad_view
        return True

    def adopt(self):
        """Copy every layer's parameters into the buffer and make them, and the layers'
        grads, its views again."""
        for dense, name, view, grad_view in self._each:
            value = dense.params[name]
            if value is not view:
                view[...] = value
                dense.params[name] = view
            dense.grads[name] = grad_view


def _block(dense):
    """(rows, cols) of a Dense's theta: (in + 1, out) with a bias, else (in, out)."""
    rows, cols = dense.params["kernel"].shape[-2:]
    return rows + (1 if dense.use_bias else 0), cols


def _split(theta, dense):
    """{"kernel": W, "bias": b} as views of theta (..., in [+ 1], out)."""
    rows = dense.params["kernel"].shape[-2]
    views = {"kernel": theta[..., :rows, :]}
    if dense.use_bias:
        views["bias"] = theta[..., rows, :]
    return views


def _same_layout(dense, views, dtype):
    return all(name in dense.params and dense.params[name].shape == view.shape
               and dense.params[name].dtype == dtype for name, view in views.items())
