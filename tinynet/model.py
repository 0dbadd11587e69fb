"""Sequential: a stack of layers trained as one model, or as K stacked copies.

With ``n_models=K > 1`` every parameter carries a leading axis of K and the
copies train at once on the same batches; every kernel broadcasts over that
axis, so it is the same code path as a single model, not a second engine.
"""

import copy
import weakref

import numpy as np

from tinynet import _checks, backend, losses, metrics, optimizers, saving
from tinynet.layers import Dense, Layer, Softmax, from_config

_DEFAULT_METRICS = ("accuracy",)
_OPTIMIZER_OWNER = weakref.WeakKeyDictionary()  # optimizer -> weakref to the model using it


class Sequential:
    """A linear stack of layers.

    layers: Layer objects, first to last. seed: int or None (a fresh one is
    drawn and kept in ``model.seed``). n_models: K stacked copies. Copy k starts
    from the weights ``Sequential(layers, seed=seed + k)`` would have, or from
    those of ``seed`` for every copy when same_init=True.
    """

    def __init__(self, layers, seed=None, n_models=1, same_init=False):
        layers = list(layers) if isinstance(layers, (list, tuple)) else layers
        if not isinstance(layers, list) or not layers:
            raise ValueError(f"Sequential: layers must be a non-empty list, got {layers!r}.")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: layer {i} must be a tinynet Layer, got {layer!r}.")
            if layer.built:
                raise ValueError(
                    f"Sequential: layer {i} ({layer!r}) already belongs to a built model. "
                    "Create new layer objects for each model."
                )
        if len({id(layer) for layer in layers}) != len(layers):
            raise ValueError("Sequential: the same layer object appears twice in layers.")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        self.seed = _checks.nonneg_int(seed, "seed", "Sequential")
        self.n_models = _checks.positive_int(n_models, "n_models", "Sequential")
        self.same_init = bool(same_init)
        self.layers = layers
        self.optimizer = None
        self.loss = None
        self.metric_names, self._metric_fns = [], []
        self.stop_training = False
        self.frozen = None
        self._params = []
        self._shuffle_rng = np.random.default_rng((self.seed, 1))
        first = getattr(layers[0], "declared_input_dim", None)
        if first is not None:
            self.build(first)

    # --- building ---------------------------------------------------------------
    @property
    def built(self):
        return self.layers[0].built

    @property
    def stacked(self):
        return self.n_models > 1

    @property
    def input_dim(self):
        return self.layers[0].input_dim

    def build(self, input_dim):
        """Create every parameter for inputs of width ``input_dim``."""
        input_dim = _checks.positive_int(input_dim, "input_dim", "Sequential.build")
        seeds = [self.seed if self.same_init else self.seed + k for k in range(self.n_models)]
        rngs = [np.random.default_rng(s) for s in seeds]
        width = input_dim
        for i, layer in enumerate(self.layers):
            declared = getattr(layer, "declared_input_dim", None)
            if declared is not None and declared != width:
                raise ValueError(
                    f"{layer!r} (layer {i}) expected {declared} input features, but "
                    f"{'the data has' if i == 0 else 'the previous layer gives'} {width}. "
                    "Check input_dim or the previous layer."
                )
            width = layer.build(width, rngs, self.stacked)
        trainable_seen = False
        for layer in self.layers:
            layer.need_grad_input = trainable_seen
            trainable_seen = trainable_seen or bool(layer.params)
        self._params = [p for layer in self.layers for p in layer.params.values()]
        self.output_dim = width

    @property
    def params(self):
        """Every parameter array, in get_weights order (kernel_0, bias_0, ...)."""
        return [p for layer in self.layers for p in layer.params.values()]

    def grads(self):
        return [g for layer in self.layers for g in layer.grads.values()]

    # --- compile ----------------------------------------------------------------
    def compile(self, optimizer="sgd", loss=None, metrics=_DEFAULT_METRICS):
        """Choose the optimiser, the loss and the metrics reported by fit/evaluate."""
        if loss is None:
            raise ValueError("compile: loss is required, e.g. loss='categorical_crossentropy'.")
        loss = losses.get(loss)
        loss = copy.copy(loss)  # a loss caches its last batch: each model needs its own
        optimizer = optimizers.get(optimizer)
        _check_owner(optimizer, self)
        n_rates = optimizer.n_rates
        if n_rates is not None and n_rates != self.n_models:
            raise ValueError(
                f"compile: the optimizer has {n_rates} learning rates but the model stacks "
                f"{self.n_models} copies; give one rate per copy or a single rate."
            )
        if metrics is _DEFAULT_METRICS and isinstance(loss, losses.MeanSquaredError):
            metrics = ()
        if isinstance(metrics, str):
            metrics = (metrics,)
        resolved = [_metric(name, loss) for name in metrics]
        if self.optimizer is not None and self.optimizer is not optimizer:
            _OPTIMIZER_OWNER.pop(self.optimizer, None)  # the old one is free for another model
        _OPTIMIZER_OWNER[optimizer] = weakref.ref(self)
        self.loss, self.optimizer = loss, optimizer
        self.metric_names = [key for key, _ in resolved]
        self._metric_fns = [fn for _, fn in resolved]
        return self

    def _require_compiled(self, owner):
        if self.loss is None:
            raise ValueError(f"{owner}: call model.compile(optimizer=..., loss=...) first.")

    # --- data -------------------------------------------------------------------
    def _check_x(self, x, owner):
        x = _checks.host_array(x, "x", owner, ndim=2, dtype="float")
        if not self.built:
            self.build(x.shape[1])
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"{owner}: {self.layers[0]!r} (layer 0) expected {self.input_dim} input "
                f"features (built for {self.input_dim}), got shape {x.shape}."
            )
        return x

    def _check_xy(self, x, y, owner):
        """Host-checked (x, encoded y) as NumPy arrays; builds the model if needed."""
        x = self._check_x(x, owner)
        y = self.loss.encode(y, self.output_dim, owner)
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                f"{owner}: x has {x.shape[0]} rows but y has {y.shape[0]}; they must match."
            )
        return x, y

    # --- forward and backward ---------------------------------------------------
    def forward(self, x, training=True):
        """The network's output for device array x: (N, out) or (K, N, out)."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_out):
        """Back-propagate dL/d(output) through every layer, filling each layer's grads."""
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
            if grad_out is None:
                break

    def train_step(self, x, y):
        """One update on device arrays; returns (loss, [metric values], rate used).

        The loss and metrics are the batch's before the update. Two exact
        shortcuts are taken where they apply:
        - softmax output + categorical cross-entropy on probabilities: the loss
          hands dL/dz = (q sum_c v_c - v) / N to the layer below the softmax
          (CategoricalCrossentropy.softmax_backward), skipping its Jacobian;
        - an update that is exactly p <- p - lr * g (plain SGD): lr multiplies
          dL/d(output) and back-propagation, linear in it, yields the steps
          lr * g directly (Optimizer.folded_rate); layer.grads then hold lr * g.
        """
        out = self.forward(x, training=True)
        fused, head, backward_steps = self._step_plan()
        loss = self.loss.softmax_value(y, out) if fused else self.loss.value(y, out)
        values = [fn(y, out) for fn in self._metric_fns]
        folded = self.optimizer.folded_rate(out)
        if fused:
            grad = self.loss.softmax_backward(1.0 if folded is None else folded[1])
            if head is not None:  # dL/dz of the softmax goes into its Dense layer
                grad = head.backward_linear(grad)
        else:
            grad = self.loss.backward()
            grad = grad if folded is None else grad * folded[1]
        for backward in backward_steps:
            if grad is None:  # the layers below need no gradient
                break
            grad = backward(grad)
        if folded is None:
            return loss, values, self.optimizer.apply(self._params, self.grads())
        return loss, values, self.optimizer.apply_folded(self._params, self.grads(), folded[0])

    def _step_plan(self):
        """(fused, head, backward functions top to bottom) for train_step, kept per loss.

        fused: the output is softmax(z) under categorical cross-entropy on
        probabilities; head: then the Dense layer whose z it is (None when the
        softmax is a layer of its own, which is skipped). The gradients a step
        makes are its own, so layers with backward_ (in place) get that one.
        """
        last = self.layers[-1]
        key = (self.loss, tuple(self.layers), getattr(last, "activation", None))
        plan = getattr(self, "_plan", None)
        if plan is None or plan[0] != key:  # a new loss, or layers swapped (diagnostics)
            fused = _softmax_head(self.layers, self.loss)
            head = last if fused and isinstance(last, Dense) else None
            below = self.layers[-2::-1] if fused else self.layers[::-1]
            steps = [getattr(layer, "backward_", layer.backward) for layer in below]
            plan = self._plan = (key, fused, head, steps)
        return plan[1:]

    # --- public entry points ----------------------------------------------------
    def fit(self, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            shuffle=True, callbacks=(), verbose=1, validation_split_mode="tail",
            divergence_factor=None):
        """Train; returns a History. See tinynet.training.fit for every argument."""
        from tinynet import training

        if divergence_factor is None:
            divergence_factor = training.DIVERGENCE_FACTOR
        return training.fit(self, x, y, epochs, batch_size, validation_split, validation_data,
                            shuffle, callbacks, verbose, validation_split_mode, divergence_factor)

    def predict(self, x, batch_size=None):
        """Outputs for x as a NumPy array: (N, out), or (K, N, out) when stacked."""
        x = self._check_x(x, "predict")
        chunks = [backend.to_numpy(self.forward(xb, training=False))
                  for xb in self._chunks(backend.to_device(x), x.shape[0], batch_size)]
        return np.concatenate(chunks, axis=-2)

    def evaluate(self, x, y, batch_size=None, verbose=0):
        """{"loss": ..., metric: ...} on (x, y): floats, or (K,) arrays when stacked."""
        self._require_compiled("evaluate")
        x, y = self._check_xy(x, y, "evaluate")
        values = self.evaluate_device(backend.to_device(x), backend.to_device(y), batch_size)
        result = {key: backend.to_float(v) for key, v in values.items()}
        if verbose:
            print(" - ".join(f"{k}: {_fmt(v)}" for k, v in result.items()))
        return result

    def evaluate_device(self, x, y, batch_size=None):
        """Sample-weighted mean loss and metrics on device arrays (no host copy)."""
        n = x.shape[0]
        sums = None
        for xb, yb in zip(self._chunks(x, n, batch_size), self._chunks(y, n, batch_size)):
            out = self.forward(xb, training=False)
            vals = [self.loss.value(yb, out)] + [fn(yb, out) for fn in self._metric_fns]
            part = [v * xb.shape[0] for v in vals]
            sums = part if sums is None else [s + p for s, p in zip(sums, part)]
        keys = ["loss"] + self.metric_names
        return {k: s / n for k, s in zip(keys, sums)}

    def train_on_batch(self, x, y):
        """One update on (x, y); returns the batch loss before the update (Keras)."""
        self._require_compiled("train_on_batch")
        x, y = self._check_xy(x, y, "train_on_batch")
        loss, _, _ = self.train_step(backend.to_device(x), backend.to_device(y))
        return backend.to_float(loss)

    @staticmethod
    def _chunks(a, n, batch_size):
        size = n if batch_size is None else _checks.positive_int(batch_size, "batch_size",
                                                                 "predict")
        return [a[i:min(i + size, n), ...] for i in range(0, n, size)]

    # --- weights ----------------------------------------------------------------
    def get_weights(self):
        """NumPy copies of every parameter: [kernel_0, bias_0, kernel_1, ...]."""
        return [np.array(backend.to_numpy(p)) for p in self.params]

    def set_weights(self, weights):
        """Replace every parameter with a copy of the given arrays (same shapes)."""
        if not self.built:
            raise ValueError("set_weights: the model is not built yet; call build(input_dim).")
        weights = list(weights)
        slots = [(layer, name) for layer in self.layers for name in layer.params]
        if len(weights) != len(slots):
            raise ValueError(
                f"set_weights: expected {len(slots)} arrays, got {len(weights)}."
            )
        for i, ((layer, name), w) in enumerate(zip(slots, weights)):
            w = _checks.host_array(w, f"weights[{i}]", "set_weights", finite=False)
            want = tuple(layer.params[name].shape)
            if w.shape != want:
                raise ValueError(
                    f"set_weights: weights[{i}] ({name} of {layer!r}) must have shape "
                    f"{want}, got {w.shape}."
                )
            layer.params[name] = backend.to_device(w.astype(np.float64))
        self._params = self.params

    def freeze(self, mask):
        """Stop updating the stacked copies where ``mask`` (bool, K) is True."""
        mask = np.asarray(mask, dtype=bool).reshape(-1)
        self.frozen = mask.copy() if self.frozen is None else (self.frozen | mask)
        if self.optimizer is not None:
            self.optimizer.frozen = self.frozen

    def save(self, path):
        """Write the model to one .npz file at exactly ``path``, atomically."""
        saving.save_model(self, path)

    def summary(self):
        """A table of layers, output widths and parameter counts, as a string."""
        lines = [f"Sequential(n_models={self.n_models}, seed={self.seed})"]
        total = 0
        for i, layer in enumerate(self.layers):
            count = sum(int(np.prod(p.shape)) for p in layer.params.values())
            total += count
            lines.append(f"  {i:2d}  {layer!r:40s} params: {count}")
        lines.append(f"  total parameters: {total}")
        return "\n".join(lines)

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], seed={self.seed}, n_models={self.n_models})"


