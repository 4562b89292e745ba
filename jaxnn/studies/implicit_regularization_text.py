"""Sentences and Markdown of the implicit-regularization study, chosen from its results alone.

Every sentence reads numbers that ``implicit_regularization.run`` computed: trends
against the learning rate with their Holm-adjusted p-values, correlations with the
test error, the edge of stability, the weight-decay comparisons. A claim drawn from
many tests says how many it scanned. Nothing here trains or measures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jaxnn import verdicts
from jaxnn.formatting import (
    count_of,
    details,
    fmt,
    listed,
    p_text,
    percent,
    plus_minus,
    signed,
    table,
)

WHERE = {"matched_loss_": "at the matched loss", "": "at the end"}
SYMBOLS = {
    "grad_norm_sq": "‖∇J‖²",
    "batch_grad_variance": "V",
    "hessian_top_eigenvalue": "λ_max",
    "hessian_trace_per_parameter": "tr H/p",
}
AGREEMENT = {
    "decreases": "agrees with",
    "increases": "disagrees with",
    "shows no clear trend": "gives no evidence for",
    "changes by less than its floor": "gives no evidence that matters for",
    "cannot be measured": "cannot test",
}


def _span(fit: dict) -> str:
    return f"μ = {fit['rates'][0]:g}–{fit['rates'][1]:g}" if fit.get("rates") else "the swept μ"


def trend_effect(fit: dict, label: str) -> str:
    """A trend with its size: "a fall of log ‖∇J‖² across μ = 0.02–0.16 of 16 ± 2.3 (×1e-07;
    p = 2.7e-05; floor 1.2)". The size is the fitted change of the log statistic."""
    change = fit["change"]
    if not math.isfinite(change):
        return f"no trend of {label} can be measured"
    judgement = {
        "estimate": abs(change),
        "standard_error": fit["change_standard_error"],
        "p": fit["p_holm"],
        "floor": fit["floor"],
        "minimum_detectable": fit["minimum_detectable"],
        "verdict": fit["verdict"],
    }
    noun = f"{'fall' if change < 0 else 'rise'} of log {label} across {_span(fit)}"
    text = verdicts.effect_text(judgement, noun=noun, number=lambda v: fmt(v, 2))
    return f"{text}, a factor {fmt(math.exp(change), 2)}"


def _rise_text(fit: dict) -> str:
    """How the seed means of a falling statistic rise between adjacent rates, if they do."""
    if not fit["rises"]:
        return ""
    pairs = ", ".join(
        f"μ = {r['from']:g} → {r['to']:g} by {fmt(r['rise'], 2)} ({p_text(r['p_holm'])}, floor "
        f"{fmt(r['floor'], 2)}: {r['verdict']})"
        for r in fit["rises"]
    )
    scope = f"paired over seeds, Holm over the {fit['n_pairs']} adjacent pairs"
    if any(r["verdict"] == verdicts.EFFECT for r in fit["rises"]):
        return f" not monotonically: it rises between {pairs} ({scope});"
    return f" its seed mean rises between {pairs}, not an effect ({scope});"


def _convergence_sentence(rows: Sequence[dict], level: float) -> str:
    implicit = [r for r in rows if r["weight_decay"] == 0]
    failed = [r for r in implicit if not r["converged"]]
    if not failed:
        return f"Every implicit-only run ({len(implicit)}) reached training MSE < {level:g}."
    runs = ", ".join(
        f"μ = {r['learning_rate']:g} seed {r['seed']} "
        f"({r['divergence'] or 'final MSE ' + fmt(r['final_train_loss'])})"
        for r in failed
    )
    return (
        f"{len(failed)} of {len(implicit)} implicit-only runs did not reach training MSE "
        f"< {level:g}: {runs}."
    )


def _floor_note(usable: Sequence[dict], float_floor: float) -> str:
    floor = [r["learning_rate"] for r in usable if r["final_train_loss"] < float_floor]
    above = [r for r in usable if r["final_train_loss"] >= float_floor]
    if not above:
        return (
            f"every rate ends below training MSE {float_floor:g}, at the float32 floor, so these "
            "values measure rounding noise where each run stopped, not the flatness of the solution"
        )
    if floor:
        return (
            f"μ = {listed(floor)} end below training MSE {float_floor:g} (the float32 floor, "
            f"where the statistics are rounding noise) while μ = "
            f"{listed(r['learning_rate'] for r in above)} stop at "
            f"{', '.join(fmt(r['final_train_loss'], 2) for r in above)}, so the final values "
            "measure how far each run got, not flatness"
        )
    return (
        "no rate reaches the float32 floor, so the final values mix flatness with how far "
        "each run got"
    )


