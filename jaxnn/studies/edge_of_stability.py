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

Each run shows or lacks each signature (thresholds ``HOVER_FRACTION``, ``RISING_FRACTION``);
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
from jaxnn.formatting import count_of, details, fmt, listed, p_text, percent, table

__all__ = ["FULL", "QUICK", "Config", "answers", "markdown", "run", "summary", "with_verdicts"]

# "Hovers at the edge": at least this share of the records after the onset in band. Cohen et
# al. 2021 (Fig. 1) show λ_max pinned at 2/μ after the onset except for brief spikes; 80 %
# allows such spikes and still describes a plateau.
HOVER_FRACTION = 0.8
# "Non-monotone loss": the loss rises in at least this share of the epochs after the onset.
# Before the onset gradient descent's loss rises in well under 1 % of epochs (a descent
# method); 5 % is five times that and leaves no doubt that the loss has stopped descending.
RISING_FRACTION = 0.05
SHORT_SHARPENING = 0.05  # an onset within this share of training counts as a brief sharpening
SIGNATURES = ("sharpening", "hovering", "non_monotone")


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


# The sentences and Markdown, chosen from the results alone.


def seed_median(values: Sequence) -> float | None:
    """The seed median (``stats.seed_summary``) of the values that are not ``None``; or ``None``."""
    median = stats.seed_summary([math.nan if v is None else v for v in values])["median"]
    return median if math.isfinite(median) else None


def run_signatures(run: dict, *, band: float) -> dict:
    """Which edge-of-stability signatures one run shows (from its ``trajectory_measures``).

    ``sharpening``: it reached the edge from below (initial ratio < 1 − b). ``hovering``:
    at least ``HOVER_FRACTION`` of its records after the onset lie in band.
    ``non_monotone``: its loss rose in at least ``RISING_FRACTION`` of the epochs after
    the onset. A diverged run, or one that never reached the edge, shows none.
    """
    reached = not run.get("diverged") and run.get("onset_epoch") is not None
    in_band, rising = run.get("fraction_in_band"), run.get("loss_rise_fraction_after")
    return {
        "sharpening": bool(reached and run["initial_edge_ratio"] < 1 - band),
        "hovering": bool(reached and in_band is not None and in_band >= HOVER_FRACTION),
        "non_monotone": bool(reached and rising is not None and rising >= RISING_FRACTION),
    }


def classify(row: dict) -> dict:
    """Which signatures a step size shows: those at least ``verdicts.RUN_SHARE`` of its seeds
    show (from its ``n_<signature>`` counts; with three seeds, all three), a description."""
    alive = row["n_seeds"] - row["n_diverged"]
    return {
        name: bool(alive > 0 and row[f"n_{name}"] / alive >= verdicts.RUN_SHARE)
        for name in SIGNATURES
    }


def rate_sentence(row: dict, *, band: float, epochs: int) -> str:
    """One sentence per step size, chosen from its seed medians."""
    rate = row["learning_rate"]
    head = f"μ = {rate:g} (2/μ = {fmt(row['edge'])})"
    alive = row["n_seeds"] - row["n_diverged"]
    if alive == 0:
        return f"{head}: every seed diverged; nothing to measure."
    start = (
        f"λ_max starts at {fmt(row['initial_top_eigenvalue'])} "
        f"({fmt(row['initial_edge_ratio'], 2)}·2/μ)"
    )
    if row["n_onset"] == 0:
        return (
            f"{head}: {start} and rises {fmt(row['peak_sharpening_ratio'], 2)}× at most, to "
            f"{fmt(row['max_edge_ratio'], 2)}·2/μ; it never reaches {1 - band:g}·2/μ in "
            f"{epochs} epochs, so this run shows no edge of stability; the loss rises in "
            f"{percent(row['loss_rise_fraction_before'])} of the epochs."
        )
    seeds = f" ({row['n_onset']} of {alive} seeds; the others never get there)"
    seeds = "" if row["n_onset"] == alive else seeds
    return (
        f"{head}: {start}, first reaches {1 - band:g}·2/μ at epoch "
        f"{fmt(row['onset_epoch'])}{seeds} and over the second half sits at a median "
        f"{fmt(row['late_edge_ratio'], 3)}·2/μ, {fmt(row['sharpening_ratio'], 3)}× its "
        f"initial value; from the onset on {percent(row['fraction_in_band'])} of the "
        f"records lie within ±{band:g}·2/μ (peak {fmt(row['max_edge_ratio'], 4)}·2/μ)"
        f"; the training loss rises in {percent(row['loss_rise_fraction_after'])} of the "
        f"epochs after the onset ({percent(row['loss_rise_fraction_before'])} before), by "
        f"up to {fmt(row['max_loss_rise_factor'], 3)}× in one epoch, and falls from "
        f"{fmt(row['initial_train_loss'], 3)} to {fmt(row['final_train_loss'], 3)} overall."
    )


