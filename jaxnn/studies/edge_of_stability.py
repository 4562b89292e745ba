r"""Edge of stability: full-batch gradient descent sharpens until :math:`\lambda_\max\approx 2/\mu`.

Gradient descent :math:`\theta_{t+1} = \theta_t - \mu\nabla L(\theta_t)` on a quadratic
:math:`L = \tfrac12(\theta-\theta^*)^\top H(\theta-\theta^*)` multiplies the error along
the eigenvector of eigenvalue :math:`\lambda_i` by :math:`1 - \mu\lambda_i` at every step,
so it converges only while :math:`\lambda_\max \le 2/\mu`. Cohen, Kaur, Li, Kolter and
Talwalkar (2021, "Gradient descent on neural networks typically occurs at the edge of
stability") found that on neural networks

1. *progressive sharpening*: the sharpness :math:`\lambda_\max` of the training loss rises
   during training while it is below :math:`2/\mu`;
2. *edge of stability*: once it reaches :math:`2/\mu` it stops rising and hovers at, or just
   above, :math:`2/\mu`, while the training loss keeps falling over long times but no
   longer monotonically (it rises at many steps).

This study trains the implicit-regularization study's network and data (8 → 50 × 5 → 8
ReLU, LeCun init, N = 100 points of the same teacher and seeds; the defaults are repeated,
since a study imports no other study) with full-batch gradient descent at several step
sizes :math:`\mu` and seeds in one ``jaxnn.width_sweep`` call, which measures the top
eigenvalue :math:`\lambda_\max` of the full training MSE (Lanczos) every ``record_every`` epochs.

A run is determined by the config and its seed s: s draws its training set from
``split(key(config.seed))[0]`` (``data.make_dataset``, draw s), its initialization from
``fold_in(fold_in(key_init, width), s)`` and its Lanczos start vector at record slot k
from ``fold_in(fold_in(fold_in(fold_in(key_init, width), s), CURVATURE_STREAM), k)``
(``jaxnn._sweep_measure.probe_key``), with ``key_init = split(key(config.seed))[1]``: runs
that share a seed share data, initialization and probes across step sizes (paired).

Measured per run (``stability.trajectory_measures``), with the *edge ratio*
:math:`r = \lambda_\max\mu/2`: the initial ratio; the *onset*, the first recorded
epoch with :math:`r \ge 1 - b` (``edge_band`` b); the *sharpening ratio*, the median
:math:`\lambda_\max` over the second half of training over its initial value (the peak
over the initial value is kept too); the fraction of recorded epochs from the onset on
with :math:`|r - 1| \le b`; the median :math:`r` over the second half; and the fraction of
epochs at which the training loss rose, before and after the onset (the non-monotone loss).

Each run shows or lacks each signature (thresholds in ``edge_of_stability_text``);
a step size shows it when at least ``verdicts.RUN_SHARE`` of its seeds do (a description),
and the study's verdict pools every run: a signature is named when at least
``verdicts.RUN_SHARE`` of the runs show it and a one-sided binomial test puts that share
above 1/2 (``verdicts.judge_share``). Whether λ_max over the second half sits above or below
2/μ is a two-sided t-test of the seeds' second-half median ratios against 1, Holm-adjusted
over the step sizes, named only when the mean departure is at least the pooled seed-to-seed
standard deviation of those ratios (``jaxnn.verdicts``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import jax
import numpy as np
import optax
from scipy import stats as scipy_stats

import jaxnn
from jaxnn import data, models, precision, stability, stats, validation, verdicts
from jaxnn.studies.edge_of_stability_text import (
    SIGNATURES,
    answers,
    classify,
    conclusions,
    markdown,
    run_signatures,
    seed_median,
    summary,
)

__all__ = ["FULL", "QUICK", "Config", "answers", "markdown", "run", "summary", "with_verdicts"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The edge-of-stability study.

    Attributes:
        data: teacher, noise and test set (the implicit-regularization study's); its
            ``input_dim``/``output_dim`` size the network.
        width: M, hidden units per layer.
        depth: hidden layers.
        n_train: N, training-set size (full batch: every step sees all N).
        init_scheme: see ``jaxnn.models``.
        learning_rates: gradient-descent step sizes μ, all trained in one vmapped call.
        seeds: repetitions; each redraws the training set and the initialization
            exactly as the implicit-regularization study does with the same seed.
        epochs: T, full-batch steps.
        record_every: λ_max is measured every this many epochs (and at T).
        lanczos_iterations: Hessian-vector products per λ_max (20 agree with 60 to
            about 1e-3 on this network).
        edge_band: b; the edge is :math:`|\\lambda_\\max\\mu/2 - 1| \\le b`, and the onset is
            the first record with :math:`\\lambda_\\max\\mu/2 \\ge 1 - b`.
        significance: two-sided level of the test of λ_max against 2/μ, after Holm.
        matmul_precision: float32 matmul precision (``jaxnn.precision``).
        seed: master seed of data, initializations and Lanczos start vectors.
    """

    data: data.TeacherConfig = data.TeacherConfig()
    width: int = 50
    depth: int = 5
    n_train: int = 100
    init_scheme: str = "lecun_normal"
    learning_rates: tuple[float, ...] = (0.02, 0.04, 0.08, 0.16)
    seeds: int = 3
    epochs: int = 3000
    record_every: int = 25
    lanczos_iterations: int = 20
    edge_band: float = 0.1
    significance: float = 0.05
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        counts = "width depth n_train seeds epochs record_every lanczos_iterations"
        validation.at_least(self, 1, *counts.split())
        if self.record_every > self.epochs:
            raise ValueError(
                f"record_every: must be <= epochs ({self.epochs}), got {self.record_every}"
            )
        validation.all_positive(self, "learning_rates")
        rates = self.learning_rates
        if tuple(sorted(set(rates))) != tuple(rates):
            raise ValueError(f"learning_rates: must be sorted and unique, got {rates}")
        for name in ("edge_band", "significance"):
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

    def record_epochs(self) -> tuple[int, ...]:
        """0, k, 2k, ... and T: the epochs whose parameters get a λ_max."""
        return tuple(sorted({*range(0, self.epochs + 1, self.record_every), self.epochs}))


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    learning_rates=(0.08, 0.16),
    seeds=1,
    epochs=300,
    record_every=20,
)
FULL = Config(
    learning_rates=(0.01, 0.02, 0.04, 0.08, 0.16, 0.32),
    seeds=8,
    epochs=10_000,
    record_every=25,
)


