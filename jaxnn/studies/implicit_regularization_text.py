"""Sentences and Markdown of the implicit-regularization study, chosen from its results alone.

Every sentence reads numbers that ``implicit_regularization.run`` computed: trends
against the learning rate with their Holm-adjusted p-values, correlations with the
test error, the weight-decay comparisons (is SGD's implicit regularization enough, or
does an explicit L2 penalty on the kernels beat it by its floor?); the edge of
stability is in ``implicit_regularization_sharpness``. A claim drawn from many tests
says how many it scanned. Nothing here trains or measures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jaxnn import verdicts
from jaxnn.formatting import count_of, fmt, is_finite, listed, p_text, plus_minus, signed, table
from jaxnn.studies.implicit_regularization_sharpness import (
    SYMBOLS,
    WHERE,
    bold_effect,
    bullets,
    column_table,
    correlation_effect,
    correlation_table,
    figure,
    pm,
    section,
    sharpness_answer,
    sharpness_markdown,
)
from jaxnn.studies.implicit_regularization_sharpness import (  # the study imports it from here
    sharpness_conclusions as sharpness_conclusions,
)
from jaxnn.studies.implicit_regularization_stats import GRADIENTS

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
    if not is_finite(change):
        return f"no trend of {label} can be measured"
    same = ("floor", "minimum_detectable", "verdict")
    judgement = {"estimate": abs(change), "standard_error": fit["change_standard_error"]}
    judgement |= {"p": fit["p_holm"]} | {key: fit[key] for key in same}
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
    rows = [p for p in results["implicit_penalty"] if is_finite(p["penalty_per_loss"])]
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
        pair = [columns[f"{place}{s}"] for s in GRADIENTS]
        sentences.append(
            f"Across converged runs, {WHERE[place]}: test MSE against "
            + " and ".join(
                f"{name} {correlation_effect(c)}" for name, c in zip(("log ‖∇J‖²", "log V"), pair)
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


def _rate_table(results: dict, *, compact: bool = False) -> str:
    """Per rate, the seed statistics of its converged runs: every column, or the compact few."""
    epoch = f"epoch < {results['run']['config']['convergence_level']:g}"
    final = (lambda r, key: fmt(r[key], 2)) if compact else pm

    def ratio(r: dict, key: str) -> str:
        return pm(r, key) if r["n_converged"] else "n/a"

    columns = {
        "μ": lambda r: f"{r['learning_rate']:g}",
        "converged": lambda r: f"{r['n_converged']}/{r['n_seeds']}",
        epoch: lambda r: fmt(r["first_epoch_below_convergence_level"], 4),
        "final train MSE": lambda r: fmt(r["final_train_loss"]),
        "test MSE": lambda r: pm(r, "test_loss"),
        "final ‖∇J‖²": lambda r: final(r, "grad_norm_sq"),
        "final V": lambda r: final(r, "batch_grad_variance"),
        "matched J": lambda r: fmt(r["matched_loss_train_loss"]),
        "matched ‖∇J‖²": lambda r: pm(r, "matched_loss_grad_norm_sq"),
        "matched V": lambda r: pm(r, "matched_loss_batch_grad_variance"),
        "matched ‖∇J‖²/J": lambda r: ratio(r, "matched_loss_grad_norm_sq_per_loss"),
        "matched V/J": lambda r: ratio(r, "matched_loss_batch_grad_variance_per_loss"),
        "matched B_simple": lambda r: pm(r, "matched_loss_noise_scale"),
    }
    skipped = ("final train MSE", "matched J", "matched ‖∇J‖²", "matched V", "matched B_simple")
    shown = [(h, cell) for h, cell in columns.items() if not (compact and h in skipped)]
    return column_table(shown, results["rate_summary"])


TREND_NAMES = {
    "matched_loss_grad_norm_sq_per_loss": "matched ‖∇J‖²/J",
    "matched_loss_batch_grad_variance_per_loss": "matched V/J",
    "grad_norm_sq": "final ‖∇J‖²",
    "batch_grad_variance": "final V",
    "test_loss": "test MSE",
}


def _trend_table(trends: dict, *, compact: bool = False) -> str:
    """One row per trend of ``TREND_NAMES``: every number, or its size, floor, p and word."""

    def factor(t: dict) -> str:
        return f" (×{fmt(math.exp(t['change']), 2)})" if is_finite(t["change"]) else ""

    if compact:
        columns = [
            ("log change across μ", lambda t: fmt(t["change"], 2) + factor(t)),
            ("floor", lambda t: fmt(t["floor"], 2)),
            ("Holm p", lambda t: fmt(t["p_holm"], 2)),
            ("trend", lambda t: bold_effect(t["verdict"], t["word"])),
        ]
    else:
        columns = [
            ("runs", lambda t: t["n"]),
            ("log-log slope", lambda t: signed(t["slope"])),
            ("s.e.", lambda t: fmt(t["standard_error"], 2)),
            ("p", lambda t: fmt(t["p_value"], 2)),
            ("Holm", lambda t: fmt(t["p_holm"], 2)),
            ("log change", lambda t: fmt(t["change"], 2)),
            ("s.e.", lambda t: fmt(t["change_standard_error"], 2)),
            ("floor", lambda t: fmt(t["floor"], 2)),
            ("detectable", lambda t: fmt(t["minimum_detectable"], 2)),
            ("verdict", lambda t: t["verdict"]),
        ]
    rows = [t | {"label": label} for key, label in TREND_NAMES.items() if (t := trends[key])]
    return column_table([("statistic", lambda t: t["label"]), *columns], rows)


def _setup(results: dict) -> str:
    config = results["run"]["config"]
    data, rates = config["data"], config["learning_rates"]
    span = f"{rates[0]:g}" if len(rates) == 1 else f"{min(rates):g}–{max(rates):g}"
    return (
        f"Network {data['input_dim']} → {config['width']} × {config['depth']} → "
        f"{data['output_dim']} ReLU ({results['n_params']} parameters, {config['init_scheme']} "
        f"init), plain SGD with constant rate μ = {span}, B = {config['batch_size']}, "
        f"N = {config['n_train']}, {config['epochs']} epochs, {config['seeds']} seeds."
    )


def trend_short(fit: dict) -> str:
    """ "**decreases** ×0.85 across μ = 0.02–0.16 (log change -0.17 ± 0.024, p = 2.7e-05, floor
    0.038)": a trend's verdict, factor and size in a clause."""
    if not is_finite(fit["change"]):
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
    shown = bold_effect(c[f"{prefix}verdict"])
    return (
        f"r = {signed(c[f'{prefix}pearson'])} (test-MSE change {fmt(c[f'{prefix}change'], 2)} "
        f"over its range, Holm {p_text(c[f'{prefix}p_holm'])}, floor {fmt(c['floor'], 2)}: "
        f"{shown})"
    )


