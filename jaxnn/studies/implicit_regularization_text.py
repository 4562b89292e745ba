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
    details,
    fmt,
    listed,
    p_text,
    plus_minus,
    signed,
    table,
)
from jaxnn.studies.implicit_regularization_decay import (
    decay_answer,
    decay_section,
    decay_sentences,
    decay_settings,
)
from jaxnn.studies.implicit_regularization_sharpness import (
    SYMBOLS,
    WHERE,
    compact_correlations,
    correlation_effect,
    pm,
    sharpness_answer,
    sharpness_markdown,
)
from jaxnn.studies.implicit_regularization_sharpness import (  # the study imports it from here
    sharpness_conclusions as sharpness_conclusions,
)

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
    return sentences + ([penalty] if penalty else []) + decay_sentences(results["best"], rows)


def _relation(pair: Sequence[dict]) -> str:
    effects = [c["verdict"] == verdicts.EFFECT for c in pair]
    positive = [c["change"] > 0 for c in pair]
    if all(effects) and all(positive):
        return "runs with smaller gradient norm and variance have lower test error"
    if any(effects):
        return "only part of this is an effect"
    return "neither is an effect, so these statistics do not reliably predict the test error"


def _rate_table(results: dict) -> str:
    config = results["run"]["config"]
    header = ["μ", "converged", f"epoch < {config['convergence_level']:g}", "final train MSE"]
    header += ["test MSE", "final ‖∇J‖²", "final V", "matched J", "matched ‖∇J‖²", "matched V"]
    header += ["matched ‖∇J‖²/J", "matched V/J", "matched B_simple"]
    rows = []
    for r in results["rate_summary"]:
        ratio = lambda key, r=r: pm(r, key) if r["n_converged"] else "n/a"  # noqa: E731
        rows.append(
            [
                f"{r['learning_rate']:g}",
                f"{r['n_converged']}/{r['n_seeds']}",
                fmt(r["first_epoch_below_convergence_level"], 4),
                fmt(r["final_train_loss"]),
                pm(r, "test_loss"),
                pm(r, "grad_norm_sq"),
                pm(r, "batch_grad_variance"),
                fmt(r["matched_loss_train_loss"]),
                pm(r, "matched_loss_grad_norm_sq"),
                pm(r, "matched_loss_batch_grad_variance"),
                ratio("matched_loss_grad_norm_sq_per_loss"),
                ratio("matched_loss_batch_grad_variance_per_loss"),
                pm(r, "matched_loss_noise_scale"),
            ]
        )
    return table(header, rows)


def _compact_rate_table(results: dict) -> str:
    config = results["run"]["config"]
    header = ["μ", "converged", f"epoch < {config['convergence_level']:g}", "test MSE"]
    header += ["final ‖∇J‖²", "final V", "matched ‖∇J‖²/J", "matched V/J"]
    rows = []
    for r in results["rate_summary"]:
        ratio = lambda key, r=r: pm(r, key) if r["n_converged"] else "n/a"  # noqa: E731
        rows.append(
            [
                f"{r['learning_rate']:g}",
                f"{r['n_converged']}/{r['n_seeds']}",
                fmt(r["first_epoch_below_convergence_level"], 4),
                pm(r, "test_loss"),
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
            decay_settings(results) + ".",
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
    parts = [
        _setup(results),
        "",
        "### Convergence",
        "",
        convergence_answer(results) + ".",
        "",
        "![convergence](implicit_regularization_convergence.png)",
        "",
        *_gradient_section(results),
        "### Test error against the gradient norms",
        "",
        test_answer(results) + ". " + explanation_answer(results) + ".",
        "",
        "![test error against the gradient statistics](implicit_regularization_test_loss.png)",
        "",
        compact_correlations(results["correlations"], ("grad_norm_sq", "batch_grad_variance")),
        "",
        *_penalty_section(results),
        *sharpness_markdown(results),
        *decay_section(results),
    ]
    return "\n".join(parts)


def _gradient_section(results: dict) -> list[str]:
    """The subsection "Gradient norms against the learning rate", its method and tables."""
    config = results["run"]["config"]
    setup = (
        "Each seed redraws training set and init; "
        f"label noise s = {config['data']['noise_std']:g} (R_t = "
        f"{results['bayes_risk']:g}). Matched level: first epoch with training MSE < "
        f"{config['matched_loss']:g}, where the rates are compared at equal loss (after "
        "convergence the loss sits at the float32 floor, where gradients are rounding noise). "
        "Mean ± std over converged seeds."
    )
    trend_method = (
        "Trends against μ: least-squares slope of the log statistic on log μ over the converged "
        "implicit-only runs, its standard error and two-sided p (n − 2 degrees of freedom); "
        f"Holm over these {len(results['trends'])} trends; level {results['significance']:g}. "
        "Size: the fitted change of the log statistic across the swept μ (slope × log of the "
        f"rate span); floor: {results['floors']['trend']}. “Detectable”: the change the "
        "Holm-adjusted test would find at 80 % power."
    )
    # the weight-decay and penalty sentences are shown in their own subsections
    later = {*decay_sentences(results["best"], results["runs"]), _penalty_sentence(results)}
    shown = "\n".join(f"- {s}" for s in results["conclusions"] if s not in later)
    tested = [setup, trend_method, _trend_table(results["trends"]), _rate_table(results)]
    tested += ["![gradient noise scale](implicit_regularization_noise_scale.png)", shown]
    return [
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
        details("How it was tested", "\n\n".join(tested)),
        "",
    ]


def _penalty_section(results: dict) -> list[str]:
    """The subsection on the implicit penalty of Smith et al. 2021 at the matched loss."""
    floors = results["floors"]
    rows = [
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
    ]
    header = ["μ", "ε/4", "ε/(4m)", "(ε/4)‖∇J‖²", "(ε/4)V", "penalty / J", "small?"]
    return [
        "### Implicit penalty of Smith et al. 2021 at the matched loss",
        "",
        (_penalty_sentence(results) or "No rate converged."),
        "",
        "$$\\tilde C = C + \\frac{\\varepsilon}{4}\\|\\nabla C\\|^2 + \\frac{\\varepsilon}{4m}"
        f"\\sum_k\\|\\nabla C_k - \\nabla C\\|^2,\\quad m = N/B = {results['n_batches']}$$",
        "",
        table(header, rows),
        "",
        details(
            "How it was tested",
            "The last term is (ε/4)·V. The penalties use the seed means of the matched-loss "
            "statistics; penalty / J is their sum over the mean matched training loss (± the "
            f"seed std of each run's own ratio). Floor {fmt(floors['modified_loss_small'])}: "
            f"{floors['modified_loss']}.",
        ),
        "",
    ]


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
