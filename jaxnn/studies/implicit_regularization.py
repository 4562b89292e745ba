r"""Implicit regularization of SGD (computer assignment 2): sweeps, gradient statistics, sharpness.

One deep ReLU network trained with plain, constant-rate SGD at several learning rates
:math:`\varepsilon` (``μ`` in the assignment), over seeds that redraw both the training set
and the initialization. Theory compared with (Smith et al. 2021; Barrett & Dherin 2021):
with :math:`m = N/B` mini-batches per epoch, SGD with a small rate follows gradient flow on

.. math::
    \tilde C = C + \underbrace{\frac{\varepsilon}{4}\|\nabla C\|^2}_{\text{Barrett \& Dherin}}
      + \underbrace{\frac{\varepsilon}{4m}\sum_{k=1}^m\|\nabla C_k - \nabla C\|^2}_
                   {=\ (\varepsilon/4)\,V},

so a larger rate should find regions where, *at the same training loss*, both
:math:`\|\nabla C\|^2` (``grad_norm_sq``) and :math:`V` (``batch_grad_variance``) are
smaller, and that this flatness goes with lower test error.

Why a matched training loss: after convergence the loss reaches the float32 floor (about
1e-13) where every gradient is rounding noise, and a faster rate simply sits longer there.
The sweep also snapshots the parameters at the first epoch with loss below ``matched_loss``,
where the statistics compare the rates at equal :math:`C`.

One ``jaxnn.width_sweep`` call trains every (weight decay, learning rate, seed) as swept
hyperparameters of SGD with L2 on the kernels. A run is determined by
the config and its seed s: its training set is draw s of ``split(key(config.seed))[0]``,
its initialization and batch order come from ``fold_in(fold_in(key_init, width), s)`` and
its curvature probes from ``jaxnn._sweep_measure.probe_key`` (record slot 0 at the end,
``SNAPSHOT_PROBE`` at the matched loss), with ``key_init = split(key(config.seed))[1]``:
settings that share a seed share data, initialization, batch order and probes (paired).

Sharpness (``jaxnn.stability``): every member's :math:`\lambda_\max` (Lanczos) and
:math:`\operatorname{tr}H` (Hutchinson) of its own training MSE, at the matched loss
and at the end (``jaxnn.curvature``), against the edge :math:`2/\mu` and the test error.

Divergence: a run is *diverged* if the training loop flagged it (non-finite or exploding
loss) or if its network collapsed to a constant output (``output_spread`` below
``collapse_tol`` times the targets').

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

Everything here is pure; the sentences and Markdown are in ``implicit_regularization_text``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Sequence

import jax
import numpy as np
import optax

import jaxnn
from jaxnn import data, models, precision, stability, stats, validation, verdicts
from jaxnn.studies import implicit_regularization_stats as ir_stats
from jaxnn.studies import implicit_regularization_text as text
from jaxnn.studies.implicit_regularization_text import answers, markdown, summary

__all__ = ["FULL", "QUICK", "Config", "answers", "markdown", "run", "summary", "with_verdicts"]

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
    lanczos_iterations: int = 20
    trace_samples: int = 30
    edge_tolerance: float = 0.1
    significance: float = 0.05
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        counts = "width depth n_train batch_size seeds epochs lanczos_iterations"
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

    def network(self) -> Callable:
        """The module of ``width_sweep``: ``data.input_dim`` → width × depth →
        ``data.output_dim`` ReLU, initialized by ``init_scheme``."""
        return models.mlp_of_width(
            self.data.input_dim, self.data.output_dim, self.depth, self.init_scheme
        )

    def n_params(self) -> int:
        sizes = [self.data.input_dim, *[self.width] * self.depth, self.data.output_dim]
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


def sgd_with_weight_decay(weight_decay, learning_rate):
    """SGD with L2 on the kernels added to the gradient (PyTorch's ``SGD(weight_decay=λ)``)."""
    return optax.chain(
        optax.add_decayed_weights(weight_decay, mask=models.kernel_mask), optax.sgd(learning_rate)
    )


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    learning_rates=(0.08, 0.16),
    weight_decays=(1e-2,),
    seeds=2,
    epochs=400,
    matched_loss=3e-2,
    convergence_level=3e-3,
)
FULL = Config(
    learning_rates=(0.01, 0.02, 0.04, 0.08, 0.16, 0.32),
    weight_decays=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
    seeds=8,
    epochs=12_000,
)

