r"""Sentences, derivations and Markdown of the initialization study, chosen from its results.

The derivations of (a)–(e) are fixed prose (LaTeX); every number around them is read from
the results of ``initialization.run``: the Monte Carlo table against the closed forms, the
per-layer second moments against :math:`c^k`, the roughness series against :math:`\sigma^2`.
``smoothness_conclusion`` chooses the answer to (e) from the measured trends; ``run`` calls
it, so the conclusion is part of the results. Nothing here draws or measures.
"""

from __future__ import annotations

import math

import numpy as np

from jaxnn import verdicts
from jaxnn.formatting import details, fmt, plus_minus, table

# ---------------------------------------------------------------------------- conclusion

# A trend in roughness is named only when it changes the roughness by at least this factor
# over the swept σ² range (and the change is significant).
TREND_FLOOR_FACTOR = 2.0
TREND_FLOOR_REASON = (
    "a trend must change the roughness at least twofold across the swept σ² range: the "
    "roughness is a ratio of mean squared curvature to variance, whose net-to-net spread is "
    "of the order of its mean, so a smaller change over four decades of σ² is not a "
    "difference a reader sees between two initial functions (in the figure's log axes it "
    "is a flat line)"
)

_DIRECTION = {
    "increasing": "smaller σ² gives smoother initial functions",
    "decreasing": "larger σ² gives smoother initial functions",
}


def _trend(values) -> str:
    steps = np.diff(np.asarray(values, dtype=np.float64))
    if np.all(steps > 0):
        return "increasing"
    if np.all(steps < 0):
        return "decreasing"
    return "not monotone"


def roughness_trend(weight_vars, roughness, standard_errors=None) -> dict:
    """The roughness' change over the swept σ² range, judged against ``TREND_FLOOR_FACTOR``.

    The size is the log of the fold change from the smallest to the largest σ²; its
    standard error is the delta method's, treating the two ends as independent (they
    are measured on the same underlying normals scaled by σ, whose positive
    correlation only shrinks the true error, so the test is conservative). Two-sided
    normal p; the verdict (``verdicts.judge``) names the trend only when the change is
    significant and at least a factor ``TREND_FLOOR_FACTOR`` (``TREND_FLOOR_REASON``).
    Without standard errors the ends count as exact.
    """
    from scipy import stats as scipy_stats

    values = np.asarray(roughness, dtype=np.float64)
    errors = np.zeros_like(values) if standard_errors is None else np.asarray(standard_errors)
    fold = float(values[-1] / values[0])
    log_fold = math.log(fold)
    log_error = math.hypot(errors[0] / values[0], errors[-1] / values[-1])
    if log_error > 0:
        p = float(2 * scipy_stats.norm.sf(abs(log_fold) / log_error))
    else:
        p = 0.0 if log_fold else 1.0
    judged = verdicts.judge(
        abs(log_fold), p, floor=math.log(TREND_FLOOR_FACTOR), standard_error=log_error
    )
    return {
        "from_weight_var": float(weight_vars[0]),
        "to_weight_var": float(weight_vars[-1]),
        "fold": fold,
        "log_fold": log_fold,
        "log_fold_standard_error": log_error,
        "p": p,
        "floor_factor": TREND_FLOOR_FACTOR,
        "verdict": judged["verdict"],
        "direction": "increasing" if log_fold > 0 else "decreasing",
        "monotone": _trend(values),
        "rising_steps": int(np.sum(np.diff(values) > 0)),
        "steps": int(values.size - 1),
    }


def _trend_words(trend: dict) -> str:
    error = trend["log_fold_standard_error"]
    size = (
        f"a factor of {fmt(trend['fold'])}"
        + (f" (log ± {fmt(error, 2)})" if error else "")
        + f" from σ² = {fmt(trend['from_weight_var'])} to {fmt(trend['to_weight_var'])}"
    )
    steps = f"rising at {trend['rising_steps']} of {trend['steps']} steps"
    if trend["verdict"] == verdicts.EFFECT:
        return f"{_DIRECTION[trend['direction']]}: the roughness changes by {size}, {steps}"
    return (
        f"no trend established: the roughness changes by {size}, {steps} "
        f"(floor a factor of {fmt(trend['floor_factor'])})"
    )