def convergence_answer(results: dict) -> str:
    config = results["run"]["config"]
    implicit = [r for r in results["runs"] if r["weight_decay"] == 0]
    failed = [r for r in implicit if not r["converged"]]
    epochs = [r["first_epoch_below_convergence_level"] for r in results["rate_summary"]]
    epochs = [e for e in epochs if is_finite(e)]
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
    matched = [trends[f"matched_loss_{s}_per_loss"] for s in GRADIENTS]
    agree = {"decreases": "as", "increases": "against what"}.get(test["word"])
    first = f"Test MSE {trend_short(test)}"
    if agree:
        first += f", {agree} the growing penalty (ε/4)(‖∇C‖² + V) of Smith et al. 2021 predicts"
    if all(f["word"] == "decreases" for f in matched):
        return f"{first}; ‖∇J‖²/J and V/J at matched loss fall too, the mechanism it names"
    return (
        f"{first}; but ‖∇J‖²/J and V/J at matched loss do not both fall beyond their floors: "
        "the effect without its proposed mechanism"
    )


def answers(results: dict) -> list[dict]:
    """One row per item of computer assignment 2 and per beyond-the-sheet question."""
    config = results["run"]["config"]
    questions = [
        ("CA 2(a)/(b)", "Which parameters were used (M, B, layers, rates)?"),
        ("CA 2(b)", f"Does every rate reach training MSE < {config['convergence_level']:g}?"),
        ("CA 2(c)", "How do the final gradient norms depend on the learning rate?"),
        ("CA 2(c)", "How does the test error relate to the final gradient norms?"),
        (
            "CA 2(c)",
            "How do the observations read in light of implicit regularization (Smith et al. 2021)?",
        ),
        ("CA 2(d)", "Settings (μ, B, regularization rate) with train and test losses?"),
        ("CA 2(d)", "Is implicit regularization sufficient here?"),
        ("Beyond", "Does SGD's learning rate set the sharpness (edge of stability, 2/μ)?"),
    ]
    parameters = (
        f"M = {config['width']}, {config['depth']} hidden layers, B = {config['batch_size']}, "
        f"N = {config['n_train']}, constant-rate SGD with μ = "
        f"{listed(config['learning_rates'])}, {config['epochs']} epochs, "
        f"{config['seeds']} seeds."
    )
    answered = [  # (answer, figure)
        (parameters, None),
        (convergence_answer(results) + ".", "convergence"),
        (gradient_answer(results) + ".", "grad_stats"),
        (test_answer(results) + ".", "test_loss"),
        (explanation_answer(results) + ".", "grad_stats"),
        (decay_settings(results) + ".", "weight_decay"),
        (decay_answer(results) + ".", "weight_decay"),
        (sharpness_answer(results) + ".", "sharpness"),
    ]
    return [
        {"item": item, "question": question, "answer": answer}
        | {"figure": name and f"implicit_regularization_{name}.png"}
        for (item, question), (answer, name) in zip(questions, answered)
    ]


