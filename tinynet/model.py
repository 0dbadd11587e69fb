"""Sequential: a stack of layers trained as one model, or as K stacked copies.

With ``n_models=K > 1`` every parameter carries a leading axis of K and the
copies train at once, each on its own batches (x of shape (K, B, in)) or on
shared ones (x of shape (B, in)); every kernel broadcasts over that axis, so it
is the same code path as a single model, not a second engine.
"""

import copy
import warnings
import weakref

import numpy as np

from tinynet import _checks, _files, backend, losses, metrics, optimizers, saving
from tinynet.fused import make_step as make_fused_step
from tinynet.layers import Layer, Sigmoid, Softmax, from_config
from tinynet.shuffling import BatchOrders

_DEFAULT_METRICS = ("accuracy",)
_OPTIMIZER_OWNER = weakref.WeakKeyDictionary()  # optimizer -> weakref to the model using it


class Sequential:
    """A linear stack of layers.

    layers: Layer objects, first to last; empty or None for a model filled with
    ``add`` (Keras). seed: int or None (a fresh one is drawn and kept in
    ``model.seed``). n_models: K stacked copies.

    A seed is a whole run: the initial weights and the batch order. Copy k is
    the model ``Sequential(layers, seed=seed + k)``: it starts from the weights
    that model would have and, with ``fit(shuffle=True)``, sees exactly the
    batches it would see, so it trains bit for bit (float64) like it.
    same_init=True makes every copy the model of ``seed`` (its weights and its
    batch order), so the copies differ only in what the optimiser gives each
    (its learning rate): a paired comparison. ``fit(shuffle="shared")`` gives
    every copy the batch order of ``seed`` whatever the weights.
    """

    def __init__(self, layers=(), seed=None, n_models=1, same_init=False):
        if layers is None:
            layers = []
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"Sequential: layers must be a list of layers, got {layers!r}.")
        layers = list(layers)
        for i, layer in enumerate(layers):
            _check_new_layer(layer, f"Sequential: layer {i}", layers[:i])
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        self.seed = _checks.nonneg_int(seed, "seed", "Sequential")
        if self.seed >= 2**64:  # what a model file holds (torch.manual_seed's bound too)
            raise ValueError(f"Sequential: seed must be an integer in [0, 2**64 - 1], got "
                             f"{seed!r}.")
        self.n_models = _checks.positive_int(n_models, "n_models", "Sequential")
        if self.n_models > saving.MAX_MODELS:
            raise ValueError(f"Sequential: n_models must be at most {saving.MAX_MODELS} (the "
                             f"most a model file holds), got {n_models!r}.")
        self.same_init = _checks.boolean(same_init, "same_init", "Sequential")
        self.layers = layers
        self.optimizer = None
        self.loss = None
        self.metric_names, self._metric_fns = [], []
        self.train_function = None  # compile: train_step or its fused sibling
        self.stop_training = False
        self.frozen = None
        self._set_shuffle_seeds([self.seed if self.same_init else self.seed + k
                                 for k in range(self.n_models)])
        first = getattr(layers[0], "declared_input_dim", None) if layers else None
        if first is not None:
            self.build(first)

    def add(self, layer):
        """Append a layer (Keras's Sequential.add), with the constructor's checks.

        Before the model is built, the layer is only appended; a first layer
        with input_dim builds the model at once, as in the constructor. After
        the model is built, the existing layers keep their weights (trained or
        not) and the new layer is built on the output width, as Keras 3 rebuilds
        on add; its initial weights are those ``Sequential(all layers, seed)``
        would give it. An optimiser that already holds state (momentum, Adam's
        moments) for the old parameters cannot take new ones (Keras refuses it
        too): compile again with a new optimiser before adding.
        """
        _check_new_layer(layer, "Sequential.add", self.layers)
        slots = getattr(self.optimizer, "_slots", None)
        if self.built and slots is not None and any(slots):
            raise ValueError(
                f"Sequential.add: the optimizer {self.optimizer!r} already holds state for the "
                "model's current parameters (the model was trained), and cannot take the new "
                f"layer's. Call compile(...) again with a new optimizer, then add {layer!r}.")
        declared = getattr(layer, "declared_input_dim", None)
        if not self.built:
            self.layers.append(layer)
            if len(self.layers) == 1 and declared is not None:
                self.build(declared)
            if self.train_function is not None:  # compiled: the step sees the new layer
                self._choose_step()
            return
        if declared is not None and declared != self.output_dim:
            raise ValueError(
                f"Sequential.add: {layer!r} expected {declared} input features, but the "
                f"previous layer gives {self.output_dim}. Check input_dim or the previous layer.")
        if slots is not None:  # a stateless rule (plain SGD): new slots for every parameter
            self.optimizer._slots = None
        kept = [layer_.params for layer_ in self.layers]
        self.layers.append(layer)
        self.build(self.input_dim)  # the new layer's draws follow the others', as at init
        for layer_, params in zip(self.layers, kept):
            layer_.params = params  # the old layers keep their (maybe trained) weights
        if self.train_function is not None:  # compiled: the step sees the new layer
            self._choose_step()

    # --- shuffling ----------------------------------------------------------------
    def _set_shuffle_seeds(self, seeds):
        """Give copy k the batch order of a single model seeded ``seeds[k]`` (tinynet.shuffling)."""
        if len(seeds) != self.n_models:
            raise ValueError(f"Sequential: {len(seeds)} shuffle seeds for {self.n_models} "
                             "copies; give one per copy.")
        self.batch_orders = BatchOrders(seeds)

    @property
    def _shuffle_rng(self):
        """The generator of copy 0 (the model's seed): a single model's, or the shared order."""
        return self.batch_orders.first

    @_shuffle_rng.setter
    def _shuffle_rng(self, rng):
        self.batch_orders.first = rng

    # --- building ---------------------------------------------------------------
    @property
    def built(self):
        return bool(self.layers) and self.layers[0].built

    @property
    def stacked(self):
        return self.n_models > 1

    @property
    def input_dim(self):
        return self.layers[0].input_dim if self.layers else None

    def build(self, input_dim):
        """Create every parameter for inputs of width ``input_dim``."""
        input_dim = _checks.positive_int(input_dim, "input_dim", "Sequential.build")
        seeds = [self.seed if self.same_init else self.seed + k for k in range(self.n_models)]
        rngs = _Draws(seeds)  # a copy's generator is made when a layer first draws from it
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
        self.output_dim = width

    @property
    def params(self):
        """Every parameter array, in get_weights order (kernel_0, bias_0, ...)."""
        return [p for layer in self.layers for p in layer.params.values()]

    def grads(self):
        return [g for layer in self.layers for g in layer.grads.values()]

    # --- compile ----------------------------------------------------------------
    def compile(self, optimizer="sgd", loss=None, metrics=_DEFAULT_METRICS, fused=True):
        """Choose the optimiser, the loss and the metrics reported by fit/evaluate.

        fused: True (default) makes ``train_function``, the step fit calls, the
        fused step of tinynet.fused (the same numbers, faster) where it applies;
        False makes it the plain train_step, to compare or to follow in a debugger.
        """
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
        resolved = _resolve_metrics(metrics, loss)
        if self.optimizer is not None and self.optimizer is not optimizer:
            _OPTIMIZER_OWNER.pop(self.optimizer, None)  # the old one is free for another model
        _OPTIMIZER_OWNER[optimizer] = weakref.ref(self)
        self.loss, self.optimizer = loss, optimizer
        self.metric_names = [key for key, _ in resolved]
        self._metric_fns = [fn for _, fn in resolved]
        _warn_if_probabilities_meet_logits(self.layers, loss)
        _warn_if_loss_wants_probabilities(self.layers, loss)
        self._fused = _checks.boolean(fused, "fused", "compile")
        self._choose_step()
        return self

    def _choose_step(self):
        """train_function: the fused step where it applies and was asked for, else train_step.

        Made once for the layers and loss at hand: compile and add call it.
        """
        step = None
        if self._fused:
            step = make_fused_step(self.layers, self.loss, self.optimizer, self._metric_fns)
        self.train_function = step or self.train_step

    def require_compiled(self, owner):
        """ValueError naming ``owner`` (the caller, e.g. "fit") unless compile was called."""
        if self.loss is None:
            raise ValueError(f"{owner}: call model.compile(optimizer=..., loss=...) first.")

    # --- data -------------------------------------------------------------------
    def check_inputs(self, x, owner):
        """x as a checked float NumPy array (N, input_dim); builds the model on first use."""
        if not self.layers:
            raise ValueError(f"{owner}: the model has no layers yet; add some with "
                             "model.add(layer).")
        x = _checks.host_array(x, "x", owner, ndim=2, dtype="float", compute=True,
                               copy=False)  # read only: every caller copies it to the device
        if not self.built:
            self.build(x.shape[1])
        _check_backend(self, owner)
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"{owner}: {self.layers[0]!r} (layer 0) expected {self.input_dim} input "
                f"features (built for {self.input_dim}), got shape {x.shape}."
            )
        return x

    def check_data(self, x, y, owner):
        """Host-checked (x, encoded y) as NumPy arrays; builds the model if needed."""
        x = self.check_inputs(x, owner)
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

    def train_step(self, x, y):
        """One update on device arrays: forward, loss, backward, update.

        Returns (loss, [metric values], rate used); the loss and metrics are the
        batch's before the update. This is the step as a student reads it; fit
        calls ``train_function``, which compile sets to this step or to its
        fused sibling (tinynet.fused: the same numbers, faster).
        """
        out = self.forward(x, training=True)
        loss = self.loss.value(y, out)
        values = self.metric_values(y, out)
        grad = self.loss.backward()
        self.backward(grad)
        lr = self.optimizer.apply(self.params, self.grads())
        return loss, values, lr

    # --- public entry points ----------------------------------------------------
    def fit(self, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            shuffle=True, callbacks=(), verbose=1, validation_split_mode="tail",
            growth_factor=4.0):
        """Train; returns a History. See tinynet.training.fit for every argument.

        shuffle: True (each copy its own order, from its own seed), "shared"
        (one order, the model seed's, for every copy) or False.
        """
        from tinynet import training

        return training.fit(self, x, y, epochs, batch_size, validation_split, validation_data,
                            shuffle, callbacks, verbose, validation_split_mode, growth_factor)

    def predict(self, x, batch_size=None):
        """Outputs for x as a NumPy array: (N, out), or (K, N, out) when stacked."""
        x = self.check_inputs(x, "predict")
        chunks = [backend.to_numpy(self.forward(xb, training=False))
                  for xb in self._chunks(backend.to_device(x), x.shape[0], batch_size)]
        return np.concatenate(chunks, axis=-2)

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=True):
        """{"loss": ..., metric: ...} on (x, y): floats, or (K,) arrays when stacked.

        return_dict=False gives Keras's default form instead: [loss, *metrics]
        in compile order, or the loss alone when there are no metrics. (Keras
        defaults to False; tinynet's evaluate has always returned the dict.)
        """
        self.require_compiled("evaluate")
        if batch_size is not None:
            batch_size = _checks.positive_int(batch_size, "batch_size", "evaluate")
        if verbose not in (0, 1, 2):  # as fit
            raise ValueError(f"evaluate: verbose must be 0, 1 or 2, got {verbose!r}.")
        return_dict = _checks.boolean(return_dict, "return_dict", "evaluate")
        x, y = self.check_data(x, y, "evaluate")
        values = self.evaluate_device(backend.to_device(x), backend.to_device(y), batch_size)
        result = {key: backend.to_float(v) for key, v in values.items()}
        if verbose:
            print(" - ".join(f"{k}: {_fmt(v)}" for k, v in result.items()))
        if return_dict:
            return result
        listed = list(result.values())
        return listed[0] if len(listed) == 1 else listed

    def metric_values(self, y, out, labels=None):
        """[metric(y, out) for each compiled metric], in metric_names' order, on the device.

        labels: argmax_c y (..., N) where the caller has them (fit works them out once
        per fit); the metrics that read only those (metrics.FROM_LABELS) take them.
        """
        if labels is None:
            return [fn(y, out) for fn in self._metric_fns]
        return [metrics.FROM_LABELS[fn](labels, out) if fn in metrics.FROM_LABELS
                else fn(y, out) for fn in self._metric_fns]

    @property
    def reads_labels(self):
        """True when a compiled metric reads only the targets' labels (see metric_values)."""
        return any(fn in metrics.FROM_LABELS for fn in self._metric_fns)

    def evaluate_device(self, x, y, batch_size=None, metrics=True):
        """Sample-weighted mean loss and metrics on device arrays (no host copy);
        metrics=False: the loss alone."""
        n = x.shape[0]
        sums = None
        for xb, yb in zip(self._chunks(x, n, batch_size), self._chunks(y, n, batch_size)):
            out = self.forward(xb, training=False)
            vals = [self.loss.value(yb, out), *(self.metric_values(yb, out) if metrics else ())]
            part = [v * xb.shape[0] for v in vals]
            sums = part if sums is None else [s + p for s, p in zip(sums, part)]
        keys = ["loss"] + self.metric_names
        return {k: s / n for k, s in zip(keys, sums)}

    def __call__(self, x, training=False):
        """model(x): the outputs for x as a NumPy array, as ``predict`` (Keras's model(x)).

        training=True runs the layers in training mode (they cache what backward
        needs); tinynet has no layer that behaves differently, so the values match.
        """
        x = self.check_inputs(x, "Sequential.__call__")
        return backend.to_numpy(self.forward(backend.to_device(x), training=bool(training)))

    def train_on_batch(self, x, y):
        """One update on (x, y); returns the batch loss before the update (Keras)."""
        self.require_compiled("train_on_batch")
        x, y = self.check_data(x, y, "train_on_batch")
        loss, _, _ = self.train_function(backend.to_device(x), backend.to_device(y))
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
        """Replace every parameter with a copy of the given arrays (same shapes).

        A finite value beyond the compute dtype's range (float32: 3.4e38) is
        refused: the cast would turn it into inf. NaN and inf are kept as given
        (a checkpoint of a diverged run loads back as it was).
        """
        if not self.built:
            raise ValueError("set_weights: the model is not built yet; call build(input_dim).")
        weights = _checks.array_list(weights, "weights", "set_weights")
        slots = [(layer, name) for layer in self.layers for name in layer.params]
        if len(weights) != len(slots):
            raise ValueError(
                f"set_weights: expected {len(slots)} arrays, got {len(weights)}."
            )
        for i, ((layer, name), w) in enumerate(zip(slots, weights)):
            w = _checks.host_array(w, f"weights[{i}]", "set_weights", finite=False)
            _checks.finite_fits_dtype(w, f"weights[{i}]", "set_weights")
            want = tuple(layer.params[name].shape)
            if w.shape != want:
                raise ValueError(
                    f"set_weights: weights[{i}] ({name} of {layer!r}) must have shape "
                    f"{want}, got {w.shape}."
                )
            layer.params[name] = backend.to_device(w.astype(np.float64))

    def freeze(self, mask):
        """Stop updating the stacked copies where ``mask`` (bool, K) is True.

        Frozen copies stay frozen until the next fit, which starts with none
        frozen (the deciding callbacks start afresh): to hold copies through a
        fit, freeze them in a callback's on_train_begin. A single model takes a
        mask of one bool; True stops its updates (train_on_batch) the same way.
        """
        mask = np.asarray(mask, dtype=bool).reshape(-1)
        if mask.shape[0] != self.n_models:
            raise ValueError(f"freeze: mask must have K={self.n_models} entries, got "
                             f"{mask.shape[0]}: one bool per stacked copy.")
        self.frozen = mask.copy() if self.frozen is None else (self.frozen | mask)
        if self.optimizer is not None:
            self.optimizer.frozen = self.frozen

    def save(self, path):
        """Write the model to one .npz file at exactly ``path``, atomically.

        A path whose suffix names another library's format (.h5, .keras, .pt,
        .pkl, .onnx, ...) is refused with a ValueError: the file would be
        tinynet's .npz under a misleading name. Any other path is written as given.
        """
        path = saving.checked_path(path, "save")
        _files.refuse_foreign_suffix(path, "save")
        saving.save_model(self, path)

    def count_params(self):
        """The number of parameter values (an int), K stacked copies included (Keras)."""
        if not self.built:
            raise ValueError(
                "count_params: the model is not built yet, so it has no parameters. Give the "
                "first layer input_dim, call build(input_dim), or fit/predict once.")
        return sum(_size(p) for p in self.params)

    def summary(self, print_fn=None):
        """Print a table of layers, output widths and parameter counts (Keras).

        print_fn: called with each line instead of print (Keras), e.g.
        ``lines = []; model.summary(print_fn=lines.append)`` to keep the text.
        Returns None, as Keras does. Stacked models count every copy in the
        total and say how much is one copy's.
        """
        if print_fn is not None and not callable(print_fn):
            raise TypeError("summary: print_fn must be None or a function called with each "
                            f"line (print, lines.append), got {print_fn!r}.")
        for line in _summary_lines(self):
            (print_fn or print)(line)

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], seed={self.seed}, n_models={self.n_models})"


