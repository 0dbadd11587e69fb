"""Argument checks shared by the public entry points.

Every message says who complains, what was expected and what arrived, in the
style of "fit: batch_size must be a positive integer, got 0.".
"""

import math
import numbers

import numpy as np


def positive_int(value, name, owner):
    """``value`` as an int > 0, or a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be a positive integer, got {value!r}.")
    if value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}.")
    return int(value)


def nonneg_int(value, name, owner):
    """``value`` as an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be a non-negative integer, got {value!r}.")
    if value < 0:
        raise ValueError(f"{owner}: {name} must be a non-negative integer, got {value!r}.")
    return int(value)


def real(value, name, owner, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a finite float within [low, high] (ends open when asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}.")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{owner}: {name} must be in {left}{lo}, {hi}{right}, got {value!r}.")
    return value


def choice(value, name, owner, options):
    """``value`` if it is one of ``options``; else a message listing them."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"{owner}: unknown {name} {value!r}. Choose one of: {', '.join(options)}."
        )
    return value


def host_array(value, name, owner, ndim=None, dtype=None, finite=True):
    """A NumPy copy of ``value`` (never a view of the caller's data), checked.

    ndim: an int or a tuple of allowed ranks. dtype: None keeps numbers as they
    are (bool becomes float); "float" casts to float64. finite: refuse NaN/inf.
    """
    try:
        arr = np.array(value, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner}: {name} must be array-like, got {type(value).__name__}.") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {name} must hold numbers, got dtype {arr.dtype}.")
    if arr.dtype.kind == "b" or dtype == "float":
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{owner}: {name} must be {want}, got shape {arr.shape}.")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{owner}: {name} contains {bad} NaN or infinite value(s).")
    return arr


def lookup(identifier, base, by_name, owner, what):
    """An object of class ``base`` from an instance, a name in ``by_name`` or a config dict.

    The dict is {"class_name": ..., "config": {...}} as ``serialize`` writes it.
    Anything else: a ValueError listing the valid names.
    """
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, dict):
        classes = {c.__name__: c for c in by_name.values()}
        cls = classes.get(identifier.get("class_name"))
        if cls is not None:
            return cls(**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.lower() in by_name:
        return by_name[identifier.lower()]()
    raise ValueError(
        f"{owner}: unknown {what} {identifier!r}. Choose one of: {', '.join(by_name)}, "
        f"or pass a {base.__module__}.{base.__name__}."
    )
