"""Diagnostics students can run on any model: is the gradient right, and why
does a learning rate fail?"""

from tinynet.gradcheck import gradient_check

__all__ = ["gradient_check"]