def _decay_verdict(best: dict) -> str:
    """Is the best weight decay better than implicit regularization alone, by its floor?"""
    improvement = best["improvement"]
    size = verdicts.effect_text(improvement, noun="test-MSE improvement", number=fmt)
    if best["n_better"]:
        return (
            f"**implicit regularization alone is not sufficient here**: {size}; "
            f"{best['n_better']} of {best['n_scanned']} decay settings beat it by their floor"
        )
    if improvement["verdict"] == verdicts.BELOW_FLOOR:
        return f"weight decay helps only by less than the seed spread: {size}"
    return f"**implicit regularization is sufficient for this grid**: {size}"


def _decay_sentences(best: dict, rows: Sequence[dict]) -> list[str]:
    if not (best.get("implicit") and best.get("explicit")):
        return []
    a, b = best["implicit"], best["explicit"]
    scanned = best["n_scanned"]
    sentences = [
        f"Best implicit-only setting: μ = {a['learning_rate']:g}, test MSE "
        f"{fmt(a['test_loss'])}; best with weight decay: μ = {b['learning_rate']:g}, λ = "
        f"{b['weight_decay']:g}, test MSE {fmt(b['test_loss'])} (train MSE "
        f"{fmt(b['final_train_loss'])}); difference {best['difference']:+.3f} ± "
        f"{fmt(best['difference_standard_error'], 2)} (paired s.e.): {_decay_verdict(best)}.",
        f"Test: one-sided paired t-test over seeds against the best implicit-only rate, Holm over "
        f"the {count_of(scanned, 'weight-decay setting')} scanned (those without a diverged seed), "
        f"level {best['alpha']:g}; {best['n_significant']} of {scanned} are significantly lower, "
        f"{best['n_better']} also by at least their floor (the two settings' pooled seed spread "
        "of the test MSE).",
    ]
    decays = sorted({r["weight_decay"] for r in rows if r["weight_decay"] > 0})
    if best["n_better"] and b["weight_decay"] in (decays[0], decays[-1]) and len(decays) > 1:
        end = "largest" if b["weight_decay"] == decays[-1] else "smallest"
        sentences.append(
            f"The best λ = {b['weight_decay']:g} is the {end} in the grid: a "
            f"{'larger' if end == 'largest' else 'smaller'} decay might do better still."
        )
    return sentences


def _penalty_sentence(results: dict) -> str | None:
    rows = [p for p in results["implicit_penalty"] if math.isfinite(p["penalty_per_loss"])]
    if not rows:
        return None
    ratios = [p["penalty_per_loss"] for p in rows]
    large = [p["learning_rate"] for p in rows if not p["small"]]
    floor = rows[0]["floor"]
    regime = (
        f"**not small** (above {fmt(floor)}) at μ = {listed(large)}, so there the first-order "
        "modified loss is only a qualitative guide"
        if large
        else f"**small** (at most {fmt(floor)}) at every rate, where the first-order modified "
        "loss is meant to hold"
    )
    return (
        f"The implicit penalty (ε/4)(‖∇J‖² + V) at the matched loss is {fmt(min(ratios), 2)}–"
        f"{fmt(max(ratios), 2)} times the training loss there: {regime}."
    )


def conclusions(
    results: dict, *, convergence_level: float, matched_loss: float, float_floor: float = 1e-10
) -> list[str]:
    """Sentences chosen from the numbers: convergence, trends, correlations, weight decay."""
    rows, trends = results["runs"], results["trends"]
    sentences = [_convergence_sentence(rows, convergence_level)]
    usable = [r for r in results["rate_summary"] if r["n_converged"] > 0]
    if len(usable) < 2:
        sentences.append("Fewer than two learning rates converged: no trend can be measured.")
        return sentences
    n_trends = trends["test_loss"]["n_tests"]
    sentences.append(
        f"Trends against μ are least-squares fits of the log statistic on log μ over the "
        f"{trends['test_loss']['n']} converged implicit-only runs; a statistic rises or falls "
        f"only when the slope's two-sided p, Holm-adjusted over the {n_trends} trends below, is "
        f"under {results['significance']:g} and the fitted change across the swept μ is at least "
        "its floor, one seed-to-seed standard deviation of the log statistic within a rate."
    )
    for stat, term in (
        ("grad_norm_sq", "(ε/4)‖∇C‖² (Barrett & Dherin)"),
        ("batch_grad_variance", "(ε/4m)Σ‖∇C_k − ∇C‖² (Smith et al.)"),
    ):
        fit = trends[f"matched_loss_{stat}_per_loss"]
        sentences.append(
            f"At matched training loss (first epoch below {matched_loss:g}), {SYMBOLS[stat]}/J "
            f"{fit['word']} with μ ({trend_effect(fit, SYMBOLS[stat] + '/J')}):"
            f"{_rise_text(fit)} this {AGREEMENT[fit['word']]} the implicit penalty {term}, "
            "whose coefficient grows as ε."
        )
    norm, variance = trends["grad_norm_sq"], trends["batch_grad_variance"]
    sentences.append(
        f"At the final parameters ‖∇J‖² {norm['word']} ({trend_effect(norm, '‖∇J‖²')}) and V "
        f"{variance['word']} ({trend_effect(variance, 'V')}); {_floor_note(usable, float_floor)}."
    )
    test = trends["test_loss"]
    meaning = {
        "decreases": "larger rates generalize better, as a stronger implicit penalty predicts",
        "increases": "larger rates generalize worse, against the prediction",
    }.get(test["word"], "the data show no effect of the rate on generalization that matters")
    sentences.append(
        f"Test MSE {test['word']} with μ ({trend_effect(test, 'test MSE')}): {meaning}."
    )
    columns = results["correlations"]["columns"]
    for place in WHERE:
        pair = [columns[f"{place}{s}"] for s in ("grad_norm_sq", "batch_grad_variance")]
        sentences.append(
            f"Across converged runs, {WHERE[place]}: test MSE against "
            + " and ".join(
                f"{name} {correlation_effect(c, name)}"
                for name, c in zip(("log ‖∇J‖²", "log V"), pair)
            )
            + f"; {_relation(pair)}."
        )
    penalty = _penalty_sentence(results)
    return sentences + ([penalty] if penalty else []) + _decay_sentences(results["best"], rows)


