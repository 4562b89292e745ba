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
    # an untestable cell (NaN) stays NaN and is not counted: the others are the example's
    with_nan = stats.holm([0.01, math.nan, 0.04, 0.03])
    assert math.isnan(with_nan[1])
    np.testing.assert_allclose(with_nan[[0, 2, 3]], [0.03, 0.06, 0.06])
    assert stats.holm([]).shape == (0,)


def test_prediction_z_is_t_distributed_with_n_minus_one_degrees_of_freedom():
    """A new draw against n earlier ones: P(|z| > t_0.975) = 5 % within 4 standard errors."""
    rng = np.random.default_rng(1)
    n, repeats = 4, 4000
    draws = rng.normal(size=(repeats, n + 1))
    z = np.array([stats.prediction_z(row[0], row[1:]) for row in draws])
    critical = scipy_stats.t.ppf(0.975, n - 1)
    rate = np.mean(np.abs(z) > critical)
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / repeats)


def _two_dof_p(t: float) -> float:
    """Two-sided p of Student's t with 2 degrees of freedom: its CDF is 1/2 + t/(2 sqrt(t² + 2))."""
    return 1 - abs(t) / math.sqrt(t * t + 2)


def _hand_r(x, y) -> float:
    x, y = np.asarray(x, float) - np.mean(x), np.asarray(y, float) - np.mean(y)
    return float(np.sum(x * y) / math.sqrt(np.sum(x * x) * np.sum(y * y)))


def test_correlation_and_its_p_value_against_the_closed_form_with_two_degrees_of_freedom():
    x, y = [1.0, 2.0, 3.0, 4.0, float("nan")], [1.0, 3.0, 2.0, 5.0, 7.0]
    result = stats.correlation(x, y)  # the NaN pair is dropped: n = 4, 2 degrees of freedom
    r = _hand_r(x[:4], y[:4])
    assert result["n"] == 4 and result["r"] == pytest.approx(r, rel=1e-12)
    t = r * math.sqrt(2 / (1 - r * r))
    assert result["p_value"] == pytest.approx(_two_dof_p(t), rel=1e-10)
    assert stats.correlation_p_value(r, 4) == pytest.approx(_two_dof_p(t), rel=1e-10)
    # Two controls take two degrees of freedom: n = 6 with c = 2 is the n = 4 case again.
    assert stats.correlation_p_value(r, 6, controls=2) == pytest.approx(_two_dof_p(t), rel=1e-10)
    assert math.isnan(stats.correlation([1, 2, 3], [5, 5, 5])["r"])  # no spread
    assert math.isnan(stats.correlation([1, 2], [1, 2])["p_value"])  # too few pairs
    assert math.isnan(stats.correlation_p_value(0.5, 3, controls=1))


def test_rank_correlation_is_pearson_of_mean_ranks():
    x = [1.0, 1.0, 2.0, 5.0, 3.0]
    y = [0.1, 0.4, 0.2, 9.0, 0.3]
    ranks_x = [1.5, 1.5, 3.0, 5.0, 4.0]  # the tied 1.0s share ranks 1 and 2
    ranks_y = [1.0, 4.0, 2.0, 5.0, 3.0]
    result = stats.rank_correlation(x, y)
    assert result["rho"] == pytest.approx(_hand_r(ranks_x, ranks_y), rel=1e-12)
    assert result["p_value"] == pytest.approx(stats.correlation_p_value(result["rho"], 5), rel=1e-9)
    assert stats.rank_correlation([1, 2, 3, 4], np.exp([1, 2, 3, 4]))["rho"] == pytest.approx(1)


def test_partial_correlation_with_one_control_equals_the_textbook_formula():
    rng = np.random.default_rng(2)
    z = rng.normal(size=30)
    x, y = z + rng.normal(size=30), z + 0.5 * rng.normal(size=30)
    r_xy, r_xz, r_yz = _hand_r(x, y), _hand_r(x, z), _hand_r(y, z)
    expected = (r_xy - r_xz * r_yz) / math.sqrt((1 - r_xz**2) * (1 - r_yz**2))
    result = stats.partial_correlation(x, y, z)
    assert result["r"] == pytest.approx(expected, rel=1e-10) and result["dof"] == 27
    t = expected * math.sqrt(27 / (1 - expected**2))
    assert result["p_value"] == pytest.approx(2 * scipy_stats.t.sf(abs(t), 27), rel=1e-10)