def rate_summary(runs: Sequence[dict]) -> list[dict]:
    """Per step size: run counts and the seed median of every measure (``None`` counts as
    absent, so ``onset_epoch`` is the median over the ``n_onset`` runs that reached the edge)."""
    rows = []
    for rate in sorted({r["learning_rate"] for r in runs}):
        group = [r for r in runs if r["learning_rate"] == rate]
        alive = [r for r in group if not r["diverged"]]
        row = {
            "learning_rate": rate,
            "edge": 2 / rate,
            "n_seeds": len(group),
            "n_diverged": len(group) - len(alive),
            "n_onset": sum(r["onset_epoch"] is not None for r in alive),
        }
        row |= {name: seed_median([r[name] for r in alive]) for name in stability.MEASURES}
        row |= {f"n_{name}": sum(r.get(name, False) for r in alive) for name in SIGNATURES}
        rows.append(row)
    return rows


def late_ratio_tests(
    runs: Sequence[dict], rate_rows: Sequence[dict], alpha: float = verdicts.SIGNIFICANCE
) -> None:
    """Adds to each rate row the t-test of its seeds' second-half ratios against 1, Holm over rates.

    ``late_edge_ratio_t``, ``late_edge_ratio_p`` (two-sided, ``stats.mean_test``) and
    ``late_edge_ratio_p_holm`` (over the step sizes with a p-value; NaN with one seed);
    ``late_edge_ratio_floor`` (the pooled seed-to-seed standard deviation of the ratios
    over every step size, ``verdicts.spread_floor``), ``late_edge_ratio_detectable`` (the
    |mean − 1| the test finds at 80 % power, level α/m) and ``late_edge_ratio_verdict``
    (``verdicts.judge`` of |mean − 1|).
    """
    cells = [
        [r["late_edge_ratio"] for r in runs if r["learning_rate"] == row["learning_rate"]
         and r["late_edge_ratio"] is not None]
        for row in rate_rows
    ]  # fmt: skip
    floor = verdicts.spread_floor(*cells)
    tests = [stats.mean_test(cell, reference=1.0) for cell in cells]
    adjusted = stats.holm([t["p_value"] for t in tests])
    m = max(1, int(np.isfinite(adjusted).sum()))
    for row, test, p in zip(rate_rows, tests, adjusted):
        dof, error = test["n"] - 1, test["standard_error"]
        detectable = math.nan
        if dof >= 1 and math.isfinite(error):
            t_level, t_power = scipy_stats.t.ppf([1 - alpha / (2 * m), 0.8], dof)
            detectable = float((t_level + t_power) * error)
        departure = abs(test["mean"] - 1) if math.isfinite(test["mean"]) else math.nan
        p_holm = float(p) if math.isfinite(p) else None
        verdict = verdicts.judge(departure, p_holm, floor=floor, alpha=alpha)["verdict"]
        values = {"t": test["t"], "p": test["p_value"], "p_holm": float(p), "mean": test["mean"]}
        values |= {"floor": floor, "detectable": detectable, "verdict": verdict}
        row |= {f"late_edge_ratio_{key}": value for key, value in values.items()}


