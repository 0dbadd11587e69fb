"""The sentences of REPORT.md that explain: each is computed from the numbers it is given.

Every function takes plain measured numbers (counts, medians, rates) and
chooses its words by comparing them, so the text changes when the numbers do
(tests/test_reproduce_sentences.py calls them with made-up numbers). Counts
are "k of n [lo%, hi%]" with the Wilson 95% interval; two counts are called
different only when their intervals do not overlap.
"""

import math

from tinynet.metrics import wilson_interval


def count_ci(k, n):
    """'k of n [lo%, hi%]': a count with its Wilson 95% interval."""
    lo, hi = wilson_interval(k, n)
    return f"{k} of {n} [{lo:.0%}, {hi:.0%}]"


def distinguishable(k_a, n_a, k_b, n_b):
    """True when the Wilson 95% intervals of k_a/n_a and k_b/n_b do not overlap."""
    lo_a, hi_a = wilson_interval(k_a, n_a)
    lo_b, hi_b = wilson_interval(k_b, n_b)
    return hi_a < lo_b or hi_b < lo_a


def more_often(k_a, n_a, k_b, n_b):
    """True when k_a/n_a is above k_b/n_b beyond the intervals."""
    return distinguishable(k_a, n_a, k_b, n_b) and k_a / n_a > k_b / n_b


def compare_counts(name_a, k_a, n_a, name_b, k_b, n_b, what="fit"):
    """One sentence on two counts: 'not distinguishable' when the 95% intervals overlap."""
    a, b = f"{name_a}: {count_ci(k_a, n_a)}", f"{name_b}: {count_ci(k_b, n_b)}"
    if not distinguishable(k_a, n_a, k_b, n_b):
        return (f"{name_a} and {name_b} are not distinguishable here ({a}; {b} seeds {what}): "
                "the 95% intervals overlap, so this run does not show a threshold between them.")
    more, less = (name_a, name_b) if k_a / n_a > k_b / n_b else (name_b, name_a)
    return (f"{more} {what} more often than {less} ({a}; {b} seeds), and the 95% intervals "
            "do not overlap.")


def rates_text(rates):
    return ", ".join(f"{r:g}" for r in rates) if rates else "none"


# --- Q1, too low ------------------------------------------------------------------------
def low_rate_sentence(rate, one_class, seeds, epochs, updates, output_spread, share_gap,
                      init=None, kernel_change=None):
    """Why the too-low rate predicts one class (or what it did instead), after `epochs`.

    init: the diagnostics at init (input_rms, activation_rms per layer, the
    output last, kernel_grad and bias_grad per layer), None to leave out the
    clauses that read them; kernel_change: the kernels' relative change per
    layer over the run, None to leave it out.
    """
    if 2 * one_class <= seeds:
        return (f"at {rate:g}, {one_class} of {seeds} runs predict a single class after "
                f"{epochs} epochs, so this run does not show the plateau the post saw "
                f"({updates} updates per run; see the table for what they did).")
    change = [v for v in kernel_change or () if v is not None and math.isfinite(v)]
    moved = f" (the kernels moved by at most {max(change):.2g} of their size)" if change else ""
    head = (f"at {rate:g} every step is small, so in {updates} updates{moved} the network does "
            f"not leave its starting plateau ({one_class} of {seeds} runs predict a single class "
            f"after {epochs} epochs)")
    return f"{head}: {_low_signal(init)}{_low_output(output_spread, share_gap, init)}."


def _low_signal(init):
    """'the signal reaching the output is tiny (...), ' where the numbers say so, else its size."""
    if init is None:
        return ""
    last, inputs = init["activation_rms"][-2], init["input_rms"]
    size = f"rms {last:.2g} at init against {inputs:.2g} for the inputs"
    if last < 0.01 * inputs:
        return f"the signal reaching the output is tiny ({size}), "
    return f"the signal reaching the output is not small ({size}), "


