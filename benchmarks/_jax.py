"""JAX as a peer: the seed network's SGD step, its epoch as one ``lax.scan``, K of them vmapped.

Never required: ``load_jax`` returns None with a note when JAX is missing or
not wanted (``--no-jax``). The networks are tinynet's (ReLU hidden layers,
softmax output, categorical cross-entropy, plain SGD) written the way JAX is
used: ``jax.grad`` of the mean loss, parameters as a list of (W, b) pairs.

Every function takes the learning rate as an argument (a float, or one per
copy under vmap).

- ``step``: one jitted update, called from a Python loop (one dispatch per batch);
- ``epoch``: one jitted call per epoch: the rows gathered in the epoch's order,
  ``lax.scan`` over the full batches, then the short last batch (its own
  shape, inside the same compiled function); returns the per-batch losses and
  accuracies, as fit reports them;
- ``stacked_epoch``: ``jit(vmap(epoch))`` over K parameter sets and K orders
  (each copy its own shuffle), the data shared.
"""

import os


def load_jax(args):
    """(jax, note): jax None when it is missing or skipped. CPU only (a peer of NumPy)."""
    if getattr(args, "no_jax", False):
        return None, "skipped (--no-jax)"
    if args.backend != "numpy":
        return None, "not measured on the GPU backend"
    if args.threads == 1:  # XLA's CPU thread pool, before jax is imported
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1").strip()
    try:
        import jax
    except ImportError:
        return None, "JAX is not installed: pip install jax to compare"
    jax.config.update("jax_platforms", "cpu")
    return jax, f"JAX {jax.__version__} on the CPU"


def params_from(jax, weights):
    """[(W, b), ...] as float32 JAX arrays from tinynet's [W0, b0, W1, b1, ...].

    Stacked weights ((K, in, out), (K, out)) give stacked pairs, as stacked_epoch takes.
    """
    jnp = jax.numpy
    return [(jnp.asarray(w, dtype=jnp.float32), jnp.asarray(b, dtype=jnp.float32))
            for w, b in zip(weights[0::2], weights[1::2])]


def _loss_and_accuracy(jax, params, x, y):
    """Mean categorical cross-entropy of softmax(z), and the batch accuracy (aux)."""
    jnp = jax.numpy
    h = x
    for w, b in params[:-1]:
        h = jax.nn.relu(h @ w + b)
    w, b = params[-1]
    z = h @ w + b
    loss = -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z), axis=-1))
    accuracy = jnp.mean(jnp.argmax(z, axis=-1) == jnp.argmax(y, axis=-1))
    return loss, accuracy


def _update(jax):
    """update(params, x, y, lr) -> (new params, (loss, accuracy)): one SGD step, not jitted."""
    grad = jax.value_and_grad(lambda p, x, y: _loss_and_accuracy(jax, p, x, y), has_aux=True)

    def update(params, x, y, learning_rate):
        (loss, accuracy), grads = grad(params, x, y)
        new = jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)
        return new, (loss, accuracy)

    return update


def step(jax):
    """A jitted step(params, x, y, lr) -> (params, (loss, accuracy))."""
    return jax.jit(_update(jax))


def _epoch(jax, n, batch_size):
    """epoch(params, x, y, order, lr) -> (params, losses, accuracies), ceil(n / batch) batches."""
    jnp = jax.numpy
    update = _update(jax)
    full = n // batch_size
    tail = n - full * batch_size

    def epoch(params, x, y, order, learning_rate):
        def scan_step(params, batch):
            return update(params, *batch, learning_rate)

        xs, ys = jnp.take(x, order, axis=0), jnp.take(y, order, axis=0)
        head = full * batch_size
        xb = jnp.reshape(xs[:head], (full, batch_size, x.shape[-1]))
        yb = jnp.reshape(ys[:head], (full, batch_size, y.shape[-1]))
        params, (losses, accuracies) = jax.lax.scan(scan_step, params, (xb, yb))
        if tail:
            params, (loss, accuracy) = update(params, xs[head:], ys[head:], learning_rate)
            losses = jnp.concatenate([losses, loss[None]])
            accuracies = jnp.concatenate([accuracies, accuracy[None]])
        return params, losses, accuracies

    return epoch


def epoch(jax, n, batch_size):
    """A jitted epoch(params, x, y, order (n,), lr) -> (params, losses, accuracies)."""
    return jax.jit(_epoch(jax, n, batch_size))


def stacked_epoch(jax, n, batch_size):
    """jit(vmap(epoch)): params with a leading K axis, orders (K, n), rates (K,); x, y shared."""
    return jax.jit(jax.vmap(_epoch(jax, n, batch_size), in_axes=(0, None, None, 0, 0)))


def block(tree):
    """Wait for every array of ``tree`` (JAX dispatches asynchronously)."""
    for leaf in tree_leaves(tree):
        leaf.block_until_ready()
    return tree


def tree_leaves(tree):
    import jax

    return jax.tree_util.tree_leaves(tree)
