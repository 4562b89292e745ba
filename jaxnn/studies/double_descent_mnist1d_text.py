"""Sentences and Markdown of the MNIST-1D double-descent study, chosen from its results alone.

Every sentence reads numbers that ``double_descent_mnist1d.with_verdicts``
computed; errors are shown in percent. Nothing here trains or measures.
"""

from __future__ import annotations

import numpy as np

from jaxnn import verdicts
from jaxnn.formatting import count_of, details, fmt, is_finite, label_noise_words, p_text, table
from jaxnn.studies.contrast_text import (
    contrast_sentence,
    contrast_test_sentence,
    error_rate,
    points,
    pt,
)


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
        return error_rate(value, error)
    if not is_finite(error):
        return fmt(value)
    return f"{fmt(value)} ± {fmt(error, 2)}"


def _difference(metric: str, value, error=None) -> str:
    if metric.endswith("error"):
        return points(value, error)
    sign = "+" if value is not None and value > 0 else ""
    return sign + _value(metric, value, error)


def _peak_sentence(curve: dict, key: str) -> str:
    """The exploratory scan's peak, with its verdict sized like the pre-registered test's."""
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
        f"{peak['dip_width']} to {_value(metric, peak['value'], peak['standard_error'])} "
        f"at width {peak['width']} ({fmt(peak['n_params'])} parameters), "
        f"{_difference(metric, peak['rise'], peak['rise_standard_error'])} (Holm p = "
        f"{fmt(peak['rise_p_holm'], 2)}; floor {_difference(metric, peak.get('rise_floor'))})"
    )
    if peak["excess_p_holm"] is None:
        return text + "; it is the widest model, so this grid shows no second descent."
    text += (
        f", and stands {_difference(metric, peak['excess'], peak['excess_standard_error'])}"
        f" above the widest model (width {peak['widest_width']}, "
        f"{_value(metric, peak['widest_value'], peak['widest_standard_error'])}; Holm p = "
        f"{fmt(peak['excess_p_holm'], 2)})"
    )
    if peak.get("rise_verdict") == verdicts.EFFECT:  # a share of a rise that is not one is noise
        text += f", which undoes {error_rate(peak.get('undone'))} of the rise"
    return text + f": {SCAN_VERDICTS.get(peak.get('verdict'), SCAN_VERDICTS[None])}."


SCAN_VERDICTS = {  # the exploratory peak's verdict in words
    verdicts.DOUBLE_DESCENT: "**double descent**",
    verdicts.LEVELS_OFF: "a peak that levels off, **not double descent**",
    "rise below floor": "significant, but the rise is below its floor",
    None: "not established after Holm's correction",
}


def _peak_words(peak: dict | None) -> str:
    """ "a rise of X from width a to b" or "no peak", for comparing two curves."""
    if peak is None or peak["width"] is None:
        return "no peak"
    return (
        f"a rise of {_difference(peak['metric'], peak['rise'], peak['rise_standard_error'])} "
        f"from width {peak['dip_width']} to {peak['width']}"
    )


def _growth_sentence(effect: dict) -> str:
    """Does label noise grow the pre-registered rise? The verdict with its size and floor."""
    growth = effect["rise_growth"]
    high = effect["levels"][-1]
    model = effect["model"].upper()
    if not growth.get("tested"):
        return f"{model}: label noise's effect on the peak is not tested ({growth['reason']})."
    size = pt(growth["estimate"], growth["standard_error"])
    tail = f"{p_text(growth['p'])}; floor {pt(growth['floor'])}"
    noise = f"{fmt(100 * high['label_noise'])} % label noise"
    if growth["verdict"] == verdicts.EFFECT:
        return (
            f"{model}: **{noise} makes the threshold peak larger**: its rise over the best "
            f"narrower width grows by {size} ({tail})."
        )
    if growth["verdict"] == verdicts.BELOW_FLOOR:
        return (
            f"{model}: {noise} grows the threshold rise by {size} ({tail}): significant, "
            "**but below its floor**."
        )
    return (
        f"{model}: **no growth of the threshold peak established** with {noise}: the rise "
        f"changes by {size} ({tail}; detectable at 80 % power "
        f"{pt(growth['minimum_detectable'])})."
    )


def _threshold_move(effect: dict) -> str:
    low, high = effect["levels"][0], effect["levels"][-1]
    thresholds = [level["interpolation_threshold"] for level in (low, high)]
    if not all(thresholds):
        return ""
    before, after = (t["width"] for t in thresholds)
    if before == after:
        return f"The interpolation threshold stays at width {before}."
    return f"The interpolation threshold moves from width {before} to {after}" + (
        ": fitting labels that carry no signal takes more capacity." if after > before else "."
    )