def markdown(results: dict) -> str:
    """Computer assignment 2 for REPORT.md: per subsection the answer, figure, table, details."""
    blocks = [
        _setup(results),
        "### Convergence",
        convergence_answer(results) + ".",
        figure("convergence", "convergence"),
        *_gradient_section(results),
        "### Test error against the gradient norms",
        test_answer(results) + ". " + explanation_answer(results) + ".",
        figure("test error against the gradient statistics", "test_loss"),
        correlation_table(results["correlations"], GRADIENTS, compact=True),
        *_penalty_section(results),
        *sharpness_markdown(results),
        *decay_section(results),
    ]
    return "\n\n".join(blocks) + "\n"


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
    shown = bullets(s for s in results["conclusions"] if s not in later)
    tested = [setup, trend_method, _trend_table(results["trends"]), _rate_table(results)]
    tested += [figure("gradient noise scale", "noise_scale"), shown]
    return section(
        "Gradient norms against the learning rate",
        gradient_answer(results) + ".",
        [
            figure("gradient statistics against the learning rate", "grad_stats"),
            _trend_table(results["trends"], compact=True),
            _rate_table(results, compact=True),
        ],
        tested,
    )


def _penalty_section(results: dict) -> list[str]:
    """The subsection on the implicit penalty of Smith et al. 2021 at the matched loss."""
    floors = results["floors"]
    numbers = ("coefficient", "per_batch_coefficient", "grad_norm_penalty", "variance_penalty")

    def ratio(r: dict) -> str:
        return plus_minus(r["penalty_per_loss"], r.get("penalty_per_loss_std"))

    rows = [
        [f"{r['learning_rate']:g}", *(fmt(r[key]) for key in numbers), ratio(r), fmt(r["small"])]
        for r in results["implicit_penalty"]
    ]
    header = ["μ", "ε/4", "ε/(4m)", "(ε/4)‖∇J‖²", "(ε/4)V", "penalty / J", "small?"]
    formula = (
        "$$\\tilde C = C + \\frac{\\varepsilon}{4}\\|\\nabla C\\|^2 + \\frac{\\varepsilon}{4m}"
        f"\\sum_k\\|\\nabla C_k - \\nabla C\\|^2,\\quad m = N/B = {results['n_batches']}$$"
    )
    method = (
        "The last term is (ε/4)·V. The penalties use the seed means of the matched-loss "
        "statistics; penalty / J is their sum over the mean matched training loss (± the "
        f"seed std of each run's own ratio). Floor {fmt(floors['modified_loss_small'])}: "
        f"{floors['modified_loss']}."
    )
    return section(
        "Implicit penalty of Smith et al. 2021 at the matched loss",
        _penalty_sentence(results) or "No rate converged.",
        [formula, table(header, rows)],
        [method],
    )


