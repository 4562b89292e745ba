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
    assert kinds == {1: "double descent", 2: "overfitting"}
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
