r"""Sentences, derivations and Markdown of the initialization study, chosen from its results.

The derivations of (a)–(e) are fixed prose (LaTeX); every number around them is read from
the results of ``initialization.run``: the Monte Carlo table against the closed forms, the
per-layer second moments against :math:`c^k`, the roughness series against :math:`\sigma^2`.
``smoothness_conclusion`` chooses the answer to (e) from the measured trends; ``run`` calls
it, so the conclusion is part of the results. Nothing here draws or measures.
"""

from __future__ import annotations

import numpy as np

from jaxnn.formatting import fmt, plus_minus, table

# ---------------------------------------------------------------------------- conclusion

# The conclusion's wording for each direction of a roughness series (``_trend``).
_TANH_WORDING = {
    "increasing": "smaller sigma^2 gives smoother initial functions; the roughness rises "
    "monotonically {span}.",
    "decreasing": "larger sigma^2 gives smoother initial functions; the roughness falls "
    "monotonically {span}.",
    "not monotone": "no monotone trend in sigma^2; the roughness goes {span}.",
}
_FIXED_BIAS_WORDING = {
    "increasing": "rises with the weight variance {span}: for ReLU the ratio of weight to bias "
    "scale decides smoothness (more kinks -b/w fall inside the input range).",
    "decreasing": "falls with the weight variance {span}.",
    "not monotone": "shows no monotone trend in the weight variance ({span}).",
}


def _trend(values) -> str:
    steps = np.diff(np.asarray(values, dtype=np.float64))
    if np.all(steps > 0):
        return "increasing"
    if np.all(steps < 0):
        return "decreasing"
    return "not monotone"


def smoothness_conclusion(
    weight_vars,
    tanh_roughness,
    relu_roughness,
    relu_fixed_bias_roughness,
    *,
    relu_bias_var: float,
    invariance_rtol: float = 1e-6,
) -> str:
    """Answers "does larger or smaller σ² give smoother functions?" from the numbers.

    The wording is chosen from the numbers: the direction of the tanh trend (monotone or not),
    whether ReLU roughness at a common σ is constant to ``invariance_rtol``, and the direction
    of the ReLU trend when only the weight variance moves.

    Args:
        weight_vars: ``weight_var[i]``, increasing.
        tanh_roughness: ``roughness[i]`` for tanh, weights and biases sharing σ².
        relu_roughness: the same for ReLU.
        relu_fixed_bias_roughness: ReLU with the bias variance held at ``relu_bias_var``.
        relu_bias_var: β² of the last series, for the wording.
        invariance_rtol: relative spread below which ReLU roughness counts as constant.

    Returns:
        One paragraph of plain text.

    Raises:
        ValueError: naming ``weight_vars`` unless it increases with at least two entries.
    """
    weight_vars = np.asarray(weight_vars, dtype=np.float64)
    if weight_vars.ndim != 1 or weight_vars.size < 2 or np.any(np.diff(weight_vars) <= 0):
        raise ValueError("weight_vars must be increasing with at least two entries")

    def span(values) -> str:
        values = np.asarray(values, dtype=np.float64)
        return (
            f"from {values[0]:.3g} at sigma^2 = {weight_vars[0]:.3g} "
            f"to {values[-1]:.3g} at sigma^2 = {weight_vars[-1]:.3g}"
        )

    relu = np.asarray(relu_roughness, dtype=np.float64)
    relu_spread = float(np.ptp(relu) / np.mean(np.abs(relu)))
    if relu_spread <= invariance_rtol:
        relu_text = (
            f"the roughness is the same at every sigma^2 ({relu[0]:.4g}, relative spread "
            f"{relu_spread:.1e}); sigma only rescales the function (positive homogeneity), it "
            "does not smooth it."
        )
    else:
        relu_text = (
            f"the roughness changes with sigma^2 (relative spread {relu_spread:.2g}), "
            f"{_trend(relu)}, {span(relu)}."
        )
    fixed = relu_fixed_bias_roughness
    return " ".join(
        [
            "tanh: " + _TANH_WORDING[_trend(tanh_roughness)].format(span=span(tanh_roughness)),
            "ReLU with the same sigma^2 on weights and biases: " + relu_text,
            f"With the bias variance fixed at {relu_bias_var:g}, ReLU roughness "
            + _FIXED_BIAS_WORDING[_trend(fixed)].format(span=span(fixed)),
        ]
    )


# ---------------------------------------------------------------------------- Markdown

