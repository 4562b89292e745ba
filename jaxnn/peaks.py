r"""Peaks found by scanning a curve, tested with the scan counted (double descent in width, epochs).

A double-descent peak on an ordered axis (the widths of a sweep, or the
epochs of one run) is a rise above an earlier dip and a fall to a later value.
Picking the peak as the largest rise over many cells makes a naive
two-standard-error test find peaks in noise: over 1,400 (width, epoch) cells
about 30 cross it by chance. So every claim here is a paired, one-sided t-test
over seeds (a seed is the same run at every cell of the axis: same data, same
initialization) with the scan counted: Holm's step-down correction over a few
cells (``peak_of``; Holm 1979), one pre-registered test where the theory puts the
peak (``threshold_contrast``; Nakkiran et al. 2019: at the interpolation threshold,
which the *training* error locates), or Benjamini–Hochberg false-discovery control
over a grid of thousands of cells (``nonmonotone_cells``; Benjamini & Hochberg 1995).
A test needs at least two seeds; with fewer, nothing is called significant.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats

from jaxnn import stats, verdicts

SIGNIFICANCE = 0.05


def pairwise_p_greater(values) -> np.ndarray:
    """``p[i, j]``: one-sided paired p-value that cell j is above cell i, over seeds.

    ``values`` is ``[seed, cell]`` (NaN: a diverged seed, left out of the pairs it
    is in). The t statistic of the seed-wise differences with n − 1 degrees of
    freedom; a pair without spread has p = 0 when j is above, 1 otherwise, and a
    pair with fewer than two seeds p = 1 (nothing to test against).
    """
    values = np.asarray(values, np.float64)
    differences = values[:, None, :] - values[:, :, None]  # [seed, i, j] = v[j] - v[i]
    count = np.sum(np.isfinite(differences), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pairs of < 2 seeds: handled below
        mean = np.nanmean(differences, axis=0)
        spread = np.nanstd(differences, axis=0, ddof=1)
        t = mean / (spread / np.sqrt(count))
        p = scipy_stats.t.sf(t, np.maximum(count - 1, 1))
    p = np.where(spread == 0, np.where(mean > 0, 0.0, 1.0), p)
    return np.where((count < 2) | ~np.isfinite(p), 1.0, p)


def _below_any(p: np.ndarray, j: int, cells: range) -> tuple[float, int | None]:
    """Bonferroni over ``cells``: is cell j above any of them? ``(p, the cell that shows it)``."""
    cells = list(cells)
    if not cells:
        return 1.0, None
    best = min(cells, key=lambda i: p[i, j])
    return min(1.0, len(cells) * float(p[best, j])), best


def _untested(reason: str) -> dict:
    return {
        "tested": False,
        "significant": False,
        "verdict": "not tested",
        "qualifies": False,
        "reason": reason,
    }


_NO_RISE = {"index": None, "significant": False, "verdict": "no rise detected", "qualifies": False}
_PEAK_AT_END = {  # the last cell is the peak: no second descent on this axis
    "excess": 0.0,
    "excess_standard_error": None,
    "excess_p": None,
    "excess_p_holm": None,
    "significant": False,
    "verdict": "no second descent in the grid",
    "qualifies": False,
}


def peak_of(per_seed: Sequence[Sequence[float]], *, alpha: float = SIGNIFICANCE) -> dict | None:
    """The largest rise above a dip along an axis of ``per_seed[cell][seed]`` values (NaN: a
    diverged seed), and its excess over the last cell; ``None`` for a single cell.

    For each cell j its *dip* is the earlier cell i < j of lowest seed mean; the
    peak is the j whose rise ``mean[j] - mean[i]`` is largest, so a curve that
    only falls has no peak (an under-fitting start is not one). Two paired,
    one-sided tests over seeds, each counting the scan: the *rise* (is cell j
    above any earlier cell? Bonferroni over the j earlier cells, then Holm over
    the candidate cells j) and the *excess* over the last cell (the widest model,
    the end of training; Holm over the cells before it). ``significant``: both
    adjusted p-values below ``alpha``.

    Example:
        >>> peak = peak_of([[3.0, 3.1, 2.9], [1.0, 1.2, 1.1], [2.0, 2.3, 2.1], [1.5, 1.6, 1.5]])
        >>> peak["index"], peak["dip_index"]
        (2, 1)
    """
    values = np.asarray(per_seed, np.float64).T  # [seed, cell]
    n = values.shape[1]
    if n < 2:
        return None
    means = np.nanmean(values, axis=0)
    candidates = range(1, n)
    dips = [int(np.nanargmin(means[:j])) for j in candidates]
    rises = np.array([means[j] - means[i] for j, i in zip(candidates, dips)])
    base = {"cells_scanned": n - 1}
    if not np.any(rises > 0):
        return base | _NO_RISE
    p = pairwise_p_greater(values)
    rise_holm = stats.holm([_below_any(p, j, range(j))[0] for j in candidates])
    excess_holm = stats.holm([p[n - 1, j] for j in range(n - 1)])
    j = int(np.nanargmax(rises)) + 1
    rise = stats.paired_difference(values[:, j], values[:, dips[j - 1]])
    peak = base | {
        "index": j,
        "dip_index": dips[j - 1],
        "rise": rise["mean"],
        "rise_standard_error": rise["standard_error"],
        "rise_p": _below_any(p, j, range(j))[0],
        "rise_p_holm": float(rise_holm[j - 1]),
    }
    if j == n - 1:
        return peak | _PEAK_AT_END
    excess = stats.paired_difference(values[:, j], values[:, -1])
    return (
        peak
        | {
            "excess": excess["mean"],
            "excess_standard_error": excess["standard_error"],
            "excess_p": float(p[n - 1, j]),
            "excess_p_holm": float(excess_holm[j]),
            "significant": bool(rise_holm[j - 1] < alpha and excess_holm[j] < alpha),
        }
        | sized_verdict(
            rise=rise["mean"],
            rise_p=float(rise_holm[j - 1]),
            rise_floor=verdicts.spread_floor(values[:, j], values[:, dips[j - 1]]),
            excess=excess["mean"],
            excess_p=float(excess_holm[j]),
            alpha=alpha,
        )
    )


POWER = 0.8


def minimum_detectable(standard_error: float, n: int, level: float, power: float = POWER) -> float:
    """The smallest true difference a one-sided paired t-test at ``level`` detects with ``power``.

    Exact under normal differences with the observed spread: the noncentral t
    with n - 1 degrees of freedom and noncentrality δ is above the test's
    critical value with probability ``power``; the answer is δ × the standard
    error of the mean difference. NaN with fewer than two pairs.

    Example:
        >>> round(minimum_detectable(1.0, 1000, 0.05), 2)  # the normal limit: 1.645 + 0.842
        2.49
    """
    from scipy import optimize

    if n < 2 or not math.isfinite(standard_error):
        return math.nan
    df = n - 1
    critical = scipy_stats.t.isf(level, df)

    def shortfall(delta: float) -> float:
        return scipy_stats.nct.sf(critical, df, delta) - power

    upper = critical + scipy_stats.norm.isf(1 - power) + 10.0
    while shortfall(upper) < 0:
        upper *= 2
    return float(optimize.brentq(shortfall, 0.0, upper) * standard_error)


def threshold_contrast(
    per_seed: Sequence[Sequence[float]], window: Sequence[int], *, alpha: float = SIGNIFICANCE
) -> dict:
    """The pre-registered peak test: a window of cells against the cells before it and the last.

    The window is fixed before the test values are looked at (from the training
    error: the interpolation threshold and its neighbour), so this is one test
    per curve, not a scan. A seed's window value is its mean over the window's
    cells. Two paired one-sided t-tests over seeds:

    - *rise*: is the window above any cell before it? Bonferroni over those
      cells (the lowest of them need not be known in advance);
    - *excess*: is the window above the last cell (the widest model, the most
      data)?

    ``significant`` needs both at ``alpha`` (an intersection–union test: no
    further correction). Each comes with its minimum detectable difference at
    ``POWER`` (``minimum_detectable``) from its observed spread, so a verdict of
    "not established" says how large a rise it could have missed.

    ``per_seed`` is ``[cell][seed]`` (NaN: a diverged seed); ``window`` contiguous cell
    indices. ``tested`` is False (and the reason given) when the window leaves no cell
    before or after it.

    Example:
        >>> c = threshold_contrast([[3, 3, 3], [1, 1.1, 0.9], [2, 2.2, 2.1], [1.2, 1.3, 1.1]], [2])
        >>> c["rise_versus"], round(c["rise"], 3), c["significant"]
        (1, 1.1, True)
    """
    values = np.asarray(per_seed, np.float64).T  # [seed, cell]
    n_cells = values.shape[1]
    window = [int(i) for i in window]
    if not window or window != list(range(window[0], window[-1] + 1)):
        raise ValueError(f"window: need contiguous cell indices, got {window}")
    if window[0] < 0 or window[-1] >= n_cells:
        raise ValueError(f"window: indices must lie in 0..{n_cells - 1}, got {window}")
    base = {"window": window, "alpha": alpha, "power": POWER, "seeds": int(values.shape[0])}
    if window[0] == 0 or window[-1] == n_cells - 1:
        return base | _untested(f"no cell {'before' if window[0] == 0 else 'after'} the window")
    return base | _window_contrast(values, window, alpha)


def _window_contrast(values: np.ndarray, window: list[int], alpha: float):
    """``threshold_contrast``'s two tests and sizes for a window with cells on both sides."""
    inside = np.nanmean(values[:, window], axis=1)
    summary = stats.seed_summary(inside)
    earlier = range(window[0])
    rises = [stats.paired_difference(inside, values[:, i]) for i in earlier]
    p_rise = [r["p_greater"] if math.isfinite(r["p_greater"]) else 1.0 for r in rises]
    best = int(np.argmin(p_rise))
    rise = rises[best]
    # The share a second descent undoes is of the whole rise, from the lowest earlier cell
    # (the dip; ``verdicts.undone_share``), which need not be the cell the test picks.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN cell is never the dip
        dip = int(np.nanargmin(np.nanmean(values[:, : window[0]], axis=0)))
    from_dip = stats.paired_difference(inside, values[:, dip])
    excess = stats.paired_difference(inside, values[:, -1])
    p_excess = excess["p_greater"] if math.isfinite(excess["p_greater"]) else 1.0
    rise_p = min(1.0, len(rises) * p_rise[best])
    return {
        "tested": True,
        "window_value": summary["mean"],
        "window_standard_error": summary["standard_error"],
        "rise": rise["mean"],
        "rise_standard_error": rise["standard_error"],
        "rise_p": float(rise_p),
        "rise_versus": best,
        "rise_cells": len(rises),
        "rise_minimum_detectable": minimum_detectable(
            rise["standard_error"], rise["n"], alpha / len(rises)
        ),
        "excess": excess["mean"],
        "excess_standard_error": excess["standard_error"],
        "excess_p": float(p_excess),
        "excess_minimum_detectable": minimum_detectable(
            excess["standard_error"], excess["n"], alpha
        ),
        "significant": bool(rise_p < alpha and p_excess < alpha),
        "dip": dip,
        "rise_from_dip": from_dip["mean"],
        "rise_from_dip_standard_error": from_dip["standard_error"],
    } | sized_verdict(
        rise=rise["mean"],
        whole_rise=from_dip["mean"],
        rise_p=rise_p,
        rise_floor=verdicts.spread_floor(*values[:, window].T, values[:, best]),
        excess=excess["mean"],
        excess_p=p_excess,
        alpha=alpha,
    )