def _low_output(output_spread, share_gap, init):
    """What the output does on the plateau: flat or not, the class shares or not."""
    flat = output_spread is not None and output_spread < 1e-3
    shares = share_gap is not None and share_gap < 0.02
    how = (f"the output barely depends on the input (its probabilities vary across the "
           f"points by at most {output_spread:.1g})" if flat else
           f"the output still depends on the input (its probabilities vary across the points "
           f"by up to {output_spread:.2g})")
    if not shares:
        off = "" if share_gap is None else f" (off by {share_gap:.2g})"
        return f"{how}, but the mean probabilities are not the class shares{off}"
    who = "the output layer"
    if init is not None:
        bias, kernel = init["bias_grad"][-1], max(init["kernel_grad"])
        if bias > 10 * kernel:
            who = (f"the output bias, whose gradient at init ({bias:.2g}) is {bias / kernel:.0f} "
                   f"times the largest kernel's ({kernel:.2g}),")
    return (f"{how}, and the mean probabilities equal the class shares of the training part "
            f"(within {share_gap:.2g}): {who} has learned how common each class is, so every "
            "point gets the most common class")


def horizon_low_sentence(rate, fit_short, fit_long, seeds, epochs, long_epochs,
                         updates_per_epoch, lr_times_epochs, lowest_rate, escaped=None):
    """Is the too-low rate slow or stuck? The same runs at a longer budget decide.

    escaped: (runs that left the plateau, runs) behind lr_times_epochs, or None.
    """
    c = lr_times_epochs
    did = ("the runs that did" if escaped is None else
           f"the {escaped[0]} of {escaped[1]} runs that did")
    pace = ("" if c is None else
            f" Runs leave the plateau after lr x epochs = {c:.3g} (median over {did}), so "
            f"{lowest_rate:g} would need about {c / lowest_rate * updates_per_epoch:.3g}"
            f" updates ({c / lowest_rate:.0f} epochs here).")
    short, long_ = count_ci(fit_short, seeds), count_ci(fit_long, seeds)
    if more_often(fit_long, seeds, fit_short, seeds):
        updates = long_epochs * updates_per_epoch
        return (f"Too low is slow, not stuck: the same runs at {rate:g} fit {short} after "
                f"{epochs} epochs and {long_} after {long_epochs} ({updates} updates).{pace}")
    return (f"A longer budget does not change it here: at {rate:g}, {short} fit after {epochs} "
            f"epochs and {long_} after {long_epochs}, so this run does not show that the rate is "
            f"merely slow.{pace}")


# --- Q1, too high ------------------------------------------------------------------------
def divergence_sentence(rate, diverged, runs):
    """Too high, the first thing to rule in or out: did the loss blow up to NaN/inf?"""
    if not diverged:
        return f"Too high: no run's loss became NaN or infinite at {rate:g} (0 of {runs})."
    return (f"Too high: the loss of {count_ci(diverged, runs)} runs at {rate:g} became NaN or "
            "infinite: their steps made it grow until the numbers overflowed.")


