"""Closed forms of ``jaxnn.init_theory`` against Monte Carlo, invariances, bad input, smoke run.

Tolerance convention: a Monte Carlo estimate passes when it lies within ``Z_TOL = 5`` of its own
standard error (computed from the same samples) of the closed form. For a correct formula a
Gaussian estimator leaves that band with probability 6e-7 per comparison; the seeds are fixed, so
the tests are deterministic, and the "rejected" checks show the band is narrow enough to catch
a wrong formula.
"""

from __future__ import annotations

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import init_theory as theory
from jaxnn.io import to_jsonable
from jaxnn.studies import initialization as study

Z_TOL = 5.0


def assert_within_standard_errors(estimate, standard_error, expected, z_tol=Z_TOL):
    z_score = (estimate - expected) / standard_error
    assert abs(z_score) <= z_tol, (
        f"estimate {estimate:.6g} ± {standard_error:.3g} is {z_score:+.1f} s.e. from {expected:.6g}"
    )


def z_distance(estimate, standard_error, expected):
    return abs(estimate - expected) / standard_error


# ---------------------------------------------------------------------------- (a), (b)


@pytest.fixture(scope="module")
def preactivations():
    fan_in, weight_var = 50, 0.04
    samples = theory.sample_preactivations(
        jax.random.key(1), weight_var=weight_var, fan_in=fan_in, num_draws=100_000
    )
    return fan_in, weight_var, np.asarray(samples, dtype=np.float64)


def test_preactivation_mean_and_variance_match_monte_carlo(preactivations):
    fan_in, weight_var, z = preactivations
    assert_within_standard_errors(
        *theory.mean_and_standard_error(z), theory.preactivation_mean(weight_var, fan_in)
    )
    assert_within_standard_errors(
        *theory.variance_and_standard_error(z), theory.preactivation_var(weight_var, fan_in)
    )
    assert theory.preactivation_var(weight_var, fan_in) == pytest.approx(2.0)


def test_relu_moments_match_monte_carlo(preactivations):
    fan_in, weight_var, z = preactivations
    h = np.maximum(z, 0.0)
    assert_within_standard_errors(
        *theory.second_moment_and_standard_error(h), theory.relu_second_moment(weight_var, fan_in)
    )
    assert_within_standard_errors(
        *theory.mean_and_standard_error(h), theory.relu_mean(weight_var, fan_in)
    )
    assert_within_standard_errors(
        *theory.variance_and_standard_error(h), theory.relu_var(weight_var, fan_in)
    )


def test_sample_relu_outputs_is_relu_of_the_same_preactivations():
    kwargs = dict(weight_var=0.5, fan_in=7, num_draws=64)
    z = theory.sample_preactivations(jax.random.key(3), **kwargs)
    h = theory.sample_relu_outputs(jax.random.key(3), **kwargs)
    np.testing.assert_array_equal(np.asarray(h), np.maximum(np.asarray(z), 0.0))


def test_relu_mean_is_exact_at_small_width_where_the_gaussian_approximation_fails():
    # at M = 3 the pre-activation is far from Gaussian: E[h] = 2σ/π exactly, while the
    # large-M formula σ√M/√(2π) is 8.5% higher, which 100k draws resolve at ~16 s.e.
    fan_in, weight_var = 3, 1.0
    assert theory.relu_mean(weight_var, fan_in) == pytest.approx(2.0 / math.pi, rel=1e-12)
    h = theory.sample_relu_outputs(
        jax.random.key(4), weight_var=weight_var, fan_in=fan_in, num_draws=100_000
    )
    estimate, standard_error = theory.mean_and_standard_error(h)
    assert_within_standard_errors(estimate, standard_error, theory.relu_mean(weight_var, fan_in))
    approximate = theory.relu_mean_large_width(weight_var, fan_in)
    assert z_distance(estimate, standard_error, approximate) > 2 * Z_TOL


def test_relu_mean_approaches_gaussian_limit_at_large_width():
    exact = theory.relu_mean(0.01, 10_000)
    assert exact == pytest.approx(theory.relu_mean_large_width(0.01, 10_000), rel=3e-5)
    assert exact < theory.relu_mean_large_width(0.01, 10_000)


# ---------------------------------------------------------------------------- (c)