def smoothness_conclusion(
    weight_vars,
    tanh_roughness,
    relu_roughness,
    relu_fixed_bias_roughness,
    *,
    relu_bias_var: float,
    tanh_standard_errors=None,
    relu_fixed_bias_standard_errors=None,
    invariance_rtol: float = 1e-6,
) -> str:
    """One paragraph answering "does larger or smaller σ² give smoother functions?".

    The series are ``roughness[i]`` at the increasing ``weight_vars[i]``: tanh and ReLU with
    weights and biases sharing σ², and ReLU with the bias variance held at ``relu_bias_var``
    (β²). A trend is named only when it is significant and at least ``TREND_FLOOR_FACTOR``
    (``roughness_trend``); ReLU roughness at a common σ counts as constant when its
    relative spread is at most ``invariance_rtol`` (positive homogeneity makes it exact);
    the ReLU trend with the bias variance fixed is judged like tanh.
    """
    weight_vars = np.asarray(weight_vars, dtype=np.float64)
    if weight_vars.ndim != 1 or weight_vars.size < 2 or np.any(np.diff(weight_vars) <= 0):
        raise ValueError("weight_vars must be increasing with at least two entries")
    relu = np.asarray(relu_roughness, dtype=np.float64)
    relu_spread = float(np.ptp(relu) / np.mean(np.abs(relu)))
    if relu_spread <= invariance_rtol:
        relu_text = (
            f"the roughness is the same at every σ² ({relu[0]:.4g}, relative spread "
            f"{relu_spread:.1e}); σ only rescales the function (positive homogeneity), it "
            "does not smooth it."
        )
    else:
        relu_text = (
            f"the roughness changes with σ² (relative spread {relu_spread:.2g}): "
            + _trend_words(roughness_trend(weight_vars, relu))
            + "."
        )
    fixed = roughness_trend(weight_vars, relu_fixed_bias_roughness, relu_fixed_bias_standard_errors)
    fixed_text = (
        _trend_words(fixed)
        .replace("smaller σ²", "a smaller weight variance", 1)
        .replace("larger σ²", "a larger weight variance", 1)
    )
    if fixed["verdict"] == verdicts.EFFECT and fixed["direction"] == "increasing":
        fixed_text += (
            ": for ReLU the ratio of weight to bias scale decides smoothness (more kinks "
            "-b/w fall inside the input range)"
        )
    tanh = roughness_trend(weight_vars, tanh_roughness, tanh_standard_errors)
    return " ".join(
        [
            f"tanh: {_trend_words(tanh)}.",
            f"ReLU with the same σ² on weights and biases: {relu_text}",
            f"ReLU with the bias variance fixed at {relu_bias_var:g}: {fixed_text}.",
        ]
    )


def smoothness_verdicts(smoothness: dict) -> dict:
    """The trend verdicts and the conclusion from a run's ``smoothness`` block (pure)."""
    weight_vars = smoothness["weight_vars"]
    return {
        "smoothness_trends": {
            "tanh": roughness_trend(
                weight_vars, smoothness["tanh_roughness"], smoothness["tanh_roughness_se"]
            ),
            "relu_fixed_bias": roughness_trend(
                weight_vars,
                smoothness["relu_fixed_bias_roughness"],
                smoothness["relu_fixed_bias_roughness_se"],
            ),
            "floor_reason": TREND_FLOOR_REASON,
        },
        "conclusion": smoothness_conclusion(
            weight_vars,
            smoothness["tanh_roughness"],
            smoothness["relu_roughness"],
            smoothness["relu_fixed_bias_roughness"],
            relu_bias_var=smoothness["relu_bias_var"],
            tanh_standard_errors=smoothness["tanh_roughness_se"],
            relu_fixed_bias_standard_errors=smoothness["relu_fixed_bias_roughness_se"],
        ),
    }


