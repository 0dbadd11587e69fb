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
                    per_copy_batches=False):
    """(fixed_bytes, per_copy_bytes): what a sweep of ``model``'s network needs.

    With P parameters per copy, s optimiser slots (SGD 0, or 1 with momentum;
    RMSprop/Adagrad 1; Adam 2), b bytes per float of the current dtype,
    widths = the input width plus every layer's output width, rows =
    max(batch_size, n_val) (validation runs in one pass), U = ceil(n_train / batch_size):
      per copy = b * P * (4 + s)           params, grads, the step and a temporary
               + b * rows * sum(widths) * 4  cached activations, their gradients, temporaries
               + 8 * P * 2                   float64 host copies of the initial weights
               + 8 * 2 * U * epochs          per-update rate and loss (host history)
      fixed    = 8 * n * (2 * in + out + 1)   float64 host copies: sweep's checked x, fit's
                                               checked x, fit's encoded targets and labels
               + b * n * (in + out) * 3       on the device: the data, and at the turn of an
                                               epoch the old and the new shuffled copy
    with n = n_train + n_val. The host copies dominate when the data are large
    (200k x 100 inputs: 322 MB of float64 beside 240 MB on the device), so they
    are counted rather than left out of the budget.
    per_copy_batches: every copy shuffles its own order (fit's shuffle=True with
      different seeds), so each copy also holds its shuffled training rows:
      per copy += b * n_train * (in + out).
    """
    itemsize = np.dtype(backend.get_dtype()).itemsize
    n_params = sum(int(np.prod(w.shape)) for w in model.get_weights())
    n_slots = len(optimizer._new_slots(np.zeros(1)))
    widths = [model.input_dim]
    for layer in model.layers:
        widths.append(layer.output_dim(widths[-1]))
    rows = max(batch_size, n_val)
    updates = math.ceil(n_train / batch_size)
    per_copy = (itemsize * n_params * (4 + n_slots) + itemsize * rows * sum(widths) * 4
                + 8 * n_params * 2 + 8 * 2 * updates * epochs)
    if per_copy_batches:
        per_copy += itemsize * n_train * (widths[0] + widths[-1])
    n_rows = n_train + n_val
    fixed = (8 * n_rows * (2 * widths[0] + widths[-1] + 1)
             + itemsize * n_rows * (widths[0] + widths[-1]) * 3)
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
