"""The detailed sections of REPORT.md (Q1-Q3, the causes, the data set).

Each section function takes a numbers.Numbers and returns its lines.
"""

import math

from tinynet.apps.reproduce import sentences as say
from tinynet.apps.reproduce.numbers import fmt, layers_text, share_text
from tinynet.apps.reproduce.setup import GOOD, HE, HIGH, LOW, POST_VARIANT, SCALINGS


# --- Q1, too low ----------------------------------------------------------------------
def q1_low_section(nums):
    cfg, ini = nums.cfg, nums.init("raw")
    pr = nums.diag["post"]["raw"]
    esc = nums.diag["escape"]["raw"]
    low_lines = []
    for rate in (LOW, 0.01):
        r = nums.row("raw", rate)
        low_lines.append("- " + say.low_rate_sentence(
            rate, r["one_class"], r["seeds"], cfg["epochs"], nums.updates,
            r["median_output_spread"], r["max_share_gap"], ini,
            pr[f"{rate:g}"]["kernel_relative"]).capitalize())
    lo = f"{LOW:g}"
    need = ", ".join(f"{r}: {fmt(v)}" for r, v in esc["updates_needed"].items())
    return [
        f"## Q1, too low ({lo})", "",
        f"- Initial loss: median {fmt(ini['loss'], 5)} against ln 4 = {ini['chance']:.5f}"
        + _uniform_guess(ini["loss"], ini["chance"]),
        "- Activation rms at init, input then layers 1-4 (median over seeds): "
        f"{fmt(ini['input_rms'])} -> {layers_text(ini['activation_rms'][:4])}. ||dL/dW|| for "
        f"layers 1-5 = {layers_text(ini['kernel_grad'])}, against ||dL/db5|| = "
        f"{fmt(ini['bias_grad'][-1])} for the output bias.",
        *low_lines,
        f"- After {cfg['epochs']} epochs at {lo}: relative change of the kernels, layers 1-5: "
        f"{layers_text(pr[lo]['kernel_relative'])}; change of the biases: "
        f"{layers_text(pr[lo]['bias_change'])}. Class shares of the training part: "
        f"{share_text(nums.data['class_shares'])}.",
        "- " + nums.horizon_low(),
        f"- Updates each post rate needs to leave the plateau at that pace: {need} "
        f"({_of(esc, 'raw')} left it; this run gives each "
        f"{nums.updates}).", "",
    ]


def _of(escape, scaling):
    """'k of n raw runs': how many runs the pace was measured on (n from newer results)."""
    n = f" of {escape['runs']}" if "runs" in escape else ""
    return f"{escape['copies']}{n} {scaling} runs"


def _uniform_guess(loss, chance):
    """': the network starts as a uniform guess.' where the loss is within 1% of ln C."""
    if loss is None:
        return "."
    if abs(loss - chance) < 0.01 * chance:
        return ": the network starts as a uniform guess."
    return f": {abs(loss - chance) / chance:.0%} off, so it does not start as a uniform guess."


# --- Q1, too high ---------------------------------------------------------------------
def _timing_table(nums, scaling):
    lines = ["| rate | inputs | failed | died before fitting | fitted, then lost it | never "
             "fitted, all alive | first dead layer (1/2/3/4) | median epoch it died |",
             "|---:|---|---:|---:|---:|---:|---|---:|"]
    for rate in (0.4, HIGH):
        r = nums.row(scaling, rate)
        lines.append(f"| {rate:g} | {scaling} | {r['seeds'] - r['fit']} | {r['died_before_fit']} "
                     f"| {r['fitted_then_lost']} | {r['never_fit_alive']} | "
                     f"{'/'.join(str(k) for k in r['death_layers'])} | "
                     f"{fmt(r['median_death_epoch'])} |")
    return lines


