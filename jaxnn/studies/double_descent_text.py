"""Sentences, Markdown and answers of the double-descent study, chosen from its results alone.

Every sentence reads numbers that ``double_descent.run`` and ``with_verdicts`` computed;
nothing here trains or measures.
"""

from __future__ import annotations

from jaxnn import verdicts
from jaxnn.formatting import count_of, details, fmt, p_text, plus_minus, table
from jaxnn.studies.contrast_text import contrast_sentence, contrast_test_sentence

CURVES_PNG = "double_descent_curves.png"
SWEEP_PNG = "double_descent_sweep.png"
MORE_DATA_PNG = "double_descent_more_data.png"
EPOCHWISE_PNG = "double_descent_epochwise.png"


def ranges(values, grid) -> str:
    """Widths as runs of the grid: ``"28–48, 56"`` (consecutive grid widths joined)."""
    grid = sorted(grid)
    chosen = sorted(set(values))
    runs: list[list[int]] = []
    for value in chosen:
        if runs and grid.index(value) == grid.index(runs[-1][-1]) + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return (
        ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs) or "none"
    )


def _span(values, digits: int = 2) -> str:
    """ "0.2–3" for a list of numbers (one number when they agree), "—" for none."""
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    low, high = fmt(min(values), digits), fmt(max(values), digits)
    return low if low == high else f"{low}–{high}"


def _pct(share) -> str:
    """A share of a rise as a percentage; "none" when the curve keeps rising (share <= 0)."""
    if share is None or share != share:
        return "—"
    return "none" if share <= 0 else f"{fmt(round(100 * share, 1 if share < 0.1 else 0))} %"


def _percent_span(values) -> str:
    return "—" if not values else f"{_span([100 * v for v in values])} %"


def _pm(value, error) -> str:
    return fmt(value) if error is None else plus_minus(value, error)


def _rows(results: dict, n_train: int) -> list[dict]:
    return sorted(
        (r for r in results["sweep"] if r["n_train"] == n_train), key=lambda r: r["width"]
    )


def _n_values(results: dict) -> list[int]:
    return list(dict.fromkeys(r["n_train"] for r in results["sweep"]))


def _by_n(entries, n_train: int):
    return next((e for e in entries or [] if e and e["n_train"] == n_train), None)


def _row_at(results: dict, n_train: int, width: int) -> dict | None:
    return next((r for r in _rows(results, n_train) if r["width"] == width), None)


def _contrast(contrast: dict) -> str:
    return contrast_sentence(
        contrast["name"], contrast, unit="M", value=_pm, difference=_pm, metric="test MSE"
    )


def _contrast_tests(contrast: dict) -> str:
    return contrast_test_sentence(contrast["name"], contrast, unit="M", difference=_pm)


def speed_sentence(results: dict) -> str:
    """Which widths reach training MSE < 1e-3, and whether wider is faster (sized)."""
    curves = sorted(results["training_curves"], key=lambda c: c["width"])
    reached = [c for c in curves if c["first_epoch_below_1e-3"] is not None]
    missed = [c for c in curves if c["first_epoch_below_1e-3"] is None]
    if not reached:
        return "**No width reaches MSE < 10⁻³** in this run."
    widths = ", ".join(str(c["width"]) for c in reached)
    epochs = ", ".join(fmt(c["first_epoch_below_1e-3"]) for c in reached)
    text = f"**M = {widths} reach MSE < 10⁻³** (median epoch {epochs})"
    if missed:
        text += "; " + ", ".join(
            f"M = {c['width']} ({c['n_params']} parameters) plateaus at "
            f"{fmt(c['final_train_loss'])}"
            for c in missed
        )
    speed = results.get("training_speed") or {"verdict": "untested", "steps": []}
    steps = speed["steps"]
    if speed["verdict"] in ("faster", "slower"):
        sizes = "; ".join(
            f"{_pm(abs(s['difference']), s['standard_error'])} epochs from M = {s['narrow']} to "
            f"{s['wide']}, floor {fmt(s['floor'])}"
            for s in steps
        )
        return text + f". **Larger models are {speed['verdict']}** in epochs ({sizes})."
    if steps:
        sizes = "; ".join(
            f"M = {s['narrow']} − {s['wide']}: {_pm(s['difference'], s['standard_error'])} epochs "
            f"({p_text(s['p'])}, floor {fmt(s['floor'])})"
            for s in steps
        )
        return text + f". No speed ordering is established ({sizes})."
    return text + "."


