r"""Exercise 3: initialization theory against Monte Carlo, depth propagation, initial smoothness.

(a)–(c) compare the closed forms of ``jaxnn.init_theory`` for a neuron with $M$ inputs,
weights $\mathcal N(0, \sigma^2)$ and a ReLU (pre-activation moments, $\mathbb E[h^2] =
M\sigma^2/2$, the second layer's $\operatorname{Var}[z^{(2)}] = M\sigma_2^2\,\mathbb E[h^2]$)
with sample estimates and their standard errors; (d) propagates unit-variance inputs through
deep ReLU stacks at $\sigma^2 = c\cdot 2/M$ against $\mathbb E[h_k^2] = c^k$ (He et al.
2015); (e) measures how rough the initial function $f(x) = \sum_m v_m\psi(w_m x + b_m)$ is
against $\sigma^2$ for tanh and ReLU, and writes the conclusion the numbers support.

Every draw comes from ``jax.random.key(seed)`` split into named streams; the samplers'
matmuls are pinned to ``matmul_precision`` (exact float32 by default); (e) runs in float64.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import init_theory as theory
from jaxnn import precision
from jaxnn.formatting import fmt, plus_minus, table
from jaxnn.studies import NoProgress, Progress

MAX_SEED = 2**31 - 1
# The largest array a sampler materializes (draws × its per-draw size) must stay below this
# many elements: 1e9 float32 is 4 GB, the size of FULL's second layer on an accelerator.
MAX_ELEMENTS = 10**9
# Variances outside [1e-12, 1e12] underflow or overflow the float32 draws' squares.
MIN_VAR, MAX_VAR = 1e-12, 1e12
# c^k with |k log2 c| <= 100 stays inside float32 (2^±126), fluctuations included.
MAX_DEPTH_EXPONENT = 100.0
# Example curves are stored on at most this many grid points, rounded to 5 significant digits:
# they are drawn for the figure, not measured.
EXAMPLE_POINTS = 201
EXAMPLE_DIGITS = 5


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
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
        matmul_precision: float32 matmul precision of the samplers (``jaxnn.precision``).
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
    matmul_precision: str = precision.DEFAULT

    def __post_init__(self):
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not (0 <= self.seed <= MAX_SEED)
        ):
            raise ValueError(f"seed: must be an integer in 0..{MAX_SEED}, got {self.seed!r}")
        # sizes >= 1; draw counts >= 2, since a standard error needs two draws
        for name, minimum in (
            ("fan_in", 1),
            ("depth", 1),
            ("depth_width", 1),
            ("net_width", 1),
            ("examples_per_panel", 1),
            ("num_draws", 2),
            ("second_layer_draws", 2),
            ("depth_draws", 2),
            ("num_functions", 2),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
        # a second difference needs 3 points; 5 keeps the variance over the grid meaningful
        if (
            isinstance(self.grid_points, bool)
            or not isinstance(self.grid_points, int)
            or (self.grid_points < 5)
        ):
            raise ValueError(f"grid_points: must be an integer >= 5, got {self.grid_points!r}")
        for name in ("weight_var", "output_weight_var", "relu_bias_var"):
            _check_variance(name, getattr(self, name))
        if not (
            isinstance(self.input_range, (int, float))
            and math.isfinite(self.input_range)
            and 0 < self.input_range <= 1e6
        ):
            raise ValueError(f"input_range: must be a number in (0, 1e6], got {self.input_range!r}")
        for name in ("depth_gains", "smoothness_vars", "example_vars"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not values:
                raise ValueError(
                    f"{name}: must be a non-empty tuple of numbers > 0, got {values!r}"
                )
            for value in values:
                _check_variance(name, value)
        if len(self.smoothness_vars) < 2 or any(
            b <= a for a, b in zip(self.smoothness_vars, self.smoothness_vars[1:])
        ):
            raise ValueError(
                f"smoothness_vars: must increase and have at least two entries, "
                f"got {self.smoothness_vars!r}"
            )
        worst = max(self.depth_gains, key=lambda gain: abs(math.log2(gain)))
        if self.depth * abs(math.log2(worst)) > MAX_DEPTH_EXPONENT:
            raise ValueError(
                f"depth: c^depth must stay inside float32 (depth × |log2 c| <= "
                f"{MAX_DEPTH_EXPONENT:g} for every gain c), got depth {self.depth} with c = "
                f"{worst:g}"
            )
        sizes = {
            "num_draws": self.num_draws * self.fan_in,
            "second_layer_draws": self.second_layer_draws * self.fan_in * self.fan_in,
            "depth_draws": self.depth_draws * self.depth_width * self.depth_width,
            "num_functions": self.num_functions * self.grid_points * self.net_width,
        }
        for name, size in sizes.items():
            if size > MAX_ELEMENTS:
                raise ValueError(
                    f"{name}: draws × size per draw = {size:,} elements is more than "
                    f"{MAX_ELEMENTS:,} (memory); use fewer draws or a smaller net"
                )
        precision.check_precision(self.matmul_precision)


def _check_variance(name: str, value) -> None:
    if isinstance(value, bool) or not (
        isinstance(value, (int, float)) and math.isfinite(value) and MIN_VAR <= value <= MAX_VAR
    ):
        raise ValueError(f"{name}: must be a number in [{MIN_VAR:g}, {MAX_VAR:g}], got {value!r}")


# sizes equal to those of tests/test_init_theory.py where that is natural anyway, so the smoke
# test reuses compiled programs (compilation, not sampling, dominates a quick run)
QUICK = Config(
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
FULL = Config(
    num_draws=2_000_000,
    second_layer_draws=100_000,
    depth_width=256,
    depth_draws=4_000,
    num_functions=4_000,
    grid_points=801,
)


# ---------------------------------------------------------------------------- measurements


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


def measure_moments(config: Config, key_first, key_second) -> dict:
    """(a)–(c): closed forms against sample estimates, each with its standard error."""
    variance, fan_in = config.weight_var, config.fan_in
    preactivations = theory.sample_preactivations(
        key_first,
        weight_var=variance,
        fan_in=fan_in,
        num_draws=config.num_draws,
        matmul_precision=config.matmul_precision,
    )
    # on the host: the estimators run in float64 NumPy anyway
    relu_outputs = np.maximum(np.asarray(preactivations), 0.0)
    second_layer = theory.sample_second_layer(
        key_second,
        weight_var=variance,
        output_weight_var=config.output_weight_var,
        fan_in=fan_in,
        width=fan_in,
        num_draws=config.second_layer_draws,
        matmul_precision=config.matmul_precision,
    )
    wrong_second_layer_var = fan_in * config.output_weight_var * theory.relu_var(variance, fan_in)
    n_first, n_second = config.num_draws, config.second_layer_draws
    rows = [
        _row(
            "(a) pre-activation mean",
            r"\mathbb E[z] = 0",
            theory.preactivation_mean(variance, fan_in),
            theory.mean_and_standard_error(preactivations),
            n_first,
        ),
        _row(
            "(a) pre-activation variance",
            r"\operatorname{Var}[z] = M\sigma^2",
            theory.preactivation_var(variance, fan_in),
            theory.variance_and_standard_error(preactivations),
            n_first,
        ),
        _row(
            "(b) ReLU second moment",
            r"\mathbb E[h^2] = M\sigma^2/2",
            theory.relu_second_moment(variance, fan_in),
            theory.second_moment_and_standard_error(relu_outputs),
            n_first,
        ),
        _row(
            "(b) ReLU mean (exact)",
            r"\mathbb E[h] = \sigma\,\Gamma(\tfrac{M+1}{2})/(\sqrt\pi\,\Gamma(\tfrac M2))",
            theory.relu_mean(variance, fan_in),
            theory.mean_and_standard_error(relu_outputs),
            n_first,
        ),
        _row(
            "(b) ReLU mean (large-M)",
            r"\mathbb E[h] \approx \sigma\sqrt{M}/\sqrt{2\pi}",
            theory.relu_mean_large_width(variance, fan_in),
            theory.mean_and_standard_error(relu_outputs),
            n_first,
        ),
        _row(
            "(b) ReLU variance",
            r"\operatorname{Var}[h] = M\sigma^2/2 - \mathbb E[h]^2",
            theory.relu_var(variance, fan_in),
            theory.variance_and_standard_error(relu_outputs),
            n_first,
        ),
        _row(
            "(c) second-layer mean",
            r"\mathbb E[z^{(2)}] = 0",
            theory.second_layer_mean(variance, config.output_weight_var, fan_in, fan_in),
            theory.mean_and_standard_error(second_layer),
            n_second,
        ),
        _row(
            "(c) second-layer variance",
            r"\operatorname{Var}[z^{(2)}] = M\sigma_2^2\,\mathbb E[h^2]",
            theory.second_layer_var(variance, config.output_weight_var, fan_in, fan_in),
            theory.variance_and_standard_error(second_layer),
            n_second,
        ),
        _row(
            "(c) wrong: variance instead of second moment",
            r"M\sigma_2^2\,\operatorname{Var}[h]\ \text{(rejected)}",
            wrong_second_layer_var,
            theory.variance_and_standard_error(second_layer),
            n_second,
        ),
    ]
    return {
        "fan_in": fan_in,
        "weight_var": variance,
        "output_weight_var": config.output_weight_var,
        "rows": rows,
    }


def measure_depth_curve(config: Config, key_depth, index: int, gain: float) -> dict:
    """(d) at one gain: the per-layer second moment of deep ReLU stacks against c^k."""
    weight_var = gain * theory.he_weight_var(config.depth_width)
    samples = theory.sample_depth_second_moments(
        jax.random.fold_in(key_depth, index),
        weight_var=weight_var,
        width=config.depth_width,
        depth=config.depth,
        num_draws=config.depth_draws,
        matmul_precision=config.matmul_precision,
    )
    samples = np.asarray(samples, dtype=np.float64)
    estimate = samples.mean(axis=0)
    standard_error = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    predicted = theory.depth_second_moments(weight_var, config.depth_width, config.depth)
    # layer 0 is the input itself; its z-score is a check of the input draw only
    z_scores = (estimate - predicted) / standard_error
    return {
        "gain": float(gain),
        "weight_var": weight_var,
        "layer": list(range(config.depth + 1)),
        "theory_second_moment": predicted.tolist(),
        "second_moment": estimate.tolist(),
        "standard_error": standard_error.tolist(),
        "z_score": z_scores.tolist(),
        "max_abs_z_score": float(np.max(np.abs(z_scores))),
    }


_SMOOTHNESS_SERIES = (
    "tanh_roughness",
    "tanh_roughness_se",
    "relu_roughness",
    "relu_roughness_se",
    "relu_fixed_bias_roughness",
    "relu_fixed_bias_roughness_se",
    "tanh_taylor_ratio",
    "tanh_taylor_ratio_se",
    "relu_kink_fraction",
    "relu_kink_fraction_se",
)


def measure_smoothness_at(config: Config, key_smooth, inputs, weight_var: float) -> dict:
    """(e) at one σ²: roughness of tanh and ReLU nets, the tanh Taylor ratio, kinks in range.

    Call inside ``jax.enable_x64(True)`` with float64 ``inputs``: for small σ² the second
    difference of a nearly linear f cancels to ~σ²h² relative, below float32 resolution.
    One key for every σ²: the same standard normals rescaled (common random numbers), so
    differences between σ² are not sampling noise.
    """
    point = {}
    for name, activation_fn, bias_var in (
        ("tanh_roughness", jnp.tanh, None),
        ("relu_roughness", jax.nn.relu, None),
        ("relu_fixed_bias_roughness", jax.nn.relu, config.relu_bias_var),
    ):
        point[name], point[f"{name}_se"] = theory.pooled_roughness(
            key_smooth,
            inputs,
            activation_fn=activation_fn,
            width=config.net_width,
            num_functions=config.num_functions,
            weight_var=weight_var,
            bias_var=bias_var,
            matmul_precision=config.matmul_precision,
        )
    coefficients = np.asarray(
        theory.sample_taylor_coefficients(
            key_smooth,
            activation_fn=jnp.tanh,
            width=config.net_width,
            num_functions=config.num_functions,
            weight_var=weight_var,
            order=3,
            dtype=jnp.float64,
        )
    )
    ratio_sq, ratio_sq_se = theory.ratio_of_means(coefficients[:, 3] ** 2, coefficients[:, 1] ** 2)
    point["tanh_taylor_ratio"] = math.sqrt(ratio_sq)
    # delta method for the square root
    point["tanh_taylor_ratio_se"] = ratio_sq_se / (2 * math.sqrt(ratio_sq))
    fractions = theory.sample_kink_fractions(
        key_smooth,
        width=config.net_width,
        num_functions=config.num_functions,
        weight_var=weight_var,
        bias_var=config.relu_bias_var,
        input_range=config.input_range,
    )
    point["relu_kink_fraction"], point["relu_kink_fraction_se"] = theory.mean_and_standard_error(
        fractions
    )
    return point


def _round(values: np.ndarray) -> list:
    return np.vectorize(lambda v: float(f"{v:.{EXAMPLE_DIGITS}g}"))(values).tolist()


def draw_examples(config: Config, key_examples, inputs) -> dict:
    """Example initial functions for the figure: ``tanh``/``relu`` as ``f[var, function, point]``.

    Drawn at the sweep's ``num_functions`` and sliced, so the sampler's compiled program is
    reused; kept on every ``stride``-th grid point (at most ``EXAMPLE_POINTS``).
    """
    stride = max(1, math.ceil((config.grid_points - 1) / (EXAMPLE_POINTS - 1)))
    examples = {
        "inputs": _round(np.asarray(inputs)[::stride]),
        "weight_vars": list(config.example_vars),
    }
    for name, activation_fn in (("tanh", jnp.tanh), ("relu", jax.nn.relu)):
        examples[name] = _round(
            np.stack(
                [
                    np.asarray(
                        theory.sample_initial_functions(
                            key_examples,
                            inputs,
                            activation_fn=activation_fn,
                            width=config.net_width,
                            num_functions=config.num_functions,
                            weight_var=weight_var,
                            matmul_precision=config.matmul_precision,
                        )[: config.examples_per_panel, ::stride]
                    )
                    for weight_var in config.example_vars
                ]
            )
        )
    return examples


def run(config: Config, *, mesh=None, run_dir=None, progress: Progress | None = None) -> dict:
    """Runs (a)–(e); one progress unit per measurement (moments, each gain, each σ², examples).

    ``mesh`` and ``run_dir`` are unused: the whole study takes about a minute on a CPU.

    Returns:
        ``moments`` (rows of theory, Monte Carlo, standard error, z-score), ``depth``
        (``curves[gain]`` with ``second_moment[layer]`` and its theory), ``smoothness``
        (each series ``[weight_var]`` with standard errors and small-σ theory),
        ``examples`` (curves for the figure) and the ``conclusion`` the numbers support.
    """
    progress = progress or NoProgress()
    progress.start(2 + len(config.depth_gains) + len(config.smoothness_vars), "measurement")
    key = jax.random.key(config.seed)
    key_first, key_second, key_depth, key_smooth, key_examples = jax.random.split(key, 5)

    moments = measure_moments(config, key_first, key_second)
    progress(1)
    curves = []
    for index, gain in enumerate(config.depth_gains):
        curves.append(measure_depth_curve(config, key_depth, index, gain))
        progress(1)
    depth = {
        "width": config.depth_width,
        "depth": config.depth,
        "num_draws": config.depth_draws,
        "he_weight_var": theory.he_weight_var(config.depth_width),
        "curves": curves,
    }

    series = {name: [] for name in _SMOOTHNESS_SERIES}
    with jax.enable_x64(True):
        inputs = jnp.asarray(
            np.linspace(-config.input_range, config.input_range, config.grid_points)
        )
        for weight_var in config.smoothness_vars:
            point = measure_smoothness_at(config, key_smooth, inputs, weight_var)
            for name in _SMOOTHNESS_SERIES:
                series[name].append(point[name])
            progress(1)
        examples = draw_examples(config, key_examples, inputs)
        progress(1)
    smoothness = {
        "width": config.net_width,
        "input_range": config.input_range,
        "grid_points": config.grid_points,
        "num_functions": config.num_functions,
        "relu_bias_var": config.relu_bias_var,
        "weight_vars": list(config.smoothness_vars),
        **series,
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
    conclusion = theory.smoothness_conclusion(
        smoothness["weight_vars"],
        smoothness["tanh_roughness"],
        smoothness["relu_roughness"],
        smoothness["relu_fixed_bias_roughness"],
        relu_bias_var=config.relu_bias_var,
    )
    return {
        "moments": moments,
        "depth": depth,
        "smoothness": smoothness,
        "examples": examples,
        "conclusion": conclusion,
    }


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
