"""The numbers and verdicts of the MNIST-1D double-descent study, from its per-seed cells.

``summarize`` turns the trained cells into per-width rows; ``with_verdicts``
recomputes every test from those rows. Nothing here trains.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as scipy_stats

from jaxnn import peaks, stats, verdicts

if TYPE_CHECKING:
    from jaxnn.studies.double_descent_mnist1d import Config, Curve

MODELS = ("mlp", "cnn")
SIGNIFICANCE = 0.05
REFERENCE = "mnist1d_deep_double_descent.json"


def curve_name(model: str, label_noise: float) -> str:
    """A curve's name in the JSON, e.g. ``"mlp, label noise 0.15"``."""
    return f"{model}, label noise {label_noise:g}"


METRICS = ("train_error", "test_error", "train_loss", "test_loss")


def width_row(curve: Curve, width: int, result: dict) -> dict:
    """One row of ``rows``: seed means and standard errors of the four metrics at the end
    (NaN for a diverged seed), and the cell's ``n_params`` at ``width``."""
    diverged = np.asarray(result["diverged"], bool)
    row = {
        "model": curve.model,
        "label_noise": curve.label_noise,
        "width": width,
        "n_params": int(result["n_params"]),
        "seeds": int(np.asarray(result["diverged"]).size),
        "n_diverged": int(np.sum(result["diverged"])),
    }
    for metric in METRICS:
        values = np.where(diverged, np.nan, np.asarray(result[metric])[:, -1])
        summary = stats.seed_summary(values)
        row[metric] = summary["mean"]
        row[f"{metric}_standard_error"] = summary["standard_error"]
        row[f"{metric}_per_seed"] = values.tolist()
    return row


def interpolation_threshold(rows: Sequence[dict], n_train: int) -> dict | None:
    """The smallest width at which every seed classifies every training label as given."""
    for row in rows:
        per_seed = np.asarray(row["train_error_per_seed"], np.float64)
        if per_seed.size and np.all(per_seed == 0):
            return {
                "width": row["width"],
                "n_params": row["n_params"],
                "params_per_example": row["n_params"] / n_train,
            }
    return None


def per_seed(rows: Sequence[dict], metric: str) -> np.ndarray:
    """``[width][seed]`` values of ``metric``, NaN where a width trained fewer seeds (left out
    of the pairs it is in, like a diverged seed)."""
    values = [row[f"{metric}_per_seed"] for row in rows]
    seeds = max(len(v) for v in values)
    return np.array([list(v) + [math.nan] * (seeds - len(v)) for v in values], np.float64)


def threshold_contrast(curve: dict, rows: Sequence[dict], n_train: int) -> dict:
    """The curve's one pre-registered test of its test error (``peaks.contrast_at_threshold``).

    The window is fixed from the training error alone, before any test error is
    looked at: Nakkiran et al. (2019) put the test-error peak where the model can
    just fit its training set, and the threshold as measured here (every seed at
    training error exactly 0) is the first width past that point, so the window
    takes the widest width that does not interpolate as well.
    """
    threshold = interpolation_threshold(rows, n_train)
    contrast = peaks.contrast_at_threshold(
        per_seed(rows, "test_error"),
        [row["width"] for row in rows],
        None if threshold is None else threshold["width"],
        missing="no width reaches training error 0 on every seed",
    )
    name = curve_name(curve["model"], curve["label_noise"])
    return {"name": name, "metric": "test_error", "axis": "width"} | contrast


def peak_of(rows: Sequence[dict], metric: str = "test_error") -> dict | None:
    """The exploratory double-descent bump of ``metric`` over the curve's widths
    (``peaks.peak_of``): reported beside the pre-registered test, never instead of it.

    Returns:
        ``None`` for a single width; ``{"width": None, ...}`` when nothing rises.
    """
    peak = peaks.peak_of(per_seed(rows, metric))
    if peak is None:
        return None
    widest = rows[-1]
    result = {
        "metric": metric,
        "widths_scanned": peak["cells_scanned"],
        "widest_width": widest["width"],
        "widest_value": widest[metric],
        "widest_standard_error": widest[f"{metric}_standard_error"],
        "significant": peak["significant"],
        **{
            key: peak[key]
            for key in ("verdict", "qualifies", "rise_floor", "rise_verdict", "undone", "share")
            if key in peak
        },
    }
    if peak["index"] is None:
        return result | {"width": None}
    top, dip = rows[peak["index"]], rows[peak["dip_index"]]
    return result | {
        "width": top["width"],
        "n_params": top["n_params"],
        "value": top[metric],
        "standard_error": top[f"{metric}_standard_error"],
        "dip_width": dip["width"],
        "dip_value": dip[metric],
        **{
            f"{part}{key}": peak[f"{part}{key}"]
            for part in ("rise", "excess")
            for key in ("", "_standard_error", "_p", "_p_holm")
        },
    }