def load_model(path):
    """The Sequential saved at ``path``; ValueError on a truncated, tampered or foreign file.

    Every part of the file is checked before it is used (see tinynet.saving); the
    digest is not a signature: do not load files from sources you do not trust.
    """
    config, weights = saving.read_model(path)
    model = Sequential([from_config(c) for c in config["layers"]], seed=config["seed"],
                       n_models=config["n_models"], same_init=config["same_init"])
    if config["input_dim"] is not None:
        if not model.built:
            model.build(config["input_dim"])
        model.set_weights([w.astype(np.dtype(backend.get_dtype())) for w in weights])
    settings = saving.compile_settings(config)
    if settings is not None:
        optimizer, loss, metric_names = settings
        model.compile(optimizer=optimizer, loss=loss, metrics=metric_names)
    return model


def _check_owner(optimizer, model):
    """Refuse an optimiser that another (living) model already trains with.

    Its moments, step count and frozen flags are per model: two models sharing
    them would mix their updates (Keras 3 refuses the same way, in effect).
    """
    owner = _OPTIMIZER_OWNER.get(optimizer)
    other = None if owner is None else owner()
    if other is not None and other is not model and other.optimizer is optimizer:
        raise ValueError(
            f"compile: this {type(optimizer).__name__} instance is already compiled into another "
            "model; create a new optimizer for each model (e.g. "
            f"tn.optimizers.{type(optimizer).__name__}(...) per model)."
        )


def _softmax_head(layers, loss):
    """True when the output is softmax(z) and the loss categorical CE on probabilities."""
    if type(loss) not in (losses.CategoricalCrossentropy,
                          losses.SparseCategoricalCrossentropy) or loss.from_logits:
        return False
    head = layers[-1]
    return isinstance(head, Softmax) or (isinstance(head, Dense)
                                         and isinstance(head.activation, Softmax))


def _metric(name, loss):
    if not isinstance(name, str):
        raise TypeError(f"compile: metrics must be names such as 'accuracy', got {name!r}.")
    return metrics.resolve(name, loss)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return np.array2string(np.asarray(value), precision=4)