def q1_high_section(nums):
    timing = []
    for rate in (0.4, HIGH):
        r = nums.row("raw", rate)
        timing.append("- " + say.failure_timing_sentence(
            rate, r["died_before_fit"], r["fitted_then_lost"], r["never_fit_alive"],
            r["seeds"] - r["fit"], r["median_death_epoch_before_fit"] or math.nan,
            nums.commonest_layer(r), r["median_val_acc_at_death"]))
    k4, k5 = nums.row("raw", 0.4), nums.row("raw", HIGH)
    return [
        f"## Q1, too high ({HIGH:g}): is it overshooting?", "",
        "When did each failed run fail? A layer dies when every unit in it is off for every "
        "training point (counted at init and after epochs "
        f"{', '.join(str(e) for e in nums.check_epochs)}); a run fitted when its validation "
        f"accuracy passed {nums.cfg['threshold']:g} at some epoch.", "",
        *_timing_table(nums, "raw"), *_timing_table(nums, "standardised")[2:], "",
        *timing, "- " + nums.overshoot_sentence(), *_overshoot_table(nums),
        "- " + say.compare_counts("0.4", k4["fit"], k4["seeds"], f"{HIGH:g}", k5["fit"],
                                  k5["seeds"]),
        *_curvature_lines(nums), *_clip_lines(nums),
        "- " + say.surface_sentence(nums.diag["surface"]["seed"], HIGH, GOOD, LOW,
                                    nums.diag["surface"]["rates"]), "",
    ]


def _overshoot_table(nums):
    """Steps past their line's minimum per phase (tn.diagnostics.overshoot_summary)."""
    lines = ["", "Steps that land past the minimum along their own line, k of n measured steps "
             "(median 1/t_min: lr x curvature along the step; 0.5 means the minimum lies at or "
             "beyond twice the step), per phase of training (every copy measured at init and "
             "after the dead-unit check epochs; steps of one run are not independent):", ""]
    for scaling in SCALINGS:
        found = nums.diag["overshoot"][scaling]
        names = ["at init" if (a, b) == (0, 1) else f"epochs {a}-{b - 1}" if b is not None
                 else f"epochs {a}+" for a, b in found["phases"]]
        if scaling == SCALINGS[0]:
            lines += ["| rate | inputs | " + " | ".join(names) + " |",
                      "|---:|---|" + "---|" * len(names)]
        for r, rate in enumerate(found["rates"]):
            cells = [f"{found['overshoots'][p][r]} of {found['measured'][p][r]} "
                     f"({fmt(found['median_ratio'][p][r], 2)})" for p in range(len(names))]
            lines.append(f"| {rate:g} | {scaling} | " + " | ".join(cells) + " |")
    return lines + [""]


def _curvature_lines(nums):
    ini, trc = nums.init("raw"), nums.diag["trace"]["raw"]
    g = nums.row("raw", GOOD)
    lines = [
        "- Curvature. Sharpness (largest Hessian eigenvalue of the training loss on the first "
        f"{nums.cfg['trace_points']} training points) at init: median {fmt(ini['sharpness'])} "
        f"over the traced seeds "
        f"(residual at most {fmt(ini['sharpness_error'], 2)}; the epoch-0 values of one seed "
        f"agree across rates to {fmt(trc['epoch0_spread'], 2)}; the largest residual during "
        f"training {fmt(trc['max_error'], 2)}). Gradient descent on a quadratic is stable only "
        f"while lr < 2/sharpness. Peak sharpness of the first {g.get('traced', 0)} seeds of "
        "each rate (checked every 5 epochs to 50, then every 25) against 2/lr:", "",
        "| rate | 2/lr | peak sharpness per run (outcome) | crossed and fit | crossed and "
        "failed | stayed below and failed |", "|---:|---:|---|---:|---:|---:|"]
    for rate in (GOOD, 0.4, HIGH):
        x = nums.row("raw", rate)
        runs = ", ".join(f"{fmt(p)} ({o})" for p, o in zip(x["peaks"], x["peak_outcomes"]))
        lines.append(f"| {rate:g} | {2.0 / rate:g} | {runs} | {x['crossed_and_fit']} | "
                     f"{x['crossed_and_failed']} | {x['below_and_failed']} |")
    lines.append("")
    if g["crossed_and_fit"]:
        lines.append(f"- At {GOOD:g}, {g['crossed_and_fit']} of {g['traced']} traced runs went "
                     "above 2/lr and still fit: crossing 2/lr does not by itself make a run "
                     "fail, so it does not separate the failures at 0.4 and 0.5.")
    else:
        lines.append(f"- At {GOOD:g} no traced run went above 2/lr, so this run cannot tell "
                     "whether crossing it separates failure from success.")
    return lines