# ---------------------------------------------------------------------------- Markdown

# A Monte Carlo estimate agrees with its closed form when it lies within this many
# standard errors of it (a check, not a verdict: about 1 in 370 draws of the noise falls
# outside when the formula is right).
CHECK_STANDARD_ERRORS = 3.0

_SETUP = (
    "A neuron has $M$ inputs $x_m \\sim \\mathcal N(0, 1)$ and weights "
    "$w_m \\sim \\mathcal N(0, \\sigma^2)$, all independent, no bias; "
    "$z = \\sum_{m=1}^M w_m x_m$ and $h = \\max(0, z)$."
)

_FORMULAS = {
    "a": "$$\\mathbb E[z] = 0, \\qquad \\operatorname{Var}[z] = M\\sigma^2$$",
    "b": "$$\\mathbb E[h^2] = \\tfrac12\\,\\mathbb E[z^2] = \\frac{M\\sigma^2}{2}$$",
    "c": "$$\\mathbb E[z^{(2)}] = 0, \\qquad \\operatorname{Var}[z^{(2)}] = M\\sigma_2^2\\,"
    "\\mathbb E[h^2] = M\\sigma_2^2\\,\\frac{M\\sigma^2}{2}$$",
    "d": "$$c = \\frac{\\sigma^2 M}{2} = 1 \\iff \\sigma^2 = \\frac{2}{M}$$",
}

