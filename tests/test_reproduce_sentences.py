"""The report's causal sentences change when the numbers they depend on change.

Each sentence function of tinynet.apps.reproduce.sentences is called with
made-up measurements on both sides of its decision.
"""

import math

from tinynet.apps.reproduce import sentences as say


def test_close_counts_are_reported_as_not_distinguishable():
    text = say.compare_counts("0.4", 7, 20, "0.5", 6, 20)
    assert "not distinguishable" in text and "7 of 20 [" in text and "6 of 20 [" in text
    assert not say.distinguishable(7, 20, 6, 20)


def test_far_apart_counts_are_reported_as_a_difference():
    assert "0.4 fit more often than 0.5" in say.compare_counts("0.4", 18, 20, "0.5", 2, 20)
    assert "0.5 fit more often than 0.4" in say.compare_counts("0.4", 2, 20, "0.5", 18, 20)


def test_failure_timing_follows_which_kind_is_more_common():
    died = say.failure_timing_sentence(0.5, 12, 2, 1, 15, 3.0, 4, 0.25)
    assert died.startswith("Most failures at 0.5 died than overshot") and "12 of 15" in died
    assert "layer 4" in died and "epoch 3" in died and "2 of 15 [" in died
    assert "fitted and then lost it" in died
    assert "near chance (median validation accuracy 0.25" in died
    later = say.failure_timing_sentence(0.5, 9, 1, 10, 20, 17.5, 4, 0.6)
    assert later.startswith("More failures at 0.5 died than overshot")
    assert "learned part of the task" in later
    close = say.failure_timing_sentence(0.5, 6, 4, 3, 13, 7.0, 4, 0.25)
    assert "neither way of failing is clearly the more common" in close
    assert "died than overshot" not in close and "6 of 13 [" in close
    lost = say.failure_timing_sentence(0.5, 2, 12, 1, 15, 3.0, 4)
    assert "look like overshooting" in lost and "12 of 15 [" in lost
    assert "died than overshot" not in lost
    even = say.failure_timing_sentence(0.5, 3, 3, 0, 6, 2.0, 3)
    assert "split evenly" in even
    assert "nothing to time" in say.failure_timing_sentence(0.5, 0, 0, 0, 0, math.nan, "n/a")


def test_low_rate_sentence_follows_the_plateau_and_the_output():
    stuck = say.low_rate_sentence(0.001, 20, 20, 200, 2600, 1e-5, 0.003)
    assert "does not leave its starting plateau" in stuck and "20 of 20" in stuck
    assert "barely depends on the input" in stuck and "equal the class shares" in stuck
    varied = say.low_rate_sentence(0.001, 20, 20, 200, 2600, 0.2, 0.1)
    assert "still depends on the input" in varied and "are not the class shares" in varied
    left = say.low_rate_sentence(0.001, 3, 20, 200, 2600, 0.2, 0.1)
    assert "does not show the plateau" in left and "starting plateau" not in left


def test_horizon_sentences_say_slow_or_not():
    slow = say.horizon_low_sentence(0.01, 0, 17, 20, 200, 1000, 13, 8.0, 0.001)
    assert "slow, not stuck" in slow and "0 of 20" in slow and "17 of 20" in slow
    assert "8000 epochs" in slow and "1.04e+05 updates" in slow
    counted = say.horizon_low_sentence(0.01, 0, 17, 20, 200, 1000, 13, 8.0, 0.001, (17, 60))
    assert "median over the 17 of 60 runs that did" in counted
    same = say.horizon_low_sentence(0.01, 0, 1, 20, 200, 1000, 13, 8.0, 0.001)
    assert "does not change it" in same and "slow, not stuck" not in same
    wider = say.horizon_window_sentence(0.1, 0, 15, 20, 200, 1000, 16, 19, 0.5)
    assert "depends on the budget" in wider and "16 of 19 failed runs" in wider
    closed = say.horizon_window_sentence(0.1, 0, 2, 20, 200, 1000, 0, 0, 0.5)
    assert "does not change it" in closed and "dead layer" not in closed


