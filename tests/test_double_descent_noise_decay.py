import json
import math

import pytest

from jaxnn.studies import double_descent_noise_decay as study


def _rows(means, errors=None):
    errors = errors or [0.01] * len(means)
    return [
        {"width": 4 * (i + 1), "n_params": i, "excess_risk": m, "excess_risk_standard_error": e}
        for i, (m, e) in enumerate(zip(means, errors))
    ]


def test_peak_is_the_largest_rise_above_a_narrower_dip():
    peak = study.peak_of(_rows([2.0, 1.0, 3.0, 2.0, 0.5], [0.1, 0.3, 0.4, 0.2, 0.0]))
    assert peak["width"] == 12 and peak["dip_width"] == 8 and peak["excess_risk"] == 3.0
    assert peak["height"] == pytest.approx(2.0)
    assert peak["height_standard_error"] == pytest.approx(0.5)
    assert peak["height_over_widest"] == pytest.approx(2.5)
    # A curve that only falls (an under-fitting start) has no peak.
    falling = study.peak_of(_rows([3.0, 2.0, 1.0]))
    assert falling["width"] is None and falling["height"] == 0.0


def test_monotone_violations_count_only_rises_beyond_two_standard_errors():
    # 1.0 -> 1.02 is within 2 s.e. (0.028); 1.0 -> 1.5 is not; falling never counts.
    assert study.monotone_violations(_rows([1.0, 1.02, 0.9])) == []
    violations = study.monotone_violations(_rows([1.0, 1.5, 0.9]))
    assert [(v["narrow"], v["wide"]) for v in violations] == [(4, 8)]
    assert violations[0]["increase"] == pytest.approx(0.5)


def test_noise_levels_share_inputs_and_noise_draws():
    """Paired levels: the targets at s differ from the clean ones by s times one noise draw."""
    import dataclasses

    import jax
    import numpy as np

    from jaxnn import data

    config = study.QUICK
    key = jax.random.key(3)
    sets = {
        s: data.make_dataset(key, dataclasses.replace(config.data, noise_std=s), 20, n_draws=2)
        for s in (0.0, 0.5, 2.0)
    }
    np.testing.assert_array_equal(sets[0.5].x_train, sets[2.0].x_train)
    unit = (sets[0.5].y_train - sets[0.0].y_train) / 0.5
    np.testing.assert_allclose((sets[2.0].y_train - sets[0.0].y_train) / 2.0, unit, atol=1e-5)


def test_quick_run_writes_numbers_and_figures(tmp_path):
    import double_descent_noise_decay

    results = double_descent_noise_decay.main(
        ["--quick", "--quiet", "--out", str(tmp_path), "--runs", str(tmp_path / "runs")]
    )
    saved = json.loads((tmp_path / "double_descent_noise_decay.json").read_text())
    config = study.QUICK
    assert len(saved["noise_rows"]) == len(config.noise_stds) * len(config.widths)
    assert len(saved["decay_rows"]) == (1 + len(config.weight_decays)) * len(config.widths)
    for row in saved["noise_rows"] + saved["decay_rows"]:
        assert math.isfinite(row["excess_risk"]) and row["excess_risk"] >= 0, row
    for row in saved["optimal_decay_rows"]:
        assert row["excess_risk"] <= row["unregularized_excess_risk"] + 1e-12
    assert results["run"]["config"]["noise_stds"] == list(config.noise_stds)
    markdown = (tmp_path / "double_descent_noise_decay.md").read_text()
    assert markdown.count("![") == 2
    for name in ("noise", "decay"):
        assert (tmp_path / f"double_descent_{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, name",
    [
        (["--noise-stds", "inf"], "--noise-stds"),
        (["--noise-stds", "-1"], "--noise-stds"),
        (["--weight-decays", "0"], "--weight-decays"),
        (["--widths", "5000"], "--widths"),
    ],
)
def test_bad_input_exits_2_with_one_line(bad_input, args, name):
    bad_input("double_descent_noise_decay", args, name)
