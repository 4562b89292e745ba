"""Sentences and Markdown of the implicit-regularization study, chosen from its results alone.

Every sentence reads numbers that ``implicit_regularization.run`` computed: trends
against the learning rate with their Holm-adjusted p-values, correlations with the
test error, the edge of stability, the weight-decay comparisons. A claim drawn from
many tests says how many it scanned. Nothing here trains or measures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jaxnn.formatting import count_of, fmt, listed, p_text, plus_minus, signed, table

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
    "cannot be measured": "cannot test",
}


def _trend_text(fit: dict) -> str:
    return (
        f"log-log slope {signed(fit['slope'])} ± {fmt(fit['standard_error'], 2)}, "
        f"Holm-adjusted {p_text(fit['p_holm'])}"
    )


def _rise_text(fit: dict, alpha: float) -> str:
    """How the seed means of a falling statistic rise between adjacent rates, if they do."""
    if not fit["rises"]:
        return ""
    significant = [r for r in fit["rises"] if r["p_holm"] < alpha]
    pairs = ", ".join(
        f"μ = {r['from']:g} and {r['to']:g} ({p_text(r['p_holm'])})" for r in fit["rises"]
    )
    scope = f"paired over seeds, Holm over the {fit['n_pairs']} adjacent pairs"
    if significant:
        return f" though not monotonically: it rises between {pairs}, {scope};"
    return f" its seed mean rises between {pairs}, within seed noise ({scope});"


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


def _decay_sentences(best: dict, rows: Sequence[dict]) -> list[str]:
    if not (best.get("implicit") and best.get("explicit")):
        return []
    a, b = best["implicit"], best["explicit"]
    scanned, better = best["n_scanned"], best["n_better"]
    test = (
        f"one-sided paired t-test over seeds against the best implicit-only rate, Holm over the "
        f"{count_of(scanned, 'weight-decay setting')} scanned (those without a diverged seed), "
        f"level {best['alpha']:g}"
    )
    if better:
        verdict = (
            f"{better} of {scanned} weight-decay settings have a lower test MSE ({test}), "
            "so implicit regularization alone is not sufficient here"
        )
    elif b["test_loss"] < a["test_loss"]:
        verdict = (
            f"the best weight decay is lower, but no setting is lower beyond seed noise "
            f"({test}): the evidence that weight decay helps is weak"
        )
    else:
        verdict = (
            f"no weight-decay setting beats the best implicit-only run ({test}), so implicit "
            "regularization is sufficient for this grid"
        )
    sentences = [
        f"Best implicit-only setting: μ = {a['learning_rate']:g}, test MSE {fmt(a['test_loss'])}; "
        f"best with weight decay: μ = {b['learning_rate']:g}, λ = {b['weight_decay']:g}, test MSE "
        f"{fmt(b['test_loss'])} (train MSE {fmt(b['final_train_loss'])}); difference "
        f"{best['difference']:+.3f} ± {fmt(best['difference_standard_error'], 2)} (paired s.e.): "
        f"{verdict}."
    ]
    decays = sorted({r["weight_decay"] for r in rows if r["weight_decay"] > 0})
    if better and b["weight_decay"] in (decays[0], decays[-1]) and len(decays) > 1:
        end = "largest" if b["weight_decay"] == decays[-1] else "smallest"
        sentences.append(
            f"The best λ = {b['weight_decay']:g} is the {end} in the grid: a "
            f"{'larger' if end == 'largest' else 'smaller'} decay might do better still."
        )
    return sentences


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
    low, high = usable[0], usable[-1]
    span = f"μ = {low['learning_rate']:g} → {high['learning_rate']:g}"
    n_trends = trends["test_loss"]["n_tests"]
    sentences.append(
        f"Trends against μ are least-squares fits of the log statistic on log μ over the "
        f"{trends['test_loss']['n']} converged implicit-only runs; a statistic rises or falls "
        f"only when the slope's two-sided p, Holm-adjusted over the {n_trends} trends below, is "
        f"under {results['significance']:g}."
    )
    for stat, term in (
        ("grad_norm_sq", "(ε/4)‖∇C‖² (Barrett & Dherin)"),
        ("batch_grad_variance", "(ε/4m)Σ‖∇C_k − ∇C‖² (Smith et al.)"),
    ):
        key = f"matched_loss_{stat}_per_loss"
        fit = trends[key]
        sentences.append(
            f"At matched training loss (first epoch below {matched_loss:g}), {SYMBOLS[stat]}/J "
            f"{fit['word']} with the learning rate ({fmt(low[key])} → {fmt(high[key])} for "
            f"{span}; {_trend_text(fit)}):{_rise_text(fit, results['significance'])} this "
            f"{AGREEMENT[fit['word']]} the implicit penalty {term}, whose coefficient grows as ε."
        )
    norm, variance = trends["grad_norm_sq"], trends["batch_grad_variance"]
    sentences.append(
        f"At the final parameters ‖∇J‖² {norm['word']} ({_trend_text(norm)}) and V "
        f"{variance['word']} ({_trend_text(variance)}) with μ; {_floor_note(usable, float_floor)}."
    )
    test = trends["test_loss"]
    meaning = {
        "decreases": "larger rates generalize better, as a stronger implicit penalty predicts",
        "increases": "larger rates generalize worse, against the prediction",
        "shows no clear trend": "the data show no effect of the rate on generalization",
    }.get(test["word"], "no trend can be measured")
    sentences.append(
        f"Test MSE {test['word']} with μ ({plus_minus(low['test_loss'], low['test_loss_std'])} → "
        f"{plus_minus(high['test_loss'], high['test_loss_std'])}, mean ± std, for {span}; "
        f"{_trend_text(test)}): {meaning}."
    )
    correlations = results["correlations"]
    pair = [
        correlations["columns"][f"matched_loss_{s}"]
        for s in ("grad_norm_sq", "batch_grad_variance")
    ]
    if all(math.isfinite(c["pearson"]) for c in pair):
        significant = [c["pearson"] > 0 and c["p_holm"] < results["significance"] for c in pair]
        relation = (
            "runs with smaller gradient norm and variance at matched loss have lower test error"
            if all(significant)
            else "only part of this is beyond chance"
            if any(significant)
            else "neither correlation is significant, so the gradient statistics at matched loss "
            "do not reliably predict the test error"
        )
        sentences.append(
            f"Across converged runs the test MSE correlates with log ‖∇J‖² at matched loss at "
            f"r = {signed(pair[0]['pearson'])} ({p_text(pair[0]['p_holm'])}) and with log V at "
            f"r = {signed(pair[1]['pearson'])} ({p_text(pair[1]['p_holm'])}), Holm-adjusted over "
            f"the {correlations['n_tests']} correlation tests of this report: {relation}."
        )
    ratios = [
        p["penalty_per_loss"]
        for p in results["implicit_penalty"]
        if math.isfinite(p["penalty_per_loss"])
    ]
    if ratios:
        regime = (
            "small against the loss, the regime where the first-order modified loss is meant "
            "to hold"
            if max(ratios) < 0.2
            else "not small against the loss, so the first-order modified loss is only a "
            "qualitative guide at the largest rates"
        )
        sentences.append(
            f"The implicit penalty (ε/4)(‖∇J‖² + V) at the matched level is "
            f"{fmt(min(ratios), 2)}–{fmt(max(ratios), 2)} times the training loss there: {regime}."
        )
    return sentences + _decay_sentences(results["best"], rows)


def _position_text(counts: dict) -> str:
    return (
        f"{counts['at']} of {counts['n']} sit at the edge 2/μ, {counts['below']} below and "
        f"{counts['above']} above it (λ_max·μ/2 = {fmt(counts['edge_ratio_min'])}–"
        f"{fmt(counts['edge_ratio_max'])})"
    )


def _edge_verdict(sharpness: dict, batch_size: int) -> str:
    totals, tolerance = sharpness["totals"], sharpness["tolerance"]
    n = sum(t["n"] for t in totals.values())
    at, below = (sum(t[k] for t in totals.values()) for k in ("at", "below"))
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
    if at > n / 2:
        regime = (
            f"most sit *at* the edge, like full-batch gradient descent (Cohen et al. 2021): with "
            f"B = {batch_size}, SGD here does not settle clearly below 2/μ as Jastrzębski et al. "
            "(2020) report for small batches"
        )
    elif below > n / 2:
        regime = "most settle below it, as Jastrzębski et al. (2020) report for SGD"
    else:
        regime = "no single regime holds for most of them"
    return f"Of these {n} measurements, {verdict}; {regime}."


def _flatness_verdict(c: dict, alpha: float) -> str:
    across = c["pearson"] > 0 and c["p_holm"] < alpha
    against = c["pearson"] < 0 and c["p_holm"] < alpha
    inside = c["within_pearson"] > 0 and c["within_p_holm"] < alpha
    if across and inside:
        return (
            "flatter runs generalize better both across and within learning rates: this "
            "supports “flatter generalizes better” here"
        )
    if across:
        return (
            "flatter runs generalize better across rates, but within one rate the relation is "
            "not significant: flatness and test error both follow μ, so the data support "
            "“flatter generalizes better” only through the learning rate, not as a separate cause"
        )
    if against:
        return "sharper runs generalize *better*, against “flatter generalizes better”"
    return "no significant correlation: the data do not support “flatter generalizes better” here"


def sharpness_conclusions(results: dict, *, batch_size: int) -> list[str]:
    """Sentences chosen from the sharpness summary: the edge, the scaling, the correlations."""
    sharpness, alpha = results["sharpness"], results["significance"]
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
        f"with log {SYMBOLS[name]} "
        + " and ".join(
            f"{where} r = {signed(columns[prefix + name]['pearson'])} "
            f"({p_text(columns[prefix + name]['p_holm'])}, Spearman ρ = "
            f"{signed(columns[prefix + name]['spearman'])})"
            for prefix, where in WHERE.items()
        )
        for name in ("hessian_top_eigenvalue", "hessian_trace_per_parameter")
    )
    sentences.append(
        f"Across {n_runs} converged implicit-only runs, test MSE correlates {described} "
        f"(p Holm-adjusted over the {n_tests} correlation tests of this report)."
    )
    within = "; ".join(
        f"{SYMBOLS[name]} r = {signed(columns['matched_loss_' + name]['within_pearson'])} "
        f"({p_text(columns['matched_loss_' + name]['within_p_holm'])}, "
        f"{columns['matched_loss_' + name]['within_dof']} degrees of freedom)"
        for name in ("hessian_top_eigenvalue", "hessian_trace_per_parameter")
    )
    sentences.append(
        "Holding the learning rate fixed (each rate's seed mean removed from both; the partial "
        f"correlation given the rate), at the matched loss: {within}."
    )
    verdicts: dict[str, list[str]] = {}
    for name in ("hessian_top_eigenvalue", "hessian_trace_per_parameter"):
        verdict = _flatness_verdict(columns[f"matched_loss_{name}"], alpha)
        verdicts.setdefault(verdict, []).append(SYMBOLS[name])
    sentences.append(
        f"At level {alpha:g} after Holm's correction over the {n_tests} tests (matched loss): "
        + "; ".join(f"for {' and '.join(s)}, {verdict}" for verdict, s in verdicts.items())
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
                    signed(c["within_pearson"]),
                    fmt(c["within_p_value"], 2),
                    fmt(c["within_p_holm"], 2),
                ]
            )
    return rows


def sharpness_markdown(results: dict) -> list[str]:
    """The subsection "Sharpness and the edge of stability": tables and sentences."""
    config = results["run"]["config"]
    sharpness = results["sharpness"]
    positions = {p["learning_rate"]: p for p in sharpness["positions"]}
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
    return [
        "### Sharpness and the edge of stability",
        "",
        (
            f"Top Hessian eigenvalue λ_max (Lanczos, {config['lanczos_iterations']} "
            f"Hessian-vector products) and trace tr H (Hutchinson, {config['trace_samples']} "
            "Rademacher probes) of each run's full training MSE, at the matched loss and at the "
            "end; p = "
            f"{results['n_params']} parameters, so tr H/p is the mean eigenvalue. Gradient descent "
            "with step μ is stable on a quadratic only while λ_max ≤ 2/μ (Cohen et al. 2021). Mean "
            "± std over converged implicit-only seeds; the last column counts runs below/at/above "
            f"the edge (at: |λ_max·μ/2 − 1| ≤ {sharpness['tolerance']:g}) at the matched loss; at "
            "the end."
        ),
        "",
        "![sharpness against the learning rate](implicit_regularization_sharpness.png)",
        "",
        table(header, rows),
        "",
        (
            "Test MSE against each log statistic across converged implicit-only runs: Pearson r "
            "with its exact two-sided p (t-distribution, n − 2 degrees of freedom), Spearman ρ, "
            "and the correlation within learning rates (each rate's seed mean removed from both; "
            "t-distribution with n − 1 − (number of rates) degrees of freedom). “Holm” columns: "
            f"adjusted over all {results['correlations']['n_tests']} tests of this table."
        ),
        "",
        table(
            [
                "statistic",
                "runs",
                "r",
                "p",
                "Holm",
                "Spearman ρ",
                "r within rates",
                "p within",
                "Holm",
            ],
            _correlation_rows(results["correlations"]),
        ),
        "",
        *[f"- {sentence}" for sentence in results["sharpness_conclusions"]],
        "",
    ]


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


def _trend_table(trends: dict) -> str:
    names = {
        "matched_loss_grad_norm_sq_per_loss": "matched ‖∇J‖²/J",
        "matched_loss_batch_grad_variance_per_loss": "matched V/J",
        "grad_norm_sq": "final ‖∇J‖²",
        "batch_grad_variance": "final V",
        "test_loss": "test MSE",
    }
    return table(
        ["statistic", "runs", "log-log slope", "s.e.", "p", "Holm", "trend"],
        [
            [
                label,
                t["n"],
                signed(t["slope"]),
                fmt(t["standard_error"], 2),
                fmt(t["p_value"], 2),
                fmt(t["p_holm"], 2),
                t["word"],
            ]
            for key, label in names.items()
            if (t := trends[key])
        ],
    )


def markdown(results: dict) -> str:
    """Computer assignment 2 for REPORT.md: tables, figures and conclusions from ``results``."""
    config = results["run"]["config"]
    data = config["data"]
    parts = [
        f"Network {data['input_dim']} → {config['width']} × {config['depth']} → "
        f"{data['output_dim']} ReLU ({results['n_params']} parameters, {config['init_scheme']} "
        f"init), plain SGD with constant rate μ, B = {config['batch_size']}, N = "
        f"{config['n_train']}, {config['epochs']} epochs, {config['seeds']} seeds (each redraws "
        f"training set and init), label noise s = {data['noise_std']:g} (R_t = "
        f"{results['bayes_risk']:g}). Matched level: first epoch with training MSE < "
        f"{config['matched_loss']:g}. Mean ± std over converged seeds.",
        "",
        "### Convergence and gradient statistics",
        "",
        "![convergence](implicit_regularization_convergence.png)",
        "",
        "![gradient statistics against the learning rate](implicit_regularization_grad_stats.png)",
        "",
        "![test error against the gradient statistics](implicit_regularization_test_loss.png)",
        "",
        "![gradient noise scale](implicit_regularization_noise_scale.png)",
        "",
        _rate_table(results),
        "",
        (
            "Trends against μ: least-squares slope of the log statistic on log μ over the "
            "converged implicit-only runs, its standard error and two-sided p (t-distribution, "
            f"n − 2 degrees of freedom); “Holm”: adjusted over these {len(results['trends'])} "
            f"trends; a trend is named at Holm-adjusted p < {results['significance']:g}."
        ),
        "",
        _trend_table(results["trends"]),
        "",
        "### Implicit penalty of Smith et al. 2021 at the matched loss",
        "",
        f"C̃ = C + (ε/4)‖∇C‖² + (ε/4m)Σ_k‖∇C_k − ∇C‖², m = N/B = {results['n_batches']}; "
        "the last term is (ε/4)·V.",
        "",
        table(
            ["μ", "ε/4", "ε/(4m)", "(ε/4)‖∇J‖²", "(ε/4)V", "penalty / J"],
            [
                [
                    f"{r['learning_rate']:g}",
                    fmt(r["coefficient"]),
                    fmt(r["per_batch_coefficient"]),
                    fmt(r["grad_norm_penalty"]),
                    fmt(r["variance_penalty"]),
                    fmt(r["penalty_per_loss"]),
                ]
                for r in results["implicit_penalty"]
            ],
        ),
        "",
        *sharpness_markdown(results),
        "### Weight decay (L2 on kernels, not biases)",
        "",
        "![weight decay](implicit_regularization_weight_decay.png)",
        "",
        table(
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
        ),
        "",
        "### Conclusions (chosen by code from the numbers above)",
        "",
        *[f"- {sentence}" for sentence in results["conclusions"]],
        "",
    ]
    return "\n".join(parts)


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    implicit = [r for r in results["runs"] if r["weight_decay"] == 0]
    lines = [
        f"{sum(r['converged'] for r in implicit)} of {len(implicit)} implicit-only runs converged"
    ]
    ratios = ", ".join(
        f"{r['learning_rate']:g}: {fmt(r['matched_loss_edge_ratio'])}/{fmt(r['edge_ratio'])}"
        for r in results["rate_summary"]
    )
    lines.append(f"lambda_max*mu/2 (matched/final) by mu: {ratios}")
    best = results["best"]
    if best.get("implicit"):
        lines.append(
            f"best implicit-only test MSE {fmt(best['implicit']['test_loss'])} "
            f"(mu = {best['implicit']['learning_rate']:g})"
        )
    if best.get("explicit"):
        lines.append(
            f"best with weight decay {fmt(best['explicit']['test_loss'])} "
            f"(mu = {best['explicit']['learning_rate']:g}, "
            f"lambda = {best['explicit']['weight_decay']:g})"
        )
    return lines