def threshold_sentence(results: dict, n_train: int) -> str:
    threshold = _by_n(results["interpolation_threshold"], n_train)
    marker = _by_n(results["parameter_count_at_n_times_outputs"], n_train)
    if threshold is None:
        return f"N = {n_train}: no width of the grid interpolates."
    return (
        f"**M = {threshold['width']} ({threshold['n_params']} parameters)** for N = {n_train}, "
        f"against N·O = {marker['n_params']} targets (M ≈ {fmt(marker['width'])})"
    )


def harm_sentence(results: dict) -> str:
    """ "More data hurt at M = 30–64 ..." from ``more_data_hurts_tested``, sized."""
    tested = results.get("more_data_hurts_tested")
    if not tested:
        return "Only one training-set size was run."
    n_small, n_large = _n_values(results)[:2]
    grid = [r["width"] for r in _rows(results, n_large)]
    largest = tested["largest"]
    if largest is None:
        return "No width could be compared."
    size = (
        f"{_pm(largest['difference'], largest['standard_error'])} test MSE at "
        f"M = {largest['width']}, floor {fmt(largest['floor'])}"
    )
    if tested["harmful_widths"]:
        return (
            f"**More data hurt at M = {ranges(tested['harmful_widths'], grid)}**: N = {n_large} "
            f"has the higher test MSE there, at most by {size}."
        )
    return (
        f"**More data did not measurably hurt**: the largest excess of N = {n_large} over "
        f"N = {n_small} is {size} (detectable: {fmt(largest['minimum_detectable'])})."
    )


def mechanism_sentence(results: dict) -> str:
    """Why more data can hurt, with this run's thresholds (Nakkiran et al. 2019, §6)."""
    n_small, n_large = _n_values(results)[:2]
    small = _by_n(results["interpolation_threshold"], n_small)
    large = _by_n(results["interpolation_threshold"], n_large)
    if not (small and large):
        return ""
    return (
        f"Doubling N moves the interpolation threshold from M = {small['width']} to "
        f"M = {large['width']}, so between them the N = {n_small} model is already past its "
        f"peak while the N = {n_large} model must fit its noisy targets with barely enough "
        "parameters (Nakkiran et al. 2019, §6)."
    )


def epochwise_sentence(results: dict) -> str:
    """The epoch-wise verdict over every N, with the sizes of what rises and what falls back."""
    panels = results.get("epochwise") or []
    share = f"{fmt(100 * verdicts.SECOND_DESCENT_SHARE)} %"
    double = [(p["n_train"], w) for p in panels for w in p["double_descent_widths"]]
    falls = [f for p in panels for f in p["significant_rise_and_fall"]]
    slivers = [f for f in falls if f["kind"] == "sliver"]
    levels = sum(len(p["levels_off_widths"]) for p in panels)
    if double:
        head = "**Epoch-wise double descent** at " + "; ".join(
            f"N = {p['n_train']}: M = {ranges(p['double_descent_widths'], p['widths'])}"
            for p in panels
            if p["double_descent_widths"]
        )
    else:
        head = f"**No epoch-wise double descent**: no width's fall undoes {share} of its rise"
    text = head + (
        f"; the test MSE rises and levels off (overfitting) at {levels} (width, N) pairs"
        if levels
        else ""
    )
    if slivers:
        text += (
            f". {count_of(len(slivers), 'width')} {'has' if len(slivers) == 1 else 'have'} a "
            "significant fall that undoes only "
            f"{_percent_span([f['undone'] for f in slivers])} of a "
            f"{_span([f['rise'] for f in slivers])} rise"
        )
    return text + "."


def markdown(results: dict) -> str:
    """Computer assignment 1 for REPORT.md, every number read from ``results``."""
    sections = [bayes_markdown(results), curves_markdown(results), sweep_markdown(results)]
    if len(_n_values(results)) > 1:
        sections.append(more_data_markdown(results))
    if results.get("epochwise"):
        sections.append(epochwise_markdown(results))
    return "\n\n".join(sections)


