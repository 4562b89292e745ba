import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from jaxnn import verdicts


def test_seed_spread_is_the_pooled_standard_deviation():
    a, b = [1.0, 2.0, 4.0, np.nan], [3.0, 7.0]
    pooled = math.sqrt((np.var(a[:3], ddof=1) * 2 + np.var(b, ddof=1) * 1) / 3)
    assert verdicts.seed_spread(a, b) == pytest.approx(pooled, rel=1e-12)
    assert math.isnan(verdicts.seed_spread([1.0], [2.0]))  # one seed each: no spread


def test_judge_names_an_effect_only_when_significant_and_above_its_floor():
    assert verdicts.judge(1.0, 0.01, floor=0.5)["verdict"] == "effect"
    assert verdicts.judge(0.1, 1e-6, floor=0.5)["verdict"] == "below floor"
    assert verdicts.judge(1.0, 0.2, floor=0.5)["verdict"] == "not detected"
    assert verdicts.judge(1.0, None, floor=0.5)["verdict"] == "not detected"
    assert verdicts.judge(1.0, 0.01, floor=math.nan)["verdict"] == "below floor"


def test_the_floors_reason_matches_its_number():
    # Two runs differing only in their seed show an effect of one spread with the wrong
    # sign with probability Phi(-1/sqrt 2); the docstring and reason say 24 %.
    wrong = scipy_stats.norm.cdf(-verdicts.SPREAD_FLOOR_MULTIPLE / math.sqrt(2))
    assert round(100 * wrong) == 24


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([2.0, 1.0, 3.0, 1.2, 1.1], "double descent"),  # a hump back to near its start
        ([2.0, 1.0, 3.0, 3.0, 3.0], "overfitting that levels off"),  # a plateau
        ([2.0, 1.0, 3.0, 2.99, 2.98], "overfitting that levels off"),  # a sliver
    ],
)
def test_second_descent_share_on_hand_made_curves(values, kind):
    size = verdicts.undone_share(values, 2)
    assert size["rise"] == pytest.approx(2.0)
    assert verdicts.second_descent(size["rise"], size["fall"])["kind"] == kind


def test_second_descent_needs_a_significant_fall():
    assert verdicts.second_descent(1.0, 0.9, fall_significant=False)["kind"] == (
        "overfitting that levels off"
    )


def test_effect_text_states_size_and_floor():
    text = verdicts.effect_text(verdicts.judge(0.005, 1e-4, floor=0.3, standard_error=0.001))
    assert "0.005 ± 0.001" in text and "below its floor 0.3" in text
    text = verdicts.effect_text(verdicts.judge(0.2, 0.3, floor=0.3, minimum_detectable=0.9))
    assert text.startswith("no rise established") and "0.9" in text