def _relation(pair: Sequence[dict]) -> str:
    effects = [c["verdict"] == verdicts.EFFECT for c in pair]
    positive = [c["change"] > 0 for c in pair]
    if all(effects) and all(positive):
        return "runs with smaller gradient norm and variance have lower test error"
    if any(effects):
        return "only part of this is an effect"
    return "neither is an effect, so these statistics do not reliably predict the test error"


def correlation_effect(c: dict, label: str = "", within: bool = False) -> str:
    """r, its Holm p, and the fitted change of the test MSE across the statistic, judged."""
    prefix = "within_" if within else ""
    change = c[f"{prefix}change"]
    r = c[f"{prefix}pearson"] if within else c["pearson"]
    if not math.isfinite(change):
        return f"r = {signed(r)} (no spread to measure)"
    judgement = {
        "estimate": abs(change),
        "p": c[f"{prefix}p_holm"],
        "floor": c["floor"],
        "minimum_detectable": c[f"{prefix}minimum_detectable"],
        "verdict": c[f"{prefix}verdict"],
    }
    noun = f"{'rise' if change > 0 else 'fall'} of test MSE over its range"
    return f"r = {signed(r)}: " + verdicts.effect_text(judgement, noun=noun)


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
    top, trace = (
        sharpness["slopes"][f"matched_loss_{k}"]
        for k in ("hessian_top_eigenvalue", "hessian_trace")
    )
    if math.isfinite(top["slope"]) and math.isfinite(trace["slope"]):
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
        for name in ("hessian_top_eigenvalue", "hessian_trace_per_parameter")
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
        for name in ("hessian_top_eigenvalue", "hessian_trace_per_parameter")
    )
    sentences.append(
        "Holding the learning rate fixed (each rate's seed mean removed from both; the partial "
        f"correlation given the rate), at the matched loss: {within}."
    )
    found: dict[str, list[str]] = {}
    for name in ("hessian_top_eigenvalue", "hessian_trace_per_parameter"):
        found.setdefault(_flatness_verdict(columns[f"matched_loss_{name}"]), []).append(
            SYMBOLS[name]
        )
    sentences.append(
        f"At the matched loss (level {results['significance']:g} after Holm's correction over "
        f"the {n_tests} tests, and the floor): "
        + "; ".join(f"for {' and '.join(s)}, {verdict}" for verdict, s in found.items())
        + "."
    )
    return sentences


def _pm(row: dict, key: str) -> str:
    return plus_minus(row[key], row[f"{key}_std"])


def _diverged_cell(row: dict) -> str:
    cell = f"{row['n_diverged']}/{row['n_seeds']}"
    if row["n_collapsed"]:
        cell += f" ({row['n_collapsed']} collapsed to a constant output)"
    return cell


def _positions_cell(counts: dict) -> str:
    return f"{counts['below']}/{counts['at']}/{counts['above']}"


def _correlation_rows(correlations: dict) -> list[list]:
    rows = []
    for prefix, where in WHERE.items():
        for name, symbol in SYMBOLS.items():
            c = correlations["columns"][f"{prefix}{name}"]
            rows.append(
                [
                    f"log {symbol} {where}",
                    c["n"],
                    signed(c["pearson"]),
                    fmt(c["p_value"], 2),
                    fmt(c["p_holm"], 2),
                    signed(c["spearman"]),
                    fmt(c["change"], 2),
                    fmt(c["minimum_detectable"], 2),
                    c["verdict"],
                    signed(c["within_pearson"]),
                    fmt(c["within_p_value"], 2),
                    fmt(c["within_p_holm"], 2),
                    fmt(c["within_change"], 2),
                    c["within_verdict"],
                ]
            )
    return rows


