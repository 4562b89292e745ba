"""Sentences and Markdown of the MNIST-1D double-descent study, chosen from its results alone.

Every sentence reads numbers that ``double_descent_mnist1d.run`` computed: where
each curve's training error reaches 0, its test-error and test-loss peaks with
their Holm-adjusted paired tests, how label noise moves them, and the published
single-seed curves against our seed means in prediction-z units. Errors are
shown in percent. Nothing here trains or measures.
"""

from __future__ import annotations

import math

import numpy as np

from jaxnn.formatting import fmt, label_noise_words, table
from jaxnn.studies.contrast_text import contrast_sentence


def _percent(value, digits: int = 3) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{fmt(100 * value, digits)} %"


def _percent_pm(value, error) -> str:
    if error is None or not math.isfinite(error):
        return _percent(value)
    return f"{fmt(100 * value, 3)} ± {fmt(100 * error, 2)} %"


def _points(value, error=None) -> str:
    """A difference of two error rates, in percentage points."""
    if value is None or not math.isfinite(value):
        return "—"
    sign = "+" if value > 0 else ""
    if error is None or not math.isfinite(error):
        return f"{sign}{fmt(100 * value, 3)} percentage points"
    return f"{sign}{fmt(100 * value, 3)} ± {fmt(100 * error, 2)} percentage points"


def curve_title(curve: dict) -> str:
    """The name of a curve in the text and the figure titles, e.g. "MLP, 15 % label noise"."""
    return f"{curve['model'].upper()}, {label_noise_words(curve['label_noise'])}"


def _threshold_sentence(curve: dict, n_train: int) -> str:
    threshold = curve["interpolation_threshold"]
    title = curve_title(curve)
    unit = "hidden units" if curve["model"] == "mlp" else "channels"
    if threshold is None:
        return (
            f"{title}: no width of the grid reached training error 0 on every seed "
            f"(widest {max(curve['widths'])} {unit})."
        )
    return (
        f"{title}: training error first reaches 0 on every seed at **{threshold['width']} "
        f"{unit}, {fmt(threshold['n_params'])} parameters**, "
        f"{fmt(threshold['params_per_example'], 2)}× the N = {fmt(n_train)} training "
        "examples."
    )


def _value(metric: str, value, error=None) -> str:
    if metric.endswith("error"):
        return _percent_pm(value, error) if error is not None else _percent(value)
    if error is None or not math.isfinite(error):
        return fmt(value)
    return f"{fmt(value)} ± {fmt(error, 2)}"


def _difference(metric: str, value, error=None) -> str:
    if metric.endswith("error"):
        return _points(value, error)
    sign = "+" if value is not None and value > 0 else ""
    return sign + _value(metric, value, error)


def _peak_sentence(curve: dict, key: str) -> str:
    peak = curve[key]
    title = curve_title(curve)
    what = "test error" if key == "test_error_peak" else "test cross-entropy"
    if peak is None:
        return f"{title}: a single width, no peak to find."
    if peak["width"] is None:
        return (
            f"{title}: the {what} never rises above a narrower width's over the "
            f"{peak['widths_scanned'] + 1} widths: no peak."
        )
    metric = peak["metric"]
    text = (
        f"{title}: the {what} rises from {_value(metric, peak['dip_value'])} at width "
        f"{peak['dip_width']} to **{_value(metric, peak['value'], peak['standard_error'])} "
        f"at width {peak['width']}** ({fmt(peak['n_params'])} parameters), "
        f"{_difference(metric, peak['rise'], peak['rise_standard_error'])} (Holm p = "
        f"{fmt(peak['rise_p_holm'], 2)})"
    )
    if peak["excess_p_holm"] is None:
        return text + "; it is the widest model, so this grid shows no second descent."
    text += (
        f", and stands {_difference(metric, peak['excess'], peak['excess_standard_error'])}"
        f" above the widest model (width {peak['widest_width']}, "
        f"{_value(metric, peak['widest_value'], peak['widest_standard_error'])}; Holm p = "
        f"{fmt(peak['excess_p_holm'], 2)}). "
    )
    return text + (
        "Both survive Holm's correction: a double-descent peak."
        if peak["significant"]
        else "With these seeds not both survive Holm's correction, so the bump is not established."
    )