def failure_timing_sentence(rate, died_before_fit, fitted_then_lost, never_fit_alive,
                            failed, median_death_epoch, death_layer, val_acc_at_death=None):
    """Did the failures at `rate` overshoot a minimum (fit, then lost it) or die first?

    val_acc_at_death: the median validation accuracy of the runs that died
    before fitting, at the check where their layer was found dead.
    """
    if failed == 0:
        return f"At {rate:g} no run failed, so there is nothing to time."
    where = ""
    if val_acc_at_death is not None:
        where = (f", while they were still near chance (median validation accuracy "
                 f"{val_acc_at_death:.2f} then) and no minimum had been reached to overshoot"
                 if val_acc_at_death < 0.4 else
                 f", after they had learned part of the task (median validation accuracy "
                 f"{val_acc_at_death:.2f} then)")
    died = (f"{count_ci(died_before_fit, failed)} failed runs lost a whole hidden layer (most "
            f"often layer {death_layer}, median by epoch {median_death_epoch:g}) before they ever "
            f"fitted{where}" if died_before_fit else
            "no failed run lost a whole layer before fitting")
    lost = f"{count_ci(fitted_then_lost, failed)} fitted and then lost it"
    rest = f"; {never_fit_alive} never fitted with every layer alive" if never_fit_alive else ""
    most = "Most" if 2 * max(died_before_fit, fitted_then_lost) > failed else "More"
    if died_before_fit != fitted_then_lost and not distinguishable(
            died_before_fit, failed, fitted_then_lost, failed):
        return (f"At {rate:g} neither way of failing is clearly the more common: {died}; "
                f"{lost}{rest}; the two counts' intervals overlap.")
    if died_before_fit > fitted_then_lost:
        return (f"{most} failures at {rate:g} died than overshot: {died}; {lost}, the pattern "
                f"overshooting would leave{rest}.")
    if fitted_then_lost > died_before_fit:
        return (f"{most} failures at {rate:g} look like overshooting: {lost} (they reached a "
                f"good fit, then the steps threw them out of it); {died}{rest}.")
    if died_before_fit == 0:
        return (f"At {rate:g} none of the {failed} failed runs lost a layer before fitting or "
                f"fitted first: {never_fit_alive} never fitted with every layer alive.")
    return f"At {rate:g} the failures split evenly: {died}; {lost}{rest}."


def overshoot_sentence(rate, good, before_fit, before_good, before_death, after_fit,
                       after_good, points):
    """Is `rate` overshooting? Answered from counts of measured steps.

    Each count is [steps past the line's minimum, steps measured, median
    1/t_min]. A step theta -> theta - lr g overshoots along its own line when
    the loss along theta - t lr g is smallest at some t_min < 1
    (tn.diagnostics.step_overshoot).
    """
    def share(c):
        return f"{c[0]} of {c[1]} steps" + (f" ({c[0] / c[1]:.0%})" if c[1] else "")

    head = (f"Measured directly, along each step's own line (the loss on {points} training "
            "points along theta - t lr g, t in [0, 2], where t = 1 is the step taken): before "
            f"the runs fitted, {share(before_fit)} at {rate:g} land past the line's minimum, "
            f"against {share(before_good)} at {good:g}")
    died = (f"; in the runs that lost a layer before fitting, {share(before_death)} taken "
            "before the layer died" if before_death[1] else "")
    after = (f". After fitting, {share(after_fit)} at {rate:g} and {share(after_good)} at "
             f"{good:g} overshoot" if after_fit[1] else "")
    ratio = before_fit[2]
    size = "" if ratio is None else (
        " (median 1/t_min at most 0.5: the line's minimum lies at or beyond twice the step)"
        if ratio <= 0.5 + 1e-9 else
        f" (median 1/t_min, lr x curvature along the step: {ratio:.2g}; 1 lands on the "
        "minimum, 2 climbs back to the start)")
    text = head + died + after + size + "."
    if not before_fit[1]:
        return text + " No step was measured before fitting."
    if 2 * before_fit[0] < before_fit[1]:
        verdict = (f" So before it fits, {rate:g} mostly does not overshoot: its steps stop "
                   "short of the minimum along their line")
    else:
        verdict = (f" So {rate:g} does overshoot: most of its steps before fitting land past "
                   "the minimum along their line")
    if not before_death[1]:  # no run lost a layer before fitting: nothing to say of deaths
        return text + verdict + "."
    if 2 * before_death[0] < before_death[1]:
        return text + verdict + ", and the layers that die, die without an overshoot."
    return (text + verdict + f"; but most of the steps taken before a layer died land past "
            f"it ({share(before_death)}): those deaths follow overshooting steps.")


def overshoot_short(rate, before_fit):
    """One clause for the summary: how many steps at `rate` overshoot before fitting."""
    k, n = before_fit[0], before_fit[1]
    if not n:
        return f"No step at {rate:g} was measured before fitting."
    verdict = "so it is not overshooting then" if 2 * k < n else "so it is overshooting then"
    return (f"Measured along each step's own line, {k} of {n} steps at {rate:g} ({k / n:.0%}) "
            f"land past the minimum before the runs fit, {verdict}.")


