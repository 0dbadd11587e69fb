"""The NumPy floor: a hand-written SGD step for one ReLU/softmax network, fewest array calls.

Not tinynet: the least a NumPy program can do per update for a small dense
network (issue 20), so every run can show how far tinynet's step is above it.
No input checks, no loss, no metrics; the same maths as tinynet's SGD step
with softmax + categorical cross-entropy (tests/test_benchmarks.py holds the
two equal in float64):

- the bias folded into the product: every layer's input carries a column of
  ones, and its matrix theta_l (in + 1, out) holds W_l over b_l, so
  z = [a, 1] @ theta_l is one call and grad_theta_l = [a, 1]^T g gives
  grad_W and grad_b at once;
- every array preallocated per batch size: products write with ``out=``,
  ReLU writes max(z, 0) straight into the next layer's input buffer, and its
  mask [z > 0] is read from z (contiguous; the input buffer's view is not);
- dL/dz at the head is lr * (p - y) / N (the rate folded in), so the grads
  are the steps, and all parameters are views of one flat buffer updated by
  a single ``theta -= steps``.

About 34 NumPy calls per update for 2-10-10-10-10-4. That is the floor issue 20
describes, and its goal 2 is measured against it. ``by_column=True`` is a
faster floor with the same calls: the layout tinynet's fused step found (each
hidden layer's buffers stored column after column, so ReLU writes its block
of columns as contiguous memory), max(z, 0) against a buffer of zeros (SIMD,
where the scalar is not), and the ReLU mask a float one written over z:
sign(a) of the ReLU's output a = max(z, 0), one float loop (a bool mask makes
the product a mixed-type loop, and greater(z, 0) into floats pays for a cast),
and every product through ndarray.dot, matmul's BLAS call without its ufunc
setup (about 0.6 us a call less; dot writes only C-contiguous arrays, so a
by-column result is written as its transpose, z^T = theta^T [a, 1]^T).
It shows how far any NumPy program of this shape can go here.
"""

import numpy as np


