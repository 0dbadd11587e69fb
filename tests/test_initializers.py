"""Initialisers: Keras's formulas, measured on large draws."""

import math

import numpy as np
import pytest

from tinynet import initializers as init


def _draw(initializer, shape=(400, 600), seed=0):
    return initializer(shape, np.random.default_rng(seed))


def test_random_normal_mean_and_std():
    w = _draw(init.RandomNormal(0.0, 0.05))
    assert abs(w.mean()) < 1e-3 and abs(w.std() - 0.05) < 1e-3


def test_glorot_uniform_limit():
    w = _draw(init.GlorotUniform())
    limit = math.sqrt(6 / (400 + 600))
    assert w.max() <= limit and w.min() >= -limit
    assert abs(w.std() - limit / math.sqrt(3)) < 1e-3


@pytest.mark.parametrize("cls,std", [(init.HeNormal, math.sqrt(2 / 400)),
                                     (init.GlorotNormal, math.sqrt(2 / 1000))])
def test_truncated_normals_have_the_keras_std_and_cut(cls, std):
    w = _draw(cls())
    # Keras divides by 0.8796 so that the truncated draw keeps the target std
    assert abs(w.std() - std) / std < 0.01
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-12


def test_he_uniform_and_constants():
    w = _draw(init.HeUniform())
    assert w.max() <= math.sqrt(6 / 400)
    assert np.all(_draw(init.Zeros(), (2, 2)) == 0)
    assert np.all(_draw(init.Constant(0.3), (2, 2)) == 0.3)


def test_names_resolve_like_keras():
    assert isinstance(init.get("glorot_uniform"), init.GlorotUniform)
    assert isinstance(init.get("he_normal"), init.HeNormal)
    round_trip = init.get(init.serialize(init.RandomNormal(0.1, 0.2)))
    assert (round_trip.mean, round_trip.stddev) == (0.1, 0.2)


def test_same_seed_same_draw():
    np.testing.assert_array_equal(_draw(init.HeNormal(), seed=3), _draw(init.HeNormal(), seed=3))
