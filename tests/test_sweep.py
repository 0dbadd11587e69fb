"""tn.sweep and SweepResult: a rate x seed grid as one stacked model."""

import csv
import json
import os
import warnings

import numpy as np
import pytest
from conftest import assert_same_sweep, blobs
from matplotlib.figure import Figure

import tinynet as tn
from tinynet.lab.sweep import sweep
from tinynet.lab.sweep_memory import default_memory_budget, estimate_memory
from tinynet.lab.sweep_result import SweepResult
from tinynet.layers import Dense
from tinynet.plot import sweep as plot_sweep

LOSS = "sparse_categorical_crossentropy"


def layers_fn():
    """2-8-4: small enough that a grid of copies trains in milliseconds."""
    init = tn.initializers.RandomNormal(0.0, 0.5)
    return [Dense(8, activation="tanh", input_dim=2, kernel_initializer=init),
            Dense(4, activation="softmax", kernel_initializer=init)]


def logits_fn():
    """2-8-4 with linear outputs: with LOGITS its loss grows without bound at large rates."""
    return [Dense(8, activation="relu", input_dim=2), Dense(4)]


LOGITS = tn.losses.SparseCategoricalCrossentropy(from_logits=True)


def lazy_layers_fn():
    """The same network without input_dim: built at the first data it sees."""
    return [Dense(8, activation="relu"), Dense(4, activation="softmax")]


def data(n=120):
    x, y = blobs(n)
    return x / 4.0, y


def run(rates, seeds=(0, 1), fn=layers_fn, **kwargs):
    """A quiet sweep of layers_fn on data(); kwargs override the defaults below."""
    x, y = data()
    args = dict(loss=LOSS, epochs=4, batch_size=32, verbose=0)
    args.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        return sweep(fn, x, y, rates, seeds=seeds, **args)


# --- chunking -----------------------------------------------------------------------
@pytest.mark.parametrize("copies_per_chunk", [1, 2])
def test_chunked_sweep_equals_one_big_run(backend, copies_per_chunk):
    rates, seeds = [0.05, 0.5, 1e150], (3, 4)  # 1e150 overflows: chunks that stop pad
    args = dict(fn=logits_fn, loss=LOGITS, validation_split=0.2)
    full = run(rates, seeds, **args)
    fixed, per_copy = full.config["memory_fixed"], full.config["memory_per_copy"]
    budget = fixed + (copies_per_chunk + 0.5) * per_copy
    chunked = run(rates, seeds, memory_budget=budget, **args)
    assert full.config["chunk_sizes"] == [6]
    assert len(chunked.config["chunk_sizes"]) >= 3
    assert max(chunked.config["chunk_sizes"]) == copies_per_chunk
    assert_same_sweep(full, chunked)
    assert np.all(full.diverged[2]) and not np.any(full.diverged[:2])


class _PerCopyRecord(tn.callbacks.Callback):
    """Records every copy's epoch loss and final first kernel, under its sweep-wide index."""

    def __init__(self, n_copies, epochs):
        self.loss = np.full((epochs, n_copies), np.nan)
        self.kernel = [None] * n_copies
        self.chunks = 0

    def on_train_begin(self):
        self.chunks += 1

    def on_epoch_end(self, epoch, logs):
        self.loss[epoch, self.copies] = np.atleast_1d(logs["loss"])

    def on_train_end(self):
        kernel = self.model.get_weights()[0]
        kernel = kernel if self.model.stacked else kernel[None]
        for j, k in enumerate(self.copies):
            self.kernel[k] = kernel[j]


