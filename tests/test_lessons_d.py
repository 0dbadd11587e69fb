"""Lessons 19-22 (stuck or slow, the rate and overfitting, batch size at equal updates,
fine-tuning) run with --quick and show their claims."""

import importlib.util
from pathlib import Path

import numpy as np

import tinynet as tn

LESSONS = Path(__file__).resolve().parent.parent / "lessons"


def load(stem):
    spec = importlib.util.spec_from_file_location(f"lesson_{stem}", LESSONS / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(stem, tmp_path):
    result = load(stem).main(out_dir=str(tmp_path / stem), quick=True)
    tn.set_backend("numpy")
    for path in result["figures"]:
        assert Path(path).is_file() and path.endswith(".png")
    return result


def test_lesson19_a_valley_holds_small_rates_and_a_plateau_only_delays(tmp_path):
    r = run("19_stuck_or_slow", tmp_path)
    n = r["n_starts"]
    # "below 2/f'' every start stays in the shallow valley, at 100x the budget as at 1x"
    below = [row for row in r["rows_1d"] if row["lr"] < r["bound_shallow"]]
    assert below and r["stuck_below_bound"]
    assert all(row["shallow_long"] == n and row["changed"] == 0 for row in below)
    # above the bound the shallow bottom no longer holds any start
    above = [row for row in r["rows_1d"] if row["lr"] > r["bound_shallow"]]
    assert all(row["long"].count("shallow bottom") == 0 for row in above)
    # "a larger rate leaves it": every start in the deep valley, and no rate below the bound does
    assert r["first_rate_out"] is not None and r["first_rate_out"] > r["bound_shallow"]
    out = [row for row in r["rows_1d"] if row["lr"] == r["first_rate_out"]][0]
    assert out["deep_long"] == n
    # the control: the same small rate, started past the barrier, is slow but arrives
    assert r["control_short_gap"] > 0.1 and r["control_long_gap"] < 1e-3
    # the network: flat at the short budget, fallen at the long one (most of the flat runs)
    assert r["flat_short"] >= r["n_runs"] // 2
    assert r["fell_long"] > r["flat_short"] // 2
    # the control without tiny weights: no plateau, and a much larger first gradient
    assert r["he_flat_short"] < r["small_flat_short_lowest_rate"] and r["grad_ratio_he"] > 10


def test_lesson20_the_gap_grows_with_the_rate_and_follows_lr_times_epochs(tmp_path):
    r = run("20_rate_and_overfitting", tmp_path)
    # "the gap grows from each rate to the next, beyond the seed spread"
    assert r["gap_grows"] and r["gap_median"] == sorted(r["gap_median"])
    # "the smallest rate underfits, the largest overfits" (relative to the best rate)
    assert r["small_underfits"] and r["large_overfits"]
    assert r["train_loss_median"][0] > r["train_loss_median"][-1]
    best = r["rates"].index(r["best_val_rate"])
    assert 0 < best < len(r["rates"]) - 1
    # the control: at equal lr x epochs the gaps agree within 25% in every pair
    assert r["pairs"] and r["distance_explains"]
    for pair in r["pairs"]:
        assert 0.8 <= pair["ratio"] <= 1.25
        assert pair["gap_big_full_budget"] > 1.25 * pair["gap_small"]  # the budget matters


def test_lesson21_the_small_batch_wins_on_updates_and_the_scaled_rate_breaks_past_the_bound(
        tmp_path):
    r = run("21_batch_size_at_equal_updates", tmp_path)
    updates = r["updates"]
    # the control holds the number of updates equal, and the plain comparison does not
    assert updates["batch 512, same updates"] == updates["batch 16"]
    assert updates["batch 512, same epochs"] * 32 == updates["batch 16"]
    # "at the same epochs batch 16 is clearly ahead; at the same updates it is not"
    assert r["small_better_same_epochs"] == 1 and r["points_same_epochs"] > 10
    assert r["small_better_same_updates"] != 1 and abs(r["points_same_updates"]) < 3
    # the linear scaling rule: below the stability bound at batch 128, above it at 512
    middle, large = r["rules"]
    assert middle["cold_above_bound"] == 0 and middle["cold_vs_small"] != -1
    assert large["cold_above_bound"] == r["seeds"] and large["lr"] > large["bound_start"]
    assert large["cold_vs_small"] == -1 and large["warm_vs_small"] == -1
    # capacity and regularisation at batch 16: one layer of 5 underfits (low training
    # accuracy, a small gap), and the sentences follow the paired verdicts
    nets = r["networks"]
    narrow, base = nets["one layer of 5"], nets["64-64 (above)"]
    assert base["test_acc"] == r["test_acc_median"]["batch 16"]
    assert narrow["train_acc"] < base["train_acc"] - 0.03 and abs(narrow["gap"]) < 0.05
    assert "underfits" in nets["sentences"][0] and nets["sentences"][0] in r["takeaway"]
    words = {1: "clearly above", 0: "not clearly above", -1: "clearly not"}
    assert words[nets["deeper_vs_narrow"]] in nets["sentences"][1].split(";")[0]
    assert words[nets["wider_vs_narrow"]] in nets["sentences"][1].split(";")[1]
    assert ("little overfitting" in nets["sentences"][2]) == (base["gap"] < 0.05)


def test_lesson22_a_large_rate_loses_the_pretrained_task_and_a_small_recipe_keeps_it(tmp_path):
    r = run("22_fine_tuning", tmp_path)
    old = r["old_acc"]
    assert r["pretrained_old_acc"] > 0.95  # there was something to keep
    # "a constant large rate keeps clearly less of 0-4 than the small rate", in every seed
    assert r["rate_verdict"] == 1 and r["small_kept_more_seeds"] == r["seeds"]
    assert old["lr 0.3, constant"] < old["lr 0.03, constant"] - 0.15
    # "the small rate with warm-up and decay keeps it" (within a few points of the start)
    assert r["recipe_small_old_acc"] > r["pretrained_old_acc"] - 0.1
    # the warm-up recovers much of it at the large rate; the decay alone does not
    parts = r["parts_at_large_rate"]
    assert parts["warm-up only"]["points"] > 10 and parts["decay only"]["points"] < 5
    assert r["early_share_lost"] > 0.5  # most of the loss happens within the warm-up's length
    # the control: every run still learns the new digits far above chance (0.2)
    assert min(r["new_acc"].values()) > 0.7
    # the size of the fine-tuning set: the smaller set for the same epochs makes fewer
    # updates, its control as many as the full set; each best rate is the argmax of the
    # medians, and the sentence says "lower" only where both budgets put it lower
    sizes = list(r["by_size"].values())
    assert [c["images"] for c in sizes] == [50, 20, 20]
    assert sizes[1]["updates"] < sizes[0]["updates"] == sizes[2]["updates"]
    rates = (0.01, 0.03, 0.1, 0.3)
    for c in sizes:
        medians = [np.median(a) for a in c["new_acc"]]
        assert c["best_rate"] == rates[int(np.argmax(medians))]
        assert len(c["new_acc"]) == 4 and len(c["new_acc"][0]) == r["seeds"]
    lower = all(c["best_rate"] < sizes[0]["best_rate"] for c in sizes[1:])
    assert ("as the advice says" in r["size_sentence"]) == lower


# --- the takeaways' words follow their numbers (fabricated numbers, no training) ---------
def test_lesson19_says_slow_not_stuck_only_when_most_flat_runs_surely_fell():
    lesson = load("19_stuck_or_slow")
    assert "slow, not stuck" in lesson.plateau_sentence(6, 6, 10, 150)  # Wilson low 61%
    for fell in (0, 3, 5):  # 5 of 6: Wilson low 44%, not above one half
        assert "slow, not stuck" not in lesson.plateau_sentence(6, fell, 10, 150)
    assert "cannot be told from a minimum" in lesson.plateau_sentence(6, 0, 10, 150)
    assert "3 of 6 [" in lesson.plateau_sentence(6, 3, 10, 150)  # the count with its interval
    assert "no plateau" in lesson.plateau_sentence(0, 0, 10, 150)
    assert "holds it, not slowness" in lesson.valley_sentence(300, True, 2.0, True)
    assert "slowness" in lesson.valley_sentence(300, True, 2.0, False)
    assert "holds" not in lesson.valley_sentence(300, False, 2.0, True)
    assert "comes with the tiny" in lesson.cause_sentence(0, 4, 300.0, 4)
    assert "does not tie" in lesson.cause_sentence(4, 4, 300.0, 4)
    # fewer flat runs from He's start, but within the intervals: no verdict
    close = lesson.cause_sentence(1, 3, 300.0, 4)
    assert "comes with" not in close and "not distinguishable at this many seeds" in close
    assert "1 of 4 [" in close and "3 of 4 [" in close
    assert "comes with the tiny" in lesson.cause_sentence(2, 16, 300.0, 16)
    # He flatter beyond the intervals, or a gradient ratio below 1: no verdict either
    assert "does not tie" in lesson.cause_sentence(16, 2, 300.0, 16)
    assert "does not tie" in lesson.cause_sentence(0, 4, 0.5, 4)


def test_two_counts_differ_only_when_their_intervals_do_not_overlap():
    import sys

    sys.path.insert(0, str(LESSONS))
    import _common

    assert _common.distinguishable(0, 4, 4, 4) and _common.more_often(4, 4, 0, 4)
    assert not _common.distinguishable(1, 4, 3, 4) and not _common.more_often(3, 4, 1, 4)
    assert not _common.more_often(0, 4, 4, 4)


def test_lesson20_says_the_rate_sets_the_distance_only_when_the_pairs_agree():
    lesson = load("20_rate_and_overfitting")
    agree = {"ratio": 1.0, "gap_small": 0.1, "gap_big_full_budget": 0.2}
    flat = {"ratio": 1.0, "gap_small": 0.1, "gap_big_full_budget": 0.11}
    differ = {"ratio": 1.6, "gap_small": 0.1, "gap_big_full_budget": 0.2}
    assert "sets how far" in lesson.control_sentence([agree, agree])
    assert "cannot tell" in lesson.control_sentence([agree, flat])
    said = lesson.control_sentence([agree, differ])
    assert "matters beyond" in said and "1 of 2" in said and "smaller" in said
    rates = [0.001, 0.3]
    said = lesson.budget_sentence(100, rates, False, True, [True, False])
    assert "does not clearly underfit" in said and "0.3 overfits" in said and "1 of 2" in said


def test_lesson21_says_more_steps_not_noise_only_when_the_updates_explain_it():
    lesson = load("21_batch_size_at_equal_updates")
    assert "not by its noisier gradients" in lesson.updates_sentence(1, 0, 44.0, -1.1, 1.2)
    assert "cost a little" in lesson.updates_sentence(1, -1, 44.0, -0.2, 0.3)
    assert "cost a little" not in lesson.updates_sentence(1, 0, 44.0, -1.1, 1.2)
    wide = lesson.updates_sentence(1, 0, 44.0, 1.0, 5.0)
    assert "not by" not in wide and "cannot rule out" in wide
    assert "the batch itself" in lesson.updates_sentence(1, 1, 44.0, 6.0, 1.0)
    assert "no small-batch advantage" in lesson.updates_sentence(0, 0, 1.0, 0.5, 1.0)
    rule = {"batch": 512, "lr": 3.2, "bound_start": 1.4, "cold_vs_small": -1,
            "warm_vs_small": -1}
    above = lesson.scaling_sentence([{**rule, "cold_above_bound": 4, "warm_above_bound": 4}], 4)
    assert "does not keep" in above and "overshoot" in above
    below = lesson.scaling_sentence([{**rule, "cold_above_bound": 0, "warm_above_bound": 0}], 4)
    assert "does not explain" in below and "overshoot" not in below


def test_lesson22_says_the_large_rate_overwrites_only_when_it_clearly_keeps_less():
    lesson = load("22_fine_tuning")
    said = {"large_old_acc": 0.57, "small_old_acc": 0.96, "recipe_small_old_acc": 0.98,
            "moved_large": 0.42, "moved_small": 0.18}
    assert "what they knew goes with them" in lesson.rate_sentence({**said, "rate_verdict": 1})
    unclear = lesson.rate_sentence({**said, "rate_verdict": 0})
    assert "goes with them" not in unclear and "does not show" in unclear
    parts = {"warm-up only": {"points": 18.0, "verdict": 1},
             "decay only": {"points": 0.0, "verdict": 0}}
    assert "first full-size steps" in lesson.warmup_sentence(parts, 0.74)
    assert "first full-size steps" not in lesson.warmup_sentence(parts, 0.3)
    parts["warm-up only"]["verdict"] = 0
    assert "cannot tell" in lesson.warmup_sentence(parts, 0.74)


def test_lesson21_calls_a_network_underfitted_only_when_it_cannot_fit_its_training_points():
    sentences = load("21_batch_size_at_equal_updates").capacity_sentences
    net = {"train_acc": 0.99, "test_acc": 0.99, "test_acc_worst": 0.98, "gap": 0.01}
    f = {"64-64 (above)": net, "one layer of 5": {**net, "train_acc": 0.80, "test_acc": 0.79},
         "four layers of 5": net, "one layer of 64": net, "64-64, weight decay 1e-3": net,
         "deeper_vs_narrow": 1, "wider_vs_narrow": 0, "decay_vs_base": -1}
    first, second, third = sentences(f)
    assert "underfits" in first and "clearly above the single layer" in second
    assert "not clearly above" in second.split(";")[1]
    assert "little overfitting" in third and "only costs" in third
    first = sentences({**f, "one layer of 5": net})[0]
    assert "enough capacity" in first and "underfits" not in first
    third = sentences({**f, "64-64 (above)": {**net, "gap": 0.3}, "decay_vs_base": 1})[2]
    assert "little overfitting" not in third and "clearly higher" in third


def test_lesson22_says_a_smaller_set_wants_a_lower_rate_only_when_both_budgets_agree():
    lesson = load("22_fine_tuning")

    def case(images, updates, best, kept_at_best=0.95):
        old = [[0.97] * 4 if r != best else [kept_at_best] * 4 for r in lesson.RATES]
        return {"images": images, "updates": updates, "best_rate": best, "best_vs_lower": 1,
                "old_acc": old}

    ref = case(50, 200, 0.3)
    lower = lesson.size_sentence({"a": ref, "b": case(20, 80, 0.03), "c": case(20, 200, 0.1)})
    assert "as the advice says" in lower
    mixed = lesson.size_sentence({"a": ref, "b": case(20, 80, 0.03), "c": case(20, 200, 0.3)})
    assert "does not show" in mixed
    higher = lesson.size_sentence({"a": case(50, 200, 0.1),
                                   "b": case(20, 80, 0.3, kept_at_best=0.5),
                                   "c": case(20, 200, 0.3)})
    assert "contrary to the advice" in higher and "the largest tried" in higher
    assert "protects what pre-training taught" in higher
    assert "protects" not in lower


def test_lesson19_calls_the_flat_start_no_minimum_only_when_most_flat_runs_surely_fell():
    verdict = load("19_stuck_or_slow").plateau_verdict
    assert verdict(22, 21, 600).startswith("The flat start was not a minimum")
    assert "until epoch 600" in verdict(22, 21, 600)  # the budget it holds at
    most = verdict(22, 21, 600)
    assert "1 of 22 [" in most and "had not fallen by epoch 600" in most
    for fell in (0, 3, 5):  # 5 of 6: Wilson lower bound 44%, not beyond one half
        assert "not a minimum" not in verdict(6, fell, 600)
    assert "(3 of 6 [" in verdict(6, 3, 600)
    assert verdict(6, 0, 600).startswith("None had fallen by epoch 600")
    assert verdict(0, 0, 600).startswith("No run looked stuck")


def test_lesson19_the_plateau_length_is_a_median_over_every_seed():
    lesson = load("19_stuck_or_slow")
    # a seed that never fell counts as later than the budget, never dropped
    assert lesson.median_fall([10, 20, None]) == 20
    assert lesson.median_fall([10, None, None]) == float("inf")
    said, pace = lesson.plateau_length_sentence({0.1: [10, None, None], 0.3: [4, 5, 6]}, 150)
    assert pace[0.1] == float("inf") and "> 150 epochs at lr 0.1 (1 of 3 [" in said
    assert "5 epochs at lr 0.3 (3 of 3 [" in said
    assert "cannot compare lr x epochs" in said and "about the same" not in said
    # the survivors alone (10 at lr 0.1) would have made lr x epochs look the same
    steady, _ = lesson.plateau_length_sentence({0.1: [30, 40, 50], 0.3: [12, 13, 14]}, 150)
    assert "about the same each time" in steady
