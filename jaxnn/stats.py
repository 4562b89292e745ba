r"""Statistics over seeds, on ``scipy.stats``: summaries, paired tests, correlations, trends.

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

Correlations and trends over runs: Pearson's r with its exact p-value
(``scipy.stats.pearsonr``: under independence and normality
:math:`t = r\sqrt{(n-2)/(1-r^2)}` has Student's t distribution with
:math:`n - 2` degrees of freedom), Spearman's ρ (``scipy.stats.spearmanr``),
and the least-squares slope with its standard error and p-value
(``scipy.stats.linregress``), also of :math:`\log y` on :math:`\log x`. A
partial correlation controlling for :math:`c` variables (the correlation of
the residuals of x and y after regressing both on the controls) has the
same t distribution with :math:`n - 2 - c` degrees of freedom (Fisher 1924);
the correlation *within groups* (each group's mean removed from x and y) is
the partial correlation controlling for the :math:`g - 1` group indicators.
A trend is called rising or falling only when its slope is significant
(``trend_word``); a sentence chosen from many such tests passes their
p-values through ``holm`` first and says how many it scanned.
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
        return dict.fromkeys(
            ("mean", "standard_error", "std", "median", "min", "max"), math.nan
        ) | {"n": 0}
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
    mean, n = summary["mean"], summary["n"]
    if n < 2:  # seed_summary's standard error is NaN too
        t = p = math.nan
    elif summary["std"] == 0:  # identical differences: t is infinite in the sign of the mean
        t = math.copysign(math.inf, mean) if mean else 0.0
        p = 0.0 if mean > 0 else 1.0
    else:  # scipy.stats.ttest_1samp's statistic, without its warning for nearly equal values
        t = mean / summary["standard_error"]
        p = float(scipy_stats.t.sf(t, n - 1))
    standard_error = summary["standard_error"]
    return {"mean": mean, "standard_error": standard_error, "t": t, "p_greater": p, "n": n}


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error over all the cells scanned).

    The k-th smallest of m p-values is multiplied by m - k + 1, then made
    monotone; a cell is significant at level α when its adjusted p is ≤ α. A NaN
    (an untestable cell) stays NaN and is not counted in m.

    Example:
        >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, np.float64)
    adjusted = np.full(p.shape, math.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    running = 0.0
    for rank, index in enumerate(finite[np.argsort(p[finite])]):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def prediction_z(value: float, samples: Sequence[float]) -> float:
    """``(value - mean) / (std sqrt(1 + 1/n))``: a single new run against our seeds' spread."""
    summary = seed_summary(samples)
    if not summary["n"] > 1 or not summary["std"] > 0:
        return math.nan
    return (value - summary["mean"]) / (summary["std"] * math.sqrt(1 + 1 / summary["n"]))


def mean_test(values: Sequence[float], reference: float = 0.0) -> dict:
    """One-sample two-sided t-test of the finite ``values`` against ``reference``
    (``scipy.stats.ttest_1samp``); t and p are NaN with fewer than two values or no spread."""
    summary = seed_summary(values)
    result = {"mean": summary["mean"], "standard_error": summary["standard_error"]}
    result |= {"t": math.nan, "p_value": math.nan, "n": summary["n"]}
    if summary["n"] < 2 or not summary["std"] > 0:
        return result
    values = np.asarray(values, np.float64)
    test = scipy_stats.ttest_1samp(values[np.isfinite(values)], reference)
    return result | {"t": float(test.statistic), "p_value": float(test.pvalue)}


