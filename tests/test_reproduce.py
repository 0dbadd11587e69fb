"""tinynet.apps.reproduce: the quick run writes every output, atomically, and parses."""

import csv
import json
import os

import numpy as np
import pytest

from tinynet.apps.reproduce import experiment as reproduce
from tinynet.apps.reproduce import report as reproduce_report
from tinynet.apps.reproduce import setup

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
        assert row["fit"] + row["diverged"] + row["dead_layer"] + row["one_class"] + \
            row["partial"] == row["seeds"]
    assert data["timing"]["total_s"] > 0


def test_results_csv_has_one_row_per_trained_copy(quick_run):
    out, summary, _ = quick_run
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == reproduce_report.CSV_FIELDS
    assert len(rows) - 1 == sum(r["seeds"] for r in summary["rates"])
    outcomes = {row[rows[0].index("outcome")] for row in rows[1:]}
    assert outcomes <= {"fit", "diverged", "dead layer", "one class", "partial"}


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


def test_every_rate_starts_from_the_seeds_weights():
    cfg = setup.Config.make(quick=True, epochs=1)
    data, y, n_train = setup.make_data(cfg)
    run = reproduce.train(data["raw"], y, n_train, (0.0, 0.0), 2, setup.VARIANTS[0], cfg)
    w = run["model"].get_weights()  # rate 0: nothing moved; copy k = r * S + s
    for a in w:
        np.testing.assert_array_equal(a[0], a[2])
        np.testing.assert_array_equal(a[1], a[3])
        assert not np.array_equal(a[0], a[1]) or not np.any(a[0])


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