def load_model(path):
    """The Sequential saved at ``path``; ValueError on a truncated, tampered or foreign file.

    Every part of the file is checked before it is used (see tinynet.saving); the
    digest is not a signature: do not load files from sources you do not trust.
    """
    config, weights, slots = saving.read_model(path)
    model = Sequential([from_config(c) for c in config["layers"]], seed=config["seed"],
                       n_models=config["n_models"], same_init=config["same_init"])
    if config["input_dim"] is not None:
        if not model.built:
            model.build(config["input_dim"])
        model.set_weights([w.astype(np.dtype(backend.get_dtype())) for w in weights])
    settings = saving.compile_settings(config)
    if settings is not None:
        optimizer, loss, metric_names, fused = settings
        model.compile(optimizer=optimizer, loss=loss, metrics=metric_names, fused=fused)
    saving.restore_training(model, config, slots)  # the step count, slots, shuffle streams
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


def _check_new_layer(layer, owner, layers):
    """The checks a layer passes before it joins a model (constructor and add)."""
    if not isinstance(layer, Layer):
        raise TypeError(f"{owner} must be a tinynet Layer, got {layer!r}.")
    if layer.built:
        raise ValueError(
            f"{owner} ({layer!r}) already belongs to a built model. "
            "Create new layer objects for each model."
        )
    if any(layer is other for other in layers):
        raise ValueError(f"{owner}: the same layer object {layer!r} appears twice in the model.")


