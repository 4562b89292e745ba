r"""Verdicts with a size: an effect is named only when it is significant *and* large enough.

A p-value says whether an effect can be told from noise, not whether it
matters (Wasserstein & Lazar 2016, the ASA statement on p-values); more seeds
keep finding smaller effects. So every sentence the code chooses rests on two
things fixed before the data are read (Lakens 2017, the "smallest effect size
of interest"):

- **The second-descent share.** A double descent is a rise *and* a fall that
  undoes a stated share of it. In Nakkiran et al. 2019 (*Deep double
  descent*, Fig. 1 in width and §5 Fig. 2 in epochs, and the OpenAI post on
  it) the large models' test error falls back from the peak to about its
  earlier minimum (the fall undoes about all of the rise) while the medium
  models' rises and stays up (about none). ``SECOND_DESCENT_SHARE = 0.5``
  lies half-way between the two pictures: a fall must undo at least half of
  its rise, measured from the lowest value before the peak to the lowest
  after it,

  .. math:: \text{undone} = \frac{v_\text{peak} - \min_{k > \text{peak}} v_k}
                                 {v_\text{peak} - \min_{i < \text{peak}} v_i} \ge 0.5 .

  A significant rise that falls by less is *overfitting that levels off*.

- **The seed-spread floor.** A rise, a difference or a trend must be at least
  one seed-to-seed standard deviation :math:`\sigma` of the quantity
  compared (``SPREAD_FLOOR_MULTIPLE = 1``). The floor is the scatter a reader
  sees between two runs that differ only in their seed; it does not shrink
  with more seeds, as a standard error does. For an effect :math:`d\sigma`,
  two single runs show it with the wrong sign with probability
  :math:`\Phi(-d/\sqrt2)`: 24 % at the floor, more below it.

``judge`` turns one test into one of three verdicts: *effect* (significant
and at or above the floor), *below floor* (significant but smaller: a
significant sliver, not a phenomenon) and *not detected* (with the smallest
effect the test could have detected, so "no effect" has a size too).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from jaxnn.formatting import fmt, is_finite

SIGNIFICANCE = 0.05
SECOND_DESCENT_SHARE = 0.5
SPREAD_FLOOR_MULTIPLE = 1.0

SECOND_DESCENT_REASON = (
    "a double descent's fall must undo at least half of its rise (Nakkiran et al. 2019, "
    "Fig. 1 and §5 Fig. 2: a large model's test error falls back to about its earlier "
    "minimum, a medium model's rises and stays up)"
)
SPREAD_FLOOR_REASON = (
    "an effect must be at least one seed-to-seed standard deviation of the quantity "
    "compared: below it, two runs that differ only in their seed show it with the wrong "
    "sign more than 24 % of the time"
)

# Why 3/4: a property describes "a run" only if two runs picked at random both show it more
# often than not (0.75² ≈ 0.56); a bare majority (say 9 of 16) describes neither side.
RUN_SHARE = 0.75
RUN_SHARE_REASON = (
    "a property of the runs (a regime, a signature) is named only when at least 3/4 of the "
    "runs show it and a one-sided binomial test puts its share above 1/2: then two runs picked "
    "at random both show it more often than not (0.75² ≈ 0.56)"
)

EFFECT, BELOW_FLOOR, NOT_DETECTED = "effect", "below floor", "not detected"
DOUBLE_DESCENT, LEVELS_OFF = "double descent", "overfitting that levels off"


def seed_spread(*per_seed: Sequence[float]) -> float:
    """The pooled seed-to-seed standard deviation of cells of values over seeds (NaN entries
    left out): each cell's sample variance (ddof 1) weighted by its degrees of freedom; NaN
    when no cell has two finite values.

    Example:
        >>> round(seed_spread([1.0, 2.0, 3.0], [2.0, 4.0]), 4)
        1.1547
    """
    squares, dof = 0.0, 0
    for values in per_seed:
        finite = np.asarray(values, np.float64).ravel()
        finite = finite[np.isfinite(finite)]
        if finite.size > 1:
            squares += float(np.sum((finite - finite.mean()) ** 2))
            dof += finite.size - 1
    return math.sqrt(squares / dof) if dof else math.nan


def spread_floor(*per_seed: Sequence[float]) -> float:
    """The seed-spread floor of a comparison between these cells: ``SPREAD_FLOOR_MULTIPLE`` ×
    ``seed_spread``."""
    return SPREAD_FLOOR_MULTIPLE * seed_spread(*per_seed)


def judge(
    estimate: float,
    p: float | None,
    *,
    floor: float,
    standard_error: float | None = None,
    minimum_detectable: float | None = None,
    alpha: float = SIGNIFICANCE,
) -> dict:
    """One one-sided effect (a rise, a difference, a trend's size) against its test and floor.

    ``estimate`` is the effect in the direction tested; ``p`` its one-sided p-value (after
    any multiple-comparison correction; None or NaN: untestable, not significant);
    ``floor`` the smallest effect that would matter, in the estimate's units (a NaN floor,
    e.g. a spread from one seed, never lets an effect through); ``standard_error`` and
    ``minimum_detectable`` are carried into the verdict for the text.

    Example:
        >>> judge(0.005, 0.001, floor=0.3)["verdict"], judge(1.2, 0.001, floor=0.3)["verdict"]
        ('below floor', 'effect')
    """
    significant = is_finite(p) and p < alpha
    above = bool(math.isfinite(floor) and estimate >= floor)
    if not significant:
        verdict = NOT_DETECTED
    else:
        verdict = EFFECT if above else BELOW_FLOOR
    return {
        "estimate": float(estimate),
        "standard_error": None if standard_error is None else float(standard_error),
        "p": None if p is None else float(p),
        "alpha": alpha,
        "floor": float(floor),
        "minimum_detectable": None if minimum_detectable is None else float(minimum_detectable),
        "significant": bool(significant),
        "above_floor": above,
        "verdict": verdict,
    }


def judge_share(count: int, runs: int, *, alpha: float = SIGNIFICANCE) -> dict:
    """How many of ``runs`` show a property, judged against ``RUN_SHARE``: ``judge`` of the
    share with a one-sided binomial test of a share above 1/2 (``scipy.stats.binomtest``).

    Example:
        >>> judge_share(16, 16)["verdict"], judge_share(9, 16)["verdict"]
        ('effect', 'not detected')
    """
    from scipy import stats as scipy_stats

    if runs < 1:
        return judge(math.nan, None, floor=RUN_SHARE, alpha=alpha) | {"count": count, "runs": 0}
    p = float(scipy_stats.binomtest(count, runs, 0.5, alternative="greater").pvalue)
    return judge(count / runs, p, floor=RUN_SHARE, alpha=alpha) | {"count": count, "runs": runs}


def undone_share(values: Sequence[float], peak: int) -> dict:
    """How much of the rise to ``values[peak]`` (seed means, one curve) the later values undo:
    ``rise`` over the lowest value before it, ``fall`` to the lowest after, ``undone = fall /
    rise`` (NaN without a rise).

    Example:
        >>> s = undone_share([3.0, 1.0, 2.0, 1.9, 1.95], 2)
        >>> round(s["rise"], 3), round(s["fall"], 3), round(s["undone"], 3)
        (1.0, 0.1, 0.1)
    """
    values = np.asarray(values, np.float64)
    if not 0 < peak < values.size - 1:
        raise ValueError(f"peak: need an interior index of {values.size} values, got {peak}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN sides: NaN shares
        rise = float(values[peak] - np.nanmin(values[:peak]))
        fall = float(values[peak] - np.nanmin(values[peak + 1 :]))
    undone = fall / rise if rise > 0 else math.nan
    return {"rise": rise, "fall": fall, "undone": undone}


def second_descent(rise: float, fall: float, *, fall_significant: bool = True) -> dict:
    """A significant rise, classified by how much of it the later fall undoes: ``kind`` is
    ``"double descent"`` when the fall is significant and undoes at least
    ``SECOND_DESCENT_SHARE`` of the rise, else ``"overfitting that levels off"``.

    Example:
        >>> second_descent(2.82, 0.0053)["kind"], second_descent(5.3, 4.9)["kind"]
        ('overfitting that levels off', 'double descent')
    """
    undone = fall / rise if rise > 0 else math.nan
    qualifies = bool(fall_significant and math.isfinite(undone) and undone >= SECOND_DESCENT_SHARE)
    return {
        "rise": float(rise),
        "fall": float(fall),
        "undone": float(undone),
        "share": SECOND_DESCENT_SHARE,
        "kind": DOUBLE_DESCENT if qualifies else LEVELS_OFF,
    }


def effect_text(judgement: dict, *, noun: str = "rise", number=fmt) -> str:
    """A verdict in words with its size and floor, e.g. "a rise of 5.28 ± 0.53 (p = 0.003;
    floor 1.2)". ``number(value)`` formats a value in the effect's units."""

    def size(value, error=None):
        return number(value) + ("" if error is None else f" ± {number(error)}")

    estimate = size(judgement["estimate"], judgement.get("standard_error"))
    p = judgement.get("p")
    tested = f"p = {fmt(p, 2)}; " if p is not None else ""
    floor = f"floor {number(judgement['floor'])}"
    if judgement["verdict"] == EFFECT:
        return f"a {noun} of {estimate} ({tested}{floor})"
    if judgement["verdict"] == BELOW_FLOOR:
        return f"a significant but small {noun} of {estimate} ({tested}below its {floor})"
    detectable = judgement.get("minimum_detectable")
    could = (
        f"; the test would have detected {number(detectable)} at 80 % power"
        if is_finite(detectable)
        else ""
    )
    return f"no {noun} established: {estimate} ({tested}{floor}{could})"
