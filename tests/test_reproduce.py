"""tinynet.apps.reproduce: the quick run writes every output, atomically, and parses."""

import csv
import json
import os

import numpy as np
import pytest

from tinynet.apps.reproduce import experiment as reproduce
from tinynet.apps.reproduce import measures, setup
from tinynet.apps.reproduce import report as reproduce_report
from tinynet.lab import diagnostics as dg

PNG = b"\x89PNG\r\n\x1a\n"
FILES = ("regions.png", "curves.png", "success.png", "sharpness.png", "results.csv",
         "results.json", "REPORT.md")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    lines = []
    summary = reproduce.run(out, quick=True, progress=False, echo=lines.append)
    return out, summary, lines


def test_quick_run_writes_every_file_and_nothing_else(quick_run):
    out, _, lines = quick_run
    assert sorted(os.listdir(out)) == sorted(FILES)  # no temporary files left behind
    assert str(out) in lines[0]
    for name in FILES:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == PNG


def test_results_json_holds_the_summary(quick_run):
    out, summary, _ = quick_run
    data = json.loads((out / "results.json").read_text())
    assert data["config"]["post_rates"] == list(setup.POST_RATES)
    assert data["data"]["n_samples"] == summary["data"]["n_samples"]
    kinds = {(r["scaling"], r["kind"]) for r in data["rates"]}
    assert ("raw", "post") in kinds and ("standardised", "grid") in kinds
    for row in data["rates"]:
        assert 0.0 <= row["success_rate"] <= 1.0
        assert row["fit"] + row["diverged"] + row["dead_layer"] + row["at_clip"] + \
            row["one_class"] + row["partial"] == row["seeds"]
        lo, hi = row["fit_ci"]
        assert 0.0 <= lo <= row["fit"] / row["seeds"] <= hi <= 1.0
    assert data["timing"]["total_s"] > 0


def test_results_csv_has_one_row_per_trained_copy(quick_run):
    out, summary, _ = quick_run
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == reproduce_report.CSV_FIELDS
    assert len(rows) - 1 == sum(r["seeds"] for r in summary["rates"])
    outcomes = {row[rows[0].index("outcome")] for row in rows[1:]}
    assert outcomes <= set(measures.OUTCOMES)


def test_report_answers_the_three_questions_with_numbers(quick_run):
    out, _, _ = quick_run
    text = (out / "REPORT.md").read_text()
    for heading in ("## What happened", "## Q1, too low", "## Q1, too high", "## Q2", "## Q3"):
        assert heading in text
    assert "ln 4 = 1.38629" in text
    assert " nan" not in text.replace("NaN/inf", "")  # missing values print as n/a


def test_data_keeps_the_raw_scale_and_standardises_on_the_training_part():
    cfg = setup.Config.make()
    data, y, n_train = setup.make_data(cfg)
    raw, std = data["raw"], data["standardised"]
    assert raw.shape == (cfg.n_samples, 2) and n_train == 800
    assert np.ptp(raw, axis=0).min() > 20  # inputs span tens of units, as in the post
    np.testing.assert_allclose(std[:n_train].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(std[:n_train].std(axis=0), 1.0, rtol=1e-12)
    assert set(np.unique(y[n_train:])) == {0, 1, 2, 3}  # shuffled: the tail holds every class


def test_every_rate_starts_from_the_seeds_weights_and_sharpness():
    cfg = setup.Config.make(quick=True, epochs=1)
    cfg.sharpness_iters = 300
    data, y, n_train = setup.make_data(cfg)
    run = reproduce.train(data["raw"], y, n_train, (1e-3, 0.5), 2, setup.VARIANTS[0], cfg,
                          trace_seeds=2)
    init = setup.seed_weights(range(2), setup.VARIANTS[0])  # (S, ...) per weight
    for w_run, w_seed in zip(run["init_weights"], init):  # copy k = r * S + s
        np.testing.assert_array_equal(w_run, np.concatenate([w_seed, w_seed]))
    after = run["model"].get_weights()
    assert any(not np.array_equal(a[0], a[2]) for a in after)  # the rates moved apart
    # the same start weights give every rate the same epoch-0 sharpness, within its error
    values, errors = run["trace"]["values"][0], run["trace"]["errors"][0]  # (R, S)
    assert np.all(np.abs(values[0] - values[1]) <= errors[0] + 1e-12)
    np.testing.assert_array_equal(errors[0], errors[1])
    assert np.all(np.isfinite(errors))


def test_train_goes_through_sweep_without_private_calls():
    root = os.path.join(os.path.dirname(__file__), "..", "tinynet", "apps")
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(folder, name)) as f:
                    assert "_set_shuffle_seeds" not in f.read(), name


def test_sharpness_of_a_known_quadratic_converges_with_a_small_residual():
    import tinynet as tn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)) * np.array([3.0, 1.0, 0.5])
    y = rng.standard_normal((50, 1))
    tn.set_dtype("float64")
    try:
        model = tn.Sequential([tn.layers.Dense(1, input_dim=3, bias_initializer="zeros")],
                              seed=0)
        model.compile("sgd", loss="mse")
        aug = np.hstack([x, np.ones((50, 1))])
        expected = np.linalg.eigvalsh(2.0 * aug.T @ aug / 50)[-1]  # MSE Hessian: 2 X^T X / N
        value, error = dg.sharpness(model, x, y, iters=500, tol=1e-12, return_error=True)
        assert value == pytest.approx(expected, rel=1e-6)
        assert error < 1e-4 * expected
        few, few_error = dg.sharpness(model, x, y, iters=2, return_error=True)
        assert abs(few - expected) <= few_error + 1e-9  # the residual bounds the error here
    finally:
        tn.set_dtype("float32")


