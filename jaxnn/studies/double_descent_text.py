"""Sentences and Markdown of the double-descent study, chosen from its results alone.

Every sentence reads numbers that ``double_descent.run`` computed: the training
curves, the interpolation threshold and the test-loss peak of each N, the
tested bump over width, the width-by-width test of "more data hurts" with its
Holm adjustment, and the epoch-wise scan with its false-discovery control.
Nothing here trains or measures.
"""

from __future__ import annotations

import itertools

from jaxnn.formatting import fmt, plus_minus, table
from jaxnn.studies.contrast_text import contrast_sentence


def markdown(results: dict) -> str:
    """Computer assignment 1 for REPORT.md, every number read from ``results``."""
    config = results["run"]["config"]
    data = config["data"]
    bayes = results["bayes_risk"]
    check = results["bayes_check"]
    curves = results["training_curves"]
    n_first = results["curve_n_train"]
    out = []

    out.append("### Theoretical optimal test error $R_t$")
    out.append(
        f"Inputs $x \\sim \\mathcal N(0, I_{{{data['input_dim']}}})$, targets "
        f"$y = g(x) + \\varepsilon$ with "
        f"$\\varepsilon \\sim \\mathcal N(0, s^2 I_{{{data['output_dim']}}})$, "
        f"$s = {fmt(data['noise_std'])}$, and $g$ a fixed random ReLU teacher "
        f"{data['input_dim']}→{'→'.join(map(str, data['teacher_hidden']))}→{data['output_dim']} "
        "normalised to unit variance per output (`jaxnn/data.py`). The MSE is averaged over "
        "samples and output dimensions. The best possible predictor is $g$ itself, whose expected "
        "test error is the noise alone:\n\n"
        "$$R_t = \\mathbb E\\,\\tfrac1O\\lVert g(x)+\\varepsilon-g(x)\\rVert^2 = s^2 = "
        f"{fmt(bayes)}.$$\n\n"
        "Sanity check: the lowest test MSE measured in the whole study is "
        f"{fmt(check['lowest_test_loss'])}, "
        + ("not below" if check["passed"] else "**below**")
        + " $R_t$ minus three standard errors of the test-set estimate "
        f"({fmt(bayes - check['tolerance'])})."
    )

    out.append(f"### (b) Training curves for M ∈ {{{', '.join(str(c['width']) for c in curves)}}}")
    out.append("![training loss curves](double_descent_curves.png)")
    rows = [
        [
            c["width"],
            c["n_params"],
            c["first_epoch_below_1e-3"],
            ", ".join(fmt(v) for v in c["first_epoch_below_1e-3_per_seed"]),
            c["final_train_loss"],
        ]
        for c in curves
    ]
    out.append(
        table(
            [
                "M",
                "parameters",
                "first epoch < 1e-3 (median)",
                "per seed",
                "final training MSE (median)",
            ],
            rows,
        )
    )
    reached = [c for c in curves if c["first_epoch_below_1e-3"] is not None]
    missed = [c for c in curves if c["first_epoch_below_1e-3"] is None]
    sentence = (
        f"Full-batch Adam (learning rate {fmt(config['learning_rate'])}, "
        f"{fmt(config['curve_epochs'])} epochs, N = {n_first}, {config['seeds']} seeds). "
    )
    if reached:
        sentence += "MSE below $10^{-3}$ is reached by M = " + ", ".join(
            str(c["width"]) for c in reached
        )
        sentence += f"; not by M = {', '.join(str(c['width']) for c in missed)}" if missed else ""
        sentence += ". "
        ordered = sorted(reached, key=lambda c: c["width"])
        epochs = [c["first_epoch_below_1e-3"] for c in ordered]
        if len(ordered) > 1 and all(b < a for a, b in itertools.pairwise(epochs)):
            sentence += (
                "Larger models are faster in epochs: "
                + ", ".join(
                    f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}" for c in ordered
                )
                + "."
            )
        elif len(ordered) > 1 and all(b > a for a, b in itertools.pairwise(epochs)):
            sentence += (
                "Larger models are slower in epochs: "
                + ", ".join(
                    f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}" for c in ordered
                )
                + "."
            )
        elif len(ordered) > 1:
            sentence += (
                "The epoch count is not monotone in M: "
                + ", ".join(
                    f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}" for c in ordered
                )
                + "."
            )
    else:
        sentence += "No width reached MSE below $10^{-3}$ in this run."
    if missed:
        sentence += (
            " "
            + " and ".join(
                f"M = {c['width']} ({c['n_params']} parameters < "
                f"N·O = {n_first * data['output_dim']} targets)"
                for c in missed
            )
            + " cannot interpolate and plateaus at "
            + ", ".join(fmt(c["final_train_loss"]) for c in missed)
            + "."
        )
    out.append(sentence)

    thresholds = {t["n_train"]: t for t in results["interpolation_threshold"]}
    peaks = {p["n_train"]: p for p in results["test_loss_peak"]}
    markers = {m["n_train"]: m for m in results["parameter_count_at_n_times_outputs"]}
    out.append(
        "### (c) Width sweep M = "
        f"{min(config['widths'])}…{max(config['widths'])} ({len(config['widths'])} widths, "
        f"B = N, {fmt(config['epochs'])} epochs, {config['seeds']} seeds)"
    )
    out.append("![double descent sweep](double_descent_sweep.png)")
    threshold = thresholds.get(n_first)
    peak = peaks[n_first]
    text = (
        f"*Interpolation threshold* (defined as the smallest M whose seed-median final training "
        f"MSE is below {fmt(results['interpolation_tol'])}; the final training MSE of a run is the "
        f"median over its last {fmt(max(1, config['epochs'] // 20))} epochs): "
    )
    if threshold:
        text += (
            f"**M = {threshold['width']}, {threshold['n_params']} parameters** for N = {n_first}, "
            f"against N·O = {markers[n_first]['n_params']} targets (M ≈ "
            f"{fmt(markers[n_first]['width'])}). "
        )
    else:
        text += "no width of the grid interpolated in this run. "
    text += (
        f"The test loss peaks at **M = {peak['width']}** ({peak['n_params']} parameters) with "
        f"mean test MSE {fmt(peak['test_loss'])}, {fmt(peak['test_loss'] / bayes)}× $R_t$; "
    )
    sweep = [r for r in results["sweep"] if r["n_train"] == n_first]
    small, large = sweep[0], sweep[-1]
    text += (
        f"it is {fmt(small['test_loss'])} at M = {small['width']} and falls again to "
        f"{fmt(large['test_loss'])} at M = {large['width']}. "
    )
    best = min(sweep, key=lambda r: r["test_loss"])
    text += f"The best width is M = {best['width']} (test MSE {fmt(best['test_loss'])}); " + (
        "the second descent ends below the small-model minimum."
        if best["width"] > peak["width"]
        else "the second descent does not reach the small-model minimum within this grid."
    )
    bump = next(
        (b for b in results.get("test_loss_bump", []) if b and b["n_train"] == n_first), None
    )
    contrast = _contrast_of(results, n_first)
    if contrast:
        text += (
            " The pre-registered test (one per N; `jaxnn.peaks.threshold_contrast`) puts the "
            "window at the threshold width and the width below it, fixed from the training "
            "loss before the test loss is read, and tests the seeds' window mean against every "
            "narrower width (paired one-sided t, Bonferroni) and against the widest: "
            + _contrast(contrast)
        )
    if bump:
        text += " " + bump_sentence(bump)
    out.append(text)

    if len(thresholds) > 1 or len(peaks) > 1:
        n_values = sorted(peaks)
        out.append(f"### (d) More data can hurt: N = {' vs '.join(map(str, n_values))}")
        out.append("![test loss for each N](double_descent_more_data.png)")
        more = results["more_data"]
        widths = sorted({r["width"] for r in more})
        header = (
            ["M", "parameters"] + [f"test MSE, N = {n}" for n in n_values] + ["larger N worse?"]
        )
        rows = []
        for width in widths:
            entries = {r["n_train"]: r for r in more if r["width"] == width}
            losses = [entries[n]["test_loss"] if n in entries else None for n in n_values]
            worse = None if None in losses else losses[-1] > losses[0]
            rows.append([width, next(iter(entries.values()))["n_params"], *losses, worse])
        out.append(table(header, rows))
        hurt = results.get("more_data_hurts_widths", [])
        n_small, n_large = n_values[0], n_values[-1]
        explanation = (
            f"The two widths asked for are the measured N = {n_small} threshold "
            f"(M = {thresholds[n_small]['width'] if n_small in thresholds else '—'}) and "
            f"overparameterized widths beyond it. "
        )
        tested = results.get("more_data_hurts_tested")
        significant = tested["significant_widths"] if tested else []
        if hurt:
            explanation += (
                f"With N = {n_large}, the mean test loss is higher than with N = {n_small} at "
                f"{len(hurt)} of {len(sweep)} widths, M = {min(hurt)}…{max(hurt)}"
            )
            if tested:
                explanation += (
                    f"; tested width by width ({tested['method']} over the "
                    f"{tested['widths_compared']} widths compared), the difference is significant "
                    + (
                        f"at M = {', '.join(map(str, significant))}. "
                        if significant
                        else "at none of them with these seeds. "
                    )
                )
            else:
                explanation += ". "
        else:
            explanation += f"In this run N = {n_large} was never worse than N = {n_small}. "
        if n_large in thresholds and n_small in thresholds:
            explanation += (
                "The reason (Nakkiran et al. 2019, *Deep double descent*, §6; Belkin et al. "
                "2019): the peak sits where the model can just fit the N·O noisy targets. "
                "Doubling N moves the interpolation threshold from "
                f"M = {thresholds[n_small]['width']} ({thresholds[n_small]['n_params']} "
                f"parameters) to M = {thresholds[n_large]['width']} "
                f"({thresholds[n_large]['n_params']} parameters; "
                f"N·O = {markers[n_large]['n_params']}), and the test peak from "
                f"M = {peaks[n_small]['width']} to M = {peaks[n_large]['width']}. "
                f"Between the two thresholds the N = {n_small} model is already past its peak and "
                f"descending, while the N = {n_large} model is being forced to interpolate with "
                "barely enough parameters, so it fits the noise with a large, erratic correction "
                "to the teacher"
                + (
                    "; there the extra data hurt."
                    if significant
                    else ". That is the mechanism; with these seeds the harm is not established "
                    "at any single width."
                )
            )
        helped = [w for w in widths_both(results, n_small, n_large) if w not in hurt]
        if helped:
            explanation += (
                f" At the other {len(helped)} widths (M = "
                + ", ".join(map(str, helped))
                + f") N = {n_large} was at least as good."
            )
        contrast = _contrast_of(results, n_large)
        if contrast:
            explanation += (
                f" The same pre-registered test at N = {n_large}'s own threshold: "
                + _contrast(contrast)
            )
        out.append(explanation)
    if results.get("epochwise"):
        out.append(epochwise_markdown(results))
    return "\n\n".join(out)