def _correlation_table(correlations: dict) -> str:
    header = ["statistic", "runs", "r", "p", "Holm", "Spearman ρ", "test-MSE change"]
    header += ["detectable", "verdict", "r within rates", "p within", "Holm", "change within"]
    return table([*header, "verdict within"], _correlation_rows(correlations))


def _compact_correlations(correlations: dict, names: Sequence[str]) -> str:
    """Statistic | r | Holm p | test-MSE change | verdict (across); the same within rates."""
    rows = []
    for prefix, where in WHERE.items():
        for name in names:
            c = correlations["columns"][f"{prefix}{name}"]
            rows.append(
                [
                    f"log {SYMBOLS[name]} {where}",
                    signed(c["pearson"]),
                    fmt(c["p_holm"], 2),
                    fmt(c["change"], 2),
                    f"**{c['verdict']}**" if c["verdict"] == verdicts.EFFECT else c["verdict"],
                    signed(c["within_pearson"]),
                    c["within_verdict"],
                ]
            )
    header = ["statistic", "r", "Holm p", "test-MSE change", "verdict", "r within μ", "within"]
    return table(header, rows)


def _sharpness_table(results: dict) -> str:
    positions = {p["learning_rate"]: p for p in results["sharpness"]["positions"]}
    rows = [
        [
            f"{r['learning_rate']:g}",
            fmt(2 / r["learning_rate"]),
            *(
                _pm(r, key)
                for key in (
                    "matched_loss_hessian_top_eigenvalue",
                    "matched_loss_edge_ratio",
                    "hessian_top_eigenvalue",
                    "edge_ratio",
                    "matched_loss_hessian_trace",
                    "hessian_trace",
                    "matched_loss_hessian_trace_per_parameter",
                    "hessian_trace_per_parameter",
                )
            ),
            f"{_positions_cell(positions[r['learning_rate']]['matched_loss_positions'])}; "
            f"{_positions_cell(positions[r['learning_rate']]['final_positions'])}",
        ]
        for r in results["rate_summary"]
        if r["n_converged"]
    ]
    header = ["μ", "2/μ", "λ_max matched", "λ_max·μ/2 matched", "λ_max final", "λ_max·μ/2 final"]
    header += ["tr H matched", "tr H final", "tr H/p matched", "tr H/p final", "below/at/above"]
    return table(header, rows)


def _compact_sharpness_table(results: dict) -> str:
    positions = {p["learning_rate"]: p for p in results["sharpness"]["positions"]}
    rows = [
        [
            f"{r['learning_rate']:g}",
            fmt(2 / r["learning_rate"]),
            _pm(r, "hessian_top_eigenvalue"),
            _pm(r, "edge_ratio"),
            _positions_cell(positions[r["learning_rate"]]["final_positions"]),
            _pm(r, "test_loss"),
        ]
        for r in results["rate_summary"]
        if r["n_converged"]
    ]
    header = ["μ", "2/μ", "λ_max (end)", "λ_max·μ/2", "runs below/at/above", "test MSE"]
    return table(header, rows)


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
    body = "\n\n".join(
        [
            method,
            _sharpness_table(results),
            _correlation_table(results["correlations"]),
            "\n".join(f"- {sentence}" for sentence in results["sharpness_conclusions"]),
        ]
    )
    return [
        "### Sharpness and the edge of stability",
        "",
        sharpness_answer(results) + ".",
        "",
        "![sharpness against the learning rate](implicit_regularization_sharpness.png)",
        "",
        _compact_sharpness_table(results),
        "",
        _compact_correlations(
            results["correlations"], ("hessian_top_eigenvalue", "hessian_trace_per_parameter")
        ),
        "",
        details("How it was tested", body),
        "",
    ]


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


def _rate_table(results: dict) -> str:
    config = results["run"]["config"]
    header = ["μ", "converged", f"epoch < {config['convergence_level']:g}", "final train MSE"]
    header += ["test MSE", "final ‖∇J‖²", "final V", "matched J", "matched ‖∇J‖²", "matched V"]
    header += ["matched ‖∇J‖²/J", "matched V/J", "matched B_simple"]
    rows = []
    for r in results["rate_summary"]:
        ratio = lambda key, r=r: _pm(r, key) if r["n_converged"] else "n/a"  # noqa: E731
        rows.append(
            [
                f"{r['learning_rate']:g}",
                f"{r['n_converged']}/{r['n_seeds']}",
                fmt(r["first_epoch_below_convergence_level"], 4),
                fmt(r["final_train_loss"]),
                _pm(r, "test_loss"),
                _pm(r, "grad_norm_sq"),
                _pm(r, "batch_grad_variance"),
                fmt(r["matched_loss_train_loss"]),
                _pm(r, "matched_loss_grad_norm_sq"),
                _pm(r, "matched_loss_batch_grad_variance"),
                ratio("matched_loss_grad_norm_sq_per_loss"),
                ratio("matched_loss_batch_grad_variance_per_loss"),
                _pm(r, "matched_loss_noise_scale"),
            ]
        )
    return table(header, rows)


