r"""The double-descent study's sized verdicts (``jaxnn.studies.double_descent``).

Every verdict has a size (``jaxnn.verdicts``): a peak is double descent only
when its rise is significant and at least one seed-to-seed standard deviation,
and the fall after it undoes at least half of it (Nakkiran et al. 2019, Fig. 1
and §5 Fig. 2); "more data hurt" needs a significant difference of at least
the pooled seed spread of the two cells. ``with_verdicts`` recomputes every
verdict from the per-seed numbers the results hold, so a committed result file
gets new criteria without retraining.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats

from jaxnn import io, peaks, stats, verdicts


def with_verdicts(document: dict) -> dict:
    """Every verdict of the study, recomputed from the per-seed numbers the document holds.

    Pure: works on the JSON-loaded results (lists, string keys, ``None`` for a
    diverged seed) and returns a new document.
    """
    document = copy.deepcopy(document)
    n_values = list(dict.fromkeys(row["n_train"] for row in document["sweep"]))
    rows = {
        n: sorted((r for r in document["sweep"] if r["n_train"] == n), key=lambda r: r["width"])
        for n in n_values
    }
    thresholds = {n: interpolation_threshold(rows[n], document["interpolation_tol"]) for n in rows}
    document["interpolation_threshold"] = [t for t in thresholds.values() if t is not None]
    document["test_loss_peak"] = [test_loss_peak(rows[n]) for n in n_values]
    document["test_loss_bump"] = [tested_bump(rows[n]) for n in n_values]
    document["threshold_contrasts"] = [threshold_contrast(rows[n], thresholds[n]) for n in n_values]
    compared = n_values[:2] if len(n_values) > 1 else None
    document["more_data_hurts_widths"] = harmful_data_widths(rows, *compared) if compared else []
    document["more_data_hurts_tested"] = tested_harm(rows, *compared) if compared else None
    document["training_speed"] = training_speed(document["training_curves"])
    document["epochwise"] = [epochwise_verdicts(p) for p in document.get("epochwise") or []]
    document["verdicts"] = listed_verdicts(document)
    return io.to_jsonable(document)


def _mark(widths, epochs, m: dict, tested: str) -> dict:
    """A ``peaks.nonmonotone_cells`` mark by width and epochs."""
    return {
        "width": widths[m["curve"]],
        "kind": m["kind"],
        "peak_epoch": int(epochs[m["index"]]),
        "dip_epoch": int(epochs[m["dip_index"]]),
        "later_epoch": int(epochs[m["later_index"]]),
        **{key: float(m[key]) for key in ("rise", "fall", "undone", "rise_floor", "q")},
        "tested": tested,
    }


def epochwise_verdicts(panel: dict) -> dict:
    r"""Which widths show epoch-wise double descent, which overfit and level off (one N).

    Nakkiran et al. (2019, §5, Fig. 2) show the test error of a large model
    rising with epochs and falling back to about its earlier minimum; a medium
    model's rises and stays up. Every (width, epoch) cell is tested, paired over
    seeds, for a rise above an earlier epoch and a fall below it to a later one,
    with Benjamini–Hochberg control over all the cells
    (``peaks.nonmonotone_cells``). A width shows *double descent* only when a
    cell's rise is significant and at least its seed-spread floor and its fall is
    significant and undoes at least ``verdicts.SECOND_DESCENT_SHARE`` of the rise;
    a significant rise above its floor that falls back by less is *overfitting
    that levels off*. The most significant rise-and-fall of every width (whatever
    share it undoes) is kept in ``significant_rise_and_fall``: the ones that fail
    the share are the significant slivers.

    ``panel`` is one ``epochwise`` entry of the results; ``undone`` is the largest share
    of a rise that a significant fall undoes.
    """
    panel = dict(panel)
    mark = functools.partial(_mark, panel["widths"], panel["epochs"])

    if panel.get("test_loss_per_seed") is None:
        raise ValueError(
            "epochwise: the result file holds no per-seed test-loss curves (written before "
            "they were stored); rerun the study"
        )
    losses = np.asarray(panel["test_loss_per_seed"], np.float64)
    scan = peaks.nonmonotone_cells(losses)
    marks = [
        mark(m, "rise and fall" if m["kind"] == verdicts.DOUBLE_DESCENT else "rise")
        for m in scan["marks"]
    ]
    falls = [mark(m, "rise and fall") for m in scan["falls"]]
    panel |= {key: scan[key] for key in ("cells_scanned", "method", "alpha", "slivers")}
    double = [m["width"] for m in marks if m["kind"] == verdicts.DOUBLE_DESCENT]
    levels = [m["width"] for m in marks if m["kind"] == verdicts.LEVELS_OFF]
    verdict = verdicts.DOUBLE_DESCENT if double else verdicts.LEVELS_OFF if levels else "none"
    return panel | {
        "share": verdicts.SECOND_DESCENT_SHARE,
        "nonmonotone": marks,
        "significant_rise_and_fall": falls,
        "double_descent_widths": double,
        "levels_off_widths": levels,
        "sliver_widths": [
            f["width"] for f in falls if f["kind"] == "sliver" and f["width"] not in double
        ],
        "undone": max(
            (m["undone"] for m in falls + marks if m["tested"] == "rise and fall"), default=None
        ),
        "verdict": verdict,
    }


def interpolation_threshold(rows: Sequence[dict], tol: float) -> dict | None:
    """The smallest width whose seed-median final training loss is below ``tol``."""
    for row in sorted(rows, key=lambda r: r["width"]):
        if row["train_loss_median"] < tol:
            return {key: row[key] for key in ("n_train", "width", "n_params")}
    return None


def test_loss_peak(rows: Sequence[dict]) -> dict:
    """The width with the largest seed-mean test loss."""
    row = max(rows, key=lambda r: r["test_loss"])
    return {key: row[key] for key in ("n_train", "width", "n_params", "test_loss")}


def tested_bump(rows: Sequence[dict]) -> dict | None:
    """The test-loss bump over width tested against its dip and the widest (``peaks.peak_of``).

    Seeds are paired across widths (seed s trains on training set s at every width).
    """
    peak = peaks.peak_of([row["test_loss_per_seed"] for row in rows])
    if peak is None:
        return None
    peak["n_train"] = rows[0]["n_train"]
    if peak["index"] is None:
        return peak
    return peak | {
        "width": rows[peak["index"]]["width"],
        "dip_width": rows[peak["dip_index"]]["width"],
        "widest_width": rows[-1]["width"],
    }


def threshold_contrast(rows: Sequence[dict], threshold: dict | None) -> dict:
    """The pre-registered test of the test-loss peak at N's interpolation threshold.

    The window is the threshold width (from the training loss alone) and the
    grid width just below it, where Nakkiran et al. (2019) put the peak: the
    largest model that cannot quite fit the N·O targets. ``peaks.threshold_contrast``
    tests the window against the narrower widths and against the widest, once.
    """
    n_train = rows[0]["n_train"]
    contrast = peaks.contrast_at_threshold(
        [row["test_loss_per_seed"] for row in rows],
        [row["width"] for row in rows],
        None if threshold is None else threshold["width"],
        missing="no width of the grid interpolates",
    )
    return {
        "name": f"N = {n_train}",
        "n_train": n_train,
        "metric": "test_loss",
        "axis": "width",
    } | contrast


def welch_greater(larger: dict, smaller: dict) -> dict:
    """Is ``larger``'s seed-mean test loss above ``smaller``'s? Welch's one-sided t-test
    (``scipy.stats.ttest_ind``) with its size: ``{"p", "difference", "standard_error",
    "floor", "dof"}`` (Welch-Satterthwaite degrees of freedom; diverged seeds left out)."""
    a, b = (np.asarray(r["test_loss_per_seed"], np.float64) for r in (larger, smaller))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    p, error, dof = 1.0, math.nan, math.nan
    if min(a.size, b.size) > 1:
        test = scipy_stats.ttest_ind(a, b, equal_var=False, alternative="greater")
        p = float(test.pvalue) if np.isfinite(test.pvalue) else 1.0
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        error = math.sqrt(va + vb)
        # Identical seeds leave no degrees of freedom to count.
        dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if error else 1.0
    return {
        "p": p,
        "difference": float(np.mean(a) - np.mean(b)) if a.size and b.size else math.nan,
        "standard_error": error,
        "floor": verdicts.spread_floor(a, b),
        "dof": dof,
    }


def tested_harm(rows_by_n: dict[int, list[dict]], small: int, large: int) -> dict:
    """Widths where the larger N has a higher test loss, tested width by width with Holm and sized.

    The two sizes train on independent draws, so each width's test is Welch's
    one-sided t-test of the seeds' test losses (``scipy.stats.ttest_ind``), and
    the p-values are Holm-adjusted over every width compared. A width counts as
    "more data hurt" only when its difference is significant *and* at least its
    floor, the pooled seed-to-seed standard deviation of the two cells
    (``verdicts.spread_floor``; ``verdicts.SPREAD_FLOOR_REASON``). The detectable
    difference is the one-sided t-test's at 80 % power with Welch's degrees of
    freedom, at Holm's first-step level α/m (the strictest a width meets).

    ``largest`` is the harmful width with the largest difference, else the width with
    the largest difference.
    """
    alpha = peaks.SIGNIFICANCE
    by_width = {r["width"]: r for r in rows_by_n[small]}
    compared = [(r, by_width[r["width"]]) for r in rows_by_n[large] if r["width"] in by_width]
    sizes = [welch_greater(larger, smaller) for larger, smaller in compared]
    adjusted = stats.holm([size["p"] for size in sizes])
    level = alpha / max(1, len(compared))
    comparisons = []
    for (larger, _), p_holm, size in zip(compared, adjusted, sizes):
        detectable = (
            peaks.minimum_detectable(size["standard_error"], round(size["dof"]) + 1, level)
            if math.isfinite(size["dof"])
            else math.nan
        )
        judged = verdicts.judge(
            size["difference"],
            float(p_holm),
            floor=size["floor"],
            standard_error=size["standard_error"],
            minimum_detectable=detectable,
        )
        comparisons.append(
            {
                "width": larger["width"],
                "difference": size["difference"],
                "standard_error": size["standard_error"],
                "p": size["p"],
                "p_holm": float(p_holm),
                "floor": size["floor"],
                "minimum_detectable": detectable,
                "verdict": judged["verdict"],
            }
        )
    harmful = [c for c in comparisons if c["verdict"] == verdicts.EFFECT]
    finite = [c for c in comparisons if math.isfinite(c["difference"])]
    largest = max(harmful or finite, key=lambda c: c["difference"], default=None)
    return {
        "widths_compared": len(compared),
        "method": "Welch t-test, Holm",
        "alpha": alpha,
        "floor_reason": verdicts.SPREAD_FLOOR_REASON,
        "significant_widths": [c["width"] for c in comparisons if c["p_holm"] < alpha],
        "harmful_widths": [c["width"] for c in harmful],
        "below_floor_widths": [
            c["width"] for c in comparisons if c["verdict"] == verdicts.BELOW_FLOOR
        ],
        "p_holm": {str(c["width"]): c["p_holm"] for c in comparisons},
        "comparisons": comparisons,
        "largest": largest,
    }


def training_speed(curves: Sequence[dict], label: str = "1e-3") -> dict:
    """Are wider models faster, in epochs, to reach training MSE below 10^-3? Sized per step.

    Each pair of neighbouring widths that every seed brought below the threshold
    is compared, paired over seeds (seed s trains on training set s at every
    width): the difference in first epochs below it, two-sided (one-sided in the
    direction of the mean, doubled), judged against the pooled seed spread of the
    two widths' epochs (``verdicts.judge``).

    A step's ``difference`` is the narrow width's epochs minus the wide one's (positive:
    wider is faster); ``verdict`` is ``"faster"`` or ``"slower"`` when every step is an
    effect in that direction, else ``"not established"`` (``"untested"`` with fewer than
    two widths that reach the threshold).
    """
    key = f"first_epoch_below_{label}_per_seed"
    by_width = sorted(curves, key=lambda c: c["width"])
    reached = [c for c in by_width if c.get(key) and all(e is not None for e in c[key])]
    steps = []
    for narrow, wide in itertools.pairwise(reached):
        a, b = (np.asarray(c[key], np.float64) for c in (narrow, wide))
        difference = stats.paired_difference(a, b)
        mean, error = difference["mean"], difference["standard_error"]
        one_sided = difference["p_greater"] if mean >= 0 else 1.0 - difference["p_greater"]
        p = min(1.0, 2.0 * one_sided) if math.isfinite(one_sided) else None
        judged = verdicts.judge(
            abs(mean), p, floor=verdicts.spread_floor(a, b), standard_error=error
        )
        steps.append(
            {
                "narrow": narrow["width"],
                "wide": wide["width"],
                "difference": mean,
                "standard_error": error,
                "p": p,
                "floor": judged["floor"],
                "direction": "faster" if mean > 0 else "slower",
                "verdict": judged["verdict"],
            }
        )
    directions = {s["direction"] for s in steps}
    if not steps:
        verdict = "untested"
    elif len(directions) == 1 and all(s["verdict"] == verdicts.EFFECT for s in steps):
        verdict = directions.pop()
    else:
        verdict = "not established"
    return {"threshold": label, "steps": steps, "verdict": verdict}


def listed_verdicts(document: dict) -> list[dict]:
    """The study's verdicts besides its threshold contrasts, by name, with size and floor,
    for the report's comparison of seed blocks."""
    listed = [
        {
            "name": f"wider trains faster (epochs to MSE < 1e-3): M = {s['narrow']} vs {s['wide']}",
            "verdict": f"{s['verdict']} ({s['direction']})",
            "estimate": s["difference"],
            "floor": s["floor"],
        }
        for s in document["training_speed"]["steps"]
    ]
    for bump in document["test_loss_bump"]:
        if bump:
            listed.append(
                {
                    "name": f"exploratory peak scan: N = {bump['n_train']}",
                    "verdict": bump.get("verdict", "no rise detected"),
                    "estimate": bump.get("rise"),
                    "floor": bump.get("rise_floor"),
                    "undone": bump.get("undone"),
                }
            )
    harm = document.get("more_data_hurts_tested")
    if harm and harm["largest"]:
        largest = harm["largest"]
        listed.append(
            {
                "name": "more data hurts: the largest harm",
                "verdict": largest["verdict"],
                "estimate": largest["difference"],
                "floor": largest["floor"],
            }
        )
    for panel in document.get("epochwise") or []:
        listed.append(
            {
                "name": f"epoch-wise double descent: N = {panel['n_train']}",
                "verdict": panel["verdict"],
                "estimate": panel["undone"],
                "floor": panel["share"],
                "undone": panel["undone"],
            }
        )
    return listed


def harmful_data_widths(rows_by_n: dict[int, list[dict]], small: int, large: int) -> list[int]:
    """Widths where the larger training set has the higher mean test loss."""
    by_width = {r["width"]: r for r in rows_by_n[small]}
    return [
        r["width"]
        for r in rows_by_n[large]
        if r["width"] in by_width and r["test_loss"] > by_width[r["width"]]["test_loss"]
    ]