@pytest.mark.parametrize("copies_per_chunk", [1, 2])
@pytest.mark.parametrize("as_factory", [False, True])
def test_callbacks_chunked_equal_unchunked(copies_per_chunk, as_factory):
    rates, seeds, epochs = [0.05, 0.5, 2.0], (3, 4), 3
    n = len(rates) * len(seeds)

    def swept(**kwargs):
        made = []

        def factory():
            made.append(_PerCopyRecord(n, epochs))
            return [made[-1]]

        one = _PerCopyRecord(n, epochs)
        result = run(rates, seeds, epochs=epochs, callbacks=factory if as_factory else [one],
                     **kwargs)
        records = made if as_factory else [one]
        loss = np.nanmax(np.stack([r.loss for r in records]), axis=0)  # each copy in one chunk
        kernels = [next(r.kernel[k] for r in records if r.kernel[k] is not None)
                   for k in range(n)]
        return result, loss, kernels, records

    full, loss, kernels, records = swept()
    assert len(records) == 1 and records[0].chunks == 1
    fixed, per_copy = full.config["memory_fixed"], full.config["memory_per_copy"]
    chunked, loss_c, kernels_c, records_c = swept(
        memory_budget=fixed + (copies_per_chunk + 0.5) * per_copy)
    n_chunks = len(chunked.config["chunk_sizes"])
    assert n_chunks >= 3
    assert (len(records_c), records_c[0].chunks) == ((n_chunks, 1) if as_factory
                                                     else (1, n_chunks))
    np.testing.assert_array_equal(loss, loss_c)
    np.testing.assert_array_equal(loss, full.history["loss"].reshape(epochs, n))
    for a, b in zip(kernels, kernels_c):
        np.testing.assert_array_equal(a, b)


def test_callbacks_must_be_callback_objects():
    with pytest.raises(TypeError, match="callbacks"):
        run([0.1], callbacks=["not a callback"])
    with pytest.raises(TypeError, match="callbacks"):
        run([0.1], callbacks=lambda: [3])


def test_memory_estimate_grows_with_the_network_and_the_optimizer():
    small = tn.Sequential(layers_fn(), seed=0)
    wide = tn.Sequential([Dense(64, input_dim=2), Dense(4)], seed=0)
    sgd = tn.optimizers.SGD(0.1)
    fixed, per_sgd = estimate_memory(small, sgd, 100, 0, 32, 5)
    _, per_adam = estimate_memory(small, tn.optimizers.Adam(0.1), 100, 0, 32, 5)
    _, per_wide = estimate_memory(wide, sgd, 100, 0, 32, 5)
    itemsize = 4  # float32
    n_params = 2 * 8 + 8 + 8 * 4 + 4
    assert per_adam - per_sgd == 2 * itemsize * n_params
    assert per_wide > per_sgd
    # the data once on the device + float64 one-hot targets and labels; no shuffled copies
    assert fixed == itemsize * 100 * (2 + 4) + 2 * 8 * 100 * 4
    host, _ = estimate_memory(small, sgd, 100, 0, 32, 5, host_copy=True)
    assert host - fixed == 8 * 100 * 2  # float32 (or int) x: the check's float64 cast


def test_default_budget_is_a_positive_number_of_bytes():
    budget = default_memory_budget()
    assert isinstance(budget, int) and budget > 0
    assert run([0.1]).config["memory_budget"] > 0


# --- equivalence with models trained one at a time -----------------------------------
def separate_model(rate, init_seed, shuffle_seed, optimizer, **fit_args):
    x, y = data()
    init = tn.Sequential(layers_fn(), seed=init_seed).get_weights()
    model = tn.Sequential(layers_fn(), seed=shuffle_seed)  # its seed drives the batch order
    model.set_weights(init)
    model.compile(optimizer(rate), loss=LOSS)
    return model.fit(x, y, verbose=0, **fit_args)


@pytest.mark.parametrize("name, optimizer, make", [
    ("sgd", "sgd", lambda lr: tn.optimizers.SGD(lr)),
    ("momentum", tn.optimizers.SGD(0.123, momentum=0.9),
     lambda lr: tn.optimizers.SGD(lr, momentum=0.9)),
    ("adam", tn.optimizers.Adam, lambda lr: tn.optimizers.Adam(lr)),
])
@pytest.mark.parametrize("same_init", [True, False])
def test_sweep_equals_separately_trained_models(float64, name, optimizer, make, same_init):
    rates, seeds = [0.01, 0.3], (5, 7)
    fit_args = dict(epochs=3, batch_size=32, validation_split=0.25)
    result = run(rates, seeds, optimizer=optimizer, same_init_across_rates=same_init,
                 **fit_args)
    for r, rate in enumerate(rates):
        for s, seed in enumerate(seeds):
            init_seed = seed if same_init else seed + r * (max(seeds) - min(seeds) + 1)
            one = separate_model(rate, init_seed, seed, make, **fit_args)  # seed s's batches
            for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
                np.testing.assert_allclose(result.history[key][:, r, s], one.history[key],
                                           rtol=1e-12, atol=1e-14, err_msg=key)
            np.testing.assert_allclose(result.steps["loss"][:, r, s], one.steps["loss"],
                                       rtol=1e-12)