def bayes_markdown(results: dict) -> str:
    data = results["run"]["config"]["data"]
    bayes, check = results["bayes_risk"], results["bayes_check"]
    return "\n\n".join(
        [
            "### Theoretical optimal test error $R_t$",
            f"**$R_t = s^2 = {fmt(bayes)}$**: the best predictor is the teacher itself, and its "
            "expected test error is the label noise alone. The lowest test MSE measured, "
            f"{fmt(check['lowest_test_loss'])}, is "
            + ("not below" if check["passed"] else "**below**")
            + f" $R_t$ minus three standard errors of the test-set estimate "
            f"({fmt(bayes - check['tolerance'])}).",
            "$$R_t = \\mathbb E\\,\\tfrac1O\\lVert g(x)+\\varepsilon-g(x)\\rVert^2 = s^2 = "
            f"{fmt(bayes)}.$$",
            details(
                "How it was set up",
                f"Inputs $x \\sim \\mathcal N(0, I_{{{data['input_dim']}}})$, targets "
                f"$y = g(x) + \\varepsilon$ with "
                f"$\\varepsilon \\sim \\mathcal N(0, s^2 I_{{{data['output_dim']}}})$, "
                f"$s = {fmt(data['noise_std'])}$, and $g$ a fixed random ReLU teacher "
                f"{data['input_dim']}→{'→'.join(map(str, data['teacher_hidden']))}→"
                f"{data['output_dim']} normalised to unit variance per output "
                "(`jaxnn/data.py`). The MSE is averaged over samples and output dimensions; "
                f"the test set has {fmt(data['n_test'])} points (standard error of $R_t$'s "
                f"estimate {fmt(results['bayes_risk_standard_error'])}).",
            ),
        ]
    )


def curves_markdown(results: dict) -> str:
    config = results["run"]["config"]
    curves = sorted(results["training_curves"], key=lambda c: c["width"])
    rows = [
        [
            c["width"],
            c["n_params"],
            c["first_epoch_below_1e-3"],
            ", ".join(fmt(v) for v in c["first_epoch_below_1e-3_per_seed"]),
            c.get("first_epoch_below_1e-5"),
            c["final_train_loss"],
        ]
        for c in curves
    ]
    header = ["M", "parameters", "first epoch < 1e-3 (median)", "per seed", "first epoch < 1e-5"]
    header += ["final training MSE (median)"]
    speed = results.get("training_speed") or {"steps": []}
    tests = " ".join(
        f"M = {s['narrow']} vs {s['wide']}: {_pm(s['difference'], s['standard_error'])} epochs "
        f"(paired over seeds, two-sided {p_text(s['p'])}; floor {fmt(s['floor'])}, the pooled "
        f"seed spread of the two widths' epochs): {s['verdict']}."
        for s in speed["steps"]
    )
    return "\n\n".join(
        [
            f"### (b) Training curves for M ∈ {{{', '.join(str(c['width']) for c in curves)}}}",
            speed_sentence(results),
            f"![training loss curves]({CURVES_PNG})",
            table(header, rows),
            details(
                "How it was tested",
                f"Full-batch Adam (learning rate {fmt(config['learning_rate'])}, "
                f"{fmt(config['curve_epochs'])} epochs, N = {results['curve_n_train']}, "
                f"{config['seeds']} seeds; seed s trains on training set s at every width). "
                "A width that cannot fit the N·O targets has fewer parameters than targets. "
                + tests,
            ),
        ]
    )