_DERIVATION = {
    "a": "$$\\mathbb E[z] = \\sum_m \\mathbb E[w_m]\\,\\mathbb E[x_m] = 0,$$\n\n"
    "$$\\operatorname{Var}[z] = \\mathbb E[z^2] = \\sum_{m,n} \\mathbb E[w_m w_n]\\,"
    "\\mathbb E[x_m x_n] = \\sum_m \\mathbb E[w_m^2]\\,\\mathbb E[x_m^2] = M\\sigma^2,$$\n\n"
    "since the cross terms $m \\ne n$ have $\\mathbb E[w_m w_n] = 0$. Given the weights, "
    "$z \\mid w \\sim \\mathcal N(0, \\lVert w\\rVert^2)$ exactly (a fixed linear map of a "
    "Gaussian vector), so $z$ is symmetric about 0; unconditionally it is a scale mixture of "
    "Gaussians with excess kurtosis $6/M$.",
    "b": "Symmetry of $z$ and $\\Pr[z = 0] = 0$ give, with no integral, "
    "$\\mathbb E[h^2] = \\mathbb E[z^2\\,\\mathbb 1[z > 0]] = \\tfrac12\\,\\mathbb E[z^2]$. "
    "Bonus: given $w$, $\\mathbb E[h \\mid w] = \\lVert w\\rVert "
    "\\int_0^\\infty u\\,\\phi(u)\\,du = \\lVert w\\rVert/\\sqrt{2\\pi}$, and "
    "$\\lVert w\\rVert/\\sigma \\sim \\chi_M$, so\n\n"
    "$$\\mathbb E[h] = "
    "\\frac{\\sigma\\,\\Gamma(\\frac{M+1}{2})}{\\sqrt\\pi\\,\\Gamma(\\frac M2)} "
    "\\approx \\frac{\\sigma\\sqrt M}{\\sqrt{2\\pi}}\\Big(1 - \\frac1{4M}\\Big), \\qquad "
    "\\operatorname{Var}[h] = \\frac{M\\sigma^2}{2} - \\mathbb E[h]^2 \\approx "
    "M\\sigma^2\\Big(\\frac12 - \\frac1{2\\pi}\\Big).$$",
    "c": "$z^{(2)} = \\sum_{m=1}^M v_m h_m$ with $v_m \\sim \\mathcal N(0, \\sigma_2^2)$ "
    "independent of the first layer. "
    "$\\mathbb E[z^{(2)}] = \\sum_m \\mathbb E[v_m]\\,\\mathbb E[h_m] = 0$, and\n\n"
    "$$\\operatorname{Var}[z^{(2)}] = \\sum_{m,n} \\mathbb E[v_m v_n]\\,\\mathbb E[h_m h_n] "
    "= M\\sigma_2^2\\,\\mathbb E[h^2].$$\n\n"
    "The $h_m$ are correlated (they share $x$) and have a positive mean, but "
    "$\\mathbb E[v_m v_n] = 0$ for $m \\ne n$ removes every cross term: the second moment "
    "$\\mathbb E[h^2]$ enters, not $\\operatorname{Var}[h]$.",
    "d": "Repeating (a)–(c) layer by layer, conditioning on the previous layer, gives "
    "$\\mathbb E[h_k^2] = c\\,\\mathbb E[h_{k-1}^2]$ with the per-layer gain "
    "$c = \\sigma^2 M/2$, exactly at any width; with unit-variance inputs "
    "$\\mathbb E[h_K^2] = c^K$ (He et al. 2015; Glorot & Bengio 2010 derived "
    "$2/(M_\\text{in} + M_\\text{out})$ for activations linear around 0, without the ReLU's "
    "factor 1/2). The gradient obeys the same recursion backwards.",
    "e": "$f(x) = \\sum_{m=1}^M v_m\\,\\psi(w_m x + b_m)$ with $v, w, b \\sim \\mathcal N(0, "
    "\\sigma^2)$. Expanding around $x = 0$,\n\n"
    "$$f(x) = \\sum_k a_k x^k, \\qquad a_k = \\frac1{k!}\\sum_m v_m w_m^k\\,\\psi^{(k)}(b_m) "
    "= O(\\sigma^{k+1}),$$\n\n"
    "so on a fixed input interval the order-$k$ term shrinks like $\\sigma^{k+1}$: relative "
    "to the linear term, the cubic one scales like $\\sigma^2$ (for tanh, "
    "$\\sqrt{\\mathbb E[a_3^2]/\\mathbb E[a_1^2]} \\to \\sqrt{5/3}\\,\\sigma^2$). Small "
    "$\\sigma^2$ puts every pre-activation in the near-linear part of a smooth $\\psi$, so the "
    "initial function is close to linear; large $\\sigma^2$ gives steep units whose "
    "transitions $x = -b_m/w_m$ have width $\\sim 1/|w_m|$. For tanh, "
    "$\\tanh''(u) \\approx -2u$ gives the small-$\\sigma$ roughness "
    "$\\overline{f''^2}/\\mathrm{Var}_x f \\approx 96\\,\\sigma^4$ on $[-1, 1]$.\n\n"
    "ReLU is positively homogeneous, $\\max(0, \\lambda u) = \\lambda\\max(0, u)$ for "
    "$\\lambda > 0$: scaling all of $v, w, b$ by $\\lambda$ gives $\\lambda^2 f$. With one "
    "$\\sigma$ for weights and biases, $\\sigma$ changes only the scale of the function, "
    "never its shape; the shape depends on the kink positions $-b_m/w_m$, i.e. on the ratio "
    "$\\sigma_w/\\sigma_b$: a fraction $\\tfrac2\\pi\\arctan(L\\sigma_w/\\sigma_b)$ of kinks "
    "lies in $[-L, L]$.",
}


def _moment(results: dict, prefix: str) -> dict:
    return next(row for row in results["moments"]["rows"] if row["quantity"].startswith(prefix))


def _rejected(results: dict) -> dict:
    return next(row for row in results["moments"]["rows"] if "rejected" in row["latex"])


def _worst_depth(depth: dict) -> float:
    return max(curve["max_abs_z_score"] for curve in depth["curves"])


def _checks_a(results: dict) -> str:
    return (
        "mean "
        + _check(_moment(results, "(a) pre-activation mean"))
        + ", variance "
        + _check(_moment(results, "(a) pre-activation variance"))
    )