def test_step_signal_sentence_follows_the_ratio():
    big = say.step_signal_sentence(0.5, 0.1, [0.01, 0.1, 0.5, 3.0], [0.0, 0.02, 0.1, 0.6],
                                   [0.5, 0.05, 0.005, 0.0004], 10.0)
    assert "as large as the signal" in big and "layer-4" in big and "3 times" in big
    assert "because the signal reaching it is small (rms 0.005" in big
    # a signal as large as the data's is not given as the reason
    loud = say.step_signal_sentence(0.5, 0.1, [0.01, 0.1, 0.5, 3.0], [0.0, 0.02, 0.1, 0.6],
                                    [0.5, 0.05, 5.0, 0.0004], 10.0)
    assert "as large as the signal" in loud and "because" not in loud
    assert "the signal reaching it has rms 5 at init" in loud
    small = say.step_signal_sentence(0.5, 0.1, [0.01, 0.1, 0.5, 0.3], [0.0, 0.02, 0.1, 0.06],
                                     [0.5, 0.05, 0.005, 0.0004], 10.0)
    assert "smaller than the signal" in small and "as large as" not in small
    assert "layer-3" in small


def test_warmup_sentence_says_whether_the_early_steps_kill():
    kills = say.warmup_sentence([0.4, 0.5], [5, 15], [4, 4], [22, 9], [24, 9], 40, 260)
    assert "At 0.5 smaller early steps keep the layers alive" in kills and "260 updates" in kills
    assert "yet no more of them fit" in kills and "0.5: dead layers 15 of 40" in kills
    helps = say.warmup_sentence([0.4, 0.5], [5, 15], [4, 4], [22, 5], [24, 30], 40, 260)
    assert "and more of those runs fit" in helps
    same = say.warmup_sentence([0.4, 0.5], [7, 7], [6, 6], [15, 15], [17, 17], 40, 260)
    assert "does not show" in same and "Fewer layers die" in same and "keep the" not in same
    worse = say.warmup_sentence([0.4, 0.5], [1, 1], [14, 14], [30, 30], [15, 15], 40, 260)
    assert "No fewer layers die" in worse


def test_leaky_sentence_follows_the_slopes():
    only_big = say.leaky_sentence(0.5, (0.2, 0.01), (18, 6), 20, 5, 20)
    assert "Only slope 0.2 helps" in only_big and "slope 0.01: 6 of 20" in only_big
    both = say.leaky_sentence(0.5, (0.2, 0.01), (18, 17), 20, 5, 20)
    assert "Every slope tried helps" in both
    none = say.leaky_sentence(0.5, (0.2, 0.01), (7, 6), 20, 5, 20)
    assert "No slope tried helps" in none


def test_scale_swap_sentence_names_the_cause():
    scale = say.scale_swap_sentence(0.1, {"raw": 19, "standardised": 0, "centred": 18,
                                          "unit-scale": 1}, 20)
    assert scale.endswith("The scale, not the centring, makes the difference.")
    centring = say.scale_swap_sentence(0.1, {"raw": 19, "standardised": 0, "centred": 1,
                                             "unit-scale": 18}, 20)
    assert centring.endswith("The centring, not the scale, makes the difference.")
    both = say.scale_swap_sentence(0.1, {"raw": 19, "standardised": 0, "centred": 10,
                                         "unit-scale": 10}, 20)
    assert "both play a part" in both
    nothing = say.scale_swap_sentence(0.1, {"raw": 10, "standardised": 9, "centred": 10,
                                            "unit-scale": 9}, 20)
    assert "nothing to separate" in nothing


def test_init_sentence_says_when_the_textbook_half_holds():
    textbook = say.init_sentence((0.1, 0.5), (18, 2), (20, 20), (19, 5), (0, 1), 20)
    assert "textbook picture holds" in textbook and "raw 0.1: 18 of 20" in textbook
    not_here = say.init_sentence((0.1, 0.5), (18, 19), (20, 20), (19, 5), (0, 1), 20)
    assert "textbook" not in not_here and "does not widen" in not_here


def test_window_sentence_states_its_budget():
    assert say.window_sentence([0.1, 0.4], [], 200).startswith("After 200 epochs, raw, 0.1, 0.4")
    assert "standardised, no rate does" in say.window_sentence([0.1, 0.4], [], 200)
    assert "After 1000 epochs" in say.window_sentence([0.1], [0.1], 1000)
    assert "the same rates fit" in say.window_sentence([0.1], [0.1], 200)
    assert "standardised 0.01" in say.window_sentence([0.1, 0.4], [0.01], 200)


