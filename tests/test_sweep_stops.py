"""Copies that stop early: what a sweep records for them, the same for every chunking.

A copy frozen by a callback keeps its frozen value (the last epoch it completed)
and ``stopped_epoch`` says where; a diverged one is NaN after its epoch; steps
are NaN after a copy's last update. Epochs count from 1 everywhere.
"""

import warnings

import numpy as np
import pytest
from conftest import assert_same_sweep, blobs

import tinynet as tn
from tinynet.lab.sweep_result import SweepResult

LOSS = "sparse_categorical_crossentropy"
RATES, SEEDS, EPOCHS = [0.02, 0.1, 0.5], (0, 1), 5  # copies k = r * 2 + s, 0..5


def layers_fn():
    init = tn.initializers.RandomNormal(0.0, 0.5)
    return [tn.layers.Dense(8, activation="tanh", input_dim=2, kernel_initializer=init),
            tn.layers.Dense(4, activation="softmax", kernel_initializer=init)]


class FreezeAt(tn.callbacks.Callback):
    """Freezes sweep-wide copy k at the end of epoch ``at[k]`` (1-based; missing: never),
    or after batch ``batch`` of that epoch when batch is given (a batch callback)."""

    def __init__(self, at, batch=None):
        self.at, self.batch = at, batch
        self.wants_batches = batch is not None

    def _freeze(self, epoch):
        mask = np.array([self.at.get(int(k)) == epoch + 1 for k in self.copies])
        if not mask.any():
            return
        if self.model.stacked:
            self.model.freeze(mask)
            if np.all(self.model.frozen):
                self.model.stop_training = True
        else:
            self.model.stop_training = True

    def on_epoch_begin(self, epoch):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs):
        if batch == self.batch:
            self._freeze(self.epoch)

    def on_epoch_end(self, epoch, logs):
        if self.batch is None:
            self._freeze(epoch)


def swept(callbacks, copies_per_chunk=None, **kwargs):
    x, y = blobs(120)
    args = dict(loss=LOSS, epochs=EPOCHS, batch_size=32, verbose=0, validation_split=0.25,
                callbacks=callbacks)
    args.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        full = tn.sweep(layers_fn, x / 4.0, y, RATES, seeds=SEEDS, **args)
        if copies_per_chunk is None:
            return full
        fixed, per_copy = full.config["memory_fixed"], full.config["memory_per_copy"]
        args["memory_budget"] = fixed + (copies_per_chunk + 0.5) * per_copy
        return full, tn.sweep(layers_fn, x / 4.0, y, RATES, seeds=SEEDS, **args)


# copies 0 and 1 (chunk 0 with two per chunk) both stop in epoch 2: that chunk's fit ends
AT = {0: 2, 1: 2, 4: 3}


@pytest.mark.parametrize("copies_per_chunk", [1, 2])
def test_copies_frozen_at_an_epoch_end_record_the_same_in_every_chunking(float64,
                                                                         copies_per_chunk):
    """Issue 21: unchunked, a frozen copy kept recording new values; in a chunk whose copies
    had all stopped, fit ended and the same copies got NaN."""
    full, chunked = swept(lambda: [FreezeAt(AT)], copies_per_chunk)
    assert len(chunked.config["chunk_sizes"]) >= 3
    assert_same_sweep(full, chunked)


@pytest.mark.parametrize("copies_per_chunk", [1, 2])
def test_copies_frozen_during_an_epoch_record_the_same_in_every_chunking(float64,
                                                                         copies_per_chunk):
    full, chunked = swept(lambda: [FreezeAt(AT, batch=0)], copies_per_chunk)
    assert_same_sweep(full, chunked)