def _check(row: dict) -> str:
    """ "3 ± 0.0097 against 3 (z = 0.015, within 3 s.e.)": a Monte Carlo check in words."""
    within = abs(row["z_score"]) <= CHECK_STANDARD_ERRORS
    return (
        f"{plus_minus(row['monte_carlo'], row['standard_error'])} against {fmt(row['theory'])} "
        f"(z = {fmt(row['z_score'], 2)}, "
        + (f"within {fmt(CHECK_STANDARD_ERRORS)} s.e.)" if within else "**outside 3 s.e.**)")
    )


def _depth_extremes(depth: dict) -> str:
    parts = [
        f"c = {fmt(curve['gain'])}: {fmt(curve['theory_second_moment'][-1], 2)}"
        for curve in depth["curves"]
        if curve["gain"] != 1.0
    ]
    return f"after {depth['depth']} layers " + ", ".join(parts)


def _smoothness_answer(results: dict) -> str:
    """The answer to (e) from the sized tanh trend, plain text with its size and floor."""
    trend = results["smoothness_trends"]["tanh"]
    relu = results["smoothness_trends"]["relu_fixed_bias"]
    if trend["verdict"] == verdicts.EFFECT:
        head = _DIRECTION[trend["direction"]].capitalize()
    else:
        head = "No trend in σ² is established"
    return (
        f"{head} (tanh): the roughness changes by a factor of {fmt(trend['fold'])} from σ² = "
        f"{fmt(trend['from_weight_var'])} to {fmt(trend['to_weight_var'])} (floor a factor of "
        f"{fmt(trend['floor_factor'])}). ReLU with one σ is unchanged (scale only); with the "
        f"bias variance fixed, its roughness changes by a factor of {fmt(relu['fold'])} as "
        "σ_w² grows" + ("" if relu["verdict"] == verdicts.EFFECT else f" ({relu['verdict']})")
    )


def answers(results: dict) -> list[dict]:
    """One row per part of exercise 3, each formula with its Monte Carlo check."""
    depth = results["depth"]
    wrong = _rejected(results)
    rows = [
        (
            "Ex 3(a)",
            "What are the mean and variance of the pre-activation?",
            "E[z] = 0 and Var[z] = Mσ² (cross terms vanish); Monte Carlo "
            + _checks_a(results)
            + ".",
            None,
        ),
        (
            "Ex 3(b)",
            "What is the second moment after the ReLU?",
            "E[h²] = Mσ²/2 (z is symmetric, so ReLU keeps half of E[z²]); Monte Carlo "
            + _check(_moment(results, "(b) ReLU second moment"))
            + ".",
            None,
        ),
        (
            "Ex 3(c)",
            "What are the mean and variance of the second layer's pre-activation?",
            "E[z⁽²⁾] = 0 and Var[z⁽²⁾] = Mσ₂²·E[h²] = Mσ₂²·Mσ²/2 (the second moment, not Var[h]); "
            "Monte Carlo " + _check(_moment(results, "(c) second-layer variance")) + "; the "
            f"Var[h] guess {fmt(wrong['theory'])} is off by z = {fmt(wrong['z_score'], 3)}.",
            None,
        ),
        (
            "Ex 3(d)",
            "Which σ² preserves the variance, and what happens below and above it?",
            f"σ² = 2/M (c = σ²M/2 = 1; {fmt(depth['he_weight_var'])} at M = {depth['width']}); "
            "E[h_K²] = c^K vanishes below and explodes above: "
            + _depth_extremes(depth)
            + f"; Monte Carlo within |z| ≤ {fmt(_worst_depth(depth), 2)} of c^k.",
            "init_depth.png",
        ),
        (
            "Ex 3(e)",
            "Does larger or smaller σ² give smoother initial functions?",
            _smoothness_answer(results) + ".",
            "init_smoothness.png",
        ),
    ]
    return [
        {"item": item, "question": question, "answer": answer, "figure": figure}
        for item, question, answer, figure in rows
    ]


