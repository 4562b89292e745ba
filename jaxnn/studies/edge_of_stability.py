r"""Edge of stability: full-batch gradient descent sharpens until :math:`\lambda_\max \approx 2/\mu`.

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
ReLU, LeCun init, N = 100 points of the same teacher, the same seeds) with full-batch
gradient descent (``TrainConfig(optimizer="sgd", batch_size=None)``) at several step sizes
:math:`\mu` and seeds in one vmapped ``train.train`` call that keeps the parameters every
``record_every`` epochs. :math:`\lambda_\max` of the full training MSE of every kept
parameter set is then measured by Lanczos (``jaxnn.curvature``) in one vmapped, jitted
function applied to fixed-size batches of the flattened ``[member, record]`` axis.

Measured per run (``trajectory_measures``), with the *edge ratio* :math:`r = \lambda_\max\mu/2`:
the initial ratio; the *onset*, the first recorded epoch with :math:`r \ge 1 - b`
(``edge_band`` b); the *sharpening ratio*, the median :math:`\lambda_\max` over the second
half of training over its initial value (the peak over the initial value is kept too);
the fraction of recorded epochs from the onset on with :math:`|r - 1| \le b`; the median
:math:`r` over the second half; and the fraction of epochs at which the training loss rose,
before and after the onset (the non-monotone loss that marks the edge of stability).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import curvature, data, models, precision, train
from jaxnn.formatting import fmt, table
from jaxnn.studies import NoProgress
from jaxnn.studies import implicit_regularization as sgd_study

_SGD = sgd_study.Config()  # the network and data of the SGD study, shared by default
HOVER_FRACTION = 0.8  # "hovers at the edge": at least this share of records after the onset in band
RISING_FRACTION = 0.05  # "non-monotone loss": the loss rises in at least this share of epochs
SHORT_SHARPENING = 0.05  # an onset within this share of training counts as a brief sharpening


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The edge-of-stability study.

    Attributes:
        data: teacher, noise and test set (the implicit-regularization study's).
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
        curvature_batch: parameter sets per compiled curvature call (memory: each holds a
            Lanczos basis of ``lanczos_iterations`` parameter vectors).
        chunk_epochs: epochs per compiled training call.
        matmul_precision: float32 matmul precision (``jaxnn.precision``).
        seed: master seed of data, initializations and Lanczos start vectors.
    """

    data: data.TeacherConfig = _SGD.data
    width: int = _SGD.width
    depth: int = _SGD.depth
    n_train: int = _SGD.n_train
    init_scheme: str = _SGD.init_scheme
    learning_rates: tuple[float, ...] = (0.02, 0.04, 0.08, 0.16)
    seeds: int = 3
    epochs: int = 3000
    record_every: int = 25
    lanczos_iterations: int = 20
    edge_band: float = 0.1
    curvature_batch: int = 256
    chunk_epochs: int = 1000
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        for name in (
            "width",
            "depth",
            "n_train",
            "seeds",
            "epochs",
            "record_every",
            "lanczos_iterations",
            "curvature_batch",
            "chunk_epochs",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.record_every > self.epochs:
            raise ValueError(
                f"record_every: must be <= epochs ({self.epochs}), got {self.record_every}"
            )
        rates = self.learning_rates
        if not rates or not all(math.isfinite(r) and r > 0 for r in rates):
            raise ValueError(f"learning_rates: need finite values > 0, got {rates}")
        if tuple(sorted(set(rates))) != tuple(rates):
            raise ValueError(f"learning_rates: must be sorted and unique, got {rates}")
        if not (math.isfinite(self.edge_band) and 0 < self.edge_band < 1):
            raise ValueError(f"edge_band: need a value in (0, 1), got {self.edge_band}")
        models.check_init_scheme(self.init_scheme)
        precision.check_precision(self.matmul_precision)

    def record_epochs(self) -> tuple[int, ...]:
        """0, k, 2k, ... and T: the epochs whose parameters get a λ_max."""
        return tuple(sorted({*range(0, self.epochs + 1, self.record_every), self.epochs}))

    def train_config(self) -> train.TrainConfig:
        return train.TrainConfig(
            model=models.MLPFamily(
                input_dim=self.data.input_dim, output_dim=self.data.output_dim, depth=self.depth
            ),
            objective="mse",
            optimizer="sgd",
            epochs=self.epochs,
            batch_size=None,
            chunk_epochs=min(self.chunk_epochs, self.epochs),
            final_window=max(1, min(100, self.epochs // 20)),
            record_epochs=self.record_epochs(),
            keep_recorded_params=True,
            matmul_precision=self.matmul_precision,
        )


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    learning_rates=(0.08, 0.16),
    seeds=1,
    epochs=300,
    record_every=20,
    chunk_epochs=150,
)
FULL = Config(
    learning_rates=(0.01, 0.02, 0.04, 0.08, 0.16, 0.32),
    seeds=8,
    epochs=10_000,
    record_every=25,
    chunk_epochs=2000,
    curvature_batch=1024,
)


CURVATURE_STREAM = 2  # fold_in tag under a seed's key (0: init, 1: shuffle), as in the SGD study


def trajectory_keys(key: jax.Array, seeds: Sequence[int], n_records: int) -> jax.Array:
    """``[member * n_records]`` typed keys, member-major: ``fold_in(stream(seed), record)``.

    ``stream(seed) = fold_in(fold_in(key, seed), 2)`` with ``key`` the init key of
    ``implicit_regularization.build_members``; members that share a seed share the
    start vector of each record (paired across step sizes).
    """

    def one(seed):
        stream = jax.random.fold_in(jax.random.fold_in(key, seed), CURVATURE_STREAM)
        return jax.vmap(lambda k: jax.random.fold_in(stream, k))(jnp.arange(n_records))

    return jax.vmap(one)(jnp.asarray(seeds)).reshape(-1)


@functools.lru_cache(maxsize=8)
def _top_eigenvalue_fn(activation: str, iterations: int, matmul_precision: str):
    loss_fn = train.make_loss_fn(models.MLPFamily(activation=activation))

    def one(params, x, y, key):
        return curvature.hessian_top_eigenvalue(
            loss_fn, params, x, y, key=key, iterations=iterations, matmul_precision=matmul_precision
        )

    return jax.jit(jax.vmap(one))


def top_eigenvalues(
    params,
    x_train,
    y_train,
    member: np.ndarray,
    keys: jax.Array,
    *,
    iterations: int,
    batch_size: int,
    activation: str = "relu",
    matmul_precision: str = precision.DEFAULT,
    mesh=None,
    progress=None,
) -> np.ndarray:
    """λ_max of the training MSE of every parameter set, ``batch_size`` sets per compiled call.

    Args:
        params: ``[set, ...]`` parameters (host or device arrays).
        x_train, y_train: ``[member, N, ...]`` training sets.
        member: ``[set]`` which training set each parameter set is measured on.
        keys: ``[set]`` typed keys of the Lanczos start vectors.
        iterations: Lanczos steps.
        batch_size: sets per call; the last batch is padded by repeating its last set,
            so every call has one shape and the function compiles once.
        mesh: split each batch over this mesh's ``"sweep"`` axis (``None``: default device).
        progress: called with 1 after each batch is dispatched.

    Returns:
        ``[set]`` λ_max: ``curvature.hessian_top_eigenvalue`` of each set.
    """
    count = int(np.asarray(member).shape[0])
    devices = 1 if mesh is None else mesh.size
    batch = -(-min(batch_size, count) // devices) * devices
    fn = _top_eigenvalue_fn(activation, iterations, matmul_precision)
    # Each set's training set is gathered on the host, so every argument is split along the
    # batch axis alike and the program needs no cross-device step.
    x_train, y_train, member = np.asarray(x_train), np.asarray(y_train), np.asarray(member)
    split = (
        None
        if devices == 1
        else jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("sweep"))
    )
    outputs = []
    for start in range(0, count, batch):
        index = np.minimum(np.arange(start, start + batch), count - 1)
        args = (
            jax.tree.map(lambda a, i=index: np.asarray(a)[i], params),
            x_train[member[index]],
            y_train[member[index]],
            keys[index],
        )
        if split is not None:
            args = jax.device_put(args, split)
        outputs.append(fn(*args))
        if progress is not None:
            progress(1)
    return np.concatenate([np.asarray(train.to_host(o)) for o in outputs])[:count]


def _fraction(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if mask.size else None


def _none_if_nan(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def trajectory_measures(
    record_epochs: Sequence[int],
    top_eigenvalue: Sequence[float],
    train_loss: Sequence[float],
    learning_rate: float,
    *,
    band: float,
) -> dict:
    """What one run's λ_max trajectory and loss curve show about the edge of stability.

    Args:
        record_epochs: ``[K]`` epochs of the λ_max measurements, starting at 0.
        top_eigenvalue: ``[K]`` λ_max at those epochs.
        train_loss: ``[T + 1]`` training loss after e = 0..T epochs.
        learning_rate: μ.
        band: b (see the module docstring).

    Returns:
        ``initial_top_eigenvalue``, ``initial_edge_ratio`` (λ_max·μ/2 at epoch 0),
        ``max_edge_ratio`` and its ``max_epoch``, ``onset_epoch`` (first record with
        ratio ≥ 1 − b, ``None`` if never), ``sharpening_ratio`` (median λ_max over
        epochs ≥ T/2 over the initial λ_max), ``peak_sharpening_ratio`` (max over
        initial), ``late_edge_ratio`` (median ratio over epochs ≥ T/2),
        ``fraction_in_band`` (records from the onset on with |ratio − 1| ≤ b; ``None``
        without onset), ``loss_rise_fraction_before`` / ``_after`` (share of epochs
        e → e + 1 whose loss rose, before the last record below the onset level / from
        the onset on; ``before`` is ``None`` when the first record is already past the
        onset, ``after`` when there is no onset), ``max_loss_rise_factor`` (largest one-epoch loss ratio from
        the onset on) and ``initial_train_loss``, ``final_train_loss``.
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
        "max_loss_rise_factor": (
            None if onset is None or not jumps.size else _none_if_nan(float(np.nanmax(jumps)))
        ),
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


def _median(values: Sequence) -> float | None:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.median(finite)) if finite else None


def rate_summary(runs: Sequence[dict]) -> list[dict]:
    """Per step size: run counts and the seed median of every measure (``None`` counts as absent).

    ``n_onset`` counts runs that reached the edge; ``onset_epoch`` is the median over
    those only, so read it with ``n_onset``.
    """
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
        row |= {name: _median([r[name] for r in alive]) for name in MEASURES}
        rows.append(row)
    return rows


def classify(row: dict, *, band: float) -> dict:
    """Which edge-of-stability signatures a step size shows (from its ``rate_summary`` row).

    ``sharpening``: every non-diverged seed reached the edge from below (initial ratio
    < 1 − b). ``hovering``: the median share of records in band after the onset is at
    least ``HOVER_FRACTION``. ``non_monotone``: the median share of rising epochs after
    the onset is at least ``RISING_FRACTION``.
    """
    alive = row["n_seeds"] - row["n_diverged"]
    reached = alive > 0 and row["n_onset"] == alive
    return {
        "sharpening": bool(reached and row["initial_edge_ratio"] < 1 - band),
        "hovering": bool(
            reached
            and row["fraction_in_band"] is not None
            and row["fraction_in_band"] >= HOVER_FRACTION
        ),
        "non_monotone": bool(
            reached
            and row["loss_rise_fraction_after"] is not None
            and row["loss_rise_fraction_after"] >= RISING_FRACTION
        ),
    }


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{fmt(100 * value, 2)} %"


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
            f"{_percent(row['loss_rise_fraction_before'])} of the epochs."
        )
    seeds = (
        ""
        if row["n_onset"] == alive
        else f" ({row['n_onset']} of {alive} seeds; the others never get there)"
    )
    text = (
        f"{head}: {start}, first reaches {1 - band:g}·2/μ at epoch "
        f"{fmt(row['onset_epoch'])}{seeds} and over the second half sits at a median "
        f"{fmt(row['late_edge_ratio'], 3)}·2/μ, {fmt(row['sharpening_ratio'], 3)}× its "
        f"initial value; from the onset on {_percent(row['fraction_in_band'])} of the "
        f"records lie within ±{band:g}·2/μ (peak {fmt(row['max_edge_ratio'], 4)}·2/μ)"
    )
    text += (
        f"; the training loss rises in {_percent(row['loss_rise_fraction_after'])} of the "
        f"epochs after the onset ({_percent(row['loss_rise_fraction_before'])} before), by "
        f"up to {fmt(row['max_loss_rise_factor'], 3)}× in one epoch, and falls from "
        f"{fmt(row['initial_train_loss'], 3)} to {fmt(row['final_train_loss'], 3)} overall."
    )
    return text


def conclusions(rate_rows: Sequence[dict], *, band: float, epochs: int) -> list[str]:
    """Per step size one sentence, then which signatures hold where, and where they do not."""
    sentences = [rate_sentence(r, band=band, epochs=epochs) for r in rate_rows]
    marks = {r["learning_rate"]: classify(r, band=band) for r in rate_rows}

    def listed(rates):
        return ", ".join(f"{r:g}" for r in rates) or "none"

    names = {
        "sharpening": "progressive sharpening from below to the edge",
        "hovering": (
            f"a plateau at 2/μ (at least {HOVER_FRACTION:.0%} of the records after "
            f"the onset within ±{band:g}·2/μ)"
        ),
        "non_monotone": (
            f"a non-monotone loss at the edge (rising in at least "
            f"{RISING_FRACTION:.0%} of the epochs after the onset)"
        ),
    }
    for name, text in names.items():
        shown = [rate for rate, mark in marks.items() if mark[name]]
        missing = [rate for rate, mark in marks.items() if not mark[name]]
        sentence = f"{text.capitalize()}: μ = {listed(shown)}"
        if missing:
            sentence += f"; not at μ = {listed(missing)}"
        sentences.append(sentence + ".")
    hovering = [r for r in rate_rows if marks[r["learning_rate"]]["hovering"]]
    if hovering:
        late = [r["late_edge_ratio"] for r in hovering]
        side = (
            "just above 2/μ, as Cohen et al. (2021) report"
            if min(late) >= 1
            else "on both sides of 2/μ"
            if max(late) >= 1
            else "just below 2/μ"
        )
        sentence = (
            f"Where λ_max plateaus, its second-half median is "
            f"{fmt(min(late), 3)}–{fmt(max(late), 3)}·2/μ: {side}."
        )
        if max(late) >= 1:
            sentence += (
                " Lanczos gives a lower bound on λ_max, so a ratio above 1 is not an "
                "estimation artefact."
            )
        sentences.append(sentence)
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


def trajectories(
    rates: np.ndarray,
    seeds: np.ndarray,
    record_epochs: Sequence[int],
    top_eigenvalue: np.ndarray,
    train_loss: np.ndarray,
    max_points: int = 400,
) -> list[dict]:
    """Per step size, the curves the figure draws (all seeds), from ``[member, ...]`` arrays.

    The dense loss curve keeps every s-th epoch with s odd, so an oscillation of period
    two (the signature of the edge) stays visible rather than aliased to one phase.
    """
    total = train_loss.shape[1] - 1
    stride = max(1, total // max_points) | 1
    loss_epochs = np.arange(0, total + 1, stride)
    record_epochs = np.asarray(record_epochs)
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


def train_and_measure(config: Config, *, mesh=None, progress=None) -> dict:
    """Trains every (μ, seed) in one vmapped call, then measures λ_max at every record."""
    progress = progress or NoProgress()
    start = time.perf_counter()
    key_data, key_init = jax.random.split(jax.random.key(config.seed))  # as the SGD study
    dataset = data.make_dataset(key_data, config.data, config.n_train, n_draws=config.seeds)
    grid = sgd_study.make_grid(config.learning_rates, config.seeds)
    sizes = models.stacked_layer_sizes(config.width, config.depth)
    members = sgd_study.build_members(
        key_init, grid, dataset.x_train, dataset.y_train, sizes, config.init_scheme
    )
    result = train.train(
        config.train_config(), members, dataset.x_test, dataset.y_test, mesh=mesh, progress=progress
    )
    train_seconds = time.perf_counter() - start
    n_members, n_records = len(grid.seed), len(config.record_epochs())
    flat = jax.tree.map(
        lambda a: a.reshape(n_members * n_records, *a.shape[2:]), result.recorded_params
    )
    top = top_eigenvalues(
        flat,
        members.x_train,
        members.y_train,
        np.repeat(np.arange(n_members), n_records),
        trajectory_keys(key_init, grid.seed, n_records),
        iterations=config.lanczos_iterations,
        batch_size=config.curvature_batch,
        matmul_precision=config.matmul_precision,
        mesh=mesh,
        progress=progress,
    )
    return {
        "learning_rate": grid.learning_rate,
        "seed": grid.seed,
        "record_epochs": np.asarray(config.record_epochs()),
        "top_eigenvalue": top.reshape(n_members, n_records),
        "train_loss": result.train_loss,
        "test_loss": result.test_loss[:, -1],
        "diverged": result.diverged,
        "train_seconds": np.asarray(train_seconds),
        "curvature_seconds": np.asarray(time.perf_counter() - start - train_seconds),
    }


def curvature_batches(config: Config) -> int:
    """Compiled curvature calls of a run (the progress counts them after the epochs)."""
    sets = len(config.learning_rates) * config.seeds * len(config.record_epochs())
    return -(-sets // min(config.curvature_batch, sets))


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """The study: train, measure, summarise (the trajectories are one resumable part)."""
    progress = progress or NoProgress()
    # One unit per training epoch and one per curvature batch (about as long, at the defaults).
    progress.start(config.epochs + curvature_batches(config), "step")
    arrays = run_dir.load_part("trajectories") if run_dir is not None else None
    if arrays is None:
        arrays = train_and_measure(config, mesh=mesh, progress=progress)
        if run_dir is not None:
            run_dir.save_part("trajectories", arrays)
    else:
        progress(config.epochs + curvature_batches(config))
    return summarize(config, arrays)


def summarize(config: Config, arrays: dict) -> dict:
    """Rows per run and per step size, sentences and figure curves from the measured arrays."""
    record_epochs = np.asarray(arrays["record_epochs"])
    runs = []
    for m, (rate, seed) in enumerate(zip(arrays["learning_rate"], arrays["seed"])):
        diverged = bool(arrays["diverged"][m])
        measures = (
            dict.fromkeys(MEASURES)
            if diverged
            else trajectory_measures(
                record_epochs,
                arrays["top_eigenvalue"][m],
                arrays["train_loss"][m],
                float(rate),
                band=config.edge_band,
            )
        )
        runs.append(
            {
                "learning_rate": float(rate),
                "seed": int(seed),
                "diverged": diverged,
                "test_loss": None if diverged else float(arrays["test_loss"][m]),
                **measures,
            }
        )
    rate_rows = rate_summary(runs)
    for row in rate_rows:
        row |= classify(row, band=config.edge_band)
    return {
        "n_params": models.parameter_count(models.stacked_layer_sizes(config.width, config.depth)),
        "runs": runs,
        "rate_summary": rate_rows,
        "conclusions": conclusions(rate_rows, band=config.edge_band, epochs=config.epochs),
        "trajectories": trajectories(
            np.asarray(arrays["learning_rate"]),
            np.asarray(arrays["seed"]),
            record_epochs,
            np.asarray(arrays["top_eigenvalue"]),
            np.asarray(arrays["train_loss"]),
        ),
        "train_seconds": float(arrays["train_seconds"]),
        "curvature_seconds": float(arrays["curvature_seconds"]),
    }


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    rows = results["rate_summary"]
    late = ", ".join(f"{r['learning_rate']:g}: {fmt(r['late_edge_ratio'])}" for r in rows)
    reached = ", ".join(
        f"{r['learning_rate']:g}: {r['n_onset']}/{r['n_seeds'] - r['n_diverged']}" for r in rows
    )
    return [
        f"lambda_max*mu/2 over the second half (seed median) by mu: {late}",
        f"edge reached (seeds) by mu: {reached}",
        (
            f"training {fmt(results['train_seconds'], 2)} s, curvature "
            f"{fmt(results['curvature_seconds'], 2)} s"
        ),
    ]


def markdown(results: dict) -> str:
    """The study's section: setup, figure, table per step size and sentences from the numbers."""
    config = results["run"]["config"]
    band = config["edge_band"]
    rows = results["rate_summary"]
    n_records = len(results["trajectories"][0]["record_epochs"]) if results["trajectories"] else 0
    return "\n".join(
        [
            (
                f"Full-batch gradient descent (constant step μ, every step sees all N = "
                f"{config['n_train']} points) on the implicit-regularization study's network "
                f"8 → {config['width']} × {config['depth']} → 8 ReLU ({results['n_params']} parameters, "
                f"{config['init_scheme']} init) and data, {config['epochs']} steps, {config['seeds']} "
                f"seed{'s' if config['seeds'] != 1 else ''}; λ_max of the full training MSE by Lanczos ({config['lanczos_iterations']} "
                f"Hessian-vector products) every {config['record_every']} steps ({n_records} records "
                f"per run). Gradient descent on a quadratic is stable only while λ_max ≤ 2/μ; Cohen et "
                f"al. (2021) found that on neural networks λ_max rises until it reaches 2/μ and then "
                f"hovers there while the loss keeps falling non-monotonically. Onset: first record "
                f"with λ_max·μ/2 ≥ {1 - band:g}; in band: |λ_max·μ/2 − 1| ≤ {band:g}. Seed medians."
            ),
            "",
            "### Progressive sharpening and the edge of stability",
            "",
            "![training loss and sharpness against the step](edge_of_stability.png)",
            "",
            table(
                [
                    "μ",
                    "2/μ",
                    "λ_max·μ/2 at 0",
                    "onset epoch (seeds)",
                    "λ_max·μ/2 second half",
                    "peak λ_max·μ/2",
                    "sharpening ×",
                    "records in band",
                    "loss rises after onset",
                    "before",
                    "final train MSE",
                    "test MSE",
                    "sharpening / plateau / non-monotone",
                ],
                [
                    [
                        f"{r['learning_rate']:g}",
                        r["edge"],
                        r["initial_edge_ratio"],
                        f"{fmt(r['onset_epoch'])} ({r['n_onset']}/{r['n_seeds'] - r['n_diverged']})",
                        r["late_edge_ratio"],
                        r["max_edge_ratio"],
                        r["sharpening_ratio"],
                        _percent(r["fraction_in_band"]),
                        _percent(r["loss_rise_fraction_after"]),
                        _percent(r["loss_rise_fraction_before"]),
                        r["final_train_loss"],
                        _median(
                            [
                                x["test_loss"]
                                for x in results["runs"]
                                if x["learning_rate"] == r["learning_rate"]
                            ]
                        ),
                        " / ".join(fmt(r[k]) for k in ("sharpening", "hovering", "non_monotone")),
                    ]
                    for r in rows
                ],
            ),
            "",
            "### What the numbers say (chosen by code from the table)",
            "",
            *[f"- {sentence}" for sentence in results["conclusions"]],
            "",
        ]
    )