def _contrast_of(results: dict, n_train: int) -> dict | None:
    return next(
        (c for c in results.get("threshold_contrasts", []) if c["n_train"] == n_train), None
    )


def _contrast(contrast: dict) -> str:
    return contrast_sentence(
        contrast["name"],
        contrast,
        unit="M",
        value=_plus_minus,
        difference=_plus_minus,
        metric="test MSE",
    )


def _plus_minus(value, error) -> str:
    return fmt(value) if error is None else plus_minus(value, error)


def bump_sentence(bump: dict) -> str:
    """The tested double-descent bump of one N, in words (see ``tested_bump``)."""
    if bump.get("index") is None:
        return (
            f"The exploratory scan over the {bump['cells_scanned'] + 1} widths: the mean test "
            "loss never rises above a narrower width's, no bump."
        )
    text = (
        f"The exploratory scan over every width (paired over seeds, each test counting the "
        f"{bump['cells_scanned']} widths scanned; `jaxnn.peaks`): the test loss rises from "
        f"M = {bump['dip_width']} to M = {bump['width']} by "
        f"{plus_minus(bump['rise'], bump['rise_standard_error'])} (Holm p = "
        f"{fmt(bump['rise_p_holm'], 2)})"
    )
    if bump["excess_p_holm"] is None:
        return text + f" and is highest at the widest M = {bump['widest_width']}."
    text += (
        f" and falls by {plus_minus(bump['excess'], bump['excess_standard_error'])} to "
        f"M = {bump['widest_width']} (Holm p = {fmt(bump['excess_p_holm'], 2)}): "
    )
    return text + (
        "both significant, a double-descent bump that survives the scan."
        if bump["significant"]
        else "not both significant with these seeds."
    )