class FloorNet:
    """theta: one flat float buffer; thetas[l] (in_l + 1, out_l) views of it (W_l over b_l).

    weights: [W0, b0, W1, b1, ...] as tinynet's get_weights gives them (copied).
    The head is softmax, every hidden layer ReLU.
    """

    def __init__(self, weights, learning_rate, dtype=np.float32, by_column=False):
        shapes = [(w.shape[0] + 1, w.shape[1]) for w in weights[0::2]]
        sizes = [a * b for a, b in shapes]
        self.theta = np.empty(sum(sizes), dtype=dtype)
        self.steps = np.empty_like(self.theta)
        self.thetas, self.step_views = [], []
        start = 0
        for (a, b), size, w, bias in zip(shapes, sizes, weights[0::2], weights[1::2]):
            view = self.theta[start:start + size].reshape(a, b)
            view[:-1], view[-1] = w, bias
            self.thetas.append(view)
            self.step_views.append(self.steps[start:start + size].reshape(a, b))
            start += size
        self.widths = [a - 1 for a, _ in shapes] + [shapes[-1][1]]
        self.learning_rate = float(learning_rate)
        self.dtype = np.dtype(dtype)
        self.by_column = bool(by_column)
        self._buffers = {}

    def weights(self):
        """[W0, b0, W1, b1, ...] as copies, to compare with tinynet's get_weights."""
        out = []
        for view in self.thetas:
            out += [view[:-1].copy(), view[-1].copy()]
        return out

    def buffers(self, n):
        """Per batch size n: inputs [a_l, 1] (n, in_l + 1), z_l and grads (n, out_l), ReLU's
        right-hand operands (0.0 or zeros) and masks (bool, or by column z itself)."""
        found = self._buffers.get(n)
        if found is None:
            found = self._buffers[n] = self._make_buffers(n)
        return found

    def _make_buffers(self, n):
        hidden, dtype = self.widths[1:-1], self.dtype
        if self.by_column:  # (n, c) views of (c, n) arrays: each column contiguous
            def array(c, fill):
                return np.full((c, n), fill, dtype=dtype).T
        else:
            def array(c, fill):
                return np.full((n, c), fill, dtype=dtype)
        inputs = [np.ones((n, self.widths[0] + 1), dtype=dtype)]  # the data's rows: by row
        inputs += [array(c + 1, 1.0) for c in hidden]
        last = [np.empty((n, self.widths[-1]), dtype=dtype)]  # the softmax works by row
        z = [array(c, 0.0) for c in hidden] + last
        grads = [array(c, 0.0) for c in hidden] + [np.empty_like(last[0])]
        if self.by_column:
            zeros = array(max(hidden, default=1), 0.0)
            relu_rhs, masks = [zeros[:, :c] for c in hidden], z[:-1]
        else:
            relu_rhs = [0.0] * len(hidden)
            masks = [np.empty((n, c), dtype=bool) for c in hidden]
        return {"inputs": inputs, "z": z, "grads": grads, "relu_rhs": relu_rhs,
                "masks": masks, "row": np.empty((n, 1), dtype=dtype),
                # ndarray.dot writes only C-contiguous arrays: by column, the transposes
                "inputs_t": [None] + [a.T for a in inputs[1:]], "z_t": [a.T for a in z],
                "grads_t": [a.T for a in grads], "kernels": [t[:-1] for t in self.thetas],
                "thetas_t": [t.T for t in self.thetas]}

    def load(self, x):
        """A batch's rows of x written into its input buffer [x, 1] (the caller's x kept)."""
        buf = self.buffers(x.shape[0])
        buf["inputs"][0][:, :-1] = x
        return buf["inputs"][0]

    def step(self, x1, y):
        """One SGD update on x1 = [x, 1] (n, in + 1) (a ``load``ed buffer) and one-hot y (n, C)."""
        n = x1.shape[0]
        buf = self.buffers(n)
        inputs, grads, masks, zs = buf["inputs"], buf["grads"], buf["masks"], buf["z"]
        relu_rhs = buf["relu_rhs"]
        thetas, last = self.thetas, len(self.thetas) - 1
        inputs = [x1] + inputs[1:]
        dot = self.by_column  # the products through ndarray.dot, without matmul's setup
        inputs_t = [x1.T] + buf["inputs_t"][1:]
        for i in range(last):  # z = [a, 1] @ theta, relu straight into the next input
            if dot:  # z^T = theta^T [a, 1]^T
                buf["thetas_t"][i].dot(inputs_t[i], buf["z_t"][i])
            else:
                np.matmul(inputs[i], thetas[i], out=zs[i])
            np.maximum(zs[i], relu_rhs[i], out=inputs[i + 1][:, :-1])
        z = zs[last]
        if dot:
            inputs[last].dot(thetas[last], z)
        else:
            np.matmul(inputs[last], thetas[last], out=z)
        np.max(z, axis=1, keepdims=True, out=buf["row"])
        np.subtract(z, buf["row"], out=z)
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=buf["row"])
        np.divide(z, buf["row"], out=z)  # z now holds p = softmax
        g = grads[-1]
        np.subtract(z, y, out=g)
        np.multiply(g, self.learning_rate / n, out=g)  # lr * dL/dz: the grads are the steps
        for i in range(last, -1, -1):
            if dot:
                inputs_t[i].dot(g, self.step_views[i])
            else:
                np.matmul(inputs[i].T, g, out=self.step_views[i])
            if i == 0:
                break
            below = grads[i - 1]
            if dot:  # below^T = W g^T
                buf["kernels"][i].dot(g.T, buf["grads_t"][i - 1])
            else:
                np.matmul(g, thetas[i][:-1].T, out=below)
            if self.by_column:  # [z > 0] = sign(a) for a = max(z, 0) >= 0: no bool cast
                np.sign(inputs[i][:, :-1], out=masks[i - 1])
            else:
                np.greater(zs[i - 1], 0.0, out=masks[i - 1])  # [z > 0] = [max(z, 0) > 0]
            np.multiply(below, masks[i - 1], out=below)
            g = below
        self.theta -= self.steps

    def epoch(self, x1_all, y_all, order, batch_size):
        """Every update of one epoch over the rows ``order`` of [x, 1] and y (gathered once)."""
        n = order.shape[0]
        key = ("epoch", n)
        if key not in self._buffers:
            self._buffers[key] = (np.empty((n, x1_all.shape[1]), dtype=x1_all.dtype),
                                  np.empty((n, y_all.shape[1]), dtype=y_all.dtype))
        xs, ys = self._buffers[key]
        np.take(x1_all, order, axis=0, out=xs)
        np.take(y_all, order, axis=0, out=ys)
        for start in range(0, n, batch_size):
            self.step(xs[start:start + batch_size], ys[start:start + batch_size])


def with_ones(x):
    """[x, 1]: x (n, in) with a column of ones appended, for the folded bias."""
    return np.concatenate([x, np.ones((x.shape[0], 1), dtype=x.dtype)], axis=1)
