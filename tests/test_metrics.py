"""Metrics: accuracy variants and the exact ROC-AUC."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet import backend as tb
from tinynet import metrics


def test_categorical_accuracy_hand_worked(backend):
    y = tb.to_device(np.eye(3)[[0, 1, 2, 2]])
    p = tb.to_device(np.array([[0.8, 0.1, 0.1], [0.3, 0.4, 0.3], [0.5, 0.2, 0.3], [0, 0, 1.0]]))
    assert float(tb.to_numpy(metrics.categorical_accuracy(y, p))) == 0.75


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([(7,), (3, 5), (2, 1)]), st.integers(2, 5),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_categorical_accuracy_counts_hits_to_the_float_of_their_mean(lead, c, dtype, seed):
    # hits / N in the outputs' dtype is the mean of the 0/1 floats, bit for bit; ties
    # (rounded scores) and stacked (K, N, C) outputs included
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(lead + (c,)), 1).astype(dtype)
    y = np.eye(c, dtype=dtype)[rng.integers(0, c, lead)]
    got = metrics.categorical_accuracy(y, p)
    want = np.mean((np.argmax(p, axis=-1) == np.argmax(y, axis=-1)).astype(dtype), axis=-1)
    assert np.asarray(got).dtype == dtype and np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(got, want)


def test_binary_accuracy_thresholds(backend):
    y = tb.to_device(np.array([[1.0], [0.0], [1.0], [0.0]]))
    p = tb.to_device(np.array([[0.9], [0.6], [0.4], [0.1]]))
    assert float(tb.to_numpy(metrics.binary_accuracy(y, p))) == 0.5
    z = tb.to_device(np.array([[2.0], [-1.0], [0.5], [-3.0]]))
    assert float(tb.to_numpy(metrics.binary_accuracy_logits(y, z))) == 1.0


def test_roc_auc_hand_worked():
    # positives 0.8, 0.4; negatives 0.5, 0.1: pairs won 1 + 1 + 0 + 1 = 3 of 4
    assert metrics.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.5, 0.1]) == 0.75
    assert metrics.roc_auc([1, 0], [0.3, 0.3]) == 0.5  # ties count one half


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=30))
def test_roc_auc_equals_the_pair_count(pairs):
    y = np.array([int(a) for a, _ in pairs])
    s = np.array([float(b) for _, b in pairs])
    if y.min() == y.max():
        with pytest.raises(ValueError, match="single class"):
            metrics.roc_auc(y, s)
        return
    pos, neg = s[y == 1], s[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert metrics.roc_auc(y, s) == pytest.approx(wins / (pos.size * neg.size))


def test_roc_auc_bad_input():
    with pytest.raises(ValueError, match="only 0 and 1"):
        metrics.roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="3 values but y_score has 2"):
        metrics.roc_auc([0, 1, 1], [0.1, 0.2])


@pytest.mark.parametrize("fused", [False, True])
def test_accuracy_with_logits_thresholds_them_at_zero(float64, fused):
    """BinaryCrossentropy(from_logits=True): a logit in (0, 0.5) predicts class 1."""
    import tinynet as tn

    loss = tn.losses.BinaryCrossentropy(from_logits=True)
    assert metrics.resolve("accuracy", loss)[1] is metrics.binary_accuracy_logits
    model = tn.Sequential([tn.layers.Dense(1, kernel_initializer="ones", input_dim=1)], seed=0)
    model.compile(tn.optimizers.SGD(0.0), loss=loss, metrics=["accuracy"], fused=fused)
    x, y = np.array([[0.3], [-0.2], [0.4], [-0.4]]), np.array([[1.0], [0.0], [1.0], [0.0]])
    assert model.evaluate(x, y)["accuracy"] == 1.0  # 0.5 at a threshold of 0.5
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert history.history["accuracy"] == [1.0]
