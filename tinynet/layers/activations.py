"""Activation layers: element-wise maps and the row-wise softmax.

Each caches its output (or input) in ``forward`` and multiplies the incoming
gradient by the local derivative in ``backward``. Shapes: any (..., C).
"""

from tinynet import _checks, backend
from tinynet.backend import namespace
from tinynet.layers.base import Layer
from tinynet.ops import row_sum, sigmoid, softmax


class Linear(Layer):
    """y = x: the identity activation (activation="linear" or None).

    Not PyTorch's nn.Linear: tinynet's fully connected layer is Dense, so
    Linear(2, 10) raises a TypeError that says so.
    """

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            given = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
            hint = ""
            if len(args) == 2 and not kwargs and all(isinstance(a, int) for a in args):
                hint = f" Here: Dense({args[1]}, input_dim={args[0]})."
            raise TypeError(
                f"Linear({given}): tinynet's Linear is the identity activation and takes no "
                "arguments; it is not PyTorch's nn.Linear(in_features, out_features). For a "
                f"fully connected layer use Dense(units, input_dim=in_features).{hint}")
        super().__init__()

    def forward(self, x, training=True):
        return x

    def backward(self, grad_y):
        return grad_y


class ReLU(Layer):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0 (0 at x = 0 exactly).

    forward keeps y; backward reads the derivative off it, as y > 0 iff x > 0.
    """

    def forward(self, x, training=True):
        self._y = namespace(x).maximum(x, 0.0)
        return self._y

    def backward(self, grad_y):
        return namespace(grad_y).where(self._y > 0.0, grad_y, 0.0)


class LeakyReLU(Layer):
    """y = x where x > 0, else negative_slope * x (Keras layer default 0.3)."""

    def __init__(self, negative_slope=0.3):
        super().__init__()
        self.negative_slope = _checks.real(negative_slope, "negative_slope", "LeakyReLU", low=0.0)

    def forward(self, x, training=True):
        xp = backend.namespace(x)
        self._positive = x > 0.0
        return xp.where(self._positive, x, self.negative_slope * x)

    def backward(self, grad_y):
        xp = backend.namespace(grad_y)
        return xp.where(self._positive, grad_y, self.negative_slope * grad_y)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x));  dy/dx = y (1 - y).

    Written as exp(-|x|) so that no exponential overflows for |x| ~ 1e4.
    """

    def forward(self, x, training=True):
        self._y = sigmoid(x)
        return self._y

    def backward(self, grad_y):
        return grad_y * self._y * (1.0 - self._y)


class Tanh(Layer):
    """y = tanh(x);  dy/dx = 1 - y^2."""

    def forward(self, x, training=True):
        xp = backend.namespace(x)
        self._y = xp.tanh(x)
        return self._y

    def backward(self, grad_y):
        return grad_y * (1.0 - self._y * self._y)


class Softmax(Layer):
    """y_i = exp(x_i - max x) / sum_j exp(x_j - max x) over the last axis.

    backward is the Jacobian-vector product, O(N*C), no C x C Jacobian:
    grad_x = y * (grad_y - sum_j grad_y_j y_j).
    """

    def forward(self, x, training=True):
        self._y = softmax(x)
        return self._y

    def backward(self, grad_y):
        y = self._y
        return y * (grad_y - row_sum(grad_y * y))


# activation="leaky_relu" in Dense uses Keras's activation function slope, 0.2.
_BY_NAME = {
    "linear": Linear,
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.2),
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}


# The classes a model file may name as an activation, as {"class_name", "config"}.
_CLASSES = {c.__name__: c for c in (Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax)}


def get(identifier, owner="Dense"):
    """An activation layer from a name ("relu", ...), None (linear), a parameter-free
    layer, or the {"class_name": ..., "config": {...}} dict ``serialize`` writes."""
    if identifier is None:
        return Linear()
    if isinstance(identifier, Layer) and not identifier.param_specs(1):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict):
        return _from_config(identifier, owner)
    raise ValueError(
        f"{owner}: unknown activation {identifier!r}. Choose one of: {', '.join(_BY_NAME)}."
    )


def _from_config(entry, owner):
    """The activation a {"class_name", "config"} dict describes, checked key by key."""
    config = entry.get("config")
    if (set(entry) != {"class_name", "config"} or not isinstance(entry["class_name"], str)
            or not isinstance(config, dict)):
        raise ValueError(f"{owner}: an activation config must be exactly {{'class_name': ..., "
                         f"'config': {{...}}}}, got {entry!r}.")
    cls = _CLASSES.get(entry["class_name"])
    if cls is None:
        raise ValueError(
            f"{owner}: unknown activation class {entry['class_name']!r}; a config names one "
            f"of tinynet's activations: {', '.join(_CLASSES)}. A layer class of your own "
            "cannot be described in a model file: rebuild the model in code and restore "
            "its weights with get_weights / set_weights.")
    accepted = set(cls().get_config())  # the arguments get_config writes back
    unknown = sorted(str(k) for k in config if k not in accepted)
    if unknown:
        raise ValueError(f"{owner}: activation {cls.__name__} takes "
                         f"{sorted(accepted) or 'no arguments'}, got unknown arguments "
                         f"{unknown}.")
    return cls(**config)


def name_of(layer):
    """The string ``get`` maps back to this activation, or None."""
    for name, make in _BY_NAME.items():
        made = make()
        if type(made) is type(layer) and made.get_config() == layer.get_config():
            return name
    return None


def serialize(layer):
    """What ``get`` turns back into an equal activation: its name where it has one
    ("relu", "leaky_relu" for slope 0.2), else {"class_name": ..., "config": {...}}.

    A class of the user's own (a subclass of a built-in one included) is written
    under its full name, "module.Class", which no tinynet reads back: save then
    refuses the model instead of loading a different activation.
    """
    name = name_of(layer)
    if name is not None:
        return name
    cls = type(layer)
    if _CLASSES.get(cls.__name__) is cls:
        return {"class_name": cls.__name__, "config": layer.get_config()}
    return {"class_name": f"{cls.__module__}.{cls.__qualname__}", "config": {}}
