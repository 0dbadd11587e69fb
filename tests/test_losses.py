"""Losses: finite differences, hand-worked values, extreme inputs, bad targets."""

import math

import numpy as np
import pytest

from tinynet import backend as tb
from tinynet import losses
from tinynet.lab.gradcheck import check_loss

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(5, 4))
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
LABELS = np.array([0, 3, 1, 2, 3])
ONE_HOT = np.eye(4)[LABELS]
# soft, unnormalised targets: rows sum to 0.5 .. 1.9, so a gradient written as
# (p - y) / N, right only for rows summing to 1, fails the check
SOFT = RNG.uniform(0.0, 1.0, size=(5, 4))
SOFT *= np.linspace(0.5, 1.9, 5)[:, None] / SOFT.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("loss,y_true,y_pred", [
    (losses.CategoricalCrossentropy(), ONE_HOT, PROBS),
    (losses.CategoricalCrossentropy(from_logits=True), ONE_HOT, LOGITS),
    (losses.SparseCategoricalCrossentropy(), LABELS, PROBS),
    (losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, LOGITS),
    (losses.BinaryCrossentropy(), (LOGITS > 0) * 1.0, 1 / (1 + np.exp(-LOGITS))),
    (losses.BinaryCrossentropy(from_logits=True), (LOGITS > 0) * 1.0, LOGITS),
    (losses.MeanSquaredError(), PROBS, LOGITS),
    (losses.CategoricalCrossentropy(), SOFT, PROBS),
    (losses.CategoricalCrossentropy(from_logits=True), SOFT, LOGITS),
    (losses.BinaryCrossentropy(), SOFT, 1 / (1 + np.exp(-LOGITS))),
    (losses.BinaryCrossentropy(from_logits=True), SOFT, LOGITS),
])
@pytest.mark.filterwarnings("ignore:.*soft labels:UserWarning")
def test_loss_gradients(backend, loss, y_true, y_pred):
    assert check_loss(loss, y_true, y_pred) < 1e-6
    stacked = np.stack([y_pred, y_pred[::-1]])  # (K, N, C) against shared targets
    assert check_loss(loss, y_true, stacked) < 1e-6


def test_check_loss_refuses_a_name_and_a_bad_step():
    with pytest.raises(TypeError, match="check_loss: loss must be a tinynet Loss"):
        check_loss("mse", PROBS, LOGITS)
    with pytest.raises(ValueError, match="check_loss: h must"):
        check_loss(losses.MeanSquaredError(), PROBS, LOGITS, h=0.0)


def test_categorical_hand_worked(float64):
    # -mean(log 0.5, log 0.25) for the true classes
    value = losses.CategoricalCrossentropy()(np.eye(2), np.array([[0.5, 0.5], [0.75, 0.25]]))
    assert value == pytest.approx(-(math.log(0.5) + math.log(0.25)) / 2)


