import math

import numpy as np
import pytest

from jaxnn import peaks, stats


def test_peak_of_finds_the_largest_rise_above_a_dip_and_tests_both_sides_with_holm():
    per_seed = [[0.45, 0.49, 0.43], [0.40, 0.42, 0.41], [0.50, 0.525, 0.511], [0.40, 0.421, 0.41]]
    peak = peaks.peak_of(per_seed)
    assert (peak["index"], peak["dip_index"], peak["cells_scanned"]) == (2, 1, 3)
    assert peak["rise"] == pytest.approx(np.mean([0.10, 0.105, 0.101]), rel=1e-12)
    assert peak["excess"] == pytest.approx(np.mean([0.10, 0.104, 0.101]), rel=1e-12)
    # The peak's excess has the smallest of the three p-values: Holm multiplies it by 3.
    assert peak["excess_p_holm"] == pytest.approx(min(1.0, 3 * peak["excess_p"]))
    assert peak["excess_p"] == pytest.approx(
        stats.paired_difference(per_seed[2], per_seed[3])["p_greater"], rel=1e-9
    )
    assert peak["significant"]


def test_peak_of_a_falling_curve_is_none_and_of_a_rising_end_has_no_second_descent():
    falling = [[0.6 - 0.1 * k, 0.61 - 0.1 * k, 0.62 - 0.1 * k] for k in range(3)]
    assert peaks.peak_of(falling)["index"] is None
    rising = [[0.5, 0.52, 0.51], [0.4, 0.41, 0.42], [0.6, 0.62, 0.61]]
    peak = peaks.peak_of(rising)
    assert peak["index"] == 2 and peak["excess_p_holm"] is None and not peak["significant"]
    assert peaks.peak_of([[1.0, 2.0]]) is None


def test_peak_of_seeds_that_disagree_is_not_significant():
    noisy = [[0.45, 0.47, 0.46], [0.40, 0.42, 0.41], [0.60, 0.32, 0.611], [0.40, 0.421, 0.41]]
    assert not peaks.peak_of(noisy)["significant"]


def _null_grid(rng, curves=4, seeds=3, cells=20):
    return rng.normal(size=(curves, seeds, cells))


def test_nonmonotone_cells_on_pure_noise_rarely_finds_anything():
    """Under the complete null, BH keeps P(any discovery) <= 5 %: bound 5 % + 3 standard errors.

    The naive rule the study used before (a rise and a fall of two standard errors of
    the difference of seed means, anywhere) marks most of the same noise grids.
    """
    rng = np.random.default_rng(0)
    grids = 150
    found = naive = 0
    for _ in range(grids):
        curves = _null_grid(rng)
        found += bool(peaks.nonmonotone_cells(curves)["marks"])
        mean = curves.mean(axis=1)
        error = curves.std(axis=1, ddof=1) / math.sqrt(curves.shape[1])
        naive += any(
            mean[c, j] - mean[c, i] > 2 * math.hypot(error[c, i], error[c, j])
            and mean[c, j] - mean[c, k] > 2 * math.hypot(error[c, j], error[c, k])
            for c in range(curves.shape[0])
            for j in range(1, curves.shape[2] - 1)
            for i in range(j)
            for k in range(j + 1, curves.shape[2])
        )
    assert found / grids <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / grids)
    assert naive / grids > 0.5


def test_nonmonotone_cells_marks_a_clear_double_descent_and_a_clear_rise():
    rng = np.random.default_rng(1)
    epochs = np.arange(12)
    shapes = [
        np.where(epochs < 6, -0.1 * epochs, -0.6 + 0.3 * (epochs - 5)) * 0 + 0.0,
        np.r_[np.linspace(1.0, 0.5, 4), np.linspace(0.5, 1.0, 4), np.linspace(1.0, 0.3, 4)],
        np.r_[np.linspace(1.0, 0.5, 6), np.linspace(0.5, 1.2, 6)],
    ]
    curves = np.stack([s[None, :] + 0.01 * rng.normal(size=(4, epochs.size)) for s in shapes])
    result = peaks.nonmonotone_cells(curves)
    kinds = {mark["curve"]: mark["kind"] for mark in result["marks"]}
    assert kinds == {1: "double descent", 2: "overfitting that levels off"}
    assert result["cells_scanned"] == 3 * (epochs.size - 2)
    mark = next(m for m in result["marks"] if m["curve"] == 1)
    assert 4 <= mark["index"] <= 8 and mark["rise"] > 0.3 and mark["fall"] > 0.3


