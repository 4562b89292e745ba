"""The statistical tests of the implicit-regularization study: trends, correlations, settings.

Every verdict is significant *and* at least a floor fixed before the data
(``jaxnn.verdicts``); the rules are those of ``jaxnn.studies.implicit_regularization``'s
docstring. Pure: ``runs`` rows in, plain dicts out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats

from jaxnn import stability, stats, verdicts

POWER = 0.8  # the power at which a "not detected" sentence states the smallest detectable effect

TREND_FLOOR_REASON = (
    "a trend's fitted change across the swept μ (in log units of the statistic) must be at "
    "least one seed-to-seed standard deviation of the log statistic within a rate: below it, "
    "two seeds at one rate differ by as much as the whole trend"
)

CORRELATION_FLOOR_REASON = (
    "a correlation's fitted change in test MSE from the lowest to the highest value of the "
    "statistic must be at least one seed-to-seed standard deviation of the test MSE within a rate"
)

# The trends the conclusions read (one Holm family), per converged implicit-only run against μ.
TRENDS = (
    "matched_loss_grad_norm_sq_per_loss",
    "matched_loss_batch_grad_variance_per_loss",
    "grad_norm_sq",
    "batch_grad_variance",
    "test_loss",
)

# The statistics correlated with the test MSE: the gradients' and the curvature's.
GRADIENTS = ("grad_norm_sq", "batch_grad_variance")
CURVATURES = ("hessian_top_eigenvalue", "hessian_trace_per_parameter")
# Test MSE against each log statistic, across runs and within rates (one Holm family).
CORRELATED = tuple(place + name for place in stability.PLACES for name in GRADIENTS + CURVATURES)


def column(rows: Sequence[dict], key: str) -> np.ndarray:
    return np.array([np.nan if r.get(key) is None else r[key] for r in rows], dtype=float)


def converged_implicit(rows: Sequence[dict]) -> list[dict]:
    """Converged runs without weight decay, each with its matched-loss ratios ``..._per_loss``."""
    runs = [dict(r) for r in rows if r["weight_decay"] == 0 and r["converged"]]
    for run in runs:
        loss = run["matched_loss_train_loss"]
        for stat in GRADIENTS:
            value = run[f"matched_loss_{stat}"]
            ratio = None if value is None or not loss else value / loss
            run[f"matched_loss_{stat}_per_loss"] = ratio
    return runs


def _by_seed(rows: Sequence[dict], key: str, **settings) -> dict[int, float]:
    """``{seed: row[key]}`` of the rows with these settings (``None`` values left out)."""
    return {
        r["seed"]: r[key]
        for r in rows
        if all(r[k] == v for k, v in settings.items()) and r[key] is not None
    }


def best_settings(decay_rows: Sequence[dict], rows: Sequence[dict], *, alpha: float) -> dict:
    """The lowest seed-mean test loss without weight decay (implicit) and with it (explicit).

    A setting counts only if none of its seeds diverged. Every eligible weight-decay
    setting is compared with the best implicit-only one on the seeds they share (paired:
    same training set and init; one-sided: is its test loss lower?), Holm over the
    ``n_scanned`` settings, and judged against the seed-spread floor of the two settings'
    test MSE: ``n_significant`` have an adjusted p below ``alpha``, ``n_better`` are also
    at least their floor. ``difference`` (explicit minus implicit), its paired standard
    error, adjusted p and ``improvement`` (the judgement of minus it) are the best two's.
    """
    eligible = [r for r in decay_rows if r["n_diverged"] == 0 and np.isfinite(r["test_loss"])]
    implicit = [r for r in eligible if r["weight_decay"] == 0]
    explicit = [r for r in eligible if r["weight_decay"] > 0]
    best = lambda rs: min(rs, key=lambda r: r["test_loss"]) if rs else None  # noqa: E731
    result = {"implicit": best(implicit), "explicit": best(explicit), "alpha": alpha}
    if not (result["implicit"] and result["explicit"]):
        return result
    a, b = result["implicit"], result["explicit"]
    baseline = _by_seed(rows, "test_loss", learning_rate=a["learning_rate"], weight_decay=0.0)
    settings = [(r["learning_rate"], r["weight_decay"]) for r in explicit]
    candidates = [
        _by_seed(rows, "test_loss", learning_rate=rate, weight_decay=decay)
        for rate, decay in settings
    ]
    names = [f"{rate:g}/{decay:g}" for rate, decay in settings]
    compared = stats.paired_comparisons(baseline, dict(zip(names, candidates)))
    level = alpha / len(settings)

    def judged(effect: float, c: dict, floor: float) -> dict:
        se = c["standard_error"]
        mde = detectable_t(se, c["n"] - 1, level)
        return verdicts.judge(
            effect, c["p_holm"], floor=floor, standard_error=se, minimum_detectable=mde, alpha=alpha
        )

    comparisons = []
    for (rate, decay), candidate, c in zip(settings, candidates, compared.values()):
        floor = verdicts.spread_floor(list(baseline.values()), list(candidate.values()))
        judgement = judged(c["mean"], c, floor)
        comparisons.append(
            {"learning_rate": rate, "weight_decay": decay, **c}
            | {"floor": judgement["floor"], "verdict": judgement["verdict"]}
        )
    index = settings.index((b["learning_rate"], b["weight_decay"]))
    top = comparisons[index]
    return result | {
        "difference": b["test_loss"] - a["test_loss"],
        "difference_standard_error": top["standard_error"],
        "difference_p_holm": top["p_holm"],
        "improvement": judged(a["test_loss"] - b["test_loss"], top, top["floor"]),
        "n_seeds_compared": len(candidates[index]),
        "comparisons": comparisons,
        "n_scanned": len(comparisons),
        "n_significant": sum(c["p_holm"] < alpha for c in comparisons),
        "n_better": sum(c["verdict"] == verdicts.EFFECT for c in comparisons),
    }


def detectable_t(standard_error: float, dof: int, level: float, sides: int = 1) -> float:
    """The smallest effect a t-test at ``level`` detects with ``POWER``: (t_level + t_power)·s.e."""
    if not (dof >= 1 and math.isfinite(standard_error)):
        return math.nan
    quantile = scipy_stats.t.ppf(1 - level / sides, dof) + scipy_stats.t.ppf(POWER, dof)
    return float(quantile * standard_error)


def _adjacent_rises(runs: Sequence[dict], metric: str) -> list[dict]:
    """Adjacent rates whose seed mean of ``metric`` rises: paired one-sided p, Holm over pairs."""
    rates = sorted({r["learning_rate"] for r in runs})
    by_rate = {rate: _by_seed(runs, metric, learning_rate=rate) for rate in rates}
    pairs = {}
    for low, high in itertools.pairwise(rates):
        seeds = sorted(set(by_rate[low]) & set(by_rate[high]))
        pairs[low, high] = stats.paired_difference(
            [by_rate[high][s] for s in seeds], [by_rate[low][s] for s in seeds]
        )
    adjusted = stats.holm([c["p_greater"] for c in pairs.values()])
    rises = []
    for ((low, high), c), p in zip(pairs.items(), adjusted):
        if c["mean"] > 0:
            floor = verdicts.spread_floor(list(by_rate[low].values()), list(by_rate[high].values()))
            judgement = verdicts.judge(c["mean"], float(p), floor=floor)
            rises.append(
                {"from": low, "to": high, "rise": c["mean"], "p_holm": float(p), "floor": floor}
                | {"verdict": judgement["verdict"]}
            )
    return rises


def statistic_trends(rows: Sequence[dict], *, alpha: float) -> dict:
    """Log-log trends against μ of each of ``TRENDS`` over the converged implicit-only runs.

    ``stats.trend_table`` (Holm over the trends), the adjacent rates whose seed mean rises
    (``rises``: paired, one-sided, Holm over the ``n_pairs`` pairs) and the trend's size
    (``_trend_size``): ``change`` = slope × log(μ_max/μ_min) against ``floor``, the
    ``minimum_detectable`` change at ``POWER`` (level α/m, Holm's first step), ``verdict``
    and a ``word`` that names a direction only for an effect.
    """
    runs = converged_implicit(rows)
    columns = {name: column(runs, name) for name in TRENDS}
    rates = column(runs, "learning_rate")
    fits = stats.trend_table(rates, columns, alpha=alpha)
    n_pairs = max(0, len({r["learning_rate"] for r in runs}) - 1)
    for name, fit in fits.items():
        fit |= {"rises": _adjacent_rises(runs, name), "n_pairs": n_pairs}
        fit |= _trend_size(fit, rates, columns[name], alpha)
    return fits


def _trend_size(fit: dict, rates: np.ndarray, values: np.ndarray, alpha: float) -> dict:
    """The size, floor and verdict of one log-log trend (see ``statistic_trends``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(values > 0, np.log(values), np.nan)
    used = np.isfinite(logs) & np.isfinite(rates)
    span = math.log(rates[used].max() / rates[used].min()) if used.any() else math.nan
    floor = verdicts.spread_floor(*(logs[used & (rates == r)] for r in np.unique(rates[used])))
    change = fit["slope"] * span
    error = fit["standard_error"] * span
    level = alpha / max(1, fit["n_tests"])
    detectable = detectable_t(error, fit["n"] - 2, level, sides=2)
    estimate, p = (abs(change), fit["p_holm"]) if math.isfinite(change) else (math.nan, None)
    judgement = verdicts.judge(
        estimate, p, floor=floor, standard_error=error, minimum_detectable=detectable, alpha=alpha
    )
    if not math.isfinite(change) or not math.isfinite(fit["p_holm"]):
        word = "cannot be measured"
    elif judgement["verdict"] == verdicts.EFFECT:
        word = "increases" if change > 0 else "decreases"
    elif judgement["verdict"] == verdicts.BELOW_FLOOR:
        word = "changes by less than its floor"
    else:
        word = "shows no clear trend"
    return {
        "rates": [float(rates[used].min()), float(rates[used].max())] if used.any() else [],
        "change": change,
        "change_standard_error": error,
        "log_rate_span": span,
        "floor": floor,
        "minimum_detectable": detectable,
        "verdict": judgement["verdict"],
        "word": word,
    }


def test_loss_correlations(rows: Sequence[dict], *, alpha: float | None = None) -> dict:
    """Test MSE against each log statistic of ``CORRELATED`` over converged implicit-only runs.

    ``stats.correlation_table`` with the learning rate as the group (Holm over all its
    tests), plus each correlation's size across runs and within rates (``within_`` keys):
    ``change``, the fitted change of the test MSE over the statistic's range, judged against
    ``floor`` with the ``minimum_detectable`` change at ``POWER`` (Fisher z at level α/m).
    """
    runs = converged_implicit(rows)
    rates, test = column(runs, "learning_rate"), column(runs, "test_loss")
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = {key: np.log(column(runs, key)) for key in CORRELATED}
    table = stats.correlation_table(rates, columns, test)
    alpha = verdicts.SIGNIFICANCE if alpha is None else alpha
    floor = verdicts.spread_floor(*(test[rates == r] for r in np.unique(rates)))
    for key, entry in table["columns"].items():
        x, y, groups = columns[key], test, rates
        keep = np.isfinite(x) & np.isfinite(y)
        for prefix, centred in (("", False), ("within_", True)):
            xs, ys = x[keep], y[keep]
            if centred:
                xs, ys = _centred(xs, groups[keep]), _centred(ys, groups[keep])
            dof = entry["within_dof"] - 1 if centred else entry["n"] - 3
            change, mde = _fitted_change(xs, ys, dof, alpha / max(1, table["n_tests"]))
            finite = math.isfinite(change)
            estimate, p = (abs(change), entry[f"{prefix}p_holm"]) if finite else (math.nan, None)
            judged = verdicts.judge(estimate, p, floor=floor, minimum_detectable=mde, alpha=alpha)
            values = {"change": change, "minimum_detectable": mde, "verdict": judged["verdict"]}
            entry |= {prefix + name: value for name, value in values.items()}
        entry["floor"] = floor
    return table | {"floor": floor}


def _centred(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``values`` less their group means (groups of one become NaN: nothing within them)."""
    out = np.full(values.shape, np.nan)
    for g in np.unique(groups):
        members = groups == g
        if members.sum() > 1:
            out[members] = values[members] - values[members].mean()
    return out


def _fitted_change(x: np.ndarray, y: np.ndarray, dof: int, level: float) -> tuple[float, float]:
    """Least-squares change of y across the range of x, and the change a two-sided test at
    ``level`` would detect with ``POWER`` (Fisher z of r with ``dof`` = n − 3 − controls)."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    scale = float(np.std(y) / np.std(x) * np.ptp(x))  # change per unit r
    r = float(np.corrcoef(x, y)[0, 1])
    if dof < 1:
        return r * scale, math.nan
    z = scipy_stats.norm.ppf(1 - level / 2) + scipy_stats.norm.ppf(POWER)
    return r * scale, float(math.tanh(z / math.sqrt(dof)) * scale)


def edge_regime(totals: dict, *, alpha: float) -> dict:
    """Per place of ``stability.edge_summary``'s ``totals``: each position's (below, at,
    above) share of the runs, judged by ``verdicts.judge_share``; ``regime`` is the position
    judged an effect, or ``None`` (no single regime)."""
    out = {}
    for place, counts in totals.items():
        n, entry = counts["n"], {"n": counts["n"], "floor": verdicts.RUN_SHARE}
        regime = None
        for position in ("below", "at", "above"):
            k = counts[position]
            judgement = verdicts.judge_share(k, n, alpha=alpha)
            entry[position] = {"count": k, "share": judgement["estimate"], "p": judgement["p"],
                               "verdict": judgement["verdict"]}  # fmt: skip
            if judgement["verdict"] == verdicts.EFFECT:
                regime = position
        out[place] = entry | {"regime": regime}
    return out