def _noise_details(effect: dict) -> str:
    low, high = effect["levels"][0], effect["levels"][-1]
    at = [f"at {fmt(100 * level['label_noise'])} % label noise" for level in (low, high)]
    seeds = effect["rise_growth"].get("seeds")
    return (
        f"{effect['model'].upper()}, exploratory scan: the test error shows "
        f"{_peak_words(low['test_error_peak'])} {at[0]} and "
        f"{_peak_words(high['test_error_peak'])} {at[1]}; the test cross-entropy "
        f"{_peak_words(low['test_loss_peak'])} {at[0]} and "
        f"{_peak_words(high['test_loss_peak'])} {at[1]}. The verdict above compares the "
        "pre-registered rises (window over the best narrower width), seed by seed: a "
        "one-sided Welch t-test of the noisy curve's per-seed rises against the clean one's"
        + (f" ({seeds[1]} and {seeds[0]} seeds)" if seeds else "")
        + ", since the two noise levels draw different labels; Nakkiran et al. (2019, §4) "
        "report that label noise makes the peak more pronounced. Floor: "
        + verdicts.SPREAD_FLOOR_REASON
        + "."
    )


def _comparison_table(comparison: dict) -> str:
    header = ["width", "parameters", "published test error", "ours (mean ± s.e.)", "z", "Holm p"]
    header += ["published train error", "ours"]
    body = [
        [
            r["width"],
            r["n_params"],
            error_rate(r["published_test_error"]),
            error_rate(r["test_error"], r["test_error_standard_error"]),
            fmt(r["test_error_z"], 2),
            fmt(r["test_error_p_holm"], 2),
            error_rate(r["published_train_error"]),
            error_rate(r["train_error"]),
        ]
        for r in comparison["rows"]
    ]
    return table(header, body)


def _checks(results: dict) -> list[tuple[dict, dict]]:
    """``(curve, comparison)`` for each curve the notebook published at its noise level."""
    return [
        (curve, c)
        for curve in results["curves"]
        for c in curve["comparisons"]
        if c["published"]["label_noise"] == curve["label_noise"]
    ]


def _cross_check(results: dict) -> list[str]:
    """Which of our MLP curves the notebook's "no label noise" curve matches better."""
    mlp = {c["label_noise"]: c for c in results["curves"] if c["model"] == "mlp"}
    if 0.0 not in mlp or len(mlp) < 2:
        return []
    noisy = mlp[max(mlp)]
    clean_fit, noisy_fit = (
        next((c for c in curve["comparisons"] if c["published"]["label_noise"] == 0.0), None)
        for curve in (mlp[0.0], noisy)
    )
    if clean_fit is None or noisy_fit is None:
        return []
    return [
        f"The notebook's curve without label noise is within |z| ≤ 2 of our clean MLP at "
        f"{clean_fit['within_2']} of {clean_fit['widths_compared']} widths (median |z| "
        f"{fmt(clean_fit['median_abs_z'], 2)}) and of our {fmt(100 * noisy['label_noise'])} % "
        f"noise MLP at {noisy_fit['within_2']} of {noisy_fit['widths_compared']} (median |z| "
        f"{fmt(noisy_fit['median_abs_z'], 2)})."
    ]


def _seed_words(curve: dict) -> str:
    """ "4 seeds", or "12 seeds up to width 80, 4 beyond" where narrow widths train more."""
    tiers = []  # [widest width, seeds] of each run of widths that train one seed count
    for width, count in zip(curve["widths"], curve["seeds_by_width"]):
        if tiers and tiers[-1][1] == count:
            tiers[-1][0] = width
        else:
            tiers.append([width, count])
    parts = [f"{count_of(count, 'seed')} up to width {width}" for width, count in tiers[:-1]]
    return ", ".join([*parts, f"{tiers[-1][1]} beyond"]) if parts else count_of(tiers[0][1], "seed")


def _contrast(curve: dict) -> str:
    title, contrast = curve_title(curve), curve["threshold_contrast"]
    return contrast_sentence(title, contrast, unit="width", value=error_rate, difference=points)