def test_second_layer_moments_match_monte_carlo_and_reject_the_variance_guess():
    fan_in, weight_var, output_weight_var = 30, 0.05, 0.08
    z2 = theory.sample_second_layer(
        jax.random.key(5),
        weight_var=weight_var,
        output_weight_var=output_weight_var,
        fan_in=fan_in,
        width=fan_in,
        num_draws=20_000,
    )
    assert_within_standard_errors(
        *theory.mean_and_standard_error(z2),
        theory.second_layer_mean(weight_var, output_weight_var, fan_in, fan_in),
    )
    variance, standard_error = theory.variance_and_standard_error(z2)
    predicted = theory.second_layer_var(weight_var, output_weight_var, fan_in, fan_in)
    assert predicted == pytest.approx(fan_in * output_weight_var * fan_in * weight_var / 2)
    assert_within_standard_errors(variance, standard_error, predicted)
    # Var[h] in place of E[h²] is wrong by a factor ≈ 1 - 1/π; the data must say so
    wrong = fan_in * output_weight_var * theory.relu_var(weight_var, fan_in)
    assert z_distance(variance, standard_error, wrong) > 2 * Z_TOL


# ---------------------------------------------------------------------------- (d)


def test_he_variance_preserves_the_second_moment_in_theory():
    width = 64
    assert theory.he_weight_var(width) == pytest.approx(2 / 64)
    assert theory.layer_gain(theory.he_weight_var(width), width) == pytest.approx(1.0)
    np.testing.assert_allclose(
        theory.depth_second_moments(3 * 2 / width, width, 4), 3.0 ** np.arange(5)
    )


@pytest.mark.parametrize("gain", [0.5, 1.0, 2.0])
def test_deep_relu_stack_matches_gain_to_the_power_of_depth(gain):
    # width 64: the squared coefficient of variation of the per-net statistic grows like
    # (1 + 5/64)^k ≈ 9.5 at k = 30, so 500 nets give ~14% s.e. at the last layer, while the
    # prediction spans 2^±30 between the gains; the test is on each layer at 5 s.e.
    width, depth, num_draws = 64, 30, 500
    weight_var = gain * theory.he_weight_var(width)
    samples = np.asarray(
        theory.sample_depth_second_moments(
            jax.random.key(6),
            weight_var=weight_var,
            width=width,
            depth=depth,
            num_draws=num_draws,
        ),
        dtype=np.float64,
    )
    assert samples.shape == (num_draws, depth + 1)
    predicted = theory.depth_second_moments(weight_var, width, depth)
    for layer in range(depth + 1):
        assert_within_standard_errors(
            *theory.mean_and_standard_error(samples[:, layer]), predicted[layer]
        )
    if gain != 1.0:
        # a stack without the gain (c = 1 prediction) is rejected at depth
        estimate, standard_error = theory.mean_and_standard_error(samples[:, 10])
        assert z_distance(estimate, standard_error, 1.0) > Z_TOL


# ---------------------------------------------------------------------------- (e)


def _pooled_roughness(key, activation_fn, weight_var, bias_var=None, *, num_functions=200):
    return theory.pooled_roughness(
        key,
        jnp.linspace(-1.0, 1.0, 201),
        activation_fn=activation_fn,
        width=50,
        num_functions=num_functions,
        weight_var=weight_var,
        bias_var=bias_var,
    )


def test_pooled_roughness_is_the_ratio_of_the_roughness_terms(x64):
    inputs = jnp.linspace(-1.0, 1.0, 201)
    values = theory.sample_initial_functions(
        jax.random.key(7),
        inputs,
        activation_fn=jnp.tanh,
        width=50,
        num_functions=200,
        weight_var=0.1,
    )
    expected = theory.ratio_of_means(*theory.roughness_terms(values, float(inputs[1] - inputs[0])))
    assert _pooled_roughness(jax.random.key(7), jnp.tanh, 0.1) == expected
    with pytest.raises(ValueError, match="inputs"):
        theory.pooled_roughness(
            jax.random.key(0),
            jnp.zeros(2),
            activation_fn=jnp.tanh,
            width=5,
            num_functions=2,
            weight_var=1.0,
        )