class _Draws:
    """Copy k's initialisation generator, ``numpy.random.default_rng(seeds[k])``, made when
    a layer first draws from it and kept for the next layers (a list to Layer.build)."""

    def __init__(self, seeds):
        self.seeds, self._made = seeds, {}

    def __len__(self):
        return len(self.seeds)

    def __getitem__(self, k):
        if k not in self._made:
            self._made[k] = np.random.default_rng(self.seeds[k])
        return self._made[k]

    def __iter__(self):
        return (self[k] for k in range(len(self.seeds)))


def _check_backend(model, owner):
    """ValueError when the weights live on another backend or dtype than the current
    one (set_backend or set_dtype was called after the model was built)."""
    p = next((p for layer in model.layers for p in layer.params.values()), None)
    if p is None:
        return
    xp = backend.namespace(p)
    name = getattr(xp, "__name__", "numpy").split(".")[0]  # by name: cupy's may be a submodule
    if name == backend.get_backend() and p.dtype == getattr(xp, backend.get_dtype()):
        return
    have = f"{name} / {str(p.dtype).split('.')[-1]}"
    now = f"{backend.get_backend()} / {backend.get_dtype()}"
    raise ValueError(
        f"{owner}: the model's weights are {have} arrays, but the current backend and dtype "
        f"are {now} (tn.set_backend or tn.set_dtype was called after the model was built). "
        "Switch back before using this model, or move it: model.save(path) then "
        "tn.load_model(path) builds it on the current backend and dtype.")


