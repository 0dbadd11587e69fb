"""The tables and the write-up of ``tinynet reproduce``: results.csv and REPORT.md.

``report(summary)`` needs only the summary dict, so ``report(json.load(...))``
rebuilds REPORT.md from results.json.
"""

import csv
import io
import math

import numpy as np

from tinynet.apps.reproduce.measures import AT_CLIP, CLIP
from tinynet.apps.reproduce.setup import GOOD, HIGH, LOW, ONE_CLASS, SCALINGS, VARIANTS
from tinynet.metrics import wilson_interval

CSV_FIELDS = ("scaling", "kind", "init", "activation", "learning_rate", "seed",
              "final_loss", "final_accuracy", "final_val_loss", "final_val_accuracy", "success",
              "outcome", "diverged", "diverged_epoch", "escape_epoch", "max_class_fraction",
              "peak_sharpness", "dead_fraction_end")


def results_csv(runs):
    """One row per trained copy."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for (scaling, kind, variant), run in runs.items():
        last = {k: np.where(np.isfinite(run["curves"][k]).any(axis=0),
                            _last_finite(run["curves"][k]), np.nan)
                for k in ("loss", "accuracy", "val_loss")}
        peak = np.full(run["outcome"].shape, np.nan)
        if run["trace"] is not None:
            peak[:, :run["trace"]["seeds"]] = run["trace"]["peak"]
        for i, rate in enumerate(run["rates"]):
            for s in range(run["outcome"].shape[1]):
                def num(v):
                    return "" if not np.isfinite(v) else f"{float(v):.6g}"
                w.writerow([scaling, kind, variant[0], variant[1], f"{rate:g}", s,
                            num(last["loss"][i, s]), num(last["accuracy"][i, s]),
                            num(last["val_loss"][i, s]), num(run["final_val_accuracy"][i, s]),
                            int(run["success"][i, s]), run["outcome"][i, s],
                            int(run["diverged"][i, s]),
                            int(run["diverged_epoch"][i, s]) if run["diverged"][i, s] else "",
                            num(run["escape_epoch"][i, s]), num(run["max_fraction"][i, s]),
                            num(peak[i, s]),
                            num(np.mean(run["dead_end"][i, s]))])
    return buf.getvalue()


def _last_finite(a):
    """a (E, R, S) -> the last finite value along E, (R, S)."""
    ok = np.isfinite(a)
    idx = a.shape[0] - 1 - np.argmax(ok[::-1], axis=0)
    return np.take_along_axis(a, idx[None], axis=0)[0]


# --- REPORT.md -----------------------------------------------------------------------
def _g(v, digits=3):
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) \
        else f"{v:.{digits}g}"


def _layers(values, digits=2):
    return " / ".join(_g(v, digits) for v in values)


def _share(values, digits=2):
    return " / ".join("n/a" if v is None else f"{v:.{digits}f}" for v in values)


# --- sentences that branch on the numbers --------------------------------------------
def count_ci(k, n):
    """'k of n seeds [lo%, hi%]': a count with its Wilson 95% interval."""
    lo, hi = wilson_interval(k, n)
    return f"{k} of {n} [{lo:.0%}, {hi:.0%}]"


def distinguishable(k_a, n_a, k_b, n_b):
    """True when the Wilson 95% intervals of k_a/n_a and k_b/n_b do not overlap."""
    lo_a, hi_a = wilson_interval(k_a, n_a)
    lo_b, hi_b = wilson_interval(k_b, n_b)
    return hi_a < lo_b or hi_b < lo_a


def compare_counts(name_a, k_a, n_a, name_b, k_b, n_b, what="fit"):
    """One sentence on two counts: 'not distinguishable' when the 95% intervals overlap."""
    a, b = f"{name_a}: {count_ci(k_a, n_a)}", f"{name_b}: {count_ci(k_b, n_b)}"
    if not distinguishable(k_a, n_a, k_b, n_b):
        return (f"{name_a} and {name_b} are not distinguishable here ({a}; {b} seeds {what}): "
                "the 95% intervals overlap, so this run does not show a threshold between them.")
    more, less = (name_a, name_b) if k_a / n_a > k_b / n_b else (name_b, name_a)
    return (f"{more} {what} more often than {less} ({a}; {b} seeds), and the 95% intervals "
            "do not overlap.")


def window_sentence(raw, standardised):
    """How the rates that fit for at least half of the seeds change with standardising."""
    if not standardised and not raw:
        return "No rate fits for at least half of the seeds, raw or standardised."
    if not standardised:
        return (f"The window closes: raw, {_rates(raw)} fit for at least half of the seeds; "
                "standardised, no rate does. It does not move to other rates.")
    if not raw:
        return (f"Raw, no rate fits for half of the seeds; standardised, {_rates(standardised)}"
                " do.")
    if sorted(raw) == sorted(standardised):
        return f"The window stays where it is: {_rates(raw)}, raw and standardised."
    return (f"The window changes: raw {_rates(raw)}, standardised {_rates(standardised)} fit "
            "for at least half of the seeds.")


def escape_sentence(rate, need, n_samples, copies):
    """Whether this run's data set is big enough for `rate` to leave the plateau in time."""
    if not copies or need is None:
        return (f"No run left the plateau here, so this run cannot say how many points {rate:g}"
                " would need (it is too small to tell).")
    if need > n_samples:
        return (f"For {rate:g} to leave it within the epochs run, the data set would need about "
                f"{need:.3g} points (more points, more updates per epoch); this run has "
                f"{n_samples}, so {rate:g} has too few updates here.")
    return (f"For {rate:g} that takes about {need:.3g} points; this run has {n_samples}, "
            f"enough for {rate:g} to leave the plateau in time.")