def test_tanh_roughness_increases_with_weight_variance(x64):
    weight_vars = [0.01, 0.1, 1.0, 10.0, 100.0]
    roughness = [_pooled_roughness(jax.random.key(7), jnp.tanh, v) for v in weight_vars]
    values = np.array([value for value, _ in roughness])
    standard_errors = np.array([se for _, se in roughness])
    # each step must clear 5 combined s.e., not just the sign, so the monotonicity is not noise
    steps = np.diff(values)
    combined = np.hypot(standard_errors[1:], standard_errors[:-1])
    assert np.all(steps > Z_TOL * combined), (values, standard_errors)
    relu = [_pooled_roughness(jax.random.key(7), jax.nn.relu, v)[0] for v in weight_vars]
    conclusion = theory.smoothness_conclusion(weight_vars, values, relu, values, relu_bias_var=1.0)
    assert conclusion.startswith("tanh: smaller sigma^2 gives smoother")


def test_tanh_roughness_matches_small_variance_limit(x64):
    # at σ² = 1e-3 the neglected terms are O(σ²) relative, far below the 5% s.e.
    weight_var = 1e-3
    estimate, standard_error = _pooled_roughness(
        jax.random.key(8), jnp.tanh, weight_var, num_functions=1000
    )
    assert_within_standard_errors(
        estimate, standard_error, theory.tanh_roughness_small_var(weight_var)
    )
    assert theory.tanh_roughness_small_var(1.0) == pytest.approx(96.0)


def test_taylor_coefficients_scale_like_sigma_to_the_k_plus_one(x64):
    # same key: same standard normals rescaled, so the ratio of coefficients between two σ
    # is deterministic up to the ψ^(k)(σ b) → ψ^(k)(0) correction, O(σ²) relative
    small, large = 1e-6, 1e-4
    coefficients = {
        v: np.asarray(
            theory.sample_taylor_coefficients(
                jax.random.key(9),
                activation_fn=jnp.tanh,
                width=20,
                num_functions=8,
                weight_var=v,
                order=3,
                dtype=jnp.float64,
            )
        )
        for v in (small, large)
    }
    exponent = np.log(np.abs(coefficients[large] / coefficients[small])) / np.log(large / small)
    # per power of σ²: a_1 ~ σ² (k+1 = 2 powers of σ), a_3 ~ σ⁴; even orders of tanh get one
    # extra power from ψ^(k)(b) ≈ ψ^(k+1)(0) b
    np.testing.assert_allclose(exponent[:, 1], 1.0, atol=1e-3)
    np.testing.assert_allclose(exponent[:, 3], 2.0, atol=1e-3)
    np.testing.assert_allclose(exponent[:, 2], 2.0, atol=1e-3)
    np.testing.assert_allclose(exponent[:, 0], 1.0, atol=1e-3)


def test_taylor_coefficients_match_autodiff_of_the_net(x64):
    params = theory.sample_scalar_net(
        jax.random.key(10), width=16, weight_var=0.7, dtype=jnp.float64
    )

    @jax.jit  # one compilation instead of one per eager op
    def both(params):
        def net(x):
            return theory.apply_scalar_net(params, jnp.atleast_1d(x), jnp.tanh)[0]

        derivatives, derivative_fn = [], net
        for _ in range(4):
            derivatives.append(derivative_fn(0.0))
            derivative_fn = jax.grad(derivative_fn)
        return theory.taylor_coefficients(params, jnp.tanh, 3), jnp.stack(derivatives)

    coefficients, derivatives = both(params)
    factorials = np.array([math.factorial(k) for k in range(4)], dtype=np.float64)
    np.testing.assert_allclose(
        np.asarray(coefficients), np.asarray(derivatives) / factorials, rtol=1e-10
    )


def test_tanh_taylor_ratio_matches_small_variance_limit(x64):
    weight_var = 1e-3
    coefficients = np.asarray(
        theory.sample_taylor_coefficients(
            jax.random.key(11),
            activation_fn=jnp.tanh,
            width=50,
            num_functions=4000,
            weight_var=weight_var,
            order=3,
            dtype=jnp.float64,
        )
    )
    ratio_sq, ratio_sq_se = theory.ratio_of_means(coefficients[:, 3] ** 2, coefficients[:, 1] ** 2)
    assert_within_standard_errors(
        ratio_sq, ratio_sq_se, theory.tanh_taylor_ratio_small_var(weight_var) ** 2
    )