# --- the report's sentences branch on the numbers -------------------------------------
def test_close_counts_are_reported_as_not_distinguishable():
    text = reproduce_report.compare_counts("0.4", 7, 20, "0.5", 6, 20)
    assert "not distinguishable" in text and "7 of 20 [" in text and "6 of 20 [" in text
    assert not reproduce_report.distinguishable(7, 20, 6, 20)


def test_far_apart_counts_are_reported_as_a_difference():
    text = reproduce_report.compare_counts("0.4", 18, 20, "0.5", 2, 20)
    assert "not distinguishable" not in text and "0.4 fit more often than 0.5" in text
    text = reproduce_report.compare_counts("0.4", 2, 20, "0.5", 18, 20)
    assert "0.5 fit more often than 0.4" in text


def test_window_sentence_says_closes_moves_or_stays():
    assert "closes" in reproduce_report.window_sentence([0.1, 0.4], [])
    assert "changes" in reproduce_report.window_sentence([0.1, 0.4], [0.01])
    assert "stays" in reproduce_report.window_sentence([0.1], [0.1])


def test_escape_sentence_says_when_the_run_is_too_small_to_tell():
    assert "too small to tell" in reproduce_report.escape_sentence(0.01, None, 256, 0)
    assert "too few updates" in reproduce_report.escape_sentence(0.01, 4000.0, 1000, 5)
    assert "enough" in reproduce_report.escape_sentence(0.01, 500.0, 1000, 5)


def test_report_starts_with_a_summary_with_the_figures_and_intervals(quick_run):
    out, _, _ = quick_run
    text = (out / "REPORT.md").read_text()
    summary = text[:text.index("## Setup")]
    assert text.index("## Summary") < text.index("## What happened") < text.index("## Q1")
    for fig in ("regions.png", "curves.png", "success.png", "sharpness.png"):
        assert f"]({fig})" in summary
    assert "95%" in summary and " of 2 [" in summary
    assert "enough for 0.01 to leave" not in text or "0 of" not in text


def test_outcomes_follow_the_measurements():
    success = np.array([[True, False, False, False, False, False]])
    diverged = np.array([[False, True, False, False, False, False]])
    dead = np.zeros((1, 6, 4))
    dead[0, 2, 3] = 1.0
    measured = {"dead_end": dead, "at_clip": np.array([[0, 0, 0, 0.5, 0, 0]]),
                "max_fraction": np.array([[0.3, 1, 1, 1, 1, 0.5]])}
    labels = measures.classify_runs(success, diverged, measured)
    assert labels.tolist() == [["fit", "diverged", "dead layer", "stuck at the clip",
                                "one class", "partial"]]


def test_config_rejects_bad_numbers():
    with pytest.raises(ValueError, match="seeds"):
        setup.Config.make(seeds=0)
    with pytest.raises(ValueError, match="epochs"):
        setup.Config.make(epochs=-1)


def test_interrupted_run_writes_no_result_file(tmp_path, monkeypatch):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reproduce, "train", stop)
    with pytest.raises(KeyboardInterrupt):
        reproduce.run(tmp_path / "out", quick=True, progress=False, echo=lambda line: None)
    assert os.listdir(tmp_path / "out") == []


def test_output_path_that_is_a_file_is_refused_before_training(tmp_path):
    path = tmp_path / "taken"
    path.write_text("x")
    with pytest.raises(OSError, match="is a file"):
        reproduce.run(path, quick=True, progress=False, echo=lambda line: None)


def test_an_interrupted_run_leaves_the_previous_run_intact(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    previous = {name: f"previous {name}".encode() for name in FILES}
    for name, data in previous.items():
        (out / name).write_bytes(data)
    (out / "notes.txt").write_text("mine")

    def stop(*args, **kwargs):  # after regions.png and curves.png were written
        raise KeyboardInterrupt

    monkeypatch.setattr(reproduce, "figure_success", stop)
    with pytest.raises(KeyboardInterrupt):
        reproduce.run(out, quick=True, progress=False, echo=lambda line: None)
    assert sorted(os.listdir(out)) == sorted(FILES + ("notes.txt",))  # no temporaries either
    for name, data in previous.items():
        assert (out / name).read_bytes() == data, name
    assert os.listdir(tmp_path) == ["out"]


def test_a_complete_run_replaces_the_previous_files_and_keeps_others(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("previous")
    (out / "notes.txt").write_text("mine")
    reproduce.run(out, quick=True, progress=False, echo=lambda line: None)
    assert sorted(os.listdir(out)) == sorted(FILES + ("notes.txt",))
    assert json.loads((out / "results.json").read_text())["timing"]["total_s"] > 0
    assert (out / "notes.txt").read_text() == "mine"


def test_the_too_low_sentence_follows_the_counts():
    from tinynet.apps.reproduce.report import low_sentence

    stuck = low_sentence({"one_class": 18, "fit": 0}, 20, 200, 13)
    assert "18 of 20 runs still predict a single class" in stuck and "did not leave" in stuck
    mixed = low_sentence({"one_class": 0, "fit": 0}, 2, 4, 4)
    assert "does not show the plateau" in mixed and "did not leave" not in mixed