def _compact_rate_table(results: dict) -> str:
    config = results["run"]["config"]
    header = ["μ", "converged", f"epoch < {config['convergence_level']:g}", "test MSE"]
    header += ["final ‖∇J‖²", "final V", "matched ‖∇J‖²/J", "matched V/J"]
    rows = []
    for r in results["rate_summary"]:
        ratio = lambda key, r=r: _pm(r, key) if r["n_converged"] else "n/a"  # noqa: E731
        rows.append(
            [
                f"{r['learning_rate']:g}",
                f"{r['n_converged']}/{r['n_seeds']}",
                fmt(r["first_epoch_below_convergence_level"], 4),
                _pm(r, "test_loss"),
                fmt(r["grad_norm_sq"], 2),
                fmt(r["batch_grad_variance"], 2),
                ratio("matched_loss_grad_norm_sq_per_loss"),
                ratio("matched_loss_batch_grad_variance_per_loss"),
            ]
        )
    return table(header, rows)


TREND_NAMES = {
    "matched_loss_grad_norm_sq_per_loss": "matched ‖∇J‖²/J",
    "matched_loss_batch_grad_variance_per_loss": "matched V/J",
    "grad_norm_sq": "final ‖∇J‖²",
    "batch_grad_variance": "final V",
    "test_loss": "test MSE",
}


def _trend_table(trends: dict) -> str:
    rows = [
        [
            label,
            t["n"],
            signed(t["slope"]),
            fmt(t["standard_error"], 2),
            fmt(t["p_value"], 2),
            fmt(t["p_holm"], 2),
            fmt(t["change"], 2),
            fmt(t["change_standard_error"], 2),
            fmt(t["floor"], 2),
            fmt(t["minimum_detectable"], 2),
            t["verdict"],
        ]
        for key, label in TREND_NAMES.items()
        if (t := trends[key])
    ]
    header = ["statistic", "runs", "log-log slope", "s.e.", "p", "Holm", "log change", "s.e."]
    return table([*header, "floor", "detectable", "verdict"], rows)


def _compact_trend_table(trends: dict) -> str:
    rows = [
        [
            label,
            fmt(t["change"], 2)
            + (f" (×{fmt(math.exp(t['change']), 2)})" if math.isfinite(t["change"]) else ""),
            fmt(t["floor"], 2),
            fmt(t["p_holm"], 2),
            f"**{t['word']}**" if t["verdict"] == verdicts.EFFECT else t["word"],
        ]
        for key, label in TREND_NAMES.items()
        if (t := trends[key])
    ]
    return table(["statistic", "log change across μ", "floor", "Holm p", "trend"], rows)


def _setup(results: dict) -> str:
    config = results["run"]["config"]
    data = config["data"]
    return (
        f"Network {data['input_dim']} → {config['width']} × {config['depth']} → "
        f"{data['output_dim']} ReLU ({results['n_params']} parameters, {config['init_scheme']} "
        f"init), plain SGD with constant rate μ = {_rates(config)}, B = {config['batch_size']}, "
        f"N = {config['n_train']}, {config['epochs']} epochs, {config['seeds']} seeds."
    )


def _rates(config: dict) -> str:
    rates = config["learning_rates"]
    return f"{rates[0]:g}" if len(rates) == 1 else f"{min(rates):g}–{max(rates):g}"


def trend_short(fit: dict) -> str:
    """ "**decreases** ×0.85 across μ = 0.02–0.16 (log change -0.17 ± 0.024, p = 2.7e-05, floor
    0.038)": a trend's verdict, factor and size in a clause."""
    if not math.isfinite(fit["change"]):
        return f"**{fit['word']}**"
    return (
        f"**{fit['word']}** ×{fmt(math.exp(fit['change']), 2)} across {_span(fit)} (log change "
        f"{signed(fit['change'])} ± {fmt(fit['change_standard_error'], 2)}, Holm "
        f"{p_text(fit['p_holm'])}, floor {fmt(fit['floor'], 2)})"
    )


