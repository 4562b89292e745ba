r"""Implicit regularization of SGD (computer assignment 2): sweeps, gradient statistics, conclusions.

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

Sharpness (Cohen, Kaur, Li, Kolter, Talwalkar 2021; Jastrzębski et al. 2020):
gradient descent with step :math:`\mu` on a quadratic is stable only while the
top Hessian eigenvalue :math:`\lambda_\max \le 2/\mu`; full-batch GD on neural
networks drives :math:`\lambda_\max` up to that edge and hovers there, and SGD
is reported to settle below it. Every member's :math:`\lambda_\max` (Lanczos)
and :math:`\operatorname{tr}H` (Hutchinson) of its own full training MSE are
measured at the matched loss and at the end (``jaxnn.curvature``), compared
with :math:`2/\mu` through the *edge ratio* :math:`\lambda_\max\mu/2`, and
correlated with the test error across runs (``sharpness_summary``).

Divergence: a run is *diverged* if the training loop flagged it (non-finite
or exploding loss) or if its network collapsed to a constant output (the mean
over outputs of the standard deviation of its predictions over the training
inputs is below ``collapse_tol`` times that of the targets): with LeCun init a
too-large rate kills every ReLU and leaves the loss at Var(y), no NaN.

Everything here is pure: arrays in, plain dicts and strings out; the
experiment script writes them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import curvature, data, gradstats, models, precision, train
from jaxnn.formatting import fmt, plus_minus, table
from jaxnn.studies import NoProgress
from jaxnn.studies.double_descent import seed_summary


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The implicit-regularization study.

    Attributes:
        data: teacher, noise s and test set: the double-descent study's data.
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
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        for name in (
            "width",
            "depth",
            "n_train",
            "batch_size",
            "seeds",
            "epochs",
            "chunk_epochs",
            "lanczos_iterations",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.n_train % self.batch_size:
            raise ValueError(
                f"batch_size: {self.batch_size} does not divide n_train {self.n_train}"
            )
        if not self.learning_rates or not all(r > 0 for r in self.learning_rates):
            raise ValueError(f"learning_rates: need values > 0, got {self.learning_rates}")
        if not all(d > 0 for d in self.weight_decays):
            raise ValueError(f"weight_decays: need values > 0, got {self.weight_decays}")
        if self.trace_samples < 2:
            raise ValueError(
                f"trace_samples: need at least 2 for a standard error, got {self.trace_samples}"
            )
        if not (math.isfinite(self.edge_tolerance) and 0 < self.edge_tolerance < 1):
            raise ValueError(f"edge_tolerance: need a value in (0, 1), got {self.edge_tolerance}")
        for name in ("matched_loss", "convergence_level", "collapse_tol"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")
        models.check_init_scheme(self.init_scheme)
        precision.check_precision(self.matmul_precision)
        for name in ("learning_rates", "weight_decays"):
            if not all(math.isfinite(v) for v in getattr(self, name)):
                raise ValueError(f"{name}: need finite values, got {getattr(self, name)}")

    def train_config(self) -> train.TrainConfig:
        return train.TrainConfig(
            model=models.MLPFamily(
                input_dim=self.data.input_dim, output_dim=self.data.output_dim, depth=self.depth
            ),
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
COLLAPSED = "collapsed to a constant output"


class Grid(NamedTuple):
    """The settings of every member of one vmapped sweep, ``[member]`` each.

    Members are ordered weight decay (outer), learning rate, seed (inner).
    """

    learning_rate: np.ndarray
    weight_decay: np.ndarray
    seed: np.ndarray


def make_grid(
    learning_rates: Sequence[float], seeds: int, weight_decays: Sequence[float] = (0.0,)
) -> Grid:
    """Every (weight decay, learning rate, seed) combination as flat ``[member]`` arrays."""
    decay, rate, seed = np.meshgrid(
        np.asarray(weight_decays, np.float64),
        np.asarray(learning_rates, np.float64),
        np.arange(seeds),
        indexing="ij",
    )
    return Grid(rate.ravel(), decay.ravel(), seed.ravel())


def build_members(
    key: jax.Array,
    grid: Grid,
    x_train: jax.Array,
    y_train: jax.Array,
    sizes: Sequence[int],
    init_scheme: str,
) -> train.Members:
    """The ``train.Members`` of a sweep: seed ``s`` uses training set ``s`` and its own init.

    Members that share a seed share the training set, the initial parameters
    and the mini-batch order, so rates and decays are compared on paired runs.

    Args:
        key: the init/shuffle key; seed ``s`` draws from ``fold_in(key, s)``.
        grid: the member settings (``make_grid``).
        x_train, y_train: ``[seed, N, ...]`` training sets.
        sizes: layer sizes of the network.
        init_scheme: see ``jaxnn.models``.
    """
    seed = jnp.asarray(grid.seed)
    seed_keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(seed)
    key_init = jax.vmap(lambda k: jax.random.fold_in(k, 0))(seed_keys)
    key_shuffle = jax.vmap(lambda k: jax.random.fold_in(k, 1))(seed_keys)
    params = jax.vmap(lambda k: models.init(k, sizes, init_scheme=init_scheme))(key_init)
    return train.Members(
        params=params,
        learning_rate=jnp.asarray(grid.learning_rate),
        weight_decay=jnp.asarray(grid.weight_decay),
        x_train=x_train[seed],
        y_train=y_train[seed],
        shuffle_key=key_shuffle,
    )


@functools.lru_cache(maxsize=8)
def _member_stats_fn(activation: str, batch_size: int, matmul_precision: str):
    loss_fn = train.make_loss_fn(models.MLPFamily(activation=activation))
    stats = lambda p, x, y: gradstats.gradient_stats(loss_fn, p, x, y, batch_size)  # noqa: E731
    return jax.jit(precision.pinned(jax.vmap(stats), matmul_precision))


def member_gradient_stats(
    params,
    x_train,
    y_train,
    *,
    activation: str,
    batch_size: int,
    matmul_precision: str = precision.DEFAULT,
) -> dict[str, np.ndarray]:
    """``gradient_stats`` of every member (leading axis of everything), one compiled call."""
    stats = _member_stats_fn(activation, batch_size, matmul_precision)(params, x_train, y_train)
    return {name: np.asarray(value) for name, value in stats.items()}


CURVATURE_NAMES = (
    "hessian_top_eigenvalue",
    "hessian_trace",
    "hessian_trace_standard_error",
    "hessian_trace_per_parameter",
)
CURVATURE_STREAM = 2  # fold_in tag of the curvature probes under a seed's key (0: init, 1: shuffle)
MATCHED, FINAL = 0, 1  # fold_in tags: probes at the matched-loss snapshot and at the end


def curvature_keys(key: jax.Array, seeds: Sequence[int], where: int) -> jax.Array:
    """``[member]`` typed curvature keys: ``fold_in(fold_in(fold_in(key, s), 2), where)``.

    ``key`` is the init/shuffle key of ``build_members`` and ``s`` the member's
    seed: members that share a seed share their probe vectors (common random
    numbers, so rates are compared on paired probes as on paired data), and
    ``where`` (``MATCHED`` or ``FINAL``) gives the two measurements their own streams.
    """

    def one(seed):
        seed_key = jax.random.fold_in(key, seed)
        return jax.random.fold_in(jax.random.fold_in(seed_key, CURVATURE_STREAM), where)

    return jax.vmap(one)(jnp.asarray(seeds))


@functools.lru_cache(maxsize=8)
def _member_curvature_fn(activation: str, iterations: int, num_samples: int, matmul_precision: str):
    loss_fn = train.make_loss_fn(models.MLPFamily(activation=activation))

    def stats(params, x, y, key):
        return curvature.curvature_stats(
            loss_fn,
            params,
            x,
            y,
            key=key,
            iterations=iterations,
            num_samples=num_samples,
            matmul_precision=matmul_precision,
        )

    return jax.jit(jax.vmap(stats))


def member_curvature_stats(
    params,
    x_train,
    y_train,
    keys,
    *,
    activation: str,
    iterations: int,
    num_samples: int,
    matmul_precision: str = precision.DEFAULT,
) -> dict[str, np.ndarray]:
    """``curvature_stats`` of every member's training MSE, one vmapped, jitted call.

    Args:
        params: ``[member, ...]`` parameters.
        x_train, y_train: ``[member, N, ...]``, each member's own training set.
        keys: ``[member]`` typed keys (``curvature_keys``).
        activation, iterations, num_samples, matmul_precision: see ``curvature.curvature_stats``
            (whose numbers ``curvature_stats`` here reproduces without LAPACK).

    Returns:
        ``[member]`` arrays ``hessian_top_eigenvalue`` (λ_max), ``hessian_trace`` and
        ``hessian_trace_standard_error``, and ``hessian_trace_per_parameter`` (tr H / p,
        the mean eigenvalue, p the number of parameters).
    """
    fn = _member_curvature_fn(activation, iterations, num_samples, matmul_precision)
    stats = {name: np.asarray(value) for name, value in fn(params, x_train, y_train, keys).items()}
    n_params = sum(int(np.prod(leaf.shape[1:])) for leaf in jax.tree.leaves(params))
    stats["hessian_trace_per_parameter"] = stats["hessian_trace"] / n_params
    return stats


@functools.partial(jax.jit, static_argnames=("activation",))
def _output_spread(params, x, activation):
    def spread(params, x):
        prediction = models.apply(params, x, activation=activation)
        return jnp.mean(jnp.std(prediction, axis=0))

    return precision.pinned(jax.vmap(spread))(params, x)


def output_spread(params, x, *, activation: str) -> np.ndarray:
    """``[member]``: mean over outputs of the std over inputs of each member's predictions."""
    return np.asarray(_output_spread(params, x, activation))