def sweep_markdown(results: dict) -> str:
    config = results["run"]["config"]
    n_values = _n_values(results)
    n_first = n_values[0]
    contrast = _by_n(results["threshold_contrasts"], n_first)
    answer = f"*Interpolation threshold*: {threshold_sentence(results, n_first)}. " + (
        _contrast(contrast) if contrast else ""
    )
    rows = []
    for n in n_values:
        sweep = _rows(results, n)
        peak = _by_n(results["test_loss_peak"], n)
        best = min(sweep, key=lambda r: r["test_loss"])
        threshold = _by_n(results["interpolation_threshold"], n)
        c = _by_n(results["threshold_contrasts"], n) or {}
        tested = c.get("tested")
        rows.append(
            [
                n,
                "—" if threshold is None else f"{threshold['width']} ({threshold['n_params']})",
                f"{peak['width']}: {fmt(peak['test_loss'])} "
                f"({fmt(peak['test_loss'] / results['bayes_risk'])}× $R_t$)",
                f"{fmt(sweep[0]['test_loss'])} / {fmt(sweep[-1]['test_loss'])}",
                f"{best['width']}: {fmt(best['test_loss'])}",
                f"{_pm(c['rise'], c['rise_standard_error'])} ({fmt(c['rise_floor'])})"
                if tested
                else "—",
                _pct(c["undone"]) if tested else "—",
                f"**{c['verdict']}**" if c.get("qualifies") else c.get("verdict", "—"),
            ]
        )
    method = [
        f"Interpolation threshold: the smallest M whose seed-median final training MSE is "
        f"below {fmt(results['interpolation_tol'])} (a run's final training MSE is the median "
        f"over its last {fmt(max(1, config['epochs'] // 20))} epochs). The pre-registered test "
        "(one per N; `jaxnn.peaks.threshold_contrast`) puts the window at the threshold width "
        "and the width below it, fixed from the training loss before the test loss is read, "
        "and tests the seeds' window mean against every narrower width (paired one-sided t, "
        "Bonferroni) and against the widest. Double descent needs the rise significant and at "
        f"least its floor ({verdicts.SPREAD_FLOOR_REASON}) and the widest width to undo at least "
        f"{fmt(100 * verdicts.SECOND_DESCENT_SHARE)} % of it: {verdicts.SECOND_DESCENT_REASON}.",
        *(_contrast_tests(c) for c in results["threshold_contrasts"]),
        *(_contrast(c) for c in results["threshold_contrasts"][1:]),
        *(bump_sentence(b) for b in results.get("test_loss_bump") or [] if b),
    ]
    header = ["N", "threshold M (parameters)", "test-MSE peak M: mean"]
    header += [f"test MSE at M = {min(config['widths'])} / {max(config['widths'])}"]
    header += ["best M: test MSE", "rise at the threshold ± s.e. (floor)"]
    header += ["rise undone by the widest", "verdict"]
    return "\n\n".join(
        [
            f"### (c) Width sweep M = {min(config['widths'])}…{max(config['widths'])} "
            f"({len(config['widths'])} widths, B = N, {fmt(config['epochs'])} epochs, "
            f"{config['seeds']} seeds)",
            answer,
            f"![double descent sweep]({SWEEP_PNG})",
            table(header, rows),
            details("How it was tested", "\n\n".join(method)),
        ]
    )


def bump_sentence(bump: dict) -> str:
    """The exploratory scan over width of one N, with its sized verdict."""
    head = f"Exploratory scan, N = {bump['n_train']}"
    if bump.get("index") is None:
        return f"{head}: the mean test loss never rises above a narrower width's."
    text = (
        f"{head} (every width a candidate, Holm over the {bump['cells_scanned']} scanned; "
        f"`jaxnn.peaks.peak_of`): the test MSE rises from M = {bump['dip_width']} to "
        f"M = {bump['width']} by {_pm(bump['rise'], bump['rise_standard_error'])} (Holm "
        f"{p_text(bump['rise_p_holm'])}; floor {fmt(bump.get('rise_floor'))})"
    )
    if bump.get("excess_p_holm") is None:
        return text + f" and is highest at the widest M = {bump['widest_width']}."
    return text + (
        f" and falls by {_pm(bump['excess'], bump['excess_standard_error'])} to "
        f"M = {bump['widest_width']} (Holm {p_text(bump['excess_p_holm'])}; "
        f"{_pct(bump['undone'])} of the rise undone): {bump['verdict']}."
    )


def _sized(c: dict) -> list[str]:
    """A width's "more data hurts" comparison: difference ± s.e., floor and Holm p."""
    return [_pm(c["difference"], c["standard_error"]), fmt(c["floor"]), fmt(c["p_holm"], 2)]


