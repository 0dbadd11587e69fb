"""Numbers: the summary dict of a reproduce run, looked up by what each value is.

It finds a rate's row of one kind of run, or the diagnostics at init, and hands
them to the sentence functions of sentences.py (Numbers.window(), ...), so the
report's sections ask for a sentence by name.
"""

import math

import numpy as np

from tinynet.apps.reproduce import sentences as say
from tinynet.apps.reproduce.setup import (
    GOOD,
    HE,
    HIGH,
    LOW,
    POST_VARIANT,
    SCALINGS,
    SWAPS,
    check_epochs,
    leaky,
)


def fmt(v, digits=3):
    """A number with `digits` significant digits, or n/a for None/NaN/inf."""
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) \
        else f"{v:.{digits}g}"


def layers_text(values, digits=2):
    return " / ".join(fmt(v, digits) for v in values)


def share_text(values, digits=2):
    return " / ".join("n/a" if v is None else f"{v:.{digits}f}" for v in values)


class Numbers:
    """The summary dict, looked up by meaning: rows per (scaling, rate, kind, variant)."""

    def __init__(self, summary):
        self.summary = summary
        self.cfg, self.data = summary["config"], summary["data"]
        self.diag = summary["diagnostics"]
        self.rows = {(r["scaling"], r["kind"], r["init"], r["activation"], r["learning_rate"]): r
                     for r in summary["rates"]}
        self.per_epoch = self.data["updates_per_epoch"]
        self.updates = self.cfg["epochs"] * self.per_epoch
        self.check_epochs = check_epochs(self.cfg["epochs"])

    def row(self, scaling, rate, kind="post", variant=POST_VARIANT):
        return self.rows[(scaling, kind, *variant, rate)]

    def has(self, scaling, rate, kind="post", variant=POST_VARIANT):
        return (scaling, kind, *variant, rate) in self.rows

    def init(self, scaling, variant=POST_VARIANT):
        return self.diag["init"][f"{scaling}/{'/'.join(variant)}"]

    @staticmethod
    def outcomes_text(r):
        parts = [(r["fit"], "fit"), (r["diverged"], "went NaN/inf"),
                 (r["dead_layer"], "ended with a dead layer"),
                 (r["at_clip"], "stuck at the clip"), (r["one_class"], "predict one class"),
                 (r["partial"], "partial")]
        return ", ".join(f"{say.count_ci(k, r['seeds'])} {w}" for k, w in parts if k)

    @staticmethod
    def commonest_layer(r):
        counts = r["death_layers_before_fit"]
        return int(np.argmax(counts)) + 1 if any(counts) else "n/a"

    def half(self, scaling):
        return [r for r in self.cfg["post_rates"] if self.row(scaling, r)["success_rate"] >= 0.5]

    # --- the sentences, with their numbers looked up ---------------------------------
    def window(self):
        return say.window_sentence(self.half("raw"), self.half("standardised"),
                                   self.cfg["epochs"])

    def horizon_low(self):
        rate = self.cfg["raw_horizon_rates"][0]
        r, esc = self.row("raw", rate, "horizon"), self.diag["escape"]["raw"]
        return say.horizon_low_sentence(
            rate, r["fit_at_post_budget"], r["fit"], r["seeds"], self.cfg["epochs"],
            self.cfg["long_epochs"], self.per_epoch, esc["lr_times_epochs"], LOW,
            (esc["copies"], esc["runs"]) if "runs" in esc else None)

    def horizon_window(self):
        rate = self.cfg["standardised_horizon_rates"][0]
        r, hi = self.row("standardised", rate, "horizon"), self.row("standardised", HIGH)
        return say.horizon_window_sentence(
            rate, r["fit_at_post_budget"], r["fit"], r["seeds"], self.cfg["epochs"],
            self.cfg["long_epochs"], hi["dead_layer"], hi["seeds"] - hi["fit"], HIGH)

    def swap_sentence(self):
        rate = self.cfg["swap_rates"][0]
        fits = {s: self.row(s, rate)["fit"] for s in SCALINGS}
        fits.update({s: self.row(s, rate, "swap")["fit"] for s in SWAPS})
        return say.scale_swap_sentence(rate, fits, self.cfg["seeds"])

    def overshoot_sentence(self):
        hi, good = self.row("raw", HIGH), self.row("raw", GOOD)
        return say.overshoot_sentence(
            HIGH, GOOD, hi["overshoot_before_fit"], good["overshoot_before_fit"],
            hi["overshoot_before_death"], hi["overshoot_after_fit"], good["overshoot_after_fit"],
            self.diag["overshoot"]["raw"]["points"])

    def kill_short(self):
        rate = self.cfg["leaky_rates"][0]
        plain, warm = self.row("raw", rate, "plain"), self.row("raw", rate, "warmup")
        fits = [self.row("raw", rate, "variant", leaky(a))["fit"]
                for a in self.cfg["leaky_slopes"]]
        return say.kill_short(rate, plain["dead_layer"], warm["dead_layer"], plain["fit"],
                              warm["fit"], plain["seeds"], self.cfg["leaky_slopes"], fits)

    def q2_short(self):
        rate, he_rate = self.cfg["swap_rates"][0], self.cfg["variant_rates"][-1]
        fits = {s: self.row(s, rate)["fit"] for s in SCALINGS}
        fits.update({s: self.row(s, rate, "swap")["fit"] for s in SWAPS})
        return say.q2_short(rate, fits, self.cfg["seeds"], he_rate,
                            self.row("raw", he_rate, "variant", HE)["fit"],
                            self.row("standardised", he_rate, "variant", HE)["fit"])

    def kill_sentence(self):
        return say.step_signal_sentence(
            HIGH, GOOD, self.row("raw", HIGH)["median_shift_ratio"],
            self.row("raw", GOOD)["median_shift_ratio"], self.init("raw")["activation_rms"],
            self.init("raw")["input_rms"])

    def warmup_counts(self):
        rates = self.cfg["warmup_rates"]
        plain = [self.row("raw", r, "plain") for r in rates]
        warm = [self.row("raw", r, "warmup") for r in rates]
        return rates, plain, warm

    def warmup_sentence(self):
        rates, plain, warm = self.warmup_counts()
        return say.warmup_sentence(
            list(rates), [r["dead_layer"] for r in plain], [r["dead_layer"] for r in warm],
            [r["fit"] for r in plain], [r["fit"] for r in warm], plain[0]["seeds"],
            self.cfg["warmup_epochs"] * self.per_epoch)

    def leaky_sentence(self):
        rate, slopes = self.cfg["leaky_rates"][0], self.cfg["leaky_slopes"]
        fits = [self.row("raw", rate, "variant", leaky(a))["fit"] for a in slopes]
        relu = self.row("raw", rate, "plain")
        return say.leaky_sentence(rate, slopes, fits, self.cfg["ablation_seeds"], relu["fit"],
                                  relu["seeds"])

    def initial_dead_sentence(self):
        rate = self.cfg["variant_rates"][-1]
        return say.initial_dead_sentence(
            self.init("raw")["dead"], self.init("standardised", HE)["dead"],
            self.row("standardised", rate, "variant", HE)["fit"], self.cfg["seeds"], rate)

    def init_sentence(self):
        rates = self.cfg["variant_rates"]
        return say.init_sentence(
            rates, [self.row("raw", r, "variant", HE)["fit"] for r in rates],
            [self.row("standardised", r, "variant", HE)["fit"] for r in rates],
            [self.row("raw", r)["fit"] for r in rates],
            [self.row("standardised", r)["fit"] for r in rates], self.cfg["seeds"])
