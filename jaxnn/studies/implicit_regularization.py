r"""Implicit regularization of SGD (computer assignment 2): sweeps, gradient statistics, sharpness.

The study (computer assignment 2) trains one deep ReLU network with plain,
constant-rate SGD at several learning rates :math:`\varepsilon` (``μ`` in the
assignment), over seeds that redraw both the training set and the
initialization, and measures the gradient statistics of ``jaxnn.gradstats``.

Theory compared with (Smith et al. 2021; Barrett & Dherin 2021): with
:math:`m = N/B` mini-batches per epoch, SGD with a small rate follows gradient
flow on

.. math::
    \tilde C = C + \underbrace{\frac{\varepsilon}{4}\|\nabla C\|^2}_{\text{Barrett \& Dherin}}
      + \underbrace{\frac{\varepsilon}{4m}\sum_{k=1}^m\|\nabla C_k - \nabla C\|^2}_
                   {=\ (\varepsilon/4)\,V},

so a larger rate should find regions where, *at the same training loss*,
both :math:`\|\nabla C\|^2` (``grad_norm_sq``) and :math:`V`
(``batch_grad_variance``) are smaller, and that this flatness goes with lower
test error. Both penalties carry the coefficient :math:`\varepsilon/4`
(``implicit_penalty_table``).

Why a matched training loss: after convergence the loss reaches the float32
floor (about 1e-13) where every gradient is rounding noise, and a faster rate
simply sits longer at that floor. The training loop snapshots the parameters at
the first epoch with loss below ``matched_loss`` (``TrainConfig.snapshot_below``);
statistics there compare the rates at equal :math:`C`. We report both.

Sharpness (``jaxnn.stability``): every member's :math:`\lambda_\max` (Lanczos) and
:math:`\operatorname{tr}H` (Hutchinson) of its own training MSE, at the matched loss
and at the end (``jaxnn.curvature``), against the edge :math:`2/\mu` and the test error.

Divergence: a run is *diverged* if the training loop flagged it (non-finite or
exploding loss) or if its network collapsed to a constant output
(``members.output_spread`` below ``collapse_tol`` times that of the targets).

Statistics (``jaxnn.stats``, ``jaxnn.verdicts``): every verdict is significant *and*
at least a floor fixed before the data. A trend against :math:`\mu` is the least-squares
slope of log statistic on log :math:`\mu` over the converged runs; its size is the
fitted change across the swept range, :math:`b\,\log(\mu_\max/\mu_\min)`, against the
seed-to-seed standard deviation of the log statistic within a rate (``TREND_FLOOR_REASON``),
tested by the Holm-adjusted two-sided p (over the trends the conclusions read).
Correlations with the test error carry exact p-values (within a rate: the partial
correlation given the rate), Holm-adjusted over every correlation the report shows; their
size is the fitted change of the test MSE across the statistic's range, against the test
MSE's seed spread (``CORRELATION_FLOOR_REASON``). Weight decay beats implicit
regularization only where a decay setting is lower than the best implicit-only rate in a
paired t-test over seeds, Holm-adjusted over the settings scanned, by at least the two
settings' pooled seed spread. A regime of the sharpness (below, at or above the edge) is
named only when at least ``verdicts.RUN_SHARE`` of the runs show it
(``verdicts.judge_share``).

Everything here is pure: arrays in, plain dicts and strings out; the
experiment script writes them. The sentences and Markdown are in
``implicit_regularization_text``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time
from collections.abc import Sequence

import jax
import numpy as np
from scipy import stats as scipy_stats

from jaxnn import (
    curvature,
    data,
    gradstats,
    members,
    models,
    precision,
    stability,
    stats,
    train,
    validation,
    verdicts,
)
from jaxnn.studies import NoProgress
from jaxnn.studies.implicit_regularization_text import (
    answers,
    conclusions,
    markdown,
    sharpness_conclusions,
    summary,
)

__all__ = ["FULL", "QUICK", "Config", "answers", "markdown", "run", "summary", "with_verdicts"]

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
# Why 0.2: the modified loss of Smith et al. 2021 is a series in ε; when its first-order
# term is a share s of C, the neglected higher-order terms are of order s² C, under 4 % of
# the loss for s ≤ 0.2, so the first-order picture holds to a few per cent.
MODIFIED_LOSS_SMALL = 0.2
MODIFIED_LOSS_REASON = (
    "the first-order implicit penalty is small when it is at most 0.2 of the training loss: "
    "the neglected terms of the modified loss, of order (penalty/loss)² × loss, then stay "
    "under 4 % of the loss"
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The implicit-regularization study.

    Attributes:
        data: teacher, noise s and test set; its ``input_dim``/``output_dim`` size the network.
        width: M, hidden units per layer.
        depth: number of hidden layers (the assignment used five).
        n_train: N, training-set size.
        batch_size: B; must divide N.
        learning_rates: constant SGD rates μ, all trained in one vmapped call.
        weight_decays: λ > 0 of the explicit-regularization grid (L2 on kernels).
        seeds: repetitions; each redraws the training set and the initialization.
        epochs: passes over the training set for every run.
        init_scheme: see ``jaxnn.models``; LeCun normal lets plain SGD converge at every rate.
        matched_loss: gradient statistics are also taken at the first epoch below this.
        convergence_level: a run has converged when its final training MSE is below this.
        collapse_tol: output spread below this times the target spread counts as diverged.
        chunk_epochs: epochs per compiled call (one host sync and progress tick).
        lanczos_iterations: Hessian-vector products of the Lanczos estimate of
            :math:`\\lambda_\\max` (20 agree with 60 to about 1e-3 on this network).
        trace_samples: Rademacher probes of the Hutchinson trace (standard error
            about 4 % of the trace at 30).
        edge_tolerance: a run sits *at* the edge when
            :math:`|\\lambda_\\max\\mu/2 - 1|` is at most this, *below* or *above* it otherwise.
        significance: two-sided level of every test, after Holm's correction.
        matmul_precision: float32 matmul precision (``jaxnn.precision``).
        seed: master seed of data draws, initializations, batch orders and curvature probes.
    """

    data: data.TeacherConfig = data.TeacherConfig()
    width: int = 50
    depth: int = 5
    n_train: int = 100
    batch_size: int = 20
    learning_rates: tuple[float, ...] = (0.02, 0.04, 0.08, 0.16)
    weight_decays: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 5e-2, 1e-1)
    seeds: int = 4
    epochs: int = 4000
    init_scheme: str = "lecun_normal"
    matched_loss: float = 1e-4
    convergence_level: float = 1e-5
    collapse_tol: float = 1e-3
    chunk_epochs: int = 500
    lanczos_iterations: int = 20
    trace_samples: int = 30
    edge_tolerance: float = 0.1
    significance: float = 0.05
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        counts = "width depth n_train batch_size seeds epochs chunk_epochs lanczos_iterations"
        validation.at_least(self, 1, *counts.split())
        validation.at_least(self, 2, "trace_samples")  # a standard error needs two probes
        if self.n_train % self.batch_size:
            raise ValueError(
                f"batch_size: {self.batch_size} does not divide n_train {self.n_train}"
            )
        validation.all_positive(self, "learning_rates")
        if self.weight_decays:
            validation.all_positive(self, "weight_decays")
        validation.positive(self, "matched_loss", "convergence_level", "collapse_tol")
        for name in ("edge_tolerance", "significance"):
            if not (math.isfinite(getattr(self, name)) and 0 < getattr(self, name) < 1):
                raise ValueError(f"{name}: need a value in (0, 1), got {getattr(self, name)}")
        validation.seed(self.seed)
        models.check_init_scheme(self.init_scheme)
        precision.check_precision(self.matmul_precision)

    def model(self) -> models.MLPFamily:
        """The network: ``data.input_dim`` → width × depth → ``data.output_dim`` ReLU."""
        return models.MLPFamily(
            input_dim=self.data.input_dim, output_dim=self.data.output_dim, depth=self.depth
        )

    def train_config(self) -> train.TrainConfig:
        return train.TrainConfig(
            model=self.model(),
            objective="mse",
            optimizer="sgd",
            epochs=self.epochs,
            batch_size=self.batch_size,
            chunk_epochs=min(self.chunk_epochs, self.epochs),
            loss_thresholds=(self.matched_loss, self.convergence_level),
            final_window=max(1, min(100, self.epochs // 20)),
            snapshot_below=self.matched_loss,
            matmul_precision=self.matmul_precision,
        )


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    learning_rates=(0.08, 0.16),
    weight_decays=(1e-2,),
    seeds=2,
    epochs=400,
    matched_loss=3e-2,
    convergence_level=3e-3,
    chunk_epochs=200,
)
FULL = Config(
    learning_rates=(0.01, 0.02, 0.04, 0.08, 0.16, 0.32),
    weight_decays=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
    seeds=8,
    epochs=12_000,
    chunk_epochs=1000,
)


STAT_NAMES = ("grad_norm_sq", "batch_grad_variance", "noise_scale")
CURVATURE_NAMES = (
    "hessian_top_eigenvalue",
    "hessian_trace",
    "hessian_trace_standard_error",
    "hessian_trace_per_parameter",
)
COLLAPSED = "collapsed to a constant output"
MATCHED, FINAL = 0, 1  # curvature_keys tags: probes at the matched-loss snapshot and at the end
PLACES = ("matched_loss_", "")  # row-key prefixes: at the matched loss, at the end
# The trends the conclusions read (one Holm family), per converged implicit-only run against μ.
TRENDS = (
    "matched_loss_grad_norm_sq_per_loss",
    "matched_loss_batch_grad_variance_per_loss",
    "grad_norm_sq",
    "batch_grad_variance",
    "test_loss",
)
# Test MSE against each log statistic, across runs and within rates (one Holm family).
CORRELATED = tuple(
    f"{place}{name}"
    for place in PLACES
    for name in (
        "grad_norm_sq",
        "batch_grad_variance",
        "hessian_top_eigenvalue",
        "hessian_trace_per_parameter",
    )
)


def matched_train_loss(train_loss: np.ndarray, snapshot_epoch: np.ndarray) -> np.ndarray:
    """``[member]``: the training loss at the snapshot epoch (NaN where none was taken)."""
    index = np.clip(snapshot_epoch, 0, train_loss.shape[1] - 1)
    loss = train_loss[np.arange(train_loss.shape[0]), index]
    return np.where(snapshot_epoch >= 0, loss, np.nan)


def _member_value(arrays: dict, member: int, hidden: bool, name: str) -> float | None:
    """``arrays[name][member]`` as a float; ``None`` when hidden or not finite."""
    value = float(arrays[name][member])
    return None if hidden or not math.isfinite(value) else value


def run_rows(
    grid: members.Grid,
    arrays: dict[str, np.ndarray],
    *,
    convergence_level: float,
    collapse_tol: float,
) -> list[dict]:
    """One ``runs`` row per member, from the arrays a sweep produced.

    Args:
        grid: the member settings.
        arrays: ``[member]`` arrays ``final_train_loss``, ``test_loss`` (final),
            ``diverged`` (loop flag), ``output_spread``, ``target_spread``,
            ``snapshot_epoch``, ``matched_train_loss``, ``first_epoch_below_convergence``,
            and ``final_<stat>``, ``matched_<stat>`` for each of ``STAT_NAMES`` and
            ``CURVATURE_NAMES``.
        convergence_level: converged means final training MSE below this.
        collapse_tol: collapse means output spread below this times the target spread.

    Returns:
        Rows with ``learning_rate, seed, weight_decay, final_train_loss, test_loss,
        converged, diverged``, every statistic at the end (``grad_norm_sq``, ...) and at
        the matched loss (prefix ``matched_loss_``), the ``edge_ratio`` λ_max·μ/2 at both,
        the matched loss and epochs and the reason of a divergence. Numbers of runs with
        a non-finite or exploding loss are ``None``; a collapsed run keeps its (finite)
        numbers but is diverged.
    """
    rows = []
    for m in range(len(grid.learning_rate)):
        flagged = bool(arrays["diverged"][m]) or not np.isfinite(arrays["final_train_loss"][m])
        collapsed = bool(arrays["output_spread"][m] < collapse_tol * arrays["target_spread"][m])
        diverged = flagged or collapsed
        # A collapsed network's numbers are real (those of a constant predictor): keep them.
        has_snapshot = arrays["snapshot_epoch"][m] >= 0 and not flagged
        value = functools.partial(_member_value, arrays, m, flagged)
        matched = functools.partial(_member_value, arrays, m, flagged or not has_snapshot)
        first = int(arrays["first_epoch_below_convergence"][m])
        row = {
            "learning_rate": float(grid.learning_rate[m]),
            "seed": int(grid.seed[m]),
            "weight_decay": float(grid.weight_decay[m]),
            "final_train_loss": value("final_train_loss"),
            "test_loss": value("test_loss"),
            "converged": (not diverged) and bool(arrays["final_train_loss"][m] < convergence_level),
            "diverged": diverged,
            "divergence": (
                "non-finite or exploding loss" if flagged else COLLAPSED if collapsed else None
            ),
            "first_epoch_below_convergence_level": first if first >= 0 and not diverged else None,
            "matched_loss_epoch": int(arrays["snapshot_epoch"][m]) if has_snapshot else None,
            "matched_loss_train_loss": matched("matched_train_loss"),
        }
        for stat in STAT_NAMES + CURVATURE_NAMES:
            row[stat] = value(f"final_{stat}")
            row[f"matched_loss_{stat}"] = matched(f"matched_{stat}")
        half_rate = row["learning_rate"] / 2
        for prefix in PLACES:
            top = row[f"{prefix}hessian_top_eigenvalue"]
            row[f"{prefix}edge_ratio"] = None if top is None else top * half_rate
        rows.append(row)
    return rows


def _values(rows: Sequence[dict], key: str) -> np.ndarray:
    return np.array([np.nan if r.get(key) is None else r[key] for r in rows], dtype=float)


def _converged_implicit(rows: Sequence[dict]) -> list[dict]:
    """Converged runs without weight decay, each with its matched-loss ratios ``..._per_loss``."""
    runs = [dict(r) for r in rows if r["weight_decay"] == 0 and r["converged"]]
    for run in runs:
        loss = run["matched_loss_train_loss"]
        for stat in ("grad_norm_sq", "batch_grad_variance"):
            value = run[f"matched_loss_{stat}"]
            ratio = None if value is None or not loss else value / loss
            run[f"matched_loss_{stat}_per_loss"] = ratio
    return runs


SHARPNESS_METRICS = (*CURVATURE_NAMES, "edge_ratio")
RATE_METRICS = (
    "final_train_loss",
    "test_loss",
    *STAT_NAMES,
    *(f"matched_loss_{s}" for s in STAT_NAMES),
    "matched_loss_train_loss",
    "first_epoch_below_convergence_level",
    *SHARPNESS_METRICS,
    *(f"matched_loss_{s}" for s in SHARPNESS_METRICS),
    "matched_loss_grad_norm_sq_per_loss",
    "matched_loss_batch_grad_variance_per_loss",
)


def _summary_fields(metric: str, values: np.ndarray) -> dict:
    summary = stats.seed_summary(values)
    return {
        metric: summary["mean"],
        f"{metric}_std": summary["std"],
        f"{metric}_min": summary["min"],
        f"{metric}_max": summary["max"],
    }


def rate_summary(rows: Sequence[dict]) -> list[dict]:
    """Per learning rate (implicit-only runs, weight decay 0): seed statistics of converged runs.

    Each metric gets ``<metric>`` (mean), ``_std``, ``_min``, ``_max`` over the
    converged seeds (``stats.seed_summary``); ``n_seeds``, ``n_converged``,
    ``n_diverged`` count runs. The matched-loss ratios
    ``matched_loss_grad_norm_sq_per_loss`` and ``matched_loss_batch_grad_variance_per_loss``
    divide by each run's own training loss at the snapshot, removing the small spread of
    that loss.
    """
    implicit = [r for r in rows if r["weight_decay"] == 0]
    converged_all = _converged_implicit(rows)
    table = []
    for rate in sorted({r["learning_rate"] for r in implicit}):
        runs = [r for r in implicit if r["learning_rate"] == rate]
        converged = [r for r in converged_all if r["learning_rate"] == rate]
        entry = {
            "learning_rate": rate,
            "n_seeds": len(runs),
            "n_converged": len(converged),
            "n_diverged": sum(r["diverged"] for r in runs),
        }
        for metric in RATE_METRICS:
            entry.update(_summary_fields(metric, _values(converged, metric)))
        table.append(entry)
    return table


def decay_summary(rows: Sequence[dict]) -> list[dict]:
    """Per (learning rate, weight decay), including decay 0: seed means of train and test MSE.

    Diverged runs are excluded from the means and counted in ``n_diverged``
    (``n_collapsed`` of them collapsed to a constant output).
    """
    table = []
    for decay, rate in sorted({(r["weight_decay"], r["learning_rate"]) for r in rows}):
        runs = [r for r in rows if r["weight_decay"] == decay and r["learning_rate"] == rate]
        alive = [r for r in runs if not r["diverged"]]
        entry = {
            "learning_rate": rate,
            "weight_decay": decay,
            "n_seeds": len(runs),
            "n_diverged": len(runs) - len(alive),
            "n_collapsed": sum(r["divergence"] == COLLAPSED for r in runs),
        }
        for metric in ("final_train_loss", "test_loss"):
            entry.update(_summary_fields(metric, _values(alive, metric)))
        table.append(entry)
    return table


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
    setting is compared with the best implicit-only one on the seeds they share
    (paired: same training set and init; one-sided: is its test loss lower?), Holm over
    the ``n_scanned`` settings (``stats.paired_comparisons``), and judged against the
    seed-spread floor of the two settings' test MSE (``verdicts.spread_floor``): each
    comparison gets ``floor`` and ``verdict`` (``verdicts.judge``); ``n_significant`` have
    an adjusted p below ``alpha``, ``n_better`` are also at least their floor.
    ``difference`` (explicit minus implicit), its paired standard error, adjusted p and
    ``improvement`` (the judgement of minus the difference) are those of the best two.
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
    compared = stats.paired_comparisons(
        baseline,
        {
            f"{rate:g}/{decay:g}": _by_seed(
                rows, "test_loss", learning_rate=rate, weight_decay=decay
            )
            for rate, decay in settings
        },
    )
    comparisons = []
    for (rate, decay), c in zip(settings, compared.values()):
        candidate = _by_seed(rows, "test_loss", learning_rate=rate, weight_decay=decay)
        judgement = verdicts.judge(
            c["mean"],
            c["p_holm"],
            floor=verdicts.spread_floor(list(baseline.values()), list(candidate.values())),
            standard_error=c["standard_error"],
            minimum_detectable=_detectable_t(
                c["standard_error"], c["n"] - 1, alpha / len(settings)
            ),
            alpha=alpha,
        )
        comparisons.append(
            {"learning_rate": rate, "weight_decay": decay, **c}
            | {"floor": judgement["floor"], "verdict": judgement["verdict"]}
        )
    top = next(
        c
        for c in comparisons
        if (c["learning_rate"], c["weight_decay"]) == (b["learning_rate"], b["weight_decay"])
    )
    candidate = _by_seed(rows, "test_loss", learning_rate=top["learning_rate"],
                         weight_decay=top["weight_decay"])  # fmt: skip
    improvement = verdicts.judge(
        a["test_loss"] - b["test_loss"],
        top["p_holm"],
        floor=top["floor"],
        standard_error=top["standard_error"],
        minimum_detectable=_detectable_t(
            top["standard_error"], top["n"] - 1, alpha / len(settings)
        ),
        alpha=alpha,
    )
    return result | {
        "difference": b["test_loss"] - a["test_loss"],
        "difference_standard_error": top["standard_error"],
        "difference_p_holm": top["p_holm"],
        "improvement": improvement,
        "n_seeds_compared": len(candidate),
        "comparisons": comparisons,
        "n_scanned": len(comparisons),
        "n_significant": sum(c["p_holm"] < alpha for c in comparisons),
        "n_better": sum(c["verdict"] == verdicts.EFFECT for c in comparisons),
    }


def _detectable_t(standard_error: float, dof: int, level: float, sides: int = 1) -> float:
    """The smallest effect a t-test at ``level`` detects with ``POWER``: (t_level + t_power)·s.e."""
    if not (dof >= 1 and math.isfinite(standard_error)):
        return math.nan
    quantile = scipy_stats.t.ppf(1 - level / sides, dof) + scipy_stats.t.ppf(POWER, dof)
    return float(quantile * standard_error)


def implicit_penalty_table(
    rate_rows: Sequence[dict], n_batches: int, runs: Sequence[dict] = ()
) -> list[dict]:
    r"""Smith et al. 2021 coefficients per rate and the penalties they give at the matched loss.

    ``coefficient`` is :math:`\varepsilon/4`, which multiplies both
    :math:`\|\nabla C\|^2` and :math:`V = \frac1m\sum_k\|\nabla C_k-\nabla C\|^2`
    (the per-batch coefficient is :math:`\varepsilon/(4m)`). The penalties use
    the seed means of the matched-loss statistics; ``penalty_per_loss`` is their
    sum divided by the mean matched training loss; ``penalty_per_loss_std`` is the seed
    standard deviation of each converged run's own ratio (from ``runs``). ``small`` says
    whether the ratio is at most ``floor`` = ``MODIFIED_LOSS_SMALL`` (``MODIFIED_LOSS_REASON``).
    """
    converged = _converged_implicit(runs)
    table = []
    for row in rate_rows:
        rate = row["learning_rate"]
        coefficient = rate / 4
        norm_penalty = coefficient * row["matched_loss_grad_norm_sq"]
        variance_penalty = coefficient * row["matched_loss_batch_grad_variance"]
        ratio = (norm_penalty + variance_penalty) / row["matched_loss_train_loss"]
        per_run = [
            coefficient * (r["matched_loss_grad_norm_sq_per_loss"]
                           + r["matched_loss_batch_grad_variance_per_loss"])
            for r in converged
            if r["learning_rate"] == rate and r["matched_loss_grad_norm_sq_per_loss"] is not None
            and r["matched_loss_batch_grad_variance_per_loss"] is not None
        ]  # fmt: skip
        table.append(
            {
                "learning_rate": rate,
                "coefficient": coefficient,
                "per_batch_coefficient": rate / (4 * n_batches),
                "grad_norm_penalty": norm_penalty,
                "variance_penalty": variance_penalty,
                "penalty_per_loss": ratio,
                "penalty_per_loss_std": stats.seed_summary(per_run)["std"],
                "floor": MODIFIED_LOSS_SMALL,
                "small": bool(math.isfinite(ratio) and ratio <= MODIFIED_LOSS_SMALL),
            }
        )
    return table


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
    """Log-log trends against μ of every run's statistic (converged implicit-only runs).

    For each of ``TRENDS``: ``stats.trend_table`` (slope, standard error, p, its
    Holm adjustment over the ``len(TRENDS)`` trends, and the word it chooses), plus
    the adjacent rates whose seed mean rises (``rises``: paired over seeds, one-sided,
    Holm over the ``n_pairs`` adjacent pairs, each with its seed-spread ``floor`` and
    ``verdict``).

    Each trend's size is ``change`` = slope × log(μ_max/μ_min), the fitted change of the
    log statistic across the swept rates, with ``change_standard_error``; ``floor`` is the
    pooled seed-to-seed standard deviation of the log statistic within a rate
    (``TREND_FLOOR_REASON``); ``minimum_detectable`` the |change| the Holm-adjusted test
    would detect with ``POWER`` (at level α/m, the first Holm step); ``verdict`` is
    ``verdicts.judge`` of |change| and ``word`` names a direction only for an ``"effect"``
    (``"changes by less than its floor"`` for a significant sliver).
    """
    runs = _converged_implicit(rows)
    columns = {name: _values(runs, name) for name in TRENDS}
    rates = _values(runs, "learning_rate")
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
    detectable = _detectable_t(error, fit["n"] - 2, level, sides=2)
    judgement = verdicts.judge(
        abs(change) if math.isfinite(change) else math.nan,
        fit["p_holm"] if math.isfinite(change) else None,
        floor=floor,
        standard_error=error,
        minimum_detectable=detectable,
        alpha=alpha,
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

    ``stats.correlation_table`` with the learning rate as the group: Pearson r and p,
    Spearman ρ, the correlation within rates (the rate held fixed), and both p-values
    Holm-adjusted over all the ``2 len(CORRELATED)`` tests, the family the report shows.

    Each correlation's size: ``change`` (``within_change``), the fitted change of the test
    MSE from the lowest to the highest log statistic across runs (after removing each rate's
    mean), against ``floor``, the pooled seed spread of the test MSE within a rate
    (``CORRELATION_FLOOR_REASON``); ``verdict`` (``within_verdict``) judges |change| with
    the Holm-adjusted p, and ``minimum_detectable`` the change the test would detect with
    ``POWER`` (Fisher z at level α/m).
    """
    runs = _converged_implicit(rows)
    rates, test = _values(runs, "learning_rate"), _values(runs, "test_loss")
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = {key: np.log(_values(runs, key)) for key in CORRELATED}
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
            change, detectable = _fitted_change(xs, ys, dof, alpha / max(1, table["n_tests"]))
            judgement = verdicts.judge(
                abs(change) if math.isfinite(change) else math.nan,
                entry[f"{prefix}p_holm"] if math.isfinite(change) else None,
                floor=floor,
                minimum_detectable=detectable,
                alpha=alpha,
            )
            entry |= {
                f"{prefix}change": change,
                f"{prefix}minimum_detectable": detectable,
                f"{prefix}verdict": judgement["verdict"],
            }
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
    """Which position against the edge (below, at, above) describes the runs, per place.

    For each place of ``stability.edge_summary``'s ``totals`` and each position: the
    share of runs there, the one-sided binomial p that the share exceeds 1/2, and
    ``verdicts.judge`` of the share against ``verdicts.RUN_SHARE`` (``verdicts.RUN_SHARE_REASON``).
    ``regime`` is the position judged an effect, or ``None`` (no single regime).
    """
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


def with_verdicts(document: dict) -> dict:
    """The document with every summary, test, verdict and sentence recomputed from its runs.

    Pure: reads the JSON-ready ``runs`` rows and ``run.config`` (lists, string keys) and
    returns a new document; idempotent. The training curves and timings are kept.
    """
    return {**document, **analyse(document["runs"], config_from_json(document["run"]["config"]))}


def config_from_json(config: dict) -> Config:
    """The ``Config`` a JSON document's ``run.config`` was written from (lists back to tuples)."""

    def tuples(fields: dict, cls) -> dict:
        names = {f.name for f in dataclasses.fields(cls)}
        return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items() if k in names}

    return Config(data=data.TeacherConfig(**tuples(config["data"], data.TeacherConfig)),
                  **tuples({k: v for k, v in config.items() if k != "data"}, Config))  # fmt: skip


def run_sweep(config: Config, grid: members.Grid, dataset, key, *, mesh, progress) -> dict:
    """Trains one grid in one vmapped call and measures everything the rows need."""
    start = time.perf_counter()
    family = config.model()
    sweep = members.for_config(config, grid, dataset, key)
    result = train.train(
        config.train_config(), sweep, dataset.x_test, dataset.y_test, mesh=mesh, progress=progress
    )
    x, y = sweep.x_train, sweep.y_train
    common = {"matmul_precision": config.matmul_precision}
    measure = lambda params: gradstats.member_gradient_stats(  # noqa: E731
        family, params, x, y, batch_size=config.batch_size, **common
    )
    final, matched = measure(result.params), measure(result.snapshot_params)
    curvature_start = time.perf_counter()
    curvature_of = lambda params, where: curvature.member_curvature_stats(  # noqa: E731
        family,
        params,
        x,
        y,
        curvature.curvature_keys(key, grid.seed, where),
        iterations=config.lanczos_iterations,
        num_samples=config.trace_samples,
        **common,
    )
    final |= curvature_of(result.params, FINAL)
    matched |= curvature_of(result.snapshot_params, MATCHED)
    curvature_seconds = time.perf_counter() - curvature_start
    return {
        "train_loss": result.train_loss,
        "final_train_loss": result.final_train_loss,
        "test_loss": result.test_loss[:, -1],
        "diverged": result.diverged,
        "first_epoch_below_convergence": result.first_epoch_below[:, 1],
        "snapshot_epoch": result.snapshot_epoch,
        "matched_train_loss": matched_train_loss(result.train_loss, result.snapshot_epoch),
        "output_spread": members.output_spread(family, result.params, x, **common),
        "target_spread": members.target_spread(y),
        **{f"final_{k}": v for k, v in final.items()},
        **{f"matched_{k}": v for k, v in matched.items()},
        "seconds": np.asarray(time.perf_counter() - start),  # survives a resume
        "curvature_seconds": np.asarray(curvature_seconds),
    }


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """The implicit-only sweep (rates x seeds) and the weight-decay grid, each one vmapped call."""
    progress = progress or NoProgress()
    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    dataset = data.make_dataset(key_data, config.data, config.n_train, n_draws=config.seeds)
    grids = {"implicit": members.make_grid(config.learning_rates, config.seeds)}
    if config.weight_decays:
        grids["weight_decay"] = members.make_grid(
            config.learning_rates, config.seeds, config.weight_decays
        )
    progress.start(config.epochs * len(grids), "epoch")
    arrays = {}
    for name, grid in grids.items():
        arrays[name] = run_dir.load_part(name) if run_dir is not None else None
        if arrays[name] is None:
            arrays[name] = run_sweep(config, grid, dataset, key_init, mesh=mesh, progress=progress)
            if run_dir is not None:
                run_dir.save_part(name, arrays[name])
        else:
            progress(config.epochs)

    row_options = {
        "convergence_level": config.convergence_level,
        "collapse_tol": config.collapse_tol,
    }
    runs = [
        row for name, grid in grids.items() for row in run_rows(grid, arrays[name], **row_options)
    ]
    implicit = arrays["implicit"]
    return analyse(runs, config) | {
        "training_curves": members.loss_curves(
            grids["implicit"],
            implicit["train_loss"],
            np.asarray(implicit["first_epoch_below_convergence"]),
        ),
        "sweep_seconds": {name: float(arrays[name]["seconds"]) for name in grids},
        "curvature_seconds": {name: float(arrays[name]["curvature_seconds"]) for name in grids},
    }


def analyse(runs: Sequence[dict], config: Config) -> dict:
    """Summaries, tests and sentences from the ``runs`` rows (everything but the curves)."""
    alpha = config.significance
    rate_rows = rate_summary(runs)
    decay_rows = decay_summary(runs)
    n_batches = config.n_train // config.batch_size
    results = {
        "significance": alpha,
        "n_params": config.model().parameter_count(config.width),
        "n_batches": n_batches,
        "bayes_risk": data.bayes_risk(config.data),
        "runs": list(runs),
        "rate_summary": rate_rows,
        "decay_summary": decay_rows,
        "best": best_settings(decay_rows, runs, alpha=alpha),
        "implicit_penalty": implicit_penalty_table(rate_rows, n_batches, runs),
        "trends": statistic_trends(runs, alpha=alpha),
        "correlations": test_loss_correlations(runs, alpha=alpha),
        "sharpness": stability.edge_summary(
            _converged_implicit(runs),
            [r for r in runs if r["weight_decay"] > 0 and not r["diverged"]],
            band=config.edge_tolerance,
        ),
        "floors": {
            "trend": TREND_FLOOR_REASON,
            "correlation": CORRELATION_FLOOR_REASON,
            "weight_decay": verdicts.SPREAD_FLOOR_REASON,
            "regime": verdicts.RUN_SHARE_REASON,
            "regime_share": verdicts.RUN_SHARE,
            "modified_loss": MODIFIED_LOSS_REASON,
            "modified_loss_small": MODIFIED_LOSS_SMALL,
        },
    }
    results["sharpness"]["regime"] = edge_regime(results["sharpness"]["totals"], alpha=alpha)
    results["conclusions"] = conclusions(
        results, convergence_level=config.convergence_level, matched_loss=config.matched_loss
    )
    results["sharpness_conclusions"] = sharpness_conclusions(results, batch_size=config.batch_size)
    return results