def _warn_if_loss_wants_probabilities(layers, loss):
    """UserWarning when a cross-entropy on probabilities (from_logits=False) follows an
    output that can leave [0, 1] (linear, ReLU, tanh, ...): the loss clips such outputs
    to [1e-7, 1 - 1e-7] (the categorical one renormalises rows first), so training
    stalls or blows up for a reason that is not the learning rate. A softmax or a
    sigmoid output passes."""
    if not layers or getattr(loss, "from_logits", True):
        return
    if not isinstance(loss, (losses.CategoricalCrossentropy, losses.BinaryCrossentropy)):
        return
    last = layers[-1]
    act = getattr(last, "activation", last)
    if isinstance(act, (Softmax, Sigmoid)):
        return
    name = "softmax" if isinstance(loss, losses.CategoricalCrossentropy) else "sigmoid"
    warnings.warn(
        f"compile: the loss {loss!r} reads probabilities (from_logits=False), but the output "
        f"layer {last!r} (layer {len(layers) - 1}) applies {type(act).__name__.lower()}, "
        "whose outputs can fall outside [0, 1]: the loss clips them to [1e-7, 1 - 1e-7], "
        "and a run that fails then looks like a learning-rate problem. Give the last layer "
        f"activation='{name}', or use the loss with from_logits=True.",
        UserWarning, stacklevel=3)