def test_pairwise_p_values_are_the_paired_t_tests_of_every_pair():
    rng = np.random.default_rng(2)
    values = rng.normal(size=(4, 5))  # [seed, cell]
    values[1, 3] = np.nan  # a diverged seed drops out of the pairs it is in
    p = peaks.pairwise_p_greater(values)
    for i in range(5):
        for j in range(5):
            if i == j:
                continue
            keep = np.isfinite(values[:, i]) & np.isfinite(values[:, j])
            expected = stats.paired_difference(values[keep, j], values[keep, i])["p_greater"]
            assert p[i, j] == pytest.approx(expected, rel=1e-9), (i, j)
    assert peaks.pairwise_p_greater(np.ones((1, 3)))[0, 1] == 1.0  # one seed: nothing to test


def _curve_with_a_bump():
    """[cell][seed]: a fall, a dip at cell 2, a bump at cells 4-5, a second descent."""
    means = [0.60, 0.45, 0.40, 0.44, 0.50, 0.49, 0.43, 0.41]
    wiggle = [0.0, 0.012, -0.008, 0.005, -0.01, 0.003]
    return [
        [m + w + 0.004 * k * (c % 3) for k, w in enumerate(wiggle)] for c, m in enumerate(means)
    ]


def test_threshold_contrast_equals_scipy_paired_t_tests_with_bonferroni_over_earlier_cells():
    from scipy import stats as scipy_stats

    per_seed = _curve_with_a_bump()
    contrast = peaks.threshold_contrast(per_seed, [4, 5])
    window = np.mean(np.asarray(per_seed)[[4, 5]], axis=0)
    earlier = [
        scipy_stats.ttest_rel(window, per_seed[i], alternative="greater").pvalue for i in range(4)
    ]
    best = int(np.argmin(earlier))
    assert contrast["tested"] and contrast["rise_versus"] == best == 2
    assert contrast["rise_cells"] == 4
    assert contrast["rise_p"] == pytest.approx(min(1.0, 4 * earlier[best]), rel=1e-9)
    assert contrast["rise"] == pytest.approx(np.mean(window - np.asarray(per_seed[2])), rel=1e-12)
    last = scipy_stats.ttest_rel(window, per_seed[-1], alternative="greater").pvalue
    assert contrast["excess_p"] == pytest.approx(last, rel=1e-9)
    assert contrast["significant"] == (contrast["rise_p"] < 0.05 and last < 0.05)
    assert contrast["window_value"] == pytest.approx(window.mean(), rel=1e-12)


def test_threshold_contrast_needs_cells_on_both_sides_and_a_contiguous_window():
    per_seed = _curve_with_a_bump()
    assert not peaks.threshold_contrast(per_seed, [0, 1])["tested"]
    assert not peaks.threshold_contrast(per_seed, [6, 7])["significant"]
    with pytest.raises(ValueError, match="window"):
        peaks.threshold_contrast(per_seed, [3, 5])
    with pytest.raises(ValueError, match="window"):
        peaks.threshold_contrast(per_seed, [8])


def test_contrast_at_threshold_places_the_window_by_axis_value_and_neighbour():
    per_seed = _curve_with_a_bump()
    axis = [2, 3, 4, 6, 8, 11, 16, 22]
    below = peaks.contrast_at_threshold(per_seed, axis, 11)
    assert below["window"] == [4, 5] and below["window_values"] == [8, 11]
    assert below["rise_versus_value"] == 4 and below["last_value"] == 22
    above = peaks.contrast_at_threshold(per_seed, axis, 8, neighbour=1)
    assert above["window_values"] == [8, 11]
    assert not peaks.contrast_at_threshold(per_seed, axis, None)["tested"]
    with pytest.raises(ValueError, match="neighbour"):
        peaks.contrast_at_threshold(per_seed, axis, 8, neighbour=2)


@pytest.mark.parametrize("n, level", [(4, 0.05 / 10), (8, 0.05)])
def test_minimum_detectable_difference_is_detected_with_the_stated_power_by_monte_carlo(n, level):
    import jax
    from scipy import stats as scipy_stats

    # With the true spread σ, a mean difference of minimum_detectable(σ/√n, n, level) is
    # rejected by the one-sided t-test with probability 0.8 (the noncentral t, exactly).
    runs = 20_000
    delta = peaks.minimum_detectable(1.0 / math.sqrt(n), n, level)
    draws = np.asarray(jax.random.normal(jax.random.key(n), (runs, n)), np.float64) + delta
    t = draws.mean(axis=1) / (draws.std(axis=1, ddof=1) / math.sqrt(n))
    rejected = np.mean(t > scipy_stats.t.isf(level, n - 1))
    standard_error = math.sqrt(0.8 * 0.2 / runs)
    assert abs(rejected - 0.8) < 4 * standard_error
    assert math.isnan(peaks.minimum_detectable(1.0, 1, 0.05))