def _side_sentence(rate_rows: Sequence[dict], alpha: float = 0.05) -> str:
    """Where λ_max sits against 2/μ over the second half: tested per step size, Holm over them,
    named only at or above the floor (the pooled seed spread of the ratios)."""
    rows = [r for r in rate_rows if r["late_edge_ratio"] is not None]
    if not rows:
        return "No step size has a second-half λ_max to compare with 2/μ."
    late = [r["late_edge_ratio"] for r in rows]
    medians = f"seed medians {fmt(min(late), 3)}–{fmt(max(late), 3)}·2/μ"
    tested = [r for r in rows if math.isfinite(r.get("late_edge_ratio_p_holm", math.nan))]
    if not tested:
        return (
            f"Over the second half λ_max sits at {medians}; with one seed per step size, "
            "whether it lies above or below 2/μ cannot be tested."
        )

    def rates(verdict: str, keep=lambda t: True) -> list[float]:
        chosen = [r for r in tested if r["late_edge_ratio_verdict"] == verdict]
        return [r["learning_rate"] for r in chosen if keep(r["late_edge_ratio_t"])]

    above = rates(verdicts.EFFECT, lambda t: t > 0)
    sides = {
        "above 2/μ": above,
        "below 2/μ": rates(verdicts.EFFECT, lambda t: t < 0),
        "off 2/μ by less than the floor": rates(verdicts.BELOW_FLOOR),
        "not distinguishably off 2/μ": rates(verdicts.NOT_DETECTED),
    }
    floor = tested[0]["late_edge_ratio_floor"]
    sentence = (
        f"Over the second half ({medians}; each seed's median ratio tested against 1 by a "
        f"two-sided t-test, Holm over the {count_of(len(tested), 'step size')} tested, level "
        f"{alpha:g}; floor {fmt(floor, 2)}, the pooled seed-to-seed standard deviation of the "
        "ratios), λ_max lies "
        + "; ".join(f"{side} at μ = {listed(at)}" for side, at in sides.items() if at)
        + " (departures "
        + ", ".join(
            f"{fmt(r['late_edge_ratio_mean'] - 1, 2)} at μ = {r['learning_rate']:g} "
            f"({p_text(r['late_edge_ratio_p_holm'])}; detectable "
            f"{fmt(r['late_edge_ratio_detectable'], 2)})"
            for r in tested
        )
        + ")."
    )
    if above:
        sentence += (
            " Lanczos gives a lower bound on λ_max, so a ratio above 1 is not an estimation "
            "artefact; Cohen et al. (2021) report λ_max just above 2/μ."
        )
    return sentence


SIGNATURE_NAMES = {
    "sharpening": "progressive sharpening from below to the edge",
    "hovering": "a plateau at 2/μ",
    "non_monotone": "a non-monotone loss at the edge",
}


