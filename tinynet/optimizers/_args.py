"""The optimisers' argument checks: rates, epsilon, and pointers from torch.optim's names."""

import inspect
import math
import numbers

import numpy as np

from tinynet import _checks, backend
from tinynet.schedules import Schedule

_NO_PARAMS = ("tinynet optimisers do not take parameters: "
              "compile(optimizer={owner}(learning_rate=...)) gives them the model's")


def _is_array(value):
    """An array of any backend (NumPy, CuPy, array_api_strict), not a Python number."""
    return not isinstance(value, (numbers.Number, str)) and hasattr(value, "shape")


def _check_rate(value, owner, inner=False):
    """A float, a schedule, or (not inner) a list of those, one per stacked copy."""
    if _is_array(value) and value.shape == ():
        value = float(backend.to_numpy(value))
    if callable(value):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{owner}: learning_rate must be a finite number >= 0, got {value!r}.")
        return value
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and any(
            isinstance(v, dict) or (_is_array(v) and v.shape != ()) for v in value)):
        raise TypeError(f"{owner}: learning_rate got {_describe(value)}; "
                        f"{_NO_PARAMS.format(owner=owner)}.")
    if isinstance(value, (list, tuple)) or _is_array(value):
        if inner or (_is_array(value) and len(value.shape) > 1):
            got = (f"an array of shape {tuple(value.shape)}" if _is_array(value)
                   else f"a nested sequence inside it: {value!r}")
            raise TypeError(f"{owner}: learning_rate must be flat, one float or schedule per "
                            f"stacked copy (e.g. [0.1, 0.01]), got {got}.")
        items = list(np.asarray(backend.to_numpy(value))) if _is_array(value) else list(value)
        if not items:
            raise ValueError(f"{owner}: learning_rate sequence is empty; give one rate per model.")
        return [_check_rate(v, owner, inner=True) for v in items]
    iterable = hasattr(value, "__iter__") and not isinstance(value, str)
    hint = f" ({_NO_PARAMS.format(owner=owner)})" if iterable else ""
    raise TypeError(
        f"{owner}: learning_rate must be a float, a schedule or one per model, got {value!r}.{hint}"
    )


def _refuse_both_rates(cls, learning_rate, lr):
    """TypeError when both learning_rate (other than its default) and torch's lr are given.

    One of the two would be ignored: SGD(learning_rate=0.1, lr=0.2) must not quietly
    train at 0.2. (Passing the default value explicitly beside lr cannot be told apart
    from leaving it out.)
    """
    default = inspect.signature(cls.__init__).parameters["learning_rate"].default
    is_default = (isinstance(learning_rate, numbers.Real) and not isinstance(learning_rate, bool)
                  and learning_rate == default)
    if not is_default:
        raise TypeError(f"{cls.__name__}: got learning_rate={learning_rate!r} and lr={lr!r}; "
                        "give one of them (lr is torch's name for learning_rate).")


def _describe(value):
    if isinstance(value, dict) or any(isinstance(v, dict) for v in value):
        return f"a {type(value).__name__} of dicts (torch parameter groups?)"
    return f"a {type(value).__name__} of arrays (the model's parameters?)"


def _value_at(rate, step, owner):
    """The rate a float or a schedule gives at ``step``, checked (see _checks.rate_value).

    A tn.schedules schedule checks its own value; a user's function is checked here.
    """
    if isinstance(rate, float):
        return rate
    if isinstance(rate, Schedule):
        return rate(step)
    return _checks.rate_value(rate(step), step, owner, schedule=rate)


def _epsilon(value, owner):
    """epsilon as a float > 0.

    torch.optim allows eps=0, but then a zero gradient (a dead ReLU, an unused
    input) makes 0/0 = NaN, which training would blame on the learning rate.
    """
    value = _checks.real(value, "epsilon", owner)
    if value <= 0.0:
        raise ValueError(
            f"{owner}: epsilon must be > 0, got {value!r}. With epsilon=0 a zero gradient "
            "gives 0/0 = NaN, which would be reported as divergence at this learning rate.")
    return value


# torch.optim arguments that have another name (or no counterpart) here
_TORCH_NAMES = {
    "params": _NO_PARAMS,
    "betas": "give beta_1 and beta_2 instead: betas=(0.9, 0.999) is beta_1=0.9, beta_2=0.999",
    "eps": "tinynet (like Keras) calls it epsilon",
    "alpha": "RMSprop's smoothing constant is rho here (Keras's name for torch's alpha)",
    "momentum": "{owner} has no momentum (SGD and RMSprop have; Adam's beta_1 plays its role)",
    "lr_decay": ("give a schedule instead: learning_rate=tn.schedules.InverseTimeDecay(lr, "
                 "decay_steps=1, decay_rate=lr_decay) is torch's lr / (1 + (t - 1) * lr_decay)"),
}


def _refuse_unknown(kwargs, owner):
    for name in kwargs:
        pointer = _TORCH_NAMES.get(name, "").format(owner=owner)
        if not pointer:
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}.")
        raise TypeError(f"{owner}: {name}= is not an argument here; {pointer}.")


