"""loss_surface, its directions and projections, WeightPath and the figure."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import tinynet as tn
from tinynet.lab import diagnostics as dg
from tinynet.lab.landscape import filter_normalized_direction, pca_directions


def _linear(seed=0):
    model = tn.Sequential([tn.layers.Dense(1, input_dim=2, use_bias=False)], seed=seed)
    return model.compile("sgd", loss="mse")


def test_grid_values_of_a_quadratic_are_known_in_closed_form(float64):
    # L(w) = mean((x w - y)^2) for w (2, 1): on the plane w* + a d1 + b d2 it is
    # mean((x w* - y + a x d1 + b x d2)^2)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    model = _linear()
    path = [np.array([1.0, -2.0]), np.array([0.5, 0.0]), np.array([0.2, 0.3])]
    found = dg.loss_surface(model, x, y, path, resolution=7)
    d1, d2 = found["directions"]
    center = path[-1]
    for j, b in enumerate(found["beta"]):
        for i, a in enumerate(found["alpha"]):
            w = center + a * d1 + b * d2
            expected = np.mean((x @ w[:, None] - y) ** 2)
            assert found["loss"][j, i] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(model.get_weights()[0], _linear().get_weights()[0])


def test_a_path_in_a_plane_is_projected_exactly(float64):
    rng = np.random.default_rng(1)
    model = tn.Sequential([tn.layers.Dense(3, activation="relu", input_dim=2),
                           tn.layers.Dense(2, activation="softmax")], seed=0)
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    x, y = rng.normal(size=(20, 2)), np.arange(20) % 2
    p = sum(w.size for w in model.get_weights())
    u, v = np.linalg.qr(rng.normal(size=(p, 2)))[0].T
    center = rng.normal(size=p)
    coords = rng.normal(size=(6, 2))
    coords[-1] = 0.0
    path = [center + a * u + b * v for a, b in coords]
    found = dg.loss_surface(model, x, y, {"a path": path}, resolution=4)
    assert found["labels"] == ["a path"]
    assert np.max(found["off_plane"][0]) < 1e-12
    d1, d2 = found["directions"]
    back = center + found["paths"][0][:, :1] * d1 + found["paths"][0][:, 1:] * d2
    np.testing.assert_allclose(back, np.stack(path), atol=1e-12)
    np.testing.assert_allclose(found["explained_variance"].sum(), 1.0, rtol=1e-12)


def test_pca_directions_are_orthonormal_and_follow_the_largest_variance():
    rng = np.random.default_rng(2)
    offsets = rng.normal(size=(40, 5)) * [10.0, 3.0, 1.0, 0.5, 0.1]
    plane = pca_directions(offsets)
    np.testing.assert_allclose(plane @ plane.T, np.eye(2), atol=1e-12)
    centred = offsets - offsets.mean(axis=0)
    top = np.linalg.eigh(centred.T @ centred)[1][:, ::-1][:, :2].T
    np.testing.assert_allclose(np.abs(plane @ top.T), np.eye(2), atol=1e-6)


def test_filter_normalisation_matches_its_formula():
    kernel, bias = np.arange(6.0).reshape(2, 3) - 2.5, np.array([1.0, 2.0, 3.0])
    center = np.concatenate([kernel.ravel(), bias])
    d = filter_normalized_direction(center, [(2, 3), (3,)], seed=7)
    draw = np.random.default_rng(7).standard_normal((2, 3))
    expected = draw * np.linalg.norm(kernel, axis=0) / (np.linalg.norm(draw, axis=0) + 1e-10)
    np.testing.assert_allclose(d[:6].reshape(2, 3), expected, rtol=1e-12)
    np.testing.assert_array_equal(d[6:], 0.0)  # biases are left out (ignore="biasbn")
    np.testing.assert_allclose(np.linalg.norm(d[:6].reshape(2, 3), axis=0),
                               np.linalg.norm(kernel, axis=0), rtol=1e-9)


def test_weight_path_records_get_weights_and_feeds_the_surface():
    x, y = np.random.default_rng(3).normal(size=(40, 2)), np.arange(40) % 2
    model = tn.Sequential([tn.layers.Dense(4, activation="relu", input_dim=2),
                           tn.layers.Dense(2, activation="softmax")], seed=0)
    model.compile(tn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    record = tn.callbacks.WeightPath(every=2)
    model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[record])
    assert record.epochs == [0, 2, 4, 5]
    flat = np.concatenate([w.ravel() for w in model.get_weights()])
    np.testing.assert_array_equal(record.path[-1], flat)
    found = dg.loss_surface(model, x, y, record.path, directions="random", resolution=5)
    assert found["loss"].shape == (5, 5) and found["paths"][0].shape == (4, 2)
    # a list of get_weights() snapshots gives the same as the flat vectors
    snapshots = [[flat[:8].reshape(2, 4), flat[8:12], flat[12:20].reshape(4, 2), flat[20:]]]
    again = dg.loss_surface(model, x, y, [snapshots + [flat + 1.0]], resolution=3)
    assert again["paths"][0].shape == (2, 2)


def test_weight_path_of_a_stacked_model_gives_each_copy():
    x, y = np.random.default_rng(4).normal(size=(20, 2)), np.arange(20) % 2
    model = tn.Sequential([tn.layers.Dense(2, activation="softmax", input_dim=2)], seed=0,
                          n_models=3)
    model.compile("sgd", loss="sparse_categorical_crossentropy")
    record = tn.callbacks.WeightPath()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[record])
    assert record.path[0].shape == (3, 6) and len(record.copy(1)) == 3
    with pytest.raises(ValueError, match="single"):
        dg.loss_surface(model, x, y, record.copy(1))


def test_the_figure_reads_the_result():
    x, y = np.random.default_rng(5).normal(size=(30, 2)), np.random.default_rng(6).normal(
        size=(30, 1))
    found = dg.loss_surface(_linear(), x, y, {"slow": [np.ones(2), np.zeros(2)],
                                              "fast": [np.full(2, -1.0), np.zeros(2)]},
                            resolution=6)
    fig = tn.plot.loss_surface(found, title="two paths")
    assert isinstance(fig, Figure)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["slow", "fast"]
    with pytest.raises(TypeError, match="missing"):
        tn.plot.loss_surface({"alpha": []})


def test_bad_input_is_a_clear_error():
    x, y = np.zeros((5, 2)), np.zeros((5, 1))
    model = _linear()
    with pytest.raises(ValueError, match="directions must be 'pca' or 'random'"):
        dg.loss_surface(model, x, y, [np.zeros(2), np.ones(2)], directions="svd")
    with pytest.raises(ValueError, match="2 or more"):
        dg.loss_surface(model, x, y, [np.zeros(2)])
    with pytest.raises(ValueError, match="2 finite values"):
        dg.loss_surface(model, x, y, [np.zeros(3), np.zeros(3)])
    with pytest.raises(ValueError, match="resolution must be >= 2"):
        dg.loss_surface(model, x, y, [np.zeros(2), np.ones(2)], resolution=1)
    with pytest.raises(ValueError, match="empty"):
        dg.loss_surface(model, x, y, {})


def test_loss_surface_runs_on_every_backend(backend):
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    found = dg.loss_surface(_linear(), x, y, [np.ones(2), np.zeros(2)], resolution=3)
    w = found["center"] + found["alpha"][0] * found["directions"][0] \
        + found["beta"][2] * found["directions"][1]
    assert found["loss"][2, 0] == pytest.approx(np.mean((x @ w[:, None] - y) ** 2), rel=1e-9)


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Overshoot and the loss surface"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README overshoot example", "exec"), scope)
    assert (tmp_path / "loss_surface.png").exists()
    assert scope["surface"]["loss"].shape == (25, 25)
    assert capsys.readouterr().out.count("\n") == 3