def kill_short(rate, dead_plain, dead_warm, fit_plain, fit_warm, runs, slopes, leaky_fits):
    """One sentence for the summary: what the warm-up and LeakyReLU runs say at `rate`."""
    def ci(k):
        return count_ci(k, runs)

    fits = f"({ci(fit_plain)} -> {ci(fit_warm)})"
    if more_often(dead_plain, runs, dead_warm, runs):
        warm = (f"a warm-up over the early steps cuts the runs with a dead layer at {rate:g} from "
                f"{ci(dead_plain)} to {ci(dead_warm)}, so the early rate-sized steps kill them, "
                + (f"and more runs fit {fits}" if more_often(fit_warm, runs, fit_plain, runs)
                   else f"but no more runs fit {fits}"))
    else:
        warm = (f"a warm-up over the early steps does not measurably change the runs with a dead "
                f"layer at {rate:g} ({ci(dead_plain)} -> {ci(dead_warm)})")
    helped = [a for a, k in zip(slopes, leaky_fits) if more_often(k, runs, fit_plain, runs)]
    leak = ", ".join(f"slope {a:g}: {ci(k)}" for a, k in zip(slopes, leaky_fits))
    units = (f"units that can come back help: LeakyReLU fits {leak} against {ci(fit_plain)} "
             "with ReLU" if helped else
             f"LeakyReLU does not fit measurably more ({leak} against {ci(fit_plain)})")
    return f"What kills the units: {warm}; {units}."


def q2_short(rate, fits, runs, he_rate, he_raw, he_std):
    """One sentence for the summary: what standardising changes, by the scale swap and He."""
    def same(a, b):
        return not distinguishable(fits[a], runs, fits[b], runs)

    if same("centred", "raw") and same("unit-scale", "standardised"):
        cause = "by shrinking the inputs, not by centring them"
    elif same("centred", "standardised") and same("unit-scale", "raw"):
        cause = "by centring the inputs, not by shrinking them"
    else:
        cause = "by both shrinking and centring the inputs"
    swap = (f"at {rate:g}: centred at the raw scale {count_ci(fits['centred'], runs)}, raw "
            f"centre at unit scale {count_ci(fits['unit-scale'], runs)}")
    counts = (f"{he_rate:g}: raw {count_ci(he_raw, runs)}, standardised "
              f"{count_ci(he_std, runs)}")
    he = (f"with He initialisation standardising helps instead ({counts})"
          if more_often(he_std, runs, he_raw, runs)
          else f"with He initialisation it does not help either ({counts})")
    if same("raw", "standardised"):
        return f"Standardising makes no measurable difference at {rate:g}; {he}."
    return f"With the post's small weights standardising hurts {cause} ({swap}); {he}."


def step_signal_sentence(high, good, ratio_high, ratio_good, signal_rms, input_rms):
    """What kills the units: steps as large as the signal they act on.

    ratio_*: per hidden layer, the median first-epoch shift of a unit's input
    over its spread across the points (measures.first_epoch_shift); signal_rms:
    the rms of each hidden layer's output at init; input_rms: the data's.
    """
    deepest = max(range(len(ratio_high)), key=lambda j: ratio_high[j] or 0.0)
    r_hi, r_good = ratio_high[deepest], ratio_good[deepest]
    layer = deepest + 1
    reaching = signal_rms[deepest - 1] if deepest > 0 else input_rms
    size = (f", because the signal reaching it is small (rms {reaching:.2g} at init, against "
            f"{input_rms:.2g} for the data)" if reaching < 0.01 * input_rms else
            f" (the signal reaching it has rms {reaching:.2g} at init)")
    if r_hi is not None and r_hi >= 1.0:
        head = (f"Rate-sized steps are as large as the signal they act on: in the first epoch at "
                f"{high:g} the input of a layer-{layer} unit moves by {r_hi:.2g} times its spread "
                f"across the points ({r_good:.2g} at {good:g}){size}. A shift that "
                "large can push a unit's whole input range below zero, and then the unit is dead "
                "for every point.")
    else:
        head = (f"The first epoch's steps stay smaller than the signal here: at {high:g} a "
                f"layer-{layer} unit's input moves by {r_hi:.2g} times its spread ({r_good:.2g} "
                f"at {good:g}), so this measure does not show steps large enough to kill units.")
    return head


