"""Sentences and Markdown of the sample-wise MNIST-1D study, chosen from its results alone.

Every sentence reads numbers that ``sample_wise_mnist1d.with_verdicts``
computed; errors are shown in percent. Nothing here trains or measures.
"""

from __future__ import annotations

from jaxnn import verdicts
from jaxnn.formatting import details, fmt, is_finite, label_noise_words, p_text, table
from jaxnn.studies.contrast_text import error_rate, points, pt

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


def _verdict_sentence(curve: dict) -> str:
    """Did more data hurt this curve? The ``verdict`` with its size, floor and detectable rise
    (N-axis wording: the rise is over a *smaller* N, the second descent at the largest)."""
    title = curve_title(curve)
    contrast = curve["contrast"]
    if contrast is None:
        return f"{title}: no window to test ({curve['threshold']['reason']})."
    window = "–".join(fmt(n) for n in curve["window_values"])
    if not contrast["tested"]:
        return f"{title}: window N = {window} not tested ({contrast['reason']})."
    versus = _n(curve["rise_versus_n_train"])
    rise = pt(contrast["rise"], contrast["rise_standard_error"])
    floor = pt(contrast["rise_floor"])
    largest = _n(curve["n_train"][-1])
    verdict = contrast["verdict"]
    if verdict in (verdicts.DOUBLE_DESCENT, verdicts.LEVELS_OFF):
        head = (
            "**more data hurt: sample-wise double descent**"
            if verdict == verdicts.DOUBLE_DESCENT
            else "**more data hurt**, but the rise levels off, **not double descent**"
        )
        return (
            f"{title}: {head}. Going from {versus} to the threshold window N = {window} raises "
            f"the test error {rise} (floor {floor}); {largest} undoes "
            f"{error_rate(contrast['undone'])} of that rise (at least "
            f"{fmt(100 * contrast['share'])} % needed)."
        )
    if verdict == "rise below floor":
        return (
            f"{title}: **more data did not hurt by a size that matters**: the window N = "
            f"{window} is {rise} above {versus}, significant but below its floor {floor}."
        )
    return (
        f"{title}: **more data did not hurt**: the window N = {window} differs by {rise} from "
        f"{versus}, the smaller N closest to a rise (floor {floor}); a rise of "
        f"{pt(contrast['rise_minimum_detectable'])} would have been detected with "
        f"{fmt(100 * contrast['power'])} % power."
    )


def _contrast_sentence(curve: dict) -> str:
    """The test behind ``_verdict_sentence``: window value, p-values and detectable sizes."""
    title = curve_title(curve)
    contrast = curve["contrast"]
    if contrast is None or not contrast["tested"]:
        return _verdict_sentence(curve)
    window = " and ".join(fmt(n) for n in curve["window_values"])
    lowest = curve["smaller_lowest"]
    return (
        f"{title}: over the window N = {window} the test error is "
        f"{error_rate(contrast['window_value'], contrast['window_standard_error'])}; the lowest "
        f"at a smaller N is {error_rate(lowest['value'])} at N = {fmt(lowest['n_train'])}. Against "
        f"{_n(curve['rise_versus_n_train'])}, the smaller N whose paired test comes closest "
        "to a rise, it differs by "
        f"{points(contrast['rise'], contrast['rise_standard_error'])} "
        f"(Bonferroni over {contrast['rise_cells']} smaller N, {p_text(contrast['rise_p'])}; "
        f"floor {points(contrast['rise_floor'])}; "
        f"the smallest rise this test detects with {fmt(100 * contrast['power'], 2)} % power is "
        f"{points(contrast['rise_minimum_detectable'])}); against the largest "
        f"{_n(curve['n_train'][-1])} by "
        f"{points(contrast['excess'], contrast['excess_standard_error'])} "
        f"({p_text(contrast['excess_p'])}; minimum detectable "
        f"{points(contrast['excess_minimum_detectable'])})."
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
        f"N = {fmt(scan['n_train'])}, {points(scan['rise'], scan['rise_standard_error'])} "
        f"(Holm p = {fmt(scan['rise_p_holm'], 2)} over {scan['cells_scanned']} N)"
    )
    if scan["excess_p_holm"] is not None:
        text += (
            f", {points(scan['excess'], scan['excess_standard_error'])} above the largest N "
            f"(Holm p = {fmt(scan['excess_p_holm'], 2)})"
        )
    undone, floor = error_rate(scan.get("undone")), points(scan.get("rise_floor"))
    ending = {
        verdicts.DOUBLE_DESCENT: "a rise and a fall that undoes at least half of it",
        verdicts.LEVELS_OFF: f"a rise that levels off ({undone} of it undone)",
        "rise below floor": f"significant, but below its floor {floor}",
    }.get(scan.get("verdict"), "not a peak after Holm's correction")
    return f"{text}: {ending}."


