"""Array backends: which array namespace (``xp``) the kernels run on.

tinynet's kernels are written once against the Array API standard and run on
three namespaces:

- ``"numpy"`` (default): the CPU;
- ``"cupy"``: an NVIDIA GPU (``pip install "tinynet[gpu]"``);
- ``"array_api_strict"``: the reference namespace of the standard. It is slow
  and exists only to prove, in CI where there is no GPU, that no kernel calls
  NumPy behind the backend's back (a strict array refuses to mix with NumPy).

Random numbers are always drawn on the host with ``numpy.random.Generator`` and
then moved to the backend, so one seed gives the same weights on every backend.

CPU threads: see tinynet/threads.py (``set_threads``, ``get_threads``); ``fit``
chooses them when training starts, copying an array never does.
"""

import importlib
import os

import numpy as np

BACKENDS = ("numpy", "cupy", "array_api_strict")
DTYPES = ("float32", "float64")

_state = {"name": "numpy", "xp": np, "dtype": "float32"}


class BackendError(ValueError):
    """A backend that does not exist, or that this machine cannot provide."""


def _load_cupy():
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as exc:
        raise BackendError(
            "Backend 'cupy' needs CuPy and a CUDA GPU: pip install \"tinynet[gpu]\" "
            "(or cupy-cuda12x), or set_backend('numpy')."
        ) from exc
    try:
        n_gpus = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken: cupy raises its own types
        raise BackendError(
            f"Backend 'cupy' found CuPy but no usable CUDA GPU ({exc}). "
            "Use set_backend('numpy') on this machine."
        ) from exc
    if n_gpus < 1:
        raise BackendError("Backend 'cupy' found CuPy but no CUDA GPU. Use set_backend('numpy').")
    return cupy


def _load(name):
    if name == "numpy":
        return np
    if name == "cupy":
        return _load_cupy()
    try:
        return importlib.import_module("array_api_strict")
    except ImportError as exc:
        raise BackendError(
            "Backend 'array_api_strict' needs the array-api-strict package: "
            'pip install "tinynet[test]".'
        ) from exc


def set_backend(name):
    """Select the array namespace for models built from now on.

    name: "numpy", "cupy" or "array_api_strict". Raises BackendError (a
    ValueError) for an unknown name, or when the backend cannot be used here
    (CuPy missing, no GPU), saying what to install.
    """
    if not isinstance(name, str) or name not in BACKENDS:
        raise BackendError(f"set_backend: expected one of {', '.join(BACKENDS)}, got {name!r}.")
    xp = _load(name)
    _state["name"], _state["xp"] = name, xp


def backend_from_environment():
    """Select the backend named by TINYNET_BACKEND, if set (done once, at import)."""
    name = os.environ.get("TINYNET_BACKEND", "").strip()
    if name:
        try:
            set_backend(name)
        except BackendError as exc:
            raise BackendError(f"TINYNET_BACKEND={name!r}: {exc}") from None


def get_backend():
    """The current backend's name: "numpy", "cupy" or "array_api_strict"."""
    return _state["name"]


def available_backends():
    """The backends that can be selected on this machine."""
    found = []
    for name in BACKENDS:
        try:
            _load(name)
        except BackendError:
            continue
        found.append(name)
    return found


def set_dtype(dtype):
    """Select the floating-point type of new parameters and data: "float32" or "float64"."""
    name = getattr(dtype, "__name__", None) or str(dtype)
    if name not in DTYPES:
        raise ValueError(f"set_dtype: expected 'float32' or 'float64', got {dtype!r}.")
    _state["dtype"] = name


def get_dtype():
    """The current floating-point type, as a string ("float32" by default)."""
    return _state["dtype"]


def xp():
    """The current backend's array namespace."""
    return _state["xp"]


_XP_BY_TYPE = {}  # array type -> its namespace: a training step asks many times


def namespace(*arrays):
    """The array namespace the given arrays belong to (the current one for scalars).

    Remembered per array type: the generic lookup costs as much as a small
    NumPy operation, and a training step asks about fifteen times.
    """
    for a in arrays:
        xp = _XP_BY_TYPE.get(type(a))
        if xp is not None:
            return xp
        get_ns = getattr(a, "__array_namespace__", None)
        if get_ns is not None:
            xp = _XP_BY_TYPE[type(a)] = get_ns()
            return xp
    return _state["xp"]


def to_device(a, dtype=None, namespace=None):
    """Copy a host array (or scalar) into the current backend, as ``dtype`` (always a copy).

    dtype: None keeps integer/bool arrays as they are and converts floats to the
    current float dtype; otherwise a dtype name such as "float64" or "int64".
    """
    ns = namespace or _state["xp"]
    host = np.asarray(a)
    if dtype is None:
        dtype = _state["dtype"] if host.dtype.kind == "f" else host.dtype.name
    # always a fresh array: the caller's data must never be updated in place
    return ns.asarray(np.array(host, dtype=dtype, order="C"), dtype=getattr(ns, dtype))


def to_numpy(a):
    """A NumPy copy (or view) of any backend's array; Python scalars pass through as arrays."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    if hasattr(a, "__dlpack__"):
        return np.from_dlpack(a)
    return np.asarray(a)


def to_float(a):
    """A Python float for a 0-d array, a NumPy array for anything larger."""
    host = to_numpy(a)
    return float(host) if host.ndim == 0 else np.array(host, dtype=np.float64)


backend_from_environment()