def test_relu_kink_fraction_matches_monte_carlo():
    weight_var, bias_var = 4.0, 1.0
    fractions = theory.sample_kink_fractions(
        jax.random.key(12),
        width=100,
        num_functions=2000,
        weight_var=weight_var,
        bias_var=bias_var,
    )
    expected = theory.relu_kink_fraction(weight_var, bias_var)
    assert expected == pytest.approx(2 / math.pi * math.atan(2.0))
    assert_within_standard_errors(*theory.mean_and_standard_error(fractions), expected)
    # the ratio, not the scale, decides: scaling both variances leaves it unchanged
    assert theory.relu_kink_fraction(400.0, 100.0) == pytest.approx(expected, rel=1e-14)


def test_relu_net_is_scale_only_under_common_sigma_exactly(x64):
    # positive homogeneity: v, w, b all ×2 gives 4f; power-of-two scaling is exact in floating
    # point, so equality is bitwise
    key = jax.random.key(13)
    inputs = jnp.linspace(-1.0, 1.0, 201)
    params = theory.sample_scalar_net(key, width=50, weight_var=0.37, dtype=jnp.float64)
    doubled = jax.tree.map(lambda p: 2 * p, params)
    np.testing.assert_array_equal(
        np.asarray(theory.apply_scalar_net(doubled, inputs, jax.nn.relu)),
        4 * np.asarray(theory.apply_scalar_net(params, inputs, jax.nn.relu)),
    )
    # the same through the sampler: σ² = 4 draws the σ² = 1 standard normals times 2
    kwargs = dict(activation_fn=jax.nn.relu, width=50, num_functions=200)
    base = theory.sample_initial_functions(key, inputs, weight_var=1.0, **kwargs)
    scaled = theory.sample_initial_functions(key, inputs, weight_var=4.0, **kwargs)
    np.testing.assert_array_equal(np.asarray(scaled), 4 * np.asarray(base))
    # tanh is not homogeneous: the same check must fail there
    kwargs["activation_fn"] = jnp.tanh
    base = theory.sample_initial_functions(key, inputs, weight_var=1.0, **kwargs)
    scaled = theory.sample_initial_functions(key, inputs, weight_var=4.0, **kwargs)
    assert not np.allclose(np.asarray(scaled), 4 * np.asarray(base), rtol=1e-2)


def test_relu_roughness_is_invariant_to_common_sigma_but_not_to_weight_to_bias_ratio(x64):
    key = jax.random.key(14)
    common = [_pooled_roughness(key, jax.nn.relu, v)[0] for v in (0.3, 7.0)]
    np.testing.assert_allclose(common[0], common[1], rtol=1e-10)
    fixed_bias = [_pooled_roughness(key, jax.nn.relu, v, bias_var=1.0)[0] for v in (0.3, 7.0)]
    assert fixed_bias[1] > 1.5 * fixed_bias[0]


# ---------------------------------------------------------------------------- conclusion