def _clip_lines(nums):
    pairs = [(r, nums.row("raw", r, "exact"), nums.row("raw", r)) for r in nums.cfg["exact_rates"]]
    counts = "; ".join(f"{r:g}: {say.count_ci(a['fit'], a['seeds'])} fit "
                       f"({nums.outcomes_text(a)}) against {say.count_ci(b['fit'], b['seeds'])} "
                       "clipped" for r, a, b in pairs)
    differ = any(say.distinguishable(a["fit"], a["seeds"], b["fit"], b["seeds"])
                 for _, a, b in pairs)
    verdict = ("The counts differ beyond their intervals: the clip matters here." if differ else
               "The intervals overlap: removing the clip does not measurably change how often "
               "the rate fits, so the clip is not shown to cause the failures.")
    return ["- Is the loss's clip the cause? The same raw runs with the exact cross-entropy "
            f"(`probabilities=\"exact\"`, no clip): {counts}. {verdict}"]


# --- what kills the units ---------------------------------------------------------------
def causes_section(nums):
    rates, plain, warm = nums.warmup_counts()
    lines = ["## What kills the units", "",
             "How far the first epoch moves each unit's input, in units of how much that input "
             "varies across the training points (median over units and seeds; above 1 the "
             "unit's whole range can be pushed below zero), hidden layers 1-4:", "",
             "| rate | inputs | layer 1 | layer 2 | layer 3 | layer 4 |", "|---:|---|---:|---:|"
             "---:|---:|"]
    for scaling in SCALINGS:
        for rate in (GOOD, 0.4, HIGH):
            ratio = nums.row(scaling, rate)["median_shift_ratio"]
            lines.append(f"| {rate:g} | {scaling} | " + " | ".join(fmt(v, 2) for v in ratio)
                         + " |")
    warm_rows = "; ".join(
        f"{r:g}: {fmt(p['median_shift_ratio'][3], 2)} -> {fmt(w['median_shift_ratio'][3], 2)}"
        for r, p, w in zip(rates, plain, warm))
    pr = nums.diag["post"]["raw"]
    return lines + [
        "", "- " + nums.kill_sentence(),
        "- " + nums.warmup_sentence() + " How far the first epoch moves a layer-4 unit's input "
        f"(against its spread), plain -> warm-up: {warm_rows}.",
        "- " + nums.leaky_sentence(),
        f"- Dead units, layers 1-4, median over seeds, raw: at init "
        f"{share_text(pr[f'{HIGH:g}']['dead_init'])}; after the first epoch at {HIGH:g}: "
        f"{share_text(pr[f'{HIGH:g}']['dead_epoch1'])} (at {GOOD:g}: "
        f"{share_text(pr[f'{GOOD:g}']['dead_epoch1'])}); at the end at {HIGH:g}: "
        f"{share_text(pr[f'{HIGH:g}']['dead_end'])} (at {GOOD:g}: "
        f"{share_text(pr[f'{GOOD:g}']['dead_end'])}). `dead_units.png` shows them over the "
        "epochs.", "",
    ]