def _summary_lines(model):
    """summary's table: a header, one line per layer, the parameter count."""
    lines = [f"Sequential(n_models={model.n_models}, seed={model.seed})"]
    width = model.input_dim
    for i, layer in enumerate(model.layers):
        count = sum(_size(p) for p in layer.params.values())
        width = layer.output_dim(width) if width is not None else None
        out = "?" if width is None else width
        lines.append(f"  {i:2d}  {layer!r:40s} output: {out!s:6s} params: {count}")
    if not model.built:
        lines.append("  not built yet: parameters are created once the input width is "
                     "known (input_dim on the first layer, or the first fit/predict)")
    else:
        total = model.count_params()
        per_copy = f" ({total // model.n_models} per copy)" if model.stacked else ""
        lines.append(f"  total parameters: {total}{per_copy}")
    return lines


def _size(array):
    return int(np.prod(array.shape))


def _warn_if_probabilities_meet_logits(layers, loss):
    """UserWarning when a from_logits loss follows a softmax or sigmoid output (Keras)."""
    if not layers or not getattr(loss, "from_logits", False):
        return
    last = layers[-1]
    act = getattr(last, "activation", last)
    if isinstance(act, Softmax) or (isinstance(act, Sigmoid) and
                                     isinstance(loss, losses.BinaryCrossentropy)):
        name = type(act).__name__.lower()
        warnings.warn(
            f"compile: the loss {loss!r} has from_logits=True, but the output layer "
            f"{last!r} (layer {len(layers) - 1}) applies {name}, so its outputs are "
            "probabilities already, not logits. Drop the output activation, or use "
            "from_logits=False.", UserWarning, stacklevel=3)


def _resolve_metrics(metrics, loss):
    """[(name, function)] for compile's metrics: names, one name, None or the default."""
    if metrics is _DEFAULT_METRICS and isinstance(loss, losses.MeanSquaredError):
        metrics = ()
    if metrics is None:  # Keras accepts None for no metrics
        metrics = ()
    if isinstance(metrics, str):
        metrics = (metrics,)
    return [_metric(name, loss) for name in metrics]


def _metric(name, loss):
    if not isinstance(name, str):
        raise TypeError(f"compile: metrics must be names such as 'accuracy', got {name!r}.")
    return metrics.resolve(name, loss)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return np.array2string(np.asarray(value), precision=4)