def epochwise(curve: Curve, cells: dict) -> dict:
    """Seed-mean training and test error at every evaluated epoch, ``[width][epoch]``, and
    every seed's test error, ``test_error_per_seed[width][seed][epoch]`` (NaN: a seed the
    width did not train, or one that diverged), which the epoch-wise test reads."""
    own = [cells[(curve.model, curve.label_noise, w)] for w in curve.widths]
    seeds_per_width = []
    for cell in own:
        values = np.asarray(cell["test_error"], np.float64)
        values[np.asarray(cell["diverged"], bool)] = np.nan
        padding = np.full((curve.max_seeds - values.shape[0], values.shape[1]), np.nan)
        seeds_per_width.append(np.concatenate([values, padding]).tolist())
    return {
        "model": curve.model,
        "label_noise": curve.label_noise,
        "widths": list(curve.widths),
        "epochs": np.asarray(own[0]["test_epochs"]).tolist(),
        **{
            metric: [np.nanmean(np.asarray(cell[metric]), axis=0).tolist() for cell in own]
            for metric in ("train_error", "test_error")
        },
        "test_error_per_seed": seeds_per_width,
    }


def epochwise_test(panel: dict) -> dict:
    """Epoch-wise double descent in one curve's widths (Nakkiran et al. 2019, §5).

    Every (width, epoch) cell is tested for a rise over an earlier epoch and a
    fall to a later one, paired over seeds, with Benjamini–Hochberg control over
    all cells (``peaks.nonmonotone_cells``). A width shows double descent only
    when a cell's rise is at least its seed-spread floor and its fall undoes at
    least ``verdicts.SECOND_DESCENT_SHARE`` of it; a width whose significant
    rise falls back by less is *overfitting that levels off*; the panel's
    ``verdict`` is the strongest of its widths'. ``largest_rise`` sizes the panel on
    seed means: the largest rise of any width over an earlier epoch, and the share
    its later epochs undo.
    """
    means = np.asarray(panel["test_error"], np.float64)  # [width, epoch]
    epochs, widths = panel["epochs"], panel["widths"]
    largest = None
    for w, curve in enumerate(means):
        for j in range(1, curve.size - 1):
            size = verdicts.undone_share(curve, j)
            if math.isfinite(size["rise"]) and (largest is None or size["rise"] > largest["rise"]):
                largest = {"width": widths[w], "peak_epoch": epochs[j], **size}
    curves = np.asarray(panel["test_error_per_seed"], np.float64)  # [width, seed, epoch]
    scan = peaks.nonmonotone_cells(curves)
    marks = [
        {
            "width": widths[m["curve"]],
            "kind": m["kind"],
            "peak_epoch": epochs[m["index"]],
            "dip_epoch": epochs[m["dip_index"]],
            "later_epoch": epochs[m["later_index"]],
            **{key: m[key] for key in ("rise", "fall", "undone", "rise_floor", "q")},
        }
        for m in scan["marks"]
    ]
    kinds = {m["kind"] for m in marks}
    if verdicts.DOUBLE_DESCENT in kinds:
        verdict = verdicts.DOUBLE_DESCENT
    elif kinds:
        verdict = verdicts.LEVELS_OFF
    else:
        verdict = "no rise detected"
    return {
        "share": verdicts.SECOND_DESCENT_SHARE,
        "largest_rise": largest,
        "tested": True,
        "verdict": verdict,
        **{key: scan[key] for key in ("cells_scanned", "method", "alpha", "slivers")},
        "marks": marks,
    }


def load_reference() -> dict:
    """The notebook's published single-seed curves (``jaxnn/reference``), with their source."""
    text = resources.files("jaxnn").joinpath("reference", REFERENCE).read_text()
    return json.loads(text)