def test_probabilities_are_normalised_then_clipped_as_keras(float64):
    # rows scaled by 2: normalisation makes them the same distribution
    a = losses.CategoricalCrossentropy()(ONE_HOT, PROBS)
    b = losses.CategoricalCrossentropy()(ONE_HOT, 2 * PROBS)
    assert a == pytest.approx(b)
    # a probability of exactly 0 for the true class is clipped to 1e-7
    value = losses.CategoricalCrossentropy()(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    assert value == pytest.approx(-math.log(1e-7))


def test_binary_exact_zero_and_one(float64):
    bce = losses.BinaryCrossentropy()
    assert bce(np.array([[1.0], [0.0]]), np.array([[1.0], [0.0]])) == pytest.approx(
        -math.log(1 - 1e-7), abs=1e-9)
    assert bce(np.array([[1.0]]), np.array([[0.0]])) == pytest.approx(-math.log(1e-7))
    grad = tb.to_numpy(bce.backward())
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("loss", [losses.CategoricalCrossentropy(from_logits=True),
                                  losses.BinaryCrossentropy(from_logits=True)])
def test_logits_of_size_1e4_stay_finite_and_exact(float64, loss):
    z = np.array([[1e4, -1e4, 0.0, 5e3]])
    y = np.array([[0.0, 1.0, 0.0, 0.0]])
    value = loss(y, z)
    grad = tb.to_numpy(loss.backward())
    assert math.isfinite(value) and np.all(np.isfinite(grad))
    if isinstance(loss, losses.CategoricalCrossentropy):
        assert value == pytest.approx(2e4)  # -log softmax of the true class = 1e4 - (-1e4)
    else:
        # mean of softplus terms: 1e4 (wrong, confident) + 1e4 + log 2 + 5e3
        assert value == pytest.approx((1e4 + 1e4 + math.log(2) + 5e3) / 4)


def test_mse_hand_worked(float64):
    assert losses.MeanSquaredError()(np.array([[1.0, 2.0]]), np.array([[2.0, 4.0]])) == 2.5


def test_stacked_loss_is_one_value_per_copy(float64):
    value = losses.CategoricalCrossentropy()(ONE_HOT, np.stack([PROBS, PROBS]))
    assert value.shape == (2,) and value[0] == value[1]


def test_bad_targets():
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 4\)"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 4]), PROBS[:2])
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        losses.CategoricalCrossentropy()(np.eye(3), PROBS[:3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.BinaryCrossentropy()(np.array([[2.0]]), np.array([[0.5]]))
    with pytest.raises(ValueError, match="NaN"):
        losses.MeanSquaredError()(np.array([[np.nan]]), np.array([[0.5]]))


ALL_LOSSES = [losses.CategoricalCrossentropy(), losses.SparseCategoricalCrossentropy(),
              losses.BinaryCrossentropy(), losses.MeanSquaredError()]


@pytest.mark.parametrize("loss,y_true,y_pred", [
    (losses.MeanSquaredError(), [[1.0, 2.0]], [[2.0, 4.0]]),
    (losses.MeanSquaredError(), [1, 3], [[2], [3]]),
    (losses.BinaryCrossentropy(), [[1.0], [0.0]], [[0.75], [0.5]]),
    (losses.CategoricalCrossentropy(), [[0.0, 1.0], [1.0, 0.0]], [[0.25, 0.75], [0.5, 0.5]]),
    (losses.SparseCategoricalCrossentropy(), [1, 0], [[0.25, 0.75], [0.5, 0.5]]),
    (losses.SparseCategoricalCrossentropy(from_logits=True), [1, 0], [[0.0, 1.0], [2.0, 1.0]]),
], ids=["mse", "mse-int", "bce", "cce", "scce", "scce-logits"])
def test_a_loss_takes_lists_as_it_takes_arrays(float64, loss, y_true, y_pred):
    value = loss(y_true, y_pred)
    assert isinstance(value, float)
    assert value == loss(np.array(y_true), np.array(y_pred, dtype=np.float64))
    assert loss.forward(y_true, y_pred) == value


@pytest.mark.parametrize("y_pred", [2.0, [0.7, 0.2, 0.1], np.ones((1, 1, 2, 3)),
                                    np.ones((0, 3)), np.ones((2, 0))],
                         ids=["scalar", "1-D", "4-D", "no rows", "no columns"])
@pytest.mark.parametrize("loss", ALL_LOSSES, ids=lambda loss: type(loss).__name__)
def test_y_pred_must_be_rows_of_outputs(float64, loss, y_pred):
    with pytest.raises(ValueError, match=r"y_pred must .*\(N, C\).*got shape"):
        loss([0], y_pred)


def test_y_pred_must_hold_numbers():
    with pytest.raises(TypeError, match="y_pred must hold numbers"):
        losses.MeanSquaredError()("a", "b")


def test_y_true_and_y_pred_must_agree(float64):
    with pytest.raises(ValueError, match=r"y_true has 2 rows but y_pred has 5.*\(5, 4\)"):
        losses.SparseCategoricalCrossentropy()(LABELS[:2], PROBS)
    with pytest.raises(ValueError, match=r"y_true.*\(3, 2\).*y_pred.*\(3, 3\)"):
        losses.MeanSquaredError()(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"y_true.*\(3,\).*y_pred.*\(3, 3\)"):
        losses.MeanSquaredError()(np.ones(3), np.ones((3, 3)))


@pytest.mark.parametrize("loss", [type(loss)() for loss in ALL_LOSSES],
                         ids=lambda loss: type(loss).__name__)
def test_backward_before_forward_says_to_call_forward(loss):
    with pytest.raises(ValueError, match=r"backward: call forward\(y_true, y_pred\) first"):
        loss.backward()


def test_fit_does_not_go_through_the_checked_entry(monkeypatch):
    """fit, evaluate and the fused step call value(): the checks of forward cost them nothing."""
    import tinynet as tn

    def refuse(self, y_true, y_pred):
        raise AssertionError("the training path called Loss.forward")

    monkeypatch.setattr(losses.Loss, "forward", refuse)
    x, y = RNG.normal(size=(8, 2)), np.arange(8) % 2
    for fused in (True, False):
        model = tn.Sequential([tn.layers.Dense(2, activation="softmax", input_dim=2)], seed=0)
        model.compile("sgd", loss="sparse_categorical_crossentropy", fused=fused)
        model.fit(x, y, epochs=1, batch_size=4, verbose=0, validation_split=0.25)
        model.evaluate(x, y)


def test_unknown_loss_lists_the_valid_ones():
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        losses.get("cross_entropy")


def test_binary_gradient_is_zero_where_the_clip_is_active(float64):
    """Probabilities under 1e-7 or over 1 - 1e-7 are clipped (Keras): no gradient there."""
    bce = losses.BinaryCrossentropy()
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[1e-9, 0.5], [1.0, 0.75]])
    bce(y, p)
    # inside: (p - y) / (p (1 - p)) / (N * D) with N * D = 4
    want = [[0.0, 0.5 / 0.25 / 4], [0.0, -0.25 / 0.1875 / 4]]
    np.testing.assert_allclose(tb.to_numpy(bce.backward()), want, rtol=1e-12, atol=0.0)


def test_categorical_gradient_is_zero_where_the_clip_is_active(float64):
    """Row 0's true class is under the clip: the row gets no gradient at all (Keras)."""
    cce = losses.CategoricalCrossentropy()
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    p = np.array([[0.5, 1e-9, 0.5 - 1e-9], [0.5, 0.25, 0.25]])
    cce(y, p)
    # row 1: u = -y / q = [-2, 0, 0], sum(u q) = -1, grad = (u - sum(u q)) / N
    np.testing.assert_allclose(tb.to_numpy(cce.backward()),
                               [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.5]], rtol=1e-12, atol=0.0)
