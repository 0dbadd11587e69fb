"""Lessons 19-22 (stuck or slow, the rate and overfitting, batch size at equal updates,
fine-tuning) run with --quick and show their claims."""

import importlib.util
from pathlib import Path

import tinynet as tn

LESSONS = Path(__file__).resolve().parent.parent / "lessons"


def run(stem, tmp_path):
    spec = importlib.util.spec_from_file_location(f"lesson_{stem}", LESSONS / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(out_dir=str(tmp_path / stem), quick=True)
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
