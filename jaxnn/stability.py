r"""The edge of stability: where the sharpness :math:`\lambda_\max` sits against :math:`2/\mu`.

Gradient descent :math:`\theta_{t+1} = \theta_t - \mu\nabla L(\theta_t)` on a quadratic
multiplies the error along the eigenvector of eigenvalue :math:`\lambda_i` by
:math:`1 - \mu\lambda_i` at every step, so it is stable only while
:math:`\lambda_\max \le 2/\mu`. The *edge ratio* :math:`r = \lambda_\max\mu/2` says
where a run sits: below the edge (:math:`r < 1 - b`), at it (:math:`|r - 1| \le b`)
or above it (:math:`r > 1 + b`) for a band :math:`b`. Cohen, Kaur, Li, Kolter and
Talwalkar (2021) found that full-batch gradient descent on neural networks first
sharpens (:math:`\lambda_\max` rises) until :math:`r \approx 1` and then hovers there
while the loss keeps falling non-monotonically; Jastrzębski et al. (2020) report
that SGD with small batches settles below the edge.

``edge_position`` and ``position_counts`` classify measurements; ``trajectory_measures``
reads one run's :math:`\lambda_\max` trajectory and loss curve (onset, plateau,
sharpening, loss rises). :math:`\lambda_\max` itself comes from ``jaxnn.curvature``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from jaxnn import stats
from jaxnn.formatting import is_finite


def edge_position(edge_ratio: float | None, band: float) -> str | None:
    """``"below"``, ``"at"`` (``|r - 1| <= band``) or ``"above"`` the edge 2/μ for r = λ_max·μ/2
    (``None`` if unknown).

    Example:
        >>> [edge_position(r, 0.1) for r in (0.5, 0.95, 1.08, 1.2, None)]
        ['below', 'at', 'at', 'above', None]
    """
    if not is_finite(edge_ratio):
        return None
    if edge_ratio > 1 + band:
        return "above"
    return "below" if edge_ratio < 1 - band else "at"


def position_counts(edge_ratios: Sequence[float | None], band: float) -> dict:
    """How many edge ratios sit below, at and above the edge, their range, how many are
    finite (``n``) and how many exceed 2/μ itself (``exceeding``: r > 1, in the band or not)."""
    positions = [edge_position(r, band) for r in edge_ratios]
    ratios = np.array([r for r in edge_ratios if is_finite(r)], float)
    return {
        "below": positions.count("below"),
        "at": positions.count("at"),
        "above": positions.count("above"),
        "n": int(ratios.size),
        "exceeding": int((ratios > 1).sum()),
        "edge_ratio_min": float(ratios.min()) if ratios.size else math.nan,
        "edge_ratio_max": float(ratios.max()) if ratios.size else math.nan,
    }


def _fraction(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if mask.size else None


def trajectory_measures(
    record_epochs: Sequence[int],
    top_eigenvalue: Sequence[float],
    train_loss: Sequence[float],
    learning_rate: float,
    *,
    band: float,
) -> dict:
    """What one run's λ_max trajectory and loss curve show about the edge of stability.

    ``top_eigenvalue[K]`` is λ_max at ``record_epochs[K]`` (from 0), ``train_loss[T + 1]``
    the training loss after e = 0..T epochs, ``learning_rate`` μ and ``band`` b. Among the
    measures: ``onset_epoch`` (first record with ratio ≥ 1 − b, ``None`` if never),
    ``sharpening_ratio`` (median λ_max over epochs ≥ T/2 over the initial λ_max),
    ``fraction_in_band`` (records from the onset on with |ratio − 1| ≤ b; ``None`` without
    onset), ``loss_rise_fraction_before`` / ``_after`` (share of epochs e → e + 1 whose loss
    rose, before the last record below the onset level / from the onset on; ``before`` is
    ``None`` when the first record is already past the onset, ``after`` when there is no
    onset), ``max_loss_rise_factor`` (largest one-epoch loss ratio from the onset on).
    """
    epochs = np.asarray(record_epochs)
    top = np.asarray(top_eigenvalue, float)
    loss = np.asarray(train_loss, float)
    ratio = top * learning_rate / 2
    total = loss.size - 1
    late = epochs >= total / 2
    reached = np.flatnonzero(ratio >= 1 - band)
    onset = int(epochs[reached[0]]) if reached.size else None
    rises = loss[1:] > loss[:-1]  # rises[e]: the loss after epoch e + 1 exceeds that after e
    # Before: up to the last record still below the onset level (λ_max between two records
    # is unknown, so the interval that contains the crossing counts on neither side).
    below_until = total if onset is None else int(epochs[reached[0] - 1]) if reached[0] > 0 else 0
    split = total if onset is None else onset
    after = rises[split:]
    with np.errstate(divide="ignore", invalid="ignore"):
        jumps = loss[split + 1 :] / loss[split:-1]
    largest_jump = float(np.nanmax(jumps)) if onset is not None and jumps.size else math.nan
    return {
        "initial_top_eigenvalue": float(top[0]),
        "initial_edge_ratio": float(ratio[0]),
        "max_edge_ratio": float(ratio.max()),
        "max_epoch": int(epochs[np.argmax(ratio)]),
        "onset_epoch": onset,
        "sharpening_ratio": float(np.median(top[late]) / top[0]),
        "peak_sharpening_ratio": float(top.max() / top[0]),
        "late_edge_ratio": float(np.median(ratio[late])),
        "fraction_in_band": (
            None if onset is None else _fraction(np.abs(ratio[reached[0] :] - 1) <= band)
        ),
        "loss_rise_fraction_before": _fraction(rises[:below_until]),
        "loss_rise_fraction_after": None if onset is None else _fraction(after),
        "max_loss_rise_factor": largest_jump if math.isfinite(largest_jump) else None,
        "initial_train_loss": float(loss[0]),
        "final_train_loss": float(loss[-1]),
    }


MEASURES = (
    "initial_top_eigenvalue",
    "initial_edge_ratio",
    "max_edge_ratio",
    "max_epoch",
    "onset_epoch",
    "sharpening_ratio",
    "peak_sharpening_ratio",
    "late_edge_ratio",
    "fraction_in_band",
    "loss_rise_fraction_before",
    "loss_rise_fraction_after",
    "max_loss_rise_factor",
    "initial_train_loss",
    "final_train_loss",
)


PLACES = ("matched_loss_", "")  # row-key prefixes: at a matched training loss, at the end


def _column(rows: Sequence[dict], key: str) -> list:
    return [r.get(key) for r in rows]


def edge_summary(runs: Sequence[dict], others: Sequence[dict] = (), *, band: float) -> dict:
    """Where runs sit against the edge 2/μ, per learning rate and in total, and λ_max's scaling.

    ``runs`` are rows with ``learning_rate``, ``seed`` and, for each prefix of ``PLACES``,
    ``{prefix}edge_ratio``, ``{prefix}hessian_top_eigenvalue``, ``{prefix}hessian_trace``;
    ``others`` are counted separately at the end (``weight_decay_positions``). ``slopes``
    are ``stats.linear_fit`` of log λ_max and log tr H on log μ over the runs, per prefix.
    """
    rates = sorted({r["learning_rate"] for r in runs})
    positions = []
    for rate in rates:
        group = [r for r in runs if r["learning_rate"] == rate]
        entry = {"learning_rate": rate, "edge": 2 / rate}
        for prefix in PLACES:
            counts = position_counts(_column(group, f"{prefix}edge_ratio"), band)
            entry[f"{prefix or 'final_'}positions"] = counts
        positions.append(entry)
    runs_above = [
        {"learning_rate": r["learning_rate"], "seed": r["seed"], "where": prefix,
         "edge_ratio": r[f"{prefix}edge_ratio"]}
        for r in runs
        for prefix in PLACES
        if edge_position(r[f"{prefix}edge_ratio"], band) == "above"
    ]  # fmt: skip
    learning_rates = _column(runs, "learning_rate")
    return {
        "tolerance": band,
        "positions": positions,
        "totals": {p: position_counts(_column(runs, f"{p}edge_ratio"), band) for p in PLACES},
        "weight_decay_positions": position_counts(_column(others, "edge_ratio"), band),
        "runs_above": runs_above,
        "slopes": {
            f"{prefix}{name}": stats.linear_fit(
                learning_rates, _column(runs, f"{prefix}{name}"), log=True
            )
            for prefix in PLACES
            for name in ("hessian_top_eigenvalue", "hessian_trace")
        },
    }