def warmup_sentence(rates, dead_plain, dead_warm, fit_plain, fit_warm, runs, warmup_updates):
    """The ablation that changes only the early step size: a linear warm-up, rate by rate.

    dead_*, fit_*: per rate, the runs that ended with a dead layer / fitted, of
    `runs` each, plain and with the warm-up.
    """
    counts = "; ".join(
        f"{r:g}: dead layers {count_ci(dp, runs)} plain against {count_ci(dw, runs)} with the "
        f"warm-up, fits {count_ci(fp, runs)} against {count_ci(fw, runs)}"
        for r, dp, dw, fp, fw in zip(rates, dead_plain, dead_warm, fit_plain, fit_warm))
    test = (f"The test that changes only the early steps: the same runs (same seeds, weights "
            f"and batches) with the rate raised linearly from 0 over the first {warmup_updates} "
            f"updates, the same rate afterwards. {counts}.")
    kept = [r for r, dp, dw in zip(rates, dead_plain, dead_warm) if more_often(dp, runs, dw, runs)]
    if not kept:
        fewer = sum(dead_warm) < sum(dead_plain)
        return (test + f" {'Fewer' if fewer else 'No fewer'} layers die with the warm-up, but at "
                f"no rate beyond the intervals, so at {runs} runs per rate this does not show "
                "that the early steps are what kills the units.")
    i = [rates.index(r) for r in kept]
    helped = any(more_often(fit_warm[j], runs, fit_plain[j], runs) for j in i)
    fits = ("and more of those runs fit" if helped else
            "yet no more of them fit: a layer kept alive does not make the rate work")
    return (test + f" At {rates_text(kept)} smaller early steps keep the layers alive, beyond the "
            f"intervals: the early rate-sized steps are what kills them there, {fits}.")


def leaky_sentence(rate, slopes, fits, runs, relu_fit, relu_runs):
    """LeakyReLU with each slope against ReLU at `rate`: does a unit that cannot die help?"""
    parts = "; ".join(f"slope {a:g}: {count_ci(k, runs)}" for a, k in zip(slopes, fits))
    head = (f"A LeakyReLU unit below zero still passes back slope x gradient, so it can come "
            f"back; at {rate:g} (raw) the runs fit {parts}, against {count_ci(relu_fit, relu_runs)}"
            " with ReLU.")
    helped = [a for a, k in zip(slopes, fits) if more_often(k, runs, relu_fit, relu_runs)]
    if helped and len(helped) < len(slopes):
        return (head + f" Only slope {rates_text(helped)} helps beyond the intervals: a unit "
                "that merely cannot die is not enough, its way back must pass enough gradient.")
    if helped:
        return head + " Every slope tried helps beyond the intervals."
    return head + " No slope tried helps beyond the intervals at this many seeds."


# --- Q2 -----------------------------------------------------------------------------------
def window_sentence(raw, standardised, epochs):
    """Which post rates fit for at least half of the seeds, raw against standardised."""
    at = f"after {epochs} epochs"
    if not standardised and not raw:
        return (f"{at.capitalize()} no rate fits for at least half of the seeds, raw or "
                "standardised.")
    if not standardised:
        return (f"{at.capitalize()}, raw, {rates_text(raw)} fit for at least half of the seeds; "
                "standardised, no rate does.")
    if not raw:
        return (f"{at.capitalize()}, raw, no rate fits for half of the seeds; standardised, "
                f"{rates_text(standardised)} do.")
    if sorted(raw) == sorted(standardised):
        return f"{at.capitalize()} the same rates fit, raw and standardised: {rates_text(raw)}."
    return (f"{at.capitalize()}, raw {rates_text(raw)}, standardised {rates_text(standardised)} "
            "fit for at least half of the seeds.")