STAT_NAMES = ("grad_norm_sq", "batch_grad_variance", "noise_scale")
CURVATURE_NAMES = (
    "hessian_top_eigenvalue",
    "hessian_trace",
    "hessian_trace_standard_error",
    "hessian_trace_per_parameter",
)
# The sweep's statistic of each of STAT_NAMES and CURVATURE_NAMES (tr H / p is derived).
SWEEP_STATISTICS = {
    **{name: name for name in STAT_NAMES},
    "hessian_top_eigenvalue": "top_eigenvalue",
    "hessian_trace": "hessian_trace",
    "hessian_trace_standard_error": "hessian_trace_standard_error",
}
COLLAPSED = "collapsed to a constant output"


def _member_value(arrays: dict, member: int, hidden: bool, name: str) -> float | None:
    """``arrays[name][member]`` as a float; ``None`` when hidden or not finite."""
    value = float(arrays[name][member])
    return None if hidden or not math.isfinite(value) else value


def run_rows(
    arrays: dict[str, np.ndarray], *, convergence_level: float, collapse_tol: float
) -> list[dict]:
    """One ``runs`` row per member of the ``[member]`` arrays of ``sweep_arrays``.

    A row holds the settings, ``converged`` (final training MSE below
    ``convergence_level``), ``diverged`` and why, every statistic at the end and at the
    matched loss (prefix ``matched_loss_``) and the ``edge_ratio`` λ_max·μ/2 at both.
    Numbers of runs with a non-finite or exploding loss are ``None``; a collapsed run
    (output spread below ``collapse_tol`` times the targets') keeps its numbers.
    """
    rows = []
    for m in range(len(arrays["learning_rate"])):
        flagged = bool(arrays["diverged"][m]) or not np.isfinite(arrays["final_train_loss"][m])
        collapsed = bool(arrays["output_spread"][m] < collapse_tol * arrays["target_spread"][m])
        diverged = flagged or collapsed
        # A collapsed network's numbers are real (those of a constant predictor): keep them.
        has_snapshot = arrays["snapshot_epoch"][m] >= 0 and not flagged
        value = functools.partial(_member_value, arrays, m, flagged)
        matched = functools.partial(_member_value, arrays, m, flagged or not has_snapshot)
        first = int(arrays["first_epoch_below_convergence"][m])
        row = {
            "learning_rate": float(arrays["learning_rate"][m]),
            "seed": int(arrays["seed"][m]),
            "weight_decay": float(arrays["weight_decay"][m]),
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
        for prefix in stability.PLACES:
            top = row[f"{prefix}hessian_top_eigenvalue"]
            row[f"{prefix}edge_ratio"] = None if top is None else top * half_rate
        rows.append(row)
    return rows


SHARPNESS_METRICS = (*CURVATURE_NAMES, "edge_ratio")
PER_LOSS = ("matched_loss_grad_norm_sq_per_loss", "matched_loss_batch_grad_variance_per_loss")
RATE_METRICS = (
    "final_train_loss",
    "test_loss",
    *STAT_NAMES,
    *(f"matched_loss_{s}" for s in STAT_NAMES),
    "matched_loss_train_loss",
    "first_epoch_below_convergence_level",
    *SHARPNESS_METRICS,
    *(f"matched_loss_{s}" for s in SHARPNESS_METRICS),
    *PER_LOSS,
)


def _summary_fields(metric: str, values: np.ndarray) -> dict:
    """``<metric>`` (the seed mean), ``_std``, ``_min`` and ``_max`` (``stats.seed_summary``)."""
    summary = stats.seed_summary(values)
    ends = {"mean": "", "std": "_std", "min": "_min", "max": "_max"}
    return {f"{metric}{end}": summary[key] for key, end in ends.items()}


def rate_summary(rows: Sequence[dict]) -> list[dict]:
    """Per learning rate of the implicit-only runs: run counts and every metric's
    ``_summary_fields`` over the converged seeds. The ``PER_LOSS`` ratios divide by each
    run's own training loss at the snapshot, removing the small spread of that loss."""
    implicit = [r for r in rows if r["weight_decay"] == 0]
    converged_all = ir_stats.converged_implicit(rows)
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
            entry.update(_summary_fields(metric, ir_stats.column(converged, metric)))
        table.append(entry)
    return table


def decay_summary(rows: Sequence[dict]) -> list[dict]:
    """Per (learning rate, weight decay), decay 0 included: seed means of train and test MSE
    without the diverged runs, counted in ``n_diverged`` (``n_collapsed`` of them collapsed)."""
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
            entry.update(_summary_fields(metric, ir_stats.column(alive, metric)))
        table.append(entry)
    return table


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
    converged = ir_stats.converged_implicit(runs)
    table = []
    for row in rate_rows:
        rate = row["learning_rate"]
        coefficient = rate / 4
        norm_penalty = coefficient * row["matched_loss_grad_norm_sq"]
        variance_penalty = coefficient * row["matched_loss_batch_grad_variance"]
        ratio = (norm_penalty + variance_penalty) / row["matched_loss_train_loss"]
        ratios = [[r[key] for key in PER_LOSS] for r in converged if r["learning_rate"] == rate]
        per_run = [coefficient * (a + b) for a, b in ratios if a is not None and b is not None]
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


def with_verdicts(document: dict) -> dict:
    """The document with every summary, test, verdict and sentence recomputed from its
    ``runs`` rows and ``run.config`` (pure, idempotent; curves and timings are kept)."""
    return {**document, **analyse(document["runs"], config_from_json(document["run"]["config"]))}


def config_from_json(config: dict) -> Config:
    """The ``Config`` a JSON document's ``run.config`` was written from (lists back to tuples)."""

    def tuples(fields: dict, cls) -> dict:
        names = {f.name for f in dataclasses.fields(cls)}
        return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items() if k in names}

    return Config(data=data.TeacherConfig(**tuples(config["data"], data.TeacherConfig)),
                  **tuples({k: v for k, v in config.items() if k != "data"}, Config))  # fmt: skip


