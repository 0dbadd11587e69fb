"""Lessons 1, 7, 9, 10, 11, 12 and 13 run with --quick and still show their claim.

Each test imports a lesson script by path, runs ``main(out_dir=tmp_path,
quick=True)`` and checks the headline claim on the numbers it returns, and
that its figures were written. One test runs a lesson from the command line.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
sys.path.insert(0, str(LESSONS))  # _common, as the lessons import it


def load(stem):
    """Import lessons/<stem>.py as a module (its name starts with a digit)."""
    spec = importlib.util.spec_from_file_location(f"lesson_{stem}", LESSONS / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run(tmp_path):
    """run(stem) -> the quick result; checks every figure it names exists as a PNG."""
    def _run(stem):
        result = load(stem).main(out_dir=str(tmp_path / stem), quick=True)
        tn.set_backend("numpy")
        assert result["figures"], f"{stem} saved no figure"
        for path in result["figures"]:
            assert Path(path).is_file() and Path(path).stat().st_size > 0, path
            assert path.endswith(".png")
        return result
    return _run


def test_lesson01_bound_separates_converging_from_diverging(run):
    r = run("01_quadratic_bowl")
    for bowl in ("round", "narrow"):
        b = r[bowl]
        assert b["converged_below"] and b["lr_below"] < b["bound"]
        assert b["diverged_above"] and b["lr_above"] > b["bound"]
        assert b["bisected_bound"] == pytest.approx(b["bound"], rel=1e-3)
        assert b["grid_all_below_converge"] and b["grid_none_above_converge"]
    # the ill-conditioned bowl needs many more steps at its best rate
    assert r["narrow"]["steps_at_best"] > 5 * r["round"]["steps_at_best"]


def test_lesson07_restores_best_weights_and_stops_early(run):
    r = run("07_early_stopping")
    assert r["stopped_epoch"] < r["max_epochs"] - 1
    assert r["epochs_saved"] > 0
    assert r["best_epoch"] <= r["stopped_epoch"] - r["patience"] + 1
    assert r["val_loss_restored"] <= r["val_loss_last"] + 1e-9
    for restored, last in zip(r["val_loss_restored_all"], r["val_loss_last_all"], strict=True):
        assert restored <= last + 1e-9
    assert r["test_loss_restored"] < r["test_loss_full"]
    # the restored weights beat the full run on the test set seed by seed
    assert all(a < b for a, b in zip(r["test_loss_restored_all"], r["test_loss_full_all"],
                                     strict=True))
    # the accuracy is judged on its own, and the words follow both verdicts
    import numpy as np
    from _common import clear, compare

    a_es, a_full = np.array(r["test_accuracy_restored_all"]), np.array(r["test_accuracy_full_all"])
    assert r["accuracy_verdict"] == clear(a_es - a_full)
    assert r["loss_verdict"] == compare(r["test_loss_restored_all"], r["test_loss_full_all"])
    if r["loss_verdict"] == 1 and r["accuracy_verdict"] != 1:
        assert "in loss only" in r["takeaway"]
    if r["accuracy_verdict"] == 1:
        assert "accuracy" in r["takeaway"] and "loss only" not in r["takeaway"]
    # patience.png's title comes from the points: the smallest patience not clearly worse
    # than the best, every smaller one clearly worse (paired by seed), the best among them
    sweep, enough = r["patience_sweep"], r["patience_enough"]
    assert enough not in r["patience_clearly_worse"]
    assert all(p in r["patience_clearly_worse"] for p in sweep if p < enough)
    assert sweep[r["patience_best"]]["test_loss"] == min(v["test_loss"] for v in sweep.values())
    assert f"{enough}" in r["patience_title"]
    stops = [sweep[p]["mean_stop_epoch"] for p in sorted(sweep)]
    assert stops == sorted(stops)  # more patience, later stop


def test_lesson09_healthy_start_is_ln_c_and_broken_ones_are_not(run):
    r = run("09_initial_loss")
    assert abs(r["healthy_ratio"] - 1.0) < 0.05
    assert r["unscaled_ratio"] > 1.5
    assert r["large_weights_ratio"] > 1.5
    assert r["wrong_loss_ratio"] < 0.5
    assert all(message is not None for message in r["refused"].values())
    assert abs(r["shuffled_initial"] / r["chance"] - 1.0) < 0.05  # the check cannot see it
    assert r["shuffled_val_min"] > r["true_val_final"]
    # Keras's default init starts a little above ln C and is told apart from the bugs
    assert 1.05 < r["glorot_ratio"] <= 1.5
    assert r["kinds"]["Keras default init (Glorot), scaled x"] == "a little above"
    assert r["kinds"]["unscaled x (pixels 0..16), Glorot"] == "far above"
    assert r["glorot_vs_healthy"] >= 0  # it trains at least as well (within the seed spread)
    # shuffled labels: validation never below ln C, while the training loss ends below it
    # but far above what the true labels reach (not memorised)
    assert r["shuffled_val_below_chance"] == 0
    assert r["true_train_final"] < 0.5 * r["shuffled_train_final"]
    # the epoch-1 loss is the batch-weighted mean of its updates, below the first batch
    assert r["epoch1_reported"] == pytest.approx(r["epoch1_weighted_mean"], rel=1e-5)
    assert r["epoch1_end_loss"] < r["epoch1_reported"] < r["first_batch_loss"]


def test_lesson09_sentences_follow_the_measured_losses():
    lesson = load("09_initial_loss")
    # the Keras default's verdict names its budget, and follows the paired comparison
    same = lesson.glorot_sentence(0, 1.14, 40)
    assert "after 40 epochs" in same and "within the seed-to-seed spread" in same
    assert "clearly better" in lesson.glorot_sentence(1, 1.14, 40)
    assert "costs something" in lesson.glorot_sentence(-1, 1.14, 40)
    # "what learning looks like" only when the epoch-1 loss lies between the first
    # batch's and the end of the epoch's, and is below ln C
    assert "what learning looks like" in lesson.epoch1_sentence(2.3, 1.56, 0.96, 2.30)
    assert "does not lie between" in lesson.epoch1_sentence(2.3, 1.56, 1.8, 2.30)
    assert "learning" not in lesson.epoch1_sentence(2.3, 1.56, 1.8, 2.30)
    # shuffled labels: "given away by the validation loss" with its budget and count
    caught = lesson.shuffled_sentence(1.0, 0, 8, 40)
    assert "for 40 epochs in every seed (8 of 8 [" in caught
    some = lesson.shuffled_sentence(1.0, 3, 8, 40)
    assert "gives them away" not in some and "3 of 8 [" in some
    assert "cannot catch" not in lesson.shuffled_sentence(1.3, 0, 8, 40)


def test_lesson10_binary_classifier_reaches_its_floor(run):
    r = run("10_binary_classifier")
    assert r["test_accuracy_min"] > 0.93
    assert r["test_accuracy"] > r["majority_share"] + 0.25
    assert r["test_auc_min"] > 0.9
    assert r["mse_test_auc"] > 0.9
    # BCE against MSE is judged against the seed spread: BCE's test log-loss is never
    # clearly above MSE's (the full run: clearly below; accuracy: cannot tell)
    assert r["bce_vs_mse"]["log_loss"] <= 0


def test_lesson11_target_scaling_helps_and_the_leak_depends(run):
    r = run("11_scaling_and_leakage")
    assert r["rmse_scaled_target"] < 0.25 * r["rmse_unscaled_target"]
    # same distribution: the leak's change stays inside the honest seeds' range
    lo, hi = r["iid_honest_range"]
    assert lo <= r["iid_leaky"] <= hi
    # shifted test set, tanh: the leak lowers the number, and so does each leak alone
    assert r["shift_leaky"] < 0.8 * r["shift_honest"]
    assert r["shift_leak_x_only"] < r["shift_honest"]
    assert r["shift_leak_y_only"] < r["shift_honest"]
    # "mostly the target scaler" is said only when the two single leaks' seeds separate
    x_lo = r["shift_leak_x_only_range"][0]
    assert r["target_leak_dominates"] == (r["shift_leak_y_only_range"][1] < x_lo)
    # ReLU: the leak does not lower the number here
    assert r["relu_shift_leaky"] > r["relu_shift_honest"]
    # float32: targets near 3e20 turn the loss inf (the gradient stays finite), scaled
    # they train; targets near 3e-23 with a 10% error give a loss of exactly 0
    n = r["float32_limits"]
    assert n["dtype"] == "float32" and n["big_target"] > 1e20
    assert not n["big_loss_finite"] and n["big_grad_finite"] and n["big_square_overflows"]
    assert n["big_scaled_finite"] and n["big_scaled_loss"][-1] < n["big_scaled_loss"][0]
    assert n["same_as_scaled_y"] < 1e-6
    assert n["tiny_loss"] == 0.0 and n["tiny_exact"] > 0.0
    assert n["tiny_scaled_loss"] == pytest.approx(n["tiny_scaled_exact"], rel=1e-4)
    assert "is inf" in n["sentences"][0] and "exactly 0" in n["sentences"][2]


def test_lesson11_numeric_sentences_follow_what_overflowed():
    lesson = load("11_scaling_and_leakage")
    n = {"dtype": "float32", "largest": 3.4e38, "smallest": 1.4e-45, "big_target": 2.9e20,
         "big_start_grad": 2e20, "big_loss_finite": False, "big_grad_finite": True,
         "big_square_overflows": True, "big_epochs_run": 1, "big_weights_finite": True,
         "big_scaled_loss": [0.96, 0.35, 0.10], "big_scaled_finite": True,
         "same_as_scaled_y": 4e-16, "tiny_target": 2.9e-23, "tiny_loss": 0.0,
         "tiny_exact": 9.3e-48, "tiny_scaled_loss": 0.0879, "tiny_scaled_exact": 0.0879}
    big, scaled, tiny = lesson.numeric_sentences(n, 3)
    assert "is inf" in big and "squared error that large" in big and "epoch 1" in big
    assert "0.960 -> 0.350 -> 0.100" in scaled and "exactly 0" in tiny
    big = lesson.numeric_sentences({**n, "big_square_overflows": False}, 3)[0]
    assert "their sum over a batch" in big
    ok = {**n, "big_loss_finite": True, "tiny_loss": 9.3e-48, "tiny_exact": 9.3e-48}
    big, _, tiny = lesson.numeric_sentences(ok, 3)
    assert "no overflow here" in big and "no underflow here" in tiny
    assert "digits are lost" in lesson.numeric_sentences({**n, "tiny_loss": 9.2e-44,
                                                          "tiny_exact": 9.3e-44}, 3)[2]


def test_lesson12_small_init_dies_where_he_trains(run):
    r = run("12_dead_relus_and_init")
    assert r["rn_std_dead_trained"] > r["he_std_dead_trained"]
    assert r["rn_std_trained_ok"] == 0
    assert r["he_std_trained_ok"] == r["seeds"]
    assert r["grad_ratio_he_over_rn"] > 1000


def test_lesson12_sentences_follow_the_measured_sizes():
    lesson = load("12_dead_relus_and_init")

    def row(grad, rms):
        return {"grad_norms": np.full(5, grad), "activation_rms": np.asarray(rms, float)}

    he = row(0.5, [0.8, 0.6, 0.4, 0.3, 0.5])
    shrinking = lesson.gradient_sentence(0.1, row(1e-4, [4e-2, 3e-3, 2e-4, 6e-5, 1e-5]),
                                         row(1e-3, [0.4] * 5), he)
    assert "The signal shrinks on the way forward" in shrinking
    assert "5000 times smaller" in shrinking
    flat = lesson.gradient_sentence(0.1, row(1e-4, [0.5, 0.5, 0.5, 0.5, 0.5]),
                                    row(1e-3, [0.4] * 5), he)
    assert "does not shrink" in flat and "does not explain" in flat
    # the raw-input parenthesis says the measured ratios, not a typed-in 10x
    assert "10x wider" in lesson.raw_inputs_note(10.2, 9.8)
    assert "grows with the input" in lesson.raw_inputs_note(10.2, 9.8)
    assert "3x as large" in lesson.raw_inputs_note(10.2, 3.0)
    assert "not in step" in lesson.raw_inputs_note(10.2, 3.0)
    # the verdict names its budget, and holds only when the counts are 0 and all
    said = lesson.init_verdict(0, 8, 8, 5000.0, 200, 0.1)
    assert "decides" in said and "within 200 epochs of SGD(0.1)" in said
    assert "decides" not in lesson.init_verdict(2, 8, 8, 5000.0, 200, 0.1)
    assert "within 200 epochs" in lesson.init_verdict(2, 8, 8, 5000.0, 200, 0.1)
    # its counts carry their intervals, and 0 of 2 against 2 of 2 (overlapping) decides nothing
    assert "0 of 8 [0%, " in said and "8 of 8 [" in said
    assert "decides" not in lesson.init_verdict(0, 2, 2, 5000.0, 200, 0.1)
    # dead units: "not the cause" with its budget and counts, only when the counts are apart
    dead = lesson.dead_units_sentence(0, 8, 0.3, 8, 200, 0.1)
    assert "not the cause within 200 epochs of SGD(0.1)" in dead
    assert "0 of 8 [0%, " in dead and "8 of 8 [" in dead and "every seed" not in dead
    assert "cannot tell" in lesson.dead_units_sentence(0, 2, 0.3, 2, 200, 0.1)
    assert "cannot tell" in lesson.dead_units_sentence(3, 5, 0.3, 8, 200, 0.1)
    assert "small part of it" in lesson.dead_units_sentence(1, 8, 0.3, 8, 200, 0.1)
    # the leak and the input scale: a verdict only beyond the intervals
    assert "rescued" in lesson.leaky_sentence(8, 0, 8, 5000.0, 200, 0.1)
    assert "rescued" not in lesson.leaky_sentence(2, 0, 8, 5000.0, 200, 0.1)
    assert "5000x smaller than He's" in lesson.leaky_sentence(0, 0, 8, 5000.0, 200, 0.1)
    scale = lesson.input_scale_sentence(0, 4, 4, 9.0, 30, 0.1)
    assert "not the rate for the other" in scale and "0 of 4 [0%, " in scale
    assert "not the rate" not in lesson.input_scale_sentence(2, 4, 4, 9.0, 30, 0.1)


def test_lesson13_sigmoid_vanishes_relu_does_not(run):
    r = run("13_vanishing_exploding")
    seeds = r["ratio_seeds"]
    # every sigmoid seed's first/output ratio is far below every ReLU (He) seed's
    assert max(seeds["sigmoid (Glorot)"]) < 1e-3 * min(seeds["ReLU (He)"])
    assert 0.05 < r["relu_ratio"] < 20
    sig = r["ratio_by_depth"]["sigmoid (Glorot)"]
    assert all(a > b for a, b in zip(sig, sig[1:]))  # shrinks with every two layers
    assert r["final_val_acc"]["ReLU (He)"] > 0.9 > r["final_val_acc"]["sigmoid (Glorot)"]
    # depth removed: every 2-layer sigmoid seed ends above every 10-layer one
    assert min(r["shallow_sigmoid_val_acc"]) > max(r["deep_sigmoid_val_acc"])
    # the too-large init at the quick budget: the clip stalls it, the exact loss blows up
    # in epoch 1
    clip, exact = r["first_updates"]["clip"], r["first_updates"]["exact"]
    assert max(clip["kernel_norm"]) < 1.01 * clip["kernel_norm"][0]
    assert not all(v < 10 * clip["kernel_norm"][0] for v in exact["kernel_norm"])
    assert r["exact_diverged"] == r["seeds"]
    assert max(r["exact_diverged_epoch"]) == 1


def test_lesson13_sentences_follow_the_counts_and_epochs():
    lesson = load("13_vanishing_exploding")
    # the epoch at 90% is a median over all seeds: a seed that never got there is later
    assert lesson.when_90([2, 4], 15) == "3"
    assert lesson.when_90([3, -1], 15) == "> 15"
    assert lesson.when_90([3, 5, -1], 15) == "5"
    assert lesson.when_90([-1, -1], 15) == "never"
    # the seeds that got there come with their 95% interval, in the next column
    assert lesson.reached_90([3, 5, -1]) == "2 of 3 [21%, 94%]"
    assert lesson.reached_90([-1, -1]).startswith("0 of 2 [0%, ")
    # "neither version trains, and He's does" only when the counts say so
    said = lesson.too_large_sentence(True, True, {"clip": 0, "exact": 0, "He": 4}, 4, 100)
    assert "neither version reaches 90%" in said and "He's does in every seed" in said
    assert "within 100 epochs" in said
    some = lesson.too_large_sentence(True, True, {"clip": 0, "exact": 0, "He": 1}, 4, 100)
    assert "every seed" not in some and "some seeds" in some
    trained = lesson.too_large_sentence(True, True, {"clip": 2, "exact": 0, "He": 4}, 4, 100)
    assert "neither" not in trained and "clipped 2 of 4" in trained
    moving = lesson.too_large_sentence(False, True, {"clip": 0, "exact": 0, "He": 4}, 4, 100)
    assert "stalls" not in moving and "clipped loss's doing" not in moving
    not_all = lesson.too_large_sentence(True, False, {}, 4, 100)
    assert "did not blow up in every seed within 100 epochs" in not_all
    assert "4 of 4 seeds" in said and "inf/NaN within 100 epochs" in said  # count and budget
    # "within the first epoch" only when the last seed to blow up did so in epoch 1
    assert "within the first epoch" in lesson.both_ways_sentence(1, 100, True, 0, 4)
    later = lesson.both_ways_sentence(3, 100, True, 0, 4)
    assert "first epoch" not in later and "by epoch 3 of 100" in later
    # "passes back no gradient" only when every clipped kernel gradient ended at 0, and
    # "fail both ways" only when no clipped seed reached 90%, each with its budget
    zero = lesson.both_ways_sentence(1, 100, True, 0, 4)
    assert "no gradient (every kernel gradient exactly 0 after 100 epochs)" in zero
    assert "fail both ways within 100 epochs" in zero
    moving = lesson.both_ways_sentence(1, 100, False, 0, 4)
    assert "no gradient" not in moving and "hardly move over the first 5 updates" in moving
    some = lesson.both_ways_sentence(1, 100, True, 1, 4)
    assert "fail both ways" not in some and "1 of 4 seeds" in some
    # "shrinks at every added depth" only when each deeper network's ratio is smaller
    depths = [2, 4, 6]
    assert "shrinks at every added depth" in lesson.depth_sentence(depths, [1e-1, 1e-2, 1e-3],
                                                                   [1.0, 0.9, 1.1])
    bumpy = lesson.depth_sentence(depths, [1e-1, 1e-2, 2e-2], [1.0, 0.9, 1.1])
    assert "does not shrink at every added depth" in bumpy


def test_a_lesson_runs_quick_from_the_command_line(tmp_path):
    # lesson 18 is the quickest: the command-line path (argument parsing, the
    # -quick folder, the printed narrative and takeaway, the PNG) is what is tested
    root = LESSONS.parent
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, str(LESSONS / "18_optimizer_conventions.py"), "--quick", "--out",
         str(out)], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Before the cut the two conventions are one run" in done.stdout
    assert "\nTakeaway:\n" in done.stdout and "(the numbers: 2 seeds" in done.stdout
    assert sorted(p.name for p in out.glob("*.png")) == ["18_conventions.png"]


def test_cli_rejects_an_unknown_backend(tmp_path):
    root = LESSONS.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    done = subprocess.run(
        [sys.executable, str(LESSONS / "01_quadratic_bowl.py"), "--backend", "jax"],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_cli_explains_a_backend_it_cannot_start(tmp_path):
    try:
        tn.set_backend("cupy")
    except tn.BackendError:
        pass
    else:
        tn.set_backend("numpy")
        pytest.skip("CuPy and a GPU are available here")
    env = dict(os.environ, PYTHONPATH=str(LESSONS.parent))
    done = subprocess.run(
        [sys.executable, str(LESSONS / "07_early_stopping.py"), "--quick", "--backend", "cupy",
         "--out", str(tmp_path / "x")], capture_output=True, text=True, env=env, timeout=60,
        cwd=tmp_path)
    assert done.returncode == 2
    assert "cupy" in done.stderr.lower() and "Traceback" not in done.stderr
