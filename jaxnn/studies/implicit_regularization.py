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

Statistics (``jaxnn.stats``): a trend against :math:`\mu` is the least-squares
slope of log statistic on log :math:`\mu` over the converged runs, called rising
or falling only when its Holm-adjusted two-sided p (over the trends the
conclusions read) is below 0.05; correlations with the test error carry exact
p-values (within a rate: the partial correlation given the rate), Holm-adjusted
over every correlation the report shows; weight decay beats implicit
regularization only where a decay setting is lower than the best implicit-only
rate in a paired t-test over seeds, Holm-adjusted over the decay settings scanned.

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
)
from jaxnn.studies import NoProgress
from jaxnn.studies.implicit_regularization_text import (
    conclusions,
    markdown,
    sharpness_conclusions,
    summary,
)

__all__ = ["FULL", "QUICK", "Config", "markdown", "run", "summary"]


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
    the ``n_scanned`` settings (``stats.paired_comparisons``); ``n_better`` have an
    adjusted p below ``alpha``. ``difference`` (explicit minus implicit) and its paired
    standard error and adjusted p are those of the best two.
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
    comparisons = [
        {"learning_rate": rate, "weight_decay": decay, **c}
        for (rate, decay), c in zip(settings, compared.values())
    ]
    top = compared[f"{b['learning_rate']:g}/{b['weight_decay']:g}"]
    return result | {
        "difference": b["test_loss"] - a["test_loss"],
        "difference_standard_error": top["standard_error"],
        "difference_p_holm": top["p_holm"],
        "comparisons": comparisons,
        "n_scanned": len(comparisons),
        "n_better": sum(c["p_holm"] < alpha for c in comparisons),
    }


def implicit_penalty_table(rate_rows: Sequence[dict], n_batches: int) -> list[dict]:
    r"""Smith et al. 2021 coefficients per rate and the penalties they give at the matched loss.

    ``coefficient`` is :math:`\varepsilon/4`, which multiplies both
    :math:`\|\nabla C\|^2` and :math:`V = \frac1m\sum_k\|\nabla C_k-\nabla C\|^2`
    (the per-batch coefficient is :math:`\varepsilon/(4m)`). The penalties use
    the seed means of the matched-loss statistics; ``penalty_per_loss`` is their
    sum divided by the mean matched training loss.
    """
    table = []
    for row in rate_rows:
        rate = row["learning_rate"]
        coefficient = rate / 4
        norm_penalty = coefficient * row["matched_loss_grad_norm_sq"]
        variance_penalty = coefficient * row["matched_loss_batch_grad_variance"]
        table.append(
            {
                "learning_rate": rate,
                "coefficient": coefficient,
                "per_batch_coefficient": rate / (4 * n_batches),
                "grad_norm_penalty": norm_penalty,
                "variance_penalty": variance_penalty,
                "penalty_per_loss": (norm_penalty + variance_penalty)
                / row["matched_loss_train_loss"],
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
    return [
        {"from": low, "to": high, "rise": c["mean"], "p_holm": float(p)}
        for ((low, high), c), p in zip(pairs.items(), adjusted)
        if c["mean"] > 0
    ]


def statistic_trends(rows: Sequence[dict], *, alpha: float) -> dict:
    """Log-log trends against μ of every run's statistic (converged implicit-only runs).

    For each of ``TRENDS``: ``stats.trend_table`` (slope, standard error, p, its
    Holm adjustment over the ``len(TRENDS)`` trends, and the word it chooses), plus
    the adjacent rates whose seed mean rises (``rises``: paired over seeds, one-sided,
    Holm over the ``n_pairs`` adjacent pairs).
    """
    runs = _converged_implicit(rows)
    columns = {name: _values(runs, name) for name in TRENDS}
    fits = stats.trend_table(_values(runs, "learning_rate"), columns, alpha=alpha)
    n_pairs = max(0, len({r["learning_rate"] for r in runs}) - 1)
    for name, fit in fits.items():
        fit |= {"rises": _adjacent_rises(runs, name), "n_pairs": n_pairs}
    return fits


def test_loss_correlations(rows: Sequence[dict]) -> dict:
    """Test MSE against each log statistic of ``CORRELATED`` over converged implicit-only runs.

    ``stats.correlation_table`` with the learning rate as the group: Pearson r and p,
    Spearman ρ, the correlation within rates (the rate held fixed), and both p-values
    Holm-adjusted over all the ``2 len(CORRELATED)`` tests, the family the report shows.
    """
    runs = _converged_implicit(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = {key: np.log(_values(runs, key)) for key in CORRELATED}
    return stats.correlation_table(
        _values(runs, "learning_rate"), columns, _values(runs, "test_loss")
    )


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
        "implicit_penalty": implicit_penalty_table(rate_rows, n_batches),
        "trends": statistic_trends(runs, alpha=alpha),
        "correlations": test_loss_correlations(runs),
        "sharpness": stability.edge_summary(
            _converged_implicit(runs),
            [r for r in runs if r["weight_decay"] > 0 and not r["diverged"]],
            band=config.edge_tolerance,
        ),
    }
    results["conclusions"] = conclusions(
        results, convergence_level=config.convergence_level, matched_loss=config.matched_loss
    )
    results["sharpness_conclusions"] = sharpness_conclusions(results, batch_size=config.batch_size)
    return results