def test_a_frozen_copy_keeps_its_frozen_value_and_says_where_it_stopped(float64):
    result = swept(lambda: [FreezeAt(AT)])
    per_epoch = 3  # 90 training rows in batches of 32
    expected = np.full((3, 2), -1)
    expected[0, 0], expected[0, 1], expected[2, 0] = 2, 2, 3
    np.testing.assert_array_equal(result.stopped_epoch, expected)
    for (r, s), stop in [((0, 0), 2), ((0, 1), 2), ((2, 0), 3)]:
        for key, values in result.history.items():
            assert np.all(values[stop:, r, s] == values[stop - 1, r, s]), key
            assert np.isfinite(values[stop - 1, r, s]), key
        assert np.all(np.isnan(result.steps["loss"][stop * per_epoch:, r, s]))
        assert np.all(np.isfinite(result.steps["loss"][:stop * per_epoch, r, s]))
    trained = result.stopped_epoch < 0
    assert np.all(np.isfinite(result.steps["loss"][:, trained]))
    np.testing.assert_array_equal(result.final("loss"), result.history["loss"][-1])


def test_a_copy_stopped_during_an_epoch_has_not_completed_it(float64):
    """Stopped after batch 0 of epoch 2: epoch 1 is its frozen value, steps end at update 4."""
    result = swept(lambda: [FreezeAt({3: 2}, batch=0)])
    r, s = divmod(3, 2)
    assert result.stopped_epoch[r, s] == 2
    loss = result.history["loss"][:, r, s]
    assert np.all(loss[1:] == loss[0])
    assert np.all(np.isfinite(result.steps["loss"][:4, r, s]))
    assert np.all(np.isnan(result.steps["loss"][4:, r, s]))


def test_early_stopping_gives_the_same_records_in_every_chunking(float64):
    stop = lambda: [tn.callbacks.EarlyStopping(monitor="val_loss", patience=1,  # noqa: E731
                                               min_delta=0.05)]
    full, chunked = swept(stop, 1, epochs=8)
    assert np.any(full.stopped_epoch > 0)
    assert_same_sweep(full, chunked)


# --- one convention: epochs count from 1 -------------------------------------------------
def test_a_hand_built_result_counts_the_diverged_epoch_as_the_sweep_does(float64):
    """Issue 21: a hand-built SweepResult defaulted to the epoch before the first NaN (a
    0-based index), while a real sweep records the first non-finite epoch, 1-based."""
    x, y = blobs(120)
    logits = tn.losses.SparseCategoricalCrossentropy(from_logits=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.DivergenceWarning)
        real = tn.sweep(lambda: [tn.layers.Dense(8, activation="relu", input_dim=2),
                                 tn.layers.Dense(4)], x / 4.0, y, [0.05, 1e150], seeds=(0, 1),
                        loss=logits, epochs=3, verbose=0)
    assert np.all(real.diverged[1]) and np.all(real.diverged_epoch[1] >= 1)
    by_hand = SweepResult(real.learning_rates, real.seeds, real.history, diverged=real.diverged)
    np.testing.assert_array_equal(by_hand.diverged_epoch, real.diverged_epoch)
    # a loss that is finite in epoch 1 and NaN from epoch 2: fit records diverged_epoch 2
    nan_in_2 = SweepResult([0.1], (0,), {"loss": [[[0.7]], [[np.nan]], [[np.nan]]]},
                           diverged=[[True]])
    assert nan_in_2.diverged_epoch[0, 0] == 2
    assert "1-based" in SweepResult.__doc__ and "0-based" not in SweepResult.__doc__


def test_stops_and_failures_are_written_out_and_read_back(float64, tmp_path):
    import csv
    import json

    result = swept(lambda: [FreezeAt(AT)])
    back = SweepResult.from_dict(json.loads(json.dumps(result.to_dict())))
    np.testing.assert_array_equal(back.stopped_epoch, result.stopped_epoch)
    np.testing.assert_array_equal(back.failed, result.failed)
    with open(result.to_csv(tmp_path / "copies.csv", per="copy"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(row["stopped_epoch"]) for row in rows] == result.stopped_epoch.reshape(-1).tolist()
    assert {row["failed"] for row in rows} == {"False"}
