"""Lessons 17 and 18 (telemetry and optimiser conventions) run with --quick and show their claim."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

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


def test_lesson18_conventions_agree_at_a_fixed_rate_and_part_at_the_cut(tmp_path):
    r = run("18_optimizer_conventions", tmp_path)
    assert tn.get_dtype() == "float32"  # the lesson puts the dtype back
    # "before the cut the two conventions are one run": equal to rounding
    assert r["loss_gap_before"] < 1e-12
    # "PyTorch's next step shrinks to about the cut (0.1x), Keras's only to about m (0.9x)"
    assert r["first_ratio_pytorch"] == pytest.approx(0.1, abs=0.03)
    assert r["first_ratio_keras"] == pytest.approx(0.9, abs=0.05)
    assert r["distance_ratio_20"] > 2.0
    # the measured catch-up against the prediction from the fading buffer alone
    for row in r["rows"]:
        assert row["keras_catch_up"] is not None
        assert abs(row["keras_catch_up"] - r["predicted_catch_up"]) < 15


def test_lesson17_ratio_grows_with_the_rate_and_the_verdicts_follow_the_numbers(tmp_path):
    r = run("17_update_to_weight_ratio", tmp_path)
    for problem in r["problems"].values():
        s = problem["summary"]
        early = [s[n]["early_ratio"] for n in ("low", "middle", "high")]
        # "early on the ratio grows with the rate" (plain SGD: update = lr * grad)
        assert problem["ratio_grows_with_rate"] and early == sorted(early)
        # the printed verdicts are what the numbers give
        best = max(s, key=lambda n: (s[n]["fits"], s[n]["val_accuracy"]))
        assert problem["best"] == best
        nearest = min(s, key=lambda n: abs(np.log10(s[n]["early_ratio"] / 1e-3)))
        assert problem["nearest_rule"] == nearest
        for n in problem["collapsed"]:
            assert s[n]["late_ratio"] < s[n]["early_ratio"] / 100
        # every rate is labelled by its measured outcome, not a typed-in "good"
        for row in s.values():
            assert f"{row['fits']} of" in row["outcome"]
            assert row["outcome"].startswith("fails") == (row["fits"] == 0)
    # on the digits the high rate's updates collapse (the network stops learning)
    digits = r["problems"]["digits, 64-64-10"]
    assert "high" in digits["collapsed"]
    assert digits["summary"]["high"]["val_accuracy"] < digits["summary"]["middle"]["val_accuracy"]
    assert digits["summary"]["high"]["outcome"].startswith("fails")
    assert "updates stopped before the network learned" in r["takeaway"]


def test_lesson17_says_the_ratio_tells_the_rates_apart_only_where_it_grew():
    growth = load("17_update_to_weight_ratio").growth_sentence
    both = growth(["post network, four clusters", "digits, 64-64-10"], [])
    assert both.startswith("On both problems") and "tells the rates apart" in both
    mixed = growth(["post network, four clusters"], ["digits, 64-64-10"])
    assert mixed.startswith("Not on every problem")
    assert "on the post network the first" in mixed and "so there it tells" in mixed
    assert "on the digits it does not grow" in mixed and "does not order the rates" in mixed
    neither = growth([], ["post network, four clusters", "digits, 64-64-10"])
    assert "tells the rates apart" not in neither and "does not tell" in neither


def test_takeaway_prints_the_sentences_then_the_numbers(capsys):
    import sys

    sys.path.insert(0, str(LESSONS))
    import _common

    text = _common.takeaway(["First plain sentence.", "Second one."], stats="3 of 5 [23%, 88%]")
    printed = capsys.readouterr().out
    assert printed.strip() == text.strip()
    lines = text.strip().splitlines()
    assert lines == ["Takeaway:", "  First plain sentence.", "  Second one.",
                     "  (the numbers: 3 of 5 [23%, 88%])"]
    assert "(the numbers" not in _common.takeaway(["Only words."])


def test_too_small_speaks_only_below_the_seeds_a_verdict_needs():
    import sys

    sys.path.insert(0, str(LESSONS))
    import _common

    assert _common.too_small(5, 3, 5) == ""
    assert _common.too_small(3, 3, 5) == ""
    message = _common.too_small(2, 3, 5)
    assert "2 seed(s)" in message and "uses 5" in message and "too few" in message