def markdown(results: dict) -> str:
    """Each part's answer (the formula) with its check, then figures, tables, derivations."""
    lines = [*_moment_parts(results), *_depth_part(results["depth"]), *_smoothness_part(results)]
    return "\n\n".join(lines) + "\n"


def _moment_parts(results: dict) -> list[str]:
    """Parts (a)–(c): the moments of one layer, each against its Monte Carlo check."""
    moments = results["moments"]
    setup = (
        f"Checks at $M$ = {fmt(moments['fan_in'])}, $\\sigma^2$ = {fmt(moments['weight_var'])}, "
        f"$\\sigma_2^2$ = {fmt(moments['output_weight_var'])}: Monte Carlo ± standard error "
        "against the closed form, z = (Monte Carlo − theory) / s.e."
    )
    wrong = _rejected(results)
    return [
        _SETUP + " " + setup,
        "### (a) Pre-activation",
        _FORMULAS["a"],
        "Monte Carlo: " + _checks_a(results) + ".",
        details("Derivation", _DERIVATION["a"]),
        "### (b) After ReLU",
        _FORMULAS["b"],
        "Monte Carlo: " + _check(_moment(results, "(b) ReLU second moment")) + ".",
        details("Derivation, and the mean and variance of h", _DERIVATION["b"]),
        "### (c) Second layer",
        _FORMULAS["c"],
        "Monte Carlo: variance "
        + _check(_moment(results, "(c) second-layer variance"))
        + f"; the guess with $\\operatorname{{Var}}[h]$ instead of $\\mathbb E[h^2]$ "
        f"({fmt(wrong['theory'], 4)}) is rejected at z = {fmt(wrong['z_score'], 3)}.",
        details("Derivation", _DERIVATION["c"]),
        "### Monte Carlo against the closed forms",
        table(
            ["quantity", "closed form", "theory", "Monte Carlo", "std. error", "z", "draws"],
            [
                [
                    row["quantity"],
                    f"${row['latex']}$",
                    fmt(row["theory"], 4),
                    fmt(row["monte_carlo"], 4),
                    fmt(row["standard_error"], 4),
                    row["z_score"],
                    row["num_draws"],
                ]
                for row in moments["rows"]
            ],
        ),
    ]


def _depth_part(depth: dict) -> list[str]:
    """Part (d): the variance-preserving σ² and the second moment against depth."""
    lines = [
        "### (d) Variance-preserving $\\sigma^2$",
        _FORMULAS["d"],
        "Below $2/M$ the signal (and the gradient) vanishes like $c^K$, above it explodes: "
        + _depth_extremes(depth).replace("c = ", "$c$ = ")
        + f". Measured in a ReLU stack of width {fmt(depth['width'])} "
        f"({fmt(depth['num_draws'])} networks per $c$), every layer lies within |z| ≤ "
        f"{fmt(_worst_depth(depth), 2)} of $c^k$.",
        "![Second moment against depth](init_depth.png)",
    ]
    shown_layers = sorted(
        {0, 1, 5, 10, 15, 20, 25, depth["depth"]} & set(range(depth["depth"] + 1))
    )
    lines += [
        table(
            ["$c$", "$\\sigma^2$", *(f"$k = {k}$" for k in shown_layers), "max abs z"],
            [
                [
                    fmt(curve["gain"]),
                    fmt(curve["weight_var"], 4),
                    *(
                        f"{plus_minus(curve['second_moment'][k], curve['standard_error'][k], 4)} "
                        f"(th. {fmt(curve['theory_second_moment'][k], 4)})"
                        for k in shown_layers
                    ),
                    curve["max_abs_z_score"],
                ]
                for curve in depth["curves"]
            ],
        ),
        details("Derivation", _DERIVATION["d"] + " Each cell: Monte Carlo ± s.e. (theory $c^k$)."),
    ]
    return lines