def _contrast_table(curves: list[dict], n_train: int) -> str:
    body = []
    for curve in curves:
        threshold, contrast = curve["interpolation_threshold"], curve["threshold_contrast"]
        where = (
            "—"
            if threshold is None
            else f"{threshold['width']} ({fmt(threshold['n_params'])} params, "
            f"{fmt(threshold['params_per_example'], 2)} N)"
        )
        if not contrast.get("tested"):
            body.append([curve_title(curve), where, "—", "—", "—", "—", contrast["verdict"]])
            continue
        body.append(
            [
                curve_title(curve),
                where,
                "–".join(fmt(v) for v in contrast["window_values"]),
                f"{pt(contrast['rise'], contrast['rise_standard_error'])} over "
                f"{fmt(contrast['rise_versus_value'])}",
                pt(contrast["rise_floor"]),
                f"{error_rate(contrast['undone'])} (width {fmt(contrast['last_value'])})",
                f"**{contrast['verdict']}**" if contrast["qualifies"] else contrast["verdict"],
            ]
        )
    header = ["curve", f"train error 0 from width (N = {fmt(n_train)})", "window", "rise ± s.e."]
    return table([*header, "floor", "share of the rise undone by the widest", "verdict"], body)


def _setup(results: dict) -> str:
    config = results["run"]["config"]
    curves = results["curves"]
    source = results["reference_source"]
    seeds = "; ".join(
        f"{curve_title(c)}: {len(c['widths'])} widths {min(c['widths'])}…{max(c['widths'])}, "
        f"{_seed_words(c)}"
        for c in curves
    )
    return (
        f"MNIST-1D (Greydanus & Kobak 2020) generated by `mnist1d.data.make_dataset` with "
        f"{fmt(config['data']['num_samples'])} samples and a training split of "
        f"{fmt(config['data']['train_split'])}: N = {fmt(results['n_train'])} training and "
        f"{fmt(results['n_test'])} test examples of length 40, 10 classes. Noisy curves replace "
        "each training label with probability q by a uniformly drawn class (a new draw per "
        "seed); test labels are clean. Softmax cross-entropy, SGD with learning rate "
        f"{fmt(config['learning_rate'])} and momentum {fmt(config['momentum'])}, batches of "
        f"{config['batch_size']} reshuffled every epoch, {config['epochs']} epochs, PyTorch's "
        "default initialization: the set-up of the mnist1d repository's "
        f"[`{source['file']}`]({source['repository']}) (Prince, *Understanding Deep "
        "Learning*, §8.4), which trains one model at a time with one seed. Here the widths, "
        "seeds and noise levels of a model train in one vmapped `width_sweep` call wherever "
        f"their seed counts agree ({seeds}). Errors are "
        "fractions misclassified, shown in percent; ± is the standard error over seeds."
        + (
            " Narrow widths are cheap and train more seeds, since the spread between seeds "
            "is largest there; a member is the same draw whichever sweep trains it, so seed s "
            "pairs across widths."
            if any(c["max_seeds"] > c["seeds"] for c in curves)
            else ""
        )
    )


def _width_method(results: dict) -> str:
    curves = results["curves"]
    return "\n\n".join(
        [
            _setup(results),
            " ".join(_threshold_sentence(c, results["n_train"]) for c in curves)
            + " Nakkiran et al. (2019) place the test-error peak at this *effective model "
            "complexity*: the largest training set a model can fit to (near) zero error; "
            "Belkin et al. (2019) call it the interpolation threshold.",
            "**The pre-registered test.** One test per curve, where the theory puts the peak: "
            "the window is the interpolation threshold above and the width just below it, "
            "fixed from the training error before the test error is read. A seed's window "
            "value is its mean over the window; the *rise* is a paired one-sided t-test over "
            "seeds of the window against each narrower width (Bonferroni over them, since the "
            "lowest is not known in advance), the *excess* one against the widest width. With "
            "each comes the smallest difference the test detects with 80 % power at the "
            "measured spread (noncentral t). Double descent needs the rise significant and at "
            "least its floor, and the widest model to undo at least "
            f"{fmt(100 * verdicts.SECOND_DESCENT_SHARE)} % of it: "
            + verdicts.SECOND_DESCENT_REASON
            + ". Floor: "
            + verdicts.SPREAD_FLOOR_REASON
            + " (the pooled spread of the window's widths and the width the rise is shown "
            "against).",
            " ".join(
                contrast_test_sentence(
                    curve_title(c), c["threshold_contrast"], unit="width", difference=points
                )
                for c in curves
            ),
            "**Exploratory scan.** Each curve's peak is the width whose seed mean rises most "
            "above the lowest value at a narrower width (its dip). Both the rise and the "
            "peak's excess over the widest model are paired one-sided t-tests over seeds, each "
            "Holm-adjusted over all the widths scanned, since the peak was picked as the "
            "largest; the same floor and share decide its verdict. It looks everywhere, so it "
            "pays for the search; the verdict is the test above.",
            " ".join(_peak_sentence(c, "test_error_peak") for c in curves),
            "The same for the test cross-entropy, which also counts how confidently the wrong "
            "classes are predicted: "
            + " ".join(_peak_sentence(c, "test_loss_peak") for c in curves),
        ]
    )


