"""The sharpness subsection of the implicit-regularization study: λ_max and tr H against 2/μ.

Sentences and tables read the ``sharpness`` and ``correlations`` entries that
``implicit_regularization.run`` computed; the correlation helpers serve the
gradient-statistics subsection too. Nothing here trains or measures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from jaxnn import verdicts
from jaxnn.formatting import details, fmt, is_finite, p_text, percent, plus_minus, signed, table
from jaxnn.studies.implicit_regularization_stats import CURVATURES

WHERE = {"matched_loss_": "at the matched loss", "": "at the end"}
SYMBOLS = {
    "grad_norm_sq": "‖∇J‖²",
    "batch_grad_variance": "V",
    "hessian_top_eigenvalue": "λ_max",
    "hessian_trace_per_parameter": "tr H/p",
}


# The keys of ``verdicts.effect_text``'s judgement in a correlation entry (after a prefix).
JUDGEMENT_KEYS = {"p": "p_holm", "minimum_detectable": "minimum_detectable", "verdict": "verdict"}


def correlation_effect(c: dict, *, within: bool = False) -> str:
    """r, its Holm p, and the fitted change of the test MSE across the statistic, judged."""
    prefix = "within_" if within else ""
    change = c[f"{prefix}change"]
    r = c[f"{prefix}pearson"]
    if not is_finite(change):
        return f"r = {signed(r)} (no spread to measure)"
    judgement = {"estimate": abs(change), "floor": c["floor"]}
    judgement |= {k: c[prefix + key] for k, key in JUDGEMENT_KEYS.items()}
    noun = f"{'rise' if change > 0 else 'fall'} of test MSE over its range"
    return f"r = {signed(r)}: " + verdicts.effect_text(judgement, noun=noun)


def pm(row: dict, key: str) -> str:
    return plus_minus(row[key], row[f"{key}_std"])


def _positions_cell(counts: dict) -> str:
    return f"{counts['below']}/{counts['at']}/{counts['above']}"


def _position_text(counts: dict) -> str:
    return (
        f"{counts['at']} of {counts['n']} sit at the edge 2/μ, {counts['below']} below and "
        f"{counts['above']} above it (λ_max·μ/2 = {fmt(counts['edge_ratio_min'])}–"
        f"{fmt(counts['edge_ratio_max'])})"
    )


REGIME_WORDS = {
    "at": "*at* the edge, like full-batch gradient descent (Cohen et al. 2021)",
    "below": "below the edge, as Jastrzębski et al. (2020) report for SGD",
    "above": "above the edge",
}


def regime_text(entry: dict) -> str:
    """ "16 of 16 runs (100 %) sit at the edge (binomial p = 1.5e-05 against 1/2; floor 75 %)"."""
    regime = entry["regime"]
    shown = regime or max(("below", "at", "above"), key=lambda k: entry[k]["count"])
    part = entry[shown]
    counted = (
        f"{part['count']} of {entry['n']} runs ({percent(part['share'])}) sit {shown} the edge "
        f"(one-sided binomial {p_text(part['p'])} against 1/2; floor {percent(entry['floor'])})"
    )
    if regime:
        return f"{counted}: **they sit {REGIME_WORDS[regime]}**"
    return f"{counted}: **no single regime** holds for at least {percent(entry['floor'])} of runs"


def _edge_verdict(sharpness: dict, batch_size: int) -> str:
    totals, tolerance = sharpness["totals"], sharpness["tolerance"]
    n = sum(t["n"] for t in totals.values())
    above = sharpness["runs_above"]
    if not above:
        verdict = f"all sit at or below the edge (λ_max ≤ {1 + tolerance:g}·2/μ)"
    else:
        runs = ", ".join(
            f"μ = {r['learning_rate']:g} seed {r['seed']} {WHERE[r['where']]} "
            f"({fmt(r['edge_ratio'])})"
            for r in above[:6]
        )
        verdict = (
            f"{len(above)} of {n} measurements sit above the edge, where gradient descent on a "
            f"quadratic with that step would diverge: {runs}" + (", …" if len(above) > 6 else "")
        )
    exceeding = sum(t["exceeding"] for t in totals.values())
    if exceeding:
        largest = max(t["edge_ratio_max"] for t in totals.values())
        verdict += (
            f"; {exceeding} of {n} exceed 2/μ itself, by up to {fmt(100 * (largest - 1), 2)} %"
            + (", which the tolerance absorbs" if largest <= 1 + tolerance else "")
        )
    final = sharpness["regime"][""]
    regime = f"at the end {regime_text(final)}"
    if final["regime"] == "at":
        regime += (
            f"; with B = {batch_size}, SGD here does not settle below 2/μ as Jastrzębski et al. "
            "(2020) report for small batches"
        )
    return f"Of these {n} measurements, {verdict}; {regime}."


def _flatness_verdict(c: dict) -> str:
    across = c["verdict"] == verdicts.EFFECT
    inside = c["within_verdict"] == verdicts.EFFECT
    if across and inside and c["change"] > 0 and c["within_change"] > 0:
        return (
            "flatter runs generalize better both across and within learning rates: this "
            "supports “flatter generalizes better” here"
        )
    if across and c["change"] > 0:
        return (
            "flatter runs generalize better across rates, but within one rate the relation is "
            "no effect: flatness and test error both follow μ, so the data support “flatter "
            "generalizes better” only through the learning rate, not as a separate cause"
        )
    if across:
        return "sharper runs generalize *better*, against “flatter generalizes better”"
    return "no effect: the data do not support “flatter generalizes better” here"


def sharpness_conclusions(results: dict, *, batch_size: int) -> list[str]:
    """Sentences chosen from the sharpness summary: the edge, the scaling, the correlations."""
    sharpness = results["sharpness"]
    totals = sharpness["totals"]
    if not totals[""]["n"]:
        return [
            "No implicit-only run converged: the sharpness of converged runs cannot be compared "
            "with 2/μ."
        ]
    band = f"|λ_max·μ/2 − 1| ≤ {sharpness['tolerance']:g}"
    sentences = [
        f"{where.capitalize()}, of the converged implicit-only runs "
        f"{_position_text(totals[prefix])}; at the edge means {band}."
        for prefix, where in WHERE.items()
        if totals[prefix]["n"]
    ]
    sentences.append(_edge_verdict(sharpness, batch_size))
    decayed = sharpness["weight_decay_positions"]
    if decayed["n"]:
        sentences.append(
            "With weight decay (λ_max of the training MSE alone; the decay adds λ to the kernel "
            f"directions), of the non-diverged runs at the end {_position_text(decayed)}."
        )
    slopes = sharpness["slopes"]
    top, trace = slopes["matched_loss_hessian_top_eigenvalue"], slopes["matched_loss_hessian_trace"]
    if is_finite(top["slope"]) and is_finite(trace["slope"]):
        sentences.append(
            f"Across runs λ_max at the matched loss scales as μ^{signed(top['slope'])} ± "
            f"{fmt(top['standard_error'], 2)} (the edge 2/μ is μ^−1) and tr H as "
            f"μ^{signed(trace['slope'])} ± {fmt(trace['standard_error'], 2)} (log-log fits over "
            f"{top['n']} runs, ± s.e.)."
        )
    correlations = results["correlations"]
    columns, n_tests = correlations["columns"], correlations["n_tests"]
    n_runs = columns["matched_loss_hessian_top_eigenvalue"]["n"]
    if n_runs < 3:
        return [*sentences, "Fewer than three converged runs: no correlation can be measured."]
    described = "; ".join(
        f"with log {SYMBOLS[name]} {WHERE[prefix]} "
        f"{correlation_effect(columns[prefix + name])} (Spearman ρ = "
        f"{signed(columns[prefix + name]['spearman'])})"
        for name in CURVATURES
        for prefix in WHERE
    )
    sentences.append(
        f"Across {n_runs} converged implicit-only runs, test MSE correlates {described} "
        f"(p Holm-adjusted over the {n_tests} correlation tests of this report; floor: one "
        "seed-to-seed standard deviation of the test MSE within a rate)."
    )
    within = "; ".join(
        f"{SYMBOLS[name]} {correlation_effect(columns['matched_loss_' + name], within=True)} "
        f"({columns['matched_loss_' + name]['within_dof']} degrees of freedom)"
        for name in CURVATURES
    )
    sentences.append(
        "Holding the learning rate fixed (each rate's seed mean removed from both; the partial "
        f"correlation given the rate), at the matched loss: {within}."
    )
    found: dict[str, list[str]] = {}
    for name in CURVATURES:
        verdict = _flatness_verdict(columns[f"matched_loss_{name}"])
        found.setdefault(verdict, []).append(SYMBOLS[name])
    sentences.append(
        f"At the matched loss (level {results['significance']:g} after Holm's correction over "
        f"the {n_tests} tests, and the floor): "
        + "; ".join(f"for {' and '.join(s)}, {verdict}" for verdict, s in found.items())
        + "."
    )
    return sentences


def figure(alt: str, name: str) -> str:
    return f"![{alt}](implicit_regularization_{name}.png)"


def bullets(sentences: Iterable[str]) -> str:
    return "\n".join(f"- {sentence}" for sentence in sentences)


def section(title: str, answer: str, shown: Sequence[str], tested: Sequence[str]) -> list[str]:
    """The blocks of a subsection: its answer, then each of ``shown`` (a figure, a formula, a
    table), then ``tested`` folded under "How it was tested"."""
    return [f"### {title}", answer, *shown, details("How it was tested", "\n\n".join(tested))]


def column_table(columns: Sequence[tuple[str, Callable]], rows: Iterable) -> str:
    """A Markdown table with one column per ``(header, cell)``: ``cell(row)`` of every row."""
    return table(
        [header for header, _ in columns], [[cell(r) for _, cell in columns] for r in rows]
    )


def bold_effect(verdict: str, text: str | None = None) -> str:
    """``text`` (by default the verdict itself), in bold when the verdict is an effect."""
    text = verdict if text is None else text
    return f"**{text}**" if verdict == verdicts.EFFECT else text


def correlation_table(
    correlations: dict, names: Sequence[str] = tuple(SYMBOLS), *, compact: bool = False
) -> str:
    """Test MSE against each log statistic, across runs and within rates: every number, or
    (``compact``) r, Holm p, test-MSE change and the verdicts."""
    columns = [  # (header, header in the compact table or None, cell)
        ("statistic", "statistic", lambda c: c["label"]),
        ("runs", None, lambda c: c["n"]),
        ("r", "r", lambda c: signed(c["pearson"])),
        ("p", None, lambda c: fmt(c["p_value"], 2)),
        ("Holm", "Holm p", lambda c: fmt(c["p_holm"], 2)),
        ("Spearman ρ", None, lambda c: signed(c["spearman"])),
        ("test-MSE change", "test-MSE change", lambda c: fmt(c["change"], 2)),
        ("detectable", None, lambda c: fmt(c["minimum_detectable"], 2)),
        ("verdict", "verdict", lambda c: bold_effect(c["verdict"]) if compact else c["verdict"]),
        ("r within rates", "r within μ", lambda c: signed(c["within_pearson"])),
        ("p within", None, lambda c: fmt(c["within_p_value"], 2)),
        ("Holm", None, lambda c: fmt(c["within_p_holm"], 2)),
        ("change within", None, lambda c: fmt(c["within_change"], 2)),
        ("verdict within", "within", lambda c: c["within_verdict"]),
    ]
    shown = [(short if compact else full, cell) for full, short, cell in columns]
    rows = [
        correlations["columns"][prefix + name] | {"label": f"log {SYMBOLS[name]} {where}"}
        for prefix, where in WHERE.items()
        for name in names
    ]
    return column_table([(h, cell) for h, cell in shown if h], rows)


FULL_SHARPNESS = {
    "λ_max matched": "matched_loss_hessian_top_eigenvalue",
    "λ_max·μ/2 matched": "matched_loss_edge_ratio",
    "λ_max final": "hessian_top_eigenvalue",
    "λ_max·μ/2 final": "edge_ratio",
    "tr H matched": "matched_loss_hessian_trace",
    "tr H final": "hessian_trace",
    "tr H/p matched": "matched_loss_hessian_trace_per_parameter",
    "tr H/p final": "hessian_trace_per_parameter",
}
COMPACT_SHARPNESS = {"λ_max (end)": "hessian_top_eigenvalue", "λ_max·μ/2": "edge_ratio"}


def _sharpness_table(results: dict, *, compact: bool = False) -> str:
    """Per converged rate, the statistics against 2/μ and the runs below/at/above the edge:
    the compact table at the end with the test MSE, the full one at the matched loss too."""
    positions = {p["learning_rate"]: p for p in results["sharpness"]["positions"]}
    columns = COMPACT_SHARPNESS if compact else FULL_SHARPNESS
    rows = []
    for r in results["rate_summary"]:
        if not r["n_converged"]:
            continue
        at = positions[r["learning_rate"]]
        final = _positions_cell(at["final_positions"])
        tail = (
            [final, pm(r, "test_loss")]
            if compact
            else [f"{_positions_cell(at['matched_loss_positions'])}; {final}"]
        )
        rate = r["learning_rate"]
        rows.append([f"{rate:g}", fmt(2 / rate), *(pm(r, k) for k in columns.values()), *tail])
    tail = ["runs below/at/above", "test MSE"] if compact else ["below/at/above"]
    return table(["μ", "2/μ", *columns, *tail], rows)


def sharpness_markdown(results: dict) -> list[str]:
    """The subsection "Sharpness and the edge of stability": answer, figure, table, details."""
    config = results["run"]["config"]
    sharpness = results["sharpness"]
    method = (
        f"Top Hessian eigenvalue λ_max (Lanczos, {config['lanczos_iterations']} Hessian-vector "
        f"products) and trace tr H (Hutchinson, {config['trace_samples']} Rademacher probes) of "
        "each run's full training MSE, at the matched loss and at the end; p = "
        f"{results['n_params']} parameters, so tr H/p is the mean eigenvalue. Gradient descent "
        "with step μ is stable on a quadratic only while λ_max ≤ 2/μ (Cohen et al. 2021). Mean "
        "± std over converged implicit-only seeds; below/at/above counts runs against the edge "
        f"(at: |λ_max·μ/2 − 1| ≤ {sharpness['tolerance']:g}) at the matched loss; at the end. "
        f"Regime floor: {results['floors']['regime']}. Correlations: Pearson r with its exact "
        "two-sided p (n − 2 degrees of freedom), Spearman ρ, and the correlation within "
        "learning rates (each rate's seed mean removed from both; n − 1 − (number of rates) "
        f"degrees of freedom); Holm over all {results['correlations']['n_tests']} tests. Size: "
        "the fitted change of the test MSE from the lowest to the highest log statistic "
        "(“detectable”: what the test finds at 80 % power); floor "
        f"{fmt(results['correlations']['floor'], 2)}: {results['floors']['correlation']}."
    )
    tested = [method, _sharpness_table(results), correlation_table(results["correlations"])]
    tested.append(bullets(results["sharpness_conclusions"]))
    return section(
        "Sharpness and the edge of stability",
        sharpness_answer(results) + ".",
        [
            figure("sharpness against the learning rate", "sharpness"),
            _sharpness_table(results, compact=True),
            correlation_table(results["correlations"], CURVATURES, compact=True),
        ],
        tested,
    )


def sharpness_answer(results: dict) -> str:
    """Does SGD's learning rate set the sharpness? The regime at the end and λ_max's scaling."""
    sharpness = results["sharpness"]
    if not sharpness["totals"][""]["n"]:
        return "No implicit-only run converged, so the sharpness cannot be compared with 2/μ"
    top = sharpness["slopes"]["hessian_top_eigenvalue"]
    entry = sharpness["regime"][""]
    shown = entry["regime"] or max(("below", "at", "above"), key=lambda k: entry[k]["count"])
    part = entry[shown]
    verdict = (
        {"at": "**Yes: SGD sits at the edge**", "below": "**No: SGD settles below the edge**",
         "above": "**SGD sits above the edge**"}[entry["regime"]]
        if entry["regime"]
        else "**no single regime**"
    )  # fmt: skip
    return (
        f"{verdict}: at the end {part['count']} of {entry['n']} runs sit {shown} 2/μ (share "
        f"{percent(part['share'])}, binomial {p_text(part['p'])} against 1/2; floor "
        f"{percent(entry['floor'])}), and λ_max ∝ μ^{signed(top['slope'])} ± "
        f"{fmt(top['standard_error'], 2)}"
    )