def _ci(r):
    return count_ci(r["fit"], r["seeds"])


def report(summary):
    """REPORT.md: a plain summary first, then the post's questions, with this run's numbers."""
    cfg, data, diag = summary["config"], summary["data"], summary["diagnostics"]
    rows = {(r["scaling"], r["kind"], r["init"], r["activation"], r["learning_rate"]): r
            for r in summary["rates"]}
    main = VARIANTS[0]

    def row(scaling, rate, kind="post", variant=main):
        return rows[(scaling, kind, *variant, rate)]

    def key(scaling, variant):
        return f"{scaling}/{'/'.join(variant)}"

    e, upe, post_rates = cfg["epochs"], data["updates_per_epoch"], cfg["post_rates"]
    ini = {s: diag["init"][key(s, main)] for s in SCALINGS}
    pr = diag["post"]["raw"]
    esc, trc = diag["escape"], diag["trace"]
    t, env = summary["timing"], summary["environment"]
    lo, hi, good = f"{LOW:g}", f"{HIGH:g}", f"{GOOD:g}"
    seeds = cfg["seeds"]
    half = {s: [r for r in post_rates if row(s, r)["success_rate"] >= 0.5] for s in SCALINGS}
    high_rates = [r for r in post_rates if r >= GOOD]
    he, leaky = VARIANTS[1], VARIANTS[2]
    vr = cfg["variant_rates"]
    kinds = {k for (_, k, *_rest) in rows}
    data_kinds = sorted((k for k in kinds if k.startswith("samples=")),
                        key=lambda k: int(k.split("=")[1]))

    outcomes = _outcomes

    def fits_all(scaling, variant):
        return all(row(scaling, r, "variant", variant)["success_rate"] >= 0.5 for r in vr)

    # ---------------------------------------------------------------- summary
    raw_lines = [f"- **{r:g}**: {outcomes(row('raw', r))} (of {seeds})." for r in post_rates]
    k4, k5 = row("raw", 0.4), row("raw", HIGH)
    he_std = [row("standardised", r, "variant", he) for r in vr]
    lk_raw_hi = row("raw", vr[-1], "variant", leaky)
    no_nan = all(row("raw", r)["diverged"] == 0 for r in post_rates)
    text = [
        "# The 10x10x10x10x4 learning-rate experiment, measured",
        "",
        "## Summary",
        "",
        f"What was run: the post's network (Dense(10, relu) x4 -> Dense(4, softmax), "
        f"RandomNormal(0, 0.05) weights, plain SGD, batch {cfg['batch_size']}, {e} epochs) on "
        f"{data['n_samples']} points in four clusters, at the post's five rates with {seeds} "
        "seeds each (a seed fixes the starting weights and the batch order), on raw and on "
        "standardised inputs. The data set is this project's assumption: the post says only "
        "\"10 samples\"; a section below reruns it on other sizes. A run *fits* when its final "
        f"validation accuracy is above {cfg['threshold']:g}. Counts are \"k of n seeds\" with a "
        "95% interval (Wilson) in brackets.",
        "",
        "What each rate did on raw inputs:",
        "",
        *raw_lines,
        "",
        "The post's three questions, answered by this run:",
        "",
        f"1. *Why do {lo} and {hi} fail?* {lo}: " + low_sentence(row("raw", LOW), seeds, e, upe)
        + f" {hi}: "
        + ("no run's loss became NaN or infinite; " if no_nan else "")
        + f"of its {seeds} runs, {_outcomes(row('raw', HIGH))} (the outcomes are defined "
        "under Setup). "
        + (f"The curvature crossing 2/lr does not tell failure from success: "
           f"{row('raw', GOOD)['crossed_and_fit']} of {row('raw', GOOD)['traced']} traced runs "
           f"at {good} cross it too and fit. " if row("raw", GOOD).get("crossed_and_fit") else
           f"No traced run at {good} crossed 2/lr, so this run cannot say whether crossing it "
           "separates failure from success. ")
        + compare_counts("0.4", k4["fit"], k4["seeds"], hi, k5["fit"], k5["seeds"]),
        "2. *Why does standardising change it?* "
        + window_sentence(half["raw"], half["standardised"])
        + " With standardised inputs the small initial weights shrink the signal to "
        f"{_g(ini['standardised']['activation_rms'][3])} by layer 4, against "
        f"{_g(ini['raw']['activation_rms'][3])} raw. "
        + ("He initialisation removes the failure: on standardised inputs it fits at every "
           "rate tried (" if all(r["success_rate"] >= 0.5 for r in he_std) else
           "He initialisation does not fit at every rate on standardised inputs (")
        + ", ".join(f"{r:g}: {_ci(x)}" for r, x in zip(vr, he_std)) + ").",
        f"3. *Do negative weights and inputs kill ReLUs?* Not by themselves: at the start no "
        f"first-layer unit is dead on raw or standardised inputs "
        f"({_share(ini['raw']['dead'][:1])} / {_share(ini['standardised']['dead'][:1])}), "
        "because each unit fires on part of the data. Units die during training at high rates; "
        f"with LeakyReLU, whose units cannot die, {vr[-1]:g} fits {_ci(lk_raw_hi)} raw against "
        f"{_ci(row('raw', vr[-1]))} with ReLU"
        + (" (distinguishable)." if distinguishable(lk_raw_hi["fit"], lk_raw_hi["seeds"],
                                                   row("raw", vr[-1])["fit"], seeds)
           else " (not distinguishable at this many seeds)."),
        "",
        f"![Decision regions at {good}, {hi} and {lo}, raw inputs](regions.png)",
        "",
        "![Training loss and validation accuracy per rate: median and quartiles over all "
        "seeds](curves.png)",
        "",
        "![Share of seeds that fit against the rate, raw and standardised](success.png)",
        "",
        "![Sharpness of every traced run against 2/lr](sharpness.png)",
        "",
        f"Every number below was computed by this run (tinynet {env['tinynet']}, backend "
        f"{env['backend']}, {env['dtype']}, {t['total_s']:.0f} s in all, {t['training_s']:.0f} s"
        " of it training); per-run numbers are in `results.csv` and `results.json`.",
        "",
        "## Setup",
        "",
        f"- Data (this project's choice): {data['n_samples']} points in 4 Gaussian blobs "
        f"(centres {', '.join(f'({c[0]:g}, {c[1]:g})' for c in data['centers'])}, std "
        f"{data['cluster_std']:g}): raw inputs from {data['raw_min']:.1f} to "
        f"{data['raw_max']:.1f}, rms {data['raw_rms']:.1f}. Shuffled, then the last "
        f"{data['n_validation']} rows are the validation set (Keras's validation_split takes "
        "the tail); the standardised copy uses a StandardScaler fitted on the first "
        f"{data['n_train']} rows only.",
        "- Network and training as in the post: Dense(10, relu) x4 -> Dense(4, softmax), "
        "RandomNormal(0, 0.05) kernels, zero biases, SGD, categorical cross-entropy (on "
        f"probabilities, clipped to [1e-7, 1 - 1e-7] as Keras does), batch {cfg['batch_size']}, "
        f"{e} epochs = {e * upe} updates per run, trained with `tn.sweep`.",
        f"- The post's rates with {_n(seeds, 'seed')} each, and {len(cfg['grid_rates'])} rates "
        f"from {cfg['grid_rates'][0]:g} to {cfg['grid_rates'][-1]:g} (log grid) with "
        f"{_n(cfg['grid_seeds'], 'seed')}. Seed s starts every rate from the same weights and "
        "batch order, so the rates of one seed differ by the rate alone.",
        f"- Outcomes, the first that applies. *fit*: final validation accuracy above "
        f"{cfg['threshold']:g}. *diverged*: the loss became NaN/inf. *dead layer*: some hidden "
        "layer has no unit that fires on any training point, so the output is the same for "
        f"every point. *stuck at the clip*: at least {AT_CLIP:.0%} of the training points give "
        f"their true class a probability below the clip {CLIP:g}, where the clipped loss has "
        f"zero gradient. *one class*: one class gets >= {ONE_CLASS:.0%} of the validation "
        "predictions. *partial*: the rest (here: some clusters right, others merged).",
        "",
        "## What happened",
        "",
        "| rate | inputs | fit [95% CI] | diverged | dead layer | at clip | one class | partial |"
        " median val acc (all runs) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rate in post_rates:
        for scaling in SCALINGS:
            r = row(scaling, rate)
            text.append(f"| {rate:g} | {scaling} | {_ci(r)} | {r['diverged']} | "
                        f"{r['dead_layer']} | {r['at_clip']} | {r['one_class']} | {r['partial']} | "
                        f"{_g(r['median_val_accuracy'], 2)} |")
    text += [
        "",
        "The post: 0.01, 0.1 and 0.4 fit, 0.5 fails, 0.001 fails differently; standardised, "
        "every rate above 0.1 fails. Here the post's rates that fit for at least half of the "
        f"seeds are: raw {_rates(half['raw'])}; standardised {_rates(half['standardised'])}. "
        "`success.png` shows the whole grid.",
        "",
    ]
    text += _q1_low(cfg, data, row, ini, pr, esc, lo, e, upe, post_rates)
    text += _q1_high(cfg, row, ini, pr, trc, diag, hi, good, post_rates, high_rates, vr, leaky)
    text += _q2(cfg, data, row, ini, esc, trc, good, post_rates, half, vr, he, leaky, key, diag)
    text += _q3(cfg, row, diag, key, vr)
    text += _data_section(cfg, row, data, data_kinds, post_rates)
    return "\n".join(text)


def low_sentence(r, seeds, epochs, per_epoch):
    """What the too-low rate did, as the counts say: stuck on the plateau, or not shown."""
    stuck, fit = r["one_class"], r["fit"]
    start = "the network starts as a uniform guess (loss ln 4) and "
    if 2 * stuck > seeds:
        return (start + f"{stuck} of {seeds} runs still predict a single class after {epochs} "
                f"epochs: in {epochs * per_epoch} updates they did not leave that plateau.")
    return (start + f"{stuck} of {seeds} runs still predict a single class after {epochs} "
            f"epochs and {fit} fit (the others: see the table), so this run does not show the "
            f"plateau the post saw ({epochs * per_epoch} updates is too short to tell how "
            "this rate fails, or whether it does).")


def _outcomes(r):
    parts = [(r["fit"], "fit"), (r["diverged"], "went NaN/inf"),
             (r["dead_layer"], "ended with a dead layer"),
             (r["at_clip"], "stuck at the clip"), (r["one_class"], "predict one class"),
             (r["partial"], "partial")]
    return ", ".join(f"{k} {w}" for k, w in parts if k)


def _q1_low(cfg, data, row, ini, pr, esc, lo, e, upe, post_rates):
    seeds = cfg["seeds"]
    need = esc["raw"]["points_needed"]
    return [
        f"## Q1, too low ({lo})",
        "",
        f"- Initial loss: median {_g(ini['raw']['loss'], 5)} against ln 4 = "
        f"{ini['raw']['chance']:.5f}: the network starts as a uniform guess.",
        "- Activation rms at init, input then layers 1-4 (median over seeds): "
        f"{_g(ini['raw']['input_rms'])} -> {_layers(ini['raw']['activation_rms'][:4])}. "
        f"||dL/dW|| for layers 1-5 = {_layers(ini['raw']['kernel_grad'])}, against "
        f"||dL/db5|| = {_g(ini['raw']['bias_grad'][-1])} for the output bias.",
        f"- After {e} epochs at {lo} (raw): {row('raw', LOW)['one_class']} of {seeds} seeds "
        f"predict one class for >= {ONE_CLASS:.0%} of the points (median share of the largest "
        f"class {_g(pr[lo]['max_fraction'])}). Relative change of the kernels, layers 1-5: "
        f"{_layers(pr[lo]['kernel_relative'])}; change of the biases: "
        f"{_layers(pr[lo]['bias_change'])} (largest in layer {_argmax1(pr[lo]['bias_change'])}).",
        f"- Leaving the plateau: median lr x (epochs to val acc > {cfg['threshold']:g}) = "
        f"{_g(esc['raw']['lr_times_epochs'])} ({esc['raw']['copies']} raw runs got there). "
        "Epochs at the post's rates: " + ", ".join(
            f"{r:g}: {_g(row('raw', r)['median_escape_epoch'])} "
            f"({row('raw', r)['escaped']} of {row('raw', r)['seeds']} got there)"
            for r in post_rates) + ". "
        + escape_sentence(0.01, need["0.01"], data["n_samples"], esc["raw"]["copies"]),
        "",
    ]


def _q1_high(cfg, row, ini, pr, trc, diag, hi, good, post_rates, high_rates, vr, leaky):
    seeds = cfg["seeds"]
    k4, k5 = row("raw", 0.4), row("raw", HIGH)
    lines = [
        f"## Q1, too high ({hi}): what separates the runs that fail",
        "",
        "- Outcomes (raw): " + "; ".join(f"{r:g}: {_ci(row('raw', r))} fit "
                                         f"({row('raw', r)['dead_layer']} dead layer, "
                                         f"{row('raw', r)['at_clip']} at the clip, "
                                         f"{row('raw', r)['partial']} partial, "
                                         f"{row('raw', r)['diverged']} diverged)"
                                         for r in (0.4, HIGH)) + ".",
        "- " + compare_counts("0.4", k4["fit"], k4["seeds"], hi, k5["fit"], k5["seeds"]),
        "- Curvature. Sharpness (largest Hessian eigenvalue of the training loss on the first "
        f"{cfg['trace_points']} training points) at init: median {_g(ini['raw']['sharpness'])}, "
        f"residual at most {_g(ini['raw']['sharpness_error'], 2)} (the power iteration runs "
        "until the Rayleigh quotient settles; some eigenvalue lies within the residual ||Hv - "
        "value v|| of each value). Every rate of a seed starts from the same weights and the "
        "same start vector, so the epoch-0 values agree across rates to "
        f"{_g(trc['raw']['epoch0_spread'], 2)}; the largest residual of any check during "
        f"training is {_g(trc['raw']['max_error'], 2)}. Gradient descent on a "
        "quadratic is stable only while lr < 2/sharpness. Peak sharpness of each traced run "
        f"(first {row('raw', GOOD)['traced']} seeds of each rate, every 2 epochs to 100, then "
        "every 10) against 2/lr, with the run's outcome:",
        "",
        "| rate | 2/lr | peak sharpness per run (outcome) | crossed 2/lr and fit | crossed and "
        "failed | stayed below and failed |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for r in high_rates:
        x = row("raw", r)
        runs = ", ".join(f"{_g(p)} ({o})" for p, o in zip(x["peaks"], x["peak_outcomes"]))
        lines.append(f"| {r:g} | {2.0 / r:g} | {runs} | {x['crossed_and_fit']} | "
                     f"{x['crossed_and_failed']} | {x['below_and_failed']} |")
    g = row("raw", GOOD)
    crossed_fit = g["crossed_and_fit"]
    amp = [_amplify(GOOD, p) for p, o in zip(g["peaks"], g["peak_outcomes"])
           if o == "fit" and p is not None and p > 2.0 / GOOD]
    lines += [
        "",
        (f"- At {good}, {crossed_fit} of {g['traced']} traced runs went above 2/lr and still "
         f"fit (at their peak one step multiplies the distance along the steepest direction by "
         f"|1 - lr x sharpness| = {_layers(amp, 2)}): crossing 2/lr does not by itself make a "
         "run fail, so it cannot be what separates the failures at 0.4 and 0.5."
         if crossed_fit else
         f"- At {good} no traced run went above 2/lr, so this run cannot tell whether crossing "
         "it separates failure from success."),
        "- What does separate them, measured at the end of training (raw): the share of dead "
        "units in hidden layers 2-4, median over runs, fit against failed: " + "; ".join(
            f"{r:g}: {_g(row('raw', r)['dead_2to4_fit'], 2)} against "
            f"{_g(row('raw', r)['dead_2to4_failed'], 2)}" for r in (0.4, HIGH))
        + ". Every failed run at these rates ended with a dead layer, at the clip, or "
        "predicting only some clusters (training accuracy of the partial runs: " + "; ".join(
            f"{r:g}: {_share(row('raw', r)['partial_train_accuracy'])}"
            for r in (0.4, HIGH) if row("raw", r)["partial_train_accuracy"]) + ").",
        "- Is the clip the cause? The same raw runs with the exact cross-entropy "
        "(`probabilities=\"exact\"`, no clip, gradient p - y): " + "; ".join(
            f"{r:g}: {_ci(row('raw', r, 'exact'))} fit ({_outcomes(row('raw', r, 'exact'))}) "
            f"against {_ci(row('raw', r))} clipped" for r in (0.4, HIGH)) + ". "
        + _clip_verdict(row),
        "- Are dead units the cause? With LeakyReLU (units cannot die), raw, "
        f"{cfg['variant_seeds']} seeds: " + "; ".join(
            f"{r:g}: {_ci(row('raw', r, 'variant', leaky))} fit"
            for r in vr) + f", against ReLU at {vr[-1]:g}: {_ci(row('raw', vr[-1]))}. "
        + ("With units that cannot die the high rate fits more often, beyond the intervals."
           if distinguishable(row("raw", vr[-1], "variant", leaky)["fit"],
                              row("raw", vr[-1], "variant", leaky)["seeds"],
                              row("raw", vr[-1])["fit"], seeds)
           and row("raw", vr[-1], "variant", leaky)["success_rate"]
           > row("raw", vr[-1])["success_rate"] else
           "This run does not show a difference between them."),
        f"- Dead ReLUs, layers 1-4, median over seeds, raw: at init {_share(pr[hi]['dead_init'])}"
        f"; after the first epoch at {hi}: {_share(pr[hi]['dead_epoch1'])} (at {good}: "
        f"{_share(pr[good]['dead_epoch1'])}); at the end at {hi}: {_share(pr[hi]['dead_end'])} "
        f"(at {good}: {_share(pr[good]['dead_end'])}). A dead layer makes the output the same "
        "for every point and passes back no gradient, so nothing below it can change again.",
        "- Largest batch loss over all updates / first batch loss, median over seeds: "
        + ", ".join(f"{r:g}: {_g(row('raw', r)['median_peak_ratio'], 3)}" for r in post_rates)
        + ".",
        "",
    ]
    return lines


def _clip_verdict(row):
    pairs = [(row("raw", r, "exact"), row("raw", r)) for r in (0.4, HIGH)]
    if any(distinguishable(a["fit"], a["seeds"], b["fit"], b["seeds"]) for a, b in pairs):
        return "The counts differ beyond their intervals: the clip matters here."
    return ("The intervals overlap: removing the clip does not measurably change how often "
            "these rates fit, so the clip is not shown to cause the failures; runs at the clip "
            "are one way a failed run ends.")


def _q2(cfg, data, row, ini, esc, trc, good, post_rates, half, vr, he, leaky, key, diag):
    std = ini["standardised"]
    return [
        "## Q2, standardised inputs",
        "",
        "- " + window_sentence(half["raw"], half["standardised"]) + " Fit, raw against "
        "standardised: " + "; ".join(f"{r:g}: {_ci(row('raw', r))} / "
                                     f"{_ci(row('standardised', r))}" for r in post_rates) + ".",
        "- Failures, standardised: " + "; ".join(
            f"{r:g}: {row('standardised', r)['dead_layer']} dead layer, "
            f"{row('standardised', r)['one_class']} one class, "
            f"{row('standardised', r)['at_clip']} at the clip" for r in post_rates) + ".",
        f"- Input rms {data['raw_rms']:.1f} (raw) against 1.0. At init the signal reaching "
        f"layer 4 is {_g(ini['raw']['activation_rms'][3])} (raw) against "
        f"{_g(std['activation_rms'][3])}, and the first kernel's gradient "
        f"{_g(ini['raw']['kernel_grad'][0])} against {_g(std['kernel_grad'][0])}. Leaving the "
        f"plateau: lr x epochs = {_g(esc['standardised']['lr_times_epochs'])} standardised "
        f"({esc['standardised']['copies']} runs got there) against "
        f"{_g(esc['raw']['lr_times_epochs'])} raw.",
        f"- Sharpness at init {_g(std['sharpness'])} standardised against "
        f"{_g(ini['raw']['sharpness'])} raw; median peak during training, standardised: "
        + "; ".join(f"{r:g}: {_g(row('standardised', r)['median_peak_sharpness'])} (2/lr = "
                    f"{2.0 / r:g}, {row('standardised', r)['crossed_2_over_lr']} of "
                    f"{row('standardised', r)['traced']} crossed)"
                    for r in post_rates if r >= GOOD) + ".",
        f"- What fixes it ({cfg['variant_seeds']} seeds each, fit at "
        + ", ".join(f"{r:g}" for r in vr) + "): standardised he_normal/relu: "
        + ", ".join(_ci(row("standardised", r, "variant", he)) for r in vr)
        + "; standardised random_normal/leaky_relu: "
        + ", ".join(_ci(row("standardised", r, "variant", leaky)) for r in vr)
        + "; raw he_normal/relu: " + ", ".join(_ci(row("raw", r, "variant", he)) for r in vr)
        + ". " + ("He initialisation (weights of std sqrt(2/inputs), so the signal keeps its "
                  "size through the layers) fits at every rate tried on standardised inputs: "
                  "the small initial weights, not standardising itself, make the standardised "
                  "runs fail."
                  if all(row("standardised", r, "variant", he)["success_rate"] >= 0.5 for r in vr)
                  else "He initialisation does not fit at every rate tried here."),
        "",
    ]


def _q3(cfg, row, diag, key, vr):
    return [
        "## Q3, negative weights and inputs: dead units",
        "",
        "- Dead units per layer (1-4) on the training set at init, median over seeds: "
        + "; ".join(f"{s} {'/'.join(v)}: {_share(diag['init'][key(s, v)]['dead'])}"
                    for s in SCALINGS for v in VARIANTS) + ". "
        "A unit is dead only when its input is negative for every point; with weights and "
        "inputs of both signs each first-layer unit fires on part of the data. (For LeakyReLU "
        "the same count means units in the negative part, which still pass back slope x "
        "gradient.)",
        "- After training, median per layer: " + "; ".join(
            f"{s} at {r:g}: {_share(diag['post'][s][f'{r:g}']['dead_end'])}"
            for s in SCALINGS for r in (GOOD, HIGH)) + ".",
        f"- Dead units at the end at {vr[-1]:g}, layers 1-4: " + "; ".join(
            f"{s} {'/'.join(v)}: {_share(row(s, vr[-1], 'variant', v)['median_dead_end'])}"
            for v in VARIANTS[1:] for s in SCALINGS) + ".",
        "",
    ]


def _data_section(cfg, row, data, data_kinds, post_rates):
    if not data_kinds:
        return []
    lines = [
        "## How the answer depends on the data set",
        "",
        f"The post used 10 samples; this run's main data set ({data['n_samples']} points, "
        f"std {data['cluster_std']:g}) is an assumption. The same raw runs on other sizes "
        f"({cfg['seeds']} seeds, {cfg['epochs']} epochs; more points give more updates per "
        "epoch; with 10 points the validation set is 2 points, so the training accuracy is "
        "shown too):",
        "",
        "| points | updates/epoch | " + " | ".join(f"fit at {r:g}" for r in post_rates)
        + " | median train acc at each rate |",
        "|---:|---:|" + "---|" * len(post_rates) + "---|",
    ]
    for k in [f"samples={data['n_samples']}"] + data_kinds:
        n = int(k.split("=")[1])
        kind = "post" if n == data["n_samples"] else k
        n_train = int(math.ceil(n * (1.0 - cfg["validation_split"])))
        upe = int(math.ceil(n_train / cfg["batch_size"]))
        rr = [row("raw", r, kind) for r in post_rates]
        lines.append(f"| {n} | {upe} | " + " | ".join(_ci(x) for x in rr) + " | "
                     + " / ".join(_g(x["median_train_accuracy"], 2) for x in rr) + " |")
    fits = {k: [r for r in post_rates if row("raw", r, k)["success_rate"] >= 0.5]
            for k in data_kinds}
    lines += ["", "Rates that fit for at least half of the seeds: "
              f"{data['n_samples']} points: "
              f"{_rates([r for r in post_rates if row('raw', r)['success_rate'] >= 0.5])}; "
              + "; ".join(f"{k.split('=')[1]} points: {_rates(v)}" for k, v in fits.items())
              + ". Which rates work depends on how many updates a run gets, so the post's "
              "answer need not carry over to a different data set.", ""]
    return lines


def _amplify(rate, sharp):
    return None if sharp is None else abs(1.0 - rate * sharp)


def _argmax1(values):
    vals = [-math.inf if v is None else v for v in values]
    return int(np.argmax(vals)) + 1 if vals else "n/a"


def _n(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def _rates(rates):
    return ", ".join(f"{r:g}" for r in rates) if rates else "none"


def _pct(v):
    return "n/a" if v is None else f"{v:.0%}"
