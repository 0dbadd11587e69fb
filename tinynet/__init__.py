"""tinynet: a from-scratch NumPy/CuPy neural-network framework for learning what
the learning rate does to training."""

from tinynet.backend import BackendError, get_backend, get_dtype, set_backend, set_dtype

__version__ = "0.1.0"

__all__ = ["BackendError", "get_backend", "get_dtype", "set_backend", "set_dtype"]
