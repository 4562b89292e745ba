"""Closed forms of ``jaxnn.init_moments`` against Monte Carlo, determinism, bad input, precision.

Tolerance convention: a Monte Carlo estimate passes when it lies within ``Z_TOL = 5`` of its own
standard error (computed from the same samples) of the closed form. For a correct formula a
Gaussian estimator leaves that band with probability 6e-7 per comparison; the seeds are fixed, so
the tests are deterministic, and the "rejected" checks show the band is narrow enough to catch
a wrong formula.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from jaxnn import init_moments as moments
from jaxnn.stats import seed_summary

Z_TOL = 5.0


def assert_within_standard_errors(estimate, standard_error, expected, z_tol=Z_TOL):
    z_score = (estimate - expected) / standard_error
    assert abs(z_score) <= z_tol, (
        f"estimate {estimate:.6g} ± {standard_error:.3g} is {z_score:+.1f} s.e. from {expected:.6g}"
    )


def z_distance(estimate, standard_error, expected):
    return abs(estimate - expected) / standard_error


def mean_and_se(samples) -> tuple[float, float]:
    summary = seed_summary(samples)
    return summary["mean"], summary["standard_error"]


def variance_and_se(samples) -> tuple[float, float]:
    # delta method: the sample variance is, to first order, the mean of (z - z̄)²
    samples = np.asarray(samples, dtype=np.float64)
    return mean_and_se((samples - samples.mean()) ** 2)


# ---------------------------------------------------------------------------- (a), (b)


@pytest.fixture(scope="module")
def preactivations():
    fan_in, weight_var = 50, 0.04
    samples = moments.sample_preactivations(
        jax.random.key(1), weight_var=weight_var, fan_in=fan_in, num_draws=100_000
    )
    return fan_in, weight_var, np.asarray(samples, dtype=np.float64)


def test_preactivation_mean_and_variance_match_monte_carlo(preactivations):
    fan_in, weight_var, z = preactivations
    assert_within_standard_errors(*mean_and_se(z), moments.preactivation_mean(weight_var, fan_in))
    assert_within_standard_errors(
        *variance_and_se(z), moments.preactivation_var(weight_var, fan_in)
    )
    assert moments.preactivation_var(weight_var, fan_in) == pytest.approx(2.0)


def test_relu_moments_match_monte_carlo(preactivations):
    fan_in, weight_var, z = preactivations
    h = np.maximum(z, 0.0)
    assert_within_standard_errors(
        *mean_and_se(h**2), moments.relu_second_moment(weight_var, fan_in)
    )
    assert_within_standard_errors(*mean_and_se(h), moments.relu_mean(weight_var, fan_in))
    assert_within_standard_errors(*variance_and_se(h), moments.relu_var(weight_var, fan_in))


def test_sample_relu_outputs_is_relu_of_the_same_preactivations():
    kwargs = dict(weight_var=0.5, fan_in=7, num_draws=64)
    z = moments.sample_preactivations(jax.random.key(3), **kwargs)
    h = moments.sample_relu_outputs(jax.random.key(3), **kwargs)
    np.testing.assert_array_equal(np.asarray(h), np.maximum(np.asarray(z), 0.0))


def test_relu_mean_is_exact_at_small_width_where_the_gaussian_approximation_fails():
    # at M = 3 the pre-activation is far from Gaussian: E[h] = 2σ/π exactly, while the
    # large-M formula σ√M/√(2π) is 8.5% higher, which 100k draws resolve at ~16 s.e.
    fan_in, weight_var = 3, 1.0
    assert moments.relu_mean(weight_var, fan_in) == pytest.approx(2.0 / math.pi, rel=1e-12)
    h = moments.sample_relu_outputs(
        jax.random.key(4), weight_var=weight_var, fan_in=fan_in, num_draws=100_000
    )
    estimate, standard_error = mean_and_se(h)
    assert_within_standard_errors(estimate, standard_error, moments.relu_mean(weight_var, fan_in))
    approximate = moments.relu_mean_large_width(weight_var, fan_in)
    assert z_distance(estimate, standard_error, approximate) > 2 * Z_TOL


def test_relu_mean_approaches_gaussian_limit_at_large_width():
    exact = moments.relu_mean(0.01, 10_000)
    assert exact == pytest.approx(moments.relu_mean_large_width(0.01, 10_000), rel=3e-5)
    assert exact < moments.relu_mean_large_width(0.01, 10_000)


# ---------------------------------------------------------------------------- (c)


# 8000 draws: Var[z2] has an s.e. of about 2% of itself, and the wrong formula below is
# 32% off, ~17 s.e., beyond the 2 Z_TOL it must clear. The same draws serve the key test.
SECOND_LAYER = dict(weight_var=0.05, output_weight_var=0.08, fan_in=30, width=30, num_draws=8000)


@pytest.fixture(scope="module")
def second_layer_draws():
    return np.asarray(moments.sample_second_layer(jax.random.key(5), **SECOND_LAYER))


def test_second_layer_moments_match_monte_carlo_and_reject_the_variance_guess(
    second_layer_draws,
):
    fan_in, weight_var = SECOND_LAYER["fan_in"], SECOND_LAYER["weight_var"]
    output_weight_var = SECOND_LAYER["output_weight_var"]
    z2 = second_layer_draws.astype(np.float64)
    assert_within_standard_errors(
        *mean_and_se(z2),
        moments.second_layer_mean(weight_var, output_weight_var, fan_in, fan_in),
    )
    variance, standard_error = variance_and_se(z2)
    predicted = moments.second_layer_var(weight_var, output_weight_var, fan_in, fan_in)
    assert predicted == pytest.approx(fan_in * output_weight_var * fan_in * weight_var / 2)
    assert_within_standard_errors(variance, standard_error, predicted)
    # Var[h] in place of E[h²] is wrong by a factor ≈ 1 - 1/π; the data must say so
    wrong = fan_in * output_weight_var * moments.relu_var(weight_var, fan_in)
    assert z_distance(variance, standard_error, wrong) > 2 * Z_TOL


# ---------------------------------------------------------------------------- (d)


def test_he_variance_preserves_the_second_moment_in_theory():
    width = 64
    assert moments.he_weight_var(width) == pytest.approx(2 / 64)
    assert moments.layer_gain(moments.he_weight_var(width), width) == pytest.approx(1.0)
    np.testing.assert_allclose(
        moments.depth_second_moments(3 * 2 / width, width, 4), 3.0 ** np.arange(5)
    )


@pytest.mark.parametrize("gain", [0.5, 1.0, 2.0])
def test_deep_relu_stack_matches_gain_to_the_power_of_depth(gain):
    # width 64: the squared coefficient of variation of the per-net statistic grows like
    # (1 + 5/64)^k ≈ 4.5 at k = 20, so 300 nets give at most ~12% s.e. at the last layer (9%
    # measured), while the prediction spans 2^±20 between the gains; the test is on each
    # layer at 5 s.e. Every random normal costs run time at the suite's XLA O0, hence not more.
    width, depth, num_draws = 64, 20, 300
    weight_var = gain * moments.he_weight_var(width)
    samples = np.asarray(
        moments.sample_depth_second_moments(
            jax.random.key(6),
            weight_var=weight_var,
            width=width,
            depth=depth,
            num_draws=num_draws,
        ),
        dtype=np.float64,
    )
    assert samples.shape == (num_draws, depth + 1)
    predicted = moments.depth_second_moments(weight_var, width, depth)
    for layer in range(depth + 1):
        assert_within_standard_errors(*mean_and_se(samples[:, layer]), predicted[layer])
    if gain != 1.0:
        # a stack without the gain (c = 1 prediction) is rejected at depth
        estimate, standard_error = mean_and_se(samples[:, 10])
        assert z_distance(estimate, standard_error, 1.0) > Z_TOL


# ---------------------------------------------------------------------------- draws


def test_same_key_gives_identical_draws_and_other_keys_differ(second_layer_draws):
    # shapes as in the tests above, so no sampler is compiled again just for this; the
    # second-layer draw of key 5 is the fixture's, so it is drawn again only once
    def preactivations(seed):
        return moments.sample_preactivations(
            jax.random.key(seed), weight_var=0.5, fan_in=7, num_draws=64
        )

    def second_layer(seed):
        return moments.sample_second_layer(jax.random.key(seed), **SECOND_LAYER)

    first = [preactivations(5), second_layer_draws]
    again = [preactivations(5), second_layer(5)]
    other = [preactivations(6), second_layer(6)]
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_draws_are_true_gaussians_not_truncated():
    # at M = 1, E[z²] = E[w²] E[x²] = 1 for true Gaussians; a normal truncated at 2 s.d. (the
    # stock initializers) has variance 0.77. The tails themselves are checked on the scalar
    # net's draws in test_init_smoothness.py
    z = np.asarray(
        moments.sample_preactivations(
            jax.random.key(16), weight_var=1.0, fan_in=1, num_draws=200_000
        )
    )
    assert np.mean(z**2) == pytest.approx(1.0, rel=0.02)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_variance_raises_naming_the_argument(bad):
    with pytest.raises(ValueError, match="weight_var"):
        moments.preactivation_var(bad, 10)
    with pytest.raises(ValueError, match="weight_var"):
        moments.sample_preactivations(jax.random.key(0), weight_var=bad, fan_in=3, num_draws=2)
    with pytest.raises(ValueError, match="output_weight_var"):
        moments.second_layer_var(0.1, bad, 10, 10)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_count_raises_naming_the_argument(bad):
    with pytest.raises(ValueError, match="fan_in"):
        moments.relu_second_moment(0.1, bad)
    with pytest.raises(ValueError, match="width"):
        moments.second_layer_var(0.1, 0.1, 10, bad)
    with pytest.raises(ValueError, match="depth"):
        moments.depth_second_moments(0.1, 10, bad)
    with pytest.raises(ValueError, match="num_draws"):
        moments.sample_preactivations(jax.random.key(0), weight_var=0.1, fan_in=3, num_draws=bad)


def test_samplers_pin_their_matmuls_to_the_requested_precision():
    key = jax.random.key(0)
    lowered = {
        "preactivations": moments._preactivations.lower(
            key, 0.1, fan_in=3, num_draws=2, matmul_precision="highest"
        ),
        "second_layer": moments._second_layer.lower(
            key, 0.1, 0.1, fan_in=3, width=3, num_draws=2, matmul_precision="highest"
        ),
        "depth": moments._depth_second_moments.lower(
            key, 0.1, width=3, depth=2, num_draws=2, matmul_precision="highest"
        ),
    }
    for name, program in lowered.items():
        text = program.as_text().lower()
        assert "dot_general" in text and "highest" in text, name
    with pytest.raises(ValueError, match="matmul_precision"):
        moments.sample_preactivations(
            key, weight_var=0.1, fan_in=3, num_draws=2, matmul_precision="fast"
        )