def sized_verdict(
    *,
    rise: float,
    rise_p: float,
    rise_floor: float,
    excess: float,
    excess_p: float,
    alpha: float,
    whole_rise: float | None = None,
) -> dict:
    """A threshold contrast's verdict with its size (``jaxnn.verdicts``).

    The rise must be significant and at least its floor (the pooled seed spread of
    the window and the cell it is shown against); then the excess over the last
    cell (the second descent) must be significant and undo at least
    ``verdicts.SECOND_DESCENT_SHARE`` of the whole rise (``whole_rise``: from the
    lowest earlier cell; default ``rise``). Else the verdict is ``"overfitting that levels
    off"``, ``"rise below floor"`` or ``"no rise detected"``.
    """
    judged = verdicts.judge(rise, rise_p, floor=rise_floor, alpha=alpha)
    whole = rise if whole_rise is None else whole_rise
    second = verdicts.second_descent(whole, excess, fall_significant=excess_p < alpha)
    if judged["verdict"] == verdicts.EFFECT:
        verdict = second["kind"]
    elif judged["verdict"] == verdicts.BELOW_FLOOR:
        verdict = "rise below floor"
    else:
        verdict = "no rise detected"
    return {
        "rise_floor": float(rise_floor),
        "rise_verdict": judged["verdict"],
        "undone": second["undone"],
        "share": second["share"],
        "verdict": verdict,
        "qualifies": verdict == verdicts.DOUBLE_DESCENT,
    }