def test_sweep_equals_separate_models_on_every_backend(backend):
    rates, seeds = [0.05, 0.5], (0, 1)
    fit_args = dict(epochs=2, batch_size=40)
    result = run(rates, seeds, **fit_args)
    assert tn.get_backend() == backend
    for r, rate in enumerate(rates):
        for s, seed in enumerate(seeds):
            one = separate_model(rate, seed, seed, tn.optimizers.SGD, **fit_args)
            np.testing.assert_allclose(result.history["loss"][:, r, s], one.history["loss"],
                                       rtol=1e-12)


def test_same_init_across_rates_starts_every_rate_from_the_seed_weights(float64):
    result = run([1e-12, 2e-12], seeds=(0, 9), epochs=1)  # rates too small to move
    for s in range(2):
        np.testing.assert_allclose(result.steps["loss"][0, 0, s], result.steps["loss"][0, 1, s],
                                   rtol=0, atol=0)
    assert result.steps["loss"][0, 0, 0] != result.steps["loss"][0, 0, 1]


def test_schedule_factory_scales_one_shape_to_each_rate():
    def schedule(lr):
        return lambda step: lr / (1.0 + step)

    result = run([0.1, 0.2], seeds=(0,), schedule=schedule, epochs=2, batch_size=40)
    steps = np.arange(result.steps["lr"].shape[0])
    for r, rate in enumerate([0.1, 0.2]):
        np.testing.assert_allclose(result.steps["lr"][:, r, 0], rate / (1.0 + steps))


def test_lazy_layers_are_built_from_the_data():
    result = run([0.1, 0.2], fn=lazy_layers_fn)
    assert result.history["loss"].shape == (4, 2, 2)


# --- divergence -----------------------------------------------------------------------
def test_a_diverging_rate_leaves_the_others_unchanged():
    x, y = blobs(120)  # unscaled: sgd at 1e150 overflows to NaN/inf
    args = dict(seeds=(0, 1, 2), loss=LOGITS, epochs=5, batch_size=32, verbose=0)
    calm = sweep(logits_fn, x, y, [0.01, 0.1], **args)
    with pytest.warns(tn.DivergenceWarning, match="1e\\+150"):
        wild = sweep(logits_fn, x, y, [0.01, 0.1, 1e150], **args)
    for key in calm.history:
        np.testing.assert_array_equal(wild.history[key][:, :2], calm.history[key], err_msg=key)
    assert wild.diverged.tolist() == [[False] * 3, [False] * 3, [True] * 3]
    for s in range(3):
        epoch = wild.diverged_epoch[2, s]
        assert 1 <= epoch <= 5
        assert np.all(np.isnan(wild.history["loss"][epoch:, 2, s]))
    assert np.all(np.isnan(wild.final("loss")[2]))
    assert wild.success_rate("loss", 10.0).tolist()[2] == 0.0


# --- bad input --------------------------------------------------------------------------
def _same_objects():
    layers = layers_fn()
    return lambda: layers


def _built_layers():
    layers = [Dense(8, activation="relu"), Dense(4, activation="softmax")]
    tn.Sequential(layers, seed=0).build(5)  # built for another input width
    return lambda: layers