def draws(config: Config) -> tuple[data.Dataset, jax.Array]:
    """``(dataset, key_init)``: every seed's training set and the sweep's key (see above)."""
    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    return data.make_dataset(key_data, config.data, config.n_train, n_draws=config.seeds), key_init


def sweep(config: Config, *, mesh=None, run_dir=None, progress=None) -> jaxnn.SweepResult:
    """Every (weight decay, learning rate, seed) in one ``width_sweep`` call, decay 0 first;
    every statistic at the end (record epoch T) and at the matched-loss snapshot."""
    dataset, key_init = draws(config)
    grid = {"weight_decay": (0.0, *config.weight_decays), "learning_rate": config.learning_rates}
    return jaxnn.width_sweep(
        config.network(),
        {name: getattr(dataset, name) for name in ("x_train", "y_train", "x_test", "y_test")},
        widths=[config.width],
        seeds=config.seeds,
        loss="mse",
        optimizer=sgd_with_weight_decay,
        hyperparams=grid,
        epochs=config.epochs,
        batch_size=config.batch_size,
        record_epochs=[config.epochs],
        statistics=[*SWEEP_STATISTICS.values(), "output_spread"],
        lanczos_iterations=config.lanczos_iterations,
        trace_samples=config.trace_samples,
        loss_thresholds=(config.matched_loss, config.convergence_level),
        final_window=max(1, min(100, config.epochs // 20)),
        snapshot_below=config.matched_loss,
        key=key_init,
        matmul_precision=config.matmul_precision,
        progress=progress or False,
        run_dir=run_dir,
        mesh=mesh,
    )


def target_spread(y: np.ndarray) -> np.ndarray:
    """``[seed]``: mean over outputs of the std over samples of targets ``y[seed, N, O]``."""
    return np.mean(np.std(np.asarray(y, np.float64), axis=-2), axis=-1)


def sweep_arrays(config: Config, result: jaxnn.SweepResult, y_train: np.ndarray) -> dict:
    """``[member]`` arrays of ``run_rows`` from the sweep (members ordered weight decay,
    learning rate, seed); ``y_train[seed, N, O]`` gives each member's target spread."""
    cells = [("data", index, config.width) for index in range(len(result.hyperparams))]

    def stacked(read) -> np.ndarray:
        return np.concatenate([np.asarray(read(cell)) for cell in cells])

    settings = {name: [c[name] for c in result.hyperparams] for name in result.hyperparams[0]}
    train_loss = stacked(lambda c: result.loss_curves[c])
    arrays = {name: np.repeat(values, config.seeds) for name, values in settings.items()}
    arrays |= {
        "seed": np.tile(np.arange(config.seeds), len(cells)),
        "train_loss": train_loss,
        "final_train_loss": stacked(lambda c: result.final_train_loss[c]),
        "test_loss": stacked(lambda c: result.curves[c]["test_loss"][:, -1]),
        "diverged": stacked(lambda c: result.diverged[c]),
        "first_epoch_below_convergence": stacked(lambda c: result.first_epoch_below[c][:, 1]),
        "snapshot_epoch": stacked(lambda c: result.snapshot_epoch[c]),
        "target_spread": np.tile(target_spread(y_train), len(cells)),
    }
    # The training loss at the snapshot epoch (NaN where none was taken).
    snapshot = arrays["snapshot_epoch"]
    matched = train_loss[np.arange(len(train_loss)), np.clip(snapshot, 0, train_loss.shape[1] - 1)]
    arrays["matched_train_loss"] = np.where(snapshot >= 0, matched, np.nan)
    arrays["output_spread"] = stacked(lambda c: result.statistics[c]["output_spread"][:, -1])
    for name, statistic in SWEEP_STATISTICS.items():
        arrays[f"final_{name}"] = stacked(lambda c, s=statistic: result.statistics[c][s][:, -1])
        arrays[f"matched_{name}"] = stacked(lambda c, s=statistic: result.snapshot_statistics[c][s])
    for place in ("final", "matched"):
        per_parameter = arrays[f"{place}_hessian_trace"] / result.n_params[config.width]
        arrays[f"{place}_hessian_trace_per_parameter"] = per_parameter
    measuring = result.config["statistics_seconds"]
    arrays["seconds"] = np.asarray(result.config["wall_seconds"] - measuring)
    arrays["curvature_seconds"] = np.asarray(measuring)
    return arrays


def training_curves(arrays: dict, points: int = 150) -> list[dict]:
    """Per learning rate of the runs without weight decay: log-spaced loss curves per seed,
    their median, and the median first epoch below the convergence level if all got there."""
    epochs = stats.log_spaced_epochs(arrays["train_loss"].shape[1] - 1, points)
    implicit = arrays["weight_decay"] == 0
    curves = []
    for rate in np.unique(arrays["learning_rate"][implicit]):
        index = np.flatnonzero(implicit & (arrays["learning_rate"] == rate))
        losses = arrays["train_loss"][index][:, epochs]
        first = arrays["first_epoch_below_convergence"][index]
        first_median = float(np.median(first)) if (first >= 0).all() else None
        curves.append(
            {
                "learning_rate": float(rate),
                "epochs": epochs.tolist(),
                "train_loss": np.median(losses, axis=0).tolist(),
                "train_loss_per_seed": losses.tolist(),
                "first_epoch_below_convergence_level": first_median,
            }
        )
    return curves


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """The sweep (resumable through ``run_dir``), its rows, analysis and training curves."""
    result = sweep(config, mesh=mesh, run_dir=run_dir, progress=progress)
    arrays = sweep_arrays(config, result, draws(config)[0].y_train)
    runs = run_rows(
        arrays, convergence_level=config.convergence_level, collapse_tol=config.collapse_tol
    )
    return analyse(runs, config) | {
        "training_curves": training_curves(arrays),
        "sweep_seconds": {"sweep": float(arrays["seconds"])},
        "curvature_seconds": {"sweep": float(arrays["curvature_seconds"])},
    }


def analyse(runs: Sequence[dict], config: Config) -> dict:
    """Summaries, tests and sentences from the ``runs`` rows (everything but the curves)."""
    alpha = config.significance
    rate_rows = rate_summary(runs)
    decay_rows = decay_summary(runs)
    n_batches = config.n_train // config.batch_size
    decayed = [r for r in runs if r["weight_decay"] > 0 and not r["diverged"]]
    sharpness = stability.edge_summary(
        ir_stats.converged_implicit(runs), decayed, band=config.edge_tolerance
    )
    sharpness["regime"] = ir_stats.edge_regime(sharpness["totals"], alpha=alpha)
    results = {
        "significance": alpha,
        "n_params": config.n_params(),
        "n_batches": n_batches,
        "bayes_risk": data.bayes_risk(config.data),
        "runs": list(runs),
        "rate_summary": rate_rows,
        "decay_summary": decay_rows,
        "best": ir_stats.best_settings(decay_rows, runs, alpha=alpha),
        "implicit_penalty": implicit_penalty_table(rate_rows, n_batches, runs),
        "trends": ir_stats.statistic_trends(runs, alpha=alpha),
        "correlations": ir_stats.test_loss_correlations(runs, alpha=alpha),
        "sharpness": sharpness,
        "floors": {
            "trend": ir_stats.TREND_FLOOR_REASON,
            "correlation": ir_stats.CORRELATION_FLOOR_REASON,
            "weight_decay": verdicts.SPREAD_FLOOR_REASON,
            "regime": verdicts.RUN_SHARE_REASON,
            "regime_share": verdicts.RUN_SHARE,
            "modified_loss": MODIFIED_LOSS_REASON,
            "modified_loss_small": MODIFIED_LOSS_SMALL,
        },
    }
    results["conclusions"] = text.conclusions(
        results, convergence_level=config.convergence_level, matched_loss=config.matched_loss
    )
    batch = config.batch_size
    results["sharpness_conclusions"] = text.sharpness_conclusions(results, batch_size=batch)
    return results
