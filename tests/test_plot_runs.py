"""tn.plot.history / tn.plot.histories: any run, or several, in one call."""

import numpy as np
import pytest

import tinynet as tn

pytest.importorskip("matplotlib")


class FakeHistory:
    """Shaped like a History: per-epoch lists, floats or (K,) arrays."""

    def __init__(self, history):
        self.history = history
        self.epoch = list(range(len(next(iter(history.values())))))


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_history_draws_a_panel_per_metric_validation_dashed_and_the_rate():
    h = FakeHistory({"loss": [1.0, 0.5, 0.25], "accuracy": [0.5, 0.7, 0.9],
                     "val_loss": [1.1, 0.6, 0.4], "val_accuracy": [0.4, 0.6, 0.8],
                     "lr": [0.1, 0.1, 0.05]})
    fig = tn.plot.history(h)
    loss_ax, acc_ax, rate_ax = fig.axes
    assert loss_ax.get_title() == "loss" and acc_ax.get_title() == "accuracy"
    lines = _lines(loss_ax)
    assert lines["val_loss"].get_linestyle() == "--" and lines["loss"].get_linestyle() == "-"
    np.testing.assert_array_equal(lines["loss"].get_xdata(), [1, 2, 3])  # epochs as logged
    np.testing.assert_array_equal(lines["val_loss"].get_ydata(), [1.1, 0.6, 0.4])
    assert rate_ax.get_yscale() == "log"
    np.testing.assert_array_equal(rate_ax.get_lines()[0].get_ydata(), [0.1, 0.1, 0.05])


def test_non_finite_epochs_are_marked_not_hidden():
    h = FakeHistory({"loss": [1.0, np.inf, np.nan], "lr": [0.1] * 3})
    (loss_ax, _) = tn.plot.history(h).axes
    marks = _lines(loss_ax)["loss: non-finite"]
    np.testing.assert_array_equal(marks.get_xdata(), [2, 3])
    np.testing.assert_array_equal(_lines(loss_ax)["loss"].get_ydata()[1:], [np.nan, np.nan])


def test_stacked_band_is_the_median_over_all_copies_a_blown_up_copy_counts_as_worst():
    # three copies; copy 2 blows up in epoch 2: the median over ALL copies at
    # epoch 2 is the larger of the two finite ones, not the survivors' mean or median
    loss = [np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.8, np.nan])]
    h = FakeHistory({"loss": loss, "lr": [np.full(3, 0.1)] * 2})
    loss_ax = tn.plot.history(h, band=True).axes[0]
    median = _lines(loss_ax)["loss (median of 3)"]
    np.testing.assert_array_equal(median.get_ydata(), [2.0, 0.8])


def test_stacked_history_without_band_gives_each_copy_its_colour():
    h = FakeHistory({"loss": [np.array([1.0, 2.0]), np.array([0.5, 1.5])],
                     "lr": [np.array([0.1, 1.0])] * 2})
    loss_ax = tn.plot.history(h, band=False).axes[0]
    lines = _lines(loss_ax)
    assert set(lines) == {"copy 0 loss", "copy 1 loss"}
    assert lines["copy 0 loss"].get_color() != lines["copy 1 loss"].get_color()


def test_histories_compares_real_runs_one_colour_each():
    x, y = tn.datasets.make_blobs(64, 2, seed=0)
    runs = {}
    for lr in (0.01, 0.5):
        model = tn.Sequential([tn.layers.Dense(2, activation="softmax", input_dim=2)], seed=0)
        model.compile(tn.optimizers.SGD(lr), loss="sparse_categorical_crossentropy")
        runs[f"lr {lr}"] = model.fit(x, y, epochs=3, verbose=0)
    fig = tn.plot.histories(runs)
    lines = _lines(fig.axes[0])
    assert lines["lr 0.01 loss"].get_color() != lines["lr 0.5 loss"].get_color()
    np.testing.assert_allclose(lines["lr 0.5 loss"].get_ydata(),
                               runs["lr 0.5"].history["loss"])


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="runs must be a non-empty dict"):
        tn.plot.histories([])
    with pytest.raises(TypeError, match=r"runs\['a'\] must be a History"):
        tn.plot.histories({"a": 3})
    with pytest.raises(ValueError, match="'val_loss' was not logged"):
        tn.plot.histories({"a": FakeHistory({"loss": [1.0]})}, keys=["val_loss"])


@pytest.mark.parametrize("h", [{"loss": [1.0]}, 3, None], ids=["dict", "int", "None"])
def test_history_names_itself_for_what_is_not_a_history(h):
    with pytest.raises(TypeError, match=r"^plot\.history: h must be a History \(what fit "
                                        r"returns\), got "):
        tn.plot.history(h)


def test_history_names_itself_for_a_bad_band():
    h = FakeHistory({"loss": [1.0, 0.5]})
    with pytest.raises(TypeError, match=r"^plot\.history: band must be True, False or None, "
                                        r"got 'x'\.$"):
        tn.plot.history(h, band="x")


def test_history_plot_is_the_same_figure_as_tn_plot_history():
    x, y = tn.datasets.make_blobs(64, 2, seed=0)
    model = tn.Sequential([tn.layers.Dense(2, activation="softmax", input_dim=2)], seed=0)
    model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25)
    a, b = h.plot(), tn.plot.history(h)
    assert [ax.get_title() for ax in a.axes] == [ax.get_title() for ax in b.axes]
    for la, lb in zip(a.axes[0].get_lines(), b.axes[0].get_lines()):
        np.testing.assert_array_equal(la.get_ydata(), lb.get_ydata())
