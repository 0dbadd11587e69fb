"""REPORT.md of ``tinynet reproduce``: one small function per section.

``report(summary)`` needs only the summary dict, so ``report(json.load(...))``
rebuilds REPORT.md from results.json. The explaining sentences are in
sentences.py, computed from the numbers that numbers.Numbers looks up; the
longer sections (Q1-Q3 in detail) are in report_details.py.
"""

import math

from tinynet.apps.reproduce import sentences as say
from tinynet.apps.reproduce.numbers import Numbers, fmt
from tinynet.apps.reproduce.report_details import (
    causes_section,
    data_section,
    q1_high_section,
    q1_low_section,
    q2_section,
    q3_section,
)
from tinynet.apps.reproduce.setup import GOOD, HIGH, LOW, ONE_CLASS, SCALINGS
from tinynet.apps.reproduce.tables import CSV_FIELDS, results_csv

__all__ = ["CSV_FIELDS", "report", "results_csv", "summary_paragraph"]


def report(summary):
    """REPORT.md: a plain summary first, then the post's questions, with this run's numbers."""
    nums = Numbers(summary)
    text = ["# The 10x10x10x10x4 learning-rate experiment, measured", "", "## Summary", ""]
    text += _what_was_run(nums)
    text += ["", summary_paragraph(summary), ""]
    text += _answers(nums)
    text += _figures(nums)
    text += _setup_section(nums)
    text += _outcome_table(nums)
    for section in (q1_low_section, q1_high_section, causes_section, q2_section, q3_section,
                    data_section):
        text += section(nums)
    text += _left_out(nums)
    return "\n".join(text)


def _what_was_run(nums):
    cfg, data = nums.cfg, nums.data
    return [
        "What was run: the post's network (Dense(10, relu) x4 -> Dense(4, softmax), "
        f"RandomNormal(0, 0.05) weights, plain SGD, batch {cfg['batch_size']}, {cfg['epochs']} "
        f"epochs = {nums.updates} updates) on {data['n_samples']} points in four clusters, at "
        f"the post's five rates with {cfg['seeds']} seeds each (a seed fixes the starting "
        "weights and the batch order), on raw and on standardised inputs, and the runs that test "
        "each candidate cause, with the same seeds. The data set is this project's assumption: "
        "the post says only \"10 samples\". A run *fits* when its final validation accuracy is "
        f"above {cfg['threshold']:g}. Counts are \"k of n seeds\" with a 95% interval (Wilson) "
        "in brackets; two counts are called different only when their intervals do not overlap.",
    ]


def summary_paragraph(summary):
    """The one-paragraph result (also quoted in the README): each verdict with its budget."""
    nums = Numbers(summary) if not isinstance(summary, Numbers) else summary
    cfg, seeds = nums.cfg, nums.cfg["seeds"]
    def fits_of(scaling):
        return ", ".join(f"{r:g}: {say.count_ci(row['fit'], row['seeds'])}"
                         for r in cfg["post_rates"] for row in [nums.row(scaling, r)])

    fits, std_fits = fits_of("raw"), fits_of("standardised")
    hi = nums.row("raw", HIGH)
    failed = hi["seeds"] - hi["fit"]
    return (f"**Result** ({cfg['epochs']} epochs, {seeds} seeds per rate). Raw inputs, runs "
            f"that fit: {fits}; standardised: {std_fits}. "
            + say.failure_timing_sentence(HIGH, hi["died_before_fit"], hi["fitted_then_lost"],
                                          hi["never_fit_alive"], failed,
                                          _or_nan(hi["median_death_epoch_before_fit"]),
                                          nums.commonest_layer(hi), hi["median_val_acc_at_death"])
            + " " + say.overshoot_short(HIGH, hi["overshoot_before_fit"]) + " " + nums.kill_short()
            + " " + nums.horizon_low() + " " + nums.horizon_window() + " " + nums.q2_short())


def _answers(nums):
    cfg = nums.cfg
    low, hi = nums.row("raw", LOW), nums.row("raw", HIGH)
    raw_lines = [f"- **{r:g}**: {nums.outcomes_text(nums.row('raw', r))}."
                 for r in cfg["post_rates"]]
    ini = nums.init("raw")
    return [
        "What each rate did on raw inputs:", "", *raw_lines, "",
        "The post's three questions, answered by this run:", "",
        f"1. *Why do {LOW:g} and {HIGH:g} fail?* Too low: "
        + say.low_rate_sentence(LOW, low["one_class"], low["seeds"], cfg["epochs"],
                                nums.updates, low["median_output_spread"], low["max_share_gap"],
                                ini, nums.diag["post"]["raw"][f"{LOW:g}"]["kernel_relative"])
        + " " + say.divergence_sentence(HIGH, hi["diverged"], hi["seeds"]) + " "
        + nums.overshoot_sentence() + " " + nums.kill_sentence() + " "
        + nums.warmup_sentence(),
        "2. *Why does standardising change it?* " + nums.window() + " "
        + nums.swap_sentence() + " " + nums.horizon_window(),
        "3. *Do negative weights and inputs kill ReLUs?* "
        + say.first_layer_dead_sentence(ini["dead"][0], nums.init("standardised")["dead"][0])
        + " "
        + nums.initial_dead_sentence() + " " + nums.leaky_sentence(),
        "",
    ]