def _published_method(results: dict) -> str:
    source = results["reference_source"]
    parts = [
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
        "degrees of freedom), adjusted over the widths compared. This is a check of the "
        "set-up, not a verdict on a phenomenon, so it has no floor."
    ]
    for curve, c in _checks(results):
        title = curve_title(curve)
        parts += [
            f"**{title}** — Published “{c['published']['title']}” against our {title}: "
            f"{c['within_2']} of {c['widths_compared']} widths within |z| ≤ 2, median |z| "
            f"{fmt(c['median_abs_z'], 2)}, {c['significant_after_holm']} significant after "
            "Holm's correction.",
            _comparison_table(c),
        ]
    return "\n\n".join(parts + _cross_check(results))


def _symbol(curve: dict) -> str:
    return "M" if curve["model"] == "mlp" else "C"


def _epochwise_answer(panel: dict) -> str:
    """One curve's epoch-wise verdict with its size (``epochwise_test``)."""
    test = panel["nonmonotone"]
    title = curve_title(panel)
    needed = f"≥ {fmt(100 * test['share'])} % needed"
    marks = test["marks"]
    symbol = _symbol(panel)
    if test["verdict"] == verdicts.DOUBLE_DESCENT:
        double = [m for m in marks if m["kind"] == verdicts.DOUBLE_DESCENT]
        best = max(double, key=lambda m: m["undone"])
        return (
            f"{title}: **epoch-wise double descent** at {len(double)} of "
            f"{len(panel['widths'])} widths; e.g. {symbol} = {best['width']} rises "
            f"{pt(best['rise'])} (floor {pt(best['rise_floor'])}) by epoch "
            f"{best['peak_epoch']} and later epochs undo {error_rate(best['undone'])} of it."
        )
    if test["verdict"] == verdicts.LEVELS_OFF:
        best = max(marks, key=lambda m: m["rise"])
        return (
            f"{title}: **overfitting that levels off, not double descent**, at {len(marks)} of "
            f"{len(panel['widths'])} widths: the largest, {symbol} = {best['width']}, rises "
            f"{pt(best['rise'])} (floor {pt(best['rise_floor'])}) by epoch "
            f"{best['peak_epoch']}, and later epochs undo {error_rate(best['undone'])} of it "
            f"({needed})."
        )
    head = f"{title}: **no significant rise above its floor** in epochs; "
    if not (largest := test["largest_rise"]):
        return head + "no width's test error rises over an earlier epoch."
    return head + (
        f"the largest seed-mean rise, {pt(largest['rise'])} at {symbol} = {largest['width']} "
        f"(epoch {largest['peak_epoch']}), is {error_rate(largest['undone'])} undone by later "
        "epochs."
    )


def _epochwise_method(results: dict) -> str:
    config = results["run"]["config"]
    parts = [
        "Seed-mean test error at log-spaced epochs (and every "
        f"{config['chunk_epochs']} epochs after the first {config['chunk_epochs']}), one line "
        "per width. Every (width, epoch) cell is tested for a rise over an earlier epoch and a "
        "fall to a later one, paired over seeds, with Benjamini–Hochberg control over all "
        "cells of a curve's widths (`jaxnn.peaks.nonmonotone_cells`). A width shows double "
        "descent (marked ★ in the figure) only when a cell's rise is at least its floor and its "
        f"fall undoes at least {fmt(100 * verdicts.SECOND_DESCENT_SHARE)} % of it; a "
        "significant rise that falls back by less is overfitting that levels off (not marked).",
    ]
    rows = []
    for panel in results["epochwise"]:
        test = panel["nonmonotone"]
        parts.append(
            f"{curve_title(panel)}: {fmt(test['cells_scanned'])} cells scanned, "
            f"{test['slivers']} significant rise-and-falls whose fall undoes less than "
            f"{fmt(100 * test['share'])} % of the rise (slivers, not double descent)."
        )
        for m in test["marks"]:
            rows.append(
                [
                    curve_title(panel),
                    m["width"],
                    m["kind"],
                    f"{m['dip_epoch']} → {m['peak_epoch']} → {m['later_epoch']}",
                    pt(m["rise"]),
                    pt(m["rise_floor"]),
                    pt(m["fall"]),
                    error_rate(m["undone"]),
                    fmt(m["q"], 2),
                ]
            )
    if rows:
        header = ["curve", "width", "kind", "epochs: dip → peak → later low", "rise", "floor"]
        parts.append(table([*header, "fall", "undone", "q"], rows))
    parts.append(
        " ".join(
            _epochwise_sentence(panel, curve)
            for panel, curve in zip(results["epochwise"], results["curves"])
        )
    )
    return "\n\n".join(parts)