def test_initial_dead_sentence_follows_he():
    fine = say.initial_dead_sentence([0.0, 0.1, 0.15, 0.2], [0.0, 0.1, 0.1, 0.15], 19, 20, 0.1)
    assert "negative weights" in fine and "do not decide the outcome" in fine
    assert "0.10/0.15/0.20" in fine
    unsure = say.initial_dead_sentence([0.0, 0.1, 0.15, 0.2], [0.0, 0.1, 0.1, 0.15], 3, 20, 0.1)
    assert "cannot say they do not matter" in unsure
    none = say.initial_dead_sentence([0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], 19, 20, 0.1)
    assert "No unit in layers 2-4" in none


def test_revival_sentence_follows_the_count():
    back = say.revival_sentence(0.1, 7, 19)
    assert "7 of 19" in back and "absorbing" in back
    assert "does not show dead units coming back" in say.revival_sentence(0.1, 0, 19)
    assert "every run ended with a dead layer" in say.revival_sentence(0.5, 0, 0)


def test_overshoot_sentence_follows_the_shares():
    short = say.overshoot_sentence(0.5, 0.1, [30, 200, 0.6], [10, 200, 0.2], [5, 100, 0.5],
                                   [80, 100, 1.4], [20, 190, 0.9], 128)
    assert "mostly does not overshoot" in short and "30 of 200 steps (15%)" in short
    assert "5 of 100 steps (5%) taken before the layer died" in short
    past = say.overshoot_sentence(0.5, 0.1, [150, 200, 1.6], [10, 200, 0.2], [60, 100, 1.5],
                                  [80, 100, 1.4], [20, 190, 0.9], 128)
    assert "does overshoot" in past and "mostly does not" not in past


def test_surface_sentence_follows_the_paths():
    def path(length, turns):
        return {"explained": [0.8, 0.15], "length": length, "turns_back": turns,
                "segments": 19, "max_off_plane": 0.0}

    still = say.surface_sentence(3, 0.5, 0.1, 0.001, {"0.5": path(2.0, 0), "0.1": path(1.0, 0),
                                                       "0.001": path(0.01, 0)})
    assert "hardly left its start" in still and "never turns back" in still
    assert "seed 3's path" in still and "0.1: 95%" in still
    bounce = say.surface_sentence(3, 0.5, 0.1, 0.001, {"0.5": path(2.0, 4), "0.1": path(1.0, 0),
                                                        "0.001": path(0.5, 0)})
    assert "turns back on itself 4 times" in bounce and "hardly left" not in bounce
    assert "more back and forth" in bounce
    noise = say.surface_sentence(3, 0.5, 0.1, 0.001, {"0.5": path(2.0, 2), "0.1": path(1.0, 3),
                                                       "0.001": path(0.5, 0)})
    assert "no more than at 0.1 (3)" in noise and "noise" not in noise
    assert "no more back and forth than a rate that works" in noise


def test_summary_clauses_follow_the_numbers():
    assert "not overshooting" in say.overshoot_short(0.5, [13, 331, 0.5])
    assert "is overshooting" in say.overshoot_short(0.5, [300, 331, 1.5])
    scale = say.q2_short(0.1, {"raw": 19, "standardised": 0, "centred": 19, "unit-scale": 0},
                         20, 0.5, 0, 20)
    assert "by shrinking the inputs, not by centring them" in scale and "helps instead" in scale
    centring = say.q2_short(0.1, {"raw": 19, "standardised": 0, "centred": 0,
                                  "unit-scale": 19}, 20, 0.5, 10, 11)
    assert "by centring the inputs" in centring and "does not help either" in centring


def test_kill_short_follows_the_ablations():
    both = say.kill_short(0.5, 15, 4, 9, 9, 40, (0.2, 0.01), (25, 24))
    assert "from 15 of 40 [24%, 53%] to 4 of 40 [" in both
    assert "but no more runs fit (9 of 40" in both
    assert "units that can come back help" in both
    neither = say.kill_short(0.5, 8, 7, 9, 10, 40, (0.2, 0.01), (11, 10))
    assert "does not measurably change" in neither and "does not fit measurably more" in neither


