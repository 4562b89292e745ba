"""The double-descent study's sized verdicts (``double_descent_verdicts``, issue 31):
hand-made curves and the quick run."""

import json

import numpy as np
import pytest
from scipy import stats as scipy_stats

from jaxnn import verdicts
from jaxnn.studies import double_descent as dd
from jaxnn.studies import double_descent_text as text
from jaxnn.studies import double_descent_verdicts as ddv

HUMP = [3.0, 2.0, 1.0, 1.5, 2.0, 1.5, 1.05, 1.0, 1.0, 1.0]  # falls back all the way
PLATEAU = [3.0, 2.0, 1.0, 1.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]  # rises and stays up
SLIVER = [3.0, 2.0, 1.0, 1.5, 2.0, 1.9, 1.9, 1.9, 1.9, 1.9]  # falls back 10 % of its rise


def _panel(curves, seeds=5, noise=0.01):
    """An ``epochwise`` entry with per-seed curves: a seed offset shared by the curve
    (paired over epochs, as a seed is in the study) plus a little cell noise."""
    rng = np.random.default_rng(0)
    losses = np.stack(
        [
            np.asarray(c)[None, :]
            + 0.05 * rng.standard_normal((seeds, 1))
            + noise * rng.standard_normal((seeds, len(c)))
            for c in curves
        ]
    )  # [width, seed, epoch]
    return {
        "n_train": 100,
        "epochs": list(range(losses.shape[2])),
        "widths": [10 * (i + 1) for i in range(len(curves))],
        "test_loss": losses.mean(axis=1).tolist(),
        "test_loss_standard_error": scipy_stats.sem(losses, axis=1).tolist(),
        "test_loss_per_seed": losses.tolist(),
    }


def test_a_hump_qualifies_a_plateau_and_a_significant_sliver_do_not():
    panel = ddv.epochwise_verdicts(_panel([HUMP, PLATEAU, SLIVER]))
    kinds = {m["width"]: m["kind"] for m in panel["nonmonotone"]}
    assert kinds == {
        10: verdicts.DOUBLE_DESCENT,
        20: verdicts.LEVELS_OFF,
        30: verdicts.LEVELS_OFF,
    }
    assert panel["double_descent_widths"] == [10] and panel["verdict"] == verdicts.DOUBLE_DESCENT
    assert panel["sliver_widths"] == [30] and panel["slivers"] >= 1
    sliver = next(f for f in panel["significant_rise_and_fall"] if f["width"] == 30)
    assert sliver["kind"] == "sliver" and 0.05 < sliver["undone"] < 0.2
    hump = next(m for m in panel["nonmonotone"] if m["width"] == 10)
    assert hump["undone"] >= verdicts.SECOND_DESCENT_SHARE and hump["rise"] >= hump["rise_floor"]


def test_without_the_double_descent_the_panel_says_overfitting_that_levels_off():
    panel = ddv.epochwise_verdicts(_panel([PLATEAU, SLIVER]))
    assert panel["verdict"] == verdicts.LEVELS_OFF and not panel["double_descent_widths"]
    sentence = text.epochwise_sentence({"epochwise": [panel]})
    assert sentence.startswith("**No epoch-wise double descent**") and "1 widths" not in sentence


def test_a_file_without_per_seed_curves_asks_for_a_rerun():
    panel = _panel([HUMP])
    del panel["test_loss_per_seed"]
    with pytest.raises(ValueError, match="rerun the study"):
        ddv.epochwise_verdicts(panel)


def _rows(n_train, width_means, seeds, spread):
    rng = np.random.default_rng(n_train)
    return [
        {
            "n_train": n_train,
            "width": width,
            "test_loss": mean,
            "test_loss_per_seed": (mean + spread * rng.standard_normal(seeds)).tolist(),
        }
        for width, mean in width_means.items()
    ]


def test_more_data_hurts_only_when_significant_and_at_least_the_seed_spread():
    small = _rows(100, {10: 1.0, 20: 1.0, 30: 1.0}, 200, 1.0)
    large = _rows(200, {10: 1.0, 20: 3.0, 30: 1.4}, 200, 1.0)  # 30: a significant sliver
    tested = ddv.tested_harm({100: small, 200: large}, 100, 200)
    verdict = {c["width"]: c["verdict"] for c in tested["comparisons"]}
    assert verdict == {10: verdicts.NOT_DETECTED, 20: verdicts.EFFECT, 30: verdicts.BELOW_FLOOR}
    assert tested["harmful_widths"] == [20] and tested["below_floor_widths"] == [30]
    assert tested["largest"]["width"] == 20 and 0.8 < tested["largest"]["floor"] < 1.2


def test_ranges_join_neighbouring_grid_widths():
    grid = [2, 4, 6, 8, 28, 30, 32, 56, 64, 200]
    assert text.ranges([28, 30, 32, 56, 64], grid) == "28–64"
    assert text.ranges([2, 6, 8, 200], grid) == "2, 6–8, 200" and text.ranges([], grid) == "none"


@pytest.mark.slow  # the study's --quick run, end to end (shared with the smoke test)
def test_with_verdicts_on_the_quick_run_is_idempotent_and_what_the_run_wrote(quick_outputs):
    _, out, _ = quick_outputs("double_descent")
    written = json.loads((out / "double_descent.json").read_text())
    again = dd.with_verdicts(written)
    assert again == written and dd.with_verdicts(again) == again
    for panel in written["epochwise"]:
        for mark in panel["nonmonotone"]:
            qualifies = mark["undone"] >= verdicts.SECOND_DESCENT_SHARE
            assert (mark["kind"] == verdicts.DOUBLE_DESCENT) == (
                qualifies and mark["tested"] == "rise and fall"
            )
    rows = dd.answers(written)
    assert {r["item"] for r in rows} >= {"CA 1(b)", "CA 1(c)", "CA 1(d)", "Beyond the sheet"}
    for row in rows:
        assert set(row) == {"item", "question", "answer", "figure"}
        assert "\n" not in row["answer"] and len(row["answer"]) <= 400, row
    assert "double descent" not in json.dumps(
        [p["nonmonotone"] for p in written["epochwise"]]
    ) or any(p["double_descent_widths"] for p in written["epochwise"])