def _peak_words(peak: dict | None) -> str:
    """ "a rise of X from width a to b" or "no peak", for comparing two curves."""
    if peak is None or peak["width"] is None:
        return "no peak"
    return (
        f"a rise of {_difference(peak['metric'], peak['rise'], peak['rise_standard_error'])} "
        f"from width {peak['dip_width']} to {peak['width']}"
    )


def _noise_sentences(results: dict) -> list[str]:
    """How label noise moves and grows each model's peaks, from the measured peaks."""
    sentences = []
    for effect in results["label_noise_effect"]:
        low, high = effect["levels"][0], effect["levels"][-1]
        at = [f"at {fmt(100 * level['label_noise'])} % label noise" for level in (low, high)]
        text = (
            f"{effect['model'].upper()}: the test error shows "
            f"{_peak_words(low['test_error_peak'])} {at[0]} and "
            f"{_peak_words(high['test_error_peak'])} {at[1]}; the test cross-entropy "
            f"{_peak_words(low['test_loss_peak'])} {at[0]} and "
            f"{_peak_words(high['test_loss_peak'])} {at[1]}."
        )
        thresholds = [level["interpolation_threshold"] for level in (low, high)]
        if all(thresholds):
            before, after = (t["width"] for t in thresholds)
            if before == after:
                text += f" The interpolation threshold stays at width {before}."
            else:
                text += f" The interpolation threshold moves from width {before} to {after}" + (
                    ": fitting labels that carry no signal takes more capacity."
                    if after > before
                    else "."
                )
        peaks = [level["test_error_peak"] for level in (low, high)]
        if all(p is not None for p in peaks):
            rises = [p["rise"] if p["width"] is not None else 0.0 for p in peaks]
            errors = [p.get("rise_standard_error") or 0.0 for p in peaks]
            growth, error = rises[1] - rises[0], math.hypot(*errors)
            text += (
                " Nakkiran et al. (2019) report that label noise makes the test-error peak "
                f"more pronounced; here its rise changes by {_points(growth, error)}, "
                + (
                    "more than two standard errors."
                    if error and abs(growth) > 2 * error
                    else "not more than two standard errors."
                )
            )
        sentences.append(text)
    return sentences


def _comparison_table(comparison: dict) -> str:
    header = [
        "width",
        "parameters",
        "published test error",
        "ours (mean ± s.e.)",
        "z",
        "Holm p",
        "published train error",
        "ours",
    ]
    body = [
        [
            r["width"],
            r["n_params"],
            _percent(r["published_test_error"]),
            _percent_pm(r["test_error"], r["test_error_standard_error"]),
            fmt(r["test_error_z"], 2),
            fmt(r["test_error_p_holm"], 2),
            _percent(r["published_train_error"]),
            _percent(r["train_error"]),
        ]
        for r in comparison["rows"]
    ]
    return table(header, body)


def _comparison_sentence(curve: dict, comparison: dict) -> str:
    published = comparison["published"]
    return (
        f"Published “{published['title']}” against our {curve_title(curve)}: "
        f"{comparison['within_2']} of {comparison['widths_compared']} widths within |z| ≤ 2, "
        f"median |z| {fmt(comparison['median_abs_z'], 2)}, "
        f"{comparison['significant_after_holm']} significant after Holm's correction."
    )


def _matching(curve: dict) -> dict | None:
    return next(
        (c for c in curve["comparisons"] if c["published"]["label_noise"] == curve["label_noise"]),
        None,
    )


def _cross_check(results: dict) -> list[str]:
    """Which of our MLP curves the notebook's "no label noise" curve matches better."""
    mlp = {c["label_noise"]: c for c in results["curves"] if c["model"] == "mlp"}
    if 0.0 not in mlp or len(mlp) < 2:
        return []
    noisy = mlp[max(mlp)]

    def versus(curve):
        return next((c for c in curve["comparisons"] if c["published"]["label_noise"] == 0.0), None)

    clean_fit, noisy_fit = versus(mlp[0.0]), versus(noisy)
    if clean_fit is None or noisy_fit is None:
        return []
    text = (
        f"The notebook's curve without label noise is within |z| ≤ 2 of our clean MLP at "
        f"{clean_fit['within_2']} of {clean_fit['widths_compared']} widths (median |z| "
        f"{fmt(clean_fit['median_abs_z'], 2)}) and of our {fmt(100 * noisy['label_noise'])} % "
        f"noise MLP at {noisy_fit['within_2']} of {noisy_fit['widths_compared']} (median |z| "
        f"{fmt(noisy_fit['median_abs_z'], 2)})."
    )
    return [text]


