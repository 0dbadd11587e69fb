"""Schedules against their formulas, written out here; PyTorch's numbers pasted in."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet import schedules as S

FAST = settings(max_examples=40, deadline=None)


def close(a, b):
    return a == pytest.approx(b, rel=1e-12, abs=1e-15)


def check(schedule, expected):
    """expected: {step: rate}."""
    for step, rate in expected.items():
        assert isinstance(schedule(step), float)
        assert close(schedule(step), rate), (step, schedule(step), rate)


# --- Keras-named schedules: the Keras formulas, step by step ---


def test_exponential_decay():
    s = S.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    check(s, {0: 0.1, 50: 0.1 * 0.5 ** 0.5, 100: 0.05, 150: 0.1 * 0.5 ** 1.5, 1000: 0.1 / 1024})


def test_exponential_decay_staircase():
    s = S.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5, staircase=True)
    check(s, {0: 0.1, 99: 0.1, 100: 0.05, 199: 0.05, 200: 0.025, 1050: 0.1 / 1024})


def test_inverse_time_decay():
    s = S.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)
    check(s, {0: 0.1, 5: 0.1 / 1.25, 10: 0.1 / 1.5, 1000: 0.1 / 51})
    stair = S.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    check(stair, {0: 0.1, 9: 0.1, 10: 0.1 / 1.5, 19: 0.1 / 1.5, 25: 0.05})


def test_piecewise_constant_uses_step_greater_than_boundary():
    s = S.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    check(s, {0: 1.0, 100: 1.0, 101: 0.5, 200: 0.5, 201: 0.1, 10_000: 0.1})


def test_polynomial_decay():
    s = S.PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01, power=2.0)
    check(s, {0: 0.1, 50: 0.09 * 0.25 + 0.01, 100: 0.01, 5000: 0.01})
    default = S.PolynomialDecay(0.1, 100)
    check(default, {0: 0.1, 25: (0.1 - 1e-4) * 0.75 + 1e-4, 100: 1e-4})


def test_polynomial_decay_cycle():
    s = S.PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.0, cycle=True)
    # D = 100 * ceil(step / 100), and 100 at step 0 (Keras's multiplier 1)
    check(s, {0: 0.1, 50: 0.05, 100: 0.0, 101: 0.1 * (1 - 101 / 200), 150: 0.025,
              200: 0.0, 250: 0.1 * (1 - 250 / 300)})


def test_cosine_decay():
    s = S.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    decay = lambda step: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * step / 100)) + 0.1)  # noqa: E731
    check(s, {0: 0.1, 25: decay(25), 50: 0.1 * (0.45 + 0.1), 100: 0.01, 1000: 0.01})


def test_cosine_decay_keras_warmup():
    # linear from initial_learning_rate (at step 0) to warmup_target (at step W), then cosine
    s = S.CosineDecay(0.0, decay_steps=100, warmup_target=0.2, warmup_steps=10)
    check(s, {0: 0.0, 1: 0.02, 5: 0.1, 9: 0.18, 10: 0.2, 60: 0.1, 110: 0.0, 500: 0.0})
    ignored = S.CosineDecay(0.1, decay_steps=100, warmup_steps=10)  # no target: no warm-up
    check(ignored, {0: 0.1, 50: 0.05})


def test_cosine_decay_restarts():
    s = S.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5, alpha=0.0)
    # periods: steps 0-9 (peak 1), 10-29 (peak 0.5), 30-69 (peak 0.25)
    cos = lambda peak, frac: peak * 0.5 * (1 + math.cos(math.pi * frac))  # noqa: E731
    check(s, {0: 1.0, 5: 0.5, 9: cos(1, 0.9), 10: 0.5, 20: 0.25, 30: 0.25, 50: 0.125,
              69: cos(0.25, 39 / 40), 70: 0.125})
    flat = S.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=1.0, alpha=0.2)
    check(flat, {0: 1.0, 5: 0.8 * 0.5 + 0.2, 10: 1.0, 25: 0.6, 1000: 1.0})


def test_cosine_decay_restarts_restart_steps_hit_the_peak():
    s = S.CosineDecayRestarts(0.1, first_decay_steps=7, t_mul=3.0, m_mul=0.9)
    start, length = 0, 7
    for i in range(6):
        assert close(s(start), 0.1 * 0.9 ** i)
        start, length = start + length, length * 3


def test_cosine_decay_restarts_with_a_huge_t_mul():
    # t_mul = 1e300: period 1 starts at step 1 and lasts 1e300 steps (t_mul ** 1 was
    # fine, t_mul ** 2 overflowed in the search for the period)
    s = S.CosineDecayRestarts(0.1, 1, t_mul=1e300, m_mul=0.5)
    check(s, {0: 0.1, 1: 0.05, 2: 0.05, 10**6: 0.05, 2**53: 0.05})
    widest = S.CosineDecayRestarts(0.1, 1, t_mul=1.7e308)  # f * (t_mul - 1) overflows too
    check(widest, {0: 0.1, 1: 0.1, 2: 0.1, 2**53: 0.1})


# --- the others ---


def test_constant():
    check(S.Constant(0.03), {0: 0.03, 10**9: 0.03})


def test_power_decay():
    s = S.PowerDecay(0.1, decay_steps=10, power=0.5)
    check(s, {0: 0.1, 10: 0.1 / math.sqrt(2), 30: 0.05, 990: 0.01})


def test_step_decay():
    s = S.StepDecay(0.1, step_size=30)
    check(s, {0: 0.1, 29: 0.1, 30: 0.05, 59: 0.05, 60: 0.025, 300: 0.1 / 1024})
    check(S.StepDecay(1.0, 2, drop=0.1), {0: 1.0, 3: 0.1, 4: 0.01})


def test_warmup_linear_from_zero_never_uses_zero():
    s = S.Warmup(S.CosineDecay(0.1, 100), warmup_steps=10)
    check(s, {0: 0.01, 4: 0.05, 9: 0.1, 10: 0.1, 60: 0.05, 110: 0.0})
    assert s(0) > 0.0


def test_warmup_linear_from_start():
    s = S.Warmup(0.5, warmup_steps=4, start_learning_rate=0.1)
    check(s, {0: 0.1 + 0.4 * 1 / 4, 1: 0.3, 2: 0.1 + 0.4 * 3 / 4, 3: 0.5, 100: 0.5})


def test_warmup_exponential():
    s = S.Warmup(S.StepDecay(1.0, 10), warmup_steps=4, start_learning_rate=1e-4,
                 mode="exponential")
    check(s, {0: 1e-4 * (1e4) ** 0.25, 1: 1e-2, 2: 1e-4 * (1e4) ** 0.75, 3: 1.0, 4: 1.0,
              14: 0.5})


def test_cyclical_triangular_formula():
    s = S.CyclicalLearningRate(1.0, 3.0, step_size=5)
    check(s, {0: 1.0, 1: 1.4, 5: 3.0, 8: 1.8, 10: 1.0, 15: 3.0, 1002: 1.8})
    asym = S.CyclicalLearningRate(0.0, 1.0, step_size=2, step_size_down=8)
    check(asym, {0: 0.0, 1: 0.5, 2: 1.0, 6: 0.5, 10: 0.0, 12: 1.0})


# Lists from torch 2.13 CyclicLR(SGD, base_lr=0.001, max_lr=0.006, cycle_momentum=False),
# read from optimizer.param_groups[0]["lr"] before each of the first scheduler.step() calls.
TORCH_CYCLIC = {
    "triangular": (dict(step_size=4), [
        0.001, 0.0022500000000000003, 0.0035, 0.00475, 0.006, 0.00475, 0.0035,
        0.0022500000000000003, 0.001, 0.0022500000000000003, 0.0035, 0.00475, 0.006]),
    "triangular2": (dict(step_size=3, step_size_down=5), [
        0.001, 0.0026666666666666666, 0.004333333333333333, 0.006, 0.005, 0.004, 0.003, 0.002,
        0.001, 0.0018333333333333333, 0.0026666666666666666, 0.0035, 0.003, 0.0025, 0.002,
        0.0015, 0.001, 0.0014166666666666668, 0.0018333333333333333, 0.0022500000000000003,
        0.002, 0.00175, 0.0015, 0.00125, 0.001, 0.0012083333333333334]),
    "exp_range": (dict(step_size=4, gamma=0.9), [
        0.001, 0.002125, 0.0030250000000000003, 0.00373375, 0.0042805, 0.0032143375,
        0.0023286025, 0.0015978711250000002, 0.001, 0.00148427561125, 0.0018716961002500003,
        0.0021767897353375002, 0.0024121476824050005, 0.0019531996856233754,
        0.0015719198113740252, 0.0012573639151183115, 0.001, 0.0012084647712458322]),
}


@pytest.mark.parametrize("mode", sorted(TORCH_CYCLIC))
def test_cyclical_matches_torch(mode):
    kwargs, expected = TORCH_CYCLIC[mode]
    s = S.CyclicalLearningRate(0.001, 0.006, mode=mode, **kwargs)
    np.testing.assert_allclose(s.values(len(expected)), expected, rtol=1e-12, atol=0)


def test_one_cycle_formula():
    s = S.OneCycle(1.0, total_steps=11, pct_start=0.5, div_factor=10.0, final_div_factor=100.0)
    # phase 1: steps 0..4.5 from 0.1 to 1; phase 2: steps 4.5..10 from 1 to 0.001
    anneal = lambda a, b, pct: b + (a - b) / 2 * (1 + math.cos(math.pi * pct))  # noqa: E731
    check(s, {0: 0.1, 2: anneal(0.1, 1.0, 2 / 4.5), 5: anneal(1.0, 0.001, 0.5 / 5.5),
              10: 0.001, 11: 0.001, 500: 0.001})
    lin = S.OneCycle(1.0, total_steps=11, pct_start=0.5, anneal_strategy="linear")
    check(lin, {0: 0.04, 3: 0.04 + 0.96 * 3 / 4.5, 7: 1.0 + (0.04e-4 - 1.0) * 2.5 / 5.5})


# Lists from torch 2.13 OneCycleLR(SGD, max_lr=0.1, ...), one value per update.
TORCH_ONE_CYCLE = [
    (dict(total_steps=20), [
        0.0040000000000000036, 0.013167184270002533, 0.037167184270002526,
        0.06683281572999747, 0.09083281572999748, 0.1, 0.09874640062350874,
        0.09504846320134738, 0.089091617757105, 0.0811745653949763, 0.07169430017913009,
        0.06112620219362893, 0.0500002, 0.03887419780637107, 0.028306099820869922,
        0.0188258346050237, 0.010908782242895003, 0.004951936798652629,
        0.0012539993764912555, 4e-07]),
    (dict(total_steps=20, pct_start=0.25, anneal_strategy="linear", div_factor=10.0,
          final_div_factor=100.0), [
        0.01, 0.0325, 0.05500000000000001, 0.0775, 0.1, 0.09334, 0.08668000000000001,
        0.08002000000000001, 0.07336000000000001, 0.06670000000000001, 0.06004,
        0.053380000000000004, 0.046720000000000005, 0.040060000000000005, 0.03340000000000001,
        0.026740000000000014, 0.02008, 0.013420000000000001, 0.006760000000000002,
        0.00010000000000000286]),
    (dict(total_steps=10, pct_start=0.05), [  # pct_start * total_steps < 1: no warm-up
        0.09931806789787544, 0.09397371166557421, 0.08386414312497274, 0.07008489089356355,
        0.05412915075774753, 0.037725974740057476, 0.022652901483510294,
        0.010543332358282207, 0.0027095270784166085, 4e-07]),
]


@pytest.mark.parametrize("kwargs,expected", TORCH_ONE_CYCLE)
def test_one_cycle_matches_torch_and_holds_past_the_end(kwargs, expected):
    s = S.OneCycle(0.1, **kwargs)
    np.testing.assert_allclose(s.values(len(expected)), expected, rtol=1e-12, atol=0)
    total = kwargs["total_steps"]
    assert s(total) == s(total + 1) == s(10 * total) == s(total - 1)


def test_sequential_restarts_each_counter():
    warm, cos = S.Warmup(0.1, 100), S.CosineDecay(0.1, 1000)
    s = S.SequentialSchedule([warm, 0.1, cos], boundaries=[100, 500])
    check(s, {0: warm(0), 99: warm(99), 100: 0.1, 499: 0.1, 500: 0.1, 1000: cos(500),
              1500: 0.0, 5000: 0.0})
    assert isinstance(s.schedules[1], S.Constant)


# --- properties over parameters ---


def non_increasing(v):
    return bool(np.all(np.diff(v) <= 1e-14 * np.max(v)))


rates = st.floats(1e-5, 10.0)
small_ints = st.integers(1, 60)


@FAST
@given(rates, small_ints, st.floats(0.01, 1.0), st.booleans())
def test_exponential_never_rises(lr0, decay_steps, decay_rate, staircase):
    s = S.ExponentialDecay(lr0, decay_steps, decay_rate, staircase)
    assert non_increasing(s.values(150))


@FAST
@given(rates, small_ints, st.floats(0.0, 5.0), st.booleans())
def test_inverse_time_never_rises(lr0, decay_steps, decay_rate, staircase):
    assert non_increasing(S.InverseTimeDecay(lr0, decay_steps, decay_rate, staircase).values(150))


@FAST
@given(rates, small_ints, st.floats(0.0, 4.0))
def test_power_decay_never_rises(lr0, decay_steps, power):
    assert non_increasing(S.PowerDecay(lr0, decay_steps, power).values(150))


@FAST
@given(rates, small_ints, st.floats(0.01, 1.0))
def test_step_decay_never_rises(lr0, step_size, drop):
    assert non_increasing(S.StepDecay(lr0, step_size, drop).values(150))


@FAST
@given(rates, small_ints, st.floats(0.0, 1.0), st.floats(0.1, 4.0))
def test_polynomial_decay_never_rises_to_its_end(lr0, decay_steps, end_frac, power):
    s = S.PolynomialDecay(lr0, decay_steps, end_learning_rate=lr0 * end_frac, power=power)
    v = s.values(decay_steps + 20)
    assert non_increasing(v)
    assert close(v[-1], lr0 * end_frac)


@FAST
@given(rates, small_ints, st.floats(0.0, 1.0))
def test_cosine_decay_never_rises_and_moves_smoothly(lr0, decay_steps, alpha):
    v = S.CosineDecay(lr0, decay_steps, alpha=alpha).values(decay_steps + 20)
    assert non_increasing(v)
    # |d lr / d step| <= lr0 * (1 - alpha) * pi / (2 * decay_steps)
    bound = lr0 * (1 - alpha) * math.pi / (2 * decay_steps)
    assert np.max(np.abs(np.diff(v))) <= bound * (1 + 1e-9) + 1e-14 * lr0


@FAST
@given(rates, st.integers(1, 30), st.integers(1, 30), st.floats(0.0, 1.0))
def test_cosine_warmup_is_continuous_at_the_switch(target, warmup_steps, decay_steps, frac):
    s = S.CosineDecay(target * frac, decay_steps, warmup_target=target,
                      warmup_steps=warmup_steps)
    w = warmup_steps
    assert close(s(w), target)
    # the warm-up's last step is one w-th of the way below the target (plus rounding)
    assert abs(s(w) - s(w - 1)) <= abs(target - target * frac) / w * (1 + 1e-9) + 4e-16 * target


@FAST
@given(st.floats(1e-4, 1.0), st.integers(1, 200), st.floats(0.0, 1.0),
       st.sampled_from(["cos", "linear"]))
def test_one_cycle_rises_then_falls(max_lr, total_steps, pct_start, anneal):
    s = S.OneCycle(max_lr, total_steps, pct_start=pct_start, anneal_strategy=anneal)
    v = s.values(total_steps + 5)
    peak = int(np.argmax(v))
    assert np.all(np.diff(v[: peak + 1]) >= -1e-15) and non_increasing(v[peak:])
    assert np.max(v) <= max_lr * (1 + 1e-12)
    assert close(v[-1], max_lr / 25.0 / 1e4) or total_steps == 1 or pct_start == 1.0


@FAST
@given(st.floats(1e-4, 1.0), st.floats(1e-4, 1.0), st.integers(1, 20), st.integers(1, 20),
       st.sampled_from(["triangular", "triangular2", "exp_range"]))
def test_cyclical_stays_between_base_and_max(a, b, up, down, mode):
    base, top = min(a, b), max(a, b)
    v = S.CyclicalLearningRate(base, top, up, down, mode=mode, gamma=0.99).values(200)
    assert np.all(v >= base * (1 - 1e-12)) and np.all(v <= top * (1 + 1e-12))
    assert close(v[0], base)
    assert close(v[up], top if mode != "exp_range" else base + (top - base) * 0.99 ** up)


@FAST
@given(rates, st.integers(1, 50), st.floats(0.0, 1.0), st.sampled_from(["linear", "exponential"]))
def test_warmup_rises_to_target_at_update_w(target, w, start_frac, mode):
    start = target * start_frac if mode == "linear" else max(target * start_frac, 1e-6)
    s = S.Warmup(S.ExponentialDecay(target, 10, 0.5), w, start_learning_rate=start, mode=mode)
    v = s.values(w)
    assert v[0] > 0.0
    assert close(v[-1], target) and close(s(w), target)
    if start <= target:
        assert np.all(np.diff(v) >= -1e-15 * target)


# --- the generic contract ---

ALL = [
    S.Constant(0.1),
    S.ExponentialDecay(0.1, 10, 0.5, staircase=True),
    S.InverseTimeDecay(0.1, 10, 0.5),
    S.PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01]),
    S.PolynomialDecay(0.1, 30, cycle=True),
    S.CosineDecay(0.0, 30, alpha=0.1, warmup_target=0.2, warmup_steps=5),
    S.CosineDecayRestarts(0.1, 7, t_mul=1.5, m_mul=0.8, alpha=0.01),
    S.PowerDecay(0.1, 10, 0.5),
    S.StepDecay(0.1, 7, 0.3),
    S.Warmup(S.CosineDecay(0.1, 50), 10, start_learning_rate=1e-3, mode="exponential"),
    S.CyclicalLearningRate(0.01, 0.1, 4, 6, mode="triangular2"),
    S.OneCycle(0.1, 40, anneal_strategy="linear"),
    S.SequentialSchedule([S.Warmup(0.1, 5), S.StepDecay(0.1, 10)], [5]),
]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_values_equal_calls_one_by_one(schedule):
    v = schedule.values(100)
    assert v.dtype == np.float64 and v.shape == (100,)
    assert v.tolist() == [schedule(i) for i in range(100)]
    assert schedule.values(0).shape == (0,)


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_config_round_trips_through_json_and_get(schedule):
    blob = json.loads(json.dumps(S.serialize(schedule)))
    again = S.get(blob)
    assert type(again) is type(schedule)
    assert again.get_config() == schedule.get_config()
    assert repr(again) == repr(schedule)
    assert again.values(80).tolist() == schedule.values(80).tolist()


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_describe_names_first_last_and_extremes(schedule):
    text = schedule.describe(60)
    assert text.startswith(repr(schedule))
    assert "first update (step 0)" in text and "last update (step 59)" in text
    assert "smallest" in text and "largest" in text and "shape:" in text


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_pure_function_of_the_step(schedule):
    forward = [schedule(i) for i in range(30)]
    backward = [schedule(i) for i in reversed(range(30))][::-1]
    assert forward == backward


def test_get_accepts_floats_and_schedules():
    assert isinstance(S.get(0.01), S.Constant) and S.get(0.01)(5) == 0.01
    assert S.get(3)(0) == 3.0
    s = S.StepDecay(0.1, 5)
    assert S.get(s) is s
    with pytest.raises(TypeError, match="identifier"):
        S.get("adam")
    with pytest.raises(ValueError, match="class_name"):
        S.get({"class_name": "NoSuchDecay", "config": {}})


def test_repr_is_readable():
    s = S.ExponentialDecay(0.1, 100, 0.5)
    assert repr(s) == ("ExponentialDecay(initial_learning_rate=0.1, decay_steps=100, "
                       "decay_rate=0.5, staircase=False)")


# --- describe(): the traps in words ---


def test_describe_warns_about_a_zero_first_update():
    text = S.PolynomialDecay(0.0, 100, end_learning_rate=0.1).describe(50)
    assert "WARNING: the first update (step 0) uses a rate of exactly 0" in text
    keras_warm = S.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10).describe(50)
    assert "rate of exactly 0" in keras_warm
    assert "exactly 0" not in S.Warmup(0.1, 10).describe(50)


def test_describe_warns_when_the_horizon_is_shorter_than_the_run():
    text = S.OneCycle(0.1, total_steps=100).describe(300)
    assert "horizon (total_steps=100) is shorter than the run" in text
    assert "last 200 of 300 updates" in text and "holds min_lr" in text
    assert "shorter than the run" not in S.OneCycle(0.1, total_steps=300).describe(300)
    cos = S.CosineDecay(0.1, 100).describe(1000)
    assert "horizon (decay_steps=100) is shorter" in cos
    assert "use a rate of exactly 0" in cos


def test_describe_states_the_piecewise_off_by_one_with_numbers():
    text = S.PiecewiseConstantDecay([100], [0.1, 0.01]).describe(500)
    assert "step 100 still uses values[0]=0.1" in text
    assert "values[1]=0.01 first applies at step 101" in text
    assert "use boundary 99" in text


def test_describe_staircase_and_step_decay_jumps():
    text = S.ExponentialDecay(0.1, 100, 0.5, staircase=True).describe(500)
    assert "first, to 0.05, applies at step 100 (update number 101)" in text
    assert "applies at step 30 (update number 31)" in S.StepDecay(0.1, 30).describe(100)
    assert "never changes in this run" in S.StepDecay(0.1, 300).describe(100)


def test_describe_shapes():
    assert "stays flat" in S.Constant(0.1).describe(10)
    assert "only decreases" in S.PowerDecay(0.1, 10).describe(50)
    assert "rises to its peak" in S.OneCycle(0.1, 50).describe(50)
    text = S.CosineDecayRestarts(0.1, 10).describe(100)
    assert "non-monotone" in text and "restarts at steps 10, 30, 70" in text
    assert "non-monotone" in S.CyclicalLearningRate(0.01, 0.1, 5).describe(30)


def test_describe_warmup_and_sequential_notes():
    text = S.Warmup(0.1, 20).describe(10)
    assert "run ends during the warm-up" in text
    assert "reaches target=0.1 at step 19 (update number 20)" in S.Warmup(0.1, 20).describe(40)
    seq = S.SequentialSchedule([0.1, 0.01], [10]).describe(30)
    assert "from step 10: schedules[1] = Constant" in seq and "jumps from 0.1 to 0.01" in seq
    assert "ignored because warmup_target is None" in S.CosineDecay(0.1, 10,
                                                                    warmup_steps=5).describe(20)


# --- bad input ---

BAD = [
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), ValueError, "decay_steps"),
    (lambda: S.ExponentialDecay(0.1, 10.0, 0.5), TypeError, "decay_steps"),
    (lambda: S.ExponentialDecay(-0.1, 10, 0.5), ValueError, "initial_learning_rate"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.0), ValueError, "decay_rate"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.5, staircase="yes"), TypeError, "staircase"),
    (lambda: S.InverseTimeDecay(0.1, -5, 0.5), ValueError, "decay_steps"),
    (lambda: S.Constant(float("nan")), ValueError, "learning_rate"),
    (lambda: S.Constant(float("inf")), ValueError, "learning_rate"),
    (lambda: S.Constant(-1e-3), ValueError, "learning_rate"),
    (lambda: S.PiecewiseConstantDecay([10, 10], [1.0, 0.5, 0.1]), ValueError, "boundaries"),
    (lambda: S.PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1]), ValueError, "boundaries"),
    (lambda: S.PiecewiseConstantDecay([10], [1.0, 0.5, 0.1]), ValueError, "values"),
    (lambda: S.PiecewiseConstantDecay([10], [1.0, -0.5]), ValueError, r"values\[1\]"),
    (lambda: S.PolynomialDecay(0.1, 0), ValueError, "decay_steps"),
    (lambda: S.PolynomialDecay(0.1, 10, end_learning_rate=-1.0), ValueError, "end_learning"),
    (lambda: S.CosineDecay(0.1, 10, alpha=1.5), ValueError, "alpha"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=-0.1, warmup_steps=3), ValueError,
     "warmup_target"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-3), ValueError,
     "warmup_steps"),
    (lambda: S.CosineDecayRestarts(0.1, 0), ValueError, "first_decay_steps"),
    (lambda: S.CosineDecayRestarts(0.1, 10, t_mul=0.5), ValueError, "t_mul"),
    (lambda: S.PowerDecay(0.1, 0), ValueError, "decay_steps"),
    (lambda: S.StepDecay(0.1, 0), ValueError, "step_size"),
    (lambda: S.StepDecay(0.1, 10, drop=0.0), ValueError, "drop"),
    (lambda: S.Warmup(0.1, 0), ValueError, "warmup_steps"),
    (lambda: S.Warmup(0.1, 10, mode="cubic"), ValueError, "mode"),
    (lambda: S.Warmup(0.1, 10, start_learning_rate=0.0, mode="exponential"), ValueError,
     "start_learning_rate"),
    (lambda: S.Warmup("fast", 10), TypeError, "schedule_or_float"),
    (lambda: S.CyclicalLearningRate(0.1, 0.01, 10), ValueError, "max_learning_rate"),
    (lambda: S.CyclicalLearningRate(0.01, 0.1, 0), ValueError, "step_size"),
    (lambda: S.CyclicalLearningRate(0.01, 0.1, 10, step_size_down=0), ValueError,
     "step_size_down"),
    (lambda: S.CyclicalLearningRate(0.01, 0.1, 10, mode="sine"), ValueError, "mode"),
    (lambda: S.OneCycle(0.1, 0), ValueError, "total_steps"),
    (lambda: S.OneCycle(0.1, 100, pct_start=1.5), ValueError, "pct_start"),
    (lambda: S.OneCycle(0.1, 100, anneal_strategy="cosine"), ValueError, "anneal_strategy"),
    (lambda: S.SequentialSchedule([0.1, 0.2], [10, 20]), ValueError, "boundaries"),
    (lambda: S.SequentialSchedule([0.1, 0.2, 0.3], [20, 10]), ValueError, "boundaries"),
    (lambda: S.SequentialSchedule([0.1, 0.2], [0]), ValueError, "boundaries"),
    (lambda: S.SequentialSchedule([], []), ValueError, "schedules"),
    (lambda: S.SequentialSchedule([0.1, "x"], [5]), TypeError, r"schedules\[1\]"),
]


@pytest.mark.parametrize("make,error,name", BAD, ids=[b[2] for b in BAD])
def test_bad_arguments_name_themselves(make, error, name):
    with pytest.raises(error, match=name):
        make()


@pytest.mark.parametrize("step,error", [(-1, ValueError), (1.5, TypeError), (2.0, TypeError),
                                        (True, TypeError), ("3", TypeError)])
def test_bad_steps(step, error):
    with pytest.raises(error, match="step"):
        S.ExponentialDecay(0.1, 10, 0.5)(step)


HUGE_INTS = [
    (lambda n: S.ExponentialDecay(0.1, n, 0.5), "decay_steps"),
    (lambda n: S.InverseTimeDecay(0.1, n, 0.5), "decay_steps"),
    (lambda n: S.PiecewiseConstantDecay([n], [0.1, 0.01]), r"boundaries\[0\]"),
    (lambda n: S.PolynomialDecay(0.1, n), "decay_steps"),
    (lambda n: S.CosineDecay(0.1, n), "decay_steps"),
    (lambda n: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=n), "warmup_steps"),
    (lambda n: S.CosineDecayRestarts(0.1, n), "first_decay_steps"),
    (lambda n: S.PowerDecay(0.1, n), "decay_steps"),
    (lambda n: S.StepDecay(0.1, n), "step_size"),
    (lambda n: S.Warmup(0.1, n), "warmup_steps"),
    (lambda n: S.CyclicalLearningRate(0.01, 0.1, n), "step_size"),
    (lambda n: S.CyclicalLearningRate(0.01, 0.1, 10, step_size_down=n), "step_size_down"),
    (lambda n: S.OneCycle(0.1, n), "total_steps"),
    (lambda n: S.SequentialSchedule([0.1, 0.2], [n]), r"boundaries\[0\]"),
]


@pytest.mark.parametrize("make,name", HUGE_INTS, ids=[b[1] for b in HUGE_INTS])
def test_integer_arguments_are_bounded(make, name):
    # 2**2000 passed the checks, and a float() of it raised a bare OverflowError later
    make(2**53)  # the largest accepted
    for n in (2**53 + 1, 2**2000):
        with pytest.raises(ValueError, match=rf"{name} must be at most 2\*\*53"):
            make(n)


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_steps_are_bounded(schedule):
    assert math.isfinite(schedule(2**53))
    for step in (2**53 + 1, 2**2000):
        with pytest.raises(ValueError, match=r"step must be at most 2\*\*53"):
            schedule(step)


def test_numpy_integer_steps_work():
    assert S.StepDecay(0.1, 10)(np.int64(25)) == S.StepDecay(0.1, 10)(25)


def test_subclass_returning_a_bad_rate_is_caught():
    class Bad(S.Schedule):
        def rate(self, step):
            return 0.1 if step < 3 else -0.5

    class KerasStyle(S.Schedule):  # overrides __call__, as one would in Keras
        def __call__(self, step):
            return float("nan") if step == 2 else 1.0 / (step + 1)

    assert Bad()(2) == 0.1
    with pytest.raises(ValueError, match=r"step 3 is -0\.5"):
        Bad()(3)
    assert KerasStyle()(1) == 0.5
    with pytest.raises(ValueError, match="step 2 is nan"):
        KerasStyle()(2)
    with pytest.raises(ValueError, match="step"):
        KerasStyle()(-1)


# --- plot.schedules ---


def test_plot_schedules_returns_a_figure():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from tinynet import plot

    fig = plot.schedules([S.CosineDecay(0.1, 50), 0.05], 60, labels=["cos", "flat"], log=True)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["cos", "flat"]
    assert ax.get_xlabel() == "update (step)" and ax.get_ylabel() == "learning rate"
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), np.full(60, 0.05))


def test_plot_schedules_draws_into_a_given_axes_and_checks_input():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from tinynet import plot

    fig = Figure()
    ax = fig.add_subplot()
    assert plot.schedules(S.StepDecay(0.1, 5), 20, ax=ax) is fig
    assert len(ax.get_lines()) == 1
    with pytest.raises(TypeError, match=r"schedules\[1\]"):
        plot.schedules([0.1, "cosine"], 10)
    with pytest.raises(ValueError, match="labels"):
        plot.schedules([0.1, 0.2], 10, labels=["one"])
    with pytest.raises(ValueError, match="num_steps"):
        plot.schedules(0.1, 0)
