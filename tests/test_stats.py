import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from jaxnn import stats


def test_seed_summary_matches_the_textbook_formulas_and_ignores_nan():
    values = [0.5, 1.5, 4.0, float("nan")]
    summary = stats.seed_summary(values)
    kept = np.array([0.5, 1.5, 4.0])
    assert summary["n"] == 3
    assert summary["mean"] == pytest.approx(kept.mean(), rel=1e-15)
    standard_deviation = math.sqrt(sum((v - kept.mean()) ** 2 for v in kept) / 2)
    assert summary["std"] == pytest.approx(standard_deviation, rel=1e-14)
    assert summary["standard_error"] == pytest.approx(standard_deviation / math.sqrt(3), rel=1e-14)
    assert (summary["min"], summary["median"], summary["max"]) == (0.5, 1.5, 4.0)


def test_seed_summary_of_one_value_has_no_spread_and_of_none_is_empty():
    one = stats.seed_summary([2.0])
    assert one["mean"] == 2.0 and math.isnan(one["standard_error"]) and one["n"] == 1
    empty = stats.seed_summary([float("nan")])
    assert empty["n"] == 0 and math.isnan(empty["mean"])


def test_paired_difference_equals_the_closed_form_t_test_with_two_degrees_of_freedom():
    """For 2 degrees of freedom the t CDF is 1/2 + t / (2 sqrt(t^2 + 2)): an independent check."""
    a, b = [3.0, 5.0, 7.0], [2.0, 3.0, 4.0]  # differences 1, 2, 3: mean 2, sd 1
    result = stats.paired_difference(a, b)
    t = 2.0 / (1.0 / math.sqrt(3))
    assert result["mean"] == pytest.approx(2.0)
    assert result["standard_error"] == pytest.approx(1 / math.sqrt(3))
    assert result["t"] == pytest.approx(t, rel=1e-12)
    assert result["p_greater"] == pytest.approx(0.5 - t / (2 * math.sqrt(t * t + 2)), rel=1e-10)


def test_paired_difference_without_spread_or_pairs():
    same = stats.paired_difference([2.0, 3.0], [1.0, 2.0])  # differences 1, 1: no spread
    assert same["t"] == math.inf and same["p_greater"] == 0.0
    lone = stats.paired_difference([2.0], [1.0])
    assert lone["n"] == 1 and math.isnan(lone["p_greater"])


def test_holm_against_a_hand_worked_example_and_its_defining_properties():
    # Sorted: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> max with 0.06 = 0.06.
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    p = np.random.default_rng(0).uniform(size=12)
    adjusted = stats.holm(p)
    assert np.all(adjusted >= p) and np.all(adjusted <= 1)
    assert adjusted[np.argmin(p)] == pytest.approx(min(1.0, 12 * p.min()))  # Bonferroni at the top
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)


def test_prediction_z_is_t_distributed_with_n_minus_one_degrees_of_freedom():
    """A new draw against n earlier ones: P(|z| > t_0.975) = 5 % within 4 standard errors."""
    rng = np.random.default_rng(1)
    n, repeats = 4, 4000
    draws = rng.normal(size=(repeats, n + 1))
    z = np.array([stats.prediction_z(row[0], row[1:]) for row in draws])
    critical = scipy_stats.t.ppf(0.975, n - 1)
    rate = np.mean(np.abs(z) > critical)
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / repeats)