# --- Q2 ---------------------------------------------------------------------------------
def q2_section(nums):
    ini, std = nums.init("raw"), nums.init("standardised")
    esc = nums.diag["escape"]
    fits = "; ".join(f"{r:g}: {say.count_ci(nums.row('raw', r)['fit'], nums.cfg['seeds'])} / "
                     f"{say.count_ci(nums.row('standardised', r)['fit'], nums.cfg['seeds'])}"
                     for r in nums.cfg["post_rates"])
    return [
        "## Q2, standardised inputs: three causes, separated", "",
        f"- {nums.window()} Fit, raw / standardised: {fits}.",
        "- Scale or centring: " + nums.swap_sentence(),
        "- The budget: " + nums.horizon_window(),
        "- The initialisation: " + nums.init_sentence(),
        f"- The signal with the post's init: input rms {nums.data['raw_rms']:.1f} (raw) "
        "against 1.0; "
        f"at init the signal reaching layer 4 is {fmt(ini['activation_rms'][3])} (raw) against "
        f"{fmt(std['activation_rms'][3])}, the first kernel's gradient "
        f"{fmt(ini['kernel_grad'][0])} against {fmt(std['kernel_grad'][0])}. Leaving the "
        f"plateau takes lr x epochs = {fmt(esc['standardised']['lr_times_epochs'])} "
        f"standardised ({_of(esc['standardised'], 'standardised')} left it) against "
        f"{fmt(esc['raw']['lr_times_epochs'])} raw ({_of(esc['raw'], 'raw')}).", "",
    ]


# --- Q3 ---------------------------------------------------------------------------------
def q3_section(nums):
    dead_init = "; ".join(f"{s} {'/'.join(v)}: {share_text(nums.init(s, v)['dead'])}"
                          for s in SCALINGS for v in (POST_VARIANT, HE))
    revival = [say.revival_sentence(r, nums.row("raw", r)["revived_runs"],
                                    nums.row("raw", r)["runs_without_dead_layer"])
               for r in (GOOD, HIGH)]
    end = "; ".join(f"{s} at {r:g}: {share_text(nums.diag['post'][s][f'{r:g}']['dead_end'])}"
                    for s in SCALINGS for r in (GOOD, HIGH))
    return [
        "## Q3, negative weights and inputs: dead units", "",
        "- " + nums.initial_dead_sentence(),
        f"- Dead units per layer (1-4) at init, median over seeds: {dead_init}.",
        *("- " + line for line in revival),
        f"- At the end, median per layer: {end}.", "",
    ]


# --- the data set ---------------------------------------------------------------------
def data_section(nums):
    kinds = sorted({r["kind"] for r in nums.summary["rates"] if r["kind"].startswith("samples=")},
                   key=lambda k: int(k.split("=")[1]))
    if not kinds:
        return []
    rates = nums.cfg["post_rates"]
    lines = ["## How the answer depends on the data set", "",
             f"The post used 10 samples; this run's main data set ({nums.data['n_samples']} "
             "points) is an assumption. The same raw runs on other sizes (with 10 points the "
             "validation set is 2 points, so the training accuracy is shown too):", "",
             "| points | updates/epoch | " + " | ".join(f"fit at {r:g}" for r in rates)
             + " | median train acc |", "|---:|---:|" + "---|" * len(rates) + "---|"]
    differs = []  # the sizes at which some rate fits differently from the main set
    for kind in [None] + kinds:
        n = nums.data["n_samples"] if kind is None else int(kind.split("=")[1])
        n_train = int(math.ceil(n * (1.0 - nums.cfg["validation_split"])))
        per_epoch = -(-n_train // nums.cfg["batch_size"])
        rows = [nums.row("raw", r, kind or "post") for r in rates]
        main = [nums.row("raw", r) for r in rates]
        if any(say.distinguishable(x["fit"], x["seeds"], m["fit"], m["seeds"])
               for x, m in zip(rows, main)):
            differs.append(n)
        lines.append(f"| {n} | {per_epoch} | "
                     + " | ".join(say.count_ci(x["fit"], x["seeds"]) for x in rows) + " | "
                     + " / ".join(fmt(x["median_train_accuracy"], 2) for x in rows) + " |")
    budget = f"after {nums.cfg['epochs']} epochs"
    verdict = (f"{budget}, some rate fits differently with {', '.join(map(str, differs))} points "
               "than with the main set, beyond the intervals: fewer points give fewer updates "
               "per epoch, so the post's answer does not carry over to every data set." if differs
               else f"{budget}, no size here changes how often a rate fits beyond the intervals.")
    return lines + ["", verdict[0].upper() + verdict[1:], ""]
