"""A stacked model's fused step split over CPU threads: copies [k0:k1] on each.

A sibling of tinynet.fused, for NumPy stacks (K copies in one model); the
fused step hands it its own pieces, so this module knows no shortcut of its
own. The copies of a stack never meet between the input and the update: copy
k's forward, loss and backward read only its own slice of every parameter and
of the batch. So the K copies are cut into contiguous chunks, one per thread,
and each chunk runs the fused step's pieces on views of its slice; NumPy lets
go of the GIL inside every array call, so the chunks' array work runs side by
side. Then one thread joins them: the chunks' losses, probabilities and
gradients are concatenated along K, the metrics read the whole stack, and the
optimiser makes one update of every parameter, as in the unsplit step.

Every copy goes through the very calls it would go through unsplit (the same
products on the same slices, the same elementwise passes), so the numbers are
the same bit for bit (tests/test_fused_threads.py). The fused step splits
when the arrays are NumPy's, the stack holds at least 2 * MIN_COPIES copies,
every layer is a Dense (its activation inside it; each chunk gets its own
pieces, with their own buffers and activation layers) under a
softmax + categorical cross-entropy head, and tinynet may use more than one
thread (tinynet.threads.worker_count: its thread limit, else every core; on a
busy machine the default limit is 1, and nothing is split).
"""

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor

from tinynet import backend, threads

# copies per chunk at the least. Measured on 2 idle cores (seed network, batch 64),
# split / unsplit step time: K=64 0.61x, 128 0.77x, 192 0.94x, 224 1.12x,
# 256 1.44x, 384 1.52x, 512 1.71x; below ~2 x 112 copies the hand-over costs more.
MIN_COPIES = 128

_POOL = {"pool": None, "size": 0, "pid": None}


def chunks(k, workers, min_copies=None):
    """[(k0, k1), ...]: K copies cut into at most ``workers`` contiguous, near-equal chunks."""
    min_copies = MIN_COPIES if min_copies is None else min_copies
    n = max(1, min(workers, k // max(min_copies, 1)))
    bounds = [round(i * k / n) for i in range(n + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _pool(size):
    """One thread pool for the process, grown when more workers are wanted.

    A forked child has the parent's pool object but none of its threads: it
    makes its own (os.getpid() differs).
    """
    if _POOL["size"] < size or _POOL["pid"] != os.getpid():
        if _POOL["pool"] is not None and _POOL["pid"] == os.getpid():
            _POOL["pool"].shutdown(wait=False)
        _POOL.update(pool=ThreadPoolExecutor(max_workers=size, thread_name_prefix="tinynet"),
                     size=size, pid=os.getpid())
    return _POOL["pool"]


class SplitStep:
    """A fused step (``step``) with its stack split in chunks of copies, one per thread.

    step: the fused step, whose ``pieces`` (one per Dense, bottom to top),
    ``lowest`` (where backward ends) and ``metric_fns`` it follows; it must
    have a softmax head that works in the top Dense's z. remake(pieces, k0, k1):
    the same pieces for copies [k0:k1], on views of their rows of the
    parameters and of the grads; make_head(): a new head. ``run(x, y)`` with x
    (N, in) or (K, N, in) and y (N, C) or (K, N, C) leaves every copy's grads
    in the step's buffer (each chunk writes its own rows) and returns
    (loss (K,), p (K, N, C)); the step then makes the one update.
    """

    def __init__(self, step, bounds, remake, make_head):
        self.step, self.bounds = step, bounds
        self.plans = []
        for k0, k1 in bounds:
            self.plans.append((k0, k1, remake(step.pieces, k0, k1), make_head()))

    def run(self, x, y, loss=True):
        """The step's forward, head and backward, chunk by chunk: (loss (K,), p (K, N, C));
        the loss None with loss=False (the step's batch_losses gives it later)."""
        xp = backend.namespace(x)
        pool = _pool(len(self.plans) - 1)
        context = contextvars.copy_context  # each worker runs in the caller's context
        jobs = [pool.submit(context().run, self._chunk, plan, x, y, loss)
                for plan in self.plans[1:]]
        done = [self._chunk(self.plans[0], x, y, loss)] + [job.result() for job in jobs]
        p = xp.concat([chunk_p for _, chunk_p in done])
        return (xp.concat([chunk_loss for chunk_loss, _ in done]) if loss else None), p

    def _chunk(self, plan, x, y, loss=True):
        """Forward, head and backward of copies [k0:k1]; returns (loss, p) of the chunk."""
        k0, k1, pieces, head = plan
        out = x if x.ndim == 2 else x[k0:k1]
        y_chunk = y if y.ndim == 2 else y[k0:k1]
        for piece in pieces:
            out = piece.forward(out, training=True)
        loss = head.forward(out, y_chunk, overwrite=True, loss=loss)
        grad = head.backward()
        for piece in reversed(pieces[self.step.lowest:]):
            grad = piece.backward(grad)
        return loss, head.p


def bounds_now(n_models):
    """The chunks a stack of n_models copies is split into now ([] or one chunk: no split)."""
    return chunks(n_models, threads.worker_count()) if n_models >= 2 * MIN_COPIES else []

