"""tinynet.apps.reproduce: the quick run writes every output, atomically, and parses."""

import csv
import json
import os

import numpy as np
import pytest

from tinynet.apps.reproduce import experiment as reproduce
from tinynet.apps.reproduce import measures, runner, setup
from tinynet.apps.reproduce import report as reproduce_report
from tinynet.lab import diagnostics as dg

PNG = b"\x89PNG\r\n\x1a\n"
FILES = ("regions.png", "curves.png", "success.png", "dead_units.png", "sharpness.png",
         "loss_surface.png", "results.csv", "results.json", "REPORT.md")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    (out / "results.json").write_text("previous")  # replaced by the run
    (out / "notes.txt").write_text("mine")  # kept
    lines = []
    # pytest captures stderr (not a terminal): progress comes as one line per sweep
    summary = reproduce.run(out, quick=True, progress=True, echo=lines.append)
    return out, summary, lines


def test_quick_run_writes_every_file_and_nothing_else(quick_run):
    out, _, lines = quick_run
    # no temporary files left behind; the previous results.json replaced, other files kept
    assert sorted(os.listdir(out)) == sorted(FILES + ("notes.txt",))
    assert json.loads((out / "results.json").read_text())["timing"]["total_s"] > 0
    assert (out / "notes.txt").read_text() == "mine"
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
    run = reproduce.train(data["raw"], y, n_train, (1e-3, 0.5), 2, setup.POST_VARIANT, cfg,
                          trace_seeds=2)
    init = setup.seed_weights(range(2), setup.POST_VARIANT)  # (S, ...) per weight
    for w_run, w_seed in zip(run["init_weights"], init):  # copy k = r * S + s
        np.testing.assert_array_equal(w_run, np.concatenate([w_seed, w_seed]))
    after = run["final_weights"]
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


def test_report_starts_with_a_summary_with_the_figures_and_intervals(quick_run):
    out, _, _ = quick_run
    text = (out / "REPORT.md").read_text()
    summary = text[:text.index("## Setup")]
    assert text.index("## Summary") < text.index("## What happened") < text.index("## Q1")
    for fig in ("regions.png", "dead_units.png", "curves.png", "success.png", "sharpness.png",
                "loss_surface.png"):
        assert f"]({fig})" in summary
    assert "95%" in summary and " of 2 [" in summary


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
        reproduce.run(tmp_path / "out", quick=True, progress=False, echo=lambda line: None,
                      workers=1)
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
        reproduce.run(out, quick=True, progress=False, echo=lambda line: None, workers=1)
    assert sorted(os.listdir(out)) == sorted(FILES + ("notes.txt",))  # no temporaries either
    for name, data in previous.items():
        assert (out / name).read_bytes() == data, name
    assert os.listdir(tmp_path) == ["out"]


def test_report_is_rebuilt_from_results_json_alone(quick_run):
    out, _, _ = quick_run
    data = json.loads((out / "results.json").read_text())
    assert reproduce_report.report(data) == (out / "REPORT.md").read_text()


def test_every_failure_is_timed_once(quick_run):
    _, summary, _ = quick_run
    for row in summary["rates"]:
        failed = row["seeds"] - row["fit"]
        assert row["died_before_fit"] + row["fitted_then_lost"] + row["never_fit_alive"] \
            <= failed
        assert sum(row["death_layers"]) <= failed
        if row["activation"] == "relu" and row["kind"] != "samples=10":
            # a run that ended with a dead layer died at some checked epoch
            assert sum(row["death_layers"]) >= row["dead_layer"]


def test_the_report_quotes_the_measured_failure_timing(quick_run):
    out, summary, _ = quick_run
    text = (out / "REPORT.md").read_text()
    rows = {(r["scaling"], r["kind"], r["activation"], r["learning_rate"]): r
            for r in summary["rates"]}
    high = rows[("raw", "post", "relu", setup.HIGH)]
    high_section = text[text.index("## Q1, too high"):]
    line = next(x for x in high_section.splitlines() if x.startswith(f"| {setup.HIGH:g} | raw |"))
    assert line.startswith(f"| {setup.HIGH:g} | raw | {high['seeds'] - high['fit']} | "
                           f"{high['died_before_fit']} | {high['fitted_then_lost']} | "
                           f"{high['never_fit_alive']} |")
    assert reproduce_report.summary_paragraph(summary) in text
    horizon = rows[("raw", "horizon", "relu", summary["config"]["raw_horizon_rates"][0])]
    assert horizon["epochs"] == summary["config"]["long_epochs"]


