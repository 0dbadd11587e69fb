"""The stacked power iteration: K copies at once equal K copies alone."""

import numpy as np
import pytest

import tinynet as tn
from tinynet.lab import diagnostics as dg
from tinynet.lab.curvature import top_eigenvalue


def _net(n_models, seed=0):
    layers = [tn.layers.Dense(8, activation="relu", input_dim=2),
              tn.layers.Dense(8, activation="relu"), tn.layers.Dense(3, activation="softmax")]
    model = tn.Sequential(layers, seed=seed, n_models=n_models)
    return model.compile("sgd", loss="sparse_categorical_crossentropy")


def test_stacked_sharpness_equals_each_copy_alone(float64):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 2)), rng.integers(0, 3, 80)
    stacked = _net(4)
    stacked.fit(x, y, epochs=3, batch_size=16, verbose=0)
    weights = stacked.get_weights()
    start = [rng.standard_normal(w.shape) for w in weights]
    values, errors = dg.sharpness(stacked, x, y, iters=400, tol=1e-9, start=start,
                                  return_error=True)
    for k in range(4):
        alone = _net(1)
        alone.set_weights([w[k] for w in weights])
        value, error = dg.sharpness(alone, x, y, iters=400, tol=1e-9,
                                    start=[v[k] for v in start], return_error=True)
        assert values[k] == pytest.approx(value, rel=1e-7)
        assert errors[k] <= 1e-3 * abs(value) and error <= 1e-3 * abs(value)


def _diagonal_hvp(diagonals, seen):
    """H v for K diagonal matrices (K, n), recording each v it is asked about."""
    def hvp(v):
        seen.append(v[0].copy())
        return [diagonals * v[0]]
    return hvp


def test_a_settled_copy_stops_changing_while_the_others_go_on():
    # copy 0 converges fast (second eigenvalue / first = 0.5), copy 1 slowly (0.95)
    diagonals = np.array([[5.0, 2.5, 1.0], [2.0, 1.9, 0.1]])
    start = [np.ones((2, 3))]
    seen = []
    top, vector, error = top_eigenvalue(_diagonal_hvp(diagonals, seen), start, iters=2000,
                                        tol=1e-10, stacked=True, return_vector=True,
                                        return_error=True)
    np.testing.assert_allclose(top, [5.0, 2.0], rtol=1e-9)
    first = [v[0] for v in seen]
    settled = next(i for i in range(1, len(first)) if np.array_equal(first[i], first[i - 1]))
    assert settled < len(seen) - 100  # copy 0 settled, copy 1 went on ...
    for v in first[settled:]:
        np.testing.assert_array_equal(v, first[settled])  # ... and copy 0 stood still
    for k in range(2):  # each copy alone gives the same value, vector and residual
        alone = top_eigenvalue(_diagonal_hvp(diagonals[k:k + 1], []), [start[0][k:k + 1]],
                               iters=2000, tol=1e-10, stacked=True, return_vector=True,
                               return_error=True)
        assert alone[0][0] == top[k] and alone[2][0] == error[k]
        np.testing.assert_array_equal(alone[1][0][0], vector[0][k])


def test_settled_blocks_are_not_recomputed():
    from tinynet.lab.curvature import _skipping_settled

    asked = []

    def hvp_on(v, copies):
        asked.append(None if copies is None else list(copies))
        return [2.0 * a for a in v]

    hvp = _skipping_settled(hvp_on)
    v = [np.arange(6.0).reshape(3, 2)]
    np.testing.assert_array_equal(hvp(v)[0], 2.0 * v[0])
    moved = [v[0].copy()]
    moved[0][1] += 1.0  # only copy 1 changed
    np.testing.assert_array_equal(hvp(moved)[0], 2.0 * moved[0])
    np.testing.assert_array_equal(hvp(moved)[0], 2.0 * moved[0])  # nothing changed
    assert asked == [None, [1]]