def contrast_at_threshold(
    per_seed: Sequence[Sequence[float]],
    axis: Sequence[float],
    threshold: float | None,
    *,
    neighbour: int = -1,
    alpha: float = SIGNIFICANCE,
    missing: str = "no threshold on this axis",
) -> dict:
    """``threshold_contrast`` with the window given on the increasing ``axis`` (widths,
    training-set sizes): the ``threshold``'s cell and its neighbour (-1: the cell before it,
    +1: the one after, 0: none), and the axis values of the cells it names added.

    ``threshold`` is the axis value where the training error says the model starts (or,
    along N, stops) interpolating; ``None``: nothing to test, for the reason ``missing``.
    """
    if neighbour not in (-1, 0, 1):
        raise ValueError(f"neighbour: need -1, 0 or 1, got {neighbour}")
    axis = list(axis)
    if threshold is None:
        return _untested(missing) | {"window_values": []}
    index = axis.index(threshold)
    ends = sorted((index, min(max(index + neighbour, 0), len(axis) - 1)))
    window = list(range(ends[0], ends[1] + 1))
    contrast = threshold_contrast(per_seed, window, alpha=alpha)
    contrast["window_values"] = [axis[i] for i in window]
    if contrast["tested"]:
        contrast |= {
            "rise_versus_value": axis[contrast["rise_versus"]],
            "dip_value": axis[contrast["dip"]],
            "last_value": axis[-1],
        }
    return contrast