def test_the_longer_budget_repeats_the_short_one_first():
    cfg = setup.Config.make(quick=True)
    data, y, n_train = setup.make_data(cfg)
    short = reproduce.train(data["raw"], y, n_train, (0.1,), 2, setup.POST_VARIANT, cfg)
    long_ = reproduce.train(data["raw"], y, n_train, (0.1,), 2, setup.POST_VARIANT, cfg,
                            epochs=2 * cfg.epochs)
    e = cfg.epochs
    np.testing.assert_array_equal(long_["curves"]["val_accuracy"][:e],
                                  short["curves"]["val_accuracy"])


def test_the_warmup_changes_only_the_first_updates():
    cfg = setup.Config.make(quick=True, epochs=2)
    data, y, n_train = setup.make_data(cfg)
    plain = reproduce.train(data["raw"], y, n_train, (0.5,), 1, setup.POST_VARIANT, cfg)
    warm = reproduce.train(data["raw"], y, n_train, (0.5,), 1, setup.POST_VARIANT, cfg,
                           warmup_epochs=1)
    for a, b in zip(plain["init_weights"], warm["init_weights"]):
        np.testing.assert_array_equal(a, b)  # the same start: only the steps differ
    assert not np.array_equal(plain["curves"]["loss"][0], warm["curves"]["loss"][0])