def compare_with_published(published: dict, rows: Sequence[dict]) -> dict:
    """Our seed means against one published curve, width by width, in prediction-z units.

    z compares a single new run with our seeds' mean and spread
    (``stats.prediction_z``); its two-sided p-value uses the t distribution with
    n - 1 degrees of freedom (the spread is estimated from n seeds), and the
    p-values are Holm-adjusted over the widths compared.
    """
    ours = {row["width"]: row for row in rows}
    table_rows = []
    for entry in published["rows"]:
        row = ours.get(entry["width"])
        if row is None:
            continue
        item = {"width": entry["width"], "n_params": row["n_params"]}
        for metric in ("test_error", "train_error"):
            item |= {
                f"published_{metric}": entry[metric],
                metric: row[metric],
                f"{metric}_standard_error": row[f"{metric}_standard_error"],
                f"{metric}_z": stats.prediction_z(entry[metric], row[f"{metric}_per_seed"]),
            }
        n = row["seeds"] - row["n_diverged"]
        z = item["test_error_z"]
        item |= {f"published_{metric}": entry[metric] for metric in ("test_loss", "train_loss")}
        item["test_error_p"] = (
            float(2 * scipy_stats.t.sf(abs(z), n - 1)) if math.isfinite(z) and n > 1 else math.nan
        )
        table_rows.append(item)
    p_values = [r["test_error_p"] for r in table_rows]
    adjusted = stats.holm([p if math.isfinite(p) else 1.0 for p in p_values])
    for item, p in zip(table_rows, adjusted):
        item["test_error_p_holm"] = float(p)
    z_values = np.array([r["test_error_z"] for r in table_rows], np.float64)
    finite = z_values[np.isfinite(z_values)]
    return {
        "published": {k: published[k] for k in ("model", "label_noise", "title")},
        "widths_compared": len(table_rows),
        "within_2": int(np.sum(np.abs(finite) <= 2)),
        "median_abs_z": float(np.median(np.abs(finite))) if finite.size else math.nan,
        "significant_after_holm": int(sum(p < SIGNIFICANCE for p in adjusted)),
        "rows": table_rows,
    }


def summarize(config: Config, cells: dict, *, n_train: int, n_test: int, groups: dict) -> dict:
    """The study's results from the per-(model, noise, width) sweep results."""
    rows = [
        width_row(curve, w, cells[(curve.model, curve.label_noise, w)])
        for curve in config.curves
        for w in curve.widths
    ]
    reference = load_reference()
    curves = []
    for curve in config.curves:
        own = [
            r for r in rows if r["model"] == curve.model and r["label_noise"] == curve.label_noise
        ]
        comparisons = [
            compare_with_published(published, own)
            for published in reference["curves"]
            if published["model"] == curve.model
        ]
        curves.append(
            {
                "model": curve.model,
                "label_noise": curve.label_noise,
                "seeds": curve.seeds,
                "max_seeds": curve.max_seeds,
                "seeds_by_width": [curve.seeds_at(w) for w in curve.widths],
                "widths": list(curve.widths),
                "comparisons": [c for c in comparisons if c["widths_compared"]],
            }
        )
    # The verdicts come from with_verdicts alone, the function a committed file is reanalysed
    # with, so a run and a reanalysis of its file cannot disagree.
    return with_verdicts(
        {
            "n_train": n_train,
            "n_test": n_test,
            "rows": rows,
            "curves": curves,
            "epochwise": [epochwise(curve, cells) for curve in config.curves],
            "reference_source": reference["source"],
            "reference_curves": reference["curves"],
            "reference_wall_seconds": {
                f"{c['model']}_{c['label_noise']:g}": c["wall_time_seconds"]
                for c in reference["curves"]
            },
            "groups": groups,
        }
    )