def correlation_short(c: dict, within: bool = False) -> str:
    """ "r = +0.85 (test-MSE change 0.35 over its range, Holm p = 3.1e-04, floor 0.088:
    **effect**)"."""
    prefix = "within_" if within else ""
    verdict = c[f"{prefix}verdict"]
    shown = f"**{verdict}**" if verdict == verdicts.EFFECT else verdict
    return (
        f"r = {signed(c[f'{prefix}pearson'])} (test-MSE change {fmt(c[f'{prefix}change'], 2)} "
        f"over its range, Holm {p_text(c[f'{prefix}p_holm'])}, floor {fmt(c['floor'], 2)}: "
        f"{shown})"
    )


def convergence_answer(results: dict) -> str:
    config = results["run"]["config"]
    implicit = [r for r in results["runs"] if r["weight_decay"] == 0]
    failed = [r for r in implicit if not r["converged"]]
    epochs = [
        r["first_epoch_below_convergence_level"]
        for r in results["rate_summary"]
        if r["first_epoch_below_convergence_level"] is not None
        and math.isfinite(r["first_epoch_below_convergence_level"])
    ]
    when = f" (seed medians: by epoch {round(min(epochs))}–{round(max(epochs))})" if epochs else ""
    if not failed:
        return (
            f"**Every rate converges**: all {len(implicit)} implicit-only runs reach training "
            f"MSE < {config['convergence_level']:g}{when}"
        )
    return (
        f"**Not every run converges**: {len(failed)} of {len(implicit)} implicit-only runs stay "
        f"above training MSE {config['convergence_level']:g}"
    )


def gradient_answer(results: dict) -> str:
    trends = results["trends"]
    final, matched = trends["grad_norm_sq"], trends["matched_loss_grad_norm_sq_per_loss"]
    return (
        f"Final ‖∇J‖² {trend_short(final)}, but fast rates end at the float32 floor (rounding "
        f"noise); at matched loss ‖∇J‖²/J {trend_short(matched)}"
    )


def test_answer(results: dict) -> str:
    final = results["correlations"]["columns"]["grad_norm_sq"]
    return (
        f"Test MSE against the final log ‖∇J‖² across runs: {correlation_short(final)}; within "
        f"a rate: {correlation_short(final, within=True)}"
    )


def explanation_answer(results: dict) -> str:
    trends = results["trends"]
    test = trends["test_loss"]
    matched = [
        trends[f"matched_loss_{s}_per_loss"] for s in ("grad_norm_sq", "batch_grad_variance")
    ]
    agree = {"decreases": "as", "increases": "against what"}.get(test["word"])
    first = f"Test MSE {trend_short(test)}" + (
        f", {agree} the growing penalty (ε/4)(‖∇C‖² + V) of Smith et al. 2021 predicts"
        if agree
        else ""
    )
    if all(f["word"] == "decreases" for f in matched):
        return f"{first}; ‖∇J‖²/J and V/J at matched loss fall too, the mechanism it names"
    return (
        f"{first}; but ‖∇J‖²/J and V/J at matched loss do not both fall beyond their floors: "
        "the effect without its proposed mechanism"
    )


def decay_answer(results: dict) -> str:
    best = results["best"]
    if not (best.get("implicit") and best.get("explicit")):
        return "No weight-decay setting without a diverged seed to compare"
    improvement, scanned = best["improvement"], best["n_scanned"]
    size = (
        "weight decay lowers the test MSE by "
        f"{plus_minus(improvement['estimate'], improvement['standard_error'], 2)} "
        f"(Holm {p_text(improvement['p'])}, floor {fmt(improvement['floor'], 2)})"
    )
    if best["n_better"]:
        return (
            f"**Not sufficient**: {size}; {best['n_better']} of {scanned} decay settings beat "
            "implicit regularization alone by their floor"
        )
    if improvement["verdict"] == verdicts.BELOW_FLOOR:
        return f"**About sufficient**: {size}, less than the seed spread"
    return f"**Sufficient for this grid**: no setting beats it by its floor; {size}"


def _decay_settings(results: dict) -> str:
    best, batch = results["best"], results["run"]["config"]["batch_size"]
    parts = []
    for name, label in (("implicit", "implicit only"), ("explicit", "best with decay")):
        r = best.get(name)
        if r:
            parts.append(
                f"{label}: μ = {r['learning_rate']:g}, B = {batch}, λ = {r['weight_decay']:g}, "
                f"train MSE {plus_minus(r['final_train_loss'], r['final_train_loss_std'], 2)}, "
                f"test MSE {plus_minus(r['test_loss'], r['test_loss_std'])}"
            )
    return "; ".join(parts)