def more_data_markdown(results: dict) -> str:
    n_small, n_large = _n_values(results)[:2]
    tested = results["more_data_hurts_tested"]
    by_width = {c["width"]: c for c in tested["comparisons"]}
    more = results["more_data"]
    rows = []
    for width in sorted({r["width"] for r in more}):
        entries = {r["n_train"]: r for r in more if r["width"] == width}
        c = by_width.get(width)
        rows.append(
            [
                width,
                next(iter(entries.values()))["n_params"],
                *(
                    _pm(entries[n]["test_loss"], entries[n]["test_loss_std"])
                    if n in entries
                    else "—"
                    for n in (n_small, n_large)
                ),
                *(["—"] * 4 if c is None else [*_sized(c), c["verdict"]]),
            ]
        )
    every = table(
        ["M", f"N = {n_large} − N = {n_small} ± s.e.", "floor", "Holm p", "detectable", "verdict"],
        [
            [c["width"], *_sized(c), fmt(c["minimum_detectable"]), c["verdict"]]
            for c in tested["comparisons"]
        ],
    )
    grid = [r["width"] for r in _rows(results, n_large)]
    hurt = results.get("more_data_hurts_widths") or []
    method = (
        f"Width by width, Welch's one-sided t-test of the seeds' test MSE (N = {n_large} above "
        f"N = {n_small}; independent training sets), Holm over the {tested['widths_compared']} "
        f"widths. A width counts only when the difference is significant and at least its "
        f"floor, the pooled seed-to-seed standard deviation of the two cells: "
        f"{tested['floor_reason']}. The detectable difference is at 80 % power at Holm's first "
        f"step. The seed means alone put N = {n_large} higher at M = {ranges(hurt, grid)}; "
        f"significant at M = {ranges(tested['significant_widths'], grid)}. The first table's "
        "widths are the measured thresholds and the widest (± is the seed standard deviation)."
    )
    header = ["M", "parameters", f"test MSE, N = {n_small}", f"test MSE, N = {n_large}"]
    header += ["difference ± s.e.", "floor", "Holm p", "verdict"]
    return "\n\n".join(
        [
            f"### (d) More data can hurt: N = {n_small} vs {n_large}",
            harm_sentence(results) + " " + mechanism_sentence(results),
            f"![test loss for each N]({MORE_DATA_PNG})",
            table(header, rows),
            details("How it was tested", method + "\n\n" + every),
        ]
    )


def _epochwise_summary(panels: list[dict]) -> str:
    """Per training-set size: the verdict and the widths of each kind, with their sizes."""
    rows = []
    for p in panels:
        levels = [m for m in p["nonmonotone"] if m["kind"] == verdicts.LEVELS_OFF]
        falls = p["significant_rise_and_fall"]
        rows.append(
            [
                p["n_train"],
                p["verdict"],
                ranges(p["double_descent_widths"], p["widths"]),
                ranges(p["levels_off_widths"], p["widths"]),
                _span([m["rise"] for m in levels]),
                ranges(p["sliver_widths"], p["widths"]),
                _span([f["fall"] for f in falls]),
                _percent_span([f["undone"] for f in falls]),
                "—" if p.get("slivers") is None else p["slivers"],
            ]
        )
    header = ["N", "verdict", "double descent at M", "levels off at M", "rise"]
    header += ["significant slivers at M", "their fall", "undone", "sliver cells"]
    return table(header, rows)


def _epochwise_marks(panels: list[dict]) -> str:
    """Each width's mark, then its most significant rise-and-fall where that is another cell."""
    rows = []
    for p in panels:
        marked = {(m["width"], m["peak_epoch"]) for m in p["nonmonotone"]}
        others = [
            f for f in p["significant_rise_and_fall"] if (f["width"], f["peak_epoch"]) not in marked
        ]
        rows += [
            [
                p["n_train"],
                *(m[k] for k in ("width", "kind", "peak_epoch", "rise", "fall")),
                *(_pct(m["undone"]), m["rise_floor"], fmt(m["q"], 2), m["tested"]),
            ]
            for m in [*p["nonmonotone"], *others]
        ]
    header = ["N", "M", "kind", "peak epoch", "rise", "fall", "undone", "floor", "q", "q tests"]
    return table(header, rows)