def trajectories(arrays: dict, max_points: int = 400) -> list[dict]:
    """Per step size, the curves the figure draws (all seeds), from the ``[member, ...]``
    arrays ``learning_rate``, ``seed``, ``top_eigenvalue``, ``train_loss`` and ``record_epochs``.

    The dense loss curve keeps every s-th epoch with s odd, so an oscillation of period
    two (the signature of the edge) stays visible rather than aliased to one phase.
    """
    names = ("learning_rate", "seed", "record_epochs", "top_eigenvalue", "train_loss")
    rates, seeds, record_epochs, top_eigenvalue, train_loss = (np.asarray(arrays[k]) for k in names)
    total = train_loss.shape[1] - 1
    stride = max(1, total // max_points) | 1
    loss_epochs = np.arange(0, total + 1, stride)
    out = []
    for rate in np.unique(rates):
        members = np.flatnonzero(rates == rate)
        top = top_eigenvalue[members]
        out.append(
            {
                "learning_rate": float(rate),
                "edge": 2 / float(rate),
                "seeds": seeds[members].tolist(),
                "record_epochs": record_epochs.tolist(),
                "top_eigenvalue_per_seed": top.tolist(),
                "top_eigenvalue": np.median(top, axis=0).tolist(),
                "train_loss_at_records_per_seed": train_loss[members][:, record_epochs].tolist(),
                "loss_epochs": loss_epochs.tolist(),
                "train_loss_per_seed": train_loss[members][:, loss_epochs].tolist(),
            }
        )
    return out


def sweep(config: Config, *, mesh=None, run_dir=None, progress=None) -> jaxnn.SweepResult:
    """Every (μ, seed) in one ``width_sweep`` call, λ_max at every record epoch."""
    key_data, key_init = jax.random.split(jax.random.key(config.seed))  # as the SGD study
    dataset = data.make_dataset(key_data, config.data, config.n_train, n_draws=config.seeds)
    return jaxnn.width_sweep(
        config.network(),
        {name: getattr(dataset, name) for name in ("x_train", "y_train", "x_test", "y_test")},
        widths=[config.width],
        seeds=config.seeds,
        loss="mse",
        optimizer=optax.sgd,  # plain gradient descent, swept over learning_rate
        hyperparams={"learning_rate": config.learning_rates},
        epochs=config.epochs,
        batch_size=None,
        record_epochs=config.record_epochs(),
        statistics=["top_eigenvalue"],
        lanczos_iterations=config.lanczos_iterations,
        key=key_init,
        matmul_precision=config.matmul_precision,
        progress=progress or False,
        run_dir=run_dir,
        mesh=mesh,
    )


def train_and_measure(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """``[member]`` arrays of the sweep (members rate-major, seed-minor) and its timings."""
    result = sweep(config, mesh=mesh, run_dir=run_dir, progress=progress)
    cells = [("data", index, config.width) for index in range(len(config.learning_rates))]

    def stacked(read) -> np.ndarray:
        return np.concatenate([np.asarray(read(cell)) for cell in cells])

    measuring = result.config["statistics_seconds"]
    return {
        "learning_rate": np.repeat(np.asarray(config.learning_rates), config.seeds),
        "seed": np.tile(np.arange(config.seeds), len(cells)),
        "record_epochs": np.asarray(result.record_epochs),
        "top_eigenvalue": stacked(lambda c: result.statistics[c]["top_eigenvalue"]),
        "train_loss": stacked(lambda c: result.loss_curves[c]),
        "test_loss": stacked(lambda c: result.curves[c]["test_loss"][:, -1]),
        "diverged": stacked(lambda c: result.diverged[c]),
        "n_params": np.asarray(result.n_params[config.width]),
        "train_seconds": np.asarray(result.config["wall_seconds"] - measuring),
        "curvature_seconds": np.asarray(measuring),
    }


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """The study: train and measure (resumable through ``run_dir``), then summarise."""
    arrays = train_and_measure(config, mesh=mesh, run_dir=run_dir, progress=progress)
    return summarize(config, arrays)


def analyse(runs: Sequence[dict], *, band: float, epochs: int, alpha: float) -> dict:
    """Per-run signatures, per-rate rows, tests, verdicts and sentences from the ``runs`` rows;
    each signature's pooled verdict over every non-diverged run (``verdicts.judge_share``)."""
    runs = [r | run_signatures(r, band=band) for r in runs]
    rate_rows = rate_summary(runs)
    for row in rate_rows:
        row |= classify(row)
    late_ratio_tests(runs, rate_rows, alpha)
    alive = [r for r in runs if not r["diverged"]]
    signatures = {}
    for name in SIGNATURES:
        k, n = sum(bool(r.get(name)) for r in alive), len(alive)
        judgement = verdicts.judge_share(k, n, alpha=alpha)
        signatures[name] = {"count": k, "n": n, "share": judgement["estimate"]}
        signatures[name] |= {"p": judgement["p"], "floor": verdicts.RUN_SHARE}
        signatures[name]["verdict"] = judgement["verdict"]
    signatures["reason"] = verdicts.RUN_SHARE_REASON
    return {
        "runs": runs,
        "rate_summary": rate_rows,
        "signatures": signatures,
        "conclusions": conclusions(
            rate_rows, band=band, epochs=epochs, alpha=alpha, signatures=signatures
        ),
    }


def with_verdicts(document: dict) -> dict:
    """The document with signatures, tests, verdicts and sentences recomputed from its
    ``runs`` rows and ``run.config`` (pure, idempotent; trajectories and timings are kept)."""
    config = document["run"]["config"]
    band, epochs, alpha = config["edge_band"], config["epochs"], config["significance"]
    return {**document, **analyse(document["runs"], band=band, epochs=epochs, alpha=alpha)}


def summarize(config: Config, arrays: dict) -> dict:
    """Rows per run and per step size, sentences and figure curves from the measured arrays."""
    records, band = np.asarray(arrays["record_epochs"]), config.edge_band
    runs = []
    for m, (rate, seed) in enumerate(zip(arrays["learning_rate"], arrays["seed"])):
        diverged = bool(arrays["diverged"][m])
        measures = dict.fromkeys(stability.MEASURES)
        if not diverged:
            top, loss = arrays["top_eigenvalue"][m], arrays["train_loss"][m]
            measures = stability.trajectory_measures(records, top, loss, float(rate), band=band)
        runs.append(
            {
                "learning_rate": float(rate),
                "seed": int(seed),
                "diverged": diverged,
                "test_loss": None if diverged else float(arrays["test_loss"][m]),
                **measures,
            }
        )
    return {
        "n_params": int(arrays["n_params"]),
        **analyse(runs, band=band, epochs=config.epochs, alpha=config.significance),
        "trajectories": trajectories(arrays),
        "train_seconds": float(arrays["train_seconds"]),
        "curvature_seconds": float(arrays["curvature_seconds"]),
    }
