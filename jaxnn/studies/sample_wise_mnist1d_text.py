"""Sentences and Markdown of the sample-wise MNIST-1D study, chosen from its results alone.

Every sentence reads numbers that ``sample_wise_mnist1d.run`` computed: where
each curve's training error stops being 0 as N grows, the pre-registered
threshold contrast of its test error (rise over a smaller N, excess over the
largest N, minimum detectable rise), the exploratory Holm-controlled scan, and
how the threshold moves with width. Errors are shown in percent. Nothing here
trains or measures.
"""

from __future__ import annotations

import math

from jaxnn.formatting import fmt, label_noise_words, p_text, table

CITATION = (
    "Nakkiran, Kaplun, Bansal, Yang, Barak & Sutskever (2019), “Deep double descent: where "
    "bigger models and more data hurt”, arXiv:1912.02292 (ICLR 2020), §6"
)


def curve_name(width: int, label_noise: float) -> str:
    """The name of a curve in the JSON, e.g. ``"mlp M=47, label noise 0.15"``."""
    return f"mlp M={width}, label noise {label_noise:g}"


def curve_title(curve: dict) -> str:
    """The name of a curve in prose and figures, e.g. "M = 47, 15 % label noise"."""
    return f"M = {curve['width']}, {label_noise_words(curve['label_noise'])}"


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


def _percent(value, error=None) -> str:
    if not _finite(value):
        return "—"
    if not _finite(error):
        return f"{fmt(100 * value, 3)} %"
    return f"{fmt(100 * value, 3)} ± {fmt(100 * error, 2)} %"


def _points(value, error=None) -> str:
    """A difference of two error rates, in percentage points."""
    if not _finite(value):
        return "—"
    sign = "+" if value > 0 else ""
    if not _finite(error):
        return f"{sign}{fmt(100 * value, 3)} percentage points"
    return f"{sign}{fmt(100 * value, 3)} ± {fmt(100 * error, 2)} percentage points"


def _n(value) -> str:
    return "—" if value is None else f"N = {fmt(value)}"


def _threshold_sentence(curve: dict) -> str:
    threshold = curve["threshold"]
    title = curve_title(curve)
    if threshold["index"] is None:
        return f"{title}: no N of the grid is fitted exactly on every seed."
    text = (
        f"{title} ({fmt(curve['n_params'])} parameters): every seed fits its training labels "
        f"exactly up to **{_n(curve['threshold_n_train'])}** "
        f"({fmt(curve['params_per_example'], 2)} parameters per example)"
    )
    if threshold["window"] is None:
        text += ", the largest N of the grid"
    else:
        text += f"; at {_n(curve['n_train'][threshold['window'][1]])} some seed no longer does"
    if not threshold["monotone"]:
        text += " (a smaller N is not fitted on every seed: the training error is not monotone)"
    return text + "."


def _contrast_sentence(curve: dict) -> str:
    title = curve_title(curve)
    contrast = curve["contrast"]
    if contrast is None:
        return f"{title}: no window to test ({curve['threshold']['reason']})."
    window = " and ".join(fmt(n) for n in curve["window_values"])
    if not contrast["tested"]:
        return f"{title}: window N = {window} not tested ({contrast['reason']})."
    lowest = curve["smaller_lowest"]
    text = (
        f"{title}: over the window N = {window} the test error is "
        f"{_percent(contrast['window_value'], contrast['window_standard_error'])}. Against "
        f"{_n(curve['rise_versus_n_train'])}, the smaller N whose paired test comes closest "
        "to a rise, it differs by "
        f"**{_points(contrast['rise'], contrast['rise_standard_error'])}** "
        f"(Bonferroni over {contrast['rise_cells']} smaller N, {p_text(contrast['rise_p'])}; "
        f"the smallest rise this test detects with {fmt(100 * contrast['power'], 2)} % power is "
        f"{_points(contrast['rise_minimum_detectable'])}); against the largest "
        f"{_n(curve['n_train'][-1])} by "
        f"{_points(contrast['excess'], contrast['excess_standard_error'])} "
        f"({p_text(contrast['excess_p'])}; minimum detectable "
        f"{_points(contrast['excess_minimum_detectable'])}). "
    )
    alpha = contrast["alpha"]
    if contrast["significant"]:
        return text + (
            f"Both are significant at {fmt(alpha)}: **more data hurt** — going from "
            f"N = {fmt(curve['rise_versus_n_train'])} to the threshold window raised the test "
            "error, and it falls again at the largest N."
        )
    if contrast["rise_p"] < alpha:
        return text + (
            f"The rise is significant at {fmt(alpha)} but the excess over the largest N is not, "
            "so a peak (rise and fall) is not established."
        )
    if contrast["window_value"] < lowest["value"]:
        return text + (
            "The window's seed mean is below the lowest at any smaller N "
            f"({_percent(lowest['value'])} at N = {fmt(lowest['n_train'])}): **more data did "
            "not hurt**, and a true rise of the detectable size would have been found with 80 % "
            "power."
        )
    return text + (
        f"The rise is not significant at {fmt(alpha)}: with these seeds more data did not "
        "measurably hurt."
    )


