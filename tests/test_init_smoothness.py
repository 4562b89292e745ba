"""``jaxnn.init_smoothness`` against closed forms and autodiff.

Tolerance convention: a Monte Carlo estimate passes when it lies within ``Z_TOL = 5`` of its own
standard error (computed from the same samples) of the closed form; see test_init_moments.py.
Derivatives are compared in float64 (the ``x64`` fixture) at rtol 1e-10.

The initialization study, whose conclusion answers (e) from these measurements, is tested in
test_initialization.py.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import init_smoothness as smoothness
from jaxnn.stats import seed_summary

Z_TOL = 5.0


def assert_within_standard_errors(estimate, standard_error, expected, z_tol=Z_TOL):
    z_score = (estimate - expected) / standard_error
    assert abs(z_score) <= z_tol, (
        f"estimate {estimate:.6g} ± {standard_error:.3g} is {z_score:+.1f} s.e. from {expected:.6g}"
    )


# A host grid: eager jnp ops on it (linspace, indexing) would each compile a program.
INPUTS = np.linspace(-1.0, 1.0, 201)


def _pooled_roughness(key, activation_fn, weight_var, bias_var=None, *, num_functions=200):
    return smoothness.pooled_roughness(
        key,
        INPUTS,
        activation_fn=activation_fn,
        width=50,
        num_functions=num_functions,
        weight_var=weight_var,
        bias_var=bias_var,
    )


# ---------------------------------------------------------------------------- roughness


def test_pooled_roughness_is_the_ratio_of_the_roughness_terms(x64):
    inputs = INPUTS
    values = smoothness.sample_initial_functions(
        jax.random.key(7),
        inputs,
        activation_fn=jnp.tanh,
        width=50,
        num_functions=200,
        weight_var=0.1,
    )
    curvature, spread = smoothness.roughness_terms(values, float(inputs[1] - inputs[0]))
    expected = smoothness._ratio_of_means(curvature, spread)
    assert _pooled_roughness(jax.random.key(7), jnp.tanh, 0.1) == expected
    with pytest.raises(ValueError, match="inputs"):
        smoothness.pooled_roughness(
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


def test_tanh_roughness_matches_small_variance_limit(x64):
    # at σ² = 1e-3 the neglected terms are O(σ²) relative, far below the 5% s.e.
    weight_var = 1e-3
    estimate, standard_error = _pooled_roughness(
        jax.random.key(8), jnp.tanh, weight_var, num_functions=1000
    )
    assert_within_standard_errors(
        estimate, standard_error, smoothness.tanh_roughness_small_var(weight_var)
    )
    assert smoothness.tanh_roughness_small_var(1.0) == pytest.approx(96.0)


# ---------------------------------------------------------------------------- Taylor coefficients


def test_taylor_coefficients_scale_like_sigma_to_the_k_plus_one(x64):
    # same key: same standard normals rescaled, so the ratio of coefficients between two σ
    # is deterministic up to the ψ^(k)(σ b) → ψ^(k)(0) correction, O(σ²) relative
    small, large = 1e-6, 1e-4
    coefficients = {
        v: np.asarray(
            smoothness.sample_taylor_coefficients(
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
    @jax.jit  # one compilation instead of one per eager op, the draw included
    def both(key):
        params = smoothness.sample_scalar_net(key, width=16, weight_var=0.7, dtype=jnp.float64)

        def net(x):
            return smoothness.apply_scalar_net(params, jnp.atleast_1d(x), jnp.tanh)[0]

        derivatives, derivative_fn = [], net
        for _ in range(4):
            derivatives.append(derivative_fn(0.0))
            derivative_fn = jax.grad(derivative_fn)
        return smoothness.taylor_coefficients(params, jnp.tanh, 3), jnp.stack(derivatives)

    coefficients, derivatives = both(jax.random.key(10))
    factorials = np.array([math.factorial(k) for k in range(4)], dtype=np.float64)
    np.testing.assert_allclose(
        np.asarray(coefficients), np.asarray(derivatives) / factorials, rtol=1e-10
    )


def test_tanh_taylor_ratio_matches_small_variance_limit(x64):
    weight_var = 1e-3
    kwargs = dict(activation_fn=jnp.tanh, width=50, num_functions=4000, weight_var=weight_var)
    ratio, standard_error = smoothness.pooled_taylor_ratio(
        jax.random.key(11), dtype=jnp.float64, **kwargs
    )
    assert_within_standard_errors(
        ratio, standard_error, smoothness.tanh_taylor_ratio_small_var(weight_var)
    )
    # the same check on the squared ratio, where the estimator is a plain ratio of means
    coefficients = np.asarray(
        smoothness.sample_taylor_coefficients(
            jax.random.key(11), order=3, dtype=jnp.float64, **kwargs
        )
    )
    ratio_sq, ratio_sq_se = smoothness._ratio_of_means(
        coefficients[:, 3] ** 2, coefficients[:, 1] ** 2
    )
    assert ratio == math.sqrt(ratio_sq)
    assert_within_standard_errors(
        ratio_sq, ratio_sq_se, smoothness.tanh_taylor_ratio_small_var(weight_var) ** 2
    )


# ---------------------------------------------------------------------------- ReLU


def test_relu_kink_fraction_matches_monte_carlo():
    weight_var, bias_var = 4.0, 1.0
    fractions = smoothness.sample_kink_fractions(
        jax.random.key(12),
        width=100,
        num_functions=2000,
        weight_var=weight_var,
        bias_var=bias_var,
    )
    expected = smoothness.relu_kink_fraction(weight_var, bias_var)
    assert expected == pytest.approx(2 / math.pi * math.atan(2.0))
    summary = seed_summary(fractions)
    assert_within_standard_errors(summary["mean"], summary["standard_error"], expected)
    # the ratio, not the scale, decides: scaling both variances leaves it unchanged
    assert smoothness.relu_kink_fraction(400.0, 100.0) == pytest.approx(expected, rel=1e-14)


def test_relu_net_is_scale_only_under_common_sigma_exactly(x64):
    # positive homogeneity: v, w, b all ×2 gives 4f; power-of-two scaling is exact in floating
    # point, so equality is bitwise
    key = jax.random.key(13)
    inputs = INPUTS

    @jax.jit  # one compilation instead of one per eager op
    def net_and_doubled(key, inputs):
        params = smoothness.sample_scalar_net(key, width=50, weight_var=0.37, dtype=jnp.float64)
        doubled = jax.tree.map(lambda p: 2 * p, params)
        return (
            smoothness.apply_scalar_net(params, inputs, jax.nn.relu),
            smoothness.apply_scalar_net(doubled, inputs, jax.nn.relu),
        )

    values, doubled_values = net_and_doubled(key, inputs)
    np.testing.assert_array_equal(np.asarray(doubled_values), 4 * np.asarray(values))
    # the same through the sampler: σ² = 4 draws the σ² = 1 standard normals times 2
    kwargs = dict(activation_fn=jax.nn.relu, width=50, num_functions=200)
    base = smoothness.sample_initial_functions(key, inputs, weight_var=1.0, **kwargs)
    scaled = smoothness.sample_initial_functions(key, inputs, weight_var=4.0, **kwargs)
    np.testing.assert_array_equal(np.asarray(scaled), 4 * np.asarray(base))
    # tanh is not homogeneous: the same check must fail there
    kwargs["activation_fn"] = jnp.tanh
    base = smoothness.sample_initial_functions(key, inputs, weight_var=1.0, **kwargs)
    scaled = smoothness.sample_initial_functions(key, inputs, weight_var=4.0, **kwargs)
    assert not np.allclose(np.asarray(scaled), 4 * np.asarray(base), rtol=1e-2)


def test_relu_roughness_is_invariant_to_common_sigma_but_not_to_weight_to_bias_ratio(x64):
    key = jax.random.key(14)
    common = [_pooled_roughness(key, jax.nn.relu, v)[0] for v in (0.3, 7.0)]
    np.testing.assert_allclose(common[0], common[1], rtol=1e-10)
    fixed_bias = [_pooled_roughness(key, jax.nn.relu, v, bias_var=1.0)[0] for v in (0.3, 7.0)]
    assert fixed_bias[1] > 1.5 * fixed_bias[0]


# ---------------------------------------------------------------------------- pooling


def test_ratio_of_means_standard_error_matches_its_spread():
    # 200 independent replicate estimates: their spread must match the reported s.e.
    # NumPy draws: the estimator, not jax.random, is under test, and eager slicing of a
    # jax array 200 times is slower than the whole check
    rng = np.random.default_rng(15)
    numerators, denominators = rng.standard_normal((2, 200, 400)) + np.array([[[1.0]], [[3.0]]])
    estimates = [smoothness._ratio_of_means(numerators[i], denominators[i]) for i in range(200)]
    values = np.array([value for value, _ in estimates])
    reported = np.mean([se for _, se in estimates])
    assert values.std(ddof=1) == pytest.approx(reported, rel=0.15)
    assert values.mean() == pytest.approx(1.0 / 3.0, abs=5 * reported / math.sqrt(200))


# ---------------------------------------------------------------------------- draws


def test_same_key_gives_identical_draws_and_other_keys_differ():
    # shapes and precision as in the tests above, so no sampler is compiled again just for this
    def draws(seed):
        key = jax.random.key(seed)
        with jax.enable_x64(True):
            functions = smoothness.sample_initial_functions(
                key,
                INPUTS,
                activation_fn=jnp.tanh,
                width=50,
                num_functions=200,
                weight_var=0.5,
            )
        return [
            functions,
            smoothness.sample_kink_fractions(
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
    # jitted: one compilation instead of one per eager op of the draw
    params = jax.jit(lambda key: smoothness.sample_scalar_net(key, width=100_000, weight_var=1.0))(
        jax.random.key(17)
    )
    weights = np.asarray(params["input_weights"])
    fraction = np.mean(np.abs(weights) > 2.0)
    expected = math.erfc(2 / math.sqrt(2))
    standard_error = math.sqrt(expected * (1 - expected) / weights.size)
    assert_within_standard_errors(fraction, standard_error, expected)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_variance_raises_naming_the_argument(bad):
    with pytest.raises(ValueError, match="bias_var"):
        smoothness.relu_kink_fraction(1.0, bad)
    with pytest.raises(ValueError, match="weight_var"):
        smoothness.tanh_taylor_ratio_small_var(bad)
    with pytest.raises(ValueError, match="weight_var"):
        smoothness.sample_scalar_net(jax.random.key(0), width=3, weight_var=bad)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_count_raises_naming_the_argument(bad):
    with pytest.raises(ValueError, match="width"):
        smoothness.sample_scalar_net(jax.random.key(0), width=bad, weight_var=1.0)
    with pytest.raises(ValueError, match="num_functions"):
        smoothness.sample_kink_fractions(
            jax.random.key(0), width=3, num_functions=bad, weight_var=1.0, bias_var=1.0
        )


def test_function_sampler_pins_its_matmul_to_the_requested_precision():
    program = smoothness._initial_functions.lower(
        jax.random.key(0),
        np.linspace(-1.0, 1.0, 5, dtype=np.float32),
        0.1,
        0.1,
        activation_fn=jnp.tanh,
        width=3,
        num_functions=2,
        matmul_precision="highest",
    )
    text = program.as_text().lower()
    assert "dot_general" in text and "highest" in text
    with pytest.raises(ValueError, match="matmul_precision"):
        smoothness.sample_initial_functions(
            jax.random.key(0),
            np.linspace(-1.0, 1.0, 5, dtype=np.float32),
            activation_fn=jnp.tanh,
            width=3,
            num_functions=2,
            weight_var=1.0,
            matmul_precision="fast",
        )