def epochwise_markdown(results: dict) -> str:
    """Part (e), beyond the sheet: is the test loss non-monotone in epochs as well as in width?"""
    panels = results["epochwise"]
    share = f"{fmt(100 * verdicts.SECOND_DESCENT_SHARE)} %"
    first = panels[0]
    method = (
        f"The sweep recorded the test MSE at {len(first['epochs'])} epochs (log-spaced, then "
        "every chunk end) of every run. Every (width, epoch) cell is tested, paired over "
        "seeds: is it above some earlier epoch (a rise) and above some later epoch (a fall)? "
        f"Over {fmt(sum(p['cells_scanned'] for p in panels))} cells the p-values are "
        f"{first['method']}-adjusted (false-discovery rate {fmt(first['alpha'])}). A width "
        f"shows double descent only when a cell's rise is significant and at least its floor "
        f"({verdicts.SPREAD_FLOOR_REASON}) and its fall is significant and undoes at least "
        f"{share} of the rise ({verdicts.SECOND_DESCENT_REASON}); a significant rise above "
        "its floor that falls back by less is overfitting that levels off. Rise: from the "
        "lowest earlier epoch; fall: to the lowest later epoch (seed means). The table lists "
        "each width's mark (for overfitting, its largest significant rise) and then its most "
        "significant rise-and-fall where that is another cell, whatever share it undoes."
    )
    return "\n\n".join(
        [
            "### (e) Epoch-wise double descent",
            epochwise_sentence(results),
            f"![test MSE over width and epoch]({EPOCHWISE_PNG})",
            _epochwise_summary(panels),
            details("How it was tested", method + "\n\n" + _epochwise_marks(panels)),
        ]
    )


def answers(results: dict) -> list[dict]:
    """One row per item of computer assignment 1 and the epoch-wise question beyond it."""
    n_values = _n_values(results)
    n_first = n_values[0]
    bayes, check = results["bayes_risk"], results["bayes_check"]
    sweep = _rows(results, n_first)
    peak = _by_n(results["test_loss_peak"], n_first)
    config = results["run"]["config"]
    curves = sorted(results["training_curves"], key=lambda c: c["width"])
    peak_error = _row_at(results, n_first, peak["width"])["test_loss_standard_error"]
    rows = [
        (
            "CA 1(b)",
            "What is the theoretical optimal test error $R_t$?",
            f"$R_t = s^2 = {fmt(bayes)}$, the label-noise variance (the teacher is the best "
            f"predictor); the lowest test MSE measured, {fmt(check['lowest_test_loss'])}, is "
            + ("not below it." if check["passed"] else "**below it**: check the data."),
            None,
        ),
        (
            "CA 1(b)",
            "Training loss for each M (log–log plot)",
            f"Training MSE against epoch for M = {', '.join(str(c['width']) for c in curves)} "
            f"(N = {results['curve_n_train']}, {config['seeds']} seeds, "
            f"{fmt(config['curve_epochs'])} full-batch Adam steps); final median MSE "
            f"{', '.join(fmt(c['final_train_loss']) for c in curves)}.",
            CURVES_PNG,
        ),
        (
            "CA 1(b)",
            "Which M reach MSE < 10⁻³? Faster or slower for larger models?",
            speed_sentence(results),
            CURVES_PNG,
        ),
        (
            "CA 1(c)",
            "Final training and test loss against M",
            f"N = {n_first}: training MSE reaches {fmt(results['interpolation_tol'])} from the "
            f"threshold on; test MSE {fmt(sweep[0]['test_loss'])} at M = {sweep[0]['width']}, "
            f"peak {_pm(peak['test_loss'], peak_error)} at M = {peak['width']}, "
            f"{fmt(sweep[-1]['test_loss'])} at M = {sweep[-1]['width']}.",
            SWEEP_PNG,
        ),
        (
            "CA 1(c)",
            "What is the interpolation threshold, and how many parameters?",
            threshold_sentence(results, n_first) + ": the smallest M whose seed-median final "
            f"training MSE is below {fmt(results['interpolation_tol'])}.",
            SWEEP_PNG,
        ),
    ]
    contrast = _by_n(results["threshold_contrasts"], n_first)
    if contrast:
        question = "Is there a double-descent peak at the threshold?"
        rows.append(("CA 1(c)", question, _short_contrast(contrast), SWEEP_PNG))
    if len(n_values) > 1:
        question = (
            f"Test loss for N = {n_values[0]} and {n_values[1]} at the threshold and beyond it; "
            "why?"
        )
        rows.append(("CA 1(d)", question, more_data_answer(results), MORE_DATA_PNG))
    if results.get("epochwise"):
        question = "Epoch-wise double descent in the teacher?"
        rows.append(("Beyond the sheet", question, epochwise_sentence(results), EPOCHWISE_PNG))
    keys = ("item", "question", "answer", "figure")
    return [dict(zip(keys, row)) for row in rows]