def epochwise_markdown(results: dict) -> str:
    """Part (e), beyond the sheet: is the test loss non-monotone in epochs as well as in width?"""
    out = [
        "### (e) Epoch-wise double descent",
        "![test MSE over width and epoch](double_descent_epochwise.png)",
    ]
    first = results["epochwise"][0]
    text = (
        "The sweep also recorded the test loss at "
        f"{len(first['epochs'])} epochs (log-spaced plus every chunk end) of "
        "every run (Nakkiran et al. 2019, §5, Fig. 2, show test error against epochs rising and "
        "falling again for widths near the threshold). Every (width, epoch) cell is tested, "
        "paired over seeds: is its test loss above some earlier epoch's (a rise) and above some "
        "later epoch's (a fall)? A width shows *double descent* when a cell has both, "
        "*overfitting* when a cell rises and nothing later falls significantly. Scanning "
        f"{fmt(sum(p['cells_scanned'] for p in results['epochwise']))} cells "
        f"({len(first['widths'])} widths × {len(first['epochs']) - 2} interior epochs per N), "
        "a naive two-standard-error rule finds some by chance, so the cells' p-values are "
        f"{first['method']}-adjusted (false-discovery rate {fmt(first['alpha'])}; the q-value of "
        "each mark is given). "
    )
    sentences = []
    for panel in results["epochwise"]:
        marks = panel["nonmonotone"]
        double = [m for m in marks if m["kind"] == "double descent"]
        overfit = [m for m in marks if m["kind"] == "overfitting"]
        sentence = f"N = {panel['n_train']}: "
        if double:
            sentence += "epoch-wise double descent at M = " + ", ".join(
                f"{m['width']} (peak at epoch {m['peak_epoch']}, rise "
                f"{fmt(m['rise'])}, fall {fmt(m['fall'])}, q = {fmt(m['q'], 2)})"
                for m in double
            )
        else:
            sentence += "no width shows epoch-wise double descent"
        if overfit:
            sentence += (
                "; the test loss rises for good (overfitting in epochs) at M = "
                + ", ".join(str(m["width"]) for m in overfit)
            )
        sentences.append(sentence + ".")
    kinds = {m["kind"] for panel in results["epochwise"] for m in panel["nonmonotone"]}
    if "double descent" not in kinds:
        sentences.append(
            "This teacher does not show epoch-wise double descent within the "
            "recorded epochs"
            + (
                ": where the test loss is non-monotone in epochs it "
                "rises and stays up (overfitting) rather than "
                "descending a second time."
                if kinds
                else "."
            )
        )
    return "\n\n".join([*out, text + " ".join(sentences)])