def answers(results: dict) -> list[dict]:
    """One row per item of computer assignment 2 and per beyond-the-sheet question."""
    config = results["run"]["config"]
    figure = "implicit_regularization_{}.png".format
    rows = [
        (
            "CA 2(a)/(b)",
            "Which parameters were used (M, B, layers, rates)?",
            f"M = {config['width']}, {config['depth']} hidden layers, B = {config['batch_size']}, "
            f"N = {config['n_train']}, constant-rate SGD with μ = "
            f"{listed(config['learning_rates'])}, {config['epochs']} epochs, "
            f"{config['seeds']} seeds.",
            None,
        ),
        (
            "CA 2(b)",
            f"Does every rate reach training MSE < {config['convergence_level']:g}?",
            convergence_answer(results) + ".",
            figure("convergence"),
        ),
        (
            "CA 2(c)",
            "How do the final gradient norms depend on the learning rate?",
            gradient_answer(results) + ".",
            figure("grad_stats"),
        ),
        (
            "CA 2(c)",
            "How does the test error relate to the final gradient norms?",
            test_answer(results) + ".",
            figure("test_loss"),
        ),
        (
            "CA 2(c)",
            "How do the observations read in light of implicit regularization (Smith et al. 2021)?",
            explanation_answer(results) + ".",
            figure("grad_stats"),
        ),
        (
            "CA 2(d)",
            "Settings (μ, B, regularization rate) with train and test losses?",
            _decay_settings(results) + ".",
            figure("weight_decay"),
        ),
        (
            "CA 2(d)",
            "Is implicit regularization sufficient here?",
            decay_answer(results) + ".",
            figure("weight_decay"),
        ),
        (
            "Beyond",
            "Does SGD's learning rate set the sharpness (edge of stability, 2/μ)?",
            sharpness_answer(results) + ".",
            figure("sharpness"),
        ),
    ]
    return [
        {"item": item, "question": question, "answer": answer, "figure": fig}
        for item, question, answer, fig in rows
    ]


def markdown(results: dict) -> str:
    """Computer assignment 2 for REPORT.md: per subsection the answer, figure, table, details."""
    config = results["run"]["config"]
    data = config["data"]
    floors = results["floors"]
    setup = (
        "Each seed redraws training set and init; "
        f"label noise s = {data['noise_std']:g} (R_t = "
        f"{results['bayes_risk']:g}). Matched level: first epoch with training MSE < "
        f"{config['matched_loss']:g}, where the rates are compared at equal loss (after "
        "convergence the loss sits at the float32 floor, where gradients are rounding noise). "
        "Mean ± std over converged seeds."
    )
    decay_sentences = _decay_sentences(results["best"], results["runs"])
    later = {*decay_sentences, _penalty_sentence(results)}
    trend_method = (
        "Trends against μ: least-squares slope of the log statistic on log μ over the converged "
        "implicit-only runs, its standard error and two-sided p (n − 2 degrees of freedom); "
        f"Holm over these {len(results['trends'])} trends; level {results['significance']:g}. "
        "Size: the fitted change of the log statistic across the swept μ (slope × log of the "
        f"rate span); floor: {floors['trend']}. “Detectable”: the change the Holm-adjusted test "
        "would find at 80 % power."
    )
    parts = [
        _setup(results),
        "",
        "### Convergence",
        "",
        convergence_answer(results) + ".",
        "",
        "![convergence](implicit_regularization_convergence.png)",
        "",
        "### Gradient norms against the learning rate",
        "",
        gradient_answer(results) + ".",
        "",
        "![gradient statistics against the learning rate](implicit_regularization_grad_stats.png)",
        "",
        _compact_trend_table(results["trends"]),
        "",
        _compact_rate_table(results),
        "",
        details(
            "How it was tested",
            "\n\n".join(
                [
                    setup,
                    trend_method,
                    _trend_table(results["trends"]),
                    _rate_table(results),
                    "![gradient noise scale](implicit_regularization_noise_scale.png)",
                    "\n".join(
                        f"- {sentence}"
                        for sentence in results["conclusions"]
                        if sentence not in later
                    ),
                ]
            ),
        ),
        "",
        "### Test error against the gradient norms",
        "",
        test_answer(results) + ". " + explanation_answer(results) + ".",
        "",
        "![test error against the gradient statistics](implicit_regularization_test_loss.png)",
        "",
        _compact_correlations(results["correlations"], ("grad_norm_sq", "batch_grad_variance")),
        "",
        "### Implicit penalty of Smith et al. 2021 at the matched loss",
        "",
        (_penalty_sentence(results) or "No rate converged."),
        "",
        "$$\\tilde C = C + \\frac{\\varepsilon}{4}\\|\\nabla C\\|^2 + \\frac{\\varepsilon}{4m}"
        f"\\sum_k\\|\\nabla C_k - \\nabla C\\|^2,\\quad m = N/B = {results['n_batches']}$$",
        "",
        table(
            ["μ", "ε/4", "ε/(4m)", "(ε/4)‖∇J‖²", "(ε/4)V", "penalty / J", "small?"],
            [
                [
                    f"{r['learning_rate']:g}",
                    fmt(r["coefficient"]),
                    fmt(r["per_batch_coefficient"]),
                    fmt(r["grad_norm_penalty"]),
                    fmt(r["variance_penalty"]),
                    plus_minus(r["penalty_per_loss"], r.get("penalty_per_loss_std")),
                    fmt(r["small"]),
                ]
                for r in results["implicit_penalty"]
            ],
        ),
        "",
        details(
            "How it was tested",
            "The last term is (ε/4)·V. The penalties use the seed means of the matched-loss "
            "statistics; penalty / J is their sum over the mean matched training loss (± the "
            f"seed std of each run's own ratio). Floor {fmt(floors['modified_loss_small'])}: "
            f"{floors['modified_loss']}.",
        ),
        "",
        *sharpness_markdown(results),
        "### Weight decay (L2 on kernels, not biases)",
        "",
        decay_answer(results) + ".",
        "",
        "![weight decay](implicit_regularization_weight_decay.png)",
        "",
        _compact_decay_table(results),
        "",
        details(
            "How it was tested",
            "\n\n".join(
                [
                    _decay_table(results),
                    _decay_settings(results)[0].upper() + _decay_settings(results)[1:] + ".",
                    "\n".join(f"- {sentence}" for sentence in decay_sentences),
                    f"Floor of each comparison: {floors['weight_decay']}.",
                ]
            ),
        ),
        "",
    ]
    return "\n".join(parts)