def _hand_made_curves(fall_back: float, seeds: int = 8, noise: float = 0.01):
    """[curve=1, seed, epoch]: down from 1 to 0.5, up to 1.5, then down by ``fall_back`` of the
    rise; seeds share the curve and differ by small noise, so every step is significant."""
    rng = np.random.default_rng(7)
    shape = np.r_[
        np.linspace(1.0, 0.5, 5),
        np.linspace(0.6, 1.5, 5),
        1.5 - fall_back * np.r_[0.3, 0.6, 1.0, 1.0],
    ]
    return shape[None, None, :] + noise * rng.normal(size=(1, seeds, shape.size))


@pytest.mark.parametrize(
    ("fall_back", "kind"),
    [
        (0.9, "double descent"),  # a hump: the fall undoes 90 % of the rise
        (0.0, "overfitting that levels off"),  # a plateau
        (0.05, "overfitting that levels off"),  # a significant sliver: 5 % of the rise
    ],
)
def test_nonmonotone_cells_names_double_descent_only_when_the_fall_undoes_half_the_rise(
    fall_back, kind
):
    result = peaks.nonmonotone_cells(_hand_made_curves(fall_back))
    (mark,) = result["marks"]
    assert mark["kind"] == kind
    assert mark["rise"] == pytest.approx(1.0, abs=0.05)
    if fall_back == 0.05:  # the sliver is significant: the share alone refuses it
        assert result["slivers"] >= 1 and mark["undone"] < 0.5


def test_nonmonotone_cells_ignores_a_significant_rise_below_the_seed_spread():
    # Seeds differ by a common offset of spread 1 (a paired test sees through it), the
    # curve rises by 0.1: significant, below the one-standard-deviation floor.
    rng = np.random.default_rng(3)
    shape = np.r_[np.linspace(1.0, 0.5, 5), np.linspace(0.52, 0.6, 5)]
    curves = (
        shape[None, None, :] + rng.normal(size=(1, 16, 1)) + 1e-3 * rng.normal(size=(1, 16, 10))
    )
    assert peaks.nonmonotone_cells(curves)["marks"] == []


def _contrast_curve(excess_share: float, seeds: int = 6):
    """[cell][seed]: dip, a window peak 1 above it at cell 3, the last cell ``excess_share``
    of the rise below the peak."""
    rng = np.random.default_rng(5)
    means = [2.0, 1.0, 1.2, 2.0, 1.8, 2.0 - excess_share]
    return [m + 0.02 * rng.normal(size=seeds) for m in means]


@pytest.mark.parametrize(
    ("excess_share", "verdict"),
    [
        (0.8, "double descent"),  # a hump: the widest falls back 80 % of the rise
        (0.0, "overfitting that levels off"),  # a plateau: no significant excess
        (0.1, "overfitting that levels off"),  # a significant sliver: 10 % of the rise
    ],
)
def test_threshold_contrast_verdict_needs_the_second_descent_share(excess_share, verdict):
    contrast = peaks.threshold_contrast(_contrast_curve(excess_share), [3])
    assert contrast["rise_verdict"] == "effect"
    assert contrast["significant"] == (excess_share > 0)  # the sliver passes both p-values
    assert contrast["verdict"] == verdict
    assert contrast["qualifies"] == (verdict == "double descent")


def test_threshold_contrast_measures_the_share_undone_against_the_whole_rise_from_the_dip():
    # The cell just before the window is the most significant comparison (tiny spread), but
    # the dip is cell 1: the second descent's share is of the whole rise from there.
    rng = np.random.default_rng(11)
    means = [2.0, 0.5, 2.5, 3.0, 1.0]
    spread = [0.3, 0.3, 0.001, 0.001, 0.3]
    per_seed = [m + s * rng.normal(size=6) for m, s in zip(means, spread)]
    contrast = peaks.threshold_contrast(per_seed, [3])
    window = np.mean(per_seed[3])
    assert contrast["dip"] == 1
    assert contrast["rise_from_dip"] == pytest.approx(window - np.mean(per_seed[1]))
    assert contrast["undone"] == pytest.approx(contrast["excess"] / contrast["rise_from_dip"])