def scale_swap_sentence(rate, fits, runs):
    """Scale or centring? fits: {"raw", "standardised", "centred", "unit-scale": count}."""
    def same(a, b):
        return not distinguishable(fits[a], runs, fits[b], runs)

    head = (f"Standardising does two things, it centres the inputs and shrinks them to unit "
            f"scale; swapping one at a time at {rate:g}: raw {count_ci(fits['raw'], runs)}, "
            f"centred at the raw scale {count_ci(fits['centred'], runs)}, the raw centre at "
            f"unit scale {count_ci(fits['unit-scale'], runs)}, standardised "
            f"{count_ci(fits['standardised'], runs)}.")
    if same("raw", "standardised"):
        return head + " Raw and standardised do not differ here, so there is nothing to separate."
    if same("centred", "raw") and same("unit-scale", "standardised"):
        return head + " The scale, not the centring, makes the difference."
    if same("centred", "standardised") and same("unit-scale", "raw"):
        return head + " The centring, not the scale, makes the difference."
    return head + " Neither alone reproduces the difference: both play a part."


def horizon_window_sentence(rate, fit_short, fit_long, seeds, epochs, long_epochs,
                            dead_layer_high, failed_high, high):
    """Does the standardised window close, or is it slower? A longer budget decides."""
    short, long_ = count_ci(fit_short, seeds), count_ci(fit_long, seeds)
    absorbing = (f" At {high:g}, {dead_layer_high} of {failed_high} failed runs ended with a "
                 "dead layer, which no budget can undo (it passes back no gradient)."
                 if failed_high else "")
    if more_often(fit_long, seeds, fit_short, seeds):
        return (f"The {epochs}-epoch verdict depends on the budget: standardised, {rate:g} fits "
                f"{short} after {epochs} epochs and {long_} after {long_epochs}; standardising "
                f"slows the small-weight network down rather than closing the window at "
                f"{rate:g}.{absorbing}")
    return (f"A longer budget does not change it: standardised, {rate:g} fits {short} after "
            f"{epochs} epochs and {long_} after {long_epochs}.{absorbing}")


def init_sentence(rates, he_raw, he_std, post_raw, post_std, runs):
    """He against the post's init, raw and standardised: the textbook half of Q2."""
    def row(fits):
        return ", ".join(f"{r:g}: {count_ci(k, runs)}" for r, k in zip(rates, fits))

    head = (f"He initialisation (std sqrt(2/inputs): the signal keeps its size through the "
            f"layers), fit at {rates_text(rates)}: raw {row(he_raw)}; standardised "
            f"{row(he_std)}; the post's init: raw {row(post_raw)}; standardised {row(post_std)}.")
    hi_raw, hi_std = he_raw[-1], he_std[-1]
    hurt = [r for r, a, b in zip(rates, post_raw, post_std) if more_often(a, runs, b, runs)]
    post = (f" With the post's small weights it is the other way round: standardising makes "
            f"{rates_text(hurt)} fit less often, as it also shrinks the signal the small weights "
            "pass on (the scale swap tests that)." if hurt else
            " With the post's small weights standardising makes no rate here fit measurably "
            "less often.")
    if more_often(hi_std, runs, hi_raw, runs):
        return (head + f" With He the textbook picture holds: raw inputs make {rates[-1]:g} fail "
                "and standardising widens the working range." + post)
    return head + f" He does not widen the range at {rates[-1]:g} by standardising here." + post


# --- Q3 -----------------------------------------------------------------------------------
def first_layer_dead_sentence(raw, standardised):
    """First-layer units dead at init (median shares, raw and standardised inputs)."""
    shares = f"{raw:.2f} / {standardised:.2f}"
    if raw <= 0 and standardised <= 0:
        return (f"At the start no first-layer unit is dead on raw or standardised inputs "
                f"({shares}): with weights and inputs of both signs each unit fires on part of "
                "the data.")
    return (f"At the start {shares} of the first-layer units are dead on raw / standardised "
            "inputs (median over seeds): such a unit sees the inputs themselves, of both signs, "
            "so it is dead only where its weights and bias put every point on the negative "
            "side.")