@pytest.mark.parametrize("kwargs, match", [
    (dict(learning_rates=[]), "learning_rates"),
    (dict(learning_rates=[0.1, 0.0]), "learning_rates"),
    (dict(learning_rates=[0.1, -1.0]), "learning_rates"),
    (dict(learning_rates=[0.1, float("nan")]), "learning_rates"),
    (dict(learning_rates=[0.1, float("inf")]), "learning_rates"),
    (dict(learning_rates=[0.1, 0.1]), "learning_rates"),
    (dict(seeds=(1, 1)), "seeds"),
    (dict(seeds=()), "seeds"),
    (dict(fn=_same_objects()), "layers_fn"),
    (dict(fn=_built_layers()), "layers_fn"),
    (dict(fn=lambda: []), "layers_fn"),
    (dict(fn=lambda: None), "layers_fn"),
    (dict(memory_budget=100), "memory_budget"),
    (dict(optimizer_kwargs={"learning_rate": 0.1}), "optimizer_kwargs"),
    (dict(optimizer_kwargs={"bogus": 1}), "optimizer_kwargs"),
])
def test_bad_input_raises_a_value_error_naming_the_argument(kwargs, match):
    x, y = data()
    fn = kwargs.pop("fn", layers_fn)
    args = dict(learning_rates=[0.1], loss=LOSS, verbose=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sweep(fn, x, y, **args)


@pytest.mark.parametrize("optimizer_kwargs", [[1], "momentum", [("momentum", 0.9)],
                                              {1: 0.9}])
def test_optimizer_kwargs_must_be_a_dict_with_string_keys(optimizer_kwargs):
    x, y = data()
    with pytest.raises(TypeError, match="optimizer_kwargs"):
        sweep(layers_fn, x, y, [0.1], loss=LOSS, verbose=0, optimizer_kwargs=optimizer_kwargs)


def test_input_width_mismatch_names_layers_fn():
    x, y = data()
    with pytest.raises(ValueError, match="layers_fn"):
        sweep(layers_fn, np.hstack([x, x]), y, [0.1], loss=LOSS, verbose=0)


def test_nothing_passed_in_is_modified():
    x, y = data()
    x0, y0 = x.copy(), y.copy()
    rates = [0.1, 0.2]
    opt = tn.optimizers.SGD(0.5, momentum=0.5)
    sweep(layers_fn, x, y, rates, seeds=[0, 1], optimizer=opt, loss=LOSS, epochs=2, verbose=0,
          optimizer_kwargs={"nesterov": True})
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    assert rates == [0.1, 0.2]
    assert opt.learning_rate == 0.5 and opt.iterations == 0 and opt.nesterov is False


# --- SweepResult by hand ----------------------------------------------------------------
def hand_made():
    """3 rates x 4 seeds x 2 epochs; rate 1.0 diverged in seeds 2 and 3."""
    loss = np.array([
        [[1.0, 1.0, 1.0, 1.0], [0.9, 0.8, 0.7, 0.6], [2.0, 2.0, 9.0, 9.0]],
        [[0.5, 0.6, 0.7, 0.8], [0.1, 0.2, 0.3, 0.4], [1.5, 1.5, np.nan, np.inf]],
    ])
    acc = np.array([
        [[0.3] * 4, [0.5] * 4, [0.2] * 4],
        [[0.8, 0.85, 0.95, 0.99], [0.95, 0.92, 0.91, 0.5], [0.96, 0.2, np.nan, np.nan]],
    ])
    diverged = np.array([[False] * 4, [False] * 4, [False, False, True, True]])
    return SweepResult([0.01, 0.1, 1.0], (0, 1, 2, 3), {"loss": loss, "accuracy": acc},
                       diverged=diverged)


def test_final_success_rate_and_best_rate_of_a_hand_made_result():
    res = hand_made()
    assert res.epochs_run == 2
    np.testing.assert_array_equal(res.final("loss")[1], [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(res.success_rate("accuracy", 0.9), [0.5, 0.75, 0.25])
    np.testing.assert_array_equal(res.success_rate("loss", 0.65), [2 / 4, 4 / 4, 0.0])
    np.testing.assert_array_equal(res.success_rate("loss", 0.65, mode="max"), [0.5, 0.0, 0.5])
    assert res.best_rate("loss") == 0.1
    assert res.best_rate("accuracy") == 0.1
    # both went non-finite in epoch 2 (NaN and inf), counted from 1 as the log counts
    np.testing.assert_array_equal(res.diverged_epoch, [[-1] * 4, [-1] * 4, [-1, -1, 2, 2]])
    with pytest.raises(ValueError, match="metric"):
        res.success_rate("val_accuracy", 0.9)


def test_to_table_lists_every_rate_with_medians_and_divergence():
    table = hand_made().to_table()
    lines = table.splitlines()
    assert len(lines) == 2 + 3
    assert "median loss" in lines[0] and "IQR loss" in lines[0]
    assert "median accuracy" in lines[0] and "success (accuracy>0.9)" in lines[0]
    assert "[95% CI]" in lines[0] and "non-finite (of 4)" in lines[0]
    # counts of seeds come with their Wilson 95% interval
    assert lines[2].split() == ["0.01", "0.65", "0.15", "0.9", "50%", "[15%,", "85%]",
                                "0", "[0%,", "49%]", "0", "[0%,", "49%]"]
    # medians over all seeds: two of four went non-finite, so the upper half is +inf
    # (loss) and the lower half -inf (accuracy)
    assert lines[4].split() == ["1", "inf", "inf", "-inf", "25%", "[5%,", "70%]",
                                "2", "[15%,", "85%]", "0", "[0%,", "49%]"]


def test_to_csv_is_written_atomically_and_reads_back(tmp_path):
    res = hand_made()
    path = tmp_path / "sweep.csv"
    assert res.to_csv(path) == str(path)
    rows = list(csv.DictReader(open(path)))
    assert [float(r["learning_rate"]) for r in rows] == [0.01, 0.1, 1.0]
    assert float(rows[1]["median_loss"]) == pytest.approx(0.25)
    assert rows[2]["diverged"] == "2"
    res.to_csv(path, per="copy")  # replaces the file
    rows = list(csv.DictReader(open(path)))
    assert len(rows) == 12 and rows[10]["final_loss"] == "" and rows[10]["diverged"] == "True"
    assert os.listdir(tmp_path) == ["sweep.csv"]
    with pytest.raises(ValueError, match="per"):
        res.to_csv(path, per="seed")


def test_to_dict_is_json_and_round_trips():
    res = hand_made()
    data = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert data["history"]["loss"][1][2] == [1.5, 1.5, None, None]
    back = SweepResult.from_dict(data)
    np.testing.assert_array_equal(back.history["accuracy"], res.history["accuracy"])
    np.testing.assert_array_equal(back.diverged, res.diverged)
    assert back.seeds == res.seeds


_GONE = object()  # the key is removed from the dict


@pytest.mark.parametrize("key, value, error", [
    ("seeds", _GONE, ValueError),
    ("history", _GONE, ValueError),
    ("history", [1], TypeError),
    ("history", {"loss": "abc"}, TypeError),
    ("history", {"loss": [[["0.5"] * 4] * 3]}, TypeError),
    ("history", {"loss": [[[1.0] * 4] * 2 + [[1.0] * 3]]}, ValueError),
    ("seeds", 3, TypeError),
    ("seeds", [0.5, 1.7, 2, 3], TypeError),
    ("learning_rates", [None, -1.0, 1.0], ValueError),
    ("learning_rates", ["0.01", "0.1", "1.0"], TypeError),
    ("diverged", [True] * 3, ValueError),
    ("diverged", "yes", TypeError),
    ("diverged_epoch", [[1.5] * 4] * 3, TypeError),
    ("initial_loss", [1.0], ValueError),
    ("steps", [1], TypeError),
    ("steps", {"lr": [1.0, 2.0, 3.0]}, ValueError),
    ("config", "abc", TypeError),
])
def test_from_dict_names_the_key_of_a_damaged_dict(key, value, error):
    data = json.loads(json.dumps(hand_made().to_dict(), allow_nan=False))
    if value is _GONE:
        del data[key]
    else:
        data[key] = value
    with pytest.raises(error, match=key):
        SweepResult.from_dict(data)


def test_from_dict_refuses_what_is_not_a_dict():
    with pytest.raises(TypeError, match="dict"):
        SweepResult.from_dict([1, 2])


def test_a_real_sweep_result_serialises():
    res = run([0.05, 0.5], validation_split=0.2)
    data = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert data["config"]["chunk_sizes"] == [4]
    assert set(data["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert res.history["lr"].shape == (4, 2, 2) and res.steps["loss"].shape == (12, 2, 2)
    assert "val_accuracy" in res.to_table().splitlines()[0]


def test_constructor_rejects_arrays_of_the_wrong_shape():
    with pytest.raises(ValueError, match="history"):
        SweepResult([0.1, 0.2], (0,), {"loss": np.zeros((3, 2, 2))})


# --- plots ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["curves", "final", "heatmap"])
def test_plots_return_figures(kind, tmp_path):
    res = hand_made()
    for metric in ("loss", "accuracy"):
        fig = res.plot(kind, metric=metric)
        assert isinstance(fig, Figure)
        fig.savefig(tmp_path / f"{kind}-{metric}.png")


def test_final_vs_rate_shades_where_most_seeds_diverged():
    res = hand_made()
    res.diverged[2] = [True, True, True, False]
    ax = plot_sweep.final_vs_rate(res).axes[0]
    assert any("non-finite" in t.get_text() for t in ax.get_legend().get_texts())
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


@pytest.mark.parametrize("plot", [plot_sweep.loss_curves, plot_sweep.final_vs_rate,
                                  plot_sweep.heatmap])
def test_plots_reject_an_unknown_metric(plot):
    with pytest.raises(ValueError, match="metric"):
        plot(hand_made(), metric="val_loss")
    with pytest.raises(TypeError, match="result"):
        plot({"loss": [1.0]})


def test_plot_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        hand_made().plot("pie")



@pytest.mark.parametrize("factory, error, match", [
    (lambda lr: 0.05, TypeError, r"schedule\(0\.001\) returned 0\.05 \(float\), not a schedule"),
    (lambda lr: tn.schedules.CosineDecay(0.05, 100), ValueError, "ignores its argument"),
    (lambda lr: (lambda step: "fast"), TypeError, "returned 'fast'"),
])
def test_a_schedule_factory_that_ignores_its_rate_is_refused(factory, error, match):
    x, y = tn.datasets.make_blobs(40, 2, seed=0)
    with pytest.raises(error, match=match):
        sweep(lambda: [tn.layers.Dense(2, activation="softmax")], x, y, [0.001, 0.5], seeds=[0],
              loss="sparse_categorical_crossentropy", schedule=factory, epochs=1, verbose=0)


def test_a_schedule_factory_that_uses_its_rate_is_accepted():
    x, y = tn.datasets.make_blobs(40, 2, seed=0)
    res = sweep(lambda: [tn.layers.Dense(2, activation="softmax")], x, y, [0.001, 0.5],
                seeds=[0], loss="sparse_categorical_crossentropy", epochs=1, verbose=0,
                schedule=lambda lr: tn.schedules.Warmup(tn.schedules.CosineDecay(lr, 100), 5))
    assert res.learning_rates.tolist() == [0.001, 0.5]


def test_success_rate_and_to_csv_name_a_bad_threshold_and_path():
    res = hand_made()
    with pytest.raises(TypeError, match="SweepResult.success_rate: threshold must be a real"):
        res.success_rate("accuracy", None)
    with pytest.raises(TypeError, match="SweepResult.success_rate: threshold must be a real"):
        res.success_rate("accuracy", "0.9")
    with pytest.raises(TypeError, match="SweepResult.to_csv: path must be a file path"):
        res.to_csv(None)


def test_a_copy_equals_its_single_model_bit_for_bit_with_a_width_1_head_and_a_short_batch():
    """A (N, 1) linear head after a ReLU, 100 rows in batches of 16 (the last one 4): the
    short batch's products must see the same layout as the full ones'."""
    x = np.random.default_rng(0).normal(size=(100, 3))
    y = x @ np.array([[1.0], [2.0], [-1.0]])
    old = tn.get_dtype()
    tn.set_dtype("float64")
    try:
        def fn():
            return [Dense(6, activation="relu", input_dim=3), Dense(1)]

        res = tn.sweep(fn, x, y, [0.01, 0.1], seeds=(3, 4), loss="mse", epochs=3,
                       batch_size=16, verbose=0)
        single = tn.Sequential(fn(), seed=4)
        single.compile(tn.optimizers.SGD(0.1), loss="mse")
        h = single.fit(x, y, epochs=3, batch_size=16, verbose=0)
    finally:
        tn.set_dtype(old)
    np.testing.assert_array_equal(np.array(h.history["loss"]), res.history["loss"][:, 1, 1])


def test_same_init_across_rates_and_outcomes_arguments_are_checked():
    res = hand_made()
    with pytest.raises(TypeError, match="threshold must be a real"):
        res.outcomes(metric="accuracy", threshold="0.9")
    with pytest.raises(TypeError, match="fit_ratio must be a real"):
        res.outcomes(fit_ratio="a")
    with pytest.raises(TypeError, match="fit_ratio must be a real"):
        res.outcomes(fit_ratio=True)
    x = np.random.default_rng(0).normal(size=(16, 2))
    with pytest.raises((TypeError, ValueError), match="same_init_across_rates"):
        tn.sweep(lambda: [Dense(2, input_dim=2)], x, x, [0.1], loss="mse", verbose=0,
                 same_init_across_rates="no")