def test_conclusion_follows_the_numbers():
    weight_vars = [0.1, 1.0, 10.0]
    rising, falling, flat = [1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [5.0, 5.0, 5.0]
    text = theory.smoothness_conclusion(weight_vars, rising, flat, rising, relu_bias_var=1.0)
    assert "smaller sigma^2 gives smoother" in text
    assert "the same at every sigma^2" in text
    assert "ratio of weight to bias scale" in text
    text = theory.smoothness_conclusion(weight_vars, falling, rising, falling, relu_bias_var=1.0)
    assert "larger sigma^2 gives smoother" in text
    assert "changes with sigma^2" in text
    text = theory.smoothness_conclusion(weight_vars, [1.0, 3.0, 2.0], flat, flat, relu_bias_var=1.0)
    assert "no monotone trend" in text
    with pytest.raises(ValueError, match="weight_vars"):
        theory.smoothness_conclusion(
            [1.0, 0.5], rising[:2], flat[:2], rising[:2], relu_bias_var=1.0
        )


# ---------------------------------------------------------------------------- estimators


def test_ratio_of_means_standard_error_matches_its_spread():
    # 200 independent replicate estimates: their spread must match the reported s.e.
    rng_key = jax.random.key(15)
    numerators, denominators = jax.random.normal(rng_key, (2, 200, 400)) + jnp.array(
        [[[1.0]], [[3.0]]]
    )
    estimates = [theory.ratio_of_means(numerators[i], denominators[i]) for i in range(200)]
    values = np.array([value for value, _ in estimates])
    reported = np.mean([se for _, se in estimates])
    assert values.std(ddof=1) == pytest.approx(reported, rel=0.15)
    assert values.mean() == pytest.approx(1.0 / 3.0, abs=5 * reported / math.sqrt(200))


# ---------------------------------------------------------------------------- determinism


def test_same_key_gives_identical_draws_and_other_keys_differ():
    # shapes and precision as in the tests above, so no sampler is compiled again just for this
    def draws(seed):
        key = jax.random.key(seed)
        with jax.enable_x64(True):
            functions = theory.sample_initial_functions(
                key,
                jnp.linspace(-1.0, 1.0, 201),
                activation_fn=jnp.tanh,
                width=50,
                num_functions=200,
                weight_var=0.5,
            )
        return [
            theory.sample_preactivations(key, weight_var=0.5, fan_in=7, num_draws=64),
            theory.sample_second_layer(
                key, weight_var=0.1, output_weight_var=0.2, fan_in=30, width=30, num_draws=20_000
            ),
            functions,
            theory.sample_kink_fractions(
                key, width=100, num_functions=2000, weight_var=1.0, bias_var=1.0
            ),
        ]

    first, again, other = draws(0), draws(0), draws(1)
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_draws_are_true_gaussians_not_truncated():
    # a truncated normal (the stock initializers cut at 2 s.d.) never exceeds 2σ; N(0, σ²)
    # does so for 4.55% of draws
    z = np.asarray(
        theory.sample_preactivations(
            jax.random.key(16), weight_var=1.0, fan_in=1, num_draws=200_000
        )
    )
    params = theory.sample_scalar_net(jax.random.key(17), width=100_000, weight_var=1.0)
    weights = np.asarray(params["input_weights"])
    fraction = np.mean(np.abs(weights) > 2.0)
    expected = math.erfc(2 / math.sqrt(2))
    standard_error = math.sqrt(expected * (1 - expected) / weights.size)
    assert_within_standard_errors(fraction, standard_error, expected)
    assert np.mean(z**2) == pytest.approx(1.0, rel=0.02)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_variance_raises_naming_the_argument(bad):
    with pytest.raises(ValueError, match="weight_var"):
        theory.preactivation_var(bad, 10)
    with pytest.raises(ValueError, match="weight_var"):
        theory.sample_preactivations(jax.random.key(0), weight_var=bad, fan_in=3, num_draws=2)
    with pytest.raises(ValueError, match="output_weight_var"):
        theory.second_layer_var(0.1, bad, 10, 10)
    with pytest.raises(ValueError, match="bias_var"):
        theory.relu_kink_fraction(1.0, bad)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_count_raises_naming_the_argument(bad):
    with pytest.raises(ValueError, match="fan_in"):
        theory.relu_second_moment(0.1, bad)
    with pytest.raises(ValueError, match="width"):
        theory.second_layer_var(0.1, 0.1, 10, bad)
    with pytest.raises(ValueError, match="depth"):
        theory.depth_second_moments(0.1, 10, bad)
    with pytest.raises(ValueError, match="num_draws"):
        theory.sample_preactivations(jax.random.key(0), weight_var=0.1, fan_in=3, num_draws=bad)
    with pytest.raises(ValueError, match="width"):
        theory.sample_scalar_net(jax.random.key(0), width=bad, weight_var=1.0)


def test_samplers_pin_their_matmuls_to_the_requested_precision():
    key = jax.random.key(0)
    lowered = {
        "preactivations": theory._preactivations.lower(
            key, 0.1, fan_in=3, num_draws=2, matmul_precision="highest"
        ),
        "second_layer": theory._second_layer.lower(
            key, 0.1, 0.1, fan_in=3, width=3, num_draws=2, matmul_precision="highest"
        ),
        "depth": theory._depth_second_moments.lower(
            key, 0.1, width=3, depth=2, num_draws=2, matmul_precision="highest"
        ),
        "functions": theory._initial_functions.lower(
            key,
            jnp.linspace(-1.0, 1.0, 5),
            0.1,
            0.1,
            activation_fn=jnp.tanh,
            width=3,
            num_functions=2,
            matmul_precision="highest",
        ),
    }
    for name, program in lowered.items():
        text = program.as_text().lower()
        assert "dot_general" in text and "highest" in text, name
    with pytest.raises(ValueError, match="matmul_precision"):
        theory.sample_preactivations(
            key, weight_var=0.1, fan_in=3, num_draws=2, matmul_precision="fast"
        )


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="fan_in"):
        study.Config(fan_in=0)
    with pytest.raises(ValueError, match="weight_var"):
        study.Config(weight_var=-0.1)
    with pytest.raises(ValueError, match="smoothness_vars"):
        study.Config(smoothness_vars=(1.0, 0.1))
    with pytest.raises(ValueError, match="seed"):
        study.Config(seed=-1)
    with pytest.raises(ValueError, match="^num_draws:"):
        study.Config(num_draws=1)  # a standard error needs two draws
    with pytest.raises(ValueError, match="^depth:"):
        study.Config(depth=200)  # 2^200 overflows float32
    with pytest.raises(ValueError, match="^second_layer_draws:"):
        study.Config(second_layer_draws=10**6, fan_in=1000)
    with pytest.raises(ValueError, match="^matmul_precision:"):
        study.Config(matmul_precision="fast")
    with pytest.raises(ValueError, match="^weight_var:"):
        study.Config(weight_var=math.inf)