def test_within_group_correlation_removes_group_means_and_counts_their_degrees_of_freedom():
    # Groups of 3 and 2 (and a lone pair, dropped): n = 5, g = 2, so 5 - 1 - 2 = 2 degrees.
    groups = [0, 0, 0, 1, 1, 2]
    x = [0.0, 1.0, 2.0, 10.0, 12.0, 50.0]
    y = [0.5, 0.4, 1.5, 12.0, 11.0, -50.0]
    result = stats.within_group_correlation(groups, x, y)
    dx = [-1.0, 0.0, 1.0, -1.0, 1.0]
    dy = [0.5 - 0.8, 0.4 - 0.8, 1.5 - 0.8, 0.5, -0.5]
    r = _hand_r(dx, dy)
    assert (result["n"], result["groups"], result["dof"]) == (5, 2, 2)
    assert result["r"] == pytest.approx(r, rel=1e-10)
    assert result["p_value"] == pytest.approx(_two_dof_p(r * math.sqrt(2 / (1 - r * r))), rel=1e-9)
    assert math.isnan(stats.within_group_correlation([0, 1], [1.0, 2.0], [1.0, 2.0])["r"])


def test_within_group_p_value_is_calibrated_under_independence():
    """4 groups x 3 runs with large group effects on both x and y, no relation within groups.

    The rejection rate at 5 % is 5 % within 4 standard errors (0.014 for 3000 draws); the
    naive n - 2 degrees of freedom would reject about 10 % of the time here.
    """
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(4), 3)
    repeats, rejected = 3000, 0
    for _ in range(repeats):
        effect = 5 * rng.normal(size=4)[groups]
        x, y = effect + rng.normal(size=12), effect + rng.normal(size=12)
        rejected += stats.within_group_correlation(groups, x, y)["p_value"] < 0.05
    assert abs(rejected / repeats - 0.05) < 4 * math.sqrt(0.05 * 0.95 / repeats)


def test_linear_fit_slope_standard_error_and_p_against_numpy_and_the_closed_form():
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 5.0])
    fit = stats.linear_fit(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    standard_error = math.sqrt(np.sum(residuals**2) / 2 / np.sum((x - x.mean()) ** 2))
    assert fit["slope"] == pytest.approx(slope, rel=1e-12)
    assert fit["standard_error"] == pytest.approx(standard_error, rel=1e-12)
    assert fit["p_value"] == pytest.approx(_two_dof_p(slope / standard_error), rel=1e-10)
    power = stats.linear_fit([1, 2, 4, 8, 0, 3], [8, 4, 2, 1, 5, -1], log=True)
    assert power["n"] == 4 and power["slope"] == pytest.approx(-1.0)  # 0 and -1 dropped
    assert math.isnan(stats.linear_fit([1, 2], [1, 2])["slope"])
    flat = stats.linear_fit([1, 2, 3], [4, 4, 4])
    assert flat["slope"] == 0.0 and flat["p_value"] == 1.0  # no trend, and nothing to divide


def test_trend_words_follow_significance_and_are_calibrated_under_no_trend():
    x = np.arange(1.0, 9.0)
    falling = stats.linear_fit(x, 10 - x + 0.01 * np.sin(x))
    assert stats.trend_word(falling["slope"], falling["p_value"]) == "decreases"
    assert stats.trend_word(0.5, 0.01) == "increases"
    assert stats.trend_word(-5.0, 0.2) == "shows no clear trend"  # large but not significant
    assert stats.trend_word(math.nan, 0.01) == "cannot be measured"
    # No trend: a word other than "no clear trend" 5 % of the time, within 4 standard errors.
    rng = np.random.default_rng(4)
    repeats = 3000
    fits = [stats.linear_fit(x, rng.normal(size=8)) for _ in range(repeats)]
    words = [stats.trend_word(fit["slope"], fit["p_value"]) for fit in fits]
    rate = np.mean([word != "shows no clear trend" for word in words])
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / repeats)


def test_mean_test_against_the_closed_form_with_two_degrees_of_freedom():
    result = stats.mean_test([1.1, 1.3, 1.2, float("nan")], reference=1.0)
    t = (1.2 - 1.0) / (0.1 / math.sqrt(3))  # sample sd 0.1 over three values
    assert result["n"] == 3 and result["t"] == pytest.approx(t, rel=1e-10)
    assert result["p_value"] == pytest.approx(_two_dof_p(t), rel=1e-9)
    assert math.isnan(stats.mean_test([1.0])["p_value"])


def test_log_spaced_epochs_cover_both_ends_evenly_in_log_one_plus_epoch():
    epochs = stats.log_spaced_epochs(50_000, 200)
    assert epochs[0] == 0 and epochs[-1] == 50_000 and np.all(np.diff(epochs) > 0)
    # Past the dense start (where rounding merges points), consecutive ratios of 1 + epoch
    # are the grid's constant step, to the rounding of each epoch.
    step = math.log1p(50_000) / 199
    late = np.log1p(epochs[epochs > 1000].astype(float))
    np.testing.assert_allclose(np.diff(late), step, rtol=0.01)
    assert list(stats.log_spaced_epochs(6, 4)) == [0, 1, 3, 6]
