"""Layers: Dense and the activations, each with a hand-written forward and backward."""

from tinynet.layers.activations import LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from tinynet.layers.base import Layer
from tinynet.layers.dense import Dense

LAYERS = {c.__name__: c for c in (Dense, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh)}

__all__ = ["Dense", "Layer", "LeakyReLU", "Linear", "ReLU", "Sigmoid", "Softmax", "Tanh"]


def from_config(config):
    """A layer from ``{"class_name": ..., "config": ...}`` as written by ``save``."""
    cls = LAYERS.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"unknown layer class {config.get('class_name')!r}.")
    return cls(**config.get("config", {}))