def _seed_words(curve: dict) -> str:
    """ "4 seeds", or "12 seeds up to width 80, 4 beyond" where narrow widths train more."""
    by_width = curve.get("seeds_by_width") or [curve["seeds"]] * len(curve["widths"])
    tiers = []
    for width, count in zip(curve["widths"], by_width):
        if tiers and tiers[-1][1] == count:
            tiers[-1][0] = width
        else:
            tiers.append([width, count])
    if len(tiers) == 1:
        text = _seeds(tiers[0][1])
    else:
        parts = [f"{_seeds(count)} up to width {width}" for width, count in tiers[:-1]]
        text = ", ".join(parts) + f", {tiers[-1][1]} beyond"
    return text


def _seeds(count: int) -> str:
    return f"{count} seed{'' if count == 1 else 's'}"


def markdown(results: dict) -> str:
    """The MNIST-1D section of REPORT.md, every number read from ``results``."""
    config = results["run"]["config"]
    n_train = results["n_train"]
    curves = results["curves"]
    source = results["reference_source"]
    seeds = "; ".join(
        f"{curve_title(c)}: {len(c['widths'])} widths {min(c['widths'])}…{max(c['widths'])}, "
        f"{_seed_words(c)}"
        for c in curves
    )
    out = [
        "### Set-up",
        f"MNIST-1D (Greydanus & Kobak 2020) generated by `mnist1d.data.make_dataset` with "
        f"{fmt(config['data']['num_samples'])} samples and a training split of "
        f"{fmt(config['data']['train_split'])}: N = {fmt(n_train)} training and "
        f"{fmt(results['n_test'])} test examples of length 40, 10 classes. Noisy curves replace "
        "each training label with probability q by a uniformly drawn class (a new draw per "
        "seed); test labels are clean. Softmax cross-entropy, SGD with learning rate "
        f"{fmt(config['learning_rate'])} and momentum {fmt(config['momentum'])}, batches of "
        f"{config['batch_size']} reshuffled every epoch, {config['epochs']} epochs, PyTorch's "
        "default initialization: the set-up of the mnist1d repository's "
        f"[`{source['file']}`]({source['repository']}) (Prince, *Understanding Deep "
        "Learning*, §8.4), which trains one model at a time with one seed. Here every width, "
        f"seed and noise level of a model trains in one vmapped sweep ({seeds}). Errors are "
        "fractions misclassified, shown in percent; ± is the standard error over seeds."
        + (
            " Narrow widths are cheap and train more seeds, since the spread between seeds "
            "is largest there; a member is the same draw whichever sweep trains it, so seed s "
            "pairs across widths."
            if any(c.get("max_seeds", c["seeds"]) > c["seeds"] for c in curves)
            else ""
        ),
        "![MNIST-1D double descent](double_descent_mnist1d.png)",
        "### Where the training error reaches 0",
        " ".join(_threshold_sentence(c, n_train) for c in curves)
        + " Nakkiran et al. (2019) place the test-error peak at this *effective model "
        "complexity*: the largest training set a model can fit to (near) zero error; "
        "Belkin et al. (2019) call it the interpolation threshold.",
        "### The test-error peak at the interpolation threshold (pre-registered)",
        "One test per curve, where the theory puts the peak: the window is the interpolation "
        "threshold above and the width just below it, fixed from the training error before "
        "the test error is read. A seed's window value is its mean over the window; the "
        "*rise* is a paired one-sided t-test over seeds of the window against each narrower "
        "width (Bonferroni over them, since the lowest is not known in advance), the "
        "*excess* one against the widest width. A peak needs both below 0.05. With each "
        "comes the smallest difference the test detects with 80 % power at the measured "
        "spread (noncentral t), so a negative verdict says what it could have missed.",
        " ".join(
            contrast_sentence(
                curve_title(c),
                c["threshold_contrast"],
                unit="width",
                value=_percent_pm,
                difference=_points,
            )
            for c in curves
        ),
        "### The test-error peak, exploratory scan",
        "The scan over every width: each curve's peak is the width whose seed mean rises most "
        "above the lowest value at a narrower width (its dip). Both the rise and the peak's "
        "excess over the widest model are paired one-sided t-tests over seeds, each "
        "Holm-adjusted over all the widths scanned, since the peak was picked as the largest. "
        "It looks everywhere, so it pays for the search; the verdict is the test above.",
        " ".join(_peak_sentence(c, "test_error_peak") for c in curves),
        "The same for the test cross-entropy, which also counts how confidently the wrong "
        "classes are predicted: " + " ".join(_peak_sentence(c, "test_loss_peak") for c in curves),
    ]
    noise = _noise_sentences(results)
    if noise:
        out += ["### Label noise", " ".join(noise)]
    out.append("### Against the published curves")
    out.append(
        "The notebook's printed final numbers (one seed each) at commit "
        f"[`{source['commit'][:7]}`]({source['repository']}/blob/{source['commit']}/"
        f"{source['file']})"
        + (
            f", unchanged through `{source['unchanged_through'][:7]}`, the repository's newest"
            if source.get("unchanged_through")
            else ""
        )
        + " (parsed from its stored outputs into "
        "`jaxnn/reference/mnist1d_deep_double_descent.json`), against our seed means. "
        + (source["history"] + " " if source.get("history") else "")
        + "*z* is the published value minus our mean, divided "
        "by the standard deviation a single new run has around our mean, "
        "s·√(1 + 1/n) over our n seeds; *Holm p* is its two-sided p-value (t with n − 1 "
        "degrees of freedom), adjusted over the widths compared."
    )
    for curve in curves:
        comparison = _matching(curve)
        if comparison is None:
            continue
        out += [
            f"**{curve_title(curve)}** — {_comparison_sentence(curve, comparison)}",
            _comparison_table(comparison),
        ]
    out += _cross_check(results)
    out += [
        "### Error against epoch",
        "![MNIST-1D error against epoch](double_descent_mnist1d_epochwise.png)",
        "Seed-mean test error at log-spaced epochs (and every "
        f"{config['chunk_epochs']} epochs after the first {config['chunk_epochs']}), one line "
        "per width. "
        + " ".join(
            _epochwise_sentence(panel, curve) for panel, curve in zip(results["epochwise"], curves)
        ),
    ]
    return "\n\n".join(out)