def markdown(results: dict) -> str:
    """The MNIST-1D section of REPORT.md, every number read from ``results``: for each part
    the answer, the figure, a compact table, then the method folded."""
    curves = results["curves"]
    out = [
        "### Deep double descent in width",
        "\n".join(f"- {_contrast(c)}" for c in curves),
        "![MNIST-1D double descent](double_descent_mnist1d.png)",
        _contrast_table(curves, results["n_train"]),
        details("How it was tested", _width_method(results)),
    ]
    effects = results["label_noise_effect"]
    if effects:
        out += [
            "### Label noise",
            " ".join(f"{_growth_sentence(e)} {_threshold_move(e)}".strip() for e in effects),
            details("How it was tested", "\n\n".join(_noise_details(e) for e in effects)),
        ]
    answers_ = [
        f"{curve_title(c)}: {'**differs**' if m['significant_after_holm'] else '**consistent**'}, "
        f"{m['significant_after_holm']} of {m['widths_compared']} widths differ after Holm "
        f"(median |z| {fmt(m['median_abs_z'], 2)})"
        for c, m in _checks(results)
    ]
    out += [
        "### Against the published notebook",
        "Do we reproduce the notebook's single-seed curves? " + "; ".join(answers_) + "."
        if answers_
        else "No published curve matches these curves.",
        details("The published curves, width by width", _published_method(results)),
        "### Error against epoch",
        " ".join(_epochwise_answer(panel) for panel in results["epochwise"]),
        "![MNIST-1D error against epoch](double_descent_mnist1d_epochwise.png)",
        details("How it was tested", _epochwise_method(results)),
    ]
    return "\n\n".join(out)


def _epochwise_sentence(panel: dict, curve: dict) -> str:
    """Where the peak width's test error is lowest in epochs, against where it ends."""
    peak = curve["test_error_peak"]
    if peak is None or peak["width"] is None:
        width, which = panel["widths"][-1], "the widest model"
    else:
        width, which = peak["width"], "the exploratory peak width"
    errors = np.asarray(panel["test_error"][panel["widths"].index(width)], np.float64)
    best = int(np.nanargmin(errors))
    return (
        f"{curve_title(curve)}, {which} ({width}): lowest test error "
        f"{error_rate(errors[best])} after {panel['epochs'][best]} epochs, "
        f"{error_rate(errors[-1])} after {panel['epochs'][-1]}."
    )


def _short_contrast(contrast: dict, symbol: str) -> str:
    """A threshold contrast in one answer: the verdict, the rise with its floor, the share."""
    if not contrast.get("tested"):
        return f"Not tested ({contrast.get('reason', 'no window')})."
    verdict = contrast["verdict"]
    window = "–".join(fmt(v) for v in contrast["window_values"])
    rise = (
        f"test error rises {pt(contrast['rise'], contrast['rise_standard_error'])} at the "
        f"threshold {symbol} = {window} over {symbol} = {fmt(contrast['rise_versus_value'])} "
        f"(floor {pt(contrast['rise_floor'])})"
    )
    if verdict in (verdicts.DOUBLE_DESCENT, verdicts.LEVELS_OFF):
        double = verdict == verdicts.DOUBLE_DESCENT
        head = "**Yes, double descent**" if double else "**No: overfitting that levels off**"
        return (
            f"{head}: {rise}; {symbol} = {fmt(contrast['last_value'])} undoes "
            f"{'' if double else 'only '}{error_rate(contrast['undone'])} of it "
            f"(≥ {fmt(100 * contrast['share'])} % needed)."
        )
    if verdict == "rise below floor":
        return f"**No peak that matters**: {rise}, significant but below its floor."
    return (
        f"**No peak**: the test error at {symbol} = {window} differs by "
        f"{pt(contrast['rise'], contrast['rise_standard_error'])} from {symbol} = "
        f"{fmt(contrast['rise_versus_value'])} (floor {pt(contrast['rise_floor'])}; "
        f"detectable {pt(contrast['rise_minimum_detectable'])})."
    )