def conclusions(
    rate_rows: Sequence[dict], *, band: float, epochs: int, alpha: float = 0.05, signatures=None
) -> list[str]:
    """Per step size one sentence, then which signatures hold where, and where they do not."""
    sentences = [rate_sentence(r, band=band, epochs=epochs) for r in rate_rows]
    marks = {r["learning_rate"]: classify(r) for r in rate_rows}
    sentences.append(
        f"A step size shows a signature when at least {percent(verdicts.RUN_SHARE)} of its "
        f"seeds do (a description of each of the {count_of(len(marks), 'step size')}, not a test); "
        f"thresholds per run: a plateau has at least {HOVER_FRACTION:.0%} of the records after "
        f"the onset within ±{band:g}·2/μ, a non-monotone loss rises in at least "
        f"{RISING_FRACTION:.0%} of the epochs after the onset."
    )
    alive = {r["learning_rate"]: r["n_seeds"] - r["n_diverged"] for r in rate_rows}
    for name, text in SIGNATURE_NAMES.items():
        shown = [rate for rate, mark in marks.items() if mark[name]]
        missing = [rate for rate, mark in marks.items() if not mark[name]]
        counts = ", ".join(f"{r[f'n_{name}']}/{alive[r['learning_rate']]}" for r in rate_rows)
        sentence = f"{text[0].upper() + text[1:]}: μ = {listed(shown)}"
        if missing:
            sentence += f"; not at μ = {listed(missing)}"
        sentence += f" (seeds showing it per step size: {counts})"
        if signatures:
            v = signatures[name]
            sentence += (
                f"; over all runs {v['count']} of {v['n']} runs ({percent(v['share'])}; binomial "
                f"{p_text(v['p'])} against 1/2, floor {percent(v['floor'])}): {v['verdict']}"
            )
        sentences.append(sentence + ".")
    sentences.append(_side_sentence(rate_rows, alpha))
    short = [
        r
        for r in rate_rows
        if r["onset_epoch"] is not None and r["onset_epoch"] <= SHORT_SHARPENING * epochs
    ]
    if short:
        sentences.append(
            "Where this net shows progressive sharpening least: at μ = "
            + ", ".join(
                f"{r['learning_rate']:g} (start {fmt(r['initial_edge_ratio'], 2)}·2/μ, "
                f"onset at epoch {fmt(r['onset_epoch'])})"
                for r in short
            )
            + f" λ_max reaches the edge within the first {SHORT_SHARPENING:.0%} of training, so "
            "the sharpening phase is a brief jump rather than the long climb of the smaller "
            "steps."
        )
    overshoot = [
        r for r in rate_rows if r["max_edge_ratio"] is not None and r["max_edge_ratio"] > 1 + band
    ]
    if overshoot:
        settled = [r["learning_rate"] for r in overshoot if r["late_edge_ratio"] <= 1 + band]
        above = [r["learning_rate"] for r in overshoot if r["late_edge_ratio"] > 1 + band]
        sentence = f"λ_max overshoots the band (peak above {1 + band:g}·2/μ) at μ = " + ", ".join(
            f"{r['learning_rate']:g} (peak {fmt(r['max_edge_ratio'], 4)}·2/μ "
            f"at epoch {fmt(r['max_epoch'])})"
            for r in overshoot
        )
        if settled:
            sentence += (
                f"; its second-half median is back within ±{band:g}·2/μ at μ = {listed(settled)}"
            )
        if above:
            sentence += f"; it stays above the band over the second half at μ = {listed(above)}"
        sentences.append(sentence + ".")
    return sentences


def edge_answer(results: dict) -> str:
    """Does sharpness rise to 2/μ and hover? The pooled signature verdicts in one sentence."""
    signatures = results.get("signatures")
    if not signatures or not signatures["sharpening"]["n"]:
        return "No run survived to measure"
    sharpening, hovering = signatures["sharpening"], signatures["hovering"]
    named = [n for n in ("sharpening", "hovering") if signatures[n]["verdict"] == verdicts.EFFECT]
    verdict = (
        "**Yes: λ_max rises to 2/μ and hovers there**"
        if len(named) == 2
        else "**It rises to 2/μ but does not hover in most runs**"
        if named == ["sharpening"]
        else "**No edge-of-stability plateau established**"
    )
    late = [r["late_edge_ratio"] for r in results["rate_summary"] if r["late_edge_ratio"]]
    return (
        f"{verdict}: {sharpening['count']} of {sharpening['n']} runs sharpen to the edge and "
        f"{hovering['count']} hover within the band (binomial {p_text(hovering['p'])} against "
        f"1/2; floor {percent(hovering['floor'])}); second-half λ_max = "
        f"{fmt(min(late), 3)}–{fmt(max(late), 3)}·2/μ"
    )


def answers(results: dict) -> list[dict]:
    """One row for the beyond-the-sheet question this study answers."""
    question = "Full-batch GD at the edge of stability: does sharpness rise to 2/μ and hover?"
    row = {"item": "Beyond", "question": question, "answer": edge_answer(results) + "."}
    return [row | {"figure": "edge_of_stability.png"}]


def summary(results: dict) -> list[str]:
    """Headline numbers and verdicts for the console."""
    rows = results["rate_summary"]
    late = ", ".join(f"{r['learning_rate']:g}: {fmt(r['late_edge_ratio'])}" for r in rows)
    reached = ", ".join(
        f"{r['learning_rate']:g}: {r['n_onset']}/{r['n_seeds'] - r['n_diverged']}" for r in rows
    )
    lines = [
        f"lambda_max*mu/2 over the second half (seed median) by mu: {late}",
        f"edge reached (seeds) by mu: {reached}",
    ]
    for name, v in results.get("signatures", {}).items():
        if isinstance(v, dict):
            lines.append(
                f"{name}: {v['count']}/{v['n']} runs (floor {fmt(v['floor'])}): {v['verdict']}"
            )
    lines.append(
        f"training {fmt(results['train_seconds'], 2)} s, curvature "
        f"{fmt(results['curvature_seconds'], 2)} s"
    )
    return lines