def _epochwise_sentence(panel: dict, curve: dict) -> str:
    """Where the peak width's test error is lowest in epochs, against where it ends."""
    peak = curve["test_error_peak"]
    if peak is None or peak["width"] is None:
        width = panel["widths"][-1]
        which = "the widest model"
    else:
        width, which = peak["width"], "the peak width"
    errors = np.asarray(panel["test_error"][panel["widths"].index(width)], np.float64)
    best = int(np.nanargmin(errors))
    return (
        f"{curve_title(curve)}, {which} ({width}): lowest test error "
        f"{_percent(errors[best])} after {panel['epochs'][best]} epochs, "
        f"{_percent(errors[-1])} after {panel['epochs'][-1]}."
    )


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    lines = []
    for curve in results["curves"]:
        peak, threshold = curve["test_error_peak"], curve["interpolation_threshold"]
        text = f"{curve_title(curve)}: "
        text += (
            f"train error 0 from width {threshold['width']}" if threshold else "train error never 0"
        )
        if peak is not None and peak["width"] is not None:
            text += (
                f"; test error peaks at width {peak['width']} ({_percent(peak['value'])}, "
                f"widest {_percent(peak['widest_value'])})"
            )
        elif peak is not None:
            text += "; test error has no peak"
        contrast = curve["threshold_contrast"]
        if contrast["tested"]:
            text += (
                f"; threshold test: {'peak' if contrast['significant'] else 'not established'}"
                f" (rise p {fmt(contrast['rise_p'], 2)}, excess p {fmt(contrast['excess_p'], 2)})"
            )
        lines.append(text)
    return lines