def _smoothness_part(results: dict) -> list[str]:
    """Part (e): the roughness of the initial function against σ², tanh and ReLU."""
    smooth = results["smoothness"]
    return [
        "### (e) Smoothness of the initial function",
        "**{}**: the roughness{}".format(*results["conclusion"].split(": the roughness", 1)),
        "![Initial functions and roughness](init_smoothness.png)",
        table(
            [
                "$\\sigma^2$",
                "tanh roughness",
                "small-$\\sigma$ theory",
                "ReLU roughness",
                f"ReLU, $\\beta^2$ = {fmt(smooth['relu_bias_var'])}",
                "tanh $\\sqrt{\\mathbb E a_3^2/\\mathbb E a_1^2}$",
                "kinks in range (MC / theory)",
            ],
            [
                [
                    fmt(weight_var),
                    plus_minus(smooth["tanh_roughness"][i], smooth["tanh_roughness_se"][i], 4),
                    fmt(smooth["tanh_roughness_small_var_theory"][i], 4),
                    fmt(smooth["relu_roughness"][i], 4),
                    plus_minus(
                        smooth["relu_fixed_bias_roughness"][i],
                        smooth["relu_fixed_bias_roughness_se"][i],
                        4,
                    ),
                    fmt(smooth["tanh_taylor_ratio"][i], 4),
                    f"{fmt(smooth['relu_kink_fraction'][i])} / "
                    f"{fmt(smooth['relu_kink_fraction_theory'][i])}",
                ]
                for i, weight_var in enumerate(smooth["weight_vars"])
            ],
        ),
        details(
            "Derivation, and how it was measured",
            _DERIVATION["e"] + "\n\nRoughness is the pooled ratio "
            "$\\mathbb E\\,\\overline{(\\Delta^2 f/h^2)^2}\\,/\\,\\mathbb E\\,\\mathrm{Var}_x f$ "
            f"over {fmt(smooth['num_functions'])} nets of width {fmt(smooth['width'])} on a grid "
            f"of {fmt(smooth['grid_points'])} points in [−{fmt(smooth['input_range'])}, "
            f"{fmt(smooth['input_range'])}] (float64); it is invariant to the function's scale. "
            "A trend is the log of the fold change from the smallest to the largest σ², tested "
            "with its delta-method standard error (two-sided; "
            + ", ".join(
                f"{name}: p = {fmt(results['smoothness_trends'][key]['p'], 2)}"
                for key, name in (("tanh", "tanh"), ("relu_fixed_bias", "ReLU, fixed bias"))
            )
            + f"); it is named only when also at least a factor of {fmt(TREND_FLOOR_FACTOR)}: "
            + results["smoothness_trends"]["floor_reason"]
            + ".",
        ),
    ]


def summary(results: dict) -> list[str]:
    """Worst z-scores of (a)–(d) and the sized smoothness trend of (e)."""
    rows = results["moments"]["rows"]
    checks = [row for row in rows if "rejected" not in row["latex"]]
    rejected = [row for row in rows if "rejected" in row["latex"]]
    worst = max(abs(row["z_score"]) for row in checks)
    depth = results["depth"]
    smooth = results["smoothness"]
    trend = results["smoothness_trends"]["tanh"]
    return [
        f"(a)–(c): largest |z| of {len(checks)} closed forms {fmt(worst)}"
        + "".join(f"; the rejected guess at z = {fmt(row['z_score'])}" for row in rejected),
        f"(d) depth {depth['depth']}: largest |z| over layers and gains "
        f"{', '.join(fmt(curve['gain']) for curve in depth['curves'])}: {fmt(_worst_depth(depth))}",
        f"(e) tanh roughness {fmt(smooth['tanh_roughness'][0])} → "
        f"{fmt(smooth['tanh_roughness'][-1])} as σ² goes {fmt(smooth['weight_vars'][0])} → "
        f"{fmt(smooth['weight_vars'][-1])} ({trend['verdict']}, floor a factor of "
        f"{fmt(trend['floor_factor'])}); ReLU at a common σ: {fmt(smooth['relu_roughness'][0])}"
        f" → {fmt(smooth['relu_roughness'][-1])}",
    ]
