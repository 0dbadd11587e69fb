"""How much memory a sweep needs, and how much it may use.

``tn.sweep`` splits its copies into chunks so that ``fixed + chunk * per_copy``
stays within the budget; both numbers come from ``estimate_memory``.
"""

import math

import numpy as np

from tinynet import backend

_FALLBACK_BUDGET = 2 * 1024**3  # bytes, when free memory cannot be read
_BUDGET_FRACTION = 0.25  # of free memory, by default


def default_memory_budget():
    """A quarter of the free memory of the active backend, in bytes (2 GiB if unknown).

    cupy: the GPU's free memory plus what CuPy's pool holds unused; otherwise
    MemAvailable from /proc/meminfo (Linux).
    """
    free = None
    if backend.get_backend() == "cupy":
        try:
            import cupy

            free = cupy.cuda.runtime.memGetInfo()[0] + cupy.get_default_memory_pool().free_bytes()
        except Exception:  # no device information: use the fixed fallback
            free = None
    else:
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        free = int(line.split()[1]) * 1024
                        break
        except OSError:
            free = None
    return _FALLBACK_BUDGET if free is None else int(free * _BUDGET_FRACTION)


def estimate_memory(model, optimizer, n_train, n_val, batch_size, epochs,
                    per_copy_batches=False, host_copy=False, held_bytes=0):
    """(fixed_bytes, per_copy_bytes): what one process running a sweep's chunk allocates.

    Counted from what ``fit`` allocates (measured with tracemalloc in
    tests/test_sweep_memory.py). With P parameters per copy, s optimiser slots
    (SGD 0, or 1 with momentum; RMSprop/Adagrad 1; Adam/Adadelta 2), b bytes per float of
    the current dtype, n = n_train + n_val rows, ``in`` and ``out`` the input and
    output widths, H = the sum of the layers' output widths, B = batch_size and
    U = ceil(n_train / B) updates per epoch:
      per copy = b * P * (4 + s)              params, grads, the step and a temporary
               + 3 * b * B * (in + out + H)    one batch gathered for the copy, its
                                               activations, their gradients
               + 3 * b * R * H                 the last, shorter batch's by-column buffers
                                               (R = n_train mod B rows; the fused step
                                               stores a ReLU's block of columns in arrays
                                               of that batch's own)
               + 2 * b * n_val * H             the validation pass (all rows at once)
               + 8 * P * 2                     float64 host copies of the initial weights
               + 8 * 2 * U * epochs            per-update rate and loss (host history)
      fixed    = b * n * (in + out)            the data on the device: fit's one copy
               + 2 * 8 * n * out               the float64 encoded targets (and labels)
               + 8 * n * in                    only with host_copy: x was not float64,
                                               so the check cast it once
               + held_bytes                    what else the process holds (a worker:
                                               the data it was sent)
    Nothing is copied per copy or per epoch: fit gathers every batch from the
    device copy through its row indices. So a budget of about twice the data's
    size (float64) is enough for a handful of copies.
    per_copy_batches: every copy shuffles its own order (kept for callers; the
      batch gather is counted per copy either way).
    """
    del per_copy_batches  # each copy gathers its own batch whatever the order
    itemsize = np.dtype(backend.get_dtype()).itemsize
    n_params = sum(int(np.prod(w.shape)) for w in model.get_weights())
    n_slots = len(optimizer._new_slots(np.zeros(1)))
    widths = [model.input_dim]
    for layer in model.layers:
        widths.append(layer.output_dim(widths[-1]))
    n_in, n_out, hidden = widths[0], widths[-1], sum(widths[1:])
    updates = math.ceil(n_train / batch_size)
    per_copy = (itemsize * n_params * (4 + n_slots)
                + 3 * itemsize * batch_size * (n_in + n_out + hidden)
                + 3 * itemsize * (n_train % batch_size) * hidden
                + 2 * itemsize * n_val * hidden
                + 8 * n_params * 2 + 8 * 2 * updates * epochs)
    n_rows = n_train + n_val
    fixed = itemsize * n_rows * (n_in + n_out) + 2 * 8 * n_rows * n_out + int(held_bytes)
    if host_copy:
        fixed += 8 * n_rows * n_in
    return int(fixed), int(per_copy)


def split_rows(n_rows, validation_split, validation_data):
    """(training rows, validation rows) as fit will split them (fit checks the arguments)."""
    if validation_data is not None:
        try:
            return n_rows, len(validation_data[0])
        except (TypeError, IndexError):
            return n_rows, 0
    if isinstance(validation_split, (int, float)) and 0.0 < validation_split < 1.0:
        n_train = max(int(math.ceil(n_rows * (1.0 - validation_split))), 1)
        return n_train, n_rows - n_train
    return n_rows, 0