def target_spread(y) -> np.ndarray:
    """``[member]``: mean over outputs of the std over samples of the targets."""
    return np.asarray(jnp.mean(jnp.std(y, axis=-2), axis=-1))


def matched_train_loss(train_loss: np.ndarray, snapshot_epoch: np.ndarray) -> np.ndarray:
    """``[member]``: the training loss at the snapshot epoch (NaN where none was taken)."""
    index = np.clip(snapshot_epoch, 0, train_loss.shape[1] - 1)
    loss = train_loss[np.arange(train_loss.shape[0]), index]
    return np.where(snapshot_epoch >= 0, loss, np.nan)


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def run_rows(
    grid: Grid, arrays: dict[str, np.ndarray], *, convergence_level: float, collapse_tol: float
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
        Rows with the keys of the issue (``learning_rate, seed, weight_decay,
        final_train_loss, test_loss, grad_norm_sq, batch_grad_variance,
        matched_loss_grad_norm_sq, matched_loss_batch_grad_variance, converged,
        diverged``) plus the noise scales, the curvature (``hessian_top_eigenvalue``,
        ``hessian_trace`` and its standard error, ``hessian_trace_per_parameter`` and
        ``edge_ratio`` = λ_max·μ/2, each also with the prefix ``matched_loss_``), the
        matched loss and epochs and the reason of a divergence. Numbers of runs with a non-finite or exploding loss
        are ``None``; a collapsed run keeps its (finite) numbers but is diverged.
    """
    rows = []
    for m in range(len(grid.learning_rate)):
        flagged = bool(arrays["diverged"][m]) or not np.isfinite(arrays["final_train_loss"][m])
        collapsed = bool(arrays["output_spread"][m] < collapse_tol * arrays["target_spread"][m])
        diverged = flagged or collapsed
        # A collapsed network's numbers are real (those of a constant predictor): keep them.
        value = lambda name: None if flagged else _finite_or_none(arrays[name][m])  # noqa: E731
        has_snapshot = arrays["snapshot_epoch"][m] >= 0 and not flagged
        matched = lambda name: value(name) if has_snapshot else None  # noqa: E731
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
        for prefix in ("", "matched_loss_"):
            top = row[f"{prefix}hessian_top_eigenvalue"]
            row[f"{prefix}edge_ratio"] = None if top is None else top * half_rate
        rows.append(row)
    return rows


def _values(rows: Sequence[dict], key: str) -> np.ndarray:
    return np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=float)


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
)


def rate_summary(rows: Sequence[dict]) -> list[dict]:
    """Per learning rate (implicit-only runs, weight decay 0): seed statistics of converged runs.

    Each metric gets ``<metric>`` (mean), ``_std``, ``_min``, ``_max`` over the
    converged seeds; ``n_seeds``, ``n_converged``, ``n_diverged`` count runs.
    The matched-loss ratios ``matched_loss_grad_norm_sq_per_loss`` and
    ``matched_loss_batch_grad_variance_per_loss`` divide by each run's own
    training loss at the snapshot, removing the small spread of that loss.
    """
    implicit = [r for r in rows if r["weight_decay"] == 0]
    table = []
    for rate in sorted({r["learning_rate"] for r in implicit}):
        runs = [r for r in implicit if r["learning_rate"] == rate]
        converged = [r for r in runs if r["converged"]]
        entry = {
            "learning_rate": rate,
            "n_seeds": len(runs),
            "n_converged": len(converged),
            "n_diverged": sum(r["diverged"] for r in runs),
        }
        per_loss = {}
        if converged:
            loss = _values(converged, "matched_loss_train_loss")
            for stat in ("grad_norm_sq", "batch_grad_variance"):
                per_loss[f"matched_loss_{stat}_per_loss"] = (
                    _values(converged, f"matched_loss_{stat}") / loss
                )
        for metric in RATE_METRICS:
            values = _values(converged, metric) if converged else np.array([])
            entry.update(_summary_fields(metric, values))
        for metric, values in per_loss.items():
            entry.update(_summary_fields(metric, values))
        table.append(entry)
    return table


def _summary_fields(metric: str, values: np.ndarray) -> dict:
    stats = (
        seed_summary(values)
        if values.size
        else {k: float("nan") for k in ("mean", "std", "min", "max")}
    )
    return {
        metric: stats["mean"],
        f"{metric}_std": stats["std"],
        f"{metric}_min": stats["min"],
        f"{metric}_max": stats["max"],
    }


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


def best_settings(decay_rows: Sequence[dict]) -> dict:
    """The lowest seed-mean test loss without weight decay (implicit) and with it (explicit).

    A setting counts only if none of its seeds diverged. Adds the difference
    ``explicit - implicit`` and its standard error from the two seed spreads.
    """
    eligible = [r for r in decay_rows if r["n_diverged"] == 0 and np.isfinite(r["test_loss"])]
    implicit = [r for r in eligible if r["weight_decay"] == 0]
    explicit = [r for r in eligible if r["weight_decay"] > 0]
    best = lambda rs: min(rs, key=lambda r: r["test_loss"]) if rs else None  # noqa: E731
    result = {"implicit": best(implicit), "explicit": best(explicit)}
    if result["implicit"] and result["explicit"]:
        a, b = result["implicit"], result["explicit"]
        result["difference"] = b["test_loss"] - a["test_loss"]
        result["difference_standard_error"] = math.sqrt(
            a["test_loss_std"] ** 2 / a["n_seeds"] + b["test_loss_std"] ** 2 / b["n_seeds"]
        )
    return result


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


def log_log_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y against log x over the finite positive pairs (NaN if < 2)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Correlation of the finite pairs (NaN if fewer than 3 or no spread)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.std(x[keep]) == 0 or np.std(y[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(x[keep], y[keep])[0, 1])


def trend_word(slope: float, tolerance: float = 0.1) -> str:
    """``"falls"``, ``"rises"`` or ``"stays flat"`` for a log-log slope (|slope| < tol: flat)."""
    if not math.isfinite(slope):
        return "cannot be measured"
    return "falls" if slope < -tolerance else "rises" if slope > tolerance else "stays flat"


def statistic_trends(rate_rows: Sequence[dict]) -> dict:
    """Log-log slopes against the learning rate of the seed means of each statistic."""
    rates = [r["learning_rate"] for r in rate_rows]
    names = (
        "test_loss",
        *STAT_NAMES,
        *(f"matched_loss_{s}" for s in STAT_NAMES),
        "matched_loss_grad_norm_sq_per_loss",
        "matched_loss_batch_grad_variance_per_loss",
    )
    return {name: log_log_slope(rates, [r.get(name, np.nan) for r in rate_rows]) for name in names}


def test_loss_correlations(rows: Sequence[dict]) -> dict:
    """Pearson r between test loss and log statistic over converged implicit-only runs."""
    runs = [r for r in rows if r["weight_decay"] == 0 and r["converged"]]
    test = _values(runs, "test_loss")
    result = {}
    for stat in ("grad_norm_sq", "batch_grad_variance"):
        for key in (stat, f"matched_loss_{stat}"):
            with np.errstate(divide="ignore", invalid="ignore"):
                result[key] = pearson(np.log(_values(runs, key)), test)
    return result


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of the finite pairs: Pearson r of their ranks (ties averaged)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    return pearson(_ranks(x[keep]), _ranks(y[keep]))


def _ranks(values: np.ndarray) -> np.ndarray:
    ranks = np.empty(values.size)
    ranks[np.argsort(values, kind="stable")] = np.arange(values.size, dtype=float)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def correlation_p_value(r: float, n: int, controls: int = 0) -> float:
    r"""Two-sided p-value of a correlation ``r`` of ``n`` pairs against 0 (Fisher's z).

    :math:`z = \operatorname{artanh}(r)\sqrt{n - c - 3}` is close to standard normal
    under independence, with ``c = controls`` variables partialled out first (Fisher 1924);
    an approximation at small n, good to a few percent of p at n = 16. NaN when r is
    NaN or fewer than one degree of freedom is left.
    """
    dof = n - controls - 3
    if not math.isfinite(r) or dof < 1:
        return float("nan")
    z = math.atanh(min(abs(r), 1 - 1e-15)) * math.sqrt(dof)
    return math.erfc(z / math.sqrt(2))


def within_group_pearson(
    groups: Sequence[float], x: Sequence[float], y: Sequence[float]
) -> tuple[float, int]:
    """Pearson r of x and y after subtracting each group's mean from both; and the group count.

    Only finite pairs count, and only groups with at least two of them (a single
    run has no within-group spread). The partial correlation controlling for the
    group: what is left of a correlation once the learning rate is held fixed.
    """
    groups, x, y = np.asarray(groups, float), np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    dx, dy, used = [], [], 0
    for group in np.unique(groups[keep]):
        mask = keep & (groups == group)
        if mask.sum() < 2:
            continue
        dx.append(x[mask] - x[mask].mean())
        dy.append(y[mask] - y[mask].mean())
        used += 1
    if not used:
        return float("nan"), 0
    return pearson(np.concatenate(dx), np.concatenate(dy)), used


def edge_position(edge_ratio: float | None, tolerance: float) -> str | None:
    """``"below"``, ``"at"`` or ``"above"`` the edge 2/μ for λ_max·μ/2 (``None`` if unknown).

    At the edge: :math:`|\\lambda_\\max\\mu/2 - 1| \\le` ``tolerance``.
    """
    if edge_ratio is None or not math.isfinite(edge_ratio):
        return None
    if edge_ratio > 1 + tolerance:
        return "above"
    return "below" if edge_ratio < 1 - tolerance else "at"


SHARPNESS_WHERE = (("matched_loss_", "at the matched loss"), ("", "at the end"))
CORRELATED = (("hessian_top_eigenvalue", "λ_max"), ("hessian_trace_per_parameter", "tr H/p"))


def sharpness_summary(rows: Sequence[dict], *, tolerance: float) -> dict:
    """Where the runs sit against the edge 2/μ, and how test error goes with the curvature.

    Args:
        rows: the ``runs`` rows (``run_rows``).
        tolerance: see ``edge_position``.

    Returns:
        ``positions``: per rate (converged implicit-only runs) and ``where`` (``matched_loss_``
        or ``""``), the counts below/at/above the edge and the range of λ_max·μ/2;
        ``weight_decay_positions``: the same counts at the end for the non-diverged runs
        with weight decay; ``runs_above``: every run above the edge; ``correlations``:
        for log λ_max and log(tr H/p) at both places, across converged implicit-only
        runs, Pearson r with its p-value, Spearman ρ, and the within-rate Pearson r
        (per-rate means removed) with its p-value; ``slopes``: log-log slopes of the
        rate means of λ_max and tr H against μ.
    """
    implicit = [r for r in rows if r["weight_decay"] == 0 and r["converged"]]
    rates = sorted({r["learning_rate"] for r in implicit})

    def counts(runs, prefix):
        positions = [edge_position(r[f"{prefix}edge_ratio"], tolerance) for r in runs]
        ratios = _values(runs, f"{prefix}edge_ratio")
        ratios = ratios[np.isfinite(ratios)]
        return {
            "below": positions.count("below"),
            "at": positions.count("at"),
            "above": positions.count("above"),
            "n": sum(p is not None for p in positions),
            "edge_ratio_min": float(ratios.min()) if ratios.size else float("nan"),
            "edge_ratio_max": float(ratios.max()) if ratios.size else float("nan"),
        }

    positions = []
    for rate in rates:
        runs = [r for r in implicit if r["learning_rate"] == rate]
        positions.append(
            {
                "learning_rate": rate,
                "edge": 2 / rate,
                **{
                    (prefix or "final_") + "positions": counts(runs, prefix)
                    for prefix, _ in SHARPNESS_WHERE
                },
            }
        )
    totals = {prefix: counts(implicit, prefix) for prefix, _ in SHARPNESS_WHERE}
    decayed = [r for r in rows if r["weight_decay"] > 0 and not r["diverged"]]
    runs_above = [
        {
            "learning_rate": r["learning_rate"],
            "seed": r["seed"],
            "where": where,
            "edge_ratio": r[f"{prefix}edge_ratio"],
        }
        for r in implicit
        for prefix, where in SHARPNESS_WHERE
        if edge_position(r[f"{prefix}edge_ratio"], tolerance) == "above"
    ]
    test = _values(implicit, "test_loss")
    learning_rates = _values(implicit, "learning_rate")
    correlations = {}
    for prefix, _ in SHARPNESS_WHERE:
        for name, _ in CORRELATED:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_value = np.log(_values(implicit, f"{prefix}{name}"))
            n = int((np.isfinite(log_value) & np.isfinite(test)).sum())
            r = pearson(log_value, test)
            within, groups = within_group_pearson(learning_rates, log_value, test)
            correlations[f"{prefix}{name}"] = {
                "n": n,
                "pearson": r,
                "p_value": correlation_p_value(r, n),
                "spearman": spearman(log_value, test),
                "within_rate_pearson": within,
                "within_rate_p_value": correlation_p_value(within, n, controls=max(0, groups - 1)),
            }
    rate_rows = [r for r in rate_summary(rows) if r["n_converged"]]
    slopes = {
        f"{prefix}{name}": log_log_slope(
            [r["learning_rate"] for r in rate_rows], [r[f"{prefix}{name}"] for r in rate_rows]
        )
        for prefix, _ in SHARPNESS_WHERE
        for name in ("hessian_top_eigenvalue", "hessian_trace")
    }
    return {
        "tolerance": tolerance,
        "positions": positions,
        "totals": totals,
        "weight_decay_positions": counts(decayed, ""),
        "runs_above": runs_above,
        "correlations": correlations,
        "slopes": slopes,
    }


def _position_text(counts: dict) -> str:
    return (
        f"{counts['at']} of {counts['n']} sit at the edge 2/μ, {counts['below']} below and "
        f"{counts['above']} above it (λ_max·μ/2 = {fmt(counts['edge_ratio_min'])}–"
        f"{fmt(counts['edge_ratio_max'])})"
    )


def _signed(value: float | None) -> str:
    """A correlation with its sign; a dash when missing (``None`` in JSON, or NaN)."""
    return f"{value:+.2f}" if value is not None and math.isfinite(value) else "—"


def sharpness_conclusions(
    sharpness: dict, *, batch_size: int, significance: float = 0.05, rows: Sequence[dict] = ()
) -> list[str]:
    """Sentences chosen from ``sharpness_summary``: the edge, the scaling, the correlations.

    ``rows`` (the ``runs`` rows) add how many converged implicit-only measurements exceed
    2/μ itself.
    """
    sharpness_runs = [r for r in rows if r["weight_decay"] == 0 and r["converged"]]
    tolerance = sharpness["tolerance"]
    totals = sharpness["totals"]
    if not totals[""]["n"]:
        return [
            (
                "No implicit-only run converged: the sharpness of converged runs cannot be "
                "compared with 2/μ."
            )
        ]
    sentences = []
    band = f"|λ_max·μ/2 − 1| ≤ {tolerance:g}"
    for prefix, where in SHARPNESS_WHERE:
        counts = totals[prefix]
        if counts["n"]:
            sentences.append(
                f"{where.capitalize()}, of the converged implicit-only runs "
                f"{_position_text(counts)}; at the edge means {band}."
            )
    n = totals[""]["n"] + totals["matched_loss_"]["n"]
    above = sharpness["runs_above"]
    at = totals[""]["at"] + totals["matched_loss_"]["at"]
    below = totals[""]["below"] + totals["matched_loss_"]["below"]
    if not above:
        verdict = f"all sit at or below the edge (λ_max ≤ {1 + tolerance:g}·2/μ)"
    else:
        listed = ", ".join(
            f"μ = {r['learning_rate']:g} seed {r['seed']} {r['where']} ({fmt(r['edge_ratio'])})"
            for r in above[:6]
        )
        verdict = (
            f"{len(above)} of {n} measurements sit above the edge, where gradient descent "
            f"on a quadratic with that step would diverge: {listed}"
            + (", …" if len(above) > 6 else "")
        )
    ratios = (
        np.concatenate(
            [_values(sharpness_runs, f"{prefix}edge_ratio") for prefix, _ in SHARPNESS_WHERE]
        )
        if sharpness_runs
        else np.array([])
    )
    ratios = ratios[np.isfinite(ratios)]
    over = ratios[ratios > 1]
    if over.size:
        verdict += (
            f"; {over.size} of {ratios.size} exceed 2/μ itself, by up to "
            f"{fmt(100 * (over.max() - 1), 2)} %, which the tolerance absorbs"
        )
    if at > n / 2:
        regime = (
            f"most sit *at* the edge, like full-batch gradient descent (Cohen et al. 2021): "
            f"with B = {batch_size}, SGD here does not settle clearly below 2/μ as "
            "Jastrzębski et al. (2020) report for small batches"
        )
    elif below > n / 2:
        regime = "most settle below it, as Jastrzębski et al. (2020) report for SGD"
    else:
        regime = "no single regime holds for most of them"
    sentences.append(f"Of these {n} measurements, {verdict}; {regime}.")
    decayed = sharpness["weight_decay_positions"]
    if decayed["n"]:
        sentences.append(
            f"With weight decay (λ_max of the training MSE alone; the decay adds λ "
            f"to the kernel directions), of the non-diverged runs at the end "
            f"{_position_text(decayed)}."
        )
    slopes = sharpness["slopes"]
    if all(
        math.isfinite(slopes[k])
        for k in ("matched_loss_hessian_top_eigenvalue", "matched_loss_hessian_trace")
    ):
        sentences.append(
            f"Across rates the seed mean of λ_max at the matched loss scales as μ^"
            f"{slopes['matched_loss_hessian_top_eigenvalue']:+.2f} (the edge 2/μ is μ^−1) and "
            f"tr H as μ^{slopes['matched_loss_hessian_trace']:+.2f}."
        )
    correlations = sharpness["correlations"]
    described = []
    for name, symbol in CORRELATED:
        parts = []
        for prefix, where in SHARPNESS_WHERE:
            c = correlations[f"{prefix}{name}"]
            parts.append(
                f"{where} r = {_signed(c['pearson'])} (p = {fmt(c['p_value'], 2)}, "
                f"Spearman ρ = {_signed(c['spearman'])})"
            )
        described.append(f"with log {symbol} " + " and ".join(parts))
    n_runs = correlations[f"matched_loss_{CORRELATED[0][0]}"]["n"]
    if n_runs < 3:
        sentences.append("Fewer than three converged runs: no correlation can be measured.")
        return sentences
    sentences.append(
        f"Across {n_runs} converged implicit-only runs, test MSE correlates "
        + "; ".join(described)
        + "."
    )
    within = "; ".join(
        f"{symbol} r = {_signed(correlations['matched_loss_' + name]['within_rate_pearson'])} "
        f"(p = {fmt(correlations['matched_loss_' + name]['within_rate_p_value'], 2)})"
        for name, symbol in CORRELATED
    )
    sentences.append(
        f"Holding the learning rate fixed (each rate's seed mean removed from both), "
        f"at the matched loss: {within}."
    )
    verdicts: dict[str, list[str]] = {}
    for name, symbol in CORRELATED:
        c = correlations[f"matched_loss_{name}"]
        across = c["pearson"] > 0 and c["p_value"] < significance
        against = c["pearson"] < 0 and c["p_value"] < significance
        inside = c["within_rate_pearson"] > 0 and c["within_rate_p_value"] < significance
        if across and inside:
            verdict = (
                "flatter runs generalize better both across and within learning rates: "
                "this supports “flatter generalizes better” here"
            )
        elif across:
            verdict = (
                "flatter runs generalize better across rates, but within one rate the "
                "relation is not significant: flatness and test error both follow μ, so "
                "the data support “flatter generalizes better” only through the "
                "learning rate, not as a separate cause"
            )
        elif against:
            verdict = "sharper runs generalize *better*, against “flatter generalizes better”"
        else:
            verdict = (
                "no significant correlation: the data do not support “flatter "
                "generalizes better” here"
            )
        verdicts.setdefault(verdict, []).append(symbol)
    sentences.append(
        f"At significance level {significance:g} (matched loss): "
        + "; ".join(
            f"for {' and '.join(symbols)}, {verdict}" for verdict, symbols in verdicts.items()
        )
        + "."
    )
    return sentences


def training_curves(
    grid: Grid, train_loss: np.ndarray, first_epoch_below: np.ndarray, points: int = 150
) -> list[dict]:
    """Per learning rate of the implicit-only members: log-spaced train-loss curves per seed.

    ``first_epoch_below[member]`` is the first epoch below the convergence level
    (-1: never); the median is reported only when every seed got there.
    """
    epochs = train.log_spaced_epochs(train_loss.shape[1] - 1, points)
    curves = []
    for rate in np.unique(grid.learning_rate[grid.weight_decay == 0]):
        members = np.flatnonzero((grid.learning_rate == rate) & (grid.weight_decay == 0))
        first = first_epoch_below[members]
        curves.append(
            {
                "learning_rate": float(rate),
                "epochs": epochs.tolist(),
                "train_loss": np.median(train_loss[members][:, epochs], axis=0).tolist(),
                "train_loss_per_seed": train_loss[members][:, epochs].tolist(),
                "first_epoch_below_convergence_level": (
                    float(np.median(first)) if (first >= 0).all() else None
                ),
            }
        )
    return curves


def conclusions(
    rows: Sequence[dict],
    rate_rows: Sequence[dict],
    best: dict,
    *,
    convergence_level: float,
    matched_loss: float,
    float_floor: float = 1e-10,
) -> list[str]:
    """Sentences chosen from the measured numbers: convergence, trends, theory, weight decay."""
    sentences = []
    implicit = [r for r in rows if r["weight_decay"] == 0]
    failed = [r for r in implicit if not r["converged"]]
    if not failed:
        sentences.append(
            f"Every implicit-only run ({len(implicit)}) reached training MSE "
            f"< {convergence_level:g}."
        )
    else:
        listed = ", ".join(
            f"μ = {r['learning_rate']:g} seed {r['seed']} "
            f"({r['divergence'] or 'final MSE ' + fmt(r['final_train_loss'])})"
            for r in failed
        )
        sentences.append(
            f"{len(failed)} of {len(implicit)} implicit-only runs did not reach "
            f"training MSE < {convergence_level:g}: {listed}."
        )
    usable = [r for r in rate_rows if r["n_converged"] > 0]
    if len(usable) < 2:
        sentences.append("Fewer than two learning rates converged: no trend can be measured.")
        return sentences
    slopes = statistic_trends(usable)
    low, high = usable[0], usable[-1]
    span = f"μ = {low['learning_rate']:g} → {high['learning_rate']:g}"
    for stat, symbol, term in (
        ("grad_norm_sq", "‖∇J‖²", "(ε/4)‖∇C‖² (Barrett & Dherin)"),
        ("batch_grad_variance", "V", "(ε/4m)Σ‖∇C_k − ∇C‖² (Smith et al.)"),
    ):
        slope = slopes[f"matched_loss_{stat}_per_loss"]
        word = trend_word(slope)
        agree = "agrees with" if word == "falls" else "disagrees with"
        means = [r[f"matched_loss_{stat}_per_loss"] for r in usable]
        rises = [
            (a["learning_rate"], b["learning_rate"])
            for a, b, x, y in zip(usable, usable[1:], means, means[1:])
            if y > x
        ]
        if word == "falls" and rises:
            agree = (
                "agrees, though not monotonically (it rises between "
                + ", ".join(f"μ = {a:g} and {b:g}" for a, b in rises)
                + "), with"
            )
        sentences.append(
            f"At matched training loss (first epoch below {matched_loss:g}), {symbol}/J {word} "
            f"with the learning rate ({fmt(low[f'matched_loss_{stat}_per_loss'])} → "
            f"{fmt(high[f'matched_loss_{stat}_per_loss'])} for {span}, log-log slope "
            f"{slope:+.2f}): this {agree} the implicit penalty {term}, whose coefficient grows "
            f"as ε."
        )
    final_words = {
        stat: trend_word(slopes[stat]) for stat in ("grad_norm_sq", "batch_grad_variance")
    }
    floor_rates = [r["learning_rate"] for r in usable if r["final_train_loss"] < float_floor]
    above = [r for r in usable if r["final_train_loss"] >= float_floor]
    rates_text = lambda rates: ", ".join(f"{rate:g}" for rate in rates)  # noqa: E731
    if not above:
        floor_note = (
            f"every rate ends below training MSE {float_floor:g}, at the float32 floor, "
            "so these values measure rounding noise where each run stopped, not the "
            "flatness of the solution"
        )
    elif floor_rates:
        floor_note = (
            f"μ = {rates_text(floor_rates)} end below training MSE {float_floor:g} (the "
            "float32 floor, where the statistics are rounding noise) while μ = "
            f"{rates_text(r['learning_rate'] for r in above)} stop at "
            f"{', '.join(fmt(r['final_train_loss'], 2) for r in above)}, so the final "
            "values measure how far each run got, not flatness"
        )
    else:
        floor_note = (
            "no rate reaches the float32 floor, so the final values mix flatness with "
            "how far each run got"
        )
    sentences.append(
        f"At the final parameters ‖∇J‖² {final_words['grad_norm_sq']} (slope "
        f"{slopes['grad_norm_sq']:+.2f}) and V {final_words['batch_grad_variance']} (slope "
        f"{slopes['batch_grad_variance']:+.2f}) with μ; {floor_note}."
    )
    test_word = trend_word(slopes["test_loss"], tolerance=0.01)
    better = {
        "falls": "larger rates generalize better, as a stronger implicit penalty predicts",
        "rises": "larger rates generalize worse, against the prediction",
        "stays flat": "the rate barely changes generalization",
    }.get(test_word, "")
    sentences.append(
        f"Test MSE {test_word} with μ ({fmt(low['test_loss'])} ± {fmt(low['test_loss_std'], 2)} "
        f"→ {fmt(high['test_loss'])} ± {fmt(high['test_loss_std'], 2)} for {span}): {better}."
    )
    correlations = test_loss_correlations(rows)
    r_norm = correlations["matched_loss_grad_norm_sq"]
    r_var = correlations["matched_loss_batch_grad_variance"]
    if math.isfinite(r_norm) and math.isfinite(r_var):
        relation = (
            "runs with smaller gradient norm and variance at matched loss have lower test error"
            if min(r_norm, r_var) > 0.3
            else "larger gradient statistics at matched loss do not consistently mean higher "
            "test error"
        )
        sentences.append(
            f"Across converged runs the test MSE correlates with log ‖∇J‖² at "
            f"r = {r_norm:+.2f} and with log V at r = {r_var:+.2f}: {relation}."
        )
    penalties = implicit_penalty_table(usable, n_batches=1)  # ε/4 terms only: m cancels
    ratios = [p["penalty_per_loss"] for p in penalties if math.isfinite(p["penalty_per_loss"])]
    if ratios:
        regime = (
            "small against the loss, the regime where the first-order modified loss "
            "is meant to hold"
            if max(ratios) < 0.2
            else "not small against the loss, so the first-order modified loss is only a "
            "qualitative guide at the largest rates"
        )
        sentences.append(
            f"The implicit penalty (ε/4)(‖∇J‖² + V) at the matched level is "
            f"{fmt(min(ratios), 2)}–{fmt(max(ratios), 2)} times the training loss there: "
            f"{regime}."
        )
    if best.get("implicit") and best.get("explicit"):
        a, b = best["implicit"], best["explicit"]
        difference, error = best["difference"], best["difference_standard_error"]
        significant = abs(difference) > 2 * error
        if difference < 0 and significant:
            verdict = (
                "weight decay improves on the best implicit-only run beyond seed noise, "
                "so implicit regularization alone is not sufficient here"
            )
        elif difference < 0:
            verdict = (
                "weight decay is lower but within two standard errors of the best "
                "implicit-only run, so the evidence that it helps is weak"
            )
        else:
            verdict = (
                "weight decay does not beat the best implicit-only run, so implicit "
                "regularization is sufficient for this grid"
            )
        sentences.append(
            f"Best implicit-only run: μ = {a['learning_rate']:g}, test MSE {fmt(a['test_loss'])}; "
            f"best with weight decay: μ = {b['learning_rate']:g}, λ = {b['weight_decay']:g}, test "
            f"MSE {fmt(b['test_loss'])} (train MSE {fmt(b['final_train_loss'])}); difference "
            f"{difference:+.3f} ± {error:.3f} (s.e.): {verdict}."
        )
        decays = sorted({r["weight_decay"] for r in rows if r["weight_decay"] > 0})
        if b["weight_decay"] == decays[-1]:
            sentences.append(
                f"The best λ = {b['weight_decay']:g} is the largest in the grid: "
                "a larger decay might do better still."
            )
        elif b["weight_decay"] == decays[0]:
            sentences.append(
                f"The best λ = {b['weight_decay']:g} is the smallest in the grid: "
                "a smaller decay might do better still."
            )
    return sentences


def _pm(row: dict, key: str) -> str:
    return plus_minus(row[key], row[f"{key}_std"])


def _diverged_cell(row: dict) -> str:
    cell = f"{row['n_diverged']}/{row['n_seeds']}"
    if row["n_collapsed"]:
        cell += f" ({row['n_collapsed']} collapsed to a constant output)"
    return cell


def _positions_cell(counts: dict) -> str:
    return f"{counts['below']}/{counts['at']}/{counts['above']}"


def sharpness_markdown(results: dict) -> list[str]:
    """The subsection "Sharpness and the edge of stability": tables and sentences from ``results``."""
    config = results["run"]["config"]
    sharpness = results["sharpness"]
    positions = {p["learning_rate"]: p for p in sharpness["positions"]}
    rates = [r for r in results["rate_summary"] if r["n_converged"]]
    n_params = results["n_params"]
    rows = []
    for r in rates:
        p = positions[r["learning_rate"]]
        rows.append(
            [
                f"{r['learning_rate']:g}",
                fmt(2 / r["learning_rate"]),
                _pm(r, "matched_loss_hessian_top_eigenvalue"),
                _pm(r, "matched_loss_edge_ratio"),
                _pm(r, "hessian_top_eigenvalue"),
                _pm(r, "edge_ratio"),
                _pm(r, "matched_loss_hessian_trace"),
                _pm(r, "hessian_trace"),
                _pm(r, "matched_loss_hessian_trace_per_parameter"),
                _pm(r, "hessian_trace_per_parameter"),
                (
                    f"{_positions_cell(p['matched_loss_positions'])}; "
                    f"{_positions_cell(p['final_positions'])}"
                ),
            ]
        )
    correlation_rows = []
    for prefix, where in SHARPNESS_WHERE:
        for name, symbol in CORRELATED:
            c = sharpness["correlations"][f"{prefix}{name}"]
            correlation_rows.append(
                [
                    f"log {symbol} {where}",
                    c["n"],
                    _signed(c["pearson"]),
                    fmt(c["p_value"], 2),
                    _signed(c["spearman"]),
                    _signed(c["within_rate_pearson"]),
                    fmt(c["within_rate_p_value"], 2),
                ]
            )
    return [
        "### Sharpness and the edge of stability",
        "",
        (
            f"Top Hessian eigenvalue λ_max (Lanczos, {config['lanczos_iterations']} Hessian-vector "
            f"products) and trace tr H (Hutchinson, {config['trace_samples']} Rademacher probes) of "
            "each run's full training MSE, at the matched loss and at the end; p = "
            f"{n_params} parameters, so tr H/p is the mean eigenvalue. Gradient descent with step μ "
            "is stable on a quadratic only while λ_max ≤ 2/μ (Cohen et al. 2021). Mean ± std over "
            "converged implicit-only seeds; the last column counts runs below/at/above the edge "
            f"(at: |λ_max·μ/2 − 1| ≤ {sharpness['tolerance']:g}) at the matched loss; at the end."
        ),
        "",
        "![sharpness against the learning rate](implicit_regularization_sharpness.png)",
        "",
        table(
            [
                "μ",
                "2/μ",
                "λ_max matched",
                "λ_max·μ/2 matched",
                "λ_max final",
                "λ_max·μ/2 final",
                "tr H matched",
                "tr H final",
                "tr H/p matched",
                "tr H/p final",
                "below/at/above",
            ],
            rows,
        ),
        "",
        (
            "Test MSE against the curvature across converged implicit-only runs: Pearson r of "
            "test MSE with the log statistic and its two-sided p-value (Fisher z), Spearman ρ, and "
            "the Pearson r within learning rates (each rate's seed mean removed from both)."
        ),
        "",
        table(
            ["statistic", "runs", "r", "p", "Spearman ρ", "r within rates", "p within"],
            correlation_rows,
        ),
        "",
        *[f"- {sentence}" for sentence in results["sharpness_conclusions"]],
        "",
    ]


def markdown(results: dict) -> str:
    """Computer assignment 2 for REPORT.md: tables, figures and conclusions from ``results``."""
    config = results["run"]["config"]
    rates = results["rate_summary"]
    parts = [
        f"Network 8 → {config['width']} × {config['depth']} → 8 ReLU ({results['n_params']} "
        f"parameters, {config['init_scheme']} init), plain SGD with constant rate μ, B = "
        f"{config['batch_size']}, N = {config['n_train']}, {config['epochs']} epochs, "
        f"{config['seeds']} seeds (each redraws training set and init), label noise s = "
        f"{config['data']['noise_std']:g} (R_t = {results['bayes_risk']:g}). Matched level: "
        f"first epoch with training MSE < {config['matched_loss']:g}. Mean ± std over converged "
        "seeds.",
        "",
        "### Convergence and gradient statistics",
        "",
        "![convergence](implicit_regularization_convergence.png)",
        "",
        "![gradient statistics against the learning rate](implicit_regularization_grad_stats.png)",
        "",
        "![test error against the gradient statistics](implicit_regularization_test_loss.png)",
        "",
        "![gradient noise scale](implicit_regularization_noise_scale.png)",
        "",
        table(
            [
                "μ",
                "converged",
                "epoch < " + f"{config['convergence_level']:g}",
                "final train MSE",
                "test MSE",
                "final ‖∇J‖²",
                "final V",
                "matched J",
                "matched ‖∇J‖²",
                "matched V",
                "matched ‖∇J‖²/J",
                "matched V/J",
                "matched B_simple",
            ],
            [
                [
                    f"{r['learning_rate']:g}",
                    f"{r['n_converged']}/{r['n_seeds']}",
                    fmt(r["first_epoch_below_convergence_level"], 4),
                    fmt(r["final_train_loss"]),
                    _pm(r, "test_loss"),
                    _pm(r, "grad_norm_sq"),
                    _pm(r, "batch_grad_variance"),
                    fmt(r["matched_loss_train_loss"]),
                    _pm(r, "matched_loss_grad_norm_sq"),
                    _pm(r, "matched_loss_batch_grad_variance"),
                    _pm(r, "matched_loss_grad_norm_sq_per_loss") if r["n_converged"] else "n/a",
                    _pm(r, "matched_loss_batch_grad_variance_per_loss")
                    if r["n_converged"]
                    else "n/a",
                    _pm(r, "matched_loss_noise_scale"),
                ]
                for r in rates
            ],
        ),
        "",
        "### Implicit penalty of Smith et al. 2021 at the matched loss",
        "",
        f"C̃ = C + (ε/4)‖∇C‖² + (ε/4m)Σ_k‖∇C_k − ∇C‖², m = N/B = {results['n_batches']}; "
        "the last term is (ε/4)·V.",
        "",
        table(
            ["μ", "ε/4", "ε/(4m)", "(ε/4)‖∇J‖²", "(ε/4)V", "penalty / J"],
            [
                [
                    f"{r['learning_rate']:g}",
                    fmt(r["coefficient"]),
                    fmt(r["per_batch_coefficient"]),
                    fmt(r["grad_norm_penalty"]),
                    fmt(r["variance_penalty"]),
                    fmt(r["penalty_per_loss"]),
                ]
                for r in results["implicit_penalty"]
            ],
        ),
        "",
        *sharpness_markdown(results),
        "### Weight decay (L2 on kernels, not biases)",
        "",
        "![weight decay](implicit_regularization_weight_decay.png)",
        "",
        table(
            ["μ", "B", "λ", "train MSE", "test MSE", "diverged"],
            [
                [
                    f"{r['learning_rate']:g}",
                    str(config["batch_size"]),
                    f"{r['weight_decay']:g}",
                    _pm(r, "final_train_loss"),
                    _pm(r, "test_loss"),
                    _diverged_cell(r),
                ]
                for r in results["decay_summary"]
            ],
        ),
        "",
        "### Conclusions (chosen by code from the numbers above)",
        "",
        *[f"- {sentence}" for sentence in results["conclusions"]],
        "",
    ]
    return "\n".join(parts)


def run_sweep(config: Config, grid: Grid, dataset, key, *, mesh, progress) -> dict:
    """Trains one grid in one vmapped call and measures everything the rows need."""
    start = time.perf_counter()
    sizes = models.stacked_layer_sizes(config.width, config.depth)
    members = build_members(key, grid, dataset.x_train, dataset.y_train, sizes, config.init_scheme)
    result = train.train(
        config.train_config(), members, dataset.x_test, dataset.y_test, mesh=mesh, progress=progress
    )
    x, y = members.x_train, members.y_train
    measure = lambda params: member_gradient_stats(  # noqa: E731
        params,
        x,
        y,
        activation="relu",
        batch_size=config.batch_size,
        matmul_precision=config.matmul_precision,
    )
    final, matched = measure(result.params), measure(result.snapshot_params)
    curvature_start = time.perf_counter()
    curvature_of = lambda params, where: member_curvature_stats(  # noqa: E731
        params,
        x,
        y,
        curvature_keys(key, grid.seed, where),
        activation="relu",
        iterations=config.lanczos_iterations,
        num_samples=config.trace_samples,
        matmul_precision=config.matmul_precision,
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
        "output_spread": output_spread(result.params, x, activation="relu"),
        "target_spread": target_spread(y),
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
    grids = {
        "implicit": make_grid(config.learning_rates, config.seeds),
        "weight_decay": make_grid(config.learning_rates, config.seeds, config.weight_decays),
    }
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
    rate_rows = rate_summary(runs)
    decay_rows = decay_summary(runs)
    best = best_settings(decay_rows)
    n_batches = config.n_train // config.batch_size
    implicit = grids["implicit"]
    sharpness = sharpness_summary(runs, tolerance=config.edge_tolerance)
    return {
        "n_params": models.parameter_count(models.stacked_layer_sizes(config.width, config.depth)),
        "n_batches": n_batches,
        "bayes_risk": data.bayes_risk(config.data),
        "runs": runs,
        "rate_summary": rate_rows,
        "decay_summary": decay_rows,
        "best": best,
        "implicit_penalty": implicit_penalty_table(rate_rows, n_batches),
        "trends": statistic_trends([r for r in rate_rows if r["n_converged"]]),
        "test_loss_correlations": test_loss_correlations(runs),
        "training_curves": training_curves(
            implicit,
            arrays["implicit"]["train_loss"],
            np.asarray(arrays["implicit"]["first_epoch_below_convergence"]),
        ),
        "conclusions": conclusions(
            runs,
            rate_rows,
            best,
            convergence_level=config.convergence_level,
            matched_loss=config.matched_loss,
        ),
        "sharpness": sharpness,
        "sharpness_conclusions": sharpness_conclusions(
            sharpness, batch_size=config.batch_size, rows=runs
        ),
        "sweep_seconds": {name: float(arrays[name]["seconds"]) for name in grids},
        "curvature_seconds": {name: float(arrays[name]["curvature_seconds"]) for name in grids},
    }


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    implicit = [r for r in results["runs"] if r["weight_decay"] == 0]
    lines = [
        f"{sum(r['converged'] for r in implicit)} of {len(implicit)} implicit-only runs converged"
    ]
    ratios = ", ".join(
        f"{r['learning_rate']:g}: {fmt(r['matched_loss_edge_ratio'])}/{fmt(r['edge_ratio'])}"
        for r in results["rate_summary"]
    )
    lines.append(f"lambda_max*mu/2 (matched/final) by mu: {ratios}")
    best = results["best"]
    if best.get("implicit"):
        lines.append(
            f"best implicit-only test MSE {fmt(best['implicit']['test_loss'])} "
            f"(mu = {best['implicit']['learning_rate']:g})"
        )
    if best.get("explicit"):
        lines.append(
            f"best with weight decay {fmt(best['explicit']['test_loss'])} "
            f"(mu = {best['explicit']['learning_rate']:g}, "
            f"lambda = {best['explicit']['weight_decay']:g})"
        )
    return lines