def _decay_table(results: dict) -> str:
    config = results["run"]["config"]
    return table(
        ["μ", "B", "λ", "train MSE", "test MSE", "diverged"],
        [
            [
                f"{r['learning_rate']:g}",
                str(config["batch_size"]),
                f"{r['weight_decay']:g}",
                _pm(r, "final_train_loss"),
                _pm(r, "test_loss"),
                _diverged_cell(r),
            ]
            for r in results["decay_summary"]
        ],
    )


def _compact_decay_table(results: dict) -> str:
    """Per λ, the best rate's train and test MSE (λ = 0 is implicit regularization alone)."""
    rows = []
    for decay in sorted({r["weight_decay"] for r in results["decay_summary"]}):
        group = [r for r in results["decay_summary"] if r["weight_decay"] == decay]
        alive = [r for r in group if r["n_diverged"] == 0 and math.isfinite(r["test_loss"])]
        if not alive:
            diverged = sum(r["n_diverged"] for r in group)
            rows.append(
                [
                    f"{decay:g}",
                    "—",
                    "—",
                    "—",
                    f"{diverged}/{sum(r['n_seeds'] for r in group)}",
                ]
            )
            continue
        best = min(alive, key=lambda r: r["test_loss"])
        rows.append(
            [
                f"{decay:g}",
                f"{best['learning_rate']:g}",
                _pm(best, "final_train_loss"),
                _pm(best, "test_loss"),
                f"{sum(r['n_diverged'] for r in group)}/{sum(r['n_seeds'] for r in group)}",
            ]
        )
    return table(["λ", "best μ", "train MSE", "test MSE", "runs diverged (all μ)"], rows)


def summary(results: dict) -> list[str]:
    """Headline numbers and verdicts for the console."""
    implicit = [r for r in results["runs"] if r["weight_decay"] == 0]
    lines = [
        f"{sum(r['converged'] for r in implicit)} of {len(implicit)} implicit-only runs converged"
    ]
    ratios = ", ".join(
        f"{r['learning_rate']:g}: {fmt(r['matched_loss_edge_ratio'])}/{fmt(r['edge_ratio'])}"
        for r in results["rate_summary"]
    )
    lines.append(f"lambda_max*mu/2 (matched/final) by mu: {ratios}")
    trend = results["trends"]["test_loss"]
    lines.append(
        f"test MSE vs mu: {trend['verdict']} (log change {fmt(trend['change'], 2)}, "
        f"floor {fmt(trend['floor'], 2)}, Holm p {fmt(trend['p_holm'], 2)})"
    )
    best = results["best"]
    if best.get("implicit"):
        lines.append(
            f"best implicit-only test MSE {fmt(best['implicit']['test_loss'])} "
            f"(mu = {best['implicit']['learning_rate']:g})"
        )
    if best.get("explicit"):
        improvement = best["improvement"]
        lines.append(
            f"best with weight decay {fmt(best['explicit']['test_loss'])} "
            f"(mu = {best['explicit']['learning_rate']:g}, "
            f"lambda = {best['explicit']['weight_decay']:g}): improvement "
            f"{fmt(improvement['estimate'])}, floor {fmt(improvement['floor'])}, "
            f"{improvement['verdict']}"
        )
    return lines
