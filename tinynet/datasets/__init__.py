"""Data sets for the lessons: seeded 2-D toy problems and two small real ones.

    X, y = tn.datasets.make_moons(200, noise=0.1, seed=0)
    X, y = tn.datasets.load_digits()

Every function returns (X float64 (n_samples, n_features), y int64 (n_samples,))
with labels 0, 1, ...
"""

from tinynet.datasets.real import load_breast_cancer, load_digits
from tinynet.datasets.synthetic import make_blobs, make_circles, make_moons, make_spirals

__all__ = [
    "load_breast_cancer",
    "load_digits",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
]