def summary(results: dict) -> list[str]:
    """Headline numbers and verdicts for the console."""
    implicit = [r for r in results["runs"] if r["weight_decay"] == 0]
    converged = sum(r["converged"] for r in implicit)
    lines = [f"{converged} of {len(implicit)} implicit-only runs converged"]
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
    a, b = results["best"].get("implicit"), results["best"].get("explicit")
    if a:
        lines.append(
            f"best implicit-only test MSE {fmt(a['test_loss'])} (mu = {a['learning_rate']:g})"
        )
    if b:
        gain = results["best"]["improvement"]
        lines.append(
            f"best with weight decay {fmt(b['test_loss'])} (mu = {b['learning_rate']:g}, "
            f"lambda = {b['weight_decay']:g}): improvement {fmt(gain['estimate'])}, floor "
            f"{fmt(gain['floor'])}, {gain['verdict']}"
        )
    return lines


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


def decay_sentences(best: dict, rows: Sequence[dict]) -> list[str]:
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


def decay_settings(results: dict) -> str:
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


def decay_section(results: dict) -> list[str]:
    """The subsection "Weight decay": the answer, figure, best-per-λ table and details."""
    settings = decay_settings(results)
    tested = [
        _decay_table(results),
        settings[0].upper() + settings[1:] + ".",
        bullets(decay_sentences(results["best"], results["runs"])),
        f"Floor of each comparison: {results['floors']['weight_decay']}.",
    ]
    return section(
        "Weight decay (L2 on kernels, not biases)",
        decay_answer(results) + ".",
        [figure("weight decay", "weight_decay"), _compact_decay_table(results)],
        tested,
    )


def _decay_table(results: dict) -> str:
    batch = str(results["run"]["config"]["batch_size"])

    def collapsed(r: dict) -> str:
        return f" ({r['n_collapsed']} collapsed to a constant output)" if r["n_collapsed"] else ""

    columns = [
        ("μ", lambda r: f"{r['learning_rate']:g}"),
        ("B", lambda r: batch),
        ("λ", lambda r: f"{r['weight_decay']:g}"),
        ("train MSE", lambda r: pm(r, "final_train_loss")),
        ("test MSE", lambda r: pm(r, "test_loss")),
        ("diverged", lambda r: f"{r['n_diverged']}/{r['n_seeds']}" + collapsed(r)),
    ]
    return column_table(columns, results["decay_summary"])


def _compact_decay_table(results: dict) -> str:
    """Per λ, the best rate's train and test MSE (λ = 0 is implicit regularization alone)."""
    rows = []
    for decay in sorted({r["weight_decay"] for r in results["decay_summary"]}):
        group = [r for r in results["decay_summary"] if r["weight_decay"] == decay]
        alive = [r for r in group if r["n_diverged"] == 0 and is_finite(r["test_loss"])]
        diverged = f"{sum(r['n_diverged'] for r in group)}/{sum(r['n_seeds'] for r in group)}"
        cells = ["—"] * 3
        if alive:
            best = min(alive, key=lambda r: r["test_loss"])
            losses = [pm(best, "final_train_loss"), pm(best, "test_loss")]
            cells = [f"{best['learning_rate']:g}", *losses]
        rows.append([f"{decay:g}", *cells, diverged])
    return table(["λ", "best μ", "train MSE", "test MSE", "runs diverged (all μ)"], rows)