def _scan_sentence(curve: dict) -> str:
    scan = curve["test_error_scan"]
    title = curve_title(curve)
    if scan is None:
        return f"{title}: a single N, nothing to scan."
    if scan["index"] is None:
        return f"{title}: the test error never rises above a smaller N's seed mean."
    text = (
        f"{title}: the largest rise is from N = {fmt(scan['dip_n_train'])} to "
        f"N = {fmt(scan['n_train'])}, {_points(scan['rise'], scan['rise_standard_error'])} "
        f"(Holm p = {fmt(scan['rise_p_holm'], 2)} over {scan['cells_scanned']} N)"
    )
    if scan["excess_p_holm"] is not None:
        text += (
            f", {_points(scan['excess'], scan['excess_standard_error'])} above the largest N "
            f"(Holm p = {fmt(scan['excess_p_holm'], 2)})"
        )
    return text + (": a peak." if scan["significant"] else ": not a peak after Holm's correction.")


def _shift_sentence(shift: dict) -> str:
    noise = (
        "Without label noise"
        if shift["label_noise"] == 0
        else f"With {fmt(100 * shift['label_noise'])} % label noise"
    )
    narrow, wide = shift["narrow_threshold_n_train"], shift["wide_threshold_n_train"]
    if narrow is None or wide is None:
        return (
            f"{noise}: the threshold of M = {shift['narrow_width']} or M = "
            f"{shift['wide_width']} is not inside the grid, so its movement is not measured."
        )
    text = (
        f"{noise}, M = {shift['narrow_width']} fits every seed up to N = {fmt(narrow)}"
        + (f" (not at {fmt(shift['narrow_next_n_train'])})" if shift["narrow_next_n_train"] else "")
        + f" and M = {shift['wide_width']} up to N = {fmt(wide)}"
        + (f" (not at {fmt(shift['wide_next_n_train'])})" if shift["wide_next_n_train"] else "")
        + f": a ratio of {fmt(shift['ratio'], 3)}. "
    )
    if shift["wide_larger"]:
        text += (
            "The wider model's threshold is at the larger N, as the effective-complexity "
            "argument predicts"
        )
    elif wide == narrow:
        text += "The two thresholds fall on the same N of the grid"
    else:
        text += "The wider model's threshold is at the *smaller* N, against the prediction"
    if shift["seeds_compared"]:
        text += (
            f"; seed by seed (each seed's own largest fitted N) the wide model's is larger on "
            f"{shift['seeds_wide_larger']} of {shift['seeds_compared']} seeds and smaller on "
            f"{shift['seeds_wide_smaller']} (one-sided sign test {p_text(shift['sign_test_p'])})"
        )
    return text + "."


def _curve_table(results: dict, curve: dict) -> str:
    rows = [
        r
        for r in results["rows"]
        if r["label_noise"] == curve["label_noise"] and r["width"] == curve["width"]
    ]
    window = curve.get("window_values") or []
    body = [
        [
            fmt(r["n_train"]) + (" ◀" if r["n_train"] in window else ""),
            r["epochs"],
            _percent(r["train_error"], r["train_error_standard_error"]),
            _percent(r["test_error"], r["test_error_standard_error"]),
            f"{fmt(r['test_loss'])} ± {fmt(r['test_loss_standard_error'], 2)}",
        ]
        for r in rows
    ]
    return table(["N", "epochs", "train error", "test error", "test cross-entropy"], body)