def _shift_sentence(shift: dict) -> str:
    q = shift["label_noise"]
    noise = f"With {label_noise_words(q)}" if q else "Without label noise"
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
            f"{shift['seeds_wide_smaller']} (one-sided sign test {p_text(shift['sign_test_p'])}; "
            f"the smallest p {shift['seeds_compared']} seeds can give is "
            f"{fmt(shift.get('smallest_p'), 2)})"
        )
    return text + f". Floor: a ratio of {fmt(shift.get('floor_ratio'), 3)}."


def _curve_table(results: dict, curve: dict) -> str:
    cell = (curve["label_noise"], curve["width"])
    rows = [r for r in results["rows"] if (r["label_noise"], r["width"]) == cell]
    window = curve.get("window_values") or []
    body = [
        [
            fmt(r["n_train"]) + (" ◀" if r["n_train"] in window else ""),
            r["epochs"],
            error_rate(r["train_error"], r["train_error_standard_error"]),
            error_rate(r["test_error"], r["test_error_standard_error"]),
            f"{fmt(r['test_loss'])} ± {fmt(r['test_loss_standard_error'], 2)}",
        ]
        for r in rows
    ]
    return table(["N", "epochs", "train error", "test error", "test cross-entropy"], body)


def _shift_answer(shift: dict) -> str:
    """Does the threshold move with width? The verdict with its size (the ratio) and floor."""
    noise = label_noise_words(shift["label_noise"])
    narrow, wide = shift["narrow_threshold_n_train"], shift["wide_threshold_n_train"]
    if narrow is None or wide is None:
        return f"{noise.capitalize()}: a threshold lies outside the grid; the move is not measured."
    size = (
        f"M = {shift['wide_width']} fits up to N = {fmt(wide)}, M = {shift['narrow_width']} up "
        f"to N = {fmt(narrow)}: a ratio of {fmt(shift['ratio'], 3)} (floor "
        f"{fmt(shift['floor_ratio'], 3)}; {shift['seeds_wide_larger']} of "
        f"{shift['seeds_compared']} seeds larger, sign test {p_text(shift['sign_test_p'])})"
    )
    head = {
        verdicts.EFFECT: "**the wider model's threshold sits at a larger N**",
        verdicts.BELOW_FLOOR: "a move **below its floor**",
    }.get(shift["verdict"], "**no move established**")
    return f"{noise.capitalize()}: {head}; {size}."


def _contrast_table(curves: list[dict]) -> str:
    body = []
    for curve in curves:
        contrast = curve["contrast"]
        fitted = _n(curve["threshold_n_train"])
        if contrast is None or not contrast["tested"]:
            body.append([curve_title(curve), fitted, "—", "—", "—", "—", "not tested"])
            continue
        body.append(
            [
                curve_title(curve),
                f"{fitted} ({fmt(curve['params_per_example'], 2)} params per example)",
                "–".join(fmt(n) for n in curve["window_values"]),
                f"{pt(contrast['rise'], contrast['rise_standard_error'])} over "
                f"{_n(curve['rise_versus_n_train'])}",
                pt(contrast["rise_floor"]),
                pt(contrast["rise_minimum_detectable"]),
                f"**{contrast['verdict']}**" if contrast["qualifies"] else contrast["verdict"],
            ]
        )
    header = ["curve", "fitted exactly up to", "window", "rise ± s.e. (more data hurt?)"]
    return table([*header, "floor", "detectable (80 % power)", "verdict"], body)