def test_scale_swap_data_centres_or_rescales_only():
    cfg = setup.Config.make(quick=True)
    data, _, n_train = setup.make_data(cfg)
    raw = data["raw"][:n_train]
    np.testing.assert_allclose(data["centred"][:n_train].mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(data["centred"][:n_train].std(axis=0), raw.std(axis=0))
    np.testing.assert_allclose(data["unit-scale"][:n_train].std(axis=0), 1.0)
    np.testing.assert_allclose(data["unit-scale"][:n_train].mean(axis=0),
                               raw.mean(axis=0) / raw.std(axis=0))


def test_leaky_variants_state_their_slope():
    layers = setup.post_layers(*setup.leaky(0.01))
    assert all(layer.activation.negative_slope == 0.01 for layer in layers[:4])
    with pytest.raises(ValueError):
        setup.post_layers(*setup.leaky(-1.0))


def test_death_timing_by_hand():
    # 3 copies, checks at epochs 0, 1, 5; 2 layers
    dead = np.zeros((3, 3, 2))
    dead[1:, 0, 1] = 1.0  # copy 0: layer 2 dead from epoch 1
    dead[2, 1, 0] = 1.0   # copy 1: layer 1 dead at epoch 5
    escape = np.array([np.nan, 3.0, 2.0])  # copy 1 fitted at 3, then died; copy 2 never died
    t = measures.death_timing(dead, [0, 1, 5], escape)
    np.testing.assert_array_equal(t["epoch"], [1.0, 5.0, np.nan])
    np.testing.assert_array_equal(t["layer"], [2.0, 1.0, np.nan])
    assert t["before_fit"].tolist() == [True, False, False]


def test_first_epoch_shift_by_hand():
    # one hidden layer of two units on x = 0, 1, 2: z = x * (1, 2); the first epoch moves the
    # biases by 0.5 and -1: shifts 0.5 and 1 against spreads sqrt(2/3) and 2 sqrt(2/3)
    x = np.array([[0.0], [1.0], [2.0]])
    before = [np.array([[[1.0, 2.0]]]), np.zeros((1, 2)), np.ones((1, 2, 1)), np.zeros((1, 1))]
    after = [before[0], np.array([[0.5, -1.0]]), before[2], before[3]]
    ratio = measures.first_epoch_shift(before, after, x)
    np.testing.assert_allclose(ratio, [[0.5 / np.sqrt(2.0 / 3.0)]])


def test_panels_show_each_way_of_failing():
    from tinynet.apps.reproduce.figures import panel_choices

    nan = np.nan
    rates = list(setup.POST_RATES)
    shape = (len(rates), 4)
    run = {"rates": rates, "success": np.zeros(shape, bool), "outcome": np.full(shape, "fit"),
           "escape_epoch": np.full(shape, nan), "death_epoch": np.full(shape, nan)}
    g, h = rates.index(setup.GOOD), rates.index(setup.HIGH)
    run["success"][g] = True
    run["escape_epoch"][g] = [10, 20, 30, 40]
    run["death_epoch"][h] = [2, 3, nan, nan]          # seeds 0, 1 died before fitting
    run["escape_epoch"][h] = [nan, nan, 15, nan]      # seed 2 fitted, then lost it
    panels = panel_choices(run)
    assert [(r, label) for r, _, label in panels] == [
        (setup.GOOD, "good"), (setup.HIGH, "died before fitting"),
        (setup.HIGH, "fitted, then lost it"), (setup.LOW, "too low")]
    assert panels[2][1] == 2 and panels[1][1] in (0, 1)


def test_progress_bar_only_on_a_terminal():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert runner.progress_bar(10, True, stream=io.StringIO()) is None  # a redirected log
    assert runner.progress_bar(10, False, stream=Terminal()) is None
    bar = runner.progress_bar(10, True, stream=Terminal())
    assert bar is not None
    bar.close()


def test_redirected_run_prints_one_line_per_sweep(quick_run):
    _, _, lines = quick_run
    n_jobs = len(setup.jobs(setup.Config.make(quick=True)))
    assert sum(line.lstrip().startswith("[") for line in lines) == n_jobs


def test_readme_lists_every_reproduce_option():
    import re
    from pathlib import Path

    from tinynet.apps import cli

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## The main command"):readme.index("## The classroom demo")]
    parser = cli.build_parser()
    sub = parser.parse_args(["reproduce"]).func  # the subcommand exists
    assert callable(sub)
    help_text = parser._subparsers._group_actions[0].choices["reproduce"].format_help()
    options = set(re.findall(r"(--[a-z][a-z-]*)", help_text)) - {"--help"}
    assert "--no-progress" in options
    for option in sorted(options):
        assert f"`{option}" in section, option


def test_sweeps_in_worker_processes_give_the_same_numbers():
    cfg = setup.Config.make(quick=True)
    data, y, n_train = setup.make_data(cfg)
    todo = [job for job in setup.jobs(cfg) if job.kind in ("warmup", "swap")]
    alone, _ = runner.train_all(reproduce.train_job, todo, data, y, n_train, cfg, 1, False, None)
    pooled, _ = runner.train_all(reproduce.train_job, todo, data, y, n_train, cfg, 2, False, None)
    assert list(alone) == list(pooled) == [job.key for job in todo]
    for key in alone:
        for name in ("final_val_accuracy", "escape_epoch", "death_epoch", "shift_ratio"):
            np.testing.assert_array_equal(alone[key][name], pooled[key][name])
        for a, b in zip(alone[key]["final_weights"], pooled[key]["final_weights"]):
            np.testing.assert_array_equal(a, b)


def test_idle_machine_estimate_deals_the_sweeps_to_the_workers():
    timing = {"workers": 2, "per_sweep": {name: {"cpu_s": cpu, "wall_s": 0.0}
                                          for name, cpu in zip("abcd", (5.0, 4.0, 3.0, 3.0))}}
    # longest first to the first free worker: [5, 3] and [4, 3] -> the last ends at 8
    est = reproduce.cpu_estimate(timing, 2.0)
    assert est == {"cpu_s": 17.0, "idle_machine_estimate_s": 10.0}
    # 2 s of start-up in the workers beyond their sweeps: 1 s more for each
    est = reproduce.cpu_estimate(timing, 2.0, children_cpu_s=17.0)
    assert est == {"cpu_s": 19.0, "idle_machine_estimate_s": 11.0}
    timing["workers"] = 1
    assert reproduce.cpu_estimate(timing, 17.0)["idle_machine_estimate_s"] == 17.0


def test_readme_quick_start_fits_its_scaler_on_the_training_part_only():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Quick start"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code[:code.index("model = tn.Sequential")]  # the data part only
    scope = {}
    exec(compile(code, "README Quick start", "exec"), scope)
    x, n_train = scope["x"], 800  # fit's validation_split=0.2 holds out the last 200 rows
    np.testing.assert_allclose(x[:n_train].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(x[:n_train].std(axis=0), 1.0, rtol=1e-12)
    assert np.abs(x.mean(axis=0)).max() > 1e-6  # the validation rows were not used to fit


def test_the_report_sentences_follow_edited_numbers(quick_run):
    """The report's words come from the numbers: edit them and the words change."""
    import copy

    _, summary, _ = quick_run
    edited = copy.deepcopy(summary)
    high = next(r for r in edited["rates"] if (r["scaling"], r["kind"], r["activation"],
                                               r["learning_rate"]) ==
                ("raw", "post", "relu", setup.HIGH))
    high["diverged"] = 2
    edited["diagnostics"]["init"]["raw/random_normal/relu"]["dead"][0] = 0.1
    edited["diagnostics"]["escape"]["raw"]["updates_needed"][f"{setup.LOW:g}"] = None
    edited["diagnostics"]["init"]["raw/random_normal/relu"]["loss"] = 2.0
    text = reproduce_report.report(edited)
    assert "no run's loss became NaN" not in text
    assert "44% off, so it does not start as a uniform guess" in text
    esc = edited["diagnostics"]["escape"]["raw"]
    assert f"({esc['copies']} of {esc['runs']} raw runs left it" in text
    sizes = text[text.index("## How the answer depends on the data set"):]
    assert "fits differently" in sizes or "no size here changes how often" in sizes
    assert f"the loss of 2 of {high['seeds']} [" in text
    assert "no first-layer unit is dead" not in text and "0.10 / " in text
    assert "about n/a updates" not in text
