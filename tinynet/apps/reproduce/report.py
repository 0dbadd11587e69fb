"""The tables and the write-up of ``tinynet reproduce``: results.csv and REPORT.md.

``report(summary)`` needs only the summary dict, so ``report(json.load(...))``
rebuilds REPORT.md from results.json.
"""

import csv
import io
import math

import numpy as np

from tinynet.apps.reproduce.setup import GOOD, HIGH, LOW, ONE_CLASS, SCALINGS, VARIANTS
from tinynet.apps.reproduce.summary import _div

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


def report(summary):
    """REPORT.md: the post's three questions answered with this run's numbers only."""
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
    esc = diag["escape"]
    t, env = summary["timing"], summary["environment"]
    lo, hi, good = f"{LOW:g}", f"{HIGH:g}", f"{GOOD:g}"
    text = [
        "# The 10x10x10x10x4 learning-rate experiment, measured",
        "",
        f"Every number below was computed by this run (tinynet {env['tinynet']}, backend "
        f"{env['backend']}, {env['dtype']}, {t['total_s']:.0f} s in all, {t['training_s']:.0f} s"
        " of it training). Figures: `regions.png` (the post's three panels), `curves.png`, "
        "`success.png`, `sharpness.png`; per-run numbers: `results.csv`, `results.json`.",
        "",
        "## Setup",
        "",
        f"- Data: {data['n_samples']} points in 4 Gaussian blobs (centres "
        f"{', '.join(f'({c[0]:g}, {c[1]:g})' for c in data['centers'])}, std "
        f"{data['cluster_std']:g}): raw inputs from {data['raw_min']:.1f} to "
        f"{data['raw_max']:.1f}, rms {data['raw_rms']:.1f}. Shuffled, then the last "
        f"{data['n_validation']} rows are the validation set (Keras's validation_split takes "
        "the tail); the standardised copy uses a StandardScaler fitted on the first "
        f"{data['n_train']} rows only.",
        "- Network and training as in the post: Dense(10, relu) x4 -> Dense(4, softmax), "
        "RandomNormal(0, 0.05) kernels, zero biases, SGD, categorical cross-entropy, batch "
        f"{cfg['batch_size']}, {e} epochs = {e * upe} updates per run.",
        f"- The post's rates with {_n(cfg['seeds'], 'seed')} each, and "
        f"{len(cfg['grid_rates'])} rates from {cfg['grid_rates'][0]:g} to "
        f"{cfg['grid_rates'][-1]:g} (log grid) with {_n(cfg['grid_seeds'], 'seed')}. A seed "
        "starts every rate from the same weights, so the differences come from the rate alone.",
        f"- Outcomes. *fit*: final validation accuracy above {cfg['threshold']:g}. *diverged*: "
        "the loss became NaN/inf (the run is frozen there; every other run trains for "
        "every epoch, however far its loss grows). "
        "*dead layer*: some hidden layer has no unit that fires on any training point, so the "
        f"output is constant. *one class*: one class gets >= {ONE_CLASS:.0%} of the validation "
        "predictions, with every layer alive. *partial*: anything else.",
        "",
        "## What happened",
        "",
        "| rate | inputs | fit | diverged | dead layer | one class | partial | median val acc |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rate in post_rates:
        for scaling in SCALINGS:
            r = row(scaling, rate)
            text.append(f"| {rate:g} | {scaling} | {r['fit']}/{r['seeds']} | {r['diverged']} | "
                        f"{r['dead_layer']} | {r['one_class']} | {r['partial']} | "
                        f"{_g(r['median_val_accuracy'], 2)} |")
    fits = {s: [r for r in post_rates if row(s, r)["success_rate"] >= 0.5] for s in SCALINGS}
    need = esc["raw"]["points_needed"]
    text += [
        "",
        "The post: 0.01, 0.1 and 0.4 fit, 0.5 fails, 0.001 fails differently; standardised, "
        "every rate above 0.1 fails. Here the post's rates that fit for at least half of the "
        f"seeds are: raw {_rates(fits['raw'])}; standardised {_rates(fits['standardised'])}. "
        "`success.png` shows the whole grid.",
        "",
        f"## Q1, too low ({lo}): a plateau, not a slow descent",
        "",
        f"- Initial loss: median {_g(ini['raw']['loss'], 5)} against ln 4 = "
        f"{ini['raw']['chance']:.5f}: the network starts as a uniform guess whose output "
        "ignores the input.",
        "- Why: each layer multiplies the signal by about 0.05 x sqrt(10/2) = 0.11. Activation "
        f"rms at init, input then layers 1-4 (median over seeds): {_g(ini['raw']['input_rms'])}"
        f" -> {_layers(ini['raw']['activation_rms'][:4])}. The chain rule makes each kernel's "
        "gradient a product of the other layers' small weights: ||dL/dW|| for layers 1-5 = "
        f"{_layers(ini['raw']['kernel_grad'])}, while the output bias, which multiplies "
        f"nothing, gets ||dL/db5|| = {_g(ini['raw']['bias_grad'][-1])}.",
        f"- After {e} epochs at {lo} (raw): {row('raw', LOW)['one_class']}/{cfg['seeds']} seeds "
        f"predict one class for >= {ONE_CLASS:.0%} of the points (median share of the largest "
        f"class {_g(pr[lo]['max_fraction'])}). Relative change of the kernels, layers 1-5: "
        f"{_layers(pr[lo]['kernel_relative'])}; change of the biases: "
        f"{_layers(pr[lo]['bias_change'])} (largest in layer "
        f"{_argmax1(pr[lo]['bias_change'])}). With the input's signal down to "
        f"{_g(ini['raw']['activation_rms'][3])} by layer 4 the output is almost the same for "
        "every point, so all a descent can fit on the plateau is the class frequencies, through "
        "the biases: the largest class for every point.",
        f"- Leaving the plateau costs a fixed amount of rate x time: median lr x (epochs to val "
        f"acc > {cfg['threshold']:g}) = {_g(esc['raw']['lr_times_epochs'])} "
        f"({esc['raw']['copies']} raw runs got there). Median epochs at the post's rates: "
        + ", ".join(f"{r:g}: {_g(row('raw', r)['median_escape_epoch'])} "
                    f"({row('raw', r)['escaped']}/{row('raw', r)['seeds']} got there)"
                    for r in post_rates)
        + f". So {lo} needs about {_g(_div(esc['raw']['lr_times_epochs'], LOW))} epochs of "
        f"{upe} updates. For 0.01 to fit in {e} epochs, as in the post, the data set needs "
        f"about {_g(need['0.01'])} points (more points, more updates per epoch); this run has "
        f"{data['n_samples']}" + (", so here 0.01 has too few updates to leave the plateau."
                                  if (need["0.01"] or 0) > data["n_samples"] else
                                  ", enough for 0.01 to leave the plateau in time."),
        "",
        f"## Q1, too high ({hi}): the curvature outgrows 2/lr",
        "",
        "- Outcomes (raw): " + "; ".join(
            f"{r:g}: {row('raw', r)['fit']} fit, {row('raw', r)['diverged']} diverged, "
            f"{row('raw', r)['dead_layer']} dead layer, {row('raw', r)['one_class']} one class, "
            f"{row('raw', r)['partial']} partial" for r in (0.4, HIGH)) + ".",
        "- The loss jumps instead of falling: largest batch loss over all updates / first "
        "batch loss, median over seeds: " + ", ".join(
            f"{r:g}: {_g(row('raw', r)['median_peak_ratio'], 3)}" for r in post_rates) + ".",
        f"- Sharpness (largest Hessian eigenvalue of the training loss) at init: median "
        f"{_g(ini['raw']['sharpness'])}, so 2/sharpness = "
        f"{_g(_div(2.0, ini['raw']['sharpness']))}: every rate is stable at the start. The "
        "curvature climbs while a run leaves the plateau (`sharpness.png`). Gradient descent "
        "on a quadratic is stable only while lr < 2/sharpness; beyond that each step lands "
        "farther from the valley floor than it started, on the other side. The bound is 20 "
        "at 0.1 but 4 at 0.5. Peak sharpness per run (first "
        f"{row('raw', GOOD)['traced']} seeds of each rate, checked every 2 epochs) against "
        "2/lr: " + "; ".join(
            f"{r:g}: median peak {_g(row('raw', r)['median_peak_sharpness'])} vs {2.0 / r:g}, "
            f"{row('raw', r)['crossed_2_over_lr']}/{row('raw', r)['traced']} went above it and "
            f"{row('raw', r)['crossed_and_fit']} of those still fit"
            for r in post_rates if r >= GOOD) + ". At the median peak one step multiplies the "
        "distance along the steepest direction by |1 - lr x sharpness| = " + ", ".join(
            f"{_g(_amplify(r, row('raw', r)['median_peak_sharpness']), 2)} at {r:g}"
            for r in post_rates if r >= GOOD) + ": a brief overshoot near the bound can settle "
        "again, a many-fold one throws the weights far away, and the next point shows what "
        "that does to the units.",
        f"- Dead ReLUs (units silent on every training point), layers 1-4, median over seeds, "
        f"raw: at init {_share(pr[hi]['dead_init'])}; after the first epoch at {hi}: "
        f"{_share(pr[hi]['dead_epoch1'])} (at {good}: {_share(pr[good]['dead_epoch1'])}); at the"
        f" end at {hi}: {_share(pr[hi]['dead_end'])} (at {good}: {_share(pr[good]['dead_end'])})"
        ". An overshooting step can push a layer's biases so far down that every unit goes "
        "silent; then the output is constant, every gradient below it is zero, and the run "
        "cannot recover.",
        "",
        "## Q2, standardised inputs",
        "",
        f"- Input rms {data['raw_rms']:.1f} (raw) against 1.0. At init the signal reaching layer "
        f"4 is {_g(ini['raw']['activation_rms'][3])} (raw) against "
        f"{_g(ini['standardised']['activation_rms'][3])}, and the first kernel's gradient "
        f"{_g(ini['raw']['kernel_grad'][0])} against {_g(ini['standardised']['kernel_grad'][0])}"
        ": with zero biases and small weights the network is nearly linear in its input, so "
        "everything it computes scales with the input.",
        f"- Leaving the plateau: lr x epochs = {_g(esc['standardised']['lr_times_epochs'])} "
        f"standardised ({esc['standardised']['copies']} runs got there) against "
        f"{_g(esc['raw']['lr_times_epochs'])} raw. Median epochs, standardised: " + ", ".join(
            f"{r:g}: {_g(row('standardised', r)['median_escape_epoch'])} "
            f"({row('standardised', r)['escaped']}/{row('standardised', r)['seeds']})"
            for r in post_rates) + f". At {good} in {e} epochs that would take about "
        f"{_g(esc['standardised']['points_needed'][good])} points.",
        f"- Curvature: sharpness at init {_g(ini['standardised']['sharpness'])} standardised "
        f"against {_g(ini['raw']['sharpness'])} raw; peak during training, standardised: "
        + "; ".join(f"{r:g}: {_g(row('standardised', r)['median_peak_sharpness'])} "
                    f"(2/lr = {2.0 / r:g}, {row('standardised', r)['crossed_2_over_lr']} crossed)"
                    for r in post_rates if r >= GOOD) + ".",
        "- Share of seeds that fit, raw / standardised: " + ", ".join(
            f"{r:g}: {row('raw', r)['success_rate']:.2f} / "
            f"{row('standardised', r)['success_rate']:.2f}" for r in post_rates)
        + ". Failures, standardised: " + ", ".join(
            f"{r:g}: {row('standardised', r)['dead_layer']} dead layer, "
            f"{row('standardised', r)['one_class']} one class" for r in post_rates)
        + ". Rescaling the inputs rescales the first layer's gradients and the speed at which "
        "the plateau is left, so the same nominal rate is a different step: the window of "
        "rates that fit moves with the input scale.",
        "",
        "## Q3, negative weights and inputs: dead units",
        "",
        "- Dead units per layer (1-4) on the training set at init, median over seeds: "
        + "; ".join(f"{s} {'/'.join(v)}: {_share(diag['init'][key(s, v)]['dead'])}"
                    for s in SCALINGS for v in VARIANTS) + ". "
        "A unit is dead only when its input is negative for every point. With weights and "
        "inputs of both signs each first-layer unit fires on part of the data, so negative "
        "weights or standardised inputs do not kill units by themselves; deeper units die "
        "when all their inputs push them below zero. (For LeakyReLU the same count means units "
        "in the negative part, which still pass back slope x gradient and can recover.)",
        "- After training, median per layer: " + "; ".join(
            f"{s} at {r:g}: {_share(diag['post'][s][f'{r:g}']['dead_end'])}"
            for s in SCALINGS for r in (GOOD, HIGH)) + ".",
        f"- Other initialisations and activations ({cfg['variant_seeds']} seeds, fit at "
        + ", ".join(f"{r:g}" for r in cfg["variant_rates"]) + "): " + "; ".join(
            f"{s} {'/'.join(v)}: " + ", ".join(
                f"{row(s, r, 'variant', v)['fit']}/{row(s, r, 'variant', v)['seeds']}"
                for r in cfg["variant_rates"]) for v in VARIANTS[1:] for s in SCALINGS)
        + f". Dead units at the end at {cfg['variant_rates'][-1]:g}, layers 1-4: " + "; ".join(
            f"{s} {'/'.join(v)}: "
            f"{_share(row(s, cfg['variant_rates'][-1], 'variant', v)['median_dead_end'])}"
            for v in VARIANTS[1:] for s in SCALINGS) + ".",
        "",
    ]
    return "\n".join(text)


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