def finite_pairs(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(x[i], y[i])`` where both are finite (``None`` counts as missing)."""
    x = np.array([math.nan if v is None else v for v in np.ravel(x)], np.float64)
    y = np.array([math.nan if v is None else v for v in np.ravel(y)], np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y: need equal lengths, got {x.size} and {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _spread(values: np.ndarray) -> bool:
    return values.size > 0 and bool(np.ptp(values) > 0)


def correlation_p_value(r: float, n: int, controls: int = 0) -> float:
    r"""Two-sided p of a (partial) correlation ``r`` of ``n`` pairs against 0, from the t of the
    module docstring with ν = n - 2 - ``controls`` degrees of freedom; NaN when r is NaN or ν < 1.

    Example:
        >>> round(correlation_p_value(0.5, 12), 4)  # = scipy.stats.pearsonr's p
        0.0979
    """
    dof = n - 2 - controls
    if not math.isfinite(r) or dof < 1:
        return math.nan
    if abs(r) >= 1:
        return 0.0
    t = abs(r) * math.sqrt(dof / (1 - r * r))
    return float(2 * scipy_stats.t.sf(t, dof))


def _correlate(test, name: str, x: Sequence[float], y: Sequence[float]) -> dict:
    """``{name, "p_value", "n"}`` of ``test`` on the finite pairs; NaN with fewer than three
    pairs or when either variable has no spread."""
    x, y = finite_pairs(x, y)
    if x.size < 3 or not _spread(x) or not _spread(y):
        return {name: math.nan, "p_value": math.nan, "n": int(x.size)}
    result = test(x, y)
    return {name: float(result.statistic), "p_value": float(result.pvalue), "n": int(x.size)}


def correlation(x: Sequence[float], y: Sequence[float]) -> dict:
    """Pearson's ``r`` of the finite pairs and its exact two-sided p (``scipy.stats.pearsonr``)."""
    return _correlate(scipy_stats.pearsonr, "r", x, y)


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> dict:
    """Spearman's ``rho`` of the finite pairs (ties share their mean rank) and its two-sided p
    (``scipy.stats.spearmanr``: from the t approximation with n - 2 degrees of freedom)."""
    return _correlate(scipy_stats.spearmanr, "rho", x, y)


def partial_correlation(x: Sequence[float], y: Sequence[float], controls) -> dict:
    """Correlation of x and y with ``controls[n, c]`` regressed out of both, and its p.

    Both are regressed by least squares on an intercept and the controls; r is the
    correlation of the residuals, its p from ``correlation_p_value`` with c the rank of the
    design minus one (a control that combines the others counts once). Rows with a
    non-finite value are dropped.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    controls = np.asarray(controls, np.float64).reshape(x.size, -1)
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(controls).all(axis=1)
    x, y, controls = x[keep], y[keep], controls[keep]
    design = np.column_stack([np.ones(x.size), controls])
    rank = int(np.linalg.matrix_rank(design)) if x.size else 0
    dof = x.size - 1 - rank
    if dof < 1:
        return {"r": math.nan, "p_value": math.nan, "n": int(x.size), "dof": max(dof, 0)}
    residual = lambda v: v - design @ np.linalg.lstsq(design, v, rcond=None)[0]  # noqa: E731
    rx, ry = residual(x), residual(y)
    scale = max(np.abs(x).max(), np.abs(y).max(), 1.0)
    # Residuals that are rounding noise (x or y fully explained) have no correlation to test.
    if np.abs(rx).max() <= 1e-12 * scale or np.abs(ry).max() <= 1e-12 * scale:
        return {"r": math.nan, "p_value": math.nan, "n": int(x.size), "dof": dof}
    r = float(np.clip(rx @ ry / math.sqrt((rx @ rx) * (ry @ ry)), -1.0, 1.0))
    return {
        "r": r,
        "p_value": correlation_p_value(r, int(x.size), controls=rank - 1),
        "n": int(x.size),
        "dof": dof,
    }


def within_group_correlation(
    groups: Sequence[float], x: Sequence[float], y: Sequence[float]
) -> dict:
    """Pearson r of x and y within groups (each group's means removed), with its p-value: the
    partial correlation controlling for the group (n - 1 - g degrees of freedom). Only finite
    pairs count, and only groups with at least two of them.

    Example:
        >>> groups = [0, 0, 0, 1, 1, 1]
        >>> x, y = [0, 1, 2, 10, 11, 12], [2, 1, 0, 12, 11, 10]
        >>> round(correlation(x, y)["r"], 2), within_group_correlation(groups, x, y)["r"]
        (0.95, -1.0)
    """
    groups = np.asarray(groups, np.float64)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    labels = [g for g in np.unique(groups[keep]) if (keep & (groups == g)).sum() >= 2]
    if not labels:
        return {"r": math.nan, "p_value": math.nan, "n": 0, "groups": 0, "dof": 0}
    used = keep & np.isin(groups, labels)
    indicators = (groups[used][:, None] == np.asarray(labels)[None, 1:]).astype(np.float64)
    return {**partial_correlation(x[used], y[used], indicators), "groups": len(labels)}


def linear_fit(x: Sequence[float], y: Sequence[float], *, log: bool = False) -> dict:
    r"""Least-squares slope of y on x with its standard error and two-sided p (slope 0, n - 2
    degrees of freedom), ``scipy.stats.linregress`` over the finite pairs; with ``log=True``
    over the pairs with both positive, fitting :math:`\log y = a + b\log x` (a power law).
    NaN with fewer than three points or no spread in x.

    Example:
        >>> fit = linear_fit([1, 2, 4, 8], [8, 4, 2, 1], log=True)
        >>> round(fit["slope"], 6), fit["n"]
        (-1.0, 4)
    """
    x, y = finite_pairs(x, y)
    if log:
        positive = (x > 0) & (y > 0)
        x, y = np.log(x[positive]), np.log(y[positive])
    empty = dict.fromkeys(("slope", "standard_error", "intercept", "p_value", "r"), math.nan)
    if x.size < 3 or not _spread(x):
        return empty | {"n": int(x.size)}
    if not _spread(y):  # an exactly flat line: slope 0 without error, no evidence of a trend
        flat = {"slope": 0.0, "standard_error": 0.0, "intercept": float(y[0]), "p_value": 1.0}
        return empty | flat | {"n": int(x.size)}
    fit = scipy_stats.linregress(x, y)
    return {
        "slope": float(fit.slope),
        "standard_error": float(fit.stderr),
        "intercept": float(fit.intercept),
        "p_value": float(fit.pvalue),
        "r": float(fit.rvalue),
        "n": int(x.size),
    }


TREND_ALPHA = 0.05  # two-sided level at which a slope counts as a trend


def trend_word(slope: float, p_value: float, alpha: float = TREND_ALPHA) -> str:
    """``"increases"``, ``"decreases"`` or ``"shows no clear trend"``, by the slope's significance:
    its two-sided ``p_value`` (Holm-adjusted when chosen among several) below ``alpha``;
    ``"cannot be measured"`` when the slope or p is missing.

    Example:
        >>> trend_word(-0.3, 0.001), trend_word(-0.3, 0.2), trend_word(2.0, 0.01)
        ('decreases', 'shows no clear trend', 'increases')
    """
    if slope is None or p_value is None or not math.isfinite(slope) or not math.isfinite(p_value):
        return "cannot be measured"
    if p_value >= alpha or slope == 0:
        return "shows no clear trend"
    return "increases" if slope > 0 else "decreases"


def trend_table(
    x: Sequence[float], columns: dict, *, log: bool = True, alpha: float = TREND_ALPHA
) -> dict:
    """``{name: linear_fit of columns[name][run] against x[run]}``, each with ``p_holm``
    (Holm over the columns with a p-value), ``n_tests`` (how many) and ``trend_word``'s ``word``.
    """
    fits = {name: linear_fit(x, values, log=log) for name, values in columns.items()}
    adjusted = holm([fit["p_value"] for fit in fits.values()])
    tested = int(np.isfinite(adjusted).sum())
    for fit, p in zip(fits.values(), adjusted):
        fit |= {"p_holm": float(p), "n_tests": tested, "word": trend_word(fit["slope"], p, alpha)}
    return fits


def correlation_table(groups: Sequence[float], columns: dict, target: Sequence[float]) -> dict:
    """``target`` against each column, across runs (Pearson and Spearman) and within groups;
    ``p_holm`` and ``within_p_holm`` are Holm-adjusted over the ``2 × len(columns)`` Pearson
    tests together (NaN ones not counted)."""
    table = {}
    for name, values in columns.items():
        across = correlation(values, target)
        ranks = rank_correlation(values, target)
        within = within_group_correlation(groups, values, target)
        table[name] = {
            "n": across["n"],
            "pearson": across["r"],
            "p_value": across["p_value"],
            "spearman": ranks["rho"],
            "spearman_p_value": ranks["p_value"],
            "within_pearson": within["r"],
            "within_p_value": within["p_value"],
            "within_dof": within["dof"],
        }
    tests = [(name, field) for name in table for field in ("p_value", "within_p_value")]
    adjusted = holm([table[name][field] for name, field in tests])
    for (name, field), p in zip(tests, adjusted):
        table[name]["p_holm" if field == "p_value" else "within_p_holm"] = float(p)
    return {"n_tests": int(np.isfinite(adjusted).sum()), "columns": table}


def paired_comparisons(baseline: dict, candidates: dict) -> dict:
    """``{name: paired_difference of baseline[seed] - candidates[name][seed]}`` over the seeds
    both have (``p_greater``: the baseline is larger), with ``p_holm`` over the candidates."""
    result = {}
    for name, values in candidates.items():
        seeds = sorted(set(baseline) & set(values))
        result[name] = paired_difference([baseline[s] for s in seeds], [values[s] for s in seeds])
    adjusted = holm([r["p_greater"] for r in result.values()])
    for r, p in zip(result.values(), adjusted):
        r["p_holm"] = float(p)
    return result


def log_spaced_epochs(total: int, points: int = 200) -> np.ndarray:
    """Unique integer epochs 0, 1, ... total, evenly spaced in log(1 + epoch): where a study
    measures an epoch-wise curve, dense early where the error moves fast."""
    return np.unique(np.round(np.expm1(np.linspace(0, math.log1p(total), points))).astype(int))