def noise_growth(low: dict, high: dict, rows: Sequence[dict]) -> dict:
    """Does label noise grow the pre-registered rise? (Nakkiran et al. 2019, §4, Fig. 4.)

    The estimate is the noisy curve's rise minus the clean one's, tested with a
    one-sided Welch t-test over their per-seed rises (the two noise levels draw
    different labels, so seeds are not paired), and judged against the
    seed-spread floor of those rises (``verdicts.spread_floor``). A seed's rise is its mean
    over the window minus its value at the width the rise is shown against.
    """
    if not all(c["threshold_contrast"].get("tested") for c in (low, high)):
        return {"tested": False, "verdict": "not tested", "reason": "a curve has no window"}
    rises = []
    for curve in (low, high):
        contrast = curve["threshold_contrast"]
        values = per_seed(curve_rows(rows, curve), "test_error")  # [width, seed]
        rise = np.nanmean(values[contrast["window"]], axis=0) - values[contrast["rise_versus"]]
        rises.append(rise[np.isfinite(rise)])  # seeds missing from either cell left out
    a, b = rises
    error = math.hypot(
        stats.seed_summary(a)["standard_error"], stats.seed_summary(b)["standard_error"]
    )
    p = (
        float(scipy_stats.ttest_ind(b, a, equal_var=False, alternative="greater").pvalue)
        if min(a.size, b.size) > 1
        else math.nan
    )
    judged = verdicts.judge(
        float(np.mean(b) - np.mean(a)),
        p if math.isfinite(p) else None,
        floor=verdicts.spread_floor(a, b),
        standard_error=error,
        # the paired-test size at the smaller group's seeds: an approximation for Welch's test
        minimum_detectable=peaks.minimum_detectable(error, min(a.size, b.size), peaks.SIGNIFICANCE),
    )
    return {"tested": True, "seeds": [int(a.size), int(b.size)], **judged}


def label_noise_effect(curves: Sequence[dict], rows: Sequence[dict]) -> list[dict]:
    """For each model trained at several noise levels: the peak and threshold at each level,
    and whether the highest level's pre-registered rise exceeds the lowest's (``noise_growth``)."""
    effects = []
    for model in MODELS:
        levels = sorted((c for c in curves if c["model"] == model), key=lambda c: c["label_noise"])
        if len(levels) < 2:
            continue
        keys = ("label_noise", "test_error_peak", "test_loss_peak", "interpolation_threshold")
        effects.append(
            {
                "model": model,
                "levels": [{key: c[key] for key in keys} for c in levels],
                "rise_growth": noise_growth(levels[0], levels[-1], rows),
            }
        )
    return effects


def curve_rows(rows: Sequence[dict], curve: dict) -> list[dict]:
    return sorted(
        (
            r
            for r in rows
            if r["model"] == curve["model"] and r["label_noise"] == curve["label_noise"]
        ),
        key=lambda r: r["width"],
    )


def with_verdicts(document: dict) -> dict:
    """The document with every verdict recomputed from the per-seed numbers it holds.

    Pure: works on the run's own dict or on a JSON-loaded one and returns a new
    document. ``verdicts`` lists one ``{"name", "verdict", "estimate", "floor"}``
    per verdict for the seed-block comparison.
    """
    out = copy.deepcopy(document)
    n_train = out["n_train"]
    for curve in out["curves"]:
        own = curve_rows(out["rows"], curve)
        curve["interpolation_threshold"] = interpolation_threshold(own, n_train)
        curve["threshold_contrast"] = threshold_contrast(curve, own, n_train)
        curve["test_error_peak"] = peak_of(own, "test_error")
        curve["test_loss_peak"] = peak_of(own, "test_loss")
    out["threshold_contrasts"] = [curve["threshold_contrast"] for curve in out["curves"]]
    out["label_noise_effect"] = label_noise_effect(out["curves"], out["rows"])
    for panel in out["epochwise"]:
        panel["nonmonotone"] = epochwise_test(panel)
    out["verdicts"] = verdict_list(out)
    return out


def verdict_list(document: dict) -> list[dict]:
    """Every verdict besides the threshold contrasts, by name, with its size and floor."""
    listed = []
    for curve in document["curves"]:
        name = curve_name(curve["model"], curve["label_noise"])
        peak = curve["test_error_peak"]
        if peak is not None:
            listed.append(
                {
                    "name": f"exploratory test-error peak: {name}",
                    "verdict": peak.get("verdict", "no rise detected"),
                    "estimate": peak.get("rise"),
                    "floor": peak.get("rise_floor"),
                    "undone": peak.get("undone"),
                }
            )
    for effect in document["label_noise_effect"]:
        growth = effect.get("rise_growth", {})
        listed.append(
            {
                "name": f"label noise grows the threshold rise: {effect['model']}",
                "verdict": growth.get("verdict", "not tested"),
                "estimate": growth.get("estimate"),
                "floor": growth.get("floor"),
            }
        )
    for panel in document["epochwise"]:
        test = panel["nonmonotone"]
        largest = test["largest_rise"] or {}
        listed.append(
            {
                "name": f"epoch-wise: {curve_name(panel['model'], panel['label_noise'])}",
                "verdict": test["verdict"],
                "estimate": largest.get("undone"),
                "floor": test["share"],
                "undone": largest.get("undone"),
            }
        )
    return listed