_DERIVATIONS = [
    "A neuron has $M$ inputs $x_m \\sim \\mathcal N(0, 1)$ and weights "
    "$w_m \\sim \\mathcal N(0, \\sigma^2)$, all independent, no bias; "
    "$z = \\sum_{m=1}^M w_m x_m$ and $h = \\max(0, z)$.",
    "",
    "### (a) Pre-activation",
    "",
    "$$\\mathbb E[z] = \\sum_m \\mathbb E[w_m]\\,\\mathbb E[x_m] = 0,$$",
    "$$\\operatorname{Var}[z] = \\mathbb E[z^2] = \\sum_{m,n} \\mathbb E[w_m w_n]\\,"
    "\\mathbb E[x_m x_n] = \\sum_m \\mathbb E[w_m^2]\\,\\mathbb E[x_m^2] = M\\sigma^2,$$",
    "",
    "since the cross terms $m \\ne n$ have $\\mathbb E[w_m w_n] = 0$. Given the weights, "
    "$z \\mid w \\sim \\mathcal N(0, \\lVert w\\rVert^2)$ exactly (a fixed linear map of a "
    "Gaussian vector), so $z$ is symmetric about 0; unconditionally it is a scale mixture of "
    "Gaussians with excess kurtosis $6/M$.",
    "",
    "### (b) After ReLU",
    "",
    "Symmetry of $z$ and $\\Pr[z = 0] = 0$ give, with no integral,",
    "$$\\mathbb E[h^2] = \\mathbb E[z^2\\,\\mathbb 1[z > 0]] = \\tfrac12\\,\\mathbb E[z^2] "
    "= \\frac{M\\sigma^2}{2}.$$",
    "Bonus: given $w$, $\\mathbb E[h \\mid w] = \\lVert w\\rVert "
    "\\int_0^\\infty u\\,\\phi(u)\\,du "
    "= \\lVert w\\rVert/\\sqrt{2\\pi}$, and $\\lVert w\\rVert/\\sigma \\sim \\chi_M$, so",
    "$$\\mathbb E[h] = "
    "\\frac{\\sigma\\,\\Gamma(\\frac{M+1}{2})}{\\sqrt\\pi\\,\\Gamma(\\frac M2)} "
    "\\approx \\frac{\\sigma\\sqrt M}{\\sqrt{2\\pi}}\\Big(1 - \\frac1{4M}\\Big), \\qquad "
    "\\operatorname{Var}[h] = \\frac{M\\sigma^2}{2} - \\mathbb E[h]^2 \\approx "
    "M\\sigma^2\\Big(\\frac12 - \\frac1{2\\pi}\\Big).$$",
    "",
    "### (c) Second layer",
    "",
    "$z^{(2)} = \\sum_{m=1}^M v_m h_m$ with $v_m \\sim \\mathcal N(0, \\sigma_2^2)$ "
    "independent of "
    "the first layer. "
    "$\\mathbb E[z^{(2)}] = \\sum_m \\mathbb E[v_m]\\,\\mathbb E[h_m] = 0$, and",
    "$$\\operatorname{Var}[z^{(2)}] = \\sum_{m,n} \\mathbb E[v_m v_n]\\,\\mathbb E[h_m h_n] "
    "= M\\sigma_2^2\\,\\mathbb E[h^2] = M\\sigma_2^2\\,\\frac{M\\sigma^2}{2}.$$",
    "The $h_m$ are correlated (they share $x$) and have a positive mean, but "
    "$\\mathbb E[v_m v_n] = 0$ for $m \\ne n$ removes every cross term: the **second moment** "
    "$\\mathbb E[h^2]$ enters, not $\\operatorname{Var}[h]$ (the last row of the table shows "
    "the variance-based guess is rejected).",
    "",
    "### (d) Variance-preserving $\\sigma^2$",
    "",
    "Repeating (a)–(c) layer by layer, conditioning on the previous layer, gives "
    "$\\mathbb E[h_k^2] = c\\,\\mathbb E[h_{k-1}^2]$ with the per-layer gain "
    "$c = \\sigma^2 M/2$, exactly at any width; with unit-variance inputs "
    "$\\mathbb E[h_K^2] = c^K$. The second moment is kept when",
    "$$c = 1 \\iff \\sigma^2 = \\frac{2}{M}$$",
    "(He et al. 2015; Glorot & Bengio 2010 derived $2/(M_\\text{in} + M_\\text{out})$ for "
    "activations linear around 0, without the ReLU's factor 1/2). For $\\sigma^2$ well below "
    "$2/M$ the signal (and, by the same argument backwards, the gradient) vanishes like "
    "$c^K$; well above, it explodes like $c^K$.",
]

