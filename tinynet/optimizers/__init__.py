"""Optimisers: SGD, RMSprop, Adagrad, Adadelta, Adam and AdamW, simplest first.

Each class writes its update rule out, with g the gradient, p the parameter,
t the update count (1 for the first update) and lr the rate of this update.
``convention="pytorch"`` (the default) follows the torch.optim documentation;
``convention="keras"`` follows the Keras 3 source (keras/src/optimizers/*.py),
which places epsilon and the rate differently. The learning rate may be
- a float,
- a schedule (any callable of the update count, step 0 = first update),
- for K stacked models, a sequence of K floats or schedules, one per model.
``lr_scale`` (1.0, or K factors) multiplies whatever the rate gives; the
ReduceLROnPlateau callback lowers it. Copies flagged in ``frozen`` (a bool
array of K) are not updated at all.

weight_decay (wd, default 0) shrinks the weights toward 0:
- pytorch convention, as torch.optim: L2, g <- g + wd * p before anything else;
  the adaptive rules (RMSprop, Adagrad, Adadelta, Adam) then rescale that term with g;
- keras convention, as keras/src/optimizers/base_optimizer.py
  (_apply_weight_decay), and AdamW in either convention: decoupled,
  p <- p - lr * wd * p next to the step, never through the moments.
lr * wd is the effective decay per update: the fraction of p the decay term
removes (exactly, when decoupled or under plain SGD), so a schedule on lr also
schedules the decay.
"""

from tinynet import _checks
from tinynet.optimizers.base import CONVENTIONS, Optimizer
from tinynet.optimizers.rules import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop

__all__ = ["CONVENTIONS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop",
           "get", "serialize"]

_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam, "adamw": AdamW,
            "adadelta": Adadelta}


def get(identifier):
    """An Optimizer from an instance, a name ("sgd", "adam", ...) or a config dict."""
    return _checks.lookup(identifier, Optimizer, _BY_NAME, "compile", "optimizer")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