def _short_contrast(contrast: dict) -> str:
    """The threshold verdict in one sentence: its size, its floor, the share undone."""
    if not contrast.get("tested"):
        return f"Not tested ({contrast.get('reason', 'no window')})."
    window = "–".join(str(w) for w in contrast["window_values"])
    rise = (
        f"the test MSE at M = {window} is {_pm(contrast['rise'], contrast['rise_standard_error'])} "
        f"above M = {contrast['rise_versus_value']} (floor {fmt(contrast['rise_floor'])})"
    )
    undone = _pct(contrast["undone"])
    if contrast["verdict"] == verdicts.DOUBLE_DESCENT:
        return (
            f"**Yes, double descent**: {rise}, and M = {contrast['last_value']} undoes {undone} "
            f"of it ({fmt(100 * contrast['share'])} % needed)."
        )
    if contrast["verdict"] == verdicts.LEVELS_OFF:
        return f"**No, it levels off**: {rise}; M = {contrast['last_value']} undoes {undone}."
    return f"**No peak established**: {rise}; {contrast['verdict']}."


def more_data_answer(results: dict) -> str:
    """CA 1(d): the two models' test losses for both N (mean ± s.e.), the verdict and why."""
    n_small, n_large = _n_values(results)[:2]
    widths = sorted({r["width"] for r in results["more_data"]})[:2]
    values = []
    for width in widths:
        pair = [_row_at(results, n, width) for n in (n_small, n_large)]
        if None not in pair:
            losses = " vs ".join(_pm(r["test_loss"], r["test_loss_standard_error"]) for r in pair)
            values.append(f"M = {width}: {losses}")
    text = f"Test MSE, N = {n_small} vs {n_large}: " + "; ".join(values) + ". "
    tested = results["more_data_hurts_tested"]
    largest = tested["largest"]
    small = _by_n(results["interpolation_threshold"], n_small)
    large = _by_n(results["interpolation_threshold"], n_large)
    why = (
        f": doubling N moves the interpolation threshold, and its peak, from M = "
        f"{small['width']} to {large['width']}."
        if small and large
        else "."
    )
    if tested["harmful_widths"]:
        grid = [r["width"] for r in _rows(results, n_large)]
        return (
            text + f"**More data hurt at M = {ranges(tested['harmful_widths'], grid)}** (at most "
            f"{_pm(largest['difference'], largest['standard_error'])} at M = {largest['width']}, "
            f"floor {fmt(largest['floor'])})" + why
        )
    return text + harm_sentence(results)


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    lines = []
    for n in _n_values(results):
        peak = _by_n(results["test_loss_peak"], n)
        threshold = _by_n(results["interpolation_threshold"], n)
        contrast = _by_n(results["threshold_contrasts"], n) or {}
        where = "not reached"
        if threshold:
            where = f"M = {threshold['width']} ({threshold['n_params']} parameters)"
        size = ""
        if contrast.get("tested"):
            size = f" (rise {fmt(contrast['rise'])}, floor {fmt(contrast['rise_floor'])}, "
            size += f"{_pct(contrast['undone'])} undone)"
        lines.append(
            f"N = {n}: test MSE peaks at M = {peak['width']} ({fmt(peak['test_loss'])}, "
            f"{fmt(peak['test_loss'] / results['bayes_risk'])} x R_t); interpolation threshold "
            f"{where}; threshold test: {contrast.get('verdict', 'not tested')}{size}"
        )
    tested = results.get("more_data_hurts_tested")
    if tested:
        largest = tested["largest"] or {}
        lines.append(
            f"more data hurt (significant and >= floor) at "
            f"{len(tested['harmful_widths'])} width(s): M = "
            f"{', '.join(map(str, tested['harmful_widths'])) or 'none'}; largest difference "
            f"{fmt(largest.get('difference'))} (floor {fmt(largest.get('floor'))})"
        )
    for panel in results.get("epochwise") or []:
        largest = panel["undone"]
        lines.append(
            f"epoch-wise, N = {panel['n_train']}: {panel['verdict']}; double descent at "
            f"{len(panel['double_descent_widths'])} width(s), levels off at "
            f"{len(panel['levels_off_widths'])}, significant slivers at "
            f"{len(panel['sliver_widths'])} (largest share undone "
            f"{_percent_span([] if largest is None else [largest])})"
        )
    return lines