def markdown(results: dict) -> str:
    """The sample-wise section of REPORT.md, every number read from ``results``."""
    config = results["run"]["config"]
    curves = results["curves"]
    contrasts = results["threshold_contrasts"]
    significant = [c for c in contrasts if c.get("significant")]
    rises = [c for c in contrasts if c.get("tested") and c["rise_p"] < c["alpha"]]
    seeds = config["seeds"]
    grid = ", ".join(fmt(n) for n in config["n_train"])
    out = [
        "### Set-up",
        "Nakkiran et al. define a training procedure's *effective model complexity* as the "
        "largest number of training examples it fits to (near) zero training error, and "
        "predict that test error peaks when N is close to it; at a fixed width, adding data "
        "can then hurt, and a wider model's peak sits at a larger N "
        f"({CITATION}). Here: MNIST-1D generated with {fmt(config['data']['num_samples'])} "
        f"samples, a training pool of {fmt(results['n_pool'])} and one test set of "
        f"{fmt(results['n_test'])} examples used for every N. Each seed draws a permutation "
        "of the pool; its training set of size N is the first N examples, so a seed's sets "
        "are nested and its noisy labels, initialization and test set are the same at every "
        f"N (paired across N). N = {grid}; MLP 40 → M → M → 10 with M = "
        f"{', '.join(str(w) for w in config['widths'])}; label noise "
        f"{', '.join(fmt(100 * q) + ' %' for q in config['label_noises'])}; {seeds} seeds. "
        "SGD with learning rate "
        f"{fmt(config['learning_rate'])}, momentum {fmt(config['momentum'])}, batches of "
        f"{config['batch_size']}, softmax cross-entropy, **{fmt(config['steps'])} steps at "
        "every N** (epochs = steps × batch / N, rounded), so every N gets the same "
        "optimization and the training error rises with N. Errors are fractions "
        "misclassified in percent; ± is the standard error over seeds.",
        "![Sample-wise double descent on MNIST-1D](sample_wise_mnist1d.png)",
        "### Where the training error stops being 0",
        "The threshold is read from the training error alone: the largest N at which every "
        "seed fits every training label exactly. The window tested below is that N and the "
        "next larger one (marked ◀ in the tables), fixed before any test error is compared.",
        " ".join(_threshold_sentence(c) for c in curves),
        "### Did more data hurt? The pre-registered threshold contrast",
        "For each curve one test (`jaxnn.peaks.threshold_contrast`): each seed's mean test "
        "error over the window against (i) its test error at every smaller N, one-sided "
        "paired t-tests Bonferroni-corrected over those N (the *rise*: more data hurt), and "
        "(ii) its test error at the largest N (the *excess*: the second descent). A curve "
        f"shows sample-wise double descent when both are significant at "
        f"{fmt(contrasts[0].get('alpha', 0.05)) if contrasts else '0.05'}.",
        " ".join(_contrast_sentence(c) for c in curves),
        (
            f"**Verdict:** {len(significant)} of {len(contrasts)} curves show a significant rise "
            "and fall at the threshold"
            + (": " + "; ".join(c["name"] for c in significant) + "." if significant else ".")
            + f" {len(rises)} of {len(contrasts)} show a significant rise over a smaller N"
            + (" (" + "; ".join(c["name"] for c in rises) + ")." if rises else ".")
        ),
        "### Does the threshold move with width?",
        " ".join(_shift_sentence(s) for s in results["threshold_shift"])
        or "Only one width per noise level: nothing to compare.",
        "### Exploratory scan",
        "Not pre-registered: along each curve, the N whose seed-mean test error rises most "
        "above a smaller N's (`jaxnn.peaks.peak_of`), its rise and its excess over the "
        "largest N each Holm-adjusted over the N's scanned.",
        " ".join(_scan_sentence(c) for c in curves),
        "### Numbers",
    ]
    for curve in curves:
        out += [f"**{curve_title(curve)}**", _curve_table(results, curve)]
    return "\n\n".join(out)


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    lines = []
    for curve in results["curves"]:
        text = f"{curve['name']}: "
        text += (
            f"train error 0 up to N = {curve['threshold_n_train']}"
            if curve["threshold_n_train"] is not None
            else "no N fitted exactly"
        )
        contrast = curve["contrast"]
        if contrast is not None and contrast["tested"]:
            text += (
                f"; window {curve['window_values']}: rise {100 * contrast['rise']:+.2f} pp "
                f"(p = {contrast['rise_p']:.2g}), excess {100 * contrast['excess']:+.2f} pp "
                f"(p = {contrast['excess_p']:.2g}), "
                + ("significant" if contrast["significant"] else "not significant")
            )
        lines.append(text)
    return lines
