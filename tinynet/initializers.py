"""Weight initialisers, with Keras's names and formulas.

Every draw happens on the host with a ``numpy.random.Generator`` and returns a
NumPy float64 array; the model moves it to the backend. So one seed gives the
same initial weights on NumPy, CuPy and array_api_strict.

fan_in and fan_out of a kernel of shape (in, out) are in and out.
"""

import math

import numpy as np

from tinynet import _checks

# Keras's truncated normals cut at two standard deviations; this constant is the
# std of a unit normal truncated to [-2, 2], used to rescale as Keras does.
_TRUNCATED_STD = 0.87962566103423978


class Initializer:
    """Base class: ``init(shape, rng) -> numpy array`` of float64."""

    def __call__(self, shape, rng):
        raise NotImplementedError

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _fans(shape):
    if len(shape) < 2:
        return shape[0] if shape else 1, shape[0] if shape else 1
    return shape[-2], shape[-1]


def _truncated_normal(rng, shape, stddev):
    """Normal(0, stddev) redrawn until every value lies within two stddevs."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while np.any(bad):
        out[bad] = rng.standard_normal(int(np.count_nonzero(bad)))
        bad = np.abs(out) > 2.0
    return out * stddev


class RandomNormal(Initializer):
    """w ~ Normal(mean, stddev), as keras.initializers.RandomNormal."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean = _checks.real(mean, "mean", "RandomNormal")
        self.stddev = _checks.real(stddev, "stddev", "RandomNormal", low=0.0)

    def __call__(self, shape, rng):
        return self.mean + self.stddev * rng.standard_normal(shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class RandomUniform(Initializer):
    """w ~ Uniform(minval, maxval), as keras.initializers.RandomUniform."""

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval = _checks.real(minval, "minval", "RandomUniform")
        self.maxval = _checks.real(maxval, "maxval", "RandomUniform", low=self.minval)

    def __call__(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class GlorotUniform(Initializer):
    """w ~ Uniform(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""

    def __call__(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)


class GlorotNormal(Initializer):
    """w ~ TruncatedNormal(0, sqrt(2 / (fan_in + fan_out))), cut at 2 std (Keras)."""

    def __call__(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        stddev = math.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATED_STD
        return _truncated_normal(rng, shape, stddev)


class HeNormal(Initializer):
    """w ~ TruncatedNormal(0, sqrt(2 / fan_in)), cut at 2 std (Keras)."""

    def __call__(self, shape, rng):
        fan_in, _ = _fans(shape)
        return _truncated_normal(rng, shape, math.sqrt(2.0 / fan_in) / _TRUNCATED_STD)


class HeUniform(Initializer):
    """w ~ Uniform(-limit, limit), limit = sqrt(6 / fan_in)."""

    def __call__(self, shape, rng):
        fan_in, _ = _fans(shape)
        limit = math.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


class Zeros(Initializer):
    """w = 0."""

    def __call__(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    """w = 1."""

    def __call__(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    """w = value."""

    def __init__(self, value=0.0):
        self.value = _checks.real(value, "value", "Constant")

    def __call__(self, shape, rng):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


_BY_NAME = {
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
}


def get(identifier, owner="initializer"):
    """An Initializer from an instance, a Keras name such as "he_normal", or a config dict."""
    return _checks.lookup(identifier, Initializer, _BY_NAME, owner, "initializer")


def serialize(initializer):
    """The config dict that ``get`` turns back into the same initializer."""
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