def _figures(nums):
    t, env = nums.summary["timing"], nums.summary["environment"]
    return [
        f"![Decision regions: a fit at {GOOD:g}, the typical failures at {HIGH:g} and "
        f"{LOW:g}, raw inputs](regions.png)", "",
        "![Dead units per layer over the epochs, per rate, raw inputs](dead_units.png)", "",
        "![Training loss and validation accuracy per rate: median and quartiles over all "
        "seeds](curves.png)", "",
        "![Share of seeds that fit against the rate, raw and standardised](success.png)", "",
        "![Sharpness of every traced run against 2/lr](sharpness.png)", "",
        f"![The loss over a plane through one seed's path at {GOOD:g}, {HIGH:g} and {LOW:g}]"
        "(loss_surface.png)", "",
        f"Every number below was computed by this run (tinynet {env['tinynet']}, backend "
        f"{env['backend']}, {env['dtype']}, {t['total_s']:.0f} s in all, {t['training_s']:.0f} s"
        f" of it training, in {t['workers']} {'process' if t['workers'] == 1 else 'processes'}; "
        f"{t['cpu_s']:.0f} CPU seconds, about {t['idle_machine_estimate_s']:.0f} s on an idle "
        "machine); per-run numbers are in `results.csv` and `results.json`.", "",
    ]


def _setup_section(nums):
    cfg, data = nums.cfg, nums.data
    centres = ", ".join(f"({c[0]:g}, {c[1]:g})" for c in data["centers"])
    return [
        "## Setup", "",
        f"- Data (this project's choice): {data['n_samples']} points in 4 Gaussian blobs "
        f"(centres {centres}, std {data['cluster_std']:g}): raw inputs from "
        f"{data['raw_min']:.1f} to {data['raw_max']:.1f}, rms {data['raw_rms']:.1f}. Shuffled, "
        f"then the last {data['n_validation']} rows are the validation set (Keras's "
        "validation_split takes the tail); the standardised copy uses a StandardScaler fitted "
        f"on the first {data['n_train']} rows only.",
        "- Network and training as in the post: Dense(10, relu) x4 -> Dense(4, softmax), "
        "RandomNormal(0, 0.05) kernels, zero biases, SGD, categorical cross-entropy (on "
        f"probabilities, clipped to [1e-7, 1 - 1e-7] as Keras does), batch {cfg['batch_size']}, "
        f"{cfg['epochs']} epochs = {nums.updates} updates per run (the longer budget: "
        f"{cfg['long_epochs']} epochs), trained with `tn.sweep`.",
        f"- Seed s starts every rate (and every ablation) from the same weights and batch order, "
        f"so runs of one seed differ only by what was changed. The grid: "
        f"{len(cfg['grid_rates'])} rates from {cfg['grid_rates'][0]:g} to "
        f"{cfg['grid_rates'][-1]:g} with {cfg['grid_seeds']} seeds (for `success.png` only).",
        f"- Outcomes, the first that applies. *fit*: final validation accuracy above "
        f"{cfg['threshold']:g}. *diverged*: the loss became NaN/inf. *dead layer*: some hidden "
        "layer has no unit that fires on any training point, so the output is the same for "
        "every point (ReLU only). *stuck at the clip*: many training points give their true "
        "class a probability below the clip, where the clipped loss has zero gradient. *one "
        f"class*: one class gets >= {ONE_CLASS:.0%} of the validation predictions. *partial*: "
        "the rest (some clusters right, others merged).", "",
    ]


def _outcome_table(nums):
    lines = ["## What happened", "",
             "| rate | inputs | fit [95% CI] | diverged | dead layer | at clip | one class | "
             "partial | median val acc (all runs) |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for rate in nums.cfg["post_rates"]:
        for scaling in SCALINGS:
            r = nums.row(scaling, rate)
            lines.append(f"| {rate:g} | {scaling} | {say.count_ci(r['fit'], r['seeds'])} | "
                         f"{r['diverged']} | {r['dead_layer']} | {r['at_clip']} | "
                         f"{r['one_class']} | {r['partial']} | "
                         f"{fmt(r['median_val_accuracy'], 2)} |")
    return lines + ["", "The post: 0.01, 0.1 and 0.4 fit, 0.5 fails, 0.001 fails differently; "
                    "standardised, every rate above 0.1 fails. " + nums.window()
                    + " `success.png` shows the whole grid.", ""]


def _left_out(nums):
    cfg, total = nums.cfg, nums.summary["timing"]["total_s"]
    need = nums.summary["diagnostics"]["escape"]["raw"]["updates_needed"].get(f"{LOW:g}")
    longer = ", ".join(f"{r:g}" for r in cfg["raw_horizon_rates"])
    budget = (f"{LOW:g} at a budget long enough to fit (about {fmt(need)} updates at the "
              f"measured pace, {cfg['seeds']} seeds): too long for the default run; the longer "
              f"budget is tested at {longer} instead, where the same pace predicts it."
              if need is not None else
              f"{LOW:g} at a budget long enough to fit: no raw run left the plateau, so this run "
              f"has no pace to say how long that is; the longer budget is tested at {longer}.")
    return [
        "## What this run does not test", "",
        f"- {budget}",
        "- Larger data sets (more updates per epoch): the longer budget tests the same thing "
        "(more updates) without changing the data.",
        "- Standardised LeakyReLU, and the ablations at rates other than those listed: each "
        f"cell costs as much as one of the post's, and this run took {total:.0f} s as it is.",
        "",
    ]


def _or_nan(v):
    return math.nan if v is None else v