def _setup(results: dict) -> str:
    config = results["run"]["config"]
    grid = ", ".join(fmt(n) for n in config["n_train"])
    return (
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
        f"{', '.join(fmt(100 * q) + ' %' for q in config['label_noises'])}; "
        f"{config['seeds']} seeds. SGD with learning rate "
        f"{fmt(config['learning_rate'])}, momentum {fmt(config['momentum'])}, batches of "
        f"{config['batch_size']}, softmax cross-entropy, **{fmt(config['steps'])} steps at "
        "every N** (epochs = steps × batch / N, rounded), so every N gets the same "
        "optimization and the training error rises with N. Errors are fractions "
        "misclassified in percent; ± is the standard error over seeds."
    )


def markdown(results: dict) -> str:
    """The sample-wise section of REPORT.md, every number read from ``results``: for each part
    the answer, the figure, a compact table, then the method folded."""
    curves = results["curves"]
    contrasts = results["threshold_contrasts"]
    alpha = fmt(contrasts[0].get("alpha", 0.05)) if contrasts else "0.05"
    method = [
        _setup(results),
        "The threshold is read from the training error alone: the largest N at which every "
        "seed fits every training label exactly. The window tested is that N and the next "
        "larger one (marked ◀ in the tables), fixed before any test error is compared.",
        " ".join(_threshold_sentence(c) for c in curves),
        "For each curve one test (`jaxnn.peaks.threshold_contrast`): each seed's mean test "
        "error over the window against (i) its test error at every smaller N, one-sided "
        "paired t-tests Bonferroni-corrected over those N (the *rise*: more data hurt), and "
        "(ii) its test error at the largest N (the *excess*: the second descent), each at "
        f"{alpha}. More data hurt only when the rise is significant and at least its floor: "
        + verdicts.SPREAD_FLOOR_REASON
        + " (the pooled spread of the window's N and the N the rise is shown against). "
        "Sample-wise double descent needs, besides, the largest N to undo at least "
        f"{fmt(100 * verdicts.SECOND_DESCENT_SHARE)} % of the rise: "
        + verdicts.SECOND_DESCENT_REASON
        + ".",
        " ".join(_contrast_sentence(c) for c in curves),
        "**Exploratory scan**, not pre-registered: along each curve, the N whose seed-mean "
        "test error rises most above a smaller N's (`jaxnn.peaks.peak_of`), its rise and its "
        "excess over the largest N each Holm-adjusted over the N's scanned, with the same "
        "floor and share. " + " ".join(_scan_sentence(c) for c in curves),
    ]
    shifts = results["threshold_shift"]
    out = [
        "### Did more data hurt?",
        "\n".join(f"- {_verdict_sentence(c)}" for c in curves),
        "![Sample-wise double descent on MNIST-1D](sample_wise_mnist1d.png)",
        _contrast_table(curves),
        details("How it was tested", "\n\n".join(method)),
        "### Does the threshold move with width?",
        " ".join(_shift_answer(s) for s in shifts)
        or "Only one width per noise level: nothing to compare.",
    ]
    if shifts:
        out.append(
            details(
                "How it was tested",
                "Each seed's threshold is its own largest N fitted exactly; the sign test "
                "counts the seeds whose wider model's threshold is the larger (ties left out, "
                "one-sided exact binomial). The size is the ratio of the two widths' "
                "thresholds, and its floor one seed-to-seed standard deviation of the "
                "per-seed thresholds (pooled over both widths, on a log scale, as a ratio): "
                + verdicts.SPREAD_FLOOR_REASON
                + ". "
                + " ".join(_shift_sentence(s) for s in shifts),
            )
        )
    numbers = [part for c in curves for part in (f"**{curve_title(c)}**", _curve_table(results, c))]
    out.append(details("Numbers for every N", "\n\n".join(numbers)))
    return "\n\n".join(out)


