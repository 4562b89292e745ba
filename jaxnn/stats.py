r"""Statistics over seeds, on ``scipy.stats``: summaries, paired tests, multiple comparisons.

Every study reports a seed mean with its standard error
:math:`s/\sqrt n` (``scipy.stats.sem``), ignoring NaN (a diverged run is
flagged, never averaged). Differences between two settings measured on the
same seeds (same data draw, same label noise) are *paired*: the test is a
one-sample t-test on the per-seed differences. A claim chosen by scanning
many cells (the peak over widths) is tested with the scan counted: Holm's
step-down correction of the cells' p-values (Holm 1979), which controls the
family-wise error rate without assuming independence.

A single published run against our seeds: if our n seeds have mean
:math:`\bar x` and standard deviation :math:`s`, a new run of the same
experiment differs from :math:`\bar x` with standard deviation
:math:`s\sqrt{1 + 1/n}` (its own seed spread plus our mean's error), so
``prediction_z`` is the difference in those units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats


def seed_summary(values) -> dict:
    """Mean, standard error, standard deviation, count, median, min and max over seeds.

    NaN entries (diverged runs) are left out; with fewer than two finite
    values the standard error and deviation are NaN, never 0.

    Example:
        >>> s = seed_summary([1.0, 2.0, 3.0, float("nan")])
        >>> s["mean"], s["n"], round(s["standard_error"], 4)
        (2.0, 3, 0.5774)
    """
    values = np.asarray(values, np.float64).ravel()
    finite = values[np.isfinite(values)]
    n = int(finite.size)
    if n == 0:
        return dict.fromkeys(("mean", "standard_error", "std", "median", "min", "max"), math.nan) | {"n": 0}
    spread = n > 1
    return {
        "mean": float(finite.mean()),
        "standard_error": float(scipy_stats.sem(finite)) if spread else math.nan,
        "std": float(finite.std(ddof=1)) if spread else math.nan,
        "median": float(np.median(finite)),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "n": n,
    }


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict:
    """``a - b`` over paired seeds: mean, standard error, t and the one-sided p of ``a > b``.

    Returns NaN statistics with fewer than two pairs (no spread to test against).
    """
    difference = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    difference = difference[np.isfinite(difference)]
    summary = seed_summary(difference)
    if summary["n"] < 2:
        return {
            "mean": summary["mean"],
            "standard_error": math.nan,
            "t": math.nan,
            "p_greater": math.nan,
            "n": summary["n"],
        }
    if summary["std"] == 0:  # identical differences: t is infinite in the sign of the mean
        t = math.copysign(math.inf, summary["mean"]) if summary["mean"] else 0.0
        p = 0.0 if summary["mean"] > 0 else 1.0
    else:  # scipy.stats.ttest_1samp's statistic, without its warning for nearly equal values
        t = summary["mean"] / summary["standard_error"]
        p = float(scipy_stats.t.sf(t, summary["n"] - 1))
    return {
        "mean": summary["mean"],
        "standard_error": summary["standard_error"],
        "t": t,
        "p_greater": p,
        "n": summary["n"],
    }


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error over all the cells scanned).

    The k-th smallest of m p-values is multiplied by m - k + 1, then made
    monotone; a cell is significant at level α when its adjusted p is ≤ α.

    Example:
        >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, np.float64)
    order = np.argsort(p)
    m = p.size
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def prediction_z(value: float, samples: Sequence[float]) -> float:
    """``(value - mean) / (std sqrt(1 + 1/n))``: a single new run against our seeds' spread."""
    summary = seed_summary(samples)
    if not summary["n"] > 1 or not summary["std"] > 0:
        return math.nan
    return (value - summary["mean"]) / (summary["std"] * math.sqrt(1 + 1 / summary["n"]))
