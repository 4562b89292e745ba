r"""Double descent in width: summaries of a width sweep (Belkin et al. 2019; Nakkiran et al. 2019).

For a 8 -> M -> M -> 8 network trained to (near) zero training error on N
noisy points, the test error first falls with M, peaks near the
*interpolation threshold* — the smallest model that fits the N·O targets,
about N·O parameters — and falls again beyond it. More data moves the
threshold to larger M, so in a band of widths N = 200 is worse than N = 100
(Nakkiran et al. 2019, "Deep double descent", §6).

Definitions used in the outputs:

- final training loss: median of the training MSE over the last epochs of a
  run (``TrainConfig.final_window``), then averaged over seeds;
- interpolation threshold: the smallest width whose seed-median final training
  MSE is below ``interpolation_tol``;
- test-loss peak: the width with the largest seed-mean test loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from jaxnn import models


def width_at_parameter_count(
    n_params: float, depth: int = 2, input_dim: int = 8, output_dim: int = 8
) -> float:
    """The real M at which a depth-``depth`` MLP has ``n_params`` parameters (for a plot marker)."""
    low, high = 0.0, 1e6
    count = lambda m: (depth - 1) * m * m + (input_dim + output_dim + depth) * m + output_dim  # noqa: E731
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if count(middle) < n_params else (low, middle)
    return (low + high) / 2


def log_spaced_epochs(total: int, points: int = 200) -> np.ndarray:
    """Unique integer epochs 0, 1, ... total, evenly spaced in log(1 + epoch)."""
    grid = np.unique(np.round(np.expm1(np.linspace(0, math.log1p(total), points))).astype(int))
    return grid


def seed_summary(values: np.ndarray) -> dict:
    """Mean, std, median, min and max over the seed axis (NaN = diverged, ignored)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {k: float("nan") for k in ("mean", "std", "median", "min", "max")} | {"n": 0}
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
        "median": float(np.median(finite)),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "n": int(finite.size),
    }


def sweep_rows(results: dict[int, dict], n_train: int, depth: int = 2) -> list[dict]:
    """One row per width: parameter count, seed statistics of final train and test loss."""
    rows = []
    for width in sorted(results):
        result = results[width]
        train = seed_summary(np.asarray(result["final_train_loss"]))
        test = seed_summary(np.asarray(result["test_loss"])[:, -1])
        rows.append(
            {
                "n_train": n_train,
                "width": width,
                "n_params": models.parameter_count(models.stacked_layer_sizes(width, depth)),
                "train_loss": train["mean"],
                "train_loss_std": train["std"],
                "train_loss_median": train["median"],
                "train_loss_min": train["min"],
                "train_loss_max": train["max"],
                "test_loss": test["mean"],
                "test_loss_std": test["std"],
                "test_loss_median": test["median"],
                "test_loss_min": test["min"],
                "test_loss_max": test["max"],
                "n_seeds": int(np.asarray(result["final_train_loss"]).shape[0]),
                "n_diverged": int(np.sum(result["diverged"])),
            }
        )
    return rows


def interpolation_threshold(rows: Sequence[dict], tol: float) -> dict | None:
    """The smallest width whose seed-median final training loss is below ``tol``."""
    for row in sorted(rows, key=lambda r: r["width"]):
        if row["train_loss_median"] < tol:
            return {"n_train": row["n_train"], "width": row["width"], "n_params": row["n_params"]}
    return None


def test_loss_peak(rows: Sequence[dict]) -> dict:
    """The width with the largest seed-mean test loss."""
    row = max(rows, key=lambda r: r["test_loss"])
    return {"n_train": row["n_train"], "width": row["width"], "n_params": row["n_params"],
            "test_loss": row["test_loss"]}


def threshold_label(threshold: float) -> str:
    """``1e-3`` -> ``"1e-3"``: the suffix of ``first_epoch_below_*`` keys."""
    mantissa, exponent = f"{threshold:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def training_curve(result: dict, width: int, thresholds: Sequence[float], points: int = 200) -> dict:
    """Log-spaced training-loss curve (seed median and per seed) and first epochs below thresholds.

    ``result["first_epoch_below"][seed, i]`` is the training loop's record for
    ``thresholds[i]`` (-1: never); the median is reported only if every seed got there.
    """
    losses = np.asarray(result["train_loss"])  # [seed, epoch]
    epochs = log_spaced_epochs(losses.shape[1] - 1, points)
    curve = {
        "width": width,
        "n_params": models.parameter_count(models.stacked_layer_sizes(width, 2)),
        "epochs": epochs.tolist(),
        "train_loss": np.median(losses[:, epochs], axis=0).tolist(),
        "train_loss_per_seed": losses[:, epochs].tolist(),
        "final_train_loss": float(np.median(result["final_train_loss"])),
    }
    for index, threshold in enumerate(thresholds):
        first = np.asarray(result["first_epoch_below"])[:, index]
        label = threshold_label(threshold)
        curve[f"first_epoch_below_{label}"] = float(np.median(first)) if (first >= 0).all() else None
        curve[f"first_epoch_below_{label}_per_seed"] = [int(f) if f >= 0 else None for f in first]
    return curve


def more_data_rows(rows_by_n: dict[int, list[dict]], widths: Sequence[int]) -> list[dict]:
    """Test losses at the chosen widths for every training-set size."""
    table = []
    for width in widths:
        for n_train, rows in sorted(rows_by_n.items()):
            row = next((r for r in rows if r["width"] == width), None)
            if row is not None:
                table.append({"width": width, "n_train": n_train, "n_params": row["n_params"],
                              "test_loss": row["test_loss"], "test_loss_std": row["test_loss_std"],
                              "train_loss": row["train_loss"], "n_seeds": row["n_seeds"]})
    return table


def harmful_data_widths(rows_by_n: dict[int, list[dict]], small: int, large: int) -> list[int]:
    """Widths where the larger training set has the higher mean test loss."""
    by_width = {r["width"]: r for r in rows_by_n[small]}
    return [r["width"] for r in rows_by_n[large]
            if r["width"] in by_width and r["test_loss"] > by_width[r["width"]]["test_loss"]]