def answers(results: dict) -> list[dict]:
    """Beyond-the-sheet rows of REPORT.md's Answers: deep double descent in width (each curve),
    the check against the published notebook, and epoch-wise double descent."""
    figure, rows = "double_descent_mnist1d.png", []
    curves = results["curves"]  # the noisy MLPs first, then the clean MLP, then the CNNs
    asked = [c for c in curves if c["model"] == "mlp" and c["label_noise"] > 0]
    asked += [c for c in curves if c["model"] == "mlp" and c["label_noise"] == 0]
    for c in asked + [c for c in curves if c["model"] == "cnn"]:
        noise = label_noise_words(c["label_noise"])
        if c["model"] == "cnn":
            where = f"on MNIST-1D with a CNN ({noise})"
        elif c["label_noise"] > 0:
            where = f"on real data (MNIST-1D MLP with {noise})"
        else:
            where = "on MNIST-1D without label noise (MLP)"
        answer = _short_contrast(c["threshold_contrast"], _symbol(c))
        rows.append((f"Deep double descent in width {where}?", answer, figure))
    checks = _checks(results)
    if checks:
        differ = sum(m["significant_after_holm"] for _, m in checks)
        total = sum(m["widths_compared"] for _, m in checks)
        head = (
            "**Yes**, within seed noise"
            if differ == 0
            else f"**Not everywhere**: {differ} of {total} widths differ"
        )
        detail = "; ".join(
            f"{curve_title(c)} median |z| {fmt(m['median_abs_z'], 2)}, "
            f"{m['within_2']}/{m['widths_compared']} within |z| ≤ 2"
            for c, m in checks
        )
        answer = f"{head}: {differ} of {total} published points differ from our seed means "
        rows.append(
            ("Do we reproduce the published notebook?", f"{answer}after Holm ({detail}).", figure)
        )
    epochwise = _epochwise_short(results["epochwise"])
    figure = "double_descent_mnist1d_epochwise.png"
    rows.append(("Epoch-wise double descent on MNIST-1D?", epochwise, figure))
    return [{"item": "Beyond 8.1", "question": q, "answer": a, "figure": f} for q, a, f in rows]


def _epochwise_short(panels: list[dict]) -> str:
    tests = [p["nonmonotone"] for p in panels]
    double = [p for p in panels if p["nonmonotone"]["verdict"] == verdicts.DOUBLE_DESCENT]
    largest = max(
        (p for p in panels if p["nonmonotone"].get("largest_rise")),
        key=lambda p: p["nonmonotone"]["largest_rise"]["rise"],
        default=None,
    )
    size = ""
    if largest is not None:
        big = largest["nonmonotone"]["largest_rise"]
        size = (
            f"the largest rise, {pt(big['rise'])} ({curve_title(largest)}, "
            f"{_symbol(largest)} = {big['width']}), is {error_rate(big['undone'])} undone "
            f"(≥ {fmt(100 * tests[0]['share'])} % needed)"
        )
    if double:
        return (
            "**Yes** in "
            + ", ".join(curve_title(p) for p in double)
            + f" (fall ≥ {fmt(100 * tests[0]['share'])} % of the rise); {size}."
        )
    if any(t["verdict"] == verdicts.LEVELS_OFF for t in tests):
        return f"**No: overfitting that levels off**; {size}."
    return f"**No**: no significant rise above its floor; {size}."


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
                f"; test error peaks at width {peak['width']} ({error_rate(peak['value'])}, "
                f"widest {error_rate(peak['widest_value'])})"
            )
        elif peak is not None:
            text += "; test error has no peak"
        contrast = curve["threshold_contrast"]
        if contrast["tested"]:
            text += (
                f"; threshold test: {contrast['verdict']} (rise {100 * contrast['rise']:+.2f} pp, "
                f"floor {100 * contrast['rise_floor']:.2f} pp, p {fmt(contrast['rise_p'], 2)}; "
                f"widest undoes {error_rate(contrast['undone'])}, p {fmt(contrast['excess_p'], 2)})"
            )
        lines.append(text)
    for panel in results["epochwise"]:
        lines.append(f"{curve_title(panel)}, epoch-wise: {panel['nonmonotone']['verdict']}")
    return lines
