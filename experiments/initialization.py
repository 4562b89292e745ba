"""Exercise 3: initialization theory against Monte Carlo, depth propagation, initial smoothness.

    python experiments/initialization.py [--quick] [--full] [--seed N] [--out DIR] [--no-plot]

Writes into ``--out`` (default ``figures``): ``init_moments.json`` (theory against Monte Carlo
with standard errors for (a)–(c), the depth table, the smoothness measurements and a conclusion
chosen from them), ``init_moments.md`` (the derivations and tables, for REPORT.md),
``init_depth.png`` and ``init_smoothness.png``. The logic lives in ``jaxnn.init_theory``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import init_theory as theory
from jaxnn.cli import make_parser, run_main
from jaxnn.io import ensure_writable_dir, run_record, write_json, write_text


@dataclasses.dataclass(frozen=True, kw_only=True)
class InitializationConfig:
    """What one run of the study computes.

    Attributes:
        seed: master seed; every stream is split from ``jax.random.key(seed)``.
        fan_in: M, inputs per neuron in (a)–(c), and first-layer width in (c).
        weight_var: σ² of the first-layer weights in (a)–(c).
        output_weight_var: σ₂² of the second-layer weights in (c).
        num_draws: independent neurons drawn for (a) and (b).
        second_layer_draws: independent two-layer draws for (c) (each costs M² normals).
        depth: K, layers of the deep ReLU stack in (d).
        depth_width: M of the deep stack (input dimension too).
        depth_draws: independent networks per gain in (d).
        depth_gains: c in σ² = c·2/M; c = 1 is He et al. (2015).
        net_width: hidden units of the scalar net in (e).
        num_functions: independent nets per σ² in (e).
        grid_points: points of the uniform grid on [-input_range, input_range].
        input_range: L, half-width of the input interval.
        smoothness_vars: σ² swept in (e), increasing.
        example_vars: σ² of the example-function panels (small, medium, large).
        examples_per_panel: functions drawn per example panel.
        relu_bias_var: β² held fixed in the ReLU series that varies the weight variance only.
    """

    seed: int = 0
    fan_in: int = 100
    weight_var: float = 0.03
    output_weight_var: float = 0.03
    num_draws: int = 200_000
    second_layer_draws: int = 8_000
    depth: int = 30
    depth_width: int = 100
    depth_draws: int = 600
    depth_gains: tuple[float, ...] = (0.5, 1.0, 2.0)
    net_width: int = 100
    num_functions: int = 400
    grid_points: int = 401
    input_range: float = 1.0
    smoothness_vars: tuple[float, ...] = (0.01, 0.0316, 0.1, 0.316, 1.0, 3.16, 10.0, 31.6, 100.0)
    example_vars: tuple[float, ...] = (0.1, 1.0, 100.0)
    examples_per_panel: int = 6
    relu_bias_var: float = 1.0

    def __post_init__(self):
        for name in ("seed",):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        for name in (
            "fan_in", "num_draws", "second_layer_draws", "depth", "depth_width", "depth_draws",
            "net_width", "num_functions", "examples_per_panel",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        # a second difference needs 3 points; 5 keeps the variance over the grid meaningful
        if isinstance(self.grid_points, bool) or not isinstance(self.grid_points, int) or (
            self.grid_points < 5
        ):
            raise ValueError(f"grid_points must be an integer >= 5, got {self.grid_points!r}")
        for name in ("weight_var", "output_weight_var", "input_range", "relu_bias_var"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        for name in ("depth_gains", "smoothness_vars", "example_vars"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not values or not all(
                isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values
            ):
                raise ValueError(f"{name} must be a non-empty tuple of numbers > 0, got {values!r}")
        if len(self.smoothness_vars) < 2 or any(
            b <= a for a, b in zip(self.smoothness_vars, self.smoothness_vars[1:])
        ):
            raise ValueError(
                f"smoothness_vars must increase and have at least two entries, "
                f"got {self.smoothness_vars!r}"
            )


# sizes equal to those of tests/test_init_theory.py where that is natural anyway, so the smoke
# test reuses compiled programs (compilation, not sampling, dominates a quick run)
QUICK = dict(
    num_draws=20_000,
    second_layer_draws=1_000,
    depth_width=64,
    depth_draws=500,
    net_width=50,
    num_functions=200,
    grid_points=201,
    smoothness_vars=(0.01, 0.1, 1.0, 10.0, 100.0),
    examples_per_panel=4,
)
FULL = dict(
    num_draws=2_000_000,
    second_layer_draws=100_000,
    depth_width=256,
    depth_draws=4_000,
    num_functions=4_000,
    grid_points=801,
)


# ---------------------------------------------------------------------------- computations


def _row(quantity, latex, theory_value, samples_and_se, num_draws):
    estimate, standard_error = samples_and_se
    return {
        "quantity": quantity,
        "latex": latex,
        "theory": theory_value,
        "monte_carlo": estimate,
        "standard_error": standard_error,
        "z_score": (estimate - theory_value) / standard_error,
        "num_draws": num_draws,
    }


def measure_moments(config: InitializationConfig, key_first, key_second) -> dict:
    """(a)–(c): closed forms against sample estimates, each with its standard error."""
    variance, fan_in = config.weight_var, config.fan_in
    preactivations = theory.sample_preactivations(
        key_first, weight_var=variance, fan_in=fan_in, num_draws=config.num_draws
    )
    # on the host: the estimators run in float64 NumPy anyway
    relu_outputs = np.maximum(np.asarray(preactivations), 0.0)
    second_layer = theory.sample_second_layer(
        key_second, weight_var=variance, output_weight_var=config.output_weight_var,
        fan_in=fan_in, width=fan_in, num_draws=config.second_layer_draws,
    )
    wrong_second_layer_var = fan_in * config.output_weight_var * theory.relu_var(variance, fan_in)
    n_first, n_second = config.num_draws, config.second_layer_draws
    rows = [
        _row("(a) pre-activation mean", r"\mathbb E[z] = 0",
             theory.preactivation_mean(variance, fan_in),
             theory.mean_and_standard_error(preactivations), n_first),
        _row("(a) pre-activation variance", r"\operatorname{Var}[z] = M\sigma^2",
             theory.preactivation_var(variance, fan_in),
             theory.variance_and_standard_error(preactivations), n_first),
        _row("(b) ReLU second moment", r"\mathbb E[h^2] = M\sigma^2/2",
             theory.relu_second_moment(variance, fan_in),
             theory.second_moment_and_standard_error(relu_outputs), n_first),
        _row("(b) ReLU mean (exact)",
             r"\mathbb E[h] = \sigma\,\Gamma(\tfrac{M+1}{2})/(\sqrt\pi\,\Gamma(\tfrac M2))",
             theory.relu_mean(variance, fan_in),
             theory.mean_and_standard_error(relu_outputs), n_first),
        _row("(b) ReLU mean (large-M)", r"\mathbb E[h] \approx \sigma\sqrt{M}/\sqrt{2\pi}",
             theory.relu_mean_large_width(variance, fan_in),
             theory.mean_and_standard_error(relu_outputs), n_first),
        _row("(b) ReLU variance", r"\operatorname{Var}[h] = M\sigma^2/2 - \mathbb E[h]^2",
             theory.relu_var(variance, fan_in),
             theory.variance_and_standard_error(relu_outputs), n_first),
        _row("(c) second-layer mean", r"\mathbb E[z^{(2)}] = 0",
             theory.second_layer_mean(variance, config.output_weight_var, fan_in, fan_in),
             theory.mean_and_standard_error(second_layer), n_second),
        _row("(c) second-layer variance",
             r"\operatorname{Var}[z^{(2)}] = M\sigma_2^2\,\mathbb E[h^2]",
             theory.second_layer_var(variance, config.output_weight_var, fan_in, fan_in),
             theory.variance_and_standard_error(second_layer), n_second),
        _row("(c) wrong: variance instead of second moment",
             r"M\sigma_2^2\,\operatorname{Var}[h]\ \text{(rejected)}",
             wrong_second_layer_var,
             theory.variance_and_standard_error(second_layer), n_second),
    ]
    return {
        "fan_in": fan_in,
        "weight_var": variance,
        "output_weight_var": config.output_weight_var,
        "rows": rows,
    }


def measure_depth(config: InitializationConfig, key_depth) -> dict:
    """(d): per-layer second moment of deep ReLU stacks at σ² = c·2/M against c^k."""
    curves = []
    for index, gain in enumerate(config.depth_gains):
        weight_var = gain * theory.he_weight_var(config.depth_width)
        samples = theory.sample_depth_second_moments(
            jax.random.fold_in(key_depth, index), weight_var=weight_var,
            width=config.depth_width, depth=config.depth, num_draws=config.depth_draws,
        )
        samples = np.asarray(samples, dtype=np.float64)
        estimate = samples.mean(axis=0)
        standard_error = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
        predicted = theory.depth_second_moments(weight_var, config.depth_width, config.depth)
        # layer 0 is the input itself; its z-score is a check of the input draw only
        z_scores = (estimate - predicted) / standard_error
        curves.append({
            "gain": float(gain),
            "weight_var": weight_var,
            "layer": np.arange(config.depth + 1),
            "theory_second_moment": predicted,
            "second_moment": estimate,
            "standard_error": standard_error,
            "z_score": z_scores,
            "max_abs_z_score": float(np.max(np.abs(z_scores))),
        })
    return {
        "width": config.depth_width,
        "depth": config.depth,
        "num_draws": config.depth_draws,
        "he_weight_var": theory.he_weight_var(config.depth_width),
        "curves": curves,
    }


def _pooled_roughness(key, inputs, spacing, config, activation_fn, weight_var, bias_var=None):
    values = theory.sample_initial_functions(
        key, inputs, activation_fn=activation_fn, width=config.net_width,
        num_functions=config.num_functions, weight_var=weight_var, bias_var=bias_var,
    )
    curvature_sq, spread_sq = theory.roughness_terms(values, spacing)
    return theory.ratio_of_means(curvature_sq, spread_sq)


def measure_smoothness(config: InitializationConfig, key_smooth, key_examples) -> tuple[dict, dict]:
    """(e): roughness and Taylor ratio against σ², kink fractions, and example functions."""
    # float64: for small σ² the second difference of a nearly linear f cancels to ~σ²h²
    # relative, below float32 resolution
    with jax.enable_x64(True):
        grid = np.linspace(-config.input_range, config.input_range, config.grid_points)
        spacing = float(grid[1] - grid[0])
        inputs = jnp.asarray(grid)
        table = {key: [] for key in (
            "tanh_roughness", "tanh_roughness_se", "relu_roughness", "relu_roughness_se",
            "relu_fixed_bias_roughness", "relu_fixed_bias_roughness_se",
            "tanh_taylor_ratio", "tanh_taylor_ratio_se", "relu_kink_fraction",
            "relu_kink_fraction_se",
        )}
        # one key for every σ²: the same standard normals rescaled (common random numbers),
        # so differences between σ² are not sampling noise
        for weight_var in config.smoothness_vars:
            for name, activation_fn, bias_var in (
                ("tanh_roughness", jnp.tanh, None),
                ("relu_roughness", jax.nn.relu, None),
                ("relu_fixed_bias_roughness", jax.nn.relu, config.relu_bias_var),
            ):
                value, standard_error = _pooled_roughness(
                    key_smooth, inputs, spacing, config, activation_fn, weight_var, bias_var
                )
                table[name].append(value)
                table[f"{name}_se"].append(standard_error)
            coefficients = np.asarray(theory.sample_taylor_coefficients(
                key_smooth, activation_fn=jnp.tanh, width=config.net_width,
                num_functions=config.num_functions, weight_var=weight_var, order=3,
                dtype=jnp.float64,
            ))
            ratio_sq, ratio_sq_se = theory.ratio_of_means(
                coefficients[:, 3] ** 2, coefficients[:, 1] ** 2
            )
            table["tanh_taylor_ratio"].append(math.sqrt(ratio_sq))
            # delta method for the square root
            table["tanh_taylor_ratio_se"].append(ratio_sq_se / (2 * math.sqrt(ratio_sq)))
            fractions = theory.sample_kink_fractions(
                key_smooth, width=config.net_width, num_functions=config.num_functions,
                weight_var=weight_var, bias_var=config.relu_bias_var,
                input_range=config.input_range,
            )
            fraction, fraction_se = theory.mean_and_standard_error(fractions)
            table["relu_kink_fraction"].append(fraction)
            table["relu_kink_fraction_se"].append(fraction_se)

        examples = {"inputs": np.asarray(inputs), "weight_vars": list(config.example_vars)}
        for name, activation_fn in (("tanh", jnp.tanh), ("relu", jax.nn.relu)):
            # drawn at the sweep's num_functions and sliced: the same compiled program, no
            # recompilation for a different static size
            examples[name] = np.stack([
                np.asarray(theory.sample_initial_functions(
                    key_examples, inputs, activation_fn=activation_fn, width=config.net_width,
                    num_functions=config.num_functions, weight_var=weight_var,
                )[: config.examples_per_panel])
                for weight_var in config.example_vars
            ])

    smoothness = {
        "width": config.net_width,
        "input_range": config.input_range,
        "grid_points": config.grid_points,
        "num_functions": config.num_functions,
        "relu_bias_var": config.relu_bias_var,
        "weight_vars": list(config.smoothness_vars),
        **table,
        "tanh_roughness_small_var_theory": [
            theory.tanh_roughness_small_var(v, input_range=config.input_range)
            for v in config.smoothness_vars
        ],
        "tanh_taylor_ratio_small_var_theory": [
            theory.tanh_taylor_ratio_small_var(v) for v in config.smoothness_vars
        ],
        "relu_kink_fraction_theory": [
            theory.relu_kink_fraction(v, config.relu_bias_var, config.input_range)
            for v in config.smoothness_vars
        ],
    }
    return smoothness, examples


# ---------------------------------------------------------------------------- Markdown


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def render_markdown(results: dict) -> str:
    """The derivations step by step and the measured tables, for inclusion in REPORT.md."""
    moments, depth, smooth = results["moments"], results["depth"], results["smoothness"]
    lines = [
        "## Initialization (exercise 3)",
        "",
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
        "$c^K$; well above, it explodes like $c^K$: after 30 layers $c = 1/2$ gives "
        f"$2^{{-30}} \\approx {0.5 ** 30:.1e}$ and $c = 2$ gives "
        f"$2^{{30}} \\approx {2.0 ** 30:.1e}$.",
        "",
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
        "",
        "Roughness is measured as the pooled ratio "
        "$\\mathbb E\\,\\overline{(\\Delta^2 f/h^2)^2}\\,/"
        "\\,\\mathbb E\\,\\mathrm{Var}_x f$ over "
        f"{smooth['num_functions']} nets of width {smooth['width']} on a grid of "
        f"{smooth['grid_points']} points in $[-{smooth['input_range']:g}, "
        f"{smooth['input_range']:g}]$ (float64); it is invariant to the function's scale.",
        "",
        "### Monte Carlo against the closed forms",
        "",
        f"$M = {moments['fan_in']}$, $\\sigma^2 = {moments['weight_var']:g}$, "
        f"$\\sigma_2^2 = {moments['output_weight_var']:g}$. The z-score is "
        "(Monte Carlo − theory) / standard error.",
        "",
        "| quantity | closed form | theory | Monte Carlo | std. error | z | draws |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in moments["rows"]:
        lines.append(
            f"| {row['quantity']} | ${row['latex']}$ | {_fmt(row['theory'])} | "
            f"{_fmt(row['monte_carlo'])} | {_fmt(row['standard_error'])} | "
            f"{row['z_score']:+.2f} | {row['num_draws']} |"
        )
    shown_layers = sorted(
        {0, 1, 5, 10, 15, 20, 25, depth["depth"]} & set(range(depth["depth"] + 1))
    )
    lines += [
        "",
        f"### Depth: $\\mathbb E[h_k^2]$ in a ReLU stack of width {depth['width']} "
        f"({depth['num_draws']} networks per $c$)",
        "",
        "| $c$ | $\\sigma^2$ | " + " | ".join(f"$k = {k}$" for k in shown_layers)
        + " | max abs z |",
        "|---|---|" + "---:|" * (len(shown_layers) + 1),
    ]
    for curve in depth["curves"]:
        cells = [
            f"{_fmt(curve['second_moment'][k])} ± {_fmt(curve['standard_error'][k])} "
            f"(th. {_fmt(curve['theory_second_moment'][k])})"
            for k in shown_layers
        ]
        lines.append(
            f"| {curve['gain']:g} | {curve['weight_var']:.4g} | " + " | ".join(cells)
            + f" | {curve['max_abs_z_score']:.2f} |"
        )
    lines += [
        "",
        "### Smoothness against $\\sigma^2$",
        "",
        "| $\\sigma^2$ | tanh roughness | small-$\\sigma$ theory | ReLU roughness | "
        f"ReLU, $\\beta^2 = {smooth['relu_bias_var']:g}$ | "
        "tanh $\\sqrt{\\mathbb E a_3^2/\\mathbb E a_1^2}$ | "
        "kinks in range (MC / theory) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, weight_var in enumerate(smooth["weight_vars"]):
        lines.append(
            f"| {weight_var:g} | {_fmt(smooth['tanh_roughness'][i])} ± "
            f"{_fmt(smooth['tanh_roughness_se'][i])} | "
            f"{_fmt(smooth['tanh_roughness_small_var_theory'][i])} | "
            f"{_fmt(smooth['relu_roughness'][i])} | "
            f"{_fmt(smooth['relu_fixed_bias_roughness'][i])} ± "
            f"{_fmt(smooth['relu_fixed_bias_roughness_se'][i])} | "
            f"{_fmt(smooth['tanh_taylor_ratio'][i])} | "
            f"{smooth['relu_kink_fraction'][i]:.3f} / "
            f"{smooth['relu_kink_fraction_theory'][i]:.3f} |"
        )
    lines += [
        "",
        f"**Conclusion (from the measurements).** {results['conclusion']}",
        "",
        "![Second moment against depth](init_depth.png)",
        "",
        "![Initial functions and roughness](init_smoothness.png)",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> dict:
    """Runs the study; returns the results written to ``init_moments.json``."""
    parser = make_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL if args.full else {}
    config = InitializationConfig(seed=args.seed, **sizes)
    out = ensure_writable_dir(args.out, name="out")

    key = jax.random.key(config.seed)
    key_first, key_second, key_depth, key_smooth, key_examples = jax.random.split(key, 5)
    moments = measure_moments(config, key_first, key_second)
    depth = measure_depth(config, key_depth)
    smoothness, examples = measure_smoothness(config, key_smooth, key_examples)
    conclusion = theory.smoothness_conclusion(
        smoothness["weight_vars"], smoothness["tanh_roughness"], smoothness["relu_roughness"],
        smoothness["relu_fixed_bias_roughness"], relu_bias_var=config.relu_bias_var,
    )
    results = {
        "run": run_record(config, seed=config.seed, argv=argv),
        "moments": moments,
        "depth": depth,
        "smoothness": smoothness,
        "conclusion": conclusion,
    }
    write_json(Path(out) / "init_moments.json", results)
    write_text(Path(out) / "init_moments.md", render_markdown(results))
    if not args.no_plot:
        from jaxnn.plotting.init_theory import plot_depth, plot_smoothness

        plot_depth(depth, Path(out) / "init_depth.png")
        plot_smoothness(smoothness, examples, Path(out) / "init_smoothness.png")
    if not args.quiet:
        print(conclusion)
    return results


if __name__ == "__main__":
    run_main(main)