@pytest.mark.parametrize(
    "args, name",
    [
        (["--seed", "-1"], "--seed"),
        (["--seed", "99999999999999999999"], "--seed"),
        (["--fan-in", "0"], "--fan-in"),
        (["--fan-in", "10000000000000"], "--fan-in"),
        (["--weight-var", "inf"], "--weight-var"),
        (["--weight-var", "nan"], "--weight-var"),
        (["--weight-var", "-1"], "--weight-var"),
        (["--weight-var", "1e300"], "weight_var:"),
        (["--num-draws", "1"], "--num-draws"),
        (["--num-draws", "-5"], "--num-draws"),
        (["--num-draws", "900000000", "--fan-in", "1000"], "num_draws:"),
        (["--depth", "0"], "--depth"),
        (["--depth", "500"], "depth:"),
        (["--matmul-precision", "fast"], "--matmul-precision"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(bad_input, args, name):
    bad_input("initialization", args, name)


# ---------------------------------------------------------------------------- smoke


def test_quick_run_writes_files_with_finite_numbers(tmp_path):
    import initialization

    results = initialization.main(
        ["--quick", "--out", str(tmp_path), "--runs", str(tmp_path / "runs"), "--quiet"]
    )
    for name in (
        "initialization.json",
        "initialization.md",
        "init_depth.png",
        "init_smoothness.png",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    written = json.loads((tmp_path / "initialization.json").read_text())

    def numbers(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from numbers(item)
        elif isinstance(value, list):
            for item in value:
                yield from numbers(item)
        else:
            yield value

    # non-finite floats are written as null, so a None among the measurements means NaN/inf
    for section in ("moments", "depth", "smoothness", "examples"):
        assert None not in list(numbers(written[section])), section
    assert all(math.isfinite(row["z_score"]) for row in written["moments"]["rows"])
    assert len(written["depth"]["curves"]) == 3
    assert len(written["depth"]["curves"][0]["second_moment"]) == written["depth"]["depth"] + 1
    assert written["conclusion"] == results["conclusion"]
    assert written["conclusion"].startswith("tanh:")
    assert written["run"]["config"] == dataclasses.asdict(study.QUICK) | {
        "depth_gains": [0.5, 1.0, 2.0],
        "smoothness_vars": list(study.QUICK.smoothness_vars),
        "example_vars": list(study.QUICK.example_vars),
    }
    examples = written["examples"]
    assert len(examples["tanh"]) == len(examples["weight_vars"])
    assert len(examples["relu"][0]) == study.QUICK.examples_per_panel
    assert len(examples["relu"][0][0]) == len(examples["inputs"]) <= study.EXAMPLE_POINTS
    markdown = (tmp_path / "initialization.md").read_text()
    assert "$$" in markdown and "| quantity |" in markdown and results["conclusion"] in markdown
    assert "](init_depth.png)" in markdown and "](init_smoothness.png)" in markdown
    assert not any(line.startswith(("# ", "## ")) for line in markdown.splitlines())
    assert len(study.summary(written)) == 3

    # the same config again (compiled programs reused): identical numbers, one progress
    # unit per measurement (moments, each gain, each sigma^2, the examples)
    class Recorder:
        def start(self, total, unit):
            self.total, self.unit, self.done = total, unit, 0

        def __call__(self, done):
            self.done += done

    progress = Recorder()
    again = to_jsonable(study.run(study.QUICK, progress=progress))
    assert again == {key: written[key] for key in again}
    assert progress.unit == "measurement"
    assert progress.done == progress.total == 2 + 3 + len(study.QUICK.smoothness_vars)
