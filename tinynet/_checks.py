"""Argument checks shared by the public entry points.

Every message says who complains, what was expected and what arrived, in the
style of "fit: batch_size must be a positive integer, got 0.".
"""

import math
import numbers

import numpy as np

from tinynet import backend


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


def boolean(value, name, owner):
    """``value`` as a bool: True or False (NumPy's too), never a truthy string or number.

    bool("no") is True, so a flag given as text would silently mean its opposite.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}.")
    return bool(value)


def numbers_only(values, name, owner):
    """TypeError if ``values`` is text, or holds text or bools, which NumPy would quietly
    cast to numbers (np.array("0.1", float) is 0.1, True is 1.0)."""
    items = [values] if isinstance(values, (str, bytes)) or np.ndim(values) == 0 else \
        np.ravel(np.asarray(values, dtype=object))
    bad = [v for v in items if isinstance(v, (str, bytes, bool, np.bool_))]
    if bad:
        raise TypeError(f"{owner}: {name} must hold numbers, got {bad[0]!r} in {values!r}.")


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


def array_list(value, name, owner):
    """``value`` (a list or other iterable of arrays, as get_weights returns) as a list;
    TypeError naming ``name`` for None, text, a dict or a non-iterable."""
    if value is None or isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{owner}: {name} must be a list of arrays [kernel_0, bias_0, ...], "
                        f"got {value!r}. Pass a list like get_weights returns.")
    return list(value)


def host_array(value, name, owner, ndim=None, dtype=None, finite=True, compute=False,
               empty=False, copy=True):
    """A NumPy copy of ``value`` (never a view of the caller's data), checked.

    copy=False: a read-only view of the caller's array when it already has the
    right dtype (a copy otherwise), for callers that only read it and copy it
    on to the device anyway (fit, predict): the data are not held twice.

    ndim: an int or a tuple of allowed ranks. dtype: None keeps numbers as they
    are (bool becomes float); "float" casts to float64. finite: refuse NaN/inf
    (and pandas missing values). compute=True: the array will be cast to the
    compute dtype (tn.get_dtype()), so refuse values beyond its range, which
    would turn into inf. empty=False: refuse an array with 0 rows (axis 0).
    pandas Series, DataFrames and arrays are read with their nullable dtypes
    (Int64, Float64, boolean) converted to NumPy ones; arrays of the active
    backend (CuPy, array_api_strict) are copied to the host first.
    """
    value = _from_pandas(value, name, owner, finite)
    if not isinstance(value, np.ndarray) and hasattr(value, "__array_namespace__"):
        value = backend.to_numpy(value)  # an array of the backend (CuPy, array_api_strict)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner}: {name} must be array-like, got {type(value).__name__}.") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {name} must hold numbers, got dtype {arr.dtype}.")
    to_float = arr.dtype.kind == "b" or dtype == "float"
    if copy:
        arr = np.array(arr, dtype=np.float64 if to_float else None, copy=True)  # ours, not theirs
    else:
        arr = np.asarray(arr, dtype=np.float64 if to_float else None).view()
        arr.flags.writeable = False  # a view of theirs: nothing may write through it
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{owner}: {name} must be {want}, got shape {arr.shape}.")
    if not empty and arr.ndim >= 1 and arr.shape[0] == 0:
        raise ValueError(
            f"{owner}: {name} has 0 rows (shape {arr.shape}); it needs at least one sample."
        )
    if arr.dtype.kind == "f" and arr.size and (finite or compute):
        limit = _largest(backend.get_dtype() if compute else arr.dtype.name)
        flat = arr.reshape(-1)
        # the usual case in one product: sum x^2 < limit^2 holds only if every |x| < limit
        # (NaN and inf fail it); otherwise the exact test on the extremes decides. Large
        # finite values overflow the product to inf, which only sends them to that test:
        # the check's own overflow is not the user's business, so it does not warn
        with np.errstate(over="ignore", invalid="ignore"):
            squares = flat @ flat
        if not float(squares) < limit * limit and not (-limit <= arr.min() and arr.max() <= limit):
            _refuse_values(arr, name, owner, finite, compute)
    return arr


_LARGEST = {}


def _largest(dtype):
    """The largest finite value of a float dtype (by name), looked up once."""
    if dtype not in _LARGEST:
        _LARGEST[dtype] = float(np.finfo(dtype).max)
    return _LARGEST[dtype]


def _refuse_values(arr, name, owner, finite, compute):
    """The error for NaN/inf (when ``finite``) or values beyond the compute dtype."""
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{owner}: {name} contains {bad} NaN or infinite value(s).")
    if compute:
        _within_compute_dtype(arr, name, owner)


def _within_compute_dtype(arr, name, owner):
    """Refuse values whose cast to the compute dtype would overflow to inf."""
    dtype = backend.get_dtype()
    limit = float(np.finfo(dtype).max)
    largest = max(float(np.max(arr)), -float(np.min(arr)))  # NaN (finite=False) never passes
    if largest > limit:
        count = int(np.count_nonzero(np.abs(arr) > limit))
        raise ValueError(
            f"{owner}: {name} holds {count} value(s) beyond the {dtype} range (largest "
            f"magnitude {largest:.4g}, {dtype} limit {limit:.4g}); they would become inf in "
            f"training. Scale {name} first (e.g. tn.data.StandardScaler, or divide by a "
            f"constant), or compute in float64 with tn.set_dtype(\"float64\")."
        )


def finite_fits_dtype(arr, name, owner):
    """Refuse finite values of host array ``arr`` that the compute dtype cannot hold
    (they would become inf); NaN and inf pass, as they are."""
    limit = _largest(backend.get_dtype())
    if arr.dtype.kind != "f" or not arr.size or _largest(arr.dtype.name) <= limit:
        return
    with np.errstate(invalid="ignore"):
        beyond = np.isfinite(arr) & (np.abs(arr) > limit)
    if np.any(beyond):
        dtype = backend.get_dtype()
        raise ValueError(
            f"{owner}: {name} holds {int(np.count_nonzero(beyond))} finite value(s) beyond "
            f"the {dtype} range (largest magnitude {float(np.max(np.abs(arr[beyond]))):.4g}, "
            f"limit {limit:.4g}); as {dtype} they would become inf. Compute in float64 "
            "(tn.set_dtype(\"float64\") before building the model), or pass smaller values.")


def _from_pandas(value, name, owner, finite):
    """A pandas object as NumPy, nullable dtypes included; anything else unchanged.

    Columns with a NumPy counterpart (Int64 -> int64, Float64 -> float64,
    boolean -> bool, and plain NumPy dtypes) are converted to their common type.
    Missing values (pd.NA, NaN) are refused when ``finite`` and become NaN otherwise.
    """
    if not type(value).__module__.startswith("pandas") or not hasattr(value, "to_numpy"):
        return value
    dtypes = list(value.dtypes) if hasattr(value, "columns") else [value.dtype]
    try:
        numpy_dtypes = [np.dtype(getattr(d, "numpy_dtype", d)) for d in dtypes]
    except TypeError:  # a dtype NumPy does not know (categorical, string...): np.array decides
        return value
    if not numpy_dtypes or any(d.kind not in "biuf" for d in numpy_dtypes):
        return value
    target = np.result_type(*numpy_dtypes)
    missing = int(np.count_nonzero(np.asarray(value.isna())))
    if missing and finite:
        raise ValueError(
            f"{owner}: {name} has {missing} missing value(s) (NA/NaN). Drop or fill them "
            f"first, e.g. {name}.dropna() or {name}.fillna(0), keeping x and y rows aligned."
        )
    if missing:
        return value.to_numpy(dtype=np.result_type(target, np.float64), na_value=np.nan)
    return value.to_numpy(dtype=target)


def rate_value(value, step, owner, schedule=None):
    """A learning rate read from a schedule at ``step``, as a float >= 0.

    schedule: the schedule (or its name) when ``owner`` called someone else's
    (an optimiser reading a user function); None when ``owner`` is the
    schedule itself. Strings, arrays with an axis, None, bools and other
    non-numbers raise TypeError; NaN, inf (an overflowing schedule) and
    negative values raise ValueError.
    """
    if schedule is None:
        where = f"{owner}: the learning rate at step {step}"
    else:
        label = schedule if isinstance(schedule, str) else _callable_name(schedule)
        where = f"{owner}: the learning-rate schedule {label} returned"
    number = value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        number = value[()]
    elif hasattr(value, "__array_namespace__") and getattr(value, "ndim", None) == 0:
        number = float(value)  # a 0-d backend array
    if isinstance(number, (bool, np.bool_)) or not isinstance(number, numbers.Real):
        got = _describe_value(value)
        if schedule is None:
            raise TypeError(f"{where} must be a number (a float >= 0), got {got}.")
        hint = (" (for one rate per stacked copy, give a list with one schedule per copy)"
                if getattr(value, "shape", ()) or isinstance(value, (list, tuple)) else "")
        raise TypeError(f"{where} {got} at step {step}; it must return a number "
                        f"(a float >= 0){hint}.")
    number = float(number)
    if not 0.0 <= number < math.inf:
        hint = (" (inf: the rate overflowed, as a growing schedule such as decay_rate > 1 "
                "does after enough steps)" if number == math.inf else "")
        if schedule is None:
            raise ValueError(
                f"{where} is {number!r}; a schedule must return a finite number >= 0{hint}."
            )
        raise ValueError(
            f"{where} {number!r} at step {step}; rates must be finite and >= 0{hint}."
        )
    return number


def _callable_name(fn):
    """A function's qualified name (``<lambda>``, ``make.<locals>.f``); else its repr."""
    return getattr(fn, "__qualname__", None) or repr(fn)


def _describe_value(value):
    """'0.1' (str), an array of shape (2,), None ...: what a schedule returned."""
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) > 0:
        return f"an array of shape {tuple(shape)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} {value!r}"
    return f"{value!r} ({type(value).__name__})"


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