def widths_both(results: dict, n_small: int, n_large: int) -> list[int]:
    """Widths swept for both training-set sizes."""
    by_n = {
        n: {r["width"] for r in results["sweep"] if r["n_train"] == n} for n in (n_small, n_large)
    }
    return sorted(by_n[n_small] & by_n[n_large])


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    lines = []
    for peak in results["test_loss_peak"]:
        threshold = next(
            (t for t in results["interpolation_threshold"] if t["n_train"] == peak["n_train"]), None
        )
        lines.append(
            f"N = {peak['n_train']}: test MSE peaks at M = {peak['width']} "
            f"({fmt(peak['test_loss'])}, {fmt(peak['test_loss'] / results['bayes_risk'])}"
            f" x R_t); interpolation threshold "
            + (
                f"M = {threshold['width']} ({threshold['n_params']} parameters)"
                if threshold
                else "not reached"
            )
        )
    if results["more_data_hurts_widths"]:
        hurt = results["more_data_hurts_widths"]
        tested = results.get("more_data_hurts_tested") or {}
        significant = tested.get("significant_widths", [])
        lines.append(
            f"more data: higher mean test MSE at {len(hurt)} width(s), "
            f"M = {min(hurt)}..{max(hurt)}; significant (Holm) at "
            f"{', '.join(map(str, significant)) if significant else 'none'}"
        )
    return lines