def _scan_cells(curves: np.ndarray) -> tuple[list[tuple], list[dict]]:
    """Every interior cell's ``(curve, cell, rise-and-fall p, rise p)`` and its sizes in
    seed means: the rise from its dip, the fall to its later low, the share undone, the floor."""
    n_curves, _, n_cells = curves.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        means = np.nanmean(curves, axis=1)
    cells, sized = [], []
    for c in range(n_curves):
        p = pairwise_p_greater(curves[c])
        for j in range(1, n_cells - 1):
            rise_p, _ = _below_any(p, j, range(j))
            fall_p, _ = _below_any(p, j, range(j + 1, n_cells))
            cells.append((c, j, max(rise_p, fall_p), rise_p))
            dip = int(np.nanargmin(means[c, :j]))
            later = j + 1 + int(np.nanargmin(means[c, j + 1 :]))
            floor = verdicts.spread_floor(curves[c, :, dip], curves[c, :, j])
            size = verdicts.undone_share(means[c], j)
            sized.append(size | {"dip_index": dip, "later_index": later, "rise_floor": floor})
    return cells, sized


def nonmonotone_cells(curves: np.ndarray, *, alpha: float = SIGNIFICANCE) -> dict:
    """Curves that rise and fall again, or rise and level off, with false-discovery control
    and a size (``jaxnn.verdicts``).

    Every interior cell j of every curve is tested twice, paired over seeds:
    a *rise* (is it above any earlier cell? Bonferroni over the earlier cells)
    and a *fall* (is it above any later cell? Bonferroni over the later cells).
    A rise-and-fall needs both, so its p-value is the larger of the two (an
    intersection–union test). Both families are Benjamini–Hochberg adjusted over
    every cell of every curve. Then the size decides, in seed means: the rise
    from the lowest earlier cell must be at least its floor (the pooled seed
    spread of the two cells), and the fall to the lowest later cell must undo
    at least ``verdicts.SECOND_DESCENT_SHARE`` of it (``verdicts.undone_share``).

    A curve shows *double descent* when one of its cells passes both tests and
    both sizes; otherwise *overfitting that levels off* when one of its rises is
    significant and above its floor (whatever sliver it falls back by). Cells
    whose rise and fall are significant but whose fall undoes less than
    that share are counted in ``slivers``: significant, and too small to be a
    second descent.

    ``curves`` is ``[curve, seed, cell]``, e.g. test loss ``[width, seed, epoch]``. One mark
    per curve that shows either: for double descent its most significant qualifying cell,
    for overfitting the significant rise above its floor with the largest rise; ``falls``:
    each curve's most significant rise-and-fall whatever share it undoes (kind ``"double
    descent"`` or ``"sliver"``).
    """
    curves, share = np.asarray(curves, np.float64), verdicts.SECOND_DESCENT_SHARE
    cells, sized = _scan_cells(curves)
    result = {"cells_scanned": len(cells), "method": "Benjamini-Hochberg", "alpha": alpha}
    result |= {"share": share, "slivers": 0, "marks": [], "falls": []}
    if not cells:
        return result
    both_q = scipy_stats.false_discovery_control([cell[2] for cell in cells])
    rise_q = scipy_stats.false_discovery_control([cell[3] for cell in cells])

    def mark(kind: str, best: int, q: float) -> dict:
        (curve, index, _, _), size = cells[best], sized[best]
        exact = {key: float(size[key]) for key in ("rise", "fall", "undone", "rise_floor")}
        where = {"dip_index": size["dip_index"], "later_index": size["later_index"]}
        return {"curve": curve, "kind": kind, "index": index, **where, **exact, "q": float(q)}

    for c in range(curves.shape[0]):
        own = [n for n, cell in enumerate(cells) if cell[0] == c]
        rising = [
            n for n in own if rise_q[n] < alpha and sized[n]["rise"] >= sized[n]["rise_floor"]
        ]
        both = [n for n in rising if both_q[n] < alpha]
        qualifying = [n for n in both if sized[n]["undone"] >= share]
        result["slivers"] += len(both) - len(qualifying)
        falling = [n for n in both if sized[n]["undone"] >= 0.0]
        if falling:  # the most significant rise-and-fall, whatever share it undoes
            best = min(falling, key=lambda n: both_q[n])
            kind = verdicts.DOUBLE_DESCENT if sized[best]["undone"] >= share else "sliver"
            result["falls"].append(mark(kind, best, both_q[best]))
        if qualifying:
            best = min(qualifying, key=lambda n: both_q[n])
            result["marks"].append(mark(verdicts.DOUBLE_DESCENT, best, both_q[best]))
        elif rising:
            best = max(rising, key=lambda n: sized[n]["rise"])
            result["marks"].append(mark(verdicts.LEVELS_OFF, best, rise_q[best]))
    return result
