r"""The one training loop: jit-compiled optax steps in ``lax.scan``, vmapped over a sweep axis.

Everything is written for one *member* of a sweep (one model, its data, its
learning rate) and lifted with ``jax.vmap``; a sweep of one is an ordinary
training run. Swept quantities (optimizer hyperparameters, training set,
example weights, shuffle key) are traced arrays, so a sweep compiles once.
It is the private machinery behind ``jaxnn.width_sweep``.

Loop structure::

    Python loop over chunks        (progress, one host transfer per chunk, one chunk ahead)
      jit(vmap(lax.scan over the epochs of a chunk))     no conditionals inside
        one epoch: full batch, or lax.scan over mini-batches of a fresh shuffle

Why it looks like this on an accelerator: a conditional on a traced value
inside the scan (``lax.cond``) makes XLA:GPU copy the predicate to the host
and wait at every iteration, so the chunk body has none: the last, shorter
chunk is its own compiled scan length, and divergence and threshold
bookkeeping happen on the host from the recorded loss curve. Every matmul is
traced at ``TrainConfig.matmul_precision`` (exact float32 by default, see
``jaxnn.precision``), and the next chunk is dispatched before the host reads
the previous one's outputs, so the device never waits on Python.

Conventions:

- An *epoch* is one pass over the N training points (one step when B = N).
  Inputs may have any shape ``[N, ...]``; targets are ``[N, O]`` reals or
  ``[N]`` integer labels, as the objective says.
- ``train_loss[e]`` is the training loss after ``e`` epochs, e = 0..T (see
  ``TrainConfig.train_loss_curve``); ``train_loss[T]`` is always the whole set's loss.
- Every metric of the objective is evaluated on the test set *and* on the
  training set at epoch 0, at every chunk end and at ``record_epochs``.
- A member whose loss becomes non-finite, or exceeds ``EXPLODE_FACTOR`` times
  its initial loss, is *diverged*: the result says so, its final training loss
  is NaN, and it is never plotted as a result.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import objectives, placement, precision, validation

LOSS_CURVES = ("full", "batches")
EXPLODE_FACTOR = 1e4  # a loss above this times the initial loss counts as diverged


@dataclasses.dataclass(frozen=True, eq=False)
class Optimizer:
    """Any optax optimizer, with hyperparameters that vary over a sweep's members.

    ``factory(**hyperparams)`` is called inside the vmapped member function with
    each member's values of ``hyperparams`` (``Members.hyperparams``) as traced
    scalars, so members with different learning rates or decays share one
    compiled program; with no names, ``factory()`` is the fixed transformation.
    Compared and hashed by identity (a compile-cache key).

    Example:
        >>> sgd = Optimizer(lambda learning_rate: optax.sgd(learning_rate), ("learning_rate",))
        >>> fixed = Optimizer.of(optax.adam(1e-3))
    """

    factory: Callable[..., optax.GradientTransformation]
    hyperparams: tuple[str, ...] = ()

    @classmethod
    def of(cls, transformation: optax.GradientTransformation) -> Optimizer:
        """A fixed optax transformation (schedules included) as an ``Optimizer``."""
        if not isinstance(transformation, optax.GradientTransformation):
            raise ValueError(
                "optimizer: need an optax GradientTransformation (e.g. optax.sgd(0.1)), "
                f"got {transformation!r}"
            )
        return cls(lambda: transformation)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Program:
    """The fields of a ``TrainConfig`` that change the compiled program, and no others.

    ``compiled_program`` is cached on this: two configs that differ only in
    host-side bookkeeping (``TrainConfig``'s own fields: epochs, chunking,
    thresholds, record epochs, the final window) share their compiled chunks.
    Scan lengths and record-buffer sizes are array shapes, which ``jax.jit``
    keys on by itself.
    """

    model: Any
    optimizer: Optimizer
    objective: str = "mse"
    batch_size: int | None = None
    drop_last: bool = False
    train_loss_curve: str = "full"
    snapshot_below: float | None = None
    keep_recorded_params: bool = False
    eval_batch_size: int | None = None
    matmul_precision: str = precision.DEFAULT


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig(Program):
    """The static structure of a training run (swept values are arrays, see ``Members``).

    Attributes:
        model: the model family (``jaxnn._module_family.ModuleFamily``); the
            parameters' shapes give the (padded) width, the family the architecture.
        optimizer: an ``Optimizer``, any optax transformation (its own decay,
            schedule and masks) with per-member hyperparameters.
        objective: the loss and metrics, a ``jaxnn.objectives.Objective`` or a
            registry name (``"mse"``, ``"softmax_cross_entropy"``).
        epochs: T, the number of passes over the training set.
        batch_size: B; ``None`` means full batch (B = N). When B does not divide N
            the last mini-batch of an epoch holds the N mod B examples left over
            (its loss is the mean over them, as PyTorch's ``DataLoader``), unless
            ``drop_last``.
        drop_last: leave out the N mod B examples an epoch's shuffle puts last.
        train_loss_curve: ``"full"``: ``train_loss[e]`` is the whole training set's
            loss before epoch e (exact; one extra forward pass per epoch with
            mini-batches); ``"batches"``: the mean of the epoch's mini-batch losses
            (free). Identical with full batches.
        chunk_epochs: epochs per compiled ``lax.scan`` call (one host sync each).
        loss_thresholds: record the first epoch the training loss goes below each.
        final_window: the reported final training loss is the median over the
            last ``final_window`` epochs (Adam in float32 bounces by orders of
            magnitude near zero loss; a median is what the run converged to).
        snapshot_below: if set, keep a copy of the parameters at the first epoch
            the training loss is below this level (``TrainResult.snapshot_params``),
            to compare runs at a matched training loss.
        record_epochs: sorted epochs (between 0 and T) at which the metrics are also
            measured, besides 0 and the end of every chunk: the parameters are
            copied into a buffer when the scan passes such an epoch and evaluated
            after the chunk (epoch-wise curves at log-spaced epochs, curvature
            along a trajectory).
        keep_recorded_params: also return those parameters
            (``TrainResult.recorded_params``).
        eval_batch_size: evaluate metrics ``eval_batch_size`` examples at a time and
            record slots one after another (``lax.map``), so a large test set or a
            wide model never holds every activation at once; ``None``: the whole
            set in one pass and every slot vmapped (small data, the fewest kernels).
        matmul_precision: precision of every matmul traced here (see
            ``jaxnn.precision``); ``"highest"`` is exact float32 on every backend.
    """

    epochs: int = 10_000
    chunk_epochs: int = 500
    loss_thresholds: tuple[float, ...] = (1e-3, 1e-5)
    final_window: int = 100
    record_epochs: tuple[int, ...] = ()

    def __post_init__(self):
        if not isinstance(self.optimizer, Optimizer):
            raise ValueError(f"optimizer: need a train.Optimizer, got {self.optimizer!r}")
        if not callable(getattr(self.model, "apply", None)):
            raise ValueError(f"model: need a model family (ModuleFamily), got {self.model!r}")
        if self.train_loss_curve not in LOSS_CURVES:
            raise ValueError(
                f"train_loss_curve: unknown {self.train_loss_curve!r}; choose one of {LOSS_CURVES}"
            )
        objectives.get_objective(self.objective)
        precision.check_precision(self.matmul_precision)
        validation.at_least(self, 1, "epochs", "chunk_epochs", "final_window")
        for name in ("batch_size", "eval_batch_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")

    def program(self) -> Program:
        """The fields that change the compiled program (the compile-cache key)."""
        fields = dataclasses.fields(Program)
        return Program(**{field.name: getattr(self, field.name) for field in fields})

    def steps_per_epoch(self, n_train: int) -> int:
        return steps_per_epoch(n_train, self.batch_size, self.drop_last)

    def chunks(self) -> list[tuple[int, int]]:
        """``(first_epoch, length)`` of every compiled call: full chunks, then the remainder.

        The remainder is its own, separately compiled scan length, so no epoch
        inside a compiled chunk needs a conditional on whether it is past the end.
        """
        starts = range(0, self.epochs, self.chunk_epochs)
        return [(first, min(self.chunk_epochs, self.epochs - first)) for first in starts]

    def recorded_inside(self, first: int, length: int) -> list[int]:
        """Record epochs whose starting parameters the chunk at ``first`` copies.

        The end of the run (epoch T) is not among them: it is the final state.
        """
        return [e for e in self.record_epochs if first <= e < first + length]


def steps_per_epoch(n_train: int, batch_size: int | None, drop_last: bool) -> int:
    """Optimizer steps in one epoch: ⌈N/B⌉, or ⌊N/B⌋ with ``drop_last`` (1 at full batch)."""
    if batch_size is None:
        return 1
    return max(1, n_train // batch_size) if drop_last else -(-n_train // batch_size)


class Members(NamedTuple):
    """What differs between the members of a sweep; every leaf has a leading ``[member]`` axis.

    Attributes:
        params: initial parameters, ``[member, ...]``.
        x_train: ``[member, N, ...]`` inputs.
        y_train: ``[member, N, O]`` real targets, or ``[member, N]`` integer labels.
        shuffle_key: ``[member]`` typed keys for the mini-batch order.
        constants: ``None`` or the model family's non-trained state
            (``ModuleFamily.constants``), ``[member, ...]``.
        example_weights: ``None`` or ``[member, N]`` 0/1: rows with weight 0 are
            padding, so members with different training-set sizes share one
            program (full batch only; the loss is the mean over the real rows).
        hyperparams: ``None`` or ``{name: [member]}``, the swept hyperparameters
            of the ``Optimizer``.
    """

    params: Any
    x_train: jax.Array
    y_train: jax.Array
    shuffle_key: jax.Array
    constants: Any = None
    example_weights: jax.Array | None = None
    hyperparams: dict | None = None


class TrainState(NamedTuple):
    params: Any
    opt_state: Any
    snapshot_params: Any  # params at the first epoch below ``snapshot_below`` (None: off)
    snapshot_epoch: jax.Array  # -1 until taken


class TrainResult(NamedTuple):
    """Per-member results of a sweep (host numpy arrays except ``params``).

    Attributes:
        params: final parameters ``[member, ...]`` (device arrays).
        train_loss: ``[member, epoch]``, after e = 0..T epochs (see ``train_loss_curve``).
        test_epochs: ``[k]`` epochs at which the metrics were measured.
        test_loss: ``[member, k]``, the test loss (``test_metrics["loss"]``).
        first_epoch_below: ``[member, threshold]``, -1 where never.
        diverged: ``[member]``.
        final_train_loss: ``[member]`` median over the last ``final_window`` epochs.
        snapshot_params: ``[member, ...]`` parameters when the training loss first
            went below ``config.snapshot_below`` (``None`` if not configured).
        snapshot_epoch: ``[member]`` that epoch, -1 where never (``None`` if not configured).
        recorded_params: ``[member, k, ...]`` parameters after ``config.record_epochs[k]``
            epochs (host arrays; ``None`` unless ``config.keep_recorded_params``).
        test_metrics: ``{metric: [member, k]}`` every metric of the objective on the
            test set at ``test_epochs``.
        train_metrics: ``{metric: [member, k]}`` the same on each member's training set.
    """

    params: Any
    train_loss: np.ndarray
    test_epochs: np.ndarray
    test_loss: np.ndarray
    first_epoch_below: np.ndarray
    diverged: np.ndarray
    final_train_loss: np.ndarray
    snapshot_params: Any = None
    snapshot_epoch: np.ndarray | None = None
    recorded_params: Any = None
    test_metrics: dict | None = None
    train_metrics: dict | None = None


def _evaluate_fn(program: Program, member: Members) -> Callable:
    return objectives.make_evaluate_fn(
        program.model, program.objective, member.constants, eval_batch_size=program.eval_batch_size
    )


def make_epoch_fn(program: Program, member: Members) -> Callable:
    """``epoch_fn(params, opt_state, epoch) -> (params, opt_state, loss)`` for one member.

    ``loss`` is the loss of the parameters the epoch starts from
    (``train_loss_curve="full"``) or the mean of its mini-batch losses (``"batches"``).
    """
    optimizer = program.optimizer.factory(**(member.hyperparams or {}))
    loss_of_outputs = objectives.get_objective(program.objective).loss
    x, y = member.x_train, member.y_train
    n_train = x.shape[0]

    def step(params, opt_state, x_batch, y_batch, weights=member.example_weights):
        def batch_loss(p):
            outputs = program.model.apply(p, x_batch, member.constants)
            return loss_of_outputs(outputs, y_batch, weights)

        loss, grads = jax.value_and_grad(batch_loss)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    if program.batch_size is None or program.batch_size == n_train:
        return lambda params, opt_state, epoch: step(params, opt_state, x, y)

    if member.example_weights is not None:
        raise ValueError("example_weights: padded training sets need full-batch training")
    batch = program.batch_size
    full_batches, left_over = divmod(n_train, batch)
    # A last, partial batch is padded to B with weight-0 rows: one batch shape, one compiled
    # step, and its loss is still the mean over the real rows (objectives.weighted_mean).
    partial = bool(left_over) and not program.drop_last
    n_batches = full_batches + partial
    batch_weights = None
    if partial:
        batch_weights = (np.arange(n_batches * batch) < n_train).astype(np.float32)
        batch_weights = jnp.asarray(batch_weights.reshape(n_batches, batch))

    loss_fn = objectives.make_loss_fn(program.model, program.objective, member.constants)
    running = program.train_loss_curve == "batches"

    def epoch_fn(params, opt_state, epoch):
        # "full": the loss of the parameters the epoch starts from, one extra forward pass
        # over N (a quarter of an epoch's flops at B = N/5), for the matched-loss snapshot
        # and convergence epochs, which need the exact value.
        loss_before = None if running else loss_fn(params, x, y)
        order = jax.random.permutation(jax.random.fold_in(member.shuffle_key, epoch), n_train)
        if partial:
            order = jnp.concatenate([order, order[: n_batches * batch - n_train]])
        else:
            order = order[: n_batches * batch]
        x_batches = x[order].reshape(n_batches, batch, *x.shape[1:])
        y_batches = y[order].reshape(n_batches, batch, *y.shape[1:])

        def batch_step(carry, batch_data):
            params, opt_state, loss = step(*carry, *batch_data)
            return (params, opt_state), (loss if running else None)

        data = (x_batches, y_batches) + ((batch_weights,) if partial else ())
        (params, opt_state), batch_losses = jax.lax.scan(batch_step, (params, opt_state), data)
        if running and partial:
            # The epoch's mean loss over examples: the partial batch counts for its rows.
            counts = jnp.sum(batch_weights, axis=1)
            return params, opt_state, jnp.sum(batch_losses * counts) / n_train
        return params, opt_state, jnp.mean(batch_losses) if running else loss_before

    return epoch_fn


def train_chunk(
    program: Program,
    state: TrainState,
    member: Members,
    epochs: jax.Array,
    record_targets: jax.Array,
    x_test: jax.Array,
    y_test: jax.Array,
):
    """Runs the epochs ``epochs[0..L-1]`` of one member in one ``lax.scan``; no conditionals.

    Args:
        epochs: ``[L]`` the epoch numbers (shared by all members).
        record_targets: ``[K]`` epochs whose starting parameters are copied into
            the record buffer (slot i for ``record_targets[i]``).
        x_test, y_test: the shared test set.

    Returns:
        ``(state, outputs)``: ``outputs`` holds ``train_loss[L]`` (see
        ``make_epoch_fn``), ``end_train`` and ``end_test`` (every metric of the
        final parameters on the training and the test set), ``record_train`` and
        ``record_test`` (every metric, ``[K]``) and, if kept, ``recorded_params[K, ...]``.
    """
    epoch_fn = make_epoch_fn(program, member)
    evaluate = _evaluate_fn(program, member)
    slots = record_targets.shape[0]

    def run_epoch(carry, epoch):
        state, recorded = carry
        params, opt_state, loss = epoch_fn(state.params, state.opt_state, epoch)
        snapshot_params, snapshot_epoch = state.snapshot_params, state.snapshot_epoch
        if program.snapshot_below is not None:
            # ``loss`` is the loss of ``state.params``, the parameters before this epoch.
            take = (snapshot_epoch < 0) & (loss < program.snapshot_below)
            snapshot_params = optax.tree_utils.tree_where(take, state.params, snapshot_params)
            snapshot_epoch = jnp.where(take, epoch.astype(jnp.int32), snapshot_epoch)
        if slots:
            # One dynamic slot write per epoch (a no-op rewrite when no target is hit);
            # ``epoch`` is shared by the members, so the slot index is unbatched.
            hit = record_targets == epoch
            slot, any_hit = jnp.argmax(hit), jnp.any(hit)
            recorded = jax.tree.map(
                lambda buffer, p: buffer.at[slot].set(jnp.where(any_hit, p, buffer[slot])),
                recorded,
                state.params,
            )
        # A diverged member keeps training (its numbers are flagged on the host, never
        # used): freezing it would cost a select over every parameter at every step.
        return (TrainState(params, opt_state, snapshot_params, snapshot_epoch), recorded), loss

    recorded = (
        jax.tree.map(lambda p: jnp.zeros((slots, *p.shape), p.dtype), state.params)
        if slots
        else None
    )
    (state, recorded), losses = jax.lax.scan(run_epoch, (state, recorded), epochs)
    on_train = lambda p: evaluate(p, member.x_train, member.y_train, member.example_weights)  # noqa: E731
    on_test = lambda p: evaluate(p, x_test, y_test)  # noqa: E731
    outputs = {
        "train_loss": losses,
        "end_train": on_train(state.params),
        "end_test": on_test(state.params),
    }
    if slots:
        # Slot by slot with blocked evaluation (large sets), all slots at once otherwise.
        over_slots = (
            jax.vmap
            if program.eval_batch_size is None
            else (lambda fn: lambda tree: jax.lax.map(fn, tree))
        )
        outputs["record_test"] = over_slots(on_test)(recorded)
        outputs["record_train"] = over_slots(on_train)(recorded)
        if program.keep_recorded_params:
            outputs["recorded_params"] = recorded
    return state, outputs


@functools.lru_cache(maxsize=16)
def compiled_program(program: Program, mesh: jax.sharding.Mesh | None = None):
    """``(init_fn, chunk_fn)``: the jitted, vmapped pieces of ``train`` for one program and mesh.

    Cached on the ``Program`` (``config.program()``), so runs that differ in epochs,
    chunking or host-side bookkeeping (and groups of a sweep with equal shapes) reuse
    compilations. Both are traced at ``program.matmul_precision``. With a mesh, every output
    keeps the member axis split over it: otherwise the state that comes out of
    one chunk could be laid out differently from the one that went in, and the
    next call would compile again. ``chunk_fn`` compiles once per chunk length
    and record-buffer size (in practice two or three times).
    """
    split = {}
    if mesh is not None and mesh.size > 1:
        split = {
            "out_shardings": jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("sweep"))
        }

    def init(member, x_test, y_test):
        evaluate = _evaluate_fn(program, member)
        optimizer = program.optimizer.factory(**(member.hyperparams or {}))
        state = TrainState(
            params=member.params,
            opt_state=optimizer.init(member.params),
            snapshot_params=None if program.snapshot_below is None else member.params,
            snapshot_epoch=jnp.array(-1, jnp.int32),
        )
        return state, {
            "test": evaluate(member.params, x_test, y_test),
            "train": evaluate(
                member.params, member.x_train, member.y_train, member.example_weights
            ),
        }

    def chunk(state, member, epochs, record_targets, x_test, y_test):
        return train_chunk(program, state, member, epochs, record_targets, x_test, y_test)

    pin = functools.partial(precision.pinned, precision=program.matmul_precision)
    return (
        jax.jit(pin(jax.vmap(init, in_axes=(0, None, None))), **split),
        jax.jit(
            pin(jax.vmap(chunk, in_axes=(0, 0, None, None, None, None))), donate_argnums=0, **split
        ),
    )


def divergence_and_crossings(
    train_loss: np.ndarray, thresholds: Sequence[float], explode_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """``diverged[member]`` and ``first_epoch_below[member, threshold]`` from the loss curves.

    Diverged: a non-finite loss, or one above ``explode_factor`` times the
    initial loss, at any epoch. A crossing counts only before the first such
    epoch (-1: never). Computed on the host from the recorded curve, so the
    compiled loop carries no bookkeeping.
    """
    loss = np.asarray(train_loss, np.float64)
    with np.errstate(invalid="ignore"):
        exploded = ~np.isfinite(loss) | (loss > explode_factor * loss[:, :1])
    first_exploded = np.where(exploded.any(axis=1), exploded.argmax(axis=1), loss.shape[1])
    before = np.arange(loss.shape[1])[None, :] < first_exploded[:, None]
    crossings = np.full((loss.shape[0], len(thresholds)), -1, np.int64)
    for index, threshold in enumerate(thresholds):
        with np.errstate(invalid="ignore"):
            below = before & (loss < threshold)
        crossings[:, index] = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    return exploded.any(axis=1), crossings


def check_members(config: TrainConfig, members: Members) -> None:
    """Raises a ``ValueError`` naming the field when the members do not fit the config."""
    n_train = int(members.x_train.shape[1])
    if config.batch_size is not None and config.batch_size > n_train:
        raise ValueError(
            f"batch_size: {config.batch_size} is larger than the training-set size {n_train}"
        )
    objective = objectives.get_objective(config.objective)
    # The registry's objectives fix the target rank; a user's objective only its kind.
    registered = objectives.OBJECTIVES.get(objective.name) is objective
    label_ndim = (2 if objective.integer_targets else 3) if registered else members.y_train.ndim
    integer = jnp.issubdtype(members.y_train.dtype, jnp.integer)
    if members.y_train.ndim != label_ndim or integer != objective.integer_targets:
        kind = "integer labels [member, N]" if objective.integer_targets else "real [member, N, O]"
        raise ValueError(
            f"y_train: the {objective.name} objective needs {kind}, "
            f"got {members.y_train.dtype} of shape {members.y_train.shape}"
        )
    given = set(members.hyperparams or {})
    if given != set(config.optimizer.hyperparams):
        raise ValueError(
            f"hyperparams: the optimizer takes {sorted(config.optimizer.hyperparams)}, "
            f"the members give {sorted(given)}"
        )


def train(
    config: TrainConfig,
    members: Members,
    x_test: jax.Array,
    y_test: jax.Array,
    *,
    mesh: jax.sharding.Mesh | None = None,
    progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Trains every member of a sweep for ``config.epochs`` epochs (chunks dispatched one
    ahead of the host: ``_run_chunks``), its member axis sharded over ``mesh`` if given;
    ``progress`` gets the number of epochs done after every chunk. Returns a
    ``TrainResult``, arrays indexed ``[member, ...]`` in the given order."""
    check_members(config, members)
    members, count = placement.shard_members(members, mesh)
    state, initial, collected = _run_chunks(config, members, x_test, y_test, mesh, progress)
    train_loss = np.concatenate(
        [c["train_loss"] for c in collected] + [collected[-1]["end_train"]["loss"][:, None]], axis=1
    )
    by_epoch, recorded_by_epoch = _by_epoch(config, placement.to_host(initial), collected)
    test_epochs = sorted(by_epoch)
    metric_names = objectives.get_objective(config.objective).metric_names
    test_metrics, train_metrics = (
        {
            name: np.stack([by_epoch[e][part][name] for e in test_epochs], axis=1)[:count]
            for name in metric_names
        }
        for part in (0, 1)
    )
    diverged, first_below = divergence_and_crossings(
        train_loss, config.loss_thresholds, EXPLODE_FACTOR
    )
    window = train_loss[:, max(0, config.epochs + 1 - config.final_window) :]
    final = np.where(diverged, np.nan, np.median(window, axis=1))
    unpad = (
        (lambda tree: tree)
        if count == diverged.shape[0]
        else (lambda tree: jax.tree.map(lambda a: a[:count], tree))
    )
    recorded_params = None
    if config.keep_recorded_params:
        if config.epochs in config.record_epochs:
            recorded_by_epoch[config.epochs] = placement.to_host(state.params)
        recorded_params = jax.tree.map(
            lambda *leaves: np.stack(leaves, axis=1),
            *[recorded_by_epoch[e] for e in config.record_epochs],
        )
    return TrainResult(
        params=unpad(state.params),
        train_loss=train_loss[:count],
        test_epochs=np.asarray(test_epochs),
        test_loss=test_metrics["loss"],
        first_epoch_below=first_below[:count],
        diverged=diverged[:count],
        final_train_loss=final[:count],
        snapshot_params=None if config.snapshot_below is None else unpad(state.snapshot_params),
        snapshot_epoch=(
            None
            if config.snapshot_below is None
            else placement.to_host(state.snapshot_epoch)[:count]
        ),
        recorded_params=None if recorded_params is None else unpad(recorded_params),
        test_metrics=test_metrics,
        train_metrics=train_metrics,
    )


def _run_chunks(config: TrainConfig, members: Members, x_test, y_test, mesh, progress):
    """The final state, the metrics at the start, and every chunk's outputs on the host.

    Chunks are dispatched one ahead of the host: while chunk k runs, the host collects
    chunk k-1's outputs (one transfer per chunk), so the device never waits on Python.
    """
    x_test, y_test = placement.replicate(x_test, mesh), placement.replicate(y_test, mesh)
    init_fn, chunk_fn = compiled_program(config.program(), mesh)
    state, initial = init_fn(members, x_test, y_test)
    collected: list[dict] = []
    pending = None
    for first, length in config.chunks():
        # The buffer has exactly one slot per record epoch of this chunk: every slot is
        # evaluated after the chunk, so padding slots would cost an evaluation each.
        inside = config.recorded_inside(first, length)
        targets = np.asarray(inside, np.int32)
        epochs = np.arange(first, first + length, dtype=np.int32)  # host: no per-length compile
        state, outputs = chunk_fn(state, members, epochs, jnp.asarray(targets), x_test, y_test)
        if pending is not None:
            collected.append(_collect(pending, progress))
        pending = (first, length, inside, outputs)
    collected.append(_collect(pending, progress))
    return state, initial, collected


def _by_epoch(config: TrainConfig, initial: dict, collected: list[dict]) -> tuple[dict, dict]:
    """``{epoch: (test metrics, train metrics)}`` at the start, every chunk end and every
    recorded epoch, and ``{epoch: parameters}`` at the recorded epochs inside chunks (when
    ``config.keep_recorded_params``)."""
    by_epoch = {0: (initial["test"], initial["train"])}
    recorded_by_epoch = {}
    for chunk in collected:
        for slot, epoch in enumerate(chunk["record_epochs"]):
            by_epoch.setdefault(
                epoch,
                tuple(
                    {name: value[:, slot] for name, value in chunk[part].items()}
                    for part in ("record_test", "record_train")
                ),
            )
            if config.keep_recorded_params:
                recorded_by_epoch[epoch] = jax.tree.map(
                    lambda a, s=slot: a[:, s], chunk["recorded_params"]
                )
        by_epoch[chunk["end"]] = (chunk["end_test"], chunk["end_train"])
    return by_epoch, recorded_by_epoch


def _collect(pending, progress) -> dict:
    """Moves one chunk's outputs to the host (the chunk's one sync) and reports progress."""
    first, length, inside, outputs = pending
    host = dict(placement.to_host(outputs))
    if progress is not None:
        progress(length)
    host["record_epochs"] = inside
    host["end"] = first + length
    return host