def answers(results: dict) -> list[dict]:
    """Beyond-the-sheet rows of REPORT.md's Answers: did more data hurt, and does the
    threshold move with width?"""
    tested = [c for c in results["curves"] if c["contrast"] is not None and c["contrast"]["tested"]]
    hurt = [c for c in tested if c["more_data_hurt"]["verdict"] == verdicts.EFFECT]
    if not tested:
        answer = "Not tested: no curve has a threshold window inside the grid."
    elif hurt:
        answer = "**Yes** for " + "; ".join(
            f"{curve_title(c)} ({pt(c['contrast']['rise'], c['contrast']['rise_standard_error'])}"
            f", floor {pt(c['contrast']['rise_floor'])}: {c['contrast']['verdict']})"
            for c in hurt
        )
        answer += f"; not for the other {len(tested) - len(hurt)} curves."
    else:
        rises = [c["contrast"]["rise"] for c in tested]
        detectable = [c["contrast"]["rise_minimum_detectable"] for c in tested]
        floors = [c["contrast"]["rise_floor"] for c in tested]
        answer = (
            f"**No**, in none of the {len(tested)} curves: the threshold window's test error "
            f"differs from the best smaller N by {_range(rises)} (floors {_range(floors)}); a "
            f"rise of {_range(detectable)} would have been detected with 80 % power."
        )
    rows = [("Sample-wise: did more data hurt?", answer)]
    shifts = results["threshold_shift"]
    if shifts:
        moved = [s for s in shifts if s["verdict"] == verdicts.EFFECT]
        head = "**Yes**" if len(moved) == len(shifts) else "**No**" if not moved else "**Partly**"
        moves = "; ".join(
            f"{label_noise_words(s['label_noise'])}, N = "
            f"{fmt(s['narrow_threshold_n_train'])} → {fmt(s['wide_threshold_n_train'])} "
            f"(M = {s['narrow_width']} → {s['wide_width']}), ratio {fmt(s['ratio'], 3)}"
            f" (floor {fmt(s['floor_ratio'], 3)}), {s['seeds_wide_larger']}/"
            f"{s['seeds_compared']} seeds, {p_text(s['sign_test_p'])}"
            for s in shifts
        )
        rows.append(("Does the sample-wise threshold move with width?", f"{head}: {moves}."))
    figure = "sample_wise_mnist1d.png"
    return [{"item": "Beyond 8.2", "question": q, "answer": a, "figure": figure} for q, a in rows]


def _range(values) -> str:
    """ "−7.9 to −3.0 pt" (or one value) for a set of differences in error rate."""
    finite = [v for v in values if is_finite(v)]
    if not finite:
        return "—"
    low, high = min(finite), max(finite)
    if fmt(100 * low, 2) == fmt(100 * high, 2):
        return pt(low)
    return f"{fmt(100 * low, 2)} to {fmt(100 * high, 2)} pt"


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
                f"(p = {contrast['rise_p']:.2g}, floor {100 * contrast['rise_floor']:.2f} pp), "
                f"excess {100 * contrast['excess']:+.2f} pp (p = {contrast['excess_p']:.2g}): "
                f"more data hurt? {curve['more_data_hurt']['verdict']}; {contrast['verdict']}"
            )
        lines.append(text)
    for shift in results["threshold_shift"]:
        lines.append(
            f"label noise {shift['label_noise']:g}: threshold ratio {fmt(shift['ratio'], 3)} "
            f"(floor {fmt(shift['floor_ratio'], 3)}, sign p {fmt(shift['sign_test_p'], 2)}): "
            f"{shift['verdict']}"
        )
    return lines