def test_overshoot_sentence_speaks_of_dying_layers_only_where_some_died():
    # no run lost a layer before fitting: no step was measured before a death
    none_died = say.overshoot_sentence(0.5, 0.1, [0, 10, 0.5], [0, 10, 0.5], [0, 0, None],
                                       [0, 0, None], [0, 0, None], 128)
    assert "mostly does not overshoot" in none_died and "die" not in none_died
    some_died = say.overshoot_sentence(0.5, 0.1, [3, 100, 0.5], [1, 100, 0.5], [2, 50, 0.5],
                                       [0, 0, None], [0, 0, None], 128)
    assert "the layers that die, die without an overshoot" in some_died
    # the layers' deaths came after overshooting steps, though most steps did not overshoot
    died_past = say.overshoot_sentence(0.5, 0.1, [30, 100, 0.8], [1, 100, 0.5], [40, 50, 1.2],
                                       [0, 0, None], [0, 0, None], 128)
    assert "without an overshoot" not in died_past
    assert "most of the steps taken before a layer died land past it (40 of 50" in died_past


def test_divergence_sentence_follows_the_count():
    assert "no run's loss became NaN or infinite at 0.5 (0 of 20)" in say.divergence_sentence(
        0.5, 0, 20)
    blew = say.divergence_sentence(0.5, 3, 20)
    assert "no run" not in blew and "3 of 20 [" in blew and "NaN or infinite" in blew


def test_first_layer_dead_sentence_follows_the_shares():
    assert "no first-layer unit is dead" in say.first_layer_dead_sentence(0.0, 0.0)
    some = say.first_layer_dead_sentence(0.1, 0.0)
    assert "no first-layer unit" not in some and "0.10 / 0.00 of the first-layer units" in some


def test_low_rate_sentence_reads_the_signal_and_the_gradients():
    init = {"input_rms": 10.0, "activation_rms": [0.5, 0.05, 0.005, 0.0004, 0.25],
            "kernel_grad": [5e-4, 5e-4, 6e-4, 5e-4, 4e-4],
            "bias_grad": [3e-5, 3e-4, 2.6e-3, 2.3e-2, 1.8e-2]}
    text = say.low_rate_sentence(0.001, 20, 20, 200, 2600, 1e-5, 0.003, init,
                                 [0.007, 0.003, 0.003, 0.003, 0.003])
    assert "the kernels moved by at most 0.007 of their size" in text
    assert "the signal reaching the output is tiny (rms 0.0004 at init against 10" in text
    assert "the output bias, whose gradient at init (0.018) is 30 times the largest" in text
    assert "the one parameter" not in text
    # a strong signal and an output bias no larger than the kernels' gradients
    strong = dict(init, activation_rms=[0.5, 0.4, 0.3, 0.2, 0.25], bias_grad=[1e-4] * 5)
    text = say.low_rate_sentence(0.001, 20, 20, 200, 2600, 1e-5, 0.003, strong, None)
    assert "is not small (rms 0.2" in text and "tiny" not in text
    assert "the output layer has learned how common" in text and "output bias" not in text
    assert "kernels moved" not in text


def test_init_sentence_says_standardising_hurts_only_where_it_does():
    hurts = say.init_sentence((0.1, 0.5), (18, 2), (20, 20), (19, 5), (0, 1), 20)
    assert "other way round: standardising makes 0.1 fit less often" in hurts
    same = say.init_sentence((0.1, 0.5), (18, 2), (20, 20), (10, 5), (9, 4), 20)
    assert "other way round" not in same and "no rate here fit measurably less often" in same


def test_initial_dead_sentence_compares_the_shares():
    fewer = say.initial_dead_sentence([0.0, 0.3, 0.4, 0.5], [0.0, 0.05, 0.05, 0.1], 19, 20, 0.5)
    assert "do not decide the outcome" not in fewer and "has fewer (0.05/0.05/0.10)" in fewer
    assert "cannot tell the initial deaths apart" in fewer



def test_summary_counts_come_with_their_intervals():
    text = say.q2_short(0.1, {"raw": 19, "standardised": 0, "centred": 19, "unit-scale": 0},
                        20, 0.5, 0, 20)
    assert "centred at the raw scale 19 of 20 [76%, 99%]" in text
    assert "raw 0 of 20 [0%, 16%], standardised 20 of 20 [84%, 100%]" in text
    warm = say.warmup_sentence([0.5], [15], [4], [9], [9], 40, 260)
    assert "fits 9 of 40 [" in warm