def initial_dead_sentence(dead_post, dead_he, he_fit, runs, rate):
    """Units dead at init in layers 2-4: killed by negative weights; do they matter?"""
    deep = max(dead_post[1:]) if len(dead_post) > 1 else 0.0
    if deep <= 0:
        return "No unit in layers 2-4 is dead at initialisation here."
    share = "/".join(f"{v:.2f}" for v in dead_post[1:])
    he_share = "/".join(f"{v:.2f}" for v in dead_he[1:])
    head = (f"At initialisation {share} of the units of layers 2-4 are dead (median over seeds): "
            "their inputs are ReLU outputs, never negative, so these are killed by negative "
            "weights, not by negative inputs.")
    as_many = all(h >= p - 0.1 for h, p in zip(dead_he[1:], dead_post[1:]))
    if 2 * he_fit > runs and as_many:
        return (head + f" He initialisation on standardised inputs has about as many or more "
                f"({he_share}) and still fits {count_ci(he_fit, runs)} at {rate:g}: those "
                "initial deaths do not decide the outcome.")
    if 2 * he_fit > runs:
        return (head + f" He initialisation on standardised inputs has fewer ({he_share}) and "
                f"fits {count_ci(he_fit, runs)} at {rate:g}, so this run cannot tell the initial "
                "deaths apart from the other ways He's weights differ.")
    return head + (f" He initialisation on standardised inputs ({he_share}) fits only "
                   f"{count_ci(he_fit, runs)} at {rate:g}, so this run cannot say they do not "
                   "matter.")


def revival_sentence(rate, revived, alive_runs):
    """Dead units below a whole layer come back; only a whole dead layer is absorbing."""
    if not alive_runs:
        return f"At {rate:g} every run ended with a dead layer."
    if revived:
        return (f"Single dead units are not final: at {rate:g}, in {revived} of {alive_runs} runs "
                "without a dead layer some layer ended with fewer dead units than it started "
                "with (the layers below change what a dead unit receives). Only a whole dead "
                "layer is absorbing: it passes back no gradient, so nothing below it changes.")
    return (f"At {rate:g} no run ended with fewer dead units than it started with, so this run "
            "does not show dead units coming back.")


def surface_sentence(seed, high, good, low, surfaces):
    """What the loss-surface picture shows. surfaces[f"{rate:g}"]: figures.surface_summary."""
    hi, g, lo = (surfaces[f"{r:g}"] for r in (high, good, low))
    held = ", ".join(f"{r:g}: {sum(x['explained']):.0%}" for r, x in
                     ((good, g), (high, hi), (low, lo)))
    head = (f"`loss_surface.png` draws seed {seed}'s path at each rate on the loss over the "
            f"plane of that path's first two principal directions, which hold this much of its "
            f"movement: {held}. At {low:g} the path is {lo['length']:.2g} long in the plane "
            f"against {g['length']:.2g} at {good:g}" + (": it has hardly left its start."
                                                       if lo["length"] < 0.1 * g["length"]
                                                       else "."))
    if hi["turns_back"] > g["turns_back"]:
        return (head + f" At {high:g} the path turns back on itself {hi['turns_back']} times in "
                f"{hi['segments'] + 1} steps between snapshots, against {g['turns_back']} at "
                f"{good:g}: more back and forth than the good rate's batches give.")
    if hi["turns_back"]:
        return (head + f" At {high:g} the path turns back {hi['turns_back']} times between "
                f"snapshots, no more than at {good:g} ({g['turns_back']}), which fits: no more "
                "back and forth than a rate that works shows.")
    return (head + f" At {high:g} the path never turns back between snapshots (the dead-unit "
            "check epochs): no bounce across a valley shows at that resolution.")