def _setup(results: dict) -> str:
    config = results["run"]["config"]
    shape = config["data"]
    return (
        f"Full-batch gradient descent (every step sees all N = {config['n_train']} points) on "
        f"the implicit-regularization study's network {shape['input_dim']} → {config['width']} × "
        f"{config['depth']} → {shape['output_dim']} ReLU and data, {config['epochs']} steps, "
        f"{count_of(config['seeds'], 'seed')} per step size μ."
    )


def _method(results: dict) -> str:
    config = results["run"]["config"]
    band = config["edge_band"]
    n_records = len(results["trajectories"][0]["record_epochs"]) if results["trajectories"] else 0
    return (
        f"{results['n_params']} parameters, {config['init_scheme']} init. λ_max of the full "
        f"training MSE by Lanczos ({config['lanczos_iterations']} Hessian-vector products) every "
        f"{config['record_every']} steps ({n_records} records per run). Gradient descent on a "
        "quadratic is stable only while λ_max ≤ 2/μ; Cohen et al. (2021) found that on neural "
        "networks λ_max rises until it reaches 2/μ and then hovers there while the loss keeps "
        f"falling non-monotonically. Onset: first record with λ_max·μ/2 ≥ {1 - band:g}; in band: "
        f"|λ_max·μ/2 − 1| ≤ {band:g}. Seed medians; “vs 1”: Holm-adjusted two-sided p of the "
        "seeds' second-half ratios against 1 (t-test; — with one seed), with its verdict "
        f"against the floor. Signature floor: {verdicts.RUN_SHARE_REASON}."
    )


COMPACT_COLUMNS = (
    "μ",
    "onset epoch (seeds)",
    "λ_max·μ/2 second half",
    "records in band",
    "loss rises after onset",
    "seeds sharpening / plateau / non-monotone",
)


def _rate_table(results: dict, *, compact: bool = False) -> str:
    """One row per step size: every number (the details' table), or ``COMPACT_COLUMNS``."""

    def alive(r: dict) -> int:
        return r["n_seeds"] - r["n_diverged"]

    def test_loss(r: dict) -> float | None:
        rate = r["learning_rate"]
        return seed_median([x["test_loss"] for x in results["runs"] if x["learning_rate"] == rate])

    columns = {
        "μ": lambda r: f"{r['learning_rate']:g}",
        "2/μ": lambda r: r["edge"],
        "λ_max·μ/2 at 0": lambda r: r["initial_edge_ratio"],
        "onset epoch (seeds)": lambda r: f"{fmt(r['onset_epoch'])} ({r['n_onset']}/{alive(r)})",
        "λ_max·μ/2 second half": lambda r: r["late_edge_ratio"],
        "vs 1": lambda r: fmt(r.get("late_edge_ratio_p_holm"), 2),
        "verdict": lambda r: r.get("late_edge_ratio_verdict", "—"),
        "peak λ_max·μ/2": lambda r: r["max_edge_ratio"],
        "sharpening ×": lambda r: r["sharpening_ratio"],
        "records in band": lambda r: percent(r["fraction_in_band"]),
        "loss rises after onset": lambda r: percent(r["loss_rise_fraction_after"]),
        "before": lambda r: percent(r["loss_rise_fraction_before"]),
        "final train MSE": lambda r: r["final_train_loss"],
        "test MSE": test_loss,
        COMPACT_COLUMNS[-1]: lambda r: " / ".join(f"{r[f'n_{k}']}/{alive(r)}" for k in SIGNATURES),
    }
    names = COMPACT_COLUMNS if compact else list(columns)
    return table(names, [[columns[name](r) for name in names] for r in results["rate_summary"]])


def markdown(results: dict) -> str:
    """The study's section: answer, figure, compact table, then the method and every number."""
    sentences = "\n".join(f"- {sentence}" for sentence in results["conclusions"])
    body = "\n\n".join([_method(results), _rate_table(results), sentences])
    blocks = [
        _setup(results),
        "### Progressive sharpening and the edge of stability",
        edge_answer(results) + ".",
        "![training loss and sharpness against the step](edge_of_stability.png)",
        table(
            ["signature", "runs", "share", "binomial p", "floor", "verdict"],
            _verdict_rows(results.get("signatures", {})),
        ),
        _rate_table(results, compact=True),
        details("How it was tested", body),
    ]
    return "\n\n".join(blocks) + "\n"


def _verdict_rows(signatures: dict) -> list[list]:
    """One row per signature: its runs, share, binomial p, floor and verdict."""
    return [
        [
            SIGNATURE_NAMES[name],
            f"{v['count']}/{v['n']}",
            percent(v["share"]),
            fmt(v["p"], 2),
            percent(v["floor"]),
            f"**{v['verdict']}**" if v["verdict"] == verdicts.EFFECT else v["verdict"],
        ]
        for name, v in signatures.items()
        if isinstance(v, dict)
    ]
