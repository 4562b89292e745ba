r"""Exercise 3: initialization theory against Monte Carlo, depth propagation, initial smoothness.

(a)–(c) compare the closed forms of ``jaxnn.init_moments`` for a neuron with $M$ inputs,
weights $\mathcal N(0, \sigma^2)$ and a ReLU (pre-activation moments, $\mathbb E[h^2] =
M\sigma^2/2$, the second layer's $\operatorname{Var}[z^{(2)}] = M\sigma_2^2\,\mathbb E[h^2]$)
with sample estimates and their standard errors; (d) propagates unit-variance inputs through
deep ReLU stacks at $\sigma^2 = c\cdot 2/M$ against $\mathbb E[h_k^2] = c^k$ (He et al.
2015); (e) measures with ``jaxnn.init_smoothness`` how rough the initial function
$f(x) = \sum_m v_m\psi(w_m x + b_m)$ is against $\sigma^2$ for tanh and ReLU, and writes the
conclusion the numbers support. The derivations, as the report shows them, the conclusion's
wording and the Markdown are in ``initialization_text``.

Every draw comes from ``jax.random.key(seed)`` split into named streams; the samplers'
matmuls are pinned to ``matmul_precision`` (exact float32 by default); (e) runs in float64.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import init_moments, init_smoothness, precision, validation
from jaxnn.io import to_jsonable
from jaxnn.stats import seed_summary
from jaxnn.studies import NoProgress, Progress
from jaxnn.studies.initialization_text import (
    answers,
    markdown,
    roughness_trend,
    smoothness_conclusion,
    smoothness_verdicts,
    summary,
)

__all__ = [
    "FULL",
    "QUICK",
    "Config",
    "answers",
    "markdown",
    "roughness_trend",
    "run",
    "smoothness_conclusion",
    "summary",
    "with_verdicts",
]

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
_COUNTS = ("fan_in", "depth", "depth_width", "net_width", "examples_per_panel")
_DRAWS = ("num_draws", "second_layer_draws", "depth_draws", "num_functions")
_VARIANCES = ("weight_var", "output_weight_var", "relu_bias_var")
_SWEEPS = ("depth_gains", "smoothness_vars", "example_vars")


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
        validation.seed(self.seed)
        for name in (*_COUNTS, *_DRAWS, "grid_points"):
            value = getattr(self, name)
            # bool is an int subclass; True as a width is a bug, not a 1
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name}: must be an integer, got {value!r}")
        validation.at_least(self, 1, *_COUNTS)
        validation.at_least(self, 2, *_DRAWS)  # a standard error needs two draws
        # a second difference needs 3 points; 5 keeps the variance over the grid meaningful
        validation.at_least(self, 5, "grid_points")
        validation.positive(self, *_VARIANCES, "input_range")
        validation.all_positive(self, *_SWEEPS)
        for name in (*_VARIANCES, *_SWEEPS):
            values = getattr(self, name)
            if not all(MIN_VAR <= value <= MAX_VAR for value in np.atleast_1d(values)):
                raise ValueError(f"{name}: must be in [{MIN_VAR:g}, {MAX_VAR:g}], got {values!r}")
        if self.input_range > 1e6:
            raise ValueError(f"input_range: must be <= 1e6, got {self.input_range!r}")
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


# sizes equal to those of tests/test_init_moments.py and tests/test_init_smoothness.py where
# that is natural anyway, so tests in one session reuse compiled programs (compilation, not
# sampling, dominates a quick run)
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


def _mean(samples) -> tuple[float, float]:
    # independent draws play the part of seeds: mean and s/sqrt(N)
    summary = seed_summary(samples)
    return summary["mean"], summary["standard_error"]


def _variance(samples: np.ndarray) -> tuple[float, float]:
    # delta method: to first order the sample variance is the mean of (z - z̄)², so its
    # standard error is that mean's, sqrt((m4 - s⁴)/N)
    return _mean((samples - samples.mean()) ** 2)


# The closed form of each quantity checked in (a)–(c), as the report's table shows it. E[h²] is
# what enters (c); Var[h] in its place is the classic slip, shown rejected.
_CLOSED_FORMS = {
    "(a) pre-activation mean": r"\mathbb E[z] = 0",
    "(a) pre-activation variance": r"\operatorname{Var}[z] = M\sigma^2",
    "(b) ReLU second moment": r"\mathbb E[h^2] = M\sigma^2/2",
    "(b) ReLU mean (exact)": (
        r"\mathbb E[h] = \sigma\,\Gamma(\tfrac{M+1}{2})/(\sqrt\pi\,\Gamma(\tfrac M2))"
    ),
    "(b) ReLU mean (large-M)": r"\mathbb E[h] \approx \sigma\sqrt{M}/\sqrt{2\pi}",
    "(b) ReLU variance": r"\operatorname{Var}[h] = M\sigma^2/2 - \mathbb E[h]^2",
    "(c) second-layer mean": r"\mathbb E[z^{(2)}] = 0",
    "(c) second-layer variance": r"\operatorname{Var}[z^{(2)}] = M\sigma_2^2\,\mathbb E[h^2]",
    "(c) wrong: variance instead of second moment": (
        r"M\sigma_2^2\,\operatorname{Var}[h]\ \text{(rejected)}"
    ),
}


def measure_moments(config: Config, key_first, key_second) -> dict:
    """(a)–(c): closed forms against sample estimates, each with its standard error.

    The first-layer pre-activation z, its ReLU h and the second-layer z2 are drawn in
    float32 and estimated in float64 on the host.
    """
    variance, output_variance, fan_in = config.weight_var, config.output_weight_var, config.fan_in
    z = np.asarray(
        init_moments.sample_preactivations(
            key_first,
            weight_var=variance,
            fan_in=fan_in,
            num_draws=config.num_draws,
            matmul_precision=config.matmul_precision,
        ),
        dtype=np.float64,
    )
    z2 = np.asarray(
        init_moments.sample_second_layer(
            key_second,
            weight_var=variance,
            output_weight_var=output_variance,
            fan_in=fan_in,
            width=fan_in,
            num_draws=config.second_layer_draws,
            matmul_precision=config.matmul_precision,
        ),
        dtype=np.float64,
    )
    h = np.maximum(z, 0.0)
    first, second = (variance, fan_in), (variance, output_variance, fan_in, fan_in)
    checks = {  # quantity: (theory, (estimate, standard error))
        "(a) pre-activation mean": (init_moments.preactivation_mean(*first), _mean(z)),
        "(a) pre-activation variance": (init_moments.preactivation_var(*first), _variance(z)),
        "(b) ReLU second moment": (init_moments.relu_second_moment(*first), _mean(h**2)),
        "(b) ReLU mean (exact)": (init_moments.relu_mean(*first), _mean(h)),
        "(b) ReLU mean (large-M)": (init_moments.relu_mean_large_width(*first), _mean(h)),
        "(b) ReLU variance": (init_moments.relu_var(*first), _variance(h)),
        "(c) second-layer mean": (init_moments.second_layer_mean(*second), _mean(z2)),
        "(c) second-layer variance": (init_moments.second_layer_var(*second), _variance(z2)),
        "(c) wrong: variance instead of second moment": (
            fan_in * output_variance * init_moments.relu_var(*first),
            _variance(z2),
        ),
    }
    rows = [
        {
            "quantity": quantity,
            "latex": _CLOSED_FORMS[quantity],
            "theory": theory,
            "monte_carlo": estimate,
            "standard_error": standard_error,
            "z_score": (estimate - theory) / standard_error,
            # the (c) rows estimate from the second-layer draws
            "num_draws": config.second_layer_draws
            if quantity.startswith("(c)")
            else config.num_draws,
        }
        for quantity, (theory, (estimate, standard_error)) in checks.items()
    ]
    layer = {"fan_in": fan_in, "weight_var": variance, "output_weight_var": output_variance}
    return layer | {"rows": rows}


def measure_depth_curve(config: Config, key_depth, index: int, gain: float) -> dict:
    """(d) at one gain: the per-layer second moment of deep ReLU stacks against c^k."""
    weight_var = gain * init_moments.he_weight_var(config.depth_width)
    samples = init_moments.sample_depth_second_moments(
        jax.random.fold_in(key_depth, index),
        weight_var=weight_var,
        width=config.depth_width,
        depth=config.depth,
        num_draws=config.depth_draws,
        matmul_precision=config.matmul_precision,
    )
    samples = np.asarray(samples, dtype=np.float64)
    # mean and s/sqrt(N) of every layer at once: seed_summary's estimator, column by column
    estimate = samples.mean(axis=0)
    standard_error = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    predicted = init_moments.depth_second_moments(weight_var, config.depth_width, config.depth)
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


def measure_smoothness_at(config: Config, key_smooth, inputs, weight_var: float) -> dict:
    """(e) at one σ²: roughness of tanh and ReLU nets, the tanh Taylor ratio, kinks in range.

    Call inside ``jax.enable_x64(True)`` with float64 ``inputs``: for small σ² the second
    difference of a nearly linear f cancels to ~σ²h² relative, below float32 resolution.
    One key for every σ²: the same standard normals rescaled (common random numbers), so
    differences between σ² are not sampling noise.
    """
    nets = dict(width=config.net_width, num_functions=config.num_functions, weight_var=weight_var)
    point = {}
    for name, activation_fn, bias_var in (
        ("tanh_roughness", jnp.tanh, None),
        ("relu_roughness", jax.nn.relu, None),
        ("relu_fixed_bias_roughness", jax.nn.relu, config.relu_bias_var),
    ):
        point[name], point[f"{name}_se"] = init_smoothness.pooled_roughness(
            key_smooth,
            inputs,
            activation_fn=activation_fn,
            bias_var=bias_var,
            matmul_precision=config.matmul_precision,
            **nets,
        )
    point["tanh_taylor_ratio"], point["tanh_taylor_ratio_se"] = init_smoothness.pooled_taylor_ratio(
        key_smooth, activation_fn=jnp.tanh, dtype=jnp.float64, **nets
    )
    fractions = init_smoothness.sample_kink_fractions(
        key_smooth, bias_var=config.relu_bias_var, input_range=config.input_range, **nets
    )
    point["relu_kink_fraction"], point["relu_kink_fraction_se"] = _mean(fractions)
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
                        init_smoothness.sample_initial_functions(
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
        "he_weight_var": init_moments.he_weight_var(config.depth_width),
        "curves": curves,
    }

    points = []  # one dict of every series' value per σ²
    with jax.enable_x64(True):
        inputs = jnp.asarray(
            np.linspace(-config.input_range, config.input_range, config.grid_points)
        )
        for weight_var in config.smoothness_vars:
            points.append(measure_smoothness_at(config, key_smooth, inputs, weight_var))
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
        **{name: [point[name] for point in points] for name in points[0]},
        "tanh_roughness_small_var_theory": [
            init_smoothness.tanh_roughness_small_var(v, input_range=config.input_range)
            for v in config.smoothness_vars
        ],
        "tanh_taylor_ratio_small_var_theory": [
            init_smoothness.tanh_taylor_ratio_small_var(v) for v in config.smoothness_vars
        ],
        "relu_kink_fraction_theory": [
            init_smoothness.relu_kink_fraction(v, config.relu_bias_var, config.input_range)
            for v in config.smoothness_vars
        ],
    }
    return {
        "moments": moments,
        "depth": depth,
        "smoothness": smoothness,
        "examples": examples,
        **smoothness_verdicts(smoothness),
    }


def with_verdicts(document: dict) -> dict:
    """The document with the smoothness trends and the conclusion recomputed (pure)."""
    return document | to_jsonable(smoothness_verdicts(document["smoothness"]))