_SMOOTHNESS_DERIVATION = [
    "### (e) Smoothness of the initial function",
    "",
    "$f(x) = \\sum_{m=1}^M v_m\\,\\psi(w_m x + b_m)$ with $v, w, b \\sim \\mathcal N(0, "
    "\\sigma^2)$. Expanding around $x = 0$,",
    "$$f(x) = \\sum_k a_k x^k, \\qquad a_k = \\frac1{k!}\\sum_m v_m w_m^k\\,\\psi^{(k)}(b_m) "
    "= O(\\sigma^{k+1}),$$",
    "so on a fixed input interval the order-$k$ term shrinks like $\\sigma^{k+1}$: relative "
    "to the linear term, the cubic one scales like $\\sigma^2$ (for tanh, "
    "$\\sqrt{\\mathbb E[a_3^2]/\\mathbb E[a_1^2]} \\to \\sqrt{5/3}\\,\\sigma^2$). Small "
    "$\\sigma^2$ puts every pre-activation in the near-linear part of a smooth $\\psi$, so the "
    "initial function is close to linear; large $\\sigma^2$ gives steep units whose "
    "transitions $x = -b_m/w_m$ have width $\\sim 1/|w_m|$. For tanh, "
    "$\\tanh''(u) \\approx -2u$ gives the small-$\\sigma$ roughness "
    "$\\overline{f''^2}/\\mathrm{Var}_x f \\approx 96\\,\\sigma^4$ on $[-1, 1]$.",
    "",
    "ReLU is positively homogeneous, $\\max(0, \\lambda u) = \\lambda\\max(0, u)$ for "
    "$\\lambda > 0$: scaling all of $v, w, b$ by $\\lambda$ gives $\\lambda^2 f$. With one "
    "$\\sigma$ for weights and biases, $\\sigma$ changes only the scale of the function, "
    "never its shape; the shape depends on the kink positions $-b_m/w_m$, i.e. on the ratio "
    "$\\sigma_w/\\sigma_b$: a fraction $\\tfrac2\\pi\\arctan(L\\sigma_w/\\sigma_b)$ of kinks "
    "lies in $[-L, L]$.",
]


def _depth_sentence(depth: dict) -> str:
    """How far c^K moves from 1 for the gains that are not 1, read from the results."""
    parts = [
        f"$c = {fmt(curve['gain'])}$ gives $c^{{{depth['depth']}}}$ ≈ "
        f"{fmt(curve['theory_second_moment'][-1], 2)}"
        for curve in depth["curves"]
        if curve["gain"] != 1.0
    ]
    if not parts:
        return ""
    return f"After {depth['depth']} layers " + " and ".join(parts) + "."


def markdown(results: dict) -> str:
    """The derivations step by step and the measured tables, for inclusion in REPORT.md."""
    moments, depth, smooth = results["moments"], results["depth"], results["smoothness"]
    lines = [*_DERIVATIONS, "", _depth_sentence(depth), "", *_SMOOTHNESS_DERIVATION, ""]
    lines += [
        "Roughness is measured as the pooled ratio "
        "$\\mathbb E\\,\\overline{(\\Delta^2 f/h^2)^2}\\,/"
        "\\,\\mathbb E\\,\\mathrm{Var}_x f$ over "
        f"{fmt(smooth['num_functions'])} nets of width {fmt(smooth['width'])} on a grid of "
        f"{fmt(smooth['grid_points'])} points in [−{fmt(smooth['input_range'])}, "
        f"{fmt(smooth['input_range'])}] (float64); it is invariant to the function's scale.",
        "",
        "### Monte Carlo against the closed forms",
        "",
        f"$M$ = {fmt(moments['fan_in'])}, $\\sigma^2$ = {fmt(moments['weight_var'])}, "
        f"$\\sigma_2^2$ = {fmt(moments['output_weight_var'])}. The z-score is "
        "(Monte Carlo − theory) / standard error.",
        "",
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
    shown_layers = sorted(
        {0, 1, 5, 10, 15, 20, 25, depth["depth"]} & set(range(depth["depth"] + 1))
    )
    lines += [
        "",
        f"### Depth: $\\mathbb E[h_k^2]$ in a ReLU stack of width {fmt(depth['width'])} "
        f"({fmt(depth['num_draws'])} networks per $c$)",
        "",
        "Each cell: Monte Carlo ± standard error (theory $c^k$).",
        "",
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
        "",
        "### Smoothness against $\\sigma^2$",
        "",
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
        "",
        f"**Conclusion (from the measurements).** {results['conclusion']}",
        "",
        "![Second moment against depth](init_depth.png)",
        "",
        "![Initial functions and roughness](init_smoothness.png)",
        "",
    ]
    return "\n".join(lines)


def summary(results: dict) -> list[str]:
    """Worst z-scores of (a)–(d) and the ends of the tanh roughness curve."""
    rows = results["moments"]["rows"]
    checks = [row for row in rows if "rejected" not in row["latex"]]
    rejected = [row for row in rows if "rejected" in row["latex"]]
    worst = max(abs(row["z_score"]) for row in checks)
    depth = results["depth"]
    worst_depth = max(curve["max_abs_z_score"] for curve in depth["curves"])
    smooth = results["smoothness"]
    lines = [
        f"(a)–(c): largest |z| of {len(checks)} closed forms {fmt(worst)}"
        + "".join(f"; the rejected guess at z = {fmt(row['z_score'])}" for row in rejected),
        f"(d) depth {depth['depth']}: largest |z| over layers and gains "
        f"{', '.join(fmt(curve['gain']) for curve in depth['curves'])}: {fmt(worst_depth)}",
        f"(e) tanh roughness {fmt(smooth['tanh_roughness'][0])} → "
        f"{fmt(smooth['tanh_roughness'][-1])} as σ² goes {fmt(smooth['weight_vars'][0])} → "
        f"{fmt(smooth['weight_vars'][-1])}; ReLU at a common σ: {fmt(smooth['relu_roughness'][0])}"
        f" → {fmt(smooth['relu_roughness'][-1])}",
    ]
    return lines
